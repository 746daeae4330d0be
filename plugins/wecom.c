/*
 * wecom.c - the `wecom` channel: a WeCom group robot (企业微信群机器人) in
 * each grid's group.  One post per grid group lists each leader's posts
 * and ack link.  WeCom's markdown cannot mention anyone by mobile, its
 * text can (text.mentioned_mobile_list), so the default is text with
 * mentions; `markdown = true` posts markdown without them.  The robot's
 * key is in its URL; there is no signing.  WeCom takes 20 posts a minute
 * per robot; a text is at most 2048 bytes, so a post lists 10 leaders.
 */
#include "robot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define WC_ERR_FREQ		45009	/* api freq out of limit */
#define WC_ERR_BAD_URL		93000	/* invalid webhook url */
#define WC_ERR_BUSY		(-1)	/* system busy */
#define WC_BATCH		10
#define WC_OPT_MARKDOWN		1

static const struct sz_setting wc_settings[] = {
	{ "url", SZ_SETTING_STRING, false, true,
	    "the robot's webhook URL for grids the roster gives none "
	    "(https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=...)" },
	{ "markdown", SZ_SETTING_BOOL, false, false,
	    "post markdown (links, no @-mentions) instead of text (default "
	    "false)" },
	{ "timeout_ms", SZ_SETTING_INT, false, false,
	    "request timeout in milliseconds (default 10000)" },
	{ "throttle_retry_after", SZ_SETTING_INT, false, false,
	    "seconds before a post the provider throttled is retried "
	    "(default 60)" },
	{ NULL, 0, false, false, NULL },
};

/* 20 posts in any minute, per robot. */
/* WeCom's caps on a post's content, in bytes (its robot's docs). */
#define WC_TEXT_MAX	2048
#define WC_MARKDOWN_MAX	4096

static const struct sz_limit wc_limits[] = {
	{ 20, 60 },
	{ 0, 0 },
};

static json_t *
wc_body(const struct robot_state *st, const struct sz_msg *const *msgs,
    size_t n, int64_t now)
{
	json_t *o = NULL, *mobiles;
	char *text;

	(void)now;
	if (st->opts & WC_OPT_MARKDOWN) {
		if ((text = robot_markdown(msgs, n, 0, WC_MARKDOWN_MAX)) !=
		    NULL)
			o = json_pack("{s:s, s:{s:s}}", "msgtype", "markdown",
			    "markdown", "content", text);
		free(text);
		return o;
	}
	if ((mobiles = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (msgs[i]->phone != NULL && *msgs[i]->phone != '\0')
			json_array_append_new(mobiles,
			    json_string(msgs[i]->phone));
	if ((text = robot_text(msgs, n, 0, WC_TEXT_MAX)) != NULL)
		o = json_pack("{s:s, s:{s:s, s:O}}", "msgtype", "text", "text",
		    "content", text, "mentioned_mobile_list", mobiles);
	json_decref(mobiles);
	free(text);
	return o;
}

static char *
wc_url(const struct robot_state *st, const char *base, int64_t now)
{
	(void)st;
	(void)now;
	return strdup(base);
}

static void
wc_answer(const char *body, struct robot_verdict *v)
{
	static const char *const keys[][2] = { { "errcode", "errmsg" } };
	long long e;

	/* errmsg ends in a hint and a link: the first words say enough. */
	if (robot_answer_read(body, keys, 1, 40, &e, v))
		return;
	if (e == WC_ERR_FREQ || e == WC_ERR_BUSY) {
		v->outcome = SZ_RETRY;
		v->throttled = e == WC_ERR_FREQ;
	} else if (e == WC_ERR_BAD_URL)
		v->outcome = SZ_GONE;
	else
		v->outcome = SZ_FAILED;
}

static const struct robot_kind wc_kind = {
	.name = "wecom",
	.body = wc_body,
	.url = wc_url,
	.answer = wc_answer,
};

static int
wc_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	struct robot_state *st;

	if (robot_open(host, chan, &wc_kind, &st, err, errlen) != 0)
		return -1;
	if (host->setting_bool(chan, "markdown", false))
		st->opts |= WC_OPT_MARKDOWN;
	*state = st;
	return 0;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "wecom",
	.description = "WeCom group robot: one post per grid group",
	.max_batch = WC_BATCH,
	.flags = SZ_PLUGIN_BATCH_BY_TARGET,
	.settings = wc_settings,
	.target_limits = wc_limits,
	.open = wc_open,
	.send = robot_send,
	.close = robot_close,
};
