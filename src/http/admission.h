/*
 * admission.h - holds requests that write (POST, PUT, PATCH, DELETE) while
 * the application says it is behind, in arrival order, and hands them back
 * to the server once it has caught up or they have waited
 * LIMIT_ADMIT_WAIT_MS: admission paces writers, it never refuses them.
 * Owned by the server (server.c), on its event loop.
 */
#ifndef PARLEY_ADMISSION_H
#define PARLEY_ADMISSION_H
#include <stdbool.h>

struct admission;
struct conn;
struct event_base;
struct evhttp_request;

typedef bool (*admission_behind_fn)(void *ctx);
typedef void (*admission_go_fn)(struct evhttp_request *req, void *arg);

/* behind NULL: never behind. go(req, go_arg) runs each held request later. */
struct admission *admission_new(struct event_base *base, admission_behind_fn behind,
		    void *behind_ctx, admission_go_fn go, void *go_arg);
/*
 * true: req (which came on c, or NULL) is held and goes on later through go;
 * false: it may be handled now.
 */
bool		 admission_hold(struct admission *a, struct evhttp_request *req,
		    struct conn *c);
/* Sends every held request on at once, from the loop (shutdown). */
void		 admission_release(struct admission *a);
/* Forgets what is held, unanswered (evhttp_free frees those requests). */
void		 admission_free(struct admission *a);

#endif
