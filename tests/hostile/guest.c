/* tests/hostile/guest.c: builds hostile guests: descriptor tables and page tables for each mode, then code from random operations. */
#include "guest.h"

const char *const mode_names[NR_MODES] = {
	"real", "pm16", "pm32", "pm32+paging", "pae", "long", "compat",
};

const char *const scenario_names[NR_SCENARIOS] = {
	"random bytes", "CR0/CR3/CR4/EFER writes", "MSR reads/writes",
	"DR writes", "port I/O", "MMIO", "descending stack", "triple fault",
	"SVM/VMX instructions", "exceptions", "random register state", "mix",
};

/* GDT selectors. */
#define SEL_CODE16	0x08
#define SEL_DATA16	0x10
#define SEL_CODE32	0x18
#define SEL_DATA32	0x20
#define SEL_CODE64	0x28
#define SEL_DATA64	0x30
#define SEL_TSS64	0x38	/* 16 bytes */
#define SEL_TSS_DF	0x48
#define SEL_TSS32	0x50
#define GDT_LIMIT	0x57

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI };

/* The code buffer and the operand size its instructions are decoded with. */
struct emit {
	uint8_t *p;
	uint8_t *end;
	int bits;
	bool full;
};

static void put(struct emit *e, const void *b, size_t n)
{
	if (e->full || e->p + n > e->end) {
		e->full = true;
		return;
	}
	memcpy(e->p, b, n);
	e->p += n;
}

static void b1(struct emit *e, uint8_t v)
{
	put(e, &v, 1);
}

#define BYTES(e, ...) do { \
	static const uint8_t _b[] = { __VA_ARGS__ }; \
	put(e, _b, sizeof(_b)); \
} while (0)

static void u16(struct emit *e, uint16_t v) { put(e, &v, 2); }
static void u32(struct emit *e, uint32_t v) { put(e, &v, 4); }
static void u64(struct emit *e, uint64_t v) { put(e, &v, 8); }

/* Prefixes that make an instruction use 32-bit operands / [ebx] addressing. */
static void osz32(struct emit *e) { if (e->bits == 16) b1(e, 0x66); }
static void osz16(struct emit *e) { if (e->bits != 16) b1(e, 0x66); }
static void asz32(struct emit *e) { if (e->bits == 16) b1(e, 0x67); }

static void mov_imm(struct emit *e, int reg, uint64_t v)
{
	if (e->bits == 64 && v > 0xffffffffULL) {
		b1(e, 0x48);
		b1(e, 0xb8 + reg);
		u64(e, v);
		return;
	}
	osz32(e);
	b1(e, 0xb8 + reg);
	u32(e, (uint32_t)v);
}

/* 64-bit code takes 64-bit CR/DR operands and 10-byte pseudo-descriptors. */
static void mov_cr(struct emit *e, int cr)
{
	if (cr >= 8) {
		if (e->bits == 64)
			b1(e, 0x44);
		else
			b1(e, 0xf0);	/* AMD's alternative encoding of CR8 */
	}
	BYTES(e, 0x0f, 0x22);
	b1(e, 0xc0 | (cr & 7) << 3);
}

static const uint32_t msr_list[] = {
	0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0xc1, 0xe7, 0xe8, 0xfe, 0x174, 0x175,
	0x176, 0x179, 0x17a, 0x1a0, 0x1d9, 0x1db, 0x200, 0x201, 0x20f, 0x250,
	0x258, 0x259, 0x268, 0x277, 0x2ff, 0x400, 0x401, 0x402, 0x403, 0x47f,
	0x480, 0x491, 0x6e0, 0x800, 0x802, 0x808, 0x80b, 0x830, 0x838, 0x83f,
	0x8ff, 0xda0, 0x10a, 0x122, 0xc0000080, 0xc0000081, 0xc0000082,
	0xc0000083, 0xc0000084, 0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
	0xc0010000, 0xc0010004, 0xc0010010, 0xc0010015, 0xc0010055, 0xc0010114,
	0xc0010117, 0xc0010140, 0xc0010141, 0xc0010200, 0xc001020b, 0xc0011020,
	0xc0011022, 0xc0011029, 0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03,
	0x4b564d04, 0x4b564d05, 0x4b564d06, 0x4b564d07, 0x11, 0x12, 0x40000000,
	0x40000001, 0x40000020, 0x40000073, 0x400000ff, 0xc0000104,
};

static uint32_t pick_msr(struct rng *r)
{
	uint32_t base;

	switch (rng_below(r, 6)) {
	case 0: return (uint32_t)rng_next(r);
	case 1:
		base = msr_list[rng_below(r, sizeof(msr_list) / sizeof(msr_list[0]))];
		return base + rng_below(r, 16) - 8;
	default:
		return msr_list[rng_below(r, sizeof(msr_list) / sizeof(msr_list[0]))];
	}
}

uint64_t guest_addr(struct rng *r, int bits)
{
	static const uint64_t pages[] = {
		0xfee00000, 0xfec00000, 0xfed00000, 0xfeb00000, 0xfffff000,
		0xa0000, 0xb8000, 0xf0000, G_RAM, 0x110000, 0x100000000ULL,
		0x80000000, 0xc0000000, 0xe0000000,
	};
	uint64_t a;

	switch (rng_below(r, 8)) {
	case 0:
		a = rng_next(r);
		break;
	case 1:	/* an edge of RAM or a slot: operands that straddle it */
		a = (rng_chance(r, 2) ? G_RAM : 0x110000) - rng_below(r, 16);
		break;
	case 2:
		a = G_CODE + rng_below(r, 0x2000);
		break;
	case 3:
		a = rng_below(r, G_RAM);
		break;
	default:
		a = pages[rng_below(r, sizeof(pages) / sizeof(pages[0]))] +
		    (rng_chance(r, 2) ? rng_below(r, 0x1000) & ~3U : rng_below(r, 0x400) * 4);
	}
	if (bits < 64)
		a = (uint32_t)a;
	return a;
}

static uint16_t pick_port(struct rng *r)
{
	static const uint16_t ports[] = {
		0x20, 0x21, 0xa0, 0xa1, 0x40, 0x41, 0x42, 0x43, 0x61, 0x4d0, 0x4d1,
		0x70, 0x71, 0x80, 0x92, 0xcf8, 0xcfc, 0x3f8, 0x3fd, 0x60, 0x64,
		0x510, 0x511, 0xb2, 0x402, 0xe9, 0xffff, 0x0, 0x1ce, 0x3c0,
	};

	if (rng_chance(r, 3))
		return (uint16_t)rng_next(r);
	return ports[rng_below(r, sizeof(ports) / sizeof(ports[0]))] + (rng_chance(r, 4) ? 1 : 0);
}

static uint64_t legit_cr(struct guest *g, int cr)
{
	switch (cr) {
	case 0: return g->sregs.cr0;
	case 3: return g->sregs.cr3;
	case 4: return g->sregs.cr4;
	default: return 0;
	}
}

static uint64_t flip(struct rng *r, uint64_t v)
{
	int n = 1 + rng_below(r, 3);

	while (n--)
		v ^= 1ULL << rng_below(r, rng_chance(r, 2) ? 32 : 64);
	return v;
}

/* EFER and CR4 values kept clear of tcg_vmexit_hazard: LME as the mode set it, PAE kept where LME is. */
static uint64_t efer_tcg_safe(const struct guest *g, uint64_t v)
{
	return (v & ~H_EFER_LME) | (g->sregs.efer & H_EFER_LME);
}

static uint64_t cr4_tcg_safe(const struct guest *g, uint64_t v)
{
	return g->sregs.efer & H_EFER_LME ? v | H_CR4_PAE : v;
}

static void op_cr(struct guest *g, struct emit *e, struct rng *r)
{
	static const int crs[] = { 0, 0, 3, 4, 4, 8, 2, 1, 5, 6, 7, 9, 15 };
	int cr = crs[rng_below(r, sizeof(crs) / sizeof(crs[0]))];
	uint64_t v;

	if (rng_chance(r, 4)) {	/* EFER */
		v = rng_chance(r, 2) ? flip(r, g->sregs.efer) : rng_value(r);
		v = efer_tcg_safe(g, v);
		mov_imm(e, RCX, 0xc0000080);
		mov_imm(e, RAX, (uint32_t)v);
		mov_imm(e, RDX, v >> 32);
		BYTES(e, 0x0f, 0x30);
		return;
	}
	switch (rng_below(r, 8)) {
	case 0:
		BYTES(e, 0x0f, 0x01, 0xf0);	/* lmsw ax */
		return;
	case 1:
		BYTES(e, 0x0f, 0x06);		/* clts */
		return;
	case 2:					/* read it back */
		BYTES(e, 0x0f, 0x20);
		b1(e, 0xc0 | (cr & 7) << 3);
		return;
	}
	v = rng_chance(r, 2) ? flip(r, legit_cr(g, cr)) : rng_value(r);
	if (cr == 4)
		v = cr4_tcg_safe(g, v);
	mov_imm(e, RAX, v);
	mov_cr(e, cr);
}

static void op_msr(struct guest *g, struct emit *e, struct rng *r)
{
	uint64_t v = rng_value(r);
	uint32_t msr = pick_msr(r);

	if (msr == 0xc0000080)
		v = efer_tcg_safe(g, v);
	mov_imm(e, RCX, msr);
	mov_imm(e, RAX, (uint32_t)v);
	mov_imm(e, RDX, v >> 32);
	BYTES(e, 0x0f);
	b1(e, rng_chance(r, 2) ? 0x30 : 0x32);
}

static void op_dr(struct emit *e, struct rng *r)
{
	int dr = rng_below(r, 8);
	uint64_t v = rng_chance(r, 3) ? guest_addr(r, e->bits) : rng_value(r);

	mov_imm(e, RAX, dr >= 5 ? dr7_tcg_safe(v) : v);
	BYTES(e, 0x0f);
	b1(e, rng_chance(r, 4) ? 0x21 : 0x23);
	b1(e, 0xc0 | dr << 3);
}

static void io_size_prefix(struct emit *e, int size)
{
	if (size == 2)
		osz16(e);
	else if (size == 4)
		osz32(e);
}

static void op_io(struct emit *e, struct rng *r)
{
	int size = 1 << rng_below(r, 3);
	bool out = rng_chance(r, 2);
	uint32_t count;

	mov_imm(e, RDX, pick_port(r));
	mov_imm(e, RAX, rng_next(r));
	switch (rng_below(r, 4)) {
	case 0:		/* port as immediate */
		io_size_prefix(e, size);
		b1(e, (out ? 0xe6 : 0xe4) | (size > 1));
		b1(e, (uint8_t)rng_next(r));
		break;
	case 1:		/* ins/outs, maybe rep, through memory that may be MMIO */
		count = rng_chance(r, 4) ? (uint32_t)rng_value(r) : rng_below(r, 64);
		mov_imm(e, RCX, count);
		mov_imm(e, out ? RSI : RDI, guest_addr(r, e->bits));
		b1(e, rng_chance(r, 4) ? 0xfd : 0xfc);	/* std / cld */
		asz32(e);
		io_size_prefix(e, size);
		if (rng_chance(r, 2))
			b1(e, 0xf3);
		b1(e, (out ? 0x6e : 0x6c) | (size > 1));
		break;
	default:
		io_size_prefix(e, size);
		b1(e, (out ? 0xee : 0xec) | (size > 1));
	}
}

static void op_mmio(struct emit *e, struct rng *r)
{
	static const uint8_t forms[][6] = {
		/* length, then opcode bytes; the ModRM is [ebx] (03) or reg+[ebx] */
		{ 2, 0x89, 0x03 },		/* mov [ebx], eax */
		{ 2, 0x8b, 0x03 },		/* mov eax, [ebx] */
		{ 2, 0x88, 0x03 },		/* mov [ebx], al */
		{ 3, 0xc6, 0x03, 0x5a },	/* mov byte [ebx], 0x5a */
		{ 2, 0x01, 0x03 },		/* add [ebx], eax */
		{ 2, 0x87, 0x03 },		/* xchg [ebx], eax */
		{ 4, 0xf0, 0x0f, 0xb1, 0x0b },	/* lock cmpxchg [ebx], ecx */
		{ 3, 0x0f, 0xb7, 0x03 },	/* movzx eax, word [ebx] */
		{ 2, 0x85, 0x03 },		/* test [ebx], eax */
		{ 2, 0xff, 0x33 },		/* push [ebx] */
		{ 2, 0x8f, 0x03 },		/* pop [ebx] */
		{ 3, 0x0f, 0xc7, 0x0b },	/* cmpxchg8b [ebx] */
		{ 4, 0xf3, 0x0f, 0x6f, 0x03 },	/* movdqu xmm0, [ebx] */
		{ 4, 0xf3, 0x0f, 0x7f, 0x03 },	/* movdqu [ebx], xmm0 */
		{ 2, 0xd9, 0x03 },		/* fld dword [ebx] */
		{ 3, 0x0f, 0xa3, 0x03 },	/* bt [ebx], eax */
		{ 3, 0x0f, 0xae, 0x3b },	/* clflush [ebx] */
		{ 3, 0x0f, 0xc3, 0x03 },	/* movnti [ebx], eax */
		{ 4, 0xc5, 0xfe, 0x6f, 0x03 },	/* vmovdqu ymm0, [ebx] */
		{ 3, 0x0f, 0xae, 0x23 },	/* xsave [ebx] */
		{ 3, 0x0f, 0xae, 0x0b },	/* fxrstor [ebx] */
		{ 2, 0xf3, 0xa5 },		/* rep movsd */
		{ 2, 0xf3, 0xab },		/* rep stosd */
		{ 1, 0xa4 },			/* movsb */
	};
	const uint8_t *f = forms[rng_below(r, sizeof(forms) / sizeof(forms[0]))];
	uint64_t a = guest_addr(r, e->bits);

	mov_imm(e, RBX, a);
	mov_imm(e, RAX, rng_next(r));
	if (f[1] == 0xf3 || f[1] == 0xa4) {	/* string forms: esi/edi/ecx */
		mov_imm(e, RDI, a);
		mov_imm(e, RSI, rng_chance(r, 2) ? guest_addr(r, e->bits) : G_DATA);
		mov_imm(e, RCX, rng_chance(r, 4) ? (uint32_t)rng_value(r) : rng_below(r, 32));
	}
	asz32(e);
	switch (rng_below(r, 4)) {
	case 0: osz16(e); break;
	case 1: if (e->bits == 64) b1(e, 0x48); break;
	}
	put(e, f + 1, f[0]);
}

static void op_stack(struct emit *e, struct rng *r)
{
	uint64_t sp;

	switch (rng_below(r, 4)) {
	case 0: sp = G_STACK; break;
	case 1: sp = G_RAM + rng_below(r, 4) * 4; break;	/* just above RAM */
	case 2: sp = 0x1000 * rng_below(r, 16); break;	/* through the tables */
	default: sp = guest_addr(r, e->bits);
	}
	mov_imm(e, RSP, sp);
	if (rng_chance(r, 3)) {		/* a big stride first */
		if (e->bits == 64)
			b1(e, 0x48);
		else
			osz32(e);
		b1(e, 0x81);
		b1(e, 0xec);
		u32(e, 0x1000 << rng_below(r, 12));
	}
	switch (rng_below(r, 4)) {
	case 0:
		BYTES(e, 0x50, 0xeb, 0xfd);		/* push; jmp back */
		break;
	case 1:					/* call itself */
		b1(e, 0xe8);
		if (e->bits == 16)
			u16(e, 0xfffd);
		else
			u32(e, 0xfffffffb);
		break;
	case 2:
		BYTES(e, 0xcc);				/* int3 onto that stack */
		break;
	default:
		BYTES(e, 0x9c, 0xeb, 0xfd);		/* pushf; jmp back */
	}
}

/* The pseudo-descriptor at G_DATA with a zero limit: any exception is fatal. */
static void op_triple(struct emit *e, struct rng *r)
{
	static const uint8_t faults[][3] = {
		{ 2, 0x0f, 0x0b }, { 1, 0xcc }, { 2, 0xcd, 0x0d }, { 2, 0xf7, 0xf1 },
		{ 1, 0xcf }, { 2, 0x0f, 0x01 },
	};
	const uint8_t *f = faults[rng_below(r, sizeof(faults) / sizeof(faults[0]))];

	mov_imm(e, RBX, G_DATA);
	mov_imm(e, RCX, 0);
	asz32(e);
	if (rng_chance(r, 3))
		BYTES(e, 0x0f, 0x01, 0x13);	/* lgdt: every selector is bad now */
	else
		BYTES(e, 0x0f, 0x01, 0x1b);	/* lidt */
	put(e, f + 1, f[0]);
}

static void op_virt(struct guest *g, struct emit *e, struct rng *r)
{
	static const uint8_t insns[][6] = {
		{ 3, 0x0f, 0x01, 0xd8 },		/* vmrun */
		{ 3, 0x0f, 0x01, 0xd9 },		/* vmmcall */
		{ 3, 0x0f, 0x01, 0xda },		/* vmload */
		{ 3, 0x0f, 0x01, 0xdb },		/* vmsave */
		{ 3, 0x0f, 0x01, 0xdc },		/* stgi */
		{ 3, 0x0f, 0x01, 0xdd },		/* clgi */
		{ 3, 0x0f, 0x01, 0xde },		/* skinit */
		{ 3, 0x0f, 0x01, 0xdf },		/* invlpga */
		{ 3, 0x0f, 0x01, 0xc1 },		/* vmcall */
		{ 3, 0x0f, 0x01, 0xc2 },		/* vmlaunch */
		{ 3, 0x0f, 0x01, 0xc3 },		/* vmresume */
		{ 3, 0x0f, 0x01, 0xc4 },		/* vmxoff */
		{ 3, 0x0f, 0x01, 0xd4 },		/* vmfunc */
		{ 4, 0xf3, 0x0f, 0xc7, 0x33 },		/* vmxon [ebx] */
		{ 3, 0x0f, 0xc7, 0x33 },		/* vmptrld [ebx] */
		{ 4, 0x66, 0x0f, 0xc7, 0x33 },		/* vmclear [ebx] */
		{ 3, 0x0f, 0x78, 0xc3 },		/* vmread ebx, eax */
		{ 3, 0x0f, 0x79, 0xd8 },		/* vmwrite ebx, eax */
		{ 5, 0x66, 0x0f, 0x38, 0x80, 0x03 },	/* invept */
		{ 2, 0x0f, 0x37 },			/* getsec */
		{ 3, 0x0f, 0x01, 0xfd },		/* rdpru */
		{ 2, 0x0f, 0xaa },			/* rsm */
	};
	const uint8_t *f = insns[rng_below(r, sizeof(insns) / sizeof(insns[0]))];
	uint64_t rax;

	if (rng_chance(r, 2)) {		/* EFER.SVME, then CR4.VMXE */
		mov_imm(e, RCX, 0xc0000080);
		BYTES(e, 0x0f, 0x32);
		osz32(e);
		b1(e, 0x0d);
		u32(e, 0x1000);
		BYTES(e, 0x0f, 0x30);
		BYTES(e, 0x0f, 0x20, 0xe0);
		osz32(e);
		b1(e, 0x0d);
		u32(e, 0x2000);
		BYTES(e, 0x0f, 0x22, 0xe0);
	}
	/* A VMCB/VMXON region of random bytes in RAM, or a hypercall number. */
	rng_fill(r, g->mem + G_DATA + 0x100, 0x700);
	code_tcg_safe(g->mem + G_DATA + 0x100, 0x700);
	g->mem[G_DATA + 0x560] = 0;	/* a VMCB's DR7 enables: see dr7_tcg_safe */
	switch (rng_below(r, 4)) {
	case 0: rax = G_DATA; break;
	case 1: rax = rng_below(r, 13); break;
	default: rax = rng_chance(r, 2) ? guest_addr(r, e->bits) : rng_value(r);
	}
	mov_imm(e, RAX, rax);
	mov_imm(e, RBX, rng_chance(r, 2) ? G_DATA + 0x100 : guest_addr(r, e->bits));
	mov_imm(e, RCX, rng_value(r));
	mov_imm(e, RDX, rng_value(r));
	mov_imm(e, RSI, rng_value(r));
	asz32(e);
	put(e, f + 1, f[0]);
}

static void op_exc(struct emit *e, struct rng *r)
{
	static const uint8_t insns[][5] = {
		{ 2, 0x0f, 0x0b }, { 1, 0xcc }, { 1, 0xce }, { 1, 0xf1 },
		{ 2, 0xf7, 0xf1 }, { 2, 0xf0, 0x90 }, { 1, 0xcf }, { 1, 0xcb },
		{ 2, 0x8e, 0xd0 }, { 2, 0x8e, 0xd8 }, { 3, 0x0f, 0x01, 0x13 },
		{ 3, 0x0f, 0x00, 0xd0 }, { 3, 0x0f, 0x00, 0xd8 },
		{ 3, 0x0f, 0x01, 0x3b }, { 2, 0x0f, 0x09 }, { 2, 0x0f, 0x08 },
		{ 2, 0x0f, 0x34 }, { 2, 0x0f, 0x35 }, { 2, 0x0f, 0x05 },
		{ 2, 0x0f, 0x07 }, { 3, 0x0f, 0x01, 0xf8 }, { 3, 0x0f, 0x01, 0xf9 },
		{ 2, 0x0f, 0x33 }, { 2, 0x0f, 0x31 }, { 2, 0x0f, 0xa2 },
		{ 3, 0x0f, 0x01, 0xd1 }, { 3, 0x0f, 0x01, 0xd0 },
		{ 3, 0x0f, 0x01, 0xc8 }, { 3, 0x0f, 0x01, 0xc9 }, { 2, 0xf3, 0x90 },
		{ 3, 0x0f, 0xc7, 0xf0 }, { 3, 0x0f, 0x01, 0xef },
		{ 3, 0x0f, 0x01, 0xee }, { 3, 0x0f, 0xae, 0x2b },
		{ 3, 0x0f, 0xae, 0x13 }, { 1, 0x9d }, { 2, 0xff, 0x2b },
		{ 2, 0xff, 0x1b }, { 1, 0xf4 }, { 2, 0xfa, 0xf4 }, { 2, 0xfb, 0xf4 },
		{ 3, 0x0f, 0x01, 0xca }, { 1, 0xc3 }, { 2, 0xcd, 0x80 },
	};
	const uint8_t *f = insns[rng_below(r, sizeof(insns) / sizeof(insns[0]))];

	mov_imm(e, RAX, rng_value(r));
	mov_imm(e, RCX, rng_chance(r, 2) ? 0 : rng_value(r));
	mov_imm(e, RDX, rng_value(r));
	mov_imm(e, RBX, rng_chance(r, 2) ? G_DATA + 0x100 : guest_addr(r, e->bits));
	if (f[1] == 0x9d || f[1] == 0xcf) {	/* flags from the stack: TF, NT, AC */
		osz32(e);
		b1(e, 0x68);
		u32(e, (uint32_t)flip(r, 0x202));
	}
	if (f[1] == 0xcd && f[0] == 2) {
		b1(e, 0xcd);
		b1(e, (uint8_t)rng_next(r));
		return;
	}
	asz32(e);
	put(e, f + 1, f[0]);
}

static void op_bytes(struct emit *e, struct rng *r)
{
	uint8_t buf[64];
	size_t n = 1 + rng_below(r, sizeof(buf));

	rng_fill(r, buf, n);
	code_tcg_safe(buf, n);
	put(e, buf, n);
}

static void op_any(struct guest *g, struct emit *e, struct rng *r)
{
	switch (rng_below(r, 9)) {
	case 0: op_cr(g, e, r); break;
	case 1: op_msr(g, e, r); break;
	case 2: op_dr(e, r); break;
	case 3: op_io(e, r); break;
	case 4: op_mmio(e, r); break;
	case 5: op_virt(g, e, r); break;
	case 6: op_exc(e, r); break;
	case 7: op_bytes(e, r); break;
	default: if (rng_chance(r, 4)) op_stack(e, r); else op_mmio(e, r);
	}
}

static uint64_t seg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
	return (limit & 0xffff) | (uint64_t)(base & 0xffffff) << 16 |
	       (uint64_t)access << 40 | (uint64_t)((limit >> 16) & 0xf) << 48 |
	       (uint64_t)(flags & 0xf) << 52 | (uint64_t)(base >> 24) << 56;
}

static struct kvm_segment seg(uint16_t sel, uint32_t limit, uint8_t type, bool db, bool l, bool g)
{
	struct kvm_segment s = {
		.base = 0, .limit = limit, .selector = sel, .type = type,
		.present = 1, .s = 1, .db = db, .l = l, .g = g,
	};
	return s;
}

static void build_tables(struct guest *g, struct rng *r)
{
	uint64_t *gdt = (uint64_t *)(g->mem + G_GDT);
	uint8_t *idt = g->mem + G_IDT;
	uint32_t *tss = (uint32_t *)(g->mem + G_TSS);
	uint32_t *dft = (uint32_t *)(g->mem + G_TSS_DF);
	int v, kind = rng_below(r, 8);

	gdt[0] = 0;
	gdt[SEL_CODE16 / 8] = seg_desc(0, 0xffff, 0x9b, 0x0);
	gdt[SEL_DATA16 / 8] = seg_desc(0, 0xffff, 0x93, 0x0);
	gdt[SEL_CODE32 / 8] = seg_desc(0, 0xfffff, 0x9b, 0xc);
	gdt[SEL_DATA32 / 8] = seg_desc(0, 0xfffff, 0x93, 0xc);
	gdt[SEL_CODE64 / 8] = seg_desc(0, 0xfffff, 0x9b, 0xa);
	gdt[SEL_DATA64 / 8] = seg_desc(0, 0xfffff, 0x93, 0xc);
	gdt[SEL_TSS64 / 8] = seg_desc(G_TSS, 0x67, 0x8b, 0);
	gdt[SEL_TSS64 / 8 + 1] = 0;
	gdt[SEL_TSS_DF / 8] = seg_desc(G_TSS_DF, 0x67, 0x89, 0);
	gdt[SEL_TSS32 / 8] = seg_desc(G_TSS, 0x67, 0x8b, 0);

	/* Handler stubs: mov al, vector; out PORT_VECTOR, al; hlt; jmp to hlt. */
	for (v = 0; v < 256; v++) {
		uint8_t *s = g->mem + G_STUBS + v * 16;

		s[0] = 0xb0; s[1] = v; s[2] = 0xe6; s[3] = PORT_VECTOR;
		s[4] = 0xf4; s[5] = 0xeb; s[6] = 0xfd;
	}
	/* Real-mode IVT at 0: vector v at 0000:stub. */
	for (v = 0; v < 256; v++)
		((uint32_t *)g->mem)[v] = G_STUBS + v * 16;

	/* 32-bit TSS (the 64-bit one shares the page: RSP0 and IST1 overlap). */
	tss[1] = G_STACK;		/* esp0 / rsp0 low */
	tss[2] = SEL_DATA32;		/* ss0 */
	tss[9] = G_IST;			/* ist1 low (offset 0x24) */
	memset(dft, 0, 0x68);
	dft[7] = (uint32_t)g->sregs.cr3;
	dft[8] = G_STUBS + 8 * 16;
	dft[9] = 2;
	dft[14] = G_IST;
	dft[18] = SEL_DATA32; dft[19] = SEL_CODE32; dft[20] = SEL_DATA32;
	dft[21] = SEL_DATA32; dft[22] = SEL_DATA32; dft[23] = SEL_DATA32;
	dft[25] = 0x68 << 16;

	for (v = 0; v < 256; v++) {
		uint32_t h = G_STUBS + v * 16;
		uint64_t lo;

		switch (g->mode) {
		case MODE_LONG:
		case MODE_COMPAT:
			lo = (h & 0xffff) | (uint64_t)SEL_CODE64 << 16 | 0x8eULL << 40 |
			     (uint64_t)(h >> 16) << 48;
			if (v == 8 && kind >= 4)
				lo |= 1ULL << 32;		/* #DF on IST1 */
			memcpy(idt + v * 16, &lo, 8);
			memset(idt + v * 16 + 8, 0, 8);
			break;
		case MODE_PM16:
			lo = (h & 0xffff) | (uint64_t)SEL_CODE16 << 16 | 0x86ULL << 40;
			memcpy(idt + v * 8, &lo, 8);
			break;
		default:
			lo = (h & 0xffff) | (uint64_t)SEL_CODE32 << 16 | 0x8eULL << 40 |
			     (uint64_t)(h >> 16) << 48;
			if (v == 8 && kind >= 4)
				lo = (uint64_t)SEL_TSS_DF << 16 | 0x85ULL << 40;
			memcpy(idt + v * 8, &lo, 8);
		}
	}
	/* Some IDTs are partly or wholly hostile too. */
	if (kind == 1)
		rng_fill(r, idt, 4096);
	else if (kind == 2)
		for (v = 0; v < 32; v++)
			idt[v * (g->mode >= MODE_LONG ? 16 : 8) + 5] &= rng_chance(r, 2) ? 0x7f : 0xff;
	g->sregs.idt.base = g->mode == MODE_REAL ? 0 : G_IDT;
	g->sregs.idt.limit = g->mode == MODE_REAL ? 0x3ff :
			     g->mode >= MODE_LONG ? 256 * 16 - 1 : 256 * 8 - 1;
	if (kind == 3)
		g->sregs.idt.limit = 0;	/* the first exception is a triple fault */
	g->sregs.gdt.base = G_GDT;
	g->sregs.gdt.limit = GDT_LIMIT;
}

/* Identity maps of the 4 GiB with large pages, with random holes. */
static void build_paging(struct guest *g, struct rng *r)
{
	uint32_t *pd32 = (uint32_t *)(g->mem + G_PT);
	uint64_t *pml4 = (uint64_t *)(g->mem + G_PT);
	uint64_t *pdpt = (uint64_t *)(g->mem + G_PT + 0x1000);
	int i, j, holes = rng_chance(r, 2) ? rng_below(r, 64) : 0;

	switch (g->mode) {
	case MODE_PM32_PAGING:
		for (i = 0; i < 1024; i++)
			pd32[i] = (uint32_t)i << 22 | 0x87;
		for (i = 0; i < holes; i++)
			pd32[1 + rng_below(r, 1023)] = 0;
		g->sregs.cr3 = G_PT;
		return;
	case MODE_PAE:
		pdpt = (uint64_t *)(g->mem + G_PT + 0x1000);
		g->sregs.cr3 = G_PT + 0x1000;
		for (i = 0; i < 4; i++)
			pdpt[i] = (G_PT + 0x2000 + i * 0x1000) | 1;
		break;
	case MODE_LONG:
	case MODE_COMPAT:
		memset(pml4, 0, 4096);
		memset(pdpt, 0, 4096);
		pml4[0] = (G_PT + 0x1000) | 7;
		if (rng_chance(r, 4))
			pml4[511] = (G_PT + 0x1000) | 7;
		for (i = 0; i < 4; i++)
			pdpt[i] = (G_PT + 0x2000 + i * 0x1000) | 7;
		/* 1 GiB pages to anywhere, even past MAXPHYADDR. */
		for (i = 4; i < 8; i++)
			if (rng_chance(r, 2))
				pdpt[i] = (rng_next(r) & 0x000fffffc0000000ULL) | 0x87;
		g->sregs.cr3 = G_PT;
		break;
	default:
		return;
	}
	for (i = 0; i < 4; i++) {
		uint64_t *pd = (uint64_t *)(g->mem + G_PT + 0x2000 + i * 0x1000);

		for (j = 0; j < 512; j++)
			pd[j] = ((uint64_t)i << 30) + ((uint64_t)j << 21) + 0x87;
	}
	for (i = 0; i < holes; i++)
		((uint64_t *)(g->mem + G_PT + 0x2000))[1 + rng_below(r, 2047)] = 0;
}

static void set_mode(struct guest *g)
{
	struct kvm_sregs *s = &g->sregs;
	struct kvm_segment d;

	s->cr0 = 0x60000010;
	s->cr4 = 0;
	s->efer = 0;
	switch (g->mode) {
	case MODE_REAL:
		s->cs = seg(0, 0xffff, 0xb, 0, 0, 0);
		d = seg(0, 0xffff, 3, 0, 0, 0);
		break;
	case MODE_PM16:
		s->cs = seg(SEL_CODE16, 0xffff, 0xb, 0, 0, 0);
		d = seg(SEL_DATA16, 0xffff, 3, 0, 0, 0);
		break;
	case MODE_LONG:
		s->cs = seg(SEL_CODE64, 0xffffffff, 0xb, 0, 1, 1);
		d = seg(SEL_DATA64, 0xffffffff, 3, 1, 0, 1);
		break;
	default:
		s->cs = seg(SEL_CODE32, 0xffffffff, 0xb, 1, 0, 1);
		d = seg(SEL_DATA32, 0xffffffff, 3, 1, 0, 1);
	}
	s->ds = s->es = s->fs = s->gs = s->ss = d;
	if (g->mode != MODE_REAL)
		s->cr0 |= 0x11;
	if (g->mode >= MODE_PM32_PAGING)
		s->cr0 = 0x80000011 | (s->cr0 & 0x60000000);
	if (g->mode == MODE_PM32_PAGING)
		s->cr4 = 0x10;
	if (g->mode >= MODE_PAE)
		s->cr4 = 0x20;
	if (g->mode >= MODE_LONG) {
		s->efer = 0x500;
		s->tr.base = G_TSS;
		s->tr.limit = 0x67;
		s->tr.selector = SEL_TSS64;
		s->tr.type = 11;
		s->tr.present = 1;
		s->tr.s = 0;
	} else if (g->mode >= MODE_PM32) {
		s->tr.base = G_TSS;
		s->tr.limit = 0x67;
		s->tr.selector = SEL_TSS32;
		s->tr.type = 11;
		s->tr.present = 1;
		s->tr.s = 0;
	}
}

void guest_build(struct guest *g, struct rng *r)
{
	struct emit e = { .p = g->mem + G_CODE, .end = g->mem + G_CODE_END };
	int n, i;

	memset(g->mem, 0, G_RAM);
	set_mode(g);
	build_paging(g, r);
	build_tables(g, r);
	/* Pseudo-descriptor with limit 0 at G_DATA for op_triple. */
	memset(g->mem + G_DATA, 0, 16);
	e.bits = g->mode == MODE_LONG ? 64 : g->mode <= MODE_PM16 ? 16 : 32;
	if (g->mode == MODE_REAL && rng_chance(r, 3)) {	/* big real mode */
		g->sregs.ds.limit = g->sregs.es.limit = 0xffffffff;
		g->sregs.ds.g = g->sregs.es.g = 1;
	}
	memset(&g->regs, 0, sizeof(g->regs));
	g->regs.rip = G_CODE;
	g->regs.rsp = G_STACK;
	g->regs.rflags = 2;

	switch (g->scenario) {
	case SC_BYTES:
		rng_fill(r, g->mem + G_CODE, G_CODE_END - G_CODE);
		code_tcg_safe(g->mem + G_CODE, G_CODE_END - G_CODE);
		return;
	case SC_CR:
		for (n = 1 + rng_below(r, 8), i = 0; i < n; i++)
			op_cr(g, &e, r);
		break;
	case SC_MSR:
		for (n = 1 + rng_below(r, 16), i = 0; i < n; i++)
			op_msr(g, &e, r);
		break;
	case SC_DR:
		for (n = 1 + rng_below(r, 8), i = 0; i < n; i++)
			op_dr(&e, r);
		if (rng_chance(r, 2))
			op_mmio(&e, r);
		break;
	case SC_IO:
		for (n = 1 + rng_below(r, 16), i = 0; i < n; i++)
			op_io(&e, r);
		break;
	case SC_MMIO:
		for (n = 1 + rng_below(r, 16), i = 0; i < n; i++)
			op_mmio(&e, r);
		break;
	case SC_STACK:
		if (rng_chance(r, 2))
			op_exc(&e, r);
		op_stack(&e, r);
		break;
	case SC_TRIPLE:
		op_triple(&e, r);
		break;
	case SC_VIRT:
		for (n = 1 + rng_below(r, 4), i = 0; i < n; i++)
			op_virt(g, &e, r);
		break;
	case SC_EXC:
		for (n = 1 + rng_below(r, 8), i = 0; i < n; i++)
			op_exc(&e, r);
		break;
	default:
		for (n = 1 + rng_below(r, 24), i = 0; i < n; i++)
			op_any(g, &e, r);
	}
	/* The end: report done and halt, then garbage if a jump lands past it. */
	BYTES(&e, 0xb0, 0xaa, 0xe6, PORT_DONE, 0xf4);
	if (!e.full) {
		rng_fill(r, e.p, e.end - e.p);
		code_tcg_safe(e.p, e.end - e.p);
	}
}

static void mutate_seg(struct kvm_segment *s, struct rng *r)
{
	switch (rng_below(r, 10)) {
	case 0: s->base = rng_value(r); break;
	case 1: s->limit = (uint32_t)rng_value(r); break;
	case 2: s->selector = (uint16_t)rng_next(r); break;
	case 3: s->type = rng_below(r, 16); break;
	case 4: s->present ^= 1; break;
	case 5: s->dpl = rng_below(r, 4); break;
	case 6: s->db ^= 1; break;
	case 7: s->s ^= 1; break;
	case 8: s->l ^= 1; break;
	default: s->unusable ^= 1;
	}
}

void guest_mutate_state(struct guest *g, struct rng *r)
{
	struct kvm_sregs *s = &g->sregs;
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs, &s->gs,
				       &s->ss, &s->tr, &s->ldt };
	int n = 1 + rng_below(r, 6);

	while (n--) {
		switch (rng_below(r, 14)) {
		case 0: case 1: case 2:
			mutate_seg(segs[rng_below(r, 8)], r);
			break;
		case 3: s->cr0 = rng_chance(r, 2) ? flip(r, s->cr0) : rng_value(r); break;
		case 4: s->cr3 = rng_chance(r, 2) ? flip(r, s->cr3) : rng_value(r); break;
		case 5: s->cr4 = rng_chance(r, 2) ? flip(r, s->cr4) : rng_value(r); break;
		case 6: s->efer = rng_chance(r, 2) ? flip(r, s->efer) : rng_value(r); break;
		case 7: s->cr8 = rng_value(r); break;
		case 8: s->apic_base = rng_chance(r, 2) ? flip(r, 0xfee00900) : rng_value(r); break;
		case 9:
			s->interrupt_bitmap[rng_below(r, 4)] |= 1ULL << rng_below(r, 64);
			break;
		case 10:
			s->gdt.base = rng_value(r);
			s->gdt.limit = (uint16_t)rng_next(r);
			break;
		case 11:
			s->idt.base = rng_value(r);
			s->idt.limit = (uint16_t)rng_next(r);
			break;
		case 12: g->regs.rflags = rng_value(r); break;
		default:
			if (rng_chance(r, 2))
				g->regs.rip = rng_value(r);
			else
				g->regs.rsp = rng_value(r);
		}
	}
}
