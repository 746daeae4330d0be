/*
 * test_sms_tencent.c - the sms_tencent plugin: its TC3-HMAC-SHA256
 * signing (linked in directly) against Tencent's published example, and
 * the plugin itself, loaded from its shared object and driven through the
 * fake host: the SendSms request (headers, signature, JSON body, batching
 * and the split by template parameters), what each answer becomes, and
 * the status and reply callbacks.
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

#include <jansson.h>

#include "fakehost.h"
#include "../../plugins/sms_tencent_sign.h"

#ifndef PLUGIN_BUILD_DIR
#error "PLUGIN_BUILD_DIR must name the directory holding sms_tencent.so"
#endif

#define SID	"AKIDtest0123456789"
#define SKEY	"s3cr3t-K3y/never+shown"	/* must never show */
#define APPID	"1400006666"
#define SIGN	"南湖街道"
#define TPL	"1234567"
#define ENDPT	"http://127.0.0.1:18080"
#define TITLE	"消防疏散演练"
#define BODY	"11月30日10:00开展消防疏散演练。"
#define MARK	"【演练】"
#define TEXT	MARK TITLE "：" BODY

static const struct sz_plugin *plugin;
static void *dl;

static const char *const phones3[] = {
	"13800000001", "13800000002", "13900000003",
};

/* ---- TC3 against Tencent's published example ------------------------ */

/*
 * Tencent Cloud API 3.0, "签名方法 v3" / "Signature v3" (e.g.
 * https://www.tencentcloud.com/document/product/267/37447 and
 * https://cloud.tencent.com/document/api/362/4208): CVM DescribeInstances
 * in ap-guangzhou at timestamp 1551113065 with the body below.  The
 * English page gives SecretId AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE,
 * SecretKey Gu5t9xGARNpq86cd98joQYCN3EXAMPLE and the signature
 * 72e494ea...5168.  The current Chinese page masks the key as
 * "Gu5t9xGARNpq86cd98joQYCN3*******" (the asterisks are the key's text)
 * and prints 2230eefd...652c; both pages give the payload hash 35e9c5b0...
 * and the canonical request hash 5ffe6a04....  Recomputed independently
 * with Python's hmac/hashlib before writing this test.
 */
#define EX_BODY	"{\"Limit\": 1, \"Filters\": [{\"Values\": " \
		"[\"\\u672a\\u547d\\u540d\"], \"Name\": \"instance-name\"}]}"

static void
tc3_example(const char *key, const char *want_sig)
{
	char sig[TC3_HEX_LEN], auth[512], want[512];
	struct tc3_input in = {
		.secret_id = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE",
		.secret_key = key, .service = "cvm",
		.host = "cvm.tencentcloudapi.com",
		.content_type = "application/json; charset=utf-8",
		.payload = EX_BODY, .payload_len = strlen(EX_BODY),
		.timestamp = 1551113065,
	};

	assert_int_equal(tc3_sign(&in, sig, auth, sizeof(auth)), 0);
	assert_string_equal(sig, want_sig);
	/* 2019-02-26 00:44:25 in Beijing, but the scope has the UTC day. */
	snprintf(want, sizeof(want), "TC3-HMAC-SHA256 Credential="
	    "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/cvm/tc3_request, "
	    "SignedHeaders=content-type;host, Signature=%s", want_sig);
	assert_string_equal(auth, want);
	/* The Host value is signed lowercased: same signature. */
	in.host = "CVM.tencentcloudapi.com";
	assert_int_equal(tc3_sign(&in, sig, NULL, 0), 0);
	assert_string_equal(sig, want_sig);
}

static void
test_tc3_published_example(void **state)
{
	char h[TC3_HEX_LEN];

	(void)state;
	assert_int_equal(tc3_sha256_hex(EX_BODY, strlen(EX_BODY), h), 0);
	assert_string_equal(h, "35e9c5b0e3ae67532d3c9f17ead6c902"
	    "22632e5b1ff7f6e89887f1398934f064");
	tc3_example("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE",
	    "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168");
	tc3_example("Gu5t9xGARNpq86cd98joQYCN3*******",
	    "2230eefd229f582d8b1b891af7107b91597240707d778ab3738f756258d7652c");
}

static void
test_tc3_refuses(void **state)
{
	char sig[TC3_HEX_LEN], auth[32];
	struct tc3_input in = {
		.secret_id = "AKID", .secret_key = "k", .service = "sms",
		.host = "h", .content_type = "application/json",
		.payload = "{}", .payload_len = 2, .timestamp = 1,
	};

	(void)state;
	assert_int_equal(tc3_sign(&in, sig, auth, sizeof(auth)), -1);
	in.host = NULL;
	assert_int_equal(tc3_sign(&in, sig, NULL, 0), -1);
}

/* ---- helpers ------------------------------------------------------- */

/* No log line and no `why` holds 8+ digits in a row, or the secret. */
static void
assert_nothing_leaks(const struct fakehost *fh)
{
	const char *s, *line;

	for (size_t i = 0; i < fh->n_logs + fh->n_outcomes; i++) {
		line = s = i < fh->n_logs ? fh->logs[i].line :
		    fh->outcomes[i - fh->n_logs].why;
		if (s != NULL && strstr(s, SKEY) != NULL)
			fail_msg("the secret key in \"%s\"", s);
		for (size_t run = 0; s != NULL && *s != '\0'; s++) {
			run = *s >= '0' && *s <= '9' ? run + 1 : 0;
			if (run >= 8)
				fail_msg("a phone number in \"%s\"", line);
		}
	}
}

static struct fakehost *
fh_tencent(const char *params)
{
	struct fakehost *fh = fh_new();

	fh_set_string(fh, "secret_id", SID);
	fh_set_string(fh, "secret_key", SKEY);
	fh_set_string(fh, "sdk_app_id", APPID);
	fh_set_string(fh, "sign_name", SIGN);
	fh_set_string(fh, "template_id", TPL);
	fh_set_string(fh, "endpoint", ENDPT);
	if (params != NULL)
		fh_set_string(fh, "template_params", params);
	return fh;
}

static struct fakehost *
opened(const char *params)
{
	struct fakehost *fh = fh_tencent(params);

	if (fh_open(fh, plugin) != 0)
		fail_msg("open: %s", fh_err(fh));
	return fh;
}

static int
setup(void **state)
{
	*state = opened("{title},{ack_url}");
	return 0;
}

static int
teardown(void **state)
{
	assert_nothing_leaks(*state);
	fh_free(*state);
	return 0;
}

/* Messages d-100.. to phones[], one text, with the host's JSON. */
struct batch {
	struct sz_msg		 m[8];
	const struct sz_msg	*p[8];
	char			 ids[8][16];
	char			 urls[8][64];
	char			 json[8][768];
};

static void
batch_init(struct batch *b, const char *const *phones,
    const char *const *names, size_t n, const char *kind)
{
	const char *text = strcmp(kind, "drill") == 0 ? TEXT : TITLE "：" BODY;

	memset(b, 0, sizeof(*b));
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(b->ids[i], sizeof(b->ids[i]), "d-%zu", 100 + i);
		snprintf(b->urls[i], sizeof(b->urls[i]),
		    "https://alert.example/a/tok%zu", i);
		snprintf(b->json[i], sizeof(b->json[i]), "{\"alert\":{\"id\":7,"
		    "\"code\":\"A7\",\"kind\":\"%s\",\"severity\":\"yellow\","
		    "\"title\":\"%s\",\"body\":\"%s\"},\"recipient\":{\"name\":"
		    "\"%s\",\"phone\":\"%s\",\"posts\":[]},\"text\":\"%s\","
		    "\"ack_url\":\"%s\"}", kind, TITLE, BODY, names[i],
		    phones[i], text, b->urls[i]);
		b->m[i].id = b->ids[i];
		b->m[i].phone = phones[i];
		b->m[i].name = names[i];
		b->m[i].text = text;
		b->m[i].ack_url = b->urls[i];
		b->m[i].json = b->json[i];
		b->p[i] = &b->m[i];
	}
}

static const char *const names3[] = { "张伟", "李娜", "王芳" };

static json_t *
req_json(const struct fh_req *r)
{
	json_t *j = json_loads(r->body, 0, NULL);

	assert_non_null(j);
	return j;
}

/* The request's Authorization, recomputed from what it carries. */
static void
assert_signed(const struct fh_req *r)
{
	char sig[TC3_HEX_LEN], auth[512];
	const char *ts = fh_req_header(r, "X-TC-Timestamp");
	struct tc3_input in = {
		.secret_id = SID, .secret_key = SKEY, .service = "sms",
		.host = fh_req_header(r, "Host"),
		.content_type = fh_req_header(r, "Content-Type"),
		.payload = r->body, .payload_len = r->body_len,
	};

	assert_non_null(ts);
	in.timestamp = strtoll(ts, NULL, 10);
	assert_true(llabs(in.timestamp - (long long)time(NULL)) < 60);
	assert_int_equal(tc3_sign(&in, sig, auth, sizeof(auth)), 0);
	assert_string_equal(fh_req_header(r, "Authorization"), auth);
}

/* ---- the plugin and its settings ----------------------------------- */

static void
test_plugin_shape(void **state)
{
	const struct sz_setting *s;
	int secret = 0;

	(void)state;
	assert_string_equal(plugin->name, "sms_tencent");
	assert_int_equal(plugin->max_batch, 200);
	assert_non_null(plugin->inbound);
	for (s = plugin->settings; s->key != NULL; s++)
		if (strcmp(s->key, "secret_key") == 0)
			secret = s->secret && s->required;
	assert_true(secret);
	assert_null(dlsym(dl, "tencent_send"));
	assert_null(dlsym(dl, "tc3_sign"));
	assert_null(dlsym(dl, "tencent_classify"));
}

static void
expect_open_error(struct fakehost *fh, const char *needle)
{
	void *st = NULL;
	char err[256] = "";

	fh->plugin = plugin;
	assert_int_equal(plugin->open(&fh->host, fh_chan(fh), &st, err,
	    sizeof(err)), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, err);
	assert_null(strstr(err, SKEY));
	fh_free(fh);
}

static void
test_open_refuses(void **state)
{
	static const char *const bad_ep[] = {
		"ftp://sms.tencentcloudapi.com", "https://", "sms.tencentcloudapi.com",
		"https://sms.tencentcloudapi.com/v1", "https://u@h.example",
		"https://h.example?x=1",
	};
	struct fakehost *fh;

	(void)state;
	fh = fh_tencent(NULL);
	fh_set_string(fh, "secret_key", "");
	expect_open_error(fh, "setting \"secret_key\" is required");
	fh = fh_tencent(NULL);
	fh_set_string(fh, "sign_name", "");
	expect_open_error(fh, "setting \"sign_name\" is required");
	for (size_t i = 0; i < sizeof(bad_ep) / sizeof(bad_ep[0]); i++) {
		fh = fh_tencent(NULL);
		fh_set_string(fh, "endpoint", bad_ep[i]);
		expect_open_error(fh, "setting \"endpoint\" must be");
	}
	fh = fh_tencent("{title},{nope}");
	expect_open_error(fh, "parameter 2: \"{nope}\" is not one of");
	fh = fh_tencent("{title},,{ack_url}");
	expect_open_error(fh, "parameter 2 is empty");
	fh = fh_tencent("title}");
	expect_open_error(fh, "parameter 1 has a '}'");
	fh = fh_tencent("{title");
	expect_open_error(fh, "parameter 1: \"{title\" is not one of");
	fh = fh_tencent("{title},{title},{title},{title},{title},{title},"
	    "{title},{title},{title},{title},{title},{title},{title},{title},"
	    "{title},{title},{title}");
	expect_open_error(fh, "more than 16 parameters");
	fh = fh_tencent(NULL);
	fh_set_string(fh, "region", "ap guangzhou");
	expect_open_error(fh, "\"region\" must be");
	fh = fh_tencent(NULL);
	fh_set_int(fh, "timeout_ms", -5);
	expect_open_error(fh, "\"timeout_ms\" must be 0 to 600000");
	fh = fh_tencent(NULL);
	fh_set_string(fh, "secret_id", "AKID\r\nX-Evil: 1");
	expect_open_error(fh, "must not hold a line break");

	/* The host's own checks name a missing key. */
	fh = fh_new();
	fh_set_string(fh, "secret_id", SID);
	assert_int_equal(fh_open(fh, plugin), -1);
	assert_non_null(strstr(fh_err(fh), "secret_key"));
	fh_free(fh);
	/* Blanks around items, no params at all, the default endpoint. */
	fh = opened(" {title}（{code}） , {ack_url} ");
	fh_free(fh);
	fh = fh_tencent("");
	fh_set_string(fh, "endpoint", "https://sms.tencentcloudapi.com/");
	assert_int_equal(fh_open(fh, plugin), 0);
	fh_free(fh);
}

/* ---- SendSms -------------------------------------------------------- */

static void
test_send_request(void **state)
{
	struct fakehost *fh = *state;
	const struct fh_req *r;
	struct batch b;
	json_t *j, *set, *tp;

	batch_init(&b, phones3, (const char *const[]){ "a", "b", "c" }, 3,
	    "drill");
	/* One {ack_url} each: three calls.  Test the batch with {title}. */
	fh_free(fh);
	*state = fh = opened("{title}（{code}）,{kind}");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->n_outcomes, 0);
	r = fh->reqs[0];
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, ENDPT "/");
	assert_int_equal(r->timeout_ms, 10000);
	assert_string_equal(fh_req_header(r, "Content-Type"),
	    "application/json; charset=utf-8");
	assert_string_equal(fh_req_header(r, "Host"), "127.0.0.1:18080");
	assert_string_equal(fh_req_header(r, "X-TC-Action"), "SendSms");
	assert_string_equal(fh_req_header(r, "X-TC-Version"), "2021-01-11");
	assert_string_equal(fh_req_header(r, "X-TC-Region"), "ap-guangzhou");
	assert_non_null(strstr(fh_req_header(r, "Authorization"),
	    "TC3-HMAC-SHA256 Credential=" SID "/"));
	assert_non_null(strstr(fh_req_header(r, "Authorization"),
	    "/sms/tc3_request, SignedHeaders=content-type;host, Signature="));
	assert_signed(r);
	j = req_json(r);
	set = json_object_get(j, "PhoneNumberSet");
	assert_int_equal(json_array_size(set), 3);
	assert_string_equal(json_string_value(json_array_get(set, 0)),
	    "+8613800000001");
	assert_string_equal(json_string_value(json_array_get(set, 2)),
	    "+8613900000003");
	assert_string_equal(json_string_value(json_object_get(j,
	    "SmsSdkAppId")), APPID);
	assert_string_equal(json_string_value(json_object_get(j, "SignName")),
	    SIGN);
	assert_string_equal(json_string_value(json_object_get(j,
	    "TemplateId")), TPL);
	assert_string_equal(json_string_value(json_object_get(j,
	    "SessionContext")), "d-100");
	tp = json_object_get(j, "TemplateParamSet");
	assert_int_equal(json_array_size(tp), 2);
	/* A drill: the first parameter carries the mark. */
	assert_string_equal(json_string_value(json_array_get(tp, 0)),
	    MARK TITLE "（A7）");
	assert_string_equal(json_string_value(json_array_get(tp, 1)), "演练");
	json_decref(j);
}

static void
test_send_splits_by_params(void **state)
{
	static const char *const ph[] = { "13800000001", "13800000002",
	    "13800000003", "13800000004" };
	static const char *const nm[] = { "张伟", "李娜", "张伟", "王芳" };
	struct fakehost *fh = *state;
	struct batch b;
	json_t *j;
	size_t sizes[3];

	fh_free(fh);
	*state = fh = opened("{name},{text}");
	batch_init(&b, ph, nm, 4, "emergency");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 4), 0);
	/* 张伟 twice (two people of one name) share a call. */
	assert_int_equal(fh->n_reqs, 3);
	for (size_t i = 0; i < 3; i++) {
		j = req_json(fh->reqs[i]);
		sizes[i] = json_array_size(json_object_get(j,
		    "PhoneNumberSet"));
		assert_signed(fh->reqs[i]);
		/* An emergency is never marked as a drill. */
		assert_string_equal(json_string_value(json_array_get(
		    json_object_get(j, "TemplateParamSet"), 1)),
		    TITLE "：" BODY);
		if (i == 0) {
			assert_string_equal(json_string_value(json_array_get(
			    json_object_get(j, "TemplateParamSet"), 0)), "张伟");
			assert_string_equal(json_string_value(json_array_get(
			    json_object_get(j, "PhoneNumberSet"), 1)),
			    "+8613800000003");
		}
		json_decref(j);
	}
	assert_int_equal(sizes[0], 2);
	assert_int_equal(sizes[1], 1);
	assert_int_equal(sizes[2], 1);
	/* Every message of every call gets its outcome. */
	for (size_t i = 0; i < 3; i++)
		fh_answer(fh, i, 503, NULL, "");
	assert_int_equal(fh->n_outcomes, 4);
}

static void
test_send_drill_text_not_marked_twice(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;
	json_t *j;

	fh_free(fh);
	*state = fh = opened("{text}");
	batch_init(&b, phones3, names3, 1, "drill");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1), 0);
	j = req_json(fh->reqs[0]);
	assert_string_equal(json_string_value(json_array_get(
	    json_object_get(j, "TemplateParamSet"), 0)), TEXT);
	json_decref(j);
}

static void
test_kept_back(void **state)
{
	static const char *const ph[] = { "13800000001", "12345",
	    "+8613800000001", "13800000002" };
	static const char *const nm[] = { "a", "b", "c", "d" };
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, ph, nm, 4, "notice");
	b.m[3].json = "{not json";
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 4), 0);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->n_outcomes, 3);
	assert_string_equal(fh->outcomes[0].msg_id, "d-101");
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_string_equal(fh->outcomes[1].msg_id, "d-102");
	assert_int_equal(fh->outcomes[1].outcome, SZ_RETRY);
	assert_string_equal(fh->outcomes[2].msg_id, "d-103");
	assert_int_equal(fh->outcomes[2].outcome, SZ_FAILED);
	/* A drill through a template without parameters cannot be marked. */
	fh_free(fh);
	*state = fh = opened(NULL);
	batch_init(&b, phones3, names3, 1, "drill");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1), 0);
	assert_int_equal(fh->n_reqs, 0);
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_non_null(strstr(fh->outcomes[0].why, "【演练】"));
	/* Too many, or the host refusing the request. */
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 0), -1);
	batch_init(&b, phones3, names3, 1, "notice");
	fh->http_refuse = 1;
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1), 0);
	assert_int_equal(fh->outcomes[1].outcome, SZ_RETRY);
}

/* ---- answers -------------------------------------------------------- */

#define OK3 "{\"Response\":{\"SendStatusSet\":[" \
	"{\"SerialNo\":\"2433:3\",\"PhoneNumber\":\"+8613900000003\"," \
	"\"Fee\":1,\"SessionContext\":\"d-100\",\"Code\":\"Ok\"," \
	"\"Message\":\"send success\",\"IsoCode\":\"CN\"}," \
	"{\"SerialNo\":\"2433:1\",\"PhoneNumber\":\"+8613800000001\"," \
	"\"Fee\":1,\"SessionContext\":\"d-100\",\"Code\":\"Ok\"," \
	"\"Message\":\"send success\",\"IsoCode\":\"CN\"}," \
	"{\"SerialNo\":\"\",\"PhoneNumber\":\"+8613800000002\"," \
	"\"Fee\":0,\"SessionContext\":\"d-100\",\"Code\":" \
	"\"LimitExceeded.PhoneNumberThirtySecondLimit\"," \
	"\"Message\":\"too often for 13800000002\",\"IsoCode\":\"CN\"}]," \
	"\"RequestId\":\"a0aabda6-cf91-4f3e-a81f-9198114a2279\"}}"

static struct fakehost *
sent3(struct batch *b)
{
	struct fakehost *fh = opened("{title}");

	batch_init(b, phones3, names3, 3, "drill");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b->p, 3), 0);
	assert_int_equal(fh->n_reqs, 1);
	return fh;
}

static void
test_per_number_answers(void **state)
{
	struct fakehost *fh;
	struct batch b;

	(void)state;
	fh = sent3(&b);
	fh_answer(fh, 0, 200, NULL, OK3);
	assert_int_equal(fh->n_outcomes, 3);
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
	assert_string_equal(fh->outcomes[0].provider_id, "2433:1");
	assert_int_equal(fh->outcomes[1].outcome, SZ_RETRY);
	assert_int_equal(fh->outcomes[1].retry_after, 30);
	assert_non_null(strstr(fh->outcomes[1].why,
	    "PhoneNumberThirtySecondLimit"));
	assert_int_equal(fh->outcomes[2].outcome, SZ_ACCEPTED);
	assert_string_equal(fh->outcomes[2].provider_id, "2433:3");
	assert_nothing_leaks(fh);
	fh_free(fh);

	/* Daily limit: failed; no entry for a number: retried. */
	fh = sent3(&b);
	fh_answer(fh, 0, 200, NULL, "{\"Response\":{\"SendStatusSet\":["
	    "{\"SerialNo\":\"\",\"PhoneNumber\":\"+8613800000001\",\"Code\":"
	    "\"LimitExceeded.PhoneNumberDailyLimit\",\"Message\":\"x\"},"
	    "{\"SerialNo\":\"\",\"PhoneNumber\":\"+8613900000003\",\"Code\":"
	    "\"FailedOperation.PhoneNumberInBlacklist\",\"Message\":\"x\"}],"
	    "\"RequestId\":\"r\"}}");
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_int_equal(fh->outcomes[1].outcome, SZ_RETRY);
	assert_non_null(strstr(fh->outcomes[1].why, "no SendStatusSet"));
	assert_int_equal(fh->outcomes[2].outcome, SZ_FAILED);
	assert_nothing_leaks(fh);
	fh_free(fh);
}

/*
 * Answer a call of three numbers: status < 0 is a transport error;
 * otherwise status and body with Retry-After: 7 or, with transport set,
 * cut short after body by that transport error.
 */
static void
expect_cut(long status, const char *body, int transport, enum sz_outcome o,
    int after, const char *why)
{
	static const char *const ra[] = { "Retry-After: 7", NULL };
	struct fakehost *fh;
	struct batch b;

	fh = sent3(&b);
	if (status < 0)
		fh_answer_error(fh, 0, 7, "Failed to connect");
	else if (transport)
		fh_answer_cut(fh, 0, status, body, transport,
		    "Operation timed out after 2000 milliseconds");
	else
		fh_answer(fh, 0, status, ra, body);
	assert_int_equal(fh->n_outcomes, 3);
	for (size_t i = 0; i < 3; i++) {
		if (fh->outcomes[i].outcome != o)
			fail_msg("%ld %s: outcome %d, want %d", status,
			    body != NULL ? body : "", fh->outcomes[i].outcome,
			    o);
		assert_int_equal(fh->outcomes[i].retry_after, after);
		assert_null(fh->outcomes[i].provider_id);
		if (strstr(fh->outcomes[i].why, why) == NULL)
			fail_msg("expected \"%s\" in \"%s\"", why,
			    fh->outcomes[i].why);
	}
	assert_nothing_leaks(fh);
	fh_free(fh);
}

static void
expect_all(long status, const char *body, enum sz_outcome o, int after,
    const char *why)
{
	expect_cut(status, body, 0, o, after, why);
}

#define ERR(code) "{\"Response\":{\"Error\":{\"Code\":\"" code "\"," \
	"\"Message\":\"about 13800000001\"},\"RequestId\":\"r-1\"}}"

static void
test_whole_call_answers(void **state)
{
	(void)state;
	expect_all(200, ERR("RequestLimitExceeded"), SZ_RETRY, 1,
	    "RequestLimitExceeded");
	expect_all(200, ERR("RequestLimitExceeded.UinLimitExceeded"), SZ_RETRY,
	    1, "UinLimitExceeded");
	expect_all(200, ERR("LimitExceeded.DeliveryFrequencyLimit"), SZ_RETRY,
	    60, "DeliveryFrequencyLimit");
	expect_all(200, ERR("LimitExceeded.AppDailyLimit"), SZ_FAILED, 0,
	    "AppDailyLimit");
	expect_all(200, ERR("InternalError.Timeout"), SZ_RETRY, 0,
	    "InternalError.Timeout");
	expect_all(200, ERR("InternalError"), SZ_RETRY, 0, "InternalError");
	expect_all(200, ERR("AuthFailure.SignatureFailure"), SZ_FAILED, 0,
	    "SignatureFailure");
	expect_all(200, ERR("AuthFailure.SignatureExpire"), SZ_RETRY, 0,
	    "SignatureExpire");
	expect_all(200, ERR("InvalidParameterValue.TemplateParameterFormatError"),
	    SZ_FAILED, 0, "TemplateParameterFormatError");
	expect_all(200, ERR("FailedOperation.TemplateIncorrectOrUnapproved"),
	    SZ_FAILED, 0, "TemplateIncorrectOrUnapproved");
	expect_all(200, ERR("SomethingNew.Entirely"), SZ_FAILED, 0,
	    "SomethingNew");
	/* A prefix is a family only up to a dot. */
	expect_all(200, ERR("InternalErrorX"), SZ_FAILED, 0, "InternalErrorX");
	expect_all(502, "<html>bad gateway</html>", SZ_RETRY, 7, "HTTP 502");
	expect_all(429, "", SZ_RETRY, 7, "HTTP 429");
	expect_all(403, "", SZ_FAILED, 0, "HTTP 403");
	expect_all(-1, NULL, SZ_RETRY, 0, "transport error 7");
	expect_all(200, "not json", SZ_RETRY, 0, "not JSON");
	expect_all(200, "{\"Response\":{}}", SZ_RETRY, 0, "neither");
}

/* An answer cut short by the timeout is no answer: retried, a 4xx too. */
static void
test_answer_cut_short(void **state)
{
	(void)state;
	expect_cut(200, "{\"Response\":{\"Error\":{\"Code\":\"RequestLim", 28,
	    SZ_RETRY, 0, "answer cut short, transport error 28");
	expect_cut(200, "{\"Response\":{\"SendStatusSet\":[{\"Seri", 28,
	    SZ_RETRY, 0, "answer cut short, transport error 28");
	expect_cut(400, "<html><body>Bad Req", 28, SZ_RETRY, 0,
	    "answer cut short, transport error 28");
}

static void
test_close_in_flight(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, phones3, names3, 3, "drill");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	assert_int_equal(fh->n_reqs, 3);	/* {ack_url}: one each */
	fh_answer(fh, 1, 200, NULL, OK3);
	/* teardown closes with two calls in flight: no leak (ASan). */
}

/* ---- callbacks ------------------------------------------------------ */

static int
inbound(struct fakehost *fh, const char *method, const char *body,
    struct sz_inbound_answer *out)
{
	struct fh_inbound fin;

	fh_inbound_init(&fin, method, NULL, body, NULL);
	memset(out, 0, sizeof(*out));
	return plugin->inbound(fh->state, fh_chan(fh), &fin.in, out);
}

static void
test_status_callback(void **state)
{
	struct fakehost *fh = *state;
	struct sz_inbound_answer out;

	assert_int_equal(inbound(fh, "POST", "[{\"user_receive_time\":"
	    "\"2015-10-17 08:03:04\",\"nationcode\":\"86\",\"mobile\":"
	    "\"13800000001\",\"report_status\":\"SUCCESS\",\"errmsg\":"
	    "\"DELIVRD\",\"description\":\"用户短信送达成功\",\"sid\":"
	    "\"2433:1\"},{\"user_receive_time\":\"2015-10-17 08:03:05\","
	    "\"nationcode\":\"86\",\"mobile\":\"13800000002\",\"report_status\":"
	    "\"FAIL\",\"errmsg\":\"MK:0001\",\"description\":\"空号\","
	    "\"sid\":\"2433:2\"}]", &out), 0);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.body, "{\"result\":0,\"errmsg\":\"OK\"}");
	assert_string_equal(out.content_type, "application/json");
	assert_int_equal(fh->n_receipts, 2);
	assert_string_equal(fh->receipts[0].id, "2433:1");
	assert_true(fh->receipts[0].by_provider);
	assert_int_equal(fh->receipts[0].state, SZ_RECEIPT_DELIVERED);
	assert_string_equal(fh->receipts[1].id, "2433:2");
	assert_int_equal(fh->receipts[1].state, SZ_RECEIPT_FAILED);
	assert_non_null(strstr(fh->receipts[1].why, "MK:0001"));
	/* An unknown delivery is still answered OK (else Tencent repeats). */
	fh->receipt_unknown = 1;
	assert_int_equal(inbound(fh, "POST", "{\"mobile\":\"13800000001\","
	    "\"report_status\":\"SUCCESS\",\"sid\":\"x\"}", &out), 0);
	assert_int_equal(out.status, 200);
	assert_true(fh_logs_contain(fh, "no such delivery"));
}

static void
test_reply_callback(void **state)
{
	struct fakehost *fh = *state;
	struct sz_inbound_answer out;

	assert_int_equal(inbound(fh, "POST", "{\"extend\":\"\",\"mobile\":"
	    "\"13800000001\",\"nationcode\":\"86\",\"sign\":\"南湖街道\","
	    "\"text\":\"收到\",\"time\":1457336869}", &out), 0);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.body, "{\"result\":0,\"errmsg\":\"OK\"}");
	assert_int_equal(out.text_back, 0);
	assert_int_equal(fh->n_replies, 1);
	assert_string_equal(fh->replies[0].phone, "13800000001");
	assert_string_equal(fh->replies[0].text, "收到");
	/* In an array of one; a foreign number is dropped, answered OK. */
	assert_int_equal(inbound(fh, "POST", "[{\"mobile\":\"+8613800000002\","
	    "\"text\":\"1\"}]", &out), 0);
	assert_int_equal(fh->n_replies, 2);
	assert_string_equal(fh->replies[1].phone, "13800000002");
	assert_int_equal(inbound(fh, "POST", "{\"mobile\":\"5551234567\","
	    "\"nationcode\":\"1\",\"text\":\"1\"}", &out), 0);
	assert_int_equal(out.status, 200);
	assert_int_equal(fh->n_replies, 2);
	/* Several in one array: each to the host. */
	assert_int_equal(inbound(fh, "POST", "[{\"mobile\":\"13800000003\","
	    "\"text\":\"1\"},{\"mobile\":\"13800000004\",\"text\":\"2\"}]",
	    &out), 0);
	assert_int_equal(out.status, 200);
	assert_int_equal(fh->n_replies, 4);
	assert_string_equal(fh->replies[3].phone, "13800000004");
	assert_string_equal(fh->replies[3].text, "2");
}

static void
expect_400(struct fakehost *fh, const char *method, const char *body,
    const char *why)
{
	struct sz_inbound_answer out;

	(void)inbound(fh, method, body, &out);
	if (out.status < 400)
		fail_msg("%s accepted", body);
	if (strstr(out.body, why) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", why, out.body);
	assert_non_null(strstr(out.body, "\"result\":1"));
}

static void
test_malformed_callbacks(void **state)
{
	struct fakehost *fh = *state;

	expect_400(fh, "GET", "", "POST");
	expect_400(fh, "POST", "", "no body");
	expect_400(fh, "POST", "[{\"sid\":\"1\"", "not JSON");
	expect_400(fh, "POST", "\"x\"", "neither a JSON array");
	expect_400(fh, "POST", "[]", "empty array");
	expect_400(fh, "POST", "[1]", "neither a status report");
	expect_400(fh, "POST", "{\"foo\":1}", "neither a status report");
	/* The first report is fine: nothing is taken all the same. */
	expect_400(fh, "POST", "[{\"mobile\":\"13800000001\",\"report_status\":"
	    "\"SUCCESS\",\"sid\":\"a\"},{\"mobile\":\"13800000001\","
	    "\"report_status\":\"MAYBE\",\"sid\":\"b\"}]", "SUCCESS nor FAIL");
	expect_400(fh, "POST", "[{\"mobile\":\"13800000001\",\"report_status\":"
	    "\"SUCCESS\"}]", "needs string sid");
	expect_400(fh, "POST", "[{\"mobile\":\"13800000001\",\"report_status\":"
	    "\"SUCCESS\",\"sid\":\"\"}]", "empty sid");
	expect_400(fh, "POST", "[{\"mobile\":13800000001,\"report_status\":"
	    "\"SUCCESS\",\"sid\":\"a\"}]", "needs string sid");
	expect_400(fh, "POST", "[{\"mobile\":\"13800000001\",\"report_status\":"
	    "\"SUCCESS\",\"sid\":\"a\"},{\"mobile\":\"13800000001\","
	    "\"text\":\"1\"}]", "mixed");
	expect_400(fh, "POST", "{\"mobile\":\"13800000001\",\"text\":5}",
	    "needs string mobile and text");
	expect_400(fh, "POST", "{\"mobile\":\"13800000001\",\"text\":\"1\","
	    "\"time\":\"soon\"}", "time is not a number");
	expect_400(fh, "POST", "[{\"mobile\":\"13800000001\",\"text\":\"1\"},"
	    "{\"mobile\":\"13800000002\",\"text\":5}]", "needs string");
	assert_int_equal(fh->n_receipts, 0);
	assert_int_equal(fh->n_replies, 0);
}

static int
group_setup(void **state)
{
	(void)state;
	plugin = fh_load_plugin(PLUGIN_BUILD_DIR "/sms_tencent.so", &dl);
	return plugin == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	fh_unload_plugin(dl);
	return 0;
}

#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tc3_published_example),
		cmocka_unit_test(test_tc3_refuses),
		cmocka_unit_test(test_plugin_shape),
		cmocka_unit_test(test_open_refuses),
		T(test_send_request),
		T(test_send_splits_by_params),
		T(test_send_drill_text_not_marked_twice),
		T(test_kept_back),
		cmocka_unit_test(test_per_number_answers),
		cmocka_unit_test(test_whole_call_answers),
		cmocka_unit_test(test_answer_cut_short),
		T(test_close_in_flight),
		T(test_status_callback),
		T(test_reply_callback),
		T(test_malformed_callbacks),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
