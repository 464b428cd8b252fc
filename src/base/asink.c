/*
 * asink.c - a sink that passes its bytes on from a thread of its own.
 *
 * A ring of NBUF buffers: the producer fills the one at `fill`; a full
 * one is queued, and the thread takes queued buffers in order.  When
 * every buffer is queued, the producer waits for the thread.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/asink.h"
#include "base/util.h"

#define NBUF 3

struct asink {
	sw_sink_fn fn;
	void *arg;
	size_t chunk;
	int threaded;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;         /* a buffer was queued or freed; stop */
	struct buf bufs[NBUF];
	unsigned fill;             /* the producer's buffer */
	unsigned head, queued;     /* the oldest queued buffer; how many */
	int stop;
	sw_err rc;                 /* the first failure, sticky */
	char msg[1024];
};

static void *
asink_main(void *arg)
{
	struct asink *a = arg;
	struct buf *b;
	sw_err rc;

	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (a->queued == 0 && !a->stop)
			pthread_cond_wait(&a->cv, &a->mu);
		if (a->queued == 0)
			break;
		b = &a->bufs[a->head];
		pthread_mutex_unlock(&a->mu);
		/* after a failure the rest is dropped: it can only be
		 * returned as that failure */
		rc = a->rc == SW_OK ? a->fn(a->arg, b->data, b->len) : SW_OK;
		pthread_mutex_lock(&a->mu);
		if (rc != SW_OK && a->rc == SW_OK) {
			a->rc = rc;
			snprintf(a->msg, sizeof(a->msg), "%s", sw_errmsg());
		}
		b->len = 0;
		a->head = (a->head + 1) % NBUF;
		a->queued--;
		pthread_cond_broadcast(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

struct asink *
asink_new(sw_sink_fn fn, void *arg, size_t chunk)
{
	struct asink *a = xcalloc(1, sizeof(*a));
	unsigned i;

	a->fn = fn;
	a->arg = arg;
	a->chunk = chunk > 0 ? chunk : 1;
	for (i = 0; i < NBUF; i++)
		buf_init(&a->bufs[i]);
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->threaded = pthread_create(&a->thread, NULL, asink_main, a) == 0;
	return a;
}

/* Under the lock: the first failure, as this thread's error. */
static sw_err
failed(struct asink *a)
{
	return sw_seterr(a->rc, "%s", a->msg);
}

/* Queue the producer's buffer (unless it is empty or a write failed) and
 * take the next one, then wait until at most upto buffers are queued:
 * NBUF - 1 to write on, 0 to drain.  Under the lock. */
static void
queue_fill(struct asink *a, unsigned upto)
{
	if (a->bufs[a->fill].len > 0 && a->rc == SW_OK) {
		a->queued++;
		a->fill = (a->fill + 1) % NBUF;
		pthread_cond_broadcast(&a->cv);
	}
	while (a->queued > upto)
		pthread_cond_wait(&a->cv, &a->mu);
}

sw_err
asink_write(void *arg, const void *p, size_t n)
{
	struct asink *a = arg;
	const unsigned char *s = p;
	struct buf *b;
	size_t take;
	sw_err rc = SW_OK;

	if (!a->threaded)
		return a->fn(a->arg, p, n);
	pthread_mutex_lock(&a->mu);
	while (n > 0 && a->rc == SW_OK) {
		b = &a->bufs[a->fill];
		take = a->chunk - b->len < n ? a->chunk - b->len : n;
		/* the producer's buffer is its own: copy without the lock */
		pthread_mutex_unlock(&a->mu);
		buf_append(b, s, take);
		pthread_mutex_lock(&a->mu);
		s += take;
		n -= take;
		if (b->len == a->chunk)
			queue_fill(a, NBUF - 1);
	}
	if (a->rc != SW_OK)
		rc = failed(a);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

sw_err
asink_drain(struct asink *a)
{
	sw_err rc = SW_OK;

	if (!a->threaded)
		return SW_OK;
	pthread_mutex_lock(&a->mu);
	queue_fill(a, 0);
	if (a->rc != SW_OK)
		rc = failed(a);
	pthread_mutex_unlock(&a->mu);
	return rc;
}

void
asink_free(struct asink *a)
{
	unsigned i;

	if (a == NULL)
		return;
	if (a->threaded) {
		pthread_mutex_lock(&a->mu);
		a->stop = 1;
		pthread_cond_broadcast(&a->cv);
		pthread_mutex_unlock(&a->mu);
		pthread_join(a->thread, NULL);
	}
	for (i = 0; i < NBUF; i++)
		buf_release(&a->bufs[i]);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	free(a);
}
