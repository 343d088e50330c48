/* tests/driver/t_hyperv.S: 64-bit guests for t_hyperv: the Hyper-V MSRs, hypercall page, reference TSC page and enforced CPUID. */
#define BASE		0x2000
#define DATA		0x5000		/* results the VMM reads */
#define HCALL_PAGE	0x10000
#define TSC_PAGE	0x11000
#define HC_IN		0x12000		/* hypercall input, zeros */
#define HC_OUT		0x13000

#define MSR_GUEST_OS_ID		0x40000000
#define MSR_HYPERCALL		0x40000001
#define MSR_VP_INDEX		0x40000002
#define MSR_TIME_REF_COUNT	0x40000020
#define MSR_REFERENCE_TSC	0x40000021

	.section .rodata
	.globl	hv_guest, hv_guest_end
	.globl	g_main, g_enforced, g_plain, g_gp_handler
	.code64
hv_guest:

/* Hyper-V's hypercall through the page: control in RCX, input/output GPAs. */
.macro	HCALL code, in, out
	mov	$\code, %ecx
	mov	$\in, %edx
	mov	$\out, %r8d
	mov	$HCALL_PAGE, %eax
	call	*%rax
.endm

#include "guest_macros.inc"

/* RBX = the TSC page's time now: TSC * scale / 2^64 + offset. */
.macro	PAGE_TIME
	rdtsc
	shl	$32, %rdx
	or	%rdx, %rax
	mulq	TSC_PAGE + 8
	add	TSC_PAGE + 16, %rdx
	mov	%rdx, %rbx
.endm

/*
 * Identify as Linux, map the hypercall page (port 0x10: the VMM looks at
 * it), VP index (0x11), an unknown hypercall (0x12), a flush of every
 * vCPU's TLB (0x13), then the reference TSC page against TIME_REF_COUNT
 * (0x14) and again after the VMM's KVM_SET_CLOCK (0x15, 0x16).
 */
g_main:
	WRMSR64	MSR_GUEST_OS_ID, 0x8100000000000000
	WRMSR64	MSR_HYPERCALL, HCALL_PAGE | 1
	out	%al, $0x10
	mov	$MSR_VP_INDEX, %ecx
	rdmsr
	out	%eax, $0x11
	HCALL	0xbeef, HC_IN, HC_OUT
	out	%eax, $0x12
	HCALL	0x0002, HC_IN, HC_OUT		/* HvFlushVirtualAddressSpace */
	out	%eax, $0x13

	WRMSR64	MSR_REFERENCE_TSC, TSC_PAGE | 1
	mov	TSC_PAGE, %eax
	mov	%rax, DATA + 0x10		/* sequence */
	mov	TSC_PAGE + 8, %rax
	mov	%rax, DATA + 0x18		/* scale */
	PAGE_TIME
	mov	$MSR_TIME_REF_COUNT, %ecx
	rdmsr
	shl	$32, %rdx
	or	%rdx, %rax
	mov	%rbx, DATA			/* page time */
	mov	%rax, DATA + 8			/* reference counter after it */
	out	%al, $0x14
	out	%al, $0x15			/* the VMM sets the clock to 0 */
	PAGE_TIME
	mov	%rbx, DATA + 0x20
	out	%al, $0x16
	hlt

/*
 * Under an enforced CPUID: the OS ID (granted), VP index and reference
 * counter reads (granted or #GP: R15 counts), the hypercall page, then
 * HvPostMessage (port 0x21: access denied, or invalid input with no SynIC).
 */
g_enforced:
	xor	%r15d, %r15d
	WRMSR64	MSR_GUEST_OS_ID, 0x8100000000000000
	mov	$MSR_VP_INDEX, %ecx
	rdmsr
	mov	$MSR_TIME_REF_COUNT, %ecx
	rdmsr
	mov	%r15d, %eax
	out	%eax, $0x20
	WRMSR64	MSR_HYPERCALL, HCALL_PAGE | 1
	HCALL	0x005c, HC_IN, HC_OUT		/* HvPostMessage */
	out	%eax, $0x21
	hlt

/* Without the Hyper-V CPUID leaves: the OS ID is #GP (port 0x30: count). */
g_plain:
	xor	%r15d, %r15d
	mov	$MSR_GUEST_OS_ID, %ecx
	rdmsr
	mov	%r15d, %eax
	out	%eax, $0x30
	hlt

/* #GP: count it in R15, skip the 2-byte RDMSR or WRMSR. */
g_gp_handler:
	add	$8, %rsp
	addq	$2, (%rsp)
	inc	%r15d
	iretq
hv_guest_end:
	.section .note.GNU-stack, "", @progbits
