// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/cpumsr.c: MSRs of the CPU model a guest OS expects, as KVM
 * emulates them: TSC_AUX (switched for RDTSCP and RDPID), the guest's
 * IA32_ARCH_CAPABILITIES, KVM's poll control, and the model-specific ones
 * guests probe that read as fixed values.
 */
#include <linux/kvm.h>
#include <linux/percpu.h>
#include <linux/smp.h>
#include <linux/user-return-notifier.h>
#include <asm/cpufeature.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/msr.h>

#include "kvmdrv.h"

/*
 * TSC_AUX: RDTSCP and RDPID read it without an exit, so the guest's value
 * is in the MSR while the guest runs. The host kernel never reads it (its
 * per-CPU lookups use LSL, for KVM's sake), only host userspace does: the
 * host's value comes back on the way to userspace, through a user-return
 * notifier, as KVM's user-return MSRs. As there, the notifier is armed only
 * when the guest's value differs from the one in the MSR: a guest that
 * keeps the host's (0 on CPU 0, or never written) costs neither a WRMSR
 * nor the slow way back to userspace on each KVM_RUN. The host's value is
 * read once per CPU (Linux writes it once, at CPU bring-up). On SVM only:
 * VMX here does not enable RDTSCP in the guest.
 */
struct kvmd_tsc_aux_cpu {
	struct user_return_notifier urn;
	bool host_valid;
	bool registered;
	u64 host;
	u64 curr;
};

static DEFINE_PER_CPU(struct kvmd_tsc_aux_cpu, kvmd_tsc_aux_cpu);

bool kvmd_tsc_aux_ok(void)
{
	return kvmd_ops == &kvmd_svm_ops && boot_cpu_has(X86_FEATURE_RDTSCP);
}

static void kvmd_tsc_aux_restore(struct user_return_notifier *urn)
{
	struct kvmd_tsc_aux_cpu *c = container_of(urn, struct kvmd_tsc_aux_cpu, urn);
	unsigned long flags;

	local_irq_save(flags);
	if (c->registered) {
		c->registered = false;
		user_return_notifier_unregister(urn);
	}
	if (c->curr != c->host) {
		wrmsrl(MSR_TSC_AUX, c->host);
		c->curr = c->host;
	}
	local_irq_restore(flags);
}

/* Right before the entry, interrupts off. */
__kvmd_hot void kvmd_tsc_aux_load(struct kvmd_vcpu *vcpu)
{
	struct kvmd_tsc_aux_cpu *c;

	if (!kvmd_tsc_aux_ok())
		return;
	c = this_cpu_ptr(&kvmd_tsc_aux_cpu);
	if (unlikely(!c->host_valid)) {
		rdmsrl(MSR_TSC_AUX, c->host);
		c->curr = c->host;
		c->host_valid = true;
	}
	if (c->curr == vcpu->tsc_aux)
		return;
	wrmsrl(MSR_TSC_AUX, vcpu->tsc_aux);
	c->curr = vcpu->tsc_aux;
	if (!c->registered) {
		c->urn.on_user_return = kvmd_tsc_aux_restore;
		user_return_notifier_register(&c->urn);
		c->registered = true;
	}
}

static void kvmd_tsc_aux_drop(void *unused)
{
	struct kvmd_tsc_aux_cpu *c = this_cpu_ptr(&kvmd_tsc_aux_cpu);

	if (c->registered)
		kvmd_tsc_aux_restore(&c->urn);
}

/* At unload: no CPU may keep a notifier that points into the module. */
void kvmd_tsc_aux_exit(void)
{
	on_each_cpu(kvmd_tsc_aux_drop, NULL, 1);
}

void kvmd_cpu_msr_reset(struct kvmd_vcpu *vcpu)
{
	vcpu->tsc_aux = 0;
	vcpu->arch_capabilities = kvmd_arch_capabilities();
	vcpu->poll_control = 1;
}

static bool kvmd_guest_has_tsc_aux(struct kvmd_vcpu *vcpu)
{
	return kvmd_guest_has(vcpu, 0x80000001, 3, 27) ||	/* RDTSCP */
	       kvmd_guest_has(vcpu, 7, 2, 22);			/* RDPID */
}

/* 0 and *data, 1 for #GP / a failed ioctl entry, -1 when not one of these MSRs. */
int kvmd_cpu_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	switch (index) {
	case MSR_TSC_AUX:
		if (!host && !kvmd_guest_has_tsc_aux(vcpu))
			return 1;
		*data = vcpu->tsc_aux;
		return 0;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!host && !kvmd_guest_has(vcpu, 7, 3, 29))
			return 1;
		*data = vcpu->arch_capabilities;
		return 0;
	case MSR_KVM_POLL_CONTROL:
		if (!host && !kvmd_guest_pv_has(vcpu, KVM_FEATURE_POLL_CONTROL))
			return 1;
		*data = vcpu->poll_control;
		return 0;
	/* Read as zero, as KVM: guests probe them on AMD and Intel models. */
	case MSR_IA32_PLATFORM_ID:
	case MSR_IA32_EBL_CR_POWERON:
	case MSR_IA32_LASTBRANCHFROMIP:
	case MSR_IA32_LASTBRANCHTOIP:
	case MSR_IA32_LASTINTFROMIP:
	case MSR_IA32_LASTINTTOIP:
	case MSR_K8_TSEG_ADDR:
	case MSR_K8_TSEG_MASK:
	case MSR_K8_INT_PENDING_MSG:
	case MSR_AMD64_NB_CFG:
	case MSR_FAM10H_MMIO_CONF_BASE:
	case MSR_AMD64_BU_CFG2:
	case MSR_IA32_PERF_CTL:
	case MSR_AMD64_DC_CFG:
	case MSR_AMD64_TW_CFG:
	case MSR_F15H_EX_CFG:
		*data = 0;
		return 0;
	case MSR_K7_CLK_CTL:
		*data = 0x20000000;	/* K7's ramp-up count, all divisors minimal */
		return 0;
	case MSR_IA32_PERF_STATUS:
		*data = 1000ULL | (4ULL << 40);	/* TSC increment, multiplier 4 */
		return 0;
	case MSR_IA32_BBL_CR_CTL3:
		*data = 0xbe702111;	/* L2: 64 GiB range, 256 KiB, enabled */
		return 0;
	default:
		return -1;
	}
}

int kvmd_cpu_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_TSC_AUX:
		if (!host && !kvmd_guest_has_tsc_aux(vcpu))
			return 1;
		/* Bits 63:32 reserved on Intel, ignored by AMD, as KVM. */
		if (kvmd_guest_is_intel(vcpu) && (data >> 32))
			return 1;
		vcpu->tsc_aux = (u32)data;
		return 0;
	case MSR_IA32_ARCH_CAPABILITIES:
		if (!host)
			return 1;
		vcpu->arch_capabilities = data;
		return 0;
	case MSR_KVM_POLL_CONTROL:
		/*
		 * Bit 0: the host may poll before it blocks a halted vCPU.
		 * This driver never polls, so the value is only kept.
		 */
		if ((!host && !kvmd_guest_pv_has(vcpu, KVM_FEATURE_POLL_CONTROL)) ||
		    (data >> 1))
			return 1;
		vcpu->poll_control = data;
		return 0;
	/* Writes KVM ignores. */
	case MSR_AMD64_NB_CFG:
	case MSR_AMD64_PATCH_LOADER:
	case MSR_AMD64_BU_CFG2:
	case MSR_AMD64_DC_CFG:
	case MSR_AMD64_TW_CFG:
	case MSR_F15H_EX_CFG:
		return 0;
	default:
		return -1;
	}
}
