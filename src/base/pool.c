/*
 * pool.c - worker threads with a bounded job queue.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pool.h"
#include "base/util.h"

struct job {
	struct job *next;
	struct batch *b;
	pool_job_fn fn;
	void *arg;
};

struct pool {
	pthread_mutex_t mu;
	pthread_cond_t work;     /* a job was queued, or stopping */
	pthread_cond_t room;     /* the queue has room again */
	struct job *head, *tail;
	unsigned queued, limit;
	int stopping;
	unsigned nthreads;
	pthread_t *threads;
};

static void
job_done(struct batch *b, sw_err rc)
{
	pthread_mutex_lock(&b->mu);
	if (rc != SW_OK) {
		if (b->failed++ == 0) {
			b->first_rc = rc;
			snprintf(b->first_msg, sizeof(b->first_msg), "%s",
			    sw_errmsg());
		}
	}
	if (--b->pending == 0)
		pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Run fn(arg) for batch b, unless an earlier job of a stop_on_error batch
 * failed, and count it done. */
static void
run_job(struct batch *b, pool_job_fn fn, void *arg)
{
	int skip;

	pthread_mutex_lock(&b->mu);
	skip = b->stop_on_error && b->failed > 0;
	pthread_mutex_unlock(&b->mu);
	job_done(b, skip ? SW_OK : fn(arg));
}

static void *
worker(void *arg)
{
	struct pool *p = arg;

	for (;;) {
		struct job *j;

		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		j = p->head;
		p->head = j->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->queued--;
		pthread_cond_signal(&p->room);
		pthread_mutex_unlock(&p->mu);

		run_job(j->b, j->fn, j->arg);
		free(j);
	}
}

sw_err
pool_new(unsigned nthreads, struct pool **out)
{
	struct pool *p;
	unsigned i;

	*out = NULL;
	if (nthreads == 0)
		nthreads = 1;
	p = xcalloc(1, sizeof(*p));
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->room, NULL);
	p->limit = nthreads * 4;
	p->threads = xcalloc(nthreads, sizeof(*p->threads));
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0)
			break;
		p->nthreads++;
	}
	if (p->nthreads == 0) {
		pool_free(p);
		return sw_seterr(SW_ERR_NOMEM, "cannot start worker threads");
	}
	*out = p;
	return SW_OK;
}

void
pool_free(struct pool *p)
{
	unsigned i;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->room);
	free(p->threads);
	free(p);
}

void
batch_init(struct batch *b, struct pool *p, int stop_on_error)
{
	memset(b, 0, sizeof(*b));
	b->pool = p;
	b->stop_on_error = stop_on_error;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
}

void
batch_submit(struct batch *b, pool_job_fn fn, void *arg)
{
	struct pool *p = b->pool;
	struct job *j;

	if (p == NULL) {
		pthread_mutex_lock(&b->mu);
		b->pending++;
		pthread_mutex_unlock(&b->mu);
		run_job(b, fn, arg);
		return;
	}
	j = xcalloc(1, sizeof(*j));
	j->b = b;
	j->fn = fn;
	j->arg = arg;
	pthread_mutex_lock(&b->mu);
	b->pending++;
	pthread_mutex_unlock(&b->mu);

	pthread_mutex_lock(&p->mu);
	while (p->queued >= p->limit)
		pthread_cond_wait(&p->room, &p->mu);
	if (p->tail != NULL)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	p->queued++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

sw_err
batch_wait(struct batch *b)
{
	sw_err rc;

	pthread_mutex_lock(&b->mu);
	while (b->pending > 0)
		pthread_cond_wait(&b->cv, &b->mu);
	rc = b->failed ? b->first_rc : SW_OK;
	if (rc != SW_OK)
		sw_seterr(rc, "%s", b->first_msg);
	b->failed = 0;
	b->first_rc = SW_OK;
	pthread_mutex_unlock(&b->mu);
	return rc;
}

void
batch_release(struct batch *b)
{
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
}
