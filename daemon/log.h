/*
 * log.h - one logging interface for sanzhangd and sanzhangctl.
 *
 * Lines go to stderr as "<N>level: message" when the journal is the reader
 * (the <N> prefix is the syslog priority journald understands) and as
 * "sanzhangd: level: message" otherwise.  fatal*() exit; use them only at
 * start-up or for states that cannot happen.  Phone numbers and tokens must
 * never be passed here in clear: use log_phone() to mask a number.
 */
#ifndef SANZHANG_LOG_H
#define SANZHANG_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERROR = 0,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* Set the program name shown in lines and whether to use <N> prefixes. */
void log_init(const char *progname, int journal_prefix);
/* From now on, send lines to syslog (a daemon detached from its terminal). */
void log_to_syslog(void);
/* Messages above this level are dropped. */
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parse "error" / "warn" / "info" / "debug"; -1 when unknown. */
int log_level_parse(const char *name);

void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);   /* adds strerror(errno) */
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_error(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_PRINTF(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_PRINTF(1, 2);

/*
 * Mask a phone number for a log line: "13800000002" -> "138****0002".
 * Writes at most outlen bytes (outlen >= 16 is always enough for the
 * 11-digit numbers the roster stores) and returns out.
 */
char *log_phone(const char *phone, char *out, size_t outlen);
/*
 * An id from a gateway for a log line (at most outlen - 1 bytes of it):
 * any run of 7 or more digits, which may be a phone number (Kannel's
 * provider ids carry one), keeps only its first 3 and last 4.
 */
char *log_id(const char *id, char *out, size_t outlen);

#endif
