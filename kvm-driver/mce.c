// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/mce.c: the guest's machine-check banks: their MSRs, KVM_X86_SETUP_MCE and KVM_X86_SET_MCE. */
#include <linux/kvm.h>
#include <linux/uaccess.h>
#include <asm/mce.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

/*
 * What KVM_X86_GET_MCE_CAP_SUPPORTED reports, as KVM does: a global
 * control register and software error recovery. The bank count is
 * KVM_CHECK_EXTENSION(KVM_CAP_MCE).
 */
#define KVMD_MCE_CAP_SUPPORTED	(MCG_CTL_P | MCG_SER_P)

/* Power-on: KVM's default of every bank and no global control until SETUP_MCE. */
void kvmd_mce_reset(struct kvmd_vcpu *vcpu)
{
	vcpu->mcg_cap = KVMD_MCE_BANKS;
	vcpu->mcg_ctl = 0;
	vcpu->mcg_status = 0;
	memset(vcpu->mce_banks, 0, sizeof(vcpu->mce_banks));
}

int kvmd_get_mce_cap_supported(u64 __user *ucap)
{
	u64 cap = KVMD_MCE_CAP_SUPPORTED;

	return copy_to_user(ucap, &cap, sizeof(cap)) ? -EFAULT : 0;
}

int kvmd_setup_mce(struct kvmd_vcpu *vcpu, u64 __user *ucap)
{
	unsigned int bank, nbanks;
	u64 cap;

	if (copy_from_user(&cap, ucap, sizeof(cap)))
		return -EFAULT;
	nbanks = cap & 0xff;
	if (!nbanks || nbanks > KVMD_MCE_BANKS)
		return -EINVAL;
	/* Bits 16-23 (extended register count) pass, as in KVM. */
	if (cap & ~(KVMD_MCE_CAP_SUPPORTED | 0xff | 0xff0000))
		return -EINVAL;
	vcpu->mcg_cap = cap;
	if (cap & MCG_CTL_P)
		vcpu->mcg_ctl = ~0ULL;
	for (bank = 0; bank < nbanks; bank++)
		vcpu->mce_banks[bank * 4] = ~0ULL;
	return 0;
}

/* A machine check the VMM reports (e.g. poisoned host memory). */
int kvmd_set_mce(struct kvmd_vcpu *vcpu, struct kvm_x86_mce __user *umce)
{
	unsigned int nbanks = vcpu->mcg_cap & 0xff;
	struct kvm_x86_mce mce;
	u64 *bank;

	if (copy_from_user(&mce, umce, sizeof(mce)))
		return -EFAULT;
	if (mce.bank >= nbanks || !(mce.status & MCI_STATUS_VAL))
		return -EINVAL;
	bank = &vcpu->mce_banks[mce.bank * 4];

	if (mce.status & MCI_STATUS_UC) {
		/* Reporting of uncorrected errors disabled: dropped. */
		if ((vcpu->mcg_cap & MCG_CTL_P) && vcpu->mcg_ctl != ~0ULL)
			return 0;
		if (bank[0] != ~0ULL)
			return 0;
		/* A second #MC while one is handled, or CR4.MCE clear: shutdown. */
		if ((vcpu->mcg_status & MCG_STATUS_MCIP) ||
		    !(kvmd_ops->get_cr(vcpu, 4) & X86_CR4_MCE)) {
			kvmd_make_request(vcpu, KVMD_REQ_TRIPLE_FAULT);
			return 0;
		}
		if (bank[1] & MCI_STATUS_VAL)
			mce.status |= MCI_STATUS_OVER;
		bank[2] = mce.addr;
		bank[3] = mce.misc;
		vcpu->mcg_status = mce.mcg_status;
		bank[1] = mce.status;
		kvmd_queue_exception(vcpu, 18);
	} else if (!(bank[1] & MCI_STATUS_VAL) || !(bank[1] & MCI_STATUS_UC)) {
		if (bank[1] & MCI_STATUS_VAL)
			mce.status |= MCI_STATUS_OVER;
		bank[2] = mce.addr;
		bank[3] = mce.misc;
		bank[1] = mce.status;
	} else {
		bank[1] |= MCI_STATUS_OVER;
	}
	return 0;
}

static bool kvmd_mce_bank_msr(struct kvmd_vcpu *vcpu, u32 index)
{
	return index >= MSR_IA32_MC0_CTL &&
	       index < MSR_IA32_MCx_CTL(vcpu->mcg_cap & 0xff);
}

/* Returns 0 when handled, 1 for #GP / a failed ioctl entry, -1 when not an MCE MSR. */
int kvmd_mce_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	switch (index) {
	case MSR_IA32_MCG_CAP:
		*data = vcpu->mcg_cap;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->mcg_cap & MCG_CTL_P) && !host)
			return 1;
		*data = vcpu->mcg_ctl;
		return 0;
	case MSR_IA32_MCG_STATUS:
		*data = vcpu->mcg_status;
		return 0;
	}
	if (index >= MSR_IA32_MC0_CTL &&
	    index < MSR_IA32_MCx_CTL(KVMD_MCE_BANKS)) {
		if (!kvmd_mce_bank_msr(vcpu, index))
			return 1;
		*data = vcpu->mce_banks[index - MSR_IA32_MC0_CTL];
		return 0;
	}
	return -1;
}

int kvmd_mce_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_IA32_MCG_STATUS:
		vcpu->mcg_status = data;
		return 0;
	case MSR_IA32_MCG_CTL:
		if (!(vcpu->mcg_cap & MCG_CTL_P) && (data || !host))
			return 1;
		if (data != 0 && data != ~0ULL)
			return 1;
		vcpu->mcg_ctl = data;
		return 0;
	}
	if (index >= MSR_IA32_MC0_CTL &&
	    index < MSR_IA32_MCx_CTL(KVMD_MCE_BANKS)) {
		u32 reg = (index - MSR_IA32_MC0_CTL) & 3;

		if (!kvmd_mce_bank_msr(vcpu, index))
			return 1;
		/*
		 * MCi_CTL takes 0 or all ones; like KVM, bit 10 (an old K8
		 * GART workaround) and bit 0 may be clear.
		 */
		if (reg == 0 && data && (data | BIT_ULL(10) | 1) != ~0ULL)
			return 1;
		/* The guest may only clear a status register. */
		if (reg == 1 && data && !host)
			return 1;
		vcpu->mce_banks[index - MSR_IA32_MC0_CTL] = data;
		return 0;
	}
	return -1;
}
