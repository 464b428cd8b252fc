/*
 * fuzz_catalog.c - asset metadata as anyone who can write the cold tier's
 * asset_metadata/ could leave it: the NDJSON parser of core/catalog.c
 * (catalog_parse_new/_feed/_end), then the merge of catalog_finish().
 *
 * Input: a byte choosing the size of the pieces the objects are fed in
 * (as a GET hands a body over), then up to 4 objects separated by
 * "\n=====\n"; object i is given the modification time i % 3 (so two
 * objects may tie, and a later one may be older).
 * Invariants: the objects fed whole and fed in pieces give the same
 * answer and the same rows; a refusal is SW_ERR_DATA naming the object;
 * a catalogue holds each series once, as a series id, with its bucket
 * two lowercase hex digits or none, associated exactly when it names an
 * asset and a property, rows sorted by asset name, asset id, property
 * name and series id, each found by catalog_find(), no more rows than
 * lines.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "core/catalog.h"
#include "core/coldkey.h"

#define SEP "\n=====\n"
#define MAX_OBJS 4

static int
strcmp0(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
same0(const char *a, const char *b)
{
	return (a == NULL) == (b == NULL) && (a == NULL || strcmp(a, b) == 0);
}

/* Parse the objects into cat, fed in pieces of chunk bytes (0: whole). */
static sw_err
load(struct catalog *cat, const uint8_t *const *p, const size_t *len,
    size_t n, size_t chunk, char *msg, size_t msglen)
{
	struct catalog_parse *cp;
	char name[64];
	size_t i, off, k;
	sw_err rc = SW_OK;

	msg[0] = '\0';
	for (i = 0; i < n && rc == SW_OK; i++) {
		snprintf(name, sizeof(name), "fuzz://cold/asset_%zu.ndjson", i);
		cp = catalog_parse_new(cat, name, (int64_t)(i % 3));
		for (off = 0; off < len[i] && rc == SW_OK; off += k) {
			k = chunk == 0 || len[i] - off < chunk ? len[i] - off :
			    chunk;
			rc = catalog_parse_feed(cp, p[i] + off, k);
		}
		if (rc == SW_OK) {
			rc = catalog_parse_end(cp);
		} else {
			catalog_parse_free(cp);
		}
		if (rc != SW_OK) {
			FUZZ_ASSERT(rc == SW_ERR_DATA, "a refusal is %s, not a "
			    "data error: %s", sw_errname(rc), sw_errmsg());
			FUZZ_ASSERT(strstr(sw_errmsg(), name) != NULL,
			    "the message does not name '%s': %s", name,
			    sw_errmsg());
			snprintf(msg, msglen, "%s", sw_errmsg());
		}
	}
	if (rc == SW_OK)
		catalog_finish(cat);
	return rc;
}

static void
check_row(const struct catalog_row *r)
{
	const char *b = r->bucket;

	FUZZ_ASSERT(r->series_id != NULL && coldkey_series_ok(r->series_id,
	    strlen(r->series_id)), "series id '%s'", r->series_id);
	FUZZ_ASSERT(b == NULL || (strlen(b) == 2 && isxdigit((unsigned char)
	    b[0]) && isxdigit((unsigned char)b[1]) && !isupper((unsigned char)
	    b[0]) && !isupper((unsigned char)b[1])), "bucket '%s'", b);
	FUZZ_ASSERT(r->associated == (r->asset_id != NULL && *r->asset_id &&
	    r->property_id != NULL && *r->property_id), "series '%s' "
	    "associated %d", r->series_id, r->associated);
}

static void
check_catalog(const struct catalog *cat, size_t lines)
{
	const struct catalog_row *a, *b;
	size_t i, j;
	int c;

	FUZZ_ASSERT(cat->n <= lines, "%zu rows from %zu lines", cat->n, lines);
	FUZZ_ASSERT(catalog_find(cat, "00000000-0000-0000-0000-00000000000g") ==
	    NULL, "a series that cannot be is found");
	for (i = 0; i < cat->n; i++) {
		check_row(&cat->rows[i]);
		FUZZ_ASSERT(catalog_find(cat, cat->rows[i].series_id) ==
		    &cat->rows[i], "row %zu ('%s') is not found by its id", i,
		    cat->rows[i].series_id);
		if (i == 0)
			continue;
		a = &cat->rows[i - 1];
		b = &cat->rows[i];
		c = strcmp0(a->asset_name, b->asset_name);
		if (c == 0)
			c = strcmp0(a->asset_id, b->asset_id);
		if (c == 0)
			c = strcmp0(a->property_name, b->property_name);
		if (c == 0)
			c = strcmp(a->series_id, b->series_id);
		FUZZ_ASSERT(c < 0, "rows %zu and %zu out of order ('%s', '%s')",
		    i - 1, i, a->series_id, b->series_id);
	}
	/* each series once (few rows: quadratic is fine) */
	for (i = 0; i < cat->n && cat->n <= 4096; i++)
		for (j = i + 1; j < cat->n; j++)
			FUZZ_ASSERT(strcmp(cat->rows[i].series_id,
			    cat->rows[j].series_id) != 0, "series '%s' twice",
			    cat->rows[i].series_id);
}

static void
check_same(const struct catalog *x, const struct catalog *y)
{
	const struct catalog_row *a, *b;
	size_t i;

	FUZZ_ASSERT(x->n == y->n, "%zu rows whole, %zu in pieces", x->n, y->n);
	for (i = 0; i < x->n; i++) {
		a = &x->rows[i];
		b = &y->rows[i];
		FUZZ_ASSERT(same0(a->series_id, b->series_id) &&
		    same0(a->asset_id, b->asset_id) &&
		    same0(a->asset_name, b->asset_name) &&
		    same0(a->property_id, b->property_id) &&
		    same0(a->property_name, b->property_name) &&
		    same0(a->alias, b->alias) && same0(a->unit, b->unit) &&
		    same0(a->data_type, b->data_type) &&
		    same0(a->bucket, b->bucket) &&
		    a->associated == b->associated, "row %zu ('%s') differs "
		    "in pieces", i, a->series_id);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[MAX_OBJS];
	size_t len[MAX_OBJS], n, chunk, lines = 0, i;
	struct catalog whole, pieces;
	char m1[1024], m2[1024];
	sw_err r1, r2;

	fuzz_init();
	if (size < 1 || size > 256 * 1024)
		return 0;
	chunk = 1 + data[0] % 64;
	n = fuzz_split(data + 1, size - 1, SEP, p, len, MAX_OBJS);
	for (i = 0; i < n; i++)
		lines += len[i] > 0 ? 1 : 0;
	for (i = 0; i < size - 1; i++)
		lines += data[1 + i] == '\n';
	memset(&whole, 0, sizeof(whole));
	memset(&pieces, 0, sizeof(pieces));
	r1 = load(&whole, p, len, n, 0, m1, sizeof(m1));
	r2 = load(&pieces, p, len, n, chunk, m2, sizeof(m2));
	FUZZ_ASSERT(r1 == r2, "whole: %s (%s), in pieces of %zu: %s (%s)",
	    sw_errname(r1), m1, chunk, sw_errname(r2), m2);
	FUZZ_ASSERT(strcmp(m1, m2) == 0, "whole: '%s', in pieces: '%s'", m1,
	    m2);
	if (r1 == SW_OK) {
		check_catalog(&whole, lines);
		check_same(&whole, &pieces);
	}
	catalog_release(&whole);
	catalog_release(&pieces);
	return 0;
}
