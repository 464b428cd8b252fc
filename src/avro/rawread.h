/*
 * rawread.h - RawDatum records decoded through avro-c (libavro's
 * container reader and generic values), read from byte ranges of a
 * container file: for `swrepart cat`.
 *
 * A container's header and any run of its blocks, put end to end, are a
 * container again (each block ends with the file's sync marker).  So the
 * records of some objects of a day file are the records of its header
 * followed by those objects' byte ranges: the reader is given the ranges,
 * in order, and avro-c reads them through a stdio stream
 * (fopencookie(3)) that pread(2)s them from the descriptor, never the
 * whole file and never more than one block at a time (avro-c holds one
 * block; the stream buffers a few hundred KiB).
 *
 * The writer schema must read as RawDatum (COLD_TIER.md): a record with
 * seriesId and quality (string), timeInSeconds and offsetInNanos (long),
 * and any of doubleValue (double), stringValue (string), integerValue
 * (int), booleanValue (boolean), jsonValue (string) and recordVersion
 * (long), each a union of null and that type (or that type alone); a
 * field the schema lacks reads as null.  Anything else is SW_ERR_DATA.
 *
 * The input is trusted to be a day file of the cache (its digest checked
 * when the engine pinned it): avro-c is not hardened against hostile
 * input (see ocf.h), which is why the cold tier's own objects never go
 * through here.  The records the ranges hold, when the caller knows them
 * (the cache index does), are checked: exactly that many must be read,
 * and the ranges must end right after the last one.
 *
 * avro-c keeps its error message in one buffer for the process; the
 * reader takes it under a lock of its own.  schema.c parses under
 * another: `cat` decodes while no build of the engine runs, so the two
 * never meet (a shared lock would be the next step if they had to).
 */
#ifndef SWREPART_AVRO_RAWREAD_H
#define SWREPART_AVRO_RAWREAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

/* Bytes [off, off + len) of the file. */
struct rawread_range {
	uint64_t off, len;
};

/* The records the ranges hold are unknown (an older cache index). */
#define RAWREAD_UNKNOWN UINT64_MAX

/* A string of a record: n bytes at s (NUL-terminated as well; the bytes
 * may hold NULs and need not be UTF-8). */
struct rawread_str {
	const char *s;
	size_t n;
};

/* One record.  A field that is null has its has_ flag 0.  The strings
 * point into the reader and stay valid until its next call. */
struct raw_record {
	struct rawread_str series, quality;
	int64_t time_s, offset_ns;
	int has_double, has_string, has_integer, has_boolean, has_json,
	    has_version;
	double dbl;
	struct rawread_str str;
	int32_t integer;
	int boolean;
	struct rawread_str json;
	int64_t version;
};

struct rawread;

/*
 * Read the records of ranges r[0..n) of fd, in that order: the first
 * range starts with the container's header (offset 0), the others are runs
 * of whole blocks of the same file.  records is what the ranges hold
 * (RAWREAD_UNKNOWN: read until they end); 0, or no range at all, gives a
 * reader of no record that reads nothing (avro-c cannot open a container
 * without blocks).  name says what the file is in messages.  The fd is not
 * closed and its offset is not used.  Free with rawread_free().
 */
sw_err rawread_open(int fd, const char *name, const struct rawread_range *r,
    size_t n, uint64_t records, struct rawread **out);

/* The next record into rec: *got is 1, or 0 at the end.  A read error is
 * SW_ERR_IO, anything wrong with the data SW_ERR_DATA, both naming the
 * file; after an error every call fails. */
sw_err rawread_next(struct rawread *rd, struct raw_record *rec, int *got);

/* Accepts NULL. */
void rawread_free(struct rawread *rd);

#endif
