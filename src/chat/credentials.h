/*
 * credentials.h - who each recently used credential (a session's or an API
 * token's hash) is, kept in memory so that a request costs no database
 * read to say who asks. The account service (accounts.c, users.c) owns it
 * and forgets what changes: a credential that ends, and everything when a
 * user changes (name, rights, password) or sessions expire. Bounded: when
 * full it starts over. Not thread-safe: one owner. A NULL cache keeps
 * nothing (several nodes: who a credential is is read at every request).
 */
#ifndef PARLEY_CREDENTIALS_H
#define PARLEY_CREDENTIALS_H
#include <stdbool.h>
#include <stdint.h>

struct credentials;
struct who;

struct credentials	*credentials_new(void);
void			 credentials_free(struct credentials *c);
/* Fills who and *last_seen for hash (SECRET_HEX hex characters); false when not kept. */
bool			 credentials_get(struct credentials *c, const char *hash, struct who *who,
			    int64_t *last_seen);
/* Keeps who (and when its session was last seen) for hash. */
void			 credentials_put(struct credentials *c, const char *hash,
			    const struct who *who, int64_t last_seen);
void			 credentials_forget(struct credentials *c, const char *hash);
void			 credentials_clear(struct credentials *c);

#endif
