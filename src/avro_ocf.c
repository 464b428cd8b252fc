/*
 * avro_ocf.c - Avro binary encoding, block codecs and a streaming Object
 * Container File writer (Avro 1.11 specification, "Object Container
 * Files").
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

#include "avro_ocf.h"

/*
 * The raw file schema, field for field as COLD_TIER.md gives it.  Kept in
 * one line of JSON without spaces so it is also a stable string to compare.
 */
const char ocf_rawdatum_schema[] =
	"{\"type\":\"record\",\"name\":\"RawDatum\","
	"\"namespace\":\"amazon.aws.iot.sitewise.raw\",\"fields\":["
	"{\"name\":\"seriesId\",\"type\":\"string\"},"
	"{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
	"{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
	"{\"name\":\"quality\",\"type\":\"string\"},"
	"{\"name\":\"doubleValue\",\"type\":[\"null\",\"double\"],\"default\":null},"
	"{\"name\":\"stringValue\",\"type\":[\"null\",\"string\"],\"default\":null},"
	"{\"name\":\"integerValue\",\"type\":[\"null\",\"int\"],\"default\":null},"
	"{\"name\":\"booleanValue\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
	"{\"name\":\"jsonValue\",\"type\":[\"null\",\"string\"],\"default\":null},"
	"{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"],\"default\":null}"
	"]}";

/* ---- binary encoding ---------------------------------------------------- */

size_t
avro_encode_long(int64_t v, unsigned char *out)
{
	/* zigzag: 0, -1, 1, -2 ... -> 0, 1, 2, 3 ... (no signed shifts) */
	uint64_t u = ((uint64_t)v << 1) ^ (0 - ((uint64_t)v >> 63));
	size_t n = 0;

	while (u >= 0x80) {
		out[n++] = (unsigned char)(u | 0x80);
		u >>= 7;
	}
	out[n++] = (unsigned char)u;
	return n;
}

sw_err
avro_put_long(struct buf *b, int64_t v)
{
	unsigned char tmp[AVRO_LONG_MAX_BYTES];

	return buf_append(b, tmp, avro_encode_long(v, tmp));
}

sw_err
avro_put_int(struct buf *b, int32_t v)
{
	return avro_put_long(b, v);
}

sw_err
avro_put_bytes(struct buf *b, const void *p, size_t n)
{
	sw_err rc;

	if (n > INT64_MAX)
		return sw_seterr(SW_ERR_INTERNAL, "avro bytes too long");
	if ((rc = buf_reserve(b, AVRO_LONG_MAX_BYTES + n)) != SW_OK)
		return rc;
	if ((rc = avro_put_long(b, (int64_t)n)) != SW_OK)
		return rc;
	return buf_append(b, p, n);
}

sw_err
avro_put_string(struct buf *b, const char *s, size_t n)
{
	return avro_put_bytes(b, s, n);
}

sw_err
avro_put_double(struct buf *b, double v)
{
	unsigned char tmp[8];
	uint64_t u;
	int i;

	memcpy(&u, &v, sizeof(u));
	for (i = 0; i < 8; i++)
		tmp[i] = (unsigned char)(u >> (8 * i));
	return buf_append(b, tmp, sizeof(tmp));
}

sw_err
avro_put_float(struct buf *b, float v)
{
	unsigned char tmp[4];
	uint32_t u;
	int i;

	memcpy(&u, &v, sizeof(u));
	for (i = 0; i < 4; i++)
		tmp[i] = (unsigned char)(u >> (8 * i));
	return buf_append(b, tmp, sizeof(tmp));
}

sw_err
avro_put_boolean(struct buf *b, int v)
{
	unsigned char c = v ? 1 : 0;

	return buf_append(b, &c, 1);
}

sw_err
avro_put_union_index(struct buf *b, int64_t idx)
{
	return avro_put_long(b, idx);
}

sw_err
avro_get_long(const unsigned char **p, const unsigned char *end, int64_t *out)
{
	const unsigned char *q = *p;
	uint64_t u = 0;
	unsigned shift = 0;
	unsigned char c;

	for (;;) {
		if (q >= end)
			return sw_seterr(SW_ERR_DATA, "truncated avro long");
		c = *q++;
		if (shift == 63 && c > 1)
			return sw_seterr(SW_ERR_DATA,
			    "avro long longer than 64 bits");
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
	}
	/* un-zigzag without signed overflow */
	u = (u >> 1) ^ (0 - (u & 1));
	memcpy(out, &u, sizeof(*out));
	*p = q;
	return SW_OK;
}

sw_err
avro_get_int(const unsigned char **p, const unsigned char *end, int32_t *out)
{
	const unsigned char *q = *p;
	int64_t v = 0;
	sw_err rc;

	if ((rc = avro_get_long(&q, end, &v)) != SW_OK)
		return rc;
	if (v < INT32_MIN || v > INT32_MAX)
		return sw_seterr(SW_ERR_DATA, "avro int out of range: %lld",
		    (long long)v);
	*out = (int32_t)v;
	*p = q;
	return SW_OK;
}

sw_err
avro_get_bytes(const unsigned char **p, const unsigned char *end,
    const unsigned char **data, size_t *n)
{
	const unsigned char *q = *p;
	int64_t len = 0;
	sw_err rc;

	if ((rc = avro_get_long(&q, end, &len)) != SW_OK)
		return rc;
	if (len < 0)
		return sw_seterr(SW_ERR_DATA, "negative avro length %lld",
		    (long long)len);
	if ((uint64_t)len > (uint64_t)(end - q))
		return sw_seterr(SW_ERR_DATA,
		    "avro length %lld runs past the end of its block",
		    (long long)len);
	*data = q;
	*n = (size_t)len;
	*p = q + len;
	return SW_OK;
}

sw_err
avro_get_string(const unsigned char **p, const unsigned char *end,
    const char **s, size_t *n)
{
	const unsigned char *d = NULL;
	sw_err rc;

	if ((rc = avro_get_bytes(p, end, &d, n)) != SW_OK)
		return rc;
	*s = (const char *)d;
	return SW_OK;
}

sw_err
avro_get_double(const unsigned char **p, const unsigned char *end,
    double *out)
{
	uint64_t u = 0;
	int i;

	if (end - *p < 8)
		return sw_seterr(SW_ERR_DATA, "truncated avro double");
	for (i = 0; i < 8; i++)
		u |= (uint64_t)(*p)[i] << (8 * i);
	memcpy(out, &u, sizeof(*out));
	*p += 8;
	return SW_OK;
}

sw_err
avro_get_float(const unsigned char **p, const unsigned char *end, float *out)
{
	uint32_t u = 0;
	int i;

	if (end - *p < 4)
		return sw_seterr(SW_ERR_DATA, "truncated avro float");
	for (i = 0; i < 4; i++)
		u |= (uint32_t)(*p)[i] << (8 * i);
	memcpy(out, &u, sizeof(*out));
	*p += 4;
	return SW_OK;
}

sw_err
avro_get_boolean(const unsigned char **p, const unsigned char *end, int *out)
{
	if (*p >= end)
		return sw_seterr(SW_ERR_DATA, "truncated avro boolean");
	if (**p > 1)
		return sw_seterr(SW_ERR_DATA, "bad avro boolean byte 0x%02x",
		    **p);
	*out = **p;
	(*p)++;
	return SW_OK;
}

sw_err
avro_get_union_index(const unsigned char **p, const unsigned char *end,
    size_t nbranches, size_t *out)
{
	const unsigned char *q = *p;
	int64_t v = 0;
	sw_err rc;

	if ((rc = avro_get_long(&q, end, &v)) != SW_OK)
		return rc;
	if (v < 0 || (uint64_t)v >= nbranches)
		return sw_seterr(SW_ERR_DATA,
		    "avro union branch %lld out of range (%zu branches)",
		    (long long)v, nbranches);
	*out = (size_t)v;
	*p = q;
	return SW_OK;
}

/* ---- codecs ------------------------------------------------------------- */

static const char *const codec_names[] = {
	[OCF_CODEC_NULL] = "null",
	[OCF_CODEC_DEFLATE] = "deflate",
	[OCF_CODEC_SNAPPY] = "snappy",
};

sw_err
ocf_codec_parse(const char *name, enum ocf_codec *out)
{
	size_t i;

	for (i = 0; i < sizeof(codec_names) / sizeof(codec_names[0]); i++) {
		if (strcmp(name, codec_names[i]) == 0) {
			*out = (enum ocf_codec)i;
			return SW_OK;
		}
	}
	return sw_seterr(SW_ERR_DATA, "unsupported avro codec '%s'", name);
}

const char *
ocf_codec_name(enum ocf_codec c)
{
	if ((unsigned)c >= sizeof(codec_names) / sizeof(codec_names[0]))
		return "?";
	return codec_names[c];
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static uint32_t
crc32_of(const void *p, size_t n)
{
	return (uint32_t)crc32_z(crc32_z(0, Z_NULL, 0), p, n);
}

static sw_err
inflate_block(const void *in, size_t n, size_t max_out, struct buf *out)
{
	z_stream z;
	size_t room;
	int zr;
	sw_err rc = SW_OK;

	if (n > UINT_MAX)
		return sw_seterr(SW_ERR_DATA, "deflate block too large");
	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, -15) != Z_OK)
		return sw_seterr(SW_ERR_NOMEM, "cannot start inflate");
	z.next_in = (Bytef *)(uintptr_t)in;
	z.avail_in = (uInt)n;
	do {
		if (out->len >= max_out) {
			rc = sw_seterr(SW_ERR_DATA,
			    "deflate block inflates past %zu bytes", max_out);
			goto out;
		}
		/* grow by at least the input size, within the limit */
		room = n * 2 + 4096;
		if (room > max_out - out->len)
			room = max_out - out->len;
		if (room > UINT_MAX)
			room = UINT_MAX;
		if ((rc = buf_reserve(out, room)) != SW_OK)
			goto out;
		z.next_out = (Bytef *)out->data + out->len;
		z.avail_out = (uInt)room;
		zr = inflate(&z, Z_NO_FLUSH);
		out->len += room - z.avail_out;
		out->data[out->len] = '\0';
		if (zr == Z_STREAM_END)
			break;
		if (zr == Z_BUF_ERROR && z.avail_in == 0) {
			rc = sw_seterr(SW_ERR_DATA, "truncated deflate block");
			goto out;
		}
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			rc = sw_seterr(SW_ERR_DATA, "corrupt deflate block: %s",
			    z.msg ? z.msg : "inflate failed");
			goto out;
		}
	} while (1);
out:
	inflateEnd(&z);
	return rc;
}

static sw_err
unsnappy_block(const unsigned char *in, size_t n, size_t max_out,
    struct buf *out)
{
	size_t len;
	sw_err rc;

	if (n < 4)
		return sw_seterr(SW_ERR_DATA, "snappy block shorter than its crc");
	n -= 4;
	if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK)
		return sw_seterr(SW_ERR_DATA, "corrupt snappy block header");
	if (len > max_out)
		return sw_seterr(SW_ERR_DATA,
		    "snappy block claims %zu bytes, more than %zu", len,
		    max_out);
	if ((rc = buf_reserve(out, len)) != SW_OK)
		return rc;
	if (snappy_uncompress((const char *)in, n, out->data, &len) !=
	    SNAPPY_OK)
		return sw_seterr(SW_ERR_DATA, "corrupt snappy block");
	out->len = len;
	out->data[len] = '\0';
	if (crc32_of(out->data, len) != get_be32(in + n))
		return sw_seterr(SW_ERR_DATA, "snappy block crc mismatch");
	return SW_OK;
}

sw_err
ocf_decompress(enum ocf_codec c, const void *in, size_t n, size_t max_out,
    struct buf *out)
{
	out->len = 0;
	if (out->data != NULL)
		out->data[0] = '\0';
	switch (c) {
	case OCF_CODEC_NULL:
		if (n > max_out)
			return sw_seterr(SW_ERR_DATA,
			    "block of %zu bytes, more than %zu", n, max_out);
		return buf_append(out, in, n);
	case OCF_CODEC_DEFLATE:
		return inflate_block(in, n, max_out, out);
	case OCF_CODEC_SNAPPY:
		return unsnappy_block(in, n, max_out, out);
	}
	return sw_seterr(SW_ERR_INTERNAL, "unknown codec %d", (int)c);
}

/* ---- container writer --------------------------------------------------- */

/* Room kept in front of the compressed data for the two block longs. */
#define FRAME_HEAD (2 * AVRO_LONG_MAX_BYTES)

struct ocf_writer {
	store_sink_fn fn;
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
	sw_err rc;

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
	if ((rc = buf_reserve(&w->frame, FRAME_HEAD + bound + OCF_SYNC_SIZE)) !=
	    SW_OK)
		return rc;
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
		put_be32((unsigned char *)dst + len, crc32_of(data, n));
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

	if (count < 1)
		return sw_seterr(SW_ERR_DATA, "avro block count %lld is not "
		    "positive", (long long)count);
	if ((rc = compress_into_frame(w, data, n, &clen)) != SW_OK)
		return rc;
	hlen = avro_encode_long(count, head);
	hlen += avro_encode_long((int64_t)clen, head + hlen);
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
	sw_err rc = SW_OK;

	if (!rc) rc = buf_append(&h, OCF_MAGIC, OCF_MAGIC_SIZE);
	if (!rc) rc = avro_put_long(&h, 2);
	if (!rc) rc = avro_put_string(&h, "avro.codec", 10);
	if (!rc) rc = avro_put_bytes(&h, codec, strlen(codec));
	if (!rc) rc = avro_put_string(&h, "avro.schema", 11);
	if (!rc) rc = avro_put_bytes(&h, schema_json, strlen(schema_json));
	if (!rc) rc = avro_put_long(&h, 0);
	if (!rc) rc = buf_append(&h, w->sync, OCF_SYNC_SIZE);
	if (!rc) rc = sink_out(w, h.data, h.len);
	buf_release(&h);
	return rc;
}

sw_err
ocf_writer_new(const char *schema_json, const char *codec,
    const unsigned char *sync, size_t block_size, store_sink_fn fn, void *arg,
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
	if ((rc = buf_append(&w->block, datum, n)) != SW_OK)
		return fail(w, rc);
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

sw_err
ocf_writer_append_block(struct ocf_writer *w, int64_t count, const void *data,
    size_t n)
{
	sw_err rc;

	if ((rc = usable(w)) != SW_OK)
		return rc;
	if (count < 1)
		return sw_seterr(SW_ERR_DATA, "avro block count %lld is not "
		    "positive", (long long)count);
	if ((rc = flush_open_block(w)) != SW_OK)
		return fail(w, rc);
	return fail(w, write_block(w, count, data, n));
}

sw_err
ocf_writer_append_raw_block(struct ocf_writer *w, int64_t count,
    const void *data, size_t n)
{
	unsigned char head[FRAME_HEAD];
	size_t hlen;
	sw_err rc;

	if ((rc = usable(w)) != SW_OK)
		return rc;
	if (count < 1)
		return sw_seterr(SW_ERR_DATA, "avro block count %lld is not "
		    "positive", (long long)count);
	if (n > INT64_MAX)
		return sw_seterr(SW_ERR_DATA, "avro block too large");
	if ((rc = flush_open_block(w)) != SW_OK)
		return fail(w, rc);
	/* three sink calls: copying a large block to join them costs more */
	hlen = avro_encode_long(count, head);
	hlen += avro_encode_long((int64_t)n, head + hlen);
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

	if ((rc = usable(w)) != SW_OK)
		return rc;
	if ((rc = flush_open_block(w)) != SW_OK)
		return fail(w, rc);
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
ocf_sink_buf(void *arg, const void *p, size_t n)
{
	return buf_append(arg, p, n);
}

sw_err
ocf_sink_fd(void *arg, const void *p, size_t n)
{
	int fd = *(int *)arg;
	const char *q = p;
	ssize_t k;

	while (n > 0) {
		k = write(fd, q, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sw_seterr(SW_ERR_IO, "cannot write: %s",
			    strerror(errno));
		q += k;
		n -= (size_t)k;
	}
	return SW_OK;
}
