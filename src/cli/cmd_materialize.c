/*
 * cmd_materialize.c - `swrepart materialize`: bring a range of days into
 * the local cache through the day engine, with a line per day, a progress
 * display on a terminal and a summary; for each dataset that the dataset
 * setting names (raw, agg or all: raw, then agg).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/coldtier.h"
#include "core/engine.h"

/* --requests (fetches in flight) is a global setting (options.c). */
enum { O_FROM, O_TO, O_SKIP_BAD, O_PRUNE };

static const struct cmd_opt materialize_opts[] = {
	[O_FROM] = { "from", 0, "DATE", "first day, YYYY-MM-DD (default: the "
	    "first with data)" },
	[O_TO] = { "to", 0, "DATE", "last day, YYYY-MM-DD (default: the last "
	    "with data)" },
	[O_SKIP_BAD] = { "skip-bad", 0, NULL,
	    "build days without corrupt objects, and report them" },
	[O_PRUNE] = { "prune-expired", 0, NULL, "drop from cached days the "
	    "objects the cold tier no longer holds (kept by default)" },
	{ NULL, 0, NULL, NULL }
};

static int tty;

static void
progress(void *arg, const struct day *d, uint64_t done, uint64_t total)
{
	char ds[11], line[128];

	(void)arg;
	if (!tty)
		return;
	day_format(d, ds);
	snprintf(line, sizeof(line), "%s: fetching %llu/%llu objects", ds,
	    (unsigned long long)done, (unsigned long long)total);
	log_status(line);   /* log lines go above it */
}

/*
 * Materialize the range's days of one dataset: 0, or 1 when a day failed.
 * Lines of the aggregates say so ("2022-05-30 (agg): ..."); those of the
 * raw dataset read as they always have.  A dataset the cold tier has no
 * partition of is an error, unless several are asked for (all): then it
 * is said and skipped.
 */
static int
materialize_dataset(struct ctx *ctx, struct engine_opts eo,
    const struct day_range *range, enum engine_dataset ds, int several)
{
	struct engine *e = NULL;
	struct day *days = NULL;
	size_t ndays = 0, k, nfailed = 0, nbuilt = 0, nsame = 0;
	uint64_t objs = 0, bytes = 0, records = 0, nbad = 0;
	double t0 = now_mono();
	const char *label = ds == ENGINE_AGG ? " (agg)" : "";
	char sz[32];
	int years = 0;
	char *why = NULL;
	sw_err rc;

	eo.dataset = ds;
	if ((rc = engine_new(&ctx->cfg, &eo, &e)) != SW_OK)
		return cmd_fail(rc);
	rc = engine_days(e, range->lo, range->hi, &days, &ndays);
	if (rc != SW_OK) {
		engine_free(e);
		return cmd_fail(rc);
	}
	if (ndays == 0 && several && coldtier_explain_empty(engine_cold(e),
	    engine_prefix(e), &years, &why) == SW_OK && !years) {
		log_notice("no %s in the cold tier: %s", ds == ENGINE_AGG ?
		    "aggregates" : "raw data", why);
		free(why);
		engine_free(e);
		return 0;
	}
	free(why);
	if (ndays == 0 && cmd_no_days(engine_cold(e), engine_prefix(e))) {
		engine_free(e);
		return 1;
	}
	if (ndays == 0)
		log_notice("no day with data in the cold tier%s%s", label,
		    range->lo || range->hi ? " in that range" : "");
	for (k = 0; k < ndays; k++) {
		struct engine_report r;
		char d[11];

		day_format(&days[k], d);
		rc = engine_day(e, &days[k], &r);
		if (tty)
			log_status(NULL);
		if (rc != SW_OK) {
			log_error("%s%s: %s", d, label, sw_errmsg());
			nfailed++;
			continue;
		}
		nbad += r.bad;
		if (r.up_to_date) {
			nsame++;
			printf("%s%s: up to date: %llu objects listed, nothing "
			    "new; %llu series, %llu records\n", d, label,
			    (unsigned long long)r.listed,
			    (unsigned long long)r.series,
			    (unsigned long long)r.records);
		} else {
			nbuilt++;
			format_size(r.fetched_bytes, sz, sizeof(sz));
			printf("%s%s: %llu objects listed, %llu fetched (%s) in "
			    "%.2f s, %llu new series (%llu in all), %llu records "
			    "merged in %.2f s%s%s%s\n", d, label,
			    (unsigned long long)r.listed,
			    (unsigned long long)r.fetched, sz, r.fetch_seconds,
			    (unsigned long long)r.new_series,
			    (unsigned long long)r.series,
			    (unsigned long long)r.records_added,
			    r.merge_seconds, r.rebuilt ? ", rebuilt" : "",
			    r.bad ? ", bad objects skipped" : "", r.damaged ?
			    ", the cached day was damaged" : "");
			if (r.kept > 0 || r.pruned > 0)
				printf("%s%s: %llu object%s that the cold tier "
				    "no longer holds %s\n", d, label,
				    (unsigned long long)
				    (r.kept ? r.kept : r.pruned),
				    (r.kept ? r.kept : r.pruned) == 1 ? "" : "s",
				    r.kept ? "kept" : "dropped");
			objs += r.fetched;
			bytes += r.fetched_bytes;
			records += r.records_added;
		}
		fflush(stdout);
	}
	format_size(bytes, sz, sizeof(sz));
	printf("%s%zu day%s: %zu built, %zu up to date, %zu failed; %llu "
	    "objects (%s) fetched, %llu records merged in %.1f s; cache %s\n",
	    ds == ENGINE_AGG ? "aggregates: " : "", ndays,
	    ndays == 1 ? "" : "s", nbuilt, nsame, nfailed,
	    (unsigned long long)objs, sz, (unsigned long long)records,
	    now_mono() - t0, cache_dir(engine_cache(e)));
	if (nbad > 0)
		log_warn("%llu bad object%s skipped (named above; recorded in "
		    "the cache index)", (unsigned long long)nbad,
		    nbad == 1 ? "" : "s");
	cmd_report_requests("cold tier", engine_cold(e));
	cmd_report_cpu(engine_cold(e));
	free(days);
	engine_free(e);
	return nfailed > 0 ? 1 : 0;
}

static int
cmd_materialize(struct ctx *ctx, const struct cmd_arg *args, int nargs,
    int argc, char **argv)
{
	struct engine_opts eo;
	struct day_range range;
	enum engine_dataset ds[2];
	size_t nds, k;
	int i, status = 0;
	sw_err rc = SW_OK;

	(void)argv;
	memset(&range, 0, sizeof(range));
	memset(&eo, 0, sizeof(eo));
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		const char *v = args[i].value;

		switch (args[i].opt) {
		case O_FROM:
			rc = day_range_set(&range, 0, v);
			break;
		case O_TO:
			rc = day_range_set(&range, 1, v);
			break;
		case O_SKIP_BAD:
			eo.skip_bad = 1;
			break;
		case O_PRUNE:
			eo.prune_expired = 1;
			break;
		}
	}
	if (rc == SW_OK && argc > 0)
		rc = sw_seterr(SW_ERR_USAGE, "materialize takes no operands");
	if (rc == SW_OK)
		rc = day_range_check(&range);
	if (rc != SW_OK)
		return cmd_fail(rc);
	tty = isatty(STDERR_FILENO) && log_level >= LOG_LVL_NOTICE;
	eo.progress = progress;
	nds = cmd_datasets(&ctx->cfg, ds);
	for (k = 0; k < nds; k++) {
		int st = materialize_dataset(ctx, eo, &range, ds[k], nds > 1);

		if (st > status)
			status = st;
	}
	return status;
}

const struct cmd_entry cmd_materialize_entry = {
	"materialize", "[options]",
	"merge days of the cold tier into the local cache",
	materialize_opts, cmd_materialize
};
