// SPDX-License-Identifier: GPL-2.0
/* kvm-driver/vcpu.c: the vCPU file descriptor: state ioctls, the run loop, event queues. */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <asm/debugreg.h>
#include <asm/fpu/api.h>
#include <asm/kvm_para.h>
#include <asm/msr-index.h>
#include <asm/msr.h>
#include <asm/processor-flags.h>

#include "kvmdrv.h"

void kvmd_queue_exception(struct kvmd_vcpu *vcpu, u8 nr)
{
	vcpu->exception.pending = true;
	vcpu->exception.nr = nr;
	vcpu->exception.has_error = false;
	vcpu->exception.error = 0;
}

void kvmd_queue_exception_e(struct kvmd_vcpu *vcpu, u8 nr, u32 error)
{
	kvmd_queue_exception(vcpu, nr);
	vcpu->exception.has_error = true;
	vcpu->exception.error = error;
}

__kvmd_hot void kvmd_skip_insn(struct kvmd_vcpu *vcpu, unsigned int len)
{
	vcpu->rip += len;
	if (!kvmd_long_mode(vcpu))
		vcpu->rip = (u32)vcpu->rip;
	/* Completing an instruction ends an STI/MOV SS shadow. */
	kvmd_ops->set_interrupt_shadow(vcpu, 0);
}

/* Nested virtualization holds events back (GIF clear...): vendor.h. */
static bool kvmd_events_blocked(struct kvmd_vcpu *vcpu)
{
	return kvmd_ops->events_blocked && kvmd_ops->events_blocked(vcpu);
}

/*
 * The guest could take an external interrupt right now, or L2 would leave
 * for L1 with it (KVM's kvm_arch_interrupt_allowed).
 */
__kvmd_hot bool kvmd_interrupt_allowed(struct kvmd_vcpu *vcpu)
{
	if (kvmd_ops->nested_intr_exits && kvmd_ops->nested_intr_exits(vcpu))
		return true;
	return (vcpu->rflags & X86_EFLAGS_IF) &&
	       !kvmd_ops->get_interrupt_shadow(vcpu) &&
	       !kvmd_events_blocked(vcpu);
}

static bool kvmd_ready_for_interrupt(struct kvmd_vcpu *vcpu)
{
	return kvmd_interrupt_allowed(vcpu) && !vcpu->interrupt.injected &&
	       !vcpu->exception.pending && !vcpu->exception.injected;
}

/* ---- exits shared by every backend ---- */

int kvmd_handle_hlt(struct kvmd_vcpu *vcpu)
{
	kvmd_skip_insn(vcpu, 1);
	/* With the APIC in the kernel the vCPU sleeps in KVM_RUN instead. */
	if (vcpu->apic) {
		vcpu->mp_state = KVM_MP_STATE_HALTED;
		return KVMD_RESUME;
	}
	vcpu->run->exit_reason = KVM_EXIT_HLT;
	return KVMD_EXIT_USER;
}

/* A guest write of CR8: like KVM, lowering the priority exits to the VMM. */
int kvmd_set_tpr(struct kvmd_vcpu *vcpu, u64 tpr)
{
	u64 old = kvmd_ops->get_cr(vcpu, 8);

	kvmd_ops->set_cr8(vcpu, tpr);
	if (vcpu->apic) {
		kvmd_apic_set_tpr(vcpu, tpr);
		return KVMD_RESUME;
	}
	if (tpr >= old)
		return KVMD_RESUME;
	vcpu->run->exit_reason = KVM_EXIT_SET_TPR;
	return KVMD_EXIT_USER;
}

/* Power-on state: the vendor's registers, then what every vendor shares. */
static void kvmd_vcpu_reset(struct kvmd_vcpu *vcpu)
{
	kvmd_smm_reset(vcpu);
	kvmd_ops->vcpu_reset(vcpu);
	memset(vcpu->regs, 0, sizeof(vcpu->regs));
	vcpu->regs[R_DX] = 0x600;
	vcpu->rip = 0xfff0;
	vcpu->rflags = X86_EFLAGS_FIXED;
	memset(&vcpu->exception, 0, sizeof(vcpu->exception));
	memset(&vcpu->interrupt, 0, sizeof(vcpu->interrupt));
	memset(&vcpu->nmi, 0, sizeof(vcpu->nmi));
	vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
	vcpu->pending = KVMD_PENDING_NONE;
	vcpu->mmio_cached = 0;
	vcpu->mmio_str.n = 0;
	kvmd_debug_reset(vcpu);
	kvmd_apf_reset(vcpu);
	/* As KVM's kvm_vcpu_reset, INIT too: steal time and kvmclock off. */
	vcpu->steal_msr = 0;
	vcpu->kvmclock_system_time = 0;
}

/* INIT: the power-on registers and the APIC's INIT state; other MSRs stay. */
void kvmd_vcpu_init_reset(struct kvmd_vcpu *vcpu)
{
	kvmd_vcpu_reset(vcpu);
	kvmd_lapic_reset(vcpu, true);
}

int kvmd_handle_shutdown(struct kvmd_vcpu *vcpu)
{
	/* The hardware leaves the guest state undefined: start from reset. */
	kvmd_vcpu_reset(vcpu);
	vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
	return KVMD_EXIT_USER;
}

int kvmd_internal_error(struct kvmd_vcpu *vcpu, u32 suberror, u64 info1,
			u64 info2)
{
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->internal.suberror = suberror;
	run->internal.ndata = 2;
	run->internal.data[0] = info1;
	run->internal.data[1] = info2;
	return KVMD_EXIT_USER;
}

/*
 * An instruction that cannot be emulated, reported as KVM does: the flags,
 * then (when any could be fetched) the instruction's size and bytes in
 * the next 16 bytes of kvm_run, padded with NOPs, then the exit's reason,
 * two details, the event being delivered and its error code.
 */
int kvmd_emulation_failure(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u8 insn[15];
	unsigned int len = 0;
	u64 info[5] = { 0 };
	u32 n = 1;

	if (kvmd_fetch_insn(vcpu, insn, &len))	/* at most 15 bytes */
		len = 0;
	run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
	run->emulation_failure.suberror = KVM_INTERNAL_ERROR_EMULATION;
	run->emulation_failure.flags = 0;
	if (len) {
		run->emulation_failure.flags =
			KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		run->emulation_failure.insn_size = len;
		memset(run->emulation_failure.insn_bytes, 0x90,
		       sizeof(run->emulation_failure.insn_bytes));
		memcpy(run->emulation_failure.insn_bytes, insn, len);
		n += 2;
	}
	kvmd_ops->get_exit_info(vcpu, info);
	memcpy(&run->internal.data[n], info, sizeof(info));
	run->emulation_failure.ndata = n + ARRAY_SIZE(info);
	return KVMD_EXIT_USER;
}

static u64 kvmd_seg_base(struct kvmd_vcpu *vcpu, int seg)
{
	struct kvm_segment s;

	if (kvmd_long_mode(vcpu) && seg != KVMD_SEG_FS && seg != KVMD_SEG_GS)
		return 0;
	kvmd_ops->get_segment(vcpu, &s, seg);
	return s.base;
}

static u64 kvmd_addr_mask(u8 addr_size)
{
	return addr_size == 8 ? ~0ULL : (1ULL << (addr_size * 8)) - 1;
}

static void kvmd_reg_write_masked(struct kvmd_vcpu *vcpu, int reg, u64 val,
				  u8 addr_size)
{
	u64 mask = kvmd_addr_mask(addr_size);

	if (addr_size == 4)
		vcpu->regs[reg] = (u32)val;
	else
		vcpu->regs[reg] = (vcpu->regs[reg] & ~mask) | (val & mask);
}

/* Elements of a string I/O that stay in one guest page and the data page. */
static u32 kvmd_string_count(struct kvmd_vcpu *vcpu, u64 addr, u8 size,
			     bool rep, u8 addr_size)
{
	u64 count = rep ? vcpu->regs[R_CX] & kvmd_addr_mask(addr_size) : 1;
	u64 room;

	if (vcpu->rflags & X86_EFLAGS_DF)
		return count ? 1 : 0;
	room = (PAGE_SIZE - offset_in_page(addr)) / size;
	if (!room)
		room = 1;
	count = min_t(u64, count, room);
	return min_t(u64, count, PAGE_SIZE / size);
}

static void kvmd_string_advance(struct kvmd_vcpu *vcpu, int reg, u32 count)
{
	u64 delta = (u64)count * vcpu->pio.size;
	u64 v = vcpu->regs[reg];

	v = (vcpu->rflags & X86_EFLAGS_DF) ? v - delta : v + delta;
	kvmd_reg_write_masked(vcpu, reg, v, vcpu->pio.addr_size);
	if (vcpu->pio.rep)
		kvmd_reg_write_masked(vcpu, R_CX, vcpu->regs[R_CX] - count,
				      vcpu->pio.addr_size);
}

static bool kvmd_string_done(struct kvmd_vcpu *vcpu)
{
	return !vcpu->pio.rep ||
	       !(vcpu->regs[R_CX] & kvmd_addr_mask(vcpu->pio.addr_size));
}

static int kvmd_inject_walk_fault(struct kvmd_vcpu *vcpu, int r,
				  struct kvmd_walk_fault *f)
{
	if (r == -EINVAL) {
		kvmd_ops->set_cr2(vcpu, f->addr);
		kvmd_queue_exception_e(vcpu, 14, f->error_code);
		return KVMD_RESUME;
	}
	return kvmd_emulation_failure(vcpu);
}

/* An I/O port access: fill kvm_run, finish it on the next KVM_RUN. */
static int kvmd_complete_pio(struct kvmd_vcpu *vcpu);

static int kvmd_pio_exit(struct kvmd_vcpu *vcpu, bool in, u32 count, bool inc_rip)
{
	struct kvm_run *run = vcpu->run;

	vcpu->pio.count = count;
	run->exit_reason = KVM_EXIT_IO;
	run->io.direction = in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
	run->io.size = vcpu->pio.size;
	run->io.port = vcpu->pio.port;
	run->io.count = count;
	run->io.data_offset = KVMD_PIO_PAGE * PAGE_SIZE;
	if (inc_rip) {
		vcpu->rip = vcpu->pio.next_rip;
		return KVMD_EXIT_USER;
	}
	vcpu->pending = KVMD_PENDING_PIO;
	vcpu->pending_rip = vcpu->rip;
	if (!in)
		vcpu->pio.count = 0;	/* nothing to copy back */
	return KVMD_EXIT_USER;
}

/*
 * One OUT of @size bytes from @val, as the emulator's OUTS makes it (one
 * element each, as KVM's): a port of an in-kernel device completes here
 * with RIP at @next_rip; any other exits to userspace.
 */
int kvmd_pio_out(struct kvmd_vcpu *vcpu, u16 port, u8 size, const void *val,
		 u64 next_rip)
{
	vcpu->pio.port = port;
	vcpu->pio.size = size;
	vcpu->pio.string = false;
	vcpu->pio.rep = false;
	vcpu->pio.next_rip = next_rip;
	if (!kvmd_io_bus_write(vcpu, KVMD_PIO_BUS, port, size, val) ||
	    kvmd_coalesced_write(vcpu->vm, port, size, val, true)) {
		vcpu->rip = next_rip;
		return KVMD_RESUME;
	}
	memcpy(kvmd_pio_data(vcpu), val, size);
	return kvmd_pio_exit(vcpu, false, 1, false);
}

__kvmd_hot int kvmd_handle_io(struct kvmd_vcpu *vcpu, u16 port, u8 size, bool in,
		   bool string, bool rep, u8 addr_size, int seg, u64 next_rip)
{
	u32 count = 1;
	bool inc_rip = false;

	vcpu->pio.port = port;
	vcpu->pio.size = size;
	vcpu->pio.string = string;
	vcpu->pio.rep = rep;
	vcpu->pio.addr_size = addr_size;
	vcpu->pio.next_rip = next_rip;

	if (string) {
		u64 addr;
		int r;

		if (in)
			addr = kvmd_seg_base(vcpu, KVMD_SEG_ES) +
			       (vcpu->regs[R_DI] & kvmd_addr_mask(addr_size));
		else
			addr = kvmd_seg_base(vcpu, seg) +
			       (vcpu->regs[R_SI] & kvmd_addr_mask(addr_size));
		count = kvmd_string_count(vcpu, addr, size, rep, addr_size);
		if (!count) {
			vcpu->rip = next_rip;
			return KVMD_RESUME;
		}
		if (!in) {
			struct kvmd_walk_fault f;

			r = kvmd_read_guest_virt(vcpu, addr, kvmd_pio_data(vcpu),
						 count * size, 0, &f);
			/* Not RAM: KVM's emulator, one element at a time. */
			if (r == -ENOENT)
				return kvmd_emulate_mmio(vcpu);
			if (r)
				return kvmd_inject_walk_fault(vcpu, r, &f);
			vcpu->pio.count = count;
			kvmd_string_advance(vcpu, R_SI, count);
		}
	} else if (!in) {
		/* a port of an in-kernel device or a coalesced port completes here */
		if ((kvmd_io_bus_has_devices(vcpu->vm, KVMD_PIO_BUS) &&
		     !kvmd_io_bus_write(vcpu, KVMD_PIO_BUS, port, size,
					&vcpu->regs[R_AX])) ||
		    (kvmd_coalesced_any(vcpu->vm) &&
		     kvmd_coalesced_write(vcpu->vm, port, size,
					  &vcpu->regs[R_AX], true))) {
			vcpu->rip = next_rip;
			return KVMD_RESUME;
		}
		memcpy(kvmd_pio_data(vcpu), &vcpu->regs[R_AX], size);
		/*
		 * KVM_X86_QUIRK_OUT_7E_INC_RIP: old KVM's OUT to port 0x7e left
		 * RIP past the instruction before the exit; nothing to complete.
		 */
		inc_rip = port == 0x7e &&
			  kvmd_has_quirk(vcpu->vm, KVM_X86_QUIRK_OUT_7E_INC_RIP);
	} else if (kvmd_io_bus_has_devices(vcpu->vm, KVMD_PIO_BUS) &&
		   !kvmd_io_bus_read(vcpu, KVMD_PIO_BUS, port, size,
				     kvmd_pio_data(vcpu))) {
		vcpu->pio.count = 1;
		return kvmd_complete_pio(vcpu);
	}
	return kvmd_pio_exit(vcpu, in, count, inc_rip);
}

static __kvmd_hot int kvmd_complete_pio(struct kvmd_vcpu *vcpu)
{
	void *data = kvmd_pio_data(vcpu);
	u64 v = 0;

	if (!vcpu->pio.count) {
		/* OUT (or an OUTS chunk) */
		if (!vcpu->pio.string || kvmd_string_done(vcpu))
			vcpu->rip = vcpu->pio.next_rip;
		return KVMD_RESUME;
	}
	if (vcpu->pio.string) {
		struct kvmd_walk_fault f;
		u64 addr = kvmd_seg_base(vcpu, KVMD_SEG_ES) +
			   (vcpu->regs[R_DI] & kvmd_addr_mask(vcpu->pio.addr_size));
		u32 count = vcpu->pio.count;
		int r;

		/*
		 * The VMM may have lowered RCX meanwhile (KVM's selftests do):
		 * store no more elements than are left, never wrap RCX.
		 */
		if (vcpu->pio.rep)
			count = min_t(u64, count, vcpu->regs[R_CX] &
				      kvmd_addr_mask(vcpu->pio.addr_size));
		/*
		 * RAM is written at once; memory that is not RAM takes the
		 * data as MMIO writes, as KVM's emulator does, the ones no
		 * in-kernel device takes exiting after the registers moved.
		 */
		r = kvmd_string_in_store(vcpu, addr, count * vcpu->pio.size, &f);
		if (r < 0)
			return kvmd_inject_walk_fault(vcpu, r, &f);
		kvmd_string_advance(vcpu, R_DI, count);
		if (kvmd_string_done(vcpu))
			vcpu->rip = vcpu->pio.next_rip;
		return r ? kvmd_string_mmio_exit(vcpu) : KVMD_RESUME;
	}
	memcpy(&v, data, vcpu->pio.size);
	switch (vcpu->pio.size) {
	case 1:
		vcpu->regs[R_AX] = (vcpu->regs[R_AX] & ~0xffUL) | v;
		break;
	case 2:
		vcpu->regs[R_AX] = (vcpu->regs[R_AX] & ~0xffffUL) | v;
		break;
	default:
		vcpu->regs[R_AX] = (u32)v;
		break;
	}
	vcpu->rip = vcpu->pio.next_rip;
	return KVMD_RESUME;
}

/* Finish what the last exit left to userspace; <= 0 stops KVM_RUN. */
static int kvmd_complete_userspace(struct kvmd_vcpu *vcpu)
{
	enum kvmd_pending p = vcpu->pending;

	if (vcpu->msr_exit.pending)
		return kvmd_complete_msr_exit(vcpu);
	if (vcpu->hv && kvmd_hv_hypercall_pending(vcpu))
		return kvmd_hv_complete_hypercall(vcpu);
	vcpu->pending = KVMD_PENDING_NONE;
	/* Like KVM: userspace moved RIP, so the instruction is abandoned. */
	if (p != KVMD_PENDING_NONE && vcpu->rip != vcpu->pending_rip) {
		vcpu->mmio_cached = 0;
		vcpu->mmio_str.n = 0;
		return KVMD_RESUME;
	}
	switch (p) {
	case KVMD_PENDING_PIO:
		return kvmd_complete_pio(vcpu);
	case KVMD_PENDING_MMIO:
		if (!vcpu->run->mmio.is_write &&
		    vcpu->mmio_cached < KVMD_MMIO_CACHE) {
			memcpy(&vcpu->mmio_cache[vcpu->mmio_cached].data,
			       vcpu->run->mmio.data, 8);
			vcpu->mmio_cached++;
			return kvmd_emulate_mmio(vcpu);
		}
		vcpu->mmio_cached = 0;
		return kvmd_emulate_mmio_next(vcpu);
	default:
		return KVMD_RESUME;
	}
}

/* ---- event injection ---- */

static void kvmd_inject_events(struct kvmd_vcpu *vcpu)
{
	bool irq_waits = false;

	if (vcpu->nmi.iret_seen && vcpu->rip != vcpu->nmi.iret_rip) {
		vcpu->nmi.masked = false;
		vcpu->nmi.iret_seen = false;
	}

	/* One event per entry, exceptions first; a queued IRQ waits behind it. */
	if (vcpu->exception.pending || vcpu->exception.injected) {
		vcpu->exception.pending = false;
		vcpu->exception.injected = true;
		kvmd_ops->inject_exception(vcpu, vcpu->exception.nr,
					   vcpu->exception.has_error,
					   vcpu->exception.error);
		irq_waits = vcpu->interrupt.injected;
	} else if (vcpu->nmi.injected) {
		kvmd_ops->inject_nmi(vcpu);
		irq_waits = vcpu->interrupt.injected;
	} else if (vcpu->interrupt.injected) {
		kvmd_ops->inject_irq(vcpu, vcpu->interrupt.nr);
	} else if (vcpu->guest_debug & KVM_GUESTDBG_BLOCKIRQ) {
		/* As KVM: the debugger asked for no new NMI or interrupt. */
	} else if (vcpu->nmi.pending && !vcpu->nmi.masked &&
		   !kvmd_ops->get_interrupt_shadow(vcpu) && !kvmd_events_blocked(vcpu)) {
		vcpu->nmi.pending = false;
		vcpu->nmi.injected = true;
		vcpu->nmi.masked = true;
		kvmd_ops->inject_nmi(vcpu);
	} else if (kvmd_interrupt_allowed(vcpu) && kvmd_cpu_has_interrupt(vcpu)) {
		/* The in-kernel APIC or PIC acknowledges it now. */
		int vec = kvmd_cpu_get_interrupt(vcpu);

		if (vec >= 0) {
			vcpu->interrupt.injected = true;
			vcpu->interrupt.soft = false;
			vcpu->interrupt.nr = vec;
			kvmd_ops->inject_irq(vcpu, vec);
		}
	}

	if (vcpu->guest_debug & KVM_GUESTDBG_BLOCKIRQ)
		return;
	if (vcpu->nmi.pending)
		kvmd_ops->enable_nmi_window(vcpu);
	/* Exit as soon as the guest can take the waiting or requested IRQ. */
	if (vcpu->run->request_interrupt_window || irq_waits ||
	    (!vcpu->interrupt.injected && kvmd_cpu_has_interrupt(vcpu)))
		kvmd_ops->enable_irq_window(vcpu);
}

/* One entry into the guest; returns KVMD_RESUME, KVMD_EXIT_USER or -errno. */
static int kvmd_enter_guest(struct kvmd_vcpu *vcpu)
{
	bool force_steal, tf;
	u64 rip;
	int r;

	/*
	 * Like KVM, a requested shutdown leaves the registers as they are;
	 * a guest hypervisor may take its guest's as an exit instead.
	 */
	if (kvmd_check_request(vcpu, KVMD_REQ_TRIPLE_FAULT) &&
	    !(kvmd_ops->nested_triple_fault && kvmd_ops->nested_triple_fault(vcpu))) {
		vcpu->run->exit_reason = KVM_EXIT_SHUTDOWN;
		return KVMD_EXIT_USER;
	}
	/* async_pf.c: the page is not in yet; wait for it in kvmd_vcpu_block. */
	if (kvmd_check_request(vcpu, KVMD_REQ_APF_HALT)) {
		vcpu->apf.halted = true;
		return KVMD_RESUME;
	}
	/*
	 * Steal time: forced once per KVM_RUN and after each preemption (pv.c),
	 * else when the thread waited. First: the guest may ask for a TLB flush.
	 */
	force_steal = kvmd_check_request(vcpu, KVMD_REQ_STEAL_UPDATE);
	if (vcpu->steal_msr & KVM_MSR_ENABLED)
		kvmd_record_steal_time(vcpu, force_steal);
	if (kvmd_check_request(vcpu, KVMD_REQ_TLB_FLUSH)) {
		vcpu->stat.tlb_flush++;
		kvmd_ops->flush_tlb(vcpu);
	}
	if (kvmd_check_request(vcpu, KVMD_REQ_CLOCK_UPDATE))
		kvmd_kvmclock_update(vcpu);
	if (kvmd_check_request(vcpu, KVMD_REQ_EOI_EXIT)) {
		int vec = kvmd_apic_take_eoi_exit(vcpu);

		if (vec >= 0) {
			vcpu->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
			vcpu->run->eoi.vector = vec;
			return KVMD_EXIT_USER;
		}
	}
	if (kvmd_check_request(vcpu, KVMD_REQ_TPR_ACCESS)) {
		vcpu->run->exit_reason = KVM_EXIT_TPR_ACCESS;
		return KVMD_EXIT_USER;
	}
	if (kvmd_check_request(vcpu, KVMD_REQ_HV) &&
	    kvmd_hv_service(vcpu) == KVMD_EXIT_USER)
		return KVMD_EXIT_USER;
	if (kvmd_check_request(vcpu, KVMD_REQ_APF_READY))
		kvmd_apf_check_completion(vcpu);
	kvmd_check_request(vcpu, KVMD_REQ_EVENT);
	if (vcpu->apic) {
		/* INIT, SIPI, the timer and NMIs other threads left pending. */
		kvmd_apic_accept_events(vcpu);
		if (vcpu->mp_state != KVM_MP_STATE_RUNNABLE)
			return KVMD_RESUME;
		kvmd_apic_sync(vcpu);
		kvmd_apic_sync_from_vapic(vcpu);
		kvmd_ops->set_cr8(vcpu, kvmd_apic_get_cr8(vcpu));
	}
	if (kvmd_ops->nested_events)
		kvmd_ops->nested_events(vcpu);
	/* An SMI requested or pending: the common entry has neither. */
	if (vcpu->smm.pending || test_bit(KVMD_REQ_SMI, &vcpu->requests))
		kvmd_smm_inject(vcpu);
	kvmd_inject_events(vcpu);
	if (vcpu->apic)
		kvmd_apic_sync_to_vapic(vcpu);
	kvmd_xsave_prepare(vcpu);

	local_irq_disable();
	vcpu->cpu = smp_processor_id();
	WRITE_ONCE(vcpu->mode, KVMD_IN_GUEST);
	smp_mb();
	if (READ_ONCE(vcpu->requests) || need_resched() ||
	    signal_pending(current)) {
		WRITE_ONCE(vcpu->mode, KVMD_OUTSIDE_GUEST);
		local_irq_enable();
		/* The guest did not run: its PV EOI bit goes (lapic.c). */
		kvmd_apic_pv_eoi_from_guest(vcpu);
		return KVMD_RESUME;
	}
	/* An SMI waits behind the event injected now: exit right after it. */
	if (kvmd_smm_blocked_by_event(vcpu))
		smp_send_reschedule(vcpu->cpu);
	kvmd_xsave_load_guest(vcpu);
	kvmd_debug_load_guest(vcpu);
	kvmd_tsc_aux_load(vcpu);
	kvmd_ops->run(vcpu);
	/* Guest debug registers to read back, or the host's breakpoints to restore. */
	if (vcpu->dr_passthrough || hw_breakpoint_active())
		kvmd_debug_load_host(vcpu);
	kvmd_xsave_load_host(vcpu);
	WRITE_ONCE(vcpu->mode, KVMD_OUTSIDE_GUEST);
	local_irq_enable();

	if (vcpu->dr_passthrough)
		kvmd_debug_after_exit(vcpu);
	vcpu->exits++;
	vcpu->fault_gpa_valid = false;
	kvmd_ops->complete_events(vcpu);
	kvmd_apic_pv_eoi_from_guest(vcpu);
	rip = vcpu->rip;
	tf = vcpu->rflags & X86_EFLAGS_TF;
	r = kvmd_ops->handle_exit(vcpu);
	return kvmd_debug_insn_done(vcpu, rip, tf, r);
}

/*
 * A halted vCPU, an AP waiting for INIT or SIPI, or a vCPU waiting for a
 * page (async_pf.c's synthetic halt) sleeps here until an event makes it
 * runnable; it returns for signals too (the caller checks).
 * Every waker sets KVMD_REQ_EVENT before waking, so clearing it before
 * looking at the state loses no wakeup.
 */
static int kvmd_vcpu_block(struct kvmd_vcpu *vcpu)
{
	bool wake;

	for (;;) {
		kvmd_check_request(vcpu, KVMD_REQ_EVENT);
		kvmd_apic_accept_events(vcpu);
		kvmd_hv_process_stimers(vcpu);
		kvmd_apic_sync(vcpu);
		/* As KVM's kvm_vcpu_has_events: a page that came in wakes too. */
		wake = (vcpu->nmi.pending && !vcpu->nmi.masked) ||
		       (kvmd_interrupt_allowed(vcpu) && kvmd_cpu_has_interrupt(vcpu)) ||
		       READ_ONCE(vcpu->pv_unhalted) || kvmd_smm_wakes(vcpu) ||
		       kvmd_apf_has_done(vcpu);
		if (vcpu->mp_state == KVM_MP_STATE_HALTED && wake)
			vcpu->mp_state = KVM_MP_STATE_RUNNABLE;
		/* A KVM_HC_KICK_CPU wakes the vCPU from one HLT. */
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE)
			WRITE_ONCE(vcpu->pv_unhalted, false);
		if (vcpu->mp_state == KVM_MP_STATE_RUNNABLE &&
		    (!vcpu->apf.halted || wake)) {
			vcpu->apf.halted = false;
			return KVMD_RESUME;
		}
		if (signal_pending(current))
			return KVMD_RESUME;
		if (wait_event_interruptible(vcpu->wq,
				test_bit(KVMD_REQ_EVENT, &vcpu->requests)))
			return KVMD_RESUME;
	}
}

/* With an in-kernel APIC, userspace may queue an ExtINT now (KVM's rule). */
static __kvmd_hot bool kvmd_ready_for_user_interrupt(struct kvmd_vcpu *vcpu)
{
	if (!vcpu->apic)
		return kvmd_ready_for_interrupt(vcpu);
	return kvmd_interrupt_allowed(vcpu) && kvmd_cpu_accept_dm_intr(vcpu);
}

static void kvmd_post_run(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;

	run->if_flag = !!(vcpu->rflags & X86_EFLAGS_IF);
	run->cr8 = vcpu->apic ? kvmd_apic_get_cr8(vcpu) : kvmd_ops->get_cr(vcpu, 8);
	run->apic_base = vcpu->apic_base;
	run->ready_for_interrupt_injection = kvmd_ready_for_user_interrupt(vcpu);
	run->flags = vcpu->smm.active ? KVM_RUN_X86_SMM : 0;
}

static int kvmd_sync_regs_in(struct kvmd_vcpu *vcpu);
static void kvmd_sync_regs_out(struct kvmd_vcpu *vcpu);

/* What a KVM_RUN ended with, for KVM_GET_STATS_FD. */
static void kvmd_count_exit(struct kvmd_vcpu *vcpu, int r)
{
	if (r == -EINTR && vcpu->run->exit_reason == KVM_EXIT_INTR)
		vcpu->stat.signal_exits++;
	else if (!r && vcpu->run->exit_reason == KVM_EXIT_IO)
		vcpu->stat.io_exits++;
	else if (!r && vcpu->run->exit_reason == KVM_EXIT_MMIO)
		vcpu->stat.mmio_exits++;
}

static __kvmd_hot int kvmd_vcpu_run(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	sigset_t saved;
	bool tf;
	u64 rip;
	int r;

	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &vcpu->sigset, &saved);
	/* The guest's FPU state is the thread's until KVM_RUN returns. */
	kvmd_fpu_enter(vcpu);
	kvmd_pv_run_begin(vcpu);
	if (kvmd_ops->prepare_run)
		kvmd_ops->prepare_run(vcpu);

	/* KVM_CAP_SYNC_REGS: state userspace wrote into kvm_run comes first. */
	r = -EINVAL;
	if ((READ_ONCE(run->kvm_valid_regs) & ~KVMD_SYNC_REGS) ||
	    (READ_ONCE(run->kvm_dirty_regs) & ~KVMD_SYNC_REGS))
		goto out;
	if (READ_ONCE(run->kvm_dirty_regs)) {
		r = kvmd_sync_regs_in(vcpu);
		if (r)
			goto out;
	}
	/* As KVM on each vCPU load: the steal time gets an update. */
	kvmd_make_request(vcpu, KVMD_REQ_STEAL_UPDATE);

	/*
	 * Without an in-kernel local APIC the VMM owns the task priority: like
	 * KVM, take it from kvm_run->cr8 on every entry.
	 */
	if (!vcpu->apic) {
		r = -EINVAL;
		if (READ_ONCE(run->cr8) & ~0xfULL)
			goto out;
		kvmd_ops->set_cr8(vcpu, READ_ONCE(run->cr8));
	}

	/* A TF trap is due after an instruction userspace completed, too. */
	rip = vcpu->rip;
	tf = vcpu->rflags & X86_EFLAGS_TF;
	r = kvmd_complete_userspace(vcpu);
	r = kvmd_debug_insn_done(vcpu, rip, tf, r);
	if (r <= 0)
		goto out;
	/*
	 * Like KVM, immediate_exit ends the run with EINTR but leaves kvm_run
	 * describing the last exit: a VMM that completes an I/O this way (the
	 * KVM selftests do, on every ucall) may still read that exit after.
	 * KVM_EXIT_INTR is for a pending signal only.
	 */
	if (READ_ONCE(run->immediate_exit)) {
		r = -EINTR;
		goto out;
	}
	/*
	 * As KVM: an AP that never ran waits here for its first INIT (or
	 * SIPI), takes it and returns EAGAIN; the VMM calls KVM_RUN again.
	 */
	if (vcpu->apic && vcpu->mp_state == KVM_MP_STATE_UNINITIALIZED) {
		for (;;) {
			kvmd_check_request(vcpu, KVMD_REQ_EVENT);
			if (kvmd_apic_has_events(vcpu) || signal_pending(current))
				break;
			if (wait_event_interruptible(vcpu->wq,
					test_bit(KVMD_REQ_EVENT, &vcpu->requests)))
				break;
		}
		kvmd_apic_accept_events(vcpu);
		r = -EAGAIN;
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
		}
		goto out;
	}
	/* KVM's MMU has no page budget before the first slot: ENOSPC. */
	r = -ENOSPC;
	if (!READ_ONCE(vcpu->vm->nr_mmu_pages) && !READ_ONCE(vcpu->vm->slots_committed))
		goto out;
	for (;;) {
		if (signal_pending(current)) {
			run->exit_reason = KVM_EXIT_INTR;
			r = -EINTR;
			break;
		}
		cond_resched();
		/* Preempted from here on, the guest is not told (pv.c). */
		vcpu->at_insn_boundary = false;
		if (vcpu->apic && (vcpu->mp_state != KVM_MP_STATE_RUNNABLE ||
				   vcpu->apf.halted))
			r = kvmd_vcpu_block(vcpu);
		else
			r = kvmd_enter_guest(vcpu);
		if (r <= 0)
			break;
		/* Userspace's PIC (no PIC in the kernel) asked for a window. */
		if (run->request_interrupt_window && !READ_ONCE(vcpu->vm->pic) &&
		    kvmd_ready_for_user_interrupt(vcpu)) {
			run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
			r = 0;
			break;
		}
	}
out:
	if (READ_ONCE(run->kvm_valid_regs))
		kvmd_sync_regs_out(vcpu);
	kvmd_count_exit(vcpu, r);
	kvmd_post_run(vcpu);
	kvmd_pv_run_end(vcpu);
	kvmd_fpu_leave(vcpu);
	if (vcpu->sigset_active)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	return r;
}

/* ---- state ioctls ---- */

static void kvmd_get_regs(struct kvmd_vcpu *vcpu, struct kvm_regs *r)
{
	r->rax = vcpu->regs[R_AX];
	r->rbx = vcpu->regs[R_BX];
	r->rcx = vcpu->regs[R_CX];
	r->rdx = vcpu->regs[R_DX];
	r->rsi = vcpu->regs[R_SI];
	r->rdi = vcpu->regs[R_DI];
	r->rsp = vcpu->regs[R_SP];
	r->rbp = vcpu->regs[R_BP];
	r->r8 = vcpu->regs[R_8];
	r->r9 = vcpu->regs[R_9];
	r->r10 = vcpu->regs[R_10];
	r->r11 = vcpu->regs[R_11];
	r->r12 = vcpu->regs[R_12];
	r->r13 = vcpu->regs[R_13];
	r->r14 = vcpu->regs[R_14];
	r->r15 = vcpu->regs[R_15];
	r->rip = vcpu->rip;
	r->rflags = vcpu->rflags;
}

static void kvmd_set_regs(struct kvmd_vcpu *vcpu, const struct kvm_regs *r)
{
	vcpu->regs[R_AX] = r->rax;
	vcpu->regs[R_BX] = r->rbx;
	vcpu->regs[R_CX] = r->rcx;
	vcpu->regs[R_DX] = r->rdx;
	vcpu->regs[R_SI] = r->rsi;
	vcpu->regs[R_DI] = r->rdi;
	vcpu->regs[R_SP] = r->rsp;
	vcpu->regs[R_BP] = r->rbp;
	vcpu->regs[R_8] = r->r8;
	vcpu->regs[R_9] = r->r9;
	vcpu->regs[R_10] = r->r10;
	vcpu->regs[R_11] = r->r11;
	vcpu->regs[R_12] = r->r12;
	vcpu->regs[R_13] = r->r13;
	vcpu->regs[R_14] = r->r14;
	vcpu->regs[R_15] = r->r15;
	vcpu->rip = r->rip;
	vcpu->rflags = r->rflags | X86_EFLAGS_FIXED;
	vcpu->exception.pending = false;
}

static const enum kvmd_seg kvmd_sreg_order[] = {
	KVMD_SEG_CS, KVMD_SEG_DS, KVMD_SEG_ES, KVMD_SEG_FS,
	KVMD_SEG_GS, KVMD_SEG_SS, KVMD_SEG_TR, KVMD_SEG_LDTR,
};

static void kvmd_get_sregs(struct kvmd_vcpu *vcpu, struct kvm_sregs *s)
{
	struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
				       &s->gs, &s->ss, &s->tr, &s->ldt };
	int i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < ARRAY_SIZE(segs); i++)
		kvmd_ops->get_segment(vcpu, segs[i], kvmd_sreg_order[i]);
	kvmd_ops->get_dtable(vcpu, &s->gdt, false);
	kvmd_ops->get_dtable(vcpu, &s->idt, true);
	s->cr0 = kvmd_ops->get_cr(vcpu, 0);
	s->cr2 = kvmd_ops->get_cr(vcpu, 2);
	s->cr3 = kvmd_ops->get_cr(vcpu, 3);
	s->cr4 = kvmd_ops->get_cr(vcpu, 4);
	s->cr8 = kvmd_ops->get_cr(vcpu, 8);
	s->efer = kvmd_ops->get_efer(vcpu);
	s->apic_base = vcpu->apic_base;
	if (vcpu->interrupt.injected && !vcpu->interrupt.soft)
		set_bit(vcpu->interrupt.nr, (unsigned long *)s->interrupt_bitmap);
}

/*
 * KVM's rule for a CR4 feature bit: the driver must offer the feature and,
 * once the VMM has given the vCPU a CPUID table, the guest must have it.
 * Before KVM_SET_CPUID2 everything offered is allowed, so that a VMM may
 * restore the registers before the CPU model.
 */
static bool kvmd_cr4_feature_ok(struct kvmd_vcpu *vcpu, u32 leaf, int reg, int bit)
{
	return kvmd_cpu_has(leaf, reg, bit) &&
	       (!vcpu->cpuid_nent || kvmd_guest_has(vcpu, leaf, reg, bit));
}

bool kvmd_valid_cr4(struct kvmd_vcpu *vcpu, u64 cr4)
{
	u64 ok = X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE |
		 X86_CR4_PSE | X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE |
		 X86_CR4_PCE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;

	if (kvmd_cr4_feature_ok(vcpu, 7, 1, 0))	/* EBX.FSGSBASE */
		ok |= X86_CR4_FSGSBASE;
	if (kvmd_cr4_feature_ok(vcpu, 7, 1, 7))
		ok |= X86_CR4_SMEP;
	if (kvmd_cr4_feature_ok(vcpu, 7, 1, 20))
		ok |= X86_CR4_SMAP;
	if (kvmd_cr4_feature_ok(vcpu, 1, 2, 17))
		ok |= X86_CR4_PCIDE;
	if (kvmd_cr4_feature_ok(vcpu, 7, 2, 2))
		ok |= X86_CR4_UMIP;
	if (kvmd_cr4_feature_ok(vcpu, 7, 2, 3))
		ok |= X86_CR4_PKE;
	if (kvmd_cr4_feature_ok(vcpu, 7, 2, 16))
		ok |= X86_CR4_LA57;
	if (kvmd_guest_may_osxsave(vcpu))
		ok |= X86_CR4_OSXSAVE;
	return !(cr4 & ~ok);
}

static int kvmd_set_sregs(struct kvmd_vcpu *vcpu, const struct kvm_sregs *s)
{
	const struct kvm_segment *segs[] = { &s->cs, &s->ds, &s->es, &s->fs,
					     &s->gs, &s->ss, &s->tr, &s->ldt };
	int i, vec;

	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return -EINVAL;
		if (s->cr3 >> 52)
			return -EINVAL;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return -EINVAL;
	}
	if ((s->cr0 >> 32) || ((s->cr0 & X86_CR0_NW) && !(s->cr0 & X86_CR0_CD)) ||
	    ((s->cr0 & X86_CR0_PG) && !(s->cr0 & X86_CR0_PE)))
		return -EINVAL;
	if (!kvmd_valid_cr4(vcpu, s->cr4))
		return -EINVAL;
	if (!kvmd_apic_base_valid(vcpu, s->apic_base))
		return -EINVAL;

	for (i = 0; i < ARRAY_SIZE(segs); i++)
		kvmd_ops->set_segment(vcpu, segs[i], kvmd_sreg_order[i]);
	kvmd_ops->set_dtable(vcpu, &s->gdt, false);
	kvmd_ops->set_dtable(vcpu, &s->idt, true);
	kvmd_ops->set_efer(vcpu, s->efer);
	kvmd_ops->set_cr0(vcpu, s->cr0);
	kvmd_ops->set_cr2(vcpu, s->cr2);
	kvmd_ops->set_cr3(vcpu, s->cr3);
	kvmd_ops->set_cr4(vcpu, s->cr4);
	kvmd_ops->set_cr8(vcpu, s->cr8);
	vcpu->apic_base = s->apic_base;
	kvmd_cpuid_update_runtime(vcpu);

	vec = find_first_bit((const unsigned long *)s->interrupt_bitmap, 256);
	if (vec < 256) {
		vcpu->interrupt.injected = true;
		vcpu->interrupt.soft = false;
		vcpu->interrupt.nr = vec;
	}
	kvmd_make_request(vcpu, KVMD_REQ_TLB_FLUSH);
	return 0;
}

static void kvmd_get_fpu(struct kvmd_vcpu *vcpu, struct kvm_fpu *f)
{
	struct fxregs_state *fx = kvmd_guest_fxsave(vcpu);

	memset(f, 0, sizeof(*f));
	memcpy(f->fpr, fx->st_space, 128);
	f->fcw = fx->cwd;
	f->fsw = fx->swd;
	f->ftwx = fx->twd;
	f->last_opcode = fx->fop;
	f->last_ip = fx->rip;
	f->last_dp = fx->rdp;
	memcpy(f->xmm, fx->xmm_space, sizeof(f->xmm));
	f->mxcsr = fx->mxcsr;
}

static void kvmd_set_fpu(struct kvmd_vcpu *vcpu, const struct kvm_fpu *f)
{
	struct fxregs_state *fx = kvmd_guest_fxsave(vcpu);

	memcpy(fx->st_space, f->fpr, 128);
	fx->cwd = f->fcw;
	fx->swd = f->fsw;
	fx->twd = f->ftwx;
	fx->fop = f->last_opcode;
	fx->rip = f->last_ip;
	fx->rdp = f->last_dp;
	memcpy(fx->xmm_space, f->xmm, sizeof(f->xmm));
	/* Reserved MXCSR bits would fault in FXRSTOR: drop them. */
	fx->mxcsr = f->mxcsr & 0xffff;
	kvmd_guest_fxsave_written(vcpu);
}

static void kvmd_get_events(struct kvmd_vcpu *vcpu, struct kvm_vcpu_events *e)
{
	memset(e, 0, sizeof(*e));
	e->exception.injected = vcpu->exception.injected ||
				vcpu->exception.pending;
	e->exception.nr = vcpu->exception.nr;
	e->exception.has_error_code = vcpu->exception.has_error;
	e->exception.error_code = vcpu->exception.error;
	e->interrupt.injected = vcpu->interrupt.injected && !vcpu->interrupt.soft;
	e->interrupt.nr = vcpu->interrupt.nr;
	e->interrupt.shadow = kvmd_ops->get_interrupt_shadow(vcpu);
	e->nmi.injected = vcpu->nmi.injected;
	e->nmi.pending = vcpu->nmi.pending;
	e->nmi.masked = vcpu->nmi.masked;
	e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		   KVM_VCPUEVENT_VALID_SMM;
	kvmd_smm_get_events(vcpu, e);
	/* KVM_CAP_X86_TRIPLE_FAULT_EVENT: a pending shutdown is state too. */
	if (READ_ONCE(vcpu->vm->triple_fault_event)) {
		e->flags |= KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
		e->triple_fault.pending = test_bit(KVMD_REQ_TRIPLE_FAULT, &vcpu->requests);
	}
}

static int kvmd_set_events(struct kvmd_vcpu *vcpu,
			   const struct kvm_vcpu_events *e)
{
	if (e->flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
			 KVM_VCPUEVENT_VALID_SIPI_VECTOR |
			 KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM |
			 KVM_VCPUEVENT_VALID_TRIPLE_FAULT))
		return -EINVAL;
	if ((e->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) &&
	    !READ_ONCE(vcpu->vm->triple_fault_event))
		return -EINVAL;
	if (e->exception.injected && (e->exception.nr > 31 || e->exception.nr == 2))
		return -EINVAL;
	if ((e->flags & KVM_VCPUEVENT_VALID_SMM) && kvmd_smm_check_events(vcpu, e))
		return -EINVAL;

	vcpu->exception.pending = false;
	vcpu->exception.injected = e->exception.injected;
	vcpu->exception.nr = e->exception.nr;
	vcpu->exception.has_error = e->exception.has_error_code;
	vcpu->exception.error = e->exception.error_code;
	vcpu->interrupt.injected = e->interrupt.injected;
	vcpu->interrupt.nr = e->interrupt.nr;
	vcpu->interrupt.soft = e->interrupt.soft;
	if (e->flags & KVM_VCPUEVENT_VALID_SHADOW)
		kvmd_ops->set_interrupt_shadow(vcpu, e->interrupt.shadow);
	vcpu->nmi.injected = e->nmi.injected;
	if (e->flags & KVM_VCPUEVENT_VALID_NMI_PENDING)
		vcpu->nmi.pending = e->nmi.pending;
	vcpu->nmi.masked = e->nmi.masked;
	vcpu->nmi.iret_seen = false;
	if (e->flags & KVM_VCPUEVENT_VALID_SMM)
		kvmd_smm_set_events(vcpu, e);
	if (e->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT) {
		if (e->triple_fault.pending)
			kvmd_make_request(vcpu, KVMD_REQ_TRIPLE_FAULT);
		else
			clear_bit(KVMD_REQ_TRIPLE_FAULT, &vcpu->requests);
	}
	return 0;
}

/*
 * KVM_CAP_SYNC_REGS: the register sets userspace marked dirty in kvm_run
 * are loaded before the run (copied first: the page is shared), and
 * those it marked valid are stored back when KVM_RUN returns, as KVM.
 */
static noinline int kvmd_sync_regs_in(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_vcpu_events events;
	} u;

	if (run->kvm_dirty_regs & KVM_SYNC_X86_REGS) {
		memcpy(&u.regs, &run->s.regs.regs, sizeof(u.regs));
		kvmd_set_regs(vcpu, &u.regs);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_SREGS) {
		memcpy(&u.sregs, &run->s.regs.sregs, sizeof(u.sregs));
		if (kvmd_set_sregs(vcpu, &u.sregs))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (run->kvm_dirty_regs & KVM_SYNC_X86_EVENTS) {
		memcpy(&u.events, &run->s.regs.events, sizeof(u.events));
		if (kvmd_set_events(vcpu, &u.events))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

static void kvmd_sync_regs_out(struct kvmd_vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	u64 valid = READ_ONCE(run->kvm_valid_regs);

	if (valid & KVM_SYNC_X86_REGS)
		kvmd_get_regs(vcpu, &run->s.regs.regs);
	if (valid & KVM_SYNC_X86_SREGS)
		kvmd_get_sregs(vcpu, &run->s.regs.sregs);
	if (valid & KVM_SYNC_X86_EVENTS)
		kvmd_get_events(vcpu, &run->s.regs.events);
}

/*
 * KVM_HAS/GET/SET_DEVICE_ATTR on a vCPU: the one group KVM has on AMD,
 * KVM_VCPU_TSC_CTRL, whose KVM_VCPU_TSC_OFFSET is the offset the guest's
 * TSC runs at from the host's (the VMM migrates it).
 */
static int kvmd_vcpu_device_attr(struct kvmd_vcpu *vcpu, unsigned int ioctl,
				 struct kvm_device_attr __user *uattr)
{
	struct kvm_device_attr attr;
	u64 __user *uaddr;
	u64 offset;

	if (copy_from_user(&attr, uattr, sizeof(attr)))
		return -EFAULT;
	if (attr.group != KVM_VCPU_TSC_CTRL || attr.attr != KVM_VCPU_TSC_OFFSET)
		return -ENXIO;
	uaddr = u64_to_user_ptr(attr.addr);
	switch (ioctl) {
	case KVM_HAS_DEVICE_ATTR:
		return 0;
	case KVM_GET_DEVICE_ATTR:
		return put_user(vcpu->tsc_offset, uaddr) ? -EFAULT : 0;
	default:
		if (get_user(offset, uaddr))
			return -EFAULT;
		kvmd_set_tsc_offset(vcpu, offset);
		return 0;
	}
}

/* KVM_ENABLE_CAP on a vCPU: as KVM on AMD, PV CPUID enforcement and Hyper-V's. */
static int kvmd_vcpu_enable_cap(struct kvmd_vcpu *vcpu,
				struct kvm_enable_cap __user *ucap)
{
	struct kvm_enable_cap cap;

	if (copy_from_user(&cap, ucap, sizeof(cap)))
		return -EFAULT;
	if (cap.flags)
		return -EINVAL;
	switch (cap.cap) {
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
		vcpu->pv_enforce = !!cap.args[0];
		return 0;
	case KVM_CAP_HYPERV_SYNIC:
	case KVM_CAP_HYPERV_SYNIC2:
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
		return kvmd_hv_enable_cap(vcpu, &cap);
	default:
		return -EINVAL;
	}
}

static int kvmd_set_sigmask(struct kvmd_vcpu *vcpu,
			    struct kvm_signal_mask __user *umask)
{
	struct kvm_signal_mask kmask;
	sigset_t set;

	if (!umask) {
		vcpu->sigset_active = false;
		return 0;
	}
	if (copy_from_user(&kmask, umask, sizeof(kmask)))
		return -EFAULT;
	if (kmask.len != sizeof(sigset_t))
		return -EINVAL;
	if (copy_from_user(&set, umask->sigset, sizeof(set)))
		return -EFAULT;
	sigdelsetmask(&set, sigmask(SIGKILL) | sigmask(SIGSTOP));
	vcpu->sigset = set;
	vcpu->sigset_active = true;
	return 0;
}

static long kvmd_vcpu_ioctl_locked(struct kvmd_vcpu *vcpu, unsigned int ioctl,
				   unsigned long arg)
{
	void __user *argp = (void __user *)arg;
	union {
		struct kvm_regs regs;
		struct kvm_sregs sregs;
		struct kvm_fpu fpu;
		struct kvm_vcpu_events events;
		struct kvm_mp_state mp;
		struct kvm_translation tr;
		struct kvm_interrupt irq;
		struct kvm_lapic_state lapic;
	} *u;
	long r;

	if (ioctl == KVM_RUN) {
		if (arg)
			return -EINVAL;
		return kvmd_vcpu_run(vcpu);
	}

	u = kzalloc(sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	r = -EFAULT;
	switch (ioctl) {
	case KVM_GET_REGS:
		kvmd_get_regs(vcpu, &u->regs);
		if (!copy_to_user(argp, &u->regs, sizeof(u->regs)))
			r = 0;
		break;
	case KVM_SET_REGS:
		if (copy_from_user(&u->regs, argp, sizeof(u->regs)))
			break;
		kvmd_set_regs(vcpu, &u->regs);
		r = 0;
		break;
	case KVM_GET_SREGS:
		kvmd_get_sregs(vcpu, &u->sregs);
		if (!copy_to_user(argp, &u->sregs, sizeof(u->sregs)))
			r = 0;
		break;
	case KVM_SET_SREGS:
		if (copy_from_user(&u->sregs, argp, sizeof(u->sregs)))
			break;
		r = kvmd_set_sregs(vcpu, &u->sregs);
		break;
	case KVM_GET_FPU:
		kvmd_get_fpu(vcpu, &u->fpu);
		if (!copy_to_user(argp, &u->fpu, sizeof(u->fpu)))
			r = 0;
		break;
	case KVM_SET_FPU:
		if (copy_from_user(&u->fpu, argp, sizeof(u->fpu)))
			break;
		kvmd_set_fpu(vcpu, &u->fpu);
		r = 0;
		break;
	case KVM_GET_MSRS:
		r = kvmd_msrs_ioctl(vcpu, argp, false);
		break;
	case KVM_SET_MSRS:
		r = kvmd_msrs_ioctl(vcpu, argp, true);
		break;
	case KVM_SET_CPUID2:
		r = kvmd_set_cpuid2(vcpu, argp);
		break;
	case KVM_GET_CPUID2:
		r = kvmd_get_cpuid2(vcpu, argp);
		break;
	case KVM_INTERRUPT:
		if (copy_from_user(&u->irq, argp, sizeof(u->irq)))
			break;
		r = -EINVAL;
		if (u->irq.irq >= 256)
			break;
		/* As KVM: not with a PIC in the kernel; queued as ExtINT when split. */
		r = -ENXIO;
		if (READ_ONCE(vcpu->vm->pic))
			break;
		if (vcpu->apic) {
			r = -EEXIST;
			if (vcpu->extint_vector >= 0)
				break;
			vcpu->extint_vector = u->irq.irq;
			kvmd_make_request(vcpu, KVMD_REQ_EVENT);
			r = 0;
			break;
		}
		vcpu->interrupt.injected = true;
		vcpu->interrupt.soft = false;
		vcpu->interrupt.nr = u->irq.irq;
		r = 0;
		break;
	case KVM_NMI:
		vcpu->nmi.pending = true;
		r = 0;
		break;
	case KVM_SMI:
		kvmd_make_request(vcpu, KVMD_REQ_SMI);
		r = 0;
		break;
	case KVM_X86_SETUP_MCE:
		r = kvmd_setup_mce(vcpu, argp);
		break;
	case KVM_X86_SET_MCE:
		r = kvmd_set_mce(vcpu, argp);
		break;
	case KVM_GET_MP_STATE:
		kvmd_apic_accept_events(vcpu);
		u->mp.mp_state = vcpu->mp_state;
		if (!copy_to_user(argp, &u->mp, sizeof(u->mp)))
			r = 0;
		break;
	case KVM_SET_MP_STATE:
		if (copy_from_user(&u->mp, argp, sizeof(u->mp)))
			break;
		/* Without an in-kernel local APIC only RUNNABLE exists. */
		r = -EINVAL;
		if (!vcpu->apic && u->mp.mp_state != KVM_MP_STATE_RUNNABLE)
			break;
		/* The x86 states KVM 6.1 takes; the s390 ones are EINVAL. */
		switch (u->mp.mp_state) {
		case KVM_MP_STATE_RUNNABLE:
		case KVM_MP_STATE_UNINITIALIZED:
		case KVM_MP_STATE_INIT_RECEIVED:
		case KVM_MP_STATE_HALTED:
		case KVM_MP_STATE_SIPI_RECEIVED:
		case KVM_MP_STATE_AP_RESET_HOLD:
			break;
		default:
			goto out_mp;
		}
		if (!kvmd_smm_mp_state_ok(vcpu, u->mp.mp_state))
			goto out_mp;
		/* As KVM: SIPI_RECEIVED is an INIT_RECEIVED vCPU with a SIPI due. */
		if (u->mp.mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
			vcpu->mp_state = KVM_MP_STATE_INIT_RECEIVED;
			kvmd_apic_set_sipi_pending(vcpu);
		} else {
			vcpu->mp_state = u->mp.mp_state;
		}
		kvmd_make_request(vcpu, KVMD_REQ_EVENT);
		r = 0;
out_mp:
		break;
	case KVM_GET_TSC_KHZ:
		r = tsc_khz ? tsc_khz : -EIO;
		break;
	case KVM_GET_LAPIC:
		r = -EINVAL;
		if (!vcpu->apic)
			break;
		kvmd_get_lapic(vcpu, &u->lapic);
		r = copy_to_user(argp, &u->lapic, sizeof(u->lapic)) ? -EFAULT : 0;
		break;
	case KVM_SET_LAPIC:
		r = -EINVAL;
		if (!vcpu->apic)
			break;
		r = -EFAULT;
		if (copy_from_user(&u->lapic, argp, sizeof(u->lapic)))
			break;
		r = kvmd_set_lapic(vcpu, &u->lapic);
		break;
	case KVM_GET_VCPU_EVENTS:
		kvmd_get_events(vcpu, &u->events);
		if (!copy_to_user(argp, &u->events, sizeof(u->events)))
			r = 0;
		break;
	case KVM_SET_VCPU_EVENTS:
		if (copy_from_user(&u->events, argp, sizeof(u->events)))
			break;
		r = kvmd_set_events(vcpu, &u->events);
		break;
	case KVM_GET_NESTED_STATE:
		r = kvmd_ops->get_nested_state ?
		    kvmd_ops->get_nested_state(vcpu, argp) : -EINVAL;
		break;
	case KVM_SET_NESTED_STATE:
		r = kvmd_ops->set_nested_state ?
		    kvmd_ops->set_nested_state(vcpu, argp) : -EINVAL;
		break;
	case KVM_SET_SIGNAL_MASK:
		r = kvmd_set_sigmask(vcpu, argp);
		break;
	case KVM_TRANSLATE:
		if (copy_from_user(&u->tr, argp, sizeof(u->tr)))
			break;
		kvmd_translate(vcpu, &u->tr);
		if (!copy_to_user(argp, &u->tr, sizeof(u->tr)))
			r = 0;
		break;
	case KVM_SET_VAPIC_ADDR: {
		struct kvm_vapic_addr va;

		r = -EINVAL;
		if (!vcpu->apic)
			break;
		r = -EFAULT;
		if (copy_from_user(&va, argp, sizeof(va)))
			break;
		vcpu->vapic_addr = va.vapic_addr;
		r = 0;
		break;
	}
	case KVM_TPR_ACCESS_REPORTING: {
		struct kvm_tpr_access_ctl tac;

		r = -EFAULT;
		if (copy_from_user(&tac, argp, sizeof(tac)))
			break;
		/* As KVM: no flags defined; no in-kernel APIC needed to set it. */
		r = -EINVAL;
		if (tac.flags)
			break;
		vcpu->tpr_access_reporting = !!tac.enabled;
		r = copy_to_user(argp, &tac, sizeof(tac)) ? -EFAULT : 0;
		break;
	}
	case KVM_GET_XSAVE:
	case KVM_GET_XSAVE2:
	case KVM_SET_XSAVE:
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
		r = kvmd_xsave_ioctl(vcpu, ioctl, argp);
		break;
	case KVM_GET_DEBUGREGS:
	case KVM_SET_DEBUGREGS:
	case KVM_SET_GUEST_DEBUG:
		r = kvmd_debug_ioctl(vcpu, ioctl, argp);
		break;
	case KVM_ENABLE_CAP:
		r = kvmd_vcpu_enable_cap(vcpu, argp);
		break;
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		r = kvmd_vcpu_device_attr(vcpu, ioctl, argp);
		break;
	case KVM_GET_SUPPORTED_HV_CPUID:
		r = kvmd_hv_get_supported_cpuid(vcpu, argp);
		break;
	case KVM_GET_STATS_FD:
		r = kvmd_vcpu_stats_fd(vcpu);
		break;
	default:
		r = -EINVAL;
		break;
	}
	kfree(u);
	return r;
}

static __kvmd_hot long kvmd_vcpu_ioctl(struct file *filp, unsigned int ioctl,
			    unsigned long arg)
{
	struct kvmd_vcpu *vcpu = filp->private_data;
	long r;

	if (vcpu->vm->mm != current->mm)
		return -EIO;
	if (mutex_lock_killable(&vcpu->mutex))
		return -EINTR;
	r = kvmd_vcpu_ioctl_locked(vcpu, ioctl, arg);
	mutex_unlock(&vcpu->mutex);
	return r;
}

static vm_fault_t kvmd_vcpu_fault(struct vm_fault *vmf)
{
	struct kvmd_vcpu *vcpu = vmf->vma->vm_file->private_data;
	struct page *page;

	if (vmf->pgoff == KVMD_COALESCED_PAGE)
		page = kvmd_coalesced_page(vcpu->vm);
	else if (vmf->pgoff < KVMD_RUN_PAGES)
		page = virt_to_page((void *)vcpu->run + vmf->pgoff * PAGE_SIZE);
	else
		return VM_FAULT_SIGBUS;
	get_page(page);
	vmf->page = page;
	return 0;
}

static const struct vm_operations_struct kvmd_vcpu_vm_ops = {
	.fault = kvmd_vcpu_fault,
};

static int kvmd_vcpu_mmap(struct file *file, struct vm_area_struct *vma)
{
	vma->vm_ops = &kvmd_vcpu_vm_ops;
	return 0;
}

static int kvmd_vcpu_release(struct inode *inode, struct file *filp)
{
	struct kvmd_vcpu *vcpu = filp->private_data;

	kvmd_vm_put(vcpu->vm);
	return 0;
}

static const struct file_operations kvmd_vcpu_fops = {
	.owner		= THIS_MODULE,
	.release	= kvmd_vcpu_release,
	.unlocked_ioctl	= kvmd_vcpu_ioctl,
	.compat_ioctl	= kvmd_vcpu_ioctl,
	.mmap		= kvmd_vcpu_mmap,
	.llseek		= noop_llseek,
};

/*
 * Like KVM, a new vCPU's TSC starts at 0, unless another vCPU of the VM
 * started less than a second ago: then it takes that one's offset, so that
 * the vCPUs of a VM agree. Called with vm->lock held.
 */
static u64 kvmd_vm_tsc_offset(struct kvmd_vm *vm)
{
	u64 now = ktime_get_ns();

	if (!vm->tsc_offset_ns || now - vm->tsc_offset_ns >= NSEC_PER_SEC)
		vm->tsc_offset = -rdtsc();
	vm->tsc_offset_ns = now;
	return vm->tsc_offset;
}

void kvmd_vcpu_destroy(struct kvmd_vcpu *vcpu)
{
	/* No async page fault work may outlive the vCPU. */
	kvmd_apf_reset(vcpu);
	kvmd_hv_vcpu_free(vcpu);
	kvmd_lapic_free(vcpu);
	kvmd_ops->vcpu_free(vcpu);
	kvmd_tdp_vcpu_free(vcpu);
	free_pages((unsigned long)vcpu->run, get_order(KVMD_RUN_PAGES * PAGE_SIZE));
	kfree(vcpu->cpuid);
	kvmd_xsave_vcpu_free(vcpu);
	kfree(vcpu);
}

int kvmd_create_vcpu(struct kvmd_vm *vm, u32 id)
{
	struct kvmd_vcpu *vcpu;
	struct page *pages;
	u64 tsc_offset = 0;
	int r, i;

	/* Like KVM, the first vCPU fixes the ID limit if KVM_ENABLE_CAP did not. */
	mutex_lock(&vm->lock);
	if (!vm->max_vcpu_ids)
		vm->max_vcpu_ids = KVMD_MAX_VCPU_ID;
	r = id < vm->max_vcpu_ids ? 0 : -EINVAL;
	if (!r)
		tsc_offset = kvmd_vm_tsc_offset(vm);
	mutex_unlock(&vm->lock);
	if (r)
		return r;

	vcpu = kzalloc(sizeof(*vcpu), GFP_KERNEL_ACCOUNT);
	if (!vcpu)
		return -ENOMEM;
	vcpu->vm = vm;
	vcpu->id = id;
	vcpu->cpu = -1;
	mutex_init(&vcpu->mutex);
	init_waitqueue_head(&vcpu->wq);
	kvmd_apf_vcpu_init(vcpu);
	kvmd_pv_vcpu_init(vcpu);
	vcpu->extint_vector = -1;
	r = -ENOMEM;
	/* Compound so that each page of the mapping can be referenced alone. */
	pages = alloc_pages(GFP_KERNEL_ACCOUNT | __GFP_ZERO | __GFP_COMP,
			    get_order(KVMD_RUN_PAGES * PAGE_SIZE));
	if (!pages)
		goto err_free;
	vcpu->run = page_address(pages);
	r = kvmd_xsave_vcpu_create(vcpu);
	if (r)
		goto err_run;
	vcpu->tsc_offset = tsc_offset;

	r = kvmd_ops->vcpu_create(vcpu);
	if (r)
		goto err_fpu;
	kvmd_vcpu_reset(vcpu);
	kvmd_msr_reset(vcpu);
	/* As KVM: a local APIC for every vCPU created after the irqchip. */
	if (kvmd_irqchip_in_kernel(vm)) {
		r = kvmd_lapic_create(vcpu);
		if (r)
			goto err_vendor;
		if (id != READ_ONCE(vm->bsp_vcpu_id))
			vcpu->mp_state = KVM_MP_STATE_UNINITIALIZED;
	}

	mutex_lock(&vm->lock);
	r = -EINVAL;
	if (vm->nr_vcpus >= KVMD_MAX_VCPUS)
		goto err_unlock;
	r = -EEXIST;
	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->id == id)
			goto err_unlock;

	kvmd_vm_get(vm);
	r = anon_inode_getfd("kvm-vcpu", &kvmd_vcpu_fops, vcpu, O_RDWR | O_CLOEXEC);
	if (r < 0) {
		kvmd_vm_put(vm);
		goto err_unlock;
	}
	vm->vcpus[vm->nr_vcpus] = vcpu;
	smp_store_release(&vm->nr_vcpus, vm->nr_vcpus + 1);
	mutex_unlock(&vm->lock);
	return r;

err_unlock:
	mutex_unlock(&vm->lock);
	kvmd_lapic_free(vcpu);
err_vendor:
	kvmd_ops->vcpu_free(vcpu);
err_fpu:
	kvmd_xsave_vcpu_free(vcpu);
err_run:
	free_pages((unsigned long)vcpu->run, get_order(KVMD_RUN_PAGES * PAGE_SIZE));
err_free:
	kfree(vcpu);
	return r;
}
