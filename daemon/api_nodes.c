/*
 * api_nodes.c - GET /v1/nodes[/CODE] and GET /healthz.
 */
#include "api.h"
#include "chan.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "http.h"
#include "roster.h"
#include "store.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct node_query {
	struct req	*rq;
	char		*code;		/* decoded; NULL = the caller's roots */
	json_t		*node;		/* the answer being built */
	json_t		*posts;
	json_t		*children;
};

static json_t *
node_json(const struct store_node *n)
{
	json_t *o = json_pack("{s:s,s:s,s:s}", "code", n->code, "kind",
	    roster_kind_name(n->kind), "name", n->name);

	if (n->kind == NODE_COMMUNITY)
		json_object_set_new(o, "village",
		    json_boolean(roster_code_is_village(n->code)));
	return o;
}

static int
node_cb(const struct store_node *n, void *arg)
{
	struct node_query *q = arg;

	q->node = node_json(n);
	json_object_set_new(q->node, "parent", *n->parent ?
	    json_string(n->parent) : json_null());
	return 0;
}

static int
post_cb(const struct store_post *p, void *arg)
{
	struct node_query *q = arg;

	json_array_append_new(q->posts, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}",
	    "role", roster_role_name(p->role), "label", roster_role_label(p->role),
	    "rank", p->rank, "name", p->name, "phone", p->phone,
	    "channels", p->channels));
	return 0;
}

static int
child_cb(const struct store_node *n, void *arg)
{
	struct node_query *q = arg;

	json_array_append_new(q->children, node_json(n));
	return 0;
}

/* A scoped caller's roots are its scope nodes: read each without posts. */
static int
root_cb(const struct store_node *n, void *arg)
{
	child_cb(n, arg);
	return 1;
}

static int
nodes_run(struct store *st, void *arg)
{
	struct node_query *q = arg;
	const struct caller *who = &q->rq->who;
	int rc = STORE_OK;

	if (q->code != NULL)
		return store_node_get(st, q->code, node_cb, post_cb, child_cb, q);
	if (who->n_scope == 0)
		return store_node_roots(st, child_cb, q);
	for (size_t i = 0; i < who->n_scope && rc != STORE_ERROR; i++)
		rc = store_node_get(st, who->scope[i], root_cb, NULL, NULL, q);
	return rc == STORE_ERROR ? rc : STORE_OK;
}

static void
nodes_done(int rc, void *arg)
{
	struct node_query *q = arg;

	if (rc == STORE_NOTFOUND) {
		http_reply_error(q->rq, 404, "not_found", "no node %s", q->code);
	} else if (rc != STORE_OK) {
		http_reply_store_error(q->rq, rc);
	} else if (q->code == NULL) {
		http_reply_json(q->rq, 200, json_pack("{s:O}", "children",
		    q->children));
	} else {
		json_object_set(q->node, "posts", q->posts);
		json_object_set(q->node, "children", q->children);
		http_reply_json(q->rq, 200, q->node);
		q->node = NULL;
	}
	json_decref(q->node);
	json_decref(q->posts);
	json_decref(q->children);
	free(q->code);
	free(q);
}

void
api_nodes_get(struct req *rq)
{
	static const char prefix[] = "/v1/nodes/";
	struct node_query *q;
	size_t len = 0;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		http_reply_error(rq, 500, "internal", "out of memory");
		return;
	}
	q->rq = rq;
	q->posts = json_array();
	q->children = json_array();
	if (strncmp(rq->path, prefix, sizeof(prefix) - 1) == 0) {
		q->code = evhttp_uridecode(rq->path + sizeof(prefix) - 1, 0, &len);
		if (q->code == NULL || strlen(q->code) != len ||
		    roster_code_kind(q->code) < 0) {
			http_reply_error(rq, 400, "bad_request", "not a node code: "
			    "%.80s", rq->path + sizeof(prefix) - 1);
			goto fail;
		}
		if (!http_caller_covers(&rq->who, q->code)) {
			http_deny(rq, q->code, NULL, "node %s is outside the "
			    "scope of token '%s'", q->code, rq->who.name);
			goto fail;
		}
	}
	if (dbq_submit(rq->d->readers, nodes_run, nodes_done, q, 0) == 0)
		return;
	http_reply_error(rq, 503, "unavailable", "shutting down");
fail:
	json_decref(q->posts);
	json_decref(q->children);
	free(q->code);
	free(q);
}

/* Each channel's counters since start. */
static json_t *
health_channels(struct daemon *d)
{
	json_t *a = json_array();
	struct sz_chan *const *v;
	size_t n;

	v = dispatch_channels(d->dispatch, &n);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,"
		    "s:I,s:i}", "name", v[i]->cfg->name,
		    "plugin", v[i]->plugin->name,
		    "messages", (json_int_t)v[i]->n_messages,
		    "requests", (json_int_t)v[i]->n_requests,
		    "accepted", (json_int_t)v[i]->n_accepted,
		    "retried", (json_int_t)v[i]->n_retried,
		    "failed", (json_int_t)v[i]->n_failed,
		    "in_flight", chan_inflight(v[i])));
	return a;
}

void
api_health(struct req *rq)
{
	struct daemon *d = rq->d;
	size_t depth = dbq_depth(d->writer) + dbq_depth(d->readers) +
	    dispatch_queued(d->dispatch);
	bool failing = dbq_failing(d->writer);
	size_t commits, writes;

	dbq_stats(d->writer, &commits, &writes);
	http_reply_json(rq, failing ? 503 : 200,
	    json_pack("{s:s,s:s,s:I,s:s,s:I,s:I,s:I,s:o}",
	    "status", failing ? "degraded" : "ok",
	    "version", PACKAGE_VERSION,
	    "queue_depth", (json_int_t)depth,
	    "db", failing ? "write failed" : "ok",
	    /* Group commit: writes (jobs) per commit (transaction). */
	    "db_writes", (json_int_t)writes,
	    "db_commits", (json_int_t)commits,
	    "uptime", (json_int_t)(time(NULL) - d->started),
	    "channels", health_channels(d)));
}
