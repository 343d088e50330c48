/* tests/driver/t_system.c: /dev/kvm ioctls: versions, capabilities, CREATE_VM, CPUID and MSR lists, vCPU creation errors and the vCPU ID limit, the MMU page count and KVM_RUN's ENOSPC before any slot, TPR access reporting without an APIC, register state round trips, CR4 before and after SET_CPUID2, SET_CPUID2's checks of the address width and AMX. */
#include "kvmtest.h"

#define CR4_FSGSBASE	(1ULL << 16)
#define CR4_SMEP	(1ULL << 20)
#define CR4_SMAP	(1ULL << 21)
#define CR4_VMXE	(1ULL << 13)

/* The vCPU ID limit and the MMU page count, as KVM's selftests use them. */
static void test_vm_caps(int kvm)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MAX_VCPU_ID };
	long max = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID);
	int vm = ioctl(kvm, KVM_CREATE_VM, 0), vm2, v;
	long e1, e2, e3;

	tap_ok(max == 4096, "CAP_MAX_VCPU_ID: 4096 IDs, as KVM (%ld)", max);
	tap_ok(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_ENABLE_CAP_VM) == 1, "CAP_ENABLE_CAP_VM");
	cap.args[0] = max + 1;
	tap_ok(xioctl(vm, KVM_ENABLE_CAP, &cap) == -EINVAL,
	       "ENABLE_CAP(MAX_VCPU_ID) above the limit: EINVAL");
	cap.args[0] = 4;
	e1 = xioctl(vm, KVM_ENABLE_CAP, &cap);
	e2 = xioctl(vm, KVM_ENABLE_CAP, &cap);
	cap.args[0] = 5;
	e3 = xioctl(vm, KVM_ENABLE_CAP, &cap);
	tap_ok(e1 == 0 && e2 == 0 && e3 == -EINVAL,
	       "ENABLE_CAP(MAX_VCPU_ID, 4) once, again 4, then 5: %ld %ld %ld", e1, e2, e3);
	v = ioctl(vm, KVM_CREATE_VCPU, 3);
	tap_ok(xioctl(vm, KVM_CREATE_VCPU, (void *)4) == -EINVAL && v >= 0,
	       "with 4 IDs: vCPU 4 EINVAL, vCPU 3 created");
	cap.cap = 100000;
	tap_ok(xioctl(vm, KVM_ENABLE_CAP, &cap) == -EINVAL, "ENABLE_CAP of an unknown capability: EINVAL");
	close(v);

	vm2 = ioctl(kvm, KVM_CREATE_VM, 0);
	v = ioctl(vm2, KVM_CREATE_VCPU, 0);
	cap.cap = KVM_CAP_MAX_VCPU_ID;
	cap.args[0] = 4;
	e1 = xioctl(vm2, KVM_ENABLE_CAP, &cap);
	cap.args[0] = max;
	e2 = xioctl(vm2, KVM_ENABLE_CAP, &cap);
	tap_ok(e1 == -EINVAL && e2 == 0,
	       "after the first vCPU the limit is fixed: 4 EINVAL, %ld accepted (%ld %ld)", max, e1, e2);
	close(v);
	close(vm2);

	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MMU_SHADOW_CACHE_CONTROL) == 1,
	       "CAP_MMU_SHADOW_CACHE_CONTROL");
	tap_ok(xioctl(vm, KVM_SET_NR_MMU_PAGES, (void *)63) == -EINVAL, "SET_NR_MMU_PAGES 63: EINVAL");
	tap_ok(ioctl(vm, KVM_SET_NR_MMU_PAGES, 64) == 0 && ioctl(vm, KVM_GET_NR_MMU_PAGES, 0) == 64,
	       "SET_NR_MMU_PAGES 64, GET_NR_MMU_PAGES reads 64");
	close(vm);
}

/*
 * KVM's MMU has no page budget until a slot change sets it: KVM_RUN fails
 * with ENOSPC and GET_NR_MMU_PAGES reads 0 before, 64 after (even with the
 * slot gone). Found by tests/hostile's ioctl probe.
 */
static void test_no_slot(int kvm)
{
	struct kvm_tpr_access_ctl tac = { .enabled = 1 };
	int vm = ioctl(kvm, KVM_CREATE_VM, 0), vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	void *mem = guest_alloc(1 << 20);
	long n0, n1, r0, r1, t0, t1;

	n0 = ioctl(vm, KVM_GET_NR_MMU_PAGES, 0);
	r0 = xioctl(vcpu, KVM_RUN, NULL);
	set_slot(vm, 0, 0, mem, 1 << 20, 0);
	set_slot(vm, 0, 0, mem, 0, 0);
	n1 = ioctl(vm, KVM_GET_NR_MMU_PAGES, 0);
	r1 = xioctl(vcpu, KVM_RUN, NULL);
	tap_ok(n0 == 0 && n1 == 64, "GET_NR_MMU_PAGES before any slot 0, after one came and went 64 (%ld %ld)",
	       n0, n1);
	tap_ok(r0 == -ENOSPC && r1 != -ENOSPC, "KVM_RUN before any slot: ENOSPC; after: not (%ld %ld)",
	       r0, r1);
	/* Without an in-kernel APIC too: only flags are checked. */
	t0 = xioctl(vcpu, KVM_TPR_ACCESS_REPORTING, &tac);
	tac.flags = 1;
	t1 = xioctl(vcpu, KVM_TPR_ACCESS_REPORTING, &tac);
	tap_ok(t0 == 0 && t1 == -EINVAL,
	       "TPR_ACCESS_REPORTING without an in-kernel APIC: 0, with flags EINVAL (%ld %ld)", t0, t1);
	close(vcpu);
	close(vm);
	munmap(mem, 1 << 20);
}

/* The CPUID bit of each optional CR4 feature the test checks. */
static bool supported(const struct kvm_cpuid2 *c, uint32_t leaf, int reg, int bit)
{
	const struct kvm_cpuid_entry2 *e = c->entries;
	uint32_t i, v;

	for (i = 0; i < c->nent; i++, e++) {
		if (e->function != leaf || e->index)
			continue;
		v = reg == 1 ? e->ebx : e->ecx;
		return v & (1U << bit);
	}
	return false;
}

/*
 * KVM's rule for CR4 in SET_SREGS: before SET_CPUID2 every bit the
 * hypervisor supports is allowed; after, only those of the guest's CPUID.
 */
static void test_cr4_before_cpuid(int kvm)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} c = { .c.nent = 256 };
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	struct kvm_sregs s, s2;
	uint64_t bits = 0, cr4;
	uint32_t i;
	long e;

	ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c);
	if (supported(&c.c, 7, 1, 0))
		bits |= CR4_FSGSBASE;
	if (supported(&c.c, 7, 1, 7))
		bits |= CR4_SMEP;
	if (supported(&c.c, 7, 1, 20))
		bits |= CR4_SMAP;
	ioctl(vcpu, KVM_GET_SREGS, &s);
	cr4 = s.cr4;
	s.cr4 |= bits;
	e = xioctl(vcpu, KVM_SET_SREGS, &s);
	ioctl(vcpu, KVM_GET_SREGS, &s2);
	tap_ok(e == 0 && s2.cr4 == (cr4 | bits),
	       "before SET_CPUID2, SET_SREGS takes the supported CR4 bits %#llx (%ld, %#llx)",
	       (unsigned long long)bits, e, (unsigned long long)s2.cr4);
	/* Stock kvm_intel offers nested VMX: VMXE is a supported bit there. */
	s.cr4 = cr4 | CR4_VMXE;
	e = xioctl(vcpu, KVM_SET_SREGS, &s);
	if (supported(&c.c, 1, 2, 5))
		tap_ok(e == 0, "CR4.VMXE with VMX offered: taken (%ld)", e);
	else
		tap_ok(e == -EINVAL, "CR4.VMXE without VMX offered (ours, SVM): EINVAL (%ld)", e);

	/* A CPU model without SMEP: CR4.SMEP is refused from then on. */
	for (i = 0; i < c.c.nent; i++)
		if (c.e[i].function == 7 && !c.e[i].index)
			c.e[i].ebx &= ~(1U << 7);
	ioctl(vcpu, KVM_SET_CPUID2, &c);
	s.cr4 = cr4 | CR4_SMEP;
	e = xioctl(vcpu, KVM_SET_SREGS, &s);
	if (bits & CR4_SMEP)
		tap_ok(e == -EINVAL, "after a CPUID without SMEP, CR4.SMEP: EINVAL (%ld)", e);
	else
		tap_skip("no SMEP here", "after a CPUID without SMEP, CR4.SMEP: EINVAL");
	close(vcpu);
	close(vm);
}

/*
 * KVM's checks of a CPUID table before the vCPU runs: a virtual address
 * width (0x80000008 EAX[15:8]) other than 48 or 57 is EINVAL; AMX tile
 * data in 0xd's XSAVE features, without the process's permission, EPERM.
 */
static void test_cpuid_checks(int kvm)
{
	static struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} c, bad;
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	int i, has8 = 0, hasd = 0;
	long e;

	c.c.nent = 256;
	ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c);
	bad = c;
	for (i = 0; i < (int)bad.c.nent; i++)
		if (bad.e[i].function == 0x80000008) {
			bad.e[i].eax = (bad.e[i].eax & ~0xff00U) | 40 << 8;
			has8 = 1;
		}
	e = xioctl(vcpu, KVM_SET_CPUID2, &bad);
	tap_ok(has8 && e == -EINVAL, "SET_CPUID2 with 40-bit virtual addresses: EINVAL (%ld)", e);
	bad = c;
	for (i = 0; i < (int)bad.c.nent; i++)
		if (bad.e[i].function == 0xd && bad.e[i].index == 0) {
			bad.e[i].eax |= 1U << 18;
			hasd = 1;
		}
	e = xioctl(vcpu, KVM_SET_CPUID2, &bad);
	tap_ok(hasd && e == -EPERM, "SET_CPUID2 with AMX tile data in XSAVE, no permission: EPERM (%ld)", e);
	e = xioctl(vcpu, KVM_SET_CPUID2, &c);
	tap_ok(e == 0, "SET_CPUID2 of the supported table after both: 0 (%ld)", e);
	close(vcpu);
	close(vm);
}

int main(void)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} c;
	struct {
		struct kvm_msr_list l;
		uint32_t idx[512];
	} ml;
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e[4];
	} msrs;
	struct kvm_regs r, r2;
	struct kvm_sregs s;
	struct kvm_fpu f, f2;
	int kvm, vm, vcpu, n, i, has0 = 0, has1 = 0;
	long e;

	tap_plan(32 + 10 + 3 + 3 + 3);
	kvm = open_kvm();
	tap_ok(ioctl(kvm, KVM_GET_API_VERSION, 0) == 12, "KVM_GET_API_VERSION 12");
	tap_ok(xioctl(kvm, KVM_GET_API_VERSION, (void *)1) == -EINVAL, "API version with an argument: EINVAL");
	tap_ok(xioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, (void *)1) == -EINVAL, "mmap size with an argument: EINVAL");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) == 1, "CAP_USER_MEMORY");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT) == 1, "CAP_IMMEDIATE_EXIT");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) == 1, "CAP_READONLY_MEM");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) == 1, "CAP_SET_GUEST_DEBUG");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS) >= 1, "CAP_NR_VCPUS");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, 100000) == 0, "unknown capability: 0");
	tap_ok(xioctl(kvm, KVM_CREATE_VM, (void *)7) == -EINVAL, "CREATE_VM type 7: EINVAL");
	tap_ok(xioctl(kvm, _IO(KVMIO, 0xfe), NULL) == -EINVAL, "unknown /dev/kvm ioctl: EINVAL");

	c.c.nent = 0;
	tap_ok(xioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) == -E2BIG, "SUPPORTED_CPUID nent 0: E2BIG");
	c.c.nent = 1;
	tap_ok(xioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) == -E2BIG, "SUPPORTED_CPUID nent 1: E2BIG");
	c.c.nent = 256;
	e = xioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c);
	for (i = 0; e == 0 && i < (int)c.c.nent; i++) {
		has0 |= c.e[i].function == 0;
		has1 |= c.e[i].function == 1;
	}
	tap_ok(e == 0 && has0 && has1, "SUPPORTED_CPUID: %u entries with leaves 0 and 1", c.c.nent);
	tap_ok(xioctl(kvm, KVM_GET_SUPPORTED_CPUID, NULL) == -EFAULT, "SUPPORTED_CPUID NULL: EFAULT");

	ml.l.nmsrs = 0;
	tap_ok(xioctl(kvm, KVM_GET_MSR_INDEX_LIST, &ml) == -E2BIG && ml.l.nmsrs > 0,
	       "MSR_INDEX_LIST nmsrs 0: E2BIG, count %u", ml.l.nmsrs);
	n = ml.l.nmsrs;
	ml.l.nmsrs = 512;
	tap_ok(ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &ml) == 0 && (int)ml.l.nmsrs == n,
	       "MSR_INDEX_LIST returns %d indices", n);

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	tap_ok(vm >= 0, "CREATE_VM");
	tap_ok(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) == 1, "CHECK_EXTENSION on the VM fd");
	tap_ok(ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000) == 0, "SET_TSS_ADDR");
	{
		uint64_t ident = 0xfffbc000;

		tap_ok(ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident) == 0, "SET_IDENTITY_MAP_ADDR");
	}
	tap_ok(xioctl(vm, KVM_CREATE_VCPU, (void *)100000) == -EINVAL, "CREATE_VCPU id 100000: EINVAL");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	tap_ok(vcpu >= 0, "CREATE_VCPU 0");
	tap_ok(xioctl(vm, KVM_CREATE_VCPU, 0) == -EEXIST, "CREATE_VCPU 0 again: EEXIST");
	{
		uint64_t ident = 0xfffbc000;

		tap_ok(xioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident) == -EINVAL,
		       "SET_IDENTITY_MAP_ADDR after a vCPU: EINVAL");
	}

	ioctl(vcpu, KVM_GET_SREGS, &s);
	tap_ok(s.cs.selector == 0xf000 && s.cs.base == 0xffff0000 && s.cr0 == 0x60000010,
	       "reset state: CS f000:ffff0000, CR0 0x60000010");
	/*
	 * Segment types at reset as each vendor's KVM reports them: on SVM the
	 * VMCB's (CS execute/read, SS read/write, no accessed bit) with DS-GS
	 * marked accessed; on VMX the VMCS's, accessed throughout; TR a busy
	 * TSS, LDTR an LDT.
	 */
	{
		const bool amd = tvm_host_is_amd();

		tap_ok(s.cs.type == (amd ? 10 : 11) && s.ss.type == (amd ? 2 : 3) &&
		       s.ds.type == 3 && s.es.type == 3 && s.fs.type == 3 && s.gs.type == 3 &&
		       s.tr.type == (amd ? 3 : 11) && s.ldt.type == 2,
		       "reset state: segment types cs %u ss %u ds %u es %u fs %u gs %u tr %u ldt %u",
		       s.cs.type, s.ss.type, s.ds.type, s.es.type, s.fs.type, s.gs.type,
		       s.tr.type, s.ldt.type);
	}
	ioctl(vcpu, KVM_GET_REGS, &r);
	tap_ok(r.rip == 0xfff0 && r.rflags == 2, "reset RIP fff0, RFLAGS 2");
	r.rax = 0x1122334455667788ULL;
	r.r15 = 42;
	ioctl(vcpu, KVM_SET_REGS, &r);
	ioctl(vcpu, KVM_GET_REGS, &r2);
	tap_ok(!memcmp(&r, &r2, sizeof(r)), "REGS round trip");
	ioctl(vcpu, KVM_GET_FPU, &f);
	f.xmm[3][5] = 0x77;
	f.fcw = 0x27f;
	ioctl(vcpu, KVM_SET_FPU, &f);
	ioctl(vcpu, KVM_GET_FPU, &f2);
	tap_ok(f2.xmm[3][5] == 0x77 && f2.fcw == 0x27f, "FPU round trip");

	memset(&msrs, 0, sizeof(msrs));
	msrs.m.nmsrs = 3;
	msrs.e[0].index = 0xc0000081;		/* STAR */
	msrs.e[0].data = 0x0023001000000000ULL;
	msrs.e[1].index = 0x277;		/* PAT */
	msrs.e[1].data = 0x0007040600070406ULL;
	msrs.e[2].index = 0x4b564dff;		/* nothing */
	tap_ok(ioctl(vcpu, KVM_SET_MSRS, &msrs) == 2, "SET_MSRS stops at the unknown MSR (2 done)");
	msrs.e[0].data = msrs.e[1].data = 0;
	msrs.m.nmsrs = 2;
	tap_ok(ioctl(vcpu, KVM_GET_MSRS, &msrs) == 2 && msrs.e[0].data == 0x0023001000000000ULL &&
	       msrs.e[1].data == 0x0007040600070406ULL, "GET_MSRS reads them back");
	test_vm_caps(kvm);
	test_no_slot(kvm);
	test_cr4_before_cpuid(kvm);
	test_cpuid_checks(kvm);
	close(vcpu);
	close(vm);
	close(kvm);
	return tap_done();
}
