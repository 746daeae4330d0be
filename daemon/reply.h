/*
 * reply.h - acknowledging by SMS reply.
 *
 * A reply is an answer and, optionally, an alert's short code, in either
 * order: "1", "收到", "确认", "2", "1 A7", "A7 已通知到户", full-width
 * digits and letters too.  The answer is an option's number or its text;
 * 收到, 确认, 好 and the like mean the first option.  With one open alert
 * for the phone a bare answer is for it; with several, for the one not
 * yet answered, and when that is not one alone the sender is asked for
 * the code (an SMS back lists them).
 */
#ifndef SANZHANG_REPLY_H
#define SANZHANG_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define REPLY_WORD_MAX	64

struct reply_req {
	int64_t		 alert_id;	/* the code named, or -1 */
	int		 option;	/* a number given, or 0 */
	char		 word[REPLY_WORD_MAX];	/* the rest, normalised */
};

/* An open alert the phone is a recipient of. */
struct reply_cand {
	int64_t		 alert_id;
	int64_t		 rcpt_id;
	int		 kind;		/* enum alert_kind */
	int		 state;		/* enum rcpt_state */
	char		*title;		/* malloc'd */
	char		*responses;	/* JSON array, malloc'd */
};

enum reply_verdict {
	REPLY_ACK,		/* answer cand[chosen] with option */
	REPLY_NONE_OPEN,	/* the phone has no open alert */
	REPLY_NO_SUCH_CODE,	/* the code named is not one of theirs */
	REPLY_AMBIGUOUS,	/* several open: say which */
	REPLY_UNRECOGNIZED	/* not an answer: say how to answer */
};

struct reply_decision {
	enum reply_verdict	 verdict;
	size_t			 chosen;	/* REPLY_ACK */
	int			 option;	/* REPLY_ACK: 1-based */
};

/* Split and normalise an SMS reply; -1 when it is empty or too long. */
int reply_parse(const char *text, struct reply_req *out);
/* The option (1-based) the reply means for these responses, or 0. */
int reply_option(const struct reply_req *r, const char *responses_json);
/* What to do with a reply, given the phone's open alerts. */
void reply_decide(const struct reply_req *r, const struct reply_cand *c,
    size_t n, struct reply_decision *out);
/*
 * The SMS to send back for a decision other than REPLY_ACK (Chinese,
 * short), malloc'd; NULL for none.
 */
char *reply_text(const struct reply_decision *d, const struct reply_req *r,
    const struct reply_cand *c, size_t n);
void reply_cands_free(struct reply_cand *c, size_t n);

#endif
