/*
 * test_quiet.c - quiet hours: parsing, and the end of the window that
 * holds a given instant, in Beijing time, across midnight.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../daemon/quiet.h"

/* 2026-11-29 00:00 in Beijing = 2026-11-28 16:00 UTC, in ms. */
#define BJ_MIDNIGHT	1795881600000LL
#define MIN		(60LL * 1000)
#define HOUR		(60 * MIN)

static struct quiet
parse_ok(const char *s)
{
	struct quiet q = { 0 };

	assert_int_equal(quiet_parse(s, &q), 0);
	assert_true(q.set);
	return q;
}

static void
test_parse(void **state)
{
	static const char *const bad[] = {
		"", "22:00", "22:00-", "-07:00", "22:00-22:00", "24:00-07:00",
		"22:60-07:00", "2200-0700", "22:00 - 07:00", "22:00-07:00 ",
		"a2:00-07:00", "22:00-07:0x", "+2:00-07:00", "22:00~07:00",
	};
	struct quiet q = parse_ok("22:00-07:00");

	(void)state;
	assert_int_equal(q.start, 22 * 60);
	assert_int_equal(q.end, 7 * 60);
	q = parse_ok("00:00-23:59");
	assert_int_equal(q.end, 23 * 60 + 59);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct quiet z = { 0 };

		if (quiet_parse(bad[i], &z) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_false(z.set);
	}
}

static void
test_overnight(void **state)
{
	struct quiet q = parse_ok("22:00-07:00");
	int64_t day = BJ_MIDNIGHT;

	(void)state;
	/* 21:59 the day before: not quiet; 22:00: quiet until 07:00. */
	assert_int_equal(quiet_until(&q, day - 2 * HOUR - MIN), 0);
	assert_int_equal(quiet_until(&q, day - 2 * HOUR), day + 7 * HOUR);
	assert_int_equal(quiet_until(&q, day - 1), day + 7 * HOUR);
	assert_int_equal(quiet_until(&q, day), day + 7 * HOUR);
	assert_int_equal(quiet_until(&q, day + 7 * HOUR - 1), day + 7 * HOUR);
	assert_int_equal(quiet_until(&q, day + 7 * HOUR), 0);
	assert_int_equal(quiet_until(&q, day + 12 * HOUR), 0);
	assert_int_equal(quiet_until(&q, day + 23 * HOUR),
	    day + 24 * HOUR + 7 * HOUR);
}

static void
test_daytime(void **state)
{
	struct quiet q = parse_ok("12:00-14:30");
	int64_t day = BJ_MIDNIGHT;

	(void)state;
	assert_int_equal(quiet_until(&q, day + 12 * HOUR - 1), 0);
	assert_int_equal(quiet_until(&q, day + 12 * HOUR),
	    day + 14 * HOUR + 30 * MIN);
	assert_int_equal(quiet_until(&q, day + 14 * HOUR + 29 * MIN),
	    day + 14 * HOUR + 30 * MIN);
	assert_int_equal(quiet_until(&q, day + 14 * HOUR + 30 * MIN), 0);
	assert_int_equal(quiet_until(&q, day + 3 * HOUR), 0);
}

static void
test_unset(void **state)
{
	struct quiet q = { 0 };

	(void)state;
	assert_int_equal(quiet_until(&q, BJ_MIDNIGHT), 0);
	assert_int_equal(quiet_until(NULL, BJ_MIDNIGHT), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_overnight),
		cmocka_unit_test(test_daytime),
		cmocka_unit_test(test_unset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
