/*
 * copy.h - `parley copy`: a whole deployment moved from a SQLite file into an
 * empty PostgreSQL database (SPEC §10), ids, seqs and event ids unchanged.
 * Called once by main(), with no server running on the file; it owns both
 * connections for the length of the call and is not part of store.h.
 */
#ifndef PARLEY_STORE_COPY_H
#define PARLEY_STORE_COPY_H

/* How many rows of each table were copied. */
struct copy_counts {
	unsigned long	 users, sessions, tokens, bots, chats, chat_bots, members, invites,
			 messages, alternatives, events;
};

/*
 * Copies every row of the SQLite file from_path (migrated forward first)
 * into the PostgreSQL database to_url (its schema created), in one
 * transaction. Refuses a target with any user, bot or chat, and a file a
 * server holds. 0 with *out filled, or -1 with one line in *err (free it);
 * on failure the target holds nothing of the source.
 */
int		 store_copy(const char *from_path, const char *to_url,
		    struct copy_counts *out, char **err);

#endif
