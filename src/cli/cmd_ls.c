/*
 * cmd_ls.c - `swrepart ls`: the cold tier's days, their objects, series,
 * bytes and state (cold, cached, stale; published).  Lists keys only; no
 * object data is read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/creds.h"
#include "aws/sitewise.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/cache.h"
#include "core/coldtier.h"
#include "store/store.h"

enum { O_FROM, O_TO, O_LONG };

static const struct cmd_opt ls_opts[] = {
	[O_FROM] = { "from", 0, "DATE", "first day, YYYY-MM-DD" },
	[O_TO] = { "to", 0, "DATE", "last day, YYYY-MM-DD" },
	[O_LONG] = { "long", 'l', NULL, "also list each day's objects" },
	{ NULL, 0, NULL, NULL }
};

struct ls_ctx {
	struct store *st;
	const char *prefix;
	int longfmt;
	char **series;
	size_t nseries, capseries;
	struct cache_obj *objs;        /* the day's objects, as listed */
	size_t nobjs, capobjs;
	struct cache *cache;           /* NULL: states not shown */
	int64_t src;
	char **sel;                    /* the last known series of the type */
	size_t nsel;
	int all;                       /* timeseries_type ALL */
	struct day *published;         /* days with a manifest in the target */
	size_t npublished, cappub;
	unsigned long days, objects, skipped;
	unsigned long long bytes;
};

static int
cmp_obj(const void *a, const void *b)
{
	return strcmp(((const struct cache_obj *)a)->key,
	    ((const struct cache_obj *)b)->key);
}

/* The day's state: cold (in the cold tier only), cached, or stale (the
 * cold tier has objects the cached day lacks), or "building 12/30
 * objects (fetching, 1.2 MB)" while a process (a mount, materialize,
 * sync) builds it; ",published" when the target holds a manifest for
 * it. */
static void
day_state(struct ls_ctx *l, const struct day *d, char *out, size_t len)
{
	struct cache_day cd;
	struct cache_obj *had = NULL;
	struct cache_progress pr;
	size_t nhad = 0, i, j = 0;
	int stale = 0, pub = 0;

	snprintf(out, len, "cold");
	for (i = 0; i < l->npublished && !pub; i++)
		pub = day_cmp(&l->published[i], d) == 0;
	if (l->cache != NULL && cache_progress_get(l->cache, l->src, d, &pr) ==
	    SW_OK)
		cache_progress_format(&pr, out, len);
	else if (l->cache != NULL && cache_day_get(l->cache, l->src, d, &cd) ==
	    SW_OK && cd.exists && cache_day_objects(l->cache, l->src, d, &had,
	    &nhad) == SW_OK) {
		qsort(l->objs, l->nobjs, sizeof(*l->objs), cmp_obj);
		for (i = 0; i < l->nobjs && !stale; i++) {
			int c = 1;

			while (j < nhad && (c = strcmp(had[j].key,
			    l->objs[i].key)) < 0)
				j++;
			stale = c != 0 || strcmp(had[j].etag,
			    l->objs[i].etag) != 0;
		}
		snprintf(out, len, "%s", stale ? "stale" : "cached");
		cache_objs_free(had, nhad);
	}
	if (pub)
		snprintf(out + strlen(out), len - strlen(out), ",published");
}

static sw_err
on_object(void *arg, const struct store_entry *e, const struct coldkey *k)
{
	struct ls_ctx *l = arg;

	l->series = xgrowarray(l->series, &l->capseries, l->nseries + 1,
	    sizeof(*l->series));
	l->series[l->nseries++] = xstrdup(k->series);
	if (l->cache != NULL && (l->all || (l->nsel > 0 && bsearch(&k->series,
	    l->sel, l->nsel, sizeof(*l->sel), strv_cmp) != NULL))) {
		l->objs = xgrowarray(l->objs, &l->capobjs, l->nobjs + 1,
		    sizeof(*l->objs));
		l->objs[l->nobjs].key = xstrdup(e->key);
		l->objs[l->nobjs].etag = xstrdup(e->etag);
		l->objs[l->nobjs++].size = e->size;
	}
	if (l->longfmt)
		printf("  %12llu  %s\n", (unsigned long long)e->size, e->key);
	return SW_OK;
}


static sw_err
on_day(void *arg, const struct day *d)
{
	struct ls_ctx *l = arg;
	struct coldtier_stats cs;
	char ds[11], sz[32];
	size_t i, uniq = 0;
	sw_err rc;

	day_format(d, ds);
	if (l->longfmt)
		printf("%s:\n", ds);
	rc = coldtier_list_day(l->st, l->prefix, d, on_object, NULL, l, &cs);
	if (rc == SW_OK) {
		qsort(l->series, l->nseries, sizeof(*l->series), strv_cmp);
		for (i = 0; i < l->nseries; i++)
			if (i == 0 || strcmp(l->series[i], l->series[i - 1]))
				uniq++;
		char state[128];

		format_size(cs.bytes, sz, sizeof(sz));
		day_state(l, d, state, sizeof(state));
		printf("%s  %8lu  %7zu  %10s  %s\n", ds, cs.objects, uniq, sz,
		    state);
		l->days++;
		l->objects += cs.objects;
		l->skipped += cs.skipped;
		l->bytes += cs.bytes;
	}
	for (i = 0; i < l->nseries; i++)
		free(l->series[i]);
	l->nseries = 0;
	cache_objs_free(l->objs, l->nobjs);
	l->objs = NULL;
	l->nobjs = l->capobjs = 0;
	fflush(stdout);
	return rc;
}

/* A manifest key of the target: ".../startYear=Y/startMonth=M/startDay=D/
 * swrepart-manifest.json". */
static sw_err
on_index(void *arg, const struct store_entry *e)
{
	struct ls_ctx *l = arg;
	const char *p = strstr(e->key, "startYear=");
	struct day d;

	if (e->is_prefix || p == NULL || strstr(e->key,
	    "/swrepart-manifest.json") == NULL ||
	    day_partition_parse(p, &d) == NULL)
		return SW_OK;
	l->published = xgrowarray(l->published, &l->cappub, l->npublished + 1,
	    sizeof(*l->published));
	l->published[l->npublished++] = d;
	return SW_OK;
}

/* What states need: the cache (when it exists), the last known series of
 * the type, and the target's manifests. */
static void
states_open(struct ls_ctx *l, const struct sw_config *cfg, const char *url)
{
	char *region = NULL, *ep;

	l->all = strcmp(cfg->timeseries_type, "ALL") == 0;
	if (cache_open(cfg, &l->cache) != SW_OK ||
	    cache_source(l->cache, url, l->prefix, cfg->timeseries_type,
	    &l->src) != SW_OK) {
		log_info("the cache cannot be read: %s", sw_errmsg());
		cache_close(l->cache);
		l->cache = NULL;
	}
	if (l->cache != NULL && !l->all && creds_region(cfg, &region) ==
	    SW_OK) {
		ep = sitewise_endpoint(cfg, region ? region : "us-east-1");
		if (cache_series_list_get(l->cache, ep, cfg->timeseries_type,
		    1e12, &l->sel, &l->nsel) != SW_OK)
			l->nsel = 0;
		free(ep);
	}
	free(region);
	if (cfg->target_bucket != NULL) {
		char *turl = config_bucket_url(cfg->target_bucket);
		struct store *t;

		if (store_open(turl, cfg, &t) == SW_OK) {
			if (store_list(t, cfg->target_index_prefix, NULL, NULL,
			    on_index, l) != SW_OK)
				log_warn("cannot list the target: %s",
				    sw_errmsg());
			store_free(t);
		}
		free(turl);
	}
}

static int
cmd_ls(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct ls_ctx l;
	struct day_range range;
	int i, empty = 0;
	char *url;
	char sz[32];
	sw_err rc = SW_OK;

	(void)argv;
	memset(&range, 0, sizeof(range));
	memset(&l, 0, sizeof(l));
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		switch (args[i].opt) {
		case O_FROM:
			rc = day_range_set(&range, 0, args[i].value);
			break;
		case O_TO:
			rc = day_range_set(&range, 1, args[i].value);
			break;
		case O_LONG:
			l.longfmt = 1;
			break;
		}
	}
	if (rc == SW_OK && argc > 0)
		rc = sw_seterr(SW_ERR_USAGE, "ls takes no operands");
	if (rc == SW_OK)
		rc = day_range_check(&range);
	if (rc == SW_OK)
		rc = config_need_cold(&ctx->cfg);
	if (rc != SW_OK)
		return cmd_fail(rc);
	url = config_bucket_url(ctx->cfg.cold_bucket);
	rc = store_open(url, &ctx->cfg, &l.st);
	if (rc != SW_OK) {
		free(url);
		return cmd_fail(rc);
	}
	l.prefix = ctx->cfg.cold_prefix ? ctx->cfg.cold_prefix : "";
	states_open(&l, &ctx->cfg, url);
	free(url);
	printf("%-10s  %8s  %7s  %10s  %s\n", "DAY", "OBJECTS", "SERIES",
	    "SIZE", "STATE");
	rc = coldtier_days(l.st, l.prefix, range.lo, range.hi, on_day,
	    &l);
	free(l.series);
	if (rc == SW_OK) {
		format_size(l.bytes, sz, sizeof(sz));
		printf("%lu day%s, %lu objects, %s in %s%s\n", l.days,
		    l.days == 1 ? "" : "s", l.objects, sz, store_url(l.st),
		    l.prefix);
		if (l.skipped > 0)
			log_warn("%lu key%s skipped: they are not cold-tier "
			    "objects (see the warnings above)", l.skipped,
			    l.skipped == 1 ? "" : "s");
		/* Nothing listed is exit 1, as for `aws s3 ls`. */
		if (l.days == 0 && cmd_no_days(l.st, l.prefix) == 0)
			log_notice("no day with data in the cold tier in that "
			    "range");
		empty = l.days == 0;
	}
	store_free(l.st);
	cache_close(l.cache);
	strv_free(l.sel, l.nsel);
	free(l.published);
	return rc == SW_OK ? empty : cmd_fail(rc);
}

const struct cmd_entry cmd_ls_entry = {
	"ls", "[options]",
	"list the cold tier's days",
	ls_opts, cmd_ls
};
