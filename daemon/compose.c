/*
 * compose.c - render one recipient's message.
 */
#include "compose.h"
#include "message.h"
#include "plugutil.h"
#include "roster.h"

#include <stdio.h>

/* An escalation's message: the note is {body}; a drill stays marked. */
#define COMPOSE_ESC_TMPL \
	"叫应提醒（{code}）：《{title}》{body} 请回复1确认收到，或打开{url}"
/* The same as a group robot posts it, with everyone's links below. */
#define COMPOSE_ESC_GROUP_TMPL	"叫应提醒（{code}）：《{title}》\n{body}"
#include <stdlib.h>
#include <string.h>

/*
 * "网格长、楼栋长": the labels of the recipient's roles, each once.  posts
 * is the planner's own compact JSON (plan_posts_json), so its "role"
 * members are read in place rather than parsed on this hot path.
 */
static void
compose_posts_label(const char *posts, char *out, size_t len)
{
	static const char key[] = "\"role\":\"";
	bool seen[ROLE_COUNT] = { false };
	char name[32];
	size_t off = 0;
	const char *p, *q;
	int role;

	out[0] = '\0';
	for (p = posts; (p = strstr(p, key)) != NULL; p = q) {
		p += sizeof(key) - 1;
		if ((q = strchr(p, '"')) == NULL)
			break;
		if ((size_t)(q - p) >= sizeof(name))
			continue;
		memcpy(name, p, (size_t)(q - p));
		name[q - p] = '\0';
		role = roster_role_parse(name);
		if (role < 0 || seen[role])
			continue;
		seen[role] = true;
		off += (size_t)snprintf(out + off, len > off ? len - off : 0,
		    "%s%s", off ? "、" : "", roster_role_label(role));
	}
}

/* s as a JSON string: runs of plain bytes in one copy. */
static void
compose_json_str(struct pbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s, *run = p;
	char esc[8];

	pbuf_add(b, "\"", 1);
	for (; *p; p++) {
		if (*p != '"' && *p != '\\' && *p >= 0x20)
			continue;
		pbuf_add(b, (const char *)run, (size_t)(p - run));
		if (*p == '"' || *p == '\\')
			snprintf(esc, sizeof(esc), "\\%c", *p);
		else
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
		pbuf_str(b, esc);
		run = p + 1;
	}
	pbuf_add(b, (const char *)run, (size_t)(p - run));
	pbuf_add(b, "\"", 1);
}

/*
 * {"alert": {...}, "recipient": {..., "posts": [...]}, "text", "ack_url"},
 * compact, written directly (no stdio stream: this runs once a message).
 */
static char *
compose_json(const struct compose_in *in, const char *code,
    const struct composed *c)
{
	const struct dlv_row *r = in->row;
	const struct alert_brief *a = in->alert;
	const char *posts = r->posts;
	size_t plen = strlen(posts);
	struct pbuf b = { 0 };
	char id[24];

	if (plen < 2 || posts[0] != '[' || posts[plen - 1] != ']')
		posts = "[]";
	snprintf(id, sizeof(id), "%lld", (long long)r->alert_id);
	pbuf_str(&b, "{\"alert\":{\"id\":");
	pbuf_str(&b, id);
	pbuf_str(&b, ",\"code\":\"");
	pbuf_str(&b, code);
	pbuf_str(&b, "\",\"kind\":\"");
	pbuf_str(&b, alert_kind_name(a->kind));
	pbuf_str(&b, "\",\"severity\":\"");
	pbuf_str(&b, alert_severity_name(a->severity));
	pbuf_str(&b, "\",\"title\":");
	compose_json_str(&b, a->title);
	pbuf_str(&b, ",\"body\":");
	compose_json_str(&b, a->body);
	pbuf_str(&b, "},\"recipient\":{\"name\":");
	compose_json_str(&b, r->name);
	pbuf_str(&b, ",\"phone\":");
	compose_json_str(&b, r->phone);
	pbuf_str(&b, ",\"posts\":");
	pbuf_str(&b, posts);
	pbuf_str(&b, "},\"text\":");
	compose_json_str(&b, c->text);
	pbuf_str(&b, ",\"ack_url\":");
	compose_json_str(&b, c->url);
	pbuf_add(&b, "}", 1);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* The value of key in "k=v;k=v", malloc'd, or NULL. */
static char *
compose_target(const char *channels, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = channels; p != NULL && *p; ) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
			return strndup(p + klen + 1, n - klen - 1);
		p = end ? end + 1 : NULL;
	}
	return NULL;
}

int
compose(const struct compose_in *in, struct composed *out, char *err,
    size_t errlen)
{
	const struct dlv_row *r = in->row;
	const struct alert_brief *a = in->alert;
	char token[ACKTOKEN_MAX], code[16];
	struct msg_vars v;

	memset(out, 0, sizeof(*out));
	acktoken_make(in->key, r->recipient_id, token);
	snprintf(out->url, sizeof(out->url), "%s/a/%s", in->public_url, token);
	alert_code(r->alert_id, code);
	compose_posts_label(r->posts, out->posts, sizeof(out->posts));
	v = (struct msg_vars){
		.kind = a->kind, .severity = a->severity, .title = a->title,
		.body = a->body, .posts = out->posts, .node = a->node, .url = out->url,
		.code = code, .when = a->created_at / 1000,
	};
	/* Someone told by an escalation reads what it made for them. */
	if (r->note != NULL)
		v.body = r->note;
	if ((out->text = message_render(r->note != NULL ? COMPOSE_ESC_TMPL :
	    in->tmpl, &v, err, errlen)) == NULL)
		return -1;
	out->json = compose_json(in, code, out);
	out->target = compose_target(r->channels, in->target_key);
	/* A group robot: else the address another row of the grid gives. */
	if (in->by_target && out->target == NULL && r->grid_channels != NULL)
		out->target = compose_target(r->grid_channels, in->target_key);
	if (in->by_target && (out->notice = message_render(r->note != NULL ?
	    COMPOSE_ESC_GROUP_TMPL : message_group_template(a->kind), &v, err,
	    errlen)) == NULL) {
		composed_free(out);
		return -1;
	}
	if (out->json == NULL) {
		snprintf(err, errlen, "out of memory");
		composed_free(out);
		return -1;
	}
	return 0;
}

void
composed_free(struct composed *c)
{
	free(c->text);
	free(c->json);
	free(c->target);
	free(c->notice);
	memset(c, 0, sizeof(*c));
}
