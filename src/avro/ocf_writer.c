/*
 * ocf_writer.c - the streaming Object Container File writer (Avro 1.11
 * specification, "Object Container Files"), and ready-made sinks.  Our
 * own because avro-c's writer picks its sync marker from
 * srand(time(NULL)) and cannot write an already compressed block (ocf.h).
 *
 * Container layout written here:
 *   "Obj\x01"
 *   metadata map: long 2, {string "avro.codec", bytes codec},
 *                 {string "avro.schema", bytes schema}, long 0
 *   16-byte sync marker
 *   blocks: long count, long size, size bytes of (compressed) data, marker
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <snappy-c.h>
#include <zlib.h>

#include "avro/ocf.h"

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* Room kept in front of the compressed data for the two block longs. */
#define FRAME_HEAD (2 * ENC_LONG_MAX_BYTES)

struct ocf_writer {
	sw_sink_fn fn;
	void *arg;
	enum ocf_codec codec;
	unsigned char sync[OCF_SYNC_SIZE];
	size_t block_size;

	struct buf block;     /* encoded data of the open block */
	int64_t block_count;  /* its records */
	struct buf frame;     /* one framed block on its way to the sink */
	z_stream z;
	int z_ready;

	sw_err failed;        /* first error; every later call returns it */
	int finished;
	struct ocf_writer_stats st;
};

static sw_err
sink_out(struct ocf_writer *w, const void *p, size_t n)
{
	sw_err rc;

	if ((rc = w->fn(w->arg, p, n)) != SW_OK)
		return rc;
	w->st.bytes += n;
	return SW_OK;
}

/* Whether the writer may still be used (not failed, not finished). */
static sw_err
usable(const struct ocf_writer *w)
{
	if (w->failed != SW_OK)
		return sw_seterr(w->failed, "avro writer failed earlier");
	if (w->finished)
		return sw_seterr(SW_ERR_INTERNAL, "avro writer already finished");
	return SW_OK;
}

static sw_err
fail(struct ocf_writer *w, sw_err rc)
{
	if (rc != SW_OK && w->failed == SW_OK)
		w->failed = rc;
	return rc;
}

/* Compress n bytes into w->frame at offset FRAME_HEAD; *clen gets the
 * compressed size. */
static sw_err
compress_into_frame(struct ocf_writer *w, const void *data, size_t n,
    size_t *clen)
{
	size_t bound;
	char *dst;

	switch (w->codec) {
	case OCF_CODEC_NULL:
		bound = n;
		break;
	case OCF_CODEC_DEFLATE:
		if (n > UINT_MAX / 2)
			return sw_seterr(SW_ERR_INTERNAL,
			    "avro block of %zu bytes too large to deflate", n);
		bound = deflateBound(&w->z, (uLong)n);
		break;
	case OCF_CODEC_SNAPPY:
		bound = snappy_max_compressed_length(n) + 4;
		break;
	default:
		return sw_seterr(SW_ERR_INTERNAL, "unknown codec");
	}
	w->frame.len = 0;
	buf_reserve(&w->frame, FRAME_HEAD + bound + OCF_SYNC_SIZE);
	dst = w->frame.data + FRAME_HEAD;

	switch (w->codec) {
	case OCF_CODEC_NULL:
		if (n > 0)
			memcpy(dst, data, n);
		*clen = n;
		break;
	case OCF_CODEC_DEFLATE:
		if (deflateReset(&w->z) != Z_OK)
			return sw_seterr(SW_ERR_INTERNAL, "deflateReset failed");
		w->z.next_in = (Bytef *)(uintptr_t)data;
		w->z.avail_in = (uInt)n;
		w->z.next_out = (Bytef *)dst;
		w->z.avail_out = (uInt)bound;
		if (deflate(&w->z, Z_FINISH) != Z_STREAM_END)
			return sw_seterr(SW_ERR_INTERNAL, "deflate failed: %s",
			    w->z.msg ? w->z.msg : "output too small");
		*clen = bound - w->z.avail_out;
		break;
	case OCF_CODEC_SNAPPY: {
		size_t len = bound - 4;

		if (snappy_compress(data, n, dst, &len) != SNAPPY_OK)
			return sw_seterr(SW_ERR_INTERNAL,
			    "snappy_compress failed");
		put_be32((unsigned char *)dst + len, ocf_crc32(data, n));
		*clen = len + 4;
		break;
	}
	}
	return SW_OK;
}

/* Frame and send one block: the longs are written right before the
 * compressed data, the marker right after it, so the sink gets the whole
 * block in one call. */
static sw_err
write_block(struct ocf_writer *w, int64_t count, const void *data, size_t n)
{
	unsigned char head[FRAME_HEAD];
	size_t clen = 0, hlen;
	char *start;
	sw_err rc;

	if ((rc = compress_into_frame(w, data, n, &clen)) != SW_OK)
		return rc;
	hlen = enc_encode_long(count, head);
	hlen += enc_encode_long((int64_t)clen, head + hlen);
	start = w->frame.data + FRAME_HEAD - hlen;
	memcpy(start, head, hlen);
	memcpy(w->frame.data + FRAME_HEAD + clen, w->sync, OCF_SYNC_SIZE);
	if ((rc = sink_out(w, start, hlen + clen + OCF_SYNC_SIZE)) != SW_OK)
		return rc;
	w->st.records += (uint64_t)count;
	w->st.blocks++;
	return SW_OK;
}

static sw_err
flush_open_block(struct ocf_writer *w)
{
	sw_err rc;

	if (w->block_count == 0)
		return SW_OK;
	if ((rc = write_block(w, w->block_count, w->block.data,
	    w->block.len)) != SW_OK)
		return rc;
	w->block.len = 0;
	w->block_count = 0;
	return SW_OK;
}

static sw_err
write_header(struct ocf_writer *w, const char *schema_json)
{
	struct buf h = { 0 };
	const char *codec = ocf_codec_name(w->codec);
	sw_err rc;

	buf_append(&h, OCF_MAGIC, OCF_MAGIC_SIZE);
	enc_put_long(&h, 2);
	rc = enc_put_string(&h, "avro.codec", 10);
	if (!rc) rc = enc_put_bytes(&h, codec, strlen(codec));
	if (!rc) rc = enc_put_string(&h, "avro.schema", 11);
	if (!rc) rc = enc_put_bytes(&h, schema_json, strlen(schema_json));
	if (!rc) {
		enc_put_long(&h, 0);
		buf_append(&h, w->sync, OCF_SYNC_SIZE);
		rc = sink_out(w, h.data, h.len);
	}
	buf_release(&h);
	return rc;
}

sw_err
ocf_writer_new(const char *schema_json, const char *codec,
    const unsigned char *sync, size_t block_size, sw_sink_fn fn, void *arg,
    struct ocf_writer **out)
{
	struct ocf_writer *w;
	sw_err rc;

	*out = NULL;
	w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->block_size = block_size ? block_size : OCF_DEFAULT_BLOCK_SIZE;
	if ((rc = ocf_codec_parse(codec, &w->codec)) != SW_OK)
		goto out;
	if (schema_json == NULL || schema_json[0] == '\0') {
		rc = sw_seterr(SW_ERR_INTERNAL, "empty avro schema");
		goto out;
	}
	if (sync != NULL) {
		memcpy(w->sync, sync, OCF_SYNC_SIZE);
	} else if (RAND_bytes(w->sync, OCF_SYNC_SIZE) != 1) {
		rc = sw_seterr(SW_ERR_INTERNAL,
		    "cannot draw a random avro sync marker");
		goto out;
	}
	if (w->codec == OCF_CODEC_DEFLATE) {
		if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15,
		    8, Z_DEFAULT_STRATEGY) != Z_OK) {
			rc = sw_seterr(SW_ERR_NOMEM, "cannot start deflate");
			goto out;
		}
		w->z_ready = 1;
	}
	if ((rc = write_header(w, schema_json)) != SW_OK)
		goto out;
	*out = w;
	w = NULL;
out:
	ocf_writer_free(w);
	return rc;
}

sw_err
ocf_writer_append(struct ocf_writer *w, const void *datum, size_t n)
{
	sw_err rc;

	if ((rc = usable(w)) != SW_OK)
		return rc;
	if (w->block_count > 0 && w->block.len + n > w->block_size &&
	    (rc = flush_open_block(w)) != SW_OK)
		return fail(w, rc);
	buf_append(&w->block, datum, n);
	w->block_count++;
	return SW_OK;
}

sw_err
ocf_writer_flush(struct ocf_writer *w)
{
	sw_err rc;

	if ((rc = usable(w)) != SW_OK)
		return rc;
	return fail(w, flush_open_block(w));
}

/* Before a block given whole: the writer usable, count positive, and the
 * open block written out. */
static sw_err
whole_block(struct ocf_writer *w, int64_t count)
{
	sw_err rc;

	if ((rc = usable(w)) != SW_OK)
		return rc;
	if (count < 1)
		return sw_seterr(SW_ERR_DATA, "avro block count %lld is not "
		    "positive", (long long)count);
	return fail(w, flush_open_block(w));
}

sw_err
ocf_writer_append_block(struct ocf_writer *w, int64_t count, const void *data,
    size_t n)
{
	sw_err rc;

	if ((rc = whole_block(w, count)) != SW_OK)
		return rc;
	return fail(w, write_block(w, count, data, n));
}

sw_err
ocf_writer_append_raw_block(struct ocf_writer *w, int64_t count,
    const void *data, size_t n)
{
	unsigned char head[FRAME_HEAD];
	size_t hlen;
	sw_err rc;

	if (n > INT64_MAX)
		return sw_seterr(SW_ERR_DATA, "avro block too large");
	if ((rc = whole_block(w, count)) != SW_OK)
		return rc;
	/* three sink calls: copying a large block to join them costs more */
	hlen = enc_encode_long(count, head);
	hlen += enc_encode_long((int64_t)n, head + hlen);
	if (!rc) rc = sink_out(w, head, hlen);
	if (!rc && n > 0) rc = sink_out(w, data, n);
	if (!rc) rc = sink_out(w, w->sync, OCF_SYNC_SIZE);
	if (rc != SW_OK)
		return fail(w, rc);
	w->st.records += (uint64_t)count;
	w->st.blocks++;
	return SW_OK;
}

sw_err
ocf_writer_finish(struct ocf_writer *w)
{
	sw_err rc;

	if ((rc = ocf_writer_flush(w)) != SW_OK)
		return rc;
	w->finished = 1;
	return SW_OK;
}

void
ocf_writer_free(struct ocf_writer *w)
{
	if (w == NULL)
		return;
	if (w->z_ready)
		deflateEnd(&w->z);
	buf_release(&w->block);
	buf_release(&w->frame);
	free(w);
}

sw_err
ocf_writer_continue(const char *codec, const unsigned char *sync,
    size_t block_size, sw_sink_fn fn, void *arg, struct ocf_writer **out)
{
	struct ocf_writer *w;
	sw_err rc;

	*out = NULL;
	if (sync == NULL)
		return sw_seterr(SW_ERR_INTERNAL,
		    "continuing a container needs its sync marker");
	w = xcalloc(1, sizeof(*w));
	w->fn = fn;
	w->arg = arg;
	w->block_size = block_size ? block_size : OCF_DEFAULT_BLOCK_SIZE;
	memcpy(w->sync, sync, OCF_SYNC_SIZE);
	if ((rc = ocf_codec_parse(codec, &w->codec)) != SW_OK)
		goto out;
	if (w->codec == OCF_CODEC_DEFLATE) {
		if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15,
		    8, Z_DEFAULT_STRATEGY) != Z_OK) {
			rc = sw_seterr(SW_ERR_NOMEM, "cannot start deflate");
			goto out;
		}
		w->z_ready = 1;
	}
	*out = w;
	w = NULL;
out:
	ocf_writer_free(w);
	return rc;
}

const unsigned char *
ocf_writer_sync(const struct ocf_writer *w)
{
	return w->sync;
}

void
ocf_writer_stats(const struct ocf_writer *w, struct ocf_writer_stats *st)
{
	*st = w->st;
}

sw_err
ocf_sink_fd(void *arg, const void *p, size_t n)
{
	if (write_full(*(int *)arg, p, n) < 0)
		return sw_seterr(SW_ERR_IO, "cannot write: %s",
		    strerror(errno));
	return SW_OK;
}
