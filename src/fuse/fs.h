/*
 * fs.h - serve the mount model (mnt.h) through FUSE.
 */
#ifndef SWREPART_FS_H
#define SWREPART_FS_H

#include "base/err.h"

struct sw_config;

struct fs_opts {
	const char *progname;     /* for messages and syslog */
	const char *mountpoint;
	const char *fsname;       /* shown by mount(8): the source */
	int foreground;           /* stay in the foreground, log to stderr */
	int debug;                /* libfuse's request trace */
	int allow_other;          /* let other users in */
	int passthrough;          /* the kernel reads cached days itself */
};

/* Check what can be checked before mounting (the cold tier answers, the
 * cache is usable), with a mount model of its own: threads and sqlite
 * connections do not survive fork(), so the daemon makes a fresh one. */
sw_err fs_check(const struct sw_config *cfg);

/* Mount, daemonize (unless foreground), serve until
 * unmounted or signalled (SIGTERM, SIGINT, SIGHUP), unmount.  Returns
 * the exit status. */
int fs_run(const struct sw_config *cfg, const struct fs_opts *o);

#endif
