/*
 * publish.c - publish merged days to the target bucket (see publish.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "avro/merge.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/manifest.h"
#include "core/publish.h"
#include "store/store.h"

#define SMALL_MAX (256u << 20)  /* bound on an index or manifest read */

struct publisher {
	const struct sw_config *cfg;
	struct engine *e;
	struct store *target;
	char *cold_url;
	const char *cold_prefix;
	struct publish_opts opts;
	struct store_put_opts put;
	int no_cond;          /* the target has no conditional writes */
	int warned_abort;     /* ... nor multipart upload listings */
};

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
	if ((rc = config_need_target(cfg)) != SW_OK)
		return rc;
	p = xcalloc(1, sizeof(*p));
	p->cfg = cfg;
	p->e = e;
	if (o != NULL)
		p->opts = *o;
	p->cold_url = config_bucket_url(cfg->cold_bucket);
	p->cold_prefix = e != NULL ? engine_prefix(e) : cfg->cold_prefix ?
	    cfg->cold_prefix : "";
	url = config_bucket_url(cfg->target_bucket);
	rc = store_open(url, cfg, &p->target);
	free(url);
	if (rc != SW_OK) {
		publisher_free(p);
		return rc;
	}
	p->put.pool = e != NULL ? engine_pool(e) : NULL;
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

struct store *
publisher_target(struct publisher *p)
{
	return p->target;
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
small_sink(void *arg, const void *p, size_t n)
{
	struct buf *b = arg;

	if (b->len + n > SMALL_MAX)
		return sw_seterr(SW_ERR_DATA, "larger than %u MiB",
		    SMALL_MAX >> 20);
	buf_append(b, p, n);
	return SW_OK;
}

/* GET a small object into b (SW_ERR_NOTFOUND when absent). */
static sw_err
get_small(struct publisher *p, const char *key, struct buf *b,
    struct store_info *info)
{
	sw_err rc;

	b->len = 0;
	rc = store_get(p->target, key, 0, 0, small_sink, b, info);
	if (rc == SW_ERR_DATA)
		rc = sw_seterr(SW_ERR_DATA, "'%s%s' is %s", store_url(p->target),
		    key, sw_errmsg());
	return rc;
}

/* Sleep a random 0.25 to 1 s, times attempt: writers that collided
 * come apart. */
static void
sleep_jitter(unsigned attempt)
{
	unsigned char r = 0;
	struct timespec ts;
	double s;

	RAND_bytes(&r, 1);
	s = (0.25 + 0.75 * r / 255.0) * attempt;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
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

/* A file's MD5s as file_digests() read it: the whole file's, and each
 * part's of part_size bytes (the Content-MD5s of its upload). */
struct file_md5s {
	unsigned char md5[16];
	unsigned char (*part)[16];
	size_t nparts, cap;
	uint64_t part_size;
};

static void
file_md5s_release(struct file_md5s *f)
{
	free(f->part);
	memset(f, 0, sizeof(*f));
}

struct digests {
	EVP_MD_CTX *all, *part, *parts;
	uint64_t size, off, part_size;
	unsigned nparts;
	struct file_md5s *out;
};


/* Chunks never cross a part's end (fd_stream's boundary): a part ends
 * where a chunk does. */
static sw_err
digests_sink(void *arg, const void *p, size_t n)
{
	struct digests *g = arg;
	unsigned char md[16];

	EVP_DigestUpdate(g->all, p, n);
	EVP_DigestUpdate(g->part, p, n);
	g->off += n;
	if ((g->part_size > 0 && g->off % g->part_size == 0) ||
	    g->off == g->size) {
		EVP_DigestFinal_ex(g->part, md, NULL);
		EVP_DigestUpdate(g->parts, md, sizeof(md));
		g->out->part = xgrowarray(g->out->part, &g->out->cap,
		    g->out->nparts + 1, sizeof(*g->out->part));
		memcpy(g->out->part[g->out->nparts++], md, sizeof(md));
		EVP_DigestInit_ex(g->part, EVP_md5(), NULL);
		g->nparts++;
	}
	return SW_OK;
}

/*
 * The MD5 of a file and the ETag S3 gives it when uploaded in parts of
 * part_size ("\"<md5 of the parts' MD5s>-N\""), in one read; *out gets
 * the MD5s themselves (file_md5s_release() frees them).
 */
static sw_err
file_digests(int fd, uint64_t size, uint64_t part_size, const char *name,
    char md5hex[33], char *mpetag, size_t mplen, struct file_md5s *out)
{
	struct digests g = { EVP_MD_CTX_new(), EVP_MD_CTX_new(),
	    EVP_MD_CTX_new(), size, 0, part_size, 0, out };
	unsigned char md[16];
	char hex[33];
	sw_err rc;

	EVP_DigestInit_ex(g.all, EVP_md5(), NULL);
	EVP_DigestInit_ex(g.part, EVP_md5(), NULL);
	EVP_DigestInit_ex(g.parts, EVP_md5(), NULL);
	memset(out, 0, sizeof(*out));
	out->part_size = part_size;
	rc = fd_stream(fd, size, part_size, name, digests_sink, &g);
	EVP_DigestFinal_ex(g.all, md, NULL);
	memcpy(out->md5, md, sizeof(md));
	hex_encode(md, sizeof(md), md5hex);
	EVP_DigestFinal_ex(g.parts, md, NULL);
	hex_encode(md, sizeof(md), hex);
	snprintf(mpetag, mplen, "\"%s-%u\"", hex, g.nparts);
	EVP_MD_CTX_free(g.all);
	EVP_MD_CTX_free(g.part);
	EVP_MD_CTX_free(g.parts);
	return rc;
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
	pt->other = xgrowarray(pt->other, &pt->cap, pt->nother + 1,
	    sizeof(*pt->other));
	pt->other[pt->nother++] = xstrdup(se->key);
	return SW_OK;
}

static void
partition_free(struct partition *pt)
{
	strv_free(pt->other, pt->nother);
	pt->other = NULL;
	pt->nother = pt->cap = 0;
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

/* timeseries.txt: the sorted union of two sorted lists. */
static char *
index_text(char *const *a, size_t na, char *const *b, size_t nb, size_t *len)
{
	struct buf t;
	size_t i = 0, j = 0;

	buf_init(&t);
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
	}
	*len = t.len;
	if (t.data == NULL)
		return xstrdup("");
	return buf_detach(&t);
}

static int
same_source(const struct publisher *p, const struct manifest *m)
{
	return m->src_url && m->src_prefix && m->src_type &&
	    strcmp(m->src_url, p->cold_url) == 0 &&
	    strcmp(m->src_prefix, p->cold_prefix) == 0 &&
	    strcmp(m->src_type, p->cfg->timeseries_type) == 0;
}

static void
set_source(struct publisher *p, struct manifest *m)
{
	free(m->src_url);
	free(m->src_prefix);
	free(m->src_type);
	m->src_url = xstrdup(p->cold_url);
	m->src_prefix = xstrdup(p->cold_prefix);
	m->src_type = xstrdup(p->cfg->timeseries_type);
}

static struct cache_obj *
objs_dup(const struct cache_obj *v, size_t n)
{
	struct cache_obj *c = xcalloc(n + 1, sizeof(*c));
	size_t i;

	for (i = 0; i < n; i++) {
		c[i] = v[i];
		c[i].key = xstrdup(v[i].key);
		c[i].etag = xstrdup(v[i].etag);
	}
	return c;
}

/* What the data object in the target holds. */
enum data_state {
	DATA_ABSENT,    /* no data object */
	DATA_OURS,      /* the one the manifest describes */
	DATA_PENDING,   /* the one a stopped run recorded as pending */
	DATA_FOREIGN    /* neither: its contents are unknown */
};

/* One attempt's view of a day in the target. */
struct target_day {
	char dkey[1024], ikey[1024], mkey[1024], ds[11];
	struct manifest m;
	int m_exists;                 /* a manifest object exists */
	char m_etag[80];              /* its ETag: writes are conditional */
	enum data_state data;
	struct store_info data_info;
	const struct cache_obj *objs; /* the data object's, by range */
	size_t nobjs;
	int objs_known;               /* objs says what it holds */
	int conflict;                 /* another writer came in between */
};

/* The context a manifest is checked against. */
static void
manifest_ctx(struct publisher *p, const struct day *d, char *dp, char *ip,
    size_t len, struct manifest_ctx *ctx)
{
	day_prefix(d, p->cfg->target_data_prefix, dp, len);
	day_prefix(d, p->cfg->target_index_prefix, ip, len);
	ctx->d = d;
	ctx->data_part = dp;
	ctx->index_part = ip;
}

/*
 * PUT a small object or the pinned day file, conditionally when cond:
 * over the object whose ETag is if_match, or only where none exists
 * (if_match NULL).  A store without conditional writes (501) is warned
 * about once and written to without them; a lost race is SW_ERR_EXISTS
 * with td->conflict set.
 */
static sw_err
put_cond(struct publisher *p, struct target_day *td, const char *key,
    const void *mem, size_t n, int fd, uint64_t size,
    const struct file_md5s *fm, const char *ctype, int cond,
    const char *if_match, struct store_info *info)
{
	struct store_put_opts po = p->put;
	sw_err rc;

	po.content_type = ctype;
	if (fm != NULL) {
		/* the server checks the bytes it gets against our read */
		po.md5 = fm->md5;
		po.part_md5 = (const unsigned char (*)[16])fm->part;
		po.nparts = fm->nparts;
		po.part_size = fm->part_size;
	}
	if (cond && !__atomic_load_n(&p->no_cond, __ATOMIC_RELAXED)) {
		po.if_match = if_match;
		po.if_none_match = if_match == NULL;
	}
	for (;;) {
		rc = mem != NULL || fd < 0 ?
		    store_put_mem(p->target, key, mem, n, &po, info) :
		    store_put_fd(p->target, key, fd, size, &po, info);
		if (rc == SW_ERR_EXISTS && (po.if_match || po.if_none_match))
			td->conflict = 1;
		if (rc != SW_ERR_UNSUPPORTED || !(po.if_match ||
		    po.if_none_match))
			return rc;
		if (!__atomic_exchange_n(&p->no_cond, 1, __ATOMIC_RELAXED))
			log_warn("'%s' does not support conditional writes "
			    "(If-Match, If-None-Match): writing without them. "
			    "Two syncs of the same day at once may then "
			    "undo each other's work: run one sync per day "
			    "(--shard) on such a store", store_url(p->target));
		po.if_match = NULL;
		po.if_none_match = 0;
	}
}

/* Write td's manifest: over the one read (or only where none is). */
static sw_err
manifest_put(struct publisher *p, struct target_day *td, const struct day *d)
{
	struct store_info info;
	size_t n;
	char *text = manifest_json(&td->m, d, &n);
	sw_err rc;

	rc = put_cond(p, td, td->mkey, text, n, -1, 0, NULL, "application/json", 1,
	    td->m_exists ? td->m_etag : NULL, &info);
	free(text);
	if (rc == SW_OK) {
		td->m_exists = 1;
		snprintf(td->m_etag, sizeof(td->m_etag), "%s", info.etag);
	}
	return rc;
}

/*
 * 1. The state of record: the manifest, checked against the day; or, for
 * a day the Python sample published (timeseries.txt, its objects, no
 * manifest), what it holds, recorded in a manifest before anything
 * changes.
 */
static sw_err
read_state(struct publisher *p, const struct day *d, struct target_day *td,
    struct publish_report *r)
{
	char where[2200], dp[512], ip[512];
	struct manifest_ctx ctx;
	struct store_info info;
	struct partition pt;
	struct manifest *m = &td->m;
	struct buf b;
	size_t i;
	sw_err rc;

	buf_init(&b);
	memset(&pt, 0, sizeof(pt));
	manifest_ctx(p, d, dp, ip, sizeof(dp), &ctx);
	snprintf(where, sizeof(where), "%s%s", store_url(p->target), td->mkey);
	rc = get_small(p, td->mkey, &b, &info);
	if (rc == SW_OK) {
		td->m_exists = 1;
		snprintf(td->m_etag, sizeof(td->m_etag), "%s", info.etag);
		rc = manifest_parse(b.data, b.len, where, &ctx, m);
		goto out;
	}
	if (rc != SW_ERR_NOTFOUND)
		goto out;
	r->new_day = 1;
	rc = get_small(p, td->ikey, &b, NULL);
	if (rc == SW_ERR_NOTFOUND) {
		rc = SW_OK;
		goto out;
	}
	if (rc != SW_OK)
		goto out;
	snprintf(where, sizeof(where), "%s%s", store_url(p->target), td->ikey);
	if ((rc = series_parse(b.data, b.len, where, &m->lseries,
	    &m->nlseries)) != SW_OK)
		goto out;
	if ((rc = list_partition(p, d, td->dkey, &pt)) != SW_OK)
		goto out;
	m->lobjs = xcalloc(pt.nother + 1, sizeof(char *));
	for (i = 0; i < pt.nother; i++)
		if (manifest_is_sample_key(pt.other[i]))
			m->lobjs[m->nlobjs++] = xstrdup(pt.other[i]);
	/* The sample's only if its objects are there and ours is not: a
	 * day of ours whose manifest was lost (or deleted to publish it
	 * again) is published anew, whole. */
	if (m->nlobjs == 0 || pt.have_ours) {
		log_notice("%s: '%s%s' exists but %s: publishing the day anew",
		    td->ds, store_url(p->target), td->ikey, pt.have_ours ?
		    "no manifest (swrepart's own day)" : "no merged_series "
		    "object of the Python sample");
		manifest_free(m);
		goto out;
	}
	m->legacy = 1;
	set_source(p, m);
	log_notice("%s: published by the Python sample (%zu series in %zu "
	    "merged_series objects)%s", td->ds, m->nlseries, m->nlobjs,
	    p->opts.adopt ? ": adopting it" : ": publishing the other series "
	    "beside them (--adopt folds the day into one object)");
	if (!p->opts.dry_run)
		rc = manifest_put(p, td, d);
out:
	partition_free(&pt);
	buf_release(&b);
	return rc;
}

/* 2. What the data object holds: the manifest's day, the pending one of
 * a run that stopped after uploading it, or something unknown. */
static sw_err
read_data(struct publisher *p, struct target_day *td)
{
	const struct manifest *m = &td->m;
	struct store_info *in = &td->data_info;
	char md5etag[40];
	sw_err rc = store_head(p->target, td->dkey, in);

	td->objs = NULL;
	td->nobjs = 0;
	td->objs_known = 0;
	if (rc == SW_ERR_NOTFOUND) {
		td->data = DATA_ABSENT;
		if (m->has_data)
			log_notice("%s: '%s%s' is gone: publishing it again",
			    td->ds, store_url(p->target), td->dkey);
		return SW_OK;
	}
	if (rc != SW_OK)
		return rc;
	td->data = DATA_FOREIGN;
	if (m->has_data && in->size == m->size && strcmp(in->etag, m->etag) ==
	    0) {
		td->data = DATA_OURS;
		td->objs = m->objs;
		td->nobjs = m->nobjs;
		td->objs_known = m->version >= 2;
		return SW_OK;
	}
	snprintf(md5etag, sizeof(md5etag), "\"%s\"", m->pending_md5);
	if (m->has_pending && in->size == m->pending_size &&
	    (strcmp(in->etag, md5etag) == 0 ||
	    strcmp(in->etag, m->pending_mpetag) == 0)) {
		td->data = DATA_PENDING;
		td->objs = m->pending_objs;
		td->nobjs = m->npending;
		td->objs_known = 1;
		log_notice("%s: '%s%s' is the object a stopped run uploaded: "
		    "completing its publication", td->ds, store_url(p->target),
		    td->dkey);
		return SW_OK;
	}
	if (m->has_data)
		log_notice("%s: '%s%s' is not the object swrepart published "
		    "(ETag %s, size %llu; the manifest says %s, %llu): "
		    "publishing it again", td->ds, store_url(p->target),
		    td->dkey, in->etag, (unsigned long long)in->size, m->etag,
		    (unsigned long long)m->size);
	return SW_OK;
}

/* Whether every object of a (sorted by key) is in b with the same ETag;
 * *extra counts b's objects not in a. */
static int
objs_subset(const struct cache_obj *a, size_t na, const struct cache_obj *b,
    size_t nb, size_t *extra)
{
	size_t i = 0, j = 0;

	*extra = 0;
	while (i < na) {
		int c = j < nb ? strcmp(a[i].key, b[j].key) : -1;

		if (c < 0)
			return 0;
		if (c > 0) {
			(*extra)++;
			j++;
			continue;
		}
		if (strcmp(a[i].etag, b[j].etag) != 0)
			return 0;
		i++;
		j++;
	}
	*extra += nb - j;
	return 1;
}

/* 3. Whether the target holds the day as it should be now: the data
 * object is the manifest's, timeseries.txt too, and every object the
 * cold tier lists is in it (objects it no longer lists are kept, unless
 * pruned). */
static sw_err
unchanged(struct publisher *p, struct target_day *td,
    const struct cache_obj *listed, size_t nlisted, int *same)
{
	const struct manifest *m = &td->m;
	struct store_info info;
	size_t extra = 0;
	char digest[65];
	uint64_t bytes;
	sw_err rc;

	*same = 0;
	if (td->data != DATA_OURS || !same_source(p, m) || m->has_pending ||
	    (m->adopted && m->nlobjs > 0))
		return SW_OK;
	if (td->objs_known) {
		if (!objs_subset(listed, nlisted, td->objs, td->nobjs, &extra)
		    || (extra > 0 && p->opts.prune_expired))
			return SW_OK;
	} else {
		objs_digest(listed, nlisted, digest, &bytes);
		if (strcmp(digest, m->digest) != 0)
			return SW_OK;
	}
	rc = store_head(p->target, td->ikey, &info);
	if (rc == SW_ERR_NOTFOUND || (rc == SW_OK && strcmp(info.etag,
	    m->index_etag) != 0)) {
		log_notice("%s: '%s%s' is %s: publishing the day again", td->ds,
		    store_url(p->target), td->ikey, rc == SW_OK ? "not the one "
		    "swrepart wrote" : "gone");
		return SW_OK;
	}
	if (rc != SW_OK)
		return rc;
	*same = 1;
	return SW_OK;
}

/* Read an object's blocks from the published data object by its range
 * (engine_sel.carry_fetch): only from the object described, by ETag. */
struct carry_src {
	struct publisher *p;
	const char *key;
	const char *etag;
};

static sw_err
carry_fetch(void *arg, const struct cache_obj *o, sw_sink_fn fn, void *fn_arg)
{
	struct carry_src *cs = arg;
	struct store_info info;
	sw_err rc;

	rc = store_get(cs->p->target, cs->key, o->off, o->len, fn, fn_arg,
	    &info);
	if (rc == SW_OK && strcmp(info.etag, cs->etag) != 0)
		rc = sw_seterr(SW_ERR_EXISTS, "'%s%s' changed while its "
		    "objects were being read (ETag %s, was %s): run again",
		    store_url(cs->p->target), cs->key, info.etag, cs->etag);
	return rc;
}

/* The reader schema of the engine's dataset. */
static const struct merge_dataset *
pub_dataset(const struct publisher *p)
{
	return p->e != NULL && engine_dataset(p->e) == ENGINE_AGG ?
	    &merge_agg : &merge_raw;
}

/* Cold-tier objects that the manifest says the data object holds must
 * be objects of the dataset, of this day and of the selection: anything
 * else is not obeyed. */
static sw_err
check_carry(struct publisher *p, const struct day *d, struct target_day *td)
{
	size_t i;

	for (i = 0; i < td->nobjs; i++) {
		struct coldkey k;

		if (coldkey_parse(td->objs[i].key, p->cold_prefix, &k) !=
		    SW_OK || k.kind != (pub_dataset(p) == &merge_agg ?
		    COLDKEY_AGG : COLDKEY_RAW) || k.year != d->year ||
		    k.month != d->month || k.day != d->day)
			return sw_seterr(SW_ERR_DATA, "'%s%s' names '%s' as a "
			    "merged object, but it is not a cold-tier object of "
			    "%s: not obeyed (fix or delete the manifest)",
			    store_url(p->target), td->mkey, td->objs[i].key,
			    td->ds);
	}
	return SW_OK;
}

/*
 * Nothing published is lost: every object the target's day holds (or
 * its manifest names, when the data object is not the one it
 * describes) is in the new day, unless --prune-expired drops it.  A
 * version 1 manifest names no objects, only how many: there the count
 * is all that can be checked.
 */
static sw_err
check_nothing_lost(struct publisher *p, struct target_day *td,
    const struct engine_pin *pin, struct publish_report *r)
{
	const struct manifest *m = &td->m;
	const struct cache_obj *ref = td->objs_known ? td->objs : m->objs;
	size_t nref = td->objs_known ? td->nobjs : m->nobjs, i, j = 0, lost = 0;
	const char *lost_key = NULL;

	if (!same_source(p, m))
		return SW_OK;
	if (m->has_data && m->version < 2 && ref == NULL) {
		if (pin->nobjs < m->count && !p->opts.prune_expired)
			return sw_seterr(SW_ERR_DATA, "%s: the cold tier now "
			    "gives %zu objects, fewer than the %llu that "
			    "'%s%s' (published by an older swrepart, without "
			    "its list of objects) holds: not replacing it "
			    "(--prune-expired publishes what is left)", td->ds,
			    pin->nobjs, (unsigned long long)m->count,
			    store_url(p->target), td->dkey);
		return SW_OK;
	}
	for (i = 0; i < nref; i++) {
		int c = 1;

		while (j < pin->nobjs && (c = strcmp(pin->objs[j].key,
		    ref[i].key)) < 0)
			j++;
		if (j < pin->nobjs && c == 0)
			continue;
		lost++;
		lost_key = ref[i].key;
	}
	if (lost == 0)
		return SW_OK;
	if (p->opts.prune_expired) {
		r->pruned = lost;
		return SW_OK;
	}
	return sw_seterr(SW_ERR_DATA, "%s: %zu published object%s (such as "
	    "'%s') %s in neither the cold tier, the cache nor the data object "
	    "'%s%s' (%s): not replacing the day without %s (restore the "
	    "object, or --prune-expired drops %s)", td->ds, lost, lost == 1 ?
	    "" : "s", lost_key, lost == 1 ? "is" : "are", store_url(p->target),
	    td->dkey, td->data == DATA_ABSENT ? "gone" : "replaced by another",
	    lost == 1 ? "it" : "them", lost == 1 ? "it" : "them");
}

/* 4. The data object, replaced in one conditional PUT unless it is
 * there already; the manifest records it as pending first.  fm: the
 * MD5s of the day file as read for md5 and mpetag, which the upload's
 * Content-MD5s carry. */
static sw_err
upload_digested(struct publisher *p, const struct day *d,
    struct target_day *td, const struct engine_pin *pin, const char *name,
    const char *md5, const char *mpetag, const struct file_md5s *fm,
    struct store_info *info, struct publish_report *r)
{
	struct manifest *m = &td->m;
	char want[40];
	int kms = p->put.sse != NULL && strcmp(p->put.sse, "aws:kms") == 0;
	double t0;
	sw_err rc;

	if (pin->md5[0] != '\0' && strcmp(md5, pin->md5) != 0)
		return sw_seterr(SW_ERR_DATA, "cache: '%s' changed while it was "
		    "being published (MD5 %s, recorded %s): run again", name,
		    md5, pin->md5);
	snprintf(want, sizeof(want), "\"%s\"", md5);
	if (td->data != DATA_ABSENT && td->data_info.size == pin->size &&
	    !kms && (strcmp(td->data_info.etag, want) == 0 ||
	    strcmp(td->data_info.etag, mpetag) == 0)) {
		*info = td->data_info;   /* uploaded by an earlier run */
		return SW_OK;
	}
	m->has_pending = 1;
	snprintf(m->pending_md5, sizeof(m->pending_md5), "%s", md5);
	snprintf(m->pending_mpetag, sizeof(m->pending_mpetag), "%s", mpetag);
	m->pending_size = pin->size;
	m->pending_records = pin->records;
	m->pending_series = pin->nseries;
	cache_objs_free(m->pending_objs, m->npending);
	m->pending_objs = objs_dup(pin->objs, pin->nobjs);
	m->npending = pin->nobjs;
	if ((rc = manifest_put(p, td, d)) != SW_OK)
		return rc;
	/* Housekeeping: a store that cannot list interrupted uploads is
	 * told so once, and not asked again. */
	rc = __atomic_load_n(&p->warned_abort, __ATOMIC_RELAXED) ? SW_OK :
	    store_abort_uploads(p->target, td->dkey, &r->aborted);
	if (rc == SW_ERR_UNSUPPORTED) {
		if (!__atomic_exchange_n(&p->warned_abort, 1, __ATOMIC_RELAXED))
			log_warn("%s", sw_errmsg());
		rc = SW_OK;
	}
	if (rc != SW_OK)
		return rc;
	t0 = now_mono();
	rc = put_cond(p, td, td->dkey, NULL, 0, pin->fd, pin->size, fm,
	    "application/octet-stream", 1, td->data == DATA_ABSENT ? NULL :
	    td->data_info.etag, info);
	r->upload_seconds = now_mono() - t0;
	if (rc != SW_OK)
		return rc;
	r->uploaded = pin->size;
	/* Read back what the server holds. */
	{
		struct store_info got;

		if ((rc = store_head(p->target, td->dkey, &got)) != SW_OK)
			return sw_adderr(rc, "checking the upload");
		if (got.size != pin->size)
			return sw_seterr(SW_ERR_SERVER, "'%s%s' holds %llu bytes "
			    "after the upload of %llu", store_url(p->target),
			    td->dkey, (unsigned long long)got.size,
			    (unsigned long long)pin->size);
		if (!kms && etag_is_md5(got.etag) && strcmp(got.etag, want) &&
		    strcmp(got.etag, mpetag))
			return sw_seterr(SW_ERR_SERVER, "'%s%s': the server's "
			    "ETag %s is not the MD5 %s of what was uploaded",
			    store_url(p->target), td->dkey, got.etag, want);
		if (!kms && strchr(got.etag, '-') != NULL &&
		    strlen(got.etag) > 34 && strcmp(got.etag, mpetag) != 0)
			return sw_seterr(SW_ERR_SERVER, "'%s%s': the server's "
			    "multipart ETag %s is not %s, computed from the "
			    "parts uploaded", store_url(p->target), td->dkey,
			    got.etag, mpetag);
		*info = got;
	}
	return SW_OK;
}

/*
 * The digests file_digests() would take, from the pin when the engine
 * took them as it wrote the day now (engine_opts.part_size): the MD5
 * recorded, and the pieces' MD5s.  Whether it could.
 */
static int
pin_digests(const struct publisher *p, const struct engine_pin *pin,
    char md5[33], char *mpetag, size_t mplen, struct file_md5s *out)
{
	unsigned char md[16];
	char hex[33];
	size_t i;

	memset(out, 0, sizeof(*out));
	if (pin->part_md5 == NULL || pin->nparts == 0 ||
	    pin->part_size != p->cfg->part_size || strlen(pin->md5) != 32 ||
	    pin->nparts != (pin->size + pin->part_size - 1) / pin->part_size)
		return 0;
	for (i = 0; i < 16; i++)
		if (sscanf(pin->md5 + 2 * i, "%2hhx", &out->md5[i]) != 1)
			return 0;
	out->part = xcalloc(pin->nparts, sizeof(*out->part));
	memcpy(out->part, pin->part_md5, pin->nparts * sizeof(*out->part));
	out->nparts = out->cap = pin->nparts;
	out->part_size = pin->part_size;
	EVP_Digest(out->part, out->nparts * sizeof(*out->part), md, NULL,
	    EVP_md5(), NULL);
	hex_encode(md, sizeof(md), hex);
	snprintf(mpetag, mplen, "\"%s-%zu\"", hex, out->nparts);
	snprintf(md5, 33, "%s", pin->md5);
	return 1;
}

static sw_err
upload_data(struct publisher *p, const struct day *d, struct target_day *td,
    const struct engine_pin *pin, const char *name, char md5[33],
    struct store_info *info, struct publish_report *r)
{
	struct file_md5s fm;
	char mpetag[80];
	sw_err rc = SW_OK;

	/* Taken as the day was written, or else read now: the upload's
	 * Content-MD5s check the bytes sent against them either way. */
	if (!pin_digests(p, pin, md5, mpetag, sizeof(mpetag), &fm))
		rc = file_digests(pin->fd, pin->size, p->cfg->part_size, name,
		    md5, mpetag, sizeof(mpetag), &fm);
	if (rc == SW_OK)
		rc = upload_digested(p, d, td, pin, name, md5, mpetag, &fm,
		    info, r);
	file_md5s_release(&fm);
	return rc;
}

/* Records per series of one of the sample's objects, read whole into
 * the cache's staging and merged as any cold-tier object would be. */
static sw_err
sample_counts(struct publisher *p, const char *key, struct merge_count **out,
    size_t *n)
{
	struct cache *c = engine_cache(p->e);
	char dir[4096], in[4200], merged[4200], name[2200];
	struct merge *m = NULL;
	int ifd = -1, ofd = -1;
	sw_err rc;

	*out = NULL;
	*n = 0;
	if ((rc = cache_staging(c, dir, sizeof(dir))) != SW_OK)
		return rc;
	snprintf(in, sizeof(in), "%s/sample.avro", dir);
	snprintf(merged, sizeof(merged), "%s/merged.avro", dir);
	snprintf(name, sizeof(name), "%s%s", store_url(p->target), key);
	ifd = open(in, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	ofd = open(merged, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (ifd < 0 || ofd < 0) {
		rc = sw_seterr(SW_ERR_IO, "cannot create '%s': %s", dir,
		    strerror(errno));
		goto out;
	}
	if ((rc = store_get_fd(p->target, key, ifd, NULL)) != SW_OK)
		goto out;
	if (lseek(ifd, 0, SEEK_SET) < 0) {
		rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s", in,
		    strerror(errno));
		goto out;
	}
	rc = merge_new_ds(pub_dataset(p), ocf_sink_fd, &ofd, NULL, &m);
	if (rc == SW_OK)
		merge_set_workers(m, 0);
	if (rc == SW_OK)
		rc = merge_add_file(m, ifd, name, NULL);
	if (rc == SW_OK)
		rc = merge_finish(m);
	if (rc == SW_OK && lseek(ofd, 0, SEEK_SET) < 0)
		rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s", merged,
		    strerror(errno));
	if (rc == SW_OK)
		rc = merge_series_counts_ds(pub_dataset(p), ofd, name, out, n);
out:
	merge_free(m);
	if (ifd >= 0)
		close(ifd);
	if (ofd >= 0)
		close(ofd);
	rmtree(dir);
	return rc;
}

static uint64_t *
count_of(struct merge_count *v, size_t n, const char *series)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(v[mid].series, series);

		if (c == 0)
			return &v[mid].records;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/*
 * 5. --adopt: delete each of the sample's objects only when every one of
 * its records is proven to be in the new day: per series, the day holds
 * at least as many records as the sample's objects hold together.  An
 * object not proven stays (its records are doubled in queries, never
 * lost), and the day says why.
 */
static sw_err
adopt_delete(struct publisher *p, struct target_day *td,
    const struct engine_pin *pin, struct publish_report *r)
{
	struct manifest *m = &td->m;
	struct merge_count *day = NULL, *s = NULL;
	size_t nday = 0, ns = 0, i, j, keep = 0;
	sw_err rc;

	if (lseek(pin->fd, 0, SEEK_SET) < 0)
		return sw_seterr(SW_ERR_IO, "cannot read the day file: %s",
		    strerror(errno));
	if ((rc = merge_series_counts_ds(pub_dataset(p), pin->fd,
	    "the day file", &day, &nday)) != SW_OK)
		return rc;
	for (i = 0; i < m->nlobjs && rc == SW_OK; i++) {
		const char *why = NULL;
		char whybuf[512];

		rc = sample_counts(p, m->lobjs[i], &s, &ns);
		if (rc == SW_ERR_NOTFOUND) {
			/* gone already (an earlier run deleted it) */
			rc = SW_OK;
			free(m->lobjs[i]);
			m->lobjs[i] = NULL;
			continue;
		}
		if (rc != SW_OK)
			break;
		for (j = 0; j < ns && why == NULL; j++) {
			uint64_t *have = count_of(day, nday, s[j].series);

			if (have == NULL || *have < s[j].records) {
				snprintf(whybuf, sizeof(whybuf), "its %llu "
				    "records of series %s are not all in the "
				    "new day (%llu there)", (unsigned long long)
				    s[j].records, s[j].series, have ?
				    (unsigned long long)*have : 0ULL);
				why = whybuf;
			}
		}
		if (why == NULL) {
			/* its records are spoken for */
			for (j = 0; j < ns; j++)
				*count_of(day, nday, s[j].series) -=
				    s[j].records;
			rc = store_delete(p->target, m->lobjs[i]);
			if (rc == SW_OK) {
				r->deleted++;
				free(m->lobjs[i]);
				m->lobjs[i] = NULL;
			}
		} else {
			log_warn("%s: --adopt: keeping '%s%s': %s", td->ds,
			    store_url(p->target), m->lobjs[i], why);
			r->adopt_kept++;
		}
		merge_counts_free(s, ns);
		s = NULL;
		ns = 0;
	}
	for (i = 0; i < m->nlobjs; i++)
		if (m->lobjs[i] != NULL)
			m->lobjs[keep++] = m->lobjs[i];
	m->nlobjs = keep;
	merge_counts_free(day, nday);
	return rc;
}

/*
 * One attempt at a day, step by step.  Each step reads and fills the
 * attempt; one that decides the day (unchanged, empty, a dry run) sets
 * done, and the attempt stops there.
 */
struct attempt {
	struct publisher *p;
	const struct day *d;
	struct target_day *td;
	struct publish_report *r;
	struct engine_sel sel;         /* what the day is built of */
	struct engine_listing *listing; /* the day's listing, until built */
	struct cache_obj *listed;      /* the objects it lists */
	size_t nlisted;
	struct engine_pin pin;         /* the built day, held */
	struct carry_src cs;
	char digest[65], md5[33];      /* of the objects; of the day file */
	uint64_t bytes;                /* the objects' bytes */
	struct store_info info;        /* the data object as uploaded */
	int done;
};

/* Read the manifest and the data object; record an --adopt decision
 * first: from then on the sample's objects are not part of the day. */
static sw_err
step_read(struct attempt *a)
{
	struct manifest *m = &a->td->m;
	struct publish_report *r = a->r;
	sw_err rc;

	if ((rc = read_state(a->p, a->d, a->td, r)) != SW_OK)
		return rc;
	r->legacy = m->legacy;
	r->legacy_series = m->nlseries;
	r->legacy_objects = m->nlobjs;
	if (m->legacy && !m->adopted && a->p->opts.adopt) {
		m->adopted = 1;
		if (!a->p->opts.dry_run &&
		    (rc = manifest_put(a->p, a->td, a->d)) != SW_OK)
			return rc;
	}
	r->adopted = m->adopted;
	if (m->legacy && !m->adopted) {
		a->sel.exclude = m->lseries;
		a->sel.nexclude = m->nlseries;
	}
	r->prev_objects = m->has_data ? m->count : 0;
	if ((rc = read_data(a->p, a->td)) != SW_OK)
		return rc;
	if (a->td->objs_known)
		return check_carry(a->p, a->d, a->td);
	return SW_OK;
}

/* Anything new?  A listing answers without fetching; a dry run stops
 * here with what it would publish. */
static sw_err
step_plan(struct attempt *a)
{
	struct manifest *m = &a->td->m;
	struct publish_report *r = a->r;
	int same;
	sw_err rc;

	if ((rc = engine_day_list(a->p->e, a->d, &a->sel, &a->listed,
	    &a->nlisted, &a->listing)) != SW_OK)
		return rc;
	if ((rc = unchanged(a->p, a->td, a->listed, a->nlisted, &same)) !=
	    SW_OK)
		return rc;
	if (same) {
		r->state = PUB_UNCHANGED;
		r->objects = m->count;
		r->series = m->series;
		r->records = m->records;
		r->bytes = m->size;
		r->kept = m->kept;
		a->done = 1;
	} else if (a->p->opts.dry_run) {
		objs_digest(a->listed, a->nlisted, a->digest, &a->bytes);
		r->state = a->nlisted == 0 && !m->has_data && !(m->adopted &&
		    m->nlobjs > 0) ? PUB_EMPTY : PUB_WOULD;
		r->objects = a->nlisted;
		r->bytes = a->bytes;
		a->done = 1;
	}
	return SW_OK;
}

/* Build (or reuse) the day in the cache, keeping what only the
 * published day holds, hold it, and prove it loses nothing published. */
static sw_err
step_build(struct attempt *a)
{
	struct target_day *td = a->td;
	struct manifest *m = &td->m;
	struct publish_report *r = a->r;
	struct engine_listing *listing = a->listing;
	sw_err rc;

	if (td->objs_known && same_source(a->p, m)) {
		a->cs.p = a->p;
		a->cs.key = td->dkey;
		a->cs.etag = td->data_info.etag;
		a->sel.carry = td->objs;
		a->sel.ncarry = td->nobjs;
		a->sel.carry_fetch = carry_fetch;
		a->sel.carry_arg = &a->cs;
	}
	a->listing = NULL;      /* the engine takes it */
	/* the plan's copy of the listing is done with: a big day's objects
	 * are not held twice while the day is built */
	cache_objs_free(a->listed, a->nlisted);
	a->listed = NULL;
	a->nlisted = 0;
	if ((rc = engine_day_ex(a->p->e, a->d, &a->sel, listing, &r->build,
	    &a->pin)) != SW_OK)
		return rc;
	objs_digest(a->pin.objs, a->pin.nobjs, a->digest, &a->bytes);
	r->objects = a->pin.nobjs;
	r->series = a->pin.nseries;
	r->records = a->pin.records;
	r->bytes = a->pin.size;
	r->kept = r->build.kept;
	r->carried = r->build.carried;
	r->changed = r->build.changed;
	r->pruned = r->build.pruned;
	if (a->pin.nobjs == 0 && !m->has_data && !(m->adopted &&
	    m->nlobjs > 0)) {
		r->state = PUB_EMPTY;
		a->done = 1;
		return SW_OK;
	}
	if ((rc = check_nothing_lost(a->p, td, &a->pin, r)) != SW_OK)
		return rc;
	if (r->build.kept > 0)
		log_notice("%s: kept %llu object%s that the cold tier no longer "
		    "holds%s", td->ds, (unsigned long long)r->build.kept,
		    r->build.kept == 1 ? "" : "s", r->build.carried ?
		    " (copied from the published day)" : "");
	return SW_OK;
}

/* The data object, after a word on what else the partition holds. */
static sw_err
step_upload(struct attempt *a)
{
	struct target_day *td = a->td;
	struct partition pt;
	size_t i;
	sw_err rc;

	if ((rc = list_partition(a->p, a->d, td->dkey, &pt)) != SW_OK)
		return rc;
	for (i = 0; i < pt.nother; i++)
		if (!(td->m.legacy && manifest_is_sample_key(pt.other[i])))
			log_warn("%s: '%s%s' is not swrepart's: queries of the "
			    "day read it too", td->ds, store_url(a->p->target),
			    pt.other[i]);
	partition_free(&pt);
	return upload_data(a->p, a->d, td, &a->pin, a->r->build.file[0] ?
	    a->r->build.file : td->dkey, a->md5, &a->info, a->r);
}

/* The sample's objects go, as far as proven folded in (--adopt). */
static sw_err
step_clean(struct attempt *a)
{
	if (!a->td->m.adopted || a->td->m.nlobjs == 0)
		return SW_OK;
	return adopt_delete(a->p, a->td, &a->pin, a->r);
}

/* timeseries.txt: our series, and the sample's while it keeps its own
 * objects. */
static sw_err
step_index(struct attempt *a)
{
	struct manifest *m = &a->td->m;
	struct store_info iinfo;
	struct store_put_opts po = a->p->put;
	int keep = m->legacy && !m->adopted;
	size_t len;
	char *text;
	sw_err rc;

	text = index_text(a->pin.series, a->pin.nseries, keep ? m->lseries :
	    NULL, keep ? m->nlseries : 0, &len);
	po.content_type = "text/plain";
	rc = store_put_mem(a->p->target, a->td->ikey, text, len, &po, &iinfo);
	free(text);
	if (rc != SW_OK)
		return rc;
	snprintf(m->index_etag, sizeof(m->index_etag), "%s", iinfo.etag);
	a->r->new_series = a->pin.nseries > m->series ? a->pin.nseries -
	    m->series : 0;
	return SW_OK;
}

/* The manifest, last: the day is published. */
static sw_err
step_commit(struct attempt *a)
{
	struct manifest *m = &a->td->m;
	sw_err rc;

	set_source(a->p, m);
	free(m->data_key);
	m->data_key = xstrdup(a->td->dkey);
	m->has_data = 1;
	m->version = MANIFEST_VERSION;
	m->size = a->pin.size;
	m->records = a->pin.records;
	m->series = a->pin.nseries;
	snprintf(m->md5, sizeof(m->md5), "%s", a->md5);
	snprintf(m->etag, sizeof(m->etag), "%s", a->info.etag);
	m->count = a->pin.nobjs;
	m->bytes = a->bytes;
	m->kept = a->r->build.kept;
	snprintf(m->digest, sizeof(m->digest), "%s", a->digest);
	/* the pending record goes first: a big day's objects are not held
	 * three times at once */
	m->has_pending = 0;
	cache_objs_free(m->pending_objs, m->npending);
	m->pending_objs = NULL;
	m->npending = 0;
	cache_objs_free(m->objs, m->nobjs);
	m->objs = objs_dup(a->pin.objs, a->pin.nobjs);
	m->nobjs = a->pin.nobjs;
	if ((rc = manifest_put(a->p, a->td, a->d)) != SW_OK)
		return rc;
	a->r->state = PUB_PUBLISHED;
	return SW_OK;
}

/* One attempt at publishing a day: read the manifest, plan, build,
 * upload, clean (the sample's objects, as far as proven folded in),
 * index, commit. */
static sw_err
publish_attempt(struct publisher *p, const struct day *d,
    struct target_day *td, struct publish_report *r)
{
	struct attempt a;
	sw_err rc;

	memset(&a, 0, sizeof(a));
	a.p = p;
	a.d = d;
	a.td = td;
	a.r = r;
	a.pin.fd = a.pin.index_fd = -1;
	if ((rc = step_read(&a)) == SW_OK &&
	    (rc = step_plan(&a)) == SW_OK && !a.done &&
	    (rc = step_build(&a)) == SW_OK && !a.done &&
	    (rc = step_upload(&a)) == SW_OK &&
	    (rc = step_clean(&a)) == SW_OK &&
	    (rc = step_index(&a)) == SW_OK)
		rc = step_commit(&a);
	engine_listing_free(a.listing);
	cache_objs_free(a.listed, a.nlisted);
	engine_pin_release(&a.pin);
	return rc;
}

/* Attempts at one day when other writers come in between. */
#define CONFLICT_ATTEMPTS 6

sw_err
publish_day(struct publisher *p, const struct day *d,
    struct publish_report *r)
{
	struct target_day td;
	unsigned attempt;
	sw_err rc = SW_OK;

	for (attempt = 1; attempt <= CONFLICT_ATTEMPTS; attempt++) {
		unsigned retries = r->conflicts;

		memset(r, 0, sizeof(*r));
		r->conflicts = attempt > 1 ? retries + 1 : 0;
		memset(&td, 0, sizeof(td));
		day_format(d, td.ds);
		publish_keys(p->cfg, d, td.dkey, td.ikey, td.mkey,
		    sizeof(td.dkey));
		snprintf(r->data_key, sizeof(r->data_key), "%s", td.dkey);
		rc = publish_attempt(p, d, &td, r);
		manifest_free(&td.m);
		if (!(rc == SW_ERR_EXISTS && td.conflict))
			break;
		log_notice("%s: %s: another sync wrote the day meanwhile; "
		    "reading it again (attempt %u of %u)", td.ds, sw_errmsg(),
		    attempt + 1, CONFLICT_ATTEMPTS);
		sleep_jitter(attempt);
	}
	if (rc == SW_ERR_EXISTS)
		rc = sw_adderr(rc, "gave up after %u attempts", CONFLICT_ATTEMPTS);
	return rc;
}
