/* launcher/arch/cpu.c: x86 vCPU set-up: CPUID, boot-time registers, dumps. */
#include <errno.h>
#include <asm/kvm_para.h>
#include <cpuid.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/cpu.h"
#include "arch/layout.h"

/* CPUID bits for features the launcher does not emulate. */
#define CPUID1_ECX_XSAVE	(1u << 26)
#define CPUID1_ECX_OSXSAVE	(1u << 27)
#define CPUID1_ECX_X2APIC	(1u << 21)
#define CPUID1_ECX_TSC_DEADLINE	(1u << 24)
#define CPUID1_ECX_HYPERVISOR	(1u << 31)
#define CPUID1_EDX_APIC		(1u << 9)
#define CPUID1_EDX_HTT		(1u << 28)
#define CPUID81_EDX_APIC	(1u << 9)
#define CPUID81_ECX_EXTAPIC	(1u << 3)
#define CPUID81_ECX_TOPOEXT	(1u << 22)
#define CPUID7_EBX_ERMS		(1u << 9)
#define CPUID7_EDX_FSRM		(1u << 4)
#define CPUID7_1_EAX_FAST_STR	(7u << 10)	/* zero-length movsb, short stosb, cmpsb */

/*
 * The paravirtual features kept from KVM's leaf 0x40000001: kvmclock,
 * which the hypervisor itself provides (no launcher device behind it),
 * and "port 0x80 delays are not needed", true of every device here.
 * The rest (async page faults, PV EOI, steal time...) need an in-kernel
 * APIC or host services this machine does not have.
 */
#define KVM_PV_FEATURES_KEPT	((1u << KVM_FEATURE_CLOCKSOURCE2) |		\
				 (1u << KVM_FEATURE_NOP_IO_DELAY) |		\
				 (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT))

/* Keep KVM's own leaves 0x40000000-1, trimmed; drop every other hypervisor's. */
static bool keep_pv_leaf(struct kvm_cpuid_entry2 *e, bool *kvm_sig)
{
	if (e->function == KVM_CPUID_SIGNATURE) {
		*kvm_sig = e->ebx == 0x4b4d564b && e->ecx == 0x564b4d56 &&
			   e->edx == 0x4d;	/* "KVMKVMKVM\0\0\0" */
		if (*kvm_sig && e->eax > KVM_CPUID_FEATURES)
			e->eax = KVM_CPUID_FEATURES;
		return *kvm_sig;
	}
	if (e->function != KVM_CPUID_FEATURES || !*kvm_sig)
		return false;
	e->eax &= KVM_PV_FEATURES_KEPT;
	if (!(e->eax & (1u << KVM_FEATURE_CLOCKSOURCE2)))
		e->eax &= ~(1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT);
	e->ebx = e->ecx = e->edx = 0;	/* no hints (EDX: "realtime") */
	return true;
}

static struct kvm_cpuid2 *get_supported(int kvm_fd)
{
	unsigned int nent = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));

		if (!c)
			return NULL;
		c->nent = nent;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			return c;
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return NULL;
		nent *= 2;
	}
}

/*
 * KVM reports CPUID.1:EDX.APIC from the APIC base MSR, which starts
 * enabled even without an in-kernel LAPIC: clear it, there is no APIC.
 */
static int disable_apic(int vcpu_fd)
{
	struct kvm_sregs s;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	s.apic_base = 0;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &s) < 0) {
		fprintf(stderr, "kvm-launch: disabling the APIC: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/* Bits of an APIC ID that number the cores of a package of n. */
static unsigned int core_bits(unsigned int n)
{
	unsigned int b = 0;

	while ((1u << b) < n)
		b++;
	return b;
}

/* One package of t->nr_cpus cores, one thread each; APIC ID = vCPU index. */
static void set_topology(struct kvm_cpuid_entry2 *e, const struct cpu_topology *t)
{
	unsigned int n = t->nr_cpus ? t->nr_cpus : 1;

	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffff) | (t->apic_id << 24) | ((n > 1 ? n & 0xff : 0) << 16);
		if (n > 1)
			e->edx |= CPUID1_EDX_HTT;
		else
			e->edx &= ~CPUID1_EDX_HTT;
		break;
	case 4:
		if (e->eax & 0x1f)	/* a cache level: cores per package */
			e->eax = (e->eax & 0x03ffffff) | ((n - 1) << 26);
		break;
	case 0xb:
	case 0x1f:
		if (e->index == 0) {		/* SMT: one thread a core */
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 1u << 8;
		} else if (e->index == 1) {	/* cores of the package */
			e->eax = core_bits(n);
			e->ebx = n;
			e->ecx = (2u << 8) | 1;
		} else {
			e->eax = e->ebx = 0;
			e->ecx = e->index;
		}
		e->edx = t->apic_id;
		break;
	case 0x80000008:
		e->ecx = (e->ecx & ~0xf0ffu) | (core_bits(n) << 12) | ((n - 1) & 0xff);
		break;
	}
}

void cpu_filter_cpuid(struct kvm_cpuid2 *c, bool slow_strings, const struct cpu_topology *t)
{
	static const struct cpu_topology up = { .nr_cpus = 1 };
	unsigned int i, n = 0;
	bool kvm_sig = false;

	if (!t)
		t = &up;

	for (i = 0; i < c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function >= 0x40000000 && e->function <= 0x4fffffff &&
		    !keep_pv_leaf(e, &kvm_sig))
			continue;
		/*
		 * No XSAVE: nested set-ups report XSAVE sizes that disagree
		 * with the features they enable (Linux warns, then stalls);
		 * FXSAVE covers x87 and SSE, and Linux drops AVX and PKU with it.
		 */
		if (e->function == 0xd)
			continue;
		switch (e->function) {
		case 1:
			e->ecx &= ~(CPUID1_ECX_XSAVE | CPUID1_ECX_OSXSAVE);
			if (!t->apic) {
				e->ecx &= ~(CPUID1_ECX_X2APIC | CPUID1_ECX_TSC_DEADLINE);
				e->edx &= ~CPUID1_EDX_APIC;
			} else if (!t->tsc_deadline) {
				e->ecx &= ~CPUID1_ECX_TSC_DEADLINE;
			}
			/* As on any VM: how a guest knows to look at 0x40000000. */
			e->ecx |= CPUID1_ECX_HYPERVISOR;
			break;
		case 7:
			/*
			 * "rep movsb/stosb are fast": not where the host emulates
			 * them a byte at a time (10x slower than the loops Linux
			 * uses without the hint, for every page it clears or copies).
			 */
			if (slow_strings && e->index == 0) {
				e->ebx &= ~CPUID7_EBX_ERMS;
				e->edx &= ~CPUID7_EDX_FSRM;
			} else if (slow_strings && e->index == 1) {
				e->eax &= ~CPUID7_1_EAX_FAST_STR;
			}
			break;
		case 0x80000001:
			if (!t->apic)
				e->edx &= ~CPUID81_EDX_APIC;
			e->ecx &= ~(CPUID81_ECX_EXTAPIC | CPUID81_ECX_TOPOEXT);
			break;
		}
		set_topology(e, t);
		c->entries[n++] = *e;
	}
	c->nent = n;
}

bool cpu_host_is_emulated(void)
{
	unsigned int brand[12], i;

	if (__get_cpuid_max(0x80000000, NULL) < 0x80000004)
		return false;
	for (i = 0; i < 3; i++)
		__cpuid(0x80000002 + i, brand[4 * i], brand[4 * i + 1],
			brand[4 * i + 2], brand[4 * i + 3]);
	return memmem(brand, sizeof(brand), "QEMU TCG CPU", 12) != NULL;
}

int cpu_setup_cpuid(int kvm_fd, int vcpu_fd, const struct cpu_topology *t)
{
	struct kvm_cpuid2 *c = get_supported(kvm_fd);
	int ret;

	if (!c) {
		fprintf(stderr, "kvm-launch: KVM_GET_SUPPORTED_CPUID: %s\n", strerror(errno));
		return -1;
	}
	cpu_filter_cpuid(c, cpu_host_is_emulated(), t);
	ret = ioctl(vcpu_fd, KVM_SET_CPUID2, c);
	if (ret < 0)
		fprintf(stderr, "kvm-launch: KVM_SET_CPUID2: %s\n", strerror(errno));
	free(c);
	if (ret == 0 && !t->apic)
		ret = disable_apic(vcpu_fd);
	return ret < 0 ? -1 : 0;
}

static void seg_flat(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code64)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->s = 1;
	s->g = 1;
	s->l = code64;
	s->db = !code64;
}

int cpu_setup_linux(int vcpu_fd, const struct linux_load_mem *mem,
		    uint64_t entry, bool entry64)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint64_t *gdt, *pml4, *pdpt, *pd;
	unsigned int i;

	gdt = mem->map(mem->ctx, BOOT_GDT_ADDR, 8 * 8);
	pml4 = mem->map(mem->ctx, BOOT_PML4_ADDR, 6 * 4096);
	if (!gdt || !pml4) {
		fprintf(stderr, "kvm-launch: no RAM for boot page tables below 1 MiB\n");
		return -1;
	}
	/* Boot protocol: __BOOT_CS = 0x10, __BOOT_DS = 0x18. */
	memset(gdt, 0, 8 * 8);
	gdt[2] = entry64 ? 0x00af9b000000ffffULL : 0x00cf9b000000ffffULL;
	gdt[3] = 0x00cf93000000ffffULL;
	gdt[4] = 0x00808b0000000000ULL;		/* TSS, for VMX's checks */

	/* Identity map 0-4 GiB with 2 MiB pages. */
	memset(pml4, 0, 6 * 4096);
	pdpt = pml4 + 512;
	pd = pdpt + 512;
	pml4[0] = (BOOT_PML4_ADDR + 0x1000) | 0x3;
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PML4_ADDR + 0x2000 + i * 0x1000) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;

	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	seg_flat(&sregs.cs, 0x10, 0xb, entry64);
	seg_flat(&sregs.ds, 0x18, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.selector = 0x20;
	sregs.tr.type = 0xb;
	sregs.tr.present = 1;
	sregs.tr.limit = 0x67;
	sregs.ldt.type = 0x2;
	sregs.ldt.present = 1;
	sregs.ldt.unusable = 1;
	sregs.gdt.base = BOOT_GDT_ADDR;
	sregs.gdt.limit = 8 * 8 - 1;
	sregs.idt.base = 0;
	sregs.idt.limit = 0;
	sregs.cr0 = 0x11;			/* PE, ET */
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (entry64) {
		sregs.cr0 |= 0x80000000;	/* PG */
		sregs.cr3 = BOOT_PML4_ADDR;
		sregs.cr4 = 0x20;		/* PAE */
		sregs.efer = 0x500;		/* LME, LMA */
	}
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0)
		goto fail;

	memset(&regs, 0, sizeof(regs));
	regs.rflags = 0x2;
	regs.rip = entry;
	regs.rsi = BOOT_PARAMS_ADDR;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "kvm-launch: setting vCPU registers: %s\n", strerror(errno));
	return -1;
}

static void dump_seg(FILE *f, const char *name, const struct kvm_segment *s)
{
	fprintf(f, " %-3s sel=%04x base=%016llx limit=%08x type=%x p=%u dpl=%u db=%u s=%u l=%u g=%u\n",
		name, s->selector, (unsigned long long)s->base, s->limit, s->type,
		s->present, s->dpl, s->db, s->s, s->l, s->g);
}

void cpu_dump(int vcpu_fd, FILE *f)
{
	struct kvm_sregs s;
	struct kvm_regs r;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r) < 0) {
		fprintf(f, "vCPU registers unavailable: %s\n", strerror(errno));
		return;
	}
	fprintf(f, " rip=%016llx rflags=%016llx\n"
		" rax=%016llx rbx=%016llx rcx=%016llx rdx=%016llx\n"
		" rsi=%016llx rdi=%016llx rsp=%016llx rbp=%016llx\n"
		" r8 =%016llx r9 =%016llx r10=%016llx r11=%016llx\n"
		" r12=%016llx r13=%016llx r14=%016llx r15=%016llx\n",
		r.rip, r.rflags, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi,
		r.rsp, r.rbp, r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15);
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &s) < 0)
		return;
	dump_seg(f, "cs", &s.cs);
	dump_seg(f, "ds", &s.ds);
	dump_seg(f, "es", &s.es);
	dump_seg(f, "ss", &s.ss);
	dump_seg(f, "fs", &s.fs);
	dump_seg(f, "gs", &s.gs);
	dump_seg(f, "tr", &s.tr);
	fprintf(f, " gdt=%016llx/%04x idt=%016llx/%04x\n"
		" cr0=%016llx cr2=%016llx cr3=%016llx cr4=%016llx efer=%016llx\n",
		s.gdt.base, s.gdt.limit, s.idt.base, s.idt.limit,
		s.cr0, s.cr2, s.cr3, s.cr4, s.efer);
}
