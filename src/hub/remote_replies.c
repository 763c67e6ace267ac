/*
 * remote_replies.c - replies being written elsewhere; see remote_replies.h.
 */
#include "hub/remote_replies.h"
#include "util/buf.h"
#include "util/idmap.h"
#include "util/xmalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define REMOTE_BUCKETS	256

struct reply {
	struct idmap_entry	 entry;		/* by chat id: one reply at a time per chat */
	json_t			*message;	/* as it started */
	json_int_t		 seq;
	struct buf		 text;		/* its body so far */
};

struct remote_replies {
	struct idmap	 replies;
};

static void
reply_end(struct remote_replies *rr, struct reply *r)
{
	idmap_remove(&rr->replies, &r->entry);
	json_decref(r->message);
	buf_free(&r->text);
	free(r);
}

static struct reply *
find(struct remote_replies *rr, const char *chat_id)
{
	struct idmap_entry *e = idmap_find(&rr->replies, chat_id);
	return e ? container_of(e, struct reply, entry) : NULL;
}

/* A Message of a bot being written (a reply starting, or regenerated or continued). */
static bool
streaming(json_t *message)
{
	const char *state = json_string_value(json_object_get(message, "state"));
	return state != NULL && strcmp(state, "streaming") == 0 &&
	    json_is_integer(json_object_get(message, "seq"));
}

static void
reply_start(struct remote_replies *rr, const char *chat_id, json_t *message)
{
	struct reply *r = find(rr, chat_id);
	if (r != NULL)
		reply_end(rr, r);
	r = xcalloc(1, sizeof *r);
	r->message = json_deep_copy(message);
	r->seq = json_integer_value(json_object_get(message, "seq"));
	const char *body = json_string_value(json_object_get(message, "body"));
	buf_adds(&r->text, body ? body : "");
	idmap_insert(&rr->replies, &r->entry, chat_id);
}

void
remote_replies_note(struct remote_replies *rr, const char *chat_id, const char *name,
    json_t *data)
{
	struct reply *r = find(rr, chat_id);
	json_int_t seq = json_integer_value(json_object_get(data, "seq"));
	bool message = strcmp(name, "message") == 0 || strcmp(name, "message-update") == 0;
	if (message && streaming(data)) {
		reply_start(rr, chat_id, data);
	} else if (r == NULL) {
		return;
	} else if (strcmp(name, "token") == 0 && seq == r->seq) {
		const char *delta = json_string_value(json_object_get(data, "delta"));
		buf_adds(&r->text, delta ? delta : "");
	} else if ((message || strcmp(name, "message-deleted") == 0) && seq == r->seq) {
		reply_end(rr, r);
	} else if (strcmp(name, "deleted") == 0) {
		reply_end(rr, r);
	}
}

json_t *
remote_replies_get(struct remote_replies *rr, const char *chat_id)
{
	struct reply *r = find(rr, chat_id);
	if (r == NULL)
		return NULL;
	json_t *m = json_deep_copy(r->message);
	json_object_set_new(m, "body", json_stringn(r->text.data ? r->text.data : "",
	    r->text.len));
	return m;
}

struct remote_replies *
remote_replies_new(void)
{
	struct remote_replies *rr = xcalloc(1, sizeof *rr);
	idmap_init(&rr->replies, REMOTE_BUCKETS);
	return rr;
}

void
remote_replies_clear(struct remote_replies *rr)
{
	struct idmap_entry *e;
	while ((e = idmap_first(&rr->replies)) != NULL)
		reply_end(rr, container_of(e, struct reply, entry));
}

void
remote_replies_free(struct remote_replies *rr)
{
	if (rr == NULL)
		return;
	remote_replies_clear(rr);
	idmap_free(&rr->replies);
	free(rr);
}
