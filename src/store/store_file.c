/*
 * store_file.c - the file:///DIR backend: a local directory with the key
 * layout of a bucket (keys are relative paths), e.g. a mirror made with
 * `aws s3 sync`, the demo, and the tests.
 *
 * No key can escape the directory: keys are checked by store_key_ok() (no
 * "..", no leading '/'), and every path is opened one component at a time
 * with O_NOFOLLOW below a directory descriptor, so a symlink planted in the
 * tree is refused rather than followed.  Listing walks the tree in S3 byte
 * order without sorting more than one directory at a time.  Writes go to a
 * temporary name and are renamed into place, so readers never see half an
 * object.  ETags are not MD5 sums here: a file's "size-mtime" stands in,
 * which changes whenever the file does (a put's file gets an mtime after
 * the one it replaces, a nanosecond after when the clock has not moved
 * on, so a key's ETags never repeat).
 *
 * Conditional puts (If-Match / If-None-Match) hold across processes: every
 * put and delete takes an exclusive flock on the store's root directory
 * (opened anew each time, so threads of one process exclude each other
 * too) while it compares the current file with the condition and renames
 * or unlinks.  The data is written before the lock is taken, so the lock
 * is held for a few system calls; nothing is left behind to clean up.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define HAVE_OPENAT2 1
#endif
#endif

#include <openssl/evp.h>

#include "base/log.h"
#include "base/util.h"
#include "store/store_impl.h"

#define TMP_PREFIX ".swrepart-tmp-"
#define IO_CHUNK (256 * 1024)

struct fstore {
	int rootfd;
	char *root;
};

static struct fstore *
FS(struct store *st)
{
	return st->impl;
}

static void
info_from_stat(const struct stat *sb, struct store_info *info)
{
	if (info == NULL)
		return;
	info->size = (uint64_t)sb->st_size;
	info->mtime = sb->st_mtim.tv_sec;
	snprintf(info->etag, sizeof(info->etag), "\"%llx-%llx\"",
	    (unsigned long long)sb->st_size,
	    (unsigned long long)sb->st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)sb->st_mtim.tv_nsec);
}

static sw_err
errno_err(struct store *st, const char *what, const char *key, int e)
{
	sw_err code = SW_ERR_IO;

	if (e == ENOENT || e == ENOTDIR)
		code = SW_ERR_NOTFOUND;
	else if (e == ELOOP)
		return sw_seterr(SW_ERR_BADKEY,
		    "cannot %s '%s%s': a symbolic link is in the way (links "
		    "are not followed in file stores)", what, st->url, key);
	else if (e == EACCES || e == EPERM)
		code = SW_ERR_AUTH;
	return sw_seterr(code, "cannot %s '%s%s': %s", what, st->url, key,
	    strerror(e));
}

/*
 * Open the directory holding key's last component, creating missing
 * directories when create is set.  *name points into key at the last
 * component.  Returns a descriptor or -1 with errno set.
 */
static int
open_parent(int rootfd, const char *key, int create, const char **name)
{
	int dfd = dup(rootfd);
	const char *p = key;

	while (dfd >= 0) {
		const char *slash = strchr(p, '/');
		char comp[NAME_MAX + 1];
		size_t n;
		int nfd;

		if (slash == NULL || slash[1] == '\0')
			break;
		n = (size_t)(slash - p);
		if (n > NAME_MAX) {
			close(dfd);
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && create) {
			if (mkdirat(dfd, comp, 0777) < 0 && errno != EEXIST) {
				int e = errno;

				close(dfd);
				errno = e;
				return -1;
			}
			nfd = openat(dfd, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
			struct stat sb;

			/* Say "symlink" rather than "not a directory". */
			if (fstatat(dfd, comp, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISLNK(sb.st_mode))
				errno = ELOOP;
		}
		{
			int e = errno;

			close(dfd);
			errno = e;
		}
		dfd = nfd;
		p = slash + 1;
	}
	*name = p;
	return dfd;
}

/* Open key for reading, beneath rootfd and through no symbolic link
 * (ELOOP if one is in the way).  One openat2(2) where the kernel has it
 * (Linux 5.6); else a walk, one directory at a time.  O_NONBLOCK: a FIFO
 * in the tree does not block the open (it is then refused as not a
 * regular file). */
static int
open_key(int rootfd, const char *key, int flags)
{
	const char *name;
	int dfd, fd, e;

	flags |= O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK;
#ifdef HAVE_OPENAT2
	{
		static int no_openat2;
		struct open_how how;

		memset(&how, 0, sizeof(how));
		how.flags = (uint64_t)flags;
		how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
		    RESOLVE_NO_MAGICLINKS;
		while (!__atomic_load_n(&no_openat2, __ATOMIC_RELAXED)) {
			fd = (int)syscall(SYS_openat2, rootfd, key, &how,
			    sizeof(how));
			if (fd >= 0)
				return fd;
			if (errno == EAGAIN || errno == EINTR)
				continue;
			/* not there, or refused by a sandbox's filter */
			if (errno != ENOSYS && errno != EPERM)
				return -1;
			__atomic_store_n(&no_openat2, 1, __ATOMIC_RELAXED);
		}
	}
#endif
	if ((dfd = open_parent(rootfd, key, 0, &name)) < 0)
		return -1;
	fd = openat(dfd, name, flags);
	e = errno;
	close(dfd);
	errno = e;
	return fd;
}

/* ---- listing ---- */

struct dent {
	char *sortkey;  /* name, plus '/' for a directory */
	int is_dir;
	struct stat sb;
};

static int
dent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dent *)a)->sortkey,
	    ((const struct dent *)b)->sortkey);
}

struct walk {
	struct store *st;
	const char *prefix;
	size_t plen;
	int delim;
	const char *start_after;
	store_list_fn fn;
	void *arg;
};

static int
starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Walk directory dfd whose key is dirkey ("" or "a/b/"). */
static sw_err
walk_dir(struct walk *w, int dfd, const char *dirkey)
{
	DIR *d;
	struct dirent *de;
	struct dent *ents = NULL;
	size_t n = 0, cap = 0, i;
	struct buf full;
	sw_err rc = SW_OK;

	if ((d = fdopendir(dfd)) == NULL) {
		close(dfd);
		return errno_err(w->st, "list", dirkey, errno);
	}
	while ((de = readdir(d)) != NULL) {
		struct stat sb;
		size_t len;

		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    starts_with(de->d_name, TMP_PREFIX))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			continue; /* vanished meanwhile */
		if (!S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
			continue; /* symlinks, sockets: not objects */
		ents = xgrowarray(ents, &cap, n + 1, sizeof(*ents));
		len = strlen(de->d_name);
		ents[n].sortkey = xcalloc(1, len + 2);
		memcpy(ents[n].sortkey, de->d_name, len);
		ents[n].is_dir = S_ISDIR(sb.st_mode);
		if (ents[n].is_dir)
			ents[n].sortkey[len] = '/';
		ents[n].sb = sb;
		n++;
	}
	if (n > 0)
		qsort(ents, n, sizeof(*ents), dent_cmp);

	buf_init(&full);
	for (i = 0; i < n && rc == SW_OK; i++) {
		struct store_entry e;

		full.len = 0;
		buf_puts(&full, dirkey);
		buf_puts(&full, ents[i].sortkey);
		if (ents[i].is_dir) {
			size_t m = full.len < w->plen ? full.len : w->plen;
			int nfd;

			if (strncmp(full.data, w->prefix, m) != 0)
				continue; /* outside the prefix */
			if (w->start_after != NULL &&
			    strcmp(full.data, w->start_after) < 0 &&
			    !starts_with(w->start_after, full.data))
				continue; /* all of it sorts before */
			if (w->delim && full.len > w->plen) {
				/* Everything below is one CommonPrefix:
				 * the part after the prefix ends at this
				 * directory's '/'. */
				if (w->start_after != NULL &&
				    strcmp(full.data, w->start_after) <= 0)
					continue;
				memset(&e, 0, sizeof(e));
				e.key = full.data;
				e.etag = "";
				e.is_prefix = 1;
				rc = w->fn(w->arg, &e);
				continue;
			}
			/* The sort key's trailing '/' is harmless here. */
			nfd = openat(dirfd(d), ents[i].sortkey, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (nfd < 0) {
				rc = errno_err(w->st, "list", full.data, errno);
				break;
			}
			rc = walk_dir(w, nfd, full.data);
		} else {
			struct store_info info;

			if (!starts_with(full.data, w->prefix))
				continue;
			if (w->start_after != NULL &&
			    strcmp(full.data, w->start_after) <= 0)
				continue;
			info_from_stat(&ents[i].sb, &info);
			e.key = full.data;
			e.size = info.size;
			e.etag = info.etag;
			e.mtime = info.mtime;
			e.is_prefix = 0;
			rc = w->fn(w->arg, &e);
		}
	}
	buf_release(&full);
	for (i = 0; i < n; i++)
		free(ents[i].sortkey);
	free(ents);
	closedir(d);
	return rc;
}

static sw_err
f_list(struct store *st, const char *prefix, const char *delimiter,
    const char *start_after, store_list_fn fn, void *arg)
{
	struct walk w = { st, prefix, strlen(prefix), 0, start_after, fn, arg };
	int dfd;

	store_count(st, STORE_REQ_LIST, 0);
	if (delimiter != NULL && *delimiter != '\0') {
		if (strcmp(delimiter, "/") != 0)
			return sw_seterr(SW_ERR_USAGE,
			    "file stores list with delimiter '/' only");
		w.delim = 1;
	}
	/* A new open file description: a dup() would share its directory
	 * offset with rootfd and with every other listing. */
	if ((dfd = openat(FS(st)->rootfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) < 0)
		return errno_err(st, "list", prefix, errno);
	return walk_dir(&w, dfd, "");
}

/* ---- objects ---- */

/* Open key's regular file for reading (one request of kind k); *sb gets
 * its status.  verb names the operation in messages ("read", "stat"). */
static sw_err
open_regular(struct store *st, const char *key, enum store_req k,
    const char *verb, int *out, struct stat *sb)
{
	int fd;

	store_count(st, k, 0);
	if ((fd = open_key(FS(st)->rootfd, key, O_RDONLY)) < 0)
		return errno_err(st, verb, key, errno);
	if (fstat(fd, sb) < 0 || !S_ISREG(sb->st_mode)) {
		close(fd);
		return sw_seterr(SW_ERR_NOTFOUND, "cannot %s '%s%s': not a "
		    "regular file", verb, st->url, key);
	}
	*out = fd;
	return SW_OK;
}

static sw_err
f_get(struct store *st, const char *key, uint64_t off, uint64_t len,
    sw_sink_fn fn, void *arg, struct store_info *info)
{
	char *chunk;
	struct stat sb;
	uint64_t left;
	int fd;
	sw_err rc;

	if ((rc = open_regular(st, key, STORE_REQ_GET, "read", &fd, &sb)) !=
	    SW_OK)
		return rc;
	info_from_stat(&sb, info);
	if (off > (uint64_t)sb.st_size) {
		close(fd);
		return sw_seterr(SW_ERR_USAGE, "cannot read '%s%s': range "
		    "starts past the end (%llu > %llu)", st->url, key,
		    (unsigned long long)off, (unsigned long long)sb.st_size);
	}
	left = (uint64_t)sb.st_size - off;
	if (len != 0 && len < left)
		left = len;
	__atomic_add_fetch(&st->bytes_read, left, __ATOMIC_RELAXED);
	/* a small object's buffer is its size (a big one's would be
	 * mapped and unmapped per object) */
	chunk = xrealloc(NULL, left < IO_CHUNK ? (size_t)left + 1 : IO_CHUNK);
	while (left > 0 && rc == SW_OK) {
		ssize_t r = pread(fd, chunk, left < IO_CHUNK ? left : IO_CHUNK,
		    (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = errno_err(st, "read", key, errno);
			break;
		}
		if (r == 0) {
			rc = sw_seterr(SW_ERR_DATA, "cannot read '%s%s': the "
			    "file shrank while being read", st->url, key);
			break;
		}
		rc = fn(arg, chunk, (size_t)r);
		off += (uint64_t)r;
		left -= (uint64_t)r;
	}
	free(chunk);
	close(fd);
	return rc;
}

static sw_err
f_open_object(struct store *st, const char *key, int *out,
    struct store_info *info)
{
	struct stat sb;
	int fd;
	sw_err rc;

	if ((rc = open_regular(st, key, STORE_REQ_GET, "read", &fd, &sb)) !=
	    SW_OK)
		return rc;
	__atomic_add_fetch(&st->bytes_read, (uint64_t)sb.st_size,
	    __ATOMIC_RELAXED);
	info_from_stat(&sb, info);
	*out = fd;
	return SW_OK;
}

static sw_err
f_head(struct store *st, const char *key, struct store_info *info)
{
	struct stat sb;
	int fd;
	sw_err rc;

	if ((rc = open_regular(st, key, STORE_REQ_HEAD, "stat", &fd, &sb)) !=
	    SW_OK)
		return rc;
	close(fd);
	info_from_stat(&sb, info);
	return SW_OK;
}

/* The store's write lock (see the top of the file): a descriptor to
 * close, or -1 with errno set. */
static int
store_lock(struct store *st)
{
	int fd = openat(FS(st)->rootfd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (flock(fd, LOCK_EX) < 0) {
		int e = errno;

		if (e == EINTR)
			continue;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static void
store_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* An ETag without its quotes and weak prefix, for comparison. */
static void
bare_etag(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (strncmp(in, "W/", 2) == 0)
		in += 2;
	if (*in == '"')
		in++;
	n = strlen(in);
	if (n > 0 && in[n - 1] == '"')
		n--;
	snprintf(out, outlen, "%.*s", (int)n, in);
}

/*
 * Under the store lock: whether the put of key (a file to be renamed over
 * name in dfd) may go ahead.  cur is what holds name now (exists set when
 * something does).
 */
static sw_err
check_condition(struct store *st, const char *key,
    const struct store_put_opts *o, int exists, const struct stat *cur)
{
	struct store_info now;
	char want[80], have[80];

	if (o == NULL)
		return SW_OK;
	if (o->if_none_match && exists)
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "created by another writer meanwhile (it exists; "
		    "If-None-Match: *)", st->url, key);
	if (o->if_match == NULL)
		return SW_OK;
	if (!exists)
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "changed by another writer (deleted: there is no file with "
		    "ETag %s)", st->url, key, o->if_match);
	if (!S_ISREG(cur->st_mode))
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "changed by another writer (not a regular file, not ETag "
		    "%s)", st->url, key, o->if_match);
	info_from_stat(cur, &now);
	bare_etag(o->if_match, want, sizeof(want));
	bare_etag(now.etag, have, sizeof(have));
	if (strcmp(want, have) != 0)
		return sw_seterr(SW_ERR_EXISTS, "cannot upload '%s%s': it was "
		    "changed by another writer (its ETag is %s, not %s)",
		    st->url, key, now.etag, o->if_match);
	return SW_OK;
}

/*
 * Give the new file (fd) an mtime after the one of the file it replaces
 * (cur), so that a key's ETags never repeat and If-Match sees every put:
 * files written within one tick of the file system's clock get the same
 * mtime, and a same-sized one the same ETag.
 */
static void
distinct_etag(int fd, struct stat *sb, const struct stat *cur)
{
	struct timespec ts[2];

	if (!S_ISREG(cur->st_mode) ||
	    sb->st_mtim.tv_sec > cur->st_mtim.tv_sec ||
	    (sb->st_mtim.tv_sec == cur->st_mtim.tv_sec &&
	    sb->st_mtim.tv_nsec > cur->st_mtim.tv_nsec))
		return;
	ts[0].tv_sec = 0;
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1] = cur->st_mtim;
	if (++ts[1].tv_nsec >= 1000000000L) {
		ts[1].tv_sec++;
		ts[1].tv_nsec = 0;
	}
	if (futimens(fd, ts) == 0)
		fstat(fd, sb);
}

/* Source of bytes for a put: memory or a file descriptor. */
struct src {
	const char *mem;
	int fd;
	uint64_t size;
};

static sw_err
f_put(struct store *st, const char *key, const struct src *src,
    const struct store_put_opts *opts, struct store_info *info)
{
	char tmp[sizeof(TMP_PREFIX) + 16];
	unsigned char rnd[8];
	const char *name;
	char *chunk = NULL;
	uint64_t off = 0;
	struct stat sb, cur;
	int dfd, fd = -1, lockfd = -1, exists;
	/* the caller's MD5 of the body is checked, as S3 checks Content-MD5 */
	EVP_MD_CTX *md5 = opts != NULL && opts->md5 != NULL ?
	    EVP_MD_CTX_new() : NULL;
	unsigned char md[16];
	sw_err rc = SW_OK;

	if (md5 != NULL)
		EVP_DigestInit_ex(md5, EVP_md5(), NULL);
	if ((dfd = open_parent(FS(st)->rootfd, key, 1, &name)) < 0) {
		EVP_MD_CTX_free(md5);
		return errno_err(st, "write", key, errno);
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		memset(rnd, 0, sizeof(rnd));
	snprintf(tmp, sizeof(tmp), TMP_PREFIX "%02x%02x%02x%02x%02x%02x",
	    rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]);
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0666);
	if (fd < 0) {
		rc = errno_err(st, "write", key, errno);
		goto out;
	}
	if (src->mem == NULL)
		chunk = xcalloc(1, IO_CHUNK);
	while (off < src->size && rc == SW_OK) {
		size_t want = src->size - off < IO_CHUNK ?
		    (size_t)(src->size - off) : IO_CHUNK;
		const char *p;
		ssize_t r;

		if (src->mem != NULL) {
			p = src->mem + off;
			r = (ssize_t)want;
		} else {
			r = pread(src->fd, chunk, want, (off_t)off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = sw_seterr(SW_ERR_IO, "cannot upload '%s%s': "
				    "the source file is shorter than %llu "
				    "bytes", st->url, key,
				    (unsigned long long)src->size);
				break;
			}
			p = chunk;
		}
		if (write_full(fd, p, (size_t)r) < 0) {
			rc = errno_err(st, "write", key, errno);
			break;
		}
		if (md5 != NULL)
			EVP_DigestUpdate(md5, p, (size_t)r);
		off += (uint64_t)r;
	}
	if (rc == SW_OK && md5 != NULL) {
		EVP_DigestFinal_ex(md5, md, NULL);
		if (memcmp(md, opts->md5, sizeof(md)) != 0) {
			char got[33], want[33];

			hex_encode(md, sizeof(md), got);
			hex_encode(opts->md5, sizeof(md), want);
			rc = sw_seterr(SW_ERR_DATA, "cannot upload '%s%s': its "
			    "bytes have the MD5 %s, not the %s taken of them "
			    "before (the source changed meanwhile)", st->url,
			    key, got, want);
		}
	}
	if (rc == SW_OK && fsync(fd) < 0)
		rc = errno_err(st, "write", key, errno);
	if (rc == SW_OK && fstat(fd, &sb) < 0)
		rc = errno_err(st, "write", key, errno);
	/* The commit: compare with what is there, and rename, locked. */
	if (rc == SW_OK && (lockfd = store_lock(st)) < 0)
		rc = errno_err(st, "lock the store to write", key, errno);
	if (rc == SW_OK) {
		exists = fstatat(dfd, name, &cur, AT_SYMLINK_NOFOLLOW) == 0;
		if (!exists && errno != ENOENT)
			rc = errno_err(st, "write", key, errno);
	}
	if (rc == SW_OK)
		rc = check_condition(st, key, opts, exists, &cur);
	if (rc == SW_OK && exists)
		distinct_etag(fd, &sb, &cur);
	if (rc == SW_OK && renameat(dfd, tmp, dfd, name) < 0)
		rc = errno_err(st, "write", key, errno);
	store_unlock(lockfd);
	if (rc == SW_OK)
		info_from_stat(&sb, info);
out:
	if (fd >= 0) {
		close(fd);
		if (rc != SW_OK)
			unlinkat(dfd, tmp, 0);
	}
	free(chunk);
	EVP_MD_CTX_free(md5);
	close(dfd);
	return rc;
}

static sw_err
f_put_mem(struct store *st, const char *key, const void *p, size_t n,
    const struct store_put_opts *opts, struct store_info *info)
{
	struct src s = { p ? p : "", -1, n };

	store_count(st, STORE_REQ_PUT, 0);
	return f_put(st, key, &s, opts, info);
}

static sw_err
f_put_fd(struct store *st, const char *key, int fd, uint64_t size,
    const struct store_put_opts *opts, struct store_info *info)
{
	struct src s = { NULL, fd, size };

	store_count(st, STORE_REQ_PUT, 0);
	return f_put(st, key, &s, opts, info);
}

static sw_err
f_del(struct store *st, const char *key)
{
	const char *name;
	char *dir;
	int dfd, lockfd;

	store_count(st, STORE_REQ_DELETE, 0);
	if ((dfd = open_parent(FS(st)->rootfd, key, 0, &name)) < 0)
		return errno == ENOENT ? SW_OK : errno_err(st, "delete", key,
		    errno);
	/* Locked, as puts: a conditional put never revives a deleted key. */
	if ((lockfd = store_lock(st)) < 0 ||
	    (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)) {
		int e = errno;

		store_unlock(lockfd);
		close(dfd);
		return errno_err(st, "delete", key, e);
	}
	store_unlock(lockfd);
	close(dfd);
	/* Drop directories left empty, as S3 has no empty "folders". */
	dir = xstrdup(key);
	for (;;) {
		char *slash = strrchr(dir, '/');

		if (slash == NULL)
			break;
		*slash = '\0';
		if (unlinkat(FS(st)->rootfd, dir, AT_REMOVEDIR) < 0)
			break;
	}
	free(dir);
	return SW_OK;
}

/* The temporary files of interrupted puts in the key's directory. */
static sw_err
f_abort_uploads(struct store *st, const char *key, unsigned *n)
{
	const char *name;
	struct dirent *de;
	DIR *dir;
	int dfd;

	if ((dfd = open_parent(FS(st)->rootfd, key, 0, &name)) < 0)
		return errno == ENOENT ? SW_OK : errno_err(st, "clean up",
		    key, errno);
	if ((dir = fdopendir(dfd)) == NULL) {
		int e = errno;

		close(dfd);
		return errno_err(st, "clean up", key, e);
	}
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
			continue;
		if (unlinkat(dirfd(dir), de->d_name, 0) == 0) {
			log_notice("removed '%s' beside '%s%s', left by an "
			    "interrupted upload", de->d_name, st->url, key);
			(*n)++;
		}
	}
	closedir(dir);
	return SW_OK;
}

static void
f_free(struct store *st)
{
	struct fstore *fs = FS(st);

	if (fs == NULL)
		return;
	if (fs->rootfd >= 0)
		close(fs->rootfd);
	free(fs->root);
	free(fs);
}

static const struct store_ops file_ops = {
	.list = f_list,
	.get = f_get,
	.head = f_head,
	.open_object = f_open_object,
	.put_mem = f_put_mem,
	.put_fd = f_put_fd,
	.del = f_del,
	.abort_uploads = f_abort_uploads,
	.free = f_free
};

sw_err
store_file_open(struct store *st, const char *rest)
{
	struct fstore *fs;

	/* file:///abs/path: rest is "/abs/path"; file://host/ is refused. */
	if (rest[0] != '/')
		return sw_seterr(SW_ERR_CONFIG, "'%s' is not a local directory "
		    "URL: use file:///ABSOLUTE/PATH", st->url);
	fs = xcalloc(1, sizeof(*fs));
	fs->root = xstrdup(rest);
	fs->rootfd = open(rest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->rootfd < 0) {
		int e = errno;

		free(fs->root);
		free(fs);
		return sw_seterr(e == ENOENT ? SW_ERR_NOTFOUND : SW_ERR_IO,
		    "cannot open store directory '%s': %s", rest, strerror(e));
	}
	st->impl = fs;
	st->ops = &file_ops;
	return SW_OK;
}
