// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/emulate.c: x86 decoder and emulator for the instructions that touch MMIO. */
#include <linux/kvm.h>
#include <linux/mm.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

#define FLAGS_ARITH (X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
		     X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_OF)

enum { EMU_OK, EMU_EXIT, EMU_FAULT, EMU_FAIL };
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

struct emu {
	struct kvmd_vcpu *vcpu;
	u8 b[15];
	unsigned int avail, pos;
	u8 opsize, adsize;
	bool long64;
	u8 rex;
	int seg;		/* override, or -1 */
	bool rep;
	bool string;		/* two memory operands: no fault-address shortcut */
	u8 op;
	bool twobyte;
	u8 modrm, mod, reg, rm;
	int ea_seg;
	u64 ea;
	bool riprel;
	s64 imm;
};

static int emu_byte(struct emu *e, u8 *v)
{
	if (e->pos >= e->avail)
		return -1;
	*v = e->b[e->pos++];
	return 0;
}

static int emu_imm(struct emu *e, int size, s64 *v)
{
	u64 x = 0;
	int i;

	if (e->pos + size > e->avail)
		return -1;
	for (i = 0; i < size; i++)
		x |= (u64)e->b[e->pos + i] << (8 * i);
	e->pos += size;
	switch (size) {
	case 1:
		*v = (s8)x;
		break;
	case 2:
		*v = (s16)x;
		break;
	case 4:
		*v = (s32)x;
		break;
	default:
		*v = x;
	}
	return 0;
}

static u64 size_mask(int size)
{
	return size == 8 ? ~0ULL : (1ULL << (size * 8)) - 1;
}

static __kvmd_hot u64 reg_read(struct emu *e, int r, int size)
{
	unsigned long *regs = e->vcpu->regs;

	if (size == 1 && !e->rex && r >= 4 && r < 8)
		return (regs[r - 4] >> 8) & 0xff;
	return regs[r] & size_mask(size);
}

static void reg_write(struct emu *e, int r, int size, u64 v)
{
	unsigned long *regs = e->vcpu->regs;

	switch (size) {
	case 1:
		if (!e->rex && r >= 4 && r < 8)
			regs[r - 4] = (regs[r - 4] & ~0xff00UL) | ((v & 0xff) << 8);
		else
			regs[r] = (regs[r] & ~0xffUL) | (v & 0xff);
		break;
	case 2:
		regs[r] = (regs[r] & ~0xffffUL) | (v & 0xffff);
		break;
	case 4:
		regs[r] = (u32)v;
		break;
	default:
		regs[r] = v;
	}
}

static __kvmd_hot int decode_modrm(struct emu *e)
{
	s64 disp = 0;
	u64 ea = 0;

	if (emu_byte(e, &e->modrm))
		return -1;
	e->mod = e->modrm >> 6;
	e->reg = ((e->modrm >> 3) & 7) | ((e->rex & 4) << 1);
	e->rm = e->modrm & 7;
	e->ea_seg = KVMD_SEG_DS;
	if (e->mod == 3) {
		e->rm |= (e->rex & 1) << 3;
		return 0;
	}
	if (e->adsize == 2) {
		static const int base16[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
		static const int index16[8] = { R_SI, R_DI, R_SI, R_DI, -1, -1, -1, -1 };

		if (e->mod == 0 && e->rm == 6) {
			if (emu_imm(e, 2, &disp))
				return -1;
		} else {
			ea = e->vcpu->regs[base16[e->rm]];
			if (index16[e->rm] >= 0)
				ea += e->vcpu->regs[index16[e->rm]];
			if (e->rm == 2 || e->rm == 3 || e->rm == 6)
				e->ea_seg = KVMD_SEG_SS;
			if (e->mod == 1 && emu_imm(e, 1, &disp))
				return -1;
			if (e->mod == 2 && emu_imm(e, 2, &disp))
				return -1;
		}
		e->ea = (ea + disp) & 0xffff;
		return 0;
	}
	if (e->rm == 4) {
		u8 sib;
		int base, index, scale;

		if (emu_byte(e, &sib))
			return -1;
		scale = sib >> 6;
		index = ((sib >> 3) & 7) | ((e->rex & 2) << 2);
		base = (sib & 7) | ((e->rex & 1) << 3);
		if (index != 4)
			ea += e->vcpu->regs[index] << scale;
		if ((sib & 7) == 5 && e->mod == 0) {
			if (emu_imm(e, 4, &disp))
				return -1;
		} else {
			ea += e->vcpu->regs[base];
			if ((base & 7) == 4 || (base & 7) == 5)
				e->ea_seg = KVMD_SEG_SS;
		}
	} else if (e->rm == 5 && e->mod == 0) {
		if (emu_imm(e, 4, &disp))
			return -1;
		e->riprel = e->long64;
	} else {
		int base = e->rm | ((e->rex & 1) << 3);

		ea = e->vcpu->regs[base];
		if ((base & 7) == 5)
			e->ea_seg = KVMD_SEG_SS;
	}
	if (e->mod == 1 && emu_imm(e, 1, &disp))
		return -1;
	if (e->mod == 2 && emu_imm(e, 4, &disp))
		return -1;
	e->ea = ea + disp;
	return 0;
}

static u64 emu_seg_base(struct emu *e, int seg)
{
	struct kvm_segment s;

	if (e->long64 && seg != KVMD_SEG_FS && seg != KVMD_SEG_GS)
		return 0;
	kvmd_ops->get_segment(e->vcpu, &s, seg);
	return s.base;
}

static __kvmd_hot u64 emu_linear(struct emu *e, int seg, u64 ea)
{
	u64 la = emu_seg_base(e, seg) + (ea & size_mask(e->adsize));

	return e->long64 ? la : (u32)la;
}

/* The memory operand of a ModRM instruction, after the whole decode. */
static u64 emu_rm_linear(struct emu *e)
{
	u64 ea = e->ea;

	if (e->riprel)
		ea += e->vcpu->rip + e->pos;
	return emu_linear(e, e->seg >= 0 ? e->seg : e->ea_seg, ea);
}

static __kvmd_hot int emu_translate(struct emu *e, u64 la, bool write, u64 *gpa)
{
	struct kvmd_walk_fault f;
	unsigned int access = write ? KVMD_ACC_WRITE : 0;
	int r;

	/*
	 * The faulting access of a one-operand instruction is the NPT fault
	 * itself: its guest-physical address is known, no walk needed.
	 */
	if (e->vcpu->fault_gpa_valid && !e->string &&
	    ((la ^ e->vcpu->fault_gpa) & ~PAGE_MASK) == 0) {
		*gpa = e->vcpu->fault_gpa;
		return EMU_OK;
	}
	if (kvmd_ops->get_cpl(e->vcpu) == 3)
		access |= KVMD_ACC_USER;
	r = kvmd_gva_to_gpa(e->vcpu, la, access, gpa, &f);
	if (r == -EINVAL) {
		kvmd_ops->set_cr2(e->vcpu, f.addr);
		kvmd_queue_exception_e(e->vcpu, 14, f.error_code);
		return EMU_FAULT;
	}
	return r ? EMU_FAIL : EMU_OK;
}

/*
 * The guest-physical pieces of an access: one, or two when it crosses a
 * page (and so maybe from RAM into MMIO, or from one device into another).
 */
struct emu_span {
	u64 gpa[2];
	unsigned int len[2];
	int n;
};

static __kvmd_hot int emu_span(struct emu *e, u64 la, int size, bool write,
		    struct emu_span *sp)
{
	unsigned int first = min_t(unsigned int, size,
				   PAGE_SIZE - offset_in_page(la));
	int r;

	sp->n = 1;
	sp->len[0] = first;
	r = emu_translate(e, la, write, &sp->gpa[0]);
	if (r || first == size)
		return r;
	la += first;
	if (!e->long64)
		la = (u32)la;
	sp->n = 2;
	sp->len[1] = size - first;
	return emu_translate(e, la, write, &sp->gpa[1]);
}

/* Fill in an MMIO exit for @len bytes at @gpa; a write carries @data. */
static __kvmd_hot void emu_mmio_exit(struct kvmd_vcpu *vcpu, u64 gpa, unsigned int len,
			  const void *data)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_MMIO;
	run->mmio.phys_addr = gpa;
	run->mmio.len = len;
	run->mmio.is_write = !!data;
	memset(run->mmio.data, 0, sizeof(run->mmio.data));
	if (data)
		memcpy(run->mmio.data, data, len);
	vcpu->pending = KVMD_PENDING_MMIO;
	vcpu->pending_rip = vcpu->rip;
	vcpu->mmio_next.len = 0;
}

static int emu_read_piece(struct emu *e, u64 gpa, u8 *buf, unsigned int len)
{
	struct kvmd_vcpu *vcpu = e->vcpu;
	u64 v = 0;
	int r;

	r = kvmd_vcpu_read_guest(vcpu, gpa, buf, len);
	if (!r)
		return EMU_OK;
	if (r != -ENOENT)
		return EMU_FAIL;
	/* The local APIC and the devices on the kernel's MMIO bus answer here. */
	if (kvmd_apic_mmio_in_range(vcpu, gpa)) {
		kvmd_apic_mmio_read(vcpu, gpa, &v, len);
		goto done;
	}
	if (kvmd_io_bus_has_devices(vcpu->vm, KVMD_MMIO_BUS) &&
	    !kvmd_io_bus_read(vcpu, KVMD_MMIO_BUS, gpa, len, &v))
		goto done;
	/* MMIO: answered by userspace, remembered across the re-execution. */
	if (vcpu->mmio_used < vcpu->mmio_cached) {
		v = vcpu->mmio_cache[vcpu->mmio_used++].data;
		goto done;
	}
	if (vcpu->mmio_cached >= KVMD_MMIO_CACHE)
		return EMU_FAIL;
	vcpu->mmio_cache[vcpu->mmio_cached].gpa = gpa;
	vcpu->mmio_cache[vcpu->mmio_cached].len = len;
	emu_mmio_exit(vcpu, gpa, len, NULL);
	return EMU_EXIT;
done:
	memcpy(buf, &v, len);
	return EMU_OK;
}

/*
 * As KVM: the RAM part of a split access is read directly, each MMIO part
 * is one exit, in address order; the instruction runs again after each.
 */
static int emu_read(struct emu *e, u64 la, u64 *val, int size)
{
	struct emu_span sp;
	u8 buf[8];
	int i, r, off = 0;

	*val = 0;
	r = emu_span(e, la, size, false, &sp);
	if (r)
		return r;
	for (i = 0; i < sp.n; i++) {
		r = emu_read_piece(e, sp.gpa[i], buf + off, sp.len[i]);
		if (r)
			return r;
		off += sp.len[i];
	}
	memcpy(val, buf, size);
	return EMU_OK;
}

/* An MMIO write the kernel takes (APIC, MMIO bus, coalesced zone): true. */
static __kvmd_hot bool mmio_write_in_kernel(struct kvmd_vcpu *vcpu, u64 gpa,
				 const u8 *buf, unsigned int len)
{
	if (kvmd_apic_mmio_in_range(vcpu, gpa)) {
		kvmd_apic_mmio_write(vcpu, gpa, buf, len);
		return true;
	}
	return (kvmd_io_bus_has_devices(vcpu->vm, KVMD_MMIO_BUS) &&
		!kvmd_io_bus_write(vcpu, KVMD_MMIO_BUS, gpa, len, buf)) ||
	       (kvmd_coalesced_any(vcpu->vm) &&
		kvmd_coalesced_write(vcpu->vm, gpa, len, buf, false));
}

/* A piece the kernel can take (RAM, APIC, MMIO bus, coalesced zone): true. */
static bool emu_write_piece(struct emu *e, u64 gpa, const u8 *buf,
			    unsigned int len, int *err)
{
	struct kvmd_vcpu *vcpu = e->vcpu;
	int r;

	*err = 0;
	r = kvmd_vcpu_write_guest(vcpu, gpa, buf, len);
	if (!r)
		return true;
	if (r != -ENOENT) {
		*err = EMU_FAIL;
		return true;
	}
	return mmio_write_in_kernel(vcpu, gpa, buf, len);
}

/*
 * Writes come last: the instruction is already committed when they exit.
 * A split write stores its RAM part at once; its MMIO parts exit one by
 * one, the second when userspace comes back from the first, as in KVM.
 */
static __kvmd_hot int emu_write(struct emu *e, const struct emu_span *sp, u64 val,
		     int size)
{
	struct kvmd_vcpu *vcpu = e->vcpu;
	const u8 *buf = (const u8 *)&val;
	int i, err, nfrag = 0, off = 0, frag[2];

	for (i = 0; i < sp->n; off += sp->len[i], i++) {
		if (emu_write_piece(e, sp->gpa[i], buf + off, sp->len[i], &err)) {
			if (err)
				return err;
			continue;
		}
		frag[nfrag++] = i;
	}
	if (!nfrag)
		return EMU_OK;
	i = frag[0];
	emu_mmio_exit(vcpu, sp->gpa[i], sp->len[i], buf + (i ? sp->len[0] : 0));
	if (nfrag > 1) {
		vcpu->mmio_next.gpa = sp->gpa[1];
		vcpu->mmio_next.len = sp->len[1];
		vcpu->mmio_next.data = 0;
		memcpy(&vcpu->mmio_next.data, buf + sp->len[0], sp->len[1]);
	}
	return EMU_EXIT;
}

/* KVM_RUN after the first MMIO exit of a split write: the second one. */
__kvmd_hot int kvmd_emulate_mmio_next(struct kvmd_vcpu *vcpu)
{
	u64 data = vcpu->mmio_next.data;

	if (vcpu->mmio_str.n)
		return kvmd_string_mmio_exit(vcpu);
	if (!vcpu->mmio_next.len)
		return KVMD_RESUME;
	emu_mmio_exit(vcpu, vcpu->mmio_next.gpa, vcpu->mmio_next.len, &data);
	vcpu->mmio_next.len = 0;
	return KVMD_EXIT_USER;
}

static void emu_set_flags(struct emu *e, u64 res, u64 a, u64 b, int size,
			  int kind, bool cf, bool keep_cf)
{
	u64 sign = 1ULL << (size * 8 - 1);
	u64 fl = 0;
	u8 low;

	res &= size_mask(size);
	low = res;
	if (!(hweight8(low) & 1))
		fl |= X86_EFLAGS_PF;
	if (!res)
		fl |= X86_EFLAGS_ZF;
	if (res & sign)
		fl |= X86_EFLAGS_SF;
	if (kind) {
		if ((a ^ b ^ res) & 0x10)
			fl |= X86_EFLAGS_AF;
		if (kind == 1 && ((a ^ res) & (b ^ res) & sign))
			fl |= X86_EFLAGS_OF;
		if (kind == 2 && ((a ^ b) & (a ^ res) & sign))
			fl |= X86_EFLAGS_OF;
	}
	if (keep_cf)
		fl |= e->vcpu->rflags & X86_EFLAGS_CF;
	else if (cf)
		fl |= X86_EFLAGS_CF;
	e->vcpu->rflags = (e->vcpu->rflags & ~FLAGS_ARITH) | fl;
}

/* One ALU operation with its flags; returns the result. */
static u64 emu_alu(struct emu *e, int op, u64 a, u64 b, int size)
{
	u64 m = size_mask(size), res, c = e->vcpu->rflags & X86_EFLAGS_CF;

	a &= m;
	b &= m;
	switch (op) {
	case ALU_ADD:
	case ALU_ADC:
		if (op == ALU_ADD)
			c = 0;
		res = (a + b + c) & m;
		emu_set_flags(e, res, a, b, size, 1,
			      res < a || (c && res == a), false);
		return res;
	case ALU_SUB:
	case ALU_CMP:
	case ALU_SBB:
		if (op != ALU_SBB)
			c = 0;
		res = (a - b - c) & m;
		emu_set_flags(e, res, a, b, size, 2, a < b || (c && a == b),
			      false);
		return res;
	case ALU_OR:
		res = a | b;
		break;
	case ALU_AND:
		res = a & b;
		break;
	default:
		res = a ^ b;
		break;
	}
	emu_set_flags(e, res, 0, 0, size, 0, false, false);
	return res;
}

static void emu_commit(struct emu *e)
{
	kvmd_skip_insn(e->vcpu, e->pos);
}

/* Read-modify-write of the memory operand. */
static int emu_rmw(struct emu *e, int size, u64 (*fn)(struct emu *, u64, int),
		   bool store)
{
	u64 la = emu_rm_linear(e), v;
	struct emu_span sp;
	int r;

	r = emu_read(e, la, &v, size);
	if (r)
		return r;
	r = emu_span(e, la, size, true, &sp);
	if (r)
		return r;
	v = fn(e, v, size);
	emu_commit(e);
	return store ? emu_write(e, &sp, v, size) : EMU_OK;
}

static u64 fn_alu_rm_reg(struct emu *e, u64 v, int size)
{
	return emu_alu(e, e->op >> 3, v, reg_read(e, e->reg, size), size);
}

static u64 fn_alu_imm(struct emu *e, u64 v, int size)
{
	return emu_alu(e, e->reg & 7, v, e->imm, size);
}

static u64 fn_incdec(struct emu *e, u64 v, int size)
{
	u64 cf = e->vcpu->rflags & X86_EFLAGS_CF;
	u64 res = emu_alu(e, (e->reg & 7) ? ALU_SUB : ALU_ADD, v, 1, size);

	e->vcpu->rflags = (e->vcpu->rflags & ~X86_EFLAGS_CF) | cf;
	return res;
}

static u64 fn_not(struct emu *e, u64 v, int size)
{
	return ~v & size_mask(size);
}

static u64 fn_neg(struct emu *e, u64 v, int size)
{
	return emu_alu(e, ALU_SUB, 0, v, size);
}

static u64 fn_xchg(struct emu *e, u64 v, int size)
{
	u64 r = reg_read(e, e->reg, size);

	reg_write(e, e->reg, size, v);
	return r;
}

static u64 fn_bt(struct emu *e, u64 v, int size)
{
	int bit = e->imm & (size * 8 - 1);
	u64 mask = 1ULL << bit;
	int kind = e->reg & 3;	/* 0 bt, 1 bts, 2 btr, 3 btc */

	e->vcpu->rflags &= ~X86_EFLAGS_CF;
	if (v & mask)
		e->vcpu->rflags |= X86_EFLAGS_CF;
	if (kind == 1)
		v |= mask;
	else if (kind == 2)
		v &= ~mask;
	else if (kind == 3)
		v ^= mask;
	return v;
}

/* String forms: one element per emulation; a REP re-executes natively. */
static int emu_string(struct emu *e, int size)
{
	struct kvmd_vcpu *vcpu = e->vcpu;
	u64 mask = size_mask(e->adsize), v = 0;
	struct emu_span sp;
	int seg = e->seg >= 0 ? e->seg : KVMD_SEG_DS;
	s64 step = (vcpu->rflags & X86_EFLAGS_DF) ? -size : size;
	int op = e->op & ~1, r;

	e->string = true;
	if (e->rep && !(vcpu->regs[R_CX] & mask)) {
		emu_commit(e);
		return EMU_OK;
	}
	if (op == 0xa4 || op == 0xac) {		/* movs, lods */
		r = emu_read(e, emu_linear(e, seg, vcpu->regs[R_SI]), &v, size);
		if (r)
			return r;
	} else {				/* stos */
		v = reg_read(e, R_AX, size);
	}
	if (op != 0xac) {
		r = emu_span(e, emu_linear(e, KVMD_SEG_ES, vcpu->regs[R_DI]),
			     size, true, &sp);
		if (r)
			return r;
	}

	if (op == 0xac)
		reg_write(e, R_AX, size, v);
	if (op != 0xaa)
		reg_write(e, R_SI, e->adsize, vcpu->regs[R_SI] + step);
	if (op != 0xac)
		reg_write(e, R_DI, e->adsize, vcpu->regs[R_DI] + step);
	if (e->rep)
		reg_write(e, R_CX, e->adsize, vcpu->regs[R_CX] - 1);
	if (!e->rep || !(vcpu->regs[R_CX] & mask))
		emu_commit(e);
	return op == 0xac ? EMU_OK : emu_write(e, &sp, v, size);
}

/*
 * OUTS whose source is not RAM, as KVM's emulator runs every OUTS: one
 * element a pass, read first (an MMIO read may exit and run this again),
 * then written to the port; a REP runs again natively for the next one.
 */
static int emu_outs(struct emu *e, int size)
{
	struct kvmd_vcpu *vcpu = e->vcpu;
	u64 mask = size_mask(e->adsize), v = 0;
	int seg = e->seg >= 0 ? e->seg : KVMD_SEG_DS;
	s64 step = (vcpu->rflags & X86_EFLAGS_DF) ? -size : size;
	u16 port = vcpu->regs[R_DX];
	int r;

	e->string = true;
	if (e->rep && !(vcpu->regs[R_CX] & mask)) {
		emu_commit(e);
		return EMU_OK;
	}
	r = emu_read(e, emu_linear(e, seg, vcpu->regs[R_SI]), &v, size);
	if (r)
		return r;
	reg_write(e, R_SI, e->adsize, vcpu->regs[R_SI] + step);
	if (e->rep)
		reg_write(e, R_CX, e->adsize, vcpu->regs[R_CX] - 1);
	if (!e->rep || !(vcpu->regs[R_CX] & mask))
		emu_commit(e);
	/* The element is out of the read cache: the port's exit ends the pass. */
	vcpu->mmio_cached = 0;
	if (kvmd_pio_out(vcpu, port, size, &v, vcpu->rip) == KVMD_EXIT_USER)
		return EMU_EXIT;
	return EMU_OK;
}

/* PUSH and POP's operand size: 8 in 64-bit code (2 with 66h), else the operand size. */
static int emu_stack_opsize(struct emu *e)
{
	if (e->long64)
		return e->opsize == 2 ? 2 : 8;
	return e->opsize;
}

/* SS:RSP as the stack addresses it: 64-bit, or SS.B's 32 or 16 bits. */
static u64 emu_stack_linear(struct emu *e, u64 sp, int *sa)
{
	struct kvm_segment ss;
	u64 la;

	if (e->long64) {
		*sa = 8;
		return sp;
	}
	kvmd_ops->get_segment(e->vcpu, &ss, KVMD_SEG_SS);
	*sa = ss.db ? 4 : 2;
	la = ss.base + (sp & size_mask(*sa));
	return (u32)la;
}

/* PUSH (and CALL's): RSP lowered with the commit, the store last. */
static int emu_push(struct emu *e, u64 v, int size)
{
	struct emu_span sp;
	u64 rsp = e->vcpu->regs[R_SP] - size;
	int sa, r;

	r = emu_span(e, emu_stack_linear(e, rsp, &sa), size, true, &sp);
	if (r)
		return r;
	reg_write(e, R_SP, sa, rsp);
	emu_commit(e);
	return emu_write(e, &sp, v, size);
}

/* The value a POP takes, RSP raised; the caller commits. */
static int emu_pop(struct emu *e, u64 *v, int size)
{
	u64 rsp = e->vcpu->regs[R_SP];
	int sa, r;

	r = emu_read(e, emu_stack_linear(e, rsp, &sa), v, size);
	if (r)
		return r;
	reg_write(e, R_SP, sa, rsp + size);
	return EMU_OK;
}

/*
 * The stack forms KVM's emulator takes when the stack (or a memory
 * operand) is not RAM: PUSH reg/imm/r/m, PUSHF, CALL rel, POP reg/r/m.
 */
static int emu_stack(struct emu *e)
{
	struct kvmd_vcpu *vcpu = e->vcpu;
	int size = emu_stack_opsize(e), reg = (e->op & 7) | (e->rex & 1) << 3;
	struct emu_span sp;
	u64 v, rsp;
	s64 rel;
	int sa, r;

	switch (e->op) {
	case 0x50 ... 0x57:
		return emu_push(e, reg_read(e, reg, size), size);
	case 0x58 ... 0x5f:
		r = emu_pop(e, &v, size);
		if (r)
			return r;
		reg_write(e, reg, size, v);
		emu_commit(e);
		return EMU_OK;
	case 0x68: case 0x6a:
		if (emu_imm(e, e->op == 0x6a ? 1 : size == 2 ? 2 : 4, &e->imm))
			return EMU_FAIL;
		return emu_push(e, e->imm, size);
	case 0x9c:				/* pushf: VM and RF read as 0 */
		return emu_push(e, vcpu->rflags & ~(u64)(X86_EFLAGS_VM | X86_EFLAGS_RF), size);
	case 0xe8:				/* call rel16/32 */
		if (emu_imm(e, e->opsize == 2 ? 2 : 4, &rel))
			return EMU_FAIL;
		v = vcpu->rip + e->pos;
		rsp = vcpu->regs[R_SP] - size;
		r = emu_span(e, emu_stack_linear(e, rsp, &sa), size, true, &sp);
		if (r)
			return r;
		reg_write(e, R_SP, sa, rsp);
		/* RIP at the target before the store exits: its completion checks RIP. */
		emu_commit(e);
		vcpu->rip = e->long64 ? v + rel : (v + rel) & size_mask(e->opsize == 2 ? 2 : 4);
		return emu_write(e, &sp, v, size);
	case 0x8f:				/* pop r/m */
		if (decode_modrm(e) || e->mod == 3 || (e->reg & 7))
			return EMU_FAIL;
		r = emu_span(e, emu_rm_linear(e), size, true, &sp);
		if (r)
			return r;
		r = emu_pop(e, &v, size);
		if (r)
			return r;
		emu_commit(e);
		return emu_write(e, &sp, v, size);
	}
	return EMU_FAIL;
}

static int emu_decode_prefixes(struct emu *e)
{
	struct kvm_segment cs;
	u8 c;

	kvmd_ops->get_segment(e->vcpu, &cs, KVMD_SEG_CS);
	e->long64 = kvmd_long_mode(e->vcpu) && cs.l;
	if (e->long64) {
		e->opsize = 4;
		e->adsize = 8;
	} else if (cs.db) {
		e->opsize = e->adsize = 4;
	} else {
		e->opsize = e->adsize = 2;
	}
	e->seg = -1;
	for (;;) {
		if (emu_byte(e, &c))
			return -1;
		switch (c) {
		case 0x66:
			e->opsize = e->opsize == 2 ? 4 : 2;
			continue;
		case 0x67:
			e->adsize = e->long64 ? 4 : (e->adsize == 2 ? 4 : 2);
			continue;
		case 0xf0:
			continue;
		case 0xf2:
		case 0xf3:
			e->rep = true;
			continue;
		case 0x26:
			e->seg = KVMD_SEG_ES;
			continue;
		case 0x2e:
			e->seg = KVMD_SEG_CS;
			continue;
		case 0x36:
			e->seg = KVMD_SEG_SS;
			continue;
		case 0x3e:
			e->seg = KVMD_SEG_DS;
			continue;
		case 0x64:
			e->seg = KVMD_SEG_FS;
			continue;
		case 0x65:
			e->seg = KVMD_SEG_GS;
			continue;
		}
		break;
	}
	if (e->long64 && (c & 0xf0) == 0x40) {
		e->rex = c;
		if (c & 8)
			e->opsize = 8;
		if (emu_byte(e, &c))
			return -1;
	}
	e->op = c;
	if (c == 0x0f) {
		e->twobyte = true;
		if (emu_byte(e, &e->op))
			return -1;
	}
	return 0;
}

static int emu_imm_size(struct emu *e)
{
	return e->opsize == 2 ? 2 : 4;
}

/* cmpxchg: as KVM's emulator, the destination is written either way. */
static u64 fn_cmpxchg(struct emu *e, u64 v, int size)
{
	emu_alu(e, ALU_CMP, reg_read(e, R_AX, size), v, size);
	if (e->vcpu->rflags & X86_EFLAGS_ZF)
		return reg_read(e, e->reg, size);
	reg_write(e, R_AX, size, v);
	return v;
}

/* cmpxchg8b: EDX:EAX against the quadword, ECX:EBX in on a match. */
static u64 fn_cmpxchg8b(struct emu *e, u64 v, int size)
{
	unsigned long *regs = e->vcpu->regs;

	if ((u32)v == (u32)regs[R_AX] && (u32)(v >> 32) == (u32)regs[R_DX]) {
		e->vcpu->rflags |= X86_EFLAGS_ZF;
		return (u64)(u32)regs[R_CX] << 32 | (u32)regs[R_BX];
	}
	regs[R_AX] = (u32)v;
	regs[R_DX] = (u32)(v >> 32);
	e->vcpu->rflags &= ~X86_EFLAGS_ZF;
	return v;
}

/*
 * One shift or rotate by the CPU itself, for exactly its flags (those the
 * manuals leave undefined too), as KVM's fastop runs them: only the
 * arithmetic flags go in and out, the host's own stay as they were.
 */
#define SHIFT_ONE(insn, sfx, type)					\
	asm volatile("push %[fl]; popf; " insn sfx " %%cl, %[val]; pushf; pop %[fl]" \
		     : [val] "+r" (*(type *)&val), [fl] "+r" (fl)	\
		     : "c" (cnt) : "cc", "memory")

#define SHIFT_SIZES(insn)						\
	do {								\
		switch (size) {						\
		case 1: SHIFT_ONE(insn, "b", u8); break;		\
		case 2: SHIFT_ONE(insn, "w", u16); break;		\
		case 4: SHIFT_ONE(insn, "l", u32); break;		\
		default: SHIFT_ONE(insn, "q", u64); break;		\
		}							\
	} while (0)

static u64 fn_shift(struct emu *e, u64 v, int size)
{
	unsigned long host = native_save_fl(), fl;
	u64 val = v;
	u8 cnt = e->imm;

	fl = (host & ~FLAGS_ARITH) | (e->vcpu->rflags & FLAGS_ARITH);
	switch (e->reg & 7) {
	case 0: SHIFT_SIZES("rol"); break;
	case 1: SHIFT_SIZES("ror"); break;
	case 2: SHIFT_SIZES("rcl"); break;
	case 3: SHIFT_SIZES("rcr"); break;
	case 5: SHIFT_SIZES("shr"); break;
	case 7: SHIFT_SIZES("sar"); break;
	default: SHIFT_SIZES("shl"); break;	/* /4, and /6 as KVM takes it */
	}
	e->vcpu->rflags = (e->vcpu->rflags & ~FLAGS_ARITH) | (fl & FLAGS_ARITH);
	return val & size_mask(size);
}

static int emu_exec_twobyte(struct emu *e)
{
	int size = e->opsize;
	u64 v;
	int r;

	switch (e->op) {
	case 0xb6: case 0xb7: case 0xbe: case 0xbf: {	/* movzx, movsx */
		int src = (e->op & 1) ? 2 : 1;

		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		r = emu_read(e, emu_rm_linear(e), &v, src);
		if (r)
			return r;
		if (e->op & 8)
			v = src == 1 ? (u64)(s8)v : (u64)(s16)v;
		reg_write(e, e->reg, size, v);
		emu_commit(e);
		return EMU_OK;
	}
	case 0x01:					/* lmsw m16 */
		if (decode_modrm(e) || e->mod == 3 || (e->reg & 7) != 6)
			return EMU_FAIL;
		if (kvmd_ops->get_cpl(e->vcpu)) {
			kvmd_queue_exception_e(e->vcpu, 13, 0);
			return EMU_FAULT;
		}
		r = emu_read(e, emu_rm_linear(e), &v, 2);
		if (r)
			return r;
		/* The low four bits; PE can be set, not cleared. */
		kvmd_ops->set_cr0(e->vcpu, (kvmd_ops->get_cr(e->vcpu, 0) & ~0xeULL) | (v & 0xf));
		emu_commit(e);
		return EMU_OK;
	case 0xb0: case 0xb1:				/* cmpxchg */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		return emu_rmw(e, e->op == 0xb0 ? 1 : size, fn_cmpxchg, true);
	case 0xc7:					/* cmpxchg8b; 16b as KVM: no */
		if (decode_modrm(e) || e->mod == 3 || (e->reg & 7) != 1 || size == 8)
			return EMU_FAIL;
		return emu_rmw(e, 8, fn_cmpxchg8b, true);
	case 0xc3:					/* movnti */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		goto store_reg;
	case 0xa3: case 0xab: case 0xb3: case 0xbb: {	/* bt/bts/btr/btc r/m, reg */
		s64 off;

		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		off = reg_read(e, e->reg, size);
		if (size == 2)
			off = (s16)off;
		else if (size == 4)
			off = (s32)off;
		/* The bit offset may reach outside the addressed operand. */
		e->ea += (off >> (size == 2 ? 4 : size == 4 ? 5 : 6)) * size;
		e->imm = off;
		e->reg = (e->op >> 3) & 3;
		return emu_rmw(e, size, fn_bt, e->op != 0xa3);
	}
	case 0xba:					/* bt* r/m, imm8 */
		if (decode_modrm(e) || e->mod == 3 || (e->reg & 7) < 4)
			return EMU_FAIL;
		if (emu_imm(e, 1, &e->imm))
			return EMU_FAIL;
		e->imm &= 0xff;
		return emu_rmw(e, size, fn_bt, (e->reg & 3) != 0);
	}
	return EMU_FAIL;

store_reg: {
		struct emu_span sp;

		r = emu_span(e, emu_rm_linear(e), size, true, &sp);
		if (r)
			return r;
		v = reg_read(e, e->reg, size);
		emu_commit(e);
		return emu_write(e, &sp, v, size);
	}
}

static __kvmd_hot int emu_exec(struct emu *e)
{
	u8 op = e->op;
	int size = (op & 1) ? e->opsize : 1;
	struct emu_span sp;
	u64 v;
	int r;

	if (e->twobyte)
		return emu_exec_twobyte(e);

	/* add/or/adc/sbb/and/sub/xor/cmp in their ModRM forms */
	if (op < 0x40 && (op & 7) < 4) {
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		if (op & 2) {			/* reg op= r/m */
			r = emu_read(e, emu_rm_linear(e), &v, size);
			if (r)
				return r;
			v = emu_alu(e, op >> 3, reg_read(e, e->reg, size), v, size);
			if ((op >> 3) != ALU_CMP)
				reg_write(e, e->reg, size, v);
			emu_commit(e);
			return EMU_OK;
		}
		return emu_rmw(e, size, fn_alu_rm_reg, (op >> 3) != ALU_CMP);
	}

	switch (op) {
	case 0x80: case 0x81: case 0x83:
		size = op == 0x80 ? 1 : e->opsize;
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		if (emu_imm(e, op == 0x81 ? emu_imm_size(e) : 1, &e->imm))
			return EMU_FAIL;
		return emu_rmw(e, size, fn_alu_imm, (e->reg & 7) != ALU_CMP);
	case 0x84: case 0x85:			/* test r/m, reg */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		r = emu_read(e, emu_rm_linear(e), &v, size);
		if (r)
			return r;
		emu_alu(e, ALU_AND, v, reg_read(e, e->reg, size), size);
		emu_commit(e);
		return EMU_OK;
	case 0x86: case 0x87:			/* xchg */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		return emu_rmw(e, size, fn_xchg, true);
	case 0x88: case 0x89:			/* mov r/m, reg */
	case 0xc6: case 0xc7:			/* mov r/m, imm */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		if (op >= 0xc6) {
			if ((e->reg & 7) || emu_imm(e, size == 1 ? 1 : emu_imm_size(e), &e->imm))
				return EMU_FAIL;
			v = e->imm;
		} else {
			v = reg_read(e, e->reg, size);
		}
		r = emu_span(e, emu_rm_linear(e), size, true, &sp);
		if (r)
			return r;
		emu_commit(e);
		return emu_write(e, &sp, v, size);
	case 0x8a: case 0x8b:			/* mov reg, r/m */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		r = emu_read(e, emu_rm_linear(e), &v, size);
		if (r)
			return r;
		reg_write(e, e->reg, size, v);
		emu_commit(e);
		return EMU_OK;
	case 0x63:				/* movsxd */
		if (!e->long64 || decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		r = emu_read(e, emu_rm_linear(e), &v, 4);
		if (r)
			return r;
		reg_write(e, e->reg, e->opsize, e->opsize == 8 ? (u64)(s32)v : v);
		emu_commit(e);
		return EMU_OK;
	case 0xa0: case 0xa1: case 0xa2: case 0xa3: {	/* mov acc, moffs */
		int seg = e->seg >= 0 ? e->seg : KVMD_SEG_DS;
		s64 off;

		if (emu_imm(e, e->adsize, &off))
			return EMU_FAIL;
		if (op < 0xa2) {
			r = emu_read(e, emu_linear(e, seg, off), &v, size);
			if (r)
				return r;
			reg_write(e, R_AX, size, v);
			emu_commit(e);
			return EMU_OK;
		}
		r = emu_span(e, emu_linear(e, seg, off), size, true, &sp);
		if (r)
			return r;
		v = reg_read(e, R_AX, size);
		emu_commit(e);
		return emu_write(e, &sp, v, size);
	}
	case 0xa4: case 0xa5: case 0xaa: case 0xab: case 0xac: case 0xad:
		return emu_string(e, size);
	case 0x6e: case 0x6f:			/* outs */
		return emu_outs(e, op == 0x6e ? 1 : e->opsize == 2 ? 2 : 4);
	case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		size = (op & 1) ? e->opsize : 1;	/* shifts and rotates */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		if (op <= 0xc1) {
			if (emu_imm(e, 1, &e->imm))
				return EMU_FAIL;
		} else {
			e->imm = op <= 0xd1 ? 1 : e->vcpu->regs[R_CX] & 0xff;
		}
		return emu_rmw(e, size, fn_shift, true);
	case 0xf6: case 0xf7:
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		switch (e->reg & 7) {
		case 0:				/* test r/m, imm */
			if (emu_imm(e, size == 1 ? 1 : emu_imm_size(e), &e->imm))
				return EMU_FAIL;
			r = emu_read(e, emu_rm_linear(e), &v, size);
			if (r)
				return r;
			emu_alu(e, ALU_AND, v, e->imm, size);
			emu_commit(e);
			return EMU_OK;
		case 2:
			return emu_rmw(e, size, fn_not, true);
		case 3:
			return emu_rmw(e, size, fn_neg, true);
		}
		return EMU_FAIL;
	case 0xfe: case 0xff:			/* inc, dec, push r/m */
		if (decode_modrm(e) || e->mod == 3)
			return EMU_FAIL;
		if (op == 0xff && (e->reg & 7) == 6) {
			size = emu_stack_opsize(e);
			r = emu_read(e, emu_rm_linear(e), &v, size);
			if (r)
				return r;
			return emu_push(e, v, size);
		}
		if ((e->reg & 7) > 1)
			return EMU_FAIL;
		return emu_rmw(e, size, fn_incdec, true);
	case 0x50 ... 0x5f: case 0x68: case 0x6a: case 0x8f: case 0x9c: case 0xe8:
		return emu_stack(e);
	}
	return EMU_FAIL;
}

/*
 * The memory side of a string IN, once userspace or a device gave the data
 * (in the PIO page): RAM is written at once; what is not RAM goes to the
 * in-kernel devices 8 bytes at a time, and from the first piece none takes,
 * to userspace, as KVM's emulator does it (a fragment a page, 8 bytes an
 * exit). Returns 0 (all stored), 1 (MMIO writes wait for
 * kvmd_string_mmio_exit), -EINVAL with @fault (a guest #PF is due) or
 * another -errno.
 */
int kvmd_string_in_store(struct kvmd_vcpu *vcpu, u64 gva, unsigned int len,
			 struct kvmd_walk_fault *fault)
{
	const u8 *data = kvmd_pio_data(vcpu);
	unsigned int access = KVMD_ACC_WRITE, off = 0;

	if (kvmd_ops->get_cpl(vcpu) == 3)
		access |= KVMD_ACC_USER;
	vcpu->mmio_str.n = 0;
	vcpu->mmio_str.cur = 0;
	while (off < len) {
		unsigned int n = min_t(unsigned int, len - off,
				       PAGE_SIZE - offset_in_page(gva));
		u64 gpa;
		int r;

		r = kvmd_gva_to_gpa(vcpu, gva, access, &gpa, fault);
		if (r)
			return r;
		r = kvmd_vcpu_write_guest(vcpu, gpa, data + off, n);
		if (r && r != -ENOENT)
			return r;
		gva += n;
		if (!r) {
			off += n;
			continue;
		}
		while (n) {
			unsigned int c = min_t(unsigned int, n, 8);

			if (!mmio_write_in_kernel(vcpu, gpa, data + off, c))
				break;
			gpa += c;
			off += c;
			n -= c;
		}
		if (!n)
			continue;
		/* A string IN stores at most a page: two fragments at most. */
		if (WARN_ON_ONCE(vcpu->mmio_str.n >= 2))
			return -EFAULT;
		vcpu->mmio_str.gpa[vcpu->mmio_str.n] = gpa;
		vcpu->mmio_str.len[vcpu->mmio_str.n] = n;
		vcpu->mmio_str.off[vcpu->mmio_str.n] = off;
		vcpu->mmio_str.n++;
		off += n;
	}
	return vcpu->mmio_str.n ? 1 : 0;
}

/* The next 8 bytes (or fewer) of a string IN's MMIO writes, as one exit. */
int kvmd_string_mmio_exit(struct kvmd_vcpu *vcpu)
{
	int i = vcpu->mmio_str.cur;
	unsigned int c = min_t(unsigned int, vcpu->mmio_str.len[i], 8);

	emu_mmio_exit(vcpu, vcpu->mmio_str.gpa[i], c,
		      (const u8 *)kvmd_pio_data(vcpu) + vcpu->mmio_str.off[i]);
	vcpu->mmio_str.gpa[i] += c;
	vcpu->mmio_str.off[i] += c;
	vcpu->mmio_str.len[i] -= c;
	if (!vcpu->mmio_str.len[i] && ++vcpu->mmio_str.cur >= vcpu->mmio_str.n)
		vcpu->mmio_str.n = 0;
	return KVMD_EXIT_USER;
}

/* Up to 15 instruction bytes at CS:RIP; fewer at the end of readable memory. */
__kvmd_hot int kvmd_fetch_insn(struct kvmd_vcpu *vcpu, u8 *buf, unsigned int *len)
{
	struct kvm_segment cs;
	u64 la;
	unsigned int first;

	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	la = (kvmd_long_mode(vcpu) && cs.l) ? vcpu->rip : (u32)(cs.base + vcpu->rip);
	*len = 0;
	first = min_t(unsigned int, 15, PAGE_SIZE - offset_in_page(la));
	if (kvmd_read_guest_virt(vcpu, la, buf, first, KVMD_ACC_FETCH, NULL))
		return -EFAULT;
	*len = first;
	if (first < 15 &&
	    !kvmd_read_guest_virt(vcpu, la + first, buf + first, 15 - first,
				  KVMD_ACC_FETCH, NULL))
		*len = 15;
	return 0;
}

/* Emulate the instruction at RIP after a guest access outside guest RAM. */
__kvmd_hot int kvmd_emulate_mmio(struct kvmd_vcpu *vcpu)
{
	struct emu e = { .vcpu = vcpu };
	int r;

	vcpu->mmio_used = 0;
	vcpu->mmio_str.n = 0;
	if (kvmd_fetch_insn(vcpu, e.b, &e.avail) || emu_decode_prefixes(&e)) {
		vcpu->mmio_cached = 0;
		return kvmd_emulation_failure(vcpu);
	}
	r = emu_exec(&e);
	switch (r) {
	case EMU_EXIT:
		return KVMD_EXIT_USER;
	case EMU_OK:
	case EMU_FAULT:
		vcpu->mmio_cached = 0;
		return KVMD_RESUME;
	default:
		vcpu->mmio_cached = 0;
		return kvmd_emulation_failure(vcpu);
	}
}
