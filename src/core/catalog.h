/*
 * catalog.h - the series catalogue: one row per time series, read from the
 * cold tier's asset metadata ({keyPrefix}/asset_metadata/asset_{id}.ndjson,
 * one JSON line per asset property; COLD_TIER.md).  Used by `swrepart
 * series`.
 *
 * A line is an asset property, so the series it names are associated; a
 * line naming no assetId or assetPropertyId is kept as a disassociated
 * series (with its alias, when it has one).  COLD_TIER.md gives no such
 * line, and the generator writes none: disassociated streams are in no
 * asset's metadata, and only ListTimeSeries knows them (not read here).
 */
#ifndef SWREPART_CATALOG_H
#define SWREPART_CATALOG_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct store;

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
	int64_t mtime;        /* of the object the row comes from */
	size_t obj;           /* that object's place in key order */
};

struct catalog {
	struct catalog_row *rows;
	size_t n, cap;
	unsigned long objects;  /* metadata objects read */
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
 * and series id.  A line that is not a JSON object, or whose fields are not
 * strings or null, is SW_ERR_DATA naming the store, key and line number;
 * lines without a timeSeriesId (properties that store no time series) are
 * skipped.  cat must be zeroed; release it with catalog_release(), on
 * failure too.
 */
sw_err catalog_load(struct store *st, const char *meta_prefix,
    struct catalog *cat);

/* Free every row (accepts a zeroed or NULL catalog). */
void catalog_release(struct catalog *cat);

#endif
