/* tests/driver/t_nested.S: L1 (a tiny guest hypervisor) and the L2 snippets it runs, for t_nested. */
#define BASE	0x2000
#define VMCB12	0x10000
#define HSAVE	0x11000
#define SAVEAREA 0x12000

	.section .rodata
	.globl	nested_guest, nested_guest_end
	.globl	l1_start, l1_loop, l1_gif, l1_loadsave, l1_nmi, l1_remap
	.globl	l2_vmmcall, l2_io, l2_user_io, l2_hlt, l2_cpuid, l2_handler, l2_npt_read, l2_npt_fault, l2_npt_wp
	.globl	l2_clgi, l2_stgi, l2_clgi_io, l2_vgif_irq
	.code64
nested_guest:

/* EFER.SVME and the host save area, then VMRUN until the VMM stops. */
l1_start:
	mov	$0xc0000080, %ecx	/* EFER */
	rdmsr
	or	$0x1000, %eax		/* SVME */
	wrmsr
	mov	$0xc0010117, %ecx	/* VM_HSAVE_PA */
	mov	$HSAVE, %eax
	xor	%edx, %edx
	wrmsr
	out	%al, $0x1f		/* ready: the VMM fills VMCB12 */
/* Each #VMEXIT (or VMEXIT_INVALID) is reported with its code on port 0x10. */
l1_loop:
	mov	$VMCB12, %eax
	vmrun	%rax
	mov	VMCB12 + 0x70, %eax	/* exit_code */
	out	%eax, $0x10
	jmp	l1_loop

/* GIF: cleared (port 0x11), set again (0x12). */
l1_gif:
	clgi
	out	%al, $0x11
	stgi
	out	%al, $0x12
	jmp	l1_loop

/* FS.base out with VMSAVE (0x13), in with VMLOAD (reported on 0x14). */
l1_loadsave:
	mov	$0xc0000100, %ecx	/* FS_BASE */
	mov	$0x12345000, %eax
	xor	%edx, %edx
	wrmsr
	mov	$SAVEAREA, %eax
	vmsave	%rax
	out	%al, $0x13
	mov	$SAVEAREA, %eax
	vmload	%rax
	mov	$0xc0000100, %ecx
	rdmsr
	out	%eax, $0x14
	jmp	l1_loop

/* L1 moves L2's 0x400000 to its 0x32000 in its NPT (t_nested: NPT at 0x20000). */
l1_remap:
	movq	$0x32007, 0x23000
	jmp	l1_loop

/* L1's NMI handler. */
l1_nmi:
	out	%al, $0x15
	iretq

/* L2. */
l2_vmmcall:
	mov	$0xabcd, %eax
	vmmcall
	jmp	l2_vmmcall

l2_io:
	out	%al, $0x80		/* in L1's I/O permission map */
	vmmcall

l2_user_io:
	out	%al, $0x81		/* not in it: ours, to userspace */
	vmmcall

l2_hlt:
	hlt
	vmmcall

l2_cpuid:
	xor	%eax, %eax
	cpuid
	mov	%ebx, %eax
	vmmcall

/* L2 on L1's NPT: a remapped page, an unmapped one, a read-only one. */
l2_npt_read:
	mov	0x400000, %eax
	vmmcall
l2_npt_fault:
	mov	0x600000, %eax
	vmmcall
l2_npt_wp:
	movl	$1, 0x401000
	vmmcall

/*
 * L2 with the virtual GIF when L1 enables it (V_GIF_ENABLE in VMCB12):
 * CLGI and STGI that L1 does not intercept only clear and set V_GIF.
 */
l2_clgi:
	clgi
	vmmcall
l2_stgi:
	stgi
	vmmcall

/* V_GIF (or without it, GIF) cleared, then an exit to us: 0x81 is not in L1's map. */
l2_clgi_io:
	clgi
	out	%al, $0x81
	vmmcall

/*
 * L1's virtual interrupt (V_IRQ, vector 0x30) waits for IF, then for
 * V_GIF: IF set after CLGI, it is still held at 0x32 and 0x34 (the VMM
 * saves the state at 0x32, maybe into a new VM), and taken (0x31) at
 * STGI, before 0x33. In between L2 touches the IDT gate and the stack:
 * QEMU's TCG reports an interrupt that an exit (an NPF of a page not yet
 * mapped) cut short as an exception in EXITINTINFO, which the VMRUN that
 * delivers it again refuses for vector 0x30 (VMEXIT_INVALID, stock and
 * ours alike); hardware says INTR there.
 */
l2_vgif_irq:
	clgi
	sti
	nop
	out	%al, $0x32
	mov	0x8800 + 0x30 * 16, %eax
	push	%rax
	pop	%rax
	out	%al, $0x34
	stgi
	nop
	out	%al, $0x33
	vmmcall

/* Vector 0x30, which L1 injects into L2 with EVENTINJ. */
l2_handler:
	out	%al, $0x31
	iretq

nested_guest_end:
	.section .note.GNU-stack, "", @progbits
