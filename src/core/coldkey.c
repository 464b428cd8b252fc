/*
 * coldkey.c - parse cold-tier keys and handle calendar days.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/dates.h"
#include "core/coldkey.h"

static int
day_valid(int y, int m, int d)
{
	return y >= 1970 && y <= 9999 && date_valid(y, m, d);
}

int64_t
day_to_epoch_days(const struct day *d)
{
	return days_from_civil(d->year, d->month, d->day);
}

void
day_from_epoch_days(int64_t z, struct day *out)
{
	int64_t y;

	civil_from_days(z, &y, &out->month, &out->day);
	out->year = (int)y;
}

int
day_cmp(const struct day *a, const struct day *b)
{
	if (a->year != b->year)
		return a->year < b->year ? -1 : 1;
	if (a->month != b->month)
		return a->month < b->month ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	return 0;
}

sw_err
day_parse(const char *s, struct day *out)
{
	int y, m, d, r;

	if ((r = date_parse_ymd(s, &y, &m, &d)) == -1)
		return sw_seterr(SW_ERR_USAGE, "'%s' is not a date of the form "
		    "YYYY-MM-DD", s);
	if (r != 0 || !day_valid(y, m, d))
		return sw_seterr(SW_ERR_USAGE, "'%s' is not a valid date", s);
	out->year = y;
	out->month = m;
	out->day = d;
	return SW_OK;
}

void
day_format(const struct day *d, char out[11])
{
	snprintf(out, 11, "%04d-%02d-%02d", d->year % 10000, d->month % 100,
	    d->day % 100);
}

void
day_prefix(const struct day *d, const char *prefix, char *out, size_t outlen)
{
	snprintf(out, outlen, "%sstartYear=%d/startMonth=%d/startDay=%d/",
	    prefix ? prefix : "", d->year, d->month, d->day);
}

/* Read a decimal number without zero padding: "5", "12", not "05". */
static const char *
read_num(const char *p, int maxdigits, long *out)
{
	long v = 0;
	int n = 0;

	if (*p == '0' && isdigit((unsigned char)p[1]))
		return NULL;
	while (isdigit((unsigned char)*p) && n < maxdigits) {
		v = v * 10 + (*p - '0');
		p++;
		n++;
	}
	if (n == 0 || isdigit((unsigned char)*p))
		return NULL;
	*out = v;
	return p;
}

static const char *
expect(const char *p, const char *lit)
{
	size_t n = strlen(lit);

	return strncmp(p, lit, n) == 0 ? p + n : NULL;
}

/* "startYear=Y/startMonth=M/startDay=D" at p (no calendar check); what
 * follows it, or NULL. */
static const char *
read_partition(const char *p, long *y, long *m, long *d)
{
	if ((p = expect(p, "startYear=")) == NULL ||
	    (p = read_num(p, 4, y)) == NULL ||
	    (p = expect(p, "/startMonth=")) == NULL ||
	    (p = read_num(p, 2, m)) == NULL ||
	    (p = expect(p, "/startDay=")) == NULL)
		return NULL;
	return read_num(p, 2, d);
}

const char *
day_partition_parse(const char *p, struct day *out)
{
	long y, m, d;

	if ((p = read_partition(p, &y, &m, &d)) == NULL || *p != '/' ||
	    !day_valid((int)y, (int)m, (int)d))
		return NULL;
	out->year = (int)y;
	out->month = (int)m;
	out->day = (int)d;
	return p + 1;
}

static int
uuid_ok(const char *s, size_t n)
{
	size_t i;

	if (n != 36)
		return 0;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

int
coldkey_series_ok(const char *s, size_t n)
{
	if (n == 36)
		return uuid_ok(s, n);
	return n == 73 && s[36] == '_' && uuid_ok(s, 36) &&
	    uuid_ok(s + 37, 36);
}

sw_err
coldkey_parse(const char *key, const char *prefix, struct coldkey *out)
{
	const char *p = key, *name, *end, *q1, *q2;
	long y, m, d;
	size_t plen = prefix ? strlen(prefix) : 0;
	char *tsend;
	int hi, lo;

	memset(out, 0, sizeof(*out));
	if (plen > 0 && strncmp(key, prefix, plen) != 0)
		return sw_seterr(SW_ERR_BADKEY, "key is not under '%s'", prefix);
	p += plen;
	if ((p = read_partition(p, &y, &m, &d)) == NULL ||
	    (p = expect(p, "/seriesBucket=")) == NULL)
		return sw_seterr(SW_ERR_BADKEY, "not a cold-tier partition "
		    "(startYear=Y/startMonth=M/startDay=D/seriesBucket=hh/)");
	if (!day_valid((int)y, (int)m, (int)d))
		return sw_seterr(SW_ERR_BADKEY, "invalid date %ld-%ld-%ld", y,
		    m, d);
	if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]) ||
	    isupper((unsigned char)p[0]) || isupper((unsigned char)p[1]) ||
	    p[2] != '/')
		return sw_seterr(SW_ERR_BADKEY, "seriesBucket is not two "
		    "lowercase hex digits");
	hi = isdigit((unsigned char)p[0]) ? p[0] - '0' : p[0] - 'a' + 10;
	lo = isdigit((unsigned char)p[1]) ? p[1] - '0' : p[1] - 'a' + 10;
	name = p + 3;
	if (strchr(name, '/') != NULL)
		return sw_seterr(SW_ERR_BADKEY, "too many levels below "
		    "seriesBucket");
	if (strncmp(name, "raw_", 4) == 0)
		out->kind = COLDKEY_RAW;
	else if (strncmp(name, "agg_", 4) == 0)
		out->kind = COLDKEY_AGG;
	else
		return sw_seterr(SW_ERR_BADKEY, "file name does not start with "
		    "raw_ or agg_");
	end = name + strlen(name);
	if (end - name < 9 || strcmp(end - 5, ".avro") != 0)
		return sw_seterr(SW_ERR_BADKEY, "file name does not end with "
		    ".avro");
	end -= 5;
	/* From the right: quality, then timestamp, then the series id. */
	for (q1 = end; q1 > name + 4 && q1[-1] != '_'; q1--)
		;
	if (q1 <= name + 4)
		return sw_seterr(SW_ERR_BADKEY, "file name has no quality");
	if (!(end - q1 == 4 && strncmp(q1, "GOOD", 4) == 0) &&
	    !(end - q1 == 3 && strncmp(q1, "BAD", 3) == 0) &&
	    !(end - q1 == 9 && strncmp(q1, "UNCERTAIN", 9) == 0))
		return sw_seterr(SW_ERR_BADKEY, "quality '%.*s' is not GOOD, "
		    "BAD or UNCERTAIN", (int)(end - q1), q1);
	for (q2 = q1 - 1; q2 > name + 4 && q2[-1] != '_'; q2--)
		;
	if (q2 <= name + 4 || q2 == q1 - 1)
		return sw_seterr(SW_ERR_BADKEY, "file name has no start "
		    "timestamp");
	out->start = strtoll(q2, &tsend, 10);
	if (tsend != q1 - 1 || !isdigit((unsigned char)*q2) || q1 - 1 - q2 > 12)
		return sw_seterr(SW_ERR_BADKEY, "start timestamp '%.*s' is not "
		    "a number", (int)(q1 - 1 - q2), q2);
	if (!coldkey_series_ok(name + 4, (size_t)(q2 - 1 - (name + 4))))
		return sw_seterr(SW_ERR_BADKEY, "series id '%.*s' is neither "
		    "a UUID nor assetId_propertyId",
		    (int)(q2 - 1 - (name + 4)), name + 4);
	memcpy(out->series, name + 4, (size_t)(q2 - 1 - (name + 4)));
	memcpy(out->quality, q1, (size_t)(end - q1));
	out->year = (int)y;
	out->month = (int)m;
	out->day = (int)d;
	out->bucket = (unsigned)(hi * 16 + lo);
	return SW_OK;
}
