/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/svm_enter.S: the SVM world switch: host/guest VMSAVE/VMLOAD around VMRUN, guest GPRs in and out. */
#include <linux/linkage.h>
#include <asm/asm.h>

#define REG(n)	((n) * 8)

	.text
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

	/* FS, GS, TR, LDTR, KernelGSbase and the SYSCALL MSRs: host out, guest in. */
	mov	%rdx, %rax
	vmsave	%rax
	mov	%rdi, %rax
	vmload	%rax

	mov	%rsi, %rax
	mov	REG(1)(%rax), %rcx
	mov	REG(2)(%rax), %rdx
	mov	REG(3)(%rax), %rbx
	mov	REG(5)(%rax), %rbp
	mov	REG(6)(%rax), %rsi
	mov	REG(7)(%rax), %rdi
	mov	REG(8)(%rax), %r8
	mov	REG(9)(%rax), %r9
	mov	REG(10)(%rax), %r10
	mov	REG(11)(%rax), %r11
	mov	REG(12)(%rax), %r12
	mov	REG(13)(%rax), %r13
	mov	REG(14)(%rax), %r14
	mov	REG(15)(%rax), %r15
	mov	(%rsp), %rax

	/* IF=1 so that host interrupts make the guest exit (GIF still holds them). */
	sti
	vmrun	%rax
	cli

	/* VMRUN gave back the host's RAX and RSP. */
	mov	16(%rsp), %rax
	mov	%rcx, REG(1)(%rax)
	mov	%rdx, REG(2)(%rax)
	mov	%rbx, REG(3)(%rax)
	mov	%rbp, REG(5)(%rax)
	mov	%rsi, REG(6)(%rax)
	mov	%rdi, REG(7)(%rax)
	mov	%r8, REG(8)(%rax)
	mov	%r9, REG(9)(%rax)
	mov	%r10, REG(10)(%rax)
	mov	%r11, REG(11)(%rax)
	mov	%r12, REG(12)(%rax)
	mov	%r13, REG(13)(%rax)
	mov	%r14, REG(14)(%rax)
	mov	%r15, REG(15)(%rax)

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
