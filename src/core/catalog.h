/*
 * catalog.h - the series catalogue: one row per time series, read from the
 * cold tier's asset metadata ({keyPrefix}/asset_metadata/asset_{id}.ndjson,
 * one JSON line per asset property; COLD_TIER.md), and from IoT SiteWise's
 * ListTimeSeries where catalog.list_timeseries says so.  Used by `swrepart
 * series` and the mount, through engine_catalog() (core/engine.h), which
 * keeps it in memory and in the cache index.
 *
 * A line is an asset property, so the series it names are associated; a
 * line naming no assetId or assetPropertyId is kept as a disassociated
 * series (with its alias, when it has one).  COLD_TIER.md gives no such
 * line, and the generator writes none: disassociated streams are in no
 * asset's metadata, and only ListTimeSeries knows them
 * (catalog_list_sitewise(), merged by catalog_merge()).
 */
#ifndef SWREPART_CATALOG_H
#define SWREPART_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct store;
struct sw_config;

/* One time series.  A field the metadata leaves null or out is NULL. */
struct catalog_row {
	char *series_id;      /* timeSeriesId, never NULL */
	char *asset_id;       /* assetId */
	char *asset_name;     /* assetName */
	char *property_id;    /* assetPropertyId */
	char *property_name;  /* assetPropertyName */
	char *alias;          /* assetPropertyAlias */
	char *unit;           /* assetPropertyUnit */
	char *data_type;      /* assetPropertyDataType */
	char *bucket;         /* timeSeriesBucket */
	int associated;       /* assetId and assetPropertyId are set */
	int64_t mtime;        /* of the object the row comes from (only
	                       * while merging: not kept in the index) */
	size_t obj;           /* that object's place in key order (idem) */
};

struct catalog {
	struct catalog_row *rows;
	size_t n, cap;
	unsigned long objects;  /* metadata objects read */
	size_t *by_id;          /* rows' places sorted by series id
	                         * (catalog_finish()), for catalog_find() */
	double fetched;         /* when it was read (wall clock; 0 unknown) */
	int refs;               /* catalog_new(): catalog_ref/_unref */
};

/* The longest metadata line accepted: a longer one is SW_ERR_DATA. */
#define CATALOG_MAX_LINE (1024 * 1024)

/*
 * The key prefix of asset metadata for the data prefix of the cold tier:
 * asset_metadata/ sits beside the data prefix's last segment ("raw/" ->
 * "asset_metadata/", "site/raw/" -> "site/asset_metadata/").  Caller frees.
 */
char *catalog_meta_prefix(const char *data_prefix);

/*
 * Fill cat from every asset_{assetId}.ndjson under meta_prefix in st: list,
 * GET each object and parse its lines (at most CATALOG_MAX_LINE bytes each,
 * so memory is bounded by the rows, not by an object).  A series listed by
 * several objects is kept once, from the latest object (by modification
 * time, then key).  Rows are sorted by asset name, asset id, property name
 * and series id, and indexed by series id (catalog_find()).  A line that
 * is not a JSON object, or whose fields are not strings or null, or whose
 * timeSeriesId or timeSeriesBucket cannot name cold-tier keys (see
 * catalog_parse_new()), is SW_ERR_DATA naming the store, key and line
 * number; lines without a timeSeriesId (properties that store no time
 * series) are skipped.  cat must be empty (zeroed, or from catalog_new());
 * release it with catalog_release() (or catalog_unref()), on failure too.
 */
sw_err catalog_load(struct store *st, const char *meta_prefix,
    struct catalog *cat);

/*
 * The parser catalog_load() runs on each object, for callers that have the
 * bytes some other way (and the fuzzer): feed it an object's bytes in
 * pieces of any size, as a GET hands them, then end it.  Each line's row
 * is added to cat (unsorted: catalog_finish() merges and sorts).  name
 * names the object in messages ("bad asset metadata in 'NAME', line N:
 * ..."); mtime decides between two objects naming one series.  A
 * timeSeriesId must be a series id (coldkey_series_ok()) and a
 * timeSeriesBucket two lowercase hex digits: they become keys and paths.
 * _end() parses a last line without '\n' and frees the parser, as
 * _free() does (both accept NULL); after a failed _feed(), only _free().
 */
struct catalog_parse;
struct catalog_parse *catalog_parse_new(struct catalog *cat, const char *name,
    int64_t mtime);
sw_err catalog_parse_feed(struct catalog_parse *p, const void *data,
    size_t n);
sw_err catalog_parse_end(struct catalog_parse *p);
void catalog_parse_free(struct catalog_parse *p);

/* Keep each series once, from its latest object (by modification time,
 * then by the order the objects were parsed in), and sort the rows as
 * catalog_load() does. */
void catalog_finish(struct catalog *cat);

/* Free every row and the index (accepts a zeroed or NULL catalog): the
 * catalogue is empty again, its other fields (refs) left alone. */
void catalog_release(struct catalog *cat);

/* A catalogue on the heap with one reference.  catalog_ref() adds one,
 * catalog_unref() drops one and frees the catalogue with the last (both
 * thread-safe; unref accepts NULL).  A shared catalogue is immutable. */
struct catalog *catalog_new(void);
struct catalog *catalog_ref(struct catalog *c);
void catalog_unref(struct catalog *c);

/* The row of series_id, or NULL: a binary search over the index that
 * catalog_finish() (and catalog_load()) built. */
const struct catalog_row *catalog_find(const struct catalog *c,
    const char *series_id);

/*
 * The ListTimeSeries types the catalogue merges, by the setting
 * catalog.list_timeseries: off (none), disassociated, all (ASSOCIATED
 * too: associated series whose asset metadata is not exported yet), or
 * auto (the default): DISASSOCIATED when the SiteWise API is in use
 * already, that is when aws.sitewise_endpoint_url is set, or when the
 * cold tier is not a local directory and timeseries_type is not ALL.
 * A NULL-terminated list of type names.
 */
const char *const *catalog_listed_types(const struct sw_config *cfg);

/*
 * Fill cat (zeroed) with the series ListTimeSeries lists of each type
 * (NULL-terminated), finished: timeSeriesId, assetId, propertyId, alias
 * and dataType; no names, unit or bucket (the API gives none).  A series
 * id that cannot name cold-tier objects is left out, with a warning.
 */
sw_err catalog_list_sitewise(const struct sw_config *cfg,
    const char *const *types, struct catalog *cat);

/*
 * Merge listed (from catalog_list_sitewise()) into cat (finished): a
 * series cat holds keeps its row, the metadata's, gaining only the alias
 * and data type it leaves out; any other is added as listed.  cat is
 * finished again.
 */
void catalog_merge(struct catalog *cat, const struct catalog *listed);

/* ---- the catalogue as text (swrepart series, the mount's series.csv) ---- */

/* The columns, by their names in CSV headers and NDJSON keys:
 * timeSeriesId, assetId, assetName, propertyId, propertyName, alias, unit,
 * dataType, bucket, associated. */
#define CATALOG_NCOLS 10
extern const char *const catalog_col_names[CATALOG_NCOLS];
/* Column i of r as text ("true"/"false" for associated), NULL when the
 * metadata has none. */
const char *catalog_col(const struct catalog_row *r, int i);

enum catalog_fmt { CATALOG_CSV, CATALOG_NDJSON };
struct buf;
/* What comes before the rows: CSV's header line; nothing for NDJSON. */
void catalog_format_head(enum catalog_fmt fmt, struct buf *b);
/* One row, a line: CSV (RFC 4180: a field holding a comma, a quote or a
 * line break quoted, its quotes doubled; nothing for null) or a JSON
 * object (null for what the metadata leaves out, associated a boolean). */
void catalog_format_row(const struct catalog_row *r, enum catalog_fmt fmt,
    struct buf *b);

#endif
