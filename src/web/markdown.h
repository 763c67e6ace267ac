/*
 * markdown.h - renders a message body as safe HTML with md4c: raw HTML is
 * off (shown as text), links only for http, https and mailto (others show as
 * text), images shown as links instead of loading, soft line breaks kept as
 * breaks, as people expect in a chat. Pure.
 */
#ifndef PARLEY_MARKDOWN_H
#define PARLEY_MARKDOWN_H
#include <stddef.h>

struct buf;

/* Appends the HTML for the Markdown text[0..n) to out. */
void	 markdown_render(struct buf *out, const char *text, size_t n);

#endif
