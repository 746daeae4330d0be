/*
 * test_acktoken.c - acknowledgement tokens: the MAC is HMAC-SHA256 of the
 * big-endian recipient id (checked against libcrypto's one-shot HMAC, an
 * independent computation), tokens round-trip, any changed character is
 * refused, and the per-thread keyed context follows a change of key and
 * gives the same tokens on every thread.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "acktoken.h"

static const struct acktoken_key key_a = { .k = { 1, 2, 3, 4, 5 } };
static const struct acktoken_key key_b = { .k = { 9, 8, 7 } };

/* The token as acktoken.h defines it, computed here independently. */
static void
expected(const struct acktoken_key *key, int64_t id, char out[ACKTOKEN_MAX])
{
	static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
	unsigned char raw[20], mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0, acc = 0;
	int bits = 0;
	size_t o = 0;

	for (int i = 0; i < 8; i++)
		raw[i] = (unsigned char)((uint64_t)id >> (56 - 8 * i));
	HMAC(EVP_sha256(), key->k, sizeof(key->k), raw, 8, mac, &len);
	memcpy(raw + 8, mac, 12);
	for (size_t i = 0; i < sizeof(raw); i++) {
		acc = (acc << 8) | raw[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	out[o] = '\0';
}

static void
test_matches_hmac(void **state)
{
	static const int64_t ids[] = { 1, 2, 255, 65536, 610000, INT64_MAX };
	char got[ACKTOKEN_MAX], want[ACKTOKEN_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		/* Alternate keys: the thread's context must be re-keyed. */
		for (int k = 0; k < 2; k++) {
			const struct acktoken_key *key = k ? &key_b : &key_a;

			acktoken_make(key, ids[i], got);
			expected(key, ids[i], want);
			assert_string_equal(got, want);
			assert_int_equal(strlen(got), 32);
			assert_int_equal(acktoken_check(key, got), ids[i]);
		}
	}
	acktoken_make(&key_a, 7, got);
	acktoken_make(&key_b, 7, want);
	assert_string_not_equal(got, want);
	assert_int_equal(acktoken_check(&key_b, got), -1);
}

static void
test_refuses_changes(void **state)
{
	char tok[ACKTOKEN_MAX], bad[ACKTOKEN_MAX + 1];

	(void)state;
	acktoken_make(&key_a, 4242, tok);
	for (size_t i = 0; i < 32; i++) {
		memcpy(bad, tok, sizeof(tok));
		bad[i] = bad[i] == 'a' ? 'b' : 'a';
		assert_int_equal(acktoken_check(&key_a, bad), -1);
	}
	assert_int_equal(acktoken_check(&key_a, ""), -1);
	memcpy(bad, tok, 31);
	bad[31] = '\0';
	assert_int_equal(acktoken_check(&key_a, bad), -1);
	memcpy(bad, tok, 32);
	bad[32] = 'a';
	bad[33] = '\0';
	assert_int_equal(acktoken_check(&key_a, bad), -1);
	memcpy(bad, tok, sizeof(tok));
	bad[5] = 'A';	/* not in the alphabet */
	assert_int_equal(acktoken_check(&key_a, bad), -1);
}

struct thread_arg {
	int64_t	first;
	int	mismatches;
};

static void *
thread_main(void *p)
{
	struct thread_arg *a = p;
	char got[ACKTOKEN_MAX], want[ACKTOKEN_MAX];

	for (int64_t id = a->first; id < a->first + 2000; id++) {
		const struct acktoken_key *key = id % 3 ? &key_a : &key_b;

		acktoken_make(key, id, got);
		expected(key, id, want);
		if (strcmp(got, want) != 0 || acktoken_check(key, got) != id)
			a->mismatches++;
	}
	return NULL;
}

static void
test_threads(void **state)
{
	struct thread_arg args[4];
	pthread_t t[4];

	(void)state;
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ .first = 1 + 1000 * i };
		assert_int_equal(pthread_create(&t[i], NULL, thread_main,
		    &args[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(args[i].mismatches, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matches_hmac),
		cmocka_unit_test(test_refuses_changes),
		cmocka_unit_test(test_threads),
	};

	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	acktoken_thread_end();
	return rc;
}
