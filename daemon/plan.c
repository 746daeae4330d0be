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
	char		 phone[12];
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

static uint32_t
plan_hash_phone(const char *phone)
{
	uint32_t h = 2166136261u;

	for (; *phone; phone++)
		h = (h ^ (uint8_t)*phone) * 16777619u;
	return h;
}

static int
plan_rehash(struct plan *p)
{
	size_t cap = p->hash_cap ? p->hash_cap * 2 : 4096;
	uint32_t *h = calloc(cap, sizeof(*h));

	if (h == NULL)
		return -1;
	for (size_t i = 0; i < p->n_people; i++) {
		size_t j = plan_hash_phone(p->people[i].phone) & (cap - 1);

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
	j = plan_hash_phone(post->phone) & (p->hash_cap - 1);
	for (; p->hash[j] != 0; j = (j + 1) & (p->hash_cap - 1))
		if (strcmp(p->people[p->hash[j] - 1].phone, post->phone) == 0)
			return p->hash[j] - 1;
	if (plan_grow((void **)&p->people, &p->cap_people, p->n_people + 1,
	    sizeof(*p->people)) != 0)
		return PLAN_NONE;
	roster_code_grid(post->code, grid, sizeof(grid));
	m = &p->people[p->n_people];
	snprintf(m->phone, sizeof(m->phone), "%s", post->phone);
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
	int n;

	last = p->n_group ? &p->group[p->n_group - 1].post : NULL;
	if (last != NULL && (last->role != post->role ||
	    strcmp(last->code, post->code) != 0) && plan_flush(p) != 0)
		return -1;
	if (p->n_group == PLAN_GROUP_MAX && plan_flush(p) != 0)
		return -1;
	c = &p->group[p->n_group];
	c->post = *post;
	n = snprintf(c->buf, sizeof(c->buf), "%s%c%s%c%s%c%s", post->code, '\0',
	    post->name, '\0', post->phone, '\0',
	    post->channels ? post->channels : "");
	if (n < 0 || (size_t)n >= sizeof(c->buf))
		return -1;
	c->post.code = c->buf;
	c->post.name = c->buf + strlen(post->code) + 1;
	c->post.phone = c->post.name + strlen(post->name) + 1;
	c->post.channels = c->post.phone + strlen(post->phone) + 1;
	p->n_group++;
	return 0;
}

static int
plan_person_cmp(const void *a, const void *b)
{
	return strcmp(((const struct plan_person *)a)->phone,
	    ((const struct plan_person *)b)->phone);
}

/*
 * The last post, then the people in phone order: an alert's recipients
 * are one rowid range, so sorted by phone a reply finds its sender by a
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

/* posts_json for one person, into the scratch buffer. */
static const char *
plan_posts_json(struct plan *p, const struct plan_person *m)
{
	size_t off = 0;

	for (uint32_t i = m->first; i != PLAN_NONE; i = p->posts[i].next) {
		const struct plan_held *h = &p->posts[i];
		const char *code = p->arena + h->code;
		size_t need = off + strlen(code) + 64;
		int n;

		if (plan_grow((void **)&p->json, &p->json_cap, need, 1) != 0)
			return NULL;
		/* Codes are validated roster codes: no quote or backslash. */
		n = snprintf(p->json + off, p->json_cap - off,
		    "%s{\"code\":\"%s\",\"role\":\"%s\",\"rank\":%d}",
		    off ? "," : "[", code, roster_role_name(h->role), h->rank);
		off += (size_t)n;
	}
	if (plan_grow((void **)&p->json, &p->json_cap, off + 2, 1) != 0)
		return NULL;
	memcpy(p->json + off, off ? "]" : "[]", off ? 2 : 3);
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
			.phone = m->phone,
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
