/*
 * test_plugin.c - the plugin loader against real shared objects built from
 * tests/plugins/, and channel settings checked against a plugin's list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../daemon/config.h"
#include "../../daemon/plugin.h"

#ifndef TEST_PLUGIN_DIR
#error "TEST_PLUGIN_DIR must name the directory of the test plugins"
#endif

static void
expect_refusal(const char *name, const char *needle)
{
	struct plugin_set set = { 0 };
	char err[512] = "";

	assert_null(plugin_get(&set, TEST_PLUGIN_DIR, name, err, sizeof(err)));
	if (strstr(err, needle) == NULL)
		fail_msg("loading %s: expected \"%s\" in \"%s\"", name, needle, err);
	assert_int_equal(set.n, 0);
	plugin_set_free(&set);
}

static void
test_good_plugin_loads_once(void **state)
{
	struct plugin_set set = { 0 };
	const struct plugin_mod *a, *b;
	char err[512];

	a = plugin_get(&set, TEST_PLUGIN_DIR, "goodplug", err, sizeof(err));
	if (a == NULL)
		fail_msg("%s", err);
	assert_string_equal(a->p->name, "goodplug");
	assert_int_equal(a->p->abi, SZ_PLUGIN_ABI);
	b = plugin_get(&set, TEST_PLUGIN_DIR, "goodplug", err, sizeof(err));
	assert_ptr_equal(a, b);
	assert_int_equal(set.n, 1);
	plugin_set_free(&set);
}

static void
test_refusals(void **state)
{
	expect_refusal("badabi", "ABI");
	expect_refusal("wrongname", "calls itself \"othername\"");
	expect_refusal("nosym", "does not export sanzhang_plugin");
	expect_refusal("missing", "cannot load");
	expect_refusal("Bad-Name", "must be 1-32 of a-z 0-9 _");
	expect_refusal("../goodplug", "must be 1-32");
}

/* Load a config with one channel of goodplug and check its settings. */
static void
check_channel(const char *body, const char *needle)
{
	char dir[] = "/tmp/sz-test-plugin-XXXXXX", path[64], err[512] = "";
	struct plugin_set set = { 0 };
	const struct plugin_mod *m;
	struct config *cfg;
	FILE *f;
	int rc;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	assert_non_null(f = fopen(path, "w"));
	fprintf(f, "channels = (\n  { name = \"hook\"; plugin = \"goodplug\";\n"
	    "%s\n  }\n);\n", body);
	fclose(f);
	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	m = plugin_get(&set, TEST_PLUGIN_DIR, "goodplug", err, sizeof(err));
	assert_non_null(m);
	rc = plugin_check_settings(m->p, &cfg->channels[0], path, err,
	    sizeof(err));
	if (needle == NULL)
		assert_int_equal(rc, 0);
	else if (rc == 0 || strstr(err, needle) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", needle, err);
	config_free(cfg);
	plugin_set_free(&set);
	unlink(path);
	rmdir(dir);
}

static void
test_settings(void **state)
{
	check_channel("    url = \"http://127.0.0.1:1/\"; retries = 3;", NULL);
	check_channel("    url = \"http://x/\";\n    bogus = 1;",
	    ":4: channel 'hook': plugin goodplug has no setting 'bogus'");
	check_channel("    retries = 3;", "needs 'url'");
	check_channel("    url = \"http://x/\"; retries = \"three\";",
	    "'retries' must be an integer");
	check_channel("    url = 5;", "'url' must be a string");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_plugin_loads_once),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_settings),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
