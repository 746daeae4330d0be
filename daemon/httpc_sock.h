/*
 * httpc_sock.h - the sockets httpc asks the loop to watch for curl.
 *
 * A kept-alive connection is announced to the loop again for every
 * request it carries and let go when the request ends.  Dropping and
 * re-adding its watch each time costs an epoll_ctl() and an event
 * allocation per request; instead the watch of a connection socket that
 * curl lets go of stays in place, "parked", until curl uses the connection
 * again or closes it.  If a parked socket turns readable (the server
 * closed an idle connection), its watch is switched off and curl is not
 * told: curl checks an idle connection before reusing it.
 *
 * Only sockets opened through hsock_open() (curl's OPENSOCKETFUNCTION) are
 * parked, since only their closing is reported (hsock_close(), curl's
 * CLOSESOCKETFUNCTION); a socket curl closes behind our back could
 * otherwise leave a stale watch on a reused descriptor.  Everything runs
 * on the loop's thread.
 */
#ifndef SANZHANG_HTTPC_SOCK_H
#define SANZHANG_HTTPC_SOCK_H

#include <stdbool.h>

#include <event2/event.h>

struct hsocks;

/* A table of watches; cb(fd, what, arg) runs for active watches only. */
struct hsocks *hsocks_new(struct event_base *base, event_callback_fn cb,
    void *arg);
/* Free every watch left and the table (closes nothing). */
void hsocks_free(struct hsocks *t);

/* curl announces fd with EV_READ and/or EV_WRITE; 0, or -1. */
int hsocks_watch(struct hsocks *t, int fd, short what);
/* curl lets go of fd (CURL_POLL_REMOVE). */
void hsocks_unwatch(struct hsocks *t, int fd);

/* Open a socket for curl (marked as ours); -1 on failure. */
int hsocks_open(struct hsocks *t, int family, int type, int protocol);
/* Close a socket curl opened through hsocks_open(), dropping its watch. */
int hsocks_close(struct hsocks *t, int fd);

#endif
