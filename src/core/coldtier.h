/*
 * coldtier.h - walking the cold tier: which days hold data, and the
 * objects of one day.  Used by `ls`, the day engine and the mount.
 */
#ifndef SWREPART_COLDTIER_H
#define SWREPART_COLDTIER_H

#include "core/coldkey.h"
#include "store/store.h"

/* Called for each day with data, oldest first. */
typedef sw_err (*coldtier_day_fn)(void *arg, const struct day *d);

/* Days under prefix within [from, to] (NULL: unbounded), found with
 * delimiter listings (year, month, day levels), so no object is listed. */
sw_err coldtier_days(struct store *st, const char *prefix,
    const struct day *from, const struct day *to, coldtier_day_fn fn,
    void *arg);

/* One level of the partitions, sorted: the years under prefix (year 0),
 * the months of a year (month 0), or the days of a month.  *vals is
 * malloc()ed. */
sw_err coldtier_level(struct store *st, const char *prefix, int year,
    int month, long **vals, size_t *n);

/* Called for each object of a day whose key parses. */
typedef sw_err (*coldtier_obj_fn)(void *arg, const struct store_entry *e,
    const struct coldkey *k);

struct coldtier_stats {
	unsigned long objects;     /* parsed objects */
	unsigned long skipped;     /* keys that do not parse: reported */
	unsigned long long bytes;
};

/* Called for each key of the day's partition that is not a cold-tier
 * object, with the reason. */
typedef sw_err (*coldtier_bad_fn)(void *arg, const struct store_entry *e,
    const char *why);

/* Every object of day d (all seriesBucket prefixes).  A key that does not
 * parse, or parses to another day, goes to bad (or, when bad is NULL, is
 * reported as a warning naming it and why) and is skipped. */
sw_err coldtier_list_day(struct store *st, const char *prefix,
    const struct day *d, coldtier_obj_fn fn, coldtier_bad_fn bad, void *arg,
    struct coldtier_stats *stats);

/* The objects of day d under one series' prefix,
 * "{day}seriesBucket={bucket}/{stem}_{series}_" (stem "raw" or "agg": one
 * listing of a handful of keys instead of the day's thousands), checked as
 * coldtier_list_day() does.  The prefix also holds a series whose id
 * starts with series and '_' ("A_B" for "A"): the caller keeps the series
 * it wants. */
sw_err coldtier_list_series_day(struct store *st, const char *prefix,
    const struct day *d, unsigned bucket, const char *stem,
    const char *series,
    coldtier_obj_fn fn, coldtier_bad_fn bad, void *arg,
    struct coldtier_stats *stats);

/*
 * Why no day was found under prefix, for the user: what the prefix holds
 * (nothing, or names that are no startYear= partition) and what the level
 * above it holds, e.g. "'s3://b/wrong/' holds nothing; 's3://b/' holds
 * 'asset_metadata/', 'raw/' (is s3.cold_tier.data_prefix right?)".
 * *years is set when the prefix does hold years (then a range, not the
 * prefix, left no day, and *out still says what the prefix holds).
 * Caller frees *out.
 */
sw_err coldtier_explain_empty(struct store *st, const char *prefix,
    int *years, char **out);

#endif
