/*
 * sms_tencent_sign.c - TC3-HMAC-SHA256 (Tencent Cloud API 3.0, "签名方法
 * v3"):
 *
 *   CanonicalRequest = "POST\n/\n\n" + "content-type:" ct "\nhost:" host
 *                      "\n\n" + "content-type;host\n" + hex(SHA256(body))
 *   StringToSign     = "TC3-HMAC-SHA256\n" ts "\n" date "/" service
 *                      "/tc3_request\n" + hex(SHA256(CanonicalRequest))
 *   key              = HMAC("TC3" secret_key, date) -> HMAC(., service)
 *                      -> HMAC(., "tc3_request")
 *   Signature        = hex(HMAC(key, StringToSign))
 *
 * date is the UTC day of the timestamp, never the local one: at 00:30 in
 * Beijing it is still yesterday in UTC, and a request signed with the
 * local date fails.
 */
#include "sms_tencent_sign.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#define TC3_MAC_LEN	32
#define TC3_CANON_MAX	1024	/* method, headers and two hashes */

static void
tc3_hex(const unsigned char *d, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * len] = '\0';
}

int
tc3_sha256_hex(const void *data, size_t len, char out[TC3_HEX_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != TC3_MAC_LEN)
		return -1;
	tc3_hex(md, mdlen, out);
	return 0;
}

/* HMAC-SHA256(key, msg) into out (32 bytes); 0 or -1. */
static int
tc3_hmac(const void *key, size_t keylen, const char *msg, size_t msglen,
    unsigned char out[TC3_MAC_LEN])
{
	size_t outlen = 0;

	if (EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, keylen,
	    (const unsigned char *)msg, msglen, out, TC3_MAC_LEN,
	    &outlen) == NULL || outlen != TC3_MAC_LEN)
		return -1;
	return 0;
}

/* The signing key for date and service; the secret is wiped after. */
static int
tc3_key(const struct tc3_input *in, const char *date,
    unsigned char key[TC3_MAC_LEN])
{
	unsigned char k1[TC3_MAC_LEN], k2[TC3_MAC_LEN];
	char secret[256];
	int n, rc = -1;

	n = snprintf(secret, sizeof(secret), "TC3%s", in->secret_key);
	if (n > 0 && (size_t)n < sizeof(secret) &&
	    tc3_hmac(secret, (size_t)n, date, strlen(date), k1) == 0 &&
	    tc3_hmac(k1, sizeof(k1), in->service, strlen(in->service),
	    k2) == 0 &&
	    tc3_hmac(k2, sizeof(k2), "tc3_request", 11, key) == 0)
		rc = 0;
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(k1, sizeof(k1));
	OPENSSL_cleanse(k2, sizeof(k2));
	return rc;
}

/* s lowercased into out (at most outlen - 1 bytes); -1 when too long. */
static int
tc3_lower(const char *s, char *out, size_t outlen)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= outlen)
			return -1;
		out[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' +
		    'a') : s[i];
	}
	out[i] = '\0';
	return 0;
}

/* StringToSign for in on date; -1 when a part does not fit. */
static int
tc3_string_to_sign(const struct tc3_input *in, const char *date,
    char *out, size_t outlen)
{
	char canon[TC3_CANON_MAX], ct[128], host[256];
	char body_hash[TC3_HEX_LEN], canon_hash[TC3_HEX_LEN];
	int n;

	if (tc3_lower(in->content_type, ct, sizeof(ct)) == -1 ||
	    tc3_lower(in->host, host, sizeof(host)) == -1 ||
	    tc3_sha256_hex(in->payload, in->payload_len, body_hash) == -1)
		return -1;
	n = snprintf(canon, sizeof(canon), "POST\n/\n\ncontent-type:%s\n"
	    "host:%s\n\ncontent-type;host\n%s", ct, host, body_hash);
	if (n < 0 || (size_t)n >= sizeof(canon) ||
	    tc3_sha256_hex(canon, (size_t)n, canon_hash) == -1)
		return -1;
	n = snprintf(out, outlen, TC3_ALGORITHM "\n%lld\n%s/%s/tc3_request\n%s",
	    in->timestamp, date, in->service, canon_hash);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
tc3_sign(const struct tc3_input *in, char sig[TC3_HEX_LEN], char *auth,
    size_t authlen)
{
	unsigned char key[TC3_MAC_LEN], mac[TC3_MAC_LEN];
	char date[16], sts[512];
	time_t t = (time_t)in->timestamp;
	struct tm tm;
	int rc, n;

	if (in->secret_id == NULL || in->secret_key == NULL ||
	    in->service == NULL || in->host == NULL ||
	    in->content_type == NULL || (in->payload == NULL &&
	    in->payload_len > 0) || gmtime_r(&t, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%d", &tm) == 0)
		return -1;
	if (tc3_string_to_sign(in, date, sts, sizeof(sts)) == -1 ||
	    tc3_key(in, date, key) == -1)
		return -1;
	rc = tc3_hmac(key, sizeof(key), sts, strlen(sts), mac);
	OPENSSL_cleanse(key, sizeof(key));
	if (rc == -1)
		return -1;
	tc3_hex(mac, sizeof(mac), sig);
	if (auth == NULL)
		return 0;
	n = snprintf(auth, authlen, TC3_ALGORITHM " Credential=%s/%s/%s/"
	    "tc3_request, SignedHeaders=content-type;host, Signature=%s",
	    in->secret_id, date, in->service, sig);
	return n < 0 || (size_t)n >= authlen ? -1 : 0;
}
