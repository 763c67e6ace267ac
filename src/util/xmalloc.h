/*
 * xmalloc.h - allocation that never returns NULL: out of memory aborts with a message.
 * Used everywhere; callers never check for NULL.
 */
#ifndef PARLEY_XMALLOC_H
#define PARLEY_XMALLOC_H
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
