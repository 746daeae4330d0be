/*
 * daemon.h - the running daemon's top-level state, shared by the loop's
 * subsystems.  Kept small on purpose: subsystems take what they need.
 */
#ifndef SANZHANG_DAEMON_H
#define SANZHANG_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "acktoken.h"

struct config;
struct dbq;
struct dispatch;
struct escalate;
struct event_base;
struct httpc;
struct httpd;
struct store_backend;

struct daemon {
	struct config		*cfg;		/* the one in effect (loop thread) */
	struct config		**retired;	/* replaced by reloads, kept */
	size_t			 n_retired;
	struct event_base	*base;
	const struct store_backend *store_be;
	struct dbq		*writer;	/* the one writer thread */
	struct dbq		*readers;	/* reads and CPU-heavy parsing */
	struct httpd		*httpd;
	struct httpc		*httpc;		/* outbound HTTP for plugins */
	struct dispatch		*dispatch;	/* the sender */
	struct escalate		*escalate;	/* the escalation clock */
	struct acktoken_key	 ackkey;	/* signs acknowledgement links */
	time_t			 started;
};

#endif
