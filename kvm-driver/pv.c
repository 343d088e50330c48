// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/pv.c: KVM's paravirtual interface: hypercalls (VMMCALL on
 * AMD, VMCALL on Intel, the other vendor's instruction patched as KVM
 * does), the PV feature CPUID a guest may be held to, steal time with its
 * preempted byte and the PV TLB flush, PV EOI's MSR (lapic.c makes the
 * EOIs), and MONITOR/MWAIT emulated as NOPs.
 *
 * Steal time's preempted byte (struct kvm_steal_time.preempted), and the
 * ordering it relies on:
 * - While KVM_RUN runs, the vCPU's thread has a preemption notifier. When
 *   the scheduler takes the CPU from it while it stays runnable (preempted,
 *   not blocked) and its last exit was for a host interrupt, the byte gets
 *   KVM_VCPU_PREEMPTED, as KVM's kvm_steal_time_set_preempted. The vendor's
 *   exit handler sets at_insn_boundary for such an exit; the run loop
 *   clears it before anything else may run, so the guest is never told it
 *   was preempted in the middle of emulating an instruction.
 * - The notifier runs inside the scheduler (run queue locked, interrupts
 *   off): it may neither sleep nor wait. It writes through
 *   kvmd_write_guest_atomic (mmu_lock only tried, a copy that faults
 *   nothing in) and gives up when that fails, as KVM gives up on a stale
 *   cache.
 * - The guest's other vCPUs read the byte and, seeing it preempted, set
 *   KVM_VCPU_FLUSH_TLB in it with a locked cmpxchg instead of sending the
 *   vCPU an IPI.
 * - Scheduling the thread in makes KVMD_REQ_STEAL_UPDATE. Before the next
 *   entry the thread takes the byte back to 0 in one atomic exchange: a
 *   flag set before it is seen here and becomes KVMD_REQ_TLB_FLUSH (which
 *   the run loop serves after steal time, before the entry); one set after
 *   it fails in the guest, which then sends its IPI.
 * - st_preempted, at_insn_boundary and last_steal are the vCPU thread's.
 */
#include <linux/kvm.h>
#include <linux/kvm_para.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/stat.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>

#include "kvmdrv.h"

static const u8 kvmd_vmcall[3] = { 0x0f, 0x01, 0xc1 };	/* Intel */
static const u8 kvmd_vmmcall[3] = { 0x0f, 0x01, 0xd9 };	/* AMD */

static const u8 *kvmd_native_hypercall(void)
{
	return kvmd_ops == &kvmd_svm_ops ? kvmd_vmmcall : kvmd_vmcall;
}

static const u8 *kvmd_foreign_hypercall(void)
{
	return kvmd_ops == &kvmd_svm_ops ? kvmd_vmcall : kvmd_vmmcall;
}

/*
 * As KVM's guest_pv_has(): once the VMM asked for enforcement
 * (KVM_CAP_ENFORCE_PV_FEATURE_CPUID), a PV feature works only if the
 * guest's CPUID 0x40000001 EAX has its bit; without it, everything does.
 */
bool kvmd_guest_pv_has(struct kvmd_vcpu *vcpu, int feature)
{
	if (!vcpu->pv_enforce)
		return true;
	return kvmd_guest_has(vcpu, KVM_CPUID_FEATURES, 0, feature);
}

/* A 64-bit hypercall: long mode and a 64-bit code segment. */
static bool kvmd_hypercall_64(struct kvmd_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!kvmd_long_mode(vcpu))
		return false;
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	return cs.l;
}

static struct kvmd_vcpu *kvmd_vcpu_by_apic_id(struct kvmd_vm *vm, u64 id)
{
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		if (vm->vcpus[i]->id == id)
			return vm->vcpus[i];
	return NULL;
}

/* KVM_HC_SEND_IPI: a fixed IPI to each APIC ID of the bitmap from min. */
static long kvmd_pv_send_ipi(struct kvmd_vcpu *vcpu, u64 low, u64 high,
			     u64 min, u64 icr, bool op_64)
{
	struct kvmd_lapic_irq irq = {
		.vector = icr & APIC_VECTOR_MASK,
		.delivery_mode = icr & APIC_MODE_MASK,
		.level = !!(icr & APIC_INT_ASSERT),
		.trig_level = !!(icr & APIC_INT_LEVELTRIG),
		.shorthand = KVMD_DEST_NOSHORT,
	};
	unsigned int cluster = op_64 ? 64 : 32, i, half;
	unsigned long bits[2] = { low, high };
	long count = 0;
	int r;

	/* Physical, no-shorthand IPIs only (KVM's APIC_DEST_MASK, APIC_SHORT_MASK). */
	if (icr & (APIC_DEST_LOGICAL | APIC_DEST_ALLBUT))
		return -KVM_EINVAL;
	if (!kvmd_irqchip_in_kernel(vcpu->vm))
		return -EOPNOTSUPP;
	for (half = 0; half < 2; half++) {
		for_each_set_bit(i, &bits[half], cluster) {
			irq.dest_id = min + half * cluster + i;
			r = kvmd_irq_delivery_to_apic(vcpu->vm, vcpu, &irq);
			if (r > 0)
				count++;
		}
	}
	return count;
}

/*
 * The hypercall in RAX with arguments in RBX, RCX, RDX, RSI; the result
 * in RAX. KVM's numbers and errors: only CPL 0 may call, a feature
 * withheld by an enforced CPUID is -KVM_ENOSYS like an unknown call.
 */
int kvmd_handle_hypercall(struct kvmd_vcpu *vcpu, unsigned int len)
{
	bool op_64 = kvmd_hypercall_64(vcpu);
	u64 nr = vcpu->regs[R_AX], a0 = vcpu->regs[R_BX];
	u64 a1 = vcpu->regs[R_CX], a2 = vcpu->regs[R_DX];
	u64 a3 = vcpu->regs[R_SI];
	struct kvmd_vcpu *target;
	long ret = -KVM_ENOSYS;

	/* A guest that set its Hyper-V OS ID speaks Hyper-V's ABI (hyperv.c). */
	if (kvmd_hv_hypercall_enabled(vcpu))
		return kvmd_hv_hypercall(vcpu, len);
	if (!op_64) {
		nr = (u32)nr;
		a0 = (u32)a0;
		a1 = (u32)a1;
		a2 = (u32)a2;
		a3 = (u32)a3;
	}
	vcpu->stat.hypercalls++;
	if (kvmd_ops->get_cpl(vcpu)) {
		ret = -KVM_EPERM;
		goto out;
	}
	switch (nr) {
	case KVM_HC_VAPIC_POLL_IRQ:
		ret = 0;
		break;
	case KVM_HC_KICK_CPU:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_PV_UNHALT))
			break;
		/* Wake the halted vCPU with APIC ID a1, then let it run. */
		target = kvmd_vcpu_by_apic_id(vcpu->vm, a1);
		if (target && target->apic) {
			WRITE_ONCE(target->pv_unhalted, true);
			kvmd_vcpu_kick(target);
		}
		yield();
		ret = 0;
		break;
	case KVM_HC_SEND_IPI:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_PV_SEND_IPI))
			break;
		ret = kvmd_pv_send_ipi(vcpu, a0, a1, a2, a3, op_64);
		break;
	case KVM_HC_SCHED_YIELD:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_PV_SCHED_YIELD))
			break;
		yield();
		ret = 0;
		break;
	default:
		break;
	}
out:
	if (!op_64)
		ret = (u32)ret;
	vcpu->regs[R_AX] = ret;
	kvmd_skip_insn(vcpu, len);
	return KVMD_RESUME;
}

/*
 * The other vendor's hypercall as KVM's emulator checks it before running
 * it: VMCALL is privileged (#GP(0) outside ring 0), VMMCALL needs
 * protected mode (#UD in real and virtual-8086 mode). 0 when it may run.
 */
static int kvmd_foreign_hypercall_fault(struct kvmd_vcpu *vcpu)
{
	if (kvmd_ops == &kvmd_svm_ops) {
		if (kvmd_ops->get_cpl(vcpu)) {
			kvmd_queue_exception_e(vcpu, 13, 0);
			return 1;
		}
	} else if (!(kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PE) ||
		   (vcpu->rflags & X86_EFLAGS_VM)) {
		kvmd_queue_exception(vcpu, 6);
		return 1;
	}
	return 0;
}

/*
 * An intercepted #UD. KVM emulates RSM here, and the other
 * vendor's hypercall: with KVM_X86_QUIRK_FIX_HYPERCALL_INSN (the default)
 * it is rewritten in guest memory to this CPU's and executed again;
 * without the quirk the guest takes its #UD.
 */
int kvmd_handle_ud(struct kvmd_vcpu *vcpu)
{
	struct kvmd_walk_fault f;
	unsigned int len = 0;
	u8 insn[15];

	if (kvmd_fetch_insn(vcpu, insn, &len))
		len = 0;
	/* RSM: #UD under VMX; KVM emulates it there (smm.c). */
	if (len >= 2 && insn[0] == 0x0f && insn[1] == 0xaa)
		return kvmd_smm_rsm(vcpu);
	if (len >= 3 && !memcmp(insn, kvmd_foreign_hypercall(), 3)) {
		struct kvm_segment cs;
		u64 la;

		if (kvmd_foreign_hypercall_fault(vcpu))
			return KVMD_RESUME;
		kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
		la = (kvmd_long_mode(vcpu) && cs.l) ? vcpu->rip :
		     (u32)(cs.base + vcpu->rip);
		if (kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_FIX_HYPERCALL_INSN) &&
		    !kvmd_write_guest_virt(vcpu, la, kvmd_native_hypercall(), 3, &f))
			return KVMD_RESUME;
	}
	kvmd_queue_exception(vcpu, 6);
	return KVMD_RESUME;
}

/*
 * MONITOR and MWAIT, as KVM: NOPs, unless KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS
 * is disabled and the guest's CPUID lacks MONITOR/MWAIT: then #UD.
 */
int kvmd_handle_monitor_mwait(struct kvmd_vcpu *vcpu, unsigned int len)
{
	if (!kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
	    !kvmd_guest_has(vcpu, 1, 2, 3)) {
		kvmd_queue_exception(vcpu, 6);
		return KVMD_RESUME;
	}
	kvmd_skip_insn(vcpu, len);
	return KVMD_RESUME;
}

/*
 * KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT disabled: the guest's CPUID.1:ECX
 * MONITOR bit follows IA32_MISC_ENABLE's ENABLE_MWAIT, as KVM updates it.
 */
void kvmd_misc_enable_mwait(struct kvmd_vcpu *vcpu)
{
	int i;

	if (kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT))
		return;
	for (i = 0; i < vcpu->cpuid_nent; i++) {
		if (vcpu->cpuid[i].function != 1)
			continue;
		vcpu->cpuid[i].ecx &= ~BIT(3);
		if (vcpu->misc_enable & MSR_IA32_MISC_ENABLE_MWAIT)
			vcpu->cpuid[i].ecx |= BIT(3);
	}
}

/* ---- steal time ---- */

bool kvmd_steal_time_ok(void)
{
	return sched_info_on();
}

/*
 * Add the time this vCPU's thread waited runnable on a run queue since the
 * last update to the guest's kvm_steal_time, under KVM's version protocol
 * (odd while it changes). Called before each entry into the guest: it
 * writes when the thread waited since the last update, or when forced
 * (on each KVM_RUN and each time the thread is scheduled in, as KVM on
 * each vCPU load). The preempted byte goes back to 0 first: with the PV
 * TLB flush, in one exchange that also tells whether the guest asked for
 * a flush while the vCPU was preempted (see the top of the file).
 */
void kvmd_record_steal_time(struct kvmd_vcpu *vcpu, bool force)
{
	u64 gpa = vcpu->steal_msr & KVM_STEAL_VALID_BITS;
	u64 pgpa = gpa + offsetof(struct kvm_steal_time, preempted);
	u64 delay = current->sched_info.run_delay;
	struct kvm_steal_time st;
	u8 old = 0;

	if (!(vcpu->steal_msr & KVM_MSR_ENABLED) ||
	    (!force && delay == vcpu->last_steal))
		return;
	if (kvmd_guest_pv_has(vcpu, KVM_FEATURE_PV_TLB_FLUSH)) {
		if (kvmd_guest_xchg_u8(vcpu->vm, pgpa, 0, &old))
			return;
		if (old & KVM_VCPU_FLUSH_TLB)
			kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	} else if (kvmd_write_guest(vcpu->vm, pgpa, &old, sizeof(old))) {
		return;
	}
	vcpu->st_preempted = 0;

	if (kvmd_read_guest(vcpu->vm, gpa, &st, sizeof(st)))
		return;
	if (st.version & 1)	/* junk the guest left: make it even */
		st.version++;
	st.version++;		/* odd: an update is in progress */
	if (kvmd_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version),
			     &st.version, sizeof(st.version)))
		return;
	smp_wmb();
	st.steal += delay - vcpu->last_steal;
	vcpu->last_steal = delay;
	st.version += 1;
	kvmd_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, steal),
			 &st.steal, sizeof(st.steal));
	smp_wmb();
	kvmd_write_guest(vcpu->vm, gpa + offsetof(struct kvm_steal_time, version),
			 &st.version, sizeof(st.version));
}

/*
 * The scheduler took the CPU from the vCPU's thread, which stays runnable:
 * tell the guest, as KVM, when the last exit was a host interrupt's. In
 * the scheduler: no sleeping, no waiting (the top of the file).
 */
static void kvmd_steal_time_set_preempted(struct kvmd_vcpu *vcpu)
{
	static const u8 preempted = KVM_VCPU_PREEMPTED;
	u64 gpa = vcpu->steal_msr & KVM_STEAL_VALID_BITS;

	if (!vcpu->at_insn_boundary || !(vcpu->steal_msr & KVM_MSR_ENABLED) ||
	    vcpu->st_preempted || current->mm != vcpu->vm->mm)
		return;
	if (!kvmd_write_guest_atomic(vcpu->vm,
				     gpa + offsetof(struct kvm_steal_time, preempted),
				     &preempted, sizeof(preempted)))
		vcpu->st_preempted = preempted;
}

static struct kvmd_vcpu *kvmd_notifier_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct kvmd_vcpu, preempt_notifier);
}

static void kvmd_sched_in(struct preempt_notifier *pn, int cpu)
{
	kvmd_make_request(kvmd_notifier_vcpu(pn), KVMD_REQ_STEAL_UPDATE);
}

static void kvmd_sched_out(struct preempt_notifier *pn, struct task_struct *next)
{
	/* Still on its run queue: preempted, not blocked. */
	if (current->on_rq)
		kvmd_steal_time_set_preempted(kvmd_notifier_vcpu(pn));
}

static struct preempt_ops kvmd_preempt_ops = {
	.sched_in	= kvmd_sched_in,
	.sched_out	= kvmd_sched_out,
};

void kvmd_pv_vcpu_init(struct kvmd_vcpu *vcpu)
{
	preempt_notifier_init(&vcpu->preempt_notifier, &kvmd_preempt_ops);
}

/* KVM_RUN begins and ends on the vCPU's thread (its mutex held). */
__kvmd_hot void kvmd_pv_run_begin(struct kvmd_vcpu *vcpu)
{
	preempt_disable();
	preempt_notifier_register(&vcpu->preempt_notifier);
	preempt_enable();
}

__kvmd_hot void kvmd_pv_run_end(struct kvmd_vcpu *vcpu)
{
	preempt_disable();
	preempt_notifier_unregister(&vcpu->preempt_notifier);
	preempt_enable();
}

/*
 * The PV MSRs with their CPUID checks: steal time and PV EOI are this
 * file's (lapic.c acts on PV EOI's), and kvmclock's MSRs are refused here
 * when an enforced CPUID withholds them (kvmclock.c has the rest). As KVM
 * 6.1, a withheld MSR fails for the VMM (@host) too. Returns 0, 1 (#GP),
 * KVMD_MSR_UNKNOWN (withheld, as KVM), or -1: not decided here.
 */
int kvmd_pv_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	switch (index) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK:
		return kvmd_guest_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE) ? -1 : KVMD_MSR_UNKNOWN;
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_KVM_WALL_CLOCK_NEW:
		return kvmd_guest_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE2) ? -1 : KVMD_MSR_UNKNOWN;
	case MSR_KVM_STEAL_TIME:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_STEAL_TIME))
			return KVMD_MSR_UNKNOWN;
		*data = vcpu->steal_msr;
		return 0;
	case MSR_KVM_PV_EOI_EN:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_PV_EOI))
			return KVMD_MSR_UNKNOWN;
		*data = vcpu->pv_eoi_msr;
		return 0;
	default:
		return -1;
	}
}

int kvmd_pv_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_WALL_CLOCK:
		return kvmd_guest_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE) ? -1 : KVMD_MSR_UNKNOWN;
	case MSR_KVM_SYSTEM_TIME_NEW:
	case MSR_KVM_WALL_CLOCK_NEW:
		return kvmd_guest_pv_has(vcpu, KVM_FEATURE_CLOCKSOURCE2) ? -1 : KVMD_MSR_UNKNOWN;
	case MSR_KVM_STEAL_TIME:
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_STEAL_TIME))
			return KVMD_MSR_UNKNOWN;
		if (!kvmd_steal_time_ok())
			return 1;
		if (data & KVM_STEAL_RESERVED_MASK)
			return 1;
		vcpu->steal_msr = data;
		if (data & KVM_MSR_ENABLED)
			kvmd_make_request(vcpu, KVMD_REQ_STEAL_UPDATE);
		return 0;
	case MSR_KVM_PV_EOI_EN:
		/*
		 * As KVM, host writes too: a 4-byte aligned address, which must
		 * lie in writable guest memory when bit 0 enables PV EOI.
		 */
		if (!kvmd_guest_pv_has(vcpu, KVM_FEATURE_PV_EOI))
			return KVMD_MSR_UNKNOWN;
		if (!IS_ALIGNED(data & ~(u64)KVM_MSR_ENABLED, 4) ||
		    ((data & KVM_MSR_ENABLED) &&
		     !kvmd_gpa_writable(vcpu->vm, data & ~(u64)KVM_MSR_ENABLED)))
			return 1;
		vcpu->pv_eoi_msr = data;
		return 0;
	default:
		return -1;
	}
}
