/*
 * alert.c - names and short codes of alerts and recipient states.
 */
#include "alert.h"

#include <ctype.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const rcpt_states[RCPT_STATE_COUNT] = {
	[RCPT_PENDING] = "pending", [RCPT_SENT] = "sent",
	[RCPT_DELIVERED] = "delivered", [RCPT_ACKED] = "acked",
	[RCPT_FAILED] = "failed", [RCPT_CANCELLED] = "cancelled",
	[RCPT_EXPIRED] = "expired",
};

const char *
rcpt_state_name(enum rcpt_state s)
{
	return (unsigned)s < RCPT_STATE_COUNT ? rcpt_states[s] : "unknown";
}

int
rcpt_state_parse(const char *s)
{
	for (int i = 0; i < RCPT_STATE_COUNT; i++)
		if (strcmp(s, rcpt_states[i]) == 0)
			return i;
	return -1;
}

void
alert_code(int64_t id, char out[16])
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char tmp[16];
	size_t n = 0;
	uint64_t v = id > 0 ? (uint64_t)id : 0;

	do {
		tmp[n++] = digits[v % 36];
		v /= 36;
	} while (v > 0 && n < sizeof(tmp) - 2);
	out[0] = 'A';
	for (size_t i = 0; i < n; i++)
		out[1 + i] = tmp[n - 1 - i];
	out[1 + n] = '\0';
}

int64_t
alert_code_parse(const char *s)
{
	int64_t v = 0;
	int base = 10;

	if (*s == 'A' || *s == 'a') {
		s++;
		base = 36;
	}
	if (*s == '\0' || strlen(s) > 10)
		return -1;
	for (; *s; s++) {
		int d = isdigit((unsigned char)*s) ? *s - '0' :
		    isalpha((unsigned char)*s) ? toupper((unsigned char)*s) - 'A' + 10 :
		    99;

		if (d >= base)
			return -1;
		v = v * base + d;
	}
	return v;
}

void
dlv_row_free(struct dlv_row *r)
{
	if (r == NULL)
		return;
	free(r->name);
	free(r->posts);
	free(r->channels);
	free(r->note);
	free(r->group);
	free(r->grid_channels);
	free(r);
}

void
grid_info_free(struct grid_info *g)
{
	free(g->label);
	free(g->channels);
	g->label = g->channels = NULL;
}

void
alert_brief_free(struct alert_brief *b)
{
	free(b->title);
	free(b->body);
	free(b->node);
	b->title = b->body = b->node = NULL;
}

void
ack_info_free(struct ack_info *a)
{
	free(a->title);
	free(a->body);
	free(a->name);
	free(a->posts);
	free(a->responses);
	free(a->community);
	free(a->community_name);
	memset(a, 0, sizeof(*a));
}

bool
ack_needs_help(const char *label)
{
	static const char *const words[] = {
		"支援", "帮助", "求助", "援助", "协助", "需要帮", NULL,
	};

	for (size_t i = 0; label != NULL && words[i] != NULL; i++)
		if (strstr(label, words[i]) != NULL)
			return true;
	return false;
}

int
ack_n_responses(const char *responses_json)
{
	json_t *v = json_loads(responses_json ? responses_json : "", 0, NULL);
	int n = json_is_array(v) ? (int)json_array_size(v) : 0;

	json_decref(v);
	return n > 0 ? n : 1;
}

int64_t
alert_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ack_first_ms(const struct ack_info *info, const struct ack_in *in,
    enum ack_result result)
{
	if (result != ACK_RECORDED || info->acked_at != in->now ||
	    info->created_at <= 0 || in->now < info->created_at)
		return -1;
	return in->now - info->created_at;
}
