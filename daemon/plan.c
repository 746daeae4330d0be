/*
 * plan.c - group an alert's post holders into recipients.
 */
#include "plan.h"
#include "roster.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PLAN_NONE	UINT32_MAX
#define PLAN_ARENA_MIN	(1u << 20)
/* A post's holders kept while its (node, role) group is open. */
#define PLAN_GROUP_MAX	64

struct plan_person {
	uint64_t	 key;		/* the seal's first 8 bytes, big-endian */
	unsigned char	 seal[PHONE_SEAL_LEN];
	uint32_t	 name;		/* arena offset */
	uint32_t	 grid;		/* arena offset */
	uint32_t	 first;		/* first post (index in posts) */
	uint32_t	 last;
	uint32_t	 n_posts;
	uint32_t	 channels;	/* arena offset; PLAN_NONE = none yet */
};

struct plan_held {
	uint32_t	 code;		/* arena offset */
	uint8_t		 role;
	uint8_t		 rank;
	uint32_t	 next;		/* the person's next post */
};

/* One holder waiting for its group to close. */
struct plan_cand {
	struct plan_post post;
	unsigned char	 seal[PHONE_SEAL_LEN];
	char		 buf[1024];	/* copies of the strings */
};

struct plan {
	char			*arena;
	size_t			 arena_len, arena_cap;
	struct plan_person	*people;
	size_t			 n_people, cap_people;
	struct plan_held	*posts;
	size_t			 n_posts, cap_posts;
	uint32_t		*hash;		/* person index + 1; 0 = empty */
	size_t			 hash_cap;	/* a power of two */
	struct plan_cand	 group[PLAN_GROUP_MAX];
	size_t			 n_group;
	char			*json;		/* scratch for plan_each */
	size_t			 json_cap;
};

static int
plan_grow(void **v, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 1024;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	if ((p = realloc(*v, n * size)) == NULL)
		return -1;
	*v = p;
	*cap = n;
	return 0;
}

/* Copy a string into the arena; its offset, or PLAN_NONE. */
static uint32_t
plan_str(struct plan *p, const char *s)
{
	size_t n = strlen(s) + 1;
	size_t off = p->arena_len;

	if (off + n > UINT32_MAX)
		return PLAN_NONE;
	if (off + n > p->arena_cap) {
		size_t cap = p->arena_cap ? p->arena_cap : PLAN_ARENA_MIN;
		char *a;

		while (cap < off + n)
			cap *= 2;
		if ((a = realloc(p->arena, cap)) == NULL)
			return PLAN_NONE;
		p->arena = a;
		p->arena_cap = cap;
	}
	memcpy(p->arena + off, s, n);
	p->arena_len += n;
	return (uint32_t)off;
}

/* A seal is a block cipher's output: its last bytes are a fine hash. */
static uint32_t
plan_hash_seal(const unsigned char *seal)
{
	return (uint32_t)seal[12] << 24 | (uint32_t)seal[13] << 16 |
	    (uint32_t)seal[14] << 8 | seal[15];
}

/* The first 8 bytes as a number: sorts as memcmp() does. */
static uint64_t
plan_seal_key(const unsigned char *seal)
{
	uint64_t k = 0;

	for (size_t i = 0; i < 8; i++)
		k = k << 8 | seal[i];
	return k;
}

static int
plan_rehash(struct plan *p)
{
	size_t cap = p->hash_cap ? p->hash_cap * 2 : 4096;
	uint32_t *h = calloc(cap, sizeof(*h));

	if (h == NULL)
		return -1;
	for (size_t i = 0; i < p->n_people; i++) {
		size_t j = plan_hash_seal(p->people[i].seal) & (cap - 1);

		while (h[j] != 0)
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(p->hash);
	p->hash = h;
	p->hash_cap = cap;
	return 0;
}

/* The person with this phone, added when new; PLAN_NONE on failure. */
static uint32_t
plan_person(struct plan *p, const struct plan_post *post)
{
	struct plan_person *m;
	char grid[ROSTER_MAX_CODE + 1];
	size_t j;

	if ((p->n_people + 1) * 2 > p->hash_cap && plan_rehash(p) != 0)
		return PLAN_NONE;
	j = plan_hash_seal(post->seal) & (p->hash_cap - 1);
	for (; p->hash[j] != 0; j = (j + 1) & (p->hash_cap - 1))
		if (memcmp(p->people[p->hash[j] - 1].seal, post->seal,
		    PHONE_SEAL_LEN) == 0)
			return p->hash[j] - 1;
	if (plan_grow((void **)&p->people, &p->cap_people, p->n_people + 1,
	    sizeof(*p->people)) != 0)
		return PLAN_NONE;
	roster_code_grid(post->code, grid, sizeof(grid));
	m = &p->people[p->n_people];
	memcpy(m->seal, post->seal, sizeof(m->seal));
	m->key = plan_seal_key(m->seal);
	m->name = plan_str(p, post->name);
	m->grid = plan_str(p, grid);
	m->first = m->last = PLAN_NONE;
	m->n_posts = 0;
	m->channels = PLAN_NONE;
	if (m->name == PLAN_NONE || m->grid == PLAN_NONE)
		return PLAN_NONE;
	p->hash[j] = (uint32_t)++p->n_people;
	return (uint32_t)(p->n_people - 1);
}

static int
plan_hold(struct plan *p, const struct plan_post *post)
{
	uint32_t who = plan_person(p, post), code;
	struct plan_person *m;
	struct plan_held *h;

	if (who == PLAN_NONE || (code = plan_str(p, post->code)) == PLAN_NONE ||
	    plan_grow((void **)&p->posts, &p->cap_posts, p->n_posts + 1,
	    sizeof(*p->posts)) != 0)
		return -1;
	h = &p->posts[p->n_posts];
	h->code = code;
	h->role = (uint8_t)post->role;
	h->rank = (uint8_t)post->rank;
	h->next = PLAN_NONE;
	m = &p->people[who];
	if (m->channels == PLAN_NONE && post->channels != NULL &&
	    *post->channels != '\0' &&
	    (m->channels = plan_str(p, post->channels)) == PLAN_NONE)
		return -1;
	if (m->last == PLAN_NONE)
		m->first = (uint32_t)p->n_posts;
	else
		p->posts[m->last].next = (uint32_t)p->n_posts;
	m->last = (uint32_t)p->n_posts;
	m->n_posts++;
	p->n_posts++;
	return 0;
}

/* Close a post: its primaries, or its backups when it has no primary. */
static int
plan_flush(struct plan *p)
{
	int want = 2;

	for (size_t i = 0; i < p->n_group; i++)
		if (p->group[i].post.rank == 1)
			want = 1;
	for (size_t i = 0; i < p->n_group; i++)
		if (p->group[i].post.rank == want &&
		    plan_hold(p, &p->group[i].post) != 0)
			return -1;
	p->n_group = 0;
	return 0;
}

int
plan_post(struct plan *p, const struct plan_post *post)
{
	struct plan_cand *c;
	const struct plan_post *last;
	const char *src[3];
	const char *dst[3];
	size_t off = 0;

	last = p->n_group ? &p->group[p->n_group - 1].post : NULL;
	if (last != NULL && (last->role != post->role ||
	    strcmp(last->code, post->code) != 0) && plan_flush(p) != 0)
		return -1;
	if (p->n_group == PLAN_GROUP_MAX && plan_flush(p) != 0)
		return -1;
	c = &p->group[p->n_group];
	c->post = *post;
	/* Copies of the strings, which the caller's row reuses. */
	src[0] = post->code;
	src[1] = post->name;
	src[2] = post->channels ? post->channels : "";
	memcpy(c->seal, post->seal, sizeof(c->seal));
	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(src[i]) + 1;

		if (off + len > sizeof(c->buf))
			return -1;
		memcpy(c->buf + off, src[i], len);
		dst[i] = c->buf + off;
		off += len;
	}
	c->post.code = dst[0];
	c->post.name = dst[1];
	c->post.seal = c->seal;
	c->post.channels = dst[2];
	p->n_group++;
	return 0;
}

static int
plan_person_cmp(const void *a, const void *b)
{
	const struct plan_person *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return memcmp(x->seal, y->seal, sizeof(x->seal));
}

/*
 * The last post, then the people in seal order: an alert's recipients
 * are one rowid range, so sorted by seal a reply finds its sender by a
 * binary search of the range, with no phone index to slow the insert.
 * No post is fed after this, so the hash can go.
 */
int
plan_finish(struct plan *p)
{
	if (plan_flush(p) != 0)
		return -1;
	if (p->n_people > 1)
		qsort(p->people, p->n_people, sizeof(*p->people),
		    plan_person_cmp);
	free(p->hash);
	p->hash = NULL;
	p->hash_cap = 0;
	return 0;
}

size_t
plan_recipients(const struct plan *p)
{
	return p->n_people;
}

size_t
plan_posts(const struct plan *p)
{
	return p->n_posts;
}

/* Append n bytes to the scratch JSON; -1 when out of memory. */
static int
plan_json_add(struct plan *p, size_t *off, const char *s, size_t n)
{
	if (plan_grow((void **)&p->json, &p->json_cap, *off + n + 1, 1) != 0)
		return -1;
	memcpy(p->json + *off, s, n);
	*off += n;
	return 0;
}

#define PLAN_JSON_LIT(p, off, lit)	plan_json_add(p, off, lit, sizeof(lit) - 1)

/* posts_json for one person, into the scratch buffer (no printf: 600k). */
static const char *
plan_posts_json(struct plan *p, const struct plan_person *m)
{
	size_t off = 0;
	char rank[4];

	if (PLAN_JSON_LIT(p, &off, "[") != 0)
		return NULL;
	for (uint32_t i = m->first; i != PLAN_NONE; i = p->posts[i].next) {
		const struct plan_held *h = &p->posts[i];
		const char *code = p->arena + h->code;
		const char *role = roster_role_name(h->role);

		rank[0] = (char)('0' + h->rank % 10);
		/* Codes are validated roster codes: no quote or backslash. */
		if ((i != m->first && PLAN_JSON_LIT(p, &off, ",") != 0) ||
		    PLAN_JSON_LIT(p, &off, "{\"code\":\"") != 0 ||
		    plan_json_add(p, &off, code, strlen(code)) != 0 ||
		    PLAN_JSON_LIT(p, &off, "\",\"role\":\"") != 0 ||
		    plan_json_add(p, &off, role, strlen(role)) != 0 ||
		    PLAN_JSON_LIT(p, &off, "\",\"rank\":") != 0 ||
		    plan_json_add(p, &off, rank, 1) != 0 ||
		    PLAN_JSON_LIT(p, &off, "}") != 0)
			return NULL;
	}
	if (PLAN_JSON_LIT(p, &off, "]") != 0)
		return NULL;
	p->json[off] = '\0';
	return p->json;
}

int
plan_each(struct plan *p, int (*cb)(const struct plan_rcpt *r, void *arg),
    void *arg)
{
	int rc;

	for (size_t i = 0; i < p->n_people; i++) {
		const struct plan_person *m = &p->people[i];
		struct plan_rcpt r = {
			.seal = m->seal,
			.name = p->arena + m->name,
			.grid = p->arena + m->grid,
			.n_posts = m->n_posts,
			.role = p->posts[m->first].role,
			.channels = m->channels == PLAN_NONE ? "" :
			    p->arena + m->channels,
		};

		if ((r.posts_json = plan_posts_json(p, m)) == NULL)
			return -1;
		if ((rc = cb(&r, arg)) != 0)
			return rc;
	}
	return 0;
}

struct plan *
plan_new(void)
{
	return calloc(1, sizeof(struct plan));
}

void
plan_free(struct plan *p)
{
	if (p == NULL)
		return;
	free(p->arena);
	free(p->people);
	free(p->posts);
	free(p->hash);
	free(p->json);
	free(p);
}
