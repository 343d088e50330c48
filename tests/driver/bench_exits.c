/* tests/driver/bench_exits.c: cost per iteration of an in-kernel CPUID exit, a PIO exit to userspace and back, an MMIO exit to userspace and back (also with AVX state live in the guest), a PIO and an MMIO write an ioeventfd completes, and an ioeventfd-to-irqfd round trip through a device thread (MSI and IOAPIC routes): each the median iteration, the median of nine runs (for tests/bench/driver.sh). */
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>

#include "kvmtest.h"

/* 1: out %al,$0x80; jmp 1b */
static const uint8_t pio_loop[] = { 0xe6, 0x80, 0xeb, 0xfc };
/* mov $0xc0000000,%ebx; 1: mov %eax,(%rbx); jmp 1b */
static const uint8_t mmio_loop[] = { 0xbb, 0x00, 0x00, 0x00, 0xc0, 0x89, 0x03, 0xeb, 0xfc };

extern const uint8_t bench_guest[], bench_guest_end[];
extern const uint8_t b_cpuid[], b_ioev_pio[], b_ioev_mmio[], b_irqfd[], b_handler[], b_tick[];
#define BA(sym)	(0x2000 + (uint64_t)((sym) - bench_guest))

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void set_rcx_rbx(struct tvm *t, uint64_t rcx, uint64_t rbx)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rcx = rcx;
	r.rbx = rbx;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

/*
 * Every figure is the median iteration, which the test host's own stalls
 * (milliseconds at a time on a loaded machine) do not move: the guest
 * loops of bench_exits.S keep one TSC delta per iteration from B_TIMES
 * up; the exits to userspace are timed one KVM_RUN at a time here.
 */
#define B_TIMES		0x40000
#define B_TIMES_MAX	((0x100000 - B_TIMES) / 4)

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The median of the n iterations the guest timed, in microseconds. */
static double guest_median_us(struct tvm *t, uint32_t n)
{
	uint32_t *d = (uint32_t *)(t->mem + B_TIMES);
	long khz = ioctl(t->vcpu, KVM_GET_TSC_KHZ, 0);

	if (khz <= 0 || !n)
		return -1;
	qsort(d, n, sizeof(*d), cmp_u32);
	return d[n / 2] * 1000.0 / khz;
}

/* n KVM_RUNs that each end with @want after 200 untimed: the median one, in us. */
static double user_median_us(struct tvm *t, int want, uint32_t n)
{
	double *d = calloc(n, sizeof(*d)), t0, r = -1;
	uint32_t i;

	if (!d)
		return -1;
	for (i = 0; i < n + 200; i++) {
		t0 = now_us();
		if (tvm_run(t) != want)
			goto out;
		if (i >= 200)
			d[i - 200] = now_us() - t0;
	}
	qsort(d, n, sizeof(*d), cmp_double);
	r = d[n / 2];
out:
	free(d);
	return r;
}

static double bench_cpuid(uint32_t n)
{
	struct tvm t;
	double r;

	if (n > B_TIMES_MAX)
		return -1;
	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, bench_guest, bench_guest_end - bench_guest);
	tvm_long_mode(&t, BA(b_cpuid));
	set_rcx_rbx(&t, n, 0);
	r = tvm_run(&t) == KVM_EXIT_HLT ? guest_median_us(&t, n) : -1;
	tvm_destroy(&t);
	return r;
}

static double bench_user(const uint8_t *code, size_t len, int want, uint32_t n)
{
	struct tvm t;
	double r;

	tvm_create(&t, 1 << 20);
	tvm_load(&t, 0x2000, code, len);
	tvm_long_mode(&t, 0x2000);
	r = user_median_us(&t, want, n);
	tvm_destroy(&t);
	return r;
}

/* ---- the same exits with AVX state live in the guest ---- */

extern const uint8_t b_avx_load[], b_avx_load_end[];
#define AVX_PROLOGUE	0x6000
#define AVX_PATTERN	0x3000

/* Whether the last AVX-live run ended with the guest's ymm registers intact. */
static bool avx_state_ok = true;

static uint8_t avx_byte(int reg, int byte)
{
	return (uint8_t)(reg * 37 + byte * 11 + 5);
}

/* XCR0 bits of the supported CPUID leaf 0xD: x87, SSE, AVX and AVX-512 if there. */
static uint64_t avx_xcr0(int kvm)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };
	uint32_t i;

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return 0;
	for (i = 0; i < c.c.nent; i++)
		if (c.e[i].function == 0xd && c.e[i].index == 0)
			return c.e[i].eax & 0xe7;
	return 0;
}

/*
 * The guest starts in the AVX prologue, with CR4.OSXSAVE and XCR0 set by
 * the VMM, loads ymm0-15 and jumps to the loop at @loop: every exit of the
 * loop switches that state (and XCR0, unless it is the host's).
 */
static bool avx_setup(struct tvm *t, uint64_t loop)
{
	struct kvm_xcrs x = { .nr_xcrs = 1 };
	struct kvm_sregs s;
	struct kvm_regs r;
	int reg, b;

	x.xcrs[0].value = avx_xcr0(t->kvm);
	if ((x.xcrs[0].value & 7) != 7)
		return false;
	for (reg = 0; reg < 16; reg++)
		for (b = 0; b < 32; b++)
			t->mem[AVX_PATTERN + reg * 32 + b] = avx_byte(reg, b);
	tvm_load(t, AVX_PROLOGUE, b_avx_load, b_avx_load_end - b_avx_load);
	ioctl(t->vcpu, KVM_GET_SREGS, &s);
	s.cr4 |= 0x40600;	/* OSFXSR, OSXMMEXCPT, OSXSAVE */
	if (ioctl(t->vcpu, KVM_SET_SREGS, &s) < 0 || ioctl(t->vcpu, KVM_SET_XCRS, &x) < 0)
		return false;
	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = AVX_PROLOGUE;
	r.rbx = loop;
	return ioctl(t->vcpu, KVM_SET_REGS, &r) == 0;
}

/* After the loop: the guest's ymm registers still hold the pattern (XSAVE standard format). */
static bool avx_check(struct tvm *t)
{
	long size = ioctl(t->kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	uint8_t *xs;
	int reg, b;
	bool ok;

	if (size < (long)sizeof(struct kvm_xsave))
		size = sizeof(struct kvm_xsave);
	xs = calloc(1, size);
	ok = xs && ioctl(t->vcpu, size > (long)sizeof(struct kvm_xsave) ?
			 KVM_GET_XSAVE2 : KVM_GET_XSAVE, xs) == 0;
	for (reg = 0; ok && reg < 16; reg++)
		for (b = 0; b < 16; b++)
			ok = ok && xs[160 + reg * 16 + b] == avx_byte(reg, b) &&
			     xs[576 + reg * 16 + b] == avx_byte(reg, b + 16);
	free(xs);
	return ok;
}

static double bench_cpuid_avx(uint32_t n)
{
	struct tvm t;
	double r = -1;

	if (n > B_TIMES_MAX)
		return -1;
	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, bench_guest, bench_guest_end - bench_guest);
	tvm_long_mode(&t, BA(b_cpuid));
	set_rcx_rbx(&t, n, 0);
	if (avx_setup(&t, BA(b_cpuid)) && tvm_run(&t) == KVM_EXIT_HLT) {
		r = guest_median_us(&t, n);
		avx_state_ok &= avx_check(&t);
	}
	tvm_destroy(&t);
	return r;
}

static double bench_user_avx(const uint8_t *code, size_t len, int want, uint32_t n)
{
	struct tvm t;
	double r = -1;

	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, code, len);
	tvm_long_mode(&t, 0x2000);
	if (avx_setup(&t, 0x2000)) {
		r = user_median_us(&t, want, n);
		avx_state_ok &= avx_check(&t);
	}
	tvm_destroy(&t);
	return r;
}

/* n guest writes that an ioeventfd completes in the kernel: us per write. */
static double bench_ioeventfd(bool mmio, uint32_t n)
{
	struct kvm_ioeventfd io = { .addr = mmio ? 0xc0000000 : 0x80,
		.len = mmio ? 4 : 1, .flags = mmio ? 0 : KVM_IOEVENTFD_FLAG_PIO };
	struct tvm t;
	double r;
	uint64_t cnt = 0;

	if (n > B_TIMES_MAX)
		return -1;
	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, bench_guest, bench_guest_end - bench_guest);
	io.fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (io.fd < 0 || ioctl(t.vm, KVM_IOEVENTFD, &io) < 0)
		return -1;
	/* A short warm-up run, then the measured one. */
	tvm_long_mode(&t, BA(mmio ? b_ioev_mmio : b_ioev_pio));
	set_rcx_rbx(&t, 200, 0);
	if (tvm_run(&t) != KVM_EXIT_HLT)
		return -1;
	tvm_long_mode(&t, BA(mmio ? b_ioev_mmio : b_ioev_pio));
	set_rcx_rbx(&t, n, 0);
	if (tvm_run(&t) != KVM_EXIT_HLT)
		return -1;
	if (read(io.fd, &cnt, sizeof(cnt)) != sizeof(cnt) || cnt != n + 200)
		return -1;
	close(io.fd);
	r = guest_median_us(&t, n);
	tvm_destroy(&t);
	return r;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* LAPIC timer ticks (every 2^26 bus cycles) in the last timed irqfd run. */
static uint32_t irqfd_ticks;

struct device {
	int notify;		/* the ioeventfd */
	int irq;		/* the irqfd */
	volatile bool stop;
};

/* A device model's thread: each notification raises the interrupt. */
static void *device_thread(void *arg)
{
	struct device *d = arg;
	uint64_t v;

	while (read(d->notify, &v, sizeof(v)) == sizeof(v) && !d->stop) {
		v = 1;
		if (write(d->irq, &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

/*
 * n round trips guest OUT -> ioeventfd -> device thread -> irqfd ->
 * guest interrupt out of HLT, with KVM_CREATE_IRQCHIP; the irqfd is an
 * MSI (gsi 24) or IOAPIC pin 5 (edge). us per round trip.
 */
static double bench_irqfd(bool msi, uint32_t n)
{
	struct kvm_ioeventfd io = { .addr = 0x80, .len = 1, .flags = KVM_IOEVENTFD_FLAG_PIO };
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[1];
	} rt = { .r.nr = 1, .e[0] = { .gsi = 24, .type = KVM_IRQ_ROUTING_MSI,
		.u.msi = { .address_lo = 0xfee00000, .data = 0x41 } } };
	struct kvm_irqfd irqfd = { .gsi = msi ? 24 : 5 };
	struct device d = { .stop = false };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct tvm t;
	pthread_t th;
	double us;
	uint64_t one = 1;
	uint32_t i;
	int r = -1;

	if (n > B_TIMES_MAX)
		return -1;
	memset(&t, 0, sizeof(t));
	t.kvm = open_kvm();
	t.vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	if (t.vm < 0 || ioctl(t.vm, KVM_CREATE_IRQCHIP, 0) < 0)
		return -1;
	t.mem_size = 1 << 20;
	t.mem = guest_alloc(t.mem_size);
	if (set_slot(t.vm, 0, 0, t.mem, t.mem_size, 0))
		return -1;
	t.vcpu = ioctl(t.vm, KVM_CREATE_VCPU, 0);
	t.run_size = ioctl(t.kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	t.run = mmap(NULL, t.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, t.vcpu, 0);
	if (t.vcpu < 0 || t.run == MAP_FAILED)
		return -1;
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, bench_guest, bench_guest_end - bench_guest);
	tvm_idt_set(&t, 0x40, BA(b_handler));
	tvm_idt_set(&t, 0x41, BA(b_handler));
	tvm_idt_set(&t, 0x44, BA(b_tick));
	if (msi && ioctl(t.vm, KVM_SET_GSI_ROUTING, &rt) < 0)
		return -1;
	d.notify = eventfd(0, EFD_CLOEXEC);
	d.irq = eventfd(0, EFD_CLOEXEC);
	io.fd = d.notify;
	irqfd.fd = d.irq;
	if (ioctl(t.vm, KVM_IOEVENTFD, &io) < 0 || ioctl(t.vm, KVM_IRQFD, &irqfd) < 0)
		return -1;
	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: a lost interrupt ends KVM_RUN */
	alarm(120);
	pthread_create(&th, NULL, device_thread, &d);
	/* A warm-up of 200 round trips, then n timed. */
	for (i = 0; i < 2; i++) {
		tvm_long_mode(&t, BA(b_irqfd));
		set_rcx_rbx(&t, i ? n : 200, msi ? 0x10000 : 0x40);
		memset(t.mem + 0x1000, 0, 8);	/* interrupts and watchdog ticks */
		r = tvm_run(&t);
		if (r != KVM_EXIT_IO || t.run->io.port != 0x81)
			break;
	}
	irqfd_ticks = *(uint32_t *)(t.mem + 0x1004);
	d.stop = true;
	alarm(0);
	if (write(d.notify, &one, sizeof(one)) != sizeof(one))
		return -1;
	pthread_join(th, NULL);
	if (r != KVM_EXIT_IO || t.run->io.port != 0x81)
		return -1;
	close(d.notify);
	close(d.irq);
	us = guest_median_us(&t, n);
	tvm_destroy(&t);
	return us;
}

enum { B_CPUID, B_PIO, B_MMIO, B_CPUID_AVX, B_PIO_AVX, B_MMIO_AVX, B_IOEV_PIO, B_IOEV_MMIO,
       B_IRQFD_MSI, B_IRQFD_IOAPIC, B_NR };
static const char *const names[B_NR] = {
	"cpuid_us", "pio_us", "mmio_us", "cpuid_avx_us", "pio_avx_us", "mmio_avx_us",
	"ioeventfd_pio_us", "ioeventfd_mmio_us",
	"irqfd_msi_us", "irqfd_ioapic_us",
};

static double bench_one(int which, uint32_t n)
{
	switch (which) {
	case B_CPUID:		return bench_cpuid(n);
	case B_PIO:		return bench_user(pio_loop, sizeof(pio_loop), KVM_EXIT_IO, n);
	case B_MMIO:		return bench_user(mmio_loop, sizeof(mmio_loop), KVM_EXIT_MMIO, n);
	case B_CPUID_AVX:	return bench_cpuid_avx(n);
	case B_PIO_AVX:	return bench_user_avx(pio_loop, sizeof(pio_loop), KVM_EXIT_IO, n);
	case B_MMIO_AVX:	return bench_user_avx(mmio_loop, sizeof(mmio_loop), KVM_EXIT_MMIO, n);
	case B_IOEV_PIO:	return bench_ioeventfd(false, n);
	case B_IOEV_MMIO:	return bench_ioeventfd(true, n);
	case B_IRQFD_MSI:	return bench_irqfd(true, n);
	default:		return bench_irqfd(false, n);
	}
}

/*
 * Each figure is timed in BATCHES runs of n / BATCHES iterations, and the
 * median run counts: on a shared machine the test host's own CPU time
 * stalls now and then for milliseconds, and a stall spoils one run, not
 * the figure.
 */
#define BATCHES	9

int main(int argc, char **argv)
{
	uint32_t n = argc > 1 ? strtoul(argv[1], NULL, 0) : 10000;
	/* BENCH_EXITS_ONLY=NAME: that one figure (to profile it alone). */
	const char *only = getenv("BENCH_EXITS_ONLY");
	int i, j, k;

	for (i = 0; i < B_NR; i++) {
		/* Round trips wake a thread each: a fifth as many. */
		uint32_t per = (i >= B_IRQFD_MSI ? n / 5 : n) / BATCHES;
		double b[BATCHES], r = -1;

		if (only && strcmp(only, names[i]))
			continue;
		for (j = 0; j < BATCHES; j++) {
			double x = bench_one(i, per ? per : 1);

			if (x < 0)
				break;
			for (k = j; k > 0 && b[k - 1] > x; k--)	/* kept sorted */
				b[k] = b[k - 1];
			b[k] = x;
		}
		if (j == BATCHES) {
			r = b[BATCHES / 2];
			fprintf(stderr, "bench_exits: %s runs (sorted):", names[i]);
			for (j = 0; j < BATCHES; j++)
				fprintf(stderr, " %.2f", b[j]);
			fprintf(stderr, "\n");
		}
		printf("%s %.2f\n", names[i], r);
		if (i == B_IRQFD_MSI || i == B_IRQFD_IOAPIC)
			printf("%s %u\n", i == B_IRQFD_MSI ? "irqfd_msi_ticks" : "irqfd_ioapic_ticks",
			       irqfd_ticks);
		fflush(stdout);
	}
	printf("avx_state_ok %d\n", avx_state_ok);
	return 0;
}
