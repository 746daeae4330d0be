/*
 * fuzz_config.c - loading the config (daemon/config.c, config_check.c):
 * libconfig's parser, then every key's check, as `sanzhangd -t` and a
 * reload run them.  The input is the file.
 */
#include "config.h"
#include "fuzz_util.h"
#include "log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int quiet;
	struct config *cfg;
	const char *path;
	char err[1024];

	if (!quiet) {
		log_set_level(LOG_LEVEL_ERROR);
		quiet = 1;
	}
	/* @include would read whatever file the input names. */
	if (size > 64 * 1024 || memmem(data, size, "@include", 8) != NULL)
		return 0;
	if ((path = fuzz_scratch(data, size)) == NULL)
		return 0;
	err[0] = '\0';
	if ((cfg = config_load(path, err, sizeof(err))) == NULL) {
		if (err[0] == '\0')
			abort();	/* a failed load must say why */
		return 0;
	}
	if (cfg->public_url == NULL || cfg->state_dir == NULL)
		abort();
	config_free(cfg);
	return 0;
}
