/* tests/driver/t_asyncpf.S: 64-bit guest for t_asyncpf: the async page fault MSRs' #GPs, pages the VMM's userfaultfd holds back, with and without async page faults. */
#define DATA		0x5000
#define GP_COUNT	(DATA + 0x00)
#define PF_COUNT	(DATA + 0x04)
#define PF_CR2		(DATA + 0x08)
#define PF_ERR		(DATA + 0x10)
#define PF_FLAGS	(DATA + 0x14)
#define RDY_COUNT	(DATA + 0x18)
#define RDY_TOKEN	(DATA + 0x1c)
#define RDY_LOG		(DATA + 0x20)		/* the first 8 tokens, in order */
#define VAL		(DATA + 0x40)		/* what each held page read */
#define APF_AREA	0x6000			/* struct kvm_vcpu_pv_apf_data */
#define HELD		0x400000		/* pages 0-3: the userfaultfd's */
#define VEC		0x40
#define APIC_SPIV	0xfee000f0
#define APIC_EOI	0xfee000b0

#define MSR_APF_EN	0x4b564d02
#define MSR_APF_INT	0x4b564d06
#define MSR_APF_ACK	0x4b564d07
#define EN		1
#define ALWAYS		2
#define AS_INT		8

	.section .rodata
	.globl	apf_guest, apf_guest_end
	.globl	g_apf, h_gp, h_pf, h_ready
	.code64
apf_guest:

.macro	WRMSR64 msr, val
	mov	$\msr, %ecx
	mov	$\val, %rax
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
.endm

/* Report a phase to the VMM (OUT to port 0x10), which checks DATA. */
.macro	PHASE n
	mov	$\n, %eax
	out	%eax, $0x10
.endm

/* Halt with interrupts on until n "page ready" interrupts came. */
.macro	WAIT_READY n
1:	cmpl	$\n, RDY_COUNT
	jae	2f
	sti
	hlt
	jmp	1b
2:
.endm

g_apf:
	mov	$APIC_SPIV, %edi
	movl	$0x1ff, (%rdi)

	/* Reserved bits: #GP each (h_gp skips the WRMSR). */
	WRMSR64	MSR_APF_EN, APF_AREA | 0x10 | EN | AS_INT
	WRMSR64	MSR_APF_EN, APF_AREA | 0x20 | EN | AS_INT
	WRMSR64	MSR_APF_INT, 0x100 | VEC
	PHASE	1

	/* Without async page faults, interrupts on (past the STI shadow): the vCPU just waits. */
	sti
	nop
	mov	HELD + 0x1000, %eax
	mov	%eax, VAL + 4
	PHASE	2

	/* Enable, at CPL 0 too: "page ready" for every page (token ~0) comes first. */
	WRMSR64	MSR_APF_INT, VEC
	WRMSR64	MSR_APF_EN, APF_AREA | EN | ALWAYS | AS_INT
	WAIT_READY 1
	PHASE	3

	/* Page 0: "not present" (h_pf reports phase 4 and waits), then the read. */
	mov	HELD, %eax
	mov	%eax, VAL
	PHASE	5

	/* Not at CPL 0: the vCPU waits in the kernel, no #PF, no "page ready". */
	WRMSR64	MSR_APF_EN, APF_AREA | EN | AS_INT
	WAIT_READY 3
	mov	HELD + 0x2000, %eax
	mov	%eax, VAL + 8
	PHASE	6

	/* Interrupts off: the fault waits for the page. */
	cli
	mov	HELD + 0x3000, %eax
	mov	%eax, VAL + 12
	sti
	PHASE	7

	WRMSR64	MSR_APF_EN, 0
	PHASE	8
	cli
	hlt

h_gp:
	incl	GP_COUNT
	add	$8, %rsp		/* the error code */
	addq	$2, (%rsp)		/* past the WRMSR */
	iretq

/*
 * #PF: KVM's "page not present" puts the reason in the area's flags and
 * a token in CR2. Keep them, free the flags, tell the VMM, and wait with
 * interrupts on for "page ready" with the same token; then retry.
 */
h_pf:
	push	%rax
	push	%rdx
	incl	PF_COUNT
	mov	%cr2, %rax
	mov	%rax, PF_CR2
	mov	16(%rsp), %eax
	mov	%eax, PF_ERR
	mov	APF_AREA, %eax
	mov	%eax, PF_FLAGS
	movl	$0, APF_AREA
	PHASE	4
1:	mov	PF_CR2, %eax
	cmp	RDY_TOKEN, %eax
	je	2f
	sti
	hlt
	cli
	jmp	1b
2:	pop	%rdx
	pop	%rax
	add	$8, %rsp
	iretq

/* "Page ready": keep the token, free the slot, acknowledge, EOI. */
h_ready:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rdi
	mov	APF_AREA + 4, %eax
	mov	%eax, RDY_TOKEN
	mov	RDY_COUNT, %edi
	and	$7, %edi
	mov	%eax, RDY_LOG(,%rdi,4)
	incl	RDY_COUNT
	movl	$0, APF_AREA + 4
	mov	$MSR_APF_ACK, %ecx
	mov	$1, %eax
	xor	%edx, %edx
	wrmsr
	mov	$APIC_EOI, %edi
	movl	$0, (%rdi)
	pop	%rdi
	pop	%rdx
	pop	%rcx
	pop	%rax
	iretq
apf_guest_end:
	.section .note.GNU-stack, "", @progbits
