/* tests/driver/t_memory.c: memory slots (errors, move, delete, read-only), dirty logging (with KVM_CLEAR_DIRTY_LOG), and the VMM changing guest memory under a running VM (madvise, munmap, mremap). */
#include <sys/mman.h>

#include "kvmtest.h"

/* mov (%rbx),%eax; out %eax,$0x11; hlt */
static const uint8_t read_rbx[] = { 0x8b, 0x03, 0xe7, 0x11, 0xf4 };
/* movl $1,(%rbx); movl $1,0x3000(%rbx); movl $1,0xf000(%rbx); hlt */
static const uint8_t dirty3[] = {
	0xc7, 0x03, 0x01, 0x00, 0x00, 0x00,
	0xc7, 0x83, 0x00, 0x30, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
	0xc7, 0x83, 0x00, 0xf0, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xf4,
};
/* movl $2,0x3000(%rbx); hlt */
static const uint8_t dirty1[] = {
	0xc7, 0x83, 0x00, 0x30, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0xf4,
};

/* Run the code at @rip with RBX=@rbx; returns the value sent on port 0x11 or -1. */
static int64_t guest_read(struct tvm *t, uint64_t rip, uint64_t rbx, int *exit)
{
	struct kvm_regs r;
	int e = 0;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = rip;
	r.rbx = rbx;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
	e = tvm_run(t);
	if (exit)
		*exit = e;
	if (e == KVM_EXIT_MMIO) {
		/* Let the instruction finish (reading zero) and the guest reach HLT. */
		for (int i = 0; i < 4 && tvm_run(t) != KVM_EXIT_HLT; i++)
			;
	}
	if (e != KVM_EXIT_IO)
		return -1;
	return tvm_io_val(t);
}

static void run_to_hlt(struct tvm *t, uint64_t rip, uint64_t rbx)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = rip;
	r.rbx = rbx;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
	tvm_run(t);
}

static void test_errors(void)
{
	struct tvm t;
	uint8_t *m = guest_alloc(0x10000);
	int nslots;
	struct kvm_dirty_log log = { .slot = 0 };
	uint64_t bits[4];

	tvm_create(&t, 1 << 20);
	nslots = ioctl(t.kvm, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	tap_ok(nslots >= 32, "KVM_CAP_NR_MEMSLOTS %d", nslots);
	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x10000, 0x4) == -EINVAL, "unknown flag: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x1001, 0) == -EINVAL, "unaligned size: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x100800, m, 0x1000, 0) == -EINVAL, "unaligned guest address: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x100000, m + 8, 0x1000, 0) == -EINVAL, "unaligned host address: EINVAL");
	tap_ok(set_slot(t.vm, nslots, 0x100000, m, 0x1000, 0) == -EINVAL, "slot id %d: EINVAL", nslots);
	tap_ok(set_slot(t.vm, 5 << 16 | 1, 0x100000, m, 0x1000, 0) == -EINVAL, "address space 5: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0xfffffffffffff000ULL, m, 0x2000, 0) == -EINVAL, "wrap-around: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x80000, m, 0x1000, 0) == -EEXIST, "overlap with slot 0: EEXIST");
	tap_ok(set_slot(t.vm, 3, 0, NULL, 0, 0) == -EINVAL, "deleting an empty slot: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x10000, 0) == 0, "create slot 1");
	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x8000, 0) == -EINVAL, "resize: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x10000, KVM_MEM_READONLY) == -EINVAL,
	       "toggling READONLY: EINVAL");
	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x10000, 0) == 0, "same slot again: no-op");
	tap_ok(xioctl(t.vm, KVM_GET_DIRTY_LOG, &log) == -ENOENT, "dirty log of a slot without logging: ENOENT");
	log.slot = nslots;
	log.dirty_bitmap = bits;
	tap_ok(xioctl(t.vm, KVM_GET_DIRTY_LOG, &log) == -EINVAL, "dirty log of slot %d: EINVAL", nslots);
	tap_ok(xioctl(t.vm, KVM_SET_USER_MEMORY_REGION, (void *)8) == -EFAULT, "bad pointer: EFAULT");
	tap_ok(xioctl(t.kvm, KVM_SET_USER_MEMORY_REGION, NULL) == -EINVAL,
	       "VM ioctl on /dev/kvm: EINVAL");
	tap_ok(xioctl(t.vm, KVM_RUN, NULL) == -ENOTTY, "KVM_RUN on a VM fd: ENOTTY");
	tap_ok(xioctl(t.vcpu, KVM_CREATE_VCPU, NULL) == -EINVAL, "KVM_CREATE_VCPU on a vCPU fd: EINVAL");
	tvm_destroy(&t);
	munmap(m, 0x10000);
}

static void test_move_and_dirty(void)
{
	uint8_t *m = guest_alloc(0x10000);
	struct kvm_dirty_log log = { .slot = 1 };
	uint64_t bits[1];
	struct tvm t;
	int e = 0;

	tvm_create(&t, 1 << 20);
	tvm_long_mode(&t, 0x2000);
	tvm_load(&t, 0x2000, read_rbx, sizeof(read_rbx));
	tvm_load(&t, 0x2100, dirty3, sizeof(dirty3));
	tvm_load(&t, 0x2200, dirty1, sizeof(dirty1));
	*(uint32_t *)(m + 0x10) = 0x1234abcd;
	set_slot(t.vm, 1, 0x100000, m, 0x10000, 0);
	tap_ok(guest_read(&t, 0x2000, 0x100010, NULL) == 0x1234abcd, "guest reads slot 1");
	tap_ok(set_slot(t.vm, 1, 0x300000, m, 0x10000, 0) == 0, "move slot 1 to 3 MiB");
	tap_ok(guest_read(&t, 0x2000, 0x300010, NULL) == 0x1234abcd, "guest reads it at the new address");
	tap_ok(guest_read(&t, 0x2000, 0x100010, &e) == -1 && e == KVM_EXIT_MMIO,
	       "the old address is MMIO now (%s)", exit_name(e));
	tap_ok(set_slot(t.vm, 1, 0x300000, m, 0, 0) == 0, "delete slot 1");
	tap_ok(guest_read(&t, 0x2000, 0x300010, &e) == -1 && e == KVM_EXIT_MMIO,
	       "deleted slot reads as MMIO (%s)", exit_name(e));

	tap_ok(set_slot(t.vm, 1, 0x100000, m, 0x10000, KVM_MEM_LOG_DIRTY_PAGES) == 0,
	       "slot with dirty logging");
	log.dirty_bitmap = bits;
	bits[0] = ~0ULL;
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0, "nothing dirty yet (%#llx)", (unsigned long long)bits[0]);
	run_to_hlt(&t, 0x2100, 0x100000);
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0x8009, "pages 0, 3, 15 dirty (%#llx)", (unsigned long long)bits[0]);
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0, "the log was cleared (%#llx)", (unsigned long long)bits[0]);
	run_to_hlt(&t, 0x2200, 0x100000);
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0x8, "a write after the harvest is caught again (%#llx)",
	       (unsigned long long)bits[0]);
	tap_ok(*(uint32_t *)(m + 0x3000) == 2, "the write reached the backing memory");
	tvm_destroy(&t);
	munmap(m, 0x10000);
}

static int clear_log(int vm, uint32_t slot, uint64_t first, uint32_t num, uint64_t mask)
{
	uint64_t bits[1] = { mask };
	struct kvm_clear_dirty_log c = { .slot = slot, .num_pages = num,
		.first_page = first, .dirty_bitmap = bits };

	return xioctl(vm, KVM_CLEAR_DIRTY_LOG, &c);
}

/* KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2: GET leaves the bits, CLEAR re-protects. */
static void test_manual_dirty(void)
{
	uint8_t *m = guest_alloc(0x10000);
	struct kvm_dirty_log log = { .slot = 1 };
	struct kvm_enable_cap cap = { .cap = KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2 };
	uint64_t bits[1];
	struct tvm t;
	int r;

	tvm_create(&t, 1 << 20);
	tvm_long_mode(&t, 0x2000);
	tvm_load(&t, 0x2100, dirty3, sizeof(dirty3));
	tvm_load(&t, 0x2200, dirty1, sizeof(dirty1));
	r = ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_MANUAL_DIRTY_LOG_PROTECT2);
	tap_ok(r == (KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET),
	       "MANUAL_DIRTY_LOG_PROTECT2 offers both options (%d)", r);
	cap.args[0] = KVM_DIRTY_LOG_INITIALLY_SET;
	r = xioctl(t.vm, KVM_ENABLE_CAP, &cap);
	cap.args[0] = 4;
	tap_ok(r == -EINVAL && xioctl(t.vm, KVM_ENABLE_CAP, &cap) == -EINVAL,
	       "INITIALLY_SET alone or an unknown option: EINVAL");
	cap.args[0] = KVM_DIRTY_LOG_MANUAL_PROTECT_ENABLE | KVM_DIRTY_LOG_INITIALLY_SET;
	tap_ok(xioctl(t.vm, KVM_ENABLE_CAP, &cap) == 0, "manual protect, initially set, enabled");

	set_slot(t.vm, 1, 0x100000, m, 0x10000, 0);
	tap_ok(clear_log(t.vm, 1, 0, 16, 1) == -ENOENT, "clear on a slot without logging: ENOENT");
	set_slot(t.vm, 1, 0x100000, m, 0x10000, KVM_MEM_LOG_DIRTY_PAGES);
	log.dirty_bitmap = bits;
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0xffff, "every page starts dirty (%#llx)", (unsigned long long)bits[0]);
	/* Address space 1 is SMRAM where KVM has SMM: no slot there, ENOENT. */
	r = ioctl(t.vm, KVM_CHECK_EXTENSION, KVM_CAP_MULTI_ADDRESS_SPACE) > 1 ? -ENOENT : -EINVAL;
	tap_ok(clear_log(t.vm, 1, 1, 15, 1) == -EINVAL && clear_log(t.vm, 1, 0, 17, 1) == -EINVAL &&
	       clear_log(t.vm, 1, 0, 10, 1) == -EINVAL && clear_log(t.vm, 2, 0, 16, 1) == -ENOENT &&
	       clear_log(t.vm, 1u << 16 | 1, 0, 16, 1) == r && clear_log(t.vm, 2u << 16 | 1, 0, 16, 1) == -EINVAL,
	       "clear: unaligned first page, past the slot, short, no slot, address spaces 1 and 2");
	tap_ok(clear_log(t.vm, 1, 0, 16, 0xffff) == 0, "clear the whole slot");
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0, "nothing dirty after the clear (%#llx)", (unsigned long long)bits[0]);
	run_to_hlt(&t, 0x2100, 0x100000);
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0x8009, "pages 0, 3, 15 dirty (%#llx)", (unsigned long long)bits[0]);
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0x8009, "GET leaves the bits (%#llx)", (unsigned long long)bits[0]);
	tap_ok(clear_log(t.vm, 1, 0, 16, 0x8) == 0, "clear page 3 only");
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0x8001, "pages 0 and 15 still dirty (%#llx)", (unsigned long long)bits[0]);
	run_to_hlt(&t, 0x2200, 0x100000);
	ioctl(t.vm, KVM_GET_DIRTY_LOG, &log);
	tap_ok(bits[0] == 0x8009, "page 3 re-protected: its next write is caught (%#llx)",
	       (unsigned long long)bits[0]);
	tap_ok(*(uint32_t *)(m + 0x3000) == 2, "the write reached the backing memory");
	tvm_destroy(&t);
	munmap(m, 0x10000);
}

static void test_vmm_changes(void)
{
	uint8_t *m = guest_alloc(0x4000), *other;
	struct tvm t;
	int e = 0;

	tvm_create(&t, 1 << 20);
	tvm_long_mode(&t, 0x2000);
	tvm_load(&t, 0x2000, read_rbx, sizeof(read_rbx));
	*(uint32_t *)m = 0x11111111;
	set_slot(t.vm, 1, 0x100000, m, 0x4000, 0);
	tap_ok(guest_read(&t, 0x2000, 0x100000, NULL) == 0x11111111, "guest sees the VMM's value");
	*(uint32_t *)m = 0x22222222;
	tap_ok(guest_read(&t, 0x2000, 0x100000, NULL) == 0x22222222, "and the VMM's later store");
	madvise(m, 0x1000, MADV_DONTNEED);
	tap_ok(guest_read(&t, 0x2000, 0x100000, NULL) == 0, "madvise(DONTNEED): guest sees zero");
	other = mmap(m, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	*(uint32_t *)other = 0x33333333;
	tap_ok(guest_read(&t, 0x2000, 0x100000, NULL) == 0x33333333,
	       "new mapping over the slot (MAP_FIXED): guest sees it");
	*(uint32_t *)(m + 0x1000) = 0x44444444;
	tap_ok(guest_read(&t, 0x2000, 0x101000, NULL) == 0x44444444, "second page mapped");
	other = mremap(m + 0x1000, 0x1000, 0x1000, MREMAP_MAYMOVE | MREMAP_FIXED,
		       guest_alloc(0x1000));
	tap_ok(other != MAP_FAILED && *(uint32_t *)other == 0x44444444, "mremap moved the page away");
	mmap(m + 0x1000, 0x1000, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	*(uint32_t *)(m + 0x1000) = 0x55555555;
	tap_ok(guest_read(&t, 0x2000, 0x101000, NULL) == 0x55555555,
	       "after mremap the guest sees what is mapped at the slot now");
	munmap(m + 0x2000, 0x1000);
	tap_ok(guest_read(&t, 0x2000, 0x102000, &e) == -1 && e == -EFAULT,
	       "munmap'd backing: KVM_RUN fails with EFAULT (%d)", e);
	tvm_destroy(&t);
	munmap(m, 0x4000);
}

/* Guest RAM on a 2 MiB-aligned, huge-page-advised range: large mappings when the host has them. */
static void test_huge(void)
{
	uint8_t *raw = guest_alloc(6 << 20), *m;
	struct tvm t;
	int ok = 1, i;

	m = (uint8_t *)(((uintptr_t)raw + (2 << 20) - 1) & ~(uintptr_t)((2 << 20) - 1));
	madvise(m, 4 << 20, MADV_HUGEPAGE);
	for (i = 0; i < 1024; i++)
		*(uint32_t *)(m + i * 4096) = 0xa0000000 + i;
	tvm_create(&t, 1 << 20);
	tvm_long_mode(&t, 0x2000);
	tvm_load(&t, 0x2000, read_rbx, sizeof(read_rbx));
	tap_ok(set_slot(t.vm, 1, 0x400000, m, 4 << 20, 0) == 0, "4 MiB slot at 4 MiB on huge-page-advised memory");
	for (i = 0; i < 1024; i += 97)
		if (guest_read(&t, 0x2000, 0x400000 + i * 4096, NULL) != 0xa0000000 + i)
			ok = 0;
	tap_ok(ok, "guest reads every sampled page");
	madvise(m + 5 * 4096, 4096, MADV_DONTNEED);
	tap_ok(guest_read(&t, 0x2000, 0x400000 + 5 * 4096, NULL) == 0 &&
	       guest_read(&t, 0x2000, 0x400000 + 6 * 4096, NULL) == 0xa0000006 &&
	       guest_read(&t, 0x2000, 0x400000 + 4 * 4096, NULL) == 0xa0000004,
	       "DONTNEED of one 4 KiB page inside: zero there, neighbours intact");
	tvm_destroy(&t);
	munmap(raw, 6 << 20);
}

int main(void)
{
	tap_plan(20 + 12 + 14 + 8 + 3);
	test_errors();
	test_move_and_dirty();
	test_manual_dirty();
	test_vmm_changes();
	test_huge();
	return tap_done();
}
