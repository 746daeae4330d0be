/*
 * ctl_watch.c - sanzhangctl alert watch: an alert's progress, live, until
 * everyone has answered or the alert ends.  On a terminal, a bar per grid
 * redrawn in place; otherwise one plain line whenever the counts change
 * (for logs and scripts).
 */
#include "ctl.h"

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WATCH_SYNOPSIS	"alert watch ID|CODE [--interval SEC]"
#define WATCH_BAR	30	/* characters of a full bar */
#define WATCH_GRIDS	40	/* grids drawn on a terminal */

/* "acked 5/11, sent 6, failed 0": the line for counts c of n. */
static void
watch_line(const json_t *c, long long n, char *buf, size_t len)
{
	snprintf(buf, len, "acked %lld/%lld, pending %lld, sent %lld, "
	    "delivered %lld, failed %lld", alert_int(c, "acked"), n,
	    alert_int(c, "pending"), alert_int(c, "sent"),
	    alert_int(c, "delivered"), alert_int(c, "failed"));
}

static void
watch_bar(long long part, long long whole)
{
	int fill = whole > 0 ? (int)(WATCH_BAR * part / whole) : 0;

	putchar('[');
	for (int i = 0; i < WATCH_BAR; i++)
		putchar(i < fill ? '#' : '.');
	printf("] %3lld%%", whole > 0 ? 100 * part / whole : 0);
}

static long long
watch_total(const json_t *c)
{
	const json_t *v;
	const char *k;
	long long n = 0;

	json_object_foreach((json_t *)c, k, v)
		n += json_integer_value(v);
	return n;
}

/* The whole screen: title, the total bar, a bar per grid. */
static void
watch_draw(const json_t *o, const char *code)
{
	const json_t *c = json_object_get(o, "counts");
	const json_t *grids = json_object_get(o, "grids"), *g;
	long long n = watch_total(c);
	char line[256];
	const char *k;
	size_t i = 0;

	fputs("\033[H\033[2J", stdout);
	printf("alert %s (%s): ", code, alert_str(o, "state", "?"));
	alert_text(alert_str(o, "title", ""), " ");
	putchar('\n');
	watch_line(c, n, line, sizeof(line));
	printf("%s\n  all      ", line);
	watch_bar(alert_int(c, "acked"), n);
	putchar('\n');
	json_object_foreach((json_t *)grids, k, g) {
		if (i++ == WATCH_GRIDS) {
			printf("  ... %zu grids in all\n",
			    json_object_size(grids));
			break;
		}
		printf("  ");
		watch_bar(alert_int(g, "acked"), watch_total(g));
		printf("  ");
		alert_text(k, " ");
		putchar('\n');
	}
	fflush(stdout);
}

static bool
watch_done(const json_t *o)
{
	const json_t *c = json_object_get(o, "counts");
	long long n = watch_total(c);

	return strcmp(alert_str(o, "state", "active"), "active") != 0 ||
	    (n > 0 && alert_int(c, "acked") + alert_int(c, "cancelled") +
	    alert_int(c, "expired") >= n);
}

int
alert_watch(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "GET" };
	bool tty = isatty(STDOUT_FILENO);
	char path[64], code[32], line[256], last[256] = "";
	long interval = 2;
	long long id;
	char *end;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":i:", opts, NULL)) != -1) {
		if (ch != 'i')
			return ctl_opt_error("alert watch", ch, argv,
			    WATCH_SYNOPSIS);
		interval = strtol(optarg, &end, 10);
		if (*optarg == '\0' || *end != '\0' || interval < 1 ||
		    interval > 3600)
			return ctl_usage_error("alert watch --interval is 1 to "
			    "3600 seconds");
	}
	if ((rc = alert_arg("alert watch", argc, argv, &id)) != CTL_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/alerts/%lld", id);
	req.path = path;
	for (;;) {
		struct ctl_resp resp;
		json_t *o;
		bool done;

		if ((rc = alert_call(conn, "alert watch", &req, &resp)) !=
		    CTL_OK) {
			ctl_resp_free(&resp);
			return rc;
		}
		o = alert_parse("alert watch", &resp, "");
		ctl_resp_free(&resp);
		if (o == NULL)
			return CTL_REFUSED;
		alert_code_of(o, code, sizeof(code));
		done = watch_done(o);
		if (tty) {
			watch_draw(o, code);
		} else {
			watch_line(json_object_get(o, "counts"),
			    watch_total(json_object_get(o, "counts")), line,
			    sizeof(line));
			if (strcmp(line, last) != 0 || done) {
				time_t t = time(NULL);
				struct tm tm;
				char ts[16];

				strftime(ts, sizeof(ts), "%H:%M:%S",
				    localtime_r(&t, &tm));
				printf("%s %s %s%s\n", ts, code, line, done ?
				    (strcmp(alert_str(o, "state", ""),
				    "active") == 0 ? " (everyone answered)" :
				    " (the alert ended)") : "");
				snprintf(last, sizeof(last), "%s", line);
			}
		}
		json_decref(o);
		if (fflush(stdout) != 0)
			return CTL_IO;
		if (done)
			return CTL_OK;
		sleep((unsigned)interval);
	}
}
