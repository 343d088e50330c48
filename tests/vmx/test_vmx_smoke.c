/* tests/vmx/test_vmx_smoke.c: a real-mode guest doing out, an MMIO write, cpuid and hlt, to prove a /dev/kvm works. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tap.h"

#define GUEST_MEM	0x10000
#define CODE_ADDR	0x1000
#define TEST_PORT	0x10
#define MMIO_ADDR	0x20000	/* outside the only slot */

/*
 * Real mode, CS=0 IP=0x1000:
 *   mov al, 0x42 ; out 0x10, al
 *   mov bx, 0x2000 ; mov es, bx ; mov byte es:[0], 0x99   (gpa 0x20000)
 *   xor ax, ax ; cpuid ; mov al, bl ; out 0x10, al        ('G' of "Genu")
 *   hlt
 */
static const uint8_t guest_code[] = {
	0xb0, 0x42,			/* mov al, 0x42 */
	0xe6, TEST_PORT,		/* out 0x10, al */
	0xbb, 0x00, 0x20,		/* mov bx, 0x2000 */
	0x8e, 0xc3,			/* mov es, bx */
	0x26, 0xc6, 0x06, 0x00, 0x00, 0x99, /* mov byte es:[0], 0x99 */
	0x66, 0x31, 0xc0,		/* xor eax, eax */
	0x0f, 0xa2,			/* cpuid */
	0x88, 0xd8,			/* mov al, bl */
	0xe6, TEST_PORT,		/* out 0x10, al */
	0xf4,				/* hlt */
};

static const char *exit_name(uint32_t r)
{
	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	default: return "other";
	}
}

static int run(int vcpu, struct kvm_run *r)
{
	int ret = ioctl(vcpu, KVM_RUN, 0);

	if (ret < 0)
		tap_diag("KVM_RUN: %s", strerror(errno));
	else
		tap_diag("exit %u (%s)", r->exit_reason, exit_name(r->exit_reason));
	return ret;
}

int main(int argc, char **argv)
{
	const char *dev = argc > 1 ? argv[1] : "/dev/kvm";
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *r;
	uint8_t *mem;
	int kvm, vm, vcpu, sz, i;
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[128];
	} cpuid = { .c.nent = 128 };
	uint32_t vendor_ebx = 0;

	kvm = open(dev, O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		tap_skip_all("no KVM device");
	tap_plan(9);
	tap_ok(ioctl(kvm, KVM_GET_API_VERSION, 0) == KVM_API_VERSION, "API version 12");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (!tap_ok(vm >= 0, "KVM_CREATE_VM"))
		return tap_done();
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 1;
	memcpy(mem + CODE_ADDR, guest_code, sizeof(guest_code));
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	/* A TSS address is harmless with unrestricted guest, needed without. */
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000UL);
	tap_ok(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) == 0, "memory slot");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (!tap_ok(vcpu >= 0 && sz > 0, "KVM_CREATE_VCPU"))
		return tap_done();
	r = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (r == MAP_FAILED)
		return 1;
	/* Without SET_CPUID2 stock KVM answers zeros: give it the supported set. */
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) == 0) {
		for (i = 0; i < (int)cpuid.c.nent; i++)
			if (cpuid.e[i].function == 0)
				vendor_ebx = cpuid.e[i].ebx;
		ioctl(vcpu, KVM_SET_CPUID2, &cpuid);
	}

	ioctl(vcpu, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	ioctl(vcpu, KVM_SET_SREGS, &sregs);
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_ADDR;
	regs.rflags = 2;
	ioctl(vcpu, KVM_SET_REGS, &regs);

	run(vcpu, r);
	tap_ok(r->exit_reason == KVM_EXIT_IO &&
	       r->io.direction == KVM_EXIT_IO_OUT && r->io.port == TEST_PORT &&
	       r->io.size == 1 && ((uint8_t *)r)[r->io.data_offset] == 0x42,
	       "real-mode out 0x10 <- 0x42 reaches userspace");
	run(vcpu, r);
	tap_ok(r->exit_reason == KVM_EXIT_MMIO && r->mmio.is_write &&
	       r->mmio.phys_addr == MMIO_ADDR && r->mmio.len == 1 &&
	       r->mmio.data[0] == 0x99,
	       "write outside every slot is an MMIO exit");
	run(vcpu, r);
	tap_ok(r->exit_reason == KVM_EXIT_IO && r->io.port == TEST_PORT,
	       "cpuid handled in the kernel, guest continues");
	{
		uint8_t b = ((uint8_t *)r)[r->io.data_offset];

		tap_ok(vendor_ebx && b == (vendor_ebx & 0xff),
		       "cpuid leaf 0 EBX is what SET_CPUID2 gave (%#x)", b);
	}
	run(vcpu, r);
	tap_ok(r->exit_reason == KVM_EXIT_HLT, "hlt exits to userspace");
	close(vcpu);
	close(vm);
	close(kvm);
	return tap_done();
}
