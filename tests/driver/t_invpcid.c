/* tests/driver/t_invpcid.c: INVPCID runs in a guest whose CPUID has it and is #UD in one whose CPUID does not, as KVM has it on both vendors (on VMX it needs the "enable INVPCID" control: a Linux guest with PCID flushes its global pages with it). */
#include "kvmtest.h"

#define DESC		0x3000
#define UD_HANDLER	0x2100

/* At 0x2000: mov $DESC, %ebx; mov $2, %eax; invpcid (%rbx), %rax; out %al, $0x10; hlt */
static const uint8_t prog[] = {
	0xbb, DESC & 0xff, DESC >> 8, 0, 0,	/* mov $DESC, %ebx */
	0xb8, 0x02, 0x00, 0x00, 0x00,		/* mov $2, %eax: every context, globals too */
	0x66, 0x0f, 0x38, 0x82, 0x03,		/* invpcid (%rbx), %rax */
	0xe6, 0x10,				/* out %al, $0x10 */
	0xf4,					/* hlt */
};

/* The #UD handler: mov $6, %al; out %al, $0x12; hlt */
static const uint8_t ud[] = { 0xb0, 0x06, 0xe6, 0x12, 0xf4 };

/* The supported CPUID, with INVPCID (leaf 7 EBX bit 10) as @with says; whether it was offered. */
static bool set_cpuid(struct tvm *t, bool with)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };
	bool offered = false;
	uint32_t i;

	if (ioctl(t->kvm, KVM_GET_SUPPORTED_CPUID, &c) < 0)
		return false;
	for (i = 0; i < c.c.nent; i++) {
		if (c.e[i].function != 7 || c.e[i].index)
			continue;
		offered = c.e[i].ebx & (1U << 10);
		if (!with)
			c.e[i].ebx &= ~(1U << 10);
	}
	ioctl(t->vcpu, KVM_SET_CPUID2, &c);
	return offered;
}

/* One guest: the port its INVPCID reported to (0x10 done, 0x12 #UD). */
static int run_invpcid(bool with, bool *offered, const char **how)
{
	struct tvm t;
	int r, port = -1;

	tvm_create(&t, 1 << 20);
	*offered = set_cpuid(&t, with);
	tvm_load(&t, 0x2000, prog, sizeof(prog));
	tvm_load(&t, UD_HANDLER, ud, sizeof(ud));
	memset(t.mem + DESC, 0, 16);
	tvm_long_mode(&t, 0x2000);
	tvm_idt_set(&t, 6, UD_HANDLER);
	r = tvm_run(&t);
	*how = exit_name(r);
	if (r == KVM_EXIT_IO)
		port = t.run->io.port;
	tvm_destroy(&t);
	return port;
}

int main(void)
{
	const char *how;
	bool offered;
	int port;

	tap_plan(2);
	port = run_invpcid(true, &offered, &how);
	if (offered)
		tap_ok(port == 0x10, "INVPCID (all contexts) runs in a guest whose CPUID has it (%s, port %#x)",
		       how, port);
	else
		tap_skip("KVM_GET_SUPPORTED_CPUID offers no INVPCID", "INVPCID with the CPUID bit");
	port = run_invpcid(false, &offered, &how);
	tap_ok(port == 0x12, "INVPCID is #UD in a guest whose CPUID lacks it (%s, port %#x)", how, port);
	return tap_done();
}
