/*
 * html.h - HTML escaping. Every user-supplied string reaches a page or
 * fragment through html_escape(); nothing else writes user text into HTML.
 * Pure.
 */
#ifndef PARLEY_HTML_H
#define PARLEY_HTML_H
#include <stddef.h>

struct buf;

/* Appends s with & < > " ' replaced by entities; safe in text and quoted attributes. */
void	 html_escape(struct buf *out, const char *s);
void	 html_escape_n(struct buf *out, const char *s, size_t n);
/*
 * Appends a refusal's detail as a page says it, escaped: the API's leading
 * "field_name: " as "Field name: ", else the first letter a capital.
 */
void	 html_said(struct buf *out, const char *detail);

#endif
