/*
 * hash.h - FNV-1a, Parley's one non-cryptographic hash: chat-id maps, the
 * page cache's slots, static files' versions. Pure.
 */
#ifndef PARLEY_HASH_H
#define PARLEY_HASH_H
#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_BASIS	2166136261u

/* FNV-1a from the state h (HASH_FNV1A_BASIS, or one seeded from it). */
static inline uint32_t
hash_fnv1a_from(uint32_t h, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static inline uint32_t
hash_fnv1a(const void *data, size_t len)
{
	return hash_fnv1a_from(HASH_FNV1A_BASIS, data, len);
}

#endif
