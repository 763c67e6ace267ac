/*
 * accounts_impl.h - what the two halves of the account service share
 * (accounts.c: who asks, signing in and out, the first administrator;
 * users.c: users and API tokens); not for callers of accounts.h.
 */
#ifndef PARLEY_ACCOUNTS_IMPL_H
#define PARLEY_ACCOUNTS_IMPL_H
#include "chat/accounts.h"
#include "limits.h"
#include "util/ids.h"
#include "util/password.h"

struct credentials;

#define ACCOUNTS_SETUP_NODES 16	/* other nodes' setup links kept, at most */

struct accounts {
	struct store		*store;
	struct bus		 bus;
	struct workers		*workers;	/* password hashing */
	struct throttle		*by_name, *by_addr;
	struct event		*sweep;		/* hourly: expired sessions and invites go */
	struct credentials	*credentials;	/* who recently used sessions and tokens are;
						   NULL with several nodes (read at every request) */
	accounts_renamed_fn	*renamed;
	void			*renamed_arg;
	enum auth_mode		 mode;
	int64_t			 session_seconds;
	char			 setup_hash[SECRET_HEX + 1];	/* "" once used or not needed */
	char			 setup_elsewhere[ACCOUNTS_SETUP_NODES][SECRET_HEX + 1];	/* other nodes' */
};

/* What a slow operation does on a worker. */
enum slow_task {
	SLOW_CHECK,	/* password against stored (none stored: as long, for nothing) */
	SLOW_HASH,	/* password into hash */
	SLOW_CHANGE,	/* old_password against stored; if right, password into hash */
};

/* A slow operation: its task runs on a worker with the copies kept here, then finish on the loop. */
struct slow {
	struct accounts		*a;
	enum slow_task		 task;
	accounts_done_fn	*done;
	void			*arg;
	void			(*finish)(struct slow *s);
	char			 name[LIMIT_USER_NAME_CHARS + 1];
	char			 peer[64];
	char			 user_id[ID_LEN + 1];
	char			 keep[SECRET_HEX + 1];	/* the session a password change keeps */
	char			*display_name;
	char			*password;
	char			*old_password;
	char			*stored;		/* the encoding to check against, or NULL */
	int			 admin;			/* 0, 1, or -1: unchanged */
	bool			 checked;		/* the task's verdict */
	int			 hashed;		/* 0 when hash holds the new encoding */
	char			 hash[PASSWORD_ENCODED_MAX];
};

/* A slow operation on the heap, for who asked; fill it, then start it. */
struct slow *accounts_slow_new(struct accounts *a, enum slow_task task, accounts_done_fn *done,
	    void *arg, void (*finish)(struct slow *s));
/* Queues s for a worker; a full queue: a 503 at once, s freed, and -1. */
int	 accounts_slow_start(struct slow *s);
/* Tells the caller, then frees s. */
void	 accounts_slow_end(struct slow *s, json_t *result, const char *session_id,
	    const struct problem *p);
/* What asking for an account gets with --auth none (404). */
#define NO_ACCOUNTS "there are no accounts (--auth none)"

/* Validation shared by the halves: 0, or -1 and a 422 naming the field. */
int	 accounts_check_name(json_t *v, struct problem *p);
int	 accounts_check_password(json_t *v, const char *field, struct problem *p);
/*
 * Ends the streams the user opened with a session, but those of keep (a
 * hash, or NULL); the sessions themselves die elsewhere.
 */
void	 accounts_end_sessions(struct accounts *a, const char *user_id, const char *keep,
	    const char *reason);
/* Fills who from a User. */
void	 accounts_who(struct who *who, json_t *user, const char *credential);

#endif
