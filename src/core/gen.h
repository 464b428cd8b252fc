/*
 * gen.h - a deterministic, synthetic IoT SiteWise cold tier.
 *
 * No real cold-tier file is public, so tests and benchmarks build buckets
 * with this generator, following COLD_TIER.md exactly: raw Avro files under
 * {prefix}startYear=Y/startMonth=M/startDay=D/seriesBucket=hh/ and asset
 * metadata under asset_metadata/.  Everything comes from a seeded PRNG, so
 * the same parameters give the same bytes, and:
 *
 *  - series i (its id, asset, property, data type, bucket, alias) depends
 *    only on the seed and i (and the id-form shares): a run with more
 *    series keeps the old ones and adds new ones ("new assets, new
 *    properties");
 *  - the object of (series, day, window, quality) depends only on the seed
 *    and those four (and the codec / schema shares; the day is the UTC
 *    date itself, not its position in the run): emitting windows 0..1 and
 *    later 2..3 gives the objects of one 0..3 run ("a later six-hour
 *    export"), and runs with other start dates agree on shared days.
 *    Records do not depend on the codec or writer-schema shares at all.
 *  - asset k's metadata lists the associated series among 4k..4k+3 that
 *    the run has, so it changes only when a run adds series to it.
 *  - with aggregates, each raw file has an aggregate file of the same
 *    series, window and quality (agg_..., under agg/ beside the data
 *    prefix), computed from that raw file's records: one record per
 *    minute with data (resolution "PT1M"), then one per hour with data
 *    ("PT1H"), each at its interval's start (offsetInNanos 0) with
 *    count, and for DOUBLE and INTEGER series average, min, max and sum
 *    of the values (other types: count only, the rest null, as SiteWise
 *    does for non-numeric properties); recordVersion is the largest of
 *    the interval's records, or null for an unversioned series.  Raw
 *    files and their records do not change with the setting.
 *
 * seriesBucket derivation: the first two lowercase hex digits of the
 * SHA-256 of the series id string (the real service's derivation is not
 * public; only "two hex digits derived from the id" is).  Asset metadata's
 * timeSeriesBucket is the same value.
 */
#ifndef SWREPART_GEN_H
#define SWREPART_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define GEN_WINDOW_SECONDS (6 * 3600)  /* exports every six hours */
#define GEN_MAX_WINDOWS 4
/* Series 4k..4k+3 belong to asset k (the associated ones among them). */
#define GEN_SERIES_PER_ASSET 4
/* Region and account of the generated ARNs. */
#define GEN_REGION "us-east-1"
#define GEN_ACCOUNT "123456789012"

enum gen_type {
	GEN_TYPE_DOUBLE = 0,
	GEN_TYPE_INTEGER,
	GEN_TYPE_STRING,
	GEN_TYPE_BOOLEAN,
	GEN_TYPE_JSON,      /* STRUCT (alarm state) values, in jsonValue */
	GEN_TYPE__COUNT
};

enum gen_quality {
	GEN_GOOD = 0,
	GEN_BAD,
	GEN_UNCERTAIN,
	GEN_QUALITY__COUNT
};

/*
 * What to generate.  gen_params_init() fills every field with its default
 * (in brackets); change what a test needs.  Shares are in [0, 1].
 */
struct gen_params {
	const char *start_date;   /* first UTC day, "YYYY-MM-DD" [2022-01-01] */
	int days;                 /* consecutive days [1] */
	int series;               /* time series [10] */
	int records_per_file;     /* records of a GOOD file [100]; BAD and
	                           * UNCERTAIN files hold an eighth (>= 1) */
	int windows_per_day;      /* six-hour windows with data, 1..4 [4] */
	int first_window;         /* windows to emit on each day: */
	int last_window;          /* first..last [0..-1]; -1: windows_per_day-1 */
	uint64_t seed;            /* [1] */
	const char *prefix;       /* data prefix, "" or ending in '/' ["raw/"] */
	double disassociated_share;  /* single-UUID series in no asset [0.1] */
	double legacy_id_share;   /* associated series with an
	                           * assetId_propertyId id [0.5] */
	double unversioned_share; /* series whose recordVersion is null [0.3] */
	double deflate_share;     /* files with the deflate codec [0] */
	double null_share;        /* files with the null codec [0]; rest snappy */
	double variant_schema_share; /* files whose writer schema orders the
	                           * fields differently or uses another
	                           * namespace [0] */
	double bad_share;         /* series windows with a BAD file too [0] */
	double uncertain_share;   /* ... with an UNCERTAIN file too [0] */
	int asset_metadata;       /* emit asset_metadata/ [1] */
	int aggregates;           /* emit agg/ files too [0] */
	const char *agg_prefix;   /* their prefix; NULL: "agg/" in place of
	                           * the data prefix's last segment [NULL] */
	size_t block_size;        /* avro block size [16 KiB] */
};

void gen_params_init(struct gen_params *p);

/* Check the parameters; SW_ERR_USAGE with a message naming the field. */
sw_err gen_params_check(const struct gen_params *p);

/* One time series, as ListTimeSeries and asset metadata describe it. */
struct gen_series {
	int index;
	char id[74];           /* timeSeriesId, as in the keys */
	char bucket[3];        /* seriesBucket / timeSeriesBucket */
	int associated;        /* bound to an asset property */
	int legacy_id;         /* id is asset_id "_" property_id */
	int versioned;         /* records carry a recordVersion */
	char asset_id[37];     /* "" when disassociated */
	char property_id[37];  /* "" when disassociated */
	char alias[96];        /* property alias / stream alias */
	enum gen_type type;
	int64_t created;       /* creation date, seconds since the epoch */
	int64_t updated;       /* last update date, >= created */
};

/* Series i (0 <= i < p->series) of the parameters. */
void gen_series_get(const struct gen_params *p, int i, struct gen_series *s);

/* Call fn for each series in index order; a non-SW_OK return stops the
 * walk and is returned. */
typedef sw_err (*gen_series_fn)(void *arg, const struct gen_series *s);
sw_err gen_series_list(const struct gen_params *p, gen_series_fn fn,
    void *arg);

/* Called once per object: key relative to the bucket root, and the whole
 * object (valid during the call only: copy it to keep it). */
typedef sw_err (*gen_emit_fn)(void *arg, const char *key, const void *data,
    size_t n);

struct gen_stats {
	uint64_t objects;           /* all emitted objects */
	uint64_t data_objects;      /* raw .avro files */
	uint64_t metadata_objects;  /* asset_metadata/ files */
	uint64_t bytes;             /* bytes of all objects */
	uint64_t records;           /* avro records (raw) */
	uint64_t agg_objects;       /* agg/ files (also in objects) */
	uint64_t agg_records;       /* their records */
	uint64_t days;
	uint64_t series;
};

/*
 * Generate the tree: asset metadata first (when enabled), then for each
 * day, each emitted window, each series, the GOOD file and any BAD and
 * UNCERTAIN file.  Sequential; emit's first error stops the run and is
 * returned.  stats may be NULL; it is filled even on failure (so far).
 */
sw_err gen_run(const struct gen_params *p, gen_emit_fn emit, void *arg,
    struct gen_stats *stats);

/* seriesBucket of a series id (see the top of this file). */
void gen_bucket(const char *series_id, char out[3]);

/* The names used in keys, records and metadata. */
const char *gen_quality_name(enum gen_quality q);   /* "GOOD" ... */
const char *gen_type_name(enum gen_type t);         /* "DOUBLE" ... "JSON" */
/* assetPropertyDataType / ListTimeSeries dataType: JSON is "STRUCT". */
const char *gen_type_sitewise(enum gen_type t);
/* ListTimeSeries dataTypeSpec: "AWS/ALARM_STATE" for JSON, else NULL. */
const char *gen_type_spec(enum gen_type t);

#endif
