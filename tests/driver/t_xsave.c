/* tests/driver/t_xsave.c: XSAVE state: OSXSAVE in CPUID, XSETBV's #GP rules, YMM values across exits and preemption, KVM_GET/SET_XSAVE(2) and KVM_GET/SET_XCRS with their errnos. */
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "kvmtest.h"

extern const uint8_t xsave_guest[], xsave_guest_end[];
extern const uint8_t g_start[], g_size[], g_ymm[], g_dump[], g_ud[], g_pkru[], g_gp_handler[],
	g_ud_handler[];

#define GA(sym)		(0x2000 + (uint64_t)((sym) - xsave_guest))
#define XCR0_GOOD	0x4ff8
#define ITERS		0x4ff0
#define YMM_IN		0x5000
#define YMM_OUT		0x5400
#define NR_ITERS	1500

/* Offsets in struct kvm_xsave's region (the standard XSAVE layout). */
#define XS_MXCSR	24
#define XS_XMM		160
#define XS_XSTATE_BV	512
#define XS_XCOMP_BV	520
#define XS_HDR_RSVD	528

static struct kvm_cpuid_entry2 sup[100];
static int nsup;

static struct kvm_cpuid_entry2 *find_sup(uint32_t fn, uint32_t idx)
{
	for (int i = 0; i < nsup; i++)
		if (sup[i].function == fn && sup[i].index == idx)
			return &sup[i];
	return NULL;
}

/* Run until the next exit; it must be an OUT to @port. Its value, or ~0. */
static uint32_t expect_out(struct tvm *t, uint16_t port, const char *what)
{
	int r = tvm_run(t);

	if (r == KVM_EXIT_IO && t->run->io.direction == KVM_EXIT_IO_OUT &&
	    t->run->io.port == port)
		return tvm_io_val(t);
	tap_diag("%s: expected OUT to 0x%x, got exit %s (port 0x%x)", what, port,
		 exit_name(r), r == KVM_EXIT_IO ? t->run->io.port : 0);
	return ~0U;
}

static void set_rip(struct tvm *t, uint64_t rip)
{
	struct kvm_regs r;

	ioctl(t->vcpu, KVM_GET_REGS, &r);
	r.rip = rip;
	r.rsp = 0x7ff0;
	ioctl(t->vcpu, KVM_SET_REGS, &r);
}

/* ---- the host thread's own YMM registers across KVM_RUN ---- */

/* KVM_RUN as a raw system call with YMM8 and YMM15 live across it. */
static long run_keep_ymm(int fd, const uint8_t in[64], uint8_t out[64])
{
	long ret;

	__asm__ volatile("vmovdqu (%[in]), %%ymm8\n\t"
		     "vmovdqu 32(%[in]), %%ymm15\n\t"
		     "syscall\n\t"
		     "vmovdqu %%ymm8, (%[out])\n\t"
		     "vmovdqu %%ymm15, 32(%[out])\n\t"
		     : "=a" (ret)
		     : "0" ((long)SYS_ioctl), "D" ((long)fd), "S" ((long)KVM_RUN),
		       "d" (0L), [in] "r" (in), [out] "r" (out)
		     : "rcx", "r11", "memory", "xmm8", "xmm15");
	return ret;
}

/* Fill every host YMM register with one byte value. */
static void clobber_ymm(uint8_t v)
{
	uint8_t b[32];

	memset(b, v, sizeof(b));
	__asm__ volatile("vmovdqu (%0), %%ymm0\n\tvmovdqu (%0), %%ymm1\n\t"
		     "vmovdqu (%0), %%ymm2\n\tvmovdqu (%0), %%ymm3\n\t"
		     "vmovdqu (%0), %%ymm4\n\tvmovdqu (%0), %%ymm5\n\t"
		     "vmovdqu (%0), %%ymm6\n\tvmovdqu (%0), %%ymm7\n\t"
		     "vmovdqu (%0), %%ymm8\n\tvmovdqu (%0), %%ymm9\n\t"
		     "vmovdqu (%0), %%ymm10\n\tvmovdqu (%0), %%ymm11\n\t"
		     "vmovdqu (%0), %%ymm12\n\tvmovdqu (%0), %%ymm13\n\t"
		     "vmovdqu (%0), %%ymm14\n\tvmovdqu (%0), %%ymm15"
		     : : "r" (b)
		     : "memory", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5",
		       "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
		       "xmm13", "xmm14", "xmm15");
}

/* Another thread on the same CPUs: its own YMM values, yields and spins. */
static volatile int busy_stop;

static void *busy(void *arg)
{
	unsigned int i = 0;

	(void)arg;
	while (!busy_stop) {
		clobber_ymm(0xa5 ^ (uint8_t)i++);
		for (volatile int j = 0; j < 20000; j++)
			;
		sched_yield();
	}
	return NULL;
}

static long nivcsw(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nivcsw + ru.ru_nvcsw;
}

static uint8_t ymm_byte(int reg, int byte, uint8_t salt)
{
	return (uint8_t)(reg * 37 + byte * 11 + 1) ^ salt;
}

static bool ymm_ok(const uint8_t *mem, uint8_t salt)
{
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 32; b++)
			if (mem[r * 32 + b] != ymm_byte(r, b, salt))
				return false;
	return true;
}

/* YMM0-15 as an XSAVE area holds them: XMM in the legacy area, upper halves in the AVX component. */
static bool xsave_ymm_ok(const uint8_t *xs, uint32_t ymm_off, uint8_t salt)
{
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 16; b++)
			if (xs[XS_XMM + r * 16 + b] != ymm_byte(r, b, salt) ||
			    xs[ymm_off + r * 16 + b] != ymm_byte(r, b + 16, salt))
				return false;
	return true;
}

static void xsave_ymm_set(uint8_t *xs, uint32_t ymm_off, uint8_t salt)
{
	for (int r = 0; r < 16; r++)
		for (int b = 0; b < 16; b++) {
			xs[XS_XMM + r * 16 + b] = ymm_byte(r, b, salt);
			xs[ymm_off + r * 16 + b] = ymm_byte(r, b + 16, salt);
		}
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static long set_xcr0(int vcpu, uint32_t nr, uint32_t xcr, uint64_t value, uint32_t flags)
{
	struct kvm_xcrs x;

	memset(&x, 0, sizeof(x));
	x.nr_xcrs = nr;
	x.flags = flags;
	x.xcrs[0].xcr = xcr;
	x.xcrs[0].value = value;
	return xioctl(vcpu, KVM_SET_XCRS, &x);
}

static uint64_t get_xcr0(int vcpu)
{
	struct kvm_xcrs x;

	memset(&x, 0xff, sizeof(x));
	if (xioctl(vcpu, KVM_GET_XCRS, &x) || x.nr_xcrs != 1 || x.flags ||
	    x.xcrs[0].xcr != 0)
		return ~0ULL;
	return x.xcrs[0].value;
}

/* This test host runs under QEMU's TCG, whose SVM does not intercept XSETBV. */
static bool under_tcg(void)
{
	uint32_t a, b, c, d;

	__asm__ volatile("cpuid" : "=a" (a), "=b" (b), "=c" (c), "=d" (d)
			 : "a" (0x40000000), "c" (0));
	return b == 0x54474354 && c == 0x43544743 && d == 0x47435447;
}

/* The calling thread's PKRU, or ~0 when the host kernel did not enable PKU. */
static uint32_t host_pkru(void)
{
	uint32_t a, b, c, d, pkru;

	__asm__ volatile("cpuid" : "=a" (a), "=b" (b), "=c" (c), "=d" (d) : "a" (7), "c" (0));
	if (!(c & (1U << 4)))	/* OSPKE */
		return ~0U;
	__asm__ volatile("rdpkru" : "=a" (pkru), "=d" (d) : "c" (0));
	return pkru;
}

static bool cpuid2_osxsave(int vcpu)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[100];
	} c = { .c.nent = 100 };

	if (ioctl(vcpu, KVM_GET_CPUID2, &c) < 0)
		return false;
	for (uint32_t i = 0; i < c.c.nent; i++)
		if (c.e[i].function == 1)
			return c.e[i].ecx & (1U << 27);
	return false;
}

int main(void)
{
	struct { struct kvm_cpuid2 c; struct kvm_cpuid_entry2 e[100]; } sc = { .c.nent = 100 };
	struct kvm_cpuid_entry2 *l1, *d0, *d1, *d2;
	static struct kvm_xsave xs, xs2, bad;
	uint32_t ymm_off, size7, v;
	long cap_xsave2, r;
	struct tvm t;
	int kvm;

	kvm = open_kvm();
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &sc) < 0) {
		printf("Bail out! KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
		return 1;
	}
	memcpy(sup, sc.e, sc.c.nent * sizeof(sup[0]));
	nsup = sc.c.nent;
	l1 = find_sup(1, 0);
	d0 = find_sup(0xd, 0);
	d1 = find_sup(0xd, 1);
	d2 = find_sup(0xd, 2);
	if (!l1 || !(l1->ecx & (1U << 26)) || !d0)
		tap_skip_all("no XSAVE in KVM_GET_SUPPORTED_CPUID");
	if (!(l1->ecx & (1U << 28)) || !(d0->eax & 4) || !d2)
		tap_skip_all("no AVX in KVM_GET_SUPPORTED_CPUID");

	tap_plan(48);

	/* ---- capabilities and KVM_GET_SUPPORTED_CPUID ---- */
	cap_xsave2 = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
	tap_ok(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) == 1 &&
	       ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_XCRS) == 1 &&
	       cap_xsave2 >= (long)sizeof(struct kvm_xsave),
	       "KVM_CAP_XSAVE, KVM_CAP_XCRS, KVM_CAP_XSAVE2 (%ld bytes)", cap_xsave2);
	ymm_off = d2->ebx;
	size7 = d2->ebx + d2->eax;
	tap_ok(!(l1->ecx & (1U << 27)) && (d0->eax & 7) == 7 && d0->ebx == d0->ecx &&
	       d0->ebx >= size7 && (d0->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX),
	       "supported CPUID: XSAVE and AVX without OSXSAVE, leaf 0xD.0 offers x87|SSE|AVX (eax %#x, %u bytes)",
	       d0->eax, d0->ebx);
	tap_ok(d1 && !(d1->eax & ~7U) && d2->eax == 256 && d2->ebx == 576,
	       "leaf 0xD.1 without XSAVES (eax %#x), 0xD.2: AVX state 256 bytes at 576",
	       d1 ? d1->eax : 0);

	tvm_create(&t, 8 << 20);
	tvm_cpuid(&t);
	tvm_load(&t, 0x2000, xsave_guest, xsave_guest_end - xsave_guest);
	tvm_long_mode(&t, GA(g_start));
	tvm_idt_set(&t, 13, GA(g_gp_handler));
	tvm_idt_set(&t, 6, GA(g_ud_handler));
	*(uint32_t *)(t.mem + XCR0_GOOD) = 7;
	*(uint32_t *)(t.mem + ITERS) = NR_ITERS;

	/* ---- OSXSAVE in CPUID, XCR0 at reset, XSETBV's faults ---- */
	tap_ok(get_xcr0(t.vcpu) == 1, "KVM_GET_XCRS at reset: XCR0 = x87");
	v = expect_out(&t, 0x10, "CPUID before OSXSAVE");
	tap_ok(v != ~0U && (v & (1U << 26)) && !(v & (1U << 27)),
	       "guest CPUID.1:ECX: XSAVE, no OSXSAVE before CR4.OSXSAVE (%#x)", v);
	v = expect_out(&t, 0x10, "CPUID after OSXSAVE");
	tap_ok(v != ~0U && (v & (1U << 27)), "guest CPUID.1:ECX.OSXSAVE once CR4.OSXSAVE is set (%#x)", v);
	tap_ok(cpuid2_osxsave(t.vcpu), "KVM_GET_CPUID2 shows OSXSAVE too");
	v = expect_out(&t, 0x11, "XGETBV at reset");
	tap_ok(v == 1, "guest XGETBV at reset: %#x", v);
	v = expect_out(&t, 0x12, "CPUID 0xD.0 EBX");
	tap_ok(v == 576, "CPUID.0xD.0:EBX for XCR0 = x87: %u", v);
	v = expect_out(&t, 0x13, "#GP count");
	tap_ok(v == 8, "XSETBV: XCR1, no x87, AVX without SSE, partial AVX-512, AVX-512 without AVX, MPX, bit 63, bit 10: #GP each (%u of 8)", v);
	v = expect_out(&t, 0x11, "XGETBV after XSETBV");
	tap_ok(v == 7, "XSETBV x87|SSE|AVX taken: XGETBV %#x", v);
	v = expect_out(&t, 0x12, "CPUID 0xD.0 EBX after");
	r = tvm_run(&t);
	tap_ok(r == KVM_EXIT_HLT, "set-up guest ends in HLT (%s)", exit_name(r));
	/*
	 * QEMU TCG's SVM lets the guest's XSETBV through without an
	 * intercept: the hypervisor never sees it, on stock as on ours.
	 */
	if (get_xcr0(t.vcpu) == 1 && under_tcg()) {
		tap_skip("QEMU TCG does not intercept XSETBV", "KVM_GET_XCRS after the guest's XSETBV");
		tap_skip("QEMU TCG does not intercept XSETBV", "CPUID.0xD.0:EBX follows the guest's XCR0");
	} else {
		tap_ok(get_xcr0(t.vcpu) == 7, "KVM_GET_XCRS after the guest's XSETBV: %#llx",
		       (unsigned long long)get_xcr0(t.vcpu));
		tap_ok(v == size7, "CPUID.0xD.0:EBX follows the guest's XCR0: %u (want %u)", v, size7);
	}
	tap_ok(set_xcr0(t.vcpu, 1, 0, 7, 0) == 0, "KVM_SET_XCRS x87|SSE|AVX");
	set_rip(&t, GA(g_size));
	v = expect_out(&t, 0x12, "CPUID 0xD.0 EBX after KVM_SET_XCRS");
	tap_ok(v == size7, "CPUID.0xD.0:EBX follows KVM_SET_XCRS: %u (want %u)", v, size7);
	tvm_run(&t);

	/* ---- YMM across exits, host YMM use and preemption ---- */
	{
		uint8_t hin[64], hout[64];
		pthread_t thr;
		long cs0, cs;
		int exits = 0, host_bad = 0, i;

		for (i = 0; i < 16 * 32; i++)
			t.mem[YMM_IN + i] = ymm_byte(i / 32, i % 32, 0);
		set_rip(&t, GA(g_ymm));
		busy_stop = 0;
		pthread_create(&thr, NULL, busy, NULL);
		cs0 = nivcsw();
		for (;;) {
			for (i = 0; i < 64; i++)
				hin[i] = (uint8_t)(exits * 7 + i * 13);
			r = run_keep_ymm(t.vcpu, hin, hout);
			if (r < 0 || memcmp(hin, hout, 64))
				host_bad++;
			if (r < 0 || t.run->exit_reason != KVM_EXIT_IO || t.run->io.port != 0x20)
				break;
			exits++;
			clobber_ymm((uint8_t)exits);
			if (exits % 4 == 0)
				sched_yield();
		}
		cs = nivcsw() - cs0;
		busy_stop = 1;
		pthread_join(thr, NULL);
		tap_ok(exits == NR_ITERS, "%d PIO exits to userspace with YMM0-15 live", exits);
		v = (r == 0 && t.run->exit_reason == KVM_EXIT_IO && t.run->io.port == 0x21) ?
		    tvm_io_val(&t) : ~0U;
		tap_ok(v == 0, "guest YMM0-15 kept across exits, host YMM use and %ld context switches (%u bad)",
		       cs, v);
		tap_ok(ymm_ok(t.mem + YMM_OUT, 0), "guest's last store of YMM0-15 is what it loaded");
		tap_ok(host_bad == 0, "the host thread's YMM8/YMM15 survive KVM_RUN (%d bad)", host_bad);
		r = tvm_run(&t);
		tap_ok(r == KVM_EXIT_HLT, "YMM guest ends in HLT (%s)", exit_name(r));
	}

	/* ---- KVM_GET_XSAVE, KVM_GET_XSAVE2 ---- */
	memset(&xs, 0xcc, sizeof(xs));
	r = xioctl(t.vcpu, KVM_GET_XSAVE, &xs);
	/* x87 is in its init state: XSAVE may leave its XSTATE_BV bit clear. */
	tap_ok(r == 0 && (get64((uint8_t *)xs.region + XS_XSTATE_BV) & 6) == 6 &&
	       xsave_ymm_ok((uint8_t *)xs.region, ymm_off, 0),
	       "KVM_GET_XSAVE: YMM0-15 as the guest left them, XSTATE_BV %#llx (r %ld)",
	       (unsigned long long)get64((uint8_t *)xs.region + XS_XSTATE_BV), r);
	tap_ok(!(get64((uint8_t *)xs.region + XS_XSTATE_BV) & ~(uint64_t)d0->eax) &&
	       get64((uint8_t *)xs.region + XS_XCOMP_BV) == 0,
	       "KVM_GET_XSAVE: standard format, only components leaf 0xD offers");
	{
		uint8_t *big = calloc(1, cap_xsave2 > 0 ? cap_xsave2 : 4096);

		r = xioctl(t.vcpu, KVM_GET_XSAVE2, big);
		tap_ok(r == 0 && !memcmp(big, xs.region, sizeof(xs.region)),
		       "KVM_GET_XSAVE2 (%ld bytes) gives the same area (r %ld)", cap_xsave2, r);
		free(big);
	}

	/* ---- KVM_GET/SET_XCRS ---- */
	tap_ok(set_xcr0(t.vcpu, 1, 0, 3, 0) == 0 && get_xcr0(t.vcpu) == 3,
	       "KVM_SET_XCRS x87|SSE, read back");
	tap_ok(set_xcr0(t.vcpu, 1, 0, 7, 1) == -EINVAL, "KVM_SET_XCRS with flags: EINVAL");
	tap_ok(set_xcr0(t.vcpu, 17, 0, 7, 0) == -EINVAL, "KVM_SET_XCRS with 17 XCRs: EINVAL");
	tap_ok(set_xcr0(t.vcpu, 1, 0, 0, 0) == -EINVAL &&
	       set_xcr0(t.vcpu, 1, 0, 5, 0) == -EINVAL &&
	       set_xcr0(t.vcpu, 1, 0, 0xb, 0) == -EINVAL &&
	       set_xcr0(t.vcpu, 1, 0, 0x27, 0) == -EINVAL &&
	       set_xcr0(t.vcpu, 1, 0, 1ULL << 63 | 7, 0) == -EINVAL,
	       "KVM_SET_XCRS: no x87, AVX without SSE, MPX, partial AVX-512, bit 63: EINVAL");
	tap_ok(set_xcr0(t.vcpu, 1, 1, 7, 0) == 0 && get_xcr0(t.vcpu) == 3,
	       "KVM_SET_XCRS of XCR1 only: ignored");
	tap_ok(set_xcr0(t.vcpu, 1, 0, 7, 0) == 0 && get_xcr0(t.vcpu) == 7,
	       "KVM_SET_XCRS x87|SSE|AVX again");

	/* ---- KVM_SET_XSAVE: errnos, then new YMM values the guest sees ---- */
	bad = xs;
	put64((uint8_t *)bad.region + XS_XSTATE_BV, 7 | 1ULL << 3);
	tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &bad) == -EINVAL,
	       "KVM_SET_XSAVE with MPX state in XSTATE_BV: EINVAL");
	bad = xs;
	put64((uint8_t *)bad.region + XS_XSTATE_BV, 7 | 1ULL << 62);
	tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &bad) == -EINVAL,
	       "KVM_SET_XSAVE with XSTATE_BV bit 62: EINVAL");
	bad = xs;
	put64((uint8_t *)bad.region + XS_XCOMP_BV, 1ULL << 63 | 7);
	tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &bad) == -EINVAL,
	       "KVM_SET_XSAVE in compacted format: EINVAL");
	bad = xs;
	put64((uint8_t *)bad.region + XS_HDR_RSVD, 1);
	tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &bad) == -EINVAL,
	       "KVM_SET_XSAVE with a reserved header word set: EINVAL");
	bad = xs;
	bad.region[XS_MXCSR / 4] = 0xffff1f80;
	tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &bad) == -EINVAL,
	       "KVM_SET_XSAVE with reserved MXCSR bits: EINVAL");
	memset(&xs2, 0, sizeof(xs2));
	tap_ok(xioctl(t.vcpu, KVM_GET_XSAVE, &xs2) == 0 && !memcmp(&xs, &xs2, sizeof(xs)),
	       "the refused KVM_SET_XSAVEs changed nothing");

	xs2 = xs;
	xsave_ymm_set((uint8_t *)xs2.region, ymm_off, 0x5a);
	tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &xs2) == 0, "KVM_SET_XSAVE with new YMM0-15");
	set_rip(&t, GA(g_dump));
	memset(t.mem + YMM_OUT, 0, 512);
	v = expect_out(&t, 0x22, "YMM dump");
	tap_ok(v != ~0U && ymm_ok(t.mem + YMM_OUT, 0x5a), "the guest's YMM0-15 are KVM_SET_XSAVE's");
	memset(&bad, 0, sizeof(bad));
	tap_ok(xioctl(t.vcpu, KVM_GET_XSAVE, &bad) == 0 &&
	       xsave_ymm_ok((uint8_t *)bad.region, ymm_off, 0x5a),
	       "KVM_GET_XSAVE round trip after the guest ran");
	r = tvm_run(&t);

	/* ---- PKRU as XSAVE state: the guest's, never the host thread's ---- */
	{
		struct kvm_cpuid_entry2 *d9 = find_sup(0xd, 9);
		uint32_t before = host_pkru(), after;

		if (!(d0->eax & 0x200) || !d9 || before == ~0U) {
			for (int i = 0; i < 4; i++)
				tap_skip("no PKRU state on this host", "PKRU %d", i);
		} else {
			uint8_t *src = t.mem + 0x10000;

			memset(src, 0, 0x1000);
			put64(src + XS_XSTATE_BV, 0x200);
			*(uint32_t *)(src + d9->ebx) = 0x12345678;
			tap_ok(set_xcr0(t.vcpu, 1, 0, 0x207, 0) == 0, "KVM_SET_XCRS x87|SSE|AVX|PKRU");
			set_rip(&t, GA(g_pkru));
			v = expect_out(&t, 0x16, "PKRU loaded");
			after = host_pkru();
			memset(&bad, 0, sizeof(bad));
			r = xioctl(t.vcpu, KVM_GET_XSAVE, &bad);
			tap_ok(v != ~0U && after == before && r == 0 &&
			       (get64((uint8_t *)bad.region + XS_XSTATE_BV) & 0x200) &&
			       bad.region[d9->ebx / 4] == 0x12345678,
			       "guest XRSTOR of PKRU: KVM_GET_XSAVE has it (%#x), the host thread keeps its own (%#x, was %#x)",
			       bad.region[d9->ebx / 4], after, before);
			bad.region[d9->ebx / 4] = 0xc;
			tap_ok(xioctl(t.vcpu, KVM_SET_XSAVE, &bad) == 0, "KVM_SET_XSAVE with PKRU 0xc");
			v = expect_out(&t, 0x17, "PKRU saved");
			tap_ok(v != ~0U && *(uint32_t *)(t.mem + 0x11000 + d9->ebx) == 0xc &&
			       host_pkru() == before,
			       "guest XSAVE of PKRU gives KVM_SET_XSAVE's (%#x)",
			       *(uint32_t *)(t.mem + 0x11000 + d9->ebx));
			tvm_run(&t);
			set_xcr0(t.vcpu, 1, 0, 7, 0);
		}
	}

	/* ---- CR4.OSXSAVE cleared by the VMM ---- */
	{
		struct kvm_sregs s;

		ioctl(t.vcpu, KVM_GET_SREGS, &s);
		s.cr4 &= ~(1ULL << 18);
		r = xioctl(t.vcpu, KVM_SET_SREGS, &s);
		tap_ok(r == 0 && !cpuid2_osxsave(t.vcpu),
		       "KVM_SET_SREGS clears CR4.OSXSAVE: KVM_GET_CPUID2 follows");
	}
	set_rip(&t, GA(g_ud));
	v = expect_out(&t, 0x10, "CPUID without OSXSAVE");
	tap_ok(v != ~0U && !(v & (1U << 27)), "guest CPUID.1:ECX.OSXSAVE clear again (%#x)", v);
	v = expect_out(&t, 0x14, "#UD count");
	tap_ok(v == 2, "XSETBV and XGETBV without CR4.OSXSAVE: #UD (%u of 2)", v);
	tvm_destroy(&t);

	/* ---- a vCPU whose CPUID has no XSAVE ---- */
	{
		struct kvm_sregs s;
		int i;

		tvm_create(&t, 8 << 20);
		for (i = 0; i < nsup; i++)
			if (sup[i].function == 1)
				sup[i].ecx &= ~(1U << 26 | 1U << 28);
		sc.c.nent = 0;
		for (i = 0; i < nsup; i++)
			if (sup[i].function != 0xd)
				sc.e[sc.c.nent++] = sup[i];
		r = xioctl(t.vcpu, KVM_SET_CPUID2, &sc);
		ioctl(t.vcpu, KVM_GET_SREGS, &s);
		s.cr4 |= 1ULL << 18;
		tap_ok(r == 0 && xioctl(t.vcpu, KVM_SET_SREGS, &s) == -EINVAL,
		       "KVM_SET_SREGS with CR4.OSXSAVE for a guest without XSAVE: EINVAL");
		tap_ok(set_xcr0(t.vcpu, 1, 0, 3, 0) == -EINVAL && set_xcr0(t.vcpu, 1, 0, 1, 0) == 0,
		       "without leaf 0xD, KVM_SET_XCRS takes x87 only");
		tvm_destroy(&t);
	}
	close(kvm);
	return tap_done();
}
