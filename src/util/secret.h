/*
 * secret.h - the secrets Parley hands out (session ids, API tokens, invite
 * and setup tokens): random from the kernel's CSPRNG, shown once, stored
 * only as SHA-256 hashes, compared in constant time. Pure apart from
 * getrandom().
 */
#ifndef PARLEY_SECRET_H
#define PARLEY_SECRET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SECRET_BYTES	24			/* 192 bits of randomness */
#define SECRET_LEN	32			/* as base64url characters */
#define SECRET_HEX	64			/* a hash as hex characters */

/* A new secret: SECRET_LEN characters of [A-Za-z0-9_-] and a NUL. */
void	 secret_new(char out[SECRET_LEN + 1]);
/* True when s looks like a secret (length and alphabet): worth hashing. */
bool	 secret_plausible(const char *s);
/* The SHA-256 of s as SECRET_HEX hex characters and a NUL: how it is stored. */
void	 secret_hash(const char *s, char out[SECRET_HEX + 1]);
/*
 * A link's token (setup, invite) as its pass: what a browser keeps in a
 * cookie between opening the link and confirming, so that no answer ever
 * carries the token itself. It is the token's hash; what is stored is the
 * pass's hash. "" for a token that is not plausible.
 */
void	 secret_link_pass(const char *token, char pass[SECRET_HEX + 1]);
/* True when s looks like a pass (SECRET_HEX lowercase hex characters). */
bool	 secret_pass_plausible(const char *s);
/* a[0..n) equals b[0..n), in time that does not depend on where they differ. */
bool	 secret_equal(const void *a, const void *b, size_t n);

#endif
