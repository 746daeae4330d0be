/*
 * config.h - the one configuration struct and its parser, shared by the
 * daemon at start-up, by `sanzhangd -t` and by reload.
 *
 * The file is libconfig syntax (etc/sanzhangd.conf documents every key).
 * Unknown keys, wrong types and bad values are errors that name the file,
 * the line and the key.  A config that fails to load changes nothing.
 */
#ifndef SANZHANG_CONFIG_H
#define SANZHANG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "quiet.h"

/* Token roles, weakest first: a role may do what every weaker one may. */
enum token_role {
	TOKEN_VIEWER = 0,
	TOKEN_OPERATOR,
	TOKEN_ADMIN,
};

/* One API bearer token; only its SHA-256 is ever known to the daemon. */
struct cfg_token {
	char		*name;		/* shown in the audit log */
	unsigned char	 sha256[32];	/* of the secret as sent in the header */
	enum token_role	 role;
	char		**scope;	/* node codes; n_scope == 0 = everything */
	size_t		 n_scope;
	int		 line;		/* where it was defined */
};

/* One "host:port" listen address ("[::1]:8787" for IPv6). */
struct cfg_listen {
	char		*host;
	char		*port;
	int		 line;
};

/* One outbound channel (plugins arrive with the alerts issue). */
struct cfg_channel {
	char		*name;
	char		*plugin;
	double		 rate;		/* messages a second; 0 = unlimited */
	int		 concurrency;	/* requests in flight */
	int		 batch;		/* numbers per request; 0 = plugin's max */
	char		*inbound_secret; /* required in inbound URLs, or NULL */
	void		*settings;	/* the libconfig group (config_setting_t *),
					 * handed whole to the plugin */
	void		*secrets;	/* its group in the secrets file, or NULL */
	const char	*secrets_file;	/* that file's path, when secrets */
	int		 line;
};

/* One escalation step. */
struct cfg_escalation_step {
	int		 after;		/* seconds after the alert starts */
	char		*action;	/* resend, backup, notify_parent, notify_duty */
};

struct cfg_escalation {
	char				*name;	/* policy name, e.g. "emergency" */
	struct cfg_escalation_step	*steps;
	size_t				 n_steps;
};

/* routing: role -> ordered channel names (fallback order). */
struct cfg_route {
	char		*role;
	char		**channels;
	size_t		 n_channels;
};

struct cfg_template {
	char		*kind;		/* emergency, drill, notice */
	char		*text;
};

struct config {
	char			*file;		/* the path it was read from */
	char			*state_dir;	/* default /var/lib/sanzhang */
	struct cfg_listen	*listen;
	size_t			 n_listen;
	char			*control_socket; /* "" = none */
	char			*public_url;	/* base of ack links */
	char			*plugin_dir;
	int			 log_level;	/* enum log_level */
	size_t			 max_body;	/* bytes of one request body */
	int			 http_timeout;	/* seconds to read a request */
	struct cfg_token	*tokens;
	size_t			 n_tokens;
	struct cfg_channel	*channels;
	size_t			 n_channels;
	struct cfg_route	*routing;
	size_t			 n_routing;
	struct cfg_escalation	*escalation;
	size_t			 n_escalation;
	struct cfg_template	*templates;
	size_t			 n_templates;
	struct quiet		 quiet;		/* when notices wait */
	char			*secrets_file;	/* NULL when none */
	void			*priv;		/* the libconfig handle */
	void			*secrets_priv;	/* the secrets file's, or NULL */
};

/*
 * Load and validate a config file.  Returns NULL on error and writes one
 * line "FILE:LINE: message" (the key named in it) to err.
 */
struct config *config_load(const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

/* Both NULL, or the same string. */
bool config_str_eq(const char *a, const char *b);
/* The same channel settings (name, plugin, limits and the plugin's own). */
bool config_channel_eq(const struct cfg_channel *a,
    const struct cfg_channel *b);

/* Find the token whose SHA-256 matches (constant-time compare), or NULL. */
const struct cfg_token *config_token_find(const struct config *cfg,
    const unsigned char sha256[32]);

const char *config_role_name(enum token_role role);	/* "admin" ... */
int config_role_parse(const char *s);			/* -1 when unknown */

#endif
