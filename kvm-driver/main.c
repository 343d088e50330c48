// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/main.c: module entry, the /dev/kvm misc device and its system ioctls. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/miscdevice.h>
#include <linux/module.h>

static char *devname = "kvm";
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname, "name of the device node under /dev (default kvm)");

static long kvmdrv_dev_ioctl(struct file *filp, unsigned int ioctl,
			     unsigned long arg)
{
	switch (ioctl) {
	case KVM_GET_API_VERSION:
		if (arg)
			return -EINVAL;
		return KVM_API_VERSION;
	default:
		return -EINVAL;
	}
}

static const struct file_operations kvmdrv_chardev_ops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= kvmdrv_dev_ioctl,
	.compat_ioctl	= kvmdrv_dev_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice kvmdrv_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.fops	= &kvmdrv_chardev_ops,
	.mode	= 0666,
};

static int __init kvmdrv_init(void)
{
	int r;

	kvmdrv_dev.name = devname;
	r = misc_register(&kvmdrv_dev);
	if (r) {
		pr_err("cannot register /dev/%s: %d\n", devname, r);
		return r;
	}
	pr_info("loaded, API %d, device /dev/%s\n", KVM_API_VERSION, devname);
	return 0;
}

static void __exit kvmdrv_exit(void)
{
	misc_deregister(&kvmdrv_dev);
	pr_info("unloaded\n");
}

module_init(kvmdrv_init);
module_exit(kvmdrv_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KVM API 12 on AMD SVM and Intel VMX, from scratch");
