/*
 * sms_aliyun_send.c - SendSms: one signed POST per group of messages that
 * share a TemplateParam, and what Aliyun's answer means for each message.
 *
 * The answer is JSON with a Code (and with HTTP 200 or 4xx/5xx depending
 * on the error); it decides, per Aliyun's error code list:
 *   OK                          accepted; BizId names the call
 *   isv.BUSINESS_LIMIT_CONTROL  retry after limit_retry_after seconds: the
 *                               per-number frequency limit (minute, hour)
 *   Throttling*                 retry after a second: the API's QPS limit
 *   SignatureNonceUsed, isp.*,  retry at the daemon's pace: a new request
 *   ServiceUnavailable,           (new nonce) or Aliyun's own trouble
 *   InternalError
 *   isv.MOBILE_NUMBER_ILLEGAL   failed for a single number; a batch is
 *                               sent again one number a call, to find it
 *   anything else               failed on this channel (the daemon falls
 *                               back to the next): templates, signatures,
 *                               keys, money, isv.DAY_LIMIT_CONTROL (the
 *                               daily total set in the console, which a
 *                               retry within the hour cannot clear)
 * Without a Code: no answer, 5xx, 408 and 429 are retried, other 4xx fail,
 * and a 2xx is retried (it may or may not have gone: at least once).  An
 * answer cut short (the timeout struck mid-body) is no answer: its status
 * came but its Code did not, and a throttled 400 must not read as a
 * refusal.
 * A retried answer's Retry-After (a proxy's 429 or 503) is honoured when it
 * asks for longer than the Code does.
 */
#include "sms_aliyun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define ALIYUN_WHY_MAX		160

static const char *const aliyun_form_headers[] = {
	"Content-Type: application/x-www-form-urlencoded",
};

/* What send() decided about one message before asking Aliyun. */
enum averdict {
	AV_SEND = 0,
	AV_BADPHONE,
	AV_BADMSG,
	AV_NOMEM,
	AV_DUP,
	AV_GROUPED,
};

void
areq_free(struct areq *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].id);
	free(r->param);
	free(r->body);
	free(r);
}

static void
areq_link(struct areq *r)
{
	r->prev = NULL;
	r->next = r->a->inflight;
	if (r->next != NULL)
		r->next->prev = r;
	r->a->inflight = r;
}

static void
areq_unlink(struct areq *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->a->inflight = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

/* A request for k messages (ids and phones filled by the caller). */
static struct areq *
areq_new(struct aliyun *a, const char *param, size_t k)
{
	struct areq *r;

	if ((r = calloc(1, sizeof(*r) + k * sizeof(r->v[0]))) == NULL)
		return NULL;
	r->a = a;
	if ((r->param = strdup(param)) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

static int
areq_add(struct areq *r, const char *id, const char *phone)
{
	if ((r->v[r->n].id = strdup(id)) == NULL)
		return -1;
	memcpy(r->v[r->n].phone, phone, 12);
	r->n++;
	return 0;
}

/* The signed form body of r's SendSms; -1 when out of memory. */
static int
areq_body(struct areq *r)
{
	struct aliyun *a = r->a;
	struct pbuf nums = { 0 };
	char ts[24], nonce[33];

	if (aliyun_nonce(nonce) == -1)
		return -1;
	aliyun_timestamp(ts);
	pbuf_add(&nums, "", 0);
	for (size_t i = 0; i < r->n; i++) {
		if (i > 0)
			pbuf_str(&nums, ",");
		pbuf_str(&nums, r->v[i].phone);
	}
	if (nums.oom)
		return -1;
	{
		struct aparam p[] = {
			{ "AccessKeyId", a->key_id },
			{ "Action", "SendSms" },
			{ "Format", "JSON" },
			{ "OutId", r->v[0].id },
			{ "PhoneNumbers", nums.p },
			{ "RegionId", "cn-hangzhou" },
			{ "SignName", a->sign_name },
			{ "SignatureMethod", "HMAC-SHA1" },
			{ "SignatureNonce", nonce },
			{ "SignatureVersion", "1.0" },
			{ "TemplateCode", a->template_code },
			{ "TemplateParam", r->param },
			{ "Timestamp", ts },
			{ "Version", "2017-05-25" },
		};

		r->body = aliyun_signed_body(p, sizeof(p) / sizeof(p[0]),
		    a->secret);
	}
	free(nums.p);
	return r->body == NULL ? -1 : 0;
}

static void aliyun_done(void *arg, const struct sz_http_resp *resp);

/*
 * Sign and hand r to the host.  On failure every message of r gets
 * SZ_RETRY and r is freed; either way r is no longer the caller's.
 */
static void
areq_post(struct areq *r)
{
	struct aliyun *a = r->a;
	struct sz_http_req req = { 0 };
	const char *why = NULL;

	if (areq_body(r) == -1)
		why = "sms_aliyun: cannot sign (out of memory?)";
	else {
		req.method = "POST";
		req.url = a->endpoint;
		req.headers = aliyun_form_headers;
		req.n_headers = 1;
		req.body = r->body;
		req.body_len = strlen(r->body);
		req.timeout_ms = a->timeout_ms;
		areq_link(r);
		if (a->host->http(a->chan, &req, aliyun_done, r) == 0) {
			a->host->log(a->chan, SZ_LOG_DEBUG, "sms_aliyun: SendSms "
			    "OutId %s, %zu numbers", r->v[0].id, r->n);
			return;
		}
		areq_unlink(r);
		why = "sms_aliyun: the daemon refused the request";
	}
	a->host->log(a->chan, SZ_LOG_WARN, "%s (OutId %s)", why, r->v[0].id);
	for (size_t i = 0; i < r->n; i++)
		a->host->outcome(a->chan, r->v[i].id, SZ_RETRY, NULL, 0, why);
	areq_free(r);
}

/* Messages i.. whose TemplateParam is params[i], as one request. */
static void
aliyun_group(struct aliyun *a, const struct sz_msg *const *msgs, size_t n,
    size_t i, unsigned char *verdict, char (*phones)[12], char **params)
{
	struct areq *r;
	size_t k = 0, j, m;

	for (j = i; j < n; j++)
		if (verdict[j] == AV_SEND && strcmp(params[j], params[i]) == 0)
			k++;
	if ((r = areq_new(a, params[i], k)) == NULL) {
		for (j = i; j < n; j++)
			if (verdict[j] == AV_SEND &&
			    strcmp(params[j], params[i]) == 0)
				verdict[j] = AV_NOMEM;
		return;
	}
	for (j = i; j < n; j++) {
		if (verdict[j] != AV_SEND || strcmp(params[j], params[i]) != 0)
			continue;
		/* The same number twice would get one BizId:tag for two. */
		for (m = 0; m < r->n; m++)
			if (strcmp(r->v[m].phone, phones[j]) == 0)
				break;
		if (m < r->n) {
			verdict[j] = AV_DUP;
			continue;
		}
		verdict[j] = areq_add(r, msgs[j]->id, phones[j]) == 0 ?
		    AV_GROUPED : AV_NOMEM;
	}
	areq_post(r);
}

/* Outcomes of the messages send() kept back from Aliyun. */
static void
aliyun_report_kept(struct aliyun *a, const struct sz_msg *const *msgs,
    size_t n, const unsigned char *verdict)
{
	static const struct {
		enum sz_outcome	 o;
		const char	*why;
	} kept[] = {
		[AV_BADPHONE] = { SZ_FAILED,
		    "sms_aliyun: not a mainland mobile number" },
		[AV_BADMSG] = { SZ_FAILED, "sms_aliyun: the message lacks a "
		    "field of template_param (or is not UTF-8)" },
		[AV_NOMEM] = { SZ_RETRY, "sms_aliyun: out of memory" },
		[AV_DUP] = { SZ_RETRY, "sms_aliyun: number twice in one "
		    "batch, sent again on its own" },
	};

	for (size_t i = 0; i < n; i++) {
		if (verdict[i] == AV_SEND || verdict[i] == AV_GROUPED)
			continue;
		a->host->outcome(a->chan, msgs[i]->id, kept[verdict[i]].o,
		    NULL, 0, kept[verdict[i]].why);
	}
}

int
aliyun_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n)
{
	struct aliyun *a = state;
	unsigned char *verdict;
	char (*phones)[12], **params;
	int bad;

	if (n == 0 || n > ALIYUN_MAX_BATCH) {
		a->host->log(chan, SZ_LOG_ERROR, "sms_aliyun: send() with %zu "
		    "messages (1 to %d allowed)", n, ALIYUN_MAX_BATCH);
		return -1;
	}
	verdict = calloc(n, 1);
	phones = calloc(n, sizeof(*phones));
	params = calloc(n, sizeof(*params));
	if (verdict == NULL || phones == NULL || params == NULL) {
		free(verdict);
		free(phones);
		free(params);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (msgs[i]->phone == NULL ||
		    plug_phone_norm(msgs[i]->phone, phones[i]) == -1)
			verdict[i] = AV_BADPHONE;
		else if ((params[i] = aliyun_render_param(a, msgs[i],
		    &bad)) == NULL)
			verdict[i] = bad ? AV_BADMSG : AV_NOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (verdict[i] == AV_SEND)
			aliyun_group(a, msgs, n, i, verdict, phones, params);
	aliyun_report_kept(a, msgs, n, verdict);
	for (size_t i = 0; i < n; i++)
		free(params[i]);
	free(params);
	free(phones);
	free(verdict);
	return 0;
}

/* ---- Aliyun's answer ------------------------------------------------ */

/* What an answer means for every message of its request. */
struct aanswer {
	enum sz_outcome	 o;
	int		 after;
	int		 split;		/* send each number again on its own */
	const char	*biz_id;	/* accepted: the call's BizId, or NULL */
	char		 why[ALIYUN_WHY_MAX];
};

static int
aliyun_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The outcome a Code other than OK stands for. */
static void
aliyun_code(struct aliyun *a, const char *code, size_t n,
    struct aanswer *ans)
{
	ans->o = SZ_FAILED;
	if (strcmp(code, "isv.BUSINESS_LIMIT_CONTROL") == 0) {
		ans->o = SZ_RETRY;
		ans->after = a->limit_retry;
	} else if (aliyun_prefix(code, "Throttling")) {
		ans->o = SZ_RETRY;
		ans->after = 1;
	} else if (strcmp(code, "SignatureNonceUsed") == 0 ||
	    aliyun_prefix(code, "isp.") ||
	    strcmp(code, "ServiceUnavailable") == 0 ||
	    strcmp(code, "InternalError") == 0)
		ans->o = SZ_RETRY;
	else if (strcmp(code, "isv.MOBILE_NUMBER_ILLEGAL") == 0 && n > 1)
		ans->split = 1;
}

/* A BizId fit to be part of a provider id, or NULL. */
static const char *
aliyun_biz_id(const char *s)
{
	size_t len;

	if (s == NULL || (len = strlen(s)) == 0 || len > ALIYUN_BIZID_MAX)
		return NULL;
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return NULL;
	return s;
}

/* "aliyun: HTTP 400: isv.X: message", the message only when ASCII. */
static void
aliyun_why(const struct sz_http_resp *resp, const char *code,
    const char *msg, char *why, size_t len)
{
	int n;

	if (resp->status == 0 || resp->transport_error != 0)
		n = snprintf(why, len, "aliyun: %stransport error %d: %s",
		    resp->status != 0 ? "answer cut short, " : "",
		    resp->transport_error, resp->error != NULL ?
		    resp->error : "");
	else
		n = snprintf(why, len, "aliyun: HTTP %ld%s%s%s%s",
		    resp->status, code != NULL ? ": " : "",
		    code != NULL ? code : "", msg != NULL ? ": " : "",
		    msg != NULL ? msg : "");
	if (n > 0 && (size_t)n >= len && len > 4)
		strcpy(why + len - 4, "...");
	plug_scrub(why);
}

/* Whether s is all printable ASCII (Aliyun's Message is often Chinese). */
static const char *
aliyun_ascii(const char *s)
{
	if (s == NULL)
		return NULL;
	for (const char *p = s; *p != '\0'; p++)
		if (*p < ' ' || *p > '~')
			return NULL;
	return s;
}

static void
aliyun_classify(struct aliyun *a, const struct areq *r,
    const struct sz_http_resp *resp, json_t *doc, struct aanswer *ans)
{
	const char *code = json_string_value(json_object_get(doc, "Code"));
	const char *msg = json_string_value(json_object_get(doc, "Message"));
	long st = resp->status;

	memset(ans, 0, sizeof(*ans));
	aliyun_why(resp, code, aliyun_ascii(msg), ans->why, sizeof(ans->why));
	if (st == 0 || resp->transport_error != 0) {
		ans->o = SZ_RETRY;
	} else if (code != NULL && strcmp(code, "OK") == 0 && st >= 200 &&
	    st <= 299) {
		ans->o = SZ_ACCEPTED;
		ans->biz_id = aliyun_biz_id(json_string_value(
		    json_object_get(doc, "BizId")));
	} else if (code != NULL)
		aliyun_code(a, code, r->n, ans);
	else if (st >= 500 || st == 408 || st == 429 || (st >= 200 &&
	    st <= 299))
		ans->o = SZ_RETRY;
	else
		ans->o = SZ_FAILED;
	if (ans->o == SZ_RETRY && st != 0 && plug_retry_after(resp) >
	    ans->after)
		ans->after = plug_retry_after(resp);
}

/* isv.MOBILE_NUMBER_ILLEGAL for a batch: each number again, alone. */
static void
aliyun_split(struct areq *r)
{
	struct aliyun *a = r->a;
	struct areq *one;

	a->host->log(a->chan, SZ_LOG_WARN, "sms_aliyun: OutId %s: a number "
	    "of %zu is illegal; sending each on its own", r->v[0].id, r->n);
	for (size_t i = 0; i < r->n; i++) {
		if ((one = areq_new(a, r->param, 1)) == NULL ||
		    areq_add(one, r->v[i].id, r->v[i].phone) == -1) {
			if (one != NULL)
				areq_free(one);
			a->host->outcome(a->chan, r->v[i].id, SZ_RETRY, NULL, 0,
			    "sms_aliyun: out of memory");
			continue;
		}
		areq_post(one);
	}
}

static void
aliyun_accepted(struct areq *r, const struct aanswer *ans)
{
	struct aliyun *a = r->a;
	char pid[ALIYUN_BIZID_MAX + ALIYUN_TAG_LEN + 2];

	if (ans->biz_id == NULL)
		a->host->log(a->chan, SZ_LOG_WARN, "sms_aliyun: OutId %s: OK "
		    "without a usable BizId: its receipts cannot be matched",
		    r->v[0].id);
	for (size_t i = 0; i < r->n; i++) {
		int ok = ans->biz_id != NULL && aliyun_provider_id(ans->biz_id,
		    r->v[i].phone, pid, sizeof(pid)) == 0;

		a->host->outcome(a->chan, r->v[i].id, SZ_ACCEPTED,
		    ok ? pid : NULL, 0, NULL);
	}
}

static void
aliyun_done(void *arg, const struct sz_http_resp *resp)
{
	struct areq *r = arg;
	struct aliyun *a = r->a;
	struct aanswer ans;
	json_t *doc = NULL;

	areq_unlink(r);
	if (resp->status != 0 && resp->body != NULL && resp->body_len > 0)
		doc = json_loadb(resp->body, resp->body_len, 0, NULL);
	aliyun_classify(a, r, resp, doc, &ans);
	if (ans.o == SZ_ACCEPTED)
		aliyun_accepted(r, &ans);
	else if (ans.split)
		aliyun_split(r);
	else {
		a->host->log(a->chan, ans.o == SZ_RETRY ? SZ_LOG_WARN :
		    SZ_LOG_ERROR, "sms_aliyun: OutId %s (%zu numbers): %s%s",
		    r->v[0].id, r->n, ans.why, ans.o == SZ_RETRY ?
		    " (will retry)" : "");
		for (size_t i = 0; i < r->n; i++)
			a->host->outcome(a->chan, r->v[i].id, ans.o, NULL,
			    ans.after, ans.why);
	}
	json_decref(doc);
	areq_free(r);
}
