/*
 * file.c - the `file` channel: one JSON line per message, appended by the
 * host to the file the channel's "path" names.  For demos and offline
 * drills, where nothing may leave the machine but the result must still be
 * checkable line by line (jq, grep).
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include <sanzhang/plugin.h>

#define FILE_MAX_BATCH	64

struct file_state {
	const struct sz_host	*host;
	struct sz_chan		*chan;
};

/* One line of a batch being built. */
struct file_line {
	char	*s;		/* NULL when the message could not be encoded */
	size_t	 len;
};

static const struct sz_setting file_settings[] = {
	{ "path", SZ_SETTING_STRING, true, false,
	    "file the host appends one JSON line per message to" },
	{ NULL, 0, false, false, NULL },
};

static int
file_open(const struct sz_host *host, struct sz_chan *chan, void **state,
    char *err, size_t errlen)
{
	struct file_state *st;
	const char *path;

	path = host->setting_string(chan, "path");
	if (path == NULL || *path == '\0') {
		snprintf(err, errlen, "path is empty");
		return -1;
	}
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->host = host;
	st->chan = chan;
	*state = st;
	return 0;
}

static void
file_close(void *state)
{
	free(state);
}

static json_t *
file_str(const char *s)
{
	return s == NULL ? json_null() : json_string(s);
}

/*
 * {"id","time","phone","name","text","ack_url"} and a newline, or NULL
 * (a string that is not UTF-8, or no memory).
 */
static char *
file_line(const struct sz_msg *m, const char *now)
{
	json_t *o;
	char *s, *line = NULL;
	size_t len;

	if ((o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "id", file_str(m->id)) ||
	    json_object_set_new(o, "time", json_string(now)) ||
	    json_object_set_new(o, "phone", file_str(m->phone)) ||
	    json_object_set_new(o, "name", file_str(m->name)) ||
	    json_object_set_new(o, "text", file_str(m->text)) ||
	    json_object_set_new(o, "ack_url", file_str(m->ack_url)) ||
	    (s = json_dumps(o, JSON_COMPACT)) == NULL) {
		json_decref(o);
		return NULL;
	}
	json_decref(o);
	len = strlen(s);
	if ((line = realloc(s, len + 2)) == NULL) {
		free(s);
		return NULL;
	}
	line[len] = '\n';
	line[len + 1] = '\0';
	return line;
}

/* RFC 3339, UTC, whole seconds. */
static void
file_now(char *buf, size_t len)
{
	struct tm tm;
	time_t t = time(NULL);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "1970-01-01T00:00:00Z");
}

/* All good lines joined; NULL when there are none or no memory. */
static char *
file_join(const struct file_line *lines, size_t n, size_t *len)
{
	char *buf, *p;

	*len = 0;
	for (size_t i = 0; i < n; i++)
		*len += lines[i].len;
	if (*len == 0 || (buf = malloc(*len)) == NULL)
		return NULL;
	p = buf;
	for (size_t i = 0; i < n; i++) {
		if (lines[i].s == NULL)
			continue;
		memcpy(p, lines[i].s, lines[i].len);
		p += lines[i].len;
	}
	return buf;
}

static void
file_report(struct file_state *st, const struct sz_msg *const *msgs,
    const struct file_line *lines, size_t n, int err)
{
	const struct sz_host *h = st->host;

	for (size_t i = 0; i < n; i++) {
		if (lines[i].s == NULL)
			h->outcome(st->chan, msgs[i]->id, SZ_FAILED, NULL, 0,
			    "message is not valid UTF-8");
		else if (err != 0)
			h->outcome(st->chan, msgs[i]->id, SZ_RETRY, NULL, 0,
			    strerror(err));
		else
			h->outcome(st->chan, msgs[i]->id, SZ_ACCEPTED, NULL, 0,
			    NULL);
	}
}

static int
file_send(void *state, struct sz_chan *chan, const struct sz_msg *const *msgs,
    size_t n)
{
	struct file_state *st = state;
	struct file_line *lines;
	char now[32], *buf;
	size_t len;
	int err = 0;

	if ((lines = calloc(n, sizeof(*lines))) == NULL)
		return -1;
	file_now(now, sizeof(now));
	for (size_t i = 0; i < n; i++) {
		if ((lines[i].s = file_line(msgs[i], now)) != NULL)
			lines[i].len = strlen(lines[i].s);
		else
			st->host->log(chan, SZ_LOG_WARN,
			    "file %s: cannot encode the message", msgs[i]->id);
	}
	buf = file_join(lines, n, &len);
	errno = 0;
	if (len > 0 && buf == NULL)
		err = ENOMEM;
	else if (len > 0 && st->host->file_append(chan, buf, len) == -1) {
		err = errno != 0 ? errno : EIO;
		st->host->log(chan, SZ_LOG_WARN, "file: cannot append: %s",
		    strerror(err));
	}
	file_report(st, msgs, lines, n, err);
	for (size_t i = 0; i < n; i++)
		free(lines[i].s);
	free(lines);
	free(buf);
	return 0;
}

const struct sz_plugin sanzhang_plugin = {
	.abi = SZ_PLUGIN_ABI,
	.name = "file",
	.description = "appends one JSON line per message to a file",
	.max_batch = FILE_MAX_BATCH,
	.settings = file_settings,
	.open = file_open,
	.send = file_send,
	.close = file_close,
};
