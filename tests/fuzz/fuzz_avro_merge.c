/*
 * fuzz_avro_merge.c - the Avro container reader and the day merge, fed a
 * container as the cold tier (or a damaged cache) could hold it.
 *
 * An input that starts with the container magic is a container file,
 * read from a memfd:
 *  1. merge_add_file() into a new day (memory sink), of each dataset
 *     (raw, RawDatum; aggregates, AggDatum).  Accepted: the day,
 *     re-read by the project's own reader with every block decompressed
 *     and its records walked, holds exactly the records the merge
 *     counted, twice over when the input is merged twice.  Refused: the
 *     error is a data error, merge_rollback() cuts the day back, and the
 *     day completes as a valid container without the input's records.
 *     The same merge with a helper thread checking blocks gives the same
 *     bytes and the same verdict (avro_merge.h: "the output is the same
 *     either way"), and so does the input given as bytes in memory
 *     (merge_add_mem, as fetched objects are merged).
 *  2. merge_open_append_ds() with verify, of whichever dataset the header
 *     says, as a cached day file being extended (or `cache verify`) is
 *     checked: accepted means the reader agrees on the records up to the
 *     end it reports.
 *  3. merge_series_counts_ds(), as --adopt counts a sample object's
 *     records per series, for each dataset: sorted, unique series whose
 *     counts add up to the reader's records.
 * Any other input is a run of blocks, as copied by range from a
 * published day (merge_add_blocks with verify), framed with the merge's
 * marker "fuzz-sync-marker", its last byte the records it must hold:
 * accepted, the day reads back with those records; refused, the day
 * rolls back to a valid container; from memory (merge_add_blocks_mem),
 * the same verdict and bytes.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro/merge.h"
#include "avro/ocf.h"
#include "fuzz_common.h"
#include "base/util.h"

static const unsigned char sync_marker[OCF_SYNC_SIZE] = "fuzz-sync-marker";

/* Records of the container in fd (from offset 0, the first limit bytes),
 * every block decompressed and walked; -1 when the reader refuses it. */
/* Merge the input twice into a day, in out; the first call's verdict. */
static sw_err
merge_twice(const struct merge_dataset *ds, int in, const uint8_t *mem,
    size_t memlen, int workers, struct buf *out)
{
	struct merge *m = NULL;
	struct merge_stats st, tot;
	uint64_t cut;
	int64_t n;
	int i;
	sw_err rc, first = SW_OK;

	FUZZ_ASSERT(merge_new_ds(ds, buf_sink, out, sync_marker, &m) == SW_OK,
	    "merge_new: %s", sw_errmsg());
	merge_set_workers(m, workers);
	for (i = 0; i < 2; i++) {
		if (mem != NULL) {
			rc = merge_add_mem(m, mem, memlen, "s3://cold/fuzz.avro",
			    &st);
		} else {
			FUZZ_ASSERT(lseek(in, 0, SEEK_SET) == 0, "lseek");
			rc = merge_add_file(m, in, "s3://cold/fuzz.avro", &st);
		}
		if (i == 0)
			first = rc;
		if (rc == SW_OK)
			continue;
		FUZZ_ASSERT(rc == SW_ERR_DATA, "merge_add_file: %s (%s)",
		    sw_errname(rc), sw_errmsg());
		FUZZ_ASSERT(i == 0, "the same input accepted, then refused: "
		    "%s", sw_errmsg());
		FUZZ_ASSERT(merge_rollback(m, &cut) == SW_OK, "rollback: %s",
		    sw_errmsg());
		FUZZ_ASSERT(cut <= out->len, "rollback to %llu past the output "
		    "(%zu bytes)", (unsigned long long)cut, out->len);
		out->len = (size_t)cut;
		break;
	}
	FUZZ_ASSERT(merge_finish(m) == SW_OK, "finish: %s", sw_errmsg());
	merge_stats(m, &tot);
	n = fuzz_ocf_records_mem(out->data, out->len);
	FUZZ_ASSERT(n >= 0, "the merged day does not read back: %s",
	    sw_errmsg());
	FUZZ_ASSERT((uint64_t)n == tot.records, "the day holds %lld records, "
	    "the merge wrote %llu", (long long)n,
	    (unsigned long long)tot.records);
	FUZZ_ASSERT(tot.files == 0 || tot.records == 2 * st.records,
	    "two merges of one input: %llu records, %llu the first time",
	    (unsigned long long)tot.records, (unsigned long long)st.records);
	merge_free(m);
	return first;
}

static void
merge_both_ways(const struct merge_dataset *ds, int in, const uint8_t *data,
    size_t size)
{
	struct buf a, b, c;
	sw_err ra, rb, rc;

	buf_init(&a);
	buf_init(&b);
	buf_init(&c);
	ra = merge_twice(ds, in, NULL, 0, 0, &a);
	rb = merge_twice(ds, in, NULL, 0, 1, &b);
	rc = merge_twice(ds, -1, data, size, 1, &c);
	FUZZ_ASSERT(ra == rb, "verdict %s alone, %s with a helper thread",
	    sw_errname(ra), sw_errname(rb));
	FUZZ_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0,
	    "the day differs with a helper thread (%zu, %zu bytes)", a.len,
	    b.len);
	FUZZ_ASSERT(ra == rc, "verdict %s from a file, %s from memory",
	    sw_errname(ra), sw_errname(rc));
	FUZZ_ASSERT(a.len == c.len && memcmp(a.data, c.data, a.len) == 0,
	    "the day differs from memory (%zu, %zu bytes)", a.len, c.len);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

static void
series_check(const struct merge_dataset *ds, int in)
{
	struct merge_count *c = NULL;
	uint64_t sum = 0;
	int64_t n;
	size_t k = 0, i;

	FUZZ_ASSERT(lseek(in, 0, SEEK_SET) == 0, "lseek");
	if (merge_series_counts_ds(ds, in, "s3://target/merged_series_1.avro",
	    &c, &k) != SW_OK)
		return;
	for (i = 0; i < k; i++) {
		FUZZ_ASSERT(i == 0 || strcmp(c[i - 1].series, c[i].series) < 0,
		    "series not sorted and unique at '%s'", c[i].series);
		sum += c[i].records;
	}
	n = fuzz_ocf_records(in, OCF_TO_EOF);
	FUZZ_ASSERT(n >= 0 && (uint64_t)n == sum, "%llu records by series, "
	    "%lld by the reader", (unsigned long long)sum, (long long)n);
	merge_counts_free(c, k);
}

/* The blocks' verdict and day, from a file (fd >= 0) or from memory. */
static sw_err
blocks_merge(const uint8_t *data, size_t size, int fd, struct buf *out)
{
	struct merge *m = NULL;
	struct merge_stats st;
	uint64_t cut, records;
	int64_t n;
	sw_err rc;

	records = data[size - 1];
	buf_init(out);
	FUZZ_ASSERT(merge_new(buf_sink, out, sync_marker, &m) == SW_OK,
	    "merge_new: %s", sw_errmsg());
	merge_set_workers(m, 0);
	if (fd >= 0)
		rc = merge_add_blocks(m, fd, 0, size - 1, records, 1,
		    "s3://target/day.avro", &st);
	else
		rc = merge_add_blocks_mem(m, data, size - 1, records, 1,
		    "s3://target/day.avro", &st);
	if (rc != SW_OK) {
		FUZZ_ASSERT(rc == SW_ERR_DATA, "merge_add_blocks: %s (%s)",
		    sw_errname(rc), sw_errmsg());
		FUZZ_ASSERT(merge_rollback(m, &cut) == SW_OK && cut <= out->len,
		    "rollback: %s", sw_errmsg());
		out->len = (size_t)cut;
		records = 0;
	}
	FUZZ_ASSERT(merge_finish(m) == SW_OK, "finish: %s", sw_errmsg());
	n = fuzz_ocf_records_mem(out->data, out->len);
	FUZZ_ASSERT(n >= 0 && (uint64_t)n == records, "blocks of %llu records "
	    "%s; the day reads back %lld", (unsigned long long)records,
	    rc == SW_OK ? "accepted" : "refused", (long long)n);
	merge_free(m);
	return rc;
}

static void
blocks_check(const uint8_t *data, size_t size)
{
	struct buf a, b;
	sw_err ra, rb;
	int fd;

	if (size < 2)
		return;
	fd = fuzz_memfd(data, size - 1);
	ra = blocks_merge(data, size, fd, &a);
	rb = blocks_merge(data, size, -1, &b);
	FUZZ_ASSERT(ra == rb && a.len == b.len && memcmp(a.data, b.data,
	    a.len) == 0, "blocks from a file (%s, %zu bytes) and from memory "
	    "(%s, %zu bytes) differ", sw_errname(ra), a.len, sw_errname(rb),
	    b.len);
	buf_release(&a);
	buf_release(&b);
	close(fd);
}

static void
append_check(int in)
{
	struct merge *m = NULL;
	struct merge_stats ex;
	struct buf out;
	int64_t n;

	buf_init(&out);
	memset(&ex, 0, sizeof(ex));
	FUZZ_ASSERT(lseek(in, 0, SEEK_SET) == 0, "lseek");
	if (merge_open_append_ds(NULL, in, "cache/day.avro", 0, 1, buf_sink,
	    &out, &m, &ex) == SW_OK) {
		FUZZ_ASSERT(merge_finish(m) == SW_OK, "finish: %s",
		    sw_errmsg());
		n = fuzz_ocf_records(in, ex.out_end);
		FUZZ_ASSERT(n >= 0 && (uint64_t)n == ex.records, "append "
		    "accepted a day of %llu records that reads back as %lld",
		    (unsigned long long)ex.records, (long long)n);
		FUZZ_ASSERT(out.len == 0, "an append with no input wrote %zu "
		    "bytes", out.len);
	}
	merge_free(m);
	buf_release(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fd;

	fuzz_init();
	if (size < OCF_MAGIC_SIZE || memcmp(data, OCF_MAGIC, OCF_MAGIC_SIZE)) {
		blocks_check(data, size);
		return 0;
	}
	fd = fuzz_memfd(data, size);
	merge_both_ways(&merge_raw, fd, data, size);
	merge_both_ways(&merge_agg, fd, data, size);
	append_check(fd);
	series_check(&merge_raw, fd);
	series_check(&merge_agg, fd);
	close(fd);
	return 0;
}
