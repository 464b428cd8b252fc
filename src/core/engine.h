/*
 * engine.h - the day engine: bring one day of the cold tier into the
 * local cache as one merged Avro file plus its series index.
 *
 * For a day: list its objects (all seriesBucket prefixes), keep those of
 * the configured time-series type, fetch the ones the cache does not hold
 * yet (many at once, each checked against its listed size and ETag), merge
 * them into a new generation of the day file, and make it current in the
 * cache index.  It knows nothing of FUSE or of publishing: the mount and
 * `sync` both call it.
 *
 * Days are exact per object.  A day file is the header and then each
 * object's blocks, contiguous, in key order; the index records each
 * object's byte range and records, and the file's MD5.  The sync marker
 * is derived from the source and the day, so an object's blocks are the
 * same bytes in any day file of that source and day: a new generation
 * copies the previous one's objects by their ranges, fetches only what is
 * new or changed, and takes objects that only the published day still
 * holds from it (engine_sel.carry).  The same set of objects therefore
 * gives the same bytes from any cache.  An object the cold tier no longer
 * holds is kept (and counted) unless prune_expired: a day never shrinks
 * because a lifecycle rule expired its raw objects.  Every day file is
 * checked against its MD5 before it is reused or first pinned in a
 * process; a damaged one is built anew (and said so).
 */
#ifndef SWREPART_ENGINE_H
#define SWREPART_ENGINE_H

#include <stdint.h>

#include "base/err.h"
#include "base/sink.h"
#include "core/cache.h"
#include "core/catalog.h"
#include "core/coldkey.h"

struct engine;
struct sw_config;

/* The cold tier's datasets: the raw measurements (s3.cold_tier.data_prefix,
 * raw_ keys, RawDatum) and the aggregates (s3.cold_tier.agg_prefix, agg_
 * keys, AggDatum).  An engine serves one; an engine of each serves both
 * (a day of each is a source of its own in the cache: their prefixes
 * differ). */
enum engine_dataset {
	ENGINE_RAW = 0,
	ENGINE_AGG
};

struct engine_opts {
	enum engine_dataset dataset; /* raw by default */
	int skip_bad;         /* build days without corrupt objects */
	unsigned jobs;        /* fetches in flight (0: cfg->requests) */
	int merge_one_thread; /* no merge helper thread (days built in
	                       * parallel already keep the CPUs busy) */
	int prune_expired;    /* drop objects the cold tier no longer holds
	                       * (kept by default) */
	/* Objects stream from the cold tier into the merge through a window
	 * of window_bytes fetched ahead (0: 16 MiB); an object bigger than
	 * a quarter of it (at most 8 MiB) goes to a temporary file instead.
	 * A file store's objects are read in place, unless fetch_files
	 * (tests and benchmarks: the S3 path without S3). */
	uint64_t window_bytes;
	int fetch_files;
	/* When set, a day built now also gets the MD5 of each part_size
	 * piece of its file, taken as it is written (engine_pin.part_md5):
	 * an upload in parts of that size need not read the file again. */
	uint64_t part_size;
	/* progress callback: fetched/total objects of the current day */
	void (*progress)(void *arg, const struct day *d, uint64_t done,
	    uint64_t total);
	void *progress_arg;
	int catalog_only;     /* for engine_catalog() alone: the configured
	                       * type's series are not listed (no
	                       * ListTimeSeries call), so days of a type other
	                       * than ALL select nothing */
};

/* What happened to one day. */
struct engine_report {
	uint64_t listed;          /* objects of the day (selected) */
	uint64_t filtered;        /* objects of other series types */
	uint64_t fetched;         /* objects downloaded now */
	uint64_t fetched_bytes;
	uint64_t series;          /* series of the day, in all */
	uint64_t new_series;      /* series not in the day before */
	uint64_t records_added;
	uint64_t records;         /* records of the day, in all */
	uint64_t size;            /* bytes of the day file */
	uint64_t bad;             /* objects skipped as bad (--skip-bad) */
	uint64_t kept;            /* objects the cold tier no longer holds,
	                           * kept in the day */
	uint64_t carried;         /* ... of those, copied from elsewhere
	                           * (the published day) */
	uint64_t pruned;          /* ... dropped (prune_expired) */
	uint64_t changed;         /* objects replaced (their ETag changed) */
	int damaged;              /* the cached day failed its digest check
	                           * and was built anew */
	int rebuilt;              /* built without the previous generation */
	int up_to_date;           /* nothing new: nothing fetched */
	double fetch_seconds, merge_seconds;
	char file[4096];          /* the day file */
};

sw_err engine_new(const struct sw_config *cfg, const struct engine_opts *o,
    struct engine **out);
void engine_free(struct engine *e);

/* Materialize day d (see above).  On failure the day's previous good
 * generation stays current and the message names the bucket and key. */
sw_err engine_day(struct engine *e, const struct day *d,
    struct engine_report *rep);

/*
 * A narrower selection than the configured type: the day without some
 * series (those a bucket kept by the Python sample has published already).
 * Such a day is a source of its own in the cache, so it is built and
 * extended like any other and never mixed up with the whole day.
 */
struct engine_sel {
	char *const *exclude;     /* series ids, sorted, unique */
	size_t nexclude;
	/* Objects of the day known elsewhere (the published day), with
	 * their blocks' ranges there, in key order: kept when the cold tier
	 * no longer holds them, their bytes read with carry_fetch (len bytes
	 * of blocks, streamed to fn; they are checked: framing, CRCs, record
	 * counts).  Keys must be cold-tier objects of the day (the caller
	 * checks). */
	const struct cache_obj *carry;
	size_t ncarry;
	sw_err (*carry_fetch)(void *arg, const struct cache_obj *o,
	    sw_sink_fn fn, void *fn_arg);
	void *carry_arg;
	/* One series only (NULL: every series of the type): its day on
	 * demand, listed from the prefix of its bucket (bucket < 0: not
	 * known, the whole day is listed), a source of its own in the cache.
	 * Its sync marker is the whole day's, so its blocks are the same
	 * bytes as the series' ranges of the whole day file.  Not with
	 * exclude. */
	const char *series;
	int bucket;
};

/*
 * A built day held for the caller: an open descriptor of its file (valid
 * even if a newer generation replaces it meanwhile) and what the index
 * says that generation holds.  Release with engine_pin_release().
 */
struct engine_pin {
	int fd;
	int index_fd;             /* its timeseries.txt */
	int64_t gen;
	double built;             /* when the generation was built */
	uint64_t size, records;
	char md5[33];             /* of the file (checked when pinned) */
	struct cache_obj *objs;   /* merged objects, in key order */
	size_t nobjs;
	char **series;            /* the day's series, sorted */
	size_t nseries;
	/* The MD5s of the file's pieces of part_size bytes, when this
	 * process built it now (engine_opts.part_size); else NULL. */
	unsigned char (*part_md5)[16];
	size_t nparts;
	uint64_t part_size;
};
void engine_pin_release(struct engine_pin *p);

/* A day's listing from engine_day_list(), for the build that follows. */
struct engine_listing;
void engine_listing_free(struct engine_listing *l);

/* engine_day() with a selection (NULL: the configured type) that, when
 * pin is not NULL, also pins the resulting generation.  listing (may be
 * NULL; always consumed) saves listing the day again. */
sw_err engine_day_ex(struct engine *e, const struct day *d,
    const struct engine_sel *sel, struct engine_listing *listing,
    struct engine_report *rep, struct engine_pin *pin);

/* Pin the cached current generation of day d without listing or
 * building anything: SW_ERR_NOTFOUND, without a message, when the cache
 * does not hold the day (or holds a damaged file: then said so).  A build
 * in progress is not waited for: the generation current now is pinned.
 * Only the descriptors, size, records, built and generation are filled
 * (no objects or series: this is the mount's fast path). */
sw_err engine_day_pin(struct engine *e, const struct day *d,
    struct engine_pin *pin);

/* The configured source's id in the cache, its store and data prefix
 * (the dataset's: the aggregates' for ENGINE_AGG), for the command layer;
 * the mount asks only the functions below. */
int64_t engine_source(const struct engine *e);
struct store *engine_cold(struct engine *e);
const char *engine_prefix(const struct engine *e);
/* The process's request pool (jobs: --jobs, default cfg->requests): the
 * engine's fetches and every multipart upload's parts run there, so the
 * whole process has at most that many requests of these kinds in flight.
 * Lend it only to jobs that never wait for a batch of it themselves. */
struct pool *engine_pool(struct engine *e);

/* ---- days as a file system sees them (every function thread-safe) ---- */

/* A level of the cold tier's partitions, sorted: its years (year 0), a
 * year's months (month 0), or a month's days.  A listing younger than
 * max_age seconds is reused (kept in memory and in the cache index, for
 * the next process); max_age 0 lists now.  *vals is freed by the caller. */
sw_err engine_level(struct engine *e, int year, int month, double max_age,
    long **vals, size_t *n);

/* List the years now: the credentials, endpoint and bucket work (a notice
 * when the cold tier holds no day yet). */
sw_err engine_check(struct engine *e);

/* What the cache holds of day d, without building anything. */
struct engine_state {
	int cached;               /* a generation is current */
	int64_t gen;
	uint64_t size;            /* of the day file */
	uint64_t index_size;      /* of its timeseries.txt */
	uint64_t records, objects, series;
	double built;             /* when the generation was built */
	int building;             /* a build is in progress (any process;
	                           * only with ENGINE_STATE_PROGRESS) */
	char progress[160];       /* "building 1,234/5,018 objects ..." */
};
#define ENGINE_STATE_PROGRESS 1   /* look for a build in progress too */
sw_err engine_day_state(struct engine *e, const struct day *d, int flags,
    struct engine_state *out);

/* Record that day d was read now (least recently read days are evicted
 * first), and add n to a counter of the cache ("hits", "misses"): writes
 * that may be skipped, when the index is busy for longer than a moment. */
void engine_day_touch(struct engine *e, const struct day *d);
void engine_count(struct engine *e, const char *name, int64_t n);

/* Evict least recently read days until the cache fits cache.max_size
 * (nothing when it is unbounded), never a day being built (in any
 * process) nor one of this engine's source that busy (may be NULL)
 * names.  The one eviction: `swrepart cache prune` runs cache_evict(). */
sw_err engine_evict(struct engine *e,
    int (*busy)(void *arg, const struct day *d), void *arg);

/* List day d without fetching anything: its objects of the selection, in
 * key order, less those the cache knows to be bad (with --skip-bad).  The
 * day would be built from exactly these (unless the listing changes).
 * keep (may be NULL) receives the listing for engine_day_ex(). */
sw_err engine_day_list(struct engine *e, const struct day *d,
    const struct engine_sel *sel, struct cache_obj **out, size_t *n,
    struct engine_listing **keep);

/* The cold tier's days with data in [from, to] (NULL: unbounded). */
sw_err engine_days(struct engine *e, const struct day *from,
    const struct day *to, struct day **out, size_t *n);

/* ---- one series' days ---- */

/* A file seen through byte ranges of a pinned day file: one series' day. */
struct engine_seg {
	uint64_t off, len;
};
struct engine_view {
	struct engine_pin pin;    /* the day file the ranges are of */
	int64_t src;              /* its source in the cache */
	struct engine_seg *segs;  /* the view's bytes, in order */
	size_t nsegs;
	uint64_t size, records;   /* of the view */
	int whole;                /* cut from the cached whole day */
	char series[80];          /* the series (engine_series_*) */
	int bucket;               /* its seriesBucket, or -1: not known */
};
void engine_view_release(struct engine_view *v);

/*
 * Series `series`' day d from the cache, without listing or building
 * anything: cut from the cached whole day (its header, then the byte
 * ranges of the series' objects, which are contiguous blocks there: no
 * copy), or the series' own entry (engine_series_build), whichever was
 * built last.  SW_ERR_NOTFOUND (no message) when neither holds the
 * series.  bucket is the series' seriesBucket, or -1 when not known: then
 * it comes from what this cache learned before (kept in its index), a
 * cached day's objects, or, for a build or a listing, the 256 bucket
 * prefixes of the day listed at once on the request pool (not the whole
 * day's keys).  A series not of the configured type is
 * SW_ERR_NOTFOUND with a message; a malformed id SW_ERR_USAGE.
 */
sw_err engine_series_pin(struct engine *e, const char *series, int bucket,
    const struct day *d, struct engine_view *v);

/* Build (or extend) the series' own entry of day d from its objects
 * alone (one listing of its bucket's prefix: a handful of GETs, not the
 * day's thousands), a small day of the cache under the same bound, and
 * view it whole.  Its bytes equal the view cut from the whole day (the
 * same header and sync marker).  v->records is 0 when the series has no
 * record that day. */
sw_err engine_series_build(struct engine *e, const char *series, int bucket,
    const struct day *d, struct engine_report *rep, struct engine_view *v);

/* The days of (year, month) on which series has objects: one listing of
 * its prefix per day of the cold tier's month (on the request pool),
 * kept as engine_level() keeps levels. */
sw_err engine_series_days(struct engine *e, const char *series, int bucket,
    int year, int month, double max_age, long **vals, size_t *n);

/* Whether series is of the configured time-series type (the series the
 * engine's days hold). */
int engine_selects(const struct engine *e, const char *series);

/* Record that the view's day was read now (least recently read first). */
sw_err engine_view_touch(struct engine *e, const struct engine_view *v,
    const struct day *d);

/* The cache the engine uses. */
struct cache *engine_cache(struct engine *e);

/* The engine's dataset, and its name ("raw", "agg") for messages. */
enum engine_dataset engine_dataset(const struct engine *e);
const char *engine_dataset_name(enum engine_dataset d);

/* The series catalogue (asset metadata, plus ListTimeSeries when
 * configured), no older than max_age seconds: kept in memory and in the
 * cache index, for the next process; max_age 0 reads it now.  The
 * catalogue returned is immutable and shared: release it with
 * catalog_unref().  ListTimeSeries' part is reused for
 * aws.sitewise_cache_ttl (unless max_age is 0).  Concurrent calls that
 * need a read wait for one. */
struct catalog;
sw_err engine_catalog(struct engine *e, double max_age, struct catalog **out);

#endif
