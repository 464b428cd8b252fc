/*
 * dates.c - days from a civil date and back, and the date parsers.
 */
#include "config.h"

#include <stddef.h>

#include "base/dates.h"

int
date_is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int
date_valid(int64_t y, int m, int d)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };

	if (m < 1 || m > 12 || d < 1)
		return 0;
	return d <= dm[m - 1] + (m == 2 && date_is_leap(y));
}

/* Years are counted from March, so that the leap day ends a year: era is
 * the 400-year cycle, yoe the year in it, doy the day in that year. */
int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static char *
put_digits(char *out, int64_t v, int width)
{
	int i;

	for (i = width - 1; i >= 0; i--) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return out + width;
}

void
date_format_iso8601(int64_t t, int basic, char *out)
{
	int64_t days = t / 86400, sod = t % 86400, y;
	int m, d;
	char *p = out;

	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		out[0] = '\0';
		return;
	}
	p = put_digits(p, y, 4);
	if (!basic)
		*p++ = '-';
	p = put_digits(p, m, 2);
	if (!basic)
		*p++ = '-';
	p = put_digits(p, d, 2);
	*p++ = 'T';
	p = put_digits(p, sod / 3600, 2);
	if (!basic)
		*p++ = ':';
	p = put_digits(p, sod / 60 % 60, 2);
	if (!basic)
		*p++ = ':';
	p = put_digits(p, sod % 60, 2);
	*p++ = 'Z';
	*p = '\0';
}

/* The value of n digits at *s, advancing *s past them, or -1 if one of
 * them is not a digit (no blank or sign slips through, as with sscanf). */
static int
digits(const char **s, int n)
{
	int v = 0;

	while (n-- > 0) {
		if (**s < '0' || **s > '9')
			return -1;
		v = v * 10 + (*(*s)++ - '0');
	}
	return v;
}

/* "YYYY-MM-DD" at *s, advancing *s past it: -1 when the form is wrong,
 * -2 when it names no day. */
static int
read_ymd(const char **s, int *y, int *m, int *d)
{
	if ((*y = digits(s, 4)) < 0 || *(*s)++ != '-' ||
	    (*m = digits(s, 2)) < 0 || *(*s)++ != '-' ||
	    (*d = digits(s, 2)) < 0)
		return -1;
	return date_valid(*y, *m, *d) ? 0 : -2;
}

int
date_parse_ymd(const char *s, int *y, int *m, int *d)
{
	int yy, mm, dd, r;

	if (s == NULL)
		return -1;
	if ((r = read_ymd(&s, &yy, &mm, &dd)) == -1 || *s != '\0')
		return -1;
	if (r != 0)
		return r;
	*y = yy;
	*m = mm;
	*d = dd;
	return 0;
}

int
date_parse_iso8601(const char *s, int64_t *out)
{
	int Y, M, D, h, m, sec, oh = 0, om = 0, sign = 0;

	if (s == NULL || read_ymd(&s, &Y, &M, &D) != 0 ||
	    (*s != 'T' && *s != 't' && *s != ' '))
		return -1;
	s++;
	if ((h = digits(&s, 2)) < 0 || *s++ != ':' ||
	    (m = digits(&s, 2)) < 0 || *s++ != ':' ||
	    (sec = digits(&s, 2)) < 0)
		return -1;
	if (*s == '.') {
		if (*++s < '0' || *s > '9')
			return -1;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '-' ? -1 : 1;
		if ((oh = digits(&s, 2)) < 0)
			return -1;
		if (*s == ':')
			s++;
		if ((om = digits(&s, 2)) < 0)
			return -1;
	} else {
		return -1;
	}
	if (*s != '\0' || h > 23 || m > 59 || sec > 60 || oh > 23 || om > 59)
		return -1;
	*out = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec -
	    sign * (oh * 3600 + om * 60);
	return 0;
}
