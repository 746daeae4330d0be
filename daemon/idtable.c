/*
 * idtable.c - ids to pointers.
 */
#include "idtable.h"

#include <stdlib.h>

static size_t
idtable_home(const struct idtable *t, int64_t id)
{
	/* Fibonacci hashing: consecutive ids spread over the table. */
	return ((uint64_t)id * 11400714819323198485ull) & (t->cap - 1);
}

void *
idtable_get(const struct idtable *t, int64_t id)
{
	if (t->cap == 0)
		return NULL;
	for (size_t i = idtable_home(t, id); t->v[i].val != NULL;
	    i = (i + 1) & (t->cap - 1))
		if (t->v[i].id == id)
			return t->v[i].val;
	return NULL;
}

static void
idtable_insert(struct idtable *t, int64_t id, void *val)
{
	size_t i = idtable_home(t, id);

	while (t->v[i].val != NULL)
		i = (i + 1) & (t->cap - 1);
	t->v[i].id = id;
	t->v[i].val = val;
	t->n++;
}

static int
idtable_grow(struct idtable *t)
{
	struct idtable old = *t;

	t->cap = old.cap ? old.cap * 2 : 4096;
	if ((t->v = calloc(t->cap, sizeof(*t->v))) == NULL) {
		*t = old;
		return -1;
	}
	t->n = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.v[i].val != NULL)
			idtable_insert(t, old.v[i].id, old.v[i].val);
	free(old.v);
	return 0;
}

int
idtable_put(struct idtable *t, int64_t id, void *val)
{
	if ((t->n + 1) * 2 > t->cap && idtable_grow(t) != 0)
		return -1;
	idtable_insert(t, id, val);
	return 0;
}

void
idtable_del(struct idtable *t, int64_t id)
{
	size_t mask = t->cap - 1, i, j;

	if (t->cap == 0)
		return;
	for (i = idtable_home(t, id); t->v[i].val != NULL && t->v[i].id != id;
	    i = (i + 1) & mask)
		;
	if (t->v[i].val == NULL)
		return;
	t->v[i].val = NULL;
	t->n--;
	/* Pull back later entries that could no longer be found. */
	for (j = (i + 1) & mask; t->v[j].val != NULL; j = (j + 1) & mask) {
		size_t home = idtable_home(t, t->v[j].id);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			t->v[i] = t->v[j];
			t->v[j].val = NULL;
			i = j;
		}
	}
}

void
idtable_free(struct idtable *t)
{
	free(t->v);
	t->v = NULL;
	t->cap = t->n = 0;
}
