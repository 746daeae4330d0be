/*
 * roster.c - the roster parser and validator: CSV lines (or the same
 * fields from JSON) in, a validated struct roster or every bad row out.
 *
 * A real roster has ~600k rows, so nothing here allocates per field:
 * strings go to one bump arena, nodes and posts to two growing arrays, and
 * the uniqueness checks use open-addressing tables of (hash << 32 | index
 * + 1) that are freed when parsing ends.
 *
 * This file drives the parse (lines, fields, rows, finish) and names roles
 * and kinds; roster_check.c validates a row's fields and roster_link.c
 * keeps the tables and links a checked row into the tree.
 */
#include "roster_priv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROSTER_HEADER "street_code,street_name,community_code," \
	"community_name,grid,building,unit,role,rank,name,phone,channels"

static const char *const roster_cols[ROSTER_NCOLS] = {
	"street_code", "street_name", "community_code", "community_name",
	"grid", "building", "unit", "role", "rank", "name", "phone", "channels",
};

const char *const roster_kinds[NODE_KIND_COUNT] = {
	"street", "community", "grid", "building", "unit",
};

const struct roster_role_info roster_roles[ROLE_COUNT] = {
	[ROLE_GRID_LEADER] = { "grid_leader", "网格长", 1u << NODE_GRID, true },
	[ROLE_BUILDING_LEADER] = { "building_leader", "楼栋长",
	    1u << NODE_BUILDING, true },
	[ROLE_UNIT_LEADER] = { "unit_leader", "单元长", 1u << NODE_UNIT, true },
	[ROLE_VILLAGER_REP] = { "villager_rep", "村民代表", 1u << NODE_GRID,
	    false },
	[ROLE_DUTY_OFFICER] = { "duty_officer", "值班员",
	    1u << NODE_STREET | 1u << NODE_COMMUNITY, false },
};

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
bool
roster_why(struct roster_parser *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return false;
}

/* ---- one row ---------------------------------------------------------- */

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
