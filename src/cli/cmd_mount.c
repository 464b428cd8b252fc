/*
 * cmd_mount.c - `swrepart mount` and the mount(8) helper `mount.swrepart`
 * (main.c turns the helper's arguments into this command's): options,
 * mount-only words, the checks on the mount point; fs.c does the rest.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/options.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "fuse/fs.h"

enum { O_FOREGROUND, O_DEBUG, O_SOURCE };

static const struct cmd_opt mount_opts[] = {
	[O_FOREGROUND] = { "foreground", 'f', NULL,
	    "stay in the foreground and log to stderr (mount.swrepart: "
	    "-o foreground; its -f fakes the mount, as mount(8) means)" },
	[O_DEBUG] = { "debug", 'd', NULL,
	    "in the foreground, with libfuse's trace of every request" },
	[O_SOURCE] = { "source", 0, "URL", "the cold tier: s3://BUCKET[/PREFIX]"
	    " or file:///DIR (default: the config's)" },
	{ NULL, 0, NULL, NULL }
};

/* Words of fstab and mount(8) that mean nothing to a FUSE daemon, or only
 * what swrepart does anyway (read-only). */
static int
dropped_word(const char *w)
{
	static const char *const words[] = {
		"_netdev", "nofail", "auto", "noauto", "user", "users", "nouser",
		"owner", "group", "defaults", "ro", "rw", "nodev", "nosuid",
		"dev", "suid", "exec", "noexec", "atime", "noatime", "relatime",
		"norelatime", "strictatime", "nodiratime", "sync", "async",
		"default_permissions", NULL
	};
	size_t i;

	if (strncmp(w, "x-", 2) == 0 || strncmp(w, "comment=", 8) == 0 ||
	    strncmp(w, "user=", 5) == 0 || strncmp(w, "uhelper=", 8) == 0)
		return 1;
	for (i = 0; words[i] != NULL; i++)
		if (strcmp(w, words[i]) == 0)
			return 1;
	return 0;
}

/* Whether path is a mount point already (per /proc/self/mountinfo). */
static int
mounted_at(const char *path, char *fstype, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "r");
	char line[8192];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char mp[PATH_MAX], *dash, *p, *q;
		int field = 0;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS ... - TYPE SOURCE */
		for (p = line; field < 4 && *p; p++)
			if (*p == ' ')
				field++;
		for (q = mp; *p && *p != ' ' && q < mp + sizeof(mp) - 1; p++) {
			if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' &&
			    p[2] >= '0' && p[3] >= '0') {
				*q++ = (char)(((p[1] - '0') << 6) |
				    ((p[2] - '0') << 3) | (p[3] - '0'));
				p += 3;
			} else {
				*q++ = *p;
			}
		}
		*q = '\0';
		if (strcmp(mp, path) != 0)
			continue;
		found = 1;
		if ((dash = strstr(line, " - ")) != NULL)
			snprintf(fstype, len, "%.*s", (int)strcspn(dash + 3, " "),
			    dash + 3);
	}
	fclose(f);
	return found;
}

/* Whether directory path holds anything: 1, 0, or -1 (errno set). */
static int
not_empty(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int found = 0;

	if (d == NULL)
		return -1;
	while (!found && (de = readdir(d)) != NULL)
		found = strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0;
	closedir(d);
	return found;
}

/* Whether /etc/fuse.conf has a line "user_allow_other". */
static int
fuse_conf_allows_other(void)
{
	FILE *f = fopen("/etc/fuse.conf", "r");
	char line[256];
	int found = 0;

	if (f == NULL)
		return 0;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *p = line + strspn(line, " \t");

		found = strncmp(p, "user_allow_other", 16) == 0 &&
		    (p[16] == '\0' || strchr(" \t\r\n#", p[16]) != NULL);
	}
	fclose(f);
	return found;
}

static int
cmd_mount(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	struct fs_opts fo;
	char real[PATH_MAX], fstype[64] = "", *fsname;
	struct stat st;
	int i, nonempty = 0;
	sw_err rc = SW_OK;

	memset(&fo, 0, sizeof(fo));
	fo.progname = ctx->progname;
	fo.passthrough = 1;
	for (i = 0; i < nargs && rc == SW_OK; i++) {
		switch (args[i].opt) {
		case O_FOREGROUND:
			fo.foreground = 1;
			break;
		case O_DEBUG:
			fo.foreground = fo.debug = 1;
			log_set_level(LOG_LVL_DEBUG);
			break;
		case O_SOURCE:
			if (strcmp(args[i].value, "swrepart") == 0 ||
			    strcmp(args[i].value, "none") == 0)
				break;
			if (strncmp(args[i].value, "s3://", 5) != 0 &&
			    strncmp(args[i].value, "file://", 7) != 0) {
				rc = sw_seterr(SW_ERR_USAGE, "the source '%s' is "
				    "not s3://BUCKET[/PREFIX] or file:///DIR",
				    args[i].value);
				break;
			}
			free(ctx->cfg.cold_bucket);
			ctx->cfg.cold_bucket = xstrdup(args[i].value);
			break;
		}
	}
	for (i = 0; rc == SW_OK && i < ctx->nwords; i++) {
		const char *w = ctx->words[i];

		if (strcmp(w, "allow_other") == 0)
			fo.allow_other = 1;
		else if (strcmp(w, "debug") == 0) {
			fo.foreground = fo.debug = 1;
			log_set_level(LOG_LVL_DEBUG);
		}
		else if (strcmp(w, "foreground") == 0)
			fo.foreground = 1;
		else if (strcmp(w, "nonempty") == 0)
			nonempty = 1;
		else if (strcmp(w, "exact_size") == 0)
			ctx->cfg.mount_exact_size = 1;
		else if (strcmp(w, "nopassthrough") == 0)
			fo.passthrough = 0;
		else if (!dropped_word(w))
			rc = sw_seterr(SW_ERR_USAGE, "unknown mount option '%s' "
			    "(give settings as -o KEY=VALUE, see swrepart.conf(5))",
			    w);
	}
	if (rc == SW_OK && argc != 1)
		rc = sw_seterr(SW_ERR_USAGE, "give one mount point (%d given)",
		    argc);
	if (rc == SW_OK && ctx->cfg.cold_bucket == NULL)
		rc = sw_seterr(SW_ERR_CONFIG, "no cold tier to mount: give a "
		    "source (s3://BUCKET/) or set s3.cold_tier.bucket_name");
	if (rc != SW_OK)
		return cmd_fail(rc);
	if (stat(argv[0], &st) < 0) {
		if (errno == ENOTCONN)
			return cmd_fail(sw_seterr(SW_ERR_USAGE, "'%s' is a dead "
			    "FUSE mount (transport endpoint is not connected):"
			    " run 'fusermount3 -u %s' first", argv[0],
			    argv[0]));
		return cmd_fail(sw_seterr(SW_ERR_NOTFOUND, "mount point '%s': "
		    "%s", argv[0], strerror(errno)));
	}
	if (!S_ISDIR(st.st_mode))
		return cmd_fail(sw_seterr(SW_ERR_USAGE, "mount point '%s' is "
		    "not a directory", argv[0]));
	if (realpath(argv[0], real) == NULL)
		return cmd_fail(sw_seterr(SW_ERR_IO, "mount point '%s': %s",
		    argv[0], strerror(errno)));
	if (mounted_at(real, fstype, sizeof(fstype)))
		return cmd_fail(sw_seterr(SW_ERR_USAGE, "'%s' is already a "
		    "mount point (%s): unmount it first", real,
		    fstype[0] ? fstype : "unknown type"));
	/* libfuse 3 mounts over files silently; they would be hidden. */
	if (!nonempty && not_empty(real) == 1)
		return cmd_fail(sw_seterr(SW_ERR_USAGE, "mount point '%s' is "
		    "not empty: its files would be hidden while mounted "
		    "(-o nonempty mounts over them)", real));
	if (fo.allow_other && geteuid() != 0 && !fuse_conf_allows_other())
		return cmd_fail(sw_seterr(SW_ERR_USAGE, "-o allow_other: a user "
		    "other than root needs the line 'user_allow_other' in "
		    "/etc/fuse.conf (or mount without allow_other)"));
	/* The daemon runs in "/": a relative cache directory must be made
	 * absolute now. */
	if (ctx->cfg.cache_dir != NULL && ctx->cfg.cache_dir[0] != '/') {
		char cwd[PATH_MAX];
		struct buf b;

		if (getcwd(cwd, sizeof(cwd)) == NULL)
			return cmd_fail(sw_seterr(SW_ERR_IO, "cannot resolve "
			    "the cache directory '%s': %s", ctx->cfg.cache_dir,
			    strerror(errno)));
		buf_init(&b);
		buf_printf(&b, "%s/%s", cwd, ctx->cfg.cache_dir);
		free(ctx->cfg.cache_dir);
		ctx->cfg.cache_dir = buf_detach(&b);
	}
	/* fsname is one FUSE option: escape its commas and backslashes. */
	{
		char *url = config_bucket_url(ctx->cfg.cold_bucket);
		struct buf b;
		const char *p;

		buf_init(&b);
		for (p = url; *p; p++) {
			if (*p == ',' || *p == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *p);
		}
		free(url);
		fsname = buf_detach(&b);
	}
	fo.mountpoint = real;
	fo.fsname = fsname;
	if ((rc = fs_check(&ctx->cfg)) != SW_OK)
		i = cmd_fail(rc);
	else
		i = fs_run(&ctx->cfg, &fo);
	free(fsname);
	return i;
}

const struct cmd_entry cmd_mount_entry = {
	"mount", "[options] MOUNTPOINT",
	"show the cold tier as /YYYY/MM/DD.avro, merged on first read",
	mount_opts, cmd_mount
};
