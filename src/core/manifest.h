/*
 * manifest.h - a published day's state of record, swrepart-manifest.json
 * in the target bucket, and the sample's timeseries.txt.
 *
 * Both come from a bucket that others can write, so both are parsed as
 * untrusted input: every field is type- and range-checked, and what a
 * manifest names is checked against the day it describes (the day, the
 * data partition, the kind of key) before anything acts on it.  A
 * manifest that fails a check is reported, never obeyed.
 *
 * Version 2 names every cold-tier object merged into the data object
 * with the byte range and record count of its blocks there ("merged"),
 * so a day can be extended, or rebuilt on a machine whose cold tier lost
 * objects, without losing any: an object the cold tier no longer holds is
 * copied from the published day by its range.  Version 1 (swrepart 0.x
 * before object-exact days) has only a digest of the objects; it is read
 * and replaced by version 2 when the day is published again.
 */
#ifndef SWREPART_MANIFEST_H
#define SWREPART_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "core/cache.h"
#include "core/coldkey.h"

#define MANIFEST_NAME "swrepart-manifest.json"
#define MANIFEST_VERSION 2

struct manifest {
	int exists;
	int version;
	char *src_url, *src_prefix, *src_type;
	uint64_t count, bytes;          /* cold-tier objects merged */
	char digest[65];                /* sha256 of their keys and ETags */
	int has_data;
	char *data_key;
	uint64_t size, records, series;
	char md5[33];
	char etag[80];
	char index_etag[80];            /* of timeseries.txt */
	/* version 2: the objects merged, in key order, with their blocks'
	 * byte ranges in the data object and record counts */
	struct cache_obj *objs;
	size_t nobjs;
	uint64_t kept;                  /* of those, gone from the cold tier */
	/* The data object a run is about to upload, recorded before the
	 * upload: a run that stops after it leaves a data object that the
	 * manifest's "data" does not describe but this does (by its MD5 or
	 * multipart ETag), so no object's range is ever unknown. */
	int has_pending;
	char pending_md5[33], pending_mpetag[80];
	uint64_t pending_size, pending_records, pending_series;
	struct cache_obj *pending_objs;
	size_t npending;
	/* the day as the Python sample left it */
	int legacy, adopted;
	char **lseries;
	size_t nlseries;
	char **lobjs;                   /* its merged_series_*.avro keys */
	size_t nlobjs;
};

/* What a manifest must agree with: its day and that day's partitions in
 * the target (data_part and index_part end with '/'). */
struct manifest_ctx {
	const struct day *d;
	const char *data_part;
	const char *index_part;
};

/* Parse len bytes of a manifest read from where (named in messages).
 * ctx (may be NULL: no checks against a day) is checked too.  SW_ERR_DATA
 * with a message saying what is wrong; m is empty then.  Free with
 * manifest_free(). */
sw_err manifest_parse(const void *data, size_t len, const char *where,
    const struct manifest_ctx *ctx, struct manifest *m);
void manifest_free(struct manifest *m);

/* The JSON text of m for day d (written: the time now), '\n'-ended;
 * free() it. */
char *manifest_json(const struct manifest *m, const struct day *d,
    size_t *len);

/* The series ids of a timeseries.txt, one per line, sorted and unique;
 * the error names the line of anything that cannot be one. */
sw_err series_parse(const void *data, size_t len, const char *where,
    char ***out, size_t *n);

/* A key the Python sample wrote: ".../merged_series_<digits>.avro". */
int manifest_is_sample_key(const char *key);

#endif
