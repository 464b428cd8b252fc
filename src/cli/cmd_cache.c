/*
 * cmd_cache.c - `swrepart cache status|prune|verify`: the local cache of
 * merged days seen from the command line (what the mount and materialize
 * fill).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "avro/merge.h"
#include "avro/ocf.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/cache.h"

enum { O_MAX_SIZE, O_OLDER_THAN };

static const struct cmd_opt cache_opts[] = {
	[O_MAX_SIZE] = { "max-size", 0, "SIZE", "prune: evict the least "
	    "recently read days until the cache fits SIZE (default "
	    "cache.max_size)" },
	[O_OLDER_THAN] = { "older-than", 0, "AGE", "prune: evict days not "
	    "read for AGE (30d, 12h, 90m, 3600s)" },
	{ NULL, 0, NULL, NULL }
};

/* "30d", "12h", "90m", "45s" or seconds. */
static int
parse_age(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0': case 's': break;
	case 'm': v *= 60; break;
	case 'h': v *= 3600; break;
	case 'd': v *= 86400; break;
	case 'w': v *= 7 * 86400; break;
	default: return -1;
	}
	if (*end != '\0' && end[1] != '\0')
		return -1;
	*out = v;
	return 0;
}

static void
when(double t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* Builds in progress, in any process: "2022-05-01  building 1,234/5,018
 * objects (fetching, 1.2 MB), for 12 s, pid 4242, SOURCE". */
static void
status_building(struct cache *c, struct cache_progress *p, size_t np)
{
	size_t i;

	if (np > 0)
		printf("building now:\n");
	for (i = 0; i < np; i++) {
		char ds[11], what[160], src[1200];

		day_format(&p[i].d, ds);
		cache_progress_format(&p[i], what, sizeof(what));
		cache_source_name(c, p[i].src, src, sizeof(src));
		printf("%s  %s, for %.0f s, pid %ld, %s\n", ds, what,
		    now_wall() - p[i].started, p[i].pid, src);
	}
}

static int
status(struct cache *c, const struct sw_config *cfg)
{
	struct cache_entry *v;
	struct cache_progress *prog = NULL;
	size_t n, i, nprog = 0;
	uint64_t total = 0;
	int64_t hits, misses, evictions;
	char sz[32], bound[32], t[40];
	sw_err rc;

	if ((rc = cache_days(c, &v, &n)) != SW_OK)
		return cmd_fail(rc);
	for (i = 0; i < n; i++)
		total += v[i].size;
	cache_counter(c, "hits", &hits);
	cache_counter(c, "misses", &misses);
	cache_counter(c, "evictions", &evictions);
	format_size(total, sz, sizeof(sz));
	format_size(cfg->cache_max_size, bound, sizeof(bound));
	cache_progress_list(c, &prog, &nprog);
	printf("cache %s: %zu day%s, %s (cache.max_size %s)", cache_dir(c),
	    n, n == 1 ? "" : "s", sz, cfg->cache_max_size ? bound : "none");
	if (nprog > 0)
		printf("; %zu being built", nprog);
	printf("\n");
	printf("opens served from the cache %lld, days built or extended "
	    "%lld, evictions %lld\n", (long long)hits, (long long)misses,
	    (long long)evictions);
	if (n > 0) {
		printf("%-10s  %10s  %8s  %9s  %-20s  %s\n", "DAY", "SIZE",
		    "OBJECTS", "RECORDS", "LAST READ", "SOURCE");
		for (i = 0; i < n; i++) {
			char ds[11];

			day_format(&v[i].d, ds);
			format_size(v[i].size, sz, sizeof(sz));
			when(v[i].accessed, t, sizeof(t));
			printf("%s  %10s  %8llu  %9llu  %-20s  %s\n", ds, sz,
			    (unsigned long long)v[i].objects,
			    (unsigned long long)v[i].records, t, v[i].source);
		}
	}
	status_building(c, prog, nprog);
	free(prog);
	free(v);
	return 0;
}

static void
pruned(void *arg, const struct cache_entry *e, int old)
{
	char ds[11], sz[32];

	(void)arg;
	day_format(&e->d, ds);
	format_size(e->size, sz, sizeof(sz));
	printf("%s: evicted (%s, %s)\n", ds, sz, old ? "not read for "
	    "longer than --older-than" : "over --max-size");
}

/* The core's eviction (the mount's too), with what it did printed. */
static int
prune(struct cache *c, uint64_t max, int have_max, double age, int have_age)
{
	struct cache_evict ev;
	size_t kept;
	char sz[32];
	sw_err rc;

	memset(&ev, 0, sizeof(ev));
	ev.have_max = have_max;
	ev.max_size = max;
	ev.have_age = have_age;
	ev.older_than = age;
	ev.evicted = pruned;
	if ((rc = cache_evict(c, &ev)) != SW_OK)
		return cmd_fail(rc);
	kept = ev.days - ev.dropped;
	format_size(ev.freed, sz, sizeof(sz));
	printf("%zu day%s evicted, %s freed; %zu day%s kept", ev.dropped,
	    ev.dropped == 1 ? "" : "s", sz, kept, kept == 1 ? "" : "s");
	format_size(ev.total, sz, sizeof(sz));
	printf(" (%s)\n", sz);
	return ev.kept_busy > 0 && have_max && ev.total > max ? 1 : 0;
}

static sw_err
discard(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	return SW_OK;
}

/* Re-read one day file: its MD5, framing, sync markers, CRCs, record
 * counts, and the size and record count the index recorded. */
static sw_err
verify_day(const struct cache_entry *e, const char *md5)
{
	char got[33];
	struct merge *m = NULL;
	struct merge_stats ms;
	struct stat sb;
	int fd = open(e->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	sw_err rc;

	if (fd < 0)
		return sw_seterr(SW_ERR_DATA, "'%s': %s", e->file,
		    strerror(errno));
	if (fstat(fd, &sb) < 0) {
		close(fd);
		return sw_seterr(SW_ERR_DATA, "'%s': %s", e->file,
		    strerror(errno));
	}
	if ((uint64_t)sb.st_size != e->size) {
		close(fd);
		return sw_seterr(SW_ERR_DATA, "'%s' holds %lld bytes, the index "
		    "says %llu", e->file, (long long)sb.st_size,
		    (unsigned long long)e->size);
	}
	rc = fd_md5_hex(fd, e->size, e->file, got);
	if (rc == SW_OK && md5[0] == '\0')
		rc = sw_seterr(SW_ERR_DATA, "'%s' has no digest in the index (an "
		    "older cache): it is built anew when next used", e->file);
	else if (rc == SW_OK && strcmp(got, md5) != 0)
		rc = sw_seterr(SW_ERR_DATA, "'%s' is damaged: MD5 %s, the index "
		    "says %s", e->file, got, md5);
	if (rc == SW_OK)
		rc = merge_open_append_ds(NULL, fd, e->file, e->size, 1,
		    discard, NULL, &m, &ms);
	merge_free(m);
	close(fd);
	if (rc == SW_OK && ms.records != e->records)
		rc = sw_seterr(SW_ERR_DATA, "'%s' holds %llu records, the index "
		    "says %llu", e->file, (unsigned long long)ms.records,
		    (unsigned long long)e->records);
	return rc;
}

static int
verify(struct cache *c)
{
	struct cache_entry *v;
	size_t n, i, bad = 0;
	sw_err rc;

	if ((rc = cache_days(c, &v, &n)) != SW_OK)
		return cmd_fail(rc);
	for (i = 0; i < n; i++) {
		struct cache_day cd;
		char ds[11];
		int lockfd;
		sw_err vr;

		day_format(&v[i].d, ds);
		/* Under the day's lock, and only the generation still
		 * current: a build that commits meanwhile is not judged. */
		if (cache_day_trylock(c, v[i].src, &v[i].d, &lockfd) != SW_OK) {
			log_notice("%s: being built: not checked", ds);
			continue;
		}
		if (cache_day_get(c, v[i].src, &v[i].d, &cd) != SW_OK ||
		    !cd.exists || cd.gen != v[i].gen) {
			cache_day_unlock(lockfd);
			continue;
		}
		vr = verify_day(&v[i], cd.md5);
		cache_day_unlock(lockfd);
		if (vr == SW_OK) {
			log_info("%s: ok", ds);
			continue;
		}
		bad++;
		printf("%s: damaged: %s; dropped (it rebuilds on its next "
		    "use)\n", ds, sw_errmsg());
		if ((rc = cache_day_drop(c, v[i].src, &v[i].d)) != SW_OK)
			log_error("%s: %s", ds, sw_errmsg());
	}
	printf("%zu day%s checked, %zu damaged%s\n", n, n == 1 ? "" : "s",
	    bad, bad ? " and dropped" : "");
	free(v);
	return bad > 0 ? 1 : 0;
}

static int
cmd_cache(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct cache *c;
	uint64_t max = ctx->cfg.cache_max_size;
	double age = 0;
	int have_max = max > 0, have_age = 0, i, status_code;
	sw_err rc = SW_OK;

	for (i = 0; i < nargs && rc == SW_OK; i++) {
		switch (args[i].opt) {
		case O_MAX_SIZE:
			if (parse_size(args[i].value, &max) != 0)
				rc = sw_seterr(SW_ERR_USAGE, "--max-size '%s': "
				    "give a size (500M, 2G)", args[i].value);
			have_max = 1;
			break;
		case O_OLDER_THAN:
			if (parse_age(args[i].value, &age) < 0)
				rc = sw_seterr(SW_ERR_USAGE, "--older-than '%s': "
				    "give an age (30d, 12h, 90m, 3600s)",
				    args[i].value);
			have_age = 1;
			break;
		}
	}
	if (rc == SW_OK && (argc != 1 || (strcmp(argv[0], "status") &&
	    strcmp(argv[0], "prune") && strcmp(argv[0], "verify"))))
		rc = sw_seterr(SW_ERR_USAGE, "give one of: status, prune, "
		    "verify");
	if (rc == SW_OK && strcmp(argv[0], "prune") == 0 && !have_max &&
	    !have_age)
		rc = sw_seterr(SW_ERR_USAGE, "prune needs --max-size or "
		    "--older-than (or cache.max_size)");
	if (rc == SW_OK && strcmp(argv[0], "prune") != 0 && nargs > 0)
		rc = sw_seterr(SW_ERR_USAGE, "--max-size and --older-than are "
		    "for prune");
	if (rc == SW_OK)
		rc = cache_open(&ctx->cfg, &c);
	if (rc != SW_OK)
		return cmd_fail(rc);
	if (strcmp(argv[0], "status") == 0)
		status_code = status(c, &ctx->cfg);
	else if (strcmp(argv[0], "prune") == 0)
		status_code = prune(c, max, have_max, age, have_age);
	else
		status_code = verify(c);
	cache_close(c);
	return status_code;
}

const struct cmd_entry cmd_cache_entry = {
	"cache", "status|prune|verify [options]",
	"show, trim or check the local cache of merged days",
	cache_opts, cmd_cache
};
