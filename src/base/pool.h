/*
 * pool.h - a fixed pool of worker threads for blocking work (requests).
 *
 * Work is submitted in batches: a batch collects the first failure of its
 * jobs (code and message) and batch_wait() returns it in the waiting
 * thread, so errors read the same as in sequential code.  Jobs of several
 * batches may share one pool.
 */
#ifndef SWREPART_POOL_H
#define SWREPART_POOL_H

#include <pthread.h>

#include "base/err.h"

struct pool;

typedef sw_err (*pool_job_fn)(void *arg);

struct batch {
	struct pool *pool;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	unsigned pending;
	unsigned failed;     /* jobs that failed since the last wait */
	sw_err first_rc;
	char first_msg[1024];
	int stop_on_error;   /* skip queued jobs once one failed */
};

/* Start nthreads workers.  *out is set on success. */
sw_err pool_new(unsigned nthreads, struct pool **out);
/* Wait for all queued work, stop the workers and free the pool. */
void pool_free(struct pool *p);

/* p NULL: the batch runs each job in batch_submit(), in the caller's
 * thread (sequential code with the same error handling). */
void batch_init(struct batch *b, struct pool *p, int stop_on_error);
/* Queue fn(arg); never fails (the queue grows).  Blocks while more than
 * a few jobs per worker are queued, so callers can stream huge inputs. */
void batch_submit(struct batch *b, pool_job_fn fn, void *arg);
/* Wait for every job of the batch; returns the first error (its message
 * becomes this thread's) or SW_OK.  The wait clears the failure: the
 * batch can be reused afterwards. */
sw_err batch_wait(struct batch *b);
void batch_release(struct batch *b);

#endif
