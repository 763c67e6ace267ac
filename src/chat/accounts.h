/*
 * accounts.h - the account service (SPEC section 7): who people are
 * (sessions, API tokens, a trusted proxy's header), signing in and out
 * with throttling, the first administrator, users and their tokens.
 * Passwords are hashed on worker threads (util/password.h), so a flood of
 * sign-ins never stalls the loop; those operations answer through a
 * callback. When access is taken away (signing out, a user deleted, a
 * token revoked, a password reset), the streams it opened end at once
 * through the bus. Each operation returns 0, or -1 with a problem. Results
 * are new references. Owned by one event loop.
 */
#ifndef PARLEY_ACCOUNTS_H
#define PARLEY_ACCOUNTS_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "hub/bus.h"
#include "util/secret.h"

struct accounts;
struct event_base;
struct problem;
struct store;
struct who;

struct accounts	*accounts_new(struct event_base *base, struct store *st, struct bus bus,
		    enum auth_mode mode, unsigned session_days);
void		 accounts_free(struct accounts *a);
/*
 * Several nodes share the sessions and tokens: who a credential is is read
 * from the store at every request, so a sign-out, a deleted token or a
 * changed user holds on every node at once.
 */
void		 accounts_share(struct accounts *a);
/* Told of each user whose display name changed here (presence lists them by it). */
typedef void	 accounts_renamed_fn(void *arg, const char *user_id, const char *display_name);
void		 accounts_on_rename(struct accounts *a, accounts_renamed_fn *renamed, void *arg);
/*
 * A sign-in's outcome in the limits: a failure counts for the name and the
 * address, a success forgets the name's. Made here, or on another node
 * (bus_ops.sign_in): the limits hold for the deployment, not per node.
 */
void		 accounts_count_sign_in(struct accounts *a, const char *name,
		    const char *address, bool failed);

/*
 * At start, when there is no user yet: creates the first administrator
 * from name and password (PARLEY_ADMIN, PARLEY_ADMIN_PASSWORD) when both are
 * given, else makes a one-time setup token (setup, to print; "" when none is
 * needed). -1 and *err (free it) when the given admin is invalid.
 */
int		 accounts_first_admin(struct accounts *a, const char *name, const char *password,
		    char setup[SECRET_LEN + 1], char **err);
/* True until the first administrator exists (with --auth accounts). */
bool		 accounts_need_setup(struct accounts *a);
/*
 * Several nodes: the hash of this node's setup link while it waits (else
 * NULL), and another node's heard: its link works here too.
 */
const char	*accounts_setup_hash(struct accounts *a);
void		 accounts_setup_heard(struct accounts *a, const char *hash);

/* ---- who asks: 0 and *who filled, or -1 when the credential is not valid ---- */

int		 accounts_by_session(struct accounts *a, const char *session_id, struct who *who);
int		 accounts_by_token(struct accounts *a, const char *token, struct who *who);
/* --auth proxy: the user the proxy names (created on first sight; the very first is an admin). */
int		 accounts_by_proxy(struct accounts *a, const char *name, struct who *who);
/* --auth none: anyone may do anything. */
void		 accounts_anyone(struct who *who);

/*
 * Told when a slow operation (it hashes a password) is over: the User (or
 * token) it made, the new session's id to set as a cookie (or NULL), or a
 * problem. Borrowed for the call.
 */
typedef void accounts_done_fn(void *arg, json_t *result, const char *session_id,
	    const struct problem *p);

/* Signs in (peer: the client's address, for throttling). */
void		 accounts_sign_in(struct accounts *a, const char *peer, json_t *name,
		    json_t *password, accounts_done_fn *done, void *arg);
/* Creates the first administrator with the setup token's pass (secret_link_pass); signs them in. */
void		 accounts_setup(struct accounts *a, const char *pass, json_t *name,
		    json_t *password, accounts_done_fn *done, void *arg);
/* Ends who's session (everywhere at once, its streams too). */
int		 accounts_sign_out(struct accounts *a, const struct who *who, struct problem *p);

/* ---- users ---- */

/* who as a User (signed in only: 401 otherwise). */
int		 accounts_me(struct accounts *a, const struct who *who, json_t **user,
		    struct problem *p);
int		 accounts_users(struct accounts *a, const struct who *who, json_t **users,
		    struct problem *p);
/* An administrator creates a user: {"name","password","display_name"?,"admin"?}. */
void		 accounts_user_create(struct accounts *a, const struct who *who, json_t *body,
		    accounts_done_fn *done, void *arg);
/* display_name; password (oneself: with old_password); admin (administrators only). */
void		 accounts_user_update(struct accounts *a, const struct who *who, const char *id,
		    json_t *body, accounts_done_fn *done, void *arg);
int		 accounts_user_delete(struct accounts *a, const struct who *who, const char *id,
		    struct problem *p);

/* ---- API tokens: the secret is in the result of create only ---- */

int		 accounts_token_create(struct accounts *a, const struct who *who, json_t *name,
		    json_t **token, struct problem *p);
int		 accounts_tokens(struct accounts *a, const struct who *who, json_t **tokens,
		    struct problem *p);
int		 accounts_token_delete(struct accounts *a, const struct who *who, const char *id,
		    struct problem *p);

/*
 * parley admin reset NAME: a new password for the user, in password (to
 * print). Synchronous (it hashes); for the command line only. 0, or -1 and *err.
 */
int		 accounts_reset_password(struct store *st, const char *name,
		    char password[SECRET_LEN + 1], char **err);

#endif
