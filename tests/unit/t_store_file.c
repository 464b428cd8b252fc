/* t_store_file.c - the file:// store: S3 listing semantics, objects, and
 * keys that try to escape the directory. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "store.h"
#include "tap.h"
#include "util.h"

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

static sw_err
to_buf(void *arg, const void *p, size_t n)
{
	return buf_append(arg, p, n);
}

int
main(void)
{
	char dir[] = "/tmp/t_store_file.XXXXXX", url[300], path[400];
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

	if (mkdtemp(dir) == NULL)
		skip_all("no temporary directory");
	config_defaults(&cfg);
	snprintf(url, sizeof(url), "file://%s", dir);
	ok(store_open(url, &cfg, &st) == SW_OK, "open %s", url);
	for (i = 0; keys[i] != NULL; i++)
		ok(store_put_mem(st, keys[i], keys[i], strlen(keys[i]), NULL,
		    NULL) == SW_OK, "put '%s'", keys[i]);

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
	ok(store_get(st, "a/b/c.txt", 2, 3, to_buf, &got, &info) == SW_OK,
	    "ranged get");
	is_str(got.data, "b/c", "range bytes");
	ok(info.size == strlen("a/b/c.txt") && info.etag[0] == '"',
	    "info: size and etag");
	buf_release(&got);
	ok(store_get(st, "a/b/c.txt", 0, 0, to_buf, &got, NULL) == SW_OK &&
	    strcmp(got.data, "a/b/c.txt") == 0, "whole get");
	buf_release(&got);
	ok(store_get(st, "nope", 0, 0, to_buf, &got, NULL) == SW_ERR_NOTFOUND,
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
	ok(store_get(st, "fd/obj", 0, 0, to_buf, &got, NULL) == SW_OK &&
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
	ok(store_get(st, "link/escape", 0, 0, to_buf, &got, NULL) != SW_OK,
	    "reading through a symlink refused");
	is_str(list(st, "", "/", NULL), "a-z.txt P:a/ b.txt P:raw/ P:sp ace/ ",
	    "symlinks are not listed");
	unlink(path);

	store_free(st);
	ok(store_open("file://relative/dir", &cfg, &st) == SW_ERR_CONFIG,
	    "relative file URL refused");
	ok(store_open("file:///nonexistent/dir", &cfg, &st) == SW_ERR_NOTFOUND,
	    "missing directory: not found");
	ok(store_open("ftp://x", &cfg, &st) == SW_ERR_CONFIG,
	    "unknown scheme refused");
	config_release(&cfg);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			diag("could not remove %s", dir);
	}
	return done_testing();
}
