/*
 * store_sqlite_ack.c - acknowledgements: what a recipient's link shows,
 * recording an answer, and finding a recipient of an alert by phone (for
 * an operator recording an answer given by telephone).
 *
 * An answer keeps the first acknowledgement time; a later, different
 * answer replaces the response (and says how it came).  A cancelled or
 * expired alert takes no answers.
 */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
ack_col(sqlite3_stmt *stmt, int col)
{
	const char *v = (const char *)sqlite3_column_text(stmt, col);

	return strdup(v != NULL ? v : "");
}

int
sqlite_ack_get(struct store *st, int64_t rcpt, struct ack_info *out)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite_cached(s, "SELECT r.alert_id, a.kind, a.severity, a.title, "
	    "a.body, r.name, r.posts, a.responses, a.created_at, a.expires_at, "
	    "a.state = 'cancelled', r.state, coalesce(r.response, 0), "
	    "coalesce(r.acked_at, 0) FROM recipients r JOIN alerts a ON "
	    "a.id = r.alert_id WHERE r.id = ?1", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, rcpt);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out->rcpt_id = rcpt;
		out->alert_id = sqlite3_column_int64(stmt, 0);
		out->kind = sqlite3_column_int(stmt, 1);
		out->severity = sqlite3_column_int(stmt, 2);
		out->title = ack_col(stmt, 3);
		out->body = ack_col(stmt, 4);
		out->name = ack_col(stmt, 5);
		out->posts = ack_col(stmt, 6);
		out->responses = ack_col(stmt, 7);
		out->created_at = sqlite3_column_int64(stmt, 8);
		out->expires_at = sqlite3_column_int64(stmt, 9);
		out->cancelled = sqlite3_column_int(stmt, 10) != 0;
		out->state = sqlite3_column_int(stmt, 11);
		out->response = sqlite3_column_int(stmt, 12);
		out->acked_at = sqlite3_column_int64(stmt, 13);
	}
	sqlite_cached_done(stmt);
	if (rc == SQLITE_ROW) {
		if (out->title == NULL || out->body == NULL ||
		    out->name == NULL || out->posts == NULL ||
		    out->responses == NULL) {
			ack_info_free(out);
			snprintf(s->err, sizeof(s->err), "out of memory");
			return STORE_ERROR;
		}
		return STORE_OK;
	}
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "ack");
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

	if ((rc = sqlite_ack_get(st, in->rcpt_id, out)) != STORE_OK)
		return rc;
	if (!ack_open(out, in->now)) {
		*result = ACK_CLOSED;
		return STORE_OK;
	}
	if (in->response < 1 || in->response > ack_n_responses(out->responses)) {
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
	return STORE_OK;
}

int
sqlite_ack_find(struct store *st, int64_t alert, const char *phone,
    int64_t *rcpt)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	/* The alert's recipients are one rowid range: no phone index. */
	if (sqlite_prepare(s, "SELECT r.id FROM alerts a JOIN recipients r ON "
	    "r.id BETWEEN a.first_rcpt AND a.last_rcpt WHERE a.id = ?1 AND "
	    "r.phone = ?2", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, alert);
	sqlite3_bind_text(stmt, 2, phone, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*rcpt = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "ack");
}
