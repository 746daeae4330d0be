/*
 * main.c - sanzhangd: flags, start-up, the event loop, and a clean stop.
 */
#include "chan.h"
#include "config.h"
#include "daemon.h"
#include "dbq.h"
#include "dispatch.h"
#include "escalate.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "pidfile.h"
#include "reload.h"
#include "store.h"

#include <curl/curl.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONFIG	SYSCONFDIR "/sanzhang/sanzhangd.conf"

/* Reader threads: reads and upload parsing; the writer is always one. */
#define READER_THREADS	2
/* How long a stop waits for database work and answers in progress. */
#define STOP_GRACE_MS	10000
#define STOP_POLL_MS	50

struct stopper {
	struct daemon	*d;
	struct event	*poll;
	struct timespec	 since;		/* the stop signal, CLOCK_MONOTONIC */
};

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: sanzhangd [-ftV] [-c FILE]\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground and log to stderr\n"
	    "  -t       check the configuration and exit\n"
	    "  -V       print the version and exit\n", DEFAULT_CONFIG);
	exit(2);
}

/*
 * Milliseconds since the stop signal, by the clock: the polls come later
 * than STOP_POLL_MS apart when the loop is busy (requests keep coming on
 * connections kept alive), so counting them would stretch the grace.
 */
static long
stop_waited_ms(const struct stopper *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - s->since.tv_sec) * 1000 +
	    (now.tv_nsec - s->since.tv_nsec) / 1000000;
}

/* Stop once no database job is left and every answer is written out. */
static void
stop_poll(evutil_socket_t fd, short what, void *arg)
{
	struct stopper *s = arg;
	struct timeval tv = { 0, STOP_POLL_MS * 1000 };
	size_t depth = dbq_depth(s->d->writer) + dbq_depth(s->d->readers) +
	    dispatch_busy(s->d->dispatch) + escalate_busy(s->d->escalate);
	size_t answers = httpd_unfinished(s->d->httpd);
	long waited = stop_waited_ms(s);

	if ((depth == 0 && answers == 0) || waited >= STOP_GRACE_MS) {
		if (depth != 0 || answers != 0)
			log_warnx("stop: after %ld ms, %zu database jobs are "
			    "queued and %zu answers unsent; finishing the jobs "
			    "without answering", waited, depth, answers);
		event_base_loopbreak(s->d->base);
		return;
	}
	evtimer_add(s->poll, &tv);
}

static void
on_stop_signal(evutil_socket_t sig, short what, void *arg)
{
	struct stopper *s = arg;

	if (s->poll != NULL) {
		log_info("signal %d again: stopping now", (int)sig);
		event_base_loopbreak(s->d->base);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	notify_stopping();
	httpd_stop_accepting(s->d->httpd);
	dispatch_stop(s->d->dispatch);
	escalate_stop(s->d->escalate);
	clock_gettime(CLOCK_MONOTONIC, &s->since);
	s->poll = evtimer_new(s->d->base, stop_poll, s);
	stop_poll(-1, 0, s);
}

static void
on_hup(evutil_socket_t sig, short what, void *arg)
{
	reload_run(arg);
}

static void
make_state_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		fatal("state_dir %s", dir);
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		fatalx("state_dir %s is not a directory", dir);
	if (access(dir, W_OK) != 0)
		fatal("state_dir %s", dir);
}

/*
 * Detach from the terminal.  The parent waits until the child says it is
 * serving (or dies trying: its errors still go to the terminal), so the
 * exit status of `sanzhangd` tells whether it started.  Returns the pipe
 * the child reports on.
 */
static int
detach_begin(int pidfd)
{
	int p[2];
	char ok;

	if (pipe(p) != 0)
		fatal("pipe");
	switch (fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		close(p[1]);
		_exit(read(p[0], &ok, 1) == 1 ? 0 : 1);
	}
	close(p[0]);
	if (setsid() < 0)
		fatal("setsid");
	if (pidfile_update(pidfd) != 0)
		fatal("pid file");
	return p[1];
}

/* The child is serving: release the parent and leave the terminal. */
static void
detach_finish(int report)
{
	int fd;

	if (write(report, "1", 1) != 1)
		log_warn("detach");
	close(report);
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
	log_to_syslog();
}

/*
 * The loop.  With epoll's change list, a watch changed several times in
 * one loop turn costs one epoll_ctl() at most.  Two priorities: the
 * dispatcher's refill (dispatch.c) runs ahead of socket events, the rest
 * at the default, the lower one.
 */
static struct event_base *
daemon_base(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (base != NULL && event_base_priority_init(base, 2) != 0) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

static void
daemon_start(struct daemon *d)
{
	char err[512];

	if (evthread_use_pthreads() != 0)
		fatalx("libevent has no pthreads support");
	if ((d->base = daemon_base()) == NULL)
		fatalx("cannot create the event loop");
	d->store_be = &store_sqlite;
	d->writer = dbq_new(d->base, d->store_be, d->cfg->state_dir, true, 1,
	    err, sizeof(err));
	if (d->writer == NULL)
		fatalx("store: %s", err);
	d->readers = dbq_new(d->base, d->store_be, d->cfg->state_dir, false,
	    READER_THREADS, err, sizeof(err));
	if (d->readers == NULL)
		fatalx("store: %s", err);
	if (acktoken_key_load(d->cfg->state_dir, &d->ackkey, err,
	    sizeof(err)) != 0)
		fatalx("%s", err);
	if ((d->dispatch = dispatch_new(d, err, sizeof(err))) == NULL ||
	    (d->escalate = escalate_new(d, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	if ((d->httpd = httpd_new(d, err, sizeof(err))) == NULL)
		fatalx("%s", err);
}

static void
daemon_run(struct daemon *d)
{
	struct stopper stopper = { .d = d };
	struct event *ev_term, *ev_int, *ev_hup;

	ev_term = evsignal_new(d->base, SIGTERM, on_stop_signal, &stopper);
	ev_int = evsignal_new(d->base, SIGINT, on_stop_signal, &stopper);
	ev_hup = evsignal_new(d->base, SIGHUP, on_hup, d);
	if (ev_term == NULL || ev_int == NULL || ev_hup == NULL ||
	    event_add(ev_term, NULL) != 0 || event_add(ev_int, NULL) != 0 ||
	    event_add(ev_hup, NULL) != 0)
		fatalx("cannot watch signals");
	if (notify_start(d) != 0)
		fatalx("cannot start the service manager's timers");
	log_info("sanzhangd %s running: state_dir %s", PACKAGE_VERSION,
	    d->cfg->state_dir);
	notify_ready();
	event_base_dispatch(d->base);
	notify_free();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_hup);
	if (stopper.poll != NULL)
		event_free(stopper.poll);
}

/*
 * Finish database work first: its completions still answer requests and
 * settle sends.  Then the sender (its transfers end, its plugins close).
 */
static void
daemon_stop(struct daemon *d)
{
	dbq_free(d->readers);
	dbq_free(d->writer);
	escalate_free(d->escalate);
	dispatch_free(d->dispatch);
	httpd_free(d->httpd);
	event_base_free(d->base);
}

int
main(int argc, char *argv[])
{
	const char *file = DEFAULT_CONFIG;
	struct daemon d = { 0 };
	int ch, foreground = 0, check = 0, pidfd, report = -1;
	char err[512];

	log_init("sanzhangd", getenv("JOURNAL_STREAM") != NULL);
	while ((ch = getopt(argc, argv, "c:ftVh")) != -1) {
		switch (ch) {
		case 'c': file = optarg; break;
		case 'f': foreground = 1; break;
		case 't': check = 1; break;
		case 'V':
			printf("sanzhangd %s (sd_notify: %s)\n", PACKAGE_VERSION,
			    notify_built() ? "yes" : "no");
			return 0;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	if ((d.cfg = config_load(file, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sanzhangd: %s\n", err);
		return 1;
	}
	if (check) {
		/* The plugins' own settings too, as a start would check them. */
		log_set_level(LOG_LEVEL_WARN);
		if (chan_check_all(d.cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "sanzhangd: %s\n", err);
			config_free(d.cfg);
			return 1;
		}
		printf("sanzhangd: configuration %s is valid\n", file);
		config_free(d.cfg);
		return 0;
	}
	log_set_level(d.cfg->log_level);
	signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		fatalx("cannot initialise libcurl");
	make_state_dir(d.cfg->state_dir);
	if ((pidfd = pidfile_lock(d.cfg->state_dir, err, sizeof(err))) < 0)
		fatalx("%s", err);
	if (!foreground)
		report = detach_begin(pidfd);
	d.started = time(NULL);
	daemon_start(&d);
	if (!foreground)
		detach_finish(report);
	daemon_run(&d);
	daemon_stop(&d);
	curl_global_cleanup();
	log_info("sanzhangd stopped");
	pidfile_release(pidfd, d.cfg->state_dir);
	reload_free(&d);
	config_free(d.cfg);
	acktoken_thread_end();
	return 0;
}
