// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/hyperv.c: the Hyper-V enlightenments KVM offers: the synthetic
 * MSRs (hypercall page, VP index, reference time and TSC page, APIC access,
 * SynIC, synthetic timers, crash, reset, frequencies, reenlightenment,
 * synthetic debugger), the hypercalls, the Hyper-V CPUID leaves of
 * KVM_GET_SUPPORTED_HV_CPUID and KVM_CAP_HYPERV_ENFORCE_CPUID.
 */
#include <linux/cpu.h>
#include <linux/eventfd.h>
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/fpu/api.h>
#include <asm/hyperv-tlfs.h>
#include <asm/pvclock-abi.h>

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

/* ---- state lifetime ---- */

/* The VM's Hyper-V state, made on first use; NULL without memory. */
static struct kvmd_hv *kvmd_hv_vm(struct kvmd_vm *vm)
{
	struct kvmd_hv *hv = READ_ONCE(vm->hv);

	if (hv)
		return hv;
	hv = kzalloc(sizeof(*hv), GFP_KERNEL_ACCOUNT);
	if (!hv)
		return NULL;
	mutex_init(&hv->lock);
	idr_init(&hv->conn_to_evt);
	if (cmpxchg(&vm->hv, NULL, hv)) {
		idr_destroy(&hv->conn_to_evt);
		kfree(hv);
	}
	return READ_ONCE(vm->hv);
}

void kvmd_hv_vm_destroy(struct kvmd_vm *vm)
{
	struct kvmd_hv *hv = vm->hv;
	struct eventfd_ctx *evt;
	int i;

	if (!hv)
		return;
	idr_for_each_entry(&hv->conn_to_evt, evt, i)
		eventfd_ctx_put(evt);
	idr_destroy(&hv->conn_to_evt);
	kfree(hv);
}

static int kvmd_vcpu_index(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vm *vm = vcpu->vm;
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		if (vm->vcpus[i] == vcpu)
			return i;
	return n;	/* being created: it takes the next slot */
}

static enum hrtimer_restart stimer_expired(struct hrtimer *t);

static void stimer_init(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
			int index)
{
	struct hv_timer_message_payload *p = (void *)st->msg.u.payload;

	st->vcpu = vcpu;
	st->index = index;
	hrtimer_init(&st->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	st->timer.function = stimer_expired;
	st->msg.header.message_type = HVMSG_TIMER_EXPIRED;
	st->msg.header.payload_size = sizeof(*p);
	p->timer_index = index;
}

/* The vCPU's Hyper-V state, made on first use (vCPU thread); NULL: no memory. */
static struct kvmd_vcpu_hv *kvmd_hv_vcpu(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	int i;

	if (hv)
		return hv;
	if (!kvmd_hv_vm(vcpu->vm))
		return NULL;
	hv = kzalloc(sizeof(*hv), GFP_KERNEL_ACCOUNT);
	if (!hv)
		return NULL;
	hv->vp_index = kvmd_vcpu_index(vcpu);
	hv->synic.version = HV_SYNIC_VERSION_1;
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++)
		atomic64_set(&hv->synic.sint[i], HV_SYNIC_SINT_MASKED);
	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++)
		stimer_init(vcpu, &hv->stimer[i], i);
	smp_store_release(&vcpu->hv, hv);
	return hv;
}

void kvmd_hv_vcpu_free(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	int i;

	if (!hv)
		return;
	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++)
		hrtimer_cancel(&hv->stimer[i].timer);
	kfree(hv);
	vcpu->hv = NULL;
}

static u32 kvmd_hv_vp_index(struct kvmd_vcpu *vcpu, int idx)
{
	struct kvmd_vcpu_hv *hv = smp_load_acquire(&vcpu->hv);

	return hv ? READ_ONCE(hv->vp_index) : idx;
}

static struct kvmd_vcpu *kvmd_hv_vcpu_by_vp(struct kvmd_vm *vm, u32 vp)
{
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		if (kvmd_hv_vp_index(vm->vcpus[i], i) == vp)
			return vm->vcpus[i];
	return NULL;
}

/* ---- CPUID ---- */

static bool kvmd_hv_cpuid_has_hyperv(struct kvmd_vcpu *vcpu)
{
	int i;

	for (i = 0; i < vcpu->cpuid_nent; i++)
		if (vcpu->cpuid[i].function == HYPERV_CPUID_INTERFACE)
			return vcpu->cpuid[i].eax == HYPERV_CPUID_SIGNATURE_EAX;
	return false;
}

static struct kvm_cpuid_entry2 *kvmd_hv_leaf(struct kvmd_vcpu *vcpu, u32 fn)
{
	int i;

	for (i = 0; i < vcpu->cpuid_nent; i++)
		if (vcpu->cpuid[i].function == fn)
			return &vcpu->cpuid[i];
	return NULL;
}

/* After KVM_SET_CPUID2: Hyper-V on or off, and what an enforced CPUID grants. */
int kvmd_hv_set_cpuid(struct kvmd_vcpu *vcpu)
{
	bool on = kvmd_hv_cpuid_has_hyperv(vcpu);
	struct kvm_cpuid_entry2 *e;
	struct kvmd_vcpu_hv *hv;

	if (!on && !vcpu->hv)
		return 0;
	hv = kvmd_hv_vcpu(vcpu);
	if (!hv)
		return -ENOMEM;
	hv->enabled = on;
	memset(&hv->cpuid, 0, sizeof(hv->cpuid));
	if (!on)
		return 0;
	e = kvmd_hv_leaf(vcpu, HYPERV_CPUID_FEATURES);
	if (e) {
		hv->cpuid.features_eax = e->eax;
		hv->cpuid.features_ebx = e->ebx;
		hv->cpuid.features_edx = e->edx;
	}
	e = kvmd_hv_leaf(vcpu, HYPERV_CPUID_ENLIGHTMENT_INFO);
	if (e) {
		hv->cpuid.enlightenments_eax = e->eax;
		hv->cpuid.enlightenments_ebx = e->ebx;
	}
	e = kvmd_hv_leaf(vcpu, HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES);
	if (e)
		hv->cpuid.syndbg_cap_eax = e->eax;
	e = kvmd_hv_leaf(vcpu, HYPERV_CPUID_NESTED_FEATURES);
	if (e) {
		hv->cpuid.nested_eax = e->eax;
		hv->cpuid.nested_ebx = e->ebx;
	}
	return 0;
}

/*
 * KVM_GET_SUPPORTED_HV_CPUID on /dev/kvm (vcpu NULL) or a vCPU: KVM's ten
 * leaves. No enlightened VMCS is offered, so no version in the nested leaf.
 */
int kvmd_hv_get_supported_cpuid(struct kvmd_vcpu *vcpu,
				struct kvm_cpuid2 __user *ucpuid)
{
	static const u32 leaves[] = {
		HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS, HYPERV_CPUID_INTERFACE,
		HYPERV_CPUID_VERSION, HYPERV_CPUID_FEATURES,
		HYPERV_CPUID_ENLIGHTMENT_INFO, HYPERV_CPUID_IMPLEMENT_LIMITS,
		HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS,
		HYPERV_CPUID_SYNDBG_INTERFACE,
		HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES,
		HYPERV_CPUID_NESTED_FEATURES,
	};
	struct kvm_cpuid_entry2 ents[ARRAY_SIZE(leaves)];
	bool lapic = !vcpu || vcpu->apic;
	const char *sig = "Linux KVM Hv";
	struct kvm_cpuid2 c;
	int i, n = ARRAY_SIZE(leaves);

	if (copy_from_user(&c, ucpuid, sizeof(c)))
		return -EFAULT;
	if (c.nent < n)
		return -E2BIG;
	memset(ents, 0, sizeof(ents));
	for (i = 0; i < n; i++) {
		struct kvm_cpuid_entry2 *e = &ents[i];

		e->function = leaves[i];
		switch (e->function) {
		case HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS:
			e->eax = HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES;
			fallthrough;
		case HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS:
			memcpy(&e->ebx, sig, 4);
			memcpy(&e->ecx, sig + 4, 4);
			memcpy(&e->edx, sig + 8, 4);
			break;
		case HYPERV_CPUID_INTERFACE:
			e->eax = HYPERV_CPUID_SIGNATURE_EAX;
			break;
		case HYPERV_CPUID_VERSION:
			e->eax = 0x00003839;	/* Hyper-V 2016, as KVM */
			e->ebx = 0x000A0000;
			break;
		case HYPERV_CPUID_FEATURES:
			e->eax = HV_MSR_VP_RUNTIME_AVAILABLE |
				 HV_MSR_TIME_REF_COUNT_AVAILABLE |
				 HV_MSR_SYNIC_AVAILABLE | HV_MSR_SYNTIMER_AVAILABLE |
				 HV_MSR_APIC_ACCESS_AVAILABLE |
				 HV_MSR_HYPERCALL_AVAILABLE |
				 HV_MSR_VP_INDEX_AVAILABLE | HV_MSR_RESET_AVAILABLE |
				 HV_MSR_REFERENCE_TSC_AVAILABLE |
				 HV_ACCESS_FREQUENCY_MSRS | HV_ACCESS_REENLIGHTENMENT;
			e->ebx = HV_POST_MESSAGES | HV_SIGNAL_EVENTS | HV_DEBUGGING;
			e->edx = HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE |
				 HV_FEATURE_FREQUENCY_MSRS_AVAILABLE |
				 HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE |
				 HV_X64_GUEST_DEBUGGING_AVAILABLE |
				 HV_FEATURE_DEBUG_MSRS_AVAILABLE;
			/* Direct timers interrupt through the in-kernel APIC. */
			if (lapic)
				e->edx |= HV_STIMER_DIRECT_MODE_AVAILABLE;
			break;
		case HYPERV_CPUID_ENLIGHTMENT_INFO:
			e->eax = HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED |
				 HV_X64_APIC_ACCESS_RECOMMENDED |
				 HV_X64_RELAXED_TIMING_RECOMMENDED |
				 HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED |
				 HV_DEPRECATING_AEOI_RECOMMENDED;
			if (lapic)
				e->eax |= HV_X64_CLUSTER_IPI_RECOMMENDED;
			if (!cpu_smt_possible())
				e->eax |= HV_X64_NO_NONARCH_CORESHARING;
			e->ebx = 0x00000FFF;	/* spinlock retries, as Hyper-V 2016 */
			break;
		case HYPERV_CPUID_IMPLEMENT_LIMITS:
			e->eax = KVMD_MAX_VCPUS;
			e->ebx = 64;
			break;
		case HYPERV_CPUID_NESTED_FEATURES:
			e->eax = HV_X64_NESTED_MSR_BITMAP;
			e->ebx = HV_X64_NESTED_EVMCS1_PERF_GLOBAL_CTRL;
			break;
		case HYPERV_CPUID_SYNDBG_INTERFACE:
			memcpy(&e->eax, "VS#1", 4);
			break;
		case HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES:
			e->eax = HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING;
			break;
		}
	}
	if (put_user(n, &ucpuid->nent) ||
	    copy_to_user(ucpuid->entries, ents, sizeof(ents)))
		return -EFAULT;
	return 0;
}

/* KVM_ENABLE_CAP on a vCPU: the SynIC and CPUID enforcement. */
int kvmd_hv_enable_cap(struct kvmd_vcpu *vcpu, const struct kvm_enable_cap *cap)
{
	struct kvmd_vcpu_hv *hv;

	switch (cap->cap) {
	case KVM_CAP_HYPERV_SYNIC2:
		if (cap->args[0])
			return -EINVAL;
		fallthrough;
	case KVM_CAP_HYPERV_SYNIC:
		if (!kvmd_irqchip_in_kernel(vcpu->vm))
			return -EINVAL;
		hv = kvmd_hv_vcpu(vcpu);
		if (!hv)
			return -ENOMEM;
		hv->synic.active = true;
		hv->synic.dont_zero_pages = cap->cap == KVM_CAP_HYPERV_SYNIC2;
		hv->synic.control = HV_SYNIC_CONTROL_ENABLE;
		return 0;
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
		if (!cap->args[0] && !vcpu->hv)
			return 0;
		hv = kvmd_hv_vcpu(vcpu);
		if (!hv)
			return -ENOMEM;
		hv->enforce_cpuid = !!cap->args[0];
		return 0;
	default:
		return -EINVAL;
	}
}

long kvmd_hv_check_extension(long ext)
{
	switch (ext) {
	case KVM_CAP_HYPERV:
	case KVM_CAP_HYPERV_VAPIC:
	case KVM_CAP_HYPERV_SPIN:
	case KVM_CAP_HYPERV_SYNIC:
	case KVM_CAP_HYPERV_SYNIC2:
	case KVM_CAP_HYPERV_VP_INDEX:
	case KVM_CAP_HYPERV_EVENTFD:
	case KVM_CAP_HYPERV_TLBFLUSH:
	case KVM_CAP_HYPERV_SEND_IPI:
	case KVM_CAP_HYPERV_CPUID:
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
	case KVM_CAP_SYS_HYPERV_CPUID:
		return 1;
	case KVM_CAP_HYPERV_TIME:
		return kvmd_kvmclock_ok();
	default:
		return 0;
	}
}

/* ---- the reference time ---- */

/* Guest-visible 100 ns ticks: the TSC page's formula while it is valid. */
static u64 kvmd_hv_time_ref(struct kvmd_vm *vm)
{
	struct kvmd_hv *hv = vm->hv;
	u64 tsc;

	if (!hv || hv->tsc_page_status != HV_TSC_PAGE_SET || !vm->nr_vcpus)
		return div_u64(kvmd_kvmclock_now(vm, NULL), 100);
	tsc = rdtsc() + vm->vcpus[0]->tsc_offset;
	return mul_u64_u64_shr(tsc, hv->tsc_ref.tsc_scale, 64) +
	       hv->tsc_ref.tsc_offset;
}

/*
 * KVM's conversion of a kvmclock to the TSC page: ticks * scale / 2^64 +
 * offset gives the clock in 100 ns. False when the scale would overflow.
 */
static bool kvmd_hv_tsc_params(const struct pvclock_vcpu_time_info *c,
			       struct ms_hyperv_tsc_page *ref)
{
	if (!kvmd_kvmclock_ok())
		return false;
	if (c->tsc_shift > 31 || c->tsc_shift < -32)
		return false;
	if (c->tsc_to_system_mul >= (100ULL << (32 - c->tsc_shift)))
		return false;
	ref->tsc_scale = mul_u64_u32_div(1ULL << (32 + c->tsc_shift),
					 c->tsc_to_system_mul, 100);
	ref->tsc_offset = div_u64(c->system_time, 100) -
			  mul_u64_u64_shr(c->tsc_timestamp, ref->tsc_scale, 64);
	return true;
}

/*
 * As KVM: once the guest enabled TSC emulation (reenlightenment), a page it
 * already saw is left as it is until it turns that off again.
 */
static bool kvmd_hv_tsc_update_unsafe(struct kvmd_hv *hv)
{
	return hv->tsc_page_status != HV_TSC_PAGE_GUEST_CHANGED &&
	       hv->tsc_emulation_control;
}

/*
 * From the kvmclock update of a vCPU: write the TSC page if it is due. Its
 * reference point is now, not the clock's base: the guest's TSC at the
 * VM's base (before the vCPU existed) may be negative, which the page's
 * unsigned formula cannot take.
 */
void kvmd_hv_setup_tsc_page(struct kvmd_vcpu *vcpu)
{
	struct pvclock_vcpu_time_info clk = { 0 }, *clock = &clk;
	struct kvmd_hv *hv = vcpu->vm->hv;
	struct kvmd_vm *vm = vcpu->vm;
	u64 host_tsc;
	u32 seq;
	u32 zero = 0;
	u64 gpa;

	if (!hv)
		return;
	mutex_lock(&hv->lock);
	if (hv->tsc_page_status != HV_TSC_PAGE_GUEST_CHANGED &&
	    hv->tsc_page_status != HV_TSC_PAGE_HOST_CHANGED)
		goto out;
	if (!(hv->tsc_page_msr & HV_X64_MSR_TSC_REFERENCE_ENABLE))
		goto out;
	clk.system_time = kvmd_kvmclock_now(vm, &host_tsc);
	clk.tsc_timestamp = host_tsc + vcpu->tsc_offset;
	clk.tsc_to_system_mul = vm->kvmclock_mul;
	clk.tsc_shift = vm->kvmclock_shift;
	gpa = hv->tsc_page_msr & PAGE_MASK;
	if (kvmd_read_guest(vm, gpa, &seq, sizeof(seq)))
		goto broken;
	if (seq && kvmd_hv_tsc_update_unsafe(hv)) {
		if (kvmd_read_guest(vm, gpa, &hv->tsc_ref, sizeof(hv->tsc_ref)))
			goto broken;
		hv->tsc_page_status = HV_TSC_PAGE_SET;
		goto out;
	}
	/* Sequence 0 first: the guest reads the MSR meanwhile. */
	hv->tsc_ref.tsc_sequence = 0;
	if (kvmd_write_guest(vm, gpa, &zero, sizeof(zero)))
		goto broken;
	if (!kvmd_hv_tsc_params(clock, &hv->tsc_ref))
		goto broken;
	smp_wmb();
	if (kvmd_write_guest(vm, gpa, &hv->tsc_ref, sizeof(hv->tsc_ref)))
		goto broken;
	seq++;
	if (seq == 0 || seq == 0xffffffff)
		seq = 1;
	smp_wmb();
	hv->tsc_ref.tsc_sequence = seq;
	if (kvmd_write_guest(vm, gpa, &seq, sizeof(seq)))
		goto broken;
	hv->tsc_page_status = HV_TSC_PAGE_SET;
	goto out;
broken:
	hv->tsc_page_status = HV_TSC_PAGE_BROKEN;
out:
	mutex_unlock(&hv->lock);
}

/* The VM's clock or a TSC changed: a valid page is rewritten at the next update. */
void kvmd_hv_request_tsc_page_update(struct kvmd_vm *vm)
{
	struct kvmd_hv *hv = vm->hv;

	if (!hv)
		return;
	mutex_lock(&hv->lock);
	if (hv->tsc_page_status == HV_TSC_PAGE_SET &&
	    !kvmd_hv_tsc_update_unsafe(hv))
		hv->tsc_page_status = HV_TSC_PAGE_HOST_CHANGED;
	mutex_unlock(&hv->lock);
}

/* ---- SynIC ---- */

static int synic_set_irq(struct kvmd_vcpu *vcpu, u32 sint)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	struct kvmd_lapic_irq irq = {
		.delivery_mode = APIC_DM_FIXED,
		.level = true,
	};
	u64 v;

	if (!vcpu->apic || sint >= HV_SYNIC_SINT_COUNT)
		return -EINVAL;
	v = atomic64_read(&hv->synic.sint[sint]);
	if (v & HV_SYNIC_SINT_MASKED)
		return -ENOENT;
	irq.vector = v & HV_SYNIC_SINT_VECTOR_MASK;
	return kvmd_apic_set_irq(vcpu, &irq);
}

/* A SINT from outside (KVM_IRQ_ROUTING_HV_SINT): the VP's active SynIC only. */
int kvmd_hv_synic_set_irq(struct kvmd_vm *vm, u32 vp, u32 sint)
{
	struct kvmd_vcpu *vcpu = kvmd_hv_vcpu_by_vp(vm, vp);
	struct kvmd_vcpu_hv *hv = vcpu ? smp_load_acquire(&vcpu->hv) : NULL;

	if (!hv || !READ_ONCE(hv->synic.active))
		return -EINVAL;
	return synic_set_irq(vcpu, sint);
}

static void kvmd_hv_request(struct kvmd_vcpu *vcpu, int what)
{
	set_bit(what, &vcpu->hv->pending);
	kvmd_make_request(vcpu, KVMD_REQ_HV);
}

static void synic_exit(struct kvmd_vcpu *vcpu, u32 msr)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;

	hv->exit.type = KVM_EXIT_HYPERV_SYNIC;
	hv->exit.u.synic.msr = msr;
	hv->exit.u.synic.control = hv->synic.control;
	hv->exit.u.synic.evt_page = hv->synic.evt_page;
	hv->exit.u.synic.msg_page = hv->synic.msg_page;
	kvmd_hv_request(vcpu, HV_PEND_EXIT);
}

static void stimer_mark_pending(struct kvmd_hv_stimer *st, bool kick)
{
	struct kvmd_vcpu *vcpu = st->vcpu;

	set_bit(st->index, &vcpu->hv->stimer_pending);
	kvmd_hv_request(vcpu, HV_PEND_STIMER);
	if (kick)
		kvmd_vcpu_kick(vcpu);
}

/* The guest is done with a message slot: retry the timers that wait for it. */
static void synic_acked_sint(struct kvmd_vcpu *vcpu, u32 sint)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	int i;

	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
		struct kvmd_hv_stimer *st = &hv->stimer[i];

		if (st->msg_pending && st->config.enable &&
		    !st->config.direct_mode && st->config.sintx == sint)
			stimer_mark_pending(st, false);
	}
}

static int synic_zero_page(struct kvmd_vcpu *vcpu, u64 gpa)
{
	static const u8 zeros[256];
	int off;

	for (off = 0; off < PAGE_SIZE; off += sizeof(zeros))
		if (kvmd_write_guest(vcpu->vm, gpa + off, zeros, sizeof(zeros)))
			return 1;
	return 0;
}

static int synic_set_msr(struct kvmd_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	int i;

	if (!hv->synic.active && (!host || data))
		return 1;
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		hv->synic.control = data;
		if (!host)
			synic_exit(vcpu, msr);
		return 0;
	case HV_X64_MSR_SVERSION:
		if (!host)
			return 1;
		hv->synic.version = data;
		return 0;
	case HV_X64_MSR_SIEFP:
	case HV_X64_MSR_SIMP:
		/* Both pages' enable bits are bit 0; SynIC2 leaves them as they are. */
		if ((data & HV_SYNIC_SIMP_ENABLE) && !host &&
		    !hv->synic.dont_zero_pages &&
		    synic_zero_page(vcpu, data & PAGE_MASK))
			return 1;
		if (msr == HV_X64_MSR_SIEFP)
			hv->synic.evt_page = data;
		else
			hv->synic.msg_page = data;
		if (!host)
			synic_exit(vcpu, msr);
		return 0;
	case HV_X64_MSR_EOM:
		if (hv->synic.active)
			for (i = 0; i < HV_SYNIC_SINT_COUNT; i++)
				synic_acked_sint(vcpu, i);
		return 0;
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		/* Vectors below 16 only masked, or zeroed from the host. */
		if ((data & HV_SYNIC_SINT_VECTOR_MASK) < HV_SYNIC_FIRST_VALID_VECTOR &&
		    !host && !(data & HV_SYNIC_SINT_MASKED))
			return 1;
		atomic64_set(&hv->synic.sint[msr - HV_X64_MSR_SINT0], data);
		return 0;
	default:
		return 1;
	}
}

static int synic_get_msr(struct kvmd_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;

	if (!hv->synic.active && !host)
		return 1;
	switch (msr) {
	case HV_X64_MSR_SCONTROL:
		*data = hv->synic.control;
		return 0;
	case HV_X64_MSR_SVERSION:
		*data = hv->synic.version;
		return 0;
	case HV_X64_MSR_SIEFP:
		*data = hv->synic.evt_page;
		return 0;
	case HV_X64_MSR_SIMP:
		*data = hv->synic.msg_page;
		return 0;
	case HV_X64_MSR_EOM:
		*data = 0;
		return 0;
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		*data = atomic64_read(&hv->synic.sint[msr - HV_X64_MSR_SINT0]);
		return 0;
	default:
		return 1;
	}
}

/*
 * Put a message in the SINT's slot of the message page and raise the SINT.
 * A slot still holding a message gets its "pending" flag (the guest writes
 * EOM once it emptied it) and -EAGAIN, unless no_retry.
 */
static int synic_deliver_msg(struct kvmd_vcpu *vcpu, u32 sint,
			     struct hv_message *msg, bool no_retry)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	u64 slot = (hv->synic.msg_page & PAGE_MASK) +
		   offsetof(struct hv_message_page, sint_message[sint]);
	struct hv_message_header h;
	int r;

	if (!(hv->synic.msg_page & HV_SYNIC_SIMP_ENABLE))
		return -ENOENT;
	if (kvmd_read_guest(vcpu->vm, slot, &h, sizeof(h)))
		return -EFAULT;
	if (h.message_type != HVMSG_NONE) {
		if (no_retry)
			return 0;
		h.message_flags.msg_pending = 1;
		if (kvmd_write_guest(vcpu->vm, slot +
				     offsetof(struct hv_message_header, message_flags),
				     &h.message_flags, sizeof(h.message_flags)))
			return -EFAULT;
		return -EAGAIN;
	}
	if (kvmd_write_guest(vcpu->vm, slot, msg,
			     sizeof(msg->header) + msg->header.payload_size))
		return -EFAULT;
	r = synic_set_irq(vcpu, sint);
	if (r < 0)
		return r;
	return r ? 0 : -EFAULT;
}

/* ---- synthetic timers ---- */

static enum hrtimer_restart stimer_expired(struct hrtimer *t)
{
	stimer_mark_pending(container_of(t, struct kvmd_hv_stimer, timer), true);
	return HRTIMER_NORESTART;
}

static void stimer_cleanup(struct kvmd_hv_stimer *st)
{
	hrtimer_cancel(&st->timer);
	clear_bit(st->index, &st->vcpu->hv->stimer_pending);
	st->msg_pending = false;
	st->exp_time = 0;
}

static void stimer_arm(struct kvmd_hv_stimer *st, u64 delta_100ns)
{
	ktime_t when = delta_100ns >= KTIME_MAX / 100 ? KTIME_MAX :
		       ktime_add_safe(ktime_get(), 100 * delta_100ns);

	hrtimer_start(&st->timer, when, HRTIMER_MODE_ABS_HARD);
}

/* An enabled timer with a count: when it fires next, by the TLFS's rules. */
static void stimer_start(struct kvmd_hv_stimer *st)
{
	u64 now = kvmd_hv_time_ref(st->vcpu->vm), rem;

	if (st->config.periodic) {
		if (!st->exp_time) {
			st->exp_time = now + st->count;
		} else if (now >= st->exp_time) {
			div64_u64_rem(now - st->exp_time, st->count, &rem);
			st->exp_time = now + (st->count - rem);
		}
		stimer_arm(st, st->exp_time - now);
		return;
	}
	/* One-shot: the count is an absolute time; one in the past fires now. */
	st->exp_time = st->count;
	if (now >= st->count) {
		stimer_mark_pending(st, false);
		return;
	}
	stimer_arm(st, st->count - now);
}

static void stimer_expire(struct kvmd_hv_stimer *st)
{
	struct kvmd_vcpu *vcpu = st->vcpu;
	int r;

	st->msg_pending = true;
	if (st->config.direct_mode) {
		struct kvmd_lapic_irq irq = {
			.delivery_mode = APIC_DM_FIXED,
			.vector = st->config.apic_vector,
		};

		r = vcpu->apic ? !kvmd_apic_set_irq(vcpu, &irq) : 0;
	} else {
		struct hv_timer_message_payload *p = (void *)st->msg.u.payload;

		p->expiration_time = st->exp_time;
		p->delivery_time = kvmd_hv_time_ref(vcpu->vm);
		/* Periodic ticks are not piled up: a busy slot drops one. */
		r = synic_deliver_msg(vcpu, st->config.sintx, &st->msg,
				      st->config.periodic);
	}
	if (!r) {
		st->msg_pending = false;
		if (!st->config.periodic)
			st->config.enable = 0;
	}
}

/* On the vCPU's thread: fire what is due, re-arm what stays enabled. */
void kvmd_hv_process_stimers(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	int i;

	if (!hv)
		return;
	for (i = 0; i < HV_SYNIC_STIMER_COUNT; i++) {
		struct kvmd_hv_stimer *st = &hv->stimer[i];

		if (!test_and_clear_bit(i, &hv->stimer_pending) ||
		    !st->config.enable)
			continue;
		if (st->exp_time && kvmd_hv_time_ref(vcpu->vm) >= st->exp_time)
			stimer_expire(st);
		if (st->config.enable && st->count) {
			if (!st->msg_pending)
				stimer_start(st);
		} else {
			stimer_cleanup(st);
		}
	}
}

static int stimer_set_config(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
			     u64 data, bool host)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	union hv_stimer_config cfg = { .as_uint64 = data };
	bool was_enabled = st->config.enable;

	if (!hv->synic.active && (!host || data))
		return 1;
	if (!host && hv->enforce_cpuid && cfg.direct_mode &&
	    !(hv->cpuid.features_edx & HV_STIMER_DIRECT_MODE_AVAILABLE))
		return 1;
	stimer_cleanup(st);
	/* As KVM: re-enabling a message timer on SINT 0 leaves it off. */
	if (was_enabled && !cfg.direct_mode && cfg.sintx == 0)
		cfg.enable = 0;
	st->config = cfg;
	if (st->config.enable)
		stimer_mark_pending(st, false);
	return 0;
}

static int stimer_set_count(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
			    u64 count, bool host)
{
	if (!vcpu->hv->synic.active && (!host || count))
		return 1;
	stimer_cleanup(st);
	st->count = count;
	if (!host) {
		if (!count)
			st->config.enable = 0;
		else if (st->config.auto_enable)
			st->config.enable = 1;
	}
	if (st->config.enable)
		stimer_mark_pending(st, false);
	return 0;
}

/* ---- the MSRs ---- */

static bool kvmd_hv_msr_partition_wide(u32 msr)
{
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
	case HV_X64_MSR_REFERENCE_TSC:
	case HV_X64_MSR_TIME_REF_COUNT:
	case HV_X64_MSR_CRASH_CTL:
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
	case HV_X64_MSR_RESET:
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_STATUS:
	case HV_X64_MSR_SYNDBG_OPTIONS:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		return true;
	default:
		return false;
	}
}

/* Whether the MSR is Hyper-V's (x86.c's ranges in KVM). */
static bool kvmd_hv_msr(u32 msr)
{
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID ... HV_X64_MSR_SINT15:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
	case HV_X64_MSR_SYNDBG_OPTIONS:
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
	case HV_X64_MSR_CRASH_CTL:
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT:
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		return true;
	default:
		return false;
	}
}

/* KVM_CAP_HYPERV_ENFORCE_CPUID: which feature bit grants the guest an MSR. */
static bool kvmd_hv_msr_granted(struct kvmd_vcpu_hv *hv, u32 msr)
{
	u32 eax = hv->cpuid.features_eax, edx = hv->cpuid.features_edx;

	if (!hv->enforce_cpuid)
		return true;
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
		return eax & HV_MSR_HYPERCALL_AVAILABLE;
	case HV_X64_MSR_VP_RUNTIME:
		return eax & HV_MSR_VP_RUNTIME_AVAILABLE;
	case HV_X64_MSR_TIME_REF_COUNT:
		return eax & HV_MSR_TIME_REF_COUNT_AVAILABLE;
	case HV_X64_MSR_VP_INDEX:
		return eax & HV_MSR_VP_INDEX_AVAILABLE;
	case HV_X64_MSR_RESET:
		return eax & HV_MSR_RESET_AVAILABLE;
	case HV_X64_MSR_REFERENCE_TSC:
		return eax & HV_MSR_REFERENCE_TSC_AVAILABLE;
	case HV_X64_MSR_SCONTROL:
	case HV_X64_MSR_SVERSION:
	case HV_X64_MSR_SIEFP:
	case HV_X64_MSR_SIMP:
	case HV_X64_MSR_EOM:
	case HV_X64_MSR_SINT0 ... HV_X64_MSR_SINT15:
		return eax & HV_MSR_SYNIC_AVAILABLE;
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT:
		return eax & HV_MSR_SYNTIMER_AVAILABLE;
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
	case HV_X64_MSR_VP_ASSIST_PAGE:
		return eax & HV_MSR_APIC_ACCESS_AVAILABLE;
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		return eax & HV_ACCESS_FREQUENCY_MSRS;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		return eax & HV_ACCESS_REENLIGHTENMENT;
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
	case HV_X64_MSR_CRASH_CTL:
		return edx & HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE;
	case HV_X64_MSR_SYNDBG_OPTIONS:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		return edx & HV_FEATURE_DEBUG_MSRS_AVAILABLE;
	default:
		return false;
	}
}

static bool kvmd_hv_syndbg_enabled(struct kvmd_vcpu_hv *hv)
{
	return hv->cpuid.syndbg_cap_eax & HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING;
}

static void syndbg_exit(struct kvmd_vcpu *vcpu, u32 msr)
{
	struct kvmd_hv *h = vcpu->vm->hv;
	struct kvmd_vcpu_hv *hv = vcpu->hv;

	hv->exit.type = KVM_EXIT_HYPERV_SYNDBG;
	hv->exit.u.syndbg.msr = msr;
	hv->exit.u.syndbg.control = h->syndbg.control;
	hv->exit.u.syndbg.send_page = h->syndbg.send_page;
	hv->exit.u.syndbg.recv_page = h->syndbg.recv_page;
	hv->exit.u.syndbg.pending_page = h->syndbg.pending_page;
	kvmd_hv_request(vcpu, HV_PEND_EXIT);
}

static u64 *syndbg_reg(struct kvmd_hv *h, u32 msr)
{
	switch (msr) {
	case HV_X64_MSR_SYNDBG_CONTROL:
		return &h->syndbg.control;
	case HV_X64_MSR_SYNDBG_STATUS:
		return &h->syndbg.status;
	case HV_X64_MSR_SYNDBG_SEND_BUFFER:
		return &h->syndbg.send_page;
	case HV_X64_MSR_SYNDBG_RECV_BUFFER:
		return &h->syndbg.recv_page;
	case HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		return &h->syndbg.pending_page;
	default:
		return &h->syndbg.options;
	}
}

/* The hypercall page: this CPU's hypercall instruction, then RET. */
static int kvmd_hv_write_hypercall_page(struct kvmd_vcpu *vcpu, u64 data)
{
	u8 code[4];

	memcpy(code, kvmd_ops->hypercall_insn, 3);
	code[3] = 0xc3;
	return kvmd_write_guest(vcpu->vm, data & HV_X64_MSR_HYPERCALL_PAGE_ADDRESS_MASK,
				code, sizeof(code)) ? 1 : 0;
}

static int kvmd_hv_set_msr_pw(struct kvmd_vcpu *vcpu, struct kvmd_hv *h,
			      u32 msr, u64 data, bool host)
{
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		h->guest_os_id = data;
		if (!data)
			h->hypercall &= ~HV_X64_MSR_HYPERCALL_ENABLE;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		/* Ignored until the guest said who it is. */
		if (!h->guest_os_id)
			return 0;
		if ((data & HV_X64_MSR_HYPERCALL_ENABLE) &&
		    kvmd_hv_write_hypercall_page(vcpu, data))
			return 1;
		h->hypercall = data;
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		h->tsc_page_msr = data;
		if (data & HV_X64_MSR_TSC_REFERENCE_ENABLE) {
			h->tsc_page_status = host ? HV_TSC_PAGE_HOST_CHANGED :
					     HV_TSC_PAGE_GUEST_CHANGED;
			kvmd_make_request(vcpu, KVMD_REQ_CLOCK_UPDATE);
		} else {
			h->tsc_page_status = HV_TSC_PAGE_UNSET;
		}
		return 0;
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
		h->crash_param[msr - HV_X64_MSR_CRASH_P0] = data;
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		if (host)
			h->crash_ctl = data & HV_CRASH_CTL_CRASH_NOTIFY;
		else if (data & HV_CRASH_CTL_CRASH_NOTIFY)
			kvmd_hv_request(vcpu, HV_PEND_CRASH);
		return 0;
	case HV_X64_MSR_RESET:
		if (data == 1)
			kvmd_hv_request(vcpu, HV_PEND_RESET);
		return 0;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
		h->reenlightenment_control = data;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
		h->tsc_emulation_control = data;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		if (data && !host)
			return 1;
		h->tsc_emulation_status = data;
		return 0;
	case HV_X64_MSR_TIME_REF_COUNT:
		return host ? 0 : 1;	/* read-only; a VMM's restore is ignored */
	case HV_X64_MSR_SYNDBG_OPTIONS:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		if (!kvmd_hv_syndbg_enabled(vcpu->hv) && !host)
			return 1;
		*syndbg_reg(h, msr) = data;
		if (!host && (msr == HV_X64_MSR_SYNDBG_CONTROL ||
			      msr == HV_X64_MSR_SYNDBG_PENDING_BUFFER))
			syndbg_exit(vcpu, msr);
		return 0;
	default:
		return 1;
	}
}

static int kvmd_hv_get_msr_pw(struct kvmd_vcpu *vcpu, struct kvmd_hv *h,
			      u32 msr, u64 *data, bool host)
{
	switch (msr) {
	case HV_X64_MSR_GUEST_OS_ID:
		*data = h->guest_os_id;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		*data = h->hypercall;
		return 0;
	case HV_X64_MSR_TIME_REF_COUNT:
		*data = kvmd_hv_time_ref(vcpu->vm);
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		*data = h->tsc_page_msr;
		return 0;
	case HV_X64_MSR_CRASH_P0 ... HV_X64_MSR_CRASH_P4:
		*data = h->crash_param[msr - HV_X64_MSR_CRASH_P0];
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		*data = h->crash_ctl;
		return 0;
	case HV_X64_MSR_RESET:
		*data = 0;
		return 0;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
		*data = h->reenlightenment_control;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
		*data = h->tsc_emulation_control;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		*data = h->tsc_emulation_status;
		return 0;
	case HV_X64_MSR_SYNDBG_OPTIONS:
	case HV_X64_MSR_SYNDBG_CONTROL ... HV_X64_MSR_SYNDBG_PENDING_BUFFER:
		if (!kvmd_hv_syndbg_enabled(vcpu->hv) && !host)
			return 1;
		*data = *syndbg_reg(h, msr);
		return 0;
	default:
		return 1;
	}
}

/* This thread's CPU time in 100 ns units. */
static u64 kvmd_hv_runtime(void)
{
	u64 utime, stime;

	task_cputime_adjusted(current, &utime, &stime);
	return div_u64(utime + stime, 100);
}

static int kvmd_hv_set_msr_vp(struct kvmd_vcpu *vcpu, u32 msr, u64 data,
			      bool host)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	u32 zero = 0;

	switch (msr) {
	case HV_X64_MSR_VP_INDEX:
		if (!host || (u32)data >= KVMD_MAX_VCPUS)
			return 1;
		WRITE_ONCE(hv->vp_index, (u32)data);
		return 0;
	case HV_X64_MSR_VP_ASSIST_PAGE:
		/*
		 * The page's apic_assist word is cleared as in KVM; PV EOI is
		 * not offered through it, so the guest always writes its EOIs.
		 */
		if ((data & HV_X64_MSR_VP_ASSIST_PAGE_ENABLE) &&
		    kvmd_write_guest(vcpu->vm, data & PAGE_MASK, &zero, sizeof(zero)))
			return 1;
		hv->vp_assist = data;
		return 0;
	case HV_X64_MSR_EOI:
		return kvmd_apic_hv_msr_write(vcpu, APIC_EOI, data);
	case HV_X64_MSR_ICR:
		return kvmd_apic_hv_msr_write(vcpu, APIC_ICR, data);
	case HV_X64_MSR_TPR:
		return kvmd_apic_hv_msr_write(vcpu, APIC_TASKPRI, data);
	case HV_X64_MSR_VP_RUNTIME:
		if (!host)
			return 1;
		hv->runtime_offset = data - kvmd_hv_runtime();
		return 0;
	case HV_X64_MSR_SCONTROL ... HV_X64_MSR_SINT15:
		return synic_set_msr(vcpu, msr, data, host);
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT: {
		struct kvmd_hv_stimer *st = &hv->stimer[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];

		if ((msr - HV_X64_MSR_STIMER0_CONFIG) & 1)
			return stimer_set_count(vcpu, st, data, host);
		return stimer_set_config(vcpu, st, data, host);
	}
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		return host ? 0 : 1;
	default:
		return 1;
	}
}

static int kvmd_hv_get_msr_vp(struct kvmd_vcpu *vcpu, u32 msr, u64 *data,
			      bool host)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;

	switch (msr) {
	case HV_X64_MSR_VP_INDEX:
		*data = hv->vp_index;
		return 0;
	case HV_X64_MSR_EOI:
		return kvmd_apic_hv_msr_read(vcpu, APIC_EOI, data);
	case HV_X64_MSR_ICR:
		return kvmd_apic_hv_msr_read(vcpu, APIC_ICR, data);
	case HV_X64_MSR_TPR:
		return kvmd_apic_hv_msr_read(vcpu, APIC_TASKPRI, data);
	case HV_X64_MSR_VP_ASSIST_PAGE:
		*data = hv->vp_assist;
		return 0;
	case HV_X64_MSR_VP_RUNTIME:
		*data = kvmd_hv_runtime() + hv->runtime_offset;
		return 0;
	case HV_X64_MSR_SCONTROL ... HV_X64_MSR_SINT15:
		return synic_get_msr(vcpu, msr, data, host);
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT: {
		struct kvmd_hv_stimer *st = &hv->stimer[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];

		*data = ((msr - HV_X64_MSR_STIMER0_CONFIG) & 1) ? st->count :
			st->config.as_uint64;
		return 0;
	}
	case HV_X64_MSR_TSC_FREQUENCY:
		*data = (u64)tsc_khz * 1000;
		return 0;
	case HV_X64_MSR_APIC_FREQUENCY:
		*data = KVMD_HV_APIC_BUS_HZ;
		return 0;
	default:
		return 1;
	}
}

/*
 * A Hyper-V MSR: 0, 1 (#GP) or -1 (not Hyper-V's). The guest needs the
 * Hyper-V interface in its CPUID, and with an enforced CPUID the MSR's
 * feature bit; the VMM always may.
 */
int kvmd_hv_msr_write(struct kvmd_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	struct kvmd_vcpu_hv *hv;
	struct kvmd_hv *h;
	int r;

	if (!kvmd_hv_msr(msr))
		return -1;
	if (!host && !(vcpu->hv && vcpu->hv->enabled))
		return 1;
	hv = kvmd_hv_vcpu(vcpu);
	if (!hv)
		return 1;
	if (!host && !kvmd_hv_msr_granted(hv, msr))
		return 1;
	if (!kvmd_hv_msr_partition_wide(msr))
		return kvmd_hv_set_msr_vp(vcpu, msr, data, host);
	h = vcpu->vm->hv;
	mutex_lock(&h->lock);
	r = kvmd_hv_set_msr_pw(vcpu, h, msr, data, host);
	mutex_unlock(&h->lock);
	return r;
}

int kvmd_hv_msr_read(struct kvmd_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	struct kvmd_vcpu_hv *hv;
	struct kvmd_hv *h;
	int r;

	if (!kvmd_hv_msr(msr))
		return -1;
	if (!host && !(vcpu->hv && vcpu->hv->enabled))
		return 1;
	hv = kvmd_hv_vcpu(vcpu);
	if (!hv)
		return 1;
	if (!host && !kvmd_hv_msr_granted(hv, msr))
		return 1;
	if (!kvmd_hv_msr_partition_wide(msr))
		return kvmd_hv_get_msr_vp(vcpu, msr, data, host);
	h = vcpu->vm->hv;
	mutex_lock(&h->lock);
	r = kvmd_hv_get_msr_pw(vcpu, h, msr, data, host);
	mutex_unlock(&h->lock);
	return r;
}

/* What KVM_GET_MSR_INDEX_LIST adds for Hyper-V (KVM's emulated MSRs). */
static const u32 kvmd_hv_msrs_to_save[] = {
	HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL,
	HV_X64_MSR_TIME_REF_COUNT, HV_X64_MSR_REFERENCE_TSC,
	HV_X64_MSR_TSC_FREQUENCY, HV_X64_MSR_APIC_FREQUENCY,
	HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P1, HV_X64_MSR_CRASH_P2,
	HV_X64_MSR_CRASH_P3, HV_X64_MSR_CRASH_P4, HV_X64_MSR_CRASH_CTL,
	HV_X64_MSR_RESET, HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_RUNTIME,
	HV_X64_MSR_SCONTROL, HV_X64_MSR_STIMER0_CONFIG,
	HV_X64_MSR_VP_ASSIST_PAGE, HV_X64_MSR_REENLIGHTENMENT_CONTROL,
	HV_X64_MSR_TSC_EMULATION_CONTROL, HV_X64_MSR_TSC_EMULATION_STATUS,
	HV_X64_MSR_SYNDBG_OPTIONS, HV_X64_MSR_SYNDBG_CONTROL,
	HV_X64_MSR_SYNDBG_STATUS, HV_X64_MSR_SYNDBG_SEND_BUFFER,
	HV_X64_MSR_SYNDBG_RECV_BUFFER, HV_X64_MSR_SYNDBG_PENDING_BUFFER,
};

const u32 *kvmd_hv_msr_list(unsigned int *n)
{
	*n = ARRAY_SIZE(kvmd_hv_msrs_to_save);
	return kvmd_hv_msrs_to_save;
}

/* ---- before entry: exits to userspace and timers ---- */

int kvmd_hv_service(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	struct kvm_run *run = vcpu->run;

	if (!hv)
		return KVMD_RESUME;
	if (test_and_clear_bit(HV_PEND_CRASH, &hv->pending)) {
		run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
		run->system_event.type = KVM_SYSTEM_EVENT_CRASH;
		run->system_event.ndata = 0;
		goto out_user;
	}
	if (test_and_clear_bit(HV_PEND_RESET, &hv->pending)) {
		run->exit_reason = KVM_EXIT_SYSTEM_EVENT;
		run->system_event.type = KVM_SYSTEM_EVENT_RESET;
		run->system_event.ndata = 0;
		goto out_user;
	}
	if (test_and_clear_bit(HV_PEND_EXIT, &hv->pending)) {
		run->exit_reason = KVM_EXIT_HYPERV;
		run->hyperv = hv->exit;
		goto out_user;
	}
	if (test_and_clear_bit(HV_PEND_STIMER, &hv->pending))
		kvmd_hv_process_stimers(vcpu);
	return KVMD_RESUME;
out_user:
	if (READ_ONCE(hv->pending))
		kvmd_make_request(vcpu, KVMD_REQ_HV);
	return KVMD_EXIT_USER;
}

/* ---- KVM_HYPERV_EVENTFD ---- */

int kvmd_hv_eventfd(struct kvmd_vm *vm, void __user *argp)
{
	struct kvm_hyperv_eventfd args;
	struct eventfd_ctx *evt;
	struct kvmd_hv *h;
	int r;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~KVM_HYPERV_EVENTFD_DEASSIGN) ||
	    (args.conn_id & ~KVM_HYPERV_CONN_ID_MASK))
		return -EINVAL;
	h = kvmd_hv_vm(vm);
	if (!h)
		return -ENOMEM;
	if (args.flags == KVM_HYPERV_EVENTFD_DEASSIGN) {
		mutex_lock(&h->lock);
		evt = idr_remove(&h->conn_to_evt, args.conn_id);
		mutex_unlock(&h->lock);
		if (!evt)
			return -ENOENT;
		synchronize_rcu();
		eventfd_ctx_put(evt);
		return 0;
	}
	evt = eventfd_ctx_fdget(args.fd);
	if (IS_ERR(evt))
		return PTR_ERR(evt);
	mutex_lock(&h->lock);
	r = idr_alloc(&h->conn_to_evt, evt, args.conn_id, args.conn_id + 1,
		      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&h->lock);
	if (r >= 0)
		return 0;
	eventfd_ctx_put(evt);
	return r == -ENOSPC ? -EEXIST : r;
}

/* ---- hypercalls ---- */

struct kvmd_hcall {
	u64 param;
	u64 ingpa;
	u64 outgpa;
	u16 code;
	u16 var_cnt;
	u16 rep_cnt;
	u16 rep_idx;
	bool fast;
	bool rep;
	u64 xmm[HV_HYPERCALL_MAX_XMM_REGISTERS][2];	/* low, high */
};

bool kvmd_hv_hypercall_enabled(struct kvmd_vcpu *vcpu)
{
	struct kvmd_hv *h = READ_ONCE(vcpu->vm->hv);

	return vcpu->hv && vcpu->hv->enabled && h && READ_ONCE(h->guest_os_id);
}

static bool kvmd_hv_is_64(struct kvmd_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!kvmd_long_mode(vcpu))
		return false;
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	return cs.l;
}

/* The guest's XMM0-5: its FPU state is the thread's while KVM_RUN runs. */
static void kvmd_hv_read_xmm(struct kvmd_hcall *hc)
{
	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	asm volatile("movdqu %%xmm0, %0\n\t"
		     "movdqu %%xmm1, %1\n\t"
		     "movdqu %%xmm2, %2\n\t"
		     "movdqu %%xmm3, %3\n\t"
		     "movdqu %%xmm4, %4\n\t"
		     "movdqu %%xmm5, %5\n\t"
		     : "=m" (hc->xmm[0]), "=m" (hc->xmm[1]), "=m" (hc->xmm[2]),
		       "=m" (hc->xmm[3]), "=m" (hc->xmm[4]), "=m" (hc->xmm[5]));
	fpregs_unlock();
}

static bool kvmd_hv_xmm_fast(u16 code)
{
	switch (code) {
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
	case HVCALL_SEND_IPI_EX:
		return true;
	default:
		return false;
	}
}

/* KVM_CAP_HYPERV_ENFORCE_CPUID for hypercalls: which CPUID bit grants one. */
static bool kvmd_hv_hcall_granted(struct kvmd_vcpu_hv *hv, u16 code)
{
	u32 recomm = hv->cpuid.enlightenments_eax;

	if (!hv->enforce_cpuid)
		return true;
	switch (code) {
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		return hv->cpuid.enlightenments_ebx &&
		       hv->cpuid.enlightenments_ebx != U32_MAX;
	case HVCALL_POST_MESSAGE:
		return hv->cpuid.features_ebx & HV_POST_MESSAGES;
	case HVCALL_SIGNAL_EVENT:
		return hv->cpuid.features_ebx & HV_SIGNAL_EVENTS;
	case HVCALL_POST_DEBUG_DATA:
	case HVCALL_RETRIEVE_DEBUG_DATA:
	case HVCALL_RESET_DEBUG_SESSION:
		/* Without the debugger these fail as unknown codes instead. */
		return !kvmd_hv_syndbg_enabled(hv) ||
		       (hv->cpuid.features_ebx & HV_DEBUGGING);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
		if (!(recomm & HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED))
			return false;
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
		return recomm & HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED;
	case HVCALL_SEND_IPI_EX:
		if (!(recomm & HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED))
			return false;
		fallthrough;
	case HVCALL_SEND_IPI:
		return recomm & HV_X64_CLUSTER_IPI_RECOMMENDED;
	default:
		return true;
	}
}

/*
 * The sparse VP set of an _EX call: banks of 64 VP indices, one per bit of
 * valid_bank_mask, read from XMM halves (fast) or after the fixed header.
 */
static int kvmd_hv_sparse_banks(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc,
				int xmm_halves_used, u64 *banks, u64 offset)
{
	u16 n;
	int i;

	if (hc->var_cnt > 64)
		return -EINVAL;
	n = min_t(u16, hc->var_cnt, KVMD_HV_BANKS);
	if (hc->fast) {
		if (hc->var_cnt > 2 * HV_HYPERCALL_MAX_XMM_REGISTERS - xmm_halves_used)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			int j = i + xmm_halves_used;

			banks[i] = hc->xmm[j / 2][j % 2];
		}
		return 0;
	}
	return kvmd_read_guest(vcpu->vm, hc->ingpa + offset, banks,
			       n * sizeof(*banks)) ? -EFAULT : 0;
}

/* Whether VP index vp is in the set (banks packed by valid_mask). */
static bool kvmd_hv_vp_in_set(u32 vp, const u64 *banks, u64 valid_mask)
{
	u32 bank = vp / 64;

	if (bank >= 64 || !(valid_mask & BIT_ULL(bank)))
		return false;
	return banks[hweight64(valid_mask & (BIT_ULL(bank) - 1))] & BIT_ULL(vp % 64);
}

static u64 kvmd_hv_flush_tlb(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc)
{
	struct kvmd_vm *vm = vcpu->vm;
	u64 banks[KVMD_HV_BANKS] = { 0 };
	u64 valid_mask;
	bool all;
	int i, n;

	if (hc->code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST ||
	    hc->code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE) {
		struct hv_tlb_flush f;

		if (hc->fast) {
			f.flags = hc->outgpa;
			f.processor_mask = hc->xmm[0][0];
		} else if (kvmd_read_guest(vm, hc->ingpa, &f, sizeof(f))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		valid_mask = BIT_ULL(0);
		banks[0] = f.processor_mask;
		/* As KVM: an empty mask means all (an old Windows' habit). */
		all = (f.flags & HV_FLUSH_ALL_PROCESSORS) || !f.processor_mask;
	} else {
		struct hv_tlb_flush_ex fx;

		if (hc->fast) {
			fx.flags = hc->outgpa;
			fx.hv_vp_set.format = hc->xmm[0][0];
			fx.hv_vp_set.valid_bank_mask = hc->xmm[0][1];
		} else if (kvmd_read_guest(vm, hc->ingpa, &fx, sizeof(fx))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		valid_mask = fx.hv_vp_set.valid_bank_mask;
		all = fx.hv_vp_set.format != HV_GENERIC_SET_SPARSE_4K;
		if (hc->var_cnt != hweight64(valid_mask))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (!all) {
			if (!hc->var_cnt)
				goto done;
			if (kvmd_hv_sparse_banks(vcpu, hc, 2, banks,
						 offsetof(struct hv_tlb_flush_ex,
							  hv_vp_set.bank_contents)))
				return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
	}
	/* Whatever the address space asked for, the whole TLB goes, as KVM. */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		struct kvmd_vcpu *t = vm->vcpus[i];

		if (!all && !kvmd_hv_vp_in_set(kvmd_hv_vp_index(t, i), banks, valid_mask))
			continue;
		kvmd_make_request(t, KVMD_REQ_TLB_FLUSH);
		if (t != vcpu)
			kvmd_kick_vcpu(t);
	}
done:
	return HV_STATUS_SUCCESS | ((u64)hc->rep_cnt << HV_HYPERCALL_REP_COMP_OFFSET);
}

static u64 kvmd_hv_send_ipi(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc)
{
	struct kvmd_vm *vm = vcpu->vm;
	u64 banks[KVMD_HV_BANKS] = { 0 };
	struct kvmd_lapic_irq irq = { .delivery_mode = APIC_DM_FIXED };
	u64 valid_mask;
	bool all;
	int i, n;

	if (!vcpu->apic)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (hc->code == HVCALL_SEND_IPI) {
		struct hv_send_ipi s;

		if (hc->fast) {
			if (hc->ingpa >> 32)
				return HV_STATUS_INVALID_HYPERCALL_INPUT;
			s.vector = hc->ingpa;
			s.cpu_mask = hc->outgpa;
		} else if (kvmd_read_guest(vm, hc->ingpa, &s, sizeof(s))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		irq.vector = s.vector;
		banks[0] = s.cpu_mask;
		valid_mask = BIT_ULL(0);
		all = false;
	} else {
		struct hv_send_ipi_ex sx;

		if (hc->fast) {
			sx.vector = hc->ingpa;
			sx.vp_set.format = hc->outgpa;
			sx.vp_set.valid_bank_mask = hc->xmm[0][0];
		} else if (kvmd_read_guest(vm, hc->ingpa, &sx, sizeof(sx))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		irq.vector = sx.vector;
		valid_mask = sx.vp_set.valid_bank_mask;
		all = sx.vp_set.format == HV_GENERIC_SET_ALL;
		if (hc->var_cnt != hweight64(valid_mask))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (!all) {
			if (!hc->var_cnt)
				return HV_STATUS_SUCCESS;
			if (kvmd_hv_sparse_banks(vcpu, hc, 1, banks,
						 offsetof(struct hv_send_ipi_ex,
							  vp_set.bank_contents)))
				return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
	}
	if (irq.vector < HV_IPI_LOW_VECTOR || irq.vector > HV_IPI_HIGH_VECTOR)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		struct kvmd_vcpu *t = vm->vcpus[i];

		if (!t->apic || (!all &&
		    !kvmd_hv_vp_in_set(kvmd_hv_vp_index(t, i), banks, valid_mask)))
			continue;
		kvmd_apic_set_irq(t, &irq);
	}
	return HV_STATUS_SUCCESS;
}

static u16 kvmd_hv_signal_event(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc)
{
	struct kvmd_hv *h = vcpu->vm->hv;
	struct eventfd_ctx *evt;

	if (!hc->fast) {
		u64 gpa = hc->ingpa;

		if ((gpa & 7) || offset_in_page(gpa) + 8 > PAGE_SIZE)
			return HV_STATUS_INVALID_ALIGNMENT;
		if (kvmd_read_guest(vcpu->vm, gpa, &hc->ingpa, sizeof(hc->ingpa)))
			return HV_STATUS_INVALID_ALIGNMENT;
	}
	/* The flag number (bits 32-47) is always 0 in practice, as KVM assumes. */
	if (hc->ingpa & 0xffff00000000ULL)
		return HV_STATUS_INVALID_PORT_ID;
	if (hc->ingpa & ~KVM_HYPERV_CONN_ID_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	rcu_read_lock();
	evt = idr_find(&h->conn_to_evt, hc->ingpa);
	if (evt)
		eventfd_signal(evt, 1);
	rcu_read_unlock();
	return evt ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PORT_ID;
}

static void kvmd_hv_set_result(struct kvmd_vcpu *vcpu, u64 result)
{
	if (kvmd_hv_is_64(vcpu)) {
		vcpu->regs[R_AX] = result;
	} else {
		vcpu->regs[R_DX] = result >> 32;
		vcpu->regs[R_AX] = (u32)result;
	}
}

/* Hand the call to userspace as KVM_EXIT_HYPERV; KVM_RUN completes it. */
static int kvmd_hv_hcall_to_user(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc,
				 unsigned int len)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_HYPERV;
	memset(&run->hyperv, 0, sizeof(run->hyperv));
	run->hyperv.type = KVM_EXIT_HYPERV_HCALL;
	run->hyperv.u.hcall.input = hc->param;
	run->hyperv.u.hcall.params[0] = hc->ingpa;
	run->hyperv.u.hcall.params[1] = hc->outgpa;
	hv->hcall.pending = true;
	hv->hcall.len = len;
	hv->hcall.rip = vcpu->rip;
	return KVMD_EXIT_USER;
}

bool kvmd_hv_hypercall_pending(struct kvmd_vcpu *vcpu)
{
	return vcpu->hv && vcpu->hv->hcall.pending;
}

int kvmd_hv_complete_hypercall(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;

	hv->hcall.pending = false;
	/* Userspace moved RIP: the call is abandoned, as for I/O. */
	if (vcpu->rip != hv->hcall.rip)
		return KVMD_RESUME;
	kvmd_hv_set_result(vcpu, vcpu->run->hyperv.u.hcall.result);
	kvmd_skip_insn(vcpu, hv->hcall.len);
	return KVMD_RESUME;
}

/*
 * A Hyper-V hypercall (the guest set its OS ID): the control word in RCX,
 * input and output GPAs in RDX and R8 (64-bit) or EDX:EAX, EBX:ECX,
 * EDI:ESI; the status back in RAX (EDX:EAX).
 */
int kvmd_hv_hypercall(struct kvmd_vcpu *vcpu, unsigned int len)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	struct kvmd_hcall hc = { 0 };
	u64 ret = HV_STATUS_SUCCESS;
	unsigned long *r = vcpu->regs;

	/* #UD outside ring 0 and real mode, as the TLFS says. */
	if (kvmd_ops->get_cpl(vcpu) ||
	    !(kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PE)) {
		kvmd_queue_exception(vcpu, 6);
		return KVMD_RESUME;
	}
	if (kvmd_hv_is_64(vcpu)) {
		hc.param = r[R_CX];
		hc.ingpa = r[R_DX];
		hc.outgpa = r[R_8];
	} else {
		hc.param = ((u64)(u32)r[R_DX] << 32) | (u32)r[R_AX];
		hc.ingpa = ((u64)(u32)r[R_BX] << 32) | (u32)r[R_CX];
		hc.outgpa = ((u64)(u32)r[R_DI] << 32) | (u32)r[R_SI];
	}
	hc.code = hc.param & 0xffff;
	hc.var_cnt = (hc.param & HV_HYPERCALL_VARHEAD_MASK) >> HV_HYPERCALL_VARHEAD_OFFSET;
	hc.fast = !!(hc.param & HV_HYPERCALL_FAST_BIT);
	hc.rep_cnt = (hc.param >> HV_HYPERCALL_REP_COMP_OFFSET) & 0xfff;
	hc.rep_idx = (hc.param >> HV_HYPERCALL_REP_START_OFFSET) & 0xfff;
	hc.rep = hc.rep_cnt || hc.rep_idx;
	vcpu->stat.hypercalls++;

	if (!kvmd_hv_hcall_granted(hv, hc.code)) {
		ret = HV_STATUS_ACCESS_DENIED;
		goto done;
	}
	if (hc.param & HV_HYPERCALL_RSVD_MASK) {
		ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
		goto done;
	}
	if (hc.fast && kvmd_hv_xmm_fast(hc.code)) {
		if (hv->enforce_cpuid &&
		    !(hv->cpuid.features_edx & HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE)) {
			kvmd_queue_exception(vcpu, 6);
			return KVMD_RESUME;
		}
		kvmd_hv_read_xmm(&hc);
	}

	switch (hc.code) {
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		if (hc.rep || hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		yield();
		break;
	case HVCALL_SIGNAL_EVENT:
		if (hc.rep || hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_signal_event(vcpu, &hc);
		if (ret != HV_STATUS_INVALID_PORT_ID)
			break;
		fallthrough;	/* userspace may know the connection */
	case HVCALL_POST_MESSAGE:
		/* Only a SynIC's owner has a way to answer. */
		if (hc.rep || hc.var_cnt || !hv->synic.active) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		return kvmd_hv_hcall_to_user(vcpu, &hc, len);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
		if (hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
		if (!hc.rep_cnt || hc.rep_idx) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_flush_tlb(vcpu, &hc);
		break;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
		if (hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
		if (hc.rep) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_flush_tlb(vcpu, &hc);
		break;
	case HVCALL_SEND_IPI:
		if (hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		fallthrough;
	case HVCALL_SEND_IPI_EX:
		if (hc.rep) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_send_ipi(vcpu, &hc);
		break;
	case HVCALL_POST_DEBUG_DATA:
	case HVCALL_RETRIEVE_DEBUG_DATA:
		if (hc.fast) {
			ret = HV_STATUS_INVALID_PARAMETER;
			break;
		}
		fallthrough;
	case HVCALL_RESET_DEBUG_SESSION:
		if (!kvmd_hv_syndbg_enabled(hv)) {
			ret = HV_STATUS_INVALID_HYPERCALL_CODE;
			break;
		}
		if (!(vcpu->vm->hv->syndbg.options & HV_X64_SYNDBG_OPTION_USE_HCALLS)) {
			ret = HV_STATUS_OPERATION_DENIED;
			break;
		}
		return kvmd_hv_hcall_to_user(vcpu, &hc, len);
	default:
		ret = HV_STATUS_INVALID_HYPERCALL_CODE;
		break;
	}
done:
	kvmd_hv_set_result(vcpu, ret);
	kvmd_skip_insn(vcpu, len);
	return KVMD_RESUME;
}
