/*
 * dispatch_receipt.c - delivery receipts, recorded on the writer after
 * the outcomes they may overtake.  The receipts of an inbound callback are
 * written durably, and the callback is answered once they are.
 */
#include "dispatch_priv.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "log.h"
#include "store.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>

#define RECEIPT_TRIES		4	/* a report for a send not yet written */
#define RECEIPT_RETRY_MS	500

/* The receipts of one inbound callback (see dispatch.h). */
struct receipt_batch {
	int		 refs;		/* the caller's, and one per receipt */
	int		 pending;	/* first tries not yet done */
	bool		 failed;	/* one could not be written */
	receipt_batch_fn done;
	void		*arg;
};

struct receipt {
	struct dispatch	*dp;
	struct receipt_batch *batch;	/* until its first try is done */
	char		 id[128];
	bool		 by_provider;
	bool		 delivered;
	int		 tries;
};

static void receipt_submit(struct receipt *r);

void
receipt_batch_put(struct receipt_batch *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

bool
receipt_batch_failed(const struct receipt_batch *b)
{
	return b->failed;
}

/* A receipt's first try is over: the batch hears of it, and lets go. */
static void
receipt_tried(struct receipt *r, bool ok)
{
	struct receipt_batch *b = r->batch;

	if (b == NULL)
		return;
	r->batch = NULL;
	if (!ok)
		b->failed = true;
	if (--b->pending == 0 && b->done != NULL)
		b->done(!b->failed, b->arg);
	receipt_batch_put(b);
}

void
dispatch_inbound_begin(struct dispatch *dp)
{
	/* Without memory, receipts are written as before, not waited for. */
	if ((dp->inbound = calloc(1, sizeof(*dp->inbound))) != NULL)
		dp->inbound->refs = 1;
}

struct receipt_batch *
dispatch_inbound_end(struct dispatch *dp)
{
	struct receipt_batch *b = dp->inbound;

	dp->inbound = NULL;
	if (b != NULL && b->pending == 0 && !b->failed) {
		receipt_batch_put(b);
		return NULL;
	}
	return b;
}

void
dispatch_inbound_wait(struct receipt_batch *b, receipt_batch_fn done,
    void *arg)
{
	if (b->pending == 0) {
		done(!b->failed, arg);
		receipt_batch_put(b);
		return;
	}
	b->done = done;
	b->arg = arg;
	receipt_batch_put(b);
}

static int
receipt_run(struct store *st, void *arg)
{
	struct receipt *r = arg;

	return store_dlv_receipt(st, r->id, r->by_provider, r->delivered);
}

static void
receipt_again(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	receipt_submit(arg);
}

/*
 * A report can overtake the gateway's answer to the send it is about (two
 * connections), or its outcome can still be on its way to the store: an
 * unknown delivery is looked up again a few times before it is dropped.
 */
static void
receipt_done(int rc, void *arg)
{
	struct receipt *r = arg;
	struct timeval tv = { 0, RECEIPT_RETRY_MS * 1000 };
	char id[48];

	/* Not found yet (its send's outcome still on the way) counts as done:
	 * the later tries are not waited for. */
	receipt_tried(r, rc == STORE_OK || rc == STORE_NOTFOUND);
	if (rc == STORE_NOTFOUND && ++r->tries < RECEIPT_TRIES &&
	    !r->dp->stopping && event_base_once(r->dp->d->base, -1, EV_TIMEOUT,
	    receipt_again, r, &tv) == 0)
		return;
	if (rc == STORE_NOTFOUND)
		log_info("dispatch: receipt for unknown delivery %s",
		    log_id(r->id, id, sizeof(id)));
	else if (rc != STORE_OK)
		log_warnx("dispatch: could not record a receipt");
	r->dp->receipts--;
	free(r);
}

static void
receipt_submit(struct receipt *r)
{
	/* Outcomes first: the writer runs jobs in order. */
	dp_flush_outcomes(r->dp);
	if (dbq_submit(r->dp->d->writer, receipt_run, receipt_done, r,
	    r->batch != NULL ? DBQ_DURABLE : 0) != 0) {
		log_warnx("dispatch: could not queue a receipt");
		receipt_tried(r, false);
		r->dp->receipts--;
		free(r);
	}
}

int
dispatch_receipt(struct dispatch *dp, struct sz_chan *c, const char *id,
    bool by_provider, bool delivered, const char *why)
{
	struct receipt *r = calloc(1, sizeof(*r));
	char shown[48];

	if (r == NULL || strlen(id) >= sizeof(r->id)) {
		/* Out of memory: the gateway hears 503 and sends it again. */
		if (r == NULL && dp->inbound != NULL)
			dp->inbound->failed = true;
		free(r);
		return -1;
	}
	r->dp = dp;
	if ((r->batch = dp->inbound) != NULL) {
		r->batch->refs++;
		r->batch->pending++;
	}
	dp->receipts++;
	strcpy(r->id, id);
	r->by_provider = by_provider;
	r->delivered = delivered;
	if (!delivered)
		log_info("channel %s: delivery %s failed: %s", c->cfg->name,
		    log_id(id, shown, sizeof(shown)), why ? why :
		    "no reason given");
	receipt_submit(r);
	return 0;
}

