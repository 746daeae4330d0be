/*
 * dispatch_priv.h - the dispatcher's insides, shared by dispatch.c (the
 * loop and sending), dispatch_outcome.c (outcomes), dispatch_queue.c
 * (reading the queue) and dispatch_receipt.c (delivery receipts).
 */
#ifndef SANZHANG_DISPATCH_PRIV_H
#define SANZHANG_DISPATCH_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "alert.h"
#include "chan.h"
#include "compose.h"
#include "dispatch.h"
#include "idtable.h"

struct config;
struct event;

#define DISPATCH_PAGE		1000	/* deliveries read at once */
#define DISPATCH_LOW		2500	/* read more below this many READY */
#define DISPATCH_TICK_MS	20
#define DISPATCH_IDLE_MS	250	/* re-scan an exhausted queue this often */
#define DISPATCH_MAX_TRIES	5	/* per channel, then the next channel */
#define DISPATCH_BACKOFF_S	5	/* first retry; doubles, +-25% jitter */
#define DISPATCH_BACKOFF_MAX_S	600
#define DISPATCH_LOOKAHEAD	256	/* jobs scanned to fill one batch */
#define DISPATCH_REFILL		8	/* requests a channel may start that
					 * are started before the loop turn
					 * ends */
#define DISPATCH_FLUSH_MIN	512	/* outcomes that are written before
					 * the next tick */
#define DISPATCH_REWRITE_MS	500	/* outcomes not written: first try
					 * again after this; doubles */
#define DISPATCH_REWRITE_MAX_MS	10000
#define DISPATCH_ALERTS		64	/* alerts remembered */
#define DISPATCH_HOLD_MS	2000	/* a robot's target held up to this
					 * long keeps its jobs queued; longer
					 * puts them back in the store */
#define DISPATCH_GRIDS		64	/* grids a page looks up at most */

enum job_state { JOB_READY, JOB_SENDING, JOB_SETTLING };

/* One send() call: its channel's concurrency is freed when all settle. */
struct sendreq {
	struct sz_chan		*chan;
	unsigned		 left;		/* messages not yet settled */
	int64_t			 retry_at;	/* when its retries are due (one
						 * time for all: a batch comes
						 * back together), or 0 */
};

struct job {
	TAILQ_ENTRY(job)	 q;
	struct sendreq		*req;		/* while SENDING */
	struct dlv_row		*row;
	enum job_state		 st;
	struct sz_chan		*chan;
	struct composed		 msg;
	char			 id[24];
};

TAILQ_HEAD(jobq, job);

struct cached_alert {
	int64_t			 id;
	struct alert_brief	 b;
};

/* One page read, and its messages rendered, by a reader thread. */
struct page {
	struct dispatch		*dp;
	const struct config	*cfg;	/* in effect when asked for (reloads) */
	const struct chan_view	*chans;	/* the channels then (reloads) */
	struct dlv_cursor	 after;
	int64_t			 now;
	struct job		**jobs;
	size_t			 n, cap;
	struct cached_alert	 alerts[DISPATCH_ALERTS];
	size_t			 n_alerts;
};

/* Outcomes on their way to the writer, with the jobs they settle. */
struct flush {
	struct dispatch		*dp;
	struct dlv_update	*u;
	size_t			 n;
	struct jobq		 jobs;
};

struct dispatch {
	struct daemon		*d;
	struct chan_set		 chans;
	struct event		*tick;
	struct event		*kick;		/* a tick after this loop turn */
	struct event		*refill;	/* a tick before the next socket */
	struct jobq		 ready;
	size_t			 n_ready;
	struct jobq		 settling;	/* outcome known, not yet written */
	struct jobq		 written;	/* outcome written while a page was
						 * being read: kept in the id table
						 * until that page is taken */
	size_t			 n_sending, n_settling;
	struct idtable		 jobs;		/* every job by delivery id */
	struct dlv_update	*pending;	/* outcomes to write */
	size_t			 n_pending, cap_pending;
	struct dlv_cursor	 cursor;
	bool			 fetching;
	bool			 stopping;
	int64_t			 exhausted_at;	/* last time a page came up short */
	int			 flushes;	/* writer jobs in flight */
	int			 rewrites;	/* writes failed in a row */
	int64_t			 rewrite_at;	/* not before this (ms) */
	int			 receipts;	/* receipts not yet recorded */
	struct receipt_batch	*inbound;	/* the callback being parsed */
	bool			 kicked;	/* a tick is already due */
	struct cached_alert	 alerts[DISPATCH_ALERTS];
	size_t			 n_alerts;
};

/* Forget a job: out of the id table, freed. */
void dp_job_free(struct dispatch *dp, struct job *j);
/* Remember what a page read; the newest copy wins (cancel, expiry). */
void dp_alert_remember(struct dispatch *dp, struct cached_alert *a);
/* Prepare a READY job; false when it was settled or dropped instead. */
bool dp_job_prepare(struct dispatch *dp, struct job *j);
/*
 * Render a job's message for its channel (j->chan) with cfg's templates;
 * -1 and err if not.
 */
int dp_job_render(const struct dispatch *dp, const struct config *cfg,
    struct job *j, const struct cached_alert *a, char *err, size_t errlen);
/* Hand the settled outcomes to the writer. */
void dp_flush_outcomes(struct dispatch *dp);
/*
 * dispatch_outcome.c: settle a SENDING or READY job with a plugin's
 * outcome (a retry gets its backoff, a failure its next channel); settle
 * a READY job untried (DLV_R_DEFER: due again at next_at; DLV_R_SKIP: its
 * recipient answered); settle one as expired.
 */
void dp_job_settle(struct dispatch *dp, struct job *j, enum sz_outcome o,
    const char *provider_id, int retry_after, const char *why);
void dp_job_untried(struct dispatch *dp, struct job *j, int result,
    int64_t next_at);
void dp_job_expire(struct dispatch *dp, struct job *j);
/* Read the next page of due deliveries when the send queue runs low. */
void dp_fetch(struct dispatch *dp, bool woken);

#endif
