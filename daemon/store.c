/*
 * store.c - dispatch from the store interface to the chosen backend.
 */
#include "store.h"

#include <string.h>

static const struct store_backend *const store_backends[] = {
	&store_sqlite,
};

const struct store_backend *
store_backend_find(const char *name)
{
	for (size_t i = 0; i < sizeof(store_backends) / sizeof(store_backends[0]); i++)
		if (strcmp(store_backends[i]->name, name) == 0)
			return store_backends[i];
	return NULL;
}

struct store *
store_open(const struct store_backend *be, const char *state_dir, bool writer,
    char *err, size_t errlen)
{
	struct store *st = NULL;

	if (be->open(&st, state_dir, writer, err, errlen) != STORE_OK)
		return NULL;
	st->be = be;
	return st;
}

void
store_close(struct store *st)
{
	if (st != NULL)
		st->be->close(st);
}

int
store_begin(struct store *st, bool write, bool durable)
{
	return st->be->begin(st, write, durable);
}

int
store_commit(struct store *st)
{
	return st->be->commit(st);
}

void
store_idle(struct store *st)
{
	if (st->be->idle != NULL)
		st->be->idle(st);
}

int
store_probe(struct store *st)
{
	return st->be->probe != NULL ? st->be->probe(st) : STORE_OK;
}

void
store_lock_wait(struct store *st, int ms)
{
	if (st->be->lock_wait != NULL)
		st->be->lock_wait(st, ms);
}

void
store_rollback(struct store *st)
{
	st->be->rollback(st);
}

int
store_savepoint(struct store *st)
{
	return st->be->savepoint(st);
}

int
store_release(struct store *st)
{
	return st->be->release(st);
}

int
store_rollback_to(struct store *st)
{
	return st->be->rollback_to(st);
}

const char *
store_errmsg(struct store *st)
{
	return st->be->errmsg(st);
}

int
store_roster_apply(struct store *st, const struct roster *r,
    const struct roster_apply_opts *o, struct roster_apply_result *res)
{
	return st->be->roster_apply(st, r, o, res);
}

int
store_roster_export(struct store *st, const struct store_filter *f,
    store_row_cb cb, void *arg)
{
	return st->be->roster_export(st, f, cb, arg);
}

int
store_node_get(struct store *st, const char *code, store_node_cb node_cb,
    store_post_cb post_cb, store_node_cb child_cb, void *arg)
{
	return st->be->node_get(st, code, node_cb, post_cb, child_cb, arg);
}

int
store_node_roots(struct store *st, store_node_cb cb, void *arg)
{
	return st->be->node_roots(st, cb, arg);
}

int
store_audit_add(struct store *st, const struct audit_entry *e)
{
	return st->be->audit_add(st, e);
}

int
store_schema_version(struct store *st)
{
	return st->be->schema_version(st);
}

int
store_check(struct store *st)
{
	return st->be->check(st);
}

int
store_alert_create(struct store *st, const struct alert_new *a,
    struct alert_created *out)
{
	return st->be->alert_create(st, a, out);
}

int
store_alert_list(struct store *st, const char *state, struct json_t **out)
{
	return st->be->alert_list(st, state, out);
}

int
store_alert_get(struct store *st, int64_t id, struct json_t **out)
{
	return st->be->alert_get(st, id, out);
}

int
store_alert_recipients(struct store *st, int64_t id, int state,
    struct json_t **out)
{
	return st->be->alert_recipients(st, id, state, out);
}

int
store_alert_cancel(struct store *st, int64_t id, size_t *cancelled)
{
	return st->be->alert_cancel(st, id, cancelled);
}

int
store_alert_find_idem(struct store *st, const char *actor, const char *key,
    int64_t *id)
{
	return st->be->alert_find_idem(st, actor, key, id);
}

int
store_ack_get(struct store *st, int64_t rcpt, struct ack_info *out)
{
	return st->be->ack_get(st, rcpt, out);
}

int
store_ack_record(struct store *st, const struct ack_in *in,
    enum ack_result *result, struct ack_info *out)
{
	return st->be->ack_record(st, in, result, out);
}

int
store_ack_find(struct store *st, int64_t alert, const char *phone,
    int64_t *rcpt)
{
	return st->be->ack_find(st, alert, phone, rcpt);
}

int
store_alert_report(struct store *st, int64_t id, struct json_t **out)
{
	return st->be->alert_report(st, id, out);
}

int
store_esc_due(struct store *st, int64_t now, int64_t *ids, size_t max,
    size_t *n)
{
	return st->be->esc_due(st, now, ids, max, n);
}

int
store_esc_fire(struct store *st, int64_t id, const struct esc_ctx *x,
    struct esc_fired *out)
{
	return st->be->esc_fire(st, id, x, out);
}

int
store_reply_cands(struct store *st, const char *phone, int64_t now,
    struct reply_cand **out, size_t *n)
{
	return st->be->reply_cands(st, phone, now, out, n);
}

int
store_alert_brief(struct store *st, int64_t id, struct alert_brief *out)
{
	return st->be->alert_brief(st, id, out);
}

int
store_dlv_page(struct store *st, const struct dlv_cursor *after, int64_t now,
    size_t limit, int (*cb)(struct dlv_row *row, void *arg), void *arg)
{
	return st->be->dlv_page(st, after, now, limit, cb, arg);
}

int
store_grid_info(struct store *st, const char *grid, struct grid_info *out)
{
	return st->be->grid_info(st, grid, out);
}

int
store_dlv_apply(struct store *st, const struct dlv_update *u, size_t n)
{
	return st->be->dlv_apply(st, u, n);
}

int
store_dlv_receipt(struct store *st, const char *id, bool by_provider,
    bool delivered)
{
	return st->be->dlv_receipt(st, id, by_provider, delivered);
}
