/*
 * publish.c - publish merged days to the target bucket (see publish.h).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "log.h"
#include "options.h"
#include "publish.h"
#include "store.h"
#include "util.h"

#define MANIFEST_FORMAT "swrepart-day-manifest"
#define MANIFEST_VERSION 1
#define MANIFEST_NAME "swrepart-manifest.json"
#define SMALL_MAX (256u << 20)  /* bound on an index or manifest read */

struct publisher {
	const struct sw_config *cfg;
	struct engine *e;
	struct store *target;
	char *cold_url;
	const char *cold_prefix;
	struct publish_opts opts;
	struct store_put_opts put;
};

/* What a day's manifest says. */
struct manifest {
	int exists;
	char *src_url, *src_prefix, *src_type;
	uint64_t count, bytes;          /* cold-tier objects merged */
	char digest[65];                /* sha256 of their keys and ETags */
	int has_data;
	int placeholder;                /* to be written before the index */
	char *data_key;
	uint64_t size, records, series;
	char md5[33];
	char etag[80];
	char index_etag[80];            /* of timeseries.txt */
	/* the day as the Python sample left it */
	int legacy, adopted;
	char **lseries;
	size_t nlseries;
	char **lobjs;                   /* its merged_series_*.avro keys */
	size_t nlobjs;
};

static void
manifest_free(struct manifest *m)
{
	size_t i;

	free(m->src_url);
	free(m->src_prefix);
	free(m->src_type);
	free(m->data_key);
	for (i = 0; i < m->nlseries; i++)
		free(m->lseries[i]);
	free(m->lseries);
	for (i = 0; i < m->nlobjs; i++)
		free(m->lobjs[i]);
	free(m->lobjs);
	memset(m, 0, sizeof(*m));
}

void
publish_keys(const struct sw_config *cfg, const struct day *d, char *data,
    char *index, char *manifest, size_t len)
{
	char dp[512], ip[512], ds[11];

	day_prefix(d, cfg->target_data_prefix, dp, sizeof(dp));
	day_prefix(d, cfg->target_index_prefix, ip, sizeof(ip));
	day_format(d, ds);
	snprintf(data, len, "%sswrepart_%s.avro", dp, ds);
	snprintf(index, len, "%stimeseries.txt", ip);
	snprintf(manifest, len, "%s" MANIFEST_NAME, ip);
}

sw_err
publisher_new(const struct sw_config *cfg, struct engine *e,
    const struct publish_opts *o, struct publisher **out)
{
	struct publisher *p;
	char *url;
	sw_err rc;

	*out = NULL;
	if (cfg->target_bucket == NULL)
		return sw_seterr(SW_ERR_CONFIG, "no target bucket: set "
		    "s3.repartitioned.bucket_name in the config file or give "
		    "--target-bucket");
	p = xcalloc(1, sizeof(*p));
	p->cfg = cfg;
	p->e = e;
	if (o != NULL)
		p->opts = *o;
	p->cold_url = config_bucket_url(cfg->cold_bucket);
	p->cold_prefix = cfg->cold_prefix ? cfg->cold_prefix : "";
	url = config_bucket_url(cfg->target_bucket);
	rc = store_open(url, cfg, &p->target);
	free(url);
	if (rc != SW_OK) {
		publisher_free(p);
		return rc;
	}
	if (cfg->target_sse != NULL && strcmp(cfg->target_sse, "SSE-S3") == 0)
		p->put.sse = "AES256";
	else if (cfg->target_sse != NULL &&
	    strcmp(cfg->target_sse, "SSE-KMS") == 0) {
		p->put.sse = "aws:kms";
		p->put.sse_kms_key_id = cfg->target_sse_kms_key_id;
	}
	*out = p;
	return SW_OK;
}

void
publisher_free(struct publisher *p)
{
	if (p == NULL)
		return;
	store_free(p->target);
	free(p->cold_url);
	free(p);
}

static sw_err
ignore_entry(void *arg, const struct store_entry *se)
{
	(void)se;
	*(int *)arg = 1;
	return SW_ERR_EXISTS;  /* one entry is enough: stop the listing */
}

sw_err
publisher_check(struct publisher *p)
{
	int seen = 0;
	sw_err rc = store_list(p->target, p->cfg->target_index_prefix, "/",
	    NULL, ignore_entry, &seen);

	if (rc == SW_ERR_EXISTS && seen)
		rc = SW_OK;
	if (rc != SW_OK)
		return sw_adderr(rc, "the target bucket");
	return SW_OK;
}

/* ---- small objects ---- */

static sw_err
buf_sink(void *arg, const void *p, size_t n)
{
	struct buf *b = arg;

	if (b->len + n > SMALL_MAX)
		return sw_seterr(SW_ERR_DATA, "larger than %u MiB",
		    SMALL_MAX >> 20);
	return buf_append(b, p, n);
}

/* GET a small object into b (SW_ERR_NOTFOUND when absent). */
static sw_err
get_small(struct publisher *p, const char *key, struct buf *b)
{
	sw_err rc;

	b->len = 0;
	rc = store_get(p->target, key, 0, 0, buf_sink, b, NULL);
	if (rc == SW_ERR_DATA)
		rc = sw_seterr(SW_ERR_DATA, "'%s%s' is %s", store_url(p->target),
		    key, sw_errmsg());
	return rc;
}

/* ---- the manifest ---- */

static const char *
jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static uint64_t
jnum(json_t *o, const char *k, int *bad)
{
	json_t *v = json_object_get(o, k);

	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		*bad = 1;
		return 0;
	}
	return (uint64_t)json_integer_value(v);
}

static char *
dupopt(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

/* Parse a manifest; the error names where it came from. */
static sw_err
manifest_parse(const struct buf *b, const char *where, struct manifest *m)
{
	json_error_t je;
	json_t *root, *o, *a;
	const char *s;
	size_t i;
	int bad = 0;

	memset(m, 0, sizeof(*m));
	root = json_loadb(b->data ? b->data : "", b->len, 0, &je);
	if (root == NULL)
		return sw_seterr(SW_ERR_DATA, "'%s' line %d: not a manifest: %s "
		    "(delete it to publish the day again)", where, je.line,
		    je.text);
	s = jstr(root, "format");
	if (s == NULL || strcmp(s, MANIFEST_FORMAT) != 0 ||
	    !json_is_integer(json_object_get(root, "version"))) {
		json_decref(root);
		return sw_seterr(SW_ERR_DATA, "'%s' is not a manifest of "
		    "swrepart (no \"format\": \"" MANIFEST_FORMAT "\")", where);
	}
	if (json_integer_value(json_object_get(root, "version")) >
	    MANIFEST_VERSION) {
		json_decref(root);
		return sw_seterr(SW_ERR_DATA, "'%s' was written by a newer "
		    "swrepart (manifest version %lld): upgrade", where,
		    (long long)json_integer_value(json_object_get(root,
		    "version")));
	}
	m->exists = 1;
	if ((o = json_object_get(root, "source")) != NULL) {
		m->src_url = dupopt(jstr(o, "bucket"));
		m->src_prefix = dupopt(jstr(o, "prefix"));
		m->src_type = dupopt(jstr(o, "timeseries_type"));
	}
	if ((o = json_object_get(root, "objects")) != NULL &&
	    json_is_object(o)) {
		m->count = jnum(o, "count", &bad);
		m->bytes = jnum(o, "bytes", &bad);
		s = jstr(o, "sha256");
		snprintf(m->digest, sizeof(m->digest), "%s", s ? s : "");
	}
	if ((o = json_object_get(root, "data")) != NULL && json_is_object(o)) {
		m->has_data = 1;
		m->data_key = dupopt(jstr(o, "key"));
		m->size = jnum(o, "size", &bad);
		m->records = jnum(o, "records", &bad);
		m->series = jnum(o, "series", &bad);
		s = jstr(o, "md5");
		snprintf(m->md5, sizeof(m->md5), "%s", s ? s : "");
		s = jstr(o, "etag");
		snprintf(m->etag, sizeof(m->etag), "%s", s ? s : "");
		if (m->data_key == NULL)
			bad = 1;
	}
	if ((o = json_object_get(root, "index")) != NULL && json_is_object(o)) {
		s = jstr(o, "etag");
		snprintf(m->index_etag, sizeof(m->index_etag), "%s", s ? s : "");
	}
	if ((o = json_object_get(root, "sample")) != NULL && json_is_object(o)) {
		m->legacy = 1;
		m->adopted = json_is_true(json_object_get(o, "adopted"));
		a = json_object_get(o, "series");
		m->lseries = xcalloc(json_array_size(a) + 1, sizeof(char *));
		for (i = 0; i < json_array_size(a); i++) {
			if ((s = json_string_value(json_array_get(a, i))) == NULL)
				bad = 1;
			else
				m->lseries[m->nlseries++] = xstrdup(s);
		}
		a = json_object_get(o, "objects");
		m->lobjs = xcalloc(json_array_size(a) + 1, sizeof(char *));
		for (i = 0; i < json_array_size(a); i++) {
			if ((s = json_string_value(json_array_get(a, i))) == NULL)
				bad = 1;
			else
				m->lobjs[m->nlobjs++] = xstrdup(s);
		}
	}
	json_decref(root);
	if (bad) {
		manifest_free(m);
		return sw_seterr(SW_ERR_DATA, "'%s': a field of the manifest is "
		    "missing or of the wrong type (delete it to publish the day "
		    "again)", where);
	}
	return SW_OK;
}

static char *
manifest_json(const struct manifest *m, const struct day *d)
{
	json_t *root = json_object(), *o, *a;
	char ds[11], when[32];
	time_t now = time(NULL);
	struct tm tm;
	size_t i;
	char *text;

	day_format(d, ds);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
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
	if (m->has_data) {
		o = json_object();
		json_object_set_new(o, "count", json_integer((json_int_t)m->count));
		json_object_set_new(o, "bytes", json_integer((json_int_t)m->bytes));
		json_object_set_new(o, "sha256", json_string(m->digest));
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
	}
	if (m->legacy) {
		o = json_object();
		json_object_set_new(o, "adopted", json_boolean(m->adopted));
		a = json_array();
		for (i = 0; i < m->nlseries; i++)
			json_array_append_new(a, json_string(m->lseries[i]));
		json_object_set_new(o, "series", a);
		a = json_array();
		for (i = 0; i < m->nlobjs; i++)
			json_array_append_new(a, json_string(m->lobjs[i]));
		json_object_set_new(o, "objects", a);
		json_object_set_new(root, "sample", o);
	}
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (text == NULL)
		abort();
	return text;
}

static sw_err
manifest_put(struct publisher *p, const char *key, const struct manifest *m,
    const struct day *d)
{
	struct store_put_opts po = p->put;
	char *text = manifest_json(m, d);
	size_t n = strlen(text);
	sw_err rc;

	po.content_type = "application/json";
	text = xrealloc(text, n + 2);
	text[n++] = '\n';
	rc = store_put_mem(p->target, key, text, n, &po, NULL);
	free(text);
	return rc;
}

/* ---- digests ---- */

/* sha256 of "key\tetag\n" for each object, in key order. */
static void
objs_digest(const struct cache_obj *v, size_t n, char out[65],
    uint64_t *bytes)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	size_t i;

	*bytes = 0;
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < n; i++) {
		EVP_DigestUpdate(ctx, v[i].key, strlen(v[i].key));
		EVP_DigestUpdate(ctx, "\t", 1);
		EVP_DigestUpdate(ctx, v[i].etag, strlen(v[i].etag));
		EVP_DigestUpdate(ctx, "\n", 1);
		*bytes += v[i].size;
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), out);
}

/*
 * The MD5 of a file and the ETag S3 gives it when uploaded in parts of
 * part_size ("\"<md5 of the parts' MD5s>-N\""), in one read.
 */
static sw_err
file_digests(int fd, uint64_t size, uint64_t part_size, const char *name,
    char md5hex[33], char *mpetag, size_t mplen)
{
	EVP_MD_CTX *all = EVP_MD_CTX_new(), *part = EVP_MD_CTX_new(),
	    *parts = EVP_MD_CTX_new();
	unsigned char md[16], *chunk = xcalloc(1, 1 << 20);
	uint64_t off = 0, in_part = 0;
	unsigned nparts = 0;
	char hex[33];
	sw_err rc = SW_OK;

	EVP_DigestInit_ex(all, EVP_md5(), NULL);
	EVP_DigestInit_ex(part, EVP_md5(), NULL);
	EVP_DigestInit_ex(parts, EVP_md5(), NULL);
	while (off < size) {
		uint64_t want = size - off;
		ssize_t r;

		if (want > (1 << 20))
			want = 1 << 20;
		if (want > part_size - in_part)
			want = part_size - in_part;
		r = pread(fd, chunk, (size_t)want, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s", name,
			    r < 0 ? strerror(errno) : "shorter than recorded");
			break;
		}
		EVP_DigestUpdate(all, chunk, (size_t)r);
		EVP_DigestUpdate(part, chunk, (size_t)r);
		off += (uint64_t)r;
		in_part += (uint64_t)r;
		if (in_part == part_size || off == size) {
			EVP_DigestFinal_ex(part, md, NULL);
			EVP_DigestUpdate(parts, md, sizeof(md));
			EVP_DigestInit_ex(part, EVP_md5(), NULL);
			nparts++;
			in_part = 0;
		}
	}
	EVP_DigestFinal_ex(all, md, NULL);
	hex_encode(md, sizeof(md), md5hex);
	EVP_DigestFinal_ex(parts, md, NULL);
	hex_encode(md, sizeof(md), hex);
	snprintf(mpetag, mplen, "\"%s-%u\"", hex, nparts);
	EVP_MD_CTX_free(all);
	EVP_MD_CTX_free(part);
	EVP_MD_CTX_free(parts);
	free(chunk);
	return rc;
}

/* ---- what the Python sample left ---- */

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sort and drop repeats. */
static void
sort_unique(char **v, size_t *n)
{
	size_t i, k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof(*v), cmp_strp);
	for (i = 0; i < *n; i++) {
		if (k > 0 && strcmp(v[i], v[k - 1]) == 0) {
			free(v[i]);
			continue;
		}
		v[k++] = v[i];
	}
	*n = k;
}

/* The series ids of a timeseries.txt, one per line; the error names the
 * line of anything that cannot be one. */
static sw_err
parse_series(const struct buf *b, const char *where, char ***out, size_t *n)
{
	const char *p = b->data ? b->data : "", *end = p + b->len;
	char **v = NULL;
	size_t cap = 0, k = 0, line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		size_t i;

		line++;
		if (len > 0 && p[len - 1] == '\r')
			len--;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)p[i];

			if (c <= ' ' || c >= 0x7f || c == '/') {
				while (k > 0)
					free(v[--k]);
				free(v);
				return sw_seterr(SW_ERR_DATA, "'%s' line %zu: not a "
				    "time series id", where, line);
			}
		}
		if (len > 0) {
			if (k == cap) {
				cap = cap ? cap * 2 : 256;
				v = xrealloc(v, cap * sizeof(*v));
			}
			v[k++] = strndup(p, len);
			if (v[k - 1] == NULL)
				abort();
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	sort_unique(v, &k);
	*out = v;
	*n = k;
	return SW_OK;
}

/* The objects of the day's data partition, other than ours. */
struct partition {
	const char *ours;
	int have_ours;
	struct store_info ours_info;
	char **other;
	size_t nother, cap;
};

static sw_err
add_partition_entry(void *arg, const struct store_entry *se)
{
	struct partition *pt = arg;

	if (se->is_prefix)
		return SW_OK;
	if (strcmp(se->key, pt->ours) == 0) {
		pt->have_ours = 1;
		pt->ours_info.size = se->size;
		snprintf(pt->ours_info.etag, sizeof(pt->ours_info.etag), "%s",
		    se->etag);
		return SW_OK;
	}
	if (pt->nother == pt->cap) {
		pt->cap = pt->cap ? pt->cap * 2 : 16;
		pt->other = xrealloc(pt->other, pt->cap * sizeof(char *));
	}
	pt->other[pt->nother++] = xstrdup(se->key);
	return SW_OK;
}

static void
partition_free(struct partition *pt)
{
	while (pt->nother > 0)
		free(pt->other[--pt->nother]);
	free(pt->other);
}

/* A key the Python sample wrote: ".../merged_series_<digits>.avro". */
static int
is_sample_object(const char *key)
{
	const char *name = strrchr(key, '/'), *p;

	name = name ? name + 1 : key;
	if (strncmp(name, "merged_series_", 14) != 0)
		return 0;
	for (p = name + 14; *p >= '0' && *p <= '9'; p++)
		;
	return p > name + 14 && strcmp(p, ".avro") == 0;
}

static sw_err
list_partition(struct publisher *p, const struct day *d, const char *ours,
    struct partition *pt)
{
	char dp[512];

	memset(pt, 0, sizeof(*pt));
	pt->ours = ours;
	day_prefix(d, p->cfg->target_data_prefix, dp, sizeof(dp));
	return store_list(p->target, dp, "/", NULL, add_partition_entry, pt);
}

/* ---- one day ---- */

static int
in_sorted(char *const *v, size_t n, const char *s)
{
	return n > 0 && bsearch(&s, v, n, sizeof(*v), cmp_strp) != NULL;
}

/* timeseries.txt: the sorted union of two sorted lists. */
static char *
index_text(char *const *a, size_t na, char *const *b, size_t nb, size_t *len,
    uint64_t *count)
{
	struct buf t;
	size_t i = 0, j = 0;

	buf_init(&t);
	*count = 0;
	while (i < na || j < nb) {
		const char *s;
		int c = i >= na ? 1 : j >= nb ? -1 : strcmp(a[i], b[j]);

		if (c <= 0) {
			s = a[i++];
			if (c == 0)
				j++;
		} else {
			s = b[j++];
		}
		buf_puts(&t, s);
		buf_putc(&t, '\n');
		(*count)++;
	}
	*len = t.len;
	if (t.data == NULL)
		return xstrdup("");
	return buf_detach(&t);
}

/* Whether the published data object and index are still the ones the
 * manifest describes (two HEADs). */
static sw_err
data_intact(struct publisher *p, const struct manifest *m, const char *ikey,
    int *ok)
{
	struct store_info info;
	sw_err rc = store_head(p->target, ikey, &info);

	*ok = 0;
	if (rc == SW_ERR_NOTFOUND || (rc == SW_OK && strcmp(info.etag,
	    m->index_etag) != 0)) {
		log_notice("'%s%s' is %s: publishing the day again",
		    store_url(p->target), ikey, rc == SW_OK ? "not the one "
		    "swrepart wrote" : "gone");
		return SW_OK;
	}
	if (rc != SW_OK)
		return rc;
	rc = store_head(p->target, m->data_key, &info);
	if (rc == SW_ERR_NOTFOUND) {
		log_notice("'%s%s' is gone: publishing it again",
		    store_url(p->target), m->data_key);
		return SW_OK;
	}
	if (rc != SW_OK)
		return rc;
	*ok = info.size == m->size && strcmp(info.etag, m->etag) == 0;
	if (!*ok)
		log_notice("'%s%s' is not the object swrepart published (ETag "
		    "%s, size %llu; the manifest says %s, %llu): publishing "
		    "it again", store_url(p->target), m->data_key, info.etag,
		    (unsigned long long)info.size, m->etag,
		    (unsigned long long)m->size);
	return SW_OK;
}

static int
same_source(const struct publisher *p, const struct manifest *m)
{
	return m->src_url && m->src_prefix && m->src_type &&
	    strcmp(m->src_url, p->cold_url) == 0 &&
	    strcmp(m->src_prefix, p->cold_prefix) == 0 &&
	    strcmp(m->src_type, p->cfg->timeseries_type) == 0;
}

/* Whether the target holds exactly the day whose objects have this
 * digest: the manifest says so, and its objects are still there. */
static sw_err
unchanged(struct publisher *p, const struct manifest *m, const char *ikey,
    const char *digest, int *same)
{
	*same = 0;
	if (!m->has_data || !same_source(p, m) || strcmp(digest, m->digest) != 0
	    || (m->adopted && m->nlobjs > 0))
		return SW_OK;
	return data_intact(p, m, ikey, same);
}

/* Upload the pinned day file to key unless it is there already, then
 * check what the server holds against the file. */
static sw_err
upload_data(struct publisher *p, const char *key, const struct engine_pin *pin,
    const struct partition *pt, const char *name, char md5[33],
    struct store_info *info, struct publish_report *r)
{
	char mpetag[80], want[40];
	int kms = p->put.sse != NULL && strcmp(p->put.sse, "aws:kms") == 0;
	double t0;
	sw_err rc;

	rc = file_digests(pin->fd, pin->size, p->cfg->part_size, name, md5,
	    mpetag, sizeof(mpetag));
	if (rc != SW_OK)
		return rc;
	snprintf(want, sizeof(want), "\"%s\"", md5);
	/* A run that stopped after this upload: the object is there. */
	if (pt->have_ours && pt->ours_info.size == pin->size && !kms &&
	    (strcmp(pt->ours_info.etag, want) == 0 ||
	    strcmp(pt->ours_info.etag, mpetag) == 0)) {
		*info = pt->ours_info;
		return SW_OK;
	}
	if ((rc = store_abort_uploads(p->target, key, &r->aborted)) != SW_OK)
		return rc;
	t0 = now_mono();
	rc = store_put_fd(p->target, key, pin->fd, pin->size, &p->put, info);
	r->upload_seconds = now_mono() - t0;
	if (rc != SW_OK)
		return rc;
	r->uploaded = pin->size;
	/* Read back what the server holds. */
	{
		struct store_info got;

		if ((rc = store_head(p->target, key, &got)) != SW_OK)
			return sw_adderr(rc, "checking the upload");
		if (got.size != pin->size)
			return sw_seterr(SW_ERR_SERVER, "'%s%s' holds %llu bytes "
			    "after the upload of %llu", store_url(p->target), key,
			    (unsigned long long)got.size,
			    (unsigned long long)pin->size);
		if (!kms && etag_is_md5(got.etag) && strcmp(got.etag, want) &&
		    strcmp(got.etag, mpetag))
			return sw_seterr(SW_ERR_SERVER, "'%s%s': the server's "
			    "ETag %s is not the MD5 %s of what was uploaded",
			    store_url(p->target), key, got.etag, want);
		if (!kms && strchr(got.etag, '-') != NULL &&
		    strlen(got.etag) > 34 && strcmp(got.etag, mpetag) != 0)
			return sw_seterr(SW_ERR_SERVER, "'%s%s': the server's "
			    "multipart ETag %s is not %s, computed from the "
			    "parts uploaded", store_url(p->target), key,
			    got.etag, mpetag);
		*info = got;
	}
	return SW_OK;
}

sw_err
publish_day(struct publisher *p, const struct day *d,
    struct publish_report *r)
{
	char dkey[1024], ikey[1024], mkey[1024], where[2200], ds[11];
	struct manifest m;
	struct buf b;
	struct engine_sel sel, *selp = NULL;
	struct engine_pin pin;
	struct engine_listing *listing = NULL;
	struct cache_obj *listed = NULL;
	struct partition pt;
	size_t nlisted = 0, i;
	int same;
	char digest[65], md5[33];
	uint64_t bytes;
	sw_err rc;

	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	memset(&pt, 0, sizeof(pt));
	memset(&pin, 0, sizeof(pin));
	pin.fd = pin.index_fd = -1;
	buf_init(&b);
	day_format(d, ds);
	publish_keys(p->cfg, d, dkey, ikey, mkey, sizeof(dkey));
	snprintf(r->data_key, sizeof(r->data_key), "%s", dkey);

	/* 1. The state of record. */
	snprintf(where, sizeof(where), "%s%s", store_url(p->target), mkey);
	rc = get_small(p, mkey, &b);
	if (rc == SW_OK)
		rc = manifest_parse(&b, where, &m);
	else if (rc == SW_ERR_NOTFOUND) {
		/* A day the Python sample published: timeseries.txt and no
		 * manifest.  Record what it held before changing anything. */
		r->new_day = 1;
		rc = get_small(p, ikey, &b);
		if (rc == SW_OK) {
			snprintf(where, sizeof(where), "%s%s",
			    store_url(p->target), ikey);
			m.legacy = 1;
			rc = parse_series(&b, where, &m.lseries, &m.nlseries);
		} else if (rc == SW_ERR_NOTFOUND) {
			rc = SW_OK;
		}
		if (rc == SW_OK && m.legacy)
			rc = list_partition(p, d, dkey, &pt);
		if (rc == SW_OK && m.legacy) {
			m.lobjs = xcalloc(pt.nother + 1, sizeof(char *));
			for (i = 0; i < pt.nother; i++)
				if (is_sample_object(pt.other[i]))
					m.lobjs[m.nlobjs++] =
					    xstrdup(pt.other[i]);
			/* The sample's only if its objects are there and
			 * ours is not: a day of ours whose manifest was lost
			 * (or deleted to publish it again) is published
			 * anew, whole. */
			if (m.nlobjs == 0 || pt.have_ours) {
				log_notice("%s: '%s%s' exists but %s: "
				    "publishing the day anew", ds,
				    store_url(p->target), ikey, pt.have_ours ?
				    "no manifest (swrepart's own day)" :
				    "no merged_series object of the Python "
				    "sample");
				manifest_free(&m);
				memset(&m, 0, sizeof(m));
			}
		}
		if (rc == SW_OK && !m.legacy) {
			/* A manifest exists before timeseries.txt does, so
			 * that a run killed after writing the index is never
			 * taken for the sample's. */
			m.exists = 0;
			m.src_url = xstrdup(p->cold_url);
			m.src_prefix = xstrdup(p->cold_prefix);
			m.src_type = xstrdup(p->cfg->timeseries_type);
			m.placeholder = 1;
		}
		if (rc == SW_OK && m.legacy) {
			m.src_url = xstrdup(p->cold_url);
			m.src_prefix = xstrdup(p->cold_prefix);
			m.src_type = xstrdup(p->cfg->timeseries_type);
			log_notice("%s: published by the Python sample (%zu "
			    "series in %zu merged_series objects)%s", ds,
			    m.nlseries, m.nlobjs, p->opts.adopt ?
			    ": adopting it" : ": publishing the other "
			    "series beside them (--adopt folds the day into "
			    "one object)");
			if (!p->opts.dry_run)
				rc = manifest_put(p, mkey, &m, d);
		}
		partition_free(&pt);
		memset(&pt, 0, sizeof(pt));
	}
	if (rc != SW_OK)
		goto out;
	r->legacy = m.legacy;
	r->legacy_series = m.nlseries;
	r->legacy_objects = m.nlobjs;
	/* Adopting is decided once and recorded first: from then on the
	 * sample's objects are not part of the day any more. */
	if (m.legacy && !m.adopted && p->opts.adopt) {
		m.adopted = 1;
		if (!p->opts.dry_run && (rc = manifest_put(p, mkey, &m, d)) !=
		    SW_OK)
			goto out;
	}
	r->adopted = m.adopted;
	if (m.legacy && !m.adopted) {
		sel.exclude = m.lseries;
		sel.nexclude = m.nlseries;
		selp = &sel;
	}
	r->prev_objects = m.has_data ? m.count : 0;

	/* 2. Anything new?  A listing answers without fetching. */
	if ((rc = engine_day_list(p->e, d, selp, &listed, &nlisted,
	    &listing)) != SW_OK)
		goto out;
	objs_digest(listed, nlisted, digest, &bytes);
	if ((rc = unchanged(p, &m, ikey, digest, &same)) != SW_OK)
		goto out;
	if (same) {
		r->state = PUB_UNCHANGED;
		r->objects = m.count;
		r->series = m.series;
		r->records = m.records;
		r->bytes = m.size;
		goto out;
	}
	if (p->opts.dry_run) {
		r->state = nlisted == 0 && !(m.adopted && m.nlobjs > 0) ?
		    PUB_EMPTY : PUB_WOULD;
		r->objects = nlisted;
		r->bytes = bytes;
		goto out;
	}

	/* 3. Build (or reuse) the day in the cache and hold it. */
	rc = engine_day_ex(p->e, d, selp, listing, &r->build, &pin);
	listing = NULL;
	if (rc != SW_OK)
		goto out;
	cache_objs_free(listed, nlisted);
	listed = NULL;
	nlisted = 0;
	objs_digest(pin.objs, pin.nobjs, digest, &bytes);
	r->objects = pin.nobjs;
	r->series = pin.nseries;
	r->records = pin.records;
	r->bytes = pin.size;
	if ((rc = unchanged(p, &m, ikey, digest, &same)) != SW_OK)
		goto out;
	if (same) {
		r->state = PUB_UNCHANGED;
		goto out;
	}
	if (pin.nobjs == 0 && !m.has_data && !(m.adopted && m.nlobjs > 0)) {
		r->state = PUB_EMPTY;
		goto out;
	}
	/* Never replace a published day by a smaller one: the cold tier
	 * lost objects (a lifecycle rule?), or this machine sees less. */
	if (m.has_data && same_source(p, &m) && r->build.listed < m.count) {
		rc = sw_seterr(SW_ERR_DATA, "the cold tier now gives %llu "
		    "objects for the day, fewer than the %llu published in "
		    "'%s%s': not replacing it (objects expired or deleted?  "
		    "Delete '%s%s' to publish what is left)",
		    (unsigned long long)r->build.listed,
		    (unsigned long long)m.count, store_url(p->target), dkey,
		    store_url(p->target), mkey);
		goto out;
	}

	/* 4. The data object, replaced in one PUT. */
	if ((rc = list_partition(p, d, dkey, &pt)) != SW_OK)
		goto out;
	for (i = 0; i < pt.nother; i++)
		if (!in_sorted(m.lobjs, m.nlobjs, pt.other[i]) &&
		    !(m.legacy && is_sample_object(pt.other[i])))
			log_warn("%s: '%s%s' is not swrepart's: queries of "
			    "the day read it too", ds, store_url(p->target),
			    pt.other[i]);
	{
		struct store_info info;

		rc = upload_data(p, dkey, &pin, &pt, r->build.file[0] ?
		    r->build.file : dkey, md5, &info, r);
		if (rc != SW_OK)
			goto out;
		free(m.data_key);
		m.data_key = xstrdup(dkey);
		m.has_data = 1;
		m.size = pin.size;
		m.records = pin.records;
		snprintf(m.md5, sizeof(m.md5), "%s", md5);
		snprintf(m.etag, sizeof(m.etag), "%s", info.etag);
	}

	/* 5. An adopted day: the sample's objects go, now that ours holds
	 * every series. */
	if (m.adopted && m.nlobjs > 0) {
		for (i = 0; i < m.nlobjs && rc == SW_OK; i++)
			rc = store_delete(p->target, m.lobjs[i]);
		if (rc != SW_OK)
			goto out;
		r->deleted = m.nlobjs;
		while (m.nlobjs > 0)
			free(m.lobjs[--m.nlobjs]);
	}

	/* 6. timeseries.txt: our series, and the sample's while it keeps
	 * its own objects. */
	if (m.placeholder) {
		struct manifest pm = m;

		pm.has_data = 0;
		if ((rc = manifest_put(p, mkey, &pm, d)) != SW_OK)
			goto out;
	}
	{
		struct store_info iinfo;
		struct store_put_opts po = p->put;
		size_t len;
		uint64_t count;
		int keep = m.legacy && !m.adopted;
		char *text = index_text(pin.series, pin.nseries,
		    keep ? m.lseries : NULL, keep ? m.nlseries : 0, &len,
		    &count);

		po.content_type = "text/plain";
		rc = store_put_mem(p->target, ikey, text, len, &po, &iinfo);
		free(text);
		if (rc != SW_OK)
			goto out;
		snprintf(m.index_etag, sizeof(m.index_etag), "%s", iinfo.etag);
		r->new_series = pin.nseries > m.series ? pin.nseries - m.series
		    : 0;
		m.series = pin.nseries;
	}

	/* 7. The manifest, last: the day is published. */
	free(m.src_url);
	free(m.src_prefix);
	free(m.src_type);
	m.src_url = xstrdup(p->cold_url);
	m.src_prefix = xstrdup(p->cold_prefix);
	m.src_type = xstrdup(p->cfg->timeseries_type);
	m.count = pin.nobjs;
	m.bytes = bytes;
	snprintf(m.digest, sizeof(m.digest), "%s", digest);
	if ((rc = manifest_put(p, mkey, &m, d)) != SW_OK)
		goto out;
	r->state = PUB_PUBLISHED;
out:
	engine_listing_free(listing);
	cache_objs_free(listed, nlisted);
	engine_pin_release(&pin);
	partition_free(&pt);
	manifest_free(&m);
	buf_release(&b);
	return rc;
}
