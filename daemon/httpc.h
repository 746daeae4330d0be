/*
 * httpc.h - the daemon's one asynchronous HTTP client: a libcurl multi
 * handle driven by the libevent loop.
 *
 * Every outbound request (SMS gateways, webhooks, IM robots) goes through
 * here so the loop never blocks.  Connections are kept alive and reused;
 * redirects are not followed; only http and https are allowed; a response
 * body is capped at HTTPC_BODY_MAX bytes.
 *
 * curl_global_init(CURL_GLOBAL_DEFAULT) is the caller's job: call it once
 * at start-up, before any thread exists, and curl_global_cleanup() at exit.
 * All functions must be called from the loop's thread.
 */
#ifndef SANZHANG_HTTPC_H
#define SANZHANG_HTTPC_H

#include <stddef.h>

struct event_base;
struct httpc;

/* A response body larger than this fails the transfer. */
#define HTTPC_BODY_MAX			(1024 * 1024)
/* Response headers larger than this (all lines together) fail it too. */
#define HTTPC_HEADERS_MAX		(64 * 1024)
/* Used when a request's timeout_ms or the connect timeout is 0. */
#define HTTPC_DEFAULT_TIMEOUT_MS	30000L
#define HTTPC_DEFAULT_CONNECT_MS	10000L

/* Client-wide limits; a NULL struct or a 0 member means the default. */
struct httpc_opts {
	int	 max_total_connections;	/* open in all; 0 = no cap */
	int	 max_host_connections;	/* per host and port; 0 = no cap */
	long	 connect_timeout_ms;	/* TCP + TLS set-up; 0 = 10 s */
};

/* One request.  httpc_send() copies all of it: free it right after. */
struct httpc_req {
	const char		*method;	/* "GET", "POST"; NULL = GET */
	const char		*url;		/* http:// or https:// only */
	const char *const	*headers;	/* full "Name: value" lines */
	size_t			 n_headers;
	const void		*body;		/* sent as is; may be NULL */
	size_t			 body_len;
	long			 timeout_ms;	/* whole transfer; 0 = 30 s */
	const char		*unix_socket;	/* socket path; NULL = TCP */
};

/*
 * What came back.  Valid only during the done callback.  The server
 * answered in full only when curl_code is 0; status may be set even when
 * the transfer failed later (a body over the cap, a timeout mid-body).
 */
struct httpc_resp {
	long		 status;	/* HTTP status; 0 = no HTTP answer */
	int		 curl_code;	/* a CURLcode; 0 = CURLE_OK */
	const char	*error;		/* for logs; never NULL, "" if ok */
	const char	*body;		/* never NULL; NUL-terminated */
	size_t		 body_len;
	double		 seconds;	/* from httpc_send() to done */
};

/* Called exactly once per accepted request, always from the loop. */
typedef void (*httpc_done_fn)(const struct httpc_resp *resp, void *arg);

/*
 * A response header of the final response (not of a 1xx), by name,
 * case-insensitive, trimmed; the first when repeated; NULL when absent.
 */
const char *httpc_resp_header(const struct httpc_resp *resp, const char *name);

/* A client on this loop; NULL when out of memory or curl refuses. */
struct httpc *httpc_new(struct event_base *base, const struct httpc_opts *o);

/*
 * Start a request.  Returns 0, or -1 (out of memory, or the client is
 * being freed) and done is then never called.  done is never called from
 * inside httpc_send(): an immediate failure is reported on the next loop
 * turn.  done may call httpc_send() again, but not httpc_free().
 */
int httpc_send(struct httpc *h, const struct httpc_req *r, httpc_done_fn done,
    void *arg);

/* Requests sent whose done has not yet returned. */
size_t httpc_in_flight(const struct httpc *h);

/*
 * Abort every request in flight, calling each done once with curl_code
 * CURLE_ABORTED_BY_CALLBACK and error "shutting down" (one that had already
 * failed inside httpc_send() gets its own reason), then free h.  NULL is
 * ignored.
 */
void httpc_free(struct httpc *h);

#endif
