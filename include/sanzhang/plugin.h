/*
 * sanzhang/plugin.h - the channel plugin ABI of sanzhangd.
 *
 * A channel plugin is one shared object, PLUGIN_DIR/<name>.so, exporting
 * one symbol, `sanzhang_plugin`: a const struct sz_plugin.  The daemon loads
 * it with dlopen(RTLD_NOW | RTLD_LOCAL) and refuses it when its abi is not
 * SZ_PLUGIN_ABI, its name is not the file's name, or another plugin of that
 * name is loaded.  Build it with libtool's `-module -avoid-version` and
 * export nothing else.
 *
 * Plugins do no I/O of their own.  They turn messages into HTTP requests
 * (or, for the file channel, into lines the host appends to a file)
 * and hand them to the host (sz_host.http), which runs them on the daemon's
 * one libcurl multi handle inside the event loop; they turn HTTP answers
 * into outcomes they report back (sz_host.outcome); they parse the
 * gateway's inbound callbacks (receipts, replies) that the host hands them
 * and report what they mean (sz_host.receipt, sz_host.reply).  Every
 * function of a plugin runs on the event loop thread and must not block.
 *
 * Configuration: a channel's group in sanzhangd.conf holds the host's keys
 * (name, plugin, rate, concurrency, batch) and the plugin's own, which the
 * plugin declares in sz_plugin.settings.  The host checks types, required
 * keys and unknown keys (errors name the plugin, the key and the line)
 * before open() is called; the plugin reads values with sz_host.setting_*.
 * Settings marked `secret` may instead come from the daemon's secrets_file;
 * the plugin reads them the same way.
 *
 * Batching: by default send() gets messages that share one text.  A group
 * robot sets SZ_PLUGIN_BATCH_BY_TARGET in flags and gets the messages of
 * one grid group for one target (sz_msg.group, .target, .notice), to post
 * them as one message; it may declare per-target target_limits.
 *
 * A minimal plugin that accepts every message without sending anything:
 *
 *	#include <sanzhang/plugin.h>
 *
 *	static int
 *	null_open(const struct sz_host *host, struct sz_chan *chan,
 *	    void **state, char *err, size_t errlen)
 *	{
 *		*state = (void *)host;
 *		return 0;
 *	}
 *
 *	static int
 *	null_send(void *state, struct sz_chan *chan,
 *	    const struct sz_msg *const *msgs, size_t n)
 *	{
 *		const struct sz_host *host = state;
 *
 *		for (size_t i = 0; i < n; i++)
 *			host->outcome(chan, msgs[i]->id, SZ_ACCEPTED, NULL, 0,
 *			    NULL);
 *		return 0;
 *	}
 *
 *	const struct sz_plugin sanzhang_plugin = {
 *		.abi = SZ_PLUGIN_ABI,
 *		.name = "null",
 *		.description = "accepts and drops every message",
 *		.max_batch = 1,
 *		.open = null_open,
 *		.send = null_send,
 *	};
 */
#ifndef SANZHANG_PLUGIN_H
#define SANZHANG_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes shape or meaning. */
#define SZ_PLUGIN_ABI		2
/* The one symbol a plugin exports. */
#define SZ_PLUGIN_SYMBOL	"sanzhang_plugin"

/* The host's handle for one configured channel (opaque to plugins). */
struct sz_chan;

/* What became of a message handed to send(). */
enum sz_outcome {
	SZ_ACCEPTED = 0,	/* the gateway took it (provider_id if it gave one) */
	SZ_RETRY,		/* temporary: try again later (retry_after if known) */
	SZ_FAILED,		/* permanent for this message on this channel */
	SZ_GONE,		/* the target is gone (e.g. HTTP 410): fail, and
				 * send nothing more to this target */
};

/* What a delivery receipt says. */
enum sz_receipt {
	SZ_RECEIPT_DELIVERED = 0,	/* reached the handset / the receiver */
	SZ_RECEIPT_FAILED,		/* the gateway gave up */
	SZ_RECEIPT_ACCEPTED,		/* an intermediate "SMSC accepted" */
};

/* Log levels for sz_host.log, as in the daemon's log.h. */
enum sz_log_level {
	SZ_LOG_ERROR = 0,
	SZ_LOG_WARN,
	SZ_LOG_INFO,
	SZ_LOG_DEBUG,
};

/* The type of a plugin setting. */
enum sz_setting_type {
	SZ_SETTING_STRING = 0,
	SZ_SETTING_INT,
	SZ_SETTING_BOOL,
	SZ_SETTING_FLOAT,
};

/* One setting a plugin accepts in its channel's group. */
struct sz_setting {
	const char		*key;		/* NULL ends the list */
	enum sz_setting_type	 type;
	bool			 required;
	bool			 secret;	/* never logged or echoed in errors */
	const char		*help;		/* one line, for error messages */
};

/*
 * sz_plugin.flags.  SZ_PLUGIN_BATCH_BY_TARGET: the host batches messages
 * that share a target and a group (a group robot: one post per grid)
 * instead of messages that share a text; they then share `notice`, not
 * `text`.  Such a channel's rate counts requests (send() calls), not
 * messages, and plugin's target_limits hold per target.
 */
#define SZ_PLUGIN_BATCH_BY_TARGET	0x1u

/*
 * A limit a provider puts on one target (one robot URL): at most `count`
 * requests in any `seconds`.  The host holds back what would exceed it.
 */
struct sz_limit {
	unsigned	 count;		/* 0 ends the list */
	unsigned	 seconds;
};

/*
 * One message to deliver.  When send() gets several (n > 1, at most
 * max_batch), they share one text and differ in their recipients, or,
 * with SZ_PLUGIN_BATCH_BY_TARGET, share target, group and notice.
 */
struct sz_msg {
	const char	*id;		/* the delivery id: stable across retries,
					 * for webhook-id / OutId / dedup */
	const char	*phone;		/* 11 digits, mainland mobile */
	const char	*name;		/* the recipient's name */
	const char	*text;		/* the rendered message (UTF-8) */
	const char	*ack_url;	/* the recipient's acknowledgement link */
	const char	*target;	/* the recipient's own address for this
					 * channel from the roster (e.g. a webhook
					 * URL), or NULL; for a channel batching by
					 * target, else the one a row of the same
					 * grid names */
	const char	*json;		/* the whole message as one compact JSON
					 * object: {"alert": {...}, "recipient":
					 * {...}, "text": ..., "ack_url": ...} */
	const char	*posts;		/* the recipient's posts, readable
					 * ("网格长、楼栋长"), or "" */
	const char	*group;		/* the recipient's grid, readable
					 * ("南湖社区 G01网格"), or "": set for
					 * channels batching by target */
	const char	*notice;	/* the notice as a whole group reads it
					 * (no one's link; a drill's marked), or
					 * NULL: set for channels batching by
					 * target */
};

/* An HTTP request for the host to run. */
struct sz_http_req {
	const char		*method;	/* "GET" or "POST" */
	const char		*url;
	const char *const	*headers;	/* "Name: value" lines */
	size_t			 n_headers;
	const void		*body;
	size_t			 body_len;
	long			 timeout_ms;	/* 0 = the host's default */
};

/*
 * Its answer; valid only during the callback.  An answer cut short (the
 * timeout struck mid-body) has both a status and a transport_error, and
 * only part of its body.
 */
struct sz_http_resp {
	long		 status;	/* 0 when no HTTP answer came */
	int		 transport_error; /* 0, or the client's error code */
	const char	*error;		/* readable reason; "" when none */
	const char	*body;
	size_t		 body_len;
	/* A response header by name (case-insensitive), or NULL. */
	const char	*(*header)(const struct sz_http_resp *resp,
			    const char *name);
	const void	*priv;		/* the host's */
};

typedef void (*sz_http_done)(void *arg, const struct sz_http_resp *resp);

/* An inbound callback from the gateway (POST or GET /v1/inbound/CHANNEL). */
struct sz_inbound {
	const char	*method;
	const char	*query;		/* raw query string, or NULL */
	const char	*body;
	size_t		 body_len;
	/* A request header by name (case-insensitive), or NULL. */
	const char	*(*header)(const struct sz_inbound *in, const char *name);
	const void	*priv;		/* the host's */
};

/* What to answer the gateway; the host sends it. */
struct sz_inbound_answer {
	int		 status;		/* e.g. 200 */
	char		 content_type[64];	/* "" = text/plain */
	char		 body[512];
	int		 text_back;		/* the gateway texts the body to
						 * the phone that replied (Kannel's
						 * sms-service): the host may answer
						 * a reply there, or leave it empty */
	char		 header[128];		/* one more "Name: value" line
						 * for the answer, or "" */
};

/* What the daemon offers a plugin.  Every function runs on the loop. */
struct sz_host {
	unsigned	 abi;		/* SZ_PLUGIN_ABI */

	void	(*log)(struct sz_chan *chan, enum sz_log_level level,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

	/* Settings (checked against sz_plugin.settings before open()). */
	const char *(*setting_string)(struct sz_chan *chan, const char *key);
	long long (*setting_int)(struct sz_chan *chan, const char *key,
		    long long def);
	bool	(*setting_bool)(struct sz_chan *chan, const char *key, bool def);
	double	(*setting_float)(struct sz_chan *chan, const char *key,
		    double def);
	/* The channel's name, and its inbound URL (for dlr-url and the like). */
	const char *(*channel_name)(struct sz_chan *chan);
	const char *(*inbound_url)(struct sz_chan *chan);

	/*
	 * Run an HTTP request.  done is called once, later, on the loop (also
	 * for transport errors); 0 or -1 when the host cannot take it now.
	 */
	int	(*http)(struct sz_chan *chan, const struct sz_http_req *req,
		    sz_http_done done, void *arg);

	/*
	 * Report a message's outcome (once per message handed to send()).
	 * provider_id may be NULL; retry_after is in seconds (0 = the host's
	 * backoff); why is a short reason for the log (never a phone number).
	 */
	void	(*outcome)(struct sz_chan *chan, const char *msg_id,
		    enum sz_outcome outcome, const char *provider_id,
		    int retry_after, const char *why);

	/*
	 * A delivery receipt, by our delivery id or, when by_provider is
	 * true, by the provider's id.  Returns 0, or -1 when unknown.
	 */
	int	(*receipt)(struct sz_chan *chan, const char *id, bool by_provider,
		    enum sz_receipt state, const char *why);

	/*
	 * An SMS reply from a phone (11 digits after normalising), during
	 * inbound() only; a callback carrying several replies reports each
	 * (at most 100).  The host reads them as answers to each phone's open
	 * alerts and answers the gateway itself once all are recorded
	 * (together: if they cannot be, the answer is 503 and the gateway may
	 * push them again).  With text_back set and one reply, the answer's
	 * body is what to text back to that phone, or empty.
	 */
	int	(*reply)(struct sz_chan *chan, const char *phone,
		    const char *text);

	/*
	 * Append data to the file the channel's "path" setting names (the
	 * file channel, for demos and offline drills).  The host does the
	 * write; 0, or -1 with errno.
	 */
	int	(*file_append)(struct sz_chan *chan, const char *data, size_t len);
};

/* A plugin: exported as `const struct sz_plugin sanzhang_plugin`. */
struct sz_plugin {
	unsigned		 abi;		/* SZ_PLUGIN_ABI */
	const char		*name;		/* = the file name without .so */
	const char		*description;	/* one line */
	unsigned		 max_batch;	/* recipients per send(); >= 1 */
	unsigned		 flags;		/* SZ_PLUGIN_BATCH_BY_TARGET, or 0 */
	const struct sz_setting	*settings;	/* NULL: no settings of its own */
	const struct sz_limit	*target_limits;	/* per target, ended by a
						 * zero count; NULL: none */

	/* Set up one channel; *state is passed back to every call. */
	int	(*open)(const struct sz_host *host, struct sz_chan *chan,
		    void **state, char *err, size_t errlen);
	/*
	 * Send n messages (1 <= n <= max_batch, one text, or one target and
	 * group with SZ_PLUGIN_BATCH_BY_TARGET).  Report each
	 * one's outcome, now or from an HTTP callback.  Returns 0, or -1 when
	 * it could not even try (then every message counts as SZ_RETRY).
	 */
	int	(*send)(void *state, struct sz_chan *chan,
		    const struct sz_msg *const *msgs, size_t n);
	/* Parse an inbound callback (NULL: the channel takes none). */
	int	(*inbound)(void *state, struct sz_chan *chan,
		    const struct sz_inbound *in, struct sz_inbound_answer *out);
	/* Free the channel's state (NULL: nothing to free). */
	void	(*close)(void *state);
};

#ifdef __cplusplus
}
#endif

#endif
