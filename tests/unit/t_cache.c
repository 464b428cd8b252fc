/*
 * t_cache.c - the day store (core/cache.c) without the engine: sources,
 * generations committed and replaced, the objects and series of a day,
 * readers in many threads while generations are committed (each sees
 * one whole generation), day locks, listings, eviction, the series
 * catalogue's parts (and an index of version 4 gaining their tables), and
 * the rules for the cache directory (private, ours, no symbolic link).
 */
#include "config.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/err.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/cache.h"
#include "core/catalog.h"
#include "core/coldkey.h"
#include "tap.h"
#include "testlib.h"

static struct sw_config cfg;

static struct cache *c;
static int64_t src;
static struct day day;

#define SID1 "0c000000-0000-4000-8000-000000000001"
#define SID2 "0a000000-0000-4000-8000-000000000001_0b000000-0000-4000-8000-000000000001"

/* A catalogue of two series (one without unit, one disassociated), read
 * at `fetched`. */
static void
make_catalog(struct catalog *cat, double fetched, int two)
{
	static const char lines[] =
	    "{\"assetId\":\"a\",\"assetName\":\"Pump, 7\","
	    "\"assetPropertyId\":\"p\",\"assetPropertyName\":\"T\","
	    "\"assetPropertyUnit\":null,\"assetPropertyAlias\":\"/x/t\","
	    "\"timeSeriesId\":\"" SID2 "\",\"timeSeriesBucket\":\"3f\"}\n"
	    "{\"assetPropertyAlias\":\"/s/9\",\"assetPropertyDataType\":"
	    "\"INTEGER\",\"timeSeriesId\":\"" SID1 "\"}\n";
	struct catalog_parse *p;

	memset(cat, 0, sizeof(*cat));
	p = catalog_parse_new(cat, "t_cache", 1);
	if (catalog_parse_feed(p, lines, two ? strlen(lines) :
	    (size_t)(strchr(lines, '\n') + 1 - lines)) != SW_OK)
		abort();
	catalog_parse_end(p);
	catalog_finish(cat);
	cat->fetched = fetched;
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

static int
same_catalog(const struct catalog *a, const struct catalog *b)
{
	size_t i;

	if (a->n != b->n || a->objects != b->objects)
		return 0;
	for (i = 0; i < a->n; i++) {
		const struct catalog_row *x = &a->rows[i], *y = &b->rows[i];

		if (!same_str(x->series_id, y->series_id) ||
		    !same_str(x->asset_id, y->asset_id) ||
		    !same_str(x->asset_name, y->asset_name) ||
		    !same_str(x->property_id, y->property_id) ||
		    !same_str(x->property_name, y->property_name) ||
		    !same_str(x->alias, y->alias) ||
		    !same_str(x->unit, y->unit) ||
		    !same_str(x->data_type, y->data_type) ||
		    !same_str(x->bucket, y->bucket) ||
		    x->associated != y->associated)
			return 0;
	}
	return 1;
}

/* The catalogue's parts: kept whole (nulls too) by name, for max_age;
 * replaced by the next put. */
static void
test_catalog(void)
{
	struct catalog put, got;
	const struct catalog_row *r;

	make_catalog(&put, now_wall(), 1);
	memset(&got, 0, sizeof(got));
	ok(cache_catalog_put(c, "asset metadata s3://b/asset_metadata/",
	    &put) == SW_OK && cache_catalog_get(c, "asset metadata "
	    "s3://b/asset_metadata/", 60, &got) == SW_OK &&
	    same_catalog(&put, &got) && got.fetched == put.fetched,
	    "a catalogue part is kept whole, nulls and all");
	r = catalog_find(&got, SID1);
	ok(r != NULL && !r->associated && strcmp(r->alias, "/s/9") == 0 &&
	    r->asset_id == NULL && catalog_find(&got, SID2) != NULL &&
	    catalog_find(&got, "0c000000-0000-4000-8000-000000000002") == NULL,
	    "and found by series id when read back");
	catalog_release(&got);
	memset(&got, 0, sizeof(got));
	ok(cache_catalog_get(c, "asset metadata s3://other/", 60, &got) ==
	    SW_ERR_NOTFOUND && got.n == 0, "another part is not found");
	catalog_release(&put);

	make_catalog(&put, now_wall() - 100, 0);
	ok(cache_catalog_put(c, "asset metadata s3://b/asset_metadata/",
	    &put) == SW_OK && cache_catalog_get(c, "asset metadata "
	    "s3://b/asset_metadata/", 50, &got) == SW_ERR_NOTFOUND,
	    "a part read longer ago than max_age is not served");
	ok(cache_catalog_get(c, "asset metadata s3://b/asset_metadata/", 200,
	    &got) == SW_OK && same_catalog(&put, &got) && got.n == 1,
	    "a put replaces the rows (%zu)", got.n);
	catalog_release(&got);
	catalog_release(&put);
}

/* An index of version 4 (without the catalogue's tables) is upgraded. */
static void
test_upgrade(const char *dir)
{
	struct catalog put, got;
	char path[4200];
	sqlite3 *db = NULL;
	int v = 0;

	snprintf(path, sizeof(path), "%s/index.sqlite", dir);
	ok(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    "DROP TABLE catalog_row; DROP TABLE catalog_part; "
	    "PRAGMA user_version=4", NULL, NULL, NULL) == SQLITE_OK,
	    "an index made version 4 again");
	sqlite3_close(db);
	make_catalog(&put, now_wall(), 1);
	memset(&got, 0, sizeof(got));
	ok(cache_open(&cfg, &c) == SW_OK && cache_catalog_put(c, "x", &put) ==
	    SW_OK && cache_catalog_get(c, "x", 60, &got) == SW_OK &&
	    same_catalog(&put, &got), "opened, it gains the catalogue's "
	    "tables");
	cache_close(c);
	catalog_release(&put);
	catalog_release(&got);
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
		    NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	ok(v == 5, "and is version 5 (%d)", v);
}

/* Write generation gen of the day: a file of gen * 1000 bytes. */
static int
write_gen(int64_t gen, char *avro, size_t len)
{
	char index[4096];
	int fd;
	size_t size = (size_t)gen * 1000;
	char *data = xcalloc(1, size);

	if (cache_day_paths(c, src, &day, gen, avro, index, len) != SW_OK) {
		free(data);
		return -1;
	}
	fd = open(avro, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		free(data);
		return -1;
	}
	close(fd);
	free(data);
	fd = open(index, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static sw_err
commit(int64_t gen, const struct cache_obj *objs, size_t n, int replace)
{
	struct cache_commit cm;
	char *series[] = { "s-a", "s-b" };
	char avro[4096];

	if (write_gen(gen, avro, sizeof(avro)) != 0)
		return sw_seterr(SW_ERR_IO, "cannot write generation %lld",
		    (long long)gen);
	memset(&cm, 0, sizeof(cm));
	cm.gen = gen;
	cm.size = (uint64_t)gen * 1000;
	cm.records = (uint64_t)gen * 10;
	snprintf(cm.md5, sizeof(cm.md5), "%032lld", (long long)gen);
	cm.added = objs;
	cm.nadded = n;
	cm.replace = replace;
	cm.series = series;
	cm.nseries = 2;
	return cache_day_commit(c, src, &day, &cm);
}

static struct cache_obj
obj(const char *key, uint64_t off)
{
	struct cache_obj o = { (char *)key, "\"e\"", 100, off, 100, 5 };

	return o;
}

/* Readers: each sees a whole generation (size and records agree with
 * its number) and generations never go back. */
static volatile int stop;

static void *
reader(void *arg)
{
	int *bad = arg;
	int64_t last = 0;

	while (!stop) {
		struct cache_day cd;

		if (cache_day_get(c, src, &day, &cd) != SW_OK) {
			(*bad)++;
			continue;
		}
		if (!cd.exists || cd.gen < last || cd.size != (uint64_t)cd.gen *
		    1000 || cd.records != (uint64_t)cd.gen * 10)
			(*bad)++;
		last = cd.gen;
		cache_day_touch(c, src, &day);
	}
	return NULL;
}

int
main(void)
{
	const char *tmp = test_tmpdir("t_cache");
	char dir[4096], path[8300];
	struct cache_day cd;
	struct cache_obj *objs = NULL, two[2], one[1];
	char **series = NULL;
	size_t n = 0, i;
	int64_t other, gen;
	struct stat st;
	int fd1 = -1, fd2 = -1;
	sw_err rc;

	log_set_level(LOG_LVL_ERROR);
	snprintf(dir, sizeof(dir), "%s/cache", tmp);
	config_defaults(&cfg);
	free(cfg.cache_dir);
	cfg.cache_dir = xstrdup(dir);
	day_parse("2022-03-04", &day);

	rc = cache_open(&cfg, &c);
	ok(rc == SW_OK, "a new cache opens%s%s", rc ? ": " : "",
	    rc ? sw_errmsg() : "");
	if (rc != SW_OK) {
		test_tmpdir_remove();
		return done_testing();
	}
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0700,
	    "its directory is made 0700 (%o)", st.st_mode & 07777);

	/* Sources. */
	ok(cache_source(c, "s3://b", "raw/", "ALL", &src) == SW_OK &&
	    cache_source(c, "s3://b", "raw/", "ALL", &other) == SW_OK &&
	    other == src, "a source keeps its id");
	ok(cache_source(c, "s3://b", "raw/", "ASSOCIATED", &other) == SW_OK &&
	    other != src, "another type is another source");

	/* Generations. */
	ok(cache_day_get(c, src, &day, &cd) == SW_OK && !cd.exists,
	    "an unknown day does not exist");
	two[0] = obj("raw/k1", 50);
	two[1] = obj("raw/k2", 150);
	ok(commit(1, two, 2, 0) == SW_OK, "generation 1 commits");
	ok(cache_day_get(c, src, &day, &cd) == SW_OK && cd.exists &&
	    cd.gen == 1 && cd.size == 1000 && cd.records == 10 &&
	    cd.objects == 2 && cd.series == 2 && strcmp(cd.md5,
	    "00000000000000000000000000000001") == 0, "and is current with "
	    "its size, records, objects, series and MD5");
	ok(cache_day_objects(c, src, &day, &objs, &n) == SW_OK && n == 2 &&
	    strcmp(objs[0].key, "raw/k1") == 0 && objs[1].off == 150 &&
	    objs[1].len == 100 && objs[1].records == 5, "its objects keep "
	    "their byte ranges and records");
	cache_objs_free(objs, n);
	ok(cache_day_series(c, src, &day, &series, &n) == SW_OK && n == 2 &&
	    strcmp(series[1], "s-b") == 0, "and its series");
	strv_free(series, n);

	one[0] = obj("raw/k3", 250);
	snprintf(path, sizeof(path), "%s", cd.file);
	ok(commit(2, one, 1, 0) == SW_OK && cache_day_get(c, src, &day, &cd) ==
	    SW_OK && cd.gen == 2 && cd.objects == 3, "generation 2 adds an "
	    "object to the two");
	ok(access(path, F_OK) != 0 && access(cd.file, F_OK) == 0,
	    "and generation 1's file is deleted, 2's is there");
	ok(commit(3, one, 1, 1) == SW_OK && cache_day_get(c, src, &day, &cd) ==
	    SW_OK && cd.gen == 3 && cd.objects == 1, "a rebuild replaces the "
	    "objects");

	/* Readers in 8 threads while 30 generations are committed. */
	{
		pthread_t th[8];
		int bad[8] = { 0 }, all = 0, failed = 0;

		for (i = 0; i < 8; i++)
			pthread_create(&th[i], NULL, reader, &bad[i]);
		for (gen = 4; gen < 34; gen++)
			if (commit(gen, one, 1, 1) != SW_OK)
				failed++;
		stop = 1;
		for (i = 0; i < 8; i++) {
			pthread_join(th[i], NULL);
			all += bad[i];
		}
		ok(failed == 0, "30 commits while 8 threads read the day");
		ok(all == 0, "every read saw one whole generation, never an "
		    "older one (%d bad reads)", all);
	}

	/* Day locks: one holder at a time. */
	ok(cache_day_trylock(c, src, &day, &fd1) == SW_OK, "a day's lock is "
	    "taken");
	ok(cache_day_trylock(c, src, &day, &fd2) == SW_ERR_EXISTS,
	    "a second try finds it held");

	/* Eviction keeps the locked day, then takes it. */
	{
		struct cache_evict ev;

		memset(&ev, 0, sizeof(ev));
		ev.have_max = 1;
		ev.max_size = 0;
		ok(cache_evict(c, &ev) == SW_OK && ev.dropped == 0 &&
		    ev.kept_busy == 1, "eviction keeps a day being built");
		cache_day_unlock(fd1);
		memset(&ev, 0, sizeof(ev));
		ev.have_max = 1;
		ev.max_size = 0;
		ok(cache_evict(c, &ev) == SW_OK && ev.dropped == 1 &&
		    cache_day_get(c, src, &day, &cd) == SW_OK && !cd.exists,
		    "then evicts it");
	}

	/* Listings. */
	{
		long vals[] = { 2021, 2022 }, *got = NULL;

		ok(cache_listing_put(c, src, "", vals, 2) == SW_OK &&
		    cache_listing_get(c, src, "", 60, &got, &n) == SW_OK &&
		    n == 2 && got[1] == 2022, "a listing is kept");
		free(got);
		got = NULL;
		ok(cache_listing_get(c, src, "2021", 60, &got, &n) ==
		    SW_ERR_NOTFOUND, "an unlisted level is not found");
		free(got);
	}
	test_catalog();
	cache_close(c);
	test_upgrade(dir);

	/* The directory rules. */
	snprintf(path, sizeof(path), "%s/link", tmp);
	ok(symlink(dir, path) == 0, "a symbolic link to the cache");
	free(cfg.cache_dir);
	cfg.cache_dir = xstrdup(path);
	ok(cache_open(&cfg, &c) != SW_OK, "is refused as the cache "
	    "directory: %s", sw_errmsg());
	chmod(dir, 0777);
	free(cfg.cache_dir);
	cfg.cache_dir = xstrdup(dir);
	ok(cache_open(&cfg, &c) != SW_OK, "a world-writable one too: %s",
	    sw_errmsg());
	ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0777, "and it is "
	    "left as it was");
	chmod(dir, 0700);
	ok(cache_open(&cfg, &c) == SW_OK, "made private again, it opens");
	cache_close(c);

	config_release(&cfg);
	test_tmpdir_remove();
	return done_testing();
}
