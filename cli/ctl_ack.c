/*
 * ctl_ack.c - sanzhangctl ack: record an answer a leader gave by
 * telephone (or in person), audited under the caller's token.
 */
#include "ctl.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ACK_SYNOPSIS "ack ID|CODE PHONE [--response N] [--json]"

int
ctl_ack(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "response",	required_argument, NULL, 'r' },
		{ "json",	no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "POST",
	    .ctype = "application/json" };
	struct ctl_resp resp;
	char path[64], code[32], *body, *end;
	long long id, response = 1;
	bool raw = false;
	json_t *o;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (ch == 'j')
			raw = true;
		else if (ch == 'r') {
			response = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || response < 1 ||
			    response > 1000)
				return ctl_usage_error("ack --response wants the "
				    "option's number, from 1");
		} else
			return ctl_opt_error("ack", ch, argv, ACK_SYNOPSIS);
	}
	if (argc - optind != 2)
		return ctl_usage_error("usage: sanzhangctl " ACK_SYNOPSIS);
	/* The alert is the first of the two positionals. */
	if ((rc = alert_arg("ack", argc - 1, argv, &id)) != CTL_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/alerts/%lld/ack", id);
	o = json_pack("{s:s,s:I}", "phone", argv[optind + 1], "response",
	    response);
	body = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (body == NULL)
		return ctl_usage_error("ack: PHONE is not valid UTF-8");
	req.path = path;
	req.body = body;
	req.body_len = strlen(body);
	if ((rc = alert_call(conn, "ack", &req, &resp)) != CTL_OK)
		;
	else if (raw)
		rc = alert_raw(&resp);
	else if ((o = alert_parse("ack", &resp, NULL)) == NULL)
		rc = CTL_REFUSED;
	else {
		alert_code_of(o, code, sizeof(code));
		printf("alert %s: %s answered %lld (%s)\n", code,
		    alert_str(o, "phone", "?"), alert_int(o, "response"),
		    strcmp(alert_str(o, "result", ""), "unchanged") == 0 ?
		    "already recorded" : "recorded");
		json_decref(o);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_IO;
	}
	free(body);
	ctl_resp_free(&resp);
	return rc;
}
