/*
 * log.c - stderr logging with optional journald priority prefixes.
 */
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

static const char *log_progname = "sanzhang";
static int log_journal;
static int log_syslog;
static enum log_level log_level = LOG_LEVEL_INFO;

static const struct {
	const char *name;
	int syslog_prio;
} log_levels[] = {
	[LOG_LEVEL_ERROR] = { "error", 3 },
	[LOG_LEVEL_WARN] = { "warning", 4 },
	[LOG_LEVEL_INFO] = { "info", 6 },
	[LOG_LEVEL_DEBUG] = { "debug", 7 },
};

void
log_init(const char *progname, int journal_prefix)
{
	log_progname = progname;
	log_journal = journal_prefix;
}

void
log_to_syslog(void)
{
	openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog = 1;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

int
log_level_parse(const char *name)
{
	if (strcasecmp(name, "warn") == 0)
		return LOG_LEVEL_WARN;
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
		if (strcasecmp(name, log_levels[i].name) == 0)
			return (int)i;
	return -1;
}

/* Format one whole line first so concurrent threads never interleave. */
static void
log_vemit(enum log_level level, const char *errstr, const char *fmt, va_list ap)
{
	char msg[2048];
	int off;

	if (level > log_level)
		return;
	if (log_syslog)
		off = 0;
	else if (log_journal)
		off = snprintf(msg, sizeof(msg), "<%d>", log_levels[level].syslog_prio);
	else
		off = snprintf(msg, sizeof(msg), "%s: %s: ", log_progname,
		    log_levels[level].name);
	if (off < 0)
		return;
	msg[off] = '\0';
	vsnprintf(msg + off, sizeof(msg) - (size_t)off, fmt, ap);
	if (errstr != NULL) {
		size_t len = strlen(msg);
		snprintf(msg + len, sizeof(msg) - len, ": %s", errstr);
	}
	if (log_syslog)
		syslog(log_levels[level].syslog_prio, "%s", msg);
	else
		fprintf(stderr, "%s\n", msg);
}

#define LOG_BODY(level, errstr) do {			\
	va_list ap;					\
	va_start(ap, fmt);				\
	log_vemit((level), (errstr), fmt, ap);		\
	va_end(ap);					\
} while (0)

void
log_warn(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LEVEL_WARN, e);
}

void
log_warnx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_WARN, NULL);
}

void
log_error(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
}

void
log_info(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_INFO, NULL);
}

void
log_debug(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_DEBUG, NULL);
}

void
fatal(const char *fmt, ...)
{
	const char *e = strerror(errno);

	LOG_BODY(LOG_LEVEL_ERROR, e);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	LOG_BODY(LOG_LEVEL_ERROR, NULL);
	exit(1);
}

char *
log_phone(const char *phone, char *out, size_t outlen)
{
	size_t n = phone != NULL ? strlen(phone) : 0;

	if (outlen == 0)
		return out;
	if (n < 7) {
		snprintf(out, outlen, "****");
		return out;
	}
	snprintf(out, outlen, "%.3s****%s", phone, phone + n - 4);
	return out;
}

char *
log_id(const char *id, char *out, size_t outlen)
{
	size_t i = 0, o = 0, run;

	if (outlen == 0)
		return out;
	/* Runs are measured in the whole id, so a cut one is masked too. */
	while (id[i] != '\0' && o + 1 < outlen) {
		for (run = 0; id[i + run] >= '0' && id[i + run] <= '9'; run++)
			;
		if (run == 0) {
			out[o++] = id[i++];
			continue;
		}
		for (size_t j = 0; j < run && o + 1 < outlen; j++)
			out[o++] = run >= 7 && j >= 3 && j < run - 4 ? '*' :
			    id[i + j];
		i += run;
	}
	out[o] = '\0';
	return out;
}
