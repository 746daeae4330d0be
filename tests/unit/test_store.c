/*
 * test_store.c - the SQLite store on a real database file: schema
 * migration, roster import (merge and replace, scoped), export, nodes and
 * audit, as the writer and reader threads use them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "roster.h"
#include "store.h"

#define HEADER "street_code,street_name,community_code,community_name,grid," \
	"building,unit,role,rank,name,phone,channels\n"

static const char base_csv[] = HEADER
    "220104001,南湖街道,,,,,,duty_officer,1,赵强,13800000009,\n"
    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n"
    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,1,李娜,13800000002,\n"
    "220104001,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,1,王芳,13800000003,webhook=https://im.example/h/abc\n"
    "220104002,湖西街道,220104002001,湖西社区,G01,,,grid_leader,1,周杰,13800000011,\n"
    "220104002,湖西街道,220104002001,湖西社区,G01,5,,building_leader,1,吴敏,13800000012,\n";

struct fixture {
	char		 dir[64];
	struct store	*w;	/* writer */
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	strcpy(f->dir, "/tmp/sz-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->w = store_open(&store_sqlite, f->dir, true, err, sizeof(err));
	assert_non_null(f->w);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	store_close(f->w);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static struct roster *
parse(const char *csv)
{
	struct roster_errors *errs = NULL;
	struct roster *r = roster_parse_csv(csv, strlen(csv), &errs);

	if (r == NULL && errs != NULL && errs->n > 0)
		fail_msg("line %u: %s", errs->v[0].line, errs->v[0].reason);
	assert_non_null(r);
	return r;
}

static void
apply(struct store *st, const char *csv, bool replace, const char *scope,
    struct roster_apply_result *res)
{
	struct roster *r = parse(csv);
	const char *scopes[1] = { scope };
	struct roster_apply_opts o = {
		.replace = replace, .scope = scopes, .n_scope = scope ? 1 : 0,
		.actor = "test",
	};

	assert_int_equal(store_begin(st, true, true), STORE_OK);
	assert_int_equal(store_roster_apply(st, r, &o, res), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	roster_free(r);
}

/* Collect an export as CSV text (without the header). */
static int
collect_row(const struct roster_row *row, void *arg)
{
	roster_csv_row(arg, row, false);
	return 0;
}

static char *
export_csv_order(struct store *st, const char *under, bool tree_order)
{
	struct evbuffer *out = evbuffer_new();
	const char *u[1] = { under };
	struct store_filter f = { .under = u, .n_under = under ? 1 : 0,
	    .tree_order = tree_order };
	size_t len;
	char *s;

	assert_int_equal(store_begin(st, false, false), STORE_OK);
	assert_int_equal(store_roster_export(st, &f, collect_row, out), STORE_OK);
	store_rollback(st);
	len = evbuffer_get_length(out);
	s = malloc(len + 1);
	evbuffer_remove(out, s, len);
	s[len] = '\0';
	evbuffer_free(out);
	return s;
}

static char *
export_csv(struct store *st, const char *under)
{
	return export_csv_order(st, under, false);
}

static void
test_schema_created(void **state)
{
	struct fixture *f = *state;
	struct store *again;
	char err[256];

	assert_true(store_schema_version(f->w) >= 1);
	/* A second open of a current database migrates nothing. */
	again = store_open(&store_sqlite, f->dir, false, err, sizeof(err));
	assert_non_null(again);
	assert_int_equal(store_schema_version(again), store_schema_version(f->w));
	store_close(again);
}

static void
test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	char path[128], err[256];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/sanzhang.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL,
	    NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_null(store_open(&store_sqlite, f->dir, true, err, sizeof(err)));
	assert_non_null(strstr(err, "newer than this sanzhangd supports"));
}

static void
test_migrates_empty_file(void **state)
{
	char dir[] = "/tmp/sz-test-mig-XXXXXX", path[128], err[256], cmd[128];
	struct store *st;
	sqlite3 *db;

	(void)state;
	assert_non_null(mkdtemp(dir));
	/* A version-0 database (as an older release would leave it). */
	snprintf(path, sizeof(path), "%s/sanzhang.db", dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE keep (x)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	st = store_open(&store_sqlite, dir, true, err, sizeof(err));
	assert_non_null(st);
	assert_true(store_schema_version(st) >= 1);
	store_close(st);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_import_export_round_trip(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, base_csv, false, NULL, &res);
	assert_int_equal(res.posts_added, 6);
	assert_int_equal(res.posts_updated, 0);
	out = export_csv(f->w, NULL);
	assert_string_equal(out, base_csv + strlen(HEADER));
	free(out);
	/* The same file again changes nothing. */
	apply(f->w, base_csv, false, NULL, &res);
	assert_int_equal(res.posts_added, 0);
	assert_int_equal(res.posts_updated, 0);
}

static void
test_merge_updates_and_keeps(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, base_csv, false, NULL, &res);
	/* A new building leader for G01/12, and a new unit. */
	apply(f->w, HEADER
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,,building_leader,1,孙磊,13800000022,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,4,unit_leader,1,钱进,13800000024,\n",
	    false, NULL, &res);
	assert_int_equal(res.posts_added, 1);
	assert_int_equal(res.posts_updated, 1);
	assert_int_equal(res.posts_removed, 0);
	out = export_csv(f->w, NULL);
	assert_null(strstr(out, "李娜"));
	assert_non_null(strstr(out, "孙磊"));
	assert_non_null(strstr(out, "周杰"));	/* untouched street kept */
	free(out);
}

static void
test_replace_scoped(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, base_csv, false, NULL, &res);
	/* Replace street 220104002 only: its building leader goes away. */
	apply(f->w, HEADER
	    "220104002,湖西街道,220104002001,湖西社区,G01,,,grid_leader,1,周杰,13800000011,\n",
	    true, "220104002", &res);
	assert_int_equal(res.posts_removed, 1);
	assert_int_equal(res.nodes_removed, 1);	/* building 5 */
	out = export_csv(f->w, NULL);
	assert_null(strstr(out, "吴敏"));
	assert_non_null(strstr(out, "王芳"));	/* other street untouched */
	free(out);
	/* Export under one street sees only that street. */
	out = export_csv(f->w, "220104002");
	assert_null(strstr(out, "王芳"));
	assert_non_null(strstr(out, "周杰"));
	free(out);
}

static void
test_replace_all(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, base_csv, false, NULL, &res);
	apply(f->w, HEADER
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n",
	    true, NULL, &res);
	assert_int_equal(res.posts_removed, 5);
	out = export_csv(f->w, NULL);
	assert_string_equal(out,
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n");
	free(out);
}

/* Import order is kept by default; tree order groups posts by node. */
static void
test_export_tree_order(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, HEADER
	    "220104001,南湖街道,220104001001,南湖社区,G01,12,3,unit_leader,1,王芳,13800000003,\n"
	    "220104002,湖西街道,220104002001,湖西社区,G01,,,grid_leader,1,周杰,13800000011,\n"
	    "220104001,南湖街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n",
	    false, NULL, &res);
	out = export_csv(f->w, NULL);
	assert_true(strstr(out, "王芳") < strstr(out, "周杰"));
	assert_true(strstr(out, "周杰") < strstr(out, "张伟"));
	free(out);
	out = export_csv_order(f->w, NULL, true);
	assert_true(strstr(out, "张伟") < strstr(out, "王芳"));
	assert_true(strstr(out, "王芳") < strstr(out, "周杰"));
	free(out);
}

/* A token scoped to a community cannot rename its street. */
static void
test_scoped_import_keeps_outer_names(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, base_csv, false, NULL, &res);
	apply(f->w, HEADER
	    "220104001,改名街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n",
	    false, "220104001001", &res);
	out = export_csv(f->w, NULL);
	assert_null(strstr(out, "改名街道"));
	free(out);
	/* The unscoped admin can. */
	apply(f->w, HEADER
	    "220104001,改名街道,220104001001,南湖社区,G01,,,grid_leader,1,张伟,13800000001,\n",
	    false, NULL, &res);
	out = export_csv(f->w, NULL);
	assert_non_null(strstr(out, "改名街道"));
	free(out);
}

/* Moving a duty officer from A to B is an update, for merge and replace. */
static void
test_rank_change(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	char *out;

	apply(f->w, base_csv, false, NULL, &res);
	apply(f->w, HEADER
	    "220104001,南湖街道,,,,,,duty_officer,2,赵强,13800000009,\n",
	    false, NULL, &res);
	assert_int_equal(res.posts_updated, 1);
	assert_int_equal(res.posts_added, 0);
	out = export_csv(f->w, "220104001");
	assert_non_null(strstr(out, "duty_officer,2,赵强"));
	free(out);
}

static int
create_alert(struct store *st, const char *target, const char *idem,
    struct alert_created *out)
{
	const char *targets[1] = { target };
	struct alert_new a = {
		.kind = 1, .severity = 2, .title = "演练", .body = "演练",
		.targets = targets, .n_targets = 1,
		.named = targets, .n_named = 1,
		.roles = (1u << ROLE_GRID_LEADER) | (1u << ROLE_BUILDING_LEADER) |
		    (1u << ROLE_UNIT_LEADER),
		.targets_json = "[]", .roles_json = "[]", .responses_json = "[]",
		.escalation = "none", .created_at = 1, .expires_at = 1LL << 50,
		.actor = "t", .idem_key = idem,
		.route = { [ROLE_GRID_LEADER] = "sms",
		    [ROLE_BUILDING_LEADER] = "sms", [ROLE_UNIT_LEADER] = "sms" },
		.priority = 1,
	};
	int rc;

	assert_int_equal(store_begin(st, true, true), STORE_OK);
	rc = store_alert_create(st, &a, out);
	assert_int_equal(store_commit(st), STORE_OK);
	return rc;
}

/* Recipients, vacancies (a building with a unit but no leader), replay. */
static void
test_alert_plan_and_replay(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	struct alert_created out, again;
	size_t n;

	apply(f->w, base_csv, false, NULL, &res);
	apply(f->w, HEADER
	    "220104001,南湖街道,220104001001,南湖社区,G01,13,1,unit_leader,1,钱进,13800000024,\n",
	    false, NULL, &res);
	assert_int_equal(create_alert(f->w, "220104001001", "k", &out), STORE_OK);
	/* 张伟, 李娜, 王芳, 钱进: the duty officer's role is not targeted. */
	assert_int_equal(out.recipients, 4);
	assert_non_null(strstr(out.vacancies, "\"code\":\"220104001001/G01/13\","
	    "\"role\":\"building_leader\",\"notify\":\"220104001001/G01\""));
	assert_int_equal(create_alert(f->w, "220104001001", "k", &again), STORE_OK);
	assert_true(again.replayed);
	assert_int_equal(again.id, out.id);
	free(again.vacancies);
	assert_int_equal(store_alert_cancel(f->w, out.id, &n), STORE_OK);
	assert_int_equal(n, 4);
	assert_int_equal(store_alert_cancel(f->w, out.id, &n), STORE_OK);
	assert_int_equal(n, 0);
	free(out.vacancies);
	assert_int_equal(create_alert(f->w, "220104009001", NULL, &out),
	    STORE_NOTFOUND);
}

struct node_seen {
	char	 parent[64];
	int	 posts;
	int	 children;
};

static int
seen_node(const struct store_node *n, void *arg)
{
	struct node_seen *s = arg;

	snprintf(s->parent, sizeof(s->parent), "%s", n->parent);
	return 0;
}

static int
seen_post(const struct store_post *p, void *arg)
{
	((struct node_seen *)arg)->posts++;
	return 0;
}

static int
seen_child(const struct store_node *n, void *arg)
{
	((struct node_seen *)arg)->children++;
	return 0;
}

static void
test_node_get(void **state)
{
	struct fixture *f = *state;
	struct roster_apply_result res;
	struct node_seen s = { .posts = 0 };

	apply(f->w, base_csv, false, NULL, &res);
	assert_int_equal(store_node_get(f->w, "220104001001/G01/12", seen_node,
	    seen_post, seen_child, &s), STORE_OK);
	assert_string_equal(s.parent, "220104001001/G01");
	assert_int_equal(s.posts, 1);
	assert_int_equal(s.children, 1);
	assert_int_equal(store_node_get(f->w, "220104001001/G09", seen_node,
	    seen_post, seen_child, &s), STORE_NOTFOUND);
}

static void
test_audit(void **state)
{
	struct fixture *f = *state;
	struct audit_entry e = { "tok", "access.denied", "220104002", "denied",
	    "outside scope" };
	char path[128];
	sqlite3 *db;
	sqlite3_stmt *stmt;

	assert_int_equal(store_begin(f->w, true, false), STORE_OK);
	assert_int_equal(store_audit_add(f->w, &e), STORE_OK);
	assert_int_equal(store_commit(f->w), STORE_OK);
	snprintf(path, sizeof(path), "%s/sanzhang.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT actor, action, result "
	    "FROM audit", -1, &stmt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(stmt), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(stmt, 0), "tok");
	assert_string_equal((const char *)sqlite3_column_text(stmt, 2), "denied");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

/* A failed job inside a group is undone by its savepoint alone. */
static void
test_savepoint_isolation(void **state)
{
	struct fixture *f = *state;
	struct audit_entry e = { "a", "x", "", "ok", "" };
	struct roster_apply_result res;
	char *out;

	assert_int_equal(store_begin(f->w, true, true), STORE_OK);
	assert_int_equal(store_savepoint(f->w), STORE_OK);
	assert_int_equal(store_audit_add(f->w, &e), STORE_OK);
	assert_int_equal(store_release(f->w), STORE_OK);
	assert_int_equal(store_savepoint(f->w), STORE_OK);
	{
		struct roster *r = parse(base_csv);
		struct roster_apply_opts o = { .actor = "t" };

		assert_int_equal(store_roster_apply(f->w, r, &o, &res), STORE_OK);
		roster_free(r);
	}
	assert_int_equal(store_rollback_to(f->w), STORE_OK);
	assert_int_equal(store_commit(f->w), STORE_OK);
	out = export_csv(f->w, NULL);
	assert_string_equal(out, "");
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_schema_created, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test(test_migrates_empty_file),
		cmocka_unit_test_setup_teardown(test_import_export_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_merge_updates_and_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_scoped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replace_all, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_tree_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scoped_import_keeps_outer_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rank_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_get, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alert_plan_and_replay, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_savepoint_isolation, setup, teardown),
	};

	log_set_level(LOG_LEVEL_WARN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
