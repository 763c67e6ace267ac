/*
 * throttle.h - sign-in throttling (SPEC section 7): after too many failures
 * for one key (a user name, an address) within a window, that key waits
 * until the oldest of them ages out of the window. Keys are kept in a
 * bounded table: when it is full, the key whose last failure is oldest
 * makes room, one kept waiting only when all near it are. Pure but for the
 * hash's random seed (times are given); owned by one loop.
 */
#ifndef PARLEY_THROTTLE_H
#define PARLEY_THROTTLE_H
#include <stdint.h>

struct throttle;

/* max_failures within window_s seconds, for at most max_keys keys. */
struct throttle	*throttle_new(unsigned max_failures, unsigned window_s, unsigned max_keys);
void		 throttle_free(struct throttle *t);
/* Seconds key must still wait at now (0: it may try). */
unsigned	 throttle_wait(struct throttle *t, const char *key, int64_t now);
void		 throttle_fail(struct throttle *t, const char *key, int64_t now);
/* Takes back key's newest failure (one counted ahead that did not fail). */
void		 throttle_unfail(struct throttle *t, const char *key);
/* Forgets key's failures (a name that signed in). */
void		 throttle_clear(struct throttle *t, const char *key);

#endif
