/* tests/driver/t_hyperv_synic.S: 64-bit guest for t_hyperv_synic: the SynIC message page, a message timer, a direct timer, a SINT raised by a route. */
#define MSG_PAGE	0x14000
#define SLOT2		(MSG_PAGE + 2 * 256)	/* SINT 2's message */
#define DATA		0x5000
#define N40		(DATA + 0x10)		/* interrupts taken per vector */
#define N41		(DATA + 0x14)
#define N42		(DATA + 0x18)
#define APIC_SPIV	0xfee000f0
#define APIC_EOI	0xfee000b0
#define HCALL_PAGE	0x10000
#define HC_IN		0x12000
#define HC_OUT		0x13000

#define MSR_GUEST_OS_ID		0x40000000
#define MSR_HYPERCALL		0x40000001
#define MSR_TIME_REF_COUNT	0x40000020
#define MSR_SIMP		0x40000083
#define MSR_EOM			0x40000084
#define MSR_SINT2		0x40000092
#define MSR_SINT3		0x40000093
#define MSR_STIMER0_CONFIG	0x400000b0
#define MSR_STIMER0_COUNT	0x400000b1
#define MSR_STIMER1_CONFIG	0x400000b2
#define MSR_STIMER1_COUNT	0x400000b3

	.section .rodata
	.globl	synic_guest, synic_guest_end
	.globl	g_synic, h_msg, h_direct, h_sint
	.code64
synic_guest:

#include "guest_macros.inc"

/* A one-shot timer's count: the reference time 1 ms from now. */
.macro	IN_1MS msr
	mov	$MSR_TIME_REF_COUNT, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	add	$10000, %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	mov	$\msr, %ecx
	wrmsr
.endm

/* Halt with interrupts on until the counter at addr is not 0. */
.macro	WAIT addr
1:	cmpl	$0, \addr
	jne	2f
	sti
	hlt
	jmp	1b
2:
.endm

/*
 * The message page (its MSR write exits to the VMM), SINT 2 on vector 0x40
 * and SINT 3 on 0x42 (auto-EOI); timer 0 sends a message to SINT 2 (port 0x40: taken),
 * timer 1 interrupts directly on 0x41 (port 0x41); then the VMM raises
 * SINT 3 through a KVM_IRQ_ROUTING_HV_SINT route (0x42, then 0x43).
 */
g_synic:
	mov	$APIC_SPIV, %edi
	movl	$0x1ff, (%rdi)
	WRMSR64	MSR_SIMP, MSG_PAGE | 1
	WRMSR64	MSR_SINT2, 0x40
	WRMSR64	MSR_SINT3, 0x42 | (1 << 17)	/* auto-EOI */
	IN_1MS	MSR_STIMER0_COUNT
	WRMSR64	MSR_STIMER0_CONFIG, 1 | (2 << 16)	/* enable, SINT 2 */
	WAIT	N40
	mov	N40, %eax
	out	%eax, $0x40

	IN_1MS	MSR_STIMER1_COUNT
	WRMSR64	MSR_STIMER1_CONFIG, 1 | (1 << 12) | (0x41 << 4)	/* direct, vector 0x41 */
	WAIT	N41
	mov	N41, %eax
	out	%eax, $0x41

	sti
	out	%al, $0x42
1:	cmpl	$0, N42			/* spin: raised while the vCPU is out */
	jne	2f
	pause
	jmp	1b
2:
	mov	N42, %eax
	out	%eax, $0x43

	/* HvPostMessage goes to the VMM (0x45: its result); HvSignalEvent, fast, to an eventfd (0x46). */
	WRMSR64	MSR_GUEST_OS_ID, 0x8100000000000000
	WRMSR64	MSR_HYPERCALL, HCALL_PAGE | 1
	mov	$0x005c, %ecx
	mov	$HC_IN, %edx
	mov	$HC_OUT, %r8d
	mov	$HCALL_PAGE, %eax
	call	*%rax
	out	%eax, $0x45
	mov	$0x1005d, %ecx			/* fast */
	mov	$7, %edx			/* connection 7 */
	mov	$HCALL_PAGE, %eax
	call	*%rax
	out	%eax, $0x46
	out	%al, $0x44

/* SINT 2: keep the message's type and timer index, free the slot, EOI, EOM. */
h_msg:
	push	%rax
	push	%rcx
	push	%rdx
	mov	SLOT2, %eax
	mov	%eax, DATA
	mov	SLOT2 + 16, %eax
	mov	%eax, DATA + 4
	movl	$0, SLOT2
	incl	N40
	push	%rdi
	mov	$APIC_EOI, %edi
	movl	$0, (%rdi)
	pop	%rdi
	mov	$MSR_EOM, %ecx
	xor	%eax, %eax
	xor	%edx, %edx
	wrmsr
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq

h_direct:
	incl	N41
	push	%rdi
	mov	$APIC_EOI, %edi
	movl	$0, (%rdi)
	pop	%rdi
	iretq

/* SINT 3 is auto-EOI: no EOI here. */
h_sint:
	incl	N42
	iretq
synic_guest_end:
	.section .note.GNU-stack, "", @progbits
