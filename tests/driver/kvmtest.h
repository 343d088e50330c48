/* tests/driver/kvmtest.h: helpers for the driver tests: VM setup, guest modes, run loop, TAP checks. */
#ifndef KVMTEST_H
#define KVMTEST_H

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "../lib/tap.h"

struct tvm {
	int kvm;
	int vm;
	int vcpu;
	struct kvm_run *run;
	int run_size;
	uint8_t *mem;
	size_t mem_size;
};

static inline const char *kvm_dev(void)
{
	const char *d = getenv("KVM_DEV");

	return d ? d : "/dev/kvm";
}

static inline bool lane_is(const char *l)
{
	const char *e = getenv("TESTHOST_LANE");

	return e && !strcmp(e, l);
}

static inline int open_kvm(void)
{
	int fd = open(kvm_dev(), O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		printf("Bail out! cannot open %s: %s\n", kvm_dev(), strerror(errno));
		exit(1);
	}
	return fd;
}

/* ioctl that returns -errno on failure, for errno comparisons. */
static inline long xioctl(int fd, unsigned long req, void *arg)
{
	long r = ioctl(fd, req, arg);

	return r < 0 ? -errno : r;
}

static inline void *guest_alloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED) {
		printf("Bail out! mmap %zu: %s\n", size, strerror(errno));
		exit(1);
	}
	return p;
}

static inline int set_slot(int vm, uint32_t slot, uint64_t gpa, void *hva,
			   uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	return xioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
}

/* vCPU 0 of the VM and its kvm_run mapping, or bail out. */
static inline void tvm_add_vcpu(struct tvm *t)
{
	t->vcpu = ioctl(t->vm, KVM_CREATE_VCPU, 0);
	if (t->vcpu < 0) {
		printf("Bail out! KVM_CREATE_VCPU: %s\n", strerror(errno));
		exit(1);
	}
	t->run_size = ioctl(t->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	t->run = mmap(NULL, t->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      t->vcpu, 0);
	if (t->run == MAP_FAILED) {
		printf("Bail out! mmap kvm_run: %s\n", strerror(errno));
		exit(1);
	}
}

/* A VM with @mem_size bytes of RAM at guest physical 0 and one vCPU. */
static inline void tvm_create(struct tvm *t, size_t mem_size)
{
	memset(t, 0, sizeof(*t));
	t->kvm = open_kvm();
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	if (t->vm < 0) {
		printf("Bail out! KVM_CREATE_VM: %s\n", strerror(errno));
		exit(1);
	}
	t->mem_size = mem_size;
	t->mem = guest_alloc(mem_size);
	if (set_slot(t->vm, 0, 0, t->mem, mem_size, 0)) {
		printf("Bail out! memory slot: %s\n", strerror(errno));
		exit(1);
	}
	tvm_add_vcpu(t);
}

static inline void tvm_destroy(struct tvm *t)
{
	munmap(t->run, t->run_size);
	close(t->vcpu);
	close(t->vm);
	close(t->kvm);
	munmap(t->mem, t->mem_size);
}

/* Give the vCPU the CPUID the driver supports (what a VMM does). */
static inline void tvm_cpuid(struct tvm *t)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };

	if (ioctl(t->kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0 ||
	    ioctl(t->vcpu, KVM_SET_CPUID2, &c) < 0) {
		printf("Bail out! cpuid setup: %s\n", strerror(errno));
		exit(1);
	}
}

/* The host CPU is AMD's ("AuthenticAMD"): SVM, else Intel's VMX. */
static inline bool tvm_host_is_amd(void)
{
	unsigned int a = 0, b = 0, c = 0, d = 0;

	__get_cpuid(0, &a, &b, &c, &d);
	return b == 0x68747541;
}

/* Real mode at 0:ip (flat segments, base 0). */
static inline void tvm_real_mode(struct tvm *t, uint16_t ip)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_SREGS, &s);
	s.cs.base = 0;
	s.cs.selector = 0;
	ioctl(t->vcpu, KVM_SET_SREGS, &s);
	memset(&r, 0, sizeof(r));
	r.rip = ip;
	r.rflags = 2;
	r.rsp = 0x8000;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

/*
 * 64-bit mode at : identity map of the first 4 GiB with 2 MiB pages
 * (PML4 0x9000, PDPT 0xa000, PDs 0xb000-0xe000), GDT at 0x8000 (code 0x08,
 * data 0x10), IDT at 0x8800 (256 empty gates), stack below 0x8000.
 */
#define T_GDT	0x8000
#define T_IDT	0x8800
static inline void tvm_long_mode(struct tvm *t, uint64_t rip)
{
	uint64_t *pml4 = (uint64_t *)(t->mem + 0x9000);
	uint64_t *pdpt = (uint64_t *)(t->mem + 0xa000);
	uint64_t *gdt = (uint64_t *)(t->mem + T_GDT);
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 0x10,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	struct kvm_sregs s;
	struct kvm_regs r;
	int i;

	pml4[0] = 0xa000 | 3;
	for (i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(t->mem + 0xb000 + i * 0x1000);
		int j;

		pdpt[i] = (0xb000 + i * 0x1000) | 3;
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + 0x83;
	}
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL;
	gdt[2] = 0x00cf92000000ffffULL;
	ioctl(t->vcpu, KVM_GET_SREGS, &s);
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = T_GDT;
	s.gdt.limit = 23;
	s.idt.base = T_IDT;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = 0x80050033;
	s.cr3 = 0x9000;
	s.cr4 = 0x20;
	s.efer = 0x500;
	ioctl(t->vcpu, KVM_SET_SREGS, &s);
	memset(&r, 0, sizeof(r));
	r.rip = rip;
	r.rflags = 2;
	r.rsp = 0x7ff0;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

/* An interrupt gate in the 64-bit IDT for , to . */
static inline void tvm_idt_set(struct tvm *t, int vec, uint64_t handler)
{
	uint64_t *g = (uint64_t *)(t->mem + T_IDT + vec * 16);

	g[0] = (handler & 0xffff) | (8ULL << 16) | (0x8eULL << 40) |
	       ((handler >> 16) & 0xffff) << 48;
	g[1] = handler >> 32;
}

static inline void tvm_load(struct tvm *t, uint64_t gpa, const void *code,
			    size_t len)
{
	memcpy(t->mem + gpa, code, len);
}

/* Guest memory as little-endian words, for tests that build guest structures. */
static inline uint32_t tvm_get32(struct tvm *t, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, t->mem + gpa, 4);
	return v;
}

static inline uint64_t tvm_get64(struct tvm *t, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, t->mem + gpa, 8);
	return v;
}

static inline void tvm_put32(struct tvm *t, uint64_t gpa, uint32_t v)
{
	memcpy(t->mem + gpa, &v, 4);
}

static inline void tvm_put64(struct tvm *t, uint64_t gpa, uint64_t v)
{
	memcpy(t->mem + gpa, &v, 8);
}

/* A segment of a VMCB's save area at @vmcb + @off (AMD APM vol. 2, appendix B). */
static inline void tvm_vmcb_seg(struct tvm *t, uint64_t vmcb, uint32_t off, uint16_t sel,
				uint16_t attr, uint32_t limit, uint64_t base)
{
	memcpy(t->mem + vmcb + off, &sel, 2);
	memcpy(t->mem + vmcb + off + 2, &attr, 2);
	tvm_put32(t, vmcb + off + 4, limit);
	tvm_put64(t, vmcb + off + 8, base);
}

static inline int tvm_run(struct tvm *t)
{
	if (ioctl(t->vcpu, KVM_RUN, 0) < 0)
		return -errno;
	return t->run->exit_reason;
}

/* Run until an exit that is not port I/O to @port; collects OUT bytes. */
static inline uint8_t tvm_io_byte(struct tvm *t)
{
	return *((uint8_t *)t->run + t->run->io.data_offset);
}

static inline uint32_t tvm_io_val(struct tvm *t)
{
	uint32_t v = 0;

	memcpy(&v, (uint8_t *)t->run + t->run->io.data_offset, t->run->io.size);
	return v;
}

static inline void tvm_io_set(struct tvm *t, uint32_t v)
{
	memcpy((uint8_t *)t->run + t->run->io.data_offset, &v, t->run->io.size);
}

/* KVM_GET_MSRS of one register: 1 when it was read into *data, as the ioctl returns. */
static inline int tvm_get_msr(int vcpu, uint32_t index, uint64_t *data)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} b = { .m.nmsrs = 1, .e.index = index };
	int r = ioctl(vcpu, KVM_GET_MSRS, &b);

	*data = b.e.data;
	return r;
}

/* One MSR's value, or ~0 when KVM_GET_MSRS did not read it. */
static inline uint64_t tvm_msr(int vcpu, uint32_t index)
{
	uint64_t v;

	return tvm_get_msr(vcpu, index, &v) == 1 ? v : ~0ULL;
}

/* KVM_SET_MSRS of one register: 1 when it was set, as the ioctl returns. */
static inline int tvm_set_msr(int vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} b = { .m.nmsrs = 1, .e.index = index, .e.data = data };

	return ioctl(vcpu, KVM_SET_MSRS, &b);
}

static inline uint64_t tvm_rip(struct tvm *t)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	return r.rip;
}

static inline const char *exit_name(int r)
{
	static char buf[32];

	switch (r) {
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_IRQ_WINDOW_OPEN: return "IRQ_WINDOW_OPEN";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_SET_TPR: return "SET_TPR";
	}
	snprintf(buf, sizeof(buf), "%d", r);
	return buf;
}

#endif
