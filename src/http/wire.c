/*
 * wire.c - the strict reader of request bytes; see wire.h. Lines end with
 * CRLF or a bare LF (as evhttp reads them); a CR anywhere else is refused.
 */
#include "http/wire.h"
#include "limits.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const methods[] = { "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
    "OPTIONS" };

static bool
refuse(struct wire *w, int status, const char *reason)
{
	w->state = WIRE_REFUSED;
	w->status = status;
	snprintf(w->reason, sizeof w->reason, "%s", reason);
	return false;
}

static bool
is_tchar(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Visible characters, spaces, tabs and obs-text: what a field value may hold. */
static bool
is_field_text(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return false;
	}
	return true;
}

/* host[:port] of an absolute-form target: a name, an IPv4 address or [an IPv6 address]. */
static bool
authority_ok(const char *s, size_t n)
{
	size_t host = n;
	if (n > 0 && s[0] == '[') {
		const char *close = memchr(s, ']', n);
		if (close == NULL || close == s + 1)
			return false;
		for (const char *c = s + 1; c < close; c++)
			if (!isxdigit((unsigned char)*c) && *c != ':' && *c != '.')
				return false;
		host = (size_t)(close + 1 - s);
	} else {
		for (host = 0; host < n && s[host] != ':'; host++)
			if (!isalnum((unsigned char)s[host]) && strchr("-._~", s[host]) == NULL)
				return false;
		if (host == 0)
			return false;
	}
	if (host == n)
		return true;
	if (s[host] != ':' || host + 1 == n || host + 6 < n)
		return false;
	for (size_t i = host + 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * The request target in a form evhttp reads: a path ("/..."), "*" for
 * OPTIONS, or an absolute http(s) URL with a sound host.
 */
static bool
target_ok(const char *t, size_t n, bool options)
{
	if (n == 1 && t[0] == '*')
		return options;
	if (n > 0 && t[0] == '/')
		return true;
	size_t scheme = n > 7 && strncasecmp(t, "http://", 7) == 0 ? 7 :
	    n > 8 && strncasecmp(t, "https://", 8) == 0 ? 8 : 0;
	if (scheme == 0)
		return false;
	size_t end = scheme;
	while (end < n && t[end] != '/' && t[end] != '?')
		end++;
	return authority_ok(t + scheme, end - scheme);
}

/* A new request starts: what the last one told about its body is forgotten. */
static void
next_request(struct wire *w)
{
	w->state = WIRE_REQUEST_LINE;
	w->head_bytes = 0;
	w->body_bytes = 0;
	w->remaining = 0;
	w->length = 0;
	w->lengths = 0;
	w->hosts = 0;
	w->chunked = false;
	w->head = false;
	w->path[0] = '\0';
}

void
wire_init(struct wire *w)
{
	memset(w, 0, sizeof *w);
	next_request(w);
}

void
wire_free(struct wire *w)
{
	buf_free(&w->line);
}

/* ---------- the head ---------- */

static bool
request_line(struct wire *w, const char *s, size_t n)
{
	const char *sp1 = memchr(s, ' ', n);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', n - (size_t)(sp2 + 1 - s)))
		return refuse(w, 400, "malformed request line");
	for (const char *c = s; c < sp1; c++)
		if (!is_tchar((unsigned char)*c))
			return refuse(w, 400, "malformed request line");
	size_t target = (size_t)(sp2 - sp1 - 1), version = n - (size_t)(sp2 + 1 - s);
	if (!is_field_text(sp1 + 1, target) ||
	    !target_ok(sp1 + 1, target, sp1 - s == 7 && strncmp(s, "OPTIONS", 7) == 0))
		return refuse(w, 400, "malformed request target");
	size_t path = strcspn(sp1 + 1, "? ");
	snprintf(w->path, sizeof w->path, "%.*s", (int)(path < sizeof w->path ? path :
	    sizeof w->path - 1), sp1 + 1);
	if (version != 8 || strncmp(sp2 + 1, "HTTP/", 5) != 0 || !isdigit((unsigned char)sp2[6]) ||
	    sp2[7] != '.' || !isdigit((unsigned char)sp2[8]))
		return refuse(w, 400, "malformed HTTP version");
	if (strncmp(sp2 + 1, "HTTP/1.1", 8) != 0 && strncmp(sp2 + 1, "HTTP/1.0", 8) != 0)
		return refuse(w, 505, "only HTTP/1.0 and HTTP/1.1 are served");
	w->http11 = sp2[8] == '1';
	w->head = sp1 - s == 4 && strncmp(s, "HEAD", 4) == 0;
	for (size_t i = 0; i < sizeof methods / sizeof *methods; i++)
		if ((size_t)(sp1 - s) == strlen(methods[i]) && strncmp(s, methods[i], strlen(methods[i])) == 0)
			return true;
	return refuse(w, 501, "method not supported");
}

static bool
content_length(struct wire *w, const char *v, size_t n)
{
	uint64_t len = 0;
	if (n == 0 || n > 18)
		return refuse(w, 400, "malformed Content-Length");
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)v[i]))
			return refuse(w, 400, "malformed Content-Length");
		len = len * 10 + (uint64_t)(v[i] - '0');
	}
	if (w->lengths++ > 0 && len != w->length)
		return refuse(w, 400, "conflicting Content-Length headers");
	w->length = len;
	return true;
}

/* Expect: 100-continue is the one expectation evhttp meets; any other is 417, here. */
static bool
expectation(struct wire *w, const char *v, size_t n)
{
	if (n != 12 || strncasecmp(v, "100-continue", 12) != 0)
		return refuse(w, 417, "only Expect: 100-continue is understood");
	return true;
}

/*
 * A header (or trailer) field; semantics: only for the head's. Whitespace
 * before a value that holds a tab is dropped: evhttp skips only spaces, and
 * would read the tab as part of the value.
 */
static bool
field(struct wire *w, const char *s, size_t n, bool head, wire_drop_fn drop, void *arg)
{
	const char *colon = memchr(s, ':', n);
	if (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		return refuse(w, 400, "folded header lines are not accepted");
	if (colon == NULL || colon == s)
		return refuse(w, 400, "malformed header line");
	for (const char *c = s; c < colon; c++)
		if (!is_tchar((unsigned char)*c))
			return refuse(w, 400, "a header name is not a token");
	size_t name = (size_t)(colon - s);
	const char *v = colon + 1, *end = s + n;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	if (memchr(colon + 1, '\t', (size_t)(v - colon - 1)) != NULL)
		drop(arg, w->line_start + (uint64_t)(colon + 1 - s), (size_t)(v - colon - 1));
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (!is_field_text(v, (size_t)(end - v)))
		return refuse(w, 400, "a header value holds a control character");
	if (!head)
		return true;
	if (name == 14 && strncasecmp(s, "Content-Length", 14) == 0)
		return content_length(w, v, (size_t)(end - v));
	if (name == 4 && strncasecmp(s, "Host", 4) == 0)
		w->hosts++;
	if (name == 6 && strncasecmp(s, "Expect", 6) == 0)
		return expectation(w, v, (size_t)(end - v));
	if (name == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
		if (w->chunked || (size_t)(end - v) != 7 || strncasecmp(v, "chunked", 7) != 0)
			return refuse(w, 501, "only the chunked transfer coding is accepted");
		w->chunked = true;
	}
	return true;
}

/* The empty line after the headers: where the body is, and whether the head holds together. */
/* How large this request's body may be. */
static uint64_t
body_limit(const struct wire *w)
{
	return strcmp(w->path, WIRE_UPLOAD_PATH) == 0 ? LIMIT_UPLOAD_BYTES : LIMIT_BODY_BYTES;
}

static bool
head_end(struct wire *w)
{
	if (w->chunked && w->lengths > 0)
		return refuse(w, 400, "Content-Length and Transfer-Encoding together");
	if (w->chunked && !w->http11)
		return refuse(w, 400, "chunked bodies need HTTP/1.1");
	if (w->hosts > 1)
		return refuse(w, 400, "more than one Host header");
	if (w->http11 && w->hosts == 0)
		return refuse(w, 400, "an HTTP/1.1 request needs one Host header");
	/* evhttp reads no body for HEAD: what follows would be read as another request */
	if (w->head && (w->chunked || w->length > 0))
		return refuse(w, 400, "a HEAD request has no body");
	if (w->chunked) {
		w->state = WIRE_CHUNK_SIZE;
		return true;
	}
	if (w->length > body_limit(w))
		return refuse(w, 413, "request body is too large");
	if (w->length == 0)
		next_request(w);
	else {
		w->state = WIRE_BODY;
		w->remaining = w->length;
	}
	return true;
}

/* ---------- chunks ---------- */

static int
hex_value(char c)
{
	if (isdigit((unsigned char)c))
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* "SIZE[;ext...]": an extension is dropped before evhttp reads the line. */
static bool
chunk_size(struct wire *w, const char *s, size_t n, wire_drop_fn drop, void *arg)
{
	uint64_t size = 0;
	size_t i = 0;
	for (; i < n && hex_value(s[i]) >= 0; i++) {
		if (i == 16)
			return refuse(w, 400, "malformed chunk size");	/* past 64 bits */
		size = size * 16 + (uint64_t)hex_value(s[i]);
	}
	size_t ext = i;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (ext == 0 || (i < n && s[i] != ';') || (i == n && i > ext) ||
	    !is_field_text(s + i, n - i))
		return refuse(w, 400, "malformed chunk size");
	if (ext < n)
		drop(arg, w->line_start + ext, n - ext);
	w->body_bytes += size;
	if (w->body_bytes > body_limit(w))
		return refuse(w, 413, "request body is too large");
	w->remaining = size;
	w->state = size > 0 ? WIRE_CHUNK_DATA : WIRE_TRAILER;
	return true;
}

/* ---------- lines ---------- */

/* A whole line (without its end) in the state it belongs to. */
static bool
line(struct wire *w, wire_drop_fn drop, void *arg)
{
	const char *s = w->line.data ? w->line.data : "";
	size_t n = w->line.len;
	switch (w->state) {
	case WIRE_REQUEST_LINE:
		if (n == 0) {	/* empty lines before a request are ignored: evhttp must not see them */
			drop(arg, w->line_start, (size_t)(w->offset - w->line_start + 1));
			return true;
		}
		w->state = WIRE_HEADER;
		return request_line(w, s, n);
	case WIRE_HEADER:
		return n == 0 ? head_end(w) : field(w, s, n, true, drop, arg);
	case WIRE_CHUNK_SIZE:
		return chunk_size(w, s, n, drop, arg);
	case WIRE_CHUNK_END:
		if (n != 0)
			return refuse(w, 400, "a chunk's data is longer than its size");
		w->state = WIRE_CHUNK_SIZE;
		return true;
	case WIRE_TRAILER:
		if (n == 0)
			next_request(w);
		return n == 0 || field(w, s, n, false, drop, arg);
	default:
		return true;
	}
}

/* Too long a line, or too big a head: how to refuse it. */
static bool
oversized(struct wire *w)
{
	bool head = w->state == WIRE_REQUEST_LINE || w->state == WIRE_HEADER ||
	    w->state == WIRE_TRAILER;
	if (w->state == WIRE_REQUEST_LINE)
		return refuse(w, 414, "the request line is too long");
	return head ? refuse(w, 431, "request headers are too large") :
	    refuse(w, 400, "malformed chunk size");
}

/* One byte of a line. */
static bool
line_byte(struct wire *w, char c, wire_drop_fn drop, void *arg)
{
	if (w->after_cr && c != '\n')
		return refuse(w, 400, "a CR not followed by LF");
	if (w->line.len == 0 && !w->after_cr)
		w->line_start = w->offset;
	w->head_bytes++;
	if (w->head_bytes > LIMIT_HEADER_BYTES || w->line.len >= LIMIT_HEADER_BYTES)
		return oversized(w);
	if (c == '\r') {
		w->after_cr = true;
		return true;
	}
	if (c != '\n') {
		buf_addc(&w->line, c);
		return true;
	}
	w->after_cr = false;
	if (w->state == WIRE_CHUNK_SIZE || w->state == WIRE_CHUNK_END)
		w->head_bytes = 0;	/* chunk lines are not counted as a head */
	bool ok = line(w, drop, arg);
	buf_reset(&w->line);
	return ok;
}

/* Body bytes: as many of p[0..n) as the body or chunk still has. */
static size_t
data(struct wire *w, size_t n)
{
	size_t take = n < w->remaining ? n : (size_t)w->remaining;
	w->remaining -= take;
	if (w->remaining == 0) {
		if (w->state == WIRE_BODY)
			next_request(w);
		else
			w->state = WIRE_CHUNK_END;
	}
	return take;
}

bool
wire_feed(struct wire *w, const char *p, size_t n, wire_drop_fn drop, void *arg)
{
	size_t i = 0;
	while (i < n && w->state != WIRE_REFUSED) {
		size_t used = 1;
		if (w->state == WIRE_BODY || w->state == WIRE_CHUNK_DATA)
			used = data(w, n - i);
		else
			line_byte(w, p[i], drop, arg);
		w->offset += used;
		i += used;
	}
	return w->state != WIRE_REFUSED;
}
