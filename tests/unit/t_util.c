/* t_util.c - buffers, sizes, hex, errors, the worker pool. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/pool.h"
#include "tap.h"
#include "testlib.h"
#include "base/util.h"

static sw_err
job_ok(void *arg)
{
	int *n = arg;

	__atomic_add_fetch(n, 1, __ATOMIC_SEQ_CST);
	usleep(1000);
	return SW_OK;
}

static sw_err
job_fail(void *arg)
{
	(void)arg;
	return sw_seterr(SW_ERR_DATA, "job failed on purpose");
}

/* Run fn in a child with stderr into a pipe: whether it died of SIGABRT
 * after saying "out of memory". */
static int
aborts_oom(void (*fn)(void))
{
	char text[512] = "";
	int fd[2], st;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	if (pipe(fd) != 0 || (pid = fork()) < 0)
		return 0;
	if (pid == 0) {
		dup2(fd[1], 2);
		close(fd[0]);
		fn();
		_exit(0);
	}
	close(fd[1]);
	while (got < sizeof(text) - 1 &&
	    (r = read(fd[0], text + got, sizeof(text) - 1 - got)) > 0)
		got += (size_t)r;
	close(fd[0]);
	waitpid(pid, &st, 0);
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGABRT ||
	    strstr(text, "out of memory") == NULL) {
		diag("child: status %d, said '%s'", st, text);
		return 0;
	}
	return 1;
}

static void
overflow_array(void)
{
	free(xreallocarray(NULL, SIZE_MAX / 8 + 1, 16));
}

static void
overflow_grow(void)
{
	size_t cap = SIZE_MAX / 2 + 1;

	free(xgrowarray(NULL, &cap, cap + 1, 1));
}

static void
overflow_buf(void)
{
	struct buf b = { NULL, 1, 0 };

	buf_reserve(&b, SIZE_MAX);
}

static void
test_alloc(void)
{
	size_t cap = 0, i, bad = 0;
	int *v = NULL;

	v = xgrowarray(v, &cap, 1, sizeof(*v));
	ok(v != NULL && cap == 16, "xgrowarray starts at 16 (%zu)", cap);
	for (i = 0; i < 1000; i++) {
		v = xgrowarray(v, &cap, i + 1, sizeof(*v));
		v[i] = (int)i;
	}
	for (i = 0; i < 1000; i++)
		bad += v[i] != (int)i;
	ok(bad == 0 && cap == 1024, "1000 elements kept, capacity %zu", cap);
	v = xgrowarray(v, &cap, 5000, sizeof(*v));
	ok(cap == 5000 && v[999] == 999, "a larger need is met at once");
	free(v);
	v = xreallocarray(NULL, 10, sizeof(*v));
	v[9] = 1;
	free(v);
	ok(aborts_oom(overflow_array), "xreallocarray: an overflowing size "
	    "aborts, saying so");
	ok(aborts_oom(overflow_grow), "xgrowarray: an overflowing capacity "
	    "aborts, saying so");
	ok(aborts_oom(overflow_buf), "buf_reserve: an overflowing size "
	    "aborts, saying so");
}

static void
touch(const char *path)
{
	FILE *f = fopen(path, "w");

	if (f != NULL)
		fclose(f);
}

/* rmtree removes a tree with links in it, never what they name. */
static void
test_rmtree(void)
{
	const char *dir = test_tmpdir("t_util");
	char tree[600], p[700], keep[600], keepdir[600];
	struct stat sb;

	snprintf(tree, sizeof(tree), "%s/tree", dir);
	snprintf(keep, sizeof(keep), "%s/keep", dir);
	snprintf(keepdir, sizeof(keepdir), "%s/keepdir", dir);
	touch(keep);
	mkdir(keepdir, 0700);
	snprintf(p, sizeof(p), "%s/inside", keepdir);
	touch(p);
	mkdir(tree, 0700);
	snprintf(p, sizeof(p), "%s/a", tree);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/a/b", tree);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/a/b/file", tree);
	touch(p);
	snprintf(p, sizeof(p), "%s/a/link-to-file", tree);
	ok(symlink(keep, p) == 0, "a link to a file outside");
	snprintf(p, sizeof(p), "%s/a/b/link-to-dir", tree);
	ok(symlink(keepdir, p) == 0, "a link to a directory outside");
	snprintf(p, sizeof(p), "%s/dangling", tree);
	ok(symlink("/nonexistent/x", p) == 0, "a dangling link");
	ok(rmtree(tree) == 0, "rmtree succeeds");
	ok(lstat(tree, &sb) != 0 && errno == ENOENT, "the tree is gone");
	snprintf(p, sizeof(p), "%s/inside", keepdir);
	ok(stat(keep, &sb) == 0 && stat(p, &sb) == 0,
	    "what the links name is untouched");
	ok(rmtree(tree) != 0 && errno == ENOENT, "a missing path: ENOENT");
	ok(rmtree(keep) == 0 && lstat(keep, &sb) != 0, "a file is removed");
	test_tmpdir_remove();
	ok(lstat(dir, &sb) != 0, "test_tmpdir_remove removes the rest");
}

int
main(void)
{
	struct buf b;
	uint64_t v;
	char hex[65], sz[32];
	struct pool *p;
	struct batch bt;
	int n = 0, i;

	buf_init(&b);
	buf_puts(&b, "abc");
	buf_printf(&b, "-%d-", 42);
	buf_putc(&b, 'z');
	is_str(b.data, "abc-42-z", "buf_puts/printf/putc");
	is_int((long long)b.len, 8, "buf length");
	buf_wipe(&b);
	ok(b.data == NULL && b.len == 0, "buf_wipe empties");
	for (i = 0; i < 100000; i++)
		buf_sink(&b, "0123456789", 10);
	ok(b.len == 1000000 && b.cap > b.len && b.data[b.len] == '\0' &&
	    memcmp(b.data + 999990, "0123456789", 10) == 0,
	    "buf_sink: a million bytes in, NUL-terminated");
	buf_release(&b);

	ok(parse_size("64M", &v) == 0 && v == 64ULL << 20, "64M");
	ok(parse_size("1GiB", &v) == 0 && v == 1ULL << 30, "1GiB");
	ok(parse_size("512k", &v) == 0 && v == 512ULL << 10, "512k");
	ok(parse_size("100", &v) == 0 && v == 100, "100");
	ok(parse_size("12X", &v) != 0, "12X rejected");
	ok(parse_size("-1", &v) != 0, "-1 rejected");
	ok(parse_size("99999999999T", &v) != 0, "overflow rejected");
	format_size(1536, sz, sizeof(sz));
	is_str(sz, "1.5 KiB", "format_size");

	{
		char *sv[] = { "b", "aa", "c", "a" }, *key = "c";

		qsort(sv, 4, sizeof(*sv), strv_cmp);
		ok(strcmp(sv[0], "a") == 0 && strcmp(sv[1], "aa") == 0 &&
		    strcmp(sv[2], "b") == 0 && strcmp(sv[3], "c") == 0 &&
		    bsearch(&key, sv, 4, sizeof(*sv), strv_cmp) == &sv[3],
		    "strv_cmp sorts and finds strings");
	}

	sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
	    "7852b855", "sha256 of nothing");

	is_int(sw_exitcode(SW_ERR_USAGE), 2, "usage exit 2");
	is_int(sw_exitcode(SW_ERR_CONFIG), 2, "config exit 2");
	ok(sw_exitcode(SW_ERR_CREDS) != sw_exitcode(SW_ERR_AUTH) &&
	    sw_exitcode(SW_ERR_AUTH) != sw_exitcode(SW_ERR_NET) &&
	    sw_exitcode(SW_ERR_NET) != sw_exitcode(SW_ERR_NOTFOUND),
	    "distinct exit codes for creds, auth, network, not found");
	is_int(sw_exitcode(SW_ERR_UNSUPPORTED), 8,
	    "a store without an API exits 8, as other answers of a server");
	is_str(sw_errname(SW_ERR_UNSUPPORTED), "not supported by the store",
	    "and has a name");
	{
		int k;

		for (k = 0; k < SW_ERR__COUNT; k++)
			if (strcmp(sw_errname((sw_err)k), "unknown error") == 0 ||
			    sw_errname((sw_err)k) == NULL)
				break;
		is_int(k, SW_ERR__COUNT, "every code has a name");
	}

	/* Numbers from the network. */
	ok(parse_u64_strict("0", NET_NUMBER_MAX, &v) == 0 && v == 0, "0");
	ok(parse_u64_strict("4611686018427387904", NET_NUMBER_MAX, &v) == 0 &&
	    v == NET_NUMBER_MAX, "2^62 is the largest");
	v = 7;
	ok(parse_u64_strict("4611686018427387905", NET_NUMBER_MAX, &v) != 0 &&
	    v == 7, "2^62 + 1 is refused and *out untouched");
	ok(parse_u64_strict("18446744073709551615", UINT64_MAX, &v) == 0 &&
	    v == UINT64_MAX, "UINT64_MAX with that bound");
	ok(parse_u64_strict("18446744073709551616", UINT64_MAX, &v) != 0,
	    "one more overflows");
	ok(parse_u64_strict("-1", NET_NUMBER_MAX, &v) != 0 &&
	    parse_u64_strict("+1", NET_NUMBER_MAX, &v) != 0 &&
	    parse_u64_strict(" 1", NET_NUMBER_MAX, &v) != 0 &&
	    parse_u64_strict("1 ", NET_NUMBER_MAX, &v) != 0 &&
	    parse_u64_strict("", NET_NUMBER_MAX, &v) != 0 &&
	    parse_u64_strict(NULL, NET_NUMBER_MAX, &v) != 0 &&
	    parse_u64_strict("12a", NET_NUMBER_MAX, &v) != 0,
	    "signs, blanks, empty and trailing characters are refused");
	ok(parse_u64_strict("10", 9, &v) != 0 && parse_u64_strict("9", 9,
	    &v) == 0 && v == 9 && parse_u64_strict("5", 3, &v) != 0,
	    "small bounds");

	sw_seterr(SW_ERR_IO, "inner");
	sw_adderr(SW_ERR_IO, "outer %d", 1);
	is_str(sw_errmsg(), "outer 1: inner", "sw_adderr prefixes");

	ok(pool_new(4, &p) == SW_OK, "pool starts");
	batch_init(&bt, p, 0);
	for (i = 0; i < 100; i++)
		batch_submit(&bt, job_ok, &n);
	ok(batch_wait(&bt) == SW_OK && n == 100, "100 jobs ran (%d)", n);
	batch_submit(&bt, job_fail, NULL);
	for (i = 0; i < 10; i++)
		batch_submit(&bt, job_ok, &n);
	ok(batch_wait(&bt) == SW_ERR_DATA, "a failing job fails the batch");
	is_str(sw_errmsg(), "job failed on purpose",
	    "its message reaches the waiting thread");
	ok(batch_wait(&bt) == SW_OK, "the batch is reusable");
	batch_release(&bt);
	pool_free(p);
	test_alloc();
	test_rmtree();
	return done_testing();
}
