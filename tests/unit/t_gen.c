/*
 * t_gen.c - the synthetic cold tier: layout checked by avro_tool.py
 * check-gen (an independent Avro reader), determinism, and the two
 * stability properties the merge tests rely on (later windows of a day,
 * more series).
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/util.h"
#include "core/gen.h"
#include "tap.h"
#include "testlib.h"

static const char *tmpdir;
static const char *no_python;

/* ---- emit callbacks ----------------------------------------------------- */

/* Keep (key, SHA-256, size) of every object. */
struct obj {
	char *key;
	char sha[65];
	size_t n;
};
struct objs {
	struct obj *v;
	size_t n, cap;
};

static sw_err
emit_collect(void *arg, const char *key, const void *data, size_t n)
{
	struct objs *o = arg;

	o->v = xgrowarray(o->v, &o->cap, o->n + 1, sizeof(*o->v));
	o->v[o->n].key = xstrdup(key);
	sha256_hex(data, n, o->v[o->n].sha);
	o->v[o->n].n = n;
	o->n++;
	return SW_OK;
}

static sw_err
emit_nothing(void *arg, const char *key, const void *data, size_t n)
{
	(void)arg;
	(void)key;
	(void)data;
	(void)n;
	return SW_OK;
}

static int
obj_cmp(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->key,
	    ((const struct obj *)b)->key);
}

static void
objs_sort(struct objs *o)
{
	qsort(o->v, o->n, sizeof(*o->v), obj_cmp);
}

static const struct obj *
objs_find(const struct objs *o, const char *key)
{
	struct obj k = { .key = (char *)key };

	return bsearch(&k, o->v, o->n, sizeof(*o->v), obj_cmp);
}

static void
objs_free(struct objs *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->v[i].key);
	free(o->v);
	memset(o, 0, sizeof(*o));
}

static sw_err
collect(const struct gen_params *p, struct objs *o, struct gen_stats *st)
{
	sw_err rc;

	memset(o, 0, sizeof(*o));
	rc = gen_run(p, emit_collect, o, st);
	objs_sort(o);
	return rc;
}

/* Every object of a is in b with the same bytes; says the first that
 * is not. */
static int
subset(const struct objs *a, const struct objs *b)
{
	const struct obj *x;
	size_t i;

	for (i = 0; i < a->n; i++) {
		x = objs_find(b, a->v[i].key);
		if (x == NULL || strcmp(x->sha, a->v[i].sha) != 0) {
			diag("%s: %s", a->v[i].key, x ? "differs" : "missing");
			return 0;
		}
	}
	return 1;
}

/* ---- helpers ------------------------------------------------------------ */

static int nfiles;

static int
count_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)path;
	(void)sb;
	(void)ftw;
	if (flag == FTW_F)
		nfiles++;
	return 0;
}

/* The feature-rich small tree of the brief. */
static void
small_params(struct gen_params *p)
{
	gen_params_init(p);
	p->start_date = "2021-12-31";  /* crosses a year: 2021/12/31, 2022/1/1 */
	p->days = 2;
	p->series = 20;
	p->records_per_file = 40;
	p->seed = 42;
	p->disassociated_share = 0.25;
	p->legacy_id_share = 0.5;
	p->deflate_share = 0.25;
	p->null_share = 0.25;
	p->variant_schema_share = 0.3;
	p->bad_share = 0.2;
	p->uncertain_share = 0.15;
	p->block_size = 512;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_params(void)
{
	struct gen_params p;

	gen_params_init(&p);
	ok(gen_params_check(&p) == SW_OK, "defaults are valid");
	p.start_date = "2022-02-30";
	ok(gen_params_check(&p) == SW_ERR_USAGE &&
	    strstr(sw_errmsg(), "2022-02-30") != NULL,
	    "impossible date rejected: %s", sw_errmsg());
	gen_params_init(&p);
	p.windows_per_day = 5;
	ok(gen_params_check(&p) == SW_ERR_USAGE, "5 windows a day rejected");
	gen_params_init(&p);
	p.windows_per_day = 2;
	p.first_window = 1;
	p.last_window = 2;
	ok(gen_params_check(&p) == SW_ERR_USAGE, "window past the day's "
	    "windows rejected: %s", sw_errmsg());
	gen_params_init(&p);
	p.deflate_share = 0.7;
	p.null_share = 0.7;
	ok(gen_params_check(&p) == SW_ERR_USAGE, "codec shares over 1 "
	    "rejected");
	gen_params_init(&p);
	p.prefix = "/raw/";
	ok(gen_params_check(&p) == SW_ERR_USAGE, "absolute prefix rejected");
	gen_params_init(&p);
	p.bad_share = 0.0 / 0.0;
	ok(gen_params_check(&p) == SW_ERR_USAGE, "NaN share rejected");
}

struct series_tally {
	int n, legacy, assoc_uuid, disassoc, versioned, types[GEN_TYPE__COUNT];
	int bad;
};

static sw_err
tally_series(void *arg, const struct gen_series *s)
{
	struct series_tally *t = arg;
	char b[3], want[80];

	t->n++;
	t->types[s->type]++;
	t->versioned += s->versioned;
	gen_bucket(s->id, b);
	if (strcmp(b, s->bucket) != 0 || strlen(s->bucket) != 2)
		t->bad++;
	if (s->legacy_id) {
		t->legacy++;
		snprintf(want, sizeof(want), "%s_%s", s->asset_id,
		    s->property_id);
		if (strcmp(s->id, want) != 0 || strlen(s->id) != 73)
			t->bad++;
	} else if (s->associated) {
		t->assoc_uuid++;
		if (strlen(s->id) != 36 || strlen(s->asset_id) != 36)
			t->bad++;
	} else {
		t->disassoc++;
		if (strlen(s->id) != 36 || s->asset_id[0] != '\0')
			t->bad++;
	}
	return SW_OK;
}

static void
test_series_list(void)
{
	struct gen_params p;
	struct series_tally t = { 0 };
	struct gen_series s1, s2;
	int i, all = 1;

	small_params(&p);
	ok(gen_series_list(&p, tally_series, &t) == SW_OK && t.n == 20 &&
	    t.bad == 0, "series list: 20 consistent series");
	diag("%d assetId_propertyId, %d associated UUID, %d disassociated, "
	    "%d versioned", t.legacy, t.assoc_uuid, t.disassoc, t.versioned);
	ok(t.legacy > 0 && t.assoc_uuid > 0 && t.disassoc > 0,
	    "both id forms and disassociated series");
	ok(t.disassoc == 5, "the disassociated share is met exactly (5 of 20)");
	for (i = 0; i < GEN_TYPE__COUNT; i++)
		all &= t.types[i] == 4;
	ok(all, "all five data types, 4 series each");
	ok(t.versioned > 0 && t.versioned < 20,
	    "some series versioned, some not");
	gen_series_get(&p, 7, &s1);
	p.series = 1000;
	gen_series_get(&p, 7, &s2);
	ok(memcmp(&s1, &s2, sizeof(s1)) == 0,
	    "series 7 does not depend on the number of series");
	ok(strcmp(gen_type_sitewise(GEN_TYPE_JSON), "STRUCT") == 0 &&
	    strcmp(gen_type_spec(GEN_TYPE_JSON), "AWS/ALARM_STATE") == 0,
	    "JSON series are STRUCT / AWS/ALARM_STATE to SiteWise");
}

static void
test_tree(void)
{
	struct gen_params p;
	struct gen_stats st;
	struct gen_series s;
	char dir[512], path[1024], args[1024];
	FILE *f;
	sw_err rc;

	small_params(&p);
	snprintf(dir, sizeof(dir), "%s/tree", tmpdir);
	mkdir(dir, 0700);
	rc = gen_run(&p, test_write_under, dir, &st);
	ok(rc == SW_OK, "small tree generated: %s", rc ? sw_errmsg() : "ok");
	diag("%" PRIu64 " objects (%" PRIu64 " data, %" PRIu64 " metadata), "
	    "%" PRIu64 " records, %" PRIu64 " bytes", st.objects,
	    st.data_objects, st.metadata_objects, st.records, st.bytes);
	nfiles = 0;
	nftw(dir, count_entry, 16, FTW_PHYS);
	ok(st.objects == st.data_objects + st.metadata_objects &&
	    (uint64_t)nfiles == st.objects && st.days == 2 && st.series == 20,
	    "stats agree with the files written (%d)", nfiles);
	ok(st.data_objects > 2 * 4 * 20, "BAD and UNCERTAIN files on top of "
	    "the %d GOOD ones", 2 * 4 * 20);

	/* one key spelled out: unpadded date, bucket, id, start, quality */
	gen_series_get(&p, 0, &s);
	snprintf(path, sizeof(path), "%s/raw/startYear=2022/startMonth=1/"
	    "startDay=1/seriesBucket=%s/raw_%s_1641016800_GOOD.avro", dir,
	    s.bucket, s.id);
	ok(access(path, R_OK) == 0, "key of series 0, 2022-01-01 06:00: %s",
	    path + strlen(dir) + 1);
	if (s.associated) {
		snprintf(path, sizeof(path), "%s/asset_metadata/asset_%s.ndjson",
		    dir, s.asset_id);
		ok(access(path, R_OK) == 0, "asset metadata at the root");
	} else {
		ok(1, "series 0 is disassociated: no metadata to look for");
	}

	if (no_python != NULL) {
		skip("avro_tool.py check-gen --require-all", no_python);
		return;
	}
	snprintf(args, sizeof(args), "check-gen --require-all '%s'", dir);
	ok(test_avro_tool(args, 0, NULL) == 0, "check-gen --require-all passes "
	    "(independent reader, every record against its key)");

	/* check-gen notices a broken file (a byte of the last sync marker) */
	snprintf(path, sizeof(path), "%s/raw/startYear=2021/startMonth=12/"
	    "startDay=31/seriesBucket=%s/raw_%s_1640952000_GOOD.avro", dir,
	    s.bucket, s.id);
	f = fopen(path, "r+b");
	if (f != NULL) {
		fseek(f, -5, SEEK_END);
		fputc('!', f);
		fclose(f);
	}
	ok(f != NULL && test_avro_tool(args, 1, NULL) == 1, "check-gen fails on a "
	    "corrupted file");
}

static void
test_determinism(void)
{
	struct gen_params p;
	struct objs a, b;
	size_t i;
	int same;

	small_params(&p);
	collect(&p, &a, NULL);
	collect(&p, &b, NULL);
	same = a.n == b.n && a.n > 0;
	for (i = 0; same && i < a.n; i++)
		same = strcmp(a.v[i].key, b.v[i].key) == 0 &&
		    strcmp(a.v[i].sha, b.v[i].sha) == 0;
	ok(same, "two runs give identical objects (%zu)", a.n);
	objs_free(&b);
	p.seed = 43;
	collect(&p, &b, NULL);
	same = 0;
	for (i = 0; i < b.n; i++)
		same += objs_find(&a, b.v[i].key) != NULL;
	ok(same == 0, "another seed gives other series (%d shared keys)", same);
	objs_free(&a);
	objs_free(&b);
}

static void
test_window_split(void)
{
	struct gen_params p;
	struct objs all, early, late;
	size_t nmeta = 0, i;

	small_params(&p);
	collect(&p, &all, NULL);
	p.first_window = 0;
	p.last_window = 1;
	collect(&p, &early, NULL);
	p.first_window = 2;
	p.last_window = 3;
	collect(&p, &late, NULL);
	for (i = 0; i < all.n; i++)
		nmeta += strncmp(all.v[i].key, "asset_metadata/", 15) == 0;
	ok(subset(&early, &all) && subset(&late, &all),
	    "windows 0-1 and 2-3 are objects of the 0-3 run");
	/* metadata comes with both runs; data objects split */
	ok(early.n + late.n - nmeta == all.n, "and together are all of them "
	    "(%zu + %zu - %zu metadata = %zu)", early.n, late.n, nmeta,
	    all.n);
	objs_free(&all);
	objs_free(&early);
	objs_free(&late);
}

static void
test_series_superset(void)
{
	struct gen_params p;
	struct objs few, many;

	small_params(&p);
	collect(&p, &few, NULL);
	p.series = 30;
	collect(&p, &many, NULL);
	/* 20 is a multiple of GEN_SERIES_PER_ASSET: every asset of the small
	 * run is complete, so its metadata is unchanged too */
	ok(20 % GEN_SERIES_PER_ASSET == 0 && subset(&few, &many),
	    "20 series: every object also in the 30-series run, same bytes");
	ok(many.n > few.n, "30 series add objects (%zu > %zu)", many.n, few.n);
	objs_free(&few);
	objs_free(&many);
}

/* Codec and writer-schema choices do not change the records: the same
 * tree written all-canonical-snappy and with variants and other codecs
 * holds the same multiset of records, as python3-avro resolves them. */
static void
test_variants_resolve(void)
{
	struct gen_params p;
	char a[512], b[512], args[2048];

	gen_params_init(&p);
	p.series = 6;
	p.records_per_file = 30;
	p.windows_per_day = 2;
	p.seed = 7;
	p.asset_metadata = 0;
	snprintf(a, sizeof(a), "%s/plain", tmpdir);
	snprintf(b, sizeof(b), "%s/variant", tmpdir);
	mkdir(a, 0700);
	mkdir(b, 0700);
	gen_run(&p, test_write_under, a, NULL);
	p.variant_schema_share = 1;
	p.deflate_share = 0.4;
	p.null_share = 0.4;
	gen_run(&p, test_write_under, b, NULL);
	if (no_python != NULL) {
		skip("avro_tool.py same-records", no_python);
		return;
	}
	snprintf(args, sizeof(args), "same-records $(find '%s' -name "
	    "'*.avro') -- $(find '%s' -name '*.avro')", a, b);
	ok(test_avro_tool(args, 0, NULL) == 0, "variant schemas and codecs resolve to the "
	    "same records");
}

static void
test_prefix(void)
{
	struct gen_params p;
	struct objs o;
	size_t i;
	int data = 0, meta = 0, other = 0;

	gen_params_init(&p);
	p.prefix = "export/raw/";
	p.series = 8;
	p.records_per_file = 2;
	p.disassociated_share = 0;
	collect(&p, &o, NULL);
	for (i = 0; i < o.n; i++) {
		if (strncmp(o.v[i].key, "export/raw/startYear=2022/", 26) == 0)
			data++;
		else if (strncmp(o.v[i].key, "export/asset_metadata/asset_",
		    28) == 0)
			meta++;
		else
			other++;
	}
	ok(data == 32 && meta == 2 && other == 0, "prefix export/raw/: "
	    "metadata in export/asset_metadata/ (%d data, %d meta, %d other)",
	    data, meta, other);
	objs_free(&o);
}

static void
test_speed(void)
{
	struct gen_params p;
	struct gen_stats st;
	double t0, dt;
	const char *full = getenv("T_GEN_BENCH");

	gen_params_init(&p);
	/* the brief's size with T_GEN_BENCH=1; a tenth of it otherwise, so
	 * sanitizer builds stay quick */
	p.series = full && *full == '1' ? 1200 : 120;
	p.records_per_file = 500;
	t0 = now_mono();
	ok(gen_run(&p, emit_nothing, NULL, &st) == SW_OK, "speed run");
	dt = now_mono() - t0;
	diag("%d series x 4 windows x 500 records: %" PRIu64 " objects, "
	    "%.1f MB, %.2f s", p.series, st.objects, st.bytes / 1e6, dt);
}

/* Aggregates: one agg_ file per raw file, beside it under agg/, raw files
 * unchanged, and (check-gen, python3-avro) each holding the aggregates
 * of its raw file's records. */
static void
test_aggregates(void)
{
	struct gen_params p;
	struct gen_stats st, st0;
	struct objs a, b;
	char dir[512], args[1024], pa[1024], pb[1024], tmp[1024];
	size_t i, nagg = 0, bad = 0;
	FILE *f;
	sw_err rc;

	small_params(&p);
	collect(&p, &a, &st0);
	p.aggregates = 1;
	rc = collect(&p, &b, &st);
	ok(rc == SW_OK && st.agg_objects == st0.data_objects &&
	    st.data_objects == st0.data_objects && st.records == st0.records &&
	    st.objects == st0.objects + st.agg_objects && st.agg_records > 0,
	    "aggregates: one agg_ file per raw file (%" PRIu64 ", %" PRIu64
	    " records), the raw counts unchanged", st.agg_objects,
	    st.agg_records);
	ok(subset(&a, &b), "aggregates: every object of a run without them "
	    "is there, byte for byte");
	for (i = 0; i < b.n; i++) {
		if (objs_find(&a, b.v[i].key) != NULL)
			continue;
		nagg++;
		if (strncmp(b.v[i].key, "agg/startYear=", 14) != 0 ||
		    strstr(b.v[i].key, "/agg_") == NULL) {
			if (bad++ == 0)
				diag("unexpected key %s", b.v[i].key);
		}
	}
	ok(nagg == st.agg_objects && bad == 0, "aggregates: the new keys are "
	    "agg/startYear=.../agg_... (%zu)", nagg);
	objs_free(&a);
	objs_free(&b);

	p.prefix = "site/raw/";
	p.agg_prefix = "site/aggregates/";
	collect(&p, &b, &st);
	for (i = 0, bad = 0; i < b.n; i++)
		bad += strstr(b.v[i].key, "/agg_") != NULL &&
		    strncmp(b.v[i].key, "site/aggregates/startYear=", 26) != 0;
	ok(st.agg_objects > 0 && bad == 0, "aggregates: under the agg_prefix "
	    "given");
	objs_free(&b);
	p.agg_prefix = "site/raw/";
	ok(gen_params_check(&p) == SW_ERR_USAGE, "aggregates: the data "
	    "prefix refused as theirs: %s", sw_errmsg());

	if (no_python != NULL) {
		skip("avro_tool.py check-gen of aggregates", no_python);
		return;
	}
	small_params(&p);
	p.aggregates = 1;
	snprintf(dir, sizeof(dir), "%s/aggtree", tmpdir);
	mkdir(dir, 0700);
	rc = gen_run(&p, test_write_under, dir, &st);
	snprintf(args, sizeof(args), "check-gen --require-all '%s'", dir);
	ok(rc == SW_OK && test_avro_tool(args, 0, NULL) == 0, "aggregates: "
	    "check-gen --require-all passes: python3-avro computes each agg_ "
	    "file's records from its raw file");
	/* two series' aggregates swapped: each file still valid Avro */
	snprintf(pa, sizeof(pa), "%s/agg/startYear=2022/startMonth=1/startDay=1",
	    dir);
	snprintf(args, sizeof(args), "sh -c \"find '%s' -name 'agg_*GOOD.avro' "
	    "| sort | head -n 2\"", pa);
	f = popen(args, "r");
	pa[0] = pb[0] = '\0';
	if (f != NULL) {
		if (fgets(pa, sizeof(pa), f) == NULL || fgets(pb, sizeof(pb), f)
		    == NULL)
			pa[0] = '\0';
		pclose(f);
	}
	pa[strcspn(pa, "\n")] = pb[strcspn(pb, "\n")] = '\0';
	snprintf(tmp, sizeof(tmp), "%s/swap.avro", tmpdir);
	if (pa[0] != '\0' && (rename(pa, tmp) != 0 || rename(pb, pa) != 0 ||
	    rename(tmp, pb) != 0))
		pa[0] = '\0';
	snprintf(args, sizeof(args), "check-gen '%s'", dir);
	ok(pa[0] != '\0' && test_avro_tool(args, 1, NULL) == 1,
	    "aggregates: check-gen fails when two files' aggregates are "
	    "swapped");
}

int
main(void)
{
	tmpdir = test_tmpdir("t_gen");
	no_python = test_avro_tool_missing();

	test_params();
	test_series_list();
	test_tree();
	test_determinism();
	test_window_split();
	test_series_superset();
	test_variants_resolve();
	test_prefix();
	test_aggregates();
	test_speed();

	test_tmpdir_remove();
	return done_testing();
}
