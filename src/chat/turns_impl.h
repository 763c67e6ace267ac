/*
 * turns_impl.h - what the turn flow's parts share: turns.c (flows, their
 * replies), turn_picks.c (the policies' picks), turn_ends.c (replies' ends
 * stored, retried, recovered) and turn_leases.c (several nodes: the lease, takeovers, what
 * other nodes ask). Other modules use turns.h.
 */
#ifndef PARLEY_TURNS_IMPL_H
#define PARLEY_TURNS_IMPL_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "store/store.h"
#include "util/idmap.h"

#define LEASE_KEEP_MS	3000	/* leases kept and lapsed ones looked for this often */

struct event_base;
struct reply;
struct unfinished;

/* A chat's turn flow: it exists while a reply runs or turns are queued. */
struct flow {
	struct idmap_entry	 entry;		/* keyed by chat id */
	struct turns		*turns;
	json_t			*queue;		/* Bots waiting to speak, in order */
	unsigned		 bot_turns;	/* the policy's, since the last person's message */
	unsigned		 auto_left;	/* auto rounds still to come */
	unsigned		 posts;		/* people's posts heard: a reply's mentions count
						   only while no newer post replaced the queue */
	uint64_t		 picks_for;	/* the post whose picks are queued (its seq) */
	struct reply		*reply;
	json_t			*published;	/* the last turn state sent */
	struct lease		 lease;		/* several nodes: the chat's, while the flow lives */
	bool			 lost;		/* a write found the lease gone: ends, silently */
	bool			 doing_asked;	/* do_kept_asks: flow_settle leaves it to the caller */
	int64_t			 kept_ms;	/* when the lease was last taken or kept (monotonic) */
	char			 orphans_of[LEASE_NODE_MAX];	/* a lost node whose replies are
						   still to end ("": none; stop_orphans) */
};

struct turns {
	struct store		*store;
	struct events		*events;
	struct backends		*backends;
	struct idmap		 flows;
	LIST_HEAD(, unfinished)	 unfinished;
	struct event		*retry;		/* stores the unfinished again */
	uint64_t		 rng;
	uint64_t		 replies;	/* replies started */
	const char		*node;		/* several nodes: this one's lease name; else NULL */
	struct event		*leases;	/* every LEASE_KEEP_MS */
	struct event		*look;		/* takes what was asked of to_look's chats */
	json_t			*to_look;	/* chat ids (turns_asked) */
	bool			 looking;	/* a serial fiber takes them */
	bool			 stopping;	/* turns_stop_all: nothing new starts */
};


/* turns.c */
const char	*flow_chat(const struct flow *f);
/* The turn state the tabs are shown (a "turn" event's data). */
json_t		*flow_state(const struct flow *f);
struct flow	*flow_get(struct turns *t, const char *chat_id, bool create);
/* Starts the next queued turn that can start; settles the flow either way. */
void		 flow_next(struct flow *f);
/* Sends a "turn" event when the state changed; frees an idle flow. */
void		 flow_settle(struct flow *f);
void		 flow_free(struct flow *f);

/* turns.c, too */
/* A queued turn of the bot (seq 0: a new message; fresh: a new alternative of seq). */
json_t		*turn_queued(json_t *bot, uint64_t seq, bool fresh, bool automatic);

/* turn_picks.c */
/* True when the chat (a Chat) has muted the bot. */
bool		 chat_muted(json_t *chat, const char *bot_id);
/* The turns the policy calls for after text (speaker: the bot who wrote it, or NULL). */
json_t		*turn_picks(struct turns *t, json_t *chat, const char *text, const char *speaker_id);
/*
 * One auto round: the bot the policy picks to answer the chat's last
 * message is queued; when none (or the chat cannot be read), auto mode ends.
 */
void		 turn_pick_auto(struct flow *f);

/* turn_ends.c */
/* Stores a reply's end (its final Message); STORE_OK once it is stored and published. */
enum store_status turn_end_store(struct turns *t, json_t *final);
/* The end could not be stored: tabs see it now, and it is stored again each second. */
void		 turn_end_keep(struct turns *t, json_t *final, const struct flow *f);
/* The newest end of the chat's replies not stored yet (borrowed), or NULL. */
json_t		*turn_end_waiting(struct turns *t, const char *chat_id);
void		 turn_ends_init(struct turns *t, struct event_base *base);
/* A last try at storing what is waiting; the rest is ended at the next start. */
void		 turn_ends_free(struct turns *t);

/* turn_leases.c */
void		 flow_fence_on(struct flow *f);
enum store_status flow_fence_off(struct flow *f, enum store_status rc);
void		 flow_lease_keep(struct flow *f);
struct flow	*flow_here(struct turns *t, const char *chat_id, json_t *trigger);
void		 turn_leases_init(struct turns *t, struct event_base *base);
void		 turn_leases_free(struct turns *t);

#endif
