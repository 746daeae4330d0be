/*
 * sms_tencent_sign.h - TC3-HMAC-SHA256, the request signature of Tencent
 * Cloud API 3.0, as the sms_tencent plugin uses it: a JSON POST to "/"
 * with no query, signed headers content-type;host.
 *
 * Kept apart from the rest of the plugin so the unit test can link it
 * directly and check it against Tencent's published example.
 */
#ifndef SMS_TENCENT_SIGN_H
#define SMS_TENCENT_SIGN_H

#include <stddef.h>

#define TC3_HIDDEN	__attribute__((visibility("hidden")))
#define TC3_ALGORITHM	"TC3-HMAC-SHA256"
#define TC3_HEX_LEN	65	/* 64 hex digits and a NUL */

/* What one signature covers. */
struct tc3_input {
	const char	*secret_id;
	const char	*secret_key;	/* secret: never logged */
	const char	*service;	/* "sms" */
	const char	*host;		/* exactly as in the Host header */
	const char	*content_type;	/* exactly as in Content-Type */
	const void	*payload;	/* the request body */
	size_t		 payload_len;
	long long	 timestamp;	/* X-TC-Timestamp, Unix seconds */
};

/* Lowercase hex SHA-256 of data into out; 0, or -1 when libcrypto fails. */
TC3_HIDDEN int	tc3_sha256_hex(const void *data, size_t len,
		    char out[TC3_HEX_LEN]);

/*
 * Sign: the signature into sig and, when auth is not NULL, the whole
 * Authorization header value ("TC3-HMAC-SHA256 Credential=..., ...")
 * into auth.  0, or -1 when libcrypto fails, a field is missing or auth
 * is too small.
 */
TC3_HIDDEN int	tc3_sign(const struct tc3_input *in, char sig[TC3_HEX_LEN],
		    char *auth, size_t authlen);

#endif
