/*
 * merge.h - merge cold-tier files of one dataset into one day file.
 *
 * A dataset is what the cold tier keeps under one prefix: the raw
 * measurements (raw/, record RawDatum) or the aggregates (agg/, record
 * AggDatum).  Its reader schema (struct merge_dataset) is the output's
 * writer schema, exactly as given (ocf_rawdatum_schema,
 * ocf_aggdatum_schema), with the snappy codec, streamed to a sw_sink_fn.
 * Each input is a container file read from a file descriptor, validated
 * block by block (framing, sync markers, snappy CRCs, block counts
 * checked by walking the records) and:
 *
 *  - copied block by block without decoding ("raw") when its writer
 *    schema equals the reader's (ocf_schema_equal(): avro-c's
 *    avro_schema_equal, so the same full name, fields, types and order;
 *    doc, defaults, white space and attribute order may differ) and its
 *    codec is snappy: the compressed bytes are re-framed with the
 *    output's sync marker, as avro-tools concat does;
 *  - decompressed and compressed again whole ("recompressed") when the
 *    schema is the reader's but the codec is null or deflate;
 *  - otherwise decoded record by record with Avro schema resolution
 *    against the reader schema ("resolved"): fields matched by name, the
 *    record by its unqualified name, writer-only fields skipped, missing
 *    optional fields null, promotions int->long->float->double and
 *    string<->bytes, unions resolved branch by branch; then re-encoded in
 *    the reader's order.
 *
 * The resolution is the project's own, not avro-c's resolved writer
 * (avro_resolved_writer_new + avro_value_read), because avro-c 1.11.1
 * cannot read these files: it refuses a reader field that the writer
 * lacks ("Reader field recordVersion doesn't appear in writer": default
 * values are a TODO in its resolver), so every file written before a
 * RawDatum field was added would be refused; it does not promote bytes
 * to string; and it matches records by full name, so RawDatum in another
 * namespace is refused.  Its generic values would also allocate per
 * record, where the plan here decodes straight into the output buffer.
 * (Tests check the resolved records against python3-avro's.)
 *
 * An input that is not a file of the dataset (its schema is not a record
 * of the reader's unqualified name, lacks a field the reader requires --
 * one that is not a ["null", T] union --, has none of the dataset's
 * value fields, or has a type that cannot be read as the reader's) or
 * that is corrupt is SW_ERR_DATA, with a message naming the input (the
 * name the caller gives) and what is wrong where.
 *
 * Memory is bounded by a few blocks (inputs are read one block at a
 * time), whatever the size of the inputs or of the day.  Not thread-safe:
 * one merge is used by one thread at a time.
 *
 * Failure and the output.  Output is buffered (up to 1 MiB) between
 * calls; merge_finish() sends the rest, and so does a merge_add_file()
 * that fails.  When merge_add_file() fails because of its input
 * (SW_ERR_DATA, or SW_ERR_IO reading it), the output still ends with
 * complete blocks, but some of them may be blocks of that input (they
 * are sent as soon as they are checked, so a file is never held whole).
 * The caller then either discards the whole output (the simple way: write
 * to a temporary file, do not rename it), or, to leave the bad input out
 * and go on, cuts the output back to the offset merge_rollback() gives and
 * carries on.  Until one of those, the merge refuses further work, so a
 * half-merged input can never end in an output reported complete.  A
 * failure of the sink itself fails the merge for good.
 */
#ifndef SWREPART_AVRO_MERGE_H
#define SWREPART_AVRO_MERGE_H

#include <stdint.h>

#include "avro/ocf.h"
#include "base/err.h"
#include "base/sink.h"

/* Uncompressed size at which re-encoded records are closed into a block;
 * copied blocks keep their size. */
#define MERGE_BLOCK_SIZE (64 * 1024)

struct merge;

/* How an input was merged (per file). */
enum merge_path {
	MERGE_PATH_NONE = 0,     /* nothing merged (totals, or a failure) */
	MERGE_PATH_RAW,          /* blocks copied without decoding */
	MERGE_PATH_RECOMPRESS,   /* the reader's schema, another codec */
	MERGE_PATH_RESOLVE       /* records decoded and re-encoded */
};

/* Counters of one merge_add_file() call, or of the whole merge. */
struct merge_stats {
	uint64_t files;              /* inputs merged */
	uint64_t records;            /* records written */
	uint64_t blocks_in;          /* input blocks read */
	uint64_t blocks_raw;         /* ... copied without decoding */
	uint64_t blocks_recompressed;/* ... decompressed, compressed again */
	uint64_t records_resolved;   /* records decoded and re-encoded */
	uint64_t blocks_out;         /* blocks written */
	uint64_t bytes_in;           /* input bytes read (header included) */
	uint64_t bytes_out;          /* bytes sent to the sink */
	uint64_t out_start;          /* output offset where the file's blocks
	                              * (the merge's output) begin */
	uint64_t out_end;            /* ... and end */
	enum merge_path path;        /* per file */
};

/*
 * A dataset of the cold tier as the merge reads it: its reader schema and
 * what makes a file one of its files.
 */
struct merge_dataset {
	const char *name;          /* "raw", "aggregate": in messages */
	const char *schema;        /* the reader schema's JSON */
	const char *const *values; /* value fields, NULL-terminated: an
	                            * input has one of them at least */
};
/* The raw measurements (RawDatum) and the aggregates (AggDatum). */
extern const struct merge_dataset merge_raw, merge_agg;

/*
 * Start a new output of dataset ds: the header (the reader schema, snappy
 * codec, sync marker: OCF_SYNC_SIZE bytes, or NULL for a random one) is
 * sent to fn at once.  On success *out is set; free with merge_free().
 * merge_new() is merge_new_ds(&merge_raw, ...).
 */
sw_err merge_new_ds(const struct merge_dataset *ds, sw_sink_fn fn, void *arg,
    const unsigned char *sync, struct merge **out);
sw_err merge_new(sw_sink_fn fn, void *arg, const unsigned char *sync,
    struct merge **out);

/*
 * Continue an output that swrepart wrote earlier (a day file being
 * extended): read fd from its current offset (normally 0), check that the
 * header is the dataset's schema + snappy and the framing of every block (count,
 * size, sync marker; with verify, also each block's CRC and record count,
 * which costs a decompression of the whole file), and keep its sync
 * marker.  Only the first end bytes are read and must be complete blocks
 * (end = 0: the whole file); a caller that records the size of each day
 * file it completed passes that size, and anything a crashed append left
 * after it is ignored (cut it off: ftruncate(fd, end)).
 *
 * Nothing is sent now; new blocks go to fn and belong right after the
 * existing ones, at offset end (offsets in merge_stats count from the
 * file's start).  To extend the file in place, pass ocf_sink_fd with the
 * same fd: after this call its offset is the end of the last block.  The
 * caller must be able to undo a failed extension: write to a copy, or
 * ftruncate back to existing->out_end.
 *
 * existing (may be NULL) gets the file's records, blocks (blocks_in),
 * bytes (bytes_in) and its end (out_start = out_end).
 */
sw_err merge_open_append(int fd, const char *name, uint64_t end, int verify,
    sw_sink_fn fn, void *arg, struct merge **out,
    struct merge_stats *existing);
/* The same for dataset ds; NULL takes whichever dataset's schema the
 * header has (a cache's files of every dataset). */
sw_err merge_open_append_ds(const struct merge_dataset *ds, int fd,
    const char *name, uint64_t end, int verify, sw_sink_fn fn, void *arg,
    struct merge **out, struct merge_stats *existing);

/*
 * Helper threads that check copied blocks while the caller's thread reads
 * and writes: 1 by default on a machine of several CPUs (it spins for
 * 50 microseconds when out of work, then sleeps), 0 to check
 * everything in the caller's thread.  The output is the same either way.
 */
void merge_set_workers(struct merge *m, int n);

/*
 * Merge one input container read from fd (from its current offset; the fd
 * is not closed).  name names it in messages ("s3://bucket/key").  Every
 * record of the input is written exactly once, or the call fails: see
 * "Failure and the output" above.  st (may be NULL) gets this file's
 * counters, also on failure (what was done so far).
 */
sw_err merge_add_file(struct merge *m, int fd, const char *name,
    struct merge_stats *st);

/* The same for an input of n bytes in memory (a fetched object): nothing
 * is read or copied beyond what the merge writes; p must stay valid until
 * the call returns. */
sw_err merge_add_mem(struct merge *m, const void *p, size_t n,
    const char *name, struct merge_stats *st);

/*
 * Copy the blocks of one input that was merged into a day file of this
 * output's kind before: the len bytes at offset off of fd, a run of
 * complete blocks framed with this merge's sync marker (a previous
 * generation of the day, or the published day, share it: see the day
 * engine).  Their framing is checked, and with verify also each block's
 * CRC and record count (bytes from elsewhere than this machine's
 * verified cache); they must hold exactly records records.  Copied
 * without decoding, so the output holds the same bytes as the merge that
 * first wrote them.  Failure and rollback as for merge_add_file().
 */
sw_err merge_add_blocks(struct merge *m, int fd, uint64_t off, uint64_t len,
    uint64_t records, int verify, const char *name, struct merge_stats *st);
/* The same for the n bytes of such blocks in memory. */
sw_err merge_add_blocks_mem(struct merge *m, const void *p, size_t n,
    uint64_t records, int verify, const char *name, struct merge_stats *st);

/* Records per series of a RawDatum container (a day file, or any
 * merge's output), read from fd's current offset: *out, sorted by series,
 * *n entries; free with merge_counts_free().  merge_series_counts_ds()
 * reads a container of dataset ds (its seriesId is the first field). */
struct merge_count {
	char *series;
	uint64_t records;
};
sw_err merge_series_counts(int fd, const char *name, struct merge_count **out,
    size_t *n);
sw_err merge_series_counts_ds(const struct merge_dataset *ds, int fd,
    const char *name, struct merge_count **out, size_t *n);
void merge_counts_free(struct merge_count *v, size_t n);

/*
 * After merge_add_file() failed because of its input: forget that input.
 * *truncate_to gets the output offset where its blocks began; the caller
 * cuts its output back to there and makes the sink write there next (a
 * file: ftruncate(fd, off) and lseek(fd, off, SEEK_SET)); when nothing of
 * the input was written, that is the current end and nothing needs
 * cutting.  Then the merge goes on.  SW_ERR_INTERNAL when the last call
 * did not fail that way.
 */
sw_err merge_rollback(struct merge *m, uint64_t *truncate_to);

/*
 * Complete the output (nothing is pending: blocks are written file by
 * file).  The output is a complete container only when this returns
 * SW_OK; then only merge_stats(), merge_sync() and merge_free() may
 * follow.
 */
sw_err merge_finish(struct merge *m);

/* Totals of the merge so far (of this merge's work only, for an append:
 * out_start is where the appended blocks begin). */
void merge_stats(const struct merge *m, struct merge_stats *st);

/* The output's sync marker (OCF_SYNC_SIZE bytes). */
const unsigned char *merge_sync(const struct merge *m);

/* Free (accepts NULL).  Without a successful merge_finish(), the output
 * is incomplete: discard it. */
void merge_free(struct merge *m);

#endif
