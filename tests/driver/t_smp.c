/*
 * tests/driver/t_smp.c: an SMP guest on the in-kernel irqchip, each vCPU a
 * thread: the BSP wakes 3 APs with INIT-SIPI-SIPI through its ICR
 * (KVM_GET_MP_STATE along the way), the APs run trampoline code into long
 * mode and count themselves in; fixed IPIs (physical, logical, shorthands),
 * lowest priority, NMI IPIs, IPIs that wake a halted vCPU;
 * KVM_SET_MP_STATE with every state; 4 vCPUs in busy loops while the main
 * thread moves, removes and re-adds a memory slot. The values asserted are
 * stock KVM's (the oracle). Small on purpose: the test host runs nested
 * under TCG, and with one CPU the vCPU threads take turns.
 */
#include <asm/kvm_para.h>

#include "apictest.h"

#define NCPU	4
#define ICR_INIT	0x4500
#define ICR_SIPI	(0x4600 | G_SIPI_VEC)

static int mp_state(struct icpu *c)
{
	struct kvm_mp_state mp;

	if (ioctl(c->fd, KVM_GET_MP_STATE, &mp) < 0)
		return -errno;
	return mp.mp_state;
}

/* The VMM's KVM_GET_MSRS of one MSR, or ~0. */
static uint64_t host_msr(struct icpu *c, uint32_t index)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} m = { .m.nmsrs = 1, .e.index = index };

	return ioctl(c->fd, KVM_GET_MSRS, &m) == 1 ? m.e.data : ~0ULL;
}

static int set_mp(struct icpu *c, uint32_t state)
{
	struct kvm_mp_state mp = { state };

	return xioctl(c->fd, KVM_SET_MP_STATE, &mp);
}

/* Every AP (1..NCPU-1) opens an interrupt window, in parallel. */
static void aps_window(struct ivm *v)
{
	int i;

	for (i = 1; i < NCPU; i++)
		th_post(&v->cpu[i], cmd_timeout_ms, OP_WINDOW, 0, 0, 2000);
	for (i = 1; i < NCPU; i++)
		th_wait(&v->cpu[i]);
}

static void test_wakeup(struct ivm *v)
{
	struct icpu *bsp = &v->cpu[0];
	struct kvm_sregs s;
	struct kvm_regs r;
	int i, st[3], ok;

	tap_ok(mp_state(bsp) == KVM_MP_STATE_RUNNABLE && mp_state(&v->cpu[1]) == KVM_MP_STATE_UNINITIALIZED &&
	       mp_state(&v->cpu[3]) == KVM_MP_STATE_UNINITIALIZED,
	       "before the wakeup: BSP RUNNABLE, APs UNINITIALIZED");
	apic_wr(bsp, A_SVR, 0x1ff);
	/* AP 1: step by step, its thread not running yet. */
	apic_icr(bsp, 1u << 24, ICR_INIT);
	st[0] = mp_state(&v->cpu[1]);
	apic_icr(bsp, 1u << 24, ICR_SIPI);
	st[1] = mp_state(&v->cpu[1]);
	apic_icr(bsp, 1u << 24, ICR_SIPI);	/* the second SIPI finds it running: ignored */
	st[2] = mp_state(&v->cpu[1]);
	tap_ok(st[0] == KVM_MP_STATE_INIT_RECEIVED, "AP 1 after INIT: INIT_RECEIVED (%d)", st[0]);
	tap_ok(st[1] == KVM_MP_STATE_RUNNABLE && st[2] == KVM_MP_STATE_RUNNABLE,
	       "AP 1 after SIPI, SIPI: RUNNABLE (%d, %d)", st[1], st[2]);
	ioctl(v->cpu[1].fd, KVM_GET_SREGS, &s);
	ioctl(v->cpu[1].fd, KVM_GET_REGS, &r);
	tap_ok(s.cs.selector == G_SIPI_VEC << 8 && s.cs.base == G_BASE && r.rip == 0 && !(s.cr0 & 1),
	       "AP 1 after SIPI 0x40: real mode at 4000:0000 (cs %#x base %#llx rip %#llx)",
	       s.cs.selector, (unsigned long long)s.cs.base, (unsigned long long)r.rip);
	th_post(&v->cpu[1], cmd_timeout_ms, ~0ULL, 0, 0, 0);
	ok = th_wait(&v->cpu[1]) == 0;
	tap_ok(ok && SH32(v, 0) == 1 && SH32(v, 0x14) == 0x101,
	       "AP 1 ran the trampoline into long mode and counted itself in (APs %u, slot %#x)",
	       SH32(v, 0), SH32(v, 0x14));
	/* APs 2 and 3: their threads already blocked in KVM_RUN. */
	for (i = 2; i < NCPU; i++)
		th_post(&v->cpu[i], cmd_timeout_ms, ~0ULL, 0, 0, 0);
	usleep(50000);
	for (i = 2; i < NCPU; i++)
		apic_icr(bsp, (uint32_t)i << 24, ICR_INIT);
	for (i = 2; i < NCPU; i++)
		apic_icr(bsp, (uint32_t)i << 24, ICR_SIPI);
	for (i = 2; i < NCPU; i++)
		apic_icr(bsp, (uint32_t)i << 24, ICR_SIPI);
	ok = 1;
	for (i = 2; i < NCPU; i++)
		ok &= th_wait(&v->cpu[i]) == 0;
	tap_ok(ok && SH32(v, 0) == 3 && SH32(v, 0x18) == 0x102 && SH32(v, 0x1c) == 0x103,
	       "APs 2 and 3, waiting in KVM_RUN, woken by INIT-SIPI-SIPI (APs %u)", SH32(v, 0));
	tap_diag("KVM_RUN returned EAGAIN %d and %d times for APs 2 and 3", v->cpu[2].eagain, v->cpu[3].eagain);
	ok = 1;
	for (i = 0; i < NCPU; i++)
		ok &= mp_state(&v->cpu[i]) == KVM_MP_STATE_RUNNABLE;
	tap_ok(ok, "all vCPUs RUNNABLE");
	ok = 1;
	for (i = 1; i < NCPU; i++) {
		struct icpu *c = &v->cpu[i];

		ok &= th_cmd(c, OP_RD32, APIC + A_ID, 0, 0) == (uint64_t)i << 24;
		ok &= th_cmd(c, OP_RDMSR, 0x1b, 0, 0) == 0xfee00800;
		th_cmd(c, OP_WR32, APIC + A_SVR, 0x1ff, 0);
		th_cmd(c, OP_WR32, APIC + A_LDR, 1u << (24 + i), 0);
		eoi_mode_all(c, 1);
		irq_reset(c);
	}
	tap_ok(ok, "each AP reads its own APIC ID; APIC base enabled, not BSP");
	apic_wr(bsp, A_LDR, 1u << 24);
	eoi_mode_all(bsp, 1);
	irq_reset(bsp);
}

static void test_ipis(struct ivm *v)
{
	struct icpu *bsp = &v->cpu[0], *ap1 = &v->cpu[1], *ap2 = &v->cpu[2], *ap3 = &v->cpu[3];
	int got, who, i;
	bool ok;

	/* Fixed, physical, to an AP that is not running: taken at its next window. */
	apic_icr(bsp, 2u << 24, 0x41);
	th_cmd(ap2, OP_WINDOW, 0, 0, 2000);
	tap_ok(irqs(ap2, 0x41) == 1 && irqs(ap1, 0x41) == 0 && irqs(ap3, 0x41) == 0,
	       "fixed IPI to physical ID 2: only AP 2 takes it");
	/* To an AP halted in the kernel: the IPI wakes it. */
	th_post(ap3, cmd_timeout_ms, OP_WAIT, 0, nirq(ap3) + 1, 0);
	usleep(30000);
	apic_icr(bsp, 3u << 24, 0x42);
	tap_ok(th_wait(ap3) != ~0ULL && irqs(ap3, 0x42) == 1, "fixed IPI wakes AP 3 halted in KVM_RUN");
	/* Logical, flat: LDR bit i on CPU i. */
	apic_icr(bsp, 0x06u << 24, 0x843);
	aps_window(v);
	tap_ok(irqs(ap1, 0x43) == 1 && irqs(ap2, 0x43) == 1 && irqs(ap3, 0x43) == 0,
	       "logical destination 0x06 reaches APs 1 and 2, not 3");
	/* Shorthands. */
	apic_wr(bsp, A_ICR, 0xc0044);
	aps_window(v);
	window(bsp);
	tap_ok(irqs(ap1, 0x44) == 1 && irqs(ap2, 0x44) == 1 && irqs(ap3, 0x44) == 1 && irqs(bsp, 0x44) == 0,
	       "all-but-self: the three APs, not the BSP");
	apic_wr(bsp, A_ICR, 0x80045);
	aps_window(v);
	window(bsp);
	tap_ok(irqs(ap1, 0x45) == 1 && irqs(ap2, 0x45) == 1 && irqs(ap3, 0x45) == 1 && irqs(bsp, 0x45) == 1,
	       "all-including-self: all four");
	apic_icr(bsp, 0xffu << 24, 0x49);
	aps_window(v);
	window(bsp);
	tap_ok(irqs(ap1, 0x49) == 1 && irqs(ap2, 0x49) == 1 && irqs(ap3, 0x49) == 1 && irqs(bsp, 0x49) == 1,
	       "physical broadcast 0xff: all four");
	/* Lowest priority to logical 0x0e. */
	apic_icr(bsp, 0x0eu << 24, 0x946);
	aps_window(v);
	got = 0;
	who = -1;
	for (i = 1; i < NCPU; i++)
		if (irqs(&v->cpu[i], 0x46)) {
			got += irqs(&v->cpu[i], 0x46);
			who = i;
		}
	tap_ok(got == 1, "lowest priority to APs 1-3: exactly one takes it (AP %d)", who);
	/*
	 * Stock picks by vector hashing (kvm.vector_hashing, on by default):
	 * the (vector mod n)th of the n destinations, here 70 mod 3 = 1: AP 2.
	 */
	tap_ok(who == 2, "lowest priority: stock's vector hashing picks AP 2 for vector 0x46");
	/* NMI IPI wakes a halted AP. */
	th_post(ap1, cmd_timeout_ms, OP_WAIT, 0, nirq(ap1) + 1, 0);
	usleep(30000);
	apic_icr(bsp, 1u << 24, 0x400);
	tap_ok(th_wait(ap1) != ~0ULL && irqs(ap1, 2) == 1 && irqs(ap2, 2) == 0, "NMI IPI wakes AP 1, its NMI handler runs");
	/* AP to AP, both running: AP 1 halts, AP 3 sends. */
	th_post(ap1, cmd_timeout_ms, OP_WAIT, 0, nirq(ap1) + 1, 0);
	usleep(30000);
	th_cmd(ap3, OP_WR32X2, APIC + A_ICR2, (1ULL << 56) | 0x47, 0);
	tap_ok(th_wait(ap1) != ~0ULL && irqs(ap1, 0x47) == 1, "AP 3 to AP 1 fixed IPI wakes it");
	/* AP to BSP. */
	th_cmd(ap2, OP_WR32X2, APIC + A_ICR2, 0x48, 0);
	window(bsp);
	tap_ok(irqs(bsp, 0x48) == 1, "AP 2 to the BSP fixed IPI");
	/* AP 3 sets steal time and kvmclock (not enabled): INIT clears them, as KVM's kvm_vcpu_reset. */
	th_cmd(ap3, OP_WRMSR, MSR_KVM_STEAL_TIME, 0x7000, 0);
	th_cmd(ap3, OP_WRMSR, MSR_KVM_SYSTEM_TIME_NEW, 0x7100, 0);
	th_cmd(ap3, OP_WRMSR, MSR_KVM_SYSTEM_TIME, 0x7200, 0);
	ok = host_msr(ap3, MSR_KVM_STEAL_TIME) == 0x7000 &&
	     host_msr(ap3, MSR_KVM_SYSTEM_TIME_NEW) == 0x7200;
	/* INIT and SIPI again: AP 3 restarts from the trampoline. */
	apic_icr(bsp, 3u << 24, ICR_INIT);
	tap_ok(mp_state(ap3) == KVM_MP_STATE_INIT_RECEIVED, "INIT to running AP 3: INIT_RECEIVED");
	apic_icr(bsp, 3u << 24, ICR_SIPI);
	th_post(ap3, cmd_timeout_ms, ~0ULL, 0, 0, 0);
	tap_ok(th_wait(ap3) == 0 && SH32(v, 0) == 4 && th_cmd(ap3, OP_RD32, APIC + A_SVR, 0, 0) == 0xff,
	       "AP 3 re-ran the trampoline; INIT reset its SVR to 0xff (APs %u)", SH32(v, 0));
	tap_ok(ok && host_msr(ap3, MSR_KVM_STEAL_TIME) == 0 &&
	       host_msr(ap3, MSR_KVM_SYSTEM_TIME_NEW) == 0 && host_msr(ap3, MSR_KVM_SYSTEM_TIME) == 0,
	       "INIT cleared AP 3's MSR_KVM_STEAL_TIME and MSR_KVM_SYSTEM_TIME(_NEW)");
}

/* KVM_SET_MP_STATE: what stock accepts with and without the irqchip. */
static void test_set_mp_state(void)
{
	static const uint32_t ok_states[] = { KVM_MP_STATE_RUNNABLE, KVM_MP_STATE_UNINITIALIZED,
		KVM_MP_STATE_INIT_RECEIVED, KVM_MP_STATE_HALTED, KVM_MP_STATE_AP_RESET_HOLD };
	static const uint32_t bad_states[] = { KVM_MP_STATE_STOPPED, KVM_MP_STATE_CHECK_STOP,
		KVM_MP_STATE_OPERATING, KVM_MP_STATE_LOAD, KVM_MP_STATE_SUSPENDED, 11, 0xffffffff };
	struct ivm v;
	struct tvm t;
	unsigned i;
	int ok, r;

	ivm_create(&v, 2, 1, 0);
	ok = 1;
	for (i = 0; i < sizeof(ok_states) / sizeof(ok_states[0]); i++) {
		r = set_mp(&v.cpu[1], ok_states[i]);
		if (r || mp_state(&v.cpu[1]) != (int)ok_states[i]) {
			tap_diag("state %u: set %d, get %d", ok_states[i], r, mp_state(&v.cpu[1]));
			ok = 0;
		}
	}
	tap_ok(ok, "irqchip: RUNNABLE, UNINITIALIZED, INIT_RECEIVED, HALTED, AP_RESET_HOLD set and read back");
	/* SIPI_RECEIVED is INIT_RECEIVED with a SIPI pending: reading the state takes the SIPI. */
	r = set_mp(&v.cpu[1], KVM_MP_STATE_SIPI_RECEIVED);
	tap_ok(r == 0 && mp_state(&v.cpu[1]) == KVM_MP_STATE_RUNNABLE,
	       "irqchip: SIPI_RECEIVED accepted, read back as RUNNABLE (%d)", mp_state(&v.cpu[1]));
	ok = 1;
	for (i = 0; i < sizeof(bad_states) / sizeof(bad_states[0]); i++) {
		r = set_mp(&v.cpu[1], bad_states[i]);
		if (r != -EINVAL) {
			tap_diag("KVM_SET_MP_STATE %#x: %d", bad_states[i], r);
			ok = 0;
		}
	}
	tap_ok(ok, "irqchip: STOPPED, CHECK_STOP, OPERATING, LOAD, SUSPENDED, 11, ~0: EINVAL");
	tap_ok(xioctl(v.cpu[1].fd, KVM_SET_MP_STATE, NULL) == -EFAULT &&
	       xioctl(v.cpu[1].fd, KVM_GET_MP_STATE, NULL) == -EFAULT, "SET/GET_MP_STATE NULL: EFAULT");
	/* A vCPU set HALTED wakes for an NMI (KVM_NMI), whatever its IF. */
	{
		struct icpu *c = &v.cpu[0];

		eoi_mode_all(c, 1);
		cmd(c, OP_WR32, APIC + A_SVR, 0x1ff, 0);	/* to its command loop first */
		r = set_mp(c, KVM_MP_STATE_HALTED);
		ok = mp_state(c) == KVM_MP_STATE_HALTED;
		ioctl(c->fd, KVM_NMI);
		tap_ok(r == 0 && ok && window(c) != ~0ULL && irqs(c, 2) == 1 && mp_state(c) == KVM_MP_STATE_RUNNABLE,
		       "vCPU set HALTED, then KVM_NMI: KVM_RUN wakes it, the NMI handler runs");
	}
	ivm_destroy(&v);

	tvm_create(&t, 1 << 20);
	ok = set_mp(&(struct icpu){ .fd = t.vcpu }, KVM_MP_STATE_RUNNABLE) == 0;
	for (i = 1; i < sizeof(ok_states) / sizeof(ok_states[0]); i++)
		ok &= set_mp(&(struct icpu){ .fd = t.vcpu }, ok_states[i]) == -EINVAL;
	ok &= set_mp(&(struct icpu){ .fd = t.vcpu }, KVM_MP_STATE_SIPI_RECEIVED) == -EINVAL;
	tap_ok(ok && mp_state(&(struct icpu){ .fd = t.vcpu }) == KVM_MP_STATE_RUNNABLE,
	       "no irqchip: only RUNNABLE is accepted (EINVAL for the rest)");
	tvm_destroy(&t);
}

static int progressed(struct ivm *v, const uint64_t *p0)
{
	int i;

	for (i = 0; i < NCPU; i++)
		if (PC64(&v->cpu[i], 0x58) <= p0[i])
			return 0;
	return 1;
}

/* 4 vCPUs in busy loops while the main thread moves, removes and re-adds slot 1. */
static void test_memslots(struct ivm *v)
{
	uint8_t *slot = guest_alloc(0x10000);
	uint64_t p0[NCPU], it[NCPU], bad[NCPU];
	int i, k, r, fails = 0, ok, progress;
	double t0;
	long mmio = 0;

	memset(slot, 0xa5, 0x10000);
	tap_ok(set_slot(v->vm, 1, 0x400000, slot, 0x10000, 0) == 0, "slot 1 at 0x400000");
	SH32(v, 0x100) = 0;
	memset(v->mem + 0x100000, 0, NCPU * 0x10000);
	for (i = 0; i < NCPU; i++) {
		v->cpu[i].mmio_exits = 0;
		PC64(&v->cpu[i], 0x58) = 0;
		th_post(&v->cpu[i], 60000, OP_BUSY, 0x100000 + i * 0x10000, 0x400000, 0x10000);
	}
	usleep(50000);
	for (i = 0; i < NCPU; i++)
		p0[i] = PC64(&v->cpu[i], 0x58);
	/*
	 * Rounds of slot changes until every vCPU made progress during them
	 * (at least 8 rounds; more, up to 5 s, when a loaded machine stalls the
	 * test host and the vCPU threads take turns slowly).
	 */
	t0 = now_ms();
	for (k = 0; k < 8 || (!progressed(v, p0) && now_ms() - t0 < 5000); k++) {
		fails += set_slot(v->vm, 1, 0x500000, slot, 0x10000, 0) != 0;	/* move */
		usleep(3000);
		fails += set_slot(v->vm, 1, 0x400000, slot, 0x10000, 0) != 0;	/* move back */
		usleep(3000);
		fails += set_slot(v->vm, 1, 0x400000, slot, 0, 0) != 0;		/* delete */
		usleep(3000);
		fails += set_slot(v->vm, 1, 0x500000, slot, 0x10000, 0) != 0;	/* create elsewhere */
		usleep(3000);
		fails += set_slot(v->vm, 1, 0x500000, slot, 0, 0) != 0;
		fails += set_slot(v->vm, 1, 0x400000, slot, 0x10000, 0) != 0;
		usleep(3000);
	}
	progress = progressed(v, p0);
	tap_ok(fails == 0, "%d slot moves, removals and re-creations while 4 vCPUs run: all succeeded", k * 6);
	SH32(v, 0x100) = 1;
	ok = 1;
	for (i = 0; i < NCPU; i++) {
		it[i] = th_wait(&v->cpu[i]);
		bad[i] = PC64(&v->cpu[i], 0x28);
		mmio += v->cpu[i].mmio_exits;
		if (it[i] == ~0ULL || v->cpu[i].broken)
			ok = 0;
	}
	tap_ok(ok, "all 4 vCPUs kept running and stopped when asked");
	tap_ok(progress, "each vCPU made progress during the slot changes");
	tap_diag("iterations %llu %llu %llu %llu, MMIO exits %ld", (unsigned long long)it[0],
		 (unsigned long long)it[1], (unsigned long long)it[2], (unsigned long long)it[3], mmio);
	ok = 1;
	for (i = 0; i < NCPU; i++) {
		int pg;

		if (bad[i])
			ok = 0;
		for (pg = 0; pg < 16; pg++)
			if (*(uint32_t *)(v->mem + 0x100000 + i * 0x10000 + pg * 0x1000) != (uint32_t)it[i])
				ok = 0;
	}
	tap_ok(ok, "consistent: every RAM increment landed, slot 1 read its pattern or (no slot) 0");
	r = (int)th_cmd(&v->cpu[2], OP_RD32, 0x400000, 0, 0);
	tap_ok(r == (int)0xa5a5a5a5, "slot 1 back at 0x400000 reads its pattern (%#x)", r);
	set_slot(v->vm, 1, 0x400000, slot, 0, 0);
	munmap(slot, 0x10000);
}

/* Firmware's way (SeaBIOS): INIT, SIPI, SIPI broadcast to all but self, APs in KVM_RUN. */
static void test_broadcast_wakeup(void)
{
	struct ivm v;
	int i, ok = 1;

	ivm_create(&v, NCPU, 1, 0);
	apic_wr(&v.cpu[0], A_SVR, 0x1ff);
	for (i = 1; i < NCPU; i++)
		th_post(&v.cpu[i], cmd_timeout_ms, ~0ULL, 0, 0, 0);
	usleep(30000);
	apic_wr(&v.cpu[0], A_ICR, 0xc0000 | ICR_INIT);
	apic_wr(&v.cpu[0], A_ICR, 0xc0000 | ICR_SIPI);
	apic_wr(&v.cpu[0], A_ICR, 0xc0000 | ICR_SIPI);
	for (i = 1; i < NCPU; i++)
		ok &= th_wait(&v.cpu[i]) == 0;
	tap_ok(ok && SH32(&v, 0) == NCPU - 1 && SH32(&v, 0x14) == 0x101 && SH32(&v, 0x18) == 0x102 &&
	       SH32(&v, 0x1c) == 0x103 && mp_state(&v.cpu[0]) == KVM_MP_STATE_RUNNABLE &&
	       cmd(&v.cpu[0], OP_RD32, APIC + A_SVR, 0, 0) == 0x1ff,
	       "INIT-SIPI-SIPI to all but self wakes the 3 APs, the BSP unaffected (APs %u)", SH32(&v, 0));
	ivm_destroy(&v);
}

/* The vCPU count capabilities and vCPU ids, as stock x86 KVM 6.1 reports them. */
static void test_caps(void)
{
	int kvm = open_kvm(), vm = ioctl(kvm, KVM_CREATE_VM, 0), fd;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	int nr = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);

	tap_ok(nr == (online < 1024 ? online : 1024), "KVM_CAP_NR_VCPUS: the online CPUs, %d", nr);
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS) == 1024, "KVM_CAP_MAX_VCPUS: 1024");
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPU_ID) == 4096, "KVM_CAP_MAX_VCPU_ID: 4096");
	tap_ok(xioctl(vm, KVM_CREATE_VCPU, (void *)4096L) == -EINVAL, "KVM_CREATE_VCPU id 4096: EINVAL");
	fd = ioctl(vm, KVM_CREATE_VCPU, 4095);
	tap_ok(fd >= 0 && xioctl(vm, KVM_CREATE_VCPU, (void *)4095L) == -EEXIST,
	       "KVM_CREATE_VCPU id 4095, then again: EEXIST");
	close(fd);
	close(vm);
	close(kvm);
}

int main(void)
{
	struct ivm v;

	tap_plan(40);
	ivm_create(&v, NCPU, 1, 0);
	test_wakeup(&v);
	test_ipis(&v);
	test_memslots(&v);
	ivm_destroy(&v);
	test_set_mp_state();
	test_caps();
	test_broadcast_wakeup();
	return tap_done();
}
