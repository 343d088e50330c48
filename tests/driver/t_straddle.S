/* tests/driver/t_straddle.S: 64-bit loads, stores, MOVS and a read-modify-write whose operand crosses RAM/MMIO page edges; case N ends with OUT N to port 0x10. */
	.section .rodata
	.globl	straddle_guest, straddle_guest_end
	.code64
straddle_guest:
	mov	0xffffc, %r8			/* 1: RAM -> MMIO, 8 bytes */
	mov	$1, %al
	out	%al, $0x10
	mov	0x100ffc, %r9			/* 2: MMIO -> MMIO, 8 bytes */
	mov	$2, %al
	out	%al, $0x10
	mov	0x10fffe, %r10d		/* 3: MMIO -> RAM, 4 bytes */
	mov	$3, %al
	out	%al, $0x10
	mov	0x100fff, %r11w		/* 4: MMIO -> MMIO, 2 bytes */
	mov	$4, %al
	out	%al, $0x10
	movabs	$0x1122334455667788, %rax	/* 5: store RAM -> MMIO, 8 bytes */
	mov	%rax, 0xffffc
	mov	$5, %al
	out	%al, $0x10
	movabs	$0x1122334455667788, %rax	/* 6: store MMIO -> MMIO, 6 + 2 */
	mov	%rax, 0x100ffa
	mov	$6, %al
	out	%al, $0x10
	mov	$0xa1b2c3d4, %eax		/* 7: store MMIO -> RAM, 3 + 1 */
	mov	%eax, 0x10fffd
	mov	$7, %al
	out	%al, $0x10
	mov	$0xbeef, %ax			/* 8: store RAM -> MMIO, 2 bytes */
	mov	%ax, 0xfffff
	mov	$8, %al
	out	%al, $0x10
	mov	$0x100ffc, %esi			/* 9: movsq MMIO -> RAM */
	mov	$0x5000, %edi
	cld
	movsq
	mov	$9, %al
	out	%al, $0x10
	mov	$0x6000, %esi			/* 10: rep movsl RAM -> MMIO */
	mov	$0x100ffe, %edi
	mov	$2, %ecx
	rep movsl
	mov	$10, %al
	out	%al, $0x10
	addl	$0x01010101, 0x100ffe		/* 11: read-modify-write MMIO -> MMIO */
	mov	$11, %al
	out	%al, $0x10
	hlt
straddle_guest_end:
	.section .note.GNU-stack,"",@progbits
