/*
 * tests/driver/bench_irq.c: the in-kernel irqchip's costs (for
 * tests/bench/irqchip.sh), microseconds per iteration: an IPI round trip
 * between two vCPUs, each a thread (vCPU 0 waits for the reply halted or
 * spinning; vCPU 1 always halts), and the LAPIC timer's interrupt reaching
 * the guest's handler out of HLT, one-shot and TSC-deadline. The guest is
 * apicguest.S (page tables, IDT, the counting, EOIing handler) and
 * bench_irq.S's loops. Each figure is timed in BATCHES batches of n /
 * BATCHES iterations after a warm-up; the median batch's average is
 * printed, so a burst of load from elsewhere on the machine moves it less.
 * Prints `name value` lines (-1 when one failed), the batches on stderr.
 */
#include "apictest.h"

extern const uint8_t birq_guest[], birq_guest_end[];
extern const uint8_t b_ipi_ping_hlt[], b_ipi_ping_spin[], b_ipi_pong[];
extern const uint8_t b_timer_oneshot[], b_timer_tscdl[];

#define B_BASE		0x50000
#define BA(sym)		(B_BASE + (uint64_t)((sym) - birq_guest))
#define ICR_INIT	0x4500
#define ICR_SIPI	(0x4600 | G_SIPI_VEC)
#define CPUID_TSCDL	(1u << 24)
#define RUN_MS		60000
#define STALL_MS	5000
#define BATCHES		5

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* On a stall: the vCPU's RIP, RFLAGS, MP state and its APIC's IRR and ISR words with bits set. */
static void stall_diag(struct icpu *c)
{
	struct kvm_lapic_state l;
	struct kvm_regs r;
	struct kvm_mp_state mp = { 0 };
	int w;

	if (ioctl(c->fd, KVM_GET_REGS, &r) < 0 || ioctl(c->fd, KVM_GET_LAPIC, &l) < 0)
		return;
	ioctl(c->fd, KVM_GET_MP_STATE, &mp);
	fprintf(stderr, "bench_irq: cpu %d: rip %#llx rflags %#llx mp_state %u count %llu",
		c->idx, (unsigned long long)r.rip, (unsigned long long)r.rflags, mp.mp_state,
		(unsigned long long)nirq(c));
	for (w = 0; w < 8; w++) {
		uint32_t irr = *(uint32_t *)(l.regs + A_IRR + w * 0x10);
		uint32_t isr = *(uint32_t *)(l.regs + A_ISR + w * 0x10);

		if (irr || isr)
			fprintf(stderr, " [%d] irr %#x isr %#x", w, irr, isr);
	}
	fprintf(stderr, "\n");
}

/*
 * Interrupts lost in the test host: rarely (one in 2000 to 5000 IPI round
 * trips or timer interrupts, on stock kvm_amd as on ours: TCG's nested
 * SVM, it seems) the handler never counts an interrupt, yet it sits in
 * neither IRR nor ISR of its destination, and the vCPUs halt for good.
 * A vCPU 0 whose count has not moved for STALL_MS gets the lost interrupt
 * again as an MSI (KVM_SIGNAL_MSI); the batch counts as rescued and is run
 * again. Once, on a loaded machine, a rescued IPI was only late: the
 * duplicate then fails the batch (and the vCPUs' later figures).
 */
static unsigned rescues;

struct rescue {
	int vm;
	struct icpu *c0, *c1;
	uint64_t base0, base1;
	int vec0, vec1;		/* vCPU 0's and vCPU 1's vectors; vec1 0: no vCPU 1 */
};

static void signal_msi(int vm, uint32_t dest, uint32_t vec)
{
	struct kvm_msi msi = { .address_lo = 0xfee00000 | dest << 12, .data = vec };

	if (ioctl(vm, KVM_SIGNAL_MSI, &msi) < 0)
		fprintf(stderr, "bench_irq: KVM_SIGNAL_MSI: %s\n", strerror(errno));
}

/* vCPU 0 stalled: the interrupt someone waits for was lost; send it again. */
static void rescue_lost(struct rescue *s)
{
	uint64_t got0 = nirq(s->c0) - s->base0;

	rescues++;
	stall_diag(s->c0);
	/* The handler counts per vector too: is it the count's write that was lost, or the interrupt? */
	fprintf(stderr, "bench_irq: vCPU 0 took vector %#x %u times, vCPU 1 vector %#x %u times, all vectors %llu and %llu\n",
		s->vec0, irqs(s->c0, s->vec0), s->vec1, s->vec1 ? irqs(s->c1, s->vec1) : 0,
		(unsigned long long)nirq(s->c0), s->vec1 ? (unsigned long long)nirq(s->c1) : 0ULL);
	if (s->vec1 && nirq(s->c1) - s->base1 == got0) {
		fprintf(stderr, "bench_irq: stalled after %llu round trips: vector %#x to vCPU 1 again\n",
			(unsigned long long)got0, s->vec1);
		signal_msi(s->vm, 1, s->vec1);
	} else {
		fprintf(stderr, "bench_irq: stalled after %llu interrupts: vector %#x to vCPU 0 again\n",
			(unsigned long long)got0, s->vec0);
		signal_msi(s->vm, 0, s->vec0);
	}
}

/*
 * Run one of bench_irq.S's loops to its end (port 0x13): 0, or -1 with a
 * diagnostic. With @s (vCPU 0), a stall is rescued; without, waited out.
 */
static int loop_run(struct icpu *c, uint64_t rip, uint64_t n, uint64_t arg, struct rescue *s)
{
	struct kvm_regs r;
	double deadline = now_ms() + RUN_MS;
	uint64_t seen;
	int ret;

	if (c->broken || ioctl(c->fd, KVM_GET_REGS, &r) < 0)
		return -1;
	r.rip = rip;
	r.rcx = n;
	r.rdx = arg;
	r.rflags = 2;
	if (ioctl(c->fd, KVM_SET_REGS, &r) < 0)
		return -1;
	seen = nirq(c);
	for (;;) {
		wd_arm(c, STALL_MS);
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EAGAIN)
				continue;
			ret = -errno;
			if (ret == -EINTR && now_ms() < deadline) {
				if (nirq(c) == seen && s)
					rescue_lost(s);
				seen = nirq(c);
				continue;
			}
			break;
		}
		ret = c->run->exit_reason;
		break;
	}
	wd_disarm(c);
	if (ret == KVM_EXIT_IO && c->run->io.port == 0x13)
		return 0;
	c->broken = 1;
	if (ret == -EINTR) {
		fprintf(stderr, "bench_irq: cpu %d: no end within %d ms\n", c->idx, RUN_MS);
		stall_diag(c);
	} else if (ret < 0) {
		fprintf(stderr, "bench_irq: cpu %d: KVM_RUN: %s\n", c->idx, strerror(-ret));
	} else if (ret == KVM_EXIT_IO && c->run->io.port == 0x11) {
		fprintf(stderr, "bench_irq: cpu %d: guest exception %u\n", c->idx,
			*((uint8_t *)c->run + c->run->io.data_offset));
	} else {
		fprintf(stderr, "bench_irq: cpu %d: unexpected exit %s\n", c->idx, exit_name(ret));
	}
	return -1;
}

struct pong {
	struct icpu *c;
	uint64_t n;
	int r;
};

static void *pong_thread(void *p)
{
	struct pong *a = p;

	a->r = loop_run(a->c, BA(b_ipi_pong), a->n, 0, NULL);
	return NULL;
}

/* n IPI round trips, vCPU 0 waiting in HLT or spinning: us per round trip. */
static double bench_ipi(struct ivm *v, bool spin, uint64_t n)
{
	struct pong a = { .c = &v->cpu[1], .n = n };
	struct rescue s = { .vm = v->vm, .c0 = &v->cpu[0], .c1 = &v->cpu[1],
		.base0 = nirq(&v->cpu[0]), .base1 = nirq(&v->cpu[1]), .vec0 = 0x41, .vec1 = 0x40 };
	pthread_t th;
	double t0, t1;
	int r;

	if (pthread_create(&th, NULL, pong_thread, &a))
		return -1;
	t0 = now_us();
	r = loop_run(&v->cpu[0], BA(spin ? b_ipi_ping_spin : b_ipi_ping_hlt), n, 0, &s);
	t1 = now_us();
	if (r)	/* vCPU 1 waits for IPIs that will not come: its deadline ends it */
		fprintf(stderr, "bench_irq: ipi: vCPU 0 failed, vCPU 1 waits for its deadline\n");
	pthread_join(th, NULL);
	if (r || a.r || nirq(&v->cpu[0]) - s.base0 != n || nirq(&v->cpu[1]) - s.base1 != n) {
		fprintf(stderr, "bench_irq: ipi %s: %d %d, interrupts %llu %llu of %llu\n",
			spin ? "spin" : "hlt", r, a.r,
			(unsigned long long)(nirq(&v->cpu[0]) - s.base0),
			(unsigned long long)(nirq(&v->cpu[1]) - s.base1), (unsigned long long)n);
		return -1;
	}
	return (t1 - t0) / n;
}

/* n timer interrupts on vCPU 0 (one-shot TMICT = arg, or TSC deadline TSC + arg): us each. */
static double bench_timer(struct ivm *v, bool tscdl, uint64_t n, uint64_t arg)
{
	struct icpu *c = &v->cpu[0];
	struct rescue s = { .vm = v->vm, .c0 = c, .base0 = nirq(c), .vec0 = tscdl ? 0x43 : 0x42 };
	double t0, t1;

	t0 = now_us();
	if (loop_run(c, BA(tscdl ? b_timer_tscdl : b_timer_oneshot), n, arg, &s))
		return -1;
	t1 = now_us();
	if (nirq(c) - s.base0 != n) {
		fprintf(stderr, "bench_irq: timer: %llu interrupts of %llu\n",
			(unsigned long long)(nirq(c) - s.base0), (unsigned long long)n);
		return -1;
	}
	return (t1 - t0) / n;
}

enum { B_IPI_HLT, B_IPI_SPIN, B_ONESHOT, B_TSCDL };

static double bench(struct ivm *v, int which, uint64_t n)
{
	switch (which) {
	case B_IPI_HLT:
		return bench_ipi(v, false, n);
	case B_IPI_SPIN:
		return bench_ipi(v, true, n);
	case B_ONESHOT:
		return bench_timer(v, false, n, 1);
	default:
		return bench_timer(v, true, n, 1);
	}
}

int main(int argc, char **argv)
{
	static const char *const names[] = { "ipi_hlt_us", "ipi_spin_us", "timer_oneshot_us", "timer_tscdl_us" };
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 2000;
	struct ivm v;
	int kvm = open_kvm(), tscdl, i;

	tscdl = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) == 1;
	close(kvm);
	ivm_create(&v, 2, 1, tscdl ? CPUID_TSCDL : 0);
	memcpy(v.mem + B_BASE, birq_guest, birq_guest_end - birq_guest);
	/* vCPU 1 woken the firmware way (INIT, SIPI), both APICs software-enabled, every vector EOIed. */
	apic_wr(&v.cpu[0], A_SVR, 0x1ff);
	apic_icr(&v.cpu[0], 1u << 24, ICR_INIT);
	apic_icr(&v.cpu[0], 1u << 24, ICR_SIPI);
	if (v.cpu[0].broken || cmd(&v.cpu[1], OP_WR32, APIC + A_SVR, 0x1ff, 0) == ~0ULL) {
		fprintf(stderr, "bench_irq: vCPU 1 did not come up\n");
		return 1;
	}
	for (i = 0; i < 2; i++)
		eoi_mode_all(&v.cpu[i], 1);
	if (n < BATCHES)
		n = BATCHES;
	for (i = 0; i < 4; i++) {
		double b[BATCHES], r = -1;
		int j, k;

		/* A warm-up of n / 10 iterations, then the batches. */
		if ((i != B_TSCDL || tscdl) && bench(&v, i, n / 10 ? n / 10 : 1) >= 0) {
			int retries = 3;

			for (j = 0; j < BATCHES; j++) {
				unsigned before = rescues;
				double x = bench(&v, i, n / BATCHES);

				if (x < 0)
					break;
				if (rescues != before && retries-- > 0) {	/* its time holds a stall: again */
					j--;
					continue;
				}
				for (k = j; k > 0 && b[k - 1] > x; k--)	/* kept sorted */
					b[k] = b[k - 1];
				b[k] = x;
			}
			if (j == BATCHES) {
				r = b[BATCHES / 2];
				fprintf(stderr, "bench_irq: %s batches (sorted):", names[i]);
				for (j = 0; j < BATCHES; j++)
					fprintf(stderr, " %.2f", b[j]);
				fprintf(stderr, "\n");
			}
		}
		printf("%s %.2f\n", names[i], r);
		if (rescues)
			fprintf(stderr, "bench_irq: %u lost interrupts sent again so far\n", rescues);
		fflush(stdout);
	}
	ivm_destroy(&v);
	return 0;
}
