/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/hyperv.h: the Hyper-V state shared by hyperv.c, hyperv_synic.c and hyperv_hcall.c. */
#ifndef KVMDRV_HYPERV_H
#define KVMDRV_HYPERV_H

#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/mutex.h>
#include <asm/hyperv-tlfs.h>

#include "kvmdrv.h"

/* KVM's own names for the synthetic debugger and the interface signature. */
#define HYPERV_CPUID_SIGNATURE_EAX			0x31237648	/* "Hv#1" */
#define HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS	0x40000080
#define HYPERV_CPUID_SYNDBG_INTERFACE			0x40000081
#define HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES	0x40000082
#define HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING	BIT(1)
#define HV_X64_MSR_SYNDBG_CONTROL			0x400000F1
#define HV_X64_MSR_SYNDBG_STATUS			0x400000F2
#define HV_X64_MSR_SYNDBG_SEND_BUFFER			0x400000F3
#define HV_X64_MSR_SYNDBG_RECV_BUFFER			0x400000F4
#define HV_X64_MSR_SYNDBG_PENDING_BUFFER		0x400000F5
#define HV_X64_MSR_SYNDBG_OPTIONS			0x400000FF
#define HV_X64_SYNDBG_OPTION_USE_HCALLS			BIT(2)

#define KVMD_HV_APIC_BUS_HZ	1000000000ULL	/* KVM's APIC_BUS_FREQUENCY */
#define KVMD_HV_BANKS		DIV_ROUND_UP(KVMD_MAX_VCPUS, 64)

/* The reference TSC page, as KVM's hv_tsc_page_status. */
enum {
	HV_TSC_PAGE_UNSET,		/* disabled by the guest */
	HV_TSC_PAGE_GUEST_CHANGED,	/* the guest set it: write it */
	HV_TSC_PAGE_HOST_CHANGED,	/* the clock changed: rewrite it */
	HV_TSC_PAGE_SET,		/* written and valid */
	HV_TSC_PAGE_BROKEN,		/* could not be written */
};

/* Work a vCPU does before its next entry (bits of kvmd_vcpu_hv.pending). */
enum {
	HV_PEND_EXIT,		/* KVM_EXIT_HYPERV: a SynIC or debugger MSR changed */
	HV_PEND_CRASH,		/* HV_X64_MSR_CRASH_CTL: KVM_SYSTEM_EVENT_CRASH */
	HV_PEND_RESET,		/* HV_X64_MSR_RESET: KVM_SYSTEM_EVENT_RESET */
	HV_PEND_STIMER,		/* a synthetic timer wants looking at */
};

/* The partition-wide state, under lock. */
struct kvmd_hv {
	struct mutex lock;
	u64 guest_os_id;
	u64 hypercall;
	u64 tsc_page_msr;
	int tsc_page_status;
	struct ms_hyperv_tsc_page tsc_ref;
	u64 crash_param[HV_X64_MSR_CRASH_P4 - HV_X64_MSR_CRASH_P0 + 1];
	u64 crash_ctl;
	u64 reenlightenment_control;
	u64 tsc_emulation_control;
	u64 tsc_emulation_status;
	struct {
		u64 control, status, send_page, recv_page, pending_page, options;
	} syndbg;
	struct idr conn_to_evt;		/* KVM_HYPERV_EVENTFD, under lock */
};

struct kvmd_hv_stimer {
	struct hrtimer timer;
	struct kvmd_vcpu *vcpu;
	int index;
	union hv_stimer_config config;
	u64 count;
	u64 exp_time;
	struct hv_message msg;
	bool msg_pending;
};

/* One vCPU's state, made on first use; only its own thread changes it. */
struct kvmd_vcpu_hv {
	u32 vp_index;
	bool enabled;		/* its CPUID has the Hyper-V interface leaf */
	bool enforce_cpuid;	/* KVM_CAP_HYPERV_ENFORCE_CPUID */
	struct {
		u32 features_eax, features_ebx, features_edx;
		u32 enlightenments_eax, enlightenments_ebx;
		u32 syndbg_cap_eax;
		u32 nested_eax, nested_ebx;
	} cpuid;
	u64 vp_assist;
	u64 runtime_offset;
	struct {
		bool active;
		bool dont_zero_pages;	/* KVM_CAP_HYPERV_SYNIC2 */
		u64 control, version, evt_page, msg_page;
		atomic64_t sint[HV_SYNIC_SINT_COUNT];
	} synic;
	struct kvmd_hv_stimer stimer[HV_SYNIC_STIMER_COUNT];
	unsigned long stimer_pending;
	unsigned long pending;		/* HV_PEND_* */
	struct kvm_hyperv_exit exit;
	struct {			/* a hypercall userspace completes */
		bool pending;
		u8 len;
		u64 rip;
	} hcall;
};

/* hyperv.c */
struct kvmd_hv *kvmd_hv_vm(struct kvmd_vm *vm);
u32 kvmd_hv_vp_index(struct kvmd_vcpu *vcpu, int idx);
struct kvmd_vcpu *kvmd_hv_vcpu_by_vp(struct kvmd_vm *vm, u32 vp);
u64 kvmd_hv_time_ref(struct kvmd_vm *vm);
void kvmd_hv_request(struct kvmd_vcpu *vcpu, int what);
bool kvmd_hv_syndbg_enabled(struct kvmd_vcpu_hv *hv);

/* hyperv_synic.c */
void kvmd_hv_stimer_init(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st, int index);
int kvmd_hv_synic_set_msr(struct kvmd_vcpu *vcpu, u32 msr, u64 data, bool host);
int kvmd_hv_synic_get_msr(struct kvmd_vcpu *vcpu, u32 msr, u64 *data, bool host);
int kvmd_hv_stimer_set_config(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
			      u64 data, bool host);
int kvmd_hv_stimer_set_count(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
			     u64 count, bool host);

#endif
