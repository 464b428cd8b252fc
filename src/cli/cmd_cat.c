/*
 * cmd_cat.c - `swrepart cat`: the records of days, or of some series of
 * them, as JSON lines, CSV or a table, filtered by time and quality.
 *
 * Each day comes from the day engine (built into the cache when missing,
 * then pinned), and its records are decoded by avro-c (avro/rawread.c)
 * from byte ranges of the day file.  A selection of up to
 * SERIES_VIEWS_MAX series is read from the engine's views of each series'
 * day: cut from the cached whole day, else the series' own small day,
 * built from its objects alone (a handful of GETs, not the day's
 * thousands).  A larger selection reads the whole day and the ranges of
 * its series (day_ranges()).  One day is
 * read at a time and one record held at a time: memory does not grow with
 * the days or their size.  When the reader of the output goes away
 * (`| head`), cat stops before the next day, quietly, with status 0.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "avro/rawread.h"
#include "base/dates.h"
#include "base/err.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/catalog.h"
#include "core/engine.h"
#include "store/store.h"

enum {
	O_FROM, O_TO, O_FROM_TIME, O_TO_TIME, O_QUALITY, O_SERIES, O_ASSET,
	O_PROPERTY, O_ALIAS, O_FORMAT
};

static const struct cmd_opt cat_opts[] = {
	[O_FROM] = { "from", 0, "DATE", "first day, YYYY-MM-DD (with --to: "
	    "the days with data between)" },
	[O_TO] = { "to", 0, "DATE", "last day, YYYY-MM-DD" },
	[O_FROM_TIME] = { "from-time", 0, "TIME", "only records at TIME or "
	    "later (ISO 8601 such as 2022-03-01T06:00:00Z, or epoch seconds)" },
	[O_TO_TIME] = { "to-time", 0, "TIME", "only records before TIME "
	    "(the interval is half-open)" },
	[O_QUALITY] = { "quality", 0, "LIST", "only records of these "
	    "qualities: GOOD,BAD,UNCERTAIN" },
	[O_SERIES] = { "series", 0, "ID", "only the series ID (repeatable)" },
	[O_ASSET] = { "asset", 0, "NAME", "only the series of the asset "
	    "named NAME (or of id NAME), from the asset metadata" },
	[O_PROPERTY] = { "property", 0, "NAME", "only the series of the "
	    "property named NAME (or of id NAME; of --asset's assets)" },
	[O_ALIAS] = { "alias", 0, "PATH", "only the series whose alias is "
	    "PATH, or starts with PATH when it ends in '/' (repeatable)" },
	[O_FORMAT] = { "format", 0, "FMT", "json (JSON lines), csv or table "
	    "(default: table on a terminal, json otherwise)" },
	{ NULL, 0, NULL, NULL }
};

#define NS 1000000000LL

/* A point in time: s seconds since the epoch and ns nanoseconds,
 * 0 <= ns < NS. */
struct when {
	int64_t s, ns;
};

#define Q_GOOD 1u
#define Q_BAD 2u
#define Q_UNCERTAIN 4u

struct cat {
	struct engine *e;
	enum cmd_format fmt;
	int selecting;            /* a selection of series was given */
	char **sel;               /* its series ids, sorted, unique */
	size_t nsel;
	int has_from, has_to;
	struct when from, to;     /* [from, to) */
	unsigned quality;         /* Q_* wanted, 0: every record */
	struct buf line;          /* the record being written */
	struct buf value;         /* its value, for CSV */
	int series_w;             /* the table's series column */
	int tty;                  /* progress on stderr */
	int status_shown;         /* a progress line is on it */
	uint64_t records;         /* written */
	uint64_t hits;            /* days that held a selected series */
};

/* ---- the command line ---- */

static sw_err
parse_digits(const char *p, size_t n, int64_t max, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (n == 0)
		return SW_ERR_USAGE;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (max - (p[i] - '0')) / 10)
			return SW_ERR_USAGE;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return SW_OK;
}

/* ".123" (up to nine digits) at p as nanoseconds, or nothing. */
static sw_err
parse_fraction(const char *p, size_t n, int64_t *ns)
{
	int64_t v;
	size_t i;

	*ns = 0;
	if (n == 0)
		return SW_OK;
	if ((p[0] != '.' && p[0] != ',') || n > 10 ||
	    parse_digits(p + 1, n - 1, NS, &v) != SW_OK)
		return SW_ERR_USAGE;
	for (i = n - 1; i < 9; i++)
		v *= 10;
	*ns = v;
	return SW_OK;
}

/*
 * --from-time / --to-time: epoch seconds ("1646114400", "-5.25",
 * "1646114400.000000001"), a day ("2022-03-01": its midnight, UTC) or an
 * ISO 8601 time with a zone ("2022-03-01T06:00:00Z", "...T06:00:00.5Z",
 * "...T08:00:00+02:00").
 */
static sw_err
parse_when(const char *opt, const char *v, struct when *w)
{
	size_t n = strlen(v), k;
	struct day d;
	int neg = v[0] == '-';
	int64_t s;

	k = strspn(v + neg, "0123456789");
	if (k > 0 && parse_digits(v + neg, k, INT64_MAX / NS - 1, &s) ==
	    SW_OK && parse_fraction(v + neg + k, n - neg - k, &w->ns) ==
	    SW_OK) {
		w->s = neg ? -s : s;
		if (neg && w->ns > 0) {
			w->s--;
			w->ns = NS - w->ns;
		}
		return SW_OK;
	}
	if (n == 10 && day_parse(v, &d) == SW_OK) {
		w->s = day_to_epoch_days(&d) * 86400;
		w->ns = 0;
		return SW_OK;
	}
	/* the fraction, which date_parse_iso8601() skips, is ours */
	k = n > 19 ? strcspn(v + 19, "Zz+-") : 0;
	if (n < 20 || date_parse_iso8601(v, &w->s) != 0 ||
	    parse_fraction(v + 19, k, &w->ns) != SW_OK)
		return sw_seterr(SW_ERR_USAGE, "--%s: '%s' is not a time: use "
		    "ISO 8601 with a zone (2022-03-01T06:00:00Z) or seconds "
		    "since the epoch", opt, v);
	return SW_OK;
}

static int
when_cmp(const struct when *a, const struct when *b)
{
	if (a->s != b->s)
		return a->s < b->s ? -1 : 1;
	return a->ns < b->ns ? -1 : a->ns > b->ns;
}

/* The UTC day of w. */
static void
when_day(const struct when *w, struct day *d)
{
	int64_t s = w->s;

	day_from_epoch_days(s >= 0 ? s / 86400 : -((-s + 86399) / 86400), d);
}

static sw_err
parse_quality(const char *v, unsigned *out)
{
	static const char *const names[] = { "GOOD", "BAD", "UNCERTAIN" };
	const char *p, *e;
	size_t i, n;

	*out = 0;
	for (p = v; ; p = e + 1) {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		for (i = 0; i < 3; i++)
			if (strlen(names[i]) == n && strncasecmp(p, names[i],
			    n) == 0)
				break;
		if (i == 3)
			return sw_seterr(SW_ERR_USAGE, "--quality: '%.*s' is not "
			    "a quality: use GOOD, BAD or UNCERTAIN, separated "
			    "by commas", (int)n, p);
		*out |= 1u << i;
		if (*e == '\0')
			return SW_OK;
	}
}

static void
sel_add(struct cat *c, size_t *cap, const char *id)
{
	c->sel = xgrowarray(c->sel, cap, c->nsel + 1, sizeof(*c->sel));
	c->sel[c->nsel++] = xstrdup(id);
}

/* Sort the selection and drop repeats. */
static void
sel_finish(struct cat *c)
{
	size_t i, j = 0;

	if (c->nsel > 1)
		qsort(c->sel, c->nsel, sizeof(*c->sel), strv_cmp);
	for (i = 0; i < c->nsel; i++) {
		if (j > 0 && strcmp(c->sel[j - 1], c->sel[i]) == 0)
			free(c->sel[i]);
		else
			c->sel[j++] = c->sel[i];
	}
	c->nsel = j;
}

static int
selected(const struct cat *c, const char *id)
{
	return !c->selecting || (c->nsel > 0 && bsearch(&id, c->sel, c->nsel,
	    sizeof(*c->sel), strv_cmp) != NULL);
}

struct names {
	const char *asset, *property;
	const char **alias;
	size_t nalias;
};

static int
name_is(const char *want, const char *name, const char *id)
{
	return (name != NULL && strcmp(want, name) == 0) ||
	    (id != NULL && strcmp(want, id) == 0);
}

static int
alias_is(const char *want, const char *alias)
{
	size_t n = strlen(want);

	if (alias == NULL)
		return 0;
	if (n > 0 && want[n - 1] == '/')
		return strncmp(want, alias, n) == 0;
	return strcmp(want, alias) == 0;
}

/* The series that --asset/--property and --alias name, from the asset
 * metadata (core/catalog.h): each name must find one at least. */
static sw_err
resolve_names(struct cat *c, size_t *cap, const struct names *nm)
{
	struct catalog cat;
	char *prefix;
	size_t i, k, found;
	sw_err rc;

	memset(&cat, 0, sizeof(cat));
	prefix = catalog_meta_prefix(engine_prefix(c->e));
	rc = catalog_load(engine_cold(c->e), prefix, &cat);
	if (rc == SW_OK && (nm->asset != NULL || nm->property != NULL)) {
		for (i = found = 0; i < cat.n; i++) {
			const struct catalog_row *r = &cat.rows[i];

			if ((nm->asset == NULL || name_is(nm->asset,
			    r->asset_name, r->asset_id)) &&
			    (nm->property == NULL || name_is(nm->property,
			    r->property_name, r->property_id))) {
				sel_add(c, cap, r->series_id);
				found++;
			}
		}
		if (found == 0 && nm->asset != NULL && nm->property != NULL)
			rc = sw_seterr(SW_ERR_NOTFOUND, "no asset '%s' with a "
			    "property '%s' that has a time series in the asset "
			    "metadata of '%s%s' (see swrepart series)",
			    nm->asset, nm->property, store_url(engine_cold(
			    c->e)), prefix);
		else if (found == 0)
			rc = sw_seterr(SW_ERR_NOTFOUND, "no %s '%s' with a "
			    "time series in the asset metadata of '%s%s' (see "
			    "swrepart series)", nm->asset ? "asset" :
			    "property", nm->asset ? nm->asset : nm->property,
			    store_url(engine_cold(c->e)), prefix);
	}
	for (k = 0; rc == SW_OK && k < nm->nalias; k++) {
		for (i = found = 0; i < cat.n; i++)
			if (alias_is(nm->alias[k], cat.rows[i].alias)) {
				sel_add(c, cap, cat.rows[i].series_id);
				found++;
			}
		if (found == 0)
			rc = sw_seterr(SW_ERR_NOTFOUND, "no series has the alias "
			    "'%s' in the asset metadata of '%s%s' (see swrepart "
			    "series)", nm->alias[k], store_url(engine_cold(
			    c->e)), prefix);
	}
	catalog_release(&cat);
	free(prefix);
	return rc;
}

/* ---- which bytes of a day to decode ---- */

/*
 * The ranges of the pinned day's file to decode, and the records they
 * hold (RAWREAD_UNKNOWN when the index does not say): the whole file, or
 * for a selection of series its header (what precedes the first object)
 * and the blocks of those series' objects, adjacent ones joined.  No
 * range: nothing of the day to read.  (A selection of a few series reads
 * the engine's views of them instead: cat_series_day().)
 */
static sw_err
day_ranges(struct cat *c, const struct engine_pin *pin,
    struct rawread_range **out, size_t *n, uint64_t *records)
{
	struct rawread_range *r;
	struct coldkey k;
	uint64_t head = UINT64_MAX;
	size_t i, m = 0;
	sw_err rc;

	*out = NULL;
	*n = 0;
	*records = 0;
	if (pin->nobjs == 0)
		return SW_OK;
	if (!c->selecting) {
		*out = xcalloc(1, sizeof(**out));
		(*out)[0].len = pin->size;
		*n = 1;
		*records = pin->records;
		return SW_OK;
	}
	r = xcalloc(pin->nobjs + 1, sizeof(*r));
	for (i = 0; i < pin->nobjs; i++)
		if (pin->objs[i].off < head)
			head = pin->objs[i].off;
	r[m++].len = head;
	for (i = 0; i < pin->nobjs; i++) {
		const struct cache_obj *o = &pin->objs[i];

		if ((rc = coldkey_parse(o->key, engine_prefix(c->e), &k)) !=
		    SW_OK) {
			free(r);
			return sw_adderr(rc, "the cache's index of the day");
		}
		if (!selected(c, k.series) || o->len == 0)
			continue;
		if (*records != RAWREAD_UNKNOWN)
			*records = o->records == UINT64_MAX ?
			    RAWREAD_UNKNOWN : *records + o->records;
		if (r[m - 1].off + r[m - 1].len == o->off)
			r[m - 1].len += o->len;
		else
			r[m++] = (struct rawread_range){ o->off, o->len };
	}
	if (m == 1)   /* the header alone: none of the series */
		m = 0;
	*out = r;
	*n = m;
	return SW_OK;
}

/* ---- writing records ---- */

/* Records are written by the hundred thousand a second: no printf in
 * their way. */
#define put_lit(b, s) buf_append((b), (s), sizeof(s) - 1)

static void
put_i64(struct buf *b, int64_t v)
{
	char t[24], *p = t + sizeof(t);
	uint64_t u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) != 0);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(t + sizeof(t) - p));
}

static int
utf8_len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0];

	if (c >= 0xc2 && c <= 0xdf && n >= 2 && (p[1] & 0xc0) == 0x80)
		return 2;
	if (c >= 0xe0 && c <= 0xef && n >= 3 && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80 && (c != 0xe0 || p[1] >= 0xa0) &&
	    (c != 0xed || p[1] <= 0x9f))
		return 3;
	if (c >= 0xf0 && c <= 0xf4 && n >= 4 && (p[1] & 0xc0) == 0x80 &&
	    (p[2] & 0xc0) == 0x80 && (p[3] & 0xc0) == 0x80 &&
	    (c != 0xf0 || p[1] >= 0x90) && (c != 0xf4 || p[1] <= 0x8f))
		return 4;
	return 0;
}

/* A JSON string: quotes, backslashes and control characters escaped,
 * bytes that are not UTF-8 as U+FFFD. */
static void
put_json_str(struct buf *b, const struct rawread_str *s)
{
	const unsigned char *p = (const unsigned char *)s->s;
	size_t i = 0, from = 0;
	int len;

	buf_putc(b, '"');
	while (i < s->n) {
		if (p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' &&
		    p[i] != '\\') {
			i++;
			continue;
		}
		if (p[i] >= 0x80 && (len = utf8_len(p + i, s->n - i)) > 0) {
			i += (size_t)len;
			continue;
		}
		buf_append(b, p + from, i - from);
		if (p[i] == '"' || p[i] == '\\') {
			buf_putc(b, '\\');
			buf_putc(b, (char)p[i]);
		} else if (p[i] == '\n') {
			put_lit(b, "\\n");
		} else if (p[i] == '\t') {
			put_lit(b, "\\t");
		} else if (p[i] == '\r') {
			put_lit(b, "\\r");
		} else if (p[i] < 0x20) {
			buf_printf(b, "\\u%04x", p[i]);
		} else {
			put_lit(b, "\\ufffd");
		}
		from = ++i;
	}
	buf_append(b, p + from, i - from);
	buf_putc(b, '"');
}

/* A table cell: control characters escaped, so that a record stays on
 * its line. */
static void
put_text(struct buf *b, const struct rawread_str *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		unsigned char ch = (unsigned char)s->s[i];

		if (ch == '\n')
			buf_puts(b, "\\n");
		else if (ch == '\t')
			buf_puts(b, "\\t");
		else if (ch < 0x20 || ch == 0x7f)
			buf_printf(b, "\\x%02x", ch);
		else
			buf_putc(b, (char)ch);
	}
}

/*
 * A double, exactly: the shortest of %.15g..%.17g that reads back as the
 * same double, with ".0" when it would read as an integer.  JSON has no
 * NaN or infinities: they are the strings "NaN", "Infinity" and
 * "-Infinity" there, and those words bare in CSV and tables.
 */
static void
put_double(struct buf *b, double v, int json)
{
	char s[40];
	int p;

	if (isnan(v) || isinf(v)) {
		if (json)
			buf_putc(b, '"');
		buf_puts(b, isnan(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity");
		if (json)
			buf_putc(b, '"');
		return;
	}
	for (p = 15; p < 17; p++) {
		snprintf(s, sizeof(s), "%.*g", p, v);
		if (strtod(s, NULL) == v)
			break;
	}
	if (p == 17)
		snprintf(s, sizeof(s), "%.17g", v);
	buf_puts(b, s);
	if (strpbrk(s, ".e") == NULL)
		buf_puts(b, ".0");
}

static void
put_json(struct buf *b, const struct raw_record *r)
{
	put_lit(b, "{\"seriesId\":");
	put_json_str(b, &r->series);
	put_lit(b, ",\"timeInSeconds\":");
	put_i64(b, r->time_s);
	put_lit(b, ",\"offsetInNanos\":");
	put_i64(b, r->offset_ns);
	put_lit(b, ",\"quality\":");
	put_json_str(b, &r->quality);
	put_lit(b, ",\"doubleValue\":");
	if (r->has_double)
		put_double(b, r->dbl, 1);
	else
		put_lit(b, "null");
	put_lit(b, ",\"stringValue\":");
	if (r->has_string)
		put_json_str(b, &r->str);
	else
		put_lit(b, "null");
	put_lit(b, ",\"integerValue\":");
	if (r->has_integer)
		put_i64(b, r->integer);
	else
		put_lit(b, "null");
	put_lit(b, ",\"booleanValue\":");
	if (r->has_boolean && r->boolean)
		put_lit(b, "true");
	else
		buf_puts(b, r->has_boolean ? "false" : "null");
	put_lit(b, ",\"jsonValue\":");
	if (r->has_json)
		put_json_str(b, &r->json);
	else
		put_lit(b, "null");
	put_lit(b, ",\"recordVersion\":");
	if (r->has_version)
		put_i64(b, r->version);
	else
		put_lit(b, "null");
	put_lit(b, "}\n");
}

/* The value of a record as a table or CSV shows it, and its type: the
 * first value field that is not null, in the schema's order (SiteWise
 * sets one). */
static const char *
put_value(struct buf *b, const struct raw_record *r, int csv)
{
	const struct rawread_str *s = NULL;
	const char *type = "";

	if (r->has_double) {
		put_double(b, r->dbl, 0);
		return "double";
	} else if (r->has_string) {
		s = &r->str;
		type = "string";
	} else if (r->has_integer) {
		put_i64(b, r->integer);
		return "integer";
	} else if (r->has_boolean) {
		buf_puts(b, r->boolean ? "true" : "false");
		return "boolean";
	} else if (r->has_json) {
		s = &r->json;
		type = "json";
	}
	if (s != NULL && csv)
		cmd_csv_field(b, s->s, s->n);
	else if (s != NULL)
		put_text(b, s);
	return type;
}

#define CSV_HEADER "seriesId,timeInSeconds,offsetInNanos,quality,type,value," \
	"recordVersion\n"

/* v is scratch space for the value. */
static void
put_csv(struct buf *b, struct buf *v, const struct raw_record *r)
{
	const char *type;

	cmd_csv_field(b, r->series.s, r->series.n);
	buf_putc(b, ',');
	put_i64(b, r->time_s);
	buf_putc(b, ',');
	put_i64(b, r->offset_ns);
	buf_putc(b, ',');
	cmd_csv_field(b, r->quality.s, r->quality.n);
	v->len = 0;
	type = put_value(v, r, 1);
	buf_putc(b, ',');
	buf_puts(b, type);
	buf_putc(b, ',');
	buf_append(b, v->data, v->len);
	buf_putc(b, ',');
	if (r->has_version)
		put_i64(b, r->version);
	buf_putc(b, '\n');
}

/* Normalize a record's time: offsetInNanos in [0, NS). */
static void
record_when(const struct raw_record *r, struct when *w)
{
	int64_t carry = r->offset_ns / NS, ns = r->offset_ns % NS;

	if (ns < 0) {
		ns += NS;
		carry--;
	}
	if (__builtin_add_overflow(r->time_s, carry, &w->s))
		w->s = carry > 0 ? INT64_MAX : INT64_MIN;
	w->ns = ns;
}

#define TIME_W 30     /* 2022-03-01T06:00:00.000000000Z */
#define VERSION_W 13  /* milliseconds since the epoch, as SiteWise's */

static void
put_table(struct cat *c, struct buf *b, const struct raw_record *r)
{
	struct when w;
	char t[DATE_ISO8601_LEN];
	size_t at;

	record_when(r, &w);
	date_format_iso8601(w.s, 0, t);
	at = b->len;
	if (t[0] != '\0')
		buf_printf(b, "%.19s.%09lldZ", t, (long long)w.ns);
	else
		buf_printf(b, "%lld.%09lld", (long long)w.s, (long long)w.ns);
	buf_printf(b, "%*s  %-*.*s  %-9.*s  ", (int)(TIME_W - (b->len - at) >
	    0 ? TIME_W - (b->len - at) : 0), "", c->series_w,
	    (int)r->series.n, r->series.s, (int)r->quality.n, r->quality.s);
	if (r->has_version)
		buf_printf(b, "%-*lld  ", VERSION_W, (long long)r->version);
	else
		buf_printf(b, "%-*s  ", VERSION_W, "-");
	at = b->len;
	put_value(b, r, 0);
	if (b->len == at)
		buf_putc(b, '-');
	buf_putc(b, '\n');
}

static void
put_header(struct cat *c)
{
	if (c->fmt == CMD_FMT_CSV)
		fputs(CSV_HEADER, stdout);
	else if (c->fmt == CMD_FMT_TABLE)
		printf("%-*s  %-*s  %-9s  %-*s  %s\n", TIME_W, "TIME",
		    c->series_w, "SERIES", "QUALITY", VERSION_W, "VERSION",
		    "VALUE");
}

static int
wanted(const struct cat *c, const struct raw_record *r)
{
	struct when w;
	unsigned q = 0;

	if (c->quality != 0) {
		if (r->quality.n == 4 && memcmp(r->quality.s, "GOOD", 4) == 0)
			q = Q_GOOD;
		else if (r->quality.n == 3 && memcmp(r->quality.s, "BAD", 3) ==
		    0)
			q = Q_BAD;
		else if (r->quality.n == 9 && memcmp(r->quality.s,
		    "UNCERTAIN", 9) == 0)
			q = Q_UNCERTAIN;
		if ((c->quality & q) == 0)
			return 0;
	}
	if (c->has_from || c->has_to) {
		record_when(r, &w);
		if (c->has_from && when_cmp(&w, &c->from) < 0)
			return 0;
		if (c->has_to && when_cmp(&w, &c->to) >= 0)
			return 0;
	}
	/* an object's records are its series', unless a writer erred */
	return !c->selecting || (strlen(r->series.s) == r->series.n &&
	    selected(c, r->series.s));
}

/* ---- the days ---- */

static void
progress(void *arg, const struct day *d, uint64_t done, uint64_t total)
{
	struct cat *c = arg;
	char ds[11], line[128];

	if (!c->tty)
		return;
	day_format(d, ds);
	snprintf(line, sizeof(line), "%s: fetching %llu/%llu objects", ds,
	    (unsigned long long)done, (unsigned long long)total);
	log_status(line);
	c->status_shown = 1;
}

/* Print the records of byte ranges of an open day file. */
static sw_err
print_ranges(struct cat *c, int fd, const char *name,
    const struct rawread_range *r, size_t n, uint64_t records)
{
	struct rawread *rd = NULL;
	struct raw_record rec;
	int got = 0;
	sw_err rc;

	rc = rawread_open(fd, name, r, n, records, &rd);
	while (rc == SW_OK && (rc = rawread_next(rd, &rec, &got)) == SW_OK &&
	    got) {
		if (!wanted(c, &rec))
			continue;
		c->line.len = 0;
		if (c->fmt == CMD_FMT_JSON)
			put_json(&c->line, &rec);
		else if (c->fmt == CMD_FMT_CSV)
			put_csv(&c->line, &c->value, &rec);
		else
			put_table(c, &c->line, &rec);
		fwrite(c->line.data, 1, c->line.len, stdout);
		c->records++;
		if (ferror(stdout))
			break;
	}
	rawread_free(rd);
	return rc;
}

/* A few series: their days from the engine's views (cut from the cached
 * whole day, else each series' own small day, built from its objects
 * alone), not the whole day. */
#define SERIES_VIEWS_MAX 256

static int
view_cmp(const void *a, const void *b)
{
	const struct engine_view *x = a, *y = b;

	return x->bucket != y->bucket ? (x->bucket < y->bucket ? -1 : 1) :
	    strcmp(x->series, y->series);
}

/* Print the selected series' records of day d, in key order (by bucket,
 * then id). */
static sw_err
cat_series_day(struct cat *c, const struct day *d)
{
	struct engine_view *v = xcalloc(c->nsel + 1, sizeof(*v));
	struct engine_report rep;
	size_t i, n = 0;
	char ds[11];
	sw_err rc = SW_OK;

	day_format(d, ds);
	for (i = 0; i < c->nsel && rc == SW_OK; i++) {
		rc = engine_series_pin(c->e, c->sel[i], -1, d, &v[n]);
		if (rc == SW_ERR_NOTFOUND)
			rc = engine_series_build(c->e, c->sel[i], -1, d, &rep,
			    &v[n]);
		if (rc == SW_ERR_NOTFOUND) {
			/* of another time-series type: selects nothing */
			log_debug("%s", sw_errmsg());
			rc = SW_OK;
			continue;
		}
		if (rc == SW_OK && v[n].records == 0)
			engine_view_release(&v[n]);
		else if (rc == SW_OK)
			n++;
	}
	if (c->status_shown)
		log_status(NULL);
	c->status_shown = 0;
	if (rc == SW_OK && n > 0)
		c->hits++;
	if (n > 1)
		qsort(v, n, sizeof(*v), view_cmp);
	for (i = 0; i < n; i++) {
		char name[160];

		snprintf(name, sizeof(name), "%s of series %s", ds,
		    v[i].series);
		if (rc == SW_OK)
			rc = print_ranges(c, v[i].pin.fd, name,
			    (const struct rawread_range *)v[i].segs,
			    v[i].nsegs, v[i].records);
		if (rc == SW_OK && engine_view_touch(c->e, &v[i], d) != SW_OK)
			log_debug("%s", sw_errmsg());
		engine_view_release(&v[i]);
	}
	free(v);
	if (rc == SW_OK)
		rc = cmd_stdout_flush("the records");
	return rc;
}

/* Build (when needed), pin and print day d. */
static sw_err
cat_day(struct cat *c, const struct day *d)
{
	struct engine_report rep;
	struct engine_pin pin;
	struct rawread_range *r = NULL;
	uint64_t records = 0;
	size_t n = 0;
	char ds[11];
	sw_err rc;

	if (c->selecting && c->nsel <= SERIES_VIEWS_MAX)
		return cat_series_day(c, d);
	day_format(d, ds);
	memset(&rep, 0, sizeof(rep));
	rc = engine_day_ex(c->e, d, NULL, NULL, &rep, &pin);
	if (c->status_shown)
		log_status(NULL);
	c->status_shown = 0;
	if (rc != SW_OK)
		return rc;
	if (!rep.up_to_date)
		log_info("%s: built: %llu objects fetched, %llu records",
		    ds, (unsigned long long)rep.fetched,
		    (unsigned long long)rep.records);
	if (rep.listed == 0)
		log_notice("%s: the cold tier holds no object of that day", ds);
	rc = day_ranges(c, &pin, &r, &n, &records);
	if (rc == SW_OK && c->selecting && n > 0)
		c->hits++;
	if (rc == SW_OK)
		rc = print_ranges(c, pin.fd, rep.file, r, n, records);
	free(r);
	engine_pin_release(&pin);
	engine_day_touch(c->e, d);
	if (rc == SW_OK)
		rc = cmd_stdout_flush("the records");
	return rc;
}

static int
day_cmp_v(const void *a, const void *b)
{
	return day_cmp(a, b);
}

/* The days to read: the DAY operands, the days with data of --from/--to
 * and, when neither is given, those of --from-time/--to-time. */
static sw_err
pick_days(struct cat *c, char **argv, int argc, const struct day_range *range,
    struct day **out, size_t *n)
{
	struct day *v = NULL, *listed = NULL, lo, hi;
	const struct day *plo = range->lo, *phi = range->hi;
	size_t cap = 0, nv = 0, nl = 0, i, j;
	struct when last;
	sw_err rc = SW_OK;

	*out = NULL;
	*n = 0;
	for (i = 0; i < (size_t)argc && rc == SW_OK; i++) {
		v = xgrowarray(v, &cap, nv + 1, sizeof(*v));
		rc = day_parse(argv[i], &v[nv++]);
	}
	if (argc == 0 && plo == NULL && phi == NULL) {
		if (c->has_from) {
			when_day(&c->from, &lo);
			plo = &lo;
		}
		if (c->has_to) {
			/* the day of the last nanosecond before to */
			last = c->to;
			if (last.ns > 0) {
				last.ns--;
			} else {
				last.s--;
				last.ns = NS - 1;
			}
			when_day(&last, &hi);
			phi = &hi;
		}
	}
	if (rc == SW_OK && (plo != NULL || phi != NULL) && (plo == NULL ||
	    phi == NULL || day_cmp(plo, phi) <= 0))
		rc = engine_days(c->e, plo, phi, &listed, &nl);
	for (i = 0; rc == SW_OK && i < nl; i++) {
		v = xgrowarray(v, &cap, nv + 1, sizeof(*v));
		v[nv++] = listed[i];
	}
	free(listed);
	if (rc != SW_OK) {
		free(v);
		return rc;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), day_cmp_v);
	for (i = j = 0; i < nv; i++)
		if (j == 0 || day_cmp(&v[j - 1], &v[i]) != 0)
			v[j++] = v[i];
	*out = v;
	*n = j;
	return SW_OK;
}

static void
cat_release(struct cat *c)
{
	strv_free(c->sel, c->nsel);
	buf_release(&c->line);
	buf_release(&c->value);
	engine_free(c->e);
}

static int
cmd_cat(struct ctx *ctx, const struct cmd_arg *args, int nargs,
    int argc, char **argv)
{
	struct cat c;
	struct names nm;
	struct engine_opts eo;
	struct day_range range;
	struct day *days = NULL;
	const char **aliases;
	size_t ndays = 0, k, cap = 0;
	char ds[11];
	int i, status = 0;
	sw_err rc = SW_OK;

	memset(&c, 0, sizeof(c));
	memset(&nm, 0, sizeof(nm));
	memset(&range, 0, sizeof(range));
	aliases = xcalloc((size_t)nargs + 1, sizeof(*aliases));
	nm.alias = aliases;
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		const char *v = args[i].value;

		switch (args[i].opt) {
		case O_FROM:
		case O_TO:
			rc = day_range_set(&range, args[i].opt == O_TO, v);
			break;
		case O_FROM_TIME:
			c.has_from = 1;
			rc = parse_when("from-time", v, &c.from);
			break;
		case O_TO_TIME:
			c.has_to = 1;
			rc = parse_when("to-time", v, &c.to);
			break;
		case O_QUALITY:
			rc = parse_quality(v, &c.quality);
			break;
		case O_SERIES:
			if (!coldkey_series_ok(v, strlen(v)))
				rc = sw_seterr(SW_ERR_USAGE, "--series: '%s' is "
				    "not a series id (a UUID, or two joined by "
				    "'_')", v);
			else
				sel_add(&c, &cap, v);
			break;
		case O_ASSET:
		case O_PROPERTY:
			if ((args[i].opt == O_ASSET ? nm.asset : nm.property) !=
			    NULL)
				rc = sw_seterr(SW_ERR_USAGE, "--%s is given twice",
				    cat_opts[args[i].opt].name);
			else if (args[i].opt == O_ASSET)
				nm.asset = v;
			else
				nm.property = v;
			break;
		case O_ALIAS:
			aliases[nm.nalias++] = v;
			break;
		case O_FORMAT:
			rc = cmd_format_parse(v, "json,ndjson,csv,table", &c.fmt);
			break;
		}
	}
	if (rc == SW_OK)
		rc = day_range_check(&range);
	if (rc == SW_OK && c.has_from && c.has_to && when_cmp(&c.from,
	    &c.to) >= 0)
		rc = sw_seterr(SW_ERR_USAGE, "--from-time is not before "
		    "--to-time (the interval is [from, to))");
	if (rc == SW_OK && argc == 0 && range.lo == NULL && range.hi == NULL &&
	    !c.has_from && !c.has_to)
		rc = sw_seterr(SW_ERR_USAGE, "which days? name them (cat "
		    "2022-03-01), or give --from/--to or --from-time/--to-time");
	for (i = 0; rc == SW_OK && i < argc; i++) {
		struct day d;

		rc = day_parse(argv[i], &d);
	}
	if (rc == SW_OK)
		rc = config_need_cold(&ctx->cfg);
	if (rc != SW_OK) {
		free(aliases);
		cat_release(&c);
		return cmd_fail(rc);
	}
	c.selecting = c.nsel > 0 || nm.asset || nm.property || nm.nalias > 0;
	c.fmt = cmd_format_default(c.fmt, CMD_FMT_JSON);
	c.tty = isatty(STDERR_FILENO) && log_level >= LOG_LVL_NOTICE;
	cmd_stdout_open();

	memset(&eo, 0, sizeof(eo));
	eo.progress = progress;
	eo.progress_arg = &c;
	rc = engine_new(&ctx->cfg, &eo, &c.e);
	if (rc == SW_OK && (nm.asset || nm.property || nm.nalias > 0))
		rc = resolve_names(&c, &cap, &nm);
	free(aliases);
	if (rc == SW_OK)
		rc = pick_days(&c, argv, argc, &range, &days, &ndays);
	if (rc != SW_OK) {
		cat_release(&c);
		return cmd_fail(rc);
	}
	sel_finish(&c);
	/* the table's series column: the longest selected id, or the
	 * longest an id can be (two UUIDs) */
	c.series_w = c.selecting ? 36 : 73;
	for (k = 0; k < c.nsel; k++)
		if ((int)strlen(c.sel[k]) > c.series_w)
			c.series_w = (int)strlen(c.sel[k]);
	put_header(&c);
	if (ndays == 0 && argc == 0)
		log_notice("no day with data in the cold tier in that range");
	for (k = 0; k < ndays && !cmd_stdout_gone(); k++) {
		day_format(&days[k], ds);
		log_debug("%s: reading", ds);
		if ((rc = cat_day(&c, &days[k])) != SW_OK) {
			log_error("%s: %s", ds, sw_errmsg());
			status = sw_exitcode(rc);
			break;
		}
	}
	if (status == 0 && (rc = cmd_stdout_flush("the records")) != SW_OK)
		status = cmd_fail(rc);
	if (status == 0 && !cmd_stdout_gone() && c.selecting && ndays > 0 &&
	    c.hits == 0)
		log_notice("the selected series have no data in %s (the "
		    "cache holds the series of timeseries_type %s)",
		    ndays == 1 ? "that day" : "those days",
		    ctx->cfg.timeseries_type);
	free(days);
	cat_release(&c);
	return status;
}

const struct cmd_entry cmd_cat_entry = {
	"cat", "[options] [DAY ...]",
	"print the records of days, or of some series, as JSON lines, CSV "
	"or a table",
	cat_opts, cmd_cat
};
