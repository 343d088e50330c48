/* tests/driver/t_tsc.c: the guest TSC: about 0 when a vCPU is created, shared by the vCPUs a VM creates together, and IA32_TSC_ADJUST written by the guest and by the host, as KVM has them. */
#include <time.h>

#include "kvmtest.h"

#define MSR_TSC		0x10
#define MSR_TSC_ADJUST	0x3b
#define UNITY		(1ULL << 30)
#define ROUND(x)	(((x) + UNITY / 2) & -UNITY)

/* wrmsr(ECX, EDX:EAX) with ECX and EDX given, EAX 0, then hlt. */
static void load_wrmsr(struct tvm *t, uint32_t msr, uint32_t high)
{
	const uint8_t code[] = {
		0xb9, msr & 0xff, (msr >> 8) & 0xff, 0, 0,	/* mov $msr, %ecx */
		0x31, 0xc0,					/* xor %eax, %eax */
		0xba, high & 0xff, (high >> 8) & 0xff, 0, 0,	/* mov $high, %edx */
		0x0f, 0x30,					/* wrmsr */
		0xf4,						/* hlt */
	};
	struct kvm_regs r;

	tvm_load(t, 0x2000, code, sizeof(code));
	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = 0x2000;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

static void test_guest_and_host(void)
{
	struct tvm t;
	int r;

	tvm_create(&t, 1 << 20);
	tap_ok(ROUND(tvm_msr(t.vcpu, MSR_TSC)) == 0,
	       "a new vCPU's IA32_TSC is about 0 (%#llx)",
	       (unsigned long long)tvm_msr(t.vcpu, MSR_TSC));
	tap_ok(tvm_msr(t.vcpu, MSR_TSC_ADJUST) == 0, "IA32_TSC_ADJUST starts at 0");
	tvm_cpuid(&t);
	tvm_long_mode(&t, 0x2000);

	/* The guest's WRMSR to IA32_TSC moves IA32_TSC_ADJUST by as much. */
	load_wrmsr(&t, MSR_TSC, 4);
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HLT && ROUND(tvm_msr(t.vcpu, MSR_TSC)) == 4 * UNITY * 4 &&
	       ROUND(tvm_msr(t.vcpu, MSR_TSC_ADJUST)) == 4 * UNITY * 4,
	       "guest writes IA32_TSC: IA32_TSC_ADJUST follows (%s, %#llx, %#llx)", exit_name(r),
	       (unsigned long long)tvm_msr(t.vcpu, MSR_TSC),
	       (unsigned long long)tvm_msr(t.vcpu, MSR_TSC_ADJUST));

	/* The guest's WRMSR to IA32_TSC_ADJUST moves the TSC by as much. */
	load_wrmsr(&t, MSR_TSC_ADJUST, 8);
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HLT && ROUND(tvm_msr(t.vcpu, MSR_TSC)) == 8 * UNITY * 4 &&
	       tvm_msr(t.vcpu, MSR_TSC_ADJUST) == 8ULL << 32,
	       "guest writes IA32_TSC_ADJUST: the TSC moves with it (%s, %#llx, %#llx)",
	       exit_name(r), (unsigned long long)tvm_msr(t.vcpu, MSR_TSC),
	       (unsigned long long)tvm_msr(t.vcpu, MSR_TSC_ADJUST));

	/* The host's writes set one MSR each. */
	tap_ok(tvm_set_msr(t.vcpu, MSR_TSC, 64 * UNITY) == 1 &&
	       ROUND(tvm_msr(t.vcpu, MSR_TSC)) == 64 * UNITY &&
	       tvm_msr(t.vcpu, MSR_TSC_ADJUST) == 8ULL << 32,
	       "host writes IA32_TSC: IA32_TSC_ADJUST stays");
	tap_ok(tvm_set_msr(t.vcpu, MSR_TSC_ADJUST, 5) == 1 &&
	       ROUND(tvm_msr(t.vcpu, MSR_TSC)) == 64 * UNITY &&
	       tvm_msr(t.vcpu, MSR_TSC_ADJUST) == 5,
	       "host writes IA32_TSC_ADJUST: the TSC stays");
	tvm_destroy(&t);
}

static void test_vcpus_agree(void)
{
	struct timespec half = { 0, 500 * 1000 * 1000 };
	int kvm = open_kvm();
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	int v0 = ioctl(vm, KVM_CREATE_VCPU, 0), v1;
	uint64_t t0, t1;

	nanosleep(&half, NULL);
	v1 = ioctl(vm, KVM_CREATE_VCPU, 1);
	t0 = tvm_msr(v0, MSR_TSC);
	t1 = tvm_msr(v1, MSR_TSC);
	/* Half a second apart: without the shared offset vCPU 1 would be at 0. */
	tap_ok(v0 >= 0 && v1 >= 0 && t1 > t0 / 2 && t1 - t0 < t0 / 10,
	       "a vCPU created 0.5 s after another starts at its TSC (%llu, %llu)",
	       (unsigned long long)t0, (unsigned long long)t1);
	close(v1);
	close(v0);
	close(vm);
	close(kvm);
}

int main(void)
{
	tap_plan(7);
	test_guest_and_host();
	test_vcpus_agree();
	return tap_done();
}
