/* tests/driver/t_caps.c: feature MSRs on /dev/kvm, quirks, MSR_PLATFORM_INFO, hypercalls and their patching, user-space MSR exits and the MSR filter, sync regs, binary stats, the vCPU TSC offset attribute: what KVM's selftests leave unpinned. */

#include "kvmtest.h"

#define MSR_UCODE_REV		0x8b
#define MSR_PLATFORM_INFO	0xce
#define MSR_ARCH_CAPABILITIES	0x10a
#define ARCH_CAP_PSCHANGE_MC_NO	(1ULL << 6)
#define KVM_ENOSYS		1000
#define KVM_EPERM		1	/* EPERM */

static void test_caps(int kvm)
{
	long q2 = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);

	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_GET_MSR_FEATURES) == 1, "CAP_GET_MSR_FEATURES");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS) == 1, "CAP_DISABLE_QUIRKS");
	tap_ok((q2 & KVM_X86_QUIRK_FIX_HYPERCALL_INSN) && (q2 & KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
	       (q2 & KVM_X86_QUIRK_OUT_7E_INC_RIP) && (q2 & KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT),
	       "CAP_DISABLE_QUIRKS2 reports the hypercall, MWAIT, OUT 0x7e and MISC_ENABLE quirks (%#lx)", q2);
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS) ==
	       (KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS), "CAP_SYNC_REGS: regs, sregs, events");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MSR_PLATFORM_INFO) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ENFORCE_PV_FEATURE_CPUID) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_USER_SPACE_MSR) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_X86_MSR_FILTER) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_VCPU_ATTRIBUTES) == 1,
	       "CAP_MSR_PLATFORM_INFO, ENFORCE_PV_FEATURE_CPUID, BINARY_STATS_FD, X86_USER_SPACE_MSR, X86_MSR_FILTER, VCPU_ATTRIBUTES");
}

static void test_feature_msrs(int kvm)
{
	struct {
		struct kvm_msr_list l;
		uint32_t idx[64];
	} list = { .l.nmsrs = 0 };
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} m = { .h.nmsrs = 2 };
	bool ucode = false, arch = false;
	long r, all = 1;
	uint32_t i;

	r = xioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, &list);
	tap_ok(r == -E2BIG && list.l.nmsrs > 0, "FEATURE_INDEX_LIST with room for none: E2BIG and the count (%u)",
	       list.l.nmsrs);
	list.l.nmsrs = 64;
	r = xioctl(kvm, KVM_GET_MSR_FEATURE_INDEX_LIST, &list);
	for (i = 0; r == 0 && i < list.l.nmsrs; i++) {
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} one = { .h.nmsrs = 1, .e.index = list.idx[i] };

		ucode |= list.idx[i] == MSR_UCODE_REV;
		arch |= list.idx[i] == MSR_ARCH_CAPABILITIES;
		if (ioctl(kvm, KVM_GET_MSRS, &one) != 1)
			all = 0;
	}
	tap_ok(r == 0 && ucode && arch, "the list has UCODE_REV and ARCH_CAPABILITIES");
	tap_ok(all, "KVM_GET_MSRS on /dev/kvm reads every listed MSR");
	m.e[0].index = MSR_ARCH_CAPABILITIES;
	m.e[1].index = 0x10;		/* IA32_TSC: not a feature MSR */
	r = ioctl(kvm, KVM_GET_MSRS, &m);
	tap_ok(r == 1 && (m.e[0].data & ARCH_CAP_PSCHANGE_MC_NO),
	       "ARCH_CAPABILITIES reads with PSCHANGE_MC_NO; stops at IA32_TSC (%ld, %#llx)",
	       r, (unsigned long long)m.e[0].data);
}

static void test_vm_errors(int kvm)
{
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	struct kvm_enable_cap cap = { .cap = KVM_CAP_DISABLE_QUIRKS2, .args[0] = 1ULL << 40 };
	struct kvm_msr_filter f;
	uint8_t bitmap[8] = { 0 };

	tap_ok(xioctl(vm, KVM_ENABLE_CAP, &cap) == -EINVAL, "DISABLE_QUIRKS2 with an unknown quirk: EINVAL");
	cap.cap = KVM_CAP_DISABLE_QUIRKS;
	tap_ok(xioctl(vm, KVM_ENABLE_CAP, &cap) == 0, "DISABLE_QUIRKS takes any mask");
	cap.cap = KVM_CAP_X86_USER_SPACE_MSR;
	cap.args[0] = 8;
	tap_ok(xioctl(vm, KVM_ENABLE_CAP, &cap) == -EINVAL, "X86_USER_SPACE_MSR with an unknown reason: EINVAL");
	memset(&f, 0, sizeof(f));
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	tap_ok(xioctl(vm, KVM_X86_SET_MSR_FILTER, &f) == -EINVAL, "MSR filter: deny everything, no range: EINVAL");
	f.flags = 2;
	tap_ok(xioctl(vm, KVM_X86_SET_MSR_FILTER, &f) == -EINVAL, "MSR filter: unknown flag: EINVAL");
	f.flags = 0;
	f.ranges[0].nmsrs = 8;
	f.ranges[0].bitmap = bitmap;
	tap_ok(xioctl(vm, KVM_X86_SET_MSR_FILTER, &f) == -EINVAL, "MSR filter: a range without READ/WRITE: EINVAL");
	f.ranges[0].flags = KVM_MSR_FILTER_READ;
	tap_ok(xioctl(vm, KVM_X86_SET_MSR_FILTER, &f) == 0, "MSR filter: one read range accepted");
	memset(&f, 0, sizeof(f));
	tap_ok(xioctl(vm, KVM_X86_SET_MSR_FILTER, &f) == 0, "MSR filter: allow-all with no range removes it");
	close(vm);
}

/* An exit as a TAP diagnostic: its name, and for I/O the port, value, RIP. */
static const char *io_exit(struct tvm *t, int r)
{
	static char buf[96];

	if (r != KVM_EXIT_IO)
		snprintf(buf, sizeof(buf), "%s at %#llx", exit_name(r),
			 (unsigned long long)tvm_rip(t));
	else
		snprintf(buf, sizeof(buf), "OUT %#x = %#x at %#llx", t->run->io.port,
			 tvm_io_val(t), (unsigned long long)tvm_rip(t));
	return buf;
}

static const char *hex3(const uint8_t *p)
{
	static char buf[16];

	snprintf(buf, sizeof(buf), "%02x %02x %02x", p[0], p[1], p[2]);
	return buf;
}

/* Real-mode #UD handler at 0x1100: OUT 0x15, then return past a 3-byte insn. */
static const uint8_t ud_stub[] = {
	0xe6, 0x15,				/* out 0x15, al */
	0x89, 0xe5,				/* mov bp, sp */
	0x83, 0x46, 0x00, 0x03,			/* add word [bp], 3 */
	0xcf,					/* iret */
};

/* Real-mode guest at 0x1000; each step ends with an OUT the VMM checks. */
static const uint8_t guest[] = {
	0x66, 0xb9, 0xef, 0xbe, 0xad, 0xde,	/* 0x1000 mov ecx, 0xdeadbeef */
	0x0f, 0x32,				/* 0x1006 rdmsr: userspace answers */
	0x66, 0xe7, 0x10,			/* 0x1008 out 0x10, eax */
	0x66, 0xb9, 0xce, 0x00, 0x00, 0x00,	/* 0x100b mov ecx, MSR_PLATFORM_INFO */
	0x0f, 0x32,				/* 0x1011 rdmsr */
	0x66, 0xe7, 0x11,			/* 0x1013 out 0x11, eax */
	0x66, 0xb8, 0x01, 0x00, 0x00, 0x00,	/* 0x1016 mov eax, KVM_HC_VAPIC_POLL_IRQ */
	0x0f, 0x01, 0xc1,			/* 0x101c the other vendor's hypercall (patched) */
	0x66, 0xe7, 0x12,			/* 0x101f out 0x12, eax */
	0x66, 0xb8, 0x39, 0x30, 0x00, 0x00,	/* 0x1022 mov eax, 12345: no such call */
	0x0f, 0x01, 0xc1,			/* 0x1028 (patched too) */
	0x66, 0xe7, 0x13,			/* 0x102b out 0x13, eax */
	0xe6, 0x7e,				/* 0x102e out 0x7e, al */
	0x66, 0x31, 0xc0,			/* 0x1030 xor eax, eax: DS:0 */
	0x66, 0x31, 0xc9,			/* 0x1033 xor ecx, ecx: no extensions */
	0x0f, 0x01, 0xc8,			/* 0x1036 monitor: a NOP, as KVM */
	0xe6, 0x14,				/* 0x1039 out 0x14, al */
	0xf4,					/* 0x103b hlt */
};

static void test_guest(void)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_USER_SPACE_MSR,
				      .args[0] = KVM_MSR_EXIT_REASON_UNKNOWN };
	const uint8_t native[3] = { 0x0f, 0x01, tvm_host_is_amd() ? 0xd9 : 0xc1 };
	struct tvm t;
	int r;

	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x1000, guest, sizeof(guest));
	tvm_load(&t, 0x1100, ud_stub, sizeof(ud_stub));
	/* IVT vector 6 (#UD): 0000:1100. */
	t.mem[0x18] = 0x00;
	t.mem[0x19] = 0x11;
	t.mem[0x1a] = t.mem[0x1b] = 0;
	/*
	 * The first hypercall is the other vendor's (VMCALL on AMD, VMMCALL on
	 * Intel); the second is the other vendor's on AMD, where real mode
	 * lets KVM patch it, and this CPU's on Intel, where VMMCALL needs
	 * protected mode.
	 */
	t.mem[0x101e] = tvm_host_is_amd() ? 0xc1 : 0xd9;
	t.mem[0x102a] = 0xc1;
	tvm_real_mode(&t, 0x1000);
	tap_ok(ioctl(t.vm, KVM_ENABLE_CAP, &cap) == 0, "X86_USER_SPACE_MSR for unknown MSRs");

	t.run->kvm_valid_regs = KVM_SYNC_X86_REGS;
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_X86_RDMSR && t.run->msr.index == 0xdeadbeef &&
	       t.run->msr.reason == KVM_MSR_EXIT_REASON_UNKNOWN,
	       "RDMSR of an unknown MSR exits to userspace, reason UNKNOWN (%s, %#x)", exit_name(r),
	       t.run->msr.index);
	tap_ok(t.run->s.regs.regs.rip == 0x1006 && t.run->s.regs.regs.rcx == 0xdeadbeef,
	       "sync regs: kvm_run holds RIP and RCX at the exit (%#llx)",
	       (unsigned long long)t.run->s.regs.regs.rip);
	t.run->msr.data = 0x1234567887654321ULL;
	t.run->kvm_valid_regs = 0;
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x10 && tvm_io_val(&t) == 0x87654321,
	       "userspace's answer completes the RDMSR (%#x)", tvm_io_val(&t));

	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x11 && (tvm_io_val(&t) & 0xff00) == 0,
	       "the guest reads MSR_PLATFORM_INFO (%s)", io_exit(&t, r));

	r = tvm_run(&t);
	if (tvm_host_is_amd()) {
		tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x12 && tvm_io_val(&t) == 0 &&
		       !memcmp(t.mem + 0x101c, native, 3),
		       "real mode: the other vendor's hypercall is patched in place and returns 0 (%s, %s)",
		       io_exit(&t, r), hex3(t.mem + 0x101c));
	} else {
		/* #UD: the stub's OUT 0x15, then back past the VMMCALL. */
		int ud = r == KVM_EXIT_IO && t.run->io.port == 0x15 && tvm_rip(&t) == 0x1100;

		r = tvm_run(&t);
		tap_ok(ud && r == KVM_EXIT_IO && t.run->io.port == 0x12 && tvm_io_val(&t) == 1 &&
		       t.mem[0x101e] == 0xd9,
		       "real mode: the other vendor's hypercall (VMMCALL) takes #UD, unpatched, as KVM's emulator (%s, %s)",
		       io_exit(&t, r), hex3(t.mem + 0x101c));
	}
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x13 && tvm_io_val(&t) == (uint32_t)-KVM_ENOSYS,
	       "an unknown hypercall returns -KVM_ENOSYS, 32 bits wide (%s)", io_exit(&t, r));
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x7e && tvm_rip(&t) == 0x1030,
	       "OUT to port 0x7e exits with RIP past it (KVM_X86_QUIRK_OUT_7E_INC_RIP) (%s)",
	       io_exit(&t, r));
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x14, "MONITOR is a NOP (%s)", io_exit(&t, r));
	tvm_destroy(&t);
}

/*
 * 64-bit mode: the other vendor's hypercall, at CPL 0 and at CPL 3. User
 * code at 0x2000 (IOPL 3 for its OUTs), #GP handler at 0x3000 (OUT 0x16
 * with the error code), a TSS at 0x7000 for the CPL 3 to 0 switch.
 */
static const uint8_t hc64_user[] = {
	0xb8, 0x01, 0x00, 0x00, 0x00,		/* 0x2000 mov eax, KVM_HC_VAPIC_POLL_IRQ */
	0x0f, 0x01, 0x00,			/* 0x2005 the other vendor's hypercall */
	0xe7, 0x12,				/* 0x2008 out 0x12, eax */
	0xf4,					/* 0x200a hlt */
};
static const uint8_t hc64_gp[] = {
	0x58,					/* 0x3000 pop rax: the error code */
	0xe7, 0x16,				/* 0x3001 out 0x16, eax */
	0xf4,					/* 0x3003 hlt */
};

static int hc64_run(int cpl, struct tvm *t, char *buf, size_t len)
{
	const uint8_t foreign = tvm_host_is_amd() ? 0xc1 : 0xd9;
	struct kvm_sregs s;
	struct kvm_regs regs;
	int r, i;

	tvm_create(t, 1 << 20);
	tvm_cpuid(t);
	tvm_long_mode(t, 0x2000);
	tvm_load(t, 0x2000, hc64_user, sizeof(hc64_user));
	tvm_load(t, 0x3000, hc64_gp, sizeof(hc64_gp));
	t->mem[0x2007] = foreign;
	tvm_idt_set(t, 13, 0x3000);
	if (cpl) {
		uint64_t *pml4 = (uint64_t *)(t->mem + 0x9000);
		uint64_t *pdpt = (uint64_t *)(t->mem + 0xa000);
		uint64_t *pd = (uint64_t *)(t->mem + 0xb000);
		struct kvm_segment ucs = { .limit = 0xffffffff, .selector = 0x2b, .type = 11,
					   .present = 1, .dpl = 3, .s = 1, .l = 1, .g = 1 };
		struct kvm_segment uds = { .limit = 0xffffffff, .selector = 0x23, .type = 3,
					   .present = 1, .dpl = 3, .s = 1, .db = 1, .g = 1 };
		struct kvm_segment tr = { .base = 0x7000, .limit = 0x67, .selector = 0x30,
					  .type = 11, .present = 1 };

		pml4[0] |= 4;
		pdpt[0] |= 4;
		for (i = 0; i < 512; i++)
			pd[i] |= 4;
		*(uint64_t *)(t->mem + 0x7004) = 0x6000;	/* RSP0 */
		ioctl(t->vcpu, KVM_GET_SREGS, &s);
		s.cs = ucs;
		s.ds = s.es = s.fs = s.gs = s.ss = uds;
		s.tr = tr;
		ioctl(t->vcpu, KVM_SET_SREGS, &s);
		ioctl(t->vcpu, KVM_GET_REGS, &regs);
		regs.rflags = 0x3002;
		ioctl(t->vcpu, KVM_SET_REGS, &regs);
	}
	r = tvm_run(t);
	snprintf(buf, len, "%s, %s", io_exit(t, r), hex3(t->mem + 0x2005));
	return r;
}

static void test_hypercall_long_mode(void)
{
	const uint8_t native[3] = { 0x0f, 0x01, tvm_host_is_amd() ? 0xd9 : 0xc1 };
	char d[160];
	struct tvm t;
	int r;

	r = hc64_run(0, &t, d, sizeof(d));
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x12 && tvm_io_val(&t) == 0 &&
	       !memcmp(t.mem + 0x2005, native, 3),
	       "64-bit, CPL 0: the other vendor's hypercall is patched in place and returns 0 (%s)", d);
	tvm_destroy(&t);

	r = hc64_run(3, &t, d, sizeof(d));
	if (tvm_host_is_amd())
		tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x16 && tvm_io_val(&t) == 0 &&
		       t.mem[0x2007] == 0xc1,
		       "64-bit, CPL 3: the other vendor's hypercall (VMCALL) takes #GP(0), unpatched, as KVM's emulator (%s)",
		       d);
	else
		tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x12 &&
		       tvm_io_val(&t) == (uint32_t)-KVM_EPERM && !memcmp(t.mem + 0x2005, native, 3),
		       "64-bit, CPL 3: the other vendor's hypercall (VMMCALL) is patched and returns -KVM_EPERM (%s)",
		       d);
	tvm_destroy(&t);
}

static void test_stats_and_tsc(void)
{
	struct kvm_stats_header h;
	struct kvm_device_attr attr = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET };
	uint64_t off = 123456789, back = 0;
	char id[64] = "";
	struct tvm t;
	int fd, vfd;

	tvm_create(&t, 1 << 20);
	fd = ioctl(t.vm, KVM_GET_STATS_FD, 0);
	vfd = ioctl(t.vcpu, KVM_GET_STATS_FD, 0);
	tap_ok(fd >= 0 && pread(fd, &h, sizeof(h), 0) == sizeof(h) && h.num_desc > 0 &&
	       h.name_size <= sizeof(id) && pread(fd, id, h.name_size, h.id_offset) == h.name_size &&
	       !strncmp(id, "kvm-", 4), "VM stats fd: header, %u descriptors, id %s", h.num_desc, id);
	tap_ok(vfd >= 0 && pread(vfd, &h, sizeof(h), 0) == sizeof(h) && h.num_desc > 0 &&
	       pread(vfd, id, h.name_size, h.id_offset) == h.name_size && strstr(id, "/vcpu-0"),
	       "vCPU stats fd: header, %u descriptors, id %s", h.num_desc, id);
	close(fd);
	close(vfd);

	tap_ok(ioctl(t.vcpu, KVM_HAS_DEVICE_ATTR, &attr) == 0, "vCPU attribute KVM_VCPU_TSC_OFFSET exists");
	attr.addr = (uintptr_t)&off;
	tap_ok(ioctl(t.vcpu, KVM_SET_DEVICE_ATTR, &attr) == 0, "SET KVM_VCPU_TSC_OFFSET");
	attr.addr = (uintptr_t)&back;
	tap_ok(ioctl(t.vcpu, KVM_GET_DEVICE_ATTR, &attr) == 0 && back == off,
	       "GET KVM_VCPU_TSC_OFFSET reads it back (%llu)", (unsigned long long)back);
	attr.attr = 99;
	tap_ok(xioctl(t.vcpu, KVM_HAS_DEVICE_ATTR, &attr) == -ENXIO, "an unknown attribute: ENXIO");
	tvm_destroy(&t);
}

int main(void)
{
	int kvm = open_kvm();

	tap_plan(34);
	test_caps(kvm);
	test_feature_msrs(kvm);
	test_vm_errors(kvm);
	test_guest();
	test_hypercall_long_mode();
	test_stats_and_tsc();
	close(kvm);
	return 0;
}
