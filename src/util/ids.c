/*
 * ids.c - random ids and RFC 3339 timestamps; see ids.h.
 */
#include "util/ids.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static void
random_bytes(unsigned char *p, size_t n)
{
	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			perror("parley: getrandom");
			abort();
		}
		p += got;
		n -= (size_t)got;
	}
}

void
id_generate(char out[ID_LEN + 1])
{
	unsigned char pool[32];
	size_t used = sizeof pool, n = 0;

	while (n < ID_LEN) {
		if (used == sizeof pool) {
			random_bytes(pool, sizeof pool);
			used = 0;
		}
		unsigned char c = pool[used++];
		if (c >= 252)		/* 252 = 7 * 36: reject to stay uniform */
			continue;
		out[n++] = alphabet[c % 36];
	}
	out[ID_LEN] = '\0';
}

bool
id_valid(const char *s)
{
	size_t n = 0;
	for (; s[n] != '\0'; n++) {
		char c = s[n];
		if (n >= ID_LEN || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
			return false;
	}
	return n == ID_LEN;
}

void
time_now_rfc3339(char out[21])
{
	time_t now = time(NULL);
	struct tm tm;
	gmtime_r(&now, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
