/*
 * store.h - every read and write of persistent state goes through here.
 *
 * A backend (SQLite now; PostgreSQL later) implements struct store_backend;
 * the rest of the daemon calls the store_*() wrappers and never sees SQL.
 * A struct store is one connection, used by one thread at a time: the
 * writer thread and the reader threads of dbq.c each open their own.
 */
#ifndef SANZHANG_STORE_H
#define SANZHANG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "roster.h"

struct json_t;
struct reply_cand;

/* Results of store calls.  Negative values are failures. */
enum store_rc {
	STORE_OK = 0,
	STORE_ERROR = -1,	/* anything else: see store_errmsg() */
	STORE_FULL = -2,	/* disk full: answer 503, retry later */
	STORE_BUSY = -3,	/* locked by another process for too long */
	STORE_NOTFOUND = -4,
};

struct store;

/*
 * How long a request's write waits for a lock held by another process
 * (a backup, an administrator's sqlite3) before it is answered 503.
 */
#define STORE_LOCK_WAIT_MS	5000

/* How a roster import is applied. */
struct roster_apply_opts {
	bool		  replace;	/* true: the scope's roster becomes the file */
	const char *const *scope;	/* where replace deletes; n_scope 0 = all */
	size_t		  n_scope;
	const char	 *actor;	/* token name, for the audit log */
};

/* What an import changed. */
struct roster_apply_result {
	size_t	nodes;			/* nodes in the file */
	size_t	posts_added;
	size_t	posts_updated;		/* existing posts whose holder changed */
	size_t	posts_removed;		/* replace only */
	size_t	nodes_removed;		/* replace only */
};

/* Which subtrees to read; n_under 0 = everything. */
struct store_filter {
	const char *const *under;
	size_t		   n_under;
	bool		   tree_order;	/* by node code (grouped per building),
					 * not in import order */
};

/* A node as read back, with its parent's code ("" for a street). */
struct store_node {
	const char	*code;
	const char	*name;
	const char	*parent;
	int		 kind;		/* enum node_kind */
};

/* A post as read back by store_node_get(). */
struct store_post {
	int		 role;		/* enum post_role */
	int		 rank;
	const char	*name;
	const char	*phone;
	const char	*channels;	/* "" when none */
};

/* One audit row; the store adds the time. */
struct audit_entry {
	const char	*actor;		/* token name or "control" */
	const char	*action;	/* e.g. "roster.import", "access.denied" */
	const char	*target;	/* a node code, a route, ... */
	const char	*result;	/* "ok" or "denied" ... */
	const char	*detail;	/* free text, never a phone or a token */
};

typedef int (*store_row_cb)(const struct roster_row *row, void *arg);
typedef int (*store_node_cb)(const struct store_node *node, void *arg);
typedef int (*store_post_cb)(const struct store_post *post, void *arg);

/*
 * A backend.  All functions run on the calling thread and block; dbq.c
 * keeps them off the event loop.  Each returns an enum store_rc.
 */
struct store_backend {
	const char	*name;
	int	(*open)(struct store **st, const char *state_dir, bool writer,
		    char *err, size_t errlen);
	void	(*close)(struct store *st);
	/* Transactions: begin, then savepoints around each job of a group. */
	int	(*begin)(struct store *st, bool write, bool durable);
	int	(*commit)(struct store *st);
	void	(*rollback)(struct store *st);
	int	(*savepoint)(struct store *st);
	int	(*release)(struct store *st);
	/* Undo the job; STORE_ERROR when the whole transaction was lost. */
	int	(*rollback_to)(struct store *st);
	const char *(*errmsg)(struct store *st);
	/*
	 * Housekeeping between groups, once their answers are out (the
	 * writer: fold the WAL back into the database).  May be NULL.
	 */
	void	(*idle)(struct store *st);
	/*
	 * Inside a write transaction: write something that changes nothing,
	 * so that its commit tells whether writes work again after a failure
	 * (a full disk, a lock).  May be NULL (an empty commit is tried).
	 */
	int	(*probe)(struct store *st);
	/*
	 * How long the next statements may wait for a lock another process
	 * holds before they fail with STORE_BUSY.  May be NULL.
	 */
	void	(*lock_wait)(struct store *st, int ms);

	int	(*roster_apply)(struct store *st, const struct roster *r,
		    const struct roster_apply_opts *o,
		    struct roster_apply_result *res);
	int	(*roster_export)(struct store *st, const struct store_filter *f,
		    store_row_cb cb, void *arg);
	int	(*node_get)(struct store *st, const char *code,
		    store_node_cb node_cb, store_post_cb post_cb,
		    store_node_cb child_cb, void *arg);
	int	(*node_roots)(struct store *st, store_node_cb cb, void *arg);
	int	(*audit_add)(struct store *st, const struct audit_entry *e);

	int	(*alert_create)(struct store *st, const struct alert_new *a,
		    struct alert_created *out);
	int	(*alert_list)(struct store *st, const char *state,
		    struct json_t **out);
	int	(*alert_get)(struct store *st, int64_t id, struct json_t **out);
	int	(*alert_recipients)(struct store *st, int64_t id, int state,
		    struct json_t **out);
	int	(*alert_cancel)(struct store *st, int64_t id, size_t *cancelled);
	int	(*alert_find_idem)(struct store *st, const char *actor,
		    const char *key, int64_t *id);
	int	(*alert_brief)(struct store *st, int64_t id,
		    struct alert_brief *out);
	int	(*dlv_page)(struct store *st, const struct dlv_cursor *after,
		    int64_t now, size_t limit,
		    int (*cb)(struct dlv_row *row, void *arg), void *arg);
	int	(*dlv_apply)(struct store *st, const struct dlv_update *u,
		    size_t n);
	int	(*grid_info)(struct store *st, const char *grid,
		    struct grid_info *out);
	int	(*dlv_receipt)(struct store *st, const char *id,
		    bool by_provider, bool delivered);
	int	(*ack_get)(struct store *st, int64_t rcpt,
		    struct ack_info *out);
	int	(*ack_record)(struct store *st, const struct ack_in *in,
		    enum ack_result *result, struct ack_info *out);
	int	(*ack_find)(struct store *st, int64_t alert, const char *phone,
		    int64_t *rcpt);
	int	(*reply_cands)(struct store *st, const char *phone, int64_t now,
		    struct reply_cand **out, size_t *n);
	int	(*esc_due)(struct store *st, int64_t now, int64_t *ids,
		    size_t max, size_t *n);
	int	(*esc_fire)(struct store *st, int64_t id,
		    const struct esc_ctx *x, struct esc_fired *out);
	int	(*alert_report)(struct store *st, int64_t id,
		    struct json_t **out);
	int	(*schema_version)(struct store *st);
	int	(*check)(struct store *st);	/* cheap liveness probe */
};

/* Every connection starts with a pointer to its backend. */
struct store {
	const struct store_backend *be;
};

extern const struct store_backend store_sqlite;

/* The backend chosen by name ("sqlite"), or NULL. */
const struct store_backend *store_backend_find(const char *name);

/*
 * Open a connection.  A writer connection creates the state directory's
 * database if needed and migrates its schema forward; a reader never
 * writes.  On failure returns NULL and writes why to err.
 */
struct store *store_open(const struct store_backend *be, const char *state_dir,
    bool writer, char *err, size_t errlen);
void store_close(struct store *st);

int store_begin(struct store *st, bool write, bool durable);
/* Housekeeping between write groups, off the answers' path. */
void store_idle(struct store *st);
/* In a write transaction: a write that changes nothing (see ->probe). */
int store_probe(struct store *st);
/* Wait at most ms for another process's lock (see ->lock_wait). */
void store_lock_wait(struct store *st, int ms);
int store_commit(struct store *st);
void store_rollback(struct store *st);
int store_savepoint(struct store *st);
int store_release(struct store *st);
int store_rollback_to(struct store *st);
const char *store_errmsg(struct store *st);

int store_roster_apply(struct store *st, const struct roster *r,
    const struct roster_apply_opts *o, struct roster_apply_result *res);
int store_roster_export(struct store *st, const struct store_filter *f,
    store_row_cb cb, void *arg);
/* STORE_NOTFOUND when there is no such node. */
int store_node_get(struct store *st, const char *code, store_node_cb node_cb,
    store_post_cb post_cb, store_node_cb child_cb, void *arg);
int store_node_roots(struct store *st, store_node_cb cb, void *arg);
int store_audit_add(struct store *st, const struct audit_entry *e);

/*
 * Plan and store an alert and its recipients (writer, in one transaction).
 * With an idem_key already used by the same actor, gives back that alert
 * (out->replayed) and writes nothing.  out->vacancies is malloc'd.
 */
int store_alert_create(struct store *st, const struct alert_new *a,
    struct alert_created *out);
/* The newest 100 alerts (state NULL = any): a JSON array of list entries. */
int store_alert_list(struct store *st, const char *state, struct json_t **out);
/* One alert with its counts by state and per grid; STORE_NOTFOUND. */
int store_alert_get(struct store *st, int64_t id, struct json_t **out);
/* Its recipients (state -1 = all): a JSON array; STORE_NOTFOUND. */
int store_alert_recipients(struct store *st, int64_t id, int state,
    struct json_t **out);
/* Cancel it; *cancelled = recipients stopped; STORE_NOTFOUND. */
int store_alert_cancel(struct store *st, int64_t id, size_t *cancelled);
/* The alert actor created with Idempotency-Key key; STORE_NOTFOUND. */
int store_alert_find_idem(struct store *st, const char *actor,
    const char *key, int64_t *id);
/* A recipient and their alert; STORE_NOTFOUND when there is none. */
int store_ack_get(struct store *st, int64_t rcpt, struct ack_info *out);
/*
 * Record an answer (writer).  STORE_OK with result saying what happened,
 * and out filled with the state after it (ids, kind, options, expiry,
 * cancelled, state, response, acked_at; not the texts of the page) unless
 * STORE_NOTFOUND or an error.  Free it with ack_info_free().
 */
int store_ack_record(struct store *st, const struct ack_in *in,
    enum ack_result *result, struct ack_info *out);
/* The recipient of alert with this phone; STORE_NOTFOUND when none. */
int store_ack_find(struct store *st, int64_t alert, const char *phone,
    int64_t *rcpt);
/* The after-action report of an alert (see store_sqlite_report.c). */
int store_alert_report(struct store *st, int64_t id, struct json_t **out);
/* Escalation steps due at now (at most max of them, soonest first). */
int store_esc_due(struct store *st, int64_t now, int64_t *ids, size_t max,
    size_t *n);
/* Fire one (writer); a step fires once, whatever happens to the alert. */
int store_esc_fire(struct store *st, int64_t id, const struct esc_ctx *x,
    struct esc_fired *out);
/* The open alerts (newest first) that phone is a recipient of. */
int store_reply_cands(struct store *st, const char *phone, int64_t now,
    struct reply_cand **out, size_t *n);
/* What the dispatcher needs of an alert (strings malloc'd); NOTFOUND. */
int store_alert_brief(struct store *st, int64_t id, struct alert_brief *out);

/*
 * Due deliveries (next_at <= now) after the cursor, in send order, at most
 * limit: cb owns each row it is handed (and frees it with dlv_row_free).
 */
int store_dlv_page(struct store *st, const struct dlv_cursor *after,
    int64_t now, size_t limit, int (*cb)(struct dlv_row *row, void *arg),
    void *arg);
/*
 * A grid's label and the robot addresses its rows give (the channels
 * columns of the posts at and under it); STORE_NOTFOUND when the roster
 * no longer has it.  Free out with grid_info_free().
 */
int store_grid_info(struct store *st, const char *grid, struct grid_info *out);
/* Write the outcomes of send attempts. */
int store_dlv_apply(struct store *st, const struct dlv_update *u, size_t n);
/* A receipt for a delivery (by our id or the provider's); NOTFOUND. */
int store_dlv_receipt(struct store *st, const char *id, bool by_provider,
    bool delivered);
int store_schema_version(struct store *st);
int store_check(struct store *st);

#endif
