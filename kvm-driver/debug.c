// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/debug.c: debug registers: the guest's DR0-DR7, MOV DR, #DB and #BP exits, KVM_GET/SET_DEBUGREGS, KVM_SET_GUEST_DEBUG. */
#include <linux/kvm.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

/* DR6 and DR7 as KVM sees them (arch/x86/include/asm/kvm_host.h). */
#define KVMD_DR6_BD		(1ULL << 13)
#define KVMD_DR6_BS		(1ULL << 14)
#define KVMD_DR6_RTM		(1ULL << 16)
#define KVMD_DR6_BUS_LOCK	(1ULL << 11)
#define KVMD_DR6_ACTIVE_LOW	0xffff0ff0ULL
#define KVMD_DR6_VOLATILE	0x0001e80fULL
#define KVMD_DR6_FIXED_1	(KVMD_DR6_ACTIVE_LOW & ~KVMD_DR6_VOLATILE)
#define KVMD_DR7_BP_EN_MASK	0xffULL
#define KVMD_DR7_GD		(1ULL << 13)
#define KVMD_DR7_FIXED_1	0x400ULL
#define KVMD_DR7_VOLATILE	0xffff2bffULL

/* The DR7 the hardware runs the guest with: the debugger's or the guest's. */
static u64 kvmd_eff_dr7(struct kvmd_vcpu *vcpu)
{
	return (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP) ?
	       vcpu->debug_dr7 : vcpu->dr7;
}

static const u64 *kvmd_eff_db(struct kvmd_vcpu *vcpu)
{
	return (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP) ?
	       vcpu->debug_db : vcpu->dr;
}

static void kvmd_update_dr7(struct kvmd_vcpu *vcpu)
{
	kvmd_ops->set_dr7(vcpu, kvmd_eff_dr7(vcpu));
}

/* Bits of DR6 that read as one: RTM and bus-lock only when the guest has them. */
static u64 kvmd_dr6_fixed(struct kvmd_vcpu *vcpu)
{
	u64 fixed = KVMD_DR6_FIXED_1;

	if (!kvmd_guest_has(vcpu, 7, 1, 11))		/* CPUID.7.EBX.RTM */
		fixed |= KVMD_DR6_RTM;
	if (!kvmd_guest_has(vcpu, 7, 2, 24))		/* CPUID.7.ECX.BUS_LOCK_DETECT */
		fixed |= KVMD_DR6_BUS_LOCK;
	return fixed;
}

/* Power-on and INIT: DR0-3 zero, DR6 and DR7 at their fixed values. */
void kvmd_debug_reset(struct kvmd_vcpu *vcpu)
{
	memset(vcpu->dr, 0, sizeof(vcpu->dr));
	vcpu->dr_passthrough = false;
	vcpu->dr6 = KVMD_DR6_ACTIVE_LOW;
	vcpu->dr7 = KVMD_DR7_FIXED_1;
	kvmd_update_dr7(vcpu);
	kvmd_ops->update_debug(vcpu);
}

u64 kvmd_get_dr(struct kvmd_vcpu *vcpu, int dr)
{
	switch (dr) {
	case 0 ... 3:
		return vcpu->dr[dr];
	case 4:
	case 6:
		return vcpu->dr6;
	default:
		return vcpu->dr7;
	}
}

/* A guest or emulated write of DRn; nonzero means #GP (bits 63:32 of DR6/DR7). */
int kvmd_set_dr(struct kvmd_vcpu *vcpu, int dr, u64 val)
{
	switch (dr) {
	case 0 ... 3:
		vcpu->dr[dr] = val;
		return 0;
	case 4:
	case 6:
		if (val >> 32)
			return 1;
		vcpu->dr6 = (val & KVMD_DR6_VOLATILE) | kvmd_dr6_fixed(vcpu);
		return 0;
	default:
		if (val >> 32)
			return 1;
		vcpu->dr7 = (val & KVMD_DR7_VOLATILE) | KVMD_DR7_FIXED_1;
		kvmd_update_dr7(vcpu);
		return 0;
	}
}

/*
 * A #DB for the guest: DR6 takes the cause as KVM delivers a payload, and
 * DR7.GD goes (the processor clears it so the handler may use the DRs; a
 * #DB that exits to us or is injected never did).
 */
static void kvmd_db_clear_gd(struct kvmd_vcpu *vcpu)
{
	if (vcpu->dr7 & KVMD_DR7_GD) {
		vcpu->dr7 &= ~KVMD_DR7_GD;
		kvmd_update_dr7(vcpu);
	}
}

static void kvmd_queue_db(struct kvmd_vcpu *vcpu, u64 payload)
{
	vcpu->dr6 &= ~(u64)DR_TRAP_BITS;
	vcpu->dr6 |= KVMD_DR6_ACTIVE_LOW;
	vcpu->dr6 |= payload;
	vcpu->dr6 ^= payload & KVMD_DR6_ACTIVE_LOW;
	vcpu->dr6 &= ~(1ULL << 12);
	kvmd_db_clear_gd(vcpu);
	kvmd_queue_exception(vcpu, DB_VECTOR);
}

static int kvmd_debug_exit(struct kvmd_vcpu *vcpu, u32 exception)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_segment cs;

	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.exception = exception;
	run->debug.arch.pc = cs.base + vcpu->rip;
	return KVMD_EXIT_USER;
}

/*
 * MOV to or from DR@dr, intercepted. True when it executed (the caller
 * writes *val to the register of a read and skips the instruction);
 * false with *r the handler's result when it faulted or exits instead.
 */
bool kvmd_emulate_mov_dr(struct kvmd_vcpu *vcpu, int dr, bool write, u64 *val,
			 int *r)
{
	*r = KVMD_RESUME;
	/*
	 * As KVM: with no debugger the guest gets the registers themselves
	 * until the next exit and runs this instruction again natively; the
	 * exit reads them back (KVM's KVM_DEBUGREG_WONT_EXIT).
	 */
	if (!vcpu->guest_debug) {
		vcpu->dr_passthrough = true;
		kvmd_ops->update_debug(vcpu);
		return false;
	}
	if (kvmd_ops->get_cpl(vcpu)) {
		kvmd_queue_exception_e(vcpu, GP_VECTOR, 0);
		return false;
	}
	if ((dr == 4 || dr == 5) && (kvmd_ops->get_cr(vcpu, 4) & X86_CR4_DE)) {
		kvmd_queue_exception(vcpu, UD_VECTOR);
		return false;
	}
	/* General detect: a fault before the access, the debugger's DR7 first. */
	if (kvmd_eff_dr7(vcpu) & KVMD_DR7_GD) {
		if (vcpu->guest_debug & KVM_GUESTDBG_USE_HW_BP) {
			vcpu->run->debug.arch.dr6 = KVMD_DR6_ACTIVE_LOW | KVMD_DR6_BD;
			vcpu->run->debug.arch.dr7 = vcpu->debug_dr7;
			*r = kvmd_debug_exit(vcpu, DB_VECTOR);
			return false;
		}
		kvmd_queue_db(vcpu, KVMD_DR6_BD);
		return false;
	}
	if (!write) {
		*val = kvmd_get_dr(vcpu, dr);
		return true;
	}
	if (!kvmd_long_mode(vcpu))
		*val = (u32)*val;
	if (kvmd_set_dr(vcpu, dr, *val)) {
		kvmd_queue_exception_e(vcpu, GP_VECTOR, 0);
		return false;
	}
	return true;
}

/*
 * A #DB the hardware raised in the guest; @dr6 as the hardware reports it
 * (active-low bits set). The debugger's if it steps or set breakpoints,
 * else the guest's own.
 */
int kvmd_handle_db(struct kvmd_vcpu *vcpu, u64 dr6)
{
	if (vcpu->guest_debug & (KVM_GUESTDBG_SINGLESTEP | KVM_GUESTDBG_USE_HW_BP)) {
		vcpu->run->debug.arch.dr6 = dr6;
		vcpu->run->debug.arch.dr7 = kvmd_ops->get_dr7(vcpu);
		return kvmd_debug_exit(vcpu, DB_VECTOR);
	}
	kvmd_queue_db(vcpu, dr6 ^ KVMD_DR6_ACTIVE_LOW);
	return KVMD_RESUME;
}

/* INT3 with KVM_GUESTDBG_USE_SW_BP: like KVM, debug.arch.dr6/dr7 stay as they were. */
int kvmd_handle_bp(struct kvmd_vcpu *vcpu)
{
	return kvmd_debug_exit(vcpu, BP_VECTOR);
}

/*
 * The instruction the kernel completed (kvmd_debug_insn_done) ends with
 * a single-step trap: an exit to the debugger if it steps, else a #DB for
 * the guest when its own TF (@guest_tf) was set.
 */
int kvmd_debug_step_done(struct kvmd_vcpu *vcpu, bool guest_tf, int r)
{
	if (vcpu->guest_debug & KVM_GUESTDBG_SINGLESTEP) {
		/* As KVM: dr7 is left as the last debug exit wrote it. */
		vcpu->run->debug.arch.dr6 = KVMD_DR6_BS | KVMD_DR6_ACTIVE_LOW;
		return kvmd_debug_exit(vcpu, DB_VECTOR);
	}
	if (guest_tf)
		kvmd_queue_db(vcpu, KVMD_DR6_BS);
	return r;
}

/*
 * Just before entry, interrupts off: the guest's own DR0-3 and DR6 when it
 * owns them, else the effective DR0-3 when some breakpoint is enabled
 * (the backend loads DR7, and on SVM DR6, from its control block).
 */
__kvmd_hot void kvmd_debug_load_guest(struct kvmd_vcpu *vcpu)
{
	const u64 *db;

	if (!vcpu->dr_passthrough &&
	    !(kvmd_eff_dr7(vcpu) & KVMD_DR7_BP_EN_MASK)) {
		/* The host's breakpoints must not fire in the world switch. */
		if (hw_breakpoint_active())
			set_debugreg(0, 7);
		return;
	}
	db = kvmd_eff_db(vcpu);
	set_debugreg(0, 7);
	set_debugreg(db[0], 0);
	set_debugreg(db[1], 1);
	set_debugreg(db[2], 2);
	set_debugreg(db[3], 3);
	if (vcpu->dr_passthrough)
		set_debugreg(vcpu->dr6, 6);
}

/*
 * Right after the exit, interrupts still off: what the guest wrote to
 * registers it owned is read back before the host's own breakpoints (a
 * ptrace watchpoint on the VMM) return.
 */
void kvmd_debug_load_host(struct kvmd_vcpu *vcpu)
{
	if (vcpu->dr_passthrough) {
		get_debugreg(vcpu->dr[0], 0);
		get_debugreg(vcpu->dr[1], 1);
		get_debugreg(vcpu->dr[2], 2);
		get_debugreg(vcpu->dr[3], 3);
		vcpu->dr6 = kvmd_ops->get_dr6(vcpu);
		vcpu->dr7 = kvmd_ops->get_dr7(vcpu);
		/* VMX leaves the guest's DR6 live: no stale cause for the host's next #DB. */
		set_debugreg(DR6_RESERVED, 6);
	}
	if (hw_breakpoint_active())
		hw_breakpoint_restore();
}

/* Before the exit is handled: the next MOV DR exits again, as with KVM. */
void kvmd_debug_after_exit(struct kvmd_vcpu *vcpu)
{
	if (!vcpu->dr_passthrough)
		return;
	vcpu->dr_passthrough = false;
	kvmd_update_dr7(vcpu);
	kvmd_ops->update_debug(vcpu);
}

/* KVM_GUESTDBG_* this driver implements: KVM's KVM_GUESTDBG_VALID_MASK. */
#define KVMD_GUESTDBG_VALID (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
			     KVM_GUESTDBG_USE_HW_BP | KVM_GUESTDBG_USE_SW_BP | \
			     KVM_GUESTDBG_INJECT_BP | KVM_GUESTDBG_INJECT_DB | \
			     KVM_GUESTDBG_BLOCKIRQ)

long kvmd_guest_debug_valid_mask(void)
{
	return KVMD_GUESTDBG_VALID;
}

/*
 * KVM_GUESTDBG_INJECT_BP: KVM delivers it as the INT3 at RIP would be,
 * past that instruction (what a debugger wants after a #BP exit). Only
 * INT3 itself is skipped here; at another instruction #BP returns to it.
 */
static void kvmd_inject_bp(struct kvmd_vcpu *vcpu)
{
	unsigned int len = 0;
	u8 insn[15];

	/*
	 * An I/O the last exit left for userspace at another RIP is dropped
	 * now, as the next KVM_RUN would: moving RIP must not make it match.
	 */
	if (vcpu->pending != KVMD_PENDING_NONE && vcpu->rip != vcpu->pending_rip) {
		vcpu->pending = KVMD_PENDING_NONE;
		vcpu->mmio_cached = 0;
	}
	if (!kvmd_fetch_insn(vcpu, insn, &len) && len >= 1 && insn[0] == 0xcc)
		kvmd_skip_insn(vcpu, 1);
	kvmd_queue_exception(vcpu, BP_VECTOR);
}

static int kvmd_set_guest_debug(struct kvmd_vcpu *vcpu,
				const struct kvm_guest_debug *dbg)
{
	u32 control = dbg->control;
	int i;

	/* Like KVM 6.1, unknown bits are not refused (they do nothing here). */
	if (control & (KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP)) {
		if (vcpu->exception.pending || vcpu->exception.injected)
			return -EBUSY;
		if (control & KVM_GUESTDBG_INJECT_DB) {
			kvmd_db_clear_gd(vcpu);
			kvmd_queue_exception(vcpu, DB_VECTOR);
		} else {
			kvmd_inject_bp(vcpu);
		}
	}
	if (!(control & KVM_GUESTDBG_ENABLE))
		control = 0;
	vcpu->guest_debug = control & KVMD_GUESTDBG_VALID &
			    ~(KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP);
	if (control & KVM_GUESTDBG_USE_HW_BP) {
		for (i = 0; i < 4; i++)
			vcpu->debug_db[i] = dbg->arch.debugreg[i];
		vcpu->debug_dr7 = dbg->arch.debugreg[7];
	}
	kvmd_update_dr7(vcpu);
	kvmd_ops->update_debug(vcpu);
	kvmd_make_request(vcpu, KVMD_REQ_EVENT);
	return 0;
}

static void kvmd_get_debugregs(struct kvmd_vcpu *vcpu, struct kvm_debugregs *d)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->db, vcpu->dr, sizeof(d->db));
	d->dr6 = vcpu->dr6;
	d->dr7 = vcpu->dr7;
}

/* As KVM: flags must be zero, DR6 and DR7 fit in 32 bits; taken as given. */
static int kvmd_set_debugregs(struct kvmd_vcpu *vcpu,
			      const struct kvm_debugregs *d)
{
	if (d->flags || (d->dr6 >> 32) || (d->dr7 >> 32))
		return -EINVAL;
	memcpy(vcpu->dr, d->db, sizeof(vcpu->dr));
	vcpu->dr6 = d->dr6;
	vcpu->dr7 = d->dr7;
	kvmd_update_dr7(vcpu);
	return 0;
}

long kvmd_debug_ioctl(struct kvmd_vcpu *vcpu, unsigned int ioctl,
		      void __user *argp)
{
	union {
		struct kvm_debugregs regs;
		struct kvm_guest_debug dbg;
	} u;

	switch (ioctl) {
	case KVM_GET_DEBUGREGS:
		kvmd_get_debugregs(vcpu, &u.regs);
		return copy_to_user(argp, &u.regs, sizeof(u.regs)) ? -EFAULT : 0;
	case KVM_SET_DEBUGREGS:
		if (copy_from_user(&u.regs, argp, sizeof(u.regs)))
			return -EFAULT;
		return kvmd_set_debugregs(vcpu, &u.regs);
	case KVM_SET_GUEST_DEBUG:
		if (copy_from_user(&u.dbg, argp, sizeof(u.dbg)))
			return -EFAULT;
		return kvmd_set_guest_debug(vcpu, &u.dbg);
	default:
		return -ENOTTY;
	}
}
