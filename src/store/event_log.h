/*
 * event_log.h - the rules of a chat's durable event log that both stores
 * follow (sqlite_chats.c, postgres_chats.c): which old events are pruned,
 * and how a replay merges the logged events with final messages (whose
 * rows are their own "message" events). Called by the stores only.
 */
#ifndef PARLEY_STORE_EVENT_LOG_H
#define PARLEY_STORE_EVENT_LOG_H
#include <jansson.h>
#include <stdint.h>

/*
 * The log's rows up to this id are gone once the chat's events reach newest:
 * every hundredth id drops the rows more than LIMIT_EVENTS_KEPT older.
 */
uint64_t	 event_log_pruned_through(uint64_t newest);
/* Taking event id: the id through which old events are to be dropped now, or 0. */
uint64_t	 event_log_prune_at(uint64_t id);
/* Merges two arrays of events ordered by id into one (taking both arrays). */
json_t		*event_log_merge(json_t *logged, json_t *final);

#endif
