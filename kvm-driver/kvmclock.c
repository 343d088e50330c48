// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/kvmclock.c: kvmclock, KVM's paravirtual clock: its MSRs, the per-vCPU time page, KVM_GET/SET_CLOCK. */
#include <linux/kvm.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/kvm_para.h>
#include <asm/pvclock-abi.h>
#include <asm/tsc.h>

#include "kvmdrv.h"

/*
 * The clock is one linear function of the host TSC per VM (KVM's "master
 * clock"): ns = base_ns + scale(host_tsc - base_tsc). Every time page and
 * KVM_GET_CLOCK derive from it, so a page rewritten later (after a TSC
 * write, KVM_SET_CLOCK, a re-enable) never makes the guest's clock jump
 * back. That holds only with a TSC that is the same on every host CPU and
 * never stops: kvmclock is offered only while the host kernel trusts its
 * TSC (it has a frequency and was not marked unstable).
 */

bool kvmd_kvmclock_ok(void)
{
	return tsc_khz && !check_tsc_unstable();
}

/* mul and shift with ns = ((cycles << shift, or >> -shift) * mul) >> 32. */
static void kvmclock_scale(u32 khz, s8 *shift, u32 *mul)
{
	u64 num = NSEC_PER_MSEC, den = khz;	/* ns per cycle = num / den */
	int s = 0;

	while (num >= den) {
		den <<= 1;
		s++;
	}
	while (num * 2 < den) {
		num <<= 1;
		s--;
	}
	*shift = s;
	*mul = div64_u64(num << 32, den);
}

static u64 kvmclock_cycles_to_ns(struct kvmd_vm *vm, u64 cycles)
{
	if (vm->kvmclock_shift < 0)
		cycles >>= -vm->kvmclock_shift;
	else
		cycles <<= vm->kvmclock_shift;
	return mul_u64_u32_shr(cycles, vm->kvmclock_mul, 32);
}

void kvmd_kvmclock_init(struct kvmd_vm *vm)
{
	if (tsc_khz)
		kvmclock_scale(tsc_khz, &vm->kvmclock_shift, &vm->kvmclock_mul);
	vm->kvmclock_base_tsc = rdtsc();
	vm->kvmclock_base_ns = 0;
}

/* The clock now, with the host TSC it was read at. */
static u64 kvmclock_read(struct kvmd_vm *vm, u64 *host_tsc)
{
	u64 tsc = rdtsc();

	if (host_tsc)
		*host_tsc = tsc;
	return vm->kvmclock_base_ns +
	       kvmclock_cycles_to_ns(vm, tsc - vm->kvmclock_base_tsc);
}

/* Before entry, when requested: write the time page the guest enabled. */
void kvmd_kvmclock_update(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vm *vm = vcpu->vm;
	struct pvclock_vcpu_time_info t = { 0 };
	u64 gpa = vcpu->kvmclock_system_time & ~1ULL;

	/* The Hyper-V TSC page is the same clock in other units. */
	kvmd_hv_setup_tsc_page(vcpu);
	/* The base itself: its TSC reads as base_ns with the VM's scale. */
	t.tsc_timestamp = vm->kvmclock_base_tsc + vcpu->tsc_offset;
	t.system_time = vm->kvmclock_base_ns;
	t.tsc_to_system_mul = vm->kvmclock_mul;
	t.tsc_shift = vm->kvmclock_shift;
	t.flags = PVCLOCK_TSC_STABLE_BIT;
	if (!(vcpu->kvmclock_system_time & 1))
		return;
	/* Even: not being written (the vCPU is not running meanwhile). */
	vcpu->kvmclock_version += 2;
	t.version = vcpu->kvmclock_version;
	/* Like KVM, a page the guest pointed outside its memory is skipped. */
	kvmd_write_guest(vm, gpa, &t, sizeof(t));
}

/* The VM's clock now, in ns (the Hyper-V reference time derives from it). */
u64 kvmd_kvmclock_now(struct kvmd_vm *vm, u64 *host_tsc)
{
	return kvmclock_read(vm, host_tsc);
}

/* The wall-clock time at which the VM's clock read 0. */
static int kvmclock_write_wall_clock(struct kvmd_vm *vm, u64 gpa)
{
	struct pvclock_wall_clock wc = { 0 };
	struct timespec64 now;
	u64 boot_ns;

	ktime_get_real_ts64(&now);
	boot_ns = timespec64_to_ns(&now) - kvmclock_read(vm, NULL);
	vm->kvmclock_wall_version += 2;
	wc.version = vm->kvmclock_wall_version;
	wc.sec = (u32)div_u64_rem(boot_ns, NSEC_PER_SEC, &wc.nsec);
	return kvmd_write_guest(vm, gpa, &wc, sizeof(wc));
}

/* MSR_KVM_SYSTEM_TIME(_NEW) and MSR_KVM_WALL_CLOCK(_NEW); 1: not ours. */
int kvmd_kvmclock_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data)
{
	switch (index) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		*data = vcpu->kvmclock_system_time;
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		*data = vcpu->kvmclock_wall_clock;
		return 0;
	default:
		return 1;
	}
}

int kvmd_kvmclock_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data,
			    bool host)
{
	switch (index) {
	case MSR_KVM_SYSTEM_TIME:
	case MSR_KVM_SYSTEM_TIME_NEW:
		vcpu->kvmclock_system_time = data;
		if (data & 1)
			kvmd_make_request(vcpu, KVMD_REQ_CLOCK_UPDATE);
		return 0;
	case MSR_KVM_WALL_CLOCK:
	case MSR_KVM_WALL_CLOCK_NEW:
		vcpu->kvmclock_wall_clock = data;
		/* A VMM restoring the MSR does not ask for a new write. */
		if (!host)
			kvmclock_write_wall_clock(vcpu->vm, data);
		return 0;
	default:
		return 1;
	}
}

int kvmd_get_clock(struct kvmd_vm *vm, struct kvm_clock_data __user *uclock)
{
	struct kvm_clock_data c;
	struct timespec64 now;

	memset(&c, 0, sizeof(c));
	c.clock = kvmclock_read(vm, &c.host_tsc);
	ktime_get_real_ts64(&now);
	c.realtime = timespec64_to_ns(&now);
	c.flags = KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC;
	return copy_to_user(uclock, &c, sizeof(c)) ? -EFAULT : 0;
}

int kvmd_set_clock(struct kvmd_vm *vm, struct kvm_clock_data __user *uclock)
{
	struct kvm_clock_data c;
	u64 tsc;
	int i;

	if (copy_from_user(&c, uclock, sizeof(c)))
		return -EFAULT;
	if (c.flags & ~KVMD_CLOCK_VALID_FLAGS)
		return -EINVAL;

	mutex_lock(&vm->lock);
	tsc = rdtsc();
	if (c.flags & KVM_CLOCK_REALTIME) {
		struct timespec64 rt;
		u64 real;

		/* The time that passed since the VMM read the clock counts. */
		ktime_get_real_ts64(&rt);
		real = timespec64_to_ns(&rt);
		if (real > c.realtime)
			c.clock += real - c.realtime;
	}
	vm->kvmclock_base_tsc = tsc;
	vm->kvmclock_base_ns = c.clock;
	kvmd_hv_request_tsc_page_update(vm);
	for (i = 0; i < vm->nr_vcpus; i++) {
		kvmd_make_request(vm->vcpus[i], KVMD_REQ_CLOCK_UPDATE);
		kvmd_kick_vcpu(vm->vcpus[i]);
	}
	mutex_unlock(&vm->lock);
	return 0;
}
