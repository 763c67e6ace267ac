/*
 * page_cache.c - a direct-mapped cache of rendered chat pages; see
 * page_cache.h. A colliding chat simply replaces the entry.
 */
#include "web/page_cache.h"
#include "limits.h"
#include "metrics.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS		1024			/* a power of two */
#define CACHE_BYTES	(64 * 1024 * 1024)	/* all pages kept, at most */
#define PAGE_BYTES	(512 * 1024)		/* a bigger page is not kept */

/* A page body shared by the cache and the responses writing it. */
struct blob {
	unsigned	 refs;
	size_t		 len;
	char		*data;
};

struct slot {
	char		 chat_id[CHAT_ID_LEN + 1];
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
	uint32_t h = 2166136261u;	/* FNV-1a */
	for (const char *p = chat_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return &pc->slots[h & (SLOTS - 1)];
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
page_cache_respond(struct page_cache *pc, struct evhttp_request *req, const char *chat_id,
    uint64_t event_id, uint64_t bots_version)
{
	struct slot *s = slot_of(pc, chat_id);
	if (s->page == NULL || strcmp(s->chat_id, chat_id) != 0 || s->event_id != event_id ||
	    s->bots_version != bots_version)
		return false;
	struct evbuffer *body = evbuffer_new();
	s->page->refs++;
	evbuffer_add_reference(body, s->page->data, s->page->len, blob_release, s->page);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	    "text/html; charset=utf-8");
	metrics_count_http(200);
	evhttp_send_reply(req, 200, "OK", body);
	evbuffer_free(body);
	return true;
}

void
page_cache_put(struct page_cache *pc, const char *chat_id, uint64_t event_id,
    uint64_t bots_version, struct buf *page)
{
	struct slot *s = slot_of(pc, chat_id);
	size_t old = s->page ? s->page->len : 0;
	if (page->len > PAGE_BYTES || pc->bytes - old + page->len > CACHE_BYTES)
		return;		/* memory is bounded; such pages are rendered every time */
	pc->bytes = pc->bytes - old + page->len;
	blob_unref(s->page);
	s->page = xmalloc(sizeof *s->page);
	s->page->refs = 1;
	s->page->len = page->len;
	s->page->data = buf_steal(page);
	memcpy(s->chat_id, chat_id, CHAT_ID_LEN);
	s->chat_id[CHAT_ID_LEN] = '\0';
	s->event_id = event_id;
	s->bots_version = bots_version;
}
