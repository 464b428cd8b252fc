/*
 * walk.c - the checking walk of records: every datum of every input is
 * walked with its writer schema before it is copied or decoded, with
 * every length, count, union branch, enum symbol and the nesting checked
 * against bounds.  Our own because avro-c's decoder trusts what it reads
 * (it allocates what a length says) and decoding into its values would
 * cost far more than this walk, which runs over every record the merge
 * copies.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "avro/ocf.h"
#include "avro/ocf_impl.h"

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
			    ocf_type_name(t->type));
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
					    "block count", ocf_type_name(t->type));
				count = -count;
				if ((rc = enc_get_long(p, end, &size)) !=
				    SW_OK)
					return rc;
				if (size < 0 || size > end - *p)
					return sw_seterr(SW_ERR_DATA, "%s "
					    "block size %lld out of range",
					    ocf_type_name(t->type),
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
				    ocf_type_name(t->type), (long long)count);
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
				    ocf_type_name(t->type), (long long)size);
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

sw_err
ocf_walk_block(const char *name, const struct ocf_schema *s,
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
