/*
 * fuzz_alert.c - the check of a POST /v1/alerts body (alert_req.c): JSON
 * as the handler loads it, every field's rules, the caller's scope, and a
 * sample rendering with the config's template (message.c).
 */
#include "alert_req.h"
#include "fuzz_util.h"
#include "http.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A street office's operator token: one street in scope. */
static const char *const scope[] = { "220104001" };
static const struct caller who = {
	.name = "nanhu-street", .role = TOKEN_OPERATOR,
	.scope = scope, .n_scope = 1,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *cfg = fuzz_config();
	struct alert_req *p;
	json_t *doc;

	if (size > 64 * 1024)		/* the handler's limit */
		return 0;
	if ((doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return 0;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		abort();
	if (alert_req_parse(p, doc, cfg, &who, 1700000000000) == 0) {
		/* What the store relies on. */
		if (p->a.n_targets == 0 || p->a.n_targets > p->a.n_named ||
		    p->a.title == NULL || p->a.body == NULL ||
		    p->a.roles == 0 || p->a.targets_json == NULL ||
		    p->a.roles_json == NULL || p->a.responses_json == NULL ||
		    p->a.expires_at <= p->a.created_at)
			abort();
	} else if (p->err.status == 0 || p->err.field == NULL ||
	    p->err.message[0] == '\0') {
		abort();	/* a refusal must say what and why */
	}
	alert_req_clear(p);
	free(p);
	json_decref(doc);
	return 0;
}
