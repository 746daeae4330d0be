/*
 * fuzz_plugin.c - a plugin's inbound() on the fake host (fuzz_plugin.h).
 */
#include "fuzz_plugin.h"
#include "fakehost.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the host would send back: a status, and NUL-ended strings. */
static void
fuzz_check_answer(const struct sz_inbound_answer *out)
{
	if (out->status < 100 || out->status > 599 ||
	    memchr(out->body, '\0', sizeof(out->body)) == NULL ||
	    memchr(out->content_type, '\0', sizeof(out->content_type)) == NULL ||
	    memchr(out->header, '\0', sizeof(out->header)) == NULL) {
		fprintf(stderr, "fuzz: inbound answered status %d or an "
		    "unterminated string\n", out->status);
		abort();
	}
}

void
fuzz_inbound(const struct fuzz_setting *settings, const char *method,
    const char *query, const void *body, size_t body_len)
{
	struct fakehost *fh = fh_new();
	struct sz_inbound_answer out;
	struct fh_inbound fin;
	/* An exact-size copy: a read past the body is a bug. */
	char *copy = malloc(body_len ? body_len : 1);

	if (copy == NULL)
		abort();
	if (body_len > 0)
		memcpy(copy, body, body_len);
	for (size_t i = 0; settings[i].key != NULL; i++)
		fh_set_string(fh, settings[i].key, settings[i].value);
	if (fh_open(fh, &sanzhang_plugin) != 0) {
		fprintf(stderr, "fuzz: open: %s\n", fh_err(fh));
		abort();
	}
	fh_inbound_init(&fin, method, query, NULL, NULL);
	fin.in.body = copy;
	fin.in.body_len = body_len;
	memset(&out, 0, sizeof(out));
	(void)sanzhang_plugin.inbound(fh->state, fh_chan(fh), &fin.in, &out);
	fuzz_check_answer(&out);
	/* A reply names a normalised number, and no log line shows it. */
	for (size_t i = 0; i < fh->n_replies; i++)
		if (strlen(fh->replies[i].phone) != 11 ||
		    fh_logs_contain(fh, fh->replies[i].phone)) {
			fprintf(stderr, "fuzz: a reply's phone is not 11 digits, "
			    "or was logged in full\n");
			abort();
		}
	fh_free(fh);
	free(copy);
}
