/*
 * sink.h - where bytes go: one callback type shared by the layers that
 * produce bytes (the Avro writer and merge, a GET's body) and those that
 * take them (a file, a buffer, an upload).  It lives in base/ so that
 * avro/ and aws/ need not know the store to stream into one.
 */
#ifndef SWREPART_SINK_H
#define SWREPART_SINK_H

#include <stddef.h>

#include "base/err.h"

/* Called with each chunk, in order; non-SW_OK stops the producer, which
 * returns that error. */
typedef sw_err (*sw_sink_fn)(void *arg, const void *p, size_t n);

#endif
