/*
 * store_sqlite_report.c - the after-action (drill) report of one alert,
 * in one pass over its recipient range:
 *   per grid and per community: recipients, reached, acknowledged,
 *     failed, silent;
 *   per role: time to acknowledge (median and 90th percentile, seconds
 *     from the alert's start);
 *   who never answered, and the numbers that failed (the roster to fix),
 *     at most REPORT_LIST_MAX of each (with how many more);
 *   the escalation steps and what they did.
 */
#include "store_sqlite.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_LIST_MAX	10000
#define REPORT_MINUTES	30	/* the time-to-ack histogram's span */

/* Times to acknowledge of one role, in seconds. */
struct report_times {
	double		*v;
	size_t		 n, cap;
};

struct report {
	json_t			*grids;		/* grid -> counts */
	json_t			*communities;
	json_t			*silent;	/* [{name, phone, grid, posts}] */
	json_t			*failed;
	size_t			 more_silent, more_failed;
	struct report_times	 times[ROLE_COUNT];
	int64_t			 start;
	json_t			*errors;	/* recipient id -> last error */
	json_int_t		 minutes[REPORT_MINUTES + 1];	/* acks by minute;
						 * the last: later */
};

static const char *const report_keys[] = {
	"recipients", "reached", "acked", "failed", "silent", NULL
};

static json_t *
report_zero(void)
{
	json_t *o = json_object();

	for (size_t i = 0; report_keys[i] != NULL; i++)
		json_object_set_new(o, report_keys[i], json_integer(0));
	return o;
}

static void
report_add(json_t *map, const char *key, int state)
{
	json_t *o = json_object_get(map, key);
	bool reached = state == RCPT_SENT || state == RCPT_DELIVERED ||
	    state == RCPT_ACKED;
	const char *what[3] = { "recipients", reached ? "reached" : NULL,
	    state == RCPT_ACKED ? "acked" : state == RCPT_FAILED ? "failed" :
	    NULL };

	if (o == NULL) {
		o = report_zero();
		json_object_set_new(map, key, o);
	}
	for (int i = 0; i < 3; i++)
		if (what[i] != NULL)
			json_object_set_new(o, what[i], json_integer(1 +
			    json_integer_value(json_object_get(o, what[i]))));
	if (state != RCPT_ACKED && state != RCPT_CANCELLED)
		json_object_set_new(o, "silent", json_integer(1 +
		    json_integer_value(json_object_get(o, "silent"))));
}

static int
report_time(struct report_times *t, double s)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		double *v = realloc(t->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n++] = s;
	return 0;
}

static int
report_dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* {"answered", "median_s", "p90_s"} of one role; null times when none. */
static json_t *
report_percentiles(struct report_times *t)
{
	json_t *o = json_pack("{s:I}", "answered", (json_int_t)t->n);

	if (t->n == 0) {
		json_object_set_new(o, "median_s", json_null());
		json_object_set_new(o, "p90_s", json_null());
		return o;
	}
	qsort(t->v, t->n, sizeof(*t->v), report_dbl_cmp);
	json_object_set_new(o, "median_s", json_real(t->v[(t->n - 1) / 2]));
	json_object_set_new(o, "p90_s", json_real(t->v[(t->n * 9 + 9) / 10 -
	    1]));
	return o;
}

static int
report_row(struct report *r, sqlite3_stmt *stmt)
{
	const char *grid = (const char *)sqlite3_column_text(stmt, 0);
	int state = sqlite3_column_int(stmt, 1);
	int role = sqlite3_column_int(stmt, 2);
	char comm[ROSTER_MAX_CODE + 1];
	json_t *who, **list;
	size_t *more;

	report_add(r->grids, grid, state);
	roster_code_community(grid, comm, sizeof(comm));
	report_add(r->communities, comm, state);
	if (state == RCPT_ACKED && sqlite3_column_type(stmt, 3) !=
	    SQLITE_NULL && role >= 0 && role < ROLE_COUNT) {
		double s = (double)(sqlite3_column_int64(stmt, 3) - r->start) /
		    1000.0;
		int m = s < 0 ? 0 : (int)(s / 60);

		r->minutes[m < REPORT_MINUTES ? m : REPORT_MINUTES]++;
		if (report_time(&r->times[role], s) != 0)
			return -1;
	}
	if (state == RCPT_ACKED || state == RCPT_CANCELLED)
		return 0;
	list = state == RCPT_FAILED ? &r->failed : &r->silent;
	more = state == RCPT_FAILED ? &r->more_failed : &r->more_silent;
	if (json_array_size(*list) >= REPORT_LIST_MAX) {
		(*more)++;
		return 0;
	}
	who = json_pack("{s:s,s:s,s:s,s:s,s:o}",
	    "name", (const char *)sqlite3_column_text(stmt, 4),
	    "phone", (const char *)sqlite3_column_text(stmt, 5),
	    "grid", grid, "state", rcpt_state_name(state),
	    "posts", json_loads((const char *)sqlite3_column_text(stmt, 6), 0,
	    NULL) ?: json_array());
	if (who == NULL)
		return -1;
	if (state == RCPT_FAILED) {
		char key[24];

		snprintf(key, sizeof(key), "%lld",
		    (long long)sqlite3_column_int64(stmt, 7));
		json_t *err = json_object_get(r->errors, key);

		json_object_set_new(who, "error", err ? json_incref(err) :
		    json_string(""));
	}
	return json_array_append_new(*list, who);
}

static void
report_free(struct report *r)
{
	json_decref(r->grids);
	json_decref(r->communities);
	json_decref(r->silent);
	json_decref(r->failed);
	json_decref(r->errors);
	for (int i = 0; i < ROLE_COUNT; i++)
		free(r->times[i].v);
}

static int
report_range(struct sqlite_store *s, int64_t id, int64_t *first,
    int64_t *last, int64_t *start)
{
	sqlite3_stmt *stmt;
	int rc;

	if (sqlite_prepare(s, "SELECT first_rcpt, last_rcpt, created_at FROM "
	    "alerts WHERE id = ?", &stmt) != STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	if ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		*first = sqlite3_column_int64(stmt, 0);
		*last = sqlite3_column_int64(stmt, 1);
		*start = sqlite3_column_int64(stmt, 2);
	}
	sqlite3_finalize(stmt);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOTFOUND : sqlite_fail(s, rc, "report");
}

/*
 * The last error of each failed delivery of the alert (what to fix in the
 * roster), by recipient id: one pass over the deliveries, since they have
 * no index by recipient.
 */
static int
report_errors(struct sqlite_store *s, int64_t id, json_t *errors)
{
	sqlite3_stmt *stmt;
	char key[24];
	int rc;

	if (sqlite_prepare(s, "SELECT recipient_id, error FROM deliveries "
	    "WHERE alert_id = ?1 AND state = ?2 ORDER BY id", &stmt) !=
	    STORE_OK)
		return STORE_ERROR;
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int(stmt, 2, DLV_FAILED);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		snprintf(key, sizeof(key), "%lld",
		    (long long)sqlite3_column_int64(stmt, 0));
		json_object_set_new(errors, key, json_string(
		    (const char *)sqlite3_column_text(stmt, 1) ?: ""));
	}
	sqlite3_finalize(stmt);
	return rc == SQLITE_DONE ? STORE_OK : sqlite_fail(s, rc, "report");
}

int
sqlite_alert_report(struct store *st, int64_t id, json_t **out)
{
	struct sqlite_store *s = sq(st);
	struct report r = { .grids = json_object(),
	    .communities = json_object(), .silent = json_array(),
	    .failed = json_array(), .errors = json_object() };
	json_t *doc = NULL, *roles, *hist, *esc = json_array();
	sqlite3_stmt *stmt;
	int64_t first = 0, last = -1;
	int rc;

	/* The alert as GET /v1/alerts/ID shows it, counts included. */
	if ((rc = sqlite_alert_get(st, id, &doc)) != STORE_OK ||
	    (rc = report_range(s, id, &first, &last, &r.start)) != STORE_OK ||
	    (rc = report_errors(s, id, r.errors)) != STORE_OK)
		goto done;
	if (sqlite_prepare(s, "SELECT r.grid, r.state, r.role, r.acked_at, "
	    "r.name, sz_open(r.phone), r.posts, r.id FROM recipients r WHERE r.id "
	    "BETWEEN ?1 AND ?2 ORDER BY r.id", &stmt) != STORE_OK) {
		rc = STORE_ERROR;
		goto done;
	}
	sqlite3_bind_int64(stmt, 1, first);
	sqlite3_bind_int64(stmt, 2, last);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW)
		if (report_row(&r, stmt) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	sqlite3_finalize(stmt);
	if (rc != SQLITE_DONE) {
		rc = sqlite_fail(s, rc, "report");
		goto done;
	}
	if ((rc = sqlite_esc_list(s, id, esc)) != STORE_OK)
		goto done;
	roles = json_object();
	for (int i = 0; i < ROLE_COUNT; i++)
		json_object_set_new(roles, roster_role_name(i),
		    report_percentiles(&r.times[i]));
	json_object_set_new(doc, "time_to_ack", roles);
	hist = json_array();
	for (int i = 0; i <= REPORT_MINUTES; i++)
		json_array_append_new(hist, json_integer(r.minutes[i]));
	json_object_set_new(doc, "acks_by_minute", hist);
	json_object_set(doc, "per_grid", r.grids);
	json_object_set(doc, "per_community", r.communities);
	json_object_set(doc, "never_answered", r.silent);
	json_object_set_new(doc, "never_answered_more",
	    json_integer((json_int_t)r.more_silent));
	json_object_set(doc, "failed_numbers", r.failed);
	json_object_set_new(doc, "failed_numbers_more",
	    json_integer((json_int_t)r.more_failed));
	json_object_set(doc, "escalations", esc);
	json_object_del(doc, "grids");
	*out = doc;
	doc = NULL;
done:
	json_decref(doc);
	json_decref(esc);
	report_free(&r);
	return rc;
}
