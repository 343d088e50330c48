// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/async_pf.c: KVM's asynchronous page faults. When a guest
 * access needs a host page that cannot be had without waiting (swapped
 * out, a userfaultfd still to answer), a worker faults it in while the
 * guest, told "page not present" by a #PF with a token for CR2, runs
 * something else; when the page is in, the guest gets "page ready" with
 * the same token through the interrupt vector of MSR_KVM_ASYNC_PF_INT and
 * acknowledges with MSR_KVM_ASYNC_PF_ACK.
 * A guest that cannot take the #PF now only waits in the kernel (a
 * synthetic halt that interrupts end) until the page is in.
 *
 * L2 of an L1 that asked for DELIVERY_AS_PF_VMEXIT: KVM 6.1 writes "page
 * not present" into L1's flags and queues #VMEXIT(#PF) with the token,
 * but without asking for an event check, so L2 runs again first; the exit
 * of its retried access drops the queued one, the access finds the page
 * on its way and waits (KVM_REQ_APF_HALT). L1 thus sees only the flags and
 * then "page ready" (as #VMEXIT(INTR) if it intercepts interrupts). We
 * give the same: the flags, no #VMEXIT, the wait, "page ready".
 *
 * Locking and lifetime:
 * - vcpu->apf's fields other than done belong to the vCPU thread: they
 *   change under vcpu->mutex (KVM_RUN, KVM_SET_MSRS, reset) or while the
 *   VM is destroyed, when no ioctl can run. The queue lists every work
 *   not yet dequeued, done or not (through work->queue).
 * - vcpu->apf.done is guarded by vcpu->apf.lock: the worker adds its work
 *   there when the page is in, the vCPU thread takes it off. A work's
 *   vcpu pointer is cleared under that lock when it joins done: from then
 *   on the vCPU thread owns it, but the worker function may still be
 *   finishing (it wakes the vCPU), so whoever frees a work that ran first
 *   waits for it with flush_work().
 * - A queued work holds an mm_users reference (taken by the vCPU thread,
 *   dropped by the worker right after its fault, or by whoever cancels
 *   the work before it ran).
 * - The vCPU outlives its works: kvmd_apf_reset() cancels or flushes each
 *   of them and frees them all; it runs at every reset and when the vCPU
 *   is destroyed. The VM's file holds the module, so no worker code runs
 *   once the module may go.
 * - kvmd_apf_fault() runs without slots_sem: it writes guest memory,
 *   which takes it. apf.lock is innermost and never held across a wait.
 */
#include <linux/kvm_para.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/workqueue.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

#define KVMD_APF_MAX		64	/* outstanding per vCPU, as KVM's ASYNC_PF_PER_VCPU */
#define KVMD_APF_RESERVED	0x30ULL	/* MSR_KVM_ASYNC_PF_EN bits 4-5 */

struct kvmd_apf_work {
	struct list_head queue;		/* vcpu->apf.queue */
	struct list_head link;		/* vcpu->apf.done, under apf.lock */
	struct work_struct work;
	struct kvmd_vcpu *vcpu;		/* NULL once on done */
	struct mm_struct *mm;
	unsigned long hva;
	u64 gfn;
	u32 token;
	bool wakeup_all;		/* "all pages ready" (~0): never given to a worker */
	bool notpresent_injected;	/* the guest was told "not present" */
};

void kvmd_apf_vcpu_init(struct kvmd_vcpu *vcpu)
{
	INIT_LIST_HEAD(&vcpu->apf.queue);
	INIT_LIST_HEAD(&vcpu->apf.done);
	spin_lock_init(&vcpu->apf.lock);
}

/* Enabled, with "page ready" as an interrupt (KVM's kvm_pv_async_pf_enabled). */
static bool apf_enabled(struct kvmd_vcpu *vcpu)
{
	u64 mask = KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT;

	return (vcpu->apf.msr_en & mask) == mask;
}

static u64 apf_data_gpa(struct kvmd_vcpu *vcpu)
{
	return vcpu->apf.msr_en & ~0x3fULL;
}

static bool apf_guest_mode(struct kvmd_vcpu *vcpu)
{
	return kvmd_ops->is_guest_mode && kvmd_ops->is_guest_mode(vcpu);
}

bool kvmd_apf_has_done(struct kvmd_vcpu *vcpu)
{
	return !list_empty_careful(&vcpu->apf.done);
}

/* ---- the worker ---- */

static void apf_wake(struct kvmd_vcpu *vcpu)
{
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	if (wq_has_sleeper(&vcpu->wq))
		wake_up_interruptible(&vcpu->wq);
}

static void apf_execute(struct work_struct *w)
{
	struct kvmd_apf_work *work = container_of(w, struct kvmd_apf_work, work);
	struct kvmd_vcpu *vcpu = work->vcpu;
	struct mm_struct *mm = work->mm;
	int locked = 1;
	bool first;

	/* Fault the page in on the VMM's address space, waiting as long as it takes. */
	mmap_read_lock(mm);
	get_user_pages_remote(mm, work->hva, 1, FOLL_WRITE, NULL, NULL, &locked);
	if (locked)
		mmap_read_unlock(mm);
	mmput(mm);

	spin_lock(&vcpu->apf.lock);
	first = list_empty(&vcpu->apf.done);
	list_add_tail(&work->link, &vcpu->apf.done);
	work->vcpu = NULL;
	spin_unlock(&vcpu->apf.lock);

	/*
	 * From here the vCPU thread may dequeue the work; it flushes us first.
	 * An unacknowledged "page ready" holds the next back: no kick out of
	 * the guest then, but a halted vCPU wakes for any page that is in
	 * (kvmd_vcpu_block).
	 */
	if (first)
		kvmd_make_request(vcpu, KVMD_REQ_APF_READY);
	if (first && !READ_ONCE(vcpu->apf.pageready_pending))
		kvmd_vcpu_kick(vcpu);
	else
		apf_wake(vcpu);
}

static void apf_free(struct kvmd_apf_work *work)
{
	if (!work->wakeup_all)
		flush_work(&work->work);
	kfree(work);
}

/*
 * Forget every work: cancel those not yet started, wait for those running,
 * free them all. vCPU thread, or the VM's destruction.
 */
static void apf_clear(struct kvmd_vcpu *vcpu)
{
	struct kvmd_apf_work *work;

	spin_lock(&vcpu->apf.lock);
	while (!list_empty(&vcpu->apf.queue)) {
		work = list_first_entry(&vcpu->apf.queue, typeof(*work), queue);
		list_del(&work->queue);
		/* Already on done: freed below. */
		if (!work->vcpu)
			continue;
		spin_unlock(&vcpu->apf.lock);
		/* Not started: ours to free. Else it ran to its end, onto done. */
		if (cancel_work_sync(&work->work)) {
			mmput(work->mm);
			kfree(work);
		}
		spin_lock(&vcpu->apf.lock);
	}
	while (!list_empty(&vcpu->apf.done)) {
		work = list_first_entry(&vcpu->apf.done, typeof(*work), link);
		list_del(&work->link);
		spin_unlock(&vcpu->apf.lock);
		apf_free(work);
		spin_lock(&vcpu->apf.lock);
	}
	spin_unlock(&vcpu->apf.lock);
	vcpu->apf.queued = 0;
}

/* Power-on and INIT (as KVM's kvm_vcpu_reset), and the vCPU's end. */
void kvmd_apf_reset(struct kvmd_vcpu *vcpu)
{
	vcpu->apf.msr_en = 0;
	vcpu->apf.msr_int = 0;
	apf_clear(vcpu);
	vcpu->apf.halted = false;
	vcpu->apf.pageready_pending = false;
}

/* ---- "page not present" ---- */

/*
 * Whether the vCPU may go on without the page now (KVM's
 * kvm_can_do_async_pf): an in-kernel APIC, no event half-delivered or
 * pending, and interrupts that could end a synthetic halt.
 */
bool kvmd_apf_can_do(struct kvmd_vcpu *vcpu)
{
	if (!vcpu->apic || vcpu->exception.injected || vcpu->interrupt.injected ||
	    vcpu->nmi.injected || vcpu->exception.pending ||
	    test_bit(KVMD_REQ_TRIPLE_FAULT, &vcpu->requests))
		return false;
	return kvmd_interrupt_allowed(vcpu);
}

/* Whether the guest can take "page not present" now (KVM's kvm_can_deliver_async_pf). */
static bool apf_can_deliver(struct kvmd_vcpu *vcpu)
{
	if (!apf_enabled(vcpu))
		return false;
	if (vcpu->apf.send_user_only && kvmd_ops->get_cpl(vcpu) == 0)
		return false;
	/* L1 asks for its guest's as #PF #VMEXITs (which it never gets, as KVM 6.1). */
	if (apf_guest_mode(vcpu))
		return vcpu->apf.as_pf_vmexit;
	/* Without paging the IDT is unlikely to handle a #PF. */
	return kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PG;
}

static bool apf_gfn_queued(struct kvmd_vcpu *vcpu, u64 gfn)
{
	struct kvmd_apf_work *work;

	list_for_each_entry(work, &vcpu->apf.queue, queue)
		if (!work->wakeup_all && work->gfn == gfn)
			return true;
	return false;
}

/* Never 0: (sequence << 12) | vCPU ID, as KVM's. */
static u32 apf_token(struct kvmd_vcpu *vcpu)
{
	if (!(vcpu->apf.id << 12))
		vcpu->apf.id = 1;
	return (vcpu->apf.id++ << 12) | vcpu->id;
}

/* Tell the guest: a #PF with the token for address, the reason in the data's flags. */
static bool apf_not_present(struct kvmd_vcpu *vcpu, u32 token)
{
	u32 reason = KVM_PV_REASON_PAGE_NOT_PRESENT;

	if (!apf_can_deliver(vcpu) ||
	    kvmd_write_guest(vcpu->vm, apf_data_gpa(vcpu), &reason, sizeof(reason))) {
		/* Wait in the kernel instead; an interrupt may end the wait early. */
		kvmd_make_request(vcpu, KVMD_REQ_APF_HALT);
		return false;
	}
	/* L2: the #VMEXIT KVM 6.1 queues never reaches L1 (top comment). */
	if (!apf_guest_mode(vcpu)) {
		kvmd_ops->set_cr2(vcpu, token);
		kvmd_queue_exception_e(vcpu, 14, 0);
	}
	return true;
}

/* The VMM maps @hva for this access: waiting will bring the page in. */
static bool apf_vma_ok(unsigned long hva, bool write)
{
	struct vm_area_struct *vma;
	bool ok;

	mmap_read_lock(current->mm);
	vma = vma_lookup(current->mm, hva);
	ok = vma && !(vma->vm_flags & (VM_IO | VM_PFNMAP)) &&
	     (vma->vm_flags & VM_READ) && (!write || (vma->vm_flags & VM_WRITE));
	mmap_read_unlock(current->mm);
	return ok;
}

/*
 * A second-level fault at @gpa whose host page at @hva a non-waiting
 * fault could not bring in (the caller checked kvmd_apf_can_do). True:
 * handled, the guest runs on (told "not present", or in a synthetic
 * halt) and faults again later; false: fault the page in now, waiting.
 */
bool kvmd_apf_fault(struct kvmd_vcpu *vcpu, u64 gpa, unsigned long hva,
		    bool write)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct kvmd_apf_work *work;

	if (!apf_vma_ok(hva, write))
		return false;
	/* The same page again: already on its way, just wait. */
	if (apf_gfn_queued(vcpu, gfn)) {
		kvmd_make_request(vcpu, KVMD_REQ_APF_HALT);
		return true;
	}
	if (vcpu->apf.queued >= KVMD_APF_MAX)
		return false;
	/* If allocating would sleep, the fault might as well. */
	work = kzalloc(sizeof(*work), GFP_NOWAIT | __GFP_NOWARN);
	if (!work)
		return false;
	work->vcpu = vcpu;
	work->hva = hva;
	work->gfn = gfn;
	work->token = apf_token(vcpu);
	work->mm = current->mm;
	mmget(work->mm);
	INIT_WORK(&work->work, apf_execute);
	list_add_tail(&work->queue, &vcpu->apf.queue);
	vcpu->apf.queued++;
	work->notpresent_injected = apf_not_present(vcpu, work->token);
	schedule_work(&work->work);
	return true;
}

/* ---- "page ready" ---- */

static bool apf_slot_free(struct kvmd_vcpu *vcpu)
{
	u32 token;

	if (kvmd_read_guest(vcpu->vm, apf_data_gpa(vcpu) +
			    offsetof(struct kvm_vcpu_pv_apf_data, token),
			    &token, sizeof(token)))
		return false;
	return !token;
}

/* KVM's kvm_arch_can_dequeue_async_page_present. */
static bool apf_can_dequeue(struct kvmd_vcpu *vcpu)
{
	if (!apf_enabled(vcpu))
		return true;
	return kvmd_lapic_enabled(vcpu) && apf_slot_free(vcpu);
}

static void apf_present(struct kvmd_vcpu *vcpu, struct kvmd_apf_work *work)
{
	struct kvmd_lapic_irq irq = {
		.vector = vcpu->apf.msr_int & KVM_ASYNC_PF_VEC_MASK,
		.delivery_mode = APIC_DM_FIXED,
	};
	u32 token = work->wakeup_all ? ~0U : work->token;

	if ((work->wakeup_all || work->notpresent_injected) && apf_enabled(vcpu) &&
	    !kvmd_write_guest(vcpu->vm, apf_data_gpa(vcpu) +
			      offsetof(struct kvm_vcpu_pv_apf_data, token),
			      &token, sizeof(token))) {
		vcpu->apf.pageready_pending = true;
		kvmd_apic_set_irq(vcpu, &irq);
	}
	vcpu->apf.halted = false;
	if (vcpu->mp_state == KVM_MP_STATE_HALTED)
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
}

/*
 * Tell the guest about the pages that came in, one "page ready" at a time:
 * the next waits until the guest has freed the token slot and written
 * MSR_KVM_ASYNC_PF_ACK. vCPU thread.
 */
void kvmd_apf_check_completion(struct kvmd_vcpu *vcpu)
{
	struct kvmd_apf_work *work;

	while (!list_empty_careful(&vcpu->apf.done) && apf_can_dequeue(vcpu)) {
		spin_lock(&vcpu->apf.lock);
		work = list_first_entry(&vcpu->apf.done, typeof(*work), link);
		list_del(&work->link);
		spin_unlock(&vcpu->apf.lock);

		apf_present(vcpu, work);
		list_del(&work->queue);
		vcpu->apf.queued--;
		apf_free(work);
	}
}

/* "Every page ready" (token ~0), when the guest enables the feature. */
static void apf_wakeup_all(struct kvmd_vcpu *vcpu)
{
	struct kvmd_apf_work *work;
	bool first;

	if (!list_empty_careful(&vcpu->apf.done))
		return;
	work = kzalloc(sizeof(*work), GFP_ATOMIC);
	if (!work)
		return;
	work->wakeup_all = true;
	INIT_LIST_HEAD(&work->queue);
	spin_lock(&vcpu->apf.lock);
	first = list_empty(&vcpu->apf.done);
	list_add_tail(&work->link, &vcpu->apf.done);
	spin_unlock(&vcpu->apf.lock);
	if (first) {
		kvmd_make_request(vcpu, KVMD_REQ_APF_READY);
		if (!vcpu->apf.pageready_pending)
			kvmd_vcpu_kick(vcpu);
	}
	vcpu->apf.queued++;
}

/* ---- the MSRs ---- */

/* The data area must be in writable guest memory (address space 0). */
static bool apf_data_ok(struct kvmd_vcpu *vcpu, u64 gpa)
{
	struct kvmd_vm *vm = vcpu->vm;
	struct kvmd_memslot *slot;
	bool ok;

	down_read(&vm->slots_sem);
	slot = kvmd_gfn_to_slot(vm, 0, gpa >> PAGE_SHIFT);
	ok = slot && !(slot->flags & KVM_MEM_READONLY);
	up_read(&vm->slots_sem);
	return ok;
}

static int apf_write_en(struct kvmd_vcpu *vcpu, u64 data)
{
	if (data & KVMD_APF_RESERVED)
		return 1;
	if ((data & KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT) &&
	    !kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_VMEXIT))
		return 1;
	if ((data & KVM_ASYNC_PF_DELIVERY_AS_INT) &&
	    !kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_INT))
		return 1;
	if (!vcpu->apic)
		return data ? 1 : 0;
	vcpu->apf.msr_en = data;
	if (!apf_enabled(vcpu)) {
		apf_clear(vcpu);
		return 0;
	}
	/* As KVM, the value stays written even when the address is refused. */
	if (!apf_data_ok(vcpu, apf_data_gpa(vcpu)))
		return 1;
	vcpu->apf.send_user_only = !(data & KVM_ASYNC_PF_SEND_ALWAYS);
	vcpu->apf.as_pf_vmexit = data & KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT;
	apf_wakeup_all(vcpu);
	return 0;
}

/*
 * MSR_KVM_ASYNC_PF_EN, _INT and _ACK, with KVM's checks; an enforced PV
 * CPUID (KVM_CAP_ENFORCE_PV_FEATURE_CPUID) withholds them from the VMM
 * too, as KVM. Returns 0, 1 (#GP / the ioctl stops) or -1: not ours.
 */
int kvmd_apf_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	switch (index) {
	case MSR_KVM_ASYNC_PF_EN:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF))
			return 1;
		*data = vcpu->apf.msr_en;
		return 0;
	case MSR_KVM_ASYNC_PF_INT:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_INT))
			return 1;
		*data = vcpu->apf.msr_int;
		return 0;
	case MSR_KVM_ASYNC_PF_ACK:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_INT))
			return 1;
		*data = 0;
		return 0;
	default:
		return -1;
	}
}

int kvmd_apf_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_KVM_ASYNC_PF_EN:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF))
			return 1;
		return apf_write_en(vcpu, data);
	case MSR_KVM_ASYNC_PF_INT:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_INT))
			return 1;
		/* A vector in bits 7:0, the rest reserved. */
		if ((data >> 8) || !vcpu->apic)
			return 1;
		vcpu->apf.msr_int = data;
		return 0;
	case MSR_KVM_ASYNC_PF_ACK:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_ASYNC_PF_INT))
			return 1;
		if (data & 1) {
			vcpu->apf.pageready_pending = false;
			kvmd_apf_check_completion(vcpu);
		}
		return 0;
	default:
		return -1;
	}
}
