/*
 * store_sqlite_alert.c - alerts and their recipients in SQLite.
 *
 * Creating an alert plans it inside the writer's transaction (the roster
 * cannot change under it), then appends the alert and its recipients: the
 * recipients of one alert are one rowid range, so reading or counting them
 * scans that range of the table and needs no index.
 */
#include "store_sqlite.h"
#include "alert.h"
#include "message.h"
#include "plan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The role a node of each kind must have filled (a vacancy otherwise). */
static const int alert_kind_role[NODE_KIND_COUNT] = {
	[NODE_STREET] = ROLE_DUTY_OFFICER,
	[NODE_COMMUNITY] = ROLE_DUTY_OFFICER,
	[NODE_GRID] = ROLE_GRID_LEADER,
	[NODE_BUILDING] = ROLE_BUILDING_LEADER,
	[NODE_UNIT] = ROLE_UNIT_LEADER,
};

/* ---- planning ------------------------------------------------------------ */

/* What one scan has seen of the node it is on. */
struct plan_scan {
	struct plan	*p;
	unsigned	 roles;
	json_t		*vac;
	char		 code[ROSTER_MAX_CODE + 1];
	int		 kind;
	bool		 filled;	/* the node's own post has a holder */
};

/* Leaving a node: its own post, when targeted and held by nobody. */
static void
plan_scan_node_end(struct plan_scan *sc)
{
	char parent[ROSTER_MAX_CODE + 1];
	int role;

	if (sc->code[0] == '\0' || sc->kind < 0 || sc->kind >= NODE_KIND_COUNT)
		return;
	role = alert_kind_role[sc->kind];
	if (sc->filled || !(sc->roles & (1u << role)))
		return;
	json_array_append_new(sc->vac, json_pack("{s:s,s:s,s:s?}",
	    "code", sc->code, "role", roster_role_name(role), "notify",
	    roster_code_parent(sc->code, parent, sizeof(parent)) == 0 ?
	    parent : NULL));
}

/* One row: a node with one of its posts, or with none (NULL role). */
static int
plan_scan_row(struct plan_scan *sc, sqlite3_stmt *stmt)
{
	const char *code = (const char *)sqlite3_column_text(stmt, 0);
	const char *role_s = (const char *)sqlite3_column_text(stmt, 2);
	struct plan_post post;

	if (code == NULL)
		return 0;
	if (strcmp(code, sc->code) != 0) {
		plan_scan_node_end(sc);
		snprintf(sc->code, sizeof(sc->code), "%s", code);
		sc->kind = sqlite3_column_int(stmt, 1);
		sc->filled = false;
	}
	if (role_s == NULL)
		return 0;
	post = (struct plan_post){
		.code = code,
		.role = roster_role_parse(role_s),
		.rank = sqlite3_column_int(stmt, 3),
		.name = (const char *)sqlite3_column_text(stmt, 4),
		.seal = sqlite3_column_blob(stmt, 5),
		.channels = (const char *)sqlite3_column_text(stmt, 6),
	};
	if (post.role < 0)
		return 0;
	/* Every number is sealed (store_sqlite_seal.c). */
	if (post.seal == NULL || sqlite3_column_bytes(stmt, 5) != PHONE_SEAL_LEN)
		return -1;
	if (sc->kind >= 0 && sc->kind < NODE_KIND_COUNT &&
	    post.role == alert_kind_role[sc->kind])
		sc->filled = true;
	if (!(sc->roles & (1u << post.role)))
		return 0;
	return plan_post(sc->p, &post);
}

#define PLAN_SCAN_COLUMNS "SELECT n.code, n.kind, p.role, p.rank, p.name, " \
	"p.phone, p.channels FROM nodes n LEFT JOIN posts p ON p.node_id = n.id "

/*
 * One target in one pass over its subtree, in code order (the code index
 * and the posts index give that order without sorting): the chosen roles'
 * posts go into the plan, and every node whose own post is targeted but
 * held by nobody goes into vac.  The node itself, then what lies below.
 */
static int
alert_plan_target(struct sqlite_store *s, struct plan *p, const char *code,
    unsigned roles, json_t *vac)
{
	static const char *const sql[2] = {
		PLAN_SCAN_COLUMNS "WHERE n.code = ?1 ORDER BY p.role",
		PLAN_SCAN_COLUMNS "WHERE n.code >= ?1 AND n.code < ?2 "
		    "ORDER BY n.code, p.role",
	};
	struct plan_scan sc = { .p = p, .roles = roles, .vac = vac };
	struct sqlite_range range;
	sqlite3_stmt *stmt;
	int rc = SQLITE_DONE;

	if (sqlite_range(code, &range) != 0)
		return STORE_ERROR;
	/* A street's range starts at the street itself. */
	for (int i = strcmp(range.lo, code) == 0; i < 2 && rc == SQLITE_DONE;
	    i++) {
		if (sqlite_prepare(s, sql[i], &stmt) != STORE_OK)
			return STORE_ERROR;
		sqlite3_bind_text(stmt, 1, i == 0 ? code : range.lo, -1,
		    SQLITE_STATIC);
		if (i == 1)
			sqlite3_bind_text(stmt, 2, range.hi, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
			if (plan_scan_row(&sc, stmt) != 0) {
				sqlite3_finalize(stmt);
				snprintf(s->err, sizeof(s->err), "out of memory");
				return STORE_ERROR;
			}
		sqlite3_finalize(stmt);
	}
	plan_scan_node_end(&sc);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "plan");
}

/* ---- creating ------------------------------------------------------------ */

static int
alert_replayed(struct sqlite_store *s, const struct alert_new *a,
    struct alert_created *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if (a->idem_key == NULL)
		return STORE_NOTFOUND;
	if (sqlite_prepare(s, "SELECT id, last_rcpt - first_rcpt + 1, n_posts, "
	    "vacancies FROM alerts WHERE actor = ? AND idem_key = ?",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite_bind_str(stmt, 1, a->actor);
	sqlite_bind_str(stmt, 2, a->idem_key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		out->id = sqlite3_column_int64(stmt, 0);
		out->recipients = (size_t)sqlite3_column_int64(stmt, 1);
		out->posts = (size_t)sqlite3_column_int64(stmt, 2);
		out->vacancies = strdup((const char *)sqlite3_column_text(stmt, 3));
		out->replayed = true;
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return out->vacancies ? STORE_OK : STORE_ERROR;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "alert");
}

static int64_t
alert_insert(struct sqlite_store *s, const struct alert_new *a,
    const char *vacancies)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "INSERT INTO alerts (kind, severity, title, body, "
	    "targets, roles, responses, escalation, vacancies, created_at, "
	    "expires_at, actor, idem_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	    "?, ?, ?)", &stmt) != STORE_OK)
		return -1;
	sqlite3_bind_int(stmt, 1, a->kind);
	sqlite3_bind_int(stmt, 2, a->severity);
	sqlite_bind_str(stmt, 3, a->title);
	sqlite_bind_str(stmt, 4, a->body);
	sqlite_bind_str(stmt, 5, a->targets_json);
	sqlite_bind_str(stmt, 6, a->roles_json);
	sqlite_bind_str(stmt, 7, a->responses_json);
	sqlite_bind_str(stmt, 8, a->escalation);
	sqlite_bind_str(stmt, 9, vacancies);
	sqlite3_bind_int64(stmt, 10, a->created_at);
	sqlite3_bind_int64(stmt, 11, a->expires_at);
	sqlite_bind_str(stmt, 12, a->actor);
	if (a->idem_key != NULL)
		sqlite_bind_str(stmt, 13, a->idem_key);
	else
		sqlite3_bind_null(stmt, 13);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		sqlite_fail(s, rc, "alert");
		return -1;
	}
	return sqlite3_last_insert_rowid(s->db);
}

struct rcpt_put {
	struct sqlite_store	*s;
	const struct alert_new	*a;
	sqlite3_stmt		*stmt;
	sqlite3_stmt		*dlv;
	int64_t			 alert;
	int64_t			 first, last;
};

/* A recipient, and the first delivery on its role's first channel. */
static int
alert_put_rcpt(const struct plan_rcpt *r, void *arg)
{
	struct rcpt_put *rp = arg;
	const char *channel = r->role >= 0 && r->role < ROLE_COUNT ?
	    rp->a->route[r->role] : NULL;
	int rc;

	sqlite3_bind_int64(rp->stmt, 1, rp->alert);
	sqlite3_bind_blob(rp->stmt, 2, r->seal, PHONE_SEAL_LEN, SQLITE_STATIC);
	sqlite_bind_str(rp->stmt, 3, r->name);
	sqlite_bind_str(rp->stmt, 4, r->posts_json);
	sqlite_bind_str(rp->stmt, 5, r->grid);
	sqlite3_bind_int(rp->stmt, 6, r->role);
	sqlite_bind_str(rp->stmt, 7, r->channels);
	sqlite3_bind_int(rp->stmt, 8, channel ? RCPT_PENDING : RCPT_FAILED);
	rc = sqlite3_step(rp->stmt);
	sqlite3_reset(rp->stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail(rp->s, rc, "recipients");
	rp->last = sqlite3_last_insert_rowid(rp->s->db);
	if (rp->first < 0)
		rp->first = rp->last;
	if (channel == NULL)
		return 0;
	sqlite3_bind_int64(rp->dlv, 1, rp->last);
	sqlite3_bind_int64(rp->dlv, 2, rp->alert);
	sqlite_bind_str(rp->dlv, 3, channel);
	sqlite3_bind_int(rp->dlv, 4, rp->a->priority);
	sqlite3_bind_int64(rp->dlv, 5, rp->a->send_at ? rp->a->send_at :
	    rp->a->created_at);
	rc = sqlite3_step(rp->dlv);
	sqlite3_reset(rp->dlv);
	return rc == SQLITE_DONE ? 0 : sqlite_fail(rp->s, rc, "deliveries");
}

static int
alert_put_recipients(struct sqlite_store *s, const struct alert_new *a,
    struct plan *p, int64_t alert)
{
	struct rcpt_put rp = {
		.s = s, .a = a, .alert = alert, .first = -1, .last = -2,
	};
	sqlite3_stmt *upd;
	int rc;

	if (sqlite_prepare(s, "INSERT INTO recipients (alert_id, phone, name, "
	    "posts, grid, role, channels, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    &rp.stmt) != STORE_OK)
		return STORE_ERROR;
	if (sqlite_prepare(s, "INSERT INTO deliveries (recipient_id, alert_id, "
	    "channel, priority, next_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?5)", &rp.dlv) != STORE_OK) {
		sqlite3_finalize(rp.stmt);
		return STORE_ERROR;
	}
	rc = plan_each(p, alert_put_rcpt, &rp);
	sqlite3_finalize(rp.stmt);
	sqlite3_finalize(rp.dlv);
	if (rc != 0)
		return rc < 0 ? rc : STORE_ERROR;
	/* plan_each() gave the recipients in seal order. */
	if (sqlite_prepare(s, "UPDATE alerts SET first_rcpt = ?, last_rcpt = ?, "
	    "n_posts = ?, phone_sorted = 1 WHERE id = ?", &upd) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(upd, 1, rp.first < 0 ? 0 : rp.first);
	sqlite3_bind_int64(upd, 2, rp.first < 0 ? -1 : rp.last);
	sqlite3_bind_int64(upd, 3, (sqlite3_int64)plan_posts(p));
	sqlite3_bind_int64(upd, 4, alert);
	rc = sqlite3_step(upd);
	sqlite3_finalize(upd);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "alert");
}

/* Every target must be a node of the roster. */
static int
alert_targets_exist(struct sqlite_store *s, const struct alert_new *a,
    size_t *missing)
{
	sqlite3_stmt *stmt;
	int rc = SQLITE_ROW;

	if (sqlite_prepare(s, "SELECT 1 FROM nodes WHERE code = ?", &stmt) !=
	    STORE_OK)
		return STORE_ERROR;
	for (size_t i = 0; i < a->n_named && rc == SQLITE_ROW; i++) {
		sqlite_bind_str(stmt, 1, a->named[i]);
		if ((rc = sqlite3_step(stmt)) == SQLITE_DONE)
			*missing = i;
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "alert");
}

static double
alert_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
sqlite_alert_create(struct store *st, const struct alert_new *a,
    struct alert_created *out)
{
	struct sqlite_store *s = sq(st);
	struct plan *p;
	json_t *vac;
	double t0 = alert_clock(), t1;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = alert_replayed(s, a, out)) != STORE_NOTFOUND)
		return rc;
	if ((rc = alert_targets_exist(s, a, &out->missing)) != STORE_OK)
		return rc;
	if ((p = plan_new()) == NULL || (vac = json_array()) == NULL) {
		plan_free(p);
		return STORE_ERROR;
	}
	rc = STORE_OK;
	for (size_t i = 0; i < a->n_targets && rc == STORE_OK; i++) {
		rc = alert_plan_target(s, p, a->targets[i], a->roles, vac);
	}
	if (rc == STORE_OK && plan_finish(p) != 0)
		rc = STORE_ERROR;
	if (rc == STORE_OK &&
	    (out->vacancies = json_dumps(vac, JSON_COMPACT)) == NULL)
		rc = STORE_ERROR;
	t1 = alert_clock();
	if (rc == STORE_OK && (out->id = alert_insert(s, a, out->vacancies)) < 0)
		rc = STORE_ERROR;
	if (rc == STORE_OK)
		rc = alert_put_recipients(s, a, p, out->id);
	if (rc == STORE_OK)
		rc = sqlite_esc_plan(s, a, out->id);
	out->plan_s = t1 - t0;
	out->write_s = alert_clock() - t1;
	out->recipients = plan_recipients(p);
	out->posts = plan_posts(p);
	plan_free(p);
	json_decref(vac);
	return rc;
}

/* ---- reading -------------------------------------------------------------- */

#define ALERT_COLUMNS "id, kind, severity, title, CASE WHEN state = 'active' " \
	"AND expires_at <= ?9 THEN 'expired' ELSE state END AS st, created_at, " \
	"expires_at, last_rcpt - first_rcpt + 1, actor, targets, body, roles, " \
	"responses, escalation, vacancies, first_rcpt, last_rcpt"

static json_t *
alert_time(int64_t ms)
{
	char buf[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *
alert_json_col(sqlite3_stmt *stmt, int col)
{
	json_t *v = json_loads((const char *)sqlite3_column_text(stmt, col), 0,
	    NULL);

	return v != NULL ? v : json_null();
}

/* The list entry of the row under stmt (ALERT_COLUMNS); full adds the rest. */
static json_t *
alert_row(sqlite3_stmt *stmt, bool full)
{
	char code[16];
	json_t *o;

	alert_code(sqlite3_column_int64(stmt, 0), code);
	o = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:s,s:o}",
	    "id", (json_int_t)sqlite3_column_int64(stmt, 0),
	    "code", code,
	    "kind", alert_kind_name(sqlite3_column_int(stmt, 1)),
	    "severity", alert_severity_name(sqlite3_column_int(stmt, 2)),
	    "title", (const char *)sqlite3_column_text(stmt, 3),
	    "state", (const char *)sqlite3_column_text(stmt, 4),
	    "created_at", alert_time(sqlite3_column_int64(stmt, 5)),
	    "expires_at", alert_time(sqlite3_column_int64(stmt, 6)),
	    "recipients", (json_int_t)sqlite3_column_int64(stmt, 7),
	    "created_by", (const char *)sqlite3_column_text(stmt, 8),
	    "targets", alert_json_col(stmt, 9));
	if (full && o != NULL) {
		json_object_set_new(o, "body",
		    json_string((const char *)sqlite3_column_text(stmt, 10)));
		json_object_set_new(o, "roles", alert_json_col(stmt, 11));
		json_object_set_new(o, "responses", alert_json_col(stmt, 12));
		json_object_set_new(o, "escalation",
		    json_string((const char *)sqlite3_column_text(stmt, 13)));
		json_object_set_new(o, "vacancies", alert_json_col(stmt, 14));
	}
	return o;
}

int
sqlite_alert_list(struct store *st, const char *state, json_t **out)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	json_t *list = json_array();
	int rc;

	if (sqlite_prepare(s, "SELECT * FROM (SELECT " ALERT_COLUMNS " FROM "
	    "alerts ORDER BY id DESC) WHERE ?1 IS NULL OR st = ?1 LIMIT 100",
	    &stmt) != STORE_OK) {
		json_decref(list);
		return STORE_ERROR;
	}
	sqlite3_bind_int64(stmt, 9, alert_now_ms());
	if (state != NULL)
		sqlite3_bind_text(stmt, 1, state, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		json_array_append_new(list, alert_row(stmt, false));
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return sqlite_fail(s, rc, "alerts");
	}
	*out = list;
	return STORE_OK;
}

static json_t *
alert_zero_counts(void)
{
	json_t *c = json_object();

	for (int i = 0; i < RCPT_STATE_COUNT; i++)
		json_object_set_new(c, rcpt_state_name(i), json_integer(0));
	return c;
}

/*
 * counts and per-grid counts over the alert's recipient range, and the
 * answers: how many chose each of the alert's responses (o's "responses").
 */
static int
alert_counts(struct sqlite_store *s, int64_t first, int64_t last, json_t *o)
{
	json_t *counts = alert_zero_counts(), *grids = json_object();
	json_t *resp = json_object_get(o, "responses"), *answers = json_object();
	size_t n_resp = json_array_size(resp);
	sqlite3_stmt *stmt;
	int rc;

	json_object_set_new(o, "counts", counts);
	json_object_set_new(o, "grids", grids);
	json_object_set_new(o, "answers", answers);
	json_object_set_new(o, "escalations", json_array());
	for (size_t i = 0; i < n_resp; i++)
		json_object_set_new(answers, json_string_value(
		    json_array_get(resp, i)) ?: "?", json_integer(0));
	if (sqlite_prepare(s, "SELECT grid, state, coalesce(response, 0), "
	    "count(*) FROM recipients WHERE id BETWEEN ? AND ? GROUP BY grid, "
	    "state, response", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *grid = (const char *)sqlite3_column_text(stmt, 0);
		int st = sqlite3_column_int(stmt, 1);
		const char *state = rcpt_state_name(st);
		int r = sqlite3_column_int(stmt, 2);
		json_int_t n = sqlite3_column_int64(stmt, 3);
		json_t *g = json_object_get(grids, grid);
		const char *label;

		if (g == NULL) {
			g = alert_zero_counts();
			json_object_set_new(grids, grid, g);
		}
		json_object_set_new(g, state, json_integer(n +
		    json_integer_value(json_object_get(g, state))));
		json_object_set_new(counts, state, json_integer(n +
		    json_integer_value(json_object_get(counts, state))));
		if (st != RCPT_ACKED || r < 1 || (size_t)r > n_resp ||
		    (label = json_string_value(json_array_get(resp,
		    (size_t)r - 1))) == NULL)
			continue;
		json_object_set_new(answers, label, json_integer(n +
		    json_integer_value(json_object_get(answers, label))));
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "counts");
}

int
sqlite_alert_get(struct store *st, int64_t id, json_t **out)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int64_t first, last;
	json_t *o;
	int rc;

	if (sqlite_prepare(s, "SELECT " ALERT_COLUMNS " FROM alerts WHERE "
	    "id = ?1", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 9, alert_now_ms());
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return rc == SQLITE_DONE ? STORE_NOTFOUND :
		    sqlite_fail(s, rc, "alert");
	}
	o = alert_row(stmt, true);
	first = sqlite3_column_int64(stmt, 15);
	last = sqlite3_column_int64(stmt, 16);
	sqlite3_finalize(stmt);
	if (o == NULL)
		return STORE_ERROR;
	if ((rc = alert_counts(s, first, last, o)) != STORE_OK ||
	    (rc = sqlite_esc_list(s, id, json_object_get(o,
	    "escalations"))) != STORE_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return STORE_OK;
}

/* The alert's recipient range; STORE_NOTFOUND when there is no alert. */
static int
alert_range(struct sqlite_store *s, int64_t id, int64_t *first, int64_t *last)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "SELECT first_rcpt, last_rcpt FROM alerts WHERE "
	    "id = ?", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*first = sqlite3_column_int64(stmt, 0);
		*last = sqlite3_column_int64(stmt, 1);
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "alert");
}

int
sqlite_alert_recipients(struct store *st, int64_t id, int state, json_t **out)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int64_t first = 0, last = -1;
	json_t *list;
	int rc;

	if ((rc = alert_range(s, id, &first, &last)) != STORE_OK)
		return rc;
	if (sqlite_prepare(s, "SELECT name, sz_open(phone), posts, grid, state, "
	    "response, "
	    "acked_at FROM recipients WHERE id BETWEEN ?1 AND ?2 AND "
	    "(?3 < 0 OR state = ?3) ORDER BY id", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	sqlite3_bind_int(stmt, 3, state);
	list = json_array();
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *r = json_pack("{s:s,s:s,s:o,s:s,s:s}",
		    "name", (const char *)sqlite3_column_text(stmt, 0),
		    "phone", (const char *)sqlite3_column_text(stmt, 1),
		    "posts", alert_json_col(stmt, 2),
		    "grid", (const char *)sqlite3_column_text(stmt, 3),
		    "state", rcpt_state_name(sqlite3_column_int(stmt, 4)));

		json_object_set_new(r, "response",
		    sqlite3_column_type(stmt, 5) == SQLITE_NULL ? json_null() :
		    json_integer(sqlite3_column_int(stmt, 5)));
		json_object_set_new(r, "acked_at",
		    sqlite3_column_type(stmt, 6) == SQLITE_NULL ? json_null() :
		    alert_time(sqlite3_column_int64(stmt, 6)));
		json_array_append_new(list, r);
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return sqlite_fail(s, rc, "recipients");
	}
	*out = list;
	return STORE_OK;
}

int
sqlite_alert_find_idem(struct store *st, const char *actor, const char *key,
    int64_t *id)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "SELECT id FROM alerts WHERE actor = ? AND "
	    "idem_key = ?", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite_bind_str(stmt, 1, actor);
	sqlite_bind_str(stmt, 2, key);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		*id = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "alert");
}

/* Cancel: the alert, and every recipient not yet delivered or answered. */
int
sqlite_alert_cancel(struct store *st, int64_t id, size_t *cancelled)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int64_t first = 0, last = -1;
	int rc;

	*cancelled = 0;
	if ((rc = alert_range(s, id, &first, &last)) != STORE_OK)
		return rc;
	if (sqlite_prepare(s, "UPDATE alerts SET state = 'cancelled' WHERE "
	    "id = ? AND state = 'active'", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail(s, rc, "cancel");
	if (sqlite_prepare(s, "UPDATE recipients SET state = ?3 WHERE id "
	    "BETWEEN ?1 AND ?2 AND state IN (?4, ?5)", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	sqlite3_bind_int(stmt, 3, RCPT_CANCELLED);
	sqlite3_bind_int(stmt, 4, RCPT_PENDING);
	sqlite3_bind_int(stmt, 5, RCPT_SENT);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_DONE)
		*cancelled = (size_t)sqlite3_changes(s->db);
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail(s, rc, "cancel");
	/* Queued sends stop; the partial index holds only queued rows. */
	if (sqlite_prepare(s, "UPDATE deliveries SET state = ?2, updated_at = ?3 "
	    "WHERE state = 0 AND alert_id = ?1", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, DLV_CANCELLED);
	sqlite3_bind_int64(stmt, 3, alert_now_ms());
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "cancel");
}
