/*
 * idtable.h - a hash table from 64-bit ids to pointers (open addressing,
 * linear probing, deletion by backward shift: no tombstones), for the
 * sender's jobs by delivery id.
 */
#ifndef SANZHANG_IDTABLE_H
#define SANZHANG_IDTABLE_H

#include <stddef.h>
#include <stdint.h>

struct idtable_slot {
	int64_t		 id;
	void		*val;		/* NULL = empty */
};

struct idtable {
	struct idtable_slot	*v;
	size_t			 cap;	/* a power of two, or 0 */
	size_t			 n;
};

/* The value stored for id, or NULL. */
void *idtable_get(const struct idtable *t, int64_t id);
/* Store val (not NULL) for an id not yet present; -1 when out of memory. */
int idtable_put(struct idtable *t, int64_t id, void *val);
/* Forget id (nothing when absent). */
void idtable_del(struct idtable *t, int64_t id);
void idtable_free(struct idtable *t);

#endif
