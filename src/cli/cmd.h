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

#include <stddef.h>
#include <stdio.h>

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
/* With -v: the requests st made by kind ("cold tier: 5,001 requests: 6
 * LIST, 4,995 GET; 47.9 MiB read"), what names it. */
void cmd_report_requests(const char *what, struct store *st);
/* With -v: this process's CPU time so far (user + sys), per object and
 * per MiB of the cold tier's objects that cold read. */
void cmd_report_cpu(struct store *cold);

/*
 * Output formats of the commands that print rows (series, cat): CSV with
 * a header, JSON lines, or aligned columns for a person.
 */
enum cmd_format { CMD_FMT_DEFAULT, CMD_FMT_CSV, CMD_FMT_JSON, CMD_FMT_TABLE };
/* v among choices ("json,csv,table"; "json" and "ndjson" both name JSON
 * lines); SW_ERR_USAGE listing the choices otherwise. */
sw_err cmd_format_parse(const char *v, const char *choices,
    enum cmd_format *out);
/* f, or when it is CMD_FMT_DEFAULT: a table on a terminal, piped
 * otherwise. */
enum cmd_format cmd_format_default(enum cmd_format f, enum cmd_format piped);
/* Append one CSV field of n bytes to out (RFC 4180: quoted when it holds
 * a comma, a quote or a line break, its quotes doubled); NULL appends
 * nothing. */
struct buf;
void cmd_csv_field(struct buf *out, const char *s, size_t n);

/*
 * Standard output read by another program that may stop reading early
 * (`swrepart cat | head -1`).  cmd_stdout_open() ignores SIGPIPE, so that
 * a write to a pipe nobody reads fails with EPIPE instead of killing the
 * process, and gives stdout a large buffer unless it is a terminal.  Then
 * cmd_stdout_gone() says that the reader has gone: the command stops
 * writing, and working, quietly and exits 0.  cmd_stdout_flush() flushes:
 * SW_OK, also when the reader has gone; another write error is SW_ERR_IO
 * saying that what could not be written.
 */
void cmd_stdout_open(void);
int cmd_stdout_gone(void);
sw_err cmd_stdout_flush(const char *what);
/* The datasets that the dataset setting names, in the order they are
 * taken (raw, then agg): their number. */
size_t cmd_datasets(const struct sw_config *cfg, enum engine_dataset out[2]);

#endif
