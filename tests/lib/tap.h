/* tests/lib/tap.h: a minimal TAP producer (kselftest style) for C tests. */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct tap_state {
	int planned;
	int run;
	int failed;
};

static struct tap_state tap;

static inline void tap_plan(int n)
{
	tap.planned = n;
	printf("TAP version 13\n1..%d\n", n);
	fflush(stdout);
}

static inline void tap_vresult(int ok, const char *fmt, va_list ap)
{
	tap.run++;
	if (!ok)
		tap.failed++;
	printf("%s %d - ", ok ? "ok" : "not ok", tap.run);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
}

/* tap_ok(cond, "name %d", ...): one test point. Returns cond. */
static inline int tap_ok(int ok, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	tap_vresult(ok, fmt, ap);
	va_end(ap);
	return ok;
}

static inline void tap_skip(const char *reason, const char *fmt, ...)
{
	va_list ap;

	tap.run++;
	printf("ok %d - ", tap.run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf(" # SKIP %s\n", reason);
	fflush(stdout);
}

static inline void tap_skip_all(const char *reason)
{
	printf("1..0 # SKIP %s\n", reason);
	exit(0);
}

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Call last: exit status is the number of failures (capped). */
static inline int tap_done(void)
{
	if (tap.planned && tap.run != tap.planned)
		tap_diag("planned %d tests but ran %d", tap.planned, tap.run);
	return tap.failed > 100 ? 100 : tap.failed;
}

#define TAP_EQ(a, b, name, ...) \
	tap_ok((a) == (b), name, ##__VA_ARGS__)

#endif
