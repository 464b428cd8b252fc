/*
 * t_publish.c - publishing a day, step by step, without the command
 * line: a file:// cold tier made by the generator, a file:// target and
 * a private cache.  It checks what each attempt decides (published,
 * unchanged, a dry run's would, empty), that the decision costs no write
 * where nothing changed, that a late window is added without losing the
 * records published before, that an object the cold tier expired stays
 * in the day, and that a manifest which does not parse stops the day
 * with its key named, leaving the target as it was.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "base/options.h"
#include "base/util.h"
#include "core/coldkey.h"
#include "core/engine.h"
#include "core/publish.h"
#include "tap.h"
#include "testlib.h"

static char cold[4096], target[4096];

static void
set(struct sw_config *cfg, const char *key, const char *value)
{
	if (config_set(cfg, opt_find_key(key), value, "t_publish") != SW_OK)
		diag("%s: %s", key, sw_errmsg());
}

/* Bytes of every file below dir, and the newest mtime (ns): a write
 * anywhere changes one of them. */
static void
tree_sig(const char *dir, char *out, size_t len)
{
	char cmd[8192];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof(cmd), "find '%s' -type f -printf '%%s %%T@ "
	    "%%P\\n' 2>/dev/null | sort | md5sum", dir);
	out[0] = '\0';
	if ((p = popen(cmd, "r")) == NULL)
		return;
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	pclose(p);
}

struct run {
	struct sw_config cfg;
	struct engine *e;
	struct publisher *p;
};

static int
run_open(struct run *r, const char *cache, int dry_run)
{
	struct publish_opts po;
	char url[4200];

	memset(r, 0, sizeof(*r));
	test_config(&r->cfg, cold, cache);
	snprintf(url, sizeof(url), "file://%s", target);
	set(&r->cfg, "s3.repartitioned.bucket_name", url);
	memset(&po, 0, sizeof(po));
	po.dry_run = dry_run;
	if (engine_new(&r->cfg, NULL, &r->e) != SW_OK ||
	    publisher_new(&r->cfg, r->e, &po, &r->p) != SW_OK) {
		diag("open: %s", sw_errmsg());
		return -1;
	}
	return 0;
}

static void
run_close(struct run *r)
{
	publisher_free(r->p);
	engine_free(r->e);
	config_release(&r->cfg);
}

static sw_err
publish(const char *cache, int dry_run, const char *ds,
    struct publish_report *rep)
{
	struct run r;
	struct day d;
	sw_err rc;

	memset(rep, 0, sizeof(*rep));
	if (run_open(&r, cache, dry_run) != 0)
		return SW_ERR_CONFIG;
	if ((rc = day_parse(ds, &d)) == SW_OK)
		rc = publish_day(r.p, &d, rep);
	run_close(&r);
	return rc;
}

int
main(void)
{
	const char *tmp = test_tmpdir("t_publish");
	struct publish_report rep;
	char cache[4096], cache2[4096], sig[64], sig2[64], path[8192];
	char dkey[1024], ikey[1024], mkey[1024];
	uint64_t objs, objs2, records;
	struct day d;
	sw_err rc;
	FILE *f;

	snprintf(cold, sizeof(cold), "%s/cold", tmp);
	snprintf(target, sizeof(target), "%s/target", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	snprintf(cache2, sizeof(cache2), "%s/cache2", tmp);
	mkdir(cold, 0700);
	mkdir(target, 0700);

	objs = test_gen_windows(cold, 20, 30, 0, 1);
	ok(objs > 0, "generated the first two windows (%llu objects)",
	    (unsigned long long)objs);

	/* A new day is published, with every object. */
	rc = publish(cache, 0, "2022-01-01", &rep);
	ok(rc == SW_OK && rep.state == PUB_PUBLISHED, "a new day is published"
	    "%s%s", rc ? ": " : "", rc ? sw_errmsg() : "");
	ok(rep.objects == objs && rep.records > 0 && rep.series == 20,
	    "with each of its %llu objects and 20 series (%llu, %llu)",
	    (unsigned long long)objs, (unsigned long long)rep.objects,
	    (unsigned long long)rep.series);
	records = rep.records;
	ok(rep.build.fetched == objs, "fetching each object once (%llu)",
	    (unsigned long long)rep.build.fetched);

	/* Nothing new: unchanged, and nothing written. */
	tree_sig(target, sig, sizeof(sig));
	rc = publish(cache, 0, "2022-01-01", &rep);
	tree_sig(target, sig2, sizeof(sig2));
	ok(rc == SW_OK && rep.state == PUB_UNCHANGED, "run again: unchanged");
	ok(strcmp(sig, sig2) == 0, "and the target is not written");
	ok(rep.build.fetched == 0 && rep.records == records, "nothing "
	    "fetched; the report gives the published day's %llu records",
	    (unsigned long long)records);

	/* From another machine (a fresh cache): unchanged too, from the
	 * manifest and a listing alone. */
	rc = publish(cache2, 0, "2022-01-01", &rep);
	ok(rc == SW_OK && rep.state == PUB_UNCHANGED && rep.build.fetched ==
	    0, "a fresh cache finds it unchanged without fetching");

	/* A late window: a dry run says so and writes nothing. */
	objs2 = test_gen_windows(cold, 20, 30, 2, 3);
	tree_sig(target, sig, sizeof(sig));
	rc = publish(cache, 1, "2022-01-01", &rep);
	tree_sig(target, sig2, sizeof(sig2));
	ok(rc == SW_OK && rep.state == PUB_WOULD && rep.objects == objs +
	    objs2, "a dry run would publish the %llu objects",
	    (unsigned long long)(objs + objs2));
	ok(strcmp(sig, sig2) == 0, "and writes nothing");

	/* ...and the real run adds it to what was published. */
	rc = publish(cache, 0, "2022-01-01", &rep);
	ok(rc == SW_OK && rep.state == PUB_PUBLISHED && rep.prev_objects ==
	    objs && rep.objects == objs + objs2, "the late windows are "
	    "published beside the first (%llu -> %llu objects)",
	    (unsigned long long)rep.prev_objects,
	    (unsigned long long)rep.objects);
	ok(rep.records > records && rep.build.fetched == objs2, "fetching "
	    "only the new objects (%llu)", (unsigned long long)
	    rep.build.fetched);
	records = rep.records;

	/* An object the cold tier expired stays in the day. */
	{
		char cmd[8300];

		snprintf(cmd, sizeof(cmd), "f=$(find '%s' -name 'raw_*.avro' "
		    "| sort | head -1) && rm \"$f\"", cold);
		ok(system(cmd) == 0, "one raw object expires");
	}
	rc = publish(cache2, 0, "2022-01-01", &rep);
	ok(rc == SW_OK && rep.state == PUB_UNCHANGED && rep.records ==
	    records, "the day is unchanged: the object stays published");

	/* A day with no object: empty, nothing written. */
	tree_sig(target, sig, sizeof(sig));
	rc = publish(cache, 0, "2022-01-02", &rep);
	tree_sig(target, sig2, sizeof(sig2));
	ok(rc == SW_OK && rep.state == PUB_EMPTY && strcmp(sig, sig2) == 0,
	    "a day the cold tier does not have is empty, and writes nothing");

	/* A manifest that does not parse stops the day, named, and the
	 * published data stays. */
	{
		struct run r;

		if (run_open(&r, cache, 0) == 0) {
			day_parse("2022-01-01", &d);
			publish_keys(&r.cfg, &d, dkey, ikey, mkey,
			    sizeof(dkey));
			run_close(&r);
		}
	}
	snprintf(path, sizeof(path), "%s/%s", target, mkey);
	if ((f = fopen(path, "w")) != NULL) {
		fputs("{\"format\": \"swrepart-day\", \"version\": ", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/%s", target, dkey);
	tree_sig(target, sig, sizeof(sig));
	rc = publish(cache, 0, "2022-01-01", &rep);
	tree_sig(target, sig2, sizeof(sig2));
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), mkey) != NULL,
	    "a manifest that does not parse fails the day, naming it: %s",
	    sw_errmsg());
	ok(strcmp(sig, sig2) == 0 && access(path, F_OK) == 0,
	    "and the target is left as it was");

	test_tmpdir_remove();
	return done_testing();
}
