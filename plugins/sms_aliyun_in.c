/*
 * sms_aliyun_in.c - Aliyun's "HTTP batch push" (HTTP批量推送) to the
 * channel's inbound URL: a POST whose body is a JSON array of
 *
 *   SmsReport {phone_number, success, err_code, err_msg, biz_id, out_id,
 *              send_time, report_time, sms_size}: delivery receipts
 *   SmsUp     {phone_number, content, send_time, sign_name, dest_code,
 *              sequence_id}: replies
 *
 * told apart by their fields (a report has success and biz_id, a reply
 * has content).  Aliyun wants HTTP 200 and {"code":0,"msg":"接收成功"} (it
 * checks only that code is a number); anything else it pushes again after
 * 1, 5 and 10 minutes, then gives up.  A body that is not such an array
 * gets a 400 naming the element and the field, and nothing of it is taken.
 *
 * Every reply of a push goes to the host (host->reply), which answers
 * Aliyun once all are recorded, or 503 when they cannot be (Aliyun then
 * pushes again; an answer recorded twice is recorded once).
 */
#include "sms_aliyun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define ALIYUN_ANSWER_OK	"{\"code\":0,\"msg\":\"接收成功\"}"

/* One element of a push, checked. */
struct aitem {
	int		 reply;		/* SmsUp, else SmsReport */
	char		 phone[12];
	const char	*biz_id;	/* a report's */
	int		 success;
	const char	*err_code;	/* a report's, or NULL */
	const char	*content;	/* a reply's */
};

static int
aliyun_answer(struct sz_inbound_answer *out, int status, const char *body)
{
	out->status = status;
	snprintf(out->content_type, sizeof(out->content_type), "%s",
	    status == 200 ? "application/json; charset=utf-8" :
	    "text/plain; charset=utf-8");
	snprintf(out->body, sizeof(out->body), "%s", body);
	return status == 400 ? -1 : 0;
}

/* A 400 naming the element and what is wrong with it. */
static int
aliyun_bad(struct sz_inbound_answer *out, size_t i, const char *what)
{
	char msg[256];

	snprintf(msg, sizeof(msg), "element %zu of the push: %s", i, what);
	return aliyun_answer(out, 400, msg);
}

/* A string member, or NULL; *bad when there but not a string. */
static const char *
aliyun_member(json_t *o, const char *key, int *bad)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	/* No NUL inside: json_loadb() refuses "\u0000" unless told. */
	if (!json_is_string(v)) {
		*bad = 1;
		return NULL;
	}
	return json_string_value(v);
}

static const char *
aliyun_item_report(json_t *o, struct aitem *it)
{
	json_t *s = json_object_get(o, "success");
	int bad = 0;

	it->biz_id = aliyun_member(o, "biz_id", &bad);
	it->err_code = aliyun_member(o, "err_code", &bad);
	if (bad)
		return "biz_id and err_code must be strings";
	if (!json_is_boolean(s))
		return "an SmsReport's success must be true or false";
	if (it->biz_id == NULL || *it->biz_id == '\0' ||
	    strlen(it->biz_id) > ALIYUN_BIZID_MAX)
		return "an SmsReport needs biz_id (1 to 64 characters)";
	for (const char *p = it->biz_id; *p != '\0'; p++)
		if (*p <= ' ' || *p > '~')
			return "biz_id holds a character no BizId has";
	it->success = json_is_true(s);
	return NULL;
}

static const char *
aliyun_item_reply(json_t *o, struct aitem *it)
{
	json_t *seq = json_object_get(o, "sequence_id");
	int bad = 0;

	it->reply = 1;
	it->content = aliyun_member(o, "content", &bad);
	if (bad || it->content == NULL)
		return "an SmsUp's content must be a string";
	/* Not used, but a push that says it is one must be well formed. */
	if (seq != NULL && !json_is_null(seq) && !json_is_integer(seq) &&
	    !(json_is_string(seq) && *json_string_value(seq) != '\0' &&
	    strspn(json_string_value(seq), "0123456789") ==
	    strlen(json_string_value(seq))))
		return "an SmsUp's sequence_id must be a number";
	return NULL;
}

/* Check element i; NULL, or why it is not an SmsReport nor an SmsUp. */
static const char *
aliyun_item(json_t *o, struct aitem *it)
{
	const char *phone;
	int bad = 0;

	memset(it, 0, sizeof(*it));
	if (!json_is_object(o))
		return "not a JSON object";
	phone = aliyun_member(o, "phone_number", &bad);
	if (bad || phone == NULL)
		return "phone_number must be a string";
	if (plug_phone_norm(phone, it->phone) == -1)
		return "phone_number is not a mainland mobile number";
	if (json_object_get(o, "success") != NULL ||
	    json_object_get(o, "biz_id") != NULL)
		return aliyun_item_report(o, it);
	if (json_object_get(o, "content") != NULL)
		return aliyun_item_reply(o, it);
	return "neither an SmsReport (phone_number, success, biz_id) nor an "
	    "SmsUp (phone_number, content)";
}

static void
aliyun_receipt(struct aliyun *a, const struct aitem *it)
{
	char pid[ALIYUN_BIZID_MAX + ALIYUN_TAG_LEN + 2], why[96], m[16];
	int rc = -1;

	snprintf(why, sizeof(why), "aliyun: %s", it->err_code != NULL &&
	    *it->err_code != '\0' ? it->err_code : it->success ?
	    "delivered" : "failed");
	plug_scrub(why);
	if (aliyun_provider_id(it->biz_id, it->phone, pid, sizeof(pid)) == 0)
		rc = a->host->receipt(a->chan, pid, true, it->success ?
		    SZ_RECEIPT_DELIVERED : SZ_RECEIPT_FAILED, why);
	a->host->log(a->chan, rc == 0 ? SZ_LOG_DEBUG : SZ_LOG_INFO,
	    "sms_aliyun: report for %s: %s%s", plug_mask(it->phone, m),
	    why, rc == 0 ? "" : " (no such delivery)");
}

/* Every reply of a push to the host. */
static void
aliyun_replies(struct aliyun *a, const struct aitem *items, size_t n)
{
	char m[16];

	for (size_t i = 0; i < n; i++) {
		const struct aitem *it = &items[i];

		if (!it->reply)
			continue;
		if (a->host->reply(a->chan, it->phone, it->content) != 0)
			a->host->log(a->chan, SZ_LOG_WARN, "sms_aliyun: reply "
			    "from %s not taken", plug_mask(it->phone, m));
		else
			a->host->log(a->chan, SZ_LOG_INFO, "sms_aliyun: reply "
			    "from %s, %zu bytes", plug_mask(it->phone, m),
			    strlen(it->content));
	}
}

static int
aliyun_push(struct aliyun *a, json_t *arr, struct sz_inbound_answer *out)
{
	size_t n = json_array_size(arr);
	struct aitem *items;
	const char *why;
	int rc;

	if (n == 0)
		return aliyun_answer(out, 200, ALIYUN_ANSWER_OK);
	if ((items = calloc(n, sizeof(*items))) == NULL) {
		aliyun_answer(out, 503, "out of memory");
		return -1;
	}
	/* All checked before any is taken: a bad push changes nothing. */
	for (size_t i = 0; i < n; i++)
		if ((why = aliyun_item(json_array_get(arr, i), &items[i])) !=
		    NULL) {
			a->host->log(a->chan, SZ_LOG_WARN, "sms_aliyun: push "
			    "refused: element %zu: %s", i, why);
			rc = aliyun_bad(out, i, why);
			free(items);
			return rc;
		}
	for (size_t i = 0; i < n; i++)
		if (!items[i].reply)
			aliyun_receipt(a, &items[i]);
	aliyun_replies(a, items, n);
	rc = aliyun_answer(out, 200, ALIYUN_ANSWER_OK);
	free(items);
	return rc;
}

int
aliyun_inbound(void *state, struct sz_chan *chan,
    const struct sz_inbound *in, struct sz_inbound_answer *out)
{
	struct aliyun *a = state;
	json_error_t je;
	json_t *doc;
	char msg[256];
	int rc;

	(void)chan;
	if (in->method == NULL || strcmp(in->method, "POST") != 0)
		return aliyun_answer(out, 400, "Aliyun pushes with POST");
	if (in->body == NULL || in->body_len == 0)
		return aliyun_answer(out, 400, "empty body: expected a JSON "
		    "array of SmsReport or SmsUp objects");
	if ((doc = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL) {
		snprintf(msg, sizeof(msg), "body is not JSON: line %d column "
		    "%d: %s", je.line, je.column, je.text);
		return aliyun_answer(out, 400, msg);
	}
	if (!json_is_array(doc))
		rc = aliyun_answer(out, 400, "body is not a JSON array of "
		    "SmsReport or SmsUp objects");
	else
		rc = aliyun_push(a, doc, out);
	json_decref(doc);
	return rc;
}
