/*
 * api_alertmanager.c - POST /v1/inbound/alertmanager: Prometheus
 * Alertmanager's webhook (payload version 4) as a source of alerts, so
 * monitored sensors (water level, gas, fire panels) can raise them.
 *
 * Alertmanager authenticates with an operator token (http_config
 * authorization credentials); the token's scope limits the targets, as
 * for POST /v1/alerts.  alertmanager.c maps a notification to what it asks
 * for; here it is read, and the alert created or cancelled.
 */
#include "alert.h"
#include "alertmanager.h"
#include "api.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "store.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AM_MAX_BODY	(256 * 1024)

struct am_cancel {
	struct req	*rq;
	char		 key[AM_KEY_MAX];
	int64_t		 id;
	size_t		 cancelled;
	bool		 found;
};

/* ---- resolved: cancel the episode's alert ------------------------------- */

static int
am_cancel_run(struct store *st, void *arg)
{
	struct am_cancel *q = arg;
	struct audit_entry e;
	char target[16], detail[96];
	int rc;

	rc = store_alert_find_idem(st, q->rq->who.name, q->key, &q->id);
	if (rc == STORE_NOTFOUND)
		return STORE_OK;
	if (rc != STORE_OK ||
	    (rc = store_alert_cancel(st, q->id, &q->cancelled)) != STORE_OK)
		return rc;
	q->found = true;
	alert_code(q->id, target);
	snprintf(detail, sizeof(detail), "resolved in Alertmanager: %zu "
	    "recipients stopped", q->cancelled);
	e = (struct audit_entry){
		.actor = q->rq->who.name, .action = "alert.cancel",
		.target = target, .result = "ok", .detail = detail,
	};
	return store_audit_add(st, &e);
}

static void
am_cancel_done(int rc, void *arg)
{
	struct am_cancel *q = arg;
	char code[16];

	if (rc != STORE_OK)
		http_reply_store_error(q->rq, rc);
	else if (!q->found)
		http_reply_json(q->rq, 200, json_pack("{s:s}", "result",
		    "no alert of this episode to cancel"));
	else {
		alert_code(q->id, code);
		dispatch_cancelled(q->rq->d->dispatch, q->id);
		log_info("alertmanager: %s cancelled (resolved): %zu recipients "
		    "stopped", code, q->cancelled);
		http_reply_json(q->rq, 200, json_pack("{s:I,s:s,s:s,s:I}", "id",
		    (json_int_t)q->id, "code", code, "state", "cancelled",
		    "cancelled", (json_int_t)q->cancelled));
	}
	free(q);
}

static void
am_cancel(struct req *rq, const char *key)
{
	struct am_cancel *q = calloc(1, sizeof(*q));

	if (q == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	q->rq = rq;
	snprintf(q->key, sizeof(q->key), "%s", key);
	if (dbq_submit(rq->d->writer, am_cancel_run, am_cancel_done, q,
	    DBQ_DURABLE) != 0) {
		http_reply_error(rq, 503, "unavailable", "shutting down");
		free(q);
	}
}

/* ---- the notification ----------------------------------------------------- */

static json_t *
am_read(struct req *rq)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->r);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;
	json_t *doc;

	if (len > AM_MAX_BODY) {
		http_reply_error(rq, 413, "payload_too_large", "a notification "
		    "is at most %d bytes", AM_MAX_BODY);
		return NULL;
	}
	doc = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &jerr);
	if (!json_is_object(doc)) {
		http_reply_error(rq, 400, "invalid_json", "body must be "
		    "Alertmanager's webhook JSON (line %d column %d: %s)",
		    jerr.line, jerr.column, doc ? "not an object" : jerr.text);
		json_decref(doc);
		return NULL;
	}
	return doc;
}

void
api_alertmanager(struct req *rq)
{
	struct am_decision dec;
	char why[256];
	json_t *doc;

	if ((doc = am_read(rq)) == NULL)
		return;
	if (am_decide(doc, &dec, why, sizeof(why)) != 0) {
		json_decref(doc);
		http_reply_error(rq, 400, "invalid_notification", "%s", why);
		return;
	}
	json_decref(doc);
	switch (dec.action) {
	case AM_IGNORE:
		http_reply_json(rq, 200, json_pack("{s:s}", "result", "ignored"));
		break;
	case AM_CANCEL:
		am_cancel(rq, dec.key);
		break;
	case AM_CREATE:
		alert_create_doc(rq, dec.req, dec.key);
		break;
	}
}
