/*
 * builtin.c - the offline bots: echo, eliza and dice. The whole reply is
 * composed at once, then typed out word by word on a timer, through the
 * same sink a model server's tokens take.
 */
#include "backends/backend_impl.h"
#include "backends/dice.h"
#include "backends/eliza.h"
#include "util/xmalloc.h"

#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct builtin_job {
	struct reply_job	 job;		/* first: the common part */
	char			*text;		/* the whole reply */
	size_t			 sent;		/* bytes typed so far */
	struct event		*tick;
};

/* The newest person's message in the context, or "" when there is none. */
static const char *
last_person_text(json_t *messages)
{
	for (size_t i = json_array_size(messages); i-- > 0;) {
		json_t *m = json_array_get(messages, i);
		const char *kind = json_string_value(json_object_get(m, "kind"));
		if (kind != NULL && strcmp(kind, "person") == 0)
			return json_string_value(json_object_get(m, "body"));
	}
	return "";
}

static uint32_t
dice_rng(void *state, uint32_t sides)
{
	(void)state;
	uint32_t v, limit = UINT32_MAX - UINT32_MAX % sides;
	do {
		if (getrandom(&v, sizeof v, 0) != sizeof v)
			v = (uint32_t)random();
	} while (v >= limit);
	return 1 + v % sides;
}

static char *
compose(const struct reply_context *ctx)
{
	const char *backend = json_string_value(json_object_get(ctx->bot, "backend"));
	const char *text = last_person_text(ctx->messages);
	if (strcmp(backend, "eliza") == 0) {
		/* another alternative of the message takes another of Eliza's answers */
		struct eliza_state state = { .turn = (unsigned)ctx->seq + ctx->attempt };
		return eliza_reply(text, &state);
	}
	if (strcmp(backend, "dice") == 0)
		return dice_reply(text, dice_rng, NULL);
	return xstrdup(*text ? text : "(nothing to echo yet)");
}

/* The next piece to type: a word and the white space after it. */
static size_t
next_piece(const char *s)
{
	size_t n = 0;
	while (s[n] == ' ' || s[n] == '\n' || s[n] == '\t')
		n++;
	while (s[n] && s[n] != ' ' && s[n] != '\n' && s[n] != '\t')
		n++;
	return n;
}

static void
type_next(evutil_socket_t fd, short what, void *arg)
{
	struct builtin_job *b = arg;
	(void)fd;
	(void)what;
	size_t n = next_piece(b->text + b->sent);
	if (n == 0) {
		backend_job_end(&b->job, NULL);
		return;
	}
	size_t at = b->sent;
	b->sent += n;
	if (!backend_job_text(&b->job, b->text + at, n))
		return;		/* halted: the timer stays off */
	unsigned ms = b->job.be->opts.typing_ms;
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(b->tick, &tv);
}

static void
halt(struct reply_job *job)
{
	struct builtin_job *b = (struct builtin_job *)job;
	evtimer_del(b->tick);
}

static void
release(struct reply_job *job)
{
	struct builtin_job *b = (struct builtin_job *)job;
	event_free(b->tick);
	free(b->text);
	free(b);
}

struct reply_job *
builtin_start(struct backends *be, const struct reply_context *ctx, struct reply_sink sink)
{
	struct builtin_job *b = xcalloc(1, sizeof *b);
	backend_job_init(be, &b->job, sink, halt, release);
	b->text = compose(ctx);
	if (ctx->continuing) {	/* going on from a message's text: a new sentence */
		char *on = xmalloc(strlen(b->text) + 2);
		on[0] = ' ';
		strcpy(on + 1, b->text);
		free(b->text);
		b->text = on;
	}
	b->tick = evtimer_new(be->base, type_next, b);
	struct timeval now = { 0, 0 };
	evtimer_add(b->tick, &now);
	return &b->job;
}
