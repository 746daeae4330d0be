/*
 * sms_tencent_params.c - our message as an approved template's
 * parameters (TemplateParamSet).
 *
 * Mainland SMS through Tencent must use a template approved in the
 * console, e.g. "{1}：{2}，收到请回复1。详情{3}", so the text we render is
 * not sent as such.  The channel's template_params names, in order, what
 * fills each of the template's variables: "{title},{body},{ack_url}".  An
 * item may mix literal text and fields ("{title}（{code}）").  Fields:
 *
 *   {text}      the rendered message (with 【演练】 for a drill)
 *   {title}     the alert's title        {body}      its body
 *   {name}      the recipient's name     {ack_url}   their answer link
 *   {code}      the alert's short code (for "1 A7" replies)
 *   {kind}      演练 / 突发事件 / 通知    {severity}  红色 / 橙色 / 黄色 / 蓝色
 *
 * A drill must read as one: when its first parameter does not start with
 * 【演练】 the sender puts it there (the template should start with {1}).
 */
#include "sms_tencent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const tencent_field_names[] = {
	"text", "name", "ack_url", "title", "body", "code", "kind",
	"severity", NULL,
};

/* The field named by s[0..len), or NULL when there is none. */
static const char *
tencent_field(const struct tfields *f, const char *s, size_t len)
{
	const char *const v[] = {
		f->text, f->name, f->ack_url, f->title, f->body, f->code,
		f->kind, f->severity,
	};

	for (size_t i = 0; tencent_field_names[i] != NULL; i++)
		if (strlen(tencent_field_names[i]) == len &&
		    strncmp(tencent_field_names[i], s, len) == 0)
			return v[i] != NULL ? v[i] : "";
	return NULL;
}

/* Check one item; 0, or -1 with err saying what is wrong in it. */
static int
tencent_param_check(const char *item, size_t no, char *err, size_t errlen)
{
	static const struct tfields probe = { .text = "" };
	const char *p, *close;

	if (*item == '\0') {
		snprintf(err, errlen, "sms_tencent: template_params: parameter "
		    "%zu is empty", no);
		return -1;
	}
	for (p = item; *p != '\0'; p++) {
		if (*p == '}') {
			snprintf(err, errlen, "sms_tencent: template_params: "
			    "parameter %zu has a '}' without its '{'", no);
			return -1;
		}
		if (*p != '{')
			continue;
		if ((close = strchr(p, '}')) == NULL ||
		    tencent_field(&probe, p + 1, (size_t)(close - p - 1)) ==
		    NULL) {
			snprintf(err, errlen, "sms_tencent: template_params: "
			    "parameter %zu: \"%.40s\" is not one of {text} "
			    "{title} {body} {name} {ack_url} {code} {kind} "
			    "{severity}", no, p);
			return -1;
		}
		p = close;
	}
	return 0;
}

void
tencent_params_free(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

int
tencent_params_parse(const char *spec, char ***out, size_t *n, char *err,
    size_t errlen)
{
	char **v = NULL;
	const char *p = spec, *end;
	size_t len, k = 0;

	*out = NULL;
	*n = 0;
	if (spec[strspn(spec, " \t")] == '\0')
		return 0;			/* a template without variables */
	if ((v = calloc(TENCENT_MAX_PARAMS, sizeof(*v))) == NULL)
		goto oom;
	for (;; p = end + 1) {
		end = p + strcspn(p, ",");
		p += strspn(p, " \t");
		for (len = (size_t)(end - p); len > 0 && (p[len - 1] == ' ' ||
		    p[len - 1] == '\t'); len--)
			;
		if (k == TENCENT_MAX_PARAMS) {
			snprintf(err, errlen, "sms_tencent: template_params: "
			    "more than %d parameters", TENCENT_MAX_PARAMS);
			goto fail;
		}
		if ((v[k] = strndup(p, len)) == NULL)
			goto oom;
		k++;
		if (tencent_param_check(v[k - 1], k, err, errlen) == -1)
			goto fail;
		if (*end == '\0')
			break;
	}
	*out = v;
	*n = k;
	return 0;
oom:
	snprintf(err, errlen, "sms_tencent: out of memory");
fail:
	tencent_params_free(v, k);
	return -1;
}

void
tencent_param_expand(const char *spec, const struct tfields *f,
    struct pbuf *b)
{
	const char *p, *close, *v;

	pbuf_add(b, "", 0);
	for (p = spec; *p != '\0'; p++) {
		if (*p != '{' || (close = strchr(p, '}')) == NULL ||
		    (v = tencent_field(f, p + 1, (size_t)(close - p - 1))) ==
		    NULL) {
			pbuf_add(b, p, 1);
			continue;
		}
		pbuf_str(b, v);
		p = close;
	}
}

/* ---- a message's fields --------------------------------------------- */

static const char *
tencent_kind_zh(const char *kind)
{
	if (kind == NULL)
		return NULL;
	if (strcmp(kind, "drill") == 0)
		return "演练";
	if (strcmp(kind, "emergency") == 0)
		return "突发事件";
	if (strcmp(kind, "notice") == 0)
		return "通知";
	return kind;
}

static const char *
tencent_severity_zh(const char *sev)
{
	static const char *const map[][2] = {
		{ "red", "红色" }, { "orange", "橙色" }, { "yellow", "黄色" },
		{ "blue", "蓝色" },
	};

	for (size_t i = 0; sev != NULL && i < 4; i++)
		if (strcmp(sev, map[i][0]) == 0)
			return map[i][1];
	return sev;
}

int
tencent_fields(const struct sz_msg *m, struct tfields *f, void **jsonp)
{
	const char *kind = NULL;
	json_t *root = NULL, *a;

	memset(f, 0, sizeof(*f));
	*jsonp = NULL;
	f->text = m->text;
	f->name = m->name;
	f->ack_url = m->ack_url;
	if (m->json != NULL) {
		if ((root = json_loads(m->json, 0, NULL)) == NULL ||
		    !json_is_object(root)) {
			json_decref(root);
			return -1;
		}
		*jsonp = root;
		a = json_object_get(root, "alert");
		f->title = json_string_value(json_object_get(a, "title"));
		f->body = json_string_value(json_object_get(a, "body"));
		f->code = json_string_value(json_object_get(a, "code"));
		kind = json_string_value(json_object_get(a, "kind"));
		f->kind = tencent_kind_zh(kind);
		f->severity = tencent_severity_zh(json_string_value(
		    json_object_get(a, "severity")));
	}
	f->drill = (kind != NULL && strcmp(kind, "drill") == 0) ||
	    (m->text != NULL && strncmp(m->text, TENCENT_DRILL_MARK,
	    strlen(TENCENT_DRILL_MARK)) == 0);
	return 0;
}

void
tencent_fields_free(void *json)
{
	json_decref(json);
}
