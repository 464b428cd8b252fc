/*
 * engine.c - the day engine (see engine.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "avro_merge.h"
#include "avro_ocf.h"
#include "cache.h"
#include "coldtier.h"
#include "engine.h"
#include "log.h"
#include "options.h"
#include "creds.h"
#include "pool.h"
#include "sitewise.h"
#include "store.h"
#include "util.h"

struct engine {
	const struct sw_config *cfg;
	struct engine_opts opts;
	struct store *cold;
	char *cold_url;
	const char *prefix;
	struct cache *cache;
	int64_t src;
	struct pool *pool;
	char **sel;               /* series of the type, sorted (not ALL) */
	size_t nsel;
};

/* One object of a day. */
struct obj {
	char *key;
	char *etag;
	uint64_t size;
	char series[80];
	/* fetch results: kept small, a day may list 100,000 objects */
	char *path;               /* staging file, while being merged */
	sw_err rc;
	char *err;                /* why it is bad, or NULL */
	struct engine *e;
	uint64_t *done;           /* shared progress counter */
	const struct day *day;
	uint64_t total;
};

struct objs {
	struct obj *v;
	size_t n, cap;
	struct obj *badv;         /* keys that are not cold-tier objects */
	size_t nbad, capbad;
};

static void
objs_free(struct objs *o)
{
	size_t i;

	for (i = 0; i < o->n; i++) {
		free(o->v[i].key);
		free(o->v[i].etag);
		free(o->v[i].path);
		free(o->v[i].err);
	}
	free(o->v);
	for (i = 0; i < o->nbad; i++) {
		free(o->badv[i].key);
		free(o->badv[i].etag);
		free(o->badv[i].err);
	}
	free(o->badv);
	memset(o, 0, sizeof(*o));
}

struct idvec {
	char **v;
	size_t n, cap;
};

static sw_err
add_id(void *arg, const char *id)
{
	struct idvec *iv = arg;

	if (iv->n == iv->cap) {
		iv->cap = iv->cap ? iv->cap * 2 : 1024;
		iv->v = xrealloc(iv->v, iv->cap * sizeof(*iv->v));
	}
	iv->v[iv->n++] = xstrdup(id);
	return SW_OK;
}

static int
cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The series of the configured type (ASSOCIATED or DISASSOCIATED), from
 * ListTimeSeries, cached in the index for aws.sitewise_cache_ttl so that a
 * long range or a mount does not spend the API's low rate quota.
 */
static sw_err
load_selection(struct engine *e)
{
	const char *type = e->cfg->timeseries_type;
	struct idvec iv = { NULL, 0, 0 };
	char *region = NULL, *ep;
	sw_err rc;

	if ((rc = creds_region(e->cfg, &region)) != SW_OK)
		return rc;
	ep = sitewise_endpoint(e->cfg, region ? region : "us-east-1");
	free(region);
	rc = cache_series_list_get(e->cache, ep, type,
	    (double)e->cfg->series_cache_ttl, &e->sel, &e->nsel);
	if (rc == SW_OK) {
		log_info("%zu %s time series (cached list)", e->nsel, type);
		free(ep);
		return SW_OK;
	}
	if (rc != SW_ERR_NOTFOUND) {
		free(ep);
		return rc;
	}
	rc = sitewise_list_timeseries(e->cfg, type, add_id, &iv);
	if (rc == SW_OK) {
		if (iv.n > 0)
			qsort(iv.v, iv.n, sizeof(*iv.v), cmp_strp);
		rc = cache_series_list_put(e->cache, ep, type, iv.v, iv.n);
	}
	if (rc != SW_OK) {
		while (iv.n > 0)
			free(iv.v[--iv.n]);
		free(iv.v);
	} else {
		e->sel = iv.v;
		e->nsel = iv.n;
	}
	free(ep);
	return rc;
}

/* Whether series belongs to the configured type and the selection. */
static int
selected(const struct engine *e, const struct engine_sel *sel,
    const char *series)
{
	if (sel != NULL && sel->nexclude > 0 && bsearch(&series, sel->exclude,
	    sel->nexclude, sizeof(*sel->exclude), cmp_strp) != NULL)
		return 0;
	if (e->sel == NULL && strcmp(e->cfg->timeseries_type, "ALL") == 0)
		return 1;
	return e->nsel > 0 && bsearch(&series, e->sel, e->nsel,
	    sizeof(*e->sel), cmp_strp) != NULL;
}

/* The cache source of a selection: the configured one, or one named by
 * the type and a digest of the series left out. */
static sw_err
sel_source(struct engine *e, const struct engine_sel *sel, int64_t *src)
{
	unsigned char md[32];
	char hex[65], type[160];
	EVP_MD_CTX *ctx;
	size_t i;

	if (sel == NULL || sel->nexclude == 0) {
		*src = e->src;
		return SW_OK;
	}
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (i = 0; i < sel->nexclude; i++) {
		EVP_DigestUpdate(ctx, sel->exclude[i], strlen(sel->exclude[i]));
		EVP_DigestUpdate(ctx, "\n", 1);
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), hex);
	snprintf(type, sizeof(type), "%s less %zu series %s",
	    e->cfg->timeseries_type, sel->nexclude, hex);
	return cache_source(e->cache, e->cold_url, e->prefix, type, src);
}

sw_err
engine_new(const struct sw_config *cfg, const struct engine_opts *o,
    struct engine **out)
{
	struct engine *e;
	sw_err rc;

	*out = NULL;
	if (cfg->cold_bucket == NULL)
		return sw_seterr(SW_ERR_CONFIG, "no cold tier: set "
		    "s3.cold_tier.bucket_name in the config file or give "
		    "--cold-bucket");
	e = xcalloc(1, sizeof(*e));
	e->cfg = cfg;
	if (o != NULL)
		e->opts = *o;
	if (e->opts.jobs == 0)
		e->opts.jobs = (unsigned)cfg->requests;
	e->prefix = cfg->cold_prefix ? cfg->cold_prefix : "";
	e->cold_url = config_bucket_url(cfg->cold_bucket);
	rc = store_open(e->cold_url, cfg, &e->cold);
	if (rc == SW_OK)
		rc = cache_open(cfg, &e->cache);
	if (rc == SW_OK)
		rc = cache_source(e->cache, e->cold_url, e->prefix,
		    cfg->timeseries_type, &e->src);
	if (rc == SW_OK)
		rc = cache_cleanup(e->cache);
	if (rc == SW_OK && strcmp(cfg->timeseries_type, "ALL") != 0)
		rc = load_selection(e);
	if (rc == SW_OK)
		rc = pool_new(e->opts.jobs, &e->pool);
	if (rc != SW_OK) {
		engine_free(e);
		return rc;
	}
	*out = e;
	return SW_OK;
}

void
engine_free(struct engine *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->nsel; i++)
		free(e->sel[i]);
	free(e->sel);
	pool_free(e->pool);
	cache_close(e->cache);
	store_free(e->cold);
	free(e->cold_url);
	free(e);
}

struct cache *
engine_cache(struct engine *e)
{
	return e->cache;
}

struct day_list {
	struct day *v;
	size_t n, cap;
};

static sw_err
add_day(void *arg, const struct day *d)
{
	struct day_list *l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *d;
	return SW_OK;
}

sw_err
engine_days(struct engine *e, const struct day *from, const struct day *to,
    struct day **out, size_t *n)
{
	struct day_list l = { NULL, 0, 0 };
	sw_err rc = coldtier_days(e->cold, e->prefix, from, to, add_day, &l);

	if (rc != SW_OK) {
		free(l.v);
		return rc;
	}
	*out = l.v;
	*n = l.n;
	return SW_OK;
}

static sw_err
add_obj(void *arg, const struct store_entry *se, const struct coldkey *k)
{
	struct objs *o = arg;
	struct obj *ob;

	if (k->kind != COLDKEY_RAW)
		return SW_OK;
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 1024;
		o->v = xrealloc(o->v, o->cap * sizeof(*o->v));
	}
	ob = &o->v[o->n++];
	memset(ob, 0, sizeof(*ob));
	ob->key = xstrdup(se->key);
	ob->etag = xstrdup(se->etag);
	ob->size = se->size;
	snprintf(ob->series, sizeof(ob->series), "%s", k->series);
	return SW_OK;
}

static sw_err
add_bad_key(void *arg, const struct store_entry *se, const char *why)
{
	struct objs *o = arg;
	struct obj *ob;

	if (o->nbad == o->capbad) {
		o->capbad = o->capbad ? o->capbad * 2 : 16;
		o->badv = xrealloc(o->badv, o->capbad * sizeof(*o->badv));
	}
	ob = &o->badv[o->nbad++];
	memset(ob, 0, sizeof(*ob));
	ob->key = xstrdup(se->key);
	ob->etag = xstrdup(se->etag);
	ob->size = se->size;
	ob->err = xstrdup(why);
	return SW_OK;
}

/* ---- fetching ---- */

struct fetch_sink {
	int fd;
	EVP_MD_CTX *md5;
	uint64_t n;
	const char *path;
};

static sw_err
fetch_write(void *arg, const void *p, size_t n)
{
	struct fetch_sink *s = arg;
	const char *c = p;
	size_t left = n;

	EVP_DigestUpdate(s->md5, p, n);
	while (left > 0) {
		ssize_t w = write(s->fd, c, left);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return sw_seterr(SW_ERR_IO, "cannot write '%s': %s",
			    s->path, strerror(errno));
		c += w;
		left -= (size_t)w;
	}
	s->n += n;
	return SW_OK;
}

static sw_err
fetch_job(void *arg)
{
	struct obj *o = arg;
	struct engine *e = o->e;
	struct fetch_sink s;
	struct store_info info;
	unsigned char md[16];
	char hex[33], etag[40];
	sw_err rc;
	uint64_t done;

	memset(&s, 0, sizeof(s));
	s.path = o->path;
	s.fd = open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (s.fd < 0)
		return sw_seterr(SW_ERR_IO, "cannot create '%s': %s", o->path,
		    strerror(errno));
	s.md5 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s.md5, EVP_md5(), NULL);
	rc = store_get(e->cold, o->key, 0, 0, fetch_write, &s, &info);
	EVP_DigestFinal_ex(s.md5, md, NULL);
	EVP_MD_CTX_free(s.md5);
	if (close(s.fd) < 0 && rc == SW_OK)
		rc = sw_seterr(SW_ERR_IO, "cannot write '%s': %s", o->path,
		    strerror(errno));
	if (rc == SW_OK && s.n != o->size)
		rc = sw_seterr(SW_ERR_DATA, "'%s%s': %llu bytes read, but the "
		    "listing said %llu", store_url(e->cold), o->key,
		    (unsigned long long)s.n, (unsigned long long)o->size);
	if (rc == SW_OK && info.etag[0] != '\0' && o->etag[0] != '\0' &&
	    strcmp(info.etag, o->etag) != 0)
		rc = sw_seterr(SW_ERR_DATA, "'%s%s' changed while it was being "
		    "read (ETag %s, listed %s): run again", store_url(e->cold),
		    o->key, info.etag, o->etag);
	if (rc == SW_OK && etag_is_md5(o->etag)) {
		hex_encode(md, 16, hex);
		snprintf(etag, sizeof(etag), "\"%s\"", hex);
		if (strcmp(etag, o->etag) != 0)
			rc = sw_seterr(SW_ERR_DATA, "'%s%s': the bytes read do "
			    "not match the ETag (MD5 %s, ETag %s)",
			    store_url(e->cold), o->key, etag, o->etag);
	}
	o->rc = rc;
	if (rc != SW_OK)
		o->err = xstrdup(sw_errmsg());
	done = __atomic_add_fetch(o->done, 1, __ATOMIC_RELAXED);
	if (e->opts.progress != NULL)
		e->opts.progress(e->opts.progress_arg, o->day, done, o->total);
	/* Data errors are judged by the caller (--skip-bad); others stop
	 * the batch. */
	return rc == SW_ERR_DATA ? SW_OK : rc;
}

/* ---- the day ---- */

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The union of sorted old series and the series of objs, sorted, unique. */
static char **
series_union(char **old, size_t nold, struct obj *const *v, size_t n,
    size_t *out)
{
	char **all = xcalloc(nold + n + 1, sizeof(*all));
	size_t i, k = 0, m = 0;

	for (i = 0; i < nold; i++)
		all[k++] = old[i];
	for (i = 0; i < n; i++)
		all[k++] = (char *)v[i]->series;
	qsort(all, k, sizeof(*all), cmp_str);
	for (i = 0; i < k; i++)
		if (m == 0 || strcmp(all[i], all[m - 1]) != 0)
			all[m++] = all[i];
	*out = m;
	return all;
}

static sw_err
write_index(const char *path, char **series, size_t n)
{
	FILE *f;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t i;
	sw_err rc = SW_OK;

	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return sw_seterr(SW_ERR_IO, "cannot write '%s': %s", path,
		    strerror(errno));
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%s\n", series[i]);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = sw_seterr(SW_ERR_IO, "cannot write '%s': %s", path,
		    strerror(errno));
	fclose(f);
	return rc;
}

/* Copy the file src to dst (for appending to a copy of a day). */
static sw_err
copy_file(const char *src, const char *dst, uint64_t size)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	loff_t left = (loff_t)size;
	sw_err rc = SW_OK;

	if (in < 0)
		return sw_seterr(SW_ERR_IO, "cannot read '%s': %s", src,
		    strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		close(in);
		return sw_seterr(SW_ERR_IO, "cannot create '%s': %s", dst,
		    strerror(errno));
	}
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left,
		    0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = sw_seterr(SW_ERR_IO, "cannot copy '%s': %s", src,
			    n < 0 ? strerror(errno) : "it is shorter than the "
			    "index says");
			break;
		}
		left -= n;
	}
	close(in);
	close(out);
	return rc;
}

static int
cmp_cache_obj(const void *a, const void *b)
{
	return strcmp(((const struct cache_obj *)a)->key,
	    ((const struct cache_obj *)b)->key);
}

static int
cmp_obj_key(const void *a, const void *b)
{
	return strcmp((*(struct obj *const *)a)->key,
	    (*(struct obj *const *)b)->key);
}

/*
 * The sync marker of a day's file: derived from the source, the selection
 * and the day rather than drawn at random, so that the same objects give
 * the same bytes on any machine (a published day can be compared with a
 * rebuild of it byte for byte).  A digest is as unlikely to occur in the
 * data as a random marker.
 */
static void
day_marker(const struct engine *e, const struct engine_sel *sel,
    const struct day *d, unsigned char out[OCF_SYNC_SIZE])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	char ds[11];
	size_t i;

	day_format(d, ds);
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, "swrepart day\n", 13);
	EVP_DigestUpdate(ctx, e->cold_url, strlen(e->cold_url) + 1);
	EVP_DigestUpdate(ctx, e->prefix, strlen(e->prefix) + 1);
	EVP_DigestUpdate(ctx, e->cfg->timeseries_type,
	    strlen(e->cfg->timeseries_type) + 1);
	for (i = 0; sel != NULL && i < sel->nexclude; i++)
		EVP_DigestUpdate(ctx, sel->exclude[i],
		    strlen(sel->exclude[i]) + 1);
	EVP_DigestUpdate(ctx, ds, sizeof(ds));
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	memcpy(out, md, OCF_SYNC_SIZE);
}

void
engine_pin_release(struct engine_pin *p)
{
	size_t i;

	if (p->fd >= 0)
		close(p->fd);
	if (p->index_fd >= 0)
		close(p->index_fd);
	cache_objs_free(p->objs, p->nobjs);
	for (i = 0; i < p->nseries; i++)
		free(p->series[i]);
	free(p->series);
	memset(p, 0, sizeof(*p));
	p->fd = p->index_fd = -1;
}

/* Pin the current generation of a day (its build lock is held). */
static sw_err
pin_day(struct engine *e, int64_t src, const struct day *d,
    struct engine_pin *p, int lists)
{
	struct cache_day cd;
	struct stat sb;
	sw_err rc;

	memset(p, 0, sizeof(*p));
	p->fd = p->index_fd = -1;
	if ((rc = cache_day_get(e->cache, src, d, &cd)) != SW_OK)
		return rc;
	p->index_fd = open(cd.index, O_RDONLY | O_CLOEXEC);
	p->fd = open(cd.file, O_RDONLY | O_CLOEXEC);
	if (p->fd < 0 || p->index_fd < 0 || fstat(p->fd, &sb) < 0 ||
	    (uint64_t)sb.st_size != cd.size) {
		rc = sw_seterr(SW_ERR_IO, "cache: cannot read '%s': %s",
		    p->fd < 0 ? cd.file : cd.index, p->fd < 0 ||
		    p->index_fd < 0 ? strerror(errno) : "its size is not the "
		    "one the index recorded");
		engine_pin_release(p);
		return rc;
	}
	p->size = cd.size;
	p->gen = cd.gen;
	p->built = cd.built;
	p->records = cd.records;
	if (!lists)
		return SW_OK;
	rc = cache_day_objects(e->cache, src, d, &p->objs, &p->nobjs);
	if (rc == SW_OK)
		rc = cache_day_series(e->cache, src, d, &p->series,
		    &p->nseries);
	if (rc != SW_OK)
		engine_pin_release(p);
	return rc;
}

/* The objects known to be bad for a day, as (key, etag) strings. */
static int
known_bad(const struct cache_obj *bad, size_t nbad, const struct obj *o)
{
	size_t j;

	for (j = 0; j < nbad; j++)
		if (strcmp(bad[j].key, o->key) == 0 &&
		    strcmp(bad[j].etag, o->etag) == 0)
			return 1;
	return 0;
}

/* A day's listing kept for the build that follows it. */
struct engine_listing {
	struct day d;
	struct objs listed;
};

void
engine_listing_free(struct engine_listing *l)
{
	if (l == NULL)
		return;
	objs_free(&l->listed);
	free(l);
}

sw_err
engine_day_list(struct engine *e, const struct day *d,
    const struct engine_sel *sel, struct cache_obj **out, size_t *n,
    struct engine_listing **keep)
{
	struct objs listed;
	struct coldtier_stats cs;
	struct cache_obj *bad = NULL, *v;
	char **reasons = NULL;
	size_t nbad = 0, i, k = 0;
	int64_t src;
	sw_err rc;

	*out = NULL;
	*n = 0;
	if (keep != NULL)
		*keep = NULL;
	memset(&listed, 0, sizeof(listed));
	rc = sel_source(e, sel, &src);
	if (rc == SW_OK)
		rc = coldtier_list_day(e->cold, e->prefix, d, add_obj,
		    add_bad_key, &listed, &cs);
	if (rc == SW_OK && e->opts.skip_bad)
		rc = cache_day_bad(e->cache, src, d, &bad, &reasons, &nbad);
	if (rc != SW_OK) {
		objs_free(&listed);
		return rc;
	}
	v = xcalloc(listed.n + 1, sizeof(*v));
	for (i = 0; i < listed.n; i++) {
		struct obj *o = &listed.v[i];

		if (!selected(e, sel, o->series) || known_bad(bad, nbad, o))
			continue;
		v[k].key = xstrdup(o->key);
		v[k].etag = xstrdup(o->etag);
		v[k++].size = o->size;
	}
	qsort(v, k, sizeof(*v), cmp_cache_obj);
	*out = v;
	*n = k;
	for (i = 0; i < nbad; i++)
		free(reasons[i]);
	free(reasons);
	cache_objs_free(bad, nbad);
	if (keep != NULL) {
		*keep = xcalloc(1, sizeof(**keep));
		(*keep)->d = *d;
		(*keep)->listed = listed;
	} else {
		objs_free(&listed);
	}
	return SW_OK;
}

sw_err
engine_day_pin(struct engine *e, const struct day *d, struct engine_pin *pin)
{
	struct cache_day cd;
	int lockfd;
	sw_err rc;

	memset(pin, 0, sizeof(*pin));
	pin->fd = pin->index_fd = -1;
	if ((rc = cache_day_get(e->cache, e->src, d, &cd)) != SW_OK)
		return rc;
	if (!cd.exists)
		return SW_ERR_NOTFOUND;
	if ((rc = cache_day_lock(e->cache, e->src, d, &lockfd)) != SW_OK)
		return rc;
	rc = cache_day_get(e->cache, e->src, d, &cd);
	if (rc == SW_OK && !cd.exists)
		rc = SW_ERR_NOTFOUND;
	else if (rc == SW_OK)
		rc = pin_day(e, e->src, d, pin, 0);
	cache_day_unlock(lockfd);
	return rc;
}

int64_t
engine_source(const struct engine *e)
{
	return e->src;
}

struct store *
engine_cold(struct engine *e)
{
	return e->cold;
}

const char *
engine_prefix(const struct engine *e)
{
	return e->prefix;
}

sw_err
engine_day(struct engine *e, const struct day *d, struct engine_report *rep)
{
	return engine_day_ex(e, d, NULL, NULL, rep, NULL);
}

sw_err
engine_day_ex(struct engine *e, const struct day *d,
    const struct engine_sel *sel, struct engine_listing *given,
    struct engine_report *rep, struct engine_pin *pin)
{
	struct objs listed;
	struct coldtier_stats cs;
	struct cache_day old;
	struct cache_obj *had = NULL, *bad = NULL;
	char **bad_reasons = NULL, **old_series = NULL, **series = NULL;
	size_t nhad = 0, nbad = 0, nold_series = 0, nseries = 0, i, j;
	struct obj **todo = NULL, **merged = NULL;
	size_t ntodo = 0, nmerged = 0;
	struct cache_obj *added = NULL, *skipped = NULL;
	char **skipped_why = NULL;
	size_t nskipped = 0;
	char staging[PATH_MAX] = "", avro[PATH_MAX], index[PATH_MAX];
	char ds[11];
	uint64_t done = 0;
	struct batch b;
	int lockfd = -1, rebuild = 0;
	int64_t src;
	double t0;
	sw_err rc;

	memset(rep, 0, sizeof(*rep));
	if (pin != NULL) {
		memset(pin, 0, sizeof(*pin));
		pin->fd = pin->index_fd = -1;
	}
	memset(&listed, 0, sizeof(listed));
	if (given != NULL && day_cmp(&given->d, d) == 0) {
		listed = given->listed;
		memset(&given->listed, 0, sizeof(given->listed));
	}
	engine_listing_free(given);
	if ((rc = sel_source(e, sel, &src)) != SW_OK) {
		objs_free(&listed);
		return rc;
	}
	day_format(d, ds);
	avro[0] = index[0] = '\0';
	if ((rc = cache_day_lock(e->cache, src, d, &lockfd)) != SW_OK) {
		objs_free(&listed);
		return rc;
	}
	if (listed.v == NULL && listed.badv == NULL)
		rc = coldtier_list_day(e->cold, e->prefix, d, add_obj,
		    add_bad_key, &listed, &cs);
	/* A key in the day's partition that is not a cold-tier object: the
	 * day cannot be said complete without it, unless --skip-bad. */
	if (rc == SW_OK && listed.nbad > 0 && !e->opts.skip_bad)
		rc = sw_seterr(SW_ERR_BADKEY, "'%s%s': %s (the day is not "
		    "built; --skip-bad builds it without such objects)",
		    store_url(e->cold), listed.badv[0].key,
		    listed.badv[0].err);
	for (i = 0; rc == SW_OK && i < listed.nbad; i++)
		log_warn("%s: skipping '%s%s': %s", ds, store_url(e->cold),
		    listed.badv[i].key, listed.badv[i].err);
	if (rc == SW_OK)
		rc = cache_day_get(e->cache, src, d, &old);
	if (rc == SW_OK && old.exists)
		rc = cache_day_objects(e->cache, src, d, &had, &nhad);
	if (rc == SW_OK && old.exists)
		rc = cache_day_series(e->cache, src, d, &old_series,
		    &nold_series);
	if (rc == SW_OK)
		rc = cache_day_bad(e->cache, src, d, &bad, &bad_reasons,
		    &nbad);
	if (rc != SW_OK)
		goto out;
	/* Keep the objects of the configured time-series type. */
	for (i = 0, j = 0; i < listed.n; i++) {
		if (selected(e, sel, listed.v[i].series)) {
			listed.v[j++] = listed.v[i];
			continue;
		}
		free(listed.v[i].key);
		free(listed.v[i].etag);
		rep->filtered++;
	}
	listed.n = j;
	rep->listed = listed.n;

	/* What is new?  Both lists are in byte order of their keys. */
	todo = xcalloc(listed.n + 1, sizeof(*todo));
	for (i = 0, j = 0; i < listed.n; i++) {
		struct obj *o = &listed.v[i];
		int c = 1;

		while (j < nhad && (c = strcmp(had[j].key, o->key)) < 0)
			j++;
		if (j < nhad && c == 0) {
			if (strcmp(had[j].etag, o->etag) != 0) {
				log_notice("%s: '%s%s' changed since it was "
				    "merged: rebuilding the day", ds,
				    store_url(e->cold), o->key);
				rebuild = 1;
			}
			continue;
		}
		todo[ntodo++] = o;
	}
	if (rebuild) {
		ntodo = 0;
		for (i = 0; i < listed.n; i++)
			todo[ntodo++] = &listed.v[i];
	}
	/* Objects known to be bad are skipped again with --skip-bad. */
	if (e->opts.skip_bad && nbad > 0) {
		size_t k = 0;

		for (i = 0; i < ntodo; i++) {
			if (known_bad(bad, nbad, todo[i]))
				rep->bad++;
			else
				todo[k++] = todo[i];
		}
		ntodo = k;
	}
	if (ntodo == 0 && old.exists) {
		rep->up_to_date = 1;
		rep->bad += listed.nbad;
		rep->series = old.series;
		rep->records = old.records;
		rep->size = old.size;
		snprintf(rep->file, sizeof(rep->file), "%s", old.file);
		goto out;
	}

	/* Fetch. */
	if ((rc = cache_staging(e->cache, staging, sizeof(staging))) != SW_OK)
		goto out;
	t0 = now_mono();
	batch_init(&b, e->pool, 1);
	for (i = 0; i < ntodo; i++) {
		struct obj *o = todo[i];

		{
			struct buf pb;

			buf_init(&pb);
			buf_printf(&pb, "%s/%06zu.avro", staging, i);
			o->path = buf_detach(&pb);
		}
		o->e = e;
		o->done = &done;
		o->day = d;
		o->total = ntodo;
		batch_submit(&b, fetch_job, o);
	}
	rc = batch_wait(&b);
	batch_release(&b);
	rep->fetch_seconds = now_mono() - t0;
	if (rc != SW_OK)
		goto out;
	rep->fetched = ntodo;

	/* Sort what was fetched in key order; judge the data errors. */
	qsort(todo, ntodo, sizeof(*todo), cmp_obj_key);
	merged = xcalloc(ntodo + 1, sizeof(*merged));
	skipped = xcalloc(ntodo + listed.nbad + 1, sizeof(*skipped));
	skipped_why = xcalloc(ntodo + listed.nbad + 1, sizeof(*skipped_why));
	for (i = 0; i < listed.nbad; i++) {
		struct obj *o = &listed.badv[i];

		skipped[nskipped].key = o->key;
		skipped[nskipped].etag = o->etag;
		skipped[nskipped].size = o->size;
		skipped_why[nskipped++] = o->err;
	}
	for (i = 0; i < ntodo; i++) {
		struct obj *o = todo[i];

		rep->fetched_bytes += o->size;
		if (o->rc == SW_OK) {
			merged[nmerged++] = o;
			continue;
		}
		if (!e->opts.skip_bad) {
			rc = sw_seterr(o->rc, "%s", o->err);
			goto out;
		}
		skipped[nskipped].key = o->key;
		skipped[nskipped].etag = o->etag;
		skipped[nskipped].size = o->size;
		skipped_why[nskipped++] = o->err;
		log_warn("%s: skipping '%s%s': %s", ds, store_url(e->cold),
		    o->key, o->err);
	}

	/* Merge into a new generation: a copy of the current one extended
	 * with the new objects, or a fresh file for a new or rebuilt day. */
	t0 = now_mono();
	{
		int64_t gen = old.exists ? old.gen + 1 : 1;
		int append = old.exists && !rebuild;
		struct merge *m = NULL;
		struct merge_stats ms;
		struct stat sb;
		int outfd;

		if ((rc = cache_day_paths(e->cache, src, d, gen, avro, index,
		    sizeof(avro))) != SW_OK)
			goto out;
		if (append && (rc = copy_file(old.file, avro, old.size)) !=
		    SW_OK)
			goto out;
		outfd = open(avro, O_RDWR | O_CREAT | O_CLOEXEC |
		    (append ? 0 : O_TRUNC), 0600);
		if (outfd < 0) {
			rc = sw_seterr(SW_ERR_IO, "cannot create '%s': %s", avro,
			    strerror(errno));
			goto out;
		}
		if (append)
			rc = merge_open_append(outfd, avro, old.size, 0,
			    ocf_sink_fd, &outfd, &m, NULL);
		else {
			unsigned char marker[OCF_SYNC_SIZE];

			day_marker(e, sel, d, marker);
			rc = merge_new(ocf_sink_fd, &outfd, marker, &m);
		}
		if (rc == SW_OK && e->opts.merge_one_thread)
			merge_set_workers(m, 0);
		added = xcalloc(nmerged + 1, sizeof(*added));
		for (i = 0, j = 0; rc == SW_OK && i < nmerged; i++) {
			struct obj *o = merged[i];
			char name[PATH_MAX + 1024];
			uint64_t cut;
			int infd = open(o->path, O_RDONLY | O_CLOEXEC);

			snprintf(name, sizeof(name), "%s%s", store_url(e->cold),
			    o->key);
			if (infd < 0) {
				rc = sw_seterr(SW_ERR_IO, "cannot read '%s': %s",
				    o->path, strerror(errno));
				break;
			}
			rc = merge_add_file(m, infd, name, &ms);
			close(infd);
			if (rc == SW_OK) {
				added[j].key = o->key;
				added[j].etag = o->etag;
				added[j++].size = o->size;
				rep->records_added += ms.records;
				continue;
			}
			if (rc != SW_ERR_DATA || !e->opts.skip_bad)
				break;
			/* --skip-bad: cut the object's blocks off again. */
			free(o->err);
			o->err = xstrdup(sw_errmsg());
			log_warn("%s: skipping '%s': %s", ds, name, o->err);
			rc = merge_rollback(m, &cut);
			if (rc == SW_OK && (ftruncate(outfd, (off_t)cut) < 0 ||
			    lseek(outfd, (off_t)cut, SEEK_SET) < 0))
				rc = sw_seterr(SW_ERR_IO, "cannot cut '%s' "
				    "back: %s", avro, strerror(errno));
			skipped[nskipped].key = o->key;
			skipped[nskipped].etag = o->etag;
			skipped[nskipped].size = o->size;
			skipped_why[nskipped++] = o->err;
		}
		if (rc == SW_OK)
			rc = merge_finish(m);
		if (rc == SW_OK) {
			merge_stats(m, &ms);
			rep->records = ms.records;
		}
		merge_free(m);
		if (rc == SW_OK && (fsync(outfd) < 0 || fstat(outfd, &sb) < 0))
			rc = sw_seterr(SW_ERR_IO, "cannot write '%s': %s", avro,
			    strerror(errno));
		close(outfd);
		rep->merge_seconds = now_mono() - t0;
		if (rc != SW_OK)
			goto out;
		rep->size = (uint64_t)sb.st_size;
		if (append)
			rep->records += old.records;

		/* The series index: the old series and the new ones. */
		{
			struct obj **ok_objs = xcalloc(j + 1, sizeof(*ok_objs));
			size_t k, q = 0;

			for (k = 0; k < nmerged; k++)
				if (merged[k]->err == NULL)
					ok_objs[q++] = merged[k];
			series = series_union(append ? old_series : NULL,
			    append ? nold_series : 0, ok_objs, q, &nseries);
			free(ok_objs);
		}
		rep->series = nseries;
		rep->new_series = nseries - (append ? nold_series : 0);
		if (!append && old.exists && nseries > old.series)
			rep->new_series = nseries - old.series;
		if ((rc = write_index(index, series, nseries)) != SW_OK)
			goto out;
		{
			struct cache_commit cm;

			memset(&cm, 0, sizeof(cm));
			cm.gen = gen;
			cm.size = rep->size;
			cm.records = rep->records;
			cm.added = added;
			cm.nadded = j;
			cm.replace = rebuild;
			cm.series = series;
			cm.nseries = nseries;
			cm.bad = skipped;
			cm.bad_reasons = skipped_why;
			cm.nbad = nskipped;
			rc = cache_day_commit(e->cache, src, d, &cm);
		}
		if (rc != SW_OK)
			goto out;
		rep->rebuilt = rebuild;
		rep->bad += nskipped;
		snprintf(rep->file, sizeof(rep->file), "%s", avro);
	}
out:
	if (rc != SW_OK) {
		if (avro[0] != '\0')
			unlink(avro);
		if (index[0] != '\0')
			unlink(index);
	} else if (pin != NULL) {
		rc = pin_day(e, src, d, pin, 1);
	}
	if (staging[0] != '\0')
		cache_rmtree(staging);
	cache_day_unlock(lockfd);
	free(todo);
	free(merged);
	free(added);
	free(skipped);
	free(skipped_why);
	free(series);
	cache_objs_free(had, nhad);
	cache_objs_free(bad, nbad);
	for (i = 0; i < nbad; i++)
		free(bad_reasons[i]);
	free(bad_reasons);
	for (i = 0; i < nold_series; i++)
		free(old_series[i]);
	free(old_series);
	objs_free(&listed);
	return rc;
}
