/*
 * sms_kannel.h - inside the sms_kannel plugin (not an installed header):
 * its state, shared between sms_kannel.c (settings, open, close, strings
 * and numbers), sms_kannel_send.c (sendsms and its answers) and
 * sms_kannel_in.c (delivery reports and replies).
 *
 * Everything declared here is hidden: the plugin exports sanzhang_plugin
 * and nothing else, whatever the linker is told.
 */
#ifndef SMS_KANNEL_H
#define SMS_KANNEL_H

#include <stddef.h>

#include "plugutil.h"

#include <sanzhang/plugin.h>

#define KANNEL_HIDDEN		__attribute__((visibility("hidden")))

#define KANNEL_MAX_BATCH	100
#define KANNEL_DLR_MASK		31	/* every report Kannel has */
#define KANNEL_TIMEOUT_MS	10000

/* One message of a sendsms request in flight. */
struct kreq_msg {
	char		*id;		/* the host's delivery id */
	char		*pid;		/* "<batch>:<phone>", the provider id */
};

/* A sendsms request in flight: in kannel.inflight until done() runs. */
struct kreq {
	struct kannel	*k;
	struct kreq	*prev, *next;
	char		*url;		/* kept until done(), for the host */
	size_t		 batch_len;	/* the phone is pid + batch_len + 1 */
	size_t		 n;
	struct kreq_msg	 v[];
};

/* One channel. */
struct kannel {
	const struct sz_host	*host;
	struct sz_chan		*chan;
	char			*url;		/* the sendsms URL */
	char			*user;
	char			*pass;		/* secret: never logged */
	char			*from;
	char			*smsc;		/* NULL: Kannel routes */
	char			*dlr_base;	/* our inbound URL, or NULL */
	long			 dlr_mask;	/* 0: no reports */
	long			 timeout_ms;	/* 0: the host's default */
	struct kreq		*inflight;	/* freed by close() */
};

/*
 * Percent-encode s (all but A-Z a-z 0-9 - . _ ~).  With kannel_pct every
 * '%' written is doubled, for text inside a dlr-url (see sms_kannel.c).
 */
KANNEL_HIDDEN void kbuf_esc(struct pbuf *b, const char *s, int kannel_pct);
/* Append s with each '%' doubled. */
KANNEL_HIDDEN void kbuf_kannel_literal(struct pbuf *b, const char *s);

/* sms_kannel_send.c */
KANNEL_HIDDEN int kannel_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n);
KANNEL_HIDDEN void kreq_free(struct kreq *r);

/* sms_kannel_in.c */
KANNEL_HIDDEN int kannel_inbound(void *state, struct sz_chan *chan,
    const struct sz_inbound *in, struct sz_inbound_answer *out);

#endif
