/*
 * alert_req.c - checking a request to create an alert (alert_req.h): the
 * rules of POST /v1/alerts, with the error each breach is answered with.
 */
#include "alert_req.h"
#include "config.h"
#include "http.h"
#include "message.h"
#include "quiet.h"
#include "roster.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALERT_MAX_TITLE		60	/* characters */
#define ALERT_MAX_TEXT		500
#define ALERT_MAX_RESPONSES	9
#define ALERT_MAX_RESPONSE	20
#define ALERT_DEF_EXPIRES	86400
#define ALERT_MAX_EXPIRES	(7 * 86400)
#define ALERT_DEF_ROLES		((1u << ROLE_GRID_LEADER) | \
	(1u << ROLE_BUILDING_LEADER) | (1u << ROLE_UNIT_LEADER) | \
	(1u << ROLE_VILLAGER_REP))
/* A link as long as the real ones will be, for counting SMS parts. */
#define ALERT_SAMPLE_TOKEN	"AAAAAAAAAAAAAAAAAAAAAAAAAA"

/* The check's state: the request, the config and who asks. */
struct check {
	struct alert_req	*p;
	json_t			*doc;
	const struct config	*cfg;
	const struct caller	*who;
};

/* Record a refusal: status, the field (or node code, or role), why. */
static void
alert_refuse(struct alert_req *p, int status, const char *field,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
alert_refuse(struct alert_req *p, int status, const char *field,
    const char *fmt, ...)
{
	va_list ap;

	p->err.status = status;
	p->err.field = field;
	va_start(ap, fmt);
	vsnprintf(p->err.message, sizeof(p->err.message), fmt, ap);
	va_end(ap);
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
get_text(struct alert_req *p, json_t *doc, const char *key, size_t max, bool need,
    const char **out)
{
	json_t *v = json_object_get(doc, key);

	*out = NULL;
	if (v == NULL && !need)
		return 0;
	if (v == NULL) {
		alert_refuse(p, 400, key, "%s is required", key);
		return -1;
	}
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    utf8_chars(json_string_value(v)) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		alert_refuse(p, 400, key, "%s must be a string of 1 to %zu "
		    "characters", key, max);
		return -1;
	}
	*out = json_string_value(v);
	return 0;
}

/* targets: node codes in scope; a target inside another is dropped. */
static int
get_targets(struct check *c)
{
	json_t *v = json_object_get(c->doc, "targets"), *e;
	size_t i, n = 0;

	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ALERT_MAX_TARGETS) {
		alert_refuse(c->p, 400, "targets", "targets must be an array of 1 to "
		    "%d node codes", ALERT_MAX_TARGETS);
		return -1;
	}
	json_array_foreach(v, i, e) {
		const char *code = json_string_value(e);

		if (code == NULL || roster_code_kind(code) < 0) {
			alert_refuse(c->p, 400, "targets", "targets[%zu] is not a "
			    "node code", i);
			return -1;
		}
		if (!roster_scope_covers(c->who->scope, c->who->n_scope,
		    code)) {
			alert_refuse(c->p, 403, code, "node %s is outside the "
			    "scope of token '%s'", code, c->who->name);
			return -1;
		}
		c->p->named[n] = c->p->targets[n] = code;
		n++;
	}
	c->p->a.named = c->p->named;
	c->p->a.n_named = n;
	for (i = 0; i < n; i++) {
		bool covered = false;

		for (size_t j = 0; j < n && !covered; j++)
			covered = j != i && c->p->targets[j] != NULL &&
			    roster_code_covers(c->p->targets[j], c->p->targets[i]) &&
			    (strcmp(c->p->targets[j], c->p->targets[i]) != 0 || j < i);
		if (covered)
			c->p->targets[i] = NULL;
	}
	for (i = 0; i < n; i++)
		if (c->p->targets[i] != NULL)
			c->p->targets[c->p->a.n_targets++] = c->p->targets[i];
	c->p->a.targets = c->p->targets;
	c->p->targets_json = json_dumps(v, JSON_COMPACT);
	return 0;
}

static int
get_roles(struct check *c)
{
	json_t *v = json_object_get(c->doc, "roles"), *e;
	size_t i;
	int role;

	c->p->a.roles = 0;
	if (v == NULL) {
		c->p->a.roles = ALERT_DEF_ROLES;
		v = json_pack("[s,s,s,s]", "grid_leader", "building_leader",
		    "unit_leader", "villager_rep");
		c->p->roles_json = json_dumps(v, JSON_COMPACT);
		json_decref(v);
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		alert_refuse(c->p, 400, "roles", "roles must be a non-empty array of "
		    "role names");
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) ||
		    (role = roster_role_parse(json_string_value(e))) < 0) {
			alert_refuse(c->p, 400, "roles", "roles[%zu] is not one of "
			    "grid_leader, building_leader, unit_leader, "
			    "villager_rep, duty_officer", i);
			return -1;
		}
		c->p->a.roles |= 1u << role;
	}
	c->p->roles_json = json_dumps(v, JSON_COMPACT);
	return 0;
}

static int
get_responses(struct check *c)
{
	json_t *v = json_object_get(c->doc, "responses"), *e, *def = NULL;
	size_t i;

	if (v == NULL)
		v = def = json_pack("[s]", "收到");
	if (!json_is_array(v) || json_array_size(v) == 0 ||
	    json_array_size(v) > ALERT_MAX_RESPONSES) {
		alert_refuse(c->p, 400, "responses", "responses must be an array of "
		    "1 to %d answers", ALERT_MAX_RESPONSES);
		return -1;
	}
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    utf8_chars(json_string_value(e)) > ALERT_MAX_RESPONSE) {
			alert_refuse(c->p, 400, "responses", "responses[%zu] must be "
			    "1 to %d characters", i, ALERT_MAX_RESPONSE);
			return -1;
		}
	}
	c->p->responses_json = json_dumps(v, JSON_COMPACT);
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
get_kind_etc(struct check *c)
{
	const struct config *cfg = c->cfg;
	const char *kind, *sev, *esc;
	json_t *v;

	if (get_text(c->p, c->doc, "kind", 16, true, &kind) != 0)
		return -1;
	if ((c->p->a.kind = alert_kind_parse(kind)) < 0) {
		alert_refuse(c->p, 400, "kind", "kind must be emergency, drill or "
		    "notice");
		return -1;
	}
	if (get_text(c->p, c->doc, "severity", 16, c->p->a.kind != ALERT_NOTICE,
	    &sev) != 0)
		return -1;
	c->p->a.severity = sev ? alert_severity_parse(sev) : SEV_BLUE;
	if ((int)c->p->a.severity < 0) {
		alert_refuse(c->p, 400, "severity", "severity must be red, orange, "
		    "yellow or blue");
		return -1;
	}
	if (get_text(c->p, c->doc, "escalation", 64, false, &esc) != 0)
		return -1;
	if (esc == NULL)
		esc = escalation_known(cfg, kind) ? kind : "none";
	if (strcmp(esc, "none") != 0 && !escalation_known(cfg, esc)) {
		alert_refuse(c->p, 400, "escalation", "no escalation policy \"%s\" in "
		    "the configuration", esc);
		return -1;
	}
	c->p->a.escalation = esc;
	/* The steps go into the store with the alert: later config changes
	 * do not move an alert's timers. */
	for (size_t i = 0; i < cfg->n_escalation; i++) {
		const struct cfg_escalation *e = &cfg->escalation[i];

		if (strcmp(e->name, esc) != 0)
			continue;
		for (size_t k = 0; k < e->n_steps && k < ALERT_MAX_ESC; k++)
			c->p->a.esc[c->p->a.n_esc++] = (struct alert_esc){
			    .after = e->steps[k].after,
			    .action = e->steps[k].action };
	}
	v = json_object_get(c->doc, "expires_in");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 60 ||
	    json_integer_value(v) > ALERT_MAX_EXPIRES)) {
		alert_refuse(c->p, 400, "expires_in", "expires_in must be 60 to %d "
		    "seconds", ALERT_MAX_EXPIRES);
		return -1;
	}
	c->p->a.expires_at = c->p->a.created_at + 1000 *
	    (v ? json_integer_value(v) : ALERT_DEF_EXPIRES);
	return 0;
}

/*
 * Each role's first channel from the config's routing.  A targeted role
 * without one could reach nobody: refuse rather than accept in vain.
 */
static int
get_routes(struct check *c)
{
	const struct config *cfg = c->cfg;

	for (size_t i = 0; i < cfg->n_routing; i++) {
		int role = roster_role_parse(cfg->routing[i].role);

		if (role >= 0 && cfg->routing[i].n_channels > 0)
			c->p->a.route[role] = cfg->routing[i].channels[0];
	}
	for (int role = 0; role < ROLE_COUNT; role++) {
		if ((c->p->a.roles & (1u << role)) && c->p->a.route[role] == NULL) {
			alert_refuse(c->p, 409, roster_role_name(role), "no "
			    "channel is routed for this role: add it to routing "
			    "in the configuration");
			return -1;
		}
	}
	/* Emergencies go ahead of drills, drills ahead of notices. */
	c->p->a.priority = c->p->a.kind == ALERT_EMERGENCY ? 0 :
	    c->p->a.kind == ALERT_DRILL ? 1 : 2;
	/* A notice made in quiet hours waits for their end; nothing else. */
	if (c->p->a.kind == ALERT_NOTICE)
		c->p->a.send_at = quiet_until(&c->cfg->quiet,
		    c->p->a.created_at);
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
check_render(struct check *c)
{
	const struct config *cfg = c->cfg;
	struct msg_vars v = {
		.kind = c->p->a.kind, .severity = c->p->a.severity,
		.title = c->p->a.title, .body = c->p->a.body,
		.posts = "网格长、楼栋长", .node = "社区", .code = "AZZZZ",
		.when = c->p->a.created_at / 1000,
	};
	char url[512], err[256], *text;
	struct sms_count n;

	snprintf(url, sizeof(url), "%s/a/%s", cfg->public_url,
	    ALERT_SAMPLE_TOKEN);
	v.url = url;
	if ((text = message_render(template_for(cfg, c->p->a.kind), &v, err,
	    sizeof(err))) == NULL) {
		alert_refuse(c->p, 400, "title", "%s", err);
		return -1;
	}
	sms_count(text, NULL, &n);
	c->p->sms_parts = n.parts;
	free(text);
	return 0;
}

static const char *const alert_keys[] = {
	"kind", "severity", "title", "body", "targets", "roles", "responses",
	"escalation", "expires_in", NULL,
};

static int
check_keys(struct check *c)
{
	const char *key;
	json_t *v;

	json_object_foreach(c->doc, key, v) {
		size_t i;

		for (i = 0; alert_keys[i] && strcmp(alert_keys[i], key); i++)
			;
		if (alert_keys[i] == NULL) {
			alert_refuse(c->p, 400, key, "unknown key \"%.40s\"", key);
			return -1;
		}
	}
	return 0;
}

int
alert_req_parse(struct alert_req *p, json_t *doc, const struct config *cfg,
    const struct caller *who, int64_t now)
{
	struct check c = { .p = p, .doc = doc, .cfg = cfg, .who = who };

	p->a.created_at = now;
	p->a.actor = who->name;
	if (!json_is_object(doc)) {
		alert_refuse(p, 400, "body", "the request must be a JSON object");
		return -1;
	}
	if (check_keys(&c) != 0 || get_kind_etc(&c) != 0 ||
	    get_text(p, doc, "title", ALERT_MAX_TITLE, true, &p->a.title) != 0 ||
	    get_text(p, doc, "body", ALERT_MAX_TEXT, true, &p->a.body) != 0 ||
	    get_targets(&c) != 0 || get_roles(&c) != 0 ||
	    get_responses(&c) != 0 || check_render(&c) != 0 ||
	    get_routes(&c) != 0)
		return -1;
	p->a.targets_json = p->targets_json;
	p->a.roles_json = p->roles_json;
	p->a.responses_json = p->responses_json;
	return 0;
}

void
alert_req_clear(struct alert_req *p)
{
	free(p->targets_json);
	free(p->roles_json);
	free(p->responses_json);
	p->targets_json = p->roles_json = p->responses_json = NULL;
}
