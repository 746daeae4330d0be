/*
 * test_ack_page.c - the recipient's page: the drill banner (and no 演练 on
 * anything else), escaping of hostile strings, the buttons, the recorded
 * answer, Beijing time, posts, and the plain notice pages.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <event2/buffer.h>

#include "../../daemon/ack_page.h"
#include "../../daemon/message.h"

#define DRILL_WORD	"演练"

/* 2026-11-30 02:00 UTC = 11月30日 10:00 in Beijing. */
#define MS_NOV30	(INT64_C(1796004000) * 1000)
/* 2026-12-31 16:30:59.999 UTC = 1月1日 00:30 in Beijing, the next year. */
#define MS_NEWYEAR	(INT64_C(1798734600) * 1000 + 59999)

static const char *const responses3[] = { "收到", "已通知到户", "需要支援" };
static const struct ack_post posts2[] = {
	{ "220104001001/G01/12/3", "单元长" },
	{ "220104001001/G01/12", "楼栋长" },
};

/* ---- helpers ------------------------------------------------------------ */

/* A plausible view: a drill of kind, answered nowhere yet. */
static struct ack_view
view(int kind)
{
	struct ack_view v = {
		.kind = kind, .severity = SEV_YELLOW, .code = "A7",
		.title = "消防疏散", .body = "请组织本单元居民参加。",
		.created_at = MS_NOV30, .name = "王芳",
		.posts = posts2, .n_posts = 2,
		.responses = responses3, .n_responses = 3,
		.answered = -1, .acked_at = 0, .action = "/a/TOKEN"
	};

	return v;
}

/* The buffer's contents as a malloc'd string; frees the buffer. */
static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	assert_int_equal(evbuffer_remove(b, s, n), (int)n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

static char *
render(const struct ack_view *v, int just)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	ack_page_render(b, v, just);
	return take(b);
}

static char *
notice(enum ack_notice why)
{
	struct evbuffer *b = evbuffer_new();

	assert_non_null(b);
	ack_page_notice(b, why);
	return take(b);
}

static size_t
count(const char *s, const char *needle)
{
	size_t n = 0, len = strlen(needle);

	while ((s = strstr(s, needle)) != NULL)
		n++, s += len;
	return n;
}

static void
has(const char *page, const char *needle)
{
	if (strstr(page, needle) == NULL)
		fail_msg("missing \"%s\" in:\n%s", needle, page);
}

static void
hasnt(const char *page, const char *needle)
{
	if (strstr(page, needle) != NULL)
		fail_msg("unexpected \"%s\" in:\n%s", needle, page);
}

/* Strict UTF-8, no NUL. */
static void
check_utf8(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t c = 0;
	int n = 1;

	while (*p != '\0') {
		if (*p < 0x80)
			n = 1, c = *p;
		else if (*p >= 0xc2 && *p <= 0xdf)
			n = 2, c = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			n = 3, c = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			n = 4, c = *p & 0x07;
		else
			fail_msg("bad lead byte at %td", (const char *)p - s);
		for (int i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				fail_msg("bad continuation at %td",
				    (const char *)p - s);
			c = c << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
		    (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
		    (c >= 0xd800 && c <= 0xdfff))
			fail_msg("bad code point at %td", (const char *)p - s);
		p += n;
	}
}

/* What every page must be: one small self-contained UTF-8 document. */
static void
check_page(const char *page)
{
	check_utf8(page);
	assert_true(strncmp(page, "<!DOCTYPE html>\n", 16) == 0);
	assert_int_equal(count(page, "<html"), 1);
	assert_int_equal(count(page, "</html>"), 1);
	assert_int_equal(count(page, "<head>"), 1);
	assert_int_equal(count(page, "</head>"), 1);
	assert_int_equal(count(page, "<body>"), 1);
	assert_int_equal(count(page, "</body>"), 1);
	assert_int_equal(count(page, "<title>"), 1);
	assert_int_equal(count(page, "</title>"), 1);
	has(page, "<html lang=\"zh-CN\">");
	has(page, "<meta charset=\"utf-8\">");
	has(page, "<meta name=\"viewport\"");
	assert_true(strstr(page, "</head>") < strstr(page, "<body>"));
	assert_true(strstr(page, "</body>") < strstr(page, "</html>"));
	/*
	 * No script and nothing fetched from elsewhere: the one <link> is
	 * the inline icon, so a browser does not ask for /favicon.ico.
	 */
	hasnt(page, "<script");
	has(page, "<link rel=\"icon\" href=\"data:,\">");
	assert_ptr_equal(strstr(page, "<link"), strstr(page, "<link rel=\"icon\" "
	    "href=\"data:,\">"));
	assert_null(strstr(strstr(page, "<link") + 5, "<link"));
	hasnt(page, "<img");
	hasnt(page, "<iframe");
	hasnt(page, "<object");
	hasnt(page, "http:");
	hasnt(page, "https:");
	hasnt(page, "url(");
	hasnt(page, "@import");
	assert_true(strlen(page) < 8192);
}

/* ---- the drill rule ----------------------------------------------------- */

static void
test_drill_banner(void **state)
{
	struct ack_view v = view(ALERT_DRILL);
	char *page;

	(void)state;
	page = render(&v, 0);
	check_page(page);
	has(page, "【演练】本次为演练，不是真实事件");
	has(page, "<title>【演练】消防疏散</title>");
	/* The banner comes before the title. */
	assert_true(strstr(page, "本次为演练") < strstr(page, "<h1>"));
	free(page);
}

static void
test_no_drill_word_elsewhere(void **state)
{
	static const int kinds[] = { ALERT_EMERGENCY, ALERT_NOTICE };
	char *page;

	(void)state;
	for (size_t k = 0; k < 2; k++)
		for (int sev = SEV_RED; sev <= SEV_BLUE + 1; sev++)
			for (int ans = -1; ans < 3; ans++) {
				struct ack_view v = view(kinds[k]);

				v.severity = sev;
				v.answered = ans;
				v.acked_at = ans >= 0 ? MS_NOV30 + 300000 : 0;
				page = render(&v, ans >= 0);
				check_page(page);
				hasnt(page, DRILL_WORD);
				has(page, alert_kind_label(kinds[k]));
				free(page);
			}
}

/* ---- escaping ----------------------------------------------------------- */

static void
test_escaping(void **state)
{
	static const char *const hostile[] = { "\"><b>", "a&b", "it's" };
	static const struct ack_post hpost[] = {
		{ "220104001001/<i>/12", "楼栋长&<u>" },
	};
	struct ack_view v = view(ALERT_EMERGENCY);
	char *page;

	(void)state;
	v.title = "<script>alert(1)</script>";
	v.body = "<img src=x onerror=alert(1)>";
	v.name = "O'Brien & <i>";
	v.code = "A7\"<s>";
	v.action = "/a/x\"><script>alert(2)</script>";
	v.responses = hostile;
	v.n_responses = 3;
	v.posts = hpost;
	v.n_posts = 1;
	page = render(&v, 0);
	check_page(page);
	has(page, "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>");
	has(page, "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>");
	has(page, "&lt;img src=x onerror=alert(1)&gt;");
	has(page, "O&#39;Brien &amp; &lt;i&gt;");
	has(page, "A7&quot;&lt;s&gt;");
	has(page, "action=\"/a/x&quot;&gt;&lt;script&gt;alert(2)"
	    "&lt;/script&gt;\"");
	has(page, "value=\"1\" class=\"pri\">&quot;&gt;&lt;b&gt;</button>");
	has(page, ">a&amp;b</button>");
	has(page, ">it&#39;s</button>");
	has(page, "&lt;i&gt;");
	has(page, "楼栋长&amp;&lt;u&gt;");
	hasnt(page, "<b>");
	hasnt(page, "<i>");
	hasnt(page, "<u>");
	hasnt(page, "<s>");
	hasnt(page, "<img");
	free(page);
}

static void
test_body_lines(void **state)
{
	struct ack_view v = view(ALERT_NOTICE);
	char *page;

	(void)state;
	v.body = "第一行\n第二行\r\n第三行\x01";
	page = render(&v, 0);
	check_page(page);
	has(page, "第一行<br>\n第二行<br>\n第三行</div>");
	free(page);
}

static void
test_bad_utf8(void **state)
{
	struct ack_view v = view(ALERT_NOTICE);
	char *page;

	(void)state;
	v.title = "坏\xff字\xe6\xb1";	/* a stray byte, a cut character */
	v.body = "\xed\xa0\x80\xc0\xaf";	/* a surrogate, an overlong '/' */
	page = render(&v, 0);
	check_page(page);
	has(page, "<h1>坏\xef\xbf\xbd字\xef\xbf\xbd\xef\xbf\xbd</h1>");
	free(page);
}

/* ---- the form ----------------------------------------------------------- */

static void
test_buttons(void **state)
{
	struct ack_view v = view(ALERT_DRILL);
	char *page, needle[128];
	const char *p;

	(void)state;
	page = render(&v, 0);
	check_page(page);
	assert_int_equal(count(page, "<form "), 1);
	assert_int_equal(count(page, "</form>"), 1);
	has(page, "<form method=\"post\" action=\"/a/TOKEN\">");
	assert_int_equal(count(page, "<button"), 3);
	assert_int_equal(count(page, "type=\"submit\" name=\"response\""), 3);
	assert_int_equal(count(page, "class=\"pri"), 1);
	p = page;
	for (size_t i = 0; i < 3; i++) {
		snprintf(needle, sizeof(needle), "value=\"%zu\"%s>%s</button>",
		    i + 1, i == 0 ? " class=\"pri\"" : "", responses3[i]);
		if ((p = strstr(p, needle)) == NULL)
			fail_msg("button %zu missing or out of order:\n%s", i,
			    page);
	}
	/* All buttons inside the form. */
	assert_true(strstr(page, "<form ") < strstr(page, "<button"));
	assert_true(p < strstr(page, "</form>"));
	hasnt(page, "您已回复");
	hasnt(page, "（当前）");
	hasnt(page, "已收到您的回复");
	free(page);

	v.responses = responses3;
	v.n_responses = 1;
	page = render(&v, 0);
	check_page(page);
	assert_int_equal(count(page, "<button"), 1);
	has(page, "value=\"1\" class=\"pri\">收到</button>");
	free(page);
}

static void
test_answered(void **state)
{
	struct ack_view v = view(ALERT_EMERGENCY);
	char *page;

	(void)state;
	v.answered = 1;
	v.acked_at = MS_NOV30 + 5 * 60 * 1000;
	page = render(&v, 0);
	check_page(page);
	has(page, "您已回复：已通知到户（11月30日 10:05）");
	assert_int_equal(count(page, "<button"), 3);
	assert_int_equal(count(page, "（当前）"), 1);
	has(page, "value=\"2\" class=\"cur\">已通知到户（当前）</button>");
	has(page, "value=\"1\" class=\"pri\">收到</button>");
	hasnt(page, "已收到您的回复");
	free(page);

	/* Just answered: thanks first, before anything else in the body. */
	v.answered = 0;
	page = render(&v, 1);
	check_page(page);
	has(page, "已收到您的回复，谢谢！");
	assert_true(strstr(page, "已收到您的回复") < strstr(page, "class=\"band"));
	has(page, "您已回复：收到（11月30日 10:05）");
	has(page, "value=\"1\" class=\"pri cur\">收到（当前）</button>");
	free(page);

	/* An index out of range shows no answer, but the buttons stay. */
	v.answered = 3;
	page = render(&v, 0);
	check_page(page);
	hasnt(page, "您已回复");
	hasnt(page, "（当前）");
	assert_int_equal(count(page, "<button"), 3);
	free(page);
}

/* ---- time, posts, severity ---------------------------------------------- */

static void
test_beijing_time(void **state)
{
	struct ack_view v = view(ALERT_NOTICE);
	char *page;

	(void)state;
	page = render(&v, 0);
	has(page, "11月30日 10:00");
	free(page);

	v.created_at = MS_NEWYEAR;
	v.answered = 2;
	v.acked_at = MS_NEWYEAR + 60 * 1000 - 59999;	/* 16:31:00 UTC */
	page = render(&v, 0);
	check_page(page);
	has(page, "1月1日 00:30");
	has(page, "您已回复：需要支援（1月1日 00:31）");
	hasnt(page, "12月31日");
	free(page);
}

static void
test_posts(void **state)
{
	static const struct ack_post p[] = {
		{ "220104001001/G01/12/3", "单元长" },
		{ "220104001", "值班员" },
		{ "220104001001", "值班员" },
		{ "220183105201/三组", "村民代表" },
		{ "220104001001/G02/5号楼", "楼栋长" },
	};
	struct ack_view v = view(ALERT_NOTICE);
	char *page;

	(void)state;
	v.posts = p;
	v.n_posts = 5;
	page = render(&v, 0);
	check_page(page);
	has(page, "王芳，");
	has(page, "<li>220104001001 · G01 · 12号楼 · 3单元 <strong>单元长"
	    "</strong></li>");
	has(page, "<li>220104001 <strong>值班员</strong></li>");
	has(page, "<li>220104001001 <strong>值班员</strong></li>");
	has(page, "<li>220183105201 · 三组 <strong>村民代表</strong></li>");
	has(page, "<li>220104001001 · G02 · 5号楼 <strong>楼栋长</strong></li>");
	assert_int_equal(count(page, "<li>"), 5);
	free(page);

	v.n_posts = 0;
	v.name = NULL;
	page = render(&v, 0);
	check_page(page);
	hasnt(page, "<li>");
	hasnt(page, "<ul>");
	free(page);
}

static void
test_severity(void **state)
{
	static const char *const cls[] = { "sev-red", "sev-orange",
		"sev-yellow", "sev-blue" };
	static const char *const label[] = { "红色预警", "橙色预警", "黄色预警",
		"蓝色预警" };
	char *page, needle[128];

	(void)state;
	for (int sev = SEV_RED; sev <= SEV_BLUE; sev++) {
		struct ack_view v = view(ALERT_EMERGENCY);

		v.severity = sev;
		page = render(&v, 0);
		snprintf(needle, sizeof(needle), "<div class=\"band %s\">%s · "
		    "突发事件</div>", cls[sev], label[sev]);
		has(page, needle);
		free(page);
	}
}

/* ---- notice pages ------------------------------------------------------- */

static void
test_notices(void **state)
{
	static const struct {
		enum ack_notice	 why;
		const char	*text;
	} t[] = {
		{ ACK_UNKNOWN, "链接无效" },
		{ ACK_EXPIRED, "该通知已过期" },
		{ ACK_CANCELLED, "该通知已解除" },
		{ ACK_BUSY, "请求过于频繁，请稍后再试" },
		{ ACK_ERROR, "系统繁忙，请稍后再试" },
	};
	char *page, needle[128];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		page = notice(t[i].why);
		check_page(page);
		snprintf(needle, sizeof(needle), "<title>%s</title>", t[i].text);
		has(page, needle);
		snprintf(needle, sizeof(needle), "<h1>%s</h1>", t[i].text);
		has(page, needle);
		hasnt(page, "<form");
		hasnt(page, "<button");
		hasnt(page, DRILL_WORD);
		/* Nothing about why the link is bad. */
		if (t[i].why == ACK_UNKNOWN) {
			hasnt(page, "过期");
			hasnt(page, "解除");
		}
		free(page);
	}
	/* A reason out of range is the daemon's fault. */
	page = notice((enum ack_notice)42);
	check_page(page);
	has(page, "<h1>系统繁忙，请稍后再试</h1>");
	free(page);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drill_banner),
		cmocka_unit_test(test_no_drill_word_elsewhere),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_body_lines),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_buttons),
		cmocka_unit_test(test_answered),
		cmocka_unit_test(test_beijing_time),
		cmocka_unit_test(test_posts),
		cmocka_unit_test(test_severity),
		cmocka_unit_test(test_notices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
