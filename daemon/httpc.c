/*
 * httpc.c - libcurl multi on the libevent loop, in the manner of curl's
 * docs/examples/hiperfifo.c: curl tells us which sockets to watch
 * (SOCKETFUNCTION) and when to wake it (TIMERFUNCTION); libevent calls
 * curl_multi_socket_action() back; finished transfers are drained in one
 * place, httpc_drain().
 *
 * A city-wide alert is hundreds of thousands of requests, so a transfer
 * (struct httpc_xfer) is recycled: its easy handle is reset, not freed, and
 * its buffers are kept.  Request headers are curl_slist nodes we own,
 * pointing into the transfer's copy of the request, so a request costs no
 * allocation of ours once the free list is warm.
 */
#include "httpc.h"
#include "httpc_sock.h"
#include "log.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

/* Idle transfers kept for reuse; more than in flight at once is waste. */
#define HTTPC_IDLE_MAX		256
/* A recycled transfer drops buffers that grew beyond this. */
#define HTTPC_KEEP_BUF		(16 * 1024)

struct httpc_xfer {
	TAILQ_ENTRY(httpc_xfer)	 entry;		/* active, deferred or idle */
	struct httpc		*h;
	CURL			*easy;
	httpc_done_fn		 done;
	void			*arg;
	struct timespec		 start;
	CURLcode		 code;		/* failed before curl ran */
	const char		*fail;		/* our reason, over curl's */
	bool			 fixed;		/* the fixed options are set */

	/* What curl reads from us mid-transfer: header lines, then body. */
	char			*req;
	size_t			 req_cap;
	struct curl_slist	*hdrs;		/* nodes pointing into req */
	size_t			 hdrs_cap;

	/* The response: body, and headers packed as "name\0value\0"... */
	char			*body;
	size_t			 body_len;
	size_t			 body_cap;
	char			*head;
	size_t			 head_len;
	size_t			 head_cap;
	struct httpc_resp	 resp;
	char			 errbuf[CURL_ERROR_SIZE];
};

TAILQ_HEAD(httpc_xfers, httpc_xfer);

struct httpc {
	struct event_base	*base;
	CURLM			*multi;
	struct hsocks		*socks;		/* the sockets curl watches */
	struct event		*timer;		/* curl's one timeout */
	struct event		*defer;		/* delivers deferred failures */
	struct httpc_xfers	 active;	/* added to the multi handle */
	struct httpc_xfers	 deferred;	/* failed inside httpc_send() */
	struct httpc_xfers	 idle;
	size_t			 n_idle;
	size_t			 in_flight;
	long			 connect_ms;
	bool			 closing;
	bool			 in_timeout;	/* inside httpc_on_timeout() */
};

/* ---- buffers ------------------------------------------------------------- */

/* Make room for need bytes; growth doubles so appends stay amortised. */
static int
httpc_reserve(char **buf, size_t *cap, size_t need)
{
	size_t ncap;
	char *p;

	if (need <= *cap)
		return 0;
	ncap = *cap < 1024 ? 1024 : *cap;
	while (ncap < need)
		ncap *= 2;
	if ((p = realloc(*buf, ncap)) == NULL)
		return -1;
	*buf = p;
	*cap = ncap;
	return 0;
}

static void
httpc_shrink(char **buf, size_t *cap)
{
	if (*cap <= HTTPC_KEEP_BUF)
		return;
	free(*buf);
	*buf = NULL;
	*cap = 0;
}

/* ---- response callbacks (inside curl) ------------------------------------ */

_Static_assert(HTTPC_BODY_MAX == 1048576 && HTTPC_HEADERS_MAX == 65536,
    "update the messages below");

static size_t
httpc_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_xfer *x = arg;
	size_t len = size * n;

	if (len > HTTPC_BODY_MAX - x->body_len) {
		x->fail = "response body exceeds 1048576 bytes";
		return 0;	/* CURLE_WRITE_ERROR */
	}
	if (httpc_reserve(&x->body, &x->body_cap, x->body_len + len + 1) != 0) {
		x->fail = "out of memory for the response body";
		return 0;
	}
	memcpy(x->body + x->body_len, p, len);
	x->body_len += len;
	x->body[x->body_len] = '\0';
	return len;
}

static void
httpc_trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t' ||
	    (*e)[-1] == '\r' || (*e)[-1] == '\n'))
		(*e)--;
}

/*
 * Keep "Name: value" lines as "name\0value\0".  A status line starts a new
 * response (a 1xx, or a proxy's answer), so what came before is dropped and
 * only the final response's headers remain.  Folded lines are ignored.
 */
static size_t
httpc_on_header(char *p, size_t size, size_t n, void *arg)
{
	struct httpc_xfer *x = arg;
	size_t len = size * n, nlen, vlen;
	const char *ns = p, *ne, *vs, *ve = p + len;
	char *dst;

	if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
		x->head_len = 0;
		return len;
	}
	if (len == 0 || *p == ' ' || *p == '\t' ||
	    (ne = memchr(p, ':', len)) == NULL)
		return len;
	vs = ne + 1;
	httpc_trim(&ns, &ne);
	httpc_trim(&vs, &ve);
	nlen = ne - ns;
	vlen = ve - vs;
	if (x->head_len + nlen + vlen + 2 > HTTPC_HEADERS_MAX) {
		x->fail = "response headers exceed 65536 bytes";
		return 0;
	}
	if (httpc_reserve(&x->head, &x->head_cap,
	    x->head_len + nlen + vlen + 2) != 0) {
		x->fail = "out of memory for the response headers";
		return 0;
	}
	dst = x->head + x->head_len;
	memcpy(dst, ns, nlen);
	dst[nlen] = '\0';
	memcpy(dst + nlen + 1, vs, vlen);
	dst[nlen + 1 + vlen] = '\0';
	x->head_len += nlen + vlen + 2;
	return len;
}

const char *
httpc_resp_header(const struct httpc_resp *resp, const char *name)
{
	const struct httpc_xfer *x = (const struct httpc_xfer *)(const void *)
	    ((const char *)resp - offsetof(struct httpc_xfer, resp));
	const char *p = x->head, *end, *v;

	if (x->head_len == 0)
		return NULL;
	end = p + x->head_len;
	while (p < end) {
		v = p + strlen(p) + 1;
		if (strcasecmp(p, name) == 0)
			return v;
		p = v + strlen(v) + 1;
	}
	return NULL;
}

/* ---- transfers ----------------------------------------------------------- */

static void
httpc_xfer_free(struct httpc_xfer *x)
{
	curl_easy_cleanup(x->easy);
	free(x->req);
	free(x->hdrs);
	free(x->body);
	free(x->head);
	free(x);
}

/* A transfer from the free list (its easy handle reset), or a new one. */
static struct httpc_xfer *
httpc_xfer_get(struct httpc *h)
{
	struct httpc_xfer *x;

	if ((x = TAILQ_FIRST(&h->idle)) != NULL) {
		/*
		 * Not reset: the fixed options stay, and httpc_set_request()
		 * sets every per-request option, including back to its
		 * default, each time (a reset costs more than the request).
		 */
		TAILQ_REMOVE(&h->idle, x, entry);
		h->n_idle--;
		return x;
	}
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return NULL;
	if ((x->easy = curl_easy_init()) == NULL) {
		free(x);
		return NULL;
	}
	x->h = h;
	return x;
}

static void
httpc_xfer_put(struct httpc_xfer *x)
{
	struct httpc *h = x->h;

	if (h->closing || h->n_idle >= HTTPC_IDLE_MAX) {
		httpc_xfer_free(x);
		return;
	}
	httpc_shrink(&x->body, &x->body_cap);
	httpc_shrink(&x->head, &x->head_cap);
	httpc_shrink(&x->req, &x->req_cap);
	/* LIFO: the handle used last is the one warm in the cache. */
	TAILQ_INSERT_HEAD(&h->idle, x, entry);
	h->n_idle++;
}

static size_t
httpc_strsize(const char *s)
{
	return s != NULL ? strlen(s) + 1 : 1;	/* NULL is copied as "" */
}

static char *
httpc_copy_str(char **dst, const char *s)
{
	char *start = *dst;
	size_t n = strlen(s) + 1;

	memcpy(start, s, n);
	*dst += n;
	return start;
}

/*
 * Copy what curl reads during the transfer (the URL and the other strings
 * are copied by curl itself, but the header list and the body are not).
 */
static int
httpc_copy_req(struct httpc_xfer *x, const struct httpc_req *r)
{
	static const char expect[] = "Expect:";
	size_t i, need, nh = r->n_headers + 1;
	struct curl_slist *hp;
	char *p;

	need = sizeof(expect) + r->body_len + 1;
	for (i = 0; i < r->n_headers; i++)
		need += httpc_strsize(r->headers[i]);
	if (httpc_reserve(&x->req, &x->req_cap, need) != 0)
		return -1;
	if (nh > x->hdrs_cap) {
		if ((hp = reallocarray(x->hdrs, nh, sizeof(*hp))) == NULL)
			return -1;
		x->hdrs = hp;
		x->hdrs_cap = nh;
	}
	p = x->req;
	for (i = 0; i < nh; i++) {
		/* curl skips a line with no colon, so NULL becomes "". */
		if (i == r->n_headers)
			x->hdrs[i].data = httpc_copy_str(&p, expect);
		else
			x->hdrs[i].data = httpc_copy_str(&p,
			    r->headers[i] != NULL ? r->headers[i] : "");
		x->hdrs[i].next = i + 1 < nh ? &x->hdrs[i + 1] : NULL;
	}
	if (r->body_len > 0)
		memcpy(p, r->body, r->body_len);
	p[r->body_len] = '\0';
	return 0;
}

/* The body's copy, right after the header lines. */
static const char *
httpc_req_body(const struct httpc_xfer *x, size_t n_headers)
{
	const struct curl_slist *last = &x->hdrs[n_headers];

	return last->data + strlen(last->data) + 1;
}

/*
 * The method and body.  Every call sets all of them, since a recycled
 * handle still has the previous request's.
 */
static CURLcode
httpc_set_method(struct httpc_xfer *x, const struct httpc_req *r)
{
	const char *m = r->method != NULL ? r->method : "GET";
	CURL *e = x->easy;
	CURLcode rc;

	if ((rc = curl_easy_setopt(e, CURLOPT_NOBODY, 0L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST,
	    (char *)NULL)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L)) != CURLE_OK)
		return rc;
	if (strcmp(m, "GET") == 0 && r->body_len == 0)
		return CURLE_OK;
	if (strcmp(m, "HEAD") == 0)
		return curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	if (strcmp(m, "POST") != 0 &&
	    (rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m)) != CURLE_OK)
		return rc;
	if (strcmp(m, "POST") != 0 && r->body_len == 0)
		return CURLE_OK;	/* DELETE and the like */
	if ((rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->body_len)) != CURLE_OK)
		return rc;
	return curl_easy_setopt(e, CURLOPT_POSTFIELDS,
	    httpc_req_body(x, r->n_headers));
}

static CURLcode
httpc_set_protocols(CURL *e)
{
#if LIBCURL_VERSION_NUM >= 0x075500
	return curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	return curl_easy_setopt(e, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
}

static curl_socket_t httpc_sock_open(void *arg, curlsocktype purpose,
    struct curl_sockaddr *a);
static int httpc_sock_close(void *arg, curl_socket_t fd);

/* Options that do not depend on the request. */
static CURLcode
httpc_set_fixed(struct httpc_xfer *x)
{
	CURL *e = x->easy;
	CURLcode rc;

	x->errbuf[0] = '\0';
	if (x->fixed)
		return CURLE_OK;
	if ((rc = curl_easy_setopt(e, CURLOPT_PRIVATE, x)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = httpc_set_protocols(e)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, httpc_on_body)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, x)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_HEADERFUNCTION,
	    httpc_on_header)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_HEADERDATA, x)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION,
	    httpc_sock_open)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x->h)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION,
	    httpc_sock_close)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, x->h)) !=
	    CURLE_OK)
		return rc;
	if ((rc = curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    x->h->connect_ms)) == CURLE_OK)
		x->fixed = true;
	return rc;
}

static CURLcode
httpc_set_request(struct httpc_xfer *x, const struct httpc_req *r)
{
	CURL *e = x->easy;
	CURLcode rc;

	if (r->url == NULL) {
		x->fail = "no URL";
		return CURLE_URL_MALFORMAT;
	}
	if ((rc = httpc_set_fixed(x)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_URL, r->url)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs)) !=
	    CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms > 0 ?
	    r->timeout_ms : HTTPC_DEFAULT_TIMEOUT_MS)) != CURLE_OK ||
	    (rc = httpc_set_method(x, r)) != CURLE_OK)
		return rc;
	return curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, r->unix_socket);
}

/* Hand the result to done, then recycle the transfer. */
static void
httpc_finish(struct httpc_xfer *x, CURLcode code)
{
	struct httpc *h = x->h;
	struct httpc_resp *resp = &x->resp;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	resp->curl_code = code;
	if (code == CURLE_OK)
		resp->error = "";
	else if (x->fail != NULL)
		resp->error = x->fail;
	else if (x->errbuf[0] != '\0')
		resp->error = x->errbuf;
	else
		resp->error = curl_easy_strerror(code);
	resp->body = x->body_len > 0 ? x->body : "";
	resp->body_len = x->body_len;
	resp->seconds = (double)(now.tv_sec - x->start.tv_sec) +
	    (double)(now.tv_nsec - x->start.tv_nsec) / 1e9;
	x->done(resp, x->arg);
	h->in_flight--;
	httpc_xfer_put(x);
}

/* Report a failure found inside httpc_send() on the next loop turn. */
static void
httpc_defer(struct httpc_xfer *x, CURLcode code)
{
	x->code = code;
	TAILQ_INSERT_TAIL(&x->h->deferred, x, entry);
	event_active(x->h->defer, EV_TIMEOUT, 0);
}

/* Set up and add the transfer; CURLE_OUT_OF_MEMORY means give up now. */
static CURLcode
httpc_start(struct httpc_xfer *x, const struct httpc_req *r)
{
	CURLMcode mc;
	CURLcode rc;

	if (httpc_copy_req(x, r) != 0)
		return CURLE_OUT_OF_MEMORY;
	if ((rc = httpc_set_request(x, r)) != CURLE_OK)
		return rc;
	if ((mc = curl_multi_add_handle(x->h->multi, x->easy)) == CURLM_OK)
		return CURLE_OK;
	if (mc == CURLM_OUT_OF_MEMORY)
		return CURLE_OUT_OF_MEMORY;
	x->fail = curl_multi_strerror(mc);
	return CURLE_FAILED_INIT;
}

int
httpc_send(struct httpc *h, const struct httpc_req *r, httpc_done_fn done,
    void *arg)
{
	struct httpc_xfer *x;
	CURLcode rc;

	if (h->closing || (x = httpc_xfer_get(h)) == NULL)
		return -1;
	x->done = done;
	x->arg = arg;
	x->fail = NULL;
	x->body_len = 0;
	x->head_len = 0;
	memset(&x->resp, 0, sizeof(x->resp));
	clock_gettime(CLOCK_MONOTONIC, &x->start);
	if ((rc = httpc_start(x, r)) == CURLE_OUT_OF_MEMORY) {
		httpc_xfer_put(x);
		return -1;
	}
	h->in_flight++;
	if (rc != CURLE_OK)
		httpc_defer(x, rc);
	else
		TAILQ_INSERT_TAIL(&h->active, x, entry);
	return 0;
}

size_t
httpc_in_flight(const struct httpc *h)
{
	return h->in_flight;
}

/* ---- the loop ------------------------------------------------------------ */

/* Every finished transfer, in one place. */
static void
httpc_drain(struct httpc *h)
{
	struct httpc_xfer *x;
	CURLMsg *msg;
	CURLcode code;
	CURL *e;
	char *priv;
	int left;

	while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		e = msg->easy_handle;
		code = msg->data.result;	/* msg dies with the removal */
		curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv);
		x = (struct httpc_xfer *)(void *)priv;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &x->resp.status);
		curl_multi_remove_handle(h->multi, e);
		TAILQ_REMOVE(&h->active, x, entry);
		httpc_finish(x, code);
	}
}

static void
httpc_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct httpc *h = arg;
	int action = 0, running;

	if (what & EV_READ)
		action |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(h->multi, fd, action, &running);
	httpc_drain(h);
}

static void
httpc_on_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct httpc *h = arg;
	int running;

	(void)fd;
	(void)what;
	h->in_timeout = true;
	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	h->in_timeout = false;
	httpc_drain(h);
}

static void
httpc_on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct httpc *h = arg;
	struct httpc_xfers now;
	struct httpc_xfer *x;

	(void)fd;
	(void)what;
	/* Failures queued by done callbacks wait for the next turn. */
	TAILQ_INIT(&now);
	TAILQ_CONCAT(&now, &h->deferred, entry);
	while ((x = TAILQ_FIRST(&now)) != NULL) {
		TAILQ_REMOVE(&now, x, entry);
		httpc_finish(x, x->code);
	}
}

/*
 * curl's TIMERFUNCTION: one timer; -1 removes it.  0 ("now", after a
 * handle was added) runs the timer later in this same loop turn, so a new
 * request reuses its idle connection before the loop next polls and the
 * socket's watch is not dropped and re-added; asked again from inside
 * the timer itself, it waits for the next turn, so curl cannot hold the
 * loop.
 */
static int
httpc_timer_set(CURLM *m, long ms, void *arg)
{
	struct httpc *h = arg;
	struct timeval tv;

	(void)m;
	if (ms < 0)
		return evtimer_del(h->timer);
	if (ms == 0 && !h->in_timeout) {
		evtimer_del(h->timer);
		event_active(h->timer, EV_TIMEOUT, 0);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(h->timer, &tv);
}

/* curl's SOCKETFUNCTION: the watches live in httpc_sock.c. */
static int
httpc_sock_set(CURL *e, curl_socket_t fd, int what, void *arg, void *sockp)
{
	struct httpc *h = arg;
	short flags = 0;

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		hsocks_unwatch(h->socks, fd);
		return 0;
	}
	if (what & CURL_POLL_IN)
		flags |= EV_READ;
	if (what & CURL_POLL_OUT)
		flags |= EV_WRITE;
	return hsocks_watch(h->socks, fd, flags);
}

/* curl's OPENSOCKETFUNCTION and CLOSESOCKETFUNCTION, for the parking. */
static curl_socket_t
httpc_sock_open(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct httpc *h = arg;
	int fd;

	(void)purpose;
	fd = hsocks_open(h->socks, a->family, a->socktype, a->protocol);
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static int
httpc_sock_close(void *arg, curl_socket_t fd)
{
	struct httpc *h = arg;

	return hsocks_close(h->socks, fd);
}

/* ---- life cycle ---------------------------------------------------------- */

static int
httpc_set_multi(struct httpc *h, const struct httpc_opts *o)
{
	CURLM *m = h->multi;

	if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, httpc_sock_set) ||
	    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, h) ||
	    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, httpc_timer_set) ||
	    curl_multi_setopt(m, CURLMOPT_TIMERDATA, h))
		return -1;
	if (o == NULL)
		return 0;
	if (o->max_total_connections > 0 &&
	    (curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)o->max_total_connections) ||
	    curl_multi_setopt(m, CURLMOPT_MAXCONNECTS,
	    (long)o->max_total_connections)))
		return -1;
	if (o->max_host_connections > 0 &&
	    curl_multi_setopt(m, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)o->max_host_connections))
		return -1;
	return 0;
}

struct httpc *
httpc_new(struct event_base *base, const struct httpc_opts *o)
{
	struct httpc *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	TAILQ_INIT(&h->active);
	TAILQ_INIT(&h->deferred);
	TAILQ_INIT(&h->idle);
	h->connect_ms = o != NULL && o->connect_timeout_ms > 0 ?
	    o->connect_timeout_ms : HTTPC_DEFAULT_CONNECT_MS;
	if ((h->multi = curl_multi_init()) == NULL ||
	    (h->socks = hsocks_new(base, httpc_on_event, h)) == NULL ||
	    (h->timer = evtimer_new(base, httpc_on_timeout, h)) == NULL ||
	    (h->defer = event_new(base, -1, 0, httpc_on_defer, h)) == NULL ||
	    httpc_set_multi(h, o) != 0) {
		h->closing = true;
		httpc_free(h);
		return NULL;
	}
	return h;
}

void
httpc_free(struct httpc *h)
{
	struct httpc_xfer *x;

	if (h == NULL)
		return;
	h->closing = true;	/* httpc_send() from a done now fails */
	while ((x = TAILQ_FIRST(&h->active)) != NULL) {
		TAILQ_REMOVE(&h->active, x, entry);
		curl_multi_remove_handle(h->multi, x->easy);
		x->fail = "shutting down";
		httpc_finish(x, CURLE_ABORTED_BY_CALLBACK);
	}
	/* These failed already; they get their own reason. */
	while ((x = TAILQ_FIRST(&h->deferred)) != NULL) {
		TAILQ_REMOVE(&h->deferred, x, entry);
		httpc_finish(x, x->code);
	}
	while ((x = TAILQ_FIRST(&h->idle)) != NULL) {
		TAILQ_REMOVE(&h->idle, x, entry);
		httpc_xfer_free(x);
	}
	/* Closing cached connections calls httpc_sock_set(): events go last. */
	if (h->multi != NULL)
		curl_multi_cleanup(h->multi);
	hsocks_free(h->socks);
	if (h->timer != NULL)
		event_free(h->timer);
	if (h->defer != NULL)
		event_free(h->defer);
	free(h);
}
