/*
 * sms_kannel.c - the sms_kannel channel plugin: SMS through a Kannel
 * gateway (1.4.x).  This file: settings, open, close, and the string and
 * number helpers; sms_kannel_send.c sends, sms_kannel_in.c takes reports
 * and replies.
 *
 * Out: one GET /cgi-bin/sendsms per batch, every number in `to` (Kannel
 * splits it on spaces), the text as UTF-8 with coding=2 so phones get
 * UCS-2.  Kannel answers 202 "0: Accepted for delivery" or, with the SMSC
 * down, 202 "3: Queued for later delivery"; both mean it has the message.
 *
 * In: delivery reports come back on the dlr-url we pass, which names the
 * batch (b = the first message's id) and lets Kannel fill in the type (%d)
 * and the phone (%p); "<b>:<phone>" is the provider id we reported on
 * acceptance, so the host can match a receipt to its delivery.  Replies
 * come from an sms-service get-url as ?from=%p&text=%a.
 *
 * No phone number ever goes into a log line or a `why`: they are masked
 * (138****0001), and text quoted from Kannel has long digit runs masked.
 */
#include "sms_kannel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct sz_setting kannel_settings[] = {
	{ .key = "url", .type = SZ_SETTING_STRING, .required = true,
	  .help = "Kannel's sendsms URL, e.g. "
	  "http://127.0.0.1:13013/cgi-bin/sendsms" },
	{ .key = "username", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the sendsms-user's username" },
	{ .key = "password", .type = SZ_SETTING_STRING, .required = true,
	  .secret = true, .help = "the sendsms-user's password" },
	{ .key = "from", .type = SZ_SETTING_STRING, .required = true,
	  .help = "the sender number messages come from" },
	{ .key = "smsc", .type = SZ_SETTING_STRING,
	  .help = "the smsc-id to route through (default: Kannel's choice)" },
	{ .key = "dlr_mask", .type = SZ_SETTING_INT,
	  .help = "Kannel dlr-mask, 0-63 (default 31; 0 = no receipts)" },
	{ .key = "timeout_ms", .type = SZ_SETTING_INT,
	  .help = "sendsms timeout in milliseconds (default 10000)" },
	{ .key = NULL },
};

/* ---- strings ------------------------------------------------------- */

static int
kannel_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

/*
 * Percent-encode s.  With kannel_pct, every '%' we write is doubled:
 * Kannel expands its %X escapes in a dlr-url (%A, %B, %C, %d ... clash
 * with hex digits) and turns "%%" back into "%".
 */
void
kbuf_esc(struct pbuf *b, const char *s, int kannel_pct)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[4];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (kannel_unreserved(c)) {
			pbuf_add(b, s, 1);
			continue;
		}
		if (kannel_pct)
			pbuf_add(b, "%", 1);
		e[0] = '%';
		e[1] = hex[c >> 4];
		e[2] = hex[c & 15];
		pbuf_add(b, e, 3);
	}
}

/* Copy s, doubling each '%' (see kbuf_esc). */
void
kbuf_kannel_literal(struct pbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		pbuf_add(b, s, 1);
		if (*s == '%')
			pbuf_add(b, "%", 1);
	}
}

/* ---- open and close ------------------------------------------------ */

static int
kannel_is_http(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* A required, non-empty string setting, copied; -1 with err set. */
static int
kannel_setting(struct kannel *k, const char *key, char **out, char *err,
    size_t errlen)
{
	const char *v = k->host->setting_string(k->chan, key);

	if (v == NULL || *v == '\0') {
		snprintf(err, errlen, "sms_kannel: setting \"%s\" is required "
		    "and must not be empty", key);
		return -1;
	}
	if ((*out = strdup(v)) == NULL) {
		snprintf(err, errlen, "sms_kannel: out of memory");
		return -1;
	}
	return 0;
}

static int
kannel_check_url(const char *url, char *err, size_t errlen)
{
	if (!kannel_is_http(url) || strpbrk(url, " \t\r\n#") != NULL) {
		snprintf(err, errlen, "sms_kannel: setting \"url\" must be an "
		    "http:// or https:// URL without blanks or '#', e.g. "
		    "http://127.0.0.1:13013/cgi-bin/sendsms");
		return -1;
	}
	return 0;
}

/* The integer settings and the dlr-url base. */
static int
kannel_open_numbers(struct kannel *k, char *err, size_t errlen)
{
	const char *in;

	k->dlr_mask = (long)k->host->setting_int(k->chan, "dlr_mask",
	    KANNEL_DLR_MASK);
	k->timeout_ms = (long)k->host->setting_int(k->chan, "timeout_ms",
	    KANNEL_TIMEOUT_MS);
	if (k->dlr_mask < 0 || k->dlr_mask > 63) {
		snprintf(err, errlen, "sms_kannel: setting \"dlr_mask\" must "
		    "be 0 to 63 (31 = every report, 0 = none), not %ld",
		    k->dlr_mask);
		return -1;
	}
	if (k->timeout_ms < 0 || k->timeout_ms > 600000) {
		snprintf(err, errlen, "sms_kannel: setting \"timeout_ms\" must "
		    "be 0 to 600000 (0 = the daemon's default), not %ld",
		    k->timeout_ms);
		return -1;
	}
	if (k->dlr_mask == 0)
		return 0;
	in = k->host->inbound_url(k->chan);
	if (in == NULL || !kannel_is_http(in)) {
		snprintf(err, errlen, "sms_kannel: delivery reports need the "
		    "channel's inbound URL (http:// or https://), which the "
		    "daemon does not have; set dlr_mask = 0 to go without");
		return -1;
	}
	if ((k->dlr_base = strdup(in)) == NULL) {
		snprintf(err, errlen, "sms_kannel: out of memory");
		return -1;
	}
	return 0;
}

static void
kannel_close(void *state)
{
	struct kannel *k = state;
	struct kreq *r;

	if (k == NULL)
		return;
	/*
	 * Requests still in flight: the host drops them at shutdown without
	 * calling done(), so their memory is ours to free.
	 */
	while ((r = k->inflight) != NULL) {
		k->inflight = r->next;
		kreq_free(r);
	}
	free(k->url);
	free(k->user);
	free(k->pass);
	free(k->from);
	free(k->smsc);
	free(k->dlr_base);
	free(k);
}

static int
kannel_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	struct kannel *k;
	const char *smsc;

	if ((k = calloc(1, sizeof(*k))) == NULL) {
		snprintf(err, errlen, "sms_kannel: out of memory");
		return -1;
	}
	k->host = host;
	k->chan = chan;
	if (kannel_setting(k, "url", &k->url, err, errlen) == -1 ||
	    kannel_check_url(k->url, err, errlen) == -1 ||
	    kannel_setting(k, "username", &k->user, err, errlen) == -1 ||
	    kannel_setting(k, "password", &k->pass, err, errlen) == -1 ||
	    kannel_setting(k, "from", &k->from, err, errlen) == -1 ||
	    kannel_open_numbers(k, err, errlen) == -1)
		goto fail;
	smsc = host->setting_string(chan, "smsc");
	if (smsc != NULL && *smsc != '\0' &&
	    (k->smsc = strdup(smsc)) == NULL) {
		snprintf(err, errlen, "sms_kannel: out of memory");
		goto fail;
	}
	*state = k;
	return 0;
fail:
	kannel_close(k);
	return -1;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "sms_kannel",
	.description = "SMS through a Kannel gateway (sendsms, dlr-url, "
	    "sms-service replies)",
	.max_batch = KANNEL_MAX_BATCH,
	.settings = kannel_settings,
	.open = kannel_open,
	.send = kannel_send,
	.inbound = kannel_inbound,
	.close = kannel_close,
};
