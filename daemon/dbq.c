/*
 * dbq.c - database threads fed by a queue, completions back on the loop.
 */
#include "dbq.h"
#include "log.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

/* Most jobs one group commit takes: bounds the time a completion waits. */
#define DBQ_GROUP_MAX	512
/* A writer whose last commit failed tries a write this often when idle. */
#define DBQ_PROBE_MS	1000
/* A group whose jobs waited their STORE_LOCK_WAIT_MS still tries once. */
#define DBQ_LOCK_WAIT_MIN_MS	100

struct dbq_job {
	STAILQ_ENTRY(dbq_job)	 entry;
	dbq_run_fn		 run;
	dbq_done_fn		 done;
	void			*arg;
	int			 flags;
	int			 rc;
	int64_t			 queued_ms;	/* monotonic, when submitted */
};

STAILQ_HEAD(dbq_jobs, dbq_job);

struct dbq_thread {
	struct dbq	*q;
	pthread_t	 tid;
	struct store	*st;
	bool		 started;
};

struct dbq {
	bool			 writer;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* jobs queued or stopping */
	struct dbq_jobs		 todo;
	struct dbq_jobs		 finished;	/* waiting for the loop */
	size_t			 depth;
	bool			 stopping;
	bool			 failing;	/* the last group commit failed */
	size_t			 groups;
	size_t			 jobs;
	struct event		*done_ev;	/* activated from the threads */
	struct event		*wake_ev;	/* the writer: wakes it once a turn */
	struct dbq_thread	*threads;
	int			 nthreads;
};

/* ---- database side ------------------------------------------------------ */

/*
 * Wait for work (q->lock held).  A writer whose last commit failed waits
 * at most DBQ_PROBE_MS; true when that time passed with nothing to do.
 */
static bool
dbq_wait(struct dbq *q)
{
	struct timespec ts;

	if (!q->writer || !q->failing) {
		pthread_cond_wait(&q->wake, &q->lock);
		return false;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += DBQ_PROBE_MS / 1000;
	ts.tv_nsec += (DBQ_PROBE_MS % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_cond_timedwait(&q->wake, &q->lock, &ts) == ETIMEDOUT &&
	    STAILQ_EMPTY(&q->todo) && !q->stopping;
}

/*
 * Take up to max jobs, waiting for one; returns 0 once stopping and empty,
 * or with *probe set when a failing writer should try a write of its own.
 */
static size_t
dbq_take(struct dbq *q, struct dbq_jobs *batch, size_t max, bool *probe)
{
	size_t n = 0;
	struct dbq_job *j;

	*probe = false;
	pthread_mutex_lock(&q->lock);
	while (STAILQ_EMPTY(&q->todo) && !q->stopping && !*probe)
		*probe = dbq_wait(q);
	while (n < max && (j = STAILQ_FIRST(&q->todo)) != NULL) {
		STAILQ_REMOVE_HEAD(&q->todo, entry);
		STAILQ_INSERT_TAIL(batch, j, entry);
		n++;
	}
	pthread_mutex_unlock(&q->lock);
	return n;
}

static void
dbq_finish(struct dbq *q, struct dbq_jobs *batch, size_t n)
{
	pthread_mutex_lock(&q->lock);
	STAILQ_CONCAT(&q->finished, batch);
	q->jobs += n;
	q->groups++;
	pthread_mutex_unlock(&q->lock);
	event_active(q->done_ev, EV_READ, 0);
}

/*
 * One job in a savepoint: its failure undoes only its own writes.  Returns
 * -1 when the whole transaction is gone (the group cannot commit).
 */
static int
dbq_run_in_savepoint(struct store *st, struct dbq_job *j)
{
	if ((j->rc = store_savepoint(st)) != STORE_OK)
		return -1;
	j->rc = j->run(st, j->arg);
	if (j->rc == STORE_OK)
		j->rc = store_release(st);
	else if (store_rollback_to(st) != STORE_OK)
		return -1;
	return 0;
}

/* Record whether the last commit worked, and say when that changes. */
static void
dbq_set_failing(struct dbq *q, bool failing)
{
	bool was;

	pthread_mutex_lock(&q->lock);
	was = q->failing;
	q->failing = failing;
	pthread_mutex_unlock(&q->lock);
	if (was && !failing)
		log_info("dbq: database writes work again");
}

/*
 * Nothing to write, but the last commit failed: without a write of our
 * own, /healthz would say "write failed" until the next request writes.
 */
static void
dbq_probe(struct dbq *q, struct store *st)
{
	int rc;

	store_lock_wait(st, DBQ_LOCK_WAIT_MIN_MS);	/* jobs may come */
	if ((rc = store_begin(st, true, false)) == STORE_OK &&
	    (rc = store_probe(st)) == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	dbq_set_failing(q, rc != STORE_OK);
}

static int64_t
dbq_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * A lock held by another process is waited for up to STORE_LOCK_WAIT_MS
 * from when the oldest job of the group was submitted, not from when the
 * group begins: a job queued behind a group that waited in vain is not
 * made to wait as long again.
 */
static void
dbq_lock_wait(struct store *st, const struct dbq_jobs *batch)
{
	int64_t oldest = dbq_now_ms(), left;
	struct dbq_job *j;

	STAILQ_FOREACH(j, batch, entry)
		if (j->queued_ms < oldest)
			oldest = j->queued_ms;
	left = STORE_LOCK_WAIT_MS - (dbq_now_ms() - oldest);
	store_lock_wait(st, left < DBQ_LOCK_WAIT_MIN_MS ?
	    DBQ_LOCK_WAIT_MIN_MS : (int)left);
}

static void
dbq_write_group(struct dbq *q, struct store *st, struct dbq_jobs *batch)
{
	struct dbq_job *j;
	bool durable = false;
	int rc;

	STAILQ_FOREACH(j, batch, entry)
		durable |= (j->flags & DBQ_DURABLE) != 0;
	dbq_lock_wait(st, batch);
	if ((rc = store_begin(st, true, durable)) == STORE_OK) {
		STAILQ_FOREACH(j, batch, entry) {
			if (dbq_run_in_savepoint(st, j) != 0) {
				rc = j->rc != STORE_OK ? j->rc : STORE_ERROR;
				break;
			}
		}
		if (rc == STORE_OK)
			rc = store_commit(st);
	}
	dbq_set_failing(q, rc != STORE_OK);
	if (rc == STORE_OK)
		return;
	/* The group did not reach the disk: nobody may answer 2xx. */
	log_warnx("dbq: commit failed: %s", store_errmsg(st));
	store_rollback(st);
	STAILQ_FOREACH(j, batch, entry)
		j->rc = rc;
}

static void
dbq_read_one(struct store *st, struct dbq_job *j)
{
	if (j->flags & DBQ_NO_TXN) {
		j->rc = j->run(st, j->arg);
		return;
	}
	if ((j->rc = store_begin(st, false, false)) != STORE_OK)
		return;
	j->rc = j->run(st, j->arg);
	store_rollback(st);	/* read-only: nothing to keep */
}

static void *
dbq_main(void *arg)
{
	struct dbq_thread *t = arg;
	struct dbq *q = t->q;
	struct dbq_jobs batch;
	size_t n;
	bool probe;

	for (;;) {
		STAILQ_INIT(&batch);
		n = dbq_take(q, &batch, q->writer ? DBQ_GROUP_MAX : 1, &probe);
		if (probe) {
			dbq_probe(q, t->st);
			continue;
		}
		if (n == 0)
			break;
		if (q->writer)
			dbq_write_group(q, t->st, &batch);
		else
			dbq_read_one(t->st, STAILQ_FIRST(&batch));
		dbq_finish(q, &batch, n);
		if (q->writer)
			store_idle(t->st);	/* the answers are on their way */
	}
	return NULL;
}

/* ---- loop side ------------------------------------------------------------ */

static void
dbq_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct dbq *q = arg;
	struct dbq_jobs done;
	struct dbq_job *j;
	size_t n = 0;

	STAILQ_INIT(&done);
	pthread_mutex_lock(&q->lock);
	STAILQ_CONCAT(&done, &q->finished);
	pthread_mutex_unlock(&q->lock);
	while ((j = STAILQ_FIRST(&done)) != NULL) {
		STAILQ_REMOVE_HEAD(&done, entry);
		if (j->done != NULL)
			j->done(j->rc, j->arg);
		free(j);
		n++;
	}
	pthread_mutex_lock(&q->lock);
	q->depth -= n;
	pthread_mutex_unlock(&q->lock);
}

/*
 * The writer is woken once per loop turn, after every callback of the turn
 * has submitted its jobs: one group commit takes them all, rather than the
 * first alone while the rest wait for the next.  A writer that is busy
 * takes what is queued when it finishes, without waiting for this.
 */
static void
dbq_wake(evutil_socket_t fd, short what, void *arg)
{
	struct dbq *q = arg;

	pthread_mutex_lock(&q->lock);
	pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
}

int
dbq_submit(struct dbq *q, dbq_run_fn run, dbq_done_fn done, void *arg,
    int flags)
{
	struct dbq_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -1;
	j->run = run;
	j->done = done;
	j->arg = arg;
	j->flags = flags;
	j->queued_ms = dbq_now_ms();
	pthread_mutex_lock(&q->lock);
	if (q->stopping) {
		pthread_mutex_unlock(&q->lock);
		free(j);
		return -1;
	}
	STAILQ_INSERT_TAIL(&q->todo, j, entry);
	q->depth++;
	if (q->wake_ev == NULL)
		pthread_cond_signal(&q->wake);
	pthread_mutex_unlock(&q->lock);
	if (q->wake_ev != NULL)
		event_active(q->wake_ev, EV_READ, 0);
	return 0;
}

size_t
dbq_depth(struct dbq *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->depth;
	pthread_mutex_unlock(&q->lock);
	return n;
}

bool
dbq_failing(struct dbq *q)
{
	bool f;

	pthread_mutex_lock(&q->lock);
	f = q->failing;
	pthread_mutex_unlock(&q->lock);
	return f;
}

void
dbq_stats(struct dbq *q, size_t *groups, size_t *jobs)
{
	pthread_mutex_lock(&q->lock);
	*groups = q->groups;
	*jobs = q->jobs;
	pthread_mutex_unlock(&q->lock);
}

static void
dbq_stop_threads(struct dbq *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_broadcast(&q->wake);
	pthread_mutex_unlock(&q->lock);
	for (int i = 0; i < q->nthreads; i++) {
		if (q->threads[i].started)
			pthread_join(q->threads[i].tid, NULL);
		store_close(q->threads[i].st);
	}
}

void
dbq_free(struct dbq *q)
{
	if (q == NULL)
		return;
	dbq_stop_threads(q);
	/* Deliver what finished after the loop stopped running. */
	dbq_deliver(-1, 0, q);
	event_free(q->done_ev);
	if (q->wake_ev != NULL)
		event_free(q->wake_ev);
	pthread_cond_destroy(&q->wake);
	pthread_mutex_destroy(&q->lock);
	free(q->threads);
	free(q);
}

struct dbq *
dbq_new(struct event_base *base, const struct store_backend *be,
    const char *state_dir, bool writer, int nthreads, char *err, size_t errlen)
{
	struct dbq *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		goto nomem;
	q->writer = writer;
	q->nthreads = writer ? 1 : (nthreads > 0 ? nthreads : 1);
	STAILQ_INIT(&q->todo);
	STAILQ_INIT(&q->finished);
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->wake, NULL);
	q->threads = calloc((size_t)q->nthreads, sizeof(*q->threads));
	q->done_ev = event_new(base, -1, 0, dbq_deliver, q);
	if (q->threads == NULL || q->done_ev == NULL)
		goto nomem;
	if (writer && (q->wake_ev = event_new(base, -1, 0, dbq_wake, q)) ==
	    NULL)
		goto nomem;
	for (int i = 0; i < q->nthreads; i++) {
		struct dbq_thread *t = &q->threads[i];

		t->q = q;
		if ((t->st = store_open(be, state_dir, writer, err, errlen)) == NULL)
			goto fail;
		if (pthread_create(&t->tid, NULL, dbq_main, t) != 0) {
			snprintf(err, errlen, "cannot start a database thread");
			goto fail;
		}
		t->started = true;
	}
	return q;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	if (q != NULL && q->threads != NULL && q->done_ev != NULL)
		dbq_free(q);
	else if (q != NULL) {
		free(q->threads);
		if (q->done_ev != NULL)
			event_free(q->done_ev);
		if (q->wake_ev != NULL)
			event_free(q->wake_ev);
		free(q);
	}
	return NULL;
}
