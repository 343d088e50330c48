/* tests/driver/t_modes.S: guest code that walks real mode -> 16-bit protected -> 32-bit protected -> PAE paging -> long mode, reporting each stage on port 0x10. */
#define BASE	0x1000
#define A(x)	(BASE + (x) - modes_guest)

	.section .rodata
	.globl	modes_guest, modes_guest_end
	.code16
modes_guest:
	mov	$1, %al			/* stage 1: real mode */
	out	%al, $0x10
	cli
	lgdtl	A(gdt_desc)
	mov	%cr0, %eax
	or	$1, %al
	mov	%eax, %cr0
	ljmp	$0x18, $A(pm16)
pm16:					/* 16-bit protected mode */
	mov	$0x20, %ax
	mov	%ax, %ds
	mov	$2, %al
	out	%al, $0x10
	ljmpl	$0x08, $A(pm32)

	.code32
pm32:					/* 32-bit protected mode, flat */
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$0x8000, %esp
	mov	$3, %al
	out	%al, $0x10

	/* PAE tables: PDPT at 0x10000, PD at 0x11000 mapping 0-2 MiB with one large page. */
	movl	$0x11001, 0x10000
	movl	$0x83, 0x11000
	/* Long-mode tables: PML4 at 0x12000 -> PDPT 0x13000 -> the same PD. */
	movl	$0x13003, 0x12000
	movl	$0x11003, 0x13000
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$0x10000, %eax
	mov	%eax, %cr3
	mov	%cr0, %eax
	or	$0x80000000, %eax
	mov	%eax, %cr0
	movl	$0x5a5a5a5a, 0x3000	/* through the guest's own paging */
	mov	$4, %al
	out	%al, $0x10

	/* Leave paging, enable long mode, page again with 4 levels. */
	mov	%cr0, %eax
	and	$0x7fffffff, %eax
	mov	%eax, %cr0
	mov	$0x12000, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx
	rdmsr
	or	$0x100, %eax		/* EFER.LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax
	mov	%eax, %cr0
	ljmp	$0x28, $A(lm64)

	.code64
lm64:
	mov	$5, %al
	out	%al, $0x10
	movabs	$0x1234567800000000, %rax
	shr	$32, %rax
	out	%eax, $0x11		/* 0x12345678: 64-bit arithmetic works */
	hlt

	.balign	8
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x10 data */
	.quad	0x00009a000000ffff	/* 0x18 16-bit code */
	.quad	0x000092000000ffff	/* 0x20 16-bit data */
	.quad	0x00af9a000000ffff	/* 0x28 64-bit code */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	A(gdt)
modes_guest_end:
	.section .note.GNU-stack,"",@progbits
