/*
 * compose.c - render one recipient's message.
 */
#include "compose.h"
#include "message.h"
#include "roster.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "网格长、楼栋长": the labels of the recipient's roles, each once. */
static void
compose_posts_label(json_t *posts, char *out, size_t len)
{
	bool seen[ROLE_COUNT] = { false };
	size_t i, off = 0;
	json_t *p;

	out[0] = '\0';
	json_array_foreach(posts, i, p) {
		int role = roster_role_parse(json_string_value(
		    json_object_get(p, "role")) ?: "");

		if (role < 0 || seen[role])
			continue;
		seen[role] = true;
		off += (size_t)snprintf(out + off, len > off ? len - off : 0,
		    "%s%s", off ? "、" : "", roster_role_label(role));
	}
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
	char token[ACKTOKEN_MAX], code[16], label[256];
	json_t *posts, *doc;
	struct msg_vars v;

	memset(out, 0, sizeof(*out));
	acktoken_make(in->key, r->recipient_id, token);
	snprintf(out->url, sizeof(out->url), "%s/a/%s", in->public_url, token);
	alert_code(r->alert_id, code);
	if ((posts = json_loads(r->posts, 0, NULL)) == NULL)
		posts = json_array();
	compose_posts_label(posts, label, sizeof(label));
	v = (struct msg_vars){
		.kind = a->kind, .severity = a->severity, .title = a->title,
		.body = a->body, .posts = label, .node = "", .url = out->url,
		.code = code, .when = a->created_at / 1000,
	};
	if ((out->text = message_render(in->tmpl, &v, err, errlen)) == NULL) {
		json_decref(posts);
		return -1;
	}
	doc = json_pack("{s:{s:I,s:s,s:s,s:s,s:s,s:s},s:{s:s,s:s,s:o}}",
	    "alert", "id", (json_int_t)r->alert_id, "code", code,
	    "kind", alert_kind_name(a->kind),
	    "severity", alert_severity_name(a->severity),
	    "title", a->title, "body", a->body,
	    "recipient", "name", r->name, "phone", r->phone, "posts", posts);
	out->json = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	out->target = compose_target(r->channels, in->target_key);
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
	memset(c, 0, sizeof(*c));
}
