/*
 * eliza.h - the classic pattern-matching therapist, with Parley's own rule
 * set: keywords with ranks, decomposition patterns with wildcards,
 * reassembly templates cycled per rule, and pronoun reflection. Pure: the
 * caller keeps the conversation's state (which reassembly comes next).
 */
#ifndef PARLEY_ELIZA_H
#define PARLEY_ELIZA_H

struct eliza_state {
	unsigned	 turn;		/* advances every reply; picks reassemblies */
};

/* The reply to text (free it). */
char	*eliza_reply(const char *text, struct eliza_state *state);

#endif
