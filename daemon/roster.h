/*
 * roster.h - the contact hierarchy: nodes (street ... unit) and posts,
 * parsed and validated from the roster CSV of DESIGN.md (or the same
 * fields from JSON), and formatted back for export.
 *
 * Parsing is pure: no I/O, no SQLite.  The parser validates every row and
 * collects every error with its line number; a roster with any error is
 * never handed to the store, so an import changes nothing unless it is
 * entirely valid.
 */
#ifndef SANZHANG_ROSTER_H
#define SANZHANG_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* Node kinds, from the root down; the order is the tree order. */
enum node_kind {
	NODE_STREET = 0,	/* 9-digit division code, e.g. 220104001 */
	NODE_COMMUNITY,		/* 12-digit code; 2xx/3xx last three = village */
	NODE_GRID,		/* CODE/G01 (a villager group in a village) */
	NODE_BUILDING,		/* CODE/G01/12 */
	NODE_UNIT,		/* CODE/G01/12/3 */
	NODE_KIND_COUNT
};

/* Post roles (DESIGN.md vocabulary). */
enum post_role {
	ROLE_GRID_LEADER = 0,
	ROLE_BUILDING_LEADER,
	ROLE_UNIT_LEADER,
	ROLE_VILLAGER_REP,
	ROLE_DUTY_OFFICER,
	ROLE_COUNT
};

/* The CSV columns, in header order. */
enum roster_col {
	COL_STREET_CODE = 0, COL_STREET_NAME, COL_COMMUNITY_CODE,
	COL_COMMUNITY_NAME, COL_GRID, COL_BUILDING, COL_UNIT, COL_ROLE,
	COL_RANK, COL_NAME, COL_PHONE, COL_CHANNELS,
	ROSTER_NCOLS
};

/* Limits enforced by the validator (bytes of UTF-8 unless noted). */
#define ROSTER_MAX_NAME		64	/* person, street or community name */
#define ROSTER_MAX_SEGMENT	32	/* grid, building or unit label */
#define ROSTER_MAX_CHANNELS	512	/* the whole channels field */
#define ROSTER_MAX_CODE		160	/* a full path code */
#define ROSTER_MAX_LINE		4096	/* one CSV line */
#define ROSTER_MAX_ERRORS	10000	/* errors kept; the rest are counted */

/* One node met in the input. Parents always precede their children. */
struct roster_node {
	char		*code;		/* full path code, e.g. "220104001001/G01/12" */
	char		*name;		/* display name (segment for grid/building/unit) */
	uint32_t	 parent;	/* index in roster.nodes; UINT32_MAX for a street */
	uint8_t		 kind;		/* enum node_kind */
	uint32_t	 line;		/* first line that mentioned it */
};

/* One post holder, as in one CSV row. */
struct roster_post {
	uint32_t	 node;		/* index in roster.nodes */
	uint8_t		 role;		/* enum post_role */
	uint8_t		 rank;		/* 1 = primary (A角), 2 = backup (B角) */
	char		 phone[12];	/* normalised: 11 digits, NUL-terminated */
	char		*name;		/* the holder's name */
	char		*channels;	/* normalised "key=value;..." or NULL */
	char		*slot;		/* identity of the post within its node and
					 * role: the rank for leader roles, the
					 * phone for villager_rep and duty_officer */
	uint32_t	 line;		/* source line (or 1-based item for JSON) */
};

/* A validated roster; strings live in the roster's own arena. */
struct roster {
	struct roster_node	*nodes;
	size_t			 n_nodes;
	struct roster_post	*posts;
	size_t			 n_posts;
	void			*priv;		/* parser internals (hashes, arena) */
};

/* One rejected row. */
struct roster_error {
	uint32_t	 line;		/* CSV line (header = 1) or JSON item (1-based) */
	char		*reason;	/* English, names the column and the value */
};

/* Every rejected row, up to ROSTER_MAX_ERRORS; n_more counts the rest. */
struct roster_errors {
	struct roster_error	*v;
	size_t			 n;
	size_t			 n_more;
};

struct roster_parser;

/* A new parser.  Returns NULL only when out of memory. */
struct roster_parser *roster_parser_new(void);

/*
 * Feed one CSV line (without its line terminator; a trailing '\r' is
 * ignored).  The first line fed is the header, which must name exactly the
 * columns of DESIGN.md in order (a UTF-8 BOM is skipped).  Empty lines are
 * skipped but counted.  Never fails: problems become errors for the line.
 */
void roster_parser_csv_line(struct roster_parser *p, const char *line, size_t len);

/*
 * Feed one row given as fields (JSON import).  fields[i] may be NULL for an
 * absent optional column; loc is the 1-based item number used in errors.
 */
void roster_parser_fields(struct roster_parser *p,
    const char *const fields[ROSTER_NCOLS], uint32_t loc);

/* Record an error against a location (e.g. a JSON item of the wrong type). */
void roster_parser_error(struct roster_parser *p, uint32_t loc,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * Finish.  On success returns the roster and sets *errs to NULL; when any
 * row was bad (or the input had no header or no rows) returns NULL and
 * sets *errs.  Frees the parser either way.
 */
struct roster *roster_parser_finish(struct roster_parser *p,
    struct roster_errors **errs);

/* Convenience: parse a whole CSV buffer (lines split on \n). */
struct roster *roster_parse_csv(const char *buf, size_t len,
    struct roster_errors **errs);

void roster_free(struct roster *r);
void roster_errors_free(struct roster_errors *e);

/* Names and lookups. */
const char *roster_role_name(enum post_role role);	/* "grid_leader" */
const char *roster_role_label(enum post_role role);	/* "网格长" */
int roster_role_parse(const char *s);			/* -1 when unknown */
const char *roster_kind_name(enum node_kind kind);	/* "street" */
/* The kind a path code denotes, or -1 when it is not a valid code. */
int roster_code_kind(const char *code);
/*
 * The parent's code: a unit's building, ..., a community's street (its
 * first nine digits).  Returns -1 for a street or an invalid code.
 */
int roster_code_parent(const char *code, char *out, size_t outlen);
/*
 * Where a node counts: its grid (the code up to its second '/',
 * community/G01), or the community or street code itself above a grid.
 */
void roster_code_grid(const char *code, char *out, size_t outlen);
/* The community (or street) of a node: the code up to its first '/'. */
void roster_code_community(const char *code, char *out, size_t outlen);
/* Whether the post role may be held at a node of this kind. */
bool roster_role_allowed(enum post_role role, enum node_kind kind);
/* Whether a 12-digit community code is a village (村委会: 2xx or 3xx). */
bool roster_code_is_village(const char *community_code);

/*
 * Normalise a mainland mobile number: strips spaces and '-', a leading
 * "+86", "0086" or "86", and requires 1[3-9] followed by 9 digits.
 * Writes 11 digits and a NUL to out; returns 0, or -1 when invalid.
 */
int phone_normalize(const char *in, char out[12]);
/* "13800000002" -> "138****0002" (out needs 12 bytes). */
void phone_mask(const char *phone, char out[12]);

/*
 * Scope: whether the node code lies in the subtree of scope (a street,
 * community, grid, building or unit code).  A street covers every
 * community whose 12-digit code starts with its 9 digits.
 */
bool roster_code_covers(const char *scope, const char *code);
/* Whether any of n_scope scope codes covers code; no scope covers all. */
bool roster_scope_covers(const char *const *scope, size_t n_scope,
    const char *code);

/* ---- export ---------------------------------------------------------- */

/* One post as exported, decomposed into the CSV columns. */
struct roster_row {
	const char	*street_code;
	const char	*street_name;
	const char	*community_code;	/* "" for a street-level post */
	const char	*community_name;
	const char	*grid;			/* "" when none */
	const char	*building;
	const char	*unit;
	int		 role;			/* enum post_role */
	int		 rank;
	const char	*name;
	const char	*phone;			/* 11 digits */
	const char	*channels;		/* NULL or "" when none */
};

/*
 * Split a node code into its columns: street code (first 9 digits),
 * community code, grid, building, unit.  Writes into buf (>= the code's
 * length + 11 bytes) and points the row's code fields into it.
 */
int roster_row_split_code(struct roster_row *row, const char *code,
    char *buf, size_t buflen);

/* CSV: the header line, then one line per row; public masks phones and
 * leaves the channels column empty (it can hold secret URLs). */
void roster_csv_header(struct evbuffer *out);
void roster_csv_row(struct evbuffer *out, const struct roster_row *row,
    bool public);

/* JSON: one object with the CSV column names as keys (rank an integer). */
struct json_t;
struct json_t *roster_row_json(const struct roster_row *row, bool public);

/*
 * The printable public posting page (挂牌公示): one self-contained HTML
 * document, posts grouped by community, grid and building, phones masked.
 * Feed rows in export order between begin and end.
 */
struct roster_html;
struct roster_html *roster_html_begin(struct evbuffer *out, const char *title);
void roster_html_row(struct roster_html *h, const struct roster_row *row);
void roster_html_end(struct roster_html *h);

#endif
