/*
 * acktoken.c - acknowledgement tokens: recipient id + truncated HMAC.
 */
#include "acktoken.h"
#include "keyfile.h"

#include <limits.h>
#include <stdbool.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACKTOKEN_MAC_LEN	12	/* 96 bits */

static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";

int
acktoken_key_load(const char *state_dir, struct acktoken_key *key, char *err,
    size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/ack.key", state_dir);
	rc = keyfile_load(path, key->k, sizeof(key->k), true, err, errlen);
	return rc == KEYFILE_OK || rc == KEYFILE_CREATED ? 0 : -1;
}

/*
 * Each thread that makes or checks tokens (the loop, the readers that
 * compose messages) keeps one HMAC context keyed once: re-keying per
 * token, as one-shot HMAC() does, costs several times the MAC itself.
 */
struct acktoken_tls {
	EVP_MAC_CTX	*ctx;
	unsigned char	 k[ACKTOKEN_KEY_LEN];	/* the key ctx holds */
};

static pthread_once_t	 tls_once = PTHREAD_ONCE_INIT;
static pthread_key_t	 tls_key;
static EVP_MAC		*tls_hmac;
static bool		 tls_ok;

static void
acktoken_tls_free(void *p)
{
	struct acktoken_tls *t = p;

	EVP_MAC_CTX_free(t->ctx);
	free(t);
}

static void
acktoken_tls_init(void)
{
	tls_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	tls_ok = tls_hmac != NULL &&
	    pthread_key_create(&tls_key, acktoken_tls_free) == 0;
}

/* This thread's context, keyed with key and ready for a message; or NULL. */
static EVP_MAC_CTX *
acktoken_ctx(const struct acktoken_key *key)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
		    (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	struct acktoken_tls *t;

	pthread_once(&tls_once, acktoken_tls_init);
	if (!tls_ok)
		return NULL;
	if ((t = pthread_getspecific(tls_key)) == NULL) {
		if ((t = calloc(1, sizeof(*t))) == NULL)
			return NULL;
		if ((t->ctx = EVP_MAC_CTX_new(tls_hmac)) == NULL ||
		    pthread_setspecific(tls_key, t) != 0) {
			acktoken_tls_free(t);
			return NULL;
		}
	} else if (memcmp(t->k, key->k, sizeof(t->k)) == 0) {
		/* Same key: start over from the keyed state. */
		return EVP_MAC_init(t->ctx, NULL, 0, NULL) == 1 ? t->ctx : NULL;
	}
	if (EVP_MAC_init(t->ctx, key->k, sizeof(key->k), params) != 1) {
		memset(t->k, 0, sizeof(t->k));
		return NULL;
	}
	memcpy(t->k, key->k, sizeof(t->k));
	return t->ctx;
}

static void
acktoken_mac(const struct acktoken_key *key, uint64_t id,
    unsigned char mac[ACKTOKEN_MAC_LEN])
{
	unsigned char msg[8], full[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	size_t outl = 0;
	EVP_MAC_CTX *ctx;

	for (int i = 0; i < 8; i++)
		msg[i] = (unsigned char)(id >> (56 - 8 * i));
	if ((ctx = acktoken_ctx(key)) != NULL &&
	    EVP_MAC_update(ctx, msg, sizeof(msg)) == 1 &&
	    EVP_MAC_final(ctx, full, &outl, sizeof(full)) == 1 &&
	    outl >= ACKTOKEN_MAC_LEN) {
		memcpy(mac, full, ACKTOKEN_MAC_LEN);
		return;
	}
	HMAC(EVP_sha256(), key->k, sizeof(key->k), msg, sizeof(msg), full, &len);
	memcpy(mac, full, ACKTOKEN_MAC_LEN);
}

/* Bytes to base32, 5 bits a character. */
static size_t
acktoken_b32(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;
	unsigned int acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return o;
}

void
acktoken_make(const struct acktoken_key *key, int64_t recipient,
    char out[ACKTOKEN_MAX])
{
	unsigned char raw[8 + ACKTOKEN_MAC_LEN];
	uint64_t id = (uint64_t)recipient;

	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)(id >> (56 - 8 * i));
	acktoken_mac(key, id, raw + 8);
	acktoken_b32(raw, sizeof(raw), out);
}

int64_t
acktoken_check(const struct acktoken_key *key, const char *token)
{
	char want[ACKTOKEN_MAX];
	uint64_t id = 0;
	unsigned int acc = 0;
	int bits = 0;
	size_t n = 0;

	if (strlen(token) != 32)
		return -1;
	/* The first 64 bits of the decoded token are the id. */
	for (const char *p = token; *p && n < 8; p++) {
		const char *c = strchr(b32, *p);

		if (c == NULL || *p == '\0')
			return -1;
		acc = (acc << 5) | (unsigned int)(c - b32);
		bits += 5;
		if (bits >= 8) {
			id = (id << 8) | ((acc >> (bits - 8)) & 0xff);
			bits -= 8;
			n++;
		}
	}
	if (id > INT64_MAX)
		return -1;
	acktoken_make(key, (int64_t)id, want);
	if (CRYPTO_memcmp(want, token, 32) != 0)
		return -1;
	return (int64_t)id;
}

void
acktoken_thread_end(void)
{
	struct acktoken_tls *t;

	pthread_once(&tls_once, acktoken_tls_init);
	if (!tls_ok || (t = pthread_getspecific(tls_key)) == NULL)
		return;
	pthread_setspecific(tls_key, NULL);
	acktoken_tls_free(t);
}
