/*
 * escalate.c - the escalation clock.
 *
 * Every second a reader asks the store for due steps; each fires on the
 * writer (whose order makes a step and the sends it queues one commit).
 * The timers are rows: a restart finds them due where it left them.
 */
#include "escalate.h"
#include "alert.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "log.h"
#include "store.h"

#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ESC_TICK_MS	1000
#define ESC_BATCH	16	/* steps read at once */

struct escalate {
	struct daemon	*d;
	struct event	*tick;
	struct esc_ctx	 ctx;		/* routes; now is set per step */
	bool		 reading;
	size_t		 firing;
	bool		 stopping;
};

struct esc_due {
	struct escalate	*e;
	int64_t		 ids[ESC_BATCH];
	size_t		 n;
	int64_t		 now;
};

struct esc_job {
	struct escalate	*e;
	int64_t		 id;
	struct esc_ctx	 ctx;
	struct esc_fired out;
};

static int
esc_fire_run(struct store *st, void *arg)
{
	struct esc_job *j = arg;

	return store_esc_fire(st, j->id, &j->ctx, &j->out);
}

static void
esc_fire_done(int rc, void *arg)
{
	struct esc_job *j = arg;
	struct escalate *e = j->e;
	char code[16];

	e->firing--;
	alert_code(j->out.alert_id, code);
	if (rc != STORE_OK)
		log_warnx("escalation: step %lld could not fire; it will be "
		    "tried again", (long long)j->id);
	else if (!j->out.skipped)
		log_info("escalation: %s %s: %zu silent, %zu resent, %zu told, "
		    "%zu with nobody to tell", code, j->out.action,
		    j->out.silent, j->out.resent, j->out.told,
		    j->out.unreachable);
	if (rc == STORE_OK && (j->out.resent > 0 || j->out.told > 0))
		dispatch_wake(e->d->dispatch);
	free(j);
}

static int
esc_due_run(struct store *st, void *arg)
{
	struct esc_due *q = arg;

	return store_esc_due(st, q->now, q->ids, ESC_BATCH, &q->n);
}

static void
esc_due_done(int rc, void *arg)
{
	struct esc_due *q = arg;
	struct escalate *e = q->e;
	struct esc_job *j;

	e->reading = false;
	for (size_t i = 0; rc == STORE_OK && !e->stopping && i < q->n; i++) {
		if ((j = calloc(1, sizeof(*j))) == NULL)
			break;
		j->e = e;
		j->id = q->ids[i];
		j->ctx = e->ctx;
		j->ctx.now = alert_now_ms();
		e->firing++;
		if (dbq_submit(e->d->writer, esc_fire_run, esc_fire_done, j,
		    0) != 0) {
			e->firing--;
			free(j);
			break;
		}
	}
	free(q);
}

static void
esc_tick(evutil_socket_t fd, short what, void *arg)
{
	struct escalate *e = arg;
	struct esc_due *q;

	(void)fd;
	(void)what;
	/* One round at a time: a step is never read again while it fires. */
	if (e->stopping || e->reading || e->firing > 0 ||
	    (q = calloc(1, sizeof(*q))) == NULL)
		return;
	q->e = e;
	q->now = alert_now_ms();
	e->reading = true;
	if (dbq_submit(e->d->readers, esc_due_run, esc_due_done, q, 0) != 0) {
		e->reading = false;
		free(q);
	}
}

/* The first and second channel of each role, from routing. */
static void
esc_routes(const struct config *cfg, struct esc_ctx *x)
{
	for (size_t i = 0; i < cfg->n_routing; i++) {
		int role = roster_role_parse(cfg->routing[i].role);

		if (role < 0)
			continue;
		for (size_t k = 0; k < 2 && k < cfg->routing[i].n_channels; k++)
			x->route[role][k] = cfg->routing[i].channels[k];
	}
}

struct escalate *
escalate_new(struct daemon *d, char *err, size_t errlen)
{
	struct escalate *e = calloc(1, sizeof(*e));
	struct timeval tv = { ESC_TICK_MS / 1000, (ESC_TICK_MS % 1000) * 1000 };

	if (e == NULL ||
	    (e->tick = event_new(d->base, -1, EV_PERSIST, esc_tick, e)) ==
	    NULL || event_add(e->tick, &tv) != 0) {
		snprintf(err, errlen, "cannot start the escalation clock");
		escalate_free(e);
		return NULL;
	}
	e->d = d;
	esc_routes(d->cfg, &e->ctx);
	return e;
}

void
escalate_stop(struct escalate *e)
{
	if (e != NULL)
		e->stopping = true;
}

const struct esc_ctx *
escalate_routes(const struct escalate *e)
{
	return e != NULL ? &e->ctx : NULL;
}

size_t
escalate_busy(const struct escalate *e)
{
	return e == NULL ? 0 : e->firing + (e->reading ? 1 : 0);
}

void
escalate_free(struct escalate *e)
{
	if (e == NULL)
		return;
	if (e->tick != NULL)
		event_free(e->tick);
	free(e);
}
