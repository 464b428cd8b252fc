/*
 * cmd_ls.c - `swrepart ls`: the cold tier's days, their objects, series
 * and bytes.  Lists keys only; no object data is read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "coldtier.h"
#include "log.h"
#include "store.h"
#include "util.h"

enum { O_FROM, O_TO, O_LONG };

const struct cmd_opt ls_opts[] = {
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
	unsigned long days, objects, skipped;
	unsigned long long bytes;
};

static sw_err
on_object(void *arg, const struct store_entry *e, const struct coldkey *k)
{
	struct ls_ctx *l = arg;

	if (l->nseries == l->capseries) {
		l->capseries = l->capseries ? l->capseries * 2 : 256;
		l->series = xrealloc(l->series,
		    l->capseries * sizeof(*l->series));
	}
	l->series[l->nseries++] = xstrdup(k->series);
	if (l->longfmt)
		printf("  %12llu  %s\n", (unsigned long long)e->size, e->key);
	return SW_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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
		qsort(l->series, l->nseries, sizeof(*l->series), cmp_str);
		for (i = 0; i < l->nseries; i++)
			if (i == 0 || strcmp(l->series[i], l->series[i - 1]))
				uniq++;
		format_size(cs.bytes, sz, sizeof(sz));
		printf("%s  %8lu  %7zu  %10s  %s\n", ds, cs.objects, uniq, sz,
		    "cold");
		l->days++;
		l->objects += cs.objects;
		l->skipped += cs.skipped;
		l->bytes += cs.bytes;
	}
	for (i = 0; i < l->nseries; i++)
		free(l->series[i]);
	l->nseries = 0;
	fflush(stdout);
	return rc;
}

int
cmd_ls(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct ls_ctx l;
	struct day from, to;
	int have_from = 0, have_to = 0, i;
	char *url;
	char sz[32];
	sw_err rc = SW_OK;

	(void)argv;
	memset(&l, 0, sizeof(l));
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		switch (args[i].opt) {
		case O_FROM:
			rc = day_parse(args[i].value, &from);
			have_from = 1;
			break;
		case O_TO:
			rc = day_parse(args[i].value, &to);
			have_to = 1;
			break;
		case O_LONG:
			l.longfmt = 1;
			break;
		}
	}
	if (rc == SW_OK && argc > 0)
		rc = sw_seterr(SW_ERR_USAGE, "ls takes no operands");
	if (rc == SW_OK && have_from && have_to && day_cmp(&from, &to) > 0)
		rc = sw_seterr(SW_ERR_USAGE, "--from is after --to");
	if (rc == SW_OK && ctx->cfg.cold_bucket == NULL)
		rc = sw_seterr(SW_ERR_CONFIG, "no cold tier: set "
		    "s3.cold_tier.bucket_name in the config file or give "
		    "--cold-bucket");
	if (rc != SW_OK)
		return cmd_fail(rc);
	url = config_bucket_url(ctx->cfg.cold_bucket);
	rc = store_open(url, &ctx->cfg, &l.st);
	free(url);
	if (rc != SW_OK)
		return cmd_fail(rc);
	l.prefix = ctx->cfg.cold_prefix ? ctx->cfg.cold_prefix : "";
	printf("%-10s  %8s  %7s  %10s  %s\n", "DAY", "OBJECTS", "SERIES",
	    "SIZE", "STATE");
	rc = coldtier_days(l.st, l.prefix, have_from ? &from : NULL,
	    have_to ? &to : NULL, on_day, &l);
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
	}
	store_free(l.st);
	return rc == SW_OK ? 0 : cmd_fail(rc);
}
