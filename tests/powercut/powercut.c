/*
 * powercut.c - an LD_PRELOAD shim that keeps, beside the files of one
 * directory, what a disk would still hold if the power went off now.  A
 * test SIGKILLs the process, puts those images in place of the files
 * (tests/blackbox/powercut.py, power_restore()) and starts it again: that
 * is a power cut, as far as the program can tell.
 *
 * The model is POSIX's, taken pessimistically: the page cache is lost, and
 * nothing that was not synced is on the disk.
 *
 * - Contents.  When fsync() or fdatasync() returns on a file of the
 *   directory, the whole file as it is then becomes its durable image
 *   (a copy).  Writes made since the last sync are all lost; a sync cut
 *   half-way (some of its writes on the disk) is not modelled.
 * - Names.  Creating, renaming, linking or removing a file changes the
 *   directory, and that change is durable only once the directory itself
 *   is fsynced: the listing as it is then becomes the durable listing.  So
 *   a file made since the directory's last sync is gone after a cut, even
 *   when its contents were synced; a file removed since then is back,
 *   with its last synced contents; a listed file whose contents were never
 *   synced is back empty.
 * - sync() and syncfs() make everything in the directory durable.
 * - Not modelled: O_SYNC and O_DSYNC descriptors, msync() (SQLite maps
 *   only the -shm file, which it rebuilds after a cut), sub-directories.
 *   sync_file_range() makes nothing durable and needs no handling.
 *
 * When the process starts and the shadow directory holds no listing yet,
 * everything in the directory counts as durable: it is what the test made,
 * or what the last cut left.  A shadow kept across a clean restart goes on
 * as it was (the disk did not lose power).
 *
 * Environment (the shim does nothing without both):
 *   POWERCUT_DIR     the directory whose files are watched; it must exist
 *                    when the process starts.
 *   POWERCUT_SHADOW  where the durable images are kept (made if missing):
 *                    "dir" is the durable listing, one "KEY MODE NAME" a
 *                    line (MODE in octal); each KEY names a file holding
 *                    the durable contents of one file.  A file is known
 *                    by its inode number and birth time, so a contents
 *                    image follows a rename and is not taken by a later
 *                    file that gets the same inode number.
 *
 * A failure of the shim itself (the shadow cannot be written) aborts the
 * process with a message: a test must not go on with a wrong model.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* statx, syncfs, RTLD_NEXT */
#endif
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PC_KEY_MAX	64

static int	(*real_fsync)(int);
static int	(*real_fdatasync)(int);
static void	(*real_sync)(void);
static int	(*real_syncfs)(int);

static char		pc_dir[PATH_MAX];	/* real path; "" = shim off */
static char		pc_shadow[PATH_MAX];
static dev_t		pc_dir_dev;
static ino_t		pc_dir_ino;
static pthread_mutex_t	pc_lock = PTHREAD_MUTEX_INITIALIZER;
static char		pc_buf[1 << 18];	/* copies, under pc_lock */

static void
pc_die(const char *what, const char *path)
{
	fprintf(stderr, "powercut: %s %s: %s\n", what, path, strerror(errno));
	abort();
}

static void
pc_resolve_once(void)
{
	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_sync = (void (*)(void))dlsym(RTLD_NEXT, "sync");
	real_syncfs = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
	if (real_fsync == NULL || real_fdatasync == NULL ||
	    real_sync == NULL || real_syncfs == NULL) {
		fprintf(stderr, "powercut: dlsym: %s\n", dlerror());
		abort();
	}
}

/* The libc functions this file stands in front of (before main, too). */
static void
pc_resolve(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, pc_resolve_once);
}

/*
 * A file's identity: inode number and birth time (0 where not kept).
 * 0, or -1 when name is gone (removed meanwhile by another thread).
 */
static int
pc_key(int at, const char *name, char *key)
{
	struct statx sx;
	unsigned long long sec = 0, nsec = 0;
	int flags = *name ? AT_SYMLINK_NOFOLLOW : AT_EMPTY_PATH;

	if (statx(at, name, flags, STATX_INO | STATX_BTIME, &sx) != 0) {
		if (errno == ENOENT && *name)
			return -1;
		pc_die("statx", name);
	}
	if (sx.stx_mask & STATX_BTIME) {
		sec = (unsigned long long)sx.stx_btime.tv_sec;
		nsec = sx.stx_btime.tv_nsec;
	}
	snprintf(key, PC_KEY_MAX, "%llx-%llx.%llx",
	    (unsigned long long)sx.stx_ino, sec, nsec);
	return 0;
}

static void
pc_path(char *out, const char *name, const char *suffix)
{
	if (snprintf(out, PATH_MAX, "%s/%s%s", pc_shadow, name, suffix) >=
	    PATH_MAX) {
		errno = ENAMETOOLONG;
		pc_die("shadow path", name);
	}
}

/* A new shadow file: name.tmp, to be renamed into place once written. */
static int
pc_create_tmp(const char *name, char *tmp)
{
	int fd;

	pc_path(tmp, name, ".tmp");
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600)) < 0)
		pc_die("open", tmp);
	return fd;
}

/* A SIGKILL at any moment leaves the old shadow file or the new one. */
static void
pc_install(int fd, const char *tmp, const char *name)
{
	char path[PATH_MAX];

	pc_path(path, name, "");
	if (close(fd) != 0)
		pc_die("close", tmp);
	if (rename(tmp, path) != 0)
		pc_die("rename", tmp);
}

static void
pc_write_all(int fd, const char *p, size_t n, const char *path)
{
	ssize_t w;

	while (n > 0) {
		if ((w = write(fd, p, n)) < 0) {
			if (errno == EINTR)
				continue;
			pc_die("write", path);
		}
		p += w;
		n -= (size_t)w;
	}
}

/* The contents readable on rfd become the durable image of that file. */
static void
pc_save_contents(int rfd, const char *what)
{
	char key[PC_KEY_MAX], tmp[PATH_MAX];
	off_t off = 0;
	ssize_t n;
	int out;

	pc_key(rfd, "", key);
	out = pc_create_tmp(key, tmp);
	while ((n = pread(rfd, pc_buf, sizeof(pc_buf), off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			pc_die("read", what);
		}
		pc_write_all(out, pc_buf, (size_t)n, tmp);
		off += n;
	}
	pc_install(out, tmp, key);
}

/* The directory's current listing becomes the durable one. */
static void
pc_save_listing(void)
{
	char key[PC_KEY_MAX], tmp[PATH_MAX], line[PC_KEY_MAX + NAME_MAX + 16];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int out, n;

	if ((d = opendir(pc_dir)) == NULL)
		pc_die("opendir", pc_dir);
	out = pc_create_tmp("dir", tmp);
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno == ENOENT)
				continue;	/* removed meanwhile */
			pc_die("stat", e->d_name);
		}
		if (!S_ISREG(st.st_mode) || strchr(e->d_name, '\n') != NULL ||
		    pc_key(dirfd(d), e->d_name, key) != 0)
			continue;
		n = snprintf(line, sizeof(line), "%s %o %s\n", key,
		    (unsigned)(st.st_mode & 07777), e->d_name);
		pc_write_all(out, line, (size_t)n, tmp);
	}
	closedir(d);
	pc_install(out, tmp, "dir");
}

/* Every file of the directory as it is now, and its listing. */
static void
pc_save_all(void)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd;

	if ((d = opendir(pc_dir)) == NULL)
		pc_die("opendir", pc_dir);
	while ((e = readdir(d)) != NULL) {
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		fd = openat(dirfd(d), e->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (fd < 0) {
			if (errno == ENOENT)
				continue;
			pc_die("open", e->d_name);
		}
		pc_save_contents(fd, e->d_name);
		close(fd);
	}
	closedir(d);
	pc_save_listing();
}

/*
 * Whether fd is a file of the directory: its path, from /proc, is
 * "DIR/NAME", or "DIR/NAME (deleted)" once removed (a removed file may
 * still be in the durable listing).
 */
static int
pc_watched(int fd, char *path)
{
	char link[64];
	ssize_t n;
	size_t len = strlen(pc_dir);
	static const char deleted[] = " (deleted)";

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, PATH_MAX - 1)) < 0)
		return 0;
	path[n] = '\0';
	if ((size_t)n > sizeof(deleted) - 1 &&
	    strcmp(path + n - (sizeof(deleted) - 1), deleted) == 0)
		path[n - (sizeof(deleted) - 1)] = '\0';
	return strncmp(path, pc_dir, len) == 0 && path[len] == '/' &&
	    strchr(path + len + 1, '/') == NULL;
}

/* After a successful sync of fd: what it made durable. */
static void
pc_synced(int fd)
{
	char path[PATH_MAX], link[64];
	struct stat st;
	int rfd, saved = errno;

	if (pc_dir[0] == '\0' || fstat(fd, &st) != 0)
		goto out;
	pthread_mutex_lock(&pc_lock);
	if (S_ISDIR(st.st_mode) && st.st_dev == pc_dir_dev &&
	    st.st_ino == pc_dir_ino) {
		pc_save_listing();
	} else if (S_ISREG(st.st_mode) && pc_watched(fd, path)) {
		/* fd may be write-only: read through /proc. */
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((rfd = open(link, O_RDONLY | O_CLOEXEC)) < 0)
			pc_die("open", path);
		pc_save_contents(rfd, path);
		close(rfd);
	}
	pthread_mutex_unlock(&pc_lock);
out:
	errno = saved;
}

__attribute__((constructor))
static void
pc_init(void)
{
	const char *dir = getenv("POWERCUT_DIR");
	const char *shadow = getenv("POWERCUT_SHADOW");
	char path[PATH_MAX];
	struct stat st;

	pc_resolve();
	if (dir == NULL || *dir == '\0' || shadow == NULL || *shadow == '\0')
		return;
	if (realpath(dir, pc_dir) == NULL || stat(pc_dir, &st) != 0)
		pc_die("POWERCUT_DIR", dir);
	pc_dir_dev = st.st_dev;
	pc_dir_ino = st.st_ino;
	if (strlen(shadow) >= sizeof(pc_shadow)) {
		errno = ENAMETOOLONG;
		pc_die("POWERCUT_SHADOW", shadow);
	}
	strcpy(pc_shadow, shadow);
	if (mkdir(pc_shadow, 0700) != 0 && errno != EEXIST)
		pc_die("mkdir", pc_shadow);
	pc_path(path, "dir", "");
	if (access(path, F_OK) != 0)
		pc_save_all();
}

int
fsync(int fd)
{
	int rc;

	pc_resolve();
	if ((rc = real_fsync(fd)) == 0)
		pc_synced(fd);
	return rc;
}

int
fdatasync(int fd)
{
	int rc;

	pc_resolve();
	if ((rc = real_fdatasync(fd)) == 0)
		pc_synced(fd);
	return rc;
}

static void
pc_synced_all(void)
{
	int saved = errno;

	if (pc_dir[0] == '\0')
		return;
	pthread_mutex_lock(&pc_lock);
	pc_save_all();
	pthread_mutex_unlock(&pc_lock);
	errno = saved;
}

void
sync(void)
{
	pc_resolve();
	real_sync();
	pc_synced_all();
}

int
syncfs(int fd)
{
	int rc;

	pc_resolve();
	if ((rc = real_syncfs(fd)) == 0)
		pc_synced_all();
	return rc;
}
