/*
 * api_alerts_read.c - GET /v1/alerts, GET /v1/alerts/ID[/recipients],
 * POST /v1/alerts/ID/cancel and POST /v1/alerts/ID/ack (an operator
 * recording an answer a leader gave by telephone).
 *
 * A caller sees an alert only when every one of its targets lies in the
 * caller's scope; an alert outside it answers 403 (audited).
 */
#include "api.h"
#include "alert.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "escalate.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "report.h"
#include "roster.h"
#include "store.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum alert_op { OP_LIST, OP_GET, OP_RECIPIENTS, OP_CANCEL, OP_ACK, OP_REPORT };

enum report_format { FMT_JSON, FMT_CSV, FMT_HTML };

struct alert_q {
	struct req	*rq;
	enum alert_op	 op;
	int64_t		 id;
	int		 state;		/* recipients filter, -1 = all */
	const char	*list_state;	/* list filter, NULL = all */
	json_t		*out;
	bool		 denied;	/* out of the caller's scope */
	size_t		 cancelled;
	char		 phone[12];	/* OP_ACK: whose answer */
	char		 via[80];
	struct ack_in	 ack;
	enum ack_result	 ack_result;
	int64_t		 ack_first_ms;	/* OP_ACK: for the metrics */
	bool		 no_phone;	/* OP_ACK: not a recipient */
	enum report_format format;	/* OP_REPORT */
	struct evbuffer	*page;		/* OP_REPORT as CSV or HTML */
};

static bool
alert_visible(const struct caller *who, const json_t *alert)
{
	json_t *targets = json_object_get(alert, "targets"), *t;
	size_t i;

	if (who->n_scope == 0)
		return true;
	json_array_foreach(targets, i, t)
		if (!json_is_string(t) ||
		    !http_caller_covers(who, json_string_value(t)))
			return false;
	return true;
}

/* Keep the alerts the caller may see. */
static void
alert_filter(const struct caller *who, json_t *list)
{
	for (size_t i = json_array_size(list); i-- > 0;)
		if (!alert_visible(who, json_array_get(list, i)))
			json_array_remove(list, i);
}

static int
alert_cancel_audited(struct store *st, struct alert_q *q)
{
	char target[32], detail[64];
	struct audit_entry e;
	int rc;

	if ((rc = store_alert_cancel(st, q->id, &q->cancelled)) != STORE_OK)
		return rc;
	alert_code(q->id, target);
	snprintf(detail, sizeof(detail), "%zu recipients stopped", q->cancelled);
	e = (struct audit_entry){
		.actor = q->rq->who.name, .action = "alert.cancel",
		.target = target, .result = "ok", .detail = detail,
	};
	return store_audit_add(st, &e);
}

/* OP_ACK: find the recipient by phone, record, audit (phone masked). */
static int
alert_ack_audited(struct store *st, struct alert_q *q)
{
	char target[32], detail[96], masked[12];
	struct ack_info info;
	struct audit_entry e;
	int rc;

	rc = store_ack_find(st, q->id, q->phone, &q->ack.rcpt_id);
	if (rc == STORE_NOTFOUND) {
		q->no_phone = true;
		return STORE_OK;
	}
	if (rc != STORE_OK)
		return rc;
	rc = store_ack_record(st, &q->ack, &q->ack_result, &info);
	if (rc == STORE_OK)
		q->ack_first_ms = ack_first_ms(&info, &q->ack, q->ack_result);
	ack_info_free(&info);
	if (rc != STORE_OK || q->ack_result != ACK_RECORDED)
		return rc == STORE_NOTFOUND ? STORE_ERROR : rc;
	alert_code(q->id, target);
	phone_mask(q->phone, masked);
	snprintf(detail, sizeof(detail), "%s answered %d", masked,
	    q->ack.response);
	e = (struct audit_entry){
		.actor = q->rq->who.name, .action = "alert.ack",
		.target = target, .result = "ok", .detail = detail,
	};
	return store_audit_add(st, &e);
}

static int
alert_q_run(struct store *st, void *arg)
{
	struct alert_q *q = arg;
	json_t *list = NULL;
	int rc;

	if (q->op == OP_LIST) {
		if ((rc = store_alert_list(st, q->list_state, &q->out)) == STORE_OK)
			alert_filter(&q->rq->who, q->out);
		return rc;
	}
	if ((rc = q->op == OP_REPORT ? store_alert_report(st, q->id, &q->out) :
	    store_alert_get(st, q->id, &q->out)) != STORE_OK)
		return rc;
	if (!alert_visible(&q->rq->who, q->out)) {
		q->denied = true;
		return STORE_OK;
	}
	/* A city's report is large: rendered here, off the loop. */
	if (q->op == OP_REPORT && q->format != FMT_JSON) {
		if ((q->page = evbuffer_new()) == NULL)
			return STORE_ERROR;
		if (q->format == FMT_CSV)
			report_csv(q->out, q->page);
		else
			report_html(q->out, q->page);
		return STORE_OK;
	}
	if (q->op == OP_CANCEL)
		return alert_cancel_audited(st, q);
	if (q->op == OP_ACK)
		return alert_ack_audited(st, q);
	if (q->op != OP_RECIPIENTS)
		return STORE_OK;
	if ((rc = store_alert_recipients(st, q->id, q->state, &list)) != STORE_OK)
		return rc;
	json_decref(q->out);
	q->out = json_pack("{s:o}", "recipients", list);
	return STORE_OK;
}

static void
alert_ack_reply(struct alert_q *q, const char *code)
{
	static const char *const result[] = {
		[ACK_RECORDED] = "recorded", [ACK_SAME] = "unchanged",
	};
	char masked[12];

	phone_mask(q->phone, masked);
	if (q->no_phone)
		http_reply_error(q->rq, 404, "not_found", "%s is not a "
		    "recipient of alert %s", masked, code);
	else if (q->ack_result == ACK_CLOSED)
		http_reply_error(q->rq, 409, "alert_closed", "alert %s is "
		    "cancelled or expired: it takes no answers", code);
	else if (q->ack_result == ACK_BAD_RESPONSE)
		http_reply_error(q->rq, 400, "bad_request", "alert %s has no "
		    "response %d", code, q->ack.response);
	else {
		if (q->ack_result == ACK_RECORDED) {
			log_info("alert: %s: %s answered %d, recorded by %s",
			    code, masked, q->ack.response, q->rq->who.name);
			metrics_ack("operator", q->ack_first_ms);
		}
		http_reply_json(q->rq, 200, json_pack("{s:I,s:s,s:s,s:i,s:s}",
		    "id", (json_int_t)q->id, "code", code, "phone", masked,
		    "response", q->ack.response, "result",
		    result[q->ack_result]));
	}
}

static void
alert_q_done(int rc, void *arg)
{
	struct alert_q *q = arg;
	char code[16];

	alert_code(q->id, code);
	if (rc == STORE_NOTFOUND) {
		http_reply_error(q->rq, 404, "not_found", "no alert %s", code);
	} else if (rc != STORE_OK) {
		http_reply_store_error(q->rq, rc);
	} else if (q->denied) {
		http_deny(q->rq, code, NULL, "alert %s targets nodes outside the "
		    "scope of token '%s'", code, q->rq->who.name);
	} else if (q->op == OP_LIST) {
		http_reply_json(q->rq, 200, json_pack("{s:O}", "alerts", q->out));
	} else if (q->op == OP_REPORT && q->page != NULL) {
		http_reply_buffer(q->rq, 200, q->format == FMT_CSV ?
		    "text/csv; charset=utf-8" : "text/html; charset=utf-8",
		    q->page);
		q->page = NULL;
	} else if (q->op == OP_ACK) {
		alert_ack_reply(q, code);
	} else if (q->op == OP_CANCEL) {
		dispatch_cancelled(q->rq->d->dispatch, q->id);
		log_info("alert: %s cancelled by %s: %zu recipients stopped",
		    code, q->rq->who.name, q->cancelled);
		http_reply_json(q->rq, 200, json_pack("{s:I,s:s,s:s,s:I}", "id",
		    (json_int_t)q->id, "code", code, "state", "cancelled",
		    "cancelled", (json_int_t)q->cancelled));
	} else {
		http_reply_json(q->rq, 200, json_incref(q->out));
	}
	json_decref(q->out);
	if (q->page != NULL)
		evbuffer_free(q->page);
	free(q);
}

/* "/v1/alerts/A7/recipients" -> id 7 and the rest "/recipients". */
static int64_t
alert_path_id(const char *path, const char **rest)
{
	static const char prefix[] = "/v1/alerts/";
	char id[24];
	size_t n;

	path += sizeof(prefix) - 1;
	n = strcspn(path, "/");
	*rest = path + n;
	if (n == 0 || n >= sizeof(id))
		return -1;
	memcpy(id, path, n);
	id[n] = '\0';
	return alert_code_parse(id);
}

static void
alert_q_submit(struct req *rq, struct alert_q *q, bool write)
{
	struct dbq *db = write ? rq->d->writer : rq->d->readers;

	q->rq = rq;
	if (dbq_submit(db, alert_q_run, alert_q_done, q,
	    write ? DBQ_DURABLE : 0) != 0) {
		free(q);
		http_reply_error(rq, 503, "unavailable", "shutting down");
	}
}

void
api_alert_list(struct req *rq)
{
	const char *state = http_query(rq, "state");
	struct alert_q *q;

	if (state != NULL && strcmp(state, "active") != 0 &&
	    strcmp(state, "cancelled") != 0 && strcmp(state, "expired") != 0) {
		http_reply_error(rq, 400, "bad_request", "state must be active, "
		    "cancelled or expired");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	q->op = OP_LIST;
	q->list_state = state;
	alert_q_submit(rq, q, false);
}

void
api_alert_get(struct req *rq)
{
	const char *rest, *state = http_query(rq, "state"), *fmt = NULL;
	int64_t id = alert_path_id(rq->path, &rest);
	struct alert_q *q;
	enum alert_op op;

	if (id < 0 || (strcmp(rest, "") != 0 && strcmp(rest, "/recipients") !=
	    0 && strcmp(rest, "/report") != 0)) {
		http_reply_error(rq, 404, "not_found", "no such alert or route: "
		    "GET /v1/alerts/ID, /v1/alerts/ID/recipients or "
		    "/v1/alerts/ID/report");
		return;
	}
	op = strcmp(rest, "/report") == 0 ? OP_REPORT : *rest ? OP_RECIPIENTS :
	    OP_GET;
	if (op == OP_REPORT && (fmt = http_query(rq, "format")) != NULL &&
	    strcmp(fmt, "json") != 0 && strcmp(fmt, "csv") != 0 &&
	    strcmp(fmt, "html") != 0) {
		http_reply_error(rq, 400, "bad_request", "format must be json, "
		    "csv or html");
		return;
	}
	if (op == OP_RECIPIENTS && state != NULL && rcpt_state_parse(state) < 0) {
		http_reply_error(rq, 400, "bad_request", "state must be one of "
		    "pending, sent, delivered, acked, failed, cancelled, expired");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	q->op = op;
	q->id = id;
	q->state = state ? rcpt_state_parse(state) : -1;
	q->format = fmt == NULL || strcmp(fmt, "json") == 0 ? FMT_JSON :
	    strcmp(fmt, "csv") == 0 ? FMT_CSV : FMT_HTML;
	alert_q_submit(rq, q, false);
}

/* {"phone": "138...", "response": N (default 1)} into q; -1 answered. */
static int
alert_ack_body(struct req *rq, struct alert_q *q)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->r);
	json_t *doc, *v;
	json_error_t jerr;
	int rc = -1;

	doc = json_loadb((const char *)evbuffer_pullup(in, -1),
	    evbuffer_get_length(in), JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc))
		http_reply_error(rq, 400, "invalid_json", "body must be a JSON "
		    "object {\"phone\": ..., \"response\": N} (%s)",
		    doc ? "not an object" : jerr.text);
	else if (!json_is_string(v = json_object_get(doc, "phone")) ||
	    phone_normalize(json_string_value(v), q->phone) != 0)
		http_reply_error(rq, 400, "bad_request", "phone must be a "
		    "mainland mobile number");
	else if ((v = json_object_get(doc, "response")) != NULL &&
	    (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > 1000))
		http_reply_error(rq, 400, "bad_request", "response must be an "
		    "integer from 1 (the first option)");
	else {
		q->ack.response = v ? (int)json_integer_value(v) : 1;
		rc = 0;
	}
	json_decref(doc);
	return rc;
}

void
api_alert_action(struct req *rq)
{
	const char *rest;
	int64_t id = alert_path_id(rq->path, &rest);
	struct alert_q *q;

	if (id < 0 || (strcmp(rest, "/cancel") != 0 &&
	    strcmp(rest, "/ack") != 0)) {
		http_reply_error(rq, 404, "not_found", "no such alert or route: "
		    "POST /v1/alerts/ID/cancel or /v1/alerts/ID/ack");
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	q->op = strcmp(rest, "/ack") == 0 ? OP_ACK : OP_CANCEL;
	q->id = id;
	if (q->op == OP_ACK) {
		if (alert_ack_body(rq, q) != 0) {
			free(q);
			return;
		}
		snprintf(q->via, sizeof(q->via), "operator:%s", rq->who.name);
		q->ack.via = q->via;
		q->ack.routes = escalate_routes(rq->d->escalate);
		q->ack.now = alert_now_ms();
	}
	alert_q_submit(rq, q, true);
}
