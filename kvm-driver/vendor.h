/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/vendor.h: the operations table a CPU vendor backend (SVM, VMX) fills. */
#ifndef KVMDRV_VENDOR_H
#define KVMDRV_VENDOR_H

#include <linux/kvm.h>
#include <linux/types.h>

struct kvmd_vm;
struct kvmd_vcpu;

/* What a handler tells the run loop. */
enum {
	KVMD_EXIT_USER = 0,	/* kvm_run is filled: return to userspace */
	KVMD_RESUME = 1,	/* handled in the kernel: enter the guest again */
};

/* Segment indices shared by the generic code and every backend. */
enum kvmd_seg {
	KVMD_SEG_ES, KVMD_SEG_CS, KVMD_SEG_SS, KVMD_SEG_DS,
	KVMD_SEG_FS, KVMD_SEG_GS, KVMD_SEG_TR, KVMD_SEG_LDTR,
	KVMD_NR_SEGS
};

/*
 * Every vendor-specific operation. Generic code (vm.c, vcpu.c, the MMU, the
 * emulator) only calls through this table; a backend never calls generic
 * code except through the helpers declared in kvmdrv.h.
 */
struct kvmd_vendor_ops {
	const char *name;
	/* The hypercall instruction a hypercall page holds (VMMCALL, VMCALL). */
	u8 hypercall_insn[3];

	/* Module lifetime: probe support, allocate per-CPU areas. */
	int (*hardware_setup)(void);
	void (*hardware_unsetup)(void);
	/* Per CPU, with preemption disabled; enable returns -EBUSY if taken. */
	int (*hardware_enable)(void);
	void (*hardware_disable)(void);

	/* Nested page table entry format (second-level translation): a leaf
	 * mapping guest memory, and an entry pointing to the next table. */
	u64 (*tdp_pte)(u64 pfn, bool writable, bool large);
	u64 (*tdp_table_pte)(u64 pfn);
	u64 tdp_present_mask;
	u64 tdp_write_mask;
	/* Depth of the tables (default 4 when NULL). */
	int (*tdp_levels)(void);

	int (*vcpu_create)(struct kvmd_vcpu *vcpu);
	void (*vcpu_free)(struct kvmd_vcpu *vcpu);
	/* Vendor state at power-on; the generic registers are reset after. */
	void (*vcpu_reset)(struct kvmd_vcpu *vcpu);
	/*
	 * Optional: KVM_RUN begins on this thread; host state the vendor
	 * keeps across entries (SVM: the VMSAVE of the host) is stale.
	 */
	void (*prepare_run)(struct kvmd_vcpu *vcpu);

	/*
	 * Enter the guest once. Called with interrupts and preemption
	 * disabled and the guest FPU loaded; returns with the exit recorded.
	 */
	void (*run)(struct kvmd_vcpu *vcpu);
	/* Dispatch the recorded exit: KVMD_RESUME, KVMD_EXIT_USER or -errno. */
	int (*handle_exit)(struct kvmd_vcpu *vcpu);
	/*
	 * The recorded exit as an emulation failure reports it: reason, two
	 * details, the event being delivered and its error code (KVM's
	 * get_exit_info).
	 */
	void (*get_exit_info)(struct kvmd_vcpu *vcpu, u64 info[5]);

	/* Architectural state not kept in struct kvmd_vcpu. */
	void (*get_segment)(struct kvmd_vcpu *vcpu, struct kvm_segment *s,
			    enum kvmd_seg seg);
	void (*set_segment)(struct kvmd_vcpu *vcpu,
			    const struct kvm_segment *s, enum kvmd_seg seg);
	void (*get_dtable)(struct kvmd_vcpu *vcpu, struct kvm_dtable *d,
			   bool idt);
	void (*set_dtable)(struct kvmd_vcpu *vcpu,
			   const struct kvm_dtable *d, bool idt);
	int (*get_cpl)(struct kvmd_vcpu *vcpu);
	u64 (*get_cr)(struct kvmd_vcpu *vcpu, int cr);
	u64 (*get_efer)(struct kvmd_vcpu *vcpu);
	void (*set_cr0)(struct kvmd_vcpu *vcpu, u64 cr0);
	void (*set_cr2)(struct kvmd_vcpu *vcpu, u64 cr2);
	void (*set_cr3)(struct kvmd_vcpu *vcpu, u64 cr3);
	void (*set_cr4)(struct kvmd_vcpu *vcpu, u64 cr4);
	void (*set_cr8)(struct kvmd_vcpu *vcpu, u64 cr8);
	void (*set_efer)(struct kvmd_vcpu *vcpu, u64 efer);
	u64 (*get_dr6)(struct kvmd_vcpu *vcpu);
	u64 (*get_dr7)(struct kvmd_vcpu *vcpu);
	void (*set_dr7)(struct kvmd_vcpu *vcpu, u64 dr7);

	/* MSRs the hardware keeps in its control block (bases, SYSCALL...). */
	int (*get_msr)(struct kvmd_vcpu *vcpu, u32 index, u64 *data);
	int (*set_msr)(struct kvmd_vcpu *vcpu, u32 index, u64 data);

	/* Events. */
	u32 (*get_interrupt_shadow)(struct kvmd_vcpu *vcpu);
	void (*set_interrupt_shadow)(struct kvmd_vcpu *vcpu, u32 shadow);
	void (*inject_irq)(struct kvmd_vcpu *vcpu, u8 vector);
	void (*inject_nmi)(struct kvmd_vcpu *vcpu);
	void (*inject_exception)(struct kvmd_vcpu *vcpu, u8 vector,
				 bool has_error, u32 error_code);
	void (*enable_irq_window)(struct kvmd_vcpu *vcpu);
	void (*enable_nmi_window)(struct kvmd_vcpu *vcpu);
	/* After each exit: move half-delivered events back to the queues. */
	void (*complete_events)(struct kvmd_vcpu *vcpu);

	void (*update_debug)(struct kvmd_vcpu *vcpu);
	/* TLB: forget every translation of this vCPU before the next entry. */
	void (*flush_tlb)(struct kvmd_vcpu *vcpu);
	void (*set_tsc_offset)(struct kvmd_vcpu *vcpu, u64 offset);

	/* smm.c: SMM entry and RSM switch the second-level root (the TLB is flushed after). */
	void (*set_tdp_root)(struct kvmd_vcpu *vcpu, u64 root_pa);
	/*
	 * Optional, at an SMI once the state save map (@smstate, 512 bytes)
	 * holds the vCPU's state: add the vendor's fields, leave a nested guest.
	 */
	void (*enter_smm)(struct kvmd_vcpu *vcpu, u8 *smstate);
	/*
	 * Optional, at RSM: the vendor's fields of the state save map
	 * (@smstate: its 512 bytes at SMBASE + 0xFE00); nonzero fails the RSM.
	 */
	int (*leave_smm)(struct kvmd_vcpu *vcpu, const u8 *smstate);
	/*
	 * Nested virtualization (a guest hypervisor), all NULL when not offered.
	 * events_blocked: interrupts and NMIs must wait (e.g. GIF clear).
	 * nested_intr_exits: an interrupt would be #VMEXIT(INTR) to L1 now,
	 * whatever L2's own IF and interrupt shadow say.
	 * nested_triple_fault: a pending triple fault became an exit to L1.
	 * nested_events: before injection, turn events L1 intercepts into exits.
	 * nested_cpuid: add the feature to KVM_GET_SUPPORTED_CPUID.
	 * get/set_nested_state: KVM_GET/SET_NESTED_STATE, with KVM's errnos;
	 * nested_state_size: what KVM_CAP_NESTED_STATE reports.
	 * save_msrs: MSRs of the feature for KVM_GET_MSR_INDEX_LIST.
	 * tdp_changed: tables built from the second-level ones must follow.
	 */
	/*
	 * Optional. cpuid_mask: which bits of a CPUID register (@reg 0-3:
	 * EAX..EDX) guests may have on this vendor, as KVM's vmx_set_cpu_caps()
	 * clears what the CPU's VMX cannot run; applied to
	 * KVM_GET_SUPPORTED_CPUID and KVM_SET_CPUID2 alike. cpuid_changed:
	 * after KVM_SET_CPUID2, the controls that follow the guest's CPUID.
	 */
	u32 (*cpuid_mask)(u32 function, u32 index, int reg);
	void (*cpuid_changed)(struct kvmd_vcpu *vcpu);
	bool (*events_blocked)(struct kvmd_vcpu *vcpu);
	bool (*nested_intr_exits)(struct kvmd_vcpu *vcpu);
	bool (*nested_triple_fault)(struct kvmd_vcpu *vcpu);
	void (*nested_events)(struct kvmd_vcpu *vcpu);
	int (*nested_cpuid)(struct kvm_cpuid_entry2 *ents, int n, int max);
	int (*get_nested_state)(struct kvmd_vcpu *vcpu,
				struct kvm_nested_state __user *ustate);
	int (*set_nested_state)(struct kvmd_vcpu *vcpu,
				struct kvm_nested_state __user *ustate);
	int (*nested_state_size)(void);
	const u32 *save_msrs;
	unsigned int nr_save_msrs;
	/* Under mmu_lock: second-level entries were cleared or write-protected. */
	void (*tdp_changed)(struct kvmd_vm *vm);
	/* Optional, async_pf.c: whether the vCPU runs a nested guest (L2). */
	bool (*is_guest_mode)(struct kvmd_vcpu *vcpu);
};

extern const struct kvmd_vendor_ops *kvmd_ops;
extern const struct kvmd_vendor_ops kvmd_svm_ops;
extern const struct kvmd_vendor_ops kvmd_vmx_ops;

#endif
