// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/cr.c: guest writes of CR0 and CR4 that the vendor code
 * intercepts, taken with the checks KVM's kvm_set_cr0() and kvm_set_cr4()
 * make; a write they refuse is a #GP for the caller to inject.
 *
 * KVM without decode assists (the test host's CPU) takes these writes
 * through its emulator, which keeps the register's upper half and takes
 * the lower 32 bits of the source: so does this file.
 *
 * No state of its own: it runs on the vCPU's thread, under vcpu->mutex,
 * like every exit handler.
 */
#include <asm/processor-flags.h>

#include "kvmdrv.h"

/* CR0 bits a write keeps; the rest are ignored, as KVM does. */
#define CR0_WRITABLE	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | \
			 X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | \
			 X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)
/* A change of these with PAE paging reloads the PDPTEs. */
#define CR0_PDPTR_BITS	(X86_CR0_CD | X86_CR0_NW | X86_CR0_PG)
#define CR4_PDPTR_BITS	(X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_SMEP)
/* What the guest's translations depend on: a change flushes its TLB. */
#define CR0_TLB_BITS	(X86_CR0_PG | X86_CR0_WP | X86_CR0_PE)
#define CR4_TLB_BITS	(X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PAE | X86_CR4_PCIDE | \
			 X86_CR4_SMEP | X86_CR4_SMAP | X86_CR4_PKE | X86_CR4_LA57)

/* PAE paging outside long mode: the four PDPTEs must be readable and valid. */
bool kvmd_pdptrs_ok(struct kvmd_vcpu *vcpu, u64 cr3)
{
	u64 pdpte[4], rsvd;
	int i;

	rsvd = (~0ULL << kvmd_guest_maxphyaddr(vcpu)) | GENMASK_ULL(8, 5) |
	       GENMASK_ULL(2, 1);
	if (kvmd_vcpu_read_guest(vcpu, (u32)cr3 & ~0x1fU, pdpte, sizeof(pdpte)))
		return false;
	for (i = 0; i < 4; i++)
		if ((pdpte[i] & 1) && (pdpte[i] & rsvd))
			return false;
	return true;
}

static bool cr_64bit_mode(struct kvmd_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!kvmd_long_mode(vcpu))
		return false;
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	return cs.l;
}

/* MOV to CR0 or LMSW: 0 when written, 1 for a #GP. */
int kvmd_guest_set_cr0(struct kvmd_vcpu *vcpu, u64 val)
{
	u64 old = kvmd_ops->get_cr(vcpu, 0);
	u64 cr4 = kvmd_ops->get_cr(vcpu, 4);
	u64 efer = kvmd_ops->get_efer(vcpu);
	u64 cr0 = (old & ~0xffffffffULL) | (u32)val;
	struct kvm_segment cs;

	if (cr0 >> 32)
		return 1;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return 1;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return 1;
	cr0 = (cr0 | X86_CR0_ET) & CR0_WRITABLE;

	if ((efer & EFER_LME) && !(old & X86_CR0_PG) && (cr0 & X86_CR0_PG)) {
		if (!(cr4 & X86_CR4_PAE))
			return 1;
		kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
		if (cs.l)
			return 1;
	}
	if (!(efer & EFER_LME) && (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) &&
	    ((cr0 ^ old) & CR0_PDPTR_BITS) &&
	    !kvmd_pdptrs_ok(vcpu, kvmd_ops->get_cr(vcpu, 3)))
		return 1;
	if (!(cr0 & X86_CR0_PG) && (cr_64bit_mode(vcpu) || (cr4 & X86_CR4_PCIDE)))
		return 1;

	/* Paging turned on or off with LME: long mode follows, as in hardware. */
	if ((efer & EFER_LME) && ((cr0 ^ old) & X86_CR0_PG))
		kvmd_ops->set_efer(vcpu, (cr0 & X86_CR0_PG) ? efer | EFER_LMA : efer & ~EFER_LMA);
	kvmd_ops->set_cr0(vcpu, cr0);
	if ((cr0 ^ old) & CR0_TLB_BITS)
		kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	return 0;
}

/* MOV to CR4: 0 when written, 1 for a #GP. */
int kvmd_guest_set_cr4(struct kvmd_vcpu *vcpu, u64 val)
{
	u64 old = kvmd_ops->get_cr(vcpu, 4);
	u64 cr4 = (old & ~0xffffffffULL) | (u32)val;

	if (!kvmd_valid_cr4(vcpu, cr4))
		return 1;
	if (kvmd_long_mode(vcpu)) {
		if (!(cr4 & X86_CR4_PAE) || ((cr4 ^ old) & X86_CR4_LA57))
			return 1;
	} else if ((kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PG) && (cr4 & X86_CR4_PAE) &&
		   ((cr4 ^ old) & CR4_PDPTR_BITS) &&
		   !kvmd_pdptrs_ok(vcpu, kvmd_ops->get_cr(vcpu, 3))) {
		return 1;
	}
	if ((cr4 & X86_CR4_PCIDE) && !(old & X86_CR4_PCIDE) &&
	    ((kvmd_ops->get_cr(vcpu, 3) & 0xfff) || !kvmd_long_mode(vcpu)))
		return 1;

	kvmd_ops->set_cr4(vcpu, cr4);
	if ((cr4 ^ old) & (X86_CR4_OSXSAVE | X86_CR4_PKE))
		kvmd_cpuid_update_runtime(vcpu);
	if ((cr4 ^ old) & CR4_TLB_BITS)
		kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	return 0;
}
