/* tests/lib/kernel.h: the Debian kernel the C tests load (TEST_KERNEL, set by tests/run-all). */
#ifndef TESTS_KERNEL_H
#define TESTS_KERNEL_H

#include <stdlib.h>

/* Debian keeps /vmlinuz pointing at the newest installed kernel. */
static inline const char *test_kernel(void)
{
	const char *k = getenv("TEST_KERNEL");

	return k && *k ? k : "/vmlinuz";
}

#endif
