/*
 * api_alerts.c - POST /v1/alerts, GET /v1/alerts[/ID[/recipients]] and
 * POST /v1/alerts/ID/cancel.
 *
 * A request is checked on the loop (cheap: JSON of a few KB), then planned
 * and stored by the writer in one durable transaction with its audit row;
 * 201 is answered only after that commit.
 */
#include "api.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "http.h"
#include "log.h"
#include "message.h"
#include "quiet.h"
#include "roster.h"
#include "store.h"

#include <event2/buffer.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define ALERT_MAX_BODY		(64 * 1024)
#define ALERT_MAX_TARGETS	2000	/* a city has ~150 streets */
#define ALERT_MAX_TITLE		60	/* characters */
#define ALERT_MAX_TEXT		500
#define ALERT_MAX_RESPONSES	9
#define ALERT_MAX_RESPONSE	20
#define ALERT_DEF_EXPIRES	86400
#define ALERT_MAX_EXPIRES	(7 * 86400)
#define ALERT_MAX_IDEM		128
#define ALERT_DEF_ROLES		((1u << ROLE_GRID_LEADER) | \
	(1u << ROLE_BUILDING_LEADER) | (1u << ROLE_UNIT_LEADER) | \
	(1u << ROLE_VILLAGER_REP))
/* A link as long as the real ones will be, for counting SMS parts. */
#define ALERT_SAMPLE_TOKEN	"AAAAAAAAAAAAAAAAAAAAAAAAAA"

struct create {
	struct req		*rq;
	json_t			*doc;		/* the request; strings point in */
	struct alert_new	 a;
	const char		*named[ALERT_MAX_TARGETS];
	const char		*targets[ALERT_MAX_TARGETS];
	char			*targets_json, *roles_json, *responses_json;
	char			 idem[ALERT_MAX_IDEM + 1];
	int			 sms_parts;
	struct alert_created	 out;
};

static void
create_free(struct create *c)
{
	json_decref(c->doc);
	free(c->targets_json);
	free(c->roles_json);
	free(c->responses_json);
	free(c->out.vacancies);
	free(c);
}

/* 400 invalid_alert naming the field. */
static void
alert_invalid(struct req *rq, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
alert_invalid(struct req *rq, const char *field, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	http_reply_json(rq, 400, json_pack("{s:{s:s,s:s,s:s}}", "error", "code",
	    "invalid_alert", "message", msg, "field", field));
}

static size_t
utf8_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* A required or optional string of 1..max characters. */
static int
get_text(struct req *rq, json_t *doc, const char *key, size_t max, bool need,
    const char **out)
{
	json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL && !need)
		return 0;
	if (v == NULL) {
		alert_invalid(rq, key, "%s is required", key);
		return -1;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    utf8_chars(json_string_value(v)) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		alert_invalid(rq, key, "%s must be a string of 1 to %zu "
		    "characters", key, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* targets: node codes in scope; a target inside another is dropped. */
static int
get_targets(struct create *c)
{
	json_t *v = json_object_get(c->doc, "targets"), *e;
	size_t i, n = 0;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ALERT_MAX_TARGETS) {
		alert_invalid(c->rq, "targets", "targets must be an array of 1 to "
		    "%d node codes", ALERT_MAX_TARGETS);
		return -1;
	}
	json_array_foreach(v, i, e) {
		const char *code = json_string_value(e);

		if (code == NULL || roster_code_kind(code) < 0) {
			alert_invalid(c->rq, "targets", "targets[%zu] is not a "
			    "node code", i);
			return -1;
		}
		if (!http_caller_covers(&c->rq->who, code)) {
			http_deny(c->rq, code, NULL, "node %s is outside the scope "
			    "of token '%s'", code, c->rq->who.name);
			return -1;
		}
		c->named[n] = c->targets[n] = code;
		n++;
	}
	c->a.named = c->named;
	c->a.n_named = n;
	for (i = 0; i < n; i++) {
		bool covered = false;

		for (size_t j = 0; j < n && !covered; j++)
			covered = j != i && c->targets[j] != NULL &&
			    roster_code_covers(c->targets[j], c->targets[i]) &&
			    (strcmp(c->targets[j], c->targets[i]) != 0 || j < i);
		if (covered)
			c->targets[i] = NULL;
	}
	for (i = 0; i < n; i++)
		if (c->targets[i] != NULL)
			c->targets[c->a.n_targets++] = c->targets[i];
	c->a.targets = c->targets;
	c->targets_json = json_dumps(v, JSON_COMPACT);
	return 0;
}

static int
get_roles(struct create *c)
{
	json_t *v = json_object_get(c->doc, "roles"), *e;
	size_t i;
	int role;

	c->a.roles = 0;
	if (v == NULL) {
		c->a.roles = ALERT_DEF_ROLES;
		v = json_pack("[s,s,s,s]", "grid_leader", "building_leader",
		    "unit_leader", "villager_rep");
		c->roles_json = json_dumps(v, JSON_COMPACT);
		json_decref(v);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		alert_invalid(c->rq, "roles", "roles must be a non-empty array of "
		    "role names");
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    (role = roster_role_parse(json_string_value(e))) < 0) {
			alert_invalid(c->rq, "roles", "roles[%zu] is not one of "
			    "grid_leader, building_leader, unit_leader, "
			    "villager_rep, duty_officer", i);
			return -1;
		}
		c->a.roles |= 1u << role;
	}
	c->roles_json = json_dumps(v, JSON_COMPACT);
	return 0;
}

static int
get_responses(struct create *c)
{
	json_t *v = json_object_get(c->doc, "responses"), *e, *def = NULL;
	size_t i;

	if (v == NULL)
		v = def = json_pack("[s]", "收到");
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ALERT_MAX_RESPONSES) {
		alert_invalid(c->rq, "responses", "responses must be an array of "
		    "1 to %d answers", ALERT_MAX_RESPONSES);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    utf8_chars(json_string_value(e)) > ALERT_MAX_RESPONSE) {
			alert_invalid(c->rq, "responses", "responses[%zu] must be "
			    "1 to %d characters", i, ALERT_MAX_RESPONSE);
			return -1;
		}
	}
	c->responses_json = json_dumps(v, JSON_COMPACT);
	json_decref(def);
	return 0;
}

static bool
escalation_known(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_escalation; i++)
		if (strcmp(cfg->escalation[i].name, name) == 0)
			return true;
	return false;
}

static int
get_kind_etc(struct create *c)
{
	const struct config *cfg = c->rq->d->cfg;
	const char *kind, *sev, *esc;
	json_t *v;

	if (get_text(c->rq, c->doc, "kind", 16, true, &kind) != 0)
		return -1;
	if ((c->a.kind = alert_kind_parse(kind)) < 0) {
		alert_invalid(c->rq, "kind", "kind must be emergency, drill or "
		    "notice");
		return -1;
	}
	if (get_text(c->rq, c->doc, "severity", 16, c->a.kind != ALERT_NOTICE,
	    &sev) != 0)
		return -1;
	c->a.severity = sev ? alert_severity_parse(sev) : SEV_BLUE;
	if ((int)c->a.severity < 0) {
		alert_invalid(c->rq, "severity", "severity must be red, orange, "
		    "yellow or blue");
		return -1;
	}
	if (get_text(c->rq, c->doc, "escalation", 64, false, &esc) != 0)
		return -1;
	if (esc == NULL)
		esc = escalation_known(cfg, kind) ? kind : "none";
	if (strcmp(esc, "none") != 0 && !escalation_known(cfg, esc)) {
		alert_invalid(c->rq, "escalation", "no escalation policy \"%s\" in "
		    "the configuration", esc);
		return -1;
	}
	c->a.escalation = esc;
	/* The steps go into the store with the alert: later config changes
	 * do not move an alert's timers. */
	for (size_t i = 0; i < cfg->n_escalation; i++) {
		const struct cfg_escalation *e = &cfg->escalation[i];

		if (strcmp(e->name, esc) != 0)
			continue;
		for (size_t k = 0; k < e->n_steps && k < ALERT_MAX_ESC; k++)
			c->a.esc[c->a.n_esc++] = (struct alert_esc){
			    .after = e->steps[k].after,
			    .action = e->steps[k].action };
	}
	v = json_object_get(c->doc, "expires_in");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 60 ||
	    json_integer_value(v) > ALERT_MAX_EXPIRES)) {
		alert_invalid(c->rq, "expires_in", "expires_in must be 60 to %d "
		    "seconds", ALERT_MAX_EXPIRES);
		return -1;
	}
	c->a.expires_at = c->a.created_at + 1000 *
	    (v ? json_integer_value(v) : ALERT_DEF_EXPIRES);
	return 0;
}

/*
 * Each role's first channel from the config's routing.  A targeted role
 * without one could reach nobody: refuse rather than accept in vain.
 */
static int
get_routes(struct create *c)
{
	const struct config *cfg = c->rq->d->cfg;

	for (size_t i = 0; i < cfg->n_routing; i++) {
		int role = roster_role_parse(cfg->routing[i].role);

		if (role >= 0 && cfg->routing[i].n_channels > 0)
			c->a.route[role] = cfg->routing[i].channels[0];
	}
	for (int role = 0; role < ROLE_COUNT; role++) {
		if ((c->a.roles & (1u << role)) && c->a.route[role] == NULL) {
			http_reply_json(c->rq, 409, json_pack("{s:{s:s,s:s,s:s}}",
			    "error", "code", "no_route", "message", "no channel "
			    "is routed for this role: add it to routing in the "
			    "configuration", "role", roster_role_name(role)));
			return -1;
		}
	}
	/* Emergencies go ahead of drills, drills ahead of notices. */
	c->a.priority = c->a.kind == ALERT_EMERGENCY ? 0 :
	    c->a.kind == ALERT_DRILL ? 1 : 2;
	/* A notice made in quiet hours waits for their end; nothing else. */
	if (c->a.kind == ALERT_NOTICE)
		c->a.send_at = quiet_until(&c->rq->d->cfg->quiet,
		    c->a.created_at);
	return 0;
}

static const char *
template_for(const struct config *cfg, int kind)
{
	for (size_t i = 0; i < cfg->n_templates; i++)
		if (strcmp(cfg->templates[i].kind, alert_kind_name(kind)) == 0)
			return cfg->templates[i].text;
	return message_default_template(kind);
}

/* Render once as a leader would get it: the drill rule, and SMS parts. */
static int
check_render(struct create *c)
{
	const struct config *cfg = c->rq->d->cfg;
	struct msg_vars v = {
		.kind = c->a.kind, .severity = c->a.severity,
		.title = c->a.title, .body = c->a.body,
		.posts = "网格长、楼栋长", .node = "社区", .code = "AZZZZ",
		.when = c->a.created_at / 1000,
	};
	char url[512], err[256], *text;
	struct sms_count n;

	snprintf(url, sizeof(url), "%s/a/%s", cfg->public_url,
	    ALERT_SAMPLE_TOKEN);
	v.url = url;
	if ((text = message_render(template_for(cfg, c->a.kind), &v, err,
	    sizeof(err))) == NULL) {
		alert_invalid(c->rq, "title", "%s", err);
		return -1;
	}
	sms_count(text, NULL, &n);
	c->sms_parts = n.parts;
	free(text);
	return 0;
}

static const char *const alert_keys[] = {
	"kind", "severity", "title", "body", "targets", "roles", "responses",
	"escalation", "expires_in", NULL,
};

static int
check_keys(struct create *c)
{
	const char *key;
	json_t *v;

	json_object_foreach(c->doc, key, v) {
		size_t i;

		for (i = 0; alert_keys[i] && strcmp(alert_keys[i], key); i++)
			;
		if (alert_keys[i] == NULL) {
			alert_invalid(c->rq, key, "unknown key \"%.40s\"", key);
			return -1;
		}
	}
	return 0;
}

/* The Idempotency-Key header, when given, must be sane. */
static int
get_idem(struct create *c)
{
	const char *k = evhttp_find_header(
	    evhttp_request_get_input_headers(c->rq->r), "Idempotency-Key");
	size_t n;

	if (c->idem[0] != '\0') {	/* given by the caller (a source) */
		c->a.idem_key = c->idem;
		return 0;
	}
	if (k == NULL)
		return 0;
	n = strlen(k);
	for (size_t i = 0; i < n; i++)
		if (k[i] < 0x21 || k[i] > 0x7e)
			n = 0;
	if (n == 0 || n > ALERT_MAX_IDEM) {
		alert_invalid(c->rq, "Idempotency-Key", "Idempotency-Key must be "
		    "1 to %d printable ASCII characters", ALERT_MAX_IDEM);
		return -1;
	}
	memcpy(c->idem, k, n + 1);
	c->a.idem_key = c->idem;
	return 0;
}

static int
create_read(struct create *c)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(c->rq->r);
	size_t len = evbuffer_get_length(in);
	json_error_t jerr;

	if (len > ALERT_MAX_BODY) {
		http_reply_error(c->rq, 413, "payload_too_large", "an alert "
		    "request is at most %d bytes", ALERT_MAX_BODY);
		return -1;
	}
	c->doc = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(c->doc)) {
		http_reply_error(c->rq, 400, "invalid_json", "body must be a JSON "
		    "object (line %d column %d: %s)", jerr.line, jerr.column,
		    c->doc ? "not an object" : jerr.text);
		return -1;
	}
	return 0;
}

static int
create_parse(struct create *c)
{
	c->a.created_at = alert_now_ms();
	c->a.actor = c->rq->who.name;
	if (check_keys(c) != 0 || get_kind_etc(c) != 0 ||
	    get_text(c->rq, c->doc, "title", ALERT_MAX_TITLE, true,
	    &c->a.title) != 0 ||
	    get_text(c->rq, c->doc, "body", ALERT_MAX_TEXT, true,
	    &c->a.body) != 0 ||
	    get_targets(c) != 0 || get_roles(c) != 0 || get_responses(c) != 0 ||
	    get_idem(c) != 0 || check_render(c) != 0 || get_routes(c) != 0)
		return -1;
	c->a.targets_json = c->targets_json;
	c->a.roles_json = c->roles_json;
	c->a.responses_json = c->responses_json;
	return 0;
}

static int
create_run(struct store *st, void *arg)
{
	struct create *c = arg;
	struct audit_entry e;
	char detail[128];
	int rc;

	if ((rc = store_alert_create(st, &c->a, &c->out)) != STORE_OK ||
	    c->out.replayed)
		return rc;
	snprintf(detail, sizeof(detail), "%s: %zu recipients, %zu posts",
	    alert_kind_name(c->a.kind), c->out.recipients, c->out.posts);
	e = (struct audit_entry){
		.actor = c->a.actor, .action = "alert.create",
		.target = c->a.targets_json, .result = "ok", .detail = detail,
	};
	return store_audit_add(st, &e);
}

/* When quiet hours hold a notice back: the end, in Beijing time; else null. */
static json_t *
held_until(int64_t ms)
{
	time_t t = (time_t)(ms / 1000 + 8 * 3600);
	struct tm tm;
	char buf[40];

	if (ms == 0 || gmtime_r(&t, &tm) == NULL)
		return json_null();
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S+08:00", &tm);
	return json_string(buf);
}

static void
create_done(int rc, void *arg)
{
	struct create *c = arg;
	char code[16];

	if (rc == STORE_NOTFOUND) {
		alert_invalid(c->rq, "targets", "no node %s in the roster",
		    c->a.named[c->out.missing]);
	} else if (rc != STORE_OK) {
		http_reply_store_error(c->rq, rc);
	} else {
		alert_code(c->out.id, code);
		if (!c->out.replayed) {
			log_info("alert: %s %s by %s: %zu recipients "
			    "(planned in %.2f s, written in %.2f s, durable "
			    "after %.2f s)", code, alert_kind_name(c->a.kind),
			    c->a.actor, c->out.recipients, c->out.plan_s,
			    c->out.write_s, http_elapsed(c->rq));
			dispatch_wake(c->rq->d->dispatch);
		}
		http_reply_json(c->rq, 201, json_pack("{s:I,s:s,s:s,s:s,s:I,s:I,"
		    "s:o,s:i,s:b,s:o}", "id", (json_int_t)c->out.id, "code", code,
		    "kind", alert_kind_name(c->a.kind),
		    "severity", alert_severity_name(c->a.severity),
		    "recipients", (json_int_t)c->out.recipients,
		    "posts", (json_int_t)c->out.posts,
		    "vacancies", json_loads(c->out.vacancies, 0, NULL),
		    "sms_parts", c->sms_parts, "replayed", c->out.replayed,
		    "held_until", held_until(c->a.send_at)));
	}
	create_free(c);
}

/* Check the request, then plan and write it (201 once durable). */
static void
create_start(struct create *c)
{
	if (create_parse(c) != 0) {
		c->rq = NULL;
		create_free(c);
		return;
	}
	if (dbq_submit(c->rq->d->writer, create_run, create_done, c,
	    DBQ_DURABLE) != 0) {
		http_reply_error(c->rq, 503, "unavailable", "shutting down");
		create_free(c);
	}
}

void
alert_create_doc(struct req *rq, json_t *doc, const char *idem_key)
{
	struct create *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		json_decref(doc);
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	c->rq = rq;
	c->doc = doc;
	if (idem_key != NULL)
		snprintf(c->idem, sizeof(c->idem), "%s", idem_key);
	create_start(c);
}

void
api_alert_create(struct req *rq)
{
	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(rq->r), "Content-Type");
	struct create *c;

	if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0) {
		http_reply_error(rq, 415, "unsupported_media_type", "Content-Type "
		    "must be application/json");
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	c->rq = rq;
	if (create_read(c) != 0) {
		c->rq = NULL;
		create_free(c);
		return;
	}
	create_start(c);
}
