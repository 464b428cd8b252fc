/*
 * log.c - leveled logging to stderr or syslog, and the status line a
 * command keeps at the bottom of a terminal.
 *
 * On a terminal a line is short ("swrepart: warning: ..."); anywhere else
 * (a file, a pipe, a CI log) it starts with the time in ISO 8601 UTC, so
 * that a long run's log says when things happened.  Under systemd
 * (JOURNAL_STREAM set) the journal stamps lines itself.
 *
 * Lines logged before the level is known (while the config file is read)
 * are held and then printed or dropped by log_set_level(), so that -q and
 * log_level silence them too.  Errors are never held.
 */
#include "config.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/dates.h"
#include "base/log.h"

int log_level = LOG_LVL_NOTICE;

static const char *prog = PACKAGE;
static int to_syslog;
static int stamp = -1;            /* prefix lines with the time (-1: not
                                   * decided yet) */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static char status[512];          /* the status line shown, or "" */

#define HELD_MAX 32
static int holding;
static struct held {
	int level;
	char *line;
} held[HELD_MAX];
static int nheld;

void
log_init(const char *progname, int use_syslog)
{
	prog = progname;
	to_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID, LOG_DAEMON);
}

static int
want_stamp(void)
{
	const char *j;

	if (stamp < 0) {
		j = getenv("JOURNAL_STREAM");
		stamp = !isatty(STDERR_FILENO) && (j == NULL || *j == '\0');
	}
	return stamp;
}

/* Called with mu held: write one whole line (one fprintf, so lines from
 * threads stay whole), above the status line if one is shown. */
static void
emit(int level, const char *line)
{
	static const char *tag[] = { "error: ", "warning: ", "", "", "debug: " };
	char ts[DATE_ISO8601_LEN + 1] = "";

	if (want_stamp()) {
		date_format_iso8601((int64_t)time(NULL), 0, ts);
		if (ts[0] != '\0')
			strcat(ts, " ");
	}
	if (status[0] != '\0')
		fputs("\r\033[K", stderr);
	fprintf(stderr, "%s%s: %s%s\n", ts, prog, tag[level], line);
	if (status[0] != '\0')
		fputs(status, stderr);
	fflush(stderr);
}

void
log_hold(void)
{
	pthread_mutex_lock(&mu);
	holding = 1;
	pthread_mutex_unlock(&mu);
}

void
log_set_level(int level)
{
	int i;

	pthread_mutex_lock(&mu);
	log_level = level;
	holding = 0;
	for (i = 0; i < nheld; i++) {
		if (held[i].level <= level)
			emit(held[i].level, held[i].line);
		free(held[i].line);
	}
	nheld = 0;
	pthread_mutex_unlock(&mu);
}

void
log_msg(int level, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_NOTICE,
		LOG_INFO, LOG_DEBUG };
	char line[2048];
	va_list ap;

	if (level > log_level && !(holding && level < LOG_LVL_DEBUG))
		return;
	va_start(ap, fmt);
	if (to_syslog) {
		vsyslog(prio[level], fmt, ap);
		va_end(ap);
		return;
	}
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&mu);
	if (holding && level > LOG_LVL_ERROR && nheld < HELD_MAX) {
		held[nheld].level = level;
		held[nheld++].line = strdup(line);
	} else if (level <= log_level) {
		emit(level, line);
	}
	pthread_mutex_unlock(&mu);
}

void
log_status(const char *line)
{
	struct winsize ws;
	size_t width = 80;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		width = ws.ws_col;
	pthread_mutex_lock(&mu);
	/* One column short of the width: a line that wraps cannot be
	 * redrawn with a carriage return. */
	if (line == NULL || *line == '\0')
		status[0] = '\0';
	else
		snprintf(status, sizeof(status), "\r\033[K%.*s",
		    (int)(width - 1 < sizeof(status) - 8 ? width - 1 :
		    sizeof(status) - 8), line);
	fputs(status[0] ? status : "\r\033[K", stderr);
	fflush(stderr);
	pthread_mutex_unlock(&mu);
}

void
log_stdout(const char *text)
{
	pthread_mutex_lock(&mu);
	if (status[0] != '\0') {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
	fputs(text, stdout);
	fflush(stdout);
	if (status[0] != '\0') {
		fputs(status, stderr);
		fflush(stderr);
	}
	pthread_mutex_unlock(&mu);
}
