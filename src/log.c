/*
 * log.c - leveled logging to stderr or syslog.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

#include "log.h"

int log_level = LOG_LVL_NOTICE;

static const char *prog = PACKAGE;
static int to_syslog;

void
log_init(const char *progname, int use_syslog)
{
	prog = progname;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID, LOG_DAEMON);
}

void
log_set_level(int level)
{
	log_level = level;
}

void
log_msg(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE,
		LOG_INFO, LOG_DEBUG };
	static const char *tag[] = { "error: ", "warning: ", "", "", "debug: " };
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	if (to_syslog) {
		vsyslog(prio[level], fmt, ap);
	} else {
		/* One fprintf per line keeps lines from threads whole. */
		char line[2048];

		vsnprintf(line, sizeof(line), fmt, ap);
		fprintf(stderr, "%s: %s%s\n", prog, tag[level], line);
	}
	va_end(ap);
}
