/*
 * publish.h - publish merged days to the target ("repartitioned") bucket
 * in the layout the Python sample's users query with Athena:
 *
 *   {data_prefix}startYear=Y/startMonth=M/startDay=D/swrepart_YYYY-MM-DD.avro
 *   {index_prefix}startYear=Y/startMonth=M/startDay=D/timeseries.txt
 *   {index_prefix}startYear=Y/startMonth=M/startDay=D/swrepart-manifest.json
 *
 * One data object per day, always under the same key, so that a day that
 * gains data is replaced by one PUT: S3 readers see the old object or the
 * new one, never both and never neither.  The manifest is the state of
 * record, kept in the target bucket so that any machine can continue
 * (see manifest.h): the source, every cold-tier object merged into the
 * data object with the byte range and records of its blocks there, the
 * object's size, MD5 and ETag, and what a bucket kept by the Python
 * sample held before swrepart took the day over.
 *
 * Nothing published is lost.  A day is rebuilt from the cold tier's
 * objects, the cache's, and -- for objects that only the published day
 * still holds (expired by a lifecycle rule) -- the published day's own
 * bytes, by range; a new data object that lacks any object of the old one
 * is refused, unless --prune-expired asks for exactly that.
 *
 * Order of writes: the manifest records the new data object as pending
 * (conditionally on the manifest read: If-Match), then the data object is
 * replaced (If-Match on the one read, or If-None-Match for a new day),
 * then timeseries.txt, then the manifest again, last, with the new day
 * (If-Match).  A crash at any point leaves a target that the next run
 * completes: a data object that is the pending one is known by its MD5.
 * A writer that lost a race (412) reads the day again and redoes it, so
 * concurrent syncs and a dead run's late PUT lose nothing.  Stores
 * without conditional writes (501) get unconditional ones, with a
 * warning.  With --adopt, the sample's objects are deleted after ours is
 * uploaded, each only once its records are proven to be in ours (S3
 * cannot do both at once, so until a run ends a query may read them
 * twice).
 */
#ifndef SWREPART_PUBLISH_H
#define SWREPART_PUBLISH_H

#include <stdint.h>

#include "base/err.h"
#include "core/coldkey.h"
#include "core/engine.h"

struct publisher;
struct sw_config;

struct publish_opts {
	int adopt;     /* fold a day the sample published into one object */
	int dry_run;   /* say what would change; write nothing */
	int prune_expired; /* drop objects the cold tier no longer holds */
};

enum publish_state {
	PUB_UNCHANGED,   /* the target already holds exactly this day */
	PUB_PUBLISHED,   /* published now */
	PUB_WOULD,       /* --dry-run: would be published */
	PUB_EMPTY        /* nothing of the selection to publish */
};

struct publish_report {
	enum publish_state state;
	int new_day;               /* no manifest of ours before */
	int legacy;                /* the sample published part of the day */
	int adopted;               /* ... and swrepart folded it in */
	uint64_t objects;          /* cold-tier objects in the data object */
	uint64_t prev_objects;     /* ... in the one it replaced */
	uint64_t series, new_series;
	uint64_t records;
	uint64_t bytes;            /* size of the data object */
	uint64_t uploaded;         /* bytes uploaded now (0: skipped) */
	uint64_t legacy_series;    /* series the sample published */
	uint64_t legacy_objects;   /* its merged_series_*.avro objects */
	uint64_t deleted;          /* of those, deleted now (--adopt) */
	uint64_t adopt_kept;       /* ... kept: not proven folded in */
	uint64_t kept;             /* objects the cold tier no longer holds,
	                            * kept in the day */
	uint64_t carried;          /* ... copied from the published day */
	uint64_t pruned;           /* ... dropped (--prune-expired) */
	uint64_t changed;          /* objects replaced (new ETag) */
	unsigned conflicts;        /* attempts lost to another writer */
	unsigned aborted;          /* interrupted uploads cleaned up */
	double upload_seconds;
	struct engine_report build; /* the day engine's report */
	char data_key[1024];
};

/* A publisher writes to cfg's target bucket and builds days with e. */
sw_err publisher_new(const struct sw_config *cfg, struct engine *e,
    const struct publish_opts *o, struct publisher **out);
void publisher_free(struct publisher *p);
/* The target bucket's store (for its request counts). */
struct store *publisher_target(struct publisher *p);

/* Check that the target bucket answers (credentials, endpoint, bucket)
 * before days are started. */
sw_err publisher_check(struct publisher *p);

/* Bring day d of the target up to date with the cold tier.  On failure
 * the target still holds the day as it was, or the new data object with
 * the old manifest (which the next run completes); the message names the
 * bucket and key.  Thread-safe for different days. */
sw_err publish_day(struct publisher *p, const struct day *d,
    struct publish_report *r);

/* The keys of day d in the target (out: at least 1024 bytes). */
void publish_keys(const struct sw_config *cfg, const struct day *d,
    char *data, char *index, char *manifest, size_t len);

#endif
