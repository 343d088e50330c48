// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/main.c: module entry, the /dev/kvm misc device and its system ioctls. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cpu.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/smp.h>

#include "kvmdrv.h"

static char *devname = "kvm";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname, "name of the device node under /dev (default kvm)");

const struct kvmd_vendor_ops *kvmd_ops;

/* Number of live VMs; the vendor is enabled on every CPU while it is > 0. */
DEFINE_MUTEX(kvmd_lock);
static int kvmd_users;
static atomic_t kvmd_enable_failed;

static void kvmd_enable_cpu(void *unused)
{
	if (kvmd_ops->hardware_enable())
		atomic_inc(&kvmd_enable_failed);
}

static void kvmd_disable_cpu(void *unused)
{
	kvmd_ops->hardware_disable();
}

/* Take the virtualization extension on all CPUs for one more VM. */
int kvmd_hardware_get(void)
{
	int r = 0;

	mutex_lock(&kvmd_lock);
	if (kvmd_users++ == 0) {
		cpus_read_lock();
		atomic_set(&kvmd_enable_failed, 0);
		on_each_cpu(kvmd_enable_cpu, NULL, 1);
		if (atomic_read(&kvmd_enable_failed)) {
			on_each_cpu(kvmd_disable_cpu, NULL, 1);
			kvmd_users = 0;
			pr_err("cannot enable %s: another hypervisor holds it\n",
			       kvmd_ops->name);
			r = -EBUSY;
		}
		cpus_read_unlock();
	}
	mutex_unlock(&kvmd_lock);
	return r;
}

void kvmd_hardware_put(void)
{
	mutex_lock(&kvmd_lock);
	if (--kvmd_users == 0) {
		cpus_read_lock();
		on_each_cpu(kvmd_disable_cpu, NULL, 1);
		cpus_read_unlock();
	}
	mutex_unlock(&kvmd_lock);
}

static long kvmd_dev_ioctl(struct file *filp, unsigned int ioctl,
			   unsigned long arg)
{
	void __user *argp = (void __user *)arg;

	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	case KVM_CREATE_VM:
		return kvmd_create_vm(arg);
	case KVM_CHECK_EXTENSION:
		return kvmd_check_extension(NULL, arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (arg)
			return -EINVAL;
		return KVMD_VCPU_MMAP_PAGES * PAGE_SIZE;
	case KVM_GET_SUPPORTED_CPUID:
		return kvmd_get_supported_cpuid(argp);
	case KVM_GET_MSR_INDEX_LIST:
		return kvmd_get_msr_index_list(argp);
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return kvmd_get_feature_msr_index_list(argp);
	case KVM_GET_MSRS:
		return kvmd_get_feature_msrs(argp);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return kvmd_get_mce_cap_supported(argp);
	case KVM_GET_SUPPORTED_HV_CPUID:
		return kvmd_hv_get_supported_cpuid(NULL, argp);
	default:
		return -EINVAL;
	}
}

static const struct file_operations kvmd_chardev_ops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvmd_dev_ioctl,
	.compat_ioctl	= kvmd_dev_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvmd_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.fops	= &kvmd_chardev_ops,
	.mode	= 0666,
};

static int __init kvmd_init(void)
{
	void *other_kvm;
	int r;

	/* The kernel's KVM and this module cannot share the hardware. */
	other_kvm = __symbol_get("kvm_rebooting");
	if (other_kvm) {
		__symbol_put("kvm_rebooting");
		pr_err("the kernel's kvm module is loaded: unload kvm_amd/kvm_intel and kvm first\n");
		return -EBUSY;
	}

	/* The extension the CPU has; SVM's setup explains a CPU with neither. */
	kvmd_ops = (cpuid_ecx(1) & BIT(5)) ? &kvmd_vmx_ops : &kvmd_svm_ops;
	r = kvmd_ops->hardware_setup();
	if (r)
		return r;
	kvmd_xsave_setup();

	kvmd_dev.name = devname;
	r = misc_register(&kvmd_dev);
	if (r) {
		pr_err("cannot register /dev/%s: %d\n", devname, r);
		goto err_unsetup;
	}
	pr_info("loaded, API %d, %s backend, device /dev/%s\n",
		KVM_API_VERSION, kvmd_ops->name, devname);
	return 0;

err_unsetup:
	kvmd_ops->hardware_unsetup();
	return r;
}

static void __exit kvmd_exit(void)
{
	misc_deregister(&kvmd_dev);
	mmu_notifier_synchronize();
	kvmd_tsc_aux_exit();
	kvmd_ops->hardware_unsetup();
	pr_info("unloaded\n");
}

module_init(kvmd_init);
module_exit(kvmd_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KVM API 12 on AMD SVM and Intel VMX, from scratch");
