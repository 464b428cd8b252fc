/*
 * cmd.h - the command table and the shared command-line machinery.
 *
 * Each subcommand is one file, src/cli/cmd_NAME.c, that defines its
 * entry cmd_NAME_entry: name, argument synopsis, summary, its own options
 * and the function that runs it.  Adding a command is adding that file
 * and its line in Makefile.am (CLI_COMMANDS), which lists the entries
 * into the table.  `swrepart help`, `--help` and the man-page test read
 * the same entries.
 */
#ifndef SWREPART_CMD_H
#define SWREPART_CMD_H

#include "base/options.h"
#include "core/coldkey.h"
#include "core/engine.h"

struct cmd_opt {
	const char *name;       /* long name without "--" */
	int shortopt;           /* or 0 */
	const char *argname;    /* NULL for a flag */
	const char *help;
};

struct ctx {
	struct sw_config cfg;
	char *config_path;      /* the config file read, or NULL */
	const char *progname;   /* "swrepart" or "mount.swrepart" */
	char **words;           /* -o items that are no config key (mount) */
	int nwords;
};

/* One parsed command-specific option: index into the command's opts. */
struct cmd_arg {
	int opt;
	const char *value;      /* NULL for flags */
};

struct cmd_entry {
	const char *name;
	const char *args;       /* "[options] DEST" */
	const char *summary;
	const struct cmd_opt *opts;   /* terminated by a NULL name */
	/* argv holds the operands (options removed); args the options. */
	int (*fn)(struct ctx *ctx, const struct cmd_arg *args, int nargs,
	    int argc, char **argv);
};

/* Every command, NULL-terminated (cmd.c). */
extern const struct cmd_entry *const cmd_table[];
extern const struct cmd_entry cmd_help_entry, cmd_version_entry;
extern const struct cmd_opt global_opts[];

/* Report err (this thread's message) and return its exit status. */
int cmd_fail(sw_err rc);

/*
 * The --from/--to range of ls, materialize and sync.  lo and hi point at
 * from and to once given, and stay NULL (open end) otherwise.
 */
struct day_range {
	struct day from, to;
	const struct day *lo, *hi;
};
/* Set the range's first (is_to 0) or last day from "YYYY-MM-DD" v. */
sw_err day_range_set(struct day_range *r, int is_to, const char *v);
/* SW_ERR_USAGE when --from is after --to. */
sw_err day_range_check(const struct day_range *r);

/*
 * After a listing found no day under prefix: when the prefix holds no
 * startYear= partition at all, say what it and the level above hold (an
 * error) and return 1; when it does (a range left no day), return 0 and
 * say nothing: the caller says which range.
 */
struct store;
int cmd_no_days(struct store *st, const char *prefix);

/* The datasets that the dataset setting names, in the order they are
 * taken (raw, then agg): their number. */
size_t cmd_datasets(const struct sw_config *cfg, enum engine_dataset out[2]);

#endif
