/*
 * t_pool.c - the worker pool: every job of a batch runs once, the first
 * failure (code and message) reaches the waiting thread, stop_on_error
 * skips what is still queued, batches share a pool and are reusable,
 * and a pool drains its queue before it is freed.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "base/err.h"
#include "base/pool.h"
#include "tap.h"

#define NJOBS 2000

static atomic_uint ran;
static unsigned char hits[NJOBS];

static sw_err
count_job(void *arg)
{
	hits[(size_t)arg]++;
	atomic_fetch_add(&ran, 1);
	return SW_OK;
}

/* Job 0 fails at once; the others take a moment, so some are still
 * queued when it fails. */
static sw_err
fail_first(void *arg)
{
	atomic_fetch_add(&ran, 1);
	if ((size_t)arg == 0)
		return sw_seterr(SW_ERR_PROTO, "job %zu failed", (size_t)arg);
	usleep(2000);
	return SW_OK;
}

static sw_err
fail_some(void *arg)
{
	atomic_fetch_add(&ran, 1);
	if ((size_t)arg % 7 == 3)
		return sw_seterr(SW_ERR_IO, "job %zu failed", (size_t)arg);
	return SW_OK;
}

struct two {
	struct pool *pool;
	unsigned base;
	sw_err rc;
};

static void *
submitter(void *arg)
{
	struct two *t = arg;
	struct batch b;
	size_t i;

	batch_init(&b, t->pool, 0);
	for (i = 0; i < NJOBS / 2; i++)
		batch_submit(&b, count_job, (void *)(t->base + i));
	t->rc = batch_wait(&b);
	batch_release(&b);
	return NULL;
}

int
main(void)
{
	struct pool *p;
	struct batch b;
	size_t i;
	int all;
	sw_err rc;

	ok(pool_new(4, &p) == SW_OK, "pool_new(4)");

	/* Every job once. */
	batch_init(&b, p, 0);
	for (i = 0; i < NJOBS; i++)
		batch_submit(&b, count_job, (void *)i);
	rc = batch_wait(&b);
	ok(rc == SW_OK, "a batch of %d jobs succeeds", NJOBS);
	for (all = 1, i = 0; i < NJOBS; i++)
		all &= hits[i] == 1;
	ok(all && ran == NJOBS, "each job ran exactly once (%u)", ran);

	/* The batch is reusable, and reports the first failure with its
	 * message in the waiting thread. */
	ran = 0;
	for (i = 0; i < 100; i++)
		batch_submit(&b, fail_some, (void *)i);
	rc = batch_wait(&b);
	ok(rc == SW_ERR_IO, "a failed job's code reaches batch_wait");
	ok(strstr(sw_errmsg(), "failed") != NULL, "and its message: %s",
	    sw_errmsg());
	ok(ran == 100, "without stop_on_error every job runs (%u)", ran);
	ok(batch_wait(&b) == SW_OK, "a wait starts the batch afresh: the "
	    "next wait (no new job) succeeds");
	batch_release(&b);

	/* stop_on_error: what is queued after a failure is skipped. */
	ran = 0;
	batch_init(&b, p, 1);
	for (i = 0; i < 400; i++)
		batch_submit(&b, fail_first, (void *)i);
	rc = batch_wait(&b);
	ok(rc == SW_ERR_PROTO, "stop_on_error: the failure is returned");
	ok(ran < 400, "and queued jobs are skipped (%u of 400 ran)", ran);
	batch_release(&b);

	/* Two threads' batches share the pool. */
	{
		struct two t[2] = { { p, 0, SW_OK }, { p, NJOBS / 2, SW_OK } };
		pthread_t th[2];

		memset(hits, 0, sizeof(hits));
		ran = 0;
		for (i = 0; i < 2; i++)
			pthread_create(&th[i], NULL, submitter, &t[i]);
		for (i = 0; i < 2; i++)
			pthread_join(th[i], NULL);
		for (all = 1, i = 0; i < NJOBS; i++)
			all &= hits[i] == 1;
		ok(t[0].rc == SW_OK && t[1].rc == SW_OK && all &&
		    ran == NJOBS, "two batches on one pool from two threads "
		    "each see their own jobs done");
	}

	/* An empty batch returns at once. */
	batch_init(&b, p, 0);
	ok(batch_wait(&b) == SW_OK, "an empty batch waits for nothing");
	batch_release(&b);
	pool_free(p);

	/* One worker: jobs still all run. */
	ok(pool_new(1, &p) == SW_OK, "pool_new(1)");
	ran = 0;
	batch_init(&b, p, 0);
	for (i = 0; i < 50; i++)
		batch_submit(&b, count_job, (void *)i);
	ok(batch_wait(&b) == SW_OK && ran == 50, "a one-worker pool runs "
	    "every job");
	batch_release(&b);
	pool_free(p);

	/* No pool: each job runs in batch_submit, in order, same errors. */
	ran = 0;
	batch_init(&b, NULL, 1);
	for (i = 0; i < 20; i++) {
		batch_submit(&b, fail_first, (void *)i);
		if (i == 0 && ran != 1)
			break;
	}
	rc = batch_wait(&b);
	ok(i == 20 && ran == 1, "without a pool a job runs in batch_submit; "
	    "stop_on_error skips the rest (%u ran)", ran);
	ok(rc == SW_ERR_PROTO && strstr(sw_errmsg(), "job 0 failed") != NULL,
	    "and batch_wait returns the failure: %s", sw_errmsg());
	batch_release(&b);
	return done_testing();
}
