/*
 * validate.h - checks the chat services share: text fields as people give
 * them, and the problem a store failure means to a client. Pure.
 */
#ifndef PARLEY_VALIDATE_H
#define PARLEY_VALIDATE_H
#include <jansson.h>
#include <stddef.h>

#include "store/store.h"

struct problem;

/*
 * v as text of 1..max_chars characters after trimming: the trimmed copy
 * (free it), or NULL and a 422 naming field.
 */
char	*validate_text(json_t *v, const char *field, size_t max_chars, struct problem *p);
/*
 * v as a message's body (SPEC 2): its text as written, line ends made LF
 * (free it); NULL and a 422 (413 when too large) naming "body".
 */
char	*validate_message_body(json_t *v, struct problem *p);
/*
 * The problem a failed call to st means: 404 "WHAT not found", 409 for a
 * name taken, 503 when the store cannot take writes, 500 otherwise.
 * Returns -1, for `return validate_store(...)`.
 */
int	 validate_store(struct store *st, enum store_status rc, const char *what,
	    struct problem *p);

#endif
