/*
 * cmd_gen.c - `swrepart gen`: write a synthetic cold tier (gen.c) to a
 * store, uploading objects in parallel.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/pool.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/gen.h"
#include "store/store.h"

enum {
	O_START, O_DAYS, O_SERIES, O_RECORDS, O_WINDOWS, O_WFROM, O_WTO,
	O_SEED, O_PREFIX, O_DISASSOC, O_LEGACY, O_UNVERSIONED, O_DEFLATE,
	O_NULL, O_VARIANT, O_BAD, O_UNCERTAIN, O_NOMETA, O_LIST, O_FORCE,
	O_NOAGG
};

static const struct cmd_opt gen_opts[] = {
	[O_START] = { "start", 0, "DATE", "first day, YYYY-MM-DD (2022-01-01)" },
	[O_DAYS] = { "days", 0, "N", "number of days (1)" },
	[O_SERIES] = { "series", 0, "N", "number of time series (10)" },
	[O_RECORDS] = { "records", 0, "N", "records per file (100)" },
	[O_WINDOWS] = { "windows", 0, "N", "six-hour windows per day, 1-4 (4)" },
	[O_WFROM] = { "window-from", 0, "I",
	    "first window to write, 0-3 (0): a later export" },
	[O_WTO] = { "window-to", 0, "I", "last window to write, 0-3" },
	[O_SEED] = { "seed", 0, "N", "random seed (1)" },
	[O_PREFIX] = { "prefix", 0, "PREFIX",
	    "data prefix (s3.cold_tier.data_prefix)" },
	[O_DISASSOC] = { "disassociated-share", 0, "F",
	    "share of disassociated series (0.1)" },
	[O_LEGACY] = { "legacy-share", 0, "F",
	    "share of associated series with assetId_propertyId ids (0.5)" },
	[O_UNVERSIONED] = { "unversioned-share", 0, "F",
	    "share of series without recordVersion (0.3)" },
	[O_DEFLATE] = { "deflate-share", 0, "F",
	    "share of files with the deflate codec (0)" },
	[O_NULL] = { "null-share", 0, "F",
	    "share of files with the null codec (0)" },
	[O_VARIANT] = { "variant-share", 0, "F",
	    "share of files with a reordered or renamed writer schema (0)" },
	[O_BAD] = { "bad-share", 0, "F",
	    "share of series windows with BAD records too (0)" },
	[O_UNCERTAIN] = { "uncertain-share", 0, "F",
	    "share of series windows with UNCERTAIN records too (0)" },
	[O_NOMETA] = { "no-metadata", 0, NULL, "write no asset_metadata/" },
	[O_LIST] = { "list-series", 0, NULL,
	    "print the series (id, type, asset, property, associated) "
	    "instead of writing" },
	[O_FORCE] = { "force", 0, NULL,
	    "write even into the configured cold tier (s3.cold_tier.bucket_name)" },
	[O_NOAGG] = { "no-aggregates", 0, NULL,
	    "write no agg/ files (aggregates of the raw records)" },
	{ NULL, 0, NULL, NULL }
};

static sw_err
num_arg(const char *name, const char *v, long lo, long hi, int *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return sw_seterr(SW_ERR_USAGE, "--%s must be a whole number "
		    "from %ld to %ld, not '%s'", name, lo, hi, v);
	*out = (int)n;
	return SW_OK;
}

static sw_err
share_arg(const char *name, const char *v, double *out)
{
	char *end;
	double d;

	errno = 0;
	d = strtod(v, &end);
	if (errno || end == v || *end || !(d >= 0 && d <= 1))
		return sw_seterr(SW_ERR_USAGE, "--%s must be a share from 0 "
		    "to 1, not '%s'", name, v);
	*out = d;
	return SW_OK;
}

/* A DEST given as a plain path becomes file:///ABSOLUTE; a file:// one
 * is created if missing (like `aws s3 cp` creating local directories). */
static sw_err
dest_url(const char *dest, char **out)
{
	char abs[PATH_MAX], *dir;
	struct buf b;

	*out = NULL;
	if (strncmp(dest, "s3://", 5) == 0) {
		*out = xstrdup(dest);
		return SW_OK;
	}
	dir = strncmp(dest, "file://", 7) == 0 ? (char *)dest + 7 :
	    (char *)dest;
	if (strstr(dest, "://") != NULL && dir == dest)
		return sw_seterr(SW_ERR_USAGE, "unsupported destination '%s': "
		    "use s3://BUCKET[/PREFIX], file:///DIR or a directory",
		    dest);
	{
		/* mkdir -p */
		char tmp[PATH_MAX], *p;

		snprintf(tmp, sizeof(tmp), "%s", dir);
		for (p = tmp + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			mkdir(tmp, 0777);
			*p = '/';
		}
		if (mkdir(tmp, 0777) < 0 && errno != EEXIST)
			return sw_seterr(SW_ERR_IO, "cannot create '%s': %s",
			    tmp, strerror(errno));
	}
	if (realpath(dir, abs) == NULL)
		return sw_seterr(SW_ERR_IO, "cannot resolve '%s': %s", dir,
		    strerror(errno));
	buf_init(&b);
	buf_printf(&b, "file://%s", abs);
	*out = buf_detach(&b);
	return SW_OK;
}

/*
 * Whether url (a store URL from dest_url()) lies in the configured cold
 * tier: the same bucket (any prefix), or the cold tier's directory or one
 * below it.  gen must never mix synthetic objects into real data.
 */
static int
is_cold_tier(const char *url, const char *cold_bucket)
{
	char *cold = config_bucket_url(cold_bucket);
	char real[PATH_MAX];
	size_t n;
	int same = 0;

	if (cold == NULL)
		return 0;
	if (strncmp(cold, "s3://", 5) == 0 && strncmp(url, "s3://", 5) == 0) {
		n = strcspn(cold + 5, "/");
		same = strncmp(cold + 5, url + 5, n) == 0 &&
		    (url[5 + n] == '/' || url[5 + n] == '\0');
	} else if (strncmp(cold, "file://", 7) == 0 &&
	    strncmp(url, "file://", 7) == 0) {
		/* url is resolved already; resolve the cold tier's path too
		 * (it may not exist: then compare it as written). */
		if (realpath(cold + 7, real) == NULL)
			snprintf(real, sizeof(real), "%s", cold + 7);
		n = strlen(real);
		while (n > 1 && real[n - 1] == '/')
			real[--n] = '\0';
		same = strncmp(url + 7, real, n) == 0 &&
		    (url[7 + n] == '/' || url[7 + n] == '\0' || n == 1);
	}
	free(cold);
	return same;
}

struct upload {
	struct store *st;
	char *key;
	void *data;
	size_t n;
};

static sw_err
upload_job(void *arg)
{
	struct upload *u = arg;
	sw_err rc = store_put_mem(u->st, u->key, u->data, u->n, NULL, NULL);

	free(u->key);
	free(u->data);
	free(u);
	return rc;
}

struct emit_ctx {
	struct store *st;
	struct batch *batch;
};

static sw_err
emit(void *arg, const char *key, const void *data, size_t n)
{
	struct emit_ctx *e = arg;
	struct upload *u = xcalloc(1, sizeof(*u));

	u->st = e->st;
	u->key = xstrdup(key);
	u->data = xcalloc(1, n);
	memcpy(u->data, data, n);
	u->n = n;
	batch_submit(e->batch, upload_job, u);
	return SW_OK;
}

static sw_err
print_series(void *arg, const struct gen_series *s)
{
	(void)arg;
	printf("%s\t%s\t%s\t%s\t%s\t%s\n", s->id, gen_type_sitewise(s->type),
	    s->associated ? "ASSOCIATED" : "DISASSOCIATED",
	    s->asset_id[0] ? s->asset_id : "-",
	    s->property_id[0] ? s->property_id : "-", s->alias);
	return SW_OK;
}

static int
cmd_gen(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct gen_params p;
	struct gen_stats gs;
	struct store *st = NULL;
	struct pool *pool = NULL;
	struct batch batch;
	struct emit_ctx ec;
	char *url = NULL;
	char sz[32];
	int i, list = 0, force = 0;
	double t0;
	sw_err rc = SW_OK, rc2;

	gen_params_init(&p);
	p.prefix = ctx->cfg.cold_prefix ? ctx->cfg.cold_prefix : "";
	p.aggregates = 1;
	p.agg_prefix = ctx->cfg.cold_agg_prefix;  /* NULL: beside the prefix */
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		const char *v = args[i].value, *n = gen_opts[args[i].opt].name;

		switch (args[i].opt) {
		case O_START: p.start_date = v; break;
		case O_DAYS: rc = num_arg(n, v, 1, 3660, &p.days); break;
		case O_SERIES: rc = num_arg(n, v, 1, 1000000, &p.series); break;
		case O_RECORDS:
			rc = num_arg(n, v, 1, 10000000, &p.records_per_file);
			break;
		case O_WINDOWS:
			rc = num_arg(n, v, 1, 4, &p.windows_per_day);
			break;
		case O_WFROM: rc = num_arg(n, v, 0, 3, &p.first_window); break;
		case O_WTO: rc = num_arg(n, v, 0, 3, &p.last_window); break;
		case O_SEED: {
			char *end;

			errno = 0;
			p.seed = strtoull(v, &end, 10);
			if (errno || end == v || *end)
				rc = sw_seterr(SW_ERR_USAGE, "--seed must be a "
				    "whole number, not '%s'", v);
			break;
		}
		case O_PREFIX: p.prefix = v; p.agg_prefix = NULL; break;
		case O_DISASSOC: rc = share_arg(n, v, &p.disassociated_share); break;
		case O_LEGACY: rc = share_arg(n, v, &p.legacy_id_share); break;
		case O_UNVERSIONED: rc = share_arg(n, v, &p.unversioned_share); break;
		case O_DEFLATE: rc = share_arg(n, v, &p.deflate_share); break;
		case O_NULL: rc = share_arg(n, v, &p.null_share); break;
		case O_VARIANT: rc = share_arg(n, v, &p.variant_schema_share); break;
		case O_BAD: rc = share_arg(n, v, &p.bad_share); break;
		case O_UNCERTAIN: rc = share_arg(n, v, &p.uncertain_share); break;
		case O_NOMETA: p.asset_metadata = 0; break;
		case O_NOAGG: p.aggregates = 0; break;
		case O_LIST: list = 1; break;
		case O_FORCE: force = 1; break;
		}
	}
	if (rc == SW_OK)
		rc = gen_params_check(&p);
	if (rc != SW_OK)
		return cmd_fail(rc);
	if (list)
		return gen_series_list(&p, print_series, NULL) == SW_OK ? 0 : 1;
	if (argc > 1)
		return cmd_fail(sw_seterr(SW_ERR_USAGE, "gen takes one "
		    "destination, not %d", argc));
	if (argc == 0)
		return cmd_fail(sw_seterr(SW_ERR_USAGE, "gen needs a "
		    "destination: give DEST, a directory, file:///DIR or "
		    "s3://BUCKET[/PREFIX] (gen never writes into the configured "
		    "cold tier by default)"));
	rc = dest_url(argv[0], &url);
	if (rc == SW_OK && !force && ctx->cfg.cold_bucket != NULL &&
	    is_cold_tier(url, ctx->cfg.cold_bucket))
		rc = sw_seterr(SW_ERR_USAGE, "'%s' is in the configured cold tier "
		    "(s3.cold_tier.bucket_name '%s'): gen writes synthetic "
		    "objects, never into real data; give another DEST, or "
		    "--force if that cold tier is a demonstration",
		    url, ctx->cfg.cold_bucket);
	if (rc == SW_OK)
		rc = store_open(url, &ctx->cfg, &st);
	if (rc == SW_OK)
		rc = pool_new((unsigned)ctx->cfg.requests, &pool);
	if (rc != SW_OK) {
		store_free(st);
		free(url);
		return cmd_fail(rc);
	}
	t0 = now_mono();
	batch_init(&batch, pool, 1);
	ec.st = st;
	ec.batch = &batch;
	rc = gen_run(&p, emit, &ec, &gs);
	rc2 = batch_wait(&batch);
	if (rc == SW_OK)
		rc = rc2;
	batch_release(&batch);
	pool_free(pool);
	if (rc == SW_OK) {
		format_size(gs.bytes, sz, sizeof(sz));
		printf("generated %llu day%s, %llu series, %llu objects "
		    "(%s, %llu records; %llu aggregate files) in %s in "
		    "%.1f s\n",
		    (unsigned long long)gs.days, gs.days == 1 ? "" : "s",
		    (unsigned long long)gs.series,
		    (unsigned long long)gs.objects, sz,
		    (unsigned long long)gs.records,
		    (unsigned long long)gs.agg_objects, store_url(st),
		    now_mono() - t0);
	}
	store_free(st);
	free(url);
	return rc == SW_OK ? 0 : cmd_fail(rc);
}

const struct cmd_entry cmd_gen_entry = {
	"gen", "[options] DEST",
	"write a deterministic synthetic cold tier to DEST",
	gen_opts, cmd_gen
};
