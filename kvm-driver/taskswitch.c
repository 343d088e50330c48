// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/taskswitch.c: hardware task switches (task gates, far JMP/CALL to a TSS, IRET with NT), emulated. */
#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

/* The 32-bit TSS, 0x68 bytes; selectors sit in the low half of their dword. */
struct ts32 {
	u32 link, esp0, ss0, esp1, ss1, esp2, ss2;
	u32 cr3, eip, eflags;
	u32 gpr[8];
	u32 seg[6];		/* ES, CS, SS, DS, FS, GS */
	u32 ldt;
	u32 trap_iomap;
} __packed;

/* The 16-bit TSS, 0x2c bytes. */
struct ts16 {
	u16 link, sp0, ss0, sp1, ss1, sp2, ss2;
	u16 ip, flags;
	u16 gpr[8];
	u16 seg[4];		/* ES, CS, SS, DS */
	u16 ldt;
} __packed;

#define DESC_BUSY	(1ULL << 41)
#define TS_VECTOR	10
#define NP_VECTOR	11
#define SS_VECTOR	12
#define GP_VECTOR	13
#define PF_VECTOR	14

/* Where a helper stopped: the fault the guest gets, or an emulation failure. */
enum { TS_OK, TS_FAULT, TS_FAIL };

struct ts {
	struct kvmd_vcpu *vcpu;
	u8 vec;
	u32 err;
	u64 cr2;
};

static int ts_fault(struct ts *t, u8 vec, u32 err)
{
	t->vec = vec;
	t->err = err;
	return TS_FAULT;
}

/* Supervisor ("system") access to guest linear memory, page by page. */
static int ts_copy(struct ts *t, u64 la, void *buf, unsigned int len,
		   bool write, bool user)
{
	unsigned int access = (write ? KVMD_ACC_WRITE : 0) |
			      (user ? KVMD_ACC_USER : 0);

	while (len) {
		unsigned int n;
		struct kvmd_walk_fault f;
		u64 gpa;
		int r;

		la = (u32)la;
		n = min_t(unsigned int, len, PAGE_SIZE - offset_in_page(la));
		r = kvmd_gva_to_gpa(t->vcpu, la, access, &gpa, &f);
		if (r == -EINVAL) {
			t->cr2 = f.addr;
			return ts_fault(t, PF_VECTOR, f.error_code);
		}
		if (r)
			return TS_FAIL;
		if (write)
			r = kvmd_vcpu_write_guest(t->vcpu, gpa, buf, n);
		else
			r = kvmd_vcpu_read_guest(t->vcpu, gpa, buf, n);
		if (r)
			return TS_FAIL;	/* a TSS or table outside RAM */
		la += n;
		buf += n;
		len -= n;
	}
	return TS_OK;
}

static int ts_read(struct ts *t, u64 la, void *buf, unsigned int len)
{
	return ts_copy(t, la, buf, len, false, false);
}

static int ts_write(struct ts *t, u64 la, const void *buf, unsigned int len)
{
	return ts_copy(t, la, (void *)buf, len, true, false);
}

static u64 desc_base(u64 d)
{
	return ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
}

static u32 desc_limit(u64 d)
{
	u32 limit = (d & 0xffff) | ((d >> 32) & 0xf0000);

	return (d & (1ULL << 55)) ? (limit << 12) | 0xfff : limit;
}

static unsigned int desc_type(u64 d)
{
	return (d >> 40) & 0xf;
}

static unsigned int desc_dpl(u64 d)
{
	return (d >> 45) & 3;
}

static bool desc_s(u64 d)
{
	return d & (1ULL << 44);
}

static bool desc_p(u64 d)
{
	return d & (1ULL << 47);
}

static void desc_to_seg(u64 d, u16 sel, struct kvm_segment *s)
{
	memset(s, 0, sizeof(*s));
	s->selector = sel;
	s->base = desc_base(d);
	s->limit = desc_limit(d);
	s->type = desc_type(d);
	s->s = desc_s(d);
	s->dpl = desc_dpl(d);
	s->present = desc_p(d);
	s->avl = (d >> 52) & 1;
	s->l = (d >> 53) & 1;
	s->db = (d >> 54) & 1;
	s->g = (d >> 55) & 1;
	s->unusable = !s->present;
}

/* The linear address of a GDT or LDT entry: #GP(selector) past the limit. */
static int desc_addr(struct ts *t, u16 sel, u64 *la)
{
	struct kvm_dtable gdt;
	struct kvm_segment ldt;
	u64 base;
	u32 limit;

	if (sel & 4) {
		kvmd_ops->get_segment(t->vcpu, &ldt, KVMD_SEG_LDTR);
		if (ldt.unusable || !ldt.present)
			return ts_fault(t, GP_VECTOR, sel & 0xfffc);
		base = ldt.base;
		limit = ldt.limit;
	} else {
		kvmd_ops->get_dtable(t->vcpu, &gdt, false);
		base = gdt.base;
		limit = gdt.limit;
	}
	if (limit < (u32)(sel >> 3) * 8 + 7)
		return ts_fault(t, GP_VECTOR, sel & 0xfffc);
	*la = (u32)(base + (sel >> 3) * 8);
	return TS_OK;
}

static int desc_read(struct ts *t, u16 sel, u64 *d)
{
	u64 la;
	int r = desc_addr(t, sel, &la);

	return r ? r : ts_read(t, la, d, 8);
}

static int desc_write(struct ts *t, u16 sel, u64 d)
{
	u64 la;
	int r = desc_addr(t, sel, &la);

	return r ? r : ts_write(t, la, &d, 8);
}

/* The selector only, the cached descriptor kept: loaded before any check. */
static void seg_set_selector(struct kvmd_vcpu *vcpu, int seg, u16 sel)
{
	struct kvm_segment s;

	kvmd_ops->get_segment(vcpu, &s, seg);
	s.selector = sel;
	kvmd_ops->set_segment(vcpu, &s, seg);
}

/*
 * One segment register of the new task, with the checks of a task switch:
 * #TS(selector) for a descriptor that does not fit, #NP or #SS when absent.
 */
static int seg_load(struct ts *t, u16 sel, int seg, unsigned int cpl, bool vm86)
{
	unsigned int rpl = sel & 3, dpl, type;
	struct kvm_segment s;
	u64 d;
	int r;

	if (vm86 && seg <= KVMD_SEG_GS) {
		memset(&s, 0, sizeof(s));
		s.selector = sel;
		s.base = (u32)sel << 4;
		s.limit = 0xffff;
		s.type = 3;
		s.present = 1;
		s.s = 1;
		s.dpl = 3;
		kvmd_ops->set_segment(t->vcpu, &s, seg);
		return TS_OK;
	}
	if (!(sel & ~3)) {
		if (seg == KVMD_SEG_CS || seg == KVMD_SEG_SS)
			return ts_fault(t, GP_VECTOR, 0);
		memset(&s, 0, sizeof(s));
		s.selector = sel;
		s.unusable = 1;
		kvmd_ops->set_segment(t->vcpu, &s, seg);
		return TS_OK;
	}
	r = desc_read(t, sel, &d);
	if (r)
		return r;
	type = desc_type(d);
	dpl = desc_dpl(d);
	if (seg <= KVMD_SEG_GS && !desc_s(d))
		goto bad;
	switch (seg) {
	case KVMD_SEG_SS:
		if (rpl != cpl || (type & 0xa) != 0x2 || dpl != cpl)
			goto bad;
		break;
	case KVMD_SEG_CS:
		if (!(type & 8))
			goto bad;
		if ((type & 4) ? dpl > rpl : dpl != rpl)
			goto bad;
		sel = (sel & 0xfffc) | cpl;
		break;
	case KVMD_SEG_LDTR:
		if (desc_s(d) || type != 2)
			goto bad;
		break;
	default:
		/* Execute-only code, or data above both RPL and CPL. */
		if ((type & 0xa) == 0x8 ||
		    ((type & 0xc) != 0xc && rpl > dpl && cpl > dpl))
			goto bad;
		break;
	}
	if (!desc_p(d))
		return ts_fault(t, seg == KVMD_SEG_SS ? SS_VECTOR : NP_VECTOR,
				sel & 0xfffc);
	if (desc_s(d) && !(type & 1)) {
		d |= 1ULL << 40;	/* accessed */
		r = desc_write(t, sel, d);
		if (r)
			return r;
	}
	desc_to_seg(d, sel, &s);
	kvmd_ops->set_segment(t->vcpu, &s, seg);
	return TS_OK;
bad:
	return ts_fault(t, TS_VECTOR, sel & 0xfffc);
}

static u16 seg_selector(struct kvmd_vcpu *vcpu, int seg)
{
	struct kvm_segment s;

	kvmd_ops->get_segment(vcpu, &s, seg);
	return s.selector;
}

/* Save the outgoing task: EIP, EFLAGS, the GPRs and selectors only. */
static int save_tss32(struct ts *t, u64 base, u32 eflags)
{
	struct kvmd_vcpu *vcpu = t->vcpu;
	struct ts32 tss;
	int i, r;

	r = ts_read(t, base, &tss, sizeof(tss));
	if (r)
		return r;
	tss.eip = vcpu->rip;
	tss.eflags = eflags;
	for (i = 0; i < 8; i++)
		tss.gpr[i] = vcpu->regs[i];
	for (i = 0; i < 6; i++)
		tss.seg[i] = (tss.seg[i] & 0xffff0000) | seg_selector(vcpu, i);
	return ts_write(t, base + offsetof(struct ts32, eip), &tss.eip,
			offsetof(struct ts32, ldt) - offsetof(struct ts32, eip));
}

static int save_tss16(struct ts *t, u64 base, u32 eflags)
{
	struct kvmd_vcpu *vcpu = t->vcpu;
	struct ts16 tss;
	int i, r;

	r = ts_read(t, base, &tss, sizeof(tss));
	if (r)
		return r;
	tss.ip = vcpu->rip;
	tss.flags = eflags;
	for (i = 0; i < 8; i++)
		tss.gpr[i] = vcpu->regs[i];
	for (i = 0; i < 4; i++)
		tss.seg[i] = seg_selector(vcpu, i);
	tss.ldt = seg_selector(vcpu, KVMD_SEG_LDTR);
	return ts_write(t, base, &tss, sizeof(tss));
}

/* The incoming task's state, as read from its TSS (16-bit: no FS, GS, CR3). */
struct ts_state {
	bool tss32;
	u32 cr3, eip, eflags;
	u32 gpr[8];
	u16 seg[6];
	u16 ldt;
};

static int read_tss(struct ts *t, u64 base, bool tss32, bool nested,
		    u16 link, struct ts_state *st)
{
	int i, r;

	st->tss32 = tss32;
	if (tss32) {
		struct ts32 tss;

		r = ts_read(t, base, &tss, sizeof(tss));
		if (r)
			return r;
		st->cr3 = tss.cr3;
		st->eip = tss.eip;
		st->eflags = tss.eflags;
		memcpy(st->gpr, tss.gpr, sizeof(st->gpr));
		for (i = 0; i < 6; i++)
			st->seg[i] = tss.seg[i];
		st->ldt = tss.ldt;
	} else {
		struct ts16 tss;

		r = ts_read(t, base, &tss, sizeof(tss));
		if (r)
			return r;
		st->eip = tss.ip;
		st->eflags = tss.flags;
		for (i = 0; i < 8; i++)
			st->gpr[i] = tss.gpr[i];
		for (i = 0; i < 4; i++)
			st->seg[i] = tss.seg[i];
		st->ldt = tss.ldt;
	}
	/* The back link names the task that called or was interrupted. */
	if (nested)
		return ts_write(t, base, &link, sizeof(link));
	return TS_OK;
}

/* Registers and selectors of the new task: nothing here can fault. */
static void load_regs(struct ts *t, const struct ts_state *st)
{
	struct kvmd_vcpu *vcpu = t->vcpu;
	int i, nseg = st->tss32 ? 6 : 4;

	vcpu->rip = st->eip;
	vcpu->rflags = st->eflags | X86_EFLAGS_FIXED;
	for (i = 0; i < 8; i++)
		vcpu->regs[i] = st->gpr[i];
	/* Selectors first, so a fault below leaves them as the SDM says. */
	seg_set_selector(vcpu, KVMD_SEG_LDTR, st->ldt);
	for (i = 0; i < nseg; i++)
		seg_set_selector(vcpu, i, st->seg[i]);
}

/* Descriptors of the new task: LDT first, as the selectors may live in it. */
static int load_segs(struct ts *t, const struct ts_state *st)
{
	static const int order[] = { KVMD_SEG_ES, KVMD_SEG_CS, KVMD_SEG_SS,
				     KVMD_SEG_DS, KVMD_SEG_FS, KVMD_SEG_GS };
	bool vm86 = st->tss32 && (st->eflags & X86_EFLAGS_VM);
	unsigned int cpl = vm86 ? 3 : st->seg[KVMD_SEG_CS] & 3;
	int i, r, nseg = st->tss32 ? 6 : 4;

	r = seg_load(t, st->ldt, KVMD_SEG_LDTR, cpl, vm86);
	for (i = 0; !r && i < nseg; i++)
		r = seg_load(t, st->seg[order[i]], order[i], cpl, vm86);
	return r;
}

/* The exception that sent us through a task gate pushes its code on the new stack. */
static int push_error(struct ts *t, u32 error, bool tss32)
{
	struct kvmd_vcpu *vcpu = t->vcpu;
	unsigned int n = tss32 ? 4 : 2;
	struct kvm_segment ss;
	u64 sp;
	int r;

	kvmd_ops->get_segment(vcpu, &ss, KVMD_SEG_SS);
	sp = vcpu->regs[R_SP] - n;
	sp = ss.db ? (u32)sp : (sp & 0xffff);
	r = ts_copy(t, ss.base + sp, &error, n, true,
		    kvmd_ops->get_cpl(vcpu) == 3);
	if (r)
		return r;
	if (ss.db)
		vcpu->regs[R_SP] = sp;
	else
		vcpu->regs[R_SP] = (vcpu->regs[R_SP] & ~0xffffUL) | sp;
	return TS_OK;
}

static int do_task_switch(struct ts *t, u16 sel, int idt_index, int reason,
			  bool has_error, u32 error)
{
	struct kvmd_vcpu *vcpu = t->vcpu;
	struct kvm_segment tr;
	struct ts_state st;
	u64 next, cur, cr0;
	u32 eflags;
	bool tss32, nested;
	int r;

	kvmd_ops->get_segment(vcpu, &tr, KVMD_SEG_TR);
	r = desc_read(t, sel, &next);
	if (!r)
		r = desc_read(t, tr.selector, &cur);
	if (r)
		return r;

	/* INTn through a task gate: the gate's DPL against CPL and the RPL. */
	if (reason == KVMD_TASK_SWITCH_GATE && idt_index >= 0) {
		struct kvm_dtable idt;
		u64 gate;

		kvmd_ops->get_dtable(vcpu, &idt, true);
		if (idt.limit < idt_index * 8 + 7)
			return ts_fault(t, GP_VECTOR, (idt_index << 3) | 2);
		r = ts_read(t, idt.base + idt_index * 8, &gate, 8);
		if (r)
			return r;
		if ((sel & 3) > desc_dpl(gate) ||
		    kvmd_ops->get_cpl(vcpu) > desc_dpl(gate))
			return ts_fault(t, GP_VECTOR, (idt_index << 3) | 2);
	}

	tss32 = desc_type(next) & 8;
	if (!desc_p(next) || desc_s(next) || (desc_type(next) & 5) != 1 ||
	    desc_limit(next) < (tss32 ? 0x67 : 0x2b))
		return ts_fault(t, TS_VECTOR, sel & 0xfffc);

	if (reason == KVMD_TASK_SWITCH_IRET || reason == KVMD_TASK_SWITCH_JMP) {
		r = desc_write(t, tr.selector, cur & ~DESC_BUSY);
		if (r)
			return r;
	}
	eflags = vcpu->rflags;
	if (reason == KVMD_TASK_SWITCH_IRET)
		eflags &= ~X86_EFLAGS_NT;
	nested = reason == KVMD_TASK_SWITCH_CALL || reason == KVMD_TASK_SWITCH_GATE;

	r = (desc_type(cur) & 8) ? save_tss32(t, tr.base, eflags) :
				   save_tss16(t, tr.base, eflags);
	if (!r)
		r = read_tss(t, desc_base(next), tss32, nested, tr.selector, &st);
	if (r)
		return r;

	/* As KVM: the 32-bit TSS's CR3 is loaded whether paging is on or not. */
	if (tss32) {
		kvmd_ops->set_cr3(vcpu, st.cr3);
		kvmd_ops->flush_tlb(vcpu);
	}
	load_regs(t, &st);
	if (nested)
		vcpu->rflags |= X86_EFLAGS_NT;
	if (reason != KVMD_TASK_SWITCH_IRET) {
		next |= DESC_BUSY;
		r = desc_write(t, sel, next);
		if (r)
			return r;
	}
	cr0 = kvmd_ops->get_cr(vcpu, 0);
	kvmd_ops->set_cr0(vcpu, cr0 | X86_CR0_TS);
	desc_to_seg(next | DESC_BUSY, sel, &tr);
	kvmd_ops->set_segment(vcpu, &tr, KVMD_SEG_TR);

	/* From here on a fault belongs to the new task. */
	r = load_segs(t, &st);
	if (!r && has_error)
		r = push_error(t, error, tss32);
	if (r)
		return r;
	/* The local breakpoint enables (L0-L3, LE) belong to the old task. */
	kvmd_ops->set_dr7(vcpu, kvmd_ops->get_dr7(vcpu) & ~0x155ULL);
	return TS_OK;
}

/*
 * A task switch the CPU left to us, in the shape of KVM's kvm_task_switch:
 * @sel the new TSS, @idt_index the vector of an INTn through a task gate
 * (its DPL is checked here) or -1, @reason a KVMD_TASK_SWITCH_* value,
 * RIP already past any instruction that caused it. KVM 6.1 computes the
 * fault an invalid switch raises but drops it; we deliver it. The TSS
 * T bit is ignored, as by KVM.
 */
int kvmd_task_switch(struct kvmd_vcpu *vcpu, u16 sel, int idt_index,
		     int reason, bool has_error, u32 error)
{
	struct ts t = { .vcpu = vcpu };

	switch (do_task_switch(&t, sel, idt_index, reason, has_error, error)) {
	case TS_OK:
		return KVMD_RESUME;
	case TS_FAULT:
		if (t.vec == PF_VECTOR)
			kvmd_ops->set_cr2(vcpu, t.cr2);
		kvmd_queue_exception_e(vcpu, t.vec, t.err);
		return KVMD_RESUME;
	default:
		return kvmd_emulation_failure(vcpu);
	}
}

/* ModRM, SIB and displacement bytes after the opcode. */
static int modrm_len(const u8 *b, unsigned int avail, bool ad32)
{
	unsigned int mod, rm, n = 1;

	if (!avail)
		return -1;
	mod = b[0] >> 6;
	rm = b[0] & 7;
	if (mod == 3)
		return 1;
	if (!ad32)
		return n + (mod == 1 ? 1 : mod == 2 ? 2 : rm == 6 ? 2 : 0);
	if (rm == 4) {
		if (avail < 2)
			return -1;
		n++;
		if (mod == 0 && (b[1] & 7) == 5)
			return n + 4;
	}
	if (mod == 0 && rm == 5)
		return n + 4;
	return n + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/*
 * Length of the far JMP/CALL, IRET, INTn, INT3 or INTO at RIP: SVM's task
 * switch exit reports no next RIP. Negative when RIP holds none of them.
 */
int kvmd_task_switch_insn_len(struct kvmd_vcpu *vcpu)
{
	struct kvm_segment cs;
	bool op32, ad32;
	unsigned int avail, i;
	u8 b[15];
	int m;

	if (kvmd_fetch_insn(vcpu, b, &avail))
		return -1;
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	op32 = ad32 = cs.db;
	for (i = 0; i < avail; i++) {
		switch (b[i]) {
		case 0x66:
			op32 = !op32;
			continue;
		case 0x67:
			ad32 = !ad32;
			continue;
		case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64:
		case 0x65: case 0xf0: case 0xf2: case 0xf3:
			continue;
		}
		break;
	}
	if (i >= avail)
		return -1;
	switch (b[i]) {
	case 0xcc: case 0xce: case 0xcf: case 0xf1:
		return i + 1;
	case 0xcd:
		return i + 2;
	case 0x9a: case 0xea:
		return i + 1 + (op32 ? 4 : 2) + 2;
	case 0xff:
		m = modrm_len(b + i + 1, avail - i - 1, ad32);
		return m < 0 ? m : i + 1 + m;
	}
	return -1;
}
