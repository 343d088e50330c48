/* tests/driver/t_tscaux.c: IA32_TSC_AUX, which RDTSCP and RDPID read without an exit: the guest's value while the guest runs (set by the VMM or by the guest's WRMSR, and again after each return to userspace), the host's in the VMM's thread after every exit, as KVM switches it. */
#include <sched.h>

#include "kvmtest.h"

#define MSR_TSC_AUX	0xc0000103

/*
 * At 0x2000: RDTSCP into EBX, OUT 0x80; RDTSCP into EBX again, WRMSR
 * TSC_AUX = 0x5678, RDTSCP into ESI, OUT 0x81; HLT.
 */
static const uint8_t prog_rdtscp[] = {
	0x0f, 0x01, 0xf9,			/* rdtscp */
	0x89, 0xcb,				/* mov %ecx, %ebx */
	0xe6, 0x80,				/* out %al, $0x80 */
	0x0f, 0x01, 0xf9,			/* rdtscp */
	0x89, 0xcb,				/* mov %ecx, %ebx */
	0xb9, 0x03, 0x01, 0x00, 0xc0,		/* mov $0xc0000103, %ecx */
	0xb8, 0x78, 0x56, 0x00, 0x00,		/* mov $0x5678, %eax */
	0x31, 0xd2,				/* xor %edx, %edx */
	0x0f, 0x30,				/* wrmsr */
	0x0f, 0x01, 0xf9,			/* rdtscp */
	0x89, 0xce,				/* mov %ecx, %esi */
	0xe6, 0x81,				/* out %al, $0x81 */
	0xf4,					/* hlt */
};

/* At 0x2100: RDPID into EBX, HLT. */
static const uint8_t prog_rdpid[] = {
	0xf3, 0x0f, 0xc7, 0xf8,			/* rdpid %rax */
	0x89, 0xc3,				/* mov %eax, %ebx */
	0xf4,					/* hlt */
};

/* The TSC_AUX this thread sees in userspace. */
static uint32_t host_tsc_aux(void)
{
	uint32_t lo, hi, aux;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
	(void)lo;
	(void)hi;
	return aux;
}

/* CPUID bit @bit of @reg (0 eax .. 3 edx) of leaf @fn, index 0, as the VMM set it. */
static bool supported(int kvm, uint32_t fn, int reg, int bit)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };
	uint32_t i, v;

	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return false;
	for (i = 0; i < c.c.nent; i++) {
		if (c.e[i].function != fn || c.e[i].index)
			continue;
		v = reg == 0 ? c.e[i].eax : reg == 1 ? c.e[i].ebx :
		    reg == 2 ? c.e[i].ecx : c.e[i].edx;
		return v >> bit & 1;
	}
	return false;
}

static void set_rip(struct tvm *t, uint64_t rip)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = rip;
	r.rbx = r.rsi = ~0ULL;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

static void get_regs(struct tvm *t, struct kvm_regs *r)
{
	ioctl(t->vcpu, KVM_GET_REGS, r);
}

int main(void)
{
	struct kvm_regs r;
	uint32_t host;
	cpu_set_t cpus;
	struct tvm t;
	int e;

	/* One CPU for the whole test: the host's TSC_AUX names it. */
	CPU_ZERO(&cpus);
	CPU_SET(sched_getcpu(), &cpus);
	sched_setaffinity(0, sizeof(cpus), &cpus);

	tvm_create(&t, 1 << 20);
	if (!supported(t.kvm, 0x80000001, 3, 27))
		tap_skip_all("no RDTSCP for guests");
	tap_plan(12);
	host = host_tsc_aux();
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, prog_rdtscp, sizeof(prog_rdtscp));
	tvm_load(&t, 0x2100, prog_rdpid, sizeof(prog_rdpid));
	tvm_long_mode(&t, 0x2000);
	tap_ok(tvm_msr(t.vcpu, MSR_TSC_AUX) == 0, "a new vCPU's TSC_AUX is 0");

	/* The VMM's value, which differs from the host's. */
	tap_ok(tvm_set_msr(t.vcpu, MSR_TSC_AUX, 0x1234 + host) == 1,
	       "KVM_SET_MSRS TSC_AUX %#x", 0x1234 + host);
	e = tvm_run(&t);
	get_regs(&t, &r);
	tap_ok(e == KVM_EXIT_IO && t.run->io.port == 0x80 && r.rbx == 0x1234 + host,
	       "the guest's RDTSCP reads the VMM's value (%s, %#llx)", exit_name(e),
	       (unsigned long long)r.rbx);
	tap_ok(host_tsc_aux() == host, "back in the VMM, RDTSCP reads the host's %#x again (%#x)",
	       host, host_tsc_aux());

	/* Entered again after the host's value came back: the guest's again. */
	e = tvm_run(&t);
	get_regs(&t, &r);
	tap_ok(e == KVM_EXIT_IO && t.run->io.port == 0x81 && r.rbx == 0x1234 + host,
	       "the next entry loads it again (%s, %#llx)", exit_name(e),
	       (unsigned long long)r.rbx);
	tap_ok(r.rsi == 0x5678, "after the guest's WRMSR its RDTSCP reads 0x5678 (%#llx)",
	       (unsigned long long)r.rsi);
	tap_ok(tvm_msr(t.vcpu, MSR_TSC_AUX) == 0x5678, "KVM_GET_MSRS reads the guest's write (%#llx)",
	       (unsigned long long)tvm_msr(t.vcpu, MSR_TSC_AUX));
	tap_ok(host_tsc_aux() == host, "the VMM still reads the host's %#x (%#x)", host,
	       host_tsc_aux());
	e = tvm_run(&t);
	tap_ok(e == KVM_EXIT_HLT, "then HLT (%s)", exit_name(e));

	/* The host's own value: nothing to switch, the guest reads it all the same. */
	tvm_set_msr(t.vcpu, MSR_TSC_AUX, host);
	set_rip(&t, 0x2000);
	e = tvm_run(&t);
	get_regs(&t, &r);
	tap_ok(e == KVM_EXIT_IO && r.rbx == host && host_tsc_aux() == host,
	       "a guest value equal to the host's: both read %#x (%s, %#llx)", host,
	       exit_name(e), (unsigned long long)r.rbx);

	/* RDPID reads the same MSR. */
	if (supported(t.kvm, 7, 2, 22)) {
		tvm_set_msr(t.vcpu, MSR_TSC_AUX, 0x4321 + host);
		set_rip(&t, 0x2100);
		e = tvm_run(&t);
		get_regs(&t, &r);
		tap_ok(e == KVM_EXIT_HLT && r.rbx == 0x4321 + host,
		       "the guest's RDPID reads %#x (%s, %#llx)", 0x4321 + host, exit_name(e),
		       (unsigned long long)r.rbx);
		tap_ok(host_tsc_aux() == host, "and the VMM the host's after it (%#x)",
		       host_tsc_aux());
	} else {
		tap_skip("no RDPID for guests", "the guest's RDPID");
		tap_skip("no RDPID for guests", "the VMM's after RDPID");
	}
	tvm_destroy(&t);
	return tap_done();
}
