/*
 * text.h - checks and clean-ups of user-supplied text: UTF-8 validity,
 * trimming, character counts, cutting on character boundaries, numbers.
 * Pure functions; callers own their strings.
 */
#ifndef PARLEY_TEXT_H
#define PARLEY_TEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True when s[0..n) is well-formed UTF-8 without NUL bytes. */
bool	 text_utf8_valid(const char *s, size_t n);
/* Number of code points in well-formed UTF-8 s. */
size_t	 text_utf8_chars(const char *s);
/* Returns a new string: s without leading and trailing white space (free it). */
char	*text_trim(const char *s);
/* True when s holds nothing but white space. */
bool	 text_blank(const char *s);
/*
 * The length of the longest prefix of s[0..n) of at most max bytes that
 * does not end inside a UTF-8 character: where to cut text that must fit.
 */
size_t	 text_utf8_prefix(const char *s, size_t n, size_t max);
/*
 * Copies UTF-8 text from src into dst (dstlen bytes with the NUL) as one
 * tidy line: control characters become spaces, and it is cut on a
 * character boundary to fit. For text from elsewhere shown to people.
 */
void	 text_one_line(char *dst, size_t dstlen, const char *src);
/* Every occurrence in text of secret (4 bytes or more; NULL: none) becomes "***", in place. */
void	 text_hide(char *text, const char *secret);
/*
 * A character card's text as the chat means it (a new string): {{char}}
 * becomes name, {{user}} becomes user (SillyTavern's macros, any case).
 */
char	*text_card_macros(const char *s, const char *name, const char *user);
/* Parses a decimal, non-negative integer that fills all of s; 0, or -1 otherwise. */
int	 text_parse_u64(const char *s, uint64_t *out);

#endif
