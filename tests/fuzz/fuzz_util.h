/*
 * fuzz_util.h - what several libFuzzer harnesses share: a scratch file for
 * code that reads a path, and the small config the alert checks run with.
 */
#ifndef SZ_FUZZ_UTIL_H
#define SZ_FUZZ_UTIL_H

#include <stddef.h>

struct config;

/*
 * Write len bytes to this process's scratch file (in $TMPDIR, removed at
 * exit) and return its path; NULL when the write fails.
 */
const char *fuzz_scratch(const void *data, size_t len);

/*
 * The config of tests/fuzz (templates, routing for every role, an
 * escalation policy per kind), loaded once; aborts if it does not load.
 */
const struct config *fuzz_config(void);

/* A NUL-terminated malloc'd copy of the input (aborts when out of memory). */
char *fuzz_strndup(const void *data, size_t len);

#endif
