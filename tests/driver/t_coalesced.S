/* tests/driver/t_coalesced.S: 64-bit guest routines for coalesced PIO and MMIO; each ends in HLT. */
#define BASE	0x2000
#define A(x)	(BASE + (x) - coal_guest)
#define MMIO	0xc0000000

	.section .rodata
	.globl	coal_guest, coal_guest_end
	.globl	g_pio, g_mmio, g_flood
	.code64
coal_guest:

/*
 * Zone: ports 0x70-0x71. Byte and word writes inside go to the ring; a
 * dword write reaches past it and a read never coalesces: both exit.
 */
g_pio:
	mov	$0x1234, %eax
	out	%al, $0x70		/* ring: 70 len 1 = 34 */
	out	%ax, $0x70		/* ring: 70 len 2 = 1234 */
	mov	$0xaabbccdd, %eax
	out	%eax, $0x70		/* exit: 4 bytes pass the zone */
	in	$0x70, %al		/* exit: a read */
	mov	$0x5a, %al
	out	%al, $0x71		/* ring: 71 len 1 = 5a */
	out	%al, $0x72		/* exit: outside */
	hlt

/* Zone: MMIO + 0 .. + 16. Reads and writes outside exit. */
g_mmio:
	mov	$MMIO, %rbx
	movl	$0x11223344, (%rbx)		/* ring: W4 */
	movabs	$0x0102030405060708, %rcx
	mov	%rcx, 8(%rbx)			/* ring: W8 */
	movl	(%rbx), %eax			/* exit: R4 */
	movw	$0x5566, 16(%rbx)		/* exit: W2 outside */
	movb	$0x77, 15(%rbx)			/* ring: W1 at the zone's last byte */
	hlt

/* 200 byte writes to port 0x70, the value counting up from 0. */
g_flood:
	xor	%eax, %eax
	mov	$200, %ecx
1:	out	%al, $0x70
	inc	%eax
	loop	1b
	hlt
coal_guest_end:

	.section .note.GNU-stack,"",@progbits
