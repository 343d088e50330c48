// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/hyperv.c: the Hyper-V enlightenments KVM offers: their state,
 * the synthetic MSRs (hypercall page, VP index, reference time and TSC page,
 * APIC access, crash, reset, frequencies, reenlightenment, synthetic
 * debugger; the SynIC's and timers' are in hyperv_synic.c), the Hyper-V
 * CPUID leaves of KVM_GET_SUPPORTED_HV_CPUID and KVM_CAP_HYPERV_ENFORCE_CPUID.
 * Hypercalls are in hyperv_hcall.c.
 */
#include <linux/cpu.h>
#include <linux/eventfd.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/cputime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/pvclock-abi.h>
#include <asm/svm.h>

#include "hyperv.h"

/* ---- state lifetime ---- */

/* The VM's Hyper-V state, made on first use; NULL without memory. */
struct kvmd_hv *kvmd_hv_vm(struct kvmd_vm *vm)
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
		kvmd_hv_stimer_init(vcpu, &hv->stimer[i], i);
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

u32 kvmd_hv_vp_index(struct kvmd_vcpu *vcpu, int idx)
{
	struct kvmd_vcpu_hv *hv = smp_load_acquire(&vcpu->hv);

	return hv ? READ_ONCE(hv->vp_index) : idx;
}

struct kvmd_vcpu *kvmd_hv_vcpu_by_vp(struct kvmd_vm *vm, u32 vp)
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
u64 kvmd_hv_time_ref(struct kvmd_vm *vm)
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

/* Work for the vCPU before its next entry (HV_PEND_*), see kvmd_hv_service(). */
void kvmd_hv_request(struct kvmd_vcpu *vcpu, int what)
{
	set_bit(what, &vcpu->hv->pending);
	kvmd_make_request(vcpu, KVMD_REQ_HV);
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

bool kvmd_hv_syndbg_enabled(struct kvmd_vcpu_hv *hv)
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
		return kvmd_hv_synic_set_msr(vcpu, msr, data, host);
	case HV_X64_MSR_STIMER0_CONFIG ... HV_X64_MSR_STIMER3_COUNT: {
		struct kvmd_hv_stimer *st = &hv->stimer[(msr - HV_X64_MSR_STIMER0_CONFIG) / 2];

		if ((msr - HV_X64_MSR_STIMER0_CONFIG) & 1)
			return kvmd_hv_stimer_set_count(vcpu, st, data, host);
		return kvmd_hv_stimer_set_config(vcpu, st, data, host);
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
		return kvmd_hv_synic_get_msr(vcpu, msr, data, host);
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
static int kvmd_hv_msr_access(struct kvmd_vcpu *vcpu, u32 msr, u64 *data,
			      bool host, bool write)
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
		return write ? kvmd_hv_set_msr_vp(vcpu, msr, *data, host) :
			       kvmd_hv_get_msr_vp(vcpu, msr, data, host);
	h = vcpu->vm->hv;
	mutex_lock(&h->lock);
	r = write ? kvmd_hv_set_msr_pw(vcpu, h, msr, *data, host) :
		    kvmd_hv_get_msr_pw(vcpu, h, msr, data, host);
	mutex_unlock(&h->lock);
	return r;
}

int kvmd_hv_msr_write(struct kvmd_vcpu *vcpu, u32 msr, u64 data, bool host)
{
	return kvmd_hv_msr_access(vcpu, msr, &data, host, true);
}

int kvmd_hv_msr_read(struct kvmd_vcpu *vcpu, u32 msr, u64 *data, bool host)
{
	return kvmd_hv_msr_access(vcpu, msr, data, host, false);
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


/*
 * For nested SVM (as KVM's nested_svm_vmrun_msrpm): an enlightened L1 may
 * say through its VMCB's Hyper-V enlightenments (control.msr_bitmap) and
 * clean bit 31 (HV_VMCB_NESTED_ENLIGHTENMENTS) that its MSR permission map
 * did not change since the last VMRUN, so the merged map can be kept.
 * Only for a guest with Hyper-V hypercalls enabled.
 */
bool kvmd_hv_nested_msrpm_unchanged(struct kvmd_vcpu *vcpu,
				    const struct vmcb_control_area *ctl)
{
	return kvmd_hv_hypercall_enabled(vcpu) &&
	       ctl->hv_enlightenments.hv_enlightenments_control.msr_bitmap &&
	       (ctl->clean & BIT(31));
}
