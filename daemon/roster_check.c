/*
 * roster_check.c - one roster row's fields: codes and names, the grid,
 * building and unit labels, role, rank, phone and the channels field.
 * A failed check says why in the parser's p->why (roster_why()).
 */
#include "roster_priv.h"

#include <stdio.h>
#include <string.h>

static const char *const roster_chan_keys[] = {
	"webhook", "dingtalk", "wecom", "feishu", "households",
};
#define ROSTER_NCHAN_KEYS (sizeof(roster_chan_keys) / sizeof(roster_chan_keys[0]))

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
const char *
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

bool
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
bool
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

bool
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
