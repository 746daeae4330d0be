/*
 * phone.c - mainland mobile numbers and node path codes: normalising,
 * masking, and the subtree test that token scopes rely on.
 */
#include "roster.h"

#include <stdio.h>
#include <string.h>

static bool
code_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

int
phone_normalize(const char *in, char out[12])
{
	char d[24];
	const char *s;
	size_t n = 0;

	for (; *in != '\0'; in++) {
		if (*in == ' ' || *in == '-')
			continue;
		if (n == sizeof(d) - 1)
			return -1;
		d[n++] = *in;
	}
	d[n] = '\0';
	s = d;
	/* A country prefix counts only when a whole number follows it. */
	if (n == 14 && strncmp(s, "+86", 3) == 0)
		s += 3;
	else if (n == 15 && strncmp(s, "0086", 4) == 0)
		s += 4;
	else if (n == 13 && strncmp(s, "86", 2) == 0)
		s += 2;
	if (strlen(s) != 11 || s[0] != '1' || s[1] < '3' || s[1] > '9' ||
	    !code_digits(s, 11))
		return -1;
	memcpy(out, s, 11);
	out[11] = '\0';
	return 0;
}

void
phone_mask(const char *phone, char out[12])
{
	if (strlen(phone) != 11) {
		strcpy(out, "****");
		return;
	}
	memcpy(out, phone, 3);
	memcpy(out + 3, "****", 4);
	memcpy(out + 7, phone + 7, 4);
	out[11] = '\0';
}

/*
 * A grid, building or unit label inside a code: what the roster parser
 * accepts (it gives the reasons; this only answers yes or no).
 */
static bool
code_label_ok(const unsigned char *s, size_t len)
{
	if (len == 0 || len > ROSTER_MAX_SEGMENT || s[0] == ' ' ||
	    s[len - 1] == ' ')
		return false;
	for (size_t i = 0; i < len; ) {
		unsigned c = s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
		    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

		if (n == 0 || n > len - i || c < 0x20 || c == 0x7f || c == '/')
			return false;
		for (size_t j = 1; j < n; j++)
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
		/* Overlong forms and C1 controls (U+0080..U+009F). */
		if ((n == 2 && c < 0xc2) || (c == 0xc2 && s[i + 1] < 0xa0) ||
		    (n == 3 && c == 0xe0 && s[i + 1] < 0xa0) ||
		    (n == 3 && c == 0xed && s[i + 1] >= 0xa0) ||
		    (n == 4 && c == 0xf0 && s[i + 1] < 0x90) ||
		    (n == 4 && (c > 0xf4 || (c == 0xf4 && s[i + 1] >= 0x90))))
			return false;
		i += n;
	}
	if (len >= 3 && (memcmp(s, "\xe3\x80\x80", 3) == 0 ||
	    memcmp(s + len - 3, "\xe3\x80\x80", 3) == 0))
		return false;
	return true;
}

int
roster_code_kind(const char *code)
{
	size_t len = strlen(code);
	const char *seg, *end = code + len;
	int kind;

	if (len == 9)
		return code_digits(code, 9) ? NODE_STREET : -1;
	if (len < 12 || !code_digits(code, 12) || len > ROSTER_MAX_CODE)
		return -1;
	kind = NODE_COMMUNITY;
	for (seg = code + 12; seg < end; kind++) {
		const char *next;

		if (*seg != '/' || kind == NODE_UNIT)
			return -1;
		seg++;
		next = memchr(seg, '/', (size_t)(end - seg));
		if (next == NULL)
			next = end;
		if (!code_label_ok((const unsigned char *)seg,
		    (size_t)(next - seg)))
			return -1;
		seg = next;
	}
	return kind;
}

bool
roster_code_is_village(const char *community_code)
{
	if (strlen(community_code) != 12 || !code_digits(community_code, 12))
		return false;
	return community_code[9] == '2' || community_code[9] == '3';
}

bool
roster_code_covers(const char *scope, const char *code)
{
	size_t n = strlen(scope);

	if (n == 0 || strncmp(scope, code, n) != 0)
		return false;
	if (code[n] == '\0' || code[n] == '/')
		return true;
	/* A street's 9 digits are the prefix of its communities' 12. */
	return n == 9 && code_digits(scope, 9) && strlen(code) >= 12 &&
	    code_digits(code + 9, 3) && (code[12] == '\0' || code[12] == '/');
}

bool
roster_scope_covers(const char *const *scope, size_t n_scope, const char *code)
{
	if (n_scope == 0)
		return true;
	for (size_t i = 0; i < n_scope; i++)
		if (roster_code_covers(scope[i], code))
			return true;
	return false;
}

void
roster_code_grid(const char *code, char *out, size_t outlen)
{
	const char *slash = strchr(code, '/');
	size_t n = strlen(code);

	if (slash != NULL && (slash = strchr(slash + 1, '/')) != NULL)
		n = (size_t)(slash - code);
	snprintf(out, outlen, "%.*s", (int)n, code);
}

void
roster_code_community(const char *code, char *out, size_t outlen)
{
	snprintf(out, outlen, "%.*s", (int)strcspn(code, "/"), code);
}

int
roster_code_parent(const char *code, char *out, size_t outlen)
{
	int kind = roster_code_kind(code);
	const char *slash;
	size_t n;

	if (kind <= NODE_STREET)
		return -1;
	if (kind == NODE_COMMUNITY)
		n = 9;
	else if ((slash = strrchr(code, '/')) != NULL)
		n = (size_t)(slash - code);
	else
		return -1;
	if (n >= outlen)
		return -1;
	memcpy(out, code, n);
	out[n] = '\0';
	return 0;
}
