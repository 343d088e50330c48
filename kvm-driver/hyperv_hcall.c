// SPDX-License-Identifier: GPL-2.0
/*
 * kvm-driver/hyperv_hcall.c: Hyper-V hypercalls (TLB flushes, cluster IPIs,
 * events, messages and the debugger's calls for userspace) with their
 * status codes and CPUID rights, and KVM_HYPERV_EVENTFD.
 */
#include <linux/eventfd.h>
#include <linux/kvm.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/uaccess.h>
#include <asm/apicdef.h>
#include <asm/fpu/api.h>

#include "hyperv.h"

/* ---- KVM_HYPERV_EVENTFD ---- */

int kvmd_hv_eventfd(struct kvmd_vm *vm, void __user *argp)
{
	struct kvm_hyperv_eventfd args;
	struct eventfd_ctx *evt;
	struct kvmd_hv *h;
	int r;

	if (copy_from_user(&args, argp, sizeof(args)))
		return -EFAULT;
	if ((args.flags & ~KVM_HYPERV_EVENTFD_DEASSIGN) ||
	    (args.conn_id & ~KVM_HYPERV_CONN_ID_MASK))
		return -EINVAL;
	h = kvmd_hv_vm(vm);
	if (!h)
		return -ENOMEM;
	if (args.flags == KVM_HYPERV_EVENTFD_DEASSIGN) {
		mutex_lock(&h->lock);
		evt = idr_remove(&h->conn_to_evt, args.conn_id);
		mutex_unlock(&h->lock);
		if (!evt)
			return -ENOENT;
		synchronize_rcu();
		eventfd_ctx_put(evt);
		return 0;
	}
	evt = eventfd_ctx_fdget(args.fd);
	if (IS_ERR(evt))
		return PTR_ERR(evt);
	mutex_lock(&h->lock);
	r = idr_alloc(&h->conn_to_evt, evt, args.conn_id, args.conn_id + 1,
		      GFP_KERNEL_ACCOUNT);
	mutex_unlock(&h->lock);
	if (r >= 0)
		return 0;
	eventfd_ctx_put(evt);
	return r == -ENOSPC ? -EEXIST : r;
}

/* ---- hypercalls ---- */

struct kvmd_hcall {
	u64 param;
	u64 ingpa;
	u64 outgpa;
	u16 code;
	u16 var_cnt;
	u16 rep_cnt;
	u16 rep_idx;
	bool fast;
	bool rep;
	u64 xmm[HV_HYPERCALL_MAX_XMM_REGISTERS][2];	/* low, high */
};

bool kvmd_hv_hypercall_enabled(struct kvmd_vcpu *vcpu)
{
	struct kvmd_hv *h = READ_ONCE(vcpu->vm->hv);

	return vcpu->hv && vcpu->hv->enabled && h && READ_ONCE(h->guest_os_id);
}

static bool kvmd_hv_is_64(struct kvmd_vcpu *vcpu)
{
	struct kvm_segment cs;

	if (!kvmd_long_mode(vcpu))
		return false;
	kvmd_ops->get_segment(vcpu, &cs, KVMD_SEG_CS);
	return cs.l;
}

/* The guest's XMM0-5: its FPU state is the thread's while KVM_RUN runs. */
static void kvmd_hv_read_xmm(struct kvmd_hcall *hc)
{
	fpregs_lock();
	if (test_thread_flag(TIF_NEED_FPU_LOAD))
		switch_fpu_return();
	asm volatile("movdqu %%xmm0, %0\n\t"
		     "movdqu %%xmm1, %1\n\t"
		     "movdqu %%xmm2, %2\n\t"
		     "movdqu %%xmm3, %3\n\t"
		     "movdqu %%xmm4, %4\n\t"
		     "movdqu %%xmm5, %5\n\t"
		     : "=m" (hc->xmm[0]), "=m" (hc->xmm[1]), "=m" (hc->xmm[2]),
		       "=m" (hc->xmm[3]), "=m" (hc->xmm[4]), "=m" (hc->xmm[5]));
	fpregs_unlock();
}

static bool kvmd_hv_xmm_fast(u16 code)
{
	switch (code) {
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
	case HVCALL_SEND_IPI_EX:
		return true;
	default:
		return false;
	}
}

/* KVM_CAP_HYPERV_ENFORCE_CPUID for hypercalls: which CPUID bit grants one. */
static bool kvmd_hv_hcall_granted(struct kvmd_vcpu_hv *hv, u16 code)
{
	u32 recomm = hv->cpuid.enlightenments_eax;

	if (!hv->enforce_cpuid)
		return true;
	switch (code) {
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		return hv->cpuid.enlightenments_ebx &&
		       hv->cpuid.enlightenments_ebx != U32_MAX;
	case HVCALL_POST_MESSAGE:
		return hv->cpuid.features_ebx & HV_POST_MESSAGES;
	case HVCALL_SIGNAL_EVENT:
		return hv->cpuid.features_ebx & HV_SIGNAL_EVENTS;
	case HVCALL_POST_DEBUG_DATA:
	case HVCALL_RETRIEVE_DEBUG_DATA:
	case HVCALL_RESET_DEBUG_SESSION:
		/* Without the debugger these fail as unknown codes instead. */
		return !kvmd_hv_syndbg_enabled(hv) ||
		       (hv->cpuid.features_ebx & HV_DEBUGGING);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
		if (!(recomm & HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED))
			return false;
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
		return recomm & HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED;
	case HVCALL_SEND_IPI_EX:
		if (!(recomm & HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED))
			return false;
		fallthrough;
	case HVCALL_SEND_IPI:
		return recomm & HV_X64_CLUSTER_IPI_RECOMMENDED;
	default:
		return true;
	}
}

/*
 * The sparse VP set of an _EX call: banks of 64 VP indices, one per bit of
 * valid_bank_mask, read from XMM halves (fast) or after the fixed header.
 */
static int kvmd_hv_sparse_banks(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc,
				int xmm_halves_used, u64 *banks, u64 offset)
{
	u16 n;
	int i;

	if (hc->var_cnt > 64)
		return -EINVAL;
	n = min_t(u16, hc->var_cnt, KVMD_HV_BANKS);
	if (hc->fast) {
		if (hc->var_cnt > 2 * HV_HYPERCALL_MAX_XMM_REGISTERS - xmm_halves_used)
			return -EINVAL;
		for (i = 0; i < n; i++) {
			int j = i + xmm_halves_used;

			banks[i] = hc->xmm[j / 2][j % 2];
		}
		return 0;
	}
	return kvmd_read_guest(vcpu->vm, hc->ingpa + offset, banks,
			       n * sizeof(*banks)) ? -EFAULT : 0;
}

/* Whether VP index vp is in the set (banks packed by valid_mask). */
static bool kvmd_hv_vp_in_set(u32 vp, const u64 *banks, u64 valid_mask)
{
	u32 bank = vp / 64;
	unsigned int idx;

	if (bank >= 64 || !(valid_mask & BIT_ULL(bank)))
		return false;
	idx = hweight64(valid_mask & (BIT_ULL(bank) - 1));
	/* Only the banks a legal VP index can be in were read. */
	return idx < KVMD_HV_BANKS && (banks[idx] & BIT_ULL(vp % 64));
}

static u64 kvmd_hv_flush_tlb(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc)
{
	struct kvmd_vm *vm = vcpu->vm;
	u64 banks[KVMD_HV_BANKS] = { 0 };
	u64 valid_mask;
	bool all;
	int i, n;

	if (hc->code == HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST ||
	    hc->code == HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE) {
		struct hv_tlb_flush f;

		if (hc->fast) {
			f.flags = hc->outgpa;
			f.processor_mask = hc->xmm[0][0];
		} else if (kvmd_read_guest(vm, hc->ingpa, &f, sizeof(f))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		valid_mask = BIT_ULL(0);
		banks[0] = f.processor_mask;
		/* As KVM: an empty mask means all (an old Windows' habit). */
		all = (f.flags & HV_FLUSH_ALL_PROCESSORS) || !f.processor_mask;
	} else {
		struct hv_tlb_flush_ex fx;

		if (hc->fast) {
			fx.flags = hc->outgpa;
			fx.hv_vp_set.format = hc->xmm[0][0];
			fx.hv_vp_set.valid_bank_mask = hc->xmm[0][1];
		} else if (kvmd_read_guest(vm, hc->ingpa, &fx, sizeof(fx))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		valid_mask = fx.hv_vp_set.valid_bank_mask;
		all = fx.hv_vp_set.format != HV_GENERIC_SET_SPARSE_4K;
		if (hc->var_cnt != hweight64(valid_mask))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (!all) {
			if (!hc->var_cnt)
				goto done;
			if (kvmd_hv_sparse_banks(vcpu, hc, 2, banks,
						 offsetof(struct hv_tlb_flush_ex,
							  hv_vp_set.bank_contents)))
				return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
	}
	/* Whatever the address space asked for, the whole TLB goes, as KVM. */
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		struct kvmd_vcpu *t = vm->vcpus[i];

		if (!all && !kvmd_hv_vp_in_set(kvmd_hv_vp_index(t, i), banks, valid_mask))
			continue;
		kvmd_make_request(t, KVMD_REQ_TLB_FLUSH);
		if (t != vcpu)
			kvmd_kick_vcpu(t);
	}
done:
	return HV_STATUS_SUCCESS | ((u64)hc->rep_cnt << HV_HYPERCALL_REP_COMP_OFFSET);
}

static u64 kvmd_hv_send_ipi(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc)
{
	struct kvmd_vm *vm = vcpu->vm;
	u64 banks[KVMD_HV_BANKS] = { 0 };
	struct kvmd_lapic_irq irq = { .delivery_mode = APIC_DM_FIXED };
	u64 valid_mask;
	bool all;
	int i, n;

	if (!vcpu->apic)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	if (hc->code == HVCALL_SEND_IPI) {
		struct hv_send_ipi s;

		if (hc->fast) {
			if (hc->ingpa >> 32)
				return HV_STATUS_INVALID_HYPERCALL_INPUT;
			s.vector = hc->ingpa;
			s.cpu_mask = hc->outgpa;
		} else if (kvmd_read_guest(vm, hc->ingpa, &s, sizeof(s))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		irq.vector = s.vector;
		banks[0] = s.cpu_mask;
		valid_mask = BIT_ULL(0);
		all = false;
	} else {
		struct hv_send_ipi_ex sx;

		if (hc->fast) {
			sx.vector = hc->ingpa;
			sx.vp_set.format = hc->outgpa;
			sx.vp_set.valid_bank_mask = hc->xmm[0][0];
		} else if (kvmd_read_guest(vm, hc->ingpa, &sx, sizeof(sx))) {
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
		irq.vector = sx.vector;
		valid_mask = sx.vp_set.valid_bank_mask;
		all = sx.vp_set.format == HV_GENERIC_SET_ALL;
		if (hc->var_cnt != hweight64(valid_mask))
			return HV_STATUS_INVALID_HYPERCALL_INPUT;
		if (!all) {
			if (!hc->var_cnt)
				return HV_STATUS_SUCCESS;
			if (kvmd_hv_sparse_banks(vcpu, hc, 1, banks,
						 offsetof(struct hv_send_ipi_ex,
							  vp_set.bank_contents)))
				return HV_STATUS_INVALID_HYPERCALL_INPUT;
		}
	}
	if (irq.vector < HV_IPI_LOW_VECTOR || irq.vector > HV_IPI_HIGH_VECTOR)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	n = smp_load_acquire(&vm->nr_vcpus);
	for (i = 0; i < n; i++) {
		struct kvmd_vcpu *t = vm->vcpus[i];

		if (!t->apic || (!all &&
		    !kvmd_hv_vp_in_set(kvmd_hv_vp_index(t, i), banks, valid_mask)))
			continue;
		kvmd_apic_set_irq(t, &irq);
	}
	return HV_STATUS_SUCCESS;
}

static u16 kvmd_hv_signal_event(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc)
{
	struct kvmd_hv *h = vcpu->vm->hv;
	struct eventfd_ctx *evt;

	if (!hc->fast) {
		u64 gpa = hc->ingpa;

		if ((gpa & 7) || offset_in_page(gpa) + 8 > PAGE_SIZE)
			return HV_STATUS_INVALID_ALIGNMENT;
		if (kvmd_read_guest(vcpu->vm, gpa, &hc->ingpa, sizeof(hc->ingpa)))
			return HV_STATUS_INVALID_ALIGNMENT;
	}
	/* The flag number (bits 32-47) is always 0 in practice, as KVM assumes. */
	if (hc->ingpa & 0xffff00000000ULL)
		return HV_STATUS_INVALID_PORT_ID;
	if (hc->ingpa & ~KVM_HYPERV_CONN_ID_MASK)
		return HV_STATUS_INVALID_HYPERCALL_INPUT;
	rcu_read_lock();
	evt = idr_find(&h->conn_to_evt, hc->ingpa);
	if (evt)
		eventfd_signal(evt, 1);
	rcu_read_unlock();
	return evt ? HV_STATUS_SUCCESS : HV_STATUS_INVALID_PORT_ID;
}

static void kvmd_hv_set_result(struct kvmd_vcpu *vcpu, u64 result)
{
	if (kvmd_hv_is_64(vcpu)) {
		vcpu->regs[R_AX] = result;
	} else {
		vcpu->regs[R_DX] = result >> 32;
		vcpu->regs[R_AX] = (u32)result;
	}
}

/* Hand the call to userspace as KVM_EXIT_HYPERV; KVM_RUN completes it. */
static int kvmd_hv_hcall_to_user(struct kvmd_vcpu *vcpu, struct kvmd_hcall *hc,
				 unsigned int len)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	struct kvm_run *run = vcpu->run;

	run->exit_reason = KVM_EXIT_HYPERV;
	memset(&run->hyperv, 0, sizeof(run->hyperv));
	run->hyperv.type = KVM_EXIT_HYPERV_HCALL;
	run->hyperv.u.hcall.input = hc->param;
	run->hyperv.u.hcall.params[0] = hc->ingpa;
	run->hyperv.u.hcall.params[1] = hc->outgpa;
	hv->hcall.pending = true;
	hv->hcall.len = len;
	hv->hcall.rip = vcpu->rip;
	return KVMD_EXIT_USER;
}

bool kvmd_hv_hypercall_pending(struct kvmd_vcpu *vcpu)
{
	return vcpu->hv && vcpu->hv->hcall.pending;
}

int kvmd_hv_complete_hypercall(struct kvmd_vcpu *vcpu)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;

	hv->hcall.pending = false;
	/* Userspace moved RIP: the call is abandoned, as for I/O. */
	if (vcpu->rip != hv->hcall.rip)
		return KVMD_RESUME;
	kvmd_hv_set_result(vcpu, vcpu->run->hyperv.u.hcall.result);
	kvmd_skip_insn(vcpu, hv->hcall.len);
	return KVMD_RESUME;
}

/*
 * A Hyper-V hypercall (the guest set its OS ID): the control word in RCX,
 * input and output GPAs in RDX and R8 (64-bit) or EDX:EAX, EBX:ECX,
 * EDI:ESI; the status back in RAX (EDX:EAX).
 */
int kvmd_hv_hypercall(struct kvmd_vcpu *vcpu, unsigned int len)
{
	struct kvmd_vcpu_hv *hv = vcpu->hv;
	struct kvmd_hcall hc = { 0 };
	u64 ret = HV_STATUS_SUCCESS;
	unsigned long *r = vcpu->regs;

	/* #UD outside ring 0 and real mode, as the TLFS says. */
	if (kvmd_ops->get_cpl(vcpu) ||
	    !(kvmd_ops->get_cr(vcpu, 0) & X86_CR0_PE)) {
		kvmd_queue_exception(vcpu, 6);
		return KVMD_RESUME;
	}
	if (kvmd_hv_is_64(vcpu)) {
		hc.param = r[R_CX];
		hc.ingpa = r[R_DX];
		hc.outgpa = r[R_8];
	} else {
		hc.param = ((u64)(u32)r[R_DX] << 32) | (u32)r[R_AX];
		hc.ingpa = ((u64)(u32)r[R_BX] << 32) | (u32)r[R_CX];
		hc.outgpa = ((u64)(u32)r[R_DI] << 32) | (u32)r[R_SI];
	}
	hc.code = hc.param & 0xffff;
	hc.var_cnt = (hc.param & HV_HYPERCALL_VARHEAD_MASK) >> HV_HYPERCALL_VARHEAD_OFFSET;
	hc.fast = !!(hc.param & HV_HYPERCALL_FAST_BIT);
	hc.rep_cnt = (hc.param >> HV_HYPERCALL_REP_COMP_OFFSET) & 0xfff;
	hc.rep_idx = (hc.param >> HV_HYPERCALL_REP_START_OFFSET) & 0xfff;
	hc.rep = hc.rep_cnt || hc.rep_idx;
	vcpu->stat.hypercalls++;

	if (!kvmd_hv_hcall_granted(hv, hc.code)) {
		ret = HV_STATUS_ACCESS_DENIED;
		goto done;
	}
	if (hc.param & HV_HYPERCALL_RSVD_MASK) {
		ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
		goto done;
	}
	if (hc.fast && kvmd_hv_xmm_fast(hc.code)) {
		if (hv->enforce_cpuid &&
		    !(hv->cpuid.features_edx & HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE)) {
			kvmd_queue_exception(vcpu, 6);
			return KVMD_RESUME;
		}
		kvmd_hv_read_xmm(&hc);
	}

	switch (hc.code) {
	case HVCALL_NOTIFY_LONG_SPIN_WAIT:
		if (hc.rep || hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		yield();
		break;
	case HVCALL_SIGNAL_EVENT:
		if (hc.rep || hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_signal_event(vcpu, &hc);
		if (ret != HV_STATUS_INVALID_PORT_ID)
			break;
		fallthrough;	/* userspace may know the connection */
	case HVCALL_POST_MESSAGE:
		/* Only a SynIC's owner has a way to answer. */
		if (hc.rep || hc.var_cnt || !hv->synic.active) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		return kvmd_hv_hcall_to_user(vcpu, &hc, len);
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST:
		if (hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_LIST_EX:
		if (!hc.rep_cnt || hc.rep_idx) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_flush_tlb(vcpu, &hc);
		break;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE:
		if (hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		fallthrough;
	case HVCALL_FLUSH_VIRTUAL_ADDRESS_SPACE_EX:
		if (hc.rep) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_flush_tlb(vcpu, &hc);
		break;
	case HVCALL_SEND_IPI:
		if (hc.var_cnt) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		fallthrough;
	case HVCALL_SEND_IPI_EX:
		if (hc.rep) {
			ret = HV_STATUS_INVALID_HYPERCALL_INPUT;
			break;
		}
		ret = kvmd_hv_send_ipi(vcpu, &hc);
		break;
	case HVCALL_POST_DEBUG_DATA:
	case HVCALL_RETRIEVE_DEBUG_DATA:
		if (hc.fast) {
			ret = HV_STATUS_INVALID_PARAMETER;
			break;
		}
		fallthrough;
	case HVCALL_RESET_DEBUG_SESSION:
		if (!kvmd_hv_syndbg_enabled(hv)) {
			ret = HV_STATUS_INVALID_HYPERCALL_CODE;
			break;
		}
		if (!(vcpu->vm->hv->syndbg.options & HV_X64_SYNDBG_OPTION_USE_HCALLS)) {
			ret = HV_STATUS_OPERATION_DENIED;
			break;
		}
		return kvmd_hv_hcall_to_user(vcpu, &hc, len);
	default:
		ret = HV_STATUS_INVALID_HYPERCALL_CODE;
		break;
	}
done:
	kvmd_hv_set_result(vcpu, ret);
	kvmd_skip_insn(vcpu, len);
	return KVMD_RESUME;
}
