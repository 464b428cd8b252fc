/*
 * passthrough.h - the kernel's FUSE passthrough (Linux 6.9+) under
 * libfuse 3.14, which predates it: a cached day is opened with its cache
 * file as the backing file, and the kernel reads that file itself (its
 * page cache, its readahead), with no request to the daemon and no second
 * page cache.  A read through the mount then costs what reading the cache
 * file costs.
 *
 * libfuse 3.14 can neither ask for passthrough in its INIT reply nor give
 * a backing file in an OPEN reply, so pt_setup() puts a thin I/O layer
 * between libfuse and /dev/fuse (fuse_session_custom_io) that completes
 * those two replies and passes every other byte through unchanged.
 *
 * The kernel binds one backing file to an inode while any passthrough
 * open of it lasts, and fails any other open of it meanwhile (page-cached,
 * direct I/O, or with another backing file): so every open of a path
 * shares one backing id (pt_open), an open of another generation of the
 * day joins them if its bytes are the same (a day built again alike) or
 * waits for them to end, and once passthrough is on, a path that can use
 * it is never opened page-cached.
 */
#ifndef SWREPART_PASSTHROUGH_H
#define SWREPART_PASSTHROUGH_H

#include <stdint.h>

struct fuse_session;
struct pt_ref;

/* Ask for passthrough on this session (mounted, not yet looping): 0, or
 * -1 when libfuse refuses the I/O layer (then nothing changes). */
int pt_setup(struct fuse_session *se);

/* Whether the kernel agreed to passthrough (known after INIT). */
int pt_enabled(void);

/* Open path's reply (sent next by this thread, for file handle fh) with
 * fd's file as the backing file, whose bytes have MD5 md5 (NULL or "":
 * not known).  While path is open in passthrough mode with other bytes
 * (another generation), wait for those opens to end; a file of the same
 * bytes joins them.  With join_only, only join: -EAGAIN when path is not
 * open so (the caller reads in direct I/O mode).  0 and *out (for
 * pt_release), or a negative errno: -EBUSY when path stayed open with
 * other bytes for seconds, -EPERM when the daemon may not open backing
 * files (then passthrough is off for the rest of the mount, if nothing
 * uses it). */
int pt_open(const char *path, int fd, const char *md5, int join_only,
    uint64_t fh, struct pt_ref **out);

/* The open ended (FUSE release): the backing id goes with its last open.
 * Accepts NULL. */
void pt_release(struct pt_ref *r);

#endif
