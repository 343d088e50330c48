// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/svm.c: the AMD SVM backend: per-CPU enable, VMCB, ASIDs, events, exit handlers. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <asm/debugreg.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/svm.h>
#include <uapi/asm/svm.h>

#include "kvmdrv.h"
#include "svm.h"

#define NPT_P		(1ULL << 0)
#define NPT_RW		(1ULL << 1)
#define NPT_US		(1ULL << 2)
#define NPT_A		(1ULL << 5)
#define NPT_D		(1ULL << 6)
#define NPT_PS		(1ULL << 7)

#define IOPM_ORDER	2	/* 12 KiB used */
#define MSRPM_ORDER	1	/* 8 KiB */

struct svm_cpu {
	struct page *hsave;
	struct page *host_save;		/* VMSAVE area of the host */
	u32 asid_gen;
	u32 next_asid;
	bool enabled;
};

static int trace_exits;
module_param(trace_exits, int, 0644);
MODULE_PARM_DESC(trace_exits, "log this many guest exits to the kernel log (debugging)");

static DEFINE_PER_CPU(struct svm_cpu, svm_cpus);
static struct page *svm_iopm, *svm_msrpm;
static u32 svm_max_asid;
bool svm_has_nrips;
bool svm_has_vgif;
static bool svm_flush_by_asid;

void kvmd_svm_vmrun(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa);

/* ---- module and per-CPU setup ---- */

static void svm_check_busy(void *failed)
{
	u64 efer;

	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		atomic_inc(failed);
}

static void svm_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpus, cpu);

		if (sd->hsave)
			__free_page(sd->hsave);
		if (sd->host_save)
			__free_page(sd->host_save);
		sd->hsave = sd->host_save = NULL;
	}
	if (svm_iopm)
		__free_pages(svm_iopm, IOPM_ORDER);
	if (svm_msrpm)
		__free_pages(svm_msrpm, MSRPM_ORDER);
	svm_iopm = svm_msrpm = NULL;
}

static int svm_hardware_setup(void)
{
	atomic_t busy = ATOMIC_INIT(0);
	u32 eax, ebx, ecx, edx;
	u64 vm_cr;
	int cpu;

	if (!(cpuid_ecx(0x80000001) & (1 << 2))) {
		pr_err("this CPU has no AMD SVM\n");
		return -ENODEV;
	}
	rdmsrl(MSR_VM_CR, vm_cr);
	if (vm_cr & SVM_VM_CR_SVM_DIS_MASK) {
		pr_err("SVM is disabled by the firmware\n");
		return -ENODEV;
	}
	cpuid(0x8000000a, &eax, &ebx, &ecx, &edx);
	if (!(edx & 1)) {
		pr_err("this CPU has SVM but no nested paging (NPT)\n");
		return -ENODEV;
	}
	svm_max_asid = ebx - 1;
	if (svm_max_asid < 1) {
		pr_err("this CPU reports no usable ASID\n");
		return -ENODEV;
	}
	svm_has_nrips = edx & (1 << 3);
	svm_has_vgif = edx & (1 << 16);
	svm_flush_by_asid = edx & (1 << 6);

	on_each_cpu(svm_check_busy, &busy, 1);
	if (atomic_read(&busy)) {
		pr_err("SVM is in use by another hypervisor (EFER.SVME is set)\n");
		return -EBUSY;
	}

	for_each_possible_cpu(cpu) {
		struct svm_cpu *sd = per_cpu_ptr(&svm_cpus, cpu);

		sd->hsave = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		sd->host_save = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!sd->hsave || !sd->host_save)
			goto nomem;
	}
	/* Every port and every MSR is intercepted: the permission maps are all ones. */
	svm_iopm = alloc_pages(GFP_KERNEL, IOPM_ORDER);
	svm_msrpm = alloc_pages(GFP_KERNEL, MSRPM_ORDER);
	if (!svm_iopm || !svm_msrpm)
		goto nomem;
	memset(page_address(svm_iopm), 0xff, PAGE_SIZE << IOPM_ORDER);
	memset(page_address(svm_msrpm), 0xff, PAGE_SIZE << MSRPM_ORDER);
	return 0;
nomem:
	svm_hardware_unsetup();
	return -ENOMEM;
}

static int svm_hardware_enable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);
	u64 efer;

	if (sd->enabled)
		return 0;
	rdmsrl(MSR_EFER, efer);
	if (efer & EFER_SVME)
		return -EBUSY;
	wrmsrl(MSR_EFER, efer | EFER_SVME);
	wrmsrl(MSR_VM_HSAVE_PA, page_to_phys(sd->hsave));
	/* New generation: the first ASID handed out flushes the whole TLB. */
	sd->asid_gen++;
	sd->next_asid = svm_max_asid + 1;
	sd->enabled = true;
	return 0;
}

static void svm_hardware_disable(void)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);
	u64 efer;

	if (!sd->enabled)
		return;
	wrmsrl(MSR_VM_HSAVE_PA, 0);
	rdmsrl(MSR_EFER, efer);
	wrmsrl(MSR_EFER, efer & ~EFER_SVME);
	sd->enabled = false;
}

/* NPT walks with the host's paging mode: five levels under LA57. */
static int svm_tdp_levels(void)
{
	return (__read_cr4() & X86_CR4_LA57) ? 5 : 4;
}

static u64 svm_tdp_pte(u64 pfn, bool writable, bool large)
{
	return (pfn << PAGE_SHIFT) | NPT_P | NPT_US | NPT_A |
	       (writable ? NPT_RW | NPT_D : 0) | (large ? NPT_PS : 0);
}

static u64 svm_tdp_table_pte(u64 pfn)
{
	return svm_tdp_pte(pfn, true, false);
}

/* ---- vCPU ---- */

static void svm_init_seg(struct vmcb_seg *s, u16 attrib)
{
	s->selector = 0;
	s->attrib = attrib;
	s->limit = 0xffff;
	s->base = 0;
}

static void svm_vcpu_reset(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = to_svm(vcpu)->vmcb01;
	struct vmcb_control_area *c = &vmcb->control;
	struct vmcb_save_area *s = &vmcb->save;
	int i;

	/* INIT or reset leaves a guest hypervisor's guest, GIF set. */
	nested_svm_leave(vcpu);
	to_svm(vcpu)->nested.gif = true;
	to_svm(vcpu)->nested.svme = false;
	memset(vmcb, 0, sizeof(*vmcb));
	/* Every DR access (debug.c keeps the guest's DRs), every #DB. */
	for (i = INTERCEPT_DR0_READ; i <= INTERCEPT_DR7_READ; i++)
		set_icpt(vmcb, i);
	for (i = INTERCEPT_DR0_WRITE; i <= INTERCEPT_DR7_WRITE; i++)
		set_icpt(vmcb, i);
	set_icpt(vmcb, INTERCEPT_EXCEPTION_OFFSET + 1);
	/* As KVM: every CR4 write, and CR0 writes beyond TS and MP (cr.c checks them). */
	set_icpt(vmcb, INTERCEPT_CR4_WRITE);
	set_icpt(vmcb, INTERCEPT_SELECTIVE_CR0);
	set_icpt(vmcb, INTERCEPT_CR8_WRITE);
	set_icpt(vmcb, INTERCEPT_INTR);
	set_icpt(vmcb, INTERCEPT_NMI);
	set_icpt(vmcb, INTERCEPT_SMI);
	set_icpt(vmcb, INTERCEPT_CPUID);
	set_icpt(vmcb, INTERCEPT_RSM);
	set_icpt(vmcb, INTERCEPT_INVD);
	set_icpt(vmcb, INTERCEPT_HLT);
	set_icpt(vmcb, INTERCEPT_INVLPGA);
	set_icpt(vmcb, INTERCEPT_IOIO_PROT);
	set_icpt(vmcb, INTERCEPT_MSR_PROT);
	set_icpt(vmcb, INTERCEPT_TASK_SWITCH);
	set_icpt(vmcb, INTERCEPT_SHUTDOWN);
	set_icpt(vmcb, INTERCEPT_VMRUN);
	set_icpt(vmcb, INTERCEPT_VMMCALL);
	set_icpt(vmcb, INTERCEPT_VMLOAD);
	set_icpt(vmcb, INTERCEPT_VMSAVE);
	set_icpt(vmcb, INTERCEPT_STGI);
	set_icpt(vmcb, INTERCEPT_CLGI);
	set_icpt(vmcb, INTERCEPT_SKINIT);
	set_icpt(vmcb, INTERCEPT_RDTSCP);
	set_icpt(vmcb, INTERCEPT_INVPCID);
	set_icpt(vmcb, INTERCEPT_WBINVD);
	set_icpt(vmcb, INTERCEPT_MONITOR);
	set_icpt(vmcb, INTERCEPT_MWAIT);
	set_icpt(vmcb, INTERCEPT_XSETBV);
	set_icpt(vmcb, INTERCEPT_RDPRU);
	/* #UD: the other vendor's hypercall is patched (pv.c), as KVM. */
	set_icpt(vmcb, INTERCEPT_EXCEPTION_OFFSET + 6);

	c->iopm_base_pa = page_to_phys(svm_iopm);
	c->msrpm_base_pa = page_to_phys(svm_msrpm);
	c->int_ctl = V_INTR_MASKING_MASK;
	c->nested_ctl = SVM_NESTED_CTL_NP_ENABLE;
	c->nested_cr3 = kvmd_tdp_root_pa(vcpu->vm);
	c->tsc_offset = vcpu->tsc_offset;
	c->tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;

	/*
	 * The architectural reset state, with KVM's attributes: no accessed
	 * bits in the VMCB (KVM_GET_SREGS adds DS-GS's, as KVM does).
	 */
	svm_init_seg(&s->es, SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK |
		     SVM_SELECTOR_WRITE_MASK);
	s->cs = s->es;
	s->cs.attrib = SVM_SELECTOR_P_MASK | SVM_SELECTOR_S_MASK |
		       SVM_SELECTOR_CODE_MASK | SVM_SELECTOR_READ_MASK;
	s->cs.selector = 0xf000;
	s->cs.base = 0xffff0000;
	s->ss = s->ds = s->fs = s->gs = s->es;
	svm_init_seg(&s->ldtr, SVM_SELECTOR_P_MASK | 2);
	svm_init_seg(&s->tr, SVM_SELECTOR_P_MASK | 3);
	s->gdtr.limit = 0xffff;
	s->idtr.limit = 0xffff;
	s->efer = EFER_SVME;
	s->cr0 = X86_CR0_NW | X86_CR0_CD | X86_CR0_ET;
	s->dr6 = 0xffff0ff0ULL;
	s->dr7 = 0x400ULL;
	s->g_pat = 0x0007040600070406ULL;
	s->rflags = X86_EFLAGS_FIXED;
	s->rip = 0xfff0;

	to_svm(vcpu)->asid_gen = 0;	/* take a fresh ASID on the next entry */
}

static int svm_vcpu_create(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm;
	struct page *page;

	svm = kzalloc(sizeof(*svm), GFP_KERNEL_ACCOUNT);
	if (!svm)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(svm);
		return -ENOMEM;
	}
	svm->vmcb = page_address(page);
	svm->vmcb_pa = page_to_phys(page);
	svm->vmcb01 = svm->vmcb;
	svm->vmcb01_pa = svm->vmcb_pa;
	svm->nested.gif = true;
	svm->asid_cpu = -1;
	svm->host_saved_cpu = -1;
	vcpu->priv = svm;
	return 0;
}

static void svm_vcpu_free(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (!svm)
		return;
	nested_svm_free(vcpu);
	free_page((unsigned long)svm->vmcb);
	kfree(svm);
	vcpu->priv = NULL;
}

/* A fresh ASID whenever the vCPU moved or the CPU's generation rolled. */
static void svm_pick_asid(struct kvmd_vcpu *vcpu, struct svm_cpu *sd, int cpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	if (svm->asid_cpu == cpu && svm->asid_gen == sd->asid_gen)
		return;
	if (sd->next_asid > svm_max_asid) {
		sd->asid_gen++;
		sd->next_asid = 1;
		svm->vmcb->control.tlb_ctl = TLB_CONTROL_FLUSH_ALL_ASID;
	}
	svm->vmcb->control.asid = sd->next_asid++;
	svm->asid_gen = sd->asid_gen;
	svm->asid_cpu = cpu;
}

static __kvmd_hot void svm_prepare_run(struct kvmd_vcpu *vcpu)
{
	to_svm(vcpu)->host_saved_cpu = -1;
}

/* VMSAVE the host state into this CPU's save area, unless it is there. */
static void svm_save_host(struct svm_vcpu *svm, struct svm_cpu *sd, int cpu)
{
	unsigned long switches = current->nvcsw + current->nivcsw;

	if (svm->host_saved_cpu == cpu && svm->host_saved_switches == switches)
		return;
	asm volatile("vmsave %%rax" : : "a" (page_to_phys(sd->host_save)) : "memory");
	svm->host_saved_cpu = cpu;
	svm->host_saved_switches = switches;
}

static __kvmd_hot void svm_run(struct kvmd_vcpu *vcpu)
{
	struct svm_cpu *sd = this_cpu_ptr(&svm_cpus);
	struct svm_vcpu *svm = to_svm(vcpu);
	struct vmcb *vmcb = svm->vmcb;
	bool debug_step = vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP;

	if (!sd->enabled && svm_hardware_enable()) {
		/* Someone else took SVM on this CPU: report an entry failure. */
		vmcb->control.exit_code = SVM_EXIT_ERR;
		vmcb->control.exit_code_hi = ~0U;
		return;
	}
	svm_pick_asid(vcpu, sd, smp_processor_id());
	svm_save_host(svm, sd, smp_processor_id());

	vmcb->save.rax = vcpu->regs[R_AX];
	vmcb->save.rsp = vcpu->regs[R_SP];
	vmcb->save.rip = vcpu->rip;
	svm->entry_rip = vcpu->rip;
	svm->entry_if = vcpu->rflags & X86_EFLAGS_IF;
	vmcb->save.rflags = vcpu->rflags | (debug_step ? X86_EFLAGS_TF : 0);
	vmcb->control.clean = 0;
	/* No cause bits in DR6, so a #DB exit shows exactly its own; unless the guest owns DR6. */
	vmcb->save.dr6 = vcpu->dr_passthrough ? vcpu->dr6 : DR6_RESERVED;

	/*
	 * #VMEXIT leaves DR7 with every breakpoint disabled: the host's come
	 * back in kvmd_debug_load_host(); kvmd_debug_load_guest() cleared DR7.
	 */
	asm volatile("clgi" ::: "memory");
	kvmd_svm_vmrun(svm->vmcb_pa, vcpu->regs, page_to_phys(sd->host_save));
	asm volatile("stgi" ::: "memory");

	vcpu->regs[R_AX] = vmcb->save.rax;
	vcpu->regs[R_SP] = vmcb->save.rsp;
	vcpu->rip = vmcb->save.rip;
	vcpu->rflags = vmcb->save.rflags;
	if (debug_step)
		vcpu->rflags &= ~X86_EFLAGS_TF;
	vmcb->control.tlb_ctl = TLB_CONTROL_DO_NOTHING;
}

/* ---- state accessors ---- */

static const size_t svm_seg_offset[KVMD_NR_SEGS] = {
	[KVMD_SEG_ES] = offsetof(struct vmcb_save_area, es),
	[KVMD_SEG_CS] = offsetof(struct vmcb_save_area, cs),
	[KVMD_SEG_SS] = offsetof(struct vmcb_save_area, ss),
	[KVMD_SEG_DS] = offsetof(struct vmcb_save_area, ds),
	[KVMD_SEG_FS] = offsetof(struct vmcb_save_area, fs),
	[KVMD_SEG_GS] = offsetof(struct vmcb_save_area, gs),
	[KVMD_SEG_TR] = offsetof(struct vmcb_save_area, tr),
	[KVMD_SEG_LDTR] = offsetof(struct vmcb_save_area, ldtr),
};

static struct vmcb_seg *svm_seg(struct kvmd_vcpu *vcpu, enum kvmd_seg seg)
{
	return (void *)&svm_vmcb(vcpu)->save + svm_seg_offset[seg];
}

static __kvmd_hot void svm_get_segment(struct kvmd_vcpu *vcpu, struct kvm_segment *var,
			    enum kvmd_seg seg)
{
	struct vmcb_seg *s = svm_seg(vcpu, seg);
	u16 a = s->attrib;

	memset(var, 0, sizeof(*var));
	var->base = s->base;
	var->limit = s->limit;
	var->selector = s->selector;
	var->type = a & SVM_SELECTOR_TYPE_MASK;
	var->s = (a >> SVM_SELECTOR_S_SHIFT) & 1;
	var->dpl = (a >> SVM_SELECTOR_DPL_SHIFT) & 3;
	var->present = (a >> SVM_SELECTOR_P_SHIFT) & 1;
	var->avl = (a >> SVM_SELECTOR_AVL_SHIFT) & 1;
	var->l = (a >> SVM_SELECTOR_L_SHIFT) & 1;
	var->db = (a >> SVM_SELECTOR_DB_SHIFT) & 1;
	var->g = (a >> SVM_SELECTOR_G_SHIFT) & 1;
	var->unusable = !var->present;

	/* What the hardware does not track, reported the way KVM does. */
	switch (seg) {
	case KVMD_SEG_CS:
		var->g = s->limit > 0xfffff;
		break;
	case KVMD_SEG_TR:
		var->type |= 0x2;
		break;
	case KVMD_SEG_DS:
	case KVMD_SEG_ES:
	case KVMD_SEG_FS:
	case KVMD_SEG_GS:
		if (!var->unusable)
			var->type |= 0x1;
		break;
	case KVMD_SEG_SS:
		if (var->unusable)
			var->db = 0;
		var->dpl = svm_vmcb(vcpu)->save.cpl;
		break;
	default:
		break;
	}
}

static void svm_set_segment(struct kvmd_vcpu *vcpu, const struct kvm_segment *var,
			    enum kvmd_seg seg)
{
	struct vmcb_seg *s = svm_seg(vcpu, seg);

	s->base = var->base;
	s->limit = var->limit;
	s->selector = var->selector;
	s->attrib = 0;
	if (!var->unusable)
		s->attrib = (var->type & SVM_SELECTOR_TYPE_MASK) |
			    (var->s & 1) << SVM_SELECTOR_S_SHIFT |
			    (var->dpl & 3) << SVM_SELECTOR_DPL_SHIFT |
			    (var->present & 1) << SVM_SELECTOR_P_SHIFT |
			    (var->avl & 1) << SVM_SELECTOR_AVL_SHIFT |
			    (var->l & 1) << SVM_SELECTOR_L_SHIFT |
			    (var->db & 1) << SVM_SELECTOR_DB_SHIFT |
			    (var->g & 1) << SVM_SELECTOR_G_SHIFT;
	if (seg == KVMD_SEG_SS)
		svm_vmcb(vcpu)->save.cpl = var->dpl & 3;
}

static void svm_get_dtable(struct kvmd_vcpu *vcpu, struct kvm_dtable *d, bool idt)
{
	struct vmcb_seg *s = idt ? &svm_vmcb(vcpu)->save.idtr : &svm_vmcb(vcpu)->save.gdtr;

	d->base = s->base;
	d->limit = s->limit;
	memset(d->padding, 0, sizeof(d->padding));
}

static void svm_set_dtable(struct kvmd_vcpu *vcpu, const struct kvm_dtable *d, bool idt)
{
	struct vmcb_seg *s = idt ? &svm_vmcb(vcpu)->save.idtr : &svm_vmcb(vcpu)->save.gdtr;

	s->base = d->base;
	s->limit = d->limit;
}

static int svm_get_cpl(struct kvmd_vcpu *vcpu)
{
	return svm_vmcb(vcpu)->save.cpl;
}

static __kvmd_hot u64 svm_get_cr(struct kvmd_vcpu *vcpu, int cr)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	switch (cr) {
	case 0:
		return vmcb->save.cr0;
	case 2:
		return vmcb->save.cr2;
	case 3:
		return vmcb->save.cr3;
	case 4:
		return vmcb->save.cr4;
	case 8:
		return svm_tpr_vmcb(vcpu)->control.int_ctl & V_TPR_MASK;
	default:
		return 0;
	}
}

static __kvmd_hot u64 svm_get_efer(struct kvmd_vcpu *vcpu)
{
	return (svm_vmcb(vcpu)->save.efer & ~(u64)EFER_SVME) |
	       (to_svm(vcpu)->nested.svme ? EFER_SVME : 0);
}

static void svm_set_cr0(struct kvmd_vcpu *vcpu, u64 v)
{
	svm_vmcb(vcpu)->save.cr0 = v;
}

static void svm_set_cr2(struct kvmd_vcpu *vcpu, u64 v)
{
	svm_vmcb(vcpu)->save.cr2 = v;
}

static void svm_set_cr3(struct kvmd_vcpu *vcpu, u64 v)
{
	svm_vmcb(vcpu)->save.cr3 = v;
}

static void svm_set_cr4(struct kvmd_vcpu *vcpu, u64 v)
{
	svm_vmcb(vcpu)->save.cr4 = v;
}

static __kvmd_hot void svm_set_cr8(struct kvmd_vcpu *vcpu, u64 v)
{
	struct vmcb *vmcb = svm_tpr_vmcb(vcpu);

	vmcb->control.int_ctl = (vmcb->control.int_ctl & ~V_TPR_MASK) | (v & V_TPR_MASK);
}

static void svm_set_efer(struct kvmd_vcpu *vcpu, u64 efer)
{
	/*
	 * The hardware insists on SVME in the guest's EFER; the guest sees its
	 * own bit, which enables the emulated SVM instructions (nested_svm.c).
	 */
	nested_svm_set_efer(vcpu, efer);
	svm_vmcb(vcpu)->save.efer = efer | EFER_SVME;
}

static u64 svm_get_dr6(struct kvmd_vcpu *vcpu)
{
	return svm_vmcb(vcpu)->save.dr6;
}

static u64 svm_get_dr7(struct kvmd_vcpu *vcpu)
{
	return svm_vmcb(vcpu)->save.dr7;
}

static void svm_set_dr7(struct kvmd_vcpu *vcpu, u64 v)
{
	svm_vmcb(vcpu)->save.dr7 = v;
}

static int svm_get_msr(struct kvmd_vcpu *vcpu, u32 index, u64 *data)
{
	struct vmcb_save_area *s = &svm_vmcb(vcpu)->save;

	switch (index) {
	case MSR_STAR:
		*data = s->star;
		break;
	case MSR_LSTAR:
		*data = s->lstar;
		break;
	case MSR_CSTAR:
		*data = s->cstar;
		break;
	case MSR_SYSCALL_MASK:
		*data = s->sfmask;
		break;
	case MSR_KERNEL_GS_BASE:
		*data = s->kernel_gs_base;
		break;
	case MSR_FS_BASE:
		*data = s->fs.base;
		break;
	case MSR_GS_BASE:
		*data = s->gs.base;
		break;
	case MSR_IA32_SYSENTER_CS:
		*data = s->sysenter_cs;
		break;
	case MSR_IA32_SYSENTER_ESP:
		*data = s->sysenter_esp;
		break;
	case MSR_IA32_SYSENTER_EIP:
		*data = s->sysenter_eip;
		break;
	case MSR_IA32_CR_PAT:
		*data = s->g_pat;
		break;
	default:
		return nested_svm_get_msr(vcpu, index, data);
	}
	return 0;
}

static int svm_set_msr(struct kvmd_vcpu *vcpu, u32 index, u64 data)
{
	struct vmcb_save_area *s = &svm_vmcb(vcpu)->save;

	switch (index) {
	case MSR_STAR:
		s->star = data;
		break;
	case MSR_LSTAR:
		s->lstar = data;
		break;
	case MSR_CSTAR:
		s->cstar = data;
		break;
	case MSR_SYSCALL_MASK:
		s->sfmask = data;
		break;
	case MSR_KERNEL_GS_BASE:
		s->kernel_gs_base = data;
		break;
	case MSR_FS_BASE:
		s->fs.base = data;
		break;
	case MSR_GS_BASE:
		s->gs.base = data;
		break;
	case MSR_IA32_SYSENTER_CS:
		s->sysenter_cs = data;
		break;
	case MSR_IA32_SYSENTER_ESP:
		s->sysenter_esp = data;
		break;
	case MSR_IA32_SYSENTER_EIP:
		s->sysenter_eip = data;
		break;
	case MSR_IA32_CR_PAT:
		s->g_pat = data;
		break;
	default:
		return nested_svm_set_msr(vcpu, index, data);
	}
	return 0;
}

/* ---- events ---- */

static __kvmd_hot u32 svm_get_interrupt_shadow(struct kvmd_vcpu *vcpu)
{
	return (svm_vmcb(vcpu)->control.int_state & SVM_INTERRUPT_SHADOW_MASK) ?
	       KVM_X86_SHADOW_INT_MOV_SS : 0;
}

static void svm_set_interrupt_shadow(struct kvmd_vcpu *vcpu, u32 shadow)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	if (shadow)
		vmcb->control.int_state |= SVM_INTERRUPT_SHADOW_MASK;
	else
		vmcb->control.int_state &= ~SVM_INTERRUPT_SHADOW_MASK;
}

static void svm_inject_irq(struct kvmd_vcpu *vcpu, u8 vector)
{
	svm_vmcb(vcpu)->control.event_inj = vector | SVM_EVTINJ_VALID |
					    SVM_EVTINJ_TYPE_INTR;
}

static void svm_inject_nmi(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	vmcb->control.event_inj = 2 | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_NMI;
	/* NMIs stay blocked until the guest's IRET. */
	set_icpt(vmcb, INTERCEPT_IRET);
}

static void svm_inject_exception(struct kvmd_vcpu *vcpu, u8 vector,
				 bool has_error, u32 error_code)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	vmcb->control.event_inj = vector | SVM_EVTINJ_VALID | SVM_EVTINJ_TYPE_EXEPT |
				  (has_error ? SVM_EVTINJ_VALID_ERR : 0);
	vmcb->control.event_inj_err = error_code;
	/* #BP and #OF are traps: the frame gets NextRIP, already past the INT3 here. */
	if (vector == 3 || vector == 4)
		vmcb->control.next_rip = vcpu->rip;
}

static void svm_enable_irq_window(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	/* L1's GIF clear or L2 masking its own: STGI or an L2 exit calls again. */
	if (nested_svm_events_blocked(vcpu))
		return;
	/* A virtual interrupt nobody takes: VINTR exits once the guest could. */
	vmcb->control.int_ctl |= V_IRQ_MASK | V_IGN_TPR_MASK |
				 (0xf << V_INTR_PRIO_SHIFT);
	vmcb->control.int_vector = 0;
	set_icpt(vmcb, INTERCEPT_VINTR);
}

static void svm_clear_irq_window(struct vmcb *vmcb)
{
	vmcb->control.int_ctl &= ~(V_IRQ_MASK | V_IGN_TPR_MASK | V_INTR_PRIO_MASK);
	clr_icpt(vmcb, INTERCEPT_VINTR);
}

static void svm_enable_nmi_window(struct kvmd_vcpu *vcpu)
{
	if (vcpu->nmi.masked)
		set_icpt(svm_vmcb(vcpu), INTERCEPT_IRET);
	else
		svm_enable_irq_window(vcpu);
}

static __kvmd_hot void svm_complete_events(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	u32 info = vmcb->control.exit_int_info;
	u8 vector = info & SVM_EXITINTINFO_VEC_MASK;

	vcpu->exception.injected = false;
	vcpu->nmi.injected = false;
	vcpu->interrupt.injected = false;
	vmcb->control.event_inj = 0;

	if (!(info & SVM_EXITINTINFO_VALID))
		return;
	/* Delivery was cut short by this exit: deliver it again. */
	switch (info & SVM_EXITINTINFO_TYPE_MASK) {
	case SVM_EXITINTINFO_TYPE_NMI:
		vcpu->nmi.injected = true;
		break;
	case SVM_EXITINTINFO_TYPE_EXEPT:
		/* INT3/INTO restart from their instruction. */
		if (vector == 3 || vector == 4)
			break;
		vcpu->exception.injected = true;
		vcpu->exception.nr = vector;
		vcpu->exception.has_error = info & SVM_EXITINTINFO_VALID_ERR;
		vcpu->exception.error = vmcb->control.exit_int_info_err;
		break;
	case SVM_EXITINTINFO_TYPE_INTR:
		vcpu->interrupt.injected = true;
		vcpu->interrupt.soft = false;
		vcpu->interrupt.nr = vector;
		break;
	default:
		/* INTn restarts from its instruction. */
		break;
	}
}

static void svm_update_debug(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	u32 dbg = vcpu->guest_debug;
	int i;

	/* MOV DR exits unless the guest owns the registers until the next exit. */
	for (i = 0; i < 8; i++) {
		if (vcpu->dr_passthrough) {
			clr_icpt(vmcb, INTERCEPT_DR0_READ + i);
			clr_icpt(vmcb, INTERCEPT_DR0_WRITE + i);
		} else {
			set_icpt(vmcb, INTERCEPT_DR0_READ + i);
			set_icpt(vmcb, INTERCEPT_DR0_WRITE + i);
		}
	}
	/* #DB stays intercepted: debug.c tells the debugger's from the guest's. */
	clr_icpt(vmcb, INTERCEPT_EXCEPTION_OFFSET + 3);
	if ((dbg & KVM_GUESTDBG_ENABLE) && (dbg & KVM_GUESTDBG_USE_SW_BP))
		set_icpt(vmcb, INTERCEPT_EXCEPTION_OFFSET + 3);
}

static void svm_flush_tlb(struct kvmd_vcpu *vcpu)
{
	svm_vmcb(vcpu)->control.tlb_ctl = svm_flush_by_asid ?
		TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL_ASID;
}

static void svm_set_tsc_offset(struct kvmd_vcpu *vcpu, u64 offset)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	/* L1's offset; L2 runs with L1's offset plus the one L1 gave it. */
	svm->vmcb01->control.tsc_offset = offset;
	if (svm->nested.guest_mode)
		svm->vmcb->control.tsc_offset = offset + svm->nested.ctl.tsc_offset;
}

static void svm_set_tdp_root(struct kvmd_vcpu *vcpu, u64 root_pa)
{
	svm_vmcb(vcpu)->control.nested_cr3 = root_pa;
}

/*
 * RSM, as KVM on AMD: a long-mode map whose "SVM guest" field (FED8h) is
 * set says the SMI came in a nested guest, entered again (nested_svm.c).
 */
static int svm_leave_smm(struct kvmd_vcpu *vcpu, const u8 *smstate)
{
	if (!kvmd_guest_has(vcpu, 0x80000001, 3, 29))
		return 0;
	return nested_svm_leave_smm(vcpu, smstate);
}

/* ---- exit handlers ---- */

static int svm_skip(struct kvmd_vcpu *vcpu, unsigned int len)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);

	if (svm_has_nrips && vmcb->control.next_rip) {
		vcpu->rip = vmcb->control.next_rip;
		kvmd_ops->set_interrupt_shadow(vcpu, 0);
	} else {
		kvmd_skip_insn(vcpu, len);
	}
	return KVMD_RESUME;
}

static int svm_exit_nothing(struct kvmd_vcpu *vcpu)
{
	/* Host interrupt, NMI or SMI: the host took it when GIF came back. */
	return KVMD_RESUME;
}

static int svm_exit_vintr(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);

	/*
	 * QEMU TCG takes the VINTR intercept at the boundary right after an
	 * STI and reports int_state 0: injected there, the interrupt comes
	 * before the STI;HLT idiom's HLT and the guest sleeps for good.
	 * One byte of progress that turned IF on was an STI (or a POPF, which
	 * this delays by one instruction): keep its shadow, so the HLT exits
	 * first and the interrupt is taken after it, as hardware does.
	 */
	if (!svm->entry_if && (vcpu->rflags & X86_EFLAGS_IF) &&
	    vcpu->rip == svm->entry_rip + 1)
		kvmd_ops->set_interrupt_shadow(vcpu, 1);
	svm_clear_irq_window(svm_vmcb(vcpu));
	nested_svm_restore_vintr(vcpu);
	return KVMD_RESUME;
}

static int svm_exit_cpuid(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_cpuid(vcpu);
}

static int svm_exit_hlt(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_hlt(vcpu);
}

static __kvmd_hot int svm_exit_ioio(struct kvmd_vcpu *vcpu)
{
	u64 info = svm_vmcb(vcpu)->control.exit_info_1;
	u8 size = (info & SVM_IOIO_SIZE_MASK) >> SVM_IOIO_SIZE_SHIFT;
	u8 asize = (info & SVM_IOIO_ASIZE_MASK) >> SVM_IOIO_ASIZE_SHIFT;
	static const u8 seg_map[8] = {
		KVMD_SEG_ES, KVMD_SEG_CS, KVMD_SEG_SS, KVMD_SEG_DS,
		KVMD_SEG_FS, KVMD_SEG_GS, KVMD_SEG_DS, KVMD_SEG_DS,
	};

	/* One-hot sizes: bit 0 byte, 1 word, 2 dword; same for address size. */
	size = size & 1 ? 1 : size & 2 ? 2 : 4;
	asize = asize & 1 ? 2 : asize & 2 ? 4 : 8;
	return kvmd_handle_io(vcpu, info >> 16, size,
			      info & SVM_IOIO_TYPE_MASK,
			      info & SVM_IOIO_STR_MASK,
			      info & SVM_IOIO_REP_MASK, asize,
			      seg_map[(info >> 10) & 7],
			      svm_vmcb(vcpu)->control.exit_info_2);
}

static int svm_exit_msr(struct kvmd_vcpu *vcpu)
{
	int r;
	u64 rip = vcpu->rip;

	if (svm_vmcb(vcpu)->control.exit_info_1)
		r = kvmd_handle_wrmsr(vcpu);
	else
		r = kvmd_handle_rdmsr(vcpu);
	if (svm_has_nrips && vcpu->rip != rip && svm_vmcb(vcpu)->control.next_rip)
		vcpu->rip = svm_vmcb(vcpu)->control.next_rip;
	return r;
}

static int svm_exit_shutdown(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_shutdown(vcpu);
}

static int svm_exit_ud(struct kvmd_vcpu *vcpu)
{
	kvmd_queue_exception(vcpu, 6);
	return KVMD_RESUME;
}

static int svm_exit_rsm(struct kvmd_vcpu *vcpu)
{
	return kvmd_smm_rsm(vcpu);
}

/*
 * RDTSCP is intercepted until a guest whose CPUID has it runs one: from
 * then on it runs without exits, with the guest's TSC_AUX (cpumsr.c).
 */
static int svm_exit_rdtscp(struct kvmd_vcpu *vcpu)
{
	if (!kvmd_tsc_aux_ok() || !kvmd_guest_has(vcpu, 0x80000001, 3, 27))
		return svm_exit_ud(vcpu);
	clr_icpt(svm_vmcb(vcpu), INTERCEPT_RDTSCP);
	return KVMD_RESUME;
}

/*
 * INVPCID likewise, until a guest whose CPUID has it runs one: KVM
 * intercepts it (#UD) for a guest without it; with nested paging it
 * otherwise runs in the guest.
 */
static int svm_exit_invpcid(struct kvmd_vcpu *vcpu)
{
	if (!kvmd_guest_has(vcpu, 7, 1, 10))
		return svm_exit_ud(vcpu);
	clr_icpt(svm_vmcb(vcpu), INTERCEPT_INVPCID);
	return KVMD_RESUME;
}

static void svm_get_exit_info(struct kvmd_vcpu *vcpu, u64 info[5])
{
	struct vmcb_control_area *c = &svm_vmcb(vcpu)->control;

	info[0] = (u32)c->exit_code;
	info[1] = c->exit_info_1;
	info[2] = c->exit_info_2;
	info[3] = c->exit_int_info;
	info[4] = 0;
	if ((c->exit_int_info & SVM_EXITINTINFO_VALID) &&
	    (c->exit_int_info & SVM_EXITINTINFO_VALID_ERR))
		info[4] = c->exit_int_info_err;
}

static int svm_exit_ud_excp(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_ud(vcpu);
}

static int svm_exit_vmmcall(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_hypercall(vcpu, 3);
}

static int svm_exit_monitor_mwait(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_monitor_mwait(vcpu, 3);
}

static int svm_exit_skip2(struct kvmd_vcpu *vcpu)
{
	/* WBINVD, INVD: nothing to do on a virtual cache. */
	return svm_skip(vcpu, 2);
}

static int svm_exit_iret(struct kvmd_vcpu *vcpu)
{
	clr_icpt(svm_vmcb(vcpu), INTERCEPT_IRET);
	/* The NMI mask lifts once the IRET has executed, i.e. RIP moved on. */
	vcpu->nmi.iret_seen = true;
	vcpu->nmi.iret_rip = vcpu->rip;
	return KVMD_RESUME;
}

/* MOV to/from DR0-7: decode the GPR operand ourselves (no decode assists). */
static int svm_exit_dr(struct kvmd_vcpu *vcpu)
{
	u32 code = svm_vmcb(vcpu)->control.exit_code;
	bool write = code >= SVM_EXIT_WRITE_DR0;
	int dr = code & 0xf;
	unsigned int len, i = 0;
	u8 insn[15], rex = 0;
	int gpr, r;
	u64 val;

	if (kvmd_fetch_insn(vcpu, insn, &len) || len < 3)
		return kvmd_emulation_failure(vcpu);
	while (i < len && (insn[i] == 0x66 || insn[i] == 0x67 ||
			   (insn[i] & 0xf0) == 0x40))
		rex = (insn[i] & 0xf0) == 0x40 ? insn[i++] : (i++, 0);
	if (i + 2 >= len || insn[i] != 0x0f || (insn[i + 1] != 0x21 && insn[i + 1] != 0x23))
		return kvmd_emulation_failure(vcpu);
	gpr = (insn[i + 2] & 7) | ((rex & 1) << 3);
	val = vcpu->regs[gpr];
	if (!kvmd_emulate_mov_dr(vcpu, dr, write, &val, &r))
		return r;
	if (!write)
		vcpu->regs[gpr] = kvmd_long_mode(vcpu) ? val : (u32)val;
	return svm_skip(vcpu, i + 3);
}

/*
 * MOV to CRn or LMSW at RIP, decoded here (no decode assists): its length,
 * the second opcode byte (0x22 MOV to CR, 0x01 LMSW), the ModRM byte and
 * the GPR its r/m field names. False when RIP holds neither.
 */
static bool svm_decode_cr_write(struct kvmd_vcpu *vcpu, u8 *op, u8 *modrm,
				int *gpr, unsigned int *ilen)
{
	struct kvm_segment cs;
	unsigned int len, i = 0;
	u8 insn[15], rex = 0;
	bool l64;

	if (kvmd_fetch_insn(vcpu, insn, &len))
		return false;
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	l64 = kvmd_long_mode(vcpu) && cs.l;
	for (; i < len; i++) {
		u8 b = insn[i];

		if (b == 0x66 || b == 0x67 || b == 0xf0 || b == 0xf2 || b == 0xf3 ||
		    b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65)
			rex = 0;
		else if (l64 && (b & 0xf0) == 0x40)
			rex = b;
		else
			break;
	}
	if (i + 2 >= len || insn[i] != 0x0f)
		return false;
	*op = insn[i + 1];
	*modrm = insn[i + 2];
	if (*op == 0x01 && ((*modrm >> 3) & 7) != 6)
		return false;
	if (*op != 0x22 && *op != 0x01)
		return false;
	*gpr = (*modrm & 7) | ((rex & 1) << 3);
	*ilen = i + 3;
	return true;
}

/*
 * MOV to CR4: always intercepted, as KVM does, so that the guest's CPUID
 * and KVM's rules decide which bits it may set (#GP otherwise).
 */
static int svm_exit_write_cr4(struct kvmd_vcpu *vcpu)
{
	unsigned int len;
	u8 op, modrm;
	int gpr;

	if (!svm_decode_cr_write(vcpu, &op, &modrm, &gpr, &len) || op != 0x22 ||
	    ((modrm >> 3) & 7) != 4)
		return kvmd_emulation_failure(vcpu);
	if (kvmd_ops->get_cpl(vcpu) || kvmd_guest_set_cr4(vcpu, vcpu->regs[gpr])) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	return svm_skip(vcpu, len);
}

/*
 * MOV to CR0 or LMSW that changes more than TS and MP: the selective CR0
 * intercept KVM keeps on, so that its checks (kvm_set_cr0) see every
 * change of mode, caching or paging. LMSW from memory goes to the emulator.
 */
static int svm_exit_cr0_sel_write(struct kvmd_vcpu *vcpu)
{
	unsigned int len;
	u8 op, modrm;
	int gpr;
	u64 val;

	if (!svm_decode_cr_write(vcpu, &op, &modrm, &gpr, &len) ||
	    (op == 0x22 && ((modrm >> 3) & 7) != 0))
		return kvmd_emulation_failure(vcpu);
	if (op == 0x01 && (modrm >> 6) != 3)
		return kvmd_emulate_mmio(vcpu);
	val = vcpu->regs[gpr];
	if (op == 0x01)		/* the low four bits; PE can be set, not cleared */
		val = (kvmd_ops->get_cr(vcpu, 0) & ~0xeULL) | (val & 0xf);
	if (kvmd_ops->get_cpl(vcpu) || kvmd_guest_set_cr0(vcpu, val)) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	return svm_skip(vcpu, len);
}

/*
 * MOV to CR8 (or LOCK MOV CR0, its alias outside long mode). Intercepted,
 * as KVM does without an in-kernel local APIC, so that lowering the task
 * priority reaches the VMM, which may now deliver a held-back interrupt.
 */
static int svm_exit_write_cr8(struct kvmd_vcpu *vcpu)
{
	unsigned int len, i = 0;
	u8 insn[15], rex = 0;
	int gpr;

	if (kvmd_fetch_insn(vcpu, insn, &len) || len < 3)
		return kvmd_emulation_failure(vcpu);
	while (i < len && (insn[i] == 0x66 || insn[i] == 0x67 || insn[i] == 0xf0 ||
			   (insn[i] & 0xf0) == 0x40))
		rex = (insn[i] & 0xf0) == 0x40 ? insn[i++] : (i++, 0);
	if (i + 2 >= len || insn[i] != 0x0f || insn[i + 1] != 0x22)
		return kvmd_emulation_failure(vcpu);
	gpr = (insn[i + 2] & 7) | ((rex & 1) << 3);
	/* Reserved bits: #GP, which the hardware leaves to the intercept. */
	if (vcpu->regs[gpr] & ~0xfULL) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	svm_skip(vcpu, i + 3);
	return kvmd_set_tpr(vcpu, vcpu->regs[gpr]);
}

static int svm_exit_db(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_db(vcpu, svm_vmcb(vcpu)->save.dr6);
}

static int svm_exit_bp(struct kvmd_vcpu *vcpu)
{
	return kvmd_handle_bp(vcpu);
}

static __kvmd_hot int svm_exit_npf(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	u64 err = vmcb->control.exit_info_1;

	/* L2 on the shadow of its hypervisor's NPT: nested_npt.c. */
	if (nested_npt_active(vcpu))
		return nested_npt_fault(vcpu);
	return kvmd_tdp_fault(vcpu, vmcb->control.exit_info_2, err & 2, err & 16);
}

/* XSETBV (0f 01 d1): KVM's rules for XCR0, #GP otherwise. */
static int svm_exit_xsetbv(struct kvmd_vcpu *vcpu)
{
	if (!kvmd_emulate_xsetbv(vcpu))
		return KVMD_RESUME;
	return svm_skip(vcpu, 3);
}

/* A task switch: the reason and the vectoring event sorted as KVM does, then emulated. */
static int svm_exit_task_switch(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	u32 info = vmcb->control.exit_int_info;
	u32 type = info & SVM_EXITINTINFO_TYPE_MASK;
	int vec = info & SVM_EXITINTINFO_VEC_MASK;
	u64 info2 = vmcb->control.exit_info_2;
	bool has_error = false;
	u32 error = 0;
	int reason, len;

	if (info2 & (1ULL << SVM_EXITINFOSHIFT_TS_REASON_IRET))
		reason = KVMD_TASK_SWITCH_IRET;
	else if (info2 & (1ULL << SVM_EXITINFOSHIFT_TS_REASON_JMP))
		reason = KVMD_TASK_SWITCH_JMP;
	else if (info & SVM_EXITINTINFO_VALID)
		reason = KVMD_TASK_SWITCH_GATE;
	else
		reason = KVMD_TASK_SWITCH_CALL;

	/* The event that went through the gate is delivered by the switch. */
	if (reason == KVMD_TASK_SWITCH_GATE) {
		vcpu->nmi.injected = false;
		vcpu->exception.injected = false;
		vcpu->interrupt.injected = false;
		if (type == SVM_EXITINTINFO_TYPE_EXEPT &&
		    (info2 & (1ULL << SVM_EXITINFOSHIFT_TS_HAS_ERROR_CODE))) {
			has_error = true;
			error = (u32)info2;
		}
	}
	/* An instruction caused it: the old task resumes after it. */
	if (reason != KVMD_TASK_SWITCH_GATE || type == SVM_EXITINTINFO_TYPE_SOFT ||
	    (type == SVM_EXITINTINFO_TYPE_EXEPT && (vec == 3 || vec == 4))) {
		len = kvmd_task_switch_insn_len(vcpu);
		if (len < 0)
			return kvmd_emulation_failure(vcpu);
		kvmd_skip_insn(vcpu, len);
	}
	return kvmd_task_switch(vcpu, (u16)vmcb->control.exit_info_1,
				type == SVM_EXITINTINFO_TYPE_SOFT ? vec : -1,
				reason, has_error, error);
}

/* What KVM_GET_MSR_INDEX_LIST adds on SVM: the nested host save area. */
static const u32 svm_save_msrs[] = { MSR_VM_HSAVE_PA };

typedef int (*svm_exit_fn)(struct kvmd_vcpu *vcpu);

static const svm_exit_fn svm_exit_handlers[] = {
	[SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR7]	= svm_exit_dr,
	[SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR7]	= svm_exit_dr,
	[SVM_EXIT_WRITE_CR4]				= svm_exit_write_cr4,
	[SVM_EXIT_INVPCID]				= svm_exit_invpcid,
	[SVM_EXIT_WRITE_CR8]				= svm_exit_write_cr8,
	[SVM_EXIT_CR0_SEL_WRITE]			= svm_exit_cr0_sel_write,
	[SVM_EXIT_EXCP_BASE + 1]			= svm_exit_db,
	[SVM_EXIT_EXCP_BASE + 3]			= svm_exit_bp,
	[SVM_EXIT_EXCP_BASE + 6]			= svm_exit_ud_excp,
	[SVM_EXIT_INTR]					= svm_exit_nothing,
	[SVM_EXIT_NMI]					= svm_exit_nothing,
	[SVM_EXIT_SMI]					= svm_exit_nothing,
	[SVM_EXIT_VINTR]				= svm_exit_vintr,
	[SVM_EXIT_CPUID]				= svm_exit_cpuid,
	[SVM_EXIT_RSM]					= svm_exit_rsm,
	[SVM_EXIT_IRET]					= svm_exit_iret,
	[SVM_EXIT_INVD]					= svm_exit_skip2,
	[SVM_EXIT_HLT]					= svm_exit_hlt,
	[SVM_EXIT_INVLPGA]				= nested_svm_invlpga,
	[SVM_EXIT_IOIO]					= svm_exit_ioio,
	[SVM_EXIT_MSR]					= svm_exit_msr,
	[SVM_EXIT_TASK_SWITCH]				= svm_exit_task_switch,
	[SVM_EXIT_SHUTDOWN]				= svm_exit_shutdown,
	[SVM_EXIT_VMRUN]				= nested_svm_vmrun,
	[SVM_EXIT_VMMCALL]				= svm_exit_vmmcall,
	[SVM_EXIT_VMLOAD]				= nested_svm_vmload,
	[SVM_EXIT_VMSAVE]				= nested_svm_vmsave,
	[SVM_EXIT_STGI]					= nested_svm_stgi,
	[SVM_EXIT_CLGI]					= nested_svm_clgi,
	[SVM_EXIT_SKINIT]				= svm_exit_ud,
	[SVM_EXIT_RDTSCP]				= svm_exit_rdtscp,
	[SVM_EXIT_WBINVD]				= svm_exit_skip2,
	[SVM_EXIT_MONITOR]				= svm_exit_monitor_mwait,
	[SVM_EXIT_MWAIT]				= svm_exit_monitor_mwait,
	[SVM_EXIT_XSETBV]				= svm_exit_xsetbv,
	[SVM_EXIT_RDPRU]				= svm_exit_ud,
	[SVM_EXIT_NPF]					= svm_exit_npf,
};

static __kvmd_hot int svm_handle_exit(struct kvmd_vcpu *vcpu)
{
	struct vmcb *vmcb = svm_vmcb(vcpu);
	u64 code = vmcb->control.exit_code |
		   ((u64)vmcb->control.exit_code_hi << 32);
	struct kvm_run *run = vcpu->run;

	/*
	 * As KVM on SVM: the in-kernel APIC's TPR is what the guest saw in
	 * V_TPR, four bits wide, so a TPR written through MMIO loses its low
	 * nibble at the next exit.
	 */
	if (vcpu->apic && svm_tpr_vmcb(vcpu) == vmcb)
		kvmd_apic_set_tpr(vcpu, vmcb->control.int_ctl & V_TPR_MASK);

	if (trace_exits > 0) {
		trace_exits--;
		pr_info("exit %#llx int_state %#x rflags %#llx rip %#llx info1 %#llx info2 %#llx intinfo %#x ncr3 %#llx nctl %#llx asid %u cr0 %#llx efer %#llx\n",
			code, vmcb->control.int_state, vmcb->save.rflags, vcpu->rip, vmcb->control.exit_info_1,
			vmcb->control.exit_info_2, vmcb->control.exit_int_info, vmcb->control.nested_cr3, vmcb->control.nested_ctl, vmcb->control.asid, vmcb->save.cr0, vmcb->save.efer);
	}

	/* A host interrupt ended the run between two instructions (pv.c). */
	if (code == SVM_EXIT_INTR)
		vcpu->at_insn_boundary = true;
	/* An exit of L2 that L1 intercepts goes to L1 (nested_svm.c). */
	if (to_svm(vcpu)->nested.guest_mode && nested_svm_reflect_exit(vcpu, code))
		return KVMD_RESUME;

	/* Some implementations leave the upper half of the code zero. */
	if (vmcb->control.exit_code == (u32)SVM_EXIT_ERR) {
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = vmcb->control.exit_code;
		run->fail_entry.cpu = vcpu->cpu;
		return KVMD_EXIT_USER;
	}
	if (code < ARRAY_SIZE(svm_exit_handlers) && svm_exit_handlers[code])
		return svm_exit_handlers[code](vcpu);

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	run->internal.ndata = 2;
	run->internal.data[0] = code;
	run->internal.data[1] = vcpu->cpu;
	return KVMD_EXIT_USER;
}

const struct kvmd_vendor_ops kvmd_svm_ops = {
	.name			= "AMD SVM",
	.hypercall_insn		= { 0x0f, 0x01, 0xd9 },	/* VMMCALL */
	.hardware_setup		= svm_hardware_setup,
	.hardware_unsetup	= svm_hardware_unsetup,
	.hardware_enable	= svm_hardware_enable,
	.hardware_disable	= svm_hardware_disable,
	.tdp_pte		= svm_tdp_pte,
	.tdp_table_pte		= svm_tdp_table_pte,
	.tdp_present_mask	= NPT_P,
	.tdp_write_mask		= NPT_RW,
	.tdp_levels		= svm_tdp_levels,
	.vcpu_create		= svm_vcpu_create,
	.vcpu_free		= svm_vcpu_free,
	.vcpu_reset		= svm_vcpu_reset,
	.prepare_run		= svm_prepare_run,
	.run			= svm_run,
	.handle_exit		= svm_handle_exit,
	.get_exit_info		= svm_get_exit_info,
	.get_segment		= svm_get_segment,
	.set_segment		= svm_set_segment,
	.get_dtable		= svm_get_dtable,
	.set_dtable		= svm_set_dtable,
	.get_cpl		= svm_get_cpl,
	.get_cr			= svm_get_cr,
	.get_efer		= svm_get_efer,
	.set_cr0		= svm_set_cr0,
	.set_cr2		= svm_set_cr2,
	.set_cr3		= svm_set_cr3,
	.set_cr4		= svm_set_cr4,
	.set_cr8		= svm_set_cr8,
	.set_efer		= svm_set_efer,
	.get_dr6		= svm_get_dr6,
	.get_dr7		= svm_get_dr7,
	.set_dr7		= svm_set_dr7,
	.get_msr		= svm_get_msr,
	.set_msr		= svm_set_msr,
	.get_interrupt_shadow	= svm_get_interrupt_shadow,
	.set_interrupt_shadow	= svm_set_interrupt_shadow,
	.inject_irq		= svm_inject_irq,
	.inject_nmi		= svm_inject_nmi,
	.inject_exception	= svm_inject_exception,
	.enable_irq_window	= svm_enable_irq_window,
	.enable_nmi_window	= svm_enable_nmi_window,
	.complete_events	= svm_complete_events,
	.update_debug		= svm_update_debug,
	.flush_tlb		= svm_flush_tlb,
	.set_tsc_offset		= svm_set_tsc_offset,
	.set_tdp_root		= svm_set_tdp_root,
	.enter_smm		= nested_svm_enter_smm,
	.leave_smm		= svm_leave_smm,
	.events_blocked		= nested_svm_events_blocked,
	.nested_intr_exits	= nested_svm_intr_exits,
	.nested_triple_fault	= nested_svm_triple_fault,
	.nested_events		= nested_svm_check_events,
	.nested_cpuid		= nested_svm_cpuid,
	.get_nested_state	= nested_svm_get_state,
	.set_nested_state	= nested_svm_set_state,
	.nested_state_size	= nested_svm_state_size,
	.save_msrs		= svm_save_msrs,
	.nr_save_msrs		= ARRAY_SIZE(svm_save_msrs),
	.tdp_changed		= nested_npt_tdp_changed,
	.is_guest_mode		= nested_svm_is_guest_mode,
};
