/* tests/driver/t_pv.c: PV EOI and the PV TLB flush: the CPUID bits, MSR_KVM_PV_EOI_EN, EOIs made by clearing the guest's bit, steal time's preempted byte and the flush it asks for. */
#include <asm/kvm_para.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include "kvmtest.h"

extern const uint8_t pv_guest[], pv_guest_end[];
extern const uint8_t g_eoi[], g_steal[], h_gp[];
extern const uint8_t h40[], h48[], h50[], h58[], h60[], h70[];

#define CODE		0x10000
#define GA(sym)		(CODE + (uint64_t)((sym) - pv_guest))
#define MEM_SIZE	(4 << 20)

/* As t_pv.S. */
#define DATA		0x5000
#define GP_AFTER	(DATA + 0x04)
#define MSR_READ	(DATA + 0x14)
#define COUNT		(DATA + 0x20)
#define SEEN		(DATA + 0x40)
#define PVEOI		0x6000
#define RO_GPA		0x400000
#define ST		0x6100
#define ST_SEEN		(DATA + 0x80)
#define ST_LOOPS	(DATA + 0x88)
#define ST_STOP		(DATA + 0x90)
enum { I40, I48, I50, I58, I60, I70 };

static uint64_t get_msr(int vcpu, uint32_t index, int *n)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} m = { .m.nmsrs = 1, .e.index = index };

	*n = ioctl(vcpu, KVM_GET_MSRS, &m);
	return m.e.data;
}

static bool in_msr_list(int kvm, uint32_t index)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *l;
	bool found = false;
	uint32_t i;

	ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &probe);
	l = calloc(1, sizeof(*l) + probe.nmsrs * sizeof(uint32_t));
	l->nmsrs = probe.nmsrs;
	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, l) == 0)
		for (i = 0; i < l->nmsrs; i++)
			found |= l->indices[i] == index;
	free(l);
	return found;
}

static uint32_t pv_features(int kvm)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} c = { .c.nent = 256 };
	int i;

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return 0;
	for (i = 0; i < (int)c.c.nent; i++)
		if (c.e[i].function == KVM_CPUID_FEATURES)
			return c.e[i].eax;
	return 0;
}

/* The host's side of MSR_KVM_PV_EOI_EN: KVM's checks apply to KVM_SET_MSRS too. */
static void test_msr_host(struct tvm *t)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[2];
	} c = { .c.nent = 2 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args[0] = 1 };
	uint64_t v;
	int n, n2, n3, s;

	v = get_msr(t->vcpu, MSR_KVM_PV_EOI_EN, &n);
	tap_ok(n == 1 && v == 0, "MSR_KVM_PV_EOI_EN starts 0 (%d, %#llx)", n, (unsigned long long)v);
	s = tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, (PVEOI + 4) | 1);
	v = get_msr(t->vcpu, MSR_KVM_PV_EOI_EN, &n);
	tap_ok(s == 1 && n == 1 && v == ((PVEOI + 4) | 1),
	       "host: enabled at a 4-byte aligned address, read back (%#llx)", (unsigned long long)v);
	tap_ok(tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, (PVEOI + 2) | 1) == 0 &&
	       tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, PVEOI + 2) == 0 &&
	       get_msr(t->vcpu, MSR_KVM_PV_EOI_EN, &n) == ((PVEOI + 4) | 1),
	       "host: an address not 4-byte aligned is refused, enabled or not");
	tap_ok(tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, 0x40000000 | 1) == 0 &&
	       tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, RO_GPA | 1) == 0,
	       "host: enabling at an address outside memory, or in read-only memory, is refused");
	tap_ok(tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, 0x40000000) == 1 &&
	       get_msr(t->vcpu, MSR_KVM_PV_EOI_EN, &n) == 0x40000000 &&
	       tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, 0) == 1,
	       "host: disabled, any aligned address is kept");

	/* With KVM_CAP_ENFORCE_PV_FEATURE_CPUID and no PV EOI bit: the MSR is withheld. */
	c.e[0].function = KVM_CPUID_SIGNATURE;
	c.e[0].eax = KVM_CPUID_FEATURES;
	c.e[0].ebx = 0x4b4d564b;
	c.e[0].ecx = 0x564b4d56;
	c.e[0].edx = 0x4d;
	c.e[1].function = KVM_CPUID_FEATURES;
	c.e[1].eax = 1u << KVM_FEATURE_STEAL_TIME;
	if (ioctl(t->vcpu, KVM_ENABLE_CAP, &cap) == 0 && ioctl(t->vcpu, KVM_SET_CPUID2, &c) == 0) {
		s = tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, PVEOI | 1);
		get_msr(t->vcpu, MSR_KVM_PV_EOI_EN, &n);
		tap_ok(s == 0 && n == 0, "enforced PV CPUID without PV EOI: KVM_SET/GET_MSRS refuse it (%d, %d)", s, n);
		c.e[1].eax |= 1u << KVM_FEATURE_PV_EOI;
		ioctl(t->vcpu, KVM_SET_CPUID2, &c);
		tap_ok(tvm_set_msr(t->vcpu, MSR_KVM_PV_EOI_EN, 0) == 1,
		       "enforced PV CPUID with PV EOI: the MSR is back");
		/* As KVM 6.1: a withheld steal time or kvmclock fails for the VMM too. */
		c.e[1].eax = (1u << KVM_FEATURE_PV_EOI) | (1u << KVM_FEATURE_CLOCKSOURCE);
		ioctl(t->vcpu, KVM_SET_CPUID2, &c);
		s = tvm_set_msr(t->vcpu, MSR_KVM_STEAL_TIME, 0) + tvm_set_msr(t->vcpu, MSR_KVM_SYSTEM_TIME_NEW, 0);
		get_msr(t->vcpu, MSR_KVM_STEAL_TIME, &n);
		get_msr(t->vcpu, MSR_KVM_SYSTEM_TIME_NEW, &n2);
		n3 = tvm_set_msr(t->vcpu, MSR_KVM_SYSTEM_TIME, 0);
		tap_ok(s == 0 && n == 0 && n2 == 0 && n3 == 1,
		       "enforced PV CPUID without STEAL_TIME, CLOCKSOURCE2: KVM_SET/GET_MSRS refuse their MSRs (%d, %d, %d; CLOCKSOURCE's %d)",
		       s, n, n2, n3);
		c.e[1].eax = (1u << KVM_FEATURE_STEAL_TIME) | (1u << KVM_FEATURE_PV_EOI);
		ioctl(t->vcpu, KVM_SET_CPUID2, &c);
	} else {
		tap_ok(0, "KVM_CAP_ENFORCE_PV_FEATURE_CPUID, KVM_SET_CPUID2: %s", strerror(errno));
		tap_skip("no enforced CPUID", "enforced PV CPUID with PV EOI");
		tap_skip("no enforced CPUID", "enforced PV CPUID without STEAL_TIME");
	}
	cap.args[0] = 0;
	ioctl(t->vcpu, KVM_ENABLE_CAP, &cap);
}

static bool irq_line(struct tvm *t, uint32_t irq, uint32_t level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return ioctl(t->vm, KVM_IRQ_LINE, &l) == 0;
}

/* Run until OUT to @port; the guest's IRQ line requests on the way. */
static int run_to(struct tvm *t, uint16_t port)
{
	int r;

	for (;;) {
		r = tvm_run(t);
		if (r != KVM_EXIT_IO || t->run->io.direction != KVM_EXIT_IO_OUT)
			return r;
		switch (t->run->io.port) {
		case 0x99:
			irq_line(t, 9, 1);
			break;
		case 0x9a:
			irq_line(t, 9, 0);
			break;
		case 0x9b:
			irq_line(t, 10, 1);
			irq_line(t, 10, 0);
			break;
		default:
			if (t->run->io.port == port)
				return 0;
			return -1000 - t->run->io.port;
		}
	}
}

static uint8_t seen(struct tvm *t, int idx, int nth)
{
	return t->mem[SEEN + 8 * idx + nth];
}

/* 4 MiB of RAM, a read-only page at RO_GPA, KVM_CREATE_IRQCHIP, then vCPU 0. */
static void irqchip_vm(struct tvm *t)
{
	void *ro = guest_alloc(4096);

	memset(t, 0, sizeof(*t));
	t->kvm = open_kvm();
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	t->mem_size = MEM_SIZE;
	t->mem = guest_alloc(MEM_SIZE);
	if (t->vm < 0 || set_slot(t->vm, 0, 0, t->mem, MEM_SIZE, 0) ||
	    set_slot(t->vm, 1, RO_GPA, ro, 4096, KVM_MEM_READONLY) ||
	    ioctl(t->vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! VM, slots, KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		exit(1);
	}
	tvm_add_vcpu(t);
}

/* The PV EOI guest, from its start, in a VM from irqchip_vm(). */
static void pv_eoi_guest(struct tvm *t)
{
	tvm_cpuid(t);
	tvm_long_mode(t, GA(g_eoi));
	tvm_load(t, CODE, pv_guest, pv_guest_end - pv_guest);
	tvm_idt_set(t, 13, GA(h_gp));
	tvm_idt_set(t, 0x40, GA(h40));
	tvm_idt_set(t, 0x48, GA(h48));
	tvm_idt_set(t, 0x50, GA(h50));
	tvm_idt_set(t, 0x58, GA(h58));
	tvm_idt_set(t, 0x60, GA(h60));
	tvm_idt_set(t, 0x70, GA(h70));
}

/* Every delivery that should find the bit found it. */
static bool pv_eoi_all_offered(struct tvm *t)
{
	return seen(t, I50, 0) == KVM_PV_EOI_ENABLED && seen(t, I40, 0) == KVM_PV_EOI_ENABLED &&
	       seen(t, I40, 1) == KVM_PV_EOI_ENABLED && seen(t, I60, 0) == KVM_PV_EOI_ENABLED &&
	       seen(t, I58, 0) == KVM_PV_EOI_ENABLED;
}

static void test_pv_eoi(void)
{
	struct kvm_lapic_state ls;
	struct tvm t, t2;
	bool isr_clear = true;
	uint64_t v;
	int i, n, r, r2, attempt;

	irqchip_vm(&t);
	test_msr_host(&t);

	/*
	 * KVM takes the bit back at every exit until it next processes
	 * events (pv_eoi_test_and_clr_pending), so an exit between a
	 * delivery and its handler's read (the test host's timer, under
	 * load) leaves it clear, and the handler writes the EOI register as
	 * Linux does. Such a run is run again, up to three times; a VMM that
	 * never offers the bit fails every time.
	 */
	for (attempt = 1;; attempt++) {
		pv_eoi_guest(&t);
		r = run_to(&t, 0x10);
		r2 = r ? r : run_to(&t, 0x11);
		if (r || r2 || pv_eoi_all_offered(&t) || attempt == 3)
			break;
		tap_diag("run %d: a PV EOI bit was taken back before its handler read it; again",
			 attempt);
		tvm_destroy(&t);
		irqchip_vm(&t);
	}
	tap_ok(r == 0, "guest: the MSR steps ran (%d)", r);
	tap_ok(tvm_get32(&t, GP_AFTER) == 1 && tvm_get32(&t, GP_AFTER + 4) == 2 &&
	       tvm_get32(&t, GP_AFTER + 8) == 3 && tvm_get32(&t, GP_AFTER + 12) == 3,
	       "guest WRMSR: #GP for an unaligned address, one outside memory, one read-only; none for a good one (%u %u %u %u)",
	       tvm_get32(&t, GP_AFTER), tvm_get32(&t, GP_AFTER + 4), tvm_get32(&t, GP_AFTER + 8),
	       tvm_get32(&t, GP_AFTER + 12));
	tap_ok(tvm_get64(&t, MSR_READ) == (PVEOI | 1), "guest RDMSR reads %#llx back",
	       (unsigned long long)tvm_get64(&t, MSR_READ));

	tap_ok(r2 == 0, "guest: the interrupt steps ran (%d)", r2);
	tap_ok(tvm_get32(&t, COUNT + 4 * I50) == 1 && seen(&t, I50, 0) == KVM_PV_EOI_ENABLED,
	       "0x50, alone in service: the handler finds the PV EOI bit set (%u taken, byte %u)",
	       tvm_get32(&t, COUNT + 4 * I50), seen(&t, I50, 0));
	tap_ok(tvm_get32(&t, COUNT + 4 * I40) == 2,
	       "clearing the bit was 0x50's EOI: lower 0x40 taken after, then 0x40 again (%u)",
	       tvm_get32(&t, COUNT + 4 * I40));
	tap_ok(seen(&t, I40, 0) == KVM_PV_EOI_ENABLED && seen(&t, I40, 1) == KVM_PV_EOI_ENABLED,
	       "both 0x40s had the bit set too (%u %u)", seen(&t, I40, 0), seen(&t, I40, 1));
	tap_ok(tvm_get32(&t, COUNT + 4 * I70) == 1 && seen(&t, I70, 0) == 0 &&
	       tvm_get32(&t, COUNT + 4 * I60) == 1 && seen(&t, I60, 0) == KVM_PV_EOI_ENABLED,
	       "0x70 while 0x60 waited in IRR: no bit (%u), EOI written; then 0x60: bit set (%u)",
	       seen(&t, I70, 0), seen(&t, I60, 0));
	tap_ok(tvm_get32(&t, COUNT + 4 * I48) == 1 && seen(&t, I48, 0) == 0,
	       "a level-triggered IOAPIC pin's vector: no bit, its EOI reaches the IOAPIC (%u taken, byte %u)",
	       tvm_get32(&t, COUNT + 4 * I48), seen(&t, I48, 0));
	tap_ok(tvm_get32(&t, COUNT + 4 * I58) == 1 && seen(&t, I58, 0) == KVM_PV_EOI_ENABLED,
	       "an edge-triggered IOAPIC pin's vector: bit set (%u taken, byte %u)",
	       tvm_get32(&t, COUNT + 4 * I58), seen(&t, I58, 0));
	r = ioctl(t.vcpu, KVM_GET_LAPIC, &ls);
	for (i = 0; i < 8; i++)
		isr_clear &= *(uint32_t *)(ls.regs + 0x100 + 0x10 * i) == 0;
	tap_ok(r == 0 && isr_clear && t.mem[PVEOI] == 0,
	       "after the exit: ISR empty, the guest's byte clear (%u)", t.mem[PVEOI]);

	/* Migration: the MSR is all of PV EOI's state; it moves with the memory. */
	v = get_msr(t.vcpu, MSR_KVM_PV_EOI_EN, &n);
	tvm_create(&t2, MEM_SIZE);
	memcpy(t2.mem, t.mem, MEM_SIZE);
	r = tvm_set_msr(t2.vcpu, MSR_KVM_PV_EOI_EN, v);
	tap_ok(n == 1 && v == (PVEOI | 1) && r == 1 &&
	       get_msr(t2.vcpu, MSR_KVM_PV_EOI_EN, &n) == v,
	       "KVM_GET_MSRS, KVM_SET_MSRS on another VM, read back (%#llx)", (unsigned long long)v);
	tvm_destroy(&t2);
	tvm_destroy(&t);
}

/* ---- steal time's preempted byte and the PV TLB flush ---- */

struct steal_run {
	struct tvm *t;
	int exit;
};

static void *steal_vcpu(void *arg)
{
	struct steal_run *s = arg;

	s->exit = tvm_run(s->t);
	if (s->exit == KVM_EXIT_IO && s->t->run->io.port == 0x31)
		s->exit = 0;
	return NULL;
}

/* A vCPU statistic by name (KVM's binary stats), or -1. */
static int64_t vcpu_stat(int fd, const char *name)
{
	struct kvm_stats_header h;
	size_t dsz;
	char *d;
	uint32_t i;
	int64_t v = -1;

	if (pread(fd, &h, sizeof(h), 0) != sizeof(h))
		return -1;
	dsz = sizeof(struct kvm_stats_desc) + h.name_size;
	d = malloc(dsz * h.num_desc);
	if (pread(fd, d, dsz * h.num_desc, h.desc_offset) == (ssize_t)(dsz * h.num_desc))
		for (i = 0; i < h.num_desc; i++) {
			struct kvm_stats_desc *e = (void *)(d + i * dsz);
			uint64_t x;

			if (!strcmp(e->name, name) &&
			    pread(fd, &x, 8, h.data_offset + e->offset) == 8)
				v = x;
		}
	free(d);
	return v;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The vCPU's thread and this one share one host CPU: while this one runs,
 * the vCPU is preempted. Phase 0 only watches the preempted byte; phase 1
 * also sets KVM_VCPU_FLUSH_TLB in it each time it finds it preempted (as
 * another vCPU of a Linux guest would, instead of an IPI) and waits for the
 * vCPU to run again. The flush itself: under TCG, QEMU drops its whole
 * software TLB at each VMRUN and #VMEXIT (both load CR3), so a guest
 * cannot see a stale translation survive an exit; what the test sees is
 * the vCPU's tlb_flush statistic, one flush per flag taken.
 */
static void test_steal_preempted(void)
{
	volatile uint8_t *pre;
	struct steal_run s;
	struct tvm t;
	pthread_t th;
	cpu_set_t cpus;
	int64_t f0 = -1, f1 = -1, f2;
	uint64_t loops, mark = 0, pend_mark = 0;
	int episodes[2] = { 0, 0 }, flags = 0, taken = 0, stale = 0, phase = 0, fd;
	int r;
	bool pending = false;
	double t0;

	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	tvm_create(&t, MEM_SIZE);
	madvise(t.mem, MEM_SIZE, MADV_NOHUGEPAGE);
	tvm_long_mode(&t, GA(g_steal));
	tvm_load(&t, CODE, pv_guest, pv_guest_end - pv_guest);
	pre = t.mem + ST + 16;
	/*
	 * Under Bochs 2.7 (the vmx lanes) a guest looping with IF=0 never
	 * exits on a host interrupt (see t_lifetime.c): IF=1 lets the host's
	 * timer preempt it; nothing is ever injected here.
	 */
	if (getenv("VMXHOST")) {
		struct kvm_regs regs;

		ioctl(t.vcpu, KVM_GET_REGS, &regs);
		regs.rflags |= 0x200;
		ioctl(t.vcpu, KVM_SET_REGS, &regs);
	}
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_STEAL_TIME, ST | KVM_MSR_ENABLED) == 1,
	       "steal time enabled at %#x", ST);
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x30, "the guest entered (%s)", exit_name(r));
	fd = ioctl(t.vcpu, KVM_GET_STATS_FD, 0);

	s.t = &t;
	s.exit = -1;
	pthread_create(&th, NULL, steal_vcpu, &s);
	t0 = now();
	for (;;) {
		uint8_t b = *pre;

		loops = *(volatile uint64_t *)(t.mem + ST_LOOPS);
		if (pending && loops != pend_mark) {
			/* The vCPU ran since the flag was set: it took the byte back. */
			b = *pre;
			if (b & KVM_VCPU_FLUSH_TLB)
				stale++;
			else
				taken++;
			pending = false;
		}
		if ((b & KVM_VCPU_PREEMPTED) && loops != mark) {
			mark = loops;
			episodes[phase]++;
			/* Stock flushes once as the new thread first runs the vCPU: count from here. */
			if (phase == 0 && episodes[0] == 1)
				f0 = vcpu_stat(fd, "tlb_flush");
			if (phase == 1 && !pending && !stale && flags < 10) {
				uint8_t expect = KVM_VCPU_PREEMPTED;

				if (__atomic_compare_exchange_n(pre, &expect,
								KVM_VCPU_PREEMPTED | KVM_VCPU_FLUSH_TLB,
								false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
					/*
					 * Loops counted from after the flag: the
					 * vCPU may have run (and lost the CPU
					 * again) since loops was read above.
					 */
					flags++;
					pending = true;
					pend_mark = *(volatile uint64_t *)(t.mem + ST_LOOPS);
				}
			}
		}
		if (phase == 0 && (episodes[0] >= 11 || now() - t0 > 5)) {
			f1 = vcpu_stat(fd, "tlb_flush");
			phase = 1;
			t0 = now();
		} else if (phase == 1 && !pending && (taken >= 10 || stale || now() - t0 > 5)) {
			break;
		}
		sched_yield();
	}
	f2 = vcpu_stat(fd, "tlb_flush");
	*(volatile uint32_t *)(t.mem + ST_STOP) = 1;
	pthread_join(th, NULL);
	loops = tvm_get64(&t, ST_LOOPS);

	tap_ok(s.exit == 0, "the spinning guest ran to its end (%d, %llu loops)", s.exit,
	       (unsigned long long)loops);
	tap_ok(episodes[0] > 0 && episodes[1] > 0,
	       "preempted byte set each time the vCPU lost the CPU: seen %d + %d times",
	       episodes[0], episodes[1]);
	tap_ok(tvm_get64(&t, ST_SEEN) == 0,
	       "and clear whenever the guest ran: it never read it set (%#llx)",
	       (unsigned long long)tvm_get64(&t, ST_SEEN));
	tap_ok(f0 >= 0 && f1 - f0 == 0,
	       "no guest TLB flush while only preempted (tlb_flush %lld -> %lld)",
	       (long long)f0, (long long)f1);
	tap_ok(flags > 0 && taken == flags && !stale && f2 - f1 == taken,
	       "KVM_VCPU_FLUSH_TLB set %d times, taken back %d times, %lld guest TLB flushes",
	       flags, taken, (long long)(f2 - f1));
	close(fd);
	tvm_destroy(&t);
}

int main(void)
{
	int kvm = open_kvm();
	uint32_t f = pv_features(kvm);

	tap_plan(29);
	tap_ok((f & (1u << KVM_FEATURE_PV_EOI)) && (f & (1u << KVM_FEATURE_PV_TLB_FLUSH)),
	       "KVM_GET_SUPPORTED_CPUID 0x40000001 EAX: PV_EOI (6) and PV_TLB_FLUSH (9) (%#x)", f);
	tap_ok(in_msr_list(kvm, MSR_KVM_PV_EOI_EN), "KVM_GET_MSR_INDEX_LIST has MSR_KVM_PV_EOI_EN");
	close(kvm);
	test_pv_eoi();
	test_steal_preempted();
	return tap_done();
}
