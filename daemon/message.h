/*
 * message.h - the text a leader reads: alert kinds and severities, message
 * templates, rendering, and SMS length counting as Chinese gateways bill.
 *
 * The drill rule lives here and only here: a drill's rendered message
 * always begins with 【演练】, an emergency's or a notice's never does, so no
 * other layer has to remember it.
 */
#ifndef SANZHANG_MESSAGE_H
#define SANZHANG_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MESSAGE_MAX_TEMPLATE	2000		/* bytes */
#define MESSAGE_MAX_CHARS	1000		/* characters of a rendered text */
#define MESSAGE_DRILL_MARK	"【演练】"

enum alert_kind {
	ALERT_EMERGENCY,			/* 突发事件 */
	ALERT_DRILL,				/* 演练 */
	ALERT_NOTICE				/* 通知 */
};

enum alert_severity {
	SEV_RED,				/* 红色预警, the most severe */
	SEV_ORANGE,
	SEV_YELLOW,
	SEV_BLUE
};

/* What a template's placeholders are filled with; a NULL string is empty. */
struct msg_vars {
	enum alert_kind		 kind;		/* decides the drill rule, {kind} */
	enum alert_severity	 severity;	/* {severity}, as 黄色预警 */
	const char		*title;		/* {title}; shortened if too long */
	const char		*body;		/* {body}; shortened first */
	const char		*posts;		/* {posts}: the recipient's posts */
	const char		*node;		/* {node}: target node's name */
	const char		*url;		/* {url}: the recipient's ack link */
	const char		*code;		/* {code}: short code, as "A7" */
	time_t			 when;		/* {time}; 0 = now */
};

/* Units billed for one text: see sms_count(). */
struct sms_count {
	int	chars;		/* GSM septets or UTF-16 units, signature included */
	int	parts;		/* segments billed; an empty text is one */
	bool	ucs2;		/* true when any character is outside GSM 03.38 */
};

/* "emergency", "drill", "notice"; "unknown" out of range. */
const char *alert_kind_name(enum alert_kind);
/* The kind named by s, or -1 if unknown. */
int alert_kind_parse(const char *s);
/* 突发事件 / 演练 / 通知, as {kind} renders; "" out of range. */
const char *alert_kind_label(enum alert_kind);

/* "red", "orange", "yellow", "blue"; "unknown" out of range. */
const char *alert_severity_name(enum alert_severity);
/* The severity named by s, or -1 if unknown. */
int alert_severity_parse(const char *s);
/* 红色预警 … 蓝色预警, as {severity} renders; "" out of range. */
const char *alert_severity_label(enum alert_severity);

/*
 * 0 if tmpl is a usable template: non-empty valid UTF-8 of at most
 * MESSAGE_MAX_TEMPLATE bytes whose placeholders are all known.  "{{" and
 * "}}" are literal braces; a lone '{' or '}' is an error.  Else -1 and err
 * names the placeholder or the byte offset.
 */
int message_template_check(const char *tmpl, char *err, size_t errlen);

/*
 * Fill tmpl from v: a malloc'd, valid UTF-8 text of at most
 * MESSAGE_MAX_CHARS characters, control characters other than '\n' dropped
 * and outer whitespace trimmed, with the drill rule applied.  A text too
 * long has its body, then its title, shortened with "…".  NULL and err on a
 * bad template, a value that is not UTF-8, an emergency or notice that
 * would be marked as a drill, or a text still too long.
 */
char *message_render(const char *tmpl, const struct msg_vars *v, char *err,
    size_t errlen);

/* A built-in Chinese template for kind, used when the config has none. */
const char *message_default_template(enum alert_kind);
/*
 * The notice as a group robot posts it for a whole grid: no one's link
 * (each leader's follows it), the drill rule as everywhere.
 */
const char *message_group_template(enum alert_kind);

/*
 * Count text, after an optional signature (【南湖街道】) the gateway adds,
 * as Chinese SMS providers bill: GSM 03.38 text 160 septets in one part,
 * 153 a part beyond; otherwise UCS-2, 70 units in one part, 67 beyond.
 * A character is never split between parts.
 */
void sms_count(const char *text, const char *signature, struct sms_count *out);

#endif
