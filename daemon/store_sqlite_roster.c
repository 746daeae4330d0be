/*
 * store_sqlite_roster.c - the roster in SQLite: import, export, nodes.
 *
 * A node's parent and children follow from its code (the code index
 * answers both), so nodes carry no parent column to keep in step.
 *
 * An import runs inside the caller's transaction.  A replace stamps every
 * node and post it meets with the import's generation (its roster_imports
 * id), then deletes what in its scope was not stamped.
 */
#include "store_sqlite.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
sqlite_range(const char *code, struct sqlite_range *r)
{
	size_t n = strlen(code);

	if (n == 0 || n > ROSTER_MAX_CODE)
		return -1;
	if (roster_code_kind(code) == NODE_STREET) {
		memcpy(r->lo, code, n + 1);
		memcpy(r->hi, code, n + 1);
		r->hi[n - 1]++;
	} else {
		snprintf(r->lo, sizeof(r->lo), "%s/", code);
		snprintf(r->hi, sizeof(r->hi), "%s0", code);
	}
	return 0;
}

void
sqlite_bind_range(sqlite3_stmt *stmt, const char *code,
    const struct sqlite_range *r)
{
	sqlite3_bind_text(stmt, 1, code, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, r->lo, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, r->hi, -1, SQLITE_STATIC);
}

/* ---- import ------------------------------------------------------------ */

static int64_t
roster_new_gen(struct sqlite_store *s, const struct roster *r,
    const struct roster_apply_opts *o)
{
	sqlite3_stmt *stmt;
	int64_t gen = -1;
	int rc;

	if (sqlite_prepare(s, "INSERT INTO roster_imports (ts, actor, mode, "
	    "rows) VALUES (?, ?, ?, ?) RETURNING id", &stmt) != STORE_OK)
		return -1;
	sqlite3_bind_int64(stmt, 1, alert_now_ms());
	sqlite_bind_str(stmt, 2, o->actor);
	sqlite_bind_str(stmt, 3, o->replace ? "replace" : "merge");
	sqlite3_bind_int64(stmt, 4, (sqlite3_int64)r->n_posts);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		gen = sqlite3_column_int64(stmt, 0);
	else
		sqlite_fail(s, rc, "roster import");
	sqlite3_finalize(stmt);
	return gen;
}

/*
 * The statements of one import.  Each row is looked up, then inserted or
 * updated by primary key: no UPSERT ... RETURNING, which builds a
 * temporary table for every row and doubled the time of a city import.
 */
enum roster_sql {
	NODE_FIND, NODE_ADD, NODE_TOUCH, POST_FIND, POST_ADD, POST_TOUCH,
	ROSTER_SQL_COUNT
};

static const char *const roster_sql[ROSTER_SQL_COUNT] = {
	[NODE_FIND] = "SELECT id FROM nodes WHERE code = ?1",
	[NODE_ADD] = "INSERT INTO nodes (code, kind, name, seen_gen) "
	    "VALUES (?1, ?2, ?3, ?4)",
	[NODE_TOUCH] = "UPDATE nodes SET name = ?3, seen_gen = ?4 WHERE id = ?5",
	[POST_FIND] = "SELECT id, name, phone, channels, rank FROM posts WHERE "
	    "node_id = ?1 AND role = ?2 AND slot = ?4",
	[POST_ADD] = "INSERT INTO posts (node_id, role, rank, slot, name, "
	    "phone, channels, seen_gen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[POST_TOUCH] = "UPDATE posts SET rank = ?3, name = ?5, phone = ?6, "
	    "channels = ?7, seen_gen = ?8 WHERE id = ?9",
};

struct roster_put {
	struct sqlite_store	*s;
	const struct roster	*r;
	const struct roster_apply_opts *o;
	int64_t			 gen;
	bool			 replace;
	sqlite3_stmt		*stmt[ROSTER_SQL_COUNT];
	int64_t			*ids;	/* row id of each roster node */
	bool			*fresh;	/* node inserted now: no posts yet */
	struct roster_apply_result *res;
};

/* Step a statement that returns no row, and reset it. */
static int
put_exec(sqlite3_stmt *stmt)
{
	int rc = sqlite3_step(stmt);

	sqlite3_reset(stmt);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static bool
put_covers(const struct roster_put *p, const char *code)
{
	if (p->o->n_scope == 0)
		return true;
	for (size_t i = 0; i < p->o->n_scope; i++)
		if (roster_code_covers(p->o->scope[i], code))
			return true;
	return false;
}

/*
 * A node above the caller's scope (the street of a community-scoped
 * token, say) is created when missing but never renamed by this import.
 */
static int
put_node(struct roster_put *p, size_t i)
{
	const struct roster_node *n = &p->r->nodes[i];
	sqlite3_stmt *find = p->stmt[NODE_FIND], *st;
	int rc;

	sqlite_bind_str(find, 1, n->code);
	rc = sqlite3_step(find);
	if (rc == SQLITE_ROW)
		p->ids[i] = sqlite3_column_int64(find, 0);
	sqlite3_reset(find);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	if (rc == SQLITE_ROW && !put_covers(p, n->code))
		return SQLITE_OK;
	st = p->stmt[rc == SQLITE_ROW ? NODE_TOUCH : NODE_ADD];
	sqlite_bind_str(st, 1, n->code);
	sqlite3_bind_int(st, 2, n->kind);
	sqlite_bind_str(st, 3, n->name);
	sqlite3_bind_int64(st, 4, p->gen);
	sqlite3_bind_int64(st, 5, p->ids[i]);
	if ((rc = put_exec(st)) != SQLITE_OK)
		return rc;
	if (st == p->stmt[NODE_ADD]) {
		p->ids[i] = sqlite3_last_insert_rowid(p->s->db);
		p->fresh[i] = true;
	}
	return SQLITE_OK;
}

static bool
col_equals(sqlite3_stmt *stmt, int col, const char *v)
{
	const char *c = (const char *)sqlite3_column_text(stmt, col);

	return strcmp(c != NULL ? c : "", v != NULL ? v : "") == 0;
}

/* Whether column col holds this phone seal. */
static bool
col_seal_equals(sqlite3_stmt *stmt, int col, const unsigned char *seal)
{
	return sqlite3_column_bytes(stmt, col) == PHONE_SEAL_LEN &&
	    sqlite3_column_type(stmt, col) == SQLITE_BLOB &&
	    memcmp(sqlite3_column_blob(stmt, col), seal, PHONE_SEAL_LEN) == 0;
}

/*
 * A post's slot is its rank for leaders and its holder's number for the
 * others (roster_link.c): a number is stored as its seal.
 */
static void
put_bind_slot(sqlite3_stmt *stmt, const struct roster_post *post,
    const unsigned char *seal)
{
	if (strcmp(post->slot, post->phone) == 0)
		sqlite3_bind_blob(stmt, 4, seal, PHONE_SEAL_LEN, SQLITE_STATIC);
	else
		sqlite_bind_str(stmt, 4, post->slot);
}

/* Whether the stored holder differs; sets *id when the post exists. */
static int
put_find_post(struct roster_put *p, const struct roster_post *post,
    const unsigned char *seal, int64_t *id, bool *changed)
{
	sqlite3_stmt *find = p->stmt[POST_FIND];
	int rc;

	*id = -1;
	sqlite3_bind_int64(find, 1, p->ids[post->node]);
	sqlite_bind_str(find, 2, roster_role_name(post->role));
	put_bind_slot(find, post, seal);
	if ((rc = sqlite3_step(find)) == SQLITE_ROW) {
		*id = sqlite3_column_int64(find, 0);
		*changed = !col_equals(find, 1, post->name) ||
		    !col_seal_equals(find, 2, seal) ||
		    !col_equals(find, 3, post->channels) ||
		    sqlite3_column_int(find, 4) != post->rank;
	}
	sqlite3_reset(find);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int
put_post(struct roster_put *p, const struct roster_post *post)
{
	unsigned char seal[PHONE_SEAL_LEN];
	sqlite3_stmt *st;
	bool changed = false;
	int64_t id = -1;
	int rc;

	/* Roster phones are validated numbers: this cannot fail. */
	if (phone_seal(p->s->seal, post->phone, seal) != 0)
		return SQLITE_MISMATCH;
	if (!p->fresh[post->node] &&
	    (rc = put_find_post(p, post, seal, &id, &changed)) != SQLITE_OK)
		return rc;
	if (id >= 0 && !changed && !p->replace)
		return SQLITE_OK;	/* merge: nothing to write */
	st = p->stmt[id >= 0 ? POST_TOUCH : POST_ADD];
	sqlite3_bind_int64(st, 1, p->ids[post->node]);
	sqlite_bind_str(st, 2, roster_role_name(post->role));
	sqlite3_bind_int(st, 3, post->rank);
	put_bind_slot(st, post, seal);
	sqlite_bind_str(st, 5, post->name);
	sqlite3_bind_blob(st, 6, seal, sizeof(seal), SQLITE_TRANSIENT);
	sqlite_bind_str(st, 7, post->channels);
	sqlite3_bind_int64(st, 8, p->gen);
	sqlite3_bind_int64(st, 9, id);
	if ((rc = put_exec(st)) != SQLITE_OK)
		return rc;
	if (id < 0)
		p->res->posts_added++;
	else if (changed)
		p->res->posts_updated++;
	return SQLITE_OK;
}

static int
roster_put(struct roster_put *p)
{
	int rc = SQLITE_OK;

	for (size_t i = 0; i < ROSTER_SQL_COUNT && rc == SQLITE_OK; i++)
		rc = sqlite3_prepare_v3(p->s->db, roster_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &p->stmt[i], NULL);
	for (size_t i = 0; i < p->r->n_nodes && rc == SQLITE_OK; i++)
		rc = put_node(p, i);
	for (size_t i = 0; i < p->r->n_posts && rc == SQLITE_OK; i++)
		rc = put_post(p, &p->r->posts[i]);
	if (rc != SQLITE_OK)
		sqlite_fail(p->s, rc, "roster import");
	for (size_t i = 0; i < ROSTER_SQL_COUNT; i++)
		sqlite3_finalize(p->stmt[i]);
	return rc == SQLITE_OK ? STORE_OK : STORE_ERROR;
}

/* Run one deleting statement over a subtree (or everything); count rows. */
static int
roster_sweep_one(struct sqlite_store *s, const char *sql, const char *code,
    int64_t gen, size_t *count)
{
	struct sqlite_range range;
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, sql, &stmt) != STORE_OK)
		return STORE_ERROR;
	if (code != NULL) {
		if (sqlite_range(code, &range) != 0) {
			sqlite3_finalize(stmt);
			return STORE_ERROR;
		}
		sqlite_bind_range(stmt, code, &range);
	}
	sqlite3_bind_int64(stmt, 4, gen);
	if ((rc = sqlite3_step(stmt)) == SQLITE_DONE)
		*count += (size_t)sqlite3_changes(s->db);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "replace");
}

/* Replace: remove the posts, then the nodes, the import did not stamp. */
static int
roster_sweep(struct sqlite_store *s, const char *code, int64_t gen,
    struct roster_apply_result *res)
{
	static const char *const scoped[] = {
	    "DELETE FROM posts WHERE seen_gen <> ?4 AND node_id IN (SELECT id "
	    "FROM nodes WHERE " SQLITE_IN_RANGE("code") ")",
	    "DELETE FROM nodes WHERE seen_gen <> ?4 AND " SQLITE_IN_RANGE("code"),
	};
	static const char *const all[] = {
	    "DELETE FROM posts WHERE seen_gen <> ?4",
	    "DELETE FROM nodes WHERE seen_gen <> ?4",
	};
	const char *const *sql = code != NULL ? scoped : all;

	if (roster_sweep_one(s, sql[0], code, gen, &res->posts_removed) != STORE_OK ||
	    roster_sweep_one(s, sql[1], code, gen, &res->nodes_removed) != STORE_OK)
		return STORE_ERROR;
	return STORE_OK;
}

int
sqlite_roster_apply(struct store *st, const struct roster *r,
    const struct roster_apply_opts *o, struct roster_apply_result *res)
{
	struct roster_put p = {
		.s = sq(st), .r = r, .o = o, .replace = o->replace, .res = res,
	};
	int rc;

	memset(res, 0, sizeof(*res));
	res->nodes = r->n_nodes;
	if ((p.gen = roster_new_gen(p.s, r, o)) < 0)
		return STORE_ERROR;
	p.ids = calloc(r->n_nodes + 1, sizeof(*p.ids));
	p.fresh = calloc(r->n_nodes + 1, sizeof(*p.fresh));
	if (p.ids == NULL || p.fresh == NULL) {
		snprintf(p.s->err, sizeof(p.s->err), "out of memory");
		rc = STORE_ERROR;
	} else
		rc = roster_put(&p);
	free(p.ids);
	free(p.fresh);
	if (rc != STORE_OK || !o->replace)
		return rc;
	if (o->n_scope == 0)
		return roster_sweep(p.s, NULL, p.gen, res);
	for (size_t i = 0; i < o->n_scope && rc == STORE_OK; i++)
		rc = roster_sweep(p.s, o->scope[i], p.gen, res);
	return rc;
}

/* ---- export ------------------------------------------------------------ */

/* Names of streets and communities, sorted by code for bsearch. */
struct name_map {
	char	**codes;
	char	**names;
	size_t	  n;
};

static void
name_map_free(struct name_map *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->codes[i]);
		free(m->names[i]);
	}
	free(m->codes);
	free(m->names);
}

static int
name_map_load(struct sqlite_store *s, struct name_map *m)
{
	sqlite3_stmt *stmt;
	size_t cap = 0;
	int rc;

	memset(m, 0, sizeof(*m));
	if (sqlite_prepare(s, "SELECT code, name FROM nodes WHERE kind <= 1 "
	    "ORDER BY code", &stmt) != STORE_OK)
		return STORE_ERROR;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (m->n == cap) {
			cap = cap ? cap * 2 : 256;
			char **c = realloc(m->codes, cap * sizeof(*c));
			if (c != NULL)
				m->codes = c;
			char **n = realloc(m->names, cap * sizeof(*n));
			if (n != NULL)
				m->names = n;
			if (c == NULL || n == NULL)
				break;
		}
		m->codes[m->n] = strdup((const char *)sqlite3_column_text(stmt, 0));
		m->names[m->n] = strdup((const char *)sqlite3_column_text(stmt, 1));
		m->n++;
	}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		name_map_free(m);
		return sqlite_fail(s, rc, "export");
	}
	return STORE_OK;
}

static int
name_cmp(const void *key, const void *elem)
{
	return strcmp(key, *(char *const *)elem);
}

static const char *
name_map_get(const struct name_map *m, const char *code)
{
	char **hit;

	if (code == NULL || *code == '\0' || m->n == 0)
		return "";
	hit = bsearch(code, m->codes, m->n, sizeof(*m->codes), name_cmp);
	return hit != NULL ? m->names[hit - m->codes] : "";
}

#define EXPORT_SELECT "SELECT n.code, p.role, p.rank, p.name, sz_open(p.phone), " \
	"p.channels FROM posts p JOIN nodes n ON n.id = p.node_id"

static int
roster_export_rows(struct sqlite_store *s, const struct name_map *m,
    const char *code, bool tree_order, store_row_cb cb, void *arg)
{
	struct sqlite_range range;
	sqlite3_stmt *stmt;
	char buf[ROSTER_MAX_CODE + 16];
	int rc;

	static const char *const sql[2][2] = {
		{
			EXPORT_SELECT " ORDER BY p.id",
			EXPORT_SELECT " ORDER BY n.code, p.role, p.rank, p.id",
		}, {
			EXPORT_SELECT " WHERE " SQLITE_IN_RANGE("n.code")
			    " ORDER BY p.id",
			EXPORT_SELECT " WHERE " SQLITE_IN_RANGE("n.code")
			    " ORDER BY n.code, p.role, p.rank, p.id",
		},
	};

	if (sqlite_prepare(s, sql[code != NULL][tree_order], &stmt) != STORE_OK)
		return STORE_ERROR;
	if (code != NULL) {
		if (sqlite_range(code, &range) != 0) {
			sqlite3_finalize(stmt);
			return STORE_OK;
		}
		sqlite_bind_range(stmt, code, &range);
	}
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct roster_row row;

		memset(&row, 0, sizeof(row));
		if (roster_row_split_code(&row,
		    (const char *)sqlite3_column_text(stmt, 0), buf,
		    sizeof(buf)) != 0)
			continue;
		row.street_name = name_map_get(m, row.street_code);
		row.community_name = name_map_get(m, row.community_code);
		row.role = roster_role_parse((const char *)sqlite3_column_text(stmt, 1));
		row.rank = sqlite3_column_int(stmt, 2);
		row.name = (const char *)sqlite3_column_text(stmt, 3);
		row.phone = (const char *)sqlite3_column_text(stmt, 4);
		row.channels = (const char *)sqlite3_column_text(stmt, 5);
		if (cb(&row, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "export");
}

int
sqlite_roster_export(struct store *st, const struct store_filter *f,
    store_row_cb cb, void *arg)
{
	struct sqlite_store *s = sq(st);
	struct name_map m;
	int rc;

	if ((rc = name_map_load(s, &m)) != STORE_OK)
		return rc;
	if (f == NULL || f->n_under == 0)
		rc = roster_export_rows(s, &m, NULL, f != NULL && f->tree_order,
		    cb, arg);
	else
		for (size_t i = 0; i < f->n_under && rc == STORE_OK; i++)
			rc = roster_export_rows(s, &m, f->under[i],
			    f->tree_order, cb, arg);
	name_map_free(&m);
	return rc;
}

/* ---- nodes ------------------------------------------------------------- */

static int
node_list(struct sqlite_store *s, sqlite3_stmt *stmt, const char *parent,
    store_node_cb cb, void *arg)
{
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_node n = {
			.code = (const char *)sqlite3_column_text(stmt, 0),
			.kind = sqlite3_column_int(stmt, 1),
			.name = (const char *)sqlite3_column_text(stmt, 2),
			.parent = parent,
		};
		if (cb(&n, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "nodes");
}

/* Children: the next kind down, inside the node's code range. */
static int
node_children(struct sqlite_store *s, const char *code, int kind,
    store_node_cb cb, void *arg)
{
	struct sqlite_range range;
	sqlite3_stmt *stmt;

	if (kind >= NODE_UNIT || sqlite_range(code, &range) != 0)
		return STORE_OK;
	if (sqlite_prepare(s, "SELECT code, kind, name FROM nodes WHERE "
	    SQLITE_IN_RANGE("code") " AND kind = ?4 ORDER BY id",
	    &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite_bind_range(stmt, code, &range);
	sqlite3_bind_int(stmt, 4, kind + 1);
	return node_list(s, stmt, code, cb, arg);
}

static int
node_posts(struct sqlite_store *s, int64_t id, store_post_cb cb, void *arg)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "SELECT role, rank, name, sz_open(phone), channels FROM "
	    "posts WHERE node_id = ? ORDER BY id", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_post p = {
			.role = roster_role_parse((const char *)sqlite3_column_text(stmt, 0)),
			.rank = sqlite3_column_int(stmt, 1),
			.name = (const char *)sqlite3_column_text(stmt, 2),
			.phone = (const char *)sqlite3_column_text(stmt, 3),
			.channels = (const char *)sqlite3_column_text(stmt, 4),
		};
		if (cb(&p, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "posts");
}

int
sqlite_node_get(struct store *st, const char *code, store_node_cb node_cb,
    store_post_cb post_cb, store_node_cb child_cb, void *arg)
{
	struct sqlite_store *s = sq(st);
	char parent[ROSTER_MAX_CODE + 1];
	sqlite3_stmt *stmt;
	struct store_node n;
	int64_t id;
	int rc, stop;

	if (sqlite_prepare(s, "SELECT id, code, kind, name FROM nodes WHERE "
	    "code = ?", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite_bind_str(stmt, 1, code);
	if ((rc = sqlite3_step(stmt)) != SQLITE_ROW) {
		sqlite3_finalize(stmt);
		return rc == SQLITE_DONE ? STORE_NOTFOUND :
		    sqlite_fail(s, rc, "nodes");
	}
	id = sqlite3_column_int64(stmt, 0);
	n.code = (const char *)sqlite3_column_text(stmt, 1);
	n.kind = sqlite3_column_int(stmt, 2);
	n.name = (const char *)sqlite3_column_text(stmt, 3);
	n.parent = roster_code_parent(n.code, parent, sizeof(parent)) == 0 ?
	    parent : "";
	stop = node_cb(&n, arg);
	sqlite3_finalize(stmt);
	if (stop != 0)
		return STORE_OK;
	if ((rc = node_posts(s, id, post_cb, arg)) != STORE_OK)
		return rc;
	return node_children(s, code, roster_code_kind(code), child_cb, arg);
}

int
sqlite_node_roots(struct store *st, store_node_cb cb, void *arg)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;

	if (sqlite_prepare(s, "SELECT code, kind, name FROM nodes WHERE "
	    "kind = 0 ORDER BY code", &stmt) != STORE_OK)
		return STORE_ERROR;
	return node_list(s, stmt, "", cb, arg);
}
