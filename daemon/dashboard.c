/*
 * dashboard.c - GET /: the duty room's wall screen (值班室大屏).
 *
 * The page is a constant and carries no data, so it is served to anyone:
 * its script reads the JSON API with a viewer token (or none, over the
 * control socket).  What the page may do is pinned by its headers: only
 * its own inline style and script run (allowed by their SHA-256, not by
 * 'unsafe-inline', so a string that slipped into the page as markup still
 * could not run), it talks to this origin only, and it is never framed,
 * kept or given a referrer.
 */
#include "api.h"
#include "dashboard_page.h"
#include "http.h"

#include <event2/buffer.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#define DASH_B64_SHA256	45	/* base64 of a SHA-256, with its NUL */

static char dash_policy[512];

static void
dash_hash(const char *s, char out[DASH_B64_SHA256])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256((const unsigned char *)s, strlen(s), md);
	EVP_EncodeBlock((unsigned char *)out, md, sizeof(md));
}

/* The Content-Security-Policy, made once: the constants do not change. */
static const char *
dash_csp(void)
{
	char style[DASH_B64_SHA256], script[DASH_B64_SHA256];

	if (dash_policy[0] != '\0')
		return dash_policy;
	dash_hash(dashboard_style, style);
	dash_hash(dashboard_script, script);
	snprintf(dash_policy, sizeof(dash_policy), "default-src 'none'; "
	    "style-src 'sha256-%s'; script-src 'sha256-%s'; "
	    "connect-src 'self'; img-src data:; base-uri 'none'; "
	    "form-action 'none'; frame-ancestors 'none'", style, script);
	return dash_policy;
}

static void
dash_add(struct evbuffer *out, const char *s)
{
	evbuffer_add_reference(out, s, strlen(s), NULL, NULL);
}

void
api_dashboard(struct req *rq)
{
	struct evbuffer *page = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(rq->r);

	if (page == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	dash_add(page, dashboard_head);
	dash_add(page, "<style>");
	dash_add(page, dashboard_style);
	dash_add(page, "</style>\n");
	dash_add(page, dashboard_body);
	dash_add(page, "<script>");
	dash_add(page, dashboard_script);
	dash_add(page, "</script>\n");
	dash_add(page, dashboard_tail);
	/* http_reply_buffer adds no-store and nosniff. */
	evhttp_add_header(h, "Content-Security-Policy", dash_csp());
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Robots-Tag", "noindex, nofollow");
	http_reply_buffer(rq, 200, "text/html; charset=utf-8", page);
}
