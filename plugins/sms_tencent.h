/*
 * sms_tencent.h - inside the sms_tencent plugin (not an installed header):
 * its state, shared between sms_tencent.c (settings, open, close, strings
 * and numbers), sms_tencent_params.c (template parameters),
 * sms_tencent_send.c (SendSms and its answers), sms_tencent_in.c (status
 * and reply callbacks), sms_tencent_answer.c (what SendSms answered)
 * and sms_tencent_sign.c (TC3-HMAC-SHA256).
 *
 * Everything declared here is hidden: the plugin exports sanzhang_plugin
 * and nothing else, whatever the linker is told.
 */
#ifndef SMS_TENCENT_H
#define SMS_TENCENT_H

#include <stddef.h>

#include "plugutil.h"

#include <sanzhang/plugin.h>

#include "sms_tencent_sign.h"

#define TENCENT_HIDDEN		__attribute__((visibility("hidden")))

#define TENCENT_MAX_BATCH	200	/* PhoneNumberSet, per SendSms call */
#define TENCENT_MAX_PARAMS	16	/* template variables we fill */
#define TENCENT_TIMEOUT_MS	10000
#define TENCENT_SERVICE		"sms"
#define TENCENT_ACTION		"SendSms"
#define TENCENT_VERSION		"2021-01-11"
#define TENCENT_CTYPE		"application/json; charset=utf-8"
#define TENCENT_ENDPOINT	"https://sms.tencentcloudapi.com"
#define TENCENT_REGION		"ap-guangzhou"
#define TENCENT_DRILL_MARK	"【演练】"
#define TENCENT_N_HEADERS	7

/* One message of a SendSms call in flight. */
struct tcall_msg {
	char		*id;		/* the host's delivery id */
	char		 phone[12];	/* 11 digits */
};

/* A SendSms call in flight: in tencent.inflight until done() runs. */
struct tcall {
	struct tencent	*t;
	struct tcall	*prev, *next;
	char		*body;		/* the JSON we signed and send */
	char		*headers[TENCENT_N_HEADERS];
	size_t		 n;
	struct tcall_msg v[];
};

/* One channel. */
struct tencent {
	const struct sz_host	*host;
	struct sz_chan		*chan;
	char			*secret_id;
	char			*secret_key;	/* secret: never logged */
	char			*app_id;	/* SmsSdkAppId */
	char			*sign_name;
	char			*template_id;
	char			*region;
	char			*url;		/* the endpoint, ending in "/" */
	char			*authority;	/* its host[:port], signed */
	char			**params;	/* template_params, split */
	size_t			 n_params;
	long			 timeout_ms;	/* 0: the host's default */
	struct tcall		*inflight;	/* freed by close() */
};

/* What a message offers its template parameters (NULL: none). */
struct tfields {
	const char	*text, *name, *ack_url;
	const char	*title, *body, *code, *kind, *severity;
	int		 drill;		/* the alert is a drill (演练) */
};


/* sms_tencent_params.c */
/*
 * Split and check template_params ("{title},{ack_url}"): each item is
 * literal text and {field}s.  0, or -1 with err saying which item and why.
 */
TENCENT_HIDDEN int tencent_params_parse(const char *spec, char ***out,
    size_t *n, char *err, size_t errlen);
TENCENT_HIDDEN void tencent_params_free(char **v, size_t n);
/*
 * A message's fields: from the message itself and its JSON (alert title,
 * body, code, kind, severity).  jsonp gets what must be freed with
 * json_decref (NULL when nothing); -1 when the JSON is unreadable.
 */
TENCENT_HIDDEN int tencent_fields(const struct sz_msg *m, struct tfields *f,
    void **jsonp);
TENCENT_HIDDEN void tencent_fields_free(void *json);
/* The value of parameter spec for f, appended to b. */
TENCENT_HIDDEN void tencent_param_expand(const char *spec,
    const struct tfields *f, struct pbuf *b);

/* sms_tencent_send.c */
TENCENT_HIDDEN int tencent_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n);
TENCENT_HIDDEN void tcall_free(struct tcall *c);
TENCENT_HIDDEN void tcall_unlink(struct tcall *c);

/* sms_tencent_answer.c */
/* The host's callback for a SendSms call: every message's outcome. */
TENCENT_HIDDEN void tencent_done(void *arg, const struct sz_http_resp *resp);
/*
 * What a Tencent error code (Response.Error.Code, or a number's Code in
 * SendStatusSet) means; *after gets seconds to wait, or 0.
 */
TENCENT_HIDDEN enum sz_outcome tencent_classify(const char *code,
    int *after);

/* sms_tencent_in.c */
TENCENT_HIDDEN int tencent_inbound(void *state, struct sz_chan *chan,
    const struct sz_inbound *in, struct sz_inbound_answer *out);

#endif
