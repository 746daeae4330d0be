/*
 * dbq.h - database work off the event loop.
 *
 * A dbq is a queue served by threads that each own a store connection.
 * The writer queue has one thread and commits in groups: it takes every
 * job waiting, runs each inside a savepoint of one transaction, commits
 * once, then hands each job's result back to the loop.  A reader queue
 * runs each job in its own read transaction (a consistent snapshot).
 * Completions run on the loop thread, in submission order per thread.
 */
#ifndef SANZHANG_DBQ_H
#define SANZHANG_DBQ_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

struct event_base;
struct dbq;

/* Runs on a database thread; returns an enum store_rc. */
typedef int (*dbq_run_fn)(struct store *st, void *arg);
/* Runs on the loop thread with run's result (or the commit's failure). */
typedef void (*dbq_done_fn)(int rc, void *arg);

enum dbq_flags {
	DBQ_DURABLE = 1 << 0,	/* sync to disk before done(): a 2xx depends on it */
	DBQ_NO_TXN = 1 << 1,	/* reader only: run outside a transaction
				 * (CPU work such as parsing an upload) */
};

/*
 * Start a queue of nthreads threads, each with its own connection (a
 * writer queue always has one).  Connections are opened before this
 * returns, so errors (a bad state dir, a newer schema) are reported here.
 * evthread_use_pthreads() must have been called before the base was made.
 */
struct dbq *dbq_new(struct event_base *base, const struct store_backend *be,
    const char *state_dir, bool writer, int nthreads, char *err, size_t errlen);

/*
 * Queue a job.  done may be NULL.  Returns 0, or -1 when the queue is
 * shutting down (done is then not called).
 */
int dbq_submit(struct dbq *q, dbq_run_fn run, dbq_done_fn done, void *arg,
    int flags);

/* Jobs queued or running. */
size_t dbq_depth(struct dbq *q);
/* Whether the last group commit failed (disk full, I/O error). */
bool dbq_failing(struct dbq *q);
/* Groups committed and jobs run, for metrics and tests. */
void dbq_stats(struct dbq *q, size_t *groups, size_t *jobs);

/* Finish every queued job, deliver completions, join the threads. */
void dbq_free(struct dbq *q);

#endif
