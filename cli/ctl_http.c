/*
 * ctl_http.c - one blocking HTTP request on libcurl easy, and the
 * reporting of what went wrong with it.
 *
 * Blocking is fine here: the client does one thing and exits.  Request
 * bodies are streamed from a FILE so a 100 MB roster is never held in
 * memory; a 2xx answer may be streamed to a FILE too.  Error answers are
 * always kept in memory so they can be shown.
 */
#include "ctl.h"

#include <curl/curl.h>
#include <jansson.h>

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* An answer kept in memory larger than this is cut (and the request fails). */
#define HTTP_MAX_MEMBODY	(256u * 1024 * 1024)

/* Per-transfer state seen by the callbacks. */
struct http_xfer {
	CURL		*curl;
	FILE		*in;		/* request body source, or NULL */
	FILE		*out;		/* 2xx body sink, or NULL */
	struct ctl_resp	*resp;
	bool		 too_big;	/* memory body exceeded the cap */
};

static size_t
http_read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct http_xfer *x = arg;
	size_t n;

	n = fread(buf, 1, size * nitems, x->in);
	if (n == 0 && ferror(x->in)) {
		x->resp->read_errno = errno != 0 ? errno : EIO;
		return CURL_READFUNC_ABORT;
	}
	return n;
}

static bool
http_mem_append(struct http_xfer *x, const char *p, size_t len)
{
	struct ctl_resp *r = x->resp;
	char *nb;

	if (r->len + len > HTTP_MAX_MEMBODY) {
		x->too_big = true;
		return false;
	}
	if ((nb = realloc(r->body, r->len + len + 1)) == NULL)
		return false;
	memcpy(nb + r->len, p, len);
	r->len += len;
	nb[r->len] = '\0';
	r->body = nb;
	return true;
}

static size_t
http_write_cb(char *p, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t len = size * nmemb;
	long code = 0;

	curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &code);
	if (x->out != NULL && code >= 200 && code < 300) {
		errno = 0;
		if (fwrite(p, 1, len, x->out) != len) {
			x->resp->write_errno = errno != 0 ? errno : EIO;
			return 0;
		}
		return len;
	}
	return http_mem_append(x, p, len) ? len : 0;
}

/* The base URL without trailing slashes, plus the path. */
static char *
http_url(const struct ctl_conn *conn, const char *path)
{
	const char *base = conn->url != NULL ? conn->url : "http://localhost";
	size_t blen = strlen(base);
	char *u;

	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if ((u = malloc(blen + strlen(path) + 1)) == NULL)
		return NULL;
	memcpy(u, base, blen);
	strcpy(u + blen, path);
	return u;
}

/* A token goes into a header: refuse anything that could split it. */
static bool
http_token_ok(const char *t)
{
	if (*t == '\0')
		return false;
	for (; *t != '\0'; t++)
		if ((unsigned char)*t <= ' ' || (unsigned char)*t >= 0x7f)
			return false;
	return true;
}

/* The request headers into *out (NULL when none): CTL_OK or an exit code. */
static int
http_headers(const struct ctl_conn *conn, const struct ctl_req *req,
    bool chunked, struct curl_slist **out, char *errbuf, size_t errlen)
{
	struct curl_slist *h = NULL, *nh;
	char line[1024];

	if (req->ctype != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s", req->ctype);
		if ((nh = curl_slist_append(h, line)) == NULL)
			goto nomem;
		h = nh;
	}
	for (size_t i = 0; req->headers != NULL && req->headers[i] != NULL;
	    i++) {
		if ((nh = curl_slist_append(h, req->headers[i])) == NULL)
			goto nomem;
		h = nh;
	}
	/* Older libcurl wants it said to stream a POST of unknown size. */
	if (chunked) {
		nh = curl_slist_append(h, "Transfer-Encoding: chunked");
		if (nh == NULL)
			goto nomem;
		h = nh;
	}
	/* The token only ever goes over TCP: the socket is admin already. */
	if (conn->url != NULL && conn->token != NULL) {
		if (!http_token_ok(conn->token) || strlen(conn->token) > 512) {
			snprintf(errbuf, errlen, "the token holds spaces or "
			    "control characters, or is too long");
			curl_slist_free_all(h);
			return CTL_USAGE;
		}
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    conn->token);
		nh = curl_slist_append(h, line);
		explicit_bzero(line, sizeof(line));
		if (nh == NULL)
			goto nomem;
		h = nh;
	}
	*out = h;
	return CTL_OK;
nomem:
	snprintf(errbuf, errlen, "out of memory");
	curl_slist_free_all(h);
	return CTL_IO;
}

/* Set up the body: streamed (known size or chunked), memory, or none. */
static void
http_body(CURL *c, const struct ctl_req *req, struct http_xfer *x,
    bool *chunked)
{
	struct stat st;

	*chunked = false;
	if (strcmp(req->method, "POST") != 0)
		return;
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	if (req->body_file != NULL) {
		curl_easy_setopt(c, CURLOPT_READFUNCTION, http_read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, x);
		/* Size 0 may be a /proc-like file that has content anyway. */
		if (fstat(fileno(req->body_file), &st) == 0 &&
		    S_ISREG(st.st_mode) && st.st_size > 0) {
			off_t pos = ftello(req->body_file);
			curl_off_t left = (curl_off_t)st.st_size -
			    (pos > 0 ? (curl_off_t)pos : 0);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, left);
		} else {
			/* A pipe or stdin: size unknown, so chunked. */
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)-1);
			*chunked = true;
		}
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS,
		    req->body != NULL ? req->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)(req->body != NULL ? req->body_len : 0));
	}
}

/* Name the daemon the way the user named it. */
static const char *
http_where(const struct ctl_conn *conn)
{
	return conn->url != NULL ? conn->url : conn->socket;
}

/* Turn a transport failure into an exit code and one readable line. */
static int
http_transport_error(const struct ctl_conn *conn, CURLcode cc,
    const struct http_xfer *x, long oserr, const char *cerr,
    struct ctl_resp *resp)
{
	const char *where = http_where(conn);
	const char *why;
	char *e = resp->err;
	size_t el = sizeof(resp->err);

	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
	case CURLE_READ_ERROR:
		snprintf(e, el, "reading the request body: %s",
		    strerror(resp->read_errno != 0 ? resp->read_errno : EIO));
		return CTL_IO;
	case CURLE_WRITE_ERROR:
		if (resp->write_errno != 0) {
			snprintf(e, el, "writing the answer: %s",
			    strerror(resp->write_errno));
			return CTL_IO;
		}
		if (x->too_big)
			snprintf(e, el, "the answer from %s is larger than "
			    "%u MB", where, HTTP_MAX_MEMBODY >> 20);
		else
			snprintf(e, el, "out of memory");
		return CTL_IO;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		snprintf(e, el, "bad --url %s: %s", where, cerr);
		return CTL_USAGE;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(e, el, "no answer from sanzhangd at %s within %ld s "
		    "(raise --timeout?)", where, conn->timeout);
		return CTL_UNREACHABLE;
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(e, el, "cannot reach sanzhangd at %s: %s (check "
		    "--url)", where, cerr);
		return CTL_UNREACHABLE;
	case CURLE_COULDNT_CONNECT:
		why = oserr != 0 ? strerror((int)oserr) : cerr;
		if (conn->url != NULL)
			snprintf(e, el, "cannot reach sanzhangd at %s: %s (is "
			    "sanzhangd running and listening there? check "
			    "--url)", where, why);
		else if (oserr == EACCES || oserr == EPERM)
			snprintf(e, el, "cannot reach sanzhangd at %s: %s (the "
			    "control socket is for its administrators; or use "
			    "--url with a token)", where, why);
		else
			snprintf(e, el, "cannot reach sanzhangd at %s: %s (is "
			    "sanzhangd running? name its control socket with "
			    "--socket PATH or $SANZHANG_SOCKET)", where, why);
		return CTL_UNREACHABLE;
	default:
		snprintf(e, el, "talking to sanzhangd at %s: %s", where,
		    cerr[0] != '\0' ? cerr : curl_easy_strerror(cc));
		return CTL_UNREACHABLE;
	}
}

static void
http_setup(CURL *c, const struct ctl_conn *conn, const char *url,
    char *cerr, struct http_xfer *x)
{
	long ct = 10;

	curl_easy_setopt(c, CURLOPT_URL, url);
	if (conn->url == NULL)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, conn->socket);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sanzhangctl/" CTL_VERSION);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	/* Never follow a redirect: it would carry the token elsewhere. */
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(c, CURLOPT_PROTOCOLS,
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (conn->timeout > 0) {
		curl_easy_setopt(c, CURLOPT_TIMEOUT, conn->timeout);
		if (conn->timeout < ct)
			ct = conn->timeout;
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, ct);
}

int
ctl_http(const struct ctl_conn *conn, const struct ctl_req *req,
    struct ctl_resp *resp)
{
	struct http_xfer x = { .in = req->body_file, .out = req->out,
	    .resp = resp };
	struct curl_slist *hdrs = NULL;
	char cerr[CURL_ERROR_SIZE] = "";
	char *url = NULL, *ct = NULL;
	long oserr = 0;
	bool chunked;
	CURLcode cc;
	int rc = CTL_OK;

	memset(resp, 0, sizeof(*resp));
	if ((x.curl = curl_easy_init()) == NULL ||
	    (url = http_url(conn, req->path)) == NULL) {
		snprintf(resp->err, sizeof(resp->err), "cannot set up libcurl");
		rc = CTL_IO;
		goto out;
	}
	http_setup(x.curl, conn, url, cerr, &x);
	http_body(x.curl, req, &x, &chunked);
	rc = http_headers(conn, req, chunked, &hdrs, resp->err,
	    sizeof(resp->err));
	if (rc != CTL_OK)
		goto out;
	curl_easy_setopt(x.curl, CURLOPT_HTTPHEADER, hdrs);

	cc = curl_easy_perform(x.curl);
	curl_easy_getinfo(x.curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (curl_easy_getinfo(x.curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		resp->ctype = strdup(ct);
	if (cc != CURLE_OK) {
		curl_easy_getinfo(x.curl, CURLINFO_OS_ERRNO, &oserr);
		rc = http_transport_error(conn, cc, &x, oserr, cerr, resp);
	}
out:
	curl_slist_free_all(hdrs);	/* holds the token: curl copied it */
	if (x.curl != NULL)
		curl_easy_cleanup(x.curl);
	free(url);
	return rc;
}

void
ctl_resp_free(struct ctl_resp *resp)
{
	free(resp->body);
	free(resp->ctype);
	resp->body = resp->ctype = NULL;
	resp->len = 0;
}

bool
ctl_resp_ok(const struct ctl_resp *resp)
{
	return resp->status >= 200 && resp->status < 300;
}

char *
ctl_escape(const char *s)
{
	char *e, *r;

	if ((e = curl_easy_escape(NULL, s, 0)) == NULL)
		return NULL;
	r = strdup(e);		/* callers free() it, not curl_free() */
	curl_free(e);
	return r;
}

/* The rejected rows of a roster 400, one per line, then the rest counted. */
static void
fail_rows(const json_t *err, const json_t *top)
{
	const json_t *rows, *row, *more;
	size_t i;

	if ((rows = json_object_get(err, "rows")) == NULL)
		rows = json_object_get(top, "rows");
	if ((more = json_object_get(err, "more")) == NULL)
		more = json_object_get(top, "more");
	json_array_foreach(rows, i, row) {
		const char *reason = json_string_value(json_object_get(row,
		    "reason"));
		json_t *line = json_object_get(row, "line");

		if (reason == NULL)
			reason = "(no reason given)";
		if (json_is_integer(line))
			fprintf(stderr, "  line %" JSON_INTEGER_FORMAT ": %s\n",
			    json_integer_value(line), reason);
		else
			fprintf(stderr, "  %s\n", reason);
	}
	if (json_is_integer(more) && json_integer_value(more) > 0)
		fprintf(stderr, "  ... and %" JSON_INTEGER_FORMAT " more\n",
		    json_integer_value(more));
}

/* A non-JSON error body (a proxy page, say): show its first line. */
static void
fail_plain(const char *what, const struct ctl_resp *resp)
{
	const char *b = resp->body != NULL ? resp->body : "";
	int n = (int)strcspn(b, "\r\n");
	bool text = resp->ctype != NULL &&
	    strncmp(resp->ctype, "text/plain", 10) == 0;

	if (text && n > 0)
		ctl_failx(0, what, "%ld %.*s", resp->status,
		    n > 200 ? 200 : n, b);
	else
		ctl_failx(0, what, "%ld (%s)", resp->status,
		    resp->ctype != NULL ? resp->ctype : "no content type");
}

int
ctl_fail(const char *what, int rc, const struct ctl_resp *resp)
{
	json_t *top, *err;
	const char *code, *msg;

	if (rc != CTL_OK)
		return ctl_failx(rc, what, "%s", resp->err);
	top = json_loadb(resp->body != NULL ? resp->body : "", resp->len, 0,
	    NULL);
	err = json_object_get(top, "error");
	if (!json_is_object(err)) {
		if (ctl_resp_ok(resp))
			ctl_failx(0, what, "%ld, but the answer is not what "
			    "sanzhangctl expects", resp->status);
		else
			fail_plain(what, resp);
		json_decref(top);
		return CTL_REFUSED;
	}
	code = json_string_value(json_object_get(err, "code"));
	msg = json_string_value(json_object_get(err, "message"));
	ctl_failx(0, what, "%ld %s: %s", resp->status,
	    code != NULL ? code : "error", msg != NULL ? msg : "(no message)");
	fail_rows(err, top);
	if (resp->status == 401)
		fprintf(stderr, "  (check --token or $SANZHANG_TOKEN)\n");
	json_decref(top);
	return CTL_REFUSED;
}
