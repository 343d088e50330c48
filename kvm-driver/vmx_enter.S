/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/vmx_enter.S: the VMX world switch: guest GPRs in, VMLAUNCH/VMRESUME, guest GPRs out. */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/unwind_hints.h>

#include "enter_regs.h"
#define HOST_RSP	0x00006c14

	/* With the rest of every exit's code (__kvmd_hot in kvmdrv.h). */
	.section .text.hot, "ax"
/*
 * int kvmd_vmx_enter(unsigned long *regs, unsigned long launched)
 *
 * Called with interrupts off and the vCPU's VMCS current. RSP and RIP of
 * the guest live in the VMCS; every other GPR comes from and goes back to
 * regs[]. Returns 0 after a VM exit, 1 if VMLAUNCH/VMRESUME failed (the
 * VM-instruction error field then says why).
 */
SYM_FUNC_START(kvmd_vmx_enter)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	push	%rdi			/* 8(%rsp): regs */
	push	%rsi			/* 0(%rsp): launched */

	/* The exit lands here with this very stack. */
	mov	$HOST_RSP, %eax
	vmwrite	%rsp, %rax

	mov	8(%rsp), %rax
	LOAD_GUEST_GPRS %rax
	/* MOV leaves the flags alone: test first, then load RAX. */
	cmpq	$0, (%rsp)
	UNWIND_HINT_SAVE
	mov	REG(0)(%rax), %rax
	jne	1f
	vmlaunch
	jmp	.Lvmx_fail
1:	vmresume
.Lvmx_fail:
	mov	$1, %eax
	jmp	.Lvmx_out

SYM_INNER_LABEL(kvmd_vmx_exit_point, SYM_L_GLOBAL)
	/* Reached from the VM exit, not by a jump: same stack as at entry. */
	UNWIND_HINT_RESTORE
	ENDBR
	push	%rax			/* guest RAX; regs now at 16(%rsp) */
	mov	16(%rsp), %rax
	STORE_GUEST_GPRS %rax
	popq	REG(0)(%rax)
	xor	%eax, %eax

.Lvmx_out:
	/* Leave no guest values behind in scratch registers. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d

	add	$16, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(kvmd_vmx_enter)
