/*
 * fs.c - the FUSE layer: each operation is one call into mnt.c, which
 * knows nothing of FUSE.  Read-only: every operation that would change
 * something answers EROFS.
 */
#include "config.h"

#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fuse.h>
#include <fuse_log.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fuse/fs.h"
#include "fuse/mnt.h"
#include "fuse/passthrough.h"

/* The one mount this process serves (made after daemonizing). */
static struct mnt *the_mnt;

static struct mnt *
M(void)
{
	return the_mnt;
}

/* An open file: the mount's, and its backing file when the kernel reads
 * it by itself (passthrough). */
struct fs_file {
	struct mnt_file *f;
	struct pt_ref *pt;
};

static struct mnt_file *
F(const struct fuse_file_info *fi)
{
	return ((struct fs_file *)(uintptr_t)fi->fh)->f;
}

static void *
fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	/* With attr_timeout 0, auto_inval_data would cost a GETATTR per
	 * read(): the pages of another generation are dropped at open
	 * instead (keep_cache), and days that may change are read in
	 * direct I/O mode. */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	/* A day's size changes when it is built: the kernel asks every
	 * time (a lookup in the index), so a stat is always exact.  Reads
	 * within the size do not ask. */
	cfg->attr_timeout = 0;
	cfg->entry_timeout = 1.0;
	cfg->negative_timeout = 1.0;
	cfg->kernel_cache = 0;
	return NULL;
}

static int
fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	(void)fi;
	return mnt_getattr(M(), path, st);
}

struct fill {
	void *buf;
	fuse_fill_dir_t filler;
};

static int
fill_one(void *arg, const char *name, const struct stat *st)
{
	struct fill *f = arg;

	return f->filler(f->buf, name, st, 0, 0);
}

static int
fs_readdir(const char *path, void *buf, fuse_fill_dir_t filler, off_t off,
    struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	struct fill f = { buf, filler };

	(void)off;
	(void)fi;
	(void)flags;
	return mnt_readdir(M(), path, fill_one, &f);
}

/* How the kernel reads an open file.  With passthrough, a day that will
 * not change is read from the generation's cache file by the kernel
 * itself: its pages are that file's, so they can be neither stale nor a
 * second copy, and no read reaches the daemon.  The kernel binds one
 * backing file to a path while it is open so, and allows no other kind of
 * open of it meanwhile: an open of another generation (built since, or
 * of a day that may change, read in direct I/O mode) joins those opens if
 * its bytes are the same, else waits for them to end, and fails with
 * EBUSY if they last.  The open that built a day binds the path to the
 * new file at once (its own reads in direct I/O mode, as the kernel has
 * no size for it yet), so the opens that waited for the build join it.  Without passthrough the kernel caches the
 * path's pages, kept while the generation is the same (mnt_open
 * decides). */
static int
fs_open(const char *path, struct fuse_file_info *fi)
{
	struct fs_file *ff;
	struct mnt_file *f;
	enum mnt_cache mode;
	const char *md5;
	int r = mnt_open(M(), path, fi->flags, &f, &mode), fd;

	if (r != 0)
		return r;
	ff = xcalloc(1, sizeof(*ff));
	ff->f = f;
	fi->fh = (uint64_t)(uintptr_t)ff;
	fi->keep_cache = fi->direct_io = 0;
	if (pt_enabled() && (fd = mnt_file_fd(f, &md5)) >= 0) {
		r = pt_open(path, fd, md5, mode == MNT_DIRECT, fi->fh,
		    &ff->pt);
		if (r == 0) {
			/* the open that built it: its reads through the
			 * daemon (the kernel's size was 0), its binding the
			 * new generation's file, which the opens that
			 * waited for the build join */
			fi->direct_io = mode == MNT_DIRECT_BUILT;
			return 0;
		}
		if (r == -EBUSY) {
			log_warn("cannot open '%s': an older version of it is "
			    "still open (close it, then open again)", path);
			mnt_release(M(), f);
			free(ff);
			return r;
		}
		/* direct I/O, which a later passthrough open allows */
		if (pt_enabled())
			mode = MNT_DIRECT;
	}
	fi->keep_cache = mode == MNT_CACHE_KEEP;
	fi->direct_io = mode == MNT_DIRECT || mode == MNT_DIRECT_BUILT;
	return 0;
}

static int
fs_read(const char *path, char *buf, size_t size, off_t off,
    struct fuse_file_info *fi)
{
	(void)path;
	return (int)mnt_read(F(fi), buf, size, off);
}

/* Reads are spliced from the pinned cache file, without a copy through
 * the daemon when the kernel allows: one buffer per piece (a series' day
 * is pieces of the whole day's file). */
static int
fs_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size,
    off_t off, struct fuse_file_info *fi)
{
	const struct mnt_file *f = F(fi);
	struct mnt_piece one, *pc = &one;
	struct fuse_bufvec *v;
	size_t n, i;

	(void)path;
	n = mnt_pieces(f, off, size, NULL, 0);
	if (n > 1 && (pc = calloc(n, sizeof(*pc))) == NULL)
		return -ENOMEM;
	mnt_pieces(f, off, size, pc, n);
	v = calloc(1, sizeof(*v) + (n > 1 ? n - 1 : 0) * sizeof(v->buf[0]));
	if (v == NULL) {
		if (pc != &one)
			free(pc);
		return -ENOMEM;
	}
	v->count = n;
	for (i = 0; i < n; i++) {
		v->buf[i].size = pc[i].len;
		if (pc[i].mem != NULL) {
			/* libfuse frees a memory buffer after the reply: a
			 * copy (the catalogue's text, small) */
			if ((v->buf[i].mem = malloc(pc[i].len + 1)) == NULL) {
				while (i-- > 0)
					if (!(v->buf[i].flags & FUSE_BUF_IS_FD))
						free(v->buf[i].mem);
				free(v);
				if (pc != &one)
					free(pc);
				return -ENOMEM;
			}
			memcpy(v->buf[i].mem, pc[i].mem, pc[i].len);
			continue;
		}
		v->buf[i].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		v->buf[i].fd = pc[i].fd;
		v->buf[i].pos = pc[i].pos;
	}
	if (pc != &one)
		free(pc);
	*bufp = v;
	return 0;
}

static int
fs_release(const char *path, struct fuse_file_info *fi)
{
	struct fs_file *ff = (struct fs_file *)(uintptr_t)fi->fh;

	(void)path;
	pt_release(ff->pt);
	mnt_release(M(), ff->f);
	free(ff);
	return 0;
}

static int
fs_getxattr(const char *path, const char *name, char *value, size_t size)
{
	return (int)mnt_getxattr(M(), path, name, value, size);
}

static int
fs_listxattr(const char *path, char *list, size_t size)
{
	return (int)mnt_listxattr(M(), path, list, size);
}

static int
fs_statfs(const char *path, struct statvfs *st)
{
	(void)path;
	memset(st, 0, sizeof(*st));
	st->f_bsize = st->f_frsize = 4096;
	st->f_namemax = 255;
	st->f_flag = ST_RDONLY;
	return 0;
}

static int
fs_access(const char *path, int mask)
{
	struct stat st;
	int r = mnt_getattr(M(), path, &st);

	if (r != 0)
		return r;
	return (mask & W_OK) ? -EROFS : 0;
}

/* Everything that would change the tree. */
static int ro_path(const char *p) { (void)p; return -EROFS; }
static int ro_mode(const char *p, mode_t m) { (void)p; (void)m; return -EROFS; }
static int ro_two(const char *a, const char *b) { (void)a; (void)b; return -EROFS; }
static int ro_rename(const char *a, const char *b, unsigned int f)
{ (void)a; (void)b; (void)f; return -EROFS; }
static int ro_mknod(const char *p, mode_t m, dev_t d)
{ (void)p; (void)m; (void)d; return -EROFS; }
static int ro_chmod(const char *p, mode_t m, struct fuse_file_info *fi)
{ (void)p; (void)m; (void)fi; return -EROFS; }
static int ro_chown(const char *p, uid_t u, gid_t g, struct fuse_file_info *fi)
{ (void)p; (void)u; (void)g; (void)fi; return -EROFS; }
static int ro_truncate(const char *p, off_t o, struct fuse_file_info *fi)
{ (void)p; (void)o; (void)fi; return -EROFS; }
static int ro_utimens(const char *p, const struct timespec tv[2],
    struct fuse_file_info *fi)
{ (void)p; (void)tv; (void)fi; return -EROFS; }
static int ro_write(const char *p, const char *b, size_t s, off_t o,
    struct fuse_file_info *fi)
{ (void)p; (void)b; (void)s; (void)o; (void)fi; return -EROFS; }
static int ro_create(const char *p, mode_t m, struct fuse_file_info *fi)
{ (void)p; (void)m; (void)fi; return -EROFS; }
static int ro_setxattr(const char *p, const char *n, const char *v, size_t s,
    int f)
{ (void)p; (void)n; (void)v; (void)s; (void)f; return -EROFS; }
static int ro_removexattr(const char *p, const char *n)
{ (void)p; (void)n; return -EROFS; }

static const struct fuse_operations ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.read_buf = fs_read_buf,
	.release = fs_release,
	.getxattr = fs_getxattr,
	.listxattr = fs_listxattr,
	.statfs = fs_statfs,
	.access = fs_access,
	.mknod = ro_mknod,
	.mkdir = ro_mode,
	.unlink = ro_path,
	.rmdir = ro_path,
	.symlink = ro_two,
	.rename = ro_rename,
	.link = ro_two,
	.chmod = ro_chmod,
	.chown = ro_chown,
	.truncate = ro_truncate,
	.write = ro_write,
	.create = ro_create,
	.utimens = ro_utimens,
	.setxattr = ro_setxattr,
	.removexattr = ro_removexattr,
};

/* While mounting, libfuse's first error is kept for our own message
 * (which says what to do) instead of being logged. */
static int mounting;
static char mount_why[512];

/* libfuse's own messages go where ours go (syslog once daemonized). */
static void
fuse_log_to_ours(enum fuse_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	const char *p = line;
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	if (strncmp(p, "fuse: ", 6) == 0)
		p += 6;
	if (mounting && level <= FUSE_LOG_ERR) {
		if (mount_why[0] == '\0')
			snprintf(mount_why, sizeof(mount_why), "%s", p);
		return;
	}
	log_msg(level <= FUSE_LOG_ERR ? LOG_LVL_ERROR : level == FUSE_LOG_WARNING
	    ? LOG_LVL_WARN : level <= FUSE_LOG_NOTICE ? LOG_LVL_NOTICE :
	    level == FUSE_LOG_INFO ? LOG_LVL_INFO : LOG_LVL_DEBUG, "fuse: %s",
	    p);
}

/* Why a mount failed, and what to do about it. */
static void
mount_failed(const struct fs_opts *o)
{
	struct stat st;

	if (geteuid() != 0 && access("/dev/fuse", R_OK | W_OK) != 0 &&
	    stat("/dev/fuse", &st) == 0)
		log_error("cannot mount on '%s': no permission to open /dev/fuse "
		    "(mode %04o, owner uid %u): mount as root, or let users "
		    "mount FUSE file systems (/dev/fuse mode 0666, as the fuse3 "
		    "package sets it)", o->mountpoint,
		    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	else if (access("/dev/fuse", F_OK) != 0)
		log_error("cannot mount on '%s': there is no /dev/fuse (load the "
		    "fuse module: modprobe fuse; in a container, pass the "
		    "device in)", o->mountpoint);
	else
		log_error("cannot mount on '%s': %s", o->mountpoint,
		    mount_why[0] ? mount_why : "libfuse gave no reason");
}

/* Whether standard error is systemd's journal (JOURNAL_STREAM names its
 * device and inode): a service's daemon then logs there, not to syslog
 * as well (journald would store each line twice). */
static int
stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return js != NULL && sscanf(js, "%llu:%llu", &dev, &ino) == 2 &&
	    fstat(STDERR_FILENO, &st) == 0 && (unsigned long long)st.st_dev ==
	    dev && (unsigned long long)st.st_ino == ino;
}

sw_err
fs_check(const struct sw_config *cfg)
{
	struct mnt *m;
	sw_err rc;

	if ((rc = mnt_new(cfg, &m)) != SW_OK)
		return rc;
	rc = mnt_check(m);
	mnt_free(m);
	return rc;
}

int
fs_run(const struct sw_config *cfg, const struct fs_opts *o)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse *f = NULL;
	struct mnt *m = NULL;
	struct buf mo;
	int status = 1, mounted = 0, journal = -1, r;

	buf_init(&mo);
	buf_printf(&mo, "ro,fsname=%s,subtype=swrepart",
	    o->fsname);
	if (o->allow_other)
		buf_puts(&mo, ",allow_other");
	fuse_opt_add_arg(&args, o->progname);
	if (o->debug)
		fuse_opt_add_arg(&args, "-d");
	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, mo.data);
	buf_release(&mo);
	fuse_set_log_func(fuse_log_to_ours);
	f = fuse_new(&args, &ops, sizeof(ops), NULL);
	if (f == NULL) {
		log_error("cannot set up the FUSE session (options above)");
		goto out;
	}
	mounting = 1;
	mount_why[0] = '\0';
	r = fuse_mount(f, o->mountpoint);
	mounting = 0;
	if (r != 0) {
		mount_failed(o);
		goto out;
	}
	mounted = 1;
	if (o->passthrough && geteuid() == 0 &&
	    pt_setup(fuse_get_session(f)) != 0)
		log_notice("passthrough is off: libfuse refused the I/O layer");
	if (!o->foreground && stderr_is_journal())
		journal = dup(STDERR_FILENO);
	if (fuse_daemonize(o->foreground) != 0) {
		log_error("cannot run in the background");
		goto out;
	}
	if (journal >= 0) {
		dup2(journal, STDERR_FILENO);
		close(journal);
	} else if (!o->foreground) {
		log_init(o->progname, 1);
	}
	if (mnt_new(cfg, &m) != SW_OK) {
		log_error("%s", sw_errmsg());
		goto out;
	}
	the_mnt = m;
	if (fuse_set_signal_handlers(fuse_get_session(f)) != 0) {
		log_error("cannot install the signal handlers");
		goto out;
	}
	log_notice("mounted %s on %s", o->fsname, o->mountpoint);
	/* One thread per request in progress: a day being built never
	 * holds up the others. */
	{
		/* A signal ends the loop with its number: a clean stop. */
		r = fuse_loop_mt(f, 0);
		status = r == 0 || r == SIGTERM || r == SIGINT || r == SIGHUP ?
		    0 : 1;
	}
	fuse_remove_signal_handlers(fuse_get_session(f));
	log_notice("unmounting %s", o->mountpoint);
out:
	if (mounted)
		fuse_unmount(f);
	if (f != NULL)
		fuse_destroy(f);
	the_mnt = NULL;
	mnt_free(m);
	fuse_opt_free_args(&args);
	return status;
}
