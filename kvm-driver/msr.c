// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/msr.c: model-specific registers a guest OS touches; everything else is #GP. */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/msr.h>
#include <asm/kvm_para.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

#define KVMD_MTRR_VARS		8
#define KVMD_MTRR_CAP		(0x500 | KVMD_MTRR_VARS)	/* WC, fixed, 8 pairs */
#define KVMD_EFER_OK		(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_FFXSR)

/* What KVM_GET_MSR_INDEX_LIST reports: state a VMM saves and restores. */
static const u32 kvmd_msrs_to_save[] = {
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_STAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_SYSCALL_MASK, MSR_LSTAR,
	MSR_IA32_TSC, MSR_IA32_TSC_ADJUST, MSR_IA32_CR_PAT, MSR_IA32_MISC_ENABLE,
	MSR_KVM_SYSTEM_TIME, MSR_KVM_WALL_CLOCK,
	MSR_KVM_SYSTEM_TIME_NEW, MSR_KVM_WALL_CLOCK_NEW,
	MSR_KVM_STEAL_TIME, MSR_KVM_PV_EOI_EN,
	MSR_PLATFORM_INFO, MSR_MISC_FEATURES_ENABLES,
	MSR_IA32_POWER_CTL,
	MSR_TSC_AUX, MSR_IA32_ARCH_CAPABILITIES, MSR_IA32_UCODE_REV, MSR_K7_HWCR,
	MSR_IA32_MCG_STATUS, MSR_IA32_MCG_CTL, MSR_IA32_TSC_DEADLINE,
	MSR_KVM_POLL_CONTROL, MSR_IA32_SMBASE, MSR_SMI_COUNT,
	MSR_KVM_ASYNC_PF_EN, MSR_KVM_ASYNC_PF_INT, MSR_KVM_ASYNC_PF_ACK,
};

int kvmd_get_msr_index_list(struct kvm_msr_list __user *ulist)
{
	struct kvm_msr_list l;
	unsigned int n_hv;
	const u32 *hv = kvmd_hv_msr_list(&n_hv);
	u32 base = ARRAY_SIZE(kvmd_msrs_to_save);
	u32 n = base + n_hv + kvmd_ops->nr_save_msrs;

	if (copy_from_user(&l, ulist, sizeof(l)))
		return -EFAULT;
	if (put_user(n, &ulist->nmsrs))
		return -EFAULT;
	if (l.nmsrs < n)
		return -E2BIG;
	if (copy_to_user(ulist->indices, kvmd_msrs_to_save, sizeof(kvmd_msrs_to_save)) ||
	    copy_to_user(ulist->indices + base, hv, n_hv * sizeof(*hv)))
		return -EFAULT;
	/* The vendor's own (SVM: MSR_VM_HSAVE_PA, as KVM's list has it). */
	if (kvmd_ops->nr_save_msrs &&
	    copy_to_user(ulist->indices + base + n_hv, kvmd_ops->save_msrs,
			 kvmd_ops->nr_save_msrs * sizeof(u32)))
		return -EFAULT;
	return 0;
}

void kvmd_msr_reset(struct kvmd_vcpu *vcpu)
{
	vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE;
	if (vcpu->id == READ_ONCE(vcpu->vm->bsp_vcpu_id))
		vcpu->apic_base |= MSR_IA32_APICBASE_BSP;
	vcpu->misc_enable = MSR_IA32_MISC_ENABLE_PEBS_UNAVAIL |
			    MSR_IA32_MISC_ENABLE_BTS_UNAVAIL;
	vcpu->platform_info = MSR_PLATFORM_INFO_CPUID_FAULT;
	vcpu->misc_features = 0;
	vcpu->smm.smbase = 0x30000;	/* power-on; INIT keeps it */
	vcpu->steal_msr = 0;
	vcpu->kvmclock_system_time = 0;
	vcpu->kvmclock_wall_clock = 0;
	kvmd_mce_reset(vcpu);
	kvmd_cpu_msr_reset(vcpu);
	vcpu->mtrr_deftype = 0;
	memset(vcpu->mtrr_fixed, 0, sizeof(vcpu->mtrr_fixed));
	memset(vcpu->mtrr_var, 0, sizeof(vcpu->mtrr_var));
}

static int kvmd_mtrr_fixed_index(u32 index)
{
	switch (index) {
	case MSR_MTRRfix64K_00000:
		return 0;
	case MSR_MTRRfix16K_80000:
		return 1;
	case MSR_MTRRfix16K_A0000:
		return 2;
	case MSR_MTRRfix4K_C0000 ... MSR_MTRRfix4K_F8000:
		return 3 + index - MSR_MTRRfix4K_C0000;
	default:
		return -1;
	}
}

static bool kvmd_mem_type_ok(u8 t)
{
	return t == 0 || t == 1 || (t >= 4 && t <= 6);
}

static bool kvmd_pat_ok(u64 pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		u8 t = pat >> (i * 8);

		if (t != 7 && !kvmd_mem_type_ok(t))
			return false;
	}
	return true;
}

/* Canonical for the guest's paging: 57 address bits with CR4.LA57, else 48. */
static bool kvmd_canonical(struct kvmd_vcpu *vcpu, u64 v)
{
	int shift = (kvmd_ops->get_cr(vcpu, 4) & X86_CR4_LA57) ? 7 : 16;

	return (s64)(v << shift) >> shift == (s64)v;
}

/* Returns 0 or 1 (the guest gets #GP / the ioctl stops). */
int kvmd_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	int i;

	i = kvmd_mce_msr_read(vcpu, index, data, host);
	if (i >= 0)
		return i;
	i = kvmd_feature_msr_read(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_pv_msr_read(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_apf_msr_read(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_hv_msr_read(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_cpu_msr_read(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_smm_msr_read(vcpu, index, data, host);
	if (i >= 0)
		return i;

	switch (index) {
	case MSR_EFER:
		*data = kvmd_ops->get_efer(vcpu);
		return 0;
	case MSR_IA32_TSC:
		*data = rdtsc() + vcpu->tsc_offset;
		return 0;
	case MSR_IA32_TSC_ADJUST:
		*data = vcpu->tsc_adjust;
		return 0;
	case MSR_IA32_APICBASE:
		*data = vcpu->apic_base;
		return 0;
	case MSR_IA32_TSC_DEADLINE:
		/* A VMM saving it (listed) without an in-kernel APIC reads 0, as KVM. */
		if (!vcpu->apic && host) {
			*data = 0;
			return 0;
		}
		if (!vcpu->apic || (!host && !kvmd_guest_has(vcpu, 1, 2, 24)))
			return 1;
		*data = kvmd_apic_get_tscdeadline(vcpu);
		return 0;
	case 0x800 ... 0x8ff:
		return kvmd_x2apic_msr_read(vcpu, index, data);
	case MSR_IA32_MISC_ENABLE:
		*data = vcpu->misc_enable;
		return 0;
	case MSR_IA32_POWER_CTL:
		*data = vcpu->power_ctl;
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_KVM_WALL_CLOCK_NEW:
		/* Without kvmclock (CPUID 0x40000001 not reported): #GP. */
		if (!host && !kvmd_kvmclock_ok())
			return 1;
		return kvmd_kvmclock_msr_read(vcpu, index, data);
	case MSR_MTRRcap:
		*data = KVMD_MTRR_CAP;
		return 0;
	case MSR_MTRRdefType:
		*data = vcpu->mtrr_deftype;
		return 0;
	case 0x200 ... 0x200 + 2 * KVMD_MTRR_VARS - 1:
		*data = vcpu->mtrr_var[index - 0x200];
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_IA32_DEBUGCTLMSR:
	case MSR_K7_HWCR:
	case MSR_AMD64_SYSCFG:
	case MSR_AMD64_DE_CFG:
		*data = 0;
		return 0;
	default:
		i = kvmd_mtrr_fixed_index(index);
		if (i >= 0) {
			*data = vcpu->mtrr_fixed[i];
			return 0;
		}
		return kvmd_ops->get_msr(vcpu, index, data);
	}
}

void kvmd_set_tsc_offset(struct kvmd_vcpu *vcpu, u64 offset)
{
	vcpu->tsc_offset = offset;
	kvmd_ops->set_tsc_offset(vcpu, offset);
	kvmd_make_request(vcpu, KVMD_REQ_CLOCK_UPDATE);
	kvmd_hv_request_tsc_page_update(vcpu->vm);
}

int kvmd_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host)
{
	u64 efer;
	int i;

	i = kvmd_mce_msr_write(vcpu, index, data, host);
	if (i >= 0)
		return i;
	i = kvmd_feature_msr_write(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_pv_msr_write(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_apf_msr_write(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_hv_msr_write(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_cpu_msr_write(vcpu, index, data, host);
	if (i < 0)
		i = kvmd_smm_msr_write(vcpu, index, data, host);
	if (i >= 0)
		return i;

	switch (index) {
	case MSR_EFER:
		if (data & ~(KVMD_EFER_OK | EFER_SVME))
			return 1;
		if ((data & EFER_NX) && !kvmd_guest_has(vcpu, 0x80000001, 3, 20) && !host)
			return 1;
		if ((data & EFER_LME) && !kvmd_guest_has(vcpu, 0x80000001, 3, 29) && !host)
			return 1;
		/* SVME: only where nested SVM is offered, and for the guest with CPUID.SVM. */
		if ((data & EFER_SVME) && (!kvmd_ops->nested_cpuid ||
		    (!host && !kvmd_guest_has(vcpu, 0x80000001, 2, 2))))
			return 1;
		efer = kvmd_ops->get_efer(vcpu);
		if (!host) {
			/* LMA is the processor's; LME is frozen while paging. */
			if ((kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PG) &&
			    ((efer ^ data) & EFER_LME))
				return 1;
			data = (data & ~EFER_LMA) | (efer & EFER_LMA);
		}
		kvmd_ops->set_efer(vcpu, data);
		return 0;
	case MSR_IA32_TSC: {
		u64 offset = data - rdtsc();

		/* As KVM: the guest's own writes show in IA32_TSC_ADJUST too. */
		if (!host)
			vcpu->tsc_adjust += offset - vcpu->tsc_offset;
		kvmd_set_tsc_offset(vcpu, offset);
		return 0;
	}
	case MSR_IA32_TSC_ADJUST:
		/* Ignored unless the guest's CPUID has it, as KVM does. */
		if (!kvmd_guest_has(vcpu, 7, 1, 1))
			return 0;
		if (!host)
			kvmd_set_tsc_offset(vcpu, vcpu->tsc_offset + data - vcpu->tsc_adjust);
		vcpu->tsc_adjust = data;
		return 0;
	case MSR_IA32_APICBASE: {
		u64 old = vcpu->apic_base;

		if (!kvmd_apic_base_valid(vcpu, data))
			return 1;
		/* As KVM: the guest can't go x2APIC -> xAPIC or disabled -> x2APIC. */
		if (!host && (old & X2APIC_ENABLE) && !(data & X2APIC_ENABLE) &&
		    (data & MSR_IA32_APICBASE_ENABLE))
			return 1;
		if (!host && !(old & MSR_IA32_APICBASE_ENABLE) && (data & X2APIC_ENABLE))
			return 1;
		vcpu->apic_base = data;
		kvmd_apic_base_changed(vcpu, old);
		kvmd_cpuid_update_runtime(vcpu);
		return 0;
	}
	case MSR_IA32_TSC_DEADLINE:
		if (!vcpu->apic && host)
			return 0;
		if (!vcpu->apic || (!host && !kvmd_guest_has(vcpu, 1, 2, 24)))
			return 1;
		kvmd_apic_set_tscdeadline(vcpu, data);
		return 0;
	case 0x800 ... 0x8ff:
		return kvmd_x2apic_msr_write(vcpu, index, data);
	case MSR_IA32_MISC_ENABLE:
		/* Without KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, ENABLE_MWAIT is CPUID's. */
		if (!kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) &&
		    ((vcpu->misc_enable ^ data) & MSR_IA32_MISC_ENABLE_MWAIT)) {
			if (!kvmd_guest_has(vcpu, 1, 2, 0))
				return 1;
			vcpu->misc_enable = data;
			kvmd_misc_enable_mwait(vcpu);
			return 0;
		}
		vcpu->misc_enable = data;
		return 0;
	case MSR_IA32_POWER_CTL:
		vcpu->power_ctl = data;
		return 0;
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_KVM_WALL_CLOCK_NEW:
		/*
		 * Without kvmclock the guest gets #GP, and a VMM restoring
		 * the MSRs (QEMU does) may only set them to "disabled".
		 */
		if (!kvmd_kvmclock_ok() && (!host || (data & 1) ||
		    (data && (index == MSR_KVM_WALL_CLOCK ||
			      index == MSR_KVM_WALL_CLOCK_NEW))))
			return 1;
		return kvmd_kvmclock_msr_write(vcpu, index, data, host);
	case MSR_IA32_CR_PAT:
		if (!kvmd_pat_ok(data))
			return 1;
		return kvmd_ops->set_msr(vcpu, index, data);
	case MSR_VM_HSAVE_PA:
		/* As KVM: the guest writes a page address; a VMM restores anything. */
		if (!host && ((data & ~PAGE_MASK) ||
			      (data >> kvmd_guest_maxphyaddr(vcpu))))
			return 1;
		return kvmd_ops->set_msr(vcpu, index, data);
	case MSR_MTRRdefType:
		if ((data & ~0xcffULL) || !kvmd_mem_type_ok(data & 0xff))
			return 1;
		vcpu->mtrr_deftype = data;
		return 0;
	case 0x200 ... 0x200 + 2 * KVMD_MTRR_VARS - 1:
		if (!(index & 1) && !kvmd_mem_type_ok(data & 0xff))
			return 1;
		vcpu->mtrr_var[index - 0x200] = data;
		return 0;
	case MSR_IA32_UCODE_REV:
	case MSR_AMD64_DE_CFG:
		return 0;
	case MSR_IA32_DEBUGCTLMSR:
	case MSR_AMD64_SYSCFG:
		return data ? 1 : 0;
	case MSR_K7_HWCR:
		/* Bits that only tune real hardware are accepted and ignored. */
		return (data & ~(0x8ULL | 0x40 | 0x100 | BIT_ULL(18) | BIT_ULL(24))) ? 1 : 0;
	case MSR_FS_BASE:
	case MSR_GS_BASE:
	case MSR_KERNEL_GS_BASE:
	case MSR_LSTAR:
	case MSR_CSTAR:
	case MSR_IA32_SYSENTER_ESP:
	case MSR_IA32_SYSENTER_EIP:
		if (!kvmd_canonical(vcpu, data))
			return 1;
		return kvmd_ops->set_msr(vcpu, index, data);
	default:
		i = kvmd_mtrr_fixed_index(index);
		if (i >= 0) {
			vcpu->mtrr_fixed[i] = data;
			return 0;
		}
		return kvmd_ops->set_msr(vcpu, index, data);
	}
}

/*
 * Like KVM: no bits above the guest's physical address width, none of the
 * reserved low ones, x2APIC mode only when the guest's CPUID has it, and
 * never x2APIC without the enable bit.
 */
bool kvmd_apic_base_valid(struct kvmd_vcpu *vcpu, u64 data)
{
	int width = kvmd_guest_maxphyaddr(vcpu);
	u64 reserved = 0x2ff;

	if (!kvmd_guest_has(vcpu, 1, 2, 21))
		reserved |= X2APIC_ENABLE;
	if ((data & X2APIC_ENABLE) && !(data & MSR_IA32_APICBASE_ENABLE))
		return false;

	if (width < 64)
		reserved |= ~0ULL << width;
	return !(data & reserved);
}

/*
 * A guest RDMSR or WRMSR: the VM's filter first, then the kernel's MSRs; what
 * they refuse goes to userspace if it asked (msrfilter.c), else #GP.
 */
int kvmd_handle_rdmsr(struct kvmd_vcpu *vcpu)
{
	u32 index = vcpu->regs[R_CX];
	u64 data = 0;
	int r;

	r = kvmd_msr_allowed(vcpu, index, false) ?
	    kvmd_msr_read(vcpu, index, &data, false) : KVMD_MSR_FILTERED;
	if (r) {
		if (kvmd_msr_user_exit(vcpu, index, 0, false, r) == KVMD_EXIT_USER)
			return KVMD_EXIT_USER;
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	vcpu->regs[R_AX] = (u32)data;
	vcpu->regs[R_DX] = data >> 32;
	kvmd_skip_insn(vcpu, 2);
	return KVMD_RESUME;
}

int kvmd_handle_wrmsr(struct kvmd_vcpu *vcpu)
{
	u64 data = (u32)vcpu->regs[R_AX] | ((u64)(u32)vcpu->regs[R_DX] << 32);
	u32 index = vcpu->regs[R_CX];
	int r;

	r = kvmd_msr_allowed(vcpu, index, true) ?
	    kvmd_msr_write(vcpu, index, data, false) : KVMD_MSR_FILTERED;
	if (r) {
		if (kvmd_msr_user_exit(vcpu, index, data, true, r) == KVMD_EXIT_USER)
			return KVMD_EXIT_USER;
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	kvmd_skip_insn(vcpu, 2);
	return KVMD_RESUME;
}

/* KVM_GET_MSRS / KVM_SET_MSRS: the number of entries done, stopping at a failure. */
long kvmd_msrs_ioctl(struct kvmd_vcpu *vcpu, struct kvm_msrs __user *user,
		     bool set)
{
	struct kvm_msr_entry *ents;
	struct kvm_msrs hdr;
	u32 i;
	long r;

	if (copy_from_user(&hdr, user, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVMD_MAX_IO_MSRS)
		return -E2BIG;
	ents = memdup_user(user->entries, hdr.nmsrs * sizeof(*ents));
	if (IS_ERR(ents))
		return PTR_ERR(ents);
	for (i = 0; i < hdr.nmsrs; i++) {
		if (set ? kvmd_msr_write(vcpu, ents[i].index, ents[i].data, true) :
			  kvmd_msr_read(vcpu, ents[i].index, &ents[i].data, true))
			break;
	}
	r = i;
	if (!set && copy_to_user(user->entries, ents, i * sizeof(*ents)))
		r = -EFAULT;
	kfree(ents);
	return r;
}
