/*
 * t_avro_ocf.c - Avro encoding helpers and the container writer.
 *
 * Files written here are read back by two independent implementations:
 * Debian's python3-avro (tests/integration/avro_tool.py, skipped when
 * /usr/bin/python3 lacks it) and avro-c's own file reader.
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
#include <unistd.h>

#include <avro.h>

#include "avro/ocf.h"
#include "base/util.h"
#include "tap.h"
#include "testlib.h"

static const char *tmpdir;
static const char *no_python;  /* why the python checks are skipped */

/* ---- encoding ----------------------------------------------------------- */

static void
test_long_roundtrip(void)
{
	static const int64_t vals[] = {
		0, 1, -1, 2, -2, 63, -64, 64, -65, 127, 128, 8191, -8192,
		INT32_MAX, INT32_MIN, (int64_t)INT32_MAX + 1,
		(int64_t)INT32_MIN - 1, INT64_C(1) << 40, -(INT64_C(1) << 40),
		INT64_MAX, INT64_MIN, INT64_MAX - 1, INT64_MIN + 1,
	};
	struct buf b = { 0 };
	const unsigned char *p, *end;
	uint64_t x = 0x243f6a8885a308d3ULL;
	int64_t got;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		enc_put_long(&b, vals[i]);
	for (i = 0; i < 20000; i++) {
		/* xorshift64: values of every magnitude */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		enc_put_long(&b, (int64_t)(x >> (i % 64)));
	}
	p = (const unsigned char *)b.data;
	end = p + b.len;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		if (enc_get_long(&p, end, &got) != SW_OK || got != vals[i]) {
			diag("value %" PRId64 " came back as %" PRId64, vals[i],
			    got);
			bad++;
		}
	}
	x = 0x243f6a8885a308d3ULL;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		if (enc_get_long(&p, end, &got) != SW_OK ||
		    got != (int64_t)(x >> (i % 64)))
			bad++;
	}
	ok(bad == 0 && p == end, "longs round trip (INT64_MIN/MAX, 20000 "
	    "random), %d bad", bad);
	buf_release(&b);
}

static int
encodes_as(int64_t v, const char *hex)
{
	unsigned char out[ENC_LONG_MAX_BYTES];
	char got[2 * ENC_LONG_MAX_BYTES + 1];
	size_t n = enc_encode_long(v, out);

	hex_encode(out, n, got);
	if (strcmp(got, hex) != 0) {
		diag("%" PRId64 ": got %s, expected %s", v, got, hex);
		return 0;
	}
	return 1;
}

static void
test_long_bytes(void)
{
	ok(encodes_as(0, "00") && encodes_as(-1, "01") && encodes_as(1, "02") &&
	    encodes_as(-64, "7f") && encodes_as(64, "8001") &&
	    encodes_as(INT32_MIN, "ffffffff0f") &&
	    encodes_as(INT64_MAX, "feffffffffffffffff01") &&
	    encodes_as(INT64_MIN, "ffffffffffffffffff01"),
	    "zigzag varints match the spec's bytes");
}

static void
test_long_rejects(void)
{
	static const unsigned char maxlong[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01
	};
	static const unsigned char bit65[] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02
	};
	static const unsigned char eleven[] = {
		0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00
	};
	struct buf b = { 0 };
	const unsigned char *p;
	int64_t v;
	int32_t i32;
	size_t n;
	int bad = 0;

	p = maxlong;
	ok(enc_get_long(&p, maxlong + 10, &v) == SW_OK && v == INT64_MIN &&
	    p == maxlong + 10, "10-byte long with the 64th bit accepted");
	for (n = 0; n < 10; n++) {
		p = maxlong;
		if (enc_get_long(&p, maxlong + n, &v) != SW_ERR_DATA ||
		    p != maxlong)
			bad++;
	}
	ok(bad == 0, "every truncation of a long rejected, cursor kept");
	p = bit65;
	ok(enc_get_long(&p, bit65 + 10, &v) == SW_ERR_DATA && p == bit65,
	    "long with a 65th bit rejected");
	p = eleven;
	ok(enc_get_long(&p, eleven + 11, &v) == SW_ERR_DATA && p == eleven,
	    "11-byte long rejected");
	ok(strstr(sw_errmsg(), "longer than 64 bits") != NULL,
	    "message says why: '%s'", sw_errmsg());

	enc_put_long(&b, (int64_t)INT32_MAX + 1);
	p = (const unsigned char *)b.data;
	ok(enc_get_int(&p, p + b.len, &i32) == SW_ERR_DATA,
	    "int out of int32 range rejected");
	b.len = 0;
	enc_put_int(&b, INT32_MIN);
	p = (const unsigned char *)b.data;
	ok(enc_get_int(&p, p + b.len, &i32) == SW_OK && i32 == INT32_MIN,
	    "INT32_MIN round trips as an int");
	buf_release(&b);
}

static void
test_other_types(void)
{
	static const unsigned char two = 2, neg = 1, long5[] = { 10, 'a' };
	static const unsigned char dbl[7] = { 0 };
	struct buf b = { 0 };
	const unsigned char *p, *end, *data;
	const char *s;
	double d, dvals[] = { 0.0, -0.0, 1.5, -1e308, 5e-324, 1.0 / 0.0 };
	float f;
	size_t n, k;
	int bv, good = 1;
	uint64_t u1, u2;

	for (k = 0; k < 6; k++)
		enc_put_double(&b, dvals[k]);
	enc_put_float(&b, 3.25f);
	enc_put_boolean(&b, 7);
	enc_put_boolean(&b, 0);
	enc_put_string(&b, "h\0llo", 5);
	enc_put_bytes(&b, "", 0);
	enc_put_union_index(&b, 1);
	p = (const unsigned char *)b.data;
	end = p + b.len;
	for (k = 0; k < 6; k++) {
		good &= enc_get_double(&p, end, &d) == SW_OK;
		memcpy(&u1, &d, 8);
		memcpy(&u2, &dvals[k], 8);
		good &= u1 == u2;
	}
	ok(good, "doubles round trip bit for bit");
	ok(enc_get_float(&p, end, &f) == SW_OK && f == 3.25f, "float");
	ok(enc_get_boolean(&p, end, &bv) == SW_OK && bv == 1 &&
	    enc_get_boolean(&p, end, &bv) == SW_OK && bv == 0, "booleans");
	ok(enc_get_string(&p, end, &s, &n) == SW_OK && n == 5 &&
	    memcmp(s, "h\0llo", 5) == 0, "string with a NUL");
	ok(enc_get_bytes(&p, end, &data, &n) == SW_OK && n == 0,
	    "empty bytes");
	ok(enc_get_union_index(&p, end, 2, &n) == SW_OK && n == 1 &&
	    p == end, "union index");
	ok(b.data[b.len] == '\0', "buffer stays NUL-terminated");

	/* malformed */
	p = &two;
	ok(enc_get_boolean(&p, &two + 1, &bv) == SW_ERR_DATA && p == &two,
	    "boolean byte 2 rejected");
	p = &two;
	ok(enc_get_union_index(&p, &two + 1, 1, &n) == SW_ERR_DATA,
	    "union branch past the union rejected");
	p = &neg;
	ok(enc_get_bytes(&p, &neg + 1, &data, &n) == SW_ERR_DATA && p == &neg,
	    "negative length rejected");
	p = long5;
	ok(enc_get_string(&p, long5 + 2, &s, &n) == SW_ERR_DATA && p == long5,
	    "length past the end rejected");
	p = dbl;
	ok(enc_get_double(&p, dbl + 7, &d) == SW_ERR_DATA && p == dbl,
	    "truncated double rejected");
	buf_release(&b);
}

/* ---- test records ------------------------------------------------------- */

/* Record i of the test data, encoded per RawDatum. */
static void
encode_record(int i, struct buf *b)
{
	char s[64];

	if (i % 3 == 0)
		snprintf(s, sizeof(s), "a\"b\\c-%d", i % 5);
	else
		snprintf(s, sizeof(s), "series-%d", i % 5);
	enc_put_string(b, s, strlen(s));
	enc_put_long(b, 1600000000 + (int64_t)i * 7);
	enc_put_long(b, ((int64_t)i * 1000003) % 1000000000);
	enc_put_string(b, i % 2 ? "BAD" : "GOOD", i % 2 ? 3 : 4);
	/* doubleValue, stringValue, integerValue, booleanValue, jsonValue */
	enc_put_union_index(b, i % 5 == 0);
	if (i % 5 == 0)
		enc_put_double(b, (i + 0.5) * (i % 2 ? -1 : 1));
	enc_put_union_index(b, i % 5 == 1);
	if (i % 5 == 1) {
		snprintf(s, sizeof(s), "s%d", i);
		enc_put_string(b, s, strlen(s));
	}
	enc_put_union_index(b, i % 5 == 2);
	if (i % 5 == 2)
		enc_put_int(b, i % 7 == 0 ? INT32_MIN : i * 1000);
	enc_put_union_index(b, i % 5 == 3);
	if (i % 5 == 3)
		enc_put_boolean(b, i & 1);
	enc_put_union_index(b, i % 5 == 4);
	if (i % 5 == 4) {
		snprintf(s, sizeof(s), "{\"k\":%d}", i);
		enc_put_string(b, s, strlen(s));
	}
	enc_put_union_index(b, i % 4 != 0);
	if (i % 4 != 0)
		enc_put_long(b, INT64_MAX - i);
}

/* Record i as avro_tool.py dump prints it (sorted keys, compact). */
static void
expect_json(int i, struct buf *b)
{
	buf_puts(b, "{\"booleanValue\":");
	if (i % 5 == 3)
		buf_puts(b, i & 1 ? "true" : "false");
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"doubleValue\":");
	if (i % 5 == 0)
		buf_printf(b, "%.1f", (i + 0.5) * (i % 2 ? -1 : 1));
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"integerValue\":");
	if (i % 5 == 2)
		buf_printf(b, "%d", i % 7 == 0 ? INT32_MIN : i * 1000);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"jsonValue\":");
	if (i % 5 == 4)
		buf_printf(b, "\"{\\\"k\\\":%d}\"", i);
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"offsetInNanos\":%" PRId64 ",\"quality\":\"%s\"",
	    ((int64_t)i * 1000003) % 1000000000, i % 2 ? "BAD" : "GOOD");
	buf_puts(b, ",\"recordVersion\":");
	if (i % 4 != 0)
		buf_printf(b, "%" PRId64, INT64_MAX - i);
	else
		buf_puts(b, "null");
	if (i % 3 == 0)
		buf_printf(b, ",\"seriesId\":\"a\\\"b\\\\c-%d\"", i % 5);
	else
		buf_printf(b, ",\"seriesId\":\"series-%d\"", i % 5);
	buf_puts(b, ",\"stringValue\":");
	if (i % 5 == 1)
		buf_printf(b, "\"s%d\"", i);
	else
		buf_puts(b, "null");
	buf_printf(b, ",\"timeInSeconds\":%" PRId64 "}\n",
	    1600000000 + (int64_t)i * 7);
}

static const unsigned char fixed_sync[OCF_SYNC_SIZE] = {
	0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
};

/* Write records first..first+n-1 to out, one datum at a time. */
static sw_err
write_records(const char *codec, int n, size_t block_size,
    const unsigned char *sync, struct buf *out)
{
	struct ocf_writer *w = NULL;
	struct buf d = { 0 };
	sw_err rc;
	int i;

	rc = ocf_writer_new(ocf_rawdatum_schema, codec, sync, block_size,
	    buf_sink, out, &w);
	for (i = 0; i < n && rc == SW_OK; i++) {
		d.len = 0;
		encode_record(i, &d);
		rc = ocf_writer_append(w, d.data, d.len);
	}
	if (rc == SW_OK)
		rc = ocf_writer_finish(w);
	ocf_writer_free(w);
	buf_release(&d);
	return rc;
}

static int
save(const char *name, const struct buf *b, char *path, size_t pathlen)
{
	FILE *f;
	int okay;

	snprintf(path, pathlen, "%s/%s", tmpdir, name);
	f = fopen(path, "wb");
	if (f == NULL)
		return 0;
	okay = fwrite(b->data, 1, b->len, f) == b->len;
	return fclose(f) == 0 && okay;
}

/* Compare dump output with the expected lines; say where they part. */
static int
same_text(const struct buf *got, const struct buf *want, const char *name)
{
	size_t i, line = 1, ls = 0;

	if (got->len == want->len && (got->len == 0 ||
	    memcmp(got->data, want->data, got->len) == 0))
		return ok(1, "%s", name);
	for (i = 0; i < got->len && i < want->len &&
	    got->data[i] == want->data[i]; i++)
		if (got->data[i] == '\n') {
			line++;
			ls = i + 1;
		}
	ok(0, "%s", name);
	diag("first difference on line %zu", line);
	diag("     got: %.200s", got->data ? got->data + ls : "");
	diag("expected: %.200s", want->data + ls);
	return 0;
}

/* Read path with avro-c and check record i's fields. */
static int
check_with_avro_c(const char *path, int n, int64_t *nread)
{
	avro_file_reader_t r;
	avro_schema_t ws;
	avro_value_iface_t *iface;
	avro_value_t v, f, br;
	const char *s;
	size_t sz;
	int64_t l;
	int32_t i32;
	double d;
	int disc, rval, i = 0, bad = 0, b;

	*nread = 0;
	if (avro_file_reader(path, &r) != 0) {
		diag("avro-c cannot open %s: %s", path, avro_strerror());
		return 0;
	}
	ws = avro_file_reader_get_writer_schema(r);
	iface = avro_generic_class_from_schema(ws);
	avro_generic_value_new(iface, &v);
	while ((rval = avro_file_reader_read_value(r, &v)) == 0) {
		char want[64];

		if (i % 3 == 0)
			snprintf(want, sizeof(want), "a\"b\\c-%d", i % 5);
		else
			snprintf(want, sizeof(want), "series-%d", i % 5);
		avro_value_get_by_name(&v, "seriesId", &f, NULL);
		avro_value_get_string(&f, &s, &sz);
		bad += strcmp(s, want) != 0;
		avro_value_get_by_name(&v, "timeInSeconds", &f, NULL);
		avro_value_get_long(&f, &l);
		bad += l != 1600000000 + (int64_t)i * 7;
		avro_value_get_by_name(&v, "offsetInNanos", &f, NULL);
		avro_value_get_long(&f, &l);
		bad += l != ((int64_t)i * 1000003) % 1000000000;
		avro_value_get_by_name(&v, "quality", &f, NULL);
		avro_value_get_string(&f, &s, &sz);
		bad += strcmp(s, i % 2 ? "BAD" : "GOOD") != 0;

		avro_value_get_by_name(&v, "doubleValue", &f, NULL);
		avro_value_get_discriminant(&f, &disc);
		bad += disc != (i % 5 == 0);
		if (disc) {
			avro_value_get_current_branch(&f, &br);
			avro_value_get_double(&br, &d);
			bad += d != (i + 0.5) * (i % 2 ? -1 : 1);
		}
		avro_value_get_by_name(&v, "stringValue", &f, NULL);
		avro_value_get_discriminant(&f, &disc);
		bad += disc != (i % 5 == 1);
		if (disc) {
			avro_value_get_current_branch(&f, &br);
			avro_value_get_string(&br, &s, &sz);
			snprintf(want, sizeof(want), "s%d", i);
			bad += strcmp(s, want) != 0;
		}
		avro_value_get_by_name(&v, "integerValue", &f, NULL);
		avro_value_get_discriminant(&f, &disc);
		bad += disc != (i % 5 == 2);
		if (disc) {
			avro_value_get_current_branch(&f, &br);
			avro_value_get_int(&br, &i32);
			bad += i32 != (i % 7 == 0 ? INT32_MIN : i * 1000);
		}
		avro_value_get_by_name(&v, "booleanValue", &f, NULL);
		avro_value_get_discriminant(&f, &disc);
		bad += disc != (i % 5 == 3);
		if (disc) {
			avro_value_get_current_branch(&f, &br);
			avro_value_get_boolean(&br, &b);
			bad += b != (i & 1);
		}
		avro_value_get_by_name(&v, "jsonValue", &f, NULL);
		avro_value_get_discriminant(&f, &disc);
		bad += disc != (i % 5 == 4);
		if (disc) {
			avro_value_get_current_branch(&f, &br);
			avro_value_get_string(&br, &s, &sz);
			snprintf(want, sizeof(want), "{\"k\":%d}", i);
			bad += strcmp(s, want) != 0;
		}
		avro_value_get_by_name(&v, "recordVersion", &f, NULL);
		avro_value_get_discriminant(&f, &disc);
		bad += disc != (i % 4 != 0);
		if (disc) {
			avro_value_get_current_branch(&f, &br);
			avro_value_get_long(&br, &l);
			bad += l != INT64_MAX - i;
		}
		if (bad) {
			diag("avro-c: record %d differs", i);
			break;
		}
		i++;
		avro_value_reset(&v);
	}
	if (rval != 0 && rval != EOF && !bad) {
		diag("avro-c: %s", avro_strerror());
		bad++;
	}
	avro_value_decref(&v);
	avro_value_iface_decref(iface);
	avro_schema_decref(ws);
	avro_file_reader_close(r);
	*nread = i;
	return bad == 0 && i == n;
}

/* ---- container tests ---------------------------------------------------- */

static void
check_file(const char *name, const struct buf *file, int n, const char *codec,
    int multi_block)
{
	char path[512], args[1024], label[128];
	struct buf out = { 0 }, want = { 0 };
	const char *txt;
	int64_t nread;
	int i, st, read_ok;

	if (!save(name, file, path, sizeof(path))) {
		ok(0, "%s: saved", name);
		return;
	}
	read_ok = check_with_avro_c(path, n, &nread);
	ok(read_ok, "%s: avro-c reads the %d records back (read %" PRId64 ")",
	    name, n, nread);
	if (no_python != NULL) {
		skip("python3-avro dump", no_python);
		return;
	}
	for (i = 0; i < n; i++)
		expect_json(i, &want);
	snprintf(args, sizeof(args), "dump '%s'", path);
	st = test_avro_tool(args, 0, &out);
	snprintf(label, sizeof(label), "%s: python3-avro dumps the records "
	    "that were encoded (exit %d)", name, st);
	same_text(&out, &want, label);
	snprintf(args, sizeof(args), "meta '%s'", path);
	test_avro_tool(args, 0, &out);
	txt = out.data ? out.data : "";
	snprintf(label, sizeof(label), "codec %s\n", codec);
	ok(strstr(txt, label) != NULL &&
	    strstr(txt, "name RawDatum\nnamespace amazon.aws.iot.sitewise."
	    "raw\nfields seriesId,timeInSeconds,offsetInNanos,quality,"
	    "doubleValue,stringValue,integerValue,booleanValue,jsonValue,"
	    "recordVersion\nsync 00112233445566778899aabbccddeeff\n") != NULL,
	    "%s: meta shows codec, schema and the given sync marker", name);
	if (multi_block)
		ok(strstr(txt, "blocks ") != NULL &&
		    strstr(txt, "blocks 1\n") == NULL &&
		    strstr(txt, "blocks 0\n") == NULL,
		    "%s: several blocks", name);
	buf_release(&out);
	buf_release(&want);
}

static void
test_codecs(void)
{
	static const char *const codecs[] = { "null", "deflate", "snappy" };
	struct buf file = { 0 }, again = { 0 };
	char name[64];
	size_t i;

	for (i = 0; i < 3; i++) {
		file.len = 0;
		ok(write_records(codecs[i], 1, 0, fixed_sync, &file) == SW_OK,
		    "%s: one record written", codecs[i]);
		snprintf(name, sizeof(name), "one-%s.avro", codecs[i]);
		check_file(name, &file, 1, codecs[i], 0);

		file.len = 0;
		ok(write_records(codecs[i], 500, 1000, fixed_sync, &file) ==
		    SW_OK, "%s: 500 records in 1000-byte blocks", codecs[i]);
		snprintf(name, sizeof(name), "multi-%s.avro", codecs[i]);
		check_file(name, &file, 500, codecs[i], 1);

		again.len = 0;
		write_records(codecs[i], 500, 1000, fixed_sync, &again);
		ok(file.len == again.len && memcmp(file.data, again.data,
		    file.len) == 0, "%s: same input and sync, same bytes",
		    codecs[i]);
	}
	file.len = 0;
	ok(write_records("snappy", 0, 0, fixed_sync, &file) == SW_OK,
	    "an empty container");
	check_file("empty.avro", &file, 0, "snappy", 0);
	buf_release(&file);
	buf_release(&again);
}

static void
test_random_sync(void)
{
	struct buf a = { 0 }, b = { 0 };

	write_records("null", 3, 0, NULL, &a);
	write_records("null", 3, 0, NULL, &b);
	ok(a.len == b.len && a.len > 40 && memcmp(a.data, b.data, a.len - 16)
	    != 0, "NULL sync: two containers get different random markers");
	buf_release(&a);
	buf_release(&b);
}

/*
 * A minimal container walk for the tests: header checks, then each
 * block's count, data and marker.  Uses the decoders the container reader
 * will use.
 */
struct walked {
	int blocks;
	int64_t counts[64];
	const unsigned char *data[64];
	size_t sizes[64];
	const unsigned char *header_end;
};

static int
walk(const struct buf *file, const char *codec, struct walked *wk)
{
	const unsigned char *p = (const unsigned char *)file->data;
	const unsigned char *end = p + file->len, *sync, *v;
	const char *k;
	int64_t n, count, size;
	size_t kn, vn;
	int saw_codec = 0;

	memset(wk, 0, sizeof(*wk));
	if (file->len < 4 || memcmp(p, OCF_MAGIC, 4) != 0)
		return 0;
	p += 4;
	if (enc_get_long(&p, end, &n) != SW_OK || n != 2)
		return 0;
	while (n-- > 0) {
		if (enc_get_string(&p, end, &k, &kn) != SW_OK ||
		    enc_get_bytes(&p, end, &v, &vn) != SW_OK)
			return 0;
		if (kn == 10 && memcmp(k, "avro.codec", 10) == 0)
			saw_codec = vn == strlen(codec) &&
			    memcmp(v, codec, vn) == 0;
	}
	if (enc_get_long(&p, end, &n) != SW_OK || n != 0 || !saw_codec ||
	    end - p < OCF_SYNC_SIZE)
		return 0;
	sync = p;
	p += OCF_SYNC_SIZE;
	wk->header_end = p;
	while (p < end && wk->blocks < 64) {
		if (enc_get_long(&p, end, &count) != SW_OK ||
		    enc_get_long(&p, end, &size) != SW_OK || size < 0 ||
		    end - p < size + OCF_SYNC_SIZE)
			return 0;
		wk->counts[wk->blocks] = count;
		wk->data[wk->blocks] = p;
		wk->sizes[wk->blocks] = (size_t)size;
		wk->blocks++;
		p += size;
		if (memcmp(p, sync, OCF_SYNC_SIZE) != 0)
			return 0;
		p += OCF_SYNC_SIZE;
	}
	return p == end;
}

static void
test_blocks(void)
{
	static const char *const codecs[] = { "null", "deflate", "snappy" };
	struct buf ref = { 0 }, body = { 0 }, out = { 0 }, plain = { 0 };
	struct ocf_writer *w;
	struct walked wk;
	enum ocf_codec cc;
	char name[64];
	size_t c;
	int i, b, first, decoded;

	for (c = 0; c < 3; c++) {
		const char *codec = codecs[c];

		ocf_codec_parse(codec, &cc);

		/* the reference: 300 records in ~600-byte blocks */
		ref.len = 0;
		write_records(codec, 300, 600, fixed_sync, &ref);
		i = walk(&ref, codec, &wk);
		ok(i && wk.blocks > 3,
		    "%s: container walks with the decoders (%d blocks)",
		    codec, wk.blocks);

		/* decompress each block and decode its records */
		decoded = 1;
		for (b = 0, first = 0; b < wk.blocks && decoded; b++) {
			struct buf d = { 0 };

			decoded = ocf_decompress(cc, wk.data[b], wk.sizes[b],
			    1 << 20, &plain) == SW_OK;
			for (i = 0; i < wk.counts[b]; i++)
				encode_record(first + i, &d);
			decoded = decoded && d.len == plain.len &&
			    memcmp(d.data, plain.data, d.len) == 0;
			first += (int)wk.counts[b];
			buf_release(&d);
		}
		ok(decoded && first == 300, "%s: ocf_decompress gives back "
		    "each block's encoded records", codec);

		/* re-frame: the same blocks through append_block ... */
		out.len = 0;
		ocf_writer_new(ocf_rawdatum_schema, codec, fixed_sync, 600,
		    buf_sink, &out, &w);
		for (b = 0; b < wk.blocks; b++) {
			ocf_decompress(cc, wk.data[b], wk.sizes[b], 1 << 20,
			    &plain);
			ocf_writer_append_block(w, wk.counts[b], plain.data,
			    plain.len);
		}
		ok(ocf_writer_finish(w) == SW_OK && out.len == ref.len &&
		    memcmp(out.data, ref.data, ref.len) == 0,
		    "%s: append_block of decoded blocks rebuilds the same "
		    "bytes", codec);
		ocf_writer_free(w);

		/* ... and through append_raw_block, untouched */
		out.len = 0;
		ocf_writer_new(ocf_rawdatum_schema, codec, fixed_sync, 600,
		    buf_sink, &out, &w);
		for (b = 0; b < wk.blocks; b++)
			ocf_writer_append_raw_block(w, wk.counts[b],
			    wk.data[b], wk.sizes[b]);
		ok(ocf_writer_finish(w) == SW_OK && out.len == ref.len &&
		    memcmp(out.data, ref.data, ref.len) == 0,
		    "%s: append_raw_block copies blocks byte for byte", codec);
		ocf_writer_free(w);

		/* mixed: datums, then one big block, then datums again */
		out.len = 0;
		body.len = 0;
		ocf_writer_new(ocf_rawdatum_schema, codec, fixed_sync, 600,
		    buf_sink, &out, &w);
		for (i = 0; i < 10; i++) {
			plain.len = 0;
			encode_record(i, &plain);
			ocf_writer_append(w, plain.data, plain.len);
		}
		for (i = 10; i < 250; i++)
			encode_record(i, &body);
		ocf_writer_append_block(w, 240, body.data, body.len);
		for (i = 250; i < 300; i++) {
			plain.len = 0;
			encode_record(i, &plain);
			ocf_writer_append(w, plain.data, plain.len);
		}
		ocf_writer_finish(w);
		ocf_writer_free(w);
		ok(walk(&out, codec, &wk) && wk.counts[1] == 240,
		    "%s: append_block ends the open block and keeps its count",
		    codec);
		snprintf(name, sizeof(name), "mixed-%s.avro", codec);
		check_file(name, &out, 300, codec, 1);
	}
	buf_release(&ref);
	buf_release(&body);
	buf_release(&out);
	buf_release(&plain);
}

static void
test_decompress_errors(void)
{
	struct buf file = { 0 }, plain = { 0 };
	struct walked wk;
	enum ocf_codec c;
	unsigned char *copy;

	write_records("snappy", 50, 0, fixed_sync, &file);
	walk(&file, "snappy", &wk);
	copy = malloc(wk.sizes[0]);
	memcpy(copy, wk.data[0], wk.sizes[0]);
	copy[wk.sizes[0] - 1] ^= 1;
	ok(ocf_decompress(OCF_CODEC_SNAPPY, copy, wk.sizes[0], 1 << 20,
	    &plain) == SW_ERR_DATA && strstr(sw_errmsg(), "crc") != NULL,
	    "snappy crc mismatch detected");
	ok(ocf_decompress(OCF_CODEC_SNAPPY, wk.data[0], wk.sizes[0], 100,
	    &plain) == SW_ERR_DATA, "snappy output limit enforced");
	ok(ocf_decompress(OCF_CODEC_SNAPPY, copy, 3, 1 << 20, &plain) ==
	    SW_ERR_DATA, "snappy block shorter than its crc rejected");
	free(copy);

	file.len = 0;
	write_records("deflate", 50, 0, fixed_sync, &file);
	walk(&file, "deflate", &wk);
	ok(ocf_decompress(OCF_CODEC_DEFLATE, wk.data[0], wk.sizes[0] / 2,
	    1 << 20, &plain) == SW_ERR_DATA, "truncated deflate rejected");
	ok(ocf_decompress(OCF_CODEC_DEFLATE, wk.data[0], wk.sizes[0], 100,
	    &plain) == SW_ERR_DATA, "deflate output limit enforced");

	ok(ocf_codec_parse("zstandard", &c) == SW_ERR_DATA &&
	    strstr(sw_errmsg(), "'zstandard'") != NULL,
	    "unknown codec named in the error");
	buf_release(&file);
	buf_release(&plain);
}

static int sink_calls;

static sw_err
failing_sink(void *arg, const void *p, size_t n)
{
	(void)arg;
	(void)p;
	(void)n;
	if (++sink_calls > 1)
		return sw_seterr(SW_ERR_NET, "upload failed");
	return SW_OK;
}

static void
test_writer_errors(void)
{
	struct ocf_writer *w = NULL;
	struct buf d = { 0 }, out = { 0 };
	struct ocf_writer_stats st;
	sw_err rc = SW_OK;
	int i;

	ok(ocf_writer_new(ocf_rawdatum_schema, "lzma", fixed_sync, 0,
	    buf_sink, &out, &w) == SW_ERR_DATA && w == NULL,
	    "unsupported codec refused, *out stays NULL");
	sink_calls = 0;
	ocf_writer_new(ocf_rawdatum_schema, "null", fixed_sync, 100,
	    failing_sink, NULL, &w);
	for (i = 0; i < 20 && rc == SW_OK; i++) {
		d.len = 0;
		encode_record(i, &d);
		rc = ocf_writer_append(w, d.data, d.len);
	}
	ok(rc == SW_ERR_NET, "the sink's error comes back from append");
	ok(ocf_writer_finish(w) == SW_ERR_NET, "and from every later call");
	ocf_writer_free(w);

	out.len = 0;
	ocf_writer_new(ocf_rawdatum_schema, "null", fixed_sync, 0,
	    buf_sink, &out, &w);
	ocf_writer_append(w, "x", 1);
	ocf_writer_finish(w);
	ocf_writer_stats(w, &st);
	ok(st.records == 1 && st.blocks == 1 && st.bytes == out.len,
	    "stats count records, blocks and bytes");
	ok(ocf_writer_append(w, "x", 1) == SW_ERR_INTERNAL,
	    "append after finish refused");
	ok(memcmp(ocf_writer_sync(w), fixed_sync, OCF_SYNC_SIZE) == 0,
	    "ocf_writer_sync returns the marker");
	ocf_writer_free(w);
	ocf_writer_free(NULL);
	buf_release(&d);
	buf_release(&out);
}

static void
test_fd_sink(void)
{
	struct ocf_writer *w = NULL;
	char path[512];
	int fd;
	int64_t n;
	struct buf d = { 0 };
	int i;

	snprintf(path, sizeof(path), "%s/fd.avro", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	ocf_writer_new(ocf_rawdatum_schema, "deflate", NULL, 0, ocf_sink_fd,
	    &fd, &w);
	for (i = 0; i < 100; i++) {
		d.len = 0;
		encode_record(i, &d);
		ocf_writer_append(w, d.data, d.len);
	}
	ok(ocf_writer_finish(w) == SW_OK && close(fd) == 0,
	    "written through the fd sink");
	ocf_writer_free(w);
	ok(check_with_avro_c(path, 100, &n), "avro-c reads the fd-sink file");
	buf_release(&d);
}

int
main(void)
{
	tmpdir = test_tmpdir("t_avro_ocf");
	no_python = test_avro_tool_missing();

	test_long_bytes();
	test_long_roundtrip();
	test_long_rejects();
	test_other_types();
	test_codecs();
	test_random_sync();
	test_blocks();
	test_decompress_errors();
	test_writer_errors();
	test_fd_sink();

	test_tmpdir_remove();
	return done_testing();
}
