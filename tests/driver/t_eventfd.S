/* tests/driver/t_eventfd.S: 64-bit guest routines for ioeventfds and irqfds; loaded at 0x2000. */
#define BASE	0x2000
#define MMIO	0xc0000000
#define COUNT	0x1000		/* interrupts taken, the vector of the last at COUNT + 4 */
#define APIC	0xfee00000
#define IOAPIC	0xfec00000

	.section .rodata
	.globl	ev_guest, ev_guest_end
	.globl	g_ioev, g_irq_halt, g_irq_spin, h_40, h_41, h_42, g_roundtrip, h_43, h_44
	.globl	g_pic, h_23, h_2a
	.code64
ev_guest:

/*
 * ioeventfds at: PIO 0xe0 len 1 any value, 0xe2 len 2 = 0x1234 and
 * = 0x5678, 0xe4 len 0; MMIO +0 len 4 any value, +8 len 8 =
 * 0x0102030405060708, +0x10 len 0. Comments say what each access does.
 */
g_ioev:
	mov	$0x11, %al
	out	%al, $0xe0		/* eventfd a */
	mov	$0x1234, %ax
	out	%ax, $0xe2		/* eventfd b */
	mov	$0x5678, %ax
	out	%ax, $0xe2		/* eventfd b2 */
	mov	$0x4321, %ax
	out	%ax, $0xe2		/* exit: no datamatch */
	mov	$0x55667788, %eax
	out	%eax, $0xe0		/* exit: 4 bytes, a has 1 */
	in	$0xe0, %al		/* exit: a read */
	out	%al, $0xe4		/* eventfd f */
	out	%eax, $0xe4		/* eventfd f: any length */
	mov	$MMIO, %ebx
	movl	$0xdeadbeef, (%rbx)	/* eventfd c */
	movw	$0x99, (%rbx)		/* exit: 2 bytes, c has 4 */
	movabs	$0x0102030405060708, %rcx
	mov	%rcx, 8(%rbx)		/* eventfd d */
	mov	%rbx, 8(%rbx)		/* exit: no datamatch */
	movb	$1, 0x10(%rbx)		/* eventfd e */
	movl	$2, 0x10(%rbx)		/* eventfd e: any length */
	movl	$3, 0x14(%rbx)		/* exit: nothing there */
	mov	(%rbx), %eax		/* exit: a read */
	hlt

/*
 * Mask the 8259s, enable the local APIC, route IOAPIC pin 5 with the
 * redirection entry's low word from RBX, then wait for interrupts.
 */
setup:
	mov	$0xff, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$APIC, %esi
	movl	$0x1ff, 0xf0(%rsi)	/* SVR: enabled, spurious 0xff */
	mov	$IOAPIC, %esi
	movl	$0x1a, (%rsi)		/* pin 5, low */
	movl	%ebx, 0x10(%rsi)
	movl	$0x1b, (%rsi)		/* pin 5, high: APIC 0 */
	movl	$0, 0x10(%rsi)
	ret

g_irq_halt:
	call	setup
	out	%al, $0xf3		/* ready: pin 5 is routed */
	sti
1:	hlt
	jmp	1b

g_irq_spin:
	call	setup
	out	%al, $0xf3
	sti
1:	pause
	jmp	1b

/*
 * RCX round trips as a virtio driver makes them: notify through the
 * ioeventfd at port 0x80 with interrupts off, then STI; HLT until the
 * device thread's irqfd interrupt (vector 0x43, h_43) has come. Ends with
 * an OUT to 0xf4.
 */
g_roundtrip:
	call	setup
	call	watchdog
	out	%al, $0xf3
1:	cli
	mov	COUNT, %edx
	out	%al, $0x80
2:	sti
	hlt
	cli
	cmp	%edx, COUNT		/* no interrupt yet: a watchdog tick, halt again */
	je	2b
	loop	1b
	mov	$APIC, %esi
	movl	$0x10000, 0x320(%rsi)	/* the watchdog off */
	out	%al, $0xf4

/*
 * The LAPIC timer, periodic at vector 0x44 (h_44) every 2^24 bus cycles:
 * under TCG the emulated SVM may deliver an interrupt in the STI shadow,
 * before the HLT (both lanes have seen it): then a tick ends the HLT
 * instead of leaving the guest asleep.
 */
watchdog:
	mov	$APIC, %esi
	movl	$0xb, 0x3e0(%rsi)	/* divide by 1 */
	movl	$0x20044, 0x320(%rsi)	/* periodic, vector 0x44 */
	movl	$0x1000000, 0x380(%rsi)
	ret

h_44:
	incl	COUNT + 8		/* watchdog ticks */
	push	%rsi
	mov	$APIC, %esi
	movl	$0, 0xb0(%rsi)
	pop	%rsi
	iretq

/* Count and EOI, no exit. */
h_43:
	incl	COUNT
	push	%rsi
	mov	$APIC, %esi
	movl	$0, 0xb0(%rsi)
	pop	%rsi
	iretq

/*
 * The 8259 pair at vectors 0x20 and 0x28, IRQ 3 and IRQ 10 unmasked and
 * level-triggered (ELCR), the local APIC passing ExtINT through LVT0;
 * then halt for interrupts (h_23, h_2a).
 */
g_pic:
	mov	$0x11, %al		/* ICW1: edge (ELCR decides), cascade, ICW4 */
	out	%al, $0x20
	out	%al, $0xa0
	mov	$0x20, %al		/* ICW2: vector bases */
	out	%al, $0x21
	mov	$0x28, %al
	out	%al, $0xa1
	mov	$0x04, %al		/* ICW3: slave on IRQ 2 */
	out	%al, $0x21
	mov	$0x02, %al
	out	%al, $0xa1
	mov	$0x01, %al		/* ICW4: 8086 mode */
	out	%al, $0x21
	out	%al, $0xa1
	mov	$0xf3, %al		/* master: IRQ 2 and 3 unmasked */
	out	%al, $0x21
	mov	$0xfb, %al		/* slave: IRQ 10 unmasked */
	out	%al, $0xa1
	mov	$0x08, %al		/* ELCR: IRQ 3 and 10 level */
	mov	$0x4d0, %dx
	out	%al, %dx
	mov	$0x04, %al
	inc	%dx
	out	%al, %dx
	mov	$APIC, %esi
	movl	$0x1ff, 0xf0(%rsi)	/* SVR: enabled */
	movl	$0x700, 0x350(%rsi)	/* LVT0: ExtINT */
	out	%al, $0xf3
	sti
1:	hlt
	jmp	1b

/* PIC handlers: count, exit on 0xf1, EOI the PICs, exit on 0xf0. */
h_23:
	push	%rax
	mov	$0x23, %al
	jmp	pic_handler
h_2a:
	push	%rax
	mov	$0x2a, %al
	jmp	pic_handler
pic_handler:
	incl	COUNT
	out	%al, $0xf1
	push	%rax
	mov	$0x20, %al		/* non-specific EOI, slave then master */
	out	%al, $0xa0
	out	%al, $0x20
	pop	%rax
	out	%al, $0xf0
	pop	%rax
	iretq

/* Handlers: count, exit on port 0xf1, EOI, exit on port 0xf0 (AL = vector). */
h_40:
	push	%rax
	mov	$0x40, %al
	jmp	handler
h_41:
	push	%rax
	mov	$0x41, %al
	jmp	handler
h_42:
	push	%rax
	mov	$0x42, %al
	jmp	handler
handler:
	push	%rsi
	incl	COUNT
	movb	%al, COUNT + 4
	out	%al, $0xf1
	mov	$APIC, %esi
	movl	$0, 0xb0(%rsi)		/* EOI */
	out	%al, $0xf0
	pop	%rsi
	pop	%rax
	iretq
ev_guest_end:

	.section .note.GNU-stack,"",@progbits
