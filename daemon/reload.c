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
#include "dispatch.h"
#include "log.h"
#include "notify.h"
#include "reload.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool
listen_eq(const struct config *a, const struct config *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (size_t i = 0; i < a->n_listen; i++)
		if (!config_str_eq(a->listen[i].host, b->listen[i].host) ||
		    !config_str_eq(a->listen[i].port, b->listen[i].port))
			return false;
	return true;
}

int
reload_compatible(const struct config *cur, const struct config *next,
    char *why, size_t len)
{
	const char *what = NULL;

	if (!config_str_eq(cur->state_dir, next->state_dir))
		what = "state_dir";
	else if (!config_str_eq(cur->plugin_dir, next->plugin_dir))
		what = "plugin_dir";
	else if (!listen_eq(cur, next))
		what = "listen";
	else if (!config_str_eq(cur->control_socket, next->control_socket))
		what = "control_socket";
	else if (!config_str_eq(cur->public_url, next->public_url))
		what = "public_url";	/* in the channels' callback URLs */
	else if (cur->max_body != next->max_body)
		what = "max_body";
	else if (cur->http_timeout != next->http_timeout)
		what = "http_timeout";
	if (what == NULL)
		return 0;
	snprintf(why, len, "%s differs from the running configuration: it "
	    "changes only on restart", what);
	return -1;
}

void
reload_run(struct daemon *d)
{
	char err[512], changed[512] = "";
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
	/* The channels last: opening a plugin is the step that may fail. */
	if (d->dispatch != NULL && dispatch_reload(d->dispatch, next, changed,
	    sizeof(changed), err, sizeof(err)) != 0) {
		log_warnx("reload: %s; still running the configuration read "
		    "before", err);
		config_free(next);
		goto done;
	}
	d->retired[d->n_retired++] = d->cfg;
	d->cfg = next;
	log_set_level(next->log_level);
	log_info("reload: %s: %zu tokens, %zu channels%s%s%s, %zu routes, %zu "
	    "escalation policies, %zu templates in effect", next->file,
	    next->n_tokens, next->n_channels, changed[0] ? " (" : "", changed,
	    changed[0] ? ")" : "", next->n_routing, next->n_escalation,
	    next->n_templates);
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
