/*
 * test_phoneseal.c - sealing phone numbers, and the key files they need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"
#include "phoneseal.h"

static struct phone_sealer *
sealer_with(unsigned char fill)
{
	struct phone_key key;
	struct phone_sealer *ps;

	memset(&key, fill, sizeof(key));
	assert_non_null(ps = phone_sealer_new(&key));
	return ps;
}

/* Round trip; the same number seals the same; no digit shows. */
static void
test_seal_open(void **state)
{
	struct phone_sealer *ps = sealer_with(1);
	unsigned char a[PHONE_SEAL_LEN], b[PHONE_SEAL_LEN], c[PHONE_SEAL_LEN];
	char out[PHONE_SEAL_MAX + 1];

	(void)state;
	assert_int_equal(phone_seal(ps, "13800000001", a), 0);
	assert_int_equal(phone_seal(ps, "13800000001", b), 0);
	assert_int_equal(phone_seal(ps, "13800000002", c), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
	assert_null(memmem(a, sizeof(a), "138", 3));
	assert_int_equal(phone_open(ps, a, sizeof(a), out), 0);
	assert_string_equal(out, "13800000001");
	assert_int_equal(phone_seal(ps, "123456789012345", a), 0);
	assert_int_equal(phone_open(ps, a, sizeof(a), out), 0);
	assert_string_equal(out, "123456789012345");
	phone_sealer_free(ps);
}

/* Another key opens nothing; nor does a short or damaged seal. */
static void
test_wrong_key_and_damage(void **state)
{
	struct phone_sealer *ps = sealer_with(1), *other = sealer_with(2);
	unsigned char a[PHONE_SEAL_LEN], b[PHONE_SEAL_LEN];
	char out[PHONE_SEAL_MAX + 1];

	(void)state;
	assert_int_equal(phone_seal(ps, "13800000001", a), 0);
	assert_int_equal(phone_seal(other, "13800000001", b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(phone_open(other, a, sizeof(a), out), -1);
	assert_string_equal(out, "");
	assert_int_equal(phone_open(ps, a, sizeof(a) - 1, out), -1);
	assert_int_equal(phone_open(ps, NULL, sizeof(a), out), -1);
	a[7] ^= 1;
	assert_int_equal(phone_open(ps, a, sizeof(a), out), -1);
	/* Nothing empty, nothing longer than a seal holds. */
	assert_int_equal(phone_seal(ps, "", a), -1);
	assert_int_equal(phone_seal(ps, "1234567890123456", a), -1);
	phone_sealer_free(ps);
	phone_sealer_free(other);
}

static char dir[64];

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/sz-phoneseal-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Made once (0600), read back the same; missing, loose or short refused. */
static void
test_key_file(void **state)
{
	struct phone_key k1, k2;
	char path[128], err[256];
	struct stat sb;
	int fd;

	(void)state;
	assert_int_equal(phone_key_load(dir, false, &k1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "phone.key: no such file"));
	assert_int_equal(phone_key_load(dir, true, &k1, err, sizeof(err)), 0);
	assert_true(k1.created);
	assert_int_equal(strlen(k1.id), PHONE_KEY_ID_LEN);
	snprintf(path, sizeof(path), "%s/phone.key", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, PHONE_KEY_LEN);
	assert_int_equal(phone_key_load(dir, true, &k2, err, sizeof(err)), 0);
	assert_false(k2.created);
	assert_memory_equal(k1.k, k2.k, sizeof(k1.k));
	assert_string_equal(k1.id, k2.id);

	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(phone_key_load(dir, true, &k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0600), 0);

	assert_int_equal(truncate(path, 31), 0);
	assert_int_equal(phone_key_load(dir, true, &k2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a 32-byte key"));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(keyfile_load(path, k2.k, sizeof(k2.k), true, err,
	    sizeof(err)), KEYFILE_ERROR);
	assert_non_null(strstr(err, "not a regular file"));
	assert_int_equal(rmdir(path), 0);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(phone_key_load(dir, true, &k2, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_seal_open),
		cmocka_unit_test(test_wrong_key_and_damage),
		cmocka_unit_test_setup_teardown(test_key_file, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
