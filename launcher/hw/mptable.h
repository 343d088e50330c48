/* launcher/hw/mptable.h: the Intel MultiProcessor Specification 1.4 table for guests booted without firmware. */
#ifndef HW_MPTABLE_H
#define HW_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

#define MPTABLE_MAX_CPUS	255	/* APIC IDs 0-254 */
#define MPTABLE_FLOAT_LEN	16
#define MPTABLE_HDR_LEN		44
#define MPTABLE_CPU_LEN		20
#define MPTABLE_ENTRY_LEN	8	/* bus, IOAPIC, I/O and local interrupt */

/* Entry types, in the order the specification wants them. */
#define MPTABLE_CPU		0
#define MPTABLE_BUS		1
#define MPTABLE_IOAPIC		2
#define MPTABLE_INTSRC		3
#define MPTABLE_LINTSRC		4

#define MPTABLE_BUS_PCI		0	/* bus IDs: PCI's is its bus number */
#define MPTABLE_BUS_ISA		1

/*
 * The floating pointer ("_MP_", at buf, which must lie at gpa, 16-byte
 * aligned, where the OS scans for it: 0xf0000-0xfffff) and right behind
 * it the configuration table ("PCMP"): nr_cpus processors with APIC IDs
 * 0..nr_cpus-1 (0 the BSP), the PCI and ISA buses, the IOAPIC (ID 0 at
 * 0xfec00000), ISA IRQs 0-15 but 2 (0 on pin 2); with pirq_irq (the ISA
 * IRQ of PIIX3 PIRQA..D, all four set; NULL: none) the INTx of PCI slots
 * 1-31 wired as the DSDT's _PRT says, in place of those IRQs' ISA
 * entries; ExtINT on the BSP's LINT0 and NMI on every LINT1. Returns the
 * bytes used, or -1 (errno: EINVAL for nr_cpus 0 or above
 * MPTABLE_MAX_CPUS or an unaligned gpa, ENOSPC when cap is too small).
 */
int mptable_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned int nr_cpus,
		  const uint8_t pirq_irq[4]);

#endif
