/* tests/driver/t_taskswitch.c: hardware task switches in a 32-bit guest: JMP, CALL, task gates, IRET, busy bits, back link, NT, error code, bad TSS faults. */
/*
 * Under QEMU TCG (the test host) no TASK_SWITCH intercept ever reaches the
 * driver: QEMU switches tasks itself, so there both lanes check the same
 * machine. Under Bochs (VMX) every switch exits and the driver emulates it.
 */
#include "kvmtest.h"

extern const uint8_t ts_guest[], ts_guest_end[], ts_after_jmp[], ts_c_second[];
extern const uint8_t ts_i_after_iret[], ts_after_int[];
extern const uint8_t ts_np_handler[], ts_ts_handler[], ts_gp_handler[], ts_unexpected[];
extern const uint8_t ts_task_b[], ts_task_c[], ts_task_d[], ts_task_e[];
extern const uint8_t ts_task_f[], ts_task_i[];

#define G(sym)		(0x1000 + (uint32_t)((sym) - ts_guest))
#define GDT		0x8000
#define IDT		0x8800
#define LDT		0x9800
#define TSS(i)		(0x10000 + (i) * 0x100)
#define PD0		0x20000
#define PD1		0x21000
#define MAGIC		0x4c44546dU	/* at 0x40000, the LDT data segment's base */

/* GDT selectors */
enum { S_CODE = 0x08, S_DATA = 0x10, S_A = 0x18, S_B = 0x20, S_C = 0x28,
       S_GATE = 0x30, S_D = 0x38, S_E = 0x40, S_F = 0x48, S_LDT = 0x50,
       S_NP = 0x58, S_SHORT = 0x60, S_I = 0x68, S_A16 = 0x70 };

static struct tvm t;

static uint64_t *gdt(uint16_t sel)
{
	return (uint64_t *)(t.mem + GDT + (sel & ~7));
}

static uint64_t sys_desc(uint32_t base, uint32_t limit, unsigned int access)
{
	return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
	       ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
	       ((uint64_t)(base >> 24) << 56);
}

static unsigned int desc_type(uint16_t sel)
{
	return (*gdt(sel) >> 40) & 0xf;
}

static void idt_set(int vec, uint64_t d)
{
	*(uint64_t *)(t.mem + IDT + vec * 8) = d;
}

static uint64_t int_gate(uint32_t off)
{
	return (off & 0xffff) | ((uint64_t)S_CODE << 16) | (0x8eULL << 40) |
	       ((uint64_t)(off >> 16) << 48);
}

static uint64_t task_gate(uint16_t tss)
{
	return ((uint64_t)tss << 16) | (0x85ULL << 40);
}

static uint32_t *tss32(int i)
{
	return (uint32_t *)(t.mem + TSS(i));
}

/* A 32-bit TSS: dword offsets 7 CR3, 8 EIP, 9 EFLAGS, 10-17 GPRs, 18-23 selectors, 24 LDT. */
static void tss32_init(int i, uint32_t eip, uint32_t esp, uint32_t cr3,
		       uint16_t ds, uint16_t ldt)
{
	uint32_t *p = tss32(i);

	memset(p, 0, 0x68);
	p[0] = 0xdead;
	p[7] = cr3;
	p[8] = eip;
	p[9] = 2;
	p[14] = esp;
	p[18] = S_DATA;
	p[19] = S_CODE;
	p[20] = S_DATA;
	p[21] = ds;
	p[22] = S_DATA;
	p[23] = S_DATA;
	p[24] = ldt;
	p[25] = 0x68 << 16;
}

static void setup(void)
{
	struct kvm_segment cs = { .limit = 0xffffffff, .selector = S_CODE,
		.type = 11, .present = 1, .s = 1, .db = 1, .g = 1 };
	struct kvm_segment ds = { .limit = 0xffffffff, .selector = S_DATA,
		.type = 3, .present = 1, .s = 1, .db = 1, .g = 1 };
	struct kvm_segment tr = { .base = TSS(0), .limit = 0x67, .selector = S_A,
		.type = 11, .present = 1 };
	uint16_t *t16 = (uint16_t *)(t.mem + TSS(8));
	struct kvm_sregs s;
	struct kvm_regs r;
	int i;

	tvm_load(&t, 0x1000, ts_guest, ts_guest_end - ts_guest);
	*(uint32_t *)(t.mem + PD0) = 0x83;	/* one 4 MiB page, identity */
	*(uint32_t *)(t.mem + PD1) = 0x83;
	*(uint32_t *)(t.mem + 0x40000) = MAGIC;

	*gdt(S_CODE) = 0x00cf9a000000ffffULL;
	*gdt(S_DATA) = 0x00cf92000000ffffULL;
	*gdt(S_A) = sys_desc(TSS(0), 0x67, 0x8b);	/* busy: the running task */
	*gdt(S_B) = sys_desc(TSS(1), 0x67, 0x89);
	*gdt(S_C) = sys_desc(TSS(2), 0x67, 0x89);
	*gdt(S_GATE) = task_gate(S_D);
	*gdt(S_D) = sys_desc(TSS(3), 0x67, 0x89);
	*gdt(S_E) = sys_desc(TSS(4), 0x67, 0x89);
	*gdt(S_F) = sys_desc(TSS(5), 0x67, 0x89);
	*gdt(S_LDT) = sys_desc(LDT, 15, 0x82);
	*gdt(S_NP) = sys_desc(TSS(6), 0x67, 0x09);
	*gdt(S_SHORT) = sys_desc(TSS(7), 0x50, 0x89);
	*gdt(S_I) = sys_desc(TSS(8), 0x2b, 0x81);	/* 16-bit, available */
	*gdt(S_A16) = sys_desc(TSS(9), 0x2b, 0x81);
	/* LDT entry 1 (selector 0x0c): data at 0x40000, not yet accessed. */
	*(uint64_t *)(t.mem + LDT + 8) = 0x004092040000ffffULL;

	tss32_init(0, 0, 0, PD0, S_DATA, 0);
	tss32_init(1, G(ts_task_b), 0x31000, PD1, 0x0c, S_LDT);
	tss32_init(2, G(ts_task_c), 0x32000, PD0, S_DATA, 0);
	tss32_init(3, G(ts_task_d), 0x33000, PD0, S_DATA, 0);
	tss32_init(4, G(ts_task_e), 0x34000, PD0, S_DATA, 0);
	tss32_init(5, G(ts_task_f), 0x35000, PD0, S_DATA, 0);
	tss32_init(6, 0, 0x36000, PD0, S_DATA, 0);
	tss32_init(7, 0, 0x37000, PD0, S_DATA, 0);
	tss32(1)[10] = 0xb0b0b0b0;
	/* The 16-bit TSS: word 7 IP, 8 FLAGS, 9-16 GPRs, 17-20 ES CS SS DS, 21 LDT. */
	memset(t16, 0, 0x2c);
	t16[0] = 0xbeef;
	t16[7] = G(ts_task_i);
	t16[8] = 2;
	t16[9] = 0x1616;
	t16[13] = 0x6000;
	t16[17] = S_DATA;
	t16[18] = S_CODE;
	t16[19] = S_DATA;
	t16[20] = S_DATA;

	for (i = 0; i < 256; i++)
		idt_set(i, i < 32 ? int_gate(G(ts_unexpected)) : 0);
	idt_set(10, int_gate(G(ts_ts_handler)));
	idt_set(11, int_gate(G(ts_np_handler)));
	idt_set(13, task_gate(S_F));
	idt_set(0x40, task_gate(S_E));

	ioctl(t.vcpu, KVM_GET_SREGS, &s);
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.tr = tr;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	s.gdt.base = GDT;
	s.gdt.limit = 0x77;
	s.idt.base = IDT;
	s.idt.limit = 256 * 8 - 1;
	s.cr0 = 0x80000011;
	s.cr3 = PD0;
	s.cr4 = 0x10;
	s.efer = 0;
	if (ioctl(t.vcpu, KVM_SET_SREGS, &s) < 0)
		printf("# KVM_SET_SREGS: %s\n", strerror(errno));
	memset(&r, 0, sizeof(r));
	r.rip = 0x1000;
	r.rflags = 2;
	r.rsp = 0x7000;
	if (ioctl(t.vcpu, KVM_SET_REGS, &r) < 0)
		printf("# KVM_SET_REGS: %s\n", strerror(errno));
}

static struct kvm_regs regs;
static struct kvm_sregs sregs;

/* Run to the OUT on @port; the registers and sregs of that moment. */
static int run_to(int port)
{
	int r = tvm_run(&t);

	ioctl(t.vcpu, KVM_GET_REGS, &regs);
	ioctl(t.vcpu, KVM_GET_SREGS, &sregs);
	if (r == KVM_EXIT_IO && t.run->io.port == port)
		return 1;
	printf("# wanted OUT to %#x, got %s (port %#x) at rip %#llx\n", port,
	       exit_name(r), r == KVM_EXIT_IO ? t.run->io.port : 0,
	       (unsigned long long)regs.rip);
	if (r == KVM_EXIT_IO && regs.rsp >= 12 && regs.rsp < t.mem_size - 12) {
		uint32_t *f = (uint32_t *)(t.mem + regs.rsp);

		printf("# frame at esp %#llx: %#x %#x %#x %#x, TR %#x\n",
		       (unsigned long long)regs.rsp, f[0], f[1], f[2], f[3],
		       sregs.tr.selector);
	}
	for (int i = 0; i < 9; i++)
		printf("# TSS %d: link %#x eip %#x eflags %#x esp %#x\n", i, tss32(i)[0],
		       tss32(i)[8], tss32(i)[9], tss32(i)[14]);
	printf("# F stack: %#x %#x\n", *(uint32_t *)(t.mem + 0x34ffc), *(uint32_t *)(t.mem + 0x34ff8));
	return 0;
}

/* TR to the 16-bit TSS at 0x70, as LTR would: A's TSS becomes available. */
static void move_tr_to_tss16(void)
{
	struct kvm_segment tr = { .base = TSS(9), .limit = 0x2b, .selector = S_A16,
		.type = 3, .present = 1 };
	struct kvm_sregs s;

	memset(t.mem + TSS(9), 0, 0x2c);
	*gdt(S_A) = sys_desc(TSS(0), 0x67, 0x89);
	*gdt(S_A16) = sys_desc(TSS(9), 0x2b, 0x83);
	ioctl(t.vcpu, KVM_GET_SREGS, &s);
	s.tr = tr;
	if (ioctl(t.vcpu, KVM_SET_SREGS, &s) < 0)
		printf("# KVM_SET_SREGS: %s\n", strerror(errno));
}

#define NT	0x4000

int main(void)
{
	uint32_t *ta;
	uint16_t *t16;
	int ok;

	tap_plan(19);
	tvm_create(&t, 4 << 20);
	tvm_cpuid(&t);
	setup();
	ta = tss32(0);
	t16 = (uint16_t *)(t.mem + TSS(8));

	ok = run_to(0x21);
	tap_ok(ok, "JMP to a TSS runs the new task");
	tap_ok(ok && sregs.tr.selector == S_B && desc_type(S_A) == 9 && desc_type(S_B) == 11,
	       "JMP: TR %#x, old TSS no longer busy, new one busy", sregs.tr.selector);
	tap_ok(ok && !(regs.rbx & NT) && (regs.rdx & 8),
	       "JMP: NT clear (eflags %#llx), CR0.TS set (cr0 %#llx)",
	       (unsigned long long)regs.rbx, (unsigned long long)regs.rdx);
	tap_ok(ok && sregs.cr3 == PD1 && sregs.ldt.selector == S_LDT &&
	       sregs.ds.selector == 0x0c && sregs.ds.base == 0x40000 &&
	       (uint32_t)regs.rax == MAGIC,
	       "new task's CR3 %#llx, LDT, DS from the LDT, read %#x",
	       (unsigned long long)sregs.cr3, (uint32_t)regs.rax);
	tap_ok(ok && ta[8] == G(ts_after_jmp) && ta[13] == 0xa1a1a1a1 && ta[16] == 0xa2 &&
	       ta[19] == S_CODE && tss32(1)[0] == 0xdead,
	       "old task saved: EIP %#x EBX %#x ESI %#x; JMP leaves the back link", ta[8],
	       ta[13], ta[16]);
	tap_ok(ok && !(regs.rcx & 0x55) && (regs.rcx & 0xaa) == 0xaa,
	       "DR7 local enables cleared, global ones kept (%#llx)",
	       (unsigned long long)regs.rcx);

	ok = ok && run_to(0x11);
	tap_ok(ok && (uint32_t)regs.rbx == 0xa1a1a1a1 && regs.rsi == 0xa2 &&
	       sregs.tr.selector == S_A && desc_type(S_A) == 11 && desc_type(S_B) == 9 &&
	       sregs.cr3 == PD0,
	       "JMP back: registers restored, TR %#x, busy bits swapped", sregs.tr.selector);

	ok = ok && run_to(0x22);
	tap_ok(ok && (regs.rbx & NT) && tss32(2)[0] == S_A && sregs.tr.selector == S_C &&
	       desc_type(S_A) == 11 && desc_type(S_C) == 11,
	       "CALL: NT set, back link %#x, caller stays busy", tss32(2)[0]);
	ok = ok && run_to(0x12);
	tap_ok(ok && desc_type(S_C) == 9 && desc_type(S_A) == 11 && !(tss32(2)[9] & NT) &&
	       tss32(2)[8] == G(ts_c_second) && !(regs.rflags & NT) && sregs.tr.selector == S_A,
	       "IRET with NT: back to the caller, callee not busy, its saved EIP %#x, NT clear",
	       tss32(2)[8]);
	ok = ok && run_to(0x23);
	tap_ok(ok && sregs.tr.selector == S_C, "CALL again resumes the task after its IRET");
	ok = ok && run_to(0x13);

	ok = ok && run_to(0x24);
	tap_ok(ok && sregs.tr.selector == S_D && tss32(3)[0] == S_A && (regs.rbx & NT),
	       "CALL through a task gate in the GDT: TR %#x, back link %#x",
	       sregs.tr.selector, tss32(3)[0]);
	ok = ok && run_to(0x14);

	ok = ok && run_to(0x25);
	tap_ok(ok && sregs.tr.selector == S_E && tss32(4)[0] == S_A && (regs.rbx & NT) &&
	       ta[8] == G(ts_after_int),
	       "INT 0x40 through an IDT task gate: TR %#x, old EIP past the INT (%#x)",
	       sregs.tr.selector, ta[8]);
	ok = ok && run_to(0x15);

	ok = ok && run_to(0x26);
	tap_ok(ok && (uint32_t)regs.rax == 0x1230 && sregs.tr.selector == S_F &&
	       (uint32_t)regs.rcx == 0x35000 && tss32(5)[0] == S_A,
	       "#GP through a task gate: error code %#x pushed on the new stack (esp %#x)",
	       (uint32_t)regs.rax, (uint32_t)regs.rcx);
	ok = ok && run_to(0x16);
	tap_ok(ok && sregs.tr.selector == S_A, "the handler task returned past the fault");

	ok = ok && run_to(0x18);
	tap_ok(ok && *(uint32_t *)(t.mem + 0x5000) == S_NP &&
	       *(uint32_t *)(t.mem + 0x5004) == S_SHORT,
	       "JMP to a TSS not present: #NP(%#x); limit below 0x67: #TS(%#x)",
	       *(uint32_t *)(t.mem + 0x5000), *(uint32_t *)(t.mem + 0x5004));
	idt_set(13, int_gate(G(ts_gp_handler)));
	ok = ok && run_to(0x19);
	tap_ok(ok && *(uint32_t *)(t.mem + 0x5008) == S_A,
	       "CALL to a busy TSS: #GP(%#x)", *(uint32_t *)(t.mem + 0x5008));

	/*
	 * A 16-bit TSS called from a 16-bit TSS: KVM 6.1 saves the outgoing
	 * task in the incoming TSS's format, so from a 32-bit one it would
	 * overwrite the 32-bit TSS (the driver saves it in its own format).
	 */
	move_tr_to_tss16();
	ok = ok && run_to(0x27);
	tap_ok(ok && sregs.tr.selector == S_I && (regs.rax & 0xffff) == 0x1616 &&
	       t16[0] == S_A16 && (regs.rbx & NT) && desc_type(S_I) == 3,
	       "CALL to a 16-bit TSS: AX %#x, back link %#x, busy",
	       (unsigned int)(regs.rax & 0xffff), t16[0]);
	ok = ok && run_to(0x17);
	tap_ok(ok && t16[7] == (uint16_t)G(ts_i_after_iret) && desc_type(S_I) == 1 &&
	       (regs.rsi & 0xffff) == 0x5151 && sregs.tr.selector == S_A16 &&
	       desc_type(S_A16) == 3,
	       "IRET from the 16-bit task: its IP saved (%#x), caller's registers back",
	       t16[7]);
	tap_ok(ok && tvm_run(&t) == KVM_EXIT_HLT && desc_type(S_A) == 9 &&
	       desc_type(S_C) == 9 && desc_type(S_D) == 9 && desc_type(S_E) == 9 &&
	       desc_type(S_F) == 9, "ends in the 16-bit task, every other TSS available");
	tvm_destroy(&t);
	return tap_done();
}
