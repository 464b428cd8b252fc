/*
 * err.c - error codes, messages and exit statuses.
 *
 * The message buffer is thread-local so worker threads can fail in parallel
 * without mixing up their explanations.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"

#define ERRMSG_MAX 1024

static _Thread_local char errmsg[ERRMSG_MAX];

static const struct {
	const char *name;
	int exit;
} errtab[SW_ERR__COUNT] = {
	[SW_OK] = { "success", 0 },
	[SW_ERR_USAGE] = { "usage error", 2 },
	[SW_ERR_CONFIG] = { "configuration error", 2 },
	[SW_ERR_NOMEM] = { "out of memory", 1 },
	[SW_ERR_IO] = { "i/o error", 1 },
	[SW_ERR_NOTFOUND] = { "not found", 6 },
	[SW_ERR_CREDS] = { "no credentials", 3 },
	[SW_ERR_AUTH] = { "access denied", 4 },
	[SW_ERR_NET] = { "network error", 5 },
	[SW_ERR_SERVER] = { "server error", 8 },
	[SW_ERR_PROTO] = { "protocol error", 8 },
	[SW_ERR_DATA] = { "data error", 7 },
	[SW_ERR_BADKEY] = { "bad key", 7 },
	[SW_ERR_EXISTS] = { "already exists", 1 },
	[SW_ERR_INTERNAL] = { "internal error", 1 },
	/* An answer of the server, as SW_ERR_PROTO: exit 8. */
	[SW_ERR_UNSUPPORTED] = { "not supported by the store", 8 },
};

sw_err
sw_seterr(sw_err code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	return code;
}

sw_err
sw_adderr(sw_err code, const char *fmt, ...)
{
	char old[ERRMSG_MAX];
	size_t n;
	va_list ap;

	memcpy(old, errmsg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	n = strlen(errmsg);
	if (old[0] != '\0')
		snprintf(errmsg + n, sizeof(errmsg) - n, ": %s", old);
	return code;
}

const char *
sw_errmsg(void)
{
	return errmsg;
}

const char *
sw_errname(sw_err code)
{
	if ((unsigned)code >= SW_ERR__COUNT)
		return "unknown error";
	return errtab[code].name;
}

int
sw_exitcode(sw_err code)
{
	if ((unsigned)code >= SW_ERR__COUNT)
		return 1;
	return errtab[code].exit;
}
