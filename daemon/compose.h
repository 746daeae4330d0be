/*
 * compose.h - one recipient's message for one channel: the rendered text
 * (the config's template for the alert's kind), the acknowledgement link,
 * the JSON of alert and recipient for webhook-like plugins, and the
 * recipient's own address for the channel from the roster.
 */
#ifndef SANZHANG_COMPOSE_H
#define SANZHANG_COMPOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acktoken.h"
#include "alert.h"

struct compose_in {
	const struct dlv_row	*row;
	const struct alert_brief *alert;
	const char		*tmpl;		/* the kind's template */
	const char		*public_url;
	const struct acktoken_key *key;
	const char		*target_key;	/* roster channels key, e.g. the
						 * plugin name "webhook" */
	bool			 by_target;	/* a group robot's channel: the
						 * grid's target and the group's
						 * notice too */
};

struct composed {
	char	*text;
	char	*json;
	char	*target;		/* NULL when the roster names none */
	char	*notice;		/* by_target only: the group's text */
	char	 url[512];
	char	 posts[128];		/* "网格长、楼栋长" */
};

/* 0, or -1 with err (the template cannot render this alert). */
int compose(const struct compose_in *in, struct composed *out, char *err,
    size_t errlen);
void composed_free(struct composed *c);

#endif
