// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/hyperv_synic.c: Hyper-V's synthetic interrupt controller (the
 * SynIC MSRs, message delivery, SINTs at the local APIC) and the synthetic
 * timers that send it messages or interrupt directly.
 */
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <asm/apicdef.h>

#include "hyperv.h"

static enum hrtimer_restart stimer_expired(struct hrtimer *t);

void kvmd_hv_stimer_init(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
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

int kvmd_hv_synic_set_msr(struct kvmd_vcpu *vcpu, u32 msr, u64 data, bool host)
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

int kvmd_hv_synic_get_msr(struct kvmd_vcpu *vcpu, u32 msr, u64 *data, bool host)
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

int kvmd_hv_stimer_set_config(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
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

int kvmd_hv_stimer_set_count(struct kvmd_vcpu *vcpu, struct kvmd_hv_stimer *st,
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

/*
 * The in-kernel APIC acknowledges vec (lapic.c): true when an unmasked SINT
 * with auto-EOI uses it, so it does not go in service, as in KVM.
 */
bool kvmd_hv_synic_auto_eoi(struct kvmd_vcpu *vcpu, int vec)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	int i;

	if (!hv->synic.active)
		return false;
	for (i = 0; i < HV_SYNIC_SINT_COUNT; i++) {
		u64 v = atomic64_read(&hv->synic.sint[i]);

		if (!(v & HV_SYNIC_SINT_MASKED) && (v & HV_SYNIC_SINT_AUTO_EOI) &&
		    (v & HV_SYNIC_SINT_VECTOR_MASK) == vec)
			return true;
	}
	return false;
}
