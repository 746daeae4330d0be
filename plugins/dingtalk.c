/*
 * dingtalk.c - the `dingtalk` channel: a DingTalk custom robot (自定义机器人)
 * in each grid's group.  One markdown post per grid group lists each
 * leader's posts and ack link and @-mentions them by mobile (at.atMobiles,
 * with "@phone" in the text, as DingTalk requires for the mention to show).
 * With a secret (加签), each request carries timestamp (ms) and sign =
 * urlencode(base64(HMAC-SHA256(secret, timestamp "\n" secret))) in its
 * query.  DingTalk takes 20 posts a minute per robot and throttles one
 * that sends more for 10 minutes, so the host holds each robot to that.
 */
#include "robot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define DT_ERR_TOO_FAST		130101	/* send too fast, exceed 20 times per minute */
#define DT_ERR_SECURITY		310000	/* keywords / sign / ip check failed */
#define DT_ERR_NO_TOKEN		300001	/* token is not exist */
#define DT_ERR_BUSY		(-1)	/* 系统繁忙 */

static const struct sz_setting dt_settings[] = {
	{ "url", SZ_SETTING_STRING, false, true,
	    "the robot's webhook URL for grids the roster gives none "
	    "(https://oapi.dingtalk.com/robot/send?access_token=...)" },
	{ "secret", SZ_SETTING_STRING, false, true,
	    "the robot's 加签 secret (SEC...), when it signs" },
	{ "timeout_ms", SZ_SETTING_INT, false, false,
	    "request timeout in milliseconds (default 10000)" },
	{ "throttle_retry_after", SZ_SETTING_INT, false, false,
	    "seconds before a post the provider throttled is retried "
	    "(default 60)" },
	{ NULL, 0, false, false, NULL },
};

/* 20 posts in any minute, per robot. */
static const struct sz_limit dt_limits[] = {
	{ 20, 60 },
	{ 0, 0 },
};

static json_t *
dt_body(const struct robot_state *st, const struct sz_msg *const *msgs,
    size_t n, int64_t now)
{
	json_t *o, *mobiles = json_array();
	char *title = robot_title(msgs[0]), *text = robot_markdown(msgs, n, 1, 0);

	(void)st;
	(void)now;
	for (size_t i = 0; mobiles != NULL && i < n; i++)
		if (msgs[i]->phone != NULL && *msgs[i]->phone != '\0')
			json_array_append_new(mobiles,
			    json_string(msgs[i]->phone));
	o = title == NULL || text == NULL || mobiles == NULL ? NULL :
	    json_pack("{s:s, s:{s:s, s:s}, s:{s:O, s:b}}", "msgtype",
	    "markdown", "markdown", "title", title, "text", text, "at",
	    "atMobiles", mobiles, "isAtAll", 0);
	json_decref(mobiles);
	free(title);
	free(text);
	return o;
}

static char *
dt_url(const struct robot_state *st, const char *base, int64_t now)
{
	char sig[ROBOT_SIG_B64], *enc, *url;
	size_t len;

	if (st->secret == NULL)
		return strdup(base);
	if (robot_sign_dingtalk(st->secret, (long long)now, sig) != 0 ||
	    (enc = robot_pct(sig)) == NULL)
		return NULL;
	len = strlen(base) + strlen(enc) + 64;
	if ((url = malloc(len)) != NULL)
		snprintf(url, len, "%s%ctimestamp=%lld&sign=%s", base,
		    strchr(base, '?') != NULL ? '&' : '?', (long long)now, enc);
	free(enc);
	return url;
}

static void
dt_answer(const char *body, struct robot_verdict *v)
{
	static const char *const keys[][2] = { { "errcode", "errmsg" } };
	long long e;

	if (robot_answer_read(body, keys, 1, 80, &e, v))
		return;
	if (e == DT_ERR_TOO_FAST || e == DT_ERR_BUSY) {
		v->outcome = SZ_RETRY;
		v->throttled = e == DT_ERR_TOO_FAST;
	} else if (e == DT_ERR_NO_TOKEN)
		v->outcome = SZ_GONE;
	else
		v->outcome = SZ_FAILED;	/* 310000 and the like: fix the setup */
}

static const struct robot_kind dt_kind = {
	.name = "dingtalk",
	.body = dt_body,
	.url = dt_url,
	.answer = dt_answer,
};

static int
dt_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	return robot_open(host, chan, &dt_kind, (struct robot_state **)state,
	    err, errlen);
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "dingtalk",
	.description = "DingTalk custom robot: one markdown post per grid group",
	.max_batch = ROBOT_BATCH,
	.flags = SZ_PLUGIN_BATCH_BY_TARGET,
	.settings = dt_settings,
	.target_limits = dt_limits,
	.open = dt_open,
	.send = robot_send,
	.close = robot_close,
};
