/*
 * api_ack.c - GET and POST /a/TOKEN: the page behind a recipient's link.
 *
 * GET only shows (link scanners and chat previews open links: they must
 * never answer for anyone); POST response=N records the answer, durably,
 * before the page says so.  A token that does not verify costs the
 * client address a try: after ACK_TRIES_BURST of them it gets 429, with
 * Retry-After, until the budget refills (one try every ACK_TRIES_EVERY_S;
 * ratelimit.c: a fixed table, an IPv6 client counted by its /64).  Valid
 * tokens are never limited: many leaders share a carrier's NAT address,
 * and a valid token cannot be guessed (96-bit MAC), so it tells an
 * attacker nothing.
 */
#include "ack_page.h"
#include "acktoken.h"
#include "alert.h"
#include "api.h"
#include "daemon.h"
#include "dbq.h"
#include "escalate.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "roster.h"
#include "store.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#define ACK_TRIES_BURST		20.0
#define ACK_TRIES_EVERY_S	6.0
#define ACK_MAX_POSTS		64	/* shown on the page */
#define ACK_MAX_RESPONSES	16
#define ACK_PLACE_MAX		(ROSTER_MAX_CODE + 128)

/* Bad tries per client address (ratelimit.c). */
static struct ratelimit ack_tries = RATELIMIT_INIT(ACK_TRIES_BURST,
    ACK_TRIES_EVERY_S);

struct ack_q {
	struct req	*rq;
	struct ack_in	 in;
	bool		 post;
	bool		 thanks;	/* GET ?ok=1, after an answer */
	enum ack_result	 result;
	struct ack_info	 info;
	char		 action[8 + ACKTOKEN_MAX];
};

static double
ack_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Spend one bad try of the caller's address; false (with Retry-After set)
 * when none is left.  Said once per address, not once per guess.
 */
static bool
ack_bad_try(struct req *rq)
{
	unsigned retry = 0;
	char v[16];

	switch (ratelimit_take(&ack_tries, http_peer(rq), ack_now_s(),
	    &retry)) {
	case RATELIMIT_ALLOW:
		return true;
	case RATELIMIT_DENY_FIRST:
		log_warnx("ack: too many bad links from %s; refused for a while",
		    http_peer(rq));
		break;
	case RATELIMIT_DENY:
		break;
	}
	snprintf(v, sizeof(v), "%u", retry > 0 ? retry : 1);
	evhttp_add_header(evhttp_request_get_output_headers(rq->r),
	    "Retry-After", v);
	return false;
}

static void
ack_reply(struct req *rq, int code, struct evbuffer *page)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(rq->r);

	/*
	 * Personal, and never to be kept (http_reply_buffer says no-store),
	 * indexed, framed or leaked on.
	 */
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Robots-Tag", "noindex, nofollow");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'none'; style-src 'unsafe-inline'; "
	    "form-action 'self'; frame-ancestors 'none'");
	http_reply_buffer(rq, code, "text/html; charset=utf-8", page);
}

static void
ack_notice(struct req *rq, int code, enum ack_notice why)
{
	struct evbuffer *page = evbuffer_new();

	if (page == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	ack_page_notice(page, why);
	ack_reply(rq, code, page);
}

/* ---- the page ------------------------------------------------------------ */

/* The view of info; strings point into posts and resp (json, kept). */
static void
ack_view_of(const struct ack_q *q, json_t *posts, json_t *resp,
    struct ack_post *pv, char (*place)[ACK_PLACE_MAX], const char **rv,
    struct ack_view *v)
{
	const struct ack_info *a = &q->info;
	size_t i, n = 0, clen = a->community ? strlen(a->community) : 0;
	const char *code;
	json_t *p;

	json_array_foreach(posts, i, p) {
		int role = roster_role_parse(json_string_value(
		    json_object_get(p, "role")) ?: "");

		if (n == ACK_MAX_POSTS || role < 0)
			break;
		code = json_string_value(json_object_get(p, "code")) ?: "";
		/* The community by its name: 南湖社区/G01/12. */
		if (a->community_name != NULL && clen > 0 &&
		    strncmp(code, a->community, clen) == 0 &&
		    (code[clen] == '/' || code[clen] == '\0')) {
			snprintf(place[n], ACK_PLACE_MAX, "%s%s",
			    a->community_name, code + clen);
			code = place[n];
		}
		pv[n].code = code;
		pv[n++].role = roster_role_label(role);
	}
	*v = (struct ack_view){
		.kind = a->kind, .severity = a->severity, .title = a->title,
		.body = a->body, .created_at = a->created_at, .name = a->name,
		.posts = pv, .n_posts = n, .responses = rv,
		.answered = a->state == RCPT_ACKED ? a->response - 1 : -1,
		.acked_at = a->acked_at, .action = q->action,
	};
	n = 0;
	json_array_foreach(resp, i, p)
		if (n < ACK_MAX_RESPONSES && json_is_string(p))
			rv[n++] = json_string_value(p);
	if (n == 0)
		rv[n++] = "收到";
	v->n_responses = n;
	if (v->answered >= (int)n)
		v->answered = -1;
}

static void
ack_show(struct ack_q *q, bool just_answered)
{
	struct ack_post pv[ACK_MAX_POSTS];
	char place[ACK_MAX_POSTS][ACK_PLACE_MAX];
	const char *rv[ACK_MAX_RESPONSES];
	json_t *posts = json_loads(q->info.posts, 0, NULL);
	json_t *resp = json_loads(q->info.responses, 0, NULL);
	struct evbuffer *page = evbuffer_new();
	struct ack_view v;

	if (page == NULL) {
		http_reply_error(q->rq, 500, "internal", "out of memory");
	} else {
		ack_view_of(q, posts, resp, pv, place, rv, &v);
		ack_page_render(page, &v, just_answered);
		ack_reply(q->rq, 200, page);
	}
	json_decref(posts);
	json_decref(resp);
}

/*
 * Recorded: 303 to the page (?ok=1 adds the thanks).  Post/redirect/get:
 * reloading the page never posts again, and the POST is answered at once.
 */
static void
ack_answered(struct ack_q *q)
{
	char where[16 + ACKTOKEN_MAX];
	size_t n = strlen(q->action);

	/* Answers come in bursts: no printf on this path. */
	memcpy(where, q->action, n);
	memcpy(where + n, "?ok=1", sizeof("?ok=1"));
	http_reply_see_other(q->rq, where);
}

/* ---- reading and recording ---------------------------------------------- */

static int
ack_run(struct store *st, void *arg)
{
	struct ack_q *q = arg;

	if (q->post)
		return store_ack_record(st, &q->in, &q->result, &q->info);
	return store_ack_get(st, q->in.rcpt_id, &q->info);
}

static void
ack_done(int rc, void *arg)
{
	struct ack_q *q = arg;
	bool closed = q->info.cancelled || q->info.expires_at <= alert_now_ms();

	if (rc == STORE_NOTFOUND)
		ack_notice(q->rq, 404, ACK_UNKNOWN);
	else if (rc != STORE_OK)
		ack_notice(q->rq, rc == STORE_FULL || rc == STORE_BUSY ? 503 :
		    500, ACK_ERROR);
	else if (closed || (q->post && q->result == ACK_CLOSED))
		ack_notice(q->rq, 410, q->info.cancelled ? ACK_CANCELLED :
		    ACK_EXPIRED);
	else if (q->post && q->result == ACK_BAD_RESPONSE)
		http_reply_error(q->rq, 400, "bad_response", "response must "
		    "be 1 to %d", ack_n_responses(q->info.responses));
	else if (q->post) {
		if (q->result == ACK_RECORDED) {
			log_info("ack: recipient %lld of alert %lld answered %d "
			    "by link", (long long)q->in.rcpt_id,
			    (long long)q->info.alert_id, q->in.response);
			metrics_ack("link", ack_first_ms(&q->info, &q->in,
			    q->result));
		}
		ack_answered(q);
	} else
		ack_show(q, q->thanks && q->info.state == RCPT_ACKED);
	ack_info_free(&q->info);
	free(q);
}

/* response=N from a form body; 0 when absent or malformed. */
static int
ack_form_response(struct req *rq)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->r);
	size_t len = evbuffer_get_length(in);
	struct evkeyvalq form;
	const char *v;
	char *body, *end;
	long n = 0;

	if (len == 0 || len > 1024 || (body = malloc(len + 1)) == NULL)
		return 0;
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	TAILQ_INIT(&form);
	if (evhttp_parse_query_str(body, &form) == 0 &&
	    (v = evhttp_find_header(&form, "response")) != NULL) {
		n = strtol(v, &end, 10);
		if (*v == '\0' || *end != '\0' || n < 1 || n > 1000)
			n = 0;
	}
	evhttp_clear_headers(&form);
	free(body);
	return (int)n;
}

void
api_ack(struct req *rq)
{
	static const char prefix[] = "/a/";
	const char *token = rq->path + sizeof(prefix) - 1;
	bool post = evhttp_request_get_command(rq->r) == EVHTTP_REQ_POST;
	struct ack_q *q;
	int64_t rcpt;

	if ((rcpt = acktoken_check(&rq->d->ackkey, token)) < 0) {
		if (!ack_bad_try(rq))
			ack_notice(rq, 429, ACK_BUSY);
		else
			ack_notice(rq, 404, ACK_UNKNOWN);
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		ack_notice(rq, 500, ACK_ERROR);
		return;
	}
	q->rq = rq;
	q->post = post;
	q->thanks = !post && http_query(rq, "ok") != NULL;
	q->in = (struct ack_in){ .rcpt_id = rcpt, .via = "link",
	    .now = alert_now_ms(), .routes = escalate_routes(rq->d->escalate) };
	snprintf(q->action, sizeof(q->action), "/a/%s", token);
	if (post && (q->in.response = ack_form_response(rq)) == 0) {
		free(q);
		http_reply_error(rq, 400, "bad_response", "the form must carry "
		    "response=N (1, 2, ...)");
		return;
	}
	/* An answer is on disk before the page says it was received. */
	if (dbq_submit(post ? rq->d->writer : rq->d->readers, ack_run,
	    ack_done, q, post ? DBQ_DURABLE : 0) != 0) {
		free(q);
		ack_notice(rq, 503, ACK_ERROR);
	}
}
