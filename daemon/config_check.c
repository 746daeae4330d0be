/*
 * config_check.c - the checks behind config_load(): typed access to a
 * setting, value checks (codes, UTF-8, hex) and the list sections:
 * tokens, channels, routing, escalation and templates.
 */
#include "config_priv.h"
#include "message.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define CFG_MAX_TEMPLATE	2000
#define CFG_MAX_CODE		160		/* = ROSTER_MAX_CODE */
#define CFG_MAX_SEGMENT		32		/* = ROSTER_MAX_SEGMENT */

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
bool
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

static bool
cfg_hex32(const char *s, unsigned char out[32])
{
	if (strlen(s) != 64 || strspn(s, "0123456789abcdefABCDEF") != 64)
		return false;
	for (int i = 0; i < 32; i++) {
		char pair[3] = { s[2 * i], s[2 * i + 1], '\0' };

		out[i] = (unsigned char)strtoul(pair, NULL, 16);
	}
	return true;
}

/* ---- typed access ------------------------------------------------------- */

/* Every member of group g must be in keys; where names g in the error. */
int
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

int
cfg_str(struct cfg_ctx *x, const config_setting_t *s, const char **out)
{
	*out = "";
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_bad(x, s, "must be a string");
	*out = config_setting_get_string(s);
	return 0;
}

int
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
int
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

int
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

/* A token's name and hash must be unique; i tokens precede it. */
static int
cfg_token_at(struct cfg_ctx *x, config_setting_t *g, size_t i)
{
	struct config *cfg = x->cfg;
	struct cfg_token *t = &cfg->tokens[i];

	if (cfg_token(x, g, t) == -1)
		return -1;
	for (size_t j = 0; j < i; j++) {
		if (strcmp(cfg->tokens[j].name, t->name) == 0)
			return cfg_err(x, g, "duplicate token name '%s' (first "
			    "at line %d)", t->name, cfg->tokens[j].line);
		if (memcmp(cfg->tokens[j].sha256, t->sha256, 32) == 0)
			return cfg_err(x, g, "token '%s' has the same sha256 as "
			    "token '%s' (line %d)", t->name, cfg->tokens[j].name,
			    cfg->tokens[j].line);
	}
	return 0;
}

/*
 * A list of groups under root.key: allocate *array (n elements of size
 * bytes; *count grows as each is parsed, so a failure frees what exists)
 * and parse each with elem(x, group, index).
 */
static int
cfg_group_list(struct cfg_ctx *x, const config_setting_t *root,
    const char *key, void **array, size_t size, size_t *count,
    int (*elem)(struct cfg_ctx *, config_setting_t *, size_t))
{
	config_setting_t *s = config_setting_get_member(root, key);
	size_t n;

	if (s == NULL)
		return 0;
	if (cfg_seq(x, s, true) == -1)
		return -1;
	n = (size_t)config_setting_length(s);
	if (n > 0 && (*array = calloc(n, size)) == NULL)
		return cfg_nomem(x);
	for (size_t i = 0; i < n; i++) {
		(*count)++;
		if (elem(x, config_setting_get_elem(s, (unsigned)i), i) == -1)
			return -1;
	}
	return 0;
}

int
cfg_tokens(struct cfg_ctx *x, const config_setting_t *root)
{
	return cfg_group_list(x, root, "tokens", (void **)&x->cfg->tokens,
	    sizeof(*x->cfg->tokens), &x->cfg->n_tokens, cfg_token_at);
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
	if ((s = config_setting_get_member(g, "inbound_secret")) != NULL) {
		/* It goes into URLs as a path segment: keep it URL-safe. */
		if (cfg_str(x, s, &v) == -1)
			return -1;
		if (strlen(v) < 16 || !cfg_charset(v, CFG_LOWER
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ_-", 128))
			return cfg_bad(x, s, "must be 16-128 of A-Z a-z 0-9 _ - "
			    "(e.g. from: openssl rand -hex 24)");
		if (cfg_dup(x, &c->inbound_secret, v) == -1)
			return -1;
	}
	return 0;
}

static int
cfg_channel_at(struct cfg_ctx *x, config_setting_t *g, size_t i)
{
	struct config *cfg = x->cfg;
	struct cfg_channel *c = &cfg->channels[i];

	if (cfg_channel(x, g, c) == -1)
		return -1;
	/* /v1/inbound/alertmanager is the Alertmanager source's. */
	if (strcmp(c->name, "alertmanager") == 0)
		return cfg_err(x, g, "channel name 'alertmanager' is reserved "
		    "(POST /v1/inbound/alertmanager takes Alertmanager's "
		    "notifications)");
	for (size_t j = 0; j < i; j++)
		if (strcmp(cfg->channels[j].name, c->name) == 0)
			return cfg_err(x, g, "duplicate channel name '%s' (first "
			    "at line %d)", c->name, cfg->channels[j].line);
	return 0;
}

int
cfg_channels(struct cfg_ctx *x, const config_setting_t *root)
{
	return cfg_group_list(x, root, "channels", (void **)&x->cfg->channels,
	    sizeof(*x->cfg->channels), &x->cfg->n_channels, cfg_channel_at);
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

int
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

int
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

int
cfg_templates(struct cfg_ctx *x, const config_setting_t *root)
{
	struct config *cfg = x->cfg;
	config_setting_t *s = config_setting_get_member(root, "templates"), *m;
	const char *v;
	char why[256];
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
		if (message_template_check(v, why, sizeof(why)) != 0)
			return cfg_bad(x, m, "%s", why);
		cfg->n_templates++;
		if (cfg_dup(x, &cfg->templates[i].kind,
		    config_setting_name(m)) == -1 ||
		    cfg_dup(x, &cfg->templates[i].text, v) == -1)
			return -1;
	}
	return 0;
}
