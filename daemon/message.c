/*
 * message.c - alert kinds and severities, template checking and rendering
 * with the drill rule, and SMS length counting.
 *
 * One tokenizer (msg_next) serves both the config check and rendering, so
 * a template that passes the check cannot fail to render for a reason the
 * check would have caught.
 */
#include "message.h"
#include "plugutil.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_TZ_OFFSET	(8 * 3600)	/* Asia/Shanghai: UTC+8, no DST */
#define MSG_ELLIPSIS	"…"
#define MSG_IDEO_SPACE	"\xe3\x80\x80"	/* U+3000, the full-width space */
#define MSG_LBRACKET	"【"
#define MSG_RBRACKET	"】"
#define MSG_MAX_NAME	40		/* bytes of a bad name in an error */

#define SMS_GSM_ONE	160
#define SMS_GSM_MULTI	153
#define SMS_UCS2_ONE	70
#define SMS_UCS2_MULTI	67

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define NAME(t, i, d)	((unsigned)(i) < NELEM(t) ? (t)[i] : (d))

enum msg_ph {
	PH_TITLE, PH_BODY, PH_POSTS, PH_NODE, PH_URL, PH_CODE, PH_TIME,
	PH_KIND, PH_SEVERITY, PH_N
};

enum msg_tok_type { TOK_END, TOK_TEXT, TOK_PH, TOK_ERR };

/* One piece of a template: literal text, or a placeholder. */
struct msg_tok {
	const char	*p;		/* TOK_TEXT: the text */
	size_t		 len;
	enum msg_ph	 ph;		/* TOK_PH: which placeholder */
};

/* A field that may be shortened when the text is too long. */
struct msg_cut {
	enum msg_ph	 ph;
	size_t		 limit;		/* characters kept; SIZE_MAX = all */
	size_t		 have;		/* characters it rendered, at most limit */
	size_t		 occ;		/* times it occurs in the template */
};

/* A walk over SMS text, packing characters into parts. */
struct sms_pack {
	bool	ucs2;
	bool	non_gsm;		/* met a character outside GSM 03.38 */
	int	cap;			/* units in a part of a long text */
	int	room;			/* left in the current part */
	int	parts;
	int	units;
};

static const char *const msg_ph_names[PH_N] = {
	[PH_TITLE] = "title", [PH_BODY] = "body", [PH_POSTS] = "posts",
	[PH_NODE] = "node", [PH_URL] = "url", [PH_CODE] = "code",
	[PH_TIME] = "time", [PH_KIND] = "kind", [PH_SEVERITY] = "severity",
};
static const char *const msg_kind_names[] = { "emergency", "drill", "notice" };
static const char *const msg_kind_labels[] = { "突发事件", "演练", "通知" };
static const char *const msg_sev_names[] = { "red", "orange", "yellow",
	"blue" };
static const char *const msg_sev_labels[] = { "红色预警", "橙色预警",
	"黄色预警", "蓝色预警" };
/* The drill's 【演练】 comes from the rule, not from its template. */
static const char *const msg_defaults[] = {
	[ALERT_EMERGENCY] = "【{severity}】{title}：{body} "
	    "请点击确认收到：{url} 或回复1（{code}）",
	[ALERT_DRILL] = "【{severity}】{title}：{body} "
	    "请点击确认收到：{url} 或回复1（{code}）",
	[ALERT_NOTICE] = "【通知】{title}：{body} "
	    "请点击确认收到：{url} 或回复1（{code}）",
};
/* A group robot's post: the links follow, one per leader. */
static const char *const msg_group[] = {
	[ALERT_EMERGENCY] = "【{severity}】{title}（{code}）\n{body}",
	[ALERT_DRILL] = "【{severity}】{title}（{code}）\n{body}",
	[ALERT_NOTICE] = "【通知】{title}（{code}）\n{body}",
};
/*
 * GSM 03.38: the extension table, and the default alphabet beyond ASCII
 * (printable ASCII but the extension characters and '`' is in it too).
 */
static const char sms_gsm_ext[] = "^{}\\[~]|€\f";
static const char sms_gsm_basic[] = "\n\r£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞ"
    "ÆæßÉ¤¡ÄÖÑÜ§¿äöñüà";

/* ---- names -------------------------------------------------------------- */

static int
msg_lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

const char *
alert_kind_name(enum alert_kind k)
{
	return NAME(msg_kind_names, k, "unknown");
}

int
alert_kind_parse(const char *s)
{
	return msg_lookup(msg_kind_names, NELEM(msg_kind_names), s);
}

const char *
alert_kind_label(enum alert_kind k)
{
	return NAME(msg_kind_labels, k, "");
}

const char *
alert_severity_name(enum alert_severity s)
{
	return NAME(msg_sev_names, s, "unknown");
}

int
alert_severity_parse(const char *s)
{
	return msg_lookup(msg_sev_names, NELEM(msg_sev_names), s);
}

const char *
alert_severity_label(enum alert_severity s)
{
	return NAME(msg_sev_labels, s, "");
}

const char *
message_default_template(enum alert_kind k)
{
	return NAME(msg_defaults, k, msg_defaults[ALERT_NOTICE]);
}

const char *
message_group_template(enum alert_kind k)
{
	return NAME(msg_group, k, msg_group[ALERT_NOTICE]);
}

/* ---- UTF-8 -------------------------------------------------------------- */

static void __attribute__((format(printf, 3, 4)))
msg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Decode one strict UTF-8 character (no overlong forms, surrogates or
 * values past U+10FFFF); its length, or 0 if invalid.  A NUL ends the
 * string and so is never taken as a continuation byte.
 */
static int
msg_utf8(const unsigned char *s, uint32_t *cp)
{
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	int n;
	uint32_t c;

	if (s[0] < 0x80)
		n = 1, c = s[0];
	else if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, c = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, c = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Byte offset of the first invalid sequence in s, or -1 if s is UTF-8. */
static long
msg_utf8_bad(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	int n;

	for (; *p != '\0'; p += n)
		if ((n = msg_utf8(p, &c)) == 0)
			return (long)(p - (const unsigned char *)s);
	return -1;
}

/* C0 and C1 controls and DEL, except '\n', never reach a message. */
static bool
msg_dropped(uint32_t c)
{
	return (c < 0x20 && c != '\n') || (c >= 0x7f && c < 0xa0);
}

/* ---- templates ---------------------------------------------------------- */

/*
 * The next token of tmpl at *off.  Braces are doubled to be literal, as in
 * Python's str.format, so a typo like "title}" is caught, not sent.
 */
static enum msg_tok_type
msg_next(const char *tmpl, size_t *off, struct msg_tok *t, char *err,
    size_t errlen)
{
	const char *s = tmpl + *off, *e;
	size_t n, q;
	int ph;

	if (*s == '\0')
		return TOK_END;
	if ((s[0] == '{' || s[0] == '}') && s[1] == s[0]) {
		t->p = s, t->len = 1, *off += 2;
		return TOK_TEXT;
	}
	if (s[0] != '{' && s[0] != '}') {
		t->p = s, t->len = strcspn(s, "{}"), *off += t->len;
		return TOK_TEXT;
	}
	e = s + 1 + strcspn(s + 1, "{}");
	if (s[0] == '}' || *e != '}') {
		msg_err(err, errlen, "%s at byte %zu of the template (write "
		    "%s for a literal brace)", s[0] == '}' ? "unmatched '}'" :
		    "unterminated '{'", *off, s[0] == '}' ? "}}" : "{{");
		return TOK_ERR;
	}
	n = (size_t)(e - s - 1);
	for (ph = 0; ph < PH_N; ph++)
		if (strlen(msg_ph_names[ph]) == n &&
		    memcmp(msg_ph_names[ph], s + 1, n) == 0)
			break;
	if (ph == PH_N) {
		/* Quote a long name only up to a character boundary. */
		for (q = n < MSG_MAX_NAME ? n : MSG_MAX_NAME; q < n &&
		    q > 0 && ((unsigned char)s[1 + q] & 0xc0) == 0x80; q--)
			;
		msg_err(err, errlen, "unknown placeholder {%.*s%s} at byte %zu "
		    "of the template", (int)q, s + 1, q < n ? "..." : "", *off);
		return TOK_ERR;
	}
	t->ph = (enum msg_ph)ph, *off = (size_t)(e + 1 - tmpl);
	return TOK_PH;
}

int
message_template_check(const char *tmpl, char *err, size_t errlen)
{
	struct msg_tok t;
	enum msg_tok_type tt;
	size_t off = 0, len;
	long bad;

	if (tmpl == NULL || *tmpl == '\0') {
		msg_err(err, errlen, "the template is empty");
		return -1;
	}
	if ((len = strlen(tmpl)) > MESSAGE_MAX_TEMPLATE) {
		msg_err(err, errlen, "the template has %zu bytes, more than %d",
		    len, MESSAGE_MAX_TEMPLATE);
		return -1;
	}
	if ((bad = msg_utf8_bad(tmpl)) != -1) {
		msg_err(err, errlen, "the template is not valid UTF-8 "
		    "(byte %ld)", bad);
		return -1;
	}
	while ((tt = msg_next(tmpl, &off, &t, err, errlen)) != TOK_END)
		if (tt == TOK_ERR)
			return -1;
	return 0;
}

/* ---- rendering ---------------------------------------------------------- */

/*
 * Append n bytes of checked UTF-8 without controls, keeping at most limit
 * characters and marking a cut with an ellipsis; the characters kept.
 */
static size_t
msg_put_clean(struct pbuf *f, const char *s, size_t n, size_t limit)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *run = p;	/* kept bytes not yet written */
	size_t kept = 0;
	uint32_t c;
	int len;

	for (; p < end && (len = msg_utf8(p, &c)) != 0; p += len) {
		if (msg_dropped(c)) {
			pbuf_add(f, (const char *)run, (size_t)(p - run));
			run = p + len;
			continue;
		}
		if (kept == limit) {
			pbuf_add(f, (const char *)run, (size_t)(p - run));
			pbuf_str(f, MSG_ELLIPSIS);
			return kept;
		}
		kept++;
	}
	pbuf_add(f, (const char *)run, (size_t)(p - run));
	return kept;
}

/* {time}: month, day and minute in Beijing time, as 11月30日 04:30. */
static void
msg_time(time_t when, char *buf, size_t len)
{
	long long t = when == 0 ? (long long)time(NULL) : (long long)when;
	time_t local;
	struct tm tm;

	buf[0] = '\0';
	if (t > LLONG_MAX - MSG_TZ_OFFSET)
		return;
	local = (time_t)(t + MSG_TZ_OFFSET);
	if (gmtime_r(&local, &tm) != NULL)
		snprintf(buf, len, "%d月%d日 %02d:%02d", tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min);
}

/* Each placeholder's text; a NULL string is empty. */
static void
msg_values(const struct msg_vars *v, const char *timestr,
    const char *val[PH_N])
{
	const char *s[PH_N] = { v->title, v->body, v->posts, v->node, v->url,
	    v->code, timestr, alert_kind_label(v->kind),
	    alert_severity_label(v->severity) };

	for (int i = 0; i < PH_N; i++)
		val[i] = s[i] != NULL ? s[i] : "";
}

/*
 * Expand a checked template after prefix, noting in cut what each cuttable
 * field rendered; the text, or NULL when memory ran out.
 */
static char *
msg_expand(const char *tmpl, const char *const val[PH_N], const char *prefix,
    struct msg_cut cut[2])
{
	struct msg_cut *c;
	struct msg_tok t;
	enum msg_tok_type tt;
	size_t off = 0, kept;
	struct pbuf b = { 0 };
	struct pbuf *f = &b;

	pbuf_str(f, prefix);
	cut[0].occ = cut[1].occ = 0;
	while ((tt = msg_next(tmpl, &off, &t, NULL, 0)) == TOK_TEXT ||
	    tt == TOK_PH) {
		if (tt == TOK_TEXT) {
			msg_put_clean(f, t.p, t.len, SIZE_MAX);
			continue;
		}
		c = cut[0].ph == t.ph ? &cut[0] :
		    cut[1].ph == t.ph ? &cut[1] : NULL;
		kept = msg_put_clean(f, val[t.ph], strlen(val[t.ph]),
		    c != NULL ? c->limit : SIZE_MAX);
		if (c != NULL)
			c->have = kept, c->occ++;
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p != NULL ? b.p : strdup("");
}

/* Length of the space (ASCII, newline or full-width) at s, or 0. */
static size_t
msg_space(const char *s)
{
	if (*s == ' ' || *s == '\n')
		return 1;
	if (strncmp(s, MSG_IDEO_SPACE, strlen(MSG_IDEO_SPACE)) == 0)
		return strlen(MSG_IDEO_SPACE);
	return 0;
}

/* Trim outer space in place, so "begins with" means what a reader sees. */
static void
msg_trim(char *s)
{
	size_t n, len, start = 0;

	while ((n = msg_space(s + start)) > 0)
		start += n;
	len = strlen(s + start);
	memmove(s, s + start, len + 1);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\n'))
		s[--len] = '\0';
}

/*
 * Remove every 【演练】 from the run of 【…】 tags a text opens with (as
 * 【南湖街道】【演练】); whether there was one.  Such a tag anywhere in that
 * run marks the message as a drill to whoever reads it.
 */
static bool
msg_strip_marks(char *s)
{
	const size_t ml = strlen(MESSAGE_DRILL_MARK);
	bool found = false;
	char *p = s, *e;
	size_t n;

	for (;;) {
		while ((n = msg_space(p)) > 0)
			p += n;
		if (strncmp(p, MESSAGE_DRILL_MARK, ml) == 0) {
			memmove(p, p + ml, strlen(p + ml) + 1);
			found = true;
		} else if (strncmp(p, MSG_LBRACKET, strlen(MSG_LBRACKET)) == 0 &&
		    (e = strstr(p, MSG_RBRACKET)) != NULL)
			p = e + strlen(MSG_RBRACKET);
		else
			return found;
	}
}

/*
 * The drill rule, on a text expanded after the mark for a drill and after
 * nothing otherwise: 0, or -1 and err.
 */
static int
msg_drill_rule(char *s, enum alert_kind kind, char *err, size_t errlen)
{
	char *rest = kind == ALERT_DRILL ? s + strlen(MESSAGE_DRILL_MARK) : s;

	msg_trim(rest);
	if (!msg_strip_marks(rest) || kind == ALERT_DRILL)
		return 0;
	msg_err(err, errlen, "%s must not be marked as a drill (%s at the "
	    "start of the message)", kind == ALERT_NOTICE ? "a notice" :
	    "an emergency", MESSAGE_DRILL_MARK);
	return -1;
}

/* Values come from operators and the roster; say which one is bad. */
static int
msg_check_vars(const char *const val[PH_N], char *err, size_t errlen)
{
	long bad;

	for (int ph = PH_TITLE; ph <= PH_CODE; ph++) {
		if ((bad = msg_utf8_bad(val[ph])) != -1) {
			msg_err(err, errlen, "the %s is not valid UTF-8 "
			    "(byte %ld)", msg_ph_names[ph], bad);
			return -1;
		}
	}
	return 0;
}

/*
 * Shorten the first field that still has characters to give, by enough to
 * lose excess characters; -1 when nothing is left to shorten.
 */
static int
msg_shorten(struct msg_cut cut[2], size_t excess)
{
	size_t by;

	for (int i = 0; i < 2; i++) {
		if (cut[i].occ == 0 || cut[i].have == 0)
			continue;
		/* Each occurrence gains an ellipsis, hence the + 1. */
		by = (excess + cut[i].occ - 1) / cut[i].occ + 1;
		cut[i].limit = cut[i].have > by ? cut[i].have - by : 0;
		return 0;
	}
	return -1;
}

/* Characters in a rendered (valid UTF-8) text. */
static size_t
msg_chars(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

char *
message_render(const char *tmpl, const struct msg_vars *v, char *err,
    size_t errlen)
{
	struct msg_cut cut[2] = { { .ph = PH_BODY, .limit = SIZE_MAX },
	    { .ph = PH_TITLE, .limit = SIZE_MAX } };
	const char *val[PH_N];
	char timestr[64], *s;
	size_t n;

	msg_time(v->when, timestr, sizeof(timestr));
	msg_values(v, timestr, val);
	if ((unsigned)v->kind >= NELEM(msg_kind_names)) {
		msg_err(err, errlen, "unknown alert kind %d", (int)v->kind);
		return NULL;
	}
	if (message_template_check(tmpl, err, errlen) == -1 ||
	    msg_check_vars(val, err, errlen) == -1)
		return NULL;
	for (;;) {
		s = msg_expand(tmpl, val, v->kind == ALERT_DRILL ?
		    MESSAGE_DRILL_MARK : "", cut);
		if (s == NULL) {
			msg_err(err, errlen, "out of memory");
			return NULL;
		}
		if (msg_drill_rule(s, v->kind, err, errlen) == -1)
			break;
		if ((n = msg_chars(s)) <= MESSAGE_MAX_CHARS)
			return s;
		if (msg_shorten(cut, n - MESSAGE_MAX_CHARS) == -1) {
			msg_err(err, errlen, "the message has %zu characters, "
			    "more than %d even with the title and body cut",
			    n, MESSAGE_MAX_CHARS);
			break;
		}
		free(s);
	}
	free(s);
	return NULL;
}

/* ---- SMS length --------------------------------------------------------- */

/* Septets for c, n bytes at p (2 if escaped), or 0 if c is not GSM. */
static int
sms_gsm_units(const unsigned char *p, int n, uint32_t c)
{
	char ch[5] = "";

	memcpy(ch, p, (size_t)n);
	if (strstr(sms_gsm_ext, ch) != NULL)
		return 2;
	return (c >= 0x20 && c < 0x7f && c != '`') ||
	    strstr(sms_gsm_basic, ch) != NULL;
}

/*
 * Pack s into parts; a character that does not fit opens the next part,
 * as phones never split an escape or a surrogate pair.  A byte that is
 * not UTF-8 counts as U+FFFD.
 */
static void
sms_pack(struct sms_pack *pk, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c;
	int n, u;
	bool bad;

	for (; p != NULL && *p != '\0'; p += n) {
		if ((bad = (n = msg_utf8(p, &c)) == 0))
			n = 1, c = 0xfffd;
		if (pk->ucs2)
			u = c > 0xffff ? 2 : 1;
		else if ((u = bad ? 0 : sms_gsm_units(p, n, c)) == 0)
			pk->non_gsm = true, u = 1;
		if (u > pk->room)
			pk->parts++, pk->room = pk->cap;
		pk->room -= u;
		pk->units += u;
	}
}

void
sms_count(const char *text, const char *signature, struct sms_count *out)
{
	struct sms_pack pk = { .cap = SMS_GSM_MULTI };

	sms_pack(&pk, signature);
	sms_pack(&pk, text);
	if (pk.non_gsm) {
		pk = (struct sms_pack){ .ucs2 = true, .cap = SMS_UCS2_MULTI };
		sms_pack(&pk, signature);
		sms_pack(&pk, text);
	}
	if (pk.units <= (pk.ucs2 ? SMS_UCS2_ONE : SMS_GSM_ONE))
		pk.parts = 1;
	out->chars = pk.units;
	out->parts = pk.parts;
	out->ucs2 = pk.ucs2;
}
