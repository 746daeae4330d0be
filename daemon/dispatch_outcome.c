/*
 * dispatch_outcome.c - what became of each send: outcomes settled in
 * memory, then written by the writer in groups (kept and written again
 * when the disk refuses them, never sent twice for it).
 */
#include "dispatch_priv.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "log.h"
#include "store.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

static struct dlv_update *
update_new(struct dispatch *dp, const struct job *j, int result)
{
	struct dlv_update *u;

	if (dp->n_pending == dp->cap_pending) {
		size_t cap = dp->cap_pending ? dp->cap_pending * 2 : 1024;
		struct dlv_update *v = realloc(dp->pending, cap * sizeof(*v));

		if (v == NULL)
			return NULL;
		dp->pending = v;
		dp->cap_pending = cap;
	}
	u = &dp->pending[dp->n_pending++];
	memset(u, 0, sizeof(*u));
	u->id = j->row->id;
	u->recipient_id = j->row->recipient_id;
	u->alert_id = j->row->alert_id;
	u->priority = j->row->priority;
	u->result = result;
	return u;
}

/* The channel after this one in the recipient's routing, or "". */
static void
next_channel(struct dispatch *dp, const struct dlv_row *r, char *out,
    size_t len)
{
	const struct config *cfg = dp->d->cfg;

	out[0] = '\0';
	for (size_t i = 0; i < cfg->n_routing; i++) {
		const struct cfg_route *rt = &cfg->routing[i];

		if (roster_role_parse(rt->role) != r->role)
			continue;
		for (size_t k = 0; k + 1 < rt->n_channels; k++)
			if (strcmp(rt->channels[k], r->channel) == 0)
				snprintf(out, len, "%s", rt->channels[k + 1]);
	}
}

static int64_t
backoff_ms(int attempts, int retry_after)
{
	int64_t s = DISPATCH_BACKOFF_S;

	for (int i = 1; i < attempts && s < DISPATCH_BACKOFF_MAX_S; i++)
		s *= 2;
	if (s > DISPATCH_BACKOFF_MAX_S)
		s = DISPATCH_BACKOFF_MAX_S;
	s = s * 1000 * (75 + random() % 51) / 100;
	if (retry_after > 0 && retry_after * 1000LL > s)
		s = retry_after * 1000LL;
	return s;
}

/* Record a job's outcome and move it to SETTLING. */
void
dp_job_settle(struct dispatch *dp, struct job *j, enum sz_outcome o,
    const char *provider_id, int retry_after, const char *why)
{
	int tries = j->row->attempts + 1;
	struct dlv_update *u;
	int result;

	if (o == SZ_ACCEPTED)
		result = DLV_R_ACCEPTED;
	else if (o == SZ_RETRY && tries < DISPATCH_MAX_TRIES)
		result = DLV_R_RETRY;
	else
		result = DLV_R_FAILED;
	if ((u = update_new(dp, j, result)) == NULL) {
		/* Unrecorded: the delivery stays queued and is sent again. */
		log_warnx("dispatch: out of memory; delivery %s will be retried",
		    j->id);
	} else {
		snprintf(u->provider_id, sizeof(u->provider_id), "%s",
		    provider_id ? provider_id : "");
		snprintf(u->error, sizeof(u->error), "%s", why ? why : "");
		if (result == DLV_R_RETRY && j->req != NULL && j->req->retry_at)
			u->next_at = j->req->retry_at;
		else if (result == DLV_R_RETRY)
			u->next_at = alert_now_ms() + backoff_ms(tries, retry_after);
		if (result == DLV_R_RETRY && j->req != NULL)
			j->req->retry_at = u->next_at;
		if (result == DLV_R_FAILED)
			next_channel(dp, j->row, u->fallback, sizeof(u->fallback));
		if (result != DLV_R_ACCEPTED)
			log_info("dispatch: delivery %s on %s: %s (%s)%s%s", j->id,
			    j->row->channel, result == DLV_R_RETRY ? "retry" :
			    "failed", why ? why : "?", u->fallback[0] ?
			    ", next channel " : "", u->fallback);
	}
	if (j->st == JOB_SENDING) {
		dp->n_sending--;
		if (j->req != NULL && --j->req->left == 0) {
			chan_done(j->req->chan);
			free(j->req);
		}
		j->req = NULL;
	} else {
		TAILQ_REMOVE(&dp->ready, j, q);
		dp->n_ready--;
	}
	j->st = JOB_SETTLING;
	TAILQ_INSERT_TAIL(&dp->settling, j, q);
	dp->n_settling++;
}

/*
 * Settle a READY job untried: DLV_R_DEFER puts it back in the queue, due
 * at next_at; DLV_R_SKIP drops it (its recipient has answered).
 */
void
dp_job_untried(struct dispatch *dp, struct job *j, int result, int64_t next_at)
{
	struct dlv_update *u;

	if ((u = update_new(dp, j, result)) == NULL)
		return;
	u->next_at = next_at;
	TAILQ_REMOVE(&dp->ready, j, q);
	dp->n_ready--;
	j->st = JOB_SETTLING;
	TAILQ_INSERT_TAIL(&dp->settling, j, q);
	dp->n_settling++;
}

void
dp_job_expire(struct dispatch *dp, struct job *j)
{
	if (update_new(dp, j, DLV_R_EXPIRED) == NULL)
		return;
	TAILQ_REMOVE(&dp->ready, j, q);
	dp->n_ready--;
	j->st = JOB_SETTLING;
	TAILQ_INSERT_TAIL(&dp->settling, j, q);
	dp->n_settling++;
}

void
dispatch_outcome(struct dispatch *dp, struct sz_chan *c, const char *msg_id,
    enum sz_outcome outcome, const char *provider_id, int retry_after,
    const char *why)
{
	struct job *j = idtable_get(&dp->jobs, strtoll(msg_id, NULL, 10));

	if (j == NULL || j->st != JOB_SENDING || j->chan != c) {
		log_warnx("channel %s: outcome for unknown message %.32s",
		    c->cfg->name, msg_id);
		return;
	}
	dp_job_settle(dp, j, outcome, provider_id, retry_after, why);
	/*
	 * Capacity came free: use it at the end of this loop turn, not at
	 * the next tick, and not at once either: once every socket that is
	 * ready has been read, one send fills all the freed capacity.  (Sent
	 * at once, a fast receiver answers before the loop polls again and
	 * the fan-out runs one request at a time on one connection.)  But a
	 * turn that reads dozens of answers would leave the receiver idle
	 * meanwhile: once DISPATCH_REFILL requests may start, the refill
	 * (of higher priority) interrupts the turn and starts them, and the
	 * turn goes on.
	 */
	if (c->cfg->concurrency - chan_inflight(c) >= DISPATCH_REFILL &&
	    !c->retired && chan_budget(c) > 0)
		event_active(dp->refill, EV_TIMEOUT, 0);
	if (!dp->kicked) {
		static const struct timeval now = { 0, 0 };

		dp->kicked = true;
		evtimer_add(dp->kick, &now);
	}
}

static int
flush_run(struct store *st, void *arg)
{
	struct flush *f = arg;

	return store_dlv_apply(st, f->u, f->n);
}

/*
 * Outcomes that could not be written (a full disk, a locked database) go
 * back to the settling queue, and their jobs stay known, so no page takes
 * those deliveries again: what a gateway accepted is not sent again every
 * time the queue is read while the disk is full.  The write is tried
 * again after a pause that doubles.  false: no memory, nothing kept.
 */
static bool
flush_keep(struct dispatch *dp, struct flush *f)
{
	struct job *j;
	int64_t wait;

	if (dp->n_pending + f->n > dp->cap_pending) {
		size_t cap = dp->n_pending + f->n + 1024;
		struct dlv_update *v = realloc(dp->pending, cap * sizeof(*v));

		if (v == NULL)
			return false;
		dp->pending = v;
		dp->cap_pending = cap;
	}
	if (f->n > 0)
		memcpy(dp->pending + dp->n_pending, f->u, f->n * sizeof(*f->u));
	dp->n_pending += f->n;
	while ((j = TAILQ_FIRST(&f->jobs)) != NULL) {
		TAILQ_REMOVE(&f->jobs, j, q);
		TAILQ_INSERT_TAIL(&dp->settling, j, q);
		dp->n_settling++;
	}
	wait = (int64_t)DISPATCH_REWRITE_MS << (dp->rewrites < 5 ?
	    dp->rewrites : 5);
	if (wait > DISPATCH_REWRITE_MAX_MS)
		wait = DISPATCH_REWRITE_MAX_MS;
	dp->rewrites++;
	dp->rewrite_at = alert_now_ms() + wait;
	log_warnx("dispatch: could not record %zu outcomes; keeping them and "
	    "trying again in %lld ms", f->n, (long long)wait);
	return true;
}

static void
flush_done(int rc, void *arg)
{
	struct flush *f = arg;
	struct dispatch *dp = f->dp;
	struct job *j;

	if (rc == STORE_OK)
		dp->rewrites = 0;
	else if (dp->stopping || !flush_keep(dp, f))
		log_warnx("dispatch: could not record %zu outcomes; those "
		    "deliveries will be sent again", f->n);
	/*
	 * A page being read may have seen these rows before the commit, as
	 * still queued: their ids must block it from taking them again.
	 */
	while ((j = TAILQ_FIRST(&f->jobs)) != NULL) {
		TAILQ_REMOVE(&f->jobs, j, q);
		if (dp->fetching && rc == STORE_OK)
			TAILQ_INSERT_TAIL(&dp->written, j, q);
		else
			dp_job_free(dp, j);
	}
	dp->flushes--;
	free(f->u);
	free(f);
}

void
dp_flush_outcomes(struct dispatch *dp)
{
	struct flush *f;

	if (dp->n_settling == 0)
		return;
	/* After a failed write, wait (a stop tries once more at once). */
	if (dp->rewrites > 0 && !dp->stopping &&
	    (dp->flushes > 0 || alert_now_ms() < dp->rewrite_at))
		return;
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return;
	f->dp = dp;
	f->u = dp->pending;
	f->n = dp->n_pending;
	TAILQ_INIT(&f->jobs);
	TAILQ_CONCAT(&f->jobs, &dp->settling, q);
	dp->n_settling = 0;
	dp->pending = NULL;
	dp->n_pending = dp->cap_pending = 0;
	dp->flushes++;
	if (dbq_submit(dp->d->writer, flush_run, flush_done, f, 0) != 0)
		flush_done(STORE_ERROR, f);
}
