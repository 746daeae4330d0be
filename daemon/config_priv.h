/*
 * config_priv.h - what config.c and config_check.c share: one load in
 * progress, the error helpers and the typed, checked access to settings.
 * Not for use outside those two files.
 *
 * The helpers keep config.c's cfg_ prefix: config_ is libconfig's.
 */
#ifndef SANZHANG_CONFIG_PRIV_H
#define SANZHANG_CONFIG_PRIV_H

#include "config.h"
#include "log.h"

#include <libconfig.h>

#define CFG_PATHMAX		256

/* One load in progress: where errors go and what is being built. */
struct cfg_ctx {
	struct config	*cfg;
	const char	*path;
	char		*dir;		/* path's directory, or NULL */
	char		*err;
	size_t		 errlen;
};

/* config.c: "tokens[2].scope[0]": a setting's path, for messages. */
const char *cfg_path(const config_setting_t *s, char *buf, size_t len);
/* config.c: "FILE:LINE: message" at setting s; always returns -1. */
int cfg_err(struct cfg_ctx *x, const config_setting_t *s, const char *fmt,
    ...) LOG_PRINTF(3, 4);
/* config.c: "FILE:LINE: 'path' message" at setting s; always returns -1. */
int cfg_bad(struct cfg_ctx *x, const config_setting_t *s, const char *fmt,
    ...) LOG_PRINTF(3, 4);
/* config.c: "out of memory", naming the file; always returns -1. */
int cfg_nomem(struct cfg_ctx *x);

/* config_check.c: whether every byte of s is in set (and s has 1..max). */
bool cfg_charset(const char *s, const char *set, size_t max);
/* config_check.c: every member of group g must be in keys. */
int cfg_keys(struct cfg_ctx *x, const config_setting_t *g,
    const char *const *keys, const char *where);
/* config_check.c: s as a string ("" and -1 when it is not one). */
int cfg_str(struct cfg_ctx *x, const config_setting_t *s, const char **out);
/* config_check.c: s as an integer in min..max. */
int cfg_int(struct cfg_ctx *x, const config_setting_t *s, long long min,
    long long max, long long *out);
/* config_check.c: s is an array or list (with groups, a list of groups). */
int cfg_seq(struct cfg_ctx *x, const config_setting_t *s, bool groups);
/* config_check.c: replace *dst by a copy of src. */
int cfg_dup(struct cfg_ctx *x, char **dst, const char *src);

/* config_check.c: the list sections, each optional; -1 on the first error. */
int cfg_tokens(struct cfg_ctx *x, const config_setting_t *root);
int cfg_channels(struct cfg_ctx *x, const config_setting_t *root);
int cfg_routing(struct cfg_ctx *x, const config_setting_t *root);
int cfg_escalation(struct cfg_ctx *x, const config_setting_t *root);
int cfg_templates(struct cfg_ctx *x, const config_setting_t *root);
/* config_secrets.c: secrets_file, read after the channels. */
int cfg_secrets(struct cfg_ctx *x, const config_setting_t *root);

#endif
