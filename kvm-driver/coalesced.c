// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/coalesced.c: coalesced MMIO and PIO. Guest writes inside a
 * zone that userspace registered go to a ring page shared with it instead
 * of exiting; userspace replays them at its next exit, in order. As in
 * KVM: one ring per VM, mapped through every vCPU at page
 * KVM_COALESCED_MMIO_PAGE_OFFSET; a write must lie wholly inside one zone;
 * reads always exit; a full ring (or a ring index userspace spoiled) makes
 * the write exit as it would without the zone; at most KVMD_COALESCED_MAX
 * zones per address space (KVM's NR_IOBUS_DEVS), then -ENOSPC.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>

#include "kvmdrv.h"

struct kvmd_coalesced_zones {
	struct rcu_head rcu;
	unsigned int n;
	unsigned int count[2];		/* per address space: MMIO, PIO */
	struct kvm_coalesced_mmio_zone zone[];
};

int kvmd_coalesced_init(struct kvmd_vm *vm)
{
	vm->coalesced_ring = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!vm->coalesced_ring)
		return -ENOMEM;
	spin_lock_init(&vm->coalesced_lock);
	return 0;
}

void kvmd_coalesced_destroy(struct kvmd_vm *vm)
{
	/* No reader is left: the VM's last reference is gone. */
	kfree(rcu_dereference_protected(vm->coalesced_zones, true));
	free_page((unsigned long)vm->coalesced_ring);
}

struct page *kvmd_coalesced_page(struct kvmd_vm *vm)
{
	return virt_to_page(vm->coalesced_ring);
}

/* (addr, len) lies wholly inside the zone; KVM takes len as an int. */
static bool zone_holds(const struct kvm_coalesced_mmio_zone *z, u64 addr,
		       int len)
{
	if (len < 0 || addr + len < addr)
		return false;
	return addr >= z->addr && addr + len <= z->addr + z->size;
}

static void zones_replace(struct kvmd_vm *vm, struct kvmd_coalesced_zones *new)
{
	struct kvmd_coalesced_zones *old;

	old = rcu_dereference_protected(vm->coalesced_zones,
					lockdep_is_held(&vm->lock));
	rcu_assign_pointer(vm->coalesced_zones, new);
	if (old)
		kfree_rcu(old, rcu);
}

static long coalesced_register(struct kvmd_vm *vm,
			       const struct kvm_coalesced_mmio_zone *z)
{
	struct kvmd_coalesced_zones *old, *new;
	unsigned int n;
	long r = -ENOSPC;

	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->coalesced_zones,
					lockdep_is_held(&vm->lock));
	n = old ? old->n : 0;
	if (old && old->count[z->pio] >= KVMD_COALESCED_MAX)
		goto out;
	r = -ENOMEM;
	new = kmalloc(struct_size(new, zone, n + 1), GFP_KERNEL_ACCOUNT);
	if (!new)
		goto out;
	if (old) {
		memcpy(new, old, struct_size(old, zone, n));
	} else {
		new->count[0] = 0;
		new->count[1] = 0;
	}
	new->zone[n] = *z;
	new->n = n + 1;
	new->count[z->pio]++;
	zones_replace(vm, new);
	r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}

/* Like KVM: every zone of that space holding the whole range goes. */
static long coalesced_unregister(struct kvmd_vm *vm,
				 const struct kvm_coalesced_mmio_zone *z)
{
	struct kvmd_coalesced_zones *old, *new;
	unsigned int i, n = 0;
	long r = 0;

	mutex_lock(&vm->lock);
	old = rcu_dereference_protected(vm->coalesced_zones,
					lockdep_is_held(&vm->lock));
	if (!old)
		goto out;
	r = -ENOMEM;
	new = kmalloc(struct_size(new, zone, old->n), GFP_KERNEL_ACCOUNT);
	if (!new)
		goto out;
	new->count[0] = 0;
	new->count[1] = 0;
	for (i = 0; i < old->n; i++) {
		const struct kvm_coalesced_mmio_zone *o = &old->zone[i];

		if (o->pio == z->pio && zone_holds(o, z->addr, (int)z->size))
			continue;
		new->zone[n++] = *o;
		new->count[o->pio]++;
	}
	new->n = n;
	zones_replace(vm, new);
	r = 0;
out:
	mutex_unlock(&vm->lock);
	return r;
}

long kvmd_coalesced_ioctl(struct kvmd_vm *vm, unsigned int ioctl,
			  void __user *argp)
{
	struct kvm_coalesced_mmio_zone z;

	if (copy_from_user(&z, argp, sizeof(z)))
		return -EFAULT;
	if (z.pio != 0 && z.pio != 1)
		return -EINVAL;
	if (ioctl == KVM_REGISTER_COALESCED_MMIO)
		return coalesced_register(vm, &z);
	return coalesced_unregister(vm, &z);
}

/*
 * A guest write of len (1-8) bytes at addr in MMIO or port space: true when
 * it went to the ring, false when it must exit to userspace.
 */
bool kvmd_coalesced_write(struct kvmd_vm *vm, u64 addr, int len,
			  const void *val, bool pio)
{
	struct kvm_coalesced_mmio_ring *ring = vm->coalesced_ring;
	const struct kvmd_coalesced_zones *zs;
	bool hit = false;
	unsigned int i;
	u32 insert;

	if (len < 1 || len > (int)sizeof(ring->coalesced_mmio[0].data))
		return false;
	rcu_read_lock();
	zs = rcu_dereference(vm->coalesced_zones);
	for (i = 0; zs && i < zs->n && !hit; i++)
		hit = zs->zone[i].pio == pio && zone_holds(&zs->zone[i], addr, len);
	rcu_read_unlock();
	if (!hit)
		return false;

	spin_lock(&vm->coalesced_lock);
	/* Userspace owns "first" and may write anything into the page. */
	insert = READ_ONCE(ring->last);
	if (insert >= KVM_COALESCED_MMIO_MAX ||
	    (READ_ONCE(ring->first) - insert - 1) % KVM_COALESCED_MMIO_MAX == 0) {
		spin_unlock(&vm->coalesced_lock);
		return false;
	}
	ring->coalesced_mmio[insert].phys_addr = addr;
	ring->coalesced_mmio[insert].len = len;
	ring->coalesced_mmio[insert].pio = pio;
	memset(ring->coalesced_mmio[insert].data, 0,
	       sizeof(ring->coalesced_mmio[insert].data));
	memcpy(ring->coalesced_mmio[insert].data, val, len);
	/* the entry before the index that publishes it */
	smp_wmb();
	WRITE_ONCE(ring->last, (insert + 1) % KVM_COALESCED_MMIO_MAX);
	spin_unlock(&vm->coalesced_lock);
	return true;
}
