/*
 * sms_tencent_answer.c - what SendSms answered, for each message.
 *
 * Tencent answers HTTP 200 with {"Response": {...}} whatever happened.
 * Response.Error means the whole call failed (a bad signature, a missing
 * parameter, too many requests); otherwise Response.SendStatusSet has one
 * entry per number with its own Code ("Ok" when taken) and SerialNo, the
 * id the status callback quotes later as "sid".
 *
 * What is worth another try: frequency limits that lift within minutes,
 * the API's own rate limit, internal errors, 5xx and no answer at all.
 * What is not: a daily limit (nothing more today for that number or
 * account; the next channel and the escalation take over), an hourly one
 * (too long for a call-and-answer), a number on the do-not-disturb list,
 * bad credentials, an unapproved template or signature, bad parameters.
 */
#include "sms_tencent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define TENCENT_BODY_MAX	(1024 * 1024)	/* more is not an answer */
#define TENCENT_WHY_MAX		160

/* One error code, or a family of them when prefix is set. */
struct tcode {
	const char	*code;
	enum sz_outcome	 o;
	int		 after;		/* seconds; 0 = the host's backoff */
	int		 prefix;	/* code and code.* */
};

/* Exact codes first: the first entry that matches wins. */
static const struct tcode tencent_codes[] = {
	{ "Ok", SZ_ACCEPTED, 0, 0 },
	/* frequency limits that lift soon */
	{ "LimitExceeded.PhoneNumberThirtySecondLimit", SZ_RETRY, 30, 0 },
	{ "LimitExceeded.DeliveryFrequencyLimit", SZ_RETRY, 60, 0 },
	/* limits that last an hour or the day */
	{ "LimitExceeded.PhoneNumberOneHourLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.PhoneNumberDailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.PhoneNumberSameContentDailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.DailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.AppDailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.AppMainlandChinaDailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.AppGlobalDailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.AppCountryOrRegionDailyLimit", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.AppCountryOrRegionInBlacklist", SZ_FAILED, 0, 0 },
	{ "LimitExceeded.PhoneNumberCountLimit", SZ_FAILED, 0, 0 },
	/* our clock is off by more than 5 minutes: a retry signs anew */
	{ "AuthFailure.SignatureExpire", SZ_RETRY, 0, 0 },
	/* families */
	{ "RequestLimitExceeded", SZ_RETRY, 1, 1 },
	{ "LimitExceeded", SZ_RETRY, 60, 1 },
	{ "InternalError", SZ_RETRY, 0, 1 },
	{ "ServiceUnavailable", SZ_RETRY, 0, 1 },
	{ "AuthFailure", SZ_FAILED, 0, 1 },
	{ "InvalidParameter", SZ_FAILED, 0, 1 },
	{ "InvalidParameterValue", SZ_FAILED, 0, 1 },
	{ "MissingParameter", SZ_FAILED, 0, 1 },
	{ "FailedOperation", SZ_FAILED, 0, 1 },
	{ "UnauthorizedOperation", SZ_FAILED, 0, 1 },
	{ "UnsupportedOperation", SZ_FAILED, 0, 1 },
	{ NULL, SZ_FAILED, 0, 0 },
};

enum sz_outcome
tencent_classify(const char *code, int *after)
{
	size_t len;

	*after = 0;
	for (const struct tcode *c = tencent_codes; c->code != NULL; c++) {
		len = strlen(c->code);
		if (strncmp(code, c->code, len) != 0 || (code[len] != '\0' &&
		    !(c->prefix && code[len] == '.')))
			continue;
		*after = c->after;
		return c->o;
	}
	return SZ_FAILED;	/* unknown: let the next channel try */
}

/* "tencent: CODE: message", scrubbed, into why. */
static void
tencent_why(const char *code, const char *msg, char *why, size_t len)
{
	int n;

	n = snprintf(why, len, "tencent: %s%s%s", code,
	    msg != NULL && *msg != '\0' ? ": " : "", msg != NULL ? msg : "");
	if (n > 0 && (size_t)n >= len && len > 4)
		strcpy(why + len - 4, "...");
	plug_scrub(why);
}

/* Every message of c gets o. */
static void
tencent_all(struct tcall *c, enum sz_outcome o, int after, const char *why)
{
	struct tencent *t = c->t;

	t->host->log(t->chan, o == SZ_RETRY ? SZ_LOG_WARN : SZ_LOG_ERROR,
	    "sms_tencent: SendSms %s (%zu numbers): %s", c->v[0].id, c->n,
	    why);
	for (size_t i = 0; i < c->n; i++)
		t->host->outcome(t->chan, c->v[i].id, o, NULL, after, why);
}

/*
 * Not a 2xx, no answer, or one cut short (the timeout struck mid-body,
 * so what it said is unknown): 5xx, 408, 429 and silence are worth a
 * retry.
 */
static void
tencent_http_error(struct tcall *c, const struct sz_http_resp *resp)
{
	char why[TENCENT_WHY_MAX];
	long st = resp->status;

	if (st == 0 || resp->transport_error != 0) {
		snprintf(why, sizeof(why), "tencent: %stransport error %d: %s",
		    st != 0 ? "answer cut short, " : "",
		    resp->transport_error, resp->error != NULL ?
		    resp->error : "");
		plug_scrub(why);
		tencent_all(c, SZ_RETRY, st != 0 ? plug_retry_after(resp) : 0,
		    why);
		return;
	}
	snprintf(why, sizeof(why), "tencent: HTTP %ld", st);
	if (st >= 500 || st == 408 || st == 429)
		tencent_all(c, SZ_RETRY, plug_retry_after(resp), why);
	else
		tencent_all(c, SZ_FAILED, 0, why);
}

/* Response.Error: the whole call failed. */
static void
tencent_call_error(struct tcall *c, json_t *err, json_t *rsp)
{
	const char *code = json_string_value(json_object_get(err, "Code"));
	const char *msg = json_string_value(json_object_get(err, "Message"));
	const char *rid = json_string_value(json_object_get(rsp,
	    "RequestId"));
	char why[TENCENT_WHY_MAX], rs[48];
	enum sz_outcome o;
	int after;

	if (code == NULL)
		code = "(no Code)";
	o = tencent_classify(code, &after);
	if (o == SZ_ACCEPTED)		/* "Ok" as an error: not an answer */
		o = SZ_RETRY;
	tencent_why(code, msg, why, sizeof(why));
	snprintf(rs, sizeof(rs), "%s", rid != NULL ? rid : "-");
	plug_scrub(rs);
	c->t->host->log(c->t->chan, SZ_LOG_DEBUG, "sms_tencent: SendSms %s: "
	    "RequestId %s", c->v[0].id, rs);
	tencent_all(c, o, after, why);
}

/* The SendStatusSet entry for phone not taken yet, or NULL. */
static json_t *
tencent_status_for(json_t *set, const char *phone, unsigned char *used)
{
	const char *num;
	char norm[12];
	size_t i;
	json_t *e;

	json_array_foreach(set, i, e) {
		if (used[i] || (num = json_string_value(json_object_get(e,
		    "PhoneNumber"))) == NULL ||
		    plug_phone_norm(num, norm) == -1 ||
		    strcmp(norm, phone) != 0)
			continue;
		used[i] = 1;
		return e;
	}
	return NULL;
}

/* One number's entry -> its message's outcome. */
static void
tencent_one(struct tcall *c, size_t i, json_t *e, size_t *tally)
{
	struct tencent *t = c->t;
	const char *code, *serial;
	char why[TENCENT_WHY_MAX], m[16];
	enum sz_outcome o;
	int after = 0;

	if (e == NULL) {
		o = SZ_RETRY;
		snprintf(why, sizeof(why), "tencent: no SendStatusSet entry "
		    "for this number");
	} else if ((code = json_string_value(json_object_get(e, "Code"))) ==
	    NULL) {
		o = SZ_RETRY;
		snprintf(why, sizeof(why), "tencent: SendStatusSet entry "
		    "without a Code");
	} else if ((o = tencent_classify(code, &after)) != SZ_ACCEPTED)
		tencent_why(code, json_string_value(json_object_get(e,
		    "Message")), why, sizeof(why));
	tally[o]++;
	if (o == SZ_ACCEPTED) {
		serial = json_string_value(json_object_get(e, "SerialNo"));
		t->host->outcome(t->chan, c->v[i].id, SZ_ACCEPTED,
		    serial != NULL && *serial != '\0' ? serial : NULL, 0, NULL);
		return;
	}
	t->host->log(t->chan, o == SZ_RETRY ? SZ_LOG_INFO : SZ_LOG_WARN,
	    "sms_tencent: SendSms %s to %s: %s", c->v[0].id,
	    plug_mask(c->v[i].phone, m), why);
	t->host->outcome(t->chan, c->v[i].id, o, NULL, after, why);
}

/* Response.SendStatusSet: one outcome per number. */
static void
tencent_statuses(struct tcall *c, json_t *set)
{
	size_t tally[SZ_GONE + 1] = { 0 };
	unsigned char *used;

	if ((used = calloc(json_array_size(set) + 1, 1)) == NULL) {
		tencent_all(c, SZ_RETRY, 0, "sms_tencent: out of memory");
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		tencent_one(c, i, tencent_status_for(set, c->v[i].phone, used),
		    tally);
	free(used);
	c->t->host->log(c->t->chan, SZ_LOG_DEBUG, "sms_tencent: SendSms %s: "
	    "%zu accepted, %zu to retry, %zu failed", c->v[0].id,
	    tally[SZ_ACCEPTED], tally[SZ_RETRY], tally[SZ_FAILED]);
}

void
tencent_done(void *arg, const struct sz_http_resp *resp)
{
	struct tcall *c = arg;
	json_t *root = NULL, *rsp, *err, *set;

	tcall_unlink(c);
	if (resp->transport_error != 0 || resp->status < 200 ||
	    resp->status > 299)
		tencent_http_error(c, resp);
	else if (resp->body == NULL || resp->body_len > TENCENT_BODY_MAX ||
	    (root = json_loadb(resp->body, resp->body_len, 0, NULL)) ==
	    NULL || !json_is_object(rsp = json_object_get(root, "Response")))
		tencent_all(c, SZ_RETRY, 0, "tencent: the answer is not JSON "
		    "with a Response object");
	else if ((err = json_object_get(rsp, "Error")) != NULL)
		tencent_call_error(c, err, rsp);
	else if (json_is_array(set = json_object_get(rsp, "SendStatusSet")))
		tencent_statuses(c, set);
	else
		tencent_all(c, SZ_RETRY, 0, "tencent: the answer has neither "
		    "Error nor SendStatusSet");
	json_decref(root);
	tcall_free(c);
}
