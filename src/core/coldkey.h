/*
 * coldkey.h - cold-tier object keys, parsed exactly as the IoT SiteWise
 * user guide lays them out:
 *
 *   {prefix}startYear=Y/startMonth=M/startDay=D/seriesBucket=hh/
 *       raw_{seriesId}_{startTimestamp}_{quality}.avro     (or agg_)
 *
 * Y/M/D are not zero padded.  The file name is parsed from the right: the
 * last '_' token is the quality, the one before it the start timestamp,
 * and everything that remains is the series id, which is one UUID or
 * assetId_propertyId (two UUIDs).
 */
#ifndef SWREPART_COLDKEY_H
#define SWREPART_COLDKEY_H

#include <stdint.h>

#include "base/err.h"

enum coldkey_kind { COLDKEY_RAW, COLDKEY_AGG };

struct coldkey {
	enum coldkey_kind kind;
	int year, month, day;
	unsigned bucket;          /* seriesBucket, 0..255 */
	char series[80];          /* series id */
	int64_t start;            /* window start, seconds since the epoch */
	char quality[12];         /* GOOD, BAD or UNCERTAIN */
};

/* A calendar day. */
struct day {
	int year, month, day;
};

/* Parse key (full key: prefix included).  On failure the message says what
 * is wrong with it (the caller adds where it came from). */
sw_err coldkey_parse(const char *key, const char *prefix, struct coldkey *out);

/* Whether s is a series id: "UUID" or "UUID_UUID". */
int coldkey_series_ok(const char *s, size_t n);

/* "YYYY-MM-DD" <-> struct day; day_parse checks the calendar. */
sw_err day_parse(const char *s, struct day *out);
void day_format(const struct day *d, char out[11]);
/* Days since 1970-01-01, and back. */
int64_t day_to_epoch_days(const struct day *d);
void day_from_epoch_days(int64_t n, struct day *out);
int day_cmp(const struct day *a, const struct day *b);
/* Parse "startYear=Y/startMonth=M/startDay=D/" at p (no zero padding,
 * blank or sign; a calendar day) into out; returns what follows the last
 * '/', or NULL when p does not start with a day's partition. */
const char *day_partition_parse(const char *p, struct day *out);
/* The partition prefix of d: "{prefix}startYear=Y/startMonth=M/startDay=D/" */
void day_prefix(const struct day *d, const char *prefix, char *out,
    size_t outlen);

#endif
