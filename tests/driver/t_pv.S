/* tests/driver/t_pv.S: 64-bit guests for t_pv: PV EOI (MSR_KVM_PV_EOI_EN, interrupts EOIed by clearing a bit) and steal time's preempted byte. */
#define DATA		0x5000
#define GP		(DATA + 0x00)	/* #GPs taken */
#define GP_AFTER	(DATA + 0x04)	/* GP after each of four WRMSRs: 4 x 4 bytes */
#define MSR_READ	(DATA + 0x14)	/* RDMSR of MSR_KVM_PV_EOI_EN: 8 bytes */
#define COUNT		(DATA + 0x20)	/* interrupts taken per handler: 6 x 4 bytes */
#define SEEN		(DATA + 0x40)	/* PV EOI byte each handler saw: 6 x 8 bytes */
#define PVEOI		0x6000		/* the PV EOI byte */
#define RO_GPA		0x400000	/* a read-only slot */
#define OUTSIDE		0x40000000	/* no memory there */

#define ST		0x6100		/* struct kvm_steal_time */
#define ST_PREEMPTED	(ST + 16)
#define ST_SEEN		(DATA + 0x80)	/* every preempted byte the guest read, ORed */
#define ST_LOOPS	(DATA + 0x88)
#define ST_STOP		(DATA + 0x90)

#define APIC		0xfee00000
#define APIC_EOI	0xb0
#define APIC_SPIV	0xf0
#define APIC_ICR	0x300
#define APIC_LVT0	0x350
#define ICR_SELF	0x40000		/* destination shorthand: self, fixed, edge */
#define IOAPIC		0xfec00000
#define MSR_PV_EOI	0x4b564d04

/* Handler indices: 0x40 0x48 0x50 0x58 0x60 0x70. */
#define I40	0
#define I48	1
#define I50	2
#define I58	3
#define I60	4
#define I70	5

	.section .rodata
	.globl	pv_guest, pv_guest_end
	.globl	g_eoi, g_steal, h_gp, h40, h48, h50, h58, h60, h70
	.code64
pv_guest:

.macro	WRMSR32 msr, val
	mov	$\msr, %ecx
	mov	$\val, %eax
	xor	%edx, %edx
	wrmsr
.endm

/* Spin (bounded: a lost interrupt must not hang the test) until COUNT[idx] >= n. */
.macro	WAIT_N idx, n
	mov	$2000000, %ecx
1:	cmpl	$\n, COUNT + 4 * \idx
	jae	2f
	pause
	dec	%ecx
	jnz	1b
2:
.endm

/* An IOAPIC redirection entry: pin, low word (vector, trigger), destination APIC 0. */
.macro	RTE pin, low
	mov	$IOAPIC, %esi
	movl	$(0x10 + 2 * \pin + 1), (%rsi)
	movl	$0, 0x10(%rsi)
	movl	$(0x10 + 2 * \pin), (%rsi)
	movl	$\low, 0x10(%rsi)
.endm

g_eoi:
	/* The MSR's #GP cases, then a good value read back. */
	WRMSR32	MSR_PV_EOI, PVEOI + 2 + 1	/* not 4-byte aligned */
	mov	GP, %eax
	mov	%eax, GP_AFTER
	WRMSR32	MSR_PV_EOI, OUTSIDE + 1		/* outside guest memory */
	mov	GP, %eax
	mov	%eax, GP_AFTER + 4
	WRMSR32	MSR_PV_EOI, RO_GPA + 1		/* read-only memory */
	mov	GP, %eax
	mov	%eax, GP_AFTER + 8
	WRMSR32	MSR_PV_EOI, PVEOI + 1		/* good */
	mov	GP, %eax
	mov	%eax, GP_AFTER + 12
	mov	$MSR_PV_EOI, %ecx
	rdmsr
	mov	%eax, MSR_READ
	mov	%edx, MSR_READ + 4
	out	%al, $0x10

	mov	$APIC, %edi
	movl	$0x1ff, APIC_SPIV(%rdi)
	movl	$0x10000, APIC_LVT0(%rdi)	/* LINT0 masked: no ExtINT from the PIC */
	movb	$0, PVEOI
	sti
	/* 0x50 alone: its handler finds the bit set and clears it, no EOI write. */
	movl	$(ICR_SELF | 0x50), APIC_ICR(%rdi)
	WAIT_N	I50, 1
	/* 0x40, lower: taken only once 0x50's EOI was made for the guest. */
	movl	$(ICR_SELF | 0x40), APIC_ICR(%rdi)
	WAIT_N	I40, 1
	/* 0x40 again, equal priority. */
	movl	$(ICR_SELF | 0x40), APIC_ICR(%rdi)
	WAIT_N	I40, 2
	/* 0x70 while 0x60 waits in IRR: no PV EOI for 0x70; then 0x60 alone has it. */
	cli
	movl	$(ICR_SELF | 0x60), APIC_ICR(%rdi)
	movl	$(ICR_SELF | 0x70), APIC_ICR(%rdi)
	sti
	WAIT_N	I60, 1
	/* A level-triggered IOAPIC pin (9, 0x48): its EOI must reach the IOAPIC, no PV EOI. */
	RTE	9, 0x8048
	out	%al, $0x99			/* the VMM raises GSI 9 */
	WAIT_N	I48, 1
	/* An edge-triggered one (10, 0x58) has it. */
	RTE	10, 0x58
	out	%al, $0x9b			/* the VMM pulses GSI 10 */
	WAIT_N	I58, 1
	out	%al, $0x11
	cli
	hlt

/* #GP of a WRMSR or RDMSR: count it, skip the 2-byte instruction. */
h_gp:
	incl	GP
	add	$8, %rsp			/* error code */
	addq	$2, (%rsp)
	iretq

/*
 * A handler as a Linux guest's: record the PV EOI byte, then the EOI:
 * by clearing the bit when it is set, else by writing the EOI register.
 * Level-triggered 0x48 has the VMM lower its line first.
 */
.macro	HANDLER idx, lower=0
	push	%rax
	push	%rcx
	push	%rdi
	mov	COUNT + 4 * \idx, %ecx
	movzbl	PVEOI, %eax
	mov	%al, SEEN + 8 * \idx(%rcx)
	incl	COUNT + 4 * \idx
.if \lower
	out	%al, $0x9a
.endif
	btrl	$0, PVEOI
	jc	1f
	mov	$APIC, %edi
	movl	$0, APIC_EOI(%rdi)
1:	pop	%rdi
	pop	%rcx
	pop	%rax
	iretq
.endm

h40:	HANDLER	I40
h48:	HANDLER	I48, 1
h50:	HANDLER	I50
h58:	HANDLER	I58
h60:	HANDLER	I60
h70:	HANDLER	I70

/* Steal time: spin, ORing every preempted byte read, until the VMM says stop. */
g_steal:
	out	%al, $0x30			/* first entry done */
1:	movzbl	ST_PREEMPTED, %eax
	or	%eax, ST_SEEN
	incq	ST_LOOPS
	cmpl	$0, ST_STOP
	je	1b
	out	%al, $0x31
	hlt
pv_guest_end:
	.section .note.GNU-stack, "", @progbits
