/*
 * rawpost: the raw ceiling of webhook fan-out on this machine.
 *
 * A plain libcurl multi client, driven by curl_multi_poll with no event
 * library around it, that POSTs N copies of one body to one URL with K
 * transfers in flight over kept-alive connections.  Whatever the daemon's
 * fan-out reaches is to be judged against this number: it is what libcurl
 * alone does with the same sink, the same body and the same concurrency.
 * Any 2xx or 3xx answer counts as success (an answer to a form is a 303).
 *
 *	rawpost [-j] [-n N] [-c K] [-b FILE] [-t SECONDS] URL
 *
 * Prints one line, or one JSON object with -j:
 *	requests N, seconds S, rate R req/s, errors E
 * An error is a transfer that failed or got a status outside 2xx.  Exit
 * status: 0 if there were none, 1 if there were, 2 on bad usage or setup.
 */

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

struct rawpost {
	CURLM			*multi;
	CURL			**easy;		/* k handles, reused */
	struct curl_slist	*headers;	/* shared by all handles */
	const char		*url;
	const char		*body;
	size_t			 body_len;
	long			 n;		/* transfers to make */
	long			 k;		/* in flight at most */
	long			 timeout_ms;	/* for one transfer */
	long			 started;
	long			 done;
	long			 errors;
	int			 reported;	/* first error printed */
	char			**urls;		/* -u: one URL per transfer, */
	size_t			 n_urls;	/* in turn; else url for all */
	const char		*ctype;		/* -T: the body's Content-Type */
};

/*
 * The default body: a webhook as DESIGN.md describes it, about 600 bytes,
 * with the Chinese text a leader would read.  The phone is fictitious.
 */
static const char rawpost_default_body[] =
    "{\"type\": \"sanzhang.alert\", \"alert\": {\"id\": 1024, "
    "\"kind\": \"flood\", \"severity\": \"emergency\", "
    "\"title\": \"防汛紧急通知\", "
    "\"body\": \"今晚有特大暴雨，请立即通知低洼住户转移。\", "
    "\"created_at\": \"2026-07-21T21:30:00+08:00\"}, "
    "\"recipient\": {\"name\": \"王芳\", \"phone\": \"13800000003\", "
    "\"posts\": [{\"role\": \"unit_leader\", \"division\": \"220104001001\", "
    "\"grid\": \"G01\", \"building\": \"12\", \"unit\": \"3\"}]}, "
    "\"text\": \"【南湖街道】防汛紧急通知：今晚有特大暴雨，"
    "请立即通知本单元低洼住户转移。收到请点链接确认。\", "
    "\"ack_url\": \"https://sz.example.cn/a/"
    "AAAAAQAABAD3q9c1Zl0xR2YxTnVmU2p4\"}";

/* Responses are not read, only their status. */
static size_t
rawpost_discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

static void
rawpost_usage(void)
{
	fprintf(stderr, "usage: rawpost [-j] [-n N] [-c K] [-b FILE] "
	    "[-t SECONDS] [-T CONTENT-TYPE] [-u FILE] URL\n"
	    "  -u FILE: URLs, one per line, used in turn (a line starting\n"
	    "           with '/' is a path under URL)\n");
	exit(2);
}

static long
rawpost_number(const char *arg, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "rawpost: %s: bad %s (%ld..%ld)\n", arg, what,
		    min, max);
		exit(2);
	}
	return v;
}

/* -u FILE: each line a URL, or a path under base. */
static void
rawpost_urls(struct rawpost *r, const char *path, const char *base)
{
	char line[4096];
	size_t cap = 0;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "rawpost: %s: cannot open\n", path);
		exit(2);
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		size_t n = strcspn(line, "\r\n");
		char *u;

		line[n] = '\0';
		if (n == 0)
			continue;
		if (r->n_urls == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((r->urls = realloc(r->urls, cap *
			    sizeof(*r->urls))) == NULL)
				goto nomem;
		}
		n = strlen(base) + strlen(line) + 1;
		if ((u = malloc(n)) == NULL)
			goto nomem;
		snprintf(u, n, "%s%s", line[0] == '/' ? base : "", line);
		r->urls[r->n_urls++] = u;
	}
	fclose(f);
	if (r->n_urls == 0) {
		fprintf(stderr, "rawpost: %s: no URL\n", path);
		exit(2);
	}
	return;
nomem:
	fprintf(stderr, "rawpost: out of memory\n");
	exit(2);
}

/* The whole of FILE, as the body to post. */
static char *
rawpost_slurp(const char *path, size_t *lenp)
{
	FILE *f;
	char *buf = NULL, *nbuf;
	size_t len = 0, cap = 0, got;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "rawpost: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 8192;
			if ((nbuf = realloc(buf, cap)) == NULL) {
				fprintf(stderr, "rawpost: out of memory\n");
				exit(2);
			}
			buf = nbuf;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got > 0);
	if (ferror(f)) {
		fprintf(stderr, "rawpost: %s: read error\n", path);
		exit(2);
	}
	fclose(f);
	*lenp = len;
	return buf;
}

static CURL *
rawpost_easy(struct rawpost *r)
{
	CURL *e;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	/* POSTFIELDS is not copied: the body outlives every transfer */
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)r->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rawpost_discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, r->timeout_ms);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	return e;
}

static void
rawpost_setup(struct rawpost *r)
{
	long i;

	/* "Expect:" empty: no wait for 100 Continue; curl adds it >1 KiB */
	r->headers = curl_slist_append(NULL, "Expect:");
	r->headers = curl_slist_append(r->headers,
	    r->ctype);
	r->multi = curl_multi_init();
	r->easy = calloc((size_t)r->k, sizeof(*r->easy));
	if (r->headers == NULL || r->multi == NULL || r->easy == NULL)
		goto fail;
	/* keep one idle connection per transfer, or keep-alive is lost */
	curl_multi_setopt(r->multi, CURLMOPT_MAXCONNECTS, r->k);
	for (i = 0; i < r->k; i++)
		if ((r->easy[i] = rawpost_easy(r)) == NULL)
			goto fail;
	return;
fail:
	fprintf(stderr, "rawpost: libcurl setup failed\n");
	exit(2);
}

static void
rawpost_finish(struct rawpost *r, CURL *e, CURLcode res)
{
	long code = 0;

	r->done++;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (res == CURLE_OK && code >= 200 && code <= 399)
		return;
	r->errors++;
	if (r->reported++)
		return;
	if (res != CURLE_OK)
		fprintf(stderr, "rawpost: first error: %s\n",
		    curl_easy_strerror(res));
	else
		fprintf(stderr, "rawpost: first error: HTTP %ld\n", code);
}

/* Start a transfer on handle e, if any are left to start. */
static int
rawpost_start(struct rawpost *r, CURL *e)
{
	CURLMcode mc;

	if (r->started >= r->n)
		return 0;
	if (r->n_urls > 0)
		curl_easy_setopt(e, CURLOPT_URL,
		    r->urls[(size_t)r->started % r->n_urls]);
	if ((mc = curl_multi_add_handle(r->multi, e)) != CURLM_OK) {
		fprintf(stderr, "rawpost: add handle: %s\n",
		    curl_multi_strerror(mc));
		exit(2);
	}
	r->started++;
	return 1;
}

/* Collect the finished transfers; each frees a handle for the next. */
static void
rawpost_drain(struct rawpost *r)
{
	CURLMsg *msg;
	CURL *e;
	int left;

	while ((msg = curl_multi_info_read(r->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		e = msg->easy_handle;
		rawpost_finish(r, e, msg->data.result);
		curl_multi_remove_handle(r->multi, e);
		/* re-adding the same handle picks up an idle connection */
		rawpost_start(r, e);
	}
}

static void
rawpost_run(struct rawpost *r)
{
	CURLMcode mc;
	long i;
	int running;

	for (i = 0; i < r->k; i++)
		rawpost_start(r, r->easy[i]);
	while (r->done < r->n) {
		mc = curl_multi_perform(r->multi, &running);
		if (mc == CURLM_OK)
			rawpost_drain(r);
		if (mc == CURLM_OK && r->done < r->n)
			mc = curl_multi_poll(r->multi, NULL, 0, 1000, NULL);
		if (mc != CURLM_OK) {
			fprintf(stderr, "rawpost: %s\n", curl_multi_strerror(mc));
			exit(2);
		}
	}
}

static double
rawpost_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
rawpost_cleanup(struct rawpost *r)
{
	long i;

	/* every handle was removed from the multi when its transfer ended */
	for (i = 0; i < r->k; i++)
		curl_easy_cleanup(r->easy[i]);
	free(r->easy);
	curl_multi_cleanup(r->multi);
	curl_slist_free_all(r->headers);
}

int
main(int argc, char *argv[])
{
	struct rawpost r;
	char *file_body = NULL, ctype[256] = "Content-Type: application/json";
	const char *urls = NULL;
	double t0, secs, rate;
	int ch, json = 0;

	memset(&r, 0, sizeof(r));
	r.n = 100000;
	r.k = 64;
	r.timeout_ms = 30000;
	r.body = rawpost_default_body;
	r.ctype = ctype;
	r.body_len = sizeof(rawpost_default_body) - 1;
	while ((ch = getopt(argc, argv, "b:c:jn:t:T:u:")) != -1) {
		switch (ch) {
		case 'T':
			snprintf(ctype, sizeof(ctype), "Content-Type: %s",
			    optarg);
			break;
		case 'u':
			urls = optarg;
			break;
		case 'b':
			file_body = rawpost_slurp(optarg, &r.body_len);
			r.body = file_body;
			break;
		case 'c':
			r.k = rawpost_number(optarg, 1, 10000, "in-flight count");
			break;
		case 'j':
			json = 1;
			break;
		case 'n':
			r.n = rawpost_number(optarg, 1, LONG_MAX, "count");
			break;
		case 't':
			r.timeout_ms = rawpost_number(optarg, 1, 86400,
			    "timeout") * 1000;
			break;
		default:
			rawpost_usage();
		}
	}
	if (argc - optind != 1)
		rawpost_usage();
	r.url = argv[optind];
	if (urls != NULL)
		rawpost_urls(&r, urls, r.url);
	if (r.k > r.n)
		r.k = r.n;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "rawpost: curl_global_init failed\n");
		return 2;
	}
	rawpost_setup(&r);
	t0 = rawpost_clock();
	rawpost_run(&r);
	secs = rawpost_clock() - t0;
	rate = secs > 0 ? (double)r.done / secs : 0;

	if (json)
		printf("{\"requests\": %ld, \"seconds\": %.3f, \"rate\": %.0f, "
		    "\"errors\": %ld, \"in_flight\": %ld, \"body_bytes\": %zu}\n",
		    r.done, secs, rate, r.errors, r.k, r.body_len);
	else
		printf("requests %ld, seconds %.3f, rate %.0f req/s, "
		    "errors %ld\n", r.done, secs, rate, r.errors);
	rawpost_cleanup(&r);
	curl_global_cleanup();
	for (size_t i = 0; i < r.n_urls; i++)
		free(r.urls[i]);
	free(r.urls);
	free(file_body);
	return r.errors ? 1 : 0;
}
