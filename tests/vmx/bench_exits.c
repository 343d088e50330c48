/* tests/vmx/bench_exits.c: cost per iteration of an in-kernel CPUID exit, a PIO and an MMIO round trip to userspace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define GUEST_MEM	0x10000
#define CODE_ADDR	0x1000
#define MARK_PORT	0x10
#define LOOP_PORT	0x11

/*
 * Real mode. Three loops of N iterations, each followed by `out 0x10`:
 * cpuid; out 0x11 (to userspace); a byte store to 0x20000, outside every
 * slot (MMIO to userspace). N is patched into the three `mov ecx, imm32`.
 */
static const uint8_t guest_code[] = {
	0x66, 0xb9, 0, 0, 0, 0,		/* 0: mov ecx, N */
	0x66, 0x31, 0xc0,		/* 6: xor eax, eax */
	0x0f, 0xa2,			/* 9: cpuid */
	0x66, 0x49,			/* 11: dec ecx */
	0x75, 0xf7,			/* 13: jnz 6 */
	0xe6, MARK_PORT,		/* 15: out 0x10, al */
	0x66, 0xb9, 0, 0, 0, 0,		/* 17: mov ecx, N */
	0xe6, LOOP_PORT,		/* 23: out 0x11, al */
	0x66, 0x49,			/* 25: dec ecx */
	0x75, 0xfa,			/* 27: jnz 23 */
	0xe6, MARK_PORT,		/* 29: out 0x10, al */
	0xbb, 0x00, 0x20,		/* 31: mov bx, 0x2000 */
	0x8e, 0xc3,			/* 34: mov es, bx */
	0x66, 0xb9, 0, 0, 0, 0,		/* 36: mov ecx, N */
	0x26, 0xa2, 0x00, 0x00,		/* 42: mov es:[0], al */
	0x66, 0x49,			/* 46: dec ecx */
	0x75, 0xf8,			/* 48: jnz 42 */
	0xe6, MARK_PORT,		/* 50: out 0x10, al */
	0xf4,				/* 52: hlt */
};
static const int n_offsets[] = { 2, 19, 38 };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "bench_exits: %s: %s\n", what, strerror(errno));
	exit(1);
}

int main(int argc, char **argv)
{
	const char *dev = argc > 2 ? argv[2] : "/dev/kvm";
	uint32_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 2000;
	static const char *const names[] = { "cpuid_exit_ns", "pio_roundtrip_ns", "mmio_roundtrip_ns" };
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *r;
	uint8_t *mem;
	int kvm, vm, vcpu, sz, phase = 0, i;
	double t0;

	if (n == 0) {
		fprintf(stderr, "bench_exits: iteration count must be positive\n");
		return 1;
	}
	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die(dev);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	memcpy(mem + CODE_ADDR, guest_code, sizeof(guest_code));
	for (i = 0; i < 3; i++)
		memcpy(mem + CODE_ADDR + n_offsets[i], &n, 4);
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr))
		die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	r = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (r == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		die("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");

	t0 = now_ns();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == LOOP_PORT)
			continue;
		if (r->exit_reason == KVM_EXIT_MMIO)
			continue;
		if (r->exit_reason == KVM_EXIT_IO && r->io.port == MARK_PORT && phase < 3) {
			double t1 = now_ns();

			printf("%s %.0f\n", names[phase++], (t1 - t0) / n);
			t0 = now_ns();
			continue;
		}
		if (r->exit_reason == KVM_EXIT_HLT && phase == 3)
			return 0;
		fprintf(stderr, "bench_exits: unexpected exit %u in phase %d\n",
			r->exit_reason, phase);
		return 1;
	}
}
