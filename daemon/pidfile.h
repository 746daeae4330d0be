/*
 * pidfile.h - one daemon per state directory.
 *
 * STATE_DIR/sanzhangd.pid is held with an exclusive flock(2) for the
 * daemon's life, so a second daemon on the same state is refused at once,
 * and a pid file left by a crash is not mistaken for a running daemon.
 */
#ifndef SANZHANG_PIDFILE_H
#define SANZHANG_PIDFILE_H

#include <stddef.h>

/* Lock and write our pid; returns the fd to keep, or -1 and err. */
int pidfile_lock(const char *state_dir, char *err, size_t errlen);
/* Rewrite the pid (after fork). */
int pidfile_update(int fd);
/* Remove the file and drop the lock. */
void pidfile_release(int fd, const char *state_dir);

#endif
