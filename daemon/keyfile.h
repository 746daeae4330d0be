/*
 * keyfile.h - the daemon's own random keys, one file each in the state
 * directory (ack.key, phone.key): exactly the key's bytes, mode 0600.
 */
#ifndef SANZHANG_KEYFILE_H
#define SANZHANG_KEYFILE_H

#include <stdbool.h>
#include <stddef.h>

enum keyfile_rc {
	KEYFILE_OK,
	KEYFILE_CREATED,	/* there was none: a new random key, fsynced */
	KEYFILE_MISSING,	/* there was none and create was false */
	KEYFILE_ERROR,
};

/*
 * Read the len-byte key at path.  When there is none and create is true, a
 * new random key is written (O_EXCL, fsynced, with its directory).  A file
 * of another size, or one that group or others may read, is refused with
 * err saying why.
 */
int keyfile_load(const char *path, unsigned char *key, size_t len,
    bool create, char *err, size_t errlen);

#endif
