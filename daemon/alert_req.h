/*
 * alert_req.h - checking a request to create an alert: the JSON body of
 * POST /v1/alerts, or the same document made by a source (Alertmanager).
 *
 * The check is pure: no HTTP, no store, no clock.  The handler answers
 * with the error it records, and the fuzzing harness calls it directly.
 */
#ifndef SANZHANG_ALERT_REQ_H
#define SANZHANG_ALERT_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "alert.h"

#define ALERT_MAX_TARGETS	2000	/* a city has ~150 streets */

struct config;
struct caller;
struct json_t;

/* Why a request was refused, as the API answers it. */
struct alert_req_err {
	int		 status;	/* 400 invalid_alert, 403 forbidden
					 * (out of scope), 409 no_route */
	const char	*field;		/* 400: the key at fault; 403: the
					 * node code; 409: the role (it points
					 * into the document, or is static) */
	char		 message[512];
};

/* A request being checked; the strings of a point into the document. */
struct alert_req {
	struct alert_new	 a;
	const char		*named[ALERT_MAX_TARGETS];
	const char		*targets[ALERT_MAX_TARGETS];
	char			*targets_json;	/* malloc'd, as stored */
	char			*roles_json;
	char			*responses_json;
	int			 sms_parts;	/* of a sample rendering */
	struct alert_req_err	 err;		/* set when the check fails */
};

/*
 * Check doc (a JSON object) against cfg (templates, routing, escalation)
 * and the caller's scope, and fill p->a: every field but idem_key.  now
 * (ms since the epoch) is the alert's creation time.  Returns 0, or -1
 * with p->err set.  p must be zeroed before; alert_req_clear() frees.
 */
int alert_req_parse(struct alert_req *p, struct json_t *doc,
    const struct config *cfg, const struct caller *who, int64_t now);
void alert_req_clear(struct alert_req *p);

#endif
