/* t_dates.c - days from a civil date and back against the C library's
 * timegm(3) and gmtime_r(3), and the date parsers' accepted forms and
 * refusals. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/dates.h"
#include "tap.h"

/* timegm() of y-m-d hh:mm:ss, the reference. */
static int64_t
ref_time(int y, int m, int d, int hh, int mm, int ss)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return (int64_t)timegm(&tm);
}

/* Every day of about 4,400 years around the epoch, both ways, and every
 * 7th day of a wider range, against gmtime_r(). */
static void
test_days(void)
{
	int64_t z, y, bad = 0;
	int m, d, n = 0;
	struct tm tm;
	time_t t;

	is_int(days_from_civil(1970, 1, 1), 0, "1970-01-01 is day 0");
	is_int(days_from_civil(1969, 12, 31), -1, "1969-12-31 is day -1");
	is_int(days_from_civil(2000, 3, 1), 11017, "2000-03-01 is day 11017");
	is_int(days_from_civil(9999, 12, 31), 2932896,
	    "9999-12-31 is day 2932896");
	is_int(days_from_civil(0, 1, 1), -719528, "0000-01-01 is day -719528");
	for (z = -1000000; z <= 1000000; z += z < -600000 || z > 600000 ? 7 :
	    1) {
		t = (time_t)(z * 86400);
		civil_from_days(z, &y, &m, &d);
		if (gmtime_r(&t, &tm) == NULL || y != tm.tm_year + 1900LL ||
		    m != tm.tm_mon + 1 || d != tm.tm_mday ||
		    days_from_civil(y, m, d) != z || !date_valid(y, m, d)) {
			if (bad++ == 0)
				diag("day %lld: %lld-%02d-%02d, gmtime_r says "
				    "%d-%02d-%02d", (long long)z, (long long)y,
				    m, d, tm.tm_year + 1900, tm.tm_mon + 1,
				    tm.tm_mday);
		}
		n++;
	}
	ok(bad == 0, "%d days from -1000000 to 1000000 agree with gmtime_r "
	    "and come back (%lld differ)", n, (long long)bad);
}

/* Whether each y-m-d of 1599..2401 with d 0..32 is a day agrees with
 * timegm()'s normalisation (it moves a day that is not one). */
static void
test_valid(void)
{
	int y, m, d, bad = 0;
	struct tm tm;
	time_t t;

	for (y = 1599; y <= 2401; y++)
		for (m = 0; m <= 13; m++)
			for (d = 0; d <= 32; d++) {
				int real;

				memset(&tm, 0, sizeof(tm));
				tm.tm_year = y - 1900;
				tm.tm_mon = m - 1;
				tm.tm_mday = d;
				t = timegm(&tm);
				real = tm.tm_year == y - 1900 &&
				    tm.tm_mon == m - 1 && tm.tm_mday == d;
				if (real != date_valid(y, m, d) ||
				    (real && days_from_civil(y, m, d) * 86400 !=
				    (int64_t)t)) {
					if (bad++ == 0)
						diag("%d-%d-%d: date_valid %d, "
						    "timegm %d", y, m, d,
						    date_valid(y, m, d), real);
				}
			}
	ok(bad == 0, "date_valid and days_from_civil agree with timegm "
	    "over 1599..2401 (%d differ)", bad);
	ok(date_is_leap(2000) && date_is_leap(2024) && date_is_leap(0) &&
	    date_is_leap(-4) && date_is_leap(-400), "leap: 2000 2024 0 -4 -400");
	ok(!date_is_leap(1900) && !date_is_leap(2023) && !date_is_leap(2100) &&
	    !date_is_leap(-100) && !date_is_leap(-1), "not leap: 1900 2023 "
	    "2100 -100 -1");
}

static void
test_ymd(void)
{
	static const struct {
		const char *s;
		int y, m, d;
	} good[] = {
		{ "2024-02-29", 2024, 2, 29 },
		{ "2000-02-29", 2000, 2, 29 },
		{ "1970-01-01", 1970, 1, 1 },
		{ "0000-01-01", 0, 1, 1 },
		{ "9999-12-31", 9999, 12, 31 },
		{ "2022-04-30", 2022, 4, 30 },
	};
	/* not of the form: -1 */
	static const char *const form[] = { "", "2024", "2024-2-29",
		"2024-02-9", " 2024-02-29", "2024-02-29 ", "2024/02/29",
		"+024-02-29", "2024-+2-29", "2024-02- 9", "2024-02-2x",
		"20240229", "12024-02-29", "2024-02-29T00:00:00Z", "2024-02-",
		"-2024-02-29", "2O24-02-29", NULL };
	/* of the form but no day: -2 */
	static const char *const noday[] = { "2023-02-29", "1900-02-29",
		"2100-02-29", "2024-02-30", "2024-04-31", "2024-06-31",
		"2024-09-31", "2024-11-31", "2024-01-32", "2024-01-00",
		"2024-00-10", "2024-13-01", "2024-99-99", NULL };
	size_t i;
	int y, m, d;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		y = m = d = -1;
		ok(date_parse_ymd(good[i].s, &y, &m, &d) == 0 &&
		    y == good[i].y && m == good[i].m && d == good[i].d,
		    "'%s' parses", good[i].s);
	}
	for (i = 0; form[i] != NULL; i++) {
		y = m = d = -1;
		ok(date_parse_ymd(form[i], &y, &m, &d) == -1 && y == -1 &&
		    m == -1 && d == -1, "'%s' is not of the form", form[i]);
	}
	for (i = 0; noday[i] != NULL; i++) {
		y = m = d = -1;
		ok(date_parse_ymd(noday[i], &y, &m, &d) == -2 && y == -1 &&
		    m == -1 && d == -1, "'%s' names no day", noday[i]);
	}
	ok(date_parse_ymd(NULL, &y, &m, &d) == -1, "NULL is refused");
}

static void
test_iso8601(void)
{
	static const struct {
		const char *s;
		int y, m, d, hh, mm, ss;
	} good[] = {
		{ "2024-05-01T12:00:00Z", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01T12:00:00.123456Z", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01T12:00:00.9z", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01t12:00:00Z", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01 12:00:00Z", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01T14:30:00+02:30", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01T14:30:00+0230", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01T09:00:00.5-03:00", 2024, 5, 1, 12, 0, 0 },
		{ "2024-05-01T00:30:00-23:59", 2024, 5, 2, 0, 29, 0 },
		{ "2024-05-01T12:00:00+00:00", 2024, 5, 1, 12, 0, 0 },
		{ "2024-02-29T23:59:59Z", 2024, 2, 29, 23, 59, 59 },
		/* a leap second: the next minute's first */
		{ "2016-12-31T23:59:60Z", 2017, 1, 1, 0, 0, 0 },
		{ "1969-12-31T23:59:59Z", 1969, 12, 31, 23, 59, 59 },
		{ "0000-01-01T00:00:00Z", 0, 1, 1, 0, 0, 0 },
		{ "9999-12-31T23:59:59Z", 9999, 12, 31, 23, 59, 59 },
	};
	static const char *const bad[] = { "", "2024-05-01",
		"2023-02-29T00:00:00Z", "2024-02-30T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-00-01T00:00:00Z",
		"2024-05-00T00:00:00Z", "2024-05-32T00:00:00Z",
		"2024-05-01T24:00:00Z", "2024-05-01T23:60:00Z",
		"2024-05-01T23:59:61Z", "2024-05-01T99:00:00Z",
		"2024-05-01T12:00:00", "2024-05-01T12:00Z", "2024-05-01T12Z",
		"2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.",
		"2024-05-01T1:00:00Z",
		"2024-05-01T12:0:00Z", "2024-05-01T12:00:0Z",
		"2024-05-01T12:00:00+24:00", "2024-05-01T12:00:00+01:60",
		"2024-05-01T12:00:00+01:", "2024-05-01T12:00:00+1",
		"2024-05-01T12:00:00+01:000", "2024-05-01T12:00:00Zx",
		"2024-05-01T12:00:00ZZ", "2024-05-01X12:00:00Z",
		"2024-05-01T12-00-00Z", "2024-5-01T12:00:00Z",
		" 2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z ",
		"2024-05-01T+2:00:00Z", "2024-05-01T12:00:00 Z", NULL };
	char mine[DATE_ISO8601_LEN];
	int64_t t;
	size_t i;
	int n, bad_rt = 0;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int64_t want = ref_time(good[i].y, good[i].m, good[i].d,
		    good[i].hh, good[i].mm, good[i].ss);

		t = -42;
		ok(date_parse_iso8601(good[i].s, &t) == 0 && t == want,
		    "'%s' is %lld", good[i].s, (long long)want);
	}
	for (i = 0; bad[i] != NULL; i++) {
		t = -42;
		ok(date_parse_iso8601(bad[i], &t) == -1 && t == -42,
		    "'%s' is refused", bad[i]);
	}
	ok(date_parse_iso8601(NULL, &t) == -1, "NULL is refused");

	/* gmtime_r's own text of many times parses back to the same */
	for (n = 0; n < 200000; n++) {
		time_t s = (time_t)((int64_t)n * 1500007 - 62167219200LL);
		char text[64];
		struct tm tm;

		gmtime_r(&s, &tm);
		snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02dZ",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		date_format_iso8601((int64_t)s, 0, mine);
		if (date_parse_iso8601(text, &t) != 0 || t != (int64_t)s ||
		    strcmp(mine, text) != 0) {
			if (bad_rt++ == 0)
				diag("'%s' gave %lld, not %lld; formatted "
				    "'%s'", text, (long long)t, (long long)s,
				    mine);
		}
	}
	ok(bad_rt == 0, "200000 times from year 0 to 9500: formatted as "
	    "gmtime_r does, and parsed back (%d differ)", bad_rt);
	date_format_iso8601(1440938160, 1, mine);
	is_str(mine, "20150830T123600Z", "the basic form");
	date_format_iso8601(-1, 0, mine);
	is_str(mine, "1969-12-31T23:59:59Z", "a second before the epoch");
	date_format_iso8601(-62167219201LL, 0, mine);
	is_str(mine, "", "before the year 0: empty");
	date_format_iso8601(253402300800LL, 0, mine);
	is_str(mine, "", "after the year 9999: empty");
}

int
main(void)
{
	test_days();
	test_valid();
	test_ymd();
	test_iso8601();
	return done_testing();
}
