// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/vm.c: the VM file descriptor: lifetime, VM ioctls, capabilities, remote TLB flushes. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/uaccess.h>

#include "kvmdrv.h"

long kvmd_check_extension(struct kvmd_vm *vm, long ext)
{
	switch (ext) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_SYNC_MMU:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	case KVM_CAP_USER_NMI:
	case KVM_CAP_SET_GUEST_DEBUG:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_VCPU_EVENTS:
	case KVM_CAP_INTR_SHADOW:
	case KVM_CAP_READONLY_MEM:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
		return 1;
	/* KVM_SET_GSI_ROUTING exists; without an irqchip it refuses like KVM. */
	case KVM_CAP_IRQ_ROUTING:
		return KVMD_MAX_IRQ_ROUTES;
	/* The in-kernel irqchip: irq.c, lapic.c, ioapic.c, i8259.c, i8254.c. */
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_IOAPIC_POLARITY_IGNORED:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_TSC_DEADLINE_TIMER:	/* emulated on an hrtimer, as KVM */
	case KVM_CAP_GET_TSC_KHZ:
	case KVM_CAP_VAPIC:		/* KVM_SET_VAPIC_ADDR, KVM_TPR_ACCESS_REPORTING */
		return 1;
	/* As KVM: what runs well (a vCPU per host CPU), and the hard limit. */
	case KVM_CAP_NR_VCPUS:
		return min_t(long, num_online_cpus(), KVMD_MAX_VCPUS);
	case KVM_CAP_MAX_VCPUS:
		return KVMD_MAX_VCPUS;
	case KVM_CAP_MAX_VCPU_ID:
		return KVMD_MAX_VCPU_ID;
	case KVM_CAP_NR_MEMSLOTS:
		return KVMD_MEM_SLOTS;
	/* smm.c: SMM, RSM and SMRAM in address space 1 */
	case KVM_CAP_X86_SMM:
		return 1;
	case KVM_CAP_MULTI_ADDRESS_SPACE:
		return KVMD_ADDRESS_SPACES;
	case KVM_CAP_MCE:
		return KVMD_MCE_BANKS;
	case KVM_CAP_COALESCED_MMIO:
		return KVMD_COALESCED_PAGE;
	case KVM_CAP_COALESCED_PIO:
		return 1;
	/* memslot.c: KVM_CLEAR_DIRTY_LOG and its two options */
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		return KVMD_DIRTY_LOG_MANUAL_CAPS;
	case KVM_CAP_ADJUST_CLOCK:
		return kvmd_kvmclock_ok() ? KVMD_CLOCK_VALID_FLAGS : 0;
	/* features.c, pv.c, msrfilter.c, stats.c, vcpu.c */
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_DISABLE_QUIRKS:
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
	case KVM_CAP_BINARY_STATS_FD:
	case KVM_CAP_VCPU_ATTRIBUTES:	/* KVM_VCPU_TSC_CTRL */
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:
		return 1;
	case KVM_CAP_DISABLE_QUIRKS2:
		return KVMD_VALID_QUIRKS;
	case KVM_CAP_SYNC_REGS:
		return KVMD_SYNC_REGS;
	case KVM_CAP_STEAL_TIME:
		return kvmd_steal_time_ok();
	/* async_pf.c */
	case KVM_CAP_ASYNC_PF:
	case KVM_CAP_ASYNC_PF_INT:
		return 1;
	/* xsave.c */
	case KVM_CAP_XSAVE:
		return 1;
	case KVM_CAP_XCRS:
		return !!kvmd_supported_xcr0;
	case KVM_CAP_XSAVE2:
		return kvmd_xsave2_size();
	/* nested_svm.c: a guest hypervisor, and its guest's triple fault as an event */
	case KVM_CAP_NESTED_STATE:
		return kvmd_ops->nested_state_size ? kvmd_ops->nested_state_size() : 0;
	case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
		return 1;
	/* debug.c */
	case KVM_CAP_DEBUGREGS:
		return 1;
	case KVM_CAP_SET_GUEST_DEBUG2:
		return kvmd_guest_debug_valid_mask();
	/* The rest are Hyper-V's (hyperv.c), or 0. */
	default:
		return kvmd_hv_check_extension(ext);
	}
}

void kvmd_vm_get(struct kvmd_vm *vm)
{
	refcount_inc(&vm->refs);
}

static void kvmd_destroy_vm(struct kvmd_vm *vm)
{
	int i;

	if (vm->mn_registered)
		kvmd_mmu_notifier_unregister(vm);
	/* What raises interrupts goes first, then who takes them. */
	kvmd_eventfd_destroy(vm);
	kvmd_pit_destroy(vm);
	for (i = 0; i < vm->nr_vcpus; i++)
		kvmd_vcpu_destroy(vm->vcpus[i]);
	kvmd_irq_destroy(vm);
	kvmd_tdp_destroy(vm);
	kvmd_free_memslots(vm);
	kvmd_free_msr_filter(vm);
	kvmd_hv_vm_destroy(vm);
	kvmd_coalesced_destroy(vm);
	preempt_notifier_dec();
	mmdrop(vm->mm);
	kvfree(vm);
	kvmd_hardware_put();
	module_put(THIS_MODULE);
}

void kvmd_vm_put(struct kvmd_vm *vm)
{
	if (refcount_dec_and_test(&vm->refs))
		kvmd_destroy_vm(vm);
}

static void kvmd_ipi_nop(void *unused)
{
}

/* Make sure the vCPU leaves guest mode once and sees its requests. */
void kvmd_kick_vcpu(struct kvmd_vcpu *vcpu)
{
	int cpu;

	smp_mb();
	if (READ_ONCE(vcpu->mode) != KVMD_IN_GUEST)
		return;
	cpu = READ_ONCE(vcpu->cpu);
	if (cpu >= 0)
		smp_call_function_single(cpu, kvmd_ipi_nop, NULL, 1);
}

/*
 * Called after second-level entries were removed or made read-only: no
 * vCPU may use a stale translation once this returns.
 */
void kvmd_flush_remote_tlbs(struct kvmd_vm *vm)
{
	int i, n = smp_load_acquire(&vm->nr_vcpus);

	atomic64_inc(&vm->stat.remote_tlb_flush);
	for (i = 0; i < n; i++) {
		kvmd_make_request(vm->vcpus[i], KVMD_REQ_TLB_FLUSH);
		kvmd_kick_vcpu(vm->vcpus[i]);
	}
}

/*
 * KVM_GET_NR_MMU_PAGES: what KVM_SET_NR_MMU_PAGES asked for, else KVM's
 * default for the slots (a page per 50 of guest memory, at least 64), set
 * by the first slot change: 0 before. Nested paging has no shadow-page pool
 * for either to bound: the figure is kept for the VMMs that save and
 * restore it, and KVM_RUN fails with ENOSPC while it is 0, as KVM's does.
 */
static long kvmd_nr_mmu_pages(struct kvmd_vm *vm)
{
	unsigned long pages = 0;
	int as, i;

	if (READ_ONCE(vm->nr_mmu_pages))
		return READ_ONCE(vm->nr_mmu_pages);
	down_read(&vm->slots_sem);
	for (as = 0; as < KVMD_ADDRESS_SPACES; as++)
		for (i = 0; i < KVMD_MEM_SLOTS; i++)
			pages += vm->slots[as][i].npages;
	up_read(&vm->slots_sem);
	if (!READ_ONCE(vm->slots_committed))
		return 0;
	return max(pages / 50, (unsigned long)KVMD_MIN_MMU_PAGES);
}

/* KVM_ENABLE_CAP on the VM, with KVM's errnos. */
static int kvmd_vm_enable_cap(struct kvmd_vm *vm, const struct kvm_enable_cap *cap)
{
	int r = -EINVAL;

	if (cap->flags)
		return -EINVAL;
	switch (cap->cap) {
	case KVM_CAP_SPLIT_IRQCHIP:
		return kvmd_enable_split_irqchip(vm, cap->args[0]);
	case KVM_CAP_DISABLE_QUIRKS:
	case KVM_CAP_DISABLE_QUIRKS2:
		return kvmd_disable_quirks(vm, cap->cap, cap->args[0]);
	/* As KVM: INITIALLY_SET only together with the manual protect. */
	case KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2:
		if (cap->args[0] & ~(cap->args[0] & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE ?
				      KVMD_DIRTY_LOG_MANUAL_CAPS :
				      KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE))
			return -EINVAL;
		WRITE_ONCE(vm->manual_dirty_log, cap->args[0]);
		return 0;
	case KVM_CAP_MSR_PLATFORM_INFO:
		WRITE_ONCE(vm->platform_info_readable, !!cap->args[0]);
		return 0;
	case KVM_CAP_X86_TRIPLE_FAULT_EVENT:
		WRITE_ONCE(vm->triple_fault_event, !!cap->args[0]);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		if (cap->args[0] & ~(KVM_MSR_EXIT_REASON_INVAL |
				     KVM_MSR_EXIT_REASON_UNKNOWN |
				     KVM_MSR_EXIT_REASON_FILTER))
			return -EINVAL;
		WRITE_ONCE(vm->user_space_msr_mask, cap->args[0]);
		return 0;
	/* The max vCPU ID may be set once. */
	case KVM_CAP_MAX_VCPU_ID:
		if (cap->args[0] > KVMD_MAX_VCPU_ID)
			return -EINVAL;
		mutex_lock(&vm->lock);
		if (vm->max_vcpu_ids == cap->args[0]) {
			r = 0;
		} else if (!vm->max_vcpu_ids) {
			vm->max_vcpu_ids = cap->args[0];
			r = 0;
		}
		mutex_unlock(&vm->lock);
		return r;
	default:
		return -EINVAL;
	}
}

static long kvmd_vm_ioctl(struct file *filp, unsigned int ioctl,
			  unsigned long arg)
{
	struct kvmd_vm *vm = filp->private_data;
	void __user *argp = (void __user *)arg;

	if (vm->mm != current->mm)
		return -EIO;

	switch (ioctl) {
	case KVM_CREATE_VCPU:
		return kvmd_create_vcpu(vm, arg);
	case KVM_SET_USER_MEMORY_REGION: {
		struct kvm_userspace_memory_region mem;

		if (copy_from_user(&mem, argp, sizeof(mem)))
			return -EFAULT;
		return kvmd_set_memory_region(vm, &mem);
	}
	case KVM_GET_DIRTY_LOG: {
		struct kvm_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return kvmd_get_dirty_log(vm, &log);
	}
	case KVM_CLEAR_DIRTY_LOG: {
		struct kvm_clear_dirty_log log;

		if (copy_from_user(&log, argp, sizeof(log)))
			return -EFAULT;
		return kvmd_clear_dirty_log(vm, &log);
	}
	case KVM_SET_TSS_ADDR:
		/* SVM needs no real-mode TSS; the range is still checked. */
		if (arg > (unsigned int)(-3 * PAGE_SIZE))
			return -EINVAL;
		vm->tss_addr = arg;
		return 0;
	case KVM_SET_IDENTITY_MAP_ADDR: {
		u64 addr;
		long r = -EINVAL;

		mutex_lock(&vm->lock);
		if (vm->nr_vcpus)
			goto unlock;
		r = -EFAULT;
		if (copy_from_user(&addr, argp, sizeof(addr)))
			goto unlock;
		vm->identity_map_addr = addr;
		r = 0;
unlock:
		mutex_unlock(&vm->lock);
		return r;
	}
	case KVM_CREATE_IRQCHIP:
	case KVM_SET_GSI_ROUTING:
	case KVM_IRQ_LINE:
	case KVM_IRQ_LINE_STATUS:
	case KVM_SIGNAL_MSI:
	case KVM_GET_IRQCHIP:
	case KVM_SET_IRQCHIP:
		return kvmd_irq_vm_ioctl(vm, ioctl, argp);
	case KVM_CREATE_PIT:
	case KVM_CREATE_PIT2:
	case KVM_GET_PIT:
	case KVM_SET_PIT:
	case KVM_GET_PIT2:
	case KVM_SET_PIT2:
	case KVM_REINJECT_CONTROL:
		return kvmd_pit_ioctl(vm, ioctl, argp);
	case KVM_IRQFD: {
		struct kvm_irqfd irqfd;

		if (copy_from_user(&irqfd, argp, sizeof(irqfd)))
			return -EFAULT;
		return kvmd_irqfd(vm, &irqfd);
	}
	case KVM_IOEVENTFD: {
		struct kvm_ioeventfd ioeventfd;

		if (copy_from_user(&ioeventfd, argp, sizeof(ioeventfd)))
			return -EFAULT;
		return kvmd_ioeventfd(vm, &ioeventfd);
	}
	case KVM_SET_BOOT_CPU_ID: {
		long r = -EBUSY;

		/* As KVM: only before the first vCPU exists. */
		mutex_lock(&vm->lock);
		if (!vm->nr_vcpus) {
			vm->bsp_vcpu_id = arg;
			r = 0;
		}
		mutex_unlock(&vm->lock);
		return r;
	}
	case KVM_GET_CLOCK:
		if (!kvmd_kvmclock_ok())
			return -ENOTTY;
		return kvmd_get_clock(vm, argp);
	case KVM_SET_CLOCK:
		if (!kvmd_kvmclock_ok())
			return -ENOTTY;
		return kvmd_set_clock(vm, argp);
	case KVM_HYPERV_EVENTFD:
		return kvmd_hv_eventfd(vm, argp);
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		return kvmd_coalesced_ioctl(vm, ioctl, argp);
	case KVM_SET_NR_MMU_PAGES:
		if (arg < KVMD_MIN_MMU_PAGES)
			return -EINVAL;
		WRITE_ONCE(vm->nr_mmu_pages, arg);
		return 0;
	case KVM_GET_NR_MMU_PAGES:
		return kvmd_nr_mmu_pages(vm);
	case KVM_ENABLE_CAP: {
		struct kvm_enable_cap cap;

		if (copy_from_user(&cap, argp, sizeof(cap)))
			return -EFAULT;
		return kvmd_vm_enable_cap(vm, &cap);
	}
	case KVM_X86_SET_MSR_FILTER:
		return kvmd_set_msr_filter(vm, argp);
	case KVM_GET_STATS_FD:
		return kvmd_vm_stats_fd(vm);
	case KVM_CHECK_EXTENSION:
		return kvmd_check_extension(vm, arg);
	default:
		return -ENOTTY;
	}
}

static int kvmd_vm_release(struct inode *inode, struct file *filp)
{
	kvmd_vm_put(filp->private_data);
	return 0;
}

static const struct file_operations kvmd_vm_fops = {
	.owner		= THIS_MODULE,
	.release	= kvmd_vm_release,
	.unlocked_ioctl	= kvmd_vm_ioctl,
	.compat_ioctl	= kvmd_vm_ioctl,
	.llseek		= noop_llseek,
};

int kvmd_create_vm(unsigned long type)
{
	struct kvmd_vm *vm;
	struct file *file;
	int r, fd;

	if (type)
		return -EINVAL;

	vm = kvzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	if (!vm)
		return -ENOMEM;
	refcount_set(&vm->refs, 1);
	mutex_init(&vm->lock);
	init_rwsem(&vm->slots_sem);
	spin_lock_init(&vm->mmu_lock);
	vm->mm = current->mm;
	mmgrab(vm->mm);
	/* As KVM, per VM: the scheduler calls preemption notifiers (pv.c). */
	preempt_notifier_inc();
	vm->platform_info_readable = true;
	kvmd_kvmclock_init(vm);

	r = kvmd_irq_init(vm);
	if (r)
		goto err_mm;
	r = kvmd_eventfd_init(vm);
	if (r)
		goto err_irq;
	r = kvmd_coalesced_init(vm);
	if (r)
		goto err_eventfd;
	r = kvmd_hardware_get();
	if (r)
		goto err_ring;
	r = kvmd_tdp_init(vm);
	if (r)
		goto err_hw;
	r = kvmd_mmu_notifier_register(vm);
	if (r)
		goto err_tdp;
	vm->mn_registered = true;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		r = fd;
		goto err_mn;
	}
	/* The file owns the module through fops.owner; destroy drops ours. */
	__module_get(THIS_MODULE);
	file = anon_inode_getfile("kvm-vm", &kvmd_vm_fops, vm, O_RDWR);
	if (IS_ERR(file)) {
		module_put(THIS_MODULE);
		put_unused_fd(fd);
		r = PTR_ERR(file);
		goto err_mn;
	}
	fd_install(fd, file);
	return fd;

err_mn:
	kvmd_mmu_notifier_unregister(vm);
err_tdp:
	kvmd_tdp_destroy(vm);
err_hw:
	kvmd_hardware_put();
err_ring:
	kvmd_coalesced_destroy(vm);
err_eventfd:
	kvmd_eventfd_destroy(vm);
err_irq:
	kvmd_irq_destroy(vm);
err_mm:
	preempt_notifier_dec();
	mmdrop(vm->mm);
	kvfree(vm);
	return r;
}
