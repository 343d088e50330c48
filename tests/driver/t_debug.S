/* tests/driver/t_debug.S: 64-bit guest for t_debug: its own DR0-DR7 and their faults, code for breakpoints, watchpoints and single steps, its #DB and #BP handlers. */
#define BASE	0x2000
#define A(x)	(BASE + (x) - debug_guest)
#define WATCH	0x6000		/* the watched dword */

	.section .rodata
	.globl	debug_guest, debug_guest_end
	.globl	g_dr, g_dr_back, g_hw, g_hwbp, g_wp, g_wp1, g_wp2
	.globl	g_ss, g_ss1, g_ss2, g_ss3, g_ss4, g_ss5, g_ss6
	.globl	g_int3, g_int3_1, g_own, g_own_bp, g_tf, g_tf_after, g_gd, g_gd_mov
	.globl	g_db_handler, g_bp_handler, g_gp_handler, g_ud_handler
	.code64
debug_guest:

/*
 * Its own debug registers: DR0-3, DR6 and DR7 written, then an exit (port
 * 0x20) for the VMM to look at them and set others; those read back on
 * port 0x21 (DR0-3, DR6, DR7, then DR4 and DR5, the aliases without
 * CR4.DE). With CR4.DE, DR4 and DR5 #UD (count in r14); bits 63:32 of
 * DR6 or DR7 #GP (count in r15). Both counts on 0x21.
 */
g_dr:
	xor	%r14d, %r14d
	xor	%r15d, %r15d
	mov	$0x1111, %eax
	mov	%rax, %dr0
	mov	$0x2222, %eax
	mov	%rax, %dr1
	mov	$0x3333, %eax
	mov	%rax, %dr2
	mov	$0x4444, %eax
	mov	%rax, %dr3
	mov	$1, %eax
	mov	%rax, %dr6
	mov	$0x00f00600, %eax
	mov	%rax, %dr7
	out	%al, $0x20
g_dr_back:
	mov	%dr0, %rax
	out	%eax, $0x21
	mov	%dr1, %rax
	out	%eax, $0x21
	mov	%dr2, %rax
	out	%eax, $0x21
	mov	%dr3, %rax
	out	%eax, $0x21
	mov	%dr6, %rax
	out	%eax, $0x21
	mov	%dr7, %rax
	out	%eax, $0x21
	mov	%dr4, %rax
	out	%eax, $0x21
	mov	%dr5, %rax
	out	%eax, $0x21
	mov	%cr4, %rax
	or	$8, %rax		/* CR4.DE */
	mov	%rax, %cr4
	mov	%dr4, %rax		/* #UD */
	mov	%rax, %dr5		/* #UD */
	mov	$1, %eax
	shl	$32, %rax
	mov	%rax, %dr7		/* #GP */
	mov	%rax, %dr6		/* #GP */
	mov	$0x8000000000000400, %rax
	mov	%rax, %dr7		/* #GP */
	mov	%cr4, %rax
	and	$~8, %rax
	mov	%rax, %cr4
	mov	%r14d, %eax
	out	%eax, $0x21
	mov	%r15d, %eax
	out	%eax, $0x21
	out	%al, $0x20

/* Under the debugger's breakpoints: the guest sets its own DR0 and DR7. */
g_hw:
	mov	$0x5555, %eax
	mov	%rax, %dr0
	mov	$0x400, %eax
	mov	%rax, %dr7
g_hwbp:
	nop
	out	%al, $0x20

/* A write, then a read, of the watched dword. */
g_wp:
	movl	$1234, WATCH
g_wp1:
	mov	WATCH, %eax
g_wp2:
	out	%al, $0x20

/* Single steps: plain instructions, CPUID (emulated), an OUT (to userspace). */
g_ss:
	nop
g_ss1:
	mov	$1, %eax
g_ss2:
	xor	%ecx, %ecx
g_ss3:
	cpuid
g_ss4:
	out	%al, $0x23
g_ss5:
	nop
g_ss6:
	out	%al, $0x20

g_int3:
	int3
g_int3_1:
	out	%al, $0x20

/* The guest's own instruction breakpoint on g_own_bp; its handler turns it off. */
g_own:
	mov	$A(g_own_bp), %eax
	mov	%rax, %dr0
	mov	$0x401, %eax
	mov	%rax, %dr7
g_own_bp:
	nop
	out	%al, $0x20

/* The guest's own TF: the trap comes after CPUID, which the kernel emulates. */
g_tf:
	pushfq
	orq	$0x100, (%rsp)
	popfq
	cpuid
g_tf_after:
	out	%al, $0x20

/* DR7.GD: the next MOV DR faults with DR6.BD; the processor clears GD. */
g_gd:
	mov	$0x2400, %eax
	mov	%rax, %dr7
g_gd_mov:
	mov	%dr0, %rax
	out	%al, $0x20

/* #DB: DR6 (0x24), the RIP it returns to (0x25), DR7 (0x26); then DR6 and DR7 cleared, TF off. */
g_db_handler:
	push	%rax
	mov	%dr6, %rax
	out	%eax, $0x24
	mov	8(%rsp), %rax
	out	%eax, $0x25
	mov	%dr7, %rax
	out	%eax, $0x26
	xor	%eax, %eax
	mov	%rax, %dr6
	mov	$0x400, %eax
	mov	%rax, %dr7
	andq	$~0x100, 24(%rsp)
	pop	%rax
	iretq

/* #BP: the RIP it returns to (0x27). */
g_bp_handler:
	push	%rax
	mov	8(%rsp), %rax
	out	%eax, $0x27
	pop	%rax
	iretq

/* #GP and #UD: counted, the 3-byte MOV DR skipped. */
g_gp_handler:
	add	$8, %rsp
	inc	%r15d
	addq	$3, (%rsp)
	iretq
g_ud_handler:
	inc	%r14d
	addq	$3, (%rsp)
	iretq
debug_guest_end:
	.section .note.GNU-stack,"",@progbits
