/*
 * sms_tencent_in.c - what Tencent posts to the callback URLs set in the
 * console (one channel may take both at the same URL):
 *
 *   status (短信下发状态通知): a JSON array of reports, several at once:
 *     [{"user_receive_time": "2015-10-17 08:03:04", "nationcode": "86",
 *       "mobile": "13xxxxxxxxx", "report_status": "SUCCESS",
 *       "errmsg": "DELIVRD", "description": "...", "sid": "..."}]
 *   reply (短信回复): one JSON object:
 *     {"extend": "", "mobile": "13xxxxxxxxx", "nationcode": "86",
 *      "sign": "...", "text": "1", "time": 1457336869}
 *
 * Both want {"result":0,"errmsg":"OK"}; anything else and Tencent calls
 * again.  A body we cannot read gets 400 with a reason and changes
 * nothing: every element is checked before any is reported.
 */
#include "sms_tencent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define TENCENT_IN_MAX		(256 * 1024)
#define TENCENT_OK_BODY		"{\"result\":0,\"errmsg\":\"OK\"}"

/* 200 and Tencent's OK, or an error status and {"result":1,...}. */
static int
tencent_answer(struct sz_inbound_answer *out, int status, const char *why)
{
	out->status = status;
	snprintf(out->content_type, sizeof(out->content_type),
	    "application/json");
	if (status == 200)
		snprintf(out->body, sizeof(out->body), TENCENT_OK_BODY);
	else
		snprintf(out->body, sizeof(out->body), "{\"result\":1,"
		    "\"errmsg\":\"%s\"}", why);
	return 0;
}

/* A member that must be a string, or absent when optional. */
static const char *
tencent_str(json_t *o, const char *key, int required, const char **bad)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL && !required)
		return NULL;
	if (!json_is_string(v)) {
		*bad = key;
		return NULL;
	}
	return json_string_value(v);
}

/* ---- status reports ------------------------------------------------- */

/* Check one report; NULL, or why it is malformed. */
static const char *
tencent_report_check(json_t *e)
{
	const char *bad = NULL, *st, *sid;

	sid = tencent_str(e, "sid", 1, &bad);
	st = tencent_str(e, "report_status", 1, &bad);
	tencent_str(e, "mobile", 1, &bad);
	tencent_str(e, "errmsg", 0, &bad);
	tencent_str(e, "nationcode", 0, &bad);
	if (bad != NULL)
		return "a status report needs string sid, report_status and "
		    "mobile";
	if (*sid == '\0')
		return "a status report has an empty sid";
	if (strcmp(st, "SUCCESS") != 0 && strcmp(st, "FAIL") != 0)
		return "report_status is neither SUCCESS nor FAIL";
	return NULL;
}

static void
tencent_report(struct tencent *t, json_t *e)
{
	const char *bad = NULL, *sid, *mobile, *err;
	enum sz_receipt st;
	char why[96], m[16], phone[12], sids[48];
	int rc;

	sid = tencent_str(e, "sid", 1, &bad);
	mobile = tencent_str(e, "mobile", 1, &bad);
	err = tencent_str(e, "errmsg", 0, &bad);
	st = strcmp(tencent_str(e, "report_status", 1, &bad), "SUCCESS") ==
	    0 ? SZ_RECEIPT_DELIVERED : SZ_RECEIPT_FAILED;
	snprintf(why, sizeof(why), "tencent: %s", err != NULL && *err != '\0' ?
	    err : st == SZ_RECEIPT_DELIVERED ? "delivered" : "failed");
	plug_scrub(why);
	rc = t->host->receipt(t->chan, sid, true, st, why);
	if (plug_phone_norm(mobile, phone) == -1)
		snprintf(phone, sizeof(phone), "?");
	snprintf(sids, sizeof(sids), "%s", sid);
	plug_scrub(sids);
	t->host->log(t->chan, rc == 0 ? SZ_LOG_DEBUG : SZ_LOG_INFO,
	    "sms_tencent: report %s to %s: %s%s", sids,
	    plug_mask(phone, m), why + 9, rc == 0 ? "" :
	    " (no such delivery)");
}

/* ---- replies ------------------------------------------------------ */

static const char *
tencent_reply_check(json_t *e)
{
	const char *bad = NULL;

	tencent_str(e, "mobile", 1, &bad);
	tencent_str(e, "text", 1, &bad);
	tencent_str(e, "nationcode", 0, &bad);
	tencent_str(e, "sign", 0, &bad);
	tencent_str(e, "extend", 0, &bad);
	if (bad != NULL)
		return "a reply needs string mobile and text";
	if (json_object_get(e, "time") != NULL &&
	    !json_is_integer(json_object_get(e, "time")))
		return "a reply's time is not a number";
	return NULL;
}

static void
tencent_reply(struct tencent *t, json_t *e)
{
	const char *bad = NULL, *mobile, *text, *nc;
	char phone[12], m[16];
	int rc;

	mobile = tencent_str(e, "mobile", 1, &bad);
	text = tencent_str(e, "text", 1, &bad);
	nc = tencent_str(e, "nationcode", 0, &bad);
	if ((nc != NULL && *nc != '\0' && strcmp(nc, "86") != 0) ||
	    plug_phone_norm(mobile, phone) == -1) {
		t->host->log(t->chan, SZ_LOG_WARN, "sms_tencent: reply from "
		    "%s, not a mainland mobile number: dropped",
		    plug_mask(mobile, m));
		return;
	}
	rc = t->host->reply(t->chan, phone, text);
	t->host->log(t->chan, SZ_LOG_INFO, "sms_tencent: reply from %s, %zu "
	    "bytes%s", plug_mask(phone, m), strlen(text),
	    rc == 0 ? "" : " (not taken)");
}

/* ---- the callback -------------------------------------------------- */

/* Which kind an element is: 'S' status, 'R' reply, 0 neither. */
static int
tencent_kind(json_t *e)
{
	if (!json_is_object(e))
		return 0;
	if (json_object_get(e, "report_status") != NULL ||
	    json_object_get(e, "sid") != NULL)
		return 'S';
	if (json_object_get(e, "text") != NULL)
		return 'R';
	return 0;
}

/* Check every element of v (an array); NULL, or why the body is bad. */
static const char *
tencent_check_all(json_t *v, int *kind)
{
	const char *why;
	size_t i;
	json_t *e;

	*kind = 0;
	if (json_array_size(v) == 0)
		return "an empty array";
	json_array_foreach(v, i, e) {
		int k = tencent_kind(e);

		if (k == 0)
			return "an element is neither a status report nor "
			    "a reply";
		if (*kind != 0 && k != *kind)
			return "status reports and replies mixed in one body";
		*kind = k;
		why = k == 'S' ? tencent_report_check(e) :
		    tencent_reply_check(e);
		if (why != NULL)
			return why;
	}
	return NULL;
}

int
tencent_inbound(void *state, struct sz_chan *chan,
    const struct sz_inbound *in, struct sz_inbound_answer *out)
{
	struct tencent *t = state;
	json_t *root, *v;
	const char *why;
	size_t i;
	int kind;

	(void)chan;
	if (in->method == NULL || strcmp(in->method, "POST") != 0)
		return tencent_answer(out, 405, "Tencent calls with POST");
	if (in->body == NULL || in->body_len == 0 ||
	    in->body_len > TENCENT_IN_MAX)
		return tencent_answer(out, 400, "no body, or too large");
	if ((root = json_loadb(in->body, in->body_len, JSON_DECODE_ANY,
	    NULL)) == NULL) {
		t->host->log(t->chan, SZ_LOG_INFO, "sms_tencent: inbound body "
		    "is not JSON: refused");
		return tencent_answer(out, 400, "the body is not JSON");
	}
	if (json_is_object(root)) {
		if ((v = json_array()) == NULL ||
		    json_array_append(v, root) == -1) {
			json_decref(v);
			json_decref(root);
			tencent_answer(out, 500, "out of memory");
			return -1;
		}
		json_decref(root);
		root = v;
	}
	if (!json_is_array(root))
		why = "the body is neither a JSON array nor an object";
	else
		why = tencent_check_all(root, &kind);
	if (why != NULL) {
		t->host->log(t->chan, SZ_LOG_INFO, "sms_tencent: inbound body "
		    "refused: %s", why);
		json_decref(root);
		return tencent_answer(out, 400, why);
	}
	json_array_foreach(root, i, v) {
		if (kind == 'S')
			tencent_report(t, v);
		else
			tencent_reply(t, v);
	}
	json_decref(root);
	return tencent_answer(out, 200, NULL);
}
