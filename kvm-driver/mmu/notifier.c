// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/mmu/notifier.c: MMU notifiers keeping second-level tables in step with the VMM's mappings. */
#include <linux/mm.h>
#include <linux/mmu_notifier.h>

#include "../kvmdrv.h"

static struct kvmd_vm *mn_to_vm(struct mmu_notifier *mn)
{
	return container_of(mn, struct kvmd_vm, mn);
}

/* Zap every guest frame backed by [start, end) of the VMM. mmu_lock held. */
static bool kvmd_zap_hva_range(struct kvmd_vm *vm, unsigned long start,
			       unsigned long end)
{
	bool flush = false;
	int as, i;

	for (as = 0; as < KVMD_ADDRESS_SPACES; as++) {
		for (i = 0; i < KVMD_MEM_SLOTS; i++) {
			struct kvmd_memslot *s = &vm->slots[as][i];
			unsigned long s_end, lo, hi;

			if (!s->npages)
				continue;
			s_end = s->hva + (s->npages << PAGE_SHIFT);
			lo = max(start, s->hva);
			hi = min(end, s_end);
			if (lo >= hi)
				continue;
			flush |= kvmd_tdp_zap(vm, as,
					      s->base_gfn + ((lo - s->hva) >> PAGE_SHIFT),
					      s->base_gfn + ((hi - s->hva + PAGE_SIZE - 1) >> PAGE_SHIFT));
		}
	}
	return flush;
}

static int kvmd_mn_invalidate_start(struct mmu_notifier *mn,
				    const struct mmu_notifier_range *range)
{
	struct kvmd_vm *vm = mn_to_vm(mn);
	bool flush;

	spin_lock(&vm->mmu_lock);
	vm->mmu_invalidating++;
	flush = kvmd_zap_hva_range(vm, range->start, range->end);
	spin_unlock(&vm->mmu_lock);
	if (flush)
		kvmd_flush_remote_tlbs(vm);
	return 0;
}

static void kvmd_mn_invalidate_end(struct mmu_notifier *mn,
				   const struct mmu_notifier_range *range)
{
	struct kvmd_vm *vm = mn_to_vm(mn);

	spin_lock(&vm->mmu_lock);
	vm->mmu_seq++;
	smp_wmb();
	vm->mmu_invalidating--;
	spin_unlock(&vm->mmu_lock);
}

static void kvmd_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct kvmd_vm *vm = mn_to_vm(mn);
	bool flush = false;
	int as;

	spin_lock(&vm->mmu_lock);
	vm->mmu_seq++;
	for (as = 0; as < KVMD_ADDRESS_SPACES; as++)
		flush |= kvmd_tdp_zap(vm, as, 0, ~0ULL >> PAGE_SHIFT);
	spin_unlock(&vm->mmu_lock);
	if (flush)
		kvmd_flush_remote_tlbs(vm);
}

static const struct mmu_notifier_ops kvmd_mn_ops = {
	.invalidate_range_start	= kvmd_mn_invalidate_start,
	.invalidate_range_end	= kvmd_mn_invalidate_end,
	.release		= kvmd_mn_release,
};

int kvmd_mmu_notifier_register(struct kvmd_vm *vm)
{
	vm->mn.ops = &kvmd_mn_ops;
	return mmu_notifier_register(&vm->mn, vm->mm);
}

void kvmd_mmu_notifier_unregister(struct kvmd_vm *vm)
{
	mmu_notifier_unregister(&vm->mn, vm->mm);
}
