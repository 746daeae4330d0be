/*
 * store_sqlite_dlv.c - the send queue: pages of due deliveries in send
 * order, their outcomes, and delivery receipts.
 *
 * A delivery stays queued (state 0) while it is being sent: only its
 * outcome moves it.  A crash therefore re-sends what was in flight, under
 * the same delivery id (at least once; receivers drop duplicates).
 */
#include "store_sqlite.h"
#include "plugutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *
col_dup(sqlite3_stmt *stmt, int col)
{
	const char *v = (const char *)sqlite3_column_text(stmt, col);

	return strdup(v != NULL ? v : "");
}

int
sqlite_dlv_page(struct store *st, const struct dlv_cursor *after, int64_t now,
    size_t limit, int (*cb)(struct dlv_row *row, void *arg), void *arg)
{
	struct sqlite_store *s = sq(st);
	char phone[PHONE_SEAL_MAX + 1];
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_cached(s, "SELECT d.id, d.recipient_id, d.alert_id, "
	    "d.priority, d.attempts, d.next_at, d.channel, r.role, r.phone, "
	    "r.name, r.posts, r.channels, r.state, r.note, r.grid FROM deliveries "
	    "d JOIN "
	    "recipients r ON "
	    "r.id = d.recipient_id WHERE d.state = 0 AND d.next_at <= ?1 AND "
	    "(d.priority, d.next_at, d.id) > (?2, ?3, ?4) "
	    "ORDER BY d.priority, d.next_at, d.id LIMIT ?5", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int(stmt, 2, after->priority);
	sqlite3_bind_int64(stmt, 3, after->next_at);
	sqlite3_bind_int64(stmt, 4, after->id);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)limit);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct dlv_row *r = calloc(1, sizeof(*r));

		if (r == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		r->id = sqlite3_column_int64(stmt, 0);
		r->recipient_id = sqlite3_column_int64(stmt, 1);
		r->alert_id = sqlite3_column_int64(stmt, 2);
		r->priority = sqlite3_column_int(stmt, 3);
		r->attempts = sqlite3_column_int(stmt, 4);
		r->next_at = sqlite3_column_int64(stmt, 5);
		snprintf(r->channel, sizeof(r->channel), "%s",
		    (const char *)sqlite3_column_text(stmt, 6));
		r->role = sqlite3_column_int(stmt, 7);
		if (!sqlite_column_phone(s, stmt, 8, phone) ||
		    strlen(phone) >= sizeof(r->phone)) {
			snprintf(s->err, sizeof(s->err), "queue: recipient "
			    "%lld: a phone seal that phone.key does not open",
			    (long long)r->recipient_id);
			free(r);
			sqlite_cached_done(stmt);
			return STORE_ERROR;
		}
		memcpy(r->phone, phone, strlen(phone) + 1);
		r->name = col_dup(stmt, 9);
		r->posts = col_dup(stmt, 10);
		r->channels = col_dup(stmt, 11);
		r->rcpt_state = sqlite3_column_int(stmt, 12);
		if (sqlite3_column_type(stmt, 13) != SQLITE_NULL)
			r->note = sqlite_seal_unmark(s,
			    (const char *)sqlite3_column_text(stmt, 13));
		snprintf(r->grid, sizeof(r->grid), "%s",
		    (const char *)sqlite3_column_text(stmt, 14));
		/* cb owns r from here. */
		if (cb(r, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite_cached_done(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "queue");
}

/* ---- grids, for group robots ------------------------------------------ */

/* A node's name, malloc'd ("" when there is none). */
static char *
grid_node_name(struct sqlite_store *s, const char *code)
{
	sqlite3_stmt *stmt;
	char *name;

	if (sqlite_cached(s, "SELECT name FROM nodes WHERE code = ?1",
	    &stmt) != STORE_OK)
		return NULL;
	sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
	name = sqlite3_step(stmt) == SQLITE_ROW ? col_dup(stmt, 0) :
	    strdup("");
	sqlite_cached_done(stmt);
	return name;
}

/*
 * "南湖社区 G01网格": the community's name and the grid's, which gets 网格
 * unless it names its kind already (a village's 三组, 村民小组).
 */
static char *
grid_label(const char *community, const char *grid)
{
	static const char *const kinds[] = { "网格", "组", NULL };
	size_t n = strlen(grid);
	const char *suffix = "网格";
	char *out;

	if (*grid == '\0')
		return strdup(community);
	for (size_t i = 0; kinds[i] != NULL; i++) {
		size_t k = strlen(kinds[i]);

		if (n >= k && strcmp(grid + n - k, kinds[i]) == 0)
			suffix = "";
	}
	n = strlen(community) + 1 + n + strlen(suffix) + 1;
	if ((out = malloc(n)) != NULL)
		snprintf(out, n, "%s%s%s%s", community, *community ? " " : "",
		    grid, suffix);
	return out;
}

/* The non-empty channels columns at and under grid, ';'-joined. */
static int
grid_channels(struct sqlite_store *s, const char *grid, char **out)
{
	struct pbuf b = { 0 };
	sqlite3_stmt *stmt;
	char hi[ROSTER_MAX_CODE + 2];
	int rc;

	snprintf(hi, sizeof(hi), "%s0", grid);
	/* The grid's own posts first (the grid leader), then by rank. */
	if (sqlite_cached(s, "SELECT p.channels FROM posts p JOIN nodes n ON "
	    "n.id = p.node_id WHERE (n.code = ?1 OR (n.code > ?1 || '/' AND "
	    "n.code < ?2)) AND p.channels != '' ORDER BY n.code != ?1, "
	    "p.rank, p.id", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, grid, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, hi, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (b.len > 0)
			pbuf_add(&b, ";", 1);
		pbuf_str(&b, (const char *)sqlite3_column_text(stmt, 0));
	}
	sqlite_cached_done(stmt);
	if (rc != SQLITE_DONE) {
		free(b.p);
		return sqlite_fail(s, rc, "grid channels");
	}
	if (b.oom || (b.p == NULL && (b.p = strdup("")) == NULL)) {
		free(b.p);
		return STORE_ERROR;
	}
	*out = b.p;
	return STORE_OK;
}

int
sqlite_grid_info(struct store *st, const char *grid, struct grid_info *out)
{
	struct sqlite_store *s = sq(st);
	char community[ROSTER_MAX_CODE + 1];
	char *cname = NULL, *gname = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	roster_code_community(grid, community, sizeof(community));
	if ((cname = grid_node_name(s, community)) == NULL ||
	    (gname = strcmp(community, grid) == 0 ? strdup("") :
	    grid_node_name(s, grid)) == NULL) {
		free(cname);
		return STORE_ERROR;
	}
	out->label = grid_label(cname, gname);
	free(cname);
	free(gname);
	if (out->label == NULL)
		return STORE_ERROR;
	if ((rc = grid_channels(s, grid, &out->channels)) != STORE_OK)
		grid_info_free(out);
	return rc;
}

enum dlv_sql {
	DS_ACCEPT, DS_RCPT_SENT, DS_RETRY, DS_FAIL, DS_FALLBACK, DS_RCPT_FAIL,
	DS_EXPIRE, DS_RCPT_EXPIRE, DS_DEFER, DS_SKIP, DS_COUNT
};

static const char *const dlv_sql[DS_COUNT] = {
	[DS_ACCEPT] = "UPDATE deliveries SET state = 1, attempts = attempts + 1, "
	    "provider_id = nullif(?2, ''), updated_at = ?3 WHERE id = ?1 AND "
	    "state = 0",
	[DS_RCPT_SENT] = "UPDATE recipients SET state = 1 WHERE id = ?1 AND "
	    "state = 0",
	[DS_RETRY] = "UPDATE deliveries SET attempts = attempts + 1, "
	    "next_at = ?2, error = ?4, updated_at = ?3 WHERE id = ?1 AND "
	    "state = 0",
	[DS_FAIL] = "UPDATE deliveries SET state = 3, attempts = attempts + 1, "
	    "error = ?4, updated_at = ?3 WHERE id = ?1 AND state = 0",
	[DS_FALLBACK] = "INSERT INTO deliveries (recipient_id, alert_id, "
	    "channel, priority, next_at, updated_at) SELECT ?1, ?2, ?3, ?4, ?5, "
	    "?5 WHERE EXISTS (SELECT 1 FROM recipients WHERE id = ?1 AND "
	    "state = 0)",
	[DS_RCPT_FAIL] = "UPDATE recipients SET state = 4 WHERE id = ?1 AND "
	    "state = 0",
	[DS_EXPIRE] = "UPDATE deliveries SET state = 5, updated_at = ?3 WHERE "
	    "id = ?1 AND state = 0",
	[DS_RCPT_EXPIRE] = "UPDATE recipients SET state = 6 WHERE id = ?1 AND "
	    "state = 0",
	[DS_DEFER] = "UPDATE deliveries SET next_at = ?2, updated_at = ?3 "
	    "WHERE id = ?1 AND state = 0",
	[DS_SKIP] = "UPDATE deliveries SET state = 6, updated_at = ?3 WHERE "
	    "id = ?1 AND state = 0",
};

static int
dlv_step(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
dlv_apply_one(sqlite3_stmt *const *q, const struct dlv_update *u, int64_t now)
{
	sqlite3_stmt *st;
	int rc;

	switch (u->result) {
	case DLV_R_ACCEPTED:
		st = q[DS_ACCEPT];
		sqlite3_bind_int64(st, 1, u->id);
		sqlite3_bind_text(st, 2, u->provider_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, now);
		if ((rc = dlv_step(st)) != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(q[DS_RCPT_SENT], 1, u->recipient_id);
		return dlv_step(q[DS_RCPT_SENT]);
	case DLV_R_EXPIRED:
		st = q[DS_EXPIRE];
		sqlite3_bind_int64(st, 1, u->id);
		sqlite3_bind_int64(st, 3, now);
		if ((rc = dlv_step(st)) != SQLITE_OK)
			return rc;
		sqlite3_bind_int64(q[DS_RCPT_EXPIRE], 1, u->recipient_id);
		return dlv_step(q[DS_RCPT_EXPIRE]);
	case DLV_R_SKIP:
		st = q[DS_SKIP];
		sqlite3_bind_int64(st, 1, u->id);
		sqlite3_bind_int64(st, 3, now);
		return dlv_step(st);
	case DLV_R_DEFER:
		st = q[DS_DEFER];
		sqlite3_bind_int64(st, 1, u->id);
		sqlite3_bind_int64(st, 2, u->next_at);
		sqlite3_bind_int64(st, 3, now);
		return dlv_step(st);
	case DLV_R_RETRY:
		st = q[DS_RETRY];
		sqlite3_bind_int64(st, 1, u->id);
		sqlite3_bind_int64(st, 2, u->next_at);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, u->error, -1, SQLITE_STATIC);
		return dlv_step(st);
	default:
		st = q[DS_FAIL];
		sqlite3_bind_int64(st, 1, u->id);
		sqlite3_bind_int64(st, 3, now);
		sqlite3_bind_text(st, 4, u->error, -1, SQLITE_STATIC);
		if ((rc = dlv_step(st)) != SQLITE_OK)
			return rc;
		if (u->fallback[0] == '\0') {
			sqlite3_bind_int64(q[DS_RCPT_FAIL], 1, u->recipient_id);
			return dlv_step(q[DS_RCPT_FAIL]);
		}
		st = q[DS_FALLBACK];
		sqlite3_bind_int64(st, 1, u->recipient_id);
		sqlite3_bind_int64(st, 2, u->alert_id);
		sqlite3_bind_text(st, 3, u->fallback, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, u->priority);
		sqlite3_bind_int64(st, 5, now);
		return dlv_step(st);
	}
}

int
sqlite_dlv_apply(struct store *st, const struct dlv_update *u, size_t n)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *q[DS_COUNT] = { NULL };
	int64_t now = alert_now_ms();
	int rc = SQLITE_OK;

	for (size_t i = 0; i < DS_COUNT; i++)
		if (sqlite_cached(s, dlv_sql[i], &q[i]) != STORE_OK)
			return STORE_ERROR;
	for (size_t i = 0; i < n && rc == SQLITE_OK; i++)
		rc = dlv_apply_one(q, &u[i], now);
	return rc == SQLITE_OK ? STORE_OK : sqlite_fail(s, rc, "deliveries");
}

/*
 * A receipt: delivered moves the delivery and its recipient on (never
 * back: an acknowledged recipient stays acknowledged); failed marks the
 * delivery and, when it had only been sent, the recipient.
 */
int
sqlite_dlv_receipt(struct store *st, const char *id, bool by_provider,
    bool delivered)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int64_t rid = -1;
	int rc;

	if (sqlite_cached(s, by_provider ?
	    "UPDATE deliveries SET state = ?2, updated_at = ?3 WHERE "
	    "provider_id = ?1 AND state IN (0, 1, 2) RETURNING recipient_id" :
	    "UPDATE deliveries SET state = ?2, updated_at = ?3 WHERE "
	    "id = CAST(?1 AS INTEGER) AND state IN (0, 1, 2) RETURNING "
	    "recipient_id", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, delivered ? DLV_DELIVERED : DLV_FAILED);
	sqlite3_bind_int64(stmt, 3, alert_now_ms());
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		rid = sqlite3_column_int64(stmt, 0);
		rc = sqlite3_step(stmt);
	}
	sqlite_cached_done(stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail(s, rc, "receipt");
	if (rid < 0)
		return STORE_NOTFOUND;
	if (sqlite_cached(s, delivered ?
	    "UPDATE recipients SET state = 2 WHERE id = ? AND state IN (0, 1)" :
	    "UPDATE recipients SET state = 4 WHERE id = ? AND state IN (0, 1)",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, rid);
	rc = sqlite3_step(stmt);
	sqlite_cached_done(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "receipt");
}

int
sqlite_alert_brief(struct store *st, int64_t id, struct alert_brief *out)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	/* {node}: the name of the alert's (first) target node. */
	if (sqlite_cached(s, "SELECT a.kind, a.severity, a.title, a.body, "
	    "a.created_at, a.expires_at, a.state = 'active', coalesce(n.name, "
	    "json_extract(a.targets, '$[0]'), '') FROM alerts a LEFT JOIN "
	    "nodes n ON n.code = json_extract(a.targets, '$[0]') WHERE a.id = ?",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out->kind = sqlite3_column_int(stmt, 0);
		out->severity = sqlite3_column_int(stmt, 1);
		out->title = col_dup(stmt, 2);
		out->body = col_dup(stmt, 3);
		out->created_at = sqlite3_column_int64(stmt, 4);
		out->expires_at = sqlite3_column_int64(stmt, 5);
		out->active = sqlite3_column_int(stmt, 6) != 0;
		out->node = col_dup(stmt, 7);
	}
	sqlite_cached_done(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "alert");
}
