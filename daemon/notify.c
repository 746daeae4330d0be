/*
 * notify.c - sd_notify: READY=1 once the listeners are up, RELOADING=1 and
 * READY=1 around a reload, STOPPING=1 when a stop begins, STATUS= with the
 * queue depth, and WATCHDOG=1 from a loop timer at half of WATCHDOG_USEC:
 * a loop that stops turning stops the keep-alives, and systemd kills and
 * restarts the daemon (Restart=on-failure).
 *
 * The messages are datagrams on a local socket: they never wait on the
 * service manager.
 */
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "log.h"
#include "notify.h"

#include <event2/event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

/* STATUS= is refreshed this often, or with each keep-alive if sooner. */
#define NOTIFY_STATUS_MS	5000

static struct event	*tick_ev;
static struct daemon	*notify_d;
static struct timeval	 tick_tv;

static void
notify_status(void)
{
	size_t depth = dbq_depth(notify_d->writer) +
	    dbq_depth(notify_d->readers) + dispatch_queued(notify_d->dispatch);

	sd_notifyf(0, "STATUS=serving; %zu queued", depth);
}

static void
notify_tick(evutil_socket_t fd, short what, void *arg)
{
	uint64_t usec = 0;

	if (sd_watchdog_enabled(0, &usec) > 0)
		sd_notify(0, "WATCHDOG=1");
	notify_status();
	evtimer_add(tick_ev, &tick_tv);
}

bool
notify_built(void)
{
	return true;
}

int
notify_start(struct daemon *d)
{
	uint64_t usec = 0, every = (uint64_t)NOTIFY_STATUS_MS * 1000;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	notify_d = d;
	if (sd_watchdog_enabled(0, &usec) > 0 && usec / 2 < every)
		every = usec / 2;
	if (every == 0)
		every = 1;
	tick_tv.tv_sec = (time_t)(every / 1000000);
	tick_tv.tv_usec = (suseconds_t)(every % 1000000);
	if ((tick_ev = evtimer_new(d->base, notify_tick, NULL)) == NULL ||
	    evtimer_add(tick_ev, &tick_tv) != 0)
		return -1;
	if (usec > 0)
		log_info("notify: watchdog every %llu ms (WATCHDOG_USEC %llu)",
		    (unsigned long long)every / 1000,
		    (unsigned long long)usec);
	return 0;
}

void
notify_ready(void)
{
	sd_notify(0, "READY=1\nSTATUS=serving");
}

void
notify_reloading(void)
{
	sd_notify(0, "RELOADING=1\nSTATUS=reloading the configuration");
}

void
notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

void
notify_free(void)
{
	if (tick_ev != NULL)
		event_free(tick_ev);
	tick_ev = NULL;
}

#else	/* !HAVE_LIBSYSTEMD */

bool
notify_built(void)
{
	return false;
}

int
notify_start(struct daemon *d)
{
	(void)d;
	return 0;
}

void notify_ready(void) {}
void notify_reloading(void) {}
void notify_stopping(void) {}
void notify_free(void) {}

#endif
