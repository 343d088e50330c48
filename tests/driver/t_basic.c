/* tests/driver/t_basic.c: system ioctls and the smallest real-mode guest (OUT, HLT). */
#include "kvmtest.h"

/* Real mode at 0x1000: mov al,0x42; out 0x10,al; hlt */
static const uint8_t guest[] = { 0xb0, 0x42, 0xe6, 0x10, 0xf4 };

int main(void)
{
	struct tvm t;
	int kvm, r;

	tap_plan(8);
	kvm = open_kvm();
	tap_ok(ioctl(kvm, KVM_GET_API_VERSION, 0) == 12, "API version 12");
	tap_ok(ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0) >= 4096, "vcpu mmap size");
	close(kvm);

	tvm_create(&t, 1 << 20);
	tvm_load(&t, 0x1000, guest, sizeof(guest));
	tvm_real_mode(&t, 0x1000);
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_IO, "first exit is IO (%s)", exit_name(r));
	tap_ok(t.run->io.direction == KVM_EXIT_IO_OUT && t.run->io.port == 0x10 &&
	       t.run->io.size == 1 && t.run->io.count == 1, "OUT 0x10, 1 byte");
	tap_ok(tvm_io_byte(&t) == 0x42, "data 0x42 (got %#x)", tvm_io_byte(&t));
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HLT, "then HLT (%s)", exit_name(r));
	tap_ok(tvm_rip(&t) == 0x1005, "rip after hlt (%#llx)", (unsigned long long)tvm_rip(&t));
	tvm_destroy(&t);
	tap_ok(1, "teardown");
	return tap_done();
}
