/*
 * dispatch.c - the sender loop: page in, send out, write back.
 *
 * A job is one queued delivery in memory: READY in the send queue, SENDING
 * while its plugin has it, SETTLING until its outcome is committed.  Every
 * job is in the id table from the moment it is read until that commit, so
 * a page read in the meantime never yields it twice.  Reading the queue is
 * in dispatch_queue.c, outcomes in dispatch_outcome.c, receipts in
 * dispatch_receipt.c.
 */
#include "dispatch_priv.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "httpc.h"
#include "log.h"
#include "message.h"
#include "quiet.h"
#include "store.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

void
dp_job_free(struct dispatch *dp, struct job *j)
{
	idtable_del(&dp->jobs, j->row->id);
	composed_free(&j->msg);
	dlv_row_free(j->row);
	free(j);
}

/* ---- alerts ---------------------------------------------------------------------- */

static struct cached_alert *
alert_find(struct dispatch *dp, int64_t id)
{
	for (size_t i = 0; i < dp->n_alerts; i++)
		if (dp->alerts[i].id == id)
			return &dp->alerts[i];
	return NULL;
}

/* Remember what a page read; the newest copy wins (cancel, expiry). */
void
dp_alert_remember(struct dispatch *dp, struct cached_alert *a)
{
	struct cached_alert *c = alert_find(dp, a->id);

	if (c == NULL && dp->n_alerts == DISPATCH_ALERTS) {
		/* Forget the oldest: it will be read again if needed. */
		alert_brief_free(&dp->alerts[0].b);
		memmove(&dp->alerts[0], &dp->alerts[1],
		    (DISPATCH_ALERTS - 1) * sizeof(dp->alerts[0]));
		dp->n_alerts--;
	}
	if (c == NULL)
		c = &dp->alerts[dp->n_alerts++];
	else
		alert_brief_free(&c->b);
	*c = *a;
	a->b.title = a->b.body = a->b.node = NULL;
}

/* ---- sending -------------------------------------------------------------------- */

static const char *
dp_template_of(const struct config *cfg, int kind)
{
	for (size_t i = 0; i < cfg->n_templates; i++)
		if (strcmp(cfg->templates[i].kind, alert_kind_name(kind)) == 0)
			return cfg->templates[i].text;
	return message_default_template(kind);
}

/* Render a job's message for its channel (j->chan); -1 and err if not. */
int
dp_job_render(const struct dispatch *dp, const struct config *cfg,
    struct job *j, const struct cached_alert *a, char *err, size_t errlen)
{
	struct compose_in in = {
		.row = j->row, .alert = &a->b,
		.tmpl = dp_template_of(cfg, a->b.kind),
		.public_url = cfg->public_url, .key = &dp->d->ackkey,
		.target_key = j->chan->plugin->name,
		.by_target = chan_by_target(j->chan),
	};

	return compose(&in, &j->msg, err, errlen);
}

/* A job not rendered when read is rendered now; -1 settles it as failed. */
static int
job_compose(struct dispatch *dp, struct job *j, const struct cached_alert *a)
{
	char err[256];

	if (j->msg.text != NULL || dp_job_render(dp, dp->d->cfg, j, a, err,
	    sizeof(err)) == 0)
		return 0;
	dp_job_settle(dp, j, SZ_FAILED, NULL, 0, err);
	return -1;
}


/*
 * A queued job whose channel a reload replaced or dropped: it goes out on
 * the channel of that name now in effect (rendered again if its plugin
 * changed), or, with none left, fails over to the next channel.
 */
static bool
job_rechan(struct dispatch *dp, struct job *j, const struct cached_alert *a)
{
	struct sz_chan *c = chan_find(dp->chans.cur, j->row->channel);

	if (c == NULL) {
		dp_job_settle(dp, j, SZ_FAILED, NULL, 0,
		    "channel removed from the configuration");
		return false;
	}
	if (c->plugin != j->chan->plugin)
		composed_free(&j->msg);
	j->chan = c;
	return job_compose(dp, j, a) == 0;
}

/*
 * Whether a READY job's alert still stands.  A cancelled one is dropped
 * (the cancel already marked it in the store); an expired one is settled
 * as expired, not sent late.
 */
static bool
job_alive(struct dispatch *dp, struct job *j)
{
	struct cached_alert *a = alert_find(dp, j->row->alert_id);
	int64_t now = alert_now_ms(), until;

	if (a != NULL && a->b.active && a->b.expires_at <= now) {
		dp_job_expire(dp, j);
		return false;
	}
	if (a != NULL && a->b.active && j->chan != NULL && j->chan->retired &&
	    !job_rechan(dp, j, a))
		return false;
	/* Quiet hours began after the notice was made, or hold a retry. */
	if (a != NULL && a->b.active && a->b.kind == ALERT_NOTICE &&
	    (until = quiet_until(&dp->d->cfg->quiet, now)) != 0) {
		dp_job_untried(dp, j, DLV_R_DEFER, until);
		return false;
	}
	/* Whoever has answered needs no more messages about it. */
	if (a != NULL && a->b.active && j->row->rcpt_state == RCPT_ACKED) {
		dp_job_untried(dp, j, DLV_R_SKIP, 0);
		return false;
	}
	if (a != NULL && a->b.active)
		return true;
	/* Cancelled: the store already marked it; just forget it. */
	TAILQ_REMOVE(&dp->ready, j, q);
	dp->n_ready--;
	dp_job_free(dp, j);
	return false;
}

/* Prepare a READY job; false when it was settled or dropped instead. */
bool
dp_job_prepare(struct dispatch *dp, struct job *j)
{
	struct cached_alert *a;

	if (!job_alive(dp, j))
		return false;
	a = alert_find(dp, j->row->alert_id);
	if (j->chan == NULL &&
	    (j->chan = chan_find(dp->chans.cur, j->row->channel)) == NULL) {
		dp_job_settle(dp, j, SZ_FAILED, NULL, 0, "channel not configured");
		return false;
	}
	return job_compose(dp, j, a) == 0;
}

/* Whether k may go in j's batch: one text, or for a group robot one post. */
static bool
batch_partner(const struct job *j, const struct job *k, bool by_target)
{
	if (k->chan != j->chan)
		return false;
	if (!by_target)
		return strcmp(k->msg.text, j->msg.text) == 0;
	return strcmp(k->row->grid, j->row->grid) == 0 &&
	    config_str_eq(k->msg.target, j->msg.target) &&
	    config_str_eq(k->msg.notice, j->msg.notice);
}

/*
 * A group robot's target that has used up what its provider allows for
 * now: a short wait keeps j queued (1, skip it this pass); a long one
 * puts it back in the store until then (-1, settled).  0: go ahead.
 */
static int
send_held(struct dispatch *dp, struct job *j)
{
	int64_t now = alert_now_ms();
	int64_t wait = chan_target_wait(j->chan, j->msg.target, now);

	if (wait <= 0)
		return 0;
	if (wait <= DISPATCH_HOLD_MS)
		return 1;
	dp_job_untried(dp, j, DLV_R_DEFER, now + wait);
	/* Unrecorded (out of memory): it stays queued. */
	return j->st == JOB_READY ? 1 : -1;
}

/*
 * Hand the plugin j and later READY jobs of its channel with its text
 * (a group robot: for its target and grid).  Returns -1 when nothing left
 * the queue (out of memory, or a robot's target is held briefly).
 */
static int
send_batch(struct dispatch *dp, struct job *j, unsigned budget)
{
	struct sz_chan *c = j->chan;
	const struct sz_msg *ptrs[512];
	struct sz_msg msgs[512];
	struct job *batch[512], *k, *next;
	unsigned n = 0, limit = c->batch < budget ? c->batch : budget;
	bool by_target = chan_by_target(c);
	struct sendreq *req;
	int scanned = 0, held;

	if (by_target && (held = send_held(dp, j)) != 0)
		return held > 0 ? -1 : 0;
	if (limit > 512)
		limit = 512;
	for (k = j; k != NULL && n < limit && scanned++ < DISPATCH_LOOKAHEAD;
	    k = next) {
		next = TAILQ_NEXT(k, q);
		if (k != j && !batch_partner(j, k, by_target))
			continue;
		batch[n++] = k;
	}
	if ((req = malloc(sizeof(*req))) == NULL)
		return -1;
	if (by_target)
		chan_target_spend(c, j->msg.target, alert_now_ms());
	req->chan = c;
	req->left = n;
	req->retry_at = 0;
	for (unsigned i = 0; i < n; i++) {
		k = batch[i];
		TAILQ_REMOVE(&dp->ready, k, q);
		dp->n_ready--;
		k->st = JOB_SENDING;
		k->req = req;
		dp->n_sending++;
		msgs[i] = (struct sz_msg){
			.id = k->id, .phone = k->row->phone, .name = k->row->name,
			.text = k->msg.text, .ack_url = k->msg.url,
			.target = k->msg.target, .json = k->msg.json,
			.posts = k->msg.posts,
			.group = k->row->group ? k->row->group : "",
			.notice = k->msg.notice,
		};
		ptrs[i] = &msgs[i];
	}
	chan_spend(c, n);
	c->n_messages += n;
	if (c->plugin->send(c->state, c, ptrs, n) != 0) {
		c->n_errors++;
		for (unsigned i = 0; i < n; i++)
			if (batch[i]->st == JOB_SENDING)
				dp_job_settle(dp, batch[i], SZ_RETRY, NULL, 0,
				    "plugin could not send");
	}
	return 0;
}

/*
 * Send what the channels' budgets allow, in queue order.  Jobs were
 * rendered when read, so batch partners' texts compare at once; the scan
 * ends as soon as no channel can take more.
 */
static void
send_ready(struct dispatch *dp)
{
	struct job *j, *next, *prev;
	size_t full = 0;
	unsigned budget;

	if (dp->stopping)
		return;
	for (size_t i = 0; i < dp->chans.cur->n; i++)
		dp->chans.cur->v[i]->full = false;
	for (j = TAILQ_FIRST(&dp->ready); j != NULL && full < dp->chans.cur->n;
	    j = next) {
		next = TAILQ_NEXT(j, q);
		if (!job_alive(dp, j) || j->chan->full)
			continue;
		if ((budget = chan_budget(j->chan)) == 0) {
			j->chan->full = true;
			full++;
			continue;
		}
		/* The batch takes j and later jobs only: prev stays put. */
		prev = TAILQ_PREV(j, jobq, q);
		if (send_batch(dp, j, budget) != 0) {
			/* j stayed queued: try it on a later tick. */
			next = TAILQ_NEXT(j, q);
			continue;
		}
		next = prev != NULL ? TAILQ_NEXT(prev, q) : TAILQ_FIRST(&dp->ready);
	}
}

/* ---- the loop ------------------------------------------------------------------ */

static void
dispatch_tick(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *dp = arg;

	dp->kicked = false;
	chan_reap(&dp->chans);
	send_ready(dp);
	dp_flush_outcomes(dp);
	dp_fetch(dp, what == 0 || (what & EV_READ));
}

/*
 * Between ticks: send into the capacity that came free; write outcomes
 * only when many have gathered (the tick writes the rest), so the writer
 * commits in large groups.
 */
static void
dispatch_kick(evutil_socket_t fd, short what, void *arg)
{
	struct dispatch *dp = arg;

	(void)fd;
	(void)what;
	dp->kicked = false;
	send_ready(dp);
	if (dp->n_settling >= DISPATCH_FLUSH_MIN)
		dp_flush_outcomes(dp);
	dp_fetch(dp, false);
}

void
dispatch_wake(struct dispatch *dp)
{
	if (dp != NULL) {
		/* New work may sort before the cursor: read from the start. */
		dp->cursor = (struct dlv_cursor){ .priority = -1 };
		event_active(dp->tick, EV_READ, 0);
	}
}

void
dispatch_cancelled(struct dispatch *dp, int64_t alert_id)
{
	struct cached_alert *a;

	if (dp != NULL && (a = alert_find(dp, alert_id)) != NULL)
		a->b.active = false;
}

void
dispatch_stop(struct dispatch *dp)
{
	dp->stopping = true;
}

size_t
dispatch_busy(const struct dispatch *dp)
{
	return dp->n_sending + dp->n_settling + (size_t)dp->flushes +
	    (size_t)dp->receipts + (dp->fetching ? 1 : 0);
}

size_t
dispatch_queued(const struct dispatch *dp)
{
	return dp->jobs.n;
}

struct sz_chan *
dispatch_channel(struct dispatch *dp, const char *name)
{
	return chan_find(dp->chans.cur, name);
}

struct sz_chan *const *
dispatch_channels(struct dispatch *dp, size_t *n)
{
	*n = dp->chans.cur->n;
	return dp->chans.cur->v;
}

int
dispatch_reload(struct dispatch *dp, const struct config *next,
    char *changed, size_t changedlen, char *err, size_t errlen)
{
	if (chan_reload(&dp->chans, next, changed, changedlen, err,
	    errlen) != 0)
		return -1;
	/* Queued messages move to the new channels as they are sent. */
	dispatch_wake(dp);
	return 0;
}

/* ---- life ----------------------------------------------------------------------- */

struct dispatch *
dispatch_new(struct daemon *d, char *err, size_t errlen)
{
	struct dispatch *dp = calloc(1, sizeof(*dp));
	struct httpc_opts ho = { .max_total_connections = 256 };
	struct timeval tv = { 0, DISPATCH_TICK_MS * 1000 };

	if (dp == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	dp->d = d;
	TAILQ_INIT(&dp->ready);
	TAILQ_INIT(&dp->settling);
	TAILQ_INIT(&dp->written);
	dp->cursor.priority = -1;
	srandom((unsigned)alert_now_ms());
	if ((d->httpc = httpc_new(d->base, &ho)) == NULL) {
		snprintf(err, errlen, "cannot start the HTTP client");
		free(dp);
		return NULL;
	}
	if (chan_open_all(&dp->chans, d, dp, err, errlen) != 0) {
		httpc_free(d->httpc);
		d->httpc = NULL;
		free(dp);
		return NULL;
	}
	dp->tick = event_new(d->base, -1, EV_PERSIST, dispatch_tick, dp);
	dp->kick = evtimer_new(d->base, dispatch_kick, dp);
	dp->refill = event_new(d->base, -1, 0, dispatch_kick, dp);
	if (dp->refill != NULL)
		event_priority_set(dp->refill, 0);
	if (dp->tick == NULL || dp->kick == NULL || dp->refill == NULL ||
	    event_add(dp->tick, &tv) != 0) {
		snprintf(err, errlen, "cannot start the dispatcher");
		dispatch_free(dp);
		return NULL;
	}
	return dp;
}

void
dispatch_free(struct dispatch *dp)
{
	struct job *j;

	if (dp == NULL)
		return;
	dp->stopping = true;
	if (dp->tick != NULL)
		event_free(dp->tick);
	if (dp->kick != NULL)
		event_free(dp->kick);
	if (dp->refill != NULL)
		event_free(dp->refill);
	/* Transfers end first (their plugins hear of it), then plugins close. */
	httpc_free(dp->d->httpc);
	dp->d->httpc = NULL;
	chan_close_all(&dp->chans);
	/* What is not written stays queued in the store: sent again later. */
	while ((j = TAILQ_FIRST(&dp->ready)) != NULL) {
		TAILQ_REMOVE(&dp->ready, j, q);
		dp_job_free(dp, j);
	}
	while ((j = TAILQ_FIRST(&dp->settling)) != NULL) {
		TAILQ_REMOVE(&dp->settling, j, q);
		dp_job_free(dp, j);
	}
	while ((j = TAILQ_FIRST(&dp->written)) != NULL) {
		TAILQ_REMOVE(&dp->written, j, q);
		dp_job_free(dp, j);
	}
	for (size_t i = 0; i < dp->jobs.cap; i++)
		if (dp->jobs.v[i].val != NULL) {
			j = dp->jobs.v[i].val;
			dp->jobs.v[i].val = NULL;
			if (j->req != NULL && --j->req->left == 0)
				free(j->req);
			composed_free(&j->msg);
			dlv_row_free(j->row);
			free(j);
		}
	for (size_t i = 0; i < dp->n_alerts; i++)
		alert_brief_free(&dp->alerts[i].b);
	idtable_free(&dp->jobs);
	free(dp->pending);
	free(dp);
}
