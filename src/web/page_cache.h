/*
 * page_cache.h - the rendered middle of chat pages (what every person sees
 * alike; each answer wraps it in its reader's own head and top bar), kept
 * while nothing it shows changes. An entry is keyed by chat id and valid
 * for one pair of versions (the chat's last event id, the bots version);
 * the caller does not cache a page that shows a reply in progress. Bodies
 * are shared by reference with the responses still being written (released
 * on the server's loop). One owner.
 */
#ifndef PARLEY_PAGE_CACHE_H
#define PARLEY_PAGE_CACHE_H
#include <stdbool.h>
#include <stdint.h>

struct buf;
struct exchange;
struct page_cache;

struct page_cache	*page_cache_new(void);
void			 page_cache_free(struct page_cache *pc);
/* Answers x with head, the cached middle and tail, and returns true; false when there is none. */
bool			 page_cache_respond(struct page_cache *pc, struct exchange *x,
			    const char *chat_id, uint64_t event_id, uint64_t bots_version,
			    const struct buf *head, const struct buf *tail);
/* Keeps the middle (taken over, or left to the caller when over the memory bounds) for the key. */
void			 page_cache_put(struct page_cache *pc, const char *chat_id,
			    uint64_t event_id, uint64_t bots_version, struct buf *page);

#endif
