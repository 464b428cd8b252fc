/* t_coldkey.c - cold-tier key parsing and calendar days. */
#include "config.h"

#include <string.h>

#include "coldkey.h"
#include "tap.h"

#define A "7020c8e2-e6db-40fa-9845-ed0dddd4c77d"
#define P "95e63da7-d34e-43e1-bc6f-1b490154b07a"
#define PART "raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=0f/"

static void
bad(const char *key, const char *why)
{
	struct coldkey k;

	ok(coldkey_parse(key, "raw/", &k) == SW_ERR_BADKEY, "rejects %s", why);
}

int
main(void)
{
	struct coldkey k;
	struct day d, e;
	char s[11], pfx[128];

	ok(coldkey_parse(PART "raw_" A "_" P "_1609577700_GOOD.avro", "raw/",
	    &k) == SW_OK, "guide's example parses");
	is_str(k.series, A "_" P, "assetId_propertyId id kept whole");
	is_int(k.start, 1609577700, "start timestamp");
	is_str(k.quality, "GOOD", "quality");
	ok(k.year == 2021 && k.month == 1 && k.day == 2, "date");
	is_int(k.bucket, 15, "series bucket");
	ok(k.kind == COLDKEY_RAW, "raw kind");

	ok(coldkey_parse("agg/startYear=2022/startMonth=12/startDay=31/"
	    "seriesBucket=a9/agg_" A "_1672444800_UNCERTAIN.avro", "agg/",
	    &k) == SW_OK, "agg key with a single UUID parses");
	is_str(k.series, A, "single UUID id");
	is_str(k.quality, "UNCERTAIN", "UNCERTAIN quality");
	ok(k.kind == COLDKEY_AGG, "agg kind");

	bad("raw/startYear=2021/startMonth=01/startDay=2/seriesBucket=0f/raw_"
	    A "_1_GOOD.avro", "zero-padded month");
	bad("raw/startYear=2021/startMonth=2/startDay=30/seriesBucket=0f/raw_"
	    A "_1_GOOD.avro", "February 30th");
	bad(PART "raw_" A "_1_PERFECT.avro", "unknown quality");
	bad(PART "raw_" A "_x1_GOOD.avro", "non-numeric timestamp");
	bad(PART "raw_" A "_GOOD.avro", "missing timestamp");
	bad(PART "raw_notauuid_1_GOOD.avro", "series id not a UUID");
	bad(PART "raw_" A "_" P "_" P "_1_GOOD.avro", "three UUIDs");
	bad(PART "raw_" A "_1_GOOD.json", "wrong extension");
	bad(PART "sub/raw_" A "_1_GOOD.avro", "extra level");
	bad("raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=0F/raw_"
	    A "_1_GOOD.avro", "uppercase bucket");
	bad("other/startYear=2021/startMonth=1/startDay=2/seriesBucket=0f/raw_"
	    A "_1_GOOD.avro", "another prefix");
	bad(PART "raw_" A "_1_GOOD.avro.tmp", "temporary file");

	ok(day_parse("2024-02-29", &d) == SW_OK, "leap day parses");
	ok(day_parse("2023-02-29", &d) != SW_OK, "non-leap Feb 29 rejected");
	ok(day_parse("2023-1-5", &d) != SW_OK, "unpadded date rejected");
	ok(day_parse("2023-13-01", &d) != SW_OK, "month 13 rejected");
	day_parse("2022-05-05", &d);
	is_int(day_to_epoch_days(&d), 19117, "epoch days");
	day_from_epoch_days(19117 + 365, &e);
	day_format(&e, s);
	is_str(s, "2023-05-05", "day arithmetic");
	day_prefix(&d, "raw/", pfx, sizeof(pfx));
	is_str(pfx, "raw/startYear=2022/startMonth=5/startDay=5/",
	    "partition prefix is not zero padded");
	return done_testing();
}
