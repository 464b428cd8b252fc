/*
 * passthrough.c - the kernel's FUSE passthrough under libfuse 3.14 (see
 * passthrough.h): an I/O layer that completes the INIT and OPEN replies,
 * and the backing ids of the paths open in passthrough mode.
 */
#include "config.h"

#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "fuse/passthrough.h"

/* The protocol's words for passthrough (7.40), which the system's
 * <linux/fuse.h> may predate: defined here, as the kernel defines them. */
enum {
	PT_OP_OPEN = 14,
	PT_OP_INIT = 26,
	PT_INIT_EXT = 1u << 30,           /* flags: flags2 is meant */
	PT_PASSTHROUGH2 = 1u << (37 - 32),/* flags2: FUSE_PASSTHROUGH */
	PT_FOPEN_PASSTHROUGH = 1u << 7,
	PT_STACK_DEPTH = 1                /* backing files on plain fs */
};

struct pt_in_header {
	uint32_t len, opcode;
	uint64_t unique, nodeid;
	uint32_t uid, gid, pid;
	uint16_t total_extlen, padding;
};

struct pt_init_in {
	uint32_t major, minor, max_readahead, flags, flags2;
};

struct pt_out_header {
	uint32_t len;
	int32_t error;
	uint64_t unique;
};

struct pt_init_out {
	uint32_t major, minor, max_readahead, flags;
	uint16_t max_background, congestion_threshold;
	uint32_t max_write, time_gran;
	uint16_t max_pages, map_alignment;
	uint32_t flags2, max_stack_depth;
};

struct pt_open_out {
	uint64_t fh;
	uint32_t open_flags;
	int32_t backing_id;
};

struct pt_backing_map {
	int32_t fd;
	uint32_t flags;
	uint64_t padding;
};

#define PT_IOC_BACKING_OPEN _IOW(229, 1, struct pt_backing_map)
#define PT_IOC_BACKING_CLOSE _IOW(229, 2, uint32_t)

/* A path open in passthrough mode: its backing file and how many opens
 * share it. */
struct pt_ref {
	struct pt_ref *next;
	char *path;
	dev_t dev;
	ino_t ino;
	char md5[33];             /* of its bytes, or "": not known */
	int32_t id;
	unsigned nopen;
};

/* How long an open waits for the opens of another generation of its
 * path to end before it fails with EBUSY. */
#define PT_WAIT_S 5

static pthread_mutex_t pt_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pt_cv = PTHREAD_COND_INITIALIZER;  /* a path freed */
static struct pt_ref *pt_refs;    /* under pt_mu */
static int pt_devfd = -1;
static int pt_offered;            /* the kernel's INIT offers it */
static int pt_init_done;          /* the INIT reply went out */
static volatile int pt_on;        /* the kernel agreed; off after EPERM */

/* The OPEN reply this thread sends next, and its backing id. */
static __thread uint64_t pt_pending_fh;
static __thread int32_t pt_pending_id = -1;

static ssize_t
pt_read(int fd, void *buf, size_t len, void *userdata)
{
	ssize_t r = read(fd, buf, len);
	const struct pt_in_header *h = buf;
	const struct pt_init_in *in = (const void *)(h + 1);

	(void)userdata;
	if (!pt_init_done && r >= (ssize_t)(sizeof(*h) + sizeof(*in)) &&
	    h->opcode == PT_OP_INIT && in->major == 7)
		pt_offered = (in->flags & PT_INIT_EXT) &&
		    (in->flags2 & PT_PASSTHROUGH2);
	return r;
}

/* The INIT reply (the first reply of the session): ask for passthrough
 * when the kernel offered it. */
static void
pt_fix_init(struct iovec *iov, int count)
{
	const struct pt_out_header *h = iov[0].iov_base;
	struct pt_init_out *o;

	pt_init_done = 1;
	if (count != 2 || h->error != 0 || iov[1].iov_len < sizeof(*o) ||
	    ((struct pt_init_out *)iov[1].iov_base)->major != 7)
		return;
	if (!pt_offered) {
		log_info("the kernel offers no FUSE passthrough: the daemon "
		    "answers the reads");
		return;
	}
	o = iov[1].iov_base;
	o->flags |= PT_INIT_EXT;
	o->flags2 |= PT_PASSTHROUGH2;
	o->max_stack_depth = PT_STACK_DEPTH;
	pt_on = 1;
	log_info("passthrough: the kernel reads settled cached days from "
	    "their cache files");
}

/* The OPEN reply this thread was told of: its backing id. */
static void
pt_fix_open(struct iovec *iov, int count)
{
	const struct pt_out_header *h = iov[0].iov_base;
	struct pt_open_out *o;

	if (count != 2 || h->error != 0 || iov[1].iov_len != sizeof(*o))
		return;
	o = iov[1].iov_base;
	if (o->fh != pt_pending_fh)
		return;
	o->open_flags |= PT_FOPEN_PASSTHROUGH;
	o->backing_id = pt_pending_id;
}

static ssize_t
pt_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	if (count >= 1 && iov[0].iov_len >= sizeof(struct pt_out_header)) {
		if (!pt_init_done)
			pt_fix_init(iov, count);
		else if (pt_pending_id >= 0)
			pt_fix_open(iov, count);
	}
	pt_pending_id = -1;
	return writev(fd, iov, count);
}

static ssize_t
pt_splice(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
    unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int
pt_setup(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.writev = pt_writev,
		.read = pt_read,
		.splice_receive = pt_splice,
		.splice_send = pt_splice,
	};
	int fd = fuse_session_fd(se);

	if (fd < 0 || fuse_session_custom_io(se, &io, fd) != 0)
		return -1;
	pt_devfd = fd;
	return 0;
}

int
pt_enabled(void)
{
	return pt_on;
}

static void
pt_close_id(int32_t id)
{
	uint32_t u = (uint32_t)id;

	if (ioctl(pt_devfd, PT_IOC_BACKING_CLOSE, &u) != 0)
		log_debug("cannot close the backing id %d: %s", (int)id,
		    strerror(errno));
}

static struct pt_ref *
pt_find(const char *path)
{
	struct pt_ref *r;

	for (r = pt_refs; r != NULL; r = r->next)
		if (strcmp(r->path, path) == 0)
			return r;
	return NULL;
}

/* Whether r's backing file serves the bytes of (dev, ino), whose MD5 is
 * md5 ("" or NULL: not known): the same file, or the same bytes (another
 * generation built alike). */
static int
pt_same(const struct pt_ref *r, dev_t dev, ino_t ino, const char *md5)
{
	return (r->dev == dev && r->ino == ino) || (md5 != NULL &&
	    md5[0] != '\0' && strcmp(r->md5, md5) == 0);
}

/* Under pt_mu: wait until path is not open in passthrough mode with
 * other bytes than those of (dev, ino, md5), for PT_WAIT_S seconds at
 * most: its entry then (NULL when none is open), or NULL and -EBUSY in
 * *err when the wait was vain. */
static struct pt_ref *
pt_wait(const char *path, dev_t dev, ino_t ino, const char *md5, int *err)
{
	struct timespec until;
	struct pt_ref *r;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PT_WAIT_S;
	*err = 0;
	while ((r = pt_find(path)) != NULL && !pt_same(r, dev, ino, md5))
		if (pthread_cond_timedwait(&pt_cv, &pt_mu, &until) != 0) {
			r = pt_find(path);
			if (r != NULL && !pt_same(r, dev, ino, md5)) {
				*err = -EBUSY;
				r = NULL;
			}
			break;
		}
	return r;
}

int
pt_open(const char *path, int fd, const char *md5, int join_only,
    uint64_t fh, struct pt_ref **out)
{
	struct pt_backing_map map;
	struct pt_ref *r;
	struct stat st;
	int32_t id;
	int err = 0;

	*out = NULL;
	if (!pt_on)
		return -EOPNOTSUPP;
	if (fstat(fd, &st) != 0)
		return -errno;
	pthread_mutex_lock(&pt_mu);
	r = pt_wait(path, st.st_dev, st.st_ino, md5, &err);
	if (err != 0)
		goto out;     /* open with other bytes */
	if (r == NULL && join_only) {
		err = -EAGAIN;
		goto out;
	}
	if (r == NULL) {
		memset(&map, 0, sizeof(map));
		map.fd = fd;
		if ((id = (int32_t)ioctl(pt_devfd, PT_IOC_BACKING_OPEN,
		    &map)) < 0) {
			err = -errno;
			if (err == -EPERM && pt_refs == NULL) {
				pt_on = 0;
				log_notice("passthrough is off: the daemon may not "
				    "open backing files (CAP_SYS_ADMIN); reads go "
				    "through it");
			}
			goto out;
		}
		r = xcalloc(1, sizeof(*r));
		r->path = xstrdup(path);
		r->dev = st.st_dev;
		r->ino = st.st_ino;
		snprintf(r->md5, sizeof(r->md5), "%s", md5 != NULL ? md5 : "");
		r->id = id;
		r->next = pt_refs;
		pt_refs = r;
	}
	r->nopen++;
	pt_pending_fh = fh;
	pt_pending_id = r->id;
	*out = r;
out:
	pthread_mutex_unlock(&pt_mu);
	return err;
}

void
pt_release(struct pt_ref *r)
{
	struct pt_ref **pp;

	if (r == NULL)
		return;
	pthread_mutex_lock(&pt_mu);
	if (--r->nopen > 0) {
		pthread_mutex_unlock(&pt_mu);
		return;
	}
	for (pp = &pt_refs; *pp != NULL && *pp != r; pp = &(*pp)->next)
		;
	if (*pp == r)
		*pp = r->next;
	pt_close_id(r->id);
	pthread_cond_broadcast(&pt_cv);
	pthread_mutex_unlock(&pt_mu);
	free(r->path);
	free(r);
}
