/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/kvmdrv.h: the generic VM, vCPU and memory slot structures and helpers. */
#ifndef KVMDRV_H
#define KVMDRV_H

#include <linux/kvm.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/preempt.h>
#include <linux/refcount.h>
#include <linux/rwsem.h>
#include <linux/signal.h>
#include <linux/spinlock.h>
#include <linux/srcu.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <asm/fpu/api.h>
#include <asm/fpu/types.h>

#include "vendor.h"
#include "irq.h"

/*
 * The code every exit runs (KVM_RUN's loop, the world switch around it,
 * the handlers of the PIO, MMIO and CPUID exits and what they call) goes
 * in .text.hot, where GCC places functions marked hot: a few adjacent
 * pages instead of one or two per source file. Each page an exit touches
 * costs an iTLB miss on hardware and a softmmu fill under TCG, where the
 * world switch flushes the TLB every time. Cold paths stay out of it.
 */
#define __kvmd_hot	__attribute__((__hot__))

#define KVMD_MAX_VCPUS		1024	/* KVM_CAP_MAX_VCPUS, as KVM on x86 */
#define KVMD_MAX_VCPU_ID	4096	/* KVM_CAP_MAX_VCPU_ID, as KVM on x86 */
#define KVMD_MEM_SLOTS		32
#define KVMD_ADDRESS_SPACES	2	/* KVM_CAP_MULTI_ADDRESS_SPACE: memory, SMRAM (smm.c) */
/* Table pages one second-level fault may need (levels 5..2). */
#define KVMD_TDP_CACHE		4
/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 options, as x86 KVM offers them */
#define KVMD_DIRTY_LOG_MANUAL_CAPS	(KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | \
					 KVM_DIRTY_LOG_INITIALLY_SET)
#define KVMD_MAX_SLOT_PAGES	(1UL << 31)
#define KVMD_MAX_CPUID		256
#define KVMD_MAX_IO_MSRS	256
#define KVMD_PIO_PAGE		1	/* PIO data lives in the second run page */
#define KVMD_RUN_PAGES		2
#define KVMD_COALESCED_PAGE	2	/* then the VM's coalesced ring (KVM's offset on x86) */
#define KVMD_VCPU_MMAP_PAGES	3
#define KVMD_COALESCED_MAX	1000	/* zones per address space, as KVM's NR_IOBUS_DEVS */
#define KVMD_MCE_BANKS		32	/* machine-check banks, as many as KVM */
#define KVMD_MAX_IRQ_ROUTES	4096	/* what KVM_CAP_IRQ_ROUTING reports, as KVM */
#define KVMD_MIN_MMU_PAGES	64	/* KVM_SET_NR_MMU_PAGES floor, as KVM */
#define KVMD_MSR_UNKNOWN	2	/* kvmd_msr_read/write: no such MSR here (1: #GP) */
#define KVMD_MSR_FILTERED	3	/* the VM's MSR filter denied the access */
#define KVMD_SYNC_REGS		(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS | KVM_SYNC_X86_EVENTS)

/* General purpose register indices, in the hardware's ModRM order. */
enum {
	R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
	R_8, R_9, R_10, R_11, R_12, R_13, R_14, R_15,
	KVMD_NR_GPRS
};

/* vCPU requests, serviced before each entry. */
enum {
	KVMD_REQ_TLB_FLUSH,
	KVMD_REQ_TRIPLE_FAULT,		/* a machine check could not be delivered */
	KVMD_REQ_CLOCK_UPDATE,		/* rewrite the kvmclock time page */
	KVMD_REQ_EVENT,			/* an interrupt, NMI, INIT or SIPI may be pending */
	KVMD_REQ_EOI_EXIT,		/* split irqchip: report an EOI to userspace */
	KVMD_REQ_TPR_ACCESS,		/* report a TPR access (KVM_TPR_ACCESS_REPORTING) */
	KVMD_REQ_STEAL_UPDATE,		/* add the run delay to the guest's steal time */
	KVMD_REQ_SMI,			/* KVM_SMI or an APIC's SMI: latch it (smm.c) */
	KVMD_REQ_HV,			/* Hyper-V: an exit, a crash or reset, a timer (hyperv.c) */
	KVMD_REQ_APF_HALT,		/* async_pf.c: wait in the kernel for a page */
	KVMD_REQ_APF_READY,		/* async_pf.c: a page came in: tell the guest */
};

enum kvmd_vcpu_mode {
	KVMD_OUTSIDE_GUEST,
	KVMD_IN_GUEST,
};

struct kvmd_memslot {
	u64 base_gfn;
	u64 npages;
	unsigned long hva;
	u32 flags;
	unsigned long *dirty_bitmap;
};

struct kvmd_vm {
	refcount_t refs;
	struct mm_struct *mm;
	struct mutex lock;		/* vCPU creation, VM-wide settings */

	/*
	 * Slots per address space (1: what a vCPU in SMM sees): written under
	 * slots_sem (write) + mmu_lock, read under either.
	 */
	struct rw_semaphore slots_sem;
	struct kvmd_memslot slots[KVMD_ADDRESS_SPACES][KVMD_MEM_SLOTS];

	/* Second-level page tables, a root per address space, guarded by mmu_lock. */
	spinlock_t mmu_lock;
	u64 *tdp_root[KVMD_ADDRESS_SPACES];
	unsigned long mmu_seq;
	long mmu_invalidating;
	unsigned long tdp_pages;	/* table pages, for leak accounting */
	int tdp_levels;			/* 4, or 5 when the host pages with LA57 */
	struct mmu_notifier mn;
	bool mn_registered;

	struct kvmd_vcpu *vcpus[KVMD_MAX_VCPUS];
	int nr_vcpus;
	u32 max_vcpu_ids;		/* KVM_CAP_MAX_VCPU_ID, fixed at the first vCPU */
	u64 tss_addr;
	u64 identity_map_addr;
	unsigned long nr_mmu_pages;	/* KVM_SET_NR_MMU_PAGES: kept, nothing to bound */
	bool slots_committed;		/* a slot change ever succeeded: KVM's page budget */

	/* The TSC offset of the vCPUs created within a second of each other. */
	u64 tsc_offset;
	u64 tsc_offset_ns;		/* when the last vCPU took it */

	/* kvmclock: ns = base_ns + ((host TSC - base_tsc) scaled by mul, shift). */
	u64 kvmclock_base_tsc;
	u64 kvmclock_base_ns;
	u32 kvmclock_mul;
	s8 kvmclock_shift;
	u32 kvmclock_wall_version;

	/* Coalesced MMIO/PIO (coalesced.c): zones under lock + RCU, ring under coalesced_lock. */
	struct kvm_coalesced_mmio_ring *coalesced_ring;
	spinlock_t coalesced_lock;
	struct kvmd_coalesced_zones __rcu *coalesced_zones;

	/* In-kernel interrupt controllers: the locking rules are in irq.h. */
	struct mutex irq_lock;		/* bus and routing updates, irqchip creation */
	struct srcu_struct irq_srcu;
	int irqchip_mode;		/* enum kvmd_irqchip_mode, set once */
	u32 nr_reserved_ioapic_pins;	/* split irqchip: GSIs userspace keeps */
	struct kvmd_io_bus __rcu *buses[KVMD_NR_BUSES];
	struct kvmd_irq_routing_table __rcu *irq_routing;
	struct hlist_head irq_ack_notifiers;	/* under irq_lock, read under irq_srcu */
	struct hlist_head irq_mask_notifiers;	/* the same */
	unsigned long irq_sources;	/* allocated irq source IDs, under irq_lock */
	struct kvmd_pic *pic;
	struct kvmd_ioapic *ioapic;
	struct kvmd_pit *pit;
	struct kvmd_eventfds *eventfds;
	u32 bsp_vcpu_id;

	/* features.c, msrfilter.c, stats.c: VM-wide settings and counters. */
	u64 disabled_quirks;		/* KVM_CAP_DISABLE_QUIRKS(2) */
	bool platform_info_readable;	/* KVM_CAP_MSR_PLATFORM_INFO, on by default */
	u64 manual_dirty_log;		/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 options */
	u32 user_space_msr_mask;	/* KVM_CAP_X86_USER_SPACE_MSR: KVM_MSR_EXIT_REASON_* */
	bool triple_fault_event;	/* KVM_CAP_X86_TRIPLE_FAULT_EVENT */
	struct kvmd_msr_filter __rcu *msr_filter;	/* KVM_X86_SET_MSR_FILTER */
	struct kvmd_hv *hv;		/* Hyper-V partition state (hyperv.c), or NULL */
	struct {
		atomic64_t remote_tlb_flush;
	} stat;
};

/* Work left half-done when KVM_RUN returned to userspace for I/O. */
enum kvmd_pending {
	KVMD_PENDING_NONE,
	KVMD_PENDING_PIO,
	KVMD_PENDING_MMIO,
};

#define KVMD_MMIO_CACHE 2

struct kvmd_vcpu {
	struct kvmd_vm *vm;
	u32 id;
	struct kvm_run *run;
	struct mutex mutex;		/* one ioctl at a time */
	void *priv;			/* the backend's per-vCPU state */
	/* mmu/npt.c: table pages for the next fault, kept across faults */
	u64 *tdp_cache[KVMD_TDP_CACHE];
	int tdp_cache_n;

	unsigned long regs[KVMD_NR_GPRS];
	u64 rip;
	u64 rflags;
	/* xsave.c: the guest's XSAVE area (the kernel's guest fpstate), XCR0, PKRU */
	struct fpu_guest guest_fpu;
	u64 xcr0;
	u64 guest_supported_xcr0;	/* what the guest's CPUID leaf 0xD allows */
	u32 pkru;
	u32 host_pkru;
	bool xcr0_loaded;
	bool pkru_loaded;
	/* cpumsr.c */
	u64 tsc_aux;
	u64 arch_capabilities;
	u64 poll_control;		/* MSR_KVM_POLL_CONTROL */

	int cpu;			/* CPU of the last entry */
	int mode;
	unsigned long requests;

	struct {
		bool pending;
		bool injected;
		bool has_error;
		u8 nr;
		u32 error;
	} exception;
	struct {
		bool injected;
		bool soft;
		u8 nr;
	} interrupt;
	struct {
		bool pending;
		bool injected;
		bool masked;
		u64 iret_rip;		/* unmask once RIP leaves the IRET */
		bool iret_seen;
	} nmi;

	struct kvmd_lapic *apic;		/* the in-kernel local APIC, or NULL */
	wait_queue_head_t wq;		/* in-kernel HLT and wait-for-SIPI sleep here */
	u64 vapic_addr;			/* KVM_SET_VAPIC_ADDR: TPR mirror page, or 0 */
	bool tpr_access_reporting;	/* KVM_TPR_ACCESS_REPORTING */
	int extint_vector;		/* split irqchip: KVM_INTERRUPT's vector, or -1 */
	u64 apic_base;
	u64 kvmclock_system_time;	/* MSR_KVM_SYSTEM_TIME(_NEW): page GPA | enable */
	u64 kvmclock_wall_clock;	/* MSR_KVM_WALL_CLOCK(_NEW) */
	u32 kvmclock_version;		/* of the time page, even */
	u64 mcg_cap;
	u64 mcg_ctl;
	u64 mcg_status;
	u64 mce_banks[KVMD_MCE_BANKS * 4];	/* CTL, STATUS, ADDR, MISC per bank */
	u64 tsc_offset;
	u64 tsc_adjust;			/* MSR_IA32_TSC_ADJUST */
	u64 misc_enable;
	u64 mtrr_deftype;
	u64 mtrr_fixed[11];
	u64 mtrr_var[16];
	/* debug.c: the guest's DR0-3, DR6, DR7; the debugger's (KVM_GUESTDBG_USE_HW_BP) */
	u64 dr[4];
	u64 dr6;
	u64 dr7;
	u64 debug_db[4];
	u64 debug_dr7;
	bool dr_passthrough;		/* guest MOV DR runs natively until the next exit */
	u32 guest_debug;
	u32 mp_state;

	struct kvm_cpuid_entry2 *cpuid;
	int cpuid_nent;

	sigset_t sigset;
	bool sigset_active;

	/* Userspace I/O completion. */
	enum kvmd_pending pending;
	u64 pending_rip;		/* RIP of the exit; SET_REGS elsewhere cancels */
	u64 fault_gpa;			/* guest-physical address of the last NPT fault */
	bool fault_gpa_valid;
	struct {
		u16 port;
		u8 size;
		u32 count;
		bool string;
		bool rep;
		u8 addr_size;
		u64 next_rip;
	} pio;
	struct {
		u64 gpa;
		u32 len;
		u64 data;
	} mmio_cache[KVMD_MMIO_CACHE];
	int mmio_cached;		/* completed reads available */
	int mmio_used;			/* reads consumed by this pass */
	struct {			/* a split write's second MMIO part, not yet exited */
		u64 gpa;
		u32 len;
		u64 data;
	} mmio_next;
	struct {			/* a string IN's MMIO part: data in the PIO page, 8 bytes an exit */
		u64 gpa[2];
		u32 len[2];
		u32 off[2];
		int n, cur;		/* fragments, the one exiting next; n == 0: none */
	} mmio_str;

	/* Statistics for tests and the benchmark. */
	u64 exits;
	struct {			/* KVM_GET_STATS_FD (stats.c) */
		u64 hypercalls;
		u64 io_exits;
		u64 mmio_exits;
		u64 signal_exits;
		u64 msr_exits;
		u64 tlb_flush;		/* guest TLB flushes: requested, or the guest's (pv.c) */
	} stat;

	/* features.c, pv.c, msrfilter.c */
	u64 platform_info;		/* MSR_PLATFORM_INFO */
	u64 misc_features;		/* MSR_MISC_FEATURES_ENABLES */
	u64 power_ctl;			/* MSR_IA32_POWER_CTL: kept, as KVM */
	bool pv_enforce;		/* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	bool pv_unhalted;		/* KVM_HC_KICK_CPU woke it */
	u64 steal_msr;			/* MSR_KVM_STEAL_TIME */
	u64 last_steal;			/* run_delay at the last update */
	u8 st_preempted;		/* what pv.c last wrote in the guest's preempted byte */
	bool at_insn_boundary;		/* the last exit was a host interrupt's (pv.c) */
	struct preempt_notifier preempt_notifier;	/* during KVM_RUN (pv.c) */
	u64 pv_eoi_msr;			/* MSR_KVM_PV_EOI_EN (lapic.c uses it) */
	struct {			/* an MSR access userspace completes */
		bool pending;
		bool write;
	} msr_exit;

	/* smm.c: system management mode */
	struct {
		bool active;		/* in SMM: the vCPU sees address space 1 */
		bool inside_nmi;	/* NMIs were blocked at the SMI: still after RSM */
		bool pending;		/* an SMI waits for delivery */
		u64 smbase;		/* MSR_IA32_SMBASE */
		u64 count;		/* MSR_SMI_COUNT */
	} smm;
	struct kvmd_vcpu_hv *hv;	/* Hyper-V state (hyperv.c), or NULL */

	/* async_pf.c: asynchronous page faults; the locking rules are there */
	struct {
		u64 msr_en;		/* MSR_KVM_ASYNC_PF_EN */
		u64 msr_int;		/* MSR_KVM_ASYNC_PF_INT */
		bool send_user_only;	/* not KVM_ASYNC_PF_SEND_ALWAYS */
		bool as_pf_vmexit;	/* KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT */
		bool halted;		/* waiting for a page in the kernel */
		bool pageready_pending;	/* a "page ready" not yet acknowledged */
		u32 id;			/* the next token's sequence number */
		u32 queued;		/* works on the queue, at most KVMD_APF_MAX */
		struct list_head queue;	/* every work not yet dequeued */
		spinlock_t lock;	/* guards done */
		struct list_head done;	/* works whose page is in */
	} apf;
};

/* The address space of the vCPU's memory accesses (KVM's kvm_arch_vcpu_memslots_id). */
static inline void *kvmd_pio_data(struct kvmd_vcpu *vcpu)
{
	return (void *)vcpu->run + KVMD_PIO_PAGE * PAGE_SIZE;
}

static inline int kvmd_vcpu_as_id(struct kvmd_vcpu *vcpu)
{
	return vcpu->smm.active ? 1 : 0;
}

static inline void kvmd_make_request(struct kvmd_vcpu *vcpu, int req)
{
	set_bit(req, &vcpu->requests);
}

/*
 * Whether any device sits on a bus, or any coalesced zone is registered:
 * a plain look, so an exit to userspace on a VM without them (the common
 * case for PIO without the in-kernel irqchip) takes no SRCU or RCU walk.
 */
static inline bool kvmd_io_bus_has_devices(struct kvmd_vm *vm, enum kvmd_bus bus)
{
	return rcu_access_pointer(vm->buses[bus]);
}

static inline bool kvmd_coalesced_any(struct kvmd_vm *vm)
{
	return rcu_access_pointer(vm->coalesced_zones);
}

/*
 * As KVM's kvm_check_request(): a plain read first, so an entry with no
 * request pending does no locked read-modify-write per request it checks.
 * The clearing that follows a set bit still orders like test_and_clear.
 */
static inline bool kvmd_check_request(struct kvmd_vcpu *vcpu, int req)
{
	if (!test_bit(req, &vcpu->requests))
		return false;
	return test_and_clear_bit(req, &vcpu->requests);
}

/* main.c */
int kvmd_hardware_get(void);
void kvmd_hardware_put(void);
extern struct mutex kvmd_lock;

/* vm.c */
int kvmd_create_vm(unsigned long type);
void kvmd_vm_get(struct kvmd_vm *vm);
void kvmd_vm_put(struct kvmd_vm *vm);
long kvmd_check_extension(struct kvmd_vm *vm, long ext);

/* coalesced.c */
struct kvmd_coalesced_zones;
int kvmd_coalesced_init(struct kvmd_vm *vm);
void kvmd_coalesced_destroy(struct kvmd_vm *vm);
struct page *kvmd_coalesced_page(struct kvmd_vm *vm);
long kvmd_coalesced_ioctl(struct kvmd_vm *vm, unsigned int ioctl,
			  void __user *argp);
bool kvmd_coalesced_write(struct kvmd_vm *vm, u64 addr, int len,
			  const void *val, bool pio);
void kvmd_flush_remote_tlbs(struct kvmd_vm *vm);
void kvmd_kick_vcpu(struct kvmd_vcpu *vcpu);

/* vcpu.c */
int kvmd_create_vcpu(struct kvmd_vm *vm, u32 id);
void kvmd_vcpu_destroy(struct kvmd_vcpu *vcpu);
void kvmd_queue_exception(struct kvmd_vcpu *vcpu, u8 nr);
void kvmd_queue_exception_e(struct kvmd_vcpu *vcpu, u8 nr, u32 error);
void kvmd_skip_insn(struct kvmd_vcpu *vcpu, unsigned int len);
int kvmd_handle_io(struct kvmd_vcpu *vcpu, u16 port, u8 size, bool in,
		   bool string, bool rep, u8 addr_size, int seg, u64 next_rip);
int kvmd_pio_out(struct kvmd_vcpu *vcpu, u16 port, u8 size, const void *val,
		 u64 next_rip);
int kvmd_handle_hlt(struct kvmd_vcpu *vcpu);
int kvmd_set_tpr(struct kvmd_vcpu *vcpu, u64 tpr);
int kvmd_handle_shutdown(struct kvmd_vcpu *vcpu);
void kvmd_vcpu_init_reset(struct kvmd_vcpu *vcpu);
int kvmd_internal_error(struct kvmd_vcpu *vcpu, u32 suberror, u64 info1,
			u64 info2);
int kvmd_emulation_failure(struct kvmd_vcpu *vcpu);
bool kvmd_interrupt_allowed(struct kvmd_vcpu *vcpu);
bool kvmd_valid_cr4(struct kvmd_vcpu *vcpu, u64 cr4);

/* cr.c */
bool kvmd_pdptrs_ok(struct kvmd_vcpu *vcpu, u64 cr3);
int kvmd_guest_set_cr0(struct kvmd_vcpu *vcpu, u64 val);
int kvmd_guest_set_cr4(struct kvmd_vcpu *vcpu, u64 val);

/* memslot.c */
int kvmd_set_memory_region(struct kvmd_vm *vm,
			   const struct kvm_userspace_memory_region *mem);
int kvmd_get_dirty_log(struct kvmd_vm *vm, struct kvm_dirty_log *log);
int kvmd_clear_dirty_log(struct kvmd_vm *vm, struct kvm_clear_dirty_log *log);
void kvmd_free_memslots(struct kvmd_vm *vm);
struct kvmd_memslot *kvmd_gfn_to_slot(struct kvmd_vm *vm, int as_id, u64 gfn);
int kvmd_read_guest(struct kvmd_vm *vm, u64 gpa, void *buf, unsigned int len);
int kvmd_write_guest(struct kvmd_vm *vm, u64 gpa, const void *buf,
		     unsigned int len);
/* The same in the vCPU's address space (SMRAM while in SMM). */
int kvmd_vcpu_read_guest(struct kvmd_vcpu *vcpu, u64 gpa, void *buf,
			 unsigned int len);
int kvmd_vcpu_write_guest(struct kvmd_vcpu *vcpu, u64 gpa, const void *buf,
			  unsigned int len);
void kvmd_mark_dirty(struct kvmd_memslot *slot, u64 gfn);
bool kvmd_gpa_writable(struct kvmd_vm *vm, u64 gpa);
int kvmd_guest_xchg_u8(struct kvmd_vm *vm, u64 gpa, u8 new, u8 *old);
int kvmd_write_guest_atomic(struct kvmd_vm *vm, u64 gpa, const void *buf,
			    unsigned int len);

/* mmu/npt.c */
int kvmd_tdp_init(struct kvmd_vm *vm);
void kvmd_tdp_destroy(struct kvmd_vm *vm);
u64 kvmd_tdp_root_pa(struct kvmd_vm *vm);
u64 kvmd_tdp_as_root_pa(struct kvmd_vm *vm, int as_id);
bool kvmd_tdp_zap(struct kvmd_vm *vm, int as_id, u64 gfn, u64 end_gfn);
bool kvmd_tdp_wrprotect(struct kvmd_vm *vm, int as_id, u64 gfn, u64 end_gfn);
int kvmd_tdp_fault(struct kvmd_vcpu *vcpu, u64 gpa, bool write, bool fetch);
bool kvmd_tdp_lookup(struct kvmd_vm *vm, u64 gfn, u64 *pfn, bool *writable);
void kvmd_tdp_vcpu_free(struct kvmd_vcpu *vcpu);

/* mmu/notifier.c */
int kvmd_mmu_notifier_register(struct kvmd_vm *vm);
void kvmd_mmu_notifier_unregister(struct kvmd_vm *vm);

/* mmu/walk.c: guest virtual to guest physical, guest memory by address. */
#define KVMD_ACC_WRITE	1
#define KVMD_ACC_USER	2
#define KVMD_ACC_FETCH	4
struct kvmd_walk_fault {
	u32 error_code;
	u64 addr;
};
int kvmd_gva_to_gpa(struct kvmd_vcpu *vcpu, u64 gva, unsigned int access,
		    u64 *gpa, struct kvmd_walk_fault *fault);
int kvmd_translate(struct kvmd_vcpu *vcpu, struct kvm_translation *tr);
int kvmd_read_guest_virt(struct kvmd_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len, unsigned int access,
			 struct kvmd_walk_fault *fault);
int kvmd_write_guest_virt(struct kvmd_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len, struct kvmd_walk_fault *fault);
bool kvmd_long_mode(struct kvmd_vcpu *vcpu);

/* emulate.c */
int kvmd_emulate_mmio(struct kvmd_vcpu *vcpu);
int kvmd_emulate_mmio_next(struct kvmd_vcpu *vcpu);
int kvmd_string_in_store(struct kvmd_vcpu *vcpu, u64 gva, unsigned int len,
			 struct kvmd_walk_fault *fault);
int kvmd_string_mmio_exit(struct kvmd_vcpu *vcpu);
int kvmd_fetch_insn(struct kvmd_vcpu *vcpu, u8 *buf, unsigned int *len);

/* taskswitch.c: the reasons in KVM's (and the VMX qualification's) encoding. */
enum {
	KVMD_TASK_SWITCH_CALL,
	KVMD_TASK_SWITCH_IRET,
	KVMD_TASK_SWITCH_JMP,
	KVMD_TASK_SWITCH_GATE,
};
int kvmd_task_switch(struct kvmd_vcpu *vcpu, u16 sel, int idt_index,
		     int reason, bool has_error, u32 error);
int kvmd_task_switch_insn_len(struct kvmd_vcpu *vcpu);

/* cpuid.c */
int kvmd_get_supported_cpuid(struct kvm_cpuid2 __user *ucpuid);
int kvmd_set_cpuid2(struct kvmd_vcpu *vcpu, struct kvm_cpuid2 __user *ucpuid);
int kvmd_get_cpuid2(struct kvmd_vcpu *vcpu, struct kvm_cpuid2 __user *ucpuid);
int kvmd_handle_cpuid(struct kvmd_vcpu *vcpu);
bool kvmd_guest_has(struct kvmd_vcpu *vcpu, u32 leaf, int reg, int bit);
bool kvmd_cpu_has(u32 leaf, int reg, int bit);
bool kvmd_guest_is_intel(struct kvmd_vcpu *vcpu);
void kvmd_cpuid_update_runtime(struct kvmd_vcpu *vcpu);
int kvmd_guest_maxphyaddr(struct kvmd_vcpu *vcpu);
bool kvmd_apic_base_valid(struct kvmd_vcpu *vcpu, u64 data);

/* kvmclock.c */
/* KVM_SET_CLOCK flags KVM accepts (its KVM_CLOCK_VALID_FLAGS). */
#define KVMD_CLOCK_VALID_FLAGS	(KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)
bool kvmd_kvmclock_ok(void);
void kvmd_kvmclock_init(struct kvmd_vm *vm);
void kvmd_kvmclock_update(struct kvmd_vcpu *vcpu);
int kvmd_kvmclock_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data);
int kvmd_kvmclock_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data,
			    bool host);
int kvmd_get_clock(struct kvmd_vm *vm, struct kvm_clock_data __user *uclock);
int kvmd_set_clock(struct kvmd_vm *vm, struct kvm_clock_data __user *uclock);
u64 kvmd_kvmclock_now(struct kvmd_vm *vm, u64 *host_tsc);

/* msr.c */
int kvmd_get_msr_index_list(struct kvm_msr_list __user *ulist);
int kvmd_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmd_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host);
int kvmd_handle_rdmsr(struct kvmd_vcpu *vcpu);
int kvmd_handle_wrmsr(struct kvmd_vcpu *vcpu);
long kvmd_msrs_ioctl(struct kvmd_vcpu *vcpu, struct kvm_msrs __user *user,
		     bool set);
void kvmd_msr_reset(struct kvmd_vcpu *vcpu);
void kvmd_set_tsc_offset(struct kvmd_vcpu *vcpu, u64 offset);

/* cpumsr.c */
bool kvmd_tsc_aux_ok(void);
void kvmd_tsc_aux_load(struct kvmd_vcpu *vcpu);
void kvmd_tsc_aux_exit(void);
void kvmd_cpu_msr_reset(struct kvmd_vcpu *vcpu);
int kvmd_cpu_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmd_cpu_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host);

/* xsave.c */
extern u64 kvmd_supported_xcr0;
void kvmd_xsave_setup(void);
u32 kvmd_xstate_size(u64 xfeatures, bool compacted);
long kvmd_xsave2_size(void);
int kvmd_xsave_vcpu_create(struct kvmd_vcpu *vcpu);
void kvmd_xsave_vcpu_free(struct kvmd_vcpu *vcpu);
struct fxregs_state *kvmd_guest_fxsave(struct kvmd_vcpu *vcpu);
void kvmd_guest_fxsave_written(struct kvmd_vcpu *vcpu);
/*
 * KVM_RUN makes the guest's fpstate the thread's (the kernel's API for
 * KVM): the registers then hold the guest's x87/SSE/AVX state whenever
 * the thread runs in the kernel, and the scheduler saves and restores it
 * like a task's own.
 */
static inline void kvmd_fpu_enter(struct kvmd_vcpu *vcpu)
{
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, true);
}

static inline void kvmd_fpu_leave(struct kvmd_vcpu *vcpu)
{
	fpu_swap_kvm_fpstate(&vcpu->guest_fpu, false);
}
void kvmd_xsave_prepare(struct kvmd_vcpu *vcpu);
void kvmd_xsave_load_guest(struct kvmd_vcpu *vcpu);
void kvmd_xsave_load_host(struct kvmd_vcpu *vcpu);
bool kvmd_guest_may_osxsave(struct kvmd_vcpu *vcpu);
void kvmd_xsave_cpuid_runtime(struct kvmd_vcpu *vcpu,
			      struct kvm_cpuid_entry2 *ents, int n);
void kvmd_xsave_cpuid_changed(struct kvmd_vcpu *vcpu);
bool kvmd_emulate_xsetbv(struct kvmd_vcpu *vcpu);
long kvmd_xsave_ioctl(struct kvmd_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp);
void kvmd_xsave_filter_cpuid(struct kvm_cpuid_entry2 *e);
int kvmd_xsave_add_cpuid(struct kvm_cpuid_entry2 *ents, int n, int max);

/* mce.c */
void kvmd_mce_reset(struct kvmd_vcpu *vcpu);
int kvmd_get_mce_cap_supported(u64 __user *ucap);
int kvmd_setup_mce(struct kvmd_vcpu *vcpu, u64 __user *ucap);
int kvmd_set_mce(struct kvmd_vcpu *vcpu, struct kvm_x86_mce __user *umce);
int kvmd_mce_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmd_mce_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host);

/* features.c */
/*
 * The quirks KVM_CAP_DISABLE_QUIRKS2 reports: behaviour of old KVM that
 * this driver has too and that a VMM may turn off. KVM_X86_QUIRK_CD_NW_CLEARED
 * is not one: guest CR0.CD/NW reach the hardware as written here, which
 * is already KVM's behaviour with that quirk disabled.
 *   LINT0_REENABLED        lapic.c: the BSP's LVT0 is ExtINT after reset
 *   LAPIC_MMIO_HOLE        lapic.c: a disabled or x2APIC APIC's page reads ones
 *   OUT_7E_INC_RIP         vcpu.c: OUT to port 0x7e exits with RIP past it
 *   MISC_ENABLE_NO_MWAIT   pv.c: IA32_MISC_ENABLE.MWAIT leaves CPUID alone
 *   FIX_HYPERCALL_INSN     pv.c: the other vendor's hypercall is rewritten
 *   MWAIT_NEVER_UD_FAULTS  pv.c: MONITOR/MWAIT are NOPs whatever the CPUID
 */
#define KVMD_VALID_QUIRKS (KVM_X86_QUIRK_LINT0_REENABLED | KVM_X86_QUIRK_LAPIC_MMIO_HOLE | \
			   KVM_X86_QUIRK_OUT_7E_INC_RIP | KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT | \
			   KVM_X86_QUIRK_FIX_HYPERCALL_INSN | \
			   KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS)

static inline bool kvmd_has_quirk(struct kvmd_vm *vm, u64 quirk)
{
	return !(READ_ONCE(vm->disabled_quirks) & quirk);
}

u64 kvmd_arch_capabilities(void);
int kvmd_get_feature_msr_index_list(struct kvm_msr_list __user *ulist);
long kvmd_get_feature_msrs(struct kvm_msrs __user *user);
int kvmd_feature_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data,
			  bool host);
int kvmd_feature_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data,
			   bool host);
bool kvmd_cpuid_faults(struct kvmd_vcpu *vcpu);
int kvmd_disable_quirks(struct kvmd_vm *vm, u32 cap, u64 mask);

/* pv.c */
bool kvmd_guest_pv_has(struct kvmd_vcpu *vcpu, int feature);
int kvmd_handle_hypercall(struct kvmd_vcpu *vcpu, unsigned int len);
int kvmd_handle_ud(struct kvmd_vcpu *vcpu);
int kvmd_handle_monitor_mwait(struct kvmd_vcpu *vcpu, unsigned int len);
void kvmd_misc_enable_mwait(struct kvmd_vcpu *vcpu);
bool kvmd_steal_time_ok(void);
void kvmd_record_steal_time(struct kvmd_vcpu *vcpu, bool force);
int kvmd_pv_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmd_pv_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host);
void kvmd_pv_vcpu_init(struct kvmd_vcpu *vcpu);
void kvmd_pv_run_begin(struct kvmd_vcpu *vcpu);
void kvmd_pv_run_end(struct kvmd_vcpu *vcpu);

/* async_pf.c */
void kvmd_apf_vcpu_init(struct kvmd_vcpu *vcpu);
void kvmd_apf_reset(struct kvmd_vcpu *vcpu);
bool kvmd_apf_can_do(struct kvmd_vcpu *vcpu);
bool kvmd_apf_fault(struct kvmd_vcpu *vcpu, u64 gpa, unsigned long hva,
		    bool write);
void kvmd_apf_check_completion(struct kvmd_vcpu *vcpu);
bool kvmd_apf_has_done(struct kvmd_vcpu *vcpu);
int kvmd_apf_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmd_apf_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host);

/* stats.c */
int kvmd_vm_stats_fd(struct kvmd_vm *vm);
int kvmd_vcpu_stats_fd(struct kvmd_vcpu *vcpu);

/* msrfilter.c */
int kvmd_set_msr_filter(struct kvmd_vm *vm, void __user *argp);
void kvmd_free_msr_filter(struct kvmd_vm *vm);
bool kvmd_msr_allowed(struct kvmd_vcpu *vcpu, u32 index, bool write);
int kvmd_msr_user_exit(struct kvmd_vcpu *vcpu, u32 index, u64 data,
		       bool write, int r);
int kvmd_complete_msr_exit(struct kvmd_vcpu *vcpu);

/* smm.c */
void kvmd_smm_reset(struct kvmd_vcpu *vcpu);
void kvmd_smm_inject(struct kvmd_vcpu *vcpu);
bool kvmd_smm_wakes(struct kvmd_vcpu *vcpu);
/* An SMI waits only for the event being delivered: the entry exits right after. */
static inline bool kvmd_smm_blocked_by_event(struct kvmd_vcpu *vcpu)
{
	return vcpu->smm.pending && !vcpu->smm.active;
}
int kvmd_smm_rsm(struct kvmd_vcpu *vcpu);
void kvmd_smm_get_events(struct kvmd_vcpu *vcpu, struct kvm_vcpu_events *e);
int kvmd_smm_check_events(struct kvmd_vcpu *vcpu,
			  const struct kvm_vcpu_events *e);
void kvmd_smm_set_events(struct kvmd_vcpu *vcpu,
			 const struct kvm_vcpu_events *e);
bool kvmd_smm_mp_state_ok(struct kvmd_vcpu *vcpu, u32 mp_state);
int kvmd_smm_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host);
int kvmd_smm_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host);
/* debug.c */
void kvmd_debug_reset(struct kvmd_vcpu *vcpu);
u64 kvmd_get_dr(struct kvmd_vcpu *vcpu, int dr);
int kvmd_set_dr(struct kvmd_vcpu *vcpu, int dr, u64 val);
bool kvmd_emulate_mov_dr(struct kvmd_vcpu *vcpu, int dr, bool write, u64 *val,
			 int *r);
int kvmd_handle_db(struct kvmd_vcpu *vcpu, u64 dr6);
int kvmd_handle_bp(struct kvmd_vcpu *vcpu);
int kvmd_debug_step_done(struct kvmd_vcpu *vcpu, bool guest_tf, int r);
/*
 * After the kernel completed an instruction for the guest (@r from its
 * handler, @old_rip where it was): the single-step trap TF asked for,
 * which the hardware never saw (kvmd_debug_step_done). Most exits have
 * neither the guest's TF (@guest_tf) nor a stepping debugger.
 */
static inline int kvmd_debug_insn_done(struct kvmd_vcpu *vcpu, u64 old_rip,
				       bool guest_tf, int r)
{
	if (r != KVMD_RESUME || vcpu->rip == old_rip ||
	    (!guest_tf && !(vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP)))
		return r;
	return kvmd_debug_step_done(vcpu, guest_tf, r);
}
void kvmd_debug_load_guest(struct kvmd_vcpu *vcpu);
void kvmd_debug_load_host(struct kvmd_vcpu *vcpu);
void kvmd_debug_after_exit(struct kvmd_vcpu *vcpu);
long kvmd_guest_debug_valid_mask(void);
long kvmd_debug_ioctl(struct kvmd_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp);
/* hyperv.c */
long kvmd_hv_check_extension(long ext);
int kvmd_hv_get_supported_cpuid(struct kvmd_vcpu *vcpu,
				struct kvm_cpuid2 __user *ucpuid);
int kvmd_hv_enable_cap(struct kvmd_vcpu *vcpu, const struct kvm_enable_cap *cap);
int kvmd_hv_set_cpuid(struct kvmd_vcpu *vcpu);
int kvmd_hv_msr_read(struct kvmd_vcpu *vcpu, u32 msr, u64 *data, bool host);
int kvmd_hv_msr_write(struct kvmd_vcpu *vcpu, u32 msr, u64 data, bool host);
const u32 *kvmd_hv_msr_list(unsigned int *n);
void kvmd_hv_setup_tsc_page(struct kvmd_vcpu *vcpu);
void kvmd_hv_request_tsc_page_update(struct kvmd_vm *vm);
int kvmd_hv_service(struct kvmd_vcpu *vcpu);
void kvmd_hv_process_stimers(struct kvmd_vcpu *vcpu);
bool kvmd_hv_hypercall_enabled(struct kvmd_vcpu *vcpu);
int kvmd_hv_hypercall(struct kvmd_vcpu *vcpu, unsigned int len);
bool kvmd_hv_hypercall_pending(struct kvmd_vcpu *vcpu);
int kvmd_hv_complete_hypercall(struct kvmd_vcpu *vcpu);
int kvmd_hv_synic_set_irq(struct kvmd_vm *vm, u32 vp, u32 sint);
bool kvmd_hv_synic_auto_eoi(struct kvmd_vcpu *vcpu, int vec);
int kvmd_hv_eventfd(struct kvmd_vm *vm, void __user *argp);
void kvmd_hv_vcpu_free(struct kvmd_vcpu *vcpu);
void kvmd_hv_vm_destroy(struct kvmd_vm *vm);
struct vmcb_control_area;
bool kvmd_hv_nested_msrpm_unchanged(struct kvmd_vcpu *vcpu,
				    const struct vmcb_control_area *ctl);

#endif
