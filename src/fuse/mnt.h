/*
 * mnt.h - what the mount shows, with no FUSE in it: the cold tier as
 *
 *   /YYYY/                       years that hold data
 *   /YYYY/MM/                    months (zero-padded, so `ls` sorts)
 *   /YYYY/MM/DD.avro             the merged day
 *   /YYYY/MM/DD.timeseries.txt   the day's series ids
 *   /series/{id}/YYYY/MM/DD.avro one series' day: the whole day's header
 *                                and that series' blocks
 *
 * Directories come from delimiter listings that the engine keeps (in
 * memory and in the cache index) for mount.dir_ttl seconds.  A day is built through the day engine on its
 * first open, once however many readers ask at the same time (single
 * flight; other days build in parallel), and then read from the cache
 * file, pinned open so that a reader keeps the generation it opened.  A
 * day younger than mount.settle_time is listed again on an open at most
 * every mount.refresh_interval seconds, and extended with new objects.
 * With mount.exact_size, a stat of a day does what its open would
 * (build or refresh, single flight), so that its size is exact.
 * Every function returns 0 or a negative errno, and is thread-safe.
 */
#ifndef SWREPART_MNT_H
#define SWREPART_MNT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/err.h"

struct mnt;
struct mnt_file;
struct sw_config;

sw_err mnt_new(const struct sw_config *cfg, struct mnt **out);
void mnt_free(struct mnt *m);
/* List the years: the credentials, endpoint and bucket work. */
sw_err mnt_check(struct mnt *m);

int mnt_getattr(struct mnt *m, const char *path, struct stat *st);

/* Calls fill for each entry of a directory ("." and ".." included). */
typedef int (*mnt_fill_fn)(void *arg, const char *name,
    const struct stat *st);
int mnt_readdir(struct mnt *m, const char *path, mnt_fill_fn fill,
    void *arg);

/* How the kernel may cache an open file's pages. */
enum mnt_cache {
	MNT_CACHE_DROP,    /* drop what it has (another generation) */
	MNT_CACHE_KEEP,    /* keep them: the same generation as before */
	MNT_DIRECT,        /* no page cache: the day may change */
	MNT_DIRECT_BUILT   /* no page cache: the size shown changed (the
	                    * open that built it); it will not change */
};

/* Open for reading (a write gets -EROFS): builds the day if need be. */
int mnt_open(struct mnt *m, const char *path, int flags,
    struct mnt_file **f, enum mnt_cache *mode);
ssize_t mnt_read(struct mnt_file *f, char *buf, size_t size, off_t off);
/* Where the bytes [off, off + size) of an open file are: pieces of
 * descriptors, in order (a series' day is the whole day's header and its
 * objects' ranges: read without a copy).  Fills at most max pieces and
 * returns how many there are (a piece may end past the end of a file: a
 * short read there is its end). */
struct mnt_piece {
	int fd;
	off_t pos;
	size_t len;
	const char *mem;           /* or bytes in memory (the catalogue) */
};
size_t mnt_pieces(const struct mnt_file *f, off_t off, size_t size,
    struct mnt_piece *out, size_t max);
/* The descriptor whose whole file is exactly the open file's bytes (a
 * day, a day's timeseries.txt), or -1 (a series' day, the catalogue):
 * what the kernel may read by itself (passthrough).  *md5 is the MD5 of
 * those bytes when known (a day), else NULL. */
int mnt_file_fd(const struct mnt_file *f, const char **md5);
void mnt_release(struct mnt *m, struct mnt_file *f);

/* Extended attributes of days: user.swrepart.state (cold, cached, stale,
 * building, failed), .progress (while building), .objects, .records,
 * .series, .size, .built, .generation (once built), .error (after a
 * failure).  listxattr names only those getxattr answers now. */
ssize_t mnt_getxattr(struct mnt *m, const char *path, const char *name,
    char *buf, size_t size);
ssize_t mnt_listxattr(struct mnt *m, const char *path, char *buf,
    size_t size);

#endif
