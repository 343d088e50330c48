// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/vmx_exit.c: VMX exit handlers, each mapped to the KVM exit the SVM backend gives, and event completion. */
#include <linux/percpu.h>
#include <asm/debugreg.h>

#include "vmx.h"

static struct vmx_exit *vmx_exit_info(struct kvmd_vcpu *vcpu)
{
	return &to_vmx(vcpu)->exit;
}

/* The exiting instruction is done: move past it. */
static int vmx_skip(struct kvmd_vcpu *vcpu)
{
	kvmd_skip_insn(vcpu, vmx_exit_info(vcpu)->insn_len);
	return KVMD_RESUME;
}

__kvmd_hot void vmx_complete_events(struct kvmd_vcpu *vcpu)
{
	struct vmx_exit *e = vmx_exit_info(vcpu);
	u32 info = e->idt_info;
	u8 vector = info & VECTORING_INFO_VECTOR_MASK;

	/* No entry happened: whatever was queued is still queued. */
	if (e->reason == VMX_EXIT_MIGRATED && !e->failed)
		return;
	vcpu->exception.injected = false;
	vcpu->nmi.injected = false;
	vcpu->interrupt.injected = false;
	/* With virtual NMIs the CPU tracks the block and lifts it at IRET. */
	if (!e->failed && (vmx_caps.pin & PIN_BASED_VIRTUAL_NMIS))
		vcpu->nmi.masked = !to_vmx(vcpu)->nmi_known_unmasked &&
				   (e->interruptibility & GUEST_INTR_STATE_NMI);
	if (e->failed || !(info & VECTORING_INFO_VALID_MASK))
		return;
	/* Delivery was cut short by this exit: deliver it again. */
	switch (info & VECTORING_INFO_TYPE_MASK) {
	case INTR_TYPE_NMI_INTR:
		vcpu->nmi.injected = true;
		vcpu->nmi.masked = true;
		break;
	case INTR_TYPE_HARD_EXCEPTION:
		vcpu->exception.injected = true;
		vcpu->exception.nr = vector;
		vcpu->exception.has_error = info & VECTORING_INFO_DELIVER_CODE_MASK;
		vcpu->exception.error = e->idt_error;
		break;
	case INTR_TYPE_EXT_INTR:
		vcpu->interrupt.injected = true;
		vcpu->interrupt.soft = false;
		vcpu->interrupt.nr = vector;
		break;
	default:
		/* INTn, INT3, INTO and ICEBP restart from their instruction. */
		break;
	}
}

static int vmx_exit_nothing(struct kvmd_vcpu *vcpu)
{
	/* A host interrupt: the host took it when interrupts came back on. */
	return KVMD_RESUME;
}

static int vmx_exit_exception_nmi(struct kvmd_vcpu *vcpu)
{
	struct vmx_exit *e = vmx_exit_info(vcpu);
	u32 type = e->intr_info & INTR_INFO_INTR_TYPE_MASK;
	u8 vector = e->intr_info & INTR_INFO_VECTOR_MASK;

	if (type == INTR_TYPE_NMI_INTR)
		return KVMD_RESUME;	/* the host's, already handled */
	/* The qualification holds DR6's cause bits, active high. */
	if (vector == DB_VECTOR) {
		/* ICEBP (INT1) traps: the guest's #DB comes after it, as KVM. */
		if (type == INTR_TYPE_PRIV_SW_EXCEPTION &&
		    !(vcpu->guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP)))
			vcpu->rip += e->insn_len;
		return kvmd_handle_db(vcpu, e->qual | VMX_DR6_ACTIVE_LOW);
	}
	if (vector == BP_VECTOR)
		return kvmd_handle_bp(vcpu);
	if (vector == UD_VECTOR)
		return kvmd_handle_ud(vcpu);
	return kvmd_internal_error(vcpu, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON,
				   e->reason, e->intr_info);
}

static int vmx_exit_triple_fault(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_shutdown(vcpu);
}

static int vmx_exit_irq_window(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_vcpu_get(vcpu);
	vmx->proc &= ~CPU_BASED_INTR_WINDOW_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmx_vcpu_put(vcpu);
	return KVMD_RESUME;
}

static int vmx_exit_nmi_window(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	/* The guest's IRET lifted the virtual NMI block. */
	vcpu->nmi.masked = false;
	vmx_vcpu_get(vcpu);
	vmx->proc &= ~CPU_BASED_NMI_WINDOW_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmx_vcpu_put(vcpu);
	return KVMD_RESUME;
}

/* A task switch: the qualification gives reason and selector; emulated as KVM does. */
static int vmx_exit_task_switch(struct kvmd_vcpu *vcpu)
{
	struct vmx_exit *e = vmx_exit_info(vcpu);
	bool idt_v = e->idt_info & VECTORING_INFO_VALID_MASK;
	u32 type = e->idt_info & VECTORING_INFO_TYPE_MASK;
	int reason = (u32)e->qual >> 30;
	bool has_error = false;
	u32 error = 0;

	/* The event that went through the gate is delivered by the switch. */
	if (reason == KVMD_TASK_SWITCH_GATE && idt_v) {
		vcpu->nmi.injected = false;
		vcpu->exception.injected = false;
		vcpu->interrupt.injected = false;
		if (type == INTR_TYPE_NMI_INTR) {
			vcpu->nmi.masked = true;
			vmx_vcpu_get(vcpu);
			vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
			vmx_vcpu_put(vcpu);
		}
		if (type == INTR_TYPE_HARD_EXCEPTION &&
		    (e->idt_info & VECTORING_INFO_DELIVER_CODE_MASK)) {
			has_error = true;
			error = e->idt_error;
		}
	}
	/* An instruction caused it: the old task resumes after it. */
	if (!idt_v || (type != INTR_TYPE_HARD_EXCEPTION &&
		       type != INTR_TYPE_EXT_INTR && type != INTR_TYPE_NMI_INTR))
		vmx_skip(vcpu);
	return kvmd_task_switch(vcpu, (u16)e->qual,
				idt_v && type == INTR_TYPE_SOFT_INTR ?
				(int)(e->idt_info & VECTORING_INFO_VECTOR_MASK) : -1,
				reason, has_error, error);
}

static __kvmd_hot int vmx_exit_cpuid(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_cpuid(vcpu);
}

static int vmx_exit_hlt(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_hlt(vcpu);
}

static int vmx_exit_ud(struct kvmd_vcpu *vcpu)
{
	kvmd_queue_exception(vcpu, UD_VECTOR);
	return KVMD_RESUME;
}

static int vmx_exit_vmcall(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_hypercall(vcpu, vmx_exit_info(vcpu)->insn_len);
}

static int vmx_exit_monitor_mwait(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_monitor_mwait(vcpu, vmx_exit_info(vcpu)->insn_len);
}

static u64 vmx_gpr(struct kvmd_vcpu *vcpu, int reg)
{
	u64 v = vcpu->regs[reg];

	return kvmd_long_mode(vcpu) ? v : (u32)v;
}

/*
 * MOV to CR0, LMSW and MOV to CR4 that exit (the bits the guest/host
 * masks keep): taken with the checks KVM's kvm_set_cr0/kvm_set_cr4 make
 * (cr.c, shared with SVM), or a #GP.
 */
static int vmx_guest_set_cr(struct kvmd_vcpu *vcpu, int cr, u64 val)
{
	if (cr ? kvmd_guest_set_cr4(vcpu, val) : kvmd_guest_set_cr0(vcpu, val)) {
		kvmd_queue_exception_e(vcpu, GP_VECTOR, 0);
		return KVMD_RESUME;
	}
	return vmx_skip(vcpu);
}

static int vmx_exit_cr(struct kvmd_vcpu *vcpu)
{
	u64 q = vmx_exit_info(vcpu)->qual;
	int cr = q & 15, reg = (q >> 8) & 15;
	u64 val;

	switch ((q >> 4) & 3) {
	case 0:		/* MOV to CR */
		val = vmx_gpr(vcpu, reg);
		switch (cr) {
		case 0:
		case 4:
			return vmx_guest_set_cr(vcpu, cr, val);
		case 8:
			/* Reserved bits fault after the CR8-load exit, as in KVM. */
			if (val & ~0xfULL) {
				kvmd_queue_exception_e(vcpu, GP_VECTOR, 0);
				return KVMD_RESUME;
			}
			/* Lowering the priority goes to the VMM (SET_TPR), as on SVM. */
			vmx_skip(vcpu);
			return kvmd_set_tpr(vcpu, val);
		}
		break;
	case 1:		/* MOV from CR */
		if (cr == 8) {
			vcpu->regs[reg] = vmx_get_cr(vcpu, 8);
			return vmx_skip(vcpu);
		}
		break;
	case 3:		/* LMSW: low four bits, and PE cannot be cleared */
		val = (vmx_get_cr(vcpu, 0) & ~0xeULL) | ((q >> 16) & 0xf);
		return vmx_guest_set_cr(vcpu, 0, val);
	}
	return kvmd_emulation_failure(vcpu);
}

static int vmx_exit_dr(struct kvmd_vcpu *vcpu)
{
	u64 q = vmx_exit_info(vcpu)->qual;
	int dr = q & 7, reg = (q >> 8) & 15;
	bool from = q & 16;
	u64 v = vmx_gpr(vcpu, reg);
	int r;

	if (!kvmd_emulate_mov_dr(vcpu, dr, !from, &v, &r))
		return r;
	if (from)
		vcpu->regs[reg] = kvmd_long_mode(vcpu) ? v : (u32)v;
	return vmx_skip(vcpu);
}

static __kvmd_hot int vmx_exit_io(struct kvmd_vcpu *vcpu)
{
	struct vmx_exit *e = vmx_exit_info(vcpu);
	u64 q = e->qual;
	u8 size = (q & 7) + 1, asize = 2;
	bool string = q & 16;
	int seg = KVMD_SEG_DS;
	static const u8 seg_map[8] = {
		KVMD_SEG_ES, KVMD_SEG_CS, KVMD_SEG_SS, KVMD_SEG_DS,
		KVMD_SEG_FS, KVMD_SEG_GS, KVMD_SEG_DS, KVMD_SEG_DS,
	};

	if (string) {
		if (vmx_caps.ins_outs_info) {
			asize = 2 << ((e->insn_info >> 7) & 7);
			seg = seg_map[(e->insn_info >> 15) & 7];
		} else {
			struct kvm_segment cs;

			/* The default address size of the code segment. */
			vmx_get_segment(vcpu, &cs, KVMD_SEG_CS);
			asize = kvmd_long_mode(vcpu) && cs.l ? 8 : cs.db ? 4 : 2;
		}
	}
	return kvmd_handle_io(vcpu, q >> 16, size, q & 8, string, q & 32, asize,
			      seg, vcpu->rip + e->insn_len);
}

static int vmx_exit_rdmsr(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_rdmsr(vcpu);
}

static int vmx_exit_wrmsr(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_wrmsr(vcpu);
}

/* XSETBV: KVM's rules for XCR0, #GP otherwise. */
static int vmx_exit_xsetbv(struct kvmd_vcpu *vcpu)
{
	if (!kvmd_emulate_xsetbv(vcpu))
		return KVMD_RESUME;
	return vmx_skip(vcpu);
}

static int vmx_exit_skip(struct kvmd_vcpu *vcpu)
{
	/* WBINVD, INVD: nothing to do on a virtual cache. */
	return vmx_skip(vcpu);
}

/* An IRET that faulted had unblocked NMIs: block them again for the retry. */
static void vmx_reblock_nmi(struct kvmd_vcpu *vcpu, bool unblocked)
{
	if (!unblocked || !(vmx_caps.pin & PIN_BASED_VIRTUAL_NMIS) ||
	    (vmx_exit_info(vcpu)->idt_info & VECTORING_INFO_VALID_MASK))
		return;
	vcpu->nmi.masked = true;
	vmx_vcpu_get(vcpu);
	vmcs_set_bits(GUEST_INTERRUPTIBILITY_INFO, GUEST_INTR_STATE_NMI);
	vmx_vcpu_put(vcpu);
}

static __kvmd_hot int vmx_exit_ept_violation(struct kvmd_vcpu *vcpu)
{
	struct vmx_exit *e = vmx_exit_info(vcpu);

	vmx_reblock_nmi(vcpu, e->qual & INTR_INFO_UNBLOCK_NMI);
	return kvmd_tdp_fault(vcpu, e->gpa, e->qual & EPT_VIOLATION_ACC_WRITE,
			      e->qual & EPT_VIOLATION_ACC_INSTR);
}

static __kvmd_hot int vmx_exit_ept_misconfig(struct kvmd_vcpu *vcpu)
{
	/* No entry is built misconfigured on purpose: treat it as MMIO. */
	return kvmd_emulate_mmio(vcpu);
}

static int vmx_exit_fail_entry(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_FAIL_ENTRY;
	run->fail_entry.hardware_entry_failure_reason = vmx_exit_info(vcpu)->reason;
	run->fail_entry.cpu = vcpu->cpu;
	return KVMD_EXIT_USER;
}

typedef int (*vmx_exit_fn)(struct kvmd_vcpu *vcpu);

static const vmx_exit_fn vmx_exit_handlers[] = {
	[EXIT_REASON_EXCEPTION_NMI]		= vmx_exit_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT]	= vmx_exit_nothing,
	[EXIT_REASON_TRIPLE_FAULT]		= vmx_exit_triple_fault,
	[EXIT_REASON_INTERRUPT_WINDOW]		= vmx_exit_irq_window,
	[EXIT_REASON_NMI_WINDOW]		= vmx_exit_nmi_window,
	[EXIT_REASON_TASK_SWITCH]		= vmx_exit_task_switch,
	[EXIT_REASON_CPUID]			= vmx_exit_cpuid,
	[EXIT_REASON_HLT]			= vmx_exit_hlt,
	[EXIT_REASON_INVD]			= vmx_exit_skip,
	[EXIT_REASON_VMCALL]			= vmx_exit_vmcall,
	[EXIT_REASON_VMCLEAR]			= vmx_exit_ud,
	[EXIT_REASON_VMLAUNCH]			= vmx_exit_ud,
	[EXIT_REASON_VMPTRLD]			= vmx_exit_ud,
	[EXIT_REASON_VMPTRST]			= vmx_exit_ud,
	[EXIT_REASON_VMREAD]			= vmx_exit_ud,
	[EXIT_REASON_VMRESUME]			= vmx_exit_ud,
	[EXIT_REASON_VMWRITE]			= vmx_exit_ud,
	[EXIT_REASON_VMOFF]			= vmx_exit_ud,
	[EXIT_REASON_VMON]			= vmx_exit_ud,
	[EXIT_REASON_CR_ACCESS]			= vmx_exit_cr,
	[EXIT_REASON_DR_ACCESS]			= vmx_exit_dr,
	[EXIT_REASON_IO_INSTRUCTION]		= vmx_exit_io,
	[EXIT_REASON_MSR_READ]			= vmx_exit_rdmsr,
	[EXIT_REASON_MSR_WRITE]			= vmx_exit_wrmsr,
	[EXIT_REASON_INVALID_STATE]		= vmx_exit_fail_entry,
	[EXIT_REASON_MSR_LOAD_FAIL]		= vmx_exit_fail_entry,
	[EXIT_REASON_MWAIT_INSTRUCTION]		= vmx_exit_monitor_mwait,
	[EXIT_REASON_MONITOR_INSTRUCTION]	= vmx_exit_monitor_mwait,
	[EXIT_REASON_MCE_DURING_VMENTRY]	= vmx_exit_fail_entry,
	[EXIT_REASON_EPT_VIOLATION]		= vmx_exit_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG]		= vmx_exit_ept_misconfig,
	[EXIT_REASON_INVEPT]			= vmx_exit_ud,
	[EXIT_REASON_WBINVD]			= vmx_exit_skip,
	[EXIT_REASON_XSETBV]			= vmx_exit_xsetbv,
	[EXIT_REASON_INVVPID]			= vmx_exit_ud,
	[EXIT_REASON_VMFUNC]			= vmx_exit_ud,
};

__kvmd_hot int vmx_handle_exit(struct kvmd_vcpu *vcpu)
{
	struct vmx_exit *e = vmx_exit_info(vcpu);
	struct kvm_run *run = vcpu->run;
	u32 basic = e->reason & 0xffff;

	if (e->failed) {
		/* VMLAUNCH/VMRESUME refused: the VM-instruction error says why. */
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = e->insn_error;
		run->fail_entry.cpu = vcpu->cpu;
		return KVMD_EXIT_USER;
	}
	/* A host interrupt ended the run between two instructions (pv.c). */
	if (basic == EXIT_REASON_EXTERNAL_INTERRUPT)
		vcpu->at_insn_boundary = true;
	if (e->reason == VMX_EXIT_MIGRATED)
		return vmx_migrate(vcpu);
	if (e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return vmx_exit_fail_entry(vcpu);
	if (basic < ARRAY_SIZE(vmx_exit_handlers) && vmx_exit_handlers[basic])
		return vmx_exit_handlers[basic](vcpu);

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = e->reason;
	run->internal.data[1] = vcpu->cpu;
	return KVMD_EXIT_USER;
}
