/*
 * roster_priv.h - what the roster parser's files share: the parser, one
 * row on its way in, the role table, and the helpers that cross files.
 * Not for use outside roster.c, roster_check.c and roster_link.c.
 */
#ifndef SANZHANG_ROSTER_PRIV_H
#define SANZHANG_ROSTER_PRIV_H

#include "roster.h"

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

/* What a post role is allowed and how it is held. */
struct roster_role_info {
	const char	*name;
	const char	*label;
	unsigned	 kinds;		/* bit per node kind it may sit at */
	bool		 leader;	/* one holder per rank */
};

/* roster.c: the role and node-kind tables, by enum value. */
extern const struct roster_role_info roster_roles[ROLE_COUNT];
extern const char *const roster_kinds[NODE_KIND_COUNT];

/* roster.c: set the current row's problem; false, for "return roster_why()". */
bool roster_why(struct roster_parser *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* roster_check.c: quote a value for an error (valid UTF-8, ~40 bytes). */
const char *roster_show(const char *s, size_t len, char out[64]);
/* roster_check.c: street and community codes and names; *col: bad column. */
bool roster_check_codes(struct roster_parser *p, struct roster_in *in,
    int *col);
/* roster_check.c: grid, building and unit labels; sets in->kind. */
bool roster_check_path(struct roster_parser *p, struct roster_in *in,
    int *col);
/* roster_check.c: role, rank, name, phone and channels. */
bool roster_check_post(struct roster_parser *p, struct roster_in *in,
    int *col);

/* roster_link.c: grow table t to hold want entries; false if out of memory. */
bool roster_tab_grow(struct roster_tab *t, size_t want);
/* roster_link.c: add a checked row's missing nodes and its post to the tree. */
bool roster_link(struct roster_parser *p, struct roster_in *in, uint32_t line,
    int *col);

#endif
