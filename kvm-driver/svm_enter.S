/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/svm_enter.S: the SVM world switch: guest VMLOAD, VMRUN, guest VMSAVE, host VMLOAD, guest GPRs in and out. */
#include <linux/linkage.h>
#include <asm/asm.h>

#include "enter_regs.h"

	/* With the rest of every exit's code (__kvmd_hot in kvmdrv.h). */
	.section .text.hot, "ax"
/*
 * void kvmd_svm_vmrun(u64 vmcb_pa, unsigned long *regs, u64 host_save_pa)
 *
 * Called with interrupts off and GIF clear. Between the guest VMLOAD and
 * the host VMLOAD the GS base is the guest's, so nothing here may touch
 * per-CPU data or call C (the stack protector reads %gs).
 */
SYM_FUNC_START(kvmd_svm_vmrun)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rsi			/* 16(%rsp): regs */
	push	%rdx			/*  8(%rsp): host save area */
	push	%rdi			/*  0(%rsp): guest VMCB */

	/*
	 * FS, GS, TR, LDTR, KernelGSbase and the SYSCALL MSRs: the guest's in.
	 * svm_run() VMSAVEd the host's into the host save area already.
	 */
	mov	%rdi, %rax
	vmload	%rax

	mov	%rsi, %rax
	LOAD_GUEST_GPRS %rax
	mov	(%rsp), %rax

	/*
	 * IF=1 so that host interrupts make the guest exit (GIF still holds
	 * them). KVM 6.1 sets IF in C instead, so that the STI shadow cannot
	 * reach the guest; done so here (47c069c), QEMU 7.2 TCG spun for good
	 * in a Linux guest's x2APIC WRMSR with the test host's timer pending
	 * (launcher/virtio.t, irqchip "split"), so the STI stays. Under TCG the
	 * guest's first instruction after an entry runs in its shadow.
	 */
	sti
	vmrun	%rax
	cli

	/* VMRUN gave back the host's RAX and RSP. */
	mov	16(%rsp), %rax
	STORE_GUEST_GPRS %rax

	mov	(%rsp), %rax
	vmsave	%rax
	mov	8(%rsp), %rax
	vmload	%rax

	/* Leave no guest values behind in scratch registers. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$24, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(kvmd_svm_vmrun)
