/*
 * t_asink.c - the asynchronous sink: bytes reach the real sink whole and
 * in order whatever the sizes of the writes, the real sink runs on
 * another thread, a drain waits for everything written, and the real
 * sink's first failure (code and message) comes back to the writer and
 * stays, with nothing after it passed on.
 */
#include "config.h"

#include <pthread.h>
#include <unistd.h>

#include "base/asink.h"
#include "base/err.h"
#include "base/util.h"
#include "tap.h"

struct real {
	struct buf got;
	pthread_t caller;
	int other_thread;          /* every call came from another thread */
	size_t calls;
	size_t fail_after;         /* fail once this many bytes arrived */
	int slow;
};

static sw_err
real_sink(void *arg, const void *p, size_t n)
{
	struct real *r = arg;

	r->calls++;
	if (pthread_equal(pthread_self(), r->caller))
		r->other_thread = 0;
	if (r->slow)
		usleep(200);
	if (r->fail_after > 0 && r->got.len + n > r->fail_after)
		return sw_seterr(SW_ERR_IO, "cannot write 'day.avro': "
		    "No space left on device");
	buf_append(&r->got, p, n);
	return SW_OK;
}

static void
real_init(struct real *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->got);
	r->caller = pthread_self();
	r->other_thread = 1;
}

/* Byte i of the test stream. */
static unsigned char
byte_at(size_t i)
{
	return (unsigned char)(i * 131 + i / 251);
}

/* Write total bytes in pieces of 1, 2, ... up to maxpiece bytes. */
static sw_err
write_stream(struct asink *a, size_t total, size_t maxpiece)
{
	unsigned char piece[70000];
	size_t off = 0, n = 1, i;
	sw_err rc = SW_OK;

	while (off < total && rc == SW_OK) {
		if (n > total - off)
			n = total - off;
		for (i = 0; i < n; i++)
			piece[i] = byte_at(off + i);
		rc = asink_write(a, piece, n);
		off += n;
		n = n % maxpiece + 1 + n / 3;
		if (n > sizeof(piece))
			n = 1;
	}
	return rc;
}

static int
stream_ok(const struct buf *b, size_t total)
{
	size_t i;

	if (b->len != total)
		return 0;
	for (i = 0; i < total; i++)
		if ((unsigned char)b->data[i] != byte_at(i))
			return 0;
	return 1;
}

int
main(void)
{
	struct real r;
	struct asink *a;
	sw_err rc;
	size_t total = 3 * 1024 * 1024 + 12345, len;

	/* Many writes of odd sizes through a small chunk: in order. */
	real_init(&r);
	a = asink_new(real_sink, &r, 4096);
	rc = write_stream(a, total, 65536);
	ok(rc == SW_OK, "writes of 1 to 65536 bytes are taken");
	ok(asink_drain(a) == SW_OK, "drain returns SW_OK");
	ok(stream_ok(&r.got, total), "every byte reached the real sink, in "
	    "order (%zu of %zu)", r.got.len, total);
	ok(r.other_thread && r.calls > 0, "the real sink ran on another "
	    "thread (%zu calls)", r.calls);
	ok(r.calls <= total / 4096 + 1, "in chunks of the asked size "
	    "(%zu calls)", r.calls);

	/* After a drain the real sink's state is the caller's; writing
	 * goes on afterwards. */
	len = r.got.len;
	ok(asink_write(a, "tail", 4) == SW_OK && r.got.len == len,
	    "a write smaller than a chunk waits for the next drain");
	ok(asink_drain(a) == SW_OK && r.got.len == len + 4 &&
	    memcmp(r.got.data + len, "tail", 4) == 0, "and the next drain "
	    "passes it on");
	ok(asink_drain(a) == SW_OK && r.got.len == len + 4,
	    "a drain with nothing written passes nothing");
	asink_free(a);
	buf_release(&r.got);

	/* A slow real sink: the writer is held back, nothing is lost. */
	real_init(&r);
	r.slow = 1;
	a = asink_new(real_sink, &r, 1024);
	rc = write_stream(a, 300000, 5000);
	ok(rc == SW_OK && asink_drain(a) == SW_OK &&
	    stream_ok(&r.got, 300000), "a slow sink holds the writer back "
	    "and gets every byte");
	asink_free(a);
	buf_release(&r.got);

	/* The first failure comes back with its message, and stays. */
	real_init(&r);
	r.fail_after = 100000;
	a = asink_new(real_sink, &r, 8192);
	rc = write_stream(a, 1000000, 30000);
	if (rc == SW_OK)
		rc = asink_drain(a);
	ok(rc == SW_ERR_IO && strstr(sw_errmsg(), "cannot write 'day.avro'") !=
	    NULL, "the real sink's failure reaches the writer: %s",
	    sw_errmsg());
	ok(r.got.len <= 100000 && stream_ok(&r.got, r.got.len),
	    "what was passed on before it is whole (%zu bytes)", r.got.len);
	len = r.got.len;
	sw_seterr(SW_OK, "%s", "");
	ok(asink_write(a, "more", 4) == SW_ERR_IO &&
	    strstr(sw_errmsg(), "No space left") != NULL,
	    "a later write returns the same failure");
	ok(asink_drain(a) == SW_ERR_IO && r.got.len == len,
	    "and so does a drain; nothing after it was passed on");
	asink_free(a);
	buf_release(&r.got);

	/* Freed without a drain: the thread stops, nothing leaks. */
	real_init(&r);
	a = asink_new(real_sink, &r, 512);
	ok(write_stream(a, 10000, 700) == SW_OK, "writes before a free");
	asink_free(a);
	ok(r.got.len <= 10000 && stream_ok(&r.got, r.got.len),
	    "a free without a drain passes on only whole chunks, in order");
	buf_release(&r.got);
	asink_free(NULL);
	ok(1, "asink_free(NULL) does nothing");
	return done_testing();
}
