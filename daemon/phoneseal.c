/*
 * phoneseal.c - sealing phone numbers with one AES-256 block.
 */
#include "phoneseal.h"
#include "keyfile.h"

#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct phone_sealer {
	EVP_CIPHER_CTX	*enc;
	EVP_CIPHER_CTX	*dec;
};

/* The key's public name: SHA-256 over a label and the key, 64 bits. */
static void
phone_key_id(struct phone_key *key)
{
	static const char label[] = "sanzhang phone.key id";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	key->id[0] = '\0';
	if (c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, label, sizeof(label) - 1) == 1 &&
	    EVP_DigestUpdate(c, key->k, sizeof(key->k)) == 1 &&
	    EVP_DigestFinal_ex(c, md, &mdlen) == 1 &&
	    mdlen >= PHONE_KEY_ID_LEN / 2)
		for (int i = 0; i < PHONE_KEY_ID_LEN / 2; i++)
			snprintf(key->id + 2 * i, 3, "%02x", md[i]);
	EVP_MD_CTX_free(c);
}

int
phone_key_load(const char *state_dir, bool create, struct phone_key *key,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/phone.key", state_dir);
	rc = keyfile_load(path, key->k, sizeof(key->k), create, err, errlen);
	if (rc != KEYFILE_OK && rc != KEYFILE_CREATED)
		return -1;
	key->created = rc == KEYFILE_CREATED;
	phone_key_id(key);
	if (key->id[0] == '\0') {
		snprintf(err, errlen, "%s: cannot hash the key", path);
		return -1;
	}
	return 0;
}

static EVP_CIPHER_CTX *
phone_ctx(const struct phone_key *key, int enc)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

	if (c == NULL || EVP_CipherInit_ex(c, EVP_aes_256_ecb(), NULL, key->k,
	    NULL, enc) != 1 || EVP_CIPHER_CTX_set_padding(c, 0) != 1) {
		EVP_CIPHER_CTX_free(c);
		return NULL;
	}
	return c;
}

struct phone_sealer *
phone_sealer_new(const struct phone_key *key)
{
	struct phone_sealer *ps = calloc(1, sizeof(*ps));

	if (ps == NULL)
		return NULL;
	if ((ps->enc = phone_ctx(key, 1)) == NULL ||
	    (ps->dec = phone_ctx(key, 0)) == NULL) {
		phone_sealer_free(ps);
		return NULL;
	}
	return ps;
}

void
phone_sealer_free(struct phone_sealer *ps)
{
	if (ps == NULL)
		return;
	EVP_CIPHER_CTX_free(ps->enc);
	EVP_CIPHER_CTX_free(ps->dec);
	free(ps);
}

/* One block through ctx (ECB keeps no state between blocks). */
static int
phone_block(EVP_CIPHER_CTX *c, const unsigned char *in, unsigned char *out)
{
	int n = 0;

	return EVP_CipherUpdate(c, out, &n, in, PHONE_SEAL_LEN) == 1 &&
	    n == PHONE_SEAL_LEN ? 0 : -1;
}

int
phone_seal(struct phone_sealer *ps, const char *phone,
    unsigned char out[PHONE_SEAL_LEN])
{
	unsigned char block[PHONE_SEAL_LEN] = { 0 };
	size_t n = strlen(phone);

	if (n == 0 || n > PHONE_SEAL_MAX)
		return -1;
	block[0] = (unsigned char)n;
	memcpy(block + 1, phone, n);
	return phone_block(ps->enc, block, out);
}

int
phone_open(struct phone_sealer *ps, const unsigned char *seal, size_t len,
    char out[PHONE_SEAL_MAX + 1])
{
	unsigned char block[PHONE_SEAL_LEN];
	size_t n;

	out[0] = '\0';
	if (seal == NULL || len != PHONE_SEAL_LEN ||
	    phone_block(ps->dec, seal, block) != 0)
		return -1;
	n = block[0];
	if (n == 0 || n > PHONE_SEAL_MAX)
		return -1;
	for (size_t i = 1; i <= n; i++)
		if (block[i] < 0x20 || block[i] > 0x7e)
			return -1;
	for (size_t i = n + 1; i < PHONE_SEAL_LEN; i++)
		if (block[i] != 0)
			return -1;
	memcpy(out, block + 1, n);
	out[n] = '\0';
	OPENSSL_cleanse(block, sizeof(block));
	return 0;
}
