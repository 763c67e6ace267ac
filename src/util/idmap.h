/*
 * idmap.h - a hash map from ids (chat ids: ID_LEN characters) to the
 * caller's objects. Intrusive: an object embeds a struct idmap_entry and is
 * found again with container_of; the map allocates only its buckets, never
 * per entry, and frees no object. The one map for chat ids (hub channels, a
 * shard's streams, the turn flows) and the one hash (the page cache's
 * slots). Not thread-safe: one owner.
 */
#ifndef PARLEY_IDMAP_H
#define PARLEY_IDMAP_H
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "util/ids.h"

#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

struct idmap_entry {
	LIST_ENTRY(idmap_entry)	 link;
	uint32_t		 hash;
	char			 id[ID_LEN + 1];
};

LIST_HEAD(idmap_bucket, idmap_entry);

struct idmap {
	struct idmap_bucket	*buckets;
	size_t			 mask;		/* buckets - 1 */
	size_t			 count;
};

/* FNV-1a of the id. */
uint32_t	 idmap_hash(const char *id);
/* An empty map with `buckets` buckets (rounded up to a power of two). */
void		 idmap_init(struct idmap *m, size_t buckets);
/* Frees the buckets; the entries still in it are the caller's. */
void		 idmap_free(struct idmap *m);
struct idmap_entry *idmap_find(const struct idmap *m, const char *id);
/* Adds e under id (at most ID_LEN characters; not already in the map). */
void		 idmap_insert(struct idmap *m, struct idmap_entry *e, const char *id);
void		 idmap_remove(struct idmap *m, struct idmap_entry *e);
/* Any entry, or NULL when empty: for draining a map. */
struct idmap_entry *idmap_first(const struct idmap *m);

/* Visits every entry; the body may remove the entry it visits (not others). */
#define IDMAP_FOREACH(m, e, tmp)					\
	for (size_t idmap_i_ = 0; idmap_i_ <= (m)->mask; idmap_i_++)	\
		for ((e) = LIST_FIRST(&(m)->buckets[idmap_i_]);		\
		    (e) != NULL && ((tmp) = LIST_NEXT((e), link), 1);	\
		    (e) = (tmp))

#endif
