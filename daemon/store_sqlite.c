/*
 * store_sqlite.c - the SQLite backend of the store: connections, schema,
 * transactions and audit.  store_sqlite*.c are the only files with SQL.
 *
 * One database file, STATE_DIR/sanzhang.db, in WAL mode.  The writer
 * connection creates and migrates the schema (PRAGMA user_version); reader
 * connections set query_only.  Bulk paths (roster import) run one prepared
 * statement per table and append in file order so the B-trees grow at
 * their right edge.
 */
#include "store_sqlite.h"
#include "log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define SQLITE_DB_NAME	"sanzhang.db"


/*
 * Schema migrations: migrations[i] takes user_version i to i + 1.  Never
 * edit a released step; append a new one.
 */
static const char *const sqlite_migrations[] = {
	/* 0 -> 1: roster and audit */
	"CREATE TABLE nodes ("
	"  id        INTEGER PRIMARY KEY,"
	"  code      TEXT NOT NULL UNIQUE,"
	"  kind      INTEGER NOT NULL,"
	"  name      TEXT NOT NULL,"
	"  seen_gen  INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE posts ("
	"  id          INTEGER PRIMARY KEY,"
	"  node_id     INTEGER NOT NULL REFERENCES nodes(id) ON DELETE CASCADE,"
	"  role        TEXT NOT NULL,"
	"  rank        INTEGER NOT NULL,"
	"  slot        TEXT NOT NULL,"
	"  name        TEXT NOT NULL,"
	"  phone       TEXT NOT NULL,"
	"  channels    TEXT NOT NULL DEFAULT '',"
	"  seen_gen    INTEGER NOT NULL,"
	"  UNIQUE (node_id, role, slot)"
	");"
	"CREATE TABLE roster_imports ("
	"  id    INTEGER PRIMARY KEY,"
	"  ts    INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  mode  TEXT NOT NULL,"
	"  rows  INTEGER NOT NULL"
	");"
	"CREATE TABLE audit ("
	"  id     INTEGER PRIMARY KEY,"
	"  ts     INTEGER NOT NULL,"
	"  actor  TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  target TEXT NOT NULL DEFAULT '',"
	"  result TEXT NOT NULL,"
	"  detail TEXT NOT NULL DEFAULT ''"
	");",
	/*
	 * 1 -> 2: alerts and their recipients.  An alert's recipients are
	 * inserted together, so they are one rowid range (first_rcpt ..
	 * last_rcpt): counting them needs no index.
	 */
	"CREATE TABLE alerts ("
	"  id          INTEGER PRIMARY KEY,"
	"  kind        INTEGER NOT NULL,"
	"  severity    INTEGER NOT NULL,"
	"  title       TEXT NOT NULL,"
	"  body        TEXT NOT NULL,"
	"  targets     TEXT NOT NULL,"
	"  roles       TEXT NOT NULL,"
	"  responses   TEXT NOT NULL,"
	"  escalation  TEXT NOT NULL,"
	"  vacancies   TEXT NOT NULL,"
	"  created_at  INTEGER NOT NULL,"
	"  expires_at  INTEGER NOT NULL,"
	"  state       TEXT NOT NULL DEFAULT 'active',"
	"  actor       TEXT NOT NULL,"
	"  idem_key    TEXT,"
	"  first_rcpt  INTEGER NOT NULL DEFAULT 0,"
	"  last_rcpt   INTEGER NOT NULL DEFAULT -1,"
	"  n_posts     INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (actor, idem_key)"
	");"
	"CREATE TABLE recipients ("
	"  id          INTEGER PRIMARY KEY,"
	"  alert_id    INTEGER NOT NULL REFERENCES alerts(id),"
	"  phone       TEXT NOT NULL,"
	"  name        TEXT NOT NULL,"
	"  posts       TEXT NOT NULL,"
	"  grid        TEXT NOT NULL,"
	"  role        INTEGER NOT NULL,"
	"  channels    TEXT NOT NULL,"
	"  state       INTEGER NOT NULL DEFAULT 0,"
	"  response    INTEGER,"
	"  acked_at    INTEGER"
	");"
	/*
	 * The send queue: a delivery is one attempt chain of one recipient on
	 * one channel; its id is the stable id receivers deduplicate on.
	 * Queued rows are found through a partial index in send order.
	 */
	"CREATE TABLE deliveries ("
	"  id           INTEGER PRIMARY KEY,"
	"  recipient_id INTEGER NOT NULL,"
	"  alert_id     INTEGER NOT NULL,"
	"  channel      TEXT NOT NULL,"
	"  priority     INTEGER NOT NULL,"
	"  state        INTEGER NOT NULL DEFAULT 0,"
	"  attempts     INTEGER NOT NULL DEFAULT 0,"
	"  next_at      INTEGER NOT NULL,"
	"  provider_id  TEXT,"
	"  error        TEXT,"
	"  updated_at   INTEGER NOT NULL"
	");"
	"CREATE INDEX deliveries_due ON deliveries (priority, next_at, id) "
	"  WHERE state = 0;"
	"CREATE INDEX deliveries_provider ON deliveries (provider_id) "
	"  WHERE provider_id IS NOT NULL;",
	/*
	 * 2 -> 3: how an answer came (link, sms, operator:NAME); whether an
	 * alert's recipients are in phone order (binary search by phone).
	 */
	"ALTER TABLE recipients ADD COLUMN ack_via TEXT;"
	"ALTER TABLE alerts ADD COLUMN phone_sorted INTEGER NOT NULL DEFAULT 0;",
	/*
	 * 3 -> 4: escalation steps, due in the database so that a restart
	 * keeps their time; the people an escalation tells are recipients of
	 * the alert too (outside its range), with the message made for them.
	 */
	"CREATE TABLE escalations ("
	"  id          INTEGER PRIMARY KEY,"
	"  alert_id    INTEGER NOT NULL REFERENCES alerts(id),"
	"  step        INTEGER NOT NULL,"
	"  action      TEXT NOT NULL,"
	"  due_at      INTEGER NOT NULL,"
	"  fired_at    INTEGER,"
	"  silent      INTEGER NOT NULL DEFAULT 0,"
	"  resent      INTEGER NOT NULL DEFAULT 0,"
	"  told        INTEGER NOT NULL DEFAULT 0,"
	"  first_rcpt  INTEGER NOT NULL DEFAULT 0,"
	"  last_rcpt   INTEGER NOT NULL DEFAULT -1"
	");"
	"CREATE INDEX escalations_due ON escalations (due_at) "
	"  WHERE fired_at IS NULL;"
	"ALTER TABLE recipients ADD COLUMN note TEXT;",
	/*
	 * 4 -> 5: settings of the database itself; the first is the id of
	 * the key its phone numbers are sealed with (store_sqlite_seal.c).
	 */
	"CREATE TABLE meta ("
	"  name   TEXT PRIMARY KEY,"
	"  value  TEXT NOT NULL"
	");",
};

#define SQLITE_SCHEMA_VERSION \
	((int)(sizeof(sqlite_migrations) / sizeof(sqlite_migrations[0])))

int
sqlite_fail(struct sqlite_store *s, int rc, const char *what)
{
	snprintf(s->err, sizeof(s->err), "%s: %s", what, sqlite3_errmsg(s->db));
	switch (rc & 0xff) {
	case SQLITE_FULL:
		return STORE_FULL;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	default:
		return STORE_ERROR;
	}
}

int
sqlite_exec(struct sqlite_store *s, const char *sql)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? STORE_OK : sqlite_fail(s, rc, sql);
}

int
sqlite_prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **stmt)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, stmt, NULL);

	return rc == SQLITE_OK ? STORE_OK : sqlite_fail(s, rc, "prepare");
}

int
sqlite_cached(struct sqlite_store *s, const char *sql, sqlite3_stmt **stmt)
{
	struct sqlite_cached *c;
	int rc;

	for (size_t i = 0; i < s->n_cache; i++)
		if (s->cache[i].sql == sql) {
			*stmt = s->cache[i].stmt;
			return STORE_OK;
		}
	if (s->n_cache == SQLITE_CACHED_MAX) {
		snprintf(s->err, sizeof(s->err), "statement cache full "
		    "(raise SQLITE_CACHED_MAX)");
		return STORE_ERROR;
	}
	c = &s->cache[s->n_cache];
	rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	    &c->stmt, NULL);
	if (rc != SQLITE_OK)
		return sqlite_fail(s, rc, "prepare");
	c->sql = sql;
	s->n_cache++;
	*stmt = c->stmt;
	return STORE_OK;
}

void
sqlite_cached_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

/* One statement that takes no parameters, kept prepared (BEGIN, COMMIT...). */
static int
sqlite_exec_cached(struct sqlite_store *s, const char *sql)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_cached(s, sql, &stmt) != STORE_OK)
		return STORE_ERROR;
	if ((rc = sqlite3_step(stmt)) == SQLITE_DONE || rc == SQLITE_ROW)
		rc = STORE_OK;
	else
		rc = sqlite_fail(s, rc, sql);	/* before the reset clears it */
	sqlite3_reset(stmt);
	return rc;
}

static int
sqlite_user_version(struct sqlite_store *s)
{
	sqlite3_stmt *stmt;
	int v = -1;

	if (sqlite_prepare(s, "PRAGMA user_version", &stmt) != STORE_OK)
		return -1;
	if (sqlite3_step(stmt) == SQLITE_ROW)
		v = sqlite3_column_int(stmt, 0);
	sqlite3_finalize(stmt);
	return v;
}

/* Run each missing migration in its own transaction. */
static int
sqlite_migrate(struct sqlite_store *s)
{
	int v = sqlite_user_version(s);
	char sql[64];

	if (v < 0)
		return STORE_ERROR;
	if (v > SQLITE_SCHEMA_VERSION) {
		snprintf(s->err, sizeof(s->err), "database schema version %d is "
		    "newer than this sanzhangd supports (%d)", v,
		    SQLITE_SCHEMA_VERSION);
		return STORE_ERROR;
	}
	for (; v < SQLITE_SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (sqlite_exec(s, "BEGIN IMMEDIATE") != STORE_OK)
			return STORE_ERROR;
		if (sqlite_exec(s, sqlite_migrations[v]) != STORE_OK ||
		    sqlite_exec(s, sql) != STORE_OK ||
		    sqlite_exec(s, "COMMIT") != STORE_OK) {
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			return STORE_ERROR;
		}
		log_info("store: database schema migrated to version %d", v + 1);
	}
	return STORE_OK;
}

/* Pages in the WAL after each commit (replaces autocheckpoint). */
static int
sqlite_wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	((struct sqlite_store *)arg)->wal_pages = pages;
	return SQLITE_OK;
}

#define SQLITE_CHECKPOINT_PAGES	1000	/* 16 MB of 16 KiB pages */

/*
 * Between write groups: a passive checkpoint once the WAL has grown (it
 * never waits for readers; what they still use is copied next time).
 */
static void
sqlite_idle(struct store *st)
{
	struct sqlite_store *s = sq(st);
	int log = 0, done = 0, rc;

	if (!s->writer || s->wal_pages < SQLITE_CHECKPOINT_PAGES)
		return;
	rc = sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    &log, &done);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store: checkpoint: %s", sqlite3_errmsg(s->db));
	/* The WAL restarts from its beginning once readers have moved on. */
	s->wal_pages = log > done ? log - done : 0;
}

static int
sqlite_configure(struct sqlite_store *s)
{
	/*
	 * 16 KiB pages (for a new database; an existing one keeps its own):
	 * a city-wide alert writes ~130 MB in one transaction, and each page
	 * is a write (and a read back) system call.  The WAL is folded back
	 * at about 16 MB, by sqlite_idle() once a group's answers are out,
	 * not inside the COMMIT that a 201 waits for.
	 */
	static const char writer_pragmas[] =
	    "PRAGMA page_size = 16384;"
	    "PRAGMA journal_mode = WAL;"
	    "PRAGMA synchronous = FULL;"
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA cache_size = -32768;"
	    "PRAGMA wal_autocheckpoint = 0;";
	static const char reader_pragmas[] =
	    "PRAGMA foreign_keys = ON;"
	    "PRAGMA temp_store = MEMORY;"
	    "PRAGMA cache_size = -16384;"
	    "PRAGMA query_only = 1;";

	sqlite3_busy_timeout(s->db, STORE_LOCK_WAIT_MS);
	sqlite3_extended_result_codes(s->db, 1);
	return sqlite_exec(s, s->writer ? writer_pragmas : reader_pragmas);
}

/*
 * Once per process: connections are never shared between threads, so
 * SQLite's own locking is not needed, and its memory statistics (one global
 * mutex per allocation) cost a tenth of a bulk import.
 */
static void
sqlite_global_init(void)
{
	sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	sqlite3_initialize();
}

static int
sqlite_open(struct store **out, const char *state_dir, bool writer,
    char *err, size_t errlen)
{
	struct sqlite_store *s;
	char path[PATH_MAX];
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int rc;

	pthread_once(&once, sqlite_global_init);
	if (snprintf(path, sizeof(path), "%s/%s", state_dir, SQLITE_DB_NAME) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		return STORE_ERROR;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return STORE_ERROR;
	}
	s->writer = writer;
	if (writer)
		flags |= SQLITE_OPEN_CREATE;
	rc = sqlite3_open_v2(path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, s->db != NULL ?
		    sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
		goto fail;
	}
	if (sqlite_configure(s) != STORE_OK ||
	    (writer && sqlite_migrate(s) != STORE_OK)) {
		snprintf(err, errlen, "%s: %s", path, s->err);
		goto fail;
	}
	if (sqlite_seal_start(s, state_dir) != STORE_OK) {
		snprintf(err, errlen, "%s", s->err);
		goto fail;
	}
	if (writer) {
		chmod(path, 0600);
		sqlite3_wal_hook(s->db, sqlite_wal_hook, s);
	}
	*out = &s->base;
	return STORE_OK;
fail:
	sqlite3_close(s->db);
	phone_sealer_free(s->seal);
	free(s);
	return STORE_ERROR;
}

static void
sqlite_close(struct store *st)
{
	struct sqlite_store *s = sq(st);

	for (size_t i = 0; i < s->n_cache; i++)
		sqlite3_finalize(s->cache[i].stmt);
	if (s->writer)
		sqlite3_exec(s->db, "PRAGMA optimize", NULL, NULL, NULL);
	sqlite3_close(s->db);
	phone_sealer_free(s->seal);
	free(s);
}

/*
 * A durable transaction is synced to disk at commit (synchronous=FULL):
 * that is what a 2xx answer promises.  Others may lose the last commits on
 * a power cut (never on a crash): WAL with synchronous=NORMAL.
 */
static int
sqlite_begin(struct store *st, bool write, bool durable)
{
	struct sqlite_store *s = sq(st);

	if (!write)
		return sqlite_exec_cached(s, "BEGIN");
	if (sqlite_exec_cached(s, durable ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") != STORE_OK)
		return STORE_ERROR;
	return sqlite_exec_cached(s, "BEGIN IMMEDIATE");
}

static int
sqlite_commit(struct store *st)
{
	return sqlite_exec_cached(sq(st), "COMMIT");
}

/* The schema version written again: page 1 goes to the WAL, unchanged. */
static int
sqlite_probe(struct store *st)
{
	char sql[48];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    SQLITE_SCHEMA_VERSION);
	return sqlite_exec(sq(st), sql);
}

static void
sqlite_lock_wait(struct store *st, int ms)
{
	sqlite3_busy_timeout(sq(st)->db, ms);
}

static void
sqlite_rollback(struct store *st)
{
	struct sqlite_store *s = sq(st);

	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static int
sqlite_savepoint(struct store *st)
{
	return sqlite_exec_cached(sq(st), "SAVEPOINT job");
}

static int
sqlite_release(struct store *st)
{
	return sqlite_exec_cached(sq(st), "RELEASE job");
}

/*
 * Some errors (I/O, out of memory) make SQLite roll the whole transaction
 * back: then the group's earlier jobs are gone too, and must not be
 * reported as done.
 */
static int
sqlite_rollback_to(struct store *st)
{
	struct sqlite_store *s = sq(st);

	if (sqlite3_get_autocommit(s->db))
		return STORE_ERROR;
	sqlite3_exec(s->db, "ROLLBACK TO job; RELEASE job", NULL, NULL, NULL);
	return sqlite3_get_autocommit(s->db) ? STORE_ERROR : STORE_OK;
}

static const char *
sqlite_errmsg(struct store *st)
{
	return sq(st)->err;
}

static int
sqlite_schema_version(struct store *st)
{
	return sqlite_user_version(sq(st));
}

static int
sqlite_check(struct store *st)
{
	return sqlite_user_version(sq(st)) > 0 ? STORE_OK : STORE_ERROR;
}

void
sqlite_bind_str(sqlite3_stmt *stmt, int i, const char *v)
{
	sqlite3_bind_text(stmt, i, v != NULL ? v : "", -1, SQLITE_STATIC);
}

static int
sqlite_audit_add(struct store *st, const struct audit_entry *e)
{
	struct sqlite_store *s = sq(st);
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "INSERT INTO audit (ts, actor, action, target, "
	    "result, detail) VALUES (?, ?, ?, ?, ?, ?)", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, alert_now_ms());
	sqlite_bind_str(stmt, 2, e->actor);
	sqlite_bind_str(stmt, 3, e->action);
	sqlite_bind_str(stmt, 4, e->target);
	sqlite_bind_str(stmt, 5, e->result);
	sqlite_bind_str(stmt, 6, e->detail);
	rc = sqlite3_step(stmt);
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "audit");
}

const struct store_backend store_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.idle = sqlite_idle,
	.probe = sqlite_probe,
	.lock_wait = sqlite_lock_wait,
	.rollback = sqlite_rollback,
	.savepoint = sqlite_savepoint,
	.release = sqlite_release,
	.rollback_to = sqlite_rollback_to,
	.errmsg = sqlite_errmsg,
	.roster_apply = sqlite_roster_apply,
	.roster_export = sqlite_roster_export,
	.node_get = sqlite_node_get,
	.node_roots = sqlite_node_roots,
	.audit_add = sqlite_audit_add,
	.alert_create = sqlite_alert_create,
	.alert_list = sqlite_alert_list,
	.alert_get = sqlite_alert_get,
	.alert_recipients = sqlite_alert_recipients,
	.alert_cancel = sqlite_alert_cancel,
	.alert_find_idem = sqlite_alert_find_idem,
	.alert_brief = sqlite_alert_brief,
	.dlv_page = sqlite_dlv_page,
	.dlv_apply = sqlite_dlv_apply,
	.grid_info = sqlite_grid_info,
	.dlv_receipt = sqlite_dlv_receipt,
	.ack_get = sqlite_ack_get,
	.ack_record = sqlite_ack_record,
	.ack_find = sqlite_ack_find,
	.reply_cands = sqlite_reply_cands,
	.esc_due = sqlite_esc_due,
	.esc_fire = sqlite_esc_fire,
	.alert_report = sqlite_alert_report,
	.schema_version = sqlite_schema_version,
	.check = sqlite_check,
};
