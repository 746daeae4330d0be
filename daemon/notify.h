/*
 * notify.h - telling the service manager how the daemon is (sd_notify):
 * ready, reloading, stopping, a one-line status, and the watchdog's
 * keep-alive from a loop timer.  Without libsystemd at build time, or
 * when not started by systemd (no NOTIFY_SOCKET), every call does nothing.
 */
#ifndef SANZHANG_NOTIFY_H
#define SANZHANG_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

struct daemon;

/* Whether this build speaks sd_notify at all. */
bool notify_built(void);
/* Start the watchdog and status timers (when the manager asked for them). */
int notify_start(struct daemon *d);
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
/* Stop the timers. */
void notify_free(void);

#endif
