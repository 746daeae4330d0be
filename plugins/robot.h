/*
 * robot.h - what the group-robot channels (dingtalk, wecom, feishu) share:
 * one post per grid group, listing each leader's posts and ack link, sent
 * to the grid's robot URL; the answer's one outcome given to every
 * message in it.  Each plugin supplies its body, its URL (signed or not)
 * and how it reads its provider's answer.  Compiled into each of those
 * plugins, hidden.
 */
#ifndef SANZHANG_ROBOT_H
#define SANZHANG_ROBOT_H

#include <stddef.h>
#include <stdint.h>

#include <sanzhang/plugin.h>

#include "plugutil.h"

#define ROBOT_HIDDEN	__attribute__((visibility("hidden")))
#define ROBOT_BATCH	20		/* leaders in one post */
#define ROBOT_TIMEOUT_MS 10000
#define ROBOT_THROTTLE_S 60		/* DingTalk throttles for 10 minutes */

struct json_t;
struct robot_state;

/* What a provider's answer means. */
struct robot_verdict {
	enum sz_outcome	 outcome;
	int		 retry_after;	/* seconds; 0 = the host's backoff */
	int		 throttled;	/* the provider's rate limit: retry
					 * after throttle_retry_after */
	char		 why[128];	/* "" when accepted */
};

/*
 * Read a provider's answer: its code and message under the first of keys
 * ({code, message} names) present.  1 when that settles it (unreadable:
 * retry; code 0: accepted); else 0, with *code and v->why ("KEY CODE:
 * message", at most msglen bytes of it) for the provider to map.
 */
ROBOT_HIDDEN int robot_answer_read(const char *body,
    const char *const keys[][2], size_t nkeys, int msglen, long long *code,
    struct robot_verdict *v);

/* One provider. */
struct robot_kind {
	const char	*name;		/* "dingtalk": log lines, errors */
	/*
	 * The request body for msgs (one grid group), as a JSON object the
	 * caller frees; now is the wall clock in ms (for signatures).
	 * NULL when out of memory.
	 */
	struct json_t	*(*body)(const struct robot_state *st,
			    const struct sz_msg *const *msgs, size_t n,
			    int64_t now);
	/*
	 * The URL to post to, malloc'd: base, or base with signature
	 * parameters.  NULL when out of memory.
	 */
	char		*(*url)(const struct robot_state *st, const char *base,
			    int64_t now);
	/* Read an answer with HTTP status 200 (its body, NUL-ended). */
	void		 (*answer)(const char *body, struct robot_verdict *v);
};

/* One channel of a robot plugin. */
struct robot_state {
	const struct sz_host	*host;
	struct sz_chan		*chan;
	const struct robot_kind	*kind;
	char			*url;		/* the channel's own robot, or NULL */
	char			*secret;	/* signing secret, or NULL */
	int			 opts;		/* the plugin's own switches */
	long			 timeout_ms;
	int			 throttle_s;	/* retry a throttled post after */
	struct robot_call	*calls;		/* in flight */
};

/*
 * open() for a robot plugin: reads url, secret, timeout_ms and
 * throttle_retry_after.  -1 and
 * err when a value is bad (never echoing a URL or secret).
 */
ROBOT_HIDDEN int robot_open(const struct sz_host *host, struct sz_chan *chan,
    const struct robot_kind *kind, struct robot_state **out, char *err,
    size_t errlen);
ROBOT_HIDDEN void robot_close(void *state);
/* send(): one post for msgs (one target, one grid group). */
ROBOT_HIDDEN int robot_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n);

/*
 * The post's text as markdown: the notice, the group, then a line per
 * leader with posts and ack link; with at, "@phone" after each (a robot
 * that mentions by mobile number).  With limit (bytes; 0 = none), the
 * notice's body is cut short so the post fits.  NULL when out of memory.
 */
ROBOT_HIDDEN char *robot_markdown(const struct sz_msg *const *msgs, size_t n,
    int at, size_t limit);
/* The same as plain text (links written out), for text message types. */
ROBOT_HIDDEN char *robot_text(const struct sz_msg *const *msgs, size_t n,
    int at, size_t limit);
/* The notice's first line, malloc'd (a title). */
ROBOT_HIDDEN char *robot_title(const struct sz_msg *m);
/* HTTP status, transport and provider errors to a verdict. */
ROBOT_HIDDEN void robot_http_verdict(const struct sz_http_resp *resp,
    const struct robot_kind *kind, struct robot_verdict *v);

/* robot_sign.c */

/* base64 of a SHA-256 MAC: 44 characters and a NUL. */
#define ROBOT_SIG_B64	45

/*
 * DingTalk 加签: base64(HMAC-SHA256(key = secret, msg = ts_ms "\n"
 * secret)), not yet URL-encoded.  -1 on error.
 */
ROBOT_HIDDEN int robot_sign_dingtalk(const char *secret, long long ts_ms,
    char out[ROBOT_SIG_B64]);
/*
 * Feishu 签名校验: base64(HMAC-SHA256(key = ts_s "\n" secret, msg = "")).
 * -1 on error.
 */
ROBOT_HIDDEN int robot_sign_feishu(const char *secret, long long ts_s,
    char out[ROBOT_SIG_B64]);
/* s with every byte but RFC 3986 unreserved ones as %XX, malloc'd. */
ROBOT_HIDDEN char *robot_pct(const char *s);

#endif
