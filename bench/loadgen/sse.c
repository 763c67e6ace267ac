/*
 * sse.c - the exact HTTP/SSE parser of a subscriber process. sub.c hands it
 * the bytes each subscriber reads: head_feed takes the response head,
 * body_feed the body (chunked or not), which is cut into lines (\n, \r\n or
 * \r) and fields; a blank line dispatches the event. Here each event is also
 * counted: a post's delivery and latency, its order and duplicates, tokens
 * and finished bot replies (struct result_msg in C.r).
 */
#define _GNU_SOURCE
#include "sub.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* the event being dispatched was already counted out of order by its id */
static bool frame_out_of_order;

/* Parses "A" or "A:B" (nchan: "time:tag", maybe with brackets). */
static void
parse_id(const char *p, uint64_t *hi, uint64_t *lo)
{
	*hi = 0;
	*lo = 0;
	while (*p && !isdigit((unsigned char)*p))
		p++;
	while (isdigit((unsigned char)*p))
		*hi = *hi * 10 + (uint64_t)(*p++ - '0');
	while (*p && !isdigit((unsigned char)*p))
		p++;
	while (isdigit((unsigned char)*p))
		*lo = *lo * 10 + (uint64_t)(*p++ - '0');
}

static bool
json_str_is(const char *d, size_t n, const char *key, const char *val)
{
	size_t l;
	const char *v = json_str(d, n, key, &l);
	return v != NULL && l == strlen(val) && memcmp(v, val, l) == 0;
}

/* A post's body: "<ts> <seq> ...". */
static void
on_post(struct sub *s, const char *b, size_t n)
{
	const char *end = b + n;
	int64_t ts = 0;
	long seq = 0;
	const char *p = b;
	if (p >= end || !isdigit((unsigned char)*p)) {
		C.r.bad_events++;
		return;
	}
	while (p < end && isdigit((unsigned char)*p))
		ts = ts * 10 + (*p++ - '0');
	if (p >= end || *p != ' ' || p + 1 >= end || !isdigit((unsigned char)p[1])) {
		C.r.bad_events++;
		return;
	}
	p++;
	while (p < end && isdigit((unsigned char)*p))
		seq = seq * 10 + (*p++ - '0');
	int want = posts_for_chat(s->chat);
	if (seq >= want) {
		C.r.bad_events++;
		return;
	}
	C.r.deliveries++;
	h_add(&C.r.lat, cur_ns - ts);
	if (s->cross) {
		C.r.deliveries_x++;
		h_add(&C.r.lat_x, cur_ns - ts);
	}
	if (C.r.first_delivery_ns == 0 || cur_ns < C.r.first_delivery_ns)
		C.r.first_delivery_ns = cur_ns;
	if (cur_ns > C.r.last_delivery_ns)
		C.r.last_delivery_ns = cur_ns;
	s->post_ts = ts;
	if (s->got == NULL)
		s->got = xcalloc((size_t)want, 1);
	if (s->got[seq]) {
		C.r.duplicates++;
		return;
	}
	s->got[seq] = 1;
	s->ngot++;
	if (C.check_client_order && seq < s->last_seq && !frame_out_of_order)
		C.r.out_of_order++;
	if (seq > s->last_seq)
		s->last_seq = (int)seq;
	sub_check_synced(s);
	sub_check_complete(s);
}

/* Order: event ids on one stream must increase. */
static void
check_id_order(struct sub *s, const char *type)
{
	frame_out_of_order = false;
	if (!s->id_in_frame)
		return;
	s->id[s->idlen] = 0;
	uint64_t hi, lo;
	parse_id(s->id, &hi, &lo);
	bool snapshot = O.target == T_PARLEY && strcmp(type, "snapshot") == 0;
	if (s->have_id && !snapshot &&
	    (hi < s->last_hi || (hi == s->last_hi && lo <= s->last_lo))) {
		C.r.out_of_order++;
		frame_out_of_order = true;
	}
	/* --storm: a chat's event ids go 1, 2, 3...: none may be skipped */
	if (O.storm && s->have_id && !snapshot && hi > s->last_hi + 1)
		C.r.id_gaps++;
	s->have_id = true;
	s->last_hi = hi;
	s->last_lo = lo;
}

/* One of Parley's events: type, its data d of n bytes. */
static void
on_parley_event(struct sub *s, const char *type, const char *d, size_t n)
{
	if (strcmp(type, "snapshot") == 0) {
		if (s->resuming)
			C.r.resume_snapshots++;	/* the resume lost its place */
		sub_ready(s);
	} else if (strcmp(type, "message") == 0) {
		if (!json_str_is(d, n, "\"kind\"", "bot") && !json_str_is(d, n, "\"kind\"", "system")) {
			size_t bl;
			const char *b = json_str(d, n, "\"body\"", &bl);
			if (b != NULL)
				on_post(s, b, bl);
			else
				C.r.bad_events++;
		}
	} else if (O.count_event != NULL && strcmp(type, O.count_event) == 0) {
		C.r.tokens++;
		if (s->post_ts != 0)
			h_add(&C.r.tok, cur_ns - s->post_ts);
		if (cur_ns > C.r.last_token_ns)
			C.r.last_token_ns = cur_ns;
	} else if (strcmp(type, "message-update") == 0 && O.bot_replies > 0) {
		if (json_str_is(d, n, "\"kind\"", "bot") &&
		    (json_str_is(d, n, "\"state\"", "complete") ||
		     json_str_is(d, n, "\"state\"", "stopped") ||
		     json_str_is(d, n, "\"state\"", "failed"))) {
			s->bot_done++;
			C.r.bot_done++;
			sub_check_complete(s);
		}
	}
}

/* A blank line: the event gathered so far, if it has data. */
static void
dispatch(struct sub *s)
{
	if (s->dlen == 0) {
		s->evlen = 0;
		s->id_in_frame = false;
		return;
	}
	s->dlen--;	/* the last "\n" */
	s->data[s->dlen] = 0;
	s->ev[s->evlen] = 0;
	const char *type = s->evlen ? s->ev : "message";
	check_id_order(s, type);
	if (O.target == T_NCHAN) {
		if (strcmp(type, "message") == 0)
			on_post(s, s->data, s->dlen);
	} else {
		on_parley_event(s, type, s->data, s->dlen);
	}
	s->dlen = 0;
	s->evlen = 0;
	s->id_in_frame = false;
}

static void
data_append(struct sub *s, const char *p, size_t n)
{
	if (s->dlen + n + 2 > s->dcap) {
		s->dcap = (s->dlen + n + 2) * 2;
		if (s->dcap < 256)
			s->dcap = 256;
		s->data = xrealloc(s->data, s->dcap);
	}
	memcpy(s->data + s->dlen, p, n);
	s->dlen += n;
	s->data[s->dlen++] = '\n';
}

/* One whole line of the stream, without its line end. */
static void
sse_line(struct sub *s, const char *p, size_t n)
{
	if (n == 0) {
		dispatch(s);
		return;
	}
	if (p[0] == ':')
		return;		/* comment, e.g. ": keepalive" */
	const char *c = memchr(p, ':', n);
	size_t fl = c ? (size_t)(c - p) : n;
	const char *v = c ? c + 1 : p + n;
	size_t vl = (size_t)(p + n - v);
	if (vl > 0 && *v == ' ') {
		v++;
		vl--;
	}
	if (fl == 4 && memcmp(p, "data", 4) == 0) {
		data_append(s, v, vl);
	} else if (fl == 5 && memcmp(p, "event", 5) == 0) {
		size_t l = vl < sizeof s->ev - 1 ? vl : sizeof s->ev - 1;
		memcpy(s->ev, v, l);
		s->evlen = (uint8_t)l;
	} else if (fl == 2 && memcmp(p, "id", 2) == 0) {
		if (memchr(v, 0, vl) == NULL) {
			size_t l = vl < sizeof s->id - 1 ? vl : sizeof s->id - 1;
			memcpy(s->id, v, l);
			s->idlen = (uint8_t)l;
			s->id_in_frame = true;
		}
	}
	/* retry and unknown fields are ignored */
}

/* Keeps the start of a line that the next read completes. */
static void
line_append(struct sub *s, const char *p, size_t n)
{
	if (s->llen + n > s->lcap) {
		s->lcap = (s->llen + n) * 2;
		if (s->lcap < 256)
			s->lcap = 256;
		s->line = xrealloc(s->line, s->lcap);
	}
	memcpy(s->line + s->llen, p, n);
	s->llen += n;
}

/* Feeds decoded body bytes to the SSE line parser. */
static void
sse_feed(struct sub *s, const char *p, size_t n)
{
	const char *end = p + n;
	while (p < end) {
		if (s->skip_lf) {
			s->skip_lf = false;
			if (*p == '\n') {
				p++;
				continue;
			}
		}
		const char *e = p;
		while (e < end && *e != '\n' && *e != '\r')
			e++;
		if (e == end) {
			line_append(s, p, (size_t)(e - p));	/* partial line: keep it */
			return;
		}
		if (*e == '\r')
			s->skip_lf = true;
		if (s->llen > 0) {
			line_append(s, p, (size_t)(e - p));
			size_t ll = s->llen;
			s->llen = 0;
			sse_line(s, s->line, ll);
		} else {
			sse_line(s, p, (size_t)(e - p));
		}
		if (s->state != S_BODY)
			return;
		p = e + 1;
	}
}

/* A byte of a chunk's size line; returns false if malformed. */
static bool
chunk_size_byte(struct sub *s, char c)
{
	if (isxdigit((unsigned char)c)) {
		int v = isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
		if (s->crem > (UINT64_MAX >> 4))
			return false;
		s->crem = s->crem * 16 + (uint64_t)v;
	} else if (c == ';' || c == ' ' || c == '\t') {
		s->cstate = C_EXT;
	} else if (c == '\r') {
		s->cstate = C_SIZE_LF;
	} else if (c == '\n') {
		s->cstate = s->crem ? C_DATA : C_TRAILER;
	} else {
		return false;
	}
	return true;
}

/*
 * A byte of chunked framing, anywhere but in a chunk's data: returns 0 when
 * it was taken, -1 if it is malformed, 1 at the end of the stream.
 */
static int
chunk_frame_byte(struct sub *s, char c)
{
	switch (s->cstate) {
	case C_SIZE:
		return chunk_size_byte(s, c) ? 0 : -1;
	case C_EXT:
		if (c == '\r')
			s->cstate = C_SIZE_LF;
		else if (c == '\n')
			s->cstate = s->crem ? C_DATA : C_TRAILER;
		return 0;
	case C_SIZE_LF:
		if (c != '\n')
			return -1;
		s->cstate = s->crem ? C_DATA : C_TRAILER;
		return 0;
	case C_DATA_CR:
		if (c == '\r')
			s->cstate = C_DATA_LF;
		else if (c == '\n')
			s->cstate = C_SIZE;
		else
			return -1;
		return 0;
	case C_DATA_LF:
		if (c != '\n')
			return -1;
		s->cstate = C_SIZE;
		return 0;
	case C_TRAILER:
		/* the end of the stream: "0\r\n\r\n" */
		s->cstate = C_END;
		return 1;
	default:	/* C_END */
		return 1;
	}
}

/* Decodes chunked transfer encoding; returns false at a malformed chunk. */
bool
body_feed(struct sub *s, const char *p, size_t n)
{
	if (!s->chunked) {
		sse_feed(s, p, n);
		return true;
	}
	const char *end = p + n;
	while (p < end && s->state == S_BODY) {
		if (s->cstate == C_DATA) {
			size_t take = (size_t)(end - p);
			if (take > s->crem)
				take = (size_t)s->crem;
			sse_feed(s, p, take);
			p += take;
			s->crem -= take;
			if (s->crem == 0)
				s->cstate = C_DATA_CR;
			continue;
		}
		int rc = chunk_frame_byte(s, *p);
		if (rc != 0)
			return rc > 0;
		p++;
	}
	return true;
}

/*
 * The response head, as it comes: *used is how many of the n bytes belong to
 * it. Returns false on a status other than 200 or a head over 64 KiB.
 */
bool
head_feed(struct sub *s, const char *p, size_t n, size_t *used)
{
	size_t old = s->hlen;
	s->hbuf = xrealloc(s->hbuf, s->hlen + n + 1);
	memcpy(s->hbuf + s->hlen, p, n);
	s->hlen += n;
	s->hbuf[s->hlen] = 0;
	char *e = strstr(s->hbuf + (old > 3 ? old - 3 : 0), "\r\n\r\n");
	if (e == NULL) {
		*used = n;
		if (s->hlen > 65536)
			return false;
		return true;
	}
	size_t hl = (size_t)(e - s->hbuf) + 4;
	*used = hl - old;
	int code = 0;
	if (sscanf(s->hbuf, "HTTP/1.%*d %d", &code) != 1 || code != 200) {
		logv("subscriber %d: status %d", s->idx, code);
		return false;
	}
	for (char *l = strstr(s->hbuf, "\r\n"); l != NULL && l < e; l = strstr(l + 2, "\r\n")) {
		char *h = l + 2;
		if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
			char *v = h + 18;
			char *le = strstr(v, "\r\n");
			char save = *le;
			*le = 0;
			if (strcasestr(v, "chunked") != NULL)
				s->chunked = true;
			*le = save;
		}
	}
	free(s->hbuf);
	s->hbuf = NULL;
	s->hlen = 0;
	s->state = S_BODY;
	if (s->resuming && !s->ready) {	/* --storm: a resume sends no snapshot */
		h_add(&C.r.reopen, cur_ns - s->started_ns);
		if (cur_ns > C.r.last_reopen_ns)
			C.r.last_reopen_ns = cur_ns;
	}
	if (O.target == T_NCHAN || s->resuming)
		sub_ready(s);
	return true;
}

/* A new connection starts with an empty parser (the buffers are kept). */
void
sub_reset_parser(struct sub *s)
{
	free(s->hbuf);
	s->hbuf = NULL;
	s->hlen = 0;
	s->llen = 0;
	s->dlen = 0;
	s->evlen = 0;
	s->idlen = 0;
	s->id_in_frame = false;
	s->skip_lf = false;
	s->chunked = false;
	s->cstate = C_SIZE;
	s->crem = 0;
}
