/*
 * err.h - swrepart's error codes and the per-thread error message.
 *
 * Every fallible function returns an sw_err.  The function that detects a
 * failure records a message a person can act on with sw_seterr(); callers
 * pass the code up unchanged (or add context with sw_adderr()).  Only the
 * command layer prints the message, and only fs.c turns codes into -errno.
 */
#ifndef SWREPART_ERR_H
#define SWREPART_ERR_H

#include <stdarg.h>

typedef enum {
	SW_OK = 0,
	SW_ERR_USAGE,     /* bad command line */
	SW_ERR_CONFIG,    /* malformed or invalid configuration */
	SW_ERR_NOMEM,     /* out of memory */
	SW_ERR_IO,        /* local file system error */
	SW_ERR_NOTFOUND,  /* bucket, key, file or profile does not exist */
	SW_ERR_CREDS,     /* no credentials could be found */
	SW_ERR_AUTH,      /* credentials rejected (403, bad signature) */
	SW_ERR_NET,       /* endpoint unreachable, DNS, TLS, timeout */
	SW_ERR_SERVER,    /* server error that survived the retries */
	SW_ERR_PROTO,     /* unexpected or malformed response */
	SW_ERR_DATA,      /* corrupt or unexpected input data */
	SW_ERR_BADKEY,    /* a key that is not what it should be */
	SW_ERR_EXISTS,    /* already exists / precondition failed */
	SW_ERR_INTERNAL,  /* a bug */
	SW_ERR_UNSUPPORTED, /* the store does not implement a request (501) */
	SW_ERR__COUNT
} sw_err;

/* Record msg (printf-style) as this thread's last error and return code. */
sw_err sw_seterr(sw_err code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prefix this thread's last error message with more context ("ctx: msg"). */
sw_err sw_adderr(sw_err code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* This thread's last error message ("" when none). */
const char *sw_errmsg(void);

/* A short name for code ("network error"). */
const char *sw_errname(sw_err code);

/* The process exit status documented for code (0 for SW_OK). */
int sw_exitcode(sw_err code);

#endif
