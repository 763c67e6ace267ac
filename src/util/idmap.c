/*
 * idmap.c - the intrusive id hash map; see idmap.h.
 */
#include "util/idmap.h"
#include "util/hash.h"
#include "util/xmalloc.h"

#include <assert.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

uint32_t
idmap_hash(const char *id)
{
	return hash_fnv1a(id, strlen(id));
}

void
idmap_init(struct idmap *m, size_t buckets)
{
	size_t n = 1;
	while (n < buckets)
		n *= 2;
	m->buckets = xcalloc(n, sizeof *m->buckets);
	for (size_t i = 0; i < n; i++)
		LIST_INIT(&m->buckets[i]);
	m->mask = n - 1;
	m->count = 0;
}

void
idmap_free(struct idmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
}

struct idmap_entry *
idmap_find(const struct idmap *m, const char *id)
{
	uint32_t h = idmap_hash(id);
	struct idmap_entry *e;
	LIST_FOREACH(e, &m->buckets[h & m->mask], link)
		if (e->hash == h && strcmp(e->id, id) == 0)
			return e;
	return NULL;
}

void
idmap_insert(struct idmap *m, struct idmap_entry *e, const char *id)
{
	assert(strlen(id) <= ID_LEN);
	snprintf(e->id, sizeof e->id, "%s", id);
	e->hash = idmap_hash(e->id);
	LIST_INSERT_HEAD(&m->buckets[e->hash & m->mask], e, link);
	m->count++;
}

void
idmap_remove(struct idmap *m, struct idmap_entry *e)
{
	LIST_REMOVE(e, link);
	m->count--;
}

struct idmap_entry *
idmap_first(const struct idmap *m)
{
	for (size_t i = 0; m->count > 0 && i <= m->mask; i++)
		if (!LIST_EMPTY(&m->buckets[i]))
			return LIST_FIRST(&m->buckets[i]);
	return NULL;
}
