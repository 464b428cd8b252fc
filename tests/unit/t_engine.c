/*
 * t_engine.c - the day engine's steps through its door (core/engine.h),
 * over a file:// cold tier made by the generator: list (and a selection
 * that leaves series out), diff (a rebuild fetches only what is new),
 * fetch (a corrupt object fails the day by name and leaves the cached
 * day as it was; --skip-bad builds without it), merge (the day file
 * holds every record, checked by the independent Avro reader where it is
 * installed), commit (the index and the pin agree), a damaged cached day
 * rebuilt, and an object the cold tier expired kept unless pruned; the
 * series catalogue (engine_catalog): shared while fresh, kept in the index
 * for the next process, read again when asked, safe to hold across a
 * refresh and from many threads.
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include <openssl/evp.h>

#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/catalog.h"
#include "core/coldkey.h"
#include "core/engine.h"
#include "tap.h"
#include "testlib.h"

static char cold[4096], cache[4096];
static struct day day;

/* Build the day with a new engine (as a new process would); pinned:
 * and hold it, as the mount and sync do. */
static sw_err
build_ex(const struct engine_opts *o, struct engine_report *rep, int pinned)
{
	struct engine_pin pin;
	struct sw_config cfg;
	struct engine *e = NULL;
	sw_err rc;

	test_config(&cfg, cold, cache);
	memset(rep, 0, sizeof(*rep));
	if ((rc = engine_new(&cfg, o, &e)) == SW_OK && pinned) {
		rc = engine_day_ex(e, &day, NULL, NULL, rep, &pin);
		engine_pin_release(&pin);
	} else if (rc == SW_OK) {
		rc = engine_day(e, &day, rep);
	}
	engine_free(e);
	config_release(&cfg);
	return rc;
}

static sw_err
build(const struct engine_opts *o, struct engine_report *rep)
{
	return build_ex(o, rep, 0);
}

/*
 * Build and hold the day with part_size set: whether the pin's pieces'
 * MD5s are those of the file's pieces of part_size bytes (1), or there
 * are none (0; -1: wrong or the build failed).
 */
static int
built_parts(struct engine_opts o, uint64_t part_size,
    struct engine_report *rep)
{
	struct engine_pin pin;
	struct sw_config cfg;
	struct engine *e = NULL;
	unsigned char md[16];
	struct buf f;
	size_t i, n;
	int ret = -1;

	o.part_size = part_size;
	test_config(&cfg, cold, cache);
	if (engine_new(&cfg, &o, &e) == SW_OK &&
	    engine_day_ex(e, &day, NULL, NULL, rep, &pin) == SW_OK) {
		buf_init(&f);
		test_read_file(rep->file, &f);
		n = (f.len + part_size - 1) / part_size;
		if (pin.part_md5 == NULL) {
			ret = 0;
		} else if (pin.nparts == n && pin.part_size == part_size &&
		    f.len == pin.size) {
			ret = 1;
			for (i = 0; i < n; i++) {
				size_t len = f.len - i * part_size < part_size ?
				    f.len - i * part_size : part_size;

				EVP_Digest(f.data + i * part_size, len, md, NULL,
				    EVP_md5(), NULL);
				if (memcmp(md, pin.part_md5[i], 16) != 0)
					ret = -1;
			}
		}
		buf_release(&f);
		engine_pin_release(&pin);
	}
	engine_free(e);
	config_release(&cfg);
	return ret;
}

/* The first raw object's path (key order), or "". */
static void
first_object(char *out, size_t len)
{
	char cmd[4200];
	FILE *p;

	out[0] = '\0';
	snprintf(cmd, sizeof(cmd), "find '%s' -name 'raw_*.avro' | sort | "
	    "head -1", cold);
	if ((p = popen(cmd, "r")) != NULL) {
		if (fgets(out, (int)len, p) != NULL)
			out[strcspn(out, "\n")] = '\0';
		pclose(p);
	}
}

static void *
catalog_thread(void *arg)
{
	struct engine *e = arg;
	struct catalog *c = NULL;
	intptr_t bad = 0;
	int i;

	for (i = 0; i < 5; i++) {
		if (engine_catalog(e, i % 2 ? 300 : 0, &c) != SW_OK ||
		    c->n == 0 || catalog_find(c, c->rows[0].series_id) !=
		    &c->rows[0])
			bad++;
		catalog_unref(c);
		c = NULL;
	}
	return (void *)bad;
}

static void
test_catalog(void)
{
	static const char line[] = "{\"assetId\":null,\"assetPropertyAlias\":"
	    "\"/t/new\",\"timeSeriesId\":"
	    "\"0c000000-0000-4000-8000-00000000000a\"}\n";
	struct sw_config cfg;
	struct engine_opts o;
	struct engine *e = NULL, *e2 = NULL;
	struct catalog *c1 = NULL, *c2 = NULL, *c3 = NULL;
	char path[4200];
	pthread_t t[4];
	size_t i, found = 0, n0;
	void *bad;
	int nbad = 0;
	FILE *f;

	test_config(&cfg, cold, cache);
	free(cfg.timeseries_type);
	cfg.timeseries_type = xstrdup("ASSOCIATED");  /* catalog_only: no
	                                               * ListTimeSeries */
	memset(&o, 0, sizeof(o));
	o.catalog_only = 1;
	ok(engine_new(&cfg, &o, &e) == SW_OK && engine_catalog(e, 300, &c1) ==
	    SW_OK && c1->n > 0 && c1->objects > 0, "the catalogue of the "
	    "generated asset metadata");
	if (c1 == NULL) {
		engine_free(e);
		config_release(&cfg);
		return;
	}
	n0 = c1->n;
	for (i = 0; i < c1->n; i++)
		found += catalog_find(c1, c1->rows[i].series_id) ==
		    &c1->rows[i];
	ok(found == c1->n && catalog_find(c1,
	    "0c000000-0000-4000-8000-00000000000a") == NULL, "each row is "
	    "found by its series id, no other");
	ok(engine_catalog(e, 300, &c2) == SW_OK && c2 == c1, "fresh, it is "
	    "shared");
	catalog_unref(c2);
	c2 = NULL;

	snprintf(path, sizeof(path), "%s/asset_metadata/asset_new.ndjson",
	    cold);
	f = fopen(path, "w");
	ok(f != NULL && fputs(line, f) >= 0 && fclose(f) == 0, "a metadata "
	    "object is added");
	ok(engine_new(&cfg, &o, &e2) == SW_OK && engine_catalog(e2, 300, &c2)
	    == SW_OK && c2 != c1 && c2->n == n0 && catalog_find(c2,
	    "0c000000-0000-4000-8000-00000000000a") == NULL, "another engine "
	    "(process) reads the catalogue from the index, without it");
	catalog_unref(c2);
	c2 = NULL;
	ok(engine_catalog(e2, 0, &c2) == SW_OK && c2->n == n0 + 1 &&
	    catalog_find(c2, "0c000000-0000-4000-8000-00000000000a") != NULL,
	    "max_age 0 reads it now: the new series is there");
	ok(engine_catalog(e, 300, &c3) == SW_OK && c3 == c1, "the first "
	    "engine still holds its own");
	catalog_unref(c3);
	c3 = NULL;
	ok(engine_catalog(e, 0, &c3) == SW_OK && c3 != c1 &&
	    c3->n == n0 + 1, "until it reads again");
	ok(c1->n == n0 && catalog_find(c1, c1->rows[n0 - 1].series_id) ==
	    &c1->rows[n0 - 1], "the catalogue held across the refresh is "
	    "intact");
	catalog_unref(c1);
	catalog_unref(c2);
	catalog_unref(c3);
	engine_free(e2);

	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, catalog_thread, e);
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], &bad);
		nbad += bad != NULL;
	}
	ok(nbad == 0, "four threads reading and holding it at once");
	engine_free(e);
	unlink(path);
	config_release(&cfg);
}

int
main(void)
{
	const char *tmp = test_tmpdir("t_engine");
	struct engine_opts o;
	struct engine_report rep;
	char victim[4096], saved[4096], cmd[8400];
	uint64_t n1, n2, records;
	int parts;
	sw_err rc;

	log_set_level(LOG_LVL_ERROR);
	snprintf(cold, sizeof(cold), "%s/cold", tmp);
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	mkdir(cold, 0700);
	day_parse("2022-01-01", &day);
	memset(&o, 0, sizeof(o));

	n1 = test_gen_windows(cold, 12, 25, 0, 1);
	ok(n1 > 0, "a cold tier of two windows (%llu objects)",
	    (unsigned long long)n1);

	/* list */
	{
		struct sw_config cfg;
		struct engine *e = NULL;
		struct engine_sel sel;
		struct cache_obj *objs = NULL;
		struct engine_listing *l = NULL;
		char *ex[1];
		size_t n = 0, all = 0;

		test_config(&cfg, cold, cache);
		memset(&sel, 0, sizeof(sel));
		rc = engine_new(&cfg, &o, &e);
		if (rc == SW_OK)
			rc = engine_day_list(e, &day, &sel, &objs, &all, &l);
		ok(rc == SW_OK && all == n1, "list: every object of the day "
		    "(%zu)", all);
		/* leave out the first object's series */
		if (rc == SW_OK && all > 0) {
			const char *k = strrchr(objs[0].key, '/') + 5;
			char sid[128];

			snprintf(sid, sizeof(sid), "%.*s", (int)(strrchr(k, '_') -
			    k), k);
			*strrchr(sid, '_') = '\0';
			ex[0] = sid;
			sel.exclude = ex;
			sel.nexclude = 1;
			engine_listing_free(l);
			cache_objs_free(objs, all);
			objs = NULL;
			l = NULL;
			rc = engine_day_list(e, &day, &sel, &objs, &n, &l);
			ok(rc == SW_OK && n > 0 && n < all, "a selection leaves "
			    "out one series' objects (%zu of %zu, without %s)",
			    n, all, sid);
			all = n;
		}
		engine_listing_free(l);
		cache_objs_free(objs, all);
		engine_free(e);
		config_release(&cfg);
	}

	/* fetch, merge, commit */
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.fetched == n1 && rep.listed == n1 &&
	    rep.series == 12 && rep.records > 0, "build: fetches and merges "
	    "every object (%llu), 12 series, %llu records",
	    (unsigned long long)rep.fetched, (unsigned long long)rep.records);
	records = rep.records;
	if (test_avro_tool_missing() == NULL) {
		snprintf(cmd, sizeof(cmd), "count '%s'", rep.file);
		{
			struct buf out;

			buf_init(&out);
			ok(test_avro_tool(cmd, 1, &out) == 0 &&
			    strtoull(out.data ? out.data : "0", NULL, 10) ==
			    records, "python3-avro reads the %llu records "
			    "back", (unsigned long long)records);
			buf_release(&out);
		}
	} else {
		skip("python3-avro reads the records back", test_avro_tool_missing());
	}

	/* the same day through the fetch window (the S3 path), with room
	 * for many objects, then for one at a time, most of them spilled to
	 * temporary files: the same bytes as read in place */
	{
		static const struct { uint64_t window; const char *what; } w[] = {
			{ 0, "the window (16 MiB)" },
			{ 1024, "a 1 KiB window, objects over 256 bytes spilled" },
		};
		struct buf want, got;
		char saved_cache[4096];
		size_t k;

		buf_init(&want);
		test_read_file(rep.file, &want);
		snprintf(saved_cache, sizeof(saved_cache), "%s", cache);
		for (k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
			struct engine_opts wo = o;
			struct engine_report wr;

			snprintf(cache, sizeof(cache), "%s/cache-window%zu", tmp,
			    k);
			wo.fetch_files = 1;
			wo.window_bytes = w[k].window;
			rc = build(&wo, &wr);
			buf_init(&got);
			if (rc == SW_OK)
				test_read_file(wr.file, &got);
			ok(rc == SW_OK && wr.fetched == n1 && got.len ==
			    want.len && want.len > 0 && memcmp(got.data,
			    want.data, want.len) == 0, "%s: the same day file, "
			    "byte for byte%s%s", w[k].what, rc ? ": " : "",
			    rc ? sw_errmsg() : "");
			buf_release(&got);
		}
		snprintf(cache, sizeof(cache), "%s", saved_cache);
		buf_release(&want);
	}

	/* diff */
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.up_to_date && rep.fetched == 0 &&
	    rep.records == records, "again: up to date, nothing fetched");
	n2 = test_gen_windows(cold, 12, 25, 2, 3);
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.fetched == n2 && rep.listed == n1 + n2 &&
	    rep.records > records, "two windows later: only their %llu "
	    "objects are fetched", (unsigned long long)n2);
	records = rep.records;

	/* the pieces' MD5s, taken as the file is written: a day built now
	 * has them, a day pinned as it was does not */
	{
		char saved_cache[4096];

		snprintf(saved_cache, sizeof(saved_cache), "%s", cache);
		snprintf(cache, sizeof(cache), "%s/cache-parts", tmp);
		parts = built_parts(o, 4096, &rep);
		ok(parts == 1 && !rep.up_to_date,
		    "a day built with part_size 4096: each piece's MD5 is the "
		    "file's (%llu bytes)", (unsigned long long)rep.size);
		parts = built_parts(o, 4096, &rep);
		ok(parts == 0 && rep.up_to_date,
		    "the day up to date, pinned as it was: none");
		snprintf(cache, sizeof(cache), "%s", saved_cache);
	}

	/* a corrupt object: the day fails by name, the cache keeps the
	 * last good day */
	first_object(victim, sizeof(victim));
	snprintf(saved, sizeof(saved), "%s/saved.avro", tmp);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && printf 'junk' | dd "
	    "of='%s' bs=1 seek=40 conv=notrunc 2>/dev/null && touch -d "
	    "'2030-01-01' '%s'", victim, saved, victim, victim);
	ok(system(cmd) == 0, "one object is corrupted in place");
	/* a changed object is fetched again only when its ETag changes;
	 * the file store's ETag follows size and mtime */
	snprintf(cmd, sizeof(cmd), "printf 'x' >> '%s'", victim);
	(void)system(cmd);
	rc = build(&o, &rep);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), strrchr(victim, '/') + 1)
	    != NULL, "the build fails, naming it: %s", sw_errmsg());
	o.skip_bad = 1;
	parts = built_parts(o, 4096, &rep);
	ok(parts == 0 && rep.bad == 1 &&
	    rep.records == records, "with skip_bad it builds, the object's "
	    "previous version kept (%llu bad, %llu records); cut back, the "
	    "file has no pieces' MD5s", (unsigned long long)rep.bad,
	    (unsigned long long)rep.records);
	o.skip_bad = 0;
	snprintf(cmd, sizeof(cmd), "mv '%s' '%s'", saved, victim);
	ok(system(cmd) == 0, "the object is repaired");
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.records == records, "and the day is whole "
	    "again (%llu records)", (unsigned long long)rep.records);

	/* a damaged cached day is built anew */
	snprintf(cmd, sizeof(cmd), "printf 'Z' | dd of='%s' bs=1 seek=100 "
	    "conv=notrunc 2>/dev/null", rep.file);
	ok(system(cmd) == 0, "a byte of the cached day is changed");
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.up_to_date && !rep.damaged, "a build that "
	    "finds nothing new does not read the day");
	rc = build_ex(&o, &rep, 1);
	ok(rc == SW_OK && rep.damaged && rep.records == records,
	    "holding it checks it first: found damaged, built anew");

	/* an expired object is kept, unless pruned */
	ok(unlink(victim) == 0, "one object expires from the cold tier");
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.kept == 1 && rep.records == records,
	    "the day keeps it (%llu kept)", (unsigned long long)rep.kept);
	o.prune_expired = 1;
	rc = build(&o, &rep);
	ok(rc == SW_OK && rep.pruned == 1 && rep.records < records,
	    "prune_expired drops it (%llu pruned)",
	    (unsigned long long)rep.pruned);

	test_catalog();

	test_tmpdir_remove();
	return done_testing();
}
