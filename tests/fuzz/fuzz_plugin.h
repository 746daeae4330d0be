/*
 * fuzz_plugin.h - driving a channel plugin's inbound() under libFuzzer,
 * through the fake host of the unit tests (tests/unit/fakehost.c).
 */
#ifndef SZ_FUZZ_PLUGIN_H
#define SZ_FUZZ_PLUGIN_H

#include <stddef.h>

/* The plugin under test: its source files are linked in. */
struct sz_plugin;
extern const struct sz_plugin sanzhang_plugin;

/* One setting of the channel: key and string value. */
struct fuzz_setting {
	const char	*key;
	const char	*value;
};

/*
 * Open the plugin on a fresh fake host with these settings (NULL-key
 * ended), hand it one callback, check the answer is sane, and close it.
 * body is given with its exact length (no NUL after it); query may be
 * NULL.  Aborts when the plugin cannot open or answers nonsense.
 */
void fuzz_inbound(const struct fuzz_setting *settings, const char *method,
    const char *query, const void *body, size_t body_len);

#endif
