/*
 * chan.c - channels at run time and the host side of the plugin ABI.
 */
#include "chan.h"
#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "httpc.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- settings -------------------------------------------------------------- */

/* The channel's group, else its secrets (from the secrets file). */
static const config_setting_t *
host_setting(struct sz_chan *c, const char *key)
{
	const config_setting_t *s = config_setting_get_member(c->cfg->settings,
	    key);

	if (s == NULL && c->cfg->secrets != NULL)
		s = config_setting_get_member(c->cfg->secrets, key);
	return s;
}

static const char *
host_setting_string(struct sz_chan *c, const char *key)
{
	const config_setting_t *s = host_setting(c, key);

	return s != NULL ? config_setting_get_string(s) : NULL;
}

static long long
host_setting_int(struct sz_chan *c, const char *key, long long def)
{
	const config_setting_t *s = host_setting(c, key);

	return s != NULL ? config_setting_get_int64(s) : def;
}

static bool
host_setting_bool(struct sz_chan *c, const char *key, bool def)
{
	const config_setting_t *s = host_setting(c, key);

	return s != NULL ? config_setting_get_bool(s) != 0 : def;
}

static double
host_setting_float(struct sz_chan *c, const char *key, double def)
{
	const config_setting_t *s = host_setting(c, key);

	if (s == NULL)
		return def;
	return config_setting_type(s) == CONFIG_TYPE_FLOAT ?
	    config_setting_get_float(s) : (double)config_setting_get_int64(s);
}

static const char *
host_channel_name(struct sz_chan *c)
{
	return c->cfg->name;
}

static const char *
host_inbound_url(struct sz_chan *c)
{
	return c->inbound_url;
}

/* ---- logging ----------------------------------------------------------------- */

static void
host_log(struct sz_chan *c, enum sz_log_level level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	switch (level) {
	case SZ_LOG_ERROR:
		c->n_errors++;
		log_error("channel %s: %s", c->cfg->name, msg);
		break;
	case SZ_LOG_WARN: log_warnx("channel %s: %s", c->cfg->name, msg); break;
	case SZ_LOG_INFO: log_info("channel %s: %s", c->cfg->name, msg); break;
	default: log_debug("channel %s: %s", c->cfg->name, msg); break;
	}
}

/* ---- HTTP -------------------------------------------------------------------- */

struct host_http {
	struct sz_chan	*c;
	sz_http_done	 done;
	void		*arg;
};

static const char *
host_resp_header(const struct sz_http_resp *resp, const char *name)
{
	return httpc_resp_header(resp->priv, name);
}

static void
host_http_done(const struct httpc_resp *hr, void *arg)
{
	struct host_http *h = arg;
	struct sz_http_resp resp = {
		.status = hr->status,
		.transport_error = hr->curl_code,
		.error = hr->error,
		.body = hr->body,
		.body_len = hr->body_len,
		.header = host_resp_header,
		.priv = hr,
	};

	h->c->http_pending--;
	h->done(h->arg, &resp);
	free(h);
}

static int
host_http(struct sz_chan *c, const struct sz_http_req *req, sz_http_done done,
    void *arg)
{
	struct host_http *h = malloc(sizeof(*h));
	struct httpc_req r = {
		.method = req->method, .url = req->url, .headers = req->headers,
		.n_headers = req->n_headers, .body = req->body,
		.body_len = req->body_len, .timeout_ms = req->timeout_ms,
	};

	if (h == NULL)
		return -1;
	h->c = c;
	h->done = done;
	h->arg = arg;
	if (httpc_send(c->d->httpc, &r, host_http_done, h) != 0) {
		free(h);
		return -1;
	}
	c->http_pending++;
	c->n_requests++;
	return 0;
}

/* ---- outcomes, receipts, replies ----------------------------------------------- */

static void
host_outcome(struct sz_chan *c, const char *msg_id, enum sz_outcome outcome,
    const char *provider_id, int retry_after, const char *why)
{
	if (outcome == SZ_ACCEPTED)
		c->n_accepted++;
	else if (outcome == SZ_RETRY)
		c->n_retried++;
	else
		c->n_failed++;
	dispatch_outcome(c->dp, c, msg_id, outcome, provider_id, retry_after,
	    why);
}

static int
host_receipt(struct sz_chan *c, const char *id, bool by_provider,
    enum sz_receipt state, const char *why)
{
	if (state == SZ_RECEIPT_ACCEPTED)
		return 0;
	if (state == SZ_RECEIPT_DELIVERED)
		c->n_delivered++;
	else
		c->n_undelivered++;
	return dispatch_receipt(c->dp, c, id, by_provider,
	    state == SZ_RECEIPT_DELIVERED, why);
}

static int
host_reply(struct sz_chan *c, const char *phone, const char *text)
{
	struct chan_reply *v, r;
	char masked[16];

	/* Kept for api_inbound(), which takes them once inbound() returns. */
	if (c->n_replies >= CHAN_MAX_REPLIES) {
		log_warnx("channel %s: more than %d replies in one callback: "
		    "the one from %s refused", c->cfg->name, CHAN_MAX_REPLIES,
		    log_phone(phone, masked, sizeof(masked)));
		return -1;
	}
	if ((v = realloc(c->replies, (c->n_replies + 1) * sizeof(*v))) == NULL)
		return -1;
	c->replies = v;
	r.phone = strdup(phone);
	r.text = strdup(text);
	if (r.phone == NULL || r.text == NULL) {
		free(r.phone);
		free(r.text);
		return -1;
	}
	c->replies[c->n_replies++] = r;
	return 0;
}

void
chan_replies_free(struct chan_reply *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].phone);
		free(v[i].text);
	}
	free(v);
}

/*
 * The file channel's append: one small write with O_APPEND, so lines from
 * one call are never interleaved with another's.
 */
static int
host_file_append(struct sz_chan *c, const char *data, size_t len)
{
	const char *path = host_setting_string(c, "path");
	ssize_t n;
	int fd, e;

	if (path == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	    0640)) < 0)
		return -1;
	n = write(fd, data, len);
	e = errno;
	close(fd);
	if (n != (ssize_t)len) {
		errno = n < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

static const struct sz_host chan_host = {
	.abi = SZ_PLUGIN_ABI,
	.log = host_log,
	.setting_string = host_setting_string,
	.setting_int = host_setting_int,
	.setting_bool = host_setting_bool,
	.setting_float = host_setting_float,
	.channel_name = host_channel_name,
	.inbound_url = host_inbound_url,
	.http = host_http,
	.outcome = host_outcome,
	.receipt = host_receipt,
	.reply = host_reply,
	.file_append = host_file_append,
};

/* ---- the set ------------------------------------------------------------------- */

/* Open channel c from cfg (its config file, plugin directory, public URL). */
static int
chan_open_one(struct sz_chan *c, struct chan_set *cs, const struct config *cfg,
    char *err, size_t errlen)
{
	const struct plugin_mod *m;
	char perr[256] = "";

	m = plugin_get(&cs->plugins, cfg->plugin_dir, c->cfg->plugin, perr,
	    sizeof(perr));
	if (m == NULL) {
		snprintf(err, errlen, "%s:%d: channel '%s': %s", cfg->file,
		    c->cfg->line, c->cfg->name, perr);
		return -1;
	}
	if (plugin_check_settings(m->p, c->cfg, cfg->file, err, errlen) != 0)
		return -1;
	c->plugin = m->p;
	c->batch = m->p->max_batch;
	if (c->cfg->batch > 0 && (unsigned)c->cfg->batch < c->batch)
		c->batch = (unsigned)c->cfg->batch;
	/* The secret, when set, is a path segment: plugins append queries. */
	snprintf(c->inbound_url, sizeof(c->inbound_url), "%s/v1/inbound/%s%s%s",
	    cfg->public_url, c->cfg->name, c->cfg->inbound_secret ? "/" : "",
	    c->cfg->inbound_secret ? c->cfg->inbound_secret : "");
	if (c->cfg->inbound_secret == NULL && m->p->inbound != NULL)
		log_warnx("channel %s: inbound callbacks are not authenticated; "
		    "set inbound_secret", c->cfg->name);
	if (chan_targets_new(c) != 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->tokens = c->cfg->rate > 0 ? c->cfg->rate : 0;
	clock_gettime(CLOCK_MONOTONIC, &c->refilled);
	if (m->p->open(&chan_host, c, &c->state, perr, sizeof(perr)) != 0) {
		snprintf(err, errlen, "%s:%d: channel '%s' (plugin %s): %s",
		    cfg->file, c->cfg->line, c->cfg->name, m->p->name,
		    perr[0] ? perr : "cannot open");
		c->plugin = NULL;
		return -1;
	}
	log_info("channel %s: plugin %s, batch %u, rate %g/s, concurrency %d",
	    c->cfg->name, m->p->name, c->batch, c->cfg->rate,
	    c->cfg->concurrency);
	return 0;
}

static void
chan_close_one(struct sz_chan *c)
{
	if (c->closed)
		return;
	if (c->plugin != NULL && c->plugin->close != NULL)
		c->plugin->close(c->state);
	c->state = NULL;
	c->closed = true;
	chan_replies_free(c->replies, c->n_replies);
	c->replies = NULL;
	c->n_replies = 0;
	chan_targets_free(c);
}

/* A new channel for cfg's channel i, kept in cs->all; NULL and err if not. */
static struct sz_chan *
chan_new(struct chan_set *cs, const struct config *cfg, size_t i, char *err,
    size_t errlen)
{
	struct sz_chan *c, **all;

	if ((all = reallocarray(cs->all, cs->n_all + 1, sizeof(*all))) ==
	    NULL || (cs->all = all, c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->d = cs->d;
	c->dp = cs->dp;
	c->cfg = &cfg->channels[i];
	c->first = c;
	if (chan_open_one(c, cs, cfg, err, errlen) != 0) {
		chan_targets_free(c);
		free(c);
		return NULL;
	}
	cs->all[cs->n_all++] = c;
	return c;
}

/* A view of n channels, kept in cs->views; NULL when out of memory. */
static struct chan_view *
chan_view_new(struct chan_set *cs, size_t n)
{
	struct chan_view *v, **views;

	if ((views = reallocarray(cs->views, cs->n_views + 1,
	    sizeof(*views))) == NULL)
		return NULL;
	cs->views = views;
	if ((v = calloc(1, sizeof(*v) + n * sizeof(v->v[0]))) == NULL)
		return NULL;
	v->n = n;
	cs->views[cs->n_views++] = v;
	return v;
}

int
chan_open_all(struct chan_set *cs, struct daemon *d, struct dispatch *dp,
    char *err, size_t errlen)
{
	const struct config *cfg = d->cfg;

	memset(cs, 0, sizeof(*cs));
	cs->d = d;
	cs->dp = dp;
	if ((cs->cur = chan_view_new(cs, cfg->n_channels)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_channels; i++)
		if ((cs->cur->v[i] = chan_new(cs, cfg, i, err, errlen)) ==
		    NULL) {
			chan_close_all(cs);
			return -1;
		}
	return 0;
}

int
chan_check_all(const struct config *cfg, char *err, size_t errlen)
{
	struct daemon d = { .cfg = (struct config *)cfg };
	struct chan_set cs;

	if (chan_open_all(&cs, &d, NULL, err, errlen) != 0)
		return -1;
	chan_close_all(&cs);
	return 0;
}

void
chan_close_all(struct chan_set *cs)
{
	for (size_t i = 0; i < cs->n_all; i++) {
		chan_close_one(cs->all[i]);
		free(cs->all[i]);
	}
	free(cs->all);
	for (size_t i = 0; i < cs->n_views; i++)
		free(cs->views[i]);
	free(cs->views);
	plugin_set_free(&cs->plugins);
	memset(cs, 0, sizeof(*cs));
}

/* Append ", name what" to the reload's summary. */
static void
chan_note(char *buf, size_t len, const char *name, const char *what)
{
	size_t off = strlen(buf);

	snprintf(buf + off, len > off ? len - off : 0, "%s%s %s",
	    off ? ", " : "", name, what);
}

int
chan_reload(struct chan_set *cs, const struct config *next, char *changed,
    size_t changedlen, char *err, size_t errlen)
{
	struct chan_view *old = cs->cur, *v;
	struct sz_chan *c, *was;
	size_t n_all = cs->n_all, i, k;

	changed[0] = '\0';
	if ((v = chan_view_new(cs, next->n_channels)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < next->n_channels; i++) {
		was = chan_find(old, next->channels[i].name);
		if (was != NULL && config_channel_eq(was->cfg,
		    &next->channels[i])) {
			v->v[i] = was;
			continue;
		}
		if ((c = chan_new(cs, next, i, err, errlen)) == NULL)
			goto fail;
		if (was != NULL) {
			/* The counters go on: /metrics sees one channel. */
			c->n_messages = was->n_messages;
			c->n_requests = was->n_requests;
			c->n_accepted = was->n_accepted;
			c->n_retried = was->n_retried;
			c->n_failed = was->n_failed;
			c->n_delivered = was->n_delivered;
			c->n_undelivered = was->n_undelivered;
			c->n_errors = was->n_errors;
			/*
			 * So do the concurrency and the rate: what the old
			 * one still has in flight counts, and a reload
			 * never refills the bucket.
			 */
			c->first = was->first;
			c->tokens = was->tokens;
			c->refilled = was->refilled;
		}
		chan_note(changed, changedlen, next->channels[i].name,
		    was != NULL ? "changed" : "added");
		v->v[i] = c;
	}
	/* Committed: the kept ones read next's settings (equal values). */
	for (i = 0; i < next->n_channels; i++)
		v->v[i]->cfg = &next->channels[i];
	for (k = 0; k < old->n; k++) {
		for (i = 0; i < v->n && v->v[i] != old->v[k]; i++)
			;
		if (i < v->n)
			continue;
		old->v[k]->retired = true;
		if (chan_find(v, old->v[k]->cfg->name) == NULL)
			chan_note(changed, changedlen, old->v[k]->cfg->name,
			    "removed");
	}
	cs->cur = v;
	return 0;
fail:
	/* Close what this reload opened; the running view stays. */
	for (k = n_all; k < cs->n_all; k++) {
		chan_close_one(cs->all[k]);
		free(cs->all[k]);
	}
	cs->n_all = n_all;
	free(cs->views[--cs->n_views]);
	return -1;
}

void
chan_reap(struct chan_set *cs)
{
	for (size_t i = 0; i < cs->n_all; i++) {
		struct sz_chan *c = cs->all[i];

		if (c->retired && !c->closed && c->inflight == 0 &&
		    c->http_pending == 0) {
			log_info("channel %s: the configuration before the "
			    "reload is closed", c->cfg->name);
			chan_close_one(c);
		}
	}
}

struct sz_chan *
chan_find(const struct chan_view *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i]->cfg->name, name) == 0)
			return v->v[i];
	return NULL;
}

/*
 * Concurrency counts requests (send() calls) in flight; the rate counts
 * messages, or for a group robot requests (posts).  One more request may
 * carry up to a batch of messages.
 */
unsigned
chan_budget(struct sz_chan *c)
{
	struct timespec now;
	double dt, cap;
	bool posts = chan_by_target(c);

	if (chan_inflight(c) >= c->cfg->concurrency)
		return 0;
	if (c->cfg->rate <= 0)
		return c->batch;
	clock_gettime(CLOCK_MONOTONIC, &now);
	dt = (double)(now.tv_sec - c->refilled.tv_sec) +
	    (double)(now.tv_nsec - c->refilled.tv_nsec) / 1e9;
	c->refilled = now;
	/* A second's worth, and at least one full batch, may be saved up. */
	cap = c->cfg->rate > c->batch ? c->cfg->rate : c->batch;
	if (posts)
		cap = c->cfg->rate > 1 ? c->cfg->rate : 1;
	c->tokens += dt * c->cfg->rate;
	if (c->tokens > cap)
		c->tokens = cap;
	if (posts)
		return c->tokens >= 1 ? c->batch : 0;
	return c->tokens < c->batch ? (unsigned)c->tokens : c->batch;
}

void
chan_spend(struct sz_chan *c, unsigned n)
{
	c->inflight++;
	c->first->line_inflight++;
	if (c->cfg->rate > 0)
		c->tokens -= chan_by_target(c) ? 1 : n;
}

void
chan_done(struct sz_chan *c)
{
	c->inflight--;
	c->first->line_inflight--;
}
