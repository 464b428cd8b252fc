/*
 * cache.h - the local cache of merged days, indexed by sqlite.
 *
 *   DIR/index.sqlite                       the index (WAL, busy timeout)
 *   DIR/days/S/YYYY/MM/DD.G.avro           day of source S, generation G
 *   DIR/days/S/YYYY/MM/DD.G.timeseries.txt its series ids, sorted
 *   DIR/locks/S-YYYY-MM-DD.lock            flock()ed while a day is built
 *   DIR/tmp/                               staging for fetched objects
 *
 * A source is one cold tier as configured (bucket URL, data prefix,
 * time-series filter).  A day's files are never rewritten in place: a new
 * generation is written beside the old one, fsync()ed, and only then does
 * one sqlite transaction make it current; the old generation is deleted
 * after.  A crash at any instant therefore leaves either the old day or
 * the new one current, never a half-built file, and stray files are
 * removed by cache_cleanup().  Several processes may share one cache: the
 * index is sqlite in WAL mode, and building a day holds its lock file.
 * Directories are 0700 and files 0600.
 *
 * Every function is thread-safe and holds no lock of this process across
 * I/O: each call runs on a sqlite connection of its own (a small pool),
 * in a short transaction.  The lock order is written down in cache.c.
 */
#ifndef SWREPART_CACHE_H
#define SWREPART_CACHE_H

#include <stdint.h>

#include "base/err.h"
#include "core/coldkey.h"

struct cache;
struct sw_config;

/* The cache directory when cache.dir is not set: $XDG_CACHE_HOME/swrepart,
 * else $HOME/.cache/swrepart, else for root CACHE_SYSTEM_DIR (options.h), else the
 * password database's home + /.cache/swrepart. */
sw_err cache_default_dir(char *out, size_t len);

/* Open (creating) the cache of cfg (cache.dir, else cache_default_dir()). */
sw_err cache_open(const struct sw_config *cfg, struct cache **out);
void cache_close(struct cache *c);
const char *cache_dir(const struct cache *c);

/* The id of a source, created on first use. */
sw_err cache_source(struct cache *c, const char *url, const char *prefix,
    const char *type, int64_t *out);

/* What the index says of a day. */
struct cache_day {
	int exists;           /* a complete generation is current */
	int64_t gen;
	char file[4096];      /* absolute path of the .avro */
	char index[4096];     /* absolute path of the .timeseries.txt */
	uint64_t size;
	uint64_t records;
	uint64_t objects;
	uint64_t series;
	double built;         /* seconds since the epoch */
	char md5[33];         /* of the day file's bytes ("": unknown) */
};
sw_err cache_day_get(struct cache *c, int64_t src, const struct day *d,
    struct cache_day *out);

/* Paths of generation gen of a day (directories are created). */
sw_err cache_day_paths(struct cache *c, int64_t src, const struct day *d,
    int64_t gen, char *avro, char *index, size_t len);

/* An object merged into a day, or recorded as bad. */
struct cache_obj {
	char *key;
	char *etag;
	uint64_t size;
	/* a merged object's blocks: bytes [off, off + len) of the day file,
	 * holding records records (UINT64_MAX: unknown, an older index) */
	uint64_t off, len, records;
};

/* The objects merged into a day's current generation; *out is an array of
 * *n entries; free with cache_objs_free(). */
sw_err cache_day_objects(struct cache *c, int64_t src, const struct day *d,
    struct cache_obj **out, size_t *n);
/* Objects recorded as bad for the day (key, etag, reason). */
/* In one read of the index: the day's row (cd->exists 0 when no
 * generation is current), its objects with keys in [lo, hi), and the
 * header's length (where its first object starts; 0 without objects). */
sw_err cache_day_objects_in(struct cache *c, int64_t src, const struct day *d,
    const char *lo, const char *hi, struct cache_day *cd, uint64_t *header,
    struct cache_obj **out, size_t *n);
/* A key of an object merged into any cached day of src that matches the
 * GLOB pattern, or *out NULL (a scan of the source's objects). */
sw_err cache_find_key(struct cache *c, int64_t src, const char *glob,
    char **out);
sw_err cache_day_bad(struct cache *c, int64_t src, const struct day *d,
    struct cache_obj **out, char ***reasons, size_t *n);
void cache_objs_free(struct cache_obj *o, size_t n);

/* The series ids of a day's current generation, sorted. */
sw_err cache_day_series(struct cache *c, int64_t src, const struct day *d,
    char ***out, size_t *n);

/* A new generation, ready to be made current. */
struct cache_commit {
	int64_t gen;
	uint64_t size, records;
	char md5[33];                    /* of the new file's bytes */
	const struct cache_obj *added;   /* objects merged in this time */
	size_t nadded;
	int replace;                     /* a rebuild: forget older objects */
	char *const *series;             /* all series of the day, sorted */
	size_t nseries;
	const struct cache_obj *bad;     /* objects skipped as bad */
	char *const *bad_reasons;
	size_t nbad;
};
/* Make generation cm->gen current in one transaction, then delete the
 * files of the generation it replaces. */
sw_err cache_day_commit(struct cache *c, int64_t src, const struct day *d,
    const struct cache_commit *cm);

/* Take the day's build lock (blocking; other processes wait). */
sw_err cache_day_lock(struct cache *c, int64_t src, const struct day *d,
    int *fd);
void cache_day_unlock(int fd);

/* A fresh staging directory under DIR/tmp; caller removes it with
 * rmtree() (base/util.h). */
sw_err cache_staging(struct cache *c, char *out, size_t len);

/* The cached ListTimeSeries answer for (endpoint, type), sorted, if it
 * is younger than max_age seconds; SW_ERR_NOTFOUND (no message) if not. */
sw_err cache_series_list_get(struct cache *c, const char *endpoint,
    const char *type, double max_age, char ***out, size_t *n);
/* Replace it with ids, fetched now. */
sw_err cache_series_list_put(struct cache *c, const char *endpoint,
    const char *type, char *const *ids, size_t n);

/* A directory level of the cold tier as the mount last listed it ("" for
 * the years, "2022" for its months, "2022/5" for the days), if younger
 * than max_age seconds; SW_ERR_NOTFOUND (no message) if not.  The put, as
 * cache_day_touch() and cache_count(), is a write that may be skipped: it
 * waits a moment at most for another process's write (then SW_ERR_IO). */
sw_err cache_listing_get(struct cache *c, int64_t src, const char *path,
    double max_age, long **vals, size_t *n);
sw_err cache_listing_put(struct cache *c, int64_t src, const char *path,
    const long *vals, size_t n);

/* Record that a day was read now (least recently used days are evicted
 * first). */
sw_err cache_day_touch(struct cache *c, int64_t src, const struct day *d);

/* Named counters kept in the index ("hits", "misses", ...). */
sw_err cache_count(struct cache *c, const char *name, int64_t add);
sw_err cache_counter(struct cache *c, const char *name, int64_t *out);

/* Every cached day of every source, least recently read first. */
struct cache_entry {
	int64_t src;
	char source[1200];     /* "url prefix (type)" */
	struct day d;
	int64_t gen;
	uint64_t size, records, objects, series;
	double built, accessed;
	char file[4096];
};
sw_err cache_days(struct cache *c, struct cache_entry **out, size_t *n);

/* Forget a day and delete its files, unless it is being built (then
 * SW_ERR_EXISTS, with a message). */
sw_err cache_day_drop(struct cache *c, int64_t src, const struct day *d);

/*
 * Evict days, least recently read first: those not read for older_than
 * seconds (when have_age), then more until the days fit max_size (when
 * have_max; 0 evicts every day).  A day being built (its lock is held, in any process) is
 * kept, as is one busy() names (busy may be NULL).  Each day evicted is
 * counted ("evictions"), logged, and handed to evicted (may be NULL),
 * with old set when it went for its age.
 */
struct cache_evict {
	int have_max;
	uint64_t max_size;
	int have_age;
	double older_than;
	int (*busy)(void *arg, int64_t src, const struct day *d);
	void (*evicted)(void *arg, const struct cache_entry *e, int old);
	void *arg;
	/* what happened */
	size_t days;              /* cached before */
	size_t dropped;
	size_t kept_busy;         /* over a bound, but being built or busy */
	uint64_t total;           /* bytes of the days kept */
	uint64_t freed;
};
sw_err cache_evict(struct cache *c, struct cache_evict *ev);

/* Take the day's build lock without waiting: SW_ERR_EXISTS when another
 * holds it. */
sw_err cache_day_trylock(struct cache *c, int64_t src, const struct day *d,
    int *fd);

/* Delete files no generation refers to and stale staging directories. */
sw_err cache_cleanup(struct cache *c);

/*
 * Builds in progress, as other processes see them: DIR/progress/S-DAY,
 * written by a thread of the build once a second (from its first second
 * on: a build shorter than that writes nothing) and removed at its end.
 */
struct cache_progress {
	int64_t src;
	struct day d;
	char phase[16];        /* listing, fetching, merging, committing */
	uint64_t done, total;  /* objects of the phase done, out of total */
	uint64_t bytes;        /* bytes fetched */
	double started;        /* wall clock */
	double updated;        /* when this was written */
	long pid;              /* the building process */
};
struct cache_progress_w;
/* Start publishing the build of day d (phase "listing"); NULL when no
 * thread can be started (then nothing is published).  The functions below
 * accept NULL and are thread-safe. */
struct cache_progress_w *cache_progress_begin(struct cache *c, int64_t src,
    const struct day *d);
/* A new phase: its done count starts at 0, out of total. */
void cache_progress_phase(struct cache_progress_w *w, const char *phase,
    uint64_t total);
void cache_progress_add(struct cache_progress_w *w, uint64_t n,
    uint64_t bytes);
/* The build ended: stop, remove what was published, free w. */
void cache_progress_end(struct cache_progress_w *w);
/* The build of day d in progress (in any process): SW_ERR_NOTFOUND,
 * without a message, when there is none (or its process is gone). */
sw_err cache_progress_get(struct cache *c, int64_t src, const struct day *d,
    struct cache_progress *out);
/* Every build in progress; *out is freed by the caller. */
sw_err cache_progress_list(struct cache *c, struct cache_progress **out,
    size_t *n);
/* "building 1,234/5,018 objects (fetching, 12.0 MB)". */
void cache_progress_format(const struct cache_progress *p, char *out,
    size_t len);
/* "url prefix (type)" of source src. */
sw_err cache_source_name(struct cache *c, int64_t src, char *out,
    size_t len);

/*
 * A part of the series catalogue (core/catalog.h) as last read: name says
 * which (the asset metadata of a cold tier, a ListTimeSeries answer).
 * The get fills cat (zeroed) with its rows, finished, when it was read no
 * more than max_age seconds ago (cat->fetched says when, cat->objects how
 * many objects it came from); SW_ERR_NOTFOUND (no message) if not.  The
 * put replaces the part with cat's rows, read at cat->fetched.
 */
struct catalog;
sw_err cache_catalog_get(struct cache *c, const char *name, double max_age,
    struct catalog *cat);
sw_err cache_catalog_put(struct cache *c, const char *name,
    const struct catalog *cat);

#endif
