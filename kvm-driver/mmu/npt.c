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
#define TDP_CACHE	(TDP_MAX_LEVELS - 1)

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

/* Callers hold mmu_lock. */
bool kvmd_tdp_zap(struct kvmd_vm *vm, int as_id, u64 gfn, u64 end_gfn)
{
	return tdp_walk_clear(vm->tdp_root[as_id], vm->tdp_levels, 0, gfn,
			      end_gfn, kvmd_ops->tdp_present_mask);
}

bool kvmd_tdp_wrprotect(struct kvmd_vm *vm, int as_id, u64 gfn, u64 end_gfn)
{
	return tdp_walk_clear(vm->tdp_root[as_id], vm->tdp_levels, 0, gfn,
			      end_gfn, kvmd_ops->tdp_write_mask);
}

struct tdp_cache {
	int n;
	u64 *pages[TDP_CACHE];
};

static int tdp_cache_fill(struct tdp_cache *c)
{
	while (c->n < TDP_CACHE) {
		u64 *p = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);

		if (!p)
			return -ENOMEM;
		c->pages[c->n++] = p;
	}
	return 0;
}

static void tdp_cache_free(struct tdp_cache *c)
{
	while (c->n)
		free_page((unsigned long)c->pages[--c->n]);
}

/* Install one mapping at @target_level (1: 4 KiB, 2: 2 MiB). mmu_lock held. */
static void tdp_map(struct kvmd_vm *vm, u64 *root, struct tdp_cache *c,
		    u64 gfn, u64 pfn, const u64 *gfn_4k, const u64 *pfn_4k,
		    bool writable, int target_level)
{
	u64 *table = root;
	int level;

	/* A table already under this 2 MiB range stays: map 4 KiB in it. */
	if (target_level == 2) {
		u64 *t = root;

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
			u64 *next = c->pages[--c->n];

			vm->tdp_pages++;
			pte = kvmd_ops->tdp_table_pte(__pa(next) >> PAGE_SHIFT);
			WRITE_ONCE(*slot, pte);
		}
		table = tdp_table(pte);
	}
	WRITE_ONCE(table[tdp_index(gfn, target_level)],
		   kvmd_ops->tdp_pte(pfn, writable, target_level == 2));
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

int kvmd_tdp_fault(struct kvmd_vcpu *vcpu, u64 gpa, bool write, bool fetch)
{
	struct kvmd_vm *vm = vcpu->vm;
	int as_id = kvmd_vcpu_as_id(vcpu);
	u64 gfn = gpa >> PAGE_SHIFT;
	struct tdp_cache cache = { 0 };
	struct kvmd_memslot *slot;
	unsigned long hva, seq;
	bool want_write, large = false;
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
	hva = slot->hva + ((gfn - slot->base_gfn) << PAGE_SHIFT);
	want_write = !(slot->flags & KVM_MEM_READONLY) &&
		     (write || !slot->dirty_bitmap);

	seq = READ_ONCE(vm->mmu_seq);
	smp_rmb();

	n = get_user_pages_unlocked(hva, 1, &page, want_write ? FOLL_WRITE : 0);
	if (n != 1 && want_write && !write) {
		/* A read-only host mapping still serves guest reads. */
		want_write = false;
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

	r = tdp_cache_fill(&cache);
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
		tdp_map(vm, vm->tdp_root[as_id], &cache, ALIGN_DOWN(gfn, 512),
			ALIGN_DOWN(pfn, 512), &gfn, &pfn, want_write, 2);
	else
		tdp_map(vm, vm->tdp_root[as_id], &cache, gfn, pfn, &gfn, &pfn,
			want_write, 1);
	if (want_write)
		kvmd_mark_dirty(slot, gfn);
	spin_unlock(&vm->mmu_lock);
	r = KVMD_RESUME;
out:
	tdp_cache_free(&cache);
	put_page(page);
	up_read(&vm->slots_sem);
	return r;
}
