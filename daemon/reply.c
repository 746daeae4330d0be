/*
 * reply.c - reading an SMS reply, and what to text back when it cannot
 * be taken as an answer.
 */
#include "reply.h"
#include "alert.h"
#include "message.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLY_TEXT_MAX	600	/* bytes of one reply text (UTF-8) */
#define REPLY_TITLE_MAX	12	/* characters of a title in a list */
#define REPLY_LIST_MAX	5	/* alerts listed */

/* Words that mean "the first option" (收到). */
static const char *const reply_yes[] = {
	"收到", "确认", "已收到", "收到了", "好", "好的", "明白", "是",
	"ok", "y", "yes", NULL,
};

/* The code point at *p (advancing it), or -1 at the end or on bad UTF-8. */
static long
reply_utf8(const unsigned char **p)
{
	const unsigned char *s = *p;
	long c;
	int n;

	if (*s == 0)
		return -1;
	if (*s < 0x80) {
		*p = s + 1;
		return *s;
	}
	n = (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 :
	    (*s & 0xf8) == 0xf0 ? 3 : -1;
	if (n < 0)
		return -1;
	c = *s & (0x3f >> n);
	for (int i = 1; i <= n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (s[i] & 0x3f);
	}
	*p = s + n + 1;
	return c;
}

static void
reply_put(char *buf, size_t len, size_t *off, long c)
{
	char u[4];
	int n;

	if (c < 0x80) {
		u[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		u[0] = (char)(0xc0 | c >> 6);
		u[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		u[0] = (char)(0xe0 | c >> 12);
		u[1] = (char)(0x80 | (c >> 6 & 0x3f));
		u[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | c >> 18);
		u[1] = (char)(0x80 | (c >> 12 & 0x3f));
		u[2] = (char)(0x80 | (c >> 6 & 0x3f));
		u[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	if (*off + (size_t)n < len) {
		memcpy(buf + *off, u, (size_t)n);
		*off += (size_t)n;
		buf[*off] = '\0';
	}
}

/*
 * Full-width forms to ASCII, ASCII letters to lower case, and every
 * punctuation mark or space (ASCII or CJK) to one blank; -1 on bad UTF-8.
 */
static int
reply_normalise(const char *in, char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t off = 0;
	long c;

	out[0] = '\0';
	while ((c = reply_utf8(&p)) != -1) {
		if (c >= 0xff01 && c <= 0xff5e)
			c -= 0xfee0;
		if (c < 0x80 && isalnum((int)c))
			c = tolower((int)c);
		else if (c < 0x80 || c == 0x3000 || (c >= 0x3001 &&
		    c <= 0x303f) || (c >= 0xff00 && c <= 0xffef) ||
		    c == 0x2018 || c == 0x2019 || c == 0x201c || c == 0x201d)
			c = ' ';
		if (c == ' ' && (off == 0 || out[off - 1] == ' '))
			continue;
		reply_put(out, len, &off, c);
	}
	if (*p != 0)
		return -1;
	while (off > 0 && out[off - 1] == ' ')
		out[--off] = '\0';
	return 0;
}

/* "7", "12": a number from 1; 0 when tok is not one. */
static int
reply_number(const char *tok)
{
	size_t n = strlen(tok);

	if (n == 0 || n > 3 || strspn(tok, "0123456789") != n)
		return 0;
	return atoi(tok);
}

/* One blank-separated token into r. */
static void
reply_token(char *tok, struct reply_req *r)
{
	size_t digits = strspn(tok, "0123456789");
	int64_t code;

	/* "1a7": an answer glued to a code. */
	if (digits > 0 && digits <= 3 && tok[digits] == 'a' &&
	    (code = alert_code_parse(tok + digits)) >= 0 && r->alert_id < 0) {
		r->alert_id = code;
		tok[digits] = '\0';
	} else if (tok[0] == 'a' && r->alert_id < 0 &&
	    (code = alert_code_parse(tok)) >= 0) {
		r->alert_id = code;
		return;
	}
	if (r->option == 0 && (r->option = reply_number(tok)) > 0)
		return;
	/* Chinese is written without blanks: the rest joins up. */
	if (strlen(r->word) + strlen(tok) < sizeof(r->word))
		strcat(r->word, tok);
}

int
reply_parse(const char *text, struct reply_req *out)
{
	char norm[256], *tok, *save;

	memset(out, 0, sizeof(*out));
	out->alert_id = -1;
	if (strlen(text) >= sizeof(norm) ||
	    reply_normalise(text, norm, sizeof(norm)) != 0 || norm[0] == '\0')
		return -1;
	for (tok = strtok_r(norm, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		reply_token(tok, out);
	return 0;
}

int
reply_option(const struct reply_req *r, const char *responses_json)
{
	json_t *resp = json_loads(responses_json, 0, NULL), *v;
	int n = ack_n_responses(responses_json), found = 0;
	char label[REPLY_WORD_MAX * 2];
	size_t i;

	/* A number wins over words ("1 收到", "2 需要支援"). */
	if (r->option > 0) {
		json_decref(resp);
		return r->option <= n ? r->option : 0;
	}
	json_array_foreach(resp, i, v)
		if (!found && json_is_string(v) && reply_normalise(
		    json_string_value(v), label, sizeof(label)) == 0 &&
		    strcmp(label, r->word) == 0)
			found = (int)i + 1;
	json_decref(resp);
	for (i = 0; !found && reply_yes[i] != NULL; i++)
		if (strcmp(reply_yes[i], r->word) == 0)
			found = 1;
	return found;
}

void
reply_decide(const struct reply_req *r, const struct reply_cand *c, size_t n,
    struct reply_decision *out)
{
	size_t open = 0, k;

	memset(out, 0, sizeof(*out));
	if (n == 0) {
		out->verdict = REPLY_NONE_OPEN;
		return;
	}
	if (r->alert_id >= 0) {
		for (k = 0; k < n && c[k].alert_id != r->alert_id; k++)
			;
		if (k == n) {
			out->verdict = REPLY_NO_SUCH_CODE;
			return;
		}
	} else if (n == 1) {
		k = 0;
	} else {
		/* Several: the one they have not answered yet, if alone. */
		for (size_t i = 0; i < n; i++)
			if (c[i].state != RCPT_ACKED) {
				open++;
				k = i;
			}
		if (open != 1) {
			out->verdict = REPLY_AMBIGUOUS;
			return;
		}
	}
	out->chosen = k;
	out->option = reply_option(r, c[k].responses);
	out->verdict = out->option > 0 ? REPLY_ACK : REPLY_UNRECOGNIZED;
}

/* Up to max characters of s. */
static void
reply_cut(char *buf, size_t len, const char *s, int max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t off = 0;
	long ch;

	buf[0] = '\0';
	for (int i = 0; i < max && (ch = reply_utf8(&p)) != -1; i++)
		reply_put(buf, len, &off, ch);
	if (*p != 0 && off + 3 < len)
		strcat(buf, "…");
}

/* "A7 消防疏散演练；A9 停水通知" */
static void
reply_list(char *buf, size_t len, const struct reply_cand *c, size_t n)
{
	char code[16], title[64];
	size_t off = strlen(buf);

	for (size_t i = 0; i < n && i < REPLY_LIST_MAX; i++) {
		alert_code(c[i].alert_id, code);
		reply_cut(title, sizeof(title), c[i].title, REPLY_TITLE_MAX);
		off += (size_t)snprintf(buf + off, len > off ? len - off : 0,
		    "%s%s %s", i ? "；" : "", code, title);
		if (off >= len)
			return;
	}
}

/* "1 收到，2 已通知到户" */
static void
reply_options(char *buf, size_t len, const char *responses_json)
{
	json_t *resp = json_loads(responses_json, 0, NULL), *v;
	size_t i, off = strlen(buf);

	json_array_foreach(resp, i, v) {
		off += (size_t)snprintf(buf + off, len > off ? len - off : 0,
		    "%s%zu %s", i ? "，" : "", i + 1, json_string_value(v) ?: "");
		if (off >= len)
			break;
	}
	json_decref(resp);
}

char *
reply_text(const struct reply_decision *d, const struct reply_req *r,
    const struct reply_cand *c, size_t n)
{
	char buf[REPLY_TEXT_MAX], code[16], eg[16];
	bool drills = n > 0;

	for (size_t i = 0; i < n; i++)
		drills = drills && c[i].kind == ALERT_DRILL;
	/* A reply about drills only is marked like them. */
	snprintf(buf, sizeof(buf), "%s", drills ? MESSAGE_DRILL_MARK : "");
	switch (d->verdict) {
	case REPLY_NO_SUCH_CODE:
		alert_code(r->alert_id, code);
		alert_code(c[0].alert_id, eg);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "没有编号为%s的待回复通知。您的通知：", code);
		reply_list(buf, sizeof(buf), c, n);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "。请回复“1 %s”确认收到。", eg);
		break;
	case REPLY_AMBIGUOUS:
		alert_code(c[0].alert_id, eg);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "您有%zu条通知：", n);
		reply_list(buf, sizeof(buf), c, n);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "。请在回复中写明编号，如“1 %s”。", eg);
		break;
	case REPLY_UNRECOGNIZED:
		alert_code(c[d->chosen].alert_id, code);
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
		    "未能识别您对%s的回复。请回复数字：", code);
		reply_options(buf, sizeof(buf), c[d->chosen].responses);
		strncat(buf, "。", sizeof(buf) - strlen(buf) - 1);
		break;
	default:
		return NULL;	/* answered, or nothing open: nothing to say */
	}
	return strdup(buf);
}

void
reply_cands_free(struct reply_cand *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].title);
		free(c[i].responses);
	}
	free(c);
}
