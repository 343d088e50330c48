/* tests/driver/t_kvmclock.c: kvmclock: the paravirtual CPUID leaves, KVM_GET/SET_CLOCK, the guest's time and wall-clock pages. */
#include <asm/kvm_para.h>
#include <time.h>

#include "kvmtest.h"

#define TIME_PAGE	0x1000
#define WALL_PAGE	0x2000
#define CODE		0x3000

/* The layouts of the ABI (asm/pvclock-abi.h is not a uapi header). */
struct time_info {
	uint32_t version, pad0;
	uint64_t tsc_timestamp, system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags, pad[2];
} __attribute__((packed));

struct wall_clock {
	uint32_t version, sec, nsec;
} __attribute__((packed));

/*
 * Real mode: enable the time page (MSR_KVM_SYSTEM_TIME_NEW = page | 1),
 * report, ask for the wall clock (MSR_KVM_WALL_CLOCK_NEW = page), report,
 * read the time MSR back into EAX and report it, halt.
 */
static const uint8_t guest[] = {
	0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b,	/* mov ecx, 0x4b564d01 */
	0x66, 0xb8, 0x01, 0x10, 0x00, 0x00,	/* mov eax, TIME_PAGE | 1 */
	0x66, 0x31, 0xd2,			/* xor edx, edx */
	0x0f, 0x30,				/* wrmsr */
	0xe6, 0x10,				/* out 0x10, al */
	0x66, 0xb9, 0x00, 0x4d, 0x56, 0x4b,	/* mov ecx, 0x4b564d00 */
	0x66, 0xb8, 0x00, 0x20, 0x00, 0x00,	/* mov eax, WALL_PAGE */
	0x0f, 0x30,				/* wrmsr */
	0xe6, 0x11,				/* out 0x11, al */
	0x66, 0xb9, 0x01, 0x4d, 0x56, 0x4b,	/* mov ecx, 0x4b564d01 */
	0x0f, 0x32,				/* rdmsr */
	0x66, 0xe7, 0x12,			/* out 0x12, eax */
	0xf4,					/* hlt */
};

static uint64_t pvclock_ns(const struct time_info *t, uint64_t tsc)
{
	uint64_t delta = tsc - t->tsc_timestamp;

	if (t->tsc_shift < 0)
		delta >>= -t->tsc_shift;
	else
		delta <<= t->tsc_shift;
	return t->system_time + (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
}

static uint64_t guest_tsc(struct tvm *t)
{
	struct {
		struct kvm_msrs m;
		struct kvm_msr_entry e;
	} m = { .m.nmsrs = 1, .e.index = 0x10 };

	return ioctl(t->vcpu, KVM_GET_MSRS, &m) == 1 ? m.e.data : 0;
}

static uint64_t get_clock(int vm)
{
	struct kvm_clock_data c = { 0 };

	return ioctl(vm, KVM_GET_CLOCK, &c) == 0 ? c.clock : 0;
}

static int64_t diff(uint64_t a, uint64_t b)
{
	return (int64_t)(a - b);
}

int main(void)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} c = { .c.nent = 256 };
	struct time_info *ti;
	struct wall_clock *wc;
	struct kvm_clock_data cd;
	struct tvm t;
	uint32_t features = 0, sig_ebx = 0;
	uint64_t c1, c2, ns;
	int64_t d;
	int i, r;

	tap_plan(14);
	tvm_create(&t, 0x10000);
	if (ioctl(t.kvm, KVM_GET_SUPPORTED_CPUID, &c) == 0)
		for (i = 0; i < (int)c.c.nent; i++) {
			if (c.e[i].function == KVM_CPUID_SIGNATURE)
				sig_ebx = c.e[i].ebx;
			if (c.e[i].function == KVM_CPUID_FEATURES)
				features = c.e[i].eax;
		}
	tap_ok(sig_ebx == 0x4b4d564b, "SUPPORTED_CPUID: leaf 0x40000000 says KVMKVMKVM");
	if (!(features & (1u << KVM_FEATURE_CLOCKSOURCE2))) {
		for (i = 2; i <= 14; i++)
			tap_skip("no KVM_FEATURE_CLOCKSOURCE2 in leaf 0x40000001", "kvmclock %d", i);
		return tap_done();
	}
	tap_ok(features & (1u << KVM_FEATURE_NOP_IO_DELAY), "leaf 0x40000001: kvmclock and NOP_IO_DELAY (0x%x)", features);
	tap_ok(ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK) > 0, "CAP_ADJUST_CLOCK");

	c1 = get_clock(t.vm);
	usleep(20000);
	c2 = get_clock(t.vm);
	tap_ok(c1 && diff(c2, c1) >= 20000000, "GET_CLOCK advances (%lld ns over a 20 ms sleep)",
	       (long long)diff(c2, c1));
	memset(&cd, 0, sizeof(cd));
	cd.clock = 1000000000000ULL;
	r = ioctl(t.vm, KVM_SET_CLOCK, &cd);
	c1 = get_clock(t.vm);
	tap_ok(r == 0 && diff(c1, cd.clock) >= 0 && diff(c1, cd.clock) < 1000000000,
	       "SET_CLOCK 1000 s, then GET_CLOCK reads %llu ns", (unsigned long long)c1);
	cd.flags = 1u << 7;
	tap_ok(xioctl(t.vm, KVM_SET_CLOCK, &cd) == -EINVAL, "SET_CLOCK with an unknown flag: EINVAL");

	if (ioctl(t.vcpu, KVM_SET_CPUID2, &c) < 0)
		printf("# SET_CPUID2: %s\n", strerror(errno));
	tvm_load(&t, CODE, guest, sizeof(guest));
	tvm_real_mode(&t, CODE);
	ti = (struct time_info *)(t.mem + TIME_PAGE);
	wc = (struct wall_clock *)(t.mem + WALL_PAGE);

	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x10, "guest enables the time page (exit %s)", exit_name(r));
	tap_ok(ti->version && !(ti->version & 1) && ti->tsc_to_system_mul &&
	       (ti->flags & 1), "time page: version %u even, mul 0x%x, shift %d, flags 0x%x (TSC stable)",
	       ti->version, ti->tsc_to_system_mul, ti->tsc_shift, ti->flags);
	/* The page's time at the guest's TSC now is the VM's clock now. */
	ns = pvclock_ns(ti, guest_tsc(&t));
	c1 = get_clock(t.vm);
	d = diff(c1, ns);
	tap_ok(d > -500000000 && d < 500000000, "time page agrees with GET_CLOCK (%lld ns apart)", (long long)d);
	c2 = pvclock_ns(ti, guest_tsc(&t) + 1000000000ULL);
	tap_ok(diff(c2, pvclock_ns(ti, guest_tsc(&t))) > 0, "time page: time grows with the TSC");

	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x11, "guest asks for the wall clock (exit %s)", exit_name(r));
	{
		time_t now = time(NULL);
		int64_t boot = (int64_t)now - (int64_t)(get_clock(t.vm) / 1000000000ULL);

		tap_ok(wc->version && !(wc->version & 1) && wc->sec &&
		       (int64_t)wc->sec - boot > -5 && (int64_t)wc->sec - boot < 5 && wc->nsec < 1000000000,
		       "wall clock: the time the VM clock read 0 (%u s, expected %lld)", wc->sec, (long long)boot);
	}

	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && t.run->io.port == 0x12 && tvm_io_val(&t) == (TIME_PAGE | 1),
	       "guest reads MSR_KVM_SYSTEM_TIME_NEW back: 0x%x", tvm_io_val(&t));
	{
		struct {
			struct kvm_msrs m;
			struct kvm_msr_entry e;
		} m = { .m.nmsrs = 1, .e.index = MSR_KVM_SYSTEM_TIME_NEW };

		r = ioctl(t.vcpu, KVM_GET_MSRS, &m);
		tap_ok(r == 1 && m.e.data == (TIME_PAGE | 1), "KVM_GET_MSRS reads it too (0x%llx)",
		       (unsigned long long)m.e.data);
	}
	tvm_destroy(&t);
	return tap_done();
}
