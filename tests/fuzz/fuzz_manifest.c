/*
 * fuzz_manifest.c - the two files of a published day that anyone who can
 * write the target bucket can change: swrepart-manifest.json
 * (manifest_parse, with and without the day's context) and the sample's
 * timeseries.txt (series_parse).
 *
 * Input: the file (both parsers get it).  Invariants: a refused manifest
 * leaves the struct empty (nothing to free); an accepted one keeps the
 * promises of manifest.h (merged objects in strictly increasing key
 * order, their ranges inside the data object, in order, without overlap,
 * their records adding up to the data object's; with the day's context:
 * the data key and every sample object in the day's data partition, the
 * latter named merged_series_*.avro); a version 2 manifest written back
 * by manifest_json() parses to the same fields.  A series list is sorted,
 * unique, of non-empty printable names without '/'.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "core/coldkey.h"
#include "fuzz_common.h"
#include "core/manifest.h"

#define DATA_PART "consolidated/startYear=2022/startMonth=1/startDay=1/"
#define INDEX_PART "index/startYear=2022/startMonth=1/startDay=1/"

static const struct day the_day = { 2022, 1, 1 };
static const struct manifest_ctx ctx = { &the_day, DATA_PART, INDEX_PART };

static void
check_objs(const struct cache_obj *v, size_t n, uint64_t size,
    uint64_t records)
{
	uint64_t end = 0, sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		FUZZ_ASSERT(v[i].key != NULL && v[i].key[0] && v[i].etag != NULL,
		    "object %zu has no key", i);
		FUZZ_ASSERT(i == 0 || strcmp(v[i - 1].key, v[i].key) < 0,
		    "objects out of order at '%s'", v[i].key);
		FUZZ_ASSERT(v[i].len > 0 && v[i].off >= end &&
		    v[i].off + v[i].len >= v[i].off &&
		    v[i].off + v[i].len <= size, "object '%s': %llu+%llu of a "
		    "%llu-byte object", v[i].key, (unsigned long long)v[i].off,
		    (unsigned long long)v[i].len, (unsigned long long)size);
		end = v[i].off + v[i].len;
		sum += v[i].records;
	}
	FUZZ_ASSERT(sum == records, "objects hold %llu records, not %llu",
	    (unsigned long long)sum, (unsigned long long)records);
}

static void
check_same(const struct manifest *a, const struct manifest *b)
{
	size_t i;

#define SAME(f) FUZZ_ASSERT(a->f == b->f, #f " %llu became %llu", \
	(unsigned long long)a->f, (unsigned long long)b->f)
	SAME(has_data);
	if (a->has_data) {
		/* without "data", "objects" is not written back */
		SAME(count);
		SAME(kept);
		FUZZ_ASSERT(strcmp(a->digest, b->digest) == 0, "digest");
	}
	SAME(size);
	SAME(records);
	SAME(series);
	SAME(nobjs);
	SAME(has_pending);
	SAME(npending);
	SAME(legacy);
	SAME(adopted);
	SAME(nlseries);
	SAME(nlobjs);
#undef SAME
	FUZZ_ASSERT((a->data_key == NULL) == (b->data_key == NULL) &&
	    (a->data_key == NULL || strcmp(a->data_key, b->data_key) == 0),
	    "data key");
	FUZZ_ASSERT(strcmp(a->md5, b->md5) == 0 && strcmp(a->etag, b->etag) ==
	    0, "digests");
	for (i = 0; i < a->nobjs; i++)
		FUZZ_ASSERT(strcmp(a->objs[i].key, b->objs[i].key) == 0 &&
		    strcmp(a->objs[i].etag, b->objs[i].etag) == 0 &&
		    a->objs[i].off == b->objs[i].off &&
		    a->objs[i].len == b->objs[i].len &&
		    a->objs[i].size == b->objs[i].size &&
		    a->objs[i].records == b->objs[i].records,
		    "object '%s' changed", a->objs[i].key);
	for (i = 0; i < a->nlobjs; i++)
		FUZZ_ASSERT(strcmp(a->lobjs[i], b->lobjs[i]) == 0,
		    "sample object '%s' changed", a->lobjs[i]);
}

static void
check_manifest(const uint8_t *data, size_t size, const struct manifest_ctx *c)
{
	struct manifest m, back;
	static const struct manifest empty;
	size_t i, plen = strlen(DATA_PART), len;
	char *text;

	if (manifest_parse(data, size, "s3://target/m.json", c, &m) != SW_OK) {
		FUZZ_ASSERT(memcmp(&m, &empty, sizeof(m)) == 0, "a refused "
		    "manifest left fields set");
		FUZZ_ASSERT(sw_errmsg()[0] != '\0', "no message");
		return;
	}
	FUZZ_ASSERT(m.version >= 1 && m.version <= MANIFEST_VERSION,
	    "version %d", m.version);
	if (m.has_data && m.version >= 2) {
		FUZZ_ASSERT(m.nobjs == m.count, "%zu objects, count %llu",
		    m.nobjs, (unsigned long long)m.count);
		check_objs(m.objs, m.nobjs, m.size, m.records);
	}
	if (m.has_pending)
		check_objs(m.pending_objs, m.npending, m.pending_size,
		    m.pending_records);
	if (c != NULL) {
		FUZZ_ASSERT(m.data_key == NULL ||
		    (strncmp(m.data_key, DATA_PART, plen) == 0 &&
		    strchr(m.data_key + plen, '/') == NULL), "data key '%s' "
		    "outside the day", m.data_key);
		for (i = 0; i < m.nlobjs; i++)
			FUZZ_ASSERT(strncmp(m.lobjs[i], DATA_PART, plen) == 0 &&
			    strchr(m.lobjs[i] + plen, '/') == NULL &&
			    manifest_is_sample_key(m.lobjs[i]), "sample object "
			    "'%s' outside the day", m.lobjs[i]);
	}
	if (m.version == MANIFEST_VERSION) {
		text = manifest_json(&m, &the_day, &len);
		FUZZ_ASSERT(manifest_parse(text, len, "written", c, &back) ==
		    SW_OK, "a manifest written back does not parse: %s",
		    sw_errmsg());
		check_same(&m, &back);
		manifest_free(&back);
		free(text);
	}
	manifest_free(&m);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char **v = NULL;
	size_t n = 0, i;
	const char *s;

	fuzz_init();
	if (size > 256 * 1024)
		return 0;
	check_manifest(data, size, NULL);
	check_manifest(data, size, &ctx);
	if (series_parse(data, size, "s3://target/timeseries.txt", &v, &n) ==
	    SW_OK) {
		for (i = 0; i < n; i++) {
			FUZZ_ASSERT(v[i][0] != '\0', "an empty series");
			FUZZ_ASSERT(i == 0 || strcmp(v[i - 1], v[i]) < 0,
			    "series not sorted and unique at '%s'", v[i]);
			for (s = v[i]; *s; s++)
				FUZZ_ASSERT(*s > ' ' && *s < 0x7f && *s != '/',
				    "series '%s'", v[i]);
		}
		strv_free(v, n);
	} else {
		FUZZ_ASSERT(v == NULL && n == 0, "a refused list was returned");
	}
	return 0;
}
