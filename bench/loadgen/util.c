/*
 * util.c - the load generator's small helpers, used by every other file: the
 * clock, dying and logging, allocation that cannot fail, whole reads and
 * writes on the pipes between the processes, and the one JSON look-up the
 * parser and --setup need.
 */
#define _GNU_SOURCE
#include "loadgen.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

_Noreturn void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("loadgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* Progress on stderr with --verbose. */
void
logv(const char *fmt, ...)
{
	if (!O.verbose)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "loadgen[%d]: ", (int)getpid());
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

void *
xcalloc(size_t a, size_t b)
{
	void *p = calloc(a ? a : 1, b ? b : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		die("out of memory");
	return p;
}

void
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			die("write pipe: %s", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
}

/* Returns false on EOF before anything was read. */
bool
read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read pipe: %s", strerror(errno));
		}
		if (r == 0) {
			if (got == 0)
				return false;
			die("short read on pipe");
		}
		got += (size_t)r;
	}
	return true;
}

const void *
memmem_s(const void *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

/* Finds the value of "key":"..." in a JSON object (start of the string). */
const char *
json_str(const char *d, size_t n, const char *key, size_t *len)
{
	const char *end = d + n;
	const char *p = memmem_s(d, n, key);
	while (p != NULL) {
		const char *q = p + strlen(key);
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if (q < end && *q == ':') {
			q++;
			while (q < end && (*q == ' ' || *q == '\t'))
				q++;
			if (q < end && *q == '"') {
				q++;
				const char *e = q;
				while (e < end && *e != '"') {
					if (*e == '\\' && e + 1 < end)
						e++;
					e++;
				}
				*len = (size_t)(e - q);
				return q;
			}
			return NULL;
		}
		p = memmem_s(q, (size_t)(end - q), key);
	}
	return NULL;
}
