/*
 * cmd_sync.c - `swrepart sync`: publish a range of days to the target
 * bucket (publish.h), several days at once, one shard of the days when
 * many machines share the work, with a line per day, a progress display
 * on a terminal and a summary.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/coldtier.h"
#include "core/engine.h"
#include "core/publish.h"

enum { O_FROM, O_TO, O_JOBS, O_SHARD, O_DRY_RUN, O_ADOPT, O_SKIP_BAD,
    O_PRUNE };

static const struct cmd_opt sync_opts[] = {
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

/* parse_u64_strict() into an unsigned long. */
static int
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	uint64_t v;

	if (parse_u64_strict(s, max, &v) != 0)
		return -1;
	*out = (unsigned long)v;
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

/* A day in flight, for the status line. */
struct slot {
	int busy;
	struct day d;
	uint64_t done, total;          /* objects fetched, to fetch */
	char phase[16];                /* as the build publishes it, or "" */
	uint64_t bytes;                /* ... and its bytes fetched */
};

/* A finished day's report, printed once the days before it are. */
struct line {
	int ready, err;                /* err: text is an error message */
	char *text;
};

struct run {
	struct publisher *pub;
	const struct day *days;
	size_t ndays;                  /* 0 until the days are listed */
	int listed;
	size_t next;                   /* next day to take */
	int dry_run, tty;
	pthread_mutex_t mu;            /* everything below */
	pthread_cond_t cv;             /* wakes the status line's thread */
	size_t done, npub, nsame, nempty, nwould, nfailed;
	uint64_t uploaded, records, fetched;
	char **failed;                 /* days that failed, "YYYY-MM-DD" */
	struct line *lines;            /* one per day, in date order */
	size_t emitted;                /* lines printed */
	struct slot *slots;            /* one per worker */
	size_t nslots;
	int stop;                      /* the signal that asked to stop */
	int finished;                  /* the status line's thread ends */
	int summarized;                /* the summary is out */
	const char *target;
	const char *label;             /* after a day: "" raw, " (agg)" */
	int quiet;                     /* no summary: nothing to sync */
	struct engine *engine;         /* its builds' progress, read back */
	uint64_t fetched_bytes;        /* of the days done */
	double t0;
};

struct worker_arg {
	struct run *r;
	size_t slot;
};

static void
format_elapsed(double s, char *out, size_t len)
{
	if (s < 60)
		snprintf(out, len, "%.0f s", s);
	else
		snprintf(out, len, "%dm%02ds", (int)(s / 60), (int)s % 60);
}

/* The live line, from r (mu held): what the first day in flight is
 * doing, how far the run is, and how fast it goes. */
static void
status_text(struct run *r, char *out, size_t len)
{
	char el[32], up[32], got[32], rate[32], ds[11];
	uint64_t bytes = r->fetched_bytes;
	double t = now_mono() - r->t0;
	struct slot *first = NULL;
	size_t i, busy = 0, n;

	format_elapsed(t, el, sizeof(el));
	if (!r->listed) {
		snprintf(out, len, "sync: listing the cold tier's days | %s",
		    el);
		return;
	}
	for (i = 0; i < r->nslots; i++) {
		if (!r->slots[i].busy)
			continue;
		busy++;
		bytes += r->slots[i].bytes;
		if (first == NULL || day_cmp(&r->slots[i].d, &first->d) < 0)
			first = &r->slots[i];
	}
	format_size(r->uploaded, up, sizeof(up));
	format_size(bytes, got, sizeof(got));
	format_size(t > 0 ? (uint64_t)((double)bytes / t) : 0, rate,
	    sizeof(rate));
	n = (size_t)snprintf(out, len, "sync %zu/%zu days", r->done,
	    r->ndays);
	if (first != NULL && n < len) {
		day_format(&first->d, ds);
		if (first->total == 0)
			n += (size_t)snprintf(out + n, len - n, " | %s %s", ds,
			    first->phase[0] ? first->phase : "listing");
		else
			n += (size_t)snprintf(out + n, len - n, " | %s %s "
			    "%llu/%llu objects", ds, first->phase[0] ?
			    first->phase : first->done < first->total ?
			    "fetching" : "merging, uploading",
			    (unsigned long long)first->done,
			    (unsigned long long)first->total);
		if (busy > 1 && n < len)
			n += (size_t)snprintf(out + n, len - n, " (+%zu)",
			    busy - 1);
	}
	if (n < len)
		snprintf(out + n, len - n, " | %s fetched, %s uploaded | %s/s | "
		    "%s%s", got, up, rate, el, r->stop ? " | stopping" : "");
}

/* What the builds of the days in flight publish for other processes
 * (phase, bytes fetched: once a second), read back for the status line
 * (mu held; dropped while reading). */
static void
slots_phase(struct run *r)
{
	struct cache_progress cp[64];
	struct day d[64];
	int got[64];
	size_t i, n = r->nslots < 64 ? r->nslots : 64;

	if (r->engine == NULL)
		return;
	for (i = 0; i < n; i++)
		d[i] = r->slots[i].d;
	pthread_mutex_unlock(&r->mu);
	for (i = 0; i < n; i++)
		got[i] = cache_progress_get(engine_cache(r->engine),
		    engine_source(r->engine), &d[i], &cp[i]) == SW_OK;
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < n; i++) {
		struct slot *s = &r->slots[i];

		if (!s->busy || day_cmp(&s->d, &d[i]) != 0)
			continue;
		if (got[i]) {
			snprintf(s->phase, sizeof(s->phase), "%s", cp[i].phase);
			s->bytes = cp[i].bytes;
		} else if (s->phase[0] != '\0') {
			/* the build is over: the day is being published */
			snprintf(s->phase, sizeof(s->phase), "uploading");
		}
	}
}

/* The status line's thread: redraws a few times a second, so that the
 * figures and the elapsed time move even while a day is slow. */
static void *
ticker(void *arg)
{
	struct run *r = arg;
	char line[512];
	struct timespec ts;

	pthread_mutex_lock(&r->mu);
	while (!r->finished) {
		slots_phase(r);
		status_text(r, line, sizeof(line));
		pthread_mutex_unlock(&r->mu);
		log_status(line);
		pthread_mutex_lock(&r->mu);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 250 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		if (!r->finished)
			pthread_cond_timedwait(&r->cv, &r->mu, &ts);
	}
	pthread_mutex_unlock(&r->mu);
	log_status(NULL);
	return NULL;
}

/* The engine's progress callback: one more object of day d fetched. */
static void
progress(void *arg, const struct day *d, uint64_t done, uint64_t total)
{
	struct run *r = arg;
	size_t i;

	pthread_mutex_lock(&r->mu);
	r->fetched++;
	for (i = 0; i < r->nslots; i++)
		if (r->slots[i].busy && day_cmp(&r->slots[i].d, d) == 0) {
			if (done > r->slots[i].done)
				r->slots[i].done = done;
			r->slots[i].total = total;
		}
	pthread_mutex_unlock(&r->mu);
}

/* The day's line (mu held), counted. */
static char *
report(struct run *r, const struct day *d, const struct publish_report *pr)
{
	char ds[24], sz[32], up[32], extra[256] = "";
	struct buf b;

	day_format(d, ds);
	strcat(ds, r->label);
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
	buf_init(&b);
	switch (pr->state) {
	case PUB_UNCHANGED:
		r->nsame++;
		buf_printf(&b, "%s: unchanged: %llu objects, %llu series, %llu "
		    "records published already%s\n", ds,
		    (unsigned long long)pr->objects,
		    (unsigned long long)pr->series,
		    (unsigned long long)pr->records, extra);
		break;
	case PUB_EMPTY:
		r->nempty++;
		buf_printf(&b, "%s: nothing to publish: no object of the "
		    "selected series%s\n", ds, extra);
		break;
	case PUB_WOULD:
		r->nwould++;
		buf_printf(&b, "%s: would publish: %llu objects (%s) listed, "
		    "%s%s\n", ds, (unsigned long long)pr->objects, sz,
		    pr->new_day ? "a new day" : "replacing the published day",
		    extra);
		break;
	case PUB_PUBLISHED:
		r->npub++;
		r->uploaded += pr->uploaded;
		r->records += pr->records;
		buf_printf(&b, "%s: published: %llu objects, %llu new series "
		    "(%llu in all), %llu records, %s; ", ds,
		    (unsigned long long)pr->objects,
		    (unsigned long long)pr->new_series,
		    (unsigned long long)pr->series,
		    (unsigned long long)pr->records, sz);
		if (pr->uploaded > 0)
			buf_printf(&b, "uploaded %s in %.2f s", up,
			    pr->upload_seconds);
		else
			buf_puts(&b, "the object was uploaded already");
		buf_printf(&b, " (%s%s)%s\n", pr->new_day ? "new day" :
		    "replaced the day", pr->build.fetched ? ", objects fetched"
		    " now" : "", extra);
		break;
	}
	return buf_detach(&b);
}

/* Print the finished days' lines that all days before them precede
 * (mu held): the output is in date order whatever --jobs. */
static void
emit_ready(struct run *r)
{
	struct line *l;

	for (; r->emitted < r->ndays && r->lines[r->emitted].ready;
	    r->emitted++) {
		l = &r->lines[r->emitted];
		if (l->err)
			log_error("%s", l->text);
		else
			log_stdout(l->text);
		free(l->text);
		l->text = NULL;
	}
}

static void *
worker(void *arg)
{
	struct worker_arg *wa = arg;
	struct run *r = wa->r;
	struct slot *s = &r->slots[wa->slot];

	for (;;) {
		struct publish_report pr;
		size_t k;
		char ds[24];
		sw_err rc;

		pthread_mutex_lock(&r->mu);
		if (r->next >= r->ndays || r->stop) {
			pthread_mutex_unlock(&r->mu);
			break;
		}
		k = r->next++;
		s->busy = 1;
		s->d = r->days[k];
		s->done = s->total = s->bytes = 0;
		s->phase[0] = '\0';
		pthread_mutex_unlock(&r->mu);
		rc = publish_day(r->pub, &r->days[k], &pr);
		day_format(&r->days[k], ds);
		strcat(ds, r->label);
		pthread_mutex_lock(&r->mu);
		s->busy = 0;
		if (rc != SW_OK) {
			struct buf b;

			buf_init(&b);
			buf_printf(&b, "%s: %s", ds, sw_errmsg());
			r->lines[k].err = 1;
			r->lines[k].text = buf_detach(&b);
			r->failed[r->nfailed++] = xstrdup(ds);
		} else {
			r->lines[k].text = report(r, &r->days[k], &pr);
			r->fetched_bytes += pr.build.fetched_bytes;
		}
		r->lines[k].ready = 1;
		r->done++;
		emit_ready(r);
		pthread_mutex_unlock(&r->mu);
	}
	return NULL;
}

/* The summary, always (mu held, or no other thread left). */
static void
summary(struct run *r)
{
	char sz[32];
	struct buf b;
	size_t k;

	format_size(r->uploaded, sz, sizeof(sz));
	buf_init(&b);
	if (*r->label)
		buf_puts(&b, "aggregates: ");
	if (r->dry_run)
		buf_printf(&b, "%zu day%s: %zu would be published, %zu "
		    "unchanged, %zu with nothing to publish, %zu failed (dry "
		    "run: nothing written)\n", r->ndays, r->ndays == 1 ? "" :
		    "s", r->nwould, r->nsame, r->nempty, r->nfailed);
	else
		buf_printf(&b, "%zu day%s: %zu published, %zu unchanged, %zu "
		    "with nothing to publish, %zu failed; %s uploaded in %.1f s "
		    "to %s\n", r->ndays, r->ndays == 1 ? "" : "s", r->npub,
		    r->nsame, r->nempty, r->nfailed, sz, now_mono() - r->t0,
		    r->target);
	log_stdout(b.data);
	buf_release(&b);
	if (r->nfailed > 0) {
		qsort(r->failed, r->nfailed, sizeof(char *), strv_cmp);
		buf_init(&b);
		for (k = 0; k < r->nfailed; k++)
			buf_printf(&b, "%s%s", k ? " " : "", r->failed[k]);
		log_error("failed: %s (see above; a rerun picks them up)",
		    b.data);
		buf_release(&b);
	}
	if (r->stop)
		log_notice("interrupted: %zu of %zu days published; a rerun "
		    "continues", r->npub + r->nsame + r->nempty + r->nwould,
		    r->ndays);
}

/* The summary, or why there is none (mu held); once. */
static void
finish(struct run *r)
{
	if (r->summarized || r->quiet)
		return;
	r->summarized = 1;
	if (r->listed)
		summary(r);
	else if (r->stop)
		log_notice("interrupted: no day published; a rerun continues");
}

/*
 * SIGINT and SIGTERM, taken by this thread alone (every other thread
 * blocks them).  The first stops taking days and lets the days in flight
 * finish; the second abandons them: the process ends at once, which is
 * safe because a day is published with its manifest last (a day is
 * either the old one or the new one, never half of either).
 */
static void *
sig_thread(void *arg)
{
	struct run *r = arg;
	sigset_t set;
	int sig = 0;
	size_t i, busy = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		pthread_mutex_lock(&r->mu);
		if (!r->stop) {
			r->stop = sig;
			for (i = 0; i < r->nslots; i++)
				busy += r->slots[i].busy;
			if (busy > 0)
				log_notice("stopping: finishing the day%s in "
				    "flight; interrupt again to abandon %s",
				    busy == 1 ? "" : "s", busy == 1 ? "it" :
				    "them");
			pthread_cond_broadcast(&r->cv);
			pthread_mutex_unlock(&r->mu);
			continue;
		}
		r->stop = sig;
		log_status(NULL);
		finish(r);
		fflush(NULL);
		_exit(128 + sig);
	}
	return NULL;
}

/* What one dataset's sync needs from the command line. */
struct sync_args {
	const struct sw_config *cfg;   /* with the dataset's target prefixes */
	struct engine_opts eo;         /* with the dataset */
	struct publish_opts po;
	const struct day_range *range;
	unsigned long jobs, shard, nshards;
	int several;                   /* more datasets than this one */
};

/*
 * Publish the days of one dataset: the raw one to the target's data and
 * index prefixes, the aggregates to theirs (a->cfg says which), each with
 * every guarantee of publish.c.  Its exit status: 0, 1 when a day failed,
 * 128 + the signal that stopped it.  A dataset the cold tier has no
 * partition of is an error, unless several are asked for (all).
 */
static int
sync_dataset(const struct sync_args *a)
{
	struct engine_opts eo = a->eo;
	struct publish_opts po = a->po;
	const struct day_range *rg = a->range;
	struct engine *e = NULL;
	struct publisher *pub = NULL;
	struct day *days = NULL;
	unsigned long jobs = a->jobs;
	size_t ndays = 0, k, kept;
	struct run r;
	struct worker_arg *wa;
	pthread_t *th, tick, sigth;
	sigset_t sigs, oldsigs;
	char *why = NULL;
	int status, years = 0;
	sw_err rc;

	memset(&r, 0, sizeof(r));
	r.tty = isatty(STDERR_FILENO) && log_level >= LOG_LVL_NOTICE;
	r.dry_run = po.dry_run;
	r.target = a->cfg->target_bucket;
	r.label = eo.dataset == ENGINE_AGG ? " (agg)" : "";
	r.t0 = now_mono();
	r.nslots = jobs;
	r.slots = xcalloc(jobs, sizeof(*r.slots));
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.cv, NULL);
	/* Signals go to sig_thread alone: blocked before any other thread
	 * starts (the engine's pool, curl's), which inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, &oldsigs);
	if (pthread_create(&sigth, NULL, sig_thread, &r) != 0 ||
	    (r.tty && pthread_create(&tick, NULL, ticker, &r) != 0)) {
		log_error("cannot start a thread");
		abort();
	}

	eo.merge_one_thread = jobs > 1;
	/* the data object's upload takes its parts' MD5s from the build */
	eo.part_size = a->cfg->part_size;
	eo.progress = progress;
	eo.progress_arg = &r;
	rc = engine_new(a->cfg, &eo, &e);
	if (rc == SW_OK)
		rc = publisher_new(a->cfg, e, &po, &pub);
	if (rc == SW_OK)
		rc = publisher_check(pub);
	if (rc == SW_OK)
		rc = engine_days(e, rg->lo, rg->hi, &days, &ndays);
	if (rc != SW_OK) {
		status = cmd_fail(rc);
		goto out;
	}
	if (ndays == 0 && a->several && coldtier_explain_empty(engine_cold(e),
	    engine_prefix(e), &years, &why) == SW_OK && !years) {
		log_notice("no %s in the cold tier: %s", eo.dataset ==
		    ENGINE_AGG ? "aggregates" : "raw data", why);
		r.quiet = 1;
		status = 0;
		goto out;
	}
	if (ndays == 0 && cmd_no_days(engine_cold(e), engine_prefix(e))) {
		status = 1;
		goto out;
	}
	/* A day's number counts from --from (else from 1970-01-01), so that
	 * shards agree whatever each of them lists. */
	for (k = 0, kept = 0; k < ndays; k++) {
		int64_t n = day_to_epoch_days(&days[k]) -
		    (rg->lo ? day_to_epoch_days(rg->lo) : 0);

		if ((uint64_t)n % a->nshards == a->shard)
			days[kept++] = days[k];
	}
	if (a->nshards > 1)
		log_notice("shard %lu/%lu: %zu of %zu days", a->shard,
		    a->nshards, kept, ndays);
	ndays = kept;
	if (ndays == 0)
		log_notice("no day with data in the cold tier%s%s", r.label,
		    rg->lo || rg->hi || a->nshards > 1 ? " in that range" :
		    "");

	pthread_mutex_lock(&r.mu);
	r.engine = e;
	r.pub = pub;
	r.days = days;
	r.ndays = ndays;
	r.failed = xcalloc(ndays + 1, sizeof(char *));
	r.lines = xcalloc(ndays + 1, sizeof(*r.lines));
	r.listed = 1;
	pthread_mutex_unlock(&r.mu);
	if (jobs > ndays)
		jobs = ndays ? ndays : 1;
	th = xcalloc(jobs, sizeof(*th));
	wa = xcalloc(jobs, sizeof(*wa));
	for (k = 0; k < jobs; k++) {
		wa[k].r = &r;
		wa[k].slot = k;
		if (pthread_create(&th[k], NULL, worker, &wa[k]) != 0) {
			log_error("cannot start a thread");
			abort();
		}
	}
	for (k = 0; k < jobs; k++)
		pthread_join(th[k], NULL);
	free(th);
	free(wa);
	status = r.nfailed > 0 ? 1 : 0;
out:
	pthread_mutex_lock(&r.mu);
	r.finished = 1;
	pthread_cond_broadcast(&r.cv);
	pthread_mutex_unlock(&r.mu);
	if (r.tty)
		pthread_join(tick, NULL);
	pthread_mutex_lock(&r.mu);
	finish(&r);
	if (r.stop)
		status = 128 + r.stop;
	pthread_mutex_unlock(&r.mu);
	pthread_cancel(sigth);
	pthread_join(sigth, NULL);
	pthread_sigmask(SIG_SETMASK, &oldsigs, NULL);
	strv_free(r.failed, r.nfailed);
	for (k = 0; k < r.ndays; k++)
		free(r.lines[k].text);
	free(r.lines);
	free(r.slots);
	free(days);
	free(why);
	if (e != NULL)
		cmd_report_requests("cold tier", engine_cold(e));
	if (pub != NULL)
		cmd_report_requests("target", publisher_target(pub));
	if (e != NULL)
		cmd_report_cpu(engine_cold(e));
	publisher_free(pub);
	engine_free(e);
	pthread_cond_destroy(&r.cv);
	pthread_mutex_destroy(&r.mu);
	return status;
}

static int
cmd_sync(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct sync_args sa;
	struct engine_opts eo;
	struct publish_opts po;
	struct day_range range;
	enum engine_dataset ds[2];
	struct sw_config agg_cfg;
	int i, status = 0, st;
	unsigned long jobs = 2, shard = 0, nshards = 1;
	const char *shard_arg = NULL;
	size_t nds, k;
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
	if (rc == SW_OK)
		rc = config_need_target(&ctx->cfg);
	if (rc != SW_OK)
		return cmd_fail(rc);

	memset(&sa, 0, sizeof(sa));
	sa.eo = eo;
	sa.po = po;
	sa.range = &range;
	sa.jobs = jobs;
	sa.shard = shard;
	sa.nshards = nshards;
	config_for_agg(&ctx->cfg, &agg_cfg);
	nds = cmd_datasets(&ctx->cfg, ds);
	sa.several = nds > 1;
	for (k = 0; k < nds; k++) {
		sa.cfg = ds[k] == ENGINE_AGG ? &agg_cfg : &ctx->cfg;
		sa.eo.dataset = ds[k];
		st = sync_dataset(&sa);
		if (st > status)
			status = st;
		if (st >= 128)
			break;     /* interrupted: no further dataset */
	}
	return status;
}

const struct cmd_entry cmd_sync_entry = {
	"sync", "[options]",
	"publish merged days to the target bucket, incrementally",
	sync_opts, cmd_sync
};
