/*
 * send_batch.h - writes the held frames of many streams with one system call.
 * A shard ends each batch of deliveries by flushing every stream that holds
 * a durable frame; through the kernel's AIO interface that is one io_submit
 * (and one io_getevents) for up to SEND_BATCH_MAX streams instead of one
 * writev each: on this kind of VM a loopback send's system call costs more
 * than its copy. Where kernel AIO is unavailable (a kernel built without it, a
 * sandbox that forbids it) each stream is flushed with its own writev, as
 * before. One per loop; not thread-safe.
 */
#ifndef PARLEY_SSE_SEND_BATCH_H
#define PARLEY_SSE_SEND_BATCH_H
#include <stddef.h>
#include <stdint.h>

#include "sse/stream.h"

#define SEND_BATCH_MAX 256	/* streams in one submission */

struct send_batch;

struct send_batch *send_batch_new(void);		/* never NULL */
void		 send_batch_free(struct send_batch *sb);
/* Flushes each stream's held frames (sse_stream_flush); returns how many frames. */
uint64_t	 send_batch_flush(struct send_batch *sb, struct sse_stream **streams, size_t n);

#endif
