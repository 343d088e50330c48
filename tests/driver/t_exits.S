/* tests/driver/t_exits.S: 64-bit guest routines, one per exit kind; each reports on ports and ends in HLT. */
#define BASE	0x2000
#define A(x)	(BASE + (x) - exits_guest)
#define MMIO	0xc0000000

	.section .rodata
	.globl	exits_guest, exits_guest_end
	.globl	g_io_string, g_mmio, g_cpuid_msr, g_gp_handler, g_triple
	.globl	g_fetch_mmio, g_fld_mmio, g_debug, g_irq, g_irq_handler, g_nmi_handler
	.globl	g_ro_write, g_loop, g_ins_count, g_io_mmio, g_stack_mmio, g_stack_ret, g_cmpxchg_mmio, g_shift_mmio, g_lmsw_mmio, g_cr_writes, g_cr_gp
	.code64
exits_guest:

/* String I/O: rep outsb of "hello" to port 0x20, rep insw of 3 words from 0x21. */
g_io_string:
	lea	A(msg), %rsi
	mov	$5, %ecx
	mov	$0x20, %dx
	rep outsb
	mov	$0x7000, %edi
	mov	$3, %ecx
	mov	$0x21, %dx
	rep insw
	mov	%ecx, %eax
	out	%eax, $0x22		/* rcx left: 0 */
	hlt
msg:	.ascii	"hello"

/*
 * rep insb of 3 bytes from port 0x23 to 0x7100, RCX changed by the VMM at
 * the exit; RCX, then RDI, go out on 0x22.
 */
g_ins_count:
	mov	$0x7100, %edi
	mov	$3, %ecx
	mov	$0x23, %dx
	rep insb
	mov	%ecx, %eax
	out	%eax, $0x22
	mov	%edi, %eax
	out	%eax, $0x22
	hlt

/*
 * String I/O whose memory is not RAM, which KVM's emulator runs: rep insb
 * of 3 bytes from port 0x24 into MMIO+0x38, outsw from MMIO+0x20 to port
 * 0x25, rep outsb of 2 bytes from MMIO+0x3c, rep insw of 2 words into the
 * read-only slot; RDI, RSI and RCX go out on 0x11.
 */
g_io_mmio:
	mov	$MMIO + 0x38, %edi
	mov	$3, %ecx
	mov	$0x24, %dx
	rep insb
	mov	%edi, %eax
	out	%eax, $0x11
	mov	$MMIO + 0x20, %esi
	mov	$0x25, %dx
	outsw
	mov	$MMIO + 0x3c, %esi
	mov	$2, %ecx
	rep outsb
	mov	%esi, %eax
	out	%eax, $0x11
	mov	%ecx, %eax
	out	%eax, $0x11
	mov	$0x40000000, %edi
	mov	$2, %ecx
	mov	$0x24, %dx
	rep insw
	mov	%edi, %eax
	out	%eax, $0x11
	hlt

/*
 * The stack on MMIO, which KVM's emulator takes: push reg, push imm,
 * pushf, call, pop reg, pop to RAM, push from MMIO, pop reg; then RSP, the
 * return address popped and the word popped to RAM go out on 0x11.
 */
g_stack_mmio:
	mov	%rsp, %rbp
	pushq	$2
	popfq
	mov	$MMIO + 0x40, %esp
	movabs	$0x1122334455667788, %rax
	push	%rax
	pushq	$-2
	pushfq
	call	g_stack_ret
g_stack_ret:
	pop	%rcx
	popq	0x7200
	mov	$MMIO, %ebx
	pushq	0x10(%rbx)
	pop	%rdx
	mov	%esp, %eax
	out	%eax, $0x11
	mov	%ecx, %eax
	out	%eax, $0x11
	mov	0x7200, %eax
	out	%eax, $0x11
	mov	%rbp, %rsp
	hlt

/*
 * lock cmpxchg and lock cmpxchg8b on MMIO, each matching, then not: a read
 * and a write exit each time (KVM's emulator writes either way); ZF after
 * each match, RAX (and EDX) after each miss go out on 0x11.
 */
g_cmpxchg_mmio:
	mov	$MMIO, %ebx
	mov	$0x89868380, %eax
	mov	$0x11112222, %ecx
	lock cmpxchg %ecx, (%rbx)
	setz	%al
	movzbl	%al, %eax
	out	%eax, $0x11
	mov	$5, %eax
	lock cmpxchg %ecx, (%rbx)
	out	%eax, $0x11
	mov	$MMIO + 8, %esi
	mov	$0xa19e9b98, %eax
	mov	$0xadaaa7a4, %edx
	mov	$0x55556666, %ebx
	mov	$0x77778888, %ecx
	lock cmpxchg8b (%rsi)
	setz	%al
	movzbl	%al, %eax
	out	%eax, $0x11
	xor	%eax, %eax
	xor	%edx, %edx
	lock cmpxchg8b (%rsi)
	out	%eax, $0x11
	mov	%edx, %eax
	out	%eax, $0x11
	hlt

/*
 * Shifts and rotates on MMIO: shl by 1, shr by CL, rol by an immediate,
 * rcr by 1 with CF set; the arithmetic flags after each go out on 0x11.
 */
g_shift_mmio:
	mov	$MMIO, %ebx
	shlb	(%rbx)
	pushfq
	pop	%rax
	and	$0x8d5, %eax
	out	%eax, $0x11
	mov	$4, %cl
	shrl	%cl, 4(%rbx)
	pushfq
	pop	%rax
	and	$0x8d5, %eax
	out	%eax, $0x11
	roll	$8, 8(%rbx)
	pushfq
	pop	%rax
	and	$0x8d5, %eax
	out	%eax, $0x11
	stc
	rcrw	12(%rbx)
	pushfq
	pop	%rax
	and	$0x8d5, %eax
	out	%eax, $0x11
	hlt

/* lmsw from MMIO: CR0.TS set through it; CR0's low four bits go out on 0x11. */
g_lmsw_mmio:
	mov	$MMIO, %ebx
	movw	$9, 0x30(%rbx)
	lmsw	0x30(%rbx)
	mov	%cr0, %rax
	and	$0xf, %eax
	out	%eax, $0x11
	clts
	hlt

/* MMIO in many instruction forms; results of reads go out on port 0x11. */
g_mmio:
	mov	$MMIO, %rbx
	movl	$0x11223344, (%rbx)		/* W4 */
	movl	(%rbx), %eax			/* R4 */
	out	%eax, $0x11
	movzbl	4(%rbx), %eax			/* R1 */
	out	%eax, $0x11
	movsbl	5(%rbx), %eax			/* R1 */
	out	%eax, $0x11
	movzwl	6(%rbx), %eax			/* R2 */
	out	%eax, $0x11
	movabs	$0x0102030405060708, %rcx
	mov	%rcx, 8(%rbx)			/* W8 */
	mov	$0x600df00d, %eax
	lea	16(%rbx), %rdi
	stosl					/* W4 */
	lea	32(%rbx), %rsi
	mov	$0x7100, %rdi
	movsb					/* R1 then RAM */
	movzbl	0x7100, %eax
	out	%eax, $0x11
	andl	$0xff00, (%rbx)			/* R4 W4 */
	orb	$1, 1(%rbx)			/* R1 W1 */
	xor	%eax, %eax
	addl	$5, (%rbx)			/* R4 W4 */
	cmpl	$7, (%rbx)			/* R4, flags */
	pushf
	pop	%rax
	and	$0x8d5, %eax
	out	%eax, $0x11
	testl	$1, (%rbx)			/* R4, flags */
	pushf
	pop	%rax
	and	$0x8c5, %eax
	out	%eax, $0x11
	mov	$0x55, %eax
	xchg	%eax, 40(%rbx)			/* R4 W4 */
	out	%eax, $0x11
	btl	$3, (%rbx)			/* R4 */
	setc	%al
	movzbl	%al, %eax
	out	%eax, $0x11
	subq	$1, 48(%rbx)			/* R8 W8 */
	movslq	36(%rbx), %rax			/* R4 */
	shr	$32, %rax
	out	%eax, $0x11
	hlt

/* CPUID in the kernel, MSRs: a round trip and an unknown one (#GP caught). */
g_cpuid_msr:
	xor	%eax, %eax
	cpuid
	mov	%ebx, %eax
	out	%eax, $0x11			/* vendor, first 4 bytes */
	mov	$0xc0000081, %ecx		/* STAR */
	mov	$0x12345678, %eax
	mov	$0x00230010, %edx
	wrmsr
	xor	%eax, %eax
	xor	%edx, %edx
	rdmsr
	out	%eax, $0x11
	mov	%edx, %eax
	out	%eax, $0x11
	mov	$0x4b564d99, %ecx		/* unknown MSR */
	rdmsr
	mov	$0xaa, %eax
	out	%eax, $0x11			/* after the #GP handler */
	hlt
g_gp_handler:
	mov	$0x0d, %eax
	out	%eax, $0x12
	add	$8, %rsp			/* error code */
	addq	$2, (%rsp)			/* skip the rdmsr */
	iretq

/* Triple fault: no IDT at all, then an exception. */
g_triple:
	lidt	A(null_idt)
	ud2
null_idt:
	.word	0
	.quad	0

/* Execute from MMIO: the instruction cannot be fetched. */
g_fetch_mmio:
	mov	$MMIO, %rax
	jmp	*%rax

/* An x87 load from MMIO: no instruction emulator takes it. */
g_fld_mmio:
	mov	$MMIO, %rax
	flds	(%rax)
	hlt

/* Debugging: a few instructions and a breakpoint. */
g_debug:
	nop
	mov	$1, %eax
	int3
	out	%eax, $0x11
	hlt

/* Interrupts: handlers report on 0x30 (IRQ) and 0x31 (NMI). */
g_irq:
	sti
	nop				/* the STI shadow ends here */
1:	hlt
	jmp	1b
g_irq_handler:
	push	%rax
	mov	$0x20, %eax
	out	%eax, $0x30
	pop	%rax
	iretq
g_nmi_handler:
	push	%rax
	mov	$0x02, %eax
	out	%eax, $0x31
	pop	%rax
	iretq

/* A write to a read-only slot at 2 MiB, a read from it. */
g_ro_write:
	mov	$0x40000000, %rbx
	mov	(%rbx), %eax
	out	%eax, $0x11
	movl	$0xfeedface, (%rbx)
	hlt

/* A busy loop, for signals and teardown. */
/*
 * CR0 and CR4 writes KVM refuses with #GP (g_cr_gp reports 0xd on 0x12 and
 * skips the 3-byte MOV): CR4.VMXE, a reserved CR4 bit, CR4.PAE off in long
 * mode, CR0.NW without CD, CR0.PG off in 64-bit mode. Then ones it takes:
 * CR4.PCE, CR0.CD, LMSW of EM from a register and from RAM. Each CR value
 * goes out on 0x11.
 */
g_cr_writes:
	mov	%cr4, %rax
	or	$0x2000, %eax			/* VMXE */
	mov	%rax, %cr4
	mov	%cr4, %rax
	or	$0x8000, %eax			/* bit 15: reserved */
	mov	%rax, %cr4
	mov	%cr4, %rax
	and	$~0x20, %eax			/* PAE off in long mode */
	mov	%rax, %cr4
	mov	%cr0, %rax
	or	$0x20000000, %eax		/* NW without CD */
	mov	%rax, %cr0
	mov	%cr0, %rax
	btr	$31, %eax			/* PG off in 64-bit mode */
	mov	%rax, %cr0
	mov	%cr4, %rax
	out	%eax, $0x11
	mov	%cr0, %rax
	out	%eax, $0x11
	mov	%cr4, %rax
	or	$0x100, %eax			/* PCE */
	mov	%rax, %cr4
	mov	%cr4, %rax
	out	%eax, $0x11
	mov	%cr0, %rax
	or	$0x40000000, %eax		/* CD */
	mov	%rax, %cr0
	mov	%cr0, %rax
	out	%eax, $0x11
	btr	$30, %eax
	mov	%rax, %cr0
	mov	$0x5, %eax			/* PE|EM, MP clear */
	lmsw	%ax
	mov	%cr0, %rax
	out	%eax, $0x11
	btr	$2, %eax
	mov	%rax, %cr0
	movw	$0x5, 0x7000
	lmsw	0x7000
	mov	%cr0, %rax
	out	%eax, $0x11
	hlt
g_cr_gp:
	mov	$0x0d, %eax
	out	%eax, $0x12
	add	$8, %rsp			/* error code */
	addq	$3, (%rsp)			/* skip the MOV to CR */
	iretq

g_loop:
	inc	%rax
	jmp	g_loop
exits_guest_end:
	.section .note.GNU-stack,"",@progbits
