/*
 * ratelimit.h - token buckets per client address for failed tries (forged
 * acknowledgement links), in a fixed table: memory stays the same however
 * many addresses come.  Loop thread only.
 *
 * Addresses that fall into one slot share its bucket: a newcomer inherits
 * what is left rather than a full budget, so spreading guesses over
 * addresses that collide gains nothing.  An IPv6 client is counted by its
 * /64 (one subscriber's prefix), an IPv4 client by its address.
 */
#ifndef SANZHANG_RATELIMIT_H
#define SANZHANG_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_SLOTS		4096

struct ratelimit_slot {
	unsigned char	 key[16];	/* the address (IPv6 /64, or v4-mapped) */
	double		 left;		/* tries left, refilled by time */
	double		 at;		/* when left was computed, s */
	bool		 used;
	bool		 said;		/* the refusal of this key was logged */
};

struct ratelimit {
	double			 burst;		/* tries at most in the bucket */
	double			 every_s;	/* one try comes back this often */
	uint32_t		 seed;		/* hash seed, random, 0 = unset */
	struct ratelimit_slot	 slot[RATELIMIT_SLOTS];
};

enum ratelimit_verdict {
	RATELIMIT_ALLOW,
	RATELIMIT_DENY,
	RATELIMIT_DENY_FIRST,	/* refused, the first time since allowed */
};

/* A table with every bucket full (static storage: the rest zero). */
#define RATELIMIT_INIT(b, e)	{ .burst = (b), .every_s = (e) }

/*
 * Spend one try of addr (as evhttp prints peers) at time now (monotonic
 * seconds).  When refused, *retry_s (when not NULL) is the number of
 * whole seconds until the next try comes back.
 */
enum ratelimit_verdict ratelimit_take(struct ratelimit *rl, const char *addr,
    double now, unsigned *retry_s);

#endif
