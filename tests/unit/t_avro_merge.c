/*
 * t_avro_merge.c - the container reader and the day merge.
 *
 * Inputs come from the synthetic cold tier (gen.c) and from files built
 * here; outputs are read back by two independent implementations:
 * Debian's python3-avro (tests/integration/avro_tool.py same-records and
 * meta; skipped when /usr/bin/python3 lacks it) and avro-c's reader.
 * Corruptions are made by editing the bytes of generated files.
 *
 * T_MERGE_BENCH=1 runs the brief's benchmark size (1,200 series x 4
 * windows x 500 records) against cat; a tenth of it otherwise.  Timings
 * are reported, never asserted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <avro.h>

#include "avro/merge.h"
#include "avro/ocf.h"
#include "base/util.h"
#include "core/gen.h"
#include "tap.h"
#include "testlib.h"

static const char *tmpdir;
static const char *no_python;  /* why the python checks are skipped */
static int workers = -1;       /* merge_set_workers() of each merge, or
                                * -1 for the default */

/* ---- files -------------------------------------------------------------- */

struct files {
	char **v;
	size_t n, cap;
	uint64_t records;   /* as the generator counted them */
};

static void
files_add(struct files *f, const char *path)
{
	f->v = xgrowarray(f->v, &f->cap, f->n + 1, sizeof(*f->v));
	f->v[f->n++] = xstrdup(path);
}

static void
files_free(struct files *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i]);
	free(f->v);
	memset(f, 0, sizeof(*f));
}

static int
write_file(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	int okay;

	if (f == NULL)
		return 0;
	okay = n == 0 || fwrite(data, 1, n, f) == n;
	return fclose(f) == 0 && okay;
}

/* gen_run's emit: each data object as dir/<its file name> (names are
 * unique: they hold the series, the window start and the quality). */
struct emit_ctx {
	const char *dir;
	struct files *files;
};

static sw_err
emit_flat(void *arg, const char *key, const void *data, size_t n)
{
	struct emit_ctx *e = arg;
	const char *base = strrchr(key, '/');
	char path[1024];

	base = base ? base + 1 : key;
	if (strstr(base, ".avro") == NULL)
		return SW_OK;
	snprintf(path, sizeof(path), "%s/%s", e->dir, base);
	if (!write_file(path, data, n))
		return sw_seterr(SW_ERR_IO, "cannot write '%s'", path);
	files_add(e->files, path);
	return SW_OK;
}

/* Generate p's data files into tmpdir/sub. */
static int
generate(const struct gen_params *p, const char *sub, struct files *out)
{
	struct emit_ctx e;
	struct gen_stats st;
	char dir[512];
	sw_err rc;

	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, sub);
	mkdir(dir, 0700);
	e.dir = dir;
	e.files = out;
	rc = gen_run(p, emit_flat, &e, &st);
	if (rc != SW_OK) {
		diag("gen_run: %s", sw_errmsg());
		return 0;
	}
	out->records += st.records;
	return 1;
}

/* ---- independent readers ------------------------------------------------ */

/* same-records over in[from, to) -- outputs */
static int
same_records(const struct files *in, size_t from, size_t to,
    const char *const *outs, size_t nout)
{
	struct buf args = { 0 };
	size_t i;
	int rc;

	buf_puts(&args, "same-records");
	for (i = from; i < to; i++)
		buf_printf(&args, " '%s'", in->v[i]);
	buf_puts(&args, " --");
	for (i = 0; i < nout; i++)
		buf_printf(&args, " '%s'", outs[i]);
	rc = test_avro_tool(args.data, 0, NULL);
	buf_release(&args);
	return rc;
}

/* Records in path as avro-c's reader sees them; -1 when it fails. */
static int64_t
avro_c_count(const char *path)
{
	avro_file_reader_t r;
	avro_schema_t ws;
	avro_value_iface_t *iface;
	avro_value_t v;
	int64_t n = 0;
	int rval;

	if (avro_file_reader(path, &r) != 0) {
		diag("avro-c cannot open %s: %s", path, avro_strerror());
		return -1;
	}
	ws = avro_file_reader_get_writer_schema(r);
	iface = avro_generic_class_from_schema(ws);
	avro_generic_value_new(iface, &v);
	while ((rval = avro_file_reader_read_value(r, &v)) == 0) {
		n++;
		avro_value_reset(&v);
	}
	if (rval != EOF) {
		diag("avro-c: %s", avro_strerror());
		n = -1;
	}
	avro_value_decref(&v);
	avro_value_iface_decref(iface);
	avro_schema_decref(ws);
	avro_file_reader_close(r);
	return n;
}

/* The output's header as python3-avro sees it. */
static void
check_meta(const char *path, const char *what)
{
	struct buf out = { 0 }, args = { 0 };
	int okay;

	if (no_python != NULL) {
		skip("meta of the output", no_python);
		return;
	}
	buf_printf(&args, "meta '%s'", path);
	okay = test_avro_tool(args.data, 0, &out) == 0 &&
	    strstr(out.data, "codec snappy\n") != NULL &&
	    strstr(out.data, "name RawDatum\n") != NULL &&
	    strstr(out.data, "namespace amazon.aws.iot.sitewise.raw\n") !=
	    NULL &&
	    strstr(out.data, "fields seriesId,timeInSeconds,offsetInNanos,"
	    "quality,doubleValue,stringValue,integerValue,booleanValue,"
	    "jsonValue,recordVersion\n") != NULL;
	ok(okay, "%s: python3-avro sees snappy, RawDatum in "
	    "amazon.aws.iot.sitewise.raw, the fields in order", what);
	if (!okay)
		diag("%s", out.data ? out.data : "(no output)");
	buf_release(&out);
	buf_release(&args);
}

/* ---- merging ------------------------------------------------------------ */

/* The path a generated file must take: snappy + the canonical schema is
 * copied raw; the canonical schema with another codec recompressed; a
 * variant schema resolved.  Decided from the bytes: gen.c writes
 * variant 0 as ocf_rawdatum_schema itself. */
static enum merge_path
expected_path(const char *path)
{
	struct buf b = { 0 };
	enum merge_path p;
	int canonical, snappy;

	test_read_file(path, &b);
	canonical = b.len > 0 && memmem(b.data, b.len, ocf_rawdatum_schema,
	    strlen(ocf_rawdatum_schema)) != NULL;
	snappy = b.len > 0 && memmem(b.data, b.len, "avro.codec\x0csnappy",
	    17) != NULL;
	buf_release(&b);
	p = canonical ? (snappy ? MERGE_PATH_RAW : MERGE_PATH_RECOMPRESS) :
	    MERGE_PATH_RESOLVE;
	return p;
}

struct run {
	struct merge_stats total;
	size_t paths[4];        /* files per path */
	size_t wrong_path;      /* files that took another path than expected */
	size_t failed;
};

/* Inputs are given as file descriptors, or (from_mem) read into memory
 * first and given as bytes: both must merge to the same output. */
static int from_mem;

static sw_err
add_one(struct merge *m, const char *path, const char *name,
    struct merge_stats *st)
{
	struct buf b = { 0 };
	int fd;
	sw_err rc;

	if (from_mem) {
		test_read_file(path, &b);
		rc = merge_add_mem(m, b.data, b.len, name, st);
		buf_release(&b);
		return rc;
	}
	if ((fd = open(path, O_RDONLY)) < 0)
		return sw_seterr(SW_ERR_IO, "cannot open %s", path);
	rc = merge_add_file(m, fd, name, st);
	close(fd);
	return rc;
}

/* Merge in[from, to) into m; count what happened. */
static sw_err
add_files(struct merge *m, const struct files *in, size_t from, size_t to,
    struct run *run, int check_paths)
{
	struct merge_stats st;
	size_t i;
	sw_err rc;

	for (i = from; i < to; i++) {
		rc = add_one(m, in->v[i], in->v[i], &st);
		if (rc != SW_OK) {
			run->failed++;
			return rc;
		}
		run->paths[st.path]++;
		if (check_paths && st.path != expected_path(in->v[i])) {
			if (run->wrong_path++ == 0)
				diag("%s took path %d", in->v[i], st.path);
		}
	}
	return SW_OK;
}

/* Merge in[from, to) into a new file at out. */
static sw_err
merge_to(const struct files *in, size_t from, size_t to, const char *out,
    const unsigned char *sync, struct run *run, int check_paths)
{
	struct merge *m = NULL;
	int fd;
	sw_err rc;

	memset(run, 0, sizeof(*run));
	fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return sw_seterr(SW_ERR_IO, "cannot create %s", out);
	rc = merge_new(ocf_sink_fd, &fd, sync, &m);
	if (!rc && workers >= 0)
		merge_set_workers(m, workers);
	if (!rc) rc = add_files(m, in, from, to, run, check_paths);
	if (!rc) rc = merge_finish(m);
	if (m != NULL)
		merge_stats(m, &run->total);
	merge_free(m);
	close(fd);
	return rc;
}

/* Walk a whole container with our reader, checking every block. */
static int64_t
own_count(const char *path)
{
	struct ocf_reader *r = NULL;
	struct ocf_block b;
	struct buf d = { 0 };
	int64_t n = 0;
	int fd = open(path, O_RDONLY), got = 0;
	sw_err rc;

	if (fd < 0)
		return -1;
	rc = ocf_reader_open(fd, path, OCF_TO_EOF, NULL, &r);
	while (rc == SW_OK && (rc = ocf_reader_next(r, &b, &got)) == SW_OK &&
	    got) {
		rc = ocf_reader_decompress(r, &b, &d);
		if (!rc) rc = ocf_reader_check_count(r, &b, d.data, d.len);
		n += b.count;
	}
	if (rc != SW_OK) {
		diag("own reader: %s", sw_errmsg());
		n = -1;
	}
	ocf_reader_free(r);
	buf_release(&d);
	close(fd);
	return n;
}

/* ---- tests: reader ------------------------------------------------------ */

static sw_err
open_buf(const void *data, size_t n, const char *name, struct ocf_reader **r)
{
	char path[512];
	int fd;
	sw_err rc;

	snprintf(path, sizeof(path), "%s/reader.avro", tmpdir);
	if (!write_file(path, data, n))
		return SW_ERR_IO;
	fd = open(path, O_RDONLY);
	rc = ocf_reader_open(fd, name, OCF_TO_EOF, NULL, r);
	close(fd);   /* the header is read: enough for these tests */
	return rc;
}

static void
test_schema(void)
{
	static const struct {
		const char *json;
		const char *same;    /* another spelling; NULL: refused */
	} cases[] = {
		{ "\"string\"", "{\"type\":\"string\"}" },
		{ "{\"type\":\"int\",\"logicalType\":\"date\"}", "\"int\"" },
		{ " [ \"null\" , {\"type\":\"long\"} ] ", "[\"null\",\"long\"]" },
		{ "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"a.b\","
		  "\"doc\":\"x\",\"fields\":[{\"name\":\"f\",\"type\":\"R\","
		  "\"default\":null},{\"type\":{\"type\":\"enum\",\"name\":\"E\","
		  "\"symbols\":[\"A\",\"B\"]},\"name\":\"e\"},{\"name\":\"g\","
		  "\"type\":\"E\"},{\"name\":\"x\",\"type\":{\"type\":\"fixed\","
		  "\"name\":\"c.X\",\"size\":4}},{\"name\":\"m\",\"type\":"
		  "{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":"
		  "\"c.X\"}}}]}",
		  "{\"name\":\"a.b.R\",\"type\":\"record\",\"fields\":["
		  "{\"name\":\"f\",\"type\":\"a.b.R\"},{\"name\":\"e\",\"type\":"
		  "{\"name\":\"a.b.E\",\"type\":\"enum\",\"symbols\":[\"A\","
		  "\"B\"]}},{\"name\":\"g\",\"type\":\"a.b.E\"},{\"name\":\"x\","
		  "\"type\":{\"name\":\"c.X\",\"type\":\"fixed\",\"size\":4}},"
		  "{\"name\":\"m\",\"type\":{\"type\":\"map\",\"values\":"
		  "{\"type\":\"array\",\"items\":\"c.X\"}}}]}" },
		{ "\"nosuch\"", NULL },
		{ "[\"int\",\"int\"]", NULL },
		{ "[\"int\",[\"long\"]]", NULL },
		{ "{\"type\":\"record\",\"name\":\"1x\",\"fields\":[]}", NULL },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":"
		  "\"a\",\"type\":\"int\"},{\"name\":\"a\",\"type\":\"int\"}]}",
		  NULL },
		{ "{\"type\":\"record\",\"name\":\"R\"}", NULL },
		{ "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}",
		  NULL },
		{ "{\"type\":\"array\"}", NULL },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[]", NULL },
		{ "42", NULL },
	};
	struct ocf_schema *s = NULL, *s2 = NULL;
	const struct ocf_node *root;
	size_t i;
	sw_err rc;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rc = ocf_schema_parse(cases[i].json, strlen(cases[i].json), &s);
		if (cases[i].same == NULL) {
			ok(rc == SW_ERR_DATA && s == NULL, "schema %zu refused: "
			    "%s", i, sw_errmsg());
		} else if (rc != SW_OK) {
			ok(0, "schema %zu parses: %s", i, sw_errmsg());
		} else {
			rc = ocf_schema_parse(cases[i].same,
			    strlen(cases[i].same), &s2);
			ok(rc == SW_OK && ocf_schema_equal(s, s2) &&
			    ocf_schema_equal(s2, s), "schema %zu equals its "
			    "other spelling (avro-c's avro_schema_equal)%s%s",
			    i, rc ? ": " : "", rc ? sw_errmsg() : "");
			ocf_schema_free(s2);
			s2 = NULL;
		}
		if (i == 3 && s != NULL) {
			/* the tree built from avro-c's parse: full names,
			 * the recursive reference, the inherited namespace */
			root = ocf_schema_root(s);
			ok(root->type == OCF_RECORD && root->n == 5 &&
			    strcmp(root->name, "a.b.R") == 0 &&
			    root->fields[0].type == root &&
			    strcmp(root->fields[1].type->name, "a.b.E") == 0 &&
			    root->fields[1].type->n == 2 &&
			    root->fields[2].type == root->fields[1].type &&
			    strcmp(root->fields[3].type->name, "c.X") == 0 &&
			    root->fields[3].type->n == 4 &&
			    root->fields[4].type->items->items ==
			    root->fields[3].type, "the recursive schema's tree "
			    "from avro-c's parse: names, references, sizes");
		}
		ocf_schema_free(s);
		s = NULL;
	}

	/* the spec's own RawDatum text, spaced and reordered, equals it */
	{
		const char *spaced = "{ \"fields\": [ "
		    "{\"type\":\"string\",\"name\":\"seriesId\"}, "
		    "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
		    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
		    "{\"name\":\"quality\",\"type\":\"string\"},"
		    "{\"default\":null,\"name\":\"doubleValue\",\"type\":"
		    "[\"null\",\"double\"]},"
		    "{\"name\":\"stringValue\",\"type\":[\"null\",\"string\"]},"
		    "{\"name\":\"integerValue\",\"type\":[\"null\",\"int\"]},"
		    "{\"name\":\"booleanValue\",\"type\":[\"null\","
		    "{\"type\":\"boolean\"}]},"
		    "{\"name\":\"jsonValue\",\"type\":[\"null\",\"string\"]},"
		    "{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"]}],"
		    "\"name\":\"amazon.aws.iot.sitewise.raw.RawDatum\","
		    "\"type\":\"record\", \"doc\": \"spaced\" }";
		struct ocf_schema *a = NULL, *b = NULL;

		ocf_schema_parse(ocf_rawdatum_schema,
		    strlen(ocf_rawdatum_schema), &a);
		ocf_schema_parse(spaced, strlen(spaced), &b);
		ok(a != NULL && b != NULL && ocf_schema_equal(a, b),
		    "RawDatum respelled equals RawDatum");
		ocf_schema_free(a);
		ocf_schema_free(b);
	}
}

static void write_container(const char *path, const char *schema,
    const char *codec, const struct buf *records, int64_t count);
static sw_err merge_one(const char *path, const char *out,
    struct merge_stats *st);

/* RawDatum with field doubleValue of type t (a JSON type). */
static char *
rawdatum_with(const char *name, const char *t)
{
	struct buf b = { 0 };

	buf_printf(&b, "{\"type\":\"record\",\"name\":\"%s\",\"fields\":["
	    "{\"name\":\"seriesId\",\"type\":\"string\"},"
	    "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
	    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
	    "{\"name\":\"quality\",\"type\":\"string\"},"
	    "{\"name\":\"doubleValue\",\"type\":%s},"
	    "{\"name\":\"stringValue\",\"type\":[\"null\",\"string\"]},"
	    "{\"name\":\"integerValue\",\"type\":[\"null\",\"int\"]},"
	    "{\"name\":\"booleanValue\",\"type\":[\"null\",\"boolean\"]},"
	    "{\"name\":\"jsonValue\",\"type\":[\"null\",\"string\"]},"
	    "{\"name\":\"recordVersion\",\"type\":[\"null\",\"long\"]}]}",
	    name, t);
	return buf_detach(&b);
}

/*
 * avro-c 1.11.1's avro_schema_equal() walks its first argument's branches
 * and symbols only: ["null","double"] "equals" ["null","double","string"]
 * one way.  ocf_schema_equal asks both ways, so such a file is not taken
 * for RawDatum (its blocks copied as they are), but resolved.
 */
static void
test_schema_equal(void)
{
	static const char *const differ[][2] = {
		{ "[\"null\",\"long\"]", "[\"null\",\"long\",\"string\"]" },
		{ "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}",
		  "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\","
		  "\"B\"]}" },
		{ "{\"type\":\"record\",\"name\":\"R\",\"fields\":[{\"name\":"
		  "\"a\",\"type\":\"int\"}]}", "{\"type\":\"record\",\"name\":"
		  "\"R\",\"fields\":[{\"name\":\"a\",\"type\":\"int\"},"
		  "{\"name\":\"b\",\"type\":\"int\"}]}" },
		{ "{\"type\":\"record\",\"name\":\"a.R\",\"fields\":[]}",
		  "{\"type\":\"record\",\"name\":\"b.R\",\"fields\":[]}" },
	};
	struct ocf_schema *a = NULL, *b = NULL;
	char *wide, path[512], out[512];
	struct buf rec = { 0 };
	struct merge_stats st;
	size_t i;
	int k;
	sw_err rc;

	for (i = 0; i < sizeof(differ) / sizeof(differ[0]); i++) {
		ocf_schema_parse(differ[i][0], strlen(differ[i][0]), &a);
		ocf_schema_parse(differ[i][1], strlen(differ[i][1]), &b);
		ok(a != NULL && b != NULL && !ocf_schema_equal(a, b) &&
		    !ocf_schema_equal(b, a), "%s and %s differ both ways",
		    differ[i][0], differ[i][1]);
		ocf_schema_free(a);
		ocf_schema_free(b);
		a = b = NULL;
	}

	/* a snappy file of RawDatum whose doubleValue has a third branch */
	wide = rawdatum_with("amazon.aws.iot.sitewise.raw.RawDatum",
	    "[\"null\",\"double\",\"string\"]");
	for (k = 0; k < 3; k++) {
		enc_put_string(&rec, "series-1", 8);
		enc_put_long(&rec, 1646092800 + k);
		enc_put_long(&rec, 0);
		enc_put_string(&rec, "GOOD", 4);
		enc_put_union_index(&rec, 1);
		enc_put_double(&rec, k + 0.5);
		for (i = 0; i < 5; i++)
			enc_put_union_index(&rec, 0);
	}
	snprintf(path, sizeof(path), "%s/wide.avro", tmpdir);
	snprintf(out, sizeof(out), "%s/wide-out.avro", tmpdir);
	write_container(path, wide, "snappy", &rec, 3);
	rc = merge_one(path, out, &st);
	ok(rc == SW_OK && st.path == MERGE_PATH_RESOLVE &&
	    st.records_resolved == 3, "a RawDatum with a wider union is "
	    "resolved, not copied raw%s%s", rc ? ": " : "",
	    rc ? sw_errmsg() : "");
	is_int(avro_c_count(out), 3, "avro-c reads its 3 records");
	free(wide);
	buf_release(&rec);
}

/*
 * Schemas that avro-c would take badly are refused by the check in front
 * of it, with its message: a type defined twice (avro-c 1.11.1 leaks the
 * first one: the sanitizer build's LeakSanitizer would fail this test if
 * avro-c saw it), a union of two ints and a record with two fields of one
 * name (avro-c takes both), nesting deeper than 64 (avro-c recurses as
 * deep as the JSON), a schema over OCF_MAX_SCHEMA bytes.
 */
static void
test_schema_hostile(void)
{
	struct ocf_schema *s = NULL;
	struct buf b = { 0 };
	char *dup;
	int i;
	sw_err rc;

	dup = rawdatum_with("RawDatum", "[\"null\",{\"type\":\"fixed\","
	    "\"name\":\"F\",\"size\":8},{\"type\":\"fixed\",\"name\":\"F\","
	    "\"size\":4}]");
	rc = ocf_schema_parse(dup, strlen(dup), &s);
	ok(rc == SW_ERR_DATA && s == NULL && strstr(sw_errmsg(),
	    "type 'F' is defined twice") != NULL, "a type defined twice "
	    "refused before avro-c: %s", sw_errmsg());
	free(dup);

	for (i = 0; i < 100; i++)
		buf_puts(&b, "{\"type\":\"array\",\"items\":");
	buf_puts(&b, "\"int\"");
	for (i = 0; i < 100; i++)
		buf_putc(&b, '}');
	rc = ocf_schema_parse(b.data, b.len, &s);
	ok(rc == SW_ERR_DATA && s == NULL && strstr(sw_errmsg(),
	    "nested deeper than 64") != NULL, "100 nested arrays refused: ...%s",
	    strstr(sw_errmsg(), ": schema nested") ? strstr(sw_errmsg(),
	    ": schema nested") : sw_errmsg());

	b.len = 0;
	buf_puts(&b, "{\"type\":\"string\",\"doc\":\"");
	for (i = 0; i < OCF_MAX_SCHEMA / 64; i++)
		buf_puts(&b, "0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdef");
	buf_puts(&b, "\"}");
	rc = ocf_schema_parse(b.data, b.len, &s);
	ok(rc == SW_ERR_DATA && s == NULL && strstr(sw_errmsg(),
	    "more than") != NULL, "a schema over %d bytes refused: %s",
	    OCF_MAX_SCHEMA, sw_errmsg());
	buf_release(&b);
}

/* A container built by hand: header with the given metadata, then the
 * given raw bytes. */
static void
hand_header(struct buf *b, const char *codec, const char *schema,
    const unsigned char *sync)
{
	int n = (codec != NULL) + (schema != NULL) + 1;

	b->len = 0;
	buf_append(b, OCF_MAGIC, OCF_MAGIC_SIZE);
	enc_put_long(b, -n);          /* the block form, with a byte size */
	enc_put_long(b, 0);
	enc_put_string(b, "user.thing", 10);
	enc_put_bytes(b, "x", 1);
	if (codec != NULL) {
		enc_put_string(b, "avro.codec", 10);
		enc_put_bytes(b, codec, strlen(codec));
	}
	if (schema != NULL) {
		enc_put_string(b, "avro.schema", 11);
		enc_put_bytes(b, schema, strlen(schema));
	}
	enc_put_long(b, 0);
	buf_append(b, sync, OCF_SYNC_SIZE);
}

static void
test_reader_header(void)
{
	static const unsigned char sync[OCF_SYNC_SIZE] = "0123456789abcdef";
	struct ocf_reader *r = NULL;
	struct ocf_block blk;
	struct buf b = { 0 }, d = { 0 };
	int got = 1;
	sw_err rc;

	/* no codec: null; unknown keys ignored; a count-0 block is fine */
	hand_header(&b, NULL, "\"long\"", sync);
	enc_put_long(&b, 0);
	enc_put_long(&b, 0);
	buf_append(&b, sync, OCF_SYNC_SIZE);
	enc_put_long(&b, 2);
	enc_put_long(&b, 2);
	enc_put_long(&d, 5);
	enc_put_long(&d, -5);
	buf_append(&b, d.data, d.len);
	buf_append(&b, sync, OCF_SYNC_SIZE);
	rc = open_buf(b.data, b.len, "hand://a", &r);
	ok(rc == SW_OK && ocf_reader_codec(r) == OCF_CODEC_NULL &&
	    strcmp(ocf_reader_schema_json(r), "\"long\"") == 0 &&
	    memcmp(ocf_reader_sync(r), sync, OCF_SYNC_SIZE) == 0,
	    "hand-made header: absent codec is null, other keys ignored%s%s",
	    rc ? ": " : "", rc ? sw_errmsg() : "");
	ocf_reader_free(r);
	r = NULL;
	{
		char path[512];
		int fd, blocks = 0;
		int64_t recs = 0;

		snprintf(path, sizeof(path), "%s/reader.avro", tmpdir);
		fd = open(path, O_RDONLY);
		rc = ocf_reader_open(fd, "hand://a", OCF_TO_EOF, NULL, &r);
		while (rc == SW_OK && (rc = ocf_reader_next(r, &blk, &got)) ==
		    SW_OK && got) {
			rc = ocf_reader_decompress(r, &blk, &d);
			if (!rc) rc = ocf_reader_check_count(r, &blk, d.data,
			    d.len);
			blocks++;
			recs += blk.count;
		}
		ok(rc == SW_OK && blocks == 2 && recs == 2 &&
		    ocf_reader_offset(r) == b.len, "count-0 block then a block "
		    "of 2 longs: %d blocks, %" PRId64 " records", blocks, recs);
		ocf_reader_free(r);
		r = NULL;
		close(fd);
	}

	hand_header(&b, "zstandard", ocf_rawdatum_schema, sync);
	rc = open_buf(b.data, b.len, "hand://zstd", &r);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "'hand://zstd'") &&
	    strstr(sw_errmsg(), "codec 'zstandard'"),
	    "unknown codec refused: %s", sw_errmsg());

	hand_header(&b, "null", NULL, sync);
	rc = open_buf(b.data, b.len, "hand://noschema", &r);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "no avro.schema"),
	    "no schema refused: %s", sw_errmsg());

	hand_header(&b, "null", "{\"type\":", sync);
	rc = open_buf(b.data, b.len, "hand://badjson", &r);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "invalid avro.schema"),
	    "invalid schema JSON refused: %s", sw_errmsg());

	/* a header longer than the first read: the schema padded with
	 * white space to 300 KB */
	{
		struct buf big = { 0 };

		buf_puts(&big, ocf_rawdatum_schema);
		while (big.len < 300000)
			buf_putc(&big, ' ');
		hand_header(&b, "snappy", big.data, sync);
		rc = open_buf(b.data, b.len, "hand://big", &r);
		ok(rc == SW_OK && ocf_reader_header_size(r) == b.len,
		    "a 300 KB header is read whole%s%s", rc ? ": " : "",
		    rc ? sw_errmsg() : "");
		ocf_reader_free(r);
		r = NULL;
		buf_release(&big);
	}
	buf_release(&b);
	buf_release(&d);
}

/* ---- tests: merge of generated days -------------------------------------- */

static void
mixed_params(struct gen_params *p)
{
	gen_params_init(p);
	p->start_date = "2022-03-01";
	p->days = 1;
	p->series = 24;
	p->records_per_file = 60;
	p->seed = 11;
	p->disassociated_share = 0.25;
	p->legacy_id_share = 0.5;
	p->deflate_share = 0.25;
	p->null_share = 0.2;
	p->variant_schema_share = 0.3;
	p->bad_share = 0.3;
	p->uncertain_share = 0.2;
	p->asset_metadata = 0;
	p->block_size = 700;   /* several blocks per file */
}

static void
test_merge_mixed(void)
{
	static const unsigned char sync[OCF_SYNC_SIZE] = "merge-sync-mark!";
	struct gen_params p;
	struct files in = { 0 };
	struct run run;
	char out[512];
	const char *outs[1];
	struct buf ob = { 0 };
	int okay;
	sw_err rc;

	mixed_params(&p);
	okay = generate(&p, "mixed", &in);
	if (!ok(okay, "mixed day generated: %zu files, %" PRIu64 " records",
	    in.n, in.records))
		return;
	snprintf(out, sizeof(out), "%s/mixed.avro", tmpdir);
	outs[0] = out;
	rc = merge_to(&in, 0, in.n, out, sync, &run, 1);
	ok(rc == SW_OK, "merge of %zu files%s%s", in.n, rc ? ": " : "",
	    rc ? sw_errmsg() : "");
	diag("paths: %zu raw, %zu recompressed, %zu resolved; %" PRIu64
	    " blocks in, %" PRIu64 " raw, %" PRIu64 " recompressed, %" PRIu64
	    " records resolved, %" PRIu64 " blocks out, %" PRIu64 " -> %"
	    PRIu64 " bytes", run.paths[MERGE_PATH_RAW],
	    run.paths[MERGE_PATH_RECOMPRESS], run.paths[MERGE_PATH_RESOLVE],
	    run.total.blocks_in, run.total.blocks_raw,
	    run.total.blocks_recompressed, run.total.records_resolved,
	    run.total.blocks_out, run.total.bytes_in, run.total.bytes_out);
	ok(run.total.files == in.n && run.total.records == in.records,
	    "stats: every file and record (%" PRIu64 " of %" PRIu64 ")",
	    run.total.records, in.records);
	ok(run.paths[MERGE_PATH_RAW] > 0 && run.paths[MERGE_PATH_RECOMPRESS] >
	    0 && run.paths[MERGE_PATH_RESOLVE] > 0 && run.wrong_path == 0,
	    "snappy+RawDatum copied raw, other codecs recompressed, variant "
	    "schemas resolved (%zu files on another path)", run.wrong_path);
	ok(run.total.blocks_raw > 0 && run.total.records_resolved > 0 &&
	    run.total.blocks_out >= run.total.blocks_raw,
	    "block counters agree");
	test_read_file(out, &ob);
	ok(run.total.out_end == ob.len && run.total.bytes_out ==
	    ob.len - run.total.out_start &&
	    ob.len > 16 && memcmp(ob.data + ob.len - 16, sync, 16) == 0,
	    "output of %zu bytes ends with the chosen sync marker", ob.len);
	buf_release(&ob);

	/* the same merge without the helper thread: the same bytes */
	{
		char out0[512];
		struct buf ob0 = { 0 };
		struct run run0;

		snprintf(out0, sizeof(out0), "%s/mixed-nohelper.avro", tmpdir);
		workers = 0;
		rc = merge_to(&in, 0, in.n, out0, sync, &run0, 1);
		workers = -1;
		test_read_file(out, &ob);
		test_read_file(out0, &ob0);
		ok(rc == SW_OK && ob.len == ob0.len && ob.len > 0 &&
		    memcmp(ob.data, ob0.data, ob.len) == 0, "without the helper "
		    "thread: the same output, byte for byte");
		buf_release(&ob0);

		/* every input given as bytes in memory: the same bytes */
		snprintf(out0, sizeof(out0), "%s/mixed-mem.avro", tmpdir);
		from_mem = 1;
		rc = merge_to(&in, 0, in.n, out0, sync, &run0, 1);
		from_mem = 0;
		test_read_file(out0, &ob0);
		ok(rc == SW_OK && ob.len == ob0.len && ob.len > 0 &&
		    memcmp(ob.data, ob0.data, ob.len) == 0, "inputs in memory "
		    "(merge_add_mem): the same output, byte for byte%s%s",
		    rc ? ": " : "", rc ? sw_errmsg() : "");
		buf_release(&ob0);
		buf_release(&ob);
	}
	is_int(avro_c_count(out), (long long)in.records,
	    "avro-c reads every record of the output");
	is_int(own_count(out), (long long)in.records,
	    "our reader validates every block of the output");
	check_meta(out, "merged day");
	if (no_python != NULL)
		skip("same-records inputs -- output", no_python);
	else
		ok(same_records(&in, 0, in.n, outs, 1) == 0, "python3-avro: "
		    "the output holds the inputs' records, each once");
	files_free(&in);
}

/* Half the windows, then the other half appended to the same file. */
static void
test_append(void)
{
	struct gen_params p;
	struct files early = { 0 }, late = { 0 }, all = { 0 };
	struct merge *m = NULL;
	struct merge_stats ex, tot;
	struct run run;
	unsigned char sync0[OCF_SYNC_SIZE];
	char out[512];
	const char *outs[1];
	struct buf ob = { 0 };
	size_t i, size1;
	int fd;
	sw_err rc;

	mixed_params(&p);
	p.seed = 12;
	p.series = 12;
	p.last_window = 1;
	generate(&p, "early", &early);
	p.first_window = 2;
	p.last_window = 3;
	generate(&p, "late", &late);
	for (i = 0; i < early.n; i++)
		files_add(&all, early.v[i]);
	for (i = 0; i < late.n; i++)
		files_add(&all, late.v[i]);
	all.records = early.records + late.records;

	snprintf(out, sizeof(out), "%s/append.avro", tmpdir);
	outs[0] = out;
	rc = merge_to(&early, 0, early.n, out, NULL, &run, 0);
	ok(rc == SW_OK, "first merge (windows 0-1, %zu files)", early.n);
	test_read_file(out, &ob);
	size1 = ob.len;
	memcpy(sync0, ob.data + ob.len - OCF_SYNC_SIZE, OCF_SYNC_SIZE);

	fd = open(out, O_RDWR);
	rc = merge_open_append(fd, out, 0, 1, ocf_sink_fd, &fd, &m, &ex);
	ok(rc == SW_OK && ex.records == early.records &&
	    ex.out_end == size1 && lseek(fd, 0, SEEK_CUR) == (off_t)size1 &&
	    memcmp(merge_sync(m), sync0, OCF_SYNC_SIZE) == 0,
	    "open for append: %" PRIu64 " records, end %" PRIu64 ", its sync "
	    "marker kept%s%s", ex.records, ex.out_end, rc ? ": " : "",
	    rc ? sw_errmsg() : "");
	memset(&run, 0, sizeof(run));
	if (!rc) rc = add_files(m, &late, 0, late.n, &run, 0);
	if (!rc) rc = merge_finish(m);
	if (m != NULL)
		merge_stats(m, &tot);
	ok(rc == SW_OK && tot.records == late.records &&
	    tot.out_start == size1, "windows 2-3 appended (%zu files, %"
	    PRIu64 " records)%s%s", late.n, tot.records, rc ? ": " : "",
	    rc ? sw_errmsg() : "");
	merge_free(m);
	m = NULL;
	close(fd);

	is_int(avro_c_count(out), (long long)all.records,
	    "avro-c reads the extended day whole");
	is_int(own_count(out), (long long)all.records,
	    "our reader validates the extended day");
	if (no_python != NULL)
		skip("same-records all windows -- extended day", no_python);
	else
		ok(same_records(&all, 0, all.n, outs, 1) == 0, "python3-avro: "
		    "the extended day holds the records of all windows");

	/* a crashed append left half a block: end= ignores it, 0 refuses */
	test_read_file(out, &ob);
	size1 = ob.len;
	fd = open(out, O_WRONLY | O_APPEND);
	ok(write(fd, "\x02\x40garbage", 9) == 9, "half a block appended");
	close(fd);
	fd = open(out, O_RDONLY);
	rc = merge_open_append(fd, "day://x", 0, 0, ocf_sink_fd, &fd, &m, &ex);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "'day://x'") != NULL,
	    "append to a damaged day refused: %s", sw_errmsg());
	merge_free(m);
	m = NULL;
	lseek(fd, 0, SEEK_SET);
	rc = merge_open_append(fd, "day://x", size1, 0, ocf_sink_fd, &fd, &m,
	    &ex);
	ok(rc == SW_OK && ex.records == all.records && ex.out_end == size1,
	    "with its known end the damaged tail is ignored%s%s",
	    rc ? ": " : "", rc ? sw_errmsg() : "");
	merge_free(m);
	m = NULL;
	lseek(fd, 0, SEEK_SET);
	rc = merge_open_append(fd, "day://x", size1 - 5, 0, ocf_sink_fd, &fd,
	    &m, &ex);
	ok(rc == SW_ERR_DATA, "an end inside a block is refused: %s",
	    sw_errmsg());
	merge_free(m);
	m = NULL;
	close(fd);

	/* a generated input is not a day file: deflate or variant refused */
	for (i = 0; i < early.n; i++)
		if (expected_path(early.v[i]) != MERGE_PATH_RAW)
			break;
	if (i < early.n) {
		fd = open(early.v[i], O_RDONLY);
		rc = merge_open_append(fd, early.v[i], 0, 0, ocf_sink_fd, &fd,
		    &m, &ex);
		ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "not a day file"),
		    "append to a file that is not RawDatum+snappy refused: %s",
		    sw_errmsg());
		merge_free(m);
		m = NULL;
		close(fd);
	}
	buf_release(&ob);
	files_free(&early);
	files_free(&late);
	files_free(&all);
}

/* ---- tests: corrupt inputs ---------------------------------------------- */

/* Block framing of a container, walked independently of the reader. */
struct frame {
	size_t off;        /* the block's first byte */
	size_t data;       /* its data */
	int64_t count, size;
};

static int
frames(const struct buf *f, struct frame *v, int max)
{
	const unsigned char *p = (const unsigned char *)f->data;
	const unsigned char *end = p + f->len, *d;
	int64_t count, n;
	size_t dn;
	int nb = 0;

	p += OCF_MAGIC_SIZE;
	for (;;) {
		if (enc_get_long(&p, end, &count) != SW_OK)
			return -1;
		if (count == 0)
			break;
		if (count < 0) {
			count = -count;
			enc_get_long(&p, end, &n);
		}
		while (count-- > 0) {
			enc_get_bytes(&p, end, &d, &dn);
			enc_get_bytes(&p, end, &d, &dn);
		}
	}
	p += OCF_SYNC_SIZE;
	while (p < end && nb < max) {
		v[nb].off = (size_t)(p - (const unsigned char *)f->data);
		if (enc_get_long(&p, end, &v[nb].count) != SW_OK ||
		    enc_get_long(&p, end, &v[nb].size) != SW_OK)
			return -1;
		v[nb].data = (size_t)(p - (const unsigned char *)f->data);
		p += v[nb].size + OCF_SYNC_SIZE;
		nb++;
	}
	return nb;
}

/* A copy of f with block k's count and size replaced. */
static void
reframe(const struct buf *f, const struct frame *fr, int k, int64_t count,
    int64_t size, struct buf *out)
{
	out->len = 0;
	buf_append(out, f->data, fr[k].off);
	enc_put_long(out, count);
	enc_put_long(out, size);
	buf_append(out, f->data + fr[k].data, f->len - fr[k].data);
}

/* The first generated snappy file with the canonical schema and at least
 * three blocks, and one good file of another series. */
static int
pick_inputs(const struct files *in, const char **victim, const char **good)
{
	struct buf b = { 0 };
	struct frame fr[64];
	size_t i;

	*victim = *good = NULL;
	for (i = 0; i < in->n; i++) {
		if (expected_path(in->v[i]) != MERGE_PATH_RAW)
			continue;
		test_read_file(in->v[i], &b);
		if (*victim == NULL && frames(&b, fr, 64) >= 3)
			*victim = in->v[i];
		else if (*good == NULL)
			*good = in->v[i];
	}
	buf_release(&b);
	return *victim != NULL && *good != NULL;
}

/*
 * Merge good then the corrupt bytes (named name): the corrupt input must
 * fail with SW_ERR_DATA naming it and containing want; the merge must
 * refuse to finish while the failed input's blocks are in the output;
 * after a rollback the output (cut back) must be a valid container with
 * exactly good's records.
 */
static void
expect_corrupt(const char *what, const struct buf *bad, const char *want,
    const char *good, int64_t good_records)
{
	char bad_path[512], out[512], name[600];
	struct merge *m = NULL;
	struct merge_stats st;
	uint64_t cut = 0;
	int ofd, okay;
	sw_err rc, frc;

	snprintf(bad_path, sizeof(bad_path), "%s/corrupt.avro", tmpdir);
	snprintf(out, sizeof(out), "%s/corrupt-out.avro", tmpdir);
	snprintf(name, sizeof(name), "s3://bucket/raw/%s%s%s.avro", what,
	    workers == 0 ? "-no-helper" : "", from_mem ? "-in-memory" : "");
	write_file(bad_path, bad->data, bad->len);
	ofd = open(out, O_RDWR | O_CREAT | O_TRUNC, 0600);
	rc = merge_new(ocf_sink_fd, &ofd, NULL, &m);
	if (!rc && workers >= 0)
		merge_set_workers(m, workers);
	if (!rc) rc = add_one(m, good, good, NULL);
	if (rc != SW_OK) {
		ok(0, "%s: merging the good file first: %s", what, sw_errmsg());
		merge_free(m);
		close(ofd);
		return;
	}
	rc = add_one(m, bad_path, name, &st);
	okay = rc == SW_ERR_DATA && strstr(sw_errmsg(), name) != NULL &&
	    strstr(sw_errmsg(), want) != NULL;
	ok(okay, "%s: %s", what, sw_errmsg());
	if (!okay)
		diag("expected SW_ERR_DATA naming '%s' and saying '%s' (got %d)",
		    name, want, rc);
	frc = merge_finish(m);
	ok(frc != SW_OK || st.out_end == st.out_start, "%s: %s", what,
	    st.out_end == st.out_start ? "nothing of it was written" :
	    "finish refused while its blocks are in the output");
	if (st.out_end != st.out_start)
		diag("%" PRIu64 " bytes of it were written before the error",
		    st.out_end - st.out_start);
	if (frc != SW_OK) {
		rc = merge_rollback(m, &cut);
		if (!rc && (ftruncate(ofd, (off_t)cut) != 0 ||
		    lseek(ofd, (off_t)cut, SEEK_SET) < 0))
			rc = SW_ERR_IO;
		if (!rc) rc = merge_finish(m);
		ok(rc == SW_OK && cut == st.out_start, "%s: rolled back to "
		    "%" PRIu64 ", then finished", what, cut);
	}
	merge_free(m);
	close(ofd);
	ok(avro_c_count(out) == good_records && own_count(out) ==
	    good_records, "%s: the output holds the good input only", what);
}

static void
test_corrupt(void)
{
	struct gen_params p;
	struct files in = { 0 };
	struct buf f = { 0 }, bad = { 0 };
	struct frame fr[64];
	const char *victim, *good;
	int64_t good_records;
	int nb, k;

	mixed_params(&p);
	p.seed = 13;
	p.series = 8;
	p.records_per_file = 200;
	p.bad_share = 0;
	p.uncertain_share = 0;
	generate(&p, "corrupt", &in);
	if (!ok(pick_inputs(&in, &victim, &good), "a multi-block snappy file "
	    "and a good one to corrupt and merge")) {
		files_free(&in);
		return;
	}
	good_records = own_count(good);
	test_read_file(victim, &f);
	nb = frames(&f, fr, 64);
	k = nb / 2;   /* a block in the middle: earlier ones get written */
	diag("victim %s: %zu bytes, %d blocks", victim, f.len, nb);

	bad.len = 0;
	expect_corrupt("zero-length", &bad, "empty file", good, good_records);

	buf_append(&bad, f.data, f.len);
	bad.data[1] = 'X';
	expect_corrupt("bad-magic", &bad, "bad magic", good, good_records);

	bad.len = 0;
	buf_append(&bad, f.data, 40);
	expect_corrupt("truncated-header", &bad, "header", good,
	    good_records);

	bad.len = 0;
	buf_append(&bad, f.data, f.len - 7);
	expect_corrupt("truncated-block", &bad, "truncated", good,
	    good_records);

	bad.len = 0;
	buf_append(&bad, f.data, fr[k].data + (size_t)fr[k].size / 2);
	expect_corrupt("truncated-mid-block", &bad, "run past the end", good,
	    good_records);

	reframe(&f, fr, k, -fr[k].count, fr[k].size, &bad);
	expect_corrupt("negative-count", &bad, "negative record count", good,
	    good_records);

	reframe(&f, fr, k, fr[k].count, -fr[k].size, &bad);
	expect_corrupt("negative-size", &bad, "negative size", good,
	    good_records);

	reframe(&f, fr, k, INT64_C(1) << 40, fr[k].size, &bad);
	expect_corrupt("absurd-count", &bad, "absurd record count", good,
	    good_records);

	reframe(&f, fr, k, fr[k].count, INT64_C(1) << 40, &bad);
	expect_corrupt("absurd-size", &bad, "absurd size", good, good_records);

	reframe(&f, fr, k, fr[k].count + 1, fr[k].size, &bad);
	expect_corrupt("count-too-high", &bad, "its data holds", good,
	    good_records);

	reframe(&f, fr, k, fr[k].count - 1, fr[k].size, &bad);
	expect_corrupt("count-too-low", &bad, "left after", good,
	    good_records);

	bad.len = 0;
	buf_append(&bad, f.data, f.len);
	bad.data[fr[k].data + fr[k].size + 5] ^= 0x20;
	expect_corrupt("wrong-sync", &bad, "sync marker", good, good_records);

	bad.len = 0;
	buf_append(&bad, f.data, f.len);
	bad.data[fr[k].data + fr[k].size - 2] ^= 0x01;   /* in the CRC */
	expect_corrupt("crc-mismatch", &bad, "crc mismatch", good,
	    good_records);

	bad.len = 0;
	buf_append(&bad, f.data, f.len);
	buf_puts(&bad, "garbage\n");
	expect_corrupt("trailing-garbage", &bad, "trailing garbage", good,
	    good_records);

	bad.len = 0;
	buf_append(&bad, f.data, f.len);
	while (bad.len < f.len + 100)
		buf_puts(&bad, "more garbage ");
	expect_corrupt("trailing-garbage-long", &bad, "block", good,
	    good_records);

	/* a valid snappy block of other bytes: a record that does not walk */
	{
		struct buf blk = { 0 }, dat = { 0 };
		struct ocf_writer *w = NULL;
		const unsigned char *sync = (const unsigned char *)f.data +
		    fr[0].off - OCF_SYNC_SIZE;

		/* a record whose seriesId length runs past the block */
		enc_put_long(&dat, 1000);
		buf_puts(&dat, "short");
		ocf_writer_new(ocf_rawdatum_schema, "snappy", sync, 0,
		    buf_sink, &blk, &w);
		ocf_writer_append_block(w, 1, dat.data, dat.len);
		ocf_writer_finish(w);
		ocf_writer_free(w);
		bad.len = 0;
		buf_append(&bad, f.data, fr[k].off);
		buf_append(&bad, blk.data + fr[0].off, blk.len - fr[0].off);
		buf_append(&bad, f.data + fr[k + 1].off, f.len - fr[k + 1].off);
		expect_corrupt("bad-record", &bad, "record 1 of 1", good,
		    good_records);
		buf_release(&blk);
		buf_release(&dat);
	}
	buf_release(&f);
	buf_release(&bad);
	files_free(&in);
}

/* ---- tests: schemas ----------------------------------------------------- */

/* Write a null-codec file of schema with the given encoded records. */
static void
write_container(const char *path, const char *schema, const char *codec,
    const struct buf *records, int64_t count)
{
	struct buf b = { 0 };
	struct ocf_writer *w = NULL;

	if (ocf_writer_new(schema, codec, NULL, 0, buf_sink, &b, &w) ==
	    SW_OK && ocf_writer_append_block(w, count, records->data,
	    records->len) == SW_OK && ocf_writer_finish(w) == SW_OK)
		write_file(path, b.data, b.len);
	ocf_writer_free(w);
	buf_release(&b);
}

static sw_err
merge_one(const char *path, const char *out, struct merge_stats *st)
{
	struct merge *m = NULL;
	int fd, ofd;
	sw_err rc;

	ofd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	fd = open(path, O_RDONLY);
	rc = merge_new(ocf_sink_fd, &ofd, NULL, &m);
	if (!rc) rc = merge_add_file(m, fd, path, st);
	if (!rc) rc = merge_finish(m);
	merge_free(m);
	close(fd);
	close(ofd);
	return rc;
}

static void
test_refused_schemas(void)
{
	static const struct {
		const char *what, *schema, *want;
	} cases[] = {
		{ "a plain string schema", "\"string\"", "not a RawDatum record" },
		{ "an aggregate record", "{\"type\":\"record\",\"name\":"
		  "\"AggDatum\",\"namespace\":\"amazon.aws.iot.sitewise.agg\","
		  "\"fields\":[{\"name\":\"seriesId\",\"type\":\"string\"},"
		  "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
		  "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
		  "{\"name\":\"quality\",\"type\":\"string\"},"
		  "{\"name\":\"resolution\",\"type\":\"string\"},"
		  "{\"name\":\"average\",\"type\":[\"null\",\"double\"]}]}",
		  "not RawDatum" },
		{ "aggregate fields named RawDatum", "{\"type\":\"record\","
		  "\"name\":\"RawDatum\",\"fields\":[{\"name\":\"seriesId\","
		  "\"type\":\"string\"},{\"name\":\"timeInSeconds\",\"type\":"
		  "\"long\"},{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
		  "{\"name\":\"quality\",\"type\":\"string\"},{\"name\":"
		  "\"count\",\"type\":[\"null\",\"double\"]}]}",
		  "none of the value fields" },
		{ "RawDatum without quality", "{\"type\":\"record\",\"name\":"
		  "\"RawDatum\",\"fields\":[{\"name\":\"seriesId\",\"type\":"
		  "\"string\"},{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
		  "{\"name\":\"offsetInNanos\",\"type\":\"long\"},{\"name\":"
		  "\"doubleValue\",\"type\":[\"null\",\"double\"]}]}",
		  "no field 'quality'" },
		{ "a seriesId of int", "{\"type\":\"record\",\"name\":"
		  "\"RawDatum\",\"fields\":[{\"name\":\"seriesId\",\"type\":"
		  "\"int\"},{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
		  "{\"name\":\"offsetInNanos\",\"type\":\"long\"},{\"name\":"
		  "\"quality\",\"type\":\"string\"},{\"name\":\"doubleValue\","
		  "\"type\":[\"null\",\"double\"]}]}", "field 'seriesId' is int" },
		{ "an integerValue of long (no long->int)", "{\"type\":"
		  "\"record\",\"name\":\"RawDatum\",\"fields\":[{\"name\":"
		  "\"seriesId\",\"type\":\"string\"},{\"name\":\"timeInSeconds\","
		  "\"type\":\"long\"},{\"name\":\"offsetInNanos\",\"type\":"
		  "\"long\"},{\"name\":\"quality\",\"type\":\"string\"},"
		  "{\"name\":\"integerValue\",\"type\":\"long\"}]}",
		  "field 'integerValue'" },
	};
	char path[512], out[512];
	struct buf rec = { 0 };
	struct merge_stats st;
	size_t i;
	sw_err rc;

	snprintf(path, sizeof(path), "%s/refused.avro", tmpdir);
	snprintf(out, sizeof(out), "%s/refused-out.avro", tmpdir);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		/* records are never read: the header decides */
		rec.len = 0;
		enc_put_string(&rec, "x", 1);
		write_container(path, cases[i].schema, "null", &rec, 1);
		rc = merge_one(path, out, &st);
		ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), path) != NULL &&
		    strstr(sw_errmsg(), cases[i].want) != NULL &&
		    st.out_end == st.out_start, "%s refused: %s",
		    cases[i].what, sw_errmsg());
	}
	buf_release(&rec);
}

/* Writer schemas that resolve: promotions, extra fields, other orders,
 * nullable writer fields; checked against python3-avro's resolution. */
static void
test_resolution(void)
{
	static const char schema[] = "{\"type\":\"record\",\"name\":"
	    "\"x.y.RawDatum\",\"fields\":["
	    "{\"name\":\"extra\",\"type\":{\"type\":\"map\",\"values\":"
	    "{\"type\":\"array\",\"items\":\"string\"}}},"
	    "{\"name\":\"quality\",\"type\":\"string\"},"
	    "{\"name\":\"seriesId\",\"type\":\"string\"},"
	    "{\"name\":\"timeInSeconds\",\"type\":\"int\"},"
	    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
	    "{\"name\":\"doubleValue\",\"type\":[\"float\",\"null\"]},"
	    "{\"name\":\"integerValue\",\"type\":\"int\"},"
	    "{\"name\":\"more\",\"type\":[\"null\",{\"type\":\"record\","
	    "\"name\":\"M\",\"fields\":[{\"name\":\"a\",\"type\":{\"type\":"
	    "\"fixed\",\"name\":\"F\",\"size\":3}},{\"name\":\"e\",\"type\":"
	    "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"P\",\"Q\"]}}]}]},"
	    "{\"name\":\"recordVersion\",\"type\":\"int\"}]}";
	static const char nullable[] = "{\"type\":\"record\",\"name\":"
	    "\"RawDatum\",\"fields\":["
	    "{\"name\":\"seriesId\",\"type\":\"string\"},"
	    "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
	    "{\"name\":\"offsetInNanos\",\"type\":[\"null\",\"long\"]},"
	    "{\"name\":\"quality\",\"type\":\"string\"},"
	    "{\"name\":\"stringValue\",\"type\":\"bytes\"}]}";
	char path[512], out[512];
	const char *outs[1];
	struct files in = { 0 };
	struct buf rec = { 0 }, d = { 0 }, ob = { 0 };
	struct merge_stats st;
	int i;
	sw_err rc;

	snprintf(path, sizeof(path), "%s/resolve.avro", tmpdir);
	snprintf(out, sizeof(out), "%s/resolve-out.avro", tmpdir);
	outs[0] = out;
	for (i = 0; i < 50; i++) {
		enc_put_long(&rec, i % 3);               /* extra: map */
		if (i % 3) {
			enc_put_string(&rec, "k", 1);
			enc_put_long(&rec, -1);          /* sized block */
			enc_put_long(&rec, 4);
			enc_put_string(&rec, "abc", 3);
			enc_put_long(&rec, 0);
		}
		if (i % 3 == 2) {
			enc_put_string(&rec, "k2", 2);
			enc_put_long(&rec, 0);
		}
		if (i % 3)
			enc_put_long(&rec, 0);
		enc_put_string(&rec, i % 2 ? "GOOD" : "BAD", i % 2 ? 4 : 3);
		enc_put_string(&rec, "series-1", 8);
		enc_put_int(&rec, 1646092800 + i);
		enc_put_long(&rec, (int64_t)i * 1000);
		if (i % 4) {
			enc_put_union_index(&rec, 0);    /* float */
			enc_put_float(&rec, (float)i + 0.25f);
		} else {
			enc_put_union_index(&rec, 1);    /* null */
		}
		enc_put_int(&rec, -i);
		if (i % 5) {
			enc_put_union_index(&rec, 1);
			buf_append(&rec, "xyz", 3);
			enc_put_long(&rec, i % 2);
		} else {
			enc_put_union_index(&rec, 0);
		}
		enc_put_int(&rec, i);
	}
	write_container(path, schema, "deflate", &rec, 50);
	files_add(&in, path);
	rc = merge_one(path, out, &st);
	ok(rc == SW_OK && st.path == MERGE_PATH_RESOLVE &&
	    st.records_resolved == 50 && st.records == 50, "promotions, "
	    "another namespace and order, writer-only map/record fields: "
	    "resolved%s%s", rc ? ": " : "", rc ? sw_errmsg() : "");
	is_int(avro_c_count(out), 50, "avro-c reads the resolved records");
	if (no_python != NULL)
		skip("python3-avro resolves the same records", no_python);
	else
		ok(same_records(&in, 0, 1, outs, 1) == 0, "python3-avro "
		    "resolves the input to the same records");

	/* a nullable writer field read as a plain long: fine until a null */
	for (i = 0; i < 2; i++) {
		rec.len = 0;
		enc_put_string(&rec, "s", 1);
		enc_put_long(&rec, 7);
		enc_put_union_index(&rec, 1);
		enc_put_long(&rec, 8);
		enc_put_string(&rec, "GOOD", 4);
		enc_put_bytes(&rec, "v", 1);
		enc_put_string(&rec, "s", 1);
		enc_put_long(&rec, 9);
		enc_put_union_index(&rec, i ? 0 : 1);  /* null on run 2 */
		if (i == 0)
			enc_put_long(&rec, 10);
		enc_put_string(&rec, "GOOD", 4);
		enc_put_bytes(&rec, "w", 1);
		write_container(path, nullable, "null", &rec, 2);
		rc = merge_one(path, out, &st);
		if (i == 0) {
			test_read_file(out, &ob);
			d.len = 0;
			/* the second record as RawDatum encodes it */
			enc_put_string(&d, "s", 1);
			enc_put_long(&d, 9);
			enc_put_long(&d, 10);
			enc_put_string(&d, "GOOD", 4);
			enc_put_union_index(&d, 0);
			enc_put_union_index(&d, 1);
			enc_put_string(&d, "w", 1);
			enc_put_union_index(&d, 0);
			enc_put_union_index(&d, 0);
			enc_put_union_index(&d, 0);
			enc_put_union_index(&d, 0);
			ok(rc == SW_OK && st.records_resolved == 2 &&
			    avro_c_count(out) == 2, "[null,long] read as long, "
			    "bytes as string%s%s", rc ? ": " : "",
			    rc ? sw_errmsg() : "");
			/* snappy-compressed: check through our reader */
			{
				struct ocf_reader *r = NULL;
				struct ocf_block b;
				int fd = open(out, O_RDONLY), got = 0;

				ocf_reader_open(fd, out, OCF_TO_EOF, NULL, &r);
				if (r != NULL && ocf_reader_next(r, &b, &got) ==
				    SW_OK && got)
					ocf_reader_decompress(r, &b, &ob);
				ok(ob.len > d.len && memcmp(ob.data + ob.len -
				    d.len, d.data, d.len) == 0, "re-encoded in "
				    "RawDatum's order with null defaults");
				ocf_reader_free(r);
				close(fd);
			}
		} else {
			ok(rc == SW_ERR_DATA && strstr(sw_errmsg(),
			    "record 2") && strstr(sw_errmsg(),
			    "offsetInNanos"), "a null where RawDatum needs a "
			    "long: %s", sw_errmsg());
		}
	}
	buf_release(&rec);
	buf_release(&d);
	buf_release(&ob);
	files_free(&in);
}

/* ---- sink failure ------------------------------------------------------- */

static sw_err
failing_sink(void *arg, const void *p, size_t n)
{
	size_t *left = arg;

	(void)p;
	if (n > *left)
		return sw_seterr(SW_ERR_IO, "disk full");
	*left -= n;
	return SW_OK;
}

static void
test_sink_failure(void)
{
	struct gen_params p;
	struct files in = { 0 };
	struct merge *m = NULL;
	uint64_t cut;
	size_t left, i;
	int fd;
	sw_err rc;

	/* output is buffered: a sink failure shows when the buffer (1 MiB)
	 * is sent, in merge_add_file, or in merge_finish at the latest */
	mixed_params(&p);
	p.series = 40;
	p.records_per_file = 500;
	p.block_size = 0;
	p.seed = 14;
	generate(&p, "sinkfail", &in);
	left = 2000;
	rc = merge_new(failing_sink, &left, NULL, &m);
	for (i = 0; rc == SW_OK && i < in.n; i++) {
		fd = open(in.v[i], O_RDONLY);
		rc = merge_add_file(m, fd, in.v[i], NULL);
		close(fd);
	}
	ok(rc == SW_ERR_IO && strstr(sw_errmsg(), "disk full") && i < in.n,
	    "a failing sink fails merge_add_file (file %zu of %zu): %s", i,
	    in.n, sw_errmsg());
	ok(m != NULL && merge_rollback(m, &cut) != SW_OK &&
	    merge_finish(m) != SW_OK, "no rollback and no finish after it");
	merge_free(m);
	m = NULL;

	/* a sink that takes the header and fails at the end */
	left = 2000;
	rc = merge_new(failing_sink, &left, NULL, &m);
	fd = open(in.v[0], O_RDONLY);
	if (!rc) rc = merge_add_file(m, fd, in.v[0], NULL);
	close(fd);
	ok(rc == SW_OK, "one file merged into the buffer");
	rc = merge_finish(m);
	ok(rc == SW_ERR_IO && strstr(sw_errmsg(), "disk full") &&
	    merge_finish(m) != SW_OK, "the failure surfaces in merge_finish: "
	    "%s", sw_errmsg());
	merge_free(m);
	files_free(&in);
}

/* ---- benchmark ---------------------------------------------------------- */

static double
time_cat(const char *list, const char *out)
{
	char cmd[2048];
	double t0;

	snprintf(cmd, sizeof(cmd), "xargs -a '%s' cat > '%s'", list, out);
	t0 = now_mono();
	if (system(cmd) != 0)
		return -1;
	return now_mono() - t0;
}

static void
test_bench(void)
{
	const char *full = getenv("T_MERGE_BENCH");
	struct gen_params p;
	struct files in = { 0 };
	struct run run;
	char out[512], list[512], catout[512];
	double t0, tm = 1e9, tc = 1e9, t;
	uint64_t bytes = 0;
	struct stat sb;
	FILE *f;
	size_t i;
	int rep;

	gen_params_init(&p);
	p.series = full && *full == '1' ? 1200 : 120;
	p.records_per_file = 500;
	p.asset_metadata = 0;
	p.seed = 99;
	if (!generate(&p, "bench", &in))
		return;
	snprintf(list, sizeof(list), "%s/bench.list", tmpdir);
	snprintf(out, sizeof(out), "%s/bench-out.avro", tmpdir);
	snprintf(catout, sizeof(catout), "%s/bench-cat", tmpdir);
	f = fopen(list, "w");
	for (i = 0; i < in.n; i++) {
		fprintf(f, "%s\n", in.v[i]);
		if (stat(in.v[i], &sb) == 0)
			bytes += (uint64_t)sb.st_size;
	}
	fclose(f);
	for (rep = 0; rep < 3; rep++) {
		t = time_cat(list, catout);
		if (t >= 0 && t < tc)
			tc = t;
		t0 = now_mono();
		if (merge_to(&in, 0, in.n, out, NULL, &run, 0) != SW_OK) {
			ok(0, "benchmark merge: %s", sw_errmsg());
			files_free(&in);
			return;
		}
		t = now_mono() - t0;
		if (t < tm)
			tm = t;
	}
	ok(run.total.records == in.records && run.total.blocks_raw ==
	    run.total.blocks_in, "benchmark merge: %zu files, %" PRIu64
	    " records, all blocks copied raw", in.n, run.total.records);
	diag("%d series x 4 windows x 500 records: %zu files, %.1f MB; "
	    "merge %.3f s (%.0f MB/s, %.1f M records/s), cat %.3f s; "
	    "merge/cat time %.2f", p.series, in.n, bytes / 1e6, tm,
	    bytes / 1e6 / tm, in.records / 1e6 / tm, tc, tm / tc);
	files_free(&in);
}

/* ---- aggregates --------------------------------------------------------- */

/* AggDatum's schema, with its fields in another order, in another
 * namespace, an older writer's: no min, max nor recordVersion, count as a
 * long, average as [float, null], timeInSeconds as an int, and a
 * writer-only field.  (python3-avro does not promote bytes to string, so
 * that case stays with test_resolution().) */
static const char agg_variant[] = "{\"type\":\"record\",\"name\":"
    "\"com.example.export.AggDatum\",\"fields\":["
    "{\"name\":\"quality\",\"type\":\"string\"},"
    "{\"name\":\"seriesId\",\"type\":\"string\"},"
    "{\"name\":\"resolution\",\"type\":\"string\"},"
    "{\"name\":\"timeInSeconds\",\"type\":\"int\"},"
    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
    "{\"name\":\"note\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"count\",\"type\":\"long\"},"
    "{\"name\":\"sum\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"average\",\"type\":[\"float\",\"null\"]}]}";

/* An AggDatum-like record with the fields given (JSON), for refusals. */
static char *
aggdatum_with(const char *name, const char *fields)
{
	struct buf b = { 0 };

	buf_printf(&b, "{\"type\":\"record\",\"name\":\"%s\",\"fields\":["
	    "{\"name\":\"seriesId\",\"type\":\"string\"},"
	    "{\"name\":\"timeInSeconds\",\"type\":\"long\"},"
	    "{\"name\":\"offsetInNanos\",\"type\":\"long\"},"
	    "{\"name\":\"quality\",\"type\":\"string\"}%s%s]}", name,
	    *fields ? "," : "", fields);
	return buf_detach(&b);
}

/* Merge in's files into out as dataset ds. */
static sw_err
merge_ds_files(const struct merge_dataset *ds, const struct files *in,
    const char *out, struct run *run)
{
	struct merge *m = NULL;
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	sw_err rc;

	memset(run, 0, sizeof(*run));
	rc = merge_new_ds(ds, ocf_sink_fd, &fd, NULL, &m);
	if (!rc) rc = add_files(m, in, 0, in->n, run, 0);
	if (!rc) rc = merge_finish(m);
	if (m != NULL)
		merge_stats(m, &run->total);
	merge_free(m);
	close(fd);
	return rc;
}

static void
test_aggregates(void)
{
	struct gen_params p;
	struct files all = { 0 }, agg = { 0 }, one = { 0 };
	struct buf out = { 0 }, args = { 0 }, rec = { 0 };
	struct merge *m = NULL;
	struct merge_stats ex;
	struct merge_count *c = NULL;
	struct run run;
	char path[512], outp[512], bad[512];
	const char *outs[1];
	uint64_t total = 0;
	size_t i, n = 0;
	int fd, k, okay;
	char *sch;
	sw_err rc;

	gen_params_init(&p);
	p.series = 12;
	p.records_per_file = 60;
	p.bad_share = 0.3;
	p.uncertain_share = 0.3;
	p.aggregates = 1;
	p.asset_metadata = 0;
	if (!generate(&p, "agg", &all))
		return;
	for (i = 0; i < all.n; i++)
		if (strstr(all.v[i], "/agg_") != NULL)
			files_add(&agg, all.v[i]);
	snprintf(outp, sizeof(outp), "%s/agg-day.avro", tmpdir);
	outs[0] = outp;

	/* exact: every file copied block by block */
	rc = merge_ds_files(&merge_agg, &agg, outp, &run);
	ok(rc == SW_OK && run.paths[MERGE_PATH_RAW] == agg.n && agg.n > 40,
	    "aggregates: %zu agg files merged, every one copied raw%s%s",
	    agg.n, rc ? ": " : "", rc ? sw_errmsg() : "");
	ok(avro_c_count(outp) == (int64_t)run.total.records &&
	    own_count(outp) == (int64_t)run.total.records, "aggregates: "
	    "avro-c and our reader read the %llu records",
	    (unsigned long long)run.total.records);
	if (no_python != NULL) {
		skip("python3-avro: the same records", no_python);
		skip("python3-avro: the header", no_python);
	} else {
		ok(same_records(&agg, 0, agg.n, outs, 1) == 0, "aggregates: "
		    "python3-avro reads the same records from the inputs and "
		    "the day");
		buf_printf(&args, "meta '%s'", outp);
		okay = test_avro_tool(args.data, 0, &out) == 0 &&
		    strstr(out.data, "codec snappy\n") != NULL &&
		    strstr(out.data, "name AggDatum\n") != NULL &&
		    strstr(out.data, "namespace amazon.aws.iot.sitewise.agg\n")
		    != NULL && strstr(out.data, "fields seriesId,timeInSeconds,"
		    "offsetInNanos,quality,resolution,count,average,min,max,"
		    "sum,recordVersion\n") != NULL;
		ok(okay, "aggregates: python3-avro sees snappy, AggDatum in "
		    "amazon.aws.iot.sitewise.agg, the fields in order");
		if (!okay)
			diag("%s", out.data ? out.data : "(no output)");
	}

	/* the day file of aggregates as the cache and --adopt read it */
	fd = open(outp, O_RDONLY);
	rc = merge_series_counts_ds(&merge_agg, fd, outp, &c, &n);
	for (i = 0; rc == SW_OK && i < n; i++)
		total += c[i].records;
	ok(rc == SW_OK && n == 12 && total == run.total.records, "aggregates: "
	    "records per series of the day (%zu series)", n);
	merge_counts_free(c, n);
	lseek(fd, 0, SEEK_SET);
	rc = merge_series_counts(fd, outp, &c, &n);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "not a RawDatum file"),
	    "aggregates: not counted as RawDatum: %s", sw_errmsg());
	lseek(fd, 0, SEEK_SET);
	rc = merge_open_append_ds(NULL, fd, outp, 0, 1, ocf_sink_fd, &fd, &m,
	    &ex);
	ok(rc == SW_OK && ex.records == run.total.records, "aggregates: a day "
	    "file of either dataset continued (its schema says which)");
	merge_free(m);
	m = NULL;
	lseek(fd, 0, SEEK_SET);
	rc = merge_open_append(fd, outp, 0, 1, ocf_sink_fd, &fd, &m, &ex);
	ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "its schema is not "
	    "RawDatum"), "aggregates: not continued as a raw day: %s",
	    sw_errmsg());
	merge_free(m);
	close(fd);

	/* resolution: an older writer's schema, promotions, bytes */
	rec.len = 0;
	for (k = 0; k < 30; k++) {
		enc_put_string(&rec, k % 2 ? "GOOD" : "BAD", k % 2 ? 4 : 3);
		enc_put_string(&rec, "series-9", 8);
		enc_put_string(&rec, k % 3 ? "PT1M" : "PT1H", 4);
		enc_put_int(&rec, 1646092800 + 60 * k);
		enc_put_long(&rec, 0);
		enc_put_union_index(&rec, k % 4 ? 1 : 0);
		if (k % 4)
			enc_put_string(&rec, "n", 1);
		enc_put_long(&rec, k + 1);
		enc_put_union_index(&rec, k % 5 ? 1 : 0);
		if (k % 5)
			enc_put_double(&rec, k * 1.5);
		enc_put_union_index(&rec, k % 6 ? 0 : 1);
		if (k % 6)
			enc_put_float(&rec, (float)k / 4);
	}
	snprintf(path, sizeof(path), "%s/agg-variant.avro", tmpdir);
	write_container(path, agg_variant, "deflate", &rec, 30);
	files_add(&one, path);
	snprintf(outp, sizeof(outp), "%s/agg-variant-out.avro", tmpdir);
	rc = merge_ds_files(&merge_agg, &one, outp, &run);
	ok(rc == SW_OK && run.paths[MERGE_PATH_RESOLVE] == 1 &&
	    run.total.records_resolved == 30, "aggregates: another order and "
	    "namespace, missing fields, int->long, long->double, "
	    "float->double: resolved%s%s", rc ? ": " : "",
	    rc ? sw_errmsg() : "");
	if (no_python != NULL)
		skip("python3-avro resolves the same records", no_python);
	else
		ok(same_records(&one, 0, 1, outs, 1) == 0, "aggregates: "
		    "python3-avro resolves the older writer's file to the "
		    "same records");

	/* refusals, each naming the file */
	{
		static const struct {
			const char *what, *name, *fields, *want;
		} cases[] = {
			{ "a raw file", "amazon.aws.iot.sitewise.raw.RawDatum",
			  "{\"name\":\"doubleValue\",\"type\":[\"null\","
			  "\"double\"]}", "not an aggregate cold-tier file: "
			  "its schema is record 'amazon.aws.iot.sitewise.raw."
			  "RawDatum', not AggDatum" },
			{ "no resolution", "AggDatum", "{\"name\":\"count\","
			  "\"type\":[\"null\",\"double\"]}",
			  "has no field 'resolution'" },
			{ "no aggregate", "AggDatum", "{\"name\":"
			  "\"resolution\",\"type\":\"string\"},{\"name\":"
			  "\"doubleValue\",\"type\":[\"null\",\"double\"]}",
			  "none of the value fields (count, average, min, max, "
			  "sum)" },
			{ "a resolution of int", "AggDatum", "{\"name\":"
			  "\"resolution\",\"type\":\"int\"},{\"name\":\"sum\","
			  "\"type\":[\"null\",\"double\"]}", "field "
			  "'resolution' is int in the file, which cannot be "
			  "read as AggDatum's" },
			{ "a sum of string", "AggDatum", "{\"name\":"
			  "\"resolution\",\"type\":\"string\"},{\"name\":\"sum\","
			  "\"type\":\"string\"}", "field 'sum' is string" },
		};

		snprintf(bad, sizeof(bad), "%s/agg-refused.avro", tmpdir);
		for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			sch = aggdatum_with(cases[i].name, cases[i].fields);
			rec.len = 0;
			enc_put_string(&rec, "x", 1);
			write_container(bad, sch, "null", &rec, 1);
			free(sch);
			files_free(&one);
			files_add(&one, bad);
			rc = merge_ds_files(&merge_agg, &one, outp, &run);
			ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), bad) &&
			    strstr(sw_errmsg(), cases[i].want) &&
			    run.total.records == 0, "aggregates: %s refused: %s",
			    cases[i].what, sw_errmsg());
		}
		write_container(bad, "\"string\"", "null", &rec, 1);
		files_free(&one);
		files_add(&one, bad);
		rc = merge_ds_files(&merge_agg, &one, outp, &run);
		ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "not an AggDatum "
		    "record"), "aggregates: a string schema refused: %s",
		    sw_errmsg());
		/* and an aggregate file among raw ones */
		files_free(&one);
		files_add(&one, agg.v[0]);
		rc = merge_ds_files(&merge_raw, &one, outp, &run);
		ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), agg.v[0]) &&
		    strstr(sw_errmsg(), "not a raw cold-tier file"), "aggregates: "
		    "an agg file refused by the raw dataset: %s", sw_errmsg());
	}
	files_free(&one);
	files_free(&agg);
	files_free(&all);
	buf_release(&out);
	buf_release(&args);
	buf_release(&rec);
}

int
main(void)
{
	tmpdir = test_tmpdir("t_avro_merge");
	no_python = test_avro_tool_missing();

	test_schema();
	test_schema_equal();
	test_schema_hostile();
	test_reader_header();
	test_merge_mixed();
	test_append();
	test_corrupt();
	workers = 0;         /* again, every check in the merge's thread */
	test_corrupt();
	workers = -1;
	from_mem = 1;        /* again, each input given as bytes in memory */
	test_corrupt();
	from_mem = 0;
	test_refused_schemas();
	test_resolution();
	test_aggregates();
	test_sink_failure();
	test_bench();

	test_tmpdir_remove();
	return done_testing();
}
