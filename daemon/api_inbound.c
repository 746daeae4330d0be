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
#include "dispatch.h"
#include "http.h"
#include "log.h"

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <event2/http.h>
#include <string.h>

#define INBOUND_MAX_BODY	(256 * 1024)

static const char *
inbound_header(const struct sz_inbound *in, const char *name)
{
	const struct req *rq = in->priv;

	return evhttp_find_header(evhttp_request_get_input_headers(rq->r), name);
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
	struct evbuffer *reply;
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
	if ((reply = evbuffer_new()) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	evbuffer_add(reply, out.body, strlen(out.body));
	http_reply_buffer(rq, out.status, out.content_type[0] ?
	    out.content_type : "text/plain; charset=utf-8", reply);
}
