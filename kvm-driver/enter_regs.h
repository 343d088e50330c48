/* SPDX-License-Identifier: GPL-2.0 */
/* kvm-driver/enter_regs.h: guest GPR loads and stores shared by the SVM and VMX world switches. */
#ifndef KVMDRV_ENTER_REGS_H
#define KVMDRV_ENTER_REGS_H

#ifdef __ASSEMBLY__

/* Offsets into vcpu->regs[], indexed like the kernel's R_AX..R_R15. */
#define REG(n)	((n) * 8)

/* Every GPR but RAX and RSP (the vendor switches those) from regs at \base. */
.macro LOAD_GUEST_GPRS base
	mov	REG(1)(\base), %rcx
	mov	REG(2)(\base), %rdx
	mov	REG(3)(\base), %rbx
	mov	REG(5)(\base), %rbp
	mov	REG(6)(\base), %rsi
	mov	REG(7)(\base), %rdi
	mov	REG(8)(\base), %r8
	mov	REG(9)(\base), %r9
	mov	REG(10)(\base), %r10
	mov	REG(11)(\base), %r11
	mov	REG(12)(\base), %r12
	mov	REG(13)(\base), %r13
	mov	REG(14)(\base), %r14
	mov	REG(15)(\base), %r15
.endm

.macro STORE_GUEST_GPRS base
	mov	%rcx, REG(1)(\base)
	mov	%rdx, REG(2)(\base)
	mov	%rbx, REG(3)(\base)
	mov	%rbp, REG(5)(\base)
	mov	%rsi, REG(6)(\base)
	mov	%rdi, REG(7)(\base)
	mov	%r8, REG(8)(\base)
	mov	%r9, REG(9)(\base)
	mov	%r10, REG(10)(\base)
	mov	%r11, REG(11)(\base)
	mov	%r12, REG(12)(\base)
	mov	%r13, REG(13)(\base)
	mov	%r14, REG(14)(\base)
	mov	%r15, REG(15)(\base)
.endm

#endif
#endif
