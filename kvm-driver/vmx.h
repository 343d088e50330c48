/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/vmx.h: the Intel VMX backend's private state and VMX instruction wrappers. */
#ifndef KVMDRV_VMX_H
#define KVMDRV_VMX_H

#include <linux/types.h>
#include <asm/asm.h>
#include <asm/vmx.h>
#include <uapi/asm/vmx.h>

#include "kvmdrv.h"

/* Architectural debug register values (asm/kvm_host.h is KVM's, not ours). */
#define VMX_CR0_HOST_OWNED	(X86_CR0_NE | X86_CR0_PG | X86_CR0_CD | X86_CR0_NW)
#define VMX_DR6_ACTIVE_LOW	0xffff0ff0ULL
#define VMX_DR7_FIXED_1		0x00000400ULL
#define VMX_DR7_BP_EN_MASK	0x000000ffULL

/* Not a hardware exit reason: the VMCS was active on another CPU. */
#define VMX_EXIT_MIGRATED	0xffffu

/* Capabilities read once from the VMX capability MSRs. */
struct vmx_caps {
	u32 revision_id;
	u32 pin, proc, proc2, exit, entry;
	u64 cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
	u64 ept_vpid;
	bool vpid;
	bool ins_outs_info;	/* VMX_BASIC[54]: string I/O exits report their operands */
	int invept_type;
};

extern struct vmx_caps vmx_caps;

/* The exit, read out of the VMCS right after it happened. */
struct vmx_exit {
	u32 reason;
	u32 intr_info;
	u32 intr_error;
	u32 idt_info;
	u32 idt_error;
	u32 insn_len;
	u32 insn_info;
	u32 insn_error;		/* VM-instruction error after a VMfail */
	u32 interruptibility;
	u64 qual;
	u64 gpa;
	bool failed;		/* VMLAUNCH/VMRESUME fell through */
};

struct vmx_vcpu {
	void *vmcs;
	u64 vmcs_pa;
	int cpu;		/* where the VMCS is active, -1 if clear */
	bool launched;
	bool need_flush;
	u16 vpid;
	bool msr_intercept_all;	/* MSR_BITMAP is vmx_msr_bitmap_all */
	bool nmi_known_unmasked; /* the NMI block was cleared here, none injected since */

	u32 proc;		/* cached primary processor-based controls */
	u32 entry;		/* cached VM-entry controls */
	u64 cr0_shadow, cr4_shadow;
	u64 cr2;
	u64 cr8;

	/* Guest MSRs the VMCS does not switch; swapped by hand in long mode. */
	u64 star, lstar, cstar, sfmask, kernel_gs_base;

	/* Host state last written into the VMCS. */
	unsigned long host_cr3, host_cr4;

	struct vmx_exit exit;
};

static inline struct vmx_vcpu *to_vmx(struct kvmd_vcpu *vcpu)
{
	return vcpu->priv;
}

static __always_inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value;

	asm volatile("vmread %1, %0" : "=rm" (value) : "r" (field) : "cc");
	return value;
}

static __always_inline void vmcs_write(unsigned long field, unsigned long value)
{
	asm volatile("vmwrite %1, %0" : : "r" (field), "rm" (value) : "cc", "memory");
}

static __always_inline void vmcs_set_bits(unsigned long field, unsigned long mask)
{
	vmcs_write(field, vmcs_read(field) | mask);
}

static __always_inline void vmcs_clear_bits(unsigned long field, unsigned long mask)
{
	vmcs_write(field, vmcs_read(field) & ~mask);
}

/* vmx.c */
void vmx_vcpu_get(struct kvmd_vcpu *vcpu);
void vmx_vcpu_put(struct kvmd_vcpu *vcpu);
void vmx_set_cr0(struct kvmd_vcpu *vcpu, u64 cr0);
void vmx_set_cr4(struct kvmd_vcpu *vcpu, u64 cr4);
u64 vmx_get_cr(struct kvmd_vcpu *vcpu, int cr);
int vmx_get_cpl(struct kvmd_vcpu *vcpu);
u64 vmx_get_efer(struct kvmd_vcpu *vcpu);
void vmx_load_pdptrs(struct kvmd_vcpu *vcpu);
int vmx_migrate(struct kvmd_vcpu *vcpu);

/* vmx_state.c */
void vmx_get_segment(struct kvmd_vcpu *vcpu, struct kvm_segment *var, enum kvmd_seg seg);
void vmx_set_segment(struct kvmd_vcpu *vcpu, const struct kvm_segment *var, enum kvmd_seg seg);
void vmx_get_dtable(struct kvmd_vcpu *vcpu, struct kvm_dtable *d, bool idt);
void vmx_set_dtable(struct kvmd_vcpu *vcpu, const struct kvm_dtable *d, bool idt);
u64 vmx_get_dr6(struct kvmd_vcpu *vcpu);
u64 vmx_get_dr7(struct kvmd_vcpu *vcpu);
void vmx_set_dr7(struct kvmd_vcpu *vcpu, u64 v);
int vmx_get_msr(struct kvmd_vcpu *vcpu, u32 index, u64 *data);
int vmx_set_msr(struct kvmd_vcpu *vcpu, u32 index, u64 data);
u32 vmx_get_interrupt_shadow(struct kvmd_vcpu *vcpu);
void vmx_set_interrupt_shadow(struct kvmd_vcpu *vcpu, u32 shadow);
void vmx_inject_irq(struct kvmd_vcpu *vcpu, u8 vector);
void vmx_inject_nmi(struct kvmd_vcpu *vcpu);
void vmx_inject_exception(struct kvmd_vcpu *vcpu, u8 vector, bool has_error, u32 error);
void vmx_enable_irq_window(struct kvmd_vcpu *vcpu);
void vmx_enable_nmi_window(struct kvmd_vcpu *vcpu);
void vmx_update_debug(struct kvmd_vcpu *vcpu);

/* vmx_exit.c */
int vmx_handle_exit(struct kvmd_vcpu *vcpu);
void vmx_complete_events(struct kvmd_vcpu *vcpu);

/* vmx_enter.S: 0 after a VM exit, 1 when the VM instruction failed. */
int kvmd_vmx_enter(unsigned long *regs, unsigned long launched);
void kvmd_vmx_exit_point(void);

#endif
