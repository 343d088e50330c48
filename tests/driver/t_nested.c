/* tests/driver/t_nested.c: nested SVM: an L1 hypervisor runs L2 (VMMCALL, I/O, HLT, CPUID, EVENTINJ) with its intercepts, nested paging through L1's NPT, VMEXIT_INVALID, GIF and the virtual GIF, VMLOAD/VMSAVE, an L2 triple fault as an exit, KVM_GET/SET_NESTED_STATE in the middle of L2. */
#include <cpuid.h>
#include "kvmtest.h"

extern const uint8_t nested_guest[], nested_guest_end[];
extern const uint8_t l1_start[], l1_loop[], l1_gif[], l1_loadsave[], l1_nmi[],
	l1_remap[];
extern const uint8_t l2_vmmcall[], l2_io[], l2_user_io[], l2_hlt[], l2_cpuid[], l2_handler[],
	l2_npt_read[], l2_npt_fault[], l2_npt_wp[];
extern const uint8_t l2_clgi[], l2_stgi[], l2_clgi_io[], l2_vgif_irq[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - nested_guest))
#define MEM_SIZE	(2 << 20)
#define VMCB12		0x10000
#define HSAVE		0x11000
#define SAVEAREA	0x12000
#define IOPM		0x14000		/* 12 KiB */
#define MSRPM		0x18000		/* 8 KiB */
#define NPT		0x20000		/* L1's NPT, 4 pages */
#define MSR_VM_HSAVE_PA	0xc0010117
#define MSR_SMBASE	0x9e
#define SMI_SMBASE	0x40000		/* SMM code at 0x48000, its map at 0x4fe00 */

/* VMCB layout (AMD APM vol. 2, appendix B): control area, then save area at 0x400. */
#define C_ICPT_MISC1	0x0c
#define C_ICPT_MISC2	0x10
#define C_IOPM		0x40
#define C_MSRPM		0x48
#define C_ASID		0x58
#define C_TLB_CTL	0x5c
#define C_INT_CTL	0x60
#define C_INT_VECTOR	0x64
#define C_EXIT_CODE	0x70
#define C_EXIT_HI	0x74
#define C_INFO1		0x78
#define C_INFO2		0x80
#define C_NESTED_CTL	0x90
#define C_EVENTINJ	0xa8
#define C_NCR3		0xb0
#define C_NEXT_RIP	0xc8
#define S_ES		0x400
#define S_CS		0x410
#define S_SS		0x420
#define S_DS		0x430
#define S_FS		0x440
#define S_GDTR		0x460
#define S_IDTR		0x480
#define S_EFER		0x4d0
#define S_CR4		0x548
#define S_CR3		0x550
#define S_CR0		0x558
#define S_DR7		0x560
#define S_DR6		0x568
#define S_RFLAGS	0x570
#define S_RIP		0x578
#define S_RSP		0x5d8
#define S_RAX		0x5f8
#define S_GPAT		0x668

/* Intercept bits: MISC1 (exit code - 0x60), MISC2 (exit code - 0x80). */
#define I_NMI		(1U << 1)
#define I_CPUID		(1U << 18)
#define I_HLT		(1U << 24)
#define I_IOIO		(1U << 27)
#define I_SHUTDOWN	(1U << 31)
#define I_VMRUN		(1U << 0)
#define I_VMMCALL	(1U << 1)
#define I_CLGI		(1U << 5)

/* int_ctl: the virtual interrupt and the virtual GIF. */
#define V_IRQ		(1U << 8)
#define V_GIF		(1U << 9)
#define V_IGN_TPR	(1U << 20)
#define V_INTR_MASKING	(1U << 24)
#define V_GIF_ENABLE	(1U << 25)

#define EXIT_NMI	0x61
#define EXIT_HLT	0x78
#define EXIT_IOIO	0x7b
#define EXIT_SHUTDOWN	0x7f
#define EXIT_VMMCALL	0x81
#define EXIT_CLGI	0x85
#define EXIT_NPF	0x400
#define EXIT_ERR	0xffffffffU

static struct kvm_cpuid_entry2 sup[100];
static int nsup;

static struct kvm_cpuid_entry2 *find_sup(uint32_t fn)
{
	for (int i = 0; i < nsup; i++)
		if (sup[i].function == fn)
			return &sup[i];
	return NULL;
}

/* VMCB12: L2 in L1's own 64-bit world at @rip, intercepting VMRUN, VMMCALL and @misc1. */
static void vmcb12_setup(struct tvm *t, uint64_t rip, uint32_t misc1)
{
	memset(t->mem + VMCB12, 0, 4096);
	tvm_put32(t, VMCB12 + C_ICPT_MISC1, misc1);
	tvm_put32(t, VMCB12 + C_ICPT_MISC2, I_VMRUN | I_VMMCALL);
	tvm_put64(t, VMCB12 + C_IOPM, IOPM);
	tvm_put64(t, VMCB12 + C_MSRPM, MSRPM);
	tvm_put32(t, VMCB12 + C_ASID, 1);
	tvm_vmcb_seg(t, VMCB12, S_CS, 8, 0xa9b, 0xffffffff, 0);
	tvm_vmcb_seg(t, VMCB12, S_ES, 0x10, 0xc93, 0xffffffff, 0);
	tvm_vmcb_seg(t, VMCB12, S_SS, 0x10, 0xc93, 0xffffffff, 0);
	tvm_vmcb_seg(t, VMCB12, S_DS, 0x10, 0xc93, 0xffffffff, 0);
	tvm_vmcb_seg(t, VMCB12, S_GDTR, 0, 0, 23, T_GDT);
	tvm_vmcb_seg(t, VMCB12, S_IDTR, 0, 0, 256 * 16 - 1, T_IDT);
	tvm_put64(t, VMCB12 + S_EFER, 0x1500);	/* SVME, LMA, LME */
	tvm_put64(t, VMCB12 + S_CR0, 0x80050033);
	tvm_put64(t, VMCB12 + S_CR3, 0x9000);
	tvm_put64(t, VMCB12 + S_CR4, 0x20);
	tvm_put64(t, VMCB12 + S_DR6, 0xffff0ff0);
	tvm_put64(t, VMCB12 + S_DR7, 0x400);
	tvm_put64(t, VMCB12 + S_RFLAGS, 2);
	tvm_put64(t, VMCB12 + S_RIP, rip);
	tvm_put64(t, VMCB12 + S_RSP, 0x6ff0);
	tvm_put64(t, VMCB12 + S_GPAT, 0x0007040600070406ULL);
}

/* Run until the next exit; it must be an OUT to @port. Its value, or ~0. */
static uint32_t expect_out(struct tvm *t, uint16_t port, const char *what)
{
	int r = tvm_run(t);

	if (r == KVM_EXIT_IO && t->run->io.direction == KVM_EXIT_IO_OUT &&
	    t->run->io.port == port)
		return tvm_io_val(t);
	tap_diag("%s: expected OUT to 0x%x, got exit %s (port 0x%x)", what, port,
		 exit_name(r), r == KVM_EXIT_IO ? t->run->io.port : 0);
	return ~0U;
}

/* L1's next #VMEXIT (or VMEXIT_INVALID), as it reports it. */
static uint32_t l1_exit(struct tvm *t, const char *what)
{
	return expect_out(t, 0x10, what);
}

static void set_rip(struct tvm *t, uint64_t rip)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = rip;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

struct nstate {
	struct kvm_nested_state h;
	uint8_t vmcb[KVM_STATE_NESTED_SVM_VMCB_SIZE];
};

static long get_nested(struct tvm *t, struct nstate *s)
{
	memset(s, 0, sizeof(*s));
	s->h.size = sizeof(*s);
	return xioctl(t->vcpu, KVM_GET_NESTED_STATE, s);
}

static uint16_t nested_flags(struct tvm *t)
{
	struct nstate s;

	return get_nested(t, &s) ? 0xffff : s.h.flags;
}

/*
 * An L2 stopped at an exit to userspace, moved into a new VM: VMCB12 and
 * L1 follow; the new vCPU's CPUID without the virtual GIF if .
 */
static bool migrate_cpuid(struct tvm *t, struct tvm *n, bool no_vgif)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct nstate s;
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };
	uint64_t hsave;

	/* Finish the I/O first, as a VMM does before it saves. */
	t->run->immediate_exit = 1;
	tvm_run(t);
	t->run->immediate_exit = 0;
	if (ioctl(t->vcpu, KVM_GET_CPUID2, &c) || ioctl(t->vcpu, KVM_GET_SREGS, &sregs) ||
	    ioctl(t->vcpu, KVM_GET_REGS, &regs) || get_nested(t, &s))
		return false;
	hsave = tvm_msr(t->vcpu, MSR_VM_HSAVE_PA);
	for (unsigned int i = 0; no_vgif && i < c.c.nent; i++)
		if (c.e[i].function == 0x8000000a)
			c.e[i].edx &= ~(1U << 16);

	tvm_create(n, MEM_SIZE);
	memcpy(n->mem, t->mem, MEM_SIZE);
	return !ioctl(n->vcpu, KVM_SET_CPUID2, &c) && !ioctl(n->vcpu, KVM_SET_SREGS, &sregs) &&
	       !ioctl(n->vcpu, KVM_SET_REGS, &regs) && tvm_set_msr(n->vcpu, MSR_VM_HSAVE_PA, hsave) == 1 &&
	       !ioctl(n->vcpu, KVM_SET_NESTED_STATE, &s);
}

static bool migrate(struct tvm *t, struct tvm *n)
{
	return migrate_cpuid(t, n, false);
}

/*
 * An SMI while L2 runs, as KVM takes it: SMM starts from L1 (guest mode
 * left with SVM_EXIT_SW, L1 never sees it), the map notes L2 and VMCB12
 * (FED8h, FEE0h), and RSM enters L2 again. SMM sees all RAM here; the
 * handler at SMBASE + 0x8000 is OUT 0x90; RSM.
 */
static bool smi_in_l2(struct tvm *t)
{
	static const uint8_t handler[] = { 0xe6, 0x90, 0x0f, 0xaa };
	uint16_t flags;

	if (set_slot(t->vm, 1 << 16, 0, t->mem, MEM_SIZE, 0) ||
	    tvm_set_msr(t->vcpu, MSR_SMBASE, SMI_SMBASE) != 1)
		return false;
	memcpy(t->mem + SMI_SMBASE + 0x8000, handler, sizeof(handler));
	if (ioctl(t->vcpu, KVM_SMI) || expect_out(t, 0x90, "SMI handler") == ~0U)
		return false;
	flags = nested_flags(t);
	if (flags & KVM_STATE_NESTED_GUEST_MODE)
		tap_diag("in SMM: nested state flags %#x", flags);
	return !(flags & KVM_STATE_NESTED_GUEST_MODE) &&
	       tvm_get64(t, SMI_SMBASE + 0xfed8) == 1 && tvm_get64(t, SMI_SMBASE + 0xfee0) == VMCB12;
}

/*
 * L1's NPT (in its memory, at 0x20000): L2's first 2 MiB on L1's with one
 * large page, L2's 0x400000 on L1's 0x30000, 0x401000 read-only on
 * 0x31000, nothing at 0x600000.
 */
static void test_npt(struct tvm *t, bool np)
{
	uint32_t code;

	if (!np) {
		tap_skip("no nested paging offered", "L2 reads through L1's NPT");
		tap_skip("no nested paging offered", "NPF for a page L1's NPT lacks");
		tap_skip("no nested paging offered", "NPF for a write to a read-only page");
		tap_skip("no nested paging offered", "L1 remaps a page and flushes");
		return;
	}
	memset(t->mem + NPT, 0, 0x4000);
	tvm_put64(t, NPT, (NPT + 0x1000) | 7);
	tvm_put64(t, NPT + 0x1000, (NPT + 0x2000) | 7);
	tvm_put64(t, NPT + 0x2000, 0x87);			/* 2 MiB at 0 */
	tvm_put64(t, NPT + 0x2000 + 2 * 8, (NPT + 0x3000) | 7);
	tvm_put64(t, NPT + 0x3000, 0x30000 | 7);
	tvm_put64(t, NPT + 0x3000 + 8, 0x31000 | 5);		/* not writable */
	tvm_put32(t, 0x30000, 0x5a5a1234);

	vmcb12_setup(t, GA(l2_npt_read), 0);
	tvm_put64(t, VMCB12 + C_NESTED_CTL, 1);
	tvm_put64(t, VMCB12 + C_NCR3, NPT);
	code = l1_exit(t, "NPT read");
	tap_ok(code == EXIT_VMMCALL && tvm_get64(t, VMCB12 + S_RAX) == 0x5a5a1234 &&
	       (tvm_get64(t, NPT + 0x3000) & 0x20),
	       "L2 reads through L1's NPT (4 KiB and 2 MiB leaves), which gets its A bit (code %#x)",
	       code);

	vmcb12_setup(t, GA(l2_npt_fault), 0);
	tvm_put64(t, VMCB12 + C_NESTED_CTL, 1);
	tvm_put64(t, VMCB12 + C_NCR3, NPT);
	code = l1_exit(t, "NPT fault");
	tap_ok(code == EXIT_NPF && tvm_get64(t, VMCB12 + C_INFO2) == 0x600000 &&
	       (tvm_get64(t, VMCB12 + C_INFO1) & 3) == 0 && tvm_get64(t, VMCB12 + S_RIP) == GA(l2_npt_fault),
	       "a page L1's NPT lacks: #VMEXIT(NPF), not present, L2's address (code %#x)", code);

	vmcb12_setup(t, GA(l2_npt_wp), 0);
	tvm_put64(t, VMCB12 + C_NESTED_CTL, 1);
	tvm_put64(t, VMCB12 + C_NCR3, NPT);
	code = l1_exit(t, "NPT write");
	tap_ok(code == EXIT_NPF && tvm_get64(t, VMCB12 + C_INFO2) == 0x401000 &&
	       (tvm_get64(t, VMCB12 + C_INFO1) & 3) == 3,
	       "a write to a page L1's NPT has read-only: #VMEXIT(NPF), present and write (code %#x)",
	       code);

	/* L1 moves the page itself and flushes, as it would flush a TLB. */
	tvm_put32(t, 0x32000, 0x6b6b5678);
	vmcb12_setup(t, GA(l2_npt_read), 0);
	tvm_put64(t, VMCB12 + C_NESTED_CTL, 1);
	tvm_put64(t, VMCB12 + C_NCR3, NPT);
	t->mem[VMCB12 + C_TLB_CTL] = 1;		/* flush all ASIDs */
	set_rip(t, GA(l1_remap));
	code = l1_exit(t, "NPT moved");
	tap_ok(code == EXIT_VMMCALL && tvm_get64(t, VMCB12 + S_RAX) == 0x6b6b5678,
	       "after L1 remaps a page of its NPT and flushes, L2 reads the new page (code %#x)",
	       code);
}

/*
 * The rest of l2_vgif_irq from its OUT to 0x32: the interrupt still held
 * at 0x34, taken at STGI (0x31) before 0x33, then #VMEXIT(VMMCALL) with
 * V_IRQ consumed and V_GIF set in VMCB12's int_ctl.
 */
static bool vgif_irq_tail(struct tvm *t, const char *vm)
{
	uint32_t code, ictl;
	bool ok;

	if (expect_out(t, 0x34, vm) == ~0U || expect_out(t, 0x31, vm) == ~0U ||
	    expect_out(t, 0x33, vm) == ~0U)
		return false;
	code = l1_exit(t, vm);
	ictl = tvm_get32(t, VMCB12 + C_INT_CTL);
	ok = code == EXIT_VMMCALL &&
	     (ictl & (V_IRQ | V_GIF | V_GIF_ENABLE)) == (V_GIF | V_GIF_ENABLE);
	if (!ok)
		tap_diag("%s: code %#x int_ctl %#x", vm, code, ictl);
	return ok;
}

/*
 * The virtual GIF (CPUID 0x8000000A EDX bit 16), offered as the CPU has
 * it: with V_GIF_ENABLE in VMCB12, L2's CLGI and STGI that L1 does not
 * intercept clear and set V_GIF (VMCB12's int_ctl after #VMEXIT), V_GIF
 * holds back L1's virtual interrupt to L2, KVM_GET/SET_NESTED_STATE
 * carry it in the VMCB12 controls; GIF_SET and the NMIs L1 intercepts
 * stay L1's.
 */
static void test_vgif(struct tvm *t, bool vgif)
{
	const uint32_t en = V_INTR_MASKING | V_GIF_ENABLE;
	struct nstate s;
	struct tvm n;
	uint32_t code, ictl = 0;
	bool ok;
	uint16_t flags;

	if (!vgif) {
		for (int i = 0; i < 10; i++)
			tap_skip("no virtual GIF offered", "virtual GIF point %d", i + 1);
		return;
	}
	vmcb12_setup(t, GA(l2_clgi), 0);
	tvm_put32(t, VMCB12 + C_INT_CTL, en | V_GIF);
	code = l1_exit(t, "L2 CLGI");
	ictl = tvm_get32(t, VMCB12 + C_INT_CTL);
	tap_ok(code == EXIT_VMMCALL && tvm_get64(t, VMCB12 + S_RIP) == GA(l2_clgi) + 3 &&
	       (ictl & (V_GIF | V_GIF_ENABLE)) == V_GIF_ENABLE,
	       "V_GIF_ENABLE: L2's CLGI runs without an exit, VMCB12's V_GIF clear after #VMEXIT (code %#x, int_ctl %#x)",
	       code, ictl);
	tvm_put64(t, VMCB12 + S_RIP, GA(l2_stgi));
	code = l1_exit(t, "L2 STGI");
	ictl = tvm_get32(t, VMCB12 + C_INT_CTL);
	tap_ok(code == EXIT_VMMCALL && (ictl & (V_GIF | V_GIF_ENABLE)) == (V_GIF | V_GIF_ENABLE),
	       "entered with V_GIF clear, L2's STGI sets it (code %#x, int_ctl %#x)", code, ictl);

	vmcb12_setup(t, GA(l2_clgi), 0);
	tvm_put32(t, VMCB12 + C_ICPT_MISC2, I_VMRUN | I_VMMCALL | I_CLGI);
	tvm_put32(t, VMCB12 + C_INT_CTL, en | V_GIF);
	code = l1_exit(t, "L2 CLGI intercepted");
	ictl = tvm_get32(t, VMCB12 + C_INT_CTL);
	tap_ok(code == EXIT_CLGI && tvm_get64(t, VMCB12 + S_RIP) == GA(l2_clgi) &&
	       (ictl & (V_GIF | V_GIF_ENABLE)) == (V_GIF | V_GIF_ENABLE),
	       "with V_GIF_ENABLE, a CLGI L1 intercepts is #VMEXIT(CLGI), V_GIF kept (code %#x, int_ctl %#x)",
	       code, ictl);

	/* L1's virtual interrupt to L2, IF clear at entry. */
	vmcb12_setup(t, GA(l2_vgif_irq), 0);
	tvm_put32(t, VMCB12 + C_INT_CTL, en | V_GIF | V_IRQ | V_IGN_TPR | (0xf << 16));
	tvm_put32(t, VMCB12 + C_INT_VECTOR, 0x30);
	ok = expect_out(t, 0x32, "V_IRQ with V_GIF clear") != ~0U;
	ok = ok && !get_nested(t, &s);
	memcpy(&ictl, s.vmcb + C_INT_CTL, 4);
	tap_ok(ok && s.h.flags == (KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET) &&
	       (ictl & (V_IRQ | V_GIF | V_GIF_ENABLE)) == (V_IRQ | V_GIF_ENABLE),
	       "V_IRQ held while V_GIF is clear; KVM_GET_NESTED_STATE: L1's GIF set, VMCB12's V_GIF clear, V_IRQ pending (flags %#x, int_ctl %#x)",
	       s.h.flags, ictl);
	ok = ok && migrate(t, &n);
	tap_ok(ok && vgif_irq_tail(&n, "moved L2"),
	       "moved to a new VM (KVM_SET_NESTED_STATE): V_IRQ still held, taken at L2's STGI, VMCB12's V_GIF set after #VMEXIT");
	if (ok)
		tvm_destroy(&n);
	tap_ok(ok && vgif_irq_tail(t, "L2"),
	       "in the first VM: the same, V_IRQ taken at L2's STGI and not before");

	/* L1's own GIF governs the events L1 intercepts: an NMI exits at V_GIF clear. */
	vmcb12_setup(t, GA(l2_clgi_io), I_NMI);
	tvm_put32(t, VMCB12 + C_INT_CTL, en | V_GIF);
	ok = expect_out(t, 0x81, "L2 OUT 0x81 with V_GIF clear") != ~0U;
	ok = ok && !ioctl(t->vcpu, KVM_NMI, 0);
	code = ok ? l1_exit(t, "NMI with V_GIF clear") : 0;
	ictl = tvm_get32(t, VMCB12 + C_INT_CTL);
	tap_ok(code == EXIT_NMI && (ictl & (V_GIF | V_GIF_ENABLE)) == V_GIF_ENABLE,
	       "KVM_NMI while L2's V_GIF is clear: #VMEXIT(NMI) for L1 that intercepts it (code %#x, int_ctl %#x)",
	       code, ictl);
	set_rip(t, GA(l1_gif));
	ok = expect_out(t, 0x11, "CLGI after NMI exit") != ~0U &&
	     expect_out(t, 0x15, "L1 NMI handler") != ~0U &&
	     expect_out(t, 0x12, "STGI after NMI") != ~0U;
	tap_ok(ok, "L1 takes that NMI at its own STGI");

	/* Without V_GIF_ENABLE L2's CLGI is the GIF KVM reports, VMCB12's V_GIF untouched. */
	vmcb12_setup(t, GA(l2_clgi_io), 0);
	tvm_put32(t, VMCB12 + C_INT_CTL, V_INTR_MASKING | V_GIF);
	flags = expect_out(t, 0x81, "L2 OUT 0x81 without V_GIF_ENABLE") != ~0U ? nested_flags(t) : 0xffff;
	code = l1_exit(t, "L2 CLGI without V_GIF_ENABLE");
	ictl = tvm_get32(t, VMCB12 + C_INT_CTL);
	tap_ok(flags == KVM_STATE_NESTED_GUEST_MODE && code == EXIT_VMMCALL &&
	       (ictl & (V_GIF | V_GIF_ENABLE)) == V_GIF,
	       "without V_GIF_ENABLE: L2's CLGI clears the GIF KVM_GET_NESTED_STATE shows, VMCB12's V_GIF stays (flags %#x, code %#x, int_ctl %#x)",
	       flags, code, ictl);

	/* L1 stopped after that #VMEXIT, moved to a VM whose CPUID lacks VGIF: V_GIF_ENABLE is ignored. */
	ok = migrate_cpuid(t, &n, true);
	if (ok) {
		vmcb12_setup(&n, GA(l2_clgi_io), 0);
		tvm_put32(&n, VMCB12 + C_INT_CTL, en | V_GIF);
		flags = expect_out(&n, 0x81, "L2 OUT 0x81, no VGIF in CPUID") != ~0U ?
			nested_flags(&n) : 0xffff;
		code = l1_exit(&n, "L2 CLGI, no VGIF in CPUID");
		ictl = tvm_get32(&n, VMCB12 + C_INT_CTL);
		tvm_destroy(&n);
	}
	tap_ok(ok && flags == KVM_STATE_NESTED_GUEST_MODE && code == EXIT_VMMCALL &&
	       (ictl & (V_GIF | V_GIF_ENABLE)) == (V_GIF | V_GIF_ENABLE),
	       "L1's CPUID without VGIF: V_GIF_ENABLE ignored, L2's CLGI clears the GIF, V_GIF stays (flags %#x, code %#x, int_ctl %#x)",
	       ok ? flags : 0, ok ? code : 0, ok ? ictl : 0);
}

static void test_errnos(struct tvm *t)
{
	struct nstate s;
	long r;

	memset(&s, 0, sizeof(s));
	s.h.size = 16;
	r = xioctl(t->vcpu, KVM_GET_NESTED_STATE, &s);
	tap_ok(r == -E2BIG && s.h.size == sizeof(struct kvm_nested_state),
	       "KVM_GET_NESTED_STATE into too small a buffer: E2BIG and the size (%ld, %u)",
	       r, s.h.size);

	get_nested(t, &s);
	s.h.format = KVM_STATE_NESTED_FORMAT_VMX;
	r = xioctl(t->vcpu, KVM_SET_NESTED_STATE, &s);
	s.h.format = KVM_STATE_NESTED_FORMAT_SVM;
	s.h.size = 16;
	tap_ok(r == -EINVAL && xioctl(t->vcpu, KVM_SET_NESTED_STATE, &s) == -EINVAL,
	       "KVM_SET_NESTED_STATE: VMX format and a short size are EINVAL");
	s.h.size = sizeof(s);
	s.h.flags = KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GIF_SET;
	r = xioctl(t->vcpu, KVM_SET_NESTED_STATE, &s);
	s.h.flags = KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET;
	s.h.hdr.svm.vmcb_pa = VMCB12 + 8;
	tap_ok(r == -EINVAL && xioctl(t->vcpu, KVM_SET_NESTED_STATE, &s) == -EINVAL,
	       "KVM_SET_NESTED_STATE: run pending outside guest mode, a VMCB12 off a page: EINVAL");
	s.h.flags = KVM_STATE_NESTED_GIF_SET;
	tap_ok(xioctl(t->vcpu, KVM_SET_NESTED_STATE, &s) == 0 &&
	       nested_flags(t) == KVM_STATE_NESTED_GIF_SET,
	       "KVM_SET_NESTED_STATE outside guest mode sets GIF");
}

int main(void)
{
	struct kvm_cpuid_entry2 *e;
	struct tvm t, n;
	struct nstate s;
	bool nrips, np, vgif, host_vgif, ok, smi;
	unsigned int ha, hb, hc, hd;
	uint32_t code;
	int kvm, size;

	kvm = open_kvm();
	{
		struct {
			struct kvm_cpuid2 c;
			struct kvm_cpuid_entry2 e[100];
		} c = { .c.nent = 100 };

		if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0) {
			printf("Bail out! KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
			return 1;
		}
		nsup = c.c.nent;
		memcpy(sup, c.e, nsup * sizeof(sup[0]));
	}
	e = find_sup(0x80000001);
	if (!e || !(e->ecx & (1U << 2)))
		tap_skip_all("no SVM offered to guests");
	tap_plan(44);
	e = find_sup(0x8000000a);
	tap_ok(e && e->eax == 1 && e->ebx >= 1,
	       "CPUID: SVM in 0x80000001 ECX, leaf 0x8000000A with revision 1 and ASIDs");
	nrips = e && (e->edx & (1U << 3));
	np = e && (e->edx & 1);
	vgif = e && (e->edx & (1U << 16));
	host_vgif = __get_cpuid(0x8000000a, &ha, &hb, &hc, &hd) && (hd & (1U << 16));
	tap_ok(vgif == host_vgif,
	       "CPUID 0x8000000A EDX: the virtual GIF (bit 16) offered as this CPU has it (%d, CPU %d)",
	       vgif, host_vgif);
	size = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
	tap_ok(size == (int)sizeof(struct kvm_nested_state) + KVM_STATE_NESTED_SVM_VMCB_SIZE,
	       "KVM_CAP_NESTED_STATE is the size of the SVM state (%d)", size);
	close(kvm);

	tvm_create(&t, MEM_SIZE);
	tvm_cpuid(&t);
	tvm_long_mode(&t, GA(l1_start));
	tvm_load(&t, 0x2000, nested_guest, nested_guest_end - nested_guest);
	t.mem[IOPM + 0x80 / 8] |= 1 << (0x80 % 8);
	tvm_idt_set(&t, 0x30, GA(l2_handler));
	tvm_idt_set(&t, 2, GA(l1_nmi));

	ok = expect_out(&t, 0x1f, "L1 start") != ~0U;
	tap_ok(ok && (tvm_msr(t.vcpu, 0xc0000080) & 0x1000) &&
	       tvm_msr(t.vcpu, MSR_VM_HSAVE_PA) == HSAVE,
	       "L1 sets EFER.SVME and MSR_VM_HSAVE_PA");

	vmcb12_setup(&t, GA(l2_vmmcall), 0);
	code = l1_exit(&t, "VMMCALL");
	tap_ok(code == EXIT_VMMCALL && tvm_get64(&t, VMCB12 + S_RAX) == 0xabcd &&
	       tvm_get64(&t, VMCB12 + S_RIP) == GA(l2_vmmcall) + 5 &&
	       (!nrips || tvm_get64(&t, VMCB12 + C_NEXT_RIP) == GA(l2_vmmcall) + 8),
	       "L2's VMMCALL: #VMEXIT(VMMCALL) with L2's RAX, RIP, next RIP (code %#x)", code);
	tap_ok(nested_flags(&t) == 0, "after #VMEXIT: L1 with GIF clear, no guest mode");

	vmcb12_setup(&t, GA(l2_io), I_IOIO);
	code = l1_exit(&t, "IOIO");
	tap_ok(code == EXIT_IOIO && (tvm_get64(&t, VMCB12 + C_INFO1) >> 16) == 0x80 &&
	       !(tvm_get64(&t, VMCB12 + C_INFO1) & 1) && tvm_get64(&t, VMCB12 + C_INFO2) == GA(l2_io) + 2,
	       "L2's OUT to a port in L1's I/O map: #VMEXIT(IOIO), port and next RIP (code %#x)",
	       code);

	/* A port outside L1's map exits to us, from L2: save and restore there. */
	vmcb12_setup(&t, GA(l2_user_io), I_IOIO | I_SHUTDOWN);
	code = expect_out(&t, 0x81, "L2 OUT 0x81");
	tap_ok(code != ~0U, "L2's OUT to a port L1 leaves alone is ours (KVM_EXIT_IO)");
	ok = !get_nested(&t, &s);
	tap_ok(ok && s.h.format == KVM_STATE_NESTED_FORMAT_SVM &&
	       s.h.flags == (KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET) &&
	       s.h.size == sizeof(s) && s.h.hdr.svm.vmcb_pa == VMCB12,
	       "KVM_GET_NESTED_STATE in L2: guest mode, GIF, VMCB12 address (flags %#x, size %u)",
	       s.h.flags, s.h.size);
	ok = migrate(&t, &n);
	tap_ok(ok, "L2's state and L1's moved to a new VM (KVM_SET_NESTED_STATE last)");
	smi = ok && smi_in_l2(&n);
	tap_ok(smi, "an SMI in L2: SMM from L1, the map holds FED8h = 1 and FEE0h = VMCB12");
	code = smi ? l1_exit(&n, "restored L2") : 0;
	tap_ok(code == EXIT_VMMCALL && tvm_get64(&n, VMCB12 + S_RIP) == GA(l2_user_io) + 2,
	       "there L2 goes on to its VMMCALL, a #VMEXIT for the restored L1 (code %#x)", code);
	if (ok)
		tvm_destroy(&n);

	{
		struct kvm_enable_cap cap = { .cap = KVM_CAP_X86_TRIPLE_FAULT_EVENT, .args[0] = 1 };
		struct kvm_vcpu_events ev;

		ok = !ioctl(t.vm, KVM_ENABLE_CAP, &cap) && !ioctl(t.vcpu, KVM_GET_VCPU_EVENTS, &ev);
		ev.flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
		ev.triple_fault.pending = 1;
		ok = ok && !ioctl(t.vcpu, KVM_SET_VCPU_EVENTS, &ev);
		code = ok ? l1_exit(&t, "triple fault") : 0;
		tap_ok(code == EXIT_SHUTDOWN,
		       "a triple fault of L2 (KVM_SET_VCPU_EVENTS) is #VMEXIT(SHUTDOWN) for L1 (code %#x)",
		       code);
	}

	vmcb12_setup(&t, GA(l2_hlt), I_HLT);
	code = l1_exit(&t, "HLT");
	tap_ok(code == EXIT_HLT, "L2's HLT: #VMEXIT(HLT) (code %#x)", code);

	vmcb12_setup(&t, GA(l2_cpuid), 0);
	code = l1_exit(&t, "CPUID");
	e = find_sup(0);
	tap_ok(code == EXIT_VMMCALL && e && tvm_get64(&t, VMCB12 + S_RAX) == e->ebx,
	       "L2's CPUID that L1 does not intercept runs in L2 (code %#x)", code);

	vmcb12_setup(&t, GA(l2_vmmcall), 0);
	tvm_put32(&t, VMCB12 + C_EVENTINJ, 0x80000030);
	code = expect_out(&t, 0x31, "EVENTINJ");
	tap_ok(code != ~0U && l1_exit(&t, "after EVENTINJ") == EXIT_VMMCALL &&
	       !(tvm_get32(&t, VMCB12 + C_EVENTINJ) & 0x80000000),
	       "EVENTINJ: L2 takes vector 0x30 on entry, then its VMMCALL exits");

	vmcb12_setup(&t, GA(l2_vmmcall), 0);
	tvm_put32(&t, VMCB12 + C_ASID, 0);
	code = l1_exit(&t, "ASID 0");
	tap_ok(code == EXIT_ERR && tvm_get32(&t, VMCB12 + C_EXIT_HI) == EXIT_ERR,
	       "VMCB12 with ASID 0: VMEXIT_INVALID, L1 goes on after VMRUN");
	vmcb12_setup(&t, GA(l2_vmmcall), 0);
	tvm_put32(&t, VMCB12 + C_ICPT_MISC2, I_VMMCALL);
	code = l1_exit(&t, "no VMRUN intercept");
	tap_ok(code == EXIT_ERR, "VMCB12 without the VMRUN intercept: VMEXIT_INVALID");
	vmcb12_setup(&t, GA(l2_vmmcall), 0);
	tvm_put64(&t, VMCB12 + S_EFER, 0x500);
	code = l1_exit(&t, "no SVME");
	tap_ok(code == EXIT_ERR, "VMCB12 without EFER.SVME: VMEXIT_INVALID");
	vmcb12_setup(&t, GA(l2_vmmcall), 0);
	tvm_put64(&t, VMCB12 + S_CR0, 0x20000033);	/* NW without CD */
	code = l1_exit(&t, "CR0.NW");
	tap_ok(code == EXIT_ERR, "VMCB12 with CR0.NW but not CD: VMEXIT_INVALID");

	/* An NMI while L2 runs, which L1 intercepts; L1 takes it once GIF is set. */
	vmcb12_setup(&t, GA(l2_user_io), I_IOIO | I_NMI);
	ok = expect_out(&t, 0x81, "L2 OUT 0x81 before NMI") != ~0U;
	ok = ok && !ioctl(t.vcpu, KVM_NMI, 0);
	code = ok ? l1_exit(&t, "NMI") : 0;
	tap_ok(code == EXIT_NMI, "KVM_NMI while L2 runs: #VMEXIT(NMI) for L1 that intercepts it (code %#x)",
	       code);
	set_rip(&t, GA(l1_gif));
	ok = expect_out(&t, 0x11, "CLGI") != ~0U;
	tap_ok(ok && nested_flags(&t) == 0, "CLGI clears GIF");
	ok = expect_out(&t, 0x15, "NMI handler") != ~0U;
	tap_ok(ok, "the NMI GIF held back reaches L1 at its STGI");
	ok = expect_out(&t, 0x12, "STGI") != ~0U;
	tap_ok(ok && nested_flags(&t) == KVM_STATE_NESTED_GIF_SET, "STGI sets it");

	set_rip(&t, GA(l1_loadsave));
	ok = expect_out(&t, 0x13, "VMSAVE") != ~0U;
	tap_ok(ok && tvm_get64(&t, SAVEAREA + S_FS + 8) == 0x12345000,
	       "VMSAVE stores FS.base in the save area");
	tvm_put64(&t, SAVEAREA + S_FS + 8, 0x6789a000);
	code = expect_out(&t, 0x14, "VMLOAD");
	tap_ok(code == 0x6789a000, "VMLOAD loads it (%#x)", code);

	test_vgif(&t, vgif);
	test_npt(&t, np);
	test_errnos(&t);
	tvm_destroy(&t);
	return tap_done();
}
