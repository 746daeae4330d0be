/*
 * roster.c - the roster parser and validator: CSV lines (or the same
 * fields from JSON) in, a validated struct roster or every bad row out.
 *
 * A real roster has ~600k rows, so nothing here allocates per field:
 * strings go to one bump arena, nodes and posts to two growing arrays, and
 * the uniqueness checks use open-addressing tables of (hash << 32 | index
 * + 1) that are freed when parsing ends.
 */
#include "roster.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROSTER_HEADER "street_code,street_name,community_code," \
	"community_name,grid,building,unit,role,rank,name,phone,channels"
#define ARENA_CHUNK	(256 * 1024)

/* Strings of a parser and then of its roster; freed chunk by chunk. */
struct arena_chunk {
	struct arena_chunk	*next;
	size_t			 used;
	size_t			 size;
	char			 data[];
};

/* One open-addressing table; an entry is hash << 32 | (index + 1). */
struct roster_tab {
	uint64_t	*v;
	size_t		 mask;		/* size - 1; size is a power of two */
	size_t		 n;
};

struct roster_parser {
	struct arena_chunk	*arena;
	struct roster_node	*nodes;
	size_t			 n_nodes, cap_nodes;
	struct roster_post	*posts;
	size_t			 n_posts, cap_posts;
	struct roster_tab	 node_tab;	/* by code */
	struct roster_tab	 post_tab;	/* by (node, role, slot) */
	struct roster_errors	*errs;
	size_t			 cap_errs;
	uint32_t		 last;		/* the previous good row's node */
	uint32_t		 line;		/* CSV lines fed so far */
	bool			 fed;		/* anything fed at all */
	bool			 csv;		/* a CSV line was fed */
	bool			 header_seen;
	bool			 header_bad;	/* rows after it are ignored */
	char			 why[512];	/* the current row's problem */
	char			 scratch[ROSTER_MAX_LINE + 1];	/* split fields */
};

/* One row on its way in: raw fields, then what validation derived. */
struct roster_in {
	const char	*f[ROSTER_NCOLS];
	size_t		 len[ROSTER_NCOLS];
	int		 kind, role, rank;
	char		 phone[12];
	char		 chan[ROSTER_MAX_CHANNELS + 1];
	size_t		 chanlen;
	char		 code[ROSTER_MAX_CODE];
	size_t		 plen[NODE_KIND_COUNT];	/* code prefix of each level */
	uint32_t	 phash[NODE_KIND_COUNT];
};

static const char *const roster_cols[ROSTER_NCOLS] = {
	"street_code", "street_name", "community_code", "community_name",
	"grid", "building", "unit", "role", "rank", "name", "phone", "channels",
};

static const char *const roster_kinds[NODE_KIND_COUNT] = {
	"street", "community", "grid", "building", "unit",
};

static const struct {
	const char	*name;
	const char	*label;
	unsigned	 kinds;		/* bit per node kind it may sit at */
	bool		 leader;	/* one holder per rank */
} roster_roles[ROLE_COUNT] = {
	[ROLE_GRID_LEADER] = { "grid_leader", "网格长", 1u << NODE_GRID, true },
	[ROLE_BUILDING_LEADER] = { "building_leader", "楼栋长",
	    1u << NODE_BUILDING, true },
	[ROLE_UNIT_LEADER] = { "unit_leader", "单元长", 1u << NODE_UNIT, true },
	[ROLE_VILLAGER_REP] = { "villager_rep", "村民代表", 1u << NODE_GRID,
	    false },
	[ROLE_DUTY_OFFICER] = { "duty_officer", "值班员",
	    1u << NODE_STREET | 1u << NODE_COMMUNITY, false },
};

static const char *const roster_chan_keys[] = {
	"webhook", "dingtalk", "wecom", "feishu", "households",
};
#define ROSTER_NCHAN_KEYS (sizeof(roster_chan_keys) / sizeof(roster_chan_keys[0]))

/* ---- names ------------------------------------------------------------ */

const char *
roster_role_name(enum post_role role)
{
	return (unsigned)role < ROLE_COUNT ? roster_roles[role].name : "unknown";
}

const char *
roster_role_label(enum post_role role)
{
	return (unsigned)role < ROLE_COUNT ? roster_roles[role].label : "未知";
}

int
roster_role_parse(const char *s)
{
	for (int i = 0; i < ROLE_COUNT; i++)
		if (strcmp(s, roster_roles[i].name) == 0)
			return i;
	return -1;
}

const char *
roster_kind_name(enum node_kind kind)
{
	return (unsigned)kind < NODE_KIND_COUNT ? roster_kinds[kind] : "unknown";
}

bool
roster_role_allowed(enum post_role role, enum node_kind kind)
{
	if ((unsigned)role >= ROLE_COUNT || (unsigned)kind >= NODE_KIND_COUNT)
		return false;
	return (roster_roles[role].kinds & 1u << kind) != 0;
}

/* ---- arena and errors --------------------------------------------------- */

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

static void
arena_free(struct arena_chunk *c)
{
	while (c != NULL) {
		struct arena_chunk *next = c->next;

		free(c);
		c = next;
	}
}

static void
roster_verror(struct roster_parser *p, uint32_t line, const char *fmt,
    va_list ap)
{
	struct roster_errors *e = p->errs;
	char buf[1024];

	if (e->n >= ROSTER_MAX_ERRORS) {
		e->n_more++;
		return;
	}
	if (e->n == p->cap_errs) {
		size_t cap = p->cap_errs ? p->cap_errs * 2 : 16;
		struct roster_error *v = realloc(e->v, cap * sizeof(*v));

		if (v == NULL) {
			e->n_more++;
			return;
		}
		e->v = v;
		p->cap_errs = cap;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if ((e->v[e->n].reason = strdup(buf)) == NULL) {
		e->n_more++;
		return;
	}
	e->v[e->n++].line = line;
}

void
roster_parser_error(struct roster_parser *p, uint32_t loc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	roster_verror(p, loc, fmt, ap);
	va_end(ap);
}

/* Set the current row's problem; returns false for "return roster_why()". */
static bool roster_why(struct roster_parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static bool
roster_why(struct roster_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return false;
}

/* ---- text checks ------------------------------------------------------ */

/* Decode one UTF-8 sequence; its length, or -1 when malformed. */
static int
utf8_next(const unsigned char *s, size_t len, uint32_t *cp)
{
	uint32_t c = s[0], min;
	int n;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		n = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4, c &= 0x07, min = 0x10000;
	} else
		return -1;
	if ((size_t)n > len)
		return -1;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	return n;
}

/*
 * Control and invisible formatting characters: they garble a printed
 * posting, and bidi overrides could make one name look like another.
 */
static bool
roster_cp_hidden(uint32_t c)
{
	return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 ||
	    c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

/* NULL when s is valid UTF-8 without hidden characters, else why not. */
static const char *
roster_text_bad(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t c;

	for (size_t i = 0; i < len; ) {
		int n = utf8_next(u + i, len - i, &c);

		if (n < 0)
			return "is not valid UTF-8";
		if (roster_cp_hidden(c))
			return "contains a control character";
		i += (size_t)n;
	}
	return NULL;
}

/* Quote a value for an error: valid UTF-8, at most ~40 bytes. */
static const char *
roster_show(const char *s, size_t len, char out[64])
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0, i = 0;
	uint32_t c;

	out[o++] = '"';
	while (i < len && o < 44) {
		int n = utf8_next(u + i, len - i, &c);

		if (n < 0 || roster_cp_hidden(c)) {
			out[o++] = '?';
			i += n < 0 ? 1 : (size_t)n;
			continue;
		}
		memcpy(out + o, s + i, (size_t)n);
		o += (size_t)n, i += (size_t)n;
	}
	if (i < len) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

/* Whether s starts (front) or ends (!front) with a space or U+3000. */
static size_t
roster_space_at(const char *s, size_t len, bool front)
{
	if (len >= 1 && s[front ? 0 : len - 1] == ' ')
		return 1;
	if (len >= 3 && memcmp(front ? s : s + len - 3, "\xe3\x80\x80", 3) == 0)
		return 3;
	return 0;
}

/* A street, community or person name: trimmed in place, then checked. */
static bool
roster_check_name(struct roster_parser *p, const char **s, size_t *len)
{
	const char *bad;
	size_t n;

	while ((n = roster_space_at(*s, *len, true)) > 0)
		*s += n, *len -= n;
	while ((n = roster_space_at(*s, *len, false)) > 0)
		*len -= n;
	if (*len == 0)
		return roster_why(p, "required");
	if (*len > ROSTER_MAX_NAME)
		return roster_why(p, "longer than %d bytes", ROSTER_MAX_NAME);
	if ((bad = roster_text_bad(*s, *len)) != NULL)
		return roster_why(p, "%s", bad);
	return true;
}

/* A grid, building or unit label (never empty here). */
static bool
roster_check_label(struct roster_parser *p, const char *s, size_t len)
{
	char show[64];
	const char *bad;

	if (len > ROSTER_MAX_SEGMENT)
		return roster_why(p, "longer than %d bytes", ROSTER_MAX_SEGMENT);
	if ((bad = roster_text_bad(s, len)) != NULL)
		return roster_why(p, "%s", bad);
	if (roster_space_at(s, len, true) || roster_space_at(s, len, false))
		return roster_why(p, "has leading or trailing spaces: %s",
		    roster_show(s, len, show));
	if (memchr(s, '/', len) != NULL)
		return roster_why(p, "must not contain '/', got %s",
		    roster_show(s, len, show));
	return true;
}

static bool
roster_digits(const char *s, size_t len, size_t want)
{
	if (len != want)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* ---- channels ----------------------------------------------------------- */

static void
roster_trim(const char **s, const char **e)
{
	while (*s < *e && **s == ' ')
		(*s)++;
	while (*e > *s && (*e)[-1] == ' ')
		(*e)--;
}

/* Never echo a URL: webhook and robot URLs carry their secret. */
static bool
roster_chan_value(struct roster_parser *p, size_t key, const char *v,
    size_t vlen, char *out, size_t *o)
{
	char show[64];

	if (strcmp(roster_chan_keys[key], "households") == 0) {
		unsigned long n = 0;

		if (vlen == 0 || vlen > 6 || !roster_digits(v, vlen, vlen))
			return roster_why(p, "households must be a positive "
			    "integer up to 100000, got %s",
			    roster_show(v, vlen, show));
		for (size_t i = 0; i < vlen; i++)
			n = n * 10 + (unsigned long)(v[i] - '0');
		if (n == 0 || n > 100000)
			return roster_why(p, "households must be a positive "
			    "integer up to 100000, got %lu", n);
		*o += (size_t)snprintf(out + *o, ROSTER_MAX_CHANNELS + 1 - *o,
		    "%lu", n);
		return true;
	}
	if (!(vlen > 7 && strncmp(v, "http://", 7) == 0) &&
	    !(vlen > 8 && strncmp(v, "https://", 8) == 0))
		return roster_why(p, "%s must be an http:// or https:// URL",
		    roster_chan_keys[key]);
	for (size_t i = 0; i < vlen; i++)
		if ((unsigned char)v[i] <= 0x20 || (unsigned char)v[i] >= 0x7f)
			return roster_why(p, "%s URL contains a space, a "
			    "control or a non-ASCII character",
			    roster_chan_keys[key]);
	memcpy(out + *o, v, vlen);
	*o += vlen;
	return true;
}

/* One key=value item of the channels field, appended normalised. */
static bool
roster_chan_item(struct roster_parser *p, const char *s, const char *e,
    unsigned *seen, char *out, size_t *o)
{
	const char *eq = memchr(s, '=', (size_t)(e - s)), *ke, *vs;
	char show[64];
	size_t k;

	if (eq == NULL)
		return roster_why(p, "%s is not key=value",
		    roster_show(s, (size_t)(e - s) > 16 ? 16 : (size_t)(e - s),
		    show));
	ke = eq, vs = eq + 1;
	roster_trim(&s, &ke);
	roster_trim(&vs, &e);
	for (k = 0; k < ROSTER_NCHAN_KEYS; k++)
		if (strlen(roster_chan_keys[k]) == (size_t)(ke - s) &&
		    memcmp(roster_chan_keys[k], s, (size_t)(ke - s)) == 0)
			break;
	if (k == ROSTER_NCHAN_KEYS)
		return roster_why(p, "unknown key %s (valid: webhook, dingtalk, "
		    "wecom, feishu, households)",
		    roster_show(s, (size_t)(ke - s), show));
	if (*seen & 1u << k)
		return roster_why(p, "duplicate key \"%s\"", roster_chan_keys[k]);
	*seen |= 1u << k;
	if (*o > 0)
		out[(*o)++] = ';';
	memcpy(out + *o, s, (size_t)(ke - s));
	*o += (size_t)(ke - s);
	out[(*o)++] = '=';
	return roster_chan_value(p, k, vs, (size_t)(e - vs), out, o);
}

/* "k=v; k=v" -> "k=v;k=v"; never longer than the input. */
static bool
roster_check_channels(struct roster_parser *p, struct roster_in *in)
{
	const char *s = in->f[COL_CHANNELS], *end = s + in->len[COL_CHANNELS];
	unsigned seen = 0;
	size_t o = 0;

	if (in->len[COL_CHANNELS] > ROSTER_MAX_CHANNELS)
		return roster_why(p, "longer than %d bytes", ROSTER_MAX_CHANNELS);
	while (s < end) {
		const char *semi = memchr(s, ';', (size_t)(end - s));
		const char *e = semi != NULL ? semi : end;

		roster_trim(&s, &e);
		if (s < e && !roster_chan_item(p, s, e, &seen, in->chan, &o))
			return false;
		s = semi != NULL ? semi + 1 : end;
	}
	in->chan[o] = '\0';
	in->chanlen = o;
	return true;
}

/* ---- one row's fields ---------------------------------------------------- */

static bool
roster_check_codes(struct roster_parser *p, struct roster_in *in, int *col)
{
	const char *cc = in->f[COL_COMMUNITY_CODE];
	char show[64];

	*col = COL_STREET_CODE;
	if (!roster_digits(in->f[COL_STREET_CODE], in->len[COL_STREET_CODE], 9))
		return roster_why(p, "must be 9 digits, got %s",
		    roster_show(in->f[COL_STREET_CODE],
		    in->len[COL_STREET_CODE], show));
	*col = COL_STREET_NAME;
	if (!roster_check_name(p, &in->f[COL_STREET_NAME],
	    &in->len[COL_STREET_NAME]))
		return false;
	*col = COL_COMMUNITY_CODE;
	if (in->len[COL_COMMUNITY_CODE] == 0) {
		*col = COL_COMMUNITY_NAME;
		if (in->len[COL_COMMUNITY_NAME] != 0)
			return roster_why(p, "given without a community_code");
		return true;
	}
	if (!roster_digits(cc, in->len[COL_COMMUNITY_CODE], 12))
		return roster_why(p, "must be 12 digits, got %s",
		    roster_show(cc, in->len[COL_COMMUNITY_CODE], show));
	if (memcmp(cc, in->f[COL_STREET_CODE], 9) != 0)
		return roster_why(p, "community_code %.12s does not belong to "
		    "street %.9s", cc, in->f[COL_STREET_CODE]);
	*col = COL_COMMUNITY_NAME;
	return roster_check_name(p, &in->f[COL_COMMUNITY_NAME],
	    &in->len[COL_COMMUNITY_NAME]);
}

/* grid, building, unit: each needs the level above it. */
static bool
roster_check_path(struct roster_parser *p, struct roster_in *in, int *col)
{
	static const char *const need[] = { "a community_code", "a grid",
	    "a building" };

	in->kind = in->len[COL_COMMUNITY_CODE] ? NODE_COMMUNITY : NODE_STREET;
	for (int c = COL_GRID; c <= COL_UNIT; c++) {
		*col = c;
		if (in->len[c] == 0)
			continue;
		if (in->kind != NODE_COMMUNITY + (c - COL_GRID))
			return roster_why(p, "requires %s", need[c - COL_GRID]);
		if (!roster_check_label(p, in->f[c], in->len[c]))
			return false;
		in->kind++;
	}
	return true;
}

static bool
roster_check_role(struct roster_parser *p, struct roster_in *in)
{
	char show[64], allowed[128];
	size_t o = 0;

	if (in->len[COL_ROLE] == 0)
		return roster_why(p, "required (one of grid_leader, "
		    "building_leader, unit_leader, villager_rep, duty_officer)");
	if ((in->role = roster_role_parse(in->f[COL_ROLE])) < 0)
		return roster_why(p, "unknown role %s (valid: grid_leader, "
		    "building_leader, unit_leader, villager_rep, duty_officer)",
		    roster_show(in->f[COL_ROLE], in->len[COL_ROLE], show));
	if (roster_role_allowed(in->role, in->kind))
		return true;
	allowed[0] = '\0';
	for (int r = 0; r < ROLE_COUNT; r++)
		if (roster_role_allowed(r, in->kind))
			o += (size_t)snprintf(allowed + o, sizeof(allowed) - o,
			    "%s%s", o ? ", " : "", roster_roles[r].name);
	return roster_why(p, "%s cannot be held at a %s (allowed there: %s)",
	    roster_roles[in->role].name, roster_kinds[in->kind], allowed);
}

static bool
roster_check_post(struct roster_parser *p, struct roster_in *in, int *col)
{
	const char *r = in->f[COL_RANK];
	char show[64];

	*col = COL_ROLE;
	if (!roster_check_role(p, in))
		return false;
	*col = COL_RANK;
	if (in->len[COL_RANK] == 0 || strcmp(r, "1") == 0)
		in->rank = 1;
	else if (strcmp(r, "2") == 0)
		in->rank = 2;
	else
		return roster_why(p, "must be 1 or 2, got %s",
		    roster_show(r, in->len[COL_RANK], show));
	*col = COL_NAME;
	if (!roster_check_name(p, &in->f[COL_NAME], &in->len[COL_NAME]))
		return false;
	*col = COL_PHONE;
	if (in->len[COL_PHONE] == 0)
		return roster_why(p, "required");
	if (phone_normalize(in->f[COL_PHONE], in->phone) != 0)
		return roster_why(p, "not a mainland mobile number "
		    "(11 digits starting 13-19)");
	*col = COL_CHANNELS;
	return roster_check_channels(p, in);
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

static bool
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

static bool
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

static void
roster_row(struct roster_parser *p, struct roster_in *in, uint32_t line)
{
	int col = -1;

	if (roster_check_codes(p, in, &col) && roster_check_path(p, in, &col) &&
	    roster_check_post(p, in, &col) && roster_link(p, in, line, &col))
		return;
	if (col >= 0)
		roster_parser_error(p, line, "%s: %s", roster_cols[col], p->why);
	else
		roster_parser_error(p, line, "%s", p->why);
}

/* ---- CSV ------------------------------------------------------------------ */

/*
 * Split one line (RFC 4180 quoting) into p->scratch, which always has
 * room: fields never grow and each one's NUL replaces its comma.  Returns
 * the number of fields (all are counted, ROSTER_NCOLS are kept) or -1.
 */
static int
roster_split(struct roster_parser *p, const char *s, size_t len,
    struct roster_in *in)
{
	char *o = p->scratch;
	size_t i = 0;
	int n = 0;

	for (;; n++, i++) {
		char *start = o;
		const char *col = n < ROSTER_NCOLS ? roster_cols[n] : "extra column";

		if (i < len && s[i] == '"') {
			for (i++;; i++) {
				if (i >= len)
					return roster_why(p, "%s: unterminated "
					    "quoted field (line breaks inside "
					    "quotes are not supported)", col), -1;
				if (s[i] == '"' && (i + 1 >= len || s[i + 1] != '"'))
					break;
				if (s[i] == '\0')
					return roster_why(p, "%s: contains a NUL "
					    "byte", col), -1;
				*o++ = s[i];
				i += s[i] == '"';
			}
			if (++i < len && s[i] != ',')
				return roster_why(p, "%s: text after a closing "
				    "quote", col), -1;
		} else {
			for (; i < len && s[i] != ','; i++) {
				if (s[i] == '"')
					return roster_why(p, "%s: a quote inside "
					    "an unquoted field", col), -1;
				if (s[i] == '\0')
					return roster_why(p, "%s: contains a NUL "
					    "byte", col), -1;
				*o++ = s[i];
			}
		}
		*o++ = '\0';
		if (n < ROSTER_NCOLS) {
			in->f[n] = start;
			in->len[n] = (size_t)(o - 1 - start);
		}
		if (i >= len)
			return n + 1;
	}
}

static void
roster_header(struct roster_parser *p, const char *s, size_t len)
{
	struct roster_in in;
	int n;

	p->header_seen = true;
	p->header_bad = true;
	if ((n = roster_split(p, s, len, &in)) < 0) {
		roster_parser_error(p, p->line, "header: %s", p->why);
		return;
	}
	for (int i = 0; i < n && i < ROSTER_NCOLS; i++)
		if (strcmp(in.f[i], roster_cols[i]) != 0) {
			char show[64];

			roster_parser_error(p, p->line, "header: column %d is %s, "
			    "expected \"%s\" (the header must be %s)", i + 1,
			    roster_show(in.f[i], in.len[i], show),
			    roster_cols[i], ROSTER_HEADER);
			return;
		}
	if (n != ROSTER_NCOLS) {
		roster_parser_error(p, p->line, "header: expected %d columns, "
		    "got %d (the header must be %s)", ROSTER_NCOLS, n,
		    ROSTER_HEADER);
		return;
	}
	p->header_bad = false;
}

void
roster_parser_csv_line(struct roster_parser *p, const char *line, size_t len)
{
	struct roster_in in;
	int n;

	p->line++;
	p->fed = p->csv = true;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (p->line == 1 && len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0)
		line += 3, len -= 3;
	if (len == 0 || (p->header_seen && p->header_bad))
		return;
	if (len > ROSTER_MAX_LINE) {
		roster_parser_error(p, p->line, "line is longer than %d bytes",
		    ROSTER_MAX_LINE);
		p->header_bad = !p->header_seen;
		p->header_seen = true;
		return;
	}
	if (!p->header_seen) {
		roster_header(p, line, len);
		return;
	}
	if ((n = roster_split(p, line, len, &in)) < 0)
		roster_parser_error(p, p->line, "%s", p->why);
	else if (n != ROSTER_NCOLS)
		roster_parser_error(p, p->line, "expected %d columns, got %d",
		    ROSTER_NCOLS, n);
	else
		roster_row(p, &in, p->line);
}

void
roster_parser_fields(struct roster_parser *p,
    const char *const fields[ROSTER_NCOLS], uint32_t loc)
{
	struct roster_in in;

	p->fed = true;
	for (int i = 0; i < ROSTER_NCOLS; i++) {
		in.f[i] = fields[i] != NULL ? fields[i] : "";
		in.len[i] = strlen(in.f[i]);
	}
	roster_row(p, &in, loc);
}

/* ---- life cycle --------------------------------------------------------- */

struct roster_parser *
roster_parser_new(void)
{
	struct roster_parser *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if ((p->errs = calloc(1, sizeof(*p->errs))) == NULL) {
		free(p);
		return NULL;
	}
	p->last = UINT32_MAX;
	return p;
}

static void
roster_parser_free(struct roster_parser *p)
{
	arena_free(p->arena);
	free(p->nodes);
	free(p->posts);
	free(p->node_tab.v);
	free(p->post_tab.v);
	roster_errors_free(p->errs);
	free(p);
}

struct roster *
roster_parser_finish(struct roster_parser *p, struct roster_errors **errs)
{
	struct roster *r = NULL;
	bool bad = p->errs->n > 0 || p->errs->n_more > 0;

	if (!bad && (!p->fed || (p->csv && !p->header_seen)))
		roster_parser_error(p, 1, "missing header");
	else if (!bad && p->n_posts == 0)
		roster_parser_error(p, 2, "no rows");
	if (p->errs->n == 0 && p->errs->n_more == 0 &&
	    (r = calloc(1, sizeof(*r))) == NULL)
		roster_parser_error(p, 1, "out of memory");
	*errs = NULL;
	if (r == NULL) {
		*errs = p->errs;
		p->errs = NULL;
		roster_parser_free(p);
		return NULL;
	}
	/* Give back the growth slack: a roster lives as long as the import. */
	r->nodes = realloc(p->nodes, p->n_nodes * sizeof(*r->nodes));
	r->nodes = r->nodes != NULL ? r->nodes : p->nodes;
	r->n_nodes = p->n_nodes;
	r->posts = realloc(p->posts, p->n_posts * sizeof(*r->posts));
	r->posts = r->posts != NULL ? r->posts : p->posts;
	r->n_posts = p->n_posts;
	r->priv = p->arena;
	p->arena = NULL;
	p->nodes = NULL;
	p->posts = NULL;
	roster_parser_free(p);
	return r;
}

/*
 * Size the arrays and tables for a known number of rows at once: growing
 * them step by step costs more in copies, rehashes and page faults than
 * the parsing itself.  A failure here is harmless (they grow on demand).
 */
static void
roster_parser_reserve(struct roster_parser *p, size_t rows)
{
	void *v;

	if (rows < 1024)
		return;
	if ((v = realloc(p->nodes, rows * sizeof(*p->nodes))) != NULL)
		p->nodes = v, p->cap_nodes = rows;
	if ((v = realloc(p->posts, rows * sizeof(*p->posts))) != NULL)
		p->posts = v, p->cap_posts = rows;
	roster_tab_grow(&p->node_tab, rows);
	roster_tab_grow(&p->post_tab, rows);
}

struct roster *
roster_parse_csv(const char *buf, size_t len, struct roster_errors **errs)
{
	struct roster_parser *p;
	const char *end = buf + len, *s;
	size_t rows = 0;

	if ((p = roster_parser_new()) == NULL) {
		*errs = NULL;
		return NULL;
	}
	for (s = buf; s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL;
	    s++)
		rows++;
	roster_parser_reserve(p, rows);
	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		const char *e = nl != NULL ? nl : end;

		roster_parser_csv_line(p, buf, (size_t)(e - buf));
		buf = e + 1;
	}
	return roster_parser_finish(p, errs);
}

void
roster_free(struct roster *r)
{
	if (r == NULL)
		return;
	arena_free(r->priv);
	free(r->nodes);
	free(r->posts);
	free(r);
}

void
roster_errors_free(struct roster_errors *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n; i++)
		free(e->v[i].reason);
	free(e->v);
	free(e);
}
