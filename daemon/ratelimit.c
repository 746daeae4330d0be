/*
 * ratelimit.c - token buckets per client address in a direct-mapped table.
 */
#include "ratelimit.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/random.h>

/* The address as 16 bytes: IPv6 cut to its /64, IPv4 mapped into IPv6. */
static void
ratelimit_key(const char *addr, unsigned char key[16])
{
	struct in_addr a4;

	memset(key, 0, 16);
	if (inet_pton(AF_INET6, addr, key) == 1) {
		memset(key + 8, 0, 8);
	} else if (inet_pton(AF_INET, addr, &a4) == 1) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &a4, 4);
	} else			/* not an IP (the control socket): by name */
		memcpy(key, addr, strnlen(addr, 16));
}

/* FNV-1a from a random basis: addresses spread evenly, unpredictably. */
static uint32_t
ratelimit_hash(struct ratelimit *rl, const unsigned char key[16])
{
	uint32_t h;

	while (rl->seed == 0 &&
	    getrandom(&rl->seed, sizeof(rl->seed), 0) != sizeof(rl->seed))
		;
	h = rl->seed;
	for (size_t i = 0; i < 16; i++)
		h = (h ^ key[i]) * 16777619u;
	return h;
}

enum ratelimit_verdict
ratelimit_take(struct ratelimit *rl, const char *addr, double now,
    unsigned *retry_s)
{
	unsigned char key[16];
	struct ratelimit_slot *s;

	ratelimit_key(addr, key);
	s = &rl->slot[ratelimit_hash(rl, key) % RATELIMIT_SLOTS];
	if (!s->used) {
		s->used = true;
		s->left = rl->burst;
		s->at = now;
	}
	if (memcmp(s->key, key, sizeof(key)) != 0) {
		memcpy(s->key, key, sizeof(key));	/* what is left stays */
		s->said = false;
	}
	s->left += (now - s->at) / rl->every_s;
	if (s->left > rl->burst)
		s->left = rl->burst;
	s->at = now;
	if (s->left >= 1.0) {
		s->left -= 1.0;
		s->said = false;
		return RATELIMIT_ALLOW;
	}
	if (retry_s != NULL) {
		double wait = (1.0 - s->left) * rl->every_s;

		*retry_s = (unsigned)wait + ((double)(unsigned)wait < wait);
	}
	if (s->said)
		return RATELIMIT_DENY;
	s->said = true;
	return RATELIMIT_DENY_FIRST;
}
