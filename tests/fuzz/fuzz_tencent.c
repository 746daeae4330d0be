/*
 * fuzz_tencent.c - what Tencent Cloud SMS posts to the sms_tencent plugin
 * (plugins/sms_tencent_in.c): a JSON array (or one object) of status
 * reports or replies.  The input is the body.
 */
#include "fuzz_plugin.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_setting settings[] = {
	{ "secret_id", "AKIDfuzz0123456789" },
	{ "secret_key", "fuzz-secret-key" },
	{ "sdk_app_id", "1400006666" },
	{ "sign_name", "南湖街道" },
	{ "template_id", "1234567" },
	{ "endpoint", "http://127.0.0.1:18080" },
	{ NULL, NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	fuzz_inbound(settings, "POST", NULL, data, size);
	return 0;
}
