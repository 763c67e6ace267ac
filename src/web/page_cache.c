/*
 * page_cache.c - a direct-mapped cache of rendered chat pages; see
 * page_cache.h. A colliding chat simply replaces the entry.
 */
#include "web/page_cache.h"
#include "http/exchange.h"
#include "limits.h"
#include "util/buf.h"
#include "util/idmap.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS		1024			/* a power of two */

/* A page body shared by the cache and the responses writing it. */
struct blob {
	_Atomic unsigned refs;
	size_t		 len;
	char		*data;
};

struct slot {
	char		 chat_id[ID_LEN + 1];
	uint64_t	 event_id, bots_version;
	struct blob	*page;
};

struct page_cache {
	struct slot	 slots[SLOTS];
	size_t		 bytes;		/* of the pages kept */
};

static void
blob_unref(struct blob *b)
{
	if (b != NULL && --b->refs == 0) {
		free(b->data);
		free(b);
	}
}

static void
blob_release(const void *data, size_t len, void *blob)
{
	(void)data;
	(void)len;
	blob_unref(blob);
}

static struct slot *
slot_of(struct page_cache *pc, const char *chat_id)
{
	return &pc->slots[idmap_hash(chat_id) & (SLOTS - 1)];
}

struct page_cache *
page_cache_new(void)
{
	return xcalloc(1, sizeof(struct page_cache));
}

void
page_cache_free(struct page_cache *pc)
{
	for (size_t i = 0; i < SLOTS; i++)
		blob_unref(pc->slots[i].page);
	free(pc);
}

bool
page_cache_respond(struct page_cache *pc, struct exchange *x, const char *chat_id,
    uint64_t event_id, uint64_t bots_version, const struct buf *head, const struct buf *tail)
{
	struct slot *s = slot_of(pc, chat_id);
	if (s->page == NULL || strcmp(s->chat_id, chat_id) != 0 || s->event_id != event_id ||
	    s->bots_version != bots_version)
		return false;
	s->page->refs++;
	exchange_add_header(x, "Content-Type", "text/html; charset=utf-8");
	exchange_send_around(x, 200, head, s->page->data, s->page->len, blob_release, s->page,
	    tail);
	return true;
}

void
page_cache_put(struct page_cache *pc, const char *chat_id, uint64_t event_id,
    uint64_t bots_version, struct buf *page)
{
	struct slot *s = slot_of(pc, chat_id);
	size_t old = s->page ? s->page->len : 0;
	if (page->len > LIMIT_CACHED_PAGE_BYTES || pc->bytes - old + page->len > LIMIT_PAGE_CACHE_BYTES)
		return;		/* memory is bounded; such pages are rendered every time */
	pc->bytes = pc->bytes - old + page->len;
	blob_unref(s->page);
	s->page = xmalloc(sizeof *s->page);
	s->page->refs = 1;
	s->page->len = page->len;
	s->page->data = buf_steal(page);
	snprintf(s->chat_id, sizeof s->chat_id, "%s", chat_id);
	s->event_id = event_id;
	s->bots_version = bots_version;
}
