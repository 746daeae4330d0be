/*
 * test_idtable.c - ids to pointers: growth, deletion by backward shift.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "idtable.h"

static void
test_put_get_del(void **state)
{
	struct idtable t = { 0 };
	static int vals[20000];

	assert_null(idtable_get(&t, 1));
	for (int i = 0; i < 20000; i++)
		assert_int_equal(idtable_put(&t, (int64_t)i * 7 + 1, &vals[i]), 0);
	assert_int_equal(t.n, 20000);
	for (int i = 0; i < 20000; i++)
		assert_ptr_equal(idtable_get(&t, (int64_t)i * 7 + 1), &vals[i]);
	/* Remove every other one: the rest must all still be found. */
	for (int i = 0; i < 20000; i += 2)
		idtable_del(&t, (int64_t)i * 7 + 1);
	idtable_del(&t, 999999999);
	assert_int_equal(t.n, 10000);
	for (int i = 0; i < 20000; i++)
		if (i % 2)
			assert_ptr_equal(idtable_get(&t, (int64_t)i * 7 + 1),
			    &vals[i]);
		else
			assert_null(idtable_get(&t, (int64_t)i * 7 + 1));
	idtable_free(&t);
	assert_null(idtable_get(&t, 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get_del),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
