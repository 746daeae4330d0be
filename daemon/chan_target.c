/*
 * chan_target.c - what a group robot's provider allows one target (one
 * robot URL): at most N posts in any S seconds, for each limit the plugin
 * declares (DingTalk and WeCom 20 a minute; Feishu 100 a minute and 5 a
 * second).  The channel's own token bucket spans all its robots, so with
 * many grids on one channel it cannot keep any single robot within its
 * limit; this does, with the times of each target's last posts.
 */
#include "chan.h"

#include <stdlib.h>
#include <string.h>

#define CT_BUCKETS	256

/* One target: its newest posts' times, a ring of `cap` entries. */
struct ct_entry {
	struct ct_entry	*next;
	char		*key;		/* the URL; "" = the channel's own */
	size_t		 head, n;	/* the next slot; slots filled */
	int64_t		 at[];		/* ms */
};

struct chan_targets {
	unsigned	 cap;		/* the largest count of any limit */
	struct ct_entry	*b[CT_BUCKETS];
};

static unsigned
ct_hash(const char *s)
{
	unsigned h = 2166136261u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CT_BUCKETS;
}

static struct ct_entry *
ct_find(struct chan_targets *t, const char *key, bool add)
{
	unsigned h = ct_hash(key);
	struct ct_entry *e;

	for (e = t->b[h]; e != NULL; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!add || (e = calloc(1, sizeof(*e) + t->cap * sizeof(e->at[0]))) ==
	    NULL)
		return NULL;
	if ((e->key = strdup(key)) == NULL) {
		free(e);
		return NULL;
	}
	e->next = t->b[h];
	t->b[h] = e;
	return e;
}

/* The time of the k-th newest post (k >= 1, k <= e->n). */
static int64_t
ct_nth_newest(const struct chan_targets *t, const struct ct_entry *e,
    size_t k)
{
	return e->at[(e->head + t->cap - k) % t->cap];
}

int64_t
chan_target_wait(struct sz_chan *c, const char *target, int64_t now)
{
	const struct sz_limit *l = c->plugin->target_limits;
	struct ct_entry *e;
	int64_t wait = 0, until;

	if (c->targets == NULL ||
	    (e = ct_find(c->targets, target ? target : "", false)) == NULL)
		return 0;
	for (; l != NULL && l->count > 0; l++) {
		if (e->n < l->count)
			continue;
		until = ct_nth_newest(c->targets, e, l->count) +
		    (int64_t)l->seconds * 1000;
		if (until - now > wait)
			wait = until - now;
	}
	return wait;
}

void
chan_target_spend(struct sz_chan *c, const char *target, int64_t now)
{
	struct ct_entry *e;

	if (c->targets == NULL ||
	    (e = ct_find(c->targets, target ? target : "", true)) == NULL)
		return;
	e->at[e->head] = now;
	e->head = (e->head + 1) % c->targets->cap;
	if (e->n < c->targets->cap)
		e->n++;
}

int
chan_targets_new(struct sz_chan *c)
{
	const struct sz_limit *l = c->plugin->target_limits;
	unsigned cap = 0;

	for (; l != NULL && l->count > 0; l++)
		if (l->count > cap)
			cap = l->count;
	if (cap == 0)
		return 0;
	if ((c->targets = calloc(1, sizeof(*c->targets))) == NULL)
		return -1;
	c->targets->cap = cap;
	return 0;
}

void
chan_targets_free(struct sz_chan *c)
{
	struct ct_entry *e;

	if (c->targets == NULL)
		return;
	for (size_t i = 0; i < CT_BUCKETS; i++)
		while ((e = c->targets->b[i]) != NULL) {
			c->targets->b[i] = e->next;
			free(e->key);
			free(e);
		}
	free(c->targets);
	c->targets = NULL;
}
