// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/memslot.c: guest memory slots, dirty logging and guest-physical copies. */
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "kvmdrv.h"

#define KVMD_SLOT_FLAGS (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

static unsigned long kvmd_bitmap_bytes(u64 npages)
{
	return ALIGN(npages, BITS_PER_LONG) / 8;
}

/* Slot lookup: callers hold slots_sem or mmu_lock. */
struct kvmd_memslot *kvmd_gfn_to_slot(struct kvmd_vm *vm, u64 gfn)
{
	int i;

	for (i = 0; i < KVMD_MEM_SLOTS; i++) {
		struct kvmd_memslot *s = &vm->slots[i];

		if (s->npages && gfn >= s->base_gfn &&
		    gfn < s->base_gfn + s->npages)
			return s;
	}
	return NULL;
}

void kvmd_mark_dirty(struct kvmd_memslot *slot, u64 gfn)
{
	if (slot->dirty_bitmap)
		set_bit_le(gfn - slot->base_gfn, slot->dirty_bitmap);
}

static void kvmd_zap_slot(struct kvmd_vm *vm, struct kvmd_memslot *s)
{
	bool flush;

	spin_lock(&vm->mmu_lock);
	flush = kvmd_tdp_zap(vm, s->base_gfn, s->base_gfn + s->npages);
	spin_unlock(&vm->mmu_lock);
	if (flush)
		kvmd_flush_remote_tlbs(vm);
}

int kvmd_set_memory_region(struct kvmd_vm *vm,
			   const struct kvm_userspace_memory_region *mem)
{
	struct kvmd_memslot *old, new;
	unsigned long *bitmap = NULL, *old_bitmap = NULL;
	u16 as_id = mem->slot >> 16, id = (u16)mem->slot;
	u64 npages;
	int i, r;

	if (mem->flags & ~KVMD_SLOT_FLAGS)
		return -EINVAL;
	if (mem->memory_size & (PAGE_SIZE - 1))
		return -EINVAL;
	if (mem->guest_phys_addr & (PAGE_SIZE - 1))
		return -EINVAL;
	if ((mem->userspace_addr & (PAGE_SIZE - 1)) ||
	    (mem->memory_size &&
	     !access_ok((void __user *)(unsigned long)mem->userspace_addr,
			mem->memory_size)))
		return -EINVAL;
	if (as_id || id >= KVMD_MEM_SLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	npages = mem->memory_size >> PAGE_SHIFT;
	if (npages > KVMD_MAX_SLOT_PAGES)
		return -EINVAL;

	down_write(&vm->slots_sem);
	old = &vm->slots[id];

	if (!npages) {
		r = -EINVAL;
		if (!old->npages)
			goto out;
		/* Delete. */
		new = *old;
		spin_lock(&vm->mmu_lock);
		memset(old, 0, sizeof(*old));
		spin_unlock(&vm->mmu_lock);
		kvmd_zap_slot(vm, &new);
		vfree(new.dirty_bitmap);
		r = 0;
		goto out;
	}

	new.base_gfn = mem->guest_phys_addr >> PAGE_SHIFT;
	new.npages = npages;
	new.hva = mem->userspace_addr;
	new.flags = mem->flags;
	new.dirty_bitmap = NULL;

	if (old->npages) {
		r = -EINVAL;
		if (new.hva != old->hva || npages != old->npages ||
		    ((new.flags ^ old->flags) & KVM_MEM_READONLY))
			goto out;
		r = 0;
		if (new.base_gfn == old->base_gfn && new.flags == old->flags)
			goto out;
	}

	/* Create or move: the new range may not overlap another slot. */
	if (!old->npages || new.base_gfn != old->base_gfn) {
		r = -EEXIST;
		for (i = 0; i < KVMD_MEM_SLOTS; i++) {
			struct kvmd_memslot *s = &vm->slots[i];

			if (s == old || !s->npages)
				continue;
			if (new.base_gfn < s->base_gfn + s->npages &&
			    s->base_gfn < new.base_gfn + npages)
				goto out;
		}
	}

	if (new.flags & KVM_MEM_LOG_DIRTY_PAGES) {
		if (old->dirty_bitmap) {
			bitmap = old->dirty_bitmap;
		} else {
			r = -ENOMEM;
			bitmap = vzalloc(kvmd_bitmap_bytes(npages));
			if (!bitmap)
				goto out;
		}
	} else {
		old_bitmap = old->dirty_bitmap;
	}
	new.dirty_bitmap = bitmap;

	if (old->npages) {
		/* Move or flag change: drop every mapping of the old range. */
		struct kvmd_memslot prev = *old;

		spin_lock(&vm->mmu_lock);
		*old = new;
		spin_unlock(&vm->mmu_lock);
		kvmd_zap_slot(vm, &prev);
	} else {
		spin_lock(&vm->mmu_lock);
		*old = new;
		spin_unlock(&vm->mmu_lock);
	}
	vfree(old_bitmap);
	r = 0;
out:
	if (!r)
		WRITE_ONCE(vm->slots_committed, true);
	up_write(&vm->slots_sem);
	return r;
}

int kvmd_get_dirty_log(struct kvmd_vm *vm, struct kvm_dirty_log *log)
{
	u16 as_id = log->slot >> 16, id = (u16)log->slot;
	struct kvmd_memslot *s;
	unsigned long *snap, n, i, bytes;
	bool flush = false;
	int r;

	if (as_id || id >= KVMD_MEM_SLOTS)
		return -EINVAL;

	down_read(&vm->slots_sem);
	s = &vm->slots[id];
	r = -ENOENT;
	if (!s->npages || !s->dirty_bitmap)
		goto out;
	bytes = kvmd_bitmap_bytes(s->npages);
	r = -ENOMEM;
	snap = vzalloc(bytes);
	if (!snap)
		goto out;

	/* Take and clear the bits, write-protecting what was dirtied. */
	spin_lock(&vm->mmu_lock);
	n = bytes / sizeof(long);
	for (i = 0; i < n; i++) {
		unsigned long bits = xchg(&s->dirty_bitmap[i], 0);
		u64 first = s->base_gfn + i * BITS_PER_LONG;

		snap[i] = bits;
		if (bits)
			flush |= kvmd_tdp_wrprotect(vm, first,
						    first + BITS_PER_LONG);
	}
	spin_unlock(&vm->mmu_lock);
	if (flush)
		kvmd_flush_remote_tlbs(vm);

	r = 0;
	if (copy_to_user(log->dirty_bitmap, snap, bytes))
		r = -EFAULT;
	vfree(snap);
out:
	up_read(&vm->slots_sem);
	return r;
}

void kvmd_free_memslots(struct kvmd_vm *vm)
{
	int i;

	for (i = 0; i < KVMD_MEM_SLOTS; i++) {
		vfree(vm->slots[i].dirty_bitmap);
		vm->slots[i].dirty_bitmap = NULL;
		vm->slots[i].npages = 0;
	}
}

/* Guest-physical reads; -ENOENT when a byte lies outside every slot. */
int kvmd_read_guest(struct kvmd_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	int r = 0;

	down_read(&vm->slots_sem);
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct kvmd_memslot *s = kvmd_gfn_to_slot(vm, gpa >> PAGE_SHIFT);
		unsigned long hva;

		if (!s) {
			r = -ENOENT;
			break;
		}
		hva = s->hva + (((gpa >> PAGE_SHIFT) - s->base_gfn) << PAGE_SHIFT) + off;
		if (copy_from_user(buf, (void __user *)hva, n)) {
			r = -EFAULT;
			break;
		}
		gpa += n;
		buf += n;
		len -= n;
	}
	up_read(&vm->slots_sem);
	return r;
}

/* Guest-physical writes; read-only slots count as outside (-ENOENT). */
int kvmd_write_guest(struct kvmd_vm *vm, u64 gpa, const void *buf,
		     unsigned int len)
{
	int r = 0;

	down_read(&vm->slots_sem);
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		u64 gfn = gpa >> PAGE_SHIFT;
		struct kvmd_memslot *s = kvmd_gfn_to_slot(vm, gfn);
		unsigned long hva;

		if (!s || (s->flags & KVM_MEM_READONLY)) {
			r = -ENOENT;
			break;
		}
		hva = s->hva + ((gfn - s->base_gfn) << PAGE_SHIFT) + off;
		if (copy_to_user((void __user *)hva, buf, n)) {
			r = -EFAULT;
			break;
		}
		kvmd_mark_dirty(s, gfn);
		gpa += n;
		buf += n;
		len -= n;
	}
	up_read(&vm->slots_sem);
	return r;
}
