/*
 * throttle.c - failure counting per key; see throttle.h. Open addressing
 * over a power-of-two table, probing a few slots from a hash seeded at
 * random (nobody can pick names that land on another's slots); each key
 * keeps the times of its last max_failures failures in a ring.
 */
#include "chat/throttle.h"
#include "util/hash.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define PROBES		8
#define KEY_MAX		96
#define FAILURES_MAX	32

struct slot {
	char	 key[KEY_MAX];		/* "" for a free slot */
	int64_t	 times[FAILURES_MAX];	/* ring of the last failures */
	unsigned n, next;
};

struct throttle {
	struct slot	*slots;
	size_t		 mask;
	unsigned	 max_failures, window_s;
	uint32_t	 seed;
};

struct throttle *
throttle_new(unsigned max_failures, unsigned window_s, unsigned max_keys)
{
	struct throttle *t = xcalloc(1, sizeof *t);
	size_t n = PROBES;
	while (n < max_keys)
		n *= 2;
	t->slots = xcalloc(n, sizeof *t->slots);
	t->mask = n - 1;
	t->max_failures = max_failures < FAILURES_MAX ? max_failures : FAILURES_MAX;
	t->window_s = window_s;
	while (getrandom(&t->seed, sizeof t->seed, 0) != (ssize_t)sizeof t->seed && errno == EINTR)
		;
	return t;
}

void
throttle_free(struct throttle *t)
{
	if (t == NULL)
		return;
	free(t->slots);
	free(t);
}

static int64_t
last_failure(const struct slot *s)
{
	return s->n == 0 ? 0 : s->times[(s->next + FAILURES_MAX - 1) % FAILURES_MAX];
}

/* FNV-1a from the table's seed. */
static uint32_t
hash_key(const struct throttle *t, const char *key)
{
	return hash_fnv1a_from(HASH_FNV1A_BASIS ^ t->seed, key, strlen(key));
}

/* Seconds the slot's key must still wait at now (0: it may try). */
static unsigned
slot_wait(const struct throttle *t, const struct slot *s, int64_t now)
{
	if (s->n < t->max_failures)
		return 0;
	/* the oldest of the last max_failures failures must leave the window */
	int64_t oldest = s->times[(s->next + FAILURES_MAX - t->max_failures) % FAILURES_MAX];
	int64_t free_at = oldest + t->window_s;
	return free_at > now ? (unsigned)(free_at - now) : 0;
}

/* Whether s should make room rather than victim: a free one, else not waiting, else stalest. */
static bool
rather(const struct throttle *t, const struct slot *s, const struct slot *victim, int64_t now)
{
	if (victim == NULL || s->key[0] == '\0')
		return true;
	if (victim->key[0] == '\0')
		return false;
	bool s_waits = slot_wait(t, s, now) > 0, victim_waits = slot_wait(t, victim, now) > 0;
	if (s_waits != victim_waits)
		return victim_waits;
	return last_failure(s) < last_failure(victim);
}

/*
 * The key's slot; create: a free one, else of the probed ones the stalest
 * whose key is not kept waiting (a locked-out name stays locked out), else
 * the stalest.
 */
static struct slot *
find(struct throttle *t, const char *key, bool create, int64_t now)
{
	uint32_t h = hash_key(t, key);
	struct slot *victim = NULL;
	for (size_t i = 0; i < PROBES; i++) {
		struct slot *s = &t->slots[(h + i) & t->mask];
		if (strncmp(s->key, key, KEY_MAX - 1) == 0 && s->key[0] != '\0')
			return s;
		if (rather(t, s, victim, now))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof *victim);
	snprintf(victim->key, sizeof victim->key, "%s", key);
	return victim;
}

unsigned
throttle_wait(struct throttle *t, const char *key, int64_t now)
{
	struct slot *s = find(t, key, false, now);
	return s == NULL ? 0 : slot_wait(t, s, now);
}

void
throttle_fail(struct throttle *t, const char *key, int64_t now)
{
	struct slot *s = find(t, key, true, now);
	s->times[s->next] = now;
	s->next = (s->next + 1) % FAILURES_MAX;
	if (s->n < FAILURES_MAX)
		s->n++;
}

void
throttle_unfail(struct throttle *t, const char *key)
{
	struct slot *s = find(t, key, false, 0);
	if (s == NULL || s->n == 0)
		return;
	s->next = (s->next + FAILURES_MAX - 1) % FAILURES_MAX;
	s->times[s->next] = 0;
	s->n--;
}

void
throttle_clear(struct throttle *t, const char *key)
{
	struct slot *s = find(t, key, false, 0);
	if (s != NULL)
		memset(s, 0, sizeof *s);
}
