/*
 * alertmanager.h - what a Prometheus Alertmanager notification (webhook
 * payload version 4) asks of sanzhang: create an alert, cancel the one of
 * its episode, or nothing.  Pure: the handler (api_alertmanager.c) does
 * the HTTP and the store; the mapping is documented in alertmanager.c.
 */
#ifndef SANZHANG_ALERTMANAGER_H
#define SANZHANG_ALERTMANAGER_H

#include <stddef.h>

#define AM_KEY_LEN	40	/* hex digits of the SHA-256 */
#define AM_KEY_MAX	(AM_KEY_LEN + 16)	/* "am-", the digits, "-resolved" */

struct json_t;

enum am_action {
	AM_CREATE = 0,		/* create the alert in req */
	AM_CANCEL,		/* resolved: cancel the episode's alert */
	AM_IGNORE,		/* resolved, and the rule says to ignore it */
};

struct am_decision {
	enum am_action	 action;
	char		 key[AM_KEY_MAX];	/* the episode's Idempotency-Key
						 * ("-resolved" added for the
						 * all-clear notice) */
	struct json_t	*req;		/* AM_CREATE: a POST /v1/alerts body,
					 * owned by the caller; else NULL */
};

/*
 * Decide what the notification doc asks for.  Returns 0, or -1 with why
 * (the reason for a 400 invalid_notification).  doc is not taken over.
 */
int am_decide(struct json_t *doc, struct am_decision *out, char *why,
    size_t len);

#endif
