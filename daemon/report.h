/*
 * report.h - the after-action report as CSV or as a printable HTML page.
 */
#ifndef SANZHANG_REPORT_H
#define SANZHANG_REPORT_H

#include <jansson.h>

struct evbuffer;

/* One line per grid: the counts, and each grid's answer rate. */
void report_csv(const json_t *doc, struct evbuffer *out);
/*
 * A self-contained page (inline CSS and SVG, no script): summary, per
 * community, a bar per grid, time to acknowledge per role with a
 * histogram, escalations, who never answered (phones masked) and the
 * numbers that failed.
 */
void report_html(const json_t *doc, struct evbuffer *out);

#endif
