// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/features.c: what the host offers as MSRs on /dev/kvm (the
 * feature MSRs of KVM_GET_MSR_FEATURE_INDEX_LIST and KVM_GET_MSRS on the
 * system fd), the VM's quirks, MSR_PLATFORM_INFO and CPUID faulting.
 */
#include <linux/kvm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/cpufeature.h>
#include <asm/msr-index.h>
#include <asm/msr.h>
#include <asm/vmx.h>

#include "kvmdrv.h"

/*
 * Feature MSRs, as KVM 6.1 reports them: only those the host can answer
 * are listed. On AMD that is DE_CFG, UCODE_REV, ARCH_CAPABILITIES and
 * PERF_CAPABILITIES; on Intel DE_CFG is not one, and the VMX capability
 * MSRs would be only with nested VMX, which is not offered.
 */
static const u32 kvmd_feature_msrs_all[] = {
	MSR_AMD64_DE_CFG,
	MSR_IA32_UCODE_REV,
	MSR_IA32_ARCH_CAPABILITIES,
	MSR_IA32_PERF_CAPABILITIES,
};

static bool kvmd_is_svm(void)
{
	return kvmd_ops == &kvmd_svm_ops;
}

/* IA32_ARCH_CAPABILITIES bits KVM passes on from the host. */
#define KVMD_ARCH_CAP_PASSED (ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_RSBA | \
	ARCH_CAP_SKIP_VMENTRY_L1DFLUSH | ARCH_CAP_SSB_NO | ARCH_CAP_MDS_NO | \
	ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TSX_CTRL_MSR | ARCH_CAP_TAA_NO | \
	ARCH_CAP_SBDR_SSDP_NO | ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO | \
	ARCH_CAP_FB_CLEAR | ARCH_CAP_RRSBA | ARCH_CAP_PBRSB_NO | ARCH_CAP_GDS_NO | \
	ARCH_CAP_RFDS_NO | ARCH_CAP_RFDS_CLEAR | ARCH_CAP_BHI_NO | ARCH_CAP_ITS_NO)

/*
 * What a guest may be told about the host's speculation bugs: the host's
 * own MSR (when it has one) filtered, plus every "not affected" bit the
 * host kernel knows to be true. The same value as KVM computes.
 */
u64 kvmd_arch_capabilities(void)
{
	u64 v = 0;

	if (boot_cpu_has(X86_FEATURE_ARCH_CAPABILITIES)) {
		rdmsrl(MSR_IA32_ARCH_CAPABILITIES, v);
		v &= KVMD_ARCH_CAP_PASSED;
	}
	/* Second-level paging here never maps a huge page executable-split. */
	v |= ARCH_CAP_PSCHANGE_MC_NO;
	if (l1tf_vmx_mitigation != VMENTER_L1D_FLUSH_NEVER)
		v |= ARCH_CAP_SKIP_VMENTRY_L1DFLUSH;
	if (!boot_cpu_has_bug(X86_BUG_CPU_MELTDOWN))
		v |= ARCH_CAP_RDCL_NO;
	if (!boot_cpu_has_bug(X86_BUG_SPEC_STORE_BYPASS))
		v |= ARCH_CAP_SSB_NO;
	if (!boot_cpu_has_bug(X86_BUG_MDS))
		v |= ARCH_CAP_MDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_RFDS))
		v |= ARCH_CAP_RFDS_NO;
	if (!boot_cpu_has_bug(X86_BUG_ITS))
		v |= ARCH_CAP_ITS_NO;
	/* Without RTM the guest cannot have TAA: TAA_NO says nothing then. */
	if (!boot_cpu_has(X86_FEATURE_RTM))
		v &= ~ARCH_CAP_TAA_NO;
	else if (!boot_cpu_has_bug(X86_BUG_TAA))
		v |= ARCH_CAP_TAA_NO;
	if (!boot_cpu_has_bug(X86_BUG_GDS) || gds_ucode_mitigated())
		v |= ARCH_CAP_GDS_NO;
	return v;
}

/* 0 and *data, or 1 when the host does not offer this feature MSR. */
static int kvmd_get_feature_msr(u32 index, u64 *data)
{
	*data = 0;
	switch (index) {
	case MSR_IA32_ARCH_CAPABILITIES:
		*data = kvmd_arch_capabilities();
		return 0;
	case MSR_IA32_UCODE_REV:
		/* The host's revision; 0 where the host has no such MSR. */
		if (rdmsrl_safe(index, data))
			*data = 0;
		return 0;
	case MSR_AMD64_DE_CFG:
		if (!kvmd_is_svm())
			return 1;
		if (boot_cpu_has(X86_FEATURE_LFENCE_RDTSC))
			*data = MSR_AMD64_DE_CFG_LFENCE_SERIALIZE;
		return 0;
	case MSR_IA32_PERF_CAPABILITIES:
		/* No PMU is virtualized: no capability to report. */
		return 0;
	default:
		return 1;
	}
}

int kvmd_get_feature_msr_index_list(struct kvm_msr_list __user *ulist)
{
	u32 list[ARRAY_SIZE(kvmd_feature_msrs_all)];
	struct kvm_msr_list l;
	u32 i, n = 0;
	u64 dummy;

	for (i = 0; i < ARRAY_SIZE(kvmd_feature_msrs_all); i++)
		if (!kvmd_get_feature_msr(kvmd_feature_msrs_all[i], &dummy))
			list[n++] = kvmd_feature_msrs_all[i];
	if (copy_from_user(&l, ulist, sizeof(l)))
		return -EFAULT;
	if (put_user(n, &ulist->nmsrs))
		return -EFAULT;
	if (l.nmsrs < n)
		return -E2BIG;
	if (copy_to_user(ulist->indices, list, n * sizeof(u32)))
		return -EFAULT;
	return 0;
}

/* KVM_GET_MSRS on /dev/kvm: the feature MSRs, stopping at the first unknown. */
long kvmd_get_feature_msrs(struct kvm_msrs __user *user)
{
	struct kvm_msr_entry *ents;
	struct kvm_msrs hdr;
	long r;
	u32 i;

	if (copy_from_user(&hdr, user, sizeof(hdr)))
		return -EFAULT;
	if (hdr.nmsrs >= KVMD_MAX_IO_MSRS)
		return -E2BIG;
	ents = memdup_user(user->entries, hdr.nmsrs * sizeof(*ents));
	if (IS_ERR(ents))
		return PTR_ERR(ents);
	for (i = 0; i < hdr.nmsrs; i++)
		if (kvmd_get_feature_msr(ents[i].index, &ents[i].data))
			break;
	r = i;
	if (copy_to_user(user->entries, ents, hdr.nmsrs * sizeof(*ents)))
		r = -EFAULT;
	kfree(ents);
	return r;
}

/*
 * MSR_PLATFORM_INFO and MSR_MISC_FEATURES_ENABLES, as KVM: the platform
 * MSR advertises CPUID faulting, which MISC_FEATURES_ENABLES then turns
 * on (CPUID above CPL 0 raises #GP). The guest reads MSR_PLATFORM_INFO
 * unless KVM_CAP_MSR_PLATFORM_INFO was turned off; only the VMM writes it.
 * Returns 0 or 1 (#GP) when the MSR is one of these, else -1.
 */
int kvmd_feature_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data,
			  bool host)
{
	switch (index) {
	case MSR_PLATFORM_INFO:
		if (!host && !READ_ONCE(vcpu->vm->platform_info_readable))
			return 1;
		*data = vcpu->platform_info;
		return 0;
	case MSR_MISC_FEATURES_ENABLES:
		*data = vcpu->misc_features;
		return 0;
	default:
		return -1;
	}
}

int kvmd_feature_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data,
			   bool host)
{
	switch (index) {
	case MSR_PLATFORM_INFO:
		if (!host || (!(data & MSR_PLATFORM_INFO_CPUID_FAULT) &&
			      (vcpu->misc_features & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT)))
			return 1;
		vcpu->platform_info = data;
		return 0;
	case MSR_MISC_FEATURES_ENABLES:
		if (data & ~MSR_MISC_FEATURES_ENABLES_CPUID_FAULT)
			return 1;
		if ((data & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) &&
		    !(vcpu->platform_info & MSR_PLATFORM_INFO_CPUID_FAULT))
			return 1;
		vcpu->misc_features = data;
		return 0;
	default:
		return -1;
	}
}

/* CPUID with faulting on, above CPL 0: the guest takes #GP instead. */
__kvmd_hot bool kvmd_cpuid_faults(struct kvmd_vcpu *vcpu)
{
	if (!(vcpu->misc_features & MSR_MISC_FEATURES_ENABLES_CPUID_FAULT) ||
	    !kvmd_ops->get_cpl(vcpu))
		return false;
	kvmd_queue_exception_e(vcpu, 13, 0);
	return true;
}

/*
 * KVM_ENABLE_CAP(KVM_CAP_DISABLE_QUIRKS, KVM_CAP_DISABLE_QUIRKS2): as KVM
 * the mask replaces the last one; the first form takes any bits (those
 * not in KVMD_VALID_QUIRKS are behaviour this driver never has).
 */
int kvmd_disable_quirks(struct kvmd_vm *vm, u32 cap, u64 mask)
{
	if (cap == KVM_CAP_DISABLE_QUIRKS2 && (mask & ~KVMD_VALID_QUIRKS))
		return -EINVAL;
	WRITE_ONCE(vm->disabled_quirks, mask);
	return 0;
}
