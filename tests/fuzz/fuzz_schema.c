/*
 * fuzz_schema.c - Avro schema parsing (ocf_schema_parse: our check of
 * the JSON, then avro-c's parse and the tree built from it), comparison
 * (ocf_schema_equal: avro-c's avro_schema_equal), the validating walk
 * (ocf_skip) and the merge's schema resolution against RawDatum as the
 * reader schema.
 *
 * Input: the schema JSON, a NUL byte, then binary data for that schema.
 * Invariants: a parsed schema equals itself parsed again, both ways, and
 * its named types have full names; the records that ocf_skip walks, written as one block of a
 * container with that schema, are either refused by merge_add_file with a
 * data error or merged to a day that reads back with that many records.
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

#define MAX_RECORDS 64

static const unsigned char sync_marker[OCF_SYNC_SIZE] = "fuzz-sync-marker";

/* Every named type of the tree built from avro-c's parse has a full name
 * (a recursive schema is walked to a bounded depth). */
static void
check_names(const struct ocf_node *t, int depth)
{
	size_t i;

	if (depth > 70)
		return;
	if (t->type == OCF_RECORD || t->type == OCF_ENUM ||
	    t->type == OCF_FIXED)
		FUZZ_ASSERT(t->name != NULL && t->name[0] != '\0' &&
		    t->name[strlen(t->name) - 1] != '.', "a %s without a "
		    "full name", ocf_type_name(t->type));
	for (i = 0; t->type == OCF_RECORD && i < t->n; i++)
		check_names(t->fields[i].type, depth + 1);
	for (i = 0; t->type == OCF_UNION && i < t->n; i++)
		check_names(t->branches[i], depth + 1);
	if (t->type == OCF_ARRAY || t->type == OCF_MAP)
		check_names(t->items, depth + 1);
}

/* Write a container of the records and merge it into a day. */
static void
merge_records(const char *json, int64_t count, const uint8_t *rec, size_t n)
{
	struct ocf_writer *w = NULL;
	struct merge *m = NULL;
	struct merge_stats st;
	struct buf file, day;
	int64_t got;
	int fd;
	sw_err rc;

	buf_init(&file);
	buf_init(&day);
	FUZZ_ASSERT(ocf_writer_new(json, "null", sync_marker, 0, buf_sink,
	    &file, &w) == SW_OK, "writer: %s", sw_errmsg());
	if (count > 0)
		FUZZ_ASSERT(ocf_writer_append_block(w, count, rec, n) == SW_OK,
		    "append_block: %s", sw_errmsg());
	FUZZ_ASSERT(ocf_writer_finish(w) == SW_OK, "finish: %s", sw_errmsg());
	ocf_writer_free(w);

	FUZZ_ASSERT(merge_new(buf_sink, &day, sync_marker, &m) == SW_OK,
	    "merge_new: %s", sw_errmsg());
	merge_set_workers(m, 0);
	fd = fuzz_memfd(file.data, file.len);
	rc = merge_add_file(m, fd, "s3://cold/schema.avro", &st);
	close(fd);
	if (rc == SW_OK) {
		FUZZ_ASSERT(st.records == (uint64_t)count, "merged %llu of %lld "
		    "records", (unsigned long long)st.records,
		    (long long)count);
		FUZZ_ASSERT(merge_finish(m) == SW_OK, "finish: %s",
		    sw_errmsg());
		got = fuzz_ocf_records_mem(day.data, day.len);
		FUZZ_ASSERT(got == count, "the day reads back %lld records, "
		    "not %lld: %s", (long long)got, (long long)count,
		    sw_errmsg());
	} else {
		FUZZ_ASSERT(rc == SW_ERR_DATA, "merge_add_file: %s (%s)",
		    sw_errname(rc), sw_errmsg());
	}
	merge_free(m);
	buf_release(&file);
	buf_release(&day);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t jlen = nul ? (size_t)(nul - data) : size;
	const uint8_t *rec = nul ? nul + 1 : data + size;
	const unsigned char *p, *end = data + size;
	struct ocf_schema *s = NULL, *s2 = NULL;
	char *json;
	int64_t count = 0;

	fuzz_init();
	if (size > 64 * 1024)
		return 0;
	json = fuzz_strndup(data, jlen);
	if (ocf_schema_parse(json, jlen, &s) != SW_OK) {
		free(json);
		return 0;
	}
	FUZZ_ASSERT(ocf_schema_parse(json, jlen, &s2) == SW_OK,
	    "the schema does not parse twice: %s", sw_errmsg());
	FUZZ_ASSERT(ocf_schema_equal(s, s2) && ocf_schema_equal(s2, s),
	    "the schema parsed twice is not equal to itself");
	ocf_schema_free(s2);
	check_names(ocf_schema_root(s), 0);

	for (p = rec; count < MAX_RECORDS && p < end; count++) {
		const unsigned char *before = p;

		if (ocf_skip(ocf_schema_root(s), &p, end) != SW_OK) {
			FUZZ_ASSERT(p == before, "a failed skip moved");
			break;
		}
		FUZZ_ASSERT(p >= before && p <= end, "skip out of bounds");
		if (p == before) {   /* records of no bytes: one is enough */
			count++;
			break;
		}
	}
	merge_records(json, count, rec, (size_t)(p - rec));
	ocf_schema_free(s);
	free(json);
	return 0;
}
