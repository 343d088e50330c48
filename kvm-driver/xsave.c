// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/xsave.c: the guest's extended state: its XSAVE area, XCR0 and PKRU, XSETBV, the XSAVE and XCR ioctls. */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/thread_info.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>
#include <asm/fpu/xcr.h>
#include <asm/processor-flags.h>
#include <asm/special_insns.h>

#include "kvmdrv.h"

/*
 * The state components a guest may enable, as far as the host's XCR0 has
 * them: x87, SSE, AVX, AVX-512 (opmask, ZMM_Hi256, Hi16_ZMM) and PKRU.
 * Like KVM on AMD, no MPX; no AMX (its state needs the kernel's dynamic
 * permission); no supervisor state (IA32_XSS is not emulated).
 */
#define KVMD_XCR0_OFFERED	(XFEATURE_MASK_FPSSE | XFEATURE_MASK_YMM | \
				 XFEATURE_MASK_AVX512 | XFEATURE_MASK_PKRU)
#define KVMD_MAX_XCRS		16	/* struct kvm_xcrs, as KVM_MAX_XCRS */
#define XSAVE_LEGACY_SIZE	512
#define XSAVE_HEADER_SIZE	64

static u64 kvmd_host_xcr0;
u64 kvmd_supported_xcr0;

/*
 * Nested under another hypervisor, XSETBV may reach the CPU without the
 * intercept the backend asked for: QEMU TCG's SVM never intercepts it and
 * does not switch XCR0 at VMRUN or #VMEXIT either, so the guest's XSETBV
 * writes the register and stock KVM, which reloads its own idea of XCR0 at
 * the next entry, takes the guest's AVX away. There the entry always loads
 * the guest's XCR0 and the exit takes a changed one as the guest's write.
 * On bare metal XSETBV always exits, and the KVM rules below apply as
 * they are.
 */
static bool kvmd_xcr0_untrusted;
static bool kvmd_xcr0_valid(struct kvmd_vcpu *vcpu, u64 xcr0);

/* Where each component sits in the standard format, and its size (CPUID 0xD). */
static struct {
	u32 size, offset, flags;
} kvmd_xstate[64];

void kvmd_xsave_setup(void)
{
	u32 edx;
	int i;

	if (!boot_cpu_has(X86_FEATURE_XSAVE))
		return;
	kvmd_host_xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
	kvmd_supported_xcr0 = kvmd_host_xcr0 & KVMD_XCR0_OFFERED;
	kvmd_xcr0_untrusted = boot_cpu_has(X86_FEATURE_HYPERVISOR);
	for (i = 2; i < 64; i++)
		if (kvmd_host_xcr0 & BIT_ULL(i))
			cpuid_count(0xd, i, &kvmd_xstate[i].size,
				    &kvmd_xstate[i].offset,
				    &kvmd_xstate[i].flags, &edx);
}

/* Bytes an XSAVE area needs for these components (KVM's xstate_required_size). */
u32 kvmd_xstate_size(u64 xfeatures, bool compacted)
{
	u32 size = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;
	int i;

	xfeatures &= kvmd_host_xcr0;
	for (i = 2; i < 64; i++) {
		u32 offset;

		if (!(xfeatures & BIT_ULL(i)))
			continue;
		if (compacted)	/* ECX bit 1: 64-byte aligned when compacted */
			offset = (kvmd_xstate[i].flags & 2) ? ALIGN(size, 64) : size;
		else
			offset = kvmd_xstate[i].offset;
		size = max(size, offset + kvmd_xstate[i].size);
	}
	return size;
}

/* KVM_CAP_XSAVE2: the KVM_GET_XSAVE2 buffer, never less than struct kvm_xsave. */
long kvmd_xsave2_size(void)
{
	return max_t(long, kvmd_xstate_size(kvmd_supported_xcr0, false),
		     sizeof(struct kvm_xsave));
}

/* ---- per vCPU ---- */

int kvmd_xsave_vcpu_create(struct kvmd_vcpu *vcpu)
{
	if (!fpu_alloc_guest_fpstate(&vcpu->guest_fpu))
		return -ENOMEM;
	/* Power-on: x87 only (INIT keeps XCR0, as in KVM). */
	vcpu->xcr0 = XFEATURE_MASK_FP;
	return 0;
}

void kvmd_xsave_vcpu_free(struct kvmd_vcpu *vcpu)
{
	fpu_free_guest_fpstate(&vcpu->guest_fpu);
}

struct fxregs_state *kvmd_guest_fxsave(struct kvmd_vcpu *vcpu)
{
	return &vcpu->guest_fpu.fpstate->regs.fxsave;
}

/* After KVM_SET_FPU: the x87 and SSE values are live, not in their init state. */
void kvmd_guest_fxsave_written(struct kvmd_vcpu *vcpu)
{
	if (boot_cpu_has(X86_FEATURE_XSAVE))
		vcpu->guest_fpu.fpstate->regs.xsave.header.xfeatures |=
			XFEATURE_MASK_FPSSE;
}

static bool kvmd_guest_cr4(struct kvmd_vcpu *vcpu, u64 bit)
{
	return kvmd_ops->get_cr(vcpu, 4) & bit;
}

/*
 * Before the entry, interrupts still on (reading CR4 may load the VMCS,
 * which can take an IPI): whether the entry loads the guest's XCR0 and
 * PKRU, by KVM's rules.
 */
__kvmd_hot void kvmd_xsave_prepare(struct kvmd_vcpu *vcpu)
{
	u64 cr4 = kvmd_host_xcr0 ? kvmd_ops->get_cr(vcpu, 4) : 0;

	/* Without CR4.OSXSAVE the guest cannot see XCR0: loading it is harmless. */
	vcpu->xcr0_loaded = kvmd_host_xcr0 && vcpu->xcr0 != kvmd_host_xcr0 &&
			    ((cr4 & X86_CR4_OSXSAVE) || kvmd_xcr0_untrusted);
	vcpu->pkru_loaded = cpu_feature_enabled(X86_FEATURE_OSPKE) &&
			    ((vcpu->xcr0 & XFEATURE_MASK_PKRU) || (cr4 & X86_CR4_PKE));
}

/*
 * Right before the entry, interrupts off: the registers hold the guest's
 * state (the scheduler or a kernel_fpu_begin() may have saved them), then
 * the guest's XCR0 and PKRU as kvmd_xsave_prepare() decided.
 */
__kvmd_hot void kvmd_xsave_load_guest(struct kvmd_vcpu *vcpu)
{
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	if (vcpu->xcr0_loaded)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, vcpu->xcr0);
	if (cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		vcpu->host_pkru = rdpkru();
		if (vcpu->pkru_loaded && vcpu->pkru != vcpu->host_pkru)
			wrpkru(vcpu->pkru);
	}
}

/*
 * Right after the exit. PKRU is read back whenever it is not the host's,
 * whatever CR4 said at the entry: that does not rely on every CR4 write
 * exiting (VMX, nested guests).
 */
__kvmd_hot void kvmd_xsave_load_host(struct kvmd_vcpu *vcpu)
{
	u64 xcr0;

	if (cpu_feature_enabled(X86_FEATURE_OSPKE)) {
		u32 pkru = rdpkru();

		if (vcpu->pkru_loaded || pkru != vcpu->host_pkru) {
			vcpu->pkru = pkru;
			if (pkru != vcpu->host_pkru)
				wrpkru(vcpu->host_pkru);
		}
	}
	if (!kvmd_host_xcr0)
		return;
	if (kvmd_xcr0_untrusted) {
		/*
		 * What the entry left in XCR0 unless the guest wrote it: a
		 * valid new value is the guest's (CPUID leaf 0xD's sizes
		 * follow at the next CPUID exit or KVM_GET_CPUID2).
		 */
		xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK);
		if (xcr0 != (vcpu->xcr0_loaded ? vcpu->xcr0 : kvmd_host_xcr0) &&
		    kvmd_xcr0_valid(vcpu, xcr0))
			vcpu->xcr0 = xcr0;
		if (xcr0 != kvmd_host_xcr0)
			xsetbv(XCR_XFEATURE_ENABLED_MASK, kvmd_host_xcr0);
	} else if (vcpu->xcr0_loaded) {
		xsetbv(XCR_XFEATURE_ENABLED_MASK, kvmd_host_xcr0);
	}
}

/* ---- XCR0 ---- */

/* The guest may set CR4.OSXSAVE (KVM_SET_CPUID2 not done yet: whatever is offered). */
bool kvmd_guest_may_osxsave(struct kvmd_vcpu *vcpu)
{
	return kvmd_host_xcr0 &&
	       (!vcpu->cpuid_nent || kvmd_guest_has(vcpu, 1, 2, 26));
}

static struct kvm_cpuid_entry2 *kvmd_xsave_find(struct kvm_cpuid_entry2 *ents,
						 int n, u32 function, u32 index)
{
	int i;

	for (i = 0; i < n; i++)
		if (ents[i].function == function &&
		    (!(ents[i].flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		     ents[i].index == index))
			return &ents[i];
	return NULL;
}

/* XCR0 bits the guest's CPUID leaf 0xD allows, within what is offered. */
static u64 kvmd_cpuid_xcr0(struct kvm_cpuid_entry2 *ents, int n)
{
	struct kvm_cpuid_entry2 *e = kvmd_xsave_find(ents, n, 0xd, 0);

	if (!e)
		return 0;
	return (e->eax | ((u64)e->edx << 32)) & kvmd_supported_xcr0;
}

/*
 * What CPUID shows of the running state, as KVM's runtime update:
 * CPUID.1:ECX.OSXSAVE follows CR4.OSXSAVE, and leaf 0xD's sizes follow
 * XCR0. Applied to a new table before it is compared with the one in use.
 */
void kvmd_xsave_cpuid_runtime(struct kvmd_vcpu *vcpu,
			      struct kvm_cpuid_entry2 *ents, int n)
{
	struct kvm_cpuid_entry2 *e;

	e = kvmd_xsave_find(ents, n, 1, 0);
	if (e && kvmd_host_xcr0) {
		e->ecx &= ~BIT(27);
		if (kvmd_guest_cr4(vcpu, X86_CR4_OSXSAVE))
			e->ecx |= BIT(27);
	}
	/* CPUID.7:ECX.OSPKE follows CR4.PKE the same way. */
	e = kvmd_xsave_find(ents, n, 7, 0);
	if (e) {
		e->ecx &= ~BIT(4);
		if (kvmd_guest_cr4(vcpu, X86_CR4_PKE))
			e->ecx |= BIT(4);
	}
	e = kvmd_xsave_find(ents, n, 0xd, 0);
	if (e)
		e->ebx = kvmd_xstate_size(vcpu->xcr0, false);
	e = kvmd_xsave_find(ents, n, 0xd, 1);
	if (e && (e->eax & (BIT(1) | BIT(3))))	/* XSAVEC, XSAVES */
		e->ebx = kvmd_xstate_size(vcpu->xcr0, true);
}

/* After KVM_SET_CPUID2 took the table. */
void kvmd_xsave_cpuid_changed(struct kvmd_vcpu *vcpu)
{
	vcpu->guest_supported_xcr0 = kvmd_cpuid_xcr0(vcpu->cpuid,
						     vcpu->cpuid_nent);
}

/* KVM's __kvm_set_xcr rules for XCR0. */
static bool kvmd_xcr0_valid(struct kvmd_vcpu *vcpu, u64 xcr0)
{
	if (!(xcr0 & XFEATURE_MASK_FP))
		return false;
	if ((xcr0 & XFEATURE_MASK_YMM) && !(xcr0 & XFEATURE_MASK_SSE))
		return false;
	/* x87 is always allowed, even to a guest without XSAVE. */
	if (xcr0 & ~(vcpu->guest_supported_xcr0 | XFEATURE_MASK_FP))
		return false;
	if (xcr0 & XFEATURE_MASK_AVX512) {
		if (!(xcr0 & XFEATURE_MASK_YMM))
			return false;
		if ((xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512)
			return false;
	}
	return true;
}

/* 0 when the value is taken, else the caller's #GP/EINVAL. */
static int kvmd_set_xcr(struct kvmd_vcpu *vcpu, u32 index, u64 xcr0)
{
	if (index != XCR_XFEATURE_ENABLED_MASK || !kvmd_xcr0_valid(vcpu, xcr0))
		return 1;
	vcpu->xcr0 = xcr0;
	kvmd_xsave_cpuid_runtime(vcpu, vcpu->cpuid, vcpu->cpuid_nent);
	return 0;
}

/*
 * The XSETBV intercept (CR4.OSXSAVE=0 faults with #UD before it): #GP at
 * CPL > 0 and for a value KVM refuses. True when the instruction is done
 * and the caller moves RIP past it.
 */
bool kvmd_emulate_xsetbv(struct kvmd_vcpu *vcpu)
{
	u64 v = ((vcpu->regs[R_DX] & 0xffffffffULL) << 32) |
		(vcpu->regs[R_AX] & 0xffffffffULL);

	if (kvmd_ops->get_cpl(vcpu) ||
	    kvmd_set_xcr(vcpu, vcpu->regs[R_CX], v)) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return false;
	}
	return true;
}

/* ---- ioctls ---- */

static long kvmd_get_xsave(struct kvmd_vcpu *vcpu, void __user *argp,
			   unsigned int size)
{
	void *buf = kzalloc(size, GFP_KERNEL_ACCOUNT);
	long r = 0;

	if (!buf)
		return -ENOMEM;
	/*
	 * As KVM: the components the guest's CPUID allows, and x87/SSE
	 * always, so that the area restores on a host with fewer features.
	 */
	fpu_copy_guest_fpstate_to_uabi(&vcpu->guest_fpu, buf, size,
				       vcpu->guest_supported_xcr0 | XFEATURE_MASK_FPSSE,
				       vcpu->pkru);
	if (copy_to_user(argp, buf, size))
		r = -EFAULT;
	kfree(buf);
	return r;
}

static long kvmd_set_xsave(struct kvmd_vcpu *vcpu, void __user *argp)
{
	union fpregs_state *buf;
	long r;

	buf = memdup_user(argp, vcpu->guest_fpu.uabi_size);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	/* As KVM: components the guest disabled with XFD go in their init state. */
	buf->xsave.header.xfeatures &= ~vcpu->guest_fpu.fpstate->xfd;
	/* Bits outside what is offered, a bad header or MXCSR: EINVAL. */
	r = fpu_copy_uabi_to_guest_fpstate(&vcpu->guest_fpu, buf,
					   kvmd_supported_xcr0, &vcpu->pkru);
	kfree(buf);
	return r;
}

static long kvmd_get_xcrs(struct kvmd_vcpu *vcpu, void __user *argp)
{
	struct kvm_xcrs *x = kzalloc(sizeof(*x), GFP_KERNEL_ACCOUNT);
	long r = 0;

	if (!x)
		return -ENOMEM;
	if (kvmd_host_xcr0) {
		x->nr_xcrs = 1;
		x->xcrs[0].xcr = XCR_XFEATURE_ENABLED_MASK;
		x->xcrs[0].value = vcpu->xcr0;
	}
	if (copy_to_user(argp, x, sizeof(*x)))
		r = -EFAULT;
	kfree(x);
	return r;
}

static long kvmd_set_xcrs(struct kvmd_vcpu *vcpu, void __user *argp)
{
	struct kvm_xcrs *x;
	long r = 0;
	u32 i;

	if (!kvmd_host_xcr0)
		return -EINVAL;
	x = memdup_user(argp, sizeof(*x));
	if (IS_ERR(x))
		return PTR_ERR(x);
	if (x->nr_xcrs > KVMD_MAX_XCRS || x->flags) {
		r = -EINVAL;
		goto out;
	}
	/* As KVM: the first XCR0 in the list counts, other XCRs are ignored. */
	for (i = 0; i < x->nr_xcrs; i++) {
		if (x->xcrs[i].xcr != XCR_XFEATURE_ENABLED_MASK)
			continue;
		if (kvmd_set_xcr(vcpu, XCR_XFEATURE_ENABLED_MASK, x->xcrs[i].value))
			r = -EINVAL;
		break;
	}
out:
	kfree(x);
	return r;
}

long kvmd_xsave_ioctl(struct kvmd_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp)
{
	switch (ioctl) {
	case KVM_GET_XSAVE:
		/* An area too big for struct kvm_xsave needs KVM_GET_XSAVE2. */
		if (vcpu->guest_fpu.uabi_size > sizeof(struct kvm_xsave))
			return -EINVAL;
		return kvmd_get_xsave(vcpu, argp, sizeof(struct kvm_xsave));
	case KVM_GET_XSAVE2:
		return kvmd_get_xsave(vcpu, argp, vcpu->guest_fpu.uabi_size);
	case KVM_SET_XSAVE:
		return kvmd_set_xsave(vcpu, argp);
	case KVM_GET_XCRS:
		return kvmd_get_xcrs(vcpu, argp);
	case KVM_SET_XCRS:
		return kvmd_set_xcrs(vcpu, argp);
	default:
		return -EINVAL;
	}
}

/* ---- KVM_GET_SUPPORTED_CPUID ---- */

/* CPUID.1:ECX and leaf 7 bits that need state in XCR0, off when the host lacks it. */
void kvmd_xsave_filter_cpuid(struct kvm_cpuid_entry2 *e)
{
	if (e->function == 1) {
		if (!kvmd_supported_xcr0)
			e->ecx &= ~BIT(26);			/* XSAVE */
		if (!(kvmd_supported_xcr0 & XFEATURE_MASK_YMM))
			e->ecx &= ~(BIT(12) | BIT(28) | BIT(29));	/* FMA, AVX, F16C */
	} else if (e->function == 7 && !e->index) {
		if (!(kvmd_supported_xcr0 & XFEATURE_MASK_YMM)) {
			e->ebx &= ~BIT(5);			/* AVX2 */
			e->ecx &= ~(BIT(9) | BIT(10));	/* VAES, VPCLMULQDQ */
		}
		if ((kvmd_supported_xcr0 & XFEATURE_MASK_AVX512) != XFEATURE_MASK_AVX512) {
			/* F, DQ, IFMA, PF, ER, CD, BW, VL */
			e->ebx &= ~(BIT(16) | BIT(17) | BIT(21) | BIT(26) | BIT(27) |
				    BIT(28) | BIT(30) | BIT(31));
			/* VBMI, VBMI2, VNNI, BITALG, VPOPCNTDQ */
			e->ecx &= ~(BIT(1) | BIT(6) | BIT(11) | BIT(12) | BIT(14));
			/* 4VNNIW, 4FMAPS, VP2INTERSECT, FP16 */
			e->edx &= ~(BIT(2) | BIT(3) | BIT(8) | BIT(23));
		}
	} else if (e->function == 0x80000001) {
		if (!(kvmd_supported_xcr0 & XFEATURE_MASK_YMM))
			e->ecx &= ~(BIT(11) | BIT(16));	/* XOP, FMA4 */
	}
}

static struct kvm_cpuid_entry2 *kvmd_xsave_leaf(struct kvm_cpuid_entry2 *ents,
						 int n, u32 index)
{
	struct kvm_cpuid_entry2 *e = &ents[n];

	memset(e, 0, sizeof(*e));
	e->function = 0xd;
	e->index = index;
	e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
	cpuid_count(0xd, index, &e->eax, &e->ebx, &e->ecx, &e->edx);
	return e;
}

/*
 * Leaf 0xD as KVM gives it: subleaf 0 with the components offered and the
 * size they need, subleaf 1 with XSAVEOPT, XSAVEC and XGETBV1 (no XSAVES:
 * IA32_XSS is not emulated), then one subleaf per component.
 */
int kvmd_xsave_add_cpuid(struct kvm_cpuid_entry2 *ents, int n, int max)
{
	struct kvm_cpuid_entry2 *e;
	int i;

	if (!kvmd_supported_xcr0)
		return n;
	if (n + 2 > max)
		return -E2BIG;
	e = kvmd_xsave_leaf(ents, n++, 0);
	e->eax &= (u32)kvmd_supported_xcr0;
	e->ebx = kvmd_xstate_size(kvmd_supported_xcr0, false);
	e->ecx = e->ebx;
	e->edx &= kvmd_supported_xcr0 >> 32;

	e = kvmd_xsave_leaf(ents, n++, 1);
	e->eax &= BIT(0) | BIT(1) | BIT(2);
	e->ebx = (e->eax & BIT(1)) ? kvmd_xstate_size(kvmd_supported_xcr0, true) : 0;
	e->ecx = 0;
	e->edx = 0;

	for (i = 2; i < 64; i++) {
		if (!(kvmd_supported_xcr0 & BIT_ULL(i)))
			continue;
		if (n >= max)
			return -E2BIG;
		e = kvmd_xsave_leaf(ents, n++, i);
		e->ecx &= ~BIT(2);	/* no XFD */
		e->edx = 0;
	}
	return n;
}
