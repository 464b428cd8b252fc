/*
 * engine.c - the day engine (see engine.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "avro/merge.h"
#include "avro/ocf.h"
#include "aws/creds.h"
#include "aws/sitewise.h"
#include "base/log.h"
#include "base/asink.h"
#include "base/options.h"
#include "base/pool.h"
#include "base/util.h"
#include "core/cache.h"
#include "core/catalog.h"
#include "core/coldtier.h"
#include "core/engine.h"
#include "store/store.h"

struct engine {
	const struct sw_config *cfg;
	struct engine_opts opts;
	struct store *cold;
	char *cold_url;
	const char *prefix;
	char *agg_prefix;         /* the aggregates' (ENGINE_AGG), owned */
	const struct merge_dataset *ds; /* the dataset's reader schema */
	struct cache *cache;
	int64_t src;
	struct pool *pool;
	char **sel;               /* series of the type, sorted (not ALL) */
	size_t nsel;
	/* day files checked against their MD5 by this process */
	pthread_mutex_t vmu;
	struct verified { int64_t src, gen; struct day d; } *verified;
	size_t nverified, capverified;
	/* directory levels listed by this process (engine_level) */
	pthread_mutex_t lmu;
	struct level { char *path; double fetched; long *vals; size_t n; }
	    *levels;
	/* series' buckets learned from listings (under lmu) */
	struct sbucket { char series[80]; int bucket; double missed; }
	    *buckets;
	size_t nbuckets, capbuckets;
	size_t nlevels, caplevels;
	/* the series catalogue (engine_catalog): cbuild is held while it is
	 * read (like a day's build lock: across the cold tier and the
	 * index), cmu is a leaf held to take or swap the pointer */
	pthread_mutex_t cbuild, cmu;
	struct catalog *catalog;
	double catalog_meta_at;   /* when its parts were read (0: never) */
	double catalog_api_at;
};

/*
 * Locks of the engine: vmu and lmu are leaves, each held only to read or
 * change its table (never across sqlite, a file or the cold tier).  A
 * build holds its day's lock (cache.c: lock order) for its whole length.
 */

/* One object of a day. */
struct obj {
	char *key;
	char *etag;
	uint64_t size;
	/* the series id: key[series_off, + series_len) (kept small: a day
	 * may list 100,000 objects) */
	uint16_t series_off;
	uint8_t series_len;
	/* fetch results */
	unsigned char *mem;       /* its bytes, while in the window */
	size_t cap;               /* mem's size */
	uint64_t got;             /* bytes received */
	int fd;                   /* or a file: spilled, or the object's own
	                           * (file://); -1 when none */
	int ready;                /* fetched (rc says how): under win->mu */
	const struct cache_obj *carry; /* read from elsewhere, not the cold
	                           * tier (engine_sel.carry) */
	struct window *win;
	const struct engine_sel *sel;
	sw_err rc;
	char *err;                /* why it is bad, or NULL */
	struct engine *e;
	uint64_t *done;           /* shared progress counter */
	const struct day *day;
	uint64_t total;
	struct cache_progress_w *prog; /* the build's, for other processes */
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
		free(o->v[i].mem);
		if (o->v[i].fd >= 0)
			close(o->v[i].fd);
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

	iv->v = xgrowarray(iv->v, &iv->cap, iv->n + 1, sizeof(*iv->v));
	iv->v[iv->n++] = xstrdup(id);
	return SW_OK;
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
	if (rc != SW_OK && strncmp(e->cold_url, "file://", 7) == 0)
		/* Local files, yet credentials are asked for: say why. */
		rc = sw_adderr(rc, "timeseries_type %s needs the IoT SiteWise "
		    "API (ListTimeSeries), hence AWS credentials, even for the "
		    "local cold tier '%s': give --timeseries-type ALL to take "
		    "every series of the files", type, e->cold_url);
	if (rc == SW_OK) {
		if (iv.n > 0)
			qsort(iv.v, iv.n, sizeof(*iv.v), strv_cmp);
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
	if (sel != NULL && sel->series != NULL &&
	    strcmp(series, sel->series) != 0)
		return 0;
	if (sel != NULL && sel->nexclude > 0 && bsearch(&series, sel->exclude,
	    sel->nexclude, sizeof(*sel->exclude), strv_cmp) != NULL)
		return 0;
	if (e->sel == NULL && strcmp(e->cfg->timeseries_type, "ALL") == 0)
		return 1;
	return e->nsel > 0 && bsearch(&series, e->sel, e->nsel,
	    sizeof(*e->sel), strv_cmp) != NULL;
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

	if (sel != NULL && sel->series != NULL) {
		if (sel->nexclude > 0)
			return sw_seterr(SW_ERR_INTERNAL, "a series' day less "
			    "some series");
		snprintf(type, sizeof(type), "%s series %s",
		    e->cfg->timeseries_type, sel->series);
		return cache_source(e->cache, e->cold_url, e->prefix, type,
		    src);
	}
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
	if ((rc = config_need_cold(cfg)) != SW_OK)
		return rc;
	e = xcalloc(1, sizeof(*e));
	e->cfg = cfg;
	pthread_mutex_init(&e->vmu, NULL);
	pthread_mutex_init(&e->lmu, NULL);
	pthread_mutex_init(&e->cbuild, NULL);
	pthread_mutex_init(&e->cmu, NULL);
	if (o != NULL)
		e->opts = *o;
	if (e->opts.jobs == 0)
		e->opts.jobs = (unsigned)cfg->requests;
	e->prefix = cfg->cold_prefix ? cfg->cold_prefix : "";
	e->ds = &merge_raw;
	if (e->opts.dataset == ENGINE_AGG) {
		e->prefix = e->agg_prefix = config_agg_prefix(cfg);
		e->ds = &merge_agg;
	}
	e->cold_url = config_bucket_url(cfg->cold_bucket);
	rc = store_open(e->cold_url, cfg, &e->cold);
	if (rc == SW_OK)
		rc = cache_open(cfg, &e->cache);
	if (rc == SW_OK)
		rc = cache_source(e->cache, e->cold_url, e->prefix,
		    cfg->timeseries_type, &e->src);
	if (rc == SW_OK)
		rc = cache_cleanup(e->cache);
	if (rc == SW_OK && strcmp(cfg->timeseries_type, "ALL") != 0 &&
	    !e->opts.catalog_only)
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
	free(e->verified);
	pthread_mutex_destroy(&e->vmu);
	for (i = 0; i < e->nlevels; i++) {
		free(e->levels[i].path);
		free(e->levels[i].vals);
	}
	free(e->levels);
	free(e->buckets);
	pthread_mutex_destroy(&e->lmu);
	catalog_unref(e->catalog);
	pthread_mutex_destroy(&e->cbuild);
	pthread_mutex_destroy(&e->cmu);
	pool_free(e->pool);
	cache_close(e->cache);
	store_free(e->cold);
	free(e->cold_url);
	free(e->agg_prefix);
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

	l->v = xgrowarray(l->v, &l->cap, l->n + 1, sizeof(*l->v));
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

/* Every object of the dataset's prefix, of either kind of key: the
 * prefix says what the dataset is, and a file of the other kind there
 * (agg_ under raw/) is refused by its schema, naming it, as any file
 * that is not of the dataset. */
static sw_err
add_obj(void *arg, const struct store_entry *se, const struct coldkey *k)
{
	struct objs *o = arg;
	struct obj *ob;

	o->v = xgrowarray(o->v, &o->cap, o->n + 1, sizeof(*o->v));
	ob = &o->v[o->n++];
	memset(ob, 0, sizeof(*ob));
	ob->key = xstrdup(se->key);
	ob->etag = xstrdup(se->etag);
	ob->size = se->size;
	ob->fd = -1;
	/* the file name (raw_{series}_{start}_{quality}.avro) holds the id
	 * the key was parsed into */
	{
		const char *name = strrchr(ob->key, '/');
		const char *at = strstr(name != NULL ? name : ob->key,
		    k->series);
		size_t len = strlen(k->series);

		if (at == NULL || len > UINT8_MAX ||
		    (size_t)(at - ob->key) > UINT16_MAX)
			return sw_seterr(SW_ERR_BADKEY, "'%s': the series id "
			    "'%s' is not in its name", se->key, k->series);
		ob->series_off = (uint16_t)(at - ob->key);
		ob->series_len = (uint8_t)len;
	}
	return SW_OK;
}

/* Whether o's series is selected (see selected()). */
static int
obj_selected(const struct engine *e, const struct engine_sel *sel,
    const struct obj *o)
{
	char series[UINT8_MAX + 1];

	memcpy(series, o->key + o->series_off, o->series_len);
	series[o->series_len] = '\0';
	return selected(e, sel, series);
}

static sw_err
add_bad_key(void *arg, const struct store_entry *se, const char *why)
{
	struct objs *o = arg;
	struct obj *ob;

	o->badv = xgrowarray(o->badv, &o->capbad, o->nbad + 1,
	    sizeof(*o->badv));
	ob = &o->badv[o->nbad++];
	memset(ob, 0, sizeof(*ob));
	ob->key = xstrdup(se->key);
	ob->etag = xstrdup(se->etag);
	ob->size = se->size;
	ob->err = xstrdup(why);
	return SW_OK;
}

/* What the dataset's object names start with ("raw", "agg"). */
static const char *
key_stem(const struct engine *e)
{
	return e->opts.dataset == ENGINE_AGG ? "agg" : "raw";
}

/* List day d's objects for the selection: one series' prefix when its
 * bucket is known, else the whole day (the caller keeps what sel
 * selects). */
static sw_err
list_day(struct engine *e, const struct engine_sel *sel, const struct day *d,
    struct objs *o, struct coldtier_stats *cs)
{
	if (sel != NULL && sel->series != NULL && sel->bucket >= 0)
		return coldtier_list_series_day(e->cold, e->prefix, d,
		    (unsigned)sel->bucket, key_stem(e), sel->series, add_obj,
		    add_bad_key, o, cs);
	return coldtier_list_day(e->cold, e->prefix, d, add_obj, add_bad_key,
	    o, cs);
}

/* ---- fetching ---- */

/*
 * Objects stream from the cold tier into the merge through a window: the
 * merge takes the parts in key order, and ahead of it the request pool
 * fetches the next objects into memory, up to WINDOW_BYTES (or
 * WINDOW_OBJS objects) fetched or in flight and not merged yet
 * (engine_opts.window_bytes).  An object bigger than a quarter of the
 * window, at most SPILL_OVER, goes to an unnamed temporary file instead
 * (and counts that much against the window).  Each object is checked as it
 * arrives (size, ETag/MD5) and by the merge (Avro framing, CRCs, counts)
 * before a byte of it is written.  A store whose objects are files
 * (file://) hands the merge each object's descriptor instead: no copy.
 */
#define WINDOW_BYTES (16u << 20)
#define WINDOW_OBJS 1024
#define SPILL_OVER (8u << 20)

struct window {
	pthread_mutex_t mu;
	pthread_cond_t ready;     /* an object was fetched */
	struct batch bt;
	int started;
	uint64_t held;            /* bytes counted against the window */
	uint64_t peak;            /* the most held at once */
	size_t peak_ahead;
	size_t ahead;             /* objects submitted, not merged yet */
	size_t next;              /* the next part to consider */
	int stop;                 /* the build ends: fetch nothing more */
	double t0, last;          /* start, the last fetch's end */
	/* buffers of merged objects, for the next ones: memory is reused,
	 * not allocated per object (and spread over the threads' arenas) */
	struct wbuf { unsigned char *p; size_t cap; } *spare;
	size_t nspare;
	uint64_t spare_bytes;
};

/* A buffer of at least n bytes for a fetch: a spare one if there is. */
static unsigned char *
win_buf_get(struct window *w, size_t n, size_t *cap)
{
	struct wbuf b = { NULL, 0 };

	if (w != NULL) {
		pthread_mutex_lock(&w->mu);
		if (w->nspare > 0) {
			b = w->spare[--w->nspare];
			w->spare_bytes -= b.cap;
		}
		pthread_mutex_unlock(&w->mu);
	}
	if (n == 0)
		n = 1;
	if (b.cap < n) {
		b.p = xrealloc(b.p, n);
		b.cap = n;
	}
	*cap = b.cap;
	return b.p;
}

/* Give a merged object's buffer back (kept while the spares stay within
 * the window's size). */
static void
win_buf_put(struct window *w, unsigned char *p, size_t cap, uint64_t limit)
{
	if (p == NULL)
		return;
	if (w != NULL) {
		pthread_mutex_lock(&w->mu);
		if (w->nspare < WINDOW_OBJS && w->spare_bytes + cap <= limit) {
			w->spare[w->nspare].p = p;
			w->spare[w->nspare++].cap = cap;
			w->spare_bytes += cap;
			p = NULL;
		}
		pthread_mutex_unlock(&w->mu);
	}
	free(p);
}

static uint64_t
win_bytes(const struct engine *e)
{
	return e->opts.window_bytes > 0 ? e->opts.window_bytes : WINDOW_BYTES;
}

/* Objects bigger than this are spilled to a temporary file. */
static uint64_t
spill_over(const struct engine *e)
{
	uint64_t q = win_bytes(e) / 4;

	return q < SPILL_OVER ? q : SPILL_OVER;
}

/* What o counts against the window. */
static uint64_t
win_cost(const struct obj *o)
{
	uint64_t s = spill_over(o->e);

	return o->size > s ? s : o->size;
}

struct fetch_sink {
	struct obj *o;
	EVP_MD_CTX *md5;
	const char *name;         /* for messages */
};

static sw_err
fetch_write(void *arg, const void *p, size_t n)
{
	struct fetch_sink *s = arg;
	struct obj *o = s->o;

	if (n > o->size - o->got)
		return sw_seterr(SW_ERR_DATA, "'%s': more bytes than the "
		    "listing said (%llu)", s->name,
		    (unsigned long long)o->size);
	if (s->md5 != NULL)
		EVP_DigestUpdate(s->md5, p, n);
	if (o->fd >= 0) {
		if (write_full(o->fd, p, n) < 0)
			return sw_seterr(SW_ERR_IO, "cannot write a temporary "
			    "file for '%s': %s", s->name, strerror(errno));
	} else {
		memcpy(o->mem + o->got, p, n);
	}
	o->got += n;
	return SW_OK;
}

/* A temporary file for an object too big for the window: unnamed
 * (O_TMPFILE; where the file system lacks it, created and unlinked at
 * once), in the cache directory, private as the rest of it. */
static sw_err
spill_open(struct obj *o)
{
	const char *dir = cache_dir(o->e->cache);
	char path[PATH_MAX];

	o->fd = open(dir, O_RDWR | O_TMPFILE | O_CLOEXEC, 0600);
	if (o->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR ||
	    errno == EINVAL) && (size_t)snprintf(path, sizeof(path),
	    "%s/.spill-XXXXXX", dir) < sizeof(path) &&
	    (o->fd = mkostemp(path, O_CLOEXEC)) >= 0)
		(void)unlink(path);
	if (o->fd < 0)
		return sw_seterr(SW_ERR_IO, "cannot create a temporary file in "
		    "'%s': %s", dir, strerror(errno));
	return SW_OK;
}

/* The checks of what arrived against what the listing said. */
static sw_err
fetch_check(struct engine *e, const struct obj *o, const char *etag_got,
    const unsigned char md[16])
{
	char hex[33], etag[40];

	if (o->got != o->size)
		return sw_seterr(SW_ERR_DATA, "'%s%s': %llu bytes read, but the "
		    "listing said %llu", store_url(e->cold), o->key,
		    (unsigned long long)o->got, (unsigned long long)o->size);
	if (etag_got[0] != '\0' && o->etag[0] != '\0' &&
	    strcmp(etag_got, o->etag) != 0)
		return sw_seterr(SW_ERR_DATA, "'%s%s' changed while it was being "
		    "read (ETag %s, listed %s): run again", store_url(e->cold),
		    o->key, etag_got, o->etag);
	if (md != NULL && etag_is_md5(o->etag)) {
		hex_encode(md, 16, hex);
		snprintf(etag, sizeof(etag), "\"%s\"", hex);
		if (strcmp(etag, o->etag) != 0)
			return sw_seterr(SW_ERR_DATA, "'%s%s': the bytes read do "
			    "not match the ETag (MD5 %s, ETag %s)",
			    store_url(e->cold), o->key, etag, o->etag);
	}
	return SW_OK;
}

/* o is fetched (rc says how): the merge may take it. */
static void
fetch_done(struct obj *o, sw_err rc)
{
	struct engine *e = o->e;
	struct window *w = o->win;
	uint64_t done;

	o->rc = rc;
	if (rc != SW_OK)
		o->err = xstrdup(sw_errmsg());
	done = __atomic_add_fetch(o->done, 1, __ATOMIC_RELAXED);
	if (e->opts.progress != NULL)
		e->opts.progress(e->opts.progress_arg, o->day, done, o->total);
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	o->ready = 1;
	w->last = now_mono();
	pthread_cond_broadcast(&w->ready);
	pthread_mutex_unlock(&w->mu);
}

static sw_err
fetch_job(void *arg)
{
	struct obj *o = arg;
	struct engine *e = o->e;
	struct fetch_sink s;
	struct store_info info;
	unsigned char md[16];
	char name[1200];
	sw_err rc = SW_OK;

	memset(&s, 0, sizeof(s));
	memset(&info, 0, sizeof(info));
	s.o = o;
	s.name = name;
	snprintf(name, sizeof(name), "%s%s", o->carry != NULL ?
	    "published blocks of " : store_url(e->cold), o->key);
	if (o->win != NULL && __atomic_load_n(&o->win->stop,
	    __ATOMIC_RELAXED)) {
		rc = sw_seterr(SW_ERR_INTERNAL, "'%s': not fetched, the build "
		    "stopped", name);
		goto done;
	}
	if (o->size > spill_over(e))
		rc = spill_open(o);
	else
		o->mem = win_buf_get(o->win, (size_t)o->size, &o->cap);
	if (rc != SW_OK)
		goto done;
	if (o->carry != NULL) {
		/* blocks of the published day: checked when merged */
		rc = o->sel->carry_fetch(o->sel->carry_arg, o->carry,
		    fetch_write, &s);
		if (rc == SW_OK && o->got != o->size)
			rc = sw_seterr(SW_ERR_DATA, "'%s': %llu bytes read, %llu "
			    "recorded", name, (unsigned long long)o->got,
			    (unsigned long long)o->size);
		goto done;
	}
	s.md5 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(s.md5, EVP_md5(), NULL);
	rc = store_get(e->cold, o->key, 0, 0, fetch_write, &s, &info);
	EVP_DigestFinal_ex(s.md5, md, NULL);
	EVP_MD_CTX_free(s.md5);
	if (rc == SW_OK)
		rc = fetch_check(e, o, info.etag, md);
done:
	cache_progress_add(o->prog, 1, o->got);
	fetch_done(o, rc);
	/* the merge judges every outcome (--skip-bad), in key order */
	return SW_OK;
}

/* An object of a store whose objects are files, opened by the merge's
 * thread: its size and ETag now must be the listing's. */
static void
fetch_open(struct obj *o)
{
	struct engine *e = o->e;
	struct store_info info;
	sw_err rc;

	rc = store_open_object(e->cold, o->key, &o->fd, &info);
	if (rc == SW_OK) {
		o->got = info.size;
		rc = fetch_check(e, o, info.etag, NULL);
	}
	cache_progress_add(o->prog, 1, o->got);
	fetch_done(o, rc);
}

/* Forget o's bytes (merged, or the build ends). */
static void
obj_drop(struct obj *o)
{
	win_buf_put(o->win, o->mem, o->cap, o->win != NULL && o->e != NULL ?
	    win_bytes(o->e) / 2 : 0);
	o->mem = NULL;
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
}

/* ---- the day ---- */

static sw_err
write_index(const char *path, char **series, size_t n)
{
	FILE *f;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
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

static int
cmp_cache_obj(const void *a, const void *b)
{
	return strcmp(((const struct cache_obj *)a)->key,
	    ((const struct cache_obj *)b)->key);
}

static int
cmp_obj(const void *a, const void *b)
{
	return strcmp(((const struct obj *)a)->key,
	    ((const struct obj *)b)->key);
}

/*
 * The sync marker of a day's file: derived from the source, the selection
 * and the day rather than drawn at random, so that the same objects give
 * the same bytes on any machine (a published day can be compared with a
 * rebuild of it byte for byte, and an object's blocks copied from one day
 * file into another).  A digest is as unlikely to occur in the data as a
 * random marker.
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
	free(p->part_md5);
	memset(p, 0, sizeof(*p));
	p->fd = p->index_fd = -1;
}

/* ---- digests of day files ---- */

static int
is_verified(struct engine *e, int64_t src, const struct day *d, int64_t gen)
{
	size_t i;
	int yes = 0;

	pthread_mutex_lock(&e->vmu);
	for (i = 0; i < e->nverified && !yes; i++)
		yes = e->verified[i].src == src && e->verified[i].gen == gen &&
		    day_cmp(&e->verified[i].d, d) == 0;
	pthread_mutex_unlock(&e->vmu);
	return yes;
}

static void
set_verified(struct engine *e, int64_t src, const struct day *d, int64_t gen)
{
	size_t i;

	pthread_mutex_lock(&e->vmu);
	for (i = 0; i < e->nverified; i++)
		if (e->verified[i].src == src &&
		    day_cmp(&e->verified[i].d, d) == 0)
			break;
	if (i == e->nverified) {
		e->verified = xgrowarray(e->verified, &e->capverified,
		    e->nverified + 1, sizeof(*e->verified));
		e->nverified++;
	}
	e->verified[i].src = src;
	e->verified[i].d = *d;
	e->verified[i].gen = gen;
	pthread_mutex_unlock(&e->vmu);
}

/*
 * Check a cached day file against the MD5 its index recorded, once per
 * generation and process (a mount opens a day many times).  SW_ERR_DATA
 * when it does not match, or when the index has no MD5 (a day of an
 * older cache: built anew like a damaged one).
 */
static sw_err
verify_day_file(struct engine *e, int64_t src, const struct day *d,
    const struct cache_day *cd, int fd)
{
	char md5[33];
	sw_err rc;

	if (is_verified(e, src, d, cd->gen))
		return SW_OK;
	if (cd->md5[0] == '\0')
		return sw_seterr(SW_ERR_DATA, "cache: '%s' has no digest (an "
		    "older cache)", cd->file);
	if ((rc = fd_md5_hex(fd, cd->size, cd->file, md5)) != SW_OK)
		return rc;
	if (strcmp(md5, cd->md5) != 0)
		return sw_seterr(SW_ERR_DATA, "cache: '%s' is damaged (MD5 %s, "
		    "recorded %s)", cd->file, md5, cd->md5);
	set_verified(e, src, d, cd->gen);
	return SW_OK;
}

/* The opened files of generation cd checked (the size and the MD5 the
 * index recorded), and its record taken into the pin. */
static sw_err
pin_check(struct engine *e, int64_t src, const struct day *d,
    const struct cache_day *cd, struct engine_pin *p)
{
	struct stat sb;
	sw_err rc;

	if (fstat(p->fd, &sb) < 0 || (uint64_t)sb.st_size != cd->size)
		return sw_seterr(SW_ERR_DATA, "cache: cannot read '%s': its "
		    "size is not the one the index recorded", cd->file);
	if ((rc = verify_day_file(e, src, d, cd, p->fd)) != SW_OK)
		return rc;
	p->size = cd->size;
	p->gen = cd->gen;
	p->built = cd->built;
	p->records = cd->records;
	snprintf(p->md5, sizeof(p->md5), "%s", cd->md5);
	return SW_OK;
}

/* Pin the current generation of a day (its build lock is held), its
 * bytes checked against the index's MD5. */
static sw_err
pin_day(struct engine *e, int64_t src, const struct day *d,
    struct engine_pin *p, int lists)
{
	struct cache_day cd;
	sw_err rc;

	memset(p, 0, sizeof(*p));
	p->fd = p->index_fd = -1;
	if ((rc = cache_day_get(e->cache, src, d, &cd)) != SW_OK)
		return rc;
	p->index_fd = open(cd.index, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	p->fd = open(cd.file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (p->fd < 0 || p->index_fd < 0)
		rc = sw_seterr(SW_ERR_DATA, "cache: cannot read '%s': %s",
		    p->fd < 0 ? cd.file : cd.index, strerror(errno));
	else
		rc = pin_check(e, src, d, &cd, p);
	if (rc != SW_OK) {
		engine_pin_release(p);
		return rc;
	}
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

/* Whether (key, etag) is recorded as bad. */
static int
known_bad(const struct cache_obj *bad, size_t nbad, const char *key,
    const char *etag)
{
	size_t j;

	for (j = 0; j < nbad; j++)
		if (strcmp(bad[j].key, key) == 0 &&
		    strcmp(bad[j].etag, etag) == 0)
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
		rc = list_day(e, sel, d, &listed, &cs);
	if (rc == SW_OK && e->opts.skip_bad)
		rc = cache_day_bad(e->cache, src, d, &bad, &reasons, &nbad);
	if (rc != SW_OK) {
		objs_free(&listed);
		return rc;
	}
	v = xcalloc(listed.n + 1, sizeof(*v));
	for (i = 0; i < listed.n; i++) {
		struct obj *o = &listed.v[i];

		if (!obj_selected(e, sel, o) ||
		    known_bad(bad, nbad, o->key, o->etag))
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

/* The files of generation cd, opened: SW_ERR_NOTFOUND (no message) when
 * one is gone (a newer generation or a drop deleted it meanwhile). */
static sw_err
pin_open(const struct cache_day *cd, struct engine_pin *pin)
{
	pin->fd = open(cd->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (pin->fd >= 0)
		pin->index_fd = open(cd->index, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC);
	if (pin->fd >= 0 && pin->index_fd >= 0)
		return SW_OK;
	if (errno == ENOENT)
		return SW_ERR_NOTFOUND;
	return sw_seterr(SW_ERR_DATA, "cache: cannot read '%s': %s",
	    pin->fd < 0 ? cd->file : cd->index, strerror(errno));
}

/*
 * The mount's fast path takes no lock: the current generation's row is
 * read, its files opened, and the row read again.  A generation's files
 * are never rewritten while it is current, so when the row is the same
 * (generation and build time) before and after, the descriptors hold
 * its bytes, whatever a build or a drop does next.  Otherwise (a commit
 * or a drop in between) it tries again, and after a few tries waits for
 * the day's lock as a build would.
 */
static sw_err
day_pin_src(struct engine *e, int64_t src, const struct day *d,
    struct engine_pin *pin);

sw_err
engine_day_pin(struct engine *e, const struct day *d, struct engine_pin *pin)
{
	return day_pin_src(e, e->src, d, pin);
}

static sw_err
day_pin_src(struct engine *e, int64_t src, const struct day *d,
    struct engine_pin *pin)
{
	struct cache_day cd, again;
	int tries, lockfd = -1;
	sw_err rc = SW_OK;

	memset(pin, 0, sizeof(*pin));
	pin->fd = pin->index_fd = -1;
	for (tries = 0; tries < 4; tries++) {
		if (tries == 3 && (rc = cache_day_lock(e->cache, src, d,
		    &lockfd)) != SW_OK)
			return rc;
		if ((rc = cache_day_get(e->cache, src, d, &cd)) != SW_OK)
			break;
		if (!cd.exists) {
			rc = SW_ERR_NOTFOUND;
			break;
		}
		rc = pin_open(&cd, pin);
		if (rc == SW_OK)
			rc = cache_day_get(e->cache, src, d, &again);
		if (rc == SW_OK && (!again.exists || again.gen != cd.gen ||
		    again.built != cd.built))
			rc = SW_ERR_NOTFOUND;
		if (rc != SW_ERR_NOTFOUND)
			break;
		engine_pin_release(pin);
	}
	cache_day_unlock(lockfd);
	if (rc == SW_OK)
		rc = pin_check(e, src, d, &cd, pin);
	if (rc != SW_OK) {
		engine_pin_release(pin);
		if (rc == SW_ERR_DATA) {
			/* damaged: the caller builds the day (anew) */
			log_warn("%s: building the day anew", sw_errmsg());
			rc = SW_ERR_NOTFOUND;
		}
	}
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

struct pool *
engine_pool(struct engine *e)
{
	return e->pool;
}

sw_err
engine_day(struct engine *e, const struct day *d, struct engine_report *rep)
{
	return engine_day_ex(e, d, NULL, NULL, rep, NULL);
}

/* ---- building a day: list, plan, fetch, merge, commit ---- */

/* Where an object of the new generation comes from. */
enum part_from {
	FROM_OLD,     /* the previous generation, by its range */
	FROM_CARRY,   /* the published day, by its range */
	FROM_COLD     /* the cold tier */
};

/* One object of the new generation. */
struct part {
	enum part_from from;
	const char *key, *etag;
	uint64_t size;
	const struct cache_obj *ref;  /* FROM_OLD, FROM_CARRY: its range */
	struct obj *o;                /* FROM_COLD, FROM_CARRY: the fetch */
	struct cache_obj out;         /* where it went in the new file */
	int skipped;                  /* bad, left out (--skip-bad) */
	/* FROM_COLD: the version merged before (FROM_OLD or FROM_CARRY),
	 * kept if the new one is bad (--skip-bad) */
	enum part_from prev_from;
	const struct cache_obj *prev;
};

/* One build of one day. */
struct build {
	struct engine *e;
	const struct day *d;
	const struct engine_sel *sel;
	struct engine_report *rep;
	int64_t src;
	char ds[11];
	struct objs listed;           /* the cold tier's, selected */
	struct cache_day old;
	int old_ok;                   /* old is usable by its ranges */
	struct cache_obj *had;        /* old's objects */
	size_t nhad;
	char **old_series;
	size_t nold_series;
	struct cache_obj *bad;        /* recorded as bad */
	char **bad_reasons;
	size_t nbad;
	struct part *parts;
	size_t nparts;
	struct obj *carried;          /* fetches of FROM_CARRY parts */
	size_t ncarried;
	/* bad objects of this build, for the index */
	struct cache_obj *skipped;
	char **skipped_why;
	size_t nskipped;
	struct window win;            /* fetches ahead of the merge */
	uint64_t fetched_n;           /* objects fetched so far */
	int direct;                   /* the cold tier's objects are files */
	unsigned char (*part_md5)[16]; /* the new file's pieces' MD5s */
	size_t npart_md5;
	char avro[PATH_MAX], index[PATH_MAX];
	struct cache_progress_w *prog;  /* published for other processes */
};

static void
build_release(struct build *b)
{
	size_t i;

	cache_objs_free(b->had, b->nhad);
	cache_objs_free(b->bad, b->nbad);
	free(b->part_md5);
	b->part_md5 = NULL;
	b->npart_md5 = 0;
	for (i = 0; i < b->nbad; i++)
		free(b->bad_reasons[i]);
	free(b->bad_reasons);
	for (i = 0; i < b->nold_series; i++)
		free(b->old_series[i]);
	free(b->old_series);
	free(b->parts);
	for (i = 0; i < b->ncarried; i++) {
		obj_drop(&b->carried[i]);
		free(b->carried[i].err);
	}
	free(b->carried);
	free(b->skipped);
	free(b->skipped_why);
	objs_free(&b->listed);
	/* again later is harmless (a built day releases before it is
	 * pinned) */
	b->had = b->bad = b->skipped = NULL;
	b->nhad = b->nbad = b->nskipped = 0;
	b->bad_reasons = b->old_series = b->skipped_why = NULL;
	b->nold_series = 0;
	b->parts = NULL;
	b->nparts = 0;
	b->carried = NULL;
	b->ncarried = 0;
}

/* 1. The cold tier's objects of the day and the selection. */
static sw_err
build_list(struct build *b, struct engine_listing *given)
{
	struct engine *e = b->e;
	struct coldtier_stats cs;
	size_t i, j;
	sw_err rc = SW_OK;

	if (given != NULL && day_cmp(&given->d, b->d) == 0) {
		b->listed = given->listed;
		memset(&given->listed, 0, sizeof(given->listed));
	} else {
		rc = list_day(e, b->sel, b->d, &b->listed, &cs);
	}
	/* A key in the day's partition that is not a cold-tier object: the
	 * day cannot be said complete without it, unless --skip-bad. */
	if (rc == SW_OK && b->listed.nbad > 0 && !e->opts.skip_bad)
		return sw_seterr(SW_ERR_BADKEY, "'%s%s': %s (the day is not "
		    "built; --skip-bad builds it without such objects)",
		    store_url(e->cold), b->listed.badv[0].key,
		    b->listed.badv[0].err);
	if (rc != SW_OK)
		return rc;
	for (i = 0; i < b->listed.nbad; i++)
		log_warn("%s: skipping '%s%s': %s", b->ds, store_url(e->cold),
		    b->listed.badv[i].key, b->listed.badv[i].err);
	for (i = 0, j = 0; i < b->listed.n; i++) {
		if (obj_selected(e, b->sel, &b->listed.v[i])) {
			b->listed.v[j++] = b->listed.v[i];
			continue;
		}
		free(b->listed.v[i].key);
		free(b->listed.v[i].etag);
		b->rep->filtered++;
	}
	b->listed.n = j;
	if (b->listed.n > 1)  /* (v is NULL when nothing is listed) */
		qsort(b->listed.v, b->listed.n, sizeof(*b->listed.v),
		    cmp_obj);
	b->rep->listed = b->listed.n;
	return SW_OK;
}

/* 2. What the cache holds of the day.  A generation is usable as a
 * source when every object has its range (an index of version 4). */
static sw_err
build_load_old(struct build *b)
{
	struct cache *c = b->e->cache;
	size_t i;
	sw_err rc;

	if ((rc = cache_day_get(c, b->src, b->d, &b->old)) != SW_OK)
		return rc;
	if (b->old.exists && (rc = cache_day_objects(c, b->src, b->d, &b->had,
	    &b->nhad)) != SW_OK)
		return rc;
	if (b->old.exists && (rc = cache_day_series(c, b->src, b->d,
	    &b->old_series, &b->nold_series)) != SW_OK)
		return rc;
	if ((rc = cache_day_bad(c, b->src, b->d, &b->bad, &b->bad_reasons,
	    &b->nbad)) != SW_OK)
		return rc;
	b->old_ok = b->old.exists && b->old.md5[0] != '\0';
	for (i = 0; i < b->nhad && b->old_ok; i++)
		b->old_ok = b->had[i].len != UINT64_MAX &&
		    b->had[i].records != UINT64_MAX;
	if (b->old.exists && !b->old_ok)
		log_notice("%s: the cached day predates per-object ranges: "
		    "building it anew", b->ds);
	return SW_OK;
}

static struct part *
add_part(struct build *b, enum part_from from, const char *key,
    const char *etag, uint64_t size)
{
	struct part *p = &b->parts[b->nparts++];

	memset(p, 0, sizeof(*p));
	p->from = from;
	p->key = key;
	p->etag = etag;
	p->size = size;
	return p;
}

/*
 * The next key in order among the listed objects, the previous
 * generation's and the carried ones, advancing past it; *l, *h and *c are
 * set to the entry holding that key in each (NULL where it has none).
 * Returns NULL when all three are done.
 */
static const char *
plan_next(struct build *b, const struct cache_obj *carry, size_t ncarry,
    size_t pos[3], const struct obj **lp, const struct cache_obj **hp,
    const struct cache_obj **cp)
{
	const struct obj *l = pos[0] < b->listed.n ? &b->listed.v[pos[0]] :
	    NULL;
	const struct cache_obj *h = pos[1] < b->nhad ? &b->had[pos[1]] : NULL;
	const struct cache_obj *c = pos[2] < ncarry ? &carry[pos[2]] : NULL;
	const char *key = NULL;

	if (l != NULL)
		key = l->key;
	if (h != NULL && (key == NULL || strcmp(h->key, key) < 0))
		key = h->key;
	if (c != NULL && (key == NULL || strcmp(c->key, key) < 0))
		key = c->key;
	if (key == NULL)
		return NULL;
	if (l != NULL && strcmp(l->key, key) != 0)
		l = NULL;
	if (h != NULL && strcmp(h->key, key) != 0)
		h = NULL;
	if (c != NULL && strcmp(c->key, key) != 0)
		c = NULL;
	pos[0] += l != NULL;
	pos[1] += h != NULL;
	pos[2] += c != NULL;
	*lp = l;
	*hp = h;
	*cp = c;
	return key;
}

/* A key the cold tier lists: its bad new version, the same one merged
 * before, or a fresh fetch that remembers what it replaces. */
static void
plan_listed(struct build *b, const struct obj *l, const struct cache_obj *h,
    const struct cache_obj *c, size_t *nold)
{
	struct engine *e = b->e;
	struct engine_report *rep = b->rep;
	struct part *p;

	if (e->opts.skip_bad && known_bad(b->bad, b->nbad, l->key,
	    l->etag)) {
		/* a bad new version: the one merged before (if any) stays */
		rep->bad++;
		if (h != NULL && b->old_ok) {
			p = add_part(b, FROM_OLD, h->key, h->etag, h->size);
			p->ref = h;
			(*nold)++;
		} else if (c != NULL) {
			p = add_part(b, FROM_CARRY, c->key, c->etag, c->size);
			p->ref = c;
		}
		return;
	}
	if (h != NULL && b->old_ok && strcmp(h->etag, l->etag) == 0) {
		p = add_part(b, FROM_OLD, h->key, h->etag, h->size);
		p->ref = h;
		(*nold)++;
		return;
	}
	if ((h != NULL && strcmp(h->etag, l->etag) != 0) ||
	    (c != NULL && strcmp(c->etag, l->etag) != 0)) {
		log_notice("%s: '%s%s' changed since it was merged: replacing "
		    "it", b->ds, store_url(e->cold), l->key);
		rep->changed++;
	}
	p = add_part(b, FROM_COLD, l->key, l->etag, l->size);
	p->o = (struct obj *)l;
	if (h != NULL && b->old_ok) {
		p->prev_from = FROM_OLD;
		p->prev = h;
	} else if (c != NULL) {
		p->prev_from = FROM_CARRY;
		p->prev = c;
	}
}

/* A key gone from the cold tier: pruned, kept from the previous
 * generation or the published day, or lost (counted in *lost). */
static void
plan_unlisted(struct build *b, const char *key, const struct cache_obj *h,
    const struct cache_obj *c, size_t *nold, size_t *lost,
    const char **lost_key)
{
	struct engine_report *rep = b->rep;
	struct part *p;

	if (b->e->opts.prune_expired) {
		rep->pruned++;
		return;
	}
	if (h != NULL && b->old_ok) {
		p = add_part(b, FROM_OLD, h->key, h->etag, h->size);
		p->ref = h;
		(*nold)++;
		rep->kept++;
	} else if (c != NULL) {
		p = add_part(b, FROM_CARRY, c->key, c->etag, c->size);
		p->ref = c;
		rep->kept++;
		rep->carried++;
	} else {
		(*lost)++;
		*lost_key = key;
	}
}

/*
 * 3. The objects of the new generation, in key order: each object the
 * cold tier lists (from the previous generation when it holds the same
 * ETag, else fetched), and each object that only the previous generation
 * or the published day holds, kept unless prune_expired.  *same is set
 * when that is exactly the previous generation.
 */
static sw_err
build_plan(struct build *b, int *same)
{
	struct engine *e = b->e;
	const struct cache_obj *carry = b->sel ? b->sel->carry : NULL;
	size_t ncarry = b->sel ? b->sel->ncarry : 0;
	size_t pos[3] = { 0, 0, 0 }, nold = 0, lost = 0;
	const char *lost_key = NULL, *key;
	const struct obj *l;
	const struct cache_obj *h, *c;
	struct engine_report *rep = b->rep;

	*same = 0;
	free(b->parts);
	b->nparts = 0;
	b->parts = xcalloc(b->listed.n + b->nhad + ncarry + 1,
	    sizeof(*b->parts));
	rep->kept = rep->carried = rep->pruned = rep->changed = 0;
	rep->bad = 0;
	while ((key = plan_next(b, carry, ncarry, pos, &l, &h, &c)) != NULL) {
		if (l != NULL)
			plan_listed(b, l, h, c, &nold);
		else
			plan_unlisted(b, key, h, c, &nold, &lost, &lost_key);
	}
	if (lost > 0)
		return sw_seterr(SW_ERR_DATA, "%s: %zu object%s of the day "
		    "(such as '%s%s') %s only in a cached day that cannot be "
		    "used, not in the cold tier nor published: not building "
		    "the day without them (--prune-expired drops them)", b->ds,
		    lost, lost == 1 ? "" : "s", store_url(e->cold), lost_key,
		    lost == 1 ? "is" : "are");
	*same = b->old.exists && b->old_ok && nold == b->nparts &&
	    nold == b->nhad;
	return SW_OK;
}

/* 4. What the new generation needs from the cold tier and the published
 * day: fetched as the merge goes (merge_parts). */
static void
build_fetch_plan(struct build *b)
{
	struct engine *e = b->e;
	uint64_t total = 0;
	size_t i, ncarry = 0;

	b->direct = store_has_files(e->cold) && !e->opts.fetch_files;
	for (i = 0; i < b->nparts; i++) {
		total += b->parts[i].from != FROM_OLD;
		ncarry += b->parts[i].from == FROM_CARRY;
	}
	b->carried = xcalloc(ncarry + 1, sizeof(*b->carried));
	for (i = 0; i < b->nparts; i++) {
		struct part *p = &b->parts[i];
		struct obj *o;

		if (p->from == FROM_OLD)
			continue;
		if (p->from == FROM_CARRY) {
			o = &b->carried[b->ncarried++];
			o->key = (char *)p->ref->key;
			o->etag = (char *)p->ref->etag;
			o->size = p->ref->len;
			o->carry = p->ref;
			o->sel = b->sel;
			o->fd = -1;
			p->o = o;
		}
		o = p->o;
		o->e = e;
		o->done = &b->fetched_n;
		o->day = b->d;
		o->total = total;
		o->prog = b->prog;
		o->win = &b->win;
	}
	b->rep->fetched = total - b->ncarried;
}

/* Does part p come through the window? */
static int
win_part(const struct build *b, const struct part *p)
{
	return p->from == FROM_CARRY || (p->from == FROM_COLD && !b->direct);
}

/* Submit fetches ahead of the merge while the window has room (always
 * one, however big). */
static void
win_fill(struct build *b)
{
	struct window *w = &b->win;

	for (;;) {
		struct part *p;
		uint64_t cost;

		pthread_mutex_lock(&w->mu);
		while (w->next < b->nparts && !win_part(b, &b->parts[w->next]))
			w->next++;
		if (w->next >= b->nparts || w->stop) {
			pthread_mutex_unlock(&w->mu);
			return;
		}
		p = &b->parts[w->next];
		cost = win_cost(p->o);
		if (w->ahead > 0 && (w->ahead >= WINDOW_OBJS ||
		    w->held + cost > win_bytes(b->e))) {
			pthread_mutex_unlock(&w->mu);
			return;
		}
		w->next++;
		w->ahead++;
		w->held += cost;
		if (w->held > w->peak)
			w->peak = w->held;
		if (w->ahead > w->peak_ahead)
			w->peak_ahead = w->ahead;
		pthread_mutex_unlock(&w->mu);
		batch_submit(&w->bt, fetch_job, p->o);
	}
}

static void
win_start(struct build *b)
{
	struct window *w = &b->win;

	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->ready, NULL);
	batch_init(&w->bt, b->e->pool, 0);
	w->spare = xcalloc(WINDOW_OBJS, sizeof(*w->spare));
	w->started = 1;
	w->t0 = w->last = now_mono();
	win_fill(b);
}

/* Wait for p's object: fetched through the window, or opened here. */
static void
win_wait(struct build *b, struct part *p)
{
	struct window *w = &b->win;

	if (!win_part(b, p)) {
		fetch_open(p->o);
		return;
	}
	pthread_mutex_lock(&w->mu);
	while (!p->o->ready)
		pthread_cond_wait(&w->ready, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* p is merged (or skipped): its bytes leave the window, more come. */
static void
win_release(struct build *b, struct part *p)
{
	struct window *w = &b->win;

	obj_drop(p->o);
	if (!win_part(b, p))
		return;
	pthread_mutex_lock(&w->mu);
	w->ahead--;
	w->held -= win_cost(p->o);
	pthread_mutex_unlock(&w->mu);
	win_fill(b);
}

/* The build ends: fetches still queued do nothing, running ones are
 * waited for, every object's bytes are dropped. */
static void
win_end(struct build *b)
{
	struct window *w = &b->win;
	size_t i;

	if (!w->started)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_mutex_unlock(&w->mu);
	(void)batch_wait(&w->bt);
	batch_release(&w->bt);
	for (i = 0; i < b->nparts; i++) {
		if (b->parts[i].o != NULL) {
			obj_drop(b->parts[i].o);
			b->parts[i].o->win = NULL;
		}
	}
	for (i = 0; i < w->nspare; i++)
		free(w->spare[i].p);
	free(w->spare);
	w->spare = NULL;
	w->nspare = 0;
	b->rep->fetch_seconds = w->last - w->t0;
	log_debug("%s: fetch window: at most %zu objects, %llu bytes ahead of "
	    "the merge", b->ds, w->peak_ahead, (unsigned long long)w->peak);
	pthread_cond_destroy(&w->ready);
	pthread_mutex_destroy(&w->mu);
	w->started = 0;
}

/*
 * The merge's output goes to the new file, its MD5 computed on the way
 * (a rollback of a bad object's blocks invalidates it: recomputed).  Both
 * run on the asink's thread, beside the merge.  Every WRITEBACK bytes the
 * kernel is asked to start writing them out, so that the fsync that seals
 * the day finds little left to write.
 */
#define OUT_CHUNK (1024 * 1024)
#define WRITEBACK (8 * 1024 * 1024)

struct md5_sink {
	int fd;
	EVP_MD_CTX *md5;
	int stale;
	uint64_t pos, started;     /* bytes written; writeback asked up to */
	struct asink *front;       /* the merge writes here */
	/* the pieces' MD5s (engine_opts.part_size), when asked */
	EVP_MD_CTX *part;
	uint64_t part_size;
	unsigned char (*parts)[16];
	size_t nparts, cap;
};

/* Close the current piece's MD5. */
static void
md5_sink_part_end(struct md5_sink *s)
{
	s->parts = xgrowarray(s->parts, &s->cap, s->nparts + 1,
	    sizeof(*s->parts));
	EVP_DigestFinal_ex(s->part, s->parts[s->nparts++], NULL);
	EVP_DigestInit_ex(s->part, EVP_md5(), NULL);
}

/* The pieces' MD5s of what was written, n bytes at pos. */
static void
md5_sink_parts(struct md5_sink *s, const unsigned char *p, size_t n)
{
	while (n > 0) {
		uint64_t left = s->part_size - s->pos % s->part_size;
		size_t take = left < n ? (size_t)left : n;

		EVP_DigestUpdate(s->part, p, take);
		s->pos += take;
		p += take;
		n -= take;
		if (s->pos % s->part_size == 0)
			md5_sink_part_end(s);
	}
}

static sw_err
md5_sink_write(void *arg, const void *p, size_t n)
{
	struct md5_sink *s = arg;
	sw_err rc;

	EVP_DigestUpdate(s->md5, p, n);
	if ((rc = ocf_sink_fd(&s->fd, p, n)) != SW_OK)
		return rc;
	if (s->part != NULL && !s->stale)
		md5_sink_parts(s, p, n);
	else
		s->pos += n;
#ifdef SYNC_FILE_RANGE_WRITE
	if (s->pos - s->started >= WRITEBACK) {
		/* a hint: the fsync is what makes the day durable */
		(void)sync_file_range(s->fd, (off_t)s->started,
		    (off_t)(s->pos - s->started), SYNC_FILE_RANGE_WRITE);
		s->started = s->pos;
	}
#endif
	return SW_OK;
}

/* A bad input (--skip-bad): record it, cut its blocks off, go on. */
static sw_err
skip_part(struct build *b, struct part *p, struct merge *m,
    struct md5_sink *out)
{
	uint64_t cut;
	sw_err rc;

	if (p->o->rc == SW_OK) {
		free(p->o->err);
		p->o->err = xstrdup(sw_errmsg());
	}
	log_warn("%s: skipping '%s%s': %s", b->ds, store_url(b->e->cold),
	    p->key, p->o->err);
	/* nothing of a failed fetch reached the merge */
	rc = p->o->rc != SW_OK ? SW_OK : merge_rollback(m, &cut);
	if (rc == SW_OK && p->o->rc == SW_OK)
		rc = asink_drain(out->front);
	if (rc == SW_OK && p->o->rc == SW_OK) {
		out->pos = cut;
		out->started = out->started < cut ? out->started : cut;
	}
	if (rc == SW_OK && p->o->rc == SW_OK && (ftruncate(out->fd, (off_t)cut) < 0 ||
	    lseek(out->fd, (off_t)cut, SEEK_SET) < 0))
		rc = sw_seterr(SW_ERR_IO, "cannot cut '%s' back: %s", b->avro,
		    strerror(errno));
	if (rc == SW_OK && p->o->rc == SW_OK)
		out->stale = 1;   /* drained above: the writer is idle */
	if (rc == SW_OK && p->prev != NULL) {
		/* the caller merges the previous version; the bad one is
		 * counted as when it was known bad before (build_plan) */
		b->rep->bad++;
		return SW_OK;
	}
	p->skipped = 1;
	b->skipped[b->nskipped].key = (char *)p->key;
	b->skipped[b->nskipped].etag = (char *)p->etag;
	b->skipped[b->nskipped].size = p->size;
	b->skipped_why[b->nskipped++] = p->o->err;
	return rc;
}

/* Merge one part into m: blocks by range, or a fetched object (its
 * bytes in memory, or a file). */
static sw_err
merge_part(struct build *b, struct merge *m, struct part *p, int oldfd,
    struct merge_stats *ms)
{
	char name[PATH_MAX + 1024];
	struct obj *o = p->o;

	if (p->from == FROM_OLD)
		return merge_add_blocks(m, oldfd, p->ref->off, p->ref->len,
		    p->ref->records, 0, b->old.file, ms);
	if (o->rc != SW_OK)
		return sw_seterr(o->rc, "%s", o->err);
	if (p->from == FROM_CARRY) {
		snprintf(name, sizeof(name), "published blocks of '%s'",
		    p->key);
		if (o->fd >= 0)
			return merge_add_blocks(m, o->fd, 0, p->ref->len,
			    p->ref->records, 1, name, ms);
		return merge_add_blocks_mem(m, o->mem, (size_t)o->got,
		    p->ref->records, 1, name, ms);
	}
	snprintf(name, sizeof(name), "%s%s", store_url(b->e->cold), p->key);
	if (o->fd < 0)
		return merge_add_mem(m, o->mem, (size_t)o->got, name, ms);
	if (lseek(o->fd, 0, SEEK_SET) < 0)
		return sw_seterr(SW_ERR_IO, "'%s': cannot seek: %s", name,
		    strerror(errno));
	return merge_add_file(m, o->fd, name, ms);
}

/* A bad new version of an object (--skip-bad) that was merged before:
 * its previous version stays in the day, from the cache or the published
 * day, and is recorded under its own ETag. */
static sw_err
merge_prev(struct build *b, struct merge *m, struct part *p, int oldfd,
    struct merge_stats *ms)
{
	struct part prev;
	struct obj o;
	uint64_t done = 0;
	sw_err rc;

	memset(&prev, 0, sizeof(prev));
	prev.from = p->prev_from;
	prev.key = p->prev->key;
	prev.etag = p->prev->etag;
	prev.size = p->prev->size;
	prev.ref = p->prev;
	memset(&o, 0, sizeof(o));
	o.fd = -1;
	if (prev.from == FROM_CARRY) {
		/* fetched here, outside the window */
		o.key = (char *)prev.key;
		o.etag = (char *)prev.etag;
		o.size = p->prev->len;
		o.carry = p->prev;
		o.sel = b->sel;
		o.e = b->e;
		o.done = &done;
		o.day = b->d;
		o.total = 1;
		(void)fetch_job(&o);
		prev.o = &o;
	}
	rc = merge_part(b, m, &prev, oldfd, ms);
	obj_drop(&o);
	free(o.err);
	if (rc != SW_OK)
		return rc;
	log_warn("%s: '%s%s': keeping the version merged before (ETag %s)",
	    b->ds, store_url(b->e->cold), p->key, p->prev->etag);
	p->from = prev.from;
	p->etag = p->prev->etag;
	p->size = p->prev->size;
	p->out.key = (char *)p->key;
	p->out.etag = (char *)p->etag;
	p->out.size = p->size;
	p->out.off = ms->out_start;
	p->out.len = ms->out_end - ms->out_start;
	p->out.records = ms->records;
	p->prev = NULL;
	return SW_OK;
}

/* The objects the listing found bad start the day's skipped list. */
static void
merge_skipped_init(struct build *b)
{
	size_t i;

	b->skipped = xcalloc(b->nparts + b->listed.nbad + 1,
	    sizeof(*b->skipped));
	b->skipped_why = xcalloc(b->nparts + b->listed.nbad + 1,
	    sizeof(*b->skipped_why));
	for (i = 0; i < b->listed.nbad; i++) {
		b->skipped[b->nskipped].key = b->listed.badv[i].key;
		b->skipped[b->nskipped].etag = b->listed.badv[i].etag;
		b->skipped[b->nskipped].size = b->listed.badv[i].size;
		b->skipped_why[b->nskipped++] = b->listed.badv[i].err;
	}
}

/* Every part in key order; a bad one is skipped (--skip-bad) and its
 * previous version, if any, merged in its place. */
static sw_err
merge_parts(struct build *b, struct merge *m, int oldfd, struct md5_sink *out)
{
	struct engine *e = b->e;
	struct engine_report *rep = b->rep;
	struct merge_stats ms;
	size_t i;
	sw_err rc = SW_OK;

	win_start(b);
	for (i = 0; i < b->nparts && rc == SW_OK; i++) {
		struct part *p = &b->parts[i];

		if (b->ncarried + b->rep->fetched == 0)
			cache_progress_add(b->prog, i > 0, 0);
		if (p->from != FROM_OLD)
			win_wait(b, p);
		rc = merge_part(b, m, p, oldfd, &ms);
		if (p->from != FROM_OLD)
			win_release(b, p);
		if (rc == SW_OK) {
			p->out.key = (char *)p->key;
			p->out.etag = (char *)p->etag;
			p->out.size = p->size;
			p->out.off = ms.out_start;
			p->out.len = ms.out_end - ms.out_start;
			p->out.records = ms.records;
			if (p->from != FROM_OLD)
				rep->records_added += ms.records;
			if (p->from == FROM_COLD)
				rep->fetched_bytes += p->size;
			continue;
		}
		if ((rc == SW_ERR_DATA || rc == SW_ERR_BADKEY) &&
		    p->from != FROM_OLD && e->opts.skip_bad)
			rc = skip_part(b, p, m, out);
		if (rc == SW_OK && !p->skipped)
			rc = merge_prev(b, m, p, oldfd, &ms);
	}
	win_end(b);
	return rc;
}

/* Finishes the merge, makes the file durable and takes its MD5. */
static sw_err
merge_seal(struct build *b, struct merge *m, struct md5_sink *out,
    char md5[33])
{
	struct engine_report *rep = b->rep;
	unsigned char md[16];
	struct merge_stats ms;
	struct stat sb;
	sw_err rc;

	rc = merge_finish(m);
	if (rc == SW_OK) {
		merge_stats(m, &ms);
		rep->records = ms.records;
	}
	if (rc == SW_OK)
		rc = asink_drain(out->front);
	if (rc == SW_OK && (fsync(out->fd) < 0 || fstat(out->fd, &sb) < 0))
		rc = sw_seterr(SW_ERR_IO, "cannot write '%s': %s", b->avro,
		    strerror(errno));
	if (rc == SW_OK) {
		rep->size = (uint64_t)sb.st_size;
		EVP_DigestFinal_ex(out->md5, md, NULL);
		hex_encode(md, sizeof(md), md5);
		if (out->stale)
			rc = fd_md5_hex(out->fd, rep->size, b->avro, md5);
	}
	if (rc == SW_OK && out->part != NULL && !out->stale) {
		/* the last piece, if it is not whole */
		if (out->pos % out->part_size != 0)
			md5_sink_part_end(out);
		b->part_md5 = out->parts;
		b->npart_md5 = out->nparts;
		out->parts = NULL;
	}
	return rc;
}

/* 5. The new generation's file: header, then every part in key order. */
static sw_err
build_merge(struct build *b, int64_t gen, char md5[33])
{
	struct engine *e = b->e;
	struct engine_report *rep = b->rep;
	struct md5_sink out = { .fd = -1 };
	unsigned char marker[OCF_SYNC_SIZE];
	struct merge *m = NULL;
	int oldfd = -1;
	double t0 = now_mono();
	sw_err rc;

	if ((rc = cache_day_paths(e->cache, b->src, b->d, gen, b->avro,
	    b->index, sizeof(b->avro))) != SW_OK)
		return rc;
	merge_skipped_init(b);
	if (b->old_ok && (oldfd = open(b->old.file, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return sw_seterr(SW_ERR_IO, "cache: cannot read '%s': %s",
		    b->old.file, strerror(errno));
	out.fd = open(b->avro, O_RDWR | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (out.fd < 0) {
		rc = sw_seterr(SW_ERR_IO, "cannot create '%s': %s", b->avro,
		    strerror(errno));
		goto out;
	}
	out.md5 = EVP_MD_CTX_new();
	EVP_DigestInit_ex(out.md5, EVP_md5(), NULL);
	if ((out.part_size = e->opts.part_size) > 0) {
		out.part = EVP_MD_CTX_new();
		EVP_DigestInit_ex(out.part, EVP_md5(), NULL);
	}
	day_marker(e, b->sel, b->d, marker);
	out.front = asink_new(md5_sink_write, &out, OUT_CHUNK);
	if ((rc = merge_new_ds(e->ds, asink_write, out.front, marker, &m)) !=
	    SW_OK)
		goto out;
	if (e->opts.merge_one_thread)
		merge_set_workers(m, 0);
	/* other processes see objects fetched, as they are merged at once;
	 * or parts merged when nothing is fetched */
	if (b->ncarried + rep->fetched > 0)
		cache_progress_phase(b->prog, "fetching", b->ncarried +
		    rep->fetched);
	else
		cache_progress_phase(b->prog, "merging", b->nparts);
	rc = merge_parts(b, m, oldfd, &out);
	if (rc == SW_OK)
		rc = merge_seal(b, m, &out, md5);
out:
	merge_free(m);
	asink_free(out.front);
	EVP_MD_CTX_free(out.md5);
	EVP_MD_CTX_free(out.part);
	free(out.parts);
	if (out.fd >= 0)
		close(out.fd);
	if (oldfd >= 0)
		close(oldfd);
	rep->merge_seconds = now_mono() - t0;
	return rc;
}

/* 6. The series index and the index's record of the new generation. */
static sw_err
build_commit(struct build *b, int64_t gen, const char *md5)
{
	struct engine *e = b->e;
	struct cache_commit cm;
	struct cache_obj *objs = xcalloc(b->nparts + 1, sizeof(*objs));
	char **series = xcalloc(b->nparts + 1, sizeof(*series));
	struct coldkey *keys = xcalloc(b->nparts + 1, sizeof(*keys));
	size_t i, n = 0, ns = 0, k;
	sw_err rc = SW_OK;

	cache_progress_phase(b->prog, "committing", 0);
	for (i = 0; i < b->nparts; i++) {
		const struct part *p = &b->parts[i];

		if (p->skipped)
			continue;
		objs[n] = p->out;
		/* every part is a raw key of the day: listed as one, or
		 * recorded or checked as one before */
		if (coldkey_parse(p->key, e->prefix, &keys[n]) != SW_OK) {
			rc = sw_adderr(SW_ERR_BADKEY, "'%s%s'",
			    store_url(e->cold), p->key);
			goto out;
		}
		series[ns++] = keys[n].series;
		n++;
	}
	qsort(series, ns, sizeof(*series), strv_cmp);
	for (i = 0, k = 0; i < ns; i++)
		if (k == 0 || strcmp(series[i], series[k - 1]) != 0)
			series[k++] = series[i];
	ns = k;
	b->rep->series = ns;
	b->rep->new_series = ns > b->nold_series ? ns - b->nold_series : 0;
	if ((rc = write_index(b->index, series, ns)) != SW_OK)
		goto out;
	memset(&cm, 0, sizeof(cm));
	cm.gen = gen;
	cm.size = b->rep->size;
	cm.records = b->rep->records;
	snprintf(cm.md5, sizeof(cm.md5), "%s", md5);
	cm.added = objs;
	cm.nadded = n;
	cm.replace = 1;
	cm.series = series;
	cm.nseries = ns;
	cm.bad = b->skipped;
	cm.bad_reasons = b->skipped_why;
	cm.nbad = b->nskipped;
	rc = cache_day_commit(e->cache, b->src, b->d, &cm);
	if (rc == SW_OK) {
		/* written and hashed by this process */
		set_verified(e, b->src, b->d, gen);
		b->rep->bad += b->nskipped;
	}
out:
	free(objs);
	free(series);
	free(keys);
	return rc;
}

/* Check the previous generation's bytes before copying from them; a
 * damaged one is not a source (its objects come from elsewhere). */
static sw_err
build_check_old(struct build *b)
{
	int fd = open(b->old.file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	sw_err rc;

	if (fd < 0)
		rc = sw_seterr(SW_ERR_DATA, "cache: cannot read '%s': %s",
		    b->old.file, strerror(errno));
	else
		rc = verify_day_file(b->e, b->src, b->d, &b->old, fd);
	if (fd >= 0)
		close(fd);
	if (rc != SW_ERR_DATA)
		return rc;
	log_warn("%s: building the day anew", sw_errmsg());
	b->old_ok = 0;
	b->rep->damaged = 1;
	return SW_OK;
}

/* Clears the report and the pin, and sets up a build of day d. */
static void
build_init(struct build *b, struct engine *e, const struct day *d,
    const struct engine_sel *sel, struct engine_report *rep,
    struct engine_pin *pin)
{
	memset(rep, 0, sizeof(*rep));
	if (pin != NULL) {
		memset(pin, 0, sizeof(*pin));
		pin->fd = pin->index_fd = -1;
	}
	memset(b, 0, sizeof(*b));
	b->e = e;
	b->d = d;
	b->sel = sel;
	b->rep = rep;
	day_format(d, b->ds);
}

/* Whether the plan takes any part from the previous generation. */
static int
build_uses_old(const struct build *b)
{
	int uses_old = 0;
	size_t i;

	for (i = 0; i < b->nparts; i++)
		uses_old |= b->parts[i].from == FROM_OLD;
	return uses_old;
}

/* The report of a day whose cached generation stays current. */
static void
report_up_to_date(struct build *b)
{
	struct engine_report *rep = b->rep;

	rep->up_to_date = 1;
	rep->bad += b->listed.nbad;
	rep->series = b->old.series;
	rep->records = b->old.records;
	rep->size = b->old.size;
	snprintf(rep->file, sizeof(rep->file), "%s", b->old.file);
}

sw_err
engine_day_ex(struct engine *e, const struct day *d,
    const struct engine_sel *sel, struct engine_listing *given,
    struct engine_report *rep, struct engine_pin *pin)
{
	struct build b;
	int lockfd = -1, same = 0;
	char md5[33];
	unsigned char (*part_md5)[16];
	size_t nparts;
	int64_t gen;
	sw_err rc;

	build_init(&b, e, d, sel, rep, pin);
	rc = sel_source(e, sel, &b.src);
	if (rc == SW_OK)
		rc = cache_day_lock(e->cache, b.src, d, &lockfd);
	if (rc == SW_OK)
		b.prog = cache_progress_begin(e->cache, b.src, d);
	if (rc == SW_OK)
		rc = build_list(&b, given);
	engine_listing_free(given);
	if (rc == SW_OK)
		rc = build_load_old(&b);
	if (rc == SW_OK)
		rc = build_plan(&b, &same);
	if (rc == SW_OK && same && pin != NULL) {
		/* nothing new: hold what is there (checked as it is pinned) */
		rc = pin_day(e, b.src, d, pin, 1);
		if (rc == SW_ERR_DATA) {
			log_warn("%s: building the day anew", sw_errmsg());
			rep->damaged = 1;
			b.old_ok = same = 0;
			rc = build_plan(&b, &same);
		} else if (rc == SW_OK) {
			goto up_to_date;
		}
	}
	if (rc != SW_OK)
		goto out;
	if (same)
		goto up_to_date;
	if (build_uses_old(&b) && (rc = build_check_old(&b)) == SW_OK &&
	    !b.old_ok)
		rc = build_plan(&b, &same);
	if (rc == SW_OK)
		build_fetch_plan(&b);
	/* fetch errors of the cold tier's objects are judged in the merge
	 * (--skip-bad); others end the build */
	gen = b.old.exists ? b.old.gen + 1 : 1;
	if (rc == SW_OK)
		rc = build_merge(&b, gen, md5);
	if (rc == SW_OK)
		rc = build_commit(&b, gen, md5);
	if (rc != SW_OK)
		goto out;
	rep->rebuilt = b.old.exists && !b.old_ok;
	snprintf(rep->file, sizeof(rep->file), "%s", b.avro);
	/* the build's lists go before the pin reads the day's objects: a
	 * big day's keys are not held twice */
	part_md5 = b.part_md5;
	nparts = b.npart_md5;
	b.part_md5 = NULL;
	build_release(&b);
	if (pin != NULL)
		rc = pin_day(e, b.src, d, pin, 1);
	if (rc == SW_OK && pin != NULL && part_md5 != NULL) {
		pin->part_md5 = part_md5;
		pin->nparts = nparts;
		pin->part_size = e->opts.part_size;
		part_md5 = NULL;
	}
	free(part_md5);
	goto out;
up_to_date:
	report_up_to_date(&b);
out:
	if (rc != SW_OK) {
		if (b.avro[0] != '\0')
			unlink(b.avro);
		if (b.index[0] != '\0')
			unlink(b.index);
	}
	cache_progress_end(b.prog);
	cache_day_unlock(lockfd);
	build_release(&b);
	return rc;
}

/* ---- days as a file system sees them ---- */

/* A level this process listed before, or NULL; e->lmu is held. */
static struct level *
level_find(struct engine *e, const char *path)
{
	size_t i;

	for (i = 0; i < e->nlevels; i++)
		if (strcmp(e->levels[i].path, path) == 0)
			return &e->levels[i];
	return NULL;
}

static int
level_get(struct engine *e, const char *path, double max_age, long **vals,
    size_t *n)
{
	struct level *l;
	int found = 0;

	pthread_mutex_lock(&e->lmu);
	l = level_find(e, path);
	if (l != NULL && max_age > 0 && now_wall() - l->fetched < max_age) {
		*vals = xcalloc(l->n + 1, sizeof(**vals));
		memcpy(*vals, l->vals, l->n * sizeof(**vals));
		*n = l->n;
		found = 1;
	}
	pthread_mutex_unlock(&e->lmu);
	return found;
}

static void
level_put(struct engine *e, const char *path, const long *vals, size_t n)
{
	struct level *l;

	pthread_mutex_lock(&e->lmu);
	if ((l = level_find(e, path)) == NULL) {
		e->levels = xgrowarray(e->levels, &e->caplevels, e->nlevels + 1,
		    sizeof(*e->levels));
		l = &e->levels[e->nlevels++];
		memset(l, 0, sizeof(*l));
		l->path = xstrdup(path);
	}
	free(l->vals);
	l->vals = xcalloc(n + 1, sizeof(*l->vals));
	if (n > 0)   /* (vals is NULL for an empty level) */
		memcpy(l->vals, vals, n * sizeof(*vals));
	l->n = n;
	l->fetched = now_wall();
	pthread_mutex_unlock(&e->lmu);
}

/* A level younger than max_age, from this process's memory or the cache
 * index ("path" names it in both); else list it with fn, and keep it. */
static sw_err
level_cached(struct engine *e, const char *path, double max_age,
    sw_err (*fn)(struct engine *e, const void *arg, long **vals, size_t *n),
    const void *arg, long **vals, size_t *n)
{
	sw_err rc = SW_ERR_NOTFOUND;

	*vals = NULL;
	*n = 0;
	if (level_get(e, path, max_age, vals, n))
		return SW_OK;
	if (max_age > 0)
		rc = cache_listing_get(e->cache, e->src, path, max_age, vals,
		    n);
	if (rc == SW_ERR_NOTFOUND) {
		rc = fn(e, arg, vals, n);
		/* for the next process; a busy index only costs it a
		 * listing */
		if (rc == SW_OK && cache_listing_put(e->cache, e->src, path,
		    *vals, *n) != SW_OK)
			log_debug("%s", sw_errmsg());
	}
	if (rc != SW_OK) {
		free(*vals);
		*vals = NULL;
		*n = 0;
		return rc;
	}
	level_put(e, path, *vals, *n);
	return SW_OK;
}

struct ym { int year, month; };

static sw_err
list_level(struct engine *e, const void *arg, long **vals, size_t *n)
{
	const struct ym *ym = arg;

	return coldtier_level(e->cold, e->prefix, ym->year, ym->month, vals,
	    n);
}

sw_err
engine_level(struct engine *e, int year, int month, double max_age,
    long **vals, size_t *n)
{
	struct ym ym = { year, month };
	char path[32];

	if (year == 0)
		path[0] = '\0';
	else if (month == 0)
		snprintf(path, sizeof(path), "%d", year);
	else
		snprintf(path, sizeof(path), "%d/%d", year, month);
	return level_cached(e, path, max_age, list_level, &ym, vals, n);
}

sw_err
engine_check(struct engine *e)
{
	long *v = NULL;
	size_t n = 0;
	sw_err rc = engine_level(e, 0, 0, 0, &v, &n);

	if (rc == SW_OK && n == 0)
		log_notice("the cold tier '%s%s' holds no day yet",
		    store_url(e->cold), e->prefix);
	free(v);
	return rc;
}

sw_err
engine_day_state(struct engine *e, const struct day *d, int flags,
    struct engine_state *out)
{
	struct cache_day cd;
	struct cache_progress p;
	struct stat sb;
	sw_err rc;

	memset(out, 0, sizeof(*out));
	if ((rc = cache_day_get(e->cache, e->src, d, &cd)) != SW_OK)
		return rc;
	if (cd.exists) {
		out->cached = 1;
		out->gen = cd.gen;
		out->size = cd.size;
		out->records = cd.records;
		out->objects = cd.objects;
		out->series = cd.series;
		out->built = cd.built;
		if (stat(cd.index, &sb) == 0)
			out->index_size = (uint64_t)sb.st_size;
	}
	if ((flags & ENGINE_STATE_PROGRESS) &&
	    cache_progress_get(e->cache, e->src, d, &p) == SW_OK) {
		out->building = 1;
		cache_progress_format(&p, out->progress, sizeof(out->progress));
	}
	return SW_OK;
}

void
engine_day_touch(struct engine *e, const struct day *d)
{
	if (cache_day_touch(e->cache, e->src, d) != SW_OK)
		log_debug("%s", sw_errmsg());
}

void
engine_count(struct engine *e, const char *name, int64_t n)
{
	if (n != 0 && cache_count(e->cache, name, n) != SW_OK)
		log_debug("%s", sw_errmsg());
}

struct evict_busy {
	struct engine *e;
	int (*busy)(void *arg, const struct day *d);
	void *arg;
};

static int
evict_busy(void *arg, int64_t src, const struct day *d)
{
	struct evict_busy *b = arg;

	return src == b->e->src && b->busy != NULL && b->busy(b->arg, d);
}

sw_err
engine_evict(struct engine *e, int (*busy)(void *arg, const struct day *d),
    void *arg)
{
	struct evict_busy b = { e, busy, arg };
	struct cache_evict ev;

	if (e->cfg->cache_max_size == 0)
		return SW_OK;
	memset(&ev, 0, sizeof(ev));
	ev.have_max = 1;
	ev.max_size = e->cfg->cache_max_size;
	ev.busy = evict_busy;
	ev.arg = &b;
	return cache_evict(e->cache, &ev);
}

/* ---- one series' days ---- */

/* The bucket of series this process has seen in a listing, or -1; *missed
 * is when it last looked for it in the index in vain (0: never). */
static int
bucket_mem(struct engine *e, const char *series, double *missed)
{
	size_t i;
	int b = -1;

	*missed = 0;
	pthread_mutex_lock(&e->lmu);
	for (i = 0; i < e->nbuckets; i++)
		if (strcmp(e->buckets[i].series, series) == 0) {
			b = e->buckets[i].bucket;
			*missed = e->buckets[i].missed;
			break;
		}
	pthread_mutex_unlock(&e->lmu);
	return b;
}

/* Record the bucket, or (bucket -1) a vain look at missed. */
static void
bucket_mem_put(struct engine *e, const char *series, int bucket,
    double missed)
{
	struct sbucket *sb = NULL;
	size_t i;

	pthread_mutex_lock(&e->lmu);
	for (i = 0; i < e->nbuckets && sb == NULL; i++)
		if (strcmp(e->buckets[i].series, series) == 0)
			sb = &e->buckets[i];
	if (sb == NULL) {
		e->buckets = xgrowarray(e->buckets, &e->capbuckets,
		    e->nbuckets + 1, sizeof(*e->buckets));
		sb = &e->buckets[e->nbuckets++];
		snprintf(sb->series, sizeof(sb->series), "%s", series);
	}
	sb->bucket = bucket;
	sb->missed = missed;
	pthread_mutex_unlock(&e->lmu);
}

/* A vain look in the index is not repeated for this long: the look scans
 * the cached days' objects, and a mount asks on every lookup. */
#define BUCKET_MISS_TTL 60.0

/* A series' bucket never changes: once learned from a listing it is kept
 * in the cache index too (as a "listing" of one value), so that the next
 * process does not list a whole day to find it. */
#define BUCKET_FOREVER 1e18

static void bucket_put(struct engine *e, const char *series, int bucket);

/* The bucket of one of the series' objects in a cached whole day. */
static int
bucket_cached(struct engine *e, const char *series)
{
	struct coldkey k;
	char glob[160], *key = NULL;
	int b = -1;

	if (!coldkey_series_ok(series, strlen(series)))
		return -1;
	snprintf(glob, sizeof(glob), "*/seriesBucket=?" "?/%s_%s_*", key_stem(e),
	    series);
	if (cache_find_key(e->cache, e->src, glob, &key) == SW_OK &&
	    key != NULL && coldkey_parse(key, e->prefix, &k) == SW_OK &&
	    strcmp(k.series, series) == 0) {
		b = (int)k.bucket;
		bucket_put(e, series, b);
	}
	free(key);
	return b;
}

static int
bucket_get(struct engine *e, const char *series)
{
	char path[128];
	long *v = NULL;
	size_t n = 0;
	double missed;
	int b = bucket_mem(e, series, &missed);

	if (b >= 0 || (missed > 0 && now_wall() - missed < BUCKET_MISS_TTL))
		return b;
	snprintf(path, sizeof(path), "bucket %s", series);
	if (cache_listing_get(e->cache, e->src, path, BUCKET_FOREVER, &v, &n) ==
	    SW_OK && n == 1 && v[0] >= 0 && v[0] <= 255) {
		b = (int)v[0];
		bucket_mem_put(e, series, b, 0);
	}
	free(v);
	if (b < 0)
		b = bucket_cached(e, series);
	if (b < 0)
		bucket_mem_put(e, series, -1, now_wall());
	return b;
}

static void
bucket_put(struct engine *e, const char *series, int bucket)
{
	char path[128];
	long v = bucket;
	double missed;

	if (bucket < 0 || bucket > 255 || bucket_mem(e, series, &missed) >= 0)
		return;
	bucket_mem_put(e, series, bucket, 0);
	snprintf(path, sizeof(path), "bucket %s", series);
	if (cache_listing_put(e->cache, e->src, path, &v, 1) != SW_OK)
		log_debug("%s", sw_errmsg());
}

/* Objects of one series in a listing (exactly that id). */
struct series_count {
	const char *series;
	int bucket;
	uint64_t n;
};

static sw_err
count_series(void *arg, const struct store_entry *se, const struct coldkey *k)
{
	struct series_count *sc = arg;

	(void)se;
	if (strcmp(k->series, sc->series) == 0) {
		sc->n++;
		sc->bucket = (int)k->bucket;
	}
	return SW_OK;
}

static sw_err
skip_bad_key(void *arg, const struct store_entry *se, const char *why)
{
	(void)arg;
	(void)se;
	(void)why;
	return SW_OK;
}

/* One bucket's prefix of the series, probed (find_bucket()). */
struct probe {
	struct engine *e;
	const char *series;
	const struct day *d;
	unsigned bucket;
	struct series_count sc;
};

static sw_err
probe_job(void *arg)
{
	struct probe *p = arg;

	return coldtier_list_series_day(p->e->cold, p->e->prefix, p->d,
	    p->bucket, key_stem(p->e), p->series, count_series, skip_bad_key,
	    &p->sc, NULL);
}

/* The series' bucket from its objects of day d, when no listing or
 * catalogue gave it: the prefix of each of the 256 buckets listed at once
 * on the request pool (each a listing of nothing or a handful of keys),
 * rather than the whole day's thousands of keys page after page.  -1
 * when the series has no object that day. */
static sw_err
find_bucket(struct engine *e, const char *series, const struct day *d,
    int *bucket)
{
	struct probe *p = xcalloc(256, sizeof(*p));
	struct batch b;
	unsigned i;
	sw_err rc;

	*bucket = -1;
	batch_init(&b, e->pool, 1);
	for (i = 0; i < 256; i++) {
		p[i] = (struct probe){ e, series, d, i, { series, -1, 0 } };
		batch_submit(&b, probe_job, &p[i]);
	}
	rc = batch_wait(&b);
	batch_release(&b);
	for (i = 0; rc == SW_OK && i < 256 && *bucket < 0; i++)
		if (p[i].sc.n > 0)
			*bucket = (int)i;
	free(p);
	if (*bucket >= 0)
		bucket_put(e, series, *bucket);
	return rc;
}

/* Whether series has objects on day d: one listing of its prefix (its
 * bucket found first when not known yet). */
static sw_err
series_on_day(struct engine *e, const char *series, int bucket,
    const struct day *d, int *has)
{
	struct series_count sc = { series, -1, 0 };
	sw_err rc;

	if (bucket < 0)
		bucket = bucket_get(e, series);
	if (bucket < 0) {
		rc = find_bucket(e, series, d, &bucket);
		*has = bucket >= 0;
		return rc;
	}
	rc = coldtier_list_series_day(e->cold, e->prefix, d,
	    (unsigned)bucket, key_stem(e), series, count_series,
	    skip_bad_key, &sc, NULL);
	if (rc == SW_OK && sc.n > 0)
		bucket_put(e, series, sc.bucket);
	*has = sc.n > 0;
	return rc;
}

struct series_day_job {
	struct engine *e;
	const char *series;
	int bucket;
	struct day d;
	int has;
};

static sw_err
series_day_job(void *arg)
{
	struct series_day_job *j = arg;

	return series_on_day(j->e, j->series, j->bucket, &j->d, &j->has);
}

struct series_month {
	const char *series;
	int bucket;
	struct ym ym;
	double max_age;
};

static sw_err
list_series_month(struct engine *e, const void *arg, long **vals, size_t *n)
{
	const struct series_month *sm = arg;
	struct series_day_job *jobs;
	struct batch b;
	long *days = NULL;
	size_t nd = 0, i, k = 0;
	int bucket = sm->bucket >= 0 ? sm->bucket : bucket_get(e, sm->series);
	sw_err rc;

	rc = engine_level(e, sm->ym.year, sm->ym.month, sm->max_age, &days,
	    &nd);
	if (rc != SW_OK)
		return rc;
	jobs = xcalloc(nd + 1, sizeof(*jobs));
	/* Without a bucket, the days' bucket prefixes are probed until one
	 * holds the series (find_bucket()); the pool's jobs below never
	 * probe (they never wait for a batch themselves). */
	for (i = 0; i < nd && bucket < 0; i++) {
		struct day d = { sm->ym.year, sm->ym.month, (int)days[i] };

		jobs[i].has = -1;
		if ((rc = series_on_day(e, sm->series, -1, &d,
		    &jobs[i].has)) != SW_OK)
			break;
		bucket = bucket_get(e, sm->series);
	}
	batch_init(&b, e->pool, 1);
	for (; rc == SW_OK && i < nd; i++) {
		jobs[i] = (struct series_day_job){ e, sm->series, bucket,
			{ sm->ym.year, sm->ym.month, (int)days[i] }, 0 };
		batch_submit(&b, series_day_job, &jobs[i]);
	}
	if (rc == SW_OK)
		rc = batch_wait(&b);
	else
		batch_wait(&b);
	batch_release(&b);
	for (i = 0; rc == SW_OK && i < nd; i++)
		if (jobs[i].has > 0)
			days[k++] = days[i];
	free(jobs);
	if (rc != SW_OK) {
		free(days);
		return rc;
	}
	*vals = days;
	*n = k;
	return SW_OK;
}

sw_err
engine_series_days(struct engine *e, const char *series, int bucket,
    int year, int month, double max_age, long **vals, size_t *n)
{
	struct series_month sm = { series, bucket, { year, month }, max_age };
	char path[160];

	snprintf(path, sizeof(path), "%d/%d series %s", year, month, series);
	return level_cached(e, path, max_age, list_series_month, &sm, vals,
	    n);
}

void
engine_view_release(struct engine_view *v)
{
	engine_pin_release(&v->pin);
	free(v->segs);
	v->segs = NULL;
	v->nsegs = 0;
}

static void
view_add(struct engine_view *v, uint64_t off, uint64_t len, size_t *cap)
{
	if (v->nsegs > 0 && v->segs[v->nsegs - 1].off +
	    v->segs[v->nsegs - 1].len == off) {
		v->segs[v->nsegs - 1].len += len;
	} else {
		v->segs = xgrowarray(v->segs, cap, v->nsegs + 1,
		    sizeof(*v->segs));
		v->segs[v->nsegs].off = off;
		v->segs[v->nsegs++].len = len;
	}
	v->size += len;
}

/* The key range of series' objects of day d: its bucket's prefix, or the
 * whole day's when the bucket is not known. */
static void
series_keys(struct engine *e, const char *series, int bucket,
    const struct day *d, char *lo, char *hi, size_t len)
{
	size_t n;

	day_prefix(d, e->prefix, lo, len);
	n = strlen(lo);
	if (bucket >= 0)
		snprintf(lo + n, len - n, "seriesBucket=%02x/%s_%s_",
		    (unsigned)bucket & 0xff, key_stem(e), series);
	snprintf(hi, len, "%s", lo);
	n = strlen(hi);
	if (bucket >= 0)
		hi[n - 1]++;          /* "..._" -> "...`" */
	else
		snprintf(hi + n, len - n, "\xff");
}

/* The series' part of the cached whole day: its header and the ranges of
 * the series' objects, cut from the generation pinned (the index read in
 * the same transaction names the same generation).  SW_ERR_NOTFOUND when
 * the whole day is not cached or holds none of the series' objects. */
static sw_err
view_whole(struct engine *e, const char *series, int bucket,
    const struct day *d, struct engine_view *v)
{
	struct cache_day cd;
	struct cache_obj *objs = NULL;
	struct coldkey k;
	char lo[1024], hi[1024];
	uint64_t header = 0;
	size_t nobjs = 0, i, cap = 0;
	int tries;
	sw_err rc;

	series_keys(e, series, bucket, d, lo, hi, sizeof(lo));
	for (tries = 0; tries < 3; tries++) {
		if ((rc = day_pin_src(e, e->src, d, &v->pin)) != SW_OK)
			return rc;
		rc = cache_day_objects_in(e->cache, e->src, d, lo, hi, &cd,
		    &header, &objs, &nobjs);
		if (rc != SW_OK || (cd.exists && cd.gen == v->pin.gen))
			break;
		/* a new generation meanwhile: pin that one */
		cache_objs_free(objs, nobjs);
		objs = NULL;
		nobjs = 0;
		engine_pin_release(&v->pin);
		rc = SW_ERR_NOTFOUND;
	}
	for (i = 0; rc == SW_OK && i < nobjs; i++) {
		if (coldkey_parse(objs[i].key, e->prefix, &k) != SW_OK ||
		    strcmp(k.series, series) != 0)
			continue;
		if (objs[i].off == UINT64_MAX || header == 0) {
			rc = SW_ERR_NOTFOUND;   /* an index without ranges */
			break;
		}
		if (v->nsegs == 0)
			view_add(v, 0, header, &cap);
		view_add(v, objs[i].off, objs[i].len, &cap);
		v->records += objs[i].records;
		bucket_put(e, series, (int)k.bucket);
	}
	cache_objs_free(objs, nobjs);
	if (rc == SW_OK && v->nsegs == 0)
		rc = SW_ERR_NOTFOUND;
	if (rc == SW_OK)
		v->whole = 1;
	return rc;
}

/* The series' own entry, cached: the whole file. */
static sw_err
view_own(struct engine *e, const char *series, int bucket,
    const struct day *d, struct engine_view *v)
{
	struct engine_sel sel;
	size_t cap = 0;
	sw_err rc;

	memset(&sel, 0, sizeof(sel));
	sel.series = series;
	sel.bucket = bucket;
	if ((rc = sel_source(e, &sel, &v->src)) != SW_OK)
		return rc;
	if ((rc = day_pin_src(e, v->src, d, &v->pin)) != SW_OK)
		return rc;
	view_add(v, 0, v->pin.size, &cap);
	v->records = v->pin.records;
	return SW_OK;
}

static void
view_init(struct engine_view *v)
{
	memset(v, 0, sizeof(*v));
	v->pin.fd = v->pin.index_fd = -1;
	v->bucket = -1;
}

/* The view names its series and (when known now) its bucket. */
static void
view_name(struct engine *e, struct engine_view *v, const char *series)
{
	snprintf(v->series, sizeof(v->series), "%s", series);
	v->bucket = bucket_get(e, series);
}

static sw_err
series_check(struct engine *e, const char *series)
{
	if (!coldkey_series_ok(series, strlen(series)))
		return sw_seterr(SW_ERR_USAGE, "'%s' is not a time series id",
		    series);
	if (!selected(e, NULL, series))
		return sw_seterr(SW_ERR_NOTFOUND, "series %s is not of the "
		    "configured type (%s)", series, e->cfg->timeseries_type);
	return SW_OK;
}

sw_err
engine_series_pin(struct engine *e, const char *series, int bucket,
    const struct day *d, struct engine_view *v)
{
	struct engine_view own;
	sw_err rc, rc2;

	view_init(v);
	view_init(&own);
	if ((rc = series_check(e, series)) != SW_OK)
		return rc;
	if (bucket < 0)
		bucket = bucket_get(e, series);
	rc = view_whole(e, series, bucket, d, v);
	if (rc != SW_OK && rc != SW_ERR_NOTFOUND)
		return rc;
	if (rc == SW_OK)
		v->src = e->src;
	rc2 = view_own(e, series, bucket, d, &own);
	if (rc2 != SW_OK && rc2 != SW_ERR_NOTFOUND) {
		engine_view_release(v);
		return rc2;
	}
	if (rc2 == SW_OK && (rc != SW_OK || own.pin.built > v->pin.built)) {
		/* the series' own entry was built last: it is the newer */
		engine_view_release(v);
		*v = own;
		rc = SW_OK;
	} else {
		engine_view_release(&own);
	}
	if (rc == SW_OK)
		view_name(e, v, series);
	return rc;
}

sw_err
engine_series_build(struct engine *e, const char *series, int bucket,
    const struct day *d, struct engine_report *rep, struct engine_view *v)
{
	struct engine_sel sel;
	size_t cap = 0;
	sw_err rc;

	view_init(v);
	if ((rc = series_check(e, series)) != SW_OK)
		return rc;
	memset(&sel, 0, sizeof(sel));
	sel.series = series;
	sel.bucket = bucket >= 0 ? bucket : bucket_get(e, series);
	if (sel.bucket < 0 && (rc = find_bucket(e, series, d, &sel.bucket)) !=
	    SW_OK)
		return rc;
	if (sel.bucket < 0) {
		/* in no bucket's prefix: no record that day */
		memset(rep, 0, sizeof(*rep));
		rep->up_to_date = 1;
		view_name(e, v, series);
		return SW_OK;
	}
	if ((rc = sel_source(e, &sel, &v->src)) != SW_OK)
		return rc;
	rc = engine_day_ex(e, d, &sel, NULL, rep, &v->pin);
	if (rc != SW_OK)
		return rc;
	if (sel.bucket < 0 && v->pin.nobjs > 0) {
		struct coldkey k;

		if (coldkey_parse(v->pin.objs[0].key, e->prefix, &k) == SW_OK)
			bucket_put(e, series, (int)k.bucket);
	}
	view_add(v, 0, v->pin.size, &cap);
	v->records = v->pin.records;
	view_name(e, v, series);
	return SW_OK;
}

int
engine_selects(const struct engine *e, const char *series)
{
	return selected(e, NULL, series);
}

sw_err
engine_view_touch(struct engine *e, const struct engine_view *v,
    const struct day *d)
{
	return cache_day_touch(e->cache, v->src, d);
}

enum engine_dataset
engine_dataset(const struct engine *e)
{
	return e->opts.dataset;
}

const char *
engine_dataset_name(enum engine_dataset d)
{
	return d == ENGINE_AGG ? "agg" : "raw";
}

/* ---- the series catalogue ---- */

/* Whether a part read at `at` serves a call made at `start` wanting it no
 * older than max_age (0: read since the call began). */
static int
part_fresh(double at, double max_age, double start)
{
	if (at <= 0)
		return 0;
	return max_age > 0 ? now_wall() - at < max_age : at >= start;
}

/* The catalogue this process holds, if it serves the call (a reference
 * for the caller then). */
static struct catalog *
catalog_held(struct engine *e, double max_age, double start, int listed)
{
	struct catalog *c = NULL;

	pthread_mutex_lock(&e->cmu);
	if (e->catalog != NULL &&
	    part_fresh(e->catalog_meta_at, max_age, start) &&
	    (!listed || part_fresh(e->catalog_api_at, max_age > 0 ?
	    (double)e->cfg->series_cache_ttl : 0, start)))
		c = catalog_ref(e->catalog);
	pthread_mutex_unlock(&e->cmu);
	return c;
}

/* The asset metadata's part: from the index when no older than max_age,
 * else read now (and put in the index for the next process). */
static sw_err
catalog_meta_part(struct engine *e, double max_age, struct catalog *cat)
{
	char *prefix = catalog_meta_prefix(e->prefix);
	struct buf name;
	sw_err rc = SW_ERR_NOTFOUND;

	buf_init(&name);
	buf_printf(&name, "asset metadata %s%s", e->cold_url, prefix);
	if (max_age > 0)
		rc = cache_catalog_get(e->cache, name.data, max_age, cat);
	if (rc == SW_ERR_NOTFOUND) {
		catalog_release(cat);     /* what a failed get left */
		cat->objects = 0;
		cat->fetched = now_wall();
		rc = catalog_load(e->cold, prefix, cat);
		if (rc == SW_OK && cat->objects == 0)
			log_notice("no asset metadata in '%s%s'",
			    store_url(e->cold), prefix);
		/* a busy index costs the next process a read */
		if (rc == SW_OK && cache_catalog_put(e->cache, name.data, cat) !=
		    SW_OK)
			log_debug("%s", sw_errmsg());
	}
	buf_release(&name);
	free(prefix);
	return rc;
}

/* ListTimeSeries' part (types: catalog_listed_types()): from the index
 * when no older than aws.sitewise_cache_ttl (unless max_age is 0), else
 * listed now. */
static sw_err
catalog_api_part(struct engine *e, const char *const *types, double max_age,
    struct catalog *cat)
{
	char *region = NULL, *ep;
	struct buf name;
	size_t i;
	sw_err rc;

	if ((rc = creds_region(e->cfg, &region)) != SW_OK)
		return rc;
	ep = sitewise_endpoint(e->cfg, region ? region : "us-east-1");
	free(region);
	buf_init(&name);
	buf_printf(&name, "ListTimeSeries %s", ep);
	for (i = 0; types[i] != NULL; i++)
		buf_printf(&name, " %s", types[i]);
	rc = SW_ERR_NOTFOUND;
	if (max_age > 0 && e->cfg->series_cache_ttl > 0)
		rc = cache_catalog_get(e->cache, name.data,
		    (double)e->cfg->series_cache_ttl, cat);
	if (rc == SW_ERR_NOTFOUND) {
		catalog_release(cat);     /* what a failed get left */
		cat->objects = 0;
		cat->fetched = now_wall();
		rc = catalog_list_sitewise(e->cfg, types, cat);
		if (rc == SW_OK && cache_catalog_put(e->cache, name.data, cat) !=
		    SW_OK)
			log_debug("%s", sw_errmsg());
	}
	buf_release(&name);
	free(ep);
	return rc;
}

/* Read the catalogue's parts and merge them into *out (a new catalogue
 * with one reference), noting when each part was read. */
static sw_err
catalog_read(struct engine *e, double max_age, struct catalog **out,
    double *meta_at, double *api_at)
{
	const char *const *types = catalog_listed_types(e->cfg);
	struct catalog *cat = catalog_new(), listed;
	sw_err rc;

	*out = NULL;
	*api_at = 0;
	memset(&listed, 0, sizeof(listed));
	rc = catalog_meta_part(e, max_age, cat);
	if (rc == SW_OK && types[0] != NULL) {
		rc = catalog_api_part(e, types, max_age, &listed);
		if (rc == SW_OK) {
			catalog_merge(cat, &listed);
			*api_at = listed.fetched;
		}
	}
	catalog_release(&listed);
	if (rc != SW_OK) {
		catalog_unref(cat);
		return rc;
	}
	*meta_at = cat->fetched;
	*out = cat;
	return SW_OK;
}

sw_err
engine_catalog(struct engine *e, double max_age, struct catalog **out)
{
	int listed = catalog_listed_types(e->cfg)[0] != NULL;
	double start = now_wall(), meta_at = 0, api_at = 0;
	struct catalog *c, *old = NULL;
	sw_err rc = SW_OK;

	if ((*out = catalog_held(e, max_age, start, listed)) != NULL)
		return SW_OK;
	/* one reader at a time: those waiting take what it read */
	pthread_mutex_lock(&e->cbuild);
	if ((*out = catalog_held(e, max_age, start, listed)) == NULL)
		rc = catalog_read(e, max_age, &c, &meta_at, &api_at);
	if (*out == NULL && rc == SW_OK) {
		pthread_mutex_lock(&e->cmu);
		old = e->catalog;
		e->catalog = c;
		e->catalog_meta_at = meta_at;
		e->catalog_api_at = api_at;
		*out = catalog_ref(c);
		pthread_mutex_unlock(&e->cmu);
		catalog_unref(old);
	}
	pthread_mutex_unlock(&e->cbuild);
	return rc;
}
