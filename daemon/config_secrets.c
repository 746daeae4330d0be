/*
 * config_secrets.c - secrets_file: the secret settings of channels (an
 * AccessKey secret, a robot's signing secret or URL) kept apart from the
 * main config, so that one may be world-readable.  The file is libconfig
 * syntax:
 *
 *	secrets = {
 *		aliyun-sms = { access_key_secret = "..."; };
 *		ding = { secret = "SEC..."; url = "https://..."; };
 *	};
 *
 * keyed by channel name.  Only the daemon's user may read it: a file
 * group- or world-readable, or owned by anyone else, is refused.  Which
 * keys a channel's plugin takes, and that each is one it marks secret, is
 * checked with the plugin (plugin.c).
 */
#include "config_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CFG_SECRETS_MAX		(1024 * 1024)	/* bytes of the file */

static const char *const cfg_secrets_keys[] = { "secrets", NULL };

/* The file's text, after checking who may read it; NULL and err. */
static char *
cfg_secrets_text(struct cfg_ctx *x, const config_setting_t *at,
    const char *path)
{
	struct stat sb;
	char *buf = NULL;
	ssize_t r;
	size_t len = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		cfg_err(x, at, "secrets_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		cfg_err(x, at, "secrets_file %s: not a regular file", path);
	else if (sb.st_uid != geteuid())
		cfg_err(x, at, "secrets_file %s: owned by uid %u, not by the "
		    "daemon's user (uid %u): chown it", path,
		    (unsigned)sb.st_uid, (unsigned)geteuid());
	else if ((sb.st_mode & 077) != 0)
		cfg_err(x, at, "secrets_file %s: group or others may access "
		    "it (mode %04o): chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
	else if (sb.st_size > CFG_SECRETS_MAX)
		cfg_err(x, at, "secrets_file %s: larger than %d bytes", path,
		    CFG_SECRETS_MAX);
	else if ((buf = malloc((size_t)sb.st_size + 1)) == NULL)
		cfg_nomem(x);
	else {
		while (len < (size_t)sb.st_size && (r = read(fd, buf + len,
		    (size_t)sb.st_size - len)) > 0)
			len += (size_t)r;
		buf[len] = '\0';
	}
	close(fd);
	return buf;
}

static struct cfg_channel *
cfg_secrets_channel(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_channels; i++)
		if (strcmp(cfg->channels[i].name, name) == 0)
			return &cfg->channels[i];
	return NULL;
}

/* Check the file's shape and hand each channel its group. */
static int
cfg_secrets_groups(struct cfg_ctx *sx, struct config *cfg, config_t *lc)
{
	config_setting_t *root = config_root_setting(lc), *g, *c, *v;
	struct cfg_channel *ch;

	if (cfg_keys(sx, root, cfg_secrets_keys, "a secrets file") == -1)
		return -1;
	if ((g = config_setting_get_member(root, "secrets")) == NULL)
		return 0;
	if (!config_setting_is_group(g))
		return cfg_bad(sx, g, "must be a group of channel names: "
		    "secrets = { NAME = { key = \"...\"; }; }");
	for (int i = 0; i < config_setting_length(g); i++) {
		c = config_setting_get_elem(g, (unsigned)i);
		if ((ch = cfg_secrets_channel(cfg, config_setting_name(c))) ==
		    NULL)
			return cfg_err(sx, c, "secrets for unknown channel "
			    "'%s'", config_setting_name(c));
		if (!config_setting_is_group(c))
			return cfg_bad(sx, c, "must be a group of settings");
		for (int k = 0; k < config_setting_length(c); k++) {
			v = config_setting_get_elem(c, (unsigned)k);
			if (!config_setting_is_scalar(v))
				return cfg_bad(sx, v, "must be a value");
		}
		ch->secrets = c;
		ch->secrets_file = cfg->secrets_file;
	}
	return 0;
}

int
cfg_secrets(struct cfg_ctx *x, const config_setting_t *root)
{
	config_setting_t *s = config_setting_get_member(root, "secrets_file");
	struct config *cfg = x->cfg;
	struct cfg_ctx sx = *x;
	const char *v;
	char *text;
	config_t *lc;
	int rc;

	if (s == NULL)
		return 0;
	if (cfg_str(x, s, &v) == -1)
		return -1;
	if (*v == '\0')
		return cfg_bad(x, s, "must name a file");
	/* Relative to the config file's directory, as @include is. */
	if (v[0] != '/' && x->dir != NULL) {
		size_t n = strlen(x->dir) + strlen(v) + 2;

		if ((cfg->secrets_file = malloc(n)) == NULL)
			return cfg_nomem(x);
		snprintf(cfg->secrets_file, n, "%s/%s", x->dir, v);
	} else if (cfg_dup(x, &cfg->secrets_file, v) == -1)
		return -1;
	if ((text = cfg_secrets_text(x, s, cfg->secrets_file)) == NULL)
		return -1;
	if ((lc = calloc(1, sizeof(*lc))) == NULL) {
		free(text);
		return cfg_nomem(x);
	}
	config_init(lc);
	cfg->secrets_priv = lc;
	/* Errors from here on name the secrets file and its lines. */
	sx.path = cfg->secrets_file;
	sx.dir = NULL;
	rc = config_read_string(lc, text);
	free(text);
	if (rc != CONFIG_TRUE)
		return cfg_err(&sx, NULL, "line %d: %s", config_error_line(lc),
		    config_error_text(lc));
	return cfg_secrets_groups(&sx, cfg, lc);
}
