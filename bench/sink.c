/*
 * sink: a loopback HTTP sink for the fan-out benchmark.
 *
 * Answers every request (any method, any path) with a fixed status and a
 * tiny body, optionally after a delay, and counts what it received.
 * GET /_count reports the counters as JSON and POST /_reset zeroes them;
 * neither is counted.  Single-threaded on one evhttp: the point is to be
 * cheap enough that the sender under test, not the sink, is the limit.
 *
 *	sink -p PORT [-a ADDR] [-s STATUS] [-d DELAY_MS] [-f FAIL_EVERY_N]
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* What the sink has seen since start or the last POST /_reset. */
struct sink_counts {
	uint64_t	 requests;	/* counted requests, failed ones too */
	uint64_t	 failed;	/* of those, answered 500 by -f */
	uint64_t	 bytes;		/* request body bytes */
	double		 first_ts;	/* wall clock of the first, seconds */
	double		 last_ts;	/* wall clock of the last, seconds */
};

struct sink_later;
TAILQ_HEAD(sink_laters, sink_later);

struct sink {
	struct event_base	*base;
	struct evhttp		*http;
	struct sink_counts	 c;
	int			 status;	/* answer to a counted request */
	struct timeval		 delay;		/* before answering, if set */
	int			 delayed;	/* delay is non-zero */
	uint64_t		 fail_every;	/* every Nth answers 500; 0 = never */
	struct sink_laters	 laters;	/* delayed answers not yet sent */
	uint64_t		 pending;	/* how many of them */
};

/* A delayed answer: the request stays ours until evhttp_send_reply. */
struct sink_later {
	struct sink		*s;
	struct evhttp_request	*req;
	struct event		*ev;
	int			 code;
	TAILQ_ENTRY(sink_later)	 entry;
};

static const char sink_body[] = "ok\n";

static double
sink_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *
sink_reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Status";
	}
}

/*
 * Send the canned answer.  The body is added by reference: evhttp moves
 * it into the connection's output, so no copy and no allocation of ours.
 * A 204 must not carry a body.
 */
static void
sink_answer(struct evhttp_request *req, int code)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain");
	if (code != 204)
		evbuffer_add_reference(out, sink_body, sizeof(sink_body) - 1,
		    NULL, NULL);
	evhttp_send_reply(req, code, sink_reason(code), NULL);
}

static void
sink_count_json(struct sink *s, struct evhttp_request *req)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);

	evbuffer_add_printf(out, "{\"requests\": %" PRIu64 ", \"bytes\": %"
	    PRIu64 ", \"failed\": %" PRIu64 ", ", s->c.requests, s->c.bytes,
	    s->c.failed);
	/* null, not 0, so that a script cannot mistake "none" for 1970 */
	if (s->c.requests == 0)
		evbuffer_add_printf(out,
		    "\"first_ts\": null, \"last_ts\": null}\n");
	else
		evbuffer_add_printf(out,
		    "\"first_ts\": %.6f, \"last_ts\": %.6f}\n",
		    s->c.first_ts, s->c.last_ts);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
sink_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sink_later *l = arg;

	(void)fd;
	(void)what;
	TAILQ_REMOVE(&l->s->laters, l, entry);
	l->s->pending--;
	/* if the client went away, evhttp frees the request here */
	sink_answer(l->req, l->code);
	event_free(l->ev);
	free(l);
}

static void
sink_defer(struct sink *s, struct evhttp_request *req, int code)
{
	struct sink_later *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto now;
	l->s = s;
	l->req = req;
	l->code = code;
	l->ev = evtimer_new(s->base, sink_later_cb, l);
	if (l->ev == NULL || evtimer_add(l->ev, &s->delay) == -1) {
		if (l->ev != NULL)
			event_free(l->ev);
		free(l);
		goto now;
	}
	TAILQ_INSERT_TAIL(&s->laters, l, entry);
	s->pending++;
	return;
now:
	/* out of memory: answering at once beats dropping the request */
	sink_answer(req, code);
}

/* The two control paths; anything else, same path or not, is counted. */
static int
sink_control(struct sink *s, struct evhttp_request *req)
{
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const char *uri = evhttp_request_get_uri(req);

	if (cmd == EVHTTP_REQ_GET && strcmp(uri, "/_count") == 0) {
		sink_count_json(s, req);
		return 1;
	}
	if (cmd == EVHTTP_REQ_POST && strcmp(uri, "/_reset") == 0) {
		/* answer with what was there, so a script loses nothing */
		sink_count_json(s, req);
		memset(&s->c, 0, sizeof(s->c));
		return 1;
	}
	return 0;
}

static void
sink_request_cb(struct evhttp_request *req, void *arg)
{
	struct sink *s = arg;
	double now;
	int code = s->status;

	if (sink_control(s, req))
		return;

	now = sink_now();
	if (s->c.requests == 0)
		s->c.first_ts = now;
	s->c.last_ts = now;
	s->c.requests++;
	s->c.bytes += evbuffer_get_length(evhttp_request_get_input_buffer(req));
	if (s->fail_every != 0 && s->c.requests % s->fail_every == 0) {
		code = 500;
		s->c.failed++;
	}

	if (s->delayed)
		sink_defer(s, req, code);
	else
		sink_answer(req, code);
}

static void
sink_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct sink *s = arg;

	(void)sig;
	(void)what;
	event_base_loopbreak(s->base);
}

/*
 * At exit, drop the answers still waiting.  A request whose client went
 * away was detached from its connection and is ours to free; the others
 * go with their connections in evhttp_free.
 */
static void
sink_drop_laters(struct sink *s)
{
	struct sink_later *l;

	while ((l = TAILQ_FIRST(&s->laters)) != NULL) {
		TAILQ_REMOVE(&s->laters, l, entry);
		if (evhttp_request_get_connection(l->req) == NULL)
			evhttp_request_free(l->req);
		event_free(l->ev);
		free(l);
	}
}

static void
sink_usage(void)
{
	fprintf(stderr, "usage: sink -p PORT [-a ADDR] [-s STATUS] "
	    "[-d DELAY_MS] [-f FAIL_EVERY_N]\n");
	exit(2);
}

static long long
sink_number(const char *arg, long long min, long long max, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "sink: %s: bad %s (%lld..%lld)\n", arg, what,
		    min, max);
		exit(2);
	}
	return v;
}

/* Print the bound address; evhttp chose the port if we asked for 0. */
static int
sink_print_bound(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN];
	int port;

	if (getsockname(evhttp_bound_socket_get_fd(bound),
	    (struct sockaddr *)&ss, &len) == -1) {
		perror("sink: getsockname");
		return -1;
	}
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		port = ntohs(sin6->sin6_port);
		printf("listening on [%s]:%d\n", host, port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		port = ntohs(sin->sin_port);
		printf("listening on %s:%d\n", host, port);
	}
	fflush(stdout);
	return 0;
}

static void
sink_setup(struct sink *s, const char *addr, int port)
{
	struct evhttp_bound_socket *bound;
	struct event_config *cfg;

	/*
	 * evhttp turns a connection's read and write interest on and off
	 * for every request; the changelist folds the changes made in one
	 * loop turn, two epoll_ctl calls a request instead of four (~+30%
	 * requests a second on the 2-core build machine).
	 */
	if ((cfg = event_config_new()) == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST)) {
		fprintf(stderr, "sink: libevent setup failed\n");
		exit(1);
	}
	s->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (s->base == NULL || (s->http = evhttp_new(s->base)) == NULL) {
		fprintf(stderr, "sink: libevent setup failed\n");
		exit(1);
	}
	evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	    EVHTTP_REQ_PATCH);
	evhttp_set_gencb(s->http, sink_request_cb, s);
	bound = evhttp_bind_socket_with_handle(s->http, addr, (ev_uint16_t)port);
	if (bound == NULL) {
		fprintf(stderr, "sink: cannot listen on %s:%d\n", addr, port);
		exit(1);
	}
	if (sink_print_bound(bound) == -1)
		exit(1);
}

int
main(int argc, char *argv[])
{
	struct sink s;
	struct event *sigterm, *sigint;
	const char *addr = "127.0.0.1";
	long long delay_ms = 0;
	int ch, port = -1;

	memset(&s, 0, sizeof(s));
	TAILQ_INIT(&s.laters);
	s.status = 200;
	while ((ch = getopt(argc, argv, "a:d:f:p:s:")) != -1) {
		switch (ch) {
		case 'a':
			addr = optarg;
			break;
		case 'd':
			delay_ms = sink_number(optarg, 0, 3600000, "delay");
			break;
		case 'f':
			s.fail_every = (uint64_t)sink_number(optarg, 0,
			    LLONG_MAX, "fail-every count");
			break;
		case 'p':
			port = (int)sink_number(optarg, 0, 65535, "port");
			break;
		case 's':
			s.status = (int)sink_number(optarg, 100, 599, "status");
			break;
		default:
			sink_usage();
		}
	}
	if (port == -1 || optind != argc)
		sink_usage();
	s.delay.tv_sec = (time_t)(delay_ms / 1000);
	s.delay.tv_usec = (suseconds_t)(delay_ms % 1000 * 1000);
	s.delayed = delay_ms > 0;

	/* a client that hangs up mid-answer must not kill the sink */
	signal(SIGPIPE, SIG_IGN);
	sink_setup(&s, addr, port);
	sigterm = evsignal_new(s.base, SIGTERM, sink_signal_cb, &s);
	sigint = evsignal_new(s.base, SIGINT, sink_signal_cb, &s);
	if (sigterm == NULL || sigint == NULL || evsignal_add(sigterm, NULL) ||
	    evsignal_add(sigint, NULL)) {
		fprintf(stderr, "sink: cannot watch signals\n");
		return 1;
	}

	event_base_dispatch(s.base);

	printf("requests %" PRIu64 ", bytes %" PRIu64 ", failed %" PRIu64
	    ", unanswered %" PRIu64 "\n", s.c.requests, s.c.bytes, s.c.failed,
	    s.pending);
	fflush(stdout);
	sink_drop_laters(&s);
	/* evhttp_free frees the connections and the requests they hold */
	evhttp_free(s.http);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(s.base);
	return 0;
}
