/*
 * webhook.c - the `webhook` channel: one signed JSON POST per recipient.
 *
 * Requests carry the Standard Webhooks 1.0 headers (webhook-id,
 * webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>") so a
 * receiver can check them with any of that specification's libraries.
 * The body carries the full phone number on purpose (a webhook is often
 * the hand-off to another gateway); logs and outcome reasons never do.
 */
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>

#include <sanzhang/plugin.h>

#define WH_PREFIX		"whsec_"
#define WH_TIMEOUT_MS		10000
#define WH_RETRY_AFTER_MAX	3600
#define WH_N_HEADERS		4
/* base64 of a SHA-256 MAC: 44 characters and a NUL. */
#define WH_SIG_B64		45

/* One channel. */
struct wh_state {
	const struct sz_host	*host;
	struct sz_chan		*chan;
	char			*url;		/* default receiver, or NULL */
	unsigned char		*key;		/* HMAC key */
	size_t			 key_len;
	EVP_MAC_CTX		*mac;		/* HMAC-SHA256 keyed with key */
	EVP_MAC_CTX		*work;		/* reset to mac per message */
	long			 timeout_ms;
	struct wh_call		*calls;		/* in flight */
};

/*
 * One request in flight.  It owns everything the request points at, as
 * the ABI does not promise that the host copies them, and sits on the
 * state's list so close() can free calls the host will never finish.
 */
struct wh_call {
	struct wh_state		*st;
	struct wh_call		*prev, *next;
	char			*id;
	char			*url;
	char			*body;
	char			*headers[WH_N_HEADERS];	/* into hbuf */
	char			*hbuf;
};

static const struct sz_setting wh_settings[] = {
	{ "url", SZ_SETTING_STRING, false, false,
	    "default receiver URL (a recipient's roster target overrides it)" },
	{ "secret", SZ_SETTING_STRING, true, true,
	    "signing key: \"whsec_<base64>\" or raw bytes" },
	{ "timeout_ms", SZ_SETTING_INT, false, false,
	    "request timeout in milliseconds (default 10000)" },
	{ NULL, 0, false, false, NULL },
};

static bool
wh_url_ok(const char *url)
{
	/* Only HTTP: a roster target must not reach other curl protocols. */
	return strncasecmp(url, "http://", 7) == 0 ||
	    strncasecmp(url, "https://", 8) == 0;
}

/* Decode standard base64 (padding required); -1 when malformed. */
static int
wh_b64_decode(const char *in, unsigned char **out, size_t *outlen)
{
	size_t len = strlen(in), pad = 0;
	unsigned char *buf;
	int n;

	if (len == 0 || len % 4 != 0 || len > INT_MAX)
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	if ((buf = malloc(len / 4 * 3 + 1)) == NULL)
		return -1;
	/* EVP_DecodeBlock counts padding as zero bytes: take them off. */
	n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad == 0) {
		OPENSSL_clear_free(buf, len / 4 * 3 + 1);
		return -1;
	}
	*out = buf;
	*outlen = (size_t)n - pad;
	return 0;
}

static int
wh_open_key(struct wh_state *st, const char *secret, char *err,
    size_t errlen)
{
	size_t plen = strlen(WH_PREFIX);

	if (secret == NULL || *secret == '\0') {
		snprintf(err, errlen, "secret is empty");
		return -1;
	}
	if (strncmp(secret, WH_PREFIX, plen) == 0) {
		if (wh_b64_decode(secret + plen, &st->key, &st->key_len) == -1) {
			/* Never echo the secret itself. */
			snprintf(err, errlen, "secret: not base64 after \"%s\"",
			    WH_PREFIX);
			return -1;
		}
		return 0;
	}
	st->key_len = strlen(secret);
	if ((st->key = malloc(st->key_len)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(st->key, secret, st->key_len);
	return 0;
}

/* The keyed HMAC-SHA256 context every signature starts from. */
static int
wh_open_mac(struct wh_state *st, char *err, size_t errlen)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac;

	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL) {
		snprintf(err, errlen, "HMAC is not available from libcrypto");
		return -1;
	}
	st->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (st->mac == NULL ||
	    !EVP_MAC_init(st->mac, st->key, st->key_len, params) ||
	    (st->work = EVP_MAC_CTX_dup(st->mac)) == NULL) {
		snprintf(err, errlen, "cannot set up HMAC-SHA256");
		return -1;
	}
	return 0;
}

static void
wh_close(void *arg)
{
	struct wh_state *st = arg;
	struct wh_call *c;

	if (st == NULL)
		return;
	while ((c = st->calls) != NULL) {
		st->calls = c->next;
		free(c->id);
		free(c->url);
		free(c->body);
		free(c->hbuf);
		free(c);
	}
	EVP_MAC_CTX_free(st->mac);
	EVP_MAC_CTX_free(st->work);
	if (st->key != NULL)
		OPENSSL_clear_free(st->key, st->key_len);
	free(st->url);
	free(st);
}

static int
wh_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	struct wh_state *st;
	const char *url;
	long long t;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->host = host;
	st->chan = chan;
	if (wh_open_key(st, host->setting_string(chan, "secret"), err,
	    errlen) == -1 || wh_open_mac(st, err, errlen) == -1)
		goto fail;
	if (st->key_len < 16)
		host->log(chan, SZ_LOG_WARN, "webhook secret is only %zu bytes",
		    st->key_len);
	url = host->setting_string(chan, "url");
	if (url != NULL && *url != '\0') {
		if (!wh_url_ok(url)) {
			snprintf(err, errlen, "url must be http:// or https://");
			goto fail;
		}
		if ((st->url = strdup(url)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	t = host->setting_int(chan, "timeout_ms", WH_TIMEOUT_MS);
	if (t < 1 || t > 3600000) {
		snprintf(err, errlen, "timeout_ms must be 1..3600000");
		goto fail;
	}
	st->timeout_ms = (long)t;
	*state = st;
	return 0;
fail:
	wh_close(st);
	return -1;
}

/* ---- the request ------------------------------------------------------ */

/*
 * {"type": "sanzhang.alert", then the members of the host's JSON (alert,
 * recipient, text, ack_url)}: spliced as text, since the host's JSON is a
 * compact object already.  NULL when it is not an object or memory runs
 * out.
 */
static char *
wh_body(const struct sz_msg *m)
{
	static const char head[] = "{\"type\":\"sanzhang.alert\"";
	size_t jlen, hlen = sizeof(head) - 1;
	char *s;

	if (m->json == NULL || (jlen = strlen(m->json)) < 2 ||
	    m->json[0] != '{' || m->json[jlen - 1] != '}')
		return NULL;
	if ((s = malloc(hlen + jlen + 1)) == NULL)
		return NULL;
	memcpy(s, head, hlen);
	if (jlen == 2)		/* {} */
		memcpy(s + hlen, "}", 2);
	else {
		s[hlen] = ',';
		memcpy(s + hlen + 1, m->json + 1, jlen);	/* with NUL */
	}
	return s;
}

/*
 * "v1," + base64(HMAC-SHA256(key, id "." ts "." body)); -1 on error.
 * The keyed context is set up once per channel; its working copy is
 * reset to it per message (everything here runs on the loop thread).
 */
static int
wh_sign(const struct wh_state *st, const char *id, const char *ts,
    const char *body, char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	size_t maclen = 0;
	char b64[WH_SIG_B64], head[160];
	int n, ok;

	/* "id.ts.": one update; then the body. */
	n = snprintf(head, sizeof(head), "%s.%s.", id, ts);
	if (n < 0 || (size_t)n >= sizeof(head))
		return -1;
	/* The work context starts over from the keyed state (no copy). */
	ok = EVP_MAC_init(st->work, NULL, 0, NULL) &&
	    EVP_MAC_update(st->work, (const unsigned char *)head, (size_t)n) &&
	    EVP_MAC_update(st->work, (const unsigned char *)body, strlen(body)) &&
	    EVP_MAC_final(st->work, mac, &maclen, sizeof(mac)) && maclen == 32;
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	if ((size_t)snprintf(out, outlen, "v1,%s", b64) >= outlen)
		return -1;
	return 0;
}


static void
wh_call_free(struct wh_call *c)
{
	struct wh_state *st = c->st;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else if (st->calls == c)
		st->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c->id);
	free(c->url);
	free(c->body);
	free(c->hbuf);
	free(c);
}

/* Fill a call's headers; -1 on error. */
static int
wh_call_headers(struct wh_call *c)
{
	char ts[32], sig[3 + WH_SIG_B64];

	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (wh_sign(c->st, c->id, ts, c->body, sig, sizeof(sig)) == -1)
		return -1;
	const char *v[WH_N_HEADERS][2] = {
		{ "Content-Type", "application/json" }, { "webhook-id", c->id },
		{ "webhook-timestamp", ts }, { "webhook-signature", sig },
	};
	size_t len = 0, off = 0;

	/* All four lines in one allocation. */
	for (size_t i = 0; i < WH_N_HEADERS; i++)
		len += strlen(v[i][0]) + 2 + strlen(v[i][1]) + 1;
	if ((c->hbuf = malloc(len)) == NULL)
		return -1;
	for (size_t i = 0; i < WH_N_HEADERS; i++) {
		size_t a = strlen(v[i][0]), b = strlen(v[i][1]);

		c->headers[i] = c->hbuf + off;
		memcpy(c->hbuf + off, v[i][0], a);
		memcpy(c->hbuf + off + a, ": ", 2);
		memcpy(c->hbuf + off + a + 2, v[i][1], b + 1);
		off += a + 2 + b + 1;
	}
	return 0;
}

/* ---- the answer ------------------------------------------------------- */

static int
wh_month(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncmp(s, months + 3 * i, 3) == 0 && s[3] == '\0')
			return i;
	return -1;
}

/*
 * An HTTP-date in any of the three forms RFC 9110 5.6.7 asks recipients
 * to accept; (time_t)-1 when it is none of them.  Parsed by hand, not by
 * strptime(), whose month names follow the locale.
 */
static time_t
wh_http_date(const char *s)
{
	struct tm tm = { 0 };
	char mon[4], wday[16], zone[4];
	int day, year, h, m, sec, n = 0;

	if (sscanf(s, "%3[A-Za-z], %2d %3[A-Za-z] %4d %2d:%2d:%2d %3s%n",
	    wday, &day, mon, &year, &h, &m, &sec, zone, &n) == 8 &&
	    s[n] == '\0' && strcmp(zone, "GMT") == 0)
		;	/* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	else if (sscanf(s, "%15[A-Za-z], %2d-%3[A-Za-z]-%2d %2d:%2d:%2d %3s%n",
	    wday, &day, mon, &year, &h, &m, &sec, zone, &n) == 8 &&
	    s[n] == '\0' && strcmp(zone, "GMT") == 0)
		year += year < 70 ? 2000 : 1900;	/* rfc850-date */
	else if (sscanf(s, "%3[A-Za-z] %3[A-Za-z] %2d %2d:%2d:%2d %4d%n",
	    wday, mon, &day, &h, &m, &sec, &year, &n) == 7 && s[n] == '\0')
		;	/* asctime-date: Sun Nov  6 08:49:37 1994 */
	else
		return (time_t)-1;
	if ((tm.tm_mon = wh_month(mon)) == -1 || day < 1 || day > 31 ||
	    h > 23 || m > 59 || sec > 60 || year < 1970)
		return (time_t)-1;
	tm.tm_mday = day;
	tm.tm_year = year - 1900;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	return timegm(&tm);
}

/* Retry-After in seconds, capped; 0 when absent or unreadable. */
static int
wh_retry_after(const struct sz_http_resp *resp)
{
	const char *v;
	char buf[64];
	size_t len;
	time_t t, now;
	long long d = 0;

	if (resp->header == NULL ||
	    (v = resp->header(resp, "Retry-After")) == NULL)
		return 0;
	v += strspn(v, " \t");
	len = strcspn(v, "\r\n");
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, v, len);
	buf[len] = '\0';
	if (strspn(buf, "0123456789") == len) {
		for (size_t i = 0; i < len && d <= WH_RETRY_AFTER_MAX; i++)
			d = d * 10 + (buf[i] - '0');
	} else {
		if ((t = wh_http_date(buf)) == (time_t)-1)
			return 0;
		now = time(NULL);
		d = t > now ? (long long)(t - now) : 0;
	}
	return d > WH_RETRY_AFTER_MAX ? WH_RETRY_AFTER_MAX : (int)d;
}

static void
wh_done(void *arg, const struct sz_http_resp *resp)
{
	struct wh_call *c = arg;
	struct wh_state *st = c->st;
	const struct sz_host *host = st->host;
	long status = resp->status;
	char why[160];

	if (resp->transport_error != 0 || status == 0) {
		/* curl's reason names the host at most, never the body. */
		snprintf(why, sizeof(why), "transport error: %s",
		    resp->error != NULL && *resp->error != '\0' ?
		    resp->error : "no answer");
		host->outcome(st->chan, c->id, SZ_RETRY, NULL, 0, why);
	} else if (status >= 200 && status < 300)
		host->outcome(st->chan, c->id, SZ_ACCEPTED, NULL, 0, NULL);
	else {
		snprintf(why, sizeof(why), "HTTP %ld", status);
		if (status == 410)
			host->outcome(st->chan, c->id, SZ_GONE, NULL, 0, why);
		else if (status == 408 || status == 429 ||
		    (status >= 500 && status < 600))
			host->outcome(st->chan, c->id, SZ_RETRY, NULL,
			    wh_retry_after(resp), why);
		else
			host->outcome(st->chan, c->id, SZ_FAILED, NULL, 0, why);
	}
	host->log(st->chan, SZ_LOG_DEBUG, "webhook %s: status %ld", c->id,
	    status);
	wh_call_free(c);
}

/* ---- send ------------------------------------------------------------- */

/* Start one message's request; the reason for an outcome when it fails. */
static const char *
wh_send_one(struct wh_state *st, const struct sz_msg *m,
    enum sz_outcome *oc)
{
	struct sz_http_req req = { 0 };
	struct wh_call *c;
	const char *url;

	*oc = SZ_FAILED;
	url = m->target != NULL && *m->target != '\0' ? m->target : st->url;
	if (url == NULL)
		return "no webhook URL";
	if (!wh_url_ok(url))
		return "webhook URL is not http(s)";
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		*oc = SZ_RETRY;
		return "out of memory";
	}
	c->st = st;
	if ((c->next = st->calls) != NULL)
		c->next->prev = c;
	st->calls = c;
	if ((c->id = strdup(m->id)) == NULL || (c->url = strdup(url)) == NULL) {
		wh_call_free(c);
		*oc = SZ_RETRY;
		return "out of memory";
	}
	if ((c->body = wh_body(m)) == NULL) {
		wh_call_free(c);
		return "message JSON unreadable";
	}
	if (wh_call_headers(c) == -1) {
		wh_call_free(c);
		*oc = SZ_RETRY;
		return "cannot sign";
	}
	req.method = "POST";
	req.url = c->url;
	req.headers = (const char *const *)c->headers;
	req.n_headers = WH_N_HEADERS;
	req.body = c->body;
	req.body_len = strlen(c->body);
	req.timeout_ms = st->timeout_ms;
	if (st->host->http(st->chan, &req, wh_done, c) != 0) {
		wh_call_free(c);
		*oc = SZ_RETRY;
		return "host refused the request";
	}
	return NULL;
}

static int
wh_send(void *state, struct sz_chan *chan, const struct sz_msg *const *msgs,
    size_t n)
{
	struct wh_state *st = state;
	enum sz_outcome oc;
	const char *why;

	for (size_t i = 0; i < n; i++) {
		if ((why = wh_send_one(st, msgs[i], &oc)) == NULL)
			continue;
		st->host->log(chan, SZ_LOG_WARN, "webhook %s: %s", msgs[i]->id,
		    why);
		st->host->outcome(chan, msgs[i]->id, oc, NULL, 0, why);
	}
	return 0;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "webhook",
	.description = "signed JSON POST (Standard Webhooks) per recipient",
	.max_batch = 1,
	.settings = wh_settings,
	.open = wh_open,
	.send = wh_send,
	.close = wh_close,
};
