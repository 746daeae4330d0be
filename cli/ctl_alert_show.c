/*
 * ctl_alert_show.c - alert list, show and recipients.
 *
 * What the daemon answers is printed for a person to read; --json prints
 * it as it came (recipients masking the phones unless --full).  The
 * helpers shared with send and cancel are in ctl_alert.c.
 */
#include "ctl.h"

#include <jansson.h>

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Recipient states in the order counts are shown; scripts read columns. */
static const char *const alert_states[] = {
	"pending", "sent", "delivered", "acked", "failed", "cancelled",
	"expired", NULL
};

static const char *const alert_list_states[] = {
	"active", "cancelled", "expired", NULL
};

static bool
alert_in(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

/* An RFC 3339 time as local "YYYY-MM-DD HH:MM"; anything else as is. */
static void
alert_time(const char *s, char *out, size_t len)
{
	struct tm tm = { 0 };
	const char *p;
	int n = 0, oh = 0, om = 0, sign = 0;
	time_t t;

	if (s == NULL || *s == '\0') {
		snprintf(out, len, "-");
		return;
	}
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d:%2d%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n == 0)
		goto raw;
	p = s + n;
	if (*p == '.')
		p += 1 + strspn(p + 1, "0123456789");
	if (*p == 'Z' || *p == 'z')
		p++;
	else if ((*p == '+' || *p == '-') &&
	    sscanf(p + 1, "%2d:%2d", &oh, &om) == 2 && strlen(p) == 6) {
		sign = *p == '+' ? 1 : -1;
		p += 6;
	} else
		goto raw;
	if (*p != '\0')
		goto raw;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	t = timegm(&tm) - sign * (oh * 3600 + om * 60);
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, len, "%Y-%m-%d %H:%M", &tm) == 0)
		goto raw;
	return;
raw:
	snprintf(out, len, "%s", s);
}

/* ---- list -------------------------------------------------------------- */

static void
list_row(const json_t *a)
{
	char code[32], created[64];

	alert_code_of(a, code, sizeof(code));
	alert_time(json_string_value(json_object_get(a, "created_at")),
	    created, sizeof(created));
	printf("%-7s %6lld %-9s %-8s %-9s %-16s %10lld  ", code,
	    alert_int(a, "id"), alert_str(a, "kind", "?"),
	    alert_str(a, "severity", "-"), alert_str(a, "state", "?"),
	    created, alert_int(a, "recipients"));
	alert_text(alert_str(a, "title", ""), " ");
	putchar('\n');
}

static int
list_print(const struct ctl_resp *resp, const char *state)
{
	const json_t *alerts, *a;
	json_t *o;
	size_t i;

	if ((o = alert_parse("alert list", resp, "")) == NULL)
		return CTL_REFUSED;
	alerts = json_object_get(o, "alerts");
	if (json_array_size(alerts) == 0)
		printf("no %s alerts (or none in scope)\n",
		    state != NULL ? state : "");
	else
		printf("%-7s %6s %-9s %-8s %-9s %-16s %10s  %s\n", "CODE", "ID",
		    "KIND", "SEVERITY", "STATE", "CREATED", "RECIPIENTS",
		    "TITLE");
	json_array_foreach(alerts, i, a)
		list_row(a);
	json_decref(o);
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

int
alert_list(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json",  no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "GET", .path = "/v1/alerts" };
	struct ctl_resp resp;
	const char *state = NULL;
	char path[64];
	bool raw = false;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":s:j", opts, NULL)) != -1) {
		if (ch == 's')
			state = optarg;
		else if (ch == 'j')
			raw = true;
		else
			return ctl_opt_error("alert list", ch, argv, "alert list "
			    "[--state active|cancelled|expired] [--json]");
	}
	if (optind != argc)
		return ctl_usage_error("alert list takes no argument '%s'",
		    argv[optind]);
	if (state != NULL && !alert_in(state, alert_list_states))
		return ctl_usage_error("alert list --state is active, cancelled "
		    "or expired, not '%s'", state);
	if (state != NULL) {
		snprintf(path, sizeof(path), "/v1/alerts?state=%s", state);
		req.path = path;
	}
	if ((rc = alert_call(conn, "alert list", &req, &resp)) == CTL_OK)
		rc = raw ? alert_raw(&resp) : list_print(&resp, state);
	ctl_resp_free(&resp);
	return rc;
}

/* ---- show -------------------------------------------------------------- */

/* "a, b, c" from an array of strings. */
static void
show_list(const char *label, const json_t *a, bool numbered)
{
	const json_t *v;
	size_t i;

	printf("  %-12s", label);
	if (json_array_size(a) == 0)
		fputs("-", stdout);
	json_array_foreach(a, i, v) {
		if (numbered)
			printf("%s%zu ", i > 0 ? "  " : "", i + 1);
		else if (i > 0)
			fputs(", ", stdout);
		alert_text(json_is_string(v) ? json_string_value(v) : "?", " ");
	}
	putchar('\n');
}

static void
show_counts(const json_t *counts, const char *label)
{
	size_t i;

	for (i = 0; alert_states[i] != NULL; i++)
		printf(" %9lld", alert_int(counts, alert_states[i]));
	printf("  %s\n", label);
}

static int
show_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Totals, then one row per grid, in code order; the code last (CJK). */
/* One line per escalation step: when it fires or what it did. */
static void
show_steps(const json_t *steps)
{
	const json_t *st;
	size_t i;

	json_array_foreach((json_t *)steps, i, st) {
		printf("    step %lld %s: ", alert_int(st, "step"),
		    alert_str(st, "action", "?"));
		if (json_is_null(json_object_get(st, "fired_at_ms")))
			printf("due\n");
		else
			printf("fired: %lld silent, %lld resent, %lld told "
			    "(%lld answered)\n", alert_int(st, "silent"),
			    alert_int(st, "resent"), alert_int(st, "told"),
			    alert_int(st, "told_acked"));
	}
}

/* "  answers: 收到 3, 已通知到户 1, 需要支援 0", in the alert's order. */
static void
show_answers(const json_t *o)
{
	const json_t *answers = json_object_get(o, "answers");
	const json_t *resp = json_object_get(o, "responses"), *r;
	size_t i;

	if (answers == NULL)
		return;
	printf("  answers:");
	json_array_foreach((json_t *)resp, i, r) {
		printf("%s ", i ? "," : "");
		alert_text(json_string_value(r) ?: "?", " ");
		printf(" %lld", alert_int(answers, json_string_value(r) ?: ""));
	}
	putchar('\n');
}

static void
show_grids(const json_t *o)
{
	const json_t *grids = json_object_get(o, "grids"), *v;
	const char **keys, *k;
	size_t i, n = 0;

	putchar('\n');
	for (i = 0; alert_states[i] != NULL; i++)
		printf(" %9s", alert_states[i]);
	printf("  %s\n", "grid");
	show_counts(json_object_get(o, "counts"), "(all)");
	if ((keys = calloc(json_object_size(grids) + 1, sizeof(*keys))) ==
	    NULL)
		return;
	json_object_foreach((json_t *)grids, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), show_cmp);
	for (i = 0; i < n; i++)
		show_counts(json_object_get(grids, keys[i]), keys[i]);
	free(keys);
}

static void
show_print(const json_t *o)
{
	char code[32], t1[64], t2[64];

	alert_code_of(o, code, sizeof(code));
	alert_time(json_string_value(json_object_get(o, "created_at")), t1,
	    sizeof(t1));
	alert_time(json_string_value(json_object_get(o, "expires_at")), t2,
	    sizeof(t2));
	printf("alert %s (id %lld): %s, %s, %s\n", code, alert_int(o, "id"),
	    alert_str(o, "kind", "?"), alert_str(o, "severity", "-"),
	    alert_str(o, "state", "?"));
	fputs("  title:      ", stdout);
	alert_text(alert_str(o, "title", ""), " ");
	fputs("\n  body:       ", stdout);
	alert_text(alert_str(o, "body", ""), "\n              ");
	printf("\n  created:    %s by %s\n", t1, alert_str(o, "created_by",
	    "?"));
	printf("  expires:    %s\n", t2);
	show_list("targets:", json_object_get(o, "targets"), false);
	show_list("roles:", json_object_get(o, "roles"), false);
	show_list("responses:", json_object_get(o, "responses"), true);
	printf("  escalation: %s\n", alert_str(o, "escalation", "-"));
	show_steps(json_object_get(o, "escalations"));
	printf("  recipients: %lld, vacancies: %zu\n", alert_int(o,
	    "recipients"), json_array_size(json_object_get(o, "vacancies")));
	alert_vacancies(json_object_get(o, "vacancies"));
	show_answers(o);
	show_grids(o);
}

int
alert_show(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "GET" };
	struct ctl_resp resp;
	char path[64];
	bool raw = false;
	long long id;
	json_t *o;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":j", opts, NULL)) != -1) {
		if (ch != 'j')
			return ctl_opt_error("alert show", ch, argv,
			    "alert show ID|CODE [--json]");
		raw = true;
	}
	if ((rc = alert_arg("alert show", argc, argv, &id)) != CTL_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/alerts/%lld", id);
	req.path = path;
	if ((rc = alert_call(conn, "alert show", &req, &resp)) != CTL_OK)
		;
	else if (raw)
		rc = alert_raw(&resp);
	else if ((o = alert_parse("alert show", &resp, "")) == NULL)
		rc = CTL_REFUSED;
	else {
		show_print(o);
		json_decref(o);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_IO;
	}
	ctl_resp_free(&resp);
	return rc;
}

/* ---- recipients -------------------------------------------------------- */

/* 13800000002 -> 138****0002: the first three and last four digits. */
static void
rcpt_phone(const char *in, bool full, char *out, size_t len)
{
	size_t n = strlen(in);

	if (full || n == 0)
		snprintf(out, len, "%s", n > 0 ? in : "-");
	else if (n < 8)
		snprintf(out, len, "****");
	else
		snprintf(out, len, "%.3s****%s", in, in + n - 4);
}

static void
rcpt_row(const json_t *r, bool full)
{
	const json_t *posts = json_object_get(r, "posts"), *p;
	const char *resp = alert_str(r, "response", NULL);
	char phone[64], acked[64];
	size_t i;

	rcpt_phone(alert_str(r, "phone", ""), full, phone, sizeof(phone));
	alert_time(alert_str(r, "acked_at", NULL), acked, sizeof(acked));
	printf("%-9s %-11s %-16s  ", alert_str(r, "state", "?"), phone, acked);
	alert_text(alert_str(r, "name", "?"), " ");
	json_array_foreach(posts, i, p) {
		printf("%s%s ", i > 0 ? ", " : "  ", alert_str(p, "role", "?"));
		alert_text(alert_str(p, "code", "?"), " ");
		if (alert_int(p, "rank") == 2)
			fputs(" (B)", stdout);
	}
	if (resp != NULL) {
		fputs("  reply: ", stdout);
		alert_text(resp, " ");
	}
	putchar('\n');
}

/* --json without --full: the same document with the phones masked. */
static void
rcpt_json(json_t *o)
{
	json_t *r;
	char phone[64];
	size_t i;

	json_array_foreach(json_object_get(o, "recipients"), i, r) {
		if (!json_is_string(json_object_get(r, "phone")))
			continue;
		rcpt_phone(alert_str(r, "phone", ""), false, phone,
		    sizeof(phone));
		json_object_set_new(r, "phone", json_string(phone));
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static int
rcpt_print(const struct ctl_resp *resp, bool raw, bool full,
    const char *state)
{
	const json_t *list, *r;
	json_t *o;
	size_t i;

	if (raw && full)
		return alert_raw(resp);
	if ((o = alert_parse("alert recipients", resp, "")) == NULL)
		return CTL_REFUSED;
	list = json_object_get(o, "recipients");
	if (raw)
		rcpt_json(o);
	else if (json_array_size(list) == 0)
		printf("no recipients%s%s\n", state != NULL ? " in state " : "",
		    state != NULL ? state : "");
	else {
		printf("%-9s %-11s %-16s  %s\n", "STATE", "PHONE", "ACKED",
		    "NAME  POSTS  REPLY");
		json_array_foreach(list, i, r)
			rcpt_row(r, full);
	}
	json_decref(o);
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

int
alert_recipients(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "json",  no_argument,       NULL, 'j' },
		{ "full",  no_argument,       NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "GET" };
	struct ctl_resp resp;
	const char *state = NULL;
	bool raw = false, full = false;
	char path[96];
	long long id;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":s:jF", opts, NULL)) != -1) {
		switch (ch) {
		case 's': state = optarg; break;
		case 'j': raw = true; break;
		case 'F': full = true; break;
		default:
			return ctl_opt_error("alert recipients", ch, argv,
			    "alert recipients ID|CODE [--state S] [--json] "
			    "[--full]");
		}
	}
	if ((rc = alert_arg("alert recipients", argc, argv, &id)) != CTL_OK)
		return rc;
	if (state != NULL && !alert_in(state, alert_states))
		return ctl_usage_error("alert recipients --state is pending, "
		    "sent, delivered, acked, failed, cancelled or expired, not "
		    "'%s'", state);
	snprintf(path, sizeof(path), "/v1/alerts/%lld/recipients%s%s", id,
	    state != NULL ? "?state=" : "", state != NULL ? state : "");
	req.path = path;
	if ((rc = alert_call(conn, "alert recipients", &req, &resp)) ==
	    CTL_OK)
		rc = rcpt_print(&resp, raw, full, state);
	ctl_resp_free(&resp);
	return rc;
}

/* ---- report --------------------------------------------------------------- */

#define REPORT_SYNOPSIS "alert report ID|CODE [--format json|csv|html] [-o FILE]"

int
alert_report(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *format = "json", *outfile = NULL;
	char path[96];
	long long id;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":f:o:", opts, NULL)) != -1) {
		if (ch == 'f')
			format = optarg;
		else if (ch == 'o')
			outfile = optarg;
		else
			return ctl_opt_error("alert report", ch, argv,
			    REPORT_SYNOPSIS);
	}
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 &&
	    strcmp(format, "html") != 0)
		return ctl_usage_error("alert report --format is json, csv or "
		    "html, not '%s'", format);
	if ((rc = alert_arg("alert report", argc, argv, &id)) != CTL_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/alerts/%lld/report?format=%s", id,
	    format);
	return ctl_download(conn, "alert report", path, outfile);
}
