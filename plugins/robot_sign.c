/*
 * robot_sign.c - the signatures DingTalk and Feishu custom robots check.
 * Both are HMAC-SHA256 over "timestamp\nsecret" in some arrangement; they
 * differ in what is the key, the clock's unit and where the result goes.
 */
#include "robot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

static int
robot_hmac_b64(const void *key, size_t keylen, const void *msg,
    size_t msglen, char out[ROBOT_SIG_B64])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	/* HMAC() wants a non-NULL message pointer even for no bytes. */
	if (HMAC(EVP_sha256(), key, (int)keylen, msg != NULL ? msg :
	    (const unsigned char *)"", msglen, mac, &maclen) == NULL ||
	    maclen != 32)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	return 0;
}

int
robot_sign_dingtalk(const char *secret, long long ts_ms,
    char out[ROBOT_SIG_B64])
{
	char *s;
	int n, rc;

	if ((n = snprintf(NULL, 0, "%lld\n%s", ts_ms, secret)) < 0 ||
	    (s = malloc((size_t)n + 1)) == NULL)
		return -1;
	snprintf(s, (size_t)n + 1, "%lld\n%s", ts_ms, secret);
	rc = robot_hmac_b64(secret, strlen(secret), s, (size_t)n, out);
	free(s);
	return rc;
}

int
robot_sign_feishu(const char *secret, long long ts_s,
    char out[ROBOT_SIG_B64])
{
	char *s;
	int n, rc;

	if ((n = snprintf(NULL, 0, "%lld\n%s", ts_s, secret)) < 0 ||
	    (s = malloc((size_t)n + 1)) == NULL)
		return -1;
	snprintf(s, (size_t)n + 1, "%lld\n%s", ts_s, secret);
	/* The string to sign is the key; the message is empty. */
	rc = robot_hmac_b64(s, (size_t)n, NULL, 0, out);
	free(s);
	return rc;
}

char *
robot_pct(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char *o = malloc(strlen(s) * 3 + 1), *p = o;

	if (o == NULL)
		return NULL;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~')
			*p++ = (char)c;
		else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	*p = '\0';
	return o;
}
