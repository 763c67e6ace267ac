/*
 * buf.h - a growable byte buffer, always NUL-terminated, for building
 * responses, fragments and frames. Owned by whoever declared it; buf_free()
 * releases it, buf_steal() hands the bytes to the caller (free() them).
 */
#ifndef PARLEY_BUF_H
#define PARLEY_BUF_H
#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

#define BUF_INIT { NULL, 0, 0 }

void	 buf_reserve(struct buf *b, size_t extra);
void	 buf_add(struct buf *b, const void *p, size_t n);
void	 buf_adds(struct buf *b, const char *s);
void	 buf_addc(struct buf *b, char c);
void	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
char	*buf_steal(struct buf *b);
void	 buf_reset(struct buf *b);
void	 buf_free(struct buf *b);

#endif
