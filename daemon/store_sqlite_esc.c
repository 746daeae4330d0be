/*
 * store_sqlite_esc.c - escalation (叫应): the steps of an alert's policy,
 * due in the database, and firing one.
 *
 * A step looks at who is still silent (not answered, not closed) among
 * the alert's recipients when it fires, so whoever answered is left out,
 * and fires once: a long downtime fires what is overdue, once each.
 *   resend         queue the message again (on the role's second channel
 *                  when it has one) for the silent already sent to;
 *   backup         the B holder of a silent primary's post gets the notice;
 *   notify_parent  the leader above each silent one (unit -> building ->
 *                  grid leader -> community duty officer; villager
 *                  representative -> grid leader) gets the list of theirs;
 *   notify_duty    the community's duty officer gets the list of the
 *                  silent (未叫醒名单), with their numbers to call.
 * The people told are recipients of the alert too (after its range, with
 * the message made for them), so they can answer like anyone else.
 */
#include "store_sqlite.h"
#include "message.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ESC_LIST_MAX	30	/* people named in one message */
#define ESC_UP_MAX	4	/* vacant levels skipped going up */

/* One silent recipient, and whom to tell about them. */
struct esc_silent {
	int64_t		 id;
	int		 state;
	int		 role;		/* their routing role */
	unsigned char	 seal[PHONE_SEAL_LEN];	/* their number, sealed */
	char		*name;
	char		 code[ROSTER_MAX_CODE + 1];	/* their first post */
	int		 post_role;
	int		 rank;
	char		 key[ROSTER_MAX_CODE + 24];	/* "code|role" to tell */
};

struct esc_run {
	struct sqlite_store	*s;
	const struct esc_ctx	*x;
	struct esc_fired	*out;
	int64_t			 esc_id;
	int64_t			 alert;
	int			 kind;
	int			 priority;
	char			*title;
	char			*body;
	struct esc_silent	*v;
	size_t			 n;
	int64_t			 first, last;	/* recipients made */
};

int
sqlite_esc_plan(struct sqlite_store *s, const struct alert_new *a,
    int64_t alert)
{
	int64_t base = a->send_at ? a->send_at : a->created_at;
	sqlite3_stmt *stmt;
	int rc = SQLITE_DONE;

	if (a->n_esc == 0)
		return STORE_OK;
	if (sqlite_prepare(s, "INSERT INTO escalations (alert_id, step, action, "
	    "due_at) VALUES (?, ?, ?, ?)", &stmt) != STORE_OK)
		return STORE_ERROR;
	for (size_t i = 0; i < a->n_esc && rc == SQLITE_DONE; i++) {
		sqlite3_bind_int64(stmt, 1, alert);
		sqlite3_bind_int(stmt, 2, (int)i + 1);
		sqlite3_bind_text(stmt, 3, a->esc[i].action, -1, SQLITE_STATIC);
		sqlite3_bind_int64(stmt, 4, base + 1000LL * a->esc[i].after);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "escalation");
}

int
sqlite_esc_due(struct store *st, int64_t now, int64_t *ids, size_t max,
    size_t *n)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if (sqlite_cached(s, "SELECT id FROM escalations WHERE fired_at IS NULL "
	    "AND due_at <= ?1 ORDER BY due_at, id LIMIT ?2", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, now);
	sqlite3_bind_int64(stmt, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		ids[(*n)++] = sqlite3_column_int64(stmt, 0);
	sqlite_cached_done(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "escalation");
}

/* ---- who is silent --------------------------------------------------------- */

static void
esc_silent_free(struct esc_run *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* The first post of a posts JSON array into e. */
static void
esc_first_post(struct esc_silent *e, const char *posts)
{
	json_t *a = json_loads(posts, 0, NULL), *p = json_array_get(a, 0);

	snprintf(e->code, sizeof(e->code), "%s",
	    json_string_value(json_object_get(p, "code")) ?: "");
	e->post_role = roster_role_parse(json_string_value(
	    json_object_get(p, "role")) ?: "");
	e->rank = (int)json_integer_value(json_object_get(p, "rank"));
	json_decref(a);
}

static int
esc_load_silent(struct esc_run *r, int64_t first, int64_t last)
{
	sqlite3_stmt *stmt;
	size_t cap = 0;
	int rc;

	if (sqlite_prepare(r->s, "SELECT id, state, role, phone, name, posts "
	    "FROM recipients WHERE id BETWEEN ?1 AND ?2 AND state IN "
	    "(?3, ?4, ?5, ?6) ORDER BY id", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	sqlite3_bind_int(stmt, 3, RCPT_PENDING);
	sqlite3_bind_int(stmt, 4, RCPT_SENT);
	sqlite3_bind_int(stmt, 5, RCPT_DELIVERED);
	sqlite3_bind_int(stmt, 6, RCPT_FAILED);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct esc_silent *e;

		if (r->n == cap) {
			size_t c = cap ? cap * 2 : 256;
			struct esc_silent *v = realloc(r->v, c * sizeof(*v));

			if (v == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			r->v = v;
			cap = c;
		}
		e = &r->v[r->n];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(stmt, 0);
		e->state = sqlite3_column_int(stmt, 1);
		e->role = sqlite3_column_int(stmt, 2);
		if (!sqlite_column_seal(stmt, 3, e->seal)) {
			rc = SQLITE_CORRUPT;
			break;
		}
		if ((e->name = strdup((const char *)sqlite3_column_text(stmt,
		    4))) == NULL) {
			rc = SQLITE_NOMEM;
			break;
		}
		r->n++;
		esc_first_post(e, (const char *)sqlite3_column_text(stmt, 5));
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(r->s, rc, "escalation");
}

/* ---- resend ------------------------------------------------------------------ */

static int
esc_resend(struct esc_run *r)
{
	sqlite3_stmt *stmt;
	int rc = SQLITE_DONE;

	if (sqlite_prepare(r->s, "INSERT INTO deliveries (recipient_id, alert_id, "
	    "channel, priority, next_at, updated_at) VALUES (?1, ?2, ?3, ?4, "
	    "?5, ?5)", &stmt) != STORE_OK)
		return STORE_ERROR;
	for (size_t i = 0; i < r->n && rc == SQLITE_DONE; i++) {
		const struct esc_silent *e = &r->v[i];
		const char *ch;

		/* Still queued: its first send is on its way. */
		if (e->state == RCPT_PENDING || e->role < 0 ||
		    e->role >= ROLE_COUNT)
			continue;
		if ((ch = r->x->route[e->role][1]) == NULL &&
		    (ch = r->x->route[e->role][0]) == NULL)
			continue;
		sqlite3_bind_int64(stmt, 1, e->id);
		sqlite3_bind_int64(stmt, 2, r->alert);
		sqlite3_bind_text(stmt, 3, ch, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 4, r->priority);
		sqlite3_bind_int64(stmt, 5, r->x->now);
		if ((rc = sqlite3_step(stmt)) == SQLITE_DONE)
			r->out->resent++;
		sqlite3_reset(stmt);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(r->s, rc, "resend");
}

/* ---- whom to tell ------------------------------------------------------------- */

/*
 * The post above code/role (a unit's building leader, ...), into out;
 * -1 at the top.
 */
static int
esc_parent_post(const char *code, int role, char *out, size_t len,
    int *prole)
{
	int kind = roster_code_kind(code);

	if (role == ROLE_VILLAGER_REP) {	/* the grid's leader */
		snprintf(out, len, "%s", code);
		*prole = ROLE_GRID_LEADER;
		return 0;
	}
	if (roster_code_parent(code, out, len) != 0)
		return -1;
	switch (kind) {
	case NODE_UNIT:
		*prole = ROLE_BUILDING_LEADER;
		return 0;
	case NODE_BUILDING:
		*prole = ROLE_GRID_LEADER;
		return 0;
	default:
		*prole = ROLE_DUTY_OFFICER;
		return 0;
	}
}

/* Each silent one's key: the post to tell about them, or "" for none. */
static void
esc_keys(struct esc_run *r, const char *action)
{
	char code[ROSTER_MAX_CODE + 1];
	int role;

	for (size_t i = 0; i < r->n; i++) {
		struct esc_silent *e = &r->v[i];

		e->key[0] = '\0';
		if (e->code[0] == '\0' || e->post_role < 0)
			continue;
		if (strcmp(action, "backup") == 0) {
			if (e->rank == 1)
				snprintf(e->key, sizeof(e->key), "%s|%d",
				    e->code, e->post_role);
		} else if (strcmp(action, "notify_duty") == 0) {
			roster_code_community(e->code, code, sizeof(code));
			snprintf(e->key, sizeof(e->key), "%s|%d", code,
			    ROLE_DUTY_OFFICER);
		} else if (esc_parent_post(e->code, e->post_role, code,
		    sizeof(code), &role) == 0) {
			snprintf(e->key, sizeof(e->key), "%s|%d", code, role);
		}
	}
}

static int
esc_key_cmp(const void *a, const void *b)
{
	return strcmp(((const struct esc_silent *)a)->key,
	    ((const struct esc_silent *)b)->key);
}

/* The holder of a post. */
struct esc_holder {
	char		 code[ROSTER_MAX_CODE + 1];
	int		 role;
	int		 rank;
	unsigned char	 seal[PHONE_SEAL_LEN];
	char		*name;
	char		*channels;
};

/*
 * Who holds code/role (the primary, else the backup; only the backup for
 * rank 2).  0 found, 1 vacant, or a store error.
 */
static int
esc_holder_at(struct esc_run *r, const char *code, int role, int rank,
    struct esc_holder *h)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_cached(r->s, "SELECT p.phone, p.name, p.channels, p.rank FROM "
	    "nodes n JOIN posts p ON p.node_id = n.id WHERE n.code = ?1 AND "
	    "p.role = ?2 AND p.rank >= ?3 ORDER BY p.rank, p.id LIMIT 1",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, roster_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, rank);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW &&
	    !sqlite_column_seal(stmt, 0, h->seal))
		rc = SQLITE_CORRUPT;
	if (rc == SQLITE_ROW) {
		snprintf(h->code, sizeof(h->code), "%s", code);
		h->role = role;
		h->rank = sqlite3_column_int(stmt, 3);
		h->name = strdup((const char *)sqlite3_column_text(stmt, 1));
		h->channels = strdup((const char *)sqlite3_column_text(stmt, 2));
	}
	sqlite_cached_done(stmt);
	if (rc == SQLITE_ROW)
		return h->name && h->channels ? 0 : STORE_ERROR;
	return rc == SQLITE_DONE ? 1 : sqlite_fail(r->s, rc, "escalation");
}

/* The holder for key "code|role", going up past vacant posts. */
static int
esc_holder(struct esc_run *r, const char *key, bool backup,
    struct esc_holder *h)
{
	char code[ROSTER_MAX_CODE + 1], up[ROSTER_MAX_CODE + 1];
	int role, rc;

	memset(h, 0, sizeof(*h));
	snprintf(code, sizeof(code), "%.*s", (int)strcspn(key, "|"), key);
	role = atoi(strchr(key, '|') + 1);
	for (int i = 0; i < ESC_UP_MAX; i++) {
		if ((rc = esc_holder_at(r, code, role, backup ? 2 : 1, h)) != 1)
			return rc;
		/* Vacant: a backup has nobody to stand in; else go up. */
		if (backup || esc_parent_post(code, role, up, sizeof(up),
		    &role) != 0)
			return 1;
		snprintf(code, sizeof(code), "%s", up);
	}
	return 1;
}

/* ---- the messages ------------------------------------------------------------ */

/* "G01/12/3 单元长": a post, short. */
static void
esc_post_label(const char *code, int role, char *out, size_t len)
{
	const char *slash = strchr(code, '/');

	snprintf(out, len, "%s %s", slash ? slash + 1 : code,
	    role >= 0 ? roster_role_label(role) : "");
}

/* The note for one holder about the silent v[from..to). */
static char *
esc_note(const struct esc_run *r, const char *action, size_t from, size_t to)
{
	char *buf = NULL, label[ROSTER_MAX_CODE + 32], mark[SEAL_MARK_LEN + 1];
	size_t len = 0, n = to - from;
	FILE *f;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	if (strcmp(action, "backup") == 0) {
		esc_post_label(r->v[from].code, r->v[from].post_role, label,
		    sizeof(label));
		fprintf(f, "%s（%s）未回复，请您作为B角代为落实：%s", r->v[from].name,
		    label, r->body);
	} else {
		fprintf(f, strcmp(action, "notify_duty") == 0 ?
		    "未叫醒名单（共%zu人）：" : "您负责的以下%zu人尚未回复：", n);
		for (size_t i = from; i < to && i < from + ESC_LIST_MAX; i++) {
			esc_post_label(r->v[i].code, r->v[i].post_role, label,
			    sizeof(label));
			/*
			 * The duty officer calls them: numbers in full, put
			 * in when the message is made (sealed till then).
			 */
			if (strcmp(action, "notify_duty") == 0) {
				sqlite_seal_mark(r->v[i].seal, mark);
				fprintf(f, "%s%s %s（%s）", i > from ? "；" : "",
				    r->v[i].name, mark, label);
			}
			else
				fprintf(f, "%s%s（%s）", i > from ? "、" : "",
				    r->v[i].name, label);
		}
		if (n > ESC_LIST_MAX)
			fprintf(f, "等%zu人", n);
		fputs(strcmp(action, "notify_duty") == 0 ? "。请电话叫应或上门。" :
		    "。请督促或上门叫应。", f);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* A recipient for holder h with note, and its first delivery. */
static int
esc_put(struct esc_run *r, const struct esc_holder *h, const char *note)
{
	static const char *const sql[2] = {
		"INSERT INTO recipients (alert_id, phone, name, posts, grid, role, "
		"channels, state, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 0, ?8)",
		"INSERT INTO deliveries (recipient_id, alert_id, channel, priority, "
		"next_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
	};
	const char *ch = r->x->route[h->role][0];
	char posts[ROSTER_MAX_CODE + 80], grid[ROSTER_MAX_CODE + 1];
	sqlite3_stmt *stmt;
	int64_t id;
	int rc;

	if (ch == NULL)
		return 1;	/* nothing routed for the role */
	/* Codes are validated roster codes: no quote or backslash. */
	snprintf(posts, sizeof(posts), "[{\"code\":\"%s\",\"role\":\"%s\","
	    "\"rank\":%d}]", h->code, roster_role_name(h->role), h->rank);
	roster_code_grid(h->code, grid, sizeof(grid));
	if (sqlite_cached(r->s, sql[0], &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, r->alert);
	sqlite3_bind_blob(stmt, 2, h->seal, PHONE_SEAL_LEN, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, h->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, posts, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, grid, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 6, h->role);
	sqlite3_bind_text(stmt, 7, h->channels, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 8, note, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	sqlite_cached_done(stmt);
	if (rc != SQLITE_DONE)
		return sqlite_fail(r->s, rc, "escalation");
	id = sqlite3_last_insert_rowid(r->s->db);
	if (r->first < 0)
		r->first = id;
	r->last = id;
	if (sqlite_cached(r->s, sql[1], &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, r->alert);
	sqlite3_bind_text(stmt, 3, ch, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 4, r->priority);
	sqlite3_bind_int64(stmt, 5, r->x->now);
	rc = sqlite3_step(stmt);
	sqlite_cached_done(stmt);
	return rc == SQLITE_DONE ? 0 : sqlite_fail(r->s, rc, "escalation");
}

/* backup, notify_parent, notify_duty: one message per holder told. */
static int
esc_tell(struct esc_run *r, const char *action)
{
	bool backup = strcmp(action, "backup") == 0;
	size_t i = 0, j;
	int rc = STORE_OK;

	esc_keys(r, action);
	qsort(r->v, r->n, sizeof(*r->v), esc_key_cmp);
	for (; i < r->n && rc == STORE_OK; i = j) {
		struct esc_holder h;
		char *note;

		for (j = i + 1; j < r->n && strcmp(r->v[j].key, r->v[i].key) ==
		    0; j++)
			;
		if (r->v[i].key[0] == '\0') {
			r->out->unreachable += j - i;
			continue;
		}
		if ((rc = esc_holder(r, r->v[i].key, backup, &h)) < 0)
			break;
		/* Nobody there, or the silent one is their own leader. */
		if (rc == 1 || (j - i == 1 && memcmp(h.seal, r->v[i].seal,
		    PHONE_SEAL_LEN) == 0)) {
			r->out->unreachable += j - i;
			rc = STORE_OK;
		} else if ((note = esc_note(r, action, i, j)) == NULL) {
			rc = STORE_ERROR;
		} else {
			if ((rc = esc_put(r, &h, note)) == 0)
				r->out->told++;
			else if (rc == 1)
				r->out->unreachable += j - i;
			if (rc > 0)
				rc = STORE_OK;
			free(note);
		}
		free(h.name);
		free(h.channels);
	}
	return rc;
}

/* ---- firing -------------------------------------------------------------------- */

static int
esc_mark(struct esc_run *r)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(r->s, "UPDATE escalations SET fired_at = ?2, "
	    "silent = ?3, resent = ?4, told = ?5, first_rcpt = ?6, "
	    "last_rcpt = ?7 WHERE id = ?1", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, r->esc_id);
	sqlite3_bind_int64(stmt, 2, r->x->now);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)r->out->silent);
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)r->out->resent);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)r->out->told);
	sqlite3_bind_int64(stmt, 6, r->first < 0 ? 0 : r->first);
	sqlite3_bind_int64(stmt, 7, r->first < 0 ? -1 : r->last);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(r->s, rc, "escalation");
}

int
sqlite_esc_fire(struct store *st, int64_t id, const struct esc_ctx *x,
    struct esc_fired *out)
{
	struct esc_run r = { .s = sq(st), .x = x, .out = out, .esc_id = id,
	    .first = -1, .last = -1 };
	sqlite3_stmt *stmt;
	int64_t first = 0, last = -1;
	bool open = false, fired = true;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sqlite_prepare(r.s, "SELECT e.alert_id, e.action, e.fired_at IS NOT "
	    "NULL, a.state = 'active' AND a.expires_at > ?2, a.first_rcpt, "
	    "a.last_rcpt, a.kind, a.title, a.body FROM escalations e JOIN "
	    "alerts a ON a.id = e.alert_id WHERE e.id = ?1", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, x->now);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		r.alert = out->alert_id = sqlite3_column_int64(stmt, 0);
		snprintf(out->action, sizeof(out->action), "%s",
		    (const char *)sqlite3_column_text(stmt, 1));
		fired = sqlite3_column_int(stmt, 2) != 0;
		open = sqlite3_column_int(stmt, 3) != 0;
		first = sqlite3_column_int64(stmt, 4);
		last = sqlite3_column_int64(stmt, 5);
		r.kind = sqlite3_column_int(stmt, 6);
		r.title = strdup((const char *)sqlite3_column_text(stmt, 7));
		r.body = strdup((const char *)sqlite3_column_text(stmt, 8));
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_ROW) {
		free(r.title);
		free(r.body);
		return rc == SQLITE_DONE ? STORE_NOTFOUND :
		    sqlite_fail(r.s, rc, "escalation");
	}
	r.priority = r.kind == ALERT_EMERGENCY ? 0 : r.kind == ALERT_DRILL ? 1 : 2;
	rc = r.title && r.body ? STORE_OK : STORE_ERROR;
	if (rc == STORE_OK && fired)
		out->skipped = true;
	else if (rc == STORE_OK && !open) {
		out->skipped = true;
		rc = esc_mark(&r);
	} else if (rc == STORE_OK &&
	    (rc = esc_load_silent(&r, first, last)) == STORE_OK) {
		out->silent = r.n;
		if (strcmp(out->action, "resend") == 0)
			rc = esc_resend(&r);
		else if (r.n > 0)
			rc = esc_tell(&r, out->action);
		if (rc == STORE_OK)
			rc = esc_mark(&r);
	}
	esc_silent_free(&r);
	free(r.title);
	free(r.body);
	return rc;
}

/* ---- reading ------------------------------------------------------------------- */

int
sqlite_esc_list(struct sqlite_store *s, int64_t alert, json_t *out)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "SELECT e.step, e.action, e.due_at, e.fired_at, "
	    "e.silent, e.resent, e.told, (SELECT count(*) FROM recipients r "
	    "WHERE r.id BETWEEN e.first_rcpt AND e.last_rcpt AND r.state = ?2) "
	    "FROM escalations e WHERE e.alert_id = ?1 ORDER BY e.step",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, alert);
	sqlite3_bind_int(stmt, 2, RCPT_ACKED);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		json_t *e = json_pack("{s:i,s:s,s:I,s:I,s:I,s:I,s:I}",
		    "step", sqlite3_column_int(stmt, 0),
		    "action", (const char *)sqlite3_column_text(stmt, 1),
		    "due_at_ms", (json_int_t)sqlite3_column_int64(stmt, 2),
		    "silent", (json_int_t)sqlite3_column_int64(stmt, 4),
		    "resent", (json_int_t)sqlite3_column_int64(stmt, 5),
		    "told", (json_int_t)sqlite3_column_int64(stmt, 6),
		    "told_acked", (json_int_t)sqlite3_column_int64(stmt, 7));

		json_object_set_new(e, "fired_at_ms",
		    sqlite3_column_type(stmt, 3) == SQLITE_NULL ? json_null() :
		    json_integer(sqlite3_column_int64(stmt, 3)));
		json_array_append_new(out, e);
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "escalation");
}

/* ---- needs help ------------------------------------------------------------- */

/*
 * Someone answered "needs help": their grid's leader and their
 * community's duty officer are told at once (not themselves, and each
 * person once), with the number to call back.
 */
int
sqlite_help_note(struct sqlite_store *s, const struct ack_in *in,
    const struct ack_info *who, const char *label)
{
	struct esc_fired fired = { 0 };
	struct esc_run r = { .s = s, .x = in->routes, .out = &fired,
	    .alert = who->alert_id, .kind = who->kind, .first = -1,
	    .last = -1 };
	struct esc_silent e = { 0 };
	char where[2][ROSTER_MAX_CODE + 1], lab[ROSTER_MAX_CODE + 32];
	unsigned char told[PHONE_SEAL_LEN], seal[PHONE_SEAL_LEN];
	static const int roles[2] = { ROLE_GRID_LEADER, ROLE_DUTY_OFFICER };
	sqlite3_stmt *stmt;
	char *note = NULL, mark[SEAL_MARK_LEN + 1];
	bool found = false, told_one = false;
	size_t len = 0;
	FILE *f;
	int rc = STORE_OK;

	r.priority = who->kind == ALERT_EMERGENCY ? 0 :
	    who->kind == ALERT_DRILL ? 1 : 2;
	esc_first_post(&e, who->posts);
	if (sqlite_prepare(s, "SELECT phone FROM recipients WHERE id = ?",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, who->rcpt_id);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		found = sqlite_column_seal(stmt, 0, seal);
	sqlite3_finalize(stmt);
	if (!found || e.code[0] == '\0')
		goto done;
	/* The number goes in when the message is made (sealed till then). */
	sqlite_seal_mark(seal, mark);
	roster_code_grid(e.code, where[0], sizeof(where[0]));
	roster_code_community(e.code, where[1], sizeof(where[1]));
	esc_post_label(e.code, e.post_role, lab, sizeof(lab));
	if ((f = open_memstream(&note, &len)) == NULL) {
		rc = STORE_ERROR;
		goto done;
	}
	fprintf(f, "%s（%s）回复“%s”，请尽快联系：%s。", who->name, lab, label,
	    mark);
	if (fclose(f) != 0) {
		rc = STORE_ERROR;
		goto done;
	}
	for (int i = 0; i < 2 && rc == STORE_OK; i++) {
		struct esc_holder h = { .name = NULL };

		/* A grid leader's own grid is theirs: only the duty officer. */
		if (i == 0 && strchr(where[0], '/') == NULL)
			continue;
		if ((rc = esc_holder_at(&r, where[i], roles[i], 1, &h)) < 0)
			break;
		if (rc == 0 && memcmp(h.seal, seal, sizeof(seal)) != 0 &&
		    !(told_one && memcmp(h.seal, told, sizeof(told)) == 0)) {
			memcpy(told, h.seal, sizeof(told));
			told_one = true;
			rc = esc_put(&r, &h, note) < 0 ? STORE_ERROR : STORE_OK;
		} else
			rc = STORE_OK;
		free(h.name);
		free(h.channels);
	}
done:
	free(note);
	return rc;
}
