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

/* Slot lookup in one address space: callers hold slots_sem or mmu_lock. */
__kvmd_hot struct kvmd_memslot *kvmd_gfn_to_slot(struct kvmd_vm *vm, int as_id, u64 gfn)
{
	int i;

	for (i = 0; i < KVMD_MEM_SLOTS; i++) {
		struct kvmd_memslot *s = &vm->slots[as_id][i];

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

static void kvmd_zap_slot(struct kvmd_vm *vm, int as_id, struct kvmd_memslot *s)
{
	bool flush;

	spin_lock(&vm->mmu_lock);
	flush = kvmd_tdp_zap(vm, as_id, s->base_gfn, s->base_gfn + s->npages);
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
	if (as_id >= KVMD_ADDRESS_SPACES || id >= KVMD_MEM_SLOTS)
		return -EINVAL;
	if (mem->guest_phys_addr + mem->memory_size < mem->guest_phys_addr)
		return -EINVAL;
	npages = mem->memory_size >> PAGE_SHIFT;
	if (npages > KVMD_MAX_SLOT_PAGES)
		return -EINVAL;

	down_write(&vm->slots_sem);
	old = &vm->slots[as_id][id];

	if (!npages) {
		r = -EINVAL;
		if (!old->npages)
			goto out;
		/* Delete. */
		new = *old;
		spin_lock(&vm->mmu_lock);
		memset(old, 0, sizeof(*old));
		spin_unlock(&vm->mmu_lock);
		kvmd_zap_slot(vm, as_id, &new);
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

	/* Create or move: the new range may not overlap another slot of its space. */
	if (!old->npages || new.base_gfn != old->base_gfn) {
		r = -EEXIST;
		for (i = 0; i < KVMD_MEM_SLOTS; i++) {
			struct kvmd_memslot *s = &vm->slots[as_id][i];

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
			/* KVM_DIRTY_LOG_INITIALLY_SET: all dirty, nothing protected yet. */
			if (READ_ONCE(vm->manual_dirty_log) & KVM_DIRTY_LOG_INITIALLY_SET)
				bitmap_set(bitmap, 0, npages);
		}
	} else {
		old_bitmap = old->dirty_bitmap;
	}
	new.dirty_bitmap = bitmap;

	if (old->npages && new.base_gfn == old->base_gfn && bitmap && !old->dirty_bitmap) {
		/*
		 * Logging starts: as KVM, the mappings stay, write-protected so
		 * the next write to each page is logged; with
		 * KVM_DIRTY_LOG_INITIALLY_SET every page counts as dirty and
		 * KVM_CLEAR_DIRTY_LOG protects them later.
		 */
		bool flush = false;

		spin_lock(&vm->mmu_lock);
		*old = new;
		if (!(READ_ONCE(vm->manual_dirty_log) & KVM_DIRTY_LOG_INITIALLY_SET))
			flush = kvmd_tdp_wrprotect(vm, as_id, new.base_gfn,
						   new.base_gfn + npages);
		spin_unlock(&vm->mmu_lock);
		if (flush)
			kvmd_flush_remote_tlbs(vm);
	} else if (old->npages) {
		/*
		 * Move or another flag change (logging stops: large pages may
		 * map it again): drop every mapping of the old range.
		 */
		struct kvmd_memslot prev = *old;

		spin_lock(&vm->mmu_lock);
		*old = new;
		spin_unlock(&vm->mmu_lock);
		kvmd_zap_slot(vm, as_id, &prev);
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

/*
 * The slot a dirty-log ioctl names (address space << 16 | id), with KVM's
 * errnos: EINVAL for an id out of range, ENOENT when it does not log.
 * Called with slots_sem held.
 */
static struct kvmd_memslot *dirty_log_slot(struct kvmd_vm *vm, u32 slot)
{
	u16 as_id = slot >> 16, id = (u16)slot;
	struct kvmd_memslot *s;

	if (as_id >= KVMD_ADDRESS_SPACES || id >= KVMD_MEM_SLOTS)
		return ERR_PTR(-EINVAL);
	s = &vm->slots[as_id][id];
	if (!s->npages || !s->dirty_bitmap)
		return ERR_PTR(-ENOENT);
	return s;
}

int kvmd_get_dirty_log(struct kvmd_vm *vm, struct kvm_dirty_log *log)
{
	struct kvmd_memslot *s;
	unsigned long *snap, n, i, bytes;
	bool flush = false;
	int r;

	down_read(&vm->slots_sem);
	s = dirty_log_slot(vm, log->slot);
	r = PTR_ERR_OR_ZERO(s);
	if (r)
		goto out;
	bytes = kvmd_bitmap_bytes(s->npages);
	r = -ENOMEM;
	snap = kvzalloc(bytes, GFP_KERNEL_ACCOUNT);
	if (!snap)
		goto out;

	/*
	 * With KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE the bits stay: userspace
	 * clears and re-protects them with KVM_CLEAR_DIRTY_LOG.
	 */
	if (READ_ONCE(vm->manual_dirty_log) & KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE) {
		n = bytes / sizeof(long);
		for (i = 0; i < n; i++)
			snap[i] = READ_ONCE(s->dirty_bitmap[i]);
		goto copy;
	}

	/* Take and clear the bits, write-protecting what was dirtied. */
	spin_lock(&vm->mmu_lock);
	n = bytes / sizeof(long);
	for (i = 0; i < n; i++) {
		unsigned long bits = xchg(&s->dirty_bitmap[i], 0);
		u64 first = s->base_gfn + i * BITS_PER_LONG;

		snap[i] = bits;
		if (bits)
			flush |= kvmd_tdp_wrprotect(vm, log->slot >> 16, first,
						    first + BITS_PER_LONG);
	}
	spin_unlock(&vm->mmu_lock);
	if (flush)
		kvmd_flush_remote_tlbs(vm);

copy:
	r = 0;
	if (copy_to_user(log->dirty_bitmap, snap, bytes))
		r = -EFAULT;
	kvfree(snap);
out:
	up_read(&vm->slots_sem);
	return r;
}

/*
 * KVM_CLEAR_DIRTY_LOG: clear the bits userspace hands back and write-protect
 * those pages again, so their next write is logged. first_page is a
 * multiple of 64, and num_pages too unless the range ends the slot.
 */
int kvmd_clear_dirty_log(struct kvmd_vm *vm, struct kvm_clear_dirty_log *log)
{
	struct kvmd_memslot *s;
	unsigned long *mask, i, n;
	bool flush = false;
	int r;

	if (log->first_page & 63)
		return -EINVAL;
	down_read(&vm->slots_sem);
	s = dirty_log_slot(vm, log->slot);
	r = PTR_ERR_OR_ZERO(s);
	if (r)
		goto out;
	r = -EINVAL;
	if (log->first_page > s->npages ||
	    log->num_pages > s->npages - log->first_page ||
	    (log->num_pages < s->npages - log->first_page && (log->num_pages & 63)))
		goto out;
	n = DIV_ROUND_UP(log->num_pages, BITS_PER_LONG);
	r = 0;
	if (!n)
		goto out;
	mask = vmemdup_user(log->dirty_bitmap, n * sizeof(long));
	if (IS_ERR(mask)) {
		r = PTR_ERR(mask);
		goto out;
	}
	/* Bits past the range (and the slot) stay as they are. */
	if (log->num_pages % BITS_PER_LONG)
		mask[n - 1] &= BITMAP_LAST_WORD_MASK(log->num_pages);

	spin_lock(&vm->mmu_lock);
	for (i = 0; i < n; i++) {
		unsigned long word = log->first_page / BITS_PER_LONG + i;
		unsigned long bits = mask[i], b, e;
		u64 first = s->base_gfn + word * BITS_PER_LONG;

		if (!bits)
			continue;
		bits &= atomic_long_fetch_andnot(bits,
				(atomic_long_t *)&s->dirty_bitmap[word]);
		for_each_set_bitrange(b, e, &bits, BITS_PER_LONG)
			flush |= kvmd_tdp_wrprotect(vm, log->slot >> 16, first + b,
						    first + e);
	}
	spin_unlock(&vm->mmu_lock);
	if (flush)
		kvmd_flush_remote_tlbs(vm);
	kvfree(mask);
out:
	up_read(&vm->slots_sem);
	return r;
}

void kvmd_free_memslots(struct kvmd_vm *vm)
{
	int as, i;

	for (as = 0; as < KVMD_ADDRESS_SPACES; as++) {
		for (i = 0; i < KVMD_MEM_SLOTS; i++) {
			struct kvmd_memslot *s = &vm->slots[as][i];

			vfree(s->dirty_bitmap);
			s->dirty_bitmap = NULL;
			s->npages = 0;
		}
	}
}

/* Guest-physical reads; -ENOENT when a byte lies outside every slot. */
static __kvmd_hot int kvmd_as_read_guest(struct kvmd_vm *vm, int as_id, u64 gpa,
			      void *buf, unsigned int len)
{
	int r = 0;

	down_read(&vm->slots_sem);
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		struct kvmd_memslot *s = kvmd_gfn_to_slot(vm, as_id, gpa >> PAGE_SHIFT);
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
static __kvmd_hot int kvmd_as_write_guest(struct kvmd_vm *vm, int as_id, u64 gpa,
			       const void *buf, unsigned int len)
{
	int r = 0;

	down_read(&vm->slots_sem);
	while (len) {
		unsigned int off = offset_in_page(gpa);
		unsigned int n = min_t(unsigned int, len, PAGE_SIZE - off);
		u64 gfn = gpa >> PAGE_SHIFT;
		struct kvmd_memslot *s = kvmd_gfn_to_slot(vm, as_id, gfn);
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

/* The host address of gpa in a writable slot of address space 0, or 0. */
static unsigned long kvmd_writable_hva(struct kvmd_vm *vm, u64 gpa,
				       struct kvmd_memslot **slot)
{
	u64 gfn = gpa >> PAGE_SHIFT;
	struct kvmd_memslot *s = kvmd_gfn_to_slot(vm, 0, gfn);

	if (!s || (s->flags & KVM_MEM_READONLY))
		return 0;
	*slot = s;
	return s->hva + ((gfn - s->base_gfn) << PAGE_SHIFT) + offset_in_page(gpa);
}

/* A writable slot of address space 0 holds gpa (MSR_KVM_PV_EOI_EN's check). */
bool kvmd_gpa_writable(struct kvmd_vm *vm, u64 gpa)
{
	struct kvmd_memslot *s;
	bool ok;

	down_read(&vm->slots_sem);
	ok = kvmd_writable_hva(vm, gpa, &s) != 0;
	up_read(&vm->slots_sem);
	return ok;
}

/*
 * Exchange a guest byte of address space 0 atomically with respect to the
 * guest's own locked writes (steal time's preempted byte, pv.c); *old gets
 * what it held. -ENOENT outside a writable slot, -EFAULT, or -EBUSY when
 * the guest kept changing it.
 */
int kvmd_guest_xchg_u8(struct kvmd_vm *vm, u64 gpa, u8 new, u8 *old)
{
	struct kvmd_memslot *s;
	u8 __user *p;
	int tries, r = -ENOENT;
	u8 cur;

	down_read(&vm->slots_sem);
	p = (u8 __user *)kvmd_writable_hva(vm, gpa, &s);
	if (!p)
		goto out;
	r = -EFAULT;
	if (get_user(cur, p) || !user_access_begin(p, sizeof(*p)))
		goto out;
	r = -EBUSY;
	for (tries = 0; tries < 64; tries++) {
		if (unsafe_try_cmpxchg_user(p, &cur, new, fault)) {
			r = 0;
			break;
		}
	}
	user_access_end();
	if (!r) {
		*old = cur;
		kvmd_mark_dirty(s, gpa >> PAGE_SHIFT);
	}
	goto out;
fault:
	user_access_end();
out:
	up_read(&vm->slots_sem);
	return r;
}

/*
 * A guest write that never sleeps nor waits, for the scheduler's
 * preemption notifier (pv.c): mmu_lock is only tried (the slots may be
 * read under it) and the copy faults nothing in. Within one page, address
 * space 0; -EBUSY, -ENOENT or -EFAULT when it did not happen.
 */
int kvmd_write_guest_atomic(struct kvmd_vm *vm, u64 gpa, const void *buf,
			    unsigned int len)
{
	struct kvmd_memslot *s;
	unsigned long hva;
	int r = -ENOENT;

	if (offset_in_page(gpa) + len > PAGE_SIZE)
		return -EINVAL;
	if (!spin_trylock(&vm->mmu_lock))
		return -EBUSY;
	hva = kvmd_writable_hva(vm, gpa, &s);
	if (hva) {
		r = -EFAULT;
		if (!copy_to_user_nofault((void __user *)hva, buf, len)) {
			kvmd_mark_dirty(s, gpa >> PAGE_SHIFT);
			r = 0;
		}
	}
	spin_unlock(&vm->mmu_lock);
	return r;
}

/* The VM's own accesses (clock pages, steal time) use address space 0, as KVM's. */
int kvmd_read_guest(struct kvmd_vm *vm, u64 gpa, void *buf, unsigned int len)
{
	return kvmd_as_read_guest(vm, 0, gpa, buf, len);
}

int kvmd_write_guest(struct kvmd_vm *vm, u64 gpa, const void *buf,
		     unsigned int len)
{
	return kvmd_as_write_guest(vm, 0, gpa, buf, len);
}

__kvmd_hot int kvmd_vcpu_read_guest(struct kvmd_vcpu *vcpu, u64 gpa, void *buf,
			 unsigned int len)
{
	return kvmd_as_read_guest(vcpu->vm, kvmd_vcpu_as_id(vcpu), gpa, buf, len);
}

int kvmd_vcpu_write_guest(struct kvmd_vcpu *vcpu, u64 gpa, const void *buf,
			  unsigned int len)
{
	return kvmd_as_write_guest(vcpu->vm, kvmd_vcpu_as_id(vcpu), gpa, buf, len);
}
