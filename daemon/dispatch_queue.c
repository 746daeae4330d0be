/*
 * dispatch_queue.c - reading the send queue: pages of due deliveries in
 * send order, their messages rendered on the reader thread, taken into
 * the send queue on the loop.
 */
#include "dispatch_priv.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "log.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
page_row(struct dlv_row *r, void *arg)
{
	struct page *pg = arg;
	struct job *j;

	if (pg->n == pg->cap) {
		size_t cap = pg->cap ? pg->cap * 2 : 256;
		struct job **v = realloc(pg->jobs, cap * sizeof(*v));

		if (v == NULL) {
			dlv_row_free(r);
			return -1;
		}
		pg->jobs = v;
		pg->cap = cap;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		dlv_row_free(r);
		return -1;
	}
	j->row = r;
	j->st = JOB_READY;
	snprintf(j->id, sizeof(j->id), "%lld", (long long)r->id);
	pg->jobs[pg->n++] = j;
	return 0;
}

/*
 * Reader thread: render a page's messages here, off the loop.  Only what
 * does not change under it is touched: the configuration in effect when
 * the page was asked for (a reload keeps it alive), the key, the channel
 * set.  A job that cannot be rendered here is rendered, or failed, on the
 * loop.
 */
static void
page_compose(struct page *pg)
{
	struct dispatch *dp = pg->dp;
	char err[256];

	for (size_t i = 0; i < pg->n; i++) {
		struct job *j = pg->jobs[i];
		const struct cached_alert *a = NULL;

		for (size_t k = 0; k < pg->n_alerts && a == NULL; k++)
			if (pg->alerts[k].id == j->row->alert_id)
				a = &pg->alerts[k];
		if (a == NULL || !a->b.active ||
		    (j->chan = chan_find(pg->chans, j->row->channel)) == NULL)
			continue;
		if (dp_job_render(dp, pg->cfg, j, a, err, sizeof(err)) != 0)
			composed_free(&j->msg);
	}
}

/* A grid this page looked up for group robots. */
struct page_grid {
	const char		*code;		/* a row's grid: lives as long */
	struct grid_info	 info;
	bool			 found;
};

static char *
page_dup(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/*
 * Reader thread: give each delivery on a group robot's channel its grid's
 * label and the robot addresses the grid's rows name, one lookup per grid
 * a page (a few grids per page of a city-wide alert; none for others).
 */
static void
page_grids(struct store *st, struct page *pg)
{
	struct page_grid g[DISPATCH_GRIDS];
	size_t n = 0, k;

	for (size_t i = 0; i < pg->n; i++) {
		struct dlv_row *r = pg->jobs[i]->row;
		struct sz_chan *c = chan_find(pg->chans, r->channel);

		if (c == NULL || !chan_by_target(c))
			continue;
		for (k = 0; k < n && strcmp(g[k].code, r->grid) != 0; k++)
			;
		if (k == n && n == DISPATCH_GRIDS) {
			/* More grids than remembered: look this one up alone. */
			struct grid_info one;

			if (store_grid_info(st, r->grid, &one) == STORE_OK) {
				r->group = one.label;
				r->grid_channels = one.channels;
			}
			continue;
		}
		if (k == n) {
			g[n].code = r->grid;
			g[n].found = store_grid_info(st, r->grid, &g[n].info) ==
			    STORE_OK;
			n++;
		}
		if (!g[k].found)
			continue;
		r->group = page_dup(g[k].info.label);
		r->grid_channels = page_dup(g[k].info.channels);
	}
	for (k = 0; k < n; k++)
		if (g[k].found)
			grid_info_free(&g[k].info);
}

/* Reader thread: a page of due deliveries and their alerts. */
static int
page_run(struct store *st, void *arg)
{
	struct page *pg = arg;
	int rc;

	if ((rc = store_dlv_page(st, &pg->after, pg->now, DISPATCH_PAGE,
	    page_row, pg)) != STORE_OK)
		return rc;
	for (size_t i = 0; i < pg->n; i++) {
		int64_t id = pg->jobs[i]->row->alert_id;
		bool known = false;

		for (size_t k = 0; k < pg->n_alerts && !known; k++)
			known = pg->alerts[k].id == id;
		if (known || pg->n_alerts == DISPATCH_ALERTS)
			continue;
		pg->alerts[pg->n_alerts].id = id;
		if (store_alert_brief(st, id, &pg->alerts[pg->n_alerts].b) ==
		    STORE_OK)
			pg->n_alerts++;
	}
	page_grids(st, pg);
	page_compose(pg);
	return STORE_OK;
}

static void
page_take(struct dispatch *dp, struct job *j)
{
	if (idtable_get(&dp->jobs, j->row->id) != NULL ||
	    idtable_put(&dp->jobs, j->row->id, j) != 0) {
		composed_free(&j->msg);
		dlv_row_free(j->row);
		free(j);
		return;
	}
	TAILQ_INSERT_TAIL(&dp->ready, j, q);
	dp->n_ready++;
	dp_job_prepare(dp, j);
}

static void
page_done(int rc, void *arg)
{
	struct page *pg = arg;
	struct dispatch *dp = pg->dp;
	struct job *j;

	dp->fetching = false;
	for (size_t i = 0; i < pg->n_alerts; i++)
		dp_alert_remember(dp, &pg->alerts[i]);
	for (size_t i = 0; i < pg->n; i++) {
		const struct dlv_row *r = pg->jobs[i]->row;

		if (i + 1 == pg->n) {
			dp->cursor.priority = r->priority;
			dp->cursor.next_at = r->next_at;
			dp->cursor.id = r->id;
		}
		page_take(dp, pg->jobs[i]);
	}
	/* The next page is read after those commits: it sees them. */
	while ((j = TAILQ_FIRST(&dp->written)) != NULL) {
		TAILQ_REMOVE(&dp->written, j, q);
		dp_job_free(dp, j);
	}
	if (rc != STORE_OK || pg->n < DISPATCH_PAGE) {
		/* Read to the end: start over, for retries now due. */
		dp->cursor = (struct dlv_cursor){ .priority = -1 };
		dp->exhausted_at = alert_now_ms();
	}
	free(pg->jobs);
	free(pg);
}

void
dp_fetch(struct dispatch *dp, bool woken)
{
	struct page *pg;
	int64_t now = alert_now_ms();

	if (dp->fetching || dp->stopping || dp->n_ready >= DISPATCH_LOW)
		return;
	if (!woken && dp->cursor.priority < 0 &&
	    now - dp->exhausted_at < DISPATCH_IDLE_MS)
		return;
	if ((pg = calloc(1, sizeof(*pg))) == NULL)
		return;
	pg->dp = dp;
	pg->cfg = dp->d->cfg;
	pg->chans = dp->chans.cur;
	pg->after = dp->cursor;
	pg->now = now;
	dp->fetching = true;
	if (dbq_submit(dp->d->readers, page_run, page_done, pg, 0) != 0) {
		dp->fetching = false;
		free(pg);
	}
}

