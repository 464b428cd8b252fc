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
#include "fuse/names.h"

#define NBUCKETS 1024

/* What this process knows of a day beyond the cache index (all under
 * m->mu). */
struct dstate {
	int64_t dn;                /* days since the epoch */
	char series[80];           /* one series' day, or "" (the whole) */
	int agg;                   /* of the aggregates */
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
	struct engine *agg;        /* the aggregates (agg/) beside raw/ */
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
	/* The series catalogue and the names of its series (/assets,
	 * /aliases), and its text (/series.csv, .ndjson), built once per
	 * catalogue: under cmu, a leaf lock (never held across an engine
	 * call). */
	pthread_mutex_t cmu;
	struct catalog *cat;
	struct names *names;
	struct buf text[2];        /* CATALOG_CSV, CATALOG_NDJSON ("": not
	                            * built yet) */
};

struct mnt_file {
	struct engine_view v;      /* the day, or the series' part of it */
	struct dstate *ds;         /* NULL for the catalogue */
	int is_index;              /* the day's timeseries.txt: v.pin.index_fd */
	char *text;                /* the catalogue (series.csv), a copy */
	size_t ntext;
};

enum kind { K_NONE, K_ROOT, K_YEAR, K_MONTH, K_AVRO, K_INDEX, K_SERIES_DIR,
	K_NAMED, K_NAMES_DIR, K_CATALOG };

struct node {
	enum kind kind;
	int agg;                   /* below /agg: the aggregates */
	struct day d;              /* year, month, day as far as known */
	const char *series;        /* days of one series (/series/{id}/...),
	                            * or NULL: whole days */
	char id[80];
	int bucket;                /* the series' seriesBucket, or -1 */
	const char *named;         /* K_NAMED: the path below the root
	                            * (/assets/..., /aliases/...); K_NAMES_DIR
	                            * too */
	enum catalog_fmt fmt;      /* K_CATALOG */
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

/* The node the date part of a path names ("" is the root of its tree). */
static void
parse_days(const char *path, struct node *n)
{
	char buf[64];
	char *a, *b, *c, *save = NULL;

	if (path[0] == '\0' || strcmp(path, "/") == 0) {
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
	else if (num(c, 2, ".timeseries.txt", &n->d.day) == 0 &&
	    n->series == NULL)
		n->kind = K_INDEX;
}

/* The node a path names, by its shape only:
 *   /YYYY/MM/DD.avro               whole days
 *   /series/{id}/YYYY/MM/DD.avro   one series' days */
static void
parse_path(const char *path, struct node *n)
{
	const char *p, *e;

	memset(n, 0, sizeof(*n));
	if (strncmp(path, "/agg", 4) == 0 && (path[4] == '\0' ||
	    path[4] == '/')) {
		/* the same tree for the aggregates (no /agg/agg) */
		path += 4;
		if (*path == '\0')
			path = "/";
		if (strncmp(path, "/agg", 4) == 0 && (path[4] == '\0' ||
		    path[4] == '/'))
			return;
		parse_path(path, n);
		if (n->kind == K_CATALOG)
			n->kind = K_NONE;
		n->agg = n->kind != K_NONE;
		return;
	}
	n->bucket = -1;
	if (strcmp(path, "/series.csv") == 0 ||
	    strcmp(path, "/series.ndjson") == 0) {
		n->kind = K_CATALOG;
		n->fmt = path[8] == 'c' ? CATALOG_CSV : CATALOG_NDJSON;
		return;
	}
	if ((strncmp(path, "/assets", 7) == 0 && (path[7] == '\0' ||
	    path[7] == '/')) || (strncmp(path, "/aliases", 8) == 0 &&
	    (path[8] == '\0' || path[8] == '/'))) {
		n->kind = K_NAMED;      /* resolved by the names (lookup()) */
		n->named = path;
		return;
	}
	if (strncmp(path, "/series", 7) != 0 || (path[7] != '\0' &&
	    path[7] != '/')) {
		parse_days(path, n);
		return;
	}
	p = path + 7;
	if (*p == '\0' || strcmp(p, "/") == 0) {
		n->kind = K_SERIES_DIR;
		return;
	}
	n->bucket = -1;
	p++;
	e = strchr(p, '/');
	if (e == NULL)
		e = p + strlen(p);
	if ((size_t)(e - p) >= sizeof(n->id) ||
	    !coldkey_series_ok(p, (size_t)(e - p)))
		return;
	memcpy(n->id, p, (size_t)(e - p));
	n->id[e - p] = '\0';
	n->series = n->id;
	parse_days(e, n);
}

/* The engine of the node's dataset. */
#define E(m, n) ((n)->agg ? (m)->agg : (m)->e)

/* "" for whole days: the key of a day state. */
static const char *
node_series(const struct node *n)
{
	return n->series != NULL ? n->series : "";
}

static void evict(struct mnt *m);
static int day_pin(struct mnt *m, struct dstate *ds, const struct node *n,
    struct engine_view *v, int *changed);
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
	struct engine_opts ao;
	sw_err rc;

	m->cfg = cfg;
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->cmu, NULL);
	buf_init(&m->text[0]);
	buf_init(&m->text[1]);
	m->mounted = now_wall();
	m->uid = getuid();
	m->gid = getgid();
	memset(&ao, 0, sizeof(ao));
	ao.dataset = ENGINE_AGG;
	if ((rc = engine_new(cfg, NULL, &m->e)) != SW_OK ||
	    (rc = engine_new(cfg, &ao, &m->agg)) != SW_OK) {
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
	engine_free(m->agg);
	catalog_unref(m->cat);
	names_free(m->names);
	buf_release(&m->text[0]);
	buf_release(&m->text[1]);
	pthread_mutex_destroy(&m->cmu);
	pthread_mutex_destroy(&m->mu);
	free(m);
}

static size_t
dstate_hash(int64_t dn, const char *series, int agg)
{
	uint64_t h = (uint64_t)dn * 2 + (uint64_t)agg;

	while (*series != '\0')
		h = h * 31 + (unsigned char)*series++;
	return (size_t)(h % NBUCKETS);
}

/* The state of the day (of a series, or "") n names, or NULL; m->mu is
 * held. */
static struct dstate *
dstate_find(struct mnt *m, const struct day *d, const char *series, int agg)
{
	int64_t dn = day_to_epoch_days(d);
	struct dstate *ds;

	for (ds = m->tab[dstate_hash(dn, series, agg)]; ds != NULL;
	    ds = ds->next)
		if (ds->dn == dn && ds->agg == agg &&
		    strcmp(ds->series, series) == 0)
			return ds;
	return NULL;
}

/* The state of that day (created on first use); m->mu is held. */
static struct dstate *
dstate_get(struct mnt *m, const struct day *d, const char *series, int agg)
{
	int64_t dn = day_to_epoch_days(d);
	size_t h = dstate_hash(dn, series, agg);
	struct dstate *ds;

	if ((ds = dstate_find(m, d, series, agg)) != NULL)
		return ds;
	ds = xcalloc(1, sizeof(*ds));
	ds->dn = dn;
	ds->agg = agg;
	snprintf(ds->series, sizeof(ds->series), "%s", series);
	pthread_cond_init(&ds->cv, NULL);
	ds->next = m->tab[h];
	m->tab[h] = ds;
	return ds;
}

/* ---- the series catalogue ---- */

/* Bring the catalogue (and the names of its series of the configured
 * type) up to date: read at most every catalog.ttl seconds (the engine
 * keeps it), the names built again only for a new catalogue.  With
 * cached_only, only a catalogue read before is taken (none: 0, nothing
 * done). */
static int
catalog_fresh(struct mnt *m, int cached_only)
{
	struct catalog *c = NULL, *old;
	struct names_src *src;
	struct names *nm, *oldnm;
	size_t i, k = 0;
	int same;

	if (cached_only) {
		pthread_mutex_lock(&m->cmu);
		same = m->cat != NULL;
		pthread_mutex_unlock(&m->cmu);
		if (!same)
			return 0;
	}
	if (engine_catalog(m->e, (double)m->cfg->catalog_ttl, &c) != SW_OK) {
		log_error("cannot read the series catalogue: %s", sw_errmsg());
		return -EIO;
	}
	pthread_mutex_lock(&m->cmu);
	same = c == m->cat;
	pthread_mutex_unlock(&m->cmu);
	if (same) {
		catalog_unref(c);
		return 0;
	}
	src = xcalloc(c->n + 1, sizeof(*src));
	for (i = 0; i < c->n; i++) {
		const struct catalog_row *r = &c->rows[i];

		if (!engine_selects(m->e, r->series_id))
			continue;
		src[k++] = (struct names_src){ r->series_id, r->asset_id,
			r->asset_name, r->property_id, r->property_name,
			r->alias };
	}
	nm = names_build(src, k);
	free(src);
	pthread_mutex_lock(&m->cmu);
	old = m->cat;
	oldnm = m->names;
	m->cat = c;
	m->names = nm;
	m->text[0].len = m->text[1].len = 0;
	pthread_mutex_unlock(&m->cmu);
	catalog_unref(old);
	names_free(oldnm);
	return 0;
}

/* The bucket of series in the catalogue read last, or -1; m->cmu is
 * held. */
static int
catalog_bucket(const struct mnt *m, const char *series)
{
	const struct catalog_row *r;

	if (m->cat == NULL || (r = catalog_find(m->cat, series)) == NULL ||
	    r->bucket == NULL)
		return -1;
	return (int)strtol(r->bucket, NULL, 16);
}

/* The catalogue as text in fmt (built once per catalogue); m->cmu is
 * held. */
static const struct buf *
catalog_text(struct mnt *m, enum catalog_fmt fmt)
{
	struct buf *b = &m->text[fmt == CATALOG_CSV ? 0 : 1];
	size_t i;

	if (b->len > 0 || m->cat == NULL)
		return b;
	catalog_format_head(fmt, b);
	for (i = 0; i < m->cat->n; i++)
		if (engine_selects(m->e, m->cat->rows[i].series_id))
			catalog_format_row(&m->cat->rows[i], fmt, b);
	return b;
}

/*
 * The node path names, resolved: a path below /assets or /aliases through
 * the names of the catalogue's series (read if need be), and every
 * series' bucket from it (/series/{id} takes it from a catalogue read
 * before, without reading one).
 */
static int
lookup_ex(struct mnt *m, const char *path, struct node *n, int listing)
{
	const char *series, *rest;
	int r;

	parse_path(path, n);
	if (n->kind == K_NAMED && (strcmp(n->named, "/assets") == 0 ||
	    strcmp(n->named, "/aliases") == 0))
		n->kind = K_NAMES_DIR;   /* there with or without names */
	if (n->kind == K_NAMED || ((n->kind == K_CATALOG ||
	    n->kind == K_SERIES_DIR || n->kind == K_NAMES_DIR) && listing))
		r = catalog_fresh(m, 0);
	else
		r = catalog_fresh(m, 1);
	if (r != 0)
		return r;
	pthread_mutex_lock(&m->cmu);
	if (n->kind == K_NAMED) {
		int agg = n->agg;
		const char *named = n->named;

		r = names_resolve(m->names, named, &series, &rest);
		if (r == 0) {
			n->kind = K_NAMES_DIR;
		} else if (r == 1 && strlen(series) < sizeof(n->id)) {
			char id[80];

			snprintf(id, sizeof(id), "%s", series);
			memset(n, 0, sizeof(*n));
			snprintf(n->id, sizeof(n->id), "%s", id);
			n->series = n->id;
			n->named = named;
			n->agg = agg;
			parse_days(rest, n);
		} else {
			n->kind = K_NONE;
		}
	}
	if (n->series != NULL)
		n->bucket = catalog_bucket(m, n->series);
	pthread_mutex_unlock(&m->cmu);
	if (n->series != NULL && !engine_selects(m->e, n->series))
		n->kind = K_NONE;
	return 0;
}

/* lookup_ex() of a path that is not being listed or opened: /series and
 * /series.csv need no catalogue to exist (the catalogue's files show size
 * 0 until it is read, as days do until built), their listing and open
 * do. */
static int
lookup(struct mnt *m, const char *path, struct node *n)
{
	return lookup_ex(m, path, n, 0);
}

/* ---- directories ---- */

/* A level of the partitions, listed at most every mount.dir_ttl: of the
 * cold tier, or for a series' month its days (years and months are the
 * cold tier's: knowing which hold the series would list every day). */
static int
level(struct mnt *m, const struct node *nd, int year, int month, long **vals,
    size_t *n)
{
	double ttl = (double)m->cfg->mount_dir_ttl;
	const char *series = nd->series;

	if (series != NULL && month != 0) {
		if (engine_series_days(E(m, nd), series, nd->bucket, year, month, ttl,
		    vals, n) == SW_OK)
			return 0;
		log_error("cannot list %d/%d of series %s: %s", year, month,
		    series, sw_errmsg());
		return -EIO;
	}
	if (engine_level(E(m, nd), year, month, ttl, vals, n) == SW_OK)
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
		/* /agg when the cold tier holds aggregates */
		if (!n->agg || n->series != NULL)
			return 0;
		r = level(m, n, 0, 0, &v, &nv);
		if (r == 0 && nv == 0)
			r = -ENOENT;
		break;
	case K_SERIES_DIR:
	case K_NAMES_DIR:
	case K_CATALOG:
		return 0;
	case K_YEAR:
		r = level(m, n, 0, 0, &v, &nv);
		if (r == 0 && !has(v, nv, n->d.year))
			r = -ENOENT;
		break;
	case K_MONTH:
		r = level(m, n, n->d.year, 0, &v, &nv);
		if (r == 0 && !has(v, nv, n->d.month))
			r = -ENOENT;
		break;
	default:
		r = level(m, n, n->d.year, n->d.month, &v, &nv);
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
	struct engine_view v;
	sw_err rc;

	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	st->st_blksize = 128 * 1024;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)m->mounted;
	if (n->series != NULL) {
		/* a series' day: what the cache would serve now */
		rc = engine_series_pin(E(m, n), n->series, n->bucket, &n->d, &v);
		if (rc != SW_OK && rc != SW_ERR_NOTFOUND) {
			log_error("%s", sw_errmsg());
			return -EIO;
		}
		if (rc == SW_OK) {
			st->st_size = (off_t)v.size;
			st->st_mtime = st->st_ctime = st->st_atime =
			    (time_t)v.pin.built;
		}
		engine_view_release(&v);
		st->st_blocks = (st->st_size + 511) / 512;
		return 0;
	}
	if (engine_day_state(E(m, n), &n->d, 0, &es) != SW_OK) {
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
exact_wait(struct mnt *m, const struct node *n)
{
	struct engine_view v;
	struct engine_state es;
	struct dstate *ds;
	int changed, building;
	double checked;

	pthread_mutex_lock(&m->mu);
	ds = dstate_get(m, &n->d, node_series(n), n->agg);
	building = ds->building;
	checked = ds->checked;
	ds->nopen++;     /* not evicted while this stat waits */
	pthread_mutex_unlock(&m->mu);
	if (building || n->series != NULL ||
	    engine_day_state(E(m, n), &n->d, 0, &es) != SW_OK ||
	    !es.cached || stale(m, ds->dn, es.built, checked)) {
		if (day_pin(m, ds, n, &v, &changed) == 0)
			engine_view_release(&v);
	}
	pthread_mutex_lock(&m->mu);
	ds->nopen--;
	pthread_mutex_unlock(&m->mu);
}

/* series.csv, series.ndjson: the catalogue as text, of its size, dated
 * when it was read. */
static int
stat_catalog(struct mnt *m, const struct node *n, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = m->uid;
	st->st_gid = m->gid;
	pthread_mutex_lock(&m->cmu);
	st->st_size = (off_t)catalog_text(m, n->fmt)->len;
	st->st_mtime = st->st_ctime = st->st_atime = (time_t)(m->cat != NULL &&
	    m->cat->fetched > 0 ? m->cat->fetched : m->mounted);
	pthread_mutex_unlock(&m->cmu);
	st->st_blocks = (st->st_size + 511) / 512;
	return 0;
}

struct names_fill {
	mnt_fill_fn fill;
	void *arg;
	const struct stat *st;
};

static int
names_fill(void *arg, const char *name)
{
	struct names_fill *nf = arg;

	nf->fill(nf->arg, name, nf->st);
	return 0;
}

/* The entries of /series (the catalogue's series of the type), /assets,
 * /aliases and what is below them, down to the series' directories (and
 * alias parts below a series' alias). */
static void
fill_names(struct mnt *m, const struct node *n, mnt_fill_fn fill, void *arg,
    const struct stat *st)
{
	struct names_fill nf = { fill, arg, st };
	size_t i;

	pthread_mutex_lock(&m->cmu);
	if (n->kind == K_SERIES_DIR) {
		for (i = 0; m->cat != NULL && i < m->cat->n; i++)
			if (engine_selects(m->e, m->cat->rows[i].series_id))
				fill(arg, m->cat->rows[i].series_id, st);
	} else if (m->names != NULL && n->named != NULL) {
		names_list(m->names, n->named, names_fill, &nf);
	}
	pthread_mutex_unlock(&m->cmu);
}

int
mnt_getattr(struct mnt *m, const char *path, struct stat *st)
{
	struct node n;
	int r;

	if ((r = lookup(m, path, &n)) != 0 || (r = exists(m, &n)) != 0)
		return r;
	if ((n.kind == K_AVRO || n.kind == K_INDEX) && m->cfg->mount_exact_size)
		exact_wait(m, &n);
	if (n.kind == K_AVRO || n.kind == K_INDEX)
		return stat_file(m, &n, st);
	if (n.kind == K_CATALOG)
		return stat_catalog(m, &n, st);
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

	if ((r = lookup_ex(m, path, &n, 1)) != 0)
		return r;
	if (n.kind == K_AVRO || n.kind == K_INDEX || n.kind == K_CATALOG)
		return -ENOTDIR;
	if ((r = exists(m, &n)) != 0)
		return r;
	stat_dir(m, &st);
	fill(arg, ".", &st);
	fill(arg, "..", &st);
	if (n.kind == K_SERIES_DIR || n.kind == K_NAMES_DIR) {
		fill_names(m, &n, fill, arg, &st);
		return 0;
	}
	if (n.kind == K_ROOT && n.series == NULL) {
		struct node a;
		struct stat cs;

		if (!n.agg) {
			parse_path("/agg", &a);
			if (exists(m, &a) == 0)
				fill(arg, "agg", &st);
		}
		fill(arg, "aliases", &st);
		fill(arg, "assets", &st);
		fill(arg, "series", &st);
		/* sizes known once the catalogue is read (as days' once
		 * built): a listing of the root reads no metadata */
		if (!n.agg && catalog_fresh(m, 1) == 0) {
			parse_path("/series.csv", &a);
			stat_catalog(m, &a, &cs);
			fill(arg, "series.csv", &cs);
			parse_path("/series.ndjson", &a);
			stat_catalog(m, &a, &cs);
			fill(arg, "series.ndjson", &cs);
		}
	}
	if (n.kind == K_ROOT && n.named != NULL)
		fill_names(m, &n, fill, arg, &st);  /* aliases below it */
	r = level(m, &n, n.kind == K_ROOT ? 0 : n.d.year,
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
			if (n.series != NULL)
				continue;
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
	ds = dstate_find(m, d, "", 0);
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

/* The whole day pinned in v->pin, viewed whole. */
static void
view_pinned(struct mnt *m, const struct node *n, struct engine_view *v)
{
	size_t cap = 0;

	v->segs = xgrowarray(NULL, &cap, 1, sizeof(*v->segs));
	v->segs[0].off = 0;
	v->segs[0].len = v->size = v->pin.size;
	v->nsegs = 1;
	v->records = v->pin.records;
	v->src = engine_source(E(m, n));
}

/* The view the cache serves now, without a build: SW_ERR_NOTFOUND (no
 * message) when it holds none. */
static sw_err
cached_view(struct mnt *m, const struct node *n, struct engine_view *v)
{
	sw_err rc;

	if (n->series != NULL)
		return engine_series_pin(E(m, n), n->series, n->bucket, &n->d,
		    v);
	memset(v, 0, sizeof(*v));
	if ((rc = engine_day_pin(E(m, n), &n->d, &v->pin)) == SW_OK)
		view_pinned(m, n, v);
	return rc;
}

/* Build (or list again) the day or the series' day, and view it. */
static sw_err
build_view(struct mnt *m, const struct node *n, struct engine_report *rep,
    struct engine_view *v)
{
	sw_err rc;

	if (n->series != NULL)
		return engine_series_build(E(m, n), n->series, n->bucket,
		    &n->d, rep, v);
	memset(v, 0, sizeof(*v));
	if ((rc = engine_day_ex(E(m, n), &n->d, NULL, NULL, rep, &v->pin)) ==
	    SW_OK)
		view_pinned(m, n, v);
	return rc;
}

/* "2022-03-01" or "2022-03-01 of series {id}", for log lines. */
static void
node_name(const struct node *n, char *out, size_t len)
{
	char dstr[11];

	day_format(&n->d, dstr);
	if (n->series != NULL)
		snprintf(out, len, "%s%s of series %s", dstr, n->agg ?
		    " (agg)" : "", n->series);
	else
		snprintf(out, len, "%s%s", dstr, n->agg ? " (agg)" : "");
}

/*
 * View the cached generation of the day n names if it needs no build:
 * wait for a build of this mount in progress (single flight) and take
 * what it made, or view what is cached if it is fresh.  Returns 0 with *v
 * held, 1 when the day needs a build and this caller is to do it
 * (ds->building set, *had and *had_size saying what was cached), or a
 * negative errno.
 */
static int
pin_or_claim(struct mnt *m, struct dstate *ds, const struct node *n,
    struct engine_view *v, int *had, uint64_t *had_size)
{
	char name[160];
	unsigned seen;
	double checked;
	int fresh;
	sw_err rc;

	node_name(n, name, sizeof(name));
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

		rc = cached_view(m, n, v);
		if (rc != SW_OK && rc != SW_ERR_NOTFOUND) {
			log_error("%s: %s", name, sw_errmsg());
			return -EIO;
		}
		if (rc == SW_OK && (fresh || !stale(m, ds->dn, v->pin.built,
		    checked))) {
			count_hit(m);
			return 0;
		}
		*had = rc == SW_OK;
		*had_size = *had ? v->size : 0;
		if (*had)
			engine_view_release(v);
		pthread_mutex_lock(&m->mu);
		if (!ds->building && ds->builds == seen) {
			ds->building = 1;
			pthread_mutex_unlock(&m->mu);
			return 1;
		}
		/* another open claimed the build first: wait for it */
	}
}

/* Build (or extend) the day n names if it needs it, once for all
 * callers, and view its current generation.  *changed is set when the
 * generation viewed is not the one a stat before this open would have
 * shown. */
static int
day_pin(struct mnt *m, struct dstate *ds, const struct node *n,
    struct engine_view *v, int *changed)
{
	struct engine_report rep;
	char name[160], t0[48], t1[48];
	uint64_t had_size = 0;
	int r, had = 0, built;
	sw_err rc;

	*changed = 0;
	if ((r = pin_or_claim(m, ds, n, v, &had, &had_size)) <= 0)
		return r;
	node_name(n, name, sizeof(name));
	when("started", t0, sizeof(t0));
	if (!had)
		log_notice("%s: materializing the day%s", name, t0);
	else
		log_info("%s: listing the day again%s", name, t0);
	rc = build_view(m, n, &rep, v);
	when("ended", t1, sizeof(t1));
	if (rc != SW_OK && had) {
		/* A refresh that failed: the day as cached is still good. */
		log_warn("%s: cannot list it again, serving the cached day: %s",
		    name, sw_errmsg());
		build_done(m, ds, SW_OK);
		rc = cached_view(m, n, v);
		if (rc != SW_OK) {
			log_error("%s: %s", name, rc == SW_ERR_NOTFOUND ?
			    "evicted meanwhile" : sw_errmsg());
			return -EIO;
		}
		count_hit(m);
		return 0;
	}
	if (rc != SW_OK) {
		log_error("%s: cannot materialize the day: %s%s", name,
		    sw_errmsg(), t1);
		build_done(m, ds, rc);
		return -EIO;
	}
	built = !rep.up_to_date;
	*changed = !had || v->size != had_size;
	if (built)
		log_notice("%s: %s %llu objects (%llu fetched), %llu records, "
		    "in %.2f s%s", name, had ? "extended with" :
		    "materialized from", (unsigned long long)rep.listed,
		    (unsigned long long)rep.fetched,
		    (unsigned long long)rep.records, rep.fetch_seconds +
		    rep.merge_seconds, t1);
	else
		log_info("%s: up to date%s", name, t1);
	engine_count(m->e, built ? "misses" : "hits", 1);
	build_done(m, ds, SW_OK);
	if (built)
		evict(m);
	return 0;
}

/* series.csv and series.ndjson: a copy of the text of the catalogue read
 * now, which the open keeps whatever a refresh does (direct I/O: the
 * size may change). */
static int
open_catalog(struct mnt *m, const struct node *n, struct mnt_file **out,
    enum mnt_cache *mode)
{
	struct mnt_file *f = xcalloc(1, sizeof(*f));
	const struct buf *b;

	f->v.pin.fd = f->v.pin.index_fd = -1;
	pthread_mutex_lock(&m->cmu);
	b = catalog_text(m, n->fmt);
	f->ntext = b->len;
	f->text = xcalloc(1, b->len + 1);
	if (b->len > 0)
		memcpy(f->text, b->data, b->len);
	pthread_mutex_unlock(&m->cmu);
	*mode = MNT_DIRECT;
	*out = f;
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
	if ((r = lookup_ex(m, path, &n, 1)) != 0 || (r = exists(m, &n)) != 0)
		return r;
	if (n.kind != K_AVRO && n.kind != K_INDEX && n.kind != K_CATALOG)
		return -EISDIR;
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	if (n.kind == K_CATALOG)
		return open_catalog(m, &n, out, mode);
	f = xcalloc(1, sizeof(*f));
	f->v.pin.fd = f->v.pin.index_fd = -1;
	f->is_index = n.kind == K_INDEX;
	pthread_mutex_lock(&m->mu);
	ds = dstate_get(m, &n.d, node_series(&n), n.agg);
	ds->nopen++;     /* not evicted while this open is in progress */
	pthread_mutex_unlock(&m->mu);
	f->ds = ds;
	r = day_pin(m, ds, &n, &f->v, &changed);
	if (r == 0 && n.series != NULL && f->v.records == 0)
		r = -ENOENT;     /* no record of the series that day (now) */
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
	if (mutable_day(m, ds->dn, f->v.pin.built))
		*mode = MNT_DIRECT;
	else if (changed)
		*mode = MNT_DIRECT_BUILT;
	else if (!f->is_index && ds->opened_gen == f->v.pin.gen &&
	    n.series == NULL)
		*mode = MNT_CACHE_KEEP;
	if (!f->is_index)
		ds->opened_gen = f->v.pin.gen;
	pthread_mutex_unlock(&m->mu);
	if (touch && engine_view_touch(E(m, &n), &f->v, &n.d) != SW_OK)
		log_debug("%s", sw_errmsg());
	*out = f;
	return 0;
}

/* The pieces of [off, off + size) of the file, at most max of them (all
 * when out is NULL): the count. */
size_t
mnt_pieces(const struct mnt_file *f, off_t off, size_t size,
    struct mnt_piece *out, size_t max)
{
	const struct engine_view *v = &f->v;
	uint64_t pos = 0, o = (uint64_t)off, end = (uint64_t)off + size;
	size_t i, k = 0;

	if (f->text != NULL) {
		if (o >= f->ntext)
			return 0;
		if (end > f->ntext)
			end = f->ntext;
		if (out != NULL && max > 0)
			*out = (struct mnt_piece){ -1, off, (size_t)(end - o),
				f->text + o };
		return 1;
	}
	if (f->is_index) {
		if (out != NULL && max > 0)
			*out = (struct mnt_piece){ v->pin.index_fd, off, size,
				NULL };
		return 1;
	}
	for (i = 0; i < v->nsegs && pos < end; i++) {
		uint64_t a = pos, b = pos + v->segs[i].len;

		pos = b;
		if (b <= o)
			continue;
		if (a < o)
			a = o;
		if (b > end)
			b = end;
		if (out != NULL && k < max)
			out[k] = (struct mnt_piece){ v->pin.fd,
			    (off_t)(v->segs[i].off + (a - (pos -
			    v->segs[i].len))), (size_t)(b - a), NULL };
		k++;
	}
	return k;
}

ssize_t
mnt_read(struct mnt_file *f, char *buf, size_t size, off_t off)
{
	struct mnt_piece pc[16];
	size_t n, i, done = 0;
	ssize_t r;

	while (done < size) {
		n = mnt_pieces(f, off + (off_t)done, size - done, pc, 16);
		if (n == 0)
			break;
		if (n > 16)
			n = 16;
		for (i = 0; i < n; i++) {
			if (pc[i].mem != NULL) {
				memcpy(buf + done, pc[i].mem, pc[i].len);
				done += pc[i].len;
				continue;
			}
			do
				r = pread(pc[i].fd, buf + done, pc[i].len,
				    pc[i].pos);
			while (r < 0 && errno == EINTR);
			if (r < 0)
				return -errno;
			done += (size_t)r;
			if ((size_t)r < pc[i].len)
				return (ssize_t)done;   /* end of file */
		}
	}
	return (ssize_t)done;
}

int
mnt_file_fd(const struct mnt_file *f, const char **md5)
{
	const struct engine_view *v = &f->v;
	struct stat st;

	*md5 = NULL;
	if (f->text != NULL)
		return -1;
	if (f->is_index)
		return v->pin.index_fd;
	/* one range from 0 to the file's end: a whole day, not a series'
	 * ranges of it (nor a file that grew past the pinned view) */
	if (v->pin.fd < 0 || v->nsegs != 1 || v->segs[0].off != 0 ||
	    fstat(v->pin.fd, &st) != 0 || (uint64_t)st.st_size != v->segs[0].len)
		return -1;
	if (v->pin.md5[0] != '\0')
		*md5 = v->pin.md5;
	return v->pin.fd;
}

void
mnt_release(struct mnt *m, struct mnt_file *f)
{
	if (f == NULL)
		return;
	engine_view_release(&f->v);
	if (f->ds != NULL) {
		pthread_mutex_lock(&m->mu);
		f->ds->nopen--;
		pthread_mutex_unlock(&m->mu);
	}
	free(f->text);
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
	if (!x->es.cached || (uint64_t)x->es.field == UINT64_MAX) \
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
	if ((r = lookup(m, path, &n)) != 0 || (r = exists(m, &n)) != 0)
		return r;
	if (n.kind != K_AVRO && n.kind != K_INDEX)
		return 0;
	if (n.series != NULL) {
		/* a series' day: what an open would serve now */
		struct engine_view v;
		sw_err rc = engine_series_pin(E(m, &n), n.series, n.bucket, &n.d, &v);

		if (rc != SW_OK && rc != SW_ERR_NOTFOUND) {
			log_error("%s", sw_errmsg());
			return -EIO;
		}
		if (rc == SW_OK) {
			x->es.cached = 1;
			x->es.gen = v.pin.gen;
			x->es.size = v.size;
			x->es.records = v.records;
			x->es.built = v.pin.built;
			x->es.series = 1;
			x->es.objects = UINT64_MAX;
		}
		engine_view_release(&v);
	} else if (engine_day_state(E(m, &n), &n.d, ENGINE_STATE_PROGRESS,
	    &x->es) != SW_OK) {
		/* a build by this mount, or by another process on the same
		 * cache */
		log_error("%s", sw_errmsg());
		return -EIO;
	}
	pthread_mutex_lock(&m->mu);
	ds = dstate_get(m, &n.d, node_series(&n), n.agg);
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
