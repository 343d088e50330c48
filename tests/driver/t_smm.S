/* tests/driver/t_smm.S: guests for t_smm: a 64-bit program that takes SMIs, a real-mode one, and the SMI handler copied into SMRAM. */
#define BASE	0x2000
#define A(x)	(BASE + (x) - smm_guest)
#define SMRAM_COUNT	0x30100		/* SMIs taken, kept in SMRAM */
#define SMRAM_RELOC	0x30104		/* nonzero: the handler's new SMBASE */
#define NORMAL_WORD	0x30100		/* the same address outside SMM */
#define ALIAS_WORD	0x1000		/* normal memory, aliased into SMM's space */
#define APIC_ICR	0xfee00300

	.section .rodata
	.globl	smm_guest, smm_guest_end, g_main, g_after_smi, g_after_ipi
	.globl	g_ud_handler, g_real, g_real_after, smi_handler, smi_handler_end
	.globl	reset_stub, reset_stub_end
	.code64
smm_guest:

/* The exits the VMM steers (port: what the VMM does there) are in t_smm.c. */
g_main:
	mov	NORMAL_WORD, %eax
	out	%eax, $0x15
	mov	$0x1111111111111111, %rbx
	mov	$0x2222222222222222, %rcx
	mov	$0x3333333333333333, %rdx
	mov	$0x4444444444444444, %rsi
	mov	$0x5555555555555555, %rdi
	mov	$0x6666666666666666, %rbp
	mov	$0x8888888888888888, %r8
	mov	$0x9999999999999999, %r9
	mov	$0xaaaaaaaaaaaaaaaa, %r10
	mov	$0xbbbbbbbbbbbbbbbb, %r11
	mov	$0xcccccccccccccccc, %r12
	mov	$0xdddddddddddddddd, %r13
	mov	$0xeeeeeeeeeeeeeeee, %r14
	mov	$0xffffffffffffffff, %r15
	mov	$0x77, %eax
	out	%al, $0x10		/* the VMM sends KVM_SMI */
g_after_smi:
	out	%al, $0x11		/* back from SMM: the registers as they were */

	/* A self IPI with delivery mode SMI, through the xAPIC page. */
	mov	$APIC_ICR, %eax
	movl	$0x40200, (%rax)
g_after_ipi:
	out	%al, $0x12

	/* RSM outside SMM: #UD. */
	rsm
	out	%al, $0x13

1:	out	%al, $0x14
	jmp	1b

g_ud_handler:
	out	%al, $0x16
	addq	$2, (%rsp)
	iretq

/* Real mode, for the 32-bit state save map (a guest without long mode). */
	.code16
g_real:
	mov	$0x1234, %bx
	mov	$0x5678, %si
	out	%al, $0x20		/* the VMM sends KVM_SMI */
g_real_after:
	out	%al, $0x21
	jmp	g_real_after
smm_guest_end:

/*
 * The SMI handler, at SMBASE + 0x8000 in real mode (4 GiB limits, data
 * segments at 0): count the SMI in SMRAM and report it and an aliased
 * normal word, clobber what RSM restores, move SMBASE if asked, RSM.
 */
smi_handler:
	movl	$SMRAM_COUNT, %ebx
	incl	(%ebx)
	movl	(%ebx), %eax
	out	%al, $0x80
	movl	$ALIAS_WORD, %eax
	movl	(%eax), %eax
	out	%eax, $0x81
	movl	$0xdeadbeef, %ecx
	movl	%ecx, %edx
	movl	%ecx, %esi
	movl	%ecx, %edi
	movl	%ecx, %ebp
	movl	4(%ebx), %eax
	test	%eax, %eax
	jz	1f
	xorl	%ecx, %ecx
	mov	%cs, %cx
	shll	$4, %ecx
	movl	%eax, 0xff00(%ecx)	/* the AMD64 map's SMBASE field (0x7f00) */
	movl	$0, 4(%ebx)
1:	movl	$0xdeadbeef, %ebx
	rsm
smi_handler_end:

/* At the reset vector (0xfffffff0): report an INIT taken after RSM. */
reset_stub:
	out	%al, $0x87
	jmp	reset_stub
reset_stub_end:

	.section .note.GNU-stack,"",@progbits
