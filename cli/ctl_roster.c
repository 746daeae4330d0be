/*
 * ctl_roster.c - roster import, export and show.
 *
 * Import streams the file to the daemon (rosters reach ~100 MB); export
 * streams the answer to stdout or to a file that is replaced only when the
 * whole answer has arrived, so a failed export never clobbers the last
 * good copy.
 */
#include "ctl.h"

#include <jansson.h>

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- import ------------------------------------------------------------ */

static bool
roster_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static json_int_t
roster_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* "imported 612345 posts in 613500 nodes (replace): 5 added, ..." */
static int
roster_import_summary(const struct ctl_resp *resp)
{
	json_t *o;
	const char *mode;

	o = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		return ctl_failx(CTL_REFUSED, "roster import", "%ld, but the "
		    "answer is not JSON; the import may have happened",
		    resp->status);
	}
	mode = json_string_value(json_object_get(o, "mode"));
	printf("imported %" JSON_INTEGER_FORMAT " posts in %"
	    JSON_INTEGER_FORMAT " nodes (%s): %" JSON_INTEGER_FORMAT
	    " added, %" JSON_INTEGER_FORMAT " updated, %" JSON_INTEGER_FORMAT
	    " removed",
	    roster_int(o, "rows"), roster_int(o, "nodes"),
	    mode != NULL ? mode : "?", roster_int(o, "posts_added"),
	    roster_int(o, "posts_updated"), roster_int(o, "posts_removed"));
	if (roster_int(o, "nodes_removed") > 0)
		printf(", %" JSON_INTEGER_FORMAT " nodes removed",
		    roster_int(o, "nodes_removed"));
	putchar('\n');
	json_decref(o);
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

/* Open the roster to send; "-" is stdin. */
static FILE *
roster_import_open(const char *file, int *err)
{
	struct stat st;
	FILE *f;

	if (strcmp(file, "-") == 0)
		return stdin;
	if ((f = fopen(file, "rb")) == NULL) {
		*err = errno;
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		*err = EISDIR;
		return NULL;
	}
	return f;
}

static int
roster_import(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "replace", no_argument,       NULL, 'r' },
		{ "format",  required_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "POST" };
	struct ctl_resp resp;
	const char *format = NULL, *file;
	bool replace = false;
	int ch, rc, err = 0;

	while ((ch = getopt_long(argc, argv, ":rf:", opts, NULL)) != -1) {
		if (ch == 'r')
			replace = true;
		else if (ch == 'f')
			format = optarg;
		else
			return ctl_opt_error("roster import", ch, argv,
			    "roster import FILE [--replace] "
			    "[--format csv|json]");
	}
	if (argc - optind != 1)
		return ctl_usage_error("roster import wants one FILE ('-' for "
		    "stdin)");
	file = argv[optind];
	if (format == NULL)
		format = roster_ends_with(file, ".json") ? "json" : "csv";
	if (strcmp(format, "json") == 0)
		req.ctype = "application/json";
	else if (strcmp(format, "csv") == 0)
		req.ctype = "text/csv";
	else
		return ctl_usage_error("roster import --format is csv or json, "
		    "not '%s'", format);
	req.path = replace ? "/v1/roster?mode=replace" :
	    "/v1/roster?mode=merge";

	if ((req.body_file = roster_import_open(file, &err)) == NULL)
		return ctl_failx(CTL_IO, "roster import", "cannot open %s: %s",
		    file, strerror(err));
	rc = ctl_http(conn, &req, &resp);
	if (req.body_file != stdin)
		fclose(req.body_file);
	if (rc == CTL_IO && resp.read_errno != 0)
		rc = ctl_failx(CTL_IO, "roster import", "reading %s: %s",
		    strcmp(file, "-") == 0 ? "stdin" : file,
		    strerror(resp.read_errno));
	else if (rc != CTL_OK || !ctl_resp_ok(&resp))
		rc = ctl_fail("roster import", rc, &resp);
	else
		rc = roster_import_summary(&resp);
	ctl_resp_free(&resp);
	return rc;
}

/* ---- export ------------------------------------------------------------ */

/* a + b in fresh memory, or NULL. */
static char *
roster_strcat(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);
	char *r;

	if ((r = malloc(n + m + 1)) == NULL)
		return NULL;
	memcpy(r, a, n);
	memcpy(r + n, b, m + 1);
	return r;
}

/* Where an export goes: stdout, a device as is, or a temp file to rename. */
struct roster_out {
	FILE	*f;
	char	*path;		/* the name the user gave, or NULL = stdout */
	char	*tmp;		/* the temp file renamed over path, or NULL */
};

static int
roster_out_open(struct roster_out *o, const char *path)
{
	struct stat st;
	mode_t mask, mode;
	bool exists;
	int fd;

	memset(o, 0, sizeof(*o));
	if (path == NULL || strcmp(path, "-") == 0) {
		o->f = stdout;
		return 0;
	}
	exists = lstat(path, &st) == 0;
	/* A device, fifo or symlink (/dev/null, a pipe) is written in place. */
	if (exists && !S_ISREG(st.st_mode)) {
		o->f = fopen(path, "wb");
		return o->f != NULL ? 0 : -1;
	}
	/* Keep an existing file's mode; a new one gets what umask allows. */
	mask = umask(0);
	umask(mask);
	mode = exists ? st.st_mode & 07777 : 0666 & ~mask;
	if ((o->path = strdup(path)) == NULL ||
	    (o->tmp = roster_strcat(path, ".XXXXXX")) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if ((fd = mkstemp(o->tmp)) == -1) {
		free(o->tmp);
		o->tmp = NULL;
		return -1;
	}
	if (fchmod(fd, mode) == -1 || (o->f = fdopen(fd, "wb")) == NULL) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return 0;
}

/* Finish the output; ok says whether the whole answer arrived. */
static int
roster_out_close(struct roster_out *o, bool ok)
{
	int rc = 0, e = 0;

	if (o->f == stdout) {
		rc = fflush(stdout) == 0 ? 0 : -1;
	} else {
		if (o->f != NULL && fclose(o->f) != 0 && ok) {
			e = errno;
			rc = -1;
		}
		if (o->tmp != NULL && ok && rc == 0 &&
		    rename(o->tmp, o->path) == -1) {
			e = errno;
			rc = -1;
		}
		if (o->tmp != NULL && (!ok || rc == -1))
			unlink(o->tmp);
		errno = e;
	}
	free(o->tmp);
	free(o->path);
	o->tmp = o->path = NULL;
	return rc;
}

static const char *
roster_export_route(const char *format)
{
	if (strcmp(format, "csv") == 0)
		return "/v1/roster.csv";
	if (strcmp(format, "json") == 0)
		return "/v1/roster";
	if (strcmp(format, "html") == 0)
		return "/v1/roster.html";
	return NULL;
}

/* route?under=CODE&public=1, each part only when asked for. */
static char *
roster_export_path(const char *route, const char *under, bool public)
{
	char *enc = NULL, *p;
	size_t len;

	if (under != NULL && (enc = ctl_escape(under)) == NULL)
		return NULL;
	len = strlen(route) + (enc != NULL ? strlen(enc) : 0) + 32;
	if ((p = malloc(len)) != NULL)
		snprintf(p, len, "%s%s%s%s", route,
		    enc != NULL ? "?under=" : "", enc != NULL ? enc : "",
		    public ? (enc != NULL ? "&public=1" : "?public=1") : "");
	free(enc);
	return p;
}

int
ctl_download(const struct ctl_conn *conn, const char *what, const char *path,
    const char *outfile)
{
	struct ctl_req req = { .method = "GET", .path = path };
	struct ctl_resp resp;
	struct roster_out out;
	const char *shown = outfile != NULL ? outfile : "stdout";
	int rc;

	if (roster_out_open(&out, outfile) == -1) {
		rc = ctl_failx(CTL_IO, what, "cannot write %s: %s",
		    shown, strerror(errno));
		roster_out_close(&out, false);
		return rc;
	}
	req.out = out.f;
	rc = ctl_http(conn, &req, &resp);
	if (rc == CTL_IO && resp.write_errno != 0) {
		roster_out_close(&out, false);
		/* The reader went away (| head): nothing to say to it. */
		if (resp.write_errno != EPIPE)
			ctl_failx(rc, what, "writing %s: %s", shown,
			    strerror(resp.write_errno));
	} else if (rc != CTL_OK || !ctl_resp_ok(&resp)) {
		roster_out_close(&out, false);
		rc = ctl_fail(what, rc, &resp);
	} else if (roster_out_close(&out, true) == -1) {
		rc = CTL_IO;
		if (errno != EPIPE)
			ctl_failx(rc, what, "writing %s: %s", shown,
			    strerror(errno));
	}
	ctl_resp_free(&resp);
	return rc;
}

static int
roster_export(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "public", no_argument,       NULL, 'p' },
		{ "under",  required_argument, NULL, 'U' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *under = NULL, *format = "csv", *outfile = NULL, *route;
	bool public = false;
	char *path;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":pU:f:o:", opts, NULL)) != -1) {
		switch (ch) {
		case 'p': public = true; break;
		case 'U': under = optarg; break;
		case 'f': format = optarg; break;
		case 'o': outfile = optarg; break;
		default:
			return ctl_opt_error("roster export", ch, argv,
			    "roster export [--public] [--under CODE] "
			    "[--format csv|json|html] [-o FILE]");
		}
	}
	if (optind != argc)
		return ctl_usage_error("roster export takes no argument '%s'",
		    argv[optind]);
	if ((route = roster_export_route(format)) == NULL)
		return ctl_usage_error("roster export --format is csv, json or "
		    "html, not '%s'", format);
	if (under != NULL && *under == '\0')
		return ctl_usage_error("roster export --under wants a node "
		    "code");
	if ((path = roster_export_path(route, under, public)) == NULL)
		return ctl_failx(CTL_IO, "roster export", "out of memory");
	rc = ctl_download(conn, "roster export", path, outfile);
	free(path);
	return rc;
}

/* ---- show ------------------------------------------------------------- */

static const struct {
	const char	*role;
	const char	*label;
} roster_roles[] = {
	{ "grid_leader",	"grid leader" },
	{ "building_leader",	"building leader" },
	{ "unit_leader",	"unit leader" },
	{ "villager_rep",	"villager representative" },
	{ "duty_officer",	"duty officer" },
};

static const char *
roster_role_english(const char *role)
{
	size_t i;

	for (i = 0; i < sizeof(roster_roles) / sizeof(roster_roles[0]); i++)
		if (strcmp(role, roster_roles[i].role) == 0)
			return roster_roles[i].label;
	return role;
}

static const char *
roster_str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* 13800000002 -> 138****0002; anything else (already masked) as is. */
static void
roster_phone(const char *in, bool full, char *out, size_t len)
{
	size_t n = strlen(in);

	if (full || n != 11 || strspn(in, "0123456789") != 11) {
		snprintf(out, len, "%s", in);
		return;
	}
	snprintf(out, len, "%.3s****%s", in, in + 7);
}

/* One channel's name: what precedes '=' in "name=value". */
static void
roster_channel(const char *s, size_t len, size_t *n)
{
	size_t k = strcspn(s, "=");

	if (k > len)
		k = len;
	if (k > 0)
		printf("%s%.*s", (*n)++ == 0 ? "  [" : ", ", (int)k, s);
}

/*
 * Only the channel names: values can be webhook URLs with secrets in them.
 * The daemon may send "k=v;k=v", an object or an array.
 */
static void
roster_channels(const json_t *ch)
{
	const char *s, *key;
	const json_t *v;
	size_t i, k, n = 0;

	if (json_is_string(ch)) {
		for (s = json_string_value(ch); *s != '\0'; s += k) {
			k = strcspn(s, ";");
			roster_channel(s, k, &n);
			k += s[k] == ';';
		}
	} else if (json_is_object(ch)) {
		json_object_foreach((json_t *)ch, key, v)
			roster_channel(key, strlen(key), &n);
	} else if (json_is_array(ch)) {
		json_array_foreach(ch, i, v)
			if ((s = json_string_value(v)) != NULL)
				roster_channel(s, strlen(s), &n);
	}
	if (n > 0)
		putchar(']');
}

/* ASCII columns first, the (CJK, variable width) name last. */
static void
roster_show_post(const json_t *post, bool full)
{
	const json_t *rank = json_object_get(post, "rank");
	char phone[64], rk[24];

	if (json_integer_value(rank) == 1 || json_integer_value(rank) == 2)
		snprintf(rk, sizeof(rk), "%s",
		    json_integer_value(rank) == 1 ? "A" : "B");
	else
		snprintf(rk, sizeof(rk), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(rank));
	roster_phone(roster_str(post, "phone"), full, phone, sizeof(phone));
	printf("    %-24s %-2s %-11s  %s", roster_role_english(roster_str(post,
	    "role")), rk, phone, roster_str(post, "name"));
	roster_channels(json_object_get(post, "channels"));
	putchar('\n');
}

static void
roster_show_children(const json_t *children, const char *indent)
{
	const json_t *c;
	size_t i;

	json_array_foreach(children, i, c)
		printf("%s%-10s %s  %s\n", indent, roster_str(c, "kind"),
		    roster_str(c, "code"), roster_str(c, "name"));
}

static void
roster_show_node(const json_t *node, bool full)
{
	const json_t *posts = json_object_get(node, "posts");
	const json_t *children = json_object_get(node, "children");
	const json_t *parent = json_object_get(node, "parent");
	const json_t *p;
	size_t i;

	printf("%s %s  %s%s\n", roster_str(node, "kind"),
	    roster_str(node, "code"), roster_str(node, "name"),
	    json_is_true(json_object_get(node, "village")) ? "  (village)" :
	    "");
	if (json_is_string(parent))
		printf("  parent: %s\n", json_string_value(parent));
	if (json_array_size(posts) == 0)
		printf("  posts: none (vacant)\n");
	else
		printf("  posts: %zu\n", json_array_size(posts));
	json_array_foreach(posts, i, p)
		roster_show_post(p, full);
	if (json_array_size(children) == 0)
		printf("  children: none\n");
	else
		printf("  children: %zu\n", json_array_size(children));
	roster_show_children(children, "    ");
}

static void
roster_show_roots(const json_t *o)
{
	const json_t *children = json_object_get(o, "children");

	if (json_array_size(children) == 0) {
		printf("no nodes (the roster is empty, or none is in scope)\n");
		return;
	}
	printf("roots: %zu\n", json_array_size(children));
	roster_show_children(children, "  ");
}

/* /v1/nodes/CODE with each segment encoded and the '/' kept. */
static char *
roster_node_path(const char *code)
{
	const char *seg = code;
	char *p, *tmp, *enc;
	size_t cap, len;

	if (code == NULL)
		return strdup("/v1/nodes");
	cap = strlen("/v1/nodes") + 3 * strlen(code) + 2;
	if ((p = malloc(cap)) == NULL)
		return NULL;
	len = (size_t)snprintf(p, cap, "/v1/nodes");
	while (*seg != '\0') {
		size_t n = strcspn(seg, "/");

		if (n == 0 || (tmp = strndup(seg, n)) == NULL)
			goto fail;
		enc = ctl_escape(tmp);
		free(tmp);
		if (enc == NULL)
			goto fail;
		len += (size_t)snprintf(p + len, cap - len, "/%s", enc);
		free(enc);
		seg += n;
		if (*seg == '/' && *++seg == '\0')
			goto fail;	/* trailing '/' */
	}
	return p;
fail:
	free(p);
	return NULL;
}

static int
roster_show_print(const struct ctl_resp *resp, bool raw, bool roots, bool full)
{
	json_t *o;

	if (raw) {
		fwrite(resp->body, 1, resp->len, stdout);
		if (resp->len > 0 && resp->body[resp->len - 1] != '\n')
			putchar('\n');
	} else {
		o = json_loadb(resp->body != NULL ? resp->body : "", resp->len,
		    0, NULL);
		if (!json_is_object(o)) {
			json_decref(o);
			return ctl_failx(CTL_REFUSED, "roster show", "%ld, but "
			    "the answer is not JSON", resp->status);
		}
		if (roots)
			roster_show_roots(o);
		else
			roster_show_node(o, full);
		json_decref(o);
	}
	return fflush(stdout) == 0 ? CTL_OK : CTL_IO;
}

static int
roster_show(const struct ctl_conn *conn, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "full", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	struct ctl_req req = { .method = "GET" };
	struct ctl_resp resp;
	const char *code = NULL;
	bool raw = false, full = false;
	char *path;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":jF", opts, NULL)) != -1) {
		if (ch == 'j')
			raw = true;
		else if (ch == 'F')
			full = true;
		else
			return ctl_opt_error("roster show", ch, argv,
			    "roster show [CODE] [--json] [--full]");
	}
	if (argc - optind > 1)
		return ctl_usage_error("roster show wants at most one CODE");
	if (argc - optind == 1)
		code = argv[optind];
	if (code != NULL && (*code == '\0' || *code == '/' ||
	    strstr(code, "//") != NULL || code[strlen(code) - 1] == '/'))
		return ctl_usage_error("'%s' is not a node code (e.g. "
		    "220104001001/G01/12)", code);
	if ((path = roster_node_path(code)) == NULL)
		return ctl_failx(CTL_IO, "roster show", "out of memory");
	req.path = path;
	rc = ctl_http(conn, &req, &resp);
	if (rc != CTL_OK || !ctl_resp_ok(&resp))
		rc = ctl_fail("roster show", rc, &resp);
	else
		rc = roster_show_print(&resp, raw, code == NULL, full);
	ctl_resp_free(&resp);
	free(path);
	return rc;
}

int
ctl_roster(const struct ctl_conn *conn, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage_error("roster wants import, export or show");
	if (strcmp(argv[1], "import") == 0)
		return roster_import(conn, argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return roster_export(conn, argc - 1, argv + 1);
	if (strcmp(argv[1], "show") == 0)
		return roster_show(conn, argc - 1, argv + 1);
	return ctl_usage_error("unknown roster command '%s'", argv[1]);
}
