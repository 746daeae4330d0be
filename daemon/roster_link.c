/*
 * roster_link.c - the parser's string arena, its open-addressing tables
 * of nodes and posts, and linking a checked row into the node tree:
 * missing ancestors are added, duplicate posts refused.
 */
#include "roster_priv.h"

#include <stdlib.h>
#include <string.h>

#define ARENA_CHUNK	(256 * 1024)

/* ---- arena ------------------------------------------------------------ */

static char *
arena_strndup(struct arena_chunk **head, const char *s, size_t len)
{
	struct arena_chunk *c = *head;
	char *d;

	if (c == NULL || c->size - c->used < len + 1) {
		size_t size = len + 1 > ARENA_CHUNK ? len + 1 : ARENA_CHUNK;

		if ((c = malloc(sizeof(*c) + size)) == NULL)
			return NULL;
		c->next = *head;
		c->used = 0;
		c->size = size;
		*head = c;
	}
	d = c->data + c->used;
	memcpy(d, s, len);
	d[len] = '\0';
	c->used += len + 1;
	return d;
}

/* ---- hash tables ------------------------------------------------------- */

static uint32_t
roster_fnv(uint32_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Spread FNV's weak low bits before they pick a slot. */
static size_t
roster_slot(uint32_t h, size_t mask)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	return h & mask;
}

/* Room for n entries at a load of at most 0.7 (hashes make probes cheap). */
static bool
roster_tab_fits(const struct roster_tab *t, size_t n)
{
	return t->v != NULL && n * 10 <= (t->mask + 1) * 7;
}

bool
roster_tab_grow(struct roster_tab *t, size_t want)
{
	size_t size = t->v ? (t->mask + 1) * 2 : 1024;
	uint64_t *v;

	while (size * 7 < want * 10)
		size *= 2;
	if ((v = calloc(size, sizeof(*v))) == NULL)
		return false;

	if (v == NULL)
		return false;
	for (size_t i = 0; t->v != NULL && i <= t->mask; i++) {
		size_t j;

		if (t->v[i] == 0)
			continue;
		for (j = roster_slot((uint32_t)(t->v[i] >> 32), size - 1);
		    v[j] != 0; j = (j + 1) & (size - 1))
			;
		v[j] = t->v[i];
	}
	free(t->v);
	t->v = v;
	t->mask = size - 1;
	return true;
}

/* Add an entry known to be absent. */
static bool
roster_tab_add(struct roster_tab *t, uint32_t h, size_t idx)
{
	size_t i;

	if (!roster_tab_fits(t, t->n + 1) && !roster_tab_grow(t, t->n + 1))
		return false;
	for (i = roster_slot(h, t->mask); t->v[i] != 0; i = (i + 1) & t->mask)
		;
	t->v[i] = (uint64_t)h << 32 | (uint64_t)(idx + 1);
	t->n++;
	return true;
}

static int64_t
roster_node_find(struct roster_parser *p, const char *code, size_t len,
    uint32_t h)
{
	const struct roster_tab *t = &p->node_tab;

	if (t->v == NULL)
		return -1;
	for (size_t i = roster_slot(h, t->mask); t->v[i] != 0;
	    i = (i + 1) & t->mask) {
		uint64_t e = t->v[i];
		const char *c;

		if ((uint32_t)(e >> 32) != h)
			continue;
		c = p->nodes[(uint32_t)e - 1].code;
		if (strncmp(c, code, len) == 0 && c[len] == '\0')
			return (int64_t)(uint32_t)e - 1;
	}
	return -1;
}

/* The slot of a post: its rank for leaders, its phone for the others. */
static uint64_t
roster_post_key(int role, int rank, const char *phone)
{
	return roster_roles[role].leader ? (uint64_t)rank :
	    strtoull(phone, NULL, 10);
}

static uint32_t
roster_post_hash(uint32_t node, int role, uint64_t key)
{
	uint64_t x = (uint64_t)node * 0x9e3779b97f4a7c15ull ^
	    (uint64_t)role << 56 ^ key * 0xc2b2ae3d27d4eb4full;

	return (uint32_t)(x >> 32) ^ (uint32_t)x;
}

static int64_t
roster_post_find(struct roster_parser *p, uint32_t node, int role, int rank,
    const char *phone)
{
	const struct roster_tab *t = &p->post_tab;
	uint64_t key = roster_post_key(role, rank, phone);
	uint32_t h = roster_post_hash(node, role, key);

	if (t->v == NULL)
		return -1;
	for (size_t i = roster_slot(h, t->mask); t->v[i] != 0;
	    i = (i + 1) & t->mask) {
		const struct roster_post *q = &p->posts[(uint32_t)t->v[i] - 1];

		if ((uint32_t)(t->v[i] >> 32) == h && q->node == node &&
		    q->role == role && roster_post_key(role, q->rank,
		    q->phone) == key)
			return (int64_t)(uint32_t)t->v[i] - 1;
	}
	return -1;
}

/* ---- linking a row into the tree ------------------------------------- */

static char roster_rank_slot[2][2] = { "1", "2" };

static void *
roster_grow(void *v, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 1024;

	if ((v = realloc(v, ncap * size)) != NULL)
		*cap = ncap;
	return v;
}

/* The row's full code, with the length and hash of each level's prefix. */
static void
roster_row_code(struct roster_in *in)
{
	uint32_t h = roster_fnv(2166136261u, in->f[COL_STREET_CODE], 9);
	size_t o = 9;

	memcpy(in->code, in->f[COL_STREET_CODE], 9);
	in->plen[NODE_STREET] = o, in->phash[NODE_STREET] = h;
	if (in->kind >= NODE_COMMUNITY) {
		memcpy(in->code + 9, in->f[COL_COMMUNITY_CODE] + 9, 3);
		h = roster_fnv(h, in->code + 9, 3);
		o = 12;
		in->plen[NODE_COMMUNITY] = o, in->phash[NODE_COMMUNITY] = h;
	}
	for (int k = NODE_GRID; k <= in->kind; k++) {
		int c = COL_GRID + k - NODE_GRID;

		in->code[o] = '/';
		memcpy(in->code + o + 1, in->f[c], in->len[c]);
		h = roster_fnv(h, in->code + o, in->len[c] + 1);
		o += in->len[c] + 1;
		in->plen[k] = o, in->phash[k] = h;
	}
	in->code[o] = '\0';
}

/* Every row naming a street or community must give it the same name. */
static bool
roster_same_name(struct roster_parser *p, int64_t idx, struct roster_in *in,
    int col, int *ecol)
{
	const struct roster_node *n = &p->nodes[idx];

	if (strlen(n->name) == in->len[col] &&
	    memcmp(n->name, in->f[col], in->len[col]) == 0)
		return true;
	*ecol = col;
	return roster_why(p, "\"%.*s\" differs from \"%s\" given for %s on "
	    "line %u", (int)in->len[col], in->f[col], n->name, n->code,
	    n->line);
}

static bool
roster_check_dup(struct roster_parser *p, struct roster_in *in, int64_t node,
    int *col)
{
	const struct roster_post *q;
	char masked[12];
	int64_t i;

	if ((i = roster_post_find(p, (uint32_t)node, in->role, in->rank,
	    in->phone)) >= 0) {
		q = &p->posts[i];
		*col = -1;
		if (roster_roles[in->role].leader)
			return roster_why(p, "duplicate post: %s rank %d of %s is "
			    "already held on line %u", roster_roles[in->role].name,
			    in->rank, p->nodes[node].code, q->line);
		phone_mask(in->phone, masked);
		return roster_why(p, "duplicate post: %s %s of %s is already "
		    "listed on line %u", roster_roles[in->role].name, masked,
		    p->nodes[node].code, q->line);
	}
	if (!roster_roles[in->role].leader || (i = roster_post_find(p,
	    (uint32_t)node, in->role, 3 - in->rank, in->phone)) < 0 ||
	    strcmp(p->posts[i].phone, in->phone) != 0)
		return true;
	*col = COL_PHONE;
	return roster_why(p, "the same person already holds rank %d of this "
	    "post on line %u", 3 - in->rank, p->posts[i].line);
}

static int64_t
roster_node_add(struct roster_parser *p, struct roster_in *in, int k,
    int64_t parent, uint32_t line)
{
	struct roster_node *n;

	if (p->n_nodes == p->cap_nodes) {
		if ((n = roster_grow(p->nodes, &p->cap_nodes, sizeof(*n))) == NULL)
			return -1;
		p->nodes = n;
	}
	n = &p->nodes[p->n_nodes];
	if ((n->code = arena_strndup(&p->arena, in->code, in->plen[k])) == NULL)
		return -1;
	if (k == NODE_STREET)
		n->name = arena_strndup(&p->arena, in->f[COL_STREET_NAME],
		    in->len[COL_STREET_NAME]);
	else if (k == NODE_COMMUNITY)
		n->name = arena_strndup(&p->arena, in->f[COL_COMMUNITY_NAME],
		    in->len[COL_COMMUNITY_NAME]);
	else	/* the label is the code's last segment */
		n->name = n->code + in->plen[k - 1] + 1;
	if (n->name == NULL)
		return -1;
	n->parent = k == NODE_STREET ? UINT32_MAX : (uint32_t)parent;
	n->kind = (uint8_t)k;
	n->line = line;
	if (!roster_tab_add(&p->node_tab, in->phash[k], p->n_nodes))
		return -1;
	return (int64_t)p->n_nodes++;
}

static bool
roster_post_add(struct roster_parser *p, struct roster_in *in, int64_t node,
    uint32_t line)
{
	struct roster_post *q;

	if (p->n_posts == p->cap_posts) {
		if ((q = roster_grow(p->posts, &p->cap_posts, sizeof(*q))) == NULL)
			return false;
		p->posts = q;
	}
	q = &p->posts[p->n_posts];
	q->node = (uint32_t)node;
	q->role = (uint8_t)in->role;
	q->rank = (uint8_t)in->rank;
	memcpy(q->phone, in->phone, sizeof(q->phone));
	q->line = line;
	q->channels = NULL;
	q->slot = roster_roles[in->role].leader ?
	    roster_rank_slot[in->rank - 1] :
	    arena_strndup(&p->arena, in->phone, 11);
	if (q->slot == NULL || (q->name = arena_strndup(&p->arena,
	    in->f[COL_NAME], in->len[COL_NAME])) == NULL)
		return false;
	if (in->chanlen > 0 && (q->channels = arena_strndup(&p->arena, in->chan,
	    in->chanlen)) == NULL)
		return false;
	if (!roster_tab_add(&p->post_tab, roster_post_hash((uint32_t)node,
	    in->role, roster_post_key(in->role, in->rank, in->phone)),
	    p->n_posts))
		return false;
	p->n_posts++;
	return true;
}

/*
 * Rosters come sorted, so the previous row's node or one of its ancestors
 * is usually this row's: a string compare instead of a hash probe.
 * Returns the deepest level found that way (-1 when none).
 */
static int
roster_link_cached(struct roster_parser *p, struct roster_in *in,
    int64_t idx[NODE_KIND_COUNT])
{
	for (uint32_t j = p->last; j != UINT32_MAX; j = p->nodes[j].parent) {
		const struct roster_node *n = &p->nodes[j];
		int k = n->kind;

		if (k > in->kind || strncmp(n->code, in->code, in->plen[k]) != 0 ||
		    n->code[in->plen[k]] != '\0')
			continue;
		for (idx[k] = j; k > 0; k--)
			idx[k - 1] = p->nodes[idx[k]].parent;
		return n->kind;
	}
	return -1;
}

bool
roster_link(struct roster_parser *p, struct roster_in *in, uint32_t line,
    int *col)
{
	int64_t idx[NODE_KIND_COUNT];
	int k, known;

	roster_row_code(in);
	known = roster_link_cached(p, in, idx);
	/* Parents always exist before children: find the deepest known. */
	for (k = in->kind; k > known; k--)
		if ((idx[k] = roster_node_find(p, in->code, in->plen[k],
		    in->phash[k])) >= 0)
			break;
	for (int j = k - 1; j > known; j--)
		idx[j] = p->nodes[idx[j + 1]].parent;
	if (k >= NODE_STREET && !roster_same_name(p, idx[NODE_STREET], in,
	    COL_STREET_NAME, col))
		return false;
	if (k >= NODE_COMMUNITY && !roster_same_name(p, idx[NODE_COMMUNITY],
	    in, COL_COMMUNITY_NAME, col))
		return false;
	if (k == in->kind && !roster_check_dup(p, in, idx[k], col))
		return false;
	for (int j = k + 1; j <= in->kind; j++)
		if ((idx[j] = roster_node_add(p, in, j, j ? idx[j - 1] : -1,
		    line)) < 0)
			goto oom;
	if (roster_post_add(p, in, idx[in->kind], line)) {
		p->last = (uint32_t)idx[in->kind];
		return true;
	}
oom:
	*col = -1;
	return roster_why(p, "out of memory");
}
