/*
 * fragments.h - the HTML pieces that both pages and the HTML event stream
 * use: a message, the chat header, the turn status. Each is keyed by an
 * element id so that applying it twice leaves the page as applying it once.
 * Inputs are the API's JSON objects; every user string is escaped. Pure.
 */
#ifndef PARLEY_FRAGMENTS_H
#define PARLEY_FRAGMENTS_H
#include <jansson.h>

struct buf;

/* <article id="msg-SEQ" ...> for a Message. */
void	 fragment_message(struct buf *out, json_t *message);
/* A policy as people read it ("round-robin": "Every bot replies"). */
const char	*policy_label(const char *policy);
/* The inside of #chat-header for a Chat: its title, and its bots, each a button asking it to speak. */
void	 fragment_chat_header(struct buf *out, json_t *chat);
/*
 * <li id="chat-ID"> of the chat list for an item {"id","title","last",
 * "read_seq"?} (store_chat_activity): its name, its newest message, and an
 * unread badge the page fills.
 */
void	 fragment_chat_item(struct buf *out, json_t *item);
/* The inside of #turn-status for a turn state {"state","speaker","queue"}. */
void	 fragment_turn(struct buf *out, json_t *turn);
/* Who has the chat open ([{"user_id","name"}…]), for the chat's header bar. */
void	 fragment_presence(struct buf *out, json_t *here);

/*
 * The HTML stream's form of an event: its event name (token events become
 * "token-SEQ"; the chat lists' "list-chat", "list-gone", "list-read",
 * "list-all" become "chat", "gone", "read" ("ID SEQ"), "all") and payload. Returns -1 for an event the HTML
 * stream does not carry.
 */
int	 fragment_for_event(const char *name, json_t *data, struct buf *event,
	    struct buf *html);

#endif
