/* tests/driver/t_taskswitch.S: 32-bit tasks that switch by JMP, CALL, gates (GDT and IDT), an exception with an error code, a 16-bit TSS and IRET, reporting on ports 0x11-0x27. */
#define BASE	0x1000
#define A(x)	(BASE + (x) - ts_guest)
#define TSS_A	0x10000

	.section .rodata
	.globl	ts_guest, ts_guest_end, ts_after_jmp, ts_c_second, ts_i_after_iret, ts_after_int
	.code32
ts_guest:				/* task A: TR 0x18, CPL 0, flat */
	/*
	 * Write every page the switches touch first: QEMU's task switch is not
	 * restartable, and a nested page fault in its middle (the test host's
	 * KVM maps guest pages lazily) resumes the guest half switched.
	 */
	xor	%edi, %edi
1:	orl	$0, (%edi)
	add	$0x1000, %edi
	cmp	$0x42000, %edi
	jb	1b
	mov	$0x7ff, %eax		/* every L and G enable, LE, GE */
	mov	%eax, %dr7
	mov	$0xa1a1a1a1, %ebx
	mov	$0xa2, %esi
	ljmp	$0x20, $0		/* JMP to TSS B */
ts_after_jmp:
	out	%eax, $0x11
	lcall	$0x28, $0		/* CALL to TSS C */
	out	%eax, $0x12
	lcall	$0x28, $0		/* C again: it resumes after its IRET */
	out	%eax, $0x13
	lcall	$0x30, $0		/* CALL through the task gate in the GDT */
	out	%eax, $0x14
	int	$0x40			/* INTn through a task gate in the IDT */
ts_after_int:
	out	%eax, $0x15
	mov	$0x1230, %ax
	mov	%ax, %fs		/* #GP(0x1230) through a task gate */
	out	%eax, $0x16
	ljmp	$0x58, $0		/* not present: #NP(0x58) */
	ljmp	$0x60, $0		/* limit below 0x67: #TS(0x60) */
	out	%eax, $0x18		/* the host makes vector 13 an interrupt gate */
	lcall	$0x18, $0		/* CALL to the busy TSS: #GP(0x18) */
	out	%eax, $0x19		/* the host moves TR to a 16-bit TSS */
	mov	$0x5151, %esi
	lcall	$0x68, $0		/* CALL from a 16-bit TSS to another */
	out	%eax, $0x17
	hlt

	.globl	ts_np_handler, ts_ts_handler, ts_gp_handler, ts_unexpected
ts_unexpected:				/* any other exception: the host reads the frame */
	out	%eax, $0x2f
	hlt
ts_np_handler:				/* each records its error code, skips the 7-byte far JMP/CALL */
	popl	%eax
	movl	%eax, 0x5000
	addl	$7, (%esp)
	iret
ts_ts_handler:
	popl	%eax
	movl	%eax, 0x5004
	addl	$7, (%esp)
	iret
ts_gp_handler:
	popl	%eax
	movl	%eax, 0x5008
	addl	$7, (%esp)
	iret

	.globl	ts_task_b, ts_task_c, ts_task_d, ts_task_e, ts_task_f, ts_task_i
ts_task_b:				/* DS comes from the LDT, CR3 from the TSS */
	mov	%dr7, %ecx
	mov	%cr0, %edx
	movl	0, %eax
	pushf
	popl	%ebx
	out	%eax, $0x21
	ljmp	$0x18, $0
ts_task_c:
	pushf
	popl	%ebx
	out	%eax, $0x22
	iret
ts_c_second:
	out	%eax, $0x23
	iret
ts_task_d:
	pushf
	popl	%ebx
	out	%eax, $0x24
	iret
ts_task_e:
	pushf
	popl	%ebx
	out	%eax, $0x25
	iret
ts_task_f:				/* the #GP's error code is on this task's stack */
	popl	%eax
	mov	%esp, %ecx
	out	%eax, $0x26
	addl	$2, TSS_A + 0x20	/* past the faulting mov to FS */
	iret
ts_task_i:				/* a 16-bit TSS running 32-bit code */
	pushf
	popl	%ebx
	out	%eax, $0x27
	iret
ts_i_after_iret:
	hlt
ts_guest_end:
	.section .note.GNU-stack,"",@progbits
