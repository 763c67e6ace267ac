/*
 * credentials.c - the credentials in memory; see credentials.h. Keyed by
 * the hash's first ID_LEN characters in an idmap; the whole hash is
 * compared, and a second hash with the same start is simply not kept.
 */
#include "chat/credentials.h"
#include "chat/who.h"
#include "limits.h"
#include "util/idmap.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct credential {
	struct idmap_entry	 entry;
	char			 hash[SECRET_HEX + 1];
	struct who		 who;
	int64_t			 last_seen;
};

struct credentials {
	struct idmap		 map;
};

struct credentials *
credentials_new(void)
{
	struct credentials *c = xcalloc(1, sizeof *c);
	idmap_init(&c->map, LIMIT_CREDENTIALS_CACHED);
	return c;
}

void
credentials_clear(struct credentials *c)
{
	struct idmap_entry *e;
	while (c != NULL && (e = idmap_first(&c->map)) != NULL) {
		idmap_remove(&c->map, e);
		free(container_of(e, struct credential, entry));
	}
}

void
credentials_free(struct credentials *c)
{
	if (c == NULL)
		return;
	credentials_clear(c);
	idmap_free(&c->map);
	free(c);
}

static struct credential *
find(struct credentials *c, const char *hash)
{
	if (c == NULL)
		return NULL;
	char key[ID_LEN + 1];
	memcpy(key, hash, ID_LEN);
	key[ID_LEN] = '\0';
	struct idmap_entry *e = idmap_find(&c->map, key);
	struct credential *cr = e ? container_of(e, struct credential, entry) : NULL;
	return cr != NULL && strcmp(cr->hash, hash) == 0 ? cr : NULL;
}

bool
credentials_get(struct credentials *c, const char *hash, struct who *who, int64_t *last_seen)
{
	struct credential *cr = find(c, hash);
	if (cr == NULL)
		return false;
	*who = cr->who;
	*last_seen = cr->last_seen;
	return true;
}

void
credentials_put(struct credentials *c, const char *hash, const struct who *who,
    int64_t last_seen)
{
	if (c == NULL)
		return;
	struct credential *cr = find(c, hash);
	if (cr != NULL) {
		cr->who = *who;
		cr->last_seen = last_seen;
		return;
	}
	char key[ID_LEN + 1];
	memcpy(key, hash, ID_LEN);
	key[ID_LEN] = '\0';
	if (idmap_find(&c->map, key) != NULL)
		return;		/* another hash starts alike: that one stays */
	if (c->map.count >= LIMIT_CREDENTIALS_CACHED)
		credentials_clear(c);
	cr = xmalloc(sizeof *cr);
	snprintf(cr->hash, sizeof cr->hash, "%s", hash);
	cr->who = *who;
	cr->last_seen = last_seen;
	idmap_insert(&c->map, &cr->entry, key);
}

void
credentials_forget(struct credentials *c, const char *hash)
{
	struct credential *cr = find(c, hash);
	if (cr != NULL) {
		idmap_remove(&c->map, &cr->entry);
		free(cr);
	}
}
