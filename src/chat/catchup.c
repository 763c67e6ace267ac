/*
 * catchup.c - reading what the streams here missed; see catchup.h.
 */
#include "chat/catchup.h"
#include "chat/chats.h"
#include "chat/events.h"
#include "hub/hub.h"
#include "store/store.h"
#include "util/fiber.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <string.h>

#define CATCHUP_CHATS_MAX 65536		/* chats read in one pass of catchup_all */

struct catchup {
	struct store	*store;
	struct chats	*chats;
	struct events	*events;
	struct hub	*hub;
	bool		 checking;	/* a catchup_all pass runs */
};

/* A chat whose gap is to be read, until its serial fiber runs. */
struct gap {
	struct catchup	*catchup;
	char		 chat_id[ID_LEN + 1];
};

int
catchup_chat(struct catchup *c, const char *chat_id)
{
	uint64_t after, newest;
	json_t *events, *ev;
	if (!hub_position(c->hub, chat_id, &after))
		return 0;	/* no stream here, or none settled yet: nothing to bring up */
	enum store_status st = store_chat_get(c->store, chat_id, &ev);
	if (st == STORE_OK) {
		newest = (uint64_t)json_integer_value(json_object_get(ev, "last_event_id"));
		json_decref(ev);
		if (newest <= after)
			return 0;	/* the usual answer: one round trip */
		st = chats_events_after(c->chats, chat_id, after, &events, &newest);
	}
	if (st == STORE_GONE || st == STORE_NOT_FOUND) {
		hub_resync(c->hub, chat_id);
		return 0;
	}
	if (st != STORE_OK) {
		hub_caught_up(c->hub, chat_id, 0);	/* asked again by the next event or check */
		return -1;
	}
	size_t i;
	json_array_foreach(events, i, ev)
		events_deliver_here(c->events, chat_id,
		    (uint64_t)json_integer_value(json_object_get(ev, "id")),
		    json_string_value(json_object_get(ev, "name")), json_object_get(ev, "data"));
	json_decref(events);
	hub_caught_up(c->hub, chat_id, newest);
	return 0;
}

static void
read_gap(void *arg)
{
	struct gap *g = arg;
	if (catchup_chat(g->catchup, g->chat_id) != 0)
		log_warn("chat %s: events missing here could not be read yet", g->chat_id);
	free(g);
}

static void
on_gap(void *arg, const char *chat_id)
{
	struct gap *g = xmalloc(sizeof *g);
	g->catchup = arg;
	snprintf(g->chat_id, sizeof g->chat_id, "%s", chat_id);
	fiber_run_serial(read_gap, g);
}

/* Every chat with streams here: one read of their last ids, then the ones behind. */
static void
read_all(void *arg)
{
	struct catchup *c = arg;
	char (*ids)[ID_LEN + 1] = xmalloc(CATCHUP_CHATS_MAX * sizeof *ids);
	size_t n = hub_chats(c->hub, ids, CATCHUP_CHATS_MAX);
	json_t *list = json_array(), *newest;
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(ids[i]));
	json_t *positions = n > 0 ? store_chat_positions(c->store, list) : NULL;
	for (size_t i = 0; positions != NULL && i < n; i++) {
		uint64_t at;
		newest = json_object_get(positions, ids[i]);
		if (hub_position(c->hub, ids[i], &at) &&
		    (newest == NULL || (uint64_t)json_integer_value(newest) > at))
			catchup_chat(c, ids[i]);	/* behind, or gone */
	}
	json_decref(positions);
	json_decref(list);
	free(ids);
	c->checking = false;
}

void
catchup_all(struct catchup *c)
{
	if (c->checking)
		return;		/* the last pass still runs (a slow database) */
	c->checking = true;
	fiber_run_serial(read_all, c);
}

struct catchup *
catchup_new(struct store *st, struct chats *chats, struct events *ev, struct hub *hub)
{
	struct catchup *c = xmalloc(sizeof *c);
	*c = (struct catchup){ st, chats, ev, hub, false };
	hub_on_gap(hub, on_gap, c);
	return c;
}

void
catchup_free(struct catchup *c)
{
	free(c);
}
