/*
 * config.c - load and validate sanzhangd.conf with libconfig.
 *
 * The daemon at start-up, `sanzhangd -t` and a reload all come through
 * config_load(), so nothing here is global: a reload parses the new file
 * while the running config stays untouched, and a bad file is reported
 * as one "FILE:LINE: message" line naming the key.  The first error stops
 * the load; fixing a config is an edit-and-retry loop anyway.
 *
 * This file reads the file, the top-level keys and reports errors;
 * config_check.c checks values and the tokens, channels, routing,
 * escalation and templates sections.
 */
#include "config_priv.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <openssl/crypto.h>

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR	"/var"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR	"/run"
#endif
#ifndef PLUGINDIR
#define PLUGINDIR	"/usr/lib/sanzhang"
#endif

#define CFG_DEF_LISTEN		"127.0.0.1:8787"
#define CFG_DEF_PUBLIC_URL	"http://127.0.0.1:8787"
#define CFG_DEF_MAX_BODY	268435456	/* a city roster is ~70 MB */
#define CFG_DEF_HTTP_TIMEOUT	60
#define CFG_MIN_MAX_BODY	1024

static const char *const cfg_top_keys[] = { "state_dir", "listen",
	"control_socket", "public_url", "plugin_dir", "log_level", "max_body",
	"http_timeout", "tokens", "channels", "routing", "escalation",
	"templates", "quiet_hours", "secrets_file", NULL };
static const char *const cfg_role_names[] = {
	[TOKEN_VIEWER] = "viewer",
	[TOKEN_OPERATOR] = "operator",
	[TOKEN_ADMIN] = "admin",
};
#define CFG_NROLES	(sizeof(cfg_role_names) / sizeof(cfg_role_names[0]))

/* ---- errors ------------------------------------------------------------- */

/* "tokens[2].scope[0]": a setting's path, for messages. */
const char *
cfg_path(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *p = config_setting_parent(s);
	const char *name = config_setting_name(s);
	size_t n;

	if (p == NULL)
		snprintf(buf, len, "the top level");
	else if (config_setting_parent(p) == NULL)
		snprintf(buf, len, "%s", name);
	else {
		cfg_path(p, buf, len);
		n = strlen(buf);
		if (name != NULL)
			snprintf(buf + n, len - n, ".%s", name);
		else
			snprintf(buf + n, len - n, "[%d]",
			    config_setting_index(s));
	}
	return buf;
}

/*
 * "FILE:" as the user can find it: libconfig records an included file's
 * name as written in @include, relative to the including file's directory.
 */
static int
cfg_where(const struct cfg_ctx *x, const char *file, int line)
{
	const char *dir = "", *sep = "";

	if (file == NULL)
		file = x->path;
	else if (file[0] != '/' && x->dir != NULL &&
	    strcmp(file, x->path) != 0) {
		dir = x->dir;
		sep = "/";
	}
	if (line > 0)
		return snprintf(x->err, x->errlen, "%s%s%s:%d: ", dir, sep,
		    file, line);
	return snprintf(x->err, x->errlen, "%s%s%s: ", dir, sep, file);
}

static void
cfg_verr(struct cfg_ctx *x, const config_setting_t *s, const char *pfx,
    const char *fmt, va_list ap)
{
	size_t n;
	int r;

	if (x->err == NULL || x->errlen == 0)
		return;
	if (s != NULL)
		r = cfg_where(x, config_setting_source_file(s),
		    (int)config_setting_source_line(s));
	else
		r = cfg_where(x, NULL, 0);
	if (r < 0 || (n = (size_t)r) >= x->errlen)
		return;
	if ((r = snprintf(x->err + n, x->errlen - n, "%s", pfx)) < 0 ||
	    (n += (size_t)r) >= x->errlen)
		return;
	vsnprintf(x->err + n, x->errlen - n, fmt, ap);
}

/* "FILE:LINE: message" at setting s; always returns -1. */
int LOG_PRINTF(3, 4)
cfg_err(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(x, s, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* "FILE:LINE: 'path' message" at setting s; always returns -1. */
int LOG_PRINTF(3, 4)
cfg_bad(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	char pb[CFG_PATHMAX], pfx[CFG_PATHMAX + 3];
	va_list ap;

	pfx[0] = '\0';
	if (s != NULL)
		snprintf(pfx, sizeof(pfx), "'%s' ",
		    cfg_path(s, pb, sizeof(pb)));
	va_start(ap, fmt);
	cfg_verr(x, s, pfx, fmt, ap);
	va_end(ap);
	return -1;
}

int
cfg_nomem(struct cfg_ctx *x)
{
	return cfg_err(x, NULL, "out of memory");
}

/* ---- top-level scalars -------------------------------------------------- */

static int
cfg_abs_path(struct cfg_ctx *x, const config_setting_t *root, const char *key,
    bool may_be_empty, char **dst)
{
	config_setting_t *s = config_setting_get_member(root, key);
	const char *v;

	if (s == NULL)
		return 0;
	if (cfg_str(x, s, &v) == -1)
		return -1;
	/* The daemon leaves its start directory; relative paths would move. */
	if (v[0] != '/' && !(may_be_empty && v[0] == '\0'))
		return cfg_bad(x, s, "must be an absolute path%s",
		    may_be_empty ? " or \"\"" : "");
	return cfg_dup(x, dst, v);
}

static int
cfg_listen_one(struct cfg_ctx *x, const config_setting_t *s, const char *v,
    struct cfg_listen *l)
{
	const char *host = v, *colon, *end;
	size_t hostlen;
	long port;
	char buf[8];

	if (v[0] == '[') {
		host = v + 1;
		end = strchr(host, ']');
		colon = end != NULL && end[1] == ':' ? end + 1 : NULL;
		hostlen = end != NULL ? (size_t)(end - host) : 0;
	} else {
		colon = strrchr(v, ':');
		hostlen = colon != NULL ? (size_t)(colon - v) : 0;
		if (memchr(v, ':', hostlen) != NULL)	/* bare IPv6 */
			colon = NULL;
	}
	if (colon == NULL || hostlen == 0 || strcspn(host, " \t[]") < hostlen ||
	    !cfg_charset(colon + 1, "0123456789", 5) ||
	    (port = strtol(colon + 1, NULL, 10)) < 1 || port > 65535)
		return cfg_bad(x, s, "must be \"host:port\" (port 1-65535, "
		    "\"[::1]:8787\" for IPv6), not \"%s\"", v);
	snprintf(buf, sizeof(buf), "%ld", port);
	l->line = s != NULL ? (int)config_setting_source_line(s) : 0;
	if ((l->host = strndup(host, hostlen)) == NULL ||
	    (l->port = strdup(buf)) == NULL)
		return cfg_nomem(x);
	return 0;
}

static int
cfg_listen(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "listen");
	size_t n = s != NULL ? (size_t)config_setting_length(s) : 1;
	const char *v = CFG_DEF_LISTEN;

	if (s != NULL && cfg_seq(x, s, false) == -1)
		return -1;
	if (n > 0 && (cfg->listen = calloc(n, sizeof(*cfg->listen))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = s != NULL ?
		    config_setting_get_elem(s, (unsigned)i) : NULL;
		struct cfg_listen *l = &cfg->listen[i];

		if (e != NULL && cfg_str(x, e, &v) == -1)
			return -1;
		cfg->n_listen++;
		if (cfg_listen_one(x, e, v, l) == -1)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->listen[j].host, l->host) == 0 &&
			    strcmp(cfg->listen[j].port, l->port) == 0)
				return cfg_bad(x, e, "repeats \"%s\" (line %d)",
				    v, cfg->listen[j].line);
	}
	return 0;
}

static int
cfg_public_url(struct cfg_ctx *x, const config_setting_t *root)
{
	config_setting_t *s = config_setting_get_member(root, "public_url");
	const char *v, *host;
	size_t len;

	if (s == NULL)
		return 0;
	if (cfg_str(x, s, &v) == -1)
		return -1;
	if (strncasecmp(v, "http://", 7) == 0)
		host = v + 7;
	else if (strncasecmp(v, "https://", 8) == 0)
		host = v + 8;
	else
		return cfg_bad(x, s, "must start with http:// or https://");
	/* Ack links are public_url + "/a/TOKEN": no query, no fragment. */
	if (*host == '/' || *host == '\0' || strpbrk(v, " \t\r\n?#") != NULL)
		return cfg_bad(x, s, "is not a base URL: \"%s\"", v);
	if (cfg_dup(x, &x->cfg->public_url, v) == -1)
		return -1;
	len = strlen(x->cfg->public_url);
	while (len > 0 && x->cfg->public_url[len - 1] == '/')
		x->cfg->public_url[--len] = '\0';
	return 0;
}

static int
cfg_scalars(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s;
	const char *v;
	long long n;

	if (cfg_abs_path(x, root, "state_dir", false,
	    &cfg->state_dir) == -1 ||
	    cfg_abs_path(x, root, "plugin_dir", false,
	    &cfg->plugin_dir) == -1 ||
	    cfg_abs_path(x, root, "control_socket", true,
	    &cfg->control_socket) == -1 || cfg_public_url(x, root) == -1)
		return -1;
	s = config_setting_get_member(root, "control_socket");
	if (s != NULL && strlen(cfg->control_socket) >=
	    sizeof(((struct sockaddr_un *)0)->sun_path))
		return cfg_bad(x, s, "is too long for a unix socket path");
	if ((s = config_setting_get_member(root, "log_level")) != NULL) {
		if (cfg_str(x, s, &v) == -1)
			return -1;
		if ((cfg->log_level = log_level_parse(v)) < 0)
			return cfg_bad(x, s, "must be \"error\", \"warn\", "
			    "\"info\" or \"debug\", not \"%s\"", v);
	}
	if ((s = config_setting_get_member(root, "max_body")) != NULL) {
		if (cfg_int(x, s, CFG_MIN_MAX_BODY, SSIZE_MAX, &n) == -1)
			return -1;
		cfg->max_body = (size_t)n;
	}
	if ((s = config_setting_get_member(root, "http_timeout")) != NULL) {
		if (cfg_int(x, s, 1, 3600, &n) == -1)
			return -1;
		cfg->http_timeout = (int)n;
	}
	if ((s = config_setting_get_member(root, "quiet_hours")) != NULL) {
		if (cfg_str(x, s, &v) == -1)
			return -1;
		if (quiet_parse(v, &cfg->quiet) == -1)
			return cfg_bad(x, s, "must be \"HH:MM-HH:MM\" in Beijing "
			    "time, start and end different (e.g. \"22:00-07:00\"), "
			    "not \"%.20s\"", v);
	}
	return 0;
}

/* ---- load and free ------------------------------------------------------ */

static int
cfg_defaults(struct cfg_ctx *x)
{
	struct config *cfg = x->cfg;

	cfg->log_level = LOG_LEVEL_INFO;
	cfg->max_body = CFG_DEF_MAX_BODY;
	cfg->http_timeout = CFG_DEF_HTTP_TIMEOUT;
	if (cfg_dup(x, &cfg->file, x->path) == -1 ||
	    cfg_dup(x, &cfg->state_dir, LOCALSTATEDIR "/lib/sanzhang") == -1 ||
	    cfg_dup(x, &cfg->control_socket,
	    RUNSTATEDIR "/sanzhang/control.sock") == -1 ||
	    cfg_dup(x, &cfg->public_url, CFG_DEF_PUBLIC_URL) == -1 ||
	    cfg_dup(x, &cfg->plugin_dir, PLUGINDIR) == -1)
		return -1;
	return 0;
}

/* Parse the file into the libconfig handle kept in cfg->priv. */
static int
cfg_read(struct cfg_ctx *x, config_t *lc)
{
	struct stat st;
	char *slash;
	FILE *fp;
	int r;

	/* libconfig says only "file I/O error"; errno says which. */
	if ((fp = fopen(x->path, "r")) == NULL)
		return cfg_err(x, NULL, "%s", strerror(errno));
	r = fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode);
	fclose(fp);
	if (r)
		return cfg_err(x, NULL, "%s", strerror(EISDIR));
	/* @include "x.conf" is relative to the including file's directory. */
	if ((slash = strrchr(x->path, '/')) != NULL) {
		/* "/x.conf": the directory is "/" */
		if ((x->dir = strndup(x->path, slash == x->path ? 1 :
		    (size_t)(slash - x->path))) == NULL)
			return cfg_nomem(x);
		config_set_include_dir(lc, x->dir);
	}
	if (config_read_file(lc, x->path) == CONFIG_TRUE)
		return 0;
	if (x->err != NULL && x->errlen > 0 && (r = cfg_where(x,
	    config_error_file(lc), config_error_line(lc))) >= 0 &&
	    (size_t)r < x->errlen)
		snprintf(x->err + r, x->errlen - (size_t)r, "%s",
		    config_error_text(lc));
	return -1;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct cfg_ctx x = { .path = path, .err = err, .errlen = errlen };
	config_setting_t *root;
	config_t *lc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((x.cfg = calloc(1, sizeof(*x.cfg))) == NULL ||
	    (lc = calloc(1, sizeof(*lc))) == NULL) {
		free(x.cfg);
		cfg_nomem(&x);
		return NULL;
	}
	config_init(lc);
	x.cfg->priv = lc;
	if (cfg_defaults(&x) == -1 || cfg_read(&x, lc) == -1)
		goto fail;
	root = config_root_setting(lc);
	if (cfg_keys(&x, root, cfg_top_keys, "the top level") == -1 ||
	    cfg_scalars(&x, root) == -1 || cfg_listen(&x, root) == -1 ||
	    cfg_tokens(&x, root) == -1 || cfg_channels(&x, root) == -1 ||
	    cfg_secrets(&x, root) == -1 ||
	    cfg_routing(&x, root) == -1 || cfg_escalation(&x, root) == -1 ||
	    cfg_templates(&x, root) == -1)
		goto fail;
	free(x.dir);
	return x.cfg;
fail:
	free(x.dir);
	config_free(x.cfg);
	return NULL;
}

static void
cfg_free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- comparing (reloads) ------------------------------------------------ */

bool
config_str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Two libconfig settings with the same value (names, types, contents). */
static bool
setting_eq(const config_setting_t *a, const config_setting_t *b)
{
	int type = config_setting_type(a), n;

	if (type != config_setting_type(b) ||
	    !config_str_eq(config_setting_name(a), config_setting_name(b)))
		return false;
	switch (type) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return config_setting_get_int64(a) == config_setting_get_int64(b);
	case CONFIG_TYPE_FLOAT:
		return config_setting_get_float(a) == config_setting_get_float(b);
	case CONFIG_TYPE_BOOL:
		return config_setting_get_bool(a) == config_setting_get_bool(b);
	case CONFIG_TYPE_STRING:
		return config_str_eq(config_setting_get_string(a),
		    config_setting_get_string(b));
	case CONFIG_TYPE_GROUP:
	case CONFIG_TYPE_ARRAY:
	case CONFIG_TYPE_LIST:
		if ((n = config_setting_length(a)) != config_setting_length(b))
			return false;
		for (int i = 0; i < n; i++)
			if (!setting_eq(config_setting_get_elem(a, (unsigned)i),
			    config_setting_get_elem(b, (unsigned)i)))
				return false;
		return true;
	default:
		return false;
	}
}

bool
config_channel_eq(const struct cfg_channel *a, const struct cfg_channel *b)
{
	return config_str_eq(a->name, b->name) &&
	    config_str_eq(a->plugin, b->plugin) &&
	    a->rate == b->rate && a->concurrency == b->concurrency &&
	    a->batch == b->batch &&
	    config_str_eq(a->inbound_secret, b->inbound_secret) &&
	    setting_eq(a->settings, b->settings) &&
	    (a->secrets == NULL) == (b->secrets == NULL) &&
	    (a->secrets == NULL || setting_eq(a->secrets, b->secrets));
}

void
config_free(struct config *cfg)
{
	if (cfg == NULL)
		return;
	for (size_t i = 0; i < cfg->n_listen; i++) {
		free(cfg->listen[i].host);
		free(cfg->listen[i].port);
	}
	for (size_t i = 0; i < cfg->n_tokens; i++) {
		free(cfg->tokens[i].name);
		cfg_free_strv(cfg->tokens[i].scope, cfg->tokens[i].n_scope);
	}
	for (size_t i = 0; i < cfg->n_channels; i++) {
		free(cfg->channels[i].name);
		free(cfg->channels[i].plugin);
		free(cfg->channels[i].inbound_secret);
	}
	for (size_t i = 0; i < cfg->n_routing; i++) {
		free(cfg->routing[i].role);
		cfg_free_strv(cfg->routing[i].channels,
		    cfg->routing[i].n_channels);
	}
	for (size_t i = 0; i < cfg->n_escalation; i++) {
		for (size_t j = 0; j < cfg->escalation[i].n_steps; j++)
			free(cfg->escalation[i].steps[j].action);
		free(cfg->escalation[i].steps);
		free(cfg->escalation[i].name);
	}
	for (size_t i = 0; i < cfg->n_templates; i++) {
		free(cfg->templates[i].kind);
		free(cfg->templates[i].text);
	}
	free(cfg->listen);
	free(cfg->tokens);
	free(cfg->channels);
	free(cfg->routing);
	free(cfg->escalation);
	free(cfg->templates);
	free(cfg->file);
	free(cfg->state_dir);
	free(cfg->control_socket);
	free(cfg->public_url);
	free(cfg->plugin_dir);
	if (cfg->priv != NULL) {
		config_destroy(cfg->priv);
		free(cfg->priv);
	}
	if (cfg->secrets_priv != NULL) {
		config_destroy(cfg->secrets_priv);
		free(cfg->secrets_priv);
	}
	free(cfg->secrets_file);
	free(cfg);
}

/* ---- lookups ------------------------------------------------------------ */

/*
 * Every token is compared, and the match is picked without a branch, so
 * the time taken says nothing about which token (if any) matched.
 */
const struct cfg_token *
config_token_find(const struct config *cfg, const unsigned char sha256[32])
{
	size_t pick = 0, any = 0, m;

	for (size_t i = 0; i < cfg->n_tokens; i++) {
		m = (size_t)0 - (size_t)(CRYPTO_memcmp(cfg->tokens[i].sha256,
		    sha256, 32) == 0);
		pick |= i & m;
		any |= m;
	}
	return any != 0 ? &cfg->tokens[pick] : NULL;
}

const char *
config_role_name(enum token_role role)
{
	if ((size_t)role >= CFG_NROLES)
		return "unknown";
	return cfg_role_names[role];
}

int
config_role_parse(const char *s)
{
	for (size_t i = 0; i < CFG_NROLES; i++)
		if (strcmp(cfg_role_names[i], s) == 0)
			return (int)i;
	return -1;
}
