/*
 * plugutil.c - helpers the in-tree channel plugins share (see plugutil.h).
 */
#include "plugutil.h"

#include <sanzhang/plugin.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pbuf_add(struct pbuf *b, const char *s, size_t n)
{
	char *p;
	size_t cap;

	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		cap = b->cap == 0 ? 256 : b->cap;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((p = realloc(b->p, cap)) == NULL) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
pbuf_str(struct pbuf *b, const char *s)
{
	pbuf_add(b, s, strlen(s));
}

const char *
plug_mask(const char *phone, char out[16])
{
	size_t n = phone != NULL ? strlen(phone) : 0;

	if (n < 8 || n > 15) {
		strcpy(out, "****");
		return out;
	}
	snprintf(out, 16, "%.3s****%s", phone, phone + n - 4);
	return out;
}

void
plug_scrub(char *s)
{
	size_t i, j, run;

	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			s[i] = '?';
	for (i = 0; s[i] != '\0'; i += run == 0 ? 1 : run) {
		for (run = 0; s[i + run] >= '0' && s[i + run] <= '9'; run++)
			;
		if (run < 7)
			continue;
		for (j = 3; j < run - 4; j++)
			s[i + j] = '*';
	}
}

int
plug_phone_norm(const char *in, char out[12])
{
	size_t n;

	in += strspn(in, " ");
	if (*in == '+')
		in++;
	n = strlen(in);
	if (n == 15 && strncmp(in, "0086", 4) == 0)
		in += 4;
	else if (n == 13 && strncmp(in, "86", 2) == 0)
		in += 2;
	if (strlen(in) != 11 || in[0] != '1' ||
	    strspn(in, "0123456789") != 11)
		return -1;
	memcpy(out, in, 12);
	return 0;
}

int
plug_retry_after(const struct sz_http_resp *resp)
{
	const char *v;
	long s;

	if (resp->header == NULL ||
	    (v = resp->header(resp, "Retry-After")) == NULL ||
	    *v < '0' || *v > '9')
		return 0;
	s = strtol(v, NULL, 10);
	return s > 86400 ? 86400 : (int)s;
}
