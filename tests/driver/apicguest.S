/*
 * tests/driver/apicguest.S: the guest of the irqchip tests (t_lapic, t_ioapic,
 * t_smp), loaded at 0x40000. Each CPU runs a command loop: it reports on
 * port 0x10 that it is ready, the VMM writes a command into the CPU's block
 * (apictest.h: op, a, b, c at PERCPU + cpu * 0x1000) and resumes it; the
 * result lands in the block. Every interrupt vector (and NMI) goes to one
 * handler that counts it per vector, logs it in order and, as the VMM
 * chooses per vector, writes the EOI (xAPIC MMIO or x2APIC MSR). Exceptions
 * are reported on port 0x11 (vector) and stop the CPU, but for a #GP in
 * the *_safe MSR ops, which resume after the instruction with the vector.
 *
 * Application processors enter at the start of the blob in real mode (SIPI
 * vector 0x40), go through 32-bit protected mode to long mode, count
 * themselves in and take their CPU index from their APIC ID. The BSP enters
 * at apic_entry64 in long mode, with r14 = its index.
 */
#define BASE	0x40000
#define A(x)	(BASE + (x) - apic_guest)
#define PERCPU	0x10000
#define STACKS	0x20000
#define SHARED	0x30000

	.section .rodata
	.globl	apic_guest, apic_guest_end, apic_entry64, apic_stubs
	.code16
apic_guest:				/* AP trampoline: CS = 0x4000 after SIPI 0x40 */
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	tgdt_desc - apic_guest
	mov	%cr0, %eax
	or	$1, %al
	mov	%eax, %cr0
	ljmpl	$0x18, $A(ap32)

	.code32
ap32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$0x1000, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx
	rdmsr
	or	$0x100, %eax		/* EFER.LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax
	mov	%eax, %cr0
	ljmp	$0x08, $A(ap64)

	.code64
ap64:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%ax, %fs
	mov	%ax, %gs
	lidt	A(idt_desc)
	mov	$0xfee00020, %eax
	mov	(%rax), %eax
	shr	$24, %eax
	mov	%rax, %r14
	lock incl SHARED		/* APs that arrived */
	lea	0x100(%r14), %eax
	mov	%eax, SHARED + 0x10(,%r14,4)	/* 0x100 + APIC ID at its slot */
apic_entry64:				/* BSP: long mode, r14 = CPU index */
	mov	%r14, %rax
	shl	$12, %rax
	lea	PERCPU(%rax), %r15
	lea	STACKS + 0x1000(%rax), %rsp
	mov	%r14, 0x50(%r15)

cmdloop:
	cli
	out	%al, $0x10		/* ready; the VMM fills the command block */
	mov	0x00(%r15), %rax
	mov	0x08(%r15), %rdi
	mov	0x10(%r15), %rsi
	mov	0x18(%r15), %rcx
	cmp	$(ops_end - ops) / 8, %rax
	jae	cmdloop
	jmp	*A(ops)(,%rax,8)

	.balign	8
ops:
	.quad	A(cmdloop)			/* 0 NOP */
	.quad	A(op_rd32)		/* 1 RD32 [a] */
	.quad	A(op_wr32)		/* 2 WR32 [a] = b */
	.quad	A(op_rdmsr)		/* 3 RDMSR a */
	.quad	A(op_wrmsr)		/* 4 WRMSR a = b */
	.quad	A(op_sti_hlt)		/* 5 STI; HLT; CLI */
	.quad	A(op_window)		/* 6 STI; c PAUSEs; CLI */
	.quad	A(op_rdtsc)		/* 7 RDTSC */
	.quad	A(op_wait)		/* 8 STI+HLT until b interrupts were counted */
	.quad	A(op_cpuid)		/* 9 CPUID a, c */
	.quad	A(op_wrrd32)		/* 10 WR32 [a] = b, then RD32 [a] */
	.quad	A(op_cr8)		/* 11 CR8 = b, read back */
	.quad	A(op_spin_mem)		/* 12 STI, spin until [a] == b (32-bit), CLI */
	.quad	A(op_busy)		/* 13 busy loop touching memory (see below) */
	.quad	A(op_hlt_tsc)		/* 14 RDTSC; STI; HLT; CLI; RDTSC */
	.quad	A(op_spin_irq)		/* 15 STI, spin until b interrupts were counted, CLI */
	.quad	A(op_wr32x2)		/* 16 WR32 [a] = b >> 32, then [a - 0x10] = b (ICR2, ICR) */
	.quad	A(op_rdmsr_safe)		/* 17 RDMSR a; res2 = the vector of its fault, 0 if none */
	.quad	A(op_wrmsr_safe)		/* 18 WRMSR a = b; res2 = the vector of its fault, 0 if none */
ops_end:

op_rd32:
	mov	(%rdi), %eax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_wr32:
	mov	%esi, (%rdi)
	jmp	cmdloop
op_wrrd32:
	mov	%esi, (%rdi)
	mov	(%rdi), %eax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_wr32x2:
	mov	%rsi, %rax
	shr	$32, %rax
	mov	%eax, (%rdi)
	mov	%esi, -0x10(%rdi)
	jmp	cmdloop
op_rdmsr_safe:
	movq	$0, 0x68(%r15)
	movq	$A(1f), 0x60(%r15)	/* #GP resumes at 1: */
	mov	%edi, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, 0x20(%r15)
1:	movq	$0, 0x60(%r15)
	mov	0x68(%r15), %rax
	mov	%rax, 0x28(%r15)
	jmp	cmdloop
op_wrmsr_safe:
	movq	$0, 0x68(%r15)
	movq	$A(1f), 0x60(%r15)
	mov	%edi, %ecx
	mov	%esi, %eax
	mov	%rsi, %rdx
	shr	$32, %rdx
	wrmsr
1:	movq	$0, 0x60(%r15)
	mov	0x68(%r15), %rax
	mov	%rax, 0x28(%r15)
	jmp	cmdloop
op_rdmsr:
	mov	%edi, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_wrmsr:
	mov	%edi, %ecx
	mov	%esi, %eax
	mov	%rsi, %rdx
	shr	$32, %rdx
	wrmsr
	jmp	cmdloop
op_sti_hlt:
	sti
	hlt
	cli
	mov	0x40(%r15), %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_window:
	sti
1:	pause
	loop	1b
	cli
	mov	0x40(%r15), %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_rdtsc:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_wait:
1:	cli
	cmp	%rsi, 0x40(%r15)
	jae	2f
	sti				/* the STI shadow covers the HLT */
	hlt
	jmp	1b
2:	mov	0x40(%r15), %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_spin_irq:
	sti
1:	cmp	%rsi, 0x40(%r15)
	jae	2f
	pause
	jmp	1b
2:	cli
	mov	0x40(%r15), %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_cpuid:
	mov	%edi, %eax
	cpuid
	mov	%eax, 0x20(%r15)
	mov	%ebx, 0x24(%r15)
	mov	%ecx, 0x28(%r15)
	mov	%edx, 0x2c(%r15)
	jmp	cmdloop
op_cr8:
	mov	%rsi, %cr8
	mov	%cr8, %rax
	mov	%rax, 0x20(%r15)
	jmp	cmdloop
op_spin_mem:
	sti
1:	cmp	%esi, (%rdi)
	je	2f
	pause
	jmp	1b
2:	cli
	jmp	cmdloop
op_hlt_tsc:
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rax, %r8
	sti
	hlt
	cli
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	sub	%r8, %rax
	mov	%rax, 0x20(%r15)
	mov	0x40(%r15), %rax
	mov	%rax, 0x28(%r15)
	jmp	cmdloop

/*
 * Busy loop until the 32-bit stop flag at SHARED + 0x100 is set: each
 * iteration adds 1 to every 4 KiB page's first word in [a, a + c) (the CPU's
 * own RAM) and reads the word at b, every 64th time also b + 0x100000 (a
 * slot the VMM moves between them or removes: either its pattern 0xa5a5a5a5 or, from the VMM's
 * MMIO exits, 0). res = iterations, res2 = reads that were neither.
 */
op_busy:
	xor	%r8, %r8
	xor	%r9, %r9
1:	cmpl	$0, SHARED + 0x100
	jne	4f
	mov	%rdi, %rdx
2:	incl	(%rdx)
	add	$0x1000, %rdx
	mov	%rdi, %rax
	add	%rcx, %rax
	cmp	%rax, %rdx
	jb	2b
	mov	(%rsi), %eax
	test	%eax, %eax
	jz	3f
	cmp	$0xa5a5a5a5, %eax
	je	3f
	inc	%r9
3:	test	$63, %r8		/* the other address: every 64th iteration */
	jnz	5f
	mov	0x100000(%rsi), %eax
	test	%eax, %eax
	jz	5f
	cmp	$0xa5a5a5a5, %eax
	je	5f
	inc	%r9
5:	inc	%r8
	mov	%r8, 0x58(%r15)		/* progress, visible to the VMM */
	jmp	1b
4:	mov	%r8, 0x20(%r15)
	mov	%r9, 0x28(%r15)
	jmp	cmdloop

/* Interrupts: push the vector, go to the common handler. 16 bytes each. */
	.balign	16
apic_stubs:
	.set	vec, 0
	.rept	256
	.balign	16
	.byte	0x68			/* push imm32 */
	.long	vec
	.byte	0xe9			/* jmp rel32 */
	.long	apic_common - . - 4
	.set	vec, vec + 1
	.endr

apic_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	mov	32(%rsp), %rcx		/* vector */
	cmp	$2, %rcx
	je	1f
	cmp	$32, %rcx
	jae	1f
	cmp	$13, %ecx		/* a #GP where a *_safe op expects one: */
	jne	6f
	cmpq	$0, 0x60(%r15)
	je	6f
	mov	%rcx, 0x68(%r15)	/* its vector, */
	mov	0x60(%r15), %rax
	movq	$0, 0x60(%r15)
	mov	%rax, 48(%rsp)		/* resume at the op's fixup (RIP above the error code) */
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$16, %rsp		/* vector, error code */
	iretq
6:	mov	%ecx, %eax		/* an exception: report, stop */
	out	%eax, $0x11
	cli
	jmp	.
1:	incl	0x100(%r15,%rcx,4)
	mov	0x40(%r15), %rax
	movzbl	%al, %edx
	mov	%cl, 0x800(%r15,%rdx)
	incq	0x40(%r15)
	mov	%rcx, 0x48(%r15)
	movzbl	0x600(%r15,%rcx), %eax
	cmp	$1, %eax
	jne	2f
	mov	$0xfee000b0, %eax	/* xAPIC EOI */
	movl	$0, (%rax)
	jmp	3f
2:	cmp	$2, %eax
	jne	3f
	mov	$0x80b, %ecx		/* x2APIC EOI */
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
3:	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$8, %rsp
	iretq

	.balign	8
tgdt_desc:
	.word	31
	.long	0x8000
idt_desc:
	.word	4095
	.quad	0x9000
apic_guest_end:
	.section .note.GNU-stack,"",@progbits
