/*
 * ids.h - identifiers and timestamps: random ids from the kernel's CSPRNG and
 * RFC 3339 UTC times. Pure apart from reading getrandom() and the clock.
 */
#ifndef PARLEY_IDS_H
#define PARLEY_IDS_H
#include <stdbool.h>
#include <stddef.h>

#define ID_LEN 12

/* Writes ID_LEN characters of [a-z0-9] and a NUL into out (ID_LEN + 1 bytes). */
void	 id_generate(char out[ID_LEN + 1]);
/* True when s is exactly ID_LEN characters of [a-z0-9]. */
bool	 id_valid(const char *s);
/* Writes the current UTC time as "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL). */
void	 time_now_rfc3339(char out[21]);

#endif
