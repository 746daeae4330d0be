/*
 * api.h - the handlers of the operator API, one function per route.
 */
#ifndef SANZHANG_API_H
#define SANZHANG_API_H

struct req;
struct json_t;

void api_health(struct req *rq);
void api_roster_import(struct req *rq);
void api_roster_export(struct req *rq);
void api_nodes_get(struct req *rq);
void api_alert_create(struct req *rq);
void api_alert_list(struct req *rq);
void api_alert_get(struct req *rq);
void api_alert_action(struct req *rq);
void api_inbound(struct req *rq);
void api_ack(struct req *rq);
void api_alertmanager(struct req *rq);

/*
 * Create an alert from a request-shaped JSON document (taken over), as
 * POST /v1/alerts does, for a source that made the document itself;
 * idem_key (or NULL) stands for the Idempotency-Key header.  Answers rq.
 */
void alert_create_doc(struct req *rq, struct json_t *doc,
    const char *idem_key);
/* GET /: the duty room's page; no data in it, so no token (dashboard.c). */
void api_dashboard(struct req *rq);

#endif
