/*
 * test_ratelimit.c - buckets per address: burst, refill, Retry-After, one
 * log line per address, IPv6 by /64, and no budget regained by collisions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "ratelimit.h"

static struct ratelimit rl = RATELIMIT_INIT(3.0, 6.0);

static void
reset(void)
{
	rl = (struct ratelimit)RATELIMIT_INIT(3.0, 6.0);
}

static void
test_burst_then_refill(void **state)
{
	unsigned retry = 0;

	reset();
	for (int i = 0; i < 3; i++)
		assert_int_equal(ratelimit_take(&rl, "192.0.2.1", 100.0, &retry),
		    RATELIMIT_ALLOW);
	assert_int_equal(ratelimit_take(&rl, "192.0.2.1", 100.0, &retry),
	    RATELIMIT_DENY_FIRST);
	assert_int_equal(retry, 6);
	assert_int_equal(ratelimit_take(&rl, "192.0.2.1", 103.0, &retry),
	    RATELIMIT_DENY);
	assert_int_equal(retry, 3);
	/* Another address has its own budget. */
	assert_int_equal(ratelimit_take(&rl, "192.0.2.2", 103.0, NULL),
	    RATELIMIT_ALLOW);
	/* One try back after 6 s; then refused again, and said again. */
	assert_int_equal(ratelimit_take(&rl, "192.0.2.1", 109.5, &retry),
	    RATELIMIT_ALLOW);
	assert_int_equal(ratelimit_take(&rl, "192.0.2.1", 109.5, &retry),
	    RATELIMIT_DENY_FIRST);
}

static void
test_ipv6_by_prefix(void **state)
{
	reset();
	for (int i = 0; i < 3; i++) {
		char a[64];

		snprintf(a, sizeof(a), "2001:db8:1:2::%x", i + 1);
		assert_int_equal(ratelimit_take(&rl, a, 10.0, NULL),
		    RATELIMIT_ALLOW);
	}
	assert_int_not_equal(ratelimit_take(&rl, "2001:db8:1:2:ffff::9", 10.0,
	    NULL), RATELIMIT_ALLOW);
	assert_int_equal(ratelimit_take(&rl, "2001:db8:1:3::1", 10.0, NULL),
	    RATELIMIT_ALLOW);
}

/* Two addresses in one slot share its bucket: switching gives nothing. */
static void
test_collisions_share(void **state)
{
	static const unsigned char a4[4] = { 10, 0, 0, 1 };
	struct ratelimit_slot *s = NULL;
	char b[32];
	int allowed = 0;

	reset();
	(void)ratelimit_take(&rl, "10.0.0.1", 1.0, NULL);	/* 2 left */
	for (size_t k = 0; k < RATELIMIT_SLOTS; k++)
		if (rl.slot[k].used)
			s = &rl.slot[k];
	assert_non_null(s);
	/* Another address that lands in the same slot takes it over. */
	for (unsigned i = 2; memcmp(s->key + 12, a4, 4) == 0; i++) {
		assert_true(i < (1u << 24));
		snprintf(b, sizeof(b), "10.%u.%u.%u", i >> 16, (i >> 8) & 255,
		    i & 255);
		(void)ratelimit_take(&rl, b, 1.0, NULL);
	}
	/* It inherited 2 and spent 1: one try left between the two of them. */
	for (int i = 0; i < 20; i++)
		allowed += ratelimit_take(&rl, i % 2 ? "10.0.0.1" : b, 1.0,
		    NULL) == RATELIMIT_ALLOW;
	assert_int_equal(allowed, 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_ipv6_by_prefix),
		cmocka_unit_test(test_collisions_share),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
