/*
 * http.c - listeners, routing, authentication and the JSON answer format.
 */
#include "http.h"
#include "http_clock.h"
#include "api.h"
#include "daemon.h"
#include "dbq.h"
#include "log.h"
#include "metrics.h"
#include "roster.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/queue.h>
#include <sys/un.h>
#include <unistd.h>

#define HTTP_MAX_HEADERS	(32 * 1024)
#define HTTP_MAX_BOUND		64	/* listen addresses + the control socket */
#define HTTP_ROLE_NONE		(-1)	/* route needs no token */

struct route {
	const char	*path;
	bool		 prefix;	/* path is a prefix ("/v1/nodes/") */
	int		 method;	/* enum evhttp_cmd_type */
	int		 min_role;	/* enum token_role or HTTP_ROLE_NONE */
	void		(*fn)(struct req *);
};

static const struct route http_routes[] = {
	/* The duty room's page: it holds no data, so no token (dashboard.c). */
	{ "/", false, EVHTTP_REQ_GET, HTTP_ROLE_NONE, api_dashboard },
	{ "/healthz", false, EVHTTP_REQ_GET, HTTP_ROLE_NONE, api_health },
	{ "/metrics", false, EVHTTP_REQ_GET, TOKEN_VIEWER, api_metrics },
	{ "/v1/roster", false, EVHTTP_REQ_GET, TOKEN_VIEWER, api_roster_export },
	{ "/v1/roster", false, EVHTTP_REQ_POST, TOKEN_ADMIN, api_roster_import },
	{ "/v1/roster.csv", false, EVHTTP_REQ_GET, TOKEN_VIEWER, api_roster_export },
	{ "/v1/roster.html", false, EVHTTP_REQ_GET, TOKEN_VIEWER, api_roster_export },
	{ "/v1/nodes", false, EVHTTP_REQ_GET, TOKEN_VIEWER, api_nodes_get },
	{ "/v1/nodes/", true, EVHTTP_REQ_GET, TOKEN_VIEWER, api_nodes_get },
	{ "/v1/alerts", false, EVHTTP_REQ_GET, TOKEN_VIEWER, api_alert_list },
	{ "/v1/alerts", false, EVHTTP_REQ_POST, TOKEN_OPERATOR, api_alert_create },
	{ "/v1/alerts/", true, EVHTTP_REQ_GET, TOKEN_VIEWER, api_alert_get },
	{ "/v1/alerts/", true, EVHTTP_REQ_POST, TOKEN_OPERATOR, api_alert_action },
	/* Prometheus Alertmanager as a source: an operator token. */
	{ "/v1/inbound/alertmanager", false, EVHTTP_REQ_POST, TOKEN_OPERATOR,
	    api_alertmanager },
	/* Gateways' receipts and replies: no token (see api_inbound.c). */
	{ "/v1/inbound/", true, EVHTTP_REQ_GET, HTTP_ROLE_NONE, api_inbound },
	{ "/v1/inbound/", true, EVHTTP_REQ_POST, HTTP_ROLE_NONE, api_inbound },
	/* A recipient's link: the token is the credential (see api_ack.c). */
	{ "/a/", true, EVHTTP_REQ_GET, HTTP_ROLE_NONE, api_ack },
	{ "/a/", true, EVHTTP_REQ_POST, HTTP_ROLE_NONE, api_ack },
};

/* One evhttp per kind of listener: the callback argument says which. */
struct http_front {
	struct httpd		*h;
	struct evhttp		*http;
	struct http_clock	*clock;		/* http_timeout per request */
	bool			 control;
};

struct httpd {
	struct daemon		*d;
	struct http_front	 tcp;
	struct http_front	 control;
	char			*control_path;	/* unlinked at exit */
	struct {
		struct evhttp			*http;
		struct evhttp_bound_socket	*sock;
	}			 bound[HTTP_MAX_BOUND];
	size_t			 n_bound;
	size_t			 unfinished;	/* answers not yet fully sent */
	bool			 stopping;	/* httpd_stop_accepting() was
						 * called */
};

/*
 * One request until its answer has been written out, or its connection
 * closed.  evhttp serves one request at a time per connection, so the
 * connection's close callback can stand for the request's.
 */
struct http_pending {
	struct httpd			*h;
	struct http_clock		*clock;
	struct evhttp_connection	*evcon;
};

/* ---- answers ----------------------------------------------------------- */

static void
req_free(struct req *rq)
{
	evhttp_clear_headers(&rq->query);
	free(rq);
}

/*
 * Once a stop is under way, no further request on a kept-alive connection:
 * a client sending one after another (Kannel's receipts) would keep the
 * stop waiting for its answers until the grace ran out.  evhttp closes
 * the connection once this answer is written.
 */
static void
http_closing_header(struct req *rq, struct evkeyvalq *out)
{
	if (rq->d->httpd != NULL && rq->d->httpd->stopping)
		evhttp_add_header(out, "Connection", "close");
}

static void
http_common_headers(struct req *rq, const char *content_type)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(rq->r);

	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	http_closing_header(rq, out);
}

static void
http_log_answer(struct req *rq, int code)
{
	metrics_http(rq->route, evhttp_request_get_command(rq->r), code);
	/* The route, not the path: paths will carry acknowledgement tokens. */
	if (code >= 500)
		log_warnx("http: %s %s -> %d", rq->who.name ? rq->who.name : "-",
		    rq->route, code);
	else
		log_debug("http: %s %s -> %d", rq->who.name ? rq->who.name : "-",
		    rq->route, code);
}

void
http_reply_buffer(struct req *rq, int code, const char *content_type,
    struct evbuffer *body)
{
	http_common_headers(rq, content_type);
	http_log_answer(rq, code);
	evhttp_send_reply(rq->r, code, NULL, body);
	evbuffer_free(body);
	req_free(rq);
}

void
http_reply_see_other(struct req *rq, const char *location)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(rq->r);

	evhttp_add_header(h, "Location", location);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	http_closing_header(rq, h);
	http_log_answer(rq, 303);
	evhttp_send_reply(rq->r, 303, NULL, NULL);
	req_free(rq);
}

static int
http_dump_cb(const char *buf, size_t len, void *arg)
{
	return evbuffer_add(arg, buf, len);
}

void
http_reply_json(struct req *rq, int code, json_t *body)
{
	struct evbuffer *out = evbuffer_new();

	if (out == NULL || json_dump_callback(body, http_dump_cb, out,
	    JSON_COMPACT) != 0) {
		log_warnx("http: cannot encode an answer");
		code = 500;
		if (out != NULL)
			evbuffer_drain(out, evbuffer_get_length(out));
	}
	json_decref(body);
	if (out == NULL) {
		evhttp_send_error(rq->r, 500, NULL);
		req_free(rq);
		return;
	}
	evbuffer_add(out, "\n", 1);
	http_reply_buffer(rq, code, "application/json", out);
}

static json_t *
http_error_body(const char *ecode, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	return json_pack("{s:{s:s,s:s}}", "error", "code", ecode,
	    "message", msg);
}

void
http_reply_error(struct req *rq, int code, const char *ecode,
    const char *fmt, ...)
{
	va_list ap;
	json_t *body;

	va_start(ap, fmt);
	body = http_error_body(ecode, fmt, ap);
	va_end(ap);
	http_reply_json(rq, code, body);
}

void
http_reply_store_error(struct req *rq, int rc)
{
	if (rc == STORE_FULL || rc == STORE_BUSY)
		http_reply_error(rq, 503, "unavailable", "the database is %s; "
		    "nothing was changed, try again later",
		    rc == STORE_FULL ? "full" : "busy");
	else
		http_reply_error(rq, 500, "internal", "database error; "
		    "nothing was changed");
}

/* ---- audit and scope --------------------------------------------------- */

struct audit_job {
	struct audit_entry	e;
	char			*buf[5];
};

static int
audit_run(struct store *st, void *arg)
{
	struct audit_job *a = arg;

	return store_audit_add(st, &a->e);
}

static void
audit_done(int rc, void *arg)
{
	struct audit_job *a = arg;

	if (rc != STORE_OK)
		log_warnx("audit: could not record %s by %s", a->e.action,
		    a->e.actor);
	for (size_t i = 0; i < 5; i++)
		free(a->buf[i]);
	free(a);
}

void
http_audit(struct daemon *d, const struct caller *who, const char *action,
    const char *target, const char *result, const char *detail)
{
	struct audit_job *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return;
	a->e.actor = a->buf[0] = strdup(who->name);
	a->e.action = a->buf[1] = strdup(action);
	a->e.target = a->buf[2] = strdup(target ? target : "");
	a->e.result = a->buf[3] = strdup(result);
	a->e.detail = a->buf[4] = strdup(detail ? detail : "");
	if (dbq_submit(d->writer, audit_run, audit_done, a, 0) != 0)
		audit_done(STORE_ERROR, a);
}

bool
http_caller_covers(const struct caller *who, const char *code)
{
	return roster_scope_covers(who->scope, who->n_scope, code);
}

void
http_deny(struct req *rq, const char *target, json_t *extra,
    const char *fmt, ...)
{
	va_list ap;
	json_t *body;
	char msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warnx("http: denied %s %s to %s: %s", rq->route, target,
	    rq->who.name, msg);
	http_audit(rq->d, &rq->who, "access.denied", target, "denied", msg);
	body = json_pack("{s:{s:s,s:s}}", "error", "code", "forbidden",
	    "message", msg);
	if (extra != NULL) {
		json_object_update(json_object_get(body, "error"), extra);
		json_decref(extra);
	}
	http_reply_json(rq, 403, body);
}

const char *
http_query(struct req *rq, const char *key)
{
	return evhttp_find_header(&rq->query, key);
}

/* ---- dispatch ------------------------------------------------------------ */

static const char *
http_method_name(int m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	default: return "?";
	}
}

static bool
http_route_matches(const struct route *rt, const char *path)
{
	return rt->prefix ? strncmp(path, rt->path, strlen(rt->path)) == 0 :
	    strcmp(path, rt->path) == 0;
}

/* The route for this path and method; *path_known tells 404 from 405. */
static const struct route *
http_route_find(const char *path, int method, bool *path_known)
{
	*path_known = false;
	for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		const struct route *rt = &http_routes[i];

		if (!http_route_matches(rt, path))
			continue;
		*path_known = true;
		if (rt->method == method)
			return rt;
	}
	return NULL;
}

static void
http_allow_header(struct req *rq, const char *path)
{
	char allow[64] = "";

	for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]); i++) {
		const struct route *rt = &http_routes[i];

		if (!http_route_matches(rt, path))
			continue;
		if (allow[0] != '\0')
			strncat(allow, ", ", sizeof(allow) - strlen(allow) - 1);
		strncat(allow, http_method_name(rt->method),
		    sizeof(allow) - strlen(allow) - 1);
	}
	evhttp_add_header(evhttp_request_get_output_headers(rq->r), "Allow",
	    allow);
}

/* Bearer token from the header to a configured token; -1 answers 401. */
static int
http_authenticate(struct req *rq)
{
	const char *h = evhttp_find_header(evhttp_request_get_input_headers(rq->r),
	    "Authorization");
	const struct cfg_token *t;
	unsigned char digest[SHA256_DIGEST_LENGTH];

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || h[7] == '\0') {
		evhttp_add_header(evhttp_request_get_output_headers(rq->r),
		    "WWW-Authenticate", "Bearer realm=\"sanzhang\"");
		http_reply_error(rq, 401, "unauthorized",
		    "missing bearer token (Authorization: Bearer TOKEN)");
		return -1;
	}
	SHA256((const unsigned char *)h + 7, strlen(h + 7), digest);
	if ((t = config_token_find(rq->d->cfg, digest)) == NULL) {
		log_warnx("http: unknown token from %s for %s", http_peer(rq),
		    rq->route);
		evhttp_add_header(evhttp_request_get_output_headers(rq->r),
		    "WWW-Authenticate", "Bearer realm=\"sanzhang\", "
		    "error=\"invalid_token\"");
		http_reply_error(rq, 401, "unauthorized", "unknown token");
		return -1;
	}
	rq->who.name = t->name;
	rq->who.role = t->role;
	rq->who.scope = (const char *const *)t->scope;
	rq->who.n_scope = t->n_scope;
	return 0;
}

const char *
http_peer(const struct req *rq)
{
	char *peer = NULL;
	ev_uint16_t port = 0;

	evhttp_connection_get_peer(evhttp_request_get_connection(rq->r),
	    &peer, &port);
	return peer != NULL && *peer != '\0' ? peer : "the control socket";
}

double
http_elapsed(const struct req *rq)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - rq->started.tv_sec) +
	    (double)(now.tv_nsec - rq->started.tv_nsec) / 1e9;
}

static struct req *
req_new(struct evhttp_request *r, struct http_front *f)
{
	struct req *rq = calloc(1, sizeof(*rq));
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(r);
	const char *q;

	if (rq == NULL)
		return NULL;
	rq->r = r;
	rq->d = f->h->d;
	clock_gettime(CLOCK_MONOTONIC, &rq->started);
	TAILQ_INIT(&rq->query);
	rq->path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
	if (rq->path == NULL || *rq->path == '\0')
		rq->path = "/";
	rq->route = "(no route)";
	if (f->control) {
		rq->who.name = "control";
		rq->who.role = TOKEN_ADMIN;
		rq->who.control = true;
	}
	if (uri != NULL && (q = evhttp_uri_get_query(uri)) != NULL &&
	    evhttp_parse_query_str(q, &rq->query) != 0)
		rq->route = NULL;	/* malformed query: answered 400 */
	return rq;
}

static void
http_pending_end(struct http_pending *p)
{
	p->h->unfinished--;
	free(p);
}

static void
http_pending_complete(struct evhttp_request *r, void *arg)
{
	struct http_pending *p = arg;

	evhttp_connection_set_closecb(p->evcon, NULL, NULL);
	http_clock_start(p->clock, p->evcon);	/* the next request's time */
	http_pending_end(p);
}

static void
http_pending_closed(struct evhttp_connection *evcon, void *arg)
{
	http_pending_end(arg);
}

static void
http_pending_start(struct http_front *f, struct evhttp_request *r)
{
	struct http_pending *p = malloc(sizeof(*p));
	struct httpd *h = f->h;

	http_clock_stop(f->clock, evhttp_request_get_connection(r));
	if (p == NULL || (p->evcon = evhttp_request_get_connection(r)) == NULL) {
		free(p);
		return;
	}
	p->h = h;
	p->clock = f->clock;
	h->unfinished++;
	evhttp_request_set_on_complete_cb(r, http_pending_complete, p);
	evhttp_connection_set_closecb(p->evcon, http_pending_closed, p);
}

size_t
httpd_unfinished(const struct httpd *h)
{
	return h->unfinished;
}

static void
http_dispatch(struct evhttp_request *r, void *arg)
{
	struct http_front *f = arg;
	const struct route *rt;
	struct req *rq;
	bool known;
	int method = evhttp_request_get_command(r);

	http_pending_start(f, r);
	if ((rq = req_new(r, f)) == NULL) {
		evhttp_send_error(r, 500, NULL);
		return;
	}
	if (rq->route == NULL) {
		rq->route = "(bad query)";
		http_reply_error(rq, 400, "bad_request", "malformed query string");
		return;
	}
	if ((rt = http_route_find(rq->path, method, &known)) == NULL) {
		if (!known) {
			http_reply_error(rq, 404, "not_found", "no such route: %s",
			    rq->path);
			return;
		}
		http_allow_header(rq, rq->path);
		http_reply_error(rq, 405, "method_not_allowed",
		    "method not allowed on %s", rq->path);
		return;
	}
	rq->route = rt->path;
	if (rt->min_role != HTTP_ROLE_NONE) {
		if (!rq->who.control && http_authenticate(rq) != 0)
			return;
		if ((int)rq->who.role < rt->min_role) {
			http_deny(rq, rq->path, NULL, "%s %s needs the %s role; "
			    "token '%s' is %s", http_method_name(method),
			    rt->path, config_role_name(rt->min_role),
			    rq->who.name, config_role_name(rq->who.role));
			return;
		}
	}
	rt->fn(rq);
}

/* ---- listeners ------------------------------------------------------------ */

static int
http_front_init(struct http_front *f, struct httpd *h, bool control)
{
	const struct config *cfg = h->d->cfg;

	f->h = h;
	f->control = control;
	if ((f->http = evhttp_new(h->d->base)) == NULL)
		return -1;
	evhttp_set_max_body_size(f->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_max_headers_size(f->http, HTTP_MAX_HEADERS);
	evhttp_set_timeout(f->http, cfg->http_timeout);
	if ((f->clock = http_clock_new(h->d->base, f->http,
	    cfg->http_timeout)) == NULL)
		return -1;
	evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
	    EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	    EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
	evhttp_set_gencb(f->http, http_dispatch, f);
	return 0;
}

static int
http_bind_tcp(struct httpd *h, char *err, size_t errlen)
{
	const struct config *cfg = h->d->cfg;

	for (size_t i = 0; i < cfg->n_listen; i++) {
		const struct cfg_listen *l = &cfg->listen[i];
		int port = atoi(l->port);
		struct evhttp_bound_socket *b;

		if (h->n_bound == HTTP_MAX_BOUND - 1) {
			snprintf(err, errlen, "%s:%d: too many listen addresses",
			    cfg->file, l->line);
			return -1;
		}
		b = evhttp_bind_socket_with_handle(h->tcp.http, l->host,
		    (ev_uint16_t)port);
		if (b == NULL) {
			snprintf(err, errlen, "%s:%d: cannot listen on %s:%s: %s",
			    cfg->file, l->line, l->host, l->port, strerror(errno));
			return -1;
		}
		h->bound[h->n_bound].http = h->tcp.http;
		h->bound[h->n_bound++].sock = b;
		log_info("http: listening on %s:%s", l->host, l->port);
	}
	return 0;
}

/* A socket file left by a dead daemon is removed; a live one is an error. */
static int
http_unlink_stale(const char *path, const struct sockaddr_un *sun,
    char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	if (lstat(path, &sb) != 0)
		return 0;
	if (!S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "control_socket %s exists and is not a "
		    "socket", path);
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0) {
		int live = connect(fd, (const struct sockaddr *)sun,
		    sizeof(*sun)) == 0;
		close(fd);
		if (live) {
			snprintf(err, errlen, "control_socket %s is in use by "
			    "another process", path);
			return -1;
		}
	}
	unlink(path);
	return 0;
}

/* Create the socket's directory when missing (not under systemd). */
static int
http_make_parent(const char *path, char *err, size_t errlen)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "control_socket directory %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
http_bind_control(struct httpd *h, char *err, size_t errlen)
{
	const char *path = h->d->cfg->control_socket;
	struct evconnlistener *lev;
	struct evhttp_bound_socket *b;
	struct sockaddr_un sun;
	mode_t old;

	if (path == NULL || *path == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "control_socket %s: path too long", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if (http_make_parent(path, err, errlen) != 0 ||
	    http_unlink_stale(path, &sun, err, errlen) != 0)
		return -1;
	/* Admin rights come from the file's permissions: owner and group only. */
	old = umask(0117);
	lev = evconnlistener_new_bind(h->d->base, NULL, NULL,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
	    (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (lev == NULL) {
		snprintf(err, errlen, "control_socket %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if ((b = evhttp_bind_listener(h->control.http, lev)) == NULL) {
		evconnlistener_free(lev);
		snprintf(err, errlen, "control_socket %s: cannot serve HTTP", path);
		return -1;
	}
	h->bound[h->n_bound].http = h->control.http;
	h->bound[h->n_bound++].sock = b;
	h->control_path = strdup(path);
	log_info("http: control socket %s", path);
	return 0;
}

struct httpd *
httpd_new(struct daemon *d, char *err, size_t errlen)
{
	struct httpd *h = calloc(1, sizeof(*h));

	if (h == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->d = d;
	if (http_front_init(&h->tcp, h, false) != 0 ||
	    http_front_init(&h->control, h, true) != 0) {
		snprintf(err, errlen, "cannot create the HTTP server");
		httpd_free(h);
		return NULL;
	}
	if (http_bind_tcp(h, err, errlen) != 0 ||
	    http_bind_control(h, err, errlen) != 0) {
		httpd_free(h);
		return NULL;
	}
	return h;
}

void
httpd_stop_accepting(struct httpd *h)
{
	for (size_t i = 0; i < h->n_bound; i++)
		evhttp_del_accept_socket(h->bound[i].http, h->bound[i].sock);
	h->n_bound = 0;
	h->stopping = true;
}

void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	if (h->tcp.http != NULL)
		evhttp_free(h->tcp.http);
	if (h->control.http != NULL)
		evhttp_free(h->control.http);
	http_clock_free(h->tcp.clock);		/* after its connections */
	http_clock_free(h->control.clock);
	if (h->control_path != NULL) {
		unlink(h->control_path);
		free(h->control_path);
	}
	free(h);
}
