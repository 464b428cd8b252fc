/* t_store_file.c - the file:// store: S3 listing semantics, objects,
 * keys that try to escape the directory, and conditional puts (If-Match,
 * If-None-Match) that hold between threads and between processes. */
#include "config.h"

#include <openssl/evp.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/options.h"
#include "base/pool.h"
#include "store/store.h"
#include "tap.h"
#include "testlib.h"
#include "base/util.h"

struct listing {
	struct buf out;
};

static sw_err
collect(void *arg, const struct store_entry *e)
{
	struct listing *l = arg;

	buf_printf(&l->out, "%s%s ", e->is_prefix ? "P:" : "", e->key);
	return SW_OK;
}

static const char *
list(struct store *st, const char *prefix, const char *delim,
    const char *after)
{
	static struct listing l;

	buf_release(&l.out);
	buf_puts(&l.out, "");
	if (store_list(st, prefix, delim, after, collect, &l) != SW_OK)
		return sw_errmsg();
	return l.out.data;
}

/* The content of key, as a string ("" when it cannot be read). */
static const char *
content(struct store *st, const char *key)
{
	static struct buf b;

	b.len = 0;
	buf_puts(&b, "");
	if (store_get(st, key, 0, 0, buf_sink, &b, NULL) != SW_OK)
		return "";
	buf_putc(&b, '\0');
	return b.data;
}

/*
 * Race n writers in n processes (each with a store of its own) to put key
 * under the same condition, started together; returns how many succeeded
 * and sets *lost to how many were refused with SW_ERR_EXISTS (others:
 * neither).  The winner's content is "writer N".
 */
static int
race_processes(const char *url, const char *key,
    const struct store_put_opts *o, int n, int *lost)
{
	int go[2], i, won = 0, status;
	pid_t pids[16];
	char c = 'x';

	*lost = 0;
	if (pipe(go) != 0)
		abort();
	for (i = 0; i < n; i++) {
		if ((pids[i] = fork()) == 0) {
			struct store *s;
			char body[32];
			sw_err rc;

			close(go[1]);
			if (store_open(url, NULL, &s) != SW_OK)
				_exit(3);
			snprintf(body, sizeof(body), "writer %d", i);
			if (read(go[0], &c, 1) != 0)  /* EOF: all go */
				_exit(3);
			rc = store_put_mem(s, key, body, strlen(body), o, NULL);
			store_free(s);
			_exit(rc == SW_OK ? 0 : rc == SW_ERR_EXISTS ? 1 : 2);
		}
	}
	close(go[0]);
	close(go[1]);
	for (i = 0; i < n; i++) {
		if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status))
			continue;
		if (WEXITSTATUS(status) == 0)
			won++;
		else if (WEXITSTATUS(status) == 1)
			(*lost)++;
	}
	return won;
}

struct thread_put {
	struct store *st;
	const char *key;
	const struct store_put_opts *o;
	char body[32];
	sw_err rc;
};

static sw_err
thread_put(void *arg)
{
	struct thread_put *t = arg;

	t->rc = store_put_mem(t->st, t->key, t->body, strlen(t->body), t->o,
	    NULL);
	return SW_OK;
}

static void
conditional_puts(struct store *st, const char *url, const char *dir)
{
	struct store_put_opts create = { 0 }, replace = { 0 };
	struct store_info i1, i2, i3;
	char etag[80], path[400];
	int won, lost, k, round, fd;
	sw_err rc;

	create.if_none_match = 1;
	ok(store_put_mem(st, "cond/m", "one", 3, &create, &i1) == SW_OK,
	    "If-None-Match: a new key is created");
	rc = store_put_mem(st, "cond/m", "two", 3, &create, NULL);
	ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "cond/m") &&
	    strstr(sw_errmsg(), "another writer"),
	    "If-None-Match on an existing key: %s", sw_errmsg());
	is_str(content(st, "cond/m"), "one", "and the object is unchanged");

	ok(store_head(st, "cond/m", &i2) == SW_OK &&
	    strcmp(i1.etag, i2.etag) == 0,
	    "the ETag a put reports is the one HEAD reports");
	snprintf(etag, sizeof(etag), "%s", i2.etag);
	replace.if_match = etag;
	ok(store_put_mem(st, "cond/m", "two", 3, &replace, &i3) == SW_OK,
	    "If-Match with the current ETag replaces");
	is_str(content(st, "cond/m"), "two", "with the new content");
	ok(strcmp(i3.etag, etag) != 0, "and a new ETag (%s, was %s), though "
	    "of the same size and written at once", i3.etag, etag);
	rc = store_put_mem(st, "cond/m", "six", 3, &replace, NULL);
	ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "cond/m") &&
	    strstr(sw_errmsg(), "was changed by another writer"),
	    "If-Match with a stale ETag: %s", sw_errmsg());
	is_str(content(st, "cond/m"), "two", "and the object is unchanged");
	replace.if_match = i3.etag;
	snprintf(path, sizeof(path), "%s/cond-src", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(fd >= 0 && write(fd, "fd body", 7) == 7, "a source file");
	ok(store_put_fd(st, "cond/m", fd, 7, &replace, NULL) == SW_OK &&
	    strcmp(content(st, "cond/m"), "fd body") == 0,
	    "put_fd honours If-Match too");
	ok(store_put_fd(st, "cond/m", fd, 7, &replace, NULL) == SW_ERR_EXISTS,
	    "and refuses a stale one");
	ok(store_put_fd(st, "cond/m", fd, 7, &create, NULL) == SW_ERR_EXISTS,
	    "and If-None-Match");
	close(fd);

	/* The caller's MD5 of the body is checked as it is copied. */
	{
		unsigned char md[16];
		struct store_put_opts given = { .md5 = md };
		struct store_info gi;

		EVP_Digest("fd body", 7, md, NULL, EVP_md5(), NULL);
		fd = open(path, O_RDONLY);
		ok(store_put_fd(st, "cond/md5", fd, 7, &given, &gi) == SW_OK &&
		    strcmp(content(st, "cond/md5"), "fd body") == 0,
		    "a put with the body's MD5 given is stored");
		md[5] ^= 1;
		rc = store_put_fd(st, "cond/md5", fd, 7, &given, NULL);
		ok(rc == SW_ERR_DATA && strstr(sw_errmsg(), "cond/md5") &&
		    strstr(sw_errmsg(), "changed meanwhile"), "one whose bytes "
		    "are not that MD5 is refused: %s", sw_errmsg());
		ok(store_head(st, "cond/md5", &i1) == SW_OK &&
		    strcmp(i1.etag, gi.etag) == 0, "and the object is "
		    "unchanged");
		close(fd);
		ok(store_delete(st, "cond/md5") == SW_OK, "deleted");
	}
	unlink(path);

	ok(store_delete(st, "cond/m") == SW_OK, "delete it");
	rc = store_put_mem(st, "cond/m", "x", 1, &replace, NULL);
	ok(rc == SW_ERR_EXISTS && strstr(sw_errmsg(), "deleted"),
	    "If-Match on a deleted key: %s", sw_errmsg());
	ok(store_head(st, "cond/m", &i1) == SW_ERR_NOTFOUND,
	    "and nothing is created");
	replace.if_match = "\"0-0\"";
	ok(store_put_mem(st, "cond/none", "x", 1, &replace, NULL) ==
	    SW_ERR_EXISTS, "If-Match on a key that never was");
	is_str(list(st, "cond/", NULL, NULL), "",
	    "no temporary file is left or listed");

	/* Unconditional puts of the same size at once get distinct ETags. */
	store_put_mem(st, "cond/same", "aaaa", 4, NULL, &i1);
	store_put_mem(st, "cond/same", "bbbb", 4, NULL, &i2);
	store_put_mem(st, "cond/same", "cccc", 4, NULL, &i3);
	ok(strcmp(i1.etag, i2.etag) != 0 && strcmp(i2.etag, i3.etag) != 0,
	    "three quick puts of 4 bytes: three ETags (%s %s %s)", i1.etag,
	    i2.etag, i3.etag);

	/* A key's mtimes only go forward (so its ETags never repeat), even
	 * when the clock has not moved on: here the file to replace is
	 * dated in the future. */
	{
		struct timespec ts[2] = { { 0, UTIME_OMIT },
			{ time(NULL) + 3600, 5 } };
		struct stat sb;

		snprintf(path, sizeof(path), "%s/cond/same", dir);
		ok(utimensat(AT_FDCWD, path, ts, 0) == 0, "date cond/same an "
		    "hour ahead");
		store_put_mem(st, "cond/same", "dddd", 4, NULL, &i1);
		ok(stat(path, &sb) == 0 && sb.st_mtim.tv_sec == ts[1].tv_sec &&
		    sb.st_mtim.tv_nsec == 6, "a put over it is dated a "
		    "nanosecond later (%lld.%09ld)", (long long)sb.st_mtim.tv_sec,
		    sb.st_mtim.tv_nsec);
	}

	/* Threads of one process, one store: one winner per round. */
	{
		struct pool *pool;
		struct batch b;
		struct thread_put t[8];
		int i;

		ok(pool_new(8, &pool) == SW_OK, "8 threads");
		for (round = 0, k = 0; round < 10; round++) {
			store_head(st, "cond/same", &i1);
			replace.if_match = i1.etag;
			batch_init(&b, pool, 0);
			for (i = 0; i < 8; i++) {
				t[i].st = st;
				t[i].key = "cond/same";
				t[i].o = &replace;
				snprintf(t[i].body, sizeof(t[i].body), "thread %d",
				    i);
				batch_submit(&b, thread_put, &t[i]);
			}
			batch_wait(&b);
			batch_release(&b);
			won = lost = 0;
			for (i = 0; i < 8; i++) {
				won += t[i].rc == SW_OK;
				lost += t[i].rc == SW_ERR_EXISTS;
			}
			k += won == 1 && lost == 7;
		}
		is_int(k, 10, "8 threads with the same If-Match, 10 rounds: "
		    "one wins each round, 7 are refused");
		pool_free(pool);
	}

	/* Processes, each with its own store: one winner per round. */
	for (round = 0, k = 0; round < 10; round++) {
		store_head(st, "cond/same", &i1);
		replace.if_match = i1.etag;
		won = race_processes(url, "cond/same", &replace, 8, &lost);
		k += won == 1 && lost == 7;
		if (won != 1)
			diag("round %d: %d won, %d refused", round, won, lost);
	}
	is_int(k, 10, "8 processes with the same If-Match, 10 rounds: one "
	    "wins each round, 7 are refused");
	ok(strncmp(content(st, "cond/same"), "writer ", 7) == 0,
	    "the object holds one writer's whole content ('%s')",
	    content(st, "cond/same"));
	won = race_processes(url, "cond/new", &create, 8, &lost);
	ok(won == 1 && lost == 7, "8 processes creating one key with "
	    "If-None-Match: %d won, %d refused", won, lost);
	store_delete(st, "cond/same");
	store_delete(st, "cond/new");
}

int
main(void)
{
	const char *dir;
	char url[600], path[600];
	struct sw_config cfg;
	struct store *st;
	struct store_info info;
	struct buf got;
	static const char *keys[] = {
		"a/b/c.txt", "a/b-c.txt", "a/b/d.txt", "a-z.txt", "b.txt",
		"raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/x",
		"raw/startYear=2022/startMonth=10/startDay=1/seriesBucket=0c/y",
		"sp ace/&amp;?=+.txt", NULL
	};
	int i, fd;

	dir = test_tmpdir("t_store_file");
	config_defaults(&cfg);
	snprintf(url, sizeof(url), "file://%s", dir);
	ok(store_open(url, &cfg, &st) == SW_OK, "open %s", url);
	for (i = 0; keys[i] != NULL; i++)
		ok(store_put_mem(st, keys[i], keys[i], strlen(keys[i]), NULL,
		    NULL) == SW_OK, "put '%s'", keys[i]);

	{
		struct store_stats ss;
		char sbuf[200], rb[64];
		ssize_t k;

		ok(store_open_object(st, "a/b/c.txt", &fd, &info) == SW_OK &&
		    fd >= 0 && info.size == 9 && info.etag[0] == '"',
		    "store_open_object: a descriptor of the object, its "
		    "size and ETag");
		k = fd >= 0 ? read(fd, rb, sizeof(rb)) : -1;
		ok(k == 9 && memcmp(rb, "a/b/c.txt", 9) == 0,
		    "... reading it gives the object's bytes");
		if (fd >= 0)
			close(fd);
		ok(store_open_object(st, "a/b/none.txt", &fd, &info) ==
		    SW_ERR_NOTFOUND && fd < 0, "... a missing key: not found");
		store_stats(st, &ss);
		store_stats_format(&ss, sbuf, sizeof(sbuf));
		is_str(sbuf, "10 requests: 2 GET, 8 PUT",
		    "requests by kind before: the puts");
	}
	is_str(list(st, "", NULL, NULL),
	    "a-z.txt a/b-c.txt a/b/c.txt a/b/d.txt b.txt "
	    "raw/startYear=2022/startMonth=10/startDay=1/seriesBucket=0c/y "
	    "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/x "
	    "sp ace/&amp;?=+.txt ", "flat listing in S3 byte order");
	is_str(list(st, "", "/", NULL), "a-z.txt P:a/ b.txt P:raw/ P:sp ace/ ",
	    "delimiter listing at the root");
	is_str(list(st, "a/", "/", NULL), "a/b-c.txt P:a/b/ ",
	    "delimiter listing one level down");
	is_str(list(st, "raw/startYear=2022/", "/", NULL),
	    "P:raw/startYear=2022/startMonth=10/ "
	    "P:raw/startYear=2022/startMonth=5/ ",
	    "cold-tier month level");
	is_str(list(st, "raw/startYear=2022/startMonth=5/startDay=3/", "/",
	    NULL), "P:raw/startYear=2022/startMonth=5/startDay=3/"
	    "seriesBucket=ab/ ", "cold-tier bucket level");
	is_str(list(st, "a/b", NULL, NULL), "a/b-c.txt a/b/c.txt a/b/d.txt ",
	    "prefix that is not a directory");
	is_str(list(st, "a/b", "/", NULL), "a/b-c.txt P:a/b/ ",
	    "partial prefix with delimiter");
	is_str(list(st, "", NULL, "a/b/c.txt"),
	    "a/b/d.txt b.txt "
	    "raw/startYear=2022/startMonth=10/startDay=1/seriesBucket=0c/y "
	    "raw/startYear=2022/startMonth=5/startDay=3/seriesBucket=ab/x "
	    "sp ace/&amp;?=+.txt ", "start-after");
	is_str(list(st, "zzz", NULL, NULL), "", "empty listing");

	buf_init(&got);
	ok(store_get(st, "a/b/c.txt", 2, 3, buf_sink, &got, &info) == SW_OK,
	    "ranged get");
	is_str(got.data, "b/c", "range bytes");
	ok(info.size == strlen("a/b/c.txt") && info.etag[0] == '"',
	    "info: size and etag");
	buf_release(&got);
	ok(store_get(st, "a/b/c.txt", 0, 0, buf_sink, &got, NULL) == SW_OK &&
	    strcmp(got.data, "a/b/c.txt") == 0, "whole get");
	buf_release(&got);
	ok(store_get(st, "nope", 0, 0, buf_sink, &got, NULL) == SW_ERR_NOTFOUND,
	    "missing key: not found");
	ok(strstr(sw_errmsg(), "nope") != NULL, "message names the key: %s",
	    sw_errmsg());
	ok(store_head(st, "b.txt", &info) == SW_OK && info.size == 5, "head");

	/* put_fd from a file */
	snprintf(path, sizeof(path), "%s.src", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ok(write(fd, "0123456789", 10) == 10, "source written");
	ok(store_put_fd(st, "fd/obj", fd, 10, NULL, &info) == SW_OK &&
	    info.size == 10, "put_fd");
	close(fd);
	unlink(path);
	ok(store_get(st, "fd/obj", 0, 0, buf_sink, &got, NULL) == SW_OK &&
	    strcmp(got.data, "0123456789") == 0, "put_fd content");
	buf_release(&got);

	ok(store_delete(st, "fd/obj") == SW_OK, "delete");
	ok(store_head(st, "fd/obj", &info) == SW_ERR_NOTFOUND, "deleted");
	snprintf(path, sizeof(path), "%s/fd", dir);
	ok(access(path, F_OK) != 0, "empty parent directory removed");
	ok(store_delete(st, "fd/obj") == SW_OK, "deleting twice is fine");

	/* Keys that try to escape. */
	ok(store_put_mem(st, "../escape", "x", 1, NULL, NULL) == SW_ERR_BADKEY,
	    "'../escape' refused");
	ok(store_put_mem(st, "a/../../escape", "x", 1, NULL, NULL) ==
	    SW_ERR_BADKEY, "'a/../../escape' refused");
	ok(store_put_mem(st, "/etc/passwd", "x", 1, NULL, NULL) ==
	    SW_ERR_BADKEY, "absolute key refused");
	ok(store_put_mem(st, "a//b", "x", 1, NULL, NULL) == SW_ERR_BADKEY,
	    "empty segment refused");
	snprintf(path, sizeof(path), "%s/link", dir);
	ok(symlink("/tmp", path) == 0, "plant a symlink to /tmp");
	ok(store_put_mem(st, "link/escape", "x", 1, NULL, NULL) ==
	    SW_ERR_BADKEY, "writing through a symlink refused: %s",
	    sw_errmsg());
	ok(access("/tmp/escape", F_OK) != 0, "nothing written outside");
	ok(store_get(st, "link/escape", 0, 0, buf_sink, &got, NULL) != SW_OK,
	    "reading through a symlink refused");
	is_str(list(st, "", "/", NULL), "a-z.txt P:a/ b.txt P:raw/ P:sp ace/ ",
	    "symlinks are not listed");
	ok(store_open_object(st, "link/escape", &fd, NULL) == SW_ERR_BADKEY &&
	    fd < 0 && strstr(sw_errmsg(), "symbolic link") != NULL,
	    "opening through a symlinked directory refused: %s", sw_errmsg());
	unlink(path);
	snprintf(path, sizeof(path), "%s/a/b/c.txt", dir);
	{
		char p2[700];

		snprintf(p2, sizeof(p2), "%s/a/lnk.txt", dir);
		ok(symlink(path, p2) == 0 && store_open_object(st,
		    "a/lnk.txt", &fd, NULL) == SW_ERR_BADKEY && fd < 0,
		    "an object that is a symlink refused: %s", sw_errmsg());
		unlink(p2);
		snprintf(p2, sizeof(p2), "%s/a/fifo.txt", dir);
		ok(mkfifo(p2, 0600) == 0 && store_open_object(st,
		    "a/fifo.txt", &fd, NULL) == SW_ERR_NOTFOUND && fd < 0,
		    "a FIFO is refused at once, not waited on: %s",
		    sw_errmsg());
		unlink(p2);
	}

	conditional_puts(st, url, dir);

	store_free(st);
	ok(store_open("file://relative/dir", &cfg, &st) == SW_ERR_CONFIG,
	    "relative file URL refused");
	ok(store_open("file:///nonexistent/dir", &cfg, &st) == SW_ERR_NOTFOUND,
	    "missing directory: not found");
	ok(store_open("ftp://x", &cfg, &st) == SW_ERR_CONFIG,
	    "unknown scheme refused");
	config_release(&cfg);
	test_tmpdir_remove();
	return done_testing();
}
