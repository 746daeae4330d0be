/*
 * api_inbound.c - GET or POST /v1/inbound/CHANNEL: a gateway's delivery
 * receipts and SMS replies, handed to the channel's plugin to parse.
 *
 * No bearer token: gateways do not send one.  Plugins check what their
 * provider signs; what they accept only ever moves a delivery forward.
 */
#include "api.h"
#include "chan.h"
#include "daemon.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#define INBOUND_MAX_BODY	(256 * 1024)

static const char *
inbound_header(const struct sz_inbound *in, const char *name)
{
	const struct req *rq = in->priv;

	return evhttp_find_header(evhttp_request_get_input_headers(rq->r), name);
}

void
api_inbound(struct req *rq)
{
	static const char prefix[] = "/v1/inbound/";
	const char *name = rq->path + sizeof(prefix) - 1;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(rq->r);
	struct evbuffer *body = evhttp_request_get_input_buffer(rq->r);
	struct sz_inbound_answer out = { .status = 200 };
	struct sz_chan *c = dispatch_channel(rq->d->dispatch, name);
	size_t len = evbuffer_get_length(body);
	struct sz_inbound in;
	struct evbuffer *reply;

	if (c == NULL || c->plugin->inbound == NULL) {
		http_reply_error(rq, 404, "not_found", "no channel \"%.40s\" takes "
		    "inbound callbacks", name);
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
	if ((reply = evbuffer_new()) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	evbuffer_add(reply, out.body, strlen(out.body));
	http_reply_buffer(rq, out.status, out.content_type[0] ?
	    out.content_type : "text/plain; charset=utf-8", reply);
}
