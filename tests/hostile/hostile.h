/* tests/hostile/hostile.h: what the hostile-guest runner and the ioctl fuzzer share: the PRNG, exit names, the kvm fd. */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* splitmix64: one 64-bit state, so (seed, iteration) names any case. */
struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static inline void rng_seed(struct rng *r, uint64_t seed, uint64_t iter)
{
	r->s = seed * 0x2545f4914f6cdd1dULL + iter;
	rng_next(r);
}

/* Uniform in [0, n); n > 0. */
static inline uint32_t rng_below(struct rng *r, uint32_t n)
{
	return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

static inline bool rng_chance(struct rng *r, uint32_t one_in)
{
	return rng_below(r, one_in) == 0;
}

static inline void rng_fill(struct rng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len >= 8) {
		uint64_t v = rng_next(r);

		memcpy(p, &v, 8);
		p += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = rng_next(r);

		memcpy(p, &v, len);
	}
}

/* A value with the shapes that break parsers: 0, ~0, one bit, small, random. */
static inline uint64_t rng_value(struct rng *r)
{
	switch (rng_below(r, 8)) {
	case 0: return 0;
	case 1: return ~0ULL;
	case 2: return 1ULL << rng_below(r, 64);
	case 3: return ~(1ULL << rng_below(r, 64));
	case 4: return rng_below(r, 256);
	case 5: return (uint32_t)rng_next(r);
	case 6: return rng_next(r) & 0x0000ffffffffffffULL;
	default: return rng_next(r);
	}
}

/*
 * QEMU 7.2's TCG, the test host's CPU, dies with SIGSEGV (in
 * cpu_breakpoint_remove_by_ref, from cpu_x86_update_dr7) after a nested
 * guest arms breakpoints in DR7: the suite writes DR7 with its enable bits
 * clear, the one pattern it leaves out.
 */
static inline uint64_t dr7_tcg_safe(uint64_t v)
{
	return v & ~0xffULL;
}

/*
 * QEMU 7.2's TCG, the test host's CPU, loses its L1 at a #VMEXIT from a
 * nested guest that has EFER.LME set with CR0.PG and CR4.PAE clear (a
 * legal state: long mode enabled, paging off): its do_vmexit restores the
 * host's CR0 while the guest's EFER and CR4 are still loaded, and
 * cpu_x86_update_cr0 refuses to turn paging on with LME set and PAE clear,
 * so L1 runs on with the guest's CR0, paging off, and the test host
 * freezes (first seen as seed 116 vm 10, random register state in real
 * mode, in both lanes). The suite neither writes nor runs that state: a VM
 * whose state has it is skipped by name, generated EFER and CR4 writes
 * keep out of it.
 */
#define H_EFER_LME	(1ULL << 8)
#define H_CR0_PG	(1ULL << 31)
#define H_CR4_PAE	(1ULL << 5)

static inline bool tcg_vmexit_hazard(uint64_t efer, uint64_t cr0, uint64_t cr4)
{
	return (efer & H_EFER_LME) && !(cr0 & H_CR0_PG) && !(cr4 & H_CR4_PAE);
}

/* Random code without "mov to DRn" (0f 23): it becomes "mov to CRn". */
static inline void code_tcg_safe(uint8_t *p, size_t len)
{
	size_t i;

	for (i = 1; i < len; i++)
		if (p[i - 1] == 0x0f && p[i] == 0x23)
			p[i] = 0x22;
}

static inline double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline const char *kvm_path(void)
{
	const char *d = getenv("KVM_DEV");

	return d ? d : "/dev/kvm";
}

static inline uint64_t parse_u64(const char *s, const char *what)
{
	char *end;
	uint64_t v = strtoull(s, &end, 0);

	if (!*s || *end) {
		fprintf(stderr, "bad %s: %s\n", what, s);
		exit(2);
	}
	return v;
}

#endif
