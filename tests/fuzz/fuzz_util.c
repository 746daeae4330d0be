/*
 * fuzz_util.c - helpers shared by the harnesses (fuzz_util.h).
 */
#include "fuzz_util.h"

#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[4096];

/* Every role routed, one policy per kind, a template of each kind. */
static const char fuzz_conf[] =
	"public_url = \"https://alert.example.gov.cn\";\n"
	"channels = ( { name = \"sms\"; plugin = \"sms_kannel\"; },\n"
	"             { name = \"hook\"; plugin = \"webhook\"; } );\n"
	"routing = { grid_leader = [ \"sms\", \"hook\" ];\n"
	"            building_leader = [ \"sms\" ]; unit_leader = [ \"sms\" ];\n"
	"            villager_rep = [ \"sms\" ]; duty_officer = [ \"hook\" ]; };\n"
	"escalation = {\n"
	"  emergency = ( { after = 120; action = \"resend\"; },\n"
	"                { after = 300; action = \"notify_parent\"; } );\n"
	"  drill = ( { after = 600; action = \"notify_duty\"; } );\n"
	"  notice = ();\n"
	"};\n"
	"templates = {\n"
	"  emergency = \"【南湖街道】{severity}{title}：{body} 回复1确认 {url}\";\n"
	"  drill = \"【演练】{title}：{body}（{code}）{url}\";\n"
	"};\n";

static void
fuzz_scratch_remove(void)
{
	if (scratch[0] != '\0')
		unlink(scratch);
}

const char *
fuzz_scratch(const void *data, size_t len)
{
	FILE *fp;

	if (scratch[0] == '\0') {
		const char *dir = getenv("TMPDIR");
		int fd;

		snprintf(scratch, sizeof(scratch), "%s/sz-fuzz-XXXXXX",
		    dir != NULL && *dir != '\0' ? dir : "/tmp");
		if ((fd = mkstemp(scratch)) == -1) {
			perror("fuzz: mkstemp");
			abort();
		}
		close(fd);
		atexit(fuzz_scratch_remove);
	}
	if ((fp = fopen(scratch, "w")) == NULL)
		return NULL;
	if (fwrite(data, 1, len, fp) != len) {
		fclose(fp);
		return NULL;
	}
	return fclose(fp) == 0 ? scratch : NULL;
}

const struct config *
fuzz_config(void)
{
	static struct config *cfg;
	const char *path;
	char err[512];

	if (cfg != NULL)
		return cfg;
	log_set_level(LOG_LEVEL_ERROR);
	if ((path = fuzz_scratch(fuzz_conf, strlen(fuzz_conf))) == NULL ||
	    (cfg = config_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fuzz: the harness config: %s\n", err);
		abort();
	}
	return cfg;
}

char *
fuzz_strndup(const void *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return s;
}
