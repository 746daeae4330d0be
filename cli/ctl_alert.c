/*
 * ctl_alert.c - alert send, list, show, recipients and cancel.
 *
 * An alert is named by its id (7) or its short code (A7: "A" and the id
 * in base 36), the code being what SMS replies and pages show.  Text that
 * other operators and recipients wrote (titles, names, replies) has its
 * control characters blanked, so it cannot move the cursor or fake lines.
 */
#include "ctl.h"

#include <jansson.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define ALERT_MAX_KEY	128	/* Idempotency-Key length the daemon takes */

/* Recipient states in the order counts are shown; scripts read columns. */
static const char *const alert_states[] = {
	"pending", "sent", "delivered", "acked", "failed", "cancelled",
	"expired", NULL
};

static const char *const alert_list_states[] = {
	"active", "cancelled", "expired", NULL
};

/* ---- shared ------------------------------------------------------------ */

static bool
alert_in(const char *s, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static const char *
alert_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

static long long
alert_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* "1 recipient", "2 recipients". */
static void
alert_count(long long n, const char *one, const char *many)
{
	printf("%lld %s", n, n == 1 ? one : many);
}

/* Print s with control characters blanked; newlines become nl. */
static void
alert_text(const char *s, const char *nl)
{
	for (; *s != '\0'; s++) {
		if (*s == '\n')
			fputs(nl, stdout);
		else if ((unsigned char)*s < 0x20 || *s == 0x7f)
			putchar(' ');
		else
			putchar(*s);
	}
}

/* "7" or "A7" ("a7" too) into the alert's id; -1 when neither. */
static int
alert_ref(const char *s, long long *id)
{
	long long v = 0;
	int base = 10, d;

	if (*s == 'A' || *s == 'a') {
		base = 36;
		s++;
	}
	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 36 && *s >= 'A' && *s <= 'Z')
			d = *s - 'A' + 10;
		else if (base == 36 && *s >= 'a' && *s <= 'z')
			d = *s - 'a' + 10;
		else
			return -1;
		if (v > (LLONG_MAX - d) / base)
			return -1;
		v = v * base + d;
	}
	if (v == 0)
		return -1;
	*id = v;
	return 0;
}

/* The short code of an id: 7 -> A7, 36 -> A10. */
static void
alert_code(long long id, char *buf, size_t len)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char tmp[16];
	size_t n = 0;

	if (id < 0)
		id = 0;		/* nonsense from the daemon; never index with it */
	do {
		tmp[n++] = digits[id % 36];
		id /= 36;
	} while (id > 0 && n < sizeof(tmp));
	snprintf(buf, len, "A");
	while (n > 0 && strlen(buf) + 1 < len)
		strncat(buf, &tmp[--n], 1);
}

/* The answer's code, else one made from its id. */
static void
alert_code_of(const json_t *o, char *buf, size_t len)
{
	const char *c = json_string_value(json_object_get(o, "code"));

	if (c != NULL)
		snprintf(buf, len, "%s", c);
	else
		alert_code(alert_int(o, "id"), buf, len);
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

/*
 * As ctl_fail(), but a refusal that names the offending key (400
 * invalid_alert) says which on its first line.
 */
static int
alert_fail(const char *what, int rc, const struct ctl_resp *resp)
{
	json_t *top, *err;
	const char *field, *code, *msg;

	if (rc != CTL_OK)
		return ctl_fail(what, rc, resp);
	top = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	err = json_object_get(top, "error");
	if ((field = json_string_value(json_object_get(err, "field"))) ==
	    NULL) {
		json_decref(top);
		return ctl_fail(what, rc, resp);
	}
	code = alert_str(err, "code", "error");
	msg = alert_str(err, "message", "(no message)");
	ctl_failx(0, what, "%ld %s: %s (field: %s)", resp->status, code, msg,
	    field);
	json_decref(top);
	return CTL_REFUSED;
}

/* Perform req; a failure is reported as what and its exit code returned. */
static int
alert_call(const struct ctl_conn *conn, const char *what,
    const struct ctl_req *req, struct ctl_resp *resp)
{
	int rc;

	rc = ctl_http(conn, req, resp);
	if (rc != CTL_OK || !ctl_resp_ok(resp))
		return alert_fail(what, rc, resp);
	return CTL_OK;
}

/* The 2xx answer as a JSON object, or NULL after saying why not. */
static json_t *
alert_parse(const char *what, const struct ctl_resp *resp, const char *hint)
{
	json_t *o;

	o = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	if (json_is_object(o))
		return o;
	json_decref(o);
	ctl_failx(CTL_REFUSED, what, "%ld, but the answer is not JSON%s",
	    resp->status, hint);
	return NULL;
}

static int
alert_raw(const struct ctl_resp *resp)
{
	fwrite(resp->body, 1, resp->len, stdout);
	if (resp->len > 0 && resp->body[resp->len - 1] != '\n')
		putchar('\n');
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

static void
alert_vacancies(const json_t *vac)
{
	const json_t *v;
	size_t i;

	json_array_foreach(vac, i, v)
		printf("  vacant: %s at %s (told: %s)\n", alert_str(v, "role",
		    "?"), alert_str(v, "code", "?"), alert_str(v, "notify",
		    "nobody"));
}

/* ---- send -------------------------------------------------------------- */

#define SEND_SYNOPSIS \
"alert send --kind K --title T --body B --target CODE...\n" \
"           [--severity S] [--role R]... [--response TEXT]...\n" \
"           [--escalation NAME] [--expires-in SEC]\n" \
"           [--idempotency-key KEY] [--json]\n" \
"   or: sanzhangctl alert send --file FILE.json [--idempotency-key KEY] " \
"[--json]"

struct send_opts {
	json_t		*req;		/* the alert built from the options */
	const char	*file;		/* --file: sent as is instead */
	const char	*key;		/* --idempotency-key, or NULL */
	bool		 raw;		/* --json */
	bool		 built;		/* an option of req was given */
};

/* req[key] = val, or append val to the array req[key] when many. */
static int
send_put(json_t *req, const char *key, const char *opt, const char *val,
    bool many)
{
	json_t *v, *a;

	if ((v = json_string(val)) == NULL)
		return ctl_usage_error("alert send %s is not valid UTF-8", opt);
	if (!many)
		return json_object_set_new(req, key, v) == 0 ? CTL_OK :
		    ctl_failx(CTL_IO, "alert send", "out of memory");
	if ((a = json_object_get(req, key)) == NULL) {
		a = json_array();
		if (json_object_set_new(req, key, a) == -1)
			a = NULL;
	}
	if (a == NULL || json_array_append_new(a, v) == -1)
		return ctl_failx(CTL_IO, "alert send", "out of memory");
	return CTL_OK;
}

static int
send_expires(json_t *req, const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v <= 0)
		return ctl_usage_error("alert send --expires-in wants seconds, "
		    "not '%s'", s);
	json_object_set_new(req, "expires_in", json_integer(v));
	return CTL_OK;
}

/* Printable ASCII, no space at either end (HTTP would strip it). */
static bool
send_key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n == 0 || n > ALERT_MAX_KEY || k[0] == ' ' || k[n - 1] == ' ')
		return false;
	for (; *k != '\0'; k++)
		if ((unsigned char)*k < 0x20 || (unsigned char)*k > 0x7e)
			return false;
	return true;
}

static int
send_opt(struct send_opts *o, int ch)
{
	static const struct {
		int		 ch;
		const char	*key;
		const char	*opt;
		bool		 many;
	} keys[] = {
		{ 'k', "kind",		"--kind",	false },
		{ 't', "title",		"--title",	false },
		{ 'b', "body",		"--body",	false },
		{ 'g', "targets",	"--target",	true },
		{ 's', "severity",	"--severity",	false },
		{ 'r', "roles",		"--role",	true },
		{ 'R', "responses",	"--response",	true },
		{ 'e', "escalation",	"--escalation",	false },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (keys[i].ch == ch) {
			o->built = true;
			return send_put(o->req, keys[i].key, keys[i].opt,
			    optarg, keys[i].many);
		}
	switch (ch) {
	case 'x':
		o->built = true;
		return send_expires(o->req, optarg);
	case 'f': o->file = optarg; return CTL_OK;
	case 'i': o->key = optarg; return CTL_OK;
	case 'j': o->raw = true; return CTL_OK;
	}
	return -1;
}

static int
send_parse(int argc, char **argv, struct send_opts *o)
{
	static const struct option opts[] = {
		{ "kind",            required_argument, NULL, 'k' },
		{ "title",           required_argument, NULL, 't' },
		{ "body",            required_argument, NULL, 'b' },
		{ "target",          required_argument, NULL, 'g' },
		{ "severity",        required_argument, NULL, 's' },
		{ "role",            required_argument, NULL, 'r' },
		{ "response",        required_argument, NULL, 'R' },
		{ "escalation",      required_argument, NULL, 'e' },
		{ "expires-in",      required_argument, NULL, 'x' },
		{ "file",            required_argument, NULL, 'f' },
		{ "idempotency-key", required_argument, NULL, 'i' },
		{ "json",            no_argument,       NULL, 'j' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const required[][2] = {
		{ "kind", "--kind" }, { "title", "--title" },
		{ "body", "--body" }, { "targets", "--target" },
	};
	int ch, rc;

	/* Long options only: "-t" would read as --token to most people. */
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		if ((rc = send_opt(o, ch)) != CTL_OK)
			return rc == -1 ? ctl_opt_error("alert send", ch, argv,
			    SEND_SYNOPSIS) : rc;
	if (optind != argc)
		return ctl_usage_error("alert send takes no argument '%s'",
		    argv[optind]);
	if (o->key != NULL && !send_key_ok(o->key))
		return ctl_usage_error("alert send --idempotency-key wants 1 to "
		    "%d printable ASCII characters", ALERT_MAX_KEY);
	if (o->file != NULL && o->built)
		return ctl_usage_error("alert send --file sends FILE as it is; "
		    "give no other alert option with it");
	if (o->file != NULL)
		return CTL_OK;
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (json_object_get(o->req, required[i][0]) == NULL)
			return ctl_usage_error("alert send wants %s (or --file "
			    "FILE.json)", required[i][1]);
	return CTL_OK;
}

/* "alert A7 (id 7): drill, 123 recipients, 2 vacancies, SMS 2 parts" */
static int
send_summary(const struct ctl_resp *resp)
{
	const json_t *vac;
	char code[32];
	json_t *o;

	if ((o = alert_parse("alert send", resp, "; the alert may have been "
	    "created: see alert list")) == NULL)
		return CTL_REFUSED;
	vac = json_object_get(o, "vacancies");
	alert_code_of(o, code, sizeof(code));
	printf("alert %s (id %lld): %s, ", code, alert_int(o, "id"),
	    alert_str(o, "kind", "?"));
	alert_count(alert_int(o, "recipients"), "recipient", "recipients");
	fputs(", ", stdout);
	alert_count((long long)json_array_size(vac), "vacancy", "vacancies");
	fputs(", SMS ", stdout);
	alert_count(alert_int(o, "sms_parts"), "part", "parts");
	/* An Idempotency-Key seen before: nothing new went out. */
	if (json_is_true(json_object_get(o, "replayed")))
		fputs(" (replayed: sent before with this key)", stdout);
	putchar('\n');
	alert_vacancies(vac);
	json_decref(o);
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

static FILE *
send_open(const char *file)
{
	struct stat st;
	FILE *f;

	if (strcmp(file, "-") == 0)
		return stdin;
	if ((f = fopen(file, "rb")) == NULL)
		return NULL;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		errno = EISDIR;
		return NULL;
	}
	return f;
}

static int
send_run(const struct ctl_conn *conn, const struct send_opts *o)
{
	const char *hdrs[2] = { NULL, NULL };
	struct ctl_req req = { .method = "POST", .path = "/v1/alerts",
	    .ctype = "application/json", .headers = hdrs };
	struct ctl_resp resp;
	char line[sizeof("Idempotency-Key: ") + ALERT_MAX_KEY];
	char *body = NULL;
	int rc;

	if (o->key != NULL) {
		snprintf(line, sizeof(line), "Idempotency-Key: %s", o->key);
		hdrs[0] = line;
	}
	if (o->file != NULL) {
		if ((req.body_file = send_open(o->file)) == NULL)
			return ctl_failx(CTL_IO, "alert send", "cannot open %s: "
			    "%s", o->file, strerror(errno));
	} else {
		if ((body = json_dumps(o->req, JSON_COMPACT)) == NULL)
			return ctl_failx(CTL_IO, "alert send", "out of memory");
		req.body = body;
		req.body_len = strlen(body);
	}
	rc = ctl_http(conn, &req, &resp);
	if (req.body_file != NULL && req.body_file != stdin)
		fclose(req.body_file);
	if (rc == CTL_IO && resp.read_errno != 0)
		rc = ctl_failx(CTL_IO, "alert send", "reading %s: %s",
		    strcmp(o->file, "-") == 0 ? "stdin" : o->file,
		    strerror(resp.read_errno));
	else if (rc != CTL_OK || !ctl_resp_ok(&resp))
		rc = alert_fail("alert send", rc, &resp);
	else
		rc = o->raw ? alert_raw(&resp) : send_summary(&resp);
	ctl_resp_free(&resp);
	free(body);
	return rc;
}

static int
alert_send(const struct ctl_conn *conn, int argc, char **argv)
{
	struct send_opts o = { 0 };
	int rc;

	if ((o.req = json_object()) == NULL)
		return ctl_failx(CTL_IO, "alert send", "out of memory");
	rc = send_parse(argc, argv, &o);
	if (rc == CTL_OK)
		rc = send_run(conn, &o);
	json_decref(o.req);
	return rc;
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

static int
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

/* The one positional ID|CODE of show, recipients and cancel. */
static int
alert_arg(const char *cmd, int argc, char **argv, long long *id)
{
	if (argc - optind != 1)
		return ctl_usage_error("%s wants one alert ID or CODE (e.g. 7 "
		    "or A7)", cmd);
	if (alert_ref(argv[optind], id) == -1)
		return ctl_usage_error("%s: '%s' is neither an alert id nor a "
		    "code (e.g. 7 or A7)", cmd, argv[optind]);
	return CTL_OK;
}

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
	printf("  recipients: %lld, vacancies: %zu\n", alert_int(o,
	    "recipients"), json_array_size(json_object_get(o, "vacancies")));
	alert_vacancies(json_object_get(o, "vacancies"));
	show_grids(o);
}

static int
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

static int
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

/* ---- cancel ------------------------------------------------------------ */

static int
alert_cancel(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = { { NULL, 0, NULL, 0 } };
	struct ctl_req req = { .method = "POST" };
	struct ctl_resp resp;
	char path[64], code[32];
	long long id;
	json_t *o;
	int ch, rc;

	if ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1)
		return ctl_opt_error("alert cancel", ch, argv,
		    "alert cancel ID|CODE");
	if ((rc = alert_arg("alert cancel", argc, argv, &id)) != CTL_OK)
		return rc;
	snprintf(path, sizeof(path), "/v1/alerts/%lld/cancel", id);
	req.path = path;
	if ((rc = alert_call(conn, "alert cancel", &req, &resp)) != CTL_OK)
		;
	else if ((o = alert_parse("alert cancel", &resp, "; the alert may "
	    "have been cancelled: see alert show")) == NULL)
		rc = CTL_REFUSED;
	else {
		alert_code(id, code, sizeof(code));
		printf("alert %s cancelled: ", code);
		alert_count(alert_int(o, "cancelled"), "recipient stopped",
		    "recipients stopped");
		putchar('\n');
		json_decref(o);
		rc = fflush(stdout) == 0 ? CTL_OK : CTL_IO;
	}
	ctl_resp_free(&resp);
	return rc;
}

int
ctl_alert(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct {
		const char	*name;
		int		(*run)(const struct ctl_conn *, int, char **);
	} cmds[] = {
		{ "send",	alert_send },
		{ "list",	alert_list },
		{ "show",	alert_show },
		{ "recipients",	alert_recipients },
		{ "cancel",	alert_cancel },
	};
	size_t i;

	if (argc < 2)
		return ctl_usage_error("alert wants send, list, show, "
		    "recipients or cancel");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(conn, argc - 1, argv + 1);
	return ctl_usage_error("unknown alert command '%s'", argv[1]);
}
