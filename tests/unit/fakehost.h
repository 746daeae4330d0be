/*
 * fakehost.h - a fake struct sz_host for channel plugin unit tests.
 *
 * The fake records what a plugin asks of its host (HTTP requests,
 * outcomes, receipts, replies, file appends, log lines) in arrays the test
 * reads, and lets the test answer each recorded HTTP request later, which
 * calls the plugin's done callback as the daemon's loop would.  Settings
 * come from a small table the test fills before fh_open().
 *
 * Typical use:
 *
 *	struct fakehost *fh = fh_new();
 *	const struct sz_plugin *p = fh_load_plugin(PLUGIN_BUILD_DIR
 *	    "/webhook.so", &dl);
 *	fh_set_string(fh, "secret", "whsec_...");
 *	assert_int_equal(fh_open(fh, p), 0);
 *	p->send(fh->state, fh_chan(fh), msgs, 1);
 *	assert_int_equal(fh->n_reqs, 1);
 *	fh_answer(fh, 0, 200, NULL, "");
 *	assert_int_equal(fh->outcomes[0].outcome, SZ_ACCEPTED);
 *	fh_free(fh);			(calls the plugin's close())
 *	fh_unload_plugin(dl);
 *
 * The channel handle given to the plugin is the fakehost itself (cast), so
 * several fakehosts may live side by side.  Every string recorded is a
 * copy owned by the fakehost.
 */
#ifndef SZ_TEST_FAKEHOST_H
#define SZ_TEST_FAKEHOST_H

#include <stdbool.h>
#include <stddef.h>

#include <sanzhang/plugin.h>

#define FH_CHANNEL_NAME	"test"
#define FH_INBOUND_URL	"http://127.0.0.1:8787/v1/inbound/test"

/* One HTTP request the plugin handed to host->http. */
struct fh_req {
	char		*method;
	char		*url;
	char		**headers;	/* "Name: value" lines, as given */
	size_t		 n_headers;
	char		*body;		/* body_len bytes plus a NUL */
	size_t		 body_len;
	long		 timeout_ms;
	sz_http_done	 done;
	void		*arg;
	bool		 answered;	/* done has been called */
};

/* One host->outcome call. */
struct fh_outcome {
	char		*msg_id;
	enum sz_outcome	 outcome;
	char		*provider_id;	/* NULL when the plugin gave none */
	int		 retry_after;
	char		*why;		/* NULL when the plugin gave none */
};

/* One host->receipt call. */
struct fh_receipt {
	char		*id;
	bool		 by_provider;
	enum sz_receipt	 state;
	char		*why;		/* NULL when the plugin gave none */
};

/* One host->reply call. */
struct fh_reply {
	char		*phone;
	char		*text;
};

/* One host->log call, formatted. */
struct fh_log {
	enum sz_log_level level;
	char		*line;
};

struct fh_setting {
	char			*key;
	enum sz_setting_type	 type;
	char			*s;
	long long		 i;
	bool			 b;
	double			 f;
};

struct fakehost {
	struct sz_host		 host;		/* what the plugin gets */
	const struct sz_plugin	*plugin;	/* set by fh_open() */
	void			*state;		/* the plugin's, from open() */
	bool			 opened;
	char			 err[256];	/* from fh_open() */

	struct fh_setting	*settings;
	size_t			 n_settings;

	struct fh_req		**reqs;		/* pointers: stable when
						 * done() adds requests */
	size_t			 n_reqs;
	struct fh_outcome	*outcomes;
	size_t			 n_outcomes;
	struct fh_receipt	*receipts;
	size_t			 n_receipts;
	struct fh_reply		*replies;
	size_t			 n_replies;
	struct fh_log		*logs;
	size_t			 n_logs;

	/* Everything appended by file_append, concatenated, NUL-ended. */
	char			*file;
	size_t			 file_len;
	size_t			 n_file_appends;	/* calls */

	/* Knobs the test sets. */
	int			 http_refuse;	/* host->http returns -1 */
	int			 file_errno;	/* != 0: file_append fails so */
	int			 receipt_unknown; /* host->receipt returns -1 */
	bool			 log_stderr;	/* also print log lines */
};

/* A new fakehost with no settings; never NULL (aborts when out of memory). */
struct fakehost	*fh_new(void);
/* Close the plugin's state (if open) and free everything. */
void		 fh_free(struct fakehost *fh);
/* The channel handle to pass to the plugin's functions. */
struct sz_chan	*fh_chan(struct fakehost *fh);
/* The fakehost a channel handle stands for. */
struct fakehost	*fh_from_chan(struct sz_chan *chan);

/* Fill the settings table (a key set again is replaced). */
void	fh_set_string(struct fakehost *fh, const char *key, const char *v);
void	fh_set_int(struct fakehost *fh, const char *key, long long v);
void	fh_set_bool(struct fakehost *fh, const char *key, bool v);
void	fh_set_float(struct fakehost *fh, const char *key, double v);

/*
 * Check the settings as the daemon would (known keys, types, required
 * keys) and call plugin->open.  Returns open()'s result, or -1 when the
 * check fails; fh->err holds the reason either way.
 */
int	fh_open(struct fakehost *fh, const struct sz_plugin *plugin);
const char *fh_err(const struct fakehost *fh);

/*
 * Answer recorded request i: call its done with this status, response
 * headers ("Name: value" strings, NULL-terminated, or NULL for none) and
 * body (NULL for none).  Aborts on a bad index or a second answer.
 */
void	fh_answer(struct fakehost *fh, size_t i, long status,
	    const char *const *headers, const char *body);
/* Answer recorded request i with a transport error (status 0). */
void	fh_answer_error(struct fakehost *fh, size_t i, int code,
	    const char *error);
/*
 * Answer request i with an answer cut short: status and the body so far,
 * then a transport error (as when the timeout strikes mid-body).
 */
void	fh_answer_cut(struct fakehost *fh, size_t i, long status,
	    const char *body, int code, const char *error);

/* The value of a request header (case-insensitive name, value trimmed). */
const char *fh_req_header(const struct fh_req *req, const char *name);
/* Forget what file_append wrote so far (n_file_appends is kept). */
void	fh_file_reset(struct fakehost *fh);
/* Whether any log line contains needle. */
bool	fh_logs_contain(const struct fakehost *fh, const char *needle);

/*
 * A fake inbound callback for the plugin's inbound(): fill with
 * fh_inbound_init (headers as for fh_answer) and pass &fin->in.
 */
struct fh_inbound {
	struct sz_inbound	 in;
	const char *const	*headers;
};
void	fh_inbound_init(struct fh_inbound *fin, const char *method,
	    const char *query, const char *body, const char *const *headers);

/*
 * dlopen a plugin by path (RTLD_NOW | RTLD_LOCAL) and return its
 * sanzhang_plugin, or NULL (with the reason on stderr).  *handle gets the
 * dlopen handle for fh_unload_plugin().
 */
const struct sz_plugin *fh_load_plugin(const char *path, void **handle);
void	fh_unload_plugin(void *handle);

#endif
