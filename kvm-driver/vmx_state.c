// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/vmx_state.c: VMX guest state accessors: segments, descriptor tables, debug registers, MSRs, events. */
#include <linux/percpu.h>
#include <asm/debugreg.h>
#include <asm/irq_vectors.h>
#include <asm/msr.h>

#include "vmx.h"

/* Per segment: selector, base, limit and access-rights field encodings. */
static const u16 vmx_seg_fields[KVMD_NR_SEGS][4] = {
	[KVMD_SEG_ES] = { GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT, GUEST_ES_AR_BYTES },
	[KVMD_SEG_CS] = { GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT, GUEST_CS_AR_BYTES },
	[KVMD_SEG_SS] = { GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT, GUEST_SS_AR_BYTES },
	[KVMD_SEG_DS] = { GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT, GUEST_DS_AR_BYTES },
	[KVMD_SEG_FS] = { GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT, GUEST_FS_AR_BYTES },
	[KVMD_SEG_GS] = { GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT, GUEST_GS_AR_BYTES },
	[KVMD_SEG_TR] = { GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT, GUEST_TR_AR_BYTES },
	[KVMD_SEG_LDTR] = { GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT, GUEST_LDTR_AR_BYTES },
};

__kvmd_hot void vmx_get_segment(struct kvmd_vcpu *vcpu, struct kvm_segment *var,
		     enum kvmd_seg seg)
{
	const u16 *f = vmx_seg_fields[seg];
	u32 ar;

	vmx_vcpu_get(vcpu);
	memset(var, 0, sizeof(*var));
	var->selector = vmcs_read(f[0]);
	var->base = vmcs_read(f[1]);
	var->limit = vmcs_read(f[2]);
	ar = vmcs_read(f[3]);
	vmx_vcpu_put(vcpu);

	var->unusable = !!(ar & VMX_AR_UNUSABLE_MASK);
	var->type = ar & VMX_AR_TYPE_MASK;
	var->s = !!(ar & VMX_AR_S_MASK);
	var->dpl = VMX_AR_DPL(ar);
	/* An unusable segment reads as not present, as KVM reports it. */
	var->present = !var->unusable && (ar & VMX_AR_P_MASK);
	var->avl = (ar >> 12) & 1;
	var->l = !!(ar & VMX_AR_L_MASK);
	var->db = !!(ar & VMX_AR_DB_MASK);
	var->g = !!(ar & VMX_AR_G_MASK);
}

void vmx_set_segment(struct kvmd_vcpu *vcpu, const struct kvm_segment *var,
		     enum kvmd_seg seg)
{
	const u16 *f = vmx_seg_fields[seg];
	u32 ar, type = var->type;

	if (var->unusable || !var->present) {
		ar = VMX_AR_UNUSABLE_MASK;
	} else {
		/* The entry checks want every usable code/data segment accessed. */
		if (seg != KVMD_SEG_LDTR && seg != KVMD_SEG_TR)
			type |= VMX_AR_TYPE_ACCESSES_MASK;
		ar = (type & VMX_AR_TYPE_MASK) |
		     (var->s & 1) << 4 | (var->dpl & 3) << VMX_AR_DPL_SHIFT |
		     VMX_AR_P_MASK | (var->avl & 1) << 12 | (var->l & 1) << 13 |
		     (var->db & 1) << 14 | (var->g & 1) << 15;
	}
	vmx_vcpu_get(vcpu);
	vmcs_write(f[0], var->selector);
	vmcs_write(f[1], var->base);
	vmcs_write(f[2], var->limit);
	vmcs_write(f[3], ar);
	vmx_vcpu_put(vcpu);
}

void vmx_get_dtable(struct kvmd_vcpu *vcpu, struct kvm_dtable *d, bool idt)
{
	vmx_vcpu_get(vcpu);
	d->base = vmcs_read(idt ? GUEST_IDTR_BASE : GUEST_GDTR_BASE);
	d->limit = vmcs_read(idt ? GUEST_IDTR_LIMIT : GUEST_GDTR_LIMIT);
	vmx_vcpu_put(vcpu);
	memset(d->padding, 0, sizeof(d->padding));
}

void vmx_set_dtable(struct kvmd_vcpu *vcpu, const struct kvm_dtable *d, bool idt)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(idt ? GUEST_IDTR_BASE : GUEST_GDTR_BASE, d->base);
	vmcs_write(idt ? GUEST_IDTR_LIMIT : GUEST_GDTR_LIMIT, d->limit);
	vmx_vcpu_put(vcpu);
}

int vmx_get_cpl(struct kvmd_vcpu *vcpu)
{
	u32 ar;

	if (!(vmx_get_cr(vcpu, 0) & X86_CR0_PE))
		return 0;
	vmx_vcpu_get(vcpu);
	if (vmcs_read(GUEST_RFLAGS) & X86_EFLAGS_VM) {
		vmx_vcpu_put(vcpu);
		return 3;
	}
	ar = vmcs_read(GUEST_SS_AR_BYTES);
	vmx_vcpu_put(vcpu);
	return VMX_AR_DPL(ar);
}

/* The guest's DR6 is the live register: read right after an exit (debug.c). */
u64 vmx_get_dr6(struct kvmd_vcpu *vcpu)
{
	unsigned long v;

	get_debugreg(v, 6);
	return v;
}

u64 vmx_get_dr7(struct kvmd_vcpu *vcpu)
{
	u64 v;

	vmx_vcpu_get(vcpu);
	v = vmcs_read(GUEST_DR7);
	vmx_vcpu_put(vcpu);
	return v;
}

void vmx_set_dr7(struct kvmd_vcpu *vcpu, u64 v)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(GUEST_DR7, v);
	vmx_vcpu_put(vcpu);
}

/* The MSRs the VMCS holds or that this backend swaps by hand. */
int vmx_get_msr(struct kvmd_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long field;

	switch (index) {
	case MSR_STAR:
		*data = vmx->star;
		return 0;
	case MSR_LSTAR:
		*data = vmx->lstar;
		return 0;
	case MSR_CSTAR:
		*data = vmx->cstar;
		return 0;
	case MSR_SYSCALL_MASK:
		*data = vmx->sfmask;
		return 0;
	case MSR_KERNEL_GS_BASE:
		*data = vmx->kernel_gs_base;
		return 0;
	case MSR_FS_BASE:
		field = GUEST_FS_BASE;
		break;
	case MSR_GS_BASE:
		field = GUEST_GS_BASE;
		break;
	case MSR_IA32_SYSENTER_CS:
		field = GUEST_SYSENTER_CS;
		break;
	case MSR_IA32_SYSENTER_ESP:
		field = GUEST_SYSENTER_ESP;
		break;
	case MSR_IA32_SYSENTER_EIP:
		field = GUEST_SYSENTER_EIP;
		break;
	case MSR_IA32_CR_PAT:
		field = GUEST_IA32_PAT;
		break;
	default:
		return KVMD_MSR_UNKNOWN;
	}
	vmx_vcpu_get(vcpu);
	*data = vmcs_read(field);
	vmx_vcpu_put(vcpu);
	return 0;
}

int vmx_set_msr(struct kvmd_vcpu *vcpu, u32 index, u64 data)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	unsigned long field;

	switch (index) {
	case MSR_STAR:
		vmx->star = data;
		return 0;
	case MSR_LSTAR:
		vmx->lstar = data;
		return 0;
	case MSR_CSTAR:
		vmx->cstar = data;
		return 0;
	case MSR_SYSCALL_MASK:
		vmx->sfmask = data;
		return 0;
	case MSR_KERNEL_GS_BASE:
		vmx->kernel_gs_base = data;
		return 0;
	case MSR_FS_BASE:
		field = GUEST_FS_BASE;
		break;
	case MSR_GS_BASE:
		field = GUEST_GS_BASE;
		break;
	case MSR_IA32_SYSENTER_CS:
		field = GUEST_SYSENTER_CS;
		break;
	case MSR_IA32_SYSENTER_ESP:
		field = GUEST_SYSENTER_ESP;
		break;
	case MSR_IA32_SYSENTER_EIP:
		field = GUEST_SYSENTER_EIP;
		break;
	case MSR_IA32_CR_PAT:
		field = GUEST_IA32_PAT;
		break;
	default:
		return KVMD_MSR_UNKNOWN;
	}
	vmx_vcpu_get(vcpu);
	vmcs_write(field, data);
	vmx_vcpu_put(vcpu);
	return 0;
}

/* ---- events ---- */

__kvmd_hot u32 vmx_get_interrupt_shadow(struct kvmd_vcpu *vcpu)
{
	u32 s, r = 0;

	vmx_vcpu_get(vcpu);
	s = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	vmx_vcpu_put(vcpu);
	if (s & GUEST_INTR_STATE_STI)
		r |= KVM_X86_SHADOW_INT_STI;
	if (s & GUEST_INTR_STATE_MOV_SS)
		r |= KVM_X86_SHADOW_INT_MOV_SS;
	return r;
}

void vmx_set_interrupt_shadow(struct kvmd_vcpu *vcpu, u32 shadow)
{
	u32 s;

	vmx_vcpu_get(vcpu);
	s = vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
	    ~(GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS);
	if (shadow & KVM_X86_SHADOW_INT_STI)
		s |= GUEST_INTR_STATE_STI;
	if (shadow & KVM_X86_SHADOW_INT_MOV_SS)
		s |= GUEST_INTR_STATE_MOV_SS;
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, s);
	vmx_vcpu_put(vcpu);
}

void vmx_inject_irq(struct kvmd_vcpu *vcpu, u8 vector)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
		   vector | INTR_TYPE_EXT_INTR | INTR_INFO_VALID_MASK);
	vmx_vcpu_put(vcpu);
}

void vmx_inject_nmi(struct kvmd_vcpu *vcpu)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD,
		   NMI_VECTOR | INTR_TYPE_NMI_INTR | INTR_INFO_VALID_MASK);
	vmx_vcpu_put(vcpu);
}

void vmx_inject_exception(struct kvmd_vcpu *vcpu, u8 vector, bool has_error,
			  u32 error)
{
	u32 info = vector | INTR_TYPE_HARD_EXCEPTION | INTR_INFO_VALID_MASK;

	/* Real mode delivers no error code; the entry checks insist on it. */
	if (has_error && (vmx_get_cr(vcpu, 0) & X86_CR0_PE))
		info |= INTR_INFO_DELIVER_CODE_MASK;
	vmx_vcpu_get(vcpu);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, info);
	vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE, error);
	vmx_vcpu_put(vcpu);
}

void vmx_enable_irq_window(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_vcpu_get(vcpu);
	vmx->proc |= CPU_BASED_INTR_WINDOW_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmx_vcpu_put(vcpu);
}

void vmx_enable_nmi_window(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* Without virtual NMIs there is no NMI window: an IRQ window will do. */
	if (!(vmx_caps.pin & PIN_BASED_VIRTUAL_NMIS)) {
		vmx_enable_irq_window(vcpu);
		return;
	}
	vmx_vcpu_get(vcpu);
	vmx->proc |= CPU_BASED_NMI_WINDOW_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmx_vcpu_put(vcpu);
}

void vmx_update_debug(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	/*
	 * #UD always: the other vendor's hypercall is patched (pv.c), as KVM.
	 * #DB always: debug.c tells the debugger's from the guest's.
	 */
	u32 dbg = vcpu->guest_debug, bitmap = 1 << UD_VECTOR | 1 << DB_VECTOR;

	if ((dbg & KVM_GUESTDBG_ENABLE) && (dbg & KVM_GUESTDBG_USE_SW_BP))
		bitmap |= 1 << BP_VECTOR;
	/* MOV DR exits unless the guest owns the registers until the next exit. */
	if (vcpu->dr_passthrough)
		vmx->proc &= ~CPU_BASED_MOV_DR_EXITING;
	else
		vmx->proc |= CPU_BASED_MOV_DR_EXITING;
	vmx_vcpu_get(vcpu);
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmcs_write(EXCEPTION_BITMAP, bitmap);
	vmx_vcpu_put(vcpu);
}
