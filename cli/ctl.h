/*
 * ctl.h - shared declarations for sanzhangctl, the control client.
 *
 * The client is a plain blocking program: one libcurl easy request per
 * command, over the daemon's unix control socket (admin by file
 * permission) or over TCP with a bearer token.
 */
#ifndef SANZHANG_CTL_H
#define SANZHANG_CTL_H

#ifdef HAVE_CONFIG_H
#include "config.h"		/* autoconf's, for PACKAGE_VERSION */
#endif

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Exit codes; scripts rely on them. */
enum ctl_exit {
	CTL_OK = 0,		/* success */
	CTL_REFUSED = 1,	/* the daemon answered 4xx/5xx (or nonsense) */
	CTL_USAGE = 2,		/* bad command line */
	CTL_UNREACHABLE = 3,	/* no connection, or no answer in time */
	CTL_IO = 4,		/* local I/O: a file to read or write */
};

#ifdef PACKAGE_VERSION
#define CTL_VERSION	PACKAGE_VERSION
#else
#define CTL_VERSION	"0.1.0"
#endif

/* The daemon's default control_socket (configure --runstatedir). */
#define CTL_DEFAULT_SOCKET	RUNSTATEDIR "/sanzhang/control.sock"
#define CTL_DEFAULT_TIMEOUT	300	/* seconds; a 100 MB import is slow */

/* Where and how to reach the daemon (the global options). */
struct ctl_conn {
	const char	*socket;	/* unix control socket, unless url */
	const char	*url;		/* TCP base: http://127.0.0.1:8787 */
	const char	*token;		/* bearer token, sent only with url */
	long		 timeout;	/* whole request, seconds; 0 = none */
};

/* One request. */
struct ctl_req {
	const char	*method;	/* "GET" or "POST" */
	const char	*path;		/* from '/', already URL-encoded */
	const char	*ctype;		/* Content-Type of the body, or NULL */
	const char *const *headers;	/* more "Name: value" lines, NULL-
					 * terminated, or NULL; the caller
					 * has checked them */
	FILE		*body_file;	/* body streamed from here, or NULL */
	const char	*body;		/* else body from memory, or NULL */
	size_t		 body_len;
	FILE		*out;		/* a 2xx body is streamed here; NULL
					 * keeps it in ctl_resp.body */
};

/* The answer, or why there is none. */
struct ctl_resp {
	long		 status;	/* HTTP status; 0 when none came */
	char		*ctype;		/* Content-Type, or NULL */
	char		*body;		/* NUL-terminated; an error body is
					 * always kept here, even with out */
	size_t		 len;
	int		 read_errno;	/* errno of a failed body_file read */
	int		 write_errno;	/* errno when writing to out failed */
	char		 err[512];	/* why ctl_http() failed */
};

/*
 * Perform one request.  Returns CTL_OK when an answer came back, whatever
 * its status; otherwise CTL_UNREACHABLE, CTL_IO or CTL_USAGE with
 * resp->err set.  Free the response with ctl_resp_free() in every case.
 */
int ctl_http(const struct ctl_conn *conn, const struct ctl_req *req,
    struct ctl_resp *resp);
void ctl_resp_free(struct ctl_resp *resp);

/* Whether the answer is a 2xx. */
bool ctl_resp_ok(const struct ctl_resp *resp);

/*
 * Report a failed request on stderr, the first line being
 * "sanzhangctl: WHAT failed: ..." (the daemon's error code and message,
 * then any rejected rows), and return the exit code to use.  rc is what
 * ctl_http() returned.
 */
int ctl_fail(const char *what, int rc, const struct ctl_resp *resp);

/* "sanzhangctl: WHAT failed: <printf>" on stderr; returns code. */
int ctl_failx(int code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Print a usage error (with a hint to --help) and return CTL_USAGE. */
int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Report what getopt_long() returned as ch ('?' unknown, ':' no value;
 * the optstring starts with ':') for command cmd, show its synopsis, and
 * return CTL_USAGE.
 */
int ctl_opt_error(const char *cmd, int ch, char **argv, const char *synopsis);

/* URL-encode s (every byte but the unreserved ones); NULL when no memory. */
char *ctl_escape(const char *s);

/* Commands: argv[0] is the command word; return an exit code. */
int ctl_roster(const struct ctl_conn *conn, int argc, char **argv);
int ctl_token(int argc, char **argv);
int ctl_alert(const struct ctl_conn *conn, int argc, char **argv);
int ctl_ack(const struct ctl_conn *conn, int argc, char **argv);
/*
 * GET path into outfile (NULL: stdout), written whole or not at all (a
 * temporary file renamed at the end); what names the command in errors.
 */
int ctl_download(const struct ctl_conn *conn, const char *what,
    const char *path, const char *outfile);

/*
 * Shared by the alert commands: ctl_alert.c (send, cancel and these
 * helpers) and ctl_alert_show.c (list, show, recipients).
 */

/* o[key] as a string, or dflt; o[key] as an integer, 0 when none. */
const char *alert_str(const json_t *o, const char *key, const char *dflt);
long long alert_int(const json_t *o, const char *key);

/* Print s with control characters blanked; newlines become nl. */
void alert_text(const char *s, const char *nl);

/* The answer's short code ("A7"), else one made from its id. */
void alert_code_of(const json_t *o, char *buf, size_t len);

/*
 * Perform req; a failure is reported as what (with the offending field
 * of a 400 invalid_alert) and its exit code returned.
 */
int alert_call(const struct ctl_conn *conn, const char *what,
    const struct ctl_req *req, struct ctl_resp *resp);

/* The 2xx answer as a JSON object, or NULL after saying why not (+hint). */
json_t *alert_parse(const char *what, const struct ctl_resp *resp,
    const char *hint);

/* --json: the answer as it came, newline-terminated; an exit code. */
int alert_raw(const struct ctl_resp *resp);

/* One "  vacant: ..." line per entry of the vacancies array. */
void alert_vacancies(const json_t *vac);

/* The one positional ID|CODE of cmd into *id, or CTL_USAGE after saying. */
int alert_arg(const char *cmd, int argc, char **argv, long long *id);

/* Alert subcommands in ctl_alert_show.c; argv[0] is "list" etc. */
int alert_list(const struct ctl_conn *conn, int argc, char **argv);
int alert_show(const struct ctl_conn *conn, int argc, char **argv);
int alert_recipients(const struct ctl_conn *conn, int argc, char **argv);
int alert_report(const struct ctl_conn *conn, int argc, char **argv);
int alert_watch(const struct ctl_conn *conn, int argc, char **argv);

#endif
