/*
 * ack_page.h - the pages a recipient sees at /a/TOKEN: the notice with
 * one button per response, and the plain pages for a link that is
 * answered, expired, cancelled or unknown.  Chinese, small, mobile first,
 * no script, no external resource; every string from the store escaped.
 */
#ifndef SANZHANG_ACK_PAGE_H
#define SANZHANG_ACK_PAGE_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

/* One post the recipient holds, as shown: "南湖社区 G01网格 12号楼" + role. */
struct ack_post {
	const char	*code;		/* node code, e.g. 220104001001/G01/12 */
	const char	*role;		/* role label, e.g. 楼栋长 */
};

struct ack_view {
	int			 kind;		/* enum alert_kind (message.h) */
	int			 severity;	/* enum alert_severity */
	const char		*code;		/* the alert's short code, "A7" */
	const char		*title;
	const char		*body;
	int64_t			 created_at;	/* ms since the epoch */
	const char		*name;		/* the recipient's name */
	const struct ack_post	*posts;
	size_t			 n_posts;
	const char *const	*responses;	/* the alert's options, >= 1 */
	size_t			 n_responses;
	int			 answered;	/* index into responses, or -1 */
	int64_t			 acked_at;	/* first answer, ms; 0 = none */
	const char		*action;	/* the form's action: "/a/TOKEN" */
};

/* Why a link shows no notice. */
enum ack_notice {
	ACK_UNKNOWN,		/* no such link (or a forged one) */
	ACK_EXPIRED,		/* the alert has expired */
	ACK_CANCELLED,		/* the alert was cancelled (解除) */
	ACK_BUSY,		/* too many tries from this address (429) */
	ACK_ERROR		/* the daemon could not answer now (5xx) */
};

/*
 * The notice page: a 演练 banner on drills (never on anything else), the
 * severity as a coloured band, title, body, time (Beijing), the leader's
 * name and posts, and a POST form to action with one button per response
 * (name "response", value the 1-based index).  When answered >= 0 the
 * page says which answer was recorded and when (acked_at), and the
 * buttons stay, to change the answer.  just_answered adds a line of
 * thanks at the top (the page shown after a POST).
 */
void ack_page_render(struct evbuffer *out, const struct ack_view *v,
    int just_answered);
/* A plain page for a link that shows no notice. */
void ack_page_notice(struct evbuffer *out, enum ack_notice why);

#endif
