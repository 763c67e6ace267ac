/*
 * who.h - who is asking: the person a request acts for, as the guard found
 * them (a session, an API token, a trusted proxy's header), or anyone at
 * all with --auth none. The services decide from it what may be done.
 */
#ifndef PARLEY_WHO_H
#define PARLEY_WHO_H
#include <stdbool.h>
#include <stdint.h>

#include "limits.h"
#include "util/ids.h"
#include "util/secret.h"

struct who {
	char	 user_id[ID_LEN + 1];		/* "" for anyone */
	char	 name[LIMIT_USER_NAME_CHARS + 1];
	char	 display_name[4 * LIMIT_DISPLAY_NAME_CHARS + 1];
	bool	 admin;
	bool	 anyone;			/* --auth none: everything, names itself */
	char	 credential[SECRET_HEX + 1];	/* its session's or token's hash, or "" */
	bool	 by_token;			/* came with an API token, not a cookie */
	uint64_t ends_mark;			/* hub_ends() before the credential was read (streams) */
};

/* May do what only administrators may. */
static inline bool
who_admin(const struct who *w)
{
	return w->anyone || w->admin;
}

#endif
