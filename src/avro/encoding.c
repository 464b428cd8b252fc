/*
 * encoding.c - the binary encoding of the Avro 1.11 specification
 * ("Binary Encoding"): zigzag varints, bytes and strings, floats, unions.
 * Our own because avro-c's encoders are internal to it (ocf.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "avro/ocf.h"

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

void
enc_put_long(struct buf *b, int64_t v)
{
	unsigned char tmp[ENC_LONG_MAX_BYTES];

	buf_append(b, tmp, enc_encode_long(v, tmp));
}

void
enc_put_int(struct buf *b, int32_t v)
{
	enc_put_long(b, v);
}

sw_err
enc_put_bytes(struct buf *b, const void *p, size_t n)
{
	if (n > INT64_MAX)
		return sw_seterr(SW_ERR_INTERNAL, "avro bytes too long");
	buf_reserve(b, ENC_LONG_MAX_BYTES + n);
	enc_put_long(b, (int64_t)n);
	buf_append(b, p, n);
	return SW_OK;
}

sw_err
enc_put_string(struct buf *b, const char *s, size_t n)
{
	return enc_put_bytes(b, s, n);
}

void
enc_put_double(struct buf *b, double v)
{
	unsigned char tmp[8];
	uint64_t u;
	int i;

	memcpy(&u, &v, sizeof(u));
	for (i = 0; i < 8; i++)
		tmp[i] = (unsigned char)(u >> (8 * i));
	buf_append(b, tmp, sizeof(tmp));
}

void
enc_put_float(struct buf *b, float v)
{
	unsigned char tmp[4];
	uint32_t u;
	int i;

	memcpy(&u, &v, sizeof(u));
	for (i = 0; i < 4; i++)
		tmp[i] = (unsigned char)(u >> (8 * i));
	buf_append(b, tmp, sizeof(tmp));
}

void
enc_put_boolean(struct buf *b, int v)
{
	unsigned char c = v ? 1 : 0;

	buf_append(b, &c, 1);
}

void
enc_put_union_index(struct buf *b, int64_t idx)
{
	enc_put_long(b, idx);
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
