/*
 * store_sqlite_ack.c - acknowledgements: what a recipient's link shows,
 * recording an answer, finding a recipient of an alert by phone (for an
 * operator recording an answer given by telephone), and the open alerts
 * an SMS reply may be about.
 *
 * An answer keeps the first acknowledgement time; a later, different
 * answer replaces the response (and says how it came).  A cancelled or
 * expired alert takes no answers.
 */
#include "store_sqlite.h"
#include "reply.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
ack_col(sqlite3_stmt *stmt, int col)
{
	const char *v = (const char *)sqlite3_column_text(stmt, col);

	return strdup(v != NULL ? v : "");
}

/*
 * The name of the community (or street) of the first post, for the page:
 * "南湖社区 · G01 · 12号楼" reads better than a division code.
 */
static int
ack_place(struct sqlite_store *s, struct ack_info *out)
{
	json_t *posts = json_loads(out->posts, 0, NULL);
	const char *code = json_string_value(json_object_get(
	    json_array_get(posts, 0), "code"));
	char comm[ROSTER_MAX_CODE + 1];
	sqlite3_stmt *stmt;
	int rc = 0;

	if (code != NULL) {
		roster_code_community(code, comm, sizeof(comm));
		if ((out->community = strdup(comm)) == NULL)
			rc = -1;
	}
	json_decref(posts);
	if (out->community == NULL)
		return rc;
	if (sqlite_cached(s, "SELECT name FROM nodes WHERE code = ?", &stmt) !=
	    STORE_OK)
		return 0;	/* the code will do */
	sqlite3_bind_text(stmt, 1, out->community, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) == SQLITE_ROW &&
	    (out->community_name = strdup((const char *)sqlite3_column_text(
	    stmt, 0))) == NULL)
		rc = -1;
	sqlite_cached_done(stmt);
	return rc;
}

/* The columns both reads share, then what only the page needs. */
#define ACK_STATE_COLUMNS "SELECT r.alert_id, a.kind, a.responses, " \
	"a.created_at, a.expires_at, a.state = 'cancelled', r.state, " \
	"coalesce(r.response, 0), coalesce(r.acked_at, 0)"
#define ACK_FROM " FROM recipients r JOIN alerts a ON a.id = r.alert_id " \
	"WHERE r.id = ?1"

/*
 * A recipient and their alert: the state an answer needs, and with full
 * the texts the page shows too.
 */
static int
ack_read(struct sqlite_store *s, int64_t rcpt, bool full,
    struct ack_info *out)
{
	sqlite3_stmt *stmt;
	bool oom;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite_cached(s, full ? ACK_STATE_COLUMNS ", a.severity, a.title, "
	    "a.body, r.name, r.posts" ACK_FROM : ACK_STATE_COLUMNS ACK_FROM,
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, rcpt);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out->rcpt_id = rcpt;
		out->alert_id = sqlite3_column_int64(stmt, 0);
		out->kind = sqlite3_column_int(stmt, 1);
		out->responses = ack_col(stmt, 2);
		out->created_at = sqlite3_column_int64(stmt, 3);
		out->expires_at = sqlite3_column_int64(stmt, 4);
		out->cancelled = sqlite3_column_int(stmt, 5) != 0;
		out->state = sqlite3_column_int(stmt, 6);
		out->response = sqlite3_column_int(stmt, 7);
		out->acked_at = sqlite3_column_int64(stmt, 8);
		if (full) {
			out->severity = sqlite3_column_int(stmt, 9);
			out->title = ack_col(stmt, 10);
			out->body = ack_col(stmt, 11);
			out->name = ack_col(stmt, 12);
			out->posts = ack_col(stmt, 13);
		}
	}
	sqlite_cached_done(stmt);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? STORE_NOTFOUND :
		    sqlite_fail(s, rc, "ack");
	oom = out->responses == NULL || (full && (out->title == NULL ||
	    out->body == NULL || out->name == NULL || out->posts == NULL ||
	    ack_place(s, out) != 0));
	if (oom) {
		ack_info_free(out);
		snprintf(s->err, sizeof(s->err), "out of memory");
		return STORE_ERROR;
	}
	return STORE_OK;
}

int
sqlite_ack_get(struct store *st, int64_t rcpt, struct ack_info *out)
{
	return ack_read(sq(st), rcpt, true, out);
}

/*
 * The options of info's alert: how many, and which mean "needs help".
 * Parsed once per alert and connection (answers come in bursts).
 */
static void
ack_options(struct sqlite_store *s, const struct ack_info *info)
{
	json_t *resp;
	const char *v;

	if (s->ack_opts.alert_id == info->alert_id &&
	    s->ack_opts.created_at == info->created_at)
		return;
	s->ack_opts.alert_id = info->alert_id;
	s->ack_opts.created_at = info->created_at;
	s->ack_opts.n = ack_n_responses(info->responses);
	s->ack_opts.help = 0;
	resp = json_loads(info->responses, 0, NULL);
	for (int i = 0; i < s->ack_opts.n && i < 32; i++)
		if ((v = json_string_value(json_array_get(resp, (size_t)i))) !=
		    NULL && ack_needs_help(v))
			s->ack_opts.help |= 1u << i;
	json_decref(resp);
}

/* Whether the chosen option means "needs help"; its text into label. */
static bool
ack_help_label(const struct ack_info *info, char *label, size_t len)
{
	json_t *resp = json_loads(info->responses, 0, NULL);
	const char *v = json_string_value(json_array_get(resp,
	    (size_t)info->response - 1));
	bool help = v != NULL && ack_needs_help(v);

	if (help)
		snprintf(label, len, "%s", v);
	json_decref(resp);
	return help;
}

/* The note for a "needs help" answer, which names the person and post. */
static int
ack_help(struct store *st, const struct ack_in *in, struct ack_info *out)
{
	struct ack_info full;
	char label[128];
	int rc;

	if ((rc = sqlite_ack_get(st, in->rcpt_id, &full)) != STORE_OK)
		return rc;
	if (ack_help_label(&full, label, sizeof(label)))
		rc = sqlite_help_note(sq(st), in, &full, label);
	ack_info_free(&full);
	return rc;
}

/* Whether the alert of info still takes answers at now. */
static bool
ack_open(const struct ack_info *info, int64_t now)
{
	return !info->cancelled && info->expires_at > now &&
	    info->state != RCPT_CANCELLED && info->state != RCPT_EXPIRED;
}

int
sqlite_ack_record(struct store *st, const struct ack_in *in,
    enum ack_result *result, struct ack_info *out)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	if ((rc = ack_read(s, in->rcpt_id, false, out)) != STORE_OK)
		return rc;
	if (!ack_open(out, in->now)) {
		*result = ACK_CLOSED;
		return STORE_OK;
	}
	ack_options(s, out);
	if (in->response < 1 || in->response > s->ack_opts.n) {
		*result = ACK_BAD_RESPONSE;
		return STORE_OK;
	}
	if (out->state == RCPT_ACKED && out->response == in->response) {
		*result = ACK_SAME;
		return STORE_OK;
	}
	if (sqlite_cached(s, "UPDATE recipients SET state = ?2, response = ?3, "
	    "acked_at = coalesce(acked_at, ?4), ack_via = ?5 WHERE id = ?1",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, in->rcpt_id);
	sqlite3_bind_int(stmt, 2, RCPT_ACKED);
	sqlite3_bind_int(stmt, 3, in->response);
	sqlite3_bind_int64(stmt, 4, in->now);
	sqlite3_bind_text(stmt, 5, in->via, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite_cached_done(stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail(s, rc, "ack");
	*result = ACK_RECORDED;
	out->state = RCPT_ACKED;
	out->response = in->response;
	if (out->acked_at == 0)
		out->acked_at = in->now;
	/* "Needs help" tells the grid leader and the duty officer at once. */
	if (in->routes != NULL && in->response <= 32 &&
	    (s->ack_opts.help & (1u << (in->response - 1))) != 0)
		return ack_help(st, in, out);
	return STORE_OK;
}

int
sqlite_ack_find(struct store *st, int64_t alert, const char *phone,
    int64_t *rcpt)
{
	struct sqlite_store *s = sq(st);
	unsigned char seal[PHONE_SEAL_LEN];
	sqlite3_stmt *stmt;
	int rc;

	if (phone_seal(s->seal, phone, seal) != 0)
		return STORE_NOTFOUND;
	/* The alert's recipients are one rowid range: no phone index. */
	if (sqlite_prepare(s, "SELECT r.id FROM alerts a JOIN recipients r ON "
	    "r.id BETWEEN a.first_rcpt AND a.last_rcpt WHERE a.id = ?1 AND "
	    "r.phone = ?2", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, alert);
	sqlite3_bind_blob(stmt, 2, seal, sizeof(seal), SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*rcpt = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "ack");
}

/* ---- SMS replies --------------------------------------------------------- */

#define REPLY_ALERTS_MAX	50	/* open alerts searched, newest first */

/*
 * The recipient with this seal in [first, last], whose rows are in seal
 * order: a binary search by rowid.  0 and *rcpt, 1 when none, or -1.
 */
static int
reply_search(struct sqlite_store *s, int64_t first, int64_t last,
    const unsigned char *seal, int64_t *rcpt, int *state)
{
	sqlite3_stmt *stmt;
	int rc, cmp;

	if (sqlite_cached(s, "SELECT phone, state FROM recipients WHERE id = ?",
	    &stmt) != STORE_OK)
		return -1;
	while (first <= last) {
		int64_t mid = first + (last - first) / 2;

		sqlite3_bind_int64(stmt, 1, mid);
		if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
			sqlite_cached_done(stmt);
			if (rc == SQLITE_DONE)
				return 1;	/* a hole: not sorted after all */
			sqlite_fail(s, rc, "reply");
			return -1;
		}
		if (sqlite3_column_bytes(stmt, 0) != PHONE_SEAL_LEN) {
			sqlite_cached_done(stmt);
			return 1;	/* not a seal: not sorted by seal */
		}
		cmp = memcmp(sqlite3_column_blob(stmt, 0), seal,
		    PHONE_SEAL_LEN);
		*state = sqlite3_column_int(stmt, 1);
		sqlite3_reset(stmt);
		if (cmp == 0) {
			*rcpt = mid;
			sqlite_cached_done(stmt);
			return 0;
		}
		if (cmp < 0)
			first = mid + 1;
		else
			last = mid - 1;
	}
	sqlite_cached_done(stmt);
	return 1;
}

/*
 * Someone an escalation told (after the alert's range): the steps' own
 * ranges are short, so a scan; the latest message first.
 */
static int
reply_told(struct sqlite_store *s, int64_t alert, const unsigned char *seal,
    int64_t *rcpt, int *state)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_cached(s, "SELECT r.id, r.state FROM escalations e JOIN "
	    "recipients r ON r.id BETWEEN e.first_rcpt AND e.last_rcpt WHERE "
	    "e.alert_id = ?1 AND r.phone = ?2 ORDER BY r.id DESC LIMIT 1",
	    &stmt) != STORE_OK)
		return -1;
	sqlite3_bind_int64(stmt, 1, alert);
	sqlite3_bind_blob(stmt, 2, seal, PHONE_SEAL_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*rcpt = sqlite3_column_int64(stmt, 0);
		*state = sqlite3_column_int(stmt, 1);
	}
	sqlite_cached_done(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	sqlite_fail(s, rc, "reply");
	return -1;
}

/* An alert made before recipients were sorted: scan its range. */
static int
reply_scan(struct sqlite_store *s, int64_t first, int64_t last,
    const unsigned char *seal, int64_t *rcpt, int *state)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "SELECT id, state FROM recipients WHERE id "
	    "BETWEEN ?1 AND ?2 AND phone = ?3", &stmt) != STORE_OK)
		return -1;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	sqlite3_bind_blob(stmt, 3, seal, PHONE_SEAL_LEN, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*rcpt = sqlite3_column_int64(stmt, 0);
		*state = sqlite3_column_int(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc == SQLITE_DONE)
		return 1;
	sqlite_fail(s, rc, "reply");
	return -1;
}

int
sqlite_reply_cands(struct store *st, const char *phone, int64_t now,
    struct reply_cand **out, size_t *n)
{
	struct sqlite_store *s = sq(st);
	unsigned char seal[PHONE_SEAL_LEN];
	struct reply_cand *c;
	sqlite3_stmt *stmt;
	int rc, found = 0;

	*out = NULL;
	*n = 0;
	if (phone_seal(s->seal, phone, seal) != 0)
		return STORE_OK;	/* not a number anyone has */
	if ((c = calloc(REPLY_ALERTS_MAX, sizeof(*c))) == NULL)
		return STORE_ERROR;
	if (sqlite_prepare(s, "SELECT id, kind, title, responses, first_rcpt, "
	    "last_rcpt, phone_sorted FROM alerts WHERE state = 'active' AND "
	    "expires_at > ?1 ORDER BY id DESC LIMIT ?2", &stmt) != STORE_OK) {
		free(c);
		return STORE_ERROR;
	}
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int(stmt, 2, REPLY_ALERTS_MAX);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct reply_cand *k = &c[*n];
		int64_t first = sqlite3_column_int64(stmt, 4);
		int64_t last = sqlite3_column_int64(stmt, 5);

		found = sqlite3_column_int(stmt, 6) ?
		    reply_search(s, first, last, seal, &k->rcpt_id, &k->state) :
		    reply_scan(s, first, last, seal, &k->rcpt_id, &k->state);
		/*
		 * Not a recipient, or one who has answered: a message an
		 * escalation sent them since is what the reply is about.
		 */
		if (found == 1 || (found == 0 && k->state == RCPT_ACKED)) {
			int64_t told = 0;
			int tstate = 0, f = reply_told(s,
			    sqlite3_column_int64(stmt, 0), seal, &told, &tstate);

			if (f < 0)
				found = f;
			else if (f == 0 && (found == 1 || tstate != RCPT_ACKED)) {
				k->rcpt_id = told;
				k->state = tstate;
				found = 0;
			}
		}
		if (found < 0)
			break;
		if (found > 0)
			continue;
		k->alert_id = sqlite3_column_int64(stmt, 0);
		k->kind = sqlite3_column_int(stmt, 1);
		k->title = ack_col(stmt, 2);
		k->responses = ack_col(stmt, 3);
		(*n)++;
		if (k->title == NULL || k->responses == NULL) {
			found = -1;
			break;
		}
	}
	sqlite3_finalize(stmt);
	if (found < 0 || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
		reply_cands_free(c, *n);
		*n = 0;
		return found < 0 ? STORE_ERROR : sqlite_fail(s, rc, "reply");
	}
	*out = c;
	return STORE_OK;
}
