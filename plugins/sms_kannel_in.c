/*
 * sms_kannel_in.c - what Kannel calls us with: delivery reports on the
 * dlr-url send() gave (GET ?t=%d&p=%p&b=<batch>), and replies from an
 * sms-service get-url (GET ?from=%p&text=%a).
 *
 * Replies should arrive as UTF-8 (smsbox mo-recode = true).  Without it a
 * handset's UCS-2 reaches us as raw UTF-16BE; we take that too, told by a
 * charset=%C parameter or guessed from its NUL bytes, but %a splits text
 * on blank bytes, so such a get-url should pass text=%b.
 */
#include "sms_kannel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define KANNEL_QUERY_MAX	65536

/* A parameter's decoded value (NULL: absent); it may hold NUL bytes. */
struct kparam {
	const char	*v;
	size_t		 len;
};

/* An inbound query, decoded in place in buf. */
struct kquery {
	char		*buf;
	struct kparam	 t, p, b;		/* a delivery report */
	struct kparam	 from, text, charset;	/* a reply */
};

enum {
	KQ_OK = 0,
	KQ_BAD = -1,
	KQ_NOMEM = -2,
};

static int
kannel_answer(struct sz_inbound_answer *out, int status, const char *body)
{
	out->status = status;
	out->content_type[0] = '\0';
	snprintf(out->body, sizeof(out->body), "%s", body);
	return 0;
}

/* Up to 64 bytes of s, fit for a log line. */
static const char *
kannel_logsafe(const char *s, char out[64])
{
	snprintf(out, 64, "%s", s);
	plug_scrub(out);
	return out;
}

/* ---- the query ----------------------------------------------------- */

static int
kannel_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode a query component in place ('+' is a blank); -1: bad escape. */
static int
kannel_unescape(char *s, size_t *len)
{
	char *o = s, *start = s;
	int hi, lo;

	for (; *s != '\0'; s++) {
		if (*s == '+')
			*o++ = ' ';
		else if (*s != '%')
			*o++ = *s;
		else if ((hi = kannel_hexval(s[1])) < 0 ||
		    (lo = kannel_hexval(s[2])) < 0)
			return -1;
		else {
			*o++ = (char)(hi << 4 | lo);
			s += 2;
		}
	}
	*o = '\0';
	*len = (size_t)(o - start);
	return 0;
}

static struct kparam *
kquery_slot(struct kquery *q, const char *key)
{
	if (strcmp(key, "t") == 0)
		return &q->t;
	if (strcmp(key, "p") == 0)
		return &q->p;
	if (strcmp(key, "b") == 0)
		return &q->b;
	if (strcmp(key, "from") == 0)
		return &q->from;
	if (strcmp(key, "text") == 0)
		return &q->text;
	if (strcmp(key, "charset") == 0)
		return &q->charset;
	return NULL;			/* to=%P and the like */
}

/* Whether a parameter, if there, is a C string (only text may not be). */
static int
kparam_ok(const struct kparam *p)
{
	return p->v == NULL || memchr(p->v, '\0', p->len) == NULL;
}

/* Split and decode a query; a parameter we read may come only once. */
static int
kquery_parse(struct kquery *q, const char *query)
{
	char *pair, *next, *val;
	struct kparam *slot;
	size_t klen, vlen;

	memset(q, 0, sizeof(*q));
	if (strlen(query) > KANNEL_QUERY_MAX)
		return KQ_BAD;
	if ((q->buf = strdup(query)) == NULL)
		return KQ_NOMEM;
	for (pair = q->buf; pair != NULL; pair = next) {
		if ((next = strchr(pair, '&')) != NULL)
			*next++ = '\0';
		if (*pair == '\0')
			continue;
		if ((val = strchr(pair, '=')) != NULL)
			*val++ = '\0';
		else
			val = pair + strlen(pair);
		if (kannel_unescape(pair, &klen) == -1 ||
		    kannel_unescape(val, &vlen) == -1)
			return KQ_BAD;
		if (klen != strlen(pair) ||
		    (slot = kquery_slot(q, pair)) == NULL)
			continue;
		if (slot->v != NULL)
			return KQ_BAD;
		slot->v = val;
		slot->len = vlen;
	}
	if (!kparam_ok(&q->t) || !kparam_ok(&q->p) || !kparam_ok(&q->b) ||
	    !kparam_ok(&q->from) || !kparam_ok(&q->charset))
		return KQ_BAD;
	return KQ_OK;
}

/* ---- delivery reports ---------------------------------------------- */

/*
 * Kannel's report type -> a receipt: 0, 1 for one to drop (4, buffered:
 * the SMSC keeps trying, nothing has happened yet), -1 for no type.
 */
static int
kannel_dlr_type(const char *t, enum sz_receipt *st, const char **what)
{
	char *end;
	long v;

	if (*t < '0' || *t > '9')
		return -1;
	v = strtol(t, &end, 10);
	if (*end != '\0')
		return -1;
	switch (v) {
	case 1:
		*st = SZ_RECEIPT_DELIVERED;
		*what = "delivered to the phone";
		return 0;
	case 2:
		*st = SZ_RECEIPT_FAILED;
		*what = "delivery failed";
		return 0;
	case 16:
		*st = SZ_RECEIPT_FAILED;
		*what = "rejected by the SMSC";
		return 0;
	case 8:
		*st = SZ_RECEIPT_ACCEPTED;
		*what = "accepted by the SMSC";
		return 0;
	case 4:
		*what = "buffered by the SMSC";
		return 1;
	default:
		return -1;
	}
}

static int
kannel_dlr(struct kannel *k, const struct kquery *q,
    struct sz_inbound_answer *out)
{
	enum sz_receipt st = SZ_RECEIPT_ACCEPTED;
	const char *what = "";
	char phone[12], m[16], bs[64], why[64], *pid;
	size_t len;
	int rc;

	if (q->p.v == NULL || q->b.v == NULL || q->b.len == 0)
		return kannel_answer(out, 400, "a delivery report needs t, p "
		    "and b");
	if ((rc = kannel_dlr_type(q->t.v, &st, &what)) == -1)
		return kannel_answer(out, 400, "t is not a report type");
	if (plug_phone_norm(q->p.v, phone) == -1)
		return kannel_answer(out, 400, "p is not a mobile number");
	kannel_logsafe(q->b.v, bs);
	if (rc == 1) {
		k->host->log(k->chan, SZ_LOG_DEBUG, "sms_kannel: batch %s to "
		    "%s: %s", bs, plug_mask(phone, m), what);
		return kannel_answer(out, 200, "ok");
	}
	len = q->b.len + 1 + sizeof(phone);
	if ((pid = malloc(len)) == NULL) {
		kannel_answer(out, 500, "out of memory");
		return -1;
	}
	snprintf(pid, len, "%s:%s", q->b.v, phone);
	snprintf(why, sizeof(why), "kannel: %s", what);
	rc = k->host->receipt(k->chan, pid, true, st, why);
	free(pid);
	k->host->log(k->chan, rc == 0 ? SZ_LOG_DEBUG : SZ_LOG_INFO,
	    "sms_kannel: batch %s to %s: %s%s", bs, plug_mask(phone, m),
	    what, rc == 0 ? "" : " (no such delivery)");
	return kannel_answer(out, 200, rc == 0 ? "ok" : "unknown delivery");
}

/* ---- replies -------------------------------------------------------- */

static void
kannel_put_utf8(struct pbuf *b, unsigned c)
{
	char u[4];

	if (c < 0x80) {
		u[0] = (char)c;
		pbuf_add(b, u, 1);
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		pbuf_add(b, u, 2);
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		pbuf_add(b, u, 3);
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3f));
		u[2] = (char)(0x80 | (c >> 6 & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		pbuf_add(b, u, 4);
	}
}

/* UTF-16BE -> UTF-8; NULs, lone surrogates and an odd byte -> U+FFFD. */
static void
kannel_from_utf16(struct pbuf *b, const unsigned char *s, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2) {
		unsigned c = (unsigned)s[i] << 8 | s[i + 1], c2;

		if (c >= 0xd800 && c <= 0xdbff && i + 3 < len) {
			c2 = (unsigned)s[i + 2] << 8 | s[i + 3];
			if (c2 >= 0xdc00 && c2 <= 0xdfff) {
				c = 0x10000 + ((c - 0xd800) << 10) +
				    (c2 - 0xdc00);
				i += 2;
			}
		}
		if (c == 0 || (c >= 0xd800 && c <= 0xdfff))
			c = 0xfffd;
		kannel_put_utf8(b, c);
	}
	if (len % 2 != 0)
		kannel_put_utf8(b, 0xfffd);
}

/* The length of a well-formed UTF-8 character (not NUL) at s, or 0. */
static size_t
kannel_utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
	    (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

	if (len == 0 || len > n || c == 0)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	/* Overlong forms, surrogates, beyond U+10FFFF. */
	if ((len == 2 && c < 0xc2) || (len == 3 && c == 0xe0 && s[1] < 0xa0) ||
	    (len == 3 && c == 0xed && s[1] >= 0xa0) ||
	    (len == 4 && c == 0xf0 && s[1] < 0x90) ||
	    (len == 4 && (c > 0xf4 || (c == 0xf4 && s[1] >= 0x90))))
		return 0;
	return len;
}

/* UTF-8 as it came, each byte that is not part of a character -> U+FFFD. */
static void
kannel_clean_utf8(struct pbuf *b, const unsigned char *s, size_t len)
{
	size_t n;

	for (size_t i = 0; i < len; i += n == 0 ? 1 : n) {
		if ((n = kannel_utf8_len(s + i, len - i)) != 0)
			pbuf_add(b, (const char *)s + i, n);
		else
			pbuf_add(b, "\xef\xbf\xbd", 3);
	}
}

/* The reply's text as UTF-8 (malloc'd), or NULL when out of memory. */
static char *
kannel_text(const struct kparam *text, const char *charset)
{
	const unsigned char *s = (const unsigned char *)text->v;
	struct pbuf b = { 0 };
	int utf16;

	if (charset != NULL && *charset != '\0')
		utf16 = strcasecmp(charset, "UTF-16BE") == 0 ||
		    strcasecmp(charset, "UTF-16") == 0 ||
		    strcasecmp(charset, "UCS-2") == 0 ||
		    strcasecmp(charset, "UCS-2BE") == 0;
	else	/* UTF-16BE has NUL bytes where UTF-8 text never does */
		utf16 = text->len % 2 == 0 &&
		    memchr(s, '\0', text->len) != NULL;
	pbuf_add(&b, "", 0);
	if (utf16)
		kannel_from_utf16(&b, s, text->len);
	else
		kannel_clean_utf8(&b, s, text->len);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/*
 * A reply gets 200 and an empty body, or what the host has to say to the
 * sender: smsbox texts the body back (and, with omit-empty, nothing for an
 * empty one), so never an error page or "ok".
 */
static int
kannel_mo(struct kannel *k, const struct kquery *q,
    struct sz_inbound_answer *out)
{
	char phone[12], m[16], *text;
	int rc;

	kannel_answer(out, 200, "");
	/*
	 * smsbox texts a non-empty answer to the sender; it is Chinese, so
	 * UCS-2 (the sms-service needs accept-x-kannel-headers = true).
	 */
	out->text_back = 1;
	snprintf(out->content_type, sizeof(out->content_type),
	    "text/plain; charset=utf-8");
	snprintf(out->header, sizeof(out->header), "X-Kannel-Coding: 2");
	if (plug_phone_norm(q->from.v, phone) == -1) {
		k->host->log(k->chan, SZ_LOG_WARN, "sms_kannel: reply from "
		    "%s, not a mainland mobile number: dropped",
		    plug_mask(q->from.v, m));
		return 0;
	}
	if ((text = kannel_text(&q->text, q->charset.v)) == NULL) {
		k->host->log(k->chan, SZ_LOG_ERROR, "sms_kannel: reply from "
		    "%s: out of memory", plug_mask(phone, m));
		return -1;
	}
	rc = k->host->reply(k->chan, phone, text);
	k->host->log(k->chan, SZ_LOG_INFO, "sms_kannel: reply from %s, %zu "
	    "bytes%s", plug_mask(phone, m), strlen(text),
	    rc == 0 ? "" : " (not taken)");
	free(text);
	return 0;
}

int
kannel_inbound(void *state, struct sz_chan *chan,
    const struct sz_inbound *in, struct sz_inbound_answer *out)
{
	struct kannel *k = state;
	struct kquery q;
	int rc;

	(void)chan;
	if (in->method == NULL || strcmp(in->method, "GET") != 0)
		return kannel_answer(out, 400, "Kannel calls with GET");
	if (in->query == NULL || *in->query == '\0')
		return kannel_answer(out, 400, "no query: expected t, p and b "
		    "or from and text");
	switch (kquery_parse(&q, in->query)) {
	case KQ_NOMEM:
		kannel_answer(out, 500, "out of memory");
		rc = -1;
		break;
	case KQ_BAD:
		k->host->log(k->chan, SZ_LOG_DEBUG, "sms_kannel: inbound "
		    "query malformed");
		rc = kannel_answer(out, 400, "malformed query");
		break;
	default:
		if (q.t.v != NULL)
			rc = kannel_dlr(k, &q, out);
		else if (q.from.v != NULL && q.text.v != NULL)
			rc = kannel_mo(k, &q, out);
		else
			rc = kannel_answer(out, 400, "neither a delivery "
			    "report (t, p, b) nor a reply (from, text)");
		break;
	}
	free(q.buf);
	return rc;
}
