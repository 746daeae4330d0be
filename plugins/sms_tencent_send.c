/*
 * sms_tencent_send.c - SendSms: one signed POST per group of numbers that
 * share their template parameters, and what Tencent's answer means for
 * each message.
 *
 * The host hands send() up to 200 messages with one text, but the text is
 * not what travels: the template parameters are, and they may differ
 * (a {name} or an {ack_url} is per person).  Messages with equal
 * parameters share a call; the others get calls of their own.
 */
#include "sms_tencent.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define TENCENT_AUTH_MAX	512

/* What send() decided about one message before asking Tencent. */
enum tverdict {
	TV_SEND = 0,
	TV_BADPHONE,
	TV_DUP,
	TV_BADJSON,
	TV_DRILL_BARE,		/* a drill, but no parameter to mark it */
	TV_NOMEM,
	TV_SENT,		/* in a call (or reported with its group) */
};

/* One message as send() prepares it. */
struct tprep {
	enum tverdict	 verdict;
	char		 phone[12];
	json_t		*params;	/* its TemplateParamSet */
};

void
tcall_free(struct tcall *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].id);
	for (size_t i = 0; i < TENCENT_N_HEADERS; i++)
		free(c->headers[i]);
	free(c->body);
	free(c);
}

static void
tcall_link(struct tcall *c)
{
	c->prev = NULL;
	c->next = c->t->inflight;
	if (c->next != NULL)
		c->next->prev = c;
	c->t->inflight = c;
}

void
tcall_unlink(struct tcall *c)
{
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		c->t->inflight = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
}

/* ---- preparing the messages ---------------------------------------- */

/* A message's TemplateParamSet, the first marked for a drill. */
static enum tverdict
tencent_params_of(const struct tencent *t, const struct sz_msg *m,
    json_t **out)
{
	struct tfields f;
	struct pbuf b = { 0 };
	void *doc;
	json_t *arr;
	int oom = 0;

	if (tencent_fields(m, &f, &doc) == -1)
		return TV_BADJSON;
	if (f.drill && t->n_params == 0) {
		tencent_fields_free(doc);
		return TV_DRILL_BARE;
	}
	if ((arr = json_array()) == NULL)
		oom = 1;
	for (size_t i = 0; !oom && i < t->n_params; i++) {
		b.len = 0;
		if (i == 0 && f.drill)
			pbuf_str(&b, TENCENT_DRILL_MARK);
		tencent_param_expand(t->params[i], &f, &b);
		if (i == 0 && f.drill && b.len >= 2 *
		    strlen(TENCENT_DRILL_MARK) && strncmp(b.p +
		    strlen(TENCENT_DRILL_MARK), TENCENT_DRILL_MARK,
		    strlen(TENCENT_DRILL_MARK)) == 0)
			memmove(b.p, b.p + strlen(TENCENT_DRILL_MARK),
			    b.len - strlen(TENCENT_DRILL_MARK) + 1);
		oom = b.oom || json_array_append_new(arr,
		    json_string(b.p)) == -1;
	}
	free(b.p);
	tencent_fields_free(doc);
	if (oom) {
		json_decref(arr);
		return TV_NOMEM;
	}
	*out = arr;
	return TV_SEND;
}

static void
tencent_prepare(const struct tencent *t, const struct sz_msg *const *msgs,
    size_t n, struct tprep *p)
{
	for (size_t i = 0; i < n; i++) {
		const struct sz_msg *m = msgs[i];

		if (m->phone == NULL ||
		    plug_phone_norm(m->phone, p[i].phone) == -1) {
			p[i].verdict = TV_BADPHONE;
			continue;
		}
		for (size_t j = 0; j < i; j++)
			if (p[j].verdict == TV_SEND &&
			    strcmp(p[i].phone, p[j].phone) == 0)
				p[i].verdict = TV_DUP;
		if (p[i].verdict == TV_SEND)
			p[i].verdict = tencent_params_of(t, m, &p[i].params);
	}
}

/* Outcomes of the messages send() kept back from Tencent. */
static void
tencent_report_kept(struct tencent *t, const struct sz_msg *const *msgs,
    size_t n, const struct tprep *p)
{
	static const struct {
		enum sz_outcome	 o;
		const char	*why;
	} kept[] = {
		[TV_BADPHONE] = { SZ_FAILED, "sms_tencent: not a mainland "
		    "mobile number" },
		[TV_DUP] = { SZ_RETRY, "sms_tencent: number twice in one "
		    "batch, sent again on its own" },
		[TV_BADJSON] = { SZ_FAILED, "sms_tencent: the message's JSON "
		    "is unreadable" },
		[TV_DRILL_BARE] = { SZ_FAILED, "sms_tencent: a drill needs "
		    "template_params, the first one marked 【演练】" },
		[TV_NOMEM] = { SZ_RETRY, "sms_tencent: out of memory" },
	};

	for (size_t i = 0; i < n; i++) {
		if (p[i].verdict == TV_SEND || p[i].verdict == TV_SENT)
			continue;
		t->host->outcome(t->chan, msgs[i]->id, kept[p[i].verdict].o,
		    NULL, 0, kept[p[i].verdict].why);
	}
}

/* ---- one call ------------------------------------------------------- */

static char *
tencent_header(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;
	char *h;

	if ((h = malloc(len)) != NULL)
		snprintf(h, len, "%s: %s", name, value);
	return h;
}

/* The JSON body of a call to c's numbers with params. */
static char *
tencent_body(const struct tencent *t, const struct tcall *c,
    json_t *params)
{
	json_t *o, *set;
	char e164[16];
	char *s = NULL;
	int bad = 0;

	if ((o = json_object()) == NULL || (set = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < c->n; i++) {
		snprintf(e164, sizeof(e164), "+86%s", c->v[i].phone);
		bad |= json_array_append_new(set, json_string(e164));
	}
	bad |= json_object_set_new(o, "PhoneNumberSet", set);
	bad |= json_object_set_new(o, "SmsSdkAppId", json_string(t->app_id));
	bad |= json_object_set_new(o, "SignName", json_string(t->sign_name));
	bad |= json_object_set_new(o, "TemplateId",
	    json_string(t->template_id));
	bad |= json_object_set(o, "TemplateParamSet", params);
	bad |= json_object_set_new(o, "SessionContext",
	    json_string(c->v[0].id));
	if (!bad)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* Sign c's body now and fill its headers; -1 on error. */
static int
tencent_headers(const struct tencent *t, struct tcall *c)
{
	char sig[TC3_HEX_LEN], auth[TENCENT_AUTH_MAX], ts[32];
	struct tc3_input in = {
		.secret_id = t->secret_id, .secret_key = t->secret_key,
		.service = TENCENT_SERVICE, .host = t->authority,
		.content_type = TENCENT_CTYPE, .payload = c->body,
		.payload_len = strlen(c->body), .timestamp = time(NULL),
	};

	snprintf(ts, sizeof(ts), "%lld", in.timestamp);
	if (tc3_sign(&in, sig, auth, sizeof(auth)) == -1)
		return -1;
	c->headers[0] = tencent_header("Content-Type", TENCENT_CTYPE);
	c->headers[1] = tencent_header("Host", t->authority);
	c->headers[2] = tencent_header("X-TC-Action", TENCENT_ACTION);
	c->headers[3] = tencent_header("X-TC-Version", TENCENT_VERSION);
	c->headers[4] = tencent_header("X-TC-Timestamp", ts);
	c->headers[5] = tencent_header("X-TC-Region", t->region);
	c->headers[6] = tencent_header("Authorization", auth);
	for (size_t i = 0; i < TENCENT_N_HEADERS; i++)
		if (c->headers[i] == NULL)
			return -1;
	return 0;
}

/* The call for the messages with group's params, not yet in a call. */
static struct tcall *
tcall_new(struct tencent *t, const struct sz_msg *const *msgs, size_t n,
    struct tprep *p, size_t first)
{
	struct tcall *c;
	size_t k = 0;

	for (size_t i = first; i < n; i++)
		k += p[i].verdict == TV_SEND &&
		    json_equal(p[i].params, p[first].params);
	if ((c = calloc(1, sizeof(*c) + k * sizeof(c->v[0]))) == NULL)
		return NULL;
	c->t = t;
	for (size_t i = first; i < n && c->n < k; i++) {
		if (p[i].verdict != TV_SEND ||
		    !json_equal(p[i].params, p[first].params))
			continue;
		memcpy(c->v[c->n].phone, p[i].phone, sizeof(p[i].phone));
		c->v[c->n].id = strdup(msgs[i]->id);
		if (c->v[c->n++].id == NULL) {
			tcall_free(c);
			return NULL;
		}
	}
	if ((c->body = tencent_body(t, c, p[first].params)) == NULL ||
	    tencent_headers(t, c) == -1) {
		tcall_free(c);
		return NULL;
	}
	return c;
}

/* Start the call for first's group; every message of it is then TV_SENT. */
static void
tencent_call(struct tencent *t, const struct sz_msg *const *msgs, size_t n,
    struct tprep *p, size_t first)
{
	struct sz_http_req req = { 0 };
	struct tcall *c;
	json_t *params = p[first].params;
	const char *why = NULL;

	if ((c = tcall_new(t, msgs, n, p, first)) == NULL)
		why = "sms_tencent: out of memory";
	else {
		req.method = "POST";
		req.url = t->url;
		req.headers = (const char *const *)c->headers;
		req.n_headers = TENCENT_N_HEADERS;
		req.body = c->body;
		req.body_len = strlen(c->body);
		req.timeout_ms = t->timeout_ms;
		t->host->log(t->chan, SZ_LOG_DEBUG, "sms_tencent: SendSms %s, "
		    "%zu numbers", c->v[0].id, c->n);
		tcall_link(c);
		if (t->host->http(t->chan, &req, tencent_done, c) != 0) {
			tcall_unlink(c);
			tcall_free(c);
			why = "sms_tencent: the daemon could not take the "
			    "request";
		}
	}
	for (size_t i = first; i < n; i++) {
		if (i != first && (p[i].verdict != TV_SEND ||
		    !json_equal(p[i].params, params)))
			continue;
		if (why != NULL)
			t->host->outcome(t->chan, msgs[i]->id, SZ_RETRY, NULL,
			    0, why);
		if (i != first) {
			json_decref(p[i].params);
			p[i].params = NULL;
			p[i].verdict = TV_SENT;
		}
	}
	json_decref(params);
	p[first].params = NULL;
	p[first].verdict = TV_SENT;
}

int
tencent_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n)
{
	struct tencent *t = state;
	struct tprep *p;

	if (n == 0 || n > TENCENT_MAX_BATCH) {
		t->host->log(chan, SZ_LOG_ERROR, "sms_tencent: send() with %zu "
		    "messages (1 to %d allowed)", n, TENCENT_MAX_BATCH);
		return -1;
	}
	if ((p = calloc(n, sizeof(*p))) == NULL)
		return -1;
	tencent_prepare(t, msgs, n, p);
	for (size_t i = 0; i < n; i++)
		if (p[i].verdict == TV_SEND)
			tencent_call(t, msgs, n, p, i);
	tencent_report_kept(t, msgs, n, p);
	for (size_t i = 0; i < n; i++)
		json_decref(p[i].params);
	free(p);
	return 0;
}
