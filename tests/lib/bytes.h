/* tests/lib/bytes.h: reading firmware tables in tests: little-endian fields and byte checksums. */
#ifndef TESTS_LIB_BYTES_H
#define TESTS_LIB_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* The bytes sum to zero modulo 256, as ACPI and MP table checksums make them. */
static inline int sums_zero(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s == 0;
}

#endif
