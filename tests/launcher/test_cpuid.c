/* tests/launcher/test_cpuid.c: the guest CPUID filter on a made-up KVM_GET_SUPPORTED_CPUID answer. */
#include <asm/kvm_para.h>
#include <linux/kvm.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "arch/cpu.h"

#define KVM_SIG_EBX	0x4b4d564bu	/* "KVMK" */
#define KVM_SIG_ECX	0x564b4d56u	/* "VMKV" */
#define KVM_SIG_EDX	0x0000004du	/* "M\0\0\0" */

static struct kvm_cpuid2 *table(unsigned int n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	c->nent = 0;
	return c;
}

static void add(struct kvm_cpuid2 *c, unsigned int fn, unsigned int eax,
		unsigned int ebx, unsigned int ecx, unsigned int edx)
{
	struct kvm_cpuid_entry2 *e = &c->entries[c->nent++];

	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->eax = eax;
	e->ebx = ebx;
	e->ecx = ecx;
	e->edx = edx;
}

static struct kvm_cpuid_entry2 *find(struct kvm_cpuid2 *c, unsigned int fn)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn)
			return &c->entries[i];
	return NULL;
}

int main(void)
{
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *c;

	tap_plan(22);

	/* What stock KVM reports: a full paravirtual feature set. */
	c = table(8);
	add(c, 0, 0xd, 0x68747541, 0x444d4163, 0x69746e65);
	add(c, 1, 0x00060fb1, 0x00010800, (1u << 21) | (1u << 24) | (1u << 26) | 1u,
	    (1u << 9) | (1u << 4));
	add(c, 0xd, 7, 0x340, 0x340, 0);
	add(c, KVM_CPUID_SIGNATURE, 0x40000010, KVM_SIG_EBX, KVM_SIG_ECX, KVM_SIG_EDX);
	add(c, KVM_CPUID_FEATURES, 0x01007efb, 0, 0, 1);
	add(c, 0x40000010, 2445424, 1000000, 0, 0);
	add(c, 0x80000001, 0, 0, (1u << 3) | (1u << 22) | 1u, (1u << 9) | (1u << 29));
	cpu_filter_cpuid(c, false, NULL);

	e = find(c, 1);
	tap_ok(e && !(e->edx & (1u << 9)), "leaf 1: no APIC");
	tap_ok(e && !(e->ecx & ((1u << 21) | (1u << 24) | (1u << 26))), "leaf 1: no x2APIC, TSC deadline, XSAVE");
	tap_ok(e && (e->ecx & (1u << 31)) && (e->ecx & 1u) && (e->edx & (1u << 4)),
	       "leaf 1: hypervisor bit set, other features kept");
	tap_ok(e && (e->ebx & 0xffff0000u) == 0, "leaf 1: APIC id 0, one logical CPU");
	tap_ok(!find(c, 0xd), "leaf 0xd (XSAVE) dropped");
	e = find(c, KVM_CPUID_SIGNATURE);
	tap_ok(e && e->eax == KVM_CPUID_FEATURES && e->ebx == KVM_SIG_EBX,
	       "KVM signature kept, its range ends at 0x40000001");
	e = find(c, KVM_CPUID_FEATURES);
	tap_ok(e && e->eax == ((1u << KVM_FEATURE_CLOCKSOURCE2) | (1u << KVM_FEATURE_NOP_IO_DELAY) |
			       (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT)),
	       "KVM features: kvmclock, stable bit, no I/O delay only (0x%x)", e ? e->eax : 0);
	tap_ok(e && e->edx == 0, "KVM hints cleared");
	tap_ok(!find(c, 0x40000010), "other hypervisor leaves dropped");
	e = find(c, 0x80000001);
	tap_ok(e && !(e->edx & (1u << 9)) && !(e->ecx & ((1u << 3) | (1u << 22))) &&
	       (e->edx & (1u << 29)), "leaf 0x80000001: no APIC, ext APIC, topology ext; LM kept");
	free(c);

	/* A hypervisor with no kvmclock: the stable bit goes too. */
	c = table(4);
	add(c, KVM_CPUID_SIGNATURE, 0x40000001, KVM_SIG_EBX, KVM_SIG_ECX, KVM_SIG_EDX);
	add(c, KVM_CPUID_FEATURES, (1u << KVM_FEATURE_NOP_IO_DELAY) |
	    (1u << KVM_FEATURE_CLOCKSOURCE_STABLE_BIT), 0, 0, 0);
	cpu_filter_cpuid(c, false, NULL);
	e = find(c, KVM_CPUID_FEATURES);
	tap_ok(e && e->eax == (1u << KVM_FEATURE_NOP_IO_DELAY), "no kvmclock: no stable bit");
	free(c);

	/* Another hypervisor's signature: its feature leaf is not KVM's. */
	c = table(4);
	add(c, KVM_CPUID_SIGNATURE, 0x40000001, 0x7263694d, 0x666f736f, 0x76482074);
	add(c, KVM_CPUID_FEATURES, 0xffffffff, 0, 0, 0);
	cpu_filter_cpuid(c, false, NULL);
	tap_ok(!find(c, KVM_CPUID_SIGNATURE), "foreign signature dropped");
	tap_ok(!find(c, KVM_CPUID_FEATURES), "foreign feature leaf dropped");
	tap_ok(c->nent == 0, "nothing else left");
	free(c);

	/* Fast-string hints: kept on hardware, dropped on an emulated host. */
	for (int slow = 0; slow < 2; slow++) {
		c = table(2);
		add(c, 7, 1, (1u << 9) | 1u, 0, (1u << 4) | (1u << 2));
		add(c, 7, (7u << 10) | (1u << 4), 0, 0, 0);
		c->entries[1].index = 1;
		cpu_filter_cpuid(c, slow, NULL);
		if (slow)
			tap_ok(c->entries[0].ebx == 1u && c->entries[0].edx == (1u << 2) &&
			       c->entries[1].eax == (1u << 4),
			       "emulated host: no ERMS, FSRM, fast short strings; the rest kept");
		else
			tap_ok(c->entries[0].ebx == ((1u << 9) | 1u) &&
			       c->entries[0].edx == ((1u << 4) | (1u << 2)) &&
			       c->entries[1].eax == ((7u << 10) | (1u << 4)),
			       "hardware host: leaf 7 untouched");
		free(c);
	}
	/* vCPU 2 of 4 with an in-kernel LAPIC: the topology leaves agree with the MADT's APIC IDs. */
	{
		struct cpu_topology t = { .apic = true, .tsc_deadline = true, .apic_id = 2, .nr_cpus = 4 };
		struct kvm_cpuid_entry2 *sub0, *sub1;

		c = table(8);
		add(c, 1, 0x00060fb1, 0x00010800, (1u << 21) | (1u << 24), (1u << 9));
		add(c, 4, 0x121, 0x01c0003f, 0x3f, 0);
		add(c, 0xb, 0, 0, 0, 0);
		add(c, 0xb, 0, 0, 0, 0);
		c->entries[3].index = 1;
		add(c, 0x80000001, 0, 0, 0, 1u << 9);
		add(c, 0x80000008, 0x3030, 0, 0, 0);
		cpu_filter_cpuid(c, false, &t);
		e = find(c, 1);
		tap_ok(e && (e->ebx >> 24) == 2 && ((e->ebx >> 16) & 0xff) == 4 && (e->edx & (1u << 28)) &&
		       (e->edx & (1u << 9)) && (e->ecx & (1u << 21)) && (e->ecx & (1u << 24)),
		       "leaf 1: APIC ID 2, 4 logical CPUs, HTT, APIC, x2APIC and TSC deadline kept");
		e = find(c, 4);
		tap_ok(e && (e->eax >> 26) == 3 && (e->eax & 0x3ffffff) == 0x121, "leaf 4: 4 cores a package");
		sub0 = &c->entries[2];
		sub1 = &c->entries[3];
		tap_ok(sub0->function == 0xb && sub0->ebx == 1 && ((sub0->ecx >> 8) & 0xff) == 1 &&
		       sub0->edx == 2 && sub1->eax == 2 && sub1->ebx == 4 &&
		       ((sub1->ecx >> 8) & 0xff) == 2 && sub1->edx == 2,
		       "leaf 0xb: 1 thread a core, 4 cores in 2 ID bits, x2APIC ID 2");
		e = find(c, 0x80000001);
		tap_ok(e && (e->edx & (1u << 9)), "leaf 0x80000001: APIC kept");
		e = find(c, 0x80000008);
		tap_ok(e && (e->ecx & 0xff) == 3 && ((e->ecx >> 12) & 0xf) == 2 && e->eax == 0x3030,
		       "leaf 0x80000008: 4 cores, APIC ID size 2");
		free(c);

		/* 3 vCPUs still need 2 APIC ID bits; no TSC deadline when KVM lacks the timer. */
		t = (struct cpu_topology){ .apic = true, .apic_id = 0, .nr_cpus = 3 };
		c = table(2);
		add(c, 1, 0, 0, 1u << 24, 1u << 9);
		add(c, 0x80000008, 0, 0, 0, 0);
		cpu_filter_cpuid(c, false, &t);
		tap_ok(!(find(c, 1)->ecx & (1u << 24)) && ((find(c, 0x80000008)->ecx >> 12) & 0xf) == 2,
		       "3 vCPUs: 2 APIC ID bits; no TSC deadline without KVM_CAP_TSC_DEADLINE_TIMER");
		free(c);
	}
	return tap_done();
}
