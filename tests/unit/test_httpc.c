/*
 * test_httpc.c - the asynchronous HTTP client against an evhttp server in
 * the same process and on the same loop (127.0.0.1, port 0, and a unix
 * socket): answers, failures, timeouts, concurrency, re-entry from a done
 * callback, and shutdown with transfers in flight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

struct fixture {
	struct event_base	*base;
	struct evhttp		*http;
	struct event		*tick;		/* wakes run_until() */
	struct httpc		*h;
	int			 port;
	int			 dead_port;	/* nothing listens there */
	char			 dir[64];
	char			 sock[128];
	char			 url[64];	/* http://127.0.0.1:port */
};

/* One response, copied out of the callback. */
struct got {
	int		 calls;
	long		 status;
	int		 code;
	char		 error[CURL_ERROR_SIZE];
	char		 body[256];
	size_t		 body_len;
	double		 seconds;
	char		 hdr[4][64];	/* the headers named in want[] */
	const char	*want[4];
	bool		 hdr_absent;	/* "x-not-there" was NULL */
};

static bool in_send;	/* done must never run inside httpc_send() */
static unsigned char peer_seen[65536];	/* client ports the server saw */
static int peer_ports;		/* distinct ones: new connections */

/* ---- the server ---------------------------------------------------------- */

static void
srv_header(struct evhttp_request *req, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), name, value);
}

static const char *
srv_method(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:	return "GET";
	case EVHTTP_REQ_POST:	return "POST";
	case EVHTTP_REQ_HEAD:	return "HEAD";
	case EVHTTP_REQ_PUT:	return "PUT";
	case EVHTTP_REQ_DELETE:	return "DELETE";
	default:		return "other";
	}
}

/* /ok: 200, says what it saw (method, a client header, Expect, body). */
static void
srv_ok(struct evhttp_request *req)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	struct evbuffer *out = evbuffer_new();
	const char *v;
	char len[32], *addr;
	uint16_t port;

	evhttp_connection_get_peer(evhttp_request_get_connection(req), &addr,
	    &port);
	if (!peer_seen[port]++)
		peer_ports++;
	snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
	srv_header(req, "X-Test", "yes");
	srv_header(req, "X-Body-Len", len);
	srv_header(req, "X-Method", srv_method(req));
	srv_header(req, "X-Saw-Expect", (v = evhttp_find_header(in, "Expect")) ?
	    v : "none");
	srv_header(req, "X-Saw-Client", (v = evhttp_find_header(in,
	    "X-Client")) ? v : "none");
	evbuffer_add_printf(out, "hello:");
	if (evbuffer_get_length(body) < 100)
		evbuffer_add_buffer(out, body);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
srv_big(struct evhttp_request *req)
{
	struct evbuffer *out = evbuffer_new();
	char *chunk = calloc(1, 1536 * 1024);

	memset(chunk, 'x', 1536 * 1024);
	evbuffer_add(out, chunk, 1536 * 1024);
	free(chunk);
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

static void
srv_route(struct evhttp_request *req, void *arg)
{
	const char *path =
	    evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));

	(void)arg;
	if (strcmp(path, "/ok") == 0)
		srv_ok(req);
	else if (strcmp(path, "/error") == 0)
		evhttp_send_reply(req, 500, "Internal Server Error", NULL);
	else if (strcmp(path, "/busy") == 0) {
		srv_header(req, "Retry-After", "7");
		evhttp_send_reply(req, 429, "Too Many Requests", NULL);
	} else if (strcmp(path, "/redirect") == 0) {
		srv_header(req, "Location", "/ok");
		evhttp_send_reply(req, 302, "Found", NULL);
	} else if (strcmp(path, "/big") == 0)
		srv_big(req);
	else if (strcmp(path, "/hang") == 0)
		;	/* never answer; evhttp frees it when the client goes */
	else
		evhttp_send_reply(req, 404, "Not Found", NULL);
}

static int
srv_unix(struct fixture *f)
{
	struct sockaddr_un sun;
	int fd;

	snprintf(f->sock, sizeof(f->sock), "%s/http.sock", f->dir);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->sock);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    listen(fd, 64) != 0 || evutil_make_socket_nonblocking(fd) != 0)
		return -1;
	return evhttp_accept_socket(f->http, fd);
}

/* A port that refuses: bound once, then closed. */
static int
dead_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return ntohs(sin.sin_port);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	struct timeval tv = { 0, 20000 };

	f->base = event_base_new();
	f->http = evhttp_new(f->base);
	evhttp_set_gencb(f->http, srv_route, f);
	bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&sin, &len), 0);
	f->port = ntohs(sin.sin_port);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	strcpy(f->dir, "/tmp/sz-test-httpc-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(srv_unix(f), 0);
	f->dead_port = dead_port();
	f->tick = event_new(f->base, -1, EV_PERSIST, tick, NULL);
	event_add(f->tick, &tv);
	f->h = httpc_new(f->base, NULL);
	assert_non_null(f->h);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	httpc_free(f->h);
	event_free(f->tick);
	evhttp_free(f->http);
	event_base_free(f->base);
	unlink(f->sock);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* ---- client helpers ------------------------------------------------------ */

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Turn the loop until *counter reaches target; fail after max seconds. */
static void
run_until(struct fixture *f, const int *counter, int target, double max)
{
	double end = now_s() + max;

	while (*counter < target) {
		assert_true(now_s() < end);
		event_base_loop(f->base, EVLOOP_ONCE);
	}
}

static void
got_done(const struct httpc_resp *r, void *arg)
{
	struct got *g = arg;
	const char *v;
	int i;

	assert_false(in_send);
	assert_non_null(r->error);
	assert_non_null(r->body);
	g->calls++;
	g->status = r->status;
	g->code = r->curl_code;
	snprintf(g->error, sizeof(g->error), "%s", r->error);
	snprintf(g->body, sizeof(g->body), "%.*s", (int)r->body_len, r->body);
	g->body_len = r->body_len;
	g->seconds = r->seconds;
	for (i = 0; i < 4 && g->want[i] != NULL; i++)
		if ((v = httpc_resp_header(r, g->want[i])) != NULL)
			snprintf(g->hdr[i], sizeof(g->hdr[i]), "%s", v);
	g->hdr_absent = httpc_resp_header(r, "x-not-there") == NULL;
}

static int
send_full(struct fixture *f, const struct httpc_req *r, httpc_done_fn done,
    void *arg)
{
	int rc;

	in_send = true;
	rc = httpc_send(f->h, r, done, arg);
	in_send = false;
	return rc;
}

/* A GET or POST to a path of the test server, or to a full URL. */
static void
send_to(struct fixture *f, const char *method, const char *where,
    long timeout_ms, httpc_done_fn done, void *arg)
{
	char url[256];
	struct httpc_req r = { .method = method, .url = url,
	    .timeout_ms = timeout_ms };

	if (where[0] == '/')
		snprintf(url, sizeof(url), "%s%s", f->url, where);
	else
		snprintf(url, sizeof(url), "%s", where);
	assert_int_equal(send_full(f, &r, done, arg), 0);
}

/* ---- tests --------------------------------------------------------------- */

static void
test_ok_body_and_headers(void **state)
{
	struct fixture *f = *state;
	struct got g = { .want = { "x-test", "X-SAW-CLIENT", "x-saw-expect",
	    "X-Method" } };
	char url[128], *body = strdup("ping");
	char *hdr = strdup("X-Client: abc");
	const char *headers[] = { hdr, "Content-Type: text/plain" };
	struct httpc_req r = { .method = "POST", .url = url,
	    .headers = headers, .n_headers = 2, .body = body, .body_len = 4 };

	snprintf(url, sizeof(url), "%s/ok", f->url);
	assert_int_equal(send_full(f, &r, got_done, &g), 0);
	/* The request was copied: the caller's memory may go at once. */
	memset(body, 'Z', 4);
	free(body);
	memset(hdr, 'Z', strlen(hdr));
	free(hdr);
	memset(url, 0, sizeof(url));
	assert_int_equal(g.calls, 0);
	assert_int_equal(httpc_in_flight(f->h), 1);
	run_until(f, &g.calls, 1, 5);
	assert_int_equal(g.status, 200);
	assert_int_equal(g.code, 0);
	assert_string_equal(g.error, "");
	assert_string_equal(g.body, "hello:ping");
	assert_int_equal(g.body_len, 10);
	assert_string_equal(g.hdr[0], "yes");
	assert_string_equal(g.hdr[1], "abc");
	assert_string_equal(g.hdr[2], "none");
	assert_string_equal(g.hdr[3], "POST");
	assert_true(g.hdr_absent);
	assert_true(g.seconds > 0 && g.seconds < 5);
	assert_int_equal(httpc_in_flight(f->h), 0);
}

/* A body large enough for curl to ask "Expect: 100-continue" by itself. */
static void
test_big_post_no_expect(void **state)
{
	struct fixture *f = *state;
	struct got g = { .want = { "X-Body-Len", "X-Saw-Expect" } };
	size_t n = 2 * 1024 * 1024;
	char url[128], *body = malloc(n);
	struct httpc_req r = { .method = "POST", .url = url, .body = body,
	    .body_len = n };

	memset(body, 'b', n);
	snprintf(url, sizeof(url), "%s/ok", f->url);
	assert_int_equal(send_full(f, &r, got_done, &g), 0);
	free(body);
	run_until(f, &g.calls, 1, 10);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.hdr[0], "2097152");
	assert_string_equal(g.hdr[1], "none");
}

/* A caller may still ask for 100-continue: only the final headers remain. */
static void
test_continue_then_final(void **state)
{
	struct fixture *f = *state;
	struct got g = { .want = { "X-Test", "X-Saw-Expect" } };
	const char *headers[] = { "Expect: 100-continue" };
	char url[128];
	struct httpc_req r = { .method = "POST", .url = url, .headers = headers,
	    .n_headers = 1, .body = "abc", .body_len = 3 };

	snprintf(url, sizeof(url), "%s/ok", f->url);
	assert_int_equal(send_full(f, &r, got_done, &g), 0);
	run_until(f, &g.calls, 1, 5);
	assert_int_equal(g.code, 0);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "hello:abc");
	assert_string_equal(g.hdr[0], "yes");
	assert_string_equal(g.hdr[1], "100-continue");
}

/* Connection caps queue transfers inside curl; all still complete. */
static void
test_connection_caps(void **state)
{
	struct fixture *f = *state;
	struct httpc_opts o = { .max_total_connections = 2,
	    .max_host_connections = 1, .connect_timeout_ms = 1000 };
	struct got g[20];
	int i, calls = 0;

	httpc_free(f->h);
	f->h = httpc_new(f->base, &o);
	assert_non_null(f->h);
	memset(g, 0, sizeof(g));
	for (i = 0; i < 20; i++)
		send_to(f, "GET", "/ok", 0, got_done, &g[i]);
	for (i = 0; i < 20; i++) {
		run_until(f, &g[i].calls, 1, 10);
		calls += g[i].calls;
		assert_int_equal(g[i].status, 200);
	}
	assert_int_equal(calls, 20);
}

static void
test_500_and_429(void **state)
{
	struct fixture *f = *state;
	struct got e = { .want = { "Retry-After" } };
	struct got b = { .want = { "retry-after" } };

	send_to(f, "GET", "/error", 0, got_done, &e);
	send_to(f, "POST", "/busy", 0, got_done, &b);
	run_until(f, &e.calls, 1, 5);
	run_until(f, &b.calls, 1, 5);
	assert_int_equal(e.status, 500);
	assert_int_equal(e.code, 0);
	assert_string_equal(e.hdr[0], "");
	assert_int_equal(b.status, 429);
	assert_int_equal(b.code, 0);
	assert_string_equal(b.error, "");
	assert_string_equal(b.hdr[0], "7");
}

static void
test_redirect_not_followed(void **state)
{
	struct fixture *f = *state;
	struct got g = { .want = { "Location" } };

	send_to(f, "GET", "/redirect", 0, got_done, &g);
	run_until(f, &g.calls, 1, 5);
	assert_int_equal(g.status, 302);
	assert_string_equal(g.hdr[0], "/ok");
}

static void
test_refused(void **state)
{
	struct fixture *f = *state;
	struct got g = { 0 };
	char url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", f->dead_port);
	send_to(f, "POST", url, 0, got_done, &g);
	run_until(f, &g.calls, 1, 5);
	assert_int_equal(g.status, 0);
	assert_int_equal(g.code, CURLE_COULDNT_CONNECT);
	assert_true(strlen(g.error) > 0);
	print_message("refused: %s\n", g.error);
}

static void
test_timeout(void **state)
{
	struct fixture *f = *state;
	struct got g = { 0 };

	send_to(f, "GET", "/hang", 300, got_done, &g);
	run_until(f, &g.calls, 1, 5);
	assert_int_equal(g.status, 0);
	assert_int_equal(g.code, CURLE_OPERATION_TIMEDOUT);
	assert_true(strlen(g.error) > 0);
	assert_true(g.seconds >= 0.25 && g.seconds < 2);
	print_message("timeout after %.3f s: %s\n", g.seconds, g.error);
}

/*
 * One recycled transfer after another (only one is ever idle here): each
 * request's method, body and socket are its own, never the last one's.
 */
/*
 * The server drops a kept-alive connection while it is idle: the loop
 * must not spin on the closed socket (its watch is kept between requests),
 * and the next request goes out on a new connection.
 */
static void
test_server_closes_idle(void **state)
{
	struct fixture *f = *state;
	struct got g1 = { .want = { NULL } }, g2 = { .want = { NULL } };
	clock_t cpu;
	double until;
	int before;

	evhttp_set_timeout(f->http, 1);
	before = peer_ports;
	send_to(f, "GET", "/ok", 0, got_done, &g1);
	run_until(f, &g1.calls, 1, 5);
	assert_int_equal(g1.status, 200);
	/* The server times the idle connection out after 1 s. */
	cpu = clock();
	until = now_s() + 2.0;
	while (now_s() < until)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_true((double)(clock() - cpu) / CLOCKS_PER_SEC < 0.5);
	send_to(f, "GET", "/ok", 0, got_done, &g2);
	run_until(f, &g2.calls, 1, 5);
	assert_int_equal(g2.code, 0);
	assert_int_equal(g2.status, 200);
	assert_int_equal(peer_ports, before + 2);
}

static void
test_reuse_resets_request(void **state)
{
	static const struct {
		const char	*method;
		const char	*body;
		bool		 unix_socket;
		const char	*want_method;
		const char	*want_len;
	} seq[] = {
		{ "POST", "abc", false, "POST", "3" },
		{ "GET", NULL, false, "GET", "0" },
		{ "HEAD", NULL, false, "HEAD", "0" },
		{ "GET", NULL, false, "GET", "0" },
		{ "PUT", "xy", false, "PUT", "2" },
		{ "DELETE", NULL, false, "DELETE", "0" },
		{ "POST", "unix", true, "POST", "4" },
		{ "GET", NULL, false, "GET", "0" },
	};
	struct fixture *f = *state;
	char url[128];

	snprintf(url, sizeof(url), "%s/ok", f->url);
	for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		struct got g = { .want = { "X-Method", "X-Body-Len" } };
		struct httpc_req r = { .method = seq[i].method, .url = url,
		    .body = seq[i].body, .body_len = seq[i].body ?
		    strlen(seq[i].body) : 0,
		    .unix_socket = seq[i].unix_socket ? f->sock : NULL };

		assert_int_equal(send_full(f, &r, got_done, &g), 0);
		run_until(f, &g.calls, 1, 5);
		assert_int_equal(g.status, 200);
		assert_string_equal(g.hdr[0], seq[i].want_method);
		assert_string_equal(g.hdr[1], seq[i].want_len);
	}
	/* Over TCP again after the unix socket: a closed port is refused. */
	{
		struct got g = { .want = { NULL } };
		char dead[64];

		snprintf(dead, sizeof(dead), "http://127.0.0.1:%d/ok",
		    f->dead_port);
		send_to(f, "GET", dead, 2000, got_done, &g);
		run_until(f, &g.calls, 1, 5);
		assert_int_equal(g.code, CURLE_COULDNT_CONNECT);
	}
}

static void
test_unix_socket(void **state)
{
	struct fixture *f = *state;
	struct got g = { .want = { "X-Test" } };
	struct httpc_req r = { .method = "POST", .url = "http://localhost/ok",
	    .body = "unix", .body_len = 4, .unix_socket = f->sock };

	assert_int_equal(send_full(f, &r, got_done, &g), 0);
	run_until(f, &g.calls, 1, 5);
	assert_int_equal(g.code, 0);
	assert_int_equal(g.status, 200);
	assert_string_equal(g.body, "hello:unix");
	assert_string_equal(g.hdr[0], "yes");
}

static void
test_body_over_cap(void **state)
{
	struct fixture *f = *state;
	struct got g = { 0 };

	send_to(f, "GET", "/big", 0, got_done, &g);
	run_until(f, &g.calls, 1, 10);
	assert_int_equal(g.code, CURLE_WRITE_ERROR);
	assert_non_null(strstr(g.error, "exceeds"));
	/* The next request still works. */
	send_to(f, "GET", "/ok", 0, got_done, &g);
	run_until(f, &g.calls, 2, 5);
	assert_int_equal(g.code, 0);
	assert_int_equal(g.status, 200);
}

static void
test_protocols_and_no_url(void **state)
{
	struct fixture *f = *state;
	struct got ftp = { 0 }, file = { 0 }, none = { 0 };
	struct httpc_req r = { .method = "GET" };

	send_to(f, "GET", "ftp://127.0.0.1:21/", 0, got_done, &ftp);
	send_to(f, "GET", "file:///etc/passwd", 0, got_done, &file);
	assert_int_equal(send_full(f, &r, got_done, &none), 0);
	assert_int_equal(none.calls, 0);	/* deferred, not immediate */
	assert_int_equal(httpc_in_flight(f->h), 3);
	run_until(f, &none.calls, 1, 5);
	run_until(f, &ftp.calls, 1, 5);
	run_until(f, &file.calls, 1, 5);
	assert_int_equal(ftp.code, CURLE_UNSUPPORTED_PROTOCOL);
	assert_int_equal(file.code, CURLE_UNSUPPORTED_PROTOCOL);
	assert_int_equal(file.body_len, 0);
	assert_int_equal(none.code, CURLE_URL_MALFORMAT);
	assert_string_equal(none.error, "no URL");
	assert_int_equal(httpc_in_flight(f->h), 0);
}

/* ---- many, and from inside done ------------------------------------------ */

#define BULK_N		1000
#define BULK_WINDOW	50

struct bulk {
	struct fixture	*f;
	int		 sent;
	int		 done;
	int		 ok;
	int		 calls[BULK_N];
	size_t		 max_in_flight;
};

static struct bulk *bulk;

static void bulk_send(struct bulk *b);

static void
bulk_done(const struct httpc_resp *r, void *arg)
{
	int *slot = arg;

	assert_false(in_send);
	(*slot)++;
	bulk->done++;
	if (r->curl_code == 0 && r->status == 200 &&
	    strncmp(r->body, "hello:", 6) == 0)
		bulk->ok++;
	if (httpc_in_flight(bulk->f->h) > bulk->max_in_flight)
		bulk->max_in_flight = httpc_in_flight(bulk->f->h);
	if (bulk->sent < BULK_N)
		bulk_send(bulk);
}

static void
bulk_send(struct bulk *b)
{
	char body[16];
	const char *hdr[] = { "Content-Type: text/plain" };
	char url[128];
	struct httpc_req r = { .method = "POST", .url = url, .headers = hdr,
	    .n_headers = 1, .body = body };

	snprintf(url, sizeof(url), "%s/ok", b->f->url);
	r.body_len = snprintf(body, sizeof(body), "%d", b->sent);
	assert_int_equal(send_full(b->f, &r, bulk_done, &b->calls[b->sent]),
	    0);
	b->sent++;
}

static void
test_many_exactly_once(void **state)
{
	struct fixture *f = *state;
	struct bulk *b = calloc(1, sizeof(*b));
	int i;

	b->f = f;
	bulk = b;
	memset(peer_seen, 0, sizeof(peer_seen));
	peer_ports = 0;
	for (i = 0; i < BULK_WINDOW; i++)
		bulk_send(b);
	run_until(f, &b->done, BULK_N, 30);
	/* A few more turns: nothing is called twice. */
	for (i = 0; i < 5; i++)
		event_base_loop(f->base, EVLOOP_ONCE);
	assert_int_equal(b->sent, BULK_N);
	assert_int_equal(b->done, BULK_N);
	assert_int_equal(b->ok, BULK_N);
	for (i = 0; i < BULK_N; i++)
		assert_int_equal(b->calls[i], 1);
	assert_true(b->max_in_flight <= BULK_WINDOW);
	/* Keep-alive: about one connection per request in flight. */
	print_message("%d connections for %d requests\n", peer_ports, BULK_N);
	assert_true(peer_ports <= 2 * BULK_WINDOW);
	assert_int_equal(httpc_in_flight(f->h), 0);
	free(b);
}

struct chain {
	struct fixture	*f;
	int		 left;
	int		 calls;
	int		 ok;
};

static void
chain_done(const struct httpc_resp *r, void *arg)
{
	struct chain *c = arg;
	char url[128];
	struct httpc_req req = { .method = "GET", .url = url };

	assert_false(in_send);
	c->calls++;
	if (r->status == 200 || r->curl_code == CURLE_URL_MALFORMAT)
		c->ok++;
	if (--c->left <= 0)
		return;
	/* Alternate real requests with immediate (deferred) failures. */
	snprintf(url, sizeof(url), "%s/ok", c->f->url);
	if (c->left % 2)
		req.url = NULL;
	assert_int_equal(send_full(c->f, &req, chain_done, c), 0);
}

static void
test_send_from_done(void **state)
{
	struct fixture *f = *state;
	struct chain c = { .f = f, .left = 6 };

	send_to(f, "GET", "/ok", 0, chain_done, &c);
	run_until(f, &c.calls, 6, 10);
	assert_int_equal(c.ok, 6);
	assert_int_equal(httpc_in_flight(f->h), 0);
}

/* ---- shutdown ------------------------------------------------------------ */

struct aborted {
	struct fixture	*f;
	int		 calls;
	int		 shutting_down;
	int		 resend_refused;
};

static void
aborted_done(const struct httpc_resp *r, void *arg)
{
	struct aborted *a = arg;
	struct httpc_req req = { .method = "GET", .url = "http://127.0.0.1/" };

	a->calls++;
	if (r->curl_code == CURLE_ABORTED_BY_CALLBACK &&
	    strcmp(r->error, "shutting down") == 0 && r->status == 0)
		a->shutting_down++;
	if (httpc_send(a->f->h, &req, aborted_done, a) == -1)
		a->resend_refused++;
}

static void
test_free_in_flight(void **state)
{
	struct fixture *f = *state;
	struct aborted a = { .f = f };
	struct httpc_req none = { .method = "GET" };
	double end = now_s() + 0.2;
	int i;

	for (i = 0; i < 5; i++)
		send_to(f, "POST", "/hang", 10000, aborted_done, &a);
	while (now_s() < end)	/* connected and waiting */
		event_base_loop(f->base, EVLOOP_ONCE);
	/* Not started yet. */
	send_to(f, "GET", "/hang", 10000, aborted_done, &a);
	assert_int_equal(send_full(f, &none, aborted_done, &a), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(httpc_in_flight(f->h), 7);
	httpc_free(f->h);
	f->h = NULL;
	assert_int_equal(a.calls, 7);
	assert_int_equal(a.shutting_down, 6);
	assert_int_equal(a.resend_refused, 7);
	/* Let the server see the closed connections. */
	for (i = 0; i < 3; i++)
		event_base_loop(f->base, EVLOOP_NONBLOCK);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ok_body_and_headers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_big_post_no_expect, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_continue_then_final,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_connection_caps, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_500_and_429, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_redirect_not_followed,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_resets_request, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_server_closes_idle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unix_socket, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_body_over_cap, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_protocols_and_no_url,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_exactly_once, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_send_from_done, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup,
		    teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
