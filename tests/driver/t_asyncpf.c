/* tests/driver/t_asyncpf.c: asynchronous page faults: CPUID and caps, the MSRs' checks from the VMM and the guest, and guest pages a userfaultfd holds back, with and without the feature. */
#include <asm/kvm_para.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "kvmtest.h"

extern const uint8_t apf_guest[], apf_guest_end[];
extern const uint8_t g_apf[], h_gp[], h_pf[], h_ready[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - apf_guest))
#define DATA		0x5000
#define APF_AREA	0x6000
#define HELD_GPA	0x400000
#define HELD_PAGES	4
#define VEC		0x40
#define MAX_ENT		128

struct data {
	uint32_t gp_count, pf_count;
	uint64_t pf_cr2;
	uint32_t pf_err, pf_flags, rdy_count, rdy_token;
	uint32_t rdy_log[8];
	uint32_t val[HELD_PAGES];
};

/* The userfaultfd's side: page 0 waits for the test's word, the others come after 20 ms. */
static struct {
	int fd;
	uint8_t *base;
	volatile int faults[HELD_PAGES];
	volatile int release0;
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
		if (page == 0)
			while (!uf.release0 && !uf.stop)
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

static int set_msr(int vcpu, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} s = { .m.nmsrs = 1, .e = { .index = index, .data = data } };

	return ioctl(vcpu, KVM_SET_MSRS, &s);
}

/* 1 and the value, or what KVM_GET_MSRS returned (0: refused). */
static int get_msr(int vcpu, uint32_t index, uint64_t *data)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} s = { .m.nmsrs = 1, .e = { .index = index } };
	int r = ioctl(vcpu, KVM_GET_MSRS, &s);

	*data = s.e.data;
	return r;
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
	tap_ok(set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0) == 1 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 9) == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, 0) == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, 1) == 1,
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
	tap_ok(set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0x10 | 9) == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0x20 | 9) == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, 0x100) == 0,
	       "reserved bits refused: ASYNC_PF_EN bits 4, 5; ASYNC_PF_INT bit 8");
	r = set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0xf) == 1 &&
	    get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &v) == 1;
	tap_ok(r && v == (APF_AREA | 0xf),
	       "ASYNC_PF_EN round trip (0x%llx)", (unsigned long long)v);
	r = set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, 0xec) == 1 &&
	    get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &v) == 1;
	tap_ok(r && v == 0xec,
	       "ASYNC_PF_INT round trip (0x%llx)", (unsigned long long)v);
	tap_ok(get_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, &v) == 1 && v == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, 0xfe) == 1,
	       "ASYNC_PF_ACK reads 0, takes any value");
	/* Outside memory: refused, yet the value stays (KVM writes it first). */
	r = set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0x40000000 | 9) == 0 &&
	    get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &v) == 1;
	tap_ok(r && v == (0x40000000 | 9),
	       "ASYNC_PF_EN with its area outside memory: refused, the value kept (0x%llx)",
	       (unsigned long long)v);
	tap_ok(set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0x40000000 | 1) == 1,
	       "ASYNC_PF_EN without DELIVERY_AS_INT is not enabled: any address goes");

	/* Enforced PV CPUID: a withheld feature's registers fail for the VMM too. */
	set_pv_cpuid(&t, 0);
	r = xioctl(t.vcpu, KVM_ENABLE_CAP, &enforce);
	tap_ok(r == 0 && set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, 0) == 0 &&
	       get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &v) == 0 &&
	       get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &v) == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_ACK, 1) == 0,
	       "enforced CPUID without ASYNC_PF, ASYNC_PF_INT: the registers fail");
	set_pv_cpuid(&t, 1 << KVM_FEATURE_ASYNC_PF);
	tap_ok(set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 9) == 0 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 1) == 1 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 5) == 0,
	       "enforced CPUID with ASYNC_PF only: DELIVERY_AS_INT and AS_PF_VMEXIT refused");
	set_pv_cpuid(&t, (1 << KVM_FEATURE_ASYNC_PF) | (1 << KVM_FEATURE_ASYNC_PF_INT) |
		     (1 << KVM_FEATURE_ASYNC_PF_VMEXIT));
	tap_ok(set_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, APF_AREA | 0xf) == 1 &&
	       set_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, VEC) == 1,
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
	uf_setup();
	if (t.vm < 0 || set_slot(t.vm, 0, 0, t.mem, t.mem_size, 0) ||
	    set_slot(t.vm, 1, HELD_GPA, uf.base, HELD_PAGES * 4096, 0) ||
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
	r = get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &en) == 1 &&
	    get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &in) == 1;
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
	r = get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &en) == 1 &&
	    get_msr(t.vcpu, MSR_KVM_ASYNC_PF_INT, &in) == 1;
	tap_ok(r && en == (APF_AREA | 0xb) && in == VEC,
	       "KVM_GET_MSRS: ASYNC_PF_EN 0x%llx, ASYNC_PF_INT 0x%llx",
	       (unsigned long long)en, (unsigned long long)in);
	uf.release0 = 1;

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
	r = get_msr(t.vcpu, MSR_KVM_ASYNC_PF_EN, &en);
	tap_ok(ph == 8 && r == 1 && en == 0 &&
	       d->rdy_count == 3,
	       "disabled again: ASYNC_PF_EN 0x%llx", (unsigned long long)en);

	uf.stop = 1;
	tvm_destroy(&t);
}

int main(void)
{
	tap_plan(26);
	caps_and_cpuid();
	host_msrs();
	guest_run();
	return tap_done();
}
