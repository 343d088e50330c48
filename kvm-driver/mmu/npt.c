// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/mmu/npt.c: second-level (nested) page tables: fault-in from memslots, zap, write-protect. */
#include <linux/highmem.h>
#include <linux/hugetlb.h>
#include <linux/mm.h>
#include <linux/pgtable.h>
#include <linux/slab.h>

#include "../kvmdrv.h"

#define TDP_MAX_LEVELS	5
#define TDP_ENTRIES	512
#define TDP_PS		(1ULL << 7)	/* large page, same bit in NPT and EPT */
#define TDP_PFN_MASK	0x000ffffffffff000ULL
/*
 * A software bit (ignored by NPT and EPT walks): the host maps the page
 * writable, so a write fault on this read-only entry (dirty logging
 * protected it) only needs the write bit back.
 */
#define TDP_HOST_WRITABLE	(1ULL << 54)

static inline unsigned int tdp_index(u64 gfn, int level)
{
	return (gfn >> (9 * (level - 1))) & (TDP_ENTRIES - 1);
}

static inline u64 *tdp_table(u64 pte)
{
	return __va(pte & TDP_PFN_MASK);
}

static bool tdp_leaf(u64 pte, int level)
{
	return level == 1 || (pte & TDP_PS);
}

/* A root per address space: SMRAM (space 1) is mapped apart from memory. */
int kvmd_tdp_init(struct kvmd_vm *vm)
{
	int as;

	vm->tdp_levels = kvmd_ops->tdp_levels ? kvmd_ops->tdp_levels() : 4;
	for (as = 0; as < KVMD_ADDRESS_SPACES; as++) {
		vm->tdp_root[as] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!vm->tdp_root[as]) {
			kvmd_tdp_destroy(vm);
			return -ENOMEM;
		}
		vm->tdp_pages++;
	}
	return 0;
}

u64 kvmd_tdp_as_root_pa(struct kvmd_vm *vm, int as_id)
{
	return __pa(vm->tdp_root[as_id]);
}

/* The root a vCPU starts with (after reset, outside SMM). */
u64 kvmd_tdp_root_pa(struct kvmd_vm *vm)
{
	return kvmd_tdp_as_root_pa(vm, 0);
}

static void tdp_free_table(struct kvmd_vm *vm, u64 *table, int level)
{
	int i;

	if (level > 1) {
		for (i = 0; i < TDP_ENTRIES; i++) {
			u64 pte = table[i];

			if ((pte & kvmd_ops->tdp_present_mask) &&
			    !tdp_leaf(pte, level))
				tdp_free_table(vm, tdp_table(pte), level - 1);
		}
	}
	free_page((unsigned long)table);
	vm->tdp_pages--;
}

void kvmd_tdp_destroy(struct kvmd_vm *vm)
{
	int as;

	for (as = 0; as < KVMD_ADDRESS_SPACES; as++) {
		if (!vm->tdp_root[as])
			continue;
		tdp_free_table(vm, vm->tdp_root[as], vm->tdp_levels);
		vm->tdp_root[as] = NULL;
	}
	WARN_ON(vm->tdp_pages);
}

/*
 * Walk [gfn, end) and apply @clear to every present leaf: a zap clears the
 * present bit, a write-protect the write bit. Returns true if any entry
 * changed (a TLB flush is then due).
 */
static bool tdp_walk_clear(u64 *table, int level, u64 base, u64 gfn, u64 end,
			   u64 clear)
{
	u64 span = 1ULL << (9 * (level - 1));
	bool changed = false;
	unsigned int i;

	for (i = tdp_index(max(gfn, base) , level); i < TDP_ENTRIES; i++) {
		u64 first = base + i * span;
		u64 pte = table[i];

		if (first >= end)
			break;
		if (first + span <= gfn)
			continue;
		if (!(pte & kvmd_ops->tdp_present_mask))
			continue;
		if (tdp_leaf(pte, level)) {
			if (pte & clear) {
				WRITE_ONCE(table[i], clear == kvmd_ops->tdp_present_mask ?
					   0 : pte & ~clear);
				changed = true;
			}
			continue;
		}
		changed |= tdp_walk_clear(tdp_table(pte), level - 1, first, gfn,
					  end, clear);
	}
	return changed;
}

/* Tables built from ours (a guest hypervisor's guest's) follow every change. */
static bool tdp_changed(struct kvmd_vm *vm, bool changed)
{
	if (changed && kvmd_ops->tdp_changed)
		kvmd_ops->tdp_changed(vm);
	return changed;
}

/* Callers hold mmu_lock. */
bool kvmd_tdp_zap(struct kvmd_vm *vm, int as_id, u64 gfn, u64 end_gfn)
{
	return tdp_changed(vm, tdp_walk_clear(vm->tdp_root[as_id], vm->tdp_levels, 0, gfn, end_gfn,
			      kvmd_ops->tdp_present_mask));
}

bool kvmd_tdp_wrprotect(struct kvmd_vm *vm, int as_id, u64 gfn, u64 end_gfn)
{
	return tdp_changed(vm, tdp_walk_clear(vm->tdp_root[as_id], vm->tdp_levels, 0, gfn, end_gfn,
			      kvmd_ops->tdp_write_mask));
}

/*
 * Our leaf for @gfn: its frame and whether it is writable. mmu_lock held.
 * Address space 0: a nested guest runs outside SMM.
 */
bool kvmd_tdp_lookup(struct kvmd_vm *vm, u64 gfn, u64 *pfn, bool *writable)
{
	u64 *table = vm->tdp_root[0];
	int level;

	if (gfn >> (9 * vm->tdp_levels))
		return false;
	for (level = vm->tdp_levels; level >= 1; level--) {
		u64 pte = READ_ONCE(table[tdp_index(gfn, level)]);

		if (!(pte & kvmd_ops->tdp_present_mask))
			return false;
		if (tdp_leaf(pte, level)) {
			*pfn = ((pte & TDP_PFN_MASK) >> PAGE_SHIFT) +
			       (gfn & ((1ULL << (9 * (level - 1))) - 1));
			*writable = pte & kvmd_ops->tdp_write_mask;
			return true;
		}
		table = tdp_table(pte);
	}
	return false;
}

/*
 * Table pages for tdp_map(), topped up per vCPU before mmu_lock is taken
 * and kept for the next fault (as KVM's MMU memory caches): a fault that
 * builds no new table allocates nothing.
 */
static int tdp_cache_fill(struct kvmd_vcpu *vcpu)
{
	BUILD_BUG_ON(KVMD_TDP_CACHE < TDP_MAX_LEVELS - 1);
	while (vcpu->tdp_cache_n < KVMD_TDP_CACHE) {
		u64 *p = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		vcpu->tdp_cache[vcpu->tdp_cache_n++] = p;
	}
	return 0;
}

void kvmd_tdp_vcpu_free(struct kvmd_vcpu *vcpu)
{
	while (vcpu->tdp_cache_n)
		free_page((unsigned long)vcpu->tdp_cache[--vcpu->tdp_cache_n]);
}

/* Install one mapping at @target_level (1: 4 KiB, 2: 2 MiB). mmu_lock held. */
static void tdp_map(struct kvmd_vcpu *vcpu, u64 gfn, u64 pfn,
		    const u64 *gfn_4k, const u64 *pfn_4k,
		    bool writable, bool host_writable, int target_level)
{
	struct kvmd_vm *vm = vcpu->vm;
	u64 *table = vm->tdp_root[kvmd_vcpu_as_id(vcpu)];
	int level;

	/* A table already under this 2 MiB range stays: map 4 KiB in it. */
	if (target_level == 2) {
		u64 *t = table;

		for (level = vm->tdp_levels; level > 2; level--) {
			u64 pte = t[tdp_index(gfn, level)];

			if (!(pte & kvmd_ops->tdp_present_mask) || tdp_leaf(pte, level))
				break;
			t = tdp_table(pte);
		}
		if (level == 2 && (t[tdp_index(gfn, 2)] & kvmd_ops->tdp_present_mask) &&
		    !tdp_leaf(t[tdp_index(gfn, 2)], 2)) {
			target_level = 1;
			gfn = *gfn_4k;
			pfn = *pfn_4k;
		}
	}

	for (level = vm->tdp_levels; level > target_level; level--) {
		u64 *slot = &table[tdp_index(gfn, level)];
		u64 pte = *slot;

		if (!(pte & kvmd_ops->tdp_present_mask) || tdp_leaf(pte, level)) {
			/* A large leaf in the way is dropped: its pages refault. */
			u64 *next = vcpu->tdp_cache[--vcpu->tdp_cache_n];

			vm->tdp_pages++;
			pte = kvmd_ops->tdp_table_pte(__pa(next) >> PAGE_SHIFT);
			WRITE_ONCE(*slot, pte);
		}
		table = tdp_table(pte);
	}
	WRITE_ONCE(table[tdp_index(gfn, target_level)],
		   kvmd_ops->tdp_pte(pfn, writable, target_level == 2) |
		   (host_writable ? TDP_HOST_WRITABLE : 0));
}

/* Is @hva mapped by a PMD-sized (or larger) host mapping right now? */
static bool host_maps_huge(struct mm_struct *mm, unsigned long hva)
{
	unsigned long flags;
	bool huge = false;
	pgd_t pgd;
	p4d_t p4d;
	pud_t pud;
	pmd_t pmd;

	/* Interrupts off keep the page tables from being freed (like gup_fast). */
	local_irq_save(flags);
	pgd = READ_ONCE(*pgd_offset(mm, hva));
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	p4d = READ_ONCE(*p4d_offset(&pgd, hva));
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pud = READ_ONCE(*pud_offset(&p4d, hva));
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_large(pud)) {
		huge = true;
		goto out;
	}
	pmd = READ_ONCE(*pmd_offset(&pud, hva));
	huge = pmd_present(pmd) && pmd_large(pmd);
out:
	local_irq_restore(flags);
	return huge;
}

/*
 * A write to a page dirty logging write-protected, where the host maps it
 * writable: give the entry its write bit back and log the page, under
 * mmu_lock and without looking up the host page again (KVM's fast page
 * fault). An MMU notifier zaps the entry before the host mapping changes,
 * so a present entry still stands for the host page. False: take the
 * slow path.
 */
static bool tdp_fast_write(struct kvmd_vm *vm, int as_id,
			   struct kvmd_memslot *slot, u64 gfn)
{
	u64 *table = vm->tdp_root[as_id], *sptep, pte;
	bool done = false;
	int level;

	spin_lock(&vm->mmu_lock);
	for (level = vm->tdp_levels; ; level--) {
		sptep = &table[tdp_index(gfn, level)];
		pte = *sptep;
		if (!(pte & kvmd_ops->tdp_present_mask))
			goto out;
		if (tdp_leaf(pte, level))
			break;
		table = tdp_table(pte);
	}
	if (level != 1 || !(pte & TDP_HOST_WRITABLE))
		goto out;
	if (!(pte & kvmd_ops->tdp_write_mask))
		WRITE_ONCE(*sptep, pte | kvmd_ops->tdp_write_mask);
	kvmd_mark_dirty(slot, gfn);
	done = true;
out:
	spin_unlock(&vm->mmu_lock);
	return done;
}

__kvmd_hot int kvmd_tdp_fault(struct kvmd_vcpu *vcpu, u64 gpa, bool write, bool fetch)
{
	struct kvmd_vm *vm = vcpu->vm;
	int as_id = kvmd_vcpu_as_id(vcpu);
	u64 gfn = gpa >> PAGE_SHIFT;
	struct kvmd_memslot *slot;
	unsigned long hva, seq;
	bool want_write, host_writable, large = false;
	struct page *page;
	u64 pfn;
	long n;
	int r;

	down_read(&vm->slots_sem);
	slot = kvmd_gfn_to_slot(vm, as_id, gfn);
	/* Four levels reach 48 bits; frames above can only be emulated. */
	if (!slot || (gfn >> (9 * vm->tdp_levels)) || (write && (slot->flags & KVM_MEM_READONLY))) {
		up_read(&vm->slots_sem);
		vcpu->fault_gpa = gpa;
		vcpu->fault_gpa_valid = true;
		return kvmd_emulate_mmio(vcpu);
	}
	if (write && slot->dirty_bitmap && tdp_fast_write(vm, as_id, slot, gfn)) {
		up_read(&vm->slots_sem);
		return KVMD_RESUME;
	}
	hva = slot->hva + ((gfn - slot->base_gfn) << PAGE_SHIFT);
	want_write = !(slot->flags & KVM_MEM_READONLY) &&
		     (write || !slot->dirty_bitmap);

	seq = READ_ONCE(vm->mmu_seq);
	smp_rmb();

	/*
	 * A read of a logged page maps it read-only; whether the host maps
	 * it writable already (no fault taken to find out) lets the first
	 * write take the fast path.
	 */
	host_writable = want_write;
	n = 0;
	if (!want_write && !(slot->flags & KVM_MEM_READONLY) &&
	    get_user_page_fast_only(hva, FOLL_WRITE, &page)) {
		host_writable = true;
		n = 1;
	}
	/*
	 * With asynchronous page faults possible, a page that cannot be had
	 * without waiting (FOLL_NOWAIT fails: swapped out, a userfaultfd to
	 * answer...) is left to a worker while the guest goes on (async_pf.c).
	 */
	if (!n && kvmd_apf_can_do(vcpu)) {
		n = get_user_pages_unlocked(hva, 1, &page, FOLL_NOWAIT |
					    (want_write ? FOLL_WRITE : 0));
		if (n != 1 && want_write && !write) {
			n = get_user_pages_unlocked(hva, 1, &page, FOLL_NOWAIT);
			if (n == 1)
				want_write = host_writable = false;
		}
		if (n != 1) {
			/* async_pf.c writes guest memory: not under slots_sem. */
			up_read(&vm->slots_sem);
			if (kvmd_apf_fault(vcpu, gpa, hva, write))
				return KVMD_RESUME;
			down_read(&vm->slots_sem);
			/* The slot changed meanwhile: let the guest refault. */
			if (kvmd_gfn_to_slot(vm, as_id, gfn) != slot ||
			    slot->hva + ((gfn - slot->base_gfn) << PAGE_SHIFT) != hva) {
				up_read(&vm->slots_sem);
				return KVMD_RESUME;
			}
			n = 0;
		}
	}
	if (!n)
		n = get_user_pages_unlocked(hva, 1, &page, want_write ? FOLL_WRITE : 0);
	if (n != 1 && want_write && !write) {
		/* A read-only host mapping still serves guest reads. */
		want_write = host_writable = false;
		n = get_user_pages_unlocked(hva, 1, &page, 0);
	}
	if (n != 1) {
		up_read(&vm->slots_sem);
		return n < 0 ? n : -EFAULT;
	}
	pfn = page_to_pfn(page);

	/* A 2 MiB mapping needs the same 2 MiB frame on both sides. */
	if (!slot->dirty_bitmap && PageCompound(page) &&
	    compound_order(compound_head(page)) >= PMD_SHIFT - PAGE_SHIFT &&
	    (pfn & 511) == (gfn & 511) &&
	    ((hva >> PAGE_SHIFT) & 511) == (gfn & 511) &&
	    ALIGN_DOWN(gfn, 512) >= slot->base_gfn &&
	    ALIGN_DOWN(gfn, 512) + 512 <= slot->base_gfn + slot->npages &&
	    host_maps_huge(vm->mm, hva))
		large = true;

	r = tdp_cache_fill(vcpu);
	if (r)
		goto out;

	spin_lock(&vm->mmu_lock);
	if (vm->mmu_invalidating || READ_ONCE(vm->mmu_seq) != seq) {
		/* The host mapping changed meanwhile: let the guest refault. */
		spin_unlock(&vm->mmu_lock);
		r = KVMD_RESUME;
		goto out;
	}
	if (large)
		tdp_map(vcpu, ALIGN_DOWN(gfn, 512), ALIGN_DOWN(pfn, 512), &gfn, &pfn,
			want_write, host_writable, 2);
	else
		tdp_map(vcpu, gfn, pfn, &gfn, &pfn, want_write, host_writable, 1);
	if (want_write)
		kvmd_mark_dirty(slot, gfn);
	spin_unlock(&vm->mmu_lock);
	r = KVMD_RESUME;
out:
	put_page(page);
	up_read(&vm->slots_sem);
	return r;
}
