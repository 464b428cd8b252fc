/*
 * cmd.c - what the commands share: the command table (one entry per
 * src/cli/cmd_*.c, listed by Makefile.am into cli_commands.h), failure
 * reporting, the --from/--to range, output formats and a standard
 * output that its reader may close early.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/resource.h>

#include "base/log.h"
#include "base/util.h"
#include "cli/cmd.h"
#include "core/coldtier.h"

#define CMD(name) extern const struct cmd_entry cmd_##name##_entry;
#include "cli_commands.h"
#undef CMD

/* help and version first (main.c), then the commands in Makefile.am's
 * order. */
const struct cmd_entry *const cmd_table[] = {
	&cmd_help_entry,
	&cmd_version_entry,
#define CMD(name) &cmd_##name##_entry,
#include "cli_commands.h"
#undef CMD
	NULL
};

int
cmd_fail(sw_err rc)
{
	const char *msg = sw_errmsg();

	log_error("%s", msg[0] ? msg : sw_errname(rc));
	return sw_exitcode(rc);
}

sw_err
day_range_set(struct day_range *r, int is_to, const char *v)
{
	struct day *d = is_to ? &r->to : &r->from;
	sw_err rc;

	if ((rc = day_parse(v, d)) != SW_OK)
		return rc;
	if (is_to)
		r->hi = d;
	else
		r->lo = d;
	return SW_OK;
}

sw_err
day_range_check(const struct day_range *r)
{
	if (r->lo != NULL && r->hi != NULL && day_cmp(r->lo, r->hi) > 0)
		return sw_seterr(SW_ERR_USAGE, "--from is after --to");
	return SW_OK;
}

void
cmd_report_requests(const char *what, struct store *st)
{
	struct store_stats ss;
	char line[512], sz[32];

	if (log_level < LOG_LVL_INFO || st == NULL)
		return;
	store_stats(st, &ss);
	store_stats_format(&ss, line, sizeof(line));
	format_size(ss.bytes_read, sz, sizeof(sz));
	log_info("%s %s: %s; %s of objects read", what, store_url(st), line,
	    sz);
}

void
cmd_report_cpu(struct store *cold)
{
	struct store_stats ss;
	struct rusage ru;
	double user, sys, mib;

	if (log_level < LOG_LVL_INFO || cold == NULL ||
	    getrusage(RUSAGE_SELF, &ru) < 0)
		return;
	store_stats(cold, &ss);
	user = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6;
	sys = (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	mib = (double)ss.bytes_read / (1024.0 * 1024.0);
	if (ss.req[STORE_REQ_GET] == 0) {
		log_info("CPU %.2f s (user %.2f s, sys %.2f s); no object "
		    "read", user + sys, user, sys);
		return;
	}
	log_info("CPU %.2f s (user %.2f s, sys %.2f s): %.3f ms per object "
	    "read (%lu), %.1f ms per MiB%s; peak RSS %.1f MiB", user + sys,
	    user, sys, (user + sys) * 1e3 / (double)ss.req[STORE_REQ_GET],
	    ss.req[STORE_REQ_GET], mib > 0 ? (user + sys) * 1e3 / mib : 0.0,
	    mib > 0 ? "" : " (no bytes counted)", ru.ru_maxrss / 1024.0);
}

int
cmd_no_days(struct store *st, const char *prefix)
{
	char *why = NULL;
	int years = 0;

	if (coldtier_explain_empty(st, prefix, &years, &why) != SW_OK) {
		log_error("no day in the cold tier, and %s", sw_errmsg());
		return 1;
	}
	if (!years)
		log_error("no day in the cold tier: %s", why);
	free(why);
	return !years;
}


sw_err
cmd_format_parse(const char *v, const char *choices, enum cmd_format *out)
{
	static const struct {
		const char *name;
		enum cmd_format f;
	} names[] = {
		{ "csv", CMD_FMT_CSV }, { "json", CMD_FMT_JSON },
		{ "ndjson", CMD_FMT_JSON }, { "table", CMD_FMT_TABLE },
	};
	const char *p, *e;
	size_t i, n;
	char list[128];

	for (p = choices; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		n = (size_t)(e - p);
		if (strlen(v) != n || strncmp(v, p, n) != 0)
			continue;
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (strcmp(names[i].name, v) == 0) {
				*out = names[i].f;
				return SW_OK;
			}
	}
	/* "json,csv,table" -> "json, csv or table" */
	list[0] = '\0';
	for (p = choices; *p != '\0'; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		n = strlen(list);
		snprintf(list + n, sizeof(list) - n, "%s%.*s", p == choices ?
		    "" : *e ? ", " : " or ", (int)(e - p), p);
	}
	return sw_seterr(SW_ERR_USAGE, "unknown format '%s': use %s", v,
	    list);
}

enum cmd_format
cmd_format_default(enum cmd_format f, enum cmd_format piped)
{
	if (f != CMD_FMT_DEFAULT)
		return f;
	return isatty(STDOUT_FILENO) ? CMD_FMT_TABLE : piped;
}

void
cmd_csv_field(struct buf *out, const char *s, size_t n)
{
	size_t i, from;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n) {
		buf_append(out, s, n);
		return;
	}
	buf_putc(out, '"');
	for (i = from = 0; i < n; i++)
		if (s[i] == '"') {
			buf_append(out, s + from, i + 1 - from);
			from = i;   /* the quote again: doubled */
		}
	buf_append(out, s + from, n - from);
	buf_putc(out, '"');
}

/* The reader of stdout has gone (cmd.h). */
static int stdout_gone;

/* A buffer of this size holds thousands of records between writes. */
#define STDOUT_BUFFER (256 * 1024)

void
cmd_stdout_open(void)
{
	signal(SIGPIPE, SIG_IGN);
	if (!isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOFBF, STDOUT_BUFFER);
}

int
cmd_stdout_gone(void)
{
	struct pollfd p = { STDOUT_FILENO, 0, 0 };

	/* A pipe without a reader polls as an error, a closed socket or
	 * terminal as a hang-up; a file never does. */
	if (!stdout_gone && poll(&p, 1, 0) == 1 &&
	    (p.revents & (POLLERR | POLLHUP)) != 0)
		stdout_gone = 1;
	return stdout_gone;
}

sw_err
cmd_stdout_flush(const char *what)
{
	int e;

	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return SW_OK;
	e = errno;
	if (e == EPIPE || cmd_stdout_gone()) {
		stdout_gone = 1;
		return SW_OK;
	}
	return sw_seterr(SW_ERR_IO, "cannot write %s to the standard output: "
	    "%s", what, strerror(e ? e : EIO));
}

size_t
cmd_datasets(const struct sw_config *cfg, enum engine_dataset out[2])
{
	const char *d = cfg->dataset != NULL ? cfg->dataset : "raw";
	size_t n = 0;

	if (strcmp(d, "agg") != 0)
		out[n++] = ENGINE_RAW;
	if (strcmp(d, "raw") != 0)
		out[n++] = ENGINE_AGG;
	return n;
}
