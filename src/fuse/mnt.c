/*
 * mnt.c - what the mount shows (see mnt.h): paths, single flight of day
 * builds, and the kernel's page cache policy.  Days are reached through
 * the engine only (core/engine.h); nothing here knows the cache index.
 *
 * Locks: m->mu guards the table of day states and every field of them.
 * It is a leaf: never held across an engine call (sqlite, a file, the
 * cold tier), so a slow build, listing or index write holds up only the
 * requests that wait for that day.  A day's build is single flight
 * through dstate.building and dstate.cv (waited for under m->mu); the
 * engine's own locks (engine.c, cache.c) are taken with m->mu released.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/dates.h"
#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/engine.h"
#include "fuse/mnt.h"

#define NBUCKETS 1024

/* What this process knows of a day beyond the cache index (all under
 * m->mu). */
struct dstate {
	int64_t dn;                /* days since the epoch */
	int building;
	unsigned builds;           /* builds ended (a waiter sees its own) */
	pthread_cond_t cv;         /* signalled when a build ends */
	double checked;            /* last listed (wall clock), or 0 */
	int failed;
	char err[512];
	int64_t opened_gen;        /* generation the kernel last read, or 0 */
	double touched;            /* last read recorded in the index */
	unsigned nopen;
	struct dstate *next;
};

struct mnt {
	const struct sw_config *cfg;
	struct engine *e;
	pthread_mutex_t mu;        /* the leaf lock above */
	struct dstate *tab[NBUCKETS];
	double mounted;
	/* Opens served from the cache, counted here and written to the
	 * index now and then (a write per open would cost more than the
	 * open). */
	int64_t hits_pending;
	double hits_flushed;
	uid_t uid;
	gid_t gid;
};

struct mnt_file {
	struct engine_pin pin;
	struct dstate *ds;
	int is_index;
	int fd;                    /* the day file, or its index */
};

enum kind { K_NONE, K_ROOT, K_YEAR, K_MONTH, K_AVRO, K_INDEX };

struct node {
	enum kind kind;
	struct day d;              /* year, month, day as far as known */
};


/* A decimal number of exactly ndigits digits at *p, then *end. */
static int
num(const char *p, int ndigits, const char *end, int *out)
{
	int i, v = 0;

	for (i = 0; i < ndigits; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	if (strcmp(p + ndigits, end) != 0)
		return -1;
	*out = v;
	return 0;
}

/* The node a path names, by its shape only. */
static void
parse_path(const char *path, struct node *n)
{
	char buf[64];
	char *a, *b, *c, *save = NULL;

	memset(n, 0, sizeof(*n));
	if (strcmp(path, "/") == 0) {
		n->kind = K_ROOT;
		return;
	}
	if (strlen(path) >= sizeof(buf) || path[0] != '/')
		return;
	snprintf(buf, sizeof(buf), "%s", path + 1);
	a = strtok_r(buf, "/", &save);
	b = strtok_r(NULL, "/", &save);
	c = strtok_r(NULL, "/", &save);
	if (a == NULL || strtok_r(NULL, "/", &save) != NULL ||
	    num(a, 4, "", &n->d.year) < 0 || n->d.year == 0)
		return;
	if (b == NULL) {
		n->kind = K_YEAR;
		return;
	}
	if (num(b, 2, "", &n->d.month) < 0 || n->d.month < 1 ||
	    n->d.month > 12)
		return;
	if (c == NULL) {
		n->kind = K_MONTH;
		return;
	}
	if (num(c, 2, ".avro", &n->d.day) == 0)
		n->kind = K_AVRO;
	else if (num(c, 2, ".timeseries.txt", &n->d.day) == 0)
		n->kind = K_INDEX;
}

static void evict(struct mnt *m);
static int day_pin(struct mnt *m, struct dstate *ds, const struct day *d,
    struct engine_pin *pin, int *changed);
static int stale(const struct mnt *m, int64_t dn, double built,
    double checked);

/* " (started 2026-12-02T20:31:05Z)" for the lines that start and end
 * builds, on a terminal: anywhere else log lines carry the time already
 * (log.h), and the journal and syslog stamp them. */
static void
when(const char *what, char *out, size_t len)
{
	char ts[DATE_ISO8601_LEN];

	out[0] = '\0';
	if (!isatty(STDERR_FILENO))
		return;
	date_format_iso8601((int64_t)time(NULL), 0, ts);
	snprintf(out, len, " (%s %s)", what, ts);
}

sw_err
mnt_new(const struct sw_config *cfg, struct mnt **out)
{
	struct mnt *m = xcalloc(1, sizeof(*m));
	sw_err rc;

	m->cfg = cfg;
	pthread_mutex_init(&m->mu, NULL);
	m->mounted = now_wall();
	m->uid = getuid();
	m->gid = getgid();
	if ((rc = engine_new(cfg, NULL, &m->e)) != SW_OK) {
		mnt_free(m);
		return rc;
	}
	evict(m);
	*out = m;
	return SW_OK;
}

sw_err
mnt_check(struct mnt *m)
{
	return engine_check(m->e);
}

void
mnt_free(struct mnt *m)
{
	size_t i;

	if (m == NULL)
		return;
	if (m->hits_pending > 0 && m->e != NULL)
		engine_count(m->e, "hits", m->hits_pending);
	for (i = 0; i < NBUCKETS; i++) {
		while (m->tab[i] != NULL) {
			struct dstate *ds = m->tab[i];

			m->tab[i] = ds->next;
			pthread_cond_destroy(&ds->cv);
			free(ds);
		}
	}
	engine_free(m->e);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

/* The state of day d, or NULL; m->mu is held. */
static struct dstate *
dstate_find(struct mnt *m, const struct day *d)
{
	int64_t dn = day_to_epoch_days(d);
	struct dstate *ds;

	for (ds = m->tab[(uint64_t)dn % NBUCKETS]; ds != NULL; ds = ds->next)
		if (ds->dn == dn)
			return ds;
	return NULL;
}

/* The state of day d (created on first use); m->mu is held. */
static struct dstate *
dstate_get(struct mnt *m, const struct day *d)
{
	int64_t dn = day_to_epoch_days(d);
	size_t h = (size_t)((uint64_t)dn % NBUCKETS);
	struct dstate *ds;

	if ((ds = dstate_find(m, d)) != NULL)
		return ds;
	ds = xcalloc(1, sizeof(*ds));
	ds->dn = dn;
	pthread_cond_init(&ds->cv, NULL);
	ds->next = m->tab[h];
	m->tab[h] = ds;
	return ds;
}

/* ---- directories ---- */

/* A level of the partitions, listed at most every mount.dir_ttl. */
static int
level(struct mnt *m, int year, int month, long **vals, size_t *n)
{
	if (engine_level(m->e, year, month, (double)m->cfg->mount_dir_ttl,
	    vals, n) == SW_OK)
		return 0;
	if (year == 0)
		log_error("cannot list the years: %s", sw_errmsg());
	else if (month == 0)
		log_error("cannot list %d: %s", year, sw_errmsg());
	else
		log_error("cannot list %d/%d: %s", year, month, sw_errmsg());
	return -EIO;
}

static int
has(const long *v, size_t n, long x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return 1;
	return 0;
}

/* Whether the node exists in the cold tier (listings only). */
static int
exists(struct mnt *m, const struct node *n)
{
	long *v = NULL;
	size_t nv = 0;
	int r;

	switch (n->kind) {
	case K_NONE:
		return -ENOENT;
	case K_ROOT:
		return 0;
	case K_YEAR:
		r = level(m, 0, 0, &v, &nv);
		if (r == 0 && !has(v, nv, n->d.year))
			r = -ENOENT;
		break;
	case K_MONTH:
		r = level(m, n->d.year, 0, &v, &nv);
		if (r == 0 && !has(v, nv, n->d.month))
			r = -ENOENT;
		break;
	default:
		r = level(m, n->d.year, n->d.month, &v, &nv);
		if (r == 0 && !has(v, nv, n->d.day))
			r = -ENOENT;
		break;
	}
	free(v);
	return r;
}

static void
stat_dir(const struct mnt *m, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = 2;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)m->mounted;
}

/* A day file's attributes: exact once the day is cached, else size 0
 * (reads of an unbuilt day are not bound by it: see mnt_open). */
static int
stat_file(struct mnt *m, const struct node *n, struct stat *st)
{
	struct engine_state es;

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_blksize = 128 * 1024;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)m->mounted;
	if (engine_day_state(m->e, &n->d, 0, &es) != SW_OK) {
		log_error("%s", sw_errmsg());
		return -EIO;
	}
	if (es.cached) {
		st->st_size = (off_t)(n->kind == K_AVRO ? es.size :
		    es.index_size);
		st->st_mtime = st->st_ctime = st->st_atime = (time_t)es.built;
		st->st_ino = (ino_t)es.gen;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

/* mount.exact_size: bring day d to what the next open would serve (built,
 * or listed again when stale), once for all callers as for reads.  A
 * build that fails leaves the size at 0; the open then fails and says
 * why. */
static void
exact_wait(struct mnt *m, const struct day *d)
{
	struct engine_pin pin;
	struct engine_state es;
	struct dstate *ds;
	int changed, building;
	double checked;

	pthread_mutex_lock(&m->mu);
	ds = dstate_get(m, d);
	building = ds->building;
	checked = ds->checked;
	ds->nopen++;     /* not evicted while this stat waits */
	pthread_mutex_unlock(&m->mu);
	if (building || engine_day_state(m->e, d, 0, &es) != SW_OK ||
	    !es.cached || stale(m, ds->dn, es.built, checked)) {
		if (day_pin(m, ds, d, &pin, &changed) == 0)
			engine_pin_release(&pin);
	}
	pthread_mutex_lock(&m->mu);
	ds->nopen--;
	pthread_mutex_unlock(&m->mu);
}

int
mnt_getattr(struct mnt *m, const char *path, struct stat *st)
{
	struct node n;
	int r;

	parse_path(path, &n);
	if ((r = exists(m, &n)) != 0)
		return r;
	if ((n.kind == K_AVRO || n.kind == K_INDEX) && m->cfg->mount_exact_size)
		exact_wait(m, &n.d);
	if (n.kind == K_AVRO || n.kind == K_INDEX)
		return stat_file(m, &n, st);
	stat_dir(m, st);
	return 0;
}

int
mnt_readdir(struct mnt *m, const char *path, mnt_fill_fn fill, void *arg)
{
	struct node n;
	struct stat st;
	long *v = NULL;
	size_t nv = 0, i;
	char name[32];
	int r;

	parse_path(path, &n);
	if (n.kind == K_AVRO || n.kind == K_INDEX)
		return -ENOTDIR;
	if ((r = exists(m, &n)) != 0)
		return r;
	stat_dir(m, &st);
	fill(arg, ".", &st);
	fill(arg, "..", &st);
	r = level(m, n.kind == K_ROOT ? 0 : n.d.year,
	    n.kind == K_MONTH ? n.d.month : 0, &v, &nv);
	for (i = 0; r == 0 && i < nv; i++) {
		if (n.kind == K_ROOT) {
			snprintf(name, sizeof(name), "%04ld", v[i]);
			fill(arg, name, &st);
		} else if (n.kind == K_YEAR) {
			snprintf(name, sizeof(name), "%02ld", v[i]);
			fill(arg, name, &st);
		} else {
			struct node f = n;
			struct stat fs;

			f.d.day = (int)v[i];
			f.kind = K_AVRO;
			if ((r = stat_file(m, &f, &fs)) != 0)
				break;
			snprintf(name, sizeof(name), "%02ld.avro", v[i]);
			fill(arg, name, &fs);
			f.kind = K_INDEX;
			if ((r = stat_file(m, &f, &fs)) != 0)
				break;
			snprintf(name, sizeof(name), "%02ld.timeseries.txt",
			    v[i]);
			fill(arg, name, &fs);
		}
	}
	free(v);
	return r;
}

/* ---- days ---- */

/* Whether a day built at that time may still change: it was built before
 * it settled (mount.settle_time after its end). */
static int
mutable_day(const struct mnt *m, int64_t dn, double built)
{
	return built < (double)(dn + 1) * 86400 +
	    (double)m->cfg->mount_settle_time;
}

/* Whether a cached day should be listed again: it may still change and
 * was last listed (built, or checked by this mount) more than
 * refresh_interval ago. */
static int
stale(const struct mnt *m, int64_t dn, double built, double checked)
{
	double last = built > checked ? built : checked;

	return mutable_day(m, dn, built) &&
	    now_wall() - last >= (double)m->cfg->mount_refresh_interval;
}

/* Days open or being built here are not evicted. */
static int
day_busy(void *arg, const struct day *d)
{
	struct mnt *m = arg;
	struct dstate *ds;
	int busy;

	pthread_mutex_lock(&m->mu);
	ds = dstate_find(m, d);
	busy = ds != NULL && (ds->nopen > 0 || ds->building);
	pthread_mutex_unlock(&m->mu);
	return busy;
}

/* Evict least recently read days until the cache fits cache.max_size
 * (the engine's eviction, which also spares days being built
 * elsewhere). */
static void
evict(struct mnt *m)
{
	if (engine_evict(m->e, day_busy, m) != SW_OK)
		log_warn("cannot evict days from the cache: %s", sw_errmsg());
}

static void
count_hit(struct mnt *m)
{
	int64_t n = 0;
	double now = now_wall();

	pthread_mutex_lock(&m->mu);
	m->hits_pending++;
	if (m->hits_pending >= 100 || now - m->hits_flushed >= 10) {
		n = m->hits_pending;
		m->hits_pending = 0;
		m->hits_flushed = now;
	}
	pthread_mutex_unlock(&m->mu);
	engine_count(m->e, "hits", n);
}

/* The end of a build of this mount: its waiters wake up. */
static void
build_done(struct mnt *m, struct dstate *ds, sw_err rc)
{
	pthread_mutex_lock(&m->mu);
	ds->building = 0;
	ds->builds++;
	ds->checked = now_wall();
	ds->failed = rc != SW_OK;
	snprintf(ds->err, sizeof(ds->err), "%s", rc != SW_OK ? sw_errmsg() :
	    "");
	pthread_cond_broadcast(&ds->cv);
	pthread_mutex_unlock(&m->mu);
}

/*
 * Pin the cached generation of day d if it needs no build: wait for a
 * build of this mount in progress (single flight) and take what it made,
 * or pin what is cached if it is fresh.  Returns 0 with *pin held, 1 when
 * the day needs a build and this caller is to do it (ds->building set,
 * *had and *had_size saying what was cached), or a negative errno.
 */
static int
pin_or_claim(struct mnt *m, struct dstate *ds, const struct day *d,
    struct engine_pin *pin, int *had, uint64_t *had_size)
{
	char dstr[11];
	unsigned seen;
	double checked;
	int fresh;
	sw_err rc;

	day_format(d, dstr);
	pthread_mutex_lock(&m->mu);
	seen = ds->builds;
	for (;;) {
		while (ds->building)
			pthread_cond_wait(&ds->cv, &m->mu);
		if (ds->builds != seen && ds->failed) {
			/* The build this open waited for failed: one build,
			 * one log line, the same answer for all its
			 * waiters. */
			pthread_mutex_unlock(&m->mu);
			return -EIO;
		}
		/* a build that just ended listed the day: fresh */
		fresh = ds->builds != seen;
		seen = ds->builds;
		checked = ds->checked;
		pthread_mutex_unlock(&m->mu);

		rc = engine_day_pin(m->e, d, pin);
		if (rc != SW_OK && rc != SW_ERR_NOTFOUND) {
			log_error("%s: %s", dstr, sw_errmsg());
			return -EIO;
		}
		if (rc == SW_OK && (fresh || !stale(m, ds->dn, pin->built,
		    checked))) {
			count_hit(m);
			return 0;
		}
		*had = rc == SW_OK;
		*had_size = *had ? pin->size : 0;
		if (*had)
			engine_pin_release(pin);
		pthread_mutex_lock(&m->mu);
		if (!ds->building && ds->builds == seen) {
			ds->building = 1;
			pthread_mutex_unlock(&m->mu);
			return 1;
		}
		/* another open claimed the build first: wait for it */
	}
}

/* Build (or extend) day d if it needs it, once for all callers, and pin
 * its current generation.  *changed is set when the generation pinned is
 * not the one a stat before this open would have shown. */
static int
day_pin(struct mnt *m, struct dstate *ds, const struct day *d,
    struct engine_pin *pin, int *changed)
{
	struct engine_report rep;
	char dstr[11], t0[48], t1[48];
	uint64_t had_size = 0;
	int r, had = 0, built;
	sw_err rc;

	*changed = 0;
	if ((r = pin_or_claim(m, ds, d, pin, &had, &had_size)) <= 0)
		return r;
	day_format(d, dstr);
	when("started", t0, sizeof(t0));
	if (!had)
		log_notice("%s: materializing the day%s", dstr, t0);
	else
		log_info("%s: listing the day again%s", dstr, t0);
	rc = engine_day_ex(m->e, d, NULL, NULL, &rep, pin);
	when("ended", t1, sizeof(t1));
	if (rc != SW_OK && had) {
		/* A refresh that failed: the day as cached is still good. */
		log_warn("%s: cannot list it again, serving the cached day: %s",
		    dstr, sw_errmsg());
		build_done(m, ds, SW_OK);
		rc = engine_day_pin(m->e, d, pin);
		if (rc != SW_OK) {
			log_error("%s: %s", dstr, rc == SW_ERR_NOTFOUND ?
			    "evicted meanwhile" : sw_errmsg());
			return -EIO;
		}
		count_hit(m);
		return 0;
	}
	if (rc != SW_OK) {
		log_error("%s: cannot materialize the day: %s%s", dstr,
		    sw_errmsg(), t1);
		build_done(m, ds, rc);
		return -EIO;
	}
	built = !rep.up_to_date;
	*changed = !had || pin->size != had_size;
	if (built)
		log_notice("%s: %s %llu objects (%llu fetched), %llu records, "
		    "in %.2f s%s", dstr, had ? "extended with" :
		    "materialized from", (unsigned long long)rep.listed,
		    (unsigned long long)rep.fetched,
		    (unsigned long long)rep.records, rep.fetch_seconds +
		    rep.merge_seconds, t1);
	else
		log_info("%s: up to date%s", dstr, t1);
	engine_count(m->e, built ? "misses" : "hits", 1);
	build_done(m, ds, SW_OK);
	if (built)
		evict(m);
	return 0;
}

int
mnt_open(struct mnt *m, const char *path, int flags, struct mnt_file **out,
    enum mnt_cache *mode)
{
	struct mnt_file *f;
	struct node n;
	struct dstate *ds;
	int r, changed, touch;

	*out = NULL;
	*mode = MNT_CACHE_DROP;
	parse_path(path, &n);
	if ((r = exists(m, &n)) != 0)
		return r;
	if (n.kind != K_AVRO && n.kind != K_INDEX)
		return -EISDIR;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	f = xcalloc(1, sizeof(*f));
	f->fd = f->pin.fd = f->pin.index_fd = -1;
	f->is_index = n.kind == K_INDEX;
	pthread_mutex_lock(&m->mu);
	ds = dstate_get(m, &n.d);
	ds->nopen++;     /* not evicted while this open is in progress */
	pthread_mutex_unlock(&m->mu);
	f->ds = ds;
	r = day_pin(m, ds, &n.d, &f->pin, &changed);
	if (r == 0)
		f->fd = f->is_index ? f->pin.index_fd : f->pin.fd;
	if (r != 0) {
		mnt_release(m, f);
		return r;
	}
	pthread_mutex_lock(&m->mu);
	/* Least recently read is judged to the minute. */
	touch = now_wall() - ds->touched >= 60;
	if (touch)
		ds->touched = now_wall();
	/* The kernel's page cache belongs to the path, not to an open: a
	 * day that may still change is read in direct I/O mode, each open
	 * from the generation it pinned, so that a reader keeps its version
	 * while a later open sees a newer one.  So is the open that builds a
	 * day (a stat before it showed size 0).  A settled day is cached by
	 * the kernel, and kept while its generation is the same. */
	if (changed || mutable_day(m, ds->dn, f->pin.built))
		*mode = MNT_DIRECT;
	else if (!f->is_index && ds->opened_gen == f->pin.gen)
		*mode = MNT_CACHE_KEEP;
	if (!f->is_index)
		ds->opened_gen = f->pin.gen;
	pthread_mutex_unlock(&m->mu);
	if (touch)
		engine_day_touch(m->e, &n.d);
	*out = f;
	return 0;
}

ssize_t
mnt_read(struct mnt_file *f, char *buf, size_t size, off_t off)
{
	ssize_t r;

	do
		r = pread(f->fd, buf, size, off);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

int
mnt_file_fd(const struct mnt_file *f)
{
	return f->fd;
}

void
mnt_release(struct mnt *m, struct mnt_file *f)
{
	if (f == NULL)
		return;
	engine_pin_release(&f->pin);
	pthread_mutex_lock(&m->mu);
	f->ds->nopen--;
	pthread_mutex_unlock(&m->mu);
	free(f);
}

/* ---- extended attributes ---- */

/* What a day's file says of itself, by name; each function answers
 * whether it has a value now (and writes it). */
struct xattr_ctx {
	struct engine_state es;
	int building, failed, stale;
	char err[512];
};

static int
x_state(const struct xattr_ctx *x, char *v, size_t len)
{
	snprintf(v, len, "%s", x->building ? "building" : x->failed ?
	    "failed" : !x->es.cached ? "cold" : x->stale ? "stale" : "cached");
	return 1;
}

static int
x_progress(const struct xattr_ctx *x, char *v, size_t len)
{
	if (x->es.building)
		snprintf(v, len, "%s", x->es.progress);
	else if (x->building)
		snprintf(v, len, "building (starting)");
	else
		return 0;
	return 1;
}

static int
x_error(const struct xattr_ctx *x, char *v, size_t len)
{
	if (!x->failed)
		return 0;
	snprintf(v, len, "%s", x->err);
	return 1;
}

#define X_NUM(fn, field) \
static int \
fn(const struct xattr_ctx *x, char *v, size_t len) \
{ \
	if (!x->es.cached) \
		return 0; \
	snprintf(v, len, "%llu", (unsigned long long)x->es.field); \
	return 1; \
}
X_NUM(x_objects, objects)
X_NUM(x_records, records)
X_NUM(x_series, series)
X_NUM(x_size, size)
X_NUM(x_generation, gen)

static int
x_built(const struct xattr_ctx *x, char *v, size_t len)
{
	char ts[DATE_ISO8601_LEN];

	if (!x->es.cached)
		return 0;
	date_format_iso8601((int64_t)x->es.built, 0, ts);
	snprintf(v, len, "%s", ts);
	return 1;
}

static const struct xattr_def {
	const char *name;
	int (*fn)(const struct xattr_ctx *x, char *v, size_t len);
} xattrs[] = {
	{ "user.swrepart.state", x_state },
	{ "user.swrepart.progress", x_progress },
	{ "user.swrepart.objects", x_objects },
	{ "user.swrepart.records", x_records },
	{ "user.swrepart.series", x_series },
	{ "user.swrepart.size", x_size },
	{ "user.swrepart.built", x_built },
	{ "user.swrepart.generation", x_generation },
	{ "user.swrepart.error", x_error },
	{ NULL, NULL }
};

/* The state of the day a path names: 1 for a day's file, 0 for a
 * directory (no attributes), or a negative errno. */
static int
xattr_load(struct mnt *m, const char *path, struct xattr_ctx *x)
{
	struct dstate *ds;
	struct node n;
	int r;

	memset(x, 0, sizeof(*x));
	parse_path(path, &n);
	if ((r = exists(m, &n)) != 0)
		return r;
	if (n.kind != K_AVRO && n.kind != K_INDEX)
		return 0;
	/* a build by this mount, or by another process on the same cache */
	if (engine_day_state(m->e, &n.d, ENGINE_STATE_PROGRESS, &x->es) !=
	    SW_OK) {
		log_error("%s", sw_errmsg());
		return -EIO;
	}
	pthread_mutex_lock(&m->mu);
	ds = dstate_get(m, &n.d);
	x->building = ds->building || x->es.building;
	x->failed = ds->failed;
	x->stale = x->es.cached && stale(m, ds->dn, x->es.built, ds->checked);
	snprintf(x->err, sizeof(x->err), "%s", ds->err);
	pthread_mutex_unlock(&m->mu);
	return 1;
}

static ssize_t
xattr_copy(const char *v, char *buf, size_t size)
{
	size_t len = strlen(v);

	if (size == 0)
		return (ssize_t)len;
	if (size < len)
		return -ERANGE;
	memcpy(buf, v, len);
	return (ssize_t)len;
}

ssize_t
mnt_getxattr(struct mnt *m, const char *path, const char *name, char *buf,
    size_t size)
{
	struct xattr_ctx x;
	char v[600];
	size_t i;
	int r = xattr_load(m, path, &x);

	if (r <= 0)
		return r < 0 ? r : -ENODATA;
	for (i = 0; xattrs[i].name != NULL; i++)
		if (strcmp(name, xattrs[i].name) == 0)
			return xattrs[i].fn(&x, v, sizeof(v)) ?
			    xattr_copy(v, buf, size) : -ENODATA;
	return -ENODATA;
}

/* Only the names getxattr answers now, so that `getfattr -d` and
 * listxattr-then-getxattr work. */
ssize_t
mnt_listxattr(struct mnt *m, const char *path, char *buf, size_t size)
{
	struct xattr_ctx x;
	char v[600];
	size_t len = 0, i;
	int r = xattr_load(m, path, &x);

	if (r <= 0)
		return r;
	for (i = 0; xattrs[i].name != NULL; i++) {
		size_t nl = strlen(xattrs[i].name) + 1;

		if (!xattrs[i].fn(&x, v, sizeof(v)))
			continue;
		if (size > 0 && len + nl > size)
			return -ERANGE;
		if (size > 0)
			memcpy(buf + len, xattrs[i].name, nl);
		len += nl;
	}
	return (ssize_t)len;
}
