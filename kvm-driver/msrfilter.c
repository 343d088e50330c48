// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/msrfilter.c: guest MSR accesses userspace handles
 * (KVM_CAP_X86_USER_SPACE_MSR, KVM_EXIT_X86_RDMSR/WRMSR) and the VM's MSR
 * filter (KVM_X86_SET_MSR_FILTER), with KVM's rules: a filtered, unknown
 * or faulting access exits to userspace when the VMM asked for that
 * reason, and userspace's answer completes the instruction on the next
 * KVM_RUN (msr.error set: the guest takes #GP).
 */
#include <linux/kvm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "kvmdrv.h"

struct kvmd_msr_range {
	u32 flags;
	u32 base;
	u32 nmsrs;
	unsigned long *bitmap;
};

struct kvmd_msr_filter {
	struct rcu_head rcu;
	bool default_allow;
	int count;
	struct kvmd_msr_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static void kvmd_msr_filter_free(struct kvmd_msr_filter *f)
{
	int i;

	if (!f)
		return;
	for (i = 0; i < f->count; i++)
		kfree(f->ranges[i].bitmap);
	kfree(f);
}

void kvmd_free_msr_filter(struct kvmd_vm *vm)
{
	kvmd_msr_filter_free(rcu_dereference_protected(vm->msr_filter, 1));
	RCU_INIT_POINTER(vm->msr_filter, NULL);
}

static int kvmd_msr_filter_add(struct kvmd_msr_filter *f,
			       const struct kvm_msr_filter_range *r)
{
	unsigned long *bitmap;
	size_t size;

	if (!r->nmsrs)
		return 0;
	if (!r->flags || (r->flags & ~(KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)))
		return -EINVAL;
	size = BITS_TO_LONGS(r->nmsrs) * sizeof(long);
	if (size > KVM_MSR_FILTER_MAX_BITMAP_SIZE)
		return -EINVAL;
	bitmap = memdup_user((void __user *)r->bitmap, size);
	if (IS_ERR(bitmap))
		return PTR_ERR(bitmap);
	f->ranges[f->count].flags = r->flags;
	f->ranges[f->count].base = r->base;
	f->ranges[f->count].nmsrs = r->nmsrs;
	f->ranges[f->count].bitmap = bitmap;
	f->count++;
	return 0;
}

/* KVM_X86_SET_MSR_FILTER: replaces the VM's filter; no range and allow removes it. */
int kvmd_set_msr_filter(struct kvmd_vm *vm, void __user *argp)
{
	struct kvmd_msr_filter *f, *old;
	struct kvm_msr_filter uf;
	bool empty = true;
	int i, r;

	if (copy_from_user(&uf, argp, sizeof(uf)))
		return -EFAULT;
	if (uf.flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return -EINVAL;
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		if (uf.ranges[i].nmsrs)
			empty = false;
	if (empty && (uf.flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return -EINVAL;
	f = kzalloc(sizeof(*f), GFP_KERNEL_ACCOUNT);
	if (!f)
		return -ENOMEM;
	f->default_allow = !(uf.flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		r = kvmd_msr_filter_add(f, &uf.ranges[i]);
		if (r) {
			kvmd_msr_filter_free(f);
			return r;
		}
	}
	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->msr_filter, lockdep_is_held(&vm->lock));
	rcu_assign_pointer(vm->msr_filter, f);
	mutex_unlock(&vm->lock);
	synchronize_rcu();
	kvmd_msr_filter_free(old);
	return 0;
}

/* The filter lets the guest access index (x2APIC MSRs are never filtered). */
bool kvmd_msr_allowed(struct kvmd_vcpu *vcpu, u32 index, bool write)
{
	u32 type = write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ;
	struct kvmd_msr_filter *f;
	bool allowed = true;
	int i;

	if (index >= 0x800 && index <= 0x8ff)
		return true;
	rcu_read_lock();
	f = rcu_dereference(vcpu->vm->msr_filter);
	if (f) {
		allowed = f->default_allow;
		for (i = 0; i < f->count; i++) {
			const struct kvmd_msr_range *r = &f->ranges[i];

			if (index >= r->base && index - r->base < r->nmsrs &&
			    (r->flags & type)) {
				allowed = test_bit(index - r->base, r->bitmap);
				break;
			}
		}
	}
	rcu_read_unlock();
	return allowed;
}

/*
 * A guest RDMSR/WRMSR the kernel did not complete (r: 1 #GP, KVMD_MSR_UNKNOWN
 * or KVMD_MSR_FILTERED, KVM's three exit reasons): KVMD_EXIT_USER with
 * kvm_run filled when the VMM takes that reason, else -1 (the caller
 * injects #GP).
 */
int kvmd_msr_user_exit(struct kvmd_vcpu *vcpu, u32 index, u64 data,
		       bool write, int r)
{
	u32 reason = r == KVMD_MSR_UNKNOWN ? KVM_MSR_EXIT_REASON_UNKNOWN :
		     r == KVMD_MSR_FILTERED ? KVM_MSR_EXIT_REASON_FILTER :
		     KVM_MSR_EXIT_REASON_INVAL;
	struct kvm_run *run = vcpu->run;

	if (!(READ_ONCE(vcpu->vm->user_space_msr_mask) & reason))
		return -1;
	run->exit_reason = write ? KVM_EXIT_X86_WRMSR : KVM_EXIT_X86_RDMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = index;
	run->msr.data = data;
	vcpu->msr_exit.pending = true;
	vcpu->msr_exit.write = write;
	vcpu->pending_rip = vcpu->rip;
	vcpu->stat.msr_exits++;
	return KVMD_EXIT_USER;
}

/* On the next KVM_RUN: userspace's answer finishes the RDMSR or WRMSR. */
int kvmd_complete_msr_exit(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	if (!vcpu->msr_exit.pending)
		return KVMD_RESUME;
	vcpu->msr_exit.pending = false;
	/* As for I/O: userspace moved RIP, so the instruction is abandoned. */
	if (vcpu->rip != vcpu->pending_rip)
		return KVMD_RESUME;
	if (run->msr.error) {
		kvmd_queue_exception_e(vcpu, 13, 0);
		return KVMD_RESUME;
	}
	if (!vcpu->msr_exit.write) {
		vcpu->regs[R_AX] = (u32)run->msr.data;
		vcpu->regs[R_DX] = run->msr.data >> 32;
	}
	kvmd_skip_insn(vcpu, 2);
	return KVMD_RESUME;
}
