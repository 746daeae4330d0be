/*
 * keyfile.c - reading and making the daemon's random key files.
 */
#include "keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The directory entry of a new file made durable too. */
static int
keyfile_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * The key is written whole to PATH.new, synced, then linked in as PATH:
 * a crash or power cut leaves no key or the whole key, never a short one.
 * link() never replaces a key that is there.
 */
static int
keyfile_create(const char *path, unsigned char *key, size_t len, char *err,
    size_t errlen)
{
	char tmp[PATH_MAX];
	int fd, rc = KEYFILE_ERROR;

	if (getrandom(key, len, 0) != (ssize_t)len) {
		snprintf(err, errlen, "%s: no random bytes: %s", path,
		    strerror(errno));
		return KEYFILE_ERROR;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return KEYFILE_ERROR;
	}
	unlink(tmp);		/* what a crash left half made */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return KEYFILE_ERROR;
	}
	if (write(fd, key, len) != (ssize_t)len || fsync(fd) != 0)
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	else if (link(tmp, path) != 0)
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
	else if (keyfile_sync_dir(path) != 0)
		snprintf(err, errlen, "%s: syncing its directory: %s", path,
		    strerror(errno));
	else
		rc = KEYFILE_CREATED;
	close(fd);
	unlink(tmp);
	return rc;
}

int
keyfile_load(const char *path, unsigned char *key, size_t len, bool create,
    char *err, size_t errlen)
{
	struct stat sb;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno != ENOENT) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return KEYFILE_ERROR;
		}
		if (!create) {
			snprintf(err, errlen, "%s: no such file", path);
			return KEYFILE_MISSING;
		}
		return keyfile_create(path, key, len, err, errlen);
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return KEYFILE_ERROR;
	}
	if ((sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "%s: group or others may access it "
		    "(mode %04o): chmod 600 it", path,
		    (unsigned)(sb.st_mode & 07777));
		close(fd);
		return KEYFILE_ERROR;
	}
	n = read(fd, key, len);
	close(fd);
	if (n != (ssize_t)len || sb.st_size != (off_t)len) {
		snprintf(err, errlen, "%s: not a %zu-byte key", path, len);
		return KEYFILE_ERROR;
	}
	return KEYFILE_OK;
}
