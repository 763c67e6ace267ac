/*
 * send_batch.c - one kernel AIO context per loop for the streams' writes; see
 * send_batch.h. Each stream that can write straight to its socket gets an
 * IOCB_CMD_PWRITEV, and all are submitted with one io_submit. A socket has no
 * asynchronous write: the kernel runs each one inside io_submit, non-blocking
 * (the sockets are O_NONBLOCK, so a full one answers -EAGAIN), and queues its
 * result as a completion; one io_getevents then collects them all. So the
 * stream code sees the same synchronous result as from writev.
 *
 * The AIO system calls have no glibc wrappers; they are called directly
 * (<linux/aio_abi.h> is the kernel's own interface, no library needed).
 */
#include "sse/send_batch.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <linux/aio_abi.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct send_batch {
	aio_context_t	 ctx;
	bool		 up;
	struct iocb	 iocbs[SEND_BATCH_MAX];
	struct iocb	*submit[SEND_BATCH_MAX];
	struct io_event	 events[SEND_BATCH_MAX];
	struct iovec	 iovs[SEND_BATCH_MAX][SSE_HOLD_MAX];
};

static long
aio_setup(unsigned nr, aio_context_t *ctx)
{
	return syscall(SYS_io_setup, nr, ctx);
}

static long
aio_destroy(aio_context_t ctx)
{
	return syscall(SYS_io_destroy, ctx);
}

static long
aio_submit(aio_context_t ctx, long n, struct iocb **iocbs)
{
	return syscall(SYS_io_submit, ctx, n, iocbs);
}

static long
aio_getevents(aio_context_t ctx, long min, long max, struct io_event *events)
{
	return syscall(SYS_io_getevents, ctx, min, max, events, NULL);
}

struct send_batch *
send_batch_new(void)
{
	struct send_batch *sb = xcalloc(1, sizeof *sb);
	sb->up = aio_setup(SEND_BATCH_MAX, &sb->ctx) == 0;
	if (!sb->up)
		log_info("kernel AIO unavailable (%s): one writev per stream", strerror(errno));
	return sb;
}

void
send_batch_free(struct send_batch *sb)
{
	if (sb->up)
		aio_destroy(sb->ctx);
	free(sb);
}

/* The kernel refused to queue this one: write it as sse_stream_flush would. */
static uint64_t
write_one(struct iocb *cb)
{
	ssize_t w = writev((int)cb->aio_fildes, (struct iovec *)(uintptr_t)cb->aio_buf,
	    (int)cb->aio_nbytes);
	return sse_stream_written((struct sse_stream *)(uintptr_t)cb->aio_data,
	    w < 0 ? -errno : w);
}

/* Submits the n queued writes and hands each stream its result. */
static uint64_t
complete(struct send_batch *sb, long n)
{
	uint64_t frames = 0;
	long i = 0, in_kernel = 0;
	while (i < n) {
		long rc = aio_submit(sb->ctx, n - i, sb->submit + i);
		if (rc > 0) {
			i += rc;
			in_kernel += rc;
		} else if (rc == 0 || errno != EINTR) {
			frames += write_one(sb->submit[i++]);
		}
	}
	while (in_kernel > 0) {
		long rc = aio_getevents(sb->ctx, 1, in_kernel, sb->events);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			log_error("io_getevents: %s", strerror(errno));
			abort();	/* the queued writes point into this batch */
		}
		for (long k = 0; k < rc; k++)
			frames += sse_stream_written(
			    (struct sse_stream *)(uintptr_t)sb->events[k].data,
			    (ssize_t)sb->events[k].res);
		in_kernel -= rc;
	}
	return frames;
}

uint64_t
send_batch_flush(struct send_batch *sb, struct sse_stream **streams, size_t n)
{
	uint64_t frames = 0;
	size_t i = 0;
	while (i < n) {
		long queued = 0;
		for (; i < n && queued < SEND_BATCH_MAX; i++) {
			unsigned k = sb->up ? sse_stream_direct(streams[i], sb->iovs[queued]) : 0;
			if (k == 0) {
				frames += sse_stream_flush(streams[i]);
				continue;
			}
			struct iocb *cb = &sb->iocbs[queued];
			*cb = (struct iocb){
				.aio_data = (uintptr_t)streams[i],
				.aio_lio_opcode = IOCB_CMD_PWRITEV,
				.aio_fildes = (uint32_t)sse_stream_fd(streams[i]),
				.aio_buf = (uintptr_t)sb->iovs[queued],
				.aio_nbytes = k,
			};
			sb->submit[queued++] = cb;
		}
		if (queued > 0)
			frames += complete(sb, queued);
	}
	return frames;
}
