// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/iobus.c: the in-kernel I/O buses. Guest port and MMIO
 * accesses that no memory slot backs are offered here before they exit to
 * userspace: the IOAPIC, the 8259s, the 8254 and ioeventfds register
 * ranges. As KVM's kvm_io_bus: each bus is an array sorted by address,
 * read under vm->irq_srcu and replaced whole under vm->irq_lock; an
 * access must lie inside one range, or start at the address of a range of
 * length 0 (an ioeventfd that ignores the length, as KVM's); several ranges
 * may overlap (ioeventfds with different datamatch) and are tried in order
 * until one takes it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/srcu.h>

#include "kvmdrv.h"

struct kvmd_io_range {
	u64 addr;
	int len;
	struct kvmd_io_device *dev;
};

struct kvmd_io_bus {
	int n;
	struct kvmd_io_range range[];
};

static int range_cmp(const void *a, const void *b)
{
	const struct kvmd_io_range *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->len - y->len;
}

int kvmd_io_bus_register(struct kvmd_vm *vm, enum kvmd_bus bus, u64 addr,
			 int len, struct kvmd_io_device *dev)
{
	struct kvmd_io_bus *old, *new;
	int n;

	/* len 0: this address, any access length (KVM_CAP_IOEVENTFD_ANY_LENGTH). */
	if (len < 0 || addr + len < addr)
		return -EINVAL;
	mutex_lock(&vm->irq_lock);
	old = rcu_dereference_protected(vm->buses[bus],
					lockdep_is_held(&vm->irq_lock));
	n = old ? old->n : 0;
	if (n >= KVMD_IO_BUS_MAX) {
		mutex_unlock(&vm->irq_lock);
		return -ENOSPC;
	}
	new = kmalloc(struct_size(new, range, n + 1), GFP_KERNEL_ACCOUNT);
	if (!new) {
		mutex_unlock(&vm->irq_lock);
		return -ENOMEM;
	}
	if (n)
		memcpy(new->range, old->range, n * sizeof(new->range[0]));
	new->range[n].addr = addr;
	new->range[n].len = len;
	new->range[n].dev = dev;
	new->n = n + 1;
	sort(new->range, new->n, sizeof(new->range[0]), range_cmp, NULL);
	rcu_assign_pointer(vm->buses[bus], new);
	mutex_unlock(&vm->irq_lock);
	synchronize_srcu_expedited(&vm->irq_srcu);
	kfree(old);
	return 0;
}

void kvmd_io_bus_unregister(struct kvmd_vm *vm, enum kvmd_bus bus,
			    struct kvmd_io_device *dev)
{
	struct kvmd_io_bus *old, *new;
	int i, j;

	mutex_lock(&vm->irq_lock);
	old = rcu_dereference_protected(vm->buses[bus],
					lockdep_is_held(&vm->irq_lock));
	if (!old) {
		mutex_unlock(&vm->irq_lock);
		return;
	}
	/* Removing can't fail: on no memory, shrink in place once unseen. */
	new = kmalloc(struct_size(new, range, old->n), GFP_KERNEL_ACCOUNT | __GFP_NOFAIL);
	for (i = j = 0; i < old->n; i++)
		if (old->range[i].dev != dev)
			new->range[j++] = old->range[i];
	new->n = j;
	rcu_assign_pointer(vm->buses[bus], new);
	mutex_unlock(&vm->irq_lock);
	synchronize_srcu_expedited(&vm->irq_srcu);
	kfree(old);
}

void kvmd_io_bus_destroy(struct kvmd_vm *vm)
{
	int i;

	for (i = 0; i < KVMD_NR_BUSES; i++)
		kfree(rcu_dereference_protected(vm->buses[i], true));
}

static int bus_access(struct kvmd_vcpu *vcpu, enum kvmd_bus bus, u64 addr,
		      int len, void *val, bool write)
{
	struct kvmd_vm *vm = vcpu->vm;
	struct kvmd_io_bus *b;
	int i, r = -EOPNOTSUPP, idx;

	idx = srcu_read_lock(&vm->irq_srcu);
	b = srcu_dereference(vm->buses[bus], &vm->irq_srcu);
	if (!b)
		goto out;
	/* Sorted by start: stop at the first range that starts past addr. */
	for (i = 0; i < b->n && b->range[i].addr <= addr; i++) {
		const struct kvmd_io_range *rg = &b->range[i];
		struct kvmd_io_device *dev = rg->dev;

		if (rg->len ? addr + len > rg->addr + rg->len : addr != rg->addr)
			continue;
		if (write)
			r = dev->ops->write ?
			    dev->ops->write(vcpu, dev, addr, len, val) : -EOPNOTSUPP;
		else
			r = dev->ops->read ?
			    dev->ops->read(vcpu, dev, addr, len, val) : -EOPNOTSUPP;
		if (r != -EOPNOTSUPP)
			break;
	}
out:
	srcu_read_unlock(&vm->irq_srcu, idx);
	return r;
}

int kvmd_io_bus_write(struct kvmd_vcpu *vcpu, enum kvmd_bus bus, u64 addr,
		      int len, const void *val)
{
	return bus_access(vcpu, bus, addr, len, (void *)val, true);
}

int kvmd_io_bus_read(struct kvmd_vcpu *vcpu, enum kvmd_bus bus, u64 addr,
		     int len, void *val)
{
	return bus_access(vcpu, bus, addr, len, val, false);
}
