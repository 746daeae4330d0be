/*
 * plugin.h - loading channel plugins (include/sanzhang/plugin.h is their
 * ABI) and checking a channel's settings against what its plugin declares.
 */
#ifndef SANZHANG_PLUGIN_LOADER_H
#define SANZHANG_PLUGIN_LOADER_H

#include <stddef.h>

#include <sanzhang/plugin.h>

struct cfg_channel;

/* One loaded shared object. */
struct plugin_mod {
	char			*name;
	char			*path;
	void			*dl;		/* dlopen handle */
	const struct sz_plugin	*p;
};

/* The plugins loaded for one configuration, each once. */
struct plugin_set {
	struct plugin_mod	*v;
	size_t			 n;
};

/*
 * The plugin called name from dir, loading it on first use.  Refuses a
 * name that is not [a-z0-9_]+, a file that does not load (dlerror() is
 * quoted), a missing `sanzhang_plugin` symbol, another ABI version, a name
 * that differs from the file's, a max_batch of 0 and missing functions.
 */
const struct plugin_mod *plugin_get(struct plugin_set *set, const char *dir,
    const char *name, char *err, size_t errlen);

/*
 * Check a channel's group against its plugin's settings: unknown keys,
 * missing required ones and wrong types are errors naming the config
 * file, the line, the channel, the plugin and the key.
 */
int plugin_check_settings(const struct sz_plugin *p, const struct cfg_channel *c,
    const char *file, char *err, size_t errlen);

/* Unload every plugin of the set. */
void plugin_set_free(struct plugin_set *set);

#endif
