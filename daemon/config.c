/*
 * config.c - load and validate sanzhangd.conf with libconfig.
 *
 * The daemon at start-up, `sanzhangd -t` and a reload all come through
 * config_load(), so nothing here is global: a reload parses the new file
 * while the running config stays untouched, and a bad file is reported
 * as one "FILE:LINE: message" line naming the key.  The first error stops
 * the load; fixing a config is an edit-and-retry loop anyway.
 */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <libconfig.h>
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
#define CFG_MAX_TEMPLATE	2000
#define CFG_MAX_CODE		160		/* = ROSTER_MAX_CODE */
#define CFG_MAX_SEGMENT		32		/* = ROSTER_MAX_SEGMENT */
#define CFG_PATHMAX		256

/* One load in progress: where errors go and what is being built. */
struct cfg_ctx {
	struct config	*cfg;
	const char	*path;
	char		*dir;		/* path's directory, or NULL */
	char		*err;
	size_t		 errlen;
};

static const char *const cfg_top_keys[] = { "state_dir", "listen",
	"control_socket", "public_url", "plugin_dir", "log_level", "max_body",
	"http_timeout", "tokens", "channels", "routing", "escalation",
	"templates", NULL };
static const char *const cfg_token_keys[] = { "name", "sha256", "role",
	"scope", NULL };
static const char *const cfg_step_keys[] = { "after", "action", NULL };
/* The post roles of DESIGN.md, which routing is keyed by. */
static const char *const cfg_post_roles[] = { "grid_leader",
	"building_leader", "unit_leader", "villager_rep", "duty_officer",
	NULL };
static const char *const cfg_actions[] = { "resend", "backup",
	"notify_parent", "notify_duty", NULL };
static const char *const cfg_kinds[] = { "emergency", "drill", "notice",
	NULL };
static const char *const cfg_role_names[] = {
	[TOKEN_VIEWER] = "viewer",
	[TOKEN_OPERATOR] = "operator",
	[TOKEN_ADMIN] = "admin",
};
#define CFG_NROLES	(sizeof(cfg_role_names) / sizeof(cfg_role_names[0]))

/* ---- errors ------------------------------------------------------------- */

/* "tokens[2].scope[0]": a setting's path, for messages. */
static const char *
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
static int LOG_PRINTF(3, 4)
cfg_err(struct cfg_ctx *x, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cfg_verr(x, s, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* "FILE:LINE: 'path' message" at setting s; always returns -1. */
static int LOG_PRINTF(3, 4)
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

static int
cfg_nomem(struct cfg_ctx *x)
{
	return cfg_err(x, NULL, "out of memory");
}

/* ---- small value checks ------------------------------------------------- */

static int
cfg_in(const char *const *list, const char *s)
{
	for (int i = 0; list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return i;
	return -1;
}

/* Whether every byte of s is in the set (and s has 1..max bytes). */
static bool
cfg_charset(const char *s, const char *set, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max && strspn(s, set) == n;
}

#define CFG_LOWER	"abcdefghijklmnopqrstuvwxyz0123456789"
#define CFG_ALNUM	CFG_LOWER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/* Strict UTF-8: no overlongs, surrogates or code points above U+10FFFF. */
static bool
cfg_utf8(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char lo, hi;
	int n;

	while (*s != '\0') {
		lo = 0x80;
		hi = 0xbf;
		if (*s < 0x80) {
			s++;
			continue;
		} else if (*s >= 0xc2 && *s <= 0xdf)
			n = 1;
		else if (*s >= 0xe0 && *s <= 0xef) {
			n = 2;
			lo = *s == 0xe0 ? 0xa0 : 0x80;
			hi = *s == 0xed ? 0x9f : 0xbf;
		} else if (*s >= 0xf0 && *s <= 0xf4) {
			n = 3;
			lo = *s == 0xf0 ? 0x90 : 0x80;
			hi = *s == 0xf4 ? 0x8f : 0xbf;
		} else
			return false;
		if (s[1] < lo || s[1] > hi)
			return false;
		for (s += 2; --n > 0; s++)
			if (*s < 0x80 || *s > 0xbf)
				return false;
	}
	return true;
}

/*
 * A node code's shape: 9-digit street, 12-digit community, or a community
 * code and 1..3 "/segment" parts.  Whether the node exists is the
 * roster's business; a typo here only narrows what the token sees.
 */
static bool
cfg_code_valid(const char *code)
{
	size_t digits = strspn(code, "0123456789"), len;
	const char *p = code + digits;
	int segs = 0;

	if (*p == '\0')
		return digits == 9 || digits == 12;
	if (digits != 12 || strlen(code) > CFG_MAX_CODE || !cfg_utf8(code))
		return false;
	while (*p == '/') {
		p++;
		len = strcspn(p, "/");
		if (len == 0 || len > CFG_MAX_SEGMENT)
			return false;
		for (; len > 0; len--, p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				return false;
		segs++;
	}
	return *p == '\0' && segs <= 3;
}

static int
cfg_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool
cfg_hex32(const char *s, unsigned char out[32])
{
	if (strlen(s) != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		int hi = cfg_hexval(s[2 * i]), lo = cfg_hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* ---- typed access ------------------------------------------------------- */

/* Every member of group g must be in keys; where names g in the error. */
static int
cfg_keys(struct cfg_ctx *x, const config_setting_t *g,
    const char *const *keys, const char *where)
{
	char pb[CFG_PATHMAX];

	if (where == NULL)
		where = cfg_path(g, pb, sizeof(pb));
	for (int i = 0; i < config_setting_length(g); i++) {
		config_setting_t *m = config_setting_get_elem(g, (unsigned)i);

		if (cfg_in(keys, config_setting_name(m)) < 0)
			return cfg_err(x, m, "unknown key '%s' in %s",
			    config_setting_name(m), where);
	}
	return 0;
}

static int
cfg_need(struct cfg_ctx *x, const config_setting_t *g, const char *key,
    config_setting_t **out)
{
	char pb[CFG_PATHMAX];

	*out = config_setting_get_member(g, key);
	if (*out == NULL)
		return cfg_err(x, g, "missing key '%s' in %s", key,
		    cfg_path(g, pb, sizeof(pb)));
	return 0;
}

static int
cfg_str(struct cfg_ctx *x, const config_setting_t *s, const char **out)
{
	*out = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_bad(x, s, "must be a string");
	*out = config_setting_get_string(s);
	return 0;
}

static int
cfg_int(struct cfg_ctx *x, const config_setting_t *s, long long min,
    long long max, long long *out)
{
	int t = config_setting_type(s);

	*out = 0;
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_bad(x, s, "must be an integer");
	*out = config_setting_get_int64(s);
	if (*out < min && max >= INT_MAX)	/* no bound worth saying */
		return cfg_bad(x, s, "must be at least %lld, not %lld", min,
		    *out);
	if (*out < min || *out > max)
		return cfg_bad(x, s, "must be between %lld and %lld, not %lld",
		    min, max, *out);
	return 0;
}

/* An array or a list; with groups true, a list of groups (or empty). */
static int
cfg_seq(struct cfg_ctx *x, const config_setting_t *s, bool groups)
{
	int t = config_setting_type(s);

	if (!groups && t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST)
		return cfg_bad(x, s, "must be an array [ ... ]");
	if (groups && t != CONFIG_TYPE_LIST &&
	    !(t == CONFIG_TYPE_ARRAY && config_setting_length(s) == 0))
		return cfg_bad(x, s, "must be a list of groups "
		    "( { ... }, ... )");
	for (int i = 0; groups && i < config_setting_length(s); i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (!config_setting_is_group(e))
			return cfg_bad(x, e, "must be a group { ... }");
	}
	return 0;
}

static int
cfg_group(struct cfg_ctx *x, const config_setting_t *s)
{
	if (!config_setting_is_group(s))
		return cfg_bad(x, s, "must be a group { ... }");
	return 0;
}

static int
cfg_dup(struct cfg_ctx *x, char **dst, const char *src)
{
	char *p = strdup(src);

	if (p == NULL)
		return cfg_nomem(x);
	free(*dst);
	*dst = p;
	return 0;
}

/* An array of strings, copied; each passes check (NULL = any non-empty). */
static int
cfg_strings(struct cfg_ctx *x, const config_setting_t *s,
    bool (*check)(const char *), const char *what, char ***out, size_t *n)
{
	size_t len;
	const char *v;

	if (cfg_seq(x, s, false) == -1)
		return -1;
	len = (size_t)config_setting_length(s);
	if (len > 0 && (*out = calloc(len, sizeof(**out))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < len; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);

		if (cfg_str(x, e, &v) == -1)
			return -1;
		if (check != NULL ? !check(v) : *v == '\0')
			return cfg_bad(x, e, "is not %s: \"%s\"", what, v);
		(*out)[i] = strdup(v);
		if ((*out)[i] == NULL)
			return cfg_nomem(x);
		(*n)++;
	}
	return 0;
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
	return 0;
}

/* ---- tokens ------------------------------------------------------------- */

static int
cfg_token(struct cfg_ctx *x, const config_setting_t *g, struct cfg_token *t)
{
	config_setting_t *s;
	const char *v;
	int role;

	t->line = (int)config_setting_source_line(g);
	if (cfg_keys(x, g, cfg_token_keys, NULL) == -1 ||
	    cfg_need(x, g, "name", &s) == -1 || cfg_str(x, s, &v) == -1)
		return -1;
	if (!cfg_charset(v, CFG_ALNUM "._-", 64))
		return cfg_bad(x, s, "must be 1-64 of A-Z a-z 0-9 . _ -");
	if (cfg_dup(x, &t->name, v) == -1)
		return -1;
	if (cfg_need(x, g, "sha256", &s) == -1 || cfg_str(x, s, &v) == -1)
		return -1;
	if (!cfg_hex32(v, t->sha256))
		return cfg_bad(x, s, "must be 64 hex digits (the SHA-256 of "
		    "the secret)");
	if (cfg_need(x, g, "role", &s) == -1 || cfg_str(x, s, &v) == -1)
		return -1;
	if ((role = config_role_parse(v)) < 0)
		return cfg_bad(x, s, "must be \"admin\", \"operator\" or "
		    "\"viewer\", not \"%s\"", v);
	t->role = (enum token_role)role;
	if ((s = config_setting_get_member(g, "scope")) != NULL &&
	    cfg_strings(x, s, cfg_code_valid, "a node code", &t->scope,
	    &t->n_scope) == -1)
		return -1;
	return 0;
}

static int
cfg_tokens(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "tokens");
	size_t n;

	if (s == NULL)
		return 0;
	if (cfg_seq(x, s, true) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 && (cfg->tokens = calloc(n, sizeof(*cfg->tokens))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		struct cfg_token *t = &cfg->tokens[i];

		cfg->n_tokens++;
		if (cfg_token(x, g, t) == -1)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cfg->tokens[j].name, t->name) == 0)
				return cfg_err(x, g, "duplicate token name "
				    "'%s' (first at line %d)", t->name,
				    cfg->tokens[j].line);
			if (memcmp(cfg->tokens[j].sha256, t->sha256, 32) == 0)
				return cfg_err(x, g, "token '%s' has the same "
				    "sha256 as token '%s' (line %d)", t->name,
				    cfg->tokens[j].name, cfg->tokens[j].line);
		}
	}
	return 0;
}

/* ---- channels ----------------------------------------------------------- */

static int
cfg_channel(struct cfg_ctx *x, config_setting_t *g, struct cfg_channel *c)
{
	config_setting_t *s;
	const char *v;
	long long n;

	c->line = (int)config_setting_source_line(g);
	c->settings = g;
	c->concurrency = 8;
	if (cfg_need(x, g, "name", &s) == -1 || cfg_str(x, s, &v) == -1)
		return -1;
	if (!cfg_charset(v, CFG_LOWER "_-", 32))
		return cfg_bad(x, s, "must be 1-32 of a-z 0-9 _ -");
	if (cfg_dup(x, &c->name, v) == -1 ||
	    cfg_need(x, g, "plugin", &s) == -1 || cfg_str(x, s, &v) == -1)
		return -1;
	if (!cfg_charset(v, CFG_LOWER "_", 32))
		return cfg_bad(x, s, "must be 1-32 of a-z 0-9 _");
	if (cfg_dup(x, &c->plugin, v) == -1)
		return -1;
	if ((s = config_setting_get_member(g, "rate")) != NULL) {
		if (!config_setting_is_number(s))
			return cfg_bad(x, s, "must be a number");
		c->rate = config_setting_type(s) == CONFIG_TYPE_FLOAT ?
		    config_setting_get_float(s) :
		    (double)config_setting_get_int64(s);
		/* Written so that NaN fails too. */
		if (!(c->rate >= 0 && c->rate <= 1e9))
			return cfg_bad(x, s, "must be between 0 (unlimited) "
			    "and 1e9");
	}
	if ((s = config_setting_get_member(g, "concurrency")) != NULL) {
		if (cfg_int(x, s, 1, 1024, &n) == -1)
			return -1;
		c->concurrency = (int)n;
	}
	if ((s = config_setting_get_member(g, "batch")) != NULL) {
		if (cfg_int(x, s, 0, INT_MAX, &n) == -1)
			return -1;
		c->batch = (int)n;
	}
	return 0;
}

static int
cfg_channels(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "channels");
	size_t n;

	if (s == NULL)
		return 0;
	if (cfg_seq(x, s, true) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 &&
	    (cfg->channels = calloc(n, sizeof(*cfg->channels))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		config_setting_t *g = config_setting_get_elem(s, (unsigned)i);
		struct cfg_channel *c = &cfg->channels[i];

		cfg->n_channels++;
		if (cfg_channel(x, g, c) == -1)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->channels[j].name, c->name) == 0)
				return cfg_err(x, g, "duplicate channel name "
				    "'%s' (first at line %d)", c->name,
				    cfg->channels[j].line);
	}
	return 0;
}

/* ---- routing, escalation, templates ------------------------------------- */

static bool
cfg_channel_known(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_channels; i++)
		if (strcmp(cfg->channels[i].name, name) == 0)
			return true;
	return false;
}

static int
cfg_route(struct cfg_ctx *x, const config_setting_t *s, struct cfg_route *r)
{
	config_setting_t *e;

	if (cfg_dup(x, &r->role, config_setting_name(s)) == -1 ||
	    cfg_strings(x, s, NULL, "a channel name", &r->channels,
	    &r->n_channels) == -1)
		return -1;
	if (r->n_channels == 0)
		return cfg_bad(x, s, "names no channel (leave the role out "
		    "instead)");
	for (size_t i = 0; i < r->n_channels; i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (!cfg_channel_known(x->cfg, r->channels[i]))
			return cfg_err(x, e, "unknown channel '%s' in "
			    "routing.%s", r->channels[i], r->role);
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->channels[j], r->channels[i]) == 0)
				return cfg_err(x, e, "channel '%s' is listed "
				    "twice in routing.%s", r->channels[i],
				    r->role);
	}
	return 0;
}

static int
cfg_routing(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "routing");
	size_t n;

	if (s == NULL)
		return 0;
	if (cfg_group(x, s) == -1 ||
	    cfg_keys(x, s, cfg_post_roles,
	    "routing (keys are post roles)") == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 && (cfg->routing = calloc(n, sizeof(*cfg->routing))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		cfg->n_routing++;
		if (cfg_route(x, config_setting_get_elem(s, (unsigned)i),
		    &cfg->routing[i]) == -1)
			return -1;
	}
	return 0;
}

static int
cfg_step(struct cfg_ctx *x, const config_setting_t *g,
    struct cfg_escalation_step *st, long long prev)
{
	config_setting_t *s;
	const char *v;
	long long n;

	if (cfg_keys(x, g, cfg_step_keys, NULL) == -1 ||
	    cfg_need(x, g, "after", &s) == -1 ||
	    cfg_int(x, s, 0, INT_MAX, &n) == -1)
		return -1;
	if (n <= prev)
		return cfg_bad(x, s, "must be greater than the previous "
		    "step's (%lld)", prev);
	st->after = (int)n;
	if (cfg_need(x, g, "action", &s) == -1 || cfg_str(x, s, &v) == -1)
		return -1;
	if (cfg_in(cfg_actions, v) < 0)
		return cfg_bad(x, s, "must be \"resend\", \"backup\", "
		    "\"notify_parent\" or \"notify_duty\", not \"%s\"", v);
	return cfg_dup(x, &st->action, v);
}

static int
cfg_policy(struct cfg_ctx *x, const config_setting_t *s,
    struct cfg_escalation *e)
{
	size_t n;

	if (!cfg_charset(config_setting_name(s), CFG_LOWER "_", 64))
		return cfg_bad(x, s, "is not a policy name (a-z 0-9 _)");
	if (cfg_dup(x, &e->name, config_setting_name(s)) == -1 ||
	    cfg_seq(x, s, true) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 && (e->steps = calloc(n, sizeof(*e->steps))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		e->n_steps++;
		if (cfg_step(x, config_setting_get_elem(s, (unsigned)i),
		    &e->steps[i], i > 0 ? e->steps[i - 1].after : -1) == -1)
			return -1;
	}
	return 0;
}

static int
cfg_escalation(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "escalation");
	size_t n;

	if (s == NULL)
		return 0;
	if (cfg_group(x, s) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 && (cfg->escalation = calloc(n,
	    sizeof(*cfg->escalation))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		cfg->n_escalation++;
		if (cfg_policy(x, config_setting_get_elem(s, (unsigned)i),
		    &cfg->escalation[i]) == -1)
			return -1;
	}
	return 0;
}

static int
cfg_templates(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "templates"), *m;
	const char *v;
	size_t n;

	if (s == NULL)
		return 0;
	if (cfg_group(x, s) == -1 || cfg_keys(x, s, cfg_kinds, NULL) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 &&
	    (cfg->templates = calloc(n, sizeof(*cfg->templates))) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		m = config_setting_get_elem(s, (unsigned)i);
		if (cfg_str(x, m, &v) == -1)
			return -1;
		if (*v == '\0' || strlen(v) > CFG_MAX_TEMPLATE)
			return cfg_bad(x, m, "must have 1 to %d bytes",
			    CFG_MAX_TEMPLATE);
		if (!cfg_utf8(v))
			return cfg_bad(x, m, "is not valid UTF-8");
		cfg->n_templates++;
		if (cfg_dup(x, &cfg->templates[i].kind,
		    config_setting_name(m)) == -1 ||
		    cfg_dup(x, &cfg->templates[i].text, v) == -1)
			return -1;
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
