/*
 * sms_tencent.c - the sms_tencent channel plugin: SMS through Tencent
 * Cloud SMS, API 3.0 (action SendSms, version 2021-01-11).  This file:
 * settings, open, close, and the string and number helpers;
 * sms_tencent_params.c fills template parameters, sms_tencent_send.c
 * sends, sms_tencent_in.c takes status and reply callbacks,
 * sms_tencent_sign.c signs (TC3-HMAC-SHA256).
 *
 * Out: one signed JSON POST per group of up to 200 numbers whose template
 * parameters are the same (Chinese SMS must use an approved template, so
 * our text travels as its parameters; see sms_tencent_params.c).  Tencent
 * answers every number in SendStatusSet; its SerialNo is the provider id.
 *
 * In: the console's status callback (a JSON array of reports, sid =
 * SerialNo) and reply callback (one JSON object); both are answered
 * {"result":0,"errmsg":"OK"}.
 *
 * No phone number ever goes into a log line or a `why`: they are masked
 * (138****0001), and text quoted from Tencent has long digit runs masked.
 */
#include "sms_tencent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct sz_setting tencent_settings[] = {
	{ .key = "secret_id", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the API key's SecretId (AKID...)" },
	{ .key = "secret_key", .type = SZ_SETTING_STRING, .required = true,
	  .secret = true, .help = "the API key's SecretKey" },
	{ .key = "sdk_app_id", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the SMS application's SdkAppId, e.g. 1400006666" },
	{ .key = "sign_name", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the approved signature's text (签名内容), not its id" },
	{ .key = "template_id", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the approved body template's id" },
	{ .key = "template_params", .type = SZ_SETTING_STRING,
	  .help = "the template's parameters in order, comma-separated, "
	  "from {text} {title} {body} {name} {ack_url} {code} {kind} "
	  "{severity}, e.g. \"{title},{ack_url}\"" },
	{ .key = "region", .type = SZ_SETTING_STRING,
	  .help = "X-TC-Region (default ap-guangzhou)" },
	{ .key = "endpoint", .type = SZ_SETTING_STRING,
	  .help = "API endpoint (default https://sms.tencentcloudapi.com)" },
	{ .key = "timeout_ms", .type = SZ_SETTING_INT,
	  .help = "SendSms timeout in milliseconds (default 10000)" },
	{ .key = NULL },
};

/* ---- open and close ------------------------------------------------ */

/* A required, non-empty string setting, copied; -1 with err set. */
static int
tencent_setting(struct tencent *t, const char *key, const char *def,
    char **out, char *err, size_t errlen)
{
	const char *v = t->host->setting_string(t->chan, key);

	if (v == NULL && def != NULL)
		v = def;
	if (v == NULL || *v == '\0') {
		snprintf(err, errlen, "sms_tencent: setting \"%s\" is required "
		    "and must not be empty", key);
		return -1;
	}
	if (strpbrk(v, "\r\n\"\\") != NULL) {
		snprintf(err, errlen, "sms_tencent: setting \"%s\" must not "
		    "hold a line break, '\"' or '\\'", key);
		return -1;
	}
	if ((*out = strdup(v)) == NULL) {
		snprintf(err, errlen, "sms_tencent: out of memory");
		return -1;
	}
	return 0;
}

/* Whether s is made of [A-Za-z0-9] and the characters in extra only. */
static int
tencent_charset(const char *s, const char *extra)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || strchr(extra, *s) != NULL))
			return 0;
	return 1;
}

/*
 * The endpoint: http(s)://HOST[:PORT] with nothing or "/" after it, since
 * TC3 signs the path "/" and the Host header.  The authority is what we
 * send as Host and sign, so it must be what curl connects to.
 */
static int
tencent_endpoint(struct tencent *t, char *err, size_t errlen)
{
	const char *v = t->host->setting_string(t->chan, "endpoint");
	const char *auth;
	size_t alen;

	if (v == NULL)
		v = TENCENT_ENDPOINT;
	if (strncasecmp(v, "https://", 8) == 0)
		auth = v + 8;
	else if (strncasecmp(v, "http://", 7) == 0)
		auth = v + 7;
	else
		goto bad;
	alen = strcspn(auth, "/");
	if (alen == 0 || (auth[alen] == '/' && auth[alen + 1] != '\0'))
		goto bad;
	if ((t->authority = strndup(auth, alen)) == NULL)
		goto oom;
	if (!tencent_charset(t->authority, ".-:[]"))
		goto bad;
	if ((t->url = malloc((size_t)(auth - v) + alen + 2)) == NULL)
		goto oom;
	memcpy(t->url, v, (size_t)(auth - v) + alen);
	strcpy(t->url + (auth - v) + alen, "/");
	return 0;
bad:
	snprintf(err, errlen, "sms_tencent: setting \"endpoint\" must be "
	    "http(s)://HOST[:PORT] with no path, query or user, e.g. %s",
	    TENCENT_ENDPOINT);
	return -1;
oom:
	snprintf(err, errlen, "sms_tencent: out of memory");
	return -1;
}

static int
tencent_open_checks(struct tencent *t, char *err, size_t errlen)
{
	long long to;

	if (!tencent_charset(t->region, "-")) {
		snprintf(err, errlen, "sms_tencent: setting \"region\" must be "
		    "a region name such as ap-guangzhou");
		return -1;
	}
	if (!tencent_charset(t->secret_id, "") ||
	    strlen(t->secret_id) > 128) {
		snprintf(err, errlen, "sms_tencent: setting \"secret_id\" must "
		    "be letters and digits (AKID...)");
		return -1;
	}
	if (strlen(t->secret_key) > 128) {
		snprintf(err, errlen, "sms_tencent: setting \"secret_key\" is "
		    "longer than 128 characters");
		return -1;
	}
	if (!tencent_charset(t->app_id, "") ||
	    !tencent_charset(t->template_id, "")) {
		snprintf(err, errlen, "sms_tencent: settings \"sdk_app_id\" and "
		    "\"template_id\" must be digits or letters, e.g. 1400006666");
		return -1;
	}
	to = t->host->setting_int(t->chan, "timeout_ms", TENCENT_TIMEOUT_MS);
	if (to < 0 || to > 600000) {
		snprintf(err, errlen, "sms_tencent: setting \"timeout_ms\" must "
		    "be 0 to 600000 (0 = the daemon's default), not %lld", to);
		return -1;
	}
	t->timeout_ms = (long)to;
	return 0;
}

static void
tencent_close(void *state)
{
	struct tencent *t = state;
	struct tcall *c;

	if (t == NULL)
		return;
	/*
	 * Calls still in flight: the host drops them at shutdown without
	 * calling done(), so their memory is ours to free.
	 */
	while ((c = t->inflight) != NULL) {
		t->inflight = c->next;
		tcall_free(c);
	}
	free(t->secret_id);
	if (t->secret_key != NULL) {
		memset(t->secret_key, 0, strlen(t->secret_key));
		free(t->secret_key);
	}
	free(t->app_id);
	free(t->sign_name);
	free(t->template_id);
	free(t->region);
	free(t->url);
	free(t->authority);
	tencent_params_free(t->params, t->n_params);
	free(t);
}

static int
tencent_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	struct tencent *t;
	const char *spec;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "sms_tencent: out of memory");
		return -1;
	}
	t->host = host;
	t->chan = chan;
	spec = host->setting_string(chan, "template_params");
	if (tencent_setting(t, "secret_id", NULL, &t->secret_id, err,
	    errlen) == -1 ||
	    tencent_setting(t, "secret_key", NULL, &t->secret_key, err,
	    errlen) == -1 ||
	    tencent_setting(t, "sdk_app_id", NULL, &t->app_id, err,
	    errlen) == -1 ||
	    tencent_setting(t, "sign_name", NULL, &t->sign_name, err,
	    errlen) == -1 ||
	    tencent_setting(t, "template_id", NULL, &t->template_id, err,
	    errlen) == -1 ||
	    tencent_setting(t, "region", TENCENT_REGION, &t->region, err,
	    errlen) == -1 ||
	    tencent_open_checks(t, err, errlen) == -1 ||
	    tencent_endpoint(t, err, errlen) == -1 ||
	    tencent_params_parse(spec != NULL ? spec : "", &t->params,
	    &t->n_params, err, errlen) == -1)
		goto fail;
	*state = t;
	return 0;
fail:
	tencent_close(t);
	return -1;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "sms_tencent",
	.description = "SMS through Tencent Cloud SMS (API 3.0 SendSms, "
	    "status and reply callbacks)",
	.max_batch = TENCENT_MAX_BATCH,
	.settings = tencent_settings,
	.open = tencent_open,
	.send = tencent_send,
	.inbound = tencent_inbound,
	.close = tencent_close,
};
