/*
 * httpc_sock.c - the sockets httpc asks the loop to watch, with idle
 * connections' watches parked rather than dropped (see httpc_sock.h).
 */
#include "httpc_sock.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum hsock_state {
	HSOCK_OFF = 0,		/* no watch in the loop */
	HSOCK_ACTIVE,		/* curl wants to hear of it */
	HSOCK_PARKED,		/* curl let go; still watched for reading */
};

struct hsock {
	struct event		*ev;	/* made on first sight, reused */
	enum hsock_state	 state;
	bool			 ours;	/* opened by hsocks_open() */
};

struct hsocks {
	struct event_base	*base;
	event_callback_fn	 cb;
	void			*arg;
	struct hsock		*v;	/* by descriptor */
	size_t			 n;
};

/* The entry for fd, the table grown to hold it; NULL when out of memory. */
static struct hsock *
hsocks_at(struct hsocks *t, int fd)
{
	struct hsock *v;
	size_t n;

	if (fd < 0)
		return NULL;
	if ((size_t)fd < t->n)
		return &t->v[fd];
	n = t->n < 64 ? 64 : t->n;
	while (n <= (size_t)fd)
		n *= 2;
	if ((v = reallocarray(t->v, n, sizeof(*v))) == NULL)
		return NULL;
	memset(v + t->n, 0, (n - t->n) * sizeof(*v));
	t->v = v;
	t->n = n;
	return &t->v[fd];
}

/* Every event: a parked socket is switched off, not passed to curl. */
static void
hsocks_on_event(evutil_socket_t fd, short what, void *arg)
{
	struct hsocks *t = arg;
	struct hsock *s = &t->v[fd];

	if (s->state == HSOCK_ACTIVE) {
		t->cb(fd, what, t->arg);
		return;
	}
	event_del(s->ev);
	s->state = HSOCK_OFF;
}

struct hsocks *
hsocks_new(struct event_base *base, event_callback_fn cb, void *arg)
{
	struct hsocks *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->base = base;
	t->cb = cb;
	t->arg = arg;
	return t;
}

void
hsocks_free(struct hsocks *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].ev != NULL)
			event_free(t->v[i].ev);
	free(t->v);
	free(t);
}

int
hsocks_watch(struct hsocks *t, int fd, short what)
{
	short flags = EV_PERSIST | (what & (EV_READ | EV_WRITE));
	struct hsock *s;

	if ((s = hsocks_at(t, fd)) == NULL) {
		log_warnx("httpc: no memory to watch a socket");
		return -1;
	}
	if (s->ev == NULL) {
		if ((s->ev = event_new(t->base, fd, flags, hsocks_on_event,
		    t)) == NULL) {
			log_warnx("httpc: no memory for a socket event");
			return -1;
		}
	} else if (s->state != HSOCK_OFF && event_get_events(s->ev) == flags) {
		/* The next request on a kept connection: nothing to change. */
		s->state = HSOCK_ACTIVE;
		return 0;
	} else {
		event_del(s->ev);
		event_assign(s->ev, t->base, fd, flags, hsocks_on_event, t);
	}
	s->state = HSOCK_ACTIVE;
	return event_add(s->ev, NULL);
}

void
hsocks_unwatch(struct hsocks *t, int fd)
{
	struct hsock *s;

	if (fd < 0 || (size_t)fd >= t->n || (s = &t->v[fd])->ev == NULL)
		return;
	/* Parked only while it is ours and watched for reading alone. */
	if (s->ours && event_get_events(s->ev) == (EV_READ | EV_PERSIST)) {
		s->state = HSOCK_PARKED;
		return;
	}
	event_free(s->ev);
	s->ev = NULL;
	s->state = HSOCK_OFF;
}

int
hsocks_open(struct hsocks *t, int family, int type, int protocol)
{
	struct hsock *s;
	int fd;

	if ((fd = socket(family, type | SOCK_CLOEXEC, protocol)) < 0)
		return -1;
	if ((s = hsocks_at(t, fd)) == NULL) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	/* A descriptor number comes back only after hsocks_close(). */
	s->ours = true;
	return fd;
}

int
hsocks_close(struct hsocks *t, int fd)
{
	struct hsock *s;

	if (fd >= 0 && (size_t)fd < t->n) {
		s = &t->v[fd];
		if (s->ev != NULL)
			event_free(s->ev);
		*s = (struct hsock){ .ev = NULL };
	}
	return close(fd);
}
