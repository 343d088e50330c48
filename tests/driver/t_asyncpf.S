/* tests/driver/t_asyncpf.S: 64-bit guest for t_asyncpf: the async page fault MSRs' #GPs, pages the VMM's userfaultfd holds back, with and without async page faults; L1 running L2 under nested SVM with its own NPT. */
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
	.globl	g_apf, h_gp, h_pf, h_ready, g_nest, l2_read
	.code64
apf_guest:

#include "guest_macros.inc"

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

	/*
	 * Page 0: "not present" (h_pf reports phase 4 and waits), then the read.
	 * Not the first instruction after the OUT's exit: our driver enters
	 * with STI;VMRUN, and QEMU TCG carries that STI's shadow into it
	 * (no async page fault in a shadow, KVM's rule).
	 */
	nop
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
/*
 * Nested: L1 runs L2 under its own NPT (t_asyncpf's nested VM: VMCB12 at
 * 0x10000, filled by the VMM). Each #VMEXIT but #PF and INTR is reported
 * on port 0x12 with its code; the VMM may leave a new MSR_KVM_ASYNC_PF_EN
 * value in N_EN, which L1 writes (waiting for its "page ready" for every
 * page) before it runs L2 again. VMRUN with GIF clear and IF set, as KVM
 * runs its guests: with V_INTR_MASKING, L2 is interruptible by L1's
 * interrupts, which L1 intercepts.
 */
#define N_INFO1		(DATA + 0x60)
#define N_INFO2		(DATA + 0x68)
#define N_EN		(DATA + 0x70)
#define N_INTR		(DATA + 0x78)
#define N_VMCB12	0x10000
#define N_HSAVE		0x11000
#define AS_VMEXIT	4

g_nest:
	mov	$APIC_SPIV, %edi
	movl	$0x1ff, (%rdi)
	mov	$0xc0000080, %ecx	/* EFER.SVME */
	rdmsr
	or	$0x1000, %eax
	wrmsr
	mov	$0xc0010117, %ecx	/* VM_HSAVE_PA */
	mov	$N_HSAVE, %eax
	xor	%edx, %edx
	wrmsr
	WRMSR64	MSR_APF_INT, VEC
	WRMSR64	MSR_APF_EN, APF_AREA | EN | ALWAYS | AS_INT | AS_VMEXIT
	WAIT_READY 1
n_loop:
	cli
	clgi
	sti
	mov	$N_VMCB12, %eax
	vmrun	%rax
	cli
	stgi
	mov	N_VMCB12 + 0x70, %eax	/* exit_code */
	cmp	$0x4e, %eax
	je	n_pf
	cmp	$0x60, %eax
	je	n_intr
	out	%eax, $0x12
	/* A new ASYNC_PF_EN from the VMM: write it, wait for its "page ready". */
	mov	N_EN, %rax
	test	%rax, %rax
	jz	n_loop
	movq	$0, N_EN
	mov	RDY_COUNT, %esi
	mov	$MSR_APF_EN, %ecx
	mov	%rax, %rdx
	shr	$32, %rdx
	wrmsr
1:	cmp	RDY_COUNT, %esi
	jne	n_loop
	sti
	hlt
	cli
	jmp	1b

/* L1's interrupt while L2 ran: take it, count it, run L2 again. */
n_intr:
	incl	N_INTR
	sti
	nop
	cli
	jmp	n_loop

/*
 * #VMEXIT(#PF), "page not present" for L2 with the token in EXITINFO2:
 * KVM 6.1 drops it before L1 sees it (t_asyncpf.c), so this only counts
 * one that comes: keep its information, free the flags, tell the VMM,
 * wait for "page ready" with the token, run L2 again.
 */
n_pf:
	incl	PF_COUNT
	mov	N_VMCB12 + 0x78, %rax
	mov	%rax, N_INFO1
	mov	N_VMCB12 + 0x80, %rax
	mov	%rax, N_INFO2
	mov	APF_AREA, %eax
	mov	%eax, PF_FLAGS
	movl	$0, APF_AREA
	mov	$0x4e, %eax
	out	%eax, $0x12
1:	mov	N_INFO2, %eax
	cmp	RDY_TOKEN, %eax
	je	n_loop
	sti
	hlt
	cli
	jmp	1b

/* L2: read the word at RAX (which VMCB12 gives), hand it to L1. */
l2_read:
	mov	(%rax), %eax
	vmmcall
	jmp	l2_read

apf_guest_end:
	.section .note.GNU-stack, "", @progbits
