/* launcher/arch/cpu.h: x86 vCPU set-up: CPUID, boot-time registers, dumps. */
#ifndef ARCH_CPU_H
#define ARCH_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "arch/linux.h"

/* Where a vCPU sits: its APIC, and the package it shares with the others. */
struct cpu_topology {
	bool apic;		/* an in-kernel local APIC (irqchip kernel or split) */
	bool tsc_deadline;	/* KVM_CAP_TSC_DEADLINE_TIMER, with apic */
	unsigned int apic_id;	/* = the vCPU index */
	unsigned int nr_cpus;	/* cores in the one package */
};

/* CPUID from KVM_GET_SUPPORTED_CPUID minus what the launcher lacks. */
int cpu_setup_cpuid(int kvm_fd, int vcpu_fd, const struct cpu_topology *t);

/*
 * The filter it applies, in place: no XSAVE; without t->apic no APIC,
 * x2APIC or TSC deadline; APIC ID and core count (leaves 1, 4, 0xb, 0x1f,
 * 0x80000008) from t (NULL: one CPU, APIC ID 0);
 * the hypervisor bit set; of the paravirtual leaves only KVM's, trimmed to
 * kvmclock and "no I/O delay". slow_strings: the host runs rep movs/stos
 * slowly (it is an emulator), so the fast-string hints (ERMS, FSRM and the
 * fast short/zero-length ones) go too.
 */
struct kvm_cpuid2;
void cpu_filter_cpuid(struct kvm_cpuid2 *c, bool slow_strings, const struct cpu_topology *t);

/* Whether the host CPU is QEMU's TCG emulation (from its brand string). */
bool cpu_host_is_emulated(void);

/*
 * Registers for the Linux entry: flat 64-bit long mode with identity page
 * tables for the low 4 GiB (built in guest memory), or 32-bit protected
 * mode; rsi/esi points at boot_params.
 */
int cpu_setup_linux(int vcpu_fd, const struct linux_load_mem *mem,
		    uint64_t entry, bool entry64);

/* Print general, segment and control registers of the vCPU. */
void cpu_dump(int vcpu_fd, FILE *f);

#endif
