/*
 * robot.c - the group robots' common part (see robot.h): settings, the
 * post's text, the request and the reading of its answer.
 */
#include "robot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <openssl/crypto.h>

/*
 * One post in flight: it owns what the request points at, and the ids of
 * the messages the answer settles.  On the state's list so close() frees
 * calls the host will never finish.
 */
struct robot_call {
	struct robot_state	*st;
	struct robot_call	*prev, *next;
	char			*url;
	char			*body;
	char			**ids;
	size_t			 n;
};

static const char *const robot_headers[] = {
	"Content-Type: application/json; charset=utf-8",
};

/* ---- settings ------------------------------------------------------------ */

static int
robot_url_ok(const char *url)
{
	/* Only HTTP: a roster target must not reach other curl protocols. */
	return strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0;
}

void
robot_close(void *state)
{
	struct robot_state *st = state;
	struct robot_call *c;

	if (st == NULL)
		return;
	while ((c = st->calls) != NULL) {
		st->calls = c->next;
		for (size_t i = 0; i < c->n; i++)
			free(c->ids[i]);
		free(c->ids);
		free(c->url);
		free(c->body);
		free(c);
	}
	free(st->url);
	if (st->secret != NULL)
		OPENSSL_clear_free(st->secret, strlen(st->secret));
	free(st);
}

int
robot_open(const struct sz_host *host, struct sz_chan *chan,
    const struct robot_kind *kind, struct robot_state **out, char *err,
    size_t errlen)
{
	struct robot_state *st;
	const char *url, *secret;
	long long t;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->host = host;
	st->chan = chan;
	st->kind = kind;
	url = host->setting_string(chan, "url");
	if (url != NULL && *url != '\0' && !robot_url_ok(url)) {
		snprintf(err, errlen, "url must be http:// or https://");
		goto fail;
	}
	if (url != NULL && *url != '\0' && (st->url = strdup(url)) == NULL)
		goto nomem;
	secret = host->setting_string(chan, "secret");
	if (secret != NULL && *secret != '\0' &&
	    (st->secret = strdup(secret)) == NULL)
		goto nomem;
	t = host->setting_int(chan, "timeout_ms", ROBOT_TIMEOUT_MS);
	if (t < 1 || t > 600000) {
		snprintf(err, errlen, "timeout_ms must be 1..600000");
		goto fail;
	}
	st->timeout_ms = (long)t;
	t = host->setting_int(chan, "throttle_retry_after", ROBOT_THROTTLE_S);
	if (t < 0 || t > 3600) {
		snprintf(err, errlen, "throttle_retry_after must be 0..3600");
		goto fail;
	}
	st->throttle_s = (int)t;
	*out = st;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	robot_close(st);
	return -1;
}

/* ---- the post's text ------------------------------------------------------ */

char *
robot_title(const struct sz_msg *m)
{
	const char *s = m->notice != NULL ? m->notice : m->text;

	return strndup(s, strcspn(s, "\n"));
}

/* One leader's line: "- 张伟（网格长）" then the link, then "@phone". */
static void
robot_leader(struct pbuf *b, const struct sz_msg *m, int md, int at)
{
	pbuf_str(b, md ? "- " : "· ");
	pbuf_str(b, m->name != NULL ? m->name : "");
	if (m->posts != NULL && *m->posts != '\0') {
		pbuf_str(b, "（");
		pbuf_str(b, m->posts);
		pbuf_str(b, "）");
	}
	if (md) {
		pbuf_str(b, " [点击确认收到](");
		pbuf_str(b, m->ack_url);
		pbuf_str(b, ")");
	} else {
		pbuf_str(b, " 确认收到：");
		pbuf_str(b, m->ack_url);
	}
	if (at && m->phone != NULL && *m->phone != '\0') {
		pbuf_str(b, " @");
		pbuf_str(b, m->phone);
	}
	pbuf_str(b, "\n");
}

/* How many of the first len bytes of s to keep so as not to split a
 * UTF-8 character. */
static size_t
robot_utf8_cut(const char *s, size_t len)
{
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/*
 * The post: the notice, the grid, then each leader and link.  With limit
 * (bytes, the provider's cap on a post), the notice's body is cut to fit,
 * ending in "……": the leaders and their links are what must get through.
 */
static char *
robot_compose(const struct sz_msg *const *msgs, size_t n, int md, int at,
    size_t limit)
{
	static const char cut[] = "……";
	const struct sz_msg *m = msgs[0];
	const char *notice = m->notice != NULL ? m->notice : m->text, *rest;
	size_t tlen = strcspn(notice, "\n"), rlen = 0, room;
	struct pbuf b = { 0 }, tail = { 0 };
	char *out = NULL;

	if (m->group != NULL && *m->group != '\0') {
		pbuf_str(&tail, md ? "**" : "");
		pbuf_str(&tail, m->group);
		pbuf_str(&tail, md ? "**" : "");
	}
	pbuf_str(&tail, "请以下负责人确认收到：");
	pbuf_str(&tail, md ? "\n\n" : "\n");
	for (size_t i = 0; i < n; i++)
		robot_leader(&tail, msgs[i], md, at);
	/* The notice: its first line as a heading, the rest as it is. */
	if (md)
		pbuf_str(&b, "### ");
	pbuf_add(&b, notice, tlen);
	pbuf_str(&b, md ? "\n\n" : "\n");
	rest = notice[tlen] == '\n' ? notice + tlen + 1 : NULL;
	if (rest != NULL) {
		rlen = strlen(rest);
		room = b.len + tail.len + 2 + sizeof(cut) < limit ?
		    limit - b.len - tail.len - 2 - sizeof(cut) : 0;
		if (limit > 0 && b.len + rlen + 2 + tail.len > limit) {
			pbuf_add(&b, rest, robot_utf8_cut(rest, room));
			pbuf_str(&b, cut);
		} else
			pbuf_add(&b, rest, rlen);
		pbuf_str(&b, md ? "\n\n" : "\n");
	}
	pbuf_add(&b, tail.p != NULL ? tail.p : "", tail.len);
	if (!b.oom && !tail.oom)
		out = b.p;
	else
		free(b.p);
	free(tail.p);
	return out;
}

char *
robot_markdown(const struct sz_msg *const *msgs, size_t n, int at,
    size_t limit)
{
	return robot_compose(msgs, n, 1, at, limit);
}

char *
robot_text(const struct sz_msg *const *msgs, size_t n, int at, size_t limit)
{
	return robot_compose(msgs, n, 0, at, limit);
}

/* ---- the answer ------------------------------------------------------------ */

int
robot_answer_read(const char *body, const char *const keys[][2],
    size_t nkeys, int msglen, long long *code, struct robot_verdict *v)
{
	json_t *o = json_loads(body, 0, NULL), *c = NULL, *m = NULL;
	size_t i;

	for (i = 0; o != NULL && i < nkeys && c == NULL; i++) {
		c = json_object_get(o, keys[i][0]);
		m = json_object_get(o, keys[i][1]);
	}
	if (!json_is_integer(c)) {
		v->outcome = SZ_RETRY;
		snprintf(v->why, sizeof(v->why), "unreadable answer");
		json_decref(o);
		return 1;
	}
	*code = json_integer_value(c);
	snprintf(v->why, sizeof(v->why), "%s %lld: %.*s", keys[i - 1][0],
	    *code, msglen, json_is_string(m) ? json_string_value(m) : "");
	json_decref(o);
	if (*code != 0)
		return 0;
	v->outcome = SZ_ACCEPTED;
	v->why[0] = '\0';
	return 1;
}

void
robot_http_verdict(const struct sz_http_resp *resp,
    const struct robot_kind *kind, struct robot_verdict *v)
{
	long status = resp->status;

	memset(v, 0, sizeof(*v));
	if (resp->transport_error != 0 || status == 0) {
		v->outcome = SZ_RETRY;
		snprintf(v->why, sizeof(v->why), "transport error: %s",
		    resp->error != NULL && *resp->error != '\0' ?
		    resp->error : "no answer");
	} else if (status == 429 || status == 408 || status >= 500) {
		v->outcome = SZ_RETRY;
		v->retry_after = plug_retry_after(resp);
		snprintf(v->why, sizeof(v->why), "HTTP %ld", status);
	} else if (status == 404 || status == 410) {
		v->outcome = SZ_GONE;
		snprintf(v->why, sizeof(v->why), "HTTP %ld: robot gone", status);
	} else if (status != 200) {
		v->outcome = SZ_FAILED;
		snprintf(v->why, sizeof(v->why), "HTTP %ld", status);
	} else {
		char *body = strndup(resp->body != NULL ? resp->body : "",
		    resp->body_len);

		if (body == NULL) {
			v->outcome = SZ_RETRY;
			snprintf(v->why, sizeof(v->why), "out of memory");
			return;
		}
		kind->answer(body, v);
		free(body);
		plug_scrub(v->why);
	}
}

static void
robot_call_free(struct robot_call *c)
{
	struct robot_state *st = c->st;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (st->calls == c)
		st->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	for (size_t i = 0; i < c->n; i++)
		free(c->ids[i]);
	free(c->ids);
	free(c->url);
	free(c->body);
	free(c);
}

static void
robot_done(void *arg, const struct sz_http_resp *resp)
{
	struct robot_call *c = arg;
	struct robot_state *st = c->st;
	struct robot_verdict v;

	robot_http_verdict(resp, st->kind, &v);
	if (v.throttled)
		v.retry_after = st->throttle_s;
	if (v.outcome != SZ_ACCEPTED)
		st->host->log(st->chan, SZ_LOG_WARN, "%s: post for %zu "
		    "leaders: %s", st->kind->name, c->n, v.why);
	for (size_t i = 0; i < c->n; i++)
		st->host->outcome(st->chan, c->ids[i], v.outcome, NULL,
		    v.retry_after, v.why[0] ? v.why : NULL);
	robot_call_free(c);
}

/* ---- send ------------------------------------------------------------------ */

static int64_t
robot_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Build and start the post; the reason for a failure, with its outcome. */
static const char *
robot_post(struct robot_state *st, struct robot_call *c,
    const struct sz_msg *const *msgs, size_t n, enum sz_outcome *oc)
{
	const char *base = msgs[0]->target != NULL && *msgs[0]->target != '\0' ?
	    msgs[0]->target : st->url;
	struct sz_http_req req = { 0 };
	int64_t now = robot_now_ms();
	json_t *body;

	*oc = SZ_FAILED;
	if (base == NULL)
		return "no robot URL for this grid (roster or channel url)";
	if (!robot_url_ok(base))
		return "robot URL is not http(s)";
	*oc = SZ_RETRY;
	if ((body = st->kind->body(st, msgs, n, now)) == NULL)
		return "out of memory";
	c->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (c->body == NULL || (c->url = st->kind->url(st, base, now)) == NULL)
		return "out of memory";
	req.method = "POST";
	req.url = c->url;
	req.headers = robot_headers;
	req.n_headers = sizeof(robot_headers) / sizeof(robot_headers[0]);
	req.body = c->body;
	req.body_len = strlen(c->body);
	req.timeout_ms = st->timeout_ms;
	if (st->host->http(st->chan, &req, robot_done, c) != 0)
		return "host refused the request";
	return NULL;
}

int
robot_send(void *state, struct sz_chan *chan, const struct sz_msg *const *msgs,
    size_t n)
{
	struct robot_state *st = state;
	struct robot_call *c;
	enum sz_outcome oc = SZ_RETRY;
	const char *why = "out of memory";

	if ((c = calloc(1, sizeof(*c))) != NULL &&
	    (c->ids = calloc(n, sizeof(*c->ids))) != NULL) {
		c->st = st;
		if ((c->next = st->calls) != NULL)
			c->next->prev = c;
		st->calls = c;
		for (c->n = 0; c->n < n; c->n++)
			if ((c->ids[c->n] = strdup(msgs[c->n]->id)) == NULL)
				break;
		if (c->n == n && (why = robot_post(st, c, msgs, n, &oc)) ==
		    NULL)
			return 0;
		robot_call_free(c);
	} else
		free(c);
	st->host->log(chan, SZ_LOG_WARN, "%s: post for %zu leaders: %s",
	    st->kind->name, n, why);
	for (size_t i = 0; i < n; i++)
		st->host->outcome(chan, msgs[i]->id, oc, NULL, 0, why);
	return 0;
}
