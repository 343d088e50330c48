/*
 * tests/driver/avx2_sum.c: a checksum computed with AVX2 (and, built with
 * -march=x86-64-v3 -static, glibc and compiler code for that level), for
 * cpuhost.t to compare between a guest under QEMU -cpu host and the host.
 * Long enough (a few ms) that the guest's ymm state lives across timer
 * interrupts and exits.
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORDS	(1 << 16)
#define ROUNDS	64

int main(void)
{
	uint32_t *buf = aligned_alloc(32, WORDS * sizeof(uint32_t));
	__m256i acc = _mm256_set1_epi32(0x9e3779b9);
	__m256i mul = _mm256_setr_epi32(3, 5, 7, 11, 13, 17, 19, 23);
	uint32_t lanes[8], x = 1, sum = 0;
	double fsum = 0;
	int i, r;

	if (!buf)
		return 1;
	for (i = 0; i < WORDS; i++) {	/* xorshift: the same data everywhere */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = x;
	}
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < WORDS; i += 8) {
			__m256i v = _mm256_load_si256((const __m256i *)&buf[i]);

			acc = _mm256_add_epi32(_mm256_mullo_epi32(acc, mul), v);
			acc = _mm256_xor_si256(acc, _mm256_srli_epi32(acc, 7));
			acc = _mm256_shuffle_epi32(acc, 0x39);
		}
		/* FMA and the v3 scalar instructions through the compiler. */
		for (i = 0; i < 256; i++)
			fsum = __builtin_fma(fsum, 0.5, (double)(buf[r * 256 + i] >> 20));
	}
	_mm256_storeu_si256((__m256i *)lanes, acc);
	for (i = 0; i < 8; i++)
		sum = (sum << 5 | sum >> 27) ^ lanes[i];
	printf("AVX2-SUM %08x %.6f\n", sum, fsum);
	free(buf);
	return 0;
}
