/*
 * ctl_alert.c - alert send and cancel, and what the alert commands share.
 *
 * An alert is named by its id (7) or its short code (A7: "A" and the id
 * in base 36), the code being what SMS replies and pages show.  Text that
 * other operators and recipients wrote (titles, names, replies) has its
 * control characters blanked, so it cannot move the cursor or fake lines.
 * List, show and recipients are in ctl_alert_show.c.
 */
#include "ctl.h"

#include <jansson.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ALERT_MAX_KEY	128	/* Idempotency-Key length the daemon takes */

/* ---- shared ------------------------------------------------------------ */

const char *
alert_str(const json_t *o, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : dflt;
}

long long
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
void
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
void
alert_code_of(const json_t *o, char *buf, size_t len)
{
	const char *c = json_string_value(json_object_get(o, "code"));

	if (c != NULL)
		snprintf(buf, len, "%s", c);
	else
		alert_code(alert_int(o, "id"), buf, len);
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
int
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
json_t *
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

int
alert_raw(const struct ctl_resp *resp)
{
	fwrite(resp->body, 1, resp->len, stdout);
	if (resp->len > 0 && resp->body[resp->len - 1] != '\n')
		putchar('\n');
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

void
alert_vacancies(const json_t *vac)
{
	const json_t *v;
	size_t i;

	json_array_foreach(vac, i, v)
		printf("  vacant: %s at %s (told: %s)\n", alert_str(v, "role",
		    "?"), alert_str(v, "code", "?"), alert_str(v, "notify",
		    "nobody"));
}

/* The one positional ID|CODE of show, recipients and cancel. */
int
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
		{ "report",	alert_report },
		{ "watch",	alert_watch },
	};
	size_t i;

	if (argc < 2)
		return ctl_usage_error("alert wants send, list, show, "
		    "recipients, cancel, report or watch");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].run(conn, argc - 1, argv + 1);
	return ctl_usage_error("unknown alert command '%s'", argv[1]);
}
