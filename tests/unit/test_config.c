/*
 * test_config.c - config_load() on the shipped configs and on small
 * fixtures written to a private temporary directory: every kind of error
 * must name the right file, line and key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libconfig.h>
#include <openssl/sha.h>

/* The path, not "config.h": that name is autoconf's in the build dir. */
#include "../../daemon/config.h"
#include "../../daemon/log.h"

#ifndef SRCDIR
#define SRCDIR "."
#endif

#define MAXFILES 8

/* SHA-256 of "demo-admin-secret" and "demo-viewer-secret". */
#define HASH_A	"bba62272949dc8ca1b1782eeceeb864e0e7a036a" \
		"6abf18d29966e4518312aff4"
#define HASH_B	"bbecdcf9cc96017c75b2467bc950bf7c7361ec00" \
		"26bdd8f43fffc7d29c8df9c8"
/* HASH_A in upper case: the same hash. */
#define HASH_A_UC "BBA62272949DC8CA1B1782EECEEB864E0E7A036A" \
		"6ABF18D29966E4518312AFF4"

struct fixture {
	char	 dir[256];
	char	*files[MAXFILES];
	int	 n_files;
	char	 err[1024];
};

static int
fx_setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "%s/sz-config-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int
fx_teardown(void **state)
{
	struct fixture *fx = *state;

	for (int i = 0; i < fx->n_files; i++) {
		unlink(fx->files[i]);
		free(fx->files[i]);
	}
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Write text to DIR/name and return the path (owned by the fixture). */
static const char *
fx_write(struct fixture *fx, const char *name, const char *text)
{
	size_t len = strlen(fx->dir) + strlen(name) + 2;
	char *path = malloc(len);
	FILE *fp;

	assert_true(fx->n_files < MAXFILES);
	assert_non_null(path);
	snprintf(path, len, "%s/%s", fx->dir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	for (int i = 0; i < fx->n_files; i++)
		if (strcmp(fx->files[i], path) == 0) {
			free(path);
			return fx->files[i];
		}
	fx->files[fx->n_files++] = path;
	return path;
}

static struct config *
fx_load(struct fixture *fx, const char *text)
{
	struct config *cfg;

	cfg = config_load(fx_write(fx, "t.conf", text), fx->err,
	    sizeof(fx->err));
	if (cfg == NULL)
		fail_msg("unexpected error: %s", fx->err);
	return cfg;
}

/* The load must fail with "DIR/t.conf:LINE: ..." containing every want. */
static void
fx_fails(struct fixture *fx, const char *text, int line, ...)
{
	char prefix[512];
	const char *path = fx_write(fx, "t.conf", text), *want;
	struct config *cfg;
	va_list ap;

	cfg = config_load(path, fx->err, sizeof(fx->err));
	if (cfg != NULL) {
		config_free(cfg);
		fail_msg("loaded, expected an error at line %d:\n%s", line,
		    text);
	}
	snprintf(prefix, sizeof(prefix), "%s:%d: ", path, line);
	if (strncmp(fx->err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", fx->err,
		    prefix);
	va_start(ap, line);
	while ((want = va_arg(ap, const char *)) != NULL)
		if (strstr(fx->err, want) == NULL)
			fail_msg("error \"%s\" lacks \"%s\"", fx->err, want);
	va_end(ap);
}

static const struct cfg_token *
find_secret(const struct config *cfg, const char *secret)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)secret, strlen(secret), md);
	return config_token_find(cfg, md);
}

static char *
slurp(const char *path)
{
	char *buf;
	long len;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	assert_true((len = ftell(fp)) > 0);
	rewind(fp);
	assert_non_null(buf = calloc(1, (size_t)len + 1));
	assert_int_equal(fread(buf, 1, (size_t)len, fp), (size_t)len);
	fclose(fp);
	return buf;
}

/* Replace every "@STATE_DIR@" in s by dir, as the demo script's sed does. */
static char *
subst_state_dir(const char *s, const char *dir)
{
	const char *key = "@STATE_DIR@", *p;
	char *out = calloc(1, strlen(s) * 4 + 1);

	assert_non_null(out);
	while ((p = strstr(s, key)) != NULL) {
		strncat(out, s, (size_t)(p - s));
		strcat(out, dir);
		s = p + strlen(key);
	}
	strcat(out, s);
	return out;
}

static const struct cfg_route *
route(const struct config *cfg, const char *role)
{
	for (size_t i = 0; i < cfg->n_routing; i++)
		if (strcmp(cfg->routing[i].role, role) == 0)
			return &cfg->routing[i];
	return NULL;
}

/* ---- the shipped files ----------------------------------------------- */

static void
test_example(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg;
	const char *url;

	cfg = config_load(SRCDIR "/etc/sanzhangd.conf", fx->err,
	    sizeof(fx->err));
	if (cfg == NULL)
		fail_msg("%s", fx->err);
	assert_string_equal(cfg->state_dir, "/var/lib/sanzhang");
	assert_int_equal(cfg->n_listen, 2);
	assert_string_equal(cfg->listen[1].host, "::1");
	assert_string_equal(cfg->listen[1].port, "8787");
	assert_string_equal(cfg->public_url,
	    "https://alert.nanhu.example.gov.cn");
	assert_int_equal(cfg->n_tokens, 4);
	assert_int_equal(cfg->tokens[1].role, TOKEN_OPERATOR);
	assert_int_equal(cfg->tokens[1].n_scope, 1);
	assert_int_equal(cfg->n_channels, 2);
	assert_true(cfg->channels[0].rate == 50.0);
	assert_true(cfg->channels[1].rate == 20.0);
	assert_int_equal(cfg->channels[1].batch, 0);
	/* Plugin settings stay reachable through the libconfig group. */
	assert_true(config_setting_lookup_string(cfg->channels[1].settings,
	    "url", &url));
	assert_string_equal(url,
	    "https://im-bridge.example.gov.cn/hooks/sanzhang");
	assert_int_equal(cfg->n_routing, 5);
	assert_int_equal(route(cfg, "duty_officer")->n_channels, 2);
	assert_int_equal(cfg->n_escalation, 3);
	assert_int_equal(cfg->escalation[0].n_steps, 3);
	assert_int_equal(cfg->escalation[0].steps[2].after, 600);
	assert_string_equal(cfg->escalation[0].steps[2].action, "notify_duty");
	assert_int_equal(cfg->escalation[2].n_steps, 0);
	assert_int_equal(cfg->n_templates, 3);
	config_free(cfg);
}

static void
test_demo(void **state)
{
	struct fixture *fx = *state;
	char *raw = slurp(SRCDIR "/etc/demo.conf");
	char *text = subst_state_dir(raw, "/tmp/x");
	const struct cfg_token *t;
	struct config *cfg = fx_load(fx, text);

	assert_non_null(cfg);
	assert_string_equal(cfg->state_dir, "/tmp/x");
	assert_string_equal(cfg->control_socket, "/tmp/x/control.sock");
	assert_int_equal(cfg->n_listen, 1);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_string_equal(cfg->public_url, "http://127.0.0.1:8787");
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	/* The secrets the demo file's comments give. */
	assert_non_null(t = find_secret(cfg, "demo-admin-secret"));
	assert_int_equal(t->role, TOKEN_ADMIN);
	assert_int_equal(t->n_scope, 0);
	assert_non_null(t = find_secret(cfg, "demo-viewer-secret"));
	assert_int_equal(t->role, TOKEN_VIEWER);
	assert_int_equal(t->n_scope, 1);
	assert_string_equal(t->scope[0], "220104001");
	/* The file channel, and SMS through the demo's own Kannel. */
	assert_int_equal(cfg->n_channels, 2);
	assert_string_equal(cfg->channels[0].plugin, "file");
	assert_string_equal(cfg->channels[1].plugin, "sms_kannel");
	assert_non_null(cfg->channels[1].inbound_secret);
	assert_int_equal(cfg->n_routing, 5);
	assert_int_equal(cfg->n_templates, 3);
	config_free(cfg);
	free(text);
	free(raw);
}

/* ---- defaults and values ---------------------------------------------- */

static void
test_defaults(void **state)
{
	struct config *cfg = fx_load(*state, "# nothing\n");

	assert_non_null(cfg);
	assert_string_equal(cfg->state_dir, LOCALSTATEDIR "/lib/sanzhang");
	assert_string_equal(cfg->control_socket,
	    RUNSTATEDIR "/sanzhang/control.sock");
	assert_string_equal(cfg->plugin_dir, PLUGINDIR);
	assert_string_equal(cfg->public_url, "http://127.0.0.1:8787");
	assert_int_equal(cfg->n_listen, 1);
	assert_string_equal(cfg->listen[0].host, "127.0.0.1");
	assert_string_equal(cfg->listen[0].port, "8787");
	assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
	assert_int_equal(cfg->max_body, 268435456);
	assert_int_equal(cfg->http_timeout, 60);
	assert_int_equal(cfg->n_tokens + cfg->n_channels + cfg->n_routing +
	    cfg->n_escalation + cfg->n_templates, 0);
	assert_null(config_token_find(cfg, (const unsigned char *)
	    "0123456789abcdef0123456789abcdef"));
	config_free(cfg);

	cfg = fx_load(*state,
	    "channels = ( { name = \"c\"; plugin = \"p\"; } );\n");
	assert_true(cfg->channels[0].rate == 0.0);
	assert_int_equal(cfg->channels[0].concurrency, 8);
	assert_int_equal(cfg->channels[0].batch, 0);
	config_free(cfg);
}

static void
test_values(void **state)
{
	struct config *cfg = fx_load(*state,
	    "listen = [];\n"
	    "control_socket = \"\";\n"
	    "public_url = \"HTTPS://a.example/base///\";\n"
	    "log_level = \"debug\";\n"
	    "max_body = 3000000000L;\n"
	    "http_timeout = 3600;\n"
	    "channels = ( { name = \"a-b_1\"; plugin = \"x_1\"; rate = 5;\n"
	    "  concurrency = 1024; batch = 1000; extra = { deep = 1; }; } );\n"
	    "tokens = ( { name = \"A.b_c-9\"; role = \"viewer\"; scope = [\n"
	    "  \"220104001\", \"220104001001\", \"220104001001/G01\",\n"
	    "  \"220104001001/G01/12\", \"220183105201/三组/5/2\" ];\n"
	    "  sha256 = \"" HASH_A_UC "\"; } );\n");

	assert_non_null(cfg);
	assert_int_equal(cfg->n_listen, 0);
	assert_string_equal(cfg->control_socket, "");
	assert_string_equal(cfg->public_url, "HTTPS://a.example/base");
	assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(cfg->max_body, 3000000000LL);
	assert_true(cfg->channels[0].rate == 5.0);
	assert_int_equal(cfg->channels[0].concurrency, 1024);
	assert_int_equal(cfg->channels[0].batch, 1000);
	assert_int_equal(cfg->tokens[0].n_scope, 5);
	assert_int_equal(cfg->tokens[0].line, 9);
	/* Upper-case hex is the same hash. */
	assert_ptr_equal(find_secret(cfg, "demo-admin-secret"),
	    &cfg->tokens[0]);
	config_free(cfg);
}

static void
test_listen(void **state)
{
	struct config *cfg = fx_load(*state,
	    "listen = ( \"0.0.0.0:80\", \"[::]:08787\",\n"
	    "  \"localhost:65535\" );\n");

	assert_int_equal(cfg->n_listen, 3);
	assert_string_equal(cfg->listen[0].host, "0.0.0.0");
	assert_string_equal(cfg->listen[0].port, "80");
	assert_string_equal(cfg->listen[1].host, "::");
	assert_string_equal(cfg->listen[1].port, "8787");
	assert_string_equal(cfg->listen[2].host, "localhost");
	assert_int_equal(cfg->listen[0].line, 1);
	assert_int_equal(cfg->listen[2].line, 2);
	config_free(cfg);

	fx_fails(*state, "listen = [\n \"a:1\",\n \"::1:8787\" ];\n", 3,
	    "'listen[1]'", "[::1]:8787", NULL);
	fx_fails(*state, "listen = [ \"127.0.0.1:0\" ];\n", 1, "'listen[0]'",
	    NULL);
	fx_fails(*state, "listen = [ \"127.0.0.1:65536\" ];\n", 1, "port",
	    NULL);
	fx_fails(*state, "listen = [ \"127.0.0.1\" ];\n", 1, "host:port", NULL);
	fx_fails(*state, "listen = [ \":8787\" ];\n", 1, "listen", NULL);
	fx_fails(*state, "listen = [ \"[::1]8787\" ];\n", 1, "listen", NULL);
	fx_fails(*state, "listen = [ \"a:x1\" ];\n", 1, "listen", NULL);
	fx_fails(*state, "listen = [ \"a:1\", \"a:01\" ];\n", 1, "repeats",
	    NULL);
	fx_fails(*state, "\nlisten = \"127.0.0.1:8787\";\n", 2,
	    "'listen' must be an array", NULL);
	fx_fails(*state, "listen = [ 8787 ];\n", 1,
	    "'listen[0]' must be a string", NULL);
}

/* ---- errors ------------------------------------------------------------ */

static void
test_missing_file(void **state)
{
	struct fixture *fx = *state;
	char path[512], want[600];

	snprintf(path, sizeof(path), "%s/absent.conf", fx->dir);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_null(config_load(path, fx->err, sizeof(fx->err)));
	assert_string_equal(fx->err, want);
	/* A NULL or short error buffer is allowed. */
	assert_null(config_load(path, NULL, 0));
	assert_null(config_load(path, fx->err, 8));
	assert_int_equal(strlen(fx->err), 7);
	fx_write(fx, "t.conf", "tokens = ( { } );\n");
	snprintf(path, sizeof(path), "%s/t.conf", fx->dir);
	for (size_t len = 1; len < 80; len++) {
		assert_null(config_load(path, fx->err, len));
		assert_true(strlen(fx->err) < len);
	}
}

static void
test_parse_error(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "log_level = \"info\";\n\nmax_body = ;\n", 3,
	    "syntax error", NULL);
	fx_fails(fx, "a = 1;\nb = 2;\na = 3;\n", 3, "duplicate setting",
	    NULL);
}

static void
test_include(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg;
	char want[600];

	fx_write(fx, "inc.conf", "log_level = \"warn\";\n");
	cfg = fx_load(fx, "@include \"inc.conf\"\nhttp_timeout = 5;\n");
	assert_int_equal(cfg->log_level, LOG_LEVEL_WARN);
	config_free(cfg);

	/* An error in an included file names that file. */
	fx_write(fx, "inc.conf", "\nbogus = 1;\n");
	fx_write(fx, "t.conf", "@include \"inc.conf\"\n");
	snprintf(want, sizeof(want), "%s/t.conf", fx->dir);
	assert_null(config_load(want, fx->err, sizeof(fx->err)));
	snprintf(want, sizeof(want), "%s/inc.conf:2: unknown key 'bogus' in",
	    fx->dir);
	if (strncmp(fx->err, want, strlen(want)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", fx->err, want);
	fx_write(fx, "inc.conf", "a = 1;\nb = ;\n");
	snprintf(want, sizeof(want), "%s/t.conf", fx->dir);
	assert_null(config_load(want, fx->err, sizeof(fx->err)));
	snprintf(want, sizeof(want), "%s/inc.conf:2: syntax error", fx->dir);
	assert_string_equal(fx->err, want);
}

static void
test_unknown_keys(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "log_level = \"info\";\n\nloglevel = \"debug\";\n", 3,
	    "unknown key 'loglevel' in the top level", NULL);
	fx_fails(fx, "tokens = (\n { name = \"a\"; role = \"admin\";\n"
	    "   secret = \"x\"; } );\n", 3,
	    "unknown key 'secret' in tokens[0]", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"p\"; } );\n"
	    "routing = {\n grid_leader = [ \"c\" ];\n"
	    " street_leader = [ \"c\" ]; };\n", 4,
	    "unknown key 'street_leader' in routing", NULL);
	fx_fails(fx, "escalation = { drill = (\n { after = 1; action = "
	    "\"resend\"; },\n { after = 2; action = \"backup\"; to = 1; }\n"
	    "); };\n", 3, "unknown key 'to' in escalation.drill[1]", NULL);
	fx_fails(fx, "templates = {\n notice = \"x\";\n alarm = \"y\"; };\n",
	    3, "unknown key 'alarm' in templates", NULL);
}

static void
test_wrong_types(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "\nstate_dir = 5;\n", 2, "'state_dir' must be a string",
	    NULL);
	fx_fails(fx, "http_timeout = \"60\";\n", 1,
	    "'http_timeout' must be an integer", NULL);
	fx_fails(fx, "max_body = 1e9;\n", 1, "'max_body' must be an integer",
	    NULL);
	fx_fails(fx, "tokens = { };\n", 1, "'tokens' must be a list", NULL);
	fx_fails(fx, "tokens = ( \"x\" );\n", 1,
	    "'tokens[0]' must be a group", NULL);
	fx_fails(fx, "tokens = (\n { name = 1; } );\n", 2,
	    "'tokens[0].name' must be a string", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"p\";\n"
	    "  rate = \"fast\"; } );\n", 2,
	    "'channels[0].rate' must be a number", NULL);
	fx_fails(fx, "routing = [ ];\n", 1, "'routing' must be a group", NULL);
	fx_fails(fx, "escalation = { notice = { }; };\n", 1,
	    "'escalation.notice' must be a list", NULL);
	fx_fails(fx, "templates = { drill = 1; };\n", 1,
	    "'templates.drill' must be a string", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\"; sha256 = \"" HASH_A "\";\n"
	    "  role = \"admin\"; scope = \"220104001\"; } );\n", 2,
	    "'tokens[0].scope' must be an array", NULL);
}

static void
test_bad_values(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "state_dir = \"var/lib\";\n", 1, "'state_dir'",
	    "absolute", NULL);
	fx_fails(fx, "control_socket = \"run/x.sock\";\n", 1,
	    "'control_socket'", NULL);
	fx_fails(fx, "control_socket = \"/run/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    ".sock\";\n", 1, "too long", NULL);
	fx_fails(fx, "public_url = \"ftp://x\";\n", 1, "'public_url'", NULL);
	fx_fails(fx, "public_url = \"https://\";\n", 1, "'public_url'", NULL);
	fx_fails(fx, "public_url = \"https://x/?a=1\";\n", 1, "'public_url'",
	    NULL);
	fx_fails(fx, "log_level = \"loud\";\n", 1, "'log_level'", "loud",
	    NULL);
	fx_fails(fx, "max_body = 1023;\n", 1, "'max_body'", "1024", NULL);
	fx_fails(fx, "http_timeout = 0;\n", 1, "'http_timeout'", NULL);
	fx_fails(fx, "http_timeout = 3601;\n", 1, "'http_timeout'", NULL);
}

static void
test_tokens(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "tokens = (\n { name = \"a\"; role = \"admin\"; } );\n", 2,
	    "missing key 'sha256' in tokens[0]", NULL);
	fx_fails(fx, "tokens = (\n { sha256 = \"" HASH_A "\"; } );\n", 2,
	    "missing key 'name'", NULL);
	fx_fails(fx, "tokens = ( { name = \"a b\"; } );\n", 1,
	    "'tokens[0].name'", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\";\n sha256 = \"abc\"; } );\n", 2,
	    "'tokens[0].sha256'", "64 hex", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\";\n sha256 = \"" HASH_A
	    "\";\n role = \"root\"; } );\n", 3, "'tokens[0].role'", "root",
	    NULL);
	fx_fails(fx, "tokens = ( { name = \"a\"; sha256 = \"" HASH_A "\";\n"
	    " role = \"admin\"; scope = [ \"220104001\",\n"
	    " \"22010400100\" ]; } );\n", 3, "'tokens[0].scope[1]'",
	    "22010400100", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\"; sha256 = \"" HASH_A "\";\n"
	    " role = \"admin\"; scope = [\n"
	    " \"220104001/G01\" ]; } );\n", 3, "'tokens[0].scope[0]'", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\"; sha256 = \"" HASH_A "\";\n"
	    " role = \"admin\"; scope = [\n"
	    " \"220104001001/G01/1/2/3\" ]; } );\n", 3, "scope[0]", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\"; sha256 = \"" HASH_A "\";\n"
	    " role = \"admin\"; scope = [\n"
	    " \"220104001001//1\" ]; } );\n", 3, "scope[0]", NULL);
	fx_fails(fx, "tokens = ( { name = \"a\"; sha256 = \"" HASH_A "\";\n"
	    " role = \"admin\"; scope = [\n"
	    " \"220104001001/G 01\" ]; } );\n", 3, "scope[0]", NULL);
}

static void
test_duplicate_tokens(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "tokens = (\n"
	    " { name = \"a\"; sha256 = \"" HASH_A "\"; role = \"admin\"; },\n"
	    " { name = \"a\"; sha256 = \"" HASH_B "\"; role = \"viewer\"; }\n"
	    ");\n", 3, "duplicate token name 'a'", "line 2", NULL);
	fx_fails(fx, "tokens = (\n"
	    " { name = \"a\"; sha256 = \"" HASH_A "\"; role = \"admin\"; },\n"
	    " { name = \"b\"; sha256 = \"" HASH_B "\"; role = \"viewer\"; },\n"
	    " { name = \"c\"; sha256 = \"" HASH_A_UC "\";\n"
	    "   role = \"viewer\"; }\n"
	    ");\n", 4, "token 'c'", "same sha256", "token 'a'", NULL);
}

static void
test_token_find(void **state)
{
	struct config *cfg = fx_load(*state, "tokens = (\n"
	    " { name = \"a\"; sha256 = \"" HASH_A "\"; role = \"admin\"; },\n"
	    " { name = \"b\"; sha256 = \"" HASH_B "\"; role = \"viewer\"; }\n"
	    ");\n");
	const struct cfg_token *t;

	assert_non_null(t = find_secret(cfg, "demo-admin-secret"));
	assert_string_equal(t->name, "a");
	assert_int_equal(t->line, 2);
	assert_non_null(t = find_secret(cfg, "demo-viewer-secret"));
	assert_string_equal(t->name, "b");
	assert_int_equal(t->role, TOKEN_VIEWER);
	assert_null(find_secret(cfg, "demo-admin-secreT"));
	assert_null(find_secret(cfg, ""));
	config_free(cfg);

	assert_string_equal(config_role_name(TOKEN_ADMIN), "admin");
	assert_string_equal(config_role_name(TOKEN_OPERATOR), "operator");
	assert_string_equal(config_role_name(TOKEN_VIEWER), "viewer");
	assert_int_equal(config_role_parse("operator"), TOKEN_OPERATOR);
	assert_int_equal(config_role_parse("admin"), TOKEN_ADMIN);
	assert_int_equal(config_role_parse("Admin"), -1);
	assert_int_equal(config_role_parse(""), -1);
	assert_true(TOKEN_VIEWER < TOKEN_OPERATOR);
	assert_true(TOKEN_OPERATOR < TOKEN_ADMIN);
}

static void
test_channels(void **state)
{
	struct fixture *fx = *state;

	fx_fails(fx, "channels = (\n { plugin = \"p\"; } );\n", 2,
	    "missing key 'name' in channels[0]", NULL);
	fx_fails(fx, "channels = (\n { name = \"c\"; } );\n", 2,
	    "missing key 'plugin'", NULL);
	fx_fails(fx, "channels = ( { name = \"SMS\"; } );\n", 1,
	    "'channels[0].name'", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"a-b\"; } );\n", 1,
	    "'channels[0].plugin'", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"p\";\n"
	    " rate = -1.5; } );\n", 2, "'channels[0].rate'", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"p\";\n"
	    " concurrency = 0; } );\n", 2, "'channels[0].concurrency'", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"p\";\n"
	    " concurrency = 1025; } );\n", 2, "1024", NULL);
	fx_fails(fx, "channels = ( { name = \"c\"; plugin = \"p\";\n"
	    " batch = -1; } );\n", 2, "'channels[0].batch'", NULL);
	fx_fails(fx, "channels = (\n { name = \"c\"; plugin = \"p\"; },\n"
	    " { name = \"c\"; plugin = \"q\"; } );\n", 3,
	    "duplicate channel name 'c'", NULL);
}

static void
test_routing(void **state)
{
	struct fixture *fx = *state;
	/* Two lines of channels; routing starts on line 3. */
	const char *chans =
	    "channels = ( { name = \"sms\"; plugin = \"p\"; },\n"
	    " { name = \"hook\"; plugin = \"q\"; } );\n";
	char text[512];
	struct config *cfg;

	snprintf(text, sizeof(text), "%srouting = {\n"
	    " unit_leader = [ \"hook\", \"sms\" ]; };\n", chans);
	cfg = fx_load(fx, text);
	assert_int_equal(route(cfg, "unit_leader")->n_channels, 2);
	assert_string_equal(route(cfg, "unit_leader")->channels[0], "hook");
	config_free(cfg);

	snprintf(text, sizeof(text), "%srouting = {\n"
	    " grid_leader = [ \"sms\",\n \"wechat\" ]; };\n", chans);
	fx_fails(fx, text, 5, "unknown channel 'wechat' in routing.grid_leader",
	    NULL);
	snprintf(text, sizeof(text), "%srouting = {\n"
	    " grid_leader = [ \"sms\", \"sms\" ]; };\n", chans);
	fx_fails(fx, text, 4, "'sms' is listed twice", NULL);
	snprintf(text, sizeof(text), "%srouting = {\n"
	    " grid_leader = [ ]; };\n", chans);
	fx_fails(fx, text, 4, "'routing.grid_leader'", NULL);
	snprintf(text, sizeof(text), "%srouting = {\n"
	    " grid_leader = [ 1 ]; };\n", chans);
	fx_fails(fx, text, 4, "'routing.grid_leader[0]' must be a string",
	    NULL);
	/* Channels must be defined, wherever routing is in the file. */
	fx_fails(fx, "routing = { duty_officer = [ \"sms\" ]; };\n", 1,
	    "unknown channel 'sms'", NULL);
}

static void
test_escalation(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg;

	cfg = fx_load(fx, "escalation = { emergency = (\n"
	    " { after = 0; action = \"resend\"; },\n"
	    " { after = 60; action = \"backup\"; } );\n"
	    " notice = [ ]; drill = ( ); };\n");
	assert_int_equal(cfg->n_escalation, 3);
	assert_string_equal(cfg->escalation[0].name, "emergency");
	assert_int_equal(cfg->escalation[0].steps[1].after, 60);
	assert_string_equal(cfg->escalation[0].steps[1].action, "backup");
	assert_int_equal(cfg->escalation[1].n_steps, 0);
	config_free(cfg);

	fx_fails(fx, "escalation = { drill = (\n"
	    " { after = 60; action = \"resend\"; },\n"
	    " { after = 60; action = \"backup\"; } ); };\n", 3,
	    "'escalation.drill[1].after'", "previous", NULL);
	fx_fails(fx, "escalation = { drill = (\n"
	    " { after = -1; action = \"resend\"; } ); };\n", 2,
	    "'escalation.drill[0].after'", NULL);
	fx_fails(fx, "escalation = { drill = (\n"
	    " { after = 1;\n action = \"call\"; } ); };\n", 3,
	    "'escalation.drill[0].action'", "call", NULL);
	fx_fails(fx, "escalation = { drill = (\n"
	    " { action = \"resend\"; } ); };\n", 2,
	    "missing key 'after' in escalation.drill[0]", NULL);
	fx_fails(fx, "escalation = {\n Drill = ( ); };\n", 2,
	    "'escalation.Drill'", NULL);
}

static void
test_templates(void **state)
{
	struct fixture *fx = *state;
	struct config *cfg;
	char *text;
	size_t len = 2000;

	cfg = fx_load(fx, "templates = { drill = \"【演练】{title}\"; };\n");
	assert_int_equal(cfg->n_templates, 1);
	assert_string_equal(cfg->templates[0].kind, "drill");
	assert_string_equal(cfg->templates[0].text, "【演练】{title}");
	config_free(cfg);

	fx_fails(fx, "templates = {\n notice = \"\"; };\n", 2,
	    "'templates.notice'", NULL);
	fx_fails(fx, "templates = {\n notice = \"\\xff\\xfe\"; };\n", 2,
	    "UTF-8", NULL);
	/* Placeholders are checked when the config loads, not at send time. */
	fx_fails(fx, "templates = {\n drill = \"{titel}\"; };\n", 2,
	    "'templates.drill'", "titel", NULL);
	assert_non_null(text = malloc(len + 64));
	for (int extra = 0; extra <= 1; extra++) {
		strcpy(text, "templates = { emergency = \"");
		memset(text + strlen(text), 'x', len + (size_t)extra);
		strcpy(text + 27 + len + (size_t)extra, "\"; };\n");
		if (extra == 0) {
			cfg = fx_load(fx, text);
			assert_int_equal(strlen(cfg->templates[0].text), len);
			config_free(cfg);
		} else
			fx_fails(fx, text, 1, "'templates.emergency'", "2000",
			    NULL);
	}
	free(text);
}

/* Loads share nothing: two configs live side by side, freed either way. */
static void
test_independent(void **state)
{
	struct fixture *fx = *state;
	struct config *a, *b;
	const char *url;

	a = fx_load(fx, "channels = ( { name = \"c\"; plugin = \"p\";"
	    " url = \"http://a\"; } );\n");
	b = fx_load(fx, "channels = ( { name = \"c\"; plugin = \"p\";"
	    " url = \"http://b\"; } );\n");
	assert_true(config_setting_lookup_string(a->channels[0].settings, "url",
	    &url));
	assert_string_equal(url, "http://a");
	config_free(a);
	assert_true(config_setting_lookup_string(b->channels[0].settings, "url",
	    &url));
	assert_string_equal(url, "http://b");
	config_free(b);
	config_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)
		T(test_example),
		T(test_demo),
		T(test_defaults),
		T(test_values),
		T(test_listen),
		T(test_missing_file),
		T(test_parse_error),
		T(test_include),
		T(test_unknown_keys),
		T(test_wrong_types),
		T(test_bad_values),
		T(test_tokens),
		T(test_duplicate_tokens),
		T(test_token_find),
		T(test_channels),
		T(test_routing),
		T(test_escalation),
		T(test_templates),
		T(test_independent),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
