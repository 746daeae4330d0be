/*
 * plugin.c - dlopen the channel plugins and check their settings.
 */
#include "plugin.h"
#include "config.h"

#include <dlfcn.h>
#include <libconfig.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys of a channel group that belong to the host, not the plugin. */
static const char *const plugin_host_keys[] = {
	"name", "plugin", "rate", "concurrency", "batch", "inbound_secret",
	NULL,
};

static bool
plugin_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 32)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

/* Everything a loaded plugin must get right, with a reason when not. */
static int
plugin_validate(const struct sz_plugin *p, const char *name, const char *path,
    char *err, size_t errlen)
{
	if (p->abi != SZ_PLUGIN_ABI) {
		snprintf(err, errlen, "%s: built for plugin ABI %u, this "
		    "sanzhangd speaks ABI %u: rebuild the plugin", path, p->abi,
		    SZ_PLUGIN_ABI);
		return -1;
	}
	if (p->name == NULL || strcmp(p->name, name) != 0) {
		snprintf(err, errlen, "%s: calls itself \"%s\", not \"%s\" as its "
		    "file name says", path, p->name ? p->name : "(null)", name);
		return -1;
	}
	if (p->max_batch == 0 || p->open == NULL || p->send == NULL) {
		snprintf(err, errlen, "%s: incomplete plugin (max_batch 0, or "
		    "no open or send function)", path);
		return -1;
	}
	return 0;
}

static int
plugin_open(struct plugin_mod *m, const char *dir, const char *name,
    char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *e;

	if (snprintf(path, sizeof(path), "%s/%s.so", dir, name) >=
	    (int)sizeof(path)) {
		snprintf(err, errlen, "plugin %s: path too long", name);
		return -1;
	}
	if ((m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		e = dlerror();
		snprintf(err, errlen, "plugin %s: cannot load: %s", name,
		    e ? e : "unknown error");
		return -1;
	}
	dlerror();
	m->p = dlsym(m->dl, SZ_PLUGIN_SYMBOL);
	if (m->p == NULL) {
		snprintf(err, errlen, "%s: does not export %s: not a sanzhang "
		    "plugin", path, SZ_PLUGIN_SYMBOL);
		return -1;
	}
	if (plugin_validate(m->p, name, path, err, errlen) != 0)
		return -1;
	if ((m->name = strdup(name)) == NULL || (m->path = strdup(path)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static void
plugin_mod_free(struct plugin_mod *m)
{
	if (m->dl != NULL)
		dlclose(m->dl);
	free(m->name);
	free(m->path);
	memset(m, 0, sizeof(*m));
}

const struct plugin_mod *
plugin_get(struct plugin_set *set, const char *dir, const char *name,
    char *err, size_t errlen)
{
	struct plugin_mod m = { 0 }, *v;

	if (!plugin_name_ok(name)) {
		snprintf(err, errlen, "plugin name \"%.40s\" must be 1-32 of "
		    "a-z 0-9 _", name);
		return NULL;
	}
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->v[i].name, name) == 0)
			return &set->v[i];
	if (plugin_open(&m, dir, name, err, errlen) != 0) {
		plugin_mod_free(&m);
		return NULL;
	}
	/* Two files may not both claim one plugin name (e.g. via symlinks). */
	for (size_t i = 0; i < set->n; i++) {
		if (set->v[i].p == m.p || strcmp(set->v[i].p->name, m.p->name) == 0) {
			snprintf(err, errlen, "%s: plugin \"%s\" is already loaded "
			    "from %s", m.path, m.p->name, set->v[i].path);
			plugin_mod_free(&m);
			return NULL;
		}
	}
	if ((v = realloc(set->v, (set->n + 1) * sizeof(*v))) == NULL) {
		snprintf(err, errlen, "out of memory");
		plugin_mod_free(&m);
		return NULL;
	}
	set->v = v;
	set->v[set->n] = m;
	return &set->v[set->n++];
}

void
plugin_set_free(struct plugin_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		plugin_mod_free(&set->v[i]);
	free(set->v);
	set->v = NULL;
	set->n = 0;
}

/* ---- settings ------------------------------------------------------------ */

static bool
plugin_host_key(const char *key)
{
	for (size_t i = 0; plugin_host_keys[i] != NULL; i++)
		if (strcmp(plugin_host_keys[i], key) == 0)
			return true;
	return false;
}

static const struct sz_setting *
plugin_setting(const struct sz_plugin *p, const char *key)
{
	for (const struct sz_setting *s = p->settings; s && s->key; s++)
		if (strcmp(s->key, key) == 0)
			return s;
	return NULL;
}

static bool
plugin_type_ok(const config_setting_t *v, enum sz_setting_type t)
{
	switch (t) {
	case SZ_SETTING_STRING:
		return config_setting_type(v) == CONFIG_TYPE_STRING;
	case SZ_SETTING_INT:
		return config_setting_type(v) == CONFIG_TYPE_INT ||
		    config_setting_type(v) == CONFIG_TYPE_INT64;
	case SZ_SETTING_BOOL:
		return config_setting_type(v) == CONFIG_TYPE_BOOL;
	case SZ_SETTING_FLOAT:
		return config_setting_is_number(v);
	}
	return false;
}

static const char *
plugin_type_name(enum sz_setting_type t)
{
	static const char *const names[] = {
		[SZ_SETTING_STRING] = "a string", [SZ_SETTING_INT] = "an integer",
		[SZ_SETTING_BOOL] = "true or false", [SZ_SETTING_FLOAT] = "a number",
	};

	return names[t];
}

/*
 * The channel's group in the secrets file: settings the plugin marks
 * secret, each set there or in the main file, not both.
 */
static int
plugin_check_secrets(const struct sz_plugin *p, const struct cfg_channel *c,
    char *err, size_t errlen)
{
	const config_setting_t *g = c->secrets;
	const struct sz_setting *s;
	int n = g != NULL ? config_setting_length(g) : 0;

	for (int i = 0; i < n; i++) {
		const config_setting_t *v = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(v);
		int line = config_setting_source_line(v);

		if ((s = plugin_setting(p, key)) == NULL || !s->secret) {
			snprintf(err, errlen, "%s:%d: channel '%s': '%s' is not "
			    "a secret setting of plugin %s", c->secrets_file,
			    line, c->name, key, p->name);
			return -1;
		}
		if (!plugin_type_ok(v, s->type)) {
			snprintf(err, errlen, "%s:%d: channel '%s': '%s' must be "
			    "%s (%s)", c->secrets_file, line, c->name, key,
			    plugin_type_name(s->type), s->help ? s->help :
			    p->name);
			return -1;
		}
		if (config_setting_get_member(c->settings, key) != NULL) {
			snprintf(err, errlen, "%s:%d: channel '%s': '%s' is set "
			    "both here and in the main config (line %d)",
			    c->secrets_file, line, c->name, key,
			    config_setting_source_line(config_setting_get_member(
			    c->settings, key)));
			return -1;
		}
	}
	return 0;
}

int
plugin_check_settings(const struct sz_plugin *p, const struct cfg_channel *c,
    const char *file, char *err, size_t errlen)
{
	const config_setting_t *g = c->settings;
	const struct sz_setting *s;
	int n = config_setting_length(g);

	for (int i = 0; i < n; i++) {
		const config_setting_t *v = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(v);

		if (plugin_host_key(key))
			continue;
		if ((s = plugin_setting(p, key)) == NULL) {
			snprintf(err, errlen, "%s:%d: channel '%s': plugin %s has "
			    "no setting '%s'", file, config_setting_source_line(v),
			    c->name, p->name, key);
			return -1;
		}
		if (!plugin_type_ok(v, s->type)) {
			snprintf(err, errlen, "%s:%d: channel '%s': '%s' must be "
			    "%s (%s)", file, config_setting_source_line(v),
			    c->name, key, plugin_type_name(s->type),
			    s->help ? s->help : p->name);
			return -1;
		}
	}
	if (plugin_check_secrets(p, c, err, errlen) != 0)
		return -1;
	for (s = p->settings; s && s->key; s++) {
		if (s->required && config_setting_get_member(g, s->key) == NULL &&
		    (c->secrets == NULL ||
		    config_setting_get_member(c->secrets, s->key) == NULL)) {
			snprintf(err, errlen, "%s:%d: channel '%s': plugin %s needs "
			    "'%s' (%s)", file, c->line, c->name, p->name, s->key,
			    s->help ? s->help : "required");
			return -1;
		}
	}
	return 0;
}
