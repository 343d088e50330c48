/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/svm.h: the SVM backend's per-vCPU state, shared by svm.c and nested_svm.c. */
#ifndef KVMDRV_SVM_H
#define KVMDRV_SVM_H

#include <asm/svm.h>

#include "kvmdrv.h"

/* What a guest hypervisor (L1) set up for its guest (L2): nested_svm.c. */
struct svm_nested {
	struct vmcb *vmcb02;		/* the VMCB L2 runs on, or NULL */
	u64 vmcb02_pa;
	struct vmcb *vmcb12;		/* scratch copy of L1's VMCB12 (or VMLOAD/VMSAVE area) */
	struct vmcb_control_area ctl;	/* VMCB12's controls as VMRUN read them */
	u64 vmcb12_pa;
	u64 hsave_pa;			/* MSR_VM_HSAVE_PA */
	u64 vm_cr;			/* MSR_VM_CR */
	bool guest_mode;		/* L2 runs on vmcb02 */
	bool run_pending;		/* VMRUN emulated, L2 not entered yet */
	bool gif;			/* L1's global interrupt flag */
	bool svme;			/* the current level's EFER.SVME */
	bool vgif;			/* L2 has the virtual GIF: vmcb02 keeps its GIF */
	/*
	 * L1's MSR permission map (its three ranges) as of its last VMRUN,
	 * as KVM merges it then: with Hyper-V's enlightened MSR bitmap and
	 * its clean bit, a VMRUN keeps the copy it has.
	 */
	u8 *msrpm;
	bool msrpm_valid;
	/* nested_npt.c: L2's NPT when L1 enables nested paging */
	u64 *snpt_root;
	struct list_head snpt_pages;	/* the tables below the root */
	u64 *snpt_cache[5];		/* a page per level, taken under mmu_lock */
	bool snpt_stale;		/* emptied by nested_npt_tdp_changed */
	bool snpt_valid;		/* built for this ASID and nested CR3 of L1 */
	u32 snpt_asid;
	u64 snpt_ncr3;
};

struct svm_vcpu {
	struct vmcb *vmcb;		/* vmcb01 (L1), or vmcb02 in guest mode */
	u64 vmcb_pa;
	struct vmcb *vmcb01;
	u64 vmcb01_pa;
	u32 asid_gen;
	int asid_cpu;
	u64 entry_rip;		/* where the last VMRUN started */
	bool entry_if;		/* and whether IF was set there */
	/*
	 * The host state VMSAVE put in this CPU's host save area (FS, GS,
	 * TR, LDTR, KernelGSbase, the SYSCALL and SYSENTER MSRs) holds until
	 * this thread is switched out or returns to userspace: saved again
	 * only when the CPU, the task's switch count or the KVM_RUN changed.
	 */
	int host_saved_cpu;
	unsigned long host_saved_switches;
	struct svm_nested nested;
};

extern bool svm_has_nrips;
extern bool svm_has_vgif;

static inline struct svm_vcpu *to_svm(struct kvmd_vcpu *vcpu)
{
	return vcpu->priv;
}

static inline struct vmcb *svm_vmcb(struct kvmd_vcpu *vcpu)
{
	return to_svm(vcpu)->vmcb;
}

static inline void set_icpt(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] |= 1U << (bit % 32);
}

static inline void clr_icpt(struct vmcb *vmcb, int bit)
{
	vmcb->control.intercepts[bit / 32] &= ~(1U << (bit % 32));
}

/*
 * The VMCB whose V_TPR is L1's task priority: while L2 runs with its own
 * virtual interrupt masking (V_INTR_MASKING in VMCB12), vmcb02's V_TPR is
 * L2's and L1's stays in vmcb01.
 */
static inline struct vmcb *svm_tpr_vmcb(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->nested.guest_mode && (svm->nested.ctl.int_ctl & V_INTR_MASKING_MASK))
		return svm->vmcb01;
	return svm->vmcb;
}

static inline bool is_icpt(const struct vmcb_control_area *c, int bit)
{
	return c->intercepts[bit / 32] & (1U << (bit % 32));
}

/* nested_svm.c */
int nested_svm_vmrun(struct kvmd_vcpu *vcpu);
int nested_svm_vmload(struct kvmd_vcpu *vcpu);
int nested_svm_vmsave(struct kvmd_vcpu *vcpu);
int nested_svm_stgi(struct kvmd_vcpu *vcpu);
int nested_svm_clgi(struct kvmd_vcpu *vcpu);
int nested_svm_invlpga(struct kvmd_vcpu *vcpu);
bool nested_svm_reflect_exit(struct kvmd_vcpu *vcpu, u64 code);
void nested_svm_leave(struct kvmd_vcpu *vcpu);
void nested_svm_free(struct kvmd_vcpu *vcpu);
void nested_svm_restore_vintr(struct kvmd_vcpu *vcpu);
void nested_svm_set_efer(struct kvmd_vcpu *vcpu, u64 efer);
int nested_svm_get_msr(struct kvmd_vcpu *vcpu, u32 index, u64 *data);
int nested_svm_set_msr(struct kvmd_vcpu *vcpu, u32 index, u64 data);
bool nested_svm_events_blocked(struct kvmd_vcpu *vcpu);
bool nested_svm_triple_fault(struct kvmd_vcpu *vcpu);
void nested_svm_check_events(struct kvmd_vcpu *vcpu);
bool nested_svm_is_guest_mode(struct kvmd_vcpu *vcpu);
bool nested_svm_intr_exits(struct kvmd_vcpu *vcpu);
int nested_svm_cpuid(struct kvm_cpuid_entry2 *ents, int n, int max);
int nested_svm_get_state(struct kvmd_vcpu *vcpu,
			 struct kvm_nested_state __user *ustate);
int nested_svm_set_state(struct kvmd_vcpu *vcpu,
			 struct kvm_nested_state __user *ustate);
int nested_svm_state_size(void);
void nested_svm_reflect_npf(struct kvmd_vcpu *vcpu);
void nested_svm_enter_smm(struct kvmd_vcpu *vcpu, u8 *smstate);
int nested_svm_leave_smm(struct kvmd_vcpu *vcpu, const u8 *smstate);

/* nested_npt.c */
int nested_npt_init(struct svm_nested *n);
void nested_npt_free(struct svm_nested *n);
void nested_npt_reset(struct kvmd_vcpu *vcpu);
void nested_npt_vmrun(struct kvmd_vcpu *vcpu);
void nested_npt_tdp_changed(struct kvmd_vm *vm);
int nested_npt_fault(struct kvmd_vcpu *vcpu);

/* L2 runs on our shadow of L1's NPT. */
static inline bool nested_npt_active(struct kvmd_vcpu *vcpu)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;

	return n->guest_mode && (n->ctl.nested_ctl & SVM_NESTED_CTL_NP_ENABLE);
}

#endif
