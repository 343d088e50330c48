/* tests/driver/t_modes.c: the guest walks real, 16/32-bit protected, PAE and long mode by itself. */
#include "kvmtest.h"

extern const uint8_t modes_guest[], modes_guest_end[];

int main(void)
{
	struct kvm_translation tr = { .linear_address = 0x1000 };
	struct kvm_sregs s;
	struct tvm t;
	int r, stage, ok = 1;

	tap_plan(8);
	tvm_create(&t, 4 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x1000, modes_guest, modes_guest_end - modes_guest);
	tvm_real_mode(&t, 0x1000);

	for (stage = 1; stage <= 5; stage++) {
		r = tvm_run(&t);
		if (r != KVM_EXIT_IO || t.run->io.port != 0x10 || tvm_io_byte(&t) != stage) {
			ok = 0;
			break;
		}
		if (stage == 4)
			tap_ok(*(uint32_t *)(t.mem + 0x3000) == 0x5a5a5a5a,
			       "store through guest PAE paging reached RAM");
	}
	if (stage <= 4)
		tap_ok(0, "store through guest PAE paging reached RAM");
	tap_ok(ok, "stages real, pm16, pm32, PAE, long reported in order (stopped at %d, exit %s)",
	       stage, exit_name(r));
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO && tvm_io_val(&t) == 0x12345678,
	       "64-bit arithmetic in long mode (%#x)", tvm_io_val(&t));
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HLT, "ends with HLT (%s)", exit_name(r));

	ioctl(t.vcpu, KVM_GET_SREGS, &s);
	tap_ok((s.efer & 0x500) == 0x500 && s.cs.l == 1 && s.cs.selector == 0x28,
	       "SREGS: EFER.LME|LMA, CS.L, selector 0x28 (efer %#llx)", (unsigned long long)s.efer);
	tap_ok(s.cr3 == 0x12000 && (s.cr0 & 0x80000001) == 0x80000001 && (s.cr4 & 0x20),
	       "SREGS: CR0.PG|PE, CR4.PAE, CR3");
	tap_ok(ioctl(t.vcpu, KVM_TRANSLATE, &tr) == 0 && tr.valid && tr.physical_address == 0x1000,
	       "KVM_TRANSLATE 0x1000 -> %#llx", (unsigned long long)tr.physical_address);
	tr.linear_address = 0x40000000;
	tap_ok(ioctl(t.vcpu, KVM_TRANSLATE, &tr) == 0 && !tr.valid,
	       "KVM_TRANSLATE of an unmapped address is invalid");
	tvm_destroy(&t);
	return tap_done();
}
