/*
 * plan.h - who gets an alert: the posts under its targets become one
 * recipient per person (phone), each naming all their posts.  People are
 * told apart by their numbers' seals (phoneseal.h): the plan never sees a
 * number in clear.
 *
 * Pure (no I/O): the store feeds the posts of the targeted roles in node
 * code order, then role, then rank.  For each post (a node and a role) the
 * primary holders (A角, rank 1) are chosen; where there is none, the backups
 * (B角, rank 2) stand in.  Memory stays compact for a city (~50 MB for
 * 610,000 posts): one string arena, index-linked lists, one hash table.
 */
#ifndef SANZHANG_PLAN_H
#define SANZHANG_PLAN_H

#include <stddef.h>

#include "phoneseal.h"

/* One post holder as the store reads it. */
struct plan_post {
	const char	*code;		/* the node's code */
	int		 role;		/* enum post_role */
	int		 rank;		/* 1 = A角, 2 = B角 */
	const char	*name;
	const unsigned char *seal;	/* the phone's seal (PHONE_SEAL_LEN
					 * bytes): people are told apart by it */
	const char	*channels;	/* the row's channels column, or "" */
};

/* One recipient, as plan_each() shows it. */
struct plan_rcpt {
	const unsigned char *seal;	/* PHONE_SEAL_LEN bytes */
	const char	*name;
	const char	*grid;		/* where they count: their first post's
					 * grid, else its community or street */
	const char	*posts_json;	/* [{"code","role","rank"}, ...] */
	size_t		 n_posts;
	int		 role;		/* their first post's role: it chooses
					 * the channels (the config's routing) */
	const char	*channels;	/* the first non-empty channels column of
					 * their posts, or "" */
};

struct plan;

struct plan *plan_new(void);
/* Feed one holder (in code, role, rank order); -1 when out of memory. */
int plan_post(struct plan *p, const struct plan_post *post);
/*
 * Flush the last post and order the people by seal (memcmp order, as
 * SQLite orders blobs); -1 when out of memory.
 */
int plan_finish(struct plan *p);
size_t plan_recipients(const struct plan *p);
size_t plan_posts(const struct plan *p);
/* Each recipient in seal order (after plan_finish); stops at cb's first
 * non-zero. */
int plan_each(struct plan *p, int (*cb)(const struct plan_rcpt *r, void *arg),
    void *arg);
void plan_free(struct plan *p);

#endif
