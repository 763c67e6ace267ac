/*
 * fiber.h - code that waits without holding up its loop. A fiber runs a
 * function on a stack of its own; when it has to wait for a socket
 * (fiber_wait_fd) it hands the thread back to whoever ran or resumed it,
 * and the loop resumes it once the socket is ready. Code in a fiber reads
 * as if it blocked while the loop goes on with everything else.
 *
 * The PostgreSQL store waits this way for its round trips, so every entry
 * into the services that may reach the store (a request's handler, the
 * group commit, the turn flow's callbacks) runs through fiber_run_serial(). Only
 * code in a fiber may wait; anything between two waits runs as one piece,
 * as on a single thread. Fibers belong to the loop (thread) that enabled
 * them; until fiber_enable(), fiber_run() simply calls the function.
 */
#ifndef PARLEY_FIBER_H
#define PARLEY_FIBER_H
#include <stdbool.h>

struct event_base;
struct fiber;

typedef void (*fiber_fn)(void *arg);

/* From now on, fiber_run() on this thread makes fibers whose waits are served by base. */
void		 fiber_enable(struct event_base *base);
/* Whether fibers are enabled on this thread. */
bool		 fiber_enabled(void);
/*
 * Runs fn(arg) now: in a new fiber when enabled (returning when it ends or
 * first waits), else directly. Aborts when no stack can be had.
 */
void		 fiber_run(fiber_fn fn, void *arg);
/*
 * The same for code that must not interleave with other such code: fn
 * starts (arg must live until then) once every fiber started this way
 * before it has ended, so serial
 * fibers run one after another, as on a thread of their own, while the
 * loop goes on with the rest (the services run this way: their state never
 * changes under them while they wait for the database).
 */
void		 fiber_run_serial(fiber_fn fn, void *arg);
/* The fiber running now, or NULL on the thread's own stack. */
struct fiber	*fiber_self(void);
/*
 * In a fiber: waits until fd is ready for what (EV_READ, EV_WRITE), until
 * timeout_ms have passed (0: no limit), or until fiber_resume() wakes it
 * early. Returns what was ready (EV_TIMEOUT: time was up; 0: woken early).
 */
short		 fiber_wait_fd(int fd, short what, unsigned timeout_ms);
/*
 * In a fiber: waits until fiber_wake() (from the loop, later) or
 * fiber_resume() (at once) wakes it.
 */
void		 fiber_wait(void);
/* Wakes f, waiting in fiber_wait(), from the loop soon (never from within this call). */
void		 fiber_wake(struct fiber *f);
/*
 * Resumes the waiting f at once, from the thread's own stack, and returns
 * when it waits again or ends (for code that must not return to the loop first).
 */
void		 fiber_resume(struct fiber *f);
/* How many fibers have started and not ended. */
unsigned	 fiber_count(void);
/* Fibers off again; frees the stacks kept for reuse (once every fiber has ended). */
void		 fiber_disable(void);

#endif
