/*
 * phoneseal.h - phone numbers sealed at rest.
 *
 * The database never holds a phone number in clear.  A number is sealed as
 * one AES-256 block, [length][digits][zero padding] encrypted under a key
 * kept beside the database (STATE_DIR/phone.key: 32 random bytes, mode
 * 0600, made on first start).  A block cipher on one block is a
 * pseudorandom permutation: the same number always seals the same, so
 * de-duplication and lookups work on seals without the key, and nothing
 * else about a number shows.  Opening checks the padding, so a seal made
 * under another key is refused rather than read as a wrong number.
 *
 * The key's id (a hash of the key, never the key) is written into the
 * database, so a start with a missing or different phone.key is refused
 * instead of sealing new numbers under a key the old ones do not open with.
 */
#ifndef SANZHANG_PHONESEAL_H
#define SANZHANG_PHONESEAL_H

#include <stdbool.h>
#include <stddef.h>

#define PHONE_SEAL_LEN		16	/* bytes of a sealed number */
#define PHONE_SEAL_MAX		15	/* the longest number a seal holds */
#define PHONE_KEY_LEN		32
#define PHONE_KEY_ID_LEN	16	/* hex digits, with no NUL */

struct phone_key {
	unsigned char	 k[PHONE_KEY_LEN];
	char		 id[PHONE_KEY_ID_LEN + 1];
	bool		 created;	/* made by this load */
};

/* A sealer: one per thread (or per database connection). */
struct phone_sealer;

/*
 * Read STATE_DIR/phone.key; when create, make it if there is none.  -1
 * and err (saying what to do) on failure.
 */
int phone_key_load(const char *state_dir, bool create, struct phone_key *key,
    char *err, size_t errlen);

struct phone_sealer *phone_sealer_new(const struct phone_key *key);
void phone_sealer_free(struct phone_sealer *ps);

/* Seal a number of 1 to PHONE_SEAL_MAX bytes; -1 for any other. */
int phone_seal(struct phone_sealer *ps, const char *phone,
    unsigned char out[PHONE_SEAL_LEN]);
/*
 * Open a seal into out (NUL-terminated); -1 when it is not a seal made
 * under this key.
 */
int phone_open(struct phone_sealer *ps, const unsigned char *seal,
    size_t len, char out[PHONE_SEAL_MAX + 1]);

#endif
