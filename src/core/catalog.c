/*
 * catalog.c - the series catalogue from the cold tier's asset metadata.
 *
 * Steps: list {meta_prefix}asset_*.ndjson, GET each object as a stream cut
 * into lines (a line is at most CATALOG_MAX_LINE bytes: an object may be
 * large, a line may not), parse each line with jansson into a row, then
 * sort and keep each series once, from its latest object.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "aws/sitewise.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/catalog.h"
#include "core/coldkey.h"
#include "store/store.h"

#define META_NAME "asset_metadata/"

char *
catalog_meta_prefix(const char *data_prefix)
{
	size_t n = data_prefix != NULL ? strlen(data_prefix) : 0;
	struct buf b;

	/* drop the last segment ("raw/") and its slash */
	if (n > 0) {
		n--;
		while (n > 0 && data_prefix[n - 1] != '/')
			n--;
	}
	buf_init(&b);
	buf_append(&b, data_prefix != NULL ? data_prefix : "", n);
	buf_puts(&b, META_NAME);
	return buf_detach(&b);
}

static void
row_release(struct catalog_row *r)
{
	free(r->series_id);
	free(r->asset_id);
	free(r->asset_name);
	free(r->property_id);
	free(r->property_name);
	free(r->alias);
	free(r->unit);
	free(r->data_type);
	free(r->bucket);
}

void
catalog_release(struct catalog *cat)
{
	size_t i;

	if (cat == NULL)
		return;
	for (i = 0; i < cat->n; i++)
		row_release(&cat->rows[i]);
	free(cat->rows);
	free(cat->by_id);
	cat->rows = NULL;
	cat->by_id = NULL;
	cat->n = cat->cap = 0;
}

/* One metadata object, as listed. */
struct meta_obj {
	char *key;
	int64_t mtime;
};

struct listing {
	const char *prefix;
	struct meta_obj *objs;
	size_t n, cap;
};

/* Keep asset_{assetId}.ndjson directly under the prefix; anything else
 * there is no asset metadata. */
static sw_err
on_meta_key(void *arg, const struct store_entry *e)
{
	struct listing *l = arg;
	const char *name = e->key + strlen(l->prefix);
	size_t n = strlen(name);

	if (e->is_prefix || strchr(name, '/') != NULL ||
	    strncmp(name, "asset_", 6) != 0 || n <= 6 + 7 ||
	    strcmp(name + n - 7, ".ndjson") != 0) {
		log_debug("not asset metadata, skipped: '%s'", e->key);
		return SW_OK;
	}
	l->objs = xgrowarray(l->objs, &l->cap, l->n + 1, sizeof(*l->objs));
	l->objs[l->n].key = xstrdup(e->key);
	l->objs[l->n++].mtime = e->mtime;
	return SW_OK;
}

/* Reading one object: the line being gathered and where it is. */
struct catalog_parse {
	char *name;               /* the object, for messages */
	int64_t mtime;
	size_t obj;
	struct catalog *cat;
	struct buf line;
	unsigned long lineno;     /* of the line being gathered, from 1 */
};

static sw_err bad_line(struct catalog_parse *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static sw_err
bad_line(struct catalog_parse *r, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sw_seterr(SW_ERR_DATA, "bad asset metadata in '%s', line "
	    "%lu: %s", r->name, r->lineno, msg);
}

/* The string (or NULL) of field name; a field of another type is bad. */
static sw_err
field(struct catalog_parse *r, json_t *o, const char *name, char **out)
{
	json_t *v = json_object_get(o, name);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return SW_OK;
	if (!json_is_string(v))
		return bad_line(r, "'%s' is not a string", name);
	*out = xstrdup(json_string_value(v));
	return SW_OK;
}

/* A seriesBucket: two lowercase hex digits. */
static int
bucket_ok(const char *b)
{
	int i;

	for (i = 0; i < 2; i++)
		if (!isxdigit((unsigned char)b[i]) ||
		    isupper((unsigned char)b[i]))
			return 0;
	return b[2] == '\0';
}

static sw_err
parse_line(struct catalog_parse *r, const char *p, size_t n)
{
	struct catalog_row row;
	json_error_t jerr;
	json_t *o;
	sw_err rc = SW_OK;

	while (n > 0 && (p[n - 1] == '\r' || p[n - 1] == ' ' ||
	    p[n - 1] == '\t'))
		n--;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n == 0)
		return SW_OK;
	o = json_loadb(p, n, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL)
		return bad_line(r, "%s", jerr.text);
	if (!json_is_object(o)) {
		json_decref(o);
		return bad_line(r, "%s", "not a JSON object");
	}
	memset(&row, 0, sizeof(row));
	row.mtime = r->mtime;
	row.obj = r->obj;
	if (rc == SW_OK)
		rc = field(r, o, "timeSeriesId", &row.series_id);
	if (rc == SW_OK)
		rc = field(r, o, "assetId", &row.asset_id);
	if (rc == SW_OK)
		rc = field(r, o, "assetName", &row.asset_name);
	if (rc == SW_OK)
		rc = field(r, o, "assetPropertyId", &row.property_id);
	if (rc == SW_OK)
		rc = field(r, o, "assetPropertyName", &row.property_name);
	if (rc == SW_OK)
		rc = field(r, o, "assetPropertyAlias", &row.alias);
	if (rc == SW_OK)
		rc = field(r, o, "assetPropertyUnit", &row.unit);
	if (rc == SW_OK)
		rc = field(r, o, "assetPropertyDataType", &row.data_type);
	if (rc == SW_OK)
		rc = field(r, o, "timeSeriesBucket", &row.bucket);
	json_decref(o);
	/* the id names the series' objects (raw_{id}_...) and the bucket
	 * their prefix: anything else could reach other keys */
	if (rc == SW_OK && row.series_id != NULL &&
	    !coldkey_series_ok(row.series_id, strlen(row.series_id)))
		rc = bad_line(r, "'timeSeriesId' is not a time series id (a "
		    "UUID, or two joined by '_')");
	if (rc == SW_OK && row.series_id != NULL && row.bucket != NULL &&
	    !bucket_ok(row.bucket))
		rc = bad_line(r, "'timeSeriesBucket' is not two lowercase hex "
		    "digits");
	/* a line is an asset property; one naming no asset or property
	 * describes a stream bound to none */
	row.associated = row.asset_id != NULL && row.asset_id[0] != '\0' &&
	    row.property_id != NULL && row.property_id[0] != '\0';
	if (rc != SW_OK || row.series_id == NULL) {
		/* no timeSeriesId: a property that stores no time series */
		row_release(&row);
		return rc;
	}
	r->cat->rows = xgrowarray(r->cat->rows, &r->cat->cap, r->cat->n + 1,
	    sizeof(*r->cat->rows));
	r->cat->rows[r->cat->n++] = row;
	return SW_OK;
}

struct catalog_parse *
catalog_parse_new(struct catalog *cat, const char *name, int64_t mtime)
{
	struct catalog_parse *r = xcalloc(1, sizeof(*r));

	r->name = xstrdup(name);
	r->mtime = mtime;
	r->obj = cat->objects++;
	r->cat = cat;
	r->lineno = 1;
	buf_init(&r->line);
	return r;
}

sw_err
catalog_parse_feed(struct catalog_parse *r, const void *p, size_t n)
{
	const char *s = p, *nl;
	size_t k;
	sw_err rc;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) : n;
		if (r->line.len + k > CATALOG_MAX_LINE)
			return bad_line(r, "longer than %d bytes",
			    CATALOG_MAX_LINE);
		buf_append(&r->line, s, k);
		if (nl == NULL)
			return SW_OK;
		if ((rc = parse_line(r, r->line.data, r->line.len)) != SW_OK)
			return rc;
		r->line.len = 0;
		r->lineno++;
		s += k + 1;
		n -= k + 1;
	}
	return SW_OK;
}

sw_err
catalog_parse_end(struct catalog_parse *r)
{
	sw_err rc = SW_OK;

	if (r == NULL)
		return SW_OK;
	if (r->line.len > 0)  /* a last line without '\n' */
		rc = parse_line(r, r->line.data, r->line.len);
	catalog_parse_free(r);
	return rc;
}

void
catalog_parse_free(struct catalog_parse *r)
{
	if (r == NULL)
		return;
	buf_release(&r->line);
	free(r->name);
	free(r);
}

/* A GET's sink: cut the body into lines. */
static sw_err
on_body(void *arg, const void *p, size_t n)
{
	return catalog_parse_feed(arg, p, n);
}

static sw_err
read_object(struct store *st, const struct meta_obj *m, struct catalog *cat)
{
	struct catalog_parse *r;
	struct buf name;
	sw_err rc;

	buf_init(&name);
	buf_printf(&name, "%s%s", store_url(st), m->key);
	r = catalog_parse_new(cat, name.data, m->mtime);
	buf_release(&name);
	rc = store_get(st, m->key, 0, 0, on_body, r, NULL);
	if (rc == SW_OK)
		return catalog_parse_end(r);
	catalog_parse_free(r);
	return rc;
}

static int
strcmp0(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

/* One series, latest object first. */
static int
cmp_series(const void *a, const void *b)
{
	const struct catalog_row *x = a, *y = b;
	int c = strcmp(x->series_id, y->series_id);

	if (c == 0)
		c = (x->mtime < y->mtime) - (x->mtime > y->mtime);
	if (c == 0)
		c = (x->obj < y->obj) - (x->obj > y->obj);
	return c;
}

static int
cmp_row(const void *a, const void *b)
{
	const struct catalog_row *x = a, *y = b;
	int c = strcmp0(x->asset_name, y->asset_name);

	if (c == 0)
		c = strcmp0(x->asset_id, y->asset_id);
	if (c == 0)
		c = strcmp0(x->property_name, y->property_name);
	if (c == 0)
		c = strcmp(x->series_id, y->series_id);
	return c;
}

/* The index of the rows by series id (catalog_find). */
struct id_place {
	const char *id;
	size_t i;
};

static int
cmp_place(const void *a, const void *b)
{
	return strcmp(((const struct id_place *)a)->id,
	    ((const struct id_place *)b)->id);
}

static void
index_rows(struct catalog *cat)
{
	struct id_place *v = xcalloc(cat->n + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < cat->n; i++) {
		v[i].id = cat->rows[i].series_id;
		v[i].i = i;
	}
	qsort(v, cat->n, sizeof(*v), cmp_place);
	free(cat->by_id);
	cat->by_id = xcalloc(cat->n + 1, sizeof(*cat->by_id));
	for (i = 0; i < cat->n; i++)
		cat->by_id[i] = v[i].i;
	free(v);
}

/* The place of series_id among the first n rows (those indexed), or n. */
static size_t
find_index(const struct catalog *c, size_t n, const char *series_id)
{
	size_t lo = 0, hi = n, mid;
	int cmp;

	if (c->by_id == NULL)
		return n;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(series_id, c->rows[c->by_id[mid]].series_id);
		if (cmp == 0)
			return c->by_id[mid];
		if (cmp < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return n;
}

const struct catalog_row *
catalog_find(const struct catalog *c, const char *series_id)
{
	size_t i;

	if (c == NULL || series_id == NULL)
		return NULL;
	i = find_index(c, c->n, series_id);
	return i < c->n ? &c->rows[i] : NULL;
}

void
catalog_finish(struct catalog *cat)
{
	size_t i, kept = 0;

	if (cat->n == 0) {
		index_rows(cat);
		return;
	}
	qsort(cat->rows, cat->n, sizeof(*cat->rows), cmp_series);
	for (i = 0; i < cat->n; i++) {
		if (kept > 0 && strcmp(cat->rows[kept - 1].series_id,
		    cat->rows[i].series_id) == 0) {
			row_release(&cat->rows[i]);
			continue;
		}
		cat->rows[kept++] = cat->rows[i];
	}
	cat->n = kept;
	qsort(cat->rows, cat->n, sizeof(*cat->rows), cmp_row);
	index_rows(cat);
}

sw_err
catalog_load(struct store *st, const char *meta_prefix, struct catalog *cat)
{
	struct listing l;
	size_t i;
	sw_err rc;

	memset(&l, 0, sizeof(l));
	l.prefix = meta_prefix;
	rc = store_list(st, meta_prefix, NULL, NULL, on_meta_key, &l);
	for (i = 0; rc == SW_OK && i < l.n; i++)
		rc = read_object(st, &l.objs[i], cat);
	for (i = 0; i < l.n; i++)
		free(l.objs[i].key);
	free(l.objs);
	if (rc == SW_OK)
		catalog_finish(cat);
	return rc;
}

struct catalog *
catalog_new(void)
{
	struct catalog *c = xcalloc(1, sizeof(*c));

	c->refs = 1;
	return c;
}

struct catalog *
catalog_ref(struct catalog *c)
{
	__atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
	return c;
}

void
catalog_unref(struct catalog *c)
{
	if (c == NULL || __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) !=
	    0)
		return;
	catalog_release(c);
	free(c);
}

/* ---- ListTimeSeries ---- */

const char *const *
catalog_listed_types(const struct sw_config *cfg)
{
	static const char *const none[] = { NULL };
	static const char *const dis[] = { "DISASSOCIATED", NULL };
	static const char *const all[] = { "ASSOCIATED", "DISASSOCIATED",
		NULL };
	const char *m = cfg->catalog_list_timeseries;

	if (m == NULL || strcmp(m, "auto") == 0) {
		if (cfg->sitewise_endpoint_url != NULL)
			return dis;
		if (cfg->timeseries_type != NULL &&
		    strcmp(cfg->timeseries_type, "ALL") != 0 &&
		    cfg->cold_bucket != NULL &&
		    strncmp(cfg->cold_bucket, "file://", 7) != 0)
			return dis;
		return none;
	}
	if (strcmp(m, "disassociated") == 0)
		return dis;
	if (strcmp(m, "all") == 0)
		return all;
	return none;
}

static char *
dup0(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct listed {
	struct catalog *cat;
	const char *type;
	unsigned long skipped;
};

static sw_err
on_summary(void *arg, const struct sitewise_summary *s)
{
	struct listed *l = arg;
	struct catalog_row *r;

	if (!coldkey_series_ok(s->series_id, strlen(s->series_id))) {
		/* no cold-tier object can name it */
		if (l->skipped++ == 0)
			log_warn("ListTimeSeries: '%s' is not a time series id "
			    "(a UUID, or two joined by '_'): left out of the "
			    "catalogue", s->series_id);
		return SW_OK;
	}
	l->cat->rows = xgrowarray(l->cat->rows, &l->cat->cap, l->cat->n + 1,
	    sizeof(*l->cat->rows));
	r = &l->cat->rows[l->cat->n++];
	memset(r, 0, sizeof(*r));
	r->series_id = xstrdup(s->series_id);
	r->asset_id = dup0(s->asset_id);
	r->property_id = dup0(s->property_id);
	r->alias = dup0(s->alias);
	r->data_type = dup0(s->data_type);
	r->associated = r->asset_id != NULL && r->property_id != NULL;
	/* a series listed as both (it changed between the calls): the
	 * later call's answer */
	r->obj = l->cat->objects;
	return SW_OK;
}

sw_err
catalog_list_sitewise(const struct sw_config *cfg, const char *const *types,
    struct catalog *cat)
{
	struct listed l;
	sw_err rc = SW_OK;
	size_t i;

	memset(&l, 0, sizeof(l));
	l.cat = cat;
	for (i = 0; types[i] != NULL && rc == SW_OK; i++) {
		l.type = types[i];
		rc = sitewise_list_summaries(cfg, types[i], on_summary, &l);
		cat->objects++;
	}
	if (l.skipped > 1)
		log_warn("ListTimeSeries: %lu series ids left out of the "
		    "catalogue", l.skipped);
	if (rc == SW_OK)
		catalog_finish(cat);
	return rc;
}

void
catalog_merge(struct catalog *cat, const struct catalog *listed)
{
	const struct catalog_row *l;
	struct catalog_row *r;
	size_t i, k, n = cat->n;

	for (i = 0; i < listed->n; i++) {
		l = &listed->rows[i];
		if ((k = find_index(cat, n, l->series_id)) < n) {
			r = &cat->rows[k];
			if (r->alias == NULL)
				r->alias = dup0(l->alias);
			if (r->data_type == NULL)
				r->data_type = dup0(l->data_type);
			continue;
		}
		cat->rows = xgrowarray(cat->rows, &cat->cap, cat->n + 1,
		    sizeof(*cat->rows));
		r = &cat->rows[cat->n++];
		memset(r, 0, sizeof(*r));
		r->series_id = xstrdup(l->series_id);
		r->asset_id = dup0(l->asset_id);
		r->asset_name = dup0(l->asset_name);
		r->property_id = dup0(l->property_id);
		r->property_name = dup0(l->property_name);
		r->alias = dup0(l->alias);
		r->unit = dup0(l->unit);
		r->data_type = dup0(l->data_type);
		r->bucket = dup0(l->bucket);
		r->associated = l->associated;
	}
	catalog_finish(cat);
}

/* ---- the catalogue as text ---- */

const char *const catalog_col_names[CATALOG_NCOLS] = {
	"timeSeriesId", "assetId", "assetName", "propertyId", "propertyName",
	"alias", "unit", "dataType", "bucket", "associated",
};

const char *
catalog_col(const struct catalog_row *r, int i)
{
	switch (i) {
	case 0: return r->series_id;
	case 1: return r->asset_id;
	case 2: return r->asset_name;
	case 3: return r->property_id;
	case 4: return r->property_name;
	case 5: return r->alias;
	case 6: return r->unit;
	case 7: return r->data_type;
	case 8: return r->bucket;
	default: return r->associated ? "true" : "false";
	}
}

void
catalog_format_head(enum catalog_fmt fmt, struct buf *b)
{
	int c;

	if (fmt != CATALOG_CSV)
		return;
	for (c = 0; c < CATALOG_NCOLS; c++)
		buf_printf(b, "%s%s", c ? "," : "", catalog_col_names[c]);
	buf_putc(b, '\n');
}

static void
csv_field(const char *s, struct buf *b)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		buf_puts(b, s);
		return;
	}
	buf_putc(b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			buf_putc(b, '"');
		buf_putc(b, *s);
	}
	buf_putc(b, '"');
}

void
catalog_format_row(const struct catalog_row *r, enum catalog_fmt fmt,
    struct buf *b)
{
	json_t *o;
	char *s;
	int c;

	if (fmt == CATALOG_CSV) {
		for (c = 0; c < CATALOG_NCOLS; c++) {
			if (c > 0)
				buf_putc(b, ',');
			csv_field(catalog_col(r, c), b);
		}
		buf_putc(b, '\n');
		return;
	}
	o = json_object();
	for (c = 0; c < CATALOG_NCOLS - 1; c++)
		json_object_set_new(o, catalog_col_names[c], catalog_col(r, c) ?
		    json_string(catalog_col(r, c)) : json_null());
	json_object_set_new(o, catalog_col_names[CATALOG_NCOLS - 1],
	    json_boolean(r->associated));
	s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_COMPACT);
	if (s == NULL)
		xoom(1, 1);
	buf_puts(b, s);
	buf_putc(b, '\n');
	free(s);
	json_decref(o);
}
