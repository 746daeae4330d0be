/*
 * fuzz_roster.c - the roster CSV parser and validator (roster.c,
 * roster_check.c, roster_link.c, phone.c) as POST /v1/roster feeds it, and
 * a valid roster exported again as CSV (roster_export.c).
 */
#include "roster.h"

#include <event2/buffer.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One post as GET /v1/roster.csv writes it, public and not. */
static void
export_post(const struct roster *r, const struct roster_post *p,
    struct evbuffer *out)
{
	const struct roster_node *n = &r->nodes[p->node];
	struct roster_row row = {
		.role = p->role, .rank = p->rank, .name = p->name,
		.phone = p->phone, .channels = p->channels,
		.street_name = "", .community_name = "",
	};
	char split[ROSTER_MAX_CODE + 16];

	for (uint32_t k = p->node; k != UINT32_MAX; k = r->nodes[k].parent) {
		if (r->nodes[k].kind == NODE_STREET)
			row.street_name = r->nodes[k].name;
		else if (r->nodes[k].kind == NODE_COMMUNITY)
			row.community_name = r->nodes[k].name;
	}
	if (roster_row_split_code(&row, n->code, split, sizeof(split)) != 0)
		abort();	/* the parser accepted a code export cannot split */
	roster_csv_row(out, &row, false);
	roster_csv_row(out, &row, true);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct roster_errors *errs = NULL;
	struct evbuffer *out;
	struct roster *r;
	/* An exact-size copy: the parser must not read past len. */
	char *buf = malloc(size ? size : 1);

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	r = roster_parse_csv(buf, size, &errs);
	if (r != NULL && (out = evbuffer_new()) != NULL) {
		roster_csv_header(out);
		for (size_t i = 0; i < r->n_posts; i++)
			export_post(r, &r->posts[i], out);
		evbuffer_free(out);
	}
	roster_free(r);
	roster_errors_free(errs);
	free(buf);
	return 0;
}
