/* t_coldkey.c - cold-tier key parsing, calendar days (strict), and the
 * walk of the partitions: names out of range are skipped with a warning. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/coldkey.h"
#include "core/coldtier.h"
#include "store/store.h"
#include "tap.h"
#include "testlib.h"
#include "base/util.h"

#define A "7020c8e2-e6db-40fa-9845-ed0dddd4c77d"
#define P "95e63da7-d34e-43e1-bc6f-1b490154b07a"
#define PART "raw/startYear=2021/startMonth=1/startDay=2/seriesBucket=0f/"

static void
bad(const char *key, const char *why)
{
	struct coldkey k;

	ok(coldkey_parse(key, "raw/", &k) == SW_ERR_BADKEY, "rejects %s", why);
}

/* Make the directories of key below dir and an empty file at its end. */
static void
touch(const char *dir, const char *key)
{
	char path[1024], *p;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	for (p = path + strlen(dir) + 1; (p = strchr(p, '/')) != NULL; p++) {
		*p = '\0';
		mkdir(path, 0700);
		*p = '/';
	}
	if ((fd = open(path, O_WRONLY | O_CREAT, 0600)) >= 0)
		close(fd);
}

static sw_err
add_day(void *arg, const struct day *d)
{
	char s[11];

	day_format(d, s);
	buf_printf(arg, "%s|", s);
	return SW_OK;
}

/* Run coldtier_days with stderr (the warnings) captured into warn. */
static sw_err
walk_days(struct store *st, struct buf *days, struct buf *warn)
{
	char path[] = "/tmp/t_coldkey.err.XXXXXX", chunk[4096];
	int fd = mkstemp(path), saved = dup(2);
	ssize_t n;
	sw_err rc;

	fflush(stderr);
	dup2(fd, 2);
	rc = coldtier_days(st, "raw/", NULL, NULL, add_day, days);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(warn, chunk, (size_t)n);
	buf_puts(warn, "");
	close(fd);
	unlink(path);
	return rc;
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

	/* Dates are digits and dashes, nothing else (sscanf's "%2d" took
	 * blanks and signs). */
	{
		static const char *baddates[] = { "2022-3- 01", "2022-03- 1",
		    "2022- 3-01", " 2022-3-01", "2022-+3-01", "2022-03-+1",
		    "+022-03-01", "-022-03-01", "2022-03-1 ", "2022/03/01",
		    "2022-03-01x", "2022-0x-01", "2022-03-\t1", "20220301",
		    "", "2022-03-0", NULL };
		int i;

		for (i = 0; baddates[i] != NULL; i++) {
			d.year = -1;
			ok(day_parse(baddates[i], &d) == SW_ERR_USAGE &&
			    d.year == -1 && strstr(sw_errmsg(), baddates[i]) &&
			    strstr(sw_errmsg(), "YYYY-MM-DD"),
			    "'%s' is refused: %s", baddates[i], sw_errmsg());
		}
		ok(day_parse("2022-03-01", &d) == SW_OK && d.year == 2022 &&
		    d.month == 3 && d.day == 1, "2022-03-01 parses");
		ok(day_parse("2022-00-10", &d) == SW_ERR_USAGE &&
		    strstr(sw_errmsg(), "not a valid date"),
		    "month 0 is not a valid date");
		ok(day_parse("2022-01-32", &d) == SW_ERR_USAGE,
		    "day 32 is not a valid date");
	}

	/* A day's partition in a key, strictly. */
	{
		const char *rest;

		rest = day_partition_parse("startYear=2022/startMonth=3/"
		    "startDay=1/swrepart-manifest.json", &d);
		ok(rest != NULL && strcmp(rest, "swrepart-manifest.json") == 0 &&
		    d.year == 2022 && d.month == 3 && d.day == 1,
		    "a manifest's partition parses");
		ok(day_partition_parse("startYear=2022/startMonth=+3/"
		    "startDay=1/", &d) == NULL &&
		    day_partition_parse("startYear=2022/startMonth= 3/"
		    "startDay=1/", &d) == NULL &&
		    day_partition_parse("startYear=2022/startMonth=03/"
		    "startDay=1/", &d) == NULL &&
		    day_partition_parse("startYear=2022/startMonth=13/"
		    "startDay=1/", &d) == NULL &&
		    day_partition_parse("startYear=2022/startMonth=2/"
		    "startDay=30/", &d) == NULL &&
		    day_partition_parse("startYear=2022/startMonth=2/"
		    "startDay=3", &d) == NULL,
		    "signs, blanks, padding, month 13, Feb 30 and a missing "
		    "'/' are not a day's partition");
	}

	/* Partitions out of range are skipped with a warning naming them,
	 * like any other name that is not a partition. */
	{
		const char *dir;
		char url[600];
		static const char *keys[] = {
		    "raw/startYear=2022/startMonth=3/startDay=1/seriesBucket=00/o",
		    "raw/startYear=2022/startMonth=13/startDay=1/seriesBucket=00/o",
		    "raw/startYear=2022/startMonth=0/startDay=1/seriesBucket=00/o",
		    "raw/startYear=2022/startMonth=+4/startDay=1/seriesBucket=00/o",
		    "raw/startYear=2022/startMonth= 4/startDay=1/seriesBucket=00/o",
		    "raw/startYear=2022/startMonth=3/startDay=32/seriesBucket=00/o",
		    "raw/startYear=2022/startMonth=3/startDay=0/seriesBucket=00/o",
		    "raw/startYear=1969/startMonth=3/startDay=1/seriesBucket=00/o",
		    NULL };
		static const char *warned[] = {
		    "raw/startYear=2022/startMonth=13/': not a startMonth= "
		    "partition",
		    "raw/startYear=2022/startMonth=0/': not a startMonth= "
		    "partition",
		    "raw/startYear=2022/startMonth=+4/': not a startMonth= "
		    "partition",
		    "raw/startYear=2022/startMonth= 4/': not a startMonth= "
		    "partition",
		    "raw/startYear=2022/startMonth=3/startDay=32/': not a "
		    "startDay= partition",
		    "raw/startYear=2022/startMonth=3/startDay=0/': not a "
		    "startDay= partition",
		    "raw/startYear=1969/': not a startYear= partition",
		    NULL };
		struct store *st;
		struct buf days, warn;
		int i;

		buf_init(&days);
		buf_init(&warn);
		dir = test_tmpdir("t_coldkey");
		for (i = 0; keys[i] != NULL; i++)
			touch(dir, keys[i]);
		snprintf(url, sizeof(url), "file://%s", dir);
		ok(store_open(url, NULL, &st) == SW_OK, "open %s", url);
		ok(walk_days(st, &days, &warn) == SW_OK, "the days are walked");
		is_str(days.data ? days.data : "", "2022-03-01|",
		    "only the real day is found");
		for (i = 0; warned[i] != NULL; i++)
			ok(strstr(warn.data, warned[i]) != NULL,
			    "warning: skipping '...%s'", warned[i]);
		if (tap_failed)
			diag("warnings: %s", warn.data);
		store_free(st);
		buf_release(&days);
		buf_release(&warn);
		test_tmpdir_remove();
	}
	return done_testing();
}
