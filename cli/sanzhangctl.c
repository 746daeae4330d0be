/*
 * sanzhangctl.c - the control client: global options, command dispatch,
 * usage, and the health command.
 */
#include "ctl.h"

#include <curl/curl.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int
ctl_failx(int code, const char *what, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "sanzhangctl: %s failed: ", what);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int
ctl_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("sanzhangctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'sanzhangctl --help'.\n", stderr);
	return CTL_USAGE;
}

int
ctl_opt_error(const char *cmd, int ch, char **argv, const char *synopsis)
{
	const char *opt = argv[optind - 1];
	const char *what = ch == ':' ? "needs a value" : "is unknown";

	if (strncmp(opt, "--", 2) == 0)
		fprintf(stderr, "sanzhangctl: %s: option '%.*s' %s\n", cmd,
		    (int)strcspn(opt, "="), opt, what);
	else
		fprintf(stderr, "sanzhangctl: %s: option '-%c' %s\n", cmd,
		    optopt, what);
	fprintf(stderr, "usage: sanzhangctl %s\n", synopsis);
	return CTL_USAGE;
}

static void
usage(FILE *f)
{
	fputs(
"usage: sanzhangctl [--socket PATH] [--url URL] [--token TOKEN]\n"
"                   [--timeout SEC] COMMAND ...\n"
"\n"
"Commands:\n"
"  roster import FILE [--replace] [--format csv|json]\n"
"        import a roster (FILE '-' = stdin); merge by default, --replace\n"
"        drops what FILE does not list.  JSON when FILE ends in .json.\n"
"  roster export [--public] [--under CODE] [--format csv|json|html] [-o FILE]\n"
"        write the roster (or the subtree under CODE); --public masks\n"
"        phones, for posting (挂牌公示).\n"
"  roster show [CODE] [--json] [--full]\n"
"        a node, its posts and children; no CODE lists the roots.\n"
"        Phones are masked unless --full.\n"
"  alert send --kind K --title T --body B --target CODE... [--severity S]\n"
"             [--role R]... [--response TEXT]... [--escalation NAME]\n"
"             [--expires-in SEC] [--idempotency-key KEY] [--json]\n"
"  alert send --file FILE.json [--idempotency-key KEY] [--json]\n"
"        start an alert (kind emergency, drill or notice) to the posts\n"
"        under each CODE; FILE '-' = stdin, sent as is.  The same KEY\n"
"        again gives back the first alert instead of a second one.\n"
"  alert list [--state active|cancelled|expired] [--json]\n"
"        the newest alerts (at most 100).\n"
"  alert show ID|CODE [--json]\n"
"        an alert, its recipients counted by state, and per grid.  An\n"
"        alert is named by its id (7) or its short code (A7).\n"
"  alert recipients ID|CODE [--state S] [--json] [--full]\n"
"        who was reached and who answered; phones masked unless --full.\n"
"  alert cancel ID|CODE\n"
"        stop an alert's pending sends and escalations (解除).\n"
"  alert report ID|CODE [--format json|csv|html] [-o FILE]\n"
"        the after-action (drill) report: per grid and community, time to\n"
"        answer per role, who never answered, failed numbers, escalations;\n"
"        html is a printable page with charts.\n"
"  alert watch ID|CODE [--interval SEC]\n"
"        follow an alert until everyone has answered or it ends: a bar\n"
"        per grid on a terminal, a line per change otherwise.\n"
"  ack ID|CODE PHONE [--response N] [--json]\n"
"        record the answer a leader gave by telephone (N = the alert's\n"
"        option, 1 = the first, default); audited.\n"
"  health\n"
"        the daemon's liveness answer.\n"
"  token new --name NAME --role admin|operator|viewer [--scope CODE]...\n"
"        make an API token locally; prints the secret once and the line\n"
"        to add to tokens in sanzhangd.conf.\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the control socket (default $SANZHANG_SOCKET, else\n"
"                      " CTL_DEFAULT_SOCKET ")\n"
"  -u, --url URL       talk to the HTTP API over TCP instead, e.g.\n"
"                      http://127.0.0.1:8787 (needs a token)\n"
"  -t, --token TOKEN   bearer token for --url; prefer $SANZHANG_TOKEN, since\n"
"                      a command line is visible to others in ps\n"
"  -T, --timeout SEC   give up after SEC seconds (default 300; 0 = never)\n"
"  -h, --help          this help\n"
"  -V, --version       print the version\n"
"\n"
"Exit status: 0 done, 1 the daemon refused, 2 usage error, 3 cannot reach\n"
"the daemon, 4 local I/O error.\n", f);
}

static int
parse_timeout(const char *s, long *out)
{
	char *end;
	long v;

	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < 0 || v > 86400)
		return -1;
	*out = v;
	return 0;
}

static int
cmd_health(const struct ctl_conn *conn, int argc, char **argv)
{
	struct ctl_req req = { .method = "GET", .path = "/healthz" };
	struct ctl_resp resp;
	int rc;

	(void)argv;
	if (argc != 1)
		return ctl_usage_error("health takes no arguments");
	rc = ctl_http(conn, &req, &resp);
	if (rc != CTL_OK || !ctl_resp_ok(&resp)) {
		rc = ctl_fail("health", rc, &resp);
		ctl_resp_free(&resp);
		return rc;
	}
	if (resp.len > 0) {
		fwrite(resp.body, 1, resp.len, stdout);
		if (resp.body[resp.len - 1] != '\n')
			putchar('\n');
	}
	ctl_resp_free(&resp);
	if (fflush(stdout) != 0)
		return CTL_IO;
	return CTL_OK;
}

/* Global options; they stop at the command word ("+"). */
static int
parse_globals(int argc, char **argv, struct ctl_conn *conn, int *done)
{
	static const struct option opts[] = {
		{ "socket",  required_argument, NULL, 's' },
		{ "url",     required_argument, NULL, 'u' },
		{ "token",   required_argument, NULL, 't' },
		{ "timeout", required_argument, NULL, 'T' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *sock_opt = NULL;
	int ch;

	*done = 0;
	while ((ch = getopt_long(argc, argv, "+s:u:t:T:hV", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 's':
			sock_opt = optarg;
			break;
		case 'u':
			conn->url = optarg;
			break;
		case 't':
			conn->token = optarg;
			break;
		case 'T':
			if (parse_timeout(optarg, &conn->timeout) == -1)
				return ctl_usage_error("--timeout wants "
				    "seconds from 0 to 86400, not '%s'",
				    optarg);
			break;
		case 'h':
			usage(stdout);
			*done = 1;
			return CTL_OK;
		case 'V':
			printf("sanzhangctl %s\n", CTL_VERSION);
			*done = 1;
			return CTL_OK;
		default:
			fputs("Try 'sanzhangctl --help'.\n", stderr);
			return CTL_USAGE;
		}
	}
	if (sock_opt != NULL && conn->url != NULL)
		return ctl_usage_error("give either --socket or --url, not "
		    "both");
	if (sock_opt != NULL)
		conn->socket = sock_opt;
	if (conn->url != NULL && strncmp(conn->url, "http://", 7) != 0 &&
	    strncmp(conn->url, "https://", 8) != 0)
		return ctl_usage_error("--url must start with http:// or "
		    "https://, not '%s'", conn->url);
	if (conn->url == NULL && *conn->socket == '\0')
		return ctl_usage_error("the control socket path is empty");
	return CTL_OK;
}

static int
dispatch(const struct ctl_conn *conn, int argc, char **argv)
{
	if (strcmp(argv[0], "roster") == 0)
		return ctl_roster(conn, argc, argv);
	if (strcmp(argv[0], "alert") == 0)
		return ctl_alert(conn, argc, argv);
	if (strcmp(argv[0], "ack") == 0)
		return ctl_ack(conn, argc, argv);
	if (strcmp(argv[0], "health") == 0)
		return cmd_health(conn, argc, argv);
	if (strcmp(argv[0], "token") == 0)
		return ctl_token(argc, argv);
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return CTL_OK;
	}
	return ctl_usage_error("unknown command '%s'", argv[0]);
}

int
main(int argc, char **argv)
{
	struct ctl_conn conn = { .timeout = CTL_DEFAULT_TIMEOUT };
	const char *env;
	int rc, done;

	env = getenv("SANZHANG_SOCKET");
	conn.socket = env != NULL && *env != '\0' ? env : CTL_DEFAULT_SOCKET;
	if ((env = getenv("SANZHANG_TOKEN")) != NULL && *env != '\0')
		conn.token = env;

	rc = parse_globals(argc, argv, &conn, &done);
	if (rc != CTL_OK || done)
		return rc;
	if (optind >= argc) {
		usage(stderr);
		return CTL_USAGE;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("sanzhangctl: cannot initialise libcurl\n", stderr);
		return CTL_IO;
	}
	argc -= optind;
	argv += optind;
	/* Subcommands run getopt afresh on their own argv, and say
	 * themselves which command an unknown option was given to. */
	optind = 0;
	opterr = 0;
	rc = dispatch(&conn, argc, argv);
	curl_global_cleanup();
	return rc;
}
