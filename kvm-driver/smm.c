// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/smm.c: system management mode: SMI delivery, the state save map, RSM, the SMRAM address space. */
#include <linux/kvm.h>
#include <linux/string.h>
#include <asm/msr-index.h>
#include <asm/processor-flags.h>
#include <asm/unaligned.h>

#include "kvmdrv.h"

/*
 * The state save map KVM writes: 512 bytes at SMBASE + 0xFE00, in the
 * AMD64 layout when the guest's CPUID has long mode, else in the 32-bit
 * one. Offsets below are the manuals' (0x7E00-0x7FFF from SMBASE + 0x8000).
 */
#define SMM_MAP_OFFSET		0xfe00
#define SMM_MAP_SIZE		512
#define SMM_MAP_BASE		0x7e00
#define SMM_ENTRY_RIP		0x8000
#define SMM_REVISION_32		0x00020000	/* SMBASE relocation supported */
#define SMM_REVISION_64		0x00020064

/* CR0 bits a MOV to CR0 keeps; the others read as zero (KVM's CR0_RESERVED_BITS). */
#define SMM_CR0_KNOWN	(X86_CR0_PE | X86_CR0_MP | X86_CR0_EM | X86_CR0_TS | \
			 X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_AM | \
			 X86_CR0_NW | X86_CR0_CD | X86_CR0_PG)

#define SMM_DR7_FIXED_1		0x400ULL

static void put16(u8 *map, u32 off, u16 v)
{
	put_unaligned(v, (u16 *)(map + off - SMM_MAP_BASE));
}

static void put32(u8 *map, u32 off, u32 v)
{
	put_unaligned(v, (u32 *)(map + off - SMM_MAP_BASE));
}

static void put64(u8 *map, u32 off, u64 v)
{
	put_unaligned(v, (u64 *)(map + off - SMM_MAP_BASE));
}

static u16 get16(const u8 *map, u32 off)
{
	return get_unaligned((const u16 *)(map + off - SMM_MAP_BASE));
}

static u32 get32(const u8 *map, u32 off)
{
	return get_unaligned((const u32 *)(map + off - SMM_MAP_BASE));
}

static u64 get64(const u8 *map, u32 off)
{
	return get_unaligned((const u64 *)(map + off - SMM_MAP_BASE));
}

static bool smm_guest_lm(struct kvmd_vcpu *vcpu)
{
	return kvmd_guest_has(vcpu, 0x80000001, 3, 29);	/* EDX.LM */
}

/* ---- entering and leaving: the address space ---- */

/* KVM's kvm_smm_changed(): the vCPU's memory view follows its SMM state. */
static void smm_set_active(struct kvmd_vcpu *vcpu, bool active)
{
	vcpu->smm.active = active;
	if (!active) {
		vcpu->smm.inside_nmi = false;
		/* A latched INIT or a pending SMI may go now. */
		kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	}
	kvmd_ops->set_tdp_root(vcpu, kvmd_tdp_as_root_pa(vcpu->vm,
							 kvmd_vcpu_as_id(vcpu)));
	/* One ASID/VPID covers both roots: forget the other one's entries. */
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
}

/* Power-on, INIT and shutdown leave SMM and forget a pending SMI, as KVM. */
void kvmd_smm_reset(struct kvmd_vcpu *vcpu)
{
	if (vcpu->smm.active)
		smm_set_active(vcpu, false);
	vcpu->smm.inside_nmi = false;
	vcpu->smm.pending = false;
	vcpu->smm.count = 0;
}

/* ---- the state save map ---- */

/* A segment's attributes where a descriptor keeps them (bits 8-23). */
static u32 smm_seg_flags(const struct kvm_segment *s)
{
	return (u32)s->g << 23 | (u32)s->db << 22 | (u32)s->l << 21 |
	       (u32)s->avl << 20 | (u32)s->present << 15 | (u32)s->dpl << 13 |
	       (u32)s->s << 12 | (u32)s->type << 8;
}

/* A segment back from the map, through a descriptor's 20-bit limit as KVM's emulator. */
static void smm_seg_load(struct kvmd_vcpu *vcpu, enum kvmd_seg n, u16 selector,
			 u64 base, u32 limit, u32 flags)
{
	struct kvm_segment s = {
		.selector = selector,
		.base = base,
		.g = (flags >> 23) & 1,
		.db = (flags >> 22) & 1,
		.l = (flags >> 21) & 1,
		.avl = (flags >> 20) & 1,
		.present = (flags >> 15) & 1,
		.dpl = (flags >> 13) & 3,
		.s = (flags >> 12) & 1,
		.type = (flags >> 8) & 15,
	};

	s.limit = limit & 0xfffff;
	if (s.g)
		s.limit = (s.limit << 12) | 0xfff;
	s.unusable = !s.present;
	kvmd_ops->set_segment(vcpu, &s, n);
}

static void smm_save_32(struct kvmd_vcpu *vcpu, u8 *map)
{
	struct kvm_segment seg;
	struct kvm_dtable dt;
	int i;

	put32(map, 0x7ffc, kvmd_ops->get_cr(vcpu, 0));
	put32(map, 0x7ff8, kvmd_ops->get_cr(vcpu, 3));
	put32(map, 0x7ff4, vcpu->rflags);
	put32(map, 0x7ff0, vcpu->rip);
	for (i = 0; i < 8; i++)
		put32(map, 0x7fd0 + i * 4, vcpu->regs[i]);
	put32(map, 0x7fcc, kvmd_get_dr(vcpu, 6));
	put32(map, 0x7fc8, kvmd_get_dr(vcpu, 7));

	kvmd_ops->get_segment(vcpu, &seg, KVMD_SEG_TR);
	put32(map, 0x7fc4, seg.selector);
	put32(map, 0x7f64, seg.base);
	put32(map, 0x7f60, seg.limit);
	put32(map, 0x7f5c, smm_seg_flags(&seg));
	kvmd_ops->get_segment(vcpu, &seg, KVMD_SEG_LDTR);
	put32(map, 0x7fc0, seg.selector);
	put32(map, 0x7f80, seg.base);
	put32(map, 0x7f7c, seg.limit);
	put32(map, 0x7f78, smm_seg_flags(&seg));

	kvmd_ops->get_dtable(vcpu, &dt, false);
	put32(map, 0x7f74, dt.base);
	put32(map, 0x7f70, dt.limit);
	kvmd_ops->get_dtable(vcpu, &dt, true);
	put32(map, 0x7f58, dt.base);
	put32(map, 0x7f54, dt.limit);

	/* ES, CS, SS, then DS, FS, GS elsewhere. */
	for (i = 0; i < 6; i++) {
		u32 off = i < 3 ? 0x7f84 + i * 12 : 0x7f2c + (i - 3) * 12;

		kvmd_ops->get_segment(vcpu, &seg, i);
		put32(map, 0x7fa8 + i * 4, seg.selector);
		put32(map, off + 8, seg.base);
		put32(map, off + 4, seg.limit);
		put32(map, off, smm_seg_flags(&seg));
	}
	put32(map, 0x7f14, kvmd_ops->get_cr(vcpu, 4));
	put32(map, 0x7efc, SMM_REVISION_32);
	put32(map, 0x7ef8, vcpu->smm.smbase);
}

static void smm_save_seg_64(u8 *map, u32 off, const struct kvm_segment *seg)
{
	put16(map, off, seg->selector);
	put16(map, off + 2, smm_seg_flags(seg) >> 8);
	put32(map, off + 4, seg->limit);
	put64(map, off + 8, seg->base);
}

static void smm_save_64(struct kvmd_vcpu *vcpu, u8 *map)
{
	struct kvm_segment seg;
	struct kvm_dtable dt;
	int i;

	for (i = 0; i < KVMD_NR_GPRS; i++)
		put64(map, 0x7ff8 - i * 8, vcpu->regs[i]);
	put64(map, 0x7f78, vcpu->rip);
	put32(map, 0x7f70, vcpu->rflags);
	put64(map, 0x7f68, kvmd_get_dr(vcpu, 6));
	put64(map, 0x7f60, kvmd_get_dr(vcpu, 7));
	put64(map, 0x7f58, kvmd_ops->get_cr(vcpu, 0));
	put64(map, 0x7f50, kvmd_ops->get_cr(vcpu, 3));
	put64(map, 0x7f48, kvmd_ops->get_cr(vcpu, 4));
	put32(map, 0x7f00, vcpu->smm.smbase);
	put32(map, 0x7efc, SMM_REVISION_64);
	put64(map, 0x7ed0, kvmd_ops->get_efer(vcpu));

	kvmd_ops->get_segment(vcpu, &seg, KVMD_SEG_TR);
	smm_save_seg_64(map, 0x7e90, &seg);
	kvmd_ops->get_dtable(vcpu, &dt, true);
	put32(map, 0x7e84, dt.limit);
	put64(map, 0x7e88, dt.base);
	kvmd_ops->get_segment(vcpu, &seg, KVMD_SEG_LDTR);
	smm_save_seg_64(map, 0x7e70, &seg);
	kvmd_ops->get_dtable(vcpu, &dt, false);
	put32(map, 0x7e64, dt.limit);
	put64(map, 0x7e68, dt.base);
	for (i = 0; i < 6; i++) {
		kvmd_ops->get_segment(vcpu, &seg, i);
		smm_save_seg_64(map, 0x7e00 + i * 16, &seg);
	}
}

/* ---- SMI delivery: KVM's enter_smm() ---- */

static void smm_enter(struct kvmd_vcpu *vcpu)
{
	u8 map[SMM_MAP_SIZE] __aligned(8) = { 0 };
	struct kvm_dtable idt = { 0 };
	struct kvm_segment cs, ds;
	bool lm = smm_guest_lm(vcpu);
	u64 efer;
	int i;

	if (lm)
		smm_save_64(vcpu, map);
	else
		smm_save_32(vcpu, map);
	if (kvmd_ops->enter_smm)
		kvmd_ops->enter_smm(vcpu, map);

	/* The map goes into SMRAM: the SMM address space's view of SMBASE. */
	smm_set_active(vcpu, true);
	kvmd_vcpu_write_guest(vcpu, vcpu->smm.smbase + SMM_MAP_OFFSET, map,
			      sizeof(map));

	if (vcpu->nmi.masked)
		vcpu->smm.inside_nmi = true;
	vcpu->nmi.masked = true;
	vcpu->nmi.iret_seen = false;

	vcpu->rflags = X86_EFLAGS_FIXED;
	vcpu->rip = SMM_ENTRY_RIP;
	kvmd_ops->set_cr0(vcpu, kvmd_ops->get_cr(vcpu, 0) &
			  ~(X86_CR0_PE | X86_CR0_EM | X86_CR0_TS | X86_CR0_PG));
	kvmd_ops->set_cr4(vcpu, 0);
	/* Undocumented, as KVM: the IDT limit is zero in SMM. */
	kvmd_ops->set_dtable(vcpu, &idt, true);
	kvmd_set_dr(vcpu, 7, SMM_DR7_FIXED_1);

	/* Real-address mode with 4 GiB limits, CS at SMBASE. */
	memset(&ds, 0, sizeof(ds));
	ds.limit = 0xffffffff;
	ds.type = 3;
	ds.s = 1;
	ds.g = 1;
	ds.present = 1;
	cs = ds;
	cs.selector = (vcpu->smm.smbase >> 4) & 0xffff;
	cs.base = vcpu->smm.smbase;
	kvmd_ops->set_segment(vcpu, &cs, KVMD_SEG_CS);
	for (i = 0; i < 6; i++)
		if (i != KVMD_SEG_CS)
			kvmd_ops->set_segment(vcpu, &ds, i);

	efer = kvmd_ops->get_efer(vcpu);
	if (lm)
		kvmd_ops->set_efer(vcpu, 0);
	else if (efer & EFER_LMA)
		kvmd_ops->set_efer(vcpu, efer & ~EFER_LMA);	/* paging is off */
	kvmd_cpuid_update_runtime(vcpu);
}

/* Nothing may come between an event being delivered and its handler. */
static bool smm_event_in_flight(struct kvmd_vcpu *vcpu)
{
	return vcpu->exception.pending || vcpu->exception.injected ||
	       vcpu->nmi.injected || vcpu->interrupt.injected;
}

/*
 * Before the other events of an entry, as KVM's inject_pending_event():
 * an SMI is taken outside SMM and between two events; inside SMM it stays
 * pending (one, however many came) until RSM.
 */
void kvmd_smm_inject(struct kvmd_vcpu *vcpu)
{
	if (kvmd_check_request(vcpu, KVMD_REQ_SMI))
		vcpu->smm.pending = true;
	if (!vcpu->smm.pending || vcpu->smm.active || smm_event_in_flight(vcpu))
		return;
	vcpu->smm.pending = false;
	vcpu->smm.count++;
	smm_enter(vcpu);
}

/* An SMI ends HLT, as KVM's kvm_vcpu_has_events(). */
bool kvmd_smm_wakes(struct kvmd_vcpu *vcpu)
{
	return test_bit(KVMD_REQ_SMI, &vcpu->requests) ||
	       (vcpu->smm.pending && !vcpu->smm.active);
}

/* ---- RSM: KVM's em_rsm() ---- */

/*
 * From real mode to the saved control registers, with the checks KVM's
 * kvm_set_cr3/4/0() make there (rsm_enter_protected_mode()): PAE before
 * paging, PCIDE last, once long mode is on.
 */
static int smm_enter_protected_mode(struct kvmd_vcpu *vcpu, u64 cr0, u64 cr3,
				    u64 cr4)
{
	u64 efer = kvmd_ops->get_efer(vcpu), pcid = 0;
	bool long_mode;

	if (cr4 & X86_CR4_PCIDE) {
		pcid = cr3 & 0xfff;
		cr3 &= ~0xfffULL;
	}
	if (cr3 >> kvmd_guest_maxphyaddr(vcpu))
		return 1;
	kvmd_ops->set_cr3(vcpu, cr3);

	if (!kvmd_valid_cr4(vcpu, cr4 & ~X86_CR4_PCIDE))
		return 1;
	kvmd_ops->set_cr4(vcpu, cr4 & ~X86_CR4_PCIDE);

	if ((cr0 >> 32) || ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD)) ||
	    ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)))
		return 1;
	cr0 = (cr0 | X86_CR0_ET) & SMM_CR0_KNOWN;
	long_mode = (efer & EFER_LME) && (cr0 & X86_CR0_PG);
	if (long_mode && !(cr4 & X86_CR4_PAE))
		return 1;
	if (!(efer & EFER_LME) && (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) &&
	    !kvmd_pdptrs_ok(vcpu, cr3))
		return 1;
	if (long_mode)
		kvmd_ops->set_efer(vcpu, efer | EFER_LMA);
	kvmd_ops->set_cr0(vcpu, cr0);

	if (cr4 & X86_CR4_PCIDE) {
		if (!long_mode || !kvmd_valid_cr4(vcpu, cr4))
			return 1;
		kvmd_ops->set_cr4(vcpu, cr4);
		if (pcid)
			kvmd_ops->set_cr3(vcpu, cr3 | pcid);
	}
	return 0;
}

static int smm_load_32(struct kvmd_vcpu *vcpu, const u8 *map)
{
	struct kvm_dtable dt = { 0 };
	int i;

	vcpu->rflags = get32(map, 0x7ff4) | X86_EFLAGS_FIXED;
	vcpu->rip = get32(map, 0x7ff0);
	for (i = 0; i < 8; i++)
		vcpu->regs[i] = get32(map, 0x7fd0 + i * 4);
	if (kvmd_set_dr(vcpu, 6, get32(map, 0x7fcc)) ||
	    kvmd_set_dr(vcpu, 7, get32(map, 0x7fc8)))
		return 1;

	smm_seg_load(vcpu, KVMD_SEG_TR, get32(map, 0x7fc4), get32(map, 0x7f64),
		     get32(map, 0x7f60), get32(map, 0x7f5c));
	smm_seg_load(vcpu, KVMD_SEG_LDTR, get32(map, 0x7fc0), get32(map, 0x7f80),
		     get32(map, 0x7f7c), get32(map, 0x7f78));
	dt.base = get32(map, 0x7f74);
	dt.limit = get32(map, 0x7f70);
	kvmd_ops->set_dtable(vcpu, &dt, false);
	dt.base = get32(map, 0x7f58);
	dt.limit = get32(map, 0x7f54);
	kvmd_ops->set_dtable(vcpu, &dt, true);
	for (i = 0; i < 6; i++) {
		u32 off = i < 3 ? 0x7f84 + i * 12 : 0x7f2c + (i - 3) * 12;

		smm_seg_load(vcpu, i, get32(map, 0x7fa8 + i * 4),
			     get32(map, off + 8), get32(map, off + 4),
			     get32(map, off));
	}
	vcpu->smm.smbase = get32(map, 0x7ef8);
	return smm_enter_protected_mode(vcpu, get32(map, 0x7ffc),
					get32(map, 0x7ff8), get32(map, 0x7f14));
}

static void smm_load_seg_64(struct kvmd_vcpu *vcpu, enum kvmd_seg n,
			    const u8 *map, u32 off)
{
	smm_seg_load(vcpu, n, get16(map, off), get64(map, off + 8),
		     get32(map, off + 4), (u32)get16(map, off + 2) << 8);
}

static int smm_load_64(struct kvmd_vcpu *vcpu, const u8 *map)
{
	struct kvm_dtable dt = { 0 };
	int i;

	for (i = 0; i < KVMD_NR_GPRS; i++)
		vcpu->regs[i] = get64(map, 0x7ff8 - i * 8);
	vcpu->rip = get64(map, 0x7f78);
	vcpu->rflags = get32(map, 0x7f70) | X86_EFLAGS_FIXED;
	if (kvmd_set_dr(vcpu, 6, get64(map, 0x7f68)) ||
	    kvmd_set_dr(vcpu, 7, get64(map, 0x7f60)))
		return 1;
	vcpu->smm.smbase = get32(map, 0x7f00);
	/* A guest WRMSR's rules, LMA aside (paging is off here). */
	if (kvmd_msr_write(vcpu, MSR_EFER, get64(map, 0x7ed0) & ~EFER_LMA, false))
		return 1;

	smm_load_seg_64(vcpu, KVMD_SEG_TR, map, 0x7e90);
	dt.limit = get32(map, 0x7e84);
	dt.base = get64(map, 0x7e88);
	kvmd_ops->set_dtable(vcpu, &dt, true);
	smm_load_seg_64(vcpu, KVMD_SEG_LDTR, map, 0x7e70);
	dt.limit = get32(map, 0x7e64);
	dt.base = get64(map, 0x7e68);
	kvmd_ops->set_dtable(vcpu, &dt, false);

	if (smm_enter_protected_mode(vcpu, get64(map, 0x7f58),
				     get64(map, 0x7f50), get64(map, 0x7f48)))
		return 1;
	for (i = 0; i < 6; i++)
		smm_load_seg_64(vcpu, i, map, 0x7e00 + i * 16);
	return 0;
}

/* Leave SMM through real mode, where the saved CRs and EFER can be loaded from. */
static void smm_to_real_mode(struct kvmd_vcpu *vcpu, bool lm)
{
	u64 cr0, cr4;

	if (lm) {
		/* PCIDE off before paging; a 32-bit code segment to drop LMA. */
		struct kvm_segment cs = {
			.type = 0xb, .s = 1, .g = 1, .present = 1, .limit = 0xfff,
		};

		cr4 = kvmd_ops->get_cr(vcpu, 4);
		if (cr4 & X86_CR4_PCIDE)
			kvmd_ops->set_cr4(vcpu, cr4 & ~X86_CR4_PCIDE);
		kvmd_ops->set_segment(vcpu, &cs, KVMD_SEG_CS);
	}
	cr0 = kvmd_ops->get_cr(vcpu, 0);
	if (cr0 & X86_CR0_PE)
		kvmd_ops->set_cr0(vcpu, cr0 & ~(X86_CR0_PG | X86_CR0_PE));
	if (lm) {
		cr4 = kvmd_ops->get_cr(vcpu, 4);
		if (cr4 & X86_CR4_PAE)
			kvmd_ops->set_cr4(vcpu, cr4 & ~X86_CR4_PAE);
		kvmd_ops->set_efer(vcpu, 0);
	} else if (kvmd_ops->get_efer(vcpu) & EFER_LMA) {
		kvmd_ops->set_efer(vcpu, kvmd_ops->get_efer(vcpu) & ~EFER_LMA);
	}
}

/*
 * RSM, from the RSM intercept (SVM) or #UD (VMX). Outside SMM it is #UD. A
 * map that cannot be loaded is a shutdown, with what was loaded so far, as
 * KVM's triple fault.
 */
int kvmd_smm_rsm(struct kvmd_vcpu *vcpu)
{
	u8 map[SMM_MAP_SIZE] __aligned(8);
	bool lm = smm_guest_lm(vcpu);
	struct kvm_segment cs;
	int r;

	if (!vcpu->smm.active) {
		kvmd_queue_exception(vcpu, 6);
		return KVMD_RESUME;
	}
	if (kvmd_vcpu_read_guest(vcpu, vcpu->smm.smbase + SMM_MAP_OFFSET, map,
				 sizeof(map)))
		return kvmd_emulation_failure(vcpu);

	if (!vcpu->smm.inside_nmi)
		vcpu->nmi.masked = false;
	smm_set_active(vcpu, false);
	smm_to_real_mode(vcpu, lm);

	r = kvmd_ops->leave_smm ? kvmd_ops->leave_smm(vcpu, map) : 0;
	if (!r)
		r = lm ? smm_load_64(vcpu, map) : smm_load_32(vcpu, map);

	kvmd_cpuid_update_runtime(vcpu);
	kvmd_ops->set_interrupt_shadow(vcpu, 0);
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	if (!kvmd_long_mode(vcpu) || !cs.l)
		vcpu->rip = (u32)vcpu->rip;
	if (r)
		kvmd_make_request(vcpu, KVMD_REQ_TRIPLE_FAULT);
	return KVMD_RESUME;
}

/* ---- KVM_GET/SET_VCPU_EVENTS, KVM_SET_MP_STATE, MSRs ---- */

void kvmd_smm_get_events(struct kvmd_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	if (kvmd_check_request(vcpu, KVMD_REQ_SMI))
		vcpu->smm.pending = true;
	e->smi.smm = vcpu->smm.active;
	e->smi.pending = vcpu->smm.pending;
	e->smi.smm_inside_nmi = vcpu->smm.inside_nmi;
	e->smi.latched_init = kvmd_apic_latched_init(vcpu);
}

/* As KVM: an INIT_RECEIVED vCPU can be neither in SMM nor have an SMI. */
int kvmd_smm_check_events(struct kvmd_vcpu *vcpu,
			  const struct kvm_vcpu_events *e)
{
	if ((e->smi.smm || e->smi.pending) &&
	    vcpu->mp_state == KVM_MP_STATE_INIT_RECEIVED)
		return -EINVAL;
	return 0;
}

/* Into or out of SMM without the map (a VMM restoring a vCPU), as KVM. */
void kvmd_smm_set_events(struct kvmd_vcpu *vcpu,
			 const struct kvm_vcpu_events *e)
{
	if (vcpu->smm.active != !!e->smi.smm)
		smm_set_active(vcpu, e->smi.smm);
	vcpu->smm.pending = e->smi.pending;
	if (e->smi.smm)
		vcpu->smm.inside_nmi = e->smi.smm_inside_nmi;
	kvmd_apic_set_latched_init(vcpu, e->smi.latched_init);
}

/* INIT and SIPI states are refused while an INIT would be latched, as KVM. */
bool kvmd_smm_mp_state_ok(struct kvmd_vcpu *vcpu, u32 mp_state)
{
	return !((vcpu->smm.active || vcpu->smm.pending) &&
		 (mp_state == KVM_MP_STATE_INIT_RECEIVED ||
		  mp_state == KVM_MP_STATE_SIPI_RECEIVED));
}

/* SMBASE is the VMM's only (a guest moves it through the map); SMI_COUNT reads. */
int kvmd_smm_msr_read(struct kvmd_vcpu *vcpu, u32 index, u64 *data, bool host)
{
	switch (index) {
	case MSR_IA32_SMBASE:
		if (!host)
			return 1;
		*data = vcpu->smm.smbase;
		return 0;
	case MSR_SMI_COUNT:
		*data = vcpu->smm.count;
		return 0;
	default:
		return -1;
	}
}

int kvmd_smm_msr_write(struct kvmd_vcpu *vcpu, u32 index, u64 data, bool host)
{
	switch (index) {
	case MSR_IA32_SMBASE:
		if (!host)
			return 1;
		vcpu->smm.smbase = data;
		return 0;
	case MSR_SMI_COUNT:
		if (!host)
			return 1;
		vcpu->smm.count = data;
		return 0;
	default:
		return -1;
	}
}
