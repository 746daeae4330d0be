/*
 * sms_aliyun.h - inside the sms_aliyun plugin (not an installed header):
 * its state, shared between sms_aliyun.c (settings, open, close, strings,
 * numbers and the template variables), sms_aliyun_sign.c (the RPC
 * signature), sms_aliyun_send.c (SendSms and its answers) and
 * sms_aliyun_in.c (SmsReport and SmsUp pushes).
 *
 * Everything declared here is hidden: the plugin exports sanzhang_plugin
 * and nothing else, whatever the linker is told.
 */
#ifndef SMS_ALIYUN_H
#define SMS_ALIYUN_H

#include <stddef.h>

#include "plugutil.h"
#include <stdint.h>

#include <sanzhang/plugin.h>

#define ALIYUN_HIDDEN		__attribute__((visibility("hidden")))

#define ALIYUN_MAX_BATCH	1000	/* PhoneNumbers of one SendSms */
#define ALIYUN_TIMEOUT_MS	10000
#define ALIYUN_ENDPOINT		"https://dysmsapi.aliyuncs.com/"
#define ALIYUN_LIMIT_RETRY_S	60	/* isv.BUSINESS_LIMIT_CONTROL */
#define ALIYUN_BIZID_MAX	64	/* longer is no BizId of Aliyun's */
#define ALIYUN_TAG_LEN		16	/* a phone's tag in a provider id */
#define ALIYUN_SEEN_MAX		256	/* SmsUp replies remembered */

/* The fields a template variable may name, as {field}. */
enum aliyun_field {
	AF_TEXT = 0,	/* the rendered message (【演练】... for a drill) */
	AF_TITLE,
	AF_BODY,
	AF_CODE,	/* the alert's short code, for replies */
	AF_KIND,	/* 突发事件, 演练, 通知 */
	AF_SEVERITY,	/* 红色预警 ... 蓝色预警, or "" */
	AF_DRILL,	/* "【演练】" for a drill, else "" */
	AF_NAME,	/* the recipient's name */
	AF_URL,		/* the recipient's acknowledgement link */
	AF_COUNT,
};

/* One variable of the approved template: its name and what fills it. */
struct aliyun_var {
	char		*name;
	char		*tmpl;		/* "{title}" or "【{kind}】{title}" ... */
};

/* One message of a SendSms request in flight. */
struct areq_msg {
	char		*id;		/* the host's delivery id */
	char		 phone[12];
};

/* A SendSms request in flight: in aliyun.inflight until done() runs. */
struct areq {
	struct aliyun	*a;
	struct areq	*prev, *next;
	char		*param;		/* its TemplateParam */
	char		*body;		/* the signed form body */
	size_t		 n;
	struct areq_msg	 v[];
};

/* One channel. */
struct aliyun {
	const struct sz_host	*host;
	struct sz_chan		*chan;
	char			*key_id;
	char			*secret;	/* never logged */
	char			*sign_name;
	char			*template_code;
	char			*endpoint;
	struct aliyun_var	*vars;
	size_t			 n_vars;
	long			 timeout_ms;
	int			 limit_retry;	/* seconds */
	struct areq		*inflight;	/* freed by close() */
};

/* One request parameter. */
struct aparam {
	const char	*key;
	const char	*val;
};

/* sms_aliyun.c */
/*
 * A phone's tag in a provider id: 16 letters a-p from its SHA-256, so a
 * provider id never holds a number (the daemon logs provider ids).
 */
ALIYUN_HIDDEN int aliyun_phone_tag(const char *phone,
    char out[ALIYUN_TAG_LEN + 1]);
/* "<BizId>:<tag>", the provider id of one number of a SendSms; or -1. */
ALIYUN_HIDDEN int aliyun_provider_id(const char *biz_id, const char *phone,
    char *out, size_t len);
/*
 * The TemplateParam for one message (compact JSON, malloc'd); NULL with
 * *bad set when the message's JSON is unreadable, else out of memory.
 */
ALIYUN_HIDDEN char *aliyun_render_param(const struct aliyun *a,
    const struct sz_msg *m, int *bad);

/* Percent-encode s as Aliyun's RPC signature wants (RFC 3986 unreserved). */
ALIYUN_HIDDEN void aliyun_pct(struct pbuf *b, const char *s);
/* The canonicalized query: sorted by key, k=v joined by '&'; NULL: oom. */
ALIYUN_HIDDEN char *aliyun_canonical(struct aparam *p, size_t n);
/*
 * base64(HMAC-SHA1(secret + "&", method + "&%2F&" + pct(canonical)))
 * into out (29 bytes with the NUL); -1 on error.
 */
ALIYUN_HIDDEN int aliyun_sign(const char *method, const char *canonical,
    const char *secret, char out[32]);
/* The form body: canonical + "&Signature=" + pct(signature); NULL: error. */
ALIYUN_HIDDEN char *aliyun_signed_body(struct aparam *p, size_t n,
    const char *secret);
/* ISO 8601 UTC now, "2017-07-12T02:42:19Z". */
ALIYUN_HIDDEN void aliyun_timestamp(char out[24]);
/* 32 random hex digits; -1 when no randomness. */
ALIYUN_HIDDEN int aliyun_nonce(char out[33]);

/* sms_aliyun_send.c */
ALIYUN_HIDDEN int aliyun_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n);
ALIYUN_HIDDEN void areq_free(struct areq *r);

/* sms_aliyun_in.c */
ALIYUN_HIDDEN int aliyun_inbound(void *state, struct sz_chan *chan,
    const struct sz_inbound *in, struct sz_inbound_answer *out);

#endif
