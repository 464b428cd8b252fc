/*
 * fs.h - serve the mount model (mnt.h) through FUSE.
 */
#ifndef SWREPART_FS_H
#define SWREPART_FS_H

struct sw_config;

struct fs_opts {
	const char *progname;     /* for messages and syslog */
	const char *mountpoint;
	const char *fsname;       /* shown by mount(8): the source */
	int foreground;           /* stay in the foreground, log to stderr */
	int debug;                /* libfuse's request trace */
	int allow_other;          /* let other users in */
};

/* Check the source, mount, daemonize (unless foreground), serve until
 * unmounted or signalled (SIGTERM, SIGINT, SIGHUP), unmount.  Returns
 * the exit status. */
int fs_run(const struct sw_config *cfg, const struct fs_opts *o);

#endif
