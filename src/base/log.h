/*
 * log.h - leveled logging to stderr (foreground) or syslog (daemon), and a
 * status line at the bottom of a terminal.
 *
 * Lines to a terminal are short; elsewhere they start with the UTC time
 * in ISO 8601 ("2026-12-02T20:31:05Z swrepart: ...").  Debug lines cost
 * one comparison when debugging is off.  Never pass a secret to these
 * functions.  All of them are thread-safe.
 */
#ifndef SWREPART_LOG_H
#define SWREPART_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

extern int log_level;

/* Set the program name used as prefix; use_syslog sends lines to syslog. */
void log_init(const char *progname, int use_syslog);
/* Hold the lines logged from now on until log_set_level() (errors are
 * printed at once): the level is not known while the config is read. */
void log_hold(void);
/* Set the level; print the held lines it lets through, drop the rest. */
void log_set_level(int level);
/* Show line as the terminal's status line on stderr, replacing the one
 * before (NULL or "" removes it); log lines and log_stdout() text are
 * printed above it.  Only for a terminal: the caller checks isatty(). */
void log_status(const char *line);
/* Print text on stdout (flushed), above the status line if one is shown. */
void log_stdout(const char *text);
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_LVL_NOTICE, __VA_ARGS__)
#define log_info(...)                                         \
	do {                                                  \
		if (log_level >= LOG_LVL_INFO)                \
			log_msg(LOG_LVL_INFO, __VA_ARGS__);   \
	} while (0)
#define log_debug(...)                                        \
	do {                                                  \
		if (log_level >= LOG_LVL_DEBUG)               \
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);  \
	} while (0)

#endif
