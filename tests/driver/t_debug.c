/* tests/driver/t_debug.c: debug registers: the guest's DR0-DR7 and their faults, KVM_GET/SET_DEBUGREGS, KVM_SET_GUEST_DEBUG breakpoints, watchpoints, single steps and INT3, the guest's own #DB, a host breakpoint across KVM_RUN. */
#include <cpuid.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "kvmtest.h"

extern const uint8_t debug_guest[], debug_guest_end[];
extern const uint8_t g_dr[], g_dr_back[], g_hw[], g_hwbp[], g_wp[], g_wp1[], g_wp2[],
	g_ss[], g_ss1[], g_ss2[], g_ss3[], g_ss4[], g_ss5[], g_ss6[],
	g_int3[], g_int3_1[], g_own[], g_own_bp[], g_tf[], g_tf_after[], g_gd[], g_gd_mov[],
	g_db_handler[], g_bp_handler[], g_gp_handler[], g_ud_handler[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - debug_guest))
#define WATCH		0x6000
#define DR6_INIT	0xffff0ff0ULL
#define DR6_BS		0x4000ULL
#define DR6_BD		0x2000ULL
#define TF		0x100ULL

static struct tvm t;

/*
 * QEMU 7.2's TCG (the test host) takes DR7 from the VMCB at VMRUN without
 * arming its breakpoints, never checks the #BP intercept for INT3 and has
 * no DR7.GD: there neither kvm_amd nor kvmdrv can see those events, and
 * the tests that need them skip. The guest's own breakpoints work, since
 * both drivers let it write the registers itself.
 */
static const char *tcg_reason;

static void detect_tcg(void)
{
	unsigned int a, b, c, d;

	__cpuid(0x40000000, a, b, c, d);
	(void)a;
	if (b == 0x54474354 && c == 0x43544743 && d == 0x47435447)	/* "TCGTCGTCGTCG" */
		tcg_reason = "QEMU TCG arms no breakpoint from the VMCB's DR7, has no INT3 intercept or DR7.GD";
}

/* Run to the next OUT to @port without judging what came before (TCG only). */
static void run_to_out(uint16_t port)
{
	int i;

	for (i = 0; i < 8; i++)
		if (tvm_run(&t) == KVM_EXIT_IO && t.run->io.port == port)
			return;
}

static void set_rip(uint64_t rip)
{
	struct kvm_regs r;

	ioctl(t.vcpu, KVM_GET_REGS, &r);
	r.rip = rip;
	r.rsp = 0x7ff0;
	ioctl(t.vcpu, KVM_SET_REGS, &r);
}

static int guest_debug(uint32_t control, uint64_t dr0_3[4], uint64_t dr7)
{
	struct kvm_guest_debug d;

	memset(&d, 0, sizeof(d));
	d.control = control;
	if (dr0_3)
		memcpy(d.arch.debugreg, dr0_3, 4 * sizeof(uint64_t));
	d.arch.debugreg[7] = dr7;
	return xioctl(t.vcpu, KVM_SET_GUEST_DEBUG, &d);
}

/* The next exit is an OUT to @port: its value, or ~0. */
static uint32_t expect_out(uint16_t port, const char *what)
{
	int r = tvm_run(&t);

	if (r == KVM_EXIT_IO && t.run->io.direction == KVM_EXIT_IO_OUT &&
	    t.run->io.port == port)
		return tvm_io_val(&t);
	tap_diag("%s: expected OUT to 0x%x, got exit %s (port 0x%x)", what, port,
		 exit_name(r), r == KVM_EXIT_IO ? t.run->io.port : 0);
	return ~0U;
}

/* The next exit is KVM_EXIT_DEBUG with this exception, pc and (unless 0) dr6 and dr7. */
static int expect_debug(uint32_t exc, uint64_t pc, uint64_t dr6, uint64_t dr7,
			const char *what)
{
	int r = tvm_run(&t);
	struct kvm_debug_exit_arch *a = &t.run->debug.arch;

	if (r != KVM_EXIT_DEBUG) {
		tap_diag("%s: exit %s (port 0x%x)", what, exit_name(r),
			 r == KVM_EXIT_IO ? t.run->io.port : 0);
		return 0;
	}
	if (a->exception == exc && a->pc == pc && (!dr6 || a->dr6 == dr6) &&
	    (!dr7 || a->dr7 == dr7))
		return 1;
	tap_diag("%s: exception %u pc %#llx dr6 %#llx dr7 %#llx (want %u %#llx %#llx %#llx)",
		 what, a->exception, (unsigned long long)a->pc,
		 (unsigned long long)a->dr6, (unsigned long long)a->dr7, exc,
		 (unsigned long long)pc, (unsigned long long)dr6, (unsigned long long)dr7);
	return 0;
}

static void test_caps(void)
{
	long want = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_SW_BP |
		    KVM_GUESTDBG_USE_HW_BP | KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP |
		    KVM_GUESTDBG_BLOCKIRQ;
	long dbg2 = ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);

	tap_ok(ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_DEBUGREGS) == 1 &&
	       ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) == 1,
	       "KVM_CAP_DEBUGREGS and KVM_CAP_SET_GUEST_DEBUG");
	tap_ok(dbg2 == want, "KVM_CAP_SET_GUEST_DEBUG2 is KVM's valid-flags mask (%#lx)", dbg2);
}

/* The guest's own registers, both ways, and the faults of MOV DR. */
static void test_guest_drs(void)
{
	struct kvm_debugregs d, bad;
	uint32_t v[8];
	int i, ok;

	memset(&d, 0, sizeof(d));
	ok = !xioctl(t.vcpu, KVM_GET_DEBUGREGS, &d);
	tap_ok(ok && !d.db[0] && !d.db[3] &&
	       d.dr6 == DR6_INIT && d.dr7 == 0x400,
	       "KVM_GET_DEBUGREGS at reset: DR0-3 zero, DR6 %#llx, DR7 %#llx",
	       (unsigned long long)d.dr6, (unsigned long long)d.dr7);

	set_rip(GA(g_dr));
	tap_ok(expect_out(0x20, "guest DR writes") != ~0U, "guest wrote DR0-3, DR6, DR7");
	memset(&d, 0, sizeof(d));
	ioctl(t.vcpu, KVM_GET_DEBUGREGS, &d);
	tap_ok(d.db[0] == 0x1111 && d.db[1] == 0x2222 && d.db[2] == 0x3333 &&
	       d.db[3] == 0x4444 && d.dr6 == 0xffff0ff1 && d.dr7 == 0x00f00600 && !d.flags,
	       "KVM_GET_DEBUGREGS after the exit: %#llx %#llx %#llx %#llx dr6 %#llx dr7 %#llx",
	       (unsigned long long)d.db[0], (unsigned long long)d.db[1],
	       (unsigned long long)d.db[2], (unsigned long long)d.db[3],
	       (unsigned long long)d.dr6, (unsigned long long)d.dr7);

	bad = d;
	bad.flags = 1;
	tap_ok(xioctl(t.vcpu, KVM_SET_DEBUGREGS, &bad) == -EINVAL, "KVM_SET_DEBUGREGS flags 1: EINVAL");
	bad = d;
	bad.dr6 |= 1ULL << 32;
	tap_ok(xioctl(t.vcpu, KVM_SET_DEBUGREGS, &bad) == -EINVAL, "KVM_SET_DEBUGREGS dr6 bit 32: EINVAL");
	bad = d;
	bad.dr7 |= 1ULL << 63;
	tap_ok(xioctl(t.vcpu, KVM_SET_DEBUGREGS, &bad) == -EINVAL, "KVM_SET_DEBUGREGS dr7 bit 63: EINVAL");

	d.db[0] = 0xa0a0;
	d.db[1] = 0xb0b0;
	d.db[2] = 0xc0c0;
	d.db[3] = 0xd0d0;
	d.dr6 = 0xffff0ff2;
	d.dr7 = 0x0f000400;
	tap_ok(!xioctl(t.vcpu, KVM_SET_DEBUGREGS, &d), "KVM_SET_DEBUGREGS");
	for (i = 0, ok = 1; i < 8; i++) {
		v[i] = expect_out(0x21, "guest DR reads");
		ok &= v[i] != ~0U;
	}
	tap_ok(ok && v[0] == 0xa0a0 && v[1] == 0xb0b0 && v[2] == 0xc0c0 && v[3] == 0xd0d0 &&
	       v[4] == 0xffff0ff2 && v[5] == 0x0f000400,
	       "the guest reads what KVM_SET_DEBUGREGS set: %#x %#x %#x %#x dr6 %#x dr7 %#x",
	       v[0], v[1], v[2], v[3], v[4], v[5]);
	tap_ok(v[6] == v[4] && v[7] == v[5], "without CR4.DE, DR4 and DR5 are DR6 and DR7 (%#x %#x)",
	       v[6], v[7]);
	v[0] = expect_out(0x21, "#UD count");
	v[1] = expect_out(0x21, "#GP count");
	tap_ok(v[0] == 2, "with CR4.DE, MOV from DR4 and to DR5 #UD (%u of 2)", v[0]);
	tap_ok(v[1] == 3, "bits 63:32 of DR6 or DR7 #GP (%u of 3)", v[1]);
	tap_ok(expect_out(0x20, "end of DR phase") != ~0U, "guest DR phase ends");
	ioctl(t.vcpu, KVM_GET_DEBUGREGS, &d);
	tap_ok(d.dr6 == 0xffff0ff2 && d.dr7 == 0x0f000400,
	       "faulting writes left DR6 %#llx and DR7 %#llx alone",
	       (unsigned long long)d.dr6, (unsigned long long)d.dr7);
}

/* The debugger's breakpoints, loaded while the guest keeps its own DRs. */
static void test_hw_bp(void)
{
	uint64_t db[4] = { 0 };
	struct kvm_debugregs d;

	set_rip(GA(g_hw));
	db[0] = GA(g_hwbp);
	tap_ok(!guest_debug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, db, 0x402),
	       "KVM_SET_GUEST_DEBUG USE_HW_BP, DR0 on an instruction");
	if (tcg_reason) {
		run_to_out(0x20);
		tap_skip(tcg_reason, "instruction breakpoint: KVM_EXIT_DEBUG #DB at it");
	} else {
		tap_ok(expect_debug(1, GA(g_hwbp), 0xffff0ff1, 0x402, "instruction breakpoint DR0"),
		       "instruction breakpoint: KVM_EXIT_DEBUG #DB at it, dr6 0xffff0ff1, dr7 0x402");
	}
	memset(&d, 0, sizeof(d));
	ioctl(t.vcpu, KVM_GET_DEBUGREGS, &d);
	tap_ok(d.db[0] == 0x5555 && d.dr7 == 0x400,
	       "the guest's own DR0 %#llx and DR7 %#llx, written under the debugger's",
	       (unsigned long long)d.db[0], (unsigned long long)d.dr7);
	if (tcg_reason) {
		tap_skip(tcg_reason, "the same through DR3");
		tap_skip(tcg_reason, "breakpoints off: the guest runs on");
		guest_debug(0, NULL, 0);
		return;
	}
	db[0] = 0;
	db[3] = GA(g_hwbp);
	guest_debug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, db, 0x480);
	tap_ok(expect_debug(1, GA(g_hwbp), 0xffff0ff8, 0x480, "instruction breakpoint DR3"),
	       "the same through DR3: dr6 0xffff0ff8");
	guest_debug(0, NULL, 0);
	tap_ok(expect_out(0x20, "past the breakpoint") != ~0U,
	       "breakpoints off: the guest runs on");
}

static void test_watchpoints(void)
{
	uint64_t db[4] = { 0 };

	set_rip(GA(g_wp));
	db[1] = WATCH;
	guest_debug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, db, 0x00d00408);
	if (tcg_reason) {
		run_to_out(0x20);
		tap_skip(tcg_reason, "write watchpoint (DR1)");
		tap_ok(*(uint32_t *)(t.mem + WATCH) == 1234, "the store was done");
		tap_skip(tcg_reason, "a read does not hit a write watchpoint");
		tap_skip(tcg_reason, "read/write watchpoint (DR2): the store hits");
		tap_skip(tcg_reason, "read/write watchpoint: the load hits too");
		tap_skip(tcg_reason, "watchpoints off: the guest runs on");
		guest_debug(0, NULL, 0);
		return;
	}
	tap_ok(expect_debug(1, GA(g_wp1), 0xffff0ff2, 0x00d00408, "write watchpoint"),
	       "write watchpoint (DR1): KVM_EXIT_DEBUG after the store, dr6 0xffff0ff2");
	tap_ok(*(uint32_t *)(t.mem + WATCH) == 1234, "the store was done");
	tap_ok(expect_out(0x20, "read under a write watchpoint") != ~0U,
	       "a read does not hit a write watchpoint");

	set_rip(GA(g_wp));
	db[1] = 0;
	db[2] = WATCH;
	guest_debug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP, db, 0x0f000420);
	tap_ok(expect_debug(1, GA(g_wp1), 0xffff0ff4, 0x0f000420, "rw watchpoint, write"),
	       "read/write watchpoint (DR2): the store hits, dr6 0xffff0ff4");
	tap_ok(expect_debug(1, GA(g_wp2), 0xffff0ff4, 0x0f000420, "rw watchpoint, read"),
	       "read/write watchpoint: the load hits too");
	guest_debug(0, NULL, 0);
	tap_ok(expect_out(0x20, "after the watchpoints") != ~0U, "watchpoints off: the guest runs on");
}

static void test_single_step(void)
{
	struct kvm_regs r;
	int ok;

	if (getenv("VMXHOST")) {
		/* As t_exits: measured with kvm_intel and ours alike. */
		const char *why = "Bochs 2.7 raises the TF #DB at VM entry, before the guest's first instruction";

		for (ok = 0; ok < 9; ok++)
			tap_skip(why, "single step %d", ok + 1);
		return;
	}
	set_rip(GA(g_ss));
	guest_debug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP, NULL, 0);
	tap_ok(expect_debug(1, GA(g_ss1), DR6_INIT | DR6_BS, 0x400, "step 1"),
	       "step over NOP: #DB, dr6 0xffff4ff0, dr7 0x400");
	ioctl(t.vcpu, KVM_GET_REGS, &r);
	tap_ok(!(r.rflags & TF), "RFLAGS.TF is not visible in KVM_GET_REGS (%#llx)",
	       (unsigned long long)r.rflags);
	ok = expect_debug(1, GA(g_ss2), DR6_INIT | DR6_BS, 0, "step 2");
	ok &= expect_debug(1, GA(g_ss3), DR6_INIT | DR6_BS, 0, "step 3");
	tap_ok(ok, "step over MOV and XOR");
	tap_ok(expect_debug(1, GA(g_ss4), DR6_INIT | DR6_BS, 0, "step over cpuid"),
	       "step over CPUID, which the kernel emulates");
	tap_ok(expect_out(0x23, "step to OUT") != ~0U, "the OUT exits to userspace first");
	tap_ok(expect_debug(1, GA(g_ss5), DR6_INIT | DR6_BS, 0, "step after OUT"),
	       "then the step after the OUT, on the next KVM_RUN");
	tap_ok(expect_debug(1, GA(g_ss6), DR6_INIT | DR6_BS, 0, "step 6"), "and on");
	guest_debug(0, NULL, 0);
	tap_ok(expect_out(0x20, "after stepping") != ~0U, "stepping off: the guest runs on");
	ioctl(t.vcpu, KVM_GET_REGS, &r);
	tap_ok(!(r.rflags & TF), "no TF left behind");
}

static void test_sw_bp(void)
{
	uint32_t v;
	int r;

	set_rip(GA(g_int3));
	guest_debug(KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP, NULL, 0);
	if (tcg_reason) {
		run_to_out(0x20);
		tap_skip(tcg_reason, "USE_SW_BP: INT3 exits with #BP at the INT3");
		tap_skip(tcg_reason, "skipped by the VMM, the guest runs on");
	} else {
		tap_ok(expect_debug(3, GA(g_int3), 0, 0, "int3"),
		       "USE_SW_BP: INT3 exits with #BP at the INT3");
		set_rip(GA(g_int3_1));
		tap_ok(expect_out(0x20, "after int3") != ~0U, "skipped by the VMM, the guest runs on");
	}
	guest_debug(0, NULL, 0);

	set_rip(GA(g_int3));
	v = expect_out(0x27, "guest #BP");
	tap_ok(v == GA(g_int3_1), "without USE_SW_BP the guest's #BP handler runs (rip %#x)", v);
	tap_ok(expect_out(0x20, "after guest #BP") != ~0U, "and returns");

	/* As a debugger does after a #BP exit: RIP at the INT3, #BP given to the guest. */
	set_rip(GA(g_int3));
	r = guest_debug(KVM_GUESTDBG_INJECT_BP, NULL, 0);
	tap_ok(!r, "KVM_GUESTDBG_INJECT_BP (%d)", r);
	r = guest_debug(KVM_GUESTDBG_INJECT_DB, NULL, 0);
	tap_ok(r == -EBUSY, "a second injection while one is pending: EBUSY (%d)", r);
	v = expect_out(0x27, "injected #BP");
	/* TCG pushes a RIP of its own making for an injected #BP, in both lanes. */
	if (tcg_reason)
		tap_ok(v != ~0U, "the injected #BP reaches the guest's handler (rip %#x)", v);
	else
		tap_ok(v == GA(g_int3_1), "the injected #BP reaches the guest's handler, past the INT3 (rip %#x)",
		       v);
}

/* The guest's own #DB, to its handler: DR6 (0x24), the RIP (0x25), DR7 (0x26). */
static void test_guest_db(void)
{
	uint32_t dr6, rip, dr7;

	set_rip(GA(g_own));
	dr6 = expect_out(0x24, "own bp dr6");
	rip = expect_out(0x25, "own bp rip");
	dr7 = expect_out(0x26, "own bp dr7");
	tap_ok(dr6 == 0xffff0ff1 && rip == GA(g_own_bp) && dr7 == 0x401,
	       "the guest's instruction breakpoint reaches its handler: dr6 %#x rip %#x dr7 %#x",
	       dr6, rip, dr7);
	tap_ok(expect_out(0x20, "after own bp") != ~0U, "and the guest runs on");

	set_rip(GA(g_tf));
	dr6 = expect_out(0x24, "own TF dr6");
	rip = expect_out(0x25, "own TF rip");
	dr7 = expect_out(0x26, "own TF dr7");
	tap_ok(dr6 == (DR6_INIT | DR6_BS) && rip == GA(g_tf_after),
	       "the guest's own TF over CPUID: #DB after it, dr6 %#x rip %#x", dr6, rip);
	tap_ok(expect_out(0x20, "after own TF") != ~0U, "and the guest runs on");

	set_rip(GA(g_gd));
	if (tcg_reason) {
		run_to_out(0x20);
		tap_skip(tcg_reason, "DR7.GD: MOV DR faults with #DB");
		tap_skip(tcg_reason, "and the MOV then runs");
		return;
	}
	dr6 = expect_out(0x24, "GD dr6");
	rip = expect_out(0x25, "GD rip");
	dr7 = expect_out(0x26, "GD dr7");
	tap_ok(dr6 == (DR6_INIT | DR6_BD) && rip == GA(g_gd_mov) && dr7 == 0x400,
	       "DR7.GD: MOV DR faults with #DB, dr6 %#x rip %#x, GD cleared (dr7 %#x)",
	       dr6, rip, dr7);
	tap_ok(expect_out(0x20, "after GD") != ~0U, "and the MOV then runs");
}

static volatile uint32_t host_watched;

static int host_watchpoint(void)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_W;
	a.bp_addr = (uintptr_t)&host_watched;
	a.bp_len = HW_BREAKPOINT_LEN_4;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	return syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
}

static uint64_t hits(int fd)
{
	uint64_t n = ~0ULL;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return ~0ULL;
	return n;
}

int main(void)
{
	uint64_t n0, n1;
	int pfd;

	detect_tcg();
	tap_plan(49);
	tvm_create(&t, 8 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, debug_guest, debug_guest_end - debug_guest);
	tvm_long_mode(&t, GA(g_dr));
	tvm_idt_set(&t, 1, GA(g_db_handler));
	tvm_idt_set(&t, 3, GA(g_bp_handler));
	tvm_idt_set(&t, 6, GA(g_ud_handler));
	tvm_idt_set(&t, 13, GA(g_gp_handler));

	/* A watchpoint of the VMM's own, as gdb sets with ptrace. */
	pfd = host_watchpoint();
	host_watched = 1;
	n0 = pfd >= 0 ? hits(pfd) : ~0ULL;

	test_caps();
	test_guest_drs();
	test_hw_bp();
	test_watchpoints();
	test_single_step();
	test_sw_bp();
	test_guest_db();

	if (pfd < 0) {
		tap_skip("perf_event_open failed", "a host watchpoint still fires after the guest ran");
	} else {
		host_watched = 2;
		n1 = hits(pfd);
		tap_ok(n0 == 1 && n1 == 2,
		       "a host watchpoint still fires after the guest ran its own (%llu, %llu)",
		       (unsigned long long)n0, (unsigned long long)n1);
		close(pfd);
	}
	tvm_destroy(&t);
	return tap_done();
}
