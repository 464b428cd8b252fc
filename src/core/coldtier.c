/*
 * coldtier.c - enumerate the cold tier's days and a day's objects.
 *
 * Partition names are not zero padded, so S3's byte order is not date
 * order ("startMonth=10" sorts before "startMonth=2"); each level is
 * collected (at most a few hundred names) and sorted numerically.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "core/coldtier.h"

struct level {
	const char *stem;         /* "startYear=" */
	long min, max;            /* the values a partition may have */
	const char *parent;       /* the listed prefix */
	long *vals;
	size_t n, cap;
	unsigned long odd;
	const char *url;
};

static sw_err
level_add(void *arg, const struct store_entry *e)
{
	struct level *lv = arg;
	const char *p, *end;
	long v;

	if (!e->is_prefix)
		return SW_OK; /* stray objects beside the partitions */
	p = e->key + strlen(lv->parent);
	if (strncmp(p, lv->stem, strlen(lv->stem)) != 0)
		goto odd;
	p += strlen(lv->stem);
	/* Digits only, not zero padded ("5", not "05", " 5" or "+5"). */
	for (end = p, v = 0; *end >= '0' && *end <= '9' && end - p < 5; end++)
		v = v * 10 + (*end - '0');
	if (end == p || *end != '/' || end[1] != '\0' ||
	    (*p == '0' && end - p > 1) || v < lv->min || v > lv->max)
		goto odd;
	lv->vals = xgrowarray(lv->vals, &lv->cap, lv->n + 1, sizeof(*lv->vals));
	lv->vals[lv->n++] = v;
	return SW_OK;
odd:
	lv->odd++;
	log_warn("skipping '%s%s': not a %s partition", lv->url, e->key,
	    lv->stem);
	return SW_OK;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

/*
 * One level of partitions under parent, sorted.  stem is "startYear=",
 * "startMonth=" or "startDay="; a name out of the level's range (a year
 * before 1970, month 13, day 0 or 32) is skipped with the same warning as
 * any other name that is not a partition.
 */
static sw_err
list_level(struct store *st, const char *parent, const char *stem,
    struct level *lv)
{
	sw_err rc;

	memset(lv, 0, sizeof(*lv));
	lv->stem = stem;
	lv->min = 1;
	lv->max = strcmp(stem, "startMonth=") == 0 ? 12 :
	    strcmp(stem, "startDay=") == 0 ? 31 : 9999;
	if (strcmp(stem, "startYear=") == 0)
		lv->min = 1970;
	lv->parent = parent;
	lv->url = store_url(st);
	rc = store_list(st, parent, "/", NULL, level_add, lv);
	if (rc != SW_OK) {
		/* nothing of a failed listing is handed out */
		free(lv->vals);
		lv->vals = NULL;
		lv->n = lv->cap = 0;
	} else if (lv->n > 0) {
		qsort(lv->vals, lv->n, sizeof(*lv->vals), cmp_long);
	}
	return rc;
}

/* Whether any day of (y, m) — m 0 for the whole year — is in range. */
static int
overlaps(const struct day *from, const struct day *to, int y, int m)
{
	struct day lo = { y, m ? m : 1, 1 }, hi = { y, m ? m : 12, 31 };

	if (from != NULL && day_cmp(&hi, from) < 0)
		return 0;
	if (to != NULL && day_cmp(&lo, to) > 0)
		return 0;
	return 1;
}

sw_err
coldtier_days(struct store *st, const char *prefix, const struct day *from,
    const struct day *to, coldtier_day_fn fn, void *arg)
{
	struct level ly, lm, ld;
	char p1[1024], p2[1024];
	size_t i, j, k;
	sw_err rc;

	if ((rc = list_level(st, prefix, "startYear=", &ly)) != SW_OK)
		return rc;
	for (i = 0; i < ly.n && rc == SW_OK; i++) {
		if (!overlaps(from, to, (int)ly.vals[i], 0))
			continue;
		snprintf(p1, sizeof(p1), "%sstartYear=%ld/", prefix,
		    ly.vals[i]);
		if ((rc = list_level(st, p1, "startMonth=", &lm)) != SW_OK)
			break;
		for (j = 0; j < lm.n && rc == SW_OK; j++) {
			if (!overlaps(from, to, (int)ly.vals[i],
			    (int)lm.vals[j]))
				continue;
			snprintf(p2, sizeof(p2), "%sstartMonth=%ld/", p1,
			    lm.vals[j]);
			if ((rc = list_level(st, p2, "startDay=", &ld)) !=
			    SW_OK)
				break;
			for (k = 0; k < ld.n && rc == SW_OK; k++) {
				struct day d = { (int)ly.vals[i],
					(int)lm.vals[j], (int)ld.vals[k] };
				char s[11];

				day_format(&d, s);
				if (day_parse(s, &d) != SW_OK) {
					log_warn("skipping '%s%sstartDay=%ld/': "
					    "not a calendar day",
					    store_url(st), p2, ld.vals[k]);
					continue;
				}
				if ((from && day_cmp(&d, from) < 0) ||
				    (to && day_cmp(&d, to) > 0))
					continue;
				rc = fn(arg, &d);
			}
			free(ld.vals);
		}
		free(lm.vals);
	}
	free(ly.vals);
	return rc;
}

sw_err
coldtier_level(struct store *st, const char *prefix, int year, int month,
    long **vals, size_t *n)
{
	struct level lv;
	char p[1024];
	size_t i, k = 0;
	sw_err rc;

	if (year == 0)
		snprintf(p, sizeof(p), "%s", prefix);
	else if (month == 0)
		snprintf(p, sizeof(p), "%sstartYear=%d/", prefix, year);
	else
		snprintf(p, sizeof(p), "%sstartYear=%d/startMonth=%d/", prefix,
		    year, month);
	rc = list_level(st, p, year == 0 ? "startYear=" : month == 0 ?
	    "startMonth=" : "startDay=", &lv);
	if (rc != SW_OK) {
		free(lv.vals);
		return rc;
	}
	/* Only real months and calendar days. */
	for (i = 0; i < lv.n; i++) {
		if (year != 0 && month == 0 && lv.vals[i] > 12)
			continue;
		if (month != 0) {
			struct day d = { year, month, (int)lv.vals[i] }, d2;
			char s[11];

			day_format(&d, s);
			if (lv.vals[i] > 31 || day_parse(s, &d2) != SW_OK)
				continue;
		}
		lv.vals[k++] = lv.vals[i];
	}
	*vals = lv.vals;
	*n = k;
	return SW_OK;
}

struct day_walk {
	struct store *st;
	const char *prefix;
	const struct day *d;
	coldtier_obj_fn fn;
	coldtier_bad_fn bad;
	void *arg;
	struct coldtier_stats *stats;
};

static sw_err
skip_key(struct day_walk *w, const struct store_entry *e, const char *why)
{
	w->stats->skipped++;
	if (w->bad != NULL)
		return w->bad(w->arg, e, why);
	log_warn("skipping '%s%s': %s", store_url(w->st), e->key, why);
	return SW_OK;
}

static sw_err
day_obj(void *arg, const struct store_entry *e)
{
	struct day_walk *w = arg;
	struct coldkey k;

	if (e->is_prefix)
		return SW_OK;
	if (coldkey_parse(e->key, w->prefix, &k) != SW_OK) {
		char why[1024];

		snprintf(why, sizeof(why), "%s", sw_errmsg());
		return skip_key(w, e, why);
	}
	if (k.year != w->d->year || k.month != w->d->month ||
	    k.day != w->d->day)
		return skip_key(w, e, "not in the day's partition");
	w->stats->objects++;
	w->stats->bytes += e->size;
	return w->fn(w->arg, e, &k);
}

sw_err
coldtier_list_day(struct store *st, const char *prefix, const struct day *d,
    coldtier_obj_fn fn, coldtier_bad_fn bad, void *arg,
    struct coldtier_stats *stats)
{
	struct coldtier_stats dummy;
	struct day_walk w = { st, prefix, d, fn, bad, arg,
		stats ? stats : &dummy };
	char p[1024];

	memset(w.stats, 0, sizeof(*w.stats));
	day_prefix(d, prefix, p, sizeof(p));
	return store_list(st, p, NULL, NULL, day_obj, &w);
}

sw_err
coldtier_list_series_day(struct store *st, const char *prefix,
    const struct day *d, unsigned bucket, const char *stem,
    const char *series, coldtier_obj_fn fn, coldtier_bad_fn bad, void *arg,
    struct coldtier_stats *stats)
{
	struct coldtier_stats dummy;
	struct day_walk w = { st, prefix, d, fn, bad, arg,
		stats ? stats : &dummy };
	char p[1024];
	size_t n;

	memset(w.stats, 0, sizeof(*w.stats));
	day_prefix(d, prefix, p, sizeof(p));
	n = strlen(p);
	snprintf(p + n, sizeof(p) - n, "seriesBucket=%02x/%s_%s_",
	    bucket & 0xff, stem, series);
	return store_list(st, p, NULL, NULL, day_obj, &w);
}

/* ---- explaining an empty listing ---- */

struct names {
	const char *parent;
	struct buf b;
	size_t n;
	int years;
};

static sw_err
name_add(void *arg, const struct store_entry *e)
{
	struct names *nm = arg;
	const char *name = e->key + strlen(nm->parent);

	if (strncmp(name, "startYear=", 10) == 0 && e->is_prefix)
		nm->years = 1;
	if (nm->n < 8)
		buf_printf(&nm->b, "%s'%s'", nm->n ? ", " : "", name);
	else if (nm->n == 8)
		buf_puts(&nm->b, ", ...");
	nm->n++;
	return SW_OK;
}

static sw_err
list_names(struct store *st, const char *parent, struct names *nm)
{
	memset(nm, 0, sizeof(*nm));
	nm->parent = parent;
	buf_init(&nm->b);
	buf_puts(&nm->b, "");
	return store_list(st, parent, "/", NULL, name_add, nm);
}

sw_err
coldtier_explain_empty(struct store *st, const char *prefix, int *years,
    char **out)
{
	struct names here, up;
	char parent[1024];
	size_t n = strlen(prefix);
	struct buf msg;
	sw_err rc;

	*out = NULL;
	*years = 0;
	if ((rc = list_names(st, prefix, &here)) != SW_OK) {
		buf_release(&here.b);
		return rc;
	}
	*years = here.years;
	buf_init(&msg);
	buf_printf(&msg, "'%s%s' holds %s%s", store_url(st), prefix,
	    here.n ? "no startYear= partition, only " : "nothing",
	    here.n ? here.b.data : "");
	buf_release(&here.b);
	if (n > 0) {
		/* The level above: "a/b/" -> "a/", "raw/" -> "". */
		snprintf(parent, sizeof(parent), "%s", prefix);
		parent[n - 1] = '\0';
		*(strrchr(parent, '/') ? strrchr(parent, '/') + 1 : parent) =
		    '\0';
		if ((rc = list_names(st, parent, &up)) == SW_OK)
			buf_printf(&msg, "; '%s%s' holds %s", store_url(st),
			    parent, up.n ? up.b.data : "nothing");
		buf_release(&up.b);
		if (rc != SW_OK) {
			buf_release(&msg);
			return rc;
		}
	}
	buf_puts(&msg, " (is s3.cold_tier.data_prefix right?)");
	*out = buf_detach(&msg);
	return SW_OK;
}
