/*
 * fuzz_template.c - message templates (daemon/message.c): the check of a
 * template as the config loader runs it, rendering with the drill rule
 * and the shortening of long texts, and SMS part counting.
 *
 * Input: one byte choosing kind and severity, then the template, the
 * title and the body, separated by NUL bytes (title and body optional).
 */
#include "message.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The length of the well-formed UTF-8 character at s, or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 :
	    (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* What message_render() promises of a text it returns. */
static void
check_text(const char *text, enum alert_kind kind)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t chars = 0, n;
	bool marked = strncmp(text, MESSAGE_DRILL_MARK,
	    strlen(MESSAGE_DRILL_MARK)) == 0;

	for (; *s != '\0'; s += n, chars++)
		if ((n = utf8_len(s)) == 0)
			abort();	/* not UTF-8 */
	if (chars > MESSAGE_MAX_CHARS || marked != (kind == ALERT_DRILL))
		abort();		/* too long, or the drill rule broken */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_vars v = {
		.posts = "网格长、楼栋长", .node = "南湖社区", .code = "A7",
		.url = "https://alert.example.gov.cn/a/AAAAAAAAAAAAAAAAAAAAAAAAAA",
		.when = 1700000000,
	};
	char err[256], *buf, *tmpl, *p, *text;
	struct sms_count n;

	if (size < 1 || size > 8192)
		return 0;
	v.kind = (enum alert_kind)(data[0] % 3);
	v.severity = (enum alert_severity)((data[0] >> 2) % 4);
	if ((buf = malloc(size)) == NULL)
		return 0;
	memcpy(buf, data + 1, size - 1);
	buf[size - 1] = '\0';
	tmpl = buf;
	v.title = "消防疏散演练";
	v.body = "11月30日10:00开展消防疏散演练，请单元长组织本单元居民参加。";
	if ((p = memchr(tmpl, '\0', size - 1)) != NULL && p < buf + size - 1) {
		v.title = ++p;
		if ((p = memchr(p, '\0', (size_t)(buf + size - 1 - p))) != NULL &&
		    p < buf + size - 1)
			v.body = p + 1;
	}
	(void)message_template_check(tmpl, err, sizeof(err));
	if ((text = message_render(tmpl, &v, err, sizeof(err))) != NULL) {
		check_text(text, v.kind);
		sms_count(text, "【南湖街道】", &n);
		if (n.parts < 1 || n.chars < 0)
			abort();
		free(text);
	}
	free(buf);
	return 0;
}
