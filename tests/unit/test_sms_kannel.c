/*
 * test_sms_kannel.c - the sms_kannel plugin, loaded from its real shared
 * object and driven through the fake host: the sendsms URL it builds
 * (decoded back and compared), what each Kannel answer becomes, delivery
 * reports and replies as Kannel 1.4.5 sends them, and what it refuses.
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

#include "fakehost.h"

#ifndef PLUGIN_BUILD_DIR
#error "PLUGIN_BUILD_DIR must name the directory holding sms_kannel.so"
#endif

#define SENDSMS	"http://127.0.0.1:13013/cgi-bin/sendsms"
#define USER	"sanzhang"
#define PASS	"s&cret pw"		/* needs escaping, must never show */
#define FROM	"10690001"
#define DRILL	"【演练】11月30日10:00开展消防疏散演练，收到请回复 1 & +"
#define SHOUDAO	"收到"

static const struct sz_plugin *plugin;
static void *dl;

static const char *const phones3[] = {
	"13800000001", "13800000002", "13900000003",
};

/* ---- helpers ------------------------------------------------------- */

/* Percent-encode all but unreserved characters, as RFC 3986 says. */
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

/* Decode a query component ('+' is a blank) into a new string. */
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
		} else
			*p++ = s[i] == '+' ? ' ' : s[i];
	}
	*p = '\0';
	return o;
}

/* The decoded value of key in url's query, or NULL. */
static char *
query_get(const char *url, const char *key)
{
	const char *q = strchr(url, '?'), *end;
	size_t klen = strlen(key);

	for (q = q == NULL ? NULL : q + 1; q != NULL && *q != '\0';
	    q = *end == '&' ? end + 1 : NULL) {
		end = q + strcspn(q, "&");
		if (strncmp(q, key, klen) == 0 && q[klen] == '=')
			return unpct(q + klen + 1, (size_t)(end - q - klen - 1));
	}
	return NULL;
}

/* What Kannel does to a dlr-url before calling it: %d, %p, %% expanded. */
static char *
kannel_expand(const char *pattern, int type, const char *phone)
{
	char *o = malloc(strlen(pattern) + 64), *p = o;

	assert_non_null(o);
	for (; *pattern != '\0'; pattern++) {
		if (pattern[0] != '%' || pattern[1] == '\0') {
			*p++ = *pattern;
			continue;
		}
		pattern++;
		if (*pattern == 'd')
			p += sprintf(p, "%d", type);
		else if (*pattern == 'p')
			p += sprintf(p, "%s", phone);	/* digits: no escaping */
		else if (*pattern == '%')
			*p++ = '%';
		else
			fail_msg("dlr-url has Kannel escape %%%c", *pattern);
	}
	*p = '\0';
	return o;
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
	}
}

static struct fakehost *
fh_kannel(void)
{
	struct fakehost *fh = fh_new();

	fh_set_string(fh, "url", SENDSMS);
	fh_set_string(fh, "username", USER);
	fh_set_string(fh, "password", PASS);
	fh_set_string(fh, "from", FROM);
	return fh;
}

static int
setup(void **state)
{
	struct fakehost *fh = fh_kannel();

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

/* Messages d-100.. to phones[], one text. */
struct batch {
	struct sz_msg		 m[8];
	const struct sz_msg	*p[8];
	char			 ids[8][16];
};

static void
batch_init(struct batch *b, const char *const *phones, size_t n,
    const char *text)
{
	memset(b, 0, sizeof(*b));
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		snprintf(b->ids[i], sizeof(b->ids[i]), "d-%zu", 100 + i);
		b->m[i].id = b->ids[i];
		b->m[i].phone = phones[i];
		b->m[i].name = "name";
		b->m[i].text = text;
		b->p[i] = &b->m[i];
	}
}

/* Send phones3 with text; the one request it makes. */
static struct fh_req *
send3(struct fakehost *fh, struct batch *b, const char *text)
{
	batch_init(b, phones3, 3, text);
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b->p, 3), 0);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->n_outcomes, 0);
	return fh->reqs[0];
}

static void
inbound(struct fakehost *fh, const char *method, const char *query,
    struct sz_inbound_answer *out)
{
	struct fh_inbound fin;

	fh_inbound_init(&fin, method, query, NULL, NULL);
	memset(out, 0, sizeof(*out));
	(void)plugin->inbound(fh->state, fh_chan(fh), &fin.in, out);
}

/* ---- the plugin and its settings ----------------------------------- */

static void
test_plugin_shape(void **state)
{
	const struct sz_setting *s;
	int secret = 0;

	(void)state;
	assert_string_equal(plugin->name, "sms_kannel");
	assert_int_equal(plugin->max_batch, 100);
	assert_non_null(plugin->inbound);
	assert_non_null(plugin->close);
	for (s = plugin->settings; s->key != NULL; s++)
		if (strcmp(s->key, "password") == 0)
			secret = s->secret && s->required;
	assert_true(secret);
	/* The one exported symbol: the plugin's own functions are hidden. */
	assert_null(dlsym(dl, "kannel_send"));
	assert_null(dlsym(dl, "kannel_inbound"));
	assert_null(dlsym(dl, "kbuf_add"));
	assert_null(dlsym(dl, "kannel_phone_norm"));
}

/* open() itself, without the host's checks before it. */
static int
open_direct(struct fakehost *fh, char *err, size_t errlen)
{
	void *st = NULL;
	int rc;

	fh->plugin = plugin;
	rc = plugin->open(&fh->host, fh_chan(fh), &st, err, errlen);
	if (rc == 0)
		plugin->close(st);
	return rc;
}

static void
expect_open_error(struct fakehost *fh, const char *needle)
{
	char err[256] = "";

	assert_int_equal(open_direct(fh, err, sizeof(err)), -1);
	if (strstr(err, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, err);
	assert_null(strstr(err, PASS));
	assert_null(strstr(err, "s%26cret"));
	fh_free(fh);
}

static const char *
no_inbound_url(struct sz_chan *chan)
{
	(void)chan;
	return NULL;
}

static void
test_open_refuses(void **state)
{
	static const char *const req[] = { "url", "username", "password",
	    "from" };
	struct fakehost *fh;
	char err[256];

	(void)state;
	/* Each required key missing, then empty. */
	for (size_t i = 0; i < 4; i++) {
		char want[64];

		snprintf(want, sizeof(want), "setting \"%s\" is required",
		    req[i]);
		fh = fh_kannel();
		fh_set_string(fh, req[i], "");
		expect_open_error(fh, want);
		fh = fh_new();
		for (size_t j = 0; j < 4; j++)
			if (j != i)
				fh_set_string(fh, req[j], j == 0 ? SENDSMS :
				    "x");
		expect_open_error(fh, want);
	}
	fh = fh_kannel();
	fh_set_string(fh, "url", "ftp://127.0.0.1/sendsms");
	expect_open_error(fh, "\"url\" must be an http:// or https:// URL");
	fh = fh_kannel();
	fh_set_int(fh, "dlr_mask", 99);
	expect_open_error(fh, "\"dlr_mask\" must be 0 to 63");
	fh = fh_kannel();
	fh_set_int(fh, "timeout_ms", -1);
	expect_open_error(fh, "\"timeout_ms\" must be 0 to 600000");
	fh = fh_kannel();
	fh->host.inbound_url = no_inbound_url;
	expect_open_error(fh, "set dlr_mask = 0");

	/* Through the host's own checks, which name the key too. */
	fh = fh_new();
	fh_set_string(fh, "url", SENDSMS);
	assert_int_equal(fh_open(fh, plugin), -1);
	assert_non_null(strstr(fh_err(fh), "username"));
	fh_free(fh);

	/* All there: fine. */
	fh = fh_kannel();
	fh_set_string(fh, "smsc", "fake");
	assert_int_equal(open_direct(fh, err, sizeof(err)), 0);
	fh_free(fh);
}

/* ---- sendsms ------------------------------------------------------- */

static void
test_send_url(void **state)
{
	struct fakehost *fh = *state;
	struct fh_req *r;
	struct batch b;
	char *text, *want, *v;
	const char *dlr = FH_INBOUND_URL "?t=%d&p=%p&b=d-100";
	char *dlr_pct = pct(dlr);
	size_t len;

	r = send3(fh, &b, DRILL);
	assert_string_equal(r->method, "GET");
	assert_int_equal(r->timeout_ms, 10000);
	assert_int_equal(r->body_len, 0);

	/* The exact URL, every value escaped. */
	text = pct(DRILL);
	len = strlen(SENDSMS) + strlen(text) + strlen(dlr_pct) + 512;
	want = malloc(len);
	assert_non_null(want);
	snprintf(want, len, SENDSMS "?username=" USER
	    "&password=s%%26cret%%20pw&from=" FROM
	    "&to=13800000001%%2013800000002%%2013900000003&text=%s"
	    "&coding=2&charset=UTF-8&dlr-mask=31&dlr-url=%s", text, dlr_pct);
	assert_string_equal(r->url, want);
	assert_non_null(strstr(r->url, "&text=%E3%80%90%E6%BC%94%E7%BB%83"
	    "%E3%80%91"));	/* 【演练】 */

	/* Decoded back, as Kannel's CGI parser sees it. */
	v = query_get(r->url, "text");
	assert_string_equal(v, DRILL);
	free(v);
	v = query_get(r->url, "to");
	assert_string_equal(v, "13800000001 13800000002 13900000003");
	free(v);
	v = query_get(r->url, "password");
	assert_string_equal(v, PASS);
	free(v);
	v = query_get(r->url, "dlr-url");
	assert_string_equal(v, dlr);
	free(v);
	free(want);
	free(text);
	free(dlr_pct);

	fh_answer(fh, 0, 202, NULL, "0: Accepted for delivery");
	assert_int_equal(fh->n_outcomes, 3);
	for (size_t i = 0; i < 3; i++) {
		char pid[32];

		/* The batch (the first id) and the number. */
		snprintf(pid, sizeof(pid), "d-100:%s", phones3[i]);
		assert_string_equal(fh->outcomes[i].msg_id, b.ids[i]);
		assert_int_equal(fh->outcomes[i].outcome, SZ_ACCEPTED);
		assert_string_equal(fh->outcomes[i].provider_id, pid);
		assert_null(fh->outcomes[i].why);
	}
	for (size_t i = 0; i < fh->n_logs; i++)
		assert_null(strstr(fh->logs[i].line, "cret"));
}

/* One answer to a fresh batch of three: each outcome the same. */
static void
expect_answer(long status, const char *const *hdrs, const char *body,
    int transport, enum sz_outcome want, int after, const char *why)
{
	struct fakehost *fh = fh_kannel();
	struct batch b;

	if (fh_open(fh, plugin) != 0)
		fail_msg("open: %s", fh_err(fh));
	(void)send3(fh, &b, "hello");
	if (transport)
		fh_answer_error(fh, 0, transport, body);
	else
		fh_answer(fh, 0, status, hdrs, body);
	assert_int_equal(fh->n_outcomes, 3);
	for (size_t i = 0; i < 3; i++) {
		const struct fh_outcome *o = &fh->outcomes[i];

		assert_string_equal(o->msg_id, b.ids[i]);
		if (o->outcome != want)
			fail_msg("HTTP %ld: outcome %d, want %d", status,
			    (int)o->outcome, (int)want);
		assert_int_equal(o->retry_after, after);
		if (want == SZ_ACCEPTED) {
			assert_non_null(o->provider_id);
			assert_null(o->why);
			continue;
		}
		assert_null(o->provider_id);
		assert_non_null(o->why);
		if (strstr(o->why, why) == NULL)
			fail_msg("why \"%s\" lacks \"%s\"", o->why, why);
	}
	assert_no_numbers(fh);
	fh_free(fh);
}

static void
test_answers(void **state)
{
	static const char *const ra[] = { "Retry-After: 30", NULL };

	(void)state;
	expect_answer(202, NULL, "0: Accepted for delivery", 0, SZ_ACCEPTED,
	    0, NULL);
	expect_answer(202, NULL, "3: Queued for later delivery", 0,
	    SZ_ACCEPTED, 0, NULL);
	expect_answer(403, NULL, "Authorization failed for sendsms", 0,
	    SZ_FAILED, 0, "HTTP 403: Authorization failed for sendsms");
	expect_answer(400, NULL, "Sender missing and no global set, rejected",
	    0, SZ_FAILED, 0, "HTTP 400: Sender missing");
	expect_answer(404, NULL, "", 0, SZ_FAILED, 0, "HTTP 404");
	expect_answer(503, ra, "Service Unavailable", 0, SZ_RETRY, 30,
	    "HTTP 503");
	expect_answer(500, NULL, "Sending failed.", 0, SZ_RETRY, 0,
	    "HTTP 500: Sending failed.");
	expect_answer(408, NULL, "", 0, SZ_RETRY, 0, "HTTP 408");
	expect_answer(429, ra, "", 0, SZ_RETRY, 30, "HTTP 429");
	expect_answer(0, NULL, "Failed to connect to 127.0.0.1 port 13013: "
	    "Connection refused", 7, SZ_RETRY, 0, "Connection refused");
	expect_answer(0, NULL, "Operation timed out after 10000 "
	    "milliseconds", 28, SZ_RETRY, 0, "timed out");
	/* Kannel's answer quoting numbers: masked in the why. */
	expect_answer(400, NULL, "Number(s) 13800000001 has/have been denied",
	    0, SZ_FAILED, 0, "138****0001");
}

/* 202 with some numbers denied; 500 with some refused by bearerbox. */
static void
test_partial_answers(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	(void)send3(fh, &b, "hello");
	fh_answer(fh, 0, 202, NULL, "0: Accepted for delivery Denied "
	    "receivers are: 13800000002");
	assert_int_equal(fh->n_outcomes, 3);
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
	assert_int_equal(fh->outcomes[1].outcome, SZ_FAILED);
	assert_non_null(strstr(fh->outcomes[1].why, "denied"));
	assert_int_equal(fh->outcomes[2].outcome, SZ_ACCEPTED);

	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	fh_answer(fh, 1, 500, NULL, "Sending failed. Failed receivers are: "
	    "13800000001 13900000003");
	assert_int_equal(fh->n_outcomes, 6);
	assert_int_equal(fh->outcomes[3].outcome, SZ_RETRY);
	assert_int_equal(fh->outcomes[4].outcome, SZ_ACCEPTED);
	assert_string_equal(fh->outcomes[4].provider_id, "d-100:13800000002");
	assert_int_equal(fh->outcomes[5].outcome, SZ_RETRY);

	/* The same answer cut short by the timeout: every number again. */
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	fh_answer_cut(fh, 2, 500, "Sending failed. Failed receivers are: "
	    "1380000", 28, "Operation timed out after 2000 milliseconds");
	assert_int_equal(fh->n_outcomes, 9);
	for (size_t i = 6; i < 9; i++)
		assert_int_equal(fh->outcomes[i].outcome, SZ_RETRY);
	/* A refusal cut short is not a refusal yet. */
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), 0);
	fh_answer_cut(fh, 3, 403, "Authorization fa", 28,
	    "Operation timed out after 2000 milliseconds");
	assert_int_equal(fh->n_outcomes, 12);
	for (size_t i = 9; i < 12; i++)
		assert_int_equal(fh->outcomes[i].outcome, SZ_RETRY);
}

/* Bad numbers, a number twice, another text: kept back, told at once. */
static void
test_kept_back(void **state)
{
	static const char *const ph[] = { "13800000001", "12345",
	    "+86 138-0000-0002", "13800000001", "8613900000003",
	    "13900000004" };
	struct fakehost *fh = *state;
	struct batch b;
	char *to;

	batch_init(&b, ph, 6, "hello");
	b.m[5].text = "other";
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 6), 0);
	assert_int_equal(fh->n_reqs, 1);
	to = query_get(fh->reqs[0]->url, "to");
	assert_string_equal(to, "13800000001 13900000003");
	free(to);
	assert_int_equal(fh->n_outcomes, 4);
	assert_string_equal(fh->outcomes[0].msg_id, "d-101");
	assert_int_equal(fh->outcomes[0].outcome, SZ_FAILED);
	assert_string_equal(fh->outcomes[1].msg_id, "d-102");
	assert_int_equal(fh->outcomes[1].outcome, SZ_FAILED);
	assert_string_equal(fh->outcomes[2].msg_id, "d-103");
	assert_int_equal(fh->outcomes[2].outcome, SZ_RETRY);
	assert_string_equal(fh->outcomes[3].msg_id, "d-105");
	assert_int_equal(fh->outcomes[3].outcome, SZ_RETRY);
	fh_answer(fh, 0, 202, NULL, "0: Accepted for delivery");
	assert_int_equal(fh->n_outcomes, 6);
	assert_string_equal(fh->outcomes[5].provider_id, "d-100:13900000003");

	/* Nothing left to send: no request at all. */
	batch_init(&b, ph + 1, 1, "hello");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1), 0);
	assert_int_equal(fh->n_reqs, 1);
	assert_int_equal(fh->outcomes[6].outcome, SZ_FAILED);
}

/* The host refuses the request: -1 and no outcome (it retries them). */
static void
test_http_refused(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, phones3, 3, "hello");
	fh->http_refuse = 1;
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3), -1);
	assert_int_equal(fh->n_outcomes, 0);
	fh->http_refuse = 0;
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 0), -1);
	assert_int_equal(fh->n_reqs, 0);
}

/* Requests never answered are freed by close() (ASan, valgrind). */
static void
test_close_in_flight(void **state)
{
	struct fakehost *fh = *state;
	struct batch b;

	batch_init(&b, phones3, 3, "hello");
	for (int i = 0; i < 3; i++)
		assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 3),
		    0);
	fh_answer(fh, 1, 202, NULL, "0: Accepted for delivery");
	assert_int_equal(fh->n_outcomes, 3);
}

static void
test_options(void **state)
{
	struct fakehost *fh = fh_kannel();
	struct batch b;
	char *v;

	(void)state;
	fh_set_string(fh, "url", SENDSMS "?x=1");
	fh_set_string(fh, "smsc", "fake");
	fh_set_int(fh, "dlr_mask", 0);
	fh_set_int(fh, "timeout_ms", 2500);
	assert_int_equal(fh_open(fh, plugin), 0);
	batch_init(&b, phones3, 1, "hi");
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1), 0);
	assert_non_null(strstr(fh->reqs[0]->url, SENDSMS "?x=1&username="));
	v = query_get(fh->reqs[0]->url, "smsc");
	assert_string_equal(v, "fake");
	free(v);
	assert_null(strstr(fh->reqs[0]->url, "dlr-"));
	assert_int_equal(fh->reqs[0]->timeout_ms, 2500);
	fh_free(fh);
}

/*
 * A batch id needing escapes survives the trip: escaped into the dlr-url,
 * decoded by sendsms, expanded by Kannel (%A, %C, %d ... are its own
 * escapes, "%%" is a '%'), and parsed back by inbound().
 */
static void
test_dlr_roundtrip(void **state)
{
	static const char *const ids[] = { "d-100", "a%b c/\xc3\x84:&=+%Ad" };
	struct fakehost *fh = *state;
	struct sz_inbound_answer out;
	struct batch b;
	char *dlr, *called, pid[64];

	for (size_t i = 0; i < 2; i++) {
		batch_init(&b, phones3 + 1, 1, "hi");
		b.m[0].id = ids[i];
		assert_int_equal(plugin->send(fh->state, fh_chan(fh), b.p, 1),
		    0);
		dlr = query_get(fh->reqs[i]->url, "dlr-url");
		called = kannel_expand(dlr, 1, "13800000002");
		assert_int_equal(strncmp(called, FH_INBOUND_URL "?", strlen(
		    FH_INBOUND_URL) + 1), 0);
		inbound(fh, "GET", strchr(called, '?') + 1, &out);
		assert_int_equal(out.status, 200);
		assert_int_equal(fh->n_receipts, i + 1);
		snprintf(pid, sizeof(pid), "%s:13800000002", ids[i]);
		assert_string_equal(fh->receipts[i].id, pid);
		fh_answer(fh, i, 202, NULL, "0: Accepted for delivery");
		assert_string_equal(fh->outcomes[i].provider_id, pid);
		free(dlr);
		free(called);
	}
}

/* ---- inbound ------------------------------------------------------- */

static void
expect_receipt(struct fakehost *fh, const char *query, enum sz_receipt st,
    const char *id)
{
	struct sz_inbound_answer out;
	size_t n = fh->n_receipts;

	inbound(fh, "GET", query, &out);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.body, "ok");
	assert_int_equal(fh->n_receipts, n + 1);
	assert_string_equal(fh->receipts[n].id, id);
	assert_true(fh->receipts[n].by_provider);
	assert_int_equal(fh->receipts[n].state, st);
	assert_non_null(fh->receipts[n].why);
}

static void
test_receipts(void **state)
{
	struct fakehost *fh = *state;
	struct sz_inbound_answer out;

	expect_receipt(fh, "t=8&p=13800000001&b=d-100", SZ_RECEIPT_ACCEPTED,
	    "d-100:13800000001");
	expect_receipt(fh, "t=1&p=13800000001&b=d-100", SZ_RECEIPT_DELIVERED,
	    "d-100:13800000001");
	expect_receipt(fh, "t=2&p=13800000002&b=d-100", SZ_RECEIPT_FAILED,
	    "d-100:13800000002");
	expect_receipt(fh, "b=d-7&t=16&p=13900000003", SZ_RECEIPT_FAILED,
	    "d-7:13900000003");
	/* Country prefixes go. */
	expect_receipt(fh, "t=1&p=%2B8613800000001&b=d-100",
	    SZ_RECEIPT_DELIVERED, "d-100:13800000001");
	expect_receipt(fh, "t=1&p=8613800000001&b=d-100",
	    SZ_RECEIPT_DELIVERED, "d-100:13800000001");
	expect_receipt(fh, "t=1&p=008613800000001&b=d-100&extra=1",
	    SZ_RECEIPT_DELIVERED, "d-100:13800000001");
	/* 4, buffered: answered, nothing recorded. */
	inbound(fh, "GET", "t=4&p=13800000001&b=d-100", &out);
	assert_int_equal(out.status, 200);
	assert_int_equal(fh->n_receipts, 7);
	/* A delivery the host does not know: still 200 for Kannel. */
	fh->receipt_unknown = 1;
	inbound(fh, "GET", "t=1&p=13800000001&b=gone", &out);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.body, "unknown delivery");
	assert_int_equal(fh->n_receipts, 8);
}

static void
expect_reply(struct fakehost *fh, const char *query, const char *phone,
    const char *text)
{
	struct sz_inbound_answer out;
	size_t n = fh->n_replies;

	inbound(fh, "GET", query, &out);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.body, "");	/* nothing goes back */
	assert_int_equal(fh->n_replies, n + 1);
	assert_string_equal(fh->replies[n].phone, phone);
	assert_string_equal(fh->replies[n].text, text);
}

static void
test_replies(void **state)
{
	struct fakehost *fh = *state;
	struct sz_inbound_answer out;

	/* As smsbox 1.4.5 with mo-recode sends them. */
	expect_reply(fh, "from=13800000042&to=10690001&text=%E6%94%B6%E5%88"
	    "%B0+A%26B%2BC", "13800000042", SHOUDAO " A&B+C");
	expect_reply(fh, "from=13800000041&to=10690001&text=1", "13800000041",
	    "1");
	expect_reply(fh, "from=%2B8613800000041&text=", "13800000041", "");
	expect_reply(fh, "text=1&from=8613800000041", "13800000041", "1");
	/* UTF-16BE (no mo-recode): named, or told by its NUL bytes. */
	expect_reply(fh, "from=13800000041&text=%65%36%52%30&charset=UTF-16BE",
	    "13800000041", SHOUDAO);
	expect_reply(fh, "from=13800000041&text=%00%31", "13800000041", "1");
	expect_reply(fh, "from=13800000041&text=%D8%3D%DE%00&charset=UCS-2",
	    "13800000041", "\xf0\x9f\x98\x80");
	/* Bytes that are not UTF-8 become U+FFFD. */
	expect_reply(fh, "from=13800000041&text=a%FFb%C3", "13800000041",
	    "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	/* A sender that is no mobile: 200, empty, dropped. */
	inbound(fh, "GET", "from=10086&text=hi", &out);
	assert_int_equal(out.status, 200);
	assert_string_equal(out.body, "");
	assert_int_equal(fh->n_replies, 8);
	assert_false(fh_logs_contain(fh, "13800000042"));
	assert_true(fh_logs_contain(fh, "138****0042"));
}

static void
expect_400(struct fakehost *fh, const char *method, const char *query)
{
	struct sz_inbound_answer out;

	inbound(fh, method, query, &out);
	if (out.status != 400)
		fail_msg("%s ?%s: status %d", method, query ? query : "(null)",
		    out.status);
	assert_true(out.body[0] != '\0');
}

static void
test_malformed(void **state)
{
	struct fakehost *fh = *state;

	expect_400(fh, "POST", "t=1&p=13800000001&b=d-1");
	expect_400(fh, "GET", NULL);
	expect_400(fh, "GET", "");
	expect_400(fh, "GET", "foo=bar");
	expect_400(fh, "GET", "from=13800000001");
	expect_400(fh, "GET", "text=1");
	expect_400(fh, "GET", "t=1&p=13800000001");
	expect_400(fh, "GET", "t=1&b=d-1");
	expect_400(fh, "GET", "t=1&p=13800000001&b=");
	expect_400(fh, "GET", "t=x&p=13800000001&b=d-1");
	expect_400(fh, "GET", "t=1x&p=13800000001&b=d-1");
	expect_400(fh, "GET", "t=&p=13800000001&b=d-1");
	expect_400(fh, "GET", "t=32&p=13800000001&b=d-1");
	expect_400(fh, "GET", "t=-1&p=13800000001&b=d-1");
	expect_400(fh, "GET", "t=1&p=1380000&b=d-1");
	expect_400(fh, "GET", "t=1&p=abc&b=d-1");
	expect_400(fh, "GET", "t=1&p=13800000001&b=d-1&t=2");
	expect_400(fh, "GET", "t=%G1&p=13800000001&b=d-1");
	expect_400(fh, "GET", "t=1&p=13800000001&b=d-1%");
	expect_400(fh, "GET", "t=1&p=13800000001&b=d-1%4");
	expect_400(fh, "GET", "t=1&p=1380000000%001&b=d-1");
	expect_400(fh, "GET", "from=138%000000001&text=1");
	assert_int_equal(fh->n_receipts, 0);
	assert_int_equal(fh->n_replies, 0);
}

static int
group_setup(void **state)
{
	(void)state;
	plugin = fh_load_plugin(PLUGIN_BUILD_DIR "/sms_kannel.so", &dl);
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
		cmocka_unit_test(test_open_refuses),
		cmocka_unit_test_setup_teardown(test_send_url, setup, teardown),
		cmocka_unit_test(test_answers),
		cmocka_unit_test_setup_teardown(test_partial_answers, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_kept_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_http_refused, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_close_in_flight, setup,
		    teardown),
		cmocka_unit_test(test_options),
		cmocka_unit_test_setup_teardown(test_dlr_roundtrip, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_receipts, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_replies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
