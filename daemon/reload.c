/*
 * reload.c - SIGHUP: switch to a re-read configuration (see reload.h).
 *
 * A replaced configuration is kept until exit, never freed while running:
 * requests, messages being rendered on reader threads and the channels'
 * plugins may still hold strings from it.  Reloads are rare and a
 * configuration is small.
 */
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "notify.h"
#include "reload.h"

#include <libconfig.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
str_eq(const char *a, const char *b)
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
	    !str_eq(config_setting_name(a), config_setting_name(b)))
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
		return str_eq(config_setting_get_string(a),
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

static bool
channel_eq(const struct cfg_channel *a, const struct cfg_channel *b)
{
	return str_eq(a->name, b->name) && str_eq(a->plugin, b->plugin) &&
	    a->rate == b->rate && a->concurrency == b->concurrency &&
	    a->batch == b->batch &&
	    str_eq(a->inbound_secret, b->inbound_secret) &&
	    setting_eq(a->settings, b->settings);
}

static bool
listen_eq(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (!str_eq(a->listen[i].host, b->listen[i].host) ||
		    !str_eq(a->listen[i].port, b->listen[i].port))
			return false;
	return true;
}

int
reload_compatible(const struct config *cur, const struct config *next,
    char *why, size_t len)
{
	const char *what = NULL;

	if (!str_eq(cur->state_dir, next->state_dir))
		what = "state_dir";
	else if (!str_eq(cur->plugin_dir, next->plugin_dir))
		what = "plugin_dir";
	else if (!listen_eq(cur, next))
		what = "listen";
	else if (!str_eq(cur->control_socket, next->control_socket))
		what = "control_socket";
	else if (!str_eq(cur->public_url, next->public_url))
		what = "public_url";	/* in the channels' callback URLs */
	else if (cur->max_body != next->max_body)
		what = "max_body";
	else if (cur->http_timeout != next->http_timeout)
		what = "http_timeout";
	else if (cur->n_channels != next->n_channels)
		what = "channels";
	for (size_t i = 0; what == NULL && i < cur->n_channels; i++)
		if (!channel_eq(&cur->channels[i], &next->channels[i])) {
			snprintf(why, len, "channel %s (line %d) differs from "
			    "the running one: channels change only on restart",
			    next->channels[i].name, next->channels[i].line);
			return -1;
		}
	if (what == NULL)
		return 0;
	snprintf(why, len, "%s differs from the running configuration: it "
	    "changes only on restart", what);
	return -1;
}

void
reload_run(struct daemon *d)
{
	char err[512];
	struct config *next, **keep;

	notify_reloading();
	if ((next = config_load(d->cfg->file, err, sizeof(err))) == NULL) {
		log_warnx("reload: %s; still running the configuration read "
		    "before", err);
		goto done;
	}
	if (reload_compatible(d->cfg, next, err, sizeof(err)) != 0) {
		log_warnx("reload: %s: %s; still running the configuration "
		    "read before", next->file, err);
		config_free(next);
		goto done;
	}
	if ((keep = realloc(d->retired, (d->n_retired + 1) *
	    sizeof(*keep))) == NULL) {
		log_warnx("reload: out of memory; still running the "
		    "configuration read before");
		config_free(next);
		goto done;
	}
	d->retired = keep;
	d->retired[d->n_retired++] = d->cfg;
	d->cfg = next;
	log_set_level(next->log_level);
	log_info("reload: %s: %zu tokens, %zu routes, %zu escalation "
	    "policies, %zu templates in effect", next->file, next->n_tokens,
	    next->n_routing, next->n_escalation, next->n_templates);
done:
	notify_ready();
}

void
reload_free(struct daemon *d)
{
	for (size_t i = 0; i < d->n_retired; i++)
		config_free(d->retired[i]);
	free(d->retired);
	d->retired = NULL;
	d->n_retired = 0;
}
