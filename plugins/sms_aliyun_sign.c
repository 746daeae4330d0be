/*
 * sms_aliyun_sign.c - Aliyun's RPC request signature, version 1.0 with
 * HMAC-SHA1, as dysmsapi 2017-05-25 checks it:
 *
 *   canonical    = every parameter but Signature, sorted by name (byte
 *                  order), each name and value percent-encoded, k=v
 *                  joined by '&'
 *   StringToSign = METHOD + "&" + pct("/") + "&" + pct(canonical)
 *   Signature    = base64(HMAC-SHA1(AccessKeySecret + "&", StringToSign))
 *
 * pct() leaves A-Z a-z 0-9 - _ . ~ alone and writes every other byte of
 * the UTF-8 as %XY (upper-case hex): a blank is %20, never '+', '*' is
 * %2A and '~' stays.  The same encoding serves the form body we POST.
 *
 * Also the string helpers (struct pbuf), so that the unit test can link
 * this file alone.  No I/O here.
 */
#include "sms_aliyun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

static int
aliyun_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

void
aliyun_pct(struct pbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (aliyun_unreserved(c)) {
			pbuf_add(b, s, 1);
			continue;
		}
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		pbuf_add(b, e, 3);
	}
}

static int
aparam_cmp(const void *x, const void *y)
{
	const struct aparam *a = x, *b = y;

	return strcmp(a->key, b->key);
}

char *
aliyun_canonical(struct aparam *p, size_t n)
{
	struct pbuf b = { 0 };

	/* Names are ASCII, so byte order is the documented order. */
	qsort(p, n, sizeof(*p), aparam_cmp);
	pbuf_add(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			pbuf_str(&b, "&");
		aliyun_pct(&b, p[i].key);
		pbuf_str(&b, "=");
		aliyun_pct(&b, p[i].val);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

int
aliyun_sign(const char *method, const char *canonical, const char *secret,
    char out[32])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	struct pbuf sts = { 0 }, key = { 0 };
	size_t maclen = 0;
	int ok;

	pbuf_str(&sts, method);
	pbuf_str(&sts, "&%2F&");
	aliyun_pct(&sts, canonical);
	pbuf_str(&key, secret);
	pbuf_str(&key, "&");
	ok = !sts.oom && !key.oom &&
	    EVP_Q_mac(NULL, "HMAC", NULL, "SHA1", NULL, key.p, key.len,
	    (const unsigned char *)sts.p, sts.len, mac, sizeof(mac),
	    &maclen) != NULL && maclen == 20;
	free(sts.p);
	if (key.p != NULL)
		OPENSSL_cleanse(key.p, key.len);
	free(key.p);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	return 0;
}

char *
aliyun_signed_body(struct aparam *p, size_t n, const char *secret)
{
	struct pbuf b = { 0 };
	char sig[32], *canon;

	if ((canon = aliyun_canonical(p, n)) == NULL)
		return NULL;
	if (aliyun_sign("POST", canon, secret, sig) == -1) {
		free(canon);
		return NULL;
	}
	pbuf_str(&b, canon);
	pbuf_str(&b, "&Signature=");
	aliyun_pct(&b, sig);
	free(canon);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

void
aliyun_timestamp(char out[24])
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, 24, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
aliyun_nonce(char out[33])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[16];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	for (size_t i = 0; i < sizeof(r); i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
	return 0;
}
