/*
 * store_sqlite.h - internals shared by the files of the SQLite backend.
 */
#ifndef SANZHANG_STORE_SQLITE_H
#define SANZHANG_STORE_SQLITE_H

#include <sqlite3.h>

#include "phoneseal.h"
#include "store.h"

#define SQLITE_CACHED_MAX	64

/* A statement kept prepared for the connection's life. */
struct sqlite_cached {
	const char	*sql;		/* a string literal: found by address */
	sqlite3_stmt	*stmt;
};

struct sqlite_store {
	struct store	 base;
	sqlite3		*db;
	bool		 writer;
	char		 err[256];
	struct sqlite_cached cache[SQLITE_CACHED_MAX];
	size_t		 n_cache;
	int		 wal_pages;	/* in the WAL after the last commit */
	struct phone_sealer *seal;	/* the connection's own */
	/* The last alert an answer was for: its options never change. */
	struct {
		int64_t	 alert_id, created_at;
		int	 n;		/* options */
		unsigned help;		/* bit i-1: option i means "needs help" */
	} ack_opts;
};

/* The connection behind a struct store. */
static inline struct sqlite_store *
sq(struct store *st)
{
	return (struct sqlite_store *)st;
}

/* Remember the connection's error and map the SQLite code to ours. */
int sqlite_fail(struct sqlite_store *s, int rc, const char *what);
int sqlite_exec(struct sqlite_store *s, const char *sql);
int sqlite_prepare(struct sqlite_store *s, const char *sql, sqlite3_stmt **stmt);
/*
 * A hot-path statement, prepared once per connection: sql must be a
 * string literal (the cache is keyed by its address).  Give it back with
 * sqlite_cached_done(), never sqlite3_finalize().
 */
int sqlite_cached(struct sqlite_store *s, const char *sql, sqlite3_stmt **stmt);
void sqlite_cached_done(sqlite3_stmt *stmt);
/* Bind a string that outlives the statement's step; NULL binds "". */
void sqlite_bind_str(sqlite3_stmt *stmt, int i, const char *v);

/*
 * A subtree as a condition on the code index: the node itself, or a code
 * in [lo, hi).  Below a street that is every code starting with its nine
 * digits (its communities' 12-digit codes); below anything else, every
 * code starting with "CODE/" ('0' is the byte after '/').
 */
struct sqlite_range {
	char	 lo[ROSTER_MAX_CODE + 2];
	char	 hi[ROSTER_MAX_CODE + 2];
};

int sqlite_range(const char *code, struct sqlite_range *r);
/* Binds ?1 ?2 ?3 of SQLITE_IN_RANGE(col). */
void sqlite_bind_range(sqlite3_stmt *stmt, const char *code,
    const struct sqlite_range *r);
#define SQLITE_IN_RANGE(col) \
	"(" col " = ?1 OR (" col " >= ?2 AND " col " < ?3))"

/*
 * store_sqlite_seal.c: phone numbers are sealed in the database.  SQL
 * gets sz_seal(text) -> blob and sz_open(blob) -> text; hot paths seal
 * in C and compare seals.
 */
int sqlite_seal_start(struct sqlite_store *s, const char *state_dir);
/* Bind phone's seal; false (with s->err) when it cannot be sealed. */
bool sqlite_bind_phone(struct sqlite_store *s, sqlite3_stmt *stmt, int i,
    const char *phone);
/* Column i (a seal) opened into out; "" (and false) when it is not one. */
bool sqlite_column_phone(struct sqlite_store *s, sqlite3_stmt *stmt, int i,
    char out[PHONE_SEAL_MAX + 1]);
/* Column i's seal copied to out; false when it is not a seal. */
bool sqlite_column_seal(sqlite3_stmt *stmt, int i,
    unsigned char out[PHONE_SEAL_LEN]);
/*
 * A number inside stored text (an escalation's note) stays sealed: a mark
 * stands for it, and sqlite_seal_unmark() puts the number in when the
 * message is made.
 */
#define SEAL_MARK_LEN	(sizeof("{{phone:}}") - 1 + 2 * PHONE_SEAL_LEN)
void sqlite_seal_mark(const unsigned char seal[PHONE_SEAL_LEN],
    char out[SEAL_MARK_LEN + 1]);
/* text with each mark opened (malloc'd; a mark that does not open: ****). */
char *sqlite_seal_unmark(struct sqlite_store *s, const char *text);

/* store_sqlite_roster.c */
int sqlite_roster_apply(struct store *st, const struct roster *r,
    const struct roster_apply_opts *o, struct roster_apply_result *res);
int sqlite_roster_export(struct store *st, const struct store_filter *f,
    store_row_cb cb, void *arg);
int sqlite_node_get(struct store *st, const char *code, store_node_cb node_cb,
    store_post_cb post_cb, store_node_cb child_cb, void *arg);
int sqlite_node_roots(struct store *st, store_node_cb cb, void *arg);

/* store_sqlite_alert.c */
int sqlite_alert_create(struct store *st, const struct alert_new *a,
    struct alert_created *out);
int sqlite_alert_list(struct store *st, const char *state, struct json_t **out);
int sqlite_alert_get(struct store *st, int64_t id, struct json_t **out);
int sqlite_alert_recipients(struct store *st, int64_t id, int state,
    struct json_t **out);
int sqlite_alert_cancel(struct store *st, int64_t id, size_t *cancelled);
int sqlite_alert_find_idem(struct store *st, const char *actor,
    const char *key, int64_t *id);
int sqlite_alert_brief(struct store *st, int64_t id, struct alert_brief *out);

/* store_sqlite_dlv.c */
int sqlite_dlv_page(struct store *st, const struct dlv_cursor *after,
    int64_t now, size_t limit, int (*cb)(struct dlv_row *row, void *arg),
    void *arg);
int sqlite_dlv_apply(struct store *st, const struct dlv_update *u, size_t n);
int sqlite_grid_info(struct store *st, const char *grid, struct grid_info *out);
int sqlite_dlv_receipt(struct store *st, const char *id, bool by_provider,
    bool delivered);

/* store_sqlite_ack.c */
int sqlite_ack_get(struct store *st, int64_t rcpt, struct ack_info *out);
int sqlite_ack_record(struct store *st, const struct ack_in *in,
    enum ack_result *result, struct ack_info *out);
int sqlite_ack_find(struct store *st, int64_t alert, const char *phone,
    int64_t *rcpt);
int sqlite_reply_cands(struct store *st, const char *phone, int64_t now,
    struct reply_cand **out, size_t *n);

/* store_sqlite_esc.c */
int sqlite_esc_plan(struct sqlite_store *s, const struct alert_new *a,
    int64_t alert);
int sqlite_esc_due(struct store *st, int64_t now, int64_t *ids, size_t max,
    size_t *n);
int sqlite_esc_fire(struct store *st, int64_t id, const struct esc_ctx *x,
    struct esc_fired *out);
int sqlite_esc_list(struct sqlite_store *s, int64_t alert,
    struct json_t *out);
int sqlite_alert_report(struct store *st, int64_t id, struct json_t **out);
int sqlite_help_note(struct sqlite_store *s, const struct ack_in *in,
    const struct ack_info *who, const char *label);

#endif
