/*
 * password.c - Argon2id hashing and checking; see password.h.
 */
#include "util/password.h"

#include <argon2.h>
#include <string.h>
#include <sys/random.h>

#define T_COST		5	/* passes: ~60 ms a hash here (make bench, hash) */
#define M_COST_KIB	19456
#define LANES		1
#define SALT_BYTES	16
#define HASH_BYTES	32

int
password_hash(const char *password, char out[PASSWORD_ENCODED_MAX])
{
	unsigned char salt[SALT_BYTES];
	if (getrandom(salt, sizeof salt, 0) != (ssize_t)sizeof salt)
		return -1;
	return argon2id_hash_encoded(T_COST, M_COST_KIB, LANES, password, strlen(password),
	    salt, sizeof salt, HASH_BYTES, out, PASSWORD_ENCODED_MAX) == ARGON2_OK ? 0 : -1;
}

bool
password_verify(const char *encoded, const char *password)
{
	return encoded != NULL &&
	    argon2id_verify(encoded, password, strlen(password)) == ARGON2_OK;
}

void
password_waste(const char *password)
{
	char wasted[PASSWORD_ENCODED_MAX];
	(void)password_hash(password, wasted);
}
