/*
 * metrics.h - counters since start, and GET /metrics in the Prometheus
 * text format (version 0.0.4).  Counted on the loop thread only.
 */
#ifndef SANZHANG_METRICS_H
#define SANZHANG_METRICS_H

#include <stdint.h>

struct req;

/* An HTTP answer: its route (a static string), method and status. */
void metrics_http(const char *route, int method, int code);
/* An answer recorded; first_ms from ack_first_ms() (-1: not a first). */
void metrics_ack(const char *via, int64_t first_ms);
/* GET /metrics. */
void api_metrics(struct req *rq);

#endif
