/*
 * hash.h - FNV-1a, Parley's one non-cryptographic hash: chat-id maps, the
 * page cache's slots, static files' versions. Pure.
 */
#ifndef PARLEY_HASH_H
#define PARLEY_HASH_H
#include <stddef.h>
#include <stdint.h>

static inline uint32_t
hash_fnv1a(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

#endif
