/* tests/driver/t_xsave.S: 64-bit guest for t_xsave: OSXSAVE and CPUID, XSETBV's faults, YMM values across exits. */
#define BASE	0x2000
#define A(x)	(BASE + (x) - xsave_guest)
#define XCR0_GOOD	0x4ff8		/* the XCR0 the VMM wants set */
#define ITERS		0x4ff0		/* exits in the YMM loop */
#define YMM_IN		0x5000		/* 16 x 32 bytes the guest loads */
#define YMM_OUT		0x5400		/* where it stores them back */

	.section .rodata
	.globl	xsave_guest, xsave_guest_end
	.globl	g_start, g_size, g_ymm, g_dump, g_ud, g_pkru, g_gp_handler, g_ud_handler
	.code64
xsave_guest:

/*
 * CPUID.1:ECX before and after CR4.OSXSAVE (port 0x10), XCR0 at reset
 * (0x11) and the XSAVE size CPUID.0xD.0:EBX gives for it (0x12); then the
 * XSETBVs KVM refuses, #GP each (their count on 0x13); then the VMM's XCR0,
 * read back (0x11) with its size (0x12; g_size alone reports just that).
 */
g_start:
	xor	%r15d, %r15d
	mov	$1, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ecx, %eax
	out	%eax, $0x10
	mov	%cr4, %rax
	or	$0x40600, %rax		/* OSFXSR, OSXMMEXCPT, OSXSAVE */
	mov	%rax, %cr4
	mov	$1, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ecx, %eax
	out	%eax, $0x10
	xor	%ecx, %ecx
	xgetbv
	out	%eax, $0x11
	mov	$0xd, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ebx, %eax
	out	%eax, $0x12

	/* Each of these faults with #GP; the handler skips it. */
	mov	$1, %ecx		/* XCR1 */
	mov	$1, %eax
	xor	%edx, %edx
	xsetbv
	xor	%ecx, %ecx
	xor	%eax, %eax		/* no x87 */
	xsetbv
	mov	$5, %eax		/* AVX without SSE */
	xsetbv
	mov	$0x27, %eax		/* opmask without the ZMM halves */
	xsetbv
	mov	$0xe3, %eax		/* AVX-512 without AVX */
	xsetbv
	mov	$0x0b, %eax		/* MPX: not offered */
	xsetbv
	mov	$3, %eax		/* bit 63 */
	mov	$0x80000000, %edx
	xsetbv
	mov	$0x403, %eax		/* bit 10: no such component */
	xor	%edx, %edx
	xsetbv
	mov	%r15d, %eax
	out	%eax, $0x13

	mov	XCR0_GOOD, %eax
	xor	%edx, %edx
	xor	%ecx, %ecx
	xsetbv
	xor	%ecx, %ecx
	xgetbv
	out	%eax, $0x11
g_size:
	mov	$0xd, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ebx, %eax
	out	%eax, $0x12
	hlt

/*
 * Load YMM0-15 from YMM_IN, then ITERS times: spin, exit to the VMM on
 * port 0x20, store all sixteen to YMM_OUT and compare with YMM_IN. The
 * number of iterations that found a difference goes out on 0x21.
 */
g_ymm:
	vmovdqu	YMM_IN + 0x000, %ymm0
	vmovdqu	YMM_IN + 0x020, %ymm1
	vmovdqu	YMM_IN + 0x040, %ymm2
	vmovdqu	YMM_IN + 0x060, %ymm3
	vmovdqu	YMM_IN + 0x080, %ymm4
	vmovdqu	YMM_IN + 0x0a0, %ymm5
	vmovdqu	YMM_IN + 0x0c0, %ymm6
	vmovdqu	YMM_IN + 0x0e0, %ymm7
	vmovdqu	YMM_IN + 0x100, %ymm8
	vmovdqu	YMM_IN + 0x120, %ymm9
	vmovdqu	YMM_IN + 0x140, %ymm10
	vmovdqu	YMM_IN + 0x160, %ymm11
	vmovdqu	YMM_IN + 0x180, %ymm12
	vmovdqu	YMM_IN + 0x1a0, %ymm13
	vmovdqu	YMM_IN + 0x1c0, %ymm14
	vmovdqu	YMM_IN + 0x1e0, %ymm15
	mov	ITERS, %r12d
	xor	%r13d, %r13d
1:	mov	$300, %ecx
2:	dec	%ecx
	jnz	2b
	out	%al, $0x20
	call	store
	mov	$YMM_IN, %esi
	mov	$YMM_OUT, %edi
	mov	$512, %ecx
	repe cmpsb
	setne	%al
	movzbl	%al, %eax
	add	%eax, %r13d
	dec	%r12d
	jnz	1b
	mov	%r13d, %eax
	out	%eax, $0x21
	hlt

/* Store YMM0-15 to YMM_OUT, report on 0x22. */
g_dump:
	call	store
	out	%al, $0x22
	hlt

store:
	vmovdqu	%ymm0, YMM_OUT + 0x000
	vmovdqu	%ymm1, YMM_OUT + 0x020
	vmovdqu	%ymm2, YMM_OUT + 0x040
	vmovdqu	%ymm3, YMM_OUT + 0x060
	vmovdqu	%ymm4, YMM_OUT + 0x080
	vmovdqu	%ymm5, YMM_OUT + 0x0a0
	vmovdqu	%ymm6, YMM_OUT + 0x0c0
	vmovdqu	%ymm7, YMM_OUT + 0x0e0
	vmovdqu	%ymm8, YMM_OUT + 0x100
	vmovdqu	%ymm9, YMM_OUT + 0x120
	vmovdqu	%ymm10, YMM_OUT + 0x140
	vmovdqu	%ymm11, YMM_OUT + 0x160
	vmovdqu	%ymm12, YMM_OUT + 0x180
	vmovdqu	%ymm13, YMM_OUT + 0x1a0
	vmovdqu	%ymm14, YMM_OUT + 0x1c0
	vmovdqu	%ymm15, YMM_OUT + 0x1e0
	ret

/*
 * After the VMM cleared CR4.OSXSAVE: CPUID.1:ECX (0x10), then XSETBV and
 * XGETBV, #UD each (the count of #UDs on 0x14).
 */
g_ud:
	xor	%r14d, %r14d
	mov	$1, %eax
	xor	%ecx, %ecx
	cpuid
	mov	%ecx, %eax
	out	%eax, $0x10
	xor	%ecx, %ecx
	mov	$3, %eax
	xor	%edx, %edx
	xsetbv
	xgetbv
	mov	%r14d, %eax
	out	%eax, $0x14
	hlt

/*
 * PKRU through XSAVE state (XCR0 has PKRU, CR4.PKE is off): XRSTOR of the
 * PKRU component from 0x10000, an exit on 0x16, then XSAVE of it to
 * 0x11000 and 0x17.
 */
g_pkru:
	mov	$0x200, %eax
	xor	%edx, %edx
	xrstor	0x10000
	out	%al, $0x16
	mov	$0x200, %eax
	xor	%edx, %edx
	xsave	0x11000
	out	%al, $0x17
	hlt

/* #GP: count it in R15, skip the 3-byte XSETBV. */
g_gp_handler:
	add	$8, %rsp
	addq	$3, (%rsp)
	inc	%r15d
	iretq

/* #UD: count it in R14, skip the 3-byte XSETBV or XGETBV. */
g_ud_handler:
	addq	$3, (%rsp)
	inc	%r14d
	iretq
xsave_guest_end:
	.section .note.GNU-stack, "", @progbits
