/*
 * tests/driver/bench_irq.S: the guest loops of the irqchip benches
 * (bench_irq.c), loaded at 0x50000 next to apicguest.S, whose IDT stubs and
 * common handler count each interrupt at 0x40(%r15) and EOI it. Each loop
 * runs RCX iterations, then reports on port 0x13 and stops. On entry r15
 * is the CPU's block and interrupts are off; the VMM sets RIP, RCX, RDX.
 */
#define APIC	0xfee00000
#define ICR	0x300
#define ICR2	0x310
#define LVTT	0x320
#define TMICT	0x380
#define TDCR	0x3e0

	.section .rodata
	.globl	birq_guest, birq_guest_end
	.globl	b_ipi_ping_hlt, b_ipi_ping_spin, b_ipi_pong, b_timer_oneshot, b_timer_tscdl
	.code64
birq_guest:

/*
 * Wait until the handler's count at 0x40(%r15) reaches r8, halted with
 * interrupts on (the STI shadow covers the HLT), or spinning.
 */
.macro	wait_hlt
1:	cli
	cmp	%r8, 0x40(%r15)
	jae	2f
	sti
	hlt
	jmp	1b
2:
.endm
.macro	wait_spin
	sti
1:	cmp	%r8, 0x40(%r15)
	jae	2f
	pause
	jmp	1b
2:	cli
.endm

/* vCPU 0: a fixed IPI (vector 0x40) to APIC ID 1, then wait for the reply. */
b_ipi_ping_hlt:
	mov	$APIC, %esi
	movl	$(1 << 24), ICR2(%rsi)
	mov	0x40(%r15), %r8
3:	inc	%r8
	movl	$0x40, ICR(%rsi)
	wait_hlt
	loop	3b
	out	%al, $0x13
	jmp	.

b_ipi_ping_spin:
	mov	$APIC, %esi
	movl	$(1 << 24), ICR2(%rsi)
	mov	0x40(%r15), %r8
3:	inc	%r8
	movl	$0x40, ICR(%rsi)
	wait_spin
	loop	3b
	out	%al, $0x13
	jmp	.

/* vCPU 1: halted until the IPI, then a fixed IPI (vector 0x41) back to APIC ID 0. */
b_ipi_pong:
	mov	$APIC, %esi
	movl	$0, ICR2(%rsi)
	mov	0x40(%r15), %r8
3:	inc	%r8
	wait_hlt
	movl	$0x41, ICR(%rsi)
	loop	3b
	out	%al, $0x13
	jmp	.

/*
 * The LAPIC timer, one-shot at divide 1 (vector 0x42): TMICT = RDX, then
 * halt until its interrupt.
 */
b_timer_oneshot:
	mov	$APIC, %esi
	movl	$0xb, TDCR(%rsi)
	movl	$0x42, LVTT(%rsi)
	mov	0x40(%r15), %r8
3:	inc	%r8
	mov	%edx, TMICT(%rsi)
	wait_hlt
	loop	3b
	out	%al, $0x13
	jmp	.

/* TSC-deadline mode (vector 0x43): IA32_TSC_DEADLINE = TSC + RDX, then halt until its interrupt. */
b_timer_tscdl:
	mov	$APIC, %esi
	movl	$(0x43 | 2 << 17), LVTT(%rsi)
	mov	%rdx, %r9
	mov	%rcx, %r11		/* WRMSR takes ECX: count in r11 */
	mov	$0x6e0, %ecx
	mov	0x40(%r15), %r8
3:	inc	%r8
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	add	%r9, %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
	wait_hlt
	dec	%r11
	jnz	3b
	out	%al, $0x13
	jmp	.
birq_guest_end:

	.section .note.GNU-stack,"",@progbits
