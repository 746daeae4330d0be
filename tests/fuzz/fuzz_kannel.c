/*
 * fuzz_kannel.c - what Kannel calls the sms_kannel plugin with
 * (plugins/sms_kannel_in.c): the GET query of a delivery report
 * (t, p, b) or of a reply (from, text, charset), decoded and checked.
 * The input is the query string.
 */
#include "fuzz_plugin.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct fuzz_setting settings[] = {
	{ "url", "http://127.0.0.1:13013/cgi-bin/sendsms" },
	{ "username", "sanzhang" },
	{ "password", "fuzz-pw" },
	{ "from", "10690001" },
	{ NULL, NULL },
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *query;

	if (size > 70000)		/* a little over the plugin's limit */
		return 0;
	if ((query = malloc(size + 1)) == NULL)
		return 0;
	memcpy(query, data, size);
	query[size] = '\0';		/* evhttp hands over a C string */
	fuzz_inbound(settings, "GET", query, NULL, 0);
	free(query);
	return 0;
}
