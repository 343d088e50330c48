/* tests/driver/t_eventfd.c: KVM_IOEVENTFD (PIO and MMIO, datamatch, any length, deassign, errnos) and KVM_IRQFD (IOAPIC and MSI routes, resample, from another thread, errnos). */
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <time.h>

#include "kvmtest.h"

extern const uint8_t ev_guest[], ev_guest_end[];
extern const uint8_t g_ioev[], g_irq_halt[], g_irq_spin[], h_40[], h_41[], h_42[];
extern const uint8_t g_roundtrip[], h_43[], h_44[], g_pic[], h_23[], h_2a[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - ev_guest))
#define MMIO		0xc0000000ULL
#define COUNT		0x1000
#define PIN5_EDGE	0x40			/* vector 0x40, fixed, edge, unmasked */
#define PIN5_LEVEL	(0x40 | (1 << 15))	/* the same, level-triggered */

enum { CHIP_NONE, CHIP_FULL, CHIP_SPLIT };

static int efd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0) {
		printf("Bail out! eventfd: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

/* The eventfd's counter, which reading resets. */
static uint64_t efd_count(int fd)
{
	uint64_t v;

	return read(fd, &v, sizeof(v)) == sizeof(v) ? v : 0;
}

static void efd_signal(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		printf("# eventfd write: %s\n", strerror(errno));
}

/* A VM with 8 MiB of RAM, the irqchip asked for, one vCPU in 64-bit mode at rip. */
static void fresh(struct tvm *t, int chip, uint64_t rip)
{
	memset(t, 0, sizeof(*t));
	t->kvm = open_kvm();
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	if (t->vm < 0) {
		printf("Bail out! KVM_CREATE_VM: %s\n", strerror(errno));
		exit(1);
	}
	if (chip == CHIP_FULL && ioctl(t->vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		exit(1);
	}
	if (chip == CHIP_SPLIT) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args[0] = 24 };

		if (ioctl(t->vm, KVM_ENABLE_CAP, &cap) < 0) {
			printf("Bail out! KVM_CAP_SPLIT_IRQCHIP: %s\n", strerror(errno));
			exit(1);
		}
	}
	t->mem_size = 8 << 20;
	t->mem = guest_alloc(t->mem_size);
	if (set_slot(t->vm, 0, 0, t->mem, t->mem_size, 0)) {
		printf("Bail out! memory slot: %s\n", strerror(errno));
		exit(1);
	}
	tvm_add_vcpu(t);
	tvm_cpuid(t);
	tvm_load(t, 0x2000, ev_guest, ev_guest_end - ev_guest);
	tvm_long_mode(t, rip);
	tvm_idt_set(t, 0x40, GA(h_40));
	tvm_idt_set(t, 0x41, GA(h_41));
	tvm_idt_set(t, 0x42, GA(h_42));
	tvm_idt_set(t, 0x43, GA(h_43));
	tvm_idt_set(t, 0x44, GA(h_44));
	tvm_idt_set(t, 0x23, GA(h_23));
	tvm_idt_set(t, 0x2a, GA(h_2a));
}

static long ioev(struct tvm *t, int fd, uint64_t addr, uint32_t len,
		 uint32_t flags, uint64_t datamatch)
{
	struct kvm_ioeventfd a = { .datamatch = datamatch, .addr = addr,
		.len = len, .fd = fd, .flags = flags };

	return xioctl(t->vm, KVM_IOEVENTFD, &a);
}

static long irqfd(struct tvm *t, int fd, uint32_t gsi, uint32_t flags, int resamplefd)
{
	struct kvm_irqfd a = { .fd = fd, .gsi = gsi, .flags = flags,
		.resamplefd = resamplefd };

	return xioctl(t->vm, KVM_IRQFD, &a);
}

/* ---- ioeventfd ---- */

/* Run to HLT, each exit to userspace as a line. */
static void run_log(struct tvm *t, char *log, size_t size)
{
	size_t n = 0;
	int i, r;

	log[0] = 0;
	for (i = 0; i < 20 && n < size; i++) {
		struct kvm_run *run = t->run;
		uint64_t v = 0;

		r = tvm_run(t);
		if (r == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT) {
			n += snprintf(log + n, size - n, "O %x/%u=%x\n", run->io.port,
				      run->io.size, tvm_io_val(t));
		} else if (r == KVM_EXIT_IO) {
			n += snprintf(log + n, size - n, "I %x/%u\n", run->io.port,
				      run->io.size);
			tvm_io_set(t, 0x22);
		} else if (r == KVM_EXIT_MMIO) {
			memcpy(&v, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
			if (run->mmio.is_write)
				n += snprintf(log + n, size - n, "W %llx/%u=%llx\n",
					      (unsigned long long)run->mmio.phys_addr,
					      run->mmio.len, (unsigned long long)v);
			else
				n += snprintf(log + n, size - n, "R %llx/%u\n",
					      (unsigned long long)run->mmio.phys_addr,
					      run->mmio.len);
		} else {
			n += snprintf(log + n, size - n, "%s\n", exit_name(r));
			return;
		}
	}
}

static const char ioev_expect[] =
	"O e2/2=4321\n"
	"O e0/4=55667788\n"
	"I e0/1\n"
	"W c0000000/2=99\n"
	"W c0000008/8=c0000000\n"
	"W c0000014/4=3\n"
	"R c0000000/4\n"
	"HLT\n";

static void test_ioeventfd(void)
{
	struct tvm t;
	int a = efd(), b = efd(), b2 = efd(), c = efd(), d = efd(), e = efd();
	int f = efd(), x = efd();
	const uint32_t PIO = KVM_IOEVENTFD_FLAG_PIO, DM = KVM_IOEVENTFD_FLAG_DATAMATCH;
	const uint32_t DE = KVM_IOEVENTFD_FLAG_DEASSIGN;
	char log[1024];
	long r;

	fresh(&t, CHIP_NONE, GA(g_ioev));
	tap_ok(ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD) == 1 &&
	       ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_ANY_LENGTH) == 1 &&
	       ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_IOEVENTFD_NO_LENGTH) == 1,
	       "KVM_CAP_IOEVENTFD, _ANY_LENGTH and _NO_LENGTH are 1");

	r = ioev(&t, a, 0xe0, 1, PIO, 0) | ioev(&t, b, 0xe2, 2, PIO | DM, 0x1234) |
	    ioev(&t, b2, 0xe2, 2, PIO | DM, 0x5678) | ioev(&t, f, 0xe4, 0, PIO, 0) |
	    ioev(&t, c, MMIO, 4, 0, 0) | ioev(&t, d, MMIO + 8, 8, DM, 0x0102030405060708ULL) |
	    ioev(&t, e, MMIO + 0x10, 0, 0, 0);
	tap_ok(r == 0, "seven ioeventfds assigned (PIO and MMIO, datamatch, len 0)");

	/* Errnos as KVM 6.1. */
	tap_ok(ioev(&t, x, 0xf0, 3, PIO, 0) == -EINVAL, "len 3: EINVAL");
	tap_ok(ioev(&t, x, ~0ULL - 1, 4, 0, 0) == -EINVAL, "address + len wraps: EINVAL");
	tap_ok(ioev(&t, x, 0xf0, 1, PIO | (1 << 5), 0) == -EINVAL, "an unknown flag: EINVAL");
	tap_ok(ioev(&t, x, 0xf0, 0, PIO | DM, 0) == -EINVAL, "len 0 with datamatch: EINVAL");
	tap_ok(ioev(&t, 999, 0xf0, 1, PIO, 0) == -EBADF, "a closed fd: EBADF");
	tap_ok(ioev(&t, t.vm, 0xf0, 1, PIO, 0) == -EINVAL, "an fd that is no eventfd: EINVAL");
	tap_ok(ioev(&t, x, 0xe0, 1, PIO, 0) == -EEXIST, "the same range again: EEXIST");
	tap_ok(ioev(&t, x, 0xe0, 1, PIO | DM, 7) == -EEXIST,
	       "a datamatch where a wildcard is: EEXIST");
	tap_ok(ioev(&t, x, 0xe2, 2, PIO | DM, 0x1234) == -EEXIST,
	       "the same datamatch, another eventfd: EEXIST");
	tap_ok(ioev(&t, x, 0xe2, 2, PIO, 0) == -EEXIST, "a wildcard over datamatches: EEXIST");
	tap_ok(ioev(&t, x, 0xe0, 0, PIO, 0) == -EEXIST, "len 0 over len 1 at one address: EEXIST");
	tap_ok(ioev(&t, x, 0xe0, 1, 0, 0) == 0 && ioev(&t, x, 0xe0, 1, DE, 0) == 0,
	       "the same address on the MMIO bus is another range");
	tap_ok(ioev(&t, x, 0xe2, 4, PIO | DM, 0x1234) == 0 &&
	       ioev(&t, x, 0xe2, 4, PIO | DM | DE, 0x1234) == 0,
	       "another length at one address is another range");
	r = ioev(&t, x, 0x100, 4, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0);
	tap_ok(r == 0 && ioev(&t, x, 0x100, 4, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY | DE, 0) == 0,
	       "the virtio-ccw flag is taken on x86 as KVM's (%ld)", r);

	run_log(&t, log, sizeof(log));
	if (!tap_ok(!strcmp(log, ioev_expect),
		    "matching writes complete in the kernel, the others exit"))
		printf("# got:\n%s# want:\n%s", log, ioev_expect);
	r = 0;
	r |= efd_count(a) != 1;
	r |= (efd_count(b) != 1) << 1;
	r |= (efd_count(b2) != 1) << 2;
	r |= (efd_count(c) != 1) << 3;
	r |= (efd_count(d) != 1) << 4;
	r |= (efd_count(e) != 2) << 5;
	r |= (efd_count(f) != 2) << 6;
	r |= (efd_count(x) != 0) << 7;
	tap_ok(r == 0, "each eventfd counted its writes (mismatch mask %lx)", r);

	/* Deassign. */
	tap_ok(ioev(&t, a, 0xe0, 1, PIO | DM | DE, 0x11) == -ENOENT,
	       "deassign with a datamatch the wildcard lacks: ENOENT");
	tap_ok(ioev(&t, b, 0xe2, 2, PIO | DM | DE, 0x5678) == -ENOENT,
	       "deassign with another eventfd's datamatch: ENOENT");
	tap_ok(ioev(&t, a, 0xe0, 1, DE, 0) == -ENOENT, "deassign on the other bus: ENOENT");
	tap_ok(ioev(&t, a, 0xe0, 1, PIO | DE, 0) == 0, "deassign");
	tap_ok(ioev(&t, a, 0xe0, 1, PIO | DE, 0) == -ENOENT, "deassign twice: ENOENT");
	tap_ok(ioev(&t, 999, 0xe0, 1, PIO | DE, 0) == -EBADF, "deassign a closed fd: EBADF");
	tap_ok(ioev(&t, e, MMIO + 0x10, 0, DE, 0) == 0, "deassign len 0");
	tvm_long_mode(&t, GA(g_ioev));
	tvm_run(&t);
	tap_ok(t.run->exit_reason == KVM_EXIT_IO && t.run->io.port == 0xe0 &&
	       tvm_io_val(&t) == 0x11 && efd_count(a) == 0,
	       "a deassigned port exits to userspace again");
	tvm_destroy(&t);
	close(a); close(b); close(b2); close(c); close(d); close(e); close(f); close(x);
}

/* ---- irqfd ---- */

static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
}

/*
 * Run until an OUT to port (the handler's 0xf1 or 0xf0 exits); the
 * vector it reports, or -errno / -1000 - exit reason. KVM_RUN is
 * interrupted after secs.
 */
static int run_to_port(struct tvm *t, int port, int secs)
{
	int r;

	alarmed = 0;
	alarm(secs);
	for (;;) {
		r = tvm_run(t);
		if (r < 0)
			break;
		if (r == KVM_EXIT_IO && t->run->io.direction == KVM_EXIT_IO_OUT) {
			if (t->run->io.port == port) {
				r = tvm_io_byte(t);
				break;
			}
			if (t->run->io.port == 0xf0 || t->run->io.port == 0xf1 ||
			    t->run->io.port == 0xf3)
				continue;
		}
		printf("# unexpected exit %s\n", exit_name(r));
		r = -1000 - r;
		break;
	}
	alarm(0);
	return r;
}

/* Run the guest until it has routed pin 5 and is about to wait. */
static void ready(struct tvm *t)
{
	int r = run_to_port(t, 0xf3, 10);

	if (r < 0) {
		printf("Bail out! the guest did not set up its interrupts (%d)\n", r);
		exit(1);
	}
}

static uint32_t guest_count(struct tvm *t)
{
	uint32_t v;

	memcpy(&v, t->mem + COUNT, 4);
	return v;
}

static void set_rbx(struct tvm *t, uint64_t rbx)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rbx = rbx;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

struct delayed {
	int fd;
	int ms;
};

static void *signal_later(void *arg)
{
	struct delayed *d = arg;
	struct timespec ts = { d->ms / 1000, (d->ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
	efd_signal(d->fd);
	return NULL;
}

/* IOAPIC pin 5's irr bit and remote IRR, from KVM_GET_IRQCHIP. */
static int ioapic_pin5(struct tvm *t, int *remote_irr)
{
	struct kvm_irqchip chip = { .chip_id = KVM_IRQCHIP_IOAPIC };

	if (ioctl(t->vm, KVM_GET_IRQCHIP, &chip) < 0)
		return -1;
	*remote_irr = chip.chip.ioapic.redirtbl[5].fields.remote_irr;
	return (chip.chip.ioapic.irr >> 5) & 1;
}

static void test_irqfd_errnos(void)
{
	struct tvm t;
	int a = efd(), b = efd();

	fresh(&t, CHIP_NONE, GA(g_irq_halt));
	tap_ok(ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD) == 1 &&
	       ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_IRQFD_RESAMPLE) == 1,
	       "KVM_CAP_IRQFD and _IRQFD_RESAMPLE are 1 (with no irqchip too)");
	tap_ok(irqfd(&t, a, 5, 0, 0) == -EINVAL, "no irqchip: EINVAL (x86 KVM 6.1)");
	tap_ok(irqfd(&t, 999, 5, KVM_IRQFD_FLAG_RESAMPLE, 999) == -EINVAL,
	       "no irqchip, before the fds are looked at: EINVAL");
	tap_ok(irqfd(&t, a, 5, 4, 0) == -EINVAL, "an unknown flag: EINVAL");
	tap_ok(irqfd(&t, a, 5, KVM_IRQFD_FLAG_DEASSIGN, 0) == 0,
	       "deassign with no irqchip and nothing assigned: 0");
	tvm_destroy(&t);

	fresh(&t, CHIP_FULL, GA(g_irq_halt));
	tap_ok(irqfd(&t, a, 5, 0, 0) == 0, "assign with KVM_CREATE_IRQCHIP");
	tap_ok(irqfd(&t, a, 6, 0, 0) == -EBUSY, "the same eventfd for another gsi: EBUSY");
	tap_ok(irqfd(&t, 999, 6, 0, 0) == -EBADF, "a closed fd: EBADF");
	tap_ok(irqfd(&t, t.vm, 6, 0, 0) == -EINVAL, "an fd that is no eventfd: EINVAL");
	tap_ok(irqfd(&t, b, 6, KVM_IRQFD_FLAG_RESAMPLE, 999) == -EBADF,
	       "a closed resamplefd: EBADF");
	tap_ok(irqfd(&t, a, 7, KVM_IRQFD_FLAG_DEASSIGN, 0) == 0,
	       "deassign of a gsi the eventfd doesn't drive: 0");
	tap_ok(irqfd(&t, 999, 7, KVM_IRQFD_FLAG_DEASSIGN, 0) == -EBADF,
	       "deassign of a closed fd: EBADF");
	tap_ok(irqfd(&t, a, 5, KVM_IRQFD_FLAG_DEASSIGN, 0) == 0 &&
	       irqfd(&t, a, 6, 0, 0) == 0, "deassign, then the eventfd is free again");
	/* Closing the eventfd tears its irqfd down. */
	close(a);
	a = efd();
	tap_ok(irqfd(&t, a, 6, 0, 0) == 0 && irqfd(&t, b, 6, 0, 0) == 0,
	       "after closing an irqfd's eventfd, new ones take its gsi");
	tvm_destroy(&t);
	close(a);
	close(b);
	a = efd();
	b = efd();

	fresh(&t, CHIP_SPLIT, GA(g_irq_halt));
	tap_ok(irqfd(&t, a, 5, KVM_IRQFD_FLAG_RESAMPLE, b) == -EINVAL,
	       "resample with the split irqchip: EINVAL");
	tap_ok(irqfd(&t, a, 5, 0, 0) == 0, "a plain irqfd with the split irqchip");
	tvm_destroy(&t);
	close(a);
	close(b);
}

static void test_irqfd_ioapic(void)
{
	struct tvm t;
	pthread_t th;
	struct delayed dl;
	int a = efd();
	int v;

	fresh(&t, CHIP_FULL, GA(g_irq_halt));
	set_rbx(&t, PIN5_EDGE);
	tap_ok(irqfd(&t, a, 5, 0, 0) == 0, "irqfd on gsi 5 (IOAPIC pin 5, edge)");
	ready(&t);
	efd_signal(a);
	v = run_to_port(&t, 0xf0, 10);
	tap_ok(v == 0x40 && guest_count(&t) == 1,
	       "a signal before KVM_RUN: the guest takes vector 0x40 (%d, %u)", v,
	       guest_count(&t));
	tap_ok(efd_count(a) == 0, "the irqfd consumed the eventfd's count");

	/* The vCPU halts in the kernel; another thread signals. */
	dl.fd = a;
	dl.ms = 200;
	pthread_create(&th, NULL, signal_later, &dl);
	v = run_to_port(&t, 0xf0, 10);
	pthread_join(th, NULL);
	tap_ok(v == 0x40 && guest_count(&t) == 2,
	       "a signal from another thread wakes the halted vCPU (%d, %u)", v,
	       guest_count(&t));

	/* Deassigned: a signal does nothing. */
	tap_ok(irqfd(&t, a, 5, KVM_IRQFD_FLAG_DEASSIGN, 0) == 0, "deassign");
	efd_signal(a);
	v = run_to_port(&t, 0xf0, 1);
	tap_ok(v == -EINTR && guest_count(&t) == 2 && efd_count(a) == 1,
	       "after deassign a signal injects nothing (%d)", v);
	tvm_destroy(&t);

	/* A spinning vCPU is kicked out of the guest. */
	fresh(&t, CHIP_FULL, GA(g_irq_spin));
	set_rbx(&t, PIN5_EDGE);
	irqfd(&t, a, 5, 0, 0);
	ready(&t);
	dl.ms = 200;
	pthread_create(&th, NULL, signal_later, &dl);
	v = run_to_port(&t, 0xf0, 10);
	pthread_join(th, NULL);
	tap_ok(v == 0x40 && guest_count(&t) == 1,
	       "a signal from another thread interrupts the running vCPU (%d, %u)", v,
	       guest_count(&t));
	tvm_destroy(&t);
	close(a);
}

static void test_irqfd_resample(void)
{
	struct tvm t;
	pthread_t th;
	struct delayed dl;
	int a = efd(), rs = efd();
	int v, irr, remote;

	fresh(&t, CHIP_FULL, GA(g_irq_halt));
	set_rbx(&t, PIN5_LEVEL);
	tap_ok(irqfd(&t, a, 5, KVM_IRQFD_FLAG_RESAMPLE, rs) == 0,
	       "resampling irqfd on gsi 5 (level)");
	ready(&t);
	efd_signal(a);
	v = run_to_port(&t, 0xf1, 10);
	irr = ioapic_pin5(&t, &remote);
	tap_ok(v == 0x40 && irr == 1 && remote == 1 && efd_count(rs) == 0,
	       "before the EOI the line stays high, no resample yet (%d irr %d remote %d)",
	       v, irr, remote);
	v = run_to_port(&t, 0xf0, 10);
	irr = ioapic_pin5(&t, &remote);
	tap_ok(v == 0x40 && irr == 0 && remote == 0 && efd_count(rs) == 1,
	       "the EOI lowers the line and signals the resamplefd (%d irr %d remote %d)",
	       v, irr, remote);

	dl.fd = a;
	dl.ms = 200;
	pthread_create(&th, NULL, signal_later, &dl);
	v = run_to_port(&t, 0xf0, 10);
	pthread_join(th, NULL);
	tap_ok(v == 0x40 && guest_count(&t) == 2 && efd_count(rs) == 1,
	       "the next signal raises it again, one interrupt each (%d, %u)", v,
	       guest_count(&t));

	/* Asserted, then deassigned before the EOI: the line drops. */
	efd_signal(a);
	v = run_to_port(&t, 0xf1, 10);
	tap_ok(irqfd(&t, a, 5, KVM_IRQFD_FLAG_DEASSIGN, 0) == 0, "deassign the resampler");
	irr = ioapic_pin5(&t, &remote);
	tap_ok(v == 0x40 && irr == 0, "deassigning the last resampler lowers its line (irr %d)",
	       irr);
	v = run_to_port(&t, 0xf0, 10);
	tap_ok(v == 0x40 && efd_count(rs) == 0 && guest_count(&t) == 3,
	       "the EOI after deassign signals nothing");
	tvm_destroy(&t);
	close(a);
	close(rs);
}

/* Resampling irqfds on 8259 lines: a master pin (gsi 3) and a slave pin (gsi 10). */
static void test_irqfd_pic(void)
{
	static const struct { uint32_t gsi; int vector; } lines[] = { { 3, 0x23 }, { 10, 0x2a } };
	unsigned int i;

	for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		int a = efd(), rs = efd();
		uint64_t before, after, again;
		struct tvm t;
		int v1, v2, v3;

		fresh(&t, CHIP_FULL, GA(g_pic));
		tap_ok(irqfd(&t, a, lines[i].gsi, KVM_IRQFD_FLAG_RESAMPLE, rs) == 0,
		       "resampling irqfd on gsi %u", lines[i].gsi);
		ready(&t);
		efd_signal(a);
		v1 = run_to_port(&t, 0xf1, 10);
		before = efd_count(rs);
		v2 = run_to_port(&t, 0xf0, 10);
		after = efd_count(rs);
		efd_signal(a);
		v3 = run_to_port(&t, 0xf0, 10);
		again = efd_count(rs);
		tap_ok(v1 == lines[i].vector && v2 == lines[i].vector && v3 == lines[i].vector &&
		       before == 0 && after == 1 && again == 1 && guest_count(&t) == 2,
		       "gsi %u through the %s 8259 (vector %#x): resampled at each EOI, "
		       "one interrupt per signal (%d %d %d, resamples %llu %llu %llu, %u taken)",
		       lines[i].gsi, lines[i].gsi < 8 ? "master" : "slave", lines[i].vector,
		       v1, v2, v3, (unsigned long long)before, (unsigned long long)after,
		       (unsigned long long)again, guest_count(&t));
		tvm_destroy(&t);
		close(a);
		close(rs);
	}
}

/* gsi 5 to IOAPIC pin 5, gsi 24 to an MSI at APIC 0 with vector. */
static long set_routing(struct tvm *t, int vector)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[2];
	} rt;

	memset(&rt, 0, sizeof(rt));
	rt.r.nr = 2;
	rt.e[0].gsi = 5;
	rt.e[0].type = KVM_IRQ_ROUTING_IRQCHIP;
	rt.e[0].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
	rt.e[0].u.irqchip.pin = 5;
	rt.e[1].gsi = 24;
	rt.e[1].type = KVM_IRQ_ROUTING_MSI;
	rt.e[1].u.msi.address_lo = 0xfee00000;
	rt.e[1].u.msi.data = vector;
	return xioctl(t->vm, KVM_SET_GSI_ROUTING, &rt);
}

static void test_irqfd_msi(void)
{
	struct tvm t;
	pthread_t th;
	struct delayed dl;
	int m = efd();
	int v;

	fresh(&t, CHIP_FULL, GA(g_irq_halt));
	set_rbx(&t, PIN5_EDGE);
	tap_ok(irqfd(&t, m, 24, 0, 0) == 0, "irqfd on gsi 24, which has no route yet");
	ready(&t);
	efd_signal(m);
	v = run_to_port(&t, 0xf0, 1);
	tap_ok(v == -EINTR && guest_count(&t) == 0, "a signal without a route injects nothing");
	tap_ok(set_routing(&t, 0x41) == 0, "KVM_SET_GSI_ROUTING: gsi 24 is an MSI, vector 0x41");
	efd_signal(m);
	v = run_to_port(&t, 0xf0, 10);
	tap_ok(v == 0x41 && guest_count(&t) == 1,
	       "the irqfd follows the new routing: vector 0x41 (%d)", v);
	tap_ok(set_routing(&t, 0x42) == 0, "re-route gsi 24 to vector 0x42");
	dl.fd = m;
	dl.ms = 200;
	pthread_create(&th, NULL, signal_later, &dl);
	v = run_to_port(&t, 0xf0, 10);
	pthread_join(th, NULL);
	tap_ok(v == 0x42 && guest_count(&t) == 2,
	       "an MSI irqfd from another thread wakes the halted vCPU with 0x42 (%d)", v);
	tvm_destroy(&t);
	close(m);
}

struct device {
	int notify;
	int irq;
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

/* Notify (ioeventfd) and interrupt (MSI irqfd) round trips, a device thread between. */
static void test_roundtrip(void)
{
	struct kvm_ioeventfd io = { .addr = 0x80, .len = 1, .flags = KVM_IOEVENTFD_FLAG_PIO };
	struct device d = { .notify = eventfd(0, EFD_CLOEXEC), .irq = eventfd(0, EFD_CLOEXEC) };
	struct kvm_regs regs;
	struct tvm t;
	pthread_t th;
	uint64_t one = 1;
	int v;

	fresh(&t, CHIP_FULL, GA(g_roundtrip));
	set_rbx(&t, 0x10000);		/* pin 5 masked */
	ioctl(t.vcpu, KVM_GET_REGS, &regs);
	regs.rcx = 50;
	ioctl(t.vcpu, KVM_SET_REGS, &regs);
	io.fd = d.notify;
	tap_ok(set_routing(&t, 0x43) == 0 && xioctl(t.vm, KVM_IOEVENTFD, &io) == 0 &&
	       irqfd(&t, d.irq, 24, 0, 0) == 0,
	       "round trips: ioeventfd on port 0x80, MSI irqfd on gsi 24");
	pthread_create(&th, NULL, device_thread, &d);
	v = run_to_port(&t, 0xf4, 30);
	d.stop = true;
	if (write(d.notify, &one, sizeof(one)) != sizeof(one))
		printf("# eventfd write: %s\n", strerror(errno));
	pthread_join(th, NULL);
	ioctl(t.vcpu, KVM_GET_REGS, &regs);
	printf("# %u watchdog ticks\n", *(uint32_t *)(t.mem + COUNT + 8));
	tap_ok(v >= 0 && guest_count(&t) == 50,
	       "50 round trips, every interrupt delivered (%d, %u taken, rcx %llu, rip %#llx)",
	       v, guest_count(&t), (unsigned long long)regs.rcx,
	       (unsigned long long)regs.rip);
	tvm_destroy(&t);
	close(d.notify);
	close(d.irq);
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns EINTR */
	tap_plan(68);
	test_ioeventfd();
	test_irqfd_errnos();
	test_irqfd_ioapic();
	test_irqfd_resample();
	test_irqfd_pic();
	test_irqfd_msi();
	test_roundtrip();
	return tap.failed ? 1 : 0;
}
