/*
 * ocf.c - Avro binary encoding, block codecs, schemas (a strict check of
 * the JSON, then avro-c's parse and comparison), a checking walk of data
 * and a streaming Object Container File writer and reader (Avro 1.11
 * specification, "Object Container Files").  ocf.h says which parts are
 * avro-c's and why the others are not.
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

#include <sys/stat.h>

#include <avro.h>
#include <jansson.h>
#include <openssl/rand.h>
#include <snappy-c.h>
#include <zlib.h>

#include "avro/ocf.h"

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
enc_encode_long(int64_t v, unsigned char *out)
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
enc_put_long(struct buf *b, int64_t v)
{
	unsigned char tmp[ENC_LONG_MAX_BYTES];

	return buf_append(b, tmp, enc_encode_long(v, tmp));
}

sw_err
enc_put_int(struct buf *b, int32_t v)
{
	return enc_put_long(b, v);
}

sw_err
enc_put_bytes(struct buf *b, const void *p, size_t n)
{
	sw_err rc;

	if (n > INT64_MAX)
		return sw_seterr(SW_ERR_INTERNAL, "avro bytes too long");
	if ((rc = buf_reserve(b, ENC_LONG_MAX_BYTES + n)) != SW_OK)
		return rc;
	if ((rc = enc_put_long(b, (int64_t)n)) != SW_OK)
		return rc;
	return buf_append(b, p, n);
}

sw_err
enc_put_string(struct buf *b, const char *s, size_t n)
{
	return enc_put_bytes(b, s, n);
}

sw_err
enc_put_double(struct buf *b, double v)
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
enc_put_float(struct buf *b, float v)
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
enc_put_boolean(struct buf *b, int v)
{
	unsigned char c = v ? 1 : 0;

	return buf_append(b, &c, 1);
}

sw_err
enc_put_union_index(struct buf *b, int64_t idx)
{
	return enc_put_long(b, idx);
}

sw_err
enc_get_long(const unsigned char **p, const unsigned char *end, int64_t *out)
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
enc_get_int(const unsigned char **p, const unsigned char *end, int32_t *out)
{
	const unsigned char *q = *p;
	int64_t v = 0;
	sw_err rc;

	if ((rc = enc_get_long(&q, end, &v)) != SW_OK)
		return rc;
	if (v < INT32_MIN || v > INT32_MAX)
		return sw_seterr(SW_ERR_DATA, "avro int out of range: %lld",
		    (long long)v);
	*out = (int32_t)v;
	*p = q;
	return SW_OK;
}

sw_err
enc_get_bytes(const unsigned char **p, const unsigned char *end,
    const unsigned char **data, size_t *n)
{
	const unsigned char *q = *p;
	int64_t len = 0;
	sw_err rc;

	if ((rc = enc_get_long(&q, end, &len)) != SW_OK)
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
enc_get_string(const unsigned char **p, const unsigned char *end,
    const char **s, size_t *n)
{
	const unsigned char *d = NULL;
	sw_err rc;

	if ((rc = enc_get_bytes(p, end, &d, n)) != SW_OK)
		return rc;
	*s = (const char *)d;
	return SW_OK;
}

sw_err
enc_get_double(const unsigned char **p, const unsigned char *end,
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
enc_get_float(const unsigned char **p, const unsigned char *end, float *out)
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
enc_get_boolean(const unsigned char **p, const unsigned char *end, int *out)
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
enc_get_union_index(const unsigned char **p, const unsigned char *end,
    size_t nbranches, size_t *out)
{
	const unsigned char *q = *p;
	int64_t v = 0;
	sw_err rc;

	if ((rc = enc_get_long(&q, end, &v)) != SW_OK)
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

/*
 * CRC-32 (zlib's) of every snappy block: on x86-64 with PCLMULQDQ, the
 * 16-byte chunks are folded with carry-less multiplications (Intel's "Fast
 * CRC Computation for Generic Polynomials Using PCLMULQDQ", the constants
 * of its bit-reflected CRC-32 as in Chromium's zlib), three to four times
 * as fast as the zlib 1.2.13 that Debian ships; the rest goes to zlib.
 * The merge checks every block's CRC, so this is a good share of its time.
 */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))

__attribute__((target("sse4.1,pclmul")))
static uint32_t
crc32_fold(const unsigned char *buf, size_t len, uint32_t crc)
{
	/* len >= 64, a multiple of 16; crc and the result not inverted */
	const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);
	const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);
	const __m128i k5k0 = _mm_set_epi64x(0, 0x0163cd6124);
	const __m128i poly = _mm_set_epi64x(0x01f7011641, 0x01db710641);
	const __m128i mask = _mm_setr_epi32(~0, 0, ~0, 0);
	__m128i x0, x1, x2, x3, x4, x5, x6, x7, x8, y5, y6, y7, y8;

	x1 = LOAD128(buf + 0x00);
	x2 = LOAD128(buf + 0x10);
	x3 = LOAD128(buf + 0x20);
	x4 = LOAD128(buf + 0x30);
	x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
	x0 = k1k2;
	buf += 64;
	len -= 64;
	while (len >= 64) {
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
		x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
		x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
		x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
		x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
		y5 = LOAD128(buf + 0x00);
		y6 = LOAD128(buf + 0x10);
		y7 = LOAD128(buf + 0x20);
		y8 = LOAD128(buf + 0x30);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), y5);
		x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), y6);
		x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), y7);
		x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), y8);
		buf += 64;
		len -= 64;
	}
	/* fold the four into one */
	x0 = k3k4;
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
	x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
	x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
	x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
	x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
	while (len >= 16) {
		x2 = LOAD128(buf);
		x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
		x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
		x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
		buf += 16;
		len -= 16;
	}
	/* 128 -> 64 bits */
	x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
	x1 = _mm_srli_si128(x1, 8);
	x1 = _mm_xor_si128(x1, x2);
	x0 = k5k0;
	x2 = _mm_srli_si128(x1, 4);
	x1 = _mm_and_si128(x1, mask);
	x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
	x1 = _mm_xor_si128(x1, x2);
	/* Barrett reduction to 32 bits */
	x0 = poly;
	x2 = _mm_and_si128(x1, mask);
	x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
	x2 = _mm_and_si128(x2, mask);
	x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
	x1 = _mm_xor_si128(x1, x2);
	return (uint32_t)_mm_extract_epi32(x1, 1);
}

/* libgcc fills the CPU model in a constructor: cheap, thread-safe. */
static int
have_pclmul(void)
{
	return __builtin_cpu_supports("pclmul") &&
	    __builtin_cpu_supports("sse4.1");
}
#endif

uint32_t
ocf_crc32(const void *p, size_t n)
{
	const unsigned char *q = p;
	uint32_t crc = (uint32_t)crc32_z(0, Z_NULL, 0);

#if defined(__x86_64__) && defined(__GNUC__)
	if (n >= 64 && have_pclmul()) {
		size_t chunk = n & ~(size_t)15;

		crc = ~crc32_fold(q, chunk, ~crc);
		q += chunk;
		n -= chunk;
	}
#endif
	return (uint32_t)crc32_z(crc, q, n);
}

static uint32_t
crc32_of(const void *p, size_t n)
{
	return ocf_crc32(p, n);
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
	sw_err rc = SW_OK;

	if (!rc) rc = buf_append(&h, OCF_MAGIC, OCF_MAGIC_SIZE);
	if (!rc) rc = enc_put_long(&h, 2);
	if (!rc) rc = enc_put_string(&h, "avro.codec", 10);
	if (!rc) rc = enc_put_bytes(&h, codec, strlen(codec));
	if (!rc) rc = enc_put_string(&h, "avro.schema", 11);
	if (!rc) rc = enc_put_bytes(&h, schema_json, strlen(schema_json));
	if (!rc) rc = enc_put_long(&h, 0);
	if (!rc) rc = buf_append(&h, w->sync, OCF_SYNC_SIZE);
	if (!rc) rc = sink_out(w, h.data, h.len);
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

/* ---- schemas ------------------------------------------------------------ */

/*
 * A writer schema comes from the file, so from anyone who can write to the
 * cold tier, and avro-c's parser is not hardened against hostile input (a
 * type defined twice leaks memory in 1.11.1, its parser recurses as deep
 * as the JSON nests, and it takes a record with two fields of one name or
 * a union of two ints).  So the JSON is first checked here, strictly and
 * within bounds (schema_check()): size, nesting, names, duplicates, union
 * rules, references to known types.  Only then does avro-c parse it, and
 * the tree our walk and the merge's plan use is built from avro-c's parse
 * (node_of()), so that both read a schema the same way.
 */

/* How deep a schema's JSON, or a datum, may nest. */
#define OCF_MAX_DEPTH 64

/*
 * The record walk that checks block counts runs over every record of
 * every input, so the root type is also compiled into a flat program
 * when it allows: a record's fields (nested records inlined) as one op
 * each, a union's branches as one op each.  Arrays, maps and records
 * inside unions fall back to skip_datum().
 */
enum wop_code {
	W_NULL, W_BOOL, W_INT, W_LONG, W_FLOAT, W_DOUBLE, W_BYTES, W_FIXED,
	W_ENUM, W_UNION, W_GENERIC
};

struct wop {
	enum wop_code code;
	size_t n;                    /* fixed size, symbols, branches */
	size_t first;                /* union: its first op in br[] */
	const struct ocf_node *node; /* generic */
};

/* A named type of avro-c's parse and its node. */
struct named_node {
	avro_schema_t avro;
	struct ocf_node *node;
};

struct ocf_schema {
	int refs;
	avro_schema_t avro;          /* avro-c's parse (a reference) */
	struct ocf_node *root;
	void **mem;                  /* every allocation, freed together */
	size_t nmem, capmem;
	struct named_node *named;    /* named types met building the tree */
	size_t nnamed, capnamed;
	struct wop *top, *br;        /* the flat walk of the root type */
	size_t ntop, nbr, captop, capbr;
	int rawdatum;                /* ... is RawDatum's: walk_rawdatum() */
};

static const char *const type_names[] = {
	[OCF_NULL] = "null", [OCF_BOOLEAN] = "boolean", [OCF_INT] = "int",
	[OCF_LONG] = "long", [OCF_FLOAT] = "float", [OCF_DOUBLE] = "double",
	[OCF_BYTES] = "bytes", [OCF_STRING] = "string",
	[OCF_RECORD] = "record", [OCF_ENUM] = "enum", [OCF_ARRAY] = "array",
	[OCF_MAP] = "map", [OCF_UNION] = "union", [OCF_FIXED] = "fixed",
};

const char *
ocf_type_name(enum ocf_type t)
{
	if ((unsigned)t >= sizeof(type_names) / sizeof(type_names[0]))
		return "?";
	return type_names[t];
}

const char *
ocf_short_name(const char *full_name)
{
	const char *dot = strrchr(full_name, '.');

	return dot ? dot + 1 : full_name;
}

static int
primitive_type(const char *name, enum ocf_type *t)
{
	int i;

	for (i = OCF_NULL; i <= OCF_STRING; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*t = (enum ocf_type)i;
			return 1;
		}
	}
	return 0;
}

/* [A-Za-z_][A-Za-z0-9_]*, n bytes */
static int
valid_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    c == '_' || (i > 0 && c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

/* Names joined by dots. */
static int
valid_full_name(const char *s)
{
	const char *dot;

	for (;;) {
		dot = strchr(s, '.');
		if (dot == NULL)
			return valid_name(s, strlen(s));
		if (!valid_name(s, (size_t)(dot - s)))
			return 0;
		s = dot + 1;
	}
}

/* ---- the check in front of avro-c ---- */

/* What the check knows of a type: enough to refuse a union with two
 * branches of one type. */
struct shape {
	enum ocf_type type;
	const char *name;            /* full name of a named type */
};

struct check {
	struct {
		char *name;          /* full name */
		enum ocf_type type;
		char *space;         /* the namespace its nested types inherit */
	} *names;
	size_t nnames, capnames;
};

static void
check_release(struct check *c)
{
	size_t i;

	for (i = 0; i < c->nnames; i++) {
		free(c->names[i].name);
		free(c->names[i].space);
	}
	free(c->names);
}

static const struct shape *
find_named(const struct check *c, const char *full, struct shape *out)
{
	size_t i;

	for (i = 0; i < c->nnames; i++) {
		if (strcmp(c->names[i].name, full) == 0) {
			out->type = c->names[i].type;
			out->name = c->names[i].name;
			return out;
		}
	}
	return NULL;
}

/* A reference to a named type from namespace ns: the spec qualifies a
 * name without a dot with the enclosing namespace; like Java's parser,
 * fall back to the name alone (the null namespace). */
static const struct shape *
lookup_named(const struct check *c, const char *name, const char *ns,
    struct shape *out)
{
	const struct shape *t = NULL;
	struct buf b = { 0 };

	if (strchr(name, '.') == NULL && ns != NULL && *ns != '\0' &&
	    buf_printf(&b, "%s.%s", ns, name) == SW_OK)
		t = find_named(c, b.data, out);
	buf_release(&b);
	return t ? t : find_named(c, name, out);
}

static sw_err check_type(struct check *c, json_t *j, const char *ns,
    int depth, struct shape *out);

/* Register the named type of object j; *inner_ns gets the namespace its
 * own nested types inherit (owned by the check). */
static sw_err
check_named(struct check *c, json_t *j, const char *ns, enum ocf_type t,
    struct shape *out, const char **inner_ns)
{
	json_t *jn = json_object_get(j, "name");
	json_t *jns = json_object_get(j, "namespace");
	const char *name, *space = ns, *dot;
	struct shape seen;
	enum ocf_type prim;
	struct buf full = { 0 };
	size_t i;
	sw_err rc = SW_OK;

	if (!json_is_string(jn))
		return sw_seterr(SW_ERR_DATA, "%s without a name",
		    type_names[t]);
	name = json_string_value(jn);
	if (jns != NULL && !json_is_null(jns)) {
		if (!json_is_string(jns))
			return sw_seterr(SW_ERR_DATA, "namespace of '%s' is "
			    "not a string", name);
		space = json_string_value(jns);
	}
	if (strchr(name, '.') == NULL && space != NULL && *space != '\0')
		rc = buf_printf(&full, "%s.%s", space, name);
	else
		rc = buf_puts(&full, name);
	if (rc != SW_OK)
		goto out;
	if (!valid_full_name(full.data)) {
		rc = sw_seterr(SW_ERR_DATA, "'%s' is not a valid avro name",
		    full.data);
		goto out;
	}
	if (primitive_type(ocf_short_name(full.data), &prim)) {
		rc = sw_seterr(SW_ERR_DATA, "a %s may not be named '%s'",
		    type_names[t], full.data);
		goto out;
	}
	if (find_named(c, full.data, &seen) != NULL) {
		rc = sw_seterr(SW_ERR_DATA, "type '%s' is defined twice",
		    full.data);
		goto out;
	}
	if (c->nnames == c->capnames) {
		c->capnames = c->capnames ? 2 * c->capnames : 8;
		c->names = xrealloc(c->names, c->capnames * sizeof(*c->names));
	}
	i = c->nnames++;
	c->names[i].type = t;
	c->names[i].name = buf_detach(&full);
	dot = strrchr(c->names[i].name, '.');
	c->names[i].space = xstrdup(dot ? c->names[i].name : "");
	if (dot)
		c->names[i].space[dot - c->names[i].name] = '\0';
	out->type = t;
	out->name = c->names[i].name;
	*inner_ns = c->names[i].space;
out:
	buf_release(&full);
	return rc;
}

static sw_err
check_record(struct check *c, json_t *j, const char *ns, int depth,
    struct shape *out)
{
	json_t *jf = json_object_get(j, "fields"), *f, *jn, *jt;
	const char *inner = NULL, *name, *rname;
	struct shape ft;
	size_t i, k, n;
	sw_err rc;

	if ((rc = check_named(c, j, ns, OCF_RECORD, out, &inner)) != SW_OK)
		return rc;
	rname = out->name;
	if (!json_is_array(jf))
		return sw_seterr(SW_ERR_DATA, "record '%s' has no fields array",
		    rname);
	n = json_array_size(jf);
	for (i = 0; i < n; i++) {
		f = json_array_get(jf, i);
		jn = json_object_get(f, "name");
		jt = json_object_get(f, "type");
		if (!json_is_object(f) || !json_is_string(jn))
			return sw_seterr(SW_ERR_DATA, "record '%s': field %zu "
			    "has no name", rname, i + 1);
		name = json_string_value(jn);
		if (!valid_name(name, strlen(name)))
			return sw_seterr(SW_ERR_DATA, "record '%s': '%s' is "
			    "not a valid field name", rname, name);
		for (k = 0; k < i; k++)
			if (strcmp(json_string_value(json_object_get(
			    json_array_get(jf, k), "name")), name) == 0)
				return sw_seterr(SW_ERR_DATA, "record '%s': "
				    "field '%s' appears twice", rname, name);
		if (jt == NULL)
			return sw_seterr(SW_ERR_DATA, "record '%s': field '%s' "
			    "has no type", rname, name);
		if ((rc = check_type(c, jt, inner, depth + 1, &ft)) != SW_OK)
			return sw_adderr(rc, "record '%s': field '%s'", rname,
			    name);
	}
	return SW_OK;
}

static sw_err
check_enum(struct check *c, json_t *j, const char *ns, struct shape *out)
{
	json_t *js = json_object_get(j, "symbols");
	const char *inner = NULL, *sym;
	size_t i, k, n;
	sw_err rc;

	if ((rc = check_named(c, j, ns, OCF_ENUM, out, &inner)) != SW_OK)
		return rc;
	if (!json_is_array(js))
		return sw_seterr(SW_ERR_DATA, "enum '%s' has no symbols array",
		    out->name);
	n = json_array_size(js);
	for (i = 0; i < n; i++) {
		sym = json_string_value(json_array_get(js, i));
		if (sym == NULL || !valid_name(sym, strlen(sym)))
			return sw_seterr(SW_ERR_DATA, "enum '%s': symbol %zu "
			    "is not a valid name", out->name, i + 1);
		for (k = 0; k < i; k++)
			if (strcmp(json_string_value(json_array_get(js, k)),
			    sym) == 0)
				return sw_seterr(SW_ERR_DATA, "enum '%s': "
				    "symbol '%s' appears twice", out->name,
				    sym);
	}
	return SW_OK;
}

static sw_err
check_fixed(struct check *c, json_t *j, const char *ns, struct shape *out)
{
	json_t *jsz = json_object_get(j, "size");
	const char *inner = NULL;
	sw_err rc;

	if ((rc = check_named(c, j, ns, OCF_FIXED, out, &inner)) != SW_OK)
		return rc;
	if (!json_is_integer(jsz) || json_integer_value(jsz) < 0 ||
	    json_integer_value(jsz) > INT32_MAX)
		return sw_seterr(SW_ERR_DATA, "fixed '%s' has no valid size",
		    out->name);
	return SW_OK;
}

static sw_err
check_union(struct check *c, json_t *j, const char *ns, int depth,
    struct shape *out)
{
	size_t i, k, n = json_array_size(j);
	struct shape *br;
	sw_err rc = SW_OK;

	out->type = OCF_UNION;
	out->name = NULL;
	br = xcalloc(n ? n : 1, sizeof(*br));
	for (i = 0; i < n && rc == SW_OK; i++) {
		if ((rc = check_type(c, json_array_get(j, i), ns, depth + 1,
		    &br[i])) != SW_OK) {
			rc = sw_adderr(rc, "union branch %zu", i + 1);
			break;
		}
		if (br[i].type == OCF_UNION) {
			rc = sw_seterr(SW_ERR_DATA, "union branch %zu is "
			    "itself a union", i + 1);
			break;
		}
		for (k = 0; k < i; k++) {
			if (br[i].type == br[k].type && (br[i].name == NULL ||
			    strcmp(br[i].name, br[k].name) == 0)) {
				rc = sw_seterr(SW_ERR_DATA, "union has two "
				    "branches of type %s", br[i].name ?
				    br[i].name : type_names[br[i].type]);
				break;
			}
		}
	}
	free(br);
	return rc;
}

static sw_err
check_type(struct check *c, json_t *j, const char *ns, int depth,
    struct shape *out)
{
	const char *name;
	json_t *jt, *ji;
	int array;
	sw_err rc;

	out->name = NULL;
	if (depth > OCF_MAX_DEPTH)
		return sw_seterr(SW_ERR_DATA, "schema nested deeper than %d",
		    OCF_MAX_DEPTH);
	if (json_is_array(j))
		return check_union(c, j, ns, depth, out);
	if (json_is_string(j)) {
		name = json_string_value(j);
	} else if (json_is_object(j)) {
		jt = json_object_get(j, "type");
		if (jt == NULL)
			return sw_seterr(SW_ERR_DATA, "schema object without "
			    "a type");
		if (!json_is_string(jt))
			return check_type(c, jt, ns, depth + 1, out);
		name = json_string_value(jt);
		if (strcmp(name, "record") == 0)
			return check_record(c, j, ns, depth, out);
		if (strcmp(name, "enum") == 0)
			return check_enum(c, j, ns, out);
		if (strcmp(name, "fixed") == 0)
			return check_fixed(c, j, ns, out);
		if (strcmp(name, "array") == 0 || strcmp(name, "map") == 0) {
			array = name[0] == 'a';
			out->type = array ? OCF_ARRAY : OCF_MAP;
			ji = json_object_get(j, array ? "items" : "values");
			if (ji == NULL)
				return sw_seterr(SW_ERR_DATA, "%s without %s",
				    name, array ? "items" : "values");
			if ((rc = check_type(c, ji, ns, depth + 1,
			    &(struct shape){ 0 })) != SW_OK)
				return sw_adderr(rc, "%s %s", name,
				    array ? "items" : "values");
			return SW_OK;
		}
	} else {
		return sw_seterr(SW_ERR_DATA, "a schema is a JSON string, "
		    "object or array");
	}
	if (primitive_type(name, &out->type))
		return SW_OK;
	if (lookup_named(c, name, ns, out) == NULL)
		return sw_seterr(SW_ERR_DATA, "unknown type '%s'", name);
	return SW_OK;
}

/* The whole check: n bytes of JSON, at most OCF_MAX_SCHEMA. */
static sw_err
schema_check(const char *json, size_t n)
{
	struct check c = { 0 };
	struct shape root;
	json_error_t je;
	json_t *j;
	sw_err rc;

	if (n > OCF_MAX_SCHEMA)
		return sw_seterr(SW_ERR_DATA, "schema of %zu bytes, more than "
		    "%d", n, OCF_MAX_SCHEMA);
	j = json_loadb(json, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
	if (j == NULL)
		return sw_seterr(SW_ERR_DATA, "schema is not valid JSON: %s "
		    "(line %d, column %d)", je.text, je.line, je.column);
	rc = check_type(&c, j, NULL, 0, &root);
	json_decref(j);
	check_release(&c);
	return rc;
}

/* ---- the tree, from avro-c's parse ---- */

static void *
sch_alloc(struct ocf_schema *s, size_t size)
{
	void *p = xcalloc(1, size ? size : 1);

	if (s->nmem == s->capmem) {
		s->capmem = s->capmem ? 2 * s->capmem : 32;
		s->mem = xrealloc(s->mem, s->capmem * sizeof(*s->mem));
	}
	s->mem[s->nmem++] = p;
	return p;
}

static char *
sch_strdup(struct ocf_schema *s, const char *str)
{
	size_t n = strlen(str);
	char *p = sch_alloc(s, n + 1);

	memcpy(p, str, n);
	return p;
}

static struct ocf_node *
new_node(struct ocf_schema *s, enum ocf_type t)
{
	struct ocf_node *node = sch_alloc(s, sizeof(*node));

	node->type = t;
	return node;
}

/* The node of named type a, made (and its full name set) when it is met
 * first: a reference to it (an avro-c link) finds it, also from inside
 * itself. */
static struct ocf_node *
named_node(struct ocf_schema *s, avro_schema_t a, enum ocf_type t, int *fresh)
{
	const char *ns = avro_schema_namespace(a);
	struct ocf_node *node;
	struct buf full = { 0 };
	size_t i;

	*fresh = 0;
	for (i = 0; i < s->nnamed; i++)
		if (s->named[i].avro == a)
			return s->named[i].node;
	node = new_node(s, t);
	if (ns != NULL && *ns != '\0')
		buf_printf(&full, "%s.%s", ns, avro_schema_name(a));
	else
		buf_puts(&full, avro_schema_name(a));
	node->name = sch_strdup(s, full.data ? full.data : "");
	buf_release(&full);
	if (s->nnamed == s->capnamed) {
		s->capnamed = s->capnamed ? 2 * s->capnamed : 8;
		s->named = xrealloc(s->named, s->capnamed * sizeof(*s->named));
	}
	s->named[s->nnamed].avro = a;
	s->named[s->nnamed].node = node;
	s->nnamed++;
	*fresh = 1;
	return node;
}

static sw_err
node_of(struct ocf_schema *s, avro_schema_t a, int depth,
    struct ocf_node **out)
{
	struct ocf_node *node;
	size_t i;
	int fresh;
	sw_err rc;

	if (depth > OCF_MAX_DEPTH)
		return sw_seterr(SW_ERR_DATA, "schema nested deeper than %d",
		    OCF_MAX_DEPTH);
	switch (avro_typeof(a)) {
	case AVRO_NULL: *out = new_node(s, OCF_NULL); return SW_OK;
	case AVRO_BOOLEAN: *out = new_node(s, OCF_BOOLEAN); return SW_OK;
	case AVRO_INT32: *out = new_node(s, OCF_INT); return SW_OK;
	case AVRO_INT64: *out = new_node(s, OCF_LONG); return SW_OK;
	case AVRO_FLOAT: *out = new_node(s, OCF_FLOAT); return SW_OK;
	case AVRO_DOUBLE: *out = new_node(s, OCF_DOUBLE); return SW_OK;
	case AVRO_BYTES: *out = new_node(s, OCF_BYTES); return SW_OK;
	case AVRO_STRING: *out = new_node(s, OCF_STRING); return SW_OK;
	case AVRO_LINK:
		return node_of(s, avro_schema_link_target(a), depth + 1, out);
	case AVRO_RECORD:
		*out = node = named_node(s, a, OCF_RECORD, &fresh);
		if (!fresh)
			return SW_OK;
		node->n = avro_schema_record_size(a);
		node->fields = sch_alloc(s, node->n * sizeof(*node->fields));
		for (i = 0; i < node->n; i++) {
			node->fields[i].name = sch_strdup(s,
			    avro_schema_record_field_name(a, (int)i));
			if ((rc = node_of(s, avro_schema_record_field_get_by_index(
			    a, (int)i), depth + 1, &node->fields[i].type)) !=
			    SW_OK)
				return rc;
		}
		return SW_OK;
	case AVRO_ENUM:
		*out = node = named_node(s, a, OCF_ENUM, &fresh);
		if (!fresh)
			return SW_OK;
		node->n = (size_t)avro_schema_enum_number_of_symbols(a);
		node->symbols = sch_alloc(s, node->n * sizeof(*node->symbols));
		for (i = 0; i < node->n; i++)
			node->symbols[i] = sch_strdup(s,
			    avro_schema_enum_get(a, (int)i));
		return SW_OK;
	case AVRO_FIXED:
		*out = node = named_node(s, a, OCF_FIXED, &fresh);
		if (!fresh)
			return SW_OK;
		node->n = (size_t)avro_schema_fixed_size(a);
		return SW_OK;
	case AVRO_ARRAY:
	case AVRO_MAP:
		*out = node = new_node(s, avro_typeof(a) == AVRO_ARRAY ?
		    OCF_ARRAY : OCF_MAP);
		return node_of(s, node->type == OCF_ARRAY ?
		    avro_schema_array_items(a) : avro_schema_map_values(a),
		    depth + 1, &node->items);
	case AVRO_UNION:
		*out = node = new_node(s, OCF_UNION);
		node->n = avro_schema_union_size(a);
		node->branches = sch_alloc(s, node->n *
		    sizeof(*node->branches));
		for (i = 0; i < node->n; i++)
			if ((rc = node_of(s, avro_schema_union_branch(a,
			    (int)i), depth + 1, &node->branches[i])) != SW_OK)
				return rc;
		return SW_OK;
	default:
		break;
	}
	return sw_seterr(SW_ERR_DATA, "avro-c type %d is not supported",
	    (int)avro_typeof(a));
}

void
ocf_schema_free(struct ocf_schema *s)
{
	size_t i;

	if (s == NULL || --s->refs > 0)
		return;
	if (s->avro != NULL)
		avro_schema_decref(s->avro);
	free(s->top);
	free(s->br);
	for (i = 0; i < s->nmem; i++)
		free(s->mem[i]);
	free(s->mem);
	free(s->named);
	free(s);
}

static void
wop_push(struct wop **v, size_t *n, size_t *cap, const struct wop *op)
{
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		*v = xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = *op;
}

/* The op of a type that is not a union nor a record. */
static void
wop_of(const struct ocf_node *t, struct wop *op)
{
	static const enum wop_code codes[] = {
		[OCF_NULL] = W_NULL, [OCF_BOOLEAN] = W_BOOL, [OCF_INT] = W_INT,
		[OCF_LONG] = W_LONG, [OCF_FLOAT] = W_FLOAT,
		[OCF_DOUBLE] = W_DOUBLE, [OCF_BYTES] = W_BYTES,
		[OCF_STRING] = W_BYTES,
	};

	memset(op, 0, sizeof(*op));
	if (t->type <= OCF_STRING) {
		op->code = codes[t->type];
	} else if (t->type == OCF_FIXED || t->type == OCF_ENUM) {
		op->code = t->type == OCF_FIXED ? W_FIXED : W_ENUM;
		op->n = t->n;
	} else {
		op->code = W_GENERIC;
		op->node = t;
	}
}

static void
compile_type(struct ocf_schema *s, const struct ocf_node *t, int depth)
{
	struct wop op;
	size_t i;

	if (t->type == OCF_RECORD && depth < 8) {
		for (i = 0; i < t->n; i++)
			compile_type(s, t->fields[i].type, depth + 1);
		return;
	}
	if (t->type == OCF_UNION) {
		memset(&op, 0, sizeof(op));
		op.code = W_UNION;
		op.n = t->n;
		op.first = s->nbr;
		wop_push(&s->top, &s->ntop, &s->captop, &op);
		for (i = 0; i < t->n; i++) {
			wop_of(t->branches[i], &op);
			wop_push(&s->br, &s->nbr, &s->capbr, &op);
		}
		return;
	}
	wop_of(t, &op);
	wop_push(&s->top, &s->ntop, &s->captop, &op);
}

static void
compile_root(struct ocf_schema *s)
{
	/* RawDatum's encoding, op by op: string, long, long, string, then
	 * six ["null", T] unions */
	static const enum wop_code raw_top[] = {
		W_BYTES, W_LONG, W_LONG, W_BYTES, W_UNION, W_UNION, W_UNION,
		W_UNION, W_UNION, W_UNION,
	};
	static const enum wop_code raw_values[] = {
		W_DOUBLE, W_BYTES, W_INT, W_BOOL, W_BYTES, W_LONG,
	};
	size_t i, k = 0;

	compile_type(s, s->root, 0);
	s->rawdatum = s->ntop == sizeof(raw_top) / sizeof(raw_top[0]) &&
	    s->nbr == 12;
	for (i = 0; s->rawdatum && i < s->ntop; i++) {
		if (s->top[i].code != raw_top[i])
			s->rawdatum = 0;
		else if (raw_top[i] == W_UNION)
			s->rawdatum = s->top[i].n == 2 &&
			    s->br[s->top[i].first].code == W_NULL &&
			    s->br[s->top[i].first + 1].code == raw_values[k++];
	}
}

sw_err
ocf_schema_parse(const char *json, size_t n, struct ocf_schema **out)
{
	struct ocf_schema *s = NULL;
	avro_schema_t a = NULL;
	sw_err rc;

	*out = NULL;
	if ((rc = schema_check(json, n)) != SW_OK)
		return rc;
	if (avro_schema_from_json_length(json, n, &a) != 0)
		return sw_seterr(SW_ERR_DATA, "avro-c cannot parse the schema: "
		    "%s", avro_strerror());
	s = xcalloc(1, sizeof(*s));
	s->refs = 1;
	s->avro = a;
	if ((rc = node_of(s, a, 0, &s->root)) != SW_OK)
		goto out;
	compile_root(s);
	*out = s;
	s = NULL;
out:
	ocf_schema_free(s);
	return rc;
}

#define SCHEMA_CACHE_SIZE 8

struct ocf_schema_cache {
	struct {
		char *json;
		size_t n;
		struct ocf_schema *s;
	} e[SCHEMA_CACHE_SIZE];
	size_t next;   /* the entry to replace when all are taken */
};

struct ocf_schema_cache *
ocf_schema_cache_new(void)
{
	return xcalloc(1, sizeof(struct ocf_schema_cache));
}

void
ocf_schema_cache_free(struct ocf_schema_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < SCHEMA_CACHE_SIZE; i++) {
		free(c->e[i].json);
		ocf_schema_free(c->e[i].s);
	}
	free(c);
}

/* ocf_schema_parse through the cache: *out is a reference of the
 * caller's (ocf_schema_free it). */
static sw_err
schema_get(struct ocf_schema_cache *c, const char *json, size_t n,
    struct ocf_schema **out)
{
	size_t i;
	sw_err rc;

	for (i = 0; c != NULL && i < SCHEMA_CACHE_SIZE; i++) {
		if (c->e[i].s != NULL && c->e[i].n == n &&
		    memcmp(c->e[i].json, json, n) == 0) {
			c->e[i].s->refs++;
			*out = c->e[i].s;
			return SW_OK;
		}
	}
	if ((rc = ocf_schema_parse(json, n, out)) != SW_OK || c == NULL)
		return rc;
	i = c->next;
	c->next = (c->next + 1) % SCHEMA_CACHE_SIZE;
	free(c->e[i].json);
	ocf_schema_free(c->e[i].s);
	c->e[i].json = xcalloc(1, n + 1);
	memcpy(c->e[i].json, json, n);
	c->e[i].n = n;
	c->e[i].s = *out;
	(*out)->refs++;
	return SW_OK;
}

struct ocf_schema *
ocf_schema_ref(const struct ocf_schema *s)
{
	struct ocf_schema *w = (struct ocf_schema *)(uintptr_t)s;

	w->refs++;
	return w;
}

const struct ocf_node *
ocf_schema_root(const struct ocf_schema *s)
{
	return s->root;
}

/*
 * avro_schema_equal() of avro-c 1.11.1 walks the fields, symbols and
 * branches of its first argument only, looking each up by position in the
 * second: asked both ways, a type with more of them than the other
 * differs.
 */
int
ocf_schema_equal(const struct ocf_schema *a, const struct ocf_schema *b)
{
	return a == b || (avro_schema_equal(a->avro, b->avro) &&
	    avro_schema_equal(b->avro, a->avro));
}

/* Whether a datum of t may encode as no bytes at all (null, fixed of size
 * 0, records of those): arrays of such items are not walked item by
 * item, since nothing in them can be wrong. */
static int
zero_size(const struct ocf_node *t, int depth)
{
	size_t i;

	if (depth > OCF_MAX_DEPTH)
		return 0;
	switch (t->type) {
	case OCF_NULL:
		return 1;
	case OCF_FIXED:
		return t->n == 0;
	case OCF_RECORD:
		for (i = 0; i < t->n; i++)
			if (!zero_size(t->fields[i].type, depth + 1))
				return 0;
		return 1;
	default:
		return 0;
	}
}

static sw_err
skip_datum(const struct ocf_node *t, const unsigned char **p,
    const unsigned char *end, int depth)
{
	const unsigned char *data, *start;
	int64_t count, size, v64;
	int32_t v32;
	size_t i, n, k;
	int b;
	sw_err rc;

	if (depth > OCF_MAX_DEPTH)
		return sw_seterr(SW_ERR_DATA, "datum nested deeper than %d",
		    OCF_MAX_DEPTH);
	switch (t->type) {
	case OCF_NULL:
		return SW_OK;
	case OCF_BOOLEAN:
		return enc_get_boolean(p, end, &b);
	case OCF_INT:
		return enc_get_int(p, end, &v32);
	case OCF_LONG:
		return enc_get_long(p, end, &v64);
	case OCF_FLOAT:
	case OCF_DOUBLE:
	case OCF_FIXED:
		n = t->type == OCF_FLOAT ? 4 : t->type == OCF_DOUBLE ? 8 : t->n;
		if ((size_t)(end - *p) < n)
			return sw_seterr(SW_ERR_DATA, "truncated avro %s",
			    type_names[t->type]);
		*p += n;
		return SW_OK;
	case OCF_BYTES:
	case OCF_STRING:
		return enc_get_bytes(p, end, &data, &n);
	case OCF_ENUM:
		if ((rc = enc_get_long(p, end, &v64)) != SW_OK)
			return rc;
		if (v64 < 0 || (uint64_t)v64 >= t->n)
			return sw_seterr(SW_ERR_DATA, "enum '%s': symbol index "
			    "%lld out of range", t->name, (long long)v64);
		return SW_OK;
	case OCF_UNION:
		if ((rc = enc_get_union_index(p, end, t->n, &i)) != SW_OK)
			return rc;
		return skip_datum(t->branches[i], p, end, depth + 1);
	case OCF_RECORD:
		for (i = 0; i < t->n; i++)
			if ((rc = skip_datum(t->fields[i].type, p, end,
			    depth + 1)) != SW_OK)
				return sw_adderr(rc, "field '%s'",
				    t->fields[i].name);
		return SW_OK;
	case OCF_ARRAY:
	case OCF_MAP:
		for (;;) {
			if ((rc = enc_get_long(p, end, &count)) != SW_OK)
				return rc;
			if (count == 0)
				return SW_OK;
			size = -1;
			if (count < 0) {
				if (count == INT64_MIN)
					return sw_seterr(SW_ERR_DATA, "bad %s "
					    "block count", type_names[t->type]);
				count = -count;
				if ((rc = enc_get_long(p, end, &size)) !=
				    SW_OK)
					return rc;
				if (size < 0 || size > end - *p)
					return sw_seterr(SW_ERR_DATA, "%s "
					    "block size %lld out of range",
					    type_names[t->type],
					    (long long)size);
			}
			start = *p;
			if (t->type == OCF_ARRAY && zero_size(t->items, 0)) {
				if (size > 0)
					return sw_seterr(SW_ERR_DATA, "array "
					    "of empty items with a non-zero "
					    "size");
				continue;
			}
			/* each item takes a byte at least */
			if (count > end - *p)
				return sw_seterr(SW_ERR_DATA, "%s block of "
				    "%lld items runs past the end of its data",
				    type_names[t->type], (long long)count);
			for (k = 0; k < (size_t)count; k++) {
				if (t->type == OCF_MAP &&
				    (rc = enc_get_bytes(p, end, &data, &n)) !=
				    SW_OK)
					return rc;
				if ((rc = skip_datum(t->items, p, end,
				    depth + 1)) != SW_OK)
					return rc;
			}
			if (size >= 0 && *p - start != size)
				return sw_seterr(SW_ERR_DATA, "%s block size "
				    "%lld does not match its items",
				    type_names[t->type], (long long)size);
		}
	}
	return sw_seterr(SW_ERR_INTERNAL, "unknown avro type %d", (int)t->type);
}

/* A varint as an unsigned 64-bit value (not un-zigzagged); -1 when it is
 * truncated or longer than 64 bits. */
static inline int
get_varint(const unsigned char **pp, const unsigned char *end, uint64_t *out)
{
	const unsigned char *p = *pp;
	uint64_t u = 0;
	unsigned shift = 0;
	unsigned char c;

	if (p < end && *p < 0x80) {
		*out = *p;
		*pp = p + 1;
		return 0;
	}
	for (;;) {
		if (p >= end)
			return -1;
		c = *p++;
		if (shift == 63 && c > 1)
			return -1;
		u |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
	}
	*out = u;
	*pp = p;
	return 0;
}

/* A zigzag varint that must be in [0, max). */
static inline int
get_index(const unsigned char **pp, const unsigned char *end, uint64_t max,
    uint64_t *out)
{
	uint64_t u;

	if (get_varint(pp, end, &u) != 0 || (u & 1) || (u >> 1) >= max)
		return -1;
	*out = u >> 1;
	return 0;
}

static inline int
walk_bytes(const unsigned char **pp, const unsigned char *end)
{
	uint64_t u;

	if (get_varint(pp, end, &u) != 0 || (u & 1) ||
	    (u >> 1) > (uint64_t)(end - *pp))
		return -1;
	*pp += u >> 1;
	return 0;
}

static inline int
walk_long(const unsigned char **pp, const unsigned char *end)
{
	uint64_t u;

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (end - *pp >= 8) {
		/* the first byte without its high bit ends it */
		uint64_t w, stop;

		memcpy(&w, *pp, 8);
		stop = ~w & UINT64_C(0x8080808080808080);
		if (stop != 0) {
			*pp += (__builtin_ctzll(stop) >> 3) + 1;
			return 0;
		}
	}
#endif
	return get_varint(pp, end, &u);
}

/* The branch of a ["null", T] union: 0 null, 1 the value, -1 bad. */
static inline int
walk_optional(const unsigned char **pp, const unsigned char *end)
{
	if (*pp >= end || (**pp != 0 && **pp != 2))
		return -1;
	return *(*pp)++ >> 1;
}

/* One RawDatum record, straight-line (the shape of nearly every input). */
static int
walk_rawdatum(const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	uint64_t u;
	int b;

	if (walk_bytes(&p, end) || walk_long(&p, end) ||
	    walk_long(&p, end) || walk_bytes(&p, end))
		return -1;
	/* doubleValue */
	if ((b = walk_optional(&p, end)) < 0 || (b && end - p < 8))
		return -1;
	p += 8 * b;
	/* stringValue */
	if ((b = walk_optional(&p, end)) < 0 || (b && walk_bytes(&p, end)))
		return -1;
	/* integerValue */
	if ((b = walk_optional(&p, end)) < 0 || (b &&
	    (get_varint(&p, end, &u) || u > UINT32_MAX)))
		return -1;
	/* booleanValue */
	if ((b = walk_optional(&p, end)) < 0 || (b && (p >= end || *p > 1)))
		return -1;
	p += b;
	/* jsonValue */
	if ((b = walk_optional(&p, end)) < 0 || (b && walk_bytes(&p, end)))
		return -1;
	/* recordVersion */
	if ((b = walk_optional(&p, end)) < 0 || (b && walk_long(&p, end)))
		return -1;
	*pp = p;
	return 0;
}

/* Walk one datum with the compiled program: 0, or -1 on any problem
 * (skip_datum then tells what). */
static int
fast_walk(const struct ocf_schema *s, const unsigned char **pp,
    const unsigned char *end)
{
	const unsigned char *p = *pp;
	const struct wop *op;
	uint64_t u;
	size_t i;

	for (i = 0; i < s->ntop; i++) {
		op = &s->top[i];
	again:
		switch (op->code) {
		case W_NULL:
			break;
		case W_BOOL:
			if (p >= end || *p > 1)
				return -1;
			p++;
			break;
		case W_INT:
			/* zigzag of an int32 is below 2^32 */
			if (get_varint(&p, end, &u) != 0 || u > UINT32_MAX)
				return -1;
			break;
		case W_LONG:
			if (walk_long(&p, end) != 0)
				return -1;
			break;
		case W_FLOAT:
			if (end - p < 4)
				return -1;
			p += 4;
			break;
		case W_DOUBLE:
			if (end - p < 8)
				return -1;
			p += 8;
			break;
		case W_BYTES:
			if (walk_bytes(&p, end) != 0)
				return -1;
			break;
		case W_FIXED:
			if ((size_t)(end - p) < op->n)
				return -1;
			p += op->n;
			break;
		case W_ENUM:
			if (get_index(&p, end, op->n, &u) != 0)
				return -1;
			break;
		case W_UNION:
			if (get_index(&p, end, op->n, &u) != 0)
				return -1;
			op = &s->br[op->first + u];
			goto again;
		case W_GENERIC:
			if (ocf_skip(op->node, &p, end) != SW_OK)
				return -1;
			break;
		}
	}
	*pp = p;
	return 0;
}

sw_err
ocf_skip(const struct ocf_node *t, const unsigned char **p,
    const unsigned char *end)
{
	const unsigned char *q = *p;
	sw_err rc;

	if ((rc = skip_datum(t, &q, end, 0)) == SW_OK)
		*p = q;
	return rc;
}

/* ---- container reader --------------------------------------------------- */

/* Bytes asked of read() at once (cat asks 128 KiB). */
#define READ_CHUNK (256 * 1024)
/* The header is parsed from the first HEADER_STEP bytes, then from four
 * times as many, up to OCF_MAX_HEADER. */
#define HEADER_STEP (64 * 1024)
/* The shortest block: count, size, marker. */
#define MIN_BLOCK (2 + OCF_SYNC_SIZE)

struct ocf_reader {
	int fd;
	char *name;
	uint64_t limit;         /* bytes of the file to read at most */
	uint64_t nread;         /* bytes read so far */
	int eof;                /* nothing more to read */
	unsigned char *buf;
	size_t cap;
	size_t start, len;      /* unread bytes: buf[start, len) */
	uint64_t buf_off;       /* file offset of buf[0] */

	struct ocf_schema_cache *cache;
	struct ocf_schema *schema;
	char *schema_json;
	enum ocf_codec codec;
	unsigned char sync[OCF_SYNC_SIZE];
	uint64_t header_size;
	uint64_t offset;        /* just past the last block returned */
	uint64_t blocks;        /* blocks returned */
	sw_err failed;
};

/* Make at least need unread bytes available, or all that is left. */
static sw_err
fill(struct ocf_reader *r, size_t need)
{
	size_t have, room, cap;
	unsigned char *p;
	ssize_t k;

	if (r->start == r->len) {
		r->buf_off += r->start;
		r->start = r->len = 0;
	}
	/* never more than what is left before the limit */
	have = r->len - r->start;
	if (need > have && need - have > r->limit - r->nread)
		need = have + (size_t)(r->limit - r->nread);
	if (r->nread == r->limit)
		r->eof = 1;
	while (r->len - r->start < need && !r->eof) {
		have = r->len - r->start;
		if (r->start + need > r->cap) {
			/* move what is left to the front; grow if need be */
			memmove(r->buf, r->buf + r->start, have);
			r->buf_off += r->start;
			r->start = 0;
			r->len = have;
			if (need > r->cap) {
				cap = r->cap ? r->cap : READ_CHUNK;
				while (cap < need)
					cap *= 2;
				p = realloc(r->buf, cap);
				if (p == NULL)
					return sw_seterr(SW_ERR_NOMEM,
					    "'%s': out of memory (%zu bytes)",
					    r->name, cap);
				r->buf = p;
				r->cap = cap;
			}
		}
		room = r->cap - r->len;
		if (room > r->limit - r->nread)
			room = (size_t)(r->limit - r->nread);
		if (room == 0) {
			r->eof = 1;
			break;
		}
		k = read(r->fd, r->buf + r->len, room);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return sw_seterr(SW_ERR_IO, "'%s': cannot read: %s",
			    r->name, strerror(errno));
		if (k == 0) {
			r->eof = 1;
			break;
		}
		r->len += (size_t)k;
		r->nread += (uint64_t)k;
		if (r->nread == r->limit)
			r->eof = 1;
	}
	return SW_OK;
}

/* Parse the header from n bytes at h.  *more is set when the bytes ran out
 * before the header did (more input may help); other errors are final. */
static sw_err
parse_header(struct ocf_reader *r, const unsigned char *h, size_t n,
    size_t *hlen, int *more)
{
	const unsigned char *p = h, *end = h + n, *schema = NULL, *val;
	const char *key, *codec = NULL;
	size_t schema_n = 0, codec_n = 0, keyn, valn;
	int64_t count, bsize;
	char cname[32];
	sw_err rc;

	*more = 0;
	if (n < OCF_MAGIC_SIZE) {
		*more = 1;
		return sw_seterr(SW_ERR_DATA, "'%s': file of %zu bytes is too "
		    "short for an avro container", r->name, n);
	}
	if (memcmp(h, OCF_MAGIC, OCF_MAGIC_SIZE) != 0)
		return sw_seterr(SW_ERR_DATA, "'%s': not an avro container "
		    "file (bad magic %02x %02x %02x %02x)", r->name, h[0], h[1],
		    h[2], h[3]);
	p += OCF_MAGIC_SIZE;
	for (;;) {
		if ((rc = enc_get_long(&p, end, &count)) != SW_OK)
			goto short_input;
		if (count == 0)
			break;
		if (count < 0) {
			if (count == INT64_MIN)
				goto bad_count;
			count = -count;
			if ((rc = enc_get_long(&p, end, &bsize)) != SW_OK)
				goto short_input;
		}
		if (count > OCF_MAX_HEADER)
			goto bad_count;
		while (count-- > 0) {
			if ((rc = enc_get_string(&p, end, &key, &keyn)) !=
			    SW_OK ||
			    (rc = enc_get_bytes(&p, end, &val, &valn)) !=
			    SW_OK)
				goto short_input;
			if (keyn == 11 && memcmp(key, "avro.schema", 11) == 0) {
				if (schema != NULL)
					goto twice;
				schema = val;
				schema_n = valn;
			} else if (keyn == 10 &&
			    memcmp(key, "avro.codec", 10) == 0) {
				if (codec != NULL)
					goto twice;
				codec = (const char *)val;
				codec_n = valn;
			}
		}
	}
	if ((size_t)(end - p) < OCF_SYNC_SIZE) {
		*more = 1;
		return sw_seterr(SW_ERR_DATA, "'%s': truncated header: no sync "
		    "marker after the metadata", r->name);
	}
	memcpy(r->sync, p, OCF_SYNC_SIZE);
	p += OCF_SYNC_SIZE;
	*hlen = (size_t)(p - h);

	if (codec == NULL) {
		r->codec = OCF_CODEC_NULL;
	} else {
		snprintf(cname, sizeof(cname), "%.*s", (int)(codec_n <
		    sizeof(cname) ? codec_n : sizeof(cname) - 1), codec);
		if (codec_n >= sizeof(cname) || memchr(codec, 0, codec_n) ||
		    ocf_codec_parse(cname, &r->codec) != SW_OK)
			return sw_seterr(SW_ERR_DATA, "'%s': unsupported avro "
			    "codec '%s'", r->name, cname);
	}
	if (schema == NULL)
		return sw_seterr(SW_ERR_DATA, "'%s': no avro.schema in the "
		    "header", r->name);
	r->schema_json = xcalloc(1, schema_n + 1);
	memcpy(r->schema_json, schema, schema_n);
	if ((rc = schema_get(r->cache, r->schema_json, schema_n,
	    &r->schema)) != SW_OK)
		return sw_adderr(rc, "'%s': invalid avro.schema", r->name);
	return SW_OK;

short_input:
	*more = 1;
	return sw_adderr(SW_ERR_DATA, "'%s': truncated or corrupt header "
	    "metadata at offset %zu", r->name, (size_t)(p - h));
bad_count:
	return sw_seterr(SW_ERR_DATA, "'%s': header metadata: bad entry count "
	    "at offset %zu", r->name, (size_t)(p - h));
twice:
	return sw_seterr(SW_ERR_DATA, "'%s': header metadata: '%.*s' appears "
	    "twice", r->name, (int)keyn, key);
}

static sw_err
read_header(struct ocf_reader *r)
{
	size_t need = HEADER_STEP, hlen = 0, avail;
	int more = 0;
	sw_err rc;

	for (;;) {
		if ((rc = fill(r, need)) != SW_OK)
			return rc;
		avail = r->len - r->start;
		if (avail == 0)
			return sw_seterr(SW_ERR_DATA, "'%s': empty file (0 "
			    "bytes), not an avro container", r->name);
		rc = parse_header(r, r->buf + r->start, avail, &hlen, &more);
		if (rc == SW_OK)
			break;
		if (!more || r->eof)
			return rc;
		if (need >= OCF_MAX_HEADER)
			return sw_seterr(SW_ERR_DATA, "'%s': header longer "
			    "than %d bytes", r->name, OCF_MAX_HEADER);
		/* free the previous attempt's results */
		free(r->schema_json);
		r->schema_json = NULL;
		need *= 4;
		if (need > OCF_MAX_HEADER)
			need = OCF_MAX_HEADER;
	}
	r->start += hlen;
	r->header_size = hlen;
	r->offset = hlen;
	return SW_OK;
}

sw_err
ocf_reader_open(int fd, const char *name, uint64_t limit,
    struct ocf_schema_cache *cache, struct ocf_reader **out)
{
	struct ocf_reader *r = xcalloc(1, sizeof(*r));
	struct stat st;
	off_t cur;
	sw_err rc;

	*out = NULL;
	r->fd = fd;
	r->cache = cache;
	r->name = xstrdup(name ? name : "(input)");
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (cur = lseek(fd, 0, SEEK_CUR)) >= 0 && st.st_size >= cur &&
	    (uint64_t)(st.st_size - cur) < limit)
		limit = (uint64_t)(st.st_size - cur);
	r->limit = limit;
	/* a small file gets a buffer of its size */
	r->cap = limit < READ_CHUNK ? (size_t)limit + 1 : READ_CHUNK;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		rc = sw_seterr(SW_ERR_NOMEM, "out of memory");
		goto out;
	}
	if ((rc = read_header(r)) != SW_OK)
		goto out;
	*out = r;
	r = NULL;
out:
	ocf_reader_free(r);
	return rc;
}

sw_err
ocf_reader_open_blocks(int fd, const char *name, uint64_t base,
    uint64_t limit, const struct ocf_schema *s, enum ocf_codec codec,
    const unsigned char *sync, struct ocf_reader **out)
{
	struct ocf_reader *r = xcalloc(1, sizeof(*r));

	*out = NULL;
	r->fd = fd;
	r->name = xstrdup(name ? name : "(input)");
	r->limit = limit;
	r->cap = limit < READ_CHUNK ? (size_t)limit + 1 : READ_CHUNK;
	r->buf = malloc(r->cap);
	if (r->buf == NULL) {
		ocf_reader_free(r);
		return sw_seterr(SW_ERR_NOMEM, "out of memory");
	}
	r->schema = ocf_schema_ref(s);
	r->codec = codec;
	memcpy(r->sync, sync, OCF_SYNC_SIZE);
	r->buf_off = r->offset = base;
	*out = r;
	return SW_OK;
}

void
ocf_reader_free(struct ocf_reader *r)
{
	if (r == NULL)
		return;
	ocf_schema_free(r->schema);
	free(r->schema_json);
	free(r->buf);
	free(r->name);
	free(r);
}

const char *
ocf_reader_name(const struct ocf_reader *r)
{
	return r->name;
}

const struct ocf_schema *
ocf_reader_schema(const struct ocf_reader *r)
{
	return r->schema;
}

const char *
ocf_reader_schema_json(const struct ocf_reader *r)
{
	return r->schema_json;
}

enum ocf_codec
ocf_reader_codec(const struct ocf_reader *r)
{
	return r->codec;
}

const unsigned char *
ocf_reader_sync(const struct ocf_reader *r)
{
	return r->sync;
}

uint64_t
ocf_reader_header_size(const struct ocf_reader *r)
{
	return r->header_size;
}

uint64_t
ocf_reader_offset(const struct ocf_reader *r)
{
	return r->offset;
}

static sw_err
block_fail(struct ocf_reader *r, sw_err rc)
{
	r->failed = rc;
	return rc;
}

sw_err
ocf_reader_next(struct ocf_reader *r, struct ocf_block *b, int *got)
{
	const unsigned char *p, *end;
	unsigned long long idx = r->blocks, off;
	int64_t count = 0, size = 0;
	size_t avail, hlen;
	sw_err rc;

	*got = 0;
	memset(b, 0, sizeof(*b));
	if (r->failed != SW_OK)
		return sw_seterr(r->failed, "'%s': reading failed earlier",
		    r->name);
	if ((rc = fill(r, 2 * ENC_LONG_MAX_BYTES)) != SW_OK)
		return block_fail(r, rc);
	avail = r->len - r->start;
	off = r->buf_off + r->start;
	if (avail == 0)
		return SW_OK;   /* the end, right after a block */
	if (r->eof && avail < MIN_BLOCK)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': %zu stray "
		    "bytes at offset %llu after %s (trailing garbage or a "
		    "truncated block)", r->name, avail, off,
		    idx ? "the last block" : "the header"));
	p = r->buf + r->start;
	end = p + avail;
	if (enc_get_long(&p, end, &count) != SW_OK ||
	    enc_get_long(&p, end, &size) != SW_OK)
		return block_fail(r, sw_adderr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: corrupt block header", r->name, idx, off));
	if (count < 0)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: negative record count %lld", r->name, idx,
		    off, (long long)count));
	if (count > OCF_MAX_BLOCK_RECORDS)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: absurd record count %lld", r->name, idx,
		    off, (long long)count));
	if (size < 0)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: negative size %lld", r->name, idx, off,
		    (long long)size));
	if (size > OCF_MAX_BLOCK)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: absurd size %lld (the limit is %d)",
		    r->name, idx, off, (long long)size, OCF_MAX_BLOCK));
	hlen = (size_t)(p - (r->buf + r->start));
	if ((rc = fill(r, hlen + (size_t)size + OCF_SYNC_SIZE)) != SW_OK)
		return block_fail(r, rc);
	avail = r->len - r->start;
	if (avail < hlen + (size_t)size + OCF_SYNC_SIZE)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: its %lld bytes and sync marker run past "
		    "the end of the file at offset %llu (truncated file or "
		    "trailing garbage)", r->name, idx, off, (long long)size,
		    off + (unsigned long long)avail));
	p = r->buf + r->start + hlen;
	if (memcmp(p + size, r->sync, OCF_SYNC_SIZE) != 0)
		return block_fail(r, sw_seterr(SW_ERR_DATA, "'%s': block %llu "
		    "at offset %llu: the sync marker at offset %llu is not the "
		    "header's (corrupt or misframed block)", r->name, idx, off,
		    off + (unsigned long long)(hlen + (size_t)size)));
	b->index = idx;
	b->offset = off;
	b->end = off + hlen + (uint64_t)size + OCF_SYNC_SIZE;
	b->count = count;
	b->data = p;
	b->size = (size_t)size;
	r->start += hlen + (size_t)size + OCF_SYNC_SIZE;
	r->offset = b->end;
	r->blocks++;
	*got = 1;
	return SW_OK;
}

static sw_err
block_decompress(const char *name, enum ocf_codec codec,
    const struct ocf_block *b, struct buf *out)
{
	sw_err rc;

	if ((rc = ocf_decompress(codec, b->data, b->size, OCF_MAX_BLOCK,
	    out)) != SW_OK)
		return sw_adderr(rc, "'%s': block %llu at offset %llu", name,
		    (unsigned long long)b->index,
		    (unsigned long long)b->offset);
	return SW_OK;
}

static sw_err
block_check_count(const char *name, const struct ocf_schema *s,
    const struct ocf_block *b, const void *data, size_t n)
{
	const unsigned char *p = data, *end = p + n;
	const struct ocf_node *root = s->root;
	int empty = zero_size(root, 0);
	int64_t i;
	sw_err rc;

	if (s->rawdatum) {
		/* the common case, in one tight loop */
		for (i = 0; i < b->count && walk_rawdatum(&p, end) == 0; i++)
			;
		if (i == b->count && p == end)
			return SW_OK;
		/* let the general walk below say what is wrong */
		p = data;
	}
	for (i = 0; i < b->count; i++) {
		if (p == end && !empty)
			return sw_seterr(SW_ERR_DATA, "'%s': block %llu at "
			    "offset %llu: its count says %lld records, its "
			    "data holds %lld", name,
			    (unsigned long long)b->index,
			    (unsigned long long)b->offset, (long long)b->count,
			    (long long)i);
		if (fast_walk(s, &p, end) == 0)
			continue;
		if ((rc = skip_datum(root, &p, end, 0)) != SW_OK)
			return sw_adderr(rc, "'%s': block %llu at offset %llu: "
			    "record %lld of %lld", name,
			    (unsigned long long)b->index,
			    (unsigned long long)b->offset, (long long)i + 1,
			    (long long)b->count);
	}
	if (p != end)
		return sw_seterr(SW_ERR_DATA, "'%s': block %llu at offset "
		    "%llu: %zu bytes left after the %lld records its count "
		    "says (more records than counted, or garbage)", name,
		    (unsigned long long)b->index, (unsigned long long)b->offset,
		    (size_t)(end - p), (long long)b->count);
	return SW_OK;
}

sw_err
ocf_reader_decompress(struct ocf_reader *r, const struct ocf_block *b,
    struct buf *out)
{
	return block_decompress(r->name, r->codec, b, out);
}

sw_err
ocf_reader_check_count(struct ocf_reader *r, const struct ocf_block *b,
    const void *data, size_t n)
{
	return block_check_count(r->name, r->schema, b, data, n);
}

sw_err
ocf_block_check(const char *name, enum ocf_codec codec,
    const struct ocf_schema *s, const struct ocf_block *b, struct buf *out)
{
	sw_err rc;

	if ((rc = block_decompress(name, codec, b, out)) != SW_OK)
		return rc;
	return block_check_count(name, s, b, out->data, out->len);
}
