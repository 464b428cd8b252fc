/*
 * options.c - the option table and the YAML config file.
 *
 * One table describes every setting: its config key (the sample's dotted
 * keys, so an existing config.yml works unchanged), its command-line name,
 * type, default, bounds and help.  The config file, --long options, mount
 * -o options, --help and the man-page test all read this table.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "base/log.h"
#include "base/options.h"
#include "base/util.h"

#define OFF(f) offsetof(struct sw_config, f)
#define STR(key, lo, f, def, arg, help) \
	{ key, lo, OPT_STRING, OFF(f), def, NULL, 0, 0, arg, help }
#define INT(key, lo, f, def, mn, mx, arg, help) \
	{ key, lo, OPT_INT, OFF(f), def, NULL, mn, mx, arg, help }
#define SIZE(key, lo, f, def, arg, help) \
	{ key, lo, OPT_SIZE, OFF(f), def, NULL, 0, 0, arg, help }

const struct opt_def opt_table[] = {
	{ "timeseries_type", "timeseries-type", OPT_ENUM, OFF(timeseries_type),
	    "ASSOCIATED", "ASSOCIATED|DISASSOCIATED|ALL", 0, 0, "TYPE",
	    "time series to include: ASSOCIATED, DISASSOCIATED or ALL" },
	{ "dataset", "dataset", OPT_ENUM, OFF(dataset), "raw", "raw|agg|all",
	    0, 0, "SET", "what materialize and sync take: raw (measurements), "
	    "agg (aggregates) or all (both)" },
	STR("s3.cold_tier.bucket_name", "cold-bucket", cold_bucket, NULL,
	    "BUCKET", "cold-tier bucket (a name, s3://NAME or file:///DIR)"),
	STR("s3.cold_tier.data_prefix", "cold-prefix", cold_prefix, "raw/",
	    "PREFIX", "prefix of the cold tier's date partitions"),
	STR("s3.cold_tier.agg_prefix", "cold-agg-prefix", cold_agg_prefix,
	    NULL, "PREFIX", "prefix of the aggregates' date partitions "
	    "(default: agg/ beside the data prefix)"),
	STR("s3.repartitioned.bucket_name", "target-bucket", target_bucket,
	    NULL, "BUCKET", "bucket that receives merged days"),
	STR("s3.repartitioned.data_prefix", "target-data-prefix",
	    target_data_prefix, "consolidated/", "PREFIX",
	    "prefix of the merged day objects"),
	STR("s3.repartitioned.index_prefix", "target-index-prefix",
	    target_index_prefix, "index/", "PREFIX",
	    "prefix of the per-day timeseries.txt index"),
	STR("s3.repartitioned.agg_data_prefix", "target-agg-data-prefix",
	    target_agg_data_prefix, "consolidated_agg/", "PREFIX",
	    "prefix of the merged days of aggregates"),
	STR("s3.repartitioned.agg_index_prefix", "target-agg-index-prefix",
	    target_agg_index_prefix, "index_agg/", "PREFIX",
	    "prefix of the aggregates' per-day index"),
	{ "s3.repartitioned.sse", "sse", OPT_ENUM, OFF(target_sse), "none",
	    "none|SSE-S3|SSE-KMS", 0, 0, "MODE", "server-side encryption of "
	    "published objects: none, SSE-S3 or SSE-KMS" },
	STR("s3.repartitioned.sse_kms_key_id", "sse-kms-key-id",
	    target_sse_kms_key_id, NULL, "KEY", "KMS key (id, alias or ARN) "
	    "for SSE-KMS; default: the account's aws/s3 key"),
	STR("profile", "profile", profile, NULL, "NAME",
	    "AWS profile of the shared credentials and config files"),
	STR("aws.region", "region", region, NULL, "REGION",
	    "AWS region (default from the environment or profile)"),
	STR("aws.endpoint_url", "endpoint-url", endpoint_url, NULL, "URL",
	    "S3 endpoint, for S3-compatible servers (implies path-style)"),
	STR("aws.sitewise_endpoint_url", "sitewise-endpoint-url",
	    sitewise_endpoint_url, NULL, "URL", "IoT SiteWise API endpoint"),
	INT("aws.sitewise_cache_ttl", "sitewise-cache-ttl", series_cache_ttl,
	    "3600", 0, 31 * 86400, "SECONDS",
	    "reuse the ListTimeSeries answer for this long"),
	{ "aws.addressing_style", "addressing-style", OPT_ENUM,
	    OFF(addressing_style), "auto", "auto|path|virtual", 0, 0, "STYLE",
	    "S3 addressing: auto, path or virtual" },
	{ "aws.tls_verify", "tls-verify", OPT_BOOL, OFF(tls_verify), "true",
	    NULL, 0, 0, NULL, "verify TLS certificates (--no-tls-verify to turn off)" },
	STR("aws.ca_bundle", "ca-bundle", ca_bundle, NULL, "FILE",
	    "CA certificates to verify TLS with"),
	INT("aws.max_retries", "max-retries", max_retries, "8", 0, 100, "N",
	    "retries of a failed request (5xx, 429, SlowDown, resets)"),
	INT("aws.retry_max_time", "retry-max-time", retry_max_time, "120", 1,
	    86400, "SECONDS", "give up retrying a request after this long"),
	INT("aws.connect_timeout", "connect-timeout", connect_timeout, "10", 1,
	    600, "SECONDS", "connection timeout"),
	INT("aws.request_timeout", "request-timeout", request_timeout, "60", 1,
	    3600, "SECONDS", "abort a request that transfers nothing for this long"),
	SIZE("aws.multipart_part_size", "part-size", part_size, "16M", "SIZE",
	    "part size of multipart uploads (at least 5M)"),
	SIZE("aws.multipart_threshold", "multipart-threshold",
	    multipart_threshold, "16M", "SIZE",
	    "objects larger than this are uploaded in parts"),
	INT("requests", "requests", requests, "32", 1, 1024, "N",
	    "requests in flight at once"),
	STR("cache.dir", "cache-dir", cache_dir, NULL, "DIR",
	    "local cache (default $XDG_CACHE_HOME/swrepart)"),
	SIZE("cache.max_size", "cache-max-size", cache_max_size, "0", "SIZE",
	    "bound on the cache size, 0 for none"),
	INT("mount.dir_ttl", "dir-ttl", mount_dir_ttl, "300", 0, 31 * 86400,
	    "SECONDS", "the mount lists a directory again after this long"),
	INT("mount.settle_time", "settle-time", mount_settle_time, "86400", 0,
	    366 * 86400, "SECONDS", "a day can still grow until this long "
	    "after its end"),
	INT("mount.refresh_interval", "refresh-interval",
	    mount_refresh_interval, "600", 0, 31 * 86400, "SECONDS",
	    "the mount lists a day that can grow again after this long"),
	{ "mount.exact_size", "exact-size", OPT_BOOL, OFF(mount_exact_size),
	    "false", NULL, 0, 0, NULL, "stat of a day not built yet waits for "
	    "its build, for its exact size (-o exact_size)" },
	{ "catalog.list_timeseries", "catalog-list-timeseries", OPT_ENUM,
	    OFF(catalog_list_timeseries), "auto",
	    "auto|off|disassociated|all", 0, 0, "WHICH", "series the "
	    "catalogue adds from ListTimeSeries: auto, off, disassociated or "
	    "all" },
	INT("catalog.ttl", "catalog-ttl", catalog_ttl, "300", 0, 31 * 86400,
	    "SECONDS", "the series catalogue is read again after this long"),
	{ "log_level", "log-level", OPT_ENUM, OFF(log_level), "notice",
	    "error|warn|notice|info|debug", 0, 0, "LEVEL",
	    "verbosity: error, warn, notice, info or debug" },
};
const size_t opt_count = sizeof(opt_table) / sizeof(opt_table[0]);

const char *const opt_ignored_keys[] = {
	"s3.glue_assets.bucket_name",
	"s3.glue_assets.scripts_prefix",
	"python_alias",
	"job_name_prefix",
	"glue_role_arn",
	NULL
};

static char **
str_field(struct sw_config *cfg, const struct opt_def *o)
{
	return (char **)((char *)cfg + o->offset);
}

/* The index of value in "A|B|C", or -1. */
static int
enum_index(const char *choices, const char *value)
{
	const char *p = choices;
	size_t n = strlen(value);
	int i = 0;

	while (*p != '\0') {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncasecmp(p, value, n) == 0)
			return i;
		if (bar == NULL)
			break;
		p = bar + 1;
		i++;
	}
	return -1;
}

static int
parse_bool(const char *v, int *out)
{
	static const char *yes[] = { "true", "yes", "on", "1", NULL };
	static const char *no[] = { "false", "no", "off", "0", NULL };
	int i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, 0;
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, 0;
	return -1;
}

sw_err
config_set(struct sw_config *cfg, const struct opt_def *o, const char *value,
    const char *origin)
{
	char *base = (char *)cfg + o->offset;
	char *end;
	long long v;
	uint64_t sz;
	int b, idx;

	switch (o->type) {
	case OPT_STRING:
		free(*str_field(cfg, o));
		*str_field(cfg, o) = value ? xstrdup(value) : NULL;
		return SW_OK;
	case OPT_ENUM:
		idx = enum_index(o->choices, value);
		if (idx < 0)
			return sw_seterr(SW_ERR_CONFIG,
			    "%s: '%s' must be one of %s, not '%s'", origin,
			    o->key, o->choices, value);
		if (o->offset == OFF(log_level)) {
			*(int64_t *)(void *)base = idx;
			return SW_OK;
		}
		{
			/* Store the canonical spelling from the table. */
			const char *p = o->choices;
			int i;
			size_t len;

			for (i = 0; i < idx; i++)
				p = strchr(p, '|') + 1;
			len = strcspn(p, "|");
			free(*str_field(cfg, o));
			*str_field(cfg, o) = xstrndup(p, len);
		}
		return SW_OK;
	case OPT_BOOL:
		if (parse_bool(value, &b) != 0)
			return sw_seterr(SW_ERR_CONFIG,
			    "%s: '%s' must be true or false, not '%s'", origin,
			    o->key, value);
		*(int *)(void *)base = b;
		return SW_OK;
	case OPT_INT:
		errno = 0;
		v = strtoll(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < o->min ||
		    v > o->max)
			return sw_seterr(SW_ERR_CONFIG,
			    "%s: '%s' must be a whole number from %lld to %lld, "
			    "not '%s'", origin, o->key, (long long)o->min,
			    (long long)o->max, value);
		*(int64_t *)(void *)base = v;
		return SW_OK;
	case OPT_SIZE:
		if (parse_size(value, &sz) != 0)
			return sw_seterr(SW_ERR_CONFIG,
			    "%s: '%s' must be a size such as 512K, 64M or 2G, "
			    "not '%s'", origin, o->key, value);
		*(uint64_t *)(void *)base = sz;
		return SW_OK;
	}
	return sw_seterr(SW_ERR_INTERNAL, "bad option type");
}

void
config_defaults(struct sw_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < opt_count; i++) {
		if (opt_table[i].defval == NULL)
			continue;
		if (config_set(cfg, &opt_table[i], opt_table[i].defval,
		    "default") != SW_OK)
			abort(); /* the table itself is wrong */
	}
}

void
config_release(struct sw_config *cfg)
{
	size_t i;

	for (i = 0; i < opt_count; i++) {
		const struct opt_def *o = &opt_table[i];

		if (o->type == OPT_STRING ||
		    (o->type == OPT_ENUM && o->offset != OFF(log_level))) {
			free(*str_field(cfg, o));
			*str_field(cfg, o) = NULL;
		}
	}
}

const struct opt_def *
opt_find_key(const char *key)
{
	size_t i;

	for (i = 0; i < opt_count; i++)
		if (strcmp(opt_table[i].key, key) == 0)
			return &opt_table[i];
	return NULL;
}

const struct opt_def *
opt_find_long(const char *name)
{
	size_t i;

	for (i = 0; i < opt_count; i++)
		if (opt_table[i].longopt != NULL &&
		    strcmp(opt_table[i].longopt, name) == 0)
			return &opt_table[i];
	return NULL;
}

/* Levenshtein distance, for "did you mean" hints. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t *row = xcalloc(lb + 1, sizeof(*row));
	size_t d;

	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t m = prev + cost;

			if (row[j] + 1 < m)
				m = row[j] + 1;
			if (row[j - 1] + 1 < m)
				m = row[j - 1] + 1;
			row[j] = m;
			prev = cur;
		}
	}
	d = row[lb];
	free(row);
	return d;
}

/* The closest known key to key, or NULL if none is close. */
static const char *
closest_key(const char *key)
{
	const char *best = NULL;
	size_t bestd = 4, i, d;

	for (i = 0; i < opt_count; i++) {
		/* "bucket" for "bucket_name": a truncated key. */
		if (strncmp(opt_table[i].key, key, strlen(key)) == 0)
			return opt_table[i].key;
	}
	for (i = 0; i < opt_count; i++) {
		d = edit_distance(key, opt_table[i].key);
		if (d < bestd) {
			bestd = d;
			best = opt_table[i].key;
		}
	}
	return best;
}

const char *
opt_closest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t len = strlen(word), bestd, i, d;

	/* Two edits for a short word, three for a long one: "sycn" is
	 * "sync", but "foo" is no "gen". */
	bestd = len >= 8 ? 4 : len >= 4 ? 3 : 2;
	for (i = 0; i < n; i++) {
		d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

const char *
opt_closest_key(const char *key)
{
	return closest_key(key);
}

static int
is_ignored_key(const char *key)
{
	size_t i;

	for (i = 0; opt_ignored_keys[i] != NULL; i++)
		if (strcmp(opt_ignored_keys[i], key) == 0)
			return 1;
	return 0;
}

/* Whether some known or ignored key lies below "prefix." */
static int
is_section(const char *prefix)
{
	size_t n = strlen(prefix), i;

	for (i = 0; i < opt_count; i++)
		if (strncmp(opt_table[i].key, prefix, n) == 0 &&
		    opt_table[i].key[n] == '.')
			return 1;
	for (i = 0; opt_ignored_keys[i] != NULL; i++)
		if (strncmp(opt_ignored_keys[i], prefix, n) == 0 &&
		    opt_ignored_keys[i][n] == '.')
			return 1;
	return 0;
}

static int
yaml_null(const yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 ||
	    strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0;
}

static sw_err
walk_mapping(struct sw_config *cfg, yaml_document_t *doc, yaml_node_t *map,
    const char *prefix, const char *path, struct buf *glue)
{
	yaml_node_pair_t *pair;
	sw_err rc = SW_OK;

	for (pair = map->data.mapping.pairs.start;
	    pair < map->data.mapping.pairs.top && rc == SW_OK; pair++) {
		yaml_node_t *k = yaml_document_get_node(doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(doc, pair->value);
		unsigned long line = k->start_mark.line + 1;
		char origin[PATH_MAX + 32];
		struct buf key;
		const struct opt_def *o;

		snprintf(origin, sizeof(origin), "%s:%lu", path, line);
		if (k->type != YAML_SCALAR_NODE)
			return sw_seterr(SW_ERR_CONFIG,
			    "%s: a key must be a plain word", origin);
		buf_init(&key);
		if (*prefix != '\0')
			buf_printf(&key, "%s.", prefix);
		buf_puts(&key, (const char *)k->data.scalar.value);

		if (v->type == YAML_MAPPING_NODE) {
			if (is_section(key.data))
				rc = walk_mapping(cfg, doc, v, key.data, path,
				    glue);
			else if (opt_find_key(key.data) != NULL)
				rc = sw_seterr(SW_ERR_CONFIG,
				    "%s: '%s' takes a value, not a mapping",
				    origin, key.data);
			else
				goto unknown;
		} else if (v->type == YAML_SEQUENCE_NODE) {
			rc = sw_seterr(SW_ERR_CONFIG,
			    "%s: '%s' takes a single value, not a list", origin,
			    key.data);
		} else if ((o = opt_find_key(key.data)) != NULL) {
			if (yaml_null(v))
				rc = config_set(cfg, o, o->type == OPT_STRING ?
				    NULL : o->defval, origin);
			else
				rc = config_set(cfg, o,
				    (const char *)v->data.scalar.value, origin);
		} else if (is_ignored_key(key.data)) {
			/* said once, for all of them, by the caller */
			buf_printf(glue, "%s'%s' (line %lu)", glue->len ? ", " :
			    "", key.data, line);
		} else if (is_section(key.data)) {
			rc = sw_seterr(SW_ERR_CONFIG,
			    "%s: '%s' is a section and needs keys below it",
			    origin, key.data);
		} else {
			const char *hint;
unknown:
			hint = closest_key(key.data);
			if (hint != NULL)
				rc = sw_seterr(SW_ERR_CONFIG,
				    "%s: unknown key '%s' (did you mean '%s'?)",
				    origin, key.data, hint);
			else
				rc = sw_seterr(SW_ERR_CONFIG,
				    "%s: unknown key '%s'", origin, key.data);
		}
		buf_release(&key);
	}
	return rc;
}

sw_err
config_load_file(struct sw_config *cfg, const char *path)
{
	FILE *f;
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	sw_err rc = SW_OK;

	if ((f = fopen(path, "r")) == NULL)
		return sw_seterr(errno == ENOENT ? SW_ERR_NOTFOUND : SW_ERR_IO,
		    "cannot read config file '%s': %s", path, strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = sw_seterr(SW_ERR_CONFIG, "%s:%lu: invalid YAML: %s", path,
		    (unsigned long)parser.problem_mark.line + 1,
		    parser.problem ? parser.problem : "syntax error");
		yaml_parser_delete(&parser);
		fclose(f);
		return rc;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		; /* an empty file sets nothing */
	else if (root->type != YAML_MAPPING_NODE)
		rc = sw_seterr(SW_ERR_CONFIG,
		    "%s:%lu: the config must be a mapping of keys to values",
		    path, (unsigned long)root->start_mark.line + 1);
	else {
		struct buf glue;

		buf_init(&glue);
		rc = walk_mapping(cfg, &doc, root, "", path, &glue);
		if (rc == SW_OK && glue.len > 0)
			log_notice("%s: ignoring the keys that only the sample's "
			    "AWS Glue jobs use: %s", path, glue.data);
		buf_release(&glue);
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(f);
	return rc;
}

static int
file_exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

sw_err
config_locate(const char *explicit_path, char **out)
{
	const char *env, *home, *xdg;
	char path[PATH_MAX];

	*out = NULL;
	if (explicit_path != NULL) {
		if (!file_exists(explicit_path))
			return sw_seterr(SW_ERR_CONFIG,
			    "config file '%s' does not exist", explicit_path);
		*out = xstrdup(explicit_path);
		return SW_OK;
	}
	if ((env = getenv("SWREPART_CONFIG")) != NULL && *env != '\0') {
		if (!file_exists(env))
			return sw_seterr(SW_ERR_CONFIG,
			    "config file '%s' (from SWREPART_CONFIG) does not "
			    "exist", env);
		*out = xstrdup(env);
		return SW_OK;
	}
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	if (xdg != NULL && *xdg == '/')
		snprintf(path, sizeof(path), "%s/swrepart/config.yml", xdg);
	else if (home != NULL)
		snprintf(path, sizeof(path), "%s/.config/swrepart/config.yml",
		    home);
	else
		path[0] = '\0';
	if (path[0] != '\0' && file_exists(path)) {
		*out = xstrdup(path);
		return SW_OK;
	}
	/* the system's: the configured sysconfdir's, and /etc's (where a
	 * build for /usr/local still looks, as mount(8) runs it) */
	if (file_exists(SYSCONFDIR "/swrepart/config.yml"))
		*out = xstrdup(SYSCONFDIR "/swrepart/config.yml");
	else if (file_exists("/etc/swrepart/config.yml"))
		*out = xstrdup("/etc/swrepart/config.yml");
	return SW_OK;
}

void
config_help_files(FILE *f)
{
	fprintf(f, "\nSettings come from the command line, then the first config "
	    "file found of:\n  -c FILE, $SWREPART_CONFIG, "
	    "$XDG_CONFIG_HOME/swrepart/config.yml,\n  "
	    "~/.config/swrepart/config.yml, %s/swrepart/config.yml%s\n",
	    SYSCONFDIR, strcmp(SYSCONFDIR, "/etc") != 0 ?
	    ", /etc/swrepart/config.yml" : "");
	fprintf(f, "The cache is cache.dir, else $XDG_CACHE_HOME/swrepart, "
	    "~/.cache/swrepart,\n  or " CACHE_SYSTEM_DIR " for root without "
	    "HOME (as mount(8) and systemd run it).\n");
}

/* The sample's rule: a prefix is empty or "a/b/", never "/a/" or "a". */
static sw_err
check_prefix(const char *key, const char *p)
{
	if (p == NULL || *p == '\0')
		return SW_OK;
	if (p[0] == '/')
		return sw_seterr(SW_ERR_CONFIG,
		    "'%s' must not start with '/': '%s'", key, p);
	if (p[strlen(p) - 1] != '/')
		return sw_seterr(SW_ERR_CONFIG,
		    "'%s' must end with '/': '%s'", key, p);
	if (strstr(p, "//") != NULL)
		return sw_seterr(SW_ERR_CONFIG,
		    "'%s' must not contain an empty segment ('//'): '%s'", key,
		    p);
	return SW_OK;
}

/* S3 bucket naming rules (the lenient legacy set: 3-63 characters of
 * lowercase letters, digits, '.', '-' and '_'), or a URL. */
static sw_err
check_bucket(const char *key, const char *b)
{
	size_t n, i;

	if (b == NULL || strncmp(b, "file://", 7) == 0)
		return SW_OK;
	if (strncmp(b, "s3://", 5) == 0)
		b += 5;
	n = strcspn(b, "/");
	if (n < 3 || n > 63)
		goto bad;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)b[i]) ||
		    isdigit((unsigned char)b[i]) || b[i] == '.' ||
		    b[i] == '-' || b[i] == '_'))
			goto bad;
	return SW_OK;
bad:
	return sw_seterr(SW_ERR_CONFIG,
	    "'%s' is not a valid bucket name: '%s' (3-63 lowercase letters, "
	    "digits, '.' or '-'; or s3://BUCKET or file:///DIR)", key, b);
}

sw_err
config_validate(const struct sw_config *cfg)
{
	sw_err rc = SW_OK;

	if (rc == SW_OK)
		rc = check_prefix("s3.cold_tier.data_prefix", cfg->cold_prefix);
	if (rc == SW_OK)
		rc = check_prefix("s3.repartitioned.data_prefix",
		    cfg->target_data_prefix);
	if (rc == SW_OK)
		rc = check_prefix("s3.repartitioned.index_prefix",
		    cfg->target_index_prefix);
	if (rc == SW_OK)
		rc = check_prefix("s3.cold_tier.agg_prefix",
		    cfg->cold_agg_prefix);
	if (rc == SW_OK)
		rc = check_prefix("s3.repartitioned.agg_data_prefix",
		    cfg->target_agg_data_prefix);
	if (rc == SW_OK)
		rc = check_prefix("s3.repartitioned.agg_index_prefix",
		    cfg->target_agg_index_prefix);
	if (rc == SW_OK && cfg->cold_agg_prefix != NULL &&
	    cfg->cold_prefix != NULL &&
	    strcmp(cfg->cold_agg_prefix, cfg->cold_prefix) == 0)
		rc = sw_seterr(SW_ERR_CONFIG, "'s3.cold_tier.agg_prefix' is "
		    "the data prefix '%s': the aggregates need their own",
		    cfg->cold_prefix);
	if (rc == SW_OK && ((cfg->target_agg_data_prefix != NULL &&
	    cfg->target_data_prefix != NULL &&
	    strcmp(cfg->target_agg_data_prefix, cfg->target_data_prefix) ==
	    0) || (cfg->target_agg_index_prefix != NULL &&
	    cfg->target_index_prefix != NULL &&
	    strcmp(cfg->target_agg_index_prefix, cfg->target_index_prefix) ==
	    0)))
		rc = sw_seterr(SW_ERR_CONFIG, "the aggregates' target prefixes "
		    "(s3.repartitioned.agg_data_prefix, agg_index_prefix) must "
		    "differ from the raw data's");
	if (rc == SW_OK)
		rc = check_bucket("s3.cold_tier.bucket_name", cfg->cold_bucket);
	if (rc == SW_OK)
		rc = check_bucket("s3.repartitioned.bucket_name",
		    cfg->target_bucket);
	if (rc == SW_OK && cfg->target_sse_kms_key_id != NULL &&
	    (cfg->target_sse == NULL || strcmp(cfg->target_sse, "SSE-KMS")))
		rc = sw_seterr(SW_ERR_CONFIG, "'s3.repartitioned.sse_kms_key_id' "
		    "is set but 's3.repartitioned.sse' is not SSE-KMS");
	if (rc == SW_OK && cfg->part_size < 5 * 1024 * 1024)
		rc = sw_seterr(SW_ERR_CONFIG,
		    "'aws.multipart_part_size' must be at least 5M (an S3 "
		    "limit)");
	if (rc == SW_OK && cfg->endpoint_url != NULL &&
	    strncmp(cfg->endpoint_url, "http://", 7) != 0 &&
	    strncmp(cfg->endpoint_url, "https://", 8) != 0)
		rc = sw_seterr(SW_ERR_CONFIG,
		    "'aws.endpoint_url' must start with http:// or https://: "
		    "'%s'", cfg->endpoint_url);
	return rc;
}

sw_err
config_need_cold(const struct sw_config *cfg)
{
	if (cfg->cold_bucket == NULL)
		return sw_seterr(SW_ERR_CONFIG, "no cold tier: set "
		    "s3.cold_tier.bucket_name in the config file or give "
		    "--cold-bucket");
	return SW_OK;
}

sw_err
config_need_target(const struct sw_config *cfg)
{
	if (cfg->target_bucket == NULL)
		return sw_seterr(SW_ERR_CONFIG, "no target bucket: set "
		    "s3.repartitioned.bucket_name in the config file or give "
		    "--target-bucket");
	return SW_OK;
}

char *
config_bucket_url(const char *bucket)
{
	struct buf b;

	if (bucket == NULL)
		return NULL;
	buf_init(&b);
	if (strncmp(bucket, "file://", 7) == 0 ||
	    strncmp(bucket, "s3://", 5) == 0)
		buf_puts(&b, bucket);
	else
		buf_printf(&b, "s3://%s", bucket);
	if (b.data[b.len - 1] != '/')
		buf_putc(&b, '/');
	return buf_detach(&b);
}

char *
config_agg_prefix(const struct sw_config *cfg)
{
	const char *raw = cfg->cold_prefix != NULL ? cfg->cold_prefix : "";
	size_t n = strlen(raw);
	struct buf b;

	if (cfg->cold_agg_prefix != NULL)
		return xstrdup(cfg->cold_agg_prefix);
	/* drop the last segment ("raw/") and put "agg/" in its place */
	if (n > 0) {
		n--;
		while (n > 0 && raw[n - 1] != '/')
			n--;
	}
	buf_init(&b);
	buf_append(&b, raw, n);
	buf_puts(&b, "agg/");
	return buf_detach(&b);
}

void
config_for_agg(const struct sw_config *cfg, struct sw_config *out)
{
	*out = *cfg;
	out->target_data_prefix = cfg->target_agg_data_prefix;
	out->target_index_prefix = cfg->target_agg_index_prefix;
}
