/*
 * dispatch_receipt.c - delivery receipts, recorded on the writer after
 * the outcomes they may overtake.
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

struct receipt {
	struct dispatch	*dp;
	char		 id[128];
	bool		 by_provider;
	bool		 delivered;
	int		 tries;
};

static void receipt_submit(struct receipt *r);

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
	if (dbq_submit(r->dp->d->writer, receipt_run, receipt_done, r, 0) != 0) {
		log_warnx("dispatch: could not queue a receipt");
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
		free(r);
		return -1;
	}
	r->dp = dp;
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

