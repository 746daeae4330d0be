/*
 * acktoken.h - acknowledgement link tokens.
 *
 * A token names one recipient and proves it: the recipient id and the
 * first 96 bits of HMAC-SHA256(key, id) under a key kept in the state
 * directory (STATE_DIR/ack.key, 32 random bytes, mode 0600).  Nothing per
 * recipient is stored, no index is needed, and a guessed token is as hard
 * as the MAC.
 */
#ifndef SANZHANG_ACKTOKEN_H
#define SANZHANG_ACKTOKEN_H

#include <stddef.h>
#include <stdint.h>

#define ACKTOKEN_KEY_LEN	32
#define ACKTOKEN_MAX		48	/* a token's length, with its NUL */

struct acktoken_key {
	unsigned char	 k[ACKTOKEN_KEY_LEN];
};

/* Read the key, creating it on first use; -1 and err on failure. */
int acktoken_key_load(const char *state_dir, struct acktoken_key *key,
    char *err, size_t errlen);
/* The token of a recipient (URL-safe: lowercase base32). */
void acktoken_make(const struct acktoken_key *key, int64_t recipient,
    char out[ACKTOKEN_MAX]);
/* The recipient a token names, or -1 when it is not a valid token. */
int64_t acktoken_check(const struct acktoken_key *key, const char *token);
/*
 * Free the calling thread's HMAC context (other threads' go when they
 * exit; the main thread's would stay until the process ends).
 */
void acktoken_thread_end(void);

#endif
