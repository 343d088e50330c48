/* tests/driver/t_hyperv.c: Hyper-V enlightenments: the supported HV CPUID, hypercall page, VP index, hypercall status, reference TSC page, enforced CPUID. */

#include "kvmtest.h"

extern const uint8_t hv_guest[], hv_guest_end[];
extern const uint8_t g_main[], g_enforced[], g_plain[], g_gp_handler[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - hv_guest))
#define DATA		0x5000
#define HCALL_PAGE	0x10000

#define HV_FEATURES	0x40000003
#define HV_HYPERCALL_AVAILABLE	(1U << 5)
#define HV_VP_INDEX_AVAILABLE	(1U << 6)
#define HV_POST_MESSAGES	(1U << 4)	/* EBX */

#define HV_STATUS_SUCCESS		0
#define HV_STATUS_INVALID_HYPERCALL_CODE 2
#define HV_STATUS_INVALID_HYPERCALL_INPUT 3
#define HV_STATUS_ACCESS_DENIED		6

#define MAX_ENT	128

struct cpuid_buf {
	struct kvm_cpuid2 c;
	struct kvm_cpuid_entry2 e[MAX_ENT];
};

static struct kvm_cpuid_entry2 *find(struct cpuid_buf *b, uint32_t fn)
{
	for (uint32_t i = 0; i < b->c.nent; i++)
		if (b->e[i].function == fn)
			return &b->e[i];
	return NULL;
}

/* Run until the next exit; it must be an OUT to @port. Its value, or ~0. */
static uint32_t expect_out(struct tvm *t, uint16_t port, const char *what)
{
	int r = tvm_run(t);

	if (r == KVM_EXIT_IO && t->run->io.direction == KVM_EXIT_IO_OUT &&
	    t->run->io.port == port)
		return tvm_io_val(t);
	tap_diag("%s: expected OUT to 0x%x, got exit %s (port 0x%x)", what, port,
		 exit_name(r), r == KVM_EXIT_IO ? t->run->io.port : 0);
	return ~0U;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

/* The supported CPUID without KVM's own 0x400000xx leaves, plus Hyper-V's. */
static void hv_cpuid(int kvm, int vcpu, struct cpuid_buf *out)
{
	struct cpuid_buf sup = { .c.nent = MAX_ENT }, hv = { .c.nent = MAX_ENT };

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &sup) < 0 ||
	    ioctl(vcpu, KVM_GET_SUPPORTED_HV_CPUID, &hv) < 0) {
		printf("Bail out! supported CPUID: %s\n", strerror(errno));
		exit(1);
	}
	out->c.nent = 0;
	for (uint32_t i = 0; i < sup.c.nent; i++)
		if (sup.e[i].function < 0x40000000 || sup.e[i].function >= 0x40000100)
			out->e[out->c.nent++] = sup.e[i];
	for (uint32_t i = 0; i < hv.c.nent && out->c.nent < MAX_ENT; i++)
		out->e[out->c.nent++] = hv.e[i];
}

static void guest_setup(struct tvm *t, const uint8_t *entry)
{
	tvm_load(t, 0x2000, hv_guest, hv_guest_end - hv_guest);
	tvm_long_mode(t, GA(entry));
	tvm_idt_set(t, 13, GA(g_gp_handler));
}

static void check_supported(int kvm)
{
	struct cpuid_buf b = { .c.nent = 0 };
	struct kvm_cpuid_entry2 *e;
	struct tvm t;
	long r;

	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_CPUID) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_SYS_HYPERV_CPUID) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_ENFORCE_CPUID) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_TIME) == 1,
	       "KVM_CAP_HYPERV, _CPUID, SYS_HYPERV_CPUID, _ENFORCE_CPUID, _TIME reported");
	r = xioctl(kvm, KVM_GET_SUPPORTED_HV_CPUID, &b);
	tap_ok(r == -E2BIG, "KVM_GET_SUPPORTED_HV_CPUID with no room: E2BIG (%ld)", r);
	b.c.nent = MAX_ENT;
	r = xioctl(kvm, KVM_GET_SUPPORTED_HV_CPUID, &b);
	tap_ok(r == 0 && b.c.nent == 10, "/dev/kvm: 10 Hyper-V leaves (%ld, %u)", r, b.c.nent);
	e = find(&b, 0x40000000);
	tap_ok(e && e->eax == 0x40000082 && !memcmp(&e->ebx, "Linux KVM Hv", 4),
	       "0x40000000: max leaf 0x40000082, vendor \"Linux KVM Hv\"");
	e = find(&b, 0x40000001);
	tap_ok(e && e->eax == 0x31237648, "0x40000001: interface \"Hv#1\"");
	e = find(&b, HV_FEATURES);
	tap_ok(e && (e->eax & 0x7ff) == 0x2ff && (e->ebx & 0x30) == 0x30,
	       "0x40000003: the MSR groups and post/signal rights (%#x %#x)",
	       e ? e->eax : 0, e ? e->ebx : 0);
	e = find(&b, 0x4000000A);
	tap_ok(e && (e->eax & (1U << 19)), "0x4000000A: enlightened MSR bitmap");

	tvm_create(&t, 8 << 20);
	b.c.nent = MAX_ENT;
	r = xioctl(t.vcpu, KVM_GET_SUPPORTED_HV_CPUID, &b);
	tap_ok(r == 0 && b.c.nent == 10 && find(&b, 0x40000004) &&
	       !(find(&b, 0x40000004)->eax & (1U << 10)),
	       "vCPU without an in-kernel APIC: 10 leaves, no cluster IPI");
	tvm_destroy(&t);
}

static void check_main(int kvm)
{
	static const uint8_t vmmcall[] = { 0x0f, 0x01, 0xd9, 0xc3 };
	static const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1, 0xc3 };
	struct cpuid_buf c;
	struct kvm_msrs *m;
	struct kvm_clock_data clk = { 0 };
	struct tvm t;
	uint32_t v;
	uint64_t page, ref;
	int r;

	(void)kvm;
	tvm_create(&t, 8 << 20);
	hv_cpuid(t.kvm, t.vcpu, &c);
	if (ioctl(t.vcpu, KVM_SET_CPUID2, &c) < 0) {
		printf("Bail out! KVM_SET_CPUID2: %s\n", strerror(errno));
		exit(1);
	}
	guest_setup(&t, g_main);

	v = expect_out(&t, 0x10, "hypercall page");
	tap_ok(v != ~0U && !memcmp(t.mem + HCALL_PAGE, tvm_host_is_amd() ? vmmcall : vmcall, 4),
	       "hypercall page: %s; RET (%02x %02x %02x %02x)",
	       tvm_host_is_amd() ? "VMMCALL" : "VMCALL", t.mem[HCALL_PAGE], t.mem[HCALL_PAGE + 1],
	       t.mem[HCALL_PAGE + 2], t.mem[HCALL_PAGE + 3]);
	m = calloc(1, sizeof(*m) + sizeof(m->entries[0]));
	m->nmsrs = 1;
	m->entries[0].index = 0x40000001;
	r = ioctl(t.vcpu, KVM_GET_MSRS, m);
	tap_ok(r == 1 && m->entries[0].data == (HCALL_PAGE | 1),
	       "KVM_GET_MSRS: HV_X64_MSR_HYPERCALL as the guest wrote it (%#llx)",
	       (unsigned long long)m->entries[0].data);
	v = expect_out(&t, 0x11, "VP index");
	tap_ok(v == 0, "the first vCPU's VP index: %u", v);
	v = expect_out(&t, 0x12, "unknown hypercall");
	tap_ok(v == HV_STATUS_INVALID_HYPERCALL_CODE, "hypercall 0xbeef: HV_STATUS_INVALID_HYPERCALL_CODE (%u)", v);
	v = expect_out(&t, 0x13, "flush");
	tap_ok(v == HV_STATUS_SUCCESS, "HvFlushVirtualAddressSpace: HV_STATUS_SUCCESS (%u)", v);

	v = expect_out(&t, 0x14, "TSC page");
	page = get64(t.mem + DATA);
	ref = get64(t.mem + DATA + 8);
	tap_ok(v != ~0U && get64(t.mem + DATA + 0x10) != 0 && get64(t.mem + DATA + 0x18) != 0,
	       "reference TSC page enabled: sequence %llu, scale %#llx",
	       (unsigned long long)get64(t.mem + DATA + 0x10),
	       (unsigned long long)get64(t.mem + DATA + 0x18));
	tap_ok(page < 1000000000ULL && ref >= page && ref - page < 1000000,
	       "TSC page time %llu (under 100 s of VM life), TIME_REF_COUNT right after %llu (within 100 ms)",
	       (unsigned long long)page, (unsigned long long)ref);
	m->entries[0].index = 0x40000020;
	r = ioctl(t.vcpu, KVM_GET_MSRS, m);
	tap_ok(r == 1 && m->entries[0].data >= ref,
	       "KVM_GET_MSRS: TIME_REF_COUNT goes on (%llu)", (unsigned long long)m->entries[0].data);
	expect_out(&t, 0x15, "clock");
	tap_ok(ioctl(t.vm, KVM_SET_CLOCK, &clk) == 0, "KVM_SET_CLOCK to 0");
	v = expect_out(&t, 0x16, "TSC page after KVM_SET_CLOCK");
	page = get64(t.mem + DATA + 0x20);
	tap_ok(v != ~0U && page < 10000000, "TSC page follows KVM_SET_CLOCK: %llu (under 1 s)",
	       (unsigned long long)page);
	v = tvm_run(&t);
	tap_ok(v == KVM_EXIT_HLT, "guest ends in HLT (%s)", exit_name(v));
	free(m);
	tvm_destroy(&t);
}

/* Enforced CPUID with HYPERCALL_AVAILABLE plus @eax_more and @ebx. */
static void check_enforced(uint32_t eax_more, uint32_t ebx, uint32_t gps, uint32_t status,
			   const char *what)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_HYPERV_ENFORCE_CPUID, .args[0] = 1 };
	struct kvm_cpuid_entry2 *f;
	struct cpuid_buf c;
	struct tvm t;
	uint32_t v;

	tvm_create(&t, 8 << 20);
	tap_ok(ioctl(t.vcpu, KVM_ENABLE_CAP, &cap) == 0, "%s: KVM_ENABLE_CAP(HYPERV_ENFORCE_CPUID)", what);
	hv_cpuid(t.kvm, t.vcpu, &c);
	f = find(&c, HV_FEATURES);
	f->eax = HV_HYPERCALL_AVAILABLE | eax_more;
	f->ebx = ebx;
	f->edx = 0;
	ioctl(t.vcpu, KVM_SET_CPUID2, &c);
	guest_setup(&t, g_enforced);
	v = expect_out(&t, 0x20, what);
	tap_ok(v == gps, "%s: VP index and reference counter reads, %u #GP (%u)", what, gps, v);
	v = expect_out(&t, 0x21, what);
	tap_ok(v == status, "%s: HvPostMessage status %u (%u)", what, status, v);
	tvm_destroy(&t);
}

static void check_plain(void)
{
	struct tvm t;
	uint32_t v;

	tvm_create(&t, 8 << 20);
	tvm_cpuid(&t);
	guest_setup(&t, g_plain);
	v = expect_out(&t, 0x30, "plain");
	tap_ok(v == 1, "no Hyper-V CPUID: HV_X64_MSR_GUEST_OS_ID is #GP (%u)", v);
	tvm_destroy(&t);
}

int main(void)
{
	int kvm = open_kvm();

	tap_plan(26);
	if (ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_HYPERV_CPUID) != 1) {
		tap_skip_all("no KVM_CAP_HYPERV_CPUID");
		return 0;
	}
	check_supported(kvm);
	check_main(kvm);
	check_enforced(0, 0, 2, HV_STATUS_ACCESS_DENIED, "enforced, nothing granted");
	check_enforced(HV_VP_INDEX_AVAILABLE, HV_POST_MESSAGES, 1,
		       HV_STATUS_INVALID_HYPERCALL_INPUT, "enforced, VP index and post granted");
	check_plain();
	close(kvm);
	return tap_done();
}
