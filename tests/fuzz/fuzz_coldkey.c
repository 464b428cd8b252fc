/*
 * fuzz_coldkey.c - cold-tier keys (coldkey_parse) and days ("YYYY-MM-DD":
 * day_parse, which --from/--to go through).
 *
 * Input: the prefix, a newline, then the key (or the day text).
 * Invariants: a key that parses is exactly the key its fields describe
 * (prefix, partition, bucket, kind, series, timestamp text, quality); a
 * day that parses is written back the same by day_format and survives a
 * trip through epoch days.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/coldkey.h"
#include "fuzz_common.h"

static void
check_day(const char *s)
{
	struct day d, e;
	char back[11];

	if (day_parse(s, &d) != SW_OK)
		return;
	day_format(&d, back);
	FUZZ_ASSERT(strcmp(back, s) == 0, "day_parse('%s') accepted a day "
	    "that day_format writes '%s'", s, back);
	day_from_epoch_days(day_to_epoch_days(&d), &e);
	FUZZ_ASSERT(day_cmp(&d, &e) == 0, "'%s' does not survive epoch days",
	    s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p[2];
	size_t len[2], n;
	char *prefix, *key, rebuilt[512], part[256];
	struct coldkey k;
	long long ts;

	fuzz_init();
	if (size > 1024)
		return 0;
	n = fuzz_split(data, size, "\n", p, len, 2);
	prefix = fuzz_strndup(p[0], len[0]);
	key = n > 1 ? fuzz_strndup(p[1], len[1]) : fuzz_strndup("", 0);

	check_day(prefix);
	check_day(key);
	if (coldkey_parse(key, prefix, &k) == SW_OK) {
		const char *name = strrchr(key, '/'), *q2;

		FUZZ_ASSERT(name != NULL, "no '/' in '%s'", key);
		/* The timestamp as written (digits, leading zeros kept). */
		q2 = name + 1 + 4 + strlen(k.series) + 1;
		FUZZ_ASSERT(sscanf(q2, "%lld", &ts) == 1 && ts == k.start,
		    "start %lld of '%s'", (long long)k.start, key);
		day_prefix(&(struct day){ k.year, k.month, k.day }, prefix,
		    part, sizeof(part));
		snprintf(rebuilt, sizeof(rebuilt), "%sseriesBucket=%02x/%s_%s_"
		    "%.*s_%s.avro", part, k.bucket, k.kind == COLDKEY_RAW ?
		    "raw" : "agg", k.series, (int)strspn(q2, "0123456789"), q2,
		    k.quality);
		FUZZ_ASSERT(strcmp(rebuilt, key) == 0, "'%s' parsed as '%s'",
		    key, rebuilt);
		FUZZ_ASSERT(coldkey_series_ok(k.series, strlen(k.series)),
		    "series '%s'", k.series);
		FUZZ_ASSERT(k.bucket < 256, "bucket %u", k.bucket);
	}
	free(prefix);
	free(key);
	return 0;
}
