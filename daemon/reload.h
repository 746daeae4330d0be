/*
 * reload.h - SIGHUP: read the configuration again and switch to it.
 *
 * Tokens, channels, templates, escalation policies, routing, quiet hours
 * and the log level take effect at once, for the next request, message
 * or escalation step; what is already under way finishes as it began.  A
 * channel whose settings changed is opened anew from the new file (its
 * plugin's errors refuse the whole reload); messages queued for it go out
 * on the new one, and the old one closes once its requests in flight are
 * answered.
 * What is bound at start (state_dir, plugin_dir, listen, control_socket,
 * public_url, which is in the channels' callback URLs, max_body and
 * http_timeout) cannot change this way: a configuration that changes any
 * of it is refused, naming what, and the running one stays, as it does
 * for a broken file.
 */
#ifndef SANZHANG_RELOAD_H
#define SANZHANG_RELOAD_H

#include <stddef.h>

struct config;
struct daemon;

/*
 * 0 when next may replace cur while running; else -1 and why names the
 * first thing that needs a restart.
 */
int reload_compatible(const struct config *cur, const struct config *next,
    char *why, size_t len);
/* Read d->cfg->file again and switch to it, or log why not. */
void reload_run(struct daemon *d);
/* Free the configurations replaced by reloads (at exit). */
void reload_free(struct daemon *d);

#endif
