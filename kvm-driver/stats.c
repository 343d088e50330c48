// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/stats.c: KVM_GET_STATS_FD on VM and vCPU fds, KVM's binary
 * statistics format: a header, the id string, the descriptors (each
 * followed by its name, KVM_STATS_NAME_SIZE bytes), then the u64 data.
 * Every read builds the whole image from the live counters.
 */
#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "kvmdrv.h"

/* As KVM: every name, and the id, in 48 bytes. */
#define KVM_STATS_NAME_SIZE	48

#define KVMD_STAT_CUMULATIVE (KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | \
			      KVM_STATS_BASE_POW10)

static const char * const kvmd_vm_stat_names[] = {
	"remote_tlb_flush",
};

static const char * const kvmd_vcpu_stat_names[] = {
	"exits",
	"hypercalls",
	"io_exits",
	"mmio_exits",
	"signal_exits",
	"msr_exits",
	"tlb_flush",
};

struct kvmd_stats {
	struct kvmd_vm *vm;
	struct kvmd_vcpu *vcpu;		/* NULL: the VM's */
	char id[KVM_STATS_NAME_SIZE];
};

static void kvmd_stats_values(struct kvmd_stats *s, u64 *v)
{
	struct kvmd_vcpu *vcpu = s->vcpu;

	if (!vcpu) {
		v[0] = atomic64_read(&s->vm->stat.remote_tlb_flush);
		return;
	}
	v[0] = READ_ONCE(vcpu->exits);
	v[1] = READ_ONCE(vcpu->stat.hypercalls);
	v[2] = READ_ONCE(vcpu->stat.io_exits);
	v[3] = READ_ONCE(vcpu->stat.mmio_exits);
	v[4] = READ_ONCE(vcpu->stat.signal_exits);
	v[5] = READ_ONCE(vcpu->stat.msr_exits);
	v[6] = READ_ONCE(vcpu->stat.tlb_flush);
}

static ssize_t kvmd_stats_read(struct file *file, char __user *buf,
			       size_t size, loff_t *ppos)
{
	struct kvmd_stats *s = file->private_data;
	const char * const *names = s->vcpu ? kvmd_vcpu_stat_names : kvmd_vm_stat_names;
	u32 n = s->vcpu ? ARRAY_SIZE(kvmd_vcpu_stat_names) : ARRAY_SIZE(kvmd_vm_stat_names);
	size_t desc_size = sizeof(struct kvm_stats_desc) + KVM_STATS_NAME_SIZE;
	struct kvm_stats_header *h;
	size_t total;
	ssize_t r;
	void *img;
	u32 i;

	total = sizeof(*h) + KVM_STATS_NAME_SIZE + n * desc_size + n * sizeof(u64);
	img = kzalloc(total, GFP_KERNEL);
	if (!img)
		return -ENOMEM;
	h = img;
	h->name_size = KVM_STATS_NAME_SIZE;
	h->num_desc = n;
	h->id_offset = sizeof(*h);
	h->desc_offset = h->id_offset + KVM_STATS_NAME_SIZE;
	h->data_offset = h->desc_offset + n * desc_size;
	strscpy(img + h->id_offset, s->id, KVM_STATS_NAME_SIZE);
	for (i = 0; i < n; i++) {
		struct kvm_stats_desc *d = img + h->desc_offset + i * desc_size;

		d->flags = KVMD_STAT_CUMULATIVE;
		d->size = 1;
		d->offset = i * sizeof(u64);
		strscpy(d->name, names[i], KVM_STATS_NAME_SIZE);
	}
	kvmd_stats_values(s, img + h->data_offset);
	r = simple_read_from_buffer(buf, size, ppos, img, total);
	kfree(img);
	return r;
}

static int kvmd_stats_release(struct inode *inode, struct file *file)
{
	struct kvmd_stats *s = file->private_data;

	kvmd_vm_put(s->vm);
	kfree(s);
	return 0;
}

static const struct file_operations kvmd_stats_fops = {
	.owner		= THIS_MODULE,
	.read		= kvmd_stats_read,
	.release	= kvmd_stats_release,
	.llseek		= noop_llseek,
};

static int kvmd_stats_fd(struct kvmd_vm *vm, struct kvmd_vcpu *vcpu)
{
	struct kvmd_stats *s;
	struct file *file;
	int fd;

	s = kzalloc(sizeof(*s), GFP_KERNEL_ACCOUNT);
	if (!s)
		return -ENOMEM;
	s->vm = vm;
	s->vcpu = vcpu;
	/* KVM's ids: "kvm-PID" and "kvm-PID/vcpu-ID". */
	if (vcpu)
		snprintf(s->id, sizeof(s->id), "kvm-%d/vcpu-%u",
			 task_pid_nr(current), vcpu->id);
	else
		snprintf(s->id, sizeof(s->id), "kvm-%d", task_pid_nr(current));
	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		kfree(s);
		return fd;
	}
	kvmd_vm_get(vm);
	file = anon_inode_getfile(vcpu ? "kvm-vcpu-stats" : "kvm-vm-stats",
				  &kvmd_stats_fops, s, O_RDONLY);
	if (IS_ERR(file)) {
		kvmd_vm_put(vm);
		put_unused_fd(fd);
		kfree(s);
		return PTR_ERR(file);
	}
	file->f_mode |= FMODE_PREAD;
	fd_install(fd, file);
	return fd;
}

int kvmd_vm_stats_fd(struct kvmd_vm *vm)
{
	return kvmd_stats_fd(vm, NULL);
}

int kvmd_vcpu_stats_fd(struct kvmd_vcpu *vcpu)
{
	return kvmd_stats_fd(vcpu->vm, vcpu);
}
