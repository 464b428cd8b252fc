/*
 * options.h - swrepart's settings: one table of options feeds the YAML
 * config file, command-line options, mount -o options, --help and the
 * test that checks the man pages.
 *
 * Precedence, lowest first: built-in defaults, the config file (-c FILE,
 * $SWREPART_CONFIG, ~/.config/swrepart/config.yml, /etc/swrepart/config.yml:
 * the first that exists), command-line options.
 */
#ifndef SWREPART_OPTIONS_H
#define SWREPART_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/err.h"

struct sw_config {
	/* the sample's keys */
	char *timeseries_type;    /* ASSOCIATED, DISASSOCIATED or ALL */
	char *cold_bucket;        /* s3.cold_tier.bucket_name */
	char *cold_prefix;        /* s3.cold_tier.data_prefix ("raw/") */
	char *target_bucket;      /* s3.repartitioned.bucket_name */
	char *target_data_prefix; /* s3.repartitioned.data_prefix */
	char *target_index_prefix;/* s3.repartitioned.index_prefix */
	char *dataset;            /* raw, agg or all (materialize, sync) */
	char *cold_agg_prefix;    /* s3.cold_tier.agg_prefix, NULL: derived */
	char *target_agg_data_prefix;  /* s3.repartitioned.agg_data_prefix */
	char *target_agg_index_prefix; /* s3.repartitioned.agg_index_prefix */
	char *target_sse;         /* s3.repartitioned.sse: none, SSE-S3, SSE-KMS */
	char *target_sse_kms_key_id;
	char *profile;            /* AWS profile, NULL = default chain */
	/* swrepart's own */
	char *region;             /* aws.region */
	char *endpoint_url;       /* aws.endpoint_url, NULL = AWS */
	char *sitewise_endpoint_url;
	char *addressing_style;   /* aws.addressing_style: auto, path, virtual */
	int tls_verify;           /* aws.tls_verify (bool) */
	char *ca_bundle;          /* aws.ca_bundle */
	int64_t max_retries;      /* aws.max_retries */
	int64_t retry_max_time;   /* aws.retry_max_time, seconds */
	int64_t connect_timeout;  /* aws.connect_timeout, seconds */
	int64_t request_timeout;  /* aws.request_timeout, seconds (stall) */
	uint64_t part_size;       /* aws.multipart_part_size, bytes */
	uint64_t multipart_threshold; /* aws.multipart_threshold, bytes */
	int64_t requests;         /* requests: requests in flight at once */
	int64_t series_cache_ttl; /* aws.sitewise_cache_ttl, seconds */
	char *cache_dir;          /* cache.dir */
	uint64_t cache_max_size;  /* cache.max_size, bytes, 0 = unbounded */
	int64_t mount_dir_ttl;    /* mount.dir_ttl, seconds */
	int64_t mount_settle_time;     /* mount.settle_time, seconds */
	int64_t mount_refresh_interval; /* mount.refresh_interval, seconds */
	int mount_exact_size;     /* mount.exact_size (bool): stat builds */
	int64_t log_level;        /* verbosity (0 error .. 4 debug) */
	char *catalog_list_timeseries; /* catalog.list_timeseries: auto, off,
	                          * disassociated, all */
	int64_t catalog_ttl;      /* catalog.ttl, seconds */
};

enum opt_type { OPT_STRING, OPT_BOOL, OPT_INT, OPT_SIZE, OPT_ENUM };

struct opt_def {
	const char *key;        /* config key: "s3.cold_tier.bucket_name" */
	const char *longopt;    /* command-line option without "--", or NULL */
	enum opt_type type;
	size_t offset;          /* into struct sw_config */
	const char *defval;     /* default as text, or NULL */
	const char *choices;    /* OPT_ENUM: "A|B|C" */
	int64_t min, max;       /* OPT_INT bounds */
	const char *argname;    /* metavariable for --help ("BUCKET") */
	const char *help;       /* one line */
};

extern const struct opt_def opt_table[];
extern const size_t opt_count;

/* Keys of the sample's config.yml that only its Glue jobs used: accepted
 * and ignored with a notice. */
extern const char *const opt_ignored_keys[];

/* Fill cfg with built-in defaults. */
void config_defaults(struct sw_config *cfg);
/* Free every string in cfg (accepts a zeroed struct). */
void config_release(struct sw_config *cfg);

/* Find an option by config key or long option name; NULL if none. */
const struct opt_def *opt_find_key(const char *key);
const struct opt_def *opt_find_long(const char *name);

/* The candidate closest to word (a typo of it), or NULL when none is
 * close: for "did you mean" hints.  opt_closest_key() does it for config
 * keys (a truncated key counts as close). */
const char *opt_closest(const char *word, const char *const *cands,
    size_t n);
const char *opt_closest_key(const char *key);

/* Set one option from text; the error names origin ("FILE:LINE", "-o"). */
sw_err config_set(struct sw_config *cfg, const struct opt_def *o,
    const char *value, const char *origin);

/* Parse a YAML config file into cfg. */
sw_err config_load_file(struct sw_config *cfg, const char *path);

/* Find the config file: explicit path (must exist), else $SWREPART_CONFIG,
 * ~/.config/swrepart/config.yml, /etc/swrepart/config.yml; *out is NULL
 * when none exists.  Caller frees *out. */
sw_err config_locate(const char *explicit_path, char **out);
/* Say which config files config_locate() looks for, and where the cache
 * lives, for --help. */
void config_help_files(FILE *f);

/* The system cache, for root without HOME (mount(8), systemd). */
#define CACHE_SYSTEM_DIR "/var/cache/swrepart"

/* Check cross-field rules after everything is set (prefix rules, etc). */
sw_err config_validate(const struct sw_config *cfg);

/* SW_ERR_CONFIG, saying how to set it, when the cold tier's bucket
 * (config_need_cold) or the target bucket (config_need_target) is not
 * set. */
sw_err config_need_cold(const struct sw_config *cfg);
sw_err config_need_target(const struct sw_config *cfg);

/* The store URL of a bucket setting: "name" -> "s3://name/"; s3:// and
 * file:// URLs are kept (with a trailing '/').  The data prefixes are
 * applied to keys by the engine, not put in the URL.  Caller frees; NULL
 * when bucket is NULL. */
char *config_bucket_url(const char *bucket);

/* The aggregates' prefix in the cold tier: s3.cold_tier.agg_prefix, or
 * "agg/" in place of the data prefix's last segment ("raw/" -> "agg/",
 * "site/raw/" -> "site/agg/").  Caller frees. */
char *config_agg_prefix(const struct sw_config *cfg);
/* A copy of cfg (its strings shared, not copied: never release it) that
 * publishes aggregates: the target's data and index prefixes are the
 * aggregates' (s3.repartitioned.agg_data_prefix, agg_index_prefix). */
void config_for_agg(const struct sw_config *cfg, struct sw_config *out);

#endif
