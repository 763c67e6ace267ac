/*
 * text.c - UTF-8 validation and trimming; see text.h.
 */
#include "util/text.h"
#include "util/buf.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Length of the sequence starting with lead byte c, or 0 when c cannot lead. */
static size_t
utf8_seq_len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

bool
text_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t len = utf8_seq_len(s[i]);
		if (len == 0 || s[i] == 0 || i + len > n)
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		/* overlong 3/4-byte forms, surrogates, and code points above U+10FFFF */
		if (len == 3 && s[i] == 0xe0 && s[i + 1] < 0xa0)
			return false;
		if (len == 3 && s[i] == 0xed && s[i + 1] >= 0xa0)
			return false;
		if (len == 4 && s[i] == 0xf0 && s[i + 1] < 0x90)
			return false;
		if (len == 4 && s[i] == 0xf4 && s[i + 1] >= 0x90)
			return false;
		i += len;
	}
	return true;
}

size_t
text_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

char *
text_trim(const char *s)
{
	while (is_space((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && is_space((unsigned char)s[n - 1]))
		n--;
	return xstrndup(s, n);
}

bool
text_blank(const char *s)
{
	for (; *s; s++)
		if (!is_space((unsigned char)*s))
			return false;
	return true;
}

size_t
text_utf8_prefix(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	size_t cut = max;
	while (cut > 0 && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;		/* s[cut] continues a character: cut before it starts */
	return cut;
}

void
text_one_line(char *dst, size_t dstlen, const char *src)
{
	size_t n = text_utf8_prefix(src, strlen(src), dstlen - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	dst[n] = '\0';
}

void
text_hide(char *text, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *at;
	if (n < 4)
		return;
	while ((at = strstr(text, secret)) != NULL) {
		memcpy(at, "***", 3);
		memmove(at + 3, at + n, strlen(at + n) + 1);
	}
}

int
text_parse_u64(const char *s, uint64_t *out)
{
	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

char *
text_card_macros(const char *s, const char *name, const char *user)
{
	struct buf out = BUF_INIT;
	while (*s != '\0') {
		if (strncasecmp(s, "{{char}}", 8) == 0) {
			buf_add(&out, name, strlen(name));
			s += 8;
		} else if (strncasecmp(s, "{{user}}", 8) == 0) {
			buf_add(&out, user, strlen(user));
			s += 8;
		} else
			buf_addc(&out, *s++);
	}
	return buf_steal(&out);
}
