/*
 * tests/driver/t_lapic.c: the in-kernel local APIC (KVM_CREATE_IRQCHIP) seen
 * by a long-mode guest: xAPIC registers at 0xfee00000 and their reset values,
 * TPR/PPR, EOI, ISR/IRR/TMR, LDR/DFR, SVR, ESR, LVTs, self-IPIs, the timer in
 * one-shot, periodic and TSC-deadline modes, HLT woken by the timer inside
 * the kernel, x2APIC through MSRs, KVM_GET/SET_LAPIC and KVM_NMI. The values
 * asserted are stock KVM's (the oracle); the surprising ones say why.
 */
#include "apictest.h"

#define CPUID_X2APIC	(1u << 21)
#define CPUID_TSCDL	(1u << 24)

static struct kvm_lapic_state lapic_get(struct icpu *c, int *r)
{
	struct kvm_lapic_state s;

	memset(&s, 0, sizeof(s));
	*r = ioctl(c->fd, KVM_GET_LAPIC, &s);
	return s;
}

static uint32_t lreg(struct kvm_lapic_state *s, int off)
{
	uint32_t v;

	memcpy(&v, s->regs + off, 4);
	return v;
}

static void lreg_set(struct kvm_lapic_state *s, int off, uint32_t v)
{
	memcpy(s->regs + off, &v, 4);
}

/* Reset values, as the guest and KVM_GET_LAPIC see them, before any write. */
static void test_reset_values(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	struct kvm_lapic_state s;
	int r;

	tap_ok(ioctl(v->kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) == 1, "KVM_CAP_IRQCHIP is 1");
	s = lapic_get(c, &r);
	/* 0x14: an integrated APIC; 5 in 23:16: six LVTs (no CMCI without MCG_CMCI_P). */
	tap_ok(r == 0 && lreg(&s, A_ID) == 0 && lreg(&s, A_LVR) == 0x50014,
	       "KVM_GET_LAPIC before the first run: ID 0, version 0x50014 (ID %#x, LVR %#x)",
	       lreg(&s, A_ID), lreg(&s, A_LVR));
	tap_ok(msr_rd(c, 0x1b) == 0xfee00900, "APIC base MSR: 0xfee00000, enabled, BSP");
	tap_ok(apic_rd(c, A_ID) == 0, "xAPIC ID of vCPU 0 is 0");
	tap_ok(apic_rd(c, A_LVR) == 0x50014, "xAPIC version register 0x50014 (%#x)", apic_rd(c, A_LVR));
	tap_ok(apic_rd(c, A_SVR) == 0xff, "SVR after reset 0xff: software-disabled (%#x)", apic_rd(c, A_SVR));
	tap_ok(apic_rd(c, A_DFR) == 0xffffffff && apic_rd(c, A_LDR) == 0,
	       "DFR 0xffffffff (flat), LDR 0");
	tap_ok(apic_rd(c, A_TPR) == 0 && apic_rd(c, A_PPR) == 0 && apic_rd(c, A_APR) == 0,
	       "TPR, PPR, APR 0");
	/*
	 * LVT0 of the BSP is ExtINT, unmasked (KVM_X86_QUIRK_LINT0_REENABLED,
	 * on by default); the other LVTs are masked.
	 */
	tap_ok(apic_rd(c, A_LVTT) == 0x10000 && apic_rd(c, A_LVTTHM) == 0x10000 &&
	       apic_rd(c, A_LVTPC) == 0x10000 && apic_rd(c, A_LVT1) == 0x10000 &&
	       apic_rd(c, A_LVTERR) == 0x10000 && apic_rd(c, A_LVT0) == 0x700,
	       "LVTs after reset: masked; LVT0 ExtINT 0x700 on the BSP (LVT0 %#x)", apic_rd(c, A_LVT0));
	tap_ok(apic_rd(c, A_TMICT) == 0 && apic_rd(c, A_TMCCT) == 0 && apic_rd(c, A_TDCR) == 0,
	       "timer registers 0");
	/* While software-disabled, LVT writes keep the mask bit. */
	apic_wr(c, A_LVTT, 0x30);
	tap_ok(apic_rd(c, A_LVTT) == 0x10030, "LVT timer written while software-disabled stays masked (%#x)",
	       apic_rd(c, A_LVTT));
}

static void test_registers(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	uint64_t r;
	int amd;

	cmd(c, OP_CPUID, 0, 0, 0);
	amd = PC32(c, 0x24) == 0x68747541;	/* "Auth"enticAMD */

	/* SVR: bits 9:0 writable (no directed EOI with the in-kernel IOAPIC). */
	r = cmd(c, OP_WRRD32, APIC + A_SVR, 0xffffffff, 0);
	tap_ok(r == 0x3ff, "SVR written 0xffffffff reads 0x3ff (%#llx)", (unsigned long long)r);
	r = cmd(c, OP_WRRD32, APIC + A_SVR, 0x1ff, 0);
	tap_ok(r == 0x1ff, "SVR 0x1ff: software-enabled, spurious vector 0xff");
	/* LVT masks: vector, delivery status (KVM keeps it writable), mask; LINT adds mode, polarity, remote IRR, trigger. */
	r = cmd(c, OP_WRRD32, APIC + A_LVTERR, 0xffffffff, 0);
	tap_ok(r == 0x110ff, "LVT error written all-ones reads 0x110ff (%#llx)", (unsigned long long)r);
	r = cmd(c, OP_WRRD32, APIC + A_LVT1, 0xffffffff, 0);
	tap_ok(r == 0x1f7ff, "LVT LINT1 written all-ones reads 0x1f7ff (%#llx)", (unsigned long long)r);
	r = cmd(c, OP_WRRD32, APIC + A_LVTPC, 0xffffffff, 0);
	tap_ok(r == 0x117ff, "LVT perf written all-ones reads 0x117ff (%#llx)", (unsigned long long)r);
	apic_wr(c, A_LVTERR, 0x10000);
	apic_wr(c, A_LVT1, 0x10000);
	apic_wr(c, A_LVTPC, 0x10000);
	r = cmd(c, OP_WRRD32, APIC + A_LVTT, 0x30, 0);
	tap_ok(r == 0x30, "LVT timer unmasked once software-enabled (%#llx)", (unsigned long long)r);
	apic_wr(c, A_LVTT, 0x10000);
	/*
	 * TPR: 8 bits, CR8 is TPR[7:4]. On AMD, stock KVM keeps the TPR in
	 * the VMCB's V_TPR (4 bits) while CR8 writes are not intercepted (no
	 * IRR above the TPR) and copies it back into the APIC after every
	 * exit (svm.c sync_cr8_to_lapic): TPR[3:0] is lost at the next entry.
	 * Intel's TPR shadow keeps all 8 bits.
	 */
	r = cmd(c, OP_WRRD32, APIC + A_TPR, 0x1ff, 0);
	tap_ok(r == (amd ? 0xf0 : 0xff), "TPR written 0x1ff reads %#x on %s (%#llx)", amd ? 0xf0 : 0xff,
	       amd ? "AMD: V_TPR keeps bits 7:4" : "Intel", (unsigned long long)r);
	apic_wr(c, A_TPR, 0x35);
	tap_ok(apic_rd(c, A_PPR) == (amd ? 0x30u : 0x35u), "PPR follows TPR 0x35 with nothing in service (%#x)",
	       apic_rd(c, A_PPR));
	r = cmd(c, OP_CR8, 0, 2, 0);
	tap_ok(r == 2 && apic_rd(c, A_TPR) == 0x20, "MOV to CR8 2 sets TPR 0x20 (CR8 %llu, TPR %#x)",
	       (unsigned long long)r, apic_rd(c, A_TPR));
	apic_wr(c, A_TPR, 0);
	/* LDR: bits 31:24; DFR: model in 31:28, the rest reads as ones. */
	r = cmd(c, OP_WRRD32, APIC + A_LDR, 0xffffffff, 0);
	tap_ok(r == 0xff000000, "LDR keeps bits 31:24 (%#llx)", (unsigned long long)r);
	r = cmd(c, OP_WRRD32, APIC + A_DFR, 0, 0);
	tap_ok(r == 0x0fffffff, "DFR cluster model reads 0x0fffffff (%#llx)", (unsigned long long)r);
	apic_wr(c, A_DFR, 0xffffffff);
	apic_wr(c, A_LDR, 0x01000000);
	/* ESR: KVM never latches an error; writes are accepted, reads give 0. */
	r = cmd(c, OP_WRRD32, APIC + A_ESR, 0xffffffff, 0);
	tap_ok(r == 0 && apic_rd(c, A_ESR) == 0, "ESR: written, then read, 0 (KVM latches no errors)");
	/* TDCR: bits 3,1,0. */
	r = cmd(c, OP_WRRD32, APIC + A_TDCR, 0xffffffff, 0);
	tap_ok(r == 0xb, "TDCR keeps bits 0,1,3 (%#llx)", (unsigned long long)r);
	/* ICR2: destination bits only. */
	r = cmd(c, OP_WRRD32, APIC + A_ICR2, 0xffffffff, 0);
	tap_ok(r == 0xff000000, "ICR2 keeps bits 31:24 (%#llx)", (unsigned long long)r);
	apic_wr(c, A_ICR2, 0);
}

static void test_ipis(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	int ok;

	eoi_mode_all(c, 1);
	irq_reset(c);
	/* Fixed self-IPI by shorthand, left in service (no EOI by the handler). */
	eoi_mode(c, 0x50, 0);
	apic_wr(c, A_ICR, 0x40050);
	tap_ok(apic_rd(c, A_ICR) == 0x40050, "ICR reads back 0x40050, delivery status idle");
	tap_ok(apic_bit(c, A_IRR, 0x50) == 1 && irqs(c, 0x50) == 0,
	       "self-IPI 0x50 pending in IRR while interrupts are off");
	window(c);
	tap_ok(irqs(c, 0x50) == 1, "self-IPI (shorthand self) 0x50: the handler ran once");
	tap_ok(apic_bit(c, A_ISR, 0x50) == 1 && apic_bit(c, A_IRR, 0x50) == 0 &&
	       apic_bit(c, A_TMR, 0x50) == 0,
	       "in service: ISR bit set, IRR clear, TMR clear (edge)");
	tap_ok(apic_rd(c, A_PPR) == 0x50, "PPR 0x50 while 0x50 is in service (%#x)", apic_rd(c, A_PPR));
	/* A lower vector waits for the EOI; a higher one preempts. */
	apic_wr(c, A_ICR, 0x40045);
	window(c);
	ok = irqs(c, 0x45) == 0;
	apic_wr(c, A_ICR, 0x40061);
	window(c);
	tap_ok(ok && irqs(c, 0x61) == 1 && irqs(c, 0x45) == 0,
	       "with 0x50 in service, 0x45 waits and 0x61 is taken");
	apic_wr(c, A_EOI, 0);
	tap_ok(apic_bit(c, A_ISR, 0x50) == 0, "EOI clears ISR bit 0x50");
	window(c);
	tap_ok(irqs(c, 0x45) == 1 && apic_rd(c, A_PPR) == 0,
	       "after the EOI 0x45 is taken; PPR back to 0");
	/* TPR holds a vector back, lowering it lets it in. */
	apic_wr(c, A_TPR, 0x60);
	apic_wr(c, A_ICR, 0x40055);
	window(c);
	ok = irqs(c, 0x55) == 0 && apic_bit(c, A_IRR, 0x55);
	apic_wr(c, A_TPR, 0x50);
	window(c);
	ok = ok && irqs(c, 0x55) == 0;
	apic_wr(c, A_TPR, 0);
	window(c);
	tap_ok(ok && irqs(c, 0x55) == 1, "TPR 0x60 and 0x50 hold vector 0x55 back, TPR 0 lets it in");
	/* Physical destination = own ID, no shorthand. */
	apic_icr(c, 0, 0x51);
	window(c);
	tap_ok(irqs(c, 0x51) == 1, "fixed IPI to physical ID 0 (self)");
	/* Logical, flat model: LDR 0x01000000. */
	apic_icr(c, 0x01000000, 0x852);
	apic_icr(c, 0x02000000, 0x853);
	window(c);
	tap_ok(irqs(c, 0x52) == 1 && irqs(c, 0x53) == 0,
	       "logical flat: dest 0x01 reaches LDR 0x01, dest 0x02 does not");
	/* Shorthand all-including-self, and all-but-self (nobody else here). */
	apic_wr(c, A_ICR, 0x80056);
	apic_wr(c, A_ICR, 0xc0057);
	window(c);
	tap_ok(irqs(c, 0x56) == 1 && irqs(c, 0x57) == 0,
	       "shorthand all-including-self reaches self, all-but-self does not");
	/* Physical broadcast 0xff. */
	apic_icr(c, 0xff000000, 0x58);
	window(c);
	tap_ok(irqs(c, 0x58) == 1, "physical broadcast destination 0xff reaches self");
	/* Spurious vector: while software-disabled, IPIs are not accepted. */
	apic_wr(c, A_SVR, 0xff);
	apic_wr(c, A_ICR, 0x40059);
	window(c);
	ok = irqs(c, 0x59) == 0;
	apic_wr(c, A_SVR, 0x1ff);
	window(c);
	tap_ok(ok && irqs(c, 0x59) == 0, "a software-disabled APIC drops a self-IPI");
	/* KVM_NMI: the NMI handler (vector 2) runs. */
	tap_ok(ioctl(c->fd, KVM_NMI) == 0, "KVM_NMI");
	window(c);
	tap_ok(irqs(c, 2) == 1, "KVM_NMI: the guest's NMI handler ran once");
	/* NMI IPI to self. */
	apic_wr(c, A_ICR, 0x40400);
	window(c);
	tap_ok(irqs(c, 2) == 2, "NMI self-IPI (delivery mode 100): NMI handler ran");
}

static void test_timer(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	uint64_t t1, t2, dt;
	long khz;
	double ms0, ms;
	int ok;

	eoi_mode_all(c, 1);
	irq_reset(c);
	khz = ioctl(c->fd, KVM_GET_TSC_KHZ);
	tap_ok(khz > 0, "KVM_GET_TSC_KHZ: %ld", khz);
	if (khz <= 0)
		khz = 1000000;	/* go on with a guess */
	/* One-shot, divide by 1: 1 ns per count. */
	apic_wr(c, A_TDCR, 0xb);
	apic_wr(c, A_LVTT, 0x60);
	apic_wr(c, A_TMICT, 100000000);		/* 100 ms */
	t1 = apic_rd(c, A_TMCCT);
	t2 = apic_rd(c, A_TMCCT);
	tap_ok(t1 > 0 && t1 <= 100000000 && t2 < t1, "one-shot: TMCCT counts down (%llu, %llu)",
	       (unsigned long long)t1, (unsigned long long)t2);
	tap_ok(apic_rd(c, A_TMICT) == 100000000, "TMICT reads back");
	ms0 = now_ms();
	dt = cmd(c, OP_HLT_TSC, 0, 0, 0);
	ms = now_ms() - ms0;
	/*
	 * The guest halts with interrupts on; the timer wakes it inside the
	 * kernel: no KVM_EXIT_HLT, KVM_RUN returns once, at the guest's OUT.
	 */
	tap_ok(!c->broken && irqs(c, 0x60) == 1,
	       "HLT with the timer armed: woken by it in the kernel, one KVM_RUN (%.1f ms)", ms);
	tap_ok(dt >= (uint64_t)khz * 20 && ms >= 20,
	       "the halt lasted until the timer (guest %llu TSC ticks at %ld kHz)",
	       (unsigned long long)dt, khz);
	tap_ok(apic_rd(c, A_TMCCT) == 0, "one-shot expired: TMCCT 0");
	usleep(20000);
	window(c);
	tap_ok(irqs(c, 0x60) == 1, "one-shot fires once");
	/*
	 * Stock KVM quirk, asserted because stock is the oracle: a divide
	 * change re-arms the timer from its old target (lapic.c TDCR write:
	 * update_target_expiration, restart_apic_timer), and an expired
	 * one-shot, its target in the past, fires again at once.
	 */
	apic_wr(c, A_TDCR, 0);
	window(c);
	tap_ok(irqs(c, 0x60) == 2, "stock quirk: a TDCR change after the one-shot expired fires it again");
	apic_wr(c, A_TMICT, 0);

	/* Periodic, 2 ms, divide by 2 (TDCR 0): 1,000,000 counts. */
	apic_wr(c, A_LVTT, 0x20061);
	ms0 = now_ms();
	apic_wr(c, A_TMICT, 1000000);
	cmd(c, OP_WAIT, 0, nirq(c) + 5, 0);
	ms = now_ms() - ms0;
	t1 = apic_rd(c, A_TMCCT);
	tap_ok(irqs(c, 0x61) == 5 && ms >= 8, "periodic 2 ms: 5 ticks took %.1f ms (%u ticks, %llu interrupts, last %#llx)", ms,
	       irqs(c, 0x61), (unsigned long long)nirq(c), (unsigned long long)PC64(c, 0x48));
	tap_ok(t1 <= 1000000, "periodic: TMCCT within the period (%llu)", (unsigned long long)t1);
	apic_wr(c, A_TMICT, 0);
	window(c);
	t1 = irqs(c, 0x61);
	usleep(20000);
	window(c);
	tap_ok(irqs(c, 0x61) == t1 && apic_rd(c, A_TMCCT) == 0, "TMICT 0 stops the periodic timer");
	/* Masked LVT: the one-shot expires without an interrupt. */
	apic_wr(c, A_TDCR, 0xb);
	apic_wr(c, A_LVTT, 0x10062);
	apic_wr(c, A_TMICT, 1000000);
	usleep(10000);
	window(c);
	tap_ok(irqs(c, 0x62) == 0 && apic_rd(c, A_TMCCT) == 0, "masked timer expires silently");

	/*
	 * TSC deadline, whatever the capability said: stock has it here
	 * (asserted at the start), so a driver without it fails these too.
	 */
	apic_wr(c, A_LVTT, 0x40063);
	ok = apic_rd(c, A_LVTT) == 0x40063;
	apic_wr(c, A_TMICT, 12345);
	tap_ok(ok && apic_rd(c, A_TMICT) == 0 && apic_rd(c, A_TMCCT) == 0,
	       "TSC-deadline mode: LVTT 0x40063, TMICT writes ignored, TMCCT 0");
	/* Far ahead, it reads back (a stalled test host cannot make it fire first). */
	t1 = cmd(c, OP_RDTSC, 0, 0, 0) + (uint64_t)khz * 5000;
	msr_wr(c, 0x6e0, t1);
	t2 = msr_rd(c, 0x6e0);
	tap_ok(t2 == t1, "IA32_TSC_DEADLINE reads back the deadline before it fires");
	/* Rewritten 10 ms ahead: that one fires, once. */
	t1 = cmd(c, OP_RDTSC, 0, 0, 0) + (uint64_t)khz * 10;
	msr_wr(c, 0x6e0, t1);
	ms0 = now_ms();
	cmd(c, OP_WAIT, 0, nirq(c) + 1, 0);
	ms = now_ms() - ms0;
	tap_ok(irqs(c, 0x63) == 1 && PC64(c, 0x48) == 0x63, "TSC deadline 10 ms ahead fires (after %.1f ms)", ms);
	tap_ok(msr_rd(c, 0x6e0) == 0, "IA32_TSC_DEADLINE reads 0 once it fired");
	/* A deadline in the past fires at once. */
	msr_wr(c, 0x6e0, 1);
	window(c);
	tap_ok(irqs(c, 0x63) == 2, "a deadline in the past fires at once");
	apic_wr(c, A_LVTT, 0x10000);
}

static void test_get_set_lapic(struct ivm *v)
{
	struct icpu *c = &v->cpu[0];
	struct kvm_lapic_state s;
	int r;

	eoi_mode_all(c, 1);
	irq_reset(c);
	apic_wr(c, A_TPR, 0x10);
	s = lapic_get(c, &r);
	tap_ok(r == 0 && lreg(&s, A_ID) == 0 && lreg(&s, A_SVR) == 0x1ff && lreg(&s, A_TPR) == 0x10 &&
	       lreg(&s, A_LDR) == 0x01000000,
	       "KVM_GET_LAPIC: ID 0, SVR 0x1ff, TPR 0x10, LDR as the guest wrote them");
	/* Vector 0x70 pending in IRR through KVM_SET_LAPIC: the guest takes it. */
	lreg_set(&s, A_IRR + 0x30, lreg(&s, A_IRR + 0x30) | 1u << (0x70 - 0x60));
	lreg_set(&s, A_TPR, 0);
	tap_ok(ioctl(c->fd, KVM_SET_LAPIC, &s) == 0, "KVM_SET_LAPIC");
	window(c);
	tap_ok(irqs(c, 0x70) == 1, "a vector set pending in IRR by KVM_SET_LAPIC is delivered");
	/* A new ID through KVM_SET_LAPIC is what the guest reads. */
	s = lapic_get(c, &r);
	lreg_set(&s, A_ID, 5u << 24);
	r = ioctl(c->fd, KVM_SET_LAPIC, &s);
	tap_ok(r == 0 && apic_rd(c, A_ID) == 5u << 24, "KVM_SET_LAPIC ID 5: the guest reads %#x",
	       apic_rd(c, A_ID));
	apic_icr(c, 5u << 24, 0x71);
	window(c);
	tap_ok(irqs(c, 0x71) == 1, "a fixed IPI to physical ID 5 reaches the renumbered APIC");
	lreg_set(&s, A_ID, 0);
	ioctl(c->fd, KVM_SET_LAPIC, &s);
	s = lapic_get(c, &r);
	tap_ok(r == 0 && lreg(&s, A_ID) == 0 && apic_rd(c, A_ID) == 0, "ID restored to 0");
}

/* The LAPIC ioctls' errnos, with and without the irqchip. */
static void test_errnos(struct ivm *v)
{
	struct kvm_lapic_state s;
	struct kvm_interrupt irq = { .irq = 0x30 };
	struct tvm t;

	tvm_create(&t, 1 << 20);
	tap_ok(xioctl(t.vcpu, KVM_GET_LAPIC, &s) == -EINVAL && xioctl(t.vcpu, KVM_SET_LAPIC, &s) == -EINVAL,
	       "KVM_GET/SET_LAPIC without an irqchip: EINVAL");
	tvm_destroy(&t);
	tap_ok(xioctl(v->cpu[0].fd, KVM_GET_LAPIC, NULL) == -EFAULT &&
	       xioctl(v->cpu[0].fd, KVM_SET_LAPIC, NULL) == -EFAULT, "KVM_GET/SET_LAPIC NULL: EFAULT");
	/* With the 8259s in the kernel, KVM_INTERRUPT has no use. */
	tap_ok(xioctl(v->cpu[0].fd, KVM_INTERRUPT, &irq) == -ENXIO, "KVM_INTERRUPT with the irqchip: ENXIO");
	irq.irq = 256;
	tap_ok(xioctl(v->cpu[0].fd, KVM_INTERRUPT, &irq) == -EINVAL, "KVM_INTERRUPT 256: EINVAL");
}

/* x2APIC on vCPU 1, made runnable by KVM_SET_MP_STATE and put in long mode directly. */
static void test_x2apic(int x2apic)
{
	struct kvm_mp_state mp = { KVM_MP_STATE_RUNNABLE };
	struct kvm_lapic_state s;
	struct icpu *c;
	struct ivm v;
	uint64_t r;
	int rr;

	/* KVM emulates x2APIC whatever the host has: always in the supported CPUID. */
	tap_ok(x2apic, "x2APIC in KVM_GET_SUPPORTED_CPUID");
	ivm_create(&v, 2, 1, CPUID_X2APIC);
	c = &v.cpu[1];
	icpu_cpuid(c, CPUID_X2APIC, CPUID_TSCDL);
	tap_ok(ioctl(c->fd, KVM_SET_MP_STATE, &mp) == 0, "vCPU 1: KVM_SET_MP_STATE RUNNABLE");
	icpu_long_mode(c);
	eoi_mode_all(c, 2);
	tap_ok(msr_rd(c, 0x1b) == 0xfee00800, "vCPU 1 APIC base: enabled, not BSP (%#llx)",
	       (unsigned long long)msr_rd(c, 0x1b));
	tap_ok(apic_rd(c, A_ID) == 1u << 24, "vCPU 1 xAPIC ID 1");
	/* Without the TSC-deadline CPUID bit the LVT timer mode is one bit. */
	apic_wr(c, A_SVR, 0x1ff);
	r = cmd(c, OP_WRRD32, APIC + A_LVTT, 0x60063, 0);
	tap_ok(r == 0x20063, "without CPUID TSC-deadline, LVTT mode bit 18 is dropped (%#llx)",
	       (unsigned long long)r);
	apic_wr(c, A_LVTT, 0x10000);
	/* Faults in xAPIC mode: the x2APIC MSRs, and x2APIC mode without enable. */
	tap_ok(msr_rd_safe(c, 0x802, NULL) == 13, "xAPIC mode: RDMSR 0x802 takes #GP");
	tap_ok(msr_wr_safe(c, 0x1b, 0xfee00400) == 13 && msr_rd(c, 0x1b) == 0xfee00800,
	       "APIC base with x2APIC but not enable (invalid): #GP, unchanged");
	msr_wr(c, 0x1b, 0xfee00c00);
	r = msr_rd(c, 0x1b);
	tap_ok(!c->broken && r == 0xfee00c00, "APIC base: x2APIC mode enabled (%#llx)", (unsigned long long)r);
	tap_ok(msr_rd(c, 0x802) == 1, "x2APIC ID MSR 0x802: 1");
	tap_ok(msr_rd(c, 0x803) == 0x50014, "x2APIC version MSR 0x803: 0x50014 (%#llx)",
	       (unsigned long long)msr_rd(c, 0x803));
	tap_ok(msr_rd(c, 0x80d) == 2, "x2APIC LDR: cluster 0, bit 1 (%#llx)", (unsigned long long)msr_rd(c, 0x80d));
	tap_ok(msr_rd(c, 0x80f) == 0x1ff, "x2APIC SVR MSR: 0x1ff");
	/* The MMIO page is gone in x2APIC mode: reads give all ones (KVM_X86_QUIRK_LAPIC_MMIO_HOLE). */
	r = apic_rd(c, A_ID);
	tap_ok(r == 0xffffffff && c->mmio_exits == 0,
	       "xAPIC MMIO in x2APIC mode reads all ones, in the kernel (%#llx, MMIO exits %d)",
	       (unsigned long long)r, c->mmio_exits);
	msr_wr(c, 0x808, 0x20);
	tap_ok(msr_rd(c, 0x808) == 0x20 && msr_rd(c, 0x80a) == 0x20, "x2APIC TPR and PPR MSRs");
	msr_wr(c, 0x808, 0);
	/* Faults in x2APIC mode (stock KVM 6.1: kvm_set_apic_base, kvm_lapic_reg_read/write). */
	tap_ok(msr_wr_safe(c, 0x1b, 0xfee00800) == 13, "x2APIC to xAPIC directly: #GP");
	tap_ok(msr_rd_safe(c, 0x80e, NULL) == 13, "x2APIC: RDMSR DFR 0x80e: #GP (no DFR)");
	tap_ok(msr_wr_safe(c, 0x80d, 1) == 13 && msr_rd(c, 0x80d) == 2, "x2APIC: WRMSR LDR: #GP (read-only)");
	tap_ok(msr_wr_safe(c, 0x802, 5) == 13 && msr_rd(c, 0x802) == 1, "x2APIC: WRMSR ID: #GP (read-only)");
	tap_ok(msr_rd_safe(c, 0x831, NULL) == 13 && msr_wr_safe(c, 0x831, 0) == 13,
	       "x2APIC: ICR2 0x831 does not exist: #GP");
	tap_ok(msr_rd_safe(c, 0x801, NULL) == 13, "x2APIC: RDMSR of reserved 0x801: #GP");
	tap_ok(msr_rd_safe(c, 0x80b, NULL) == 13 && msr_rd_safe(c, 0x83f, NULL) == 13,
	       "x2APIC: EOI and SELF IPI are write-only: RDMSR #GP");
	tap_ok(msr_wr_safe(c, 0x828, 1) == 13 && msr_wr_safe(c, 0x828, 0) == 0,
	       "x2APIC: ESR written nonzero: #GP; zero: accepted");
	tap_ok(msr_wr_safe(c, 0x83f, 0x153) == 13, "x2APIC: SELF IPI with reserved bits: #GP");
	tap_ok(msr_wr_safe(c, 0x808, 1ULL << 32) == 13, "x2APIC: TPR with bits 63:32: #GP");
	/* Real x2APICs #GP on a nonzero EOI; stock KVM 6.1 takes it as an EOI. */
	tap_ok(msr_wr_safe(c, 0x80b, 1) == 0, "x2APIC: EOI written nonzero: accepted (stock KVM)");
	msr_wr(c, 0x83f, 0x53);
	window(c);
	tap_ok(irqs(c, 0x53) == 1, "x2APIC self-IPI MSR 0x83f: vector 0x53 delivered, EOI by MSR 0x80b");
	msr_wr(c, 0x830, (1ULL << 32) | 0x54);
	window(c);
	tap_ok(irqs(c, 0x54) == 1, "x2APIC ICR MSR 0x830 to physical ID 1: delivered");
	r = msr_rd(c, 0x830);
	tap_ok(r == ((1ULL << 32) | 0x54), "x2APIC ICR reads back 64 bits (%#llx)", (unsigned long long)r);
	s = lapic_get(c, &rr);
	/* Without KVM_CAP_X2APIC_API the state keeps the xAPIC ID format. */
	tap_ok(rr == 0 && lreg(&s, A_ID) == 1u << 24, "KVM_GET_LAPIC in x2APIC mode: ID %#x", lreg(&s, A_ID));
	/* x2APIC -> disabled -> xAPIC; the MMIO page is back, disabled it reads all ones. */
	msr_wr(c, 0x1b, 0xfee00000);
	r = apic_rd(c, A_ID);
	tap_ok(msr_wr_safe(c, 0x1b, 0xfee00c00) == 13 && msr_rd(c, 0x1b) == 0xfee00000,
	       "disabled to x2APIC directly: #GP");
	msr_wr(c, 0x1b, 0xfee00800);
	tap_ok(!c->broken && r == 0xffffffff && apic_rd(c, A_ID) == 1u << 24 && msr_rd(c, 0x1b) == 0xfee00800,
	       "x2APIC, then disabled (MMIO reads all ones: %#llx), then xAPIC again: ID 1 at 0xfee00020",
	       (unsigned long long)r);
	ivm_destroy(&v);
}

int main(void)
{
	struct ivm v;
	int kvm = open_kvm();
	int tscdl = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) == 1;
	int x2apic = !!(supported_cpuid1_ecx(kvm) & CPUID_X2APIC);

	tap_plan(102);
	/*
	 * KVM emulates the TSC-deadline timer whatever the host has; its bit in
	 * KVM_GET_SUPPORTED_CPUID follows the host CPU (TCG has none), so a VMM
	 * sets the bit when the capability says so (as QEMU does).
	 */
	tap_ok(tscdl, "KVM_CAP_TSC_DEADLINE_TIMER is 1");
	tap_diag("KVM_GET_SUPPORTED_CPUID leaf 1 ECX %#x", supported_cpuid1_ecx(kvm));
	close(kvm);
	ivm_create(&v, 1, 1, CPUID_TSCDL);
	test_reset_values(&v);
	test_registers(&v);
	test_ipis(&v);
	test_timer(&v);
	test_get_set_lapic(&v);
	test_errnos(&v);
	tap_ok(v.cpu[0].mmio_exits == 0, "no MMIO exit reached userspace: the APIC page is the kernel's (%d)",
	       v.cpu[0].mmio_exits);
	ivm_destroy(&v);
	test_x2apic(x2apic);
	return tap_done();
}
