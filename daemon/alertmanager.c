/*
 * alertmanager.c - Prometheus Alertmanager's webhook (payload version 4)
 * mapped to alerts (alertmanager.h); api_alertmanager.c serves it.  The
 * mapping, from each notification's
 * commonLabels (else the first alert's labels) and annotations:
 *
 *   sanzhang_targets   node codes, separated by commas or blanks
 *                      (required; the union over the group's alerts)
 *   sanzhang_kind      emergency (default), drill or notice
 *   sanzhang_severity  red, orange, yellow or blue; else from `severity`:
 *                      critical/page -> red, error/major/high -> orange,
 *                      warning/minor/medium -> yellow, info/low -> blue;
 *                      default orange
 *   sanzhang_roles     post roles (default: the API's default)
 *   sanzhang_escalation  an escalation policy of the config
 *   sanzhang_on_resolve  cancel (default), notice (send 解除 to the same
 *                      targets) or ignore
 *   annotations summary -> title (else alertname), description -> body,
 *   both cut to the API's limits.
 *
 * One alert per firing episode of a group: the Idempotency-Key is made of
 * the receiver, the groupKey and the earliest startsAt, so Alertmanager's
 * repeated notifications (repeat_interval, retries) create nothing new,
 * and the same group firing again later is a new alert.
 */
#include "alertmanager.h"

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define AM_MAX_TARGETS	200
#define AM_TITLE_MAX	60	/* characters, as the API takes */
#define AM_BODY_MAX	500

enum am_resolve { AM_RESOLVE_CANCEL = 0, AM_RESOLVE_NOTICE, AM_RESOLVE_IGNORE };

/* A label: the group's common one, else the first alert's. */
static const char *
am_label(json_t *doc, const char *name)
{
	const char *v = json_string_value(json_object_get(
	    json_object_get(doc, "commonLabels"), name));

	if (v == NULL)
		v = json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(doc, "alerts"), 0),
		    "labels"), name));
	return v;
}

static const char *
am_annotation(json_t *doc, const char *name)
{
	const char *v = json_string_value(json_object_get(
	    json_object_get(doc, "commonAnnotations"), name));

	if (v == NULL)
		v = json_string_value(json_object_get(json_object_get(
		    json_array_get(json_object_get(doc, "alerts"), 0),
		    "annotations"), name));
	return v;
}

/* s cut to at most max UTF-8 characters, as a new JSON string. */
static json_t *
am_cut(const char *s, size_t max)
{
	size_t i = 0, n = 0;

	while (s[i] != '\0' && n < max) {
		i++;
		while (((unsigned char)s[i] & 0xc0) == 0x80)
			i++;
		n++;
	}
	return json_stringn(s, i);
}

/* Split "a, b c" into the array targets, skipping repeats. */
static int
am_add_targets(json_t *targets, const char *list)
{
	char buf[4096], *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ", \t;", &save); t != NULL;
	    t = strtok_r(NULL, ", \t;", &save)) {
		size_t i;
		json_t *v;
		bool seen = false;

		json_array_foreach(targets, i, v)
			seen |= strcmp(json_string_value(v), t) == 0;
		if (!seen && (json_array_size(targets) >= AM_MAX_TARGETS ||
		    json_array_append_new(targets, json_string(t)) != 0))
			return -1;
	}
	return 0;
}

/* sanzhang_targets of every alert of the group (and the common one). */
static json_t *
am_targets(json_t *doc, char *why, size_t len)
{
	json_t *targets = json_array(), *a;
	const char *common = json_string_value(json_object_get(
	    json_object_get(doc, "commonLabels"), "sanzhang_targets"));
	size_t i;

	if (targets == NULL || (common && am_add_targets(targets, common)))
		goto bad;
	json_array_foreach(json_object_get(doc, "alerts"), i, a) {
		const char *t = json_string_value(json_object_get(
		    json_object_get(a, "labels"), "sanzhang_targets"));

		if (t != NULL && am_add_targets(targets, t) != 0)
			goto bad;
	}
	if (json_array_size(targets) > 0)
		return targets;
	snprintf(why, len, "no sanzhang_targets label: label the alerting rule "
	    "with the node codes to alert, e.g. sanzhang_targets="
	    "\"220104001001\"");
	json_decref(targets);
	return NULL;
bad:
	snprintf(why, len, "sanzhang_targets: at most %d node codes, each "
	    "label under 4096 bytes", AM_MAX_TARGETS);
	json_decref(targets);
	return NULL;
}

static const char *
am_severity(json_t *doc)
{
	static const struct {
		const char	*from;
		const char	*to;
	} map[] = {
		{ "critical", "red" }, { "page", "red" },
		{ "error", "orange" }, { "major", "orange" }, { "high", "orange" },
		{ "warning", "yellow" }, { "minor", "yellow" },
		{ "medium", "yellow" },
		{ "info", "blue" }, { "low", "blue" },
	};
	const char *v = am_label(doc, "sanzhang_severity");

	if (v != NULL)
		return v;	/* checked by the alert's own validation */
	if ((v = am_label(doc, "severity")) != NULL)
		for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcasecmp(v, map[i].from) == 0)
				return map[i].to;
	return "orange";
}

/*
 * The episode's key: receiver, groupKey and the earliest startsAt
 * (RFC 3339 strings of one zone compare as text).
 */
static int
am_key(json_t *doc, char out[AM_KEY_MAX], char *why, size_t len)
{
	const char *group = json_string_value(json_object_get(doc, "groupKey"));
	const char *recv = json_string_value(json_object_get(doc, "receiver"));
	const char *first = NULL;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char buf[8192];
	json_t *a;
	size_t i;
	int n;

	json_array_foreach(json_object_get(doc, "alerts"), i, a) {
		const char *s = json_string_value(json_object_get(a,
		    "startsAt"));

		if (s != NULL && (first == NULL || strcmp(s, first) < 0))
			first = s;
	}
	if (group == NULL || first == NULL) {
		snprintf(why, len, "a version 4 notification has a groupKey and "
		    "alerts with startsAt");
		return -1;
	}
	n = snprintf(buf, sizeof(buf), "%s\n%s\n%s", recv ? recv : "", group,
	    first);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    EVP_Digest(buf, (size_t)n, md, &mdlen, EVP_sha256(), NULL) != 1) {
		snprintf(why, len, "groupKey too long");
		return -1;
	}
	memcpy(out, "am-", 3);
	for (i = 0; i < AM_KEY_LEN / 2; i++)
		snprintf(out + 3 + 2 * i, 3, "%02x", md[i]);
	return 0;
}

/* The request POST /v1/alerts would take for this notification. */
static json_t *
am_alert_doc(json_t *doc, bool resolved, char *why, size_t len)
{
	const char *title = am_annotation(doc, "summary");
	const char *body = am_annotation(doc, "description");
	const char *kind = am_label(doc, "sanzhang_kind");
	const char *roles = am_label(doc, "sanzhang_roles");
	const char *esc = am_label(doc, "sanzhang_escalation");
	char t[512], b[2048];
	json_t *out, *targets;

	if (title == NULL)
		title = am_label(doc, "alertname");
	if (title == NULL)
		title = "监测告警";
	if (body == NULL)
		body = title;
	if ((targets = am_targets(doc, why, len)) == NULL)
		return NULL;
	/* 解除: the all-clear goes out as a notice to the same people. */
	snprintf(t, sizeof(t), "%s%s", resolved ? "解除：" : "", title);
	snprintf(b, sizeof(b), "%s%s", resolved ? "已解除。" : "", body);
	out = json_pack("{s:s,s:s,s:o,s:o,s:o}",
	    "kind", resolved ? "notice" : kind ? kind : "emergency",
	    "severity", resolved ? "blue" : am_severity(doc),
	    "title", am_cut(t, AM_TITLE_MAX), "body", am_cut(b, AM_BODY_MAX),
	    "targets", targets);
	if (out != NULL && roles != NULL) {
		json_t *r = json_array();

		if (am_add_targets(r, roles) != 0) {	/* same splitting */
			json_decref(r);
			json_decref(out);
			snprintf(why, len, "sanzhang_roles: too long");
			return NULL;
		}
		json_object_set_new(out, "roles", r);
	}
	if (out != NULL && esc != NULL && !resolved)
		json_object_set_new(out, "escalation", json_string(esc));
	if (out == NULL)
		snprintf(why, len, "out of memory");
	return out;
}

static int
am_on_resolve(json_t *doc, enum am_resolve *how, char *why, size_t len)
{
	const char *v = am_label(doc, "sanzhang_on_resolve");

	*how = AM_RESOLVE_CANCEL;
	if (v == NULL || strcmp(v, "cancel") == 0)
		return 0;
	if (strcmp(v, "notice") == 0)
		*how = AM_RESOLVE_NOTICE;
	else if (strcmp(v, "ignore") == 0)
		*how = AM_RESOLVE_IGNORE;
	else {
		snprintf(why, len, "sanzhang_on_resolve must be cancel, notice or "
		    "ignore");
		return -1;
	}
	return 0;
}

int
am_decide(json_t *doc, struct am_decision *out, char *why, size_t len)
{
	const char *version = json_string_value(json_object_get(doc, "version"));
	const char *status = json_string_value(json_object_get(doc, "status"));
	json_t *alerts = json_object_get(doc, "alerts");
	enum am_resolve how;
	bool resolved;

	memset(out, 0, sizeof(*out));
	if (version == NULL || strcmp(version, "4") != 0) {
		snprintf(why, len, "version must be \"4\" (Alertmanager's "
		    "webhook payload)");
		return -1;
	}
	if (status == NULL || (strcmp(status, "firing") != 0 &&
	    strcmp(status, "resolved") != 0)) {
		snprintf(why, len, "status must be firing or resolved");
		return -1;
	}
	if (!json_is_array(alerts) || json_array_size(alerts) == 0) {
		snprintf(why, len, "alerts must be a non-empty array");
		return -1;
	}
	if (am_key(doc, out->key, why, len) != 0 ||
	    am_on_resolve(doc, &how, why, len) != 0)
		return -1;
	resolved = strcmp(status, "resolved") == 0;
	if (resolved && how == AM_RESOLVE_IGNORE) {
		out->action = AM_IGNORE;
		return 0;
	}
	if (resolved && how == AM_RESOLVE_CANCEL) {
		out->action = AM_CANCEL;
		return 0;
	}
	if ((out->req = am_alert_doc(doc, resolved, why, len)) == NULL)
		return -1;
	if (resolved)
		strcat(out->key, "-resolved");
	out->action = AM_CREATE;
	return 0;
}
