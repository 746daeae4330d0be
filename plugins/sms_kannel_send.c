/*
 * sms_kannel_send.c - sendsms: one GET per batch with every number in
 * `to`, and what Kannel's answer means for each message.
 */
#include "sms_kannel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KANNEL_BODY_MAX		65536	/* more is not a Kannel answer */
#define KANNEL_WHY_MAX		160

/* What send() decided about one message before asking Kannel. */
enum kverdict {
	KV_SEND = 0,
	KV_BADPHONE,
	KV_DUP,
	KV_OTHERTEXT,
};

void
kreq_free(struct kreq *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].id);
		free(r->v[i].pid);
	}
	free(r->url);
	free(r);
}

static void
kreq_link(struct kreq *r)
{
	r->prev = NULL;
	r->next = r->k->inflight;
	if (r->next != NULL)
		r->next->prev = r;
	r->k->inflight = r;
}

static void
kreq_unlink(struct kreq *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		r->k->inflight = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->prev = r->next = NULL;
}

static const char *
kreq_phone(const struct kreq *r, size_t i)
{
	return r->v[i].pid + r->batch_len + 1;
}

/*
 * Which messages go to Kannel: a mainland mobile number (normalised into
 * phones[i]), the batch's text, and a number not already in the batch
 * (Kannel would merge the two, and their provider ids would collide).
 * Returns how many go.
 */
static size_t
kannel_sort(const struct sz_msg *const *msgs, size_t n,
    unsigned char *verdict, char (*phones)[12])
{
	const char *text = msgs[0]->text != NULL ? msgs[0]->text : "";
	size_t go = 0;

	for (size_t i = 0; i < n; i++) {
		const struct sz_msg *m = msgs[i];

		verdict[i] = KV_SEND;
		if (m->phone == NULL || plug_phone_norm(m->phone,
		    phones[i]) == -1)
			verdict[i] = KV_BADPHONE;
		else if (strcmp(m->text != NULL ? m->text : "", text) != 0)
			verdict[i] = KV_OTHERTEXT;
		for (size_t j = 0; j < i && verdict[i] == KV_SEND; j++)
			if (verdict[j] == KV_SEND &&
			    strcmp(phones[i], phones[j]) == 0)
				verdict[i] = KV_DUP;
		if (verdict[i] == KV_SEND)
			go++;
	}
	return go;
}

/* The request's record: ids and provider ids of the messages that go. */
static struct kreq *
kreq_new(struct kannel *k, const struct sz_msg *const *msgs, size_t n,
    const unsigned char *verdict, char (*phones)[12], size_t go)
{
	const char *batch = NULL;
	struct kreq *r;
	int oom = 0;

	if ((r = calloc(1, sizeof(*r) + go * sizeof(r->v[0]))) == NULL)
		return NULL;
	r->k = k;
	for (size_t i = 0; i < n; i++) {
		struct kreq_msg *v;
		size_t len;

		if (verdict[i] != KV_SEND)
			continue;
		v = &r->v[r->n];
		if (batch == NULL) {
			batch = msgs[i]->id;
			r->batch_len = strlen(batch);
		}
		len = r->batch_len + 1 + strlen(phones[i]) + 1;
		v->id = strdup(msgs[i]->id);
		if ((v->pid = malloc(len)) != NULL)
			snprintf(v->pid, len, "%s:%s", batch, phones[i]);
		oom |= v->id == NULL || v->pid == NULL;
		r->n++;
	}
	if (oom) {
		kreq_free(r);
		return NULL;
	}
	return r;
}

/*
 * Our inbound URL with t=%d&p=%p&b=<batch>, written as Kannel will read
 * it: our own '%' doubled, its escapes single.
 */
static void
kannel_dlr_url(struct pbuf *d, const struct kannel *k, const struct kreq *r)
{
	size_t len = strlen(k->dlr_base);
	char *batch;

	kbuf_kannel_literal(d, k->dlr_base);
	if (strchr(k->dlr_base, '?') == NULL)
		pbuf_str(d, "?");
	else if (k->dlr_base[len - 1] != '?' && k->dlr_base[len - 1] != '&')
		pbuf_str(d, "&");
	pbuf_str(d, "t=%d&p=%p&b=");
	if ((batch = strndup(r->v[0].pid, r->batch_len)) == NULL) {
		d->oom = 1;
		return;
	}
	kbuf_esc(d, batch, 1);
	free(batch);
}

/* The sendsms URL for r and text, or NULL when out of memory. */
static char *
kannel_url(const struct kannel *k, const struct kreq *r, const char *text)
{
	struct pbuf b = { 0 }, d = { 0 };
	char num[32];
	size_t len = strlen(k->url);

	pbuf_str(&b, k->url);
	if (strchr(k->url, '?') == NULL)
		pbuf_str(&b, "?");
	else if (k->url[len - 1] != '?' && k->url[len - 1] != '&')
		pbuf_str(&b, "&");
	pbuf_str(&b, "username=");
	kbuf_esc(&b, k->user, 0);
	pbuf_str(&b, "&password=");
	kbuf_esc(&b, k->pass, 0);
	pbuf_str(&b, "&from=");
	kbuf_esc(&b, k->from, 0);
	pbuf_str(&b, "&to=");
	for (size_t i = 0; i < r->n; i++) {
		if (i > 0)
			pbuf_str(&b, "%20");
		kbuf_esc(&b, kreq_phone(r, i), 0);
	}
	pbuf_str(&b, "&text=");
	kbuf_esc(&b, text, 0);
	pbuf_str(&b, "&coding=2&charset=UTF-8");
	if (k->smsc != NULL) {
		pbuf_str(&b, "&smsc=");
		kbuf_esc(&b, k->smsc, 0);
	}
	if (k->dlr_mask != 0) {
		snprintf(num, sizeof(num), "&dlr-mask=%ld&dlr-url=",
		    k->dlr_mask);
		pbuf_str(&b, num);
		kannel_dlr_url(&d, k, r);
		kbuf_esc(&b, d.oom || d.p == NULL ? "" : d.p, 0);
		b.oom |= d.oom;
		free(d.p);
	}
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* Outcomes of the messages send() kept back from Kannel. */
static void
kannel_report_kept(struct kannel *k, const struct sz_msg *const *msgs,
    size_t n, const unsigned char *verdict)
{
	for (size_t i = 0; i < n; i++) {
		switch (verdict[i]) {
		case KV_BADPHONE:
			k->host->outcome(k->chan, msgs[i]->id, SZ_FAILED, NULL,
			    0, "sms_kannel: not a mainland mobile number");
			break;
		case KV_DUP:
			k->host->outcome(k->chan, msgs[i]->id, SZ_RETRY, NULL,
			    0, "sms_kannel: number twice in one batch, sent "
			    "again on its own");
			break;
		case KV_OTHERTEXT:
			k->host->outcome(k->chan, msgs[i]->id, SZ_RETRY, NULL,
			    0, "sms_kannel: text differs from its batch's");
			break;
		default:
			break;
		}
	}
}

static void kannel_done(void *arg, const struct sz_http_resp *resp);

int
kannel_send(void *state, struct sz_chan *chan,
    const struct sz_msg *const *msgs, size_t n)
{
	struct kannel *k = state;
	unsigned char verdict[KANNEL_MAX_BATCH];
	char phones[KANNEL_MAX_BATCH][12];
	struct sz_http_req req = { 0 };
	struct kreq *r;
	size_t go;

	if (n == 0 || n > KANNEL_MAX_BATCH) {
		k->host->log(chan, SZ_LOG_ERROR, "sms_kannel: send() with %zu "
		    "messages (1 to %d allowed)", n, KANNEL_MAX_BATCH);
		return -1;
	}
	if ((go = kannel_sort(msgs, n, verdict, phones)) > 0) {
		if ((r = kreq_new(k, msgs, n, verdict, phones, go)) == NULL)
			return -1;
		if ((r->url = kannel_url(k, r, msgs[0]->text != NULL ?
		    msgs[0]->text : "")) == NULL) {
			kreq_free(r);
			return -1;
		}
		k->host->log(chan, SZ_LOG_DEBUG, "sms_kannel: sendsms batch "
		    "%s, %zu of %zu messages", r->v[0].id, r->n, n);
		req.method = "GET";
		req.url = r->url;
		req.timeout_ms = k->timeout_ms;
		kreq_link(r);
		if (k->host->http(chan, &req, kannel_done, r) != 0) {
			kreq_unlink(r);
			kreq_free(r);
			return -1;
		}
	}
	kannel_report_kept(k, msgs, n, verdict);
	return 0;
}

/* ---- Kannel's answer ----------------------------------------------- */

/* The answer's body, NUL-terminated, or NULL when none or absurd. */
static char *
kannel_body(const struct sz_http_resp *resp)
{
	char *s;

	if (resp->body == NULL || resp->body_len > KANNEL_BODY_MAX ||
	    (s = malloc(resp->body_len + 1)) == NULL)
		return NULL;
	memcpy(s, resp->body, resp->body_len);
	s[resp->body_len] = '\0';
	return s;
}

/*
 * Whether body lists phone after marker, as in Kannel's "Sent. Denied
 * receivers are: 13800000001 13800000002" (202, filtered by white or
 * black lists) and "Sending failed. Failed receivers are: ..." (500:
 * bearerbox refused those, took the others).
 */
static int
kannel_listed(const char *body, const char *marker, const char *phone)
{
	size_t len, plen = strlen(phone);
	char num[32], norm[12];

	if (body == NULL || (body = strstr(body, marker)) == NULL)
		return 0;
	for (body += strlen(marker);; body += len) {
		body += strspn(body, " ");
		if ((len = strspn(body, "+0123456789")) == 0)
			return 0;
		if (len == plen && strncmp(body, phone, len) == 0)
			return 1;
		if (len < sizeof(num)) {
			memcpy(num, body, len);
			num[len] = '\0';
			if (plug_phone_norm(num, norm) == 0 &&
			    strcmp(norm, phone) == 0)
				return 1;
		}
	}
}

/* "kannel: HTTP 403: Authorization failed for sendsms", scrubbed. */
static void
kannel_why(const struct sz_http_resp *resp, const char *body, char *why,
    size_t len)
{
	int n;

	if (resp->status == 0)
		n = snprintf(why, len, "kannel: transport error %d: %s",
		    resp->transport_error,
		    resp->error != NULL ? resp->error : "");
	else
		n = snprintf(why, len, "kannel: HTTP %ld: %.*s", resp->status,
		    (int)(body != NULL ? strcspn(body, "\r\n") : 0),
		    body != NULL ? body : "");
	if (n > 0 && (size_t)n >= len && len > 4)
		strcpy(why + len - 4, "...");
	plug_scrub(why);
}

static void
kannel_accepted(struct kreq *r, const char *body)
{
	struct kannel *k = r->k;

	for (size_t i = 0; i < r->n; i++) {
		if (kannel_listed(body, "Denied receivers are:",
		    kreq_phone(r, i)))
			k->host->outcome(k->chan, r->v[i].id, SZ_FAILED, NULL,
			    0, "kannel: number denied by its white or black "
			    "list");
		else
			k->host->outcome(k->chan, r->v[i].id, SZ_ACCEPTED,
			    r->v[i].pid, 0, NULL);
	}
}

/*
 * Anything but 2xx.  5xx, 408, 429, no answer at all and an answer cut
 * short are worth another try; any other answer (403 bad password, 400 a
 * field Kannel refused) will not change by itself.  A list of failed
 * receivers counts only when the whole answer came: a cut one may lack
 * numbers that failed.
 */
static void
kannel_refused(struct kreq *r, const struct sz_http_resp *resp,
    const char *body)
{
	struct kannel *k = r->k;
	enum sz_outcome o = SZ_FAILED;
	char why[KANNEL_WHY_MAX];
	int after = 0, partial = 0;
	long st = resp->status;

	kannel_why(resp, body, why, sizeof(why));
	if (st == 0 || resp->transport_error != 0 || st >= 500 || st == 408 ||
	    st == 429) {
		o = SZ_RETRY;
		after = st == 0 ? 0 : plug_retry_after(resp);
		partial = st >= 500 && resp->transport_error == 0 &&
		    body != NULL && strstr(body, "Failed receivers are:") != NULL;
	}
	k->host->log(k->chan, o == SZ_RETRY ? SZ_LOG_WARN : SZ_LOG_ERROR,
	    "sms_kannel: sendsms batch %s (%zu messages): %s", r->v[0].id,
	    r->n, why);
	for (size_t i = 0; i < r->n; i++) {
		if (partial && !kannel_listed(body, "Failed receivers are:",
		    kreq_phone(r, i)))
			k->host->outcome(k->chan, r->v[i].id, SZ_ACCEPTED,
			    r->v[i].pid, 0, NULL);
		else
			k->host->outcome(k->chan, r->v[i].id, o, NULL, after,
			    why);
	}
}

static void
kannel_done(void *arg, const struct sz_http_resp *resp)
{
	struct kreq *r = arg;
	char *body;

	kreq_unlink(r);
	body = kannel_body(resp);
	if (resp->status >= 200 && resp->status <= 299)
		kannel_accepted(r, body);
	else
		kannel_refused(r, resp, body);
	free(body);
	kreq_free(r);
}
