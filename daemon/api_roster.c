/*
 * api_roster.c - POST /v1/roster (import) and GET /v1/roster[.csv|.html].
 *
 * An import is parsed and validated on a reader thread (it can be a city
 * of 600,000 rows), checked against the caller's scope on the loop, then
 * applied by the writer in one durable transaction together with its
 * audit row.  Nothing is written unless every row is valid.
 */
#include "api.h"
#include "daemon.h"
#include "dbq.h"
#include "http.h"
#include "log.h"
#include "roster.h"
#include "store.h"

#include <event2/buffer.h>
#include <jansson.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Scope refusals listed in a 403 answer; the rest are counted. */
#define IMPORT_MAX_DENIED	100

struct import {
	struct req		*rq;
	struct evbuffer		*body;		/* owned by the job */
	bool			 json;
	bool			 replace;
	struct roster		*roster;
	struct roster_errors	*errs;
	char			 json_err[256];	/* a body that is not JSON */
	struct roster_apply_result res;
	struct roster_apply_opts opts;
	char			 detail[256];	/* for the audit row */
	double			 parse_s;	/* seconds spent parsing */
	double			 apply_s;	/* seconds spent writing */
};

static double
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Imports this large give their memory back to the system when done. */
#define IMPORT_TRIM_ROWS	10000
#define IMPORT_TRIM_BYTES	(1024 * 1024)

static void
import_free(struct import *im)
{
	bool big = im->roster != NULL && im->roster->n_posts >= IMPORT_TRIM_ROWS;

	if (im->body != NULL)
		evbuffer_free(im->body);
	roster_free(im->roster);
	roster_errors_free(im->errs);
	free(im);
	/*
	 * A city's roster is parsed in a reader thread's malloc arena; without
	 * this, each thread keeps its own ~100 MB after its first big import.
	 */
	if (big)
		malloc_trim(0);
}

/* The audit target of an import: the caller's scopes, or "*". */
static void
import_target(const struct caller *who, char *buf, size_t len)
{
	size_t off = 0;

	snprintf(buf, len, "*");
	for (size_t i = 0; i < who->n_scope && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i ? "," : "", who->scope[i]);
}

/* Refused or failed imports are audited too, with why. */
static void
import_audit_refusal(struct req *rq, const char *result, const char *why)
{
	char target[256];

	import_target(&rq->who, target, sizeof(target));
	http_audit(rq->d, &rq->who, "roster.import", target, result, why);
}

/* ---- parsing (reader thread) ------------------------------------------- */

static void
import_parse_csv(struct import *im, struct roster_parser *p)
{
	size_t len;
	char *line;

	while ((line = evbuffer_readln(im->body, &len, EVBUFFER_EOL_LF)) != NULL) {
		roster_parser_csv_line(p, line, len);
		free(line);
	}
	/* The last line may lack its newline. */
	if ((len = evbuffer_get_length(im->body)) > 0) {
		roster_parser_csv_line(p, (const char *)evbuffer_pullup(im->body,
		    -1), len);
		evbuffer_drain(im->body, len);
	}
}

/* One JSON item: an object with the CSV column names as keys. */
static void
import_json_item(struct roster_parser *p, json_t *item, uint32_t loc)
{
	static const char *const cols[ROSTER_NCOLS] = {
		"street_code", "street_name", "community_code", "community_name",
		"grid", "building", "unit", "role", "rank", "name", "phone",
		"channels",
	};
	const char *fields[ROSTER_NCOLS] = { NULL };
	char rank[24];
	const char *key;
	json_t *v;

	if (!json_is_object(item)) {
		roster_parser_error(p, loc, "item is not an object");
		return;
	}
	json_object_foreach(item, key, v) {
		size_t i;

		for (i = 0; i < ROSTER_NCOLS && strcmp(key, cols[i]) != 0; i++)
			;
		if (i == ROSTER_NCOLS) {
			roster_parser_error(p, loc, "unknown key \"%.40s\"", key);
			return;
		}
		if (json_is_string(v))
			fields[i] = json_string_value(v);
		else if (i == COL_RANK && json_is_integer(v)) {
			snprintf(rank, sizeof(rank), "%lld",
			    (long long)json_integer_value(v));
			fields[i] = rank;
		} else if (!json_is_null(v)) {
			roster_parser_error(p, loc, "%s: must be a string", key);
			return;
		}
	}
	roster_parser_fields(p, fields, loc);
}

static void
import_parse_json(struct import *im, struct roster_parser *p)
{
	size_t len = evbuffer_get_length(im->body);
	json_error_t jerr;
	json_t *doc, *items;
	size_t i;

	doc = json_loadb((const char *)evbuffer_pullup(im->body, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	evbuffer_drain(im->body, len);
	if (doc == NULL) {
		snprintf(im->json_err, sizeof(im->json_err), "line %d column %d: "
		    "%s", jerr.line, jerr.column, jerr.text);
		return;
	}
	items = json_is_object(doc) ? json_object_get(doc, "posts") : doc;
	if (!json_is_array(items)) {
		snprintf(im->json_err, sizeof(im->json_err), "expected an array "
		    "of posts or {\"posts\": [...]}");
		json_decref(doc);
		return;
	}
	for (i = 0; i < json_array_size(items); i++)
		import_json_item(p, json_array_get(items, i), (uint32_t)i + 1);
	json_decref(doc);
}

static int
import_parse(struct store *st, void *arg)
{
	struct import *im = arg;
	struct roster_parser *p = roster_parser_new();
	double t0 = mono_now();

	(void)st;
	if (p == NULL)
		return STORE_ERROR;
	/* What an earlier big export or import left in thread arenas. */
	if (evbuffer_get_length(im->body) >= IMPORT_TRIM_BYTES)
		malloc_trim(0);
	if (im->json)
		import_parse_json(im, p);
	else
		import_parse_csv(im, p);
	evbuffer_free(im->body);
	im->body = NULL;
	im->roster = roster_parser_finish(p, &im->errs);
	im->parse_s = mono_now() - t0;
	/* The upload's memory (freed, but in another thread's arena) goes
	 * back before the write phase grows SQLite's cache. */
	if (im->roster != NULL && im->roster->n_posts >= IMPORT_TRIM_ROWS)
		malloc_trim(0);
	return STORE_OK;
}

/* ---- applying (writer thread) -------------------------------------------- */

static int
import_apply(struct store *st, void *arg)
{
	struct import *im = arg;
	struct audit_entry e;
	char target[256];
	double t0 = mono_now();
	int rc;

	rc = store_roster_apply(st, im->roster, &im->opts, &im->res);
	im->apply_s = mono_now() - t0;
	if (rc != STORE_OK)
		return rc;
	snprintf(im->detail, sizeof(im->detail), "%zu posts: %zu added, %zu "
	    "updated, %zu removed; %zu nodes removed", im->roster->n_posts,
	    im->res.posts_added, im->res.posts_updated, im->res.posts_removed,
	    im->res.nodes_removed);
	import_target(&im->rq->who, target, sizeof(target));
	e = (struct audit_entry){
		.actor = im->rq->who.name,
		.action = im->replace ? "roster.replace" : "roster.merge",
		.target = target,
		.result = "ok",
		.detail = im->detail,
	};
	return store_audit_add(st, &e);
}

static void
import_applied(int rc, void *arg)
{
	struct import *im = arg;
	struct req *rq = im->rq;

	if (rc != STORE_OK) {
		log_warnx("roster: import by %s failed; nothing was changed",
		    rq->who.name);
		import_audit_refusal(rq, "failed", "database error");
		http_reply_store_error(rq, rc);
		import_free(im);
		return;
	}
	log_info("roster: %s by %s: %s (parsed in %.2f s, written in %.2f s)",
	    im->replace ? "replace" : "merge", rq->who.name, im->detail,
	    im->parse_s, im->apply_s);
	http_reply_json(rq, 200, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "mode", im->replace ? "replace" : "merge",
	    "rows", (json_int_t)im->roster->n_posts,
	    "nodes", (json_int_t)im->res.nodes,
	    "posts_added", (json_int_t)im->res.posts_added,
	    "posts_updated", (json_int_t)im->res.posts_updated,
	    "posts_removed", (json_int_t)im->res.posts_removed,
	    "nodes_removed", (json_int_t)im->res.nodes_removed));
	import_free(im);
}

/* ---- the loop between the two -------------------------------------------- */

static void
import_reply_invalid(struct import *im)
{
	const struct roster_errors *e = im->errs;
	json_t *rows = json_array();
	size_t total = e->n + e->n_more;
	char msg[96];

	for (size_t i = 0; i < e->n; i++)
		json_array_append_new(rows, json_pack("{s:I,s:s}", "line",
		    (json_int_t)e->v[i].line, "reason", e->v[i].reason));

	snprintf(msg, sizeof(msg), "%zu %s invalid; nothing was changed", total,
	    total == 1 ? "row is" : "rows are");
	log_info("roster: import by %s refused: %s", im->rq->who.name, msg);
	import_audit_refusal(im->rq, "invalid", msg);
	http_reply_json(im->rq, 400, json_pack("{s:{s:s,s:s,s:o,s:I}}",
	    "error", "code", "invalid_roster", "message", msg, "rows", rows,
	    "more", (json_int_t)e->n_more));
}

/* Every post must lie under the caller's scope. */
static bool
import_check_scope(struct import *im)
{
	const struct roster *r = im->roster;
	struct req *rq = im->rq;
	json_t *rows;
	size_t denied = 0;

	if (rq->who.n_scope == 0)
		return true;
	rows = json_array();
	for (size_t i = 0; i < r->n_posts; i++) {
		const char *code = r->nodes[r->posts[i].node].code;

		if (http_caller_covers(&rq->who, code))
			continue;
		if (++denied <= IMPORT_MAX_DENIED)
			json_array_append_new(rows, json_pack("{s:I,s:s}", "line",
			    (json_int_t)r->posts[i].line, "reason", code));
	}
	if (denied == 0) {
		json_decref(rows);
		return true;
	}
	http_deny(rq, "roster", json_pack("{s:o,s:I}", "rows", rows, "more",
	    (json_int_t)(denied > IMPORT_MAX_DENIED ? denied - IMPORT_MAX_DENIED : 0)),
	    "%zu rows are outside the scope of token '%s'; nothing was changed",
	    denied, rq->who.name);
	return false;
}

static void
import_parsed(int rc, void *arg)
{
	struct import *im = arg;

	if (rc != STORE_OK) {
		http_reply_error(im->rq, 500, "internal", "out of memory");
	} else if (im->json_err[0] != '\0') {
		import_audit_refusal(im->rq, "invalid", "body is not valid JSON");
		http_reply_error(im->rq, 400, "invalid_json", "body is not valid "
		    "JSON: %s", im->json_err);
	} else if (im->roster == NULL) {
		import_reply_invalid(im);
	} else if (import_check_scope(im)) {
		im->opts.replace = im->replace;
		im->opts.scope = im->rq->who.scope;
		im->opts.n_scope = im->rq->who.n_scope;
		im->opts.actor = im->rq->who.name;
		if (dbq_submit(im->rq->d->writer, import_apply, import_applied, im,
		    DBQ_DURABLE) == 0)
			return;
		http_reply_error(im->rq, 503, "unavailable", "shutting down");
	}
	import_free(im);
}

/* The media type without parameters: "text/csv; charset=utf-8" -> text/csv. */
static bool
media_is(const char *ctype, const char *want)
{
	size_t n = strlen(want);

	return ctype != NULL && strncasecmp(ctype, want, n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ');
}

void
api_roster_import(struct req *rq)
{
	const char *ctype = evhttp_find_header(
	    evhttp_request_get_input_headers(rq->r), "Content-Type");
	const char *mode = http_query(rq, "mode");
	struct import *im;

	if (mode != NULL && strcmp(mode, "merge") != 0 &&
	    strcmp(mode, "replace") != 0) {
		import_audit_refusal(rq, "invalid", "bad mode");
		http_reply_error(rq, 400, "bad_request", "mode must be merge or "
		    "replace, not \"%.40s\"", mode);
		return;
	}
	if (!media_is(ctype, "text/csv") && !media_is(ctype, "application/json")) {
		import_audit_refusal(rq, "invalid", "unsupported Content-Type");
		http_reply_error(rq, 415, "unsupported_media_type", "Content-Type "
		    "must be text/csv or application/json");
		return;
	}
	if ((im = calloc(1, sizeof(*im))) == NULL ||
	    (im->body = evbuffer_new()) == NULL) {
		free(im);
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	im->rq = rq;
	im->json = media_is(ctype, "application/json");
	im->replace = mode != NULL && strcmp(mode, "replace") == 0;
	/* Move, not copy, the body: the reader thread owns it from here. */
	evbuffer_add_buffer(im->body, evhttp_request_get_input_buffer(rq->r));
	if (dbq_submit(rq->d->readers, import_parse, import_parsed, im,
	    DBQ_NO_TXN) != 0) {
		import_free(im);
		http_reply_error(rq, 503, "unavailable", "shutting down");
	}
}

/* ---- export -------------------------------------------------------------- */

enum export_format { EXPORT_JSON, EXPORT_CSV, EXPORT_HTML };

struct export {
	struct req		*rq;
	enum export_format	 format;
	bool			 public;
	const char		**under;	/* subtrees, none inside another */
	struct store_filter	 filter;
	struct evbuffer		*out;
	struct roster_html	*html;
	size_t			 rows;
};

static int
export_row(const struct roster_row *row, void *arg)
{
	struct export *ex = arg;
	json_t *o;
	char *s;

	switch (ex->format) {
	case EXPORT_CSV:
		roster_csv_row(ex->out, row, ex->public);
		break;
	case EXPORT_HTML:
		roster_html_row(ex->html, row);
		break;
	case EXPORT_JSON:
		o = roster_row_json(row, ex->public);
		s = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (s == NULL)
			return -1;
		evbuffer_add_printf(ex->out, "%s%s", ex->rows ? ",\n" : "\n", s);
		free(s);
		break;
	}
	ex->rows++;
	return 0;
}

static int
export_run(struct store *st, void *arg)
{
	struct export *ex = arg;
	int rc;

	switch (ex->format) {
	case EXPORT_CSV:
		roster_csv_header(ex->out);
		break;
	case EXPORT_HTML:
		ex->html = roster_html_begin(ex->out, "三长联动公示");
		break;
	case EXPORT_JSON:
		evbuffer_add_printf(ex->out, "{\"posts\":[");
		break;
	}
	rc = store_roster_export(st, &ex->filter, export_row, ex);
	if (ex->format == EXPORT_HTML)
		roster_html_end(ex->html);
	else if (ex->format == EXPORT_JSON)
		evbuffer_add_printf(ex->out, "\n]}\n");
	return rc;
}

/*
 * The subtrees to export: the one asked for, or the caller's scope with
 * any code inside another left out (so no row comes twice).
 */
static int
export_subtrees(struct export *ex, const char *under)
{
	const struct caller *who = &ex->rq->who;
	size_t n = under != NULL ? 1 : who->n_scope;

	if (n == 0)
		return 0;
	if ((ex->under = calloc(n, sizeof(*ex->under))) == NULL)
		return -1;
	if (under != NULL) {
		ex->under[ex->filter.n_under++] = under;
	} else {
		for (size_t i = 0; i < n; i++) {
			bool inside = false;

			for (size_t j = 0; j < n && !inside; j++)
				inside = j != i && roster_code_covers(who->scope[j],
				    who->scope[i]) && (strcmp(who->scope[j],
				    who->scope[i]) != 0 || j < i);
			if (!inside)
				ex->under[ex->filter.n_under++] = who->scope[i];
		}
	}
	ex->filter.under = ex->under;
	return 0;
}

static void
export_done(int rc, void *arg)
{
	static const char *const ctypes[] = {
		[EXPORT_JSON] = "application/json",
		[EXPORT_CSV] = "text/csv; charset=utf-8",
		[EXPORT_HTML] = "text/html; charset=utf-8",
	};
	struct export *ex = arg;

	if (rc != STORE_OK) {
		evbuffer_free(ex->out);
		http_reply_store_error(ex->rq, rc);
	} else {
		http_reply_buffer(ex->rq, 200, ctypes[ex->format], ex->out);
	}
	free(ex->under);
	free(ex);
}

void
api_roster_export(struct req *rq)
{
	const char *under = http_query(rq, "under");
	const char *pub = http_query(rq, "public");
	struct export *ex;

	if (under != NULL && roster_code_kind(under) < 0) {
		http_reply_error(rq, 400, "bad_request", "under: \"%.60s\" is not "
		    "a node code", under);
		return;
	}
	if (under != NULL && !http_caller_covers(&rq->who, under)) {
		http_deny(rq, under, NULL, "node %s is outside the scope of token "
		    "'%s'", under, rq->who.name);
		return;
	}
	if ((ex = calloc(1, sizeof(*ex))) == NULL ||
	    (ex->out = evbuffer_new()) == NULL) {
		free(ex);
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	ex->rq = rq;
	ex->format = strcmp(rq->route, "/v1/roster.csv") == 0 ? EXPORT_CSV :
	    strcmp(rq->route, "/v1/roster.html") == 0 ? EXPORT_HTML : EXPORT_JSON;
	/* The posting page is public by nature. */
	ex->public = ex->format == EXPORT_HTML ||
	    (pub != NULL && strcmp(pub, "0") != 0 && strcmp(pub, "false") != 0);
	ex->filter.tree_order = ex->format == EXPORT_HTML;
	if (export_subtrees(ex, under) != 0) {
		evbuffer_free(ex->out);
		free(ex);
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	if (dbq_submit(rq->d->readers, export_run, export_done, ex, 0) != 0) {
		export_done(STORE_ERROR, ex);
	}
}
