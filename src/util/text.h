/*
 * text.h - checks and clean-ups of user-supplied text: UTF-8 validity,
 * trimming, character counts. Pure functions; callers own their strings.
 */
#ifndef PARLEY_TEXT_H
#define PARLEY_TEXT_H
#include <stdbool.h>
#include <stddef.h>

/* True when s[0..n) is well-formed UTF-8 without NUL bytes. */
bool	 text_utf8_valid(const char *s, size_t n);
/* Number of code points in well-formed UTF-8 s. */
size_t	 text_utf8_chars(const char *s);
/* Returns a new string: s without leading and trailing white space (free it). */
char	*text_trim(const char *s);
/* True when s holds nothing but white space. */
bool	 text_blank(const char *s);

#endif
