/*
 * main.c - swrepart's entry point: the command table, option parsing and
 * configuration loading shared by every command.
 *
 *   swrepart [GLOBAL OPTIONS] COMMAND [OPTIONS] [OPERANDS]
 *
 * Global options are -c FILE, -o KEY=VALUE, -v, -q and every setting of
 * the option table as --NAME VALUE (see options.c); they may appear before
 * or after the command.  Exit statuses come from err.c.
 */
#include "config.h"

#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <curl/curl.h>
#define FUSE_USE_VERSION 31
#include <fuse3/fuse.h>
#include <openssl/opensslv.h>
#include <sqlite3.h>

#include "aws/creds.h"
#include "base/log.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/coldtier.h"

static const struct cmd_opt no_opts[] = { { NULL, 0, NULL, NULL } };


enum { G_CONFIG, G_OPT, G_VERBOSE, G_QUIET, G_HELP, G_VERSION };

const struct cmd_opt global_opts[] = {
	[G_CONFIG] = { "config", 'c', "FILE", "read settings from FILE" },
	[G_OPT] = { "option", 'o', "KEY=VALUE",
	    "set any config key, e.g. -o aws.region=eu-west-1" },
	[G_VERBOSE] = { "verbose", 'v', NULL, "say more (repeat for debug)" },
	[G_QUIET] = { "quiet", 'q', NULL, "print errors only" },
	[G_HELP] = { "help", 'h', NULL, "show help" },
	[G_VERSION] = { "version", 'V', NULL, "show the version" },
	{ NULL, 0, NULL, NULL }
};

/* getopt values: kind * BASE + index. */
#define BASE 1000
enum { K_GLOBAL = 1, K_CONFIG, K_NOCONFIG, K_CMD };

static const char *progname = PACKAGE;

static const struct cmd_entry *
find_cmd(const char *name)
{
	const struct cmd_entry *const *c;

	for (c = cmd_table; *c != NULL; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

/* "unknown command 'sycn' (did you mean 'sync'?)" */
static sw_err
unknown_command(const char *name)
{
	const char *names[32], *hint;
	size_t n = 0;
	const struct cmd_entry *const *c;

	for (c = cmd_table; *c != NULL && n < 32; c++)
		names[n++] = (*c)->name;
	hint = opt_closest(name, names, n);
	if (hint != NULL)
		return sw_seterr(SW_ERR_USAGE, "unknown command '%s' (did you "
		    "mean '%s'?)", name, hint);
	return sw_seterr(SW_ERR_USAGE, "unknown command '%s' (see '%s help')",
	    name, progname);
}

static void
print_opt(FILE *f, int shortopt, const char *name, const char *argname,
    const char *help)
{
	char left[64];

	if (shortopt)
		snprintf(left, sizeof(left), "-%c, --%s%s%s", shortopt, name,
		    argname ? " " : "", argname ? argname : "");
	else
		snprintf(left, sizeof(left), "    --%s%s%s", name,
		    argname ? " " : "", argname ? argname : "");
	fprintf(f, "  %-34s %s\n", left, help);
}

static void
print_settings(FILE *f)
{
	size_t i;

	fprintf(f, "\nSettings (config key, or the option beside it):\n");
	for (i = 0; i < opt_count; i++) {
		const struct opt_def *o = &opt_table[i];
		char name[64];

		snprintf(name, sizeof(name), "%s%s", o->type == OPT_BOOL ?
		    "[no-]" : "", o->longopt);
		print_opt(f, 0, name, o->type == OPT_BOOL ? NULL : o->argname,
		    o->help);
		fprintf(f, "  %-34s (%s%s%s)\n", "", o->key,
		    o->defval ? ", default " : "", o->defval ? o->defval : "");
	}
}

static void
usage_cmd(FILE *f, const struct cmd_entry *c)
{
	const struct cmd_opt *o;

	if (strcmp(progname, "mount.swrepart") == 0 &&
	    strcmp(c->name, "mount") == 0) {
		/* the helper's own words, as mount(8) runs it */
		fprintf(f, "usage: mount.swrepart [SOURCE] MOUNTPOINT [-fnsv] "
		    "[-o OPTIONS]\n\n%s (mount(8) runs it for type "
		    "swrepart)\n\n"
		    "  -f          fake: do not mount (as "
		    "mount -f)\n"
		    "  -n, -s      accepted and ignored (no mtab; sloppy)\n"
		    "  -v          more messages\n"
		    "  -o OPTIONS  comma-separated: KEY=VALUE for any setting, "
		    "config=FILE,\n"
		    "              foreground, debug, allow_other, nonempty, "
		    "exact_size,\n"
		    "              nopassthrough, and mount(8)'s words (_netdev, "
		    "nofail, auto,\n"
		    "              x-systemd.*, ...)\n\n"
		    "Settings: swrepart help; every option: mount.swrepart(8)"
		    ".\n", c->summary);
		return;
	}
	fprintf(f, "usage: %s %s %s\n\n%s\n", progname, c->name, c->args,
	    c->summary);
	if (c->opts[0].name != NULL) {
		fprintf(f, "\nOptions:\n");
		for (o = c->opts; o->name != NULL; o++)
			print_opt(f, o->shortopt, o->name, o->argname, o->help);
	}
	fprintf(f, "\nGlobal options and settings: %s help\n", progname);
}

static void
usage(FILE *f)
{
	const struct cmd_entry *const *c;
	const struct cmd_opt *o;

	fprintf(f, "usage: %s [options] COMMAND [options] [operands]\n\n"
	    "Re-partitions the AWS IoT SiteWise cold tier into one Avro file "
	    "per day.\n\nCommands:\n", progname);
	for (c = cmd_table; *c != NULL; c++)
		fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
	fprintf(f, "\nGlobal options:\n");
	for (o = global_opts; o->name != NULL; o++)
		print_opt(f, o->shortopt, o->name, o->argname, o->help);
	print_settings(f);
	config_help_files(f);
	fprintf(f, "\nSee %s help COMMAND, swrepart(1) and swrepart.conf(5).\n",
	    progname);
}

static int
cmd_help(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	const struct cmd_entry *c;

	(void)ctx;
	(void)args;
	(void)nargs;
	if (argc == 0) {
		usage(stdout);
		return 0;
	}
	if ((c = find_cmd(argv[0])) == NULL)
		return cmd_fail(unknown_command(argv[0]));
	usage_cmd(stdout, c);
	return 0;
}

static int
cmd_version(struct ctx *ctx, const struct cmd_arg *args, int nargs, int argc,
    char **argv)
{
	(void)ctx;
	(void)args;
	(void)nargs;
	(void)argc;
	(void)argv;
	printf("%s %s\n", PACKAGE, VERSION);
	printf("libcurl %s, %s, sqlite %s, libfuse %d.%d, avro-c\n",
	    curl_version_info(CURLVERSION_NOW)->version, OPENSSL_VERSION_TEXT,
	    sqlite3_libversion(), FUSE_MAJOR_VERSION, FUSE_MINOR_VERSION);
	return 0;
}

const struct cmd_entry cmd_help_entry = {
	"help", "[COMMAND]", "show help for swrepart or one command",
	no_opts, cmd_help
};

const struct cmd_entry cmd_version_entry = {
	"version", "", "show the version and the libraries in use",
	no_opts, cmd_version
};

/* A setting given on the command line, applied after the config file. */
struct override {
	const struct opt_def *o;
	const char *value;
	const char *origin;
};

struct parsed {
	struct override ov[256];
	int nov;
	const char *config_path;
	int verbose, quiet, help, version;
	char *words[64];        /* -o items that are no config key */
	int nwords;
	struct cmd_arg *args;
	int nargs;
};

static struct option *
build_longopts(const struct cmd_entry *c, char *shortopts, size_t slen)
{
	size_t n = 0, i, cap = opt_count * 2 + 32;
	struct option *lo;
	const struct cmd_opt *o;
	size_t sp = 0;

	if (c != NULL)
		for (o = c->opts; o->name != NULL; o++)
			cap++;
	lo = xcalloc(cap + 1, sizeof(*lo));
	shortopts[sp++] = c == NULL ? '+' : '-';
	shortopts[sp++] = ':';
	for (i = 0; global_opts[i].name != NULL; i++) {
		o = &global_opts[i];
		lo[n++] = (struct option){ o->name, o->argname ?
		    required_argument : no_argument, NULL,
		    K_GLOBAL * BASE + (int)i };
	}
	for (i = 0; i < opt_count; i++) {
		const struct opt_def *d = &opt_table[i];
		static char noname[64][48];

		lo[n++] = (struct option){ d->longopt, d->type == OPT_BOOL ?
		    no_argument : required_argument, NULL,
		    K_CONFIG * BASE + (int)i };
		if (d->type == OPT_BOOL && i < 64) {
			snprintf(noname[i], sizeof(noname[i]), "no-%s",
			    d->longopt);
			lo[n++] = (struct option){ noname[i], no_argument,
			    NULL, K_NOCONFIG * BASE + (int)i };
		}
	}
	if (c != NULL)
		for (i = 0, o = c->opts; o->name != NULL; o++, i++)
			lo[n++] = (struct option){ o->name, o->argname ?
			    required_argument : no_argument, NULL,
			    K_CMD * BASE + (int)i };
	/* Short options: globals, then the command's. */
	for (i = 0; global_opts[i].name != NULL && sp + 3 < slen; i++) {
		shortopts[sp++] = (char)global_opts[i].shortopt;
		if (global_opts[i].argname)
			shortopts[sp++] = ':';
	}
	if (c != NULL)
		for (o = c->opts; o->name != NULL && sp + 3 < slen; o++) {
			if (!o->shortopt)
				continue;
			shortopts[sp++] = (char)o->shortopt;
			if (o->argname)
				shortopts[sp++] = ':';
		}
	shortopts[sp] = '\0';
	return lo;
}

static int
short_to_val(const struct cmd_entry *c, int ch)
{
	const struct cmd_opt *o;
	int i;

	for (i = 0; global_opts[i].name != NULL; i++)
		if (global_opts[i].shortopt == ch)
			return K_GLOBAL * BASE + i;
	if (c != NULL)
		for (i = 0, o = c->opts; o->name != NULL; o++, i++)
			if (o->shortopt == ch)
				return K_CMD * BASE + i;
	return -1;
}

/* "unknown option '--form' for 'sync' (did you mean '--from'?)": the
 * closest of the long options parse() knows at that point (lo). */
static sw_err
unknown_option(const struct cmd_entry *c, const struct option *lo,
    const char *bad)
{
	const char *names[BASE], *hint = NULL;
	char word[128];
	size_t n = 0;

	if (strncmp(bad, "--", 2) == 0) {
		snprintf(word, sizeof(word), "%.*s", (int)strcspn(bad + 2, "="),
		    bad + 2);
		for (; lo->name != NULL && n < BASE; lo++)
			names[n++] = lo->name;
		hint = opt_closest(word, names, n);
	}
	return sw_seterr(SW_ERR_USAGE, "unknown option '%.*s'%s%s%s%s%s%s",
	    (int)strcspn(bad, "="), bad, c ? " for '" : "", c ? c->name : "",
	    c ? "'" : "", hint ? " (did you mean '--" : "", hint ? hint : "",
	    hint ? "'?)" : "");
}

/*
 * Parse argv with getopt_long.  Before the command (c NULL) parsing stops
 * at the first operand; after it, options and operands may mix and the
 * operands are gathered into *operands.
 */
static sw_err
parse(struct parsed *p, const struct cmd_entry *c, int argc, char **argv,
    int *consumed, char ***operands, int *noperands)
{
	char shortopts[128];
	struct option *lo = build_longopts(c, shortopts, sizeof(shortopts));
	int ch, li;
	sw_err rc = SW_OK;

	optind = 0; /* glibc: start afresh on a new argv */
	opterr = 0;
	if (operands != NULL) {
		*operands = xcalloc((size_t)argc + 1, sizeof(char *));
		*noperands = 0;
	}
	while ((ch = getopt_long(argc, argv, shortopts, lo, &li)) != -1) {
		int val = ch, kind, idx;

		if (ch == 1) { /* an operand, in '-' mode */
			(*operands)[(*noperands)++] = optarg;
			continue;
		}
		if (ch == ':') {
			rc = sw_seterr(SW_ERR_USAGE, "option '%s' needs a value",
			    argv[optind - 1]);
			break;
		}
		if (ch == '?') {
			rc = unknown_option(c, lo, argv[optind - 1]);
			break;
		}
		if (ch < BASE)
			val = short_to_val(c, ch);
		kind = val / BASE;
		idx = val % BASE;
		switch (kind) {
		case K_GLOBAL:
			switch (idx) {
			case G_CONFIG:
				p->config_path = optarg;
				break;
			case G_OPT: {
				/* KEY=VALUE[,KEY=VALUE...]; for mount, also the
				 * words of mount(8) and fstab. */
				char *item, *save = NULL;

				for (item = strtok_r(optarg, ",", &save);
				    item != NULL && rc == SW_OK;
				    item = strtok_r(NULL, ",", &save)) {
					char *eq = strchr(item, '=');
					const struct opt_def *o = NULL;

					if (eq != NULL) {
						*eq = '\0';
						o = opt_find_key(item);
						if (o == NULL)
							o = opt_find_long(item);
						if (strcmp(item, "config") == 0) {
							p->config_path = eq + 1;
							continue;
						}
						*eq = '=';
					}
					if (o != NULL && p->nov < 250) {
						p->ov[p->nov++] = (struct override){
						    o, eq + 1, "-o" };
						continue;
					}
					if (p->nwords < 64)
						p->words[p->nwords++] = item;
				}
				break;
			}
			case G_VERBOSE:
				p->verbose++;
				break;
			case G_QUIET:
				p->quiet = 1;
				break;
			case G_HELP:
				p->help = 1;
				break;
			case G_VERSION:
				p->version = 1;
				break;
			}
			break;
		case K_CONFIG:
		case K_NOCONFIG:
			p->ov[p->nov++] = (struct override){ &opt_table[idx],
			    opt_table[idx].type == OPT_BOOL ? (kind == K_CONFIG ?
			    "true" : "false") : optarg, "command line" };
			break;
		case K_CMD:
			p->args[p->nargs++] = (struct cmd_arg){ idx, optarg };
			break;
		default:
			rc = sw_seterr(SW_ERR_USAGE, "unknown option '%s'",
			    argv[optind - 1]);
			break;
		}
		if (rc != SW_OK || p->nov >= 250)
			break;
	}
	*consumed = optind;
	free(lo);
	return rc;
}

/* Defaults, then the config file, then the command line. */
static sw_err
load_config(struct ctx *ctx, const struct parsed *p)
{
	char *path = NULL;
	int i;
	sw_err rc;

	config_defaults(&ctx->cfg);
	if ((rc = config_locate(p->config_path, &path)) != SW_OK)
		return rc;
	if (path != NULL) {
		log_debug("reading config file '%s'", path);
		if ((rc = config_load_file(&ctx->cfg, path)) != SW_OK) {
			free(path);
			return rc;
		}
	}
	ctx->config_path = path;
	for (i = 0; i < p->nov; i++) {
		char origin[128];

		snprintf(origin, sizeof(origin), "%s", p->ov[i].origin);
		if ((rc = config_set(&ctx->cfg, p->ov[i].o, p->ov[i].value,
		    origin)) != SW_OK)
			return rc;
	}
	return config_validate(&ctx->cfg);
}

int
main(int argc, char **argv)
{
	struct parsed p;
	struct ctx ctx;
	const struct cmd_entry *c;
	char **operands = NULL;
	int consumed, noperands = 0, status;
	char *base = xstrdup(argv[0]);
	char **helper_argv = NULL;
	sw_err rc;

	/* Before any thread: curl's global state, and jansson wiping what
	 * it frees (credential documents pass through it). */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	creds_global_init();
	progname = strcmp(basename(base), "mount.swrepart") == 0 ?
	    "mount.swrepart" : PACKAGE;
	log_init(progname, 0);
	memset(&p, 0, sizeof(p));
	memset(&ctx, 0, sizeof(ctx));
	p.args = xcalloc((size_t)argc + 1, sizeof(*p.args));

	if (strcmp(progname, "mount.swrepart") == 0) {
		/* mount(8) runs "mount.swrepart SOURCE DIR [-sfnv] [-o OPTS]
		 * [-t TYPE]": make it "swrepart mount --source SOURCE DIR". */
		char **nv = xcalloc((size_t)argc + 8, sizeof(char *));
		char *pos[2] = { NULL, NULL };
		int i, k = 0, npos = 0, fake = 0;

		nv[k++] = argv[0];
		nv[k++] = "mount";
		for (i = 1; i < argc; i++) {
			const char *a = argv[i];

			if (strcmp(a, "-o") == 0 && i + 1 < argc) {
				nv[k++] = "-o";
				nv[k++] = argv[++i];
			} else if (strncmp(a, "-o", 2) == 0 && a[2] != '\0') {
				nv[k++] = argv[i];
			} else if ((strcmp(a, "-t") == 0 || strcmp(a, "-N") == 0)
			    && i + 1 < argc) {
				i++;   /* the type, a namespace: nothing to do */
			} else if (strcmp(a, "-s") == 0 || strcmp(a, "-n") == 0) {
				;      /* sloppy, no mtab: nothing to do */
			} else if (strcmp(a, "-f") == 0) {
				/* mount -f (fake): do everything but mount. */
				fake = 1;
			} else if (strcmp(a, "-v") == 0 ||
			    strcmp(a, "-d") == 0 || strcmp(a, "-h") == 0 ||
			    strcmp(a, "--help") == 0 || strcmp(a, "-V") == 0) {
				nv[k++] = argv[i];
			} else if (a[0] == '-') {
				free(nv);
				status = cmd_fail(sw_seterr(SW_ERR_USAGE, "unknown "
				    "option '%s' (usage: mount.swrepart [SOURCE] "
				    "MOUNTPOINT [-o OPTIONS])", a));
				goto out;
			} else if (npos < 2) {
				pos[npos++] = argv[i];
			} else {
				free(nv);
				status = cmd_fail(sw_seterr(SW_ERR_USAGE, "too many "
				    "operands (usage: mount.swrepart [SOURCE] "
				    "MOUNTPOINT [-o OPTIONS])"));
				goto out;
			}
		}
		if (fake) {
			free(nv);
			status = 0;
			goto out;
		}
		if (npos == 2) {
			nv[k++] = "--source";
			nv[k++] = pos[0];
		}
		if (npos >= 1)
			nv[k++] = pos[npos - 1];
		nv[k] = NULL;
		argv = nv;
		argc = k;
		helper_argv = nv;
	}
	/* Global options before the command. */
	if ((rc = parse(&p, NULL, argc, argv, &consumed, NULL, NULL)) !=
	    SW_OK) {
		status = cmd_fail(rc);
		goto out;
	}
	if (p.version) {
		status = cmd_version(&ctx, NULL, 0, 0, NULL);
		goto out;
	}
	if (consumed >= argc) {
		usage(p.help ? stdout : stderr);
		status = p.help ? 0 : 2;
		goto out;
	}
	if ((c = find_cmd(argv[consumed])) == NULL) {
		status = cmd_fail(unknown_command(argv[consumed]));
		goto out;
	}
	/* The command's own options, globals and operands, in any order. */
	rc = parse(&p, c, argc - consumed, argv + consumed, &consumed,
	    &operands, &noperands);
	if (rc != SW_OK) {
		status = cmd_fail(rc);
		goto out;
	}
	if (p.help) {
		usage_cmd(stdout, c);
		status = 0;
		goto out;
	}
	if (p.nwords > 0 && strcmp(c->name, "mount") != 0) {
		char key[128];
		const char *hint;

		snprintf(key, sizeof(key), "%.*s",
		    (int)strcspn(p.words[0], "="), p.words[0]);
		hint = opt_closest_key(key);
		status = cmd_fail(hint ? sw_seterr(SW_ERR_USAGE, "-o: unknown "
		    "key '%s' (did you mean '%s'?)", key, hint) :
		    sw_seterr(SW_ERR_USAGE, "-o: unknown key '%s' (see "
		    "swrepart.conf(5))", key));
		goto out;
	}
	ctx.progname = progname;
	ctx.words = p.words;
	ctx.nwords = p.nwords;
	if (c->fn == cmd_help || c->fn == cmd_version) {
		/* No config needed, so a broken one cannot hide the help. */
		status = c->fn(&ctx, p.args, p.nargs, noperands, operands);
		goto out;
	}
	/* What the config file says (the sample's Glue keys) waits for the
	 * level it sets: -q and log_level silence it too. */
	log_set_level(p.quiet ? LOG_LVL_ERROR : LOG_LVL_NOTICE + p.verbose >
	    LOG_LVL_DEBUG ? LOG_LVL_DEBUG : LOG_LVL_NOTICE + p.verbose);
	log_hold();
	rc = load_config(&ctx, &p);
	log_set_level(p.quiet ? LOG_LVL_ERROR : (int)ctx.cfg.log_level +
	    p.verbose > LOG_LVL_DEBUG ? LOG_LVL_DEBUG :
	    (int)ctx.cfg.log_level + p.verbose);
	if (rc != SW_OK) {
		status = cmd_fail(rc);
		goto out;
	}
	status = c->fn(&ctx, p.args, p.nargs, noperands, operands);
out:
	config_release(&ctx.cfg);
	free(ctx.config_path);
	free(operands);
	free(p.args);
	free(helper_argv);
	free(base);
	curl_global_cleanup();
	return status;
}
