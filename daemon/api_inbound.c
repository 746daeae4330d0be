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

/* One reply on its way through the writer. */
struct inbound_reply {
	struct req		*rq;
	struct sz_inbound_answer out;
	char			*phone;
	char			*text;
	char			 chan[48];
	struct reply_cand	*cands;
	size_t			 n_cands;
	struct reply_req	 req;
	struct reply_decision	 d;
	enum ack_result		 result;
	int64_t			 first_ms;	/* for the metrics */
	char			*say;		/* texted back, or NULL */
	const struct esc_ctx	*routes;	/* for a needs-help note */
};

/* Writer: the phone's open alerts, the choice, and the answer recorded. */
static int
inbound_reply_run(struct store *st, void *arg)
{
	struct inbound_reply *ir = arg;
	struct ack_info info;
	struct ack_in in;
	int rc;

	if (reply_parse(ir->text, &ir->req) != 0) {
		ir->d.verdict = REPLY_UNRECOGNIZED;
		return STORE_OK;
	}
	if ((rc = store_reply_cands(st, ir->phone, alert_now_ms(),
	    &ir->cands, &ir->n_cands)) != STORE_OK)
		return rc;
	reply_decide(&ir->req, ir->cands, ir->n_cands, &ir->d);
	if (ir->d.verdict != REPLY_ACK) {
		ir->say = reply_text(&ir->d, &ir->req, ir->cands, ir->n_cands);
		return STORE_OK;
	}
	in = (struct ack_in){
		.rcpt_id = ir->cands[ir->d.chosen].rcpt_id,
		.response = ir->d.option, .via = "sms", .now = alert_now_ms(),
		.routes = ir->routes,
	};
	rc = store_ack_record(st, &in, &ir->result, &info);
	if (rc == STORE_OK)
		ir->first_ms = ack_first_ms(&info, &in, ir->result);
	ack_info_free(&info);
	return rc;
}

static void
inbound_reply_done(int rc, void *arg)
{
	struct inbound_reply *ir = arg;
	char masked[16], code[16];

	log_phone(ir->phone, masked, sizeof(masked));
	if (rc != STORE_OK) {
		log_warnx("inbound: channel %s: the reply from %s could not be "
		    "recorded", ir->chan, masked);
		ir->out.status = 503;	/* the gateway may try again */
		ir->out.body[0] = '\0';
	} else if (ir->d.verdict == REPLY_ACK) {
		if (ir->result == ACK_RECORDED)
			metrics_ack("sms", ir->first_ms);
		alert_code(ir->cands[ir->d.chosen].alert_id, code);
		log_info("ack: %s answered %s with %d by SMS%s", masked, code,
		    ir->d.option, ir->result == ACK_RECORDED ? "" :
		    ir->result == ACK_SAME ? " (already recorded)" :
		    " (not taken: the alert is closed)");
	} else {
		log_info("inbound: channel %s: reply from %s not taken as an "
		    "answer (%s)%s", ir->chan, masked,
		    ir->d.verdict == REPLY_NONE_OPEN ? "no open alert" :
		    ir->d.verdict == REPLY_NO_SUCH_CODE ? "no such code" :
		    ir->d.verdict == REPLY_AMBIGUOUS ? "several open alerts" :
		    "not an answer", ir->say ? "; told how to answer" : "");
	}
	if (rc == STORE_OK && ir->out.text_back && ir->say != NULL)
		snprintf(ir->out.body, sizeof(ir->out.body), "%s", ir->say);
	inbound_answer(ir->rq, &ir->out);
	reply_cands_free(ir->cands, ir->n_cands);
	free(ir->phone);
	free(ir->text);
	free(ir->say);
	free(ir);
}

/* Take the reply the plugin reported and answer once it is recorded. */
static void
inbound_reply(struct req *rq, struct sz_chan *c,
    const struct sz_inbound_answer *out)
{
	struct inbound_reply *ir = calloc(1, sizeof(*ir));

	if (ir == NULL) {
		free(c->reply_phone);
		free(c->reply_text);
		c->reply_phone = c->reply_text = NULL;
		http_reply_error(rq, 503, "unavailable", "out of memory");
		return;
	}
	ir->rq = rq;
	ir->out = *out;
	ir->routes = escalate_routes(rq->d->escalate);
	ir->phone = c->reply_phone;
	ir->text = c->reply_text;
	c->reply_phone = c->reply_text = NULL;
	snprintf(ir->chan, sizeof(ir->chan), "%s", c->cfg->name);
	/* An answer is on disk before the gateway hears 200. */
	if (dbq_submit(rq->d->writer, inbound_reply_run, inbound_reply_done,
	    ir, DBQ_DURABLE) != 0) {
		ir->out.status = 503;
		ir->out.body[0] = '\0';
		inbound_answer(rq, &ir->out);
		free(ir->phone);
		free(ir->text);
		free(ir);
	}
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
	if (c->plugin->inbound(c->state, c, &in, &out) != 0 && out.status < 400)
		out.status = 400;
	if (out.status < 100 || out.status > 599)
		out.status = 500;
	out.body[sizeof(out.body) - 1] = '\0';
	out.content_type[sizeof(out.content_type) - 1] = '\0';
	out.header[sizeof(out.header) - 1] = '\0';
	if (c->reply_phone != NULL)
		inbound_reply(rq, c, &out);	/* answers when recorded */
	else
		inbound_answer(rq, &out);
}
