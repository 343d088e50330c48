/* tests/driver/t_uapic.c: what a VMM with its interrupt controllers in userspace (QEMU kernel_irqchip=off) needs: capabilities, GSI routing refusal, the APIC CPUID bit, kvm_run->cr8 and SET_TPR exits, kvmclock MSRs, machine-check banks. */
#include "kvmtest.h"

#define MSR_KVM_WALL_CLOCK	0x11
#define MSR_KVM_SYSTEM_TIME	0x12
#define MSR_APICBASE		0x1b
#define MSR_MCG_CAP		0x179
#define MSR_MCG_STATUS		0x17a
#define MSR_MCG_CTL		0x17b
#define MSR_MC_CTL(b)		(0x400 + 4 * (b))
#define MCG_CTL_P		(1ULL << 8)
#define MCG_SER_P		(1ULL << 24)
#define MCG_CMCI_P		(1ULL << 10)
#define MCG_LMCE_P		(1ULL << 27)
#define MCI_VAL			(1ULL << 63)
#define MCI_OVER		(1ULL << 62)
#define MCI_UC			(1ULL << 61)
#define MCI_PCC			(1ULL << 57)
#define MCG_STATUS_EIPV		(1ULL << 1)
#define MCG_STATUS_MCIP		(1ULL << 2)

/* Real mode at 0x1000: hlt */
static const uint8_t guest_hlt[] = { 0xf4 };
static uint32_t cpuid1_edx(int vcpu)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };
	uint32_t i;

	if (ioctl(vcpu, KVM_GET_CPUID2, &c) < 0)
		return 0;
	for (i = 0; i < c.c.nent; i++)
		if (c.e[i].function == 1)
			return c.e[i].edx;
	return 0;
}

static void test_caps_and_routing(void)
{
	struct kvm_irq_routing routing = { .nr = 0 };
	struct tvm t;

	tvm_create(&t, 1 << 20);
	tap_ok(ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_JOIN_MEMORY_REGIONS_WORKS) == 1,
	       "CAP_JOIN_MEMORY_REGIONS_WORKS");
	tap_ok(ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING) == 4096, "CAP_IRQ_ROUTING: 4096 routes");
	tap_ok(ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_IRQCHIP) == 1, "CAP_IRQCHIP");
	tap_ok(xioctl(t.vm, KVM_SET_GSI_ROUTING, &routing) == -EINVAL,
	       "SET_GSI_ROUTING without an irqchip: EINVAL");
	tap_ok(xioctl(t.vm, KVM_SET_GSI_ROUTING, NULL) == -EFAULT, "SET_GSI_ROUTING NULL: EFAULT");
	tvm_destroy(&t);
}

/*
 * The supported CPUID minus x2APIC (both lanes emulate it, but only with an
 * in-kernel APIC), so that x2APIC mode in the APIC base is reserved.
 */
static void cpuid_without_x2apic(struct tvm *t)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };
	uint32_t i;

	if (ioctl(t->kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0) {
		printf("Bail out! KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
		exit(1);
	}
	for (i = 0; i < c.c.nent; i++)
		if (c.e[i].function == 1)
			c.e[i].ecx &= ~(1u << 21);
	if (ioctl(t->vcpu, KVM_SET_CPUID2, &c) < 0) {
		printf("Bail out! KVM_SET_CPUID2: %s\n", strerror(errno));
		exit(1);
	}
}

/* CPUID.1:EDX.APIC is supported and follows the APIC base's enable bit. */
static void test_apic_bit(void)
{
	struct tvm t;
	uint32_t on, off;

	tvm_create(&t, 1 << 20);
	cpuid_without_x2apic(&t);
	tap_ok(tvm_set_msr(t.vcpu, MSR_APICBASE, 0xfee00100) == 1, "APIC base disabled (BSP)");
	off = cpuid1_edx(t.vcpu);
	tap_ok(tvm_set_msr(t.vcpu, MSR_APICBASE, 0xfee00900) == 1, "APIC base enabled (BSP)");
	on = cpuid1_edx(t.vcpu);
	tap_ok(!(off & (1u << 9)) && (on & (1u << 9)),
	       "CPUID.1:EDX.APIC follows the APIC base (disabled %#x, enabled %#x)", off, on);
	tap_ok(tvm_set_msr(t.vcpu, MSR_APICBASE, 0xfee00901) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_APICBASE, 0xfee00d00) == 0 &&
	       tvm_set_msr(t.vcpu, MSR_APICBASE, 0xfee00900 | (1ULL << 62)) == 0,
	       "APIC base: reserved bits, x2APIC mode, bits above MAXPHYADDR refused");
	{
		struct kvm_sregs s;

		ioctl(t.vcpu, KVM_GET_SREGS, &s);
		s.apic_base |= 1ULL << 62;
		tap_ok(xioctl(t.vcpu, KVM_SET_SREGS, &s) == -EINVAL,
		       "SET_SREGS with a reserved APIC base bit: EINVAL");
	}
	tvm_destroy(&t);
}

/* The task priority comes from kvm_run->cr8 at every KVM_RUN. */
static void test_run_cr8(void)
{
	struct kvm_sregs s;
	struct tvm t;
	int r;

	tvm_create(&t, 1 << 20);
	tvm_load(&t, 0x1000, guest_hlt, sizeof(guest_hlt));
	tvm_real_mode(&t, 0x1000);
	t.run->cr8 = 16;
	tap_ok(tvm_run(&t) == -EINVAL, "KVM_RUN with kvm_run->cr8 16: EINVAL");
	t.run->cr8 = 5;
	r = tvm_run(&t);
	ioctl(t.vcpu, KVM_GET_SREGS, &s);
	tap_ok(r == KVM_EXIT_HLT && s.cr8 == 5 && t.run->cr8 == 5,
	       "kvm_run->cr8 5 reaches the vCPU (%s, sregs cr8 %llu)", exit_name(r),
	       (unsigned long long)s.cr8);
	tvm_destroy(&t);
}

/* Long mode at 0x2000: mov $5,%eax; mov %rax,%cr8; mov $2,%eax; mov %rax,%cr8; hlt */
static const uint8_t guest_cr8[] = {
	0xb8, 5, 0, 0, 0, 0x44, 0x0f, 0x22, 0xc0,
	0xb8, 2, 0, 0, 0, 0x44, 0x0f, 0x22, 0xc0, 0xf4,
};

/* Without an in-kernel APIC, a guest lowering CR8 exits to the VMM. */
static void test_cr8_write(void)
{
	struct kvm_sregs s;
	struct tvm t;
	int r;

	tvm_create(&t, 1 << 20);
	tvm_cpuid(&t);
	tvm_long_mode(&t, 0x2000);
	tvm_load(&t, 0x2000, guest_cr8, sizeof(guest_cr8));
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_SET_TPR && t.run->cr8 == 2 && tvm_rip(&t) == 0x2012,
	       "CR8 5 then 2: SET_TPR exit after the second write (%s, cr8 %llu)",
	       exit_name(r), (unsigned long long)t.run->cr8);
	r = tvm_run(&t);
	ioctl(t.vcpu, KVM_GET_SREGS, &s);
	tap_ok(r == KVM_EXIT_HLT && s.cr8 == 2, "then HLT with CR8 2 (%s)", exit_name(r));
	tvm_destroy(&t);
}

/* Monitors save and restore the kvmclock MSRs even when kvmclock is off. */
static void test_kvmclock_msrs(void)
{
	uint64_t st = 1, wc = 1;
	struct tvm t;

	tvm_create(&t, 1 << 20);
	tap_ok(tvm_set_msr(t.vcpu, MSR_KVM_SYSTEM_TIME, 0) == 1 &&
	       tvm_set_msr(t.vcpu, MSR_KVM_WALL_CLOCK, 0) == 1,
	       "SET_MSRS kvmclock system time and wall clock 0");
	tap_ok(tvm_get_msr(t.vcpu, MSR_KVM_SYSTEM_TIME, &st) == 1 &&
	       tvm_get_msr(t.vcpu, MSR_KVM_WALL_CLOCK, &wc) == 1 && st == 0 && wc == 0,
	       "GET_MSRS kvmclock MSRs read 0");
	tvm_destroy(&t);
}

static void test_mce(void)
{
	struct kvm_x86_mce mce;
	uint64_t cap = 0, v = 0, v2 = 0, bad;
	struct tvm t;
	int r;

	tvm_create(&t, 1 << 20);
	tap_ok(ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_MCE) == 32, "CAP_MCE: 32 banks");
	r = ioctl(t.kvm, KVM_X86_GET_MCE_CAP_SUPPORTED, &cap);
	/* kvm_amd: exactly these two; kvm_intel adds CMCI and local machine checks (0x9000500 under Bochs). */
	tap_ok(r == 0 && (cap & ~(MCG_CMCI_P | MCG_LMCE_P)) == (MCG_CTL_P | MCG_SER_P),
	       "GET_MCE_CAP_SUPPORTED: %#llx", (unsigned long long)cap);
	tap_ok(tvm_get_msr(t.vcpu, MSR_MCG_CAP, &v) == 1 && v == 32,
	       "MCG_CAP before SETUP_MCE: 32 banks (%#llx)", (unsigned long long)v);
	bad = 0;
	tap_ok(xioctl(t.vcpu, KVM_X86_SETUP_MCE, &bad) == -EINVAL, "SETUP_MCE 0 banks: EINVAL");
	bad = 33;
	tap_ok(xioctl(t.vcpu, KVM_X86_SETUP_MCE, &bad) == -EINVAL, "SETUP_MCE 33 banks: EINVAL");
	bad = 10 | (1ULL << 40);
	tap_ok(xioctl(t.vcpu, KVM_X86_SETUP_MCE, &bad) == -EINVAL, "SETUP_MCE unknown bit: EINVAL");
	tap_ok(xioctl(t.vcpu, KVM_X86_SETUP_MCE, NULL) == -EFAULT, "SETUP_MCE NULL: EFAULT");
	cap = 10 | MCG_CTL_P;
	tap_ok(ioctl(t.vcpu, KVM_X86_SETUP_MCE, &cap) == 0, "SETUP_MCE 10 banks, MCG_CTL_P");
	tap_ok(tvm_get_msr(t.vcpu, MSR_MCG_CAP, &v) == 1 && v == cap &&
	       tvm_get_msr(t.vcpu, MSR_MCG_CTL, &v2) == 1 && v2 == ~0ULL,
	       "MCG_CAP %#llx, MCG_CTL all ones", (unsigned long long)v);
	tap_ok(tvm_get_msr(t.vcpu, MSR_MC_CTL(9), &v) == 1 && v == ~0ULL &&
	       tvm_get_msr(t.vcpu, MSR_MC_CTL(10), &v) != 1,
	       "MC9_CTL all ones, MC10_CTL does not exist");
	tap_ok(tvm_set_msr(t.vcpu, MSR_MC_CTL(0), 5) == 0 && tvm_set_msr(t.vcpu, MSR_MC_CTL(0), 0) == 1,
	       "MC0_CTL takes 0 or all ones");
	tap_ok(tvm_set_msr(t.vcpu, MSR_MCG_CTL, 5) == 0 && tvm_set_msr(t.vcpu, MSR_MCG_STATUS, 0) == 1,
	       "MCG_CTL 5 refused, MCG_STATUS written");

	memset(&mce, 0, sizeof(mce));
	mce.bank = 10;
	mce.status = MCI_VAL;
	tap_ok(xioctl(t.vcpu, KVM_X86_SET_MCE, &mce) == -EINVAL, "SET_MCE bank 10 of 10: EINVAL");
	mce.bank = 2;
	mce.status = 0x1234;
	tap_ok(xioctl(t.vcpu, KVM_X86_SET_MCE, &mce) == -EINVAL, "SET_MCE without VAL: EINVAL");
	mce.status = MCI_VAL | 0x1234;
	mce.addr = 0x5000;
	r = ioctl(t.vcpu, KVM_X86_SET_MCE, &mce);
	tap_ok(r == 0 && tvm_get_msr(t.vcpu, MSR_MC_CTL(2) + 1, &v) == 1 && v == mce.status &&
	       tvm_get_msr(t.vcpu, MSR_MC_CTL(2) + 2, &v2) == 1 && v2 == 0x5000,
	       "corrected error lands in MC2_STATUS/ADDR");
	r = ioctl(t.vcpu, KVM_X86_SET_MCE, &mce);
	tap_ok(r == 0 && tvm_get_msr(t.vcpu, MSR_MC_CTL(2) + 1, &v) == 1 && (v & MCI_OVER),
	       "a second one sets OVER (%#llx)", (unsigned long long)v);

	/* Uncorrected with CR4.MCE clear (real mode): the vCPU shuts down. */
	tvm_load(&t, 0x1000, guest_hlt, sizeof(guest_hlt));
	tvm_real_mode(&t, 0x1000);
	/* Processor context corrupt, machine check in progress: not a UCNA. */
	mce.bank = 3;
	mce.status = MCI_VAL | MCI_UC | MCI_PCC;
	mce.mcg_status = MCG_STATUS_EIPV | MCG_STATUS_MCIP;
	tap_ok(ioctl(t.vcpu, KVM_X86_SET_MCE, &mce) == 0, "SET_MCE uncorrected");
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_SHUTDOWN, "uncorrected #MC with CR4.MCE clear: SHUTDOWN (%s)",
	       exit_name(r));
	tvm_destroy(&t);
}

int main(void)
{
	tap_plan(34);
	test_caps_and_routing();
	test_apic_bit();
	test_run_cr8();
	test_cr8_write();
	test_kvmclock_msrs();
	test_mce();
	return tap_done();
}
