/*
 * fuzz_markdown.c - src/web/markdown.c on arbitrary bytes. Whatever the
 * input, the HTML may only contain the tags the renderer writes, and every
 * href must use an allowed scheme: raw HTML and javascript: links never pass.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/buf.h"
#include "web/markdown.h"

static const char *const tags[] = {
	"p>", "/p>", "br>", "hr>", "em>", "/em>", "strong>", "/strong>", "code>", "/code>",
	"pre>", "/pre>", "del>", "/del>", "u>", "/u>", "blockquote>", "/blockquote>",
	"ul>", "/ul>", "ol>", "ol start=\"", "/ol>", "li>", "/li>", "table>", "/table>",
	"thead>", "/thead>", "tbody>", "/tbody>", "tr>", "/tr>", "th>", "/th>", "td>", "/td>",
	"th class=\"align-left\">", "th class=\"align-center\">", "th class=\"align-right\">",
	"td class=\"align-left\">", "td class=\"align-center\">", "td class=\"align-right\">",
	"h1>", "h2>", "h3>", "h4>", "h5>", "h6>", "/h1>", "/h2>", "/h3>", "/h4>", "/h5>", "/h6>",
	"/a>", "a href=\"",
};

static void
check(const char *html, size_t len)
{
	for (const char *p = html; (p = memchr(p, '<', len - (size_t)(p - html))) != NULL; p++) {
		const char *t = p + 1;
		size_t i, n = sizeof tags / sizeof *tags;
		for (i = 0; i < n; i++)
			if (strncmp(t, tags[i], strlen(tags[i])) == 0)
				break;
		if (i == n)
			abort();	/* a tag the renderer never writes */
		if (strncmp(t, "a href=\"", 8) == 0 && strncasecmp(t + 8, "http://", 7) != 0 &&
		    strncasecmp(t + 8, "https://", 8) != 0 && strncasecmp(t + 8, "mailto:", 7) != 0)
			abort();	/* a link with another scheme */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf out = BUF_INIT;
	/* message bodies are NUL-terminated strings; so is the fuzzer's input here */
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	markdown_render(&out, text, size);
	free(text);
	if (out.data != NULL)
		check(out.data, out.len);
	buf_free(&out);
	return 0;
}
