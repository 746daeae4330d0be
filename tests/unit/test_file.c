/*
 * test_file.c - the file plugin, loaded from its real shared object and
 * driven through the fake host: the lines it appends, parsed back, and
 * what it reports when the append fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "fakehost.h"

#ifndef PLUGIN_BUILD_DIR
#error "PLUGIN_BUILD_DIR must name the directory holding file.so"
#endif

#define TEXT	"\xe3\x80\x90\xe9\x98\xb2\xe6\xb1\x9b\xe3\x80\x91 " \
	"\"quoted\"\nsecond line, reply 1"

static const struct sz_plugin *plugin;
static void *dl;

static int
setup(void **state)
{
	struct fakehost *fh = fh_new();

	fh_set_string(fh, "path", "/var/lib/sanzhang/drill.jsonl");
	if (fh_open(fh, plugin) != 0)
		fail_msg("open: %s", fh_err(fh));
	*state = fh;
	return 0;
}

static int
teardown(void **state)
{
	fh_free(*state);
	return 0;
}

/* n messages sharing TEXT; ids d-0.., phones 1380013800N. */
static struct sz_msg *
make_msgs(size_t n, const struct sz_msg **ptrs)
{
	struct sz_msg *m = calloc(n, sizeof(*m));
	static char ids[64][24], phones[64][24], acks[64][48];

	assert_non_null(m);
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[i], sizeof(ids[i]), "d-%u", (unsigned)i);
		snprintf(phones[i], sizeof(phones[i]), "138%08u", (unsigned)i);
		snprintf(acks[i], sizeof(acks[i]), "http://h/a/t%u", (unsigned)i);
		m[i].id = ids[i];
		m[i].phone = phones[i];
		m[i].name = "\xe6\x9d\x8e\xe5\x9b\x9b";
		m[i].text = TEXT;
		m[i].ack_url = acks[i];
		m[i].json = "{}";
		ptrs[i] = &m[i];
	}
	return m;
}

/* Seconds since the epoch of an RFC 3339 UTC time "YYYY-MM-DDTHH:MM:SSZ". */
static long long
rfc3339(const char *s)
{
	struct tm tm = { 0 };
	int n = 0;

	assert_int_equal(sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n),
	    6);
	assert_int_equal(n, 20);
	assert_int_equal(strlen(s), 20);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm);
}

/* Parse the appended file back, line by line; returns the count. */
static size_t
check_lines(const struct fakehost *fh, const struct sz_msg *m, size_t n)
{
	const char *p = fh->file;
	size_t count = 0;

	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		json_error_t jerr;
		json_t *o;

		assert_non_null(nl);	/* every line ends */
		o = json_loadb(p, (size_t)(nl - p), JSON_REJECT_DUPLICATES,
		    &jerr);
		if (o == NULL)
			fail_msg("line %zu: %s", count, jerr.text);
		assert_true(count < n);
		assert_int_equal(json_object_size(o), 6);
		assert_string_equal(json_string_value(json_object_get(o, "id")),
		    m[count].id);
		assert_string_equal(json_string_value(json_object_get(o,
		    "phone")), m[count].phone);
		assert_string_equal(json_string_value(json_object_get(o,
		    "name")), m[count].name);
		assert_string_equal(json_string_value(json_object_get(o,
		    "text")), m[count].text);
		if (m[count].ack_url == NULL)
			assert_true(json_is_null(json_object_get(o, "ack_url")));
		else
			assert_string_equal(json_string_value(json_object_get(o,
			    "ack_url")), m[count].ack_url);
		assert_true(llabs(rfc3339(json_string_value(json_object_get(o,
		    "time"))) - (long long)time(NULL)) <= 5);
		json_decref(o);
		count++;
		p = nl + 1;
	}
	return count;
}

static void
test_plugin_shape(void **state)
{
	struct fakehost *fh = fh_new();

	assert_string_equal(plugin->name, "file");
	assert_int_equal(plugin->max_batch, 64);
	/* path is required. */
	assert_int_equal(fh_open(fh, plugin), -1);
	assert_non_null(strstr(fh_err(fh), "path"));
	fh_free(fh);
	fh = fh_new();
	fh_set_string(fh, "path", "");
	assert_int_equal(fh_open(fh, plugin), -1);
	fh_free(fh);
}

static void
test_one_line(void **state)
{
	struct fakehost *fh = *state;
	const struct sz_msg *ptrs[1];
	struct sz_msg *m = make_msgs(1, ptrs);

	m[0].ack_url = NULL;
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), ptrs, 1), 0);
	assert_int_equal(fh->n_file_appends, 1);
	assert_int_equal(check_lines(fh, m, 1), 1);
	/* Compact: one line, no pretty-printing spaces after separators. */
	assert_null(strstr(fh->file, "\": "));
	assert_int_equal(fh->n_outcomes, 1);
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
	assert_string_equal(fh->outcomes[0].msg_id, "d-0");
	free(m);
}

static void
test_batch(void **state)
{
	struct fakehost *fh = *state;
	const struct sz_msg *ptrs[64];
	struct sz_msg *m = make_msgs(64, ptrs);

	assert_int_equal(plugin->send(fh->state, fh_chan(fh), ptrs, 3), 0);
	assert_int_equal(fh->n_file_appends, 1);
	assert_int_equal(check_lines(fh, m, 3), 3);
	assert_int_equal(fh->n_outcomes, 3);

	/* A full batch is still one append. */
	fh_file_reset(fh);
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), ptrs, 64), 0);
	assert_int_equal(fh->n_file_appends, 2);
	assert_int_equal(check_lines(fh, m, 64), 64);
	assert_int_equal(fh->n_outcomes, 67);
	for (size_t i = 0; i < fh->n_outcomes; i++)
		assert_int_equal(fh->outcomes[i].outcome, SZ_ACCEPTED);
	free(m);
}

static void
test_append_fails(void **state)
{
	struct fakehost *fh = *state;
	const struct sz_msg *ptrs[4];
	struct sz_msg *m = make_msgs(4, ptrs);

	fh->file_errno = ENOSPC;
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), ptrs, 4), 0);
	assert_int_equal(fh->n_file_appends, 1);
	assert_int_equal(fh->n_outcomes, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(fh->outcomes[i].outcome, SZ_RETRY);
		assert_string_equal(fh->outcomes[i].why, strerror(ENOSPC));
	}
	/* No phone number in the log either. */
	for (size_t i = 0; i < 4; i++)
		assert_false(fh_logs_contain(fh, m[i].phone));
	free(m);
}

/* A message jansson cannot encode fails alone; the others are written. */
static void
test_bad_utf8(void **state)
{
	struct fakehost *fh = *state;
	const struct sz_msg *ptrs[3];
	struct sz_msg *m = make_msgs(3, ptrs);

	m[1].name = "\xff\xfe";
	assert_int_equal(plugin->send(fh->state, fh_chan(fh), ptrs, 3), 0);
	assert_int_equal(fh->n_outcomes, 3);
	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
	assert_int_equal(fh->outcomes[1].outcome, SZ_FAILED);
	assert_int_equal(fh->outcomes[2].outcome, SZ_ACCEPTED);
	m[1] = m[2];		/* the file holds lines 0 and 2 */
	assert_int_equal(check_lines(fh, m, 2), 2);
	assert_false(fh_logs_contain(fh, "13800000001"));
	free(m);
}

static int
group_setup(void **state)
{
	plugin = fh_load_plugin(PLUGIN_BUILD_DIR "/file.so", &dl);
	return plugin == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	fh_unload_plugin(dl);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plugin_shape),
		cmocka_unit_test_setup_teardown(test_one_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_utf8, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
