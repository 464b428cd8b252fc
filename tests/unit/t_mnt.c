/*
 * t_mnt.c - the mount model (fuse/mnt.h) without FUSE: path resolution,
 * single flight of a day's build under many threads, the page cache
 * policy, extended attributes, and eviction through the engine, over a
 * file:// cold tier made by the generator (core/gen.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "core/gen.h"
#include "fuse/mnt.h"
#include "tap.h"
#include "testlib.h"

#define NTHREADS 8

static char tmpdir[256];

static int
count_fill(void *arg, const char *name, const struct stat *st)
{
	(void)name;
	(void)st;
	(*(int *)arg)++;
	return 0;
}

static const char *
xattr(struct mnt *m, const char *path, const char *name, char *buf,
    size_t len)
{
	ssize_t n = mnt_getxattr(m, path, name, buf, len - 1);

	if (n < 0)
		return "";
	buf[n] = '\0';
	return buf;
}

/* ---- single flight ---- */

struct racer {
	struct mnt *m;
	pthread_barrier_t *go;
	int r;
	char head[4];
};

static void *
race_open(void *arg)
{
	struct racer *rc = arg;
	struct mnt_file *f;
	enum mnt_cache mode;

	pthread_barrier_wait(rc->go);
	rc->r = mnt_open(rc->m, "/2022/01/01.avro", O_RDONLY, &f, &mode);
	if (rc->r == 0) {
		if (mnt_read(f, rc->head, 4, 0) != 4)
			rc->r = -EIO;
		mnt_release(rc->m, f);
	}
	return NULL;
}

/* Lines of file path that hold what. */
static int
count_lines(const char *path, const char *what)
{
	char line[4096];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, what) != NULL;
	fclose(f);
	return n;
}

static void
test_single_flight(struct mnt *m)
{
	pthread_t th[NTHREADS];
	struct racer rc[NTHREADS];
	pthread_barrier_t go;
	char logpath[512], buf[64];
	int i, saved, fd, all_ok = 1, same = 1;

	/* the mount's log lines, to count the builds */
	snprintf(logpath, sizeof(logpath), "%s/race.log", tmpdir);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, STDERR_FILENO);
	close(fd);
	log_set_level(LOG_LVL_INFO);

	pthread_barrier_init(&go, NULL, NTHREADS);
	for (i = 0; i < NTHREADS; i++) {
		memset(&rc[i], 0, sizeof(rc[i]));
		rc[i].m = m;
		rc[i].go = &go;
		pthread_create(&th[i], NULL, race_open, &rc[i]);
	}
	for (i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], NULL);
		all_ok &= rc[i].r == 0;
		same &= memcmp(rc[i].head, "Obj\x01", 4) == 0;
	}
	pthread_barrier_destroy(&go);

	fflush(stderr);
	log_set_level(LOG_LVL_WARN);
	dup2(saved, STDERR_FILENO);
	close(saved);
	ok(all_ok, "%d threads open an unbuilt day at once: all succeed",
	    NTHREADS);
	ok(same, "and all read an Avro container");
	ok(count_lines(logpath, "materializing the day") == 1 &&
	    count_lines(logpath, "listing the day again") == 0,
	    "the day is built once for all of them (single flight)");
	if (count_lines(logpath, "materializing the day") != 1)
		diag("%d builds", count_lines(logpath, "materializing"));
	ok(strcmp(xattr(m, "/2022/01/01.avro", "user.swrepart.generation",
	    buf, sizeof(buf)), "1") == 0, "one generation (generation %s)",
	    buf);
}

/* ---- paths ---- */

static void
test_paths(struct mnt *m)
{
	static const struct { const char *path; int r; mode_t type; } p[] = {
		{ "/", 0, S_IFDIR },
		{ "/2022", 0, S_IFDIR },
		{ "/2022/01", 0, S_IFDIR },
		{ "/2022/01/01.avro", 0, S_IFREG },
		{ "/2022/01/03.timeseries.txt", 0, S_IFREG },
		{ "/2021", -ENOENT, 0 },
		{ "/2022/02", -ENOENT, 0 },
		{ "/2022/13", -ENOENT, 0 },
		{ "/2022/1", -ENOENT, 0 },
		{ "/2022/01/04.avro", -ENOENT, 0 },
		{ "/2022/01/1.avro", -ENOENT, 0 },
		{ "/2022/01/01.txt", -ENOENT, 0 },
		{ "/2022/01/01.avro/x", -ENOENT, 0 },
		{ "/raw", -ENOENT, 0 },
		{ "//", -ENOENT, 0 },
	};
	struct mnt_file *f;
	enum mnt_cache mode;
	struct stat st;
	size_t i;
	int n = 0, r;

	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		r = mnt_getattr(m, p[i].path, &st);
		ok(r == p[i].r && (r != 0 || (st.st_mode & S_IFMT) ==
		    p[i].type), "getattr '%s': %d", p[i].path, r);
	}
	ok(mnt_getattr(m, "/2022/01/02.avro", &st) == 0 && st.st_size == 0 &&
	    (st.st_mode & 0777) == 0444, "an unbuilt day: size 0, read-only");
	r = mnt_readdir(m, "/2022/01", count_fill, &n);
	ok(r == 0 && n == 2 + 3 * 2, "readdir of the month: . .. and two "
	    "files a day (%d)", n);
	n = 0;
	r = mnt_readdir(m, "/", count_fill, &n);
	ok(r == 0 && n == 8, "readdir of the root: . .., one year, aliases/, "
	    "assets/, series/, series.csv and series.ndjson (%d)", n);
	ok(mnt_readdir(m, "/2022/01/01.avro", count_fill, &n) == -ENOTDIR,
	    "readdir of a day: ENOTDIR");
	ok(mnt_open(m, "/2022/01", O_RDONLY, &f, &mode) == -EISDIR,
	    "open of a directory: EISDIR");
	ok(mnt_open(m, "/2022/01/01.avro", O_WRONLY, &f, &mode) == -EROFS,
	    "open for writing: EROFS");
	ok(mnt_open(m, "/2022/01/09.avro", O_RDONLY, &f, &mode) == -ENOENT,
	    "open of a day the cold tier lacks: ENOENT");
}

/* ---- page cache, reads, attributes ---- */

static void
test_open(struct mnt *m)
{
	struct mnt_file *f, *g;
	enum mnt_cache mode;
	struct stat st;
	char buf[64], *data;
	ssize_t n;
	int r;

	ok(strcmp(xattr(m, "/2022/01/02.avro", "user.swrepart.state", buf,
	    sizeof(buf)), "cold") == 0, "an unbuilt day's state: cold");
	r = mnt_open(m, "/2022/01/02.avro", O_RDONLY, &f, &mode);
	ok(r == 0 && mode == MNT_DIRECT_BUILT, "the open that builds a day "
	    "reads in direct I/O mode (its size changed)");
	if (r != 0)
		return;
	r = mnt_getattr(m, "/2022/01/02.avro", &st);
	ok(r == 0 && st.st_size > 0, "the built day's size is exact (%lld)",
	    (long long)st.st_size);
	data = xcalloc(1, (size_t)st.st_size + 1);
	n = mnt_read(f, data, (size_t)st.st_size + 1, 0);
	ok(n == st.st_size && memcmp(data, "Obj\x01", 4) == 0,
	    "a read returns the whole day (%zd bytes)", n);
	free(data);
	r = mnt_open(m, "/2022/01/02.avro", O_RDONLY, &g, &mode);
	ok(r == 0 && mode == MNT_CACHE_KEEP, "a settled day opened again, same "
	    "generation: the kernel keeps its pages");
	if (r == 0) {
		struct stat fs;
		const char *md5;
		int fd = mnt_file_fd(g, &md5);

		ok(fd >= 0 && fstat(fd, &fs) == 0 && fs.st_size == st.st_size &&
		    md5 != NULL && strlen(md5) == 32, "a day's bytes are the "
		    "whole of one file, of a known MD5 (passthrough)");
		mnt_release(m, g);
	}
	r = mnt_open(m, "/2022/01/02.timeseries.txt", O_RDONLY, &g, &mode);
	ok(r == 0 && mnt_read(g, buf, 8, 0) > 0, "its series index opens "
	    "from the same build");
	if (r == 0) {
		const char *md5;

		ok(mnt_file_fd(g, &md5) >= 0, "and is the whole of one file "
		    "too");
		mnt_release(m, g);
	}
	mnt_release(m, f);
	ok(strcmp(xattr(m, "/2022/01/02.avro", "user.swrepart.state", buf,
	    sizeof(buf)), "cached") == 0, "then its state: cached");
	ok(atoi(xattr(m, "/2022/01/02.avro", "user.swrepart.records", buf,
	    sizeof(buf))) > 0, "and its records (%s)", buf);
	ok(mnt_listxattr(m, "/2022/01/02.avro", NULL, 0) > 0 &&
	    mnt_listxattr(m, "/2022", NULL, 0) == 0, "listxattr: days have "
	    "attributes, directories none");
}

/* ---- eviction ---- */

static const char *
state(struct mnt *m, const char *path)
{
	static char buf[64];

	return xattr(m, path, "user.swrepart.state", buf, sizeof(buf));
}

static void
test_evict(struct mnt *m, struct sw_config *cfg)
{
	struct mnt_file *f, *g;
	enum mnt_cache mode;
	struct stat st;
	int r;

	/* days 01 and 02 are cached, read in that order; room for one day
	 * and a half */
	if (mnt_getattr(m, "/2022/01/01.avro", &st) != 0 || st.st_size == 0) {
		ok(0, "day 01 is cached before the eviction test");
		return;
	}
	cfg->cache_max_size = (uint64_t)st.st_size * 3 / 2;
	r = mnt_open(m, "/2022/01/03.avro", O_RDONLY, &f, &mode);
	ok(r == 0, "building a third day over cache.max_size");
	ok(strcmp(state(m, "/2022/01/01.avro"), "cold") == 0 &&
	    strcmp(state(m, "/2022/01/02.avro"), "cold") == 0 &&
	    strcmp(state(m, "/2022/01/03.avro"), "cached") == 0,
	    "evicts the least recently read days until the cache fits, never "
	    "the day being opened");
	/* day 03 stays open: reading day 01 again must not evict it */
	r = mnt_open(m, "/2022/01/01.avro", O_RDONLY, &g, &mode);
	ok(r == 0, "an evicted day opens again (rebuilt)");
	ok(strcmp(state(m, "/2022/01/03.avro"), "cached") == 0 &&
	    strcmp(state(m, "/2022/01/01.avro"), "cached") == 0,
	    "a day held open is not evicted, over the bound or not");
	if (r == 0)
		mnt_release(m, g);
	if (f != NULL)
		mnt_release(m, f);
	cfg->cache_max_size = 0;
}

/* ---- the layering: fuse/ reaches core/ only through engine.h ---- */

static void
test_layering(void)
{
	static const char *const files[] = {
		"src/fuse/fs.c", "src/fuse/fs.h", "src/fuse/mnt.c",
		"src/fuse/mnt.h", NULL
	};
	const char *top = getenv("top_srcdir");
	char path[1024], line[1024];
	int i, bad = 0, read = 0;

	if (top == NULL)
		top = ".";
	for (i = 0; files[i] != NULL; i++) {
		FILE *f;
		int ln = 0;

		snprintf(path, sizeof(path), "%s/%s", top, files[i]);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		read++;
		while (fgets(line, sizeof(line), f) != NULL) {
			const char *p = line;

			ln++;
			if (strncmp(line, "#include \"core/", 15) == 0 &&
			    strncmp(line, "#include \"core/engine.h\"", 24) != 0) {
				diag("%s:%d: %s", files[i], ln, line);
				bad++;
			}
			/* a call of the cache's API: cache_xxx( */
			while ((p = strstr(p, "cache_")) != NULL) {
				const char *q = p + 6;

				while ((*q >= 'a' && *q <= 'z') || *q == '_')
					q++;
				if (*q == '(' && (p == line || !((p[-1] >= 'a' &&
				    p[-1] <= 'z') || p[-1] == '_'))) {
					diag("%s:%d: %s", files[i], ln, line);
					bad++;
				}
				p = q;
			}
		}
		fclose(f);
	}
	if (read == 0) {
		tap_n++;
		printf("ok %d - # SKIP the sources are not at '%s'\n", tap_n,
		    top);
		return;
	}
	ok(bad == 0, "src/fuse includes from core/ only engine.h and calls no "
	    "cache_ function");
}

/* ---- one series' days ---- */

/* Read a whole open file through mnt_read (in odd-sized chunks) and
 * through its pieces; both must agree. */
static char *
read_all(struct mnt_file *f, size_t size, size_t chunk, int *same)
{
	char *a = xcalloc(1, size + 1), *b = xcalloc(1, size + 1);
	struct mnt_piece pc[64];
	size_t off = 0, n, i, k = 0;
	ssize_t r;

	while (off < size && (r = mnt_read(f, a + off, chunk, (off_t)off)) > 0)
		off += (size_t)r;
	*same = off == size && mnt_read(f, b, 16, (off_t)size) == 0;
	n = mnt_pieces(f, 0, size, pc, 64);
	for (i = 0; i < n && i < 64; i++) {
		if (pread(pc[i].fd, b + k, pc[i].len, pc[i].pos) !=
		    (ssize_t)pc[i].len)
			*same = 0;
		k += pc[i].len;
	}
	*same = *same && n <= 64 && k == size && memcmp(a, b, size) == 0;
	free(b);
	return a;
}

static void
test_series(struct mnt *m)
{
	struct mnt_file *f, *w;
	enum mnt_cache mode;
	struct stat st, ws;
	char series[96], path[256], buf[64], *own, *cut, *whole;
	int r, same;
	size_t size;

	/* a series of 2022-01-02, from the day's timeseries.txt */
	series[0] = '\0';
	r = mnt_open(m, "/2022/01/02.timeseries.txt", O_RDONLY, &f, &mode);
	if (r == 0) {
		char ids[4096];
		ssize_t n = mnt_read(f, ids, sizeof(ids) - 1, 0);

		ids[n > 0 ? n : 0] = '\0';
		sscanf(ids, "%95s", series);
		mnt_release(m, f);
	}
	ok(series[0] != '\0', "a series of the day (%s)", series);
	ok(mnt_getattr(m, "/series", &st) == 0 && S_ISDIR(st.st_mode),
	    "/series is a directory");
	snprintf(path, sizeof(path), "/series/%s", series);
	ok(mnt_getattr(m, path, &st) == 0 && S_ISDIR(st.st_mode),
	    "/series/ID is a directory");
	ok(mnt_getattr(m, "/series/not-an-id", &st) == -ENOENT &&
	    mnt_getattr(m, "/series/0a000000-0000-4000-8000-00000000000g", &st)
	    == -ENOENT, "a malformed id: ENOENT");

	/* its own entry first (test_evict left the whole day 02 evicted) */
	snprintf(path, sizeof(path), "/series/%s/2022/01/02.avro", series);
	r = mnt_open(m, path, O_RDONLY, &f, &mode);
	ok(r == 0, "open of the series' day: %d", r);
	if (r != 0)
		return;
	ok(mnt_getattr(m, path, &st) == 0 && st.st_size > 0,
	    "its size once built (%lld)", (long long)st.st_size);
	size = (size_t)st.st_size;
	own = read_all(f, size, 1000, &same);
	ok(same && memcmp(own, "Obj\x01", 4) == 0, "read in chunks, it is "
	    "its pieces' bytes, an Avro file");
	mnt_release(m, f);

	/* then the whole day, and the series' day cut from it */
	r = mnt_open(m, "/2022/01/02.avro", O_RDONLY, &w, &mode);
	ok(r == 0 && mnt_getattr(m, "/2022/01/02.avro", &ws) == 0,
	    "the whole day built");
	if (r != 0) {
		free(own);
		return;
	}
	whole = read_all(w, (size_t)ws.st_size, 65536, &same);
	r = mnt_open(m, path, O_RDONLY, &f, &mode);
	ok(r == 0 && mnt_pieces(f, 0, size, NULL, 0) > 1,
	    "the series' day is now pieces of the whole day (%zu)",
	    r == 0 ? mnt_pieces(f, 0, size, NULL, 0) : 0);
	if (r == 0) {
		const char *md5;

		ok(mnt_file_fd(f, &md5) == -1, "pieces are no one file: no "
		    "passthrough");
		cut = read_all(f, size, 333, &same);
		ok(same && memcmp(cut, own, size) == 0, "the same bytes as its "
		    "own entry, read in chunks across the pieces");
		ok(memmem(whole, (size_t)ws.st_size, own + size - 64, 64) !=
		    NULL, "its last bytes are bytes of the whole day");
		free(cut);
		mnt_release(m, f);
	}
	mnt_release(m, w);
	free(whole);
	free(own);
	ok(mnt_open(m, "/series/0a000000-0000-4000-8000-000000000001/2022/01/"
	    "03.avro", O_RDONLY, &f, &mode) == -ENOENT, "a series the day "
	    "lacks: ENOENT");
	ok(mnt_open(m, path, O_WRONLY, &f, &mode) == -EROFS, "writes: EROFS");
	ok(strcmp(state(m, path), "cached") == 0 && atoi(xattr(m, path,
	    "user.swrepart.records", buf, sizeof(buf))) > 0 &&
	    mnt_getxattr(m, path, "user.swrepart.objects", buf, sizeof(buf)) ==
	    -ENODATA, "a series' day's attributes: state, records (%s), no "
	    "objects", buf);
}

int
main(void)
{
	struct gen_params gp;
	struct sw_config cfg;
	struct mnt *m = NULL;
	char cold[512], cache[512];
	sw_err rc;

	snprintf(tmpdir, sizeof(tmpdir), "%s", test_tmpdir("t_mnt"));
	log_set_level(LOG_LVL_WARN);
	snprintf(cold, sizeof(cold), "%s/cold", tmpdir);
	snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
	mkdir(cold, 0700);
	gen_params_init(&gp);
	gp.start_date = "2022-01-01";
	gp.days = 3;
	gp.series = 40;
	gp.records_per_file = 50;
	rc = gen_run(&gp, test_write_under, cold, NULL);
	ok(rc == SW_OK, "a file:// cold tier of 3 days");
	if (rc != SW_OK)
		diag("%s", sw_errmsg());

	test_config(&cfg, cold, cache);
	free(cfg.cold_prefix);
	cfg.cold_prefix = xstrdup("raw/");
	cfg.mount_exact_size = 0;
	cfg.cache_max_size = 0;

	rc = mnt_new(&cfg, &m);
	ok(rc == SW_OK, "mnt_new over it");
	if (rc != SW_OK) {
		diag("%s", sw_errmsg());
		test_tmpdir_remove();
		return done_testing();
	}
	ok(mnt_check(m) == SW_OK, "mnt_check lists the years");
	test_paths(m);
	test_single_flight(m);
	test_open(m);
	test_evict(m, &cfg);
	test_series(m);
	test_layering();
	mnt_free(m);
	config_release(&cfg);
	test_tmpdir_remove();
	return done_testing();
}
