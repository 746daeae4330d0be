/*
 * test_message.c - template checking, rendering with the drill rule, the
 * length limits, and SMS part counting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../daemon/message.h"

#define MARK	MESSAGE_DRILL_MARK
#define HAN	"汉"			/* one BMP character, 3 bytes */
#define EMOJI	"\xf0\x9f\x98\x80"	/* U+1F600, outside the BMP */

/* 2026-11-29 20:30 UTC = 11月30日 04:30 in Beijing. */
#define T_NOV29	((time_t)1795984200)

/* ---- helpers ------------------------------------------------------------ */

/* n copies of s, malloc'd. */
static char *
rep(const char *s, size_t n)
{
	size_t len = strlen(s);
	char *p = malloc(len * n + 1);

	assert_non_null(p);
	for (size_t i = 0; i < n; i++)
		memcpy(p + i * len, s, len);
	p[len * n] = '\0';
	return p;
}

/* Strict UTF-8 with no control character but '\n'; the character count. */
static size_t
check_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t chars = 0;
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
			fail_msg("bad lead byte in \"%s\"", s);
		for (int i = 1; i < n; i++) {
			assert_int_equal(p[i] & 0xc0, 0x80);
			c = (c << 6) | (p[i] & 0x3f);
		}
		assert_false(n == 3 && (c < 0x800 || (c >= 0xd800 &&
		    c <= 0xdfff)));
		assert_false(n == 4 && (c < 0x10000 || c > 0x10ffff));
		assert_false((c < 0x20 && c != '\n') || (c >= 0x7f && c < 0xa0));
		p += n;
		chars++;
	}
	return chars;
}

static struct msg_vars
vars(enum alert_kind kind)
{
	struct msg_vars v = {
		.kind = kind, .severity = SEV_YELLOW, .title = "消防疏散演练",
		.body = "11月30日10:00开展消防疏散演练。",
		.posts = "南湖社区G01网格网格长、12号楼楼栋长",
		.node = "南湖社区", .url = "https://alert.example.gov.cn/a/x1",
		.code = "A7", .when = T_NOV29,
	};
	return v;
}

/* Render, expecting success, and check the text. */
static char *
render_ok(const char *tmpl, const struct msg_vars *v)
{
	char err[256] = "";
	char *s = message_render(tmpl, v, err, sizeof(err));

	if (s == NULL)
		fail_msg("render of \"%s\" failed: %s", tmpl, err);
	assert_true(check_text(s) <= MESSAGE_MAX_CHARS);
	return s;
}

/* Render, expecting failure with an error containing want. */
static void
render_fails(const char *tmpl, const struct msg_vars *v, const char *want)
{
	char err[256] = "";
	char *s = message_render(tmpl, v, err, sizeof(err));

	if (s != NULL)
		fail_msg("render of \"%s\" gave \"%s\"", tmpl, s);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static void
expect_render(const char *tmpl, const struct msg_vars *v, const char *want)
{
	char *s = render_ok(tmpl, v);

	assert_string_equal(s, want);
	free(s);
}

static void
check_fails(const char *tmpl, const char *want)
{
	char err[256] = "";

	assert_int_equal(message_template_check(tmpl, err, sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err, want);
}

static int
count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL;
	    p += strlen(needle))
		n++;
	return n;
}

static void
expect_sms(const char *text, const char *sig, int chars, int parts,
    bool ucs2)
{
	struct sms_count c;

	sms_count(text, sig, &c);
	assert_int_equal(c.chars, chars);
	assert_int_equal(c.parts, parts);
	assert_int_equal(c.ucs2, ucs2);
}

/* ---- names -------------------------------------------------------------- */

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(alert_kind_name(ALERT_EMERGENCY), "emergency");
	assert_string_equal(alert_kind_name(ALERT_DRILL), "drill");
	assert_string_equal(alert_kind_name(ALERT_NOTICE), "notice");
	assert_string_equal(alert_kind_name((enum alert_kind)7), "unknown");
	assert_int_equal(alert_kind_parse("emergency"), ALERT_EMERGENCY);
	assert_int_equal(alert_kind_parse("drill"), ALERT_DRILL);
	assert_int_equal(alert_kind_parse("notice"), ALERT_NOTICE);
	assert_int_equal(alert_kind_parse("Drill"), -1);
	assert_int_equal(alert_kind_parse(""), -1);
	assert_int_equal(alert_kind_parse(NULL), -1);
	assert_string_equal(alert_kind_label(ALERT_EMERGENCY), "突发事件");
	assert_string_equal(alert_kind_label(ALERT_DRILL), "演练");
	assert_string_equal(alert_kind_label(ALERT_NOTICE), "通知");

	assert_string_equal(alert_severity_name(SEV_RED), "red");
	assert_string_equal(alert_severity_name(SEV_ORANGE), "orange");
	assert_string_equal(alert_severity_name(SEV_YELLOW), "yellow");
	assert_string_equal(alert_severity_name(SEV_BLUE), "blue");
	assert_string_equal(alert_severity_name((enum alert_severity)-1),
	    "unknown");
	assert_int_equal(alert_severity_parse("red"), SEV_RED);
	assert_int_equal(alert_severity_parse("orange"), SEV_ORANGE);
	assert_int_equal(alert_severity_parse("yellow"), SEV_YELLOW);
	assert_int_equal(alert_severity_parse("blue"), SEV_BLUE);
	assert_int_equal(alert_severity_parse("green"), -1);
	assert_int_equal(alert_severity_parse(NULL), -1);
	assert_string_equal(alert_severity_label(SEV_RED), "红色预警");
	assert_string_equal(alert_severity_label(SEV_ORANGE), "橙色预警");
	assert_string_equal(alert_severity_label(SEV_YELLOW), "黄色预警");
	assert_string_equal(alert_severity_label(SEV_BLUE), "蓝色预警");
	assert_string_equal(alert_severity_label((enum alert_severity)9), "");
}

/* ---- placeholders and template syntax ----------------------------------- */

static void
test_every_placeholder(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);

	(void)state;
	expect_render("{title}|{body}|{posts}|{node}|{url}|{code}|{time}|"
	    "{kind}|{severity}", &v,
	    "消防疏散演练|11月30日10:00开展消防疏散演练。|"
	    "南湖社区G01网格网格长、12号楼楼栋长|南湖社区|"
	    "https://alert.example.gov.cn/a/x1|A7|11月30日 04:30|通知|黄色预警");
	v.kind = ALERT_EMERGENCY;
	v.severity = SEV_RED;
	expect_render("{kind}{severity}", &v, "突发事件红色预警");
	v.severity = SEV_ORANGE;
	expect_render("{severity}", &v, "橙色预警");
	v.severity = SEV_BLUE;
	expect_render("{severity}", &v, "蓝色预警");
	v.kind = ALERT_DRILL;
	expect_render("{kind}", &v, MARK "演练");
	/* A placeholder repeated, and one next to text. */
	expect_render("{code}-{code}x", &v, MARK "A7-A7x");
}

static void
test_null_values(void **state)
{
	struct msg_vars v = { .kind = ALERT_NOTICE, .when = T_NOV29 };

	(void)state;
	expect_render("a{title}{body}{posts}{node}{url}{code}b", &v, "ab");
}

static void
test_escapes(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);

	(void)state;
	expect_render("{{title}}", &v, "{title}");
	expect_render("{{{title}}}", &v, "{消防疏散演练}");
	expect_render("a{{b}}c {{ }}", &v, "a{b}c { }");
	/* A value's braces are text, never expanded again. */
	v.title = "{body}}";
	expect_render("{title}", &v, "{body}}");
	assert_int_equal(message_template_check("{{}}", NULL, 0), 0);
}

static void
test_template_errors(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);
	char *big, *s;

	(void)state;
	check_fails("请{titel}确认", "unknown placeholder {titel}");
	check_fails("{Title}", "{Title}");
	check_fails("{}", "unknown placeholder {}");
	check_fails("{时间}", "{时间}");
	check_fails("打开{url", "unterminated '{' at byte 6");
	check_fails("{", "unterminated '{'");
	check_fails("{ti{tle}", "unterminated '{' at byte 0");
	check_fails("{title}}", "unmatched '}' at byte 7");
	check_fails("title}", "unmatched '}'");
	check_fails("", "empty");
	check_fails(NULL, "empty");
	check_fails("ok\xff", "not valid UTF-8");
	check_fails("\xe6\xb1", "not valid UTF-8");
	/* A long unknown name is quoted shortly, on a character boundary. */
	s = rep(HAN, 30);
	big = malloc(strlen(s) + 3);
	assert_non_null(big);
	snprintf(big, strlen(s) + 3, "{%s}", s);
	check_fails(big, "{" "汉汉汉汉汉汉汉汉汉汉汉汉汉..." "}");
	free(big);
	free(s);

	/* 2000 bytes are allowed, 2001 are not. */
	big = rep("a", MESSAGE_MAX_TEMPLATE);
	assert_int_equal(message_template_check(big, NULL, 0), 0);
	free(big);
	big = rep("a", MESSAGE_MAX_TEMPLATE + 1);
	check_fails(big, "2001 bytes");
	render_fails(big, &v, "more than 2000");
	free(big);

	/* Rendering refuses what the check refuses, with the same words. */
	render_fails("{titel}", &v, "unknown placeholder {titel}");
	render_fails("{title", &v, "unterminated");
	/* err may be NULL. */
	assert_null(message_render("{x}", &v, NULL, 0));
}

static void
test_default_templates(void **state)
{
	struct msg_vars v = vars(ALERT_EMERGENCY);
	char *s;

	(void)state;
	for (int k = ALERT_EMERGENCY; k <= ALERT_NOTICE; k++)
		assert_int_equal(message_template_check(
		    message_default_template((enum alert_kind)k), NULL, 0), 0);
	v.severity = SEV_RED;
	expect_render(message_default_template(ALERT_EMERGENCY), &v,
	    "【红色预警】消防疏散演练：11月30日10:00开展消防疏散演练。 "
	    "请点击确认收到：https://alert.example.gov.cn/a/x1 或回复1（A7）");
	v.kind = ALERT_DRILL;
	s = render_ok(message_default_template(ALERT_DRILL), &v);
	assert_int_equal(strncmp(s, MARK "【红色预警】",
	    strlen(MARK "【红色预警】")), 0);
	assert_int_equal(count_of(s, MARK), 1);
	free(s);
	v.kind = ALERT_NOTICE;
	s = render_ok(message_default_template(ALERT_NOTICE), &v);
	assert_null(strstr(s, "预警"));
	assert_int_equal(strncmp(s, "【通知】", strlen("【通知】")), 0);
	free(s);
}

/* ---- the drill rule ----------------------------------------------------- */

static void
test_drill_prefix(void **state)
{
	struct msg_vars v = vars(ALERT_DRILL);

	(void)state;
	v.title = "消防演练";
	/* Added once. */
	expect_render("{title}", &v, MARK "消防演练");
	/* Not doubled when the template or a value already has it. */
	expect_render(MARK "{title}", &v, MARK "消防演练");
	expect_render(MARK " {title}", &v, MARK " 消防演练");
	expect_render("  \n" MARK "{title}\n", &v, MARK "消防演练");
	expect_render("\xe3\x80\x80" MARK "{title}", &v, MARK "消防演练");
	expect_render(MARK MARK "{title}", &v, MARK "消防演练");
	v.title = MARK "消防演练";
	expect_render("{title}", &v, MARK "消防演练");
	expect_render(MARK "{title}", &v, MARK "消防演练");
	/* Behind a signature, the mark moves to the front. */
	v.title = "消防演练";
	expect_render("【南湖街道】" MARK "{title}", &v,
	    MARK "【南湖街道】消防演练");
	expect_render("【南湖街道】{title}", &v, MARK "【南湖街道】消防演练");
	/* In the middle of the text it is the text, and stays. */
	v.body = "上次" MARK "中发现的问题";
	expect_render("{title}：{body}", &v,
	    MARK "消防演练：上次" MARK "中发现的问题");
	/* An empty rendering is still marked. */
	v.title = NULL;
	expect_render("{title}", &v, MARK);
}

static void
test_no_drill_mark_on_real_alerts(void **state)
{
	struct msg_vars v = vars(ALERT_EMERGENCY);
	const char *want = "an emergency must not be marked as a drill";

	(void)state;
	render_fails(MARK "{title}", &v, want);
	render_fails("  " MARK "{title}", &v, want);
	render_fails("【南湖街道】" MARK "{title}", &v, want);
	/* From the title or the body. */
	v.title = MARK "燃气泄漏";
	render_fails("{title}", &v, want);
	render_fails(message_default_template(ALERT_EMERGENCY), &v, want);
	v.title = "";
	v.body = " " MARK "燃气泄漏";
	render_fails("{title}{body}", &v, want);
	/* Control characters cannot hide it. */
	v.body = "\x01\t" MARK "燃气泄漏";
	render_fails("{body}", &v, want);
	v.kind = ALERT_NOTICE;
	render_fails("{body}", &v, "a notice must not be marked as a drill");
	/* Not at the start: the word is just text. */
	v.kind = ALERT_EMERGENCY;
	v.title = "燃气泄漏";
	v.body = "这不是" MARK "，请立即撤离";
	expect_render("【{severity}】{title}：{body}", &v,
	    "【黄色预警】燃气泄漏：这不是" MARK "，请立即撤离");
	v.body = "演练取消，请立即撤离";
	expect_render("{body}", &v, "演练取消，请立即撤离");
}

/* ---- time --------------------------------------------------------------- */

static void
test_time(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);
	char *s;

	(void)state;
	/* Across the UTC date boundary. */
	expect_render("{time}", &v, "11月30日 04:30");
	v.when = T_NOV29 - 30 * 60 - 1;		/* 19:59:59 UTC */
	expect_render("{time}", &v, "11月30日 03:59");
	v.when = (time_t)1798732800;		/* 2026-12-31 16:00 UTC */
	expect_render("{time}", &v, "1月1日 00:00");
	v.when = (time_t)1798732799;
	expect_render("{time}", &v, "12月31日 23:59");
	v.when = (time_t)1709136300;		/* 2024-02-28 16:05 UTC */
	expect_render("{time}", &v, "2月29日 00:05");
	/* Unset: now, in the same shape. */
	v.when = 0;
	s = render_ok("{time}", &v);
	assert_non_null(strstr(s, "月"));
	assert_non_null(strstr(s, "日 "));
	assert_non_null(strchr(s, ':'));
	free(s);
}

/* ---- limits, cleaning and UTF-8 ----------------------------------------- */

static void
test_cleaning(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);

	(void)state;
	v.title = "a\tb\r\nc\x01" "d\x7f" "e\xc2\x85" "f\x1b";
	expect_render("{title}", &v, "ab\ncdef");
	expect_render("x\ty\x02z\n", &v, "xyz");
	v.title = "  标题  ";
	expect_render(" {title} \n ", &v, "标题");
	v.title = "\xe3\x80\x80标题 \n";
	expect_render("{title}", &v, "标题");
	/* Non-breaking space (U+00A0) is not a control. */
	v.title = "a\xc2\xa0" "b";
	expect_render("{title}", &v, "a\xc2\xa0" "b");
}

static void
test_bad_utf8(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);

	(void)state;
	v.title = "ok\xff";
	render_fails("{title}", &v, "the title is not valid UTF-8 (byte 2)");
	v.title = "\xc0\xaf";				/* overlong '/' */
	render_fails("{title}", &v, "title is not valid UTF-8");
	v.title = "ok";
	v.body = "\xed\xa0\x80";			/* a surrogate */
	render_fails("{body}", &v, "body is not valid UTF-8");
	v.body = "\xe6\xb1";				/* cut short */
	render_fails("{body}", &v, "body is not valid UTF-8");
	v.body = "\xf4\x90\x80\x80";			/* past U+10FFFF */
	render_fails("{body}", &v, "body is not valid UTF-8");
	v.body = "ok";
	v.posts = "\x80";
	render_fails("{title}", &v, "posts is not valid UTF-8");
	v.posts = NULL;
	v.url = "http://x/\xfe";
	render_fails("{title}", &v, "url is not valid UTF-8");
	v.url = NULL;
	v.node = "\xc3";
	render_fails("{title}", &v, "node is not valid UTF-8");
	v.node = NULL;
	v.code = "A\xa0";
	render_fails("{title}", &v, "code is not valid UTF-8");
	/* Four-byte characters pass through whole. */
	v.code = EMOJI;
	expect_render("{code}", &v, EMOJI);
}

static void
test_length_limits(void **state)
{
	struct msg_vars v = vars(ALERT_NOTICE);
	char *long_body, *s, *tmpl;
	size_t n;

	(void)state;
	/* Exactly 1000 characters pass untouched. */
	long_body = rep(HAN, MESSAGE_MAX_CHARS);
	v.body = long_body;
	s = render_ok("{body}", &v);
	assert_string_equal(s, long_body);
	free(s);
	free(long_body);

	/* A long body is cut with an ellipsis; the link and code survive. */
	long_body = rep(HAN, 3000);
	v.body = long_body;
	s = render_ok("{title}：{body} 请打开{url}（{code}）", &v);
	assert_int_equal(check_text(s), MESSAGE_MAX_CHARS);
	assert_non_null(strstr(s, HAN "… 请打开https://alert.example.gov.cn"
	    "/a/x1（A7）"));
	assert_int_equal(strncmp(s, "消防疏散演练：", strlen("消防疏散演练：")),
	    0);
	free(s);

	/* The drill mark counts, and is kept. */
	v.kind = ALERT_DRILL;
	s = render_ok("{body}{url}", &v);
	assert_int_equal(check_text(s), MESSAGE_MAX_CHARS);
	assert_int_equal(strncmp(s, MARK, strlen(MARK)), 0);
	n = strlen(s);
	assert_string_equal(s + n - strlen(v.url), v.url);
	free(s);
	v.kind = ALERT_NOTICE;

	/* The body twice: both cut evenly. */
	s = render_ok("{body}|{body}", &v);
	assert_true(check_text(s) <= MESSAGE_MAX_CHARS);
	assert_true(check_text(s) >= MESSAGE_MAX_CHARS - 1);
	assert_int_equal(count_of(s, "…"), 2);
	free(s);

	/* The body is gone, then the title is cut. */
	v.title = long_body;
	v.body = "正文";
	s = render_ok("{title}{body}{code}", &v);
	assert_int_equal(check_text(s), MESSAGE_MAX_CHARS);
	assert_non_null(strstr(s, "…A7"));
	free(s);

	/* What cannot be cut is refused. */
	v.title = "t";
	v.posts = long_body;
	render_fails("{title}{body}{posts}", &v, "more than 1000");
	tmpl = rep("a", MESSAGE_MAX_TEMPLATE);
	render_fails(tmpl, &v, "2000 characters, more than 1000");
	free(tmpl);
	free(long_body);
}

/* ---- SMS counting ------------------------------------------------------- */

static void
test_sms_ucs2(void **state)
{
	char *s;

	(void)state;
	s = rep(HAN, 70);
	expect_sms(s, NULL, 70, 1, true);
	free(s);
	s = rep(HAN, 71);
	expect_sms(s, NULL, 71, 2, true);
	free(s);
	s = rep(HAN, 134);
	expect_sms(s, NULL, 134, 2, true);
	free(s);
	s = rep(HAN, 135);
	expect_sms(s, NULL, 135, 3, true);
	free(s);
	/* The signature counts: 6 + 64 = 70, 6 + 65 = 71. */
	s = rep(HAN, 64);
	expect_sms(s, "【南湖街道】", 70, 1, true);
	free(s);
	s = rep(HAN, 65);
	expect_sms(s, "【南湖街道】", 71, 2, true);
	free(s);
	/* A Chinese signature makes ASCII text UCS-2. */
	expect_sms("hello", "【南湖街道】", 11, 1, true);
	/* Empty text is still one message. */
	expect_sms("", NULL, 0, 1, false);
	expect_sms("", "", 0, 1, false);
	/* A byte that is not UTF-8 counts as one UCS-2 unit. */
	expect_sms("ab\xff", NULL, 3, 1, true);
	expect_sms("\xa3", NULL, 1, 1, true);	/* a stray byte of '£' */
}

static void
test_sms_gsm(void **state)
{
	char *s, *t;

	(void)state;
	s = rep("a", 160);
	expect_sms(s, NULL, 160, 1, false);
	free(s);
	s = rep("a", 161);
	expect_sms(s, NULL, 161, 2, false);
	free(s);
	s = rep("a", 306);
	expect_sms(s, NULL, 306, 2, false);
	free(s);
	s = rep("a", 307);
	expect_sms(s, NULL, 307, 3, false);
	free(s);
	/* The whole ASCII basic set and the accented letters stay GSM. */
	expect_sms("@$_!\"#%&'()*+,-./09:;<=>?AZaz\n\r", NULL, 31, 1, false);
	expect_sms("£¥èéùìòÇØøÅåΔΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", NULL, 39, 1,
	    false);
	/* Extension characters count 2. */
	expect_sms("€", NULL, 2, 1, false);
	expect_sms("[]{}\\^~|", NULL, 16, 1, false);
	s = rep("€", 80);
	expect_sms(s, NULL, 160, 1, false);
	free(s);
	s = rep("[", 81);
	expect_sms(s, NULL, 162, 2, false);
	free(s);
	/* An escape pair is not split: 152 + 2 + 152 = 306 takes 3 parts. */
	s = rep("a", 152);
	t = malloc(2 * strlen(s) + 4);
	assert_non_null(t);
	snprintf(t, 2 * strlen(s) + 4, "%s€%s", s, s);
	expect_sms(t, NULL, 306, 3, false);
	t[152 + 3] = '\0';			/* 154 still fit one part */
	expect_sms(t, NULL, 154, 1, false);
	free(t);
	free(s);
	/* Outside GSM: backquote, tab, Cyrillic, full-width punctuation. */
	expect_sms("a`b", NULL, 3, 1, true);
	expect_sms("a\tb", NULL, 3, 1, true);
	expect_sms("Ж", NULL, 1, 1, true);
	expect_sms("ok，", NULL, 3, 1, true);
	/* A GSM signature keeps GSM. */
	expect_sms("abc", "[Nanhu]", 12, 1, false);
}

static void
test_sms_emoji(void **state)
{
	char *s, *a, *t;
	size_t n;

	(void)state;
	expect_sms(EMOJI, NULL, 2, 1, true);
	expect_sms("a" EMOJI, NULL, 3, 1, true);
	s = rep(EMOJI, 35);
	expect_sms(s, NULL, 70, 1, true);
	free(s);
	s = rep(EMOJI, 36);
	expect_sms(s, NULL, 72, 2, true);
	free(s);
	/* 66 + pair + 66 = 134 units, but the pair cannot straddle parts. */
	a = rep(HAN, 66);
	n = 2 * strlen(a) + strlen(EMOJI) + 1;
	t = malloc(n);
	assert_non_null(t);
	snprintf(t, n, "%s%s%s", a, EMOJI, a);
	expect_sms(t, NULL, 134, 3, true);
	free(t);
	free(a);
}

static void
test_sms_rendered(void **state)
{
	struct msg_vars v = vars(ALERT_DRILL);
	struct sms_count c;
	char *s;

	(void)state;
	s = render_ok(message_default_template(ALERT_DRILL), &v);
	sms_count(s, "【南湖街道】", &c);
	assert_true(c.ucs2);
	assert_int_equal(c.chars, (int)check_text(s) + 6);
	assert_int_equal(c.parts, c.chars <= 70 ? 1 : (c.chars + 66) / 67);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_every_placeholder),
		cmocka_unit_test(test_null_values),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_template_errors),
		cmocka_unit_test(test_default_templates),
		cmocka_unit_test(test_drill_prefix),
		cmocka_unit_test(test_no_drill_mark_on_real_alerts),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_cleaning),
		cmocka_unit_test(test_bad_utf8),
		cmocka_unit_test(test_length_limits),
		cmocka_unit_test(test_sms_ucs2),
		cmocka_unit_test(test_sms_gsm),
		cmocka_unit_test(test_sms_emoji),
		cmocka_unit_test(test_sms_rendered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
