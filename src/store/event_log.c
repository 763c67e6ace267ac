/*
 * event_log.c - the event log's rules shared by both stores; see event_log.h.
 */
#include "store/event_log.h"
#include "limits.h"

#include <stddef.h>

uint64_t
event_log_pruned_through(uint64_t newest)
{
	uint64_t last_prune = newest - newest % 100;
	return last_prune > LIMIT_EVENTS_KEPT ? last_prune - LIMIT_EVENTS_KEPT : 0;
}

uint64_t
event_log_prune_at(uint64_t id)
{
	return id % 100 == 0 ? event_log_pruned_through(id) : 0;
}

json_t *
event_log_merge(json_t *logged, json_t *final)
{
	json_t *out = json_array();
	size_t i = 0, j = 0;
	while (i < json_array_size(logged) || j < json_array_size(final)) {
		json_t *x = json_array_get(logged, i), *y = json_array_get(final, j);
		if (y == NULL || (x != NULL && json_integer_value(json_object_get(x, "id")) <
		    json_integer_value(json_object_get(y, "id"))))
			json_array_append(out, json_array_get(logged, i++));
		else
			json_array_append(out, json_array_get(final, j++));
	}
	json_decref(logged);
	json_decref(final);
	return out;
}
