/*
 * password.h - passwords stored only as Argon2id (libargon2): t = 5
 * passes over m = 19 MiB with one lane, a 16-byte random salt and a 32-byte
 * hash, about 60 ms on this project's 2-core machine (measured by `make
 * bench`, scenario hash: build/bench/password_cost). Slow on purpose: call
 * these on a worker thread, never on an event loop. Pure apart from
 * getrandom().
 */
#ifndef PARLEY_PASSWORD_H
#define PARLEY_PASSWORD_H
#include <stdbool.h>
#include <stddef.h>

#define PASSWORD_ENCODED_MAX 128	/* "$argon2id$v=19$m=...$salt$hash" and a NUL */

/* The encoding to store for password; 0, or -1 when hashing failed. */
int	 password_hash(const char *password, char out[PASSWORD_ENCODED_MAX]);
/* True when password matches the stored encoding. */
bool	 password_verify(const char *encoded, const char *password);
/*
 * Spends the time of a verification on nothing, for a name that has no
 * account (so that timing does not tell which names exist).
 */
void	 password_waste(const char *password);

#endif
