/*
 * cmd.c - what the commands share: the command table (one entry per
 * src/cli/cmd_*.c, listed by Makefile.am into cli_commands.h), failure
 * reporting and the --from/--to range.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
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
