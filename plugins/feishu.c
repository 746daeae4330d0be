/*
 * feishu.c - the `feishu` channel: a Feishu (Lark) custom bot (自定义机器人)
 * in each grid's group.  One rich-text ("post") message per grid group
 * lists each leader's posts and ack link.  A custom bot can mention only
 * by Feishu user id, not by mobile number, so nobody is @-mentioned.
 * With a secret (签名校验), the body carries timestamp (seconds) and sign =
 * base64(HMAC-SHA256 keyed with timestamp "\n" secret, over no bytes).
 * Feishu takes 100 posts a minute and 5 a second per bot.
 */
#include "robot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define FS_ERR_TOO_MANY		9499	/* too many request */
#define FS_ERR_LIMITED		11232	/* frequency limited */
#define FS_ERR_SIGN		19021	/* sign match fail or timestamp is
					 * not within one hour */
#define FS_ERR_KEYWORDS		19024	/* Key Words Not Found */

static const struct sz_setting fs_settings[] = {
	{ "url", SZ_SETTING_STRING, false, true,
	    "the bot's webhook URL for grids the roster gives none "
	    "(https://open.feishu.cn/open-apis/bot/v2/hook/...)" },
	{ "secret", SZ_SETTING_STRING, false, true,
	    "the bot's 签名校验 secret, when it signs" },
	{ "timeout_ms", SZ_SETTING_INT, false, false,
	    "request timeout in milliseconds (default 10000)" },
	{ "throttle_retry_after", SZ_SETTING_INT, false, false,
	    "seconds before a post the provider throttled is retried "
	    "(default 60)" },
	{ NULL, 0, false, false, NULL },
};

/* 100 posts in any minute and 5 in any second, per bot. */
static const struct sz_limit fs_limits[] = {
	{ 100, 60 },
	{ 5, 1 },
	{ 0, 0 },
};

static json_t *
fs_text(const char *s)
{
	return json_pack("{s:s, s:s}", "tag", "text", "text", s);
}

/* A paragraph of one text element. */
static json_t *
fs_para(const char *s)
{
	return json_pack("[o]", fs_text(s));
}

/* "张伟（网格长） " then the link. */
static json_t *
fs_leader(const struct sz_msg *m)
{
	struct pbuf b = { 0 };
	json_t *p;

	pbuf_str(&b, m->name != NULL ? m->name : "");
	if (m->posts != NULL && *m->posts != '\0') {
		pbuf_str(&b, "（");
		pbuf_str(&b, m->posts);
		pbuf_str(&b, "）");
	}
	pbuf_str(&b, " ");
	p = b.oom ? NULL : json_pack("[o, {s:s, s:s, s:s}]", fs_text(b.p),
	    "tag", "a", "text", "点击确认收到", "href", m->ack_url);
	free(b.p);
	return p;
}

static json_t *
fs_content(const struct sz_msg *const *msgs, size_t n)
{
	const struct sz_msg *m = msgs[0];
	const char *notice = m->notice != NULL ? m->notice : m->text;
	const char *rest = notice + strcspn(notice, "\n");
	json_t *paras = json_array();
	struct pbuf b = { 0 };

	if (paras == NULL)
		return NULL;
	if (*rest == '\n')
		json_array_append_new(paras, fs_para(rest + 1));
	pbuf_str(&b, m->group != NULL ? m->group : "");
	pbuf_str(&b, "请以下负责人确认收到：");
	if (!b.oom)
		json_array_append_new(paras, fs_para(b.p));
	free(b.p);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(paras, fs_leader(msgs[i]));
	/* A failed element was appended as NULL: jansson refused it. */
	if (b.oom || json_array_size(paras) != n + 1 + (*rest == '\n')) {
		json_decref(paras);
		return NULL;
	}
	return paras;
}

static json_t *
fs_body(const struct robot_state *st, const struct sz_msg *const *msgs,
    size_t n, int64_t now)
{
	char sig[ROBOT_SIG_B64], ts[24], *title = robot_title(msgs[0]);
	json_t *content = fs_content(msgs, n), *o = NULL;

	if (title != NULL && content != NULL)
		o = json_pack("{s:s, s:{s:{s:{s:s, s:O}}}}", "msg_type", "post",
		    "content", "post", "zh_cn", "title", title, "content",
		    content);
	json_decref(content);
	free(title);
	if (o == NULL || st->secret == NULL)
		return o;
	snprintf(ts, sizeof(ts), "%lld", (long long)(now / 1000));
	if (robot_sign_feishu(st->secret, now / 1000, sig) != 0 ||
	    json_object_set_new(o, "timestamp", json_string(ts)) != 0 ||
	    json_object_set_new(o, "sign", json_string(sig)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static char *
fs_url(const struct robot_state *st, const char *base, int64_t now)
{
	(void)st;
	(void)now;
	return strdup(base);
}

/* {"code": 0, "msg": "success", "data": {}}; older bots: StatusCode. */
static void
fs_answer(const char *body, struct robot_verdict *v)
{
	static const char *const keys[][2] = { { "code", "msg" },
	    { "StatusCode", "StatusMessage" } };
	long long e;

	if (robot_answer_read(body, keys, 2, 80, &e, v))
		return;
	if (e == FS_ERR_TOO_MANY || e == FS_ERR_LIMITED) {
		v->outcome = SZ_RETRY;
		v->throttled = 1;
	}
	else
		v->outcome = SZ_FAILED;	/* 19021, 19024: fix the setup */
}

static const struct robot_kind fs_kind = {
	.name = "feishu",
	.body = fs_body,
	.url = fs_url,
	.answer = fs_answer,
};

static int
fs_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	return robot_open(host, chan, &fs_kind, (struct robot_state **)state,
	    err, errlen);
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "feishu",
	.description = "Feishu custom bot: one rich-text post per grid group",
	.max_batch = ROBOT_BATCH,
	.flags = SZ_PLUGIN_BATCH_BY_TARGET,
	.settings = fs_settings,
	.target_limits = fs_limits,
	.open = fs_open,
	.send = robot_send,
	.close = robot_close,
};
