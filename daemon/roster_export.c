/*
 * roster_export.c - posts back out as CSV rows (the import format, so an
 * export can be edited and imported again) or as JSON objects.
 */
#include "roster.h"

#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

static const char *const export_cols[ROSTER_NCOLS] = {
	"street_code", "street_name", "community_code", "community_name",
	"grid", "building", "unit", "role", "rank", "name", "phone", "channels",
};

/*
 * Layout in buf: the street code, then a copy of the whole code whose
 * '/' separators become NULs (community, grid, building, unit in place).
 */
int
roster_row_split_code(struct roster_row *row, const char *code, char *buf,
    size_t buflen)
{
	size_t len = strlen(code);
	char *rest, *seg[3] = { NULL, NULL, NULL };
	int kind = roster_code_kind(code), n = 0;

	if (kind < 0 || buflen < len + 11)
		return -1;
	memcpy(buf, code, 9);
	buf[9] = '\0';
	row->street_code = buf;
	row->community_code = row->grid = row->building = row->unit = "";
	if (kind == NODE_STREET)
		return 0;
	rest = buf + 10;
	memcpy(rest, code, len + 1);
	row->community_code = rest;
	for (char *s = rest; (s = strchr(s, '/')) != NULL; n++) {
		*s++ = '\0';
		seg[n] = s;
	}
	if (seg[0] != NULL)
		row->grid = seg[0];
	if (seg[1] != NULL)
		row->building = seg[1];
	if (seg[2] != NULL)
		row->unit = seg[2];
	return 0;
}

static const char *
export_str(const char *s)
{
	return s != NULL ? s : "";
}

/* Quote only when needed, so plain rows stay diffable and greppable. */
static void
export_field(struct evbuffer *out, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		evbuffer_add(out, s, strlen(s));
	} else {
		evbuffer_add(out, "\"", 1);
		for (const char *q; (q = strchr(s, '"')) != NULL; s = q + 1) {
			evbuffer_add(out, s, (size_t)(q - s) + 1);
			evbuffer_add(out, "\"", 1);
		}
		evbuffer_add(out, s, strlen(s));
		evbuffer_add(out, "\"", 1);
	}
	evbuffer_add(out, last ? "\n" : ",", 1);
}

void
roster_csv_header(struct evbuffer *out)
{
	for (int i = 0; i < ROSTER_NCOLS; i++)
		export_field(out, export_cols[i], i == ROSTER_NCOLS - 1);
}

void
roster_csv_row(struct evbuffer *out, const struct roster_row *row,
    bool public)
{
	char masked[12];

	export_field(out, export_str(row->street_code), false);
	export_field(out, export_str(row->street_name), false);
	export_field(out, export_str(row->community_code), false);
	export_field(out, export_str(row->community_name), false);
	export_field(out, export_str(row->grid), false);
	export_field(out, export_str(row->building), false);
	export_field(out, export_str(row->unit), false);
	export_field(out, roster_role_name(row->role), false);
	evbuffer_add_printf(out, "%d,", row->rank);
	export_field(out, export_str(row->name), false);
	if (public) {
		phone_mask(export_str(row->phone), masked);
		export_field(out, masked, false);
		export_field(out, "", true);
	} else {
		export_field(out, export_str(row->phone), false);
		export_field(out, export_str(row->channels), true);
	}
}

json_t *
roster_row_json(const struct roster_row *row, bool public)
{
	char masked[12];
	const char *phone = export_str(row->phone);
	json_t *o;

	if (public) {
		phone_mask(phone, masked);
		phone = masked;
	}
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, "
	    "s:s, s:s}",
	    "street_code", export_str(row->street_code),
	    "street_name", export_str(row->street_name),
	    "community_code", export_str(row->community_code),
	    "community_name", export_str(row->community_name),
	    "grid", export_str(row->grid),
	    "building", export_str(row->building),
	    "unit", export_str(row->unit),
	    "role", roster_role_name(row->role),
	    "rank", row->rank,
	    "name", export_str(row->name),
	    "phone", phone,
	    "channels", public ? "" : export_str(row->channels));
	return o;
}
