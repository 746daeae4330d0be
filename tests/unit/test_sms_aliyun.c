/*
 * test_sms_aliyun.c - the sms_aliyun plugin, loaded from its real shared
 * object and driven through the fake host: the signature (against
 * Aliyun's published example, and re-computed here for every request),
 * the SendSms form it posts, batching by TemplateParam, what each class
 * of answer Code becomes, and the SmsReport / SmsUp pushes it takes or
 * refuses.  The signature file itself is linked in too (sms_aliyun.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "fakehost.h"
#include "sms_aliyun.h"

#ifndef PLUGIN_BUILD_DIR
#error "PLUGIN_BUILD_DIR must name the directory holding sms_aliyun.so"
#endif

#define ENDPOINT	"http://127.0.0.1:9/"
#define KEY_ID		"LTAI-test-id"
#define SECRET		"s3cret+/=&key"		/* must never show */
#define SIGN		"南湖街道"
#define TCODE		"SMS_123456789"
#define TPARAM		"{\"title\":\"{drill}{title}\",\"code\":\"{code}\"," \
			"\"kind\":\"{kind}\"}"
#define DRILL_JSON	"{\"alert\":{\"id\":7,\"code\":\"A7\",\"kind\":\"drill\"," \
			"\"severity\":\"yellow\",\"title\":\"消防疏散演练\"," \
			"\"body\":\"请组织居民参加。\"},\"recipient\":{}," \
			"\"text\":\"x\",\"ack_url\":\"u\"}"
#define DRILL_PARAM	"{\"title\":\"【演练】消防疏散演练\",\"code\":\"A7\"," \
			"\"kind\":\"演练\"}"
#define BIZ		"900619746936498440^0"

static const struct sz_plugin *plugin;
static void *dl;

static const char *const phones3[] = {
	"13800000001", "13800000002", "13900000003",
};

/* ---- helpers ------------------------------------------------------- */

/* RFC 3986 encoding written here, apart from the plugin's. */
static char *
pct(const char *s)
{
	char *o = malloc(strlen(s) * 3 + 1), *p = o;

	assert_non_null(o);
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL)
			*p++ = (char)c;
		else
			p += sprintf(p, "%%%02X", c);
	}
	*p = '\0';
	return o;
}

static char *
unpct(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;
	unsigned v;

	assert_non_null(o);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			assert_true(i + 2 < n);
			assert_int_equal(sscanf(s + i + 1, "%2x", &v), 1);
			*p++ = (char)v;
			i += 2;
		} else {
			assert_true(s[i] != '+');	/* blanks are %20 */
			*p++ = s[i];
		}
	}
	*p = '\0';
	return o;
}

/* The decoded value of key in a form body, or NULL. */
static char *
form_get(const char *body, const char *key)
{
	size_t klen = strlen(key);
	const char *q, *end;

	for (q = body; q != NULL && *q != '\0'; q = *end == '&' ? end + 1 :
	    NULL) {
		end = q + strcspn(q, "&");
		if (strncmp(q, key, klen) == 0 && q[klen] == '=')
			return unpct(q + klen + 1, (size_t)(end - q - klen - 1));
	}
	return NULL;
}

static void
assert_form(const char *body, const char *key, const char *want)
{
	char *v = form_get(body, key);

	if (v == NULL)
		fail_msg("no %s in the form", key);
	if (strcmp(v, want) != 0)
		fail_msg("%s = \"%s\", want \"%s\"", key, v, want);
	free(v);
}

/*
 * Check a form body's Signature as Aliyun would: everything before
 * "&Signature=" is the canonical query (its keys must be sorted), signed
 * with HMAC-SHA1 under SECRET + "&", all computed here.
 */
static void
assert_signed(const char *body)
{
	const char *s = strstr(body, "&Signature="), *p, *prev = NULL;
	char *canon, *sts, *enc, *sig, b64[64], prevkey[64] = "";
	unsigned char mac[20];
	unsigned maclen = 0;

	assert_non_null(s);
	assert_null(strchr(s + 1, '&'));
	canon = strndup(body, (size_t)(s - body));
	for (p = canon; p != NULL; p = strchr(p, '&') ? strchr(p, '&') + 1 :
	    NULL) {
		char key[64];

		snprintf(key, sizeof(key), "%.*s", (int)strcspn(p, "="), p);
		if (prev != NULL && strcmp(prevkey, key) >= 0)
			fail_msg("keys out of order: %s, %s", prevkey, key);
		strcpy(prevkey, key);
		prev = p;
	}
	enc = pct(canon);
	assert_true(asprintf(&sts, "POST&%%2F&%s", enc) > 0);
	assert_non_null(HMAC(EVP_sha1(), SECRET "&", (int)strlen(SECRET "&"),
	    (const unsigned char *)sts, strlen(sts), mac, &maclen));
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	sig = form_get(body, "Signature");
	assert_string_equal(sig, b64);
	free(sig);
	free(sts);
	free(enc);
	free(canon);
}

/* No log line and no `why` holds a run of 8 or more digits (a number). */
static void
assert_no_numbers(const struct fakehost *fh)
{
	const char *s;

	for (size_t i = 0; i < fh->n_logs + fh->n_outcomes; i++) {
		s = i < fh->n_logs ? fh->logs[i].line :
		    fh->outcomes[i - fh->n_logs].why;
		for (size_t run = 0; s != NULL && *s != '\0'; s++) {
			run = *s >= '0' && *s <= '9' ? run + 1 : 0;
			if (run >= 8)
				fail_msg("a phone number in \"%s\"", i <
				    fh->n_logs ? fh->logs[i].line :
				    fh->outcomes[i - fh->n_logs].why);
		}
		if (s != NULL && strstr(i < fh->n_logs ? fh->logs[i].line :
		    fh->outcomes[i - fh->n_logs].why, "s3cret") != NULL)
			fail_msg("the secret in a log line");
	}
	for (size_t i = 0; i < fh->n_outcomes; i++)
		assert_true(fh->outcomes[i].provider_id == NULL ||
		    strstr(fh->outcomes[i].provider_id, "1380000") == NULL);
}

static struct fakehost *
fh_aliyun(void)
{
	struct fakehost *fh = fh_new();

	fh_set_string(fh, "access_key_id", KEY_ID);
	fh_set_string(fh, "access_key_secret", SECRET);
	fh_set_string(fh, "sign_name", SIGN);
	fh_set_string(fh, "template_code", TCODE);
	fh_set_string(fh, "template_param", TPARAM);
	fh_set_string(fh, "endpoint", ENDPOINT);
	return fh;
}

static int
setup(void **state)
{
	struct fakehost *fh = fh_aliyun();

	if (fh_open(fh, plugin) != 0)
		fail_msg("open: %s", fh_err(fh));
	*state = fh;
	return 0;
}

static int
teardown(void **state)
{
	assert_no_numbers(*state);
	fh_free(*state);
	return 0;
}

/* Messages d-100.. to phones[], one text, the drill's JSON. */
struct batch {
	struct sz_msg		 m[8];
	const struct sz_msg	*p[8];
	char			 ids[8][16];
};

static void
batch_init(struct batch *b, const char *const *phones, size_t n)
{
	memset(b, 0, sizeof(*b));
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(b->ids[i], sizeof(b->ids[i]), "d-%zu", 100 + i);
		b->m[i].id = b->ids[i];
		b->m[i].phone = phones[i];
		b->m[i].name = "张伟";
		b->m[i].text = "【演练】消防疏散演练";
		b->m[i].ack_url = "http://x/a/tok";
		b->m[i].json = DRILL_JSON;
		b->p[i] = &b->m[i];
	}
}

static struct fh_req *
send3(struct fakehost *fh, struct batch *b)
{
	batch_init(b, phones3, 3);
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b->p, 3), 0);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->n_outcomes, 0);
	return fh->reqs[0];
}

/* "<biz>:<tag>", the tag computed here from the number's SHA-256. */
static void
want_pid(const char *biz, const char *phone, char *out, size_t len)
{
	unsigned char md[32];
	char tag[17];

	SHA256((const unsigned char *)phone, strlen(phone), md);
	for (int i = 0; i < 8; i++) {
		tag[2 * i] = (char)('a' + (md[i] >> 4));
		tag[2 * i + 1] = (char)('a' + (md[i] & 15));
	}
	tag[16] = '\0';
	snprintf(out, len, "%s:%s", biz, tag);
}

static void
inbound(struct fakehost *fh, const char *method, const char *body,
    struct sz_inbound_answer *out)
{
	struct fh_inbound fin;

	fh_inbound_init(&fin, method, NULL, body, NULL);
	memset(out, 0, sizeof(*out));
	(void)plugin->inbound(fh->state, fh_chan(fh), &fin.in, out);
}

/* ---- the plugin, its settings, the signature ------------------------ */

static void
test_plugin_shape(void **state)
{
	const struct sz_setting *s;
	int secret = 0;

	(void)state;
	assert_string_equal(plugin->name, "sms_aliyun");
	assert_int_equal(plugin->max_batch, 1000);
	assert_non_null(plugin->inbound);
	assert_non_null(plugin->close);
	for (s = plugin->settings; s->key != NULL; s++)
		if (strcmp(s->key, "access_key_secret") == 0)
			secret = s->secret && s->required;
	assert_true(secret);
	assert_null(dlsym(dl, "aliyun_send"));
	assert_null(dlsym(dl, "aliyun_sign"));
	assert_null(dlsym(dl, "pbuf_add"));
}

/*
 * The worked example of Aliyun's SMS documentation ("HTTP协议及签名",
 * dysmsapi 2017-05-25: AccessKeyId testId, AccessKeySecret testSecret,
 * Timestamp 2017-07-12T02:42:19Z, a GET), which gives the canonical
 * query below and Signature zJDF+Lrzhj/ThnlvIToysFRq6t4=.
 */
static void
test_sign_published(void **state)
{
	struct aparam p[] = {
		{ "SignatureVersion", "1.0" },
		{ "Timestamp", "2017-07-12T02:42:19Z" },
		{ "AccessKeyId", "testId" },
		{ "SignName", "阿里云短信测试专用" },
		{ "SignatureMethod", "HMAC-SHA1" },
		{ "TemplateParam", "{\"customer\":\"test\"}" },
		{ "Format", "XML" },
		{ "Action", "SendSms" },
		{ "SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466" },
		{ "OutId", "123" },
		{ "RegionId", "cn-hangzhou" },
		{ "PhoneNumbers", "15300000001" },
		{ "Version", "2017-05-25" },
		{ "TemplateCode", "SMS_71390007" },
	};
	char *canon, sig[32];
	struct pbuf b = { 0 };

	(void)state;
	canon = aliyun_canonical(p, sizeof(p) / sizeof(p[0]));
	assert_string_equal(canon, "AccessKeyId=testId&Action=SendSms"
	    "&Format=XML&OutId=123&PhoneNumbers=15300000001"
	    "&RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F"
	    "%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8"
	    "&SignatureMethod=HMAC-SHA1"
	    "&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466"
	    "&SignatureVersion=1.0&TemplateCode=SMS_71390007"
	    "&TemplateParam=%7B%22customer%22%3A%22test%22%7D"
	    "&Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25");
	assert_int_equal(aliyun_sign("GET", canon, "testSecret", sig), 0);
	assert_string_equal(sig, "zJDF+Lrzhj/ThnlvIToysFRq6t4=");
	free(canon);

	/* Aliyun's special cases: blank %20, '*' %2A, '~' kept, '+' %2B. */
	aliyun_pct(&b, "a b*c~d+e/f");
	assert_string_equal(b.p, "a%20b%2Ac~d%2Be%2Ff");
	free(b.p);
}

static void
expect_open_error(struct fakehost *fh, const char *needle)
{
	void *st = NULL;
	char err[256] = "";

	fh->plugin = plugin;
	if (plugin->open(&fh->host, fh_chan(fh), &st, err, sizeof(err)) == 0) {
		plugin->close(st);
		fail_msg("open() took what should fail with \"%s\"", needle);
	}
	if (strstr(err, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, err);
	assert_null(strstr(err, "s3cret"));
	fh_free(fh);
}

static void
test_open_refuses(void **state)
{
	static const char *const req[] = { "access_key_id",
	    "access_key_secret", "sign_name", "template_code",
	    "template_param" };
	static const struct {
		const char *tp, *why;
	} tps[] = {
		{ "{\"title\":", "must be a non-empty JSON object" },
		{ "[\"{title}\"]", "must be a non-empty JSON object" },
		{ "{}", "must be a non-empty JSON object" },
		{ "{\"title\":1}", "variable \"title\" must be a string" },
		{ "{\"a b\":\"{text}\"}", "not a template variable name" },
		{ "{\"t\":\"{text}{foo}\"}", "unknown field \"{foo}\"" },
		{ "{\"t\":\"{text}{open\"}", "unknown field" },
		{ "{\"t\":\"{text}}\"}", "a lone '}'" },
		{ "{\"t\":\"{title}\",\"c\":\"{code}\"}", "{drill}" },
		{ "{\"t\":\"{text}\",\"t\":\"{text}\"}", "JSON object" },
	};
	struct fakehost *fh;
	char want[64];

	(void)state;
	for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		snprintf(want, sizeof(want), "setting \"%s\" is required",
		    req[i]);
		fh = fh_aliyun();
		fh_set_string(fh, req[i], "");
		expect_open_error(fh, want);
	}
	for (size_t i = 0; i < sizeof(tps) / sizeof(tps[0]); i++) {
		fh = fh_aliyun();
		fh_set_string(fh, "template_param", tps[i].tp);
		expect_open_error(fh, tps[i].why);
	}
	fh = fh_aliyun();
	fh_set_string(fh, "endpoint", "ftp://127.0.0.1/");
	expect_open_error(fh, "\"endpoint\" must be an http:// or https://");
	fh = fh_aliyun();
	fh_set_string(fh, "endpoint", "http://x/?a=1");
	expect_open_error(fh, "\"endpoint\"");
	fh = fh_aliyun();
	fh_set_int(fh, "timeout_ms", -1);
	expect_open_error(fh, "\"timeout_ms\" must be 0 to 600000");
	fh = fh_aliyun();
	fh_set_int(fh, "limit_retry_after", 0);
	expect_open_error(fh, "\"limit_retry_after\" must be 1 to 3600");

	/* The host's own checks name a missing key too. */
	fh = fh_new();
	fh_set_string(fh, "access_key_id", KEY_ID);
	assert_int_equal(fh_open(fh, plugin), -1);
	assert_non_null(strstr(fh_err(fh), "access_key_secret"));
	fh_free(fh);

	/* Braces, {text} alone, and the default endpoint: fine. */
	fh = fh_new();
	fh_set_string(fh, "access_key_id", KEY_ID);
	fh_set_string(fh, "access_key_secret", SECRET);
	fh_set_string(fh, "sign_name", SIGN);
	fh_set_string(fh, "template_code", TCODE);
	fh_set_string(fh, "template_param", "{\"c\":\"{{{text}}}\"}");
	assert_int_equal(fh_open(fh, plugin), 0);
	fh_free(fh);
}

/* ---- SendSms -------------------------------------------------------- */

static void
test_send_form(void **state)
{
	struct fakehost *fh = *state;
	struct fh_req *r;
	struct batch b;
	char *ts, *nonce, pid[64];
	struct tm tm = { 0 };
	time_t t;

	r = send3(fh, &b);
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, ENDPOINT);
	assert_int_equal(r->timeout_ms, 10000);
	assert_string_equal(fh_req_header(r, "Content-Type"),
	    "application/x-www-form-urlencoded");
	assert_form(r->body, "Action", "SendSms");
	assert_form(r->body, "Version", "2017-05-25");
	assert_form(r->body, "Format", "JSON");
	assert_form(r->body, "RegionId", "cn-hangzhou");
	assert_form(r->body, "SignatureMethod", "HMAC-SHA1");
	assert_form(r->body, "SignatureVersion", "1.0");
	assert_form(r->body, "AccessKeyId", KEY_ID);
	assert_form(r->body, "SignName", SIGN);
	assert_form(r->body, "TemplateCode", TCODE);
	assert_form(r->body, "PhoneNumbers",
	    "13800000001,13800000002,13900000003");
	assert_form(r->body, "OutId", "d-100");
	/* The drill marked in the variables, exactly this JSON. */
	assert_form(r->body, "TemplateParam", DRILL_PARAM);
	assert_null(strstr(r->body, "s3cret"));
	assert_signed(r->body);

	/* ISO 8601 UTC, within a minute of now; 32 hex digits of nonce. */
	ts = form_get(r->body, "Timestamp");
	assert_non_null(strptime(ts, "%Y-%m-%dT%H:%M:%SZ", &tm));
	assert_int_equal(strlen(ts), 20);
	t = timegm(&tm);
	assert_true(t > time(NULL) - 60 && t <= time(NULL) + 1);
	nonce = form_get(r->body, "SignatureNonce");
	assert_int_equal(strlen(nonce), 32);
	assert_int_equal(strspn(nonce, "0123456789abcdef"), 32);

	/* A second request has a nonce of its own. */
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1), 0);
	assert_int_equal(fh->n_reqs, 2);
	assert_null(strstr(fh->reqs[1]->body, nonce));
	assert_signed(fh->reqs[1]->body);
	free(ts);
	free(nonce);

	fh_answer(fh, 0, 200, NULL, "{\"Message\":\"OK\",\"RequestId\":"
	    "\"F655A8D5-B967-440B-8683-DAD6FF8DE990\",\"Code\":\"OK\","
	    "\"BizId\":\"" BIZ "\"}");
	assert_int_equal(fh->n_outcomes, 3);
	for (size_t i = 0; i < 3; i++) {
		want_pid(BIZ, phones3[i], pid, sizeof(pid));
		assert_string_equal(fh->outcomes[i].msg_id, b.ids[i]);
		assert_int_equal(fh->outcomes[i].outcome, SZ_ACCEPTED);
		assert_string_equal(fh->outcomes[i].provider_id, pid);
	}
}

/* Only messages whose TemplateParam is the same share a call. */
static void
test_batch_by_param(void **state)
{
	struct fakehost *fh = fh_aliyun();
	struct batch b;

	(void)state;
	fh_set_string(fh, "template_param",
	    "{\"name\":\"{name}\",\"t\":\"{text}\"}");
	assert_int_equal(fh_open(fh, plugin), 0);
	batch_init(&b, phones3, 3);
	b.m[1].name = "李娜";
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	assert_int_equal(fh->n_reqs, 2);
	assert_form(fh->reqs[0]->body, "PhoneNumbers",
	    "13800000001,13900000003");
	assert_form(fh->reqs[0]->body, "OutId", "d-100");
	assert_form(fh->reqs[0]->body, "TemplateParam",
	    "{\"name\":\"张伟\",\"t\":\"【演练】消防疏散演练\"}");
	assert_form(fh->reqs[1]->body, "PhoneNumbers", "13800000002");
	assert_form(fh->reqs[1]->body, "OutId", "d-101");
	assert_form(fh->reqs[1]->body, "TemplateParam",
	    "{\"name\":\"李娜\",\"t\":\"【演练】消防疏散演练\"}");
	fh_answer(fh, 1, 200, NULL, "{\"Code\":\"OK\",\"BizId\":\"b2\"}");
	fh_answer(fh, 0, 200, NULL, "{\"Code\":\"OK\",\"BizId\":\"b1\"}");
	assert_int_equal(fh->n_outcomes, 3);
	assert_string_equal(fh->outcomes[0].msg_id, "d-101");
	assert_no_numbers(fh);
	fh_free(fh);
}

/* Bad numbers, a number twice, a message without its fields. */
static void
test_kept_back(void **state)
{
	static const char *const ph[] = { "13800000001", "12345",
	    "+8613800000001", "8613900000003", "13900000004" };
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, ph, 5);
	b.m[4].json = "{\"alert\":{\"kind\":\"drill\"}}";	/* no title */
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 5), 0);
	assert_int_equal(fh->n_reqs, 1);
	assert_form(fh->reqs[0]->body, "PhoneNumbers",
	    "13800000001,13900000003");
	assert_int_equal(fh->n_outcomes, 3);
	assert_string_equal(fh->outcomes[0].msg_id, "d-101");
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_string_equal(fh->outcomes[1].msg_id, "d-102");
	assert_int_equal(fh->outcomes[1].outcome, SZ_RETRY);
	assert_string_equal(fh->outcomes[2].msg_id, "d-104");
	assert_int_equal(fh->outcomes[2].outcome, SZ_FAILED);
	assert_non_null(strstr(fh->outcomes[2].why, "template_param"));
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 0), -1);
}

/* The host refuses: every message of the call is told to retry. */
static void
test_http_refused(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, phones3, 3);
	fh->http_refuse = 1;
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	assert_int_equal(fh->n_outcomes, 3);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(fh->outcomes[i].outcome, SZ_RETRY);
}

/* Requests never answered are freed by close() (ASan, valgrind). */
static void
test_close_in_flight(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, phones3, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3),
		    0);
	fh_answer(fh, 1, 200, NULL, "{\"Code\":\"OK\",\"BizId\":\"" BIZ "\"}");
	assert_int_equal(fh->n_outcomes, 3);
}

/* ---- answers --------------------------------------------------------- */

/*
 * Send three numbers in one call and answer it: with status, headers and
 * body; with a transport error (status 0, body = the error); or, with
 * both a status and a transport error, cut short after body.
 */
static void
expect_answer_h(long status, const char *const *headers, const char *body,
    int transport, enum sz_outcome want, int after, const char *why)
{
	struct fakehost *fh = fh_aliyun();
	struct batch b;

	if (fh_open(fh, plugin) != 0)
		fail_msg("open: %s", fh_err(fh));
	(void)send3(fh, &b);
	if (transport && status != 0)
		fh_answer_cut(fh, 0, status, body, transport,
		    "Operation timed out after 2000 milliseconds");
	else if (transport)
		fh_answer_error(fh, 0, transport, body);
	else
		fh_answer(fh, 0, status, headers, body);
	assert_int_equal(fh->n_outcomes, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct fh_outcome *o = &fh->outcomes[i];

		if (o->outcome != want)
			fail_msg("HTTP %ld %s: outcome %d, want %d", status,
			    body ? body : "", (int)o->outcome, (int)want);
		assert_int_equal(o->retry_after, after);
		if (want == SZ_ACCEPTED)
			continue;
		assert_null(o->provider_id);
		if (o->why == NULL || strstr(o->why, why) == NULL)
			fail_msg("why \"%s\" lacks \"%s\"", o->why ? o->why :
			    "(null)", why);
	}
	assert_no_numbers(fh);
	fh_free(fh);
}

static void
expect_answer(long status, const char *body, int transport,
    enum sz_outcome want, int after, const char *why)
{
	expect_answer_h(status, NULL, body, transport, want, after, why);
}

#define ANS(code)	"{\"Message\":\"x\",\"RequestId\":\"r\",\"Code\":\"" \
			code "\"}"

static void
test_answers(void **state)
{
	(void)state;
	/* Flow control: at the provider's pace. */
	expect_answer(200, ANS("isv.BUSINESS_LIMIT_CONTROL"), 0, SZ_RETRY,
	    60, "isv.BUSINESS_LIMIT_CONTROL");
	expect_answer(400, ANS("Throttling.User"), 0, SZ_RETRY, 1,
	    "Throttling.User");
	expect_answer(400, ANS("Throttling"), 0, SZ_RETRY, 1, "Throttling");
	/* A nonce seen before, Aliyun's own trouble: again, new nonce. */
	expect_answer(400, ANS("SignatureNonceUsed"), 0, SZ_RETRY, 0,
	    "SignatureNonceUsed");
	expect_answer(200, ANS("isp.SYSTEM_ERROR"), 0, SZ_RETRY, 0,
	    "isp.SYSTEM_ERROR");
	expect_answer(503, ANS("ServiceUnavailable"), 0, SZ_RETRY, 0,
	    "HTTP 503: ServiceUnavailable");
	expect_answer(500, "", 0, SZ_RETRY, 0, "HTTP 500");
	expect_answer(502, "<html>Bad Gateway</html>", 0, SZ_RETRY, 0,
	    "HTTP 502");
	expect_answer(200, "not json", 0, SZ_RETRY, 0, "HTTP 200");
	expect_answer(0, "Connection refused", 7, SZ_RETRY, 0,
	    "Connection refused");
	/* Permanent on this channel: the daemon falls back. */
	expect_answer(200, ANS("isv.DAY_LIMIT_CONTROL"), 0, SZ_FAILED, 0,
	    "isv.DAY_LIMIT_CONTROL");
	expect_answer(200, ANS("isv.SMS_TEMPLATE_ILLEGAL"), 0, SZ_FAILED, 0,
	    "isv.SMS_TEMPLATE_ILLEGAL");
	expect_answer(200, ANS("isv.AMOUNT_NOT_ENOUGH"), 0, SZ_FAILED, 0,
	    "isv.AMOUNT_NOT_ENOUGH");
	expect_answer(400, ANS("SignatureDoesNotMatch"), 0, SZ_FAILED, 0,
	    "SignatureDoesNotMatch");
	expect_answer(404, ANS("InvalidAccessKeyId.NotFound"), 0, SZ_FAILED,
	    0, "InvalidAccessKeyId.NotFound");
	expect_answer(403, "", 0, SZ_FAILED, 0, "HTTP 403");
	/* An ASCII Message is kept, digit runs masked; Chinese is not. */
	expect_answer(200, "{\"Code\":\"isv.X\",\"Message\":\"bad 13800000001\"}",
	    0, SZ_FAILED, 0, "isv.X: bad 138****0001");
	expect_answer(200, "{\"Code\":\"isv.X\",\"Message\":\"号码错误\"}", 0,
	    SZ_FAILED, 0, "HTTP 200: isv.X");
	/* OK without a BizId: accepted, no receipt to match. */
	expect_answer(200, "{\"Code\":\"OK\"}", 0, SZ_ACCEPTED, 0, NULL);
}

static void
test_limit_retry_after(void **state)
{
	struct fakehost *fh = fh_aliyun();
	struct batch b;

	(void)state;
	fh_set_int(fh, "limit_retry_after", 5);
	fh_set_int(fh, "timeout_ms", 2500);
	assert_int_equal(fh_open(fh, plugin), 0);
	(void)send3(fh, &b);
	assert_int_equal(fh->reqs[0]->timeout_ms, 2500);
	fh_answer(fh, 0, 200, NULL, ANS("isv.BUSINESS_LIMIT_CONTROL"));
	assert_int_equal(fh->outcomes[0].retry_after, 5);
	fh_free(fh);
}

/* A proxy's 429 or 503 with Retry-After: not before it says. */
static void
test_retry_after_header(void **state)
{
	static const char *const ra[] = { "Retry-After: 7", NULL };

	(void)state;
	expect_answer_h(429, ra, "<html>Too Many Requests</html>", 0,
	    SZ_RETRY, 7, "HTTP 429");
	expect_answer_h(503, ra, ANS("ServiceUnavailable"), 0, SZ_RETRY, 7,
	    "ServiceUnavailable");
	expect_answer_h(400, ra, ANS("Throttling.User"), 0, SZ_RETRY, 7,
	    "Throttling.User");
	/* The Code asks for longer: the Code wins. */
	expect_answer_h(200, ra, ANS("isv.BUSINESS_LIMIT_CONTROL"), 0,
	    SZ_RETRY, 60, "isv.BUSINESS_LIMIT_CONTROL");
}

/*
 * An answer cut short by the timeout is no answer: retried.  A throttled
 * 400 whose Code never came must not read as a refusal.
 */
static void
test_answer_cut_short(void **state)
{
	(void)state;
	expect_answer(400, "{\"Message\":\"Request was denied\",\"Code\":"
	    "\"Thro", 28, SZ_RETRY, 0, "answer cut short, transport error 28");
	expect_answer(200, "{\"Message\":\"OK\",\"RequestId\":\"r\",\"Co", 28,
	    SZ_RETRY, 0, "answer cut short, transport error 28");
	expect_answer(200, "", 28, SZ_RETRY, 0,
	    "answer cut short, transport error 28");
}

/* An illegal number in a batch: each number alone, to find it. */
static void
test_illegal_number_split(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	(void)send3(fh, &b);
	fh_answer(fh, 0, 200, NULL, ANS("isv.MOBILE_NUMBER_ILLEGAL"));
	assert_int_equal(fh->n_outcomes, 0);
	assert_int_equal(fh->n_reqs, 4);
	for (size_t i = 0; i < 3; i++) {
		assert_form(fh->reqs[1 + i]->body, "PhoneNumbers", phones3[i]);
		assert_form(fh->reqs[1 + i]->body, "OutId", b.ids[i]);
		assert_form(fh->reqs[1 + i]->body, "TemplateParam", DRILL_PARAM);
		assert_signed(fh->reqs[1 + i]->body);
	}
	fh_answer(fh, 1, 200, NULL, "{\"Code\":\"OK\",\"BizId\":\"b1\"}");
	fh_answer(fh, 2, 200, NULL, ANS("isv.MOBILE_NUMBER_ILLEGAL"));
	fh_answer(fh, 3, 200, NULL, "{\"Code\":\"OK\",\"BizId\":\"b3\"}");
	assert_int_equal(fh->n_reqs, 4);
	assert_int_equal(fh->n_outcomes, 3);
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
	assert_string_equal(fh->outcomes[1].msg_id, "d-101");
	assert_int_equal(fh->outcomes[1].outcome, SZ_FAILED);
	assert_int_equal(fh->outcomes[2].outcome, SZ_ACCEPTED);
}

/* ---- inbound ------------------------------------------------------- */

#define OK_BODY		"{\"code\":0,\"msg\":\"接收成功\"}"

static void
expect_ok(struct fakehost *fh, const char *body)
{
	struct sz_inbound_answer out;

	inbound(fh, "POST", body, &out);
	if (out.status != 200)
		fail_msg("status %d (%s) for %s", out.status, out.body, body);
	assert_string_equal(out.body, OK_BODY);
	assert_non_null(strstr(out.content_type, "application/json"));
}

static void
test_reports(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;
	char pid[64];

	(void)send3(fh, &b);
	fh_answer(fh, 0, 200, NULL, "{\"Code\":\"OK\",\"BizId\":\"" BIZ "\"}");
	expect_ok(fh, "[{\"phone_number\":\"13800000001\",\"send_time\":"
	    "\"2024-01-01 00:00:00\",\"report_time\":\"2024-01-01 00:00:05\","
	    "\"success\":true,\"err_code\":\"DELIVERED\",\"err_msg\":"
	    "\"用户接收成功\",\"sms_size\":\"1\",\"biz_id\":\"" BIZ "\","
	    "\"out_id\":\"d-100\"},"
	    "{\"phone_number\":\"+8613900000003\",\"success\":false,"
	    "\"err_code\":\"MK:0001\",\"err_msg\":\"x\",\"biz_id\":\"" BIZ
	    "\",\"out_id\":\"d-100\"}]");
	assert_int_equal(fh->n_receipts, 2);
	/* The provider id the acceptance reported, matched the same way. */
	assert_string_equal(fh->receipts[0].id, fh->outcomes[0].provider_id);
	assert_true(fh->receipts[0].by_provider);
	assert_int_equal(fh->receipts[0].state, SZ_RECEIPT_DELIVERED);
	want_pid(BIZ, "13900000003", pid, sizeof(pid));
	assert_string_equal(fh->receipts[1].id, pid);
	assert_string_equal(fh->receipts[1].id, fh->outcomes[2].provider_id);
	assert_int_equal(fh->receipts[1].state, SZ_RECEIPT_FAILED);
	assert_string_equal(fh->receipts[1].why, "aliyun: MK:0001");
	/* Unknown to the host: still taken, or Aliyun pushes it again. */
	fh->receipt_unknown = 1;
	expect_ok(fh, "[{\"phone_number\":\"13800000002\",\"success\":true,"
	    "\"biz_id\":\"other\"}]");
	assert_int_equal(fh->n_receipts, 3);
	expect_ok(fh, "[]");
	assert_false(fh_logs_contain(fh, "13900000003"));
}

static void
test_replies(void **state)
{
	struct fakehost *fh = *state;
	struct sz_inbound_answer out;
	const char *two = "[{\"phone_number\":\"13800000001\",\"content\":"
	    "\"1\",\"send_time\":\"2024-01-01 00:00:00\",\"sign_name\":"
	    "\"南湖街道\",\"dest_code\":\"1234\",\"sequence_id\":1001},"
	    "{\"phone_number\":\"13800000002\",\"content\":\"收到\","
	    "\"sequence_id\":\"1002\"}]";

	expect_ok(fh, "[{\"phone_number\":\"8613800000042\",\"content\":"
	    "\"收到 A7\",\"send_time\":\"2024-01-01 00:00:00\",\"sign_name\":"
	    "\"南湖街道\",\"dest_code\":\"1234\",\"sequence_id\":99}]");
	assert_int_equal(fh->n_replies, 1);
	assert_string_equal(fh->replies[0].phone, "13800000042");
	assert_string_equal(fh->replies[0].text, "收到 A7");

	/* Two in one push: both to the host, one answer. */
	inbound(fh, "POST", two, &out);
	assert_int_equal(out.status, 200);
	assert_int_equal(fh->n_replies, 3);
	assert_string_equal(fh->replies[1].phone, "13800000001");
	assert_string_equal(fh->replies[2].phone, "13800000002");
	assert_string_equal(fh->replies[2].text, "收到");

	/* Without sequence_id as well. */
	expect_ok(fh, "[{\"phone_number\":\"13800000005\",\"content\":\"1\"},"
	    "{\"phone_number\":\"13800000006\",\"content\":\"1\"}]");
	assert_int_equal(fh->n_replies, 5);
	assert_true(fh_logs_contain(fh, "138****0042"));
	assert_false(fh_logs_contain(fh, "13800000042"));
}

static void
expect_400(struct fakehost *fh, const char *method, const char *body,
    const char *why)
{
	struct sz_inbound_answer out;

	inbound(fh, method, body, &out);
	if (out.status != 400)
		fail_msg("%s %s: status %d", method, body, out.status);
	if (strstr(out.body, why) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", body, out.body, why);
}

static void
test_malformed(void **state)
{
	static const char good[] = "{\"phone_number\":\"13800000001\","
	    "\"success\":true,\"biz_id\":\"b\"}";
	struct fakehost *fh = *state;
	char body[512];

	expect_400(fh, "GET", "[]", "POST");
	expect_400(fh, "POST", "", "empty body");
	expect_400(fh, "POST", "[{", "not JSON");
	expect_400(fh, "POST", "{\"phone_number\":\"13800000001\"}",
	    "not a JSON array");
	expect_400(fh, "POST", "[1]", "element 0 of the push: not a JSON "
	    "object");
	expect_400(fh, "POST", "[{\"success\":true,\"biz_id\":\"b\"}]",
	    "phone_number must be a string");
	expect_400(fh, "POST", "[{\"phone_number\":\"10086\",\"content\":"
	    "\"1\"}]", "not a mainland mobile number");
	expect_400(fh, "POST", "[{\"phone_number\":\"13800000001\","
	    "\"success\":true}]", "needs biz_id");
	expect_400(fh, "POST", "[{\"phone_number\":\"13800000001\","
	    "\"success\":\"true\",\"biz_id\":\"b\"}]", "true or false");
	expect_400(fh, "POST", "[{\"phone_number\":\"13800000001\","
	    "\"content\":1}]", "content must be a string");
	expect_400(fh, "POST", "[{\"phone_number\":\"13800000001\","
	    "\"content\":\"1\\u00002\"}]", "not JSON");
	expect_400(fh, "POST", "[{\"phone_number\":\"13800000001\","
	    "\"content\":\"1\",\"sequence_id\":\"x\"}]", "sequence_id");
	expect_400(fh, "POST", "[{\"phone_number\":\"13800000001\"}]",
	    "neither an SmsReport");
	/* A good element before a bad one: nothing of the push is taken. */
	snprintf(body, sizeof(body), "[%s,{\"phone_number\":\"13800000001\","
	    "\"content\":\"1\"},{\"phone_number\":\"1380\"}]", good);
	expect_400(fh, "POST", body, "element 2 of the push");
	assert_int_equal(fh->n_receipts, 0);
	assert_int_equal(fh->n_replies, 0);
}

static int
group_setup(void **state)
{
	(void)state;
	plugin = fh_load_plugin(PLUGIN_BUILD_DIR "/sms_aliyun.so", &dl);
	return plugin == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	fh_unload_plugin(dl);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plugin_shape),
		cmocka_unit_test(test_sign_published),
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test_setup_teardown(test_send_form, setup,
		    teardown),
		cmocka_unit_test(test_batch_by_param),
		cmocka_unit_test_setup_teardown(test_kept_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_in_flight, setup,
		    teardown),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_limit_retry_after),
		cmocka_unit_test(test_retry_after_header),
		cmocka_unit_test(test_answer_cut_short),
		cmocka_unit_test_setup_teardown(test_illegal_number_split,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_reports, setup, teardown),
		cmocka_unit_test_setup_teardown(test_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
