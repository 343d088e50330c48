// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/cpuid.c: the CPUID the driver supports, the per-vCPU table and the CPUID exit. */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "kvmdrv.h"

#define B(n) (1U << (n))

/*
 * Feature bits that work in a guest here, as KVM 6.1 reports them for
 * this CPU: XSAVE, AVX, AVX2 and AVX-512 as far as the host's XCR0 has
 * their state (xsave.c); RDTSCP and RDPID where the backend lets the guest
 * run them with its own TSC_AUX (cpumsr.c, SVM); SVM for a guest
 * hypervisor where the vendor runs one (nested_svm.c); no PMU,
 * and no SPEC_CTRL (its MSRs are not switched); IA32_TSC_ADJUST and
 * IA32_ARCH_CAPABILITIES are emulated, as in KVM. The APIC bit is
 * reported like KVM does: the local APIC is in the kernel (lapic.c) or the
 * VMM's (its MMIO page then exits like any address outside the slots),
 * and the guest sees the bit only while MSR_IA32_APICBASE enables the
 * APIC. As KVM, x2APIC is reported (it is emulated whatever the host has)
 * and the TSC deadline timer is not (a VMM sets it when
 * KVM_CAP_TSC_DEADLINE_TIMER says so); a guest may have both, and the
 * hypervisor bit, which a VMM sets.
 */
#define F1_EDX	(B(0) | B(1) | B(2) | B(3) | B(4) | B(5) | B(6) | B(7) | B(8) | \
		 B(9) | B(11) | B(12) | B(13) | B(14) | B(15) | B(16) | B(17) | B(19) | \
		 B(23) | B(24) | B(25) | B(26) | B(27))	/* 27: self snoop */
#define F1_ECX	(B(0) | B(1) | B(9) | B(13) | B(17) | B(19) | B(20) | B(21) | B(22) | \
		 B(23) | B(24) | B(25) | B(30) | B(31) | \
		 B(12) | B(26) | B(28) | B(29))	/* FMA, XSAVE, AVX, F16C */
/* Second line: AVX2 and AVX-512 */
#define F7_EBX	(B(0) | B(1) | B(3) | B(4) | B(6) | B(7) | B(8) | B(9) | B(10) | B(11) | \
		 B(13) | B(18) | B(19) | B(20) | B(23) | B(24) | B(29) | \
		 B(5) | B(16) | B(17) | B(21) | B(26) | B(27) | B(28) | B(30) | B(31))
/* UMIP, PKU, LA57, RDPID, the vector and MOVDIR extensions */
#define F7_ECX	(B(1) | B(2) | B(3) | B(6) | B(8) | B(9) | B(10) | B(11) | B(12) | \
		 B(14) | B(16) | B(22) | B(25) | B(27) | B(28))
/*
 * AVX-512 4VNNIW and 4FMAPS, FSRM, VP2INTERSECT, MD_CLEAR, SERIALIZE,
 * TSXLDTRK, AVX-512 FP16, ARCH_CAPABILITIES
 */
#define F7_EDX	(B(2) | B(3) | B(4) | B(8) | B(10) | B(14) | B(16) | B(23) | B(29))
#define FX1_EDX	((F1_EDX & 0x0183f3ff) | B(11) | B(20) | B(22) | B(25) | B(26) | B(27) | \
		 B(29) | B(30) | B(31))	/* 25 FFXSR, 27 RDTSCP, 30-31 3DNow! */
/* LAHF, CMP_LEGACY, CR8_LEGACY, ABM, SSE4A, MISALIGNSSE, 3DNOWPREFETCH, XOP, FMA4, TBM */
#define FX1_ECX	(B(0) | B(1) | B(4) | B(5) | B(6) | B(7) | B(8) | B(11) | B(16) | B(21))
/* CLZERO, XSAVEERPTR, WBNOINVD, SSB_NO */
#define FX8_EBX	(B(0) | B(2) | B(9) | B(26))

static u32 kvmd_common_mask(u32 function, u32 index, int reg)
{
	switch (function) {
	case 1:
		return reg == 2 ? F1_ECX : reg == 3 ? F1_EDX : ~0U;
	case 7:
		if (index)
			return 0;
		return reg == 1 ? F7_EBX : reg == 2 ? F7_ECX : reg == 3 ? F7_EDX : ~0U;
	/* ECX.SVM where the vendor runs guest hypervisors (nested_svm.c). */
	case 0x80000001:
		return reg == 2 ? FX1_ECX | (kvmd_ops->nested_cpuid ? B(2) : 0) :
		       reg == 3 ? FX1_EDX : ~0U;
	case 0x80000008:
		return reg == 1 ? FX8_EBX : ~0U;
	default:
		return ~0U;
	}
}

/* What KVM offers of the host's features, less what the vendor cannot run. */
static u32 kvmd_feature_mask(u32 function, u32 index, int reg)
{
	u32 m = kvmd_common_mask(function, index, reg);

	if (kvmd_ops->cpuid_mask)
		m &= kvmd_ops->cpuid_mask(function, index, reg);
	return m;
}

static void kvmd_filter_entry(struct kvm_cpuid_entry2 *e)
{
	e->eax &= kvmd_feature_mask(e->function, e->index, 0);
	e->ebx &= kvmd_feature_mask(e->function, e->index, 1);
	e->ecx &= kvmd_feature_mask(e->function, e->index, 2);
	e->edx &= kvmd_feature_mask(e->function, e->index, 3);
}

/* The highest extended leaf, as KVM: up to 0x80000021, which it may synthesize. */
static u32 kvmd_max_ext_leaf(void)
{
	u32 ext = min(cpuid_eax(0x80000000), 0x80000021U);

	if (ext >= 0x8000001d && (boot_cpu_has(X86_FEATURE_LFENCE_RDTSC) ||
				  !boot_cpu_has_bug(X86_BUG_NULL_SEG)))
		ext = 0x80000021;
	return ext;
}

/* CPUID functions whose entries depend on ECX, as KVM flags them. */
static bool kvmd_cpuid_indexed(u32 function)
{
	switch (function) {
	case 4: case 7: case 0xb: case 0xd: case 0xf: case 0x10: case 0x12:
	case 0x14: case 0x17: case 0x18: case 0x1d: case 0x1e: case 0x1f:
	case 0x8000001d:
		return true;
	default:
		return false;
	}
}

/*
 * One entry of KVM_GET_SUPPORTED_CPUID: the host's, filtered, and leaves
 * the driver has nothing for zeroed, leaf by leaf as KVM's
 * __do_cpuid_func (the brand string and cache leaves included: a VMM
 * fills those itself).
 */
static int kvmd_add_entry(struct kvm_cpuid_entry2 *ents, int n, int max,
			  u32 function, u32 index)
{
	struct kvm_cpuid_entry2 *e;

	if (n >= max)
		return -E2BIG;
	e = &ents[n];
	memset(e, 0, sizeof(*e));
	e->function = function;
	e->index = index;
	if (kvmd_cpuid_indexed(function))
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	/* A leaf past the host's last (KVM synthesizes 0x80000021) starts at 0. */
	if (!(function & 0x80000000) || function <= cpuid_eax(0x80000000))
		cpuid_count(function, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	switch (function) {
	case 0:
		e->eax = min(e->eax, 0xdU);
		break;
	case 1:
		e->ebx &= 0xff00;	/* CLFLUSH size only: APIC ID 0, one thread */
		e->ecx |= B(21);	/* x2APIC: emulated by lapic.c */
		e->ecx &= ~(B(24) | B(31));	/* TSC deadline and hypervisor: the VMM's */
		break;
	case 2:
	case 4:
	case 0x80000006:
		/* Cache descriptors: the host's (0x80000006 without reserved bits). */
		if (function == 0x80000006)
			e->edx &= ~GENMASK(17, 16);
		break;
	case 6:
		e->eax = B(2);	/* ARAT: the APIC timer runs in every C-state */
		e->ebx = e->ecx = e->edx = 0;
		break;
	case 7:
		e->eax = 0;
		e->ebx |= B(1);	/* IA32_TSC_ADJUST: emulated (msr.c), as KVM */
		e->edx |= B(29);	/* IA32_ARCH_CAPABILITIES: emulated (cpumsr.c) */
		if (!cpu_feature_enabled(X86_FEATURE_OSPKE))
			e->ecx &= ~B(3);	/* PKU: PKRU is switched only then */
		if (!kvmd_tsc_aux_ok())
			e->ecx &= ~B(22);	/* RDPID */
		break;
	case 0xb:
		/* No topology: subleaf 1 would say there is one. */
		e->eax = e->ebx = e->ecx = 0;
		break;
	case 0x80000000:
		e->eax = kvmd_max_ext_leaf();
		break;
	case 0x80000001:
		e->ebx &= ~GENMASK(27, 16);
		if (!kvmd_tsc_aux_ok())
			e->edx &= ~B(27);	/* RDTSCP */
		break;
	case 0x80000007:
		/* Invariant TSC, when the host has it. */
		e->edx &= boot_cpu_has(X86_FEATURE_CONSTANT_TSC) &&
			  boot_cpu_has(X86_FEATURE_NONSTOP_TSC) ? B(8) : 0;
		e->eax = e->ebx = e->ecx = 0;
		break;
	case 0x80000008:
		/* Virtual address bits at least 48, as KVM. */
		e->eax = (e->eax & 0xff) | (max((e->eax >> 8) & 0xff, 48U) << 8);
		e->ecx &= ~(GENMASK(31, 16) | GENMASK(11, 8));
		e->edx = 0;
		e->ebx &= ~B(26);
		if (!boot_cpu_has_bug(X86_BUG_SPEC_STORE_BYPASS))
			e->ebx |= B(26);	/* AMD_SSB_NO */
		break;
	case 0x80000019:	/* 1 GiB TLB: the host's */
		e->ecx = e->edx = 0;
		break;
	case 0x8000001a:	/* FP128, MOVU, FP256 */
		e->eax &= GENMASK(2, 0);
		e->ebx = e->ecx = e->edx = 0;
		break;
	case 0x8000001d:	/* cache topology: the host's */
		break;
	case 0x80000021:
		/* NO_NESTED_DATA_BP, VERW_CLEAR; the rest as KVM computes it */
		e->eax &= B(0) | B(5);
		if (boot_cpu_has(X86_FEATURE_LFENCE_RDTSC))
			e->eax |= B(2);	/* LFENCE always serializing */
		if (!boot_cpu_has_bug(X86_BUG_NULL_SEG))
			e->eax |= B(6);	/* NULL_SEL_CLR_BASE */
		e->eax |= B(9);		/* NO_SMM_CTL_MSR */
		e->ebx = e->ecx = e->edx = 0;
		break;
	default:
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	}
	kvmd_filter_entry(e);
	kvmd_xsave_filter_cpuid(e);
	return n + 1;
}

/*
 * KVM's paravirtual leaves: the signature, and as features kvmclock (when
 * the host TSC allows it, see kvmclock.c), "no port 0x80 delays", steal
 * time (pv.c, when the host keeps the run delay) with the PV TLB flush
 * (offered, as KVM, even without it), the kick, IPI and yield hypercalls
 * (pv.c), PV EOI (pv.c, lapic.c), poll control (cpumsr.c) and
 * asynchronous page faults with their #PF #VMEXIT and interrupt
 * deliveries (async_pf.c).
 */
static int kvmd_add_pv_leaves(struct kvm_cpuid_entry2 *ents, int n, int max)
{
	struct kvm_cpuid_entry2 *e;

	if (n + 2 > max)
		return -E2BIG;
	e = &ents[n];
	memset(e, 0, 2 * sizeof(*e));
	e[0].function = KVM_CPUID_SIGNATURE;
	e[0].eax = KVM_CPUID_FEATURES;
	e[0].ebx = 0x4b4d564b;	/* "KVMKVMKVM\0\0\0" */
	e[0].ecx = 0x564b4d56;
	e[0].edx = 0x4d;
	e[1].function = KVM_CPUID_FEATURES;
	e[1].eax = B(KVM_FEATURE_NOP_IO_DELAY) | B(KVM_FEATURE_PV_UNHALT) |
		    B(KVM_FEATURE_PV_SEND_IPI) | B(KVM_FEATURE_PV_SCHED_YIELD) |
		    B(KVM_FEATURE_POLL_CONTROL) | B(KVM_FEATURE_PV_EOI) |
		    B(KVM_FEATURE_PV_TLB_FLUSH) | B(KVM_FEATURE_ASYNC_PF) |
		    B(KVM_FEATURE_ASYNC_PF_VMEXIT) | B(KVM_FEATURE_ASYNC_PF_INT);
	if (kvmd_kvmclock_ok())
		e[1].eax |= B(KVM_FEATURE_CLOCKSOURCE) | B(KVM_FEATURE_CLOCKSOURCE2) |
			    B(KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
	if (kvmd_steal_time_ok())	/* pv.c */
		e[1].eax |= B(KVM_FEATURE_STEAL_TIME);
	return n + 2;
}

static int kvmd_build_supported(struct kvm_cpuid_entry2 *ents, int max)
{
	u32 basic = min(cpuid_eax(0), 0xdU);
	u32 ext = kvmd_max_ext_leaf();
	u32 f, i;
	int n = 0;

	for (f = 0; n >= 0 && f <= basic; f++) {
		if (f == 0xd) {
			n = kvmd_xsave_add_cpuid(ents, n, max);
			continue;
		}
		n = kvmd_add_entry(ents, n, max, f, 0);
		/* Cache leaves: every level until the one of type 0. */
		for (i = 1; f == 4 && n > 0 && (ents[n - 1].eax & 0x1f); i++)
			n = kvmd_add_entry(ents, n, max, f, i);
	}
	for (f = 0x80000000; n >= 0 && f <= ext; f++) {
		n = kvmd_add_entry(ents, n, max, f, 0);
		for (i = 1; f == 0x8000001d && n > 0 && (ents[n - 1].eax & 0x1f); i++)
			n = kvmd_add_entry(ents, n, max, f, i);
	}
	/* A guest hypervisor, where the vendor offers one (nested_svm.c). */
	if (n >= 0 && kvmd_ops->nested_cpuid)
		n = kvmd_ops->nested_cpuid(ents, n, max);
	if (n >= 0)
		n = kvmd_add_pv_leaves(ents, n, max);
	return n;
}

int kvmd_get_supported_cpuid(struct kvm_cpuid2 __user *ucpuid)
{
	struct kvm_cpuid_entry2 *ents;
	struct kvm_cpuid2 c;
	int n, r;

	if (copy_from_user(&c, ucpuid, sizeof(c)))
		return -EFAULT;
	if (c.nent < 1)
		return -E2BIG;
	if (c.nent > KVMD_MAX_CPUID)
		c.nent = KVMD_MAX_CPUID;
	ents = kcalloc(c.nent, sizeof(*ents), GFP_KERNEL);
	if (!ents)
		return -ENOMEM;
	n = kvmd_build_supported(ents, c.nent);
	r = n;
	if (n < 0)
		goto out;
	r = -EFAULT;
	c.nent = n;
	if (copy_to_user(ucpuid->entries, ents, n * sizeof(*ents)) ||
	    copy_to_user(ucpuid, &c, sizeof(c)))
		goto out;
	r = 0;
out:
	kfree(ents);
	return r;
}

/*
 * Like KVM: CPUID.1:EDX.APIC follows the enable bit of MSR_IA32_APICBASE,
 * so a guest (or VMM) that disables the APIC sees it gone. Applied to a new
 * table before it is compared with the one in use.
 */
static void kvmd_apic_bit(struct kvm_cpuid_entry2 *ents, int n, u64 apic_base)
{
	int i;

	for (i = 0; i < n; i++) {
		if (ents[i].function != 1)
			continue;
		ents[i].edx &= ~B(9);
		if (apic_base & MSR_IA32_APICBASE_ENABLE)
			ents[i].edx |= B(9);
	}
}

/* The first entry of @function (of @index, where the index counts), as KVM finds it. */
static const struct kvm_cpuid_entry2 *
kvmd_find_entry(const struct kvm_cpuid_entry2 *ents, int nent, u32 function, u32 index)
{
	int i;

	for (i = 0; i < nent; i++)
		if (ents[i].function == function &&
		    (!(ents[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     ents[i].index == index))
			return &ents[i];
	return NULL;
}

/*
 * KVM's checks of a table before the vCPU first ran: a virtual address
 * width (0x80000008 EAX[15:8]) other than 48 or 57 bits, or 0, is EINVAL;
 * a dynamic XSAVE feature (0xd EAX/EDX: AMX tile data) needs the process's
 * permission in KVM, which this driver, without AMX, gives to no one: EPERM.
 */
static int kvmd_check_cpuid(const struct kvm_cpuid_entry2 *ents, int nent)
{
	const struct kvm_cpuid_entry2 *e;
	u64 xfeatures;
	int i;

	for (i = 0; i < nent; i++) {
		if (ents[i].function != 0x80000008)
			continue;
		switch ((ents[i].eax >> 8) & 0xff) {
		case 0: case 48: case 57:
			break;
		default:
			return -EINVAL;
		}
		break;
	}
	e = kvmd_find_entry(ents, nent, 0xd, 0);
	if (!e)
		return 0;
	xfeatures = e->eax | (u64)e->edx << 32;
	return xfeatures & XFEATURE_MASK_XTILE_DATA ? -EPERM : 0;
}

int kvmd_set_cpuid2(struct kvmd_vcpu *vcpu, struct kvm_cpuid2 __user *ucpuid)
{
	struct kvm_cpuid_entry2 *ents = NULL;
	struct kvm_cpuid2 c;
	int i;

	if (copy_from_user(&c, ucpuid, sizeof(c)))
		return -EFAULT;
	if (c.nent > KVMD_MAX_CPUID)
		return -E2BIG;
	if (c.nent) {
		ents = memdup_user(ucpuid->entries, c.nent * sizeof(*ents));
		if (IS_ERR(ents))
			return PTR_ERR(ents);
	}
	if (!vcpu->exits) {
		int r = kvmd_check_cpuid(ents, c.nent);

		if (r) {
			kfree(ents);
			return r;
		}
	}
	for (i = 0; i < c.nent; i++)
		kvmd_filter_entry(&ents[i]);
	kvmd_apic_bit(ents, c.nent, vcpu->apic_base);
	kvmd_xsave_cpuid_runtime(vcpu, ents, c.nent);
	kvmd_xsave_cpuid_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
	/* Like KVM: after the first entry the table may not change. */
	if (vcpu->exits && (c.nent != vcpu->cpuid_nent ||
			    (c.nent && memcmp(ents, vcpu->cpuid, c.nent * sizeof(*ents))))) {
		kfree(ents);
		return -EINVAL;
	}
	kfree(vcpu->cpuid);
	vcpu->cpuid = ents;
	vcpu->cpuid_nent = c.nent;
	kvmd_xsave_cpuid_changed(vcpu);
	kvmd_apic_update_version(vcpu);
	if (kvmd_ops->cpuid_changed)
		kvmd_ops->cpuid_changed(vcpu);
	return kvmd_hv_set_cpuid(vcpu);
}

int kvmd_get_cpuid2(struct kvmd_vcpu *vcpu, struct kvm_cpuid2 __user *ucpuid)
{
	struct kvm_cpuid2 c;

	if (copy_from_user(&c, ucpuid, sizeof(c)))
		return -EFAULT;
	if (c.nent < vcpu->cpuid_nent)
		return -E2BIG;
	kvmd_xsave_cpuid_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
	c.nent = vcpu->cpuid_nent;
	if (copy_to_user(ucpuid->entries, vcpu->cpuid,
			 c.nent * sizeof(*vcpu->cpuid)) ||
	    copy_to_user(ucpuid, &c, sizeof(c)))
		return -EFAULT;
	return 0;
}

static struct kvm_cpuid_entry2 *kvmd_find_cpuid(struct kvmd_vcpu *vcpu,
						u32 function, u32 index)
{
	int i;

	for (i = 0; i < vcpu->cpuid_nent; i++) {
		struct kvm_cpuid_entry2 *e = &vcpu->cpuid[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) &&
		    e->index != index)
			continue;
		return e;
	}
	return NULL;
}

/* The driver offers this feature bit: KVM_GET_SUPPORTED_CPUID reports it. */
bool kvmd_cpu_has(u32 leaf, int reg, int bit)
{
	u32 r[4];

	if (leaf > cpuid_eax(leaf & 0x80000000))
		return false;
	cpuid_count(leaf, 0, &r[0], &r[1], &r[2], &r[3]);
	return r[reg] & kvmd_feature_mask(leaf, 0, reg) & B(bit);
}

bool kvmd_guest_has(struct kvmd_vcpu *vcpu, u32 leaf, int reg, int bit)
{
	struct kvm_cpuid_entry2 *e = kvmd_find_cpuid(vcpu, leaf, 0);
	u32 v;

	if (!e)
		return false;
	v = reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
	return v & B(bit);
}

/* The guest's physical address width, from CPUID 0x80000008 (36 without it), as KVM. */
int kvmd_guest_maxphyaddr(struct kvmd_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *e = kvmd_find_cpuid(vcpu, 0x80000000, 0);

	if (e && e->eax >= 0x80000008) {
		e = kvmd_find_cpuid(vcpu, 0x80000008, 0);
		if (e)
			return e->eax & 0xff;
	}
	return 36;
}

/* After MSR_IA32_APICBASE or CR4 changed. */
void kvmd_cpuid_update_runtime(struct kvmd_vcpu *vcpu)
{
	kvmd_apic_bit(vcpu->cpuid, vcpu->cpuid_nent, vcpu->apic_base);
	kvmd_xsave_cpuid_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
}

/* The guest's CPUID 0 says "GenuineIntel" (EBX, EDX, ECX). */
bool kvmd_guest_is_intel(struct kvmd_vcpu *vcpu)
{
	struct kvm_cpuid_entry2 *basic = kvmd_find_cpuid(vcpu, 0, 0);

	return basic && basic->ebx == 0x756e6547 && basic->edx == 0x49656e69 &&
	       basic->ecx == 0x6c65746e;
}

/* Intel guests see the highest basic leaf for out-of-range leaves, AMD zeros. */
static struct kvm_cpuid_entry2 *kvmd_out_of_range(struct kvmd_vcpu *vcpu,
						  u32 function, u32 index)
{
	struct kvm_cpuid_entry2 *basic = kvmd_find_cpuid(vcpu, 0, 0);
	struct kvm_cpuid_entry2 *max;

	if (!kvmd_guest_is_intel(vcpu))
		return NULL;
	max = kvmd_find_cpuid(vcpu, function & 0x80000000, 0);
	if (!max || function <= max->eax)
		return NULL;
	return kvmd_find_cpuid(vcpu, basic->eax, index);
}

__kvmd_hot int kvmd_handle_cpuid(struct kvmd_vcpu *vcpu)
{
	u32 function = vcpu->regs[R_AX], index = vcpu->regs[R_CX];
	struct kvm_cpuid_entry2 *e;

	/*
	 * CR4 writes are not intercepted everywhere: OSXSAVE and PKE are read
	 * now; and nested, XCR0 may have changed without an XSETBV exit.
	 */
	if (function == 1 || function == 7 || function == 0xd)
		kvmd_xsave_cpuid_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
	e = kvmd_find_cpuid(vcpu, function, index);

	if (kvmd_cpuid_faults(vcpu))	/* CPUID faulting on, CPL > 0 */
		return KVMD_RESUME;
	if (!e)
		e = kvmd_out_of_range(vcpu, function, index);
	if (e) {
		vcpu->regs[R_AX] = e->eax;
		vcpu->regs[R_BX] = e->ebx;
		vcpu->regs[R_CX] = e->ecx;
		vcpu->regs[R_DX] = e->edx;
	} else {
		vcpu->regs[R_AX] = vcpu->regs[R_BX] = 0;
		vcpu->regs[R_CX] = vcpu->regs[R_DX] = 0;
	}
	kvmd_skip_insn(vcpu, 2);
	return KVMD_RESUME;
}
