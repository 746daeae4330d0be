/*
 * fuzz_alertmanager.c - Alertmanager's webhook body (alertmanager.c): the
 * notification's checks, the episode key, the label mapping, and the
 * alert request it makes, checked as POST /v1/alerts checks its own.
 */
#include "alert_req.h"
#include "alertmanager.h"
#include "fuzz_util.h"
#include "http.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Alertmanager's token: an operator for the whole city. */
static const struct caller who = {
	.name = "alertmanager", .role = TOKEN_OPERATOR,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct config *cfg = fuzz_config();
	struct am_decision dec;
	struct alert_req *p;
	char why[256];
	json_t *doc;

	if (size > 256 * 1024)		/* the handler's limit */
		return 0;
	doc = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return 0;
	}
	why[0] = '\0';
	if (am_decide(doc, &dec, why, sizeof(why)) != 0) {
		json_decref(doc);
		if (why[0] == '\0')
			abort();	/* a refusal must say why */
		return 0;
	}
	json_decref(doc);	/* the request must not point into it */
	if (strncmp(dec.key, "am-", 3) != 0 || strlen(dec.key) < AM_KEY_LEN + 3)
		abort();
	if (dec.action == AM_CREATE) {
		if ((p = calloc(1, sizeof(*p))) == NULL)
			abort();
		(void)alert_req_parse(p, dec.req, cfg, &who, 1700000000000);
		alert_req_clear(p);
		free(p);
		json_decref(dec.req);
	} else if (dec.req != NULL) {
		abort();
	}
	return 0;
}
