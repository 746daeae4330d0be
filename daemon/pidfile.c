/*
 * pidfile.c - the state directory's lock.
 */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define PIDFILE_NAME	"sanzhangd.pid"

static void
pidfile_path(const char *state_dir, char *path, size_t len)
{
	snprintf(path, len, "%s/%s", state_dir, PIDFILE_NAME);
}

int
pidfile_update(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) != 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		return -1;
	return 0;
}

int
pidfile_lock(const char *state_dir, char *err, size_t errlen)
{
	char path[PATH_MAX], buf[32] = "";
	ssize_t n;
	int fd;

	pidfile_path(state_dir, path, sizeof(path));
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			snprintf(err, errlen, "another sanzhangd (pid %s) is "
			    "already using state_dir %s", buf[0] ? buf : "?",
			    state_dir);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(e));
		close(fd);
		return -1;
	}
	if (pidfile_update(fd) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
pidfile_release(int fd, const char *state_dir)
{
	char path[PATH_MAX];

	if (fd < 0)
		return;
	pidfile_path(state_dir, path, sizeof(path));
	unlink(path);
	close(fd);
}
