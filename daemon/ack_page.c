/*
 * ack_page.c - the pages a leader sees after tapping the link in an SMS:
 * the notice with its answer buttons, and the plain pages for a link that
 * shows no notice.
 *
 * Everything a string from the store reaches goes through ackp_escape(),
 * which also repairs bytes that are not UTF-8, so the page stays valid
 * UTF-8 whatever the store holds.  The word 演练 is written only on a
 * drill's page: the drill rule of message.h, carried to the web.
 */
#include "ack_page.h"
#include "message.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#define ACKP_TZ_OFFSET	(8 * 3600)	/* Asia/Shanghai: UTC+8, no DST */
#define ACKP_SEP	" · "
#define ACKP_FFFD	"\xef\xbf\xbd"	/* U+FFFD, for a byte that is not UTF-8 */
#define ACKP_DRILL_BANNER MESSAGE_DRILL_MARK "本次为演练，不是真实事件"

/*
 * One look for every page: readable at 360px, big buttons, no script and
 * nothing fetched from elsewhere.  The referrer policy keeps the token in
 * the page's address from leaking should a browser ever follow a link.
 */
static const char ackp_head1[] =
    "<!DOCTYPE html>\n"
    "<html lang=\"zh-CN\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
    "<meta name=\"referrer\" content=\"no-referrer\">\n"
    "<link rel=\"icon\" href=\"data:,\">\n"
    "<title>";
static const char ackp_head2[] =
    "</title>\n<style>\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#eee;color:#111;font:18px/1.6 \"PingFang SC\","
    "\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;"
    "-webkit-text-size-adjust:100%}\n"
    "main{max-width:36em;min-height:100vh;margin:0 auto;padding:12px 14px;"
    "background:#fff;overflow-wrap:anywhere}\n"
    "h1{font-size:1.35em;line-height:1.35;margin:.5em 0 .2em}\n"
    ".band{padding:.45em .8em;border-radius:6px;color:#fff;font-weight:bold}\n"
    ".sev-red{background:#c62828}.sev-orange{background:#e65100}"
    ".sev-yellow{background:#f9c80e;color:#111}.sev-blue{background:#1565c0}"
    ".sev-none{background:#616161}\n"
    ".drill{margin:0 0 .6em;padding:.6em .8em;border:3px dashed #1b5e20;"
    "background:#e8f5e9;color:#1b5e20;font-size:1.15em;font-weight:bold;"
    "text-align:center}\n"
    ".ok,.done{padding:.5em .8em;font-weight:bold}\n"
    ".ok{background:#e8f5e9;border-left:6px solid #2e7d32}\n"
    ".done{background:#fff8e1;border-left:6px solid #f9a825}\n"
    ".meta{color:#555;font-size:.9em;margin:0 0 .8em}\n"
    ".text{margin:0 0 1em}\n"
    "ul{margin:.2em 0 1em;padding-left:1.2em}\n"
    "li strong{white-space:nowrap}\n"
    "button{display:block;width:100%;min-height:56px;margin:.6em 0;"
    "padding:.5em;border:2px solid #1565c0;border-radius:8px;"
    "background:#fff;color:#1565c0;font:inherit;font-size:1.15em}\n"
    "button.pri{background:#1565c0;color:#fff}\n"
    "button.cur{border-width:4px;font-weight:bold}\n"
    "</style>\n</head>\n<body>\n<main>\n";
static const char ackp_tail[] = "</main>\n</body>\n</html>\n";

/* The severity bands, in enum alert_severity order. */
static const char *const ackp_sev_class[] = { "sev-red", "sev-orange",
	"sev-yellow", "sev-blue" };

/* Why a link shows no notice: heading, then one line of what to do. */
static const char *const ackp_notices[][2] = {
	[ACK_UNKNOWN] = { "链接无效",
	    "链接无效或输入有误，请核对短信中的链接。" },
	[ACK_EXPIRED] = { "该通知已过期", "该通知已过期，无需再回复。" },
	[ACK_CANCELLED] = { "该通知已解除", "该通知已解除，无需再回复。" },
	[ACK_BUSY] = { "请求过于频繁，请稍后再试",
	    "请求过于频繁，请稍后再试。" },
	[ACK_ERROR] = { "系统繁忙，请稍后再试", "系统繁忙，请稍后再试。" }
};

static void
ackp_lit(struct evbuffer *out, const char *s)
{
	evbuffer_add(out, s, strlen(s));
}

/* The length of the valid UTF-8 character at p (at most avail bytes), or 0. */
static size_t
ackp_utf8(const unsigned char *p, size_t avail, uint32_t *cp)
{
	size_t n, i;
	uint32_t c;

	if (p[0] < 0x80)
		n = 1, c = p[0];
	else if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n > avail)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms and surrogates are not UTF-8 either. */
	if ((n == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (n == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	*cp = c;
	return n;
}

/*
 * What the character at p becomes: NULL to keep its *len bytes, else the
 * text that replaces them ("" drops a control character, which a browser
 * would show as a box or not at all).
 */
static const char *
ackp_entity(const unsigned char *p, size_t avail, size_t *len, int br)
{
	uint32_t c = 0;

	if ((*len = ackp_utf8(p, avail, &c)) == 0) {
		*len = 1;
		return ACKP_FFFD;
	}
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '\t': return NULL;
	case '\n': return br ? "<br>\n" : NULL;
	}
	if (c < 0x20 || (c >= 0x7f && c <= 0x9f))
		return "";	/* '\r' too, so "\r\n" is one line break */
	return NULL;
}

/* Escape n bytes of s for text or a quoted attribute; br: '\n' -> <br>. */
static void
ackp_escape_n(struct evbuffer *out, const char *s, size_t n, int br)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const unsigned char *run = p;
	const char *rep;
	size_t len;

	while (p < end) {
		if ((rep = ackp_entity(p, (size_t)(end - p), &len, br)) == NULL) {
			p += len;
			continue;
		}
		evbuffer_add(out, run, (size_t)(p - run));
		ackp_lit(out, rep);
		p += len;
		run = p;
	}
	evbuffer_add(out, run, (size_t)(p - run));
}

static void
ackp_escape(struct evbuffer *out, const char *s, int br)
{
	if (s != NULL)
		ackp_escape_n(out, s, strlen(s), br);
}

/* ms since the epoch as Beijing time, 11月30日 10:00; "" if unshowable. */
static void
ackp_time(int64_t ms, char *buf, size_t len)
{
	int64_t secs = ms / 1000 - (ms % 1000 < 0);
	time_t local = (time_t)(secs + ACKP_TZ_OFFSET);
	struct tm tm;

	buf[0] = '\0';
	if (gmtime_r(&local, &tm) != NULL)
		snprintf(buf, len, "%d月%d日 %02d:%02d", tm.tm_mon + 1,
		    tm.tm_mday, tm.tm_hour, tm.tm_min);
}

static void
ackp_head(struct evbuffer *out, const char *prefix, const char *title)
{
	ackp_lit(out, ackp_head1);
	ackp_lit(out, prefix);
	ackp_escape(out, title, 0);
	ackp_lit(out, ackp_head2);
}

/*
 * One segment of a node code.  A bare label ("12", "A") gets its suffix
 * (号楼, 单元); one that ends in a Chinese character ("3号楼", "东座")
 * is already worded and is shown as written.
 */
static void
ackp_segment(struct evbuffer *out, const char *seg, size_t n, int depth)
{
	static const char *const suffix[] = { "", "", "号楼", "单元" };

	ackp_escape_n(out, seg, n, 0);
	if (depth < 4 && (unsigned char)seg[n - 1] < 0x80)
		ackp_lit(out, suffix[depth]);
}

/* 220104001001/G01/12/3 -> 220104001001 · G01 · 12号楼 · 3单元 */
static void
ackp_place(struct evbuffer *out, const char *code)
{
	const char *seg = code, *slash;
	int depth = 0, shown = 0;
	size_t n;

	for (;; depth++) {
		slash = strchr(seg, '/');
		n = slash != NULL ? (size_t)(slash - seg) : strlen(seg);
		if (n > 0) {
			if (shown++)
				ackp_lit(out, ACKP_SEP);
			ackp_segment(out, seg, n, depth);
		}
		if (slash == NULL)
			break;
		seg = slash + 1;
	}
}

/* Whom the page is for, so a leader with several posts sees them all. */
static void
ackp_posts(struct evbuffer *out, const struct ack_view *v)
{
	size_t i;

	ackp_lit(out, "<p>");
	if (v->name != NULL && *v->name != '\0') {
		ackp_escape(out, v->name, 0);
		ackp_lit(out, "，");
	}
	ackp_lit(out, v->n_posts > 0 ? "您好。您的岗位：</p>\n<ul>\n" :
	    "您好。</p>\n");
	if (v->n_posts == 0)
		return;
	for (i = 0; i < v->n_posts; i++) {
		ackp_lit(out, "<li>");
		if (v->posts[i].code != NULL)
			ackp_place(out, v->posts[i].code);
		ackp_lit(out, " <strong>");
		ackp_escape(out, v->posts[i].role, 0);
		ackp_lit(out, "</strong></li>\n");
	}
	ackp_lit(out, "</ul>\n");
}

/* The coloured band: 红色预警 · 突发事件. */
static void
ackp_band(struct evbuffer *out, const struct ack_view *v)
{
	int sev = v->severity;
	const char *label = alert_severity_label((enum alert_severity)sev);
	const char *kind = alert_kind_label((enum alert_kind)v->kind);

	evbuffer_add_printf(out, "<div class=\"band %s\">",
	    sev >= SEV_RED && sev <= SEV_BLUE ? ackp_sev_class[sev] :
	    "sev-none");
	ackp_lit(out, label);
	if (*label != '\0' && *kind != '\0')
		ackp_lit(out, ACKP_SEP);
	ackp_lit(out, kind);
	ackp_lit(out, "</div>\n");
}

/* Title, time, short code and text of the notice. */
static void
ackp_notice_text(struct evbuffer *out, const struct ack_view *v)
{
	char when[64];

	ackp_lit(out, "<h1>");
	ackp_escape(out, v->title, 0);
	ackp_lit(out, "</h1>\n<p class=\"meta\">");
	when[0] = '\0';
	if (v->created_at > 0)
		ackp_time(v->created_at, when, sizeof(when));
	ackp_lit(out, when);
	if (v->code != NULL && *v->code != '\0') {
		ackp_lit(out, *when != '\0' ? ACKP_SEP "编号 " : "编号 ");
		ackp_escape(out, v->code, 0);
	}
	ackp_lit(out, "</p>\n<div class=\"text\">");
	ackp_escape(out, v->body, 1);
	ackp_lit(out, "</div>\n");
}

/* The recorded answer, or NULL if there is none (or it is out of range). */
static const char *
ackp_current(const struct ack_view *v)
{
	if (v->answered < 0 || (size_t)v->answered >= v->n_responses)
		return NULL;
	return v->responses[v->answered];
}

static void
ackp_answered(struct evbuffer *out, const struct ack_view *v)
{
	const char *cur = ackp_current(v);
	char when[64];

	if (cur == NULL)
		return;
	ackp_lit(out, "<p class=\"done\">您已回复：");
	ackp_escape(out, cur, 0);
	if (v->acked_at != 0) {
		ackp_time(v->acked_at, when, sizeof(when));
		if (*when != '\0')
			evbuffer_add_printf(out, "（%s）", when);
	}
	ackp_lit(out, "</p>\n");
}

/*
 * One submit button per response, value the 1-based index.  The buttons
 * stay once answered so a leader can change the answer; the current one
 * says so.
 */
static void
ackp_form(struct evbuffer *out, const struct ack_view *v)
{
	int answered = ackp_current(v) != NULL;
	size_t i;

	if (v->n_responses == 0)
		return;
	ackp_lit(out, "<form method=\"post\" action=\"");
	ackp_escape(out, v->action, 0);
	ackp_lit(out, answered ? "\">\n<p>如需更改，请重新选择：</p>\n" :
	    "\">\n<p>请选择您的回复：</p>\n");
	for (i = 0; i < v->n_responses; i++) {
		int cur = answered && i == (size_t)v->answered;
		const char *cls = i == 0 ?
		    (cur ? " class=\"pri cur\"" : " class=\"pri\"") :
		    (cur ? " class=\"cur\"" : "");

		evbuffer_add_printf(out, "<button type=\"submit\" "
		    "name=\"response\" value=\"%zu\"%s>", i + 1, cls);
		ackp_escape(out, v->responses[i], 0);
		if (cur)
			ackp_lit(out, "（当前）");
		ackp_lit(out, "</button>\n");
	}
	ackp_lit(out, "</form>\n");
}

void
ack_page_render(struct evbuffer *out, const struct ack_view *v,
    int just_answered)
{
	int drill = v->kind == ALERT_DRILL;

	ackp_head(out, drill ? MESSAGE_DRILL_MARK : "",
	    v->title != NULL && *v->title != '\0' ? v->title : "通知");
	if (just_answered)
		ackp_lit(out, "<p class=\"ok\" role=\"status\">"
		    "已收到您的回复，谢谢！</p>\n");
	if (drill)
		ackp_lit(out, "<p class=\"drill\">" ACKP_DRILL_BANNER "</p>\n");
	ackp_band(out, v);
	ackp_notice_text(out, v);
	ackp_posts(out, v);
	ackp_answered(out, v);
	ackp_form(out, v);
	ackp_lit(out, ackp_tail);
}

void
ack_page_notice(struct evbuffer *out, enum ack_notice why)
{
	/* An unknown reason is the daemon's fault, not the leader's. */
	if ((unsigned)why > ACK_ERROR)
		why = ACK_ERROR;
	ackp_head(out, "", ackp_notices[why][0]);
	ackp_lit(out, "<h1>");
	ackp_lit(out, ackp_notices[why][0]);
	ackp_lit(out, "</h1>\n<p>");
	ackp_lit(out, ackp_notices[why][1]);
	ackp_lit(out, "</p>\n");
	ackp_lit(out, ackp_tail);
}
