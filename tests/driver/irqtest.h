/* tests/driver/irqtest.h: VMs with the in-kernel irqchip (and PIT) running the script guest of irq_guest.inc. */
#ifndef IRQTEST_H
#define IRQTEST_H

#include <signal.h>
#include <time.h>

#include "kvmtest.h"

#define IRQG_BASE	0x10000
#define IRQG_SCRIPT	0x20000
#define IRQG_RESULT	0x21000
#define IRQG_LOG	0x22000
#define IRQG_MAX_OPS	500

extern const uint8_t irq_guest[], irq_guest_end[], irq_guest_stubs[];

enum { OP_END, OP_OUT, OP_IN, OP_HLT, OP_WINDOW, OP_SPIN, OP_INW };

struct irqg_op {
	uint8_t op, pad;
	uint16_t port;
	uint32_t val;
};

struct irqvm {
	struct tvm t;
	int nops;
	int user_exits;		/* port I/O that reached userspace, but the end */
	uint16_t user_port;		/* the last one's port */
};

static void irqg_alarm(int sig)
{
	(void)sig;
}

/*
 * A VM with 4 MiB of RAM, KVM_CREATE_IRQCHIP and (pit_flags >= 0)
 * KVM_CREATE_PIT2 before its one vCPU, in 64-bit mode at the script guest.
 */
static inline void irqvm_create(struct irqvm *v, long pit_flags)
{
	struct tvm *t = &v->t;
	struct sigaction sa = { .sa_handler = irqg_alarm };
	int i;

	sigaction(SIGALRM, &sa, NULL);
	memset(v, 0, sizeof(*v));
	t->kvm = open_kvm();
	t->vm = ioctl(t->kvm, KVM_CREATE_VM, 0);
	if (t->vm < 0) {
		printf("Bail out! KVM_CREATE_VM: %s\n", strerror(errno));
		exit(1);
	}
	t->mem_size = 4 << 20;
	t->mem = guest_alloc(t->mem_size);
	if (set_slot(t->vm, 0, 0, t->mem, t->mem_size, 0)) {
		printf("Bail out! memory slot: %s\n", strerror(errno));
		exit(1);
	}
	if (ioctl(t->vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		exit(1);
	}
	if (pit_flags >= 0) {
		struct kvm_pit_config pc = { .flags = pit_flags };

		if (ioctl(t->vm, KVM_CREATE_PIT2, &pc) < 0) {
			printf("Bail out! KVM_CREATE_PIT2: %s\n", strerror(errno));
			exit(1);
		}
	}
	tvm_add_vcpu(t);
	tvm_cpuid(t);
	tvm_long_mode(t, IRQG_BASE);
	tvm_load(t, IRQG_BASE, irq_guest, irq_guest_end - irq_guest);
	/* Gates 0-127 only: the IDT's upper half overlaps the PML4. */
	for (i = 0; i < 128; i++)
		tvm_idt_set(t, i, IRQG_BASE + (irq_guest_stubs - irq_guest) + 16 * i);
}

static inline int irqg_add(struct irqvm *v, int op, uint16_t port, uint32_t val)
{
	struct irqg_op *s = (struct irqg_op *)(v->t.mem + IRQG_SCRIPT);

	if (v->nops >= IRQG_MAX_OPS - 1) {
		printf("Bail out! script too long\n");
		exit(1);
	}
	s[v->nops] = (struct irqg_op){ .op = op, .port = port, .val = val };
	return v->nops++;
}

static inline void s_out(struct irqvm *v, uint16_t port, uint8_t val)
{
	irqg_add(v, OP_OUT, port, val);
}

/* Returns the op index: read the byte with s_result() after the run. */
static inline int s_in(struct irqvm *v, uint16_t port)
{
	return irqg_add(v, OP_IN, port, 0);
}

static inline int s_inw(struct irqvm *v, uint16_t port)
{
	return irqg_add(v, OP_INW, port, 0);
}

static inline void s_hlt(struct irqvm *v)
{
	irqg_add(v, OP_HLT, 0, 0);
}

static inline void s_window(struct irqvm *v)
{
	irqg_add(v, OP_WINDOW, 0, 0);
}

static inline void s_spin(struct irqvm *v, uint32_t n)
{
	irqg_add(v, OP_SPIN, 0, n);
}

static inline uint8_t s_result(struct irqvm *v, int idx)
{
	return v->t.mem[IRQG_RESULT + idx];
}

static inline uint16_t s_resultw(struct irqvm *v, int idx)
{
	uint16_t w;

	memcpy(&w, v->t.mem + IRQG_RESULT + idx, 2);
	return w;
}

static inline uint32_t log_count(struct irqvm *v)
{
	uint32_t n;

	memcpy(&n, v->t.mem + IRQG_LOG, 4);
	return n;
}

static inline uint8_t log_vec(struct irqvm *v, int i)
{
	return v->t.mem[IRQG_LOG + 16 + i];
}

/* The logged vectors as "v1 v2 ..." (hex), for messages. */
static inline const char *log_str(struct irqvm *v)
{
	static char buf[256];
	uint32_t i, n = log_count(v);
	int len = 0;

	buf[0] = 0;
	for (i = 0; i < n && len < (int)sizeof(buf) - 8; i++)
		len += snprintf(buf + len, sizeof(buf) - len, "%s%x", i ? " " : "", log_vec(v, i));
	return buf;
}

static inline void log_clear(struct irqvm *v)
{
	memset(v->t.mem + IRQG_LOG, 0, 4096);
}

/*
 * Run the script written so far to its end (the guest's OUT to port 0x10)
 * within 10 s; the next script starts empty. Returns 0, or the exit seen.
 */
static inline int irqg_run(struct irqvm *v)
{
	int r;

	irqg_add(v, OP_END, 0, 0);
	v->nops = 0;
	memset(v->t.mem + IRQG_RESULT, 0, 4096);
	for (;;) {
		alarm(10);
		r = tvm_run(&v->t);
		alarm(0);
		if (r == KVM_EXIT_IO && v->t.run->io.port == 0x10)
			return 0;
		if (r == KVM_EXIT_IO) {
			v->user_exits++;
			v->user_port = v->t.run->io.port;
			if (v->t.run->io.direction == KVM_EXIT_IO_IN)
				tvm_io_set(&v->t, 0xff);
			continue;
		}
		printf("# script run ended with %s, rip %#llx\n", r < 0 ? strerror(-r) : exit_name(r),
		       (unsigned long long)tvm_rip(&v->t));
		return r ? r : -1;
	}
}

static inline int irq_line(struct irqvm *v, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	return xioctl(v->t.vm, KVM_IRQ_LINE, &l);
}

/* KVM_IRQ_LINE_STATUS: the status the kernel reports, or -errno. */
static inline int irq_line_status(struct irqvm *v, uint32_t irq, int level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };
	long r = xioctl(v->t.vm, KVM_IRQ_LINE_STATUS, &l);

	return r < 0 ? (int)r : l.status;
}

static inline int get_chip(struct irqvm *v, int id, struct kvm_irqchip *c)
{
	memset(c, 0, sizeof(*c));
	c->chip_id = id;
	return xioctl(v->t.vm, KVM_GET_IRQCHIP, c);
}

static inline void irqvm_destroy(struct irqvm *v)
{
	tvm_destroy(&v->t);
}

/* The 8259 pair initialized as a PC BIOS does, with vector bases mbase and sbase. */
static inline void s_pic_init(struct irqvm *v, uint8_t mbase, uint8_t sbase,
			      uint8_t icw4)
{
	s_out(v, 0x20, 0x11);
	s_out(v, 0x21, mbase);
	s_out(v, 0x21, 0x04);
	s_out(v, 0x21, icw4);
	s_out(v, 0xa0, 0x11);
	s_out(v, 0xa1, sbase);
	s_out(v, 0xa1, 0x02);
	s_out(v, 0xa1, icw4);
}

#endif
