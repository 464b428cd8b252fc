/*
 * dates.h - the proleptic Gregorian calendar in UTC, done by hand: days
 * since 1970-01-01 and back (Howard Hinnant's days_from_civil and
 * civil_from_days), calendar checks, and the two ISO 8601 forms the
 * program reads.  By hand because glibc's gmtime_r() and timegm() read TZ,
 * and may load a zone file, on their first call: the signer and the
 * credential parser read nothing.
 */
#ifndef SWREPART_DATES_H
#define SWREPART_DATES_H

#include <stdint.h>

/* Whether y (any year, 0 included) is a leap year. */
int date_is_leap(int64_t y);
/* Whether y-m-d is a day of the calendar (month 1..12, day within it). */
int date_valid(int64_t y, int m, int d);
/* Days since 1970-01-01 of y-m-d (negative before it), for any valid date;
 * m and d out of range give a number, not a check: see date_valid(). */
int64_t days_from_civil(int64_t y, int m, int d);
/* The date of day z since 1970-01-01. */
void civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* t (seconds since the epoch) as ISO 8601 in UTC, the extended form
 * "YYYY-MM-DDThh:mm:ssZ" (DATE_ISO8601_LEN bytes with the NUL), or with
 * basic the form without separators that SigV4 signs, "YYYYMMDDThhmmssZ"
 * (17 bytes).  A year outside 0000..9999 gives "". */
#define DATE_ISO8601_LEN 21
void date_format_iso8601(int64_t t, int basic, char *out);

/* Strict "YYYY-MM-DD": four, two and two digits (no blank or sign), a day
 * of the calendar, years 0000..9999.  0 on success, -1 when s is not of
 * that form, -2 when it is but names no day ("2023-02-29"); the outputs
 * are untouched on failure. */
int date_parse_ymd(const char *s, int *y, int *m, int *d);
/* An ISO 8601 / RFC 3339 date and time, as AWS writes an expiration:
 * "YYYY-MM-DDThh:mm:ss", an optional fraction (ignored), then "Z" or an
 * offset "+hh:mm" / "+hhmm" / "-..." ('t', 'z' and a blank for the 'T' are
 * accepted too).  hh 00..23, mm 00..59, ss 00..60 (a leap second counts as
 * the next minute's first).  Seconds since the epoch in *out; 0 on success,
 * -1 otherwise (*out untouched). */
int date_parse_iso8601(const char *s, int64_t *out);

#endif
