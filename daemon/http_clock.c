/*
 * http_clock.c - a deadline for each request to arrive in full.
 */
#include "http_clock.h"
#include "idtable.h"
#include "log.h"

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One descriptor, and the connection it was last accepted for. */
struct clock_fd {
	struct http_clock	*c;
	int			 fd;
	struct event		*timer;
	struct sockaddr_storage	 local, peer;
	socklen_t		 local_len, peer_len;
};

struct http_clock {
	struct event_base	*base;
	struct timeval		 limit;
	struct idtable		 fds;		/* fd -> clock_fd */
	struct event		*learn;		/* takes in the new ones */
	struct bufferevent	**fresh;		/* accepted this turn */
	size_t			 n_fresh, cap_fresh;
};

/* Is fd still the connection cf was made for? */
static bool
clock_same(const struct clock_fd *cf)
{
	struct sockaddr_storage a;
	socklen_t n = sizeof(a);

	if (getsockname(cf->fd, (struct sockaddr *)&a, &n) != 0 ||
	    n != cf->local_len || memcmp(&a, &cf->local, n) != 0)
		return false;
	n = sizeof(a);
	return getpeername(cf->fd, (struct sockaddr *)&a, &n) == 0 &&
	    n == cf->peer_len && memcmp(&a, &cf->peer, n) == 0;
}

/* Out of time: the socket ends, and evhttp closes the connection. */
static void
clock_expired(evutil_socket_t fd, short what, void *arg)
{
	struct clock_fd *cf = arg;

	if (!clock_same(cf))
		return;
	log_debug("http: a request was not sent in full within %ld s; "
	    "connection closed", (long)cf->c->limit.tv_sec);
	shutdown(cf->fd, SHUT_RDWR);
}

static void
clock_arm(struct http_clock *c, struct bufferevent *bev)
{
	int fd = (int)bufferevent_getfd(bev);
	struct clock_fd *cf;

	if (fd < 0)
		return;
	if ((cf = idtable_get(&c->fds, fd)) == NULL) {
		if ((cf = calloc(1, sizeof(*cf))) == NULL)
			return;
		cf->c = c;
		cf->fd = fd;
		if ((cf->timer = evtimer_new(c->base, clock_expired, cf)) ==
		    NULL || idtable_put(&c->fds, fd, cf) != 0) {
			if (cf->timer != NULL)
				event_free(cf->timer);
			free(cf);
			return;
		}
	}
	cf->local_len = sizeof(cf->local);
	cf->peer_len = sizeof(cf->peer);
	memset(&cf->local, 0, sizeof(cf->local));
	memset(&cf->peer, 0, sizeof(cf->peer));
	if (getsockname(fd, (struct sockaddr *)&cf->local, &cf->local_len) != 0 ||
	    getpeername(fd, (struct sockaddr *)&cf->peer, &cf->peer_len) != 0) {
		evtimer_del(cf->timer);
		return;
	}
	evtimer_add(cf->timer, &c->limit);
}

/*
 * The connections accepted this turn, now that evhttp has given them
 * their descriptors.  None can be gone yet: evhttp frees a connection
 * only on its I/O or timeouts, which come on a later turn.
 */
static void
clock_learn(evutil_socket_t fd, short what, void *arg)
{
	struct http_clock *c = arg;

	for (size_t i = 0; i < c->n_fresh; i++)
		clock_arm(c, c->fresh[i]);
	c->n_fresh = 0;
}

/* evhttp's bufferevent for a new connection (as it would make it). */
static struct bufferevent *
clock_bev(struct event_base *base, void *arg)
{
	struct http_clock *c = arg;
	struct bufferevent *bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE), **v;

	if (bev == NULL)
		return NULL;
	if (c->n_fresh == c->cap_fresh) {
		size_t cap = c->cap_fresh ? c->cap_fresh * 2 : 64;

		if ((v = realloc(c->fresh, cap * sizeof(*v))) == NULL)
			return bev;	/* only evhttp's idle timeout, then */
		c->fresh = v;
		c->cap_fresh = cap;
	}
	c->fresh[c->n_fresh++] = bev;
	event_active(c->learn, EV_TIMEOUT, 0);
	return bev;
}

struct http_clock *
http_clock_new(struct event_base *base, struct evhttp *http, int seconds)
{
	struct http_clock *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->limit.tv_sec = seconds;
	if ((c->learn = event_new(base, -1, 0, clock_learn, c)) == NULL) {
		free(c);
		return NULL;
	}
	evhttp_set_bevcb(http, clock_bev, c);
	return c;
}

static struct clock_fd *
clock_fd_of(struct http_clock *c, struct evhttp_connection *evcon)
{
	struct bufferevent *bev;
	struct clock_fd *cf;
	int fd;

	if (c == NULL || evcon == NULL ||
	    (bev = evhttp_connection_get_bufferevent(evcon)) == NULL ||
	    (fd = (int)bufferevent_getfd(bev)) < 0 ||
	    (cf = idtable_get(&c->fds, fd)) == NULL)
		return NULL;
	return cf;
}

void
http_clock_stop(struct http_clock *c, struct evhttp_connection *evcon)
{
	struct clock_fd *cf = clock_fd_of(c, evcon);

	if (cf != NULL)
		evtimer_del(cf->timer);
}

void
http_clock_start(struct http_clock *c, struct evhttp_connection *evcon)
{
	struct clock_fd *cf = clock_fd_of(c, evcon);

	if (cf != NULL)
		evtimer_add(cf->timer, &c->limit);
}

void
http_clock_free(struct http_clock *c)
{
	struct clock_fd *cf;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->fds.cap; i++)
		if ((cf = c->fds.v[i].val) != NULL) {
			event_free(cf->timer);
			free(cf);
		}
	idtable_free(&c->fds);
	event_free(c->learn);
	free(c->fresh);
	free(c);
}
