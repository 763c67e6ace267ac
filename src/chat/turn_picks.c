/*
 * turn_picks.c - which bots take the turns (turns_impl.h): the chat's
 * policy (chat/policy.c) applied to its bots as they are now, the muted
 * left out, for a message and for each auto round. Called by turns.c.
 */
#include "chat/turns.h"
#include "chat/turns_impl.h"
#include "chat/policy.h"
#include "limits.h"
#include "store/store.h"

#include <string.h>

static double
rng_next(void *state)
{
	uint64_t *s = state;	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (double)((*s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

static const char *
str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

bool
chat_muted(json_t *chat, const char *bot_id)
{
	size_t i;
	json_t *id;
	json_array_foreach(json_object_get(chat, "muted"), i, id)
		if (strcmp(json_string_value(id), bot_id) == 0)
			return true;
	return false;
}

/* The chat's bots as the policies see them (not the muted), with their Bots alongside. */
static size_t
chat_bots(struct turns *t, json_t *chat, struct chat_bot *out, json_t **bots, size_t max)
{
	size_t n = 0, i;
	json_t *ref;
	json_array_foreach(json_object_get(chat, "bots"), i, ref) {
		json_t *bot;
		if (n == max || chat_muted(chat, str(ref, "id")) ||
		    store_bot_get(t->store, str(ref, "id"), &bot) != STORE_OK)
			continue;
		bots[n] = bot;
		out[n].name = str(bot, "name");
		out[n].talkativeness = json_number_value(json_object_get(bot, "talkativeness"));
		n++;
	}
	return n;
}

/* The index among bots (n of them) of the bot speaker_id, or -1. */
static int
index_of(json_t **bots, size_t n, const char *speaker_id)
{
	for (size_t i = 0; speaker_id && i < n; i++)
		if (strcmp(str(bots[i], "id"), speaker_id) == 0)
			return (int)i;
	return -1;
}

static enum policy
chat_policy(json_t *chat)
{
	enum policy policy = POLICY_ROUND_ROBIN;
	policy_parse(str(chat, "policy"), &policy);
	return policy;
}

json_t *
turn_picks(struct turns *t, json_t *chat, const char *text, const char *speaker_id)
{
	struct chat_bot cb[LIMIT_CHAT_BOTS];
	json_t *bots[LIMIT_CHAT_BOTS];
	size_t picked[LIMIT_CHAT_BOTS];
	size_t n = chat_bots(t, chat, cb, bots, LIMIT_CHAT_BOTS);
	int speaker = index_of(bots, n, speaker_id);
	/* a bot the policies do not see (muted, or gone from the chat) pulls in nobody */
	size_t k = speaker_id != NULL && speaker < 0 ? 0 : policy_select(chat_policy(chat), cb,
	    n, text, speaker, rng_next, &t->rng, picked, LIMIT_CHAT_BOTS);
	json_t *out = json_array();
	for (size_t i = 0; i < k; i++)
		json_array_append_new(out, turn_queued(bots[picked[i]], 0, false, false));
	for (size_t i = 0; i < n; i++)
		json_decref(bots[i]);
	return out;
}

void
turn_pick_auto(struct flow *f)
{
	struct turns *t = f->turns;
	struct chat_bot cb[LIMIT_CHAT_BOTS];
	json_t *bots[LIMIT_CHAT_BOTS];
	json_t *chat = NULL, *last = NULL;
	size_t n = 0;
	int pick = -1;
	if (store_chat_get(t->store, flow_chat(f), &chat) == STORE_OK &&
	    store_messages_last(t->store, flow_chat(f), 1, &last) == STORE_OK &&
	    json_array_size(last) == 1) {
		json_t *m = json_array_get(last, 0);
		n = chat_bots(t, chat, cb, bots, LIMIT_CHAT_BOTS);
		pick = policy_auto(chat_policy(chat), cb, n, str(m, "body"),
		    index_of(bots, n, str(m, "bot_id")), rng_next, &t->rng);
	}
	if (pick >= 0) {
		json_array_append_new(f->queue, turn_queued(bots[pick], 0, false, true));
		f->auto_left--;
	} else
		f->auto_left = 0;
	for (size_t i = 0; i < n; i++)
		json_decref(bots[i]);
	json_decref(last);
	json_decref(chat);
}

