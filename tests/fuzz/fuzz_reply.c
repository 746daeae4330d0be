/*
 * fuzz_reply.c - the SMS reply parser (daemon/reply.c): splitting and
 * normalising a reply, choosing among a phone's open alerts, and the text
 * sent back.  The input is the reply; after a NUL byte, optionally, the
 * responses JSON of the first open alert.
 */
#include "alert.h"
#include "message.h"
#include "reply.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_CANDS	3

/* Three open alerts of one phone: a drill, an answered emergency, a notice. */
static void
fill_cands(struct reply_cand *c, const char *responses)
{
	static const struct {
		int64_t		 id;
		int		 kind;
		int		 state;
		const char	*title;
		const char	*responses;
	} v[N_CANDS] = {
		{ 7, ALERT_DRILL, RCPT_SENT, "消防疏散演练",
		  "[\"收到\",\"已通知到户\",\"需要支援\"]" },
		{ 9, ALERT_EMERGENCY, RCPT_ACKED, "防汛紧急通知：请立即组织转移",
		  "[\"收到\"]" },
		{ 36, ALERT_NOTICE, RCPT_DELIVERED, "停水通知", "[\"收到\",\"有疑问\"]" },
	};

	for (size_t i = 0; i < N_CANDS; i++) {
		c[i] = (struct reply_cand){
			.alert_id = v[i].id, .rcpt_id = 100 + (int64_t)i,
			.kind = v[i].kind, .state = v[i].state,
			.title = strdup(v[i].title),
			.responses = strdup(i == 0 && responses != NULL ?
			    responses : v[i].responses),
		};
		if (c[i].title == NULL || c[i].responses == NULL)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply_cand *c;
	struct reply_decision d;
	struct reply_req r;
	char *text, *nul, *say;

	if (size > 4096)
		return 0;
	if ((text = malloc(size + 1)) == NULL ||
	    (c = calloc(N_CANDS, sizeof(*c))) == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	nul = memchr(text, '\0', size);
	fill_cands(c, nul != NULL && nul < text + size ? nul + 1 : NULL);
	if (reply_parse(text, &r) == 0) {
		if (memchr(r.word, '\0', sizeof(r.word)) == NULL)
			abort();
		/* No open alert, one, two or three: each verdict's text. */
		for (size_t n = 0; n <= N_CANDS; n++) {
			reply_decide(&r, c, n, &d);
			if (d.verdict == REPLY_ACK &&
			    (d.chosen >= n || d.option < 1))
				abort();
			say = reply_text(&d, &r, c, n);
			free(say);
		}
	}
	reply_cands_free(c, N_CANDS);
	free(text);
	return 0;
}
