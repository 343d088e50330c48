/* tests/driver/t_asyncpf.c: asynchronous page faults: CPUID and caps, the MSRs' checks from the VMM and the guest, and guest pages a userfaultfd holds back, with and without the feature, and L2 under nested SVM whose L1 asked for them as #PF #VMEXITs (or not). */
#include <asm/kvm_para.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "kvmtest.h"

extern const uint8_t apf_guest[], apf_guest_end[];
extern const uint8_t g_apf[], h_gp[], h_pf[], h_ready[], g_nest[], l2_read[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - apf_guest))
#define DATA		0x5000
#define APF_AREA	0x6000
#define HELD_GPA	0x400000
#define HELD_PAGES	8		/* 0-3 the first VM's, 4-7 the nested one's */
#define VM_PAGES	4
#define VEC		0x40
#define MAX_ENT		128

struct data {
	uint32_t gp_count, pf_count;
	uint64_t pf_cr2;
	uint32_t pf_err, pf_flags, rdy_count, rdy_token;
	uint32_t rdy_log[8];
	uint32_t val[VM_PAGES];
	uint32_t pad[4];
	uint64_t n_info1, n_info2, n_en;	/* the nested VM's */
	uint32_t n_intr;
};

/* The userfaultfd's side: a held page waits for the test's word, the others come after 20 ms. */
static struct {
	int fd;
	uint8_t *base;
	volatile int faults[HELD_PAGES];
	volatile int hold[HELD_PAGES];
	volatile int stop;
} uf;

static uint32_t pattern(int page)
{
	return 0xa5f00000 | page;
}

static void *uf_thread(void *arg)
{
	static uint8_t buf[4096] __attribute__((aligned(4096)));
	struct uffd_msg msg;

	(void)arg;
	while (!uf.stop) {
		struct pollfd p = { .fd = uf.fd, .events = POLLIN };
		struct uffdio_copy copy;
		int page;

		if (poll(&p, 1, 100) <= 0 || read(uf.fd, &msg, sizeof(msg)) != sizeof(msg))
			continue;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		page = (msg.arg.pagefault.address - (uintptr_t)uf.base) >> 12;
		if (page < 0 || page >= HELD_PAGES)
			continue;
		uf.faults[page]++;
		if (uf.hold[page])
			while (uf.hold[page] && !uf.stop)
				usleep(1000);
		else
			usleep(20000);
		for (int i = 0; i < 1024; i++)
			((uint32_t *)buf)[i] = pattern(page);
		copy = (struct uffdio_copy) {
			.dst = (uintptr_t)uf.base + page * 4096,
			.src = (uintptr_t)buf, .len = 4096,
		};
		ioctl(uf.fd, UFFDIO_COPY, &copy);
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

/* Run until the next exit: an OUT to port 0x10 with the phase, or ~0. */
static uint32_t run_phase(struct tvm *t)
{
	int r;

	alarm(20);
	r = tvm_run(t);
	alarm(0);
	if (r == KVM_EXIT_IO && t->run->io.port == 0x10)
		return tvm_io_val(t);
	tap_diag("expected OUT to 0x10, got exit %s", exit_name(r));
	return ~0U;
}

static bool cpuid_get(int fd, unsigned long req, struct kvm_cpuid2 *c)
{
	c->nent = MAX_ENT;
	return ioctl(fd, req, c) == 0;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn)
{
	for (uint32_t i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	return NULL;
}

/* The supported CPUID with 0x40000001 EAX set to @eax, on the vCPU. */
static void set_pv_cpuid(struct tvm *t, uint32_t eax)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[MAX_ENT];
	} c;
	struct kvm_cpuid_entry2 *e;

	if (!cpuid_get(t->kvm, KVM_GET_SUPPORTED_CPUID, &c.c) ||
	    !(e = cpuid_find(&c.c, KVM_CPUID_FEATURES)))
		goto fail;
	e->eax = eax;
	if (ioctl(t->vcpu, KVM_SET_CPUID2, &c) == 0)
		return;
fail:
	printf("Bail out! CPUID setup: %s\n", strerror(errno));
	exit(1);
}

static void caps_and_cpuid(void)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[MAX_ENT];
	} c;
	struct {
		struct kvm_msr_list l;
		uint32_t i[1024];
	} ml = { .l.nmsrs = 1024 };
	int kvm = open_kvm(), found = 0;
	struct kvm_cpuid_entry2 *e;

	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ASYNC_PF) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_ASYNC_PF_INT) == 1,
	       "KVM_CAP_ASYNC_PF and KVM_CAP_ASYNC_PF_INT are 1");
	e = cpuid_get(kvm, KVM_GET_SUPPORTED_CPUID, &c.c) ?
	    cpuid_find(&c.c, KVM_CPUID_FEATURES) : NULL;
	tap_ok(e && (e->eax & (1 << KVM_FEATURE_ASYNC_PF)) &&
	       (e->eax & (1 << KVM_FEATURE_ASYNC_PF_VMEXIT)) &&
	       (e->eax & (1 << KVM_FEATURE_ASYNC_PF_INT)),
	       "supported 0x40000001 EAX has ASYNC_PF, ASYNC_PF_VMEXIT, ASYNC_PF_INT (0x%x)",
	       e ? e->eax : 0);
	if (ioctl(kvm, KVM_GET_MSR_INDEX_LIST, &ml) == 0)
		for (uint32_t i = 0; i < ml.l.nmsrs; i++)
			found += ml.i[i] == MSR_KVM_ASYNC_PF_EN ||
				 ml.i[i] == MSR_KVM_ASYNC_PF_INT ||
				 ml.i[i] == MSR_KVM_ASYNC_PF_ACK;
	tap_ok(found == 3, "KVM_GET_MSR_INDEX_LIST lists ASYNC_PF_EN, _INT, _ACK (%d)", found);
	close(kvm);
}

/* The VMM's writes: the checks KVM makes, with and without an in-kernel APIC. */
static void host_msrs(void)
{
	struct kvm_enable_cap enforce = { .cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID, .args = { 1 } };
	uint64_t v = 0;
	struct tvm t;
	int r;

	/* No irqchip: only 0 for EN, nothing for INT. */
	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0) == 1 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 9) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, 0) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, 1) == 1,
	       "no local APIC in the kernel: ASYNC_PF_EN takes 0 only, ASYNC_PF_INT nothing, ACK anything");
	tvm_destroy(&t);

	memset(&t, 0, sizeof(t));
	t.kvm = open_kvm();
	t.vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	t.mem_size = 1 << 20;
	t.mem = guest_alloc(t.mem_size);
	if (t.vm < 0 || set_slot(t.vm, 0, 0, t.mem, t.mem_size, 0) ||
	    ioctl(t.vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! VM with irqchip: %s\n", strerror(errno));
		exit(1);
	}
	tvm_add_vcpu(&t);
	tvm_cpuid(&t);
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0x10 | 9) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0x20 | 9) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, 0x100) == 0,
	       "reserved bits refused: ASYNC_PF_EN bits 4, 5; ASYNC_PF_INT bit 8");
	r = tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0xf) == 1 &&
	    tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &v) == 1;
	tap_ok(r && v == (APF_AREA | 0xf),
	       "ASYNC_PF_EN round trip (0x%llx)", (unsigned long long)v);
	r = tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, 0xec) == 1 &&
	    tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &v) == 1;
	tap_ok(r && v == 0xec,
	       "ASYNC_PF_INT round trip (0x%llx)", (unsigned long long)v);
	tap_ok(tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, &v) == 1 && v == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, 0xfe) == 1,
	       "ASYNC_PF_ACK reads 0, takes any value");
	/* Outside memory: refused, yet the value stays (KVM writes it first). */
	r = tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0x40000000 | 9) == 0 &&
	    tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &v) == 1;
	tap_ok(r && v == (0x40000000 | 9),
	       "ASYNC_PF_EN with its area outside memory: refused, the value kept (0x%llx)",
	       (unsigned long long)v);
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0x40000000 | 1) == 1,
	       "ASYNC_PF_EN without DELIVERY_AS_INT is not enabled: any address goes");

	/* Enforced PV CPUID: a withheld feature's registers fail for the VMM too. */
	set_pv_cpuid(&t, 0);
	r = xioctl(t.vcpu, KVM_ENABLE_CAP, &enforce);
	tap_ok(r == 0 && tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0) == 0 &&
	       tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &v) == 0 &&
	       tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &v) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, 1) == 0,
	       "enforced CPUID without ASYNC_PF, ASYNC_PF_INT: the registers fail");
	set_pv_cpuid(&t, 1 << KVM_FEATURE_ASYNC_PF);
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 9) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 1) == 1 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 5) == 0,
	       "enforced CPUID with ASYNC_PF only: DELIVERY_AS_INT and AS_PF_VMEXIT refused");
	set_pv_cpuid(&t, (1 << KVM_FEATURE_ASYNC_PF) | (1 << KVM_FEATURE_ASYNC_PF_INT) |
		     (1 << KVM_FEATURE_ASYNC_PF_VMEXIT));
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0xf) == 1 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, VEC) == 1,
	       "enforced CPUID with all three: every delivery accepted");
	tvm_destroy(&t);
}

static void uf_setup(void)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	pthread_t th;

	uf.base = guest_alloc(HELD_PAGES * 4096);
	uf.fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uf.fd < 0 || ioctl(uf.fd, UFFDIO_API, &api)) {
		printf("Bail out! userfaultfd: %s\n", strerror(errno));
		exit(1);
	}
	reg.range.start = (uintptr_t)uf.base;
	reg.range.len = HELD_PAGES * 4096;
	if (ioctl(uf.fd, UFFDIO_REGISTER, &reg) ||
	    pthread_create(&th, NULL, uf_thread, NULL)) {
		printf("Bail out! UFFDIO_REGISTER: %s\n", strerror(errno));
		exit(1);
	}
	pthread_detach(th);
}

static void guest_run(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct data *d;
	struct tvm t;
	uint32_t ph;
	uint64_t en = 0, in = 0;
	int i, r;

	sigaction(SIGALRM, &sa, NULL);
	memset(&t, 0, sizeof(t));
	t.kvm = open_kvm();
	t.vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	t.mem_size = 4 << 20;
	t.mem = guest_alloc(t.mem_size);
	if (t.vm < 0 || set_slot(t.vm, 0, 0, t.mem, t.mem_size, 0) ||
	    set_slot(t.vm, 1, HELD_GPA, uf.base, VM_PAGES * 4096, 0) ||
	    ioctl(t.vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! VM with irqchip: %s\n", strerror(errno));
		exit(1);
	}
	tvm_add_vcpu(&t);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, apf_guest, apf_guest_end - apf_guest);
	tvm_long_mode(&t, GA(g_apf));
	tvm_idt_set(&t, 13, GA(h_gp));
	tvm_idt_set(&t, 14, GA(h_pf));
	tvm_idt_set(&t, VEC, GA(h_ready));
	d = (struct data *)(t.mem + DATA);

	ph = run_phase(&t);
	r = tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &en) == 1 &&
	    tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &in) == 1;
	tap_ok(ph == 1 && d->gp_count == 3 && r && en == 0 && in == 0,
	       "guest WRMSRs with reserved bits: #GP each, nothing written (phase %u, %u #GP)",
	       ph, d->gp_count);

	ph = run_phase(&t);
	tap_ok(ph == 2 && d->val[1] == pattern(1) && d->pf_count == 0 && uf.faults[1] == 1,
	       "without async page faults the vCPU waits for the held page (0x%x, %d #PF)",
	       d->val[1], d->pf_count);

	ph = run_phase(&t);
	tap_ok(ph == 3 && d->rdy_count == 1 && d->rdy_log[0] == 0xffffffff,
	       "enabling sends \"page ready\" for every page: token 0x%x", d->rdy_log[0]);

	ph = run_phase(&t);
	tap_ok(ph == 4 && d->pf_count == 1 && d->pf_flags == KVM_PV_REASON_PAGE_NOT_PRESENT &&
	       d->pf_err == 0 && d->pf_cr2 && (d->pf_cr2 & 0xfff) == 0 && d->pf_cr2 <= 0xffffffff,
	       "page 0 held: #PF, error code %u, flags %u (page not present), CR2 token 0x%llx",
	       d->pf_err, d->pf_flags, (unsigned long long)d->pf_cr2);
	tap_ok(ph == 4 && d->pf_cr2 == 0x2000,
	       "the token is (2 << 12) | vCPU 0: page 1 took the first, feature off (0x%llx)",
	       (unsigned long long)d->pf_cr2);
	for (i = 0; i < 5000 && !uf.faults[0]; i++)
		usleep(1000);
	tap_ok(uf.faults[0] == 1 && d->rdy_count == 1,
	       "the worker waits in the userfaultfd; no \"page ready\" yet");
	r = tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &en) == 1 &&
	    tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &in) == 1;
	tap_ok(r && en == (APF_AREA | 0xb) && in == VEC,
	       "KVM_GET_MSRS: ASYNC_PF_EN 0x%llx, ASYNC_PF_INT 0x%llx",
	       (unsigned long long)en, (unsigned long long)in);
	uf.hold[0] = 0;

	ph = run_phase(&t);
	tap_ok(ph == 5 && d->rdy_count == 2 && d->rdy_log[1] == d->pf_cr2,
	       "\"page ready\" with the same token once the page is in (0x%x)", d->rdy_log[1]);
	tap_ok(ph == 5 && d->val[0] == pattern(0) && d->pf_count == 1,
	       "then the guest reads the page (0x%x)", d->val[0]);

	ph = run_phase(&t);
	tap_ok(ph == 6 && d->rdy_count == 3 && d->rdy_log[2] == 0xffffffff,
	       "enabling again sends \"page ready\" for every page (0x%x)", d->rdy_log[2]);
	tap_ok(ph == 6 && d->val[2] == pattern(2) && d->pf_count == 1 && uf.faults[2] == 1,
	       "CPL 0 without SEND_ALWAYS: no #PF, the vCPU waits (0x%x, %d #PF, %u ready)",
	       d->val[2], d->pf_count, d->rdy_count);

	ph = run_phase(&t);
	tap_ok(ph == 7 && d->val[3] == pattern(3) && d->pf_count == 1 && d->rdy_count == 3,
	       "interrupts off: the fault waits for the page (0x%x)", d->val[3]);

	ph = run_phase(&t);
	r = tvm_get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &en);
	tap_ok(ph == 8 && r == 1 && en == 0 &&
	       d->rdy_count == 3,
	       "disabled again: ASYNC_PF_EN 0x%llx", (unsigned long long)en);

	tvm_destroy(&t);
}

/* ---- nested: L1 runs L2 with its own NPT ---- */

#define N_VMCB12	0x10000
#define N_HSAVE		0x11000
#define N_IOPM		0x14000
#define N_MSRPM		0x18000
#define N_NPT		0x20000		/* 3 pages */
#define N_L2_RSP	0x7800
#define EXIT_EXCP_PF	0x4e
#define EXIT_VMMCALL	0x81
#define APF_EN_BITS	(KVM_ASYNC_PF_ENABLED | KVM_ASYNC_PF_DELIVERY_AS_INT)

/*
 * VMCB12 (AMD APM vol. 2, appendix B): L2 at CPL 0 in L1's 64-bit world
 * on L1's NPT, reading the word at @addr; L1 intercepts VMRUN, VMMCALL,
 * INTR (with V_INTR_MASKING) and, if @icpt_pf, #PF.
 */
static void vmcb12_l2(struct tvm *t, uint64_t addr, bool icpt_pf)
{
	memset(t->mem + N_VMCB12, 0, 4096);
	tvm_put32(t, N_VMCB12 + 0x08, icpt_pf ? 1U << 14 : 0);	/* exceptions */
	tvm_put32(t, N_VMCB12 + 0x0c, 1U << 0);			/* INTR */
	tvm_put32(t, N_VMCB12 + 0x10, 3);				/* VMRUN, VMMCALL */
	tvm_put64(t, N_VMCB12 + 0x40, N_IOPM);
	tvm_put64(t, N_VMCB12 + 0x48, N_MSRPM);
	tvm_put32(t, N_VMCB12 + 0x58, 1);				/* ASID */
	tvm_put32(t, N_VMCB12 + 0x60, 1U << 24);			/* V_INTR_MASKING */
	tvm_put64(t, N_VMCB12 + 0x90, 1);				/* nested paging */
	tvm_put64(t, N_VMCB12 + 0xb0, N_NPT);
	tvm_vmcb_seg(t, N_VMCB12, 0x400, 0x10, 0xc93, 0xffffffff, 0);	/* ES */
	tvm_vmcb_seg(t, N_VMCB12, 0x410, 8, 0xa9b, 0xffffffff, 0);		/* CS */
	tvm_vmcb_seg(t, N_VMCB12, 0x420, 0x10, 0xc93, 0xffffffff, 0);	/* SS */
	tvm_vmcb_seg(t, N_VMCB12, 0x430, 0x10, 0xc93, 0xffffffff, 0);	/* DS */
	tvm_vmcb_seg(t, N_VMCB12, 0x460, 0, 0, 23, T_GDT);
	tvm_vmcb_seg(t, N_VMCB12, 0x480, 0, 0, 256 * 16 - 1, T_IDT);
	tvm_put64(t, N_VMCB12 + 0x4d0, 0x1500);			/* EFER: SVME, LMA, LME */
	tvm_put64(t, N_VMCB12 + 0x548, 0x20);			/* CR4 */
	tvm_put64(t, N_VMCB12 + 0x550, 0x9000);			/* CR3 */
	tvm_put64(t, N_VMCB12 + 0x558, 0x80050033);			/* CR0 */
	tvm_put64(t, N_VMCB12 + 0x560, 0x400);			/* DR7 */
	tvm_put64(t, N_VMCB12 + 0x568, 0xffff0ff0);			/* DR6 */
	tvm_put64(t, N_VMCB12 + 0x570, 2);				/* RFLAGS */
	tvm_put64(t, N_VMCB12 + 0x578, GA(l2_read));
	tvm_put64(t, N_VMCB12 + 0x5d8, N_L2_RSP);
	tvm_put64(t, N_VMCB12 + 0x5f8, addr);			/* RAX */
	tvm_put64(t, N_VMCB12 + 0x668, 0x0007040600070406ULL);	/* G_PAT */
}

/* L1's next report: a #VMEXIT code on port 0x12, or ~0. */
static uint32_t n_exit(struct tvm *t, const char *what)
{
	int r;

	alarm(20);
	r = tvm_run(t);
	alarm(0);
	if (r == KVM_EXIT_IO && t->run->io.port == 0x12)
		return tvm_io_val(t);
	tap_diag("%s: expected OUT to 0x12, got exit %s (port 0x%x)", what, exit_name(r),
		 r == KVM_EXIT_IO ? t->run->io.port : 0);
	return ~0U;
}

static bool nested_offered(int kvm)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[MAX_ENT];
	} c;
	struct kvm_cpuid_entry2 *e, *s;

	if (!cpuid_get(kvm, KVM_GET_SUPPORTED_CPUID, &c.c))
		return false;
	e = cpuid_find(&c.c, 0x80000001);
	s = cpuid_find(&c.c, 0x8000000a);
	return e && (e->ecx & (1U << 2)) && s && (s->edx & 1);
}

#define NESTED_POINTS	5

/*
 * L1 enables async page faults with DELIVERY_AS_PF_VMEXIT and runs L2 on
 * its NPT (identity, 2 MiB pages); L2 reads pages 4-7, which the
 * userfaultfd holds back. Stock 6.1 is the oracle: it writes "page not
 * present" into L1's flags and queues #VMEXIT(#PF) with the token, but
 * does not ask for an event check, so L2 runs again, and the exit of its
 * retried access drops the queued #VMEXIT; the access then waits for the
 * page. L1 gets "page ready" with the token (as #VMEXIT(INTR): it
 * intercepts interrupts), whether or not it intercepts #PF. Without
 * AS_PF_VMEXIT, or at L2's CPL 0 without SEND_ALWAYS, the vCPU only
 * waits: no flags, no "page ready".
 */
static void nested_run(void)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	uint32_t code, flags;
	uint64_t val;
	struct data *d;
	struct tvm t;
	int i, r;

	memset(&t, 0, sizeof(t));
	t.kvm = open_kvm();
	if (!nested_offered(t.kvm)) {
		for (i = 0; i < NESTED_POINTS; i++)
			tap_skip("no SVM with nested paging offered", "nested async page faults");
		close(t.kvm);
		return;
	}
	sigaction(SIGALRM, &sa, NULL);
	t.vm = ioctl(t.kvm, KVM_CREATE_VM, 0);
	t.mem_size = 4 << 20;
	t.mem = guest_alloc(t.mem_size);
	if (t.vm < 0 || set_slot(t.vm, 0, 0, t.mem, t.mem_size, 0) ||
	    set_slot(t.vm, 1, HELD_GPA, uf.base + VM_PAGES * 4096, VM_PAGES * 4096, 0) ||
	    ioctl(t.vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		printf("Bail out! nested VM with irqchip: %s\n", strerror(errno));
		exit(1);
	}
	tvm_add_vcpu(&t);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, apf_guest, apf_guest_end - apf_guest);
	tvm_long_mode(&t, GA(g_nest));
	tvm_idt_set(&t, 13, GA(h_gp));
	tvm_idt_set(&t, VEC, GA(h_ready));
	d = (struct data *)(t.mem + DATA);
	/* L1's NPT: L2's first 6 MiB on L1's, 2 MiB pages. */
	tvm_put64(&t, N_NPT, (N_NPT + 0x1000) | 7);
	tvm_put64(&t, N_NPT + 0x1000, (N_NPT + 0x2000) | 7);
	for (i = 0; i < 3; i++)
		tvm_put64(&t, N_NPT + 0x2000 + i * 8, ((uint64_t)i << 21) | 0x87);

	/* Page 4, held until the test lets it go; L1 intercepts #PF. */
	vmcb12_l2(&t, HELD_GPA, true);
	alarm(1);
	r = tvm_run(&t);
	alarm(0);
	for (i = 0; i < 5000 && !uf.faults[4]; i++)
		usleep(1000);
	flags = *(uint32_t *)(t.mem + APF_AREA);
	tap_ok(r == -EINTR && uf.faults[4] == 1 && d->pf_count == 0 &&
	       flags == KVM_PV_REASON_PAGE_NOT_PRESENT && d->rdy_count == 1,
	       "nested: L2's held page: flags %u (page not present) for L1, no #VMEXIT(#PF) (%u), the vCPU waits (KVM_RUN %d)",
	       flags, d->pf_count, r);
	uf.hold[4] = 0;
	code = n_exit(&t, "page 4 in");
	val = tvm_get64(&t, N_VMCB12 + 0x5f8);
	tap_ok(code == EXIT_VMMCALL && d->rdy_count == 2 && d->rdy_log[1] == 0x1000 &&
	       d->n_intr == 1 && val == pattern(4) && d->pf_count == 0,
	       "nested: then \"page ready\", token 0x%x, to L1 as #VMEXIT(INTR) (%u), and L2 reads the page (0x%llx, code 0x%x)",
	       d->rdy_log[1], d->n_intr, (unsigned long long)val, code);

	/* Page 5: L1 does not intercept #PF: the same. */
	*(uint32_t *)(t.mem + APF_AREA) = 0;
	vmcb12_l2(&t, HELD_GPA + 0x1000, false);
	code = n_exit(&t, "page 5");
	val = tvm_get64(&t, N_VMCB12 + 0x5f8);
	flags = *(uint32_t *)(t.mem + APF_AREA);
	tap_ok(code == EXIT_VMMCALL && val == pattern(5) && uf.faults[5] == 1 &&
	       d->pf_count == 0 && flags == KVM_PV_REASON_PAGE_NOT_PRESENT &&
	       d->rdy_count == 3 && d->rdy_log[2] == 0x2000 && d->n_intr == 2,
	       "nested: L1 not intercepting #PF: flags %u, \"page ready\" 0x%x, L2 reads (0x%llx, code 0x%x)",
	       flags, d->rdy_log[2], (unsigned long long)val, code);

	/* Page 6: L1 without DELIVERY_AS_PF_VMEXIT: the vCPU waits, L1 sees nothing. */
	*(uint32_t *)(t.mem + APF_AREA) = 0;
	d->n_en = APF_AREA | APF_EN_BITS | KVM_ASYNC_PF_SEND_ALWAYS;
	vmcb12_l2(&t, HELD_GPA + 0x2000, true);
	code = n_exit(&t, "page 6");
	val = tvm_get64(&t, N_VMCB12 + 0x5f8);
	flags = *(uint32_t *)(t.mem + APF_AREA);
	tap_ok(code == EXIT_VMMCALL && val == pattern(6) && uf.faults[6] == 1 &&
	       d->pf_count == 0 && flags == 0 && d->rdy_count == 4 &&
	       d->rdy_log[3] == 0xffffffff && d->n_intr == 2,
	       "nested: L1 without AS_PF_VMEXIT: no flags, no \"page ready\" but the enabling one, L2 reads (0x%llx, %u ready, code 0x%x)",
	       (unsigned long long)val, d->rdy_count, code);

	/* Page 7: AS_PF_VMEXIT without SEND_ALWAYS, L2 at CPL 0: waits too. */
	d->n_en = APF_AREA | APF_EN_BITS | KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT;
	vmcb12_l2(&t, HELD_GPA + 0x3000, true);
	code = n_exit(&t, "page 7");
	val = tvm_get64(&t, N_VMCB12 + 0x5f8);
	flags = *(uint32_t *)(t.mem + APF_AREA);
	tap_ok(code == EXIT_VMMCALL && val == pattern(7) && uf.faults[7] == 1 &&
	       d->pf_count == 0 && flags == 0 && d->rdy_count == 5 &&
	       d->rdy_log[4] == 0xffffffff && d->n_intr == 2,
	       "nested: L2 at CPL 0 without SEND_ALWAYS: no flags, L2 reads (0x%llx, %u ready, code 0x%x)",
	       (unsigned long long)val, d->rdy_count, code);
	tvm_destroy(&t);
}

int main(void)
{
	tap_plan(26 + NESTED_POINTS);
	caps_and_cpuid();
	host_msrs();
	uf_setup();
	uf.hold[0] = uf.hold[4] = 1;
	guest_run();
	nested_run();
	uf.stop = 1;
	return tap_done();
}
