/*
 * http_clock.h - a client has http_timeout seconds to send each request
 * in full, however it paces its bytes.
 *
 * evhttp's own timeout restarts with every read, so a client dribbling a
 * byte a second (slowloris) would keep its connection, and a slot of the
 * server, for ever.  Each connection gets a clock: started when it opens
 * and when an answer has gone out, stopped when a request has been read
 * in full.  When it runs out, the socket is shut down; evhttp reads the
 * end of the stream and closes the connection as for a client that left.
 *
 * evhttp does not say when it frees a connection, so the clock knows a
 * connection by its descriptor and its two addresses (learnt on the
 * loop's next turn after the accept, before any of its I/O), and touches
 * the socket only while both still match.  Loop thread only.
 */
#ifndef SANZHANG_HTTP_CLOCK_H
#define SANZHANG_HTTP_CLOCK_H

struct event_base;
struct evhttp;
struct evhttp_connection;
struct http_clock;

/* A clock of the given seconds for every connection of http; NULL on error. */
struct http_clock *http_clock_new(struct event_base *base, struct evhttp *http,
    int seconds);
/* After evhttp_free() of its server. */
void http_clock_free(struct http_clock *c);
/* A request of evcon has been read in full: no deadline while it is served. */
void http_clock_stop(struct http_clock *c, struct evhttp_connection *evcon);
/* Its answer is out: the next request must arrive within the limit. */
void http_clock_start(struct http_clock *c, struct evhttp_connection *evcon);

#endif
