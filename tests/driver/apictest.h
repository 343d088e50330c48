/*
 * tests/driver/apictest.h: the VMM side of the irqchip tests (t_lapic, t_ioapic,
 * t_smp): a VM whose vCPUs run apicguest.S's command loop, one command per
 * KVM_RUN, a watchdog per vCPU thread (a timer signal that makes a stuck
 * KVM_RUN return EINTR), and optional worker threads, one per vCPU.
 *
 * Guest physical layout (RAM slot 0, 2 MiB at 0): page tables at 0x1000
 * (PML4), 0x2000 (PDPT), 0x3000-0x6fff (identity map of 4 GiB, 2 MiB pages,
 * the top GiB uncached); GDT 0x8000 (0x08 64-bit code, 0x10 data, 0x18
 * 32-bit code); IDT 0x9000 (256 gates to apicguest.S's stubs); per-CPU blocks
 * at 0x10000 + cpu * 0x1000; stacks below 0x21000 + cpu * 0x1000; shared
 * words at 0x30000; the guest code at 0x40000 (SIPI vector 0x40).
 */
#ifndef APICTEST_H
#define APICTEST_H

#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <sys/syscall.h>

#include "kvmtest.h"

#define G_BASE		0x40000
#define G_PERCPU	0x10000
#define G_STACKS	0x20000
#define G_SHARED	0x30000
#define G_MEM		(2 << 20)
#define G_SIPI_VEC	(G_BASE >> 12)
#define IVM_MAX		8

#define APIC		0xfee00000u
#define IOAPIC		0xfec00000u

/* xAPIC register offsets */
#define A_ID		0x20
#define A_LVR		0x30
#define A_TPR		0x80
#define A_APR		0x90
#define A_PPR		0xa0
#define A_EOI		0xb0
#define A_LDR		0xd0
#define A_DFR		0xe0
#define A_SVR		0xf0
#define A_ISR		0x100
#define A_TMR		0x180
#define A_IRR		0x200
#define A_ESR		0x280
#define A_ICR		0x300
#define A_ICR2		0x310
#define A_LVTT		0x320
#define A_LVTTHM	0x330
#define A_LVTPC		0x340
#define A_LVT0		0x350
#define A_LVT1		0x360
#define A_LVTERR	0x370
#define A_TMICT		0x380
#define A_TMCCT		0x390
#define A_TDCR		0x3e0

/* guest commands (apicguest.S) */
enum { OP_NOP, OP_RD32, OP_WR32, OP_RDMSR, OP_WRMSR, OP_STI_HLT, OP_WINDOW,
       OP_RDTSC, OP_WAIT, OP_CPUID, OP_WRRD32, OP_CR8, OP_SPIN_MEM, OP_BUSY,
       OP_HLT_TSC, OP_SPIN_IRQ, OP_WR32X2, OP_RDMSR_SAFE, OP_WRMSR_SAFE };

extern const uint8_t apic_guest[], apic_guest_end[], apic_entry64[], apic_stubs[];

struct ivm;

struct icpu {
	struct ivm *v;
	int idx;
	int fd;
	struct kvm_run *run;
	int broken;		/* a command failed: the guest is not at its loop */
	int started;
	int mmio_exits;		/* MMIO exits seen (reads answered with 0) */
	int eagain;		/* KVM_RUN returned EAGAIN (an AP's INIT/SIPI) */
	pid_t wd_tid;
	timer_t wd;
	/* worker thread */
	pthread_t th;
	int has_th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int job, job_done, quit;
	uint64_t j_op, j_a, j_b, j_c, j_res;
	int j_ms;
};

struct ivm {
	int kvm, vm;
	uint8_t *mem;
	int ncpu;
	struct icpu cpu[IVM_MAX];
};

static inline uint8_t *pcpu(struct icpu *c)
{
	return c->v->mem + G_PERCPU + c->idx * 0x1000;
}

#define PC64(c, off)	(*(volatile uint64_t *)(pcpu(c) + (off)))
#define PC32(c, off)	(*(volatile uint32_t *)(pcpu(c) + (off)))
#define SH32(v, off)	(*(volatile uint32_t *)((v)->mem + G_SHARED + (off)))

static inline uint32_t irqs(struct icpu *c, int vec) { return PC32(c, 0x100 + 4 * vec); }
static inline uint64_t nirq(struct icpu *c) { return PC64(c, 0x40); }
static inline uint8_t irq_log(struct icpu *c, int i) { return pcpu(c)[0x800 + (i & 255)]; }
/* 0: the handler does not EOI; 1: xAPIC EOI; 2: x2APIC EOI MSR. */
static inline void eoi_mode(struct icpu *c, int vec, int mode) { pcpu(c)[0x600 + vec] = mode; }
static inline void eoi_mode_all(struct icpu *c, int mode) { memset(pcpu(c) + 0x600 + 32, mode, 224); }

static inline void irq_reset(struct icpu *c)
{
	memset(pcpu(c) + 0x100, 0, 0x400);
	memset(pcpu(c) + 0x800, 0, 0x100);
	PC64(c, 0x40) = 0;
	PC64(c, 0x48) = 0;
}

static void wd_signal(int s) { (void)s; }

static inline void wd_arm(struct icpu *c, int ms)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	struct itimerspec its = { .it_value = { ms / 1000, (ms % 1000) * 1000000L } };

	if (c->wd_tid != tid) {
		struct sigevent sev;
		struct sigaction sa = { .sa_handler = wd_signal };

		sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART: KVM_RUN returns EINTR */
		if (c->wd_tid)
			timer_delete(c->wd);
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_THREAD_ID;
		sev.sigev_signo = SIGUSR1;
		sev._sigev_un._tid = tid;
		if (timer_create(CLOCK_MONOTONIC, &sev, &c->wd)) {
			printf("Bail out! timer_create: %s\n", strerror(errno));
			exit(1);
		}
		c->wd_tid = tid;
	}
	timer_settime(c->wd, 0, &its, NULL);
}

static inline void wd_disarm(struct icpu *c)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };

	if (c->wd_tid)
		timer_settime(c->wd, 0, &its, NULL);
}

static inline double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * Run the vCPU until it reports ready on port 0x10. MMIO exits (a removed
 * slot) read 0; EAGAIN (an AP woken by INIT) runs again. 0 when ready, -1
 * otherwise (the vCPU is then broken: a diagnostic says why).
 */
static inline int icpu_run(struct icpu *c, int ms)
{
	int r;

	if (c->broken)
		return -1;
	wd_arm(c, ms);
	for (;;) {
		if (ioctl(c->fd, KVM_RUN, 0) < 0) {
			if (errno == EAGAIN) {
				c->eagain++;
				continue;
			}
			r = -errno;
			break;
		}
		r = c->run->exit_reason;
		if (r == KVM_EXIT_MMIO) {
			c->mmio_exits++;
			if (!c->run->mmio.is_write)
				memset(c->run->mmio.data, 0, sizeof(c->run->mmio.data));
			continue;
		}
		break;
	}
	wd_disarm(c);
	if (r == KVM_EXIT_IO && c->run->io.port == 0x10 && c->run->io.direction == KVM_EXIT_IO_OUT)
		return 0;
	c->broken = 1;
	if (r == -EINTR)
		tap_diag("cpu %d: no exit within %d ms (watchdog)", c->idx, ms);
	else if (r == KVM_EXIT_IO && c->run->io.port == 0x11)
		tap_diag("cpu %d: guest exception, vector %u", c->idx,
			 *((uint8_t *)c->run + c->run->io.data_offset));
	else if (r < 0)
		tap_diag("cpu %d: KVM_RUN: %s", c->idx, strerror(-r));
	else
		tap_diag("cpu %d: unexpected exit %s", c->idx, exit_name(r));
	return -1;
}

static int cmd_timeout_ms = 5000;

/* One guest command; the result (or ~0 when the vCPU failed). */
static inline uint64_t cmd_t(struct icpu *c, int ms, uint64_t op, uint64_t a, uint64_t b, uint64_t cc)
{
	if (!c->started) {
		c->started = 1;
		if (icpu_run(c, ms))
			return ~0ULL;
	}
	PC64(c, 0x00) = op;
	PC64(c, 0x08) = a;
	PC64(c, 0x10) = b;
	PC64(c, 0x18) = cc;
	PC64(c, 0x20) = 0;
	if (icpu_run(c, ms))
		return ~0ULL;
	return PC64(c, 0x20);
}

static inline uint64_t cmd(struct icpu *c, uint64_t op, uint64_t a, uint64_t b, uint64_t cc)
{
	return cmd_t(c, cmd_timeout_ms, op, a, b, cc);
}

static inline uint32_t apic_rd(struct icpu *c, uint32_t reg) { return (uint32_t)cmd(c, OP_RD32, APIC + reg, 0, 0); }
static inline void apic_wr(struct icpu *c, uint32_t reg, uint32_t val) { cmd(c, OP_WR32, APIC + reg, val, 0); }
static inline uint64_t msr_rd(struct icpu *c, uint32_t msr) { return cmd(c, OP_RDMSR, msr, 0, 0); }
static inline void msr_wr(struct icpu *c, uint32_t msr, uint64_t val) { cmd(c, OP_WRMSR, msr, val, 0); }
/* The vector of the fault the access took (13: #GP), 0 when none, -1 when the vCPU failed. */
static inline int msr_rd_safe(struct icpu *c, uint32_t msr, uint64_t *val)
{
	uint64_t r = cmd(c, OP_RDMSR_SAFE, msr, 0, 0);

	if (val)
		*val = r;
	return c->broken ? -1 : (int)PC64(c, 0x28);
}
static inline int msr_wr_safe(struct icpu *c, uint32_t msr, uint64_t val)
{
	cmd(c, OP_WRMSR_SAFE, msr, val, 0);
	return c->broken ? -1 : (int)PC64(c, 0x28);
}
/* Interrupts enabled for a moment (a few thousand PAUSEs): what is pending is taken. */
static inline uint64_t window(struct icpu *c) { return cmd(c, OP_WINDOW, 0, 0, 2000); }
/* ICR (destination in the high word) */
static inline void apic_icr(struct icpu *c, uint32_t dest, uint32_t lo)
{
	cmd(c, OP_WR32X2, APIC + A_ICR2, ((uint64_t)dest << 32) | lo, 0);
}
static inline int apic_bit(struct icpu *c, uint32_t base, int vec)
{
	return (apic_rd(c, base + (vec / 32) * 0x10) >> (vec % 32)) & 1;
}

static inline uint32_t ioapic_rd(struct icpu *c, uint32_t reg)
{
	cmd(c, OP_WR32, IOAPIC, reg, 0);
	return (uint32_t)cmd(c, OP_RD32, IOAPIC + 0x10, 0, 0);
}
static inline void ioapic_wr(struct icpu *c, uint32_t reg, uint32_t val)
{
	cmd(c, OP_WR32, IOAPIC, reg, 0);
	cmd(c, OP_WR32, IOAPIC + 0x10, val, 0);
}

/* CPUID for one vCPU: the supported set with leaf 1 ECX bits changed. */
static inline void icpu_cpuid(struct icpu *c, uint32_t ecx_set, uint32_t ecx_clear)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[100];
	} b = { .h.nent = 100 };
	uint32_t i;

	if (ioctl(c->v->kvm, KVM_GET_SUPPORTED_CPUID, &b) < 0) {
		printf("Bail out! KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
		exit(1);
	}
	for (i = 0; i < b.h.nent; i++) {
		if (b.e[i].function == 1) {
			b.e[i].ecx = (b.e[i].ecx | ecx_set) & ~ecx_clear;
			b.e[i].ebx = (b.e[i].ebx & 0x00ffffff) | ((uint32_t)c->idx << 24);
		}
	}
	if (ioctl(c->fd, KVM_SET_CPUID2, &b) < 0) {
		printf("Bail out! KVM_SET_CPUID2: %s\n", strerror(errno));
		exit(1);
	}
}

/* Leaf 1 ECX of KVM_GET_SUPPORTED_CPUID. */
static inline uint32_t supported_cpuid1_ecx(int kvm)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[100];
	} b = { .h.nent = 100 };
	uint32_t i;

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &b) < 0)
		return 0;
	for (i = 0; i < b.h.nent; i++)
		if (b.e[i].function == 1)
			return b.e[i].ecx;
	return 0;
}

/* The BSP (cpu 0) in long mode at apic_entry64. */
static inline void icpu_long_mode(struct icpu *c)
{
	struct kvm_segment cs = { .base = 0, .limit = 0xffffffff, .selector = 8,
		.type = 11, .present = 1, .s = 1, .l = 1, .g = 1 };
	struct kvm_segment ds = { .base = 0, .limit = 0xffffffff, .selector = 0x10,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	struct kvm_sregs s;
	struct kvm_regs r;

	ioctl(c->fd, KVM_GET_SREGS, &s);
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.gdt.base = 0x8000;
	s.gdt.limit = 31;
	s.idt.base = 0x9000;
	s.idt.limit = 4095;
	s.cr0 = 0x80050033;
	s.cr3 = 0x1000;
	s.cr4 = 0x20;
	s.efer = 0x500;
	if (ioctl(c->fd, KVM_SET_SREGS, &s) < 0) {
		printf("Bail out! KVM_SET_SREGS: %s\n", strerror(errno));
		exit(1);
	}
	memset(&r, 0, sizeof(r));
	r.rip = G_BASE + (apic_entry64 - apic_guest);
	r.rflags = 2;
	r.r14 = c->idx;
	ioctl(c->fd, KVM_SET_REGS, &r);
}

static inline void icpu_init(struct ivm *v, int i)
{
	struct icpu *c = &v->cpu[i];
	int sz = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);

	memset(c, 0, sizeof(*c));
	c->v = v;
	c->idx = i;
	c->fd = ioctl(v->vm, KVM_CREATE_VCPU, i);
	if (c->fd < 0) {
		printf("Bail out! KVM_CREATE_VCPU %d: %s\n", i, strerror(errno));
		exit(1);
	}
	c->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, c->fd, 0);
	if (c->run == MAP_FAILED) {
		printf("Bail out! mmap kvm_run: %s\n", strerror(errno));
		exit(1);
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
}

/*
 * A VM with @ncpu vCPUs, the in-kernel irqchip when @irqchip, every vCPU
 * given the supported CPUID (leaf 1 ECX | @ecx_set); the BSP in long mode
 * at the command loop, the APs in their reset state.
 */
static inline void ivm_create(struct ivm *v, int ncpu, int irqchip, uint32_t ecx_set)
{
	uint64_t *pml4, *pdpt, *gdt;
	int i, j;

	memset(v, 0, sizeof(*v));
	v->kvm = open_kvm();
	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0) {
		printf("Bail out! KVM_CREATE_VM: %s\n", strerror(errno));
		exit(1);
	}
	v->mem = guest_alloc(G_MEM);
	if (set_slot(v->vm, 0, 0, v->mem, G_MEM, 0)) {
		printf("Bail out! memory slot: %s\n", strerror(errno));
		exit(1);
	}
	if (irqchip && ioctl(v->vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! KVM_CREATE_IRQCHIP: %s\n", strerror(errno));
		exit(1);
	}
	pml4 = (uint64_t *)(v->mem + 0x1000);
	pdpt = (uint64_t *)(v->mem + 0x2000);
	pml4[0] = 0x2000 | 3;
	for (i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(v->mem + 0x3000 + i * 0x1000);

		pdpt[i] = (0x3000 + i * 0x1000) | 3;
		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + 0x83 + (i == 3 ? 0x18 : 0);
	}
	gdt = (uint64_t *)(v->mem + 0x8000);
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffULL;
	gdt[2] = 0x00cf92000000ffffULL;
	gdt[3] = 0x00cf9a000000ffffULL;
	for (i = 0; i < 256; i++) {
		uint64_t h = G_BASE + (apic_stubs - apic_guest) + i * 16;
		uint64_t *g = (uint64_t *)(v->mem + 0x9000 + i * 16);

		g[0] = (h & 0xffff) | (8ULL << 16) | (0x8eULL << 40) | ((h >> 16) & 0xffff) << 48;
		g[1] = h >> 32;
	}
	memcpy(v->mem + G_BASE, apic_guest, apic_guest_end - apic_guest);
	v->ncpu = ncpu;
	for (i = 0; i < ncpu; i++) {
		icpu_init(v, i);
		icpu_cpuid(&v->cpu[i], ecx_set, 0);
	}
	icpu_long_mode(&v->cpu[0]);
}

/* ---- worker threads: one per vCPU, running the commands posted to it ---- */

static void *icpu_thread(void *p)
{
	struct icpu *c = p;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->job && !c->quit)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->quit)
			break;
		pthread_mutex_unlock(&c->mu);
		if (c->j_op == ~0ULL) {		/* start: run to the first ready */
			c->started = 1;
			c->j_res = icpu_run(c, c->j_ms) ? ~0ULL : 0;
		} else {
			c->j_res = cmd_t(c, c->j_ms, c->j_op, c->j_a, c->j_b, c->j_c);
		}
		pthread_mutex_lock(&c->mu);
		c->job = 0;
		c->job_done = 1;
		pthread_cond_broadcast(&c->cv);
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static inline void th_start(struct icpu *c)
{
	if (!c->has_th && !pthread_create(&c->th, NULL, icpu_thread, c))
		c->has_th = 1;
}

/* Post a command to the vCPU's thread (op ~0: run to its first ready). */
static inline void th_post(struct icpu *c, int ms, uint64_t op, uint64_t a, uint64_t b, uint64_t cc)
{
	th_start(c);
	pthread_mutex_lock(&c->mu);
	c->j_op = op;
	c->j_a = a;
	c->j_b = b;
	c->j_c = cc;
	c->j_ms = ms;
	c->job_done = 0;
	c->job = 1;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static inline uint64_t th_wait(struct icpu *c)
{
	pthread_mutex_lock(&c->mu);
	while (!c->job_done)
		pthread_cond_wait(&c->cv, &c->mu);
	pthread_mutex_unlock(&c->mu);
	return c->j_res;
}

static inline uint64_t th_cmd(struct icpu *c, uint64_t op, uint64_t a, uint64_t b, uint64_t cc)
{
	th_post(c, cmd_timeout_ms, op, a, b, cc);
	return th_wait(c);
}

static inline void ivm_destroy(struct ivm *v)
{
	int i;

	for (i = 0; i < v->ncpu; i++) {
		struct icpu *c = &v->cpu[i];

		if (c->has_th) {
			pthread_mutex_lock(&c->mu);
			c->quit = 1;
			pthread_cond_broadcast(&c->cv);
			pthread_mutex_unlock(&c->mu);
			pthread_join(c->th, NULL);
		}
		if (c->wd_tid)
			timer_delete(c->wd);
		munmap(c->run, ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0));
		close(c->fd);
	}
	close(v->vm);
	close(v->kvm);
	munmap(v->mem, G_MEM);
}

#endif
