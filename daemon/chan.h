/*
 * chan.h - configured channels at run time: each one's plugin instance,
 * send rate (a token bucket) and concurrency, and the host functions
 * (struct sz_host) its plugin calls.
 */
#ifndef SANZHANG_CHAN_H
#define SANZHANG_CHAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <time.h>

#include <sanzhang/plugin.h>

#include "plugin.h"

struct cfg_channel;
struct chan_targets;
struct config;
struct daemon;
struct dispatch;

/* Most SMS replies one inbound callback may carry (a gateway's batch). */
#define CHAN_MAX_REPLIES	100

struct chan_reply {
	char	*phone;
	char	*text;
};

/* One configured channel (the ABI's opaque struct sz_chan). */
struct sz_chan {
	struct daemon			*d;
	struct dispatch			*dp;
	const struct cfg_channel	*cfg;
	const struct sz_plugin		*plugin;
	void				*state;		/* the plugin's */
	char				 inbound_url[512];
	unsigned			 batch;		/* messages per send() */
	int				 inflight;	/* send() requests not yet
							 * fully answered */
	/*
	 * The first generation of this channel since start: itself, unless
	 * a reload replaced one of the same name.  Its line_inflight counts
	 * the requests in flight on every generation, so that a retired one
	 * still finishing and its successor share one concurrency.
	 */
	struct sz_chan			*first;
	int				 line_inflight;
	bool				 full;		/* no budget left this pass */
	bool				 retired;	/* replaced or dropped by a
							 * reload: sends nothing more */
	bool				 closed;	/* its plugin closed */
	int				 http_pending;	/* host->http() calls not yet
							 * answered */
	struct chan_targets		*targets;	/* per-target limits (robots),
							 * or NULL */
	double				 tokens;	/* rate budget now */
	struct timespec			 refilled;
	/* The SMS replies heard during the inbound() call now running. */
	struct chan_reply		*replies;
	size_t				 n_replies;
	/* Since start, for /healthz (and later /metrics). */
	uint64_t			 n_messages;	/* handed to send() */
	uint64_t			 n_requests;	/* HTTP requests made */
	uint64_t			 n_accepted;
	uint64_t			 n_retried;
	uint64_t			 n_failed;
	uint64_t			 n_delivered;	/* receipts */
	uint64_t			 n_undelivered;
	uint64_t			 n_errors;	/* send() refused, errors
							 * the plugin logged */
};

/*
 * The channels in effect: an immutable list, replaced whole by a reload.
 * A reader thread may hold a view while the loop moves on to the next;
 * views, like channels, are freed only at exit.
 */
struct chan_view {
	size_t			 n;
	struct sz_chan		*v[];
};

/* Every channel since start: the current view and what a reload retired. */
struct chan_set {
	struct daemon		*d;
	struct dispatch		*dp;
	struct plugin_set	 plugins;	/* loaded, never unloaded */
	struct chan_view	*cur;
	struct chan_view	**views;	/* every view made, cur last */
	size_t			 n_views;
	struct sz_chan		**all;		/* every channel opened */
	size_t			 n_all;
};

/*
 * Load every channel's plugin, check its settings and open it.  Errors
 * name the config file and line; nothing is left open on failure.
 */
int chan_open_all(struct chan_set *cs, struct daemon *d, struct dispatch *dp,
    char *err, size_t errlen);
void chan_close_all(struct chan_set *cs);
/*
 * A reload: keep each channel whose configuration in next is unchanged,
 * open the new and changed ones from next, and make them current; the
 * replaced and dropped ones are retired (they finish what they sent, then
 * chan_reap() closes them).  On error (named by file and line) nothing
 * changed.  Logs what changed in *changed (e.g. "sms changed, fax added").
 */
int chan_reload(struct chan_set *cs, const struct config *next,
    char *changed, size_t changedlen, char *err, size_t errlen);
/* Close the plugins of retired channels that have nothing in flight. */
void chan_reap(struct chan_set *cs);
/*
 * For sanzhangd -t: load, check and open every channel of cfg, then close
 * them again (plugins do no I/O when opened).  -1 and err as above.
 */
int chan_check_all(const struct config *cfg, char *err, size_t errlen);
struct sz_chan *chan_find(const struct chan_view *v, const char *name);
/* Free the replies a callback left (their ownership was not taken). */
void chan_replies_free(struct chan_reply *v, size_t n);

/* Refill the token bucket; how many messages one more request may carry
 * now (0 when the concurrency is used up or the rate is spent). */
unsigned chan_budget(struct sz_chan *c);
/* One request of n messages starts: count it and take n from the rate. */
void chan_spend(struct sz_chan *c, unsigned n);
/* A request chan_spend() counted is fully answered. */
void chan_done(struct sz_chan *c);

/* Requests in flight on the channel and on the ones it replaced. */
static inline int
chan_inflight(const struct sz_chan *c)
{
	return c->first->line_inflight;
}

/* Whether the channel's plugin batches by target (a group robot). */
static inline bool
chan_by_target(const struct sz_chan *c)
{
	return (c->plugin->flags & SZ_PLUGIN_BATCH_BY_TARGET) != 0;
}

/* chan_target.c: the plugin's target_limits, per target (a robot URL). */
int chan_targets_new(struct sz_chan *c);
void chan_targets_free(struct sz_chan *c);
/* ms until target (NULL: the channel's own URL) may take one more post. */
int64_t chan_target_wait(struct sz_chan *c, const char *target, int64_t now);
/* One post to target starts now. */
void chan_target_spend(struct sz_chan *c, const char *target, int64_t now);

#endif
