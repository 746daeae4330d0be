/*
 * metrics.c - GET /metrics: what the daemon did since it started, in the
 * Prometheus text format, for a scraper with a viewer token (or over the
 * control socket).
 *
 * Families: HTTP requests by route, method and code; answers by way and
 * the time from an alert's start to each recipient's first answer (a
 * histogram); per channel the messages handed to it, the requests made,
 * outcomes (accepted, retry, failed) and plugin errors; the queue depth;
 * database writes and group commits; whether the last commit failed.
 */
#include "api.h"
#include "chan.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "http.h"
#include "metrics.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define METRICS_HTTP_MAX	128	/* route x method x code combinations */

struct http_count {
	const char	*route;		/* NULL: a free slot */
	int		 method;
	int		 code;
	uint64_t	 n;
};

/* Seconds from an alert's start to a first answer. */
static const double ack_bounds[] = { 30, 60, 120, 300, 600, 1200, 1800,
    3600, 7200 };
#define N_ACK_BOUNDS	(sizeof(ack_bounds) / sizeof(ack_bounds[0]))

static const char *const ack_ways[] = { "link", "sms", "operator" };
#define N_ACK_WAYS	(sizeof(ack_ways) / sizeof(ack_ways[0]))

static struct {
	struct http_count	 http[METRICS_HTTP_MAX];
	uint64_t		 http_other;	/* when the table is full */
	uint64_t		 acks[N_ACK_WAYS];
	uint64_t		 ack_le[N_ACK_BOUNDS];	/* cumulative at render */
	uint64_t		 ack_count;
	double			 ack_sum;
} m;

void
metrics_http(const char *route, int method, int code)
{
	for (size_t i = 0; i < METRICS_HTTP_MAX; i++) {
		struct http_count *c = &m.http[i];

		if (c->route == NULL) {
			*c = (struct http_count){ route, method, code, 1 };
			return;
		}
		if (c->route == route && c->method == method &&
		    c->code == code) {
			c->n++;
			return;
		}
	}
	m.http_other++;
}

void
metrics_ack(const char *via, int64_t first_ms)
{
	size_t w = 2;	/* "operator:NAME" and anything else */

	for (size_t i = 0; i < 2; i++)
		if (strcmp(via, ack_ways[i]) == 0)
			w = i;
	m.acks[w]++;
	if (first_ms < 0)
		return;
	for (size_t i = 0; i < N_ACK_BOUNDS; i++)
		if ((double)first_ms / 1000.0 <= ack_bounds[i]) {
			m.ack_le[i]++;
			break;
		}
	m.ack_count++;
	m.ack_sum += (double)first_ms / 1000.0;
}

static const char *
method_name(int method)
{
	switch (method) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	default: return "OTHER";
	}
}

static void
family(struct evbuffer *o, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
	    type);
}

/* A label value: backslash, quote and newline escaped. */
static void
label(struct evbuffer *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(o, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(o, "\\n", 2);
		else
			evbuffer_add(o, v, 1);
	}
}

static void
render_http(struct evbuffer *o)
{
	family(o, "sanzhang_http_requests_total", "counter",
	    "HTTP requests answered, by route, method and status code.");
	for (size_t i = 0; i < METRICS_HTTP_MAX && m.http[i].route; i++) {
		evbuffer_add_printf(o, "sanzhang_http_requests_total{route=\"");
		label(o, m.http[i].route);
		evbuffer_add_printf(o, "\",method=\"%s\",code=\"%d\"} %llu\n",
		    method_name(m.http[i].method), m.http[i].code,
		    (unsigned long long)m.http[i].n);
	}
	if (m.http_other > 0)
		evbuffer_add_printf(o, "sanzhang_http_requests_total{route=\""
		    "(other)\",method=\"OTHER\",code=\"0\"} %llu\n",
		    (unsigned long long)m.http_other);
}

static void
render_acks(struct evbuffer *o)
{
	uint64_t cum = 0;

	family(o, "sanzhang_acks_total", "counter",
	    "Answers recorded (first or changed), by way.");
	for (size_t i = 0; i < N_ACK_WAYS; i++)
		evbuffer_add_printf(o, "sanzhang_acks_total{via=\"%s\"} %llu\n",
		    ack_ways[i], (unsigned long long)m.acks[i]);
	family(o, "sanzhang_time_to_ack_seconds", "histogram",
	    "Seconds from an alert's start to each recipient's first answer.");
	for (size_t i = 0; i < N_ACK_BOUNDS; i++) {
		cum += m.ack_le[i];
		evbuffer_add_printf(o, "sanzhang_time_to_ack_seconds_bucket"
		    "{le=\"%g\"} %llu\n", ack_bounds[i],
		    (unsigned long long)cum);
	}
	evbuffer_add_printf(o, "sanzhang_time_to_ack_seconds_bucket{le=\"+Inf\"}"
	    " %llu\nsanzhang_time_to_ack_seconds_sum %.3f\n"
	    "sanzhang_time_to_ack_seconds_count %llu\n",
	    (unsigned long long)m.ack_count, m.ack_sum,
	    (unsigned long long)m.ack_count);
}

static void
chan_line(struct evbuffer *o, const char *metric, const struct sz_chan *c,
    const char *extra, uint64_t v)
{
	evbuffer_add_printf(o, "%s{channel=\"", metric);
	label(o, c->cfg->name);
	evbuffer_add_printf(o, "\",plugin=\"%s\"%s} %llu\n", c->plugin->name,
	    extra, (unsigned long long)v);
}

static void
render_channels(struct evbuffer *o, struct daemon *d)
{
	size_t n;
	struct sz_chan *const *v = dispatch_channels(d->dispatch, &n);

	family(o, "sanzhang_channel_messages_total", "counter",
	    "Messages handed to the channel's plugin.");
	for (size_t i = 0; i < n; i++)
		chan_line(o, "sanzhang_channel_messages_total", v[i], "",
		    v[i]->n_messages);
	family(o, "sanzhang_channel_requests_total", "counter",
	    "HTTP requests the channel's plugin made (one may carry many "
	    "numbers).");
	for (size_t i = 0; i < n; i++)
		chan_line(o, "sanzhang_channel_requests_total", v[i], "",
		    v[i]->n_requests);
	family(o, "sanzhang_deliveries_total", "counter",
	    "Send outcomes by channel: accepted by the gateway, to retry, "
	    "failed.");
	for (size_t i = 0; i < n; i++) {
		chan_line(o, "sanzhang_deliveries_total", v[i],
		    ",outcome=\"accepted\"", v[i]->n_accepted);
		chan_line(o, "sanzhang_deliveries_total", v[i],
		    ",outcome=\"retry\"", v[i]->n_retried);
		chan_line(o, "sanzhang_deliveries_total", v[i],
		    ",outcome=\"failed\"", v[i]->n_failed);
	}
	family(o, "sanzhang_receipts_total", "counter",
	    "Delivery reports from the gateway, by channel and state.");
	for (size_t i = 0; i < n; i++) {
		chan_line(o, "sanzhang_receipts_total", v[i],
		    ",state=\"delivered\"", v[i]->n_delivered);
		chan_line(o, "sanzhang_receipts_total", v[i],
		    ",state=\"failed\"", v[i]->n_undelivered);
	}
	family(o, "sanzhang_plugin_errors_total", "counter",
	    "Plugin errors: send() refused, or an error the plugin logged.");
	for (size_t i = 0; i < n; i++)
		chan_line(o, "sanzhang_plugin_errors_total", v[i], "",
		    v[i]->n_errors);
	family(o, "sanzhang_channel_in_flight", "gauge",
	    "The channel's requests not yet answered (with those of the "
	    "configurations a reload replaced).");
	for (size_t i = 0; i < n; i++)
		chan_line(o, "sanzhang_channel_in_flight", v[i], "",
		    (uint64_t)chan_inflight(v[i]));
}

static void
render_queue(struct evbuffer *o, struct daemon *d)
{
	size_t commits, writes;

	dbq_stats(d->writer, &commits, &writes);
	family(o, "sanzhang_queue_depth", "gauge",
	    "Database jobs queued and deliveries read but not yet settled.");
	evbuffer_add_printf(o, "sanzhang_queue_depth %zu\n",
	    dbq_depth(d->writer) + dbq_depth(d->readers) +
	    dispatch_queued(d->dispatch));
	family(o, "sanzhang_db_writes_total", "counter",
	    "Database write jobs (each in its own savepoint).");
	evbuffer_add_printf(o, "sanzhang_db_writes_total %zu\n", writes);
	family(o, "sanzhang_db_commits_total", "counter",
	    "Group commits (transactions) the writes went out in.");
	evbuffer_add_printf(o, "sanzhang_db_commits_total %zu\n", commits);
	family(o, "sanzhang_db_writable", "gauge",
	    "1 unless the last database commit failed.");
	evbuffer_add_printf(o, "sanzhang_db_writable %d\n",
	    dbq_failing(d->writer) ? 0 : 1);
	family(o, "sanzhang_start_time_seconds", "gauge",
	    "When the daemon started (Unix time).");
	evbuffer_add_printf(o, "sanzhang_start_time_seconds %lld\n",
	    (long long)d->started);
}

void
api_metrics(struct req *rq)
{
	struct evbuffer *o = evbuffer_new();

	if (o == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	render_http(o);
	render_acks(o);
	render_channels(o, rq->d);
	render_queue(o, rq->d);
	http_reply_buffer(rq, 200, "text/plain; version=0.0.4; charset=utf-8",
	    o);
}
