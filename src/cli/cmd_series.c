/*
 * cmd_series.c - `swrepart series`: the series catalogue, one row per time
 * series from the cold tier's asset metadata and ListTimeSeries
 * (core/catalog.c, through engine_catalog(): kept in the cache index for
 * catalog.ttl), filtered by asset name, property name or alias prefix, as
 * CSV, NDJSON or a table.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "base/err.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/catalog.h"
#include "core/engine.h"

enum { O_ASSET, O_PROPERTY, O_ALIAS, O_FORMAT, O_REFRESH };

static const struct cmd_opt series_opts[] = {
	[O_ASSET] = { "asset", 0, "NAME", "only the series of assets named "
	    "NAME (exactly)" },
	[O_PROPERTY] = { "property", 0, "NAME", "only the series of "
	    "properties named NAME (exactly)" },
	[O_ALIAS] = { "alias", 0, "PREFIX", "only the series whose alias "
	    "starts with PREFIX" },
	[O_FORMAT] = { "format", 0, "FMT", "csv, ndjson or table (default: "
	    "table on a terminal, csv otherwise)" },
	[O_REFRESH] = { "refresh", 0, NULL, "read the asset metadata (and "
	    "ListTimeSeries) now, not the cached catalogue" },
	{ NULL, 0, NULL, NULL }
};


#define NCOLS CATALOG_NCOLS
#define col catalog_col

struct filter {
	const char *asset, *property, *alias;
};

static int
selected(const struct filter *f, const struct catalog_row *r)
{
	if (f->asset != NULL && (r->asset_name == NULL ||
	    strcmp(f->asset, r->asset_name) != 0))
		return 0;
	if (f->property != NULL && (r->property_name == NULL ||
	    strcmp(f->property, r->property_name) != 0))
		return 0;
	if (f->alias != NULL && (r->alias == NULL ||
	    strncmp(f->alias, r->alias, strlen(f->alias)) != 0))
		return 0;
	return 1;
}

/* The rows f selects, as catalog_format_*() writes them. */
static void
print_rows(const struct catalog *cat, const struct filter *f,
    enum catalog_fmt fmt)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	catalog_format_head(fmt, &b);
	for (i = 0; i < cat->n; i++) {
		if (!selected(f, &cat->rows[i]))
			continue;
		catalog_format_row(&cat->rows[i], fmt, &b);
		if (b.len >= 65536) {
			fwrite(b.data, 1, b.len, stdout);
			b.len = 0;
		}
	}
	if (b.len > 0)   /* (data is NULL while nothing is written) */
		fwrite(b.data, 1, b.len, stdout);
	buf_release(&b);
}

/* Aligned columns, "-" for what the metadata leaves out.  Widths count
 * bytes: a name with multibyte characters shifts its row's later
 * columns. */
static void
print_table(const struct catalog *cat, const struct filter *f)
{
	static const char *const heads[NCOLS] = {
		"SERIES", "ASSET ID", "ASSET", "PROPERTY ID", "PROPERTY",
		"ALIAS", "UNIT", "TYPE", "BUCKET", "ASSOCIATED",
	};
	size_t w[NCOLS], i;
	const char *v;
	int c;

	for (c = 0; c < NCOLS; c++)
		w[c] = strlen(heads[c]);
	for (i = 0; i < cat->n; i++)
		for (c = 0; c < NCOLS && selected(f, &cat->rows[i]); c++)
			if ((v = col(&cat->rows[i], c)) != NULL &&
			    strlen(v) > w[c])
				w[c] = strlen(v);
	for (c = 0; c < NCOLS; c++)
		printf("%-*s%s", c < NCOLS - 1 ? (int)w[c] : 0, heads[c],
		    c < NCOLS - 1 ? "  " : "\n");
	for (i = 0; i < cat->n; i++) {
		if (!selected(f, &cat->rows[i]))
			continue;
		for (c = 0; c < NCOLS; c++) {
			v = col(&cat->rows[i], c);
			printf("%-*s%s", c < NCOLS - 1 ? (int)w[c] : 0,
			    v != NULL && v[0] != '\0' ? v : "-",
			    c < NCOLS - 1 ? "  " : "\n");
		}
	}
}

static int
cmd_series(struct ctx *ctx, const struct cmd_arg *args, int nargs,
    int argc, char **argv)
{
	struct catalog *cat = NULL;
	struct engine_opts eo;
	struct engine *e = NULL;
	struct filter f;
	enum cmd_format fmt = CMD_FMT_DEFAULT;
	double max_age = (double)ctx->cfg.catalog_ttl;
	int i;
	sw_err rc = SW_OK;

	(void)argv;
	memset(&f, 0, sizeof(f));
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		switch (args[i].opt) {
		case O_ASSET:
			f.asset = args[i].value;
			break;
		case O_PROPERTY:
			f.property = args[i].value;
			break;
		case O_ALIAS:
			f.alias = args[i].value;
			break;
		case O_FORMAT:
			rc = cmd_format_parse(args[i].value,
			    "csv,ndjson,table", &fmt);
			break;
		case O_REFRESH:
			max_age = 0;
			break;
		}
	}
	if (rc == SW_OK && argc > 0)
		rc = sw_seterr(SW_ERR_USAGE, "series takes no operands");
	if (rc == SW_OK)
		rc = config_need_cold(&ctx->cfg);
	if (rc != SW_OK)
		return cmd_fail(rc);
	fmt = cmd_format_default(fmt, CMD_FMT_CSV);

	cmd_stdout_open();     /* `series | head` ends quietly, status 0 */
	memset(&eo, 0, sizeof(eo));
	eo.catalog_only = 1;
	rc = engine_new(&ctx->cfg, &eo, &e);
	if (rc == SW_OK)
		rc = engine_catalog(e, max_age, &cat);
	if (rc == SW_OK) {
		if (fmt == CMD_FMT_CSV)
			print_rows(cat, &f, CATALOG_CSV);
		else if (fmt == CMD_FMT_JSON)
			print_rows(cat, &f, CATALOG_NDJSON);
		else
			print_table(cat, &f);
		rc = cmd_stdout_flush("the catalogue");
	}
	catalog_unref(cat);
	engine_free(e);
	return rc == SW_OK ? 0 : cmd_fail(rc);
}

const struct cmd_entry cmd_series_entry = {
	"series", "[options]",
	"list the time series that asset metadata and ListTimeSeries describe",
	series_opts, cmd_series
};
