/*
 * manifest.c - the state of record of a published day (see manifest.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "base/dates.h"
#include "base/log.h"
#include "base/util.h"
#include "core/manifest.h"

#define MANIFEST_FORMAT "swrepart-day-manifest"
/* Sizes and counts in a manifest fit in 2^62: anything larger is not a
 * value swrepart wrote. */
#define NUM_MAX ((json_int_t)1 << 62)

void
manifest_free(struct manifest *m)
{
	if (m == NULL)
		return;
	free(m->src_url);
	free(m->src_prefix);
	free(m->src_type);
	free(m->data_key);
	cache_objs_free(m->objs, m->nobjs);
	cache_objs_free(m->pending_objs, m->npending);
	strv_free(m->lseries, m->nlseries);
	strv_free(m->lobjs, m->nlobjs);
	memset(m, 0, sizeof(*m));
}

int
manifest_is_sample_key(const char *key)
{
	const char *name = strrchr(key, '/'), *p;

	name = name ? name + 1 : key;
	if (strncmp(name, "merged_series_", 14) != 0)
		return 0;
	for (p = name + 14; *p >= '0' && *p <= '9'; p++)
		;
	return p > name + 14 && p - (name + 14) <= 20 &&
	    strcmp(p, ".avro") == 0;
}

/*
 * The "merged" arrays hold an entry per object: tens of thousands in a
 * big day.  Built as a jansson tree and dumped whole, they took several
 * times the text's size at once; instead the tree holds a mark in their
 * place (a string no value of ours can dump to: it starts with a control
 * character, escaped in the text, right after a raw quote), and
 * manifest_json() writes the entries into the text one at a time.
 */
#define MARK_DATA "\001merged:data\001"
#define MARK_PENDING "\001merged:pending\001"

/* One object's entry, appended to out. */
static void
obj_json(struct buf *out, const struct cache_obj *v)
{
	json_t *o = json_object();
	char *t;

	json_object_set_new(o, "key", json_string(v->key));
	json_object_set_new(o, "etag", json_string(v->etag));
	json_object_set_new(o, "size", json_integer((json_int_t)v->size));
	json_object_set_new(o, "offset", json_integer((json_int_t)v->off));
	json_object_set_new(o, "length", json_integer((json_int_t)v->len));
	json_object_set_new(o, "records",
	    json_integer((json_int_t)v->records));
	t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (t == NULL) {
		log_error("out of memory (a manifest's text)");
		abort();
	}
	buf_puts(out, t);
	free(t);
}

/* Replace the mark (as dumped in text) by the array of v's entries. */
static void
objs_splice(struct buf *out, const char **text, const char *mark,
    const struct cache_obj *v, size_t n)
{
	const char *at = strstr(*text, mark);
	size_t i;

	if (at == NULL) {
		/* never a manifest without its objects: a sync trusting it
		 * would take the day for empty */
		log_error("internal error: a manifest's objects have no place "
		    "in its text");
		abort();
	}
	buf_append(out, *text, (size_t)(at - *text));
	buf_putc(out, '[');
	for (i = 0; i < n; i++) {
		buf_puts(out, i > 0 ? ",\n  " : "\n  ");
		obj_json(out, &v[i]);
	}
	buf_puts(out, n > 0 ? "\n ]" : "]");
	*text = at + strlen(mark);
}

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A count or size: an integer in [0, 2^62]; *bad is set otherwise. */
static uint64_t
jnum(json_t *o, const char *k, const char **bad)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > NUM_MAX) {
		if (*bad == NULL)
			*bad = k;
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static char *
dupopt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* A string field copied into a fixed buffer: absent is "", too long or
 * not a string is bad. */
static void
jcopy(json_t *o, const char *k, char *out, size_t len, const char **bad)
{
	json_t *v = json_object_get(o, k);
	const char *s = json_string_value(v);

	out[0] = '\0';
	if (v == NULL)
		return;
	if (s == NULL || strlen(s) >= len) {
		if (*bad == NULL)
			*bad = k;
		return;
	}
	memcpy(out, s, strlen(s) + 1);
}

/* The "merged" list of version 2: objects in strictly increasing key
 * order whose ranges lie in the data object, in order, without overlap,
 * and whose records add up to the data object's. */
static sw_err
parse_merged(json_t *a, const char *where, uint64_t size, uint64_t nrecords,
    uint64_t count, struct cache_obj **objs, size_t *nobjs)
{
	size_t i, n = json_array_size(a);
	uint64_t end = 0, records = 0;
	const char *bad = NULL;

	if (!json_is_array(a))
		return sw_seterr(SW_ERR_DATA, "'%s': \"merged\" is not a list",
		    where);
	*objs = xcalloc(n + 1, sizeof(**objs));
	for (i = 0; i < n; i++) {
		json_t *o = json_array_get(a, i);
		struct cache_obj *c = &(*objs)[i];
		const char *key = jstr(o, "key"), *etag = jstr(o, "etag");

		if (!json_is_object(o) || key == NULL || etag == NULL ||
		    key[0] == '\0' || strlen(key) > 1024 || strlen(etag) > 79)
			return sw_seterr(SW_ERR_DATA, "'%s': merged object %zu: "
			    "no key or ETag", where, i + 1);
		c->key = xstrdup(key);
		c->etag = xstrdup(etag);
		*nobjs = i + 1;
		c->size = jnum(o, "size", &bad);
		c->off = jnum(o, "offset", &bad);
		c->len = jnum(o, "length", &bad);
		c->records = jnum(o, "records", &bad);
		if (bad != NULL)
			return sw_seterr(SW_ERR_DATA, "'%s': merged object '%s': "
			    "\"%s\" is not a count", where, key, bad);
		if (i > 0 && strcmp((*objs)[i - 1].key, key) >= 0)
			return sw_seterr(SW_ERR_DATA, "'%s': merged objects out "
			    "of order at '%s'", where, key);
		if (c->off < end || c->len == 0 || c->off + c->len < c->off ||
		    c->off + c->len > size)
			return sw_seterr(SW_ERR_DATA, "'%s': merged object '%s': "
			    "bytes %llu+%llu are not a range of the %llu-byte "
			    "data object after the previous one", where, key,
			    (unsigned long long)c->off,
			    (unsigned long long)c->len,
			    (unsigned long long)size);
		end = c->off + c->len;
		records += c->records;
	}
	if (records != nrecords || n != count)
		return sw_seterr(SW_ERR_DATA, "'%s': the merged objects hold "
		    "%llu records in %zu objects, the data object %llu in %llu",
		    where, (unsigned long long)records, n,
		    (unsigned long long)nrecords, (unsigned long long)count);
	return SW_OK;
}

/* A list of strings (at most max of them). */
static sw_err
parse_strings(json_t *a, const char *where, const char *what, char ***out,
    size_t *n)
{
	size_t i, k = json_array_size(a);

	*out = xcalloc(k + 1, sizeof(char *));
	*n = 0;
	if (a != NULL && !json_is_array(a))
		return sw_seterr(SW_ERR_DATA, "'%s': \"%s\" is not a list",
		    where, what);
	for (i = 0; i < k; i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (s == NULL || s[0] == '\0' || strlen(s) > 1024)
			return sw_seterr(SW_ERR_DATA, "'%s': \"%s\" item %zu is "
			    "not a name", where, what, i + 1);
		(*out)[(*n)++] = xstrdup(s);
	}
	return SW_OK;
}

/* What the manifest names must be of its own day: the day, its data key,
 * and the sample's objects (which sync may delete) in the day's data
 * partition and named as the sample names them. */
static sw_err
check_ctx(const struct manifest *m, json_t *root, const char *where,
    const struct manifest_ctx *ctx)
{
	const char *day = jstr(root, "day");
	char ds[11];
	size_t i, plen = strlen(ctx->data_part);

	day_format(ctx->d, ds);
	if (day != NULL && strcmp(day, ds) != 0)
		return sw_seterr(SW_ERR_DATA, "'%s' describes day %s, not %s: "
		    "not obeyed (fix or delete it)", where, day, ds);
	if (m->data_key != NULL && (strncmp(m->data_key, ctx->data_part, plen)
	    != 0 || strchr(m->data_key + plen, '/') != NULL))
		return sw_seterr(SW_ERR_DATA, "'%s': its data object '%s' is "
		    "not in the day's partition '%s': not obeyed (fix or "
		    "delete it)", where, m->data_key, ctx->data_part);
	for (i = 0; i < m->nlobjs; i++) {
		const char *k = m->lobjs[i];

		if (strncmp(k, ctx->data_part, plen) != 0 ||
		    strchr(k + plen, '/') != NULL ||
		    !manifest_is_sample_key(k))
			return sw_seterr(SW_ERR_DATA, "'%s' names '%s' as an "
			    "object of the Python sample, but it is not a "
			    "merged_series_*.avro of the day's partition '%s': "
			    "not obeyed, nothing deleted (fix or delete the "
			    "manifest)", where, k, ctx->data_part);
	}
	return SW_OK;
}

/* "format" and "version": a manifest of ours that this swrepart reads. */
static sw_err
parse_header(json_t *root, const char *where, struct manifest *m)
{
	json_t *v = json_object_get(root, "version");
	const char *s = jstr(root, "format");

	if (!json_is_object(root) || s == NULL ||
	    strcmp(s, MANIFEST_FORMAT) != 0 || !json_is_integer(v) ||
	    json_integer_value(v) < 1)
		return sw_seterr(SW_ERR_DATA, "'%s' is not a manifest of "
		    "swrepart (no \"format\": \"" MANIFEST_FORMAT "\")", where);
	if (json_integer_value(v) > MANIFEST_VERSION)
		return sw_seterr(SW_ERR_DATA, "'%s' was written by a newer "
		    "swrepart (manifest version %lld): upgrade", where,
		    (long long)json_integer_value(v));
	m->exists = 1;
	m->version = (int)json_integer_value(v);
	return SW_OK;
}

/* "source", "objects", "data" (with its "merged" ranges), "index". */
static sw_err
parse_published(json_t *root, const char *where, struct manifest *m)
{
	const char *bad = NULL;
	json_t *o;

	if ((o = json_object_get(root, "source")) != NULL) {
		m->src_url = dupopt(jstr(o, "bucket"));
		m->src_prefix = dupopt(jstr(o, "prefix"));
		m->src_type = dupopt(jstr(o, "timeseries_type"));
	}
	if ((o = json_object_get(root, "objects")) != NULL) {
		m->count = jnum(o, "count", &bad);
		m->bytes = jnum(o, "bytes", &bad);
		m->kept = json_object_get(o, "kept") ? jnum(o, "kept", &bad) : 0;
		jcopy(o, "sha256", m->digest, sizeof(m->digest), &bad);
	}
	if ((o = json_object_get(root, "data")) != NULL) {
		m->has_data = 1;
		m->data_key = dupopt(jstr(o, "key"));
		m->size = jnum(o, "size", &bad);
		m->records = jnum(o, "records", &bad);
		m->series = jnum(o, "series", &bad);
		jcopy(o, "md5", m->md5, sizeof(m->md5), &bad);
		jcopy(o, "etag", m->etag, sizeof(m->etag), &bad);
		if (m->data_key == NULL && bad == NULL)
			bad = "key";
	}
	if ((o = json_object_get(root, "index")) != NULL)
		jcopy(o, "etag", m->index_etag, sizeof(m->index_etag), &bad);
	if (bad != NULL)
		return sw_seterr(SW_ERR_DATA, "'%s': the field \"%s\" is "
		    "missing or of the wrong type (delete the manifest to "
		    "publish the day again)", where, bad);
	if (m->has_data && m->version >= 2)
		return parse_merged(json_object_get(root, "merged"), where,
		    m->size, m->records, m->count, &m->objs, &m->nobjs);
	return SW_OK;
}

/* "pending": the data object an interrupted upload was writing. */
static sw_err
parse_pending(json_t *root, const char *where, struct manifest *m)
{
	const char *bad = NULL;
	json_t *o;

	if ((o = json_object_get(root, "pending")) == NULL)
		return SW_OK;
	m->has_pending = 1;
	m->pending_size = jnum(o, "size", &bad);
	m->pending_records = jnum(o, "records", &bad);
	m->pending_series = jnum(o, "series", &bad);
	jcopy(o, "md5", m->pending_md5, sizeof(m->pending_md5), &bad);
	jcopy(o, "multipart_etag", m->pending_mpetag,
	    sizeof(m->pending_mpetag), &bad);
	if (bad != NULL)
		return sw_seterr(SW_ERR_DATA, "'%s': pending: the field \"%s\" "
		    "is missing or of the wrong type", where, bad);
	return parse_merged(json_object_get(o, "merged"), where,
	    m->pending_size, m->pending_records,
	    json_array_size(json_object_get(o, "merged")), &m->pending_objs,
	    &m->npending);
}

/* "sample": the day the Python sample published, and whether adopted. */
static sw_err
parse_sample(json_t *root, const char *where, struct manifest *m)
{
	json_t *o;
	sw_err rc;

	if ((o = json_object_get(root, "sample")) == NULL)
		return SW_OK;
	m->legacy = 1;
	m->adopted = json_is_true(json_object_get(o, "adopted"));
	rc = parse_strings(json_object_get(o, "series"), where, "series",
	    &m->lseries, &m->nlseries);
	if (rc == SW_OK)
		rc = parse_strings(json_object_get(o, "objects"), where,
		    "objects", &m->lobjs, &m->nlobjs);
	return rc;
}

sw_err
manifest_parse(const void *data, size_t len, const char *where,
    const struct manifest_ctx *ctx, struct manifest *m)
{
	json_error_t je;
	json_t *root;
	sw_err rc;

	memset(m, 0, sizeof(*m));
	root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return sw_seterr(SW_ERR_DATA, "'%s' line %d: not a manifest: %s "
		    "(delete it to publish the day again)", where, je.line,
		    je.text);
	if ((rc = parse_header(root, where, m)) == SW_OK &&
	    (rc = parse_published(root, where, m)) == SW_OK &&
	    (rc = parse_pending(root, where, m)) == SW_OK &&
	    (rc = parse_sample(root, where, m)) == SW_OK && ctx != NULL)
		rc = check_ctx(m, root, where, ctx);
	json_decref(root);
	if (rc != SW_OK)
		manifest_free(m);
	return rc;
}

/* "objects", "data", "index" and "merged": the day as published. */
static void
data_json(json_t *root, const struct manifest *m)
{
	json_t *o;

	o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)m->count));
	json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
	json_object_set_new(o, "sha256", json_string(m->digest));
	json_object_set_new(o, "kept", json_integer((json_int_t)m->kept));
	json_object_set_new(root, "objects", o);
	o = json_object();
	json_object_set_new(o, "key", json_string(m->data_key));
	json_object_set_new(o, "size", json_integer((json_int_t)m->size));
	json_object_set_new(o, "records",
	    json_integer((json_int_t)m->records));
	json_object_set_new(o, "series",
	    json_integer((json_int_t)m->series));
	json_object_set_new(o, "md5", json_string(m->md5));
	json_object_set_new(o, "etag", json_string(m->etag));
	json_object_set_new(root, "data", o);
	o = json_object();
	json_object_set_new(o, "etag", json_string(m->index_etag));
	json_object_set_new(root, "index", o);
	json_object_set_new(root, "merged", json_string(MARK_DATA));
}

/* "pending": a day being published. */
static json_t *
pending_json(const struct manifest *m)
{
	json_t *o = json_object();

	json_object_set_new(o, "size",
	    json_integer((json_int_t)m->pending_size));
	json_object_set_new(o, "records",
	    json_integer((json_int_t)m->pending_records));
	json_object_set_new(o, "series",
	    json_integer((json_int_t)m->pending_series));
	json_object_set_new(o, "md5", json_string(m->pending_md5));
	json_object_set_new(o, "multipart_etag",
	    json_string(m->pending_mpetag));
	json_object_set_new(o, "merged", json_string(MARK_PENDING));
	return o;
}

/* "sample": what a legacy day held when it was adopted. */
static json_t *
sample_json(const struct manifest *m)
{
	json_t *o = json_object(), *a;
	size_t i;

	json_object_set_new(o, "adopted", json_boolean(m->adopted));
	a = json_array();
	for (i = 0; i < m->nlseries; i++)
		json_array_append_new(a, json_string(m->lseries[i]));
	json_object_set_new(o, "series", a);
	a = json_array();
	for (i = 0; i < m->nlobjs; i++)
		json_array_append_new(a, json_string(m->lobjs[i]));
	json_object_set_new(o, "objects", a);
	return o;
}

char *
manifest_json(const struct manifest *m, const struct day *d, size_t *len)
{
	json_t *root = json_object(), *o;
	char ds[11], when[DATE_ISO8601_LEN];
	const char *rest;
	struct buf out;
	char *text;

	day_format(d, ds);
	date_format_iso8601((int64_t)time(NULL), 0, when);
	json_object_set_new(root, "format", json_string(MANIFEST_FORMAT));
	json_object_set_new(root, "version", json_integer(MANIFEST_VERSION));
	json_object_set_new(root, "day", json_string(ds));
	json_object_set_new(root, "written", json_string(when));
	json_object_set_new(root, "generator",
	    json_string(PACKAGE_NAME " " PACKAGE_VERSION));
	o = json_object();
	json_object_set_new(o, "bucket", json_string(m->src_url));
	json_object_set_new(o, "prefix", json_string(m->src_prefix));
	json_object_set_new(o, "timeseries_type", json_string(m->src_type));
	json_object_set_new(root, "source", o);
	if (m->has_data)
		data_json(root, m);
	if (m->has_pending)
		json_object_set_new(root, "pending", pending_json(m));
	if (m->legacy)
		json_object_set_new(root, "sample", sample_json(m));
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL) {
		log_error("out of memory (a manifest's text)");
		abort();
	}
	/* about 250 bytes an entry */
	buf_init(&out);
	buf_reserve(&out, strlen(text) + 2 + 256 * (m->has_data ? m->nobjs :
	    0) + 256 * (m->has_pending ? m->npending : 0));
	rest = text;
	if (m->has_data)
		objs_splice(&out, &rest, "\"" "\\u0001merged:data\\u0001" "\"",
		    m->objs, m->nobjs);
	if (m->has_pending)
		objs_splice(&out, &rest, "\"" "\\u0001merged:pending\\u0001"
		    "\"", m->pending_objs, m->npending);
	buf_puts(&out, rest);
	buf_putc(&out, '\n');
	free(text);
	*len = out.len;
	return buf_detach(&out);
}

sw_err
series_parse(const void *data, size_t len, const char *where, char ***out,
    size_t *n)
{
	const char *p = data ? data : "", *end = p + len;
	char **v = NULL;
	size_t cap = 0, k = 0, line = 0, i;

	*out = NULL;
	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (l > 0 && p[l - 1] == '\r')
			l--;
		for (i = 0; i < l; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c <= ' ' || c >= 0x7f || c == '/' || l > 1024) {
				strv_free(v, k);
				return sw_seterr(SW_ERR_DATA, "'%s' line %zu: not a "
				    "time series id", where, line);
			}
		}
		if (l > 0) {
			v = xgrowarray(v, &cap, k + 1, sizeof(*v));
			v[k] = xcalloc(1, l + 1);
			memcpy(v[k++], p, l);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (k > 0) {
		qsort(v, k, sizeof(*v), strv_cmp);
		for (i = 1, cap = 1; i < k; i++) {
			if (strcmp(v[i], v[cap - 1]) == 0)
				free(v[i]);
			else
				v[cap++] = v[i];
		}
		k = cap;
	}
	*out = v;
	*n = k;
	return SW_OK;
}
