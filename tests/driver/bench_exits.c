/* tests/driver/bench_exits.c: cost per iteration of an in-kernel CPUID exit, a PIO exit to userspace and back, an MMIO exit to userspace and back (for tests/bench/driver.sh). */
#include <time.h>

#include "kvmtest.h"

/* mov $n,%ecx; 1: push %rcx; xor %eax,%eax; cpuid; pop %rcx; loop 1b; hlt */
static const uint8_t cpuid_loop[] = {
	0xb9, 0, 0, 0, 0, 0x51, 0x31, 0xc0, 0x0f, 0xa2, 0x59, 0xe2, 0xf8, 0xf4,
};
/* 1: out %al,$0x80; jmp 1b */
static const uint8_t pio_loop[] = { 0xe6, 0x80, 0xeb, 0xfc };
/* mov $0xc0000000,%ebx; 1: mov %eax,(%rbx); jmp 1b */
static const uint8_t mmio_loop[] = { 0xbb, 0x00, 0x00, 0x00, 0xc0, 0x89, 0x03, 0xeb, 0xfc };

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static double bench_cpuid(uint32_t n)
{
	uint8_t code[sizeof(cpuid_loop)];
	struct tvm t;
	double t0, t1;

	memcpy(code, cpuid_loop, sizeof(code));
	memcpy(code + 1, &n, 4);
	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, code, sizeof(code));
	tvm_long_mode(&t, 0x2000);
	t0 = now_us();
	if (tvm_run(&t) != KVM_EXIT_HLT)
		return -1;
	t1 = now_us();
	tvm_destroy(&t);
	return (t1 - t0) / n;
}

static double bench_user(const uint8_t *code, size_t len, int want, uint32_t n)
{
	struct tvm t;
	double t0 = 0;
	uint32_t i;

	tvm_create(&t, 1 << 20);
	tvm_load(&t, 0x2000, code, len);
	tvm_long_mode(&t, 0x2000);
	for (i = 0; i < n + 200; i++) {
		if (i == 200)
			t0 = now_us();
		if (tvm_run(&t) != want)
			return -1;
	}
	tvm_destroy(&t);
	return (now_us() - t0) / n;
}

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;

	printf("cpuid_us %.2f\n", bench_cpuid(n));
	printf("pio_us %.2f\n", bench_user(pio_loop, sizeof(pio_loop), KVM_EXIT_IO, n));
	printf("mmio_us %.2f\n", bench_user(mmio_loop, sizeof(mmio_loop), KVM_EXIT_MMIO, n));
	return 0;
}
