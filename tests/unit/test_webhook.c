/*
 * test_webhook.c - the webhook plugin, loaded from its real shared object
 * and driven through the fake host: the request it builds (URL, headers,
 * body, a signature checked here independently), and what it makes of
 * every kind of answer.
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
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fakehost.h"

#ifndef PLUGIN_BUILD_DIR
#error "PLUGIN_BUILD_DIR must name the directory holding webhook.so"
#endif

#define PHONE		"13800138000"
#define TEXT		"\xe3\x80\x90\xe9\x98\xb2\xe6\xb1\x9b\xe3\x80\x91 reply 1"
#define ACK_URL		"http://127.0.0.1:8787/a/tok123"
#define MSG_JSON	"{\"alert\": {\"id\": \"a-1\", \"kind\": \"flood\", " \
	"\"severity\": \"warning\", \"title\": \"\xe9\x98\xb2\xe6\xb1\x9b\", " \
	"\"body\": \"river rising\"}, \"recipient\": {\"name\": " \
	"\"\xe5\xbc\xa0\xe4\xb8\x89\", \"phone\": \"" PHONE "\", " \
	"\"posts\": [\"grid 3\"]}, \"text\": \"" TEXT "\", " \
	"\"ack_url\": \"" ACK_URL "\"}"
#define SECRET_B64	"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SECRET		"whsec_" SECRET_B64
#define DEFAULT_URL	"http://127.0.0.1:9/hook"

static const struct sz_plugin *plugin;
static void *dl;

static const struct sz_msg msg1 = {
	.id = "d-42",
	.phone = PHONE,
	.name = "\xe5\xbc\xa0\xe4\xb8\x89",
	.text = TEXT,
	.ack_url = ACK_URL,
	.target = NULL,
	.json = MSG_JSON,
};

/* ---- an independent signer, checked against the specification --------- */

/* "v1," + base64(HMAC-SHA256(key, id.ts.body)) into out (>= 48 bytes). */
static void
sign(const unsigned char *key, size_t keylen, const char *id, const char *ts,
    const char *body, char *out)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen;
	char content[8192];
	int n;

	n = snprintf(content, sizeof(content), "%s.%s.%s", id, ts, body);
	assert_true(n > 0 && (size_t)n < sizeof(content));
	assert_non_null(HMAC(EVP_sha256(), key, (int)keylen,
	    (unsigned char *)content, (size_t)n, mac, &maclen));
	assert_int_equal(maclen, 32);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
}

/* The key bytes a "whsec_" secret stands for. */
static size_t
whsec_key(const char *b64, unsigned char *key)
{
	int n = EVP_DecodeBlock(key, (const unsigned char *)b64,
	    (int)strlen(b64));

	assert_true(n > 0);
	/* Padding decodes as zero bytes. */
	for (const char *p = b64 + strlen(b64); p > b64 && p[-1] == '='; p--)
		n--;
	return (size_t)n;
}

/*
 * base64 of HMAC-SHA256 over data as openssl(1) computes it, keyopt being
 * "-hmac KEY" or "-mac HMAC -macopt hexkey:HEX"; false when there is no
 * openssl command.
 */
static bool
openssl_mac(const char *keyopt, const char *data, char *out, size_t outlen)
{
	char path[] = "/tmp/test_webhook.XXXXXX", cmd[512];
	FILE *f, *p;
	int fd;

	if (system("command -v openssl >/dev/null 2>&1") != 0)
		return false;
	assert_true((fd = mkstemp(path)) != -1);
	assert_non_null(f = fdopen(fd, "w"));
	fputs(data, f);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 %s -binary '%s' | "
	    "openssl base64 -A", keyopt, path);
	assert_non_null(p = popen(cmd, "r"));
	out[0] = '\0';
	assert_non_null(fgets(out, (int)outlen, p));
	assert_int_equal(pclose(p), 0);
	unlink(path);
	out[strcspn(out, "\n")] = '\0';
	return true;
}

/*
 * The test vector of the Standard Webhooks specification, from
 * standard-webhooks/standard-webhooks, libraries/javascript/src/
 * webhook.test.ts, test "sign function works" (the same vector is in the
 * other languages' tests): secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw,
 * id msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, payload
 * {"test": 2432232314}.
 */
static void
test_spec_vector(void **state)
{
	unsigned char key[64];
	size_t keylen = whsec_key(SECRET_B64, key);
	char sig[64];

	sign(key, keylen, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330",
	    "{\"test\": 2432232314}", sig);
	assert_string_equal(sig,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");

	/* The same with openssl(1), as a check on this test's signer. */
	char opt[160] = "-mac HMAC -macopt hexkey:", out[64];
	for (size_t i = 0; i < keylen; i++)
		snprintf(opt + strlen(opt), 3, "%02x", key[i]);
	if (!openssl_mac(opt, "msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330."
	    "{\"test\": 2432232314}", out, sizeof(out)))
		skip();
	assert_string_equal(out, "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

/* ---- helpers ------------------------------------------------------------ */

static int
setup(void **state)
{
	struct fakehost *fh = fh_new();

	fh_set_string(fh, "secret", SECRET);
	fh_set_string(fh, "url", DEFAULT_URL);
	*state = fh;
	return 0;
}

static int
teardown(void **state)
{
	fh_free(*state);
	return 0;
}

static void
open_ok(struct fakehost *fh)
{
	if (fh_open(fh, plugin) != 0)
		fail_msg("open: %s", fh_err(fh));
}

static void
send1(struct fakehost *fh, const struct sz_msg *m)
{
	const struct sz_msg *msgs[1] = { m };

	assert_int_equal(plugin->send(fh->state, fh_chan(fh), msgs, 1), 0);
}

/* The phone number appears in no log line and no outcome reason. */
static void
assert_no_phone(const struct fakehost *fh)
{
	assert_false(fh_logs_contain(fh, PHONE));
	for (size_t i = 0; i < fh->n_outcomes; i++)
		if (fh->outcomes[i].why != NULL)
			assert_null(strstr(fh->outcomes[i].why, PHONE));
}

/* Check request i's signature with key; returns its timestamp. */
static long long
check_signature(const struct fakehost *fh, size_t i, const unsigned char *key,
    size_t keylen)
{
	const struct fh_req *r = fh->reqs[i];
	const char *id = fh_req_header(r, "webhook-id");
	const char *ts = fh_req_header(r, "webhook-timestamp");
	const char *sig = fh_req_header(r, "webhook-signature");
	char want[64];

	assert_non_null(id);
	assert_non_null(ts);
	assert_non_null(sig);
	assert_int_equal(strspn(ts, "0123456789"), strlen(ts));
	sign(key, keylen, id, ts, r->body, want);
	assert_string_equal(sig, want);
	return strtoll(ts, NULL, 10);
}

/* ---- the request --------------------------------------------------------- */

static void
test_request(void **state)
{
	struct fakehost *fh = *state;
	unsigned char key[64];
	size_t keylen = whsec_key(SECRET_B64, key);
	json_t *body, *want;
	json_error_t jerr;
	const struct fh_req *r;
	long long ts;

	open_ok(fh);
	send1(fh, &msg1);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->n_outcomes, 0);
	r = fh->reqs[0];
	assert_string_equal(r->method, "POST");
	assert_string_equal(r->url, DEFAULT_URL);
	assert_int_equal(r->timeout_ms, 10000);
	assert_string_equal(fh_req_header(r, "Content-Type"),
	    "application/json");
	assert_string_equal(fh_req_header(r, "webhook-id"), "d-42");
	ts = check_signature(fh, 0, key, keylen);
	assert_true(llabs(ts - (long long)time(NULL)) <= 5);

	body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		fail_msg("body: %s", jerr.text);
	want = json_loads(MSG_JSON, 0, NULL);
	assert_int_equal(json_object_size(body), 5);
	assert_string_equal(json_string_value(json_object_get(body, "type")),
	    "sanzhang.alert");
	assert_true(json_equal(json_object_get(body, "alert"),
	    json_object_get(want, "alert")));
	assert_true(json_equal(json_object_get(body, "recipient"),
	    json_object_get(want, "recipient")));
	assert_string_equal(json_string_value(json_object_get(body, "text")),
	    msg1.text);
	assert_string_equal(json_string_value(json_object_get(body,
	    "ack_url")), msg1.ack_url);
	/* "type" leads, so a receiver can dispatch on the first key. */
	assert_int_equal(strncmp(r->body, "{\"type\":", 8), 0);
	json_decref(body);
	json_decref(want);

	fh_answer(fh, 0, 200, NULL, "ok");
	assert_int_equal(fh->n_outcomes, 1);
	assert_string_equal(fh->outcomes[0].msg_id, "d-42");
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
	assert_null(fh->outcomes[0].why);
	assert_no_phone(fh);
}

/* A raw secret is the key as is; cross-checked with openssl(1). */
static void
test_raw_secret_openssl(void **state)
{
	struct fakehost *fh = *state;
	const char *raw = "not-a-whsec-key-0123456789";
	const struct fh_req *r;
	char data[4096], opt[128], out[128];

	fh_set_string(fh, "secret", raw);
	open_ok(fh);
	send1(fh, &msg1);
	assert_int_equal(fh->n_reqs, 1);
	r = fh->reqs[0];
	check_signature(fh, 0, (const unsigned char *)raw, strlen(raw));

	snprintf(data, sizeof(data), "%s.%s.%s", fh_req_header(r,
	    "webhook-id"), fh_req_header(r, "webhook-timestamp"), r->body);
	snprintf(opt, sizeof(opt), "-hmac '%s'", raw);
	if (!openssl_mac(opt, data, out, sizeof(out)))
		skip();
	assert_int_equal(strncmp(fh_req_header(r, "webhook-signature"), "v1,",
	    3), 0);
	assert_string_equal(fh_req_header(r, "webhook-signature") + 3, out);
}

/*
 * Padding in a whsec_ secret is not part of the key.  HMAC pads short keys
 * with zero bytes anyway, so only a key longer than SHA-256's 64-byte
 * block (which is hashed first) tells a stray zero byte apart.
 */
static void
test_padded_secret(void **state)
{
	const char *b64[] = {
		"c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludA==",	/* 2 pads */
		"c2VjcmV0LW9mLWEtcm90YXRlZC1lbmRwb2ludC4=",	/* 1 pad */
		"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAx"
		    "MjM0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OQ==",	/* 70 bytes */
	};
	const char *raw[] = {
		"secret-of-a-rotated-endpoint",
		"secret-of-a-rotated-endpoint.",
		"0123456789012345678901234567890123456789"
		    "012345678901234567890123456789",
	};
	char secret[128];

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++) {
		struct fakehost *fh = fh_new();
		unsigned char key[128];

		assert_int_equal(whsec_key(b64[i], key), strlen(raw[i]));
		assert_memory_equal(key, raw[i], strlen(raw[i]));
		snprintf(secret, sizeof(secret), "whsec_%s", b64[i]);
		fh_set_string(fh, "secret", secret);
		fh_set_string(fh, "url", DEFAULT_URL);
		open_ok(fh);
		send1(fh, &msg1);
		check_signature(fh, 0, (const unsigned char *)raw[i],
		    strlen(raw[i]));
		fh_free(fh);
	}
}

static void
test_target_overrides_url(void **state)
{
	struct fakehost *fh = *state;
	struct sz_msg m = msg1;

	m.target = "https://receiver.example/own";
	fh_set_int(fh, "timeout_ms", 2500);
	open_ok(fh);
	send1(fh, &m);
	assert_int_equal(fh->n_reqs, 1);
	assert_string_equal(fh->reqs[0]->url, "https://receiver.example/own");
	assert_int_equal(fh->reqs[0]->timeout_ms, 2500);
	fh_answer(fh, 0, 204, NULL, NULL);
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
}

static void
test_no_url(void **state)
{
	struct fakehost *fh = fh_new();
	struct sz_msg m = msg1;

	fh_set_string(fh, "secret", SECRET);
	open_ok(fh);
	send1(fh, &m);
	assert_int_equal(fh->n_reqs, 0);
	assert_int_equal(fh->n_outcomes, 1);
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_string_equal(fh->outcomes[0].why, "no webhook URL");
	/* A target from the roster is enough on its own. */
	m.target = "http://127.0.0.1:9/t";
	send1(fh, &m);
	assert_int_equal(fh->n_reqs, 1);
	/* Only http(s): a roster target cannot reach other protocols. */
	m.target = "file:///etc/passwd";
	send1(fh, &m);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->outcomes[1].outcome, SZ_FAILED);
	assert_no_phone(fh);
	fh_free(fh);
}

static void
test_bad_message_json(void **state)
{
	struct fakehost *fh = *state;
	struct sz_msg m = msg1;

	open_ok(fh);
	m.json = "{not json";
	send1(fh, &m);
	assert_int_equal(fh->n_reqs, 0);
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_no_phone(fh);
}

static void
test_host_refuses(void **state)
{
	struct fakehost *fh = *state;

	open_ok(fh);
	fh->http_refuse = 1;
	send1(fh, &msg1);
	assert_int_equal(fh->n_outcomes, 1);
	assert_int_equal(fh->outcomes[0].outcome, SZ_RETRY);
}

/* ---- open() ---------------------------------------------------------------- */

static void
expect_open_error(const char *key, const char *value, const char *needle)
{
	struct fakehost *fh = fh_new();

	fh_set_string(fh, "secret", SECRET);
	if (key != NULL)
		fh_set_string(fh, key, value);
	assert_int_equal(fh_open(fh, plugin), -1);
	if (strstr(fh_err(fh), needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, fh_err(fh));
	/* The secret is never echoed. */
	assert_null(strstr(fh_err(fh), "MfKQ9r8G"));
	assert_null(strstr(fh_err(fh), "@@@@"));
	fh_free(fh);
}

static void
test_open(void **state)
{
	struct fakehost *fh = fh_new();

	assert_int_equal(plugin->max_batch, 1);
	assert_string_equal(plugin->name, "webhook");
	/* secret is required, and marked secret. */
	assert_int_equal(fh_open(fh, plugin), -1);
	assert_non_null(strstr(fh_err(fh), "secret"));
	for (const struct sz_setting *s = plugin->settings; s->key; s++)
		if (strcmp(s->key, "secret") == 0)
			assert_true(s->secret && s->required);
	fh_free(fh);

	expect_open_error("secret", "whsec_@@@@", "base64");
	expect_open_error("secret", "", "empty");
	expect_open_error("url", "ftp://example.org/x", "http");
	fh = fh_new();
	fh_set_string(fh, "secret", SECRET);
	fh_set_int(fh, "timeout_ms", 0);
	assert_int_equal(fh_open(fh, plugin), -1);
	fh_free(fh);
}

/* Only sanzhang_plugin is exported. */
static void
test_exports(void **state)
{
	assert_non_null(dlsym(dl, "sanzhang_plugin"));
	assert_null(dlsym(dl, "wh_send"));
	assert_null(dlsym(dl, "wh_done"));
	assert_null(dlsym(dl, "wh_settings"));
}

/* ---- answers ----------------------------------------------------------------- */

struct answer_case {
	long		 status;
	const char	*retry_after;	/* header value, or NULL */
	enum sz_outcome	 outcome;
	int		 retry;		/* expected retry_after */
	const char	*why;		/* expected, or NULL */
};

static void
answer_one(const struct answer_case *c)
{
	struct fakehost *fh = fh_new();
	char hdr[128];
	const char *hdrs[3] = { "Content-Type: text/plain", NULL, NULL };
	const struct fh_outcome *o;

	fh_set_string(fh, "secret", SECRET);
	fh_set_string(fh, "url", DEFAULT_URL);
	open_ok(fh);
	send1(fh, &msg1);
	if (c->retry_after != NULL) {
		snprintf(hdr, sizeof(hdr), "retry-after: %s", c->retry_after);
		hdrs[1] = hdr;
	}
	fh_answer(fh, 0, c->status, hdrs, "{\"error\": \"x\"}");
	assert_int_equal(fh->n_outcomes, 1);
	o = &fh->outcomes[0];
	if (o->outcome != c->outcome || o->retry_after < c->retry - 2 ||
	    o->retry_after > c->retry)
		fail_msg("HTTP %ld, Retry-After %s: outcome %d retry %d, want "
		    "%d retry %d", c->status, c->retry_after ? c->retry_after :
		    "-", o->outcome, o->retry_after, c->outcome, c->retry);
	if (c->why != NULL)
		assert_string_equal(o->why, c->why);
	assert_no_phone(fh);
	fh_free(fh);
}

enum date_form { IMF, RFC850, ASCTIME };

/* An HTTP-date delta seconds from now (strftime in the C locale). */
static void
http_date(char *buf, size_t len, enum date_form form, long delta)
{
	time_t t = time(NULL) + delta;
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (form) {
	case IMF:
		strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		break;
	case RFC850:
		/* Two-digit year, by hand: gcc rightly frowns on %y. */
		strftime(buf, len, "%A, %d-%b-", &tm);
		snprintf(buf + strlen(buf), len - strlen(buf), "%02d",
		    tm.tm_year % 100);
		strftime(buf + strlen(buf), len - strlen(buf),
		    " %H:%M:%S GMT", &tm);
		break;
	case ASCTIME:
		strftime(buf, len, "%a %b %e %H:%M:%S %Y", &tm);
		break;
	}
}

static void
test_answers(void **state)
{
	char imf[64], rfc850[64], asc[64], past[64], far[64];

	http_date(imf, sizeof(imf), IMF, 300);
	http_date(rfc850, sizeof(rfc850), RFC850, 200);
	http_date(asc, sizeof(asc), ASCTIME, 100);
	http_date(past, sizeof(past), IMF, -600);
	http_date(far, sizeof(far), IMF, 86400);

	const struct answer_case cases[] = {
		{ 200, NULL, SZ_ACCEPTED, 0, NULL },
		{ 201, NULL, SZ_ACCEPTED, 0, NULL },
		{ 204, NULL, SZ_ACCEPTED, 0, NULL },
		{ 299, NULL, SZ_ACCEPTED, 0, NULL },
		{ 410, NULL, SZ_GONE, 0, "HTTP 410" },
		{ 400, NULL, SZ_FAILED, 0, "HTTP 400" },
		{ 401, NULL, SZ_FAILED, 0, "HTTP 401" },
		{ 404, NULL, SZ_FAILED, 0, "HTTP 404" },
		{ 413, "30", SZ_FAILED, 0, "HTTP 413" },
		{ 301, NULL, SZ_FAILED, 0, "HTTP 301" },
		{ 408, NULL, SZ_RETRY, 0, "HTTP 408" },
		{ 429, "120", SZ_RETRY, 120, "HTTP 429" },
		{ 500, NULL, SZ_RETRY, 0, "HTTP 500" },
		{ 502, "0", SZ_RETRY, 0, "HTTP 502" },
		{ 503, " 7 ", SZ_RETRY, 7, NULL },
		{ 503, "3600", SZ_RETRY, 3600, NULL },
		{ 503, "99999999999999999999", SZ_RETRY, 3600, NULL },
		{ 503, "-5", SZ_RETRY, 0, NULL },
		{ 503, "soon", SZ_RETRY, 0, NULL },
		{ 503, "", SZ_RETRY, 0, NULL },
		{ 504, imf, SZ_RETRY, 300, "HTTP 504" },
		{ 503, rfc850, SZ_RETRY, 200, NULL },
		{ 503, asc, SZ_RETRY, 100, NULL },
		{ 503, past, SZ_RETRY, 0, NULL },
		{ 503, far, SZ_RETRY, 3600, NULL },
		{ 503, "Sun, 06 Nov 1994 08:49:37 GMT", SZ_RETRY, 0, NULL },
		{ 503, "Sun, 06 Foo 2094 08:49:37 GMT", SZ_RETRY, 0, NULL },
		{ 599, "12", SZ_RETRY, 12, "HTTP 599" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		answer_one(&cases[i]);
}

static void
test_transport_error(void **state)
{
	struct fakehost *fh = *state;

	open_ok(fh);
	send1(fh, &msg1);
	fh_answer_error(fh, 0, 7, "Couldn't connect to server");
	assert_int_equal(fh->n_outcomes, 1);
	assert_int_equal(fh->outcomes[0].outcome, SZ_RETRY);
	assert_int_equal(fh->outcomes[0].retry_after, 0);
	assert_non_null(strstr(fh->outcomes[0].why, "Couldn't connect"));
	assert_no_phone(fh);
}

/* Retries keep the webhook-id, so a receiver can drop duplicates. */
static void
test_retry_same_id(void **state)
{
	struct fakehost *fh = *state;

	open_ok(fh);
	send1(fh, &msg1);
	fh_answer(fh, 0, 503, NULL, NULL);
	send1(fh, &msg1);
	assert_int_equal(fh->n_reqs, 2);
	assert_string_equal(fh_req_header(fh->reqs[1], "webhook-id"), "d-42");
	fh_answer(fh, 1, 200, NULL, NULL);
	assert_int_equal(fh->outcomes[1].outcome, SZ_ACCEPTED);
}

/* Requests never answered are freed by close() (ASan / valgrind check). */
static void
test_close_in_flight(void **state)
{
	struct fakehost *fh = *state;
	struct sz_msg m = msg1;

	open_ok(fh);
	for (int i = 0; i < 5; i++)
		send1(fh, &m);
	fh_answer(fh, 2, 200, NULL, NULL);
	assert_int_equal(fh->n_reqs, 5);
	assert_int_equal(fh->n_outcomes, 1);
}

static int
group_setup(void **state)
{
	plugin = fh_load_plugin(PLUGIN_BUILD_DIR "/webhook.so", &dl);
	return plugin == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	fh_unload_plugin(dl);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_vector),
		cmocka_unit_test(test_open),
		cmocka_unit_test(test_exports),
		cmocka_unit_test_setup_teardown(test_request, setup, teardown),
		cmocka_unit_test_setup_teardown(test_raw_secret_openssl, setup,
		    teardown),
		cmocka_unit_test(test_padded_secret),
		cmocka_unit_test_setup_teardown(test_target_overrides_url, setup,
		    teardown),
		cmocka_unit_test(test_no_url),
		cmocka_unit_test_setup_teardown(test_bad_message_json, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_host_refuses, setup,
		    teardown),
		cmocka_unit_test(test_answers),
		cmocka_unit_test_setup_teardown(test_transport_error, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_same_id, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_in_flight, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
