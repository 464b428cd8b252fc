/*
 * ocf.h - Avro binary encoding, schemas, and a streaming Object
 * Container File writer and reader.
 *
 * What is avro-c's and what is ours.  avro-c (libavro, 1.11.1 on Debian
 * 12) parses schemas and compares them (avro_schema_from_json_length,
 * avro_schema_equal), behind a strict check of ours: a writer schema is
 * anyone's input, and avro-c is not hardened against hostile input.  The
 * rest is the project's own, each for a reason avro-c cannot serve:
 *
 *  - the container writer: avro-c's picks its sync marker from
 *    srand(time(NULL)) and cannot write a block that is already encoded
 *    or compressed, so swrepart writes its containers itself: the caller
 *    chooses the marker (tests and the generator need byte-for-byte
 *    reproducible files; a day file being extended keeps its own) and can
 *    re-frame blocks read from another container without decoding them
 *    (the merge's fast path);
 *  - the container reader: avro-c's always decompresses and decodes, has
 *    no way to hand out a raw block, reads from a FILE (not a bounded
 *    range of a descriptor) and trusts the sizes it reads; this one reads
 *    one block at a time from a descriptor, within hard limits;
 *  - the checking walk of records (ocf_skip and the block count check):
 *    every datum of every input is checked against its schema before it
 *    is copied or decoded, with bounds on lengths, counts and nesting,
 *    and much faster than decoding into avro-c's values;
 *  - the binary encoding helpers (enc_*): avro-c's are internal.
 *
 * The writer streams to a sw_sink_fn (a file, a buffer or an upload);
 * it holds at most one block, so its memory is bounded by the block size
 * (plus one datum, and the codec's output for one block).
 *
 * The reader takes a container from a file descriptor one block at a
 * time, with hard limits on header and block sizes, and checks everything
 * it can (framing, markers, snappy CRCs, block counts against a walk of
 * the records with the parsed writer schema), so the merge can copy
 * blocks without decoding them and still refuse a corrupt input.
 *
 * The enc_put_* / enc_get_* helpers implement the binary encoding of the
 * Avro 1.11 specification ("Binary Encoding").  Writers append to a struct
 * buf; readers take a cursor (*p) and the end of the input, check every
 * length against it, and leave *p unchanged when they fail.
 */
#ifndef SWREPART_AVRO_OCF_H
#define SWREPART_AVRO_OCF_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "base/sink.h"
#include "base/util.h"

#define OCF_MAGIC "Obj\x01"
#define OCF_MAGIC_SIZE 4
#define OCF_SYNC_SIZE 16
/* Default uncompressed block size (avro-c's default as well). */
#define OCF_DEFAULT_BLOCK_SIZE (16 * 1024)
/* Longest encoding of a long: 64 bits in 7-bit groups. */
#define ENC_LONG_MAX_BYTES 10

/*
 * The writer schema of the cold tier's raw files (COLD_TIER.md): record
 * RawDatum in namespace amazon.aws.iot.sitewise.raw, fields seriesId,
 * timeInSeconds, offsetInNanos, quality, doubleValue, stringValue,
 * integerValue, booleanValue, jsonValue, recordVersion, the last six as
 * ["null", T] unions defaulting to null.
 */
extern const char ocf_rawdatum_schema[];
/*
 * The writer schema of the aggregate files (agg/): record AggDatum in
 * namespace amazon.aws.iot.sitewise.agg (the name is ours: see schema.c),
 * fields seriesId, timeInSeconds, offsetInNanos, quality, resolution
 * (a string such as "PT1M"), then count, average, min, max, sum as
 * ["null", "double"] and recordVersion as ["null", "long"], defaulting to
 * null.
 */
extern const char ocf_aggdatum_schema[];

/* Branch indexes of the ["null", T] unions of RawDatum and AggDatum. */
#define ENC_UNION_NULL 0
#define ENC_UNION_VALUE 1

/* ---- binary encoding ---------------------------------------------------- */

/*
 * The writers append to a struct buf, which cannot fail (base/util.h), so
 * they return nothing; only bytes and string keep sw_err: a length over
 * INT64_MAX cannot be written as an Avro long and is refused.
 */

/* Zigzag varint of a long (1..10 bytes). */
void enc_put_long(struct buf *b, int64_t v);
/* An int has the same encoding as a long (1..5 bytes). */
void enc_put_int(struct buf *b, int32_t v);
/* bytes / string: a long length, then the n bytes (no NUL, no check that
 * a string is UTF-8).  SW_ERR_INTERNAL if n > INT64_MAX. */
sw_err enc_put_bytes(struct buf *b, const void *p, size_t n);
sw_err enc_put_string(struct buf *b, const char *s, size_t n);
/* 8 / 4 bytes, IEEE 754, little-endian. */
void enc_put_double(struct buf *b, double v);
void enc_put_float(struct buf *b, float v);
/* One byte, 0 or 1 (any non-zero v writes 1). */
void enc_put_boolean(struct buf *b, int v);
/* The branch of a union, as a long; the branch's value follows (nothing
 * for null). */
void enc_put_union_index(struct buf *b, int64_t idx);

/* Encode v into out (ENC_LONG_MAX_BYTES at least); returns the length. */
size_t enc_encode_long(int64_t v, unsigned char *out);

/*
 * Decoders.  Each reads one value at *p (not past end), advances *p past
 * it and returns SW_OK; on truncated or malformed input it returns
 * SW_ERR_DATA with a message and leaves *p unchanged.  A long longer than
 * 10 bytes, or whose 10th byte carries more than the 64th bit, is
 * rejected; so is an int outside int32 and a boolean byte other than 0/1.
 */
sw_err enc_get_long(const unsigned char **p, const unsigned char *end,
    int64_t *out);
sw_err enc_get_int(const unsigned char **p, const unsigned char *end,
    int32_t *out);
/* bytes / string: *data points into the input (not copied, not
 * NUL-terminated); a negative length or one past end is rejected. */
sw_err enc_get_bytes(const unsigned char **p, const unsigned char *end,
    const unsigned char **data, size_t *n);
sw_err enc_get_string(const unsigned char **p, const unsigned char *end,
    const char **s, size_t *n);
sw_err enc_get_double(const unsigned char **p, const unsigned char *end,
    double *out);
sw_err enc_get_float(const unsigned char **p, const unsigned char *end,
    float *out);
sw_err enc_get_boolean(const unsigned char **p, const unsigned char *end,
    int *out);
/* A union branch index, checked to be below nbranches. */
sw_err enc_get_union_index(const unsigned char **p, const unsigned char *end,
    size_t nbranches, size_t *out);

/* ---- codecs ------------------------------------------------------------- */

enum ocf_codec {
	OCF_CODEC_NULL = 0,
	OCF_CODEC_DEFLATE,  /* raw RFC 1951 deflate (zlib, windowBits -15) */
	OCF_CODEC_SNAPPY    /* snappy + 4-byte big-endian CRC32 of the input */
};

/* zlib's CRC-32 of n bytes (what the snappy codec appends), faster where
 * the CPU allows. */
uint32_t ocf_crc32(const void *p, size_t n);

/* "null", "deflate", "snappy" -> codec; SW_ERR_DATA for anything else
 * (an absent avro.codec means "null": pass "null"). */
sw_err ocf_codec_parse(const char *name, enum ocf_codec *out);
const char *ocf_codec_name(enum ocf_codec c);

/*
 * Decompress one block's data (n bytes at in) into out, replacing its
 * contents.  More than max_out bytes of output is SW_ERR_DATA (a guard
 * against corrupt sizes and deflate bombs), as are corrupt input and a
 * snappy CRC that does not match.  For the container reader.
 */
sw_err ocf_decompress(enum ocf_codec c, const void *in, size_t n,
    size_t max_out, struct buf *out);

/* ---- container writer --------------------------------------------------- */

struct ocf_writer;

/*
 * Start a container: check the codec name, and send the header (magic,
 * metadata map with avro.schema and avro.codec, sync marker) to fn.
 * schema_json is written as given (not parsed).  sync is OCF_SYNC_SIZE
 * bytes, or NULL for a marker from OpenSSL's RAND_bytes.  block_size is
 * the uncompressed size at which a block is closed (0: the default).
 * fn(arg, ...) receives the container's bytes in order, in chunks; any
 * error it returns is returned by the call that wrote, and every later
 * call fails.  On success *out is set; free with ocf_writer_free().
 */
sw_err ocf_writer_new(const char *schema_json, const char *codec,
    const unsigned char *sync, size_t block_size, sw_sink_fn fn, void *arg,
    struct ocf_writer **out);

/* Append one datum, already encoded per the writer schema.  The open block
 * is written out first when adding n bytes would take it past the block
 * size (a datum bigger than the block size gets a block of its own). */
sw_err ocf_writer_append(struct ocf_writer *w, const void *datum, size_t n);

/* Write the open block now, if it has any datum (finish does it too). */
sw_err ocf_writer_flush(struct ocf_writer *w);

/* Write count (>= 1) records given as an encoded, UNcompressed block body
 * of n bytes as one block of its own, compressed with the writer's codec
 * (the open block, if any, is written first).  The bytes are not checked
 * against the schema. */
sw_err ocf_writer_append_block(struct ocf_writer *w, int64_t count,
    const void *data, size_t n);

/* Like ocf_writer_append_block, but data is already compressed with the
 * writer's codec (a block copied from a container with the same codec):
 * it is framed and written without being touched. */
sw_err ocf_writer_append_raw_block(struct ocf_writer *w, int64_t count,
    const void *data, size_t n);

/* Write the open block; the container is complete when this returns SW_OK.
 * Only ocf_writer_free() may follow. */
sw_err ocf_writer_finish(struct ocf_writer *w);

/* Free the writer (accepts NULL).  Without a successful finish, the output
 * is incomplete and must be discarded by the caller. */
void ocf_writer_free(struct ocf_writer *w);

/* The container's sync marker (OCF_SYNC_SIZE bytes). */
const unsigned char *ocf_writer_sync(const struct ocf_writer *w);

/* What has been sent to the sink so far. */
struct ocf_writer_stats {
	uint64_t bytes;    /* container bytes, header included */
	uint64_t records;  /* records in written blocks */
	uint64_t blocks;   /* data blocks written */
};
void ocf_writer_stats(const struct ocf_writer *w, struct ocf_writer_stats *st);

/*
 * Continue a container that already has its header (and maybe blocks),
 * such as a day file being extended: nothing is sent now, and blocks go
 * to fn framed with the given sync marker (the existing file's).  The
 * caller has checked that the existing container's schema is the one the
 * blocks are encoded with and its codec is codec.  The stats count what
 * this writer sends only.
 */
sw_err ocf_writer_continue(const char *codec, const unsigned char *sync,
    size_t block_size, sw_sink_fn fn, void *arg, struct ocf_writer **out);

/* A ready-made sink (a buffer's is buf_sink, base/util.h): write to the
 * file descriptor pointed to by arg (an int *), retrying short writes. */
sw_err ocf_sink_fd(void *arg, const void *p, size_t n);

/* ---- schemas ------------------------------------------------------------ */

/*
 * A parsed Avro schema, enough to walk, skip and resolve data: every type
 * of the 1.11 specification, named types referenced by full name (so a
 * schema may be recursive).  Attributes that do not change the encoding
 * (doc, aliases, defaults, order, logicalType and any unknown attribute)
 * are dropped: a logical type reads as its underlying type.
 *
 * avro-c parses the schema (avro_schema_from_json_length) and compares
 * schemas (avro_schema_equal); the tree below is built from its parse.
 * But a writer schema is anyone's input and avro-c is not hardened
 * against hostile input, so the JSON is first checked here, strictly and
 * within bounds, and avro-c sees only a schema that passed (see schema.c).
 */
enum ocf_type {
	OCF_NULL = 0, OCF_BOOLEAN, OCF_INT, OCF_LONG, OCF_FLOAT, OCF_DOUBLE,
	OCF_BYTES, OCF_STRING, OCF_RECORD, OCF_ENUM, OCF_ARRAY, OCF_MAP,
	OCF_UNION, OCF_FIXED
};

struct ocf_node;

struct ocf_field {
	const char *name;
	struct ocf_node *type;
};

struct ocf_node {
	enum ocf_type type;
	const char *name;            /* full name (record, enum, fixed) */
	size_t n;                    /* fields, branches, symbols; fixed size */
	struct ocf_field *fields;    /* record */
	struct ocf_node **branches;  /* union */
	const char **symbols;        /* enum */
	struct ocf_node *items;      /* array items, map values */
};

struct ocf_schema;

/* The longest schema JSON taken (RawDatum's is 700 bytes). */
#define OCF_MAX_SCHEMA (1024 * 1024)

/*
 * Parse n bytes of schema JSON (a JSON object, array or string).  Before
 * avro-c sees it, the JSON is checked: more than OCF_MAX_SCHEMA bytes,
 * invalid JSON, nesting deeper than 64, an unknown type or reference, a
 * name that is not an Avro name, a type defined twice, a field or symbol
 * that appears twice, a union inside a union or a union with two branches
 * of one type are SW_ERR_DATA with a message saying what and where; so is
 * a schema that avro-c then refuses.  Free with ocf_schema_free().
 */
sw_err ocf_schema_parse(const char *json, size_t n, struct ocf_schema **out);
/* Drop a reference: frees the schema when it was the last one. */
void ocf_schema_free(struct ocf_schema *s);
/* Take a reference (the schema stays valid until its ocf_schema_free()).
 * References are not atomic: take and drop them in one thread. */
struct ocf_schema *ocf_schema_ref(const struct ocf_schema *s);
/*
 * Parsed schemas by their JSON text, for readers of many files written
 * with the same schema: each is parsed once.  Holds a few schemas (the
 * latest ones); schemas stay valid while a reader uses them, whatever
 * the cache does.  Not thread-safe: one cache per thread.
 */
struct ocf_schema_cache;
struct ocf_schema_cache *ocf_schema_cache_new(void);
void ocf_schema_cache_free(struct ocf_schema_cache *c);  /* accepts NULL */

/* The root type (owned by the schema). */
const struct ocf_node *ocf_schema_root(const struct ocf_schema *s);
/* Whether two schemas encode their data identically, as avro-c's
 * avro_schema_equal says: the same types, record names, field names,
 * symbols and sizes, in the same order (doc, defaults, attribute order
 * and white space do not count). */
int ocf_schema_equal(const struct ocf_schema *a, const struct ocf_schema *b);
/* Unqualified name of a full name ("a.b.RawDatum" -> "RawDatum"). */
const char *ocf_short_name(const char *full_name);
/* "record", "long", ... */
const char *ocf_type_name(enum ocf_type t);

/*
 * Skip one datum of type t at *p (not past end), checking it as the
 * decoders above do (lengths, booleans, int range, union branches, enum
 * symbols).  On failure *p is unchanged and the message says why.
 */
sw_err ocf_skip(const struct ocf_node *t, const unsigned char **p,
    const unsigned char *end);

/* ---- container reader --------------------------------------------------- */

/* Limits of the reader: a header (magic, metadata, marker) longer than
 * OCF_MAX_HEADER, a block whose compressed or uncompressed size exceeds
 * OCF_MAX_BLOCK, or whose count exceeds OCF_MAX_BLOCK_RECORDS is taken for
 * corruption (a block of 64 MiB is far past what any writer makes). */
#define OCF_MAX_HEADER (4 * 1024 * 1024)
#define OCF_MAX_BLOCK (64 * 1024 * 1024)
#define OCF_MAX_BLOCK_RECORDS OCF_MAX_BLOCK

struct ocf_reader;

/* One block as ocf_reader_next() returns it. */
struct ocf_block {
	uint64_t index;             /* 0 for the file's first block */
	uint64_t offset;            /* file offset of its first byte */
	uint64_t end;               /* file offset just past its marker */
	int64_t count;              /* records, as the block says */
	const unsigned char *data;  /* its (compressed) data, size bytes,
	                             * valid until the reader's next call */
	size_t size;
};

/*
 * Open the container read from fd (from its current offset, which
 * messages count as offset 0) and read its header: magic, metadata
 * (avro.schema, which is parsed; avro.codec, "null" when absent; other
 * keys are ignored) and sync marker.  name says what the file is in
 * messages ("s3://bucket/key").  limit is the number of bytes to read at
 * most, as if the file ended there (OCF_TO_EOF: to the end of the file;
 * a regular file's size is taken from fstat).
 *
 * Every problem found, here or later, is SW_ERR_DATA with a message that
 * starts with the quoted name and says what is wrong and where (offset,
 * block number); read errors are SW_ERR_IO.  Memory: one block at a time
 * (a few times OCF_MAX_BLOCK at worst), never the whole file.  The fd is
 * not closed.  cache (may be NULL) keeps parsed schemas across readers of
 * one thread.  Free with ocf_reader_free().
 */
#define OCF_TO_EOF UINT64_MAX
sw_err ocf_reader_open(int fd, const char *name, uint64_t limit,
    struct ocf_schema_cache *cache, struct ocf_reader **out);
void ocf_reader_free(struct ocf_reader *r);
/*
 * A reader of blocks only: a run of complete blocks framed with sync, cut
 * from a container whose schema is s and codec is codec (an object's
 * blocks in a day file, found by their byte range).  Reading starts at
 * fd's current offset and stops after limit bytes; base is the offset
 * that messages give the first byte (the range's offset in its file).
 * The schema is referenced, not copied.
 */
sw_err ocf_reader_open_blocks(int fd, const char *name, uint64_t base,
    uint64_t limit, const struct ocf_schema *s, enum ocf_codec codec,
    const unsigned char *sync, struct ocf_reader **out);

/* The same readers over n bytes in memory (a whole container, or a run of
 * blocks), with the same checks: nothing is read or copied, and p must
 * stay valid and unchanged until ocf_reader_free(). */
sw_err ocf_reader_open_mem(const void *p, size_t n, const char *name,
    struct ocf_schema_cache *cache, struct ocf_reader **out);
sw_err ocf_reader_open_blocks_mem(const void *p, size_t n, const char *name,
    uint64_t base, const struct ocf_schema *s, enum ocf_codec codec,
    const unsigned char *sync, struct ocf_reader **out);

const char *ocf_reader_name(const struct ocf_reader *r);
const struct ocf_schema *ocf_reader_schema(const struct ocf_reader *r);
/* The avro.schema metadata as written (NUL-terminated). */
const char *ocf_reader_schema_json(const struct ocf_reader *r);
enum ocf_codec ocf_reader_codec(const struct ocf_reader *r);
const unsigned char *ocf_reader_sync(const struct ocf_reader *r);
/* Bytes of the header: the offset of the first block. */
uint64_t ocf_reader_header_size(const struct ocf_reader *r);
/* Offset just past the last block returned (the header's end before
 * the first): where the valid part of the file ends so far. */
uint64_t ocf_reader_offset(const struct ocf_reader *r);

/*
 * The next block: its framing checked (count and size not negative nor
 * past the limits, all its bytes present, the sync marker after it the
 * header's).  *got is 1 with b filled, or 0 at the end of the file (which
 * must come right after a block: stray bytes are an error).  After an
 * error every call fails.
 */
sw_err ocf_reader_next(struct ocf_reader *r, struct ocf_block *b, int *got);

/*
 * Decompress block b into out (replacing its contents; at most
 * OCF_MAX_BLOCK bytes), checking the snappy CRC.  Errors name the file,
 * the block and its offset.  A block is known good only once its records
 * have been walked too: ocf_reader_check_count(), or a decoder of the
 * caller's that checks the count the same way.
 */
sw_err ocf_reader_decompress(struct ocf_reader *r, const struct ocf_block *b,
    struct buf *out);
/* Walk the n bytes of block b's decompressed data with the writer schema:
 * exactly b->count records must fill it, neither fewer nor more, each
 * one well-formed. */
sw_err ocf_reader_check_count(struct ocf_reader *r, const struct ocf_block *b,
    const void *data, size_t n);

/*
 * Both checks above for a block copied away from its reader, given the
 * container's name, codec and schema (ocf_reader_name(), ..._codec(),
 * ..._schema(); hold a reference to the schema with ocf_schema_ref() to
 * outlive the reader).  Reads nothing but its arguments: any thread may
 * call it, several at once.
 */
sw_err ocf_block_check(const char *name, enum ocf_codec codec,
    const struct ocf_schema *s, const struct ocf_block *b, struct buf *out);

#endif
