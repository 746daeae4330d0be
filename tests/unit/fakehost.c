/*
 * fakehost.c - a fake struct sz_host for channel plugin unit tests: see
 * fakehost.h.  Tests are single-threaded, so nothing here locks.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fakehost.h"

static void	fh_die(const char *, ...)
		    __attribute__((format(printf, 1, 2), noreturn));
static void	fh_log(struct sz_chan *, enum sz_log_level, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

/* The response handed to done(): its headers ride in priv. */
struct fh_resp {
	struct sz_http_resp	 r;
	const char *const	*headers;
};

static void *
fh_xrealloc(void *p, size_t n, size_t size)
{
	if (n != 0 && size > (size_t)-1 / n)
		abort();
	if ((p = realloc(p, n * size == 0 ? 1 : n * size)) == NULL)
		abort();
	return p;
}

static char *
fh_xstrdup(const char *s)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		abort();
	return d;
}

static void
fh_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("fakehost: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	abort();
}

/*
 * A value for "Name" among "Name: value" lines, leading blanks skipped.
 * Shared by requests, responses and inbound callbacks.
 */
static const char *
fh_header_find(const char *const *lines, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; lines != NULL && i < n && lines[i] != NULL; i++) {
		const char *v = lines[i];

		if (strncasecmp(v, name, len) != 0 || v[len] != ':')
			continue;
		v += len + 1;
		v += strspn(v, " \t");
		return v;
	}
	return NULL;
}

struct sz_chan *
fh_chan(struct fakehost *fh)
{
	return (struct sz_chan *)(void *)fh;
}

struct fakehost *
fh_from_chan(struct sz_chan *chan)
{
	if (chan == NULL)
		fh_die("a NULL channel handle");
	return (struct fakehost *)(void *)chan;
}

/* ---- settings ----------------------------------------------------- */

static struct fh_setting *
fh_setting_find(const struct fakehost *fh, const char *key)
{
	for (size_t i = 0; i < fh->n_settings; i++)
		if (strcmp(fh->settings[i].key, key) == 0)
			return &fh->settings[i];
	return NULL;
}

static struct fh_setting *
fh_setting_slot(struct fakehost *fh, const char *key,
    enum sz_setting_type type)
{
	struct fh_setting *s;

	if ((s = fh_setting_find(fh, key)) == NULL) {
		fh->settings = fh_xrealloc(fh->settings, fh->n_settings + 1,
		    sizeof(*fh->settings));
		s = &fh->settings[fh->n_settings++];
		s->key = fh_xstrdup(key);
	} else
		free(s->s);
	s->s = NULL;
	s->type = type;
	return s;
}

void
fh_set_string(struct fakehost *fh, const char *key, const char *v)
{
	fh_setting_slot(fh, key, SZ_SETTING_STRING)->s = fh_xstrdup(v);
}

void
fh_set_int(struct fakehost *fh, const char *key, long long v)
{
	fh_setting_slot(fh, key, SZ_SETTING_INT)->i = v;
}

void
fh_set_bool(struct fakehost *fh, const char *key, bool v)
{
	fh_setting_slot(fh, key, SZ_SETTING_BOOL)->b = v;
}

void
fh_set_float(struct fakehost *fh, const char *key, double v)
{
	fh_setting_slot(fh, key, SZ_SETTING_FLOAT)->f = v;
}

static const struct sz_setting *
fh_declared(const struct fakehost *fh, const char *key)
{
	const struct sz_setting *d;

	if (fh->plugin == NULL || fh->plugin->settings == NULL)
		return NULL;
	for (d = fh->plugin->settings; d->key != NULL; d++)
		if (strcmp(d->key, key) == 0)
			return d;
	return NULL;
}

/*
 * What a setting_* call finds: NULL when unset.  Reading a key the plugin
 * did not declare, or as another type, is a plugin bug: abort loudly.
 */
static const struct fh_setting *
fh_setting_get(struct sz_chan *chan, const char *key,
    enum sz_setting_type type)
{
	struct fakehost *fh = fh_from_chan(chan);
	const struct sz_setting *d = fh_declared(fh, key);
	const struct fh_setting *s;

	if (d == NULL)
		fh_die("plugin reads undeclared setting '%s'", key);
	if (d->type != type)
		fh_die("plugin reads setting '%s' as another type", key);
	if ((s = fh_setting_find(fh, key)) == NULL)
		return NULL;
	if (s->type != type && !(type == SZ_SETTING_FLOAT &&
	    s->type == SZ_SETTING_INT))
		fh_die("test set '%s' with the wrong type", key);
	return s;
}

static const char *
fh_setting_string(struct sz_chan *chan, const char *key)
{
	const struct fh_setting *s;

	s = fh_setting_get(chan, key, SZ_SETTING_STRING);
	return s == NULL ? NULL : s->s;
}

static long long
fh_setting_int(struct sz_chan *chan, const char *key, long long def)
{
	const struct fh_setting *s;

	s = fh_setting_get(chan, key, SZ_SETTING_INT);
	return s == NULL ? def : s->i;
}

static bool
fh_setting_bool(struct sz_chan *chan, const char *key, bool def)
{
	const struct fh_setting *s;

	s = fh_setting_get(chan, key, SZ_SETTING_BOOL);
	return s == NULL ? def : s->b;
}

static double
fh_setting_float(struct sz_chan *chan, const char *key, double def)
{
	const struct fh_setting *s;

	s = fh_setting_get(chan, key, SZ_SETTING_FLOAT);
	if (s == NULL)
		return def;
	return s->type == SZ_SETTING_INT ? (double)s->i : s->f;
}

/* The daemon's checks before open(): known keys, types, required keys. */
static int
fh_check_settings(struct fakehost *fh)
{
	const struct sz_plugin *p = fh->plugin;

	for (size_t i = 0; i < fh->n_settings; i++) {
		const struct fh_setting *s = &fh->settings[i];
		const struct sz_setting *d = fh_declared(fh, s->key);

		if (d == NULL) {
			snprintf(fh->err, sizeof(fh->err),
			    "%s: no setting '%s'", p->name, s->key);
			return -1;
		}
		if (d->type != s->type && !(d->type == SZ_SETTING_FLOAT &&
		    s->type == SZ_SETTING_INT)) {
			snprintf(fh->err, sizeof(fh->err),
			    "%s: setting '%s' has the wrong type", p->name,
			    s->key);
			return -1;
		}
	}
	for (const struct sz_setting *d = p->settings; d != NULL &&
	    d->key != NULL; d++) {
		if (d->required && fh_setting_find(fh, d->key) == NULL) {
			snprintf(fh->err, sizeof(fh->err),
			    "%s: setting '%s' is required", p->name, d->key);
			return -1;
		}
	}
	return 0;
}

int
fh_open(struct fakehost *fh, const struct sz_plugin *plugin)
{
	fh->plugin = plugin;
	fh->err[0] = '\0';
	if (fh_check_settings(fh) == -1)
		return -1;
	if (plugin->open(&fh->host, fh_chan(fh), &fh->state, fh->err,
	    sizeof(fh->err)) != 0)
		return -1;
	fh->opened = true;
	return 0;
}

const char *
fh_err(const struct fakehost *fh)
{
	return fh->err;
}

/* ---- the host's functions ------------------------------------------ */

static void
fh_log(struct sz_chan *chan, enum sz_log_level level, const char *fmt, ...)
{
	struct fakehost *fh = fh_from_chan(chan);
	struct fh_log *l;
	va_list ap, ap2;
	int len;

	fh->logs = fh_xrealloc(fh->logs, fh->n_logs + 1, sizeof(*fh->logs));
	l = &fh->logs[fh->n_logs++];
	l->level = level;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	if ((len = vsnprintf(NULL, 0, fmt, ap)) < 0)
		abort();
	l->line = fh_xrealloc(NULL, (size_t)len + 1, 1);
	vsnprintf(l->line, (size_t)len + 1, fmt, ap2);
	va_end(ap2);
	va_end(ap);
	if (fh->log_stderr)
		fprintf(stderr, "plugin log %d: %s\n", (int)level, l->line);
}

static const char *
fh_channel_name(struct sz_chan *chan)
{
	(void)fh_from_chan(chan);
	return FH_CHANNEL_NAME;
}

static const char *
fh_inbound_url(struct sz_chan *chan)
{
	(void)fh_from_chan(chan);
	return FH_INBOUND_URL;
}

static int
fh_http(struct sz_chan *chan, const struct sz_http_req *req,
    sz_http_done done, void *arg)
{
	struct fakehost *fh = fh_from_chan(chan);
	struct fh_req *r;

	if (fh->http_refuse)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		abort();
	r->method = fh_xstrdup(req->method);
	r->url = fh_xstrdup(req->url);
	r->headers = fh_xrealloc(NULL, req->n_headers, sizeof(char *));
	for (size_t i = 0; i < req->n_headers; i++)
		r->headers[i] = fh_xstrdup(req->headers[i]);
	r->n_headers = req->n_headers;
	r->body = fh_xrealloc(NULL, req->body_len + 1, 1);
	if (req->body_len > 0)
		memcpy(r->body, req->body, req->body_len);
	r->body[req->body_len] = '\0';
	r->body_len = req->body_len;
	r->timeout_ms = req->timeout_ms;
	r->done = done;
	r->arg = arg;
	fh->reqs = fh_xrealloc(fh->reqs, fh->n_reqs + 1, sizeof(*fh->reqs));
	fh->reqs[fh->n_reqs++] = r;
	return 0;
}

static void
fh_outcome(struct sz_chan *chan, const char *msg_id, enum sz_outcome outcome,
    const char *provider_id, int retry_after, const char *why)
{
	struct fakehost *fh = fh_from_chan(chan);
	struct fh_outcome *o;

	fh->outcomes = fh_xrealloc(fh->outcomes, fh->n_outcomes + 1,
	    sizeof(*fh->outcomes));
	o = &fh->outcomes[fh->n_outcomes++];
	o->msg_id = fh_xstrdup(msg_id);
	o->outcome = outcome;
	o->provider_id = fh_xstrdup(provider_id);
	o->retry_after = retry_after;
	o->why = fh_xstrdup(why);
}

static int
fh_receipt(struct sz_chan *chan, const char *id, bool by_provider,
    enum sz_receipt state, const char *why)
{
	struct fakehost *fh = fh_from_chan(chan);
	struct fh_receipt *r;

	fh->receipts = fh_xrealloc(fh->receipts, fh->n_receipts + 1,
	    sizeof(*fh->receipts));
	r = &fh->receipts[fh->n_receipts++];
	r->id = fh_xstrdup(id);
	r->by_provider = by_provider;
	r->state = state;
	r->why = fh_xstrdup(why);
	return fh->receipt_unknown ? -1 : 0;
}

static int
fh_reply(struct sz_chan *chan, const char *phone, const char *text)
{
	struct fakehost *fh = fh_from_chan(chan);
	struct fh_reply *r;

	fh->replies = fh_xrealloc(fh->replies, fh->n_replies + 1,
	    sizeof(*fh->replies));
	r = &fh->replies[fh->n_replies++];
	r->phone = fh_xstrdup(phone);
	r->text = fh_xstrdup(text);
	return 0;
}

static int
fh_file_append(struct sz_chan *chan, const char *data, size_t len)
{
	struct fakehost *fh = fh_from_chan(chan);

	fh->n_file_appends++;
	if (fh->file_errno != 0) {
		errno = fh->file_errno;
		return -1;
	}
	fh->file = fh_xrealloc(fh->file, fh->file_len + len + 1, 1);
	memcpy(fh->file + fh->file_len, data, len);
	fh->file_len += len;
	fh->file[fh->file_len] = '\0';
	return 0;
}

struct fakehost *
fh_new(void)
{
	struct fakehost *fh;

	if ((fh = calloc(1, sizeof(*fh))) == NULL)
		abort();
	fh->host.abi = SZ_PLUGIN_ABI;
	fh->host.log = fh_log;
	fh->host.setting_string = fh_setting_string;
	fh->host.setting_int = fh_setting_int;
	fh->host.setting_bool = fh_setting_bool;
	fh->host.setting_float = fh_setting_float;
	fh->host.channel_name = fh_channel_name;
	fh->host.inbound_url = fh_inbound_url;
	fh->host.http = fh_http;
	fh->host.outcome = fh_outcome;
	fh->host.receipt = fh_receipt;
	fh->host.reply = fh_reply;
	fh->host.file_append = fh_file_append;
	fh->file = fh_xstrdup("");
	return fh;
}

/* ---- answering requests -------------------------------------------- */

static const char *
fh_resp_header(const struct sz_http_resp *resp, const char *name)
{
	const struct fh_resp *fr = resp->priv;

	return fh_header_find(fr->headers, (size_t)-1, name);
}

static void
fh_deliver(struct fakehost *fh, size_t i, struct fh_resp *fr)
{
	struct fh_req *r;

	if (i >= fh->n_reqs)
		fh_die("no request %zu (have %zu)", i, fh->n_reqs);
	r = fh->reqs[i];
	if (r->answered)
		fh_die("request %zu answered twice", i);
	r->answered = true;
	fr->r.header = fh_resp_header;
	fr->r.priv = fr;
	r->done(r->arg, &fr->r);
}

void
fh_answer(struct fakehost *fh, size_t i, long status,
    const char *const *headers, const char *body)
{
	struct fh_resp fr = { 0 };

	fr.r.status = status;
	fr.r.error = "";
	fr.r.body = body == NULL ? "" : body;
	fr.r.body_len = strlen(fr.r.body);
	fr.headers = headers;
	fh_deliver(fh, i, &fr);
}

void
fh_answer_error(struct fakehost *fh, size_t i, int code, const char *error)
{
	struct fh_resp fr = { 0 };

	fr.r.status = 0;
	fr.r.transport_error = code;
	fr.r.error = error == NULL ? "" : error;
	fr.r.body = "";
	fr.headers = NULL;
	fh_deliver(fh, i, &fr);
}

void
fh_answer_cut(struct fakehost *fh, size_t i, long status, const char *body,
    int code, const char *error)
{
	struct fh_resp fr = { 0 };

	fr.r.status = status;
	fr.r.transport_error = code;
	fr.r.error = error == NULL ? "" : error;
	fr.r.body = body == NULL ? "" : body;
	fr.r.body_len = strlen(fr.r.body);
	fh_deliver(fh, i, &fr);
}

/* ---- helpers for tests ----------------------------------------------- */

const char *
fh_req_header(const struct fh_req *req, const char *name)
{
	return fh_header_find((const char *const *)req->headers,
	    req->n_headers, name);
}

void
fh_file_reset(struct fakehost *fh)
{
	fh->file[0] = '\0';
	fh->file_len = 0;
}

bool
fh_logs_contain(const struct fakehost *fh, const char *needle)
{
	for (size_t i = 0; i < fh->n_logs; i++)
		if (strstr(fh->logs[i].line, needle) != NULL)
			return true;
	return false;
}

static const char *
fh_inbound_header(const struct sz_inbound *in, const char *name)
{
	const struct fh_inbound *fin = in->priv;

	return fh_header_find(fin->headers, (size_t)-1, name);
}

void
fh_inbound_init(struct fh_inbound *fin, const char *method,
    const char *query, const char *body, const char *const *headers)
{
	memset(fin, 0, sizeof(*fin));
	fin->in.method = method;
	fin->in.query = query;
	fin->in.body = body == NULL ? "" : body;
	fin->in.body_len = strlen(fin->in.body);
	fin->in.header = fh_inbound_header;
	fin->in.priv = fin;
	fin->headers = headers;
}

const struct sz_plugin *
fh_load_plugin(const char *path, void **handle)
{
	const struct sz_plugin *p;
	void *h;

	*handle = NULL;
	if ((h = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		fprintf(stderr, "fakehost: %s\n", dlerror());
		return NULL;
	}
	if ((p = dlsym(h, SZ_PLUGIN_SYMBOL)) == NULL) {
		fprintf(stderr, "fakehost: %s: no %s\n", path,
		    SZ_PLUGIN_SYMBOL);
		dlclose(h);
		return NULL;
	}
	if (p->abi != SZ_PLUGIN_ABI) {
		fprintf(stderr, "fakehost: %s: ABI %u, want %u\n", path,
		    p->abi, SZ_PLUGIN_ABI);
		dlclose(h);
		return NULL;
	}
	*handle = h;
	return p;
}

void
fh_unload_plugin(void *handle)
{
	if (handle != NULL)
		dlclose(handle);
}

/* ---- freeing ---------------------------------------------------------- */

static void
fh_free_req(struct fh_req *r)
{
	for (size_t i = 0; i < r->n_headers; i++)
		free(r->headers[i]);
	free(r->headers);
	free(r->method);
	free(r->url);
	free(r->body);
	free(r);
}

static void
fh_free_records(struct fakehost *fh)
{
	for (size_t i = 0; i < fh->n_reqs; i++)
		fh_free_req(fh->reqs[i]);
	for (size_t i = 0; i < fh->n_outcomes; i++) {
		free(fh->outcomes[i].msg_id);
		free(fh->outcomes[i].provider_id);
		free(fh->outcomes[i].why);
	}
	for (size_t i = 0; i < fh->n_receipts; i++) {
		free(fh->receipts[i].id);
		free(fh->receipts[i].why);
	}
	for (size_t i = 0; i < fh->n_replies; i++) {
		free(fh->replies[i].phone);
		free(fh->replies[i].text);
	}
	for (size_t i = 0; i < fh->n_logs; i++)
		free(fh->logs[i].line);
	free(fh->reqs);
	free(fh->outcomes);
	free(fh->receipts);
	free(fh->replies);
	free(fh->logs);
}

void
fh_free(struct fakehost *fh)
{
	if (fh == NULL)
		return;
	/*
	 * A plugin may hold state for requests never answered; its close()
	 * must free that, as the daemon's would at shutdown.
	 */
	if (fh->opened && fh->plugin->close != NULL)
		fh->plugin->close(fh->state);
	fh_free_records(fh);
	for (size_t i = 0; i < fh->n_settings; i++) {
		free(fh->settings[i].key);
		free(fh->settings[i].s);
	}
	free(fh->settings);
	free(fh->file);
	free(fh);
}
