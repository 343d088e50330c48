/* tests/driver/bench_exits.S: 64-bit guest loops for the CPUID and eventfd benches (loaded at 0x2000, RCX = iterations), and the AVX prologue of the AVX-live exit benches. */
#define APIC	0xfee00000
#define IOAPIC	0xfec00000

	.section .rodata
	.globl	bench_guest, bench_guest_end
	.globl	b_cpuid, b_ioev_pio, b_ioev_mmio, b_irqfd, b_handler, b_tick
	.globl	b_avx_load, b_avx_load_end
	.code64
bench_guest:

/*
 * Each timed loop keeps its iterations' TSC deltas, one 32-bit word each
 * from B_TIMES up (RDTSC around the notification, or from the OUT to the
 * interrupt): the VMM takes their median, which the test host's own
 * stalls on a loaded machine do not move.
 */
#define B_TIMES	0x40000

/* An in-kernel CPUID exit, RCX times. */
b_cpuid:
	mov	$B_TIMES, %edi
1:	rdtsc
	mov	%eax, %r8d
	push	%rcx
	xor	%eax, %eax
	cpuid
	pop	%rcx
	rdtsc
	sub	%r8d, %eax
	mov	%eax, (%rdi)
	add	$4, %rdi
	loop	1b
	hlt

/* An OUT that an ioeventfd completes in the kernel, RCX times. */
b_ioev_pio:
	mov	$B_TIMES, %edi
1:	rdtsc
	mov	%eax, %r8d
	out	%al, $0x80
	rdtsc
	sub	%r8d, %eax
	mov	%eax, (%rdi)
	add	$4, %rdi
	loop	1b
	hlt

/* The same as an MMIO write. */
b_ioev_mmio:
	mov	$0xc0000000, %ebx
	mov	$B_TIMES, %edi
1:	rdtsc
	mov	%eax, %r8d
	mov	%eax, (%rbx)
	rdtsc
	sub	%r8d, %eax
	mov	%eax, (%rdi)
	add	$4, %rdi
	loop	1b
	hlt

/*
 * A notify and interrupt round trip, RCX times: an OUT to the ioeventfd
 * at port 0x80 wakes the device thread, which signals the irqfd; the
 * guest halts until the interrupt. RBX is IOAPIC pin 5's redirection
 * entry (masked when the irqfd is an MSI). Ends with an OUT to 0x81.
 */
b_irqfd:
	mov	$0xff, %al
	out	%al, $0x21
	out	%al, $0xa1
	mov	$APIC, %esi
	movl	$0x1ff, 0xf0(%rsi)
	mov	$IOAPIC, %esi
	movl	$0x1a, (%rsi)
	movl	%ebx, 0x10(%rsi)
	movl	$0x1b, (%rsi)
	movl	$0, 0x10(%rsi)
	/* A LAPIC timer tick every 2^26 cycles ends a HLT whose interrupt TCG's
	   SVM delivered early, in the STI shadow (seen in both lanes). */
	mov	$APIC, %esi
	movl	$0xb, 0x3e0(%rsi)
	movl	$0x20044, 0x320(%rsi)
	movl	$0x4000000, 0x380(%rsi)
	mov	$B_TIMES, %edi
1:	cli
	rdtsc
	mov	%eax, %r8d
	mov	0x1000, %edx
	out	%al, $0x80
2:	sti
	hlt
	cli
	cmp	%edx, 0x1000		/* no interrupt yet: a tick, halt again */
	je	2b
	rdtsc
	sub	%r8d, %eax
	mov	%eax, (%rdi)
	add	$4, %rdi
	loop	1b
	mov	$APIC, %esi
	movl	$0x10000, 0x320(%rsi)
	out	%al, $0x81

/* The watchdog tick. */
b_tick:
	incl	0x1004			/* ticks */
	push	%rsi
	mov	$APIC, %esi
	movl	$0, 0xb0(%rsi)
	pop	%rsi
	iretq

b_handler:
	push	%rsi
	incl	0x1000			/* interrupts taken */
	mov	$APIC, %esi
	movl	$0, 0xb0(%rsi)		/* EOI */
	pop	%rsi
	iretq
bench_guest_end:

/*
 * AVX state live in the guest for the timed loops: CR4.OSXSAVE and XCR0
 * come from the VMM (KVM_SET_SREGS, KVM_SET_XCRS); this loads ymm0-15
 * with the pattern at 0x3000 and jumps to the loop at RBX. Absolute
 * addresses only: it runs wherever it is copied.
 */
b_avx_load:
	.irp	r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
	vmovdqu	0x3000 + \r * 32, %ymm\r
	.endr
	jmp	*%rbx
b_avx_load_end:

	.section .note.GNU-stack,"",@progbits
