/*
 * asink.h - a sink that passes its bytes on from a thread of its own.
 *
 * A producer that also has CPU work of its own (the merge) hands each
 * chunk to an asink instead of to the slow sink itself (a digest and a
 * write(2)): the chunk is copied into one of a few buffers and the
 * asink's thread calls the real sink with it, in order, while the
 * producer goes on.  Failures are sticky: the first one is returned by
 * the next asink_write() or asink_drain(), with its message, in the
 * producer's thread.  Where no thread can be started, the real sink is
 * called in place.
 */
#ifndef SWREPART_ASINK_H
#define SWREPART_ASINK_H

#include <stddef.h>

#include "base/sink.h"

struct asink;

/* A new asink in front of fn(arg), buffering about 3 x chunk bytes. */
struct asink *asink_new(sw_sink_fn fn, void *arg, size_t chunk);

/* An sw_sink_fn: arg is the struct asink.  p is copied. */
sw_err asink_write(void *arg, const void *p, size_t n);

/* Wait until every byte written so far has reached the real sink; its
 * first failure, or SW_OK.  The real sink's state may be touched by the
 * caller until the next asink_write(). */
sw_err asink_drain(struct asink *a);

/* Stop the thread and free, after it has passed on what was handed
 * to it; bytes not yet drained may be dropped.  A NULL a is fine. */
void asink_free(struct asink *a);

#endif
