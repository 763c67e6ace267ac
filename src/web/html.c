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

void
html_said(struct buf *out, const char *detail)
{
	size_t start = out->len;
	size_t field = strspn(detail, "abcdefghijklmnopqrstuvwxyz_");
	if (field > 0 && strncmp(detail + field, ": ", 2) == 0) {
		for (size_t i = 0; i < field; i++)
			buf_addc(out, detail[i] == '_' ? ' ' : detail[i]);
		detail += field;
	}
	html_escape(out, detail);
	if (out->len > start && out->data[start] >= 'a' && out->data[start] <= 'z')
		out->data[start] -= 'a' - 'A';
}
