// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/lapic.c: the in-kernel local APIC, one per vCPU once the VM
 * has an irqchip (KVM_CREATE_IRQCHIP or the split irqchip).
 *
 * The registers live in one page laid out as the xAPIC MMIO page, which
 * is also the 1 KiB kvm_lapic_state blob of KVM_GET/SET_LAPIC. The guest
 * reaches them through MMIO at the APIC base (xAPIC) or MSRs 0x800-0x8ff
 * (x2APIC). The timer counts at KVM's 1 GHz APIC bus clock on an hrtimer,
 * in one-shot, periodic and TSC-deadline mode.
 *
 * Locking (see also irq.h): a vCPU's own thread owns its APIC registers
 * and is the only writer, except for:
 * - IRR and TMR bits, set with atomic bitops by whoever delivers an
 *   interrupt (another vCPU's IPI, the IOAPIC, an MSI, an irqfd);
 * - pending_events (INIT, SIPI) and nmi_pending, atomics, and sipi_vector
 *   written before the SIPI bit with a barrier;
 * - timer_pending, raised by the hrtimer.
 * Each such writer then makes KVMD_REQ_EVENT and kicks the vCPU, which
 * acts on them in kvmd_apic_sync() before its next entry. The rest of the
 * registers may be read (not written) from elsewhere with READ_ONCE: the
 * destination matching of another vCPU's IPI reads ID, LDR and DFR.
 *
 * PV EOI (MSR_KVM_PV_EOI_EN): isr_cache and pv_eoi_pending are the vCPU
 * thread's; it reads and writes the guest's PV EOI byte only while the
 * vCPU is outside guest mode (after an exit, before an entry), and the
 * guest clears it only while inside: no other ordering is needed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/hrtimer.h>
#include <linux/kvm.h>
#include <linux/math64.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/apicdef.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/smp.h>
#include <asm/tsc.h>

#include "kvmdrv.h"

#define APIC_BUS_CYCLE_NS	1		/* KVM's APIC bus: 1 GHz */
#define APIC_VERSION_KVM	(0x14 | ((6 - 1) << 16))	/* six LVTs */
#define APIC_LVR_DIRECTED_EOI	(1 << 24)
#define APIC_SHORT_MASK		0xc0000		/* ICR destination shorthand */
#define APIC_MIN_PERIOD_NS	(200 * NSEC_PER_USEC)	/* KVM's min_timer_period_us */

#define LVT_MASK	(APIC_LVT_MASKED | APIC_SEND_PENDING | APIC_VECTOR_MASK)
#define LINT_MASK	(LVT_MASK | APIC_MODE_MASK | APIC_INPUT_POLARITY | \
			 APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL_TRIGGER)

#define APIC_TIMER_ONESHOT	0
#define APIC_TIMER_PERIODIC	1
#define APIC_TIMER_TSCDEADLINE	2

enum {
	KVMD_APIC_INIT,
	KVMD_APIC_SIPI,
};

struct kvmd_lapic {
	struct kvmd_vcpu *vcpu;
	void *regs;			/* one page, the xAPIC register layout */
	unsigned long pending_events;	/* KVMD_APIC_INIT, KVMD_APIC_SIPI */
	u32 sipi_vector;
	atomic_t nmi_pending;

	struct hrtimer timer;
	atomic_t timer_pending;
	u32 timer_mode_mask;		/* LVTT mode bits the guest may set */
	u32 divide_shift;
	u64 period_ns;			/* periodic mode, and TMCCT's base */
	ktime_t start;			/* when TMICT was written */
	u64 tscdeadline;
	int pending_eoi_exit;		/* split irqchip: vector for KVM_EXIT_IOAPIC_EOI */
	/* KVM's highest_isr_cache: the vector acknowledged last, -1 after an EOI */
	int isr_cache;
	bool pv_eoi_pending;		/* the guest's PV EOI bit was set at entry */
	bool x2apic_format;		/* KVM_CAP_X2APIC_API: not supported yet */
};

static const u32 lvt_mask[] = {
	LVT_MASK | APIC_LVT_TIMER_PERIODIC,	/* LVTT, plus timer_mode_mask */
	LVT_MASK | APIC_MODE_MASK,		/* LVTTHMR */
	LVT_MASK | APIC_MODE_MASK,		/* LVTPC */
	LINT_MASK,				/* LVT0 */
	LINT_MASK,				/* LVT1 */
	LVT_MASK,				/* LVTERR */
};
#define NR_LVT	ARRAY_SIZE(lvt_mask)

static inline u32 reg_get(struct kvmd_lapic *apic, u32 off)
{
	return READ_ONCE(*(u32 *)(apic->regs + off));
}

static inline void reg_set(struct kvmd_lapic *apic, u32 off, u32 val)
{
	WRITE_ONCE(*(u32 *)(apic->regs + off), val);
}

/* IRR, ISR and TMR: 8 words of 32 vectors, 16 bytes apart. */
static inline unsigned long *vec_word(struct kvmd_lapic *apic, u32 reg, int vec)
{
	return (unsigned long *)(apic->regs + reg + ((vec >> 5) << 4));
}

static inline void vec_set(struct kvmd_lapic *apic, u32 reg, int vec)
{
	set_bit(vec & 31, vec_word(apic, reg, vec));
}

static inline void vec_clear(struct kvmd_lapic *apic, u32 reg, int vec)
{
	clear_bit(vec & 31, vec_word(apic, reg, vec));
}

static inline bool vec_test(struct kvmd_lapic *apic, u32 reg, int vec)
{
	return test_bit(vec & 31, vec_word(apic, reg, vec));
}

static int vec_highest(struct kvmd_lapic *apic, u32 reg)
{
	int i;

	for (i = 7; i >= 0; i--) {
		u32 w = reg_get(apic, reg + (i << 4));

		if (w)
			return (i << 5) + __fls(w);
	}
	return -1;
}

static inline bool apic_hw_enabled(struct kvmd_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & MSR_IA32_APICBASE_ENABLE;
}

static inline bool apic_x2apic(struct kvmd_vcpu *vcpu)
{
	return READ_ONCE(vcpu->apic_base) & X2APIC_ENABLE;
}

static inline bool apic_sw_enabled(struct kvmd_lapic *apic)
{
	return reg_get(apic, APIC_SPIV) & APIC_SPIV_APIC_ENABLED;
}

static inline bool apic_enabled(struct kvmd_lapic *apic)
{
	return apic_hw_enabled(apic->vcpu) && apic_sw_enabled(apic);
}

bool kvmd_lapic_enabled(struct kvmd_vcpu *vcpu)
{
	return vcpu->apic && apic_enabled(vcpu->apic);
}

static inline bool kvmd_vcpu_is_bsp(struct kvmd_vcpu *vcpu)
{
	return vcpu->id == READ_ONCE(vcpu->vm->bsp_vcpu_id);
}

static u32 timer_mode(struct kvmd_lapic *apic)
{
	return (reg_get(apic, APIC_LVTT) >> 17) & 3;
}

/* ---- priorities ---- */

static u32 apic_ppr(struct kvmd_lapic *apic)
{
	u32 tpr = reg_get(apic, APIC_TASKPRI) & 0xff;
	int isr = vec_highest(apic, APIC_ISR);
	u32 isrv = isr < 0 ? 0 : isr;

	return (tpr & 0xf0) >= (isrv & 0xf0) ? tpr : isrv & 0xf0;
}

static void apic_update_ppr(struct kvmd_lapic *apic)
{
	reg_set(apic, APIC_PROCPRI, apic_ppr(apic));
}

/* The highest IRR vector the APIC would present now, or -1. */
static int apic_deliverable(struct kvmd_lapic *apic)
{
	int vec;

	if (!apic_enabled(apic))
		return -1;
	vec = vec_highest(apic, APIC_IRR);
	if (vec < 0 || (vec & 0xf0) <= (apic_ppr(apic) & 0xf0))
		return -1;
	return vec;
}

/* ---- waking the vCPU ---- */

void kvmd_vcpu_kick(struct kvmd_vcpu *vcpu)
{
	int cpu;

	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	if (wq_has_sleeper(&vcpu->wq))
		wake_up_interruptible(&vcpu->wq);
	/* In guest mode on another CPU: any IPI makes it exit and look. */
	smp_mb();
	if (READ_ONCE(vcpu->mode) != KVMD_IN_GUEST)
		return;
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_send_reschedule(cpu);
}

/* ---- accepting interrupts (any context) ---- */

int kvmd_apic_set_irq(struct kvmd_vcpu *vcpu, const struct kvmd_lapic_irq *irq)
{
	struct kvmd_lapic *apic = vcpu->apic;
	int r = 0;

	switch (irq->delivery_mode) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (!apic_enabled(apic))
			break;
		if (irq->trig_level)
			vec_set(apic, APIC_TMR, irq->vector);
		else
			vec_clear(apic, APIC_TMR, irq->vector);
		vec_set(apic, APIC_IRR, irq->vector);
		r = 1;
		break;
	case APIC_DM_NMI:
		atomic_inc(&apic->nmi_pending);
		r = 1;
		break;
	case APIC_DM_INIT:
		/* An INIT level de-assert only matters to 82489DX APICs. */
		if (!irq->trig_level || irq->level) {
			set_bit(KVMD_APIC_INIT, &apic->pending_events);
			r = 1;
		}
		break;
	case APIC_DM_STARTUP:
		WRITE_ONCE(apic->sipi_vector, irq->vector);
		smp_wmb();
		set_bit(KVMD_APIC_SIPI, &apic->pending_events);
		r = 1;
		break;
	case APIC_DM_SMI:
		kvmd_make_request(vcpu, KVMD_REQ_SMI);
		r = 1;
		break;
	default:
		/* ExtINT and reserved modes: not accepted. */
		break;
	}
	if (r)
		kvmd_vcpu_kick(vcpu);
	return r;
}

/* ---- destinations ---- */

static u32 apic_id(struct kvmd_vcpu *vcpu)
{
	if (apic_x2apic(vcpu))
		return reg_get(vcpu->apic, APIC_ID);
	return reg_get(vcpu->apic, APIC_ID) >> 24;
}

static bool match_physical(struct kvmd_vcpu *vcpu, u32 dest)
{
	if (apic_x2apic(vcpu))
		return dest == 0xffffffff || dest == apic_id(vcpu);
	return (dest & 0xff) == 0xff || (dest & 0xff) == apic_id(vcpu);
}

static bool match_logical(struct kvmd_vcpu *vcpu, u32 mda)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u32 ldr = reg_get(apic, APIC_LDR);

	if (apic_x2apic(vcpu)) {
		if (mda == 0xffffffff)
			return true;
		return (ldr >> 16) == (mda >> 16) && (ldr & mda & 0xffff);
	}
	mda &= 0xff;
	if (mda == 0xff)
		return true;
	ldr >>= 24;
	if ((reg_get(apic, APIC_DFR) >> 28) == 0xf)	/* flat */
		return ldr & mda;
	/* cluster */
	return (ldr >> 4) == (mda >> 4) && (ldr & mda & 0xf);
}

static bool apic_match_dest(struct kvmd_vcpu *vcpu, struct kvmd_vcpu *src,
			    const struct kvmd_lapic_irq *irq)
{
	switch (irq->shorthand) {
	case APIC_DEST_SELF:
		return vcpu == src;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return vcpu != src;
	default:
		if (!apic_hw_enabled(vcpu))
			return false;
		return irq->dest_logical ? match_logical(vcpu, irq->dest_id) :
					   match_physical(vcpu, irq->dest_id);
	}
}

int kvmd_irq_delivery_to_apic(struct kvmd_vm *vm, struct kvmd_vcpu *src,
			      const struct kvmd_lapic_irq *irq)
{
	int i, n = smp_load_acquire(&vm->nr_vcpus), r = -1, matched = 0;
	struct kvmd_vcpu *pick = NULL;

	/*
	 * As KVM: an addressed interrupt (no shorthand, not broadcast) that
	 * finds no APIC counts 0 delivered, not "ignored".
	 */
	if (irq->shorthand == KVMD_DEST_NOSHORT &&
	    irq->dest_id != 0xff && irq->dest_id != 0xffffffff)
		r = 0;

	if (irq->shorthand == APIC_DEST_SELF && src)
		return kvmd_apic_set_irq(src, irq);
	for (i = 0; i < n; i++) {
		struct kvmd_vcpu *vcpu = vm->vcpus[i];

		if (!vcpu->apic || !apic_match_dest(vcpu, src, irq))
			continue;
		if (irq->delivery_mode == APIC_DM_LOWEST &&
		    irq->shorthand == KVMD_DEST_NOSHORT) {
			/* As KVM's vector hashing: the (vector % n)th enabled match. */
			if (apic_enabled(vcpu->apic))
				matched++;
			continue;
		}
		if (r < 0)
			r = 0;
		r += kvmd_apic_set_irq(vcpu, irq);
	}
	if (!matched)
		return r;
	matched = irq->vector % matched;
	for (i = 0; i < n && !pick; i++) {
		struct kvmd_vcpu *vcpu = vm->vcpus[i];

		if (vcpu->apic && apic_match_dest(vcpu, src, irq) &&
		    apic_enabled(vcpu->apic) && matched-- == 0)
			pick = vcpu;
	}
	return pick ? kvmd_apic_set_irq(pick, irq) : r;
}

/* ---- the PIC's INTR ---- */

bool kvmd_apic_accept_pic_intr(struct kvmd_vcpu *vcpu)
{
	u32 lvt0;

	if (!vcpu->apic || !apic_hw_enabled(vcpu))
		return true;
	lvt0 = reg_get(vcpu->apic, APIC_LVT0);
	return !(lvt0 & APIC_LVT_MASKED) &&
	       (lvt0 & APIC_MODE_MASK) == APIC_DM_EXTINT;
}

void kvmd_pic_kick_vcpus(struct kvmd_vm *vm)
{
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	for (i = 0; i < n; i++)
		if (kvmd_apic_accept_pic_intr(vm->vcpus[i]))
			kvmd_vcpu_kick(vm->vcpus[i]);
}

/* ---- the timer ---- */

static u64 tmict_ns(struct kvmd_lapic *apic, u32 count)
{
	return (u64)count * APIC_BUS_CYCLE_NS << apic->divide_shift;
}

static void timer_arm(struct kvmd_lapic *apic, u64 ns)
{
	apic->start = ktime_get();
	hrtimer_start(&apic->timer, ktime_add_ns(apic->start, ns),
		      HRTIMER_MODE_ABS_HARD);
}

static void timer_start_count(struct kvmd_lapic *apic)
{
	u32 count = reg_get(apic, APIC_TMICT);
	u64 ns;

	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
	apic->period_ns = 0;
	if (!count)
		return;
	ns = tmict_ns(apic, count);
	if (timer_mode(apic) == APIC_TIMER_PERIODIC && ns < APIC_MIN_PERIOD_NS)
		ns = APIC_MIN_PERIOD_NS;
	apic->period_ns = ns;
	apic->start = ktime_get();
	/* As KVM: a one-shot already due by now expires here, not on a timer. */
	if (timer_mode(apic) == APIC_TIMER_ONESHOT &&
	    ktime_to_ns(ktime_sub(ktime_get(), apic->start)) >= ns) {
		atomic_inc(&apic->timer_pending);
		kvmd_make_request(apic->vcpu, KVMD_REQ_EVENT);
		return;
	}
	hrtimer_start(&apic->timer, ktime_add_ns(apic->start, ns),
		      HRTIMER_MODE_ABS_HARD);
}

static u64 guest_tsc(struct kvmd_vcpu *vcpu)
{
	return rdtsc() + vcpu->tsc_offset;
}

static void timer_start_deadline(struct kvmd_lapic *apic)
{
	u64 now, delta, ns;

	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
	if (!apic->tscdeadline || !tsc_khz)
		return;
	now = guest_tsc(apic->vcpu);
	if (apic->tscdeadline <= now) {
		/* As KVM: a deadline already passed expires now, not on a timer. */
		atomic_inc(&apic->timer_pending);
		kvmd_make_request(apic->vcpu, KVMD_REQ_EVENT);
		return;
	}
	delta = apic->tscdeadline - now;
	ns = mul_u64_u32_div(delta, NSEC_PER_MSEC, tsc_khz);
	timer_arm(apic, ns);
}

static enum hrtimer_restart apic_timer_fn(struct hrtimer *t)
{
	struct kvmd_lapic *apic = container_of(t, struct kvmd_lapic, timer);

	atomic_inc(&apic->timer_pending);
	kvmd_vcpu_kick(apic->vcpu);
	if (timer_mode(apic) == APIC_TIMER_PERIODIC && apic->period_ns) {
		hrtimer_add_expires_ns(t, apic->period_ns);
		return HRTIMER_RESTART;
	}
	return HRTIMER_NORESTART;
}

static u32 apic_tmcct(struct kvmd_lapic *apic)
{
	u64 elapsed, left;

	if (!reg_get(apic, APIC_TMICT) || !apic->period_ns ||
	    timer_mode(apic) == APIC_TIMER_TSCDEADLINE)
		return 0;
	elapsed = ktime_to_ns(ktime_sub(ktime_get(), apic->start));
	if (timer_mode(apic) == APIC_TIMER_PERIODIC)
		div64_u64_rem(elapsed, apic->period_ns, &elapsed);
	else if (elapsed >= apic->period_ns)
		return 0;
	left = apic->period_ns - elapsed;
	return div64_u64(left, (u64)APIC_BUS_CYCLE_NS << apic->divide_shift);
}

/*
 * The divider changed under a count: what is left of it (nothing, once a
 * one-shot has fired) is scaled to the new divider and the timer re-armed.
 * As KVM 6.1, a one-shot that already fired thus fires again at once.
 */
static void timer_rescale(struct kvmd_lapic *apic, u32 old_shift)
{
	u64 elapsed, left = 0, period = apic->period_ns;

	hrtimer_cancel(&apic->timer);
	elapsed = ktime_to_ns(ktime_sub(ktime_get(), apic->start));
	if (timer_mode(apic) == APIC_TIMER_PERIODIC)
		div64_u64_rem(elapsed, period, &elapsed);
	if (elapsed < period)
		left = period - elapsed;
	if (apic->divide_shift > old_shift) {
		left <<= apic->divide_shift - old_shift;
		period <<= apic->divide_shift - old_shift;
	} else {
		left >>= old_shift - apic->divide_shift;
		period >>= old_shift - apic->divide_shift;
	}
	if (timer_mode(apic) == APIC_TIMER_PERIODIC)
		period = max_t(u64, period, APIC_MIN_PERIOD_NS);
	apic->period_ns = period;
	/* TMCCT counts from a start that leaves "left" of the new period. */
	apic->start = ktime_sub_ns(ktime_get(), period - min(left, period));
	if (!left) {
		/* An expired one-shot: as KVM, it expires again, now. */
		atomic_inc(&apic->timer_pending);
		kvmd_make_request(apic->vcpu, KVMD_REQ_EVENT);
		return;
	}
	hrtimer_start(&apic->timer, ktime_add_ns(ktime_get(), left),
		      HRTIMER_MODE_ABS_HARD);
}

static void apic_update_lvtt(struct kvmd_lapic *apic, u32 val)
{
	u32 old = timer_mode(apic);

	reg_set(apic, APIC_LVTT, val);
	if (timer_mode(apic) != old) {
		hrtimer_cancel(&apic->timer);
		atomic_set(&apic->timer_pending, 0);
		reg_set(apic, APIC_TMICT, 0);
		apic->period_ns = 0;
		apic->tscdeadline = 0;
	}
}

u64 kvmd_apic_get_tscdeadline(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic || timer_mode(apic) != APIC_TIMER_TSCDEADLINE)
		return 0;
	return apic->tscdeadline;
}

void kvmd_apic_set_tscdeadline(struct kvmd_vcpu *vcpu, u64 data)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic || timer_mode(apic) != APIC_TIMER_TSCDEADLINE)
		return;
	apic->tscdeadline = data;
	timer_start_deadline(apic);
}

/* ---- register access ---- */

static void apic_set_x2apic_id(struct kvmd_lapic *apic)
{
	u32 id = apic->vcpu->id;

	reg_set(apic, APIC_ID, id);
	reg_set(apic, APIC_LDR, ((id >> 4) << 16) | (1 << (id & 0xf)));
}

/* Called after vcpu->apic_base changed (MSR write, SET_LAPIC, reset). */
void kvmd_apic_base_changed(struct kvmd_vcpu *vcpu, u64 old)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u64 new = vcpu->apic_base;

	if (!apic)
		return;
	if ((old ^ new) & X2APIC_ENABLE) {
		if (new & X2APIC_ENABLE)
			apic_set_x2apic_id(apic);
		else if (new & MSR_IA32_APICBASE_ENABLE)
			reg_set(apic, APIC_ID, vcpu->id << 24);
	}
	if ((old ^ new) & MSR_IA32_APICBASE_ENABLE) {
		if (!(new & MSR_IA32_APICBASE_ENABLE))
			hrtimer_cancel(&apic->timer);
		else if (!(new & X2APIC_ENABLE))
			reg_set(apic, APIC_ID, vcpu->id << 24);
	}
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
}

/* The vCPU's LVR: directed EOI only with x2APIC and a userspace IOAPIC. */
void kvmd_apic_update_version(struct kvmd_vcpu *vcpu)
{
	u32 v = APIC_VERSION_KVM;

	if (!vcpu->apic)
		return;
	if (kvmd_guest_has(vcpu, 1, 2, 21) && !kvmd_irqchip_full(vcpu->vm))
		v |= APIC_LVR_DIRECTED_EOI;
	reg_set(vcpu->apic, APIC_LVR, v);
	vcpu->apic->timer_mode_mask = kvmd_guest_has(vcpu, 1, 2, 24) ?
				      (3 << 17) : (1 << 17);
}

static void apic_send_eoi(struct kvmd_lapic *apic)
{
	struct kvmd_vcpu *vcpu = apic->vcpu;
	int vec = vec_highest(apic, APIC_ISR);
	bool level;

	if (vec < 0)
		return;
	vec_clear(apic, APIC_ISR, vec);
	apic->isr_cache = -1;
	apic_update_ppr(apic);
	level = vec_test(apic, APIC_TMR, vec);
	if (kvmd_irqchip_full(vcpu->vm)) {
		kvmd_ioapic_eoi(vcpu->vm, vcpu, vec);
	} else if (level && !(reg_get(apic, APIC_SPIV) & APIC_SPIV_DIRECTED_EOI)) {
		/* Split irqchip: the userspace IOAPIC hears of the EOI. */
		apic->pending_eoi_exit = vec;
		kvmd_make_request(vcpu, KVMD_REQ_EOI_EXIT);
	}
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
}

static void apic_send_ipi(struct kvmd_lapic *apic, u32 icr, u32 dest)
{
	struct kvmd_lapic_irq irq = {
		.vector = icr & APIC_VECTOR_MASK,
		.delivery_mode = icr & APIC_MODE_MASK,
		.dest_logical = icr & APIC_DEST_LOGICAL,
		.level = icr & APIC_INT_ASSERT,
		.trig_level = icr & APIC_INT_LEVELTRIG,
		.shorthand = icr & APIC_SHORT_MASK,
		.dest_id = dest,
	};

	kvmd_irq_delivery_to_apic(apic->vcpu->vm, apic->vcpu, &irq);
}

static void apic_set_spiv(struct kvmd_lapic *apic, u32 val)
{
	u32 mask = 0x3ff;
	int i;

	if (reg_get(apic, APIC_LVR) & APIC_LVR_DIRECTED_EOI)
		mask |= APIC_SPIV_DIRECTED_EOI;
	reg_set(apic, APIC_SPIV, val & mask);
	if (!(val & APIC_SPIV_APIC_ENABLED)) {
		for (i = 0; i < NR_LVT; i++)
			reg_set(apic, APIC_LVTT + 0x10 * i,
				reg_get(apic, APIC_LVTT + 0x10 * i) | APIC_LVT_MASKED);
		atomic_set(&apic->timer_pending, 0);
	}
	kvmd_make_request(apic->vcpu, KVMD_REQ_EVENT);
}

/* Read a register by its xAPIC offset; 1 when it does not exist. */
static int apic_reg_read(struct kvmd_lapic *apic, u32 off, u32 *val)
{
	bool x2 = apic_x2apic(apic->vcpu);

	if (off > 0x3f0 || (off & 0xf))
		return 1;
	switch (off) {
	case APIC_ID:
	case APIC_LVR:
	case APIC_TASKPRI:
	case APIC_EOI:
	case APIC_LDR:
	case APIC_SPIV:
	case APIC_ESR:
	case APIC_ICR:
	case APIC_LVTT:
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
	case APIC_TMICT:
	case APIC_TDCR:
		*val = reg_get(apic, off);
		break;
	case APIC_ARBPRI:
	case APIC_DFR:
	case APIC_ICR2:
		if (x2)
			return 1;
		*val = reg_get(apic, off);
		break;
	case APIC_PROCPRI:
		*val = apic_ppr(apic);
		break;
	case APIC_TMCCT:
		*val = apic_tmcct(apic);
		break;
	case APIC_ISR ... APIC_ISR + 0x70:
	case APIC_TMR ... APIC_TMR + 0x70:
	case APIC_IRR ... APIC_IRR + 0x70:
		*val = reg_get(apic, off);
		break;
	default:
		return 1;
	}
	if (off == APIC_EOI)
		*val = 0;
	return 0;
}

/* Write a register by its xAPIC offset; 1 when the write is refused. */
static int apic_reg_write(struct kvmd_lapic *apic, u32 off, u32 val)
{
	struct kvmd_vcpu *vcpu = apic->vcpu;
	bool x2 = apic_x2apic(vcpu);
	int i;

	switch (off) {
	case APIC_ID:
		if (x2)
			return 1;
		reg_set(apic, APIC_ID, val & 0xff000000);
		break;
	case APIC_TASKPRI:
		reg_set(apic, APIC_TASKPRI, val & 0xff);
		apic_update_ppr(apic);
		kvmd_make_request(vcpu, KVMD_REQ_EVENT);
		break;
	case APIC_EOI:
		/* KVM 6.1 takes any value here, x2APIC included. */
		apic_send_eoi(apic);
		break;
	case APIC_LDR:
		if (x2)
			return 1;
		reg_set(apic, APIC_LDR, val & APIC_LDR_MASK);
		break;
	case APIC_DFR:
		if (x2)
			return 1;
		reg_set(apic, APIC_DFR, val | 0x0fffffff);
		break;
	case APIC_SPIV:
		apic_set_spiv(apic, val);
		break;
	case APIC_ICR:
		val &= ~APIC_ICR_BUSY;
		reg_set(apic, APIC_ICR, val);
		if (!x2)
			apic_send_ipi(apic, val, reg_get(apic, APIC_ICR2) >> 24);
		break;
	case APIC_ICR2:
		if (x2)
			return 1;
		reg_set(apic, APIC_ICR2, val & 0xff000000);
		break;
	case APIC_LVTT:
		if (!apic_sw_enabled(apic))
			val |= APIC_LVT_MASKED;
		val &= lvt_mask[0] | apic->timer_mode_mask;
		apic_update_lvtt(apic, val);
		break;
	case APIC_LVTTHMR:
	case APIC_LVTPC:
	case APIC_LVT0:
	case APIC_LVT1:
	case APIC_LVTERR:
		i = (off - APIC_LVTT) >> 4;
		if (!apic_sw_enabled(apic))
			val |= APIC_LVT_MASKED;
		reg_set(apic, off, val & lvt_mask[i]);
		if (off == APIC_LVT0)
			kvmd_make_request(vcpu, KVMD_REQ_EVENT);
		break;
	case APIC_TMICT:
		if (timer_mode(apic) == APIC_TIMER_TSCDEADLINE)
			break;
		reg_set(apic, APIC_TMICT, val);
		timer_start_count(apic);
		break;
	case APIC_TDCR: {
		u32 d, old_shift = apic->divide_shift;

		val &= 0xb;
		reg_set(apic, APIC_TDCR, val);
		d = (val & 3) | ((val & 8) >> 1);
		apic->divide_shift = (d + 1) & 7;
		if (apic->divide_shift != old_shift && apic->period_ns &&
		    timer_mode(apic) != APIC_TIMER_TSCDEADLINE)
			timer_rescale(apic, old_shift);
		break;
	}
	case APIC_ESR:
		if (x2 && val)
			return 1;
		reg_set(apic, APIC_ESR, 0);
		break;
	case APIC_SELF_IPI:
		/* x2APIC only; bits above the vector are reserved (#GP). */
		if (!x2 || (val & ~APIC_VECTOR_MASK))
			return 1;
		apic_send_ipi(apic, APIC_DEST_SELF | (val & APIC_VECTOR_MASK), 0);
		break;
	default:
		return 1;
	}
	return 0;
}

/* ---- xAPIC MMIO ---- */

/*
 * The APIC page answers in the kernel whatever the APIC's mode: as KVM's
 * default KVM_X86_QUIRK_LAPIC_MMIO_HOLE, a disabled or x2APIC-mode APIC
 * reads as all ones there and ignores writes.
 * With the quirk disabled such an APIC leaves the page to guest memory
 * or userspace, as KVM.
 */
__kvmd_hot bool kvmd_apic_mmio_in_range(struct kvmd_vcpu *vcpu, u64 gpa)
{
	u64 base = READ_ONCE(vcpu->apic_base);

	if (!vcpu->apic)
		return false;
	if ((!apic_hw_enabled(vcpu) || apic_x2apic(vcpu)) &&
	    !kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_LAPIC_MMIO_HOLE))
		return false;
	base &= MSR_IA32_APICBASE_BASE;
	return gpa >= base && gpa < base + PAGE_SIZE;
}

static void report_tpr_access(struct kvmd_lapic *apic, bool write);

void kvmd_apic_mmio_read(struct kvmd_vcpu *vcpu, u64 gpa, void *data, int len)
{
	u32 off = gpa & 0xfff, val = 0;
	unsigned int shift = off & 3;

	if (!apic_hw_enabled(vcpu) || apic_x2apic(vcpu)) {
		memset(data, 0xff, len);
		return;
	}
	if ((off & ~0xf) == APIC_TASKPRI)
		report_tpr_access(vcpu->apic, false);

	/* As KVM: registers are 32 bits wide; parts of one read as such. */
	if (apic_reg_read(vcpu->apic, off & ~0xf, &val))
		val = 0;
	if (shift + len > 4 || (off & 0xc))
		val = 0;
	else
		val >>= shift * 8;
	memcpy(data, &val, min(len, 4));
	if (len > 4)
		memset(data + 4, 0, len - 4);
}

void kvmd_apic_mmio_write(struct kvmd_vcpu *vcpu, u64 gpa, const void *data,
			  int len)
{
	u32 off = gpa & 0xfff, val;

	/* Only aligned 32-bit writes reach a register, as on hardware. */
	if (len != 4 || (off & 0xf) || !apic_hw_enabled(vcpu) || apic_x2apic(vcpu))
		return;
	memcpy(&val, data, 4);
	if (off == APIC_TASKPRI)
		report_tpr_access(vcpu->apic, true);
	apic_reg_write(vcpu->apic, off, val);
}

/* ---- x2APIC MSRs ---- */

int kvmd_x2apic_msr_read(struct kvmd_vcpu *vcpu, u32 msr, u64 *data)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u32 off = (msr - 0x800) << 4, lo;

	if (!apic || !apic_x2apic(vcpu))
		return 1;
	if (off == APIC_ICR) {
		*data = reg_get(apic, APIC_ICR) |
			(u64)reg_get(apic, APIC_ICR2) << 32;
		return 0;
	}
	if (off == APIC_EOI || off == APIC_SELF_IPI)
		return 1;
	if (apic_reg_read(apic, off, &lo))
		return 1;
	*data = lo;
	return 0;
}

int kvmd_x2apic_msr_write(struct kvmd_vcpu *vcpu, u32 msr, u64 data)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u32 off = (msr - 0x800) << 4;

	if (!apic || !apic_x2apic(vcpu))
		return 1;
	if (off == APIC_ICR) {
		reg_set(apic, APIC_ICR2, data >> 32);
		reg_set(apic, APIC_ICR, (u32)data & ~APIC_ICR_BUSY);
		apic_send_ipi(apic, (u32)data, data >> 32);
		return 0;
	}
	if (data >> 32)
		return 1;
	return apic_reg_write(apic, off, data);
}

/*
 * Hyper-V's EOI, ICR and TPR MSRs (hyperv.c), as KVM's kvm_lapic_msr_*:
 * the register whatever the APIC's mode, the ICR as one 64-bit value
 * whose high half is the destination (its top byte in xAPIC mode).
 */
int kvmd_apic_hv_msr_read(struct kvmd_vcpu *vcpu, u32 off, u64 *data)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u32 lo;

	if (!apic)
		return 1;
	if (off == APIC_ICR) {
		*data = reg_get(apic, APIC_ICR) |
			(u64)reg_get(apic, APIC_ICR2) << 32;
		return 0;
	}
	if (apic_reg_read(apic, off, &lo))
		return 1;
	*data = lo;
	return 0;
}

int kvmd_apic_hv_msr_write(struct kvmd_vcpu *vcpu, u32 off, u64 data)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic)
		return 1;
	if (off == APIC_ICR) {
		u32 dest = apic_x2apic(vcpu) ? data >> 32 : data >> 56;

		reg_set(apic, APIC_ICR2, data >> 32);
		reg_set(apic, APIC_ICR, (u32)data & ~APIC_ICR_BUSY);
		apic_send_ipi(apic, (u32)data, dest);
		return 0;
	}
	if (data >> 32)
		return 1;
	return apic_reg_write(apic, off, data);
}

/* ---- the vCPU's side: TPR, events, injection ---- */

/* KVM_TPR_ACCESS_REPORTING: tell userspace the guest touched the TPR. */
static void report_tpr_access(struct kvmd_lapic *apic, bool write)
{
	struct kvmd_vcpu *vcpu = apic->vcpu;

	if (!vcpu->tpr_access_reporting)
		return;
	vcpu->run->tpr_access.rip = vcpu->rip;
	vcpu->run->tpr_access.is_write = write;
	kvmd_make_request(vcpu, KVMD_REQ_TPR_ACCESS);
}

/*
 * PV EOI, as KVM: before an entry, the guest's byte at the MSR's address
 * gets KVM_PV_EOI_ENABLED when the vector acknowledged last is still in
 * service (isr_cache), nothing waits in IRR and no IOAPIC needs to hear
 * of its EOI (split irqchip: a level-triggered vector's EOI exits to
 * userspace). A guest may then clear the bit instead of writing EOI;
 * after the next exit this driver makes that EOI for it.
 */
static u64 pv_eoi_gpa(struct kvmd_vcpu *vcpu)
{
	return vcpu->pv_eoi_msr & ~(u64)KVM_MSR_ENABLED;
}

static bool pv_eoi_enabled(struct kvmd_vcpu *vcpu)
{
	return vcpu->pv_eoi_msr & KVM_MSR_ENABLED;
}

static bool apic_eoi_needed_elsewhere(struct kvmd_lapic *apic, int vec)
{
	struct kvmd_vm *vm = apic->vcpu->vm;

	if (kvmd_irqchip_full(vm))
		return kvmd_ioapic_handles_vector(vm, vec);
	return vec_test(apic, APIC_TMR, vec);
}

static void apic_pv_eoi_to_guest(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u8 val = KVM_PV_EOI_ENABLED;

	if (!pv_eoi_enabled(vcpu) || apic->isr_cache < 0 ||
	    vec_highest(apic, APIC_IRR) >= 0 ||
	    apic_eoi_needed_elsewhere(apic, apic->isr_cache))
		return;
	if (!kvmd_write_guest(vcpu->vm, pv_eoi_gpa(vcpu), &val, sizeof(val)))
		apic->pv_eoi_pending = true;
}

__kvmd_hot void kvmd_apic_pv_eoi_from_guest(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u8 val;

	if (!apic || !apic->pv_eoi_pending)
		return;
	apic->pv_eoi_pending = false;
	if (!pv_eoi_enabled(vcpu))
		return;
	/* Bit still set: no EOI yet; clear it, the next entry decides again. */
	if (!kvmd_read_guest(vcpu->vm, pv_eoi_gpa(vcpu), &val, sizeof(val)) &&
	    (val & KVM_PV_EOI_ENABLED)) {
		val = KVM_PV_EOI_DISABLED;
		if (!kvmd_write_guest(vcpu->vm, pv_eoi_gpa(vcpu), &val, sizeof(val)))
			return;
	}
	/* Cleared (or the byte is gone, as KVM takes it): the guest's EOI. */
	apic_send_eoi(apic);
}

/*
 * KVM_SET_VAPIC_ADDR: a guest page mirrors the TPR (QEMU's kvmvapic ROM
 * patches guests to use it). As KVM: before each entry it gets the TPR,
 * the highest ISR class and the highest IRR vector; after, the guest's
 * TPR is taken from it.
 */
void kvmd_apic_sync_from_vapic(struct kvmd_vcpu *vcpu)
{
	u32 data;

	if (!vcpu->vapic_addr ||
	    kvmd_read_guest(vcpu->vm, vcpu->vapic_addr, &data, sizeof(data)))
		return;
	reg_set(vcpu->apic, APIC_TASKPRI, data & 0xff);
	apic_update_ppr(vcpu->apic);
}

void kvmd_apic_sync_to_vapic(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;
	int isr, irr;
	u32 data;

	apic_pv_eoi_to_guest(vcpu);
	if (!vcpu->vapic_addr)
		return;
	isr = vec_highest(apic, APIC_ISR);
	irr = vec_highest(apic, APIC_IRR);
	data = (reg_get(apic, APIC_TASKPRI) & 0xff) |
	       ((isr < 0 ? 0 : isr & 0xf0) << 8) | ((irr < 0 ? 0 : irr) << 24);
	kvmd_write_guest(vcpu->vm, vcpu->vapic_addr, &data, sizeof(data));
}

void kvmd_apic_set_tpr(struct kvmd_vcpu *vcpu, u64 cr8)
{
	struct kvmd_lapic *apic = vcpu->apic;

	reg_set(apic, APIC_TASKPRI, (cr8 & 0xf) << 4);
	apic_update_ppr(apic);
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
}

u64 kvmd_apic_get_cr8(struct kvmd_vcpu *vcpu)
{
	return (reg_get(vcpu->apic, APIC_TASKPRI) >> 4) & 0xf;
}

static void apic_deliver_lvt(struct kvmd_lapic *apic, u32 lvt_off)
{
	u32 lvt = reg_get(apic, lvt_off);
	struct kvmd_lapic_irq irq = {
		.vector = lvt & APIC_VECTOR_MASK,
		.delivery_mode = lvt & APIC_MODE_MASK,
		.trig_level = lvt & APIC_LVT_LEVEL_TRIGGER,
		.level = true,
	};

	if (!apic_hw_enabled(apic->vcpu) || (lvt & APIC_LVT_MASKED))
		return;
	kvmd_apic_set_irq(apic->vcpu, &irq);
}

/*
 * On the vCPU's thread before an entry: the NMIs other threads sent and the
 * timer's expiries become pending events and IRR bits.
 */
void kvmd_apic_sync(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic)
		return;
	if (atomic_read(&apic->nmi_pending)) {
		atomic_set(&apic->nmi_pending, 0);
		vcpu->nmi.pending = true;
	}
	if (atomic_read(&apic->timer_pending) > 0) {
		atomic_set(&apic->timer_pending, 0);
		apic_deliver_lvt(apic, APIC_LVTT);
		if (timer_mode(apic) == APIC_TIMER_TSCDEADLINE)
			apic->tscdeadline = 0;
	}
}

/* KVM_EXIT_IOAPIC_EOI owed to userspace (split irqchip), or -1. */
int kvmd_apic_take_eoi_exit(struct kvmd_vcpu *vcpu)
{
	int v = vcpu->apic->pending_eoi_exit;

	vcpu->apic->pending_eoi_exit = -1;
	return v;
}

static void kvmd_apic_deliver_sipi(struct kvmd_vcpu *vcpu, u8 vector)
{
	struct kvm_segment cs;

	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	cs.selector = vector << 8;
	cs.base = (u64)vector << 12;
	kvmd_ops->set_segment(vcpu, &cs, KVMD_SEG_CS);
	vcpu->rip = 0;
}

/*
 * INIT and SIPI, as KVM's kvm_apic_accept_events: INIT resets the vCPU
 * (the BSP stays runnable, an AP waits for SIPI); a SIPI starts an AP
 * that waits.
 */
void kvmd_apic_accept_events(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic || !READ_ONCE(apic->pending_events))
		return;
	/* In SMM an INIT stays latched until RSM and a SIPI is dropped. */
	if (vcpu->smm.active) {
		clear_bit(KVMD_APIC_SIPI, &apic->pending_events);
		return;
	}
	if (test_and_clear_bit(KVMD_APIC_INIT, &apic->pending_events)) {
		kvmd_vcpu_init_reset(vcpu);
		vcpu->mp_state = kvmd_vcpu_is_bsp(vcpu) ?
				 KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_INIT_RECEIVED;
	}
	if (test_and_clear_bit(KVMD_APIC_SIPI, &apic->pending_events) &&
	    vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		smp_rmb();
		kvmd_apic_deliver_sipi(vcpu, READ_ONCE(apic->sipi_vector));
		vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	}
}

/* Whether an INIT or SIPI waits (for the wait loop). */
bool kvmd_apic_has_events(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic)
		return false;
	if (test_bit(KVMD_APIC_INIT, &apic->pending_events))
		return true;
	return test_bit(KVMD_APIC_SIPI, &apic->pending_events) &&
	       vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED;
}

void kvmd_apic_set_sipi_pending(struct kvmd_vcpu *vcpu)
{
	set_bit(KVMD_APIC_SIPI, &vcpu->apic->pending_events);
}

/* KVM_GET/SET_VCPU_EVENTS smi.latched_init: an INIT held back by SMM. */
bool kvmd_apic_latched_init(struct kvmd_vcpu *vcpu)
{
	return vcpu->apic && test_bit(KVMD_APIC_INIT, &vcpu->apic->pending_events);
}

void kvmd_apic_set_latched_init(struct kvmd_vcpu *vcpu, bool latched)
{
	if (!vcpu->apic)
		return;
	if (latched)
		set_bit(KVMD_APIC_INIT, &vcpu->apic->pending_events);
	else
		clear_bit(KVMD_APIC_INIT, &vcpu->apic->pending_events);
}

/* ExtINT: from the in-kernel PIC or the one KVM_INTERRUPT left (split). */
static bool cpu_has_extint(struct kvmd_vcpu *vcpu)
{
	struct kvmd_pic *pic = READ_ONCE(vcpu->vm->pic);

	if (!kvmd_apic_accept_pic_intr(vcpu))
		return false;
	if (vcpu->extint_vector >= 0)
		return true;
	return pic && kvmd_pic_has_interrupt(pic);
}

/* An interrupt is ready for the guest to take (IF permitting). */
__kvmd_hot bool kvmd_cpu_has_interrupt(struct kvmd_vcpu *vcpu)
{
	if (cpu_has_extint(vcpu))
		return true;
	return vcpu->apic && apic_deliverable(vcpu->apic) >= 0;
}

/* Acknowledge the interrupt: its vector, or -1 when it went away. */
int kvmd_cpu_get_interrupt(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;
	int vec;

	if (cpu_has_extint(vcpu)) {
		if (vcpu->extint_vector >= 0) {
			vec = vcpu->extint_vector;
			vcpu->extint_vector = -1;
			return vec;
		}
		return kvmd_pic_read_irq(READ_ONCE(vcpu->vm->pic));
	}
	if (!apic)
		return -1;
	vec = apic_deliverable(apic);
	if (vec < 0)
		return -1;
	vec_clear(apic, APIC_IRR, vec);
	/* A Hyper-V SINT with auto-EOI is never in service (hyperv_synic.c). */
	if ((!vcpu->hv || !kvmd_hv_synic_auto_eoi(vcpu, vec)) &&
	    !vec_test(apic, APIC_ISR, vec)) {
		vec_set(apic, APIC_ISR, vec);
		apic->isr_cache = vec;
	}
	apic_update_ppr(apic);
	return vec;
}

/* Userspace may queue an ExtINT (KVM_INTERRUPT, split irqchip) now. */
bool kvmd_cpu_accept_dm_intr(struct kvmd_vcpu *vcpu)
{
	if (cpu_has_extint(vcpu))
		return false;
	return !vcpu->apic || kvmd_apic_accept_pic_intr(vcpu);
}

/* ---- state: KVM_GET/SET_LAPIC ---- */

int kvmd_get_lapic(struct kvmd_vcpu *vcpu, struct kvm_lapic_state *s)
{
	struct kvmd_lapic *apic = vcpu->apic;

	memcpy(s->regs, apic->regs, sizeof(s->regs));
	*(u32 *)(s->regs + APIC_PROCPRI) = apic_ppr(apic);
	*(u32 *)(s->regs + APIC_TMCCT) = apic_tmcct(apic);
	/* Without KVM_CAP_X2APIC_API the x2APIC ID is shown in xAPIC format. */
	if (apic_x2apic(vcpu) && !apic->x2apic_format)
		*(u32 *)(s->regs + APIC_ID) = reg_get(apic, APIC_ID) << 24;
	return 0;
}

int kvmd_set_lapic(struct kvmd_vcpu *vcpu, const struct kvm_lapic_state *s)
{
	struct kvmd_lapic *apic = vcpu->apic;
	u32 id = *(const u32 *)(s->regs + APIC_ID);

	if (apic_x2apic(vcpu) && !apic->x2apic_format && (id >> 24) != vcpu->id)
		return -EINVAL;
	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
	memcpy(apic->regs, s->regs, sizeof(s->regs));
	apic->isr_cache = -1;
	if (apic_x2apic(vcpu))
		apic_set_x2apic_id(apic);
	kvmd_apic_update_version(vcpu);
	apic_update_ppr(apic);
	/* Divide, timer mode, then a running count restarts from TMICT. */
	apic_reg_write(apic, APIC_TDCR, reg_get(apic, APIC_TDCR));
	apic->tscdeadline = 0;
	if (timer_mode(apic) != APIC_TIMER_TSCDEADLINE)
		timer_start_count(apic);
	reg_set(apic, APIC_ICR, reg_get(apic, APIC_ICR) & ~APIC_ICR_BUSY);
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	return 0;
}

/* ---- lifetime ---- */

void kvmd_lapic_reset(struct kvmd_vcpu *vcpu, bool init)
{
	struct kvmd_lapic *apic = vcpu->apic;
	int i;

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	atomic_set(&apic->timer_pending, 0);
	if (!init) {
		u64 old = vcpu->apic_base;

		vcpu->apic_base = APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE |
				  (kvmd_vcpu_is_bsp(vcpu) ? MSR_IA32_APICBASE_BSP : 0);
		kvmd_apic_base_changed(vcpu, old);
	}
	memset(apic->regs + APIC_ISR, 0, 0x400 - APIC_ISR);
	if (apic_x2apic(vcpu))
		apic_set_x2apic_id(apic);
	else
		reg_set(apic, APIC_ID, vcpu->id << 24);
	kvmd_apic_update_version(vcpu);
	for (i = 0; i < NR_LVT; i++)
		reg_set(apic, APIC_LVTT + 0x10 * i, APIC_LVT_MASKED);
	/* KVM_X86_QUIRK_LINT0_REENABLED: the BSP takes the PIC through LINT0. */
	if (kvmd_vcpu_is_bsp(vcpu) &&
	    kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_LINT0_REENABLED))
		reg_set(apic, APIC_LVT0, APIC_DM_EXTINT);
	reg_set(apic, APIC_DFR, 0xffffffff);
	reg_set(apic, APIC_SPIV, 0xff);
	reg_set(apic, APIC_TASKPRI, 0);
	if (!apic_x2apic(vcpu))
		reg_set(apic, APIC_LDR, 0);
	reg_set(apic, APIC_ESR, 0);
	reg_set(apic, APIC_ICR, 0);
	reg_set(apic, APIC_ICR2, 0);
	reg_set(apic, APIC_TDCR, 0);
	reg_set(apic, APIC_TMICT, 0);
	apic->divide_shift = 1;
	apic->period_ns = 0;
	apic->tscdeadline = 0;
	apic->pending_eoi_exit = -1;
	apic->isr_cache = -1;
	apic->pv_eoi_pending = false;
	/* As KVM, RESET and INIT disable PV EOI (with the APIC in the kernel). */
	vcpu->pv_eoi_msr = 0;
	apic_update_ppr(apic);
	vcpu->extint_vector = -1;
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
}

int kvmd_lapic_create(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic;

	apic = kzalloc(sizeof(*apic), GFP_KERNEL_ACCOUNT);
	if (!apic)
		return -ENOMEM;
	apic->regs = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!apic->regs) {
		kfree(apic);
		return -ENOMEM;
	}
	apic->vcpu = vcpu;
	atomic_set(&apic->nmi_pending, 0);
	atomic_set(&apic->timer_pending, 0);
	hrtimer_init(&apic->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
	apic->timer.function = apic_timer_fn;
	vcpu->apic = apic;
	kvmd_lapic_reset(vcpu, false);
	return 0;
}

void kvmd_lapic_free(struct kvmd_vcpu *vcpu)
{
	struct kvmd_lapic *apic = vcpu->apic;

	if (!apic)
		return;
	hrtimer_cancel(&apic->timer);
	free_page((unsigned long)apic->regs);
	kfree(apic);
	vcpu->apic = NULL;
}
