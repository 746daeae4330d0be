/*
 * sms_aliyun.c - the sms_aliyun channel plugin: SMS through Aliyun's
 * Short Message Service (dysmsapi, API version 2017-05-25, RPC style).
 * This file: settings, open, close, numbers, and the template variables;
 * sms_aliyun_sign.c signs, sms_aliyun_send.c sends, sms_aliyun_in.c takes
 * the SmsReport and SmsUp pushes.
 *
 * Out: one signed POST of Action=SendSms per group of messages whose
 * TemplateParam is the same, every number of the group in PhoneNumbers
 * (comma-separated, at most 1000), OutId = the group's first delivery id.
 * Mainland China SMS must use an approved template (TemplateCode) under an
 * approved signature (SignName); the channel's template_param setting says
 * how each of the template's variables is filled from the message:
 *
 *	template_param = "{\"title\":\"{drill}{title}\",\"code\":\"{code}\"}";
 *
 * The fields are in aliyun_fields[] below.  A template that must reach a
 * whole batch in one call uses only fields that are the same for every
 * recipient (not {name} or {url}).
 *
 * Receipts: one SendSms answers one BizId for all its numbers, and an
 * SmsReport names biz_id and phone_number (its out_id is the group's, not
 * the message's).  So each message's provider id is "<BizId>:<tag>",
 * the tag being 16 letters drawn from the SHA-256 of its number: the
 * report maps back the same way, and no provider id, which the daemon
 * logs, holds a phone number.
 */
#include "sms_aliyun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

static const struct sz_setting aliyun_settings[] = {
	{ .key = "access_key_id", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the AccessKey ID (a RAM user with SMS send rights)" },
	{ .key = "access_key_secret", .type = SZ_SETTING_STRING,
	  .required = true, .secret = true,
	  .help = "the AccessKey secret" },
	{ .key = "sign_name", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the approved SMS signature (签名), e.g. 南湖街道" },
	{ .key = "template_code", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the approved template's code, e.g. SMS_123456789" },
	{ .key = "template_param", .type = SZ_SETTING_STRING, .required = true,
	  .help = "JSON object: template variable -> text with {fields}, "
	  "e.g. {\"title\":\"{drill}{title}\"}" },
	{ .key = "endpoint", .type = SZ_SETTING_STRING,
	  .help = "the API endpoint (default https://dysmsapi.aliyuncs.com/)" },
	{ .key = "timeout_ms", .type = SZ_SETTING_INT,
	  .help = "SendSms timeout in milliseconds (default 10000)" },
	{ .key = "limit_retry_after", .type = SZ_SETTING_INT,
	  .help = "seconds to wait after isv.BUSINESS_LIMIT_CONTROL "
	  "(default 60)" },
	{ .key = NULL },
};

/* The names of enum aliyun_field, as written between braces. */
static const char *const aliyun_fields[AF_COUNT] = {
	[AF_TEXT] = "text", [AF_TITLE] = "title", [AF_BODY] = "body",
	[AF_CODE] = "code", [AF_KIND] = "kind", [AF_SEVERITY] = "severity",
	[AF_DRILL] = "drill", [AF_NAME] = "name", [AF_URL] = "url",
};

/* ---- numbers -------------------------------------------------------- */

int
aliyun_phone_tag(const char *phone, char out[ALIYUN_TAG_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (EVP_Digest(phone, strlen(phone), md, &mdlen, EVP_sha256(),
	    NULL) != 1 || mdlen < ALIYUN_TAG_LEN / 2)
		return -1;
	for (size_t i = 0; i < ALIYUN_TAG_LEN / 2; i++) {
		out[2 * i] = (char)('a' + (md[i] >> 4));
		out[2 * i + 1] = (char)('a' + (md[i] & 15));
	}
	out[ALIYUN_TAG_LEN] = '\0';
	return 0;
}

int
aliyun_provider_id(const char *biz_id, const char *phone, char *out,
    size_t len)
{
	char tag[ALIYUN_TAG_LEN + 1];
	int n;

	if (aliyun_phone_tag(phone, tag) == -1)
		return -1;
	n = snprintf(out, len, "%s:%s", biz_id, tag);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---- template variables --------------------------------------------- */

/* The field named by s[0..len), or -1. */
static int
aliyun_field(const char *s, size_t len)
{
	for (int f = 0; f < AF_COUNT; f++)
		if (strlen(aliyun_fields[f]) == len &&
		    strncmp(aliyun_fields[f], s, len) == 0)
			return f;
	return -1;
}

/*
 * Walk tmpl: literal text and {field}s ({{ and }} are literal braces).
 * With vals, the expansion goes to out; without, only the check, which
 * sets *uses (a bit per field).  -1 with err set when malformed.
 */
static int
aliyun_expand(const char *tmpl, const char *const *vals, struct pbuf *out,
    unsigned *uses, char *err, size_t errlen)
{
	const char *p = tmpl, *end;
	int f;

	while (*p != '\0') {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			if (out != NULL)
				pbuf_add(out, p, 1);
			p += 2;
		} else if (*p == '}') {
			snprintf(err, errlen, "a lone '}' (write }} for a "
			    "brace)");
			return -1;
		} else if (*p == '{') {
			if ((end = strchr(p, '}')) == NULL ||
			    (f = aliyun_field(p + 1, (size_t)(end - p - 1))) < 0) {
				snprintf(err, errlen, "unknown field \"%.*s\" "
				    "(known: {text} {title} {body} {code} {kind} "
				    "{severity} {drill} {name} {url}; {{ and }} "
				    "for braces)", end == NULL ? 16 :
				    (int)(end - p + 1) > 32 ? 32 :
				    (int)(end - p + 1), p);
				return -1;
			}
			if (uses != NULL)
				*uses |= 1u << f;
			if (out != NULL && vals != NULL)
				pbuf_str(out, vals[f]);
			p = end + 1;
		} else {
			end = p + strcspn(p, "{}");
			if (out != NULL)
				pbuf_add(out, p, (size_t)(end - p));
			p = end;
		}
	}
	return 0;
}

static void
aliyun_vars_free(struct aliyun *a)
{
	for (size_t i = 0; i < a->n_vars; i++) {
		free(a->vars[i].name);
		free(a->vars[i].tmpl);
	}
	free(a->vars);
	a->vars = NULL;
	a->n_vars = 0;
}

/* One variable of template_param, checked and kept. */
static int
aliyun_open_var(struct aliyun *a, const char *name, json_t *v,
    unsigned *uses, char *err, size_t errlen)
{
	struct aliyun_var *av = &a->vars[a->n_vars];
	char why[200];

	if (*name == '\0' || strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"
	    "ijklmnopqrstuvwxyz0123456789_") != strlen(name)) {
		snprintf(err, errlen, "sms_aliyun: setting \"template_param\": "
		    "variable \"%.32s\" is not a template variable name "
		    "(letters, digits, _)", name);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "sms_aliyun: setting \"template_param\": "
		    "variable \"%s\" must be a string such as \"{title}\"", name);
		return -1;
	}
	if (aliyun_expand(json_string_value(v), NULL, NULL, uses, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "sms_aliyun: setting \"template_param\": "
		    "variable \"%s\": %s", name, why);
		return -1;
	}
	if ((av->name = strdup(name)) == NULL ||
	    (av->tmpl = strdup(json_string_value(v))) == NULL) {
		free(av->name);
		snprintf(err, errlen, "sms_aliyun: out of memory");
		return -1;
	}
	a->n_vars++;
	return 0;
}

/*
 * template_param: a JSON object of strings.  A drill must read as one, so
 * some variable has to carry {text} (which starts with 【演练】) or {drill}.
 */
static int
aliyun_open_vars(struct aliyun *a, const char *s, char *err, size_t errlen)
{
	json_error_t je;
	json_t *o, *v;
	const char *name;
	unsigned uses = 0;
	int rc = -1;

	if ((o = json_loads(s, JSON_REJECT_DUPLICATES, &je)) == NULL ||
	    !json_is_object(o) || json_object_size(o) == 0) {
		snprintf(err, errlen, "sms_aliyun: setting \"template_param\" "
		    "must be a non-empty JSON object of strings, e.g. "
		    "{\"title\":\"{drill}{title}\"}%s%s", o == NULL ?
		    ": " : "", o == NULL ? je.text : "");
		json_decref(o);
		return -1;
	}
	if ((a->vars = calloc(json_object_size(o), sizeof(*a->vars))) == NULL) {
		snprintf(err, errlen, "sms_aliyun: out of memory");
		goto out;
	}
	json_object_foreach(o, name, v)
		if (aliyun_open_var(a, name, v, &uses, err, errlen) == -1)
			goto out;
	if ((uses & (1u << AF_TEXT | 1u << AF_DRILL)) == 0) {
		snprintf(err, errlen, "sms_aliyun: setting \"template_param\": "
		    "no variable carries {text} or {drill}, so a drill would "
		    "not read as one (【演练】)");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

static const char *
aliyun_kind_label(const char *kind)
{
	if (strcmp(kind, "emergency") == 0)
		return "突发事件";
	if (strcmp(kind, "drill") == 0)
		return "演练";
	if (strcmp(kind, "notice") == 0)
		return "通知";
	return NULL;
}

static const char *
aliyun_severity_label(const char *sev)
{
	static const char *const s[][2] = {
		{ "red", "红色预警" }, { "orange", "橙色预警" },
		{ "yellow", "黄色预警" }, { "blue", "蓝色预警" },
	};

	for (size_t i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		if (strcmp(sev, s[i][0]) == 0)
			return s[i][1];
	return "";
}

/* A member of the message's "alert" object as a string, or NULL. */
static const char *
aliyun_alert_str(json_t *alert, const char *key)
{
	return json_string_value(json_object_get(alert, key));
}

/* The fields' values for m; -1 when its JSON lacks what they need. */
static int
aliyun_values(const struct sz_msg *m, json_t *alert, const char **vals)
{
	const char *kind = aliyun_alert_str(alert, "kind");
	const char *sev = aliyun_alert_str(alert, "severity");

	vals[AF_TEXT] = m->text != NULL ? m->text : "";
	vals[AF_NAME] = m->name != NULL ? m->name : "";
	vals[AF_URL] = m->ack_url != NULL ? m->ack_url : "";
	vals[AF_TITLE] = aliyun_alert_str(alert, "title");
	vals[AF_BODY] = aliyun_alert_str(alert, "body");
	vals[AF_CODE] = aliyun_alert_str(alert, "code");
	if (kind == NULL || (vals[AF_KIND] = aliyun_kind_label(kind)) == NULL)
		return -1;
	vals[AF_SEVERITY] = sev != NULL ? aliyun_severity_label(sev) : "";
	vals[AF_DRILL] = strcmp(kind, "drill") == 0 ? "【演练】" : "";
	for (int f = 0; f < AF_COUNT; f++)
		if (vals[f] == NULL)
			return -1;
	return 0;
}

char *
aliyun_render_param(const struct aliyun *a, const struct sz_msg *m, int *bad)
{
	const char *vals[AF_COUNT];
	json_t *doc = NULL, *o = NULL, *s;
	struct pbuf b = { 0 };
	char *out = NULL, err[8];

	*bad = 1;
	if (m->json == NULL || (doc = json_loads(m->json, 0, NULL)) == NULL ||
	    aliyun_values(m, json_object_get(doc, "alert"), vals) == -1)
		goto out;
	*bad = 0;
	if ((o = json_object()) == NULL)
		goto out;
	for (size_t i = 0; i < a->n_vars; i++) {
		b.len = 0;
		pbuf_add(&b, "", 0);
		(void)aliyun_expand(a->vars[i].tmpl, vals, &b, NULL, err,
		    sizeof(err));
		if (b.oom)
			goto out;
		/* Not UTF-8 (from the roster?): the message cannot go. */
		if ((s = json_string(b.p)) == NULL) {
			*bad = 1;
			goto out;
		}
		if (json_object_set_new(o, a->vars[i].name, s) == -1)
			goto out;
	}
	out = json_dumps(o, JSON_COMPACT);
out:
	free(b.p);
	json_decref(o);
	json_decref(doc);
	return out;
}

/* ---- open and close ------------------------------------------------- */

static int
aliyun_is_http(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* A string setting, copied (def when absent); -1 with err set. */
static int
aliyun_setting(struct aliyun *a, const char *key, const char *def,
    char **out, char *err, size_t errlen)
{
	const char *v = a->host->setting_string(a->chan, key);

	if (v == NULL)
		v = def;
	if (v == NULL || *v == '\0') {
		snprintf(err, errlen, "sms_aliyun: setting \"%s\" is required "
		    "and must not be empty", key);
		return -1;
	}
	if ((*out = strdup(v)) == NULL) {
		snprintf(err, errlen, "sms_aliyun: out of memory");
		return -1;
	}
	return 0;
}

static int
aliyun_open_numbers(struct aliyun *a, char *err, size_t errlen)
{
	long long t, r;

	if (!aliyun_is_http(a->endpoint) ||
	    strpbrk(a->endpoint, " \t\r\n#?") != NULL) {
		snprintf(err, errlen, "sms_aliyun: setting \"endpoint\" must be "
		    "an http:// or https:// URL without blanks, '?' or '#', "
		    "e.g. %s", ALIYUN_ENDPOINT);
		return -1;
	}
	t = a->host->setting_int(a->chan, "timeout_ms", ALIYUN_TIMEOUT_MS);
	if (t < 0 || t > 600000) {
		snprintf(err, errlen, "sms_aliyun: setting \"timeout_ms\" must "
		    "be 0 to 600000 (0 = the daemon's default), not %lld", t);
		return -1;
	}
	r = a->host->setting_int(a->chan, "limit_retry_after",
	    ALIYUN_LIMIT_RETRY_S);
	if (r < 1 || r > 3600) {
		snprintf(err, errlen, "sms_aliyun: setting \"limit_retry_after\" "
		    "must be 1 to 3600 seconds, not %lld", r);
		return -1;
	}
	a->timeout_ms = (long)t;
	a->limit_retry = (int)r;
	return 0;
}

static void
aliyun_close(void *state)
{
	struct aliyun *a = state;
	struct areq *r;

	if (a == NULL)
		return;
	/*
	 * Requests still in flight: the host drops them at shutdown without
	 * calling done(), so their memory is ours to free.
	 */
	while ((r = a->inflight) != NULL) {
		a->inflight = r->next;
		areq_free(r);
	}
	free(a->key_id);
	if (a->secret != NULL)
		OPENSSL_clear_free(a->secret, strlen(a->secret));
	free(a->sign_name);
	free(a->template_code);
	free(a->endpoint);
	aliyun_vars_free(a);
	free(a);
}

static int
aliyun_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	struct aliyun *a;
	char *tp = NULL;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "sms_aliyun: out of memory");
		return -1;
	}
	a->host = host;
	a->chan = chan;
	if (aliyun_setting(a, "access_key_id", NULL, &a->key_id, err,
	    errlen) == -1 ||
	    aliyun_setting(a, "access_key_secret", NULL, &a->secret, err,
	    errlen) == -1 ||
	    aliyun_setting(a, "sign_name", NULL, &a->sign_name, err,
	    errlen) == -1 ||
	    aliyun_setting(a, "template_code", NULL, &a->template_code, err,
	    errlen) == -1 ||
	    aliyun_setting(a, "template_param", NULL, &tp, err, errlen) == -1 ||
	    aliyun_open_vars(a, tp, err, errlen) == -1 ||
	    aliyun_setting(a, "endpoint", ALIYUN_ENDPOINT, &a->endpoint, err,
	    errlen) == -1 ||
	    aliyun_open_numbers(a, err, errlen) == -1)
		goto fail;
	free(tp);
	*state = a;
	return 0;
fail:
	free(tp);
	aliyun_close(a);
	return -1;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "sms_aliyun",
	.description = "SMS through Aliyun dysmsapi SendSms (templates, "
	    "SmsReport and SmsUp pushes)",
	.max_batch = ALIYUN_MAX_BATCH,
	.settings = aliyun_settings,
	.open = aliyun_open,
	.send = aliyun_send,
	.inbound = aliyun_inbound,
	.close = aliyun_close,
};
