// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/mmu/walk.c: software walk of the guest's own page tables (all paging modes), virtual copies. */
#include <linux/mm.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>

#include "../kvmdrv.h"

#define PTE_P	(1ULL << 0)
#define PTE_RW	(1ULL << 1)
#define PTE_US	(1ULL << 2)
#define PTE_PS	(1ULL << 7)
#define PTE_NX	(1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

#define PFERR_P		1
#define PFERR_W		2
#define PFERR_U		4
#define PFERR_F		16

__kvmd_hot bool kvmd_long_mode(struct kvmd_vcpu *vcpu)
{
	return kvmd_ops->get_efer(vcpu) & EFER_LMA;
}

static int walk_read(struct kvmd_vcpu *vcpu, u64 gpa, u64 *pte, int size)
{
	u32 v32;
	int r;

	if (size == 4) {
		r = kvmd_vcpu_read_guest(vcpu, gpa, &v32, 4);
		*pte = v32;
	} else {
		r = kvmd_vcpu_read_guest(vcpu, gpa, pte, 8);
	}
	return r;
}

__kvmd_hot int kvmd_gva_to_gpa(struct kvmd_vcpu *vcpu, u64 gva, unsigned int access,
		    u64 *gpa, struct kvmd_walk_fault *fault)
{
	u64 cr0 = kvmd_ops->get_cr(vcpu, 0);
	u64 cr4, cr3, efer, table, pte = 0;
	bool user = access & KVMD_ACC_USER, write = access & KVMD_ACC_WRITE;
	bool fetch = access & KVMD_ACC_FETCH;
	bool ro = false, sup = false, nx = false, nxe;
	int level, size = 8, shift;
	u32 err = 0;

	efer = kvmd_ops->get_efer(vcpu);
	if (!(cr0 & X86_CR0_PG)) {
		*gpa = (efer & EFER_LMA) ? gva : (u32)gva;
		return 0;
	}
	cr3 = kvmd_ops->get_cr(vcpu, 3);
	cr4 = kvmd_ops->get_cr(vcpu, 4);
	nxe = efer & EFER_NX;

	if (efer & EFER_LMA) {
		level = (cr4 & X86_CR4_LA57) ? 5 : 4;
		table = cr3 & PTE_ADDR;
	} else if (cr4 & X86_CR4_PAE) {
		u64 pdpte;

		gva = (u32)gva;
		if (walk_read(vcpu, (cr3 & 0xffffffe0ULL) + ((gva >> 30) & 3) * 8,
			      &pdpte, 8))
			return -EFAULT;
		if (!(pdpte & PTE_P))
			goto fault;
		level = 2;
		table = pdpte & PTE_ADDR;
	} else {
		gva = (u32)gva;
		level = 2;
		size = 4;
		table = cr3 & 0xfffff000ULL;
	}

	for (;; level--) {
		unsigned int idx;

		shift = 12 + (size == 8 ? 9 : 10) * (level - 1);
		idx = (gva >> shift) & (size == 8 ? 511 : 1023);
		if (walk_read(vcpu, table + idx * size, &pte, size))
			return -EFAULT;
		if (!(pte & PTE_P))
			goto fault;
		ro |= !(pte & PTE_RW);
		sup |= !(pte & PTE_US);
		if (nxe && size == 8)
			nx |= !!(pte & PTE_NX);
		if (level == 1)
			break;
		if (pte & PTE_PS) {
			if (size == 4 && !(cr4 & X86_CR4_PSE))
				goto next;
			if (size == 4) {
				/* 4 MiB page: PDE bits 20:13 give address bits 39:32. */
				table = (pte & 0xffc00000ULL) |
					(((pte >> 13) & 0xff) << 32);
				*gpa = table | (gva & 0x3fffff);
			} else {
				u64 mask = (1ULL << shift) - 1;

				*gpa = (pte & PTE_ADDR & ~mask) | (gva & mask);
			}
			goto check;
		}
next:
		table = pte & (size == 8 ? PTE_ADDR : 0xfffff000ULL);
	}
	*gpa = (pte & (size == 8 ? PTE_ADDR : 0xfffff000ULL)) | (gva & 0xfff);
check:
	err = PFERR_P;
	if (user && sup)
		goto fault;
	if (write && ro && (user || (cr0 & X86_CR0_WP)))
		goto fault;
	if (fetch && nx)
		goto fault;
	return 0;
fault:
	if (fault) {
		fault->error_code = err | (write ? PFERR_W : 0) |
				    (user ? PFERR_U : 0) |
				    (fetch && nxe ? PFERR_F : 0);
		fault->addr = gva;
	}
	return -EINVAL;
}

/* KVM_TRANSLATE: a supervisor read walk, reported the way KVM reports it. */
int kvmd_translate(struct kvmd_vcpu *vcpu, struct kvm_translation *tr)
{
	u64 gpa;

	if (kvmd_gva_to_gpa(vcpu, tr->linear_address, 0, &gpa, NULL)) {
		tr->physical_address = ~0ULL;
		tr->valid = 0;
	} else {
		tr->physical_address = gpa;
		tr->valid = 1;
	}
	tr->writeable = 1;
	tr->usermode = 0;
	return 0;
}

/*
 * Copies through guest virtual addresses. Return 0, -EINVAL with @fault
 * filled (a guest #PF is due), -ENOENT (not RAM) or -EFAULT.
 */
static __kvmd_hot int copy_guest_virt(struct kvmd_vcpu *vcpu, u64 gva, void *buf,
			   unsigned int len, unsigned int access, bool write,
			   struct kvmd_walk_fault *fault)
{
	while (len) {
		unsigned int n = min_t(unsigned int, len,
				       PAGE_SIZE - offset_in_page(gva));
		u64 gpa;
		int r;

		r = kvmd_gva_to_gpa(vcpu, gva, access, &gpa, fault);
		if (r)
			return r;
		if (write)
			r = kvmd_vcpu_write_guest(vcpu, gpa, buf, n);
		else
			r = kvmd_vcpu_read_guest(vcpu, gpa, buf, n);
		if (r)
			return r;
		gva += n;
		buf += n;
		len -= n;
	}
	return 0;
}

__kvmd_hot int kvmd_read_guest_virt(struct kvmd_vcpu *vcpu, u64 gva, void *buf,
			 unsigned int len, unsigned int access,
			 struct kvmd_walk_fault *fault)
{
	return copy_guest_virt(vcpu, gva, buf, len, access, false, fault);
}

int kvmd_write_guest_virt(struct kvmd_vcpu *vcpu, u64 gva, const void *buf,
			  unsigned int len, struct kvmd_walk_fault *fault)
{
	unsigned int access = KVMD_ACC_WRITE;

	if (kvmd_ops->get_cpl(vcpu) == 3)
		access |= KVMD_ACC_USER;
	/* The copy only reads @buf; the cast keeps one loop for both ways. */
	return copy_guest_virt(vcpu, gva, (void *)buf, len, access, true, fault);
}
