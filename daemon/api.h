/*
 * api.h - the handlers of the operator API, one function per route.
 */
#ifndef SANZHANG_API_H
#define SANZHANG_API_H

struct req;

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
/* GET /: the duty room's page; no data in it, so no token (dashboard.c). */
void api_dashboard(struct req *rq);

#endif
