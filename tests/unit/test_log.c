/*
 * test_log.c - what log lines may show of a phone number: log_phone()
 * keeps 3 + 4 digits, log_id() masks any 7-digit run inside a gateway's
 * id (Kannel's provider ids carry the number), even where it is cut to
 * fit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "log.h"

static void
test_log_phone(void **state)
{
	char out[16];

	(void)state;
	assert_string_equal(log_phone("13800000002", out, sizeof(out)),
	    "138****0002");
	assert_string_equal(log_phone("123", out, sizeof(out)), "****");
	assert_string_equal(log_phone(NULL, out, sizeof(out)), "****");
}

static void
test_log_id(void **state)
{
	char out[48];

	(void)state;
	assert_string_equal(log_id("4711:13800000002", out, sizeof(out)),
	    "4711:138****0002");
	assert_string_equal(log_id("8613800000002", out, sizeof(out)),
	    "861******0002");
	assert_string_equal(log_id("123456-abc", out, sizeof(out)),
	    "123456-abc");
	assert_string_equal(log_id("x12345678y987654321", out, sizeof(out)),
	    "x123*5678y987**4321");
	/* A run cut off by the size is still masked as a whole. */
	assert_string_equal(log_id("id:13800000002", out, 10), "id:138***");
	assert_int_equal(strlen(log_id("id:13800000002abc", out, 12)), 11);
	assert_null(strstr(log_id("0013800000002", out, sizeof(out)),
	    "00000"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_phone),
		cmocka_unit_test(test_log_id),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
