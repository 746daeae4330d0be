/*
 * plugutil.h - small helpers the in-tree channel plugins share: a growing
 * string, and phone numbers made safe for logs and normalised from what
 * gateways write.  Compiled into each plugin, hidden: a plugin still
 * exports one symbol.
 */
#ifndef SANZHANG_PLUGUTIL_H
#define SANZHANG_PLUGUTIL_H

#include <stddef.h>

struct sz_http_resp;

#define PLUGUTIL_HIDDEN	__attribute__((visibility("hidden")))

/* A growing string; oom is sticky, so callers check once at the end. */
struct pbuf {
	char		*p;		/* NUL-terminated once anything is in */
	size_t		 len, cap;
	int		 oom;
};

PLUGUTIL_HIDDEN void pbuf_add(struct pbuf *b, const char *s, size_t n);
PLUGUTIL_HIDDEN void pbuf_str(struct pbuf *b, const char *s);

/* "13800000001" -> "138****0001" for a log line; anything else "****". */
PLUGUTIL_HIDDEN const char *plug_mask(const char *phone, char out[16]);
/*
 * Make text from a gateway safe for a `why`: printable ASCII only, and any
 * run of 7 or more digits (a phone number) masked but for 3 + 4 digits.
 */
PLUGUTIL_HIDDEN void plug_scrub(char *s);
/*
 * A number as a gateway writes it -> 11 digits: "+86", "0086" and "86"
 * prefixes go, and leading blanks too (an unescaped '+' in a query
 * decodes to one).  -1 when no mainland mobile number is left.
 */
PLUGUTIL_HIDDEN int plug_phone_norm(const char *in, char out[12]);
/* Seconds from a Retry-After header in seconds (at most a day); 0: none. */
PLUGUTIL_HIDDEN int plug_retry_after(const struct sz_http_resp *resp);

#endif
