/* tests/driver/t_straddle.c: operands that cross from RAM into MMIO, MMIO into MMIO and MMIO into RAM: the exact KVM_EXIT_MMIO sequence and the final values. */
#include "kvmtest.h"

extern const uint8_t straddle_guest[], straddle_guest_end[];

#define RAM0_END	0x100000	/* slot 0: [0, 1 MiB); MMIO up to slot 1 */
#define RAM1		0x110000	/* slot 1: 64 KiB */
#define RAM1_SIZE	0x10000

struct mmio_exit {
	int write;
	uint64_t gpa;
	uint32_t len;
	uint8_t data[8];
};

static struct tvm t;
static uint8_t *ram1;
static struct mmio_exit seen[8];
static int nseen;
static struct kvm_regs regs;

/* What a device answers at @gpa. */
static uint8_t mmio_byte(uint64_t gpa)
{
	return (uint8_t)(gpa * 13 + 7);
}

static uint8_t *ram_at(uint64_t gpa)
{
	if (gpa < RAM0_END)
		return t.mem + gpa;
	if (gpa >= RAM1 && gpa < RAM1 + RAM1_SIZE)
		return ram1 + gpa - RAM1;
	return NULL;
}

/* The value a load of @len bytes at @gpa sees, RAM or device, byte by byte. */
static uint64_t load(uint64_t gpa, int len)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < len; i++) {
		uint8_t *p = ram_at(gpa + i);

		v |= (uint64_t)(p ? *p : mmio_byte(gpa + i)) << (8 * i);
	}
	return v;
}

/* Run to OUT @n on port 0x10, answering and recording MMIO on the way. */
static int run_case(int n)
{
	nseen = 0;
	for (;;) {
		int r = tvm_run(&t);

		if (r == KVM_EXIT_MMIO) {
			struct mmio_exit *m = &seen[nseen < 8 ? nseen : 7];
			uint32_t i;

			nseen++;
			m->write = t.run->mmio.is_write;
			m->gpa = t.run->mmio.phys_addr;
			m->len = t.run->mmio.len;
			memcpy(m->data, t.run->mmio.data, 8);
			if (!m->write)
				for (i = 0; i < m->len && i < 8; i++)
					t.run->mmio.data[i] = mmio_byte(m->gpa + i);
			continue;
		}
		ioctl(t.vcpu, KVM_GET_REGS, &regs);
		if (r == KVM_EXIT_IO && t.run->io.port == 0x10 && tvm_io_byte(&t) == n)
			return 1;
		printf("# case %d: stopped by %s at rip %#llx\n", n, exit_name(r),
		       (unsigned long long)regs.rip);
		return 0;
	}
}

/*
 * The exits seen against @want (@n of them); a write's data is the bytes
 * of @val from the offset of its address in the access at @base.
 */
static int exits_are(const struct mmio_exit *want, int n, uint64_t base,
		     uint64_t val)
{
	int i, ok = nseen == n;

	for (i = 0; ok && i < n; i++) {
		const struct mmio_exit *m = &seen[i];

		ok = m->write == want[i].write && m->gpa == want[i].gpa &&
		     m->len == want[i].len;
		if (ok && m->write)
			ok = !memcmp(m->data, (uint8_t *)&val + (m->gpa - base), m->len);
	}
	if (!ok)
		for (i = 0; i < nseen && i < 8; i++)
			printf("# exit %d: %s %#llx len %u\n", i, seen[i].write ? "W" : "R",
			       (unsigned long long)seen[i].gpa, seen[i].len);
	return ok;
}

#define R(a, l)	{ 0, a, l, { 0 } }
#define W(a, l)	{ 1, a, l, { 0 } }

int main(void)
{
	static const struct mmio_exit e1[] = { R(0x100000, 4) };
	static const struct mmio_exit e2[] = { R(0x100ffc, 4), R(0x101000, 4) };
	static const struct mmio_exit e3[] = { R(0x10fffe, 2) };
	static const struct mmio_exit e4[] = { R(0x100fff, 1), R(0x101000, 1) };
	static const struct mmio_exit e5[] = { W(0x100000, 4) };
	static const struct mmio_exit e6[] = { W(0x100ffa, 6), W(0x101000, 2) };
	static const struct mmio_exit e7[] = { W(0x10fffd, 3) };
	static const struct mmio_exit e8[] = { W(0x100000, 1) };
	static const struct mmio_exit e9[] = { R(0x100ffc, 4), R(0x101000, 4) };
	static const struct mmio_exit e10[] = { W(0x100ffe, 2), W(0x101000, 2),
						W(0x101002, 4) };
	static const struct mmio_exit e11[] = { R(0x100ffe, 2), R(0x101000, 2),
						W(0x100ffe, 2), W(0x101000, 2) };
	const uint64_t v = 0x1122334455667788ULL;
	uint64_t want, src;
	int i, ok;

	tap_plan(12);
	tvm_create(&t, RAM0_END);
	tvm_cpuid(&t);
	ram1 = guest_alloc(RAM1_SIZE);
	if (set_slot(t.vm, 1, RAM1, ram1, RAM1_SIZE, 0)) {
		printf("Bail out! slot 1: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0xff000; i < RAM0_END; i++)
		t.mem[i] = (uint8_t)(i * 5 + 3);
	for (i = 0; i < 0x100; i++)
		ram1[i] = (uint8_t)(i * 11 + 1);
	for (i = 0; i < 8; i++)
		t.mem[0x6000 + i] = 0xc0 + i;
	tvm_load(&t, 0x1000, straddle_guest, straddle_guest_end - straddle_guest);
	tvm_long_mode(&t, 0x1000);

	want = load(0xffffc, 8);
	ok = run_case(1);
	tap_ok(ok && exits_are(e1, 1, 0, 0) && regs.r8 == want,
	       "8-byte load RAM -> MMIO: the MMIO half exits, value %#llx",
	       (unsigned long long)regs.r8);
	want = load(0x100ffc, 8);
	ok = ok && run_case(2);
	tap_ok(ok && exits_are(e2, 2, 0, 0) && regs.r9 == want,
	       "8-byte load MMIO -> MMIO: two 4-byte exits, value %#llx",
	       (unsigned long long)regs.r9);
	want = load(0x10fffe, 4);
	ok = ok && run_case(3);
	tap_ok(ok && exits_are(e3, 1, 0, 0) && regs.r10 == want,
	       "4-byte load MMIO -> RAM slot: one 2-byte exit, value %#llx",
	       (unsigned long long)regs.r10);
	want = load(0x100fff, 2);
	ok = ok && run_case(4);
	tap_ok(ok && exits_are(e4, 2, 0, 0) && (regs.r11 & 0xffff) == want,
	       "2-byte load MMIO -> MMIO: two 1-byte exits, value %#llx",
	       (unsigned long long)(regs.r11 & 0xffff));

	ok = ok && run_case(5);
	tap_ok(ok && exits_are(e5, 1, 0xffffc, v) && load(0xffffc, 4) == (uint32_t)v,
	       "8-byte store RAM -> MMIO: low half in RAM, high half exits");
	ok = ok && run_case(6);
	tap_ok(ok && exits_are(e6, 2, 0x100ffa, v),
	       "8-byte store MMIO -> MMIO: a 6-byte exit, then a 2-byte one");
	ok = ok && run_case(7);
	tap_ok(ok && exits_are(e7, 1, 0x10fffd, 0xa1b2c3d4) && ram1[0] == 0xa1,
	       "4-byte store MMIO -> RAM slot: 3 bytes exit, 1 byte in RAM");
	ok = ok && run_case(8);
	tap_ok(ok && exits_are(e8, 1, 0xfffff, 0xbeef) && t.mem[0xfffff] == 0xef,
	       "2-byte store RAM -> MMIO: 1 byte in RAM, 1 byte exits");

	want = load(0x100ffc, 8);
	ok = ok && run_case(9);
	tap_ok(ok && exits_are(e9, 2, 0, 0) && load(0x5000, 8) == want &&
	       regs.rsi == 0x101004 && regs.rdi == 0x5008,
	       "MOVSQ from MMIO -> MMIO to RAM: two exits, %#llx copied",
	       (unsigned long long)load(0x5000, 8));
	src = load(0x6000, 8);
	ok = ok && run_case(10);
	tap_ok(ok && exits_are(e10, 3, 0x100ffe, src) && regs.rcx == 0 &&
	       regs.rsi == 0x6008 && regs.rdi == 0x101006,
	       "REP MOVSL to MMIO across a page: 2 + 2, then 4 bytes");
	want = (uint32_t)(load(0x100ffe, 4) + 0x01010101);
	ok = ok && run_case(11);
	tap_ok(ok && exits_are(e11, 4, 0x100ffe, want),
	       "ADD to MMIO across a page: read 2 + 2, write 2 + 2");
	tap_ok(ok && tvm_run(&t) == KVM_EXIT_HLT, "ends with HLT");
	tvm_destroy(&t);
	return tap_done();
}
