// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/nested_npt.c: nested paging for a guest hypervisor: L2's NPT, L1's combined with ours. */
#include <linux/gfp.h>
#include <linux/list.h>
#include <linux/mm.h>

#include "kvmdrv.h"
#include "svm.h"

/*
 * When L1 enables nested paging in VMCB12, L2's physical addresses go
 * through L1's NPT (in L1's memory) to L1's physical addresses, and those
 * through ours to the host's. The hardware walks one table: a shadow NPT
 * per vCPU, filled at L2's nested page faults with 4 KiB leaves, each the
 * combination of L1's entry and our leaf for the address it gives. A
 * shadow leaf exists only while our leaf does: whatever clears or
 * write-protects ours (MMU notifier, memslots, dirty logging) empties
 * every shadow of the VM (nested_npt_tdp_changed), under mmu_lock. L1's
 * own changes reach it as they reach a TLB: L1 flushes (nested_npt_vmrun).
 */

#define SNPT_ADDR	0x000ffffffffff000ULL
#define SNPT_P		(1ULL << 0)
#define SNPT_RW		(1ULL << 1)
#define SNPT_US		(1ULL << 2)
#define SNPT_A		(1ULL << 5)
#define SNPT_D		(1ULL << 6)
#define SNPT_PS		(1ULL << 7)
#define SNPT_NX		(1ULL << 63)

/* Nested page fault error code (EXITINFO1) bits. */
#define NPF_P		(1ULL << 0)
#define NPF_W		(1ULL << 1)
#define NPF_RSVD	(1ULL << 3)
#define NPF_ID		(1ULL << 4)

int nested_npt_init(struct svm_nested *n)
{
	struct page *root;

	if (n->snpt_root)
		return 0;
	root = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!root)
		return -ENOMEM;
	n->snpt_root = page_address(root);
	INIT_LIST_HEAD(&n->snpt_pages);
	return 0;
}

/* The tables below the root; the vCPU's thread only, mmu_lock held or the VM gone. */
static void snpt_free_tables(struct svm_nested *n)
{
	struct page *p, *tmp;

	list_for_each_entry_safe(p, tmp, &n->snpt_pages, lru) {
		list_del(&p->lru);
		__free_page(p);
	}
	n->snpt_stale = false;
}

void nested_npt_free(struct svm_nested *n)
{
	int i;

	if (!n->snpt_root)
		return;
	snpt_free_tables(n);
	for (i = 0; i < ARRAY_SIZE(n->snpt_cache); i++)
		if (n->snpt_cache[i])
			free_page((unsigned long)n->snpt_cache[i]);
	free_page((unsigned long)n->snpt_root);
	n->snpt_root = NULL;
}

/* Every shadow of the VM loses its entries; the tables go at the owner's next fault. */
void nested_npt_tdp_changed(struct kvmd_vm *vm)
{
	int i, nr = smp_load_acquire(&vm->nr_vcpus);

	lockdep_assert_held(&vm->mmu_lock);
	for (i = 0; i < nr; i++) {
		struct svm_vcpu *svm = vm->vcpus[i]->priv;

		if (!svm || !svm->nested.snpt_root)
			continue;
		memset(svm->nested.snpt_root, 0, PAGE_SIZE);
		svm->nested.snpt_stale = true;
	}
}

/* Drop the vCPU's own shadow (VMRUN, INVLPGA): L1 may have changed its NPT. */
void nested_npt_reset(struct kvmd_vcpu *vcpu)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;

	if (!n->snpt_root)
		return;
	spin_lock(&vcpu->vm->mmu_lock);
	memset(n->snpt_root, 0, PAGE_SIZE);
	snpt_free_tables(n);
	n->snpt_valid = false;
	spin_unlock(&vcpu->vm->mmu_lock);
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
}

/*
 * VMRUN with nested paging: the shadow is a TLB of L1's NPT, tagged with
 * its ASID. L1 flushes it after changing entries (TLB_CONTROL, a new ASID,
 * INVLPGA), as for the hardware; another nested CR3 is another table.
 */
void nested_npt_vmrun(struct kvmd_vcpu *vcpu)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;

	if (n->snpt_valid && n->ctl.tlb_ctl == TLB_CONTROL_DO_NOTHING &&
	    n->ctl.asid == n->snpt_asid && n->ctl.nested_cr3 == n->snpt_ncr3)
		return;
	nested_npt_reset(vcpu);
	n->snpt_valid = true;
	n->snpt_asid = n->ctl.asid;
	n->snpt_ncr3 = n->ctl.nested_cr3;
}

/*
 * Walk L1's NPT (long-mode format) for an access of L2 to @gpa2: true
 * with L1's address and rights, or false with the error code bits for L1.
 */
static bool snpt_walk_l1(struct kvmd_vcpu *vcpu, u64 gpa2, bool write,
			 bool fetch, u64 *gpa1, bool *writable, bool *exec,
			 u64 *err)
{
	struct svm_nested *n = &to_svm(vcpu)->nested;
	u64 table = n->ctl.nested_cr3 & SNPT_ADDR;
	int maxphy = kvmd_guest_maxphyaddr(vcpu);
	u64 rsvd_hi = SNPT_ADDR & ~((1ULL << maxphy) - 1);
	/* NX in an NPT entry follows L1's EFER.NXE. */
	bool nxe = to_svm(vcpu)->vmcb01->save.efer & EFER_NX;
	int level;

	*writable = true;
	*exec = true;
	for (level = 4; level >= 1; level--) {
		u64 addr = table + ((gpa2 >> (12 + 9 * (level - 1))) & 511) * 8;
		u64 pte, size;

		*err = 0;
		if (kvmd_read_guest(vcpu->vm, addr, &pte, sizeof(pte)) || !(pte & SNPT_P))
			return false;
		*err = NPF_P | NPF_RSVD;
		if ((pte & rsvd_hi) || (!nxe && (pte & SNPT_NX)) ||
		    (level == 4 && (pte & SNPT_PS)))
			return false;
		/* Every access of a nested walk is a user access. */
		*err = NPF_P;
		if (!(pte & SNPT_US))
			return false;
		if (!(pte & SNPT_RW))
			*writable = false;
		if (nxe && (pte & SNPT_NX))
			*exec = false;
		if (!(pte & SNPT_A)) {
			pte |= SNPT_A;
			kvmd_write_guest(vcpu->vm, addr, &pte, sizeof(pte));
		}
		if (level > 1 && !(pte & SNPT_PS)) {
			table = pte & SNPT_ADDR;
			continue;
		}
		size = 1ULL << (12 + 9 * (level - 1));
		/* A large page's address bits below its size are reserved. */
		if (level > 1 && (pte & SNPT_ADDR & (size - 1) & ~0x1000ULL)) {
			*err = NPF_P | NPF_RSVD;
			return false;
		}
		if ((write && !*writable) || (fetch && !*exec))
			return false;
		if (write && !(pte & SNPT_D)) {
			pte |= SNPT_D;
			kvmd_write_guest(vcpu->vm, addr, &pte, sizeof(pte));
		}
		*gpa1 = (pte & SNPT_ADDR & ~(size - 1)) | (gpa2 & (size - 1));
		return true;
	}
	return false;
}

static int snpt_cache_fill(struct svm_nested *n)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(n->snpt_cache); i++) {
		if (n->snpt_cache[i])
			continue;
		n->snpt_cache[i] = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!n->snpt_cache[i])
			return -ENOMEM;
	}
	return 0;
}

static u64 *snpt_cache_take(struct svm_nested *n)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(n->snpt_cache); i++) {
		u64 *p = n->snpt_cache[i];

		if (p) {
			n->snpt_cache[i] = NULL;
			list_add(&virt_to_page(p)->lru, &n->snpt_pages);
			return p;
		}
	}
	return NULL;
}

/* One 4 KiB leaf at @gfn2. mmu_lock held; the cache holds a page per level. */
static void snpt_map(struct kvmd_vm *vm, struct svm_nested *n, u64 gfn2, u64 pte)
{
	u64 *table = n->snpt_root;
	int level;

	for (level = vm->tdp_levels; level > 1; level--) {
		u64 *slot = &table[(gfn2 >> (9 * (level - 1))) & 511];

		if (!(*slot & SNPT_P)) {
			u64 *next = snpt_cache_take(n);

			WRITE_ONCE(*slot, kvmd_ops->tdp_table_pte(__pa(next) >> PAGE_SHIFT));
		}
		table = __va(*slot & SNPT_ADDR);
	}
	WRITE_ONCE(table[gfn2 & 511], pte);
}

/* A nested page fault of L2 while L1 pages it: ours to fill, or L1's. */
int nested_npt_fault(struct kvmd_vcpu *vcpu)
{
	struct svm_vcpu *svm = to_svm(vcpu);
	struct svm_nested *n = &svm->nested;
	struct kvmd_vm *vm = vcpu->vm;
	u64 info1 = svm->vmcb->control.exit_info_1;
	u64 gpa2 = svm->vmcb->control.exit_info_2;
	bool write = info1 & NPF_W, fetch = info1 & NPF_ID;
	bool w1, x1, w0;
	u64 gpa1, pfn, err;

	/* Four levels of L2 addresses, like L1's NPT. */
	err = NPF_P | NPF_RSVD;
	if ((gpa2 >> 48) || !snpt_walk_l1(vcpu, gpa2, write, fetch, &gpa1, &w1, &x1, &err) ||
	    (gpa1 >> (PAGE_SHIFT + 9 * vm->tdp_levels))) {
		/* L1's NPT refuses it: #VMEXIT(NPF) with L2's address. */
		svm->vmcb->control.exit_info_1 = (info1 & ~(NPF_P | NPF_RSVD)) | err;
		nested_svm_reflect_npf(vcpu);
		return KVMD_RESUME;
	}
	if (snpt_cache_fill(n))
		return -ENOMEM;
	spin_lock(&vm->mmu_lock);
	if (n->snpt_stale)
		snpt_free_tables(n);
	if (!kvmd_tdp_lookup(vm, gpa1 >> PAGE_SHIFT, &pfn, &w0) || (write && !w0)) {
		bool ram;

		spin_unlock(&vm->mmu_lock);
		/*
		 * Ours first, then L2 refaults. Our emulator reads L2's
		 * instructions as if L2's addresses were L1's: L1's MMIO
		 * mapped straight into L2 is not emulated.
		 */
		down_read(&vm->slots_sem);
		ram = kvmd_gfn_to_slot(vm, 0, gpa1 >> PAGE_SHIFT);
		up_read(&vm->slots_sem);
		if (!ram)
			return kvmd_emulation_failure(vcpu);
		return kvmd_tdp_fault(vcpu, gpa1, write, fetch);
	}
	snpt_map(vm, n, gpa2 >> PAGE_SHIFT,
		 kvmd_ops->tdp_pte(pfn, w1 && w0, false) | (x1 ? 0 : SNPT_NX));
	spin_unlock(&vm->mmu_lock);
	return KVMD_RESUME;
}
