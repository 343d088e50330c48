// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/vmx.c: the Intel VMX backend: capabilities, per-CPU VMXON, VMCS set-up and loading, the world switch around it. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/tlbflush.h>

#include "vmx.h"

struct vmx_caps vmx_caps;

struct vmx_cpu {
	void *vmxon_region;
	u64 vmxon_pa;
	bool enabled;
	struct vmx_vcpu *current_vmcs;
	/* The host's SYSCALL MSRs, the same on every CPU but read per CPU. */
	u64 star, lstar, cstar, sfmask;
};

static DEFINE_PER_CPU(struct vmx_cpu, vmx_cpus);
static DEFINE_IDA(vmx_vpids);
/* Every port and every MSR exits, except the bases the VMCS switches itself. */
static unsigned long *vmx_io_bitmap, *vmx_msr_bitmap;
/* Every MSR intercepted: for the VMs with an MSR filter (msrfilter.c). */
static unsigned long *vmx_msr_bitmap_all;

/* ---- VMX instructions with their failure reported ---- */

static int vmx_vmxon(u64 pa)
{
	asm goto("1: vmxon %0\n\t"
		 "jbe %l[fail]\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "m" (pa) : "cc", "memory" : fail, fault);
	return 0;
fail:
	return -EBUSY;
fault:
	return -EFAULT;
}

static void vmx_vmxoff(void)
{
	asm volatile("vmxoff" : : : "cc", "memory");
}

static int vmx_vmclear(u64 pa)
{
	asm goto("vmclear %0\n\t"
		 "jbe %l[fail]"
		 : : "m" (pa) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static int vmx_vmptrld(u64 pa)
{
	asm goto("vmptrld %0\n\t"
		 "jbe %l[fail]"
		 : : "m" (pa) : "cc", "memory" : fail);
	return 0;
fail:
	return -EIO;
}

static void vmx_invept(int type, u64 eptp)
{
	struct { u64 eptp, reserved; } desc = { eptp, 0 };

	asm volatile("invept %0, %1" : : "m" (desc), "r" ((u64)type) : "cc", "memory");
}

static void vmx_invvpid(int type, u16 vpid)
{
	struct { u64 vpid, gva; } desc = { vpid, 0 };

	asm volatile("invvpid %0, %1" : : "m" (desc), "r" ((u64)type) : "cc", "memory");
}

/* ---- capabilities ---- */

/* Controls: @min must be allowed to be 1, @opt are taken when they may be. */
static int vmx_adjust(u32 min, u32 opt, u32 msr, u32 *result)
{
	u32 lo, hi, ctl = min | opt;

	rdmsr(msr, lo, hi);
	ctl &= hi;		/* bit clear in high word: must be 0 */
	ctl |= lo;		/* bit set in low word: must be 1 */
	if ((min & ~ctl) != 0)
		return -EIO;
	*result = ctl;
	return 0;
}

static int vmx_read_caps(void)
{
	struct vmx_caps *c = &vmx_caps;
	bool true_ctls;
	u64 basic, feat;
	u32 lo, hi;

	rdmsrl(MSR_IA32_FEAT_CTL, feat);
	if ((feat & FEAT_CTL_LOCKED) && !(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX)) {
		pr_err("VMX is disabled by the firmware (IA32_FEATURE_CONTROL)\n");
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_BASIC, basic);
	c->revision_id = vmx_basic_vmcs_revision_id(basic);
	if (vmx_basic_vmcs_size(basic) > PAGE_SIZE) {
		pr_err("VMCS larger than a page\n");
		return -ENODEV;
	}
	true_ctls = basic & (1ULL << 55);
	c->ins_outs_info = basic & (1ULL << 54);

	if (vmx_adjust(PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING,
		       PIN_BASED_VIRTUAL_NMIS,
		       true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS,
		       &c->pin) ||
	    vmx_adjust(CPU_BASED_HLT_EXITING | CPU_BASED_CR8_LOAD_EXITING |
		       CPU_BASED_CR8_STORE_EXITING | CPU_BASED_MOV_DR_EXITING |
		       CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS |
		       CPU_BASED_MWAIT_EXITING | CPU_BASED_MONITOR_EXITING |
		       CPU_BASED_USE_TSC_OFFSETTING |
		       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS, 0,
		       true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS,
		       &c->proc) ||
	    vmx_adjust(VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_PAT |
		       VM_EXIT_LOAD_IA32_PAT | VM_EXIT_SAVE_IA32_EFER |
		       VM_EXIT_LOAD_IA32_EFER | VM_EXIT_SAVE_DEBUG_CONTROLS, 0,
		       true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS,
		       &c->exit) ||
	    vmx_adjust(VM_ENTRY_LOAD_IA32_PAT | VM_ENTRY_LOAD_IA32_EFER |
		       VM_ENTRY_LOAD_DEBUG_CONTROLS, 0,
		       true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS,
		       &c->entry)) {
		pr_err("this CPU's VMX lacks a control this driver needs\n");
		return -ENODEV;
	}
	/* Guest CR3 accesses and INVLPG run natively under EPT. */
	c->proc &= ~(CPU_BASED_CR3_LOAD_EXITING | CPU_BASED_CR3_STORE_EXITING |
		     CPU_BASED_INVLPG_EXITING);
	c->entry &= ~VM_ENTRY_IA32E_MODE;

	if (vmx_adjust(SECONDARY_EXEC_ENABLE_EPT, 0,
		       MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2)) {
		pr_err("this CPU has VMX but no EPT\n");
		return -ENODEV;
	}
	if (vmx_adjust(SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST,
		       SECONDARY_EXEC_ENABLE_VPID | SECONDARY_EXEC_WBINVD_EXITING |
		       SECONDARY_EXEC_ENABLE_INVPCID,
		       MSR_IA32_VMX_PROCBASED_CTLS2, &c->proc2)) {
		pr_err("this CPU's VMX has no unrestricted guest mode (real mode guests)\n");
		return -ENODEV;
	}
	rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, c->ept_vpid);
	if (!(c->ept_vpid & VMX_EPT_PAGE_WALK_4_BIT) ||
	    !(c->ept_vpid & VMX_EPTP_WB_BIT) ||
	    !(c->ept_vpid & VMX_EPT_INVEPT_BIT)) {
		pr_err("this CPU's EPT lacks 4-level write-back tables or INVEPT\n");
		return -ENODEV;
	}
	c->invept_type = (c->ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT) ?
			 VMX_EPT_EXTENT_CONTEXT : VMX_EPT_EXTENT_GLOBAL;
	c->vpid = (c->proc2 & SECONDARY_EXEC_ENABLE_VPID) &&
		  (c->ept_vpid & VMX_VPID_INVVPID_BIT << 32) &&
		  (c->ept_vpid & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT << 32);
	if (!c->vpid)
		c->proc2 &= ~SECONDARY_EXEC_ENABLE_VPID;

	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	/* Unrestricted guest lifts PE and PG from the fixed-to-1 set. */
	c->cr0_fixed0 &= ~(u64)(X86_CR0_PE | X86_CR0_PG);
	rdmsr(MSR_IA32_VMX_MISC, lo, hi);
	return 0;
}

static void vmx_check_busy(void *busy)
{
	if (__read_cr4() & X86_CR4_VMXE)
		atomic_inc(busy);
}

static void vmx_hardware_unsetup(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpus, cpu);

		if (vc->vmxon_region)
			free_page((unsigned long)vc->vmxon_region);
		vc->vmxon_region = NULL;
	}
	free_pages((unsigned long)vmx_io_bitmap, 1);
	free_page((unsigned long)vmx_msr_bitmap);
	free_page((unsigned long)vmx_msr_bitmap_all);
	vmx_io_bitmap = vmx_msr_bitmap = vmx_msr_bitmap_all = NULL;
}

/* Let the guest read and write an MSR without an exit. */
static void vmx_msr_passthrough(u32 msr)
{
	u8 *map = (u8 *)vmx_msr_bitmap;
	/* Read low, read high, write low, write high: 1 KiB each. */
	u32 off = msr >= 0xc0000000 ? 1024 : 0;
	u32 bit = msr & 0x1fff;

	map[off + bit / 8] &= ~(1 << (bit % 8));
	map[2048 + off + bit / 8] &= ~(1 << (bit % 8));
}

static int vmx_hardware_setup(void)
{
	atomic_t busy = ATOMIC_INIT(0);
	int cpu, r;

	if (!(cpuid_ecx(1) & (1 << 5))) {
		pr_err("this CPU has no Intel VMX\n");
		return -ENODEV;
	}
	r = vmx_read_caps();
	if (r)
		return r;
	on_each_cpu(vmx_check_busy, &busy, 1);
	if (atomic_read(&busy)) {
		pr_err("VMX is in use by another hypervisor (CR4.VMXE is set)\n");
		return -EBUSY;
	}

	for_each_possible_cpu(cpu) {
		struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpus, cpu);
		struct page *p;

		p = alloc_pages_node(cpu_to_node(cpu), GFP_KERNEL | __GFP_ZERO, 0);
		if (!p)
			goto nomem;
		vc->vmxon_region = page_address(p);
		vc->vmxon_pa = page_to_phys(p);
		*(u32 *)vc->vmxon_region = vmx_caps.revision_id;
	}
	vmx_io_bitmap = (unsigned long *)__get_free_pages(GFP_KERNEL, 1);
	vmx_msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL);
	vmx_msr_bitmap_all = (unsigned long *)__get_free_page(GFP_KERNEL);
	if (!vmx_io_bitmap || !vmx_msr_bitmap || !vmx_msr_bitmap_all)
		goto nomem;
	memset(vmx_io_bitmap, 0xff, 2 * PAGE_SIZE);
	memset(vmx_msr_bitmap, 0xff, PAGE_SIZE);
	memset(vmx_msr_bitmap_all, 0xff, PAGE_SIZE);
	vmx_msr_passthrough(MSR_FS_BASE);
	vmx_msr_passthrough(MSR_GS_BASE);
	pr_info("VMX: EPT, unrestricted guest%s, VMCS revision %#x\n",
		vmx_caps.vpid ? ", VPID" : "", vmx_caps.revision_id);
	return 0;
nomem:
	vmx_hardware_unsetup();
	return -ENOMEM;
}

static int vmx_hardware_enable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);
	u64 feat;
	int r;

	if (vc->enabled)
		return 0;
	if (__read_cr4() & X86_CR4_VMXE)
		return -EBUSY;
	rdmsrl(MSR_IA32_FEAT_CTL, feat);
	if (!(feat & FEAT_CTL_LOCKED))
		wrmsrl(MSR_IA32_FEAT_CTL, feat | FEAT_CTL_LOCKED |
		       FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX);
	else if (!(feat & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return -ENODEV;
	cr4_set_bits(X86_CR4_VMXE);
	r = vmx_vmxon(vc->vmxon_pa);
	if (r) {
		cr4_clear_bits(X86_CR4_VMXE);
		return -EBUSY;
	}
	rdmsrl(MSR_STAR, vc->star);
	rdmsrl(MSR_LSTAR, vc->lstar);
	rdmsrl(MSR_CSTAR, vc->cstar);
	rdmsrl(MSR_SYSCALL_MASK, vc->sfmask);
	/* EPT mappings of VMs that died before VMXOFF may still be cached. */
	vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	vc->current_vmcs = NULL;
	vc->enabled = true;
	return 0;
}

static void vmx_hardware_disable(void)
{
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);

	if (!vc->enabled)
		return;
	vmx_vmxoff();
	cr4_clear_bits(X86_CR4_VMXE);
	vc->current_vmcs = NULL;
	vc->enabled = false;
}

/*
 * EPT entries. Leaves map guest RAM write-back (the guest PAT still
 * combines with it); table entries must keep bits 3-7 zero.
 */
#define EPT_R		VMX_EPT_READABLE_MASK
#define EPT_W		VMX_EPT_WRITABLE_MASK
#define EPT_X		VMX_EPT_EXECUTABLE_MASK
#define EPT_PS		(1ULL << 7)
#define EPT_MT_WB	(6ULL << VMX_EPT_MT_EPTE_SHIFT)

static u64 vmx_tdp_pte(u64 pfn, bool writable, bool large)
{
	u64 pte = (pfn << PAGE_SHIFT) | EPT_R | EPT_X | EPT_MT_WB;

	if (writable)
		pte |= EPT_W;
	if (large)
		pte |= EPT_PS;
	return pte;
}

static u64 vmx_tdp_table_pte(u64 pfn)
{
	return (pfn << PAGE_SHIFT) | EPT_R | EPT_W | EPT_X;
}

/* ---- VMCS loading ---- */

static void vmx_clear_here(void *arg)
{
	struct vmx_vcpu *vmx = arg;
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);

	vmx_vmclear(vmx->vmcs_pa);
	if (vc->current_vmcs == vmx)
		vc->current_vmcs = NULL;
	vmx->cpu = -1;
	vmx->launched = false;
}

/* Host state that differs from CPU to CPU. */
static void vmx_write_host_cpu_state(struct vmx_vcpu *vmx, int cpu)
{
	struct desc_ptr gdt, idt;
	u64 v;

	native_store_gdt(&gdt);
	store_idt(&idt);
	vmcs_write(HOST_GDTR_BASE, gdt.address);
	vmcs_write(HOST_IDTR_BASE, idt.address);
	vmcs_write(HOST_TR_BASE, (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	rdmsrl(MSR_GS_BASE, v);
	vmcs_write(HOST_GS_BASE, v);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	vmcs_write(HOST_IA32_SYSENTER_ESP, v);
}

/* Make the vCPU's VMCS current here. Preemption off; interrupts on if it moved. */
static void vmx_load(struct kvmd_vcpu *vcpu, int cpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	struct vmx_cpu *vc = per_cpu_ptr(&vmx_cpus, cpu);

	if (vmx->cpu != cpu) {
		if (vmx->cpu >= 0)
			smp_call_function_single(vmx->cpu, vmx_clear_here, vmx, 1);
		vmx_vmptrld(vmx->vmcs_pa);
		vc->current_vmcs = vmx;
		vmx->cpu = cpu;
		vmx_write_host_cpu_state(vmx, cpu);
		/* Translations cached here may be from before; start clean. */
		vmx->need_flush = true;
	} else if (vc->current_vmcs != vmx) {
		vmx_vmptrld(vmx->vmcs_pa);
		vc->current_vmcs = vmx;
	}
}

void vmx_vcpu_get(struct kvmd_vcpu *vcpu)
{
	vmx_load(vcpu, get_cpu());
}

void vmx_vcpu_put(struct kvmd_vcpu *vcpu)
{
	put_cpu();
}

/* ---- vCPU ---- */

static int vmx_vcpu_create(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx;
	struct page *page;
	int id;

	vmx = kzalloc(sizeof(*vmx), GFP_KERNEL_ACCOUNT);
	if (!vmx)
		return -ENOMEM;
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page)
		goto free_vmx;
	vmx->vmcs = page_address(page);
	vmx->vmcs_pa = page_to_phys(page);
	*(u32 *)vmx->vmcs = vmx_caps.revision_id;
	if (vmx_caps.vpid) {
		id = ida_alloc_range(&vmx_vpids, 1, 0xffff, GFP_KERNEL);
		if (id < 0)
			goto free_page;
		vmx->vpid = id;
	}
	vmx->cpu = -1;
	/* VMCLEAR sets the launch state to clear; any CPU with VMX on will do. */
	get_cpu();
	vmx_vmclear(vmx->vmcs_pa);
	put_cpu();
	vcpu->priv = vmx;
	return 0;
free_page:
	__free_page(page);
free_vmx:
	kfree(vmx);
	return -ENOMEM;
}

static void vmx_vcpu_free(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu;

	if (!vmx)
		return;
	cpu = get_cpu();
	if (vmx->cpu == cpu)
		vmx_clear_here(vmx);
	else if (vmx->cpu >= 0)
		smp_call_function_single(vmx->cpu, vmx_clear_here, vmx, 1);
	put_cpu();
	if (vmx->vpid)
		ida_free(&vmx_vpids, vmx->vpid);
	free_page((unsigned long)vmx->vmcs);
	kfree(vmx);
	vcpu->priv = NULL;
}

/* The EPT pointer of a second-level root: four levels, write-back tables. */
static u64 vmx_eptp(u64 root_pa)
{
	return root_pa | VMX_EPTP_PWL_4 | VMX_EPTP_MT_WB;
}

static void vmx_init_seg(unsigned long sel, unsigned long base,
			 unsigned long limit, unsigned long ar, u32 selector,
			 u32 access)
{
	vmcs_write(sel, selector);
	vmcs_write(base, 0);
	vmcs_write(limit, 0xffff);
	vmcs_write(ar, access);
}

/* The secondary controls: as KVM, INVPCID runs only when the guest's CPUID has it, else #UD. */
static u32 vmx_proc2(struct kvmd_vcpu *vcpu)
{
	u32 proc2 = vmx_caps.proc2 & ~SECONDARY_EXEC_ENABLE_INVPCID;

	if (kvmd_guest_has(vcpu, 7, 1, 10))
		proc2 |= vmx_caps.proc2 & SECONDARY_EXEC_ENABLE_INVPCID;
	return proc2;
}

static void vmx_vcpu_reset(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 pat;

	vmx_vcpu_get(vcpu);

	/* Controls. */
	vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmx_caps.pin);
	vmx->proc = vmx_caps.proc;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmx->proc);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx_proc2(vcpu));
	vmcs_write(VM_EXIT_CONTROLS, vmx_caps.exit);
	vmx->entry = vmx_caps.entry;
	vmcs_write(VM_ENTRY_CONTROLS, vmx->entry);
	vmcs_write(EXCEPTION_BITMAP, 1 << UD_VECTOR);	/* see vmx_update_debug() */
	vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write(CR3_TARGET_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmcs_write(IO_BITMAP_A, __pa(vmx_io_bitmap));
	vmcs_write(IO_BITMAP_B, __pa(vmx_io_bitmap) + PAGE_SIZE);
	vmcs_write(MSR_BITMAP, __pa(vmx_msr_bitmap));
	vmx->msr_intercept_all = false;
	vmcs_write(EPT_POINTER, vmx_eptp(kvmd_tdp_root_pa(vcpu->vm)));
	if (vmx->vpid)
		vmcs_write(VIRTUAL_PROCESSOR_ID, vmx->vpid);
	vmcs_write(TSC_OFFSET, vcpu->tsc_offset);
	vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	/*
	 * NE and PG are the host's: PG because it moves EFER.LMA; CD and NW
	 * because a CPU may fix them to 0 in VMX operation (Bochs does): the
	 * guest's value lives in the read shadow, as KVM keeps it.
	 */
	vmcs_write(CR0_GUEST_HOST_MASK, VMX_CR0_HOST_OWNED);
	/* OSXSAVE too: XCR0 and CPUID.1:ECX.OSXSAVE follow it. */
	vmcs_write(CR4_GUEST_HOST_MASK, X86_CR4_VMXE | X86_CR4_OSXSAVE);

	/* Host state that holds for the VMCS's lifetime. */
	vmcs_write(HOST_CR0, read_cr0());
	vmx->host_cr3 = __read_cr3();
	vmcs_write(HOST_CR3, vmx->host_cr3);
	vmx->host_cr4 = cr4_read_shadow();
	vmcs_write(HOST_CR4, vmx->host_cr4);
	vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	vmcs_write(HOST_DS_SELECTOR, 0);
	vmcs_write(HOST_ES_SELECTOR, 0);
	vmcs_write(HOST_FS_SELECTOR, 0);
	vmcs_write(HOST_GS_SELECTOR, 0);
	vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	vmcs_write(HOST_RIP, (unsigned long)kvmd_vmx_exit_point);
	vmcs_write(HOST_IA32_SYSENTER_CS, __KERNEL_CS);
	vmcs_write(HOST_IA32_SYSENTER_EIP, 0);
	rdmsrl(MSR_IA32_CR_PAT, pat);
	vmcs_write(HOST_IA32_PAT, pat);
	vmcs_write(HOST_IA32_EFER, __rdmsr(MSR_EFER));

	/* The architectural reset state, real mode at F000:FFF0. */
	vmx_init_seg(GUEST_CS_SELECTOR, GUEST_CS_BASE, GUEST_CS_LIMIT,
		     GUEST_CS_AR_BYTES, 0xf000, 0x9b);
	vmcs_write(GUEST_CS_BASE, 0xffff0000);
	vmx_init_seg(GUEST_DS_SELECTOR, GUEST_DS_BASE, GUEST_DS_LIMIT,
		     GUEST_DS_AR_BYTES, 0, 0x93);
	vmx_init_seg(GUEST_ES_SELECTOR, GUEST_ES_BASE, GUEST_ES_LIMIT,
		     GUEST_ES_AR_BYTES, 0, 0x93);
	vmx_init_seg(GUEST_SS_SELECTOR, GUEST_SS_BASE, GUEST_SS_LIMIT,
		     GUEST_SS_AR_BYTES, 0, 0x93);
	vmx_init_seg(GUEST_FS_SELECTOR, GUEST_FS_BASE, GUEST_FS_LIMIT,
		     GUEST_FS_AR_BYTES, 0, 0x93);
	vmx_init_seg(GUEST_GS_SELECTOR, GUEST_GS_BASE, GUEST_GS_LIMIT,
		     GUEST_GS_AR_BYTES, 0, 0x93);
	vmx_init_seg(GUEST_LDTR_SELECTOR, GUEST_LDTR_BASE, GUEST_LDTR_LIMIT,
		     GUEST_LDTR_AR_BYTES, 0, 0x82);
	vmx_init_seg(GUEST_TR_SELECTOR, GUEST_TR_BASE, GUEST_TR_LIMIT,
		     GUEST_TR_AR_BYTES, 0, 0x8b);
	vmcs_write(GUEST_GDTR_BASE, 0);
	vmcs_write(GUEST_GDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IDTR_BASE, 0);
	vmcs_write(GUEST_IDTR_LIMIT, 0xffff);
	vmcs_write(GUEST_IA32_EFER, 0);
	vmcs_write(GUEST_IA32_PAT, 0x0007040600070406ULL);
	vmcs_write(GUEST_IA32_DEBUGCTL, 0);
	vmcs_write(GUEST_DR7, VMX_DR7_FIXED_1);
	vmcs_write(GUEST_SYSENTER_CS, 0);
	vmcs_write(GUEST_SYSENTER_ESP, 0);
	vmcs_write(GUEST_SYSENTER_EIP, 0);
	vmcs_write(GUEST_CR3, 0);
	vmcs_write(GUEST_RFLAGS, X86_EFLAGS_FIXED);
	vmcs_write(GUEST_RIP, 0xfff0);
	vmcs_write(GUEST_RSP, 0);
	vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmx->cr2 = 0;
	vmx->cr8 = 0;
	vmx->star = vmx->lstar = vmx->cstar = vmx->sfmask = 0;
	vmx->kernel_gs_base = 0;
	vmx->need_flush = true;
	vmx_vcpu_put(vcpu);
	vmx_set_cr0(vcpu, X86_CR0_NW | X86_CR0_CD | X86_CR0_ET);
	vmx_set_cr4(vcpu, 0);

}

/* KVM's order; after a failed entry only the reason and qualification. */
static void vmx_get_exit_info(struct kvmd_vcpu *vcpu, u64 info[5])
{
	struct vmx_exit *e = &to_vmx(vcpu)->exit;
	const u32 code = INTR_INFO_VALID_MASK | INTR_INFO_DELIVER_CODE_MASK;

	info[0] = e->reason;
	info[1] = e->qual;
	info[2] = info[3] = info[4] = 0;
	if (e->reason & VMX_EXIT_REASONS_FAILED_VMENTRY)
		return;
	info[2] = e->idt_info;
	info[3] = e->intr_info;
	if ((e->intr_info & code) == code)
		info[4] = e->intr_error;
}

/* ---- the world switch ---- */

static bool vmx_swaps_msrs(struct vmx_vcpu *vmx)
{
	return vmcs_read(GUEST_IA32_EFER) & (EFER_LMA | EFER_SCE);
}

static void vmx_read_exit(struct vmx_vcpu *vmx)
{
	struct vmx_exit *e = &vmx->exit;

	e->reason = vmcs_read(VM_EXIT_REASON);
	e->qual = vmcs_read(EXIT_QUALIFICATION);
	e->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
	e->intr_error = vmcs_read(VM_EXIT_INTR_ERROR_CODE);
	e->idt_info = vmcs_read(IDT_VECTORING_INFO_FIELD);
	e->idt_error = vmcs_read(IDT_VECTORING_ERROR_CODE);
	e->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	e->insn_info = vmcs_read(VMX_INSTRUCTION_INFO);
	e->gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
	e->interruptibility = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
}

static __kvmd_hot void vmx_run(struct kvmd_vcpu *vcpu)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	int cpu = smp_processor_id();
	struct vmx_cpu *vc = this_cpu_ptr(&vmx_cpus);
	unsigned long host_dr7, host_kgs = 0, v;
	u16 ds, es, fs, gs;
	bool swap, step = vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP;
	u64 fs_base;
	int failed;

	vmx->exit.failed = false;
	if (!vc->enabled && vmx_hardware_enable()) {
		vmx->exit.reason = VMX_EXIT_MIGRATED;
		vmx->exit.failed = true;
		vmx->exit.insn_error = 0;
		return;
	}
	if (vmx->cpu >= 0 && vmx->cpu != cpu) {
		/* The VMCS must be cleared over there first, with interrupts on. */
		vmx->exit.reason = VMX_EXIT_MIGRATED;
		return;
	}
	vmx_load(vcpu, cpu);

	/*
	 * Virtual NMIs: the CPU keeps the NMI block, the generic code may
	 * have changed it (SMM entry and RSM, KVM_SET_VCPU_EVENTS). Not while
	 * injecting an NMI: the entry checks want the block clear then.
	 */
	if (vmx_caps.pin & PIN_BASED_VIRTUAL_NMIS) {
		u32 s = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
		bool block = vcpu->nmi.masked && !vcpu->nmi.injected;

		if (!!(s & GUEST_INTR_STATE_NMI) != block)
			vmcs_write(GUEST_INTERRUPTIBILITY_INFO,
				   s ^ GUEST_INTR_STATE_NMI);
		/*
		 * As KVM's nmi_known_unmasked: only an injected NMI blocks
		 * NMIs again (Bochs reports a block cleared here as still set).
		 */
		vmx->nmi_known_unmasked = !vcpu->nmi.masked;
	}

	/* With an MSR filter every access must reach it: no passthrough. */
	if (!!rcu_access_pointer(vcpu->vm->msr_filter) != vmx->msr_intercept_all) {
		vmx->msr_intercept_all = !vmx->msr_intercept_all;
		vmcs_write(MSR_BITMAP, __pa(vmx->msr_intercept_all ?
					    vmx_msr_bitmap_all : vmx_msr_bitmap));
	}

	if (vmx->need_flush) {
		vmx_invept(vmx_caps.invept_type, vmcs_read(EPT_POINTER));
		if (vmx->vpid)
			vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, vmx->vpid);
		vmx->need_flush = false;
	}

	/* Per-entry host state: the thread's address space and FS base. */
	v = __read_cr3();
	if (v != vmx->host_cr3) {
		vmx->host_cr3 = v;
		vmcs_write(HOST_CR3, v);
	}
	v = cr4_read_shadow();
	if (v != vmx->host_cr4) {
		vmx->host_cr4 = v;
		vmcs_write(HOST_CR4, v);
	}
	rdmsrl(MSR_FS_BASE, fs_base);
	vmcs_write(HOST_FS_BASE, fs_base);
	savesegment(ds, ds);
	savesegment(es, es);
	savesegment(fs, fs);
	savesegment(gs, gs);

	vmcs_write(GUEST_RSP, vcpu->regs[R_SP]);
	vmcs_write(GUEST_RIP, vcpu->rip);
	vmcs_write(GUEST_RFLAGS, vcpu->rflags | (step ? X86_EFLAGS_TF : 0));

	swap = vmx_swaps_msrs(vmx);
	if (swap) {
		rdmsrl(MSR_KERNEL_GS_BASE, host_kgs);
		wrmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
		wrmsrl(MSR_STAR, vmx->star);
		wrmsrl(MSR_LSTAR, vmx->lstar);
		wrmsrl(MSR_CSTAR, vmx->cstar);
		wrmsrl(MSR_SYSCALL_MASK, vmx->sfmask);
	}
	get_debugreg(host_dr7, 7);
	if (native_read_cr2() != vmx->cr2)
		native_write_cr2(vmx->cr2);

	failed = kvmd_vmx_enter(vcpu->regs, vmx->launched);

	vmx->cr2 = native_read_cr2();
	/* A VM exit leaves DR7 at 0x400 and the TSS limit at 0x67. */
	if (host_dr7 & VMX_DR7_BP_EN_MASK)
		set_debugreg(host_dr7, 7);
	invalidate_tss_limit();
	if (swap) {
		rdmsrl(MSR_KERNEL_GS_BASE, vmx->kernel_gs_base);
		wrmsrl(MSR_KERNEL_GS_BASE, host_kgs);
		wrmsrl(MSR_STAR, vc->star);
		wrmsrl(MSR_LSTAR, vc->lstar);
		wrmsrl(MSR_CSTAR, vc->cstar);
		wrmsrl(MSR_SYSCALL_MASK, vc->sfmask);
	}
	if (ds)
		loadsegment(ds, ds);
	if (es)
		loadsegment(es, es);
	if (fs) {
		loadsegment(fs, fs);
		wrmsrl(MSR_FS_BASE, fs_base);
	}
	if (gs) {
		u64 kgs;

		/* load_gs_index() clobbers the user GS base: keep it. */
		rdmsrl(MSR_KERNEL_GS_BASE, kgs);
		load_gs_index(gs);
		wrmsrl(MSR_KERNEL_GS_BASE, kgs);
	}

	if (failed) {
		vmx->exit.failed = true;
		vmx->exit.insn_error = vmcs_read(VM_INSTRUCTION_ERROR);
		vmx->exit.reason = 0;
		vmx->exit.idt_info = 0;
		return;
	}
	vmx->launched = true;
	vmx_read_exit(vmx);

	/* A host NMI caused this exit: hand it to the host's handler. */
	if ((vmx->exit.reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
	    (vmx->exit.intr_info & (INTR_INFO_VALID_MASK | INTR_INFO_INTR_TYPE_MASK)) ==
	    (INTR_INFO_VALID_MASK | INTR_TYPE_NMI_INTR))
		asm volatile("int $2");

	vcpu->regs[R_SP] = vmcs_read(GUEST_RSP);
	vcpu->rip = vmcs_read(GUEST_RIP);
	vcpu->rflags = vmcs_read(GUEST_RFLAGS);
	if (step)
		vcpu->rflags &= ~X86_EFLAGS_TF;
}

/* After a migration exit: clear the VMCS where it was, load it here. */
int vmx_migrate(struct kvmd_vcpu *vcpu)
{
	vmx_vcpu_get(vcpu);
	vmx_vcpu_put(vcpu);
	return KVMD_RESUME;
}

/* ---- control registers ---- */

void vmx_set_cr0(struct kvmd_vcpu *vcpu, u64 cr0)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 efer;

	vmx_vcpu_get(vcpu);
	efer = vmcs_read(GUEST_IA32_EFER);
	/* Paging on with EFER.LME is the switch into long mode, and back. */
	if (efer & EFER_LME) {
		if ((cr0 & X86_CR0_PG) && !(vmx->cr0_shadow & X86_CR0_PG))
			efer |= EFER_LMA;
		else if (!(cr0 & X86_CR0_PG))
			efer &= ~EFER_LMA;
		vmcs_write(GUEST_IA32_EFER, efer);
		if (efer & EFER_LMA)
			vmx->entry |= VM_ENTRY_IA32E_MODE;
		else
			vmx->entry &= ~VM_ENTRY_IA32E_MODE;
		vmcs_write(VM_ENTRY_CONTROLS, vmx->entry);
	}
	vmx->cr0_shadow = cr0;
	vmcs_write(CR0_READ_SHADOW, cr0);
	vmcs_write(GUEST_CR0, (cr0 | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
	vmx_vcpu_put(vcpu);
	vmx_load_pdptrs(vcpu);
}

void vmx_set_cr4(struct kvmd_vcpu *vcpu, u64 cr4)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_vcpu_get(vcpu);
	vmx->cr4_shadow = cr4;
	vmcs_write(CR4_READ_SHADOW, cr4);
	vmcs_write(GUEST_CR4, (cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
	vmx_vcpu_put(vcpu);
	vmx_load_pdptrs(vcpu);
}

/*
 * PAE paging outside long mode: the CPU takes the four PDPTEs from the
 * VMCS at entry, so a CR0/CR3/CR4 set from outside must put them there.
 */
void vmx_load_pdptrs(struct kvmd_vcpu *vcpu)
{
	u64 pdpte[4] = { 0 };
	u64 cr3;
	int i;

	vmx_vcpu_get(vcpu);
	if (!(vmx_get_cr(vcpu, 0) & X86_CR0_PG) ||
	    !(vmx_get_cr(vcpu, 4) & X86_CR4_PAE) ||
	    (vmcs_read(GUEST_IA32_EFER) & EFER_LMA)) {
		vmx_vcpu_put(vcpu);
		return;
	}
	cr3 = vmcs_read(GUEST_CR3);
	vmx_vcpu_put(vcpu);
	if (kvmd_vcpu_read_guest(vcpu, cr3 & ~0x1fULL, pdpte, sizeof(pdpte)))
		memset(pdpte, 0, sizeof(pdpte));
	vmx_vcpu_get(vcpu);
	for (i = 0; i < 4; i++)
		vmcs_write(GUEST_PDPTR0 + i * 2, pdpte[i]);
	vmx_vcpu_put(vcpu);
}

__kvmd_hot u64 vmx_get_cr(struct kvmd_vcpu *vcpu, int cr)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);
	u64 v = 0;

	vmx_vcpu_get(vcpu);
	switch (cr) {
	case 0:
		v = (vmcs_read(GUEST_CR0) & ~(u64)VMX_CR0_HOST_OWNED) |
		    (vmx->cr0_shadow & VMX_CR0_HOST_OWNED);
		break;
	case 2:
		v = vmx->cr2;
		break;
	case 3:
		v = vmcs_read(GUEST_CR3);
		break;
	case 4:
		v = (vmcs_read(GUEST_CR4) & ~(u64)X86_CR4_VMXE) |
		    (vmx->cr4_shadow & X86_CR4_VMXE);
		break;
	case 8:
		v = vmx->cr8;
		break;
	}
	vmx_vcpu_put(vcpu);
	return v;
}

__kvmd_hot u64 vmx_get_efer(struct kvmd_vcpu *vcpu)
{
	u64 v;

	vmx_vcpu_get(vcpu);
	v = vmcs_read(GUEST_IA32_EFER);
	vmx_vcpu_put(vcpu);
	return v;
}

static void vmx_set_efer(struct kvmd_vcpu *vcpu, u64 efer)
{
	struct vmx_vcpu *vmx = to_vmx(vcpu);

	vmx_vcpu_get(vcpu);
	vmcs_write(GUEST_IA32_EFER, efer);
	if (efer & EFER_LMA)
		vmx->entry |= VM_ENTRY_IA32E_MODE;
	else
		vmx->entry &= ~VM_ENTRY_IA32E_MODE;
	vmcs_write(VM_ENTRY_CONTROLS, vmx->entry);
	vmx_vcpu_put(vcpu);
}

static void vmx_set_cr2(struct kvmd_vcpu *vcpu, u64 v)
{
	to_vmx(vcpu)->cr2 = v;
}

static void vmx_set_cr3(struct kvmd_vcpu *vcpu, u64 v)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(GUEST_CR3, v);
	vmx_vcpu_put(vcpu);
	vmx_load_pdptrs(vcpu);
}

static __kvmd_hot void vmx_set_cr8(struct kvmd_vcpu *vcpu, u64 v)
{
	to_vmx(vcpu)->cr8 = v & 0xf;
}

static void vmx_flush_tlb(struct kvmd_vcpu *vcpu)
{
	/* INVEPT acts on the CPU that runs it: do it right before entry. */
	to_vmx(vcpu)->need_flush = true;
}

static void vmx_set_tsc_offset(struct kvmd_vcpu *vcpu, u64 offset)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(TSC_OFFSET, offset);
	vmx_vcpu_put(vcpu);
}

static void vmx_set_tdp_root(struct kvmd_vcpu *vcpu, u64 root_pa)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(EPT_POINTER, vmx_eptp(root_pa));
	vmx_vcpu_put(vcpu);
}


/* ---- the table ---- */

/*
 * Without "enable INVPCID" the instruction is #UD in VMX non-root
 * operation: a CPU whose VMX lacks that control offers no INVPCID to
 * guests (a Linux guest with PCID would use it for its global flushes).
 */
static u32 vmx_cpuid_mask(u32 function, u32 index, int reg)
{
	if (function == 7 && !index && reg == 1 &&
	    !(vmx_caps.proc2 & SECONDARY_EXEC_ENABLE_INVPCID))
		return ~(1U << 10);
	return ~0U;
}

/* KVM_SET_CPUID2 changed what the guest may run (vmx_proc2). */
static void vmx_cpuid_changed(struct kvmd_vcpu *vcpu)
{
	vmx_vcpu_get(vcpu);
	vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmx_proc2(vcpu));
	vmx_vcpu_put(vcpu);
}

const struct kvmd_vendor_ops kvmd_vmx_ops = {
	.name			= "Intel VMX",
	.hypercall_insn		= { 0x0f, 0x01, 0xc1 },	/* VMCALL */
	.hardware_setup		= vmx_hardware_setup,
	.hardware_unsetup	= vmx_hardware_unsetup,
	.hardware_enable	= vmx_hardware_enable,
	.hardware_disable	= vmx_hardware_disable,
	.tdp_pte		= vmx_tdp_pte,
	.tdp_table_pte		= vmx_tdp_table_pte,
	.tdp_present_mask	= EPT_R,
	.tdp_write_mask		= EPT_W,
	.vcpu_create		= vmx_vcpu_create,
	.vcpu_free		= vmx_vcpu_free,
	.vcpu_reset		= vmx_vcpu_reset,
	.run			= vmx_run,
	.handle_exit		= vmx_handle_exit,
	.get_exit_info		= vmx_get_exit_info,
	.get_segment		= vmx_get_segment,
	.set_segment		= vmx_set_segment,
	.get_dtable		= vmx_get_dtable,
	.set_dtable		= vmx_set_dtable,
	.get_cpl		= vmx_get_cpl,
	.get_cr			= vmx_get_cr,
	.get_efer		= vmx_get_efer,
	.set_cr0		= vmx_set_cr0,
	.set_cr2		= vmx_set_cr2,
	.set_cr3		= vmx_set_cr3,
	.set_cr4		= vmx_set_cr4,
	.set_cr8		= vmx_set_cr8,
	.set_efer		= vmx_set_efer,
	.get_dr6		= vmx_get_dr6,
	.get_dr7		= vmx_get_dr7,
	.set_dr7		= vmx_set_dr7,
	.get_msr		= vmx_get_msr,
	.set_msr		= vmx_set_msr,
	.get_interrupt_shadow	= vmx_get_interrupt_shadow,
	.set_interrupt_shadow	= vmx_set_interrupt_shadow,
	.inject_irq		= vmx_inject_irq,
	.inject_nmi		= vmx_inject_nmi,
	.inject_exception	= vmx_inject_exception,
	.enable_irq_window	= vmx_enable_irq_window,
	.enable_nmi_window	= vmx_enable_nmi_window,
	.complete_events	= vmx_complete_events,
	.update_debug		= vmx_update_debug,
	.flush_tlb		= vmx_flush_tlb,
	.set_tsc_offset		= vmx_set_tsc_offset,
	.set_tdp_root		= vmx_set_tdp_root,
	.cpuid_mask		= vmx_cpuid_mask,
	.cpuid_changed		= vmx_cpuid_changed,
};
