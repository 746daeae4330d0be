/*
 * daemon.h - the running daemon's top-level state, shared by the loop's
 * subsystems.  Kept small on purpose: subsystems take what they need.
 */
#ifndef SANZHANG_DAEMON_H
#define SANZHANG_DAEMON_H

#include <stdbool.h>
#include <time.h>

struct config;
struct dbq;
struct event_base;
struct httpd;
struct store_backend;

struct daemon {
	struct config		*cfg;
	struct event_base	*base;
	const struct store_backend *store_be;
	struct dbq		*writer;	/* the one writer thread */
	struct dbq		*readers;	/* reads and CPU-heavy parsing */
	struct httpd		*httpd;
	time_t			 started;
};

#endif
