/*
 * html.c - HTML escaping; see html.h.
 */
#include "web/html.h"
#include "util/buf.h"

#include <string.h>

void
html_escape_n(struct buf *out, const char *s, size_t n)
{
	size_t run = 0;	/* start of the current stretch of plain bytes */

	buf_reserve(out, n);
	for (size_t i = 0; i < n; i++) {
		const char *entity;
		switch (s[i]) {
		case '&':  entity = "&amp;"; break;
		case '<':  entity = "&lt;"; break;
		case '>':  entity = "&gt;"; break;
		case '"':  entity = "&quot;"; break;
		case '\'': entity = "&#39;"; break;
		default:   continue;
		}
		buf_add(out, s + run, i - run);
		buf_adds(out, entity);
		run = i + 1;
	}
	buf_add(out, s + run, n - run);
}

void
html_escape(struct buf *out, const char *s)
{
	html_escape_n(out, s, strlen(s));
}
