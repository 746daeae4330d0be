/*
 * api_alerts.c - POST /v1/alerts, GET /v1/alerts[/ID[/recipients]] and
 * POST /v1/alerts/ID/cancel.
 *
 * A request is checked on the loop (cheap: JSON of a few KB) by
 * alert_req_parse(), then planned and stored by the writer in one durable
 * transaction with its audit row; 201 is answered only after that commit.
 */
#include "alert_req.h"
#include "api.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "message.h"
#include "store.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALERT_MAX_BODY		(64 * 1024)
#define ALERT_MAX_IDEM		128

struct create {
	struct req		*rq;
	json_t			*doc;		/* the request; strings point in */
	struct alert_req	 p;		/* the checked request */
	char			 idem[ALERT_MAX_IDEM + 1];
	struct alert_created	 out;
};

static void
create_free(struct create *c)
{
	json_decref(c->doc);
	alert_req_clear(&c->p);
	free(c->out.vacancies);
	free(c);
}

/* 400 invalid_alert naming the field. */
static void
alert_invalid(struct req *rq, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
alert_invalid(struct req *rq, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_json(rq, 400, json_pack("{s:{s:s,s:s,s:s}}", "error", "code",
	    "invalid_alert", "message", msg, "field", field));
}

/* Answer a request the check refused, as alert_req_parse() said. */
static void
alert_refused(struct req *rq, const struct alert_req_err *e)
{
	if (e->status == 403)
		http_deny(rq, e->field, NULL, "%s", e->message);
	else if (e->status == 409)
		http_reply_json(rq, 409, json_pack("{s:{s:s,s:s,s:s}}", "error",
		    "code", "no_route", "message", e->message, "role",
		    e->field));
	else
		alert_invalid(rq, e->field, "%s", e->message);
}

/* The Idempotency-Key header, when given, must be sane. */
static int
get_idem(struct create *c)
{
	const char *k = evhttp_find_header(
	    evhttp_request_get_input_headers(c->rq->r), "Idempotency-Key");
	size_t n;

	if (c->idem[0] != '\0') {	/* given by the caller (a source) */
		c->p.a.idem_key = c->idem;
		return 0;
	}
	if (k == NULL)
		return 0;
	n = strlen(k);
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			n = 0;
	if (n == 0 || n > ALERT_MAX_IDEM) {
		alert_invalid(c->rq, "Idempotency-Key", "Idempotency-Key must be "
		    "1 to %d printable ASCII characters", ALERT_MAX_IDEM);
		return -1;
	}
	memcpy(c->idem, k, n + 1);
	c->p.a.idem_key = c->idem;
	return 0;
}

static int
create_read(struct create *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->rq->r);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;

	if (len > ALERT_MAX_BODY) {
		http_reply_error(c->rq, 413, "payload_too_large", "an alert "
		    "request is at most %d bytes", ALERT_MAX_BODY);
		return -1;
	}
	c->doc = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(c->doc)) {
		http_reply_error(c->rq, 400, "invalid_json", "body must be a JSON "
		    "object (line %d column %d: %s)", jerr.line, jerr.column,
		    c->doc ? "not an object" : jerr.text);
		return -1;
	}
	return 0;
}

static int
create_parse(struct create *c)
{
	if (alert_req_parse(&c->p, c->doc, c->rq->d->cfg, &c->rq->who,
	    alert_now_ms()) != 0) {
		alert_refused(c->rq, &c->p.err);
		return -1;
	}
	return get_idem(c);
}

static int
create_run(struct store *st, void *arg)
{
	struct create *c = arg;
	struct audit_entry e;
	char detail[128];
	int rc;

	if ((rc = store_alert_create(st, &c->p.a, &c->out)) != STORE_OK ||
	    c->out.replayed)
		return rc;
	snprintf(detail, sizeof(detail), "%s: %zu recipients, %zu posts",
	    alert_kind_name(c->p.a.kind), c->out.recipients, c->out.posts);
	e = (struct audit_entry){
		.actor = c->p.a.actor, .action = "alert.create",
		.target = c->p.a.targets_json, .result = "ok", .detail = detail,
	};
	return store_audit_add(st, &e);
}

/* When quiet hours hold a notice back: the end, in Beijing time; else null. */
static json_t *
held_until(int64_t ms)
{
	time_t t = (time_t)(ms / 1000 + 8 * 3600);
	struct tm tm;
	char buf[40];

	if (ms == 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S+08:00", &tm);
	return json_string(buf);
}

static void
create_done(int rc, void *arg)
{
	struct create *c = arg;
	char code[16];

	if (rc == STORE_NOTFOUND) {
		alert_invalid(c->rq, "targets", "no node %s in the roster",
		    c->p.a.named[c->out.missing]);
	} else if (rc != STORE_OK) {
		http_reply_store_error(c->rq, rc);
	} else {
		alert_code(c->out.id, code);
		if (!c->out.replayed) {
			log_info("alert: %s %s by %s: %zu recipients "
			    "(planned in %.2f s, written in %.2f s, durable "
			    "after %.2f s)", code, alert_kind_name(c->p.a.kind),
			    c->p.a.actor, c->out.recipients, c->out.plan_s,
			    c->out.write_s, http_elapsed(c->rq));
			dispatch_wake(c->rq->d->dispatch);
		}
		http_reply_json(c->rq, 201, json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,"
		    "s:o,s:i,s:b,s:o}", "id", (json_int_t)c->out.id, "code", code,
		    "kind", alert_kind_name(c->p.a.kind),
		    "severity", alert_severity_name(c->p.a.severity),
		    "recipients", (json_int_t)c->out.recipients,
		    "posts", (json_int_t)c->out.posts,
		    "vacancies", json_loads(c->out.vacancies, 0, NULL),
		    "sms_parts", c->p.sms_parts, "replayed", c->out.replayed,
		    "held_until", held_until(c->p.a.send_at)));
	}
	create_free(c);
}

/* Check the request, then plan and write it (201 once durable). */
static void
create_start(struct create *c)
{
	if (create_parse(c) != 0) {
		c->rq = NULL;
		create_free(c);
		return;
	}
	if (dbq_submit(c->rq->d->writer, create_run, create_done, c,
	    DBQ_DURABLE) != 0) {
		http_reply_error(c->rq, 503, "unavailable", "shutting down");
		create_free(c);
	}
}

void
alert_create_doc(struct req *rq, json_t *doc, const char *idem_key)
{
	struct create *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(doc);
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	c->rq = rq;
	c->doc = doc;
	if (idem_key != NULL)
		snprintf(c->idem, sizeof(c->idem), "%s", idem_key);
	create_start(c);
}

void
api_alert_create(struct req *rq)
{
	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(rq->r), "Content-Type");
	struct create *c;

	if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0) {
		http_reply_error(rq, 415, "unsupported_media_type", "Content-Type "
		    "must be application/json");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	c->rq = rq;
	if (create_read(c) != 0) {
		c->rq = NULL;
		create_free(c);
		return;
	}
	create_start(c);
}
