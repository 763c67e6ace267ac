/*
 * presence.c - who is here and who is typing; see presence.h.
 *
 * A room per chat with people in it, each person with a count of open
 * streams; at zero a person stays for PRESENCE_GRACE_MS and leaves then
 * unless a stream came back. A room's timer runs only while something is
 * due: a person's leaving, or a change waiting for PRESENCE_EVERY_MS since
 * the last one told.
 *
 * With several nodes a room also holds who each other node has there, as
 * that node shares it (on change, and every PRESENCE_SHARE_MS): kept until
 * PRESENCE_REMOTE_MS without news, so a dead node's people leave. Each node
 * tells its own streams the union, and shares only its own people.
 */
#include "chat/presence.h"
#include "chat/events.h"
#include "util/clock.h"
#include "util/idmap.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#define ROOM_BUCKETS	1024
#define TYPING_SWEEP	4096	/* typing marks kept before the stale ones are dropped */

struct person {
	TAILQ_ENTRY(person)	 entry;
	char			*key;		/* the user id, or "~" and the name */
	json_t			*who;		/* {"user_id","name"} */
	unsigned		 streams;
	int64_t			 leave_at;	/* ms; 0 while a stream is open */
};

struct room {
	struct idmap_entry	 entry;		/* keyed by chat id */
	struct presence		*presence;
	TAILQ_HEAD(, person)	 people;
	struct event		*timer;
	int64_t			 told_at;	/* ms, when last told */
	bool			 changed;	/* since then */
	bool			 ours_changed;	/* our own people, since last shared */
	json_t			*elsewhere;	/* node -> {"people":[…],"until":ms} */
};

struct presence {
	struct event_base	*base;
	struct events		*events;
	struct idmap		 rooms;
	json_t			*streams;	/* presence id -> {"key", "user_id", "name"} */
	json_t			*typing;	/* "chat/key" -> when last passed on (ms) */
	uint64_t		 next_id;
	struct event		*share;		/* every PRESENCE_SHARE_MS */
};

static void room_due(evutil_socket_t fd, short what, void *arg);
static void share_all(evutil_socket_t fd, short what, void *arg);

struct presence *
presence_new(struct event_base *base, struct events *ev)
{
	struct presence *pr = xcalloc(1, sizeof *pr);
	pr->base = base;
	pr->events = ev;
	idmap_init(&pr->rooms, ROOM_BUCKETS);
	pr->streams = json_object();
	pr->typing = json_object();
	pr->share = event_new(base, -1, EV_PERSIST, share_all, pr);
	struct timeval every = { PRESENCE_SHARE_MS / 1000, PRESENCE_SHARE_MS % 1000 * 1000 };
	event_add(pr->share, &every);
	return pr;
}

static void
person_free(struct room *r, struct person *who)
{
	TAILQ_REMOVE(&r->people, who, entry);
	free(who->key);
	json_decref(who->who);
	free(who);
}

static void
room_free(struct room *r)
{
	while (!TAILQ_EMPTY(&r->people))
		person_free(r, TAILQ_FIRST(&r->people));
	idmap_remove(&r->presence->rooms, &r->entry);
	event_free(r->timer);
	json_decref(r->elsewhere);
	free(r);
}

void
presence_free(struct presence *pr)
{
	struct idmap_entry *e;
	if (pr == NULL)
		return;
	while ((e = idmap_first(&pr->rooms)) != NULL)
		room_free(container_of(e, struct room, entry));
	idmap_free(&pr->rooms);
	event_free(pr->share);
	json_decref(pr->streams);
	json_decref(pr->typing);
	free(pr);
}

static struct room *
room_get(struct presence *pr, const char *chat_id, bool create)
{
	struct idmap_entry *e = idmap_find(&pr->rooms, chat_id);
	if (e != NULL || !create)
		return e ? container_of(e, struct room, entry) : NULL;
	struct room *r = xcalloc(1, sizeof *r);
	r->presence = pr;
	TAILQ_INIT(&r->people);
	r->timer = evtimer_new(pr->base, room_due, r);
	r->elsewhere = json_object();
	idmap_insert(&pr->rooms, &r->entry, chat_id);
	return r;
}

static struct person *
person_find(struct room *r, const char *key)
{
	struct person *who;
	TAILQ_FOREACH(who, &r->people, entry)
		if (strcmp(who->key, key) == 0)
			return who;
	return NULL;
}

/* The people of this node in the room, in the order they came. */
static json_t *
ours(struct room *r)
{
	json_t *here = json_array();
	struct person *who;
	TAILQ_FOREACH(who, &r->people, entry)
		json_array_append(here, who->who);
	return here;
}

/* The same person (by user id, else by name without accounts). */
static bool
same_person(json_t *a, json_t *b)
{
	json_t *ua = json_object_get(a, "user_id"), *ub = json_object_get(b, "user_id");
	if (json_is_string(ua) || json_is_string(ub))
		return json_equal(ua, ub);
	return json_equal(json_object_get(a, "name"), json_object_get(b, "name"));
}

static void
add_new(json_t *here, json_t *who)
{
	size_t i;
	json_t *seen;
	json_array_foreach(here, i, seen)
		if (same_person(seen, who))
			return;
	json_array_append(here, who);
}

json_t *
presence_here(struct presence *pr, const char *chat_id)
{
	struct room *r = room_get(pr, chat_id, false);
	if (r == NULL)
		return json_array();
	json_t *here = ours(r), *node, *who;
	const char *origin;
	size_t i;
	json_object_foreach(r->elsewhere, origin, node)
		json_array_foreach(json_object_get(node, "people"), i, who)
			add_new(here, who);
	return here;
}

/* Arms the room's timer for what is due next; frees a room with nothing left to do. */
static void
room_schedule(struct room *r, int64_t now)
{
	int64_t due = 0;
	struct person *who;
	TAILQ_FOREACH(who, &r->people, entry)
		if (who->leave_at > 0 && (due == 0 || who->leave_at < due))
			due = who->leave_at;
	if (r->changed && (due == 0 || r->told_at + PRESENCE_EVERY_MS < due))
		due = r->told_at + PRESENCE_EVERY_MS;
	if (due == 0) {
		evtimer_del(r->timer);
		if (TAILQ_EMPTY(&r->people) && json_object_size(r->elsewhere) == 0)
			room_free(r);
		return;
	}
	int64_t wait = due > now ? due - now : 0;
	struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
	evtimer_add(r->timer, &tv);
}

/* Our people in the room, for the other nodes. */
static void
room_share(struct room *r)
{
	json_t *people = ours(r);
	events_share_presence(r->presence->events, r->entry.id, people);
	json_decref(people);
	r->ours_changed = false;
}

/*
 * Tells the chat's streams here who is here (and the other nodes who of
 * ours is), when a change waits and the last was long enough ago.
 */
static void
room_tell(struct room *r, int64_t now)
{
	if (!r->changed || now - r->told_at < PRESENCE_EVERY_MS)
		return;
	if (r->ours_changed)
		room_share(r);
	json_t *here = presence_here(r->presence, r->entry.id);
	events_ephemeral_here(r->presence->events, r->entry.id, "presence", here);
	json_decref(here);
	r->told_at = now;
	r->changed = false;
}

/* Something about the room changed or fell due: the people who left go, then it is told. */
static void
room_settle(struct room *r)
{
	int64_t now = monotonic_ms();
	struct person *who, *next;
	for (who = TAILQ_FIRST(&r->people); who != NULL; who = next) {
		next = TAILQ_NEXT(who, entry);
		if (who->streams == 0 && who->leave_at <= now) {
			person_free(r, who);
			r->changed = r->ours_changed = true;
		}
	}
	room_tell(r, now);
	room_schedule(r, now);
}

static void
room_due(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	room_settle(arg);
}

/*
 * The person's key in the rooms: their user id, or without accounts their
 * name in any case ("Ada" on the phone and "ada" on the laptop are one).
 */
static char *
person_key(const char *user_id, const char *name)
{
	char *key;
	if (user_id != NULL)
		return xstrdup(user_id);
	if (asprintf(&key, "~%s", name) < 0)
		abort();
	for (char *c = key; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	return key;
}

static void
join_room(struct presence *pr, const char *chat_id, json_t *stream)
{
	struct room *r = room_get(pr, chat_id, true);
	const char *key = json_string_value(json_object_get(stream, "key"));
	struct person *who = person_find(r, key);
	if (who == NULL) {
		who = xcalloc(1, sizeof *who);
		who->key = xstrdup(key);
		who->who = json_pack("{s:O, s:O}", "user_id", json_object_get(stream, "user_id"),
		    "name", json_object_get(stream, "name"));
		TAILQ_INSERT_TAIL(&r->people, who, entry);
		r->changed = r->ours_changed = true;
	} else if (strcasecmp(json_string_value(json_object_get(who->who, "name")),
	    json_string_value(json_object_get(stream, "name"))) != 0) {
		/* renamed since (accounts: a new display name): listed by the new one */
		json_object_set(who->who, "name", json_object_get(stream, "name"));
		r->changed = r->ours_changed = true;
	}
	who->streams++;
	who->leave_at = 0;	/* back within the grace: nobody saw it go */
	room_settle(r);
}

uint64_t
presence_join(struct presence *pr, const char *const *chat_ids, size_t n, const char *user_id,
    const char *name)
{
	char id[24];
	char *key = person_key(user_id, name);
	json_t *stream = json_pack("{s:s, s:s?, s:s}", "key", key, "user_id", user_id, "name", name);
	free(key);
	snprintf(id, sizeof id, "%llu", (unsigned long long)++pr->next_id);
	json_object_set_new(pr->streams, id, stream);
	for (size_t i = 0; i < n; i++)
		join_room(pr, chat_ids[i], stream);
	return pr->next_id;
}

void
presence_leave(struct presence *pr, const char *chat_id, uint64_t id)
{
	char key[24];
	snprintf(key, sizeof key, "%llu", (unsigned long long)id);
	json_t *stream = json_object_get(pr->streams, key);
	if (stream == NULL)
		return;
	if (chat_id[0] == '\0') {
		json_object_del(pr->streams, key);
		return;
	}
	struct room *r = room_get(pr, chat_id, false);
	struct person *who = r ? person_find(r, json_string_value(json_object_get(stream,
	    "key"))) : NULL;
	if (who == NULL || who->streams == 0)
		return;
	if (--who->streams == 0)
		who->leave_at = monotonic_ms() + PRESENCE_GRACE_MS;
	room_settle(r);
}

void
presence_heard(struct presence *pr, const char *chat_id, const char *node, json_t *people)
{
	struct room *r = room_get(pr, chat_id, json_array_size(people) > 0);
	if (r == NULL)
		return;
	json_t *had = json_object_get(json_object_get(r->elsewhere, node), "people");
	if (!json_equal(had, people) && !(had == NULL && json_array_size(people) == 0))
		r->changed = true;
	if (json_array_size(people) == 0)
		json_object_del(r->elsewhere, node);
	else
		json_object_set_new(r->elsewhere, node, json_pack("{s:O, s:I}", "people", people,
		    "until", (json_int_t)(monotonic_ms() + PRESENCE_REMOTE_MS)));
	room_settle(r);
}

/* The other nodes' people in the room not heard of for too long (their node died) go. */
static void
forget_silent(struct room *r, int64_t now)
{
	const char *origin;
	json_t *node, *tmp;
	json_object_foreach_safe(r->elsewhere, tmp, origin, node)
		if (json_integer_value(json_object_get(node, "until")) <= now) {
			json_object_del(r->elsewhere, origin);
			r->changed = true;
		}
}

void
presence_renamed(void *presence, const char *user_id, const char *name)
{
	struct presence *pr = presence;
	struct idmap_entry *e, *tmp;
	const char *id;
	json_t *stream;
	json_object_foreach(pr->streams, id, stream) {	/* for the chats they open next */
		const char *uid = json_string_value(json_object_get(stream, "user_id"));
		if (uid != NULL && strcmp(uid, user_id) == 0)
			json_object_set_new(stream, "name", json_string(name));
	}
	IDMAP_FOREACH(&pr->rooms, e, tmp) {
		struct room *r = container_of(e, struct room, entry);
		struct person *who = person_find(r, user_id);
		if (who == NULL || strcmp(json_string_value(json_object_get(who->who, "name")), name) == 0)
			continue;
		json_object_set_new(who->who, "name", json_string(name));
		r->changed = r->ours_changed = true;
		room_settle(r);
	}
}

/* Every PRESENCE_SHARE_MS: our people are shared again, the silent nodes' people go. */
static void
share_all(evutil_socket_t fd, short what, void *arg)
{
	struct presence *pr = arg;
	struct idmap_entry *e, *tmp;
	int64_t now = monotonic_ms();
	(void)fd;
	(void)what;
	IDMAP_FOREACH(&pr->rooms, e, tmp) {
		struct room *r = container_of(e, struct room, entry);
		if (!TAILQ_EMPTY(&r->people))
			room_share(r);
		forget_silent(r, now);
		room_settle(r);		/* may free r: the loop allows it */
	}
}

/* Drops the typing marks older than a second once there are many. */
static void
typing_sweep(struct presence *pr, int64_t now)
{
	const char *k;
	json_t *v, *tmp;
	if (json_object_size(pr->typing) < TYPING_SWEEP)
		return;
	json_object_foreach_safe(pr->typing, tmp, k, v)
		if (now - json_integer_value(v) >= PRESENCE_EVERY_MS)
			json_object_del(pr->typing, k);
}

bool
presence_typing(struct presence *pr, const char *chat_id, const char *user_id,
    const char *name)
{
	int64_t now = monotonic_ms();
	char *key = person_key(user_id, name), *mark;
	if (asprintf(&mark, "%s/%s", chat_id, key) < 0)
		abort();
	free(key);
	json_t *last = json_object_get(pr->typing, mark);
	bool pass = last == NULL || now - json_integer_value(last) >= PRESENCE_EVERY_MS;
	if (pass) {
		typing_sweep(pr, now);
		json_object_set_new(pr->typing, mark, json_integer(now));
		json_t *data = json_pack("{s:s?, s:s}", "user_id", user_id, "name", name);
		events_ephemeral(pr->events, chat_id, "typing", data);
		json_decref(data);
	}
	free(mark);
	return pass;
}
