/*
 * log.h - leveled logging to stderr (foreground) or syslog (daemon).
 *
 * Debug lines cost one comparison when debugging is off.  Never pass a
 * secret to these functions.
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
void log_set_level(int level);
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
