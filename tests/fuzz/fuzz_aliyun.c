/*
 * fuzz_aliyun.c - what Aliyun SMS pushes to the sms_aliyun plugin
 * (plugins/sms_aliyun_in.c): a POST body, a JSON array of SmsReport or
 * SmsUp objects.  The input is the body.
 */
#include "fuzz_plugin.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_setting settings[] = {
	{ "access_key_id", "LTAI-fuzz-id" },
	{ "access_key_secret", "fuzz-secret" },
	{ "sign_name", "南湖街道" },
	{ "template_code", "SMS_123456789" },
	{ "template_param", "{\"title\":\"{drill}{title}\",\"code\":\"{code}\"}" },
	{ "endpoint", "http://127.0.0.1:9/" },
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
