/*
 * test_markdown.c - message bodies as safe HTML: raw HTML shown as text, links
 * only for http, https and mailto, images as links, line breaks kept, code blocks
 * keeping their lines, table cells aligned by class.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "util/buf.h"
#include "web/markdown.h"

static void
expect(const char *md, const char *html)
{
	struct buf out = BUF_INIT;
	markdown_render(&out, md, strlen(md));
	if (strcmp(out.data ? out.data : "", html) != 0)
		fail_msg("markdown %s\n got  %s\n want %s", md, out.data, html);
	buf_free(&out);
}

static void
test_inline(void **state)
{
	(void)state;
	expect("**bold** _em_ `code` ~~gone~~", "<p><strong>bold</strong> <em>em</em> "
	    "<code>code</code> <del>gone</del></p>");
	expect("a & b < c", "<p>a &amp; b &lt; c</p>");
	expect("one\ntwo", "<p>one<br>two</p>");
}

static void
test_raw_html_is_text(void **state)
{
	(void)state;
	expect("<script>alert(1)</script>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
	expect("<b onclick=\"x\">hi</b>", "<p>&lt;b onclick=&quot;x&quot;&gt;hi&lt;/b&gt;</p>");
}

static void
test_links(void **state)
{
	(void)state;
	expect("[x](https://a.example/?q=\"1\")", "<p><a href=\"https://a.example/?q=&quot;1&quot;\" "
	    "rel=\"nofollow noopener noreferrer\" target=\"_blank\">x</a></p>");
	expect("[x](javascript:alert(1))", "<p>x</p>");
	expect("[x](/relative)", "<p>x</p>");
	expect("[mail](mailto:a@b.c)", "<p><a href=\"mailto:a@b.c\" "
	    "rel=\"nofollow noopener noreferrer\" target=\"_blank\">mail</a></p>");
	/* images are never loaded: a link to them, with the alt text */
	expect("![cat](http://x/cat.png)", "<p><a href=\"http://x/cat.png\" "
	    "rel=\"nofollow noopener noreferrer\" target=\"_blank\">cat</a></p>");
}

static void
test_blocks(void **state)
{
	(void)state;
	expect("```\nline one\nline two\n```", "<pre><code>line one\nline two\n</code></pre>");
	expect("- a\n- b", "<ul><li>a</li><li>b</li></ul>");
	expect("3. c", "<ol start=\"3\"><li>c</li></ol>");
	expect("> q", "<blockquote><p>q</p></blockquote>");
	expect("# T", "<h1>T</h1>");
	expect("", "");
}

/* Tables: cells aligned by class (the pages' CSP allows no style attribute). */
static void
test_table_alignment(void **state)
{
	(void)state;
	expect("| a | b | c |\n|:--|:-:|--:|\n| 1 | 2 | 3 |",
	    "<table><thead><tr><th class=\"align-left\">a</th><th class=\"align-center\">b</th>"
	    "<th class=\"align-right\">c</th></tr></thead><tbody><tr><td class=\"align-left\">1</td>"
	    "<td class=\"align-center\">2</td><td class=\"align-right\">3</td></tr></tbody></table>");
	expect("| x |\n|---|\n| y |",
	    "<table><thead><tr><th>x</th></tr></thead><tbody><tr><td>y</td></tr></tbody></table>");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_raw_html_is_text),
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_blocks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
