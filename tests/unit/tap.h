/*
 * tap.h - a minimal TAP producer for the unit tests (automake tap-driver).
 *
 *   ok(cond, "name %d", i); is_str(got, want, "name");
 *   return done_testing();
 */
#ifndef SWREPART_TAP_H
#define SWREPART_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline int __attribute__((format(printf, 2, 3)))
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failed++;
	fflush(stdout);
	return cond;
}

static inline void __attribute__((format(printf, 1, 2)))
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline int
is_str(const char *got, const char *want, const char *name)
{
	int c = (got == NULL && want == NULL) ||
		(got != NULL && want != NULL && strcmp(got, want) == 0);

	ok(c, "%s", name);
	if (!c) {
		diag("     got: '%s'", got ? got : "(null)");
		diag("expected: '%s'", want ? want : "(null)");
	}
	return c;
}

static inline int
is_int(long long got, long long want, const char *name)
{
	int c = got == want;

	ok(c, "%s", name);
	if (!c)
		diag("got %lld, expected %lld", got, want);
	return c;
}

/* One check that cannot run here, and why. */
static inline void
skip(const char *what, const char *why)
{
	tap_n++;
	printf("ok %d - %s # SKIP %s\n", tap_n, what, why);
	fflush(stdout);
}

static inline void __attribute__((noreturn))
skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

static inline int
done_testing(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

#endif
