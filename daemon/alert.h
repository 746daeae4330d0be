/*
 * alert.h - alerts and recipients as the API and the store share them.
 */
#ifndef SANZHANG_ALERT_H
#define SANZHANG_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "roster.h"

/* A recipient's state (DESIGN.md); the order is the storage code. */
enum rcpt_state {
	RCPT_PENDING = 0,	/* not yet accepted by any gateway */
	RCPT_SENT,		/* accepted */
	RCPT_DELIVERED,		/* a receipt came back */
	RCPT_ACKED,
	RCPT_FAILED,
	RCPT_CANCELLED,
	RCPT_EXPIRED,
	RCPT_STATE_COUNT
};

#define ALERT_MAX_ESC	16	/* escalation steps of one policy */

/* One escalation step as an alert keeps it. */
struct alert_esc {
	int		  after;	/* seconds after the alert starts */
	const char	 *action;	/* resend, backup, notify_parent,
					 * notify_duty */
};

/* A validated request to create an alert. */
struct alert_new {
	int		  kind;		/* enum alert_kind */
	int		  severity;	/* enum alert_severity */
	const char	 *title;
	const char	 *body;
	const char *const *targets;	/* node codes, none covering another */
	size_t		  n_targets;
	const char *const *named;	/* every code the request named: each
					 * must exist, covered or not */
	size_t		  n_named;
	unsigned	  roles;	/* bit (1 << role) per targeted role */
	const char	 *targets_json;	/* as stored and shown */
	const char	 *roles_json;
	const char	 *responses_json;
	const char	 *escalation;	/* policy name or "none" */
	int64_t		  created_at;	/* ms since the epoch */
	int64_t		  send_at;	/* first sends wait until then (quiet
					 * hours); 0 = at once */
	int64_t		  expires_at;
	const char	 *actor;	/* token name */
	const char	 *idem_key;	/* NULL when none */
	const char	 *route[ROLE_COUNT]; /* first channel per role (the
					 * config's routing); NULL = none: such
					 * recipients fail at once */
	int		  priority;	/* send order: emergencies first */
	struct alert_esc  esc[ALERT_MAX_ESC];	/* the policy's steps */
	size_t		  n_esc;
};

/* A delivery's state; the order is the storage code. */
enum dlv_state {
	DLV_QUEUED = 0,		/* waiting for its turn (next_at) */
	DLV_SENT,		/* a gateway accepted it */
	DLV_DELIVERED,		/* a receipt confirmed it */
	DLV_FAILED,		/* given up on this channel */
	DLV_CANCELLED,
	DLV_EXPIRED,
	DLV_SKIPPED,		/* not sent: the recipient had answered */
};

/* A queued delivery as the dispatcher reads it. */
struct dlv_row {
	int64_t		 id;		/* the stable delivery id */
	int64_t		 recipient_id;
	int64_t		 alert_id;
	int		 priority;
	int		 attempts;	/* tries so far on this channel */
	int		 role;		/* the recipient's routing role */
	int		 rcpt_state;	/* enum rcpt_state when read */
	char		*note;		/* an escalation's message, malloc'd;
					 * NULL for the alert's own */
	int64_t		 next_at;
	char		 channel[40];
	char		 phone[12];
	char		*name;		/* malloc'd by the store */
	char		*posts;		/* posts JSON, malloc'd */
	char		*channels;	/* roster channels column, malloc'd */
	char		 grid[ROSTER_MAX_CODE + 1];	/* where the recipient
					 * counts: a grid, else a community */
	/* Filled only for channels that batch by target (group robots): */
	char		*group;		/* the grid's readable label, malloc'd */
	char		*grid_channels;	/* the channels entries of every row of
					 * the grid, ';'-joined, malloc'd */
};

/* A grid as a group robot addresses it (store_grid_info). */
struct grid_info {
	char		*label;		/* "南湖社区 G01网格", malloc'd */
	char		*channels;	/* the non-empty channels columns of the
					 * grid's rows, grid leader's first,
					 * ';'-joined, malloc'd */
};

/* Where the last page of the queue ended (send order). */
struct dlv_cursor {
	int		 priority;
	int64_t		 next_at;
	int64_t		 id;
};

/* What to write after a send attempt. */
enum dlv_result {
	DLV_R_ACCEPTED = 0,	/* state sent; the recipient too */
	DLV_R_RETRY,		/* attempts + 1, due again at next_at */
	DLV_R_FAILED,		/* failed here; fallback or the recipient fails */
	DLV_R_EXPIRED,		/* the alert expired before it went out */
	DLV_R_DEFER,		/* not tried: due again at next_at (quiet
				 * hours hold a notice) */
	DLV_R_SKIP,		/* not sent: the recipient has answered */
};

struct dlv_update {
	int64_t		 id;
	int64_t		 recipient_id;
	int64_t		 alert_id;
	int		 priority;
	int		 result;	/* enum dlv_result */
	int64_t		 next_at;	/* retry: when */
	char		 provider_id[96]; /* accepted: "" when none */
	char		 error[128];	/* retry and failure: why (no phone) */
	char		 fallback[40];	/* failed: the next channel, "" = none */
};

/* What the dispatcher keeps of an alert. */
struct alert_brief {
	int		 kind;
	int		 severity;
	char		*title;		/* malloc'd */
	char		*body;		/* malloc'd */
	char		*node;		/* its first target's name, malloc'd */
	int64_t		 created_at;
	int64_t		 expires_at;
	bool		 active;	/* not cancelled */
};

/* The wall clock in ms since the epoch: how alerts and deliveries keep time. */
int64_t alert_now_ms(void);
void dlv_row_free(struct dlv_row *r);
void grid_info_free(struct grid_info *g);
void alert_brief_free(struct alert_brief *b);

/* What firing an escalation step needs from the config. */
struct esc_ctx {
	int64_t		 now;		/* ms */
	const char	*route[ROLE_COUNT][2];	/* first and second channel
						 * of each role, or NULL */
};

/* What it did. */
struct esc_fired {
	int64_t		 alert_id;
	char		 action[16];
	bool		 skipped;	/* already fired, or the alert closed */
	size_t		 silent;	/* recipients still silent */
	size_t		 resent;	/* resend: deliveries queued again */
	size_t		 told;		/* people given an escalation message */
	size_t		 unreachable;	/* silent with nobody found to tell */
};

/* One recipient and their alert, as an acknowledgement needs them. */
struct ack_info {
	int64_t		 rcpt_id;
	int64_t		 alert_id;
	int		 kind;
	int		 severity;
	char		*title;		/* malloc'd, like every string here */
	char		*body;
	char		*name;
	char		*posts;		/* the recipient's posts, JSON */
	char		*responses;	/* the alert's options, JSON array */
	int64_t		 created_at;
	int64_t		 expires_at;
	bool		 cancelled;	/* the alert was cancelled */
	int		 state;		/* enum rcpt_state */
	int		 response;	/* 1-based; 0 = none yet */
	int64_t		 acked_at;	/* the first answer; 0 = none */
	char		*community;	/* code of the first post's community */
	char		*community_name;	/* its name, or NULL */
};

/* An answer to record. */
struct ack_in {
	int64_t		 rcpt_id;
	int		 response;	/* 1-based */
	const char	*via;		/* "link", "sms", "operator:NAME" */
	int64_t		 now;		/* ms */
	const struct esc_ctx *routes;	/* for a needs-help note; NULL: none */
};

enum ack_result {
	ACK_RECORDED,		/* first answer, or a changed one */
	ACK_SAME,		/* the same answer again: nothing changed */
	ACK_CLOSED,		/* the alert is cancelled or expired */
	ACK_BAD_RESPONSE	/* no such option */
};

void ack_info_free(struct ack_info *a);
/* Whether an option means "needs help" (需要支援, 求助, ...). */
bool ack_needs_help(const char *label);
/* The number of options in a responses JSON array (at least 1). */
int ack_n_responses(const char *responses_json);
/*
 * After store_ack_record: milliseconds from the alert's start to this
 * answer when it was the recipient's first, else -1 (for the metrics).
 */
int64_t ack_first_ms(const struct ack_info *info, const struct ack_in *in,
    enum ack_result result);

/* What creating it did. */
struct alert_created {
	int64_t		 id;
	bool		 replayed;	/* the Idempotency-Key named an earlier alert */
	size_t		 recipients;	/* people */
	size_t		 posts;		/* posts covered */
	char		*vacancies;	/* JSON array, malloc'd */
	size_t		 missing;	/* with STORE_NOTFOUND: the named[]
					 * code that is not in the roster */
	double		 plan_s;	/* seconds spent reading the roster */
	double		 write_s;	/* seconds spent appending rows */
};

const char *rcpt_state_name(enum rcpt_state s);
/* -1 when unknown. */
int rcpt_state_parse(const char *s);
/* "A" + the id in base 36: the code a reply SMS names. */
void alert_code(int64_t id, char out[16]);
/* The id in "A7" (or "7"); -1 when it is not a code. */
int64_t alert_code_parse(const char *s);

#endif
