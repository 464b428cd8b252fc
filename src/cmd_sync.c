/*
 * cmd_sync.c - `swrepart sync`: publish a range of days to the target
 * bucket (publish.h), several days at once, one shard of the days when
 * many machines share the work, with a line per day, a progress display
 * on a terminal and a summary.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "engine.h"
#include "log.h"
#include "publish.h"
#include "util.h"

enum { O_FROM, O_TO, O_JOBS, O_SHARD, O_DRY_RUN, O_ADOPT, O_SKIP_BAD,
    O_PRUNE };

const struct cmd_opt sync_opts[] = {
	[O_FROM] = { "from", 0, "DATE", "first day, YYYY-MM-DD (default: the "
	    "first with data)" },
	[O_TO] = { "to", 0, "DATE", "last day, YYYY-MM-DD (default: the last "
	    "with data)" },
	[O_JOBS] = { "jobs", 'j', "N", "days built and published at once "
	    "(default 2)" },
	[O_SHARD] = { "shard", 0, "I/N", "only the days whose number is I "
	    "modulo N; auto reads an array job's index and count" },
	[O_DRY_RUN] = { "dry-run", 'n', NULL,
	    "say what would be published; write nothing" },
	[O_ADOPT] = { "adopt", 0, NULL, "fold days the Python sample "
	    "published into one object" },
	[O_SKIP_BAD] = { "skip-bad", 0, NULL,
	    "publish days without their corrupt objects, and report them" },
	[O_PRUNE] = { "prune-expired", 0, NULL, "drop from published days "
	    "the objects the cold tier no longer holds (kept by default)" },
	{ NULL, 0, NULL, NULL }
};

/* ---- --shard ---- */

static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The index and count of an array job from the variables the engines set:
 * AWS Batch, Slurm, then Kubernetes Indexed Jobs (whose count is not in
 * the environment: give it as auto/N). */
static sw_err
shard_auto(unsigned long count_given, unsigned long *idx, unsigned long *cnt)
{
	static const struct {
		const char *engine, *index, *count, *min;
	} vars[] = {
		{ "AWS Batch", "AWS_BATCH_JOB_ARRAY_INDEX",
		    "AWS_BATCH_JOB_ARRAY_SIZE", NULL },
		{ "Slurm", "SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT",
		    "SLURM_ARRAY_TASK_MIN" },
		{ "Kubernetes", "JOB_COMPLETION_INDEX", NULL, NULL },
	};
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
		const char *iv = getenv(vars[i].index);
		const char *cv = vars[i].count ? getenv(vars[i].count) : NULL;
		const char *mv = vars[i].min ? getenv(vars[i].min) : NULL;
		unsigned long min = 0;

		if (iv == NULL)
			continue;
		if (parse_uint(iv, 1000000, idx) < 0)
			return sw_seterr(SW_ERR_USAGE, "--shard auto: %s=%s is "
			    "not an index", vars[i].index, iv);
		if (mv != NULL && parse_uint(mv, 1000000, &min) < 0)
			return sw_seterr(SW_ERR_USAGE, "--shard auto: %s=%s is "
			    "not a number", vars[i].min, mv);
		if (*idx < min)
			return sw_seterr(SW_ERR_USAGE, "--shard auto: %s=%s is "
			    "below %s", vars[i].index, iv, vars[i].min);
		*idx -= min;
		if (cv != NULL) {
			if (parse_uint(cv, 1000000, cnt) < 0 || *cnt == 0)
				return sw_seterr(SW_ERR_USAGE, "--shard auto: "
				    "%s=%s is not a count", vars[i].count, cv);
			if (count_given != 0 && count_given != *cnt)
				return sw_seterr(SW_ERR_USAGE, "--shard auto/%lu:"
				    " %s says %lu", count_given,
				    vars[i].count, *cnt);
		} else if (count_given != 0) {
			*cnt = count_given;
		} else {
			return sw_seterr(SW_ERR_USAGE, "--shard auto: %s is "
			    "set (%s) but the number of shards is not: give "
			    "--shard auto/N%s%s", vars[i].index,
			    vars[i].engine, vars[i].count ? " or set " : "",
			    vars[i].count ? vars[i].count : "");
		}
		if (*idx >= *cnt)
			return sw_seterr(SW_ERR_USAGE, "--shard auto: index "
			    "%lu is not below the count %lu (%s)", *idx, *cnt,
			    vars[i].engine);
		log_info("shard %lu of %lu (%s)", *idx, *cnt, vars[i].engine);
		return SW_OK;
	}
	return sw_seterr(SW_ERR_USAGE, "--shard auto: none of "
	    "AWS_BATCH_JOB_ARRAY_INDEX, SLURM_ARRAY_TASK_ID or "
	    "JOB_COMPLETION_INDEX is set");
}

static sw_err
parse_shard(const char *s, unsigned long *idx, unsigned long *cnt)
{
	const char *slash = strchr(s, '/');
	char head[32];
	unsigned long given = 0;

	if (slash != NULL && parse_uint(slash + 1, 1000000, &given) < 0)
		given = (unsigned long)-1;
	snprintf(head, sizeof(head), "%.*s", slash ? (int)(slash - s) :
	    (int)strlen(s), s);
	if (strcmp(head, "auto") == 0) {
		if (given == (unsigned long)-1 || (slash && given == 0))
			return sw_seterr(SW_ERR_USAGE, "--shard '%s': the count "
			    "after auto/ must be a positive number", s);
		return shard_auto(given, idx, cnt);
	}
	if (slash == NULL || given == (unsigned long)-1 || given == 0 ||
	    parse_uint(head, 1000000, idx) < 0 || *idx >= given)
		return sw_seterr(SW_ERR_USAGE, "--shard '%s': give I/N with 0 "
		    "<= I < N, or auto, or auto/N", s);
	*cnt = given;
	return SW_OK;
}

/* ---- running days ---- */

struct run {
	struct publisher *pub;
	const struct day *days;
	size_t ndays;
	size_t next;                   /* next day to take */
	int dry_run, tty;
	pthread_mutex_t mu;            /* the counters and the output */
	size_t done, npub, nsame, nempty, nwould, nfailed;
	uint64_t uploaded, records;
	char **failed;                 /* days that failed, "YYYY-MM-DD" */
	double t0;
};

static void
status_line(struct run *r)
{
	char sz[32];

	if (!r->tty)
		return;
	format_size(r->uploaded, sz, sizeof(sz));
	fprintf(stderr, "\r\033[Ksync: %zu/%zu days, %s uploaded, %.0f s",
	    r->done, r->ndays, sz, now_mono() - r->t0);
	fflush(stderr);
}

static void
report(struct run *r, const struct day *d, const struct publish_report *pr)
{
	char ds[11], sz[32], up[32], extra[256] = "";

	day_format(d, ds);
	format_size(pr->bytes, sz, sizeof(sz));
	format_size(pr->uploaded, up, sizeof(up));
	if (pr->legacy && !pr->adopted)
		snprintf(extra, sizeof(extra), "; beside the sample's %llu "
		    "series in %llu objects", (unsigned long long)
		    pr->legacy_series, (unsigned long long)pr->legacy_objects);
	else if (pr->deleted > 0 || pr->adopt_kept > 0)
		snprintf(extra, sizeof(extra), "; adopted: %llu merged_series "
		    "objects of the sample deleted%s", (unsigned long long)
		    pr->deleted, pr->adopt_kept ? ", some kept (see above)" : "");
	if (pr->kept > 0 || pr->pruned > 0) {
		size_t n = strlen(extra);

		snprintf(extra + n, sizeof(extra) - n, "; %llu object%s that "
		    "the cold tier no longer holds %s",
		    (unsigned long long)(pr->kept ? pr->kept : pr->pruned),
		    (pr->kept ? pr->kept : pr->pruned) == 1 ? "" : "s",
		    pr->kept ? "kept" : "dropped (--prune-expired)");
	}
	switch (pr->state) {
	case PUB_UNCHANGED:
		r->nsame++;
		printf("%s: unchanged: %llu objects, %llu series, %llu records "
		    "published already%s\n", ds,
		    (unsigned long long)pr->objects,
		    (unsigned long long)pr->series,
		    (unsigned long long)pr->records, extra);
		break;
	case PUB_EMPTY:
		r->nempty++;
		printf("%s: nothing to publish: no object of the selected "
		    "series%s\n", ds, extra);
		break;
	case PUB_WOULD:
		r->nwould++;
		printf("%s: would publish: %llu objects (%s) listed, %s%s\n", ds,
		    (unsigned long long)pr->objects, sz, pr->new_day ?
		    "a new day" : "replacing the published day", extra);
		break;
	case PUB_PUBLISHED:
		r->npub++;
		r->uploaded += pr->uploaded;
		r->records += pr->records;
		printf("%s: published: %llu objects, %llu new series (%llu in "
		    "all), %llu records, %s; ", ds,
		    (unsigned long long)pr->objects,
		    (unsigned long long)pr->new_series,
		    (unsigned long long)pr->series,
		    (unsigned long long)pr->records, sz);
		if (pr->uploaded > 0)
			printf("uploaded %s in %.2f s", up, pr->upload_seconds);
		else
			printf("the object was uploaded already");
		printf(" (%s%s)%s\n", pr->new_day ? "new day" :
		    "replaced the day", pr->build.fetched ? ", objects fetched"
		    " now" : "", extra);
		break;
	}
	fflush(stdout);
}

static void *
worker(void *arg)
{
	struct run *r = arg;

	for (;;) {
		struct publish_report pr;
		const struct day *d;
		char ds[11];
		sw_err rc;

		pthread_mutex_lock(&r->mu);
		if (r->next >= r->ndays) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		d = &r->days[r->next++];
		pthread_mutex_unlock(&r->mu);
		rc = publish_day(r->pub, d, &pr);
		day_format(d, ds);
		pthread_mutex_lock(&r->mu);
		if (r->tty)
			fprintf(stderr, "\r\033[K");
		if (rc != SW_OK) {
			log_error("%s: %s", ds, sw_errmsg());
			r->failed[r->nfailed++] = xstrdup(ds);
		} else {
			report(r, d, &pr);
		}
		r->done++;
		status_line(r);
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cmd_sync(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct engine_opts eo;
	struct publish_opts po;
	struct engine *e = NULL;
	struct publisher *pub = NULL;
	struct day_range range;
	struct day *days = NULL;
	int i;
	unsigned long jobs = 2, shard = 0, nshards = 1;
	const char *shard_arg = NULL;
	size_t ndays = 0, k, kept;
	struct run r;
	pthread_t *th;
	char sz[32];
	sw_err rc = SW_OK;

	(void)argv;
	memset(&range, 0, sizeof(range));
	memset(&eo, 0, sizeof(eo));
	memset(&po, 0, sizeof(po));
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		const char *v = args[i].value;

		switch (args[i].opt) {
		case O_FROM:
			rc = day_range_set(&range, 0, v);
			break;
		case O_TO:
			rc = day_range_set(&range, 1, v);
			break;
		case O_JOBS:
			if (parse_uint(v, 256, &jobs) < 0 || jobs == 0)
				rc = sw_seterr(SW_ERR_USAGE, "--jobs '%s': give "
				    "a number from 1 to 256", v);
			break;
		case O_SHARD:
			shard_arg = v;
			break;
		case O_DRY_RUN:
			po.dry_run = 1;
			break;
		case O_ADOPT:
			po.adopt = 1;
			break;
		case O_SKIP_BAD:
			eo.skip_bad = 1;
			break;
		case O_PRUNE:
			eo.prune_expired = po.prune_expired = 1;
			break;
		}
	}
	if (rc == SW_OK && shard_arg != NULL)
		rc = parse_shard(shard_arg, &shard, &nshards);
	if (rc == SW_OK && argc > 0)
		rc = sw_seterr(SW_ERR_USAGE, "sync takes no operands");
	if (rc == SW_OK)
		rc = day_range_check(&range);
	if (rc == SW_OK && ctx->cfg.target_bucket == NULL)
		rc = sw_seterr(SW_ERR_CONFIG, "no target bucket: set "
		    "s3.repartitioned.bucket_name in the config file or give "
		    "--target-bucket");
	if (rc != SW_OK)
		return cmd_fail(rc);

	memset(&r, 0, sizeof(r));
	r.tty = isatty(STDERR_FILENO) && log_level >= LOG_LVL_NOTICE;
	r.dry_run = po.dry_run;
	eo.merge_one_thread = jobs > 1;
	rc = engine_new(&ctx->cfg, &eo, &e);
	if (rc == SW_OK)
		rc = publisher_new(&ctx->cfg, e, &po, &pub);
	if (rc == SW_OK)
		rc = publisher_check(pub);
	if (rc == SW_OK)
		rc = engine_days(e, range.lo, range.hi, &days, &ndays);
	if (rc != SW_OK) {
		publisher_free(pub);
		engine_free(e);
		return cmd_fail(rc);
	}
	/* A day's number counts from --from (else from 1970-01-01), so that
	 * shards agree whatever each of them lists. */
	for (k = 0, kept = 0; k < ndays; k++) {
		int64_t n = day_to_epoch_days(&days[k]) -
		    (range.lo ? day_to_epoch_days(range.lo) : 0);

		if ((uint64_t)n % nshards == shard)
			days[kept++] = days[k];
	}
	if (nshards > 1)
		log_notice("shard %lu/%lu: %zu of %zu days", shard, nshards,
		    kept, ndays);
	ndays = kept;
	if (ndays == 0)
		log_notice("no day with data in the cold tier%s",
		    range.lo || range.hi || nshards > 1 ? " in that range" :
		    "");

	r.pub = pub;
	r.days = days;
	r.ndays = ndays;
	r.failed = xcalloc(ndays + 1, sizeof(char *));
	r.t0 = now_mono();
	pthread_mutex_init(&r.mu, NULL);
	if (jobs > ndays)
		jobs = ndays ? ndays : 1;
	th = xcalloc(jobs, sizeof(*th));
	for (k = 0; k < jobs; k++)
		if (pthread_create(&th[k], NULL, worker, &r) != 0) {
			log_error("cannot start a thread");
			abort();
		}
	for (k = 0; k < jobs; k++)
		pthread_join(th[k], NULL);
	free(th);
	pthread_mutex_destroy(&r.mu);
	if (r.tty)
		fprintf(stderr, "\r\033[K");

	format_size(r.uploaded, sz, sizeof(sz));
	if (po.dry_run)
		printf("%zu day%s: %zu would be published, %zu unchanged, %zu "
		    "with nothing to publish, %zu failed (dry run: nothing "
		    "written)\n", ndays, ndays == 1 ? "" : "s", r.nwould,
		    r.nsame, r.nempty, r.nfailed);
	else
		printf("%zu day%s: %zu published, %zu unchanged, %zu with "
		    "nothing to publish, %zu failed; %s uploaded in %.1f s to "
		    "%s\n", ndays, ndays == 1 ? "" : "s", r.npub, r.nsame,
		    r.nempty, r.nfailed, sz, now_mono() - r.t0,
		    ctx->cfg.target_bucket);
	if (r.nfailed > 0) {
		struct buf b;

		qsort(r.failed, r.nfailed, sizeof(char *), cmp_str);
		buf_init(&b);
		for (k = 0; k < r.nfailed; k++) {
			buf_printf(&b, "%s%s", k ? " " : "", r.failed[k]);
			free(r.failed[k]);
		}
		log_error("failed: %s (see above; a rerun picks them up)",
		    b.data);
		buf_release(&b);
	}
	free(r.failed);
	free(days);
	publisher_free(pub);
	engine_free(e);
	return r.nfailed > 0 ? 1 : 0;
}
