/*
 * fiber.c - fibers on ucontext stacks; see fiber.h. A fiber's stack is
 * mapped with a guard page below it and kept for reuse when the fiber
 * ends. Under AddressSanitizer every switch is announced to it, so that it
 * knows which stack is in use.
 */
#include "util/fiber.h"
#include "util/xmalloc.h"

#include <assert.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define switch_starts(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define switch_ends(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#define FIBER_STACK_BYTES (1024 * 1024)
#else
#define switch_starts(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define switch_ends(save, bottom, size) ((void)(save), (void)(bottom), (void)(size))
#define FIBER_STACK_BYTES (256 * 1024)
#endif
#define FIBER_KEPT_MAX 64	/* ended fibers kept, with their stacks, for reuse */

struct fiber {
	ucontext_t	 ctx;
	ucontext_t	*back;		/* where the fiber returns when it waits or ends */
	char		*map;		/* the guard page, then the stack */
	fiber_fn	 fn;
	void		*arg;
	bool		 ended, waiting;
	short		 ready;		/* what fiber_wait_fd found ready */
	struct event	*io, *wake;
	void		*fake_stack;	/* AddressSanitizer's, while switched away */
	const void	*back_bottom;	/* the resumer's stack, for AddressSanitizer */
	size_t		 back_size;
	struct fiber	*next_kept;
};

static _Thread_local struct event_base *loop;
static _Thread_local struct fiber *running, *kept;
static _Thread_local unsigned alive, nkept;

/* The serial fibers: whether one runs, and those waiting to, in order. */
struct serial_waiter {
	struct fiber		*fiber;
	struct serial_waiter	*next;
};
static _Thread_local bool serial_busy;
static _Thread_local struct serial_waiter *serial_first, **serial_last;

static size_t
page_bytes(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static void
woken(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct fiber *f = arg;
	f->ready = what & (EV_READ | EV_WRITE | EV_TIMEOUT);
	fiber_resume(f);
}

static struct fiber *
fiber_new(void)
{
	struct fiber *f = kept;
	if (f != NULL) {
		kept = f->next_kept;
		nkept--;
		return f;
	}
	f = xcalloc(1, sizeof *f);
	f->map = mmap(NULL, page_bytes() + FIBER_STACK_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
	if (f->map == MAP_FAILED) {
		fprintf(stderr, "parley: out of memory for a fiber's stack\n");
		abort();
	}
	mprotect(f->map, page_bytes(), PROT_NONE);
	f->io = event_new(loop, -1, 0, woken, f);
	f->wake = event_new(loop, -1, 0, woken, f);
	return f;
}

static void
fiber_destroy(struct fiber *f)
{
	event_free(f->io);
	event_free(f->wake);
	munmap(f->map, page_bytes() + FIBER_STACK_BYTES);
	free(f);
}

static void
fiber_keep(struct fiber *f)
{
	alive--;
	if (nkept >= FIBER_KEPT_MAX) {
		fiber_destroy(f);
		return;
	}
	f->next_kept = kept;
	kept = f;
	nkept++;
}

/* Hands the thread back to whoever resumed the running fiber. */
static void
switch_back(void)
{
	struct fiber *f = running;
	switch_starts(&f->fake_stack, f->back_bottom, f->back_size);
	swapcontext(&f->ctx, f->back);
	switch_ends(f->fake_stack, &f->back_bottom, &f->back_size);
}

static void
trampoline(void)
{
	struct fiber *f = running;
	switch_ends(NULL, &f->back_bottom, &f->back_size);
	f->fn(f->arg);
	f->ended = true;
	switch_starts(NULL, f->back_bottom, f->back_size);	/* this stack is done */
	setcontext(f->back);
}

/* Runs f until it waits or ends; frees what an ended fiber held. */
static void
enter(struct fiber *f)
{
	ucontext_t here;
	struct fiber *resumer = running;
	void *fake_stack = NULL;
	f->back = &here;
	running = f;
	switch_starts(&fake_stack, f->map + page_bytes(), FIBER_STACK_BYTES);
	swapcontext(&here, &f->ctx);
	switch_ends(fake_stack, NULL, NULL);
	running = resumer;
	if (f->ended)
		fiber_keep(f);
}

/* f's context starts on its own stack in trampoline() (apart: getcontext returns twice). */
static __attribute__((noinline)) void
start_context(struct fiber *f)
{
	getcontext(&f->ctx);
	f->ctx.uc_stack.ss_sp = f->map + page_bytes();
	f->ctx.uc_stack.ss_size = FIBER_STACK_BYTES;
	f->ctx.uc_link = NULL;
	makecontext(&f->ctx, trampoline, 0);
}

void
fiber_enable(struct event_base *base)
{
	loop = base;
}

bool
fiber_enabled(void)
{
	return loop != NULL;
}

void
fiber_run(fiber_fn fn, void *arg)
{
	if (loop == NULL) {
		fn(arg);
		return;
	}
	struct fiber *f = fiber_new();
	start_context(f);
	f->fn = fn;
	f->arg = arg;
	f->ended = false;
	f->waiting = false;
	alive++;
	enter(f);
}

struct serial_start {
	fiber_fn	 fn;
	void		*arg;
};

static void
serial_body(void *arg)
{
	struct serial_start start = *(struct serial_start *)arg;	/* valid until the first wait */
	if (serial_busy) {
		struct serial_waiter w = { .fiber = running };
		*(serial_first ? serial_last : &serial_first) = &w;
		serial_last = &w.next;
		fiber_wait();		/* the one before handed its turn over */
	}
	serial_busy = true;
	start.fn(start.arg);
	struct serial_waiter *next = serial_first;
	if (next == NULL) {
		serial_busy = false;
		return;
	}
	serial_first = next->next;
	fiber_wake(next->fiber);
}

void
fiber_run_serial(fiber_fn fn, void *arg)
{
	if (loop == NULL) {
		fn(arg);
		return;
	}
	struct serial_start start = { fn, arg };
	fiber_run(serial_body, &start);
}

struct fiber *
fiber_self(void)
{
	return running;
}

short
fiber_wait_fd(int fd, short what, unsigned timeout_ms)
{
	struct fiber *f = running;
	assert(f != NULL);
	struct timeval limit = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	event_assign(f->io, loop, fd, what, woken, f);
	if (event_add(f->io, timeout_ms ? &limit : NULL) != 0)
		return 0;		/* nothing would wake it: the caller finds the socket unusable */
	f->ready = 0;
	f->waiting = true;
	switch_back();
	event_del(f->io);
	return f->ready;
}

void
fiber_wait(void)
{
	struct fiber *f = running;
	assert(f != NULL);
	f->waiting = true;
	switch_back();
	event_del(f->wake);
}

void
fiber_wake(struct fiber *f)
{
	event_active(f->wake, EV_TIMEOUT, 1);
}

void
fiber_resume(struct fiber *f)
{
	assert(f->waiting);
	f->waiting = false;
	enter(f);
}

unsigned
fiber_count(void)
{
	return alive;
}

void
fiber_disable(void)
{
	if (alive > 0)
		return;		/* still waiting: their stacks stay */
	while (kept != NULL) {
		struct fiber *f = kept;
		kept = f->next_kept;
		fiber_destroy(f);
	}
	nkept = 0;
	loop = NULL;
}
