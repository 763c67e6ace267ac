/*
 * markdown.c - Markdown to HTML with md4c's parser and Parley's own
 * renderer, so every attribute and every piece of text passes through
 * html_escape() and every URL through the scheme check; see markdown.h.
 */
#include "web/markdown.h"
#include "util/buf.h"
#include "web/html.h"

#include <ctype.h>
#include <md4c.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define LINK_DEPTH 8

struct renderer {
	struct buf	*out;
	const char	*start, *end;	/* the text being rendered */
	bool		 linked[LINK_DEPTH];	/* did this link/image open an <a>? */
	int		 depth;
};

static const char *const block_tags[] = {
	[MD_BLOCK_QUOTE] = "blockquote", [MD_BLOCK_UL] = "ul", [MD_BLOCK_OL] = "ol",
	[MD_BLOCK_LI] = "li", [MD_BLOCK_P] = "p", [MD_BLOCK_TABLE] = "table",
	[MD_BLOCK_THEAD] = "thead", [MD_BLOCK_TBODY] = "tbody", [MD_BLOCK_TR] = "tr",
	[MD_BLOCK_TH] = "th", [MD_BLOCK_TD] = "td",
};

static const char *const span_tags[] = {
	[MD_SPAN_EM] = "em", [MD_SPAN_STRONG] = "strong", [MD_SPAN_CODE] = "code",
	[MD_SPAN_DEL] = "del", [MD_SPAN_U] = "u",
};

static bool
allowed_url(const char *url, size_t n)
{
	static const char *const schemes[] = { "http://", "https://", "mailto:" };
	for (size_t i = 0; i < 3; i++) {
		size_t len = strlen(schemes[i]);
		if (n > len && strncasecmp(url, schemes[i], len) == 0)
			return true;
	}
	return false;
}

static const char *
align_name(MD_ALIGN align)
{
	return align == MD_ALIGN_LEFT ? "left" : align == MD_ALIGN_CENTER ? "center" : "right";
}

static int
enter_block(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct renderer *r = arg;
	if (type == MD_BLOCK_H)
		buf_printf(r->out, "<h%u>", ((MD_BLOCK_H_DETAIL *)detail)->level);
	else if (type == MD_BLOCK_CODE)
		buf_adds(r->out, "<pre><code>");
	else if (type == MD_BLOCK_HR)
		buf_adds(r->out, "<hr>");
	else if (type == MD_BLOCK_OL && ((MD_BLOCK_OL_DETAIL *)detail)->start != 1)
		buf_printf(r->out, "<ol start=\"%u\">", ((MD_BLOCK_OL_DETAIL *)detail)->start);
	else if ((type == MD_BLOCK_TH || type == MD_BLOCK_TD) &&
	    ((MD_BLOCK_TD_DETAIL *)detail)->align != MD_ALIGN_DEFAULT)
		/* a class, not a style attribute: the pages' CSP allows no inline style */
		buf_printf(r->out, "<%s class=\"align-%s\">", block_tags[type],
		    align_name(((MD_BLOCK_TD_DETAIL *)detail)->align));
	else if ((size_t)type < sizeof block_tags / sizeof *block_tags && block_tags[type])
		buf_printf(r->out, "<%s>", block_tags[type]);
	return 0;
}

static int
leave_block(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct renderer *r = arg;
	if (type == MD_BLOCK_H)
		buf_printf(r->out, "</h%u>", ((MD_BLOCK_H_DETAIL *)detail)->level);
	else if (type == MD_BLOCK_CODE)
		buf_adds(r->out, "</code></pre>");
	else if ((size_t)type < sizeof block_tags / sizeof *block_tags && block_tags[type])
		buf_printf(r->out, "</%s>", block_tags[type]);
	return 0;
}

/* Opens <a> for a link or image whose URL is allowed; remembers whether it did. */
static void
enter_link(struct renderer *r, const MD_ATTRIBUTE *url)
{
	bool ok = url->size <= (size_t)(r->end - r->start) && allowed_url(url->text, url->size);
	if (ok) {
		buf_adds(r->out, "<a href=\"");
		html_escape_n(r->out, url->text, url->size);
		buf_adds(r->out, "\" rel=\"nofollow noopener noreferrer\" target=\"_blank\">");
	}
	if (r->depth < LINK_DEPTH)
		r->linked[r->depth] = ok;
	r->depth++;
}

static void
leave_link(struct renderer *r)
{
	if (r->depth == 0)
		return;		/* never below the first level, whatever md4c reports */
	r->depth--;
	if (r->depth < LINK_DEPTH && r->linked[r->depth])
		buf_adds(r->out, "</a>");
}

static int
enter_span(MD_SPANTYPE type, void *detail, void *arg)
{
	struct renderer *r = arg;
	if (type == MD_SPAN_A)
		enter_link(r, &((MD_SPAN_A_DETAIL *)detail)->href);
	else if (type == MD_SPAN_IMG)
		enter_link(r, &((MD_SPAN_IMG_DETAIL *)detail)->src);
	else if ((size_t)type < sizeof span_tags / sizeof *span_tags && span_tags[type])
		buf_printf(r->out, "<%s>", span_tags[type]);
	return 0;
}

static int
leave_span(MD_SPANTYPE type, void *detail, void *arg)
{
	struct renderer *r = arg;
	(void)detail;
	if (type == MD_SPAN_A || type == MD_SPAN_IMG)
		leave_link(r);
	else if ((size_t)type < sizeof span_tags / sizeof *span_tags && span_tags[type])
		buf_printf(r->out, "</%s>", span_tags[type]);
	return 0;
}

/* An entity md4c recognised (&name; &#N; &#xN;) is safe to pass on as it is. */
static bool
plain_entity(const char *s, size_t n)
{
	if (n < 3 || s[0] != '&' || s[n - 1] != ';')
		return false;
	for (size_t i = 1; i < n - 1; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '#')
			return false;
	return true;
}

static int
text(MD_TEXTTYPE type, const MD_CHAR *s, MD_SIZE n, void *arg)
{
	struct renderer *r = arg;
	/*
	 * md4c 0.4.8 has been seen (fuzzing) to report a bogus, huge size. A piece
	 * of text is never longer than the input (it may live elsewhere: md4c passes
	 * its own "\n" for the line ends of code blocks).
	 */
	if (n > (size_t)(r->end - r->start))
		return 0;
	switch (type) {
	case MD_TEXT_NULLCHAR:
		buf_adds(r->out, "\xEF\xBF\xBD");
		break;
	case MD_TEXT_BR:
	case MD_TEXT_SOFTBR:
		buf_adds(r->out, "<br>");
		break;
	case MD_TEXT_ENTITY:
		if (plain_entity(s, n))
			buf_add(r->out, s, n);
		else
			html_escape_n(r->out, s, n);
		break;
	default:
		html_escape_n(r->out, s, n);
		break;
	}
	return 0;
}

void
markdown_render(struct buf *out, const char *s, size_t n)
{
	struct renderer r = { .out = out, .start = s, .end = s + n };
	MD_PARSER parser = {
		.abi_version = 0,
		.flags = MD_FLAG_NOHTML | MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH |
		    MD_FLAG_PERMISSIVEURLAUTOLINKS,
		.enter_block = enter_block, .leave_block = leave_block,
		.enter_span = enter_span, .leave_span = leave_span, .text = text,
	};
	size_t before = out->len;
	if (md_parse(s, (MD_SIZE)n, &parser, &r) != 0) {
		out->len = before;	/* md4c gave up (out of memory): show the text */
		if (out->data != NULL)
			out->data[before] = '\0';
		html_escape_n(out, s, n);
	}
}
