/*
 * ocf_impl.h - what the files of the container code share and nobody
 * else may use: the parsed schema's insides (schema.c builds it, walk.c
 * walks with it, ocf_reader.c caches it).
 */
#ifndef SWREPART_AVRO_OCF_IMPL_H
#define SWREPART_AVRO_OCF_IMPL_H

#include <avro.h>

#include "avro/ocf.h"

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

/* ocf_schema_parse() through the cache (c may be NULL): *out is a
 * reference of the caller's (ocf_schema_free it). */
sw_err ocf_schema_get(struct ocf_schema_cache *c, const char *json, size_t n,
    struct ocf_schema **out);

/* Walk the n bytes of block b's decompressed data with schema s: exactly
 * b->count well-formed records must fill it.  Errors name the file
 * (name), the block and the record. */
sw_err ocf_walk_block(const char *name, const struct ocf_schema *s,
    const struct ocf_block *b, const void *data, size_t n);

#endif
