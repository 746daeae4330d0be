/*
 * escalate.h - the escalation clock: steps due in the store fire on the
 * writer, one at a time, and the sender is woken for what they queued.
 */
#ifndef SANZHANG_ESCALATE_H
#define SANZHANG_ESCALATE_H

#include <stddef.h>

struct daemon;
struct esc_ctx;
struct escalate;

struct escalate *escalate_new(struct daemon *d, char *err, size_t errlen);
/* No new step fires after this (a stop is under way). */
void escalate_stop(struct escalate *e);
/* The routes escalation messages take (for needs-help notes too). */
const struct esc_ctx *escalate_routes(const struct escalate *e);
/* Store jobs in flight (a stop waits for them). */
size_t escalate_busy(const struct escalate *e);
void escalate_free(struct escalate *e);

#endif
