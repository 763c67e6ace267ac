/*
 * control.h - conversation control (SPEC 8): editing and deleting messages,
 * a bot writing its message again (a new alternative, or on from its text)
 * and flipping between alternatives. Rights: a person's message is its
 * author's (or an administrator's; with --auth none, anyone's); a bot's
 * message is every member's. Changes go through the events module; a
 * message being written cannot be changed (409), but it can be deleted,
 * which stops it first. Each returns 0, or -1 with a problem. Owned by one
 * event loop.
 */
#ifndef PARLEY_CONTROL_H
#define PARLEY_CONTROL_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct bots;
struct chats;
struct control;
struct events;
struct problem;
struct store;
struct turns;
struct who;

struct control	*control_new(struct store *st, struct events *ev, struct chats *chats,
		    struct bots *bots, struct turns *turns);
void		 control_free(struct control *k);

/* A new body (JSON string) for message seq; *message: the edited Message. */
int	 control_edit(struct control *k, const struct who *who, const char *chat_id,
	    uint64_t seq, json_t *body, json_t **message, struct problem *p);
int	 control_delete(struct control *k, const struct who *who, const char *chat_id,
	    uint64_t seq, struct problem *p);
/* The bot of message seq writes it again: a new alternative (fresh), or on from its text. */
int	 control_redo(struct control *k, const struct who *who, const char *chat_id,
	    uint64_t seq, bool fresh, struct problem *p);
/* Message seq shows alternative index (a JSON integer); *message: as it now shows. */
int	 control_pick(struct control *k, const struct who *who, const char *chat_id,
	    uint64_t seq, json_t *index, json_t **message, struct problem *p);
/*
 * May who edit or delete the message (a Message)? For pages, which offer
 * only what may be done.
 */
bool	 control_may_change(const struct who *who, json_t *message);

#endif
