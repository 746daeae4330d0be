/*
 * api_inbound.c - GET or POST /v1/inbound/CHANNEL: a gateway's delivery
 * receipts and SMS replies, handed to the channel's plugin to parse.
 *
 * No bearer token: gateways do not send one.  A channel with an
 * inbound_secret takes callbacks only at /v1/inbound/NAME/SECRET (the URL
 * the host gives its plugin, and the one to configure at the gateway).
 * Plugins check what their provider signs as well.
 */
#include "api.h"
#include "chan.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "escalate.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "reply.h"
#include "store.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define INBOUND_MAX_BODY	(256 * 1024)

static const char *
inbound_header(const struct sz_inbound *in, const char *name)
{
	const struct req *rq = in->priv;

	return evhttp_find_header(evhttp_request_get_input_headers(rq->r), name);
}

static void
inbound_answer(struct req *rq, const struct sz_inbound_answer *out)
{
	char name[64];
	const char *colon = strchr(out->header, ':');
	struct evbuffer *reply;
	size_t n;

	/* The plugin's one extra header, when it is a well-formed line. */
	if (colon != NULL && (n = (size_t)(colon - out->header)) > 0 &&
	    n < sizeof(name) && strcspn(out->header, "\r\n") ==
	    strlen(out->header)) {
		memcpy(name, out->header, n);
		name[n] = '\0';
		evhttp_add_header(evhttp_request_get_output_headers(rq->r),
		    name, colon + 1 + strspn(colon + 1, " "));
	}
	if ((reply = evbuffer_new()) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	evbuffer_add(reply, out->body, strlen(out->body));
	http_reply_buffer(rq, out->status, out->content_type[0] ?
	    out->content_type : "text/plain; charset=utf-8", reply);
}

/* ---- SMS replies --------------------------------------------------------- */

/* One reply of a callback. */
struct inbound_one {
	char			*phone;
	char			*text;
	struct reply_cand	*cands;
	size_t			 n_cands;
	struct reply_req	 req;
	struct reply_decision	 d;
	enum ack_result		 result;
	int64_t			 first_ms;	/* for the metrics */
	char			*say;		/* how to answer, or NULL */
};

/* The replies of one callback on their way through the writer. */
struct inbound_reply {
	struct req		*rq;
	struct sz_inbound_answer out;
	char			 chan[48];
	struct inbound_one	*v;
	size_t			 n;
	const struct esc_ctx	*routes;	/* for a needs-help note */
	struct receipt_batch	*receipts;	/* of the same callback, or NULL */
};

/* Writer: the phone's open alerts, the choice, and the answer recorded. */
static int
inbound_one_run(struct store *st, struct inbound_one *o,
    const struct esc_ctx *routes)
{
	struct ack_info info;
	struct ack_in in;
	int rc;

	if (reply_parse(o->text, &o->req) != 0) {
		o->d.verdict = REPLY_UNRECOGNIZED;
		return STORE_OK;
	}
	if ((rc = store_reply_cands(st, o->phone, alert_now_ms(),
	    &o->cands, &o->n_cands)) != STORE_OK)
		return rc;
	reply_decide(&o->req, o->cands, o->n_cands, &o->d);
	if (o->d.verdict != REPLY_ACK) {
		o->say = reply_text(&o->d, &o->req, o->cands, o->n_cands);
		return STORE_OK;
	}
	in = (struct ack_in){
		.rcpt_id = o->cands[o->d.chosen].rcpt_id,
		.response = o->d.option, .via = "sms", .now = alert_now_ms(),
		.routes = routes,
	};
	rc = store_ack_record(st, &in, &o->result, &info);
	if (rc == STORE_OK)
		o->first_ms = ack_first_ms(&info, &in, o->result);
	ack_info_free(&info);
	return rc;
}

/* Writer: every reply of the callback, all or none (the gateway retries). */
static int
inbound_reply_run(struct store *st, void *arg)
{
	struct inbound_reply *ir = arg;
	int rc = STORE_OK;

	for (size_t i = 0; i < ir->n && rc == STORE_OK; i++)
		rc = inbound_one_run(st, &ir->v[i], ir->routes);
	return rc;
}

static void
inbound_one_log(const struct inbound_reply *ir, const struct inbound_one *o)
{
	char masked[16], code[16];

	log_phone(o->phone, masked, sizeof(masked));
	if (o->d.verdict == REPLY_ACK) {
		if (o->result == ACK_RECORDED)
			metrics_ack("sms", o->first_ms);
		alert_code(o->cands[o->d.chosen].alert_id, code);
		log_info("ack: %s answered %s with %d by SMS%s", masked, code,
		    o->d.option, o->result == ACK_RECORDED ? "" :
		    o->result == ACK_SAME ? " (already recorded)" :
		    " (not taken: the alert is closed)");
	} else
		log_info("inbound: channel %s: reply from %s not taken as an "
		    "answer (%s)%s", ir->chan, masked,
		    o->d.verdict == REPLY_NONE_OPEN ? "no open alert" :
		    o->d.verdict == REPLY_NO_SUCH_CODE ? "no such code" :
		    o->d.verdict == REPLY_AMBIGUOUS ? "several open alerts" :
		    "not an answer", o->say && ir->out.text_back && ir->n == 1 ?
		    "; told how to answer" : "");
}

static void
inbound_reply_free(struct inbound_reply *ir)
{
	receipt_batch_put(ir->receipts);
	for (size_t i = 0; i < ir->n; i++) {
		reply_cands_free(ir->v[i].cands, ir->v[i].n_cands);
		free(ir->v[i].phone);
		free(ir->v[i].text);
		free(ir->v[i].say);
	}
	free(ir->v);
	free(ir);
}

static void
inbound_reply_done(int rc, void *arg)
{
	struct inbound_reply *ir = arg;

	/* Receipts in the same callback were queued first: they are done. */
	if (rc == STORE_OK && ir->receipts != NULL &&
	    receipt_batch_failed(ir->receipts))
		rc = STORE_ERROR;
	if (rc != STORE_OK) {
		log_warnx("inbound: channel %s: %zu %s could not be recorded",
		    ir->chan, ir->n, ir->n == 1 ? "reply" : "replies");
		ir->out.status = 503;	/* the gateway may try again */
		ir->out.body[0] = '\0';
	} else
		for (size_t i = 0; i < ir->n; i++)
			inbound_one_log(ir, &ir->v[i]);
	/* Texting back answers one phone: only for a callback of one reply. */
	if (rc == STORE_OK && ir->out.text_back && ir->n == 1 &&
	    ir->v[0].say != NULL)
		snprintf(ir->out.body, sizeof(ir->out.body), "%s", ir->v[0].say);
	inbound_answer(ir->rq, &ir->out);
	inbound_reply_free(ir);
}

/* Take the replies the plugin reported and answer once they are recorded. */
static void
inbound_reply(struct req *rq, struct sz_chan *c,
    const struct sz_inbound_answer *out, struct receipt_batch *rb)
{
	struct inbound_reply *ir = calloc(1, sizeof(*ir));
	struct inbound_one *v = calloc(c->n_replies, sizeof(*v));

	if (ir == NULL || v == NULL) {
		free(ir);
		free(v);
		receipt_batch_put(rb);
		chan_replies_free(c->replies, c->n_replies);
		c->replies = NULL;
		c->n_replies = 0;
		http_reply_error(rq, 503, "unavailable", "out of memory");
		return;
	}
	ir->rq = rq;
	ir->out = *out;
	ir->receipts = rb;
	ir->routes = escalate_routes(rq->d->escalate);
	for (size_t i = 0; i < c->n_replies; i++) {
		v[i].phone = c->replies[i].phone;
		v[i].text = c->replies[i].text;
	}
	ir->v = v;
	ir->n = c->n_replies;
	free(c->replies);
	c->replies = NULL;
	c->n_replies = 0;
	snprintf(ir->chan, sizeof(ir->chan), "%s", c->cfg->name);
	/* An answer is on disk before the gateway hears 200. */
	if (dbq_submit(rq->d->writer, inbound_reply_run, inbound_reply_done,
	    ir, DBQ_DURABLE) != 0) {
		ir->out.status = 503;
		ir->out.body[0] = '\0';
		inbound_answer(rq, &ir->out);
		inbound_reply_free(ir);
	}
}

/* An answer that waits for the callback's receipts to be on disk. */
struct inbound_wait {
	struct req			*rq;
	struct sz_inbound_answer	 out;
};

static void
inbound_receipts_done(bool ok, void *arg)
{
	struct inbound_wait *w = arg;

	if (!ok) {
		log_warnx("inbound: receipts could not be recorded; the "
		    "gateway is asked to send them again");
		w->out.status = 503;
		w->out.body[0] = '\0';
	}
	inbound_answer(w->rq, &w->out);
	free(w);
}

static void
inbound_receipts(struct req *rq, const struct sz_inbound_answer *out,
    struct receipt_batch *rb)
{
	struct inbound_wait *w = malloc(sizeof(*w));

	if (w == NULL) {
		receipt_batch_put(rb);
		http_reply_error(rq, 503, "unavailable", "out of memory");
		return;
	}
	w->rq = rq;
	w->out = *out;
	dispatch_inbound_wait(rb, inbound_receipts_done, w);
}

/*
 * The channel a path /v1/inbound/NAME[/SECRET] names, when SECRET is the
 * channel's inbound_secret (compared in constant time), or it has none
 * and the path carries none; NULL otherwise.
 */
static struct sz_chan *
inbound_channel(struct req *rq, char *name, size_t namelen)
{
	static const char prefix[] = "/v1/inbound/";
	const char *p = rq->path + sizeof(prefix) - 1, *slash, *given;
	const char *want;
	struct sz_chan *c;

	slash = strchr(p, '/');
	snprintf(name, namelen, "%.*s", (int)(slash ? (size_t)(slash - p) :
	    strlen(p)), p);
	if ((c = dispatch_channel(rq->d->dispatch, name)) == NULL ||
	    c->plugin->inbound == NULL)
		return NULL;
	want = c->cfg->inbound_secret;
	given = slash != NULL ? slash + 1 : NULL;
	if (want == NULL)
		return given == NULL ? c : NULL;
	if (given == NULL || strlen(given) != strlen(want) ||
	    CRYPTO_memcmp(given, want, strlen(want)) != 0) {
		log_warnx("inbound: channel %s: a callback without its secret "
		    "from %s was refused", name, http_peer(rq));
		return NULL;
	}
	return c;
}

void
api_inbound(struct req *rq)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(rq->r);
	struct evbuffer *body = evhttp_request_get_input_buffer(rq->r);
	struct sz_inbound_answer out = { .status = 200 };
	size_t len = evbuffer_get_length(body);
	struct receipt_batch *rb;
	struct sz_inbound in;
	struct sz_chan *c;
	char name[48];

	/* One answer for every refusal: no probing for names or secrets. */
	if ((c = inbound_channel(rq, name, sizeof(name))) == NULL) {
		http_reply_error(rq, 404, "not_found", "no channel \"%.40s\" takes "
		    "inbound callbacks at this address", name);
		return;
	}
	if (len > INBOUND_MAX_BODY) {
		http_reply_error(rq, 413, "payload_too_large", "an inbound "
		    "callback is at most %d bytes", INBOUND_MAX_BODY);
		return;
	}
	in = (struct sz_inbound){
		.method = evhttp_request_get_command(rq->r) == EVHTTP_REQ_POST ?
		    "POST" : "GET",
		.query = uri != NULL ? evhttp_uri_get_query(uri) : NULL,
		.body = len ? (const char *)evbuffer_pullup(body, -1) : "",
		.body_len = len,
		.header = inbound_header,
		.priv = rq,
	};
	dispatch_inbound_begin(rq->d->dispatch);
	if (c->plugin->inbound(c->state, c, &in, &out) != 0 && out.status < 400)
		out.status = 400;
	if (out.status < 100 || out.status > 599)
		out.status = 500;
	out.body[sizeof(out.body) - 1] = '\0';
	out.content_type[sizeof(out.content_type) - 1] = '\0';
	out.header[sizeof(out.header) - 1] = '\0';
	rb = dispatch_inbound_end(rq->d->dispatch);
	if (c->n_replies > 0)
		inbound_reply(rq, c, &out, rb);	/* answers when recorded */
	else if (rb != NULL)
		inbound_receipts(rq, &out, rb);	/* the same */
	else
		inbound_answer(rq, &out);
}
