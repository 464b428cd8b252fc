/*
 * codec.c - the block codecs of Object Container Files: null, deflate
 * (raw RFC 1951), snappy with its CRC-32, and that CRC fast.  Our own
 * because avro-c's codecs are internal to its file reader and writer, and
 * the merge checks every copied block's CRC without decoding its records.
 */
#include "config.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <snappy-c.h>
#include <zlib.h>

#include "avro/ocf.h"

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
		buf_reserve(out, room);
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

	if (n < 4)
		return sw_seterr(SW_ERR_DATA, "snappy block shorter than its crc");
	n -= 4;
	if (snappy_uncompressed_length((const char *)in, n, &len) != SNAPPY_OK)
		return sw_seterr(SW_ERR_DATA, "corrupt snappy block header");
	if (len > max_out)
		return sw_seterr(SW_ERR_DATA,
		    "snappy block claims %zu bytes, more than %zu", len,
		    max_out);
	buf_reserve(out, len);
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
		buf_append(out, in, n);
		return SW_OK;
	case OCF_CODEC_DEFLATE:
		return inflate_block(in, n, max_out, out);
	case OCF_CODEC_SNAPPY:
		return unsnappy_block(in, n, max_out, out);
	}
	return sw_seterr(SW_ERR_INTERNAL, "unknown codec %d", (int)c);
}
