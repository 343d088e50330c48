// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/nested_svm.c: nested SVM: a guest hypervisor's VMRUN, #VMEXIT, VMLOAD/VMSAVE, GIF and nested state. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/uaccess.h>
#include <asm/msr-index.h>
#include <asm/svm.h>

#include "kvmdrv.h"
#include "svm.h"

/*
 * L1 is our guest, L2 the guest it runs with VMRUN. L1's state lives in
 * vmcb01 (the vCPU's own VMCB); L2 runs on vmcb02, built at VMRUN from
 * the VMCB L1 wrote (VMCB12, in L1's memory) and our own intercepts.
 * Without nested paging of its own, L1 has L2 run on our NPT, in L1's
 * guest-physical space; with it, on a shadow of L1's NPT (nested_npt.c).
 */

#define NESTED_MSRPM_SIZE	(8 * 1024)
#define NESTED_MSRPM_COPY	(3 * 0x800)	/* the three ranges MSRs map to */
#define NESTED_IOPM_SIZE	(12 * 1024)
#define NESTED_VM_CR_VALID	0x1fULL		/* DPD, R_INIT, DIS_A20M, LOCK, SVMDIS */
#define NESTED_VMCB_SIZE	KVM_STATE_NESTED_SVM_VMCB_SIZE

/* Leaf 0x8000000A EDX: what L1 gets. Clean bits are a hint we may ignore. */
#define NESTED_SVM_NP		(1U << 0)
#define NESTED_SVM_NRIPS	(1U << 3)
#define NESTED_SVM_VMCBCLEAN	(1U << 5)
#define NESTED_SVM_VGIF		(1U << 16)
#define NESTED_SVM_ADDR_CHK	(1U << 28)

static bool nested_legal_gpa(struct kvmd_vcpu *vcpu, u64 gpa)
{
	return !(gpa >> kvmd_guest_maxphyaddr(vcpu));
}

/* The SVM instructions: #UD without EFER.SVME or paging, #GP(0) above CPL 0. */
static bool nested_svm_permitted(struct kvmd_vcpu *vcpu)
{
	if (!to_svm(vcpu)->nested.svme ||
	    !(kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PG)) {
		kvmd_queue_exception(vcpu, 6);
		return false;
	}
	if (svm_vmcb(vcpu)->save.cpl) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return false;
	}
	return true;
}

/* Every SVM instruction is three bytes. */
static void nested_skip(struct kvmd_vcpu *vcpu)
{
	u64 next = svm_vmcb(vcpu)->control.next_rip;

	if (svm_has_nrips && next) {
		vcpu->rip = next;
		kvmd_ops->set_interrupt_shadow(vcpu, 0);
	} else {
		kvmd_skip_insn(vcpu, 3);
	}
}

/* vmcb02 and a page to edit VMCB12 in, on the first VMRUN. */
static int nested_alloc(struct svm_vcpu *svm)
{
	struct svm_nested *n = &svm->nested;
	struct page *page;

	if (nested_npt_init(n))
		return -ENOMEM;
	if (n->vmcb02)
		return 0;
	page = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO, 1);
	if (!page)
		return -ENOMEM;
	n->vmcb02 = page_address(page);
	n->vmcb02_pa = page_to_phys(page);
	n->vmcb12 = page_address(page) + PAGE_SIZE;
	n->msrpm = kvzalloc(NESTED_MSRPM_COPY, GFP_KERNEL_ACCOUNT);
	if (!n->msrpm) {
		free_pages((unsigned long)n->vmcb02, 1);
		n->vmcb02 = NULL;
		return -ENOMEM;
	}
	return 0;
}

void nested_svm_free(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	nested_svm_leave(vcpu);
	if (svm->nested.vmcb02)
		free_pages((unsigned long)svm->nested.vmcb02, 1);
	nested_npt_free(&svm->nested);
	svm->nested.vmcb02 = NULL;
	kvfree(svm->nested.msrpm);
	svm->nested.msrpm = NULL;
	svm->nested.msrpm_valid = false;
	svm->nested.vmcb12 = NULL;
}

static void nested_switch_vmcb(struct svm_vcpu *svm, struct vmcb *to, u64 to_pa)
{
	/* One ASID for both levels: every switch flushes it (see callers). */
	to->control.asid = svm->vmcb->control.asid;
	svm->vmcb = to;
	svm->vmcb_pa = to_pa;
}

/* Leave L2 without a #VMEXIT: reset, INIT, EFER.SVME cleared, nested state set. */
void nested_svm_leave(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!svm->nested.guest_mode)
		return;
	nested_switch_vmcb(svm, svm->vmcb01, svm->vmcb01_pa);
	svm->nested.guest_mode = false;
	svm->nested.run_pending = false;
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
}

/* ---- VMCB12 consistency checks, as KVM's nested.c makes them ---- */

static bool nested_check_bitmap(struct kvmd_vcpu *vcpu, u64 pa, u32 size)
{
	return nested_legal_gpa(vcpu, (pa & PAGE_MASK) + size - 1);
}

static bool nested_check_controls(struct kvmd_vcpu *vcpu,
				  const struct vmcb_control_area *c, u64 l1_efer)
{
	if (!is_icpt(c, INTERCEPT_VMRUN) || !c->asid)
		return false;
	/*
	 * Nested paging: our shadow reads L1's NPT in the long-mode format
	 * only, so L1 must be in long mode (nested_npt.c).
	 */
	if ((c->nested_ctl & SVM_NESTED_CTL_NP_ENABLE) &&
	    (!(l1_efer & EFER_LMA) || !nested_legal_gpa(vcpu, c->nested_cr3)))
		return false;
	return nested_check_bitmap(vcpu, c->msrpm_base_pa, NESTED_MSRPM_SIZE) &&
	       nested_check_bitmap(vcpu, c->iopm_base_pa, NESTED_IOPM_SIZE);
}

static bool nested_check_save(struct kvmd_vcpu *vcpu,
			      const struct vmcb_save_area *s)
{
	if (!(s->efer & EFER_SVME))
		return false;
	if ((!(s->cr0 & X86_CR0_CD) && (s->cr0 & X86_CR0_NW)) || (s->cr0 >> 32))
		return false;
	if ((s->dr6 >> 32) || (s->dr7 >> 32))
		return false;
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->cr0 & X86_CR0_PE) ||
		    !nested_legal_gpa(vcpu, s->cr3))
			return false;
		if ((s->cs.attrib & SVM_SELECTOR_L_MASK) &&
		    (s->cs.attrib & SVM_SELECTOR_DB_MASK))
			return false;
	}
	if (!kvmd_valid_cr4(vcpu, s->cr4))
		return false;
	/* EFER as WRMSR would take it from L1. */
	if (s->efer & ~(u64)(EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_FFXSR | EFER_SVME))
		return false;
	if ((s->efer & EFER_NX) && !kvmd_guest_has(vcpu, 0x80000001, 3, 20))
		return false;
	if ((s->efer & EFER_LME) && !kvmd_guest_has(vcpu, 0x80000001, 3, 29))
		return false;
	return true;
}

/* ---- entering L2 ---- */

/* vmcb02's controls: L1's wishes merged with ours. */
static void nested_prepare_control(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb_control_area *c = &n->vmcb02->control;
	const struct vmcb_control_area *c01 = &svm->vmcb01->control;
	const struct vmcb_control_area *c12 = &n->ctl;
	u32 keep = V_TPR_MASK | V_IRQ_MASK | V_INTR_PRIO_MASK | V_IGN_TPR_MASK;
	int i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < MAX_INTERCEPT; i++)
		c->intercepts[i] = c01->intercepts[i] | c12->intercepts[i];
	/* Our interrupt window and NMI unmasking belong to L1's VMCB. */
	if (!is_icpt(c12, INTERCEPT_VINTR))
		clr_icpt(n->vmcb02, INTERCEPT_VINTR);
	if (!is_icpt(c12, INTERCEPT_IRET))
		clr_icpt(n->vmcb02, INTERCEPT_IRET);
	/*
	 * With V_INTR_MASKING, L2's CR8 is its own virtual TPR: its writes
	 * need not exit unless L1 asks.
	 */
	if ((c12->int_ctl & V_INTR_MASKING_MASK) && !is_icpt(c12, INTERCEPT_CR8_WRITE))
		clr_icpt(n->vmcb02, INTERCEPT_CR8_WRITE);

	c->iopm_base_pa = c01->iopm_base_pa;
	c->msrpm_base_pa = c01->msrpm_base_pa;
	c->tsc_offset = c01->tsc_offset + c12->tsc_offset;
	c->asid = c01->asid;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = c01->nested_cr3;
	if (c12->nested_ctl & SVM_NESTED_CTL_NP_ENABLE)
		c->nested_cr3 = __pa(n->snpt_root);
	c->int_ctl = (c12->int_ctl & keep) | V_INTR_MASKING_MASK;
	if (!(c12->int_ctl & V_INTR_MASKING_MASK))
		c->int_ctl = (c->int_ctl & ~V_TPR_MASK) | (c01->int_ctl & V_TPR_MASK);
	/*
	 * The virtual GIF, when L1's CPUID has it and VMCB12 enables it: the
	 * CPU's own keeps L2's GIF in vmcb02 (STGI and CLGI that L1 does not
	 * intercept set and clear V_GIF, which holds back L1's virtual
	 * interrupt), L1's stays ours (n->gif, set while L2 runs).
	 */
	n->vgif = svm_has_vgif && (c12->int_ctl & V_GIF_ENABLE_MASK) &&
		  kvmd_guest_has(vcpu, 0x8000000a, 3, 16);
	if (n->vgif) {
		c->int_ctl |= c12->int_ctl & (V_GIF_MASK | V_GIF_ENABLE_MASK);
		if (!is_icpt(c12, INTERCEPT_STGI))
			clr_icpt(n->vmcb02, INTERCEPT_STGI);
		if (!is_icpt(c12, INTERCEPT_CLGI))
			clr_icpt(n->vmcb02, INTERCEPT_CLGI);
	}
	c->int_vector = c12->int_vector;
	c->int_state = c12->int_state & SVM_INTERRUPT_SHADOW_MASK;
	c->event_inj = c12->event_inj;
	c->event_inj_err = c12->event_inj_err;
}

/* VMRUN's load of L2: the state it switches comes from VMCB12, the rest stays L1's. */
static void nested_enter(struct kvmd_vcpu *vcpu, u64 vmcb12_pa,
			 const struct vmcb *vmcb12)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb_save_area *s = &n->vmcb02->save;
	const struct vmcb_save_area *s12 = &vmcb12->save;

	/* L1's registers, where #VMEXIT finds them. */
	svm->vmcb01->save.rip = vcpu->rip;
	svm->vmcb01->save.rsp = vcpu->regs[R_SP];
	svm->vmcb01->save.rax = vcpu->regs[R_AX];
	svm->vmcb01->save.rflags = vcpu->rflags;

	n->ctl = vmcb12->control;
	n->vmcb12_pa = vmcb12_pa;
	if (!n->msrpm_valid || !kvmd_hv_nested_msrpm_unchanged(vcpu, &n->ctl))
		n->msrpm_valid = !kvmd_read_guest(vcpu->vm, n->ctl.msrpm_base_pa,
						   n->msrpm, NESTED_MSRPM_COPY);

	*s = svm->vmcb01->save;
	s->es = s12->es;
	s->cs = s12->cs;
	s->ss = s12->ss;
	s->ds = s12->ds;
	s->gdtr = s12->gdtr;
	s->idtr = s12->idtr;
	s->efer = s12->efer | EFER_SVME;
	s->cr0 = s12->cr0;
	s->cr2 = s12->cr2;
	s->cr3 = s12->cr3;
	s->cr4 = s12->cr4;
	s->dr6 = s12->dr6;
	s->dr7 = s12->dr7;
	s->cpl = s12->cpl;
	nested_prepare_control(vcpu);
	if (n->ctl.nested_ctl & SVM_NESTED_CTL_NP_ENABLE) {
		s->g_pat = s12->g_pat;
		nested_npt_vmrun(vcpu);
	}

	nested_switch_vmcb(svm, n->vmcb02, n->vmcb02_pa);
	vcpu->rip = s12->rip;
	vcpu->regs[R_SP] = s12->rsp;
	vcpu->regs[R_AX] = s12->rax;
	vcpu->rflags = s12->rflags | X86_EFLAGS_FIXED;
	n->guest_mode = true;
	n->run_pending = true;
	n->gif = true;
	n->svme = true;
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
}

int nested_svm_vmrun(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb *vmcb12;
	u64 pa;

	if (!nested_svm_permitted(vcpu))
		return KVMD_RESUME;
	if (!n->hsave_pa) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	if (nested_alloc(svm))
		return -ENOMEM;
	vmcb12 = n->vmcb12;
	pa = vcpu->regs[R_AX] & PAGE_MASK;
	if (!nested_legal_gpa(vcpu, pa) ||
	    kvmd_read_guest(vcpu->vm, pa, vmcb12, PAGE_SIZE)) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	nested_skip(vcpu);

	if (!nested_check_controls(vcpu, &vmcb12->control, svm->vmcb01->save.efer) ||
	    !nested_check_save(vcpu, &vmcb12->save)) {
		/* VMEXIT_INVALID: L1 goes on after its VMRUN, GIF clear. */
		vmcb12->control.exit_code = SVM_EXIT_ERR;
		vmcb12->control.exit_code_hi = -1U;
		vmcb12->control.exit_info_1 = 0;
		vmcb12->control.exit_info_2 = 0;
		n->gif = false;
		kvmd_write_guest(vcpu->vm, pa, &vmcb12->control,
				 sizeof(vmcb12->control));
		return KVMD_RESUME;
	}
	nested_enter(vcpu, pa, vmcb12);
	return KVMD_RESUME;
}

/* ---- #VMEXIT to L1 ---- */

/* The event L2 was being given when it exited, as EXITINTINFO for L1. */
static u32 nested_pending_event(struct kvmd_vcpu *vcpu, u32 *err)
{
	u32 info = 0;

	*err = 0;
	if (vcpu->exception.injected) {
		info = vcpu->exception.nr | SVM_EXITINTINFO_VALID |
		       SVM_EXITINTINFO_TYPE_EXEPT;
		if (vcpu->exception.has_error) {
			info |= SVM_EXITINTINFO_VALID_ERR;
			*err = vcpu->exception.error;
		}
	} else if (vcpu->nmi.injected) {
		info = 2 | SVM_EXITINTINFO_VALID | SVM_EXITINTINFO_TYPE_NMI;
	} else if (vcpu->interrupt.injected) {
		info = vcpu->interrupt.nr | SVM_EXITINTINFO_VALID |
		       (vcpu->interrupt.soft ? SVM_EXITINTINFO_TYPE_SOFT :
					       SVM_EXITINTINFO_TYPE_INTR);
	}
	vcpu->exception.injected = false;
	vcpu->exception.pending = false;
	vcpu->nmi.injected = false;
	vcpu->interrupt.injected = false;
	return info;
}

/*
 * VMCB12's int_ctl as the processor leaves it: the bits it writes (V_IRQ
 * once taken, V_TPR, V_GIF with the virtual GIF) from vmcb02, the rest
 * as L1 gave them. While our interrupt window borrows V_IRQ (L1 lets L2
 * take its interrupts), L1's stays as it gave it, as KVM does.
 */
static u32 nested_int_ctl12(struct kvmd_vcpu *vcpu)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	const struct vmcb_control_area *c02 = &n->vmcb02->control;
	u32 mask = V_IRQ_MASK | V_TPR_MASK;

	if (!(n->ctl.int_ctl & V_INTR_MASKING_MASK) &&
	    !is_icpt(&n->ctl, INTERCEPT_VINTR) && is_icpt(c02, INTERCEPT_VINTR))
		mask &= ~V_IRQ_MASK;
	if (n->vgif)
		mask |= V_GIF_MASK;
	return (n->ctl.int_ctl & ~mask) | (c02->int_ctl & mask);
}

/*
 * The exit recorded in vmcb02's control area goes to L1: VMCB12 gets L2's
 * state and the exit, L1 resumes after its VMRUN with GIF clear.
 */
static void nested_svm_vmexit(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb *v01 = svm->vmcb01, *v02 = n->vmcb02, *v12 = n->vmcb12;
	struct vmcb_save_area *s12 = &v12->save;
	struct vmcb_control_area *c12 = &v12->control;
	u32 err = 0;

	/* L1 may have moved its VMCB out of memory: then only L1's state is kept. */
	if (!kvmd_read_guest(vcpu->vm, n->vmcb12_pa, v12, PAGE_SIZE)) {
		s12->es = v02->save.es;
		s12->cs = v02->save.cs;
		s12->ss = v02->save.ss;
		s12->ds = v02->save.ds;
		s12->gdtr = v02->save.gdtr;
		s12->idtr = v02->save.idtr;
		s12->efer = (v02->save.efer & ~(u64)EFER_SVME) |
			    (n->svme ? EFER_SVME : 0);
		s12->cr0 = v02->save.cr0;
		s12->cr2 = v02->save.cr2;
		s12->cr3 = v02->save.cr3;
		s12->cr4 = v02->save.cr4;
		s12->rflags = vcpu->rflags;
		s12->rip = vcpu->rip;
		s12->rsp = vcpu->regs[R_SP];
		s12->rax = vcpu->regs[R_AX];
		s12->dr6 = v02->save.dr6;
		s12->dr7 = v02->save.dr7;
		s12->cpl = v02->save.cpl;

		c12->int_state = v02->control.int_state;
		c12->exit_code = v02->control.exit_code;
		c12->exit_code_hi = v02->control.exit_code_hi;
		c12->exit_info_1 = v02->control.exit_info_1;
		c12->exit_info_2 = v02->control.exit_info_2;
		c12->exit_int_info = 0;
		c12->exit_int_info_err = 0;
		if (c12->exit_code != SVM_EXIT_ERR)
			c12->exit_int_info = nested_pending_event(vcpu, &err);
		c12->exit_int_info_err = err;
		c12->next_rip = svm_has_nrips ? v02->control.next_rip : 0;
		c12->int_ctl = nested_int_ctl12(vcpu);
		c12->int_vector = n->ctl.int_vector;
		c12->tlb_ctl = n->ctl.tlb_ctl;
		c12->event_inj = 0;
		c12->event_inj_err = 0;
		kvmd_write_guest(vcpu->vm, n->vmcb12_pa, v12, PAGE_SIZE);
	}
	nested_pending_event(vcpu, &err);

	/* What VMRUN and #VMEXIT do not switch stays the processor's. */
	v01->save.fs = v02->save.fs;
	v01->save.gs = v02->save.gs;
	v01->save.tr = v02->save.tr;
	v01->save.ldtr = v02->save.ldtr;
	v01->save.kernel_gs_base = v02->save.kernel_gs_base;
	v01->save.star = v02->save.star;
	v01->save.lstar = v02->save.lstar;
	v01->save.cstar = v02->save.cstar;
	v01->save.sfmask = v02->save.sfmask;
	v01->save.sysenter_cs = v02->save.sysenter_cs;
	v01->save.sysenter_esp = v02->save.sysenter_esp;
	v01->save.sysenter_eip = v02->save.sysenter_eip;
	v01->save.g_pat = v02->save.g_pat;

	nested_switch_vmcb(svm, v01, svm->vmcb01_pa);
	n->guest_mode = false;
	n->run_pending = false;
	n->gif = false;
	n->svme = true;
	vcpu->rip = v01->save.rip;
	vcpu->regs[R_SP] = v01->save.rsp;
	vcpu->regs[R_AX] = v01->save.rax;
	vcpu->rflags = v01->save.rflags | X86_EFLAGS_FIXED;
	v01->save.dr7 = 0x400;
	v01->save.cpl = 0;
	v01->control.event_inj = 0;
	v01->control.int_state = 0;
	if (vcpu->apic && vcpu->mp_state == KVM_MP_STATE_HALTED)
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
}

/* An NPF of L2 that L1's NPT refuses (nested_npt.c): vmcb02 holds it. */
void nested_svm_reflect_npf(struct kvmd_vcpu *vcpu)
{
	nested_svm_vmexit(vcpu);
}

/* An exit KVM makes for L2 itself, not read from the hardware. */
static void nested_synth_vmexit(struct kvmd_vcpu *vcpu, u32 code, u64 info1,
				u64 info2)
{
	struct vmcb_control_area *c = &to_svm(vcpu)->nested.vmcb02->control;

	c->exit_code = code;
	c->exit_code_hi = 0;
	c->exit_info_1 = info1;
	c->exit_info_2 = info2;
	c->next_rip = 0;
	nested_svm_vmexit(vcpu);
}

/* Whether L1's I/O permission map claims the port(s) of this IOIO exit. */
static bool nested_l1_wants_io(struct kvmd_vcpu *vcpu, u64 info)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	u32 port = info >> 16;
	u32 size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	u32 bit = port % 8, len = bit + size > 8 ? 2 : 1;
	u16 val = 0, mask = (0xf >> (4 - size)) << bit;

	if (!is_icpt(&n->ctl, INTERCEPT_IOIO_PROT))
		return false;
	if (kvmd_read_guest(vcpu->vm, n->ctl.iopm_base_pa + port / 8, &val, len))
		return true;
	return val & mask;
}

/* Whether L1's MSR permission map claims this RDMSR/WRMSR. */
static bool nested_l1_wants_msr(struct kvmd_vcpu *vcpu, bool write)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	static const u32 base[] = { 0, 0xc0000000, 0xc0010000 };
	u32 msr = vcpu->regs[R_CX];
	u8 val;
	int i;

	if (!is_icpt(&n->ctl, INTERCEPT_MSR_PROT))
		return false;
	for (i = 0; i < ARRAY_SIZE(base); i++) {
		if (msr < base[i] || msr - base[i] >= 0x2000)
			continue;
		if (!n->msrpm_valid)
			return true;
		val = n->msrpm[i * 0x800 + (msr - base[i]) / 4];
		return val & (1 << (2 * (msr % 4) + write));
	}
	return true;
}

/*
 * An exit of L2: true when it went to L1 as a #VMEXIT, false when we
 * handle it for L2 (exits only we intercept: NPT faults, interrupts...).
 */
bool nested_svm_reflect_exit(struct kvmd_vcpu *vcpu, u64 code)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	struct vmcb *v02 = n->vmcb02;
	bool reflect;

	n->run_pending = false;
	switch (code) {
	case SVM_EXIT_INTR:
	case SVM_EXIT_NMI:
	case SVM_EXIT_SMI:
	case SVM_EXIT_NPF:
		/* Ours: the host's events and L1's own memory. */
		return false;
	case SVM_EXIT_IOIO:
		reflect = nested_l1_wants_io(vcpu, v02->control.exit_info_1);
		break;
	case SVM_EXIT_MSR:
		reflect = nested_l1_wants_msr(vcpu, v02->control.exit_info_1 & 1);
		break;
	case SVM_EXIT_EXCP_BASE ... SVM_EXIT_EXCP_BASE + 31:
		/* One we intercept too is ours first; L1 sees it when injected. */
		if (is_icpt(&to_svm(vcpu)->vmcb01->control, code))
			return false;
		reflect = is_icpt(&n->ctl, code);
		break;
	case SVM_EXIT_ERR:
		reflect = true;
		break;
	default:
		/* Below 0xa0 an exit code is its own intercept bit. */
		reflect = code < 32 * MAX_INTERCEPT && is_icpt(&n->ctl, code);
		break;
	}
	if (!reflect)
		return false;
	nested_svm_vmexit(vcpu);
	return true;
}

/*
 * Before each entry of L2: what L1 intercepts among the events now due
 * becomes a #VMEXIT (an exception queued for L2, an NMI, an interrupt).
 */
__kvmd_hot void nested_svm_check_events(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	bool l1_if;

	if (!n->guest_mode || n->run_pending)
		return;
	if (vcpu->exception.pending &&
	    is_icpt(&n->ctl, INTERCEPT_EXCEPTION_OFFSET + vcpu->exception.nr)) {
		u8 nr = vcpu->exception.nr;

		vcpu->exception.pending = false;
		nested_synth_vmexit(vcpu, SVM_EXIT_EXCP_BASE + nr,
				    vcpu->exception.has_error ? vcpu->exception.error : 0,
				    nr == 14 ? n->vmcb02->save.cr2 : 0);
		return;
	}
	if (vcpu->nmi.pending && !vcpu->nmi.masked &&
	    is_icpt(&n->ctl, INTERCEPT_NMI)) {
		nested_synth_vmexit(vcpu, SVM_EXIT_NMI, 0, 0);
		return;
	}
	l1_if = (n->ctl.int_ctl & V_INTR_MASKING_MASK) ?
		svm->vmcb01->save.rflags & X86_EFLAGS_IF :
		vcpu->rflags & X86_EFLAGS_IF;
	if (l1_if && is_icpt(&n->ctl, INTERCEPT_INTR) &&
	    kvmd_cpu_has_interrupt(vcpu))
		nested_synth_vmexit(vcpu, SVM_EXIT_INTR, 0, 0);
}

/*
 * An interrupt for L1 would be #VMEXIT(INTR) now: L2 runs with GIF set,
 * L1 intercepts INTR, and L1's IF (L2's without V_INTR_MASKING) is set.
 * L2's own IF under V_INTR_MASKING and its interrupt shadow hold nothing
 * back then (KVM's svm_interrupt_blocked).
 */
__kvmd_hot bool nested_svm_intr_exits(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;

	if (!n->guest_mode || !n->gif || n->run_pending ||
	    !is_icpt(&n->ctl, INTERCEPT_INTR))
		return false;
	if (n->ctl.int_ctl & V_INTR_MASKING_MASK)
		return svm->vmcb01->save.rflags & X86_EFLAGS_IF;
	return vcpu->rflags & X86_EFLAGS_IF;
}

/* async_pf.c: whether L2 runs. */
bool nested_svm_is_guest_mode(struct kvmd_vcpu *vcpu)
{
	return to_svm(vcpu)->nested.guest_mode;
}

/* A triple fault of L2 (KVM_SET_VCPU_EVENTS): #VMEXIT(SHUTDOWN) if L1 asks. */
bool nested_svm_triple_fault(struct kvmd_vcpu *vcpu)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;

	if (!n->guest_mode || !is_icpt(&n->ctl, INTERCEPT_SHUTDOWN))
		return false;
	nested_synth_vmexit(vcpu, SVM_EXIT_SHUTDOWN, 0, 0);
	return true;
}

/*
 * Interrupts and NMIs wait: GIF clear, VMRUN's own EVENTINJ not yet
 * delivered, or L2 with V_INTR_MASKING, whose L1 interrupts are only
 * #VMEXITs (nested_svm_check_events, which runs before any injection):
 * those count as deliverable, so that a halted L2 wakes for them.
 */
bool nested_svm_events_blocked(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;

	if (!n->gif || n->run_pending)
		return true;
	if (!n->guest_mode || !(n->ctl.int_ctl & V_INTR_MASKING_MASK))
		return false;
	return !is_icpt(&n->ctl, INTERCEPT_INTR) ||
	       !(svm->vmcb01->save.rflags & X86_EFLAGS_IF);
}

/*
 * Our interrupt window borrowed L2's V_IRQ (L1 lets L2 take its
 * interrupts): give back the virtual interrupt L1 set up, as KVM does.
 */
void nested_svm_restore_vintr(struct kvmd_vcpu *vcpu)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	u32 bits = V_IRQ_MASK | V_INTR_PRIO_MASK | V_IGN_TPR_MASK;
	struct vmcb_control_area *c;

	if (!n->guest_mode)
		return;
	c = &n->vmcb02->control;
	c->int_ctl = (c->int_ctl & ~bits) | (n->ctl.int_ctl & bits);
	c->int_vector = n->ctl.int_vector;
	if (is_icpt(&n->ctl, INTERCEPT_VINTR))
		set_icpt(n->vmcb02, INTERCEPT_VINTR);
}

/* ---- the other SVM instructions ---- */

/* VMLOAD and VMSAVE move the state VMRUN leaves alone, at RAX. */
static int nested_loadsave(struct kvmd_vcpu *vcpu, bool load)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb_save_area *cur = &svm->vmcb->save, *s;
	u64 pa = vcpu->regs[R_AX] & PAGE_MASK;

	if (!nested_svm_permitted(vcpu))
		return KVMD_RESUME;
	if (nested_alloc(svm))
		return -ENOMEM;
	s = &svm->nested.vmcb12->save;
	if (!nested_legal_gpa(vcpu, pa) ||
	    kvmd_read_guest(vcpu->vm, pa, svm->nested.vmcb12, PAGE_SIZE)) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	nested_skip(vcpu);
	if (load) {
		cur->fs = s->fs;
		cur->gs = s->gs;
		cur->tr = s->tr;
		cur->ldtr = s->ldtr;
		cur->kernel_gs_base = s->kernel_gs_base;
		cur->star = s->star;
		cur->lstar = s->lstar;
		cur->cstar = s->cstar;
		cur->sfmask = s->sfmask;
		cur->sysenter_cs = s->sysenter_cs;
		cur->sysenter_esp = s->sysenter_esp;
		cur->sysenter_eip = s->sysenter_eip;
		return KVMD_RESUME;
	}
	s->fs = cur->fs;
	s->gs = cur->gs;
	s->tr = cur->tr;
	s->ldtr = cur->ldtr;
	s->kernel_gs_base = cur->kernel_gs_base;
	s->star = cur->star;
	s->lstar = cur->lstar;
	s->cstar = cur->cstar;
	s->sfmask = cur->sfmask;
	s->sysenter_cs = cur->sysenter_cs;
	s->sysenter_esp = cur->sysenter_esp;
	s->sysenter_eip = cur->sysenter_eip;
	kvmd_write_guest(vcpu->vm, pa, svm->nested.vmcb12, PAGE_SIZE);
	return KVMD_RESUME;
}

int nested_svm_vmload(struct kvmd_vcpu *vcpu)
{
	return nested_loadsave(vcpu, true);
}

int nested_svm_vmsave(struct kvmd_vcpu *vcpu)
{
	return nested_loadsave(vcpu, false);
}

int nested_svm_stgi(struct kvmd_vcpu *vcpu)
{
	if (!nested_svm_permitted(vcpu))
		return KVMD_RESUME;
	nested_skip(vcpu);
	to_svm(vcpu)->nested.gif = true;
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	return KVMD_RESUME;
}

int nested_svm_clgi(struct kvmd_vcpu *vcpu)
{
	if (!nested_svm_permitted(vcpu))
		return KVMD_RESUME;
	nested_skip(vcpu);
	to_svm(vcpu)->nested.gif = false;
	return KVMD_RESUME;
}

/* INVLPGA: one ASID's page; we flush all of ours, L1 has only the one. */
int nested_svm_invlpga(struct kvmd_vcpu *vcpu)
{
	if (!nested_svm_permitted(vcpu))
		return KVMD_RESUME;
	nested_skip(vcpu);
	nested_npt_reset(vcpu);
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	return KVMD_RESUME;
}

/* ---- EFER.SVME, MSRs, CPUID ---- */

void nested_svm_set_efer(struct kvmd_vcpu *vcpu, u64 efer)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;

	/* As KVM: clearing SVME drops L2 and sets GIF. */
	if (n->svme && !(efer & EFER_SVME)) {
		nested_svm_leave(vcpu);
		n->gif = true;
	}
	n->svme = efer & EFER_SVME;
}

int nested_svm_get_msr(struct kvmd_vcpu *vcpu, u32 index, u64 *data)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;

	switch (index) {
	case MSR_VM_HSAVE_PA:
		*data = n->hsave_pa;
		return 0;
	case MSR_VM_CR:
		*data = n->vm_cr;
		return 0;
	default:
		return KVMD_MSR_UNKNOWN;
	}
}

int nested_svm_set_msr(struct kvmd_vcpu *vcpu, u32 index, u64 data)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	u64 chg = NESTED_VM_CR_VALID;

	switch (index) {
	case MSR_VM_HSAVE_PA:
		/* msr.c refused a guest's write of anything but a page. */
		n->hsave_pa = data & PAGE_MASK;
		return 0;
	case MSR_VM_CR:
		if (data & ~NESTED_VM_CR_VALID)
			return 1;
		/* SVMDIS and LOCK stick once SVMDIS is set. */
		if (n->vm_cr & SVM_VM_CR_SVM_DIS_MASK)
			chg &= ~(SVM_VM_CR_SVM_LOCK_MASK | SVM_VM_CR_SVM_DIS_MASK);
		n->vm_cr = (n->vm_cr & ~chg) | (data & chg);
		if ((n->vm_cr & SVM_VM_CR_SVM_DIS_MASK) && n->svme)
			return 1;
		return 0;
	default:
		return KVMD_MSR_UNKNOWN;
	}
}

static struct kvm_cpuid_entry2 *nested_find(struct kvm_cpuid_entry2 *ents,
					    int n, u32 function)
{
	int i;

	for (i = 0; i < n; i++)
		if (ents[i].function == function)
			return &ents[i];
	return NULL;
}

/*
 * KVM_GET_SUPPORTED_CPUID: SVM for the guest (as kvm_amd with nested=1),
 * leaf 0x8000000A with revision 1, 8 ASIDs and only what we virtualise.
 */
int nested_svm_cpuid(struct kvm_cpuid_entry2 *ents, int n, int max)
{
	struct kvm_cpuid_entry2 *e = nested_find(ents, n, 0x80000001);

	if (!e)
		return n;
	e->ecx |= 1U << 2;
	e = nested_find(ents, n, 0x80000000);
	if (e && e->eax < 0x8000000a)
		e->eax = 0x8000000a;
	/* The leaf is listed zeroed without nested SVM (as KVM): fill it. */
	e = nested_find(ents, n, 0x8000000a);
	if (!e) {
		if (n >= max)
			return -E2BIG;
		e = &ents[n++];
	}
	memset(e, 0, sizeof(*e));
	e->function = 0x8000000a;
	e->eax = 1;
	e->ebx = 8;
	/*
	 * SVME_ADDR_CHK: MSR_VM_HSAVE_PA takes page addresses only (msr.c).
	 * VGIF: the CPU's own, for L2 (nested_prepare_control), as KVM has it.
	 */
	e->edx = NESTED_SVM_NP | NESTED_SVM_VMCBCLEAN | NESTED_SVM_ADDR_CHK |
		 (svm_has_nrips ? NESTED_SVM_NRIPS : 0) |
		 (svm_has_vgif ? NESTED_SVM_VGIF : 0);
	return n;
}

/* ---- KVM_GET/SET_NESTED_STATE ---- */

/* What KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE) says: the largest state. */
int nested_svm_state_size(void)
{
	return sizeof(struct kvm_nested_state) + NESTED_VMCB_SIZE;
}

int nested_svm_get_state(struct kvmd_vcpu *vcpu,
			 struct kvm_nested_state __user *ustate)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb __user *uvmcb = (struct vmcb __user *)&ustate->data.svm[0];
	struct kvm_nested_state st = {
		.format = KVM_STATE_NESTED_FORMAT_SVM,
		.size = sizeof(st),
	};
	u32 user_size;
	u32 int_ctl;

	if (get_user(user_size, &ustate->size))
		return -EFAULT;
	if (n->guest_mode) {
		st.hdr.svm.vmcb_pa = n->vmcb12_pa;
		st.size += NESTED_VMCB_SIZE;
		st.flags |= KVM_STATE_NESTED_GUEST_MODE;
		if (n->run_pending)
			st.flags |= KVM_STATE_NESTED_RUN_PENDING;
	}
	if (n->gif)
		st.flags |= KVM_STATE_NESTED_GIF_SET;
	/* As KVM: too small a buffer learns the size, with E2BIG. */
	if (user_size < st.size)
		return put_user(st.size, &ustate->size) ? -EFAULT : -E2BIG;
	if (copy_to_user(ustate, &st, sizeof(st)))
		return -EFAULT;
	if (!n->guest_mode)
		return 0;
	/* VMCB12's controls with what L2 has changed in int_ctl so far, as KVM. */
	int_ctl = nested_int_ctl12(vcpu);
	if (clear_user(uvmcb, NESTED_VMCB_SIZE) ||
	    copy_to_user(&uvmcb->control, &n->ctl, sizeof(n->ctl)) ||
	    put_user(int_ctl, &uvmcb->control.int_ctl) ||
	    copy_to_user(&uvmcb->save, &svm->vmcb01->save, sizeof(uvmcb->save)))
		return -EFAULT;
	return 0;
}

int nested_svm_set_state(struct kvmd_vcpu *vcpu,
			 struct kvm_nested_state __user *ustate)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb __user *uvmcb = (struct vmcb __user *)&ustate->data.svm[0];
	struct kvm_nested_state st;
	struct vmcb *v;
	struct vmcb_save_area *s;
	u64 cr0;

	if (copy_from_user(&st, ustate, sizeof(st)))
		return -EFAULT;
	if (st.size < sizeof(st))
		return -EINVAL;
	if ((st.flags & KVM_STATE_NESTED_RUN_PENDING) &&
	    !(st.flags & KVM_STATE_NESTED_GUEST_MODE))
		return -EINVAL;
	if (st.format != KVM_STATE_NESTED_FORMAT_SVM)
		return -EINVAL;
	if (st.flags & ~(KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_RUN_PENDING |
			 KVM_STATE_NESTED_GIF_SET))
		return -EINVAL;
	/* Without EFER.SVME: GIF set and no L2, nothing else. */
	if (!n->svme && st.flags != KVM_STATE_NESTED_GIF_SET)
		return -EINVAL;
	if (!(st.flags & KVM_STATE_NESTED_GUEST_MODE)) {
		nested_svm_leave(vcpu);
		n->gif = st.flags & KVM_STATE_NESTED_GIF_SET;
		return 0;
	}
	if ((st.hdr.svm.vmcb_pa & ~PAGE_MASK) ||
	    !nested_legal_gpa(vcpu, st.hdr.svm.vmcb_pa))
		return -EINVAL;
	if (st.size < sizeof(st) + NESTED_VMCB_SIZE)
		return -EINVAL;
	if (nested_alloc(svm))
		return -ENOMEM;
	/* The scratch page takes the user's VMCB12 control and L1's save area. */
	v = n->vmcb12;
	s = &v->save;
	if (copy_from_user(&v->control, &uvmcb->control, sizeof(v->control)) ||
	    copy_from_user(s, &uvmcb->save, sizeof(*s)))
		return -EFAULT;
	if (!nested_check_controls(vcpu, &v->control, s->efer))
		return -EINVAL;
	/* The vCPU's registers are L2's. */
	cr0 = kvmd_ops->get_cr(vcpu, 0);
	if (!(cr0 & X86_CR0_CD) && (cr0 & X86_CR0_NW))
		return -EINVAL;
	/* L1's, from before its VMRUN. */
	if (!(s->cr0 & X86_CR0_PG) || !(s->cr0 & X86_CR0_PE) ||
	    (s->rflags & X86_EFLAGS_VM) || !nested_check_save(vcpu, s))
		return -EINVAL;

	if (n->guest_mode)
		nested_svm_leave(vcpu);
	else
		n->vmcb02->save = svm->vmcb01->save;
	n->gif = st.flags & KVM_STATE_NESTED_GIF_SET;
	n->vmcb12_pa = st.hdr.svm.vmcb_pa;
	n->ctl = v->control;

	svm->vmcb01->save.es = s->es;
	svm->vmcb01->save.cs = s->cs;
	svm->vmcb01->save.ss = s->ss;
	svm->vmcb01->save.ds = s->ds;
	svm->vmcb01->save.gdtr = s->gdtr;
	svm->vmcb01->save.idtr = s->idtr;
	svm->vmcb01->save.rflags = s->rflags | X86_EFLAGS_FIXED;
	svm->vmcb01->save.efer = s->efer | EFER_SVME;
	svm->vmcb01->save.cr0 = s->cr0;
	svm->vmcb01->save.cr3 = s->cr3;
	svm->vmcb01->save.cr4 = s->cr4;
	svm->vmcb01->save.rax = s->rax;
	svm->vmcb01->save.rsp = s->rsp;
	svm->vmcb01->save.rip = s->rip;
	svm->vmcb01->save.cpl = 0;

	nested_npt_reset(vcpu);
	nested_prepare_control(vcpu);
	nested_switch_vmcb(svm, n->vmcb02, n->vmcb02_pa);
	n->guest_mode = true;
	n->run_pending = st.flags & KVM_STATE_NESTED_RUN_PENDING;
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	return 0;
}

/* ---- an SMI in L2: KVM's svm_enter_smm() and svm_leave_smm() ---- */

/* SMRAM state save map fields of AMD's layout (offsets from SMBASE + 0xFE00). */
#define NESTED_SMM_SVM_GUEST	0xd8	/* FED8h: the SMI came in a guest */
#define NESTED_SMM_VMCB12	0xe0	/* FEE0h: that guest's VMCB */
#define NESTED_SMM_EFER		0xd0	/* FED0h */
/* L1's VMRUN state waits in the host save area as a VMCB's save area. */
#define NESTED_HSAVE_SAVE	0x400

/* What VMRUN switches and SMM would clobber in vmcb01: KVM's svm_copy_vmrun_state(). */
static void nested_copy_vmrun_state(struct vmcb_save_area *to,
				    const struct vmcb_save_area *from)
{
	to->es = from->es;
	to->cs = from->cs;
	to->ss = from->ss;
	to->ds = from->ds;
	to->gdtr = from->gdtr;
	to->idtr = from->idtr;
	to->rflags = from->rflags | X86_EFLAGS_FIXED;
	to->efer = from->efer;
	to->cr0 = from->cr0;
	to->cr3 = from->cr3;
	to->cr4 = from->cr4;
	to->rax = from->rax;
	to->rsp = from->rsp;
	to->rip = from->rip;
	to->cpl = 0;
}

/*
 * After the map took L2's state (@smstate: its 512 bytes): note L2 in it,
 * go back to L1 with SVM_EXIT_SW as KVM does (VMCB12 gets L2's state; L1
 * never runs to see it), and keep vmcb01's VMRUN state, which SMM will
 * use, in L1's host save area (if it is memory: else, as KVM, lost).
 */
void nested_svm_enter_smm(struct kvmd_vcpu *vcpu, u8 *smstate)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb_save_area *hs;
	u64 one = 1, hsave = n->hsave_pa + NESTED_HSAVE_SAVE;

	if (!n->guest_mode)
		return;
	hs = &n->vmcb12->save;	/* free again after the #VMEXIT */
	memcpy(smstate + NESTED_SMM_SVM_GUEST, &one, sizeof(one));
	memcpy(smstate + NESTED_SMM_VMCB12, &n->vmcb12_pa, sizeof(u64));

	nested_synth_vmexit(vcpu, SVM_EXIT_SW, 0, 0);

	/* The rest of the host save area is L1's: only these fields change. */
	if (kvmd_read_guest(vcpu->vm, hsave, hs, sizeof(*hs)))
		return;
	nested_copy_vmrun_state(hs, &svm->vmcb01->save);
	kvmd_write_guest(vcpu->vm, hsave, hs, sizeof(*hs));
}

/*
 * RSM of an SMI taken in L2 (real mode by now, before the map is loaded):
 * L1's state back from the host save area, then L2 entered again from
 * VMCB12; the map then loads L2's registers. Nonzero: shutdown.
 */
int nested_svm_leave_smm(struct kvmd_vcpu *vcpu, const u8 *smstate)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct vmcb_save_area *s01 = &svm->vmcb01->save;
	u64 guest, efer, pa;

	memcpy(&guest, smstate + NESTED_SMM_SVM_GUEST, sizeof(guest));
	if (!guest)
		return 0;
	if (!kvmd_guest_has(vcpu, 0x80000001, 2, 2))	/* ECX.SVM */
		return 1;
	memcpy(&efer, smstate + NESTED_SMM_EFER, sizeof(efer));
	if (!(efer & EFER_SVME))
		return 1;
	memcpy(&pa, smstate + NESTED_SMM_VMCB12, sizeof(pa));
	pa &= PAGE_MASK;
	if (nested_alloc(svm))
		return 1;
	if (!nested_legal_gpa(vcpu, pa) ||
	    kvmd_read_guest(vcpu->vm, n->hsave_pa + NESTED_HSAVE_SAVE,
			    &n->vmcb12->save, sizeof(n->vmcb12->save)))
		return 1;
	nested_copy_vmrun_state(s01, &n->vmcb12->save);
	s01->efer |= EFER_SVME;		/* the hardware's, as svm_set_efer */

	if (kvmd_read_guest(vcpu->vm, pa, n->vmcb12, PAGE_SIZE) ||
	    !nested_check_controls(vcpu, &n->vmcb12->control, s01->efer))
		return 1;
	/* nested_enter() keeps L1's registers from the vCPU's. */
	vcpu->rip = s01->rip;
	vcpu->regs[R_SP] = s01->rsp;
	vcpu->regs[R_AX] = s01->rax;
	vcpu->rflags = s01->rflags;
	nested_enter(vcpu, pa, n->vmcb12);
	return 0;
}
