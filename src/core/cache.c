/*
 * cache.c - merged days on local disk, indexed by sqlite (see cache.h for
 * the layout and the crash-safety argument).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/cache.h"
#include "core/catalog.h"

#define SCHEMA_VERSION 5

/*
 * Connections and locks.
 *
 * The index is sqlite in WAL mode: readers do not wait for a writer nor
 * writers for readers, and writers (in any process) take turns, each
 * transaction short.  A connection serves one thread at a time: a thread
 * takes one from the pool for the length of a public function (opening a
 * new one if none is idle) and gives it back, so threads never wait for
 * each other here, and a transaction never takes in another thread's
 * statements.  Connections are opened SQLITE_OPEN_NOMUTEX for that reason.
 *
 * Lock order (a lock is only taken while holding those above it):
 *   1. a day's build lock (flock of DIR/locks/S-DAY.lock; cache_day_lock):
 *      held for a whole build, or a drop;
 *   2. sqlite's write lock (BEGIN IMMEDIATE ... COMMIT): a few statements,
 *      never a wait for a day lock inside it;
 *   3. c->pool_mu: a leaf, held to push or pop a connection only, never
 *      across sqlite or the file system.
 * The busy timeout applies only to a connection's own thread; writes that
 * may be skipped (a day's last read, counters, listings) wait at most
 * BEST_EFFORT_MS for another writer.
 */
#define BUSY_MS 30000
#define BEST_EFFORT_MS 100
#define POOL_IDLE_MAX 16      /* idle connections kept open */

struct conn {
	sqlite3 *db;
	struct conn *next;
};

struct cache {
	char *dir;
	char *index;              /* DIR/index.sqlite */
	pthread_mutex_t pool_mu;  /* lock 3 above: idle, nidle */
	struct conn *idle;
	size_t nidle;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS source ("
    "  id INTEGER PRIMARY KEY, url TEXT NOT NULL, prefix TEXT NOT NULL,"
    "  type TEXT NOT NULL, UNIQUE (url, prefix, type));"
    "CREATE TABLE IF NOT EXISTS day ("
    "  source INTEGER NOT NULL REFERENCES source(id), day TEXT NOT NULL,"
    "  gen INTEGER NOT NULL, size INTEGER NOT NULL,"
    "  records INTEGER NOT NULL, objects INTEGER NOT NULL,"
    "  series INTEGER NOT NULL, built REAL NOT NULL,"
    "  PRIMARY KEY (source, day));"
    "CREATE TABLE IF NOT EXISTS day_object ("
    "  source INTEGER NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL,"
    "  etag TEXT NOT NULL, size INTEGER NOT NULL,"
    "  PRIMARY KEY (source, day, key));"
    "CREATE TABLE IF NOT EXISTS day_series ("
    "  source INTEGER NOT NULL, day TEXT NOT NULL, series TEXT NOT NULL,"
    "  PRIMARY KEY (source, day, series));"
    "CREATE TABLE IF NOT EXISTS bad_object ("
    "  source INTEGER NOT NULL, day TEXT NOT NULL, key TEXT NOT NULL,"
    "  etag TEXT NOT NULL, size INTEGER NOT NULL, reason TEXT NOT NULL,"
    "  seen REAL NOT NULL, PRIMARY KEY (source, day, key));"
    /* version 2: ListTimeSeries answers, by endpoint and type */
    "CREATE TABLE IF NOT EXISTS series_list ("
    "  endpoint TEXT NOT NULL, type TEXT NOT NULL, fetched REAL NOT NULL,"
    "  PRIMARY KEY (endpoint, type));"
    "CREATE TABLE IF NOT EXISTS series_list_member ("
    "  endpoint TEXT NOT NULL, type TEXT NOT NULL, series TEXT NOT NULL,"
    "  PRIMARY KEY (endpoint, type, series));"
    /* version 3: the mount's directory listings, when each day was
     * last read, and counters (an index of version 2 gains them: every
     * statement here is CREATE ... IF NOT EXISTS) */
    "CREATE TABLE IF NOT EXISTS listing ("
    "  source INTEGER NOT NULL, path TEXT NOT NULL, fetched REAL NOT NULL,"
    "  vals TEXT NOT NULL, PRIMARY KEY (source, path));"
    "CREATE TABLE IF NOT EXISTS day_access ("
    "  source INTEGER NOT NULL, day TEXT NOT NULL, accessed REAL NOT NULL,"
    "  PRIMARY KEY (source, day));"
    "CREATE TABLE IF NOT EXISTS counter ("
    "  name TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/* Version 4: days exact per object.  Each merged object's blocks are a
 * byte range of the day file (offset, length, records), and each day
 * file has the MD5 of its bytes.  Rows of an older index have neither:
 * the engine builds such days anew. */
static const char schema4_sql[] =
    "ALTER TABLE day_object ADD COLUMN off INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE day_object ADD COLUMN len INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE day_object ADD COLUMN records INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE day ADD COLUMN md5 TEXT NOT NULL DEFAULT '';";

/* Version 5: the series catalogue's parts (the asset metadata of a cold
 * tier, a ListTimeSeries answer), each as last read. */
static const char schema5_sql[] =
    "CREATE TABLE IF NOT EXISTS catalog_part ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  fetched REAL NOT NULL, objects INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS catalog_row ("
    "  part INTEGER NOT NULL, series TEXT NOT NULL, asset_id TEXT,"
    "  asset_name TEXT, property_id TEXT, property_name TEXT, alias TEXT,"
    "  unit TEXT, data_type TEXT, bucket TEXT,"
    "  associated INTEGER NOT NULL, PRIMARY KEY (part, series));";

static sw_err
db_err(struct cache *c, sqlite3 *db, const char *what)
{
	return sw_seterr(SW_ERR_IO, "cache index '%s/index.sqlite': cannot "
	    "%s: %s", c->dir, what, sqlite3_errmsg(db));
}

static sw_err
exec(struct cache *c, sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sw_err rc = sw_seterr(SW_ERR_IO, "cache index '%s/index.sqlite'"
		    ": %s", c->dir, msg ? msg : "error");

		sqlite3_free(msg);
		return rc;
	}
	return SW_OK;
}

static sw_err
mkdir_private(const char *path)
{
	char tmp[PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return sw_seterr(SW_ERR_IO, "cannot create '%s': %s",
			    tmp, strerror(errno));
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return sw_seterr(SW_ERR_IO, "cannot create '%s': %s", tmp,
		    strerror(errno));
	return SW_OK;
}

/*
 * The cache directory must be ours alone: whoever else can write to it
 * can swap the day files that sync publishes.  A new one is made 0700;
 * one that exists must be a directory (not a symbolic link) owned by this
 * user and writable by nobody else, or it is refused: never chmod another
 * user's directory (a shared /var/tmp would lose its sticky bit).  One of
 * ours that others can only read is made private, through the descriptor
 * that was checked.
 */
static sw_err
cache_dir_private(const char *path)
{
	struct stat sb;
	char parent[PATH_MAX], *slash;
	int fd;
	sw_err rc;

	if (lstat(path, &sb) < 0) {
		if (errno != ENOENT)
			return sw_seterr(SW_ERR_IO, "cache directory '%s': %s",
			    path, strerror(errno));
		snprintf(parent, sizeof(parent), "%s", path);
		if ((slash = strrchr(parent, '/')) != NULL && slash != parent) {
			*slash = '\0';
			if ((rc = mkdir_private(parent)) != SW_OK)
				return rc;
		}
		if (mkdir(path, 0700) < 0 && errno != EEXIST)
			return sw_seterr(SW_ERR_IO, "cannot create the cache "
			    "directory '%s': %s", path, strerror(errno));
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return sw_seterr(SW_ERR_CONFIG, "cache directory '%s': %s: give "
		    "cache.dir a directory of your own (not a symbolic link)",
		    path, errno == ELOOP || errno == ENOTDIR ? "not a directory"
		    " (a symbolic link or a file)" : strerror(errno));
	if (fstat(fd, &sb) < 0) {
		rc = sw_seterr(SW_ERR_IO, "cache directory '%s': %s", path,
		    strerror(errno));
		close(fd);
		return rc;
	}
	if (sb.st_uid != geteuid()) {
		close(fd);
		return sw_seterr(SW_ERR_CONFIG, "cache directory '%s' belongs to "
		    "uid %lu, not to this user (uid %lu): give cache.dir a "
		    "directory of your own, or a path that does not exist yet "
		    "(it is created private)", path, (unsigned long)sb.st_uid,
		    (unsigned long)geteuid());
	}
	if ((sb.st_mode & 022) != 0) {
		close(fd);
		return sw_seterr(SW_ERR_CONFIG, "cache directory '%s' is writable "
		    "by %s (mode %04o): others could change the days it holds; "
		    "give cache.dir a private directory (chmod 700 '%s' if it "
		    "is only yours)", path, (sb.st_mode & 002) ? "everyone" :
		    "its group", (unsigned)(sb.st_mode & 07777), path);
	}
	if ((sb.st_mode & 077) != 0) {
		if (fchmod(fd, 0700) < 0) {
			rc = sw_seterr(SW_ERR_IO, "cannot make the cache '%s' "
			    "private: %s", path, strerror(errno));
			close(fd);
			return rc;
		}
		log_notice("cache directory '%s' was readable by others (mode "
		    "%04o): made it 0700", path, (unsigned)(sb.st_mode & 07777));
	}
	close(fd);
	return SW_OK;
}

sw_err
cache_default_dir(char *out, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	if (xdg != NULL && xdg[0] == '/')
		snprintf(out, len, "%s/swrepart", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(out, len, "%s/.cache/swrepart", home);
	else if (geteuid() == 0)
		/* mount(8) and systemd run helpers without HOME */
		snprintf(out, len, CACHE_SYSTEM_DIR);
	else if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL && pw.pw_dir != NULL && pw.pw_dir[0] == '/')
		snprintf(out, len, "%s/.cache/swrepart", pw.pw_dir);
	else
		return sw_seterr(SW_ERR_CONFIG, "no cache directory: set "
		    "cache.dir, XDG_CACHE_HOME or HOME");
	return SW_OK;
}

/* A new connection to the index: no symbolic link followed, no mutex of
 * its own (one thread at a time uses it). */
static sw_err
db_open(struct cache *c, sqlite3 **out)
{
	sqlite3 *db = NULL;
	sw_err rc;

	*out = NULL;
	if (sqlite3_open_v2(c->index, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL) != SQLITE_OK) {
		rc = sw_seterr(SW_ERR_IO, "cannot open the cache index '%s': %s",
		    c->index, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return rc;
	}
	sqlite3_busy_timeout(db, BUSY_MS);
	if ((rc = exec(c, db, "PRAGMA synchronous=NORMAL; PRAGMA "
	    "foreign_keys=ON;")) != SW_OK) {
		sqlite3_close(db);
		return rc;
	}
	*out = db;
	return SW_OK;
}

/* A connection for this thread: an idle one, or a new one. */
static sw_err
db_get(struct cache *c, sqlite3 **out)
{
	struct conn *k;

	pthread_mutex_lock(&c->pool_mu);
	if ((k = c->idle) != NULL) {
		c->idle = k->next;
		c->nidle--;
	}
	pthread_mutex_unlock(&c->pool_mu);
	if (k == NULL)
		return db_open(c, out);
	*out = k->db;
	free(k);
	return SW_OK;
}

/* Give a connection back (closed if enough are idle already). */
static void
db_put(struct cache *c, sqlite3 *db)
{
	struct conn *k;

	if (db == NULL)
		return;
	if (!sqlite3_get_autocommit(db))
		/* a transaction left open by a failure: not the next user's */
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_lock(&c->pool_mu);
	if (c->nidle < POOL_IDLE_MAX) {
		k = xcalloc(1, sizeof(*k));
		k->db = db;
		k->next = c->idle;
		c->idle = k;
		c->nidle++;
		db = NULL;
	}
	pthread_mutex_unlock(&c->pool_mu);
	sqlite3_close(db);
}

/* A public function's body: call on a connection of the pool. */
#define ON_DB(c, call)                                          \
	do {                                                    \
		sqlite3 *db;                                    \
		sw_err on_db_rc_;                               \
		if ((on_db_rc_ = db_get((c), &db)) != SW_OK)    \
			return on_db_rc_;                       \
		on_db_rc_ = (call);                             \
		db_put((c), db);                                \
		return on_db_rc_;                               \
	} while (0)

/* The same for a write that may be skipped: it waits BEST_EFFORT_MS at
 * most for another writer (then SW_ERR_IO, with a message). */
#define ON_DB_SHORT(c, call)                                    \
	do {                                                    \
		sqlite3 *db;                                    \
		sw_err on_db_rc_;                               \
		if ((on_db_rc_ = db_get((c), &db)) != SW_OK)    \
			return on_db_rc_;                       \
		sqlite3_busy_timeout(db, BEST_EFFORT_MS);       \
		on_db_rc_ = (call);                             \
		sqlite3_busy_timeout(db, BUSY_MS);              \
		db_put((c), db);                                \
		return on_db_rc_;                               \
	} while (0)

static int
db_version(sqlite3 *db)
{
	sqlite3_stmt *st;
	int version = 0;

	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			version = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	return version;
}

/* WAL (it stays set in the file), and the schema made or upgraded. */
static sw_err
db_setup(struct cache *c, sqlite3 *db)
{
	int version;
	sw_err rc;

	rc = exec(c, db, "PRAGMA journal_mode=WAL");
	version = db_version(db);
	if (rc == SW_OK && version > SCHEMA_VERSION)
		return sw_seterr(SW_ERR_CONFIG, "the cache index '%s' was made "
		    "by a newer swrepart (schema %d > %d)", c->index, version,
		    SCHEMA_VERSION);
	if (rc != SW_OK || version == SCHEMA_VERSION)
		return rc;
	rc = exec(c, db, "BEGIN IMMEDIATE");
	/* another process may have upgraded it meanwhile */
	if (rc == SW_OK && (version = db_version(db)) < SCHEMA_VERSION) {
		if (version < 4)
			rc = exec(c, db, schema_sql);
		if (rc == SW_OK && version < 4)
			rc = exec(c, db, schema4_sql);
		if (rc == SW_OK)
			rc = exec(c, db, schema5_sql);
		if (rc == SW_OK)
			rc = exec(c, db, "PRAGMA user_version=5");
	}
	if (rc == SW_OK)
		rc = exec(c, db, "COMMIT");
	else
		exec(c, db, "ROLLBACK");
	return rc;
}

sw_err
cache_open(const struct sw_config *cfg, struct cache **out)
{
	struct cache *c;
	char path[PATH_MAX];
	sqlite3 *db = NULL;
	int fd;
	sw_err rc;

	*out = NULL;
	if (cfg->cache_dir != NULL)
		snprintf(path, sizeof(path), "%s", cfg->cache_dir);
	else if ((rc = cache_default_dir(path, sizeof(path))) != SW_OK)
		return rc;
	/* a trailing '/' would let a symbolic link through */
	while (strlen(path) > 1 && path[strlen(path) - 1] == '/')
		path[strlen(path) - 1] = '\0';
	if ((rc = cache_dir_private(path)) != SW_OK)
		return rc;
	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->pool_mu, NULL);
	c->dir = xstrdup(path);
	snprintf(path, sizeof(path), "%s/index.sqlite", c->dir);
	c->index = xstrdup(path);
	/* sqlite creates its files 0644 by default: not here (its -wal and
	 * -shm files take the index's mode). */
	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) >= 0)
		close(fd);
	rc = db_open(c, &db);
	if (rc == SW_OK)
		rc = db_setup(c, db);
	if (rc != SW_OK) {
		sqlite3_close(db);
		cache_close(c);
		return rc;
	}
	db_put(c, db);
	*out = c;
	return SW_OK;
}

void
cache_close(struct cache *c)
{
	if (c == NULL)
		return;
	while (c->idle != NULL) {
		struct conn *k = c->idle;

		c->idle = k->next;
		sqlite3_close(k->db);
		free(k);
	}
	pthread_mutex_destroy(&c->pool_mu);
	free(c->index);
	free(c->dir);
	free(c);
}

const char *
cache_dir(const struct cache *c)
{
	return c->dir;
}

static sw_err
db_source(struct cache *c, sqlite3 *db, const char *url, const char *prefix,
    const char *type, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	sw_err rc = SW_OK;

	if (sqlite3_prepare_v2(db, "INSERT INTO source (url, prefix, type) "
	    "VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, db, "add a source");
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		rc = db_err(c, db, "add a source");
	sqlite3_finalize(st);
	if (rc != SW_OK)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT id FROM source WHERE url = ?1 "
	    "AND prefix = ?2 AND type = ?3", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "find a source");
	sqlite3_bind_text(st, 1, url, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, prefix, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		rc = db_err(c, db, "find a source");
	sqlite3_finalize(st);
	return rc;
}

static void
day_str(const struct day *d, char out[11])
{
	day_format(d, out);
}

/* DIR/days/S/YYYY/MM: where a day's generations are. */
static void
day_dir(const struct cache *c, int64_t src, const struct day *d, char *out,
    size_t len)
{
	snprintf(out, len, "%s/days/%lld/%04d/%02d", c->dir, (long long)src,
	    d->year, d->month);
}

/* The paths of generation gen of a day (nothing created: a lookup). */
static void
day_paths(const struct cache *c, int64_t src, const struct day *d,
    int64_t gen, char *avro, char *index, size_t len)
{
	char dir[PATH_MAX];

	day_dir(c, src, d, dir, sizeof(dir));
	snprintf(avro, len, "%s/%02d.%lld.avro", dir, d->day, (long long)gen);
	snprintf(index, len, "%s/%02d.%lld.timeseries.txt", dir, d->day,
	    (long long)gen);
}

sw_err
cache_day_paths(struct cache *c, int64_t src, const struct day *d,
    int64_t gen, char *avro, char *index, size_t len)
{
	char dir[PATH_MAX];
	sw_err rc;

	day_dir(c, src, d, dir, sizeof(dir));
	if ((rc = mkdir_private(dir)) != SW_OK)
		return rc;
	day_paths(c, src, d, gen, avro, index, len);
	return SW_OK;
}

static sw_err
db_day_get(struct cache *c, sqlite3 *db, int64_t src, const struct day *d,
    struct cache_day *out)
{
	sqlite3_stmt *st;
	char ds[11];
	sw_err rc = SW_OK;

	memset(out, 0, sizeof(*out));
	day_str(d, ds);
	if (sqlite3_prepare_v2(db, "SELECT gen, size, records, objects, "
	    "series, built, md5 FROM day WHERE source = ?1 AND day = ?2", -1,
	    &st,
	    NULL) != SQLITE_OK)
		return db_err(c, db, "read a day");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		out->exists = 1;
		out->gen = sqlite3_column_int64(st, 0);
		out->size = (uint64_t)sqlite3_column_int64(st, 1);
		out->records = (uint64_t)sqlite3_column_int64(st, 2);
		out->objects = (uint64_t)sqlite3_column_int64(st, 3);
		out->series = (uint64_t)sqlite3_column_int64(st, 4);
		out->built = sqlite3_column_double(st, 5);
		snprintf(out->md5, sizeof(out->md5), "%s",
		    (const char *)sqlite3_column_text(st, 6));
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = db_err(c, db, "read a day");
	}
	sqlite3_finalize(st);
	if (rc == SW_OK && out->exists)
		day_paths(c, src, d, out->gen, out->file, out->index,
		    sizeof(out->file));
	return rc;
}

static sw_err
read_objs_in(struct cache *c, sqlite3 *db, const char *sql, int64_t src,
    const struct day *d, const char *lo, const char *hi,
    struct cache_obj **out, char ***reasons, size_t *n);

static sw_err
read_objs(struct cache *c, sqlite3 *db, const char *sql, int64_t src,
    const struct day *d, struct cache_obj **out, char ***reasons, size_t *n)
{
	return read_objs_in(c, db, sql, src, d, NULL, NULL, out, reasons, n);
}

/* read_objs() of a statement that also binds keys lo and hi (?3, ?4). */
static sw_err
read_objs_in(struct cache *c, sqlite3 *db, const char *sql, int64_t src,
    const struct day *d, const char *lo, const char *hi,
    struct cache_obj **out, char ***reasons, size_t *n)
{
	sqlite3_stmt *st;
	struct cache_obj *o = NULL;
	char **r = NULL;
	size_t cnt = 0, cap = 0;
	char ds[11];
	int s;

	*out = NULL;
	*n = 0;
	day_str(d, ds);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "read a day's objects");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
	if (lo != NULL) {
		sqlite3_bind_text(st, 3, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, hi, -1, SQLITE_STATIC);
	}
	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		if (cnt == cap) {
			o = xgrowarray(o, &cap, cnt + 1, sizeof(*o));
			if (reasons != NULL)
				r = xreallocarray(r, cap, sizeof(*r));
		}
		o[cnt].key = xstrdup((const char *)sqlite3_column_text(st, 0));
		o[cnt].etag = xstrdup((const char *)sqlite3_column_text(st, 1));
		o[cnt].size = (uint64_t)sqlite3_column_int64(st, 2);
		o[cnt].off = o[cnt].len = o[cnt].records = UINT64_MAX;
		if (reasons != NULL)
			r[cnt] = xstrdup((const char *)sqlite3_column_text(st,
			    3));
		else if (sqlite3_column_count(st) >= 6 &&
		    sqlite3_column_int64(st, 3) >= 0 &&
		    sqlite3_column_int64(st, 4) >= 0 &&
		    sqlite3_column_int64(st, 5) >= 0) {
			o[cnt].off = (uint64_t)sqlite3_column_int64(st, 3);
			o[cnt].len = (uint64_t)sqlite3_column_int64(st, 4);
			o[cnt].records = (uint64_t)sqlite3_column_int64(st, 5);
		}
		cnt++;
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		cache_objs_free(o, cnt);
		return db_err(c, db, "read a day's objects");
	}
	*out = o;
	*n = cnt;
	if (reasons != NULL)
		*reasons = r;
	return SW_OK;
}

static sw_err
db_day_objects(struct cache *c, sqlite3 *db, int64_t src, const struct day *d,
    struct cache_obj **out, size_t *n)
{
	return read_objs(c, db, "SELECT key, etag, size, off, len, records FROM "
	    "day_object WHERE source = ?1 AND day = ?2 ORDER BY key", src, d,
	    out, NULL, n);
}

/* The day's row, the objects with keys in [lo, hi) and the offset of its
 * first object (the header's length), read in one transaction. */
static sw_err
db_day_objects_in(struct cache *c, sqlite3 *db, int64_t src,
    const struct day *d, const char *lo, const char *hi,
    struct cache_day *cd, uint64_t *header, struct cache_obj **out,
    size_t *n)
{
	struct cache_obj *first = NULL;
	size_t nfirst = 0;
	sw_err rc;

	*out = NULL;
	*n = 0;
	*header = 0;
	if ((rc = exec(c, db, "BEGIN")) != SW_OK)
		return rc;
	rc = db_day_get(c, db, src, d, cd);
	if (rc == SW_OK && cd->exists)
		rc = read_objs(c, db, "SELECT key, etag, size, off, len, records "
		    "FROM day_object WHERE source = ?1 AND day = ?2 ORDER BY "
		    "key LIMIT 1", src, d, &first, NULL, &nfirst);
	if (rc == SW_OK && nfirst == 1)
		*header = first[0].off;
	if (rc == SW_OK && cd->exists)
		rc = read_objs_in(c, db, "SELECT key, etag, size, off, len, "
		    "records FROM day_object WHERE source = ?1 AND day = ?2 "
		    "AND key >= ?3 AND key < ?4 ORDER BY key", src, d, lo, hi,
		    out, NULL, n);
	cache_objs_free(first, nfirst);
	if (rc != SW_OK) {
		exec(c, db, "ROLLBACK");
		return rc;
	}
	return exec(c, db, "COMMIT");
}

static sw_err
db_day_bad(struct cache *c, sqlite3 *db, int64_t src, const struct day *d,
    struct cache_obj **out, char ***reasons, size_t *n)
{
	return read_objs(c, db, "SELECT key, etag, size, reason FROM bad_object "
	    "WHERE source = ?1 AND day = ?2 ORDER BY key", src, d, out,
	    reasons, n);
}

void
cache_objs_free(struct cache_obj *o, size_t n)
{
	size_t i;

	for (i = 0; o != NULL && i < n; i++) {
		free(o[i].key);
		free(o[i].etag);
	}
	free(o);
}

/* Step st (prepared, bound) to its end, collecting column 0 as strings;
 * st is finalized. */
static sw_err
read_strings(struct cache *c, sqlite3 *db, sqlite3_stmt *st, const char *what,
    char ***out, size_t *n)
{
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	int s;

	while ((s = sqlite3_step(st)) == SQLITE_ROW) {
		v = xgrowarray(v, &cap, cnt + 1, sizeof(*v));
		v[cnt++] = xstrdup((const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	if (s != SQLITE_DONE) {
		while (cnt > 0)
			free(v[--cnt]);
		free(v);
		return db_err(c, db, what);
	}
	*out = v;
	*n = cnt;
	return SW_OK;
}

static sw_err
db_day_series(struct cache *c, sqlite3 *db, int64_t src, const struct day *d,
    char ***out, size_t *n)
{
	sqlite3_stmt *st;
	char ds[11];

	*out = NULL;
	*n = 0;
	day_str(d, ds);
	if (sqlite3_prepare_v2(db, "SELECT series FROM day_series WHERE "
	    "source = ?1 AND day = ?2 ORDER BY series", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, db, "read a day's series");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
	return read_strings(c, db, st, "read a day's series", out, n);
}

static sw_err
step_done(struct cache *c, sqlite3 *db, sqlite3_stmt *st, const char *what)
{
	int s = sqlite3_step(st);

	sqlite3_reset(st);
	return s == SQLITE_DONE ? SW_OK : db_err(c, db, what);
}

/* Drops a day's objects, series and bad objects before a replacing build. */
static sw_err
db_day_wipe(struct cache *c, sqlite3 *db, int64_t src, const char *ds)
{
	static const char *const wipe[] = {
		"DELETE FROM day_object WHERE source = ?1 AND day = ?2",
		"DELETE FROM day_series WHERE source = ?1 AND day = ?2",
		"DELETE FROM bad_object WHERE source = ?1 AND day = ?2",
	};
	sqlite3_stmt *st;
	size_t i;
	sw_err rc = SW_OK;

	for (i = 0; i < 3 && rc == SW_OK; i++) {
		if (sqlite3_prepare_v2(db, wipe[i], -1, &st, NULL) !=
		    SQLITE_OK)
			return db_err(c, db, "replace a day");
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
		rc = step_done(c, db, st, "replace a day");
		sqlite3_finalize(st);
	}
	return rc;
}

static sw_err
db_day_put_objects(struct cache *c, sqlite3 *db, int64_t src, const char *ds,
    const struct cache_commit *cm)
{
	sqlite3_stmt *st;
	size_t i;
	sw_err rc = SW_OK;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO day_object "
	    "(source, day, key, etag, size, off, len, records) VALUES (?1, ?2,"
	    " ?3, ?4, ?5, ?6, ?7, ?8)", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "record objects");
	for (i = 0; i < cm->nadded && rc == SW_OK; i++) {
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, cm->added[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, cm->added[i].etag, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)cm->added[i].size);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)cm->added[i].off);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)cm->added[i].len);
		sqlite3_bind_int64(st, 8, (sqlite3_int64)cm->added[i].records);
		rc = step_done(c, db, st, "record objects");
	}
	sqlite3_finalize(st);
	return rc;
}

static sw_err
db_day_put_series(struct cache *c, sqlite3 *db, int64_t src, const char *ds,
    const struct cache_commit *cm)
{
	sqlite3_stmt *st;
	size_t i;
	sw_err rc = SW_OK;

	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO day_series "
	    "(source, day, series) VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, db, "record series");
	for (i = 0; i < cm->nseries && rc == SW_OK; i++) {
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, cm->series[i], -1, SQLITE_STATIC);
		rc = step_done(c, db, st, "record series");
	}
	sqlite3_finalize(st);
	return rc;
}

static sw_err
db_day_put_bad(struct cache *c, sqlite3 *db, int64_t src, const char *ds,
    const struct cache_commit *cm)
{
	sqlite3_stmt *st;
	size_t i;
	sw_err rc = SW_OK;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO bad_object "
	    "(source, day, key, etag, size, reason, seen) VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "record bad objects");
	for (i = 0; i < cm->nbad && rc == SW_OK; i++) {
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, cm->bad[i].key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, cm->bad[i].etag, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)cm->bad[i].size);
		sqlite3_bind_text(st, 6, cm->bad_reasons[i], -1, SQLITE_STATIC);
		sqlite3_bind_double(st, 7, (double)time(NULL));
		rc = step_done(c, db, st, "record bad objects");
	}
	sqlite3_finalize(st);
	return rc;
}

/* The day row last: its counts are taken from the rows written before it. */
static sw_err
db_day_put_row(struct cache *c, sqlite3 *db, int64_t src, const char *ds,
    const struct cache_commit *cm)
{
	struct timespec ts;
	sqlite3_stmt *st;
	sw_err rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO day (source, "
	    "day, gen, size, records, objects, series, built, md5) VALUES (?1,"
	    " ?2, ?3, ?4, ?5, (SELECT count(*) FROM day_object WHERE source = "
	    "?1 AND day = ?2), (SELECT count(*) FROM day_series WHERE source ="
	    " ?1 AND day = ?2), ?6, ?7)", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "record a day");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, cm->gen);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)cm->size);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)cm->records);
	sqlite3_bind_text(st, 7, cm->md5, -1, SQLITE_STATIC);
	clock_gettime(CLOCK_REALTIME, &ts);
	sqlite3_bind_double(st, 6, (double)ts.tv_sec +
	    (double)ts.tv_nsec / 1e9);
	rc = step_done(c, db, st, "record a day");
	sqlite3_finalize(st);
	return rc;
}

/*
 * Records a built day in one IMMEDIATE transaction; the steps below all run
 * inside it, and the old generation's files go only after the COMMIT.
 */
static sw_err
db_day_commit(struct cache *c, sqlite3 *db, int64_t src, const struct day *d,
    const struct cache_commit *cm)
{
	struct cache_day old;
	char ds[11];
	sw_err rc;

	day_str(d, ds);
	if ((rc = exec(c, db, "BEGIN IMMEDIATE")) != SW_OK)
		return rc;
	rc = db_day_get(c, db, src, d, &old);
	if (rc == SW_OK && cm->replace)
		rc = db_day_wipe(c, db, src, ds);
	if (rc == SW_OK)
		rc = db_day_put_objects(c, db, src, ds, cm);
	if (rc == SW_OK)
		rc = db_day_put_series(c, db, src, ds, cm);
	if (rc == SW_OK)
		rc = db_day_put_bad(c, db, src, ds, cm);
	if (rc == SW_OK)
		rc = db_day_put_row(c, db, src, ds, cm);
	if (rc == SW_OK)
		rc = exec(c, db, "COMMIT");
	if (rc != SW_OK) {
		exec(c, db, "ROLLBACK");
		return rc;
	}
	/* The new generation is current: the old one can go. */
	if (old.exists && old.gen != cm->gen) {
		unlink(old.file);
		unlink(old.index);
	}
	return SW_OK;
}

static sw_err
day_lock(struct cache *c, int64_t src, const struct day *d, int *fd, int wait)
{
	char path[PATH_MAX], ds[11];
	sw_err rc;

	*fd = -1;
	snprintf(path, sizeof(path), "%s/locks", c->dir);
	if ((rc = mkdir_private(path)) != SW_OK)
		return rc;
	day_str(d, ds);
	snprintf(path, sizeof(path), "%s/locks/%lld-%s.lock", c->dir,
	    (long long)src, ds);
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return sw_seterr(SW_ERR_IO, "cannot open the lock '%s': %s",
		    path, strerror(errno));
	while (flock(*fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0) {
		if (errno == EINTR)
			continue;
		if (errno == EWOULDBLOCK)
			rc = sw_seterr(SW_ERR_EXISTS, "%s is being built",
			    ds);
		else
			rc = sw_seterr(SW_ERR_IO, "cannot lock '%s': %s", path,
			    strerror(errno));
		close(*fd);
		*fd = -1;
		return rc;
	}
	return SW_OK;
}

sw_err
cache_day_lock(struct cache *c, int64_t src, const struct day *d, int *fd)
{
	return day_lock(c, src, d, fd, 1);
}

sw_err
cache_day_trylock(struct cache *c, int64_t src, const struct day *d, int *fd)
{
	return day_lock(c, src, d, fd, 0);
}

void
cache_day_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

sw_err
cache_staging(struct cache *c, char *out, size_t len)
{
	char base[PATH_MAX];
	unsigned char r[6];
	sw_err rc;

	snprintf(base, sizeof(base), "%s/tmp", c->dir);
	if ((rc = mkdir_private(base)) != SW_OK)
		return rc;
	if (getrandom(r, sizeof(r), 0) != sizeof(r))
		memset(r, 0, sizeof(r));
	snprintf(out, len, "%s/%ld-%02x%02x%02x%02x%02x%02x", base,
	    (long)getpid(), r[0], r[1], r[2], r[3], r[4], r[5]);
	if (mkdir(out, 0700) < 0)
		return sw_seterr(SW_ERR_IO, "cannot create '%s': %s", out,
		    strerror(errno));
	return SW_OK;
}

/* Whether staging directory name "PID-xxxx" belongs to a dead process. */
static int
staging_stale(const char *name)
{
	long pid = strtol(name, NULL, 10);

	return pid <= 0 || (kill((pid_t)pid, 0) < 0 && errno == ESRCH);
}

/* Removes the staging directories of processes that died. */
static void
cleanup_staging(struct cache *c)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s/tmp", c->dir);
	if ((d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char p[PATH_MAX];

		if (de->d_name[0] == '.' || !staging_stale(de->d_name))
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		log_info("removing stale staging directory '%s'", p);
		(void)rmtree(p);
	}
	closedir(d);
}

/*
 * Sweeps one month directory "days/SRC/YYYY/MM": a day file whose
 * generation the index does not know goes, unless its day is locked.
 */
static void
cleanup_month(struct cache *c, sqlite3 *db, int64_t src, const char *year,
    const char *month, const char *mdir)
{
	DIR *fd;
	struct dirent *fe;

	if ((fd = opendir(mdir)) == NULL)
		return;
	while ((fe = readdir(fd)) != NULL) {
		struct day dd;
		struct cache_day cd;
		long long gen;
		int dnum, lockfd, n = 0;
		char f[PATH_MAX];

		if (sscanf(fe->d_name, "%2d.%lld.%n", &dnum, &gen, &n) != 2 ||
		    n == 0)
			continue;
		dd.year = atoi(year);
		dd.month = atoi(month);
		dd.day = dnum;
		snprintf(f, sizeof(f), "%s/%s", mdir, fe->d_name);
		/* A day being built is swept another time. */
		if (cache_day_trylock(c, src, &dd, &lockfd) != SW_OK)
			continue;
		if (db_day_get(c, db, src, &dd, &cd) == SW_OK && (!cd.exists ||
		    cd.gen != gen)) {
			log_info("removing '%s': no current day refers to it",
			    f);
			unlink(f);
		}
		cache_day_unlock(lockfd);
	}
	closedir(fd);
}

/* Sweeps every year and month of one source directory "days/SRC". */
static void
cleanup_source(struct cache *c, sqlite3 *db, int64_t src, const char *sdir)
{
	DIR *yd;
	struct dirent *ye;

	if ((yd = opendir(sdir)) == NULL)
		return;
	while ((ye = readdir(yd)) != NULL) {
		char ydir[PATH_MAX];
		DIR *md;
		struct dirent *me;

		if (ye->d_name[0] == '.')
			continue;
		snprintf(ydir, sizeof(ydir), "%s/%s", sdir, ye->d_name);
		if ((md = opendir(ydir)) == NULL)
			continue;
		while ((me = readdir(md)) != NULL) {
			char mdir[PATH_MAX];

			if (me->d_name[0] == '.')
				continue;
			snprintf(mdir, sizeof(mdir), "%s/%s", ydir, me->d_name);
			cleanup_month(c, db, src, ye->d_name, me->d_name,
			    mdir);
		}
		closedir(md);
	}
	closedir(yd);
}

static sw_err
db_cleanup(struct cache *c, sqlite3 *db)
{
	char path[PATH_MAX];
	DIR *d;
	struct dirent *de;

	cleanup_staging(c);
	/* Day files of generations the index does not know (a build that
	 * crashed before its commit, or an old generation not yet
	 * deleted).  Builders hold the day lock, so only unlocked days are
	 * swept. */
	snprintf(path, sizeof(path), "%s/days", c->dir);
	if ((d = opendir(path)) == NULL)
		return SW_OK;
	while ((de = readdir(d)) != NULL) {
		char sdir[PATH_MAX];

		if (de->d_name[0] == '.')
			continue;
		snprintf(sdir, sizeof(sdir), "%s/%s", path, de->d_name);
		cleanup_source(c, db, strtoll(de->d_name, NULL, 10), sdir);
	}
	closedir(d);
	return SW_OK;
}

static sw_err
db_series_list_get(struct cache *c, sqlite3 *db, const char *endpoint, const char *type,
    double max_age, char ***out, size_t *n)
{
	sqlite3_stmt *st;
	double fetched = -1;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT fetched FROM series_list WHERE "
	    "endpoint = ?1 AND type = ?2", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "read the time series list");
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		fetched = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	if (fetched < 0 || (double)time(NULL) - fetched > max_age)
		return SW_ERR_NOTFOUND;
	if (sqlite3_prepare_v2(db, "SELECT series FROM series_list_member "
	    "WHERE endpoint = ?1 AND type = ?2 ORDER BY series", -1, &st,
	    NULL) != SQLITE_OK)
		return db_err(c, db, "read the time series list");
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	return read_strings(c, db, st, "read the time series list", out, n);
}

static sw_err
db_series_list_put(struct cache *c, sqlite3 *db, const char *endpoint, const char *type,
    char *const *ids, size_t n)
{
	sqlite3_stmt *st = NULL;
	size_t i;
	sw_err rc;

	if ((rc = exec(c, db, "BEGIN IMMEDIATE")) != SW_OK)
		return rc;
	if (sqlite3_prepare_v2(db, "DELETE FROM series_list_member WHERE "
	    "endpoint = ?1 AND type = ?2", -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, db, "store the time series list");
		goto fail;
	}
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	rc = step_done(c, db, st, "store the time series list");
	sqlite3_finalize(st);
	if (rc != SW_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO series_list_member"
	    " (endpoint, type, series) VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = db_err(c, db, "store the time series list");
		goto fail;
	}
	for (i = 0; i < n && rc == SW_OK; i++) {
		sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, ids[i], -1, SQLITE_STATIC);
		rc = step_done(c, db, st, "store the time series list");
	}
	sqlite3_finalize(st);
	if (rc != SW_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO series_list "
	    "(endpoint, type, fetched) VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
	    SQLITE_OK) {
		rc = db_err(c, db, "store the time series list");
		goto fail;
	}
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, type, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, (double)time(NULL));
	rc = step_done(c, db, st, "store the time series list");
	sqlite3_finalize(st);
	if (rc != SW_OK)
		goto fail;
	return exec(c, db, "COMMIT");
fail:
	exec(c, db, "ROLLBACK");
	return rc;
}


static sw_err
db_listing_get(struct cache *c, sqlite3 *db, int64_t src, const char *path,
    double max_age, long **vals, size_t *n)
{
	sqlite3_stmt *st;
	sw_err rc = SW_ERR_NOTFOUND;

	*vals = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT vals FROM listing WHERE "
	    "source = ?1 AND path = ?2 AND fetched >= ?3", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, db, "read a listing");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now_wall() - max_age);
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		size_t cap = 0;

		rc = SW_OK;
		while (t != NULL && *t != '\0') {
			char *end;
			long v = strtol(t, &end, 10);

			if (end == t)
				break;
			*vals = xgrowarray(*vals, &cap, *n + 1, sizeof(**vals));
			(*vals)[(*n)++] = v;
			t = *end == ' ' ? end + 1 : end;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

static sw_err
db_listing_put(struct cache *c, sqlite3 *db, int64_t src, const char *path,
    const long *vals, size_t n)
{
	sqlite3_stmt *st;
	struct buf b;
	size_t i;
	sw_err rc;

	buf_init(&b);
	for (i = 0; i < n; i++)
		buf_printf(&b, "%s%ld", i ? " " : "", vals[i]);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO listing (source, "
	    "path, fetched, vals) VALUES (?1, ?2, ?3, ?4)", -1, &st, NULL) !=
	    SQLITE_OK) {
		buf_release(&b);
		return db_err(c, db, "record a listing");
	}
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now_wall());
	sqlite3_bind_text(st, 4, b.data ? b.data : "", -1, SQLITE_STATIC);
	rc = step_done(c, db, st, "record a listing");
	sqlite3_finalize(st);
	buf_release(&b);
	return rc;
}

static sw_err
db_day_touch(struct cache *c, sqlite3 *db, int64_t src, const struct day *d)
{
	sqlite3_stmt *st;
	char ds[11];
	sw_err rc;

	day_str(d, ds);
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO day_access "
	    "(source, day, accessed) VALUES (?1, ?2, ?3)", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, db, "record a read");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 3, now_wall());
	rc = step_done(c, db, st, "record a read");
	sqlite3_finalize(st);
	return rc;
}

static sw_err
db_count(struct cache *c, sqlite3 *db, const char *name, int64_t add)
{
	sqlite3_stmt *st;
	sw_err rc;

	if (sqlite3_prepare_v2(db, "INSERT INTO counter (name, value) "
	    "VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = value + "
	    "?2", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "count");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, add);
	rc = step_done(c, db, st, "count");
	sqlite3_finalize(st);
	return rc;
}

static sw_err
db_counter(struct cache *c, sqlite3 *db, const char *name, int64_t *out)
{
	sqlite3_stmt *st;

	*out = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM counter WHERE name = "
	    "?1", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "read a counter");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return SW_OK;
}

static sw_err
db_days(struct cache *c, sqlite3 *db, struct cache_entry **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t cap = 0;
	sw_err rc = SW_OK;
	int r;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, "SELECT d.source, d.day, d.gen, d.size, "
	    "d.records, d.objects, d.series, d.built, coalesce(a.accessed, "
	    "d.built), s.url, s.prefix, s.type FROM day d JOIN source s ON "
	    "s.id = d.source LEFT JOIN day_access a ON a.source = d.source AND "
	    "a.day = d.day ORDER BY 9, d.day", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "list the days");
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		struct cache_entry *e;
		char idx[PATH_MAX];

		*out = xgrowarray(*out, &cap, *n + 1, sizeof(**out));
		e = &(*out)[*n];
		memset(e, 0, sizeof(*e));
		e->src = sqlite3_column_int64(st, 0);
		if (day_parse((const char *)sqlite3_column_text(st, 1), &e->d) !=
		    SW_OK)
			continue;
		e->gen = sqlite3_column_int64(st, 2);
		e->size = (uint64_t)sqlite3_column_int64(st, 3);
		e->records = (uint64_t)sqlite3_column_int64(st, 4);
		e->objects = (uint64_t)sqlite3_column_int64(st, 5);
		e->series = (uint64_t)sqlite3_column_int64(st, 6);
		e->built = sqlite3_column_double(st, 7);
		e->accessed = sqlite3_column_double(st, 8);
		snprintf(e->source, sizeof(e->source), "%s%s (%s)",
		    (const char *)sqlite3_column_text(st, 9),
		    (const char *)sqlite3_column_text(st, 10),
		    (const char *)sqlite3_column_text(st, 11));
		day_paths(c, e->src, &e->d, e->gen, e->file, idx,
		    sizeof(e->file));
		(*n)++;
	}
	if (rc == SW_OK && r != SQLITE_DONE)
		rc = db_err(c, db, "list the days");
	sqlite3_finalize(st);
	if (rc != SW_OK) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

static sw_err
db_day_drop(struct cache *c, sqlite3 *db, int64_t src, const struct day *d)
{
	static const char *const sql[] = {
		"DELETE FROM day WHERE source = ?1 AND day = ?2",
		"DELETE FROM day_object WHERE source = ?1 AND day = ?2",
		"DELETE FROM day_series WHERE source = ?1 AND day = ?2",
		"DELETE FROM day_access WHERE source = ?1 AND day = ?2",
	};
	struct cache_day cd;
	char ds[11];
	size_t i;
	int lockfd;
	sw_err rc;

	if ((rc = cache_day_trylock(c, src, d, &lockfd)) != SW_OK)
		return rc;
	day_str(d, ds);
	rc = db_day_get(c, db, src, d, &cd);
	if (rc == SW_OK)
		rc = exec(c, db, "BEGIN IMMEDIATE");
	for (i = 0; rc == SW_OK && i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st;

		if (sqlite3_prepare_v2(db, sql[i], -1, &st, NULL) !=
		    SQLITE_OK) {
			rc = db_err(c, db, "drop a day");
			break;
		}
		sqlite3_bind_int64(st, 1, src);
		sqlite3_bind_text(st, 2, ds, -1, SQLITE_STATIC);
		rc = step_done(c, db, st, "drop a day");
		sqlite3_finalize(st);
	}
	if (rc == SW_OK)
		rc = exec(c, db, "COMMIT");
	else
		exec(c, db, "ROLLBACK");
	if (rc == SW_OK && cd.exists) {
		unlink(cd.file);
		unlink(cd.index);
	}
	cache_day_unlock(lockfd);
	return rc;
}

/* ---- the public functions: each on a connection of its own ---- */

sw_err
cache_source(struct cache *c, const char *url, const char *prefix,
    const char *type, int64_t *out)
{
	ON_DB(c, db_source(c, db, url, prefix, type, out));
}

sw_err
cache_day_get(struct cache *c, int64_t src, const struct day *d,
    struct cache_day *out)
{
	ON_DB(c, db_day_get(c, db, src, d, out));
}

sw_err
cache_day_objects(struct cache *c, int64_t src, const struct day *d,
    struct cache_obj **out, size_t *n)
{
	ON_DB(c, db_day_objects(c, db, src, d, out, n));
}

sw_err
cache_day_objects_in(struct cache *c, int64_t src, const struct day *d,
    const char *lo, const char *hi, struct cache_day *cd, uint64_t *header,
    struct cache_obj **out, size_t *n)
{
	ON_DB(c, db_day_objects_in(c, db, src, d, lo, hi, cd, header, out, n));
}

static sw_err
db_find_key(struct cache *c, sqlite3 *db, int64_t src, const char *glob,
    char **out)
{
	sqlite3_stmt *st;
	sw_err rc = SW_OK;

	*out = NULL;
	if (sqlite3_prepare_v2(db, "SELECT key FROM day_object WHERE source = "
	    "?1 AND key GLOB ?2 LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "look for a key");
	sqlite3_bind_int64(st, 1, src);
	sqlite3_bind_text(st, 2, glob, -1, SQLITE_STATIC);
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		*out = xstrdup((const char *)sqlite3_column_text(st, 0));
		break;
	case SQLITE_DONE:
		break;
	default:
		rc = db_err(c, db, "look for a key");
	}
	sqlite3_finalize(st);
	return rc;
}

sw_err
cache_find_key(struct cache *c, int64_t src, const char *glob, char **out)
{
	ON_DB(c, db_find_key(c, db, src, glob, out));
}

sw_err
cache_day_bad(struct cache *c, int64_t src, const struct day *d,
    struct cache_obj **out, char ***reasons, size_t *n)
{
	ON_DB(c, db_day_bad(c, db, src, d, out, reasons, n));
}

sw_err
cache_day_series(struct cache *c, int64_t src, const struct day *d,
    char ***out, size_t *n)
{
	ON_DB(c, db_day_series(c, db, src, d, out, n));
}

sw_err
cache_day_commit(struct cache *c, int64_t src, const struct day *d,
    const struct cache_commit *cm)
{
	ON_DB(c, db_day_commit(c, db, src, d, cm));
}

sw_err
cache_series_list_get(struct cache *c, const char *endpoint, const char *type,
    double max_age, char ***out, size_t *n)
{
	ON_DB(c, db_series_list_get(c, db, endpoint, type, max_age, out, n));
}

sw_err
cache_series_list_put(struct cache *c, const char *endpoint, const char *type,
    char *const *ids, size_t n)
{
	ON_DB(c, db_series_list_put(c, db, endpoint, type, ids, n));
}

sw_err
cache_cleanup(struct cache *c)
{
	ON_DB(c, db_cleanup(c, db));
}

sw_err
cache_listing_get(struct cache *c, int64_t src, const char *path,
    double max_age, long **vals, size_t *n)
{
	ON_DB(c, db_listing_get(c, db, src, path, max_age, vals, n));
}

sw_err
cache_listing_put(struct cache *c, int64_t src, const char *path,
    const long *vals, size_t n)
{
	ON_DB_SHORT(c, db_listing_put(c, db, src, path, vals, n));
}

sw_err
cache_day_touch(struct cache *c, int64_t src, const struct day *d)
{
	ON_DB_SHORT(c, db_day_touch(c, db, src, d));
}

sw_err
cache_count(struct cache *c, const char *name, int64_t add)
{
	ON_DB_SHORT(c, db_count(c, db, name, add));
}

sw_err
cache_counter(struct cache *c, const char *name, int64_t *out)
{
	ON_DB(c, db_counter(c, db, name, out));
}

sw_err
cache_days(struct cache *c, struct cache_entry **out, size_t *n)
{
	ON_DB(c, db_days(c, db, out, n));
}

sw_err
cache_day_drop(struct cache *c, int64_t src, const struct day *d)
{
	ON_DB(c, db_day_drop(c, db, src, d));
}

/* ---- eviction: the one implementation (the mount, cache prune) ---- */

sw_err
cache_evict(struct cache *c, struct cache_evict *ev)
{
	struct cache_entry *v = NULL;
	size_t n = 0, i;
	double now = now_wall();
	char ds[11], sz[32];
	sw_err rc;

	ev->days = ev->dropped = ev->kept_busy = 0;
	ev->total = ev->freed = 0;
	if ((rc = cache_days(c, &v, &n)) != SW_OK)
		return rc;
	ev->days = n;
	for (i = 0; i < n; i++)
		ev->total += v[i].size;
	/* least recently read first */
	for (i = 0; i < n; i++) {
		int old = ev->have_age && now - v[i].accessed >= ev->older_than;
		int over = ev->have_max && ev->total > ev->max_size;

		if (!old && !over)
			continue;
		day_format(&v[i].d, ds);
		if (ev->busy != NULL && ev->busy(ev->arg, v[i].src, &v[i].d)) {
			ev->kept_busy++;
			continue;
		}
		rc = cache_day_drop(c, v[i].src, &v[i].d);
		if (rc == SW_ERR_EXISTS) {
			log_notice("%s: being built: kept", ds);
			ev->kept_busy++;
			rc = SW_OK;
			continue;
		}
		if (rc != SW_OK)
			break;
		format_size(v[i].size, sz, sizeof(sz));
		log_info("evicted %s (%s) from the cache", ds, sz);
		cache_count(c, "evictions", 1);
		ev->total -= v[i].size;
		ev->freed += v[i].size;
		ev->dropped++;
		if (ev->evicted != NULL)
			ev->evicted(ev->arg, &v[i], old);
	}
	free(v);
	return rc;
}

/* ---- builds in progress ----
 *
 * DIR/progress/S-YYYY-MM-DD holds one line, replaced (written aside and
 * renamed) at most once a second by a thread of the build, from its
 * first second on, and removed when the build ends:
 *   1 PID SRC YYYY-MM-DD PHASE DONE TOTAL BYTES STARTED UPDATED
 * A file whose process is gone is a build that died: readers skip it. */

struct cache_progress_w {
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t th;
	int stop, dirty, written, failed;
	struct cache_progress p;
};

static void
progress_path(const char *dir, int64_t src, const struct day *d,
    char *out, size_t len)
{
	char ds[11];

	day_str(d, ds);
	snprintf(out, len, "%s/progress/%lld-%s", dir, (long long)src, ds);
}

static int
progress_write(struct cache_progress_w *w, const struct cache_progress *p)
{
	char line[256], dir[PATH_MAX], ds[11], *slash;
	int fd, n;

	snprintf(dir, sizeof(dir), "%s", w->path);
	if ((slash = strrchr(dir, '/')) != NULL)
		*slash = '\0';
	if (mkdir_private(dir) != SW_OK)
		return -1;
	day_str(&p->d, ds);
	n = snprintf(line, sizeof(line), "1 %ld %lld %s %s %llu %llu %llu "
	    "%.3f %.3f\n", p->pid, (long long)p->src, ds, p->phase,
	    (unsigned long long)p->done, (unsigned long long)p->total,
	    (unsigned long long)p->bytes, p->started, p->updated);
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return -1;
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		unlink(w->tmp);
		return -1;
	}
	close(fd);
	if (rename(w->tmp, w->path) < 0) {
		unlink(w->tmp);
		return -1;
	}
	return 0;
}

/* The build's publisher: a second in, then each second something
 * changed. */
static void *
progress_thread(void *arg)
{
	struct cache_progress_w *w = arg;
	struct timespec ts;

	pthread_mutex_lock(&w->mu);
	for (;;) {
		struct cache_progress snap;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += 1;
		while (!w->stop && pthread_cond_timedwait(&w->cv, &w->mu, &ts) !=
		    ETIMEDOUT)
			;
		if (w->stop)
			break;
		if (w->written && !w->dirty)
			continue;
		w->p.updated = now_wall();
		snap = w->p;
		w->dirty = 0;
		pthread_mutex_unlock(&w->mu);
		if (progress_write(w, &snap) == 0) {
			pthread_mutex_lock(&w->mu);
			w->written = 1;
		} else {
			/* a cache we cannot write to shows no progress;
			 * the build itself says why it fails, if it does */
			pthread_mutex_lock(&w->mu);
			w->failed = 1;
			break;
		}
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

struct cache_progress_w *
cache_progress_begin(struct cache *c, int64_t src, const struct day *d)
{
	struct cache_progress_w *w = xcalloc(1, sizeof(*w));
	pthread_condattr_t ca;

	progress_path(c->dir, src, d, w->path, sizeof(w->path));
	snprintf(w->tmp, sizeof(w->tmp), "%s.%ld.tmp", w->path,
	    (long)getpid());
	w->p.src = src;
	w->p.d = *d;
	w->p.pid = (long)getpid();
	w->p.started = now_wall();
	snprintf(w->p.phase, sizeof(w->p.phase), "listing");
	pthread_mutex_init(&w->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cv, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&w->th, NULL, progress_thread, w) != 0) {
		pthread_cond_destroy(&w->cv);
		pthread_mutex_destroy(&w->mu);
		free(w);
		return NULL;
	}
	return w;
}

void
cache_progress_phase(struct cache_progress_w *w, const char *phase,
    uint64_t total)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	snprintf(w->p.phase, sizeof(w->p.phase), "%s", phase);
	w->p.done = 0;
	w->p.total = total;
	w->dirty = 1;
	pthread_mutex_unlock(&w->mu);
}

void
cache_progress_add(struct cache_progress_w *w, uint64_t n, uint64_t bytes)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->p.done += n;
	w->p.bytes += bytes;
	w->dirty = 1;
	pthread_mutex_unlock(&w->mu);
}

void
cache_progress_end(struct cache_progress_w *w)
{
	if (w == NULL)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	if (w->written)
		unlink(w->path);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->mu);
	free(w);
}

/* One progress file, if its build is alive. */
static int
progress_read(const char *path, struct cache_progress *p)
{
	char line[256], ds[16], phase[32];
	long long src;
	unsigned long long done, total, bytes;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), v;
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	memset(p, 0, sizeof(*p));
	if (sscanf(line, "%d %ld %lld %15s %31s %llu %llu %llu %lf %lf", &v,
	    &p->pid, &src, ds, phase, &done, &total, &bytes, &p->started,
	    &p->updated) != 10 || v != 1 || p->pid <= 0 ||
	    day_parse(ds, &p->d) != SW_OK)
		return -1;
	p->src = src;
	snprintf(p->phase, sizeof(p->phase), "%s", phase);
	p->done = done;
	p->total = total;
	p->bytes = bytes;
	if (kill((pid_t)p->pid, 0) < 0 && errno == ESRCH)
		return -1;
	return 0;
}

sw_err
cache_progress_get(struct cache *c, int64_t src, const struct day *d,
    struct cache_progress *out)
{
	char path[PATH_MAX];

	progress_path(c->dir, src, d, path, sizeof(path));
	if (progress_read(path, out) < 0 || out->src != src ||
	    day_cmp(&out->d, d) != 0)
		return SW_ERR_NOTFOUND;
	return SW_OK;
}

sw_err
cache_progress_list(struct cache *c, struct cache_progress **out, size_t *n)
{
	char path[PATH_MAX];
	struct dirent *de;
	size_t cap = 0;
	DIR *dir;

	*out = NULL;
	*n = 0;
	snprintf(path, sizeof(path), "%s/progress", c->dir);
	if ((dir = opendir(path)) == NULL)
		return SW_OK;
	while ((de = readdir(dir)) != NULL) {
		struct cache_progress p;

		if (de->d_name[0] == '.' || strstr(de->d_name, ".tmp") != NULL)
			continue;
		snprintf(path, sizeof(path), "%s/progress/%s", c->dir,
		    de->d_name);
		if (progress_read(path, &p) < 0)
			continue;
		*out = xgrowarray(*out, &cap, *n + 1, sizeof(**out));
		(*out)[(*n)++] = p;
	}
	closedir(dir);
	return SW_OK;
}

static sw_err
db_source_name(struct cache *c, sqlite3 *db, int64_t src, char *out,
    size_t len)
{
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(db, "SELECT url, prefix, type FROM source "
	    "WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
		return db_err(c, db, "find a source");
	sqlite3_bind_int64(st, 1, src);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(out, len, "%s%s (%s)",
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
	else
		snprintf(out, len, "source %lld", (long long)src);
	sqlite3_finalize(st);
	return SW_OK;
}

sw_err
cache_source_name(struct cache *c, int64_t src, char *out, size_t len)
{
	ON_DB(c, db_source_name(c, db, src, out, len));
}

/* n with thousands separators. */
static void
group3(uint64_t n, char *out, size_t len)
{
	char digits[32];
	size_t nd, i, k = 0;

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
	nd = strlen(digits);
	for (i = 0; i < nd && k + 2 < len; i++) {
		if (i > 0 && (nd - i) % 3 == 0)
			out[k++] = ',';
		out[k++] = digits[i];
	}
	out[k] = '\0';
}

void
cache_progress_format(const struct cache_progress *p, char *out, size_t len)
{
	char done[32], total[32], sz[32];

	group3(p->done, done, sizeof(done));
	group3(p->total, total, sizeof(total));
	format_size(p->bytes, sz, sizeof(sz));
	if (strcmp(p->phase, "fetching") == 0)
		snprintf(out, len, "building %s/%s objects (fetching, %s)", done,
		    total, sz);
	else if (strcmp(p->phase, "merging") == 0)
		snprintf(out, len, "building %s/%s objects (merging)", done,
		    total);
	else
		snprintf(out, len, "building (%s)", p->phase);
}

/* ---- the series catalogue's parts ---- */

static char *
column_dup(sqlite3_stmt *st, int i)
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t != NULL ? xstrdup(t) : NULL;
}

static sw_err
db_catalog_rows(struct cache *c, sqlite3 *db, int64_t part,
    struct catalog *cat)
{
	struct catalog_row *r;
	sqlite3_stmt *st;
	int step;

	if (sqlite3_prepare_v2(db, "SELECT series, asset_id, asset_name, "
	    "property_id, property_name, alias, unit, data_type, bucket, "
	    "associated FROM catalog_row WHERE part = ?1", -1, &st, NULL) !=
	    SQLITE_OK)
		return db_err(c, db, "read the series catalogue");
	sqlite3_bind_int64(st, 1, part);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_text(st, 0) == NULL)
			continue;
		cat->rows = xgrowarray(cat->rows, &cat->cap, cat->n + 1,
		    sizeof(*cat->rows));
		r = &cat->rows[cat->n++];
		memset(r, 0, sizeof(*r));
		r->series_id = column_dup(st, 0);
		r->asset_id = column_dup(st, 1);
		r->asset_name = column_dup(st, 2);
		r->property_id = column_dup(st, 3);
		r->property_name = column_dup(st, 4);
		r->alias = column_dup(st, 5);
		r->unit = column_dup(st, 6);
		r->data_type = column_dup(st, 7);
		r->bucket = column_dup(st, 8);
		r->associated = sqlite3_column_int(st, 9) != 0;
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return db_err(c, db, "read the series catalogue");
	return SW_OK;
}

static sw_err
db_catalog_get(struct cache *c, sqlite3 *db, const char *name,
    double max_age, struct catalog *cat)
{
	sqlite3_stmt *st;
	double fetched = 0, now = now_wall();
	int64_t part = -1, objects = 0;
	sw_err rc;

	/* one snapshot: a put in another process replaces the rows */
	if ((rc = exec(c, db, "BEGIN")) != SW_OK)
		return rc;
	if (sqlite3_prepare_v2(db, "SELECT id, fetched, objects FROM "
	    "catalog_part WHERE name = ?1", -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, db, "read the series catalogue");
		goto out;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		part = sqlite3_column_int64(st, 0);
		fetched = sqlite3_column_double(st, 1);
		objects = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	/* a time ahead of the clock (set back since) is not trusted */
	if (part < 0 || fetched < now - max_age || fetched > now + 60) {
		rc = SW_ERR_NOTFOUND;
		goto out;
	}
	rc = db_catalog_rows(c, db, part, cat);
out:
	exec(c, db, rc == SW_OK || rc == SW_ERR_NOTFOUND ? "COMMIT" :
	    "ROLLBACK");
	if (rc != SW_OK)
		return rc;
	cat->fetched = fetched;
	cat->objects = (unsigned long)objects;
	catalog_finish(cat);
	return SW_OK;
}

static sw_err
db_catalog_put(struct cache *c, sqlite3 *db, const char *name,
    const struct catalog *cat)
{
	const struct catalog_row *r;
	sqlite3_stmt *st = NULL;
	int64_t part = -1;
	size_t i;
	int k;
	sw_err rc;

	if ((rc = exec(c, db, "BEGIN IMMEDIATE")) != SW_OK)
		return rc;
	if (sqlite3_prepare_v2(db, "INSERT INTO catalog_part (name, fetched, "
	    "objects) VALUES (?1, ?2, ?3) ON CONFLICT (name) DO UPDATE SET "
	    "fetched = excluded.fetched, objects = excluded.objects "
	    "RETURNING id", -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, db, "store the series catalogue");
		goto fail;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 2, cat->fetched);
	sqlite3_bind_int64(st, 3, (int64_t)cat->objects);
	if (sqlite3_step(st) == SQLITE_ROW)
		part = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (part < 0) {
		rc = db_err(c, db, "store the series catalogue");
		goto fail;
	}
	if (sqlite3_prepare_v2(db, "DELETE FROM catalog_row WHERE part = ?1",
	    -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, db, "store the series catalogue");
		goto fail;
	}
	sqlite3_bind_int64(st, 1, part);
	rc = step_done(c, db, st, "store the series catalogue");
	sqlite3_finalize(st);
	if (rc != SW_OK)
		goto fail;
	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO catalog_row (part, "
	    "series, asset_id, asset_name, property_id, property_name, alias, "
	    "unit, data_type, bucket, associated) VALUES (?1, ?2, ?3, ?4, ?5, "
	    "?6, ?7, ?8, ?9, ?10, ?11)", -1, &st, NULL) != SQLITE_OK) {
		rc = db_err(c, db, "store the series catalogue");
		goto fail;
	}
	for (i = 0; i < cat->n && rc == SW_OK; i++) {
		const char *v[9];

		r = &cat->rows[i];
		v[0] = r->series_id;
		v[1] = r->asset_id;
		v[2] = r->asset_name;
		v[3] = r->property_id;
		v[4] = r->property_name;
		v[5] = r->alias;
		v[6] = r->unit;
		v[7] = r->data_type;
		v[8] = r->bucket;
		sqlite3_bind_int64(st, 1, part);
		for (k = 0; k < 9; k++) {
			if (v[k] != NULL)
				sqlite3_bind_text(st, k + 2, v[k], -1,
				    SQLITE_STATIC);
			else
				sqlite3_bind_null(st, k + 2);
		}
		sqlite3_bind_int(st, 11, r->associated);
		rc = step_done(c, db, st, "store the series catalogue");
	}
	sqlite3_finalize(st);
	if (rc != SW_OK)
		goto fail;
	return exec(c, db, "COMMIT");
fail:
	exec(c, db, "ROLLBACK");
	return rc;
}

sw_err
cache_catalog_get(struct cache *c, const char *name, double max_age,
    struct catalog *cat)
{
	ON_DB(c, db_catalog_get(c, db, name, max_age, cat));
}

sw_err
cache_catalog_put(struct cache *c, const char *name,
    const struct catalog *cat)
{
	ON_DB(c, db_catalog_put(c, db, name, cat));
}
