/*
 * http.h - the HTTP front: evhttp on the TCP listen addresses and on the
 * unix control socket, routing, authentication, scope checks and the JSON
 * error format of DESIGN.md.  Handlers may answer later (after database
 * work): a struct req lives until one of the http_reply_*() calls.
 */
#ifndef SANZHANG_HTTP_H
#define SANZHANG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "config.h"

struct daemon;
struct evbuffer;
struct json_t;

/* Who is asking: a token from the config, or the control socket (admin). */
struct caller {
	const char		*name;		/* token name or "control" */
	enum token_role		 role;
	const char *const	*scope;		/* node codes; n_scope 0 = all */
	size_t			 n_scope;
	bool			 control;
};

/* One request being answered. */
struct req {
	struct evhttp_request	*r;
	struct daemon		*d;
	struct caller		 who;
	const char		*path;		/* the URI's path, still encoded */
	struct evkeyvalq	 query;		/* decoded query parameters */
	const char		*route;		/* the route's pattern, for logs */
	struct timespec		 started;	/* CLOCK_MONOTONIC, on arrival */
};

struct httpd;

/* Bind every listen address and the control socket; NULL and err on failure. */
struct httpd *httpd_new(struct daemon *d, char *err, size_t errlen);
/* Close the listening sockets; requests in progress go on, and their
 * answers close their connections. */
void httpd_stop_accepting(struct httpd *h);
/* Requests whose answer is not yet fully written (a stop waits for them). */
size_t httpd_unfinished(const struct httpd *h);
/* Free everything; requests still in progress are dropped. */
void httpd_free(struct httpd *h);

/* The client's address, for logs. */
const char *http_peer(const struct req *rq);
/* Seconds since the request arrived. */
double http_elapsed(const struct req *rq);

/* Answers: each frees rq.  Bodies and buffers are taken over. */
void http_reply_json(struct req *rq, int code, struct json_t *body);
/*
 * A 303 See Other to location, with no body (browsers follow it; the
 * answer stays small when thousands come at once): not to be cached, and
 * the location (which may hold a token) not passed on as a referrer.
 */
void http_reply_see_other(struct req *rq, const char *location);
void http_reply_buffer(struct req *rq, int code, const char *content_type,
    struct evbuffer *body);
void http_reply_error(struct req *rq, int code, const char *ecode,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* 503 or 500 for a failed store call. */
void http_reply_store_error(struct req *rq, int rc);
/*
 * 403: refuse, log and write an audit row naming the caller, the route
 * and the target.  extra (may be NULL) is merged into the error object.
 */
void http_deny(struct req *rq, const char *target, struct json_t *extra,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A decoded query parameter, or NULL. */
const char *http_query(struct req *rq, const char *key);
/* Whether the caller may see or change the node with this code. */
bool http_caller_covers(const struct caller *who, const char *code);

/* Queue an audit row (not waited for). */
void http_audit(struct daemon *d, const struct caller *who, const char *action,
    const char *target, const char *result, const char *detail);

#endif
