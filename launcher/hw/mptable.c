/* launcher/hw/mptable.c: builds the MP floating pointer and configuration table (Intel MPS 1.4). */
#include "mptable.h"
#include "acpi_tables.h"

#include <errno.h>
#include <string.h>

#define MPS_REV			4	/* 1.4 */
#define LAPIC_VERSION		0x14	/* an integrated xAPIC, as KVM's reads */
#define IOAPIC_VERSION		0x11	/* what KVM's IOAPIC reports */

/*
 * Linux reads neither the signature nor the features of a processor
 * entry; a family-6 CPU with an FPU, TSC, MSRs, CMPXCHG8B and an APIC
 * is said for the readers that print them.
 */
#define CPU_SIGNATURE		0x00000600
#define CPU_FEATURES		((1u << 0) | (1u << 4) | (1u << 5) | (1u << 8) | (1u << 9))

#define CPU_ENABLED		(1u << 0)
#define CPU_BSP			(1u << 1)
#define IOAPIC_ENABLED		(1u << 0)

#define INT_VECTORED		0	/* through the IOAPIC */
#define INT_NMI			1
#define INT_EXTINT		3
#define POLARITY_HIGH		0x1
#define TRIGGER_LEVEL		(0x3 << 2)
#define ALL_LAPICS		0xff

#define PCI_SLOTS		32

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint8_t checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static uint8_t *bus_entry(uint8_t *e, uint8_t id, const char *type)
{
	e[0] = MPTABLE_BUS;
	e[1] = id;
	memcpy(e + 2, type, 6);
	return e + MPTABLE_ENTRY_LEN;
}

/* An I/O (type 3) or local (type 4) interrupt assignment. */
static uint8_t *int_entry(uint8_t *e, uint8_t type, uint8_t irqtype,
			  uint16_t flags, uint8_t bus, uint8_t bus_irq,
			  uint8_t dst_apic, uint8_t dst_pin)
{
	e[0] = type;
	e[1] = irqtype;
	put_le(e + 2, flags, 2);
	e[4] = bus;
	e[5] = bus_irq;
	e[6] = dst_apic;
	e[7] = dst_pin;
	return e + MPTABLE_ENTRY_LEN;
}

/* An ISA IRQ that a PIRQ takes is the PCI bus's, level triggered. */
static int isa_irq_is_pci(unsigned int irq, const uint8_t *pirq_irq)
{
	if (!pirq_irq)
		return 0;
	for (unsigned int i = 0; i < 4; i++)
		if (pirq_irq[i] == irq)
			return 1;
	return 0;
}

static size_t table_len(unsigned int nr_cpus, const uint8_t *pirq_irq)
{
	size_t n = 2 + 1 + 2;	/* buses, IOAPIC, local interrupts */

	for (unsigned int irq = 0; irq < 16; irq++)
		if (irq != 2 && !isa_irq_is_pci(irq, pirq_irq))
			n++;
	if (pirq_irq)
		n += (PCI_SLOTS - 1) * 4;
	return MPTABLE_HDR_LEN + nr_cpus * MPTABLE_CPU_LEN + n * MPTABLE_ENTRY_LEN;
}

int mptable_build(uint8_t *buf, size_t cap, uint32_t gpa, unsigned int nr_cpus,
		  const uint8_t pirq_irq[4])
{
	size_t len;
	uint8_t *mpf = buf, *mpc = buf + MPTABLE_FLOAT_LEN, *e;
	unsigned int count = 0;

	if (!nr_cpus || nr_cpus > MPTABLE_MAX_CPUS || gpa % 16) {
		errno = EINVAL;
		return -1;
	}
	if (pirq_irq && !(pirq_irq[0] && pirq_irq[1] && pirq_irq[2] && pirq_irq[3]))
		pirq_irq = NULL;
	len = table_len(nr_cpus, pirq_irq);
	if (cap < MPTABLE_FLOAT_LEN + len) {
		errno = ENOSPC;
		return -1;
	}
	memset(buf, 0, MPTABLE_FLOAT_LEN + len);

	memcpy(mpc, "PCMP", 4);
	put_le(mpc + 4, len, 2);
	mpc[6] = MPS_REV;
	memcpy(mpc + 8, "KVMLNC  ", 8);		/* OEM ID */
	memcpy(mpc + 16, "KVM-LAUNCH  ", 12);	/* product ID */
	put_le(mpc + 36, ACPI_LAPIC_ADDR, 4);

	e = mpc + MPTABLE_HDR_LEN;
	for (unsigned int i = 0; i < nr_cpus; i++, e += MPTABLE_CPU_LEN, count++) {
		e[0] = MPTABLE_CPU;
		e[1] = (uint8_t)i;
		e[2] = LAPIC_VERSION;
		e[3] = CPU_ENABLED | (i == 0 ? CPU_BSP : 0);
		put_le(e + 4, CPU_SIGNATURE, 4);
		put_le(e + 8, CPU_FEATURES, 4);
	}

	/* Linux takes a PCI entry's bus ID for the PCI bus number: PCI is 0. */
	e = bus_entry(e, MPTABLE_BUS_PCI, "PCI   ");
	e = bus_entry(e, MPTABLE_BUS_ISA, "ISA   ");
	count += 2;

	e[0] = MPTABLE_IOAPIC;
	e[1] = ACPI_IOAPIC_ID;
	e[2] = IOAPIC_VERSION;
	e[3] = IOAPIC_ENABLED;
	put_le(e + 4, ACPI_IOAPIC_ADDR, 4);
	e += MPTABLE_ENTRY_LEN;
	count++;

	/*
	 * ISA IRQs keep their pin, but the PIT's IRQ0 is wired to pin 2 and
	 * nothing drives IRQ2 (the cascade). IRQs a PIRQ takes belong to the
	 * PCI entries, level triggered, not to an edge-triggered ISA one.
	 */
	for (unsigned int irq = 0; irq < 16; irq++) {
		if (irq == 2 || isa_irq_is_pci(irq, pirq_irq))
			continue;
		e = int_entry(e, MPTABLE_INTSRC, INT_VECTORED, 0, MPTABLE_BUS_ISA,
			      (uint8_t)irq, ACPI_IOAPIC_ID, irq ? (uint8_t)irq : 2);
		count++;
	}
	/* PCI source IRQ: slot in bits 2-6, pin (0 = INTA) in bits 0-1. */
	for (unsigned int slot = 1; pirq_irq && slot < PCI_SLOTS; slot++)
		for (unsigned int pin = 0; pin < 4; pin++) {
			e = int_entry(e, MPTABLE_INTSRC, INT_VECTORED,
				      POLARITY_HIGH | TRIGGER_LEVEL, MPTABLE_BUS_PCI,
				      (uint8_t)(slot << 2 | pin), ACPI_IOAPIC_ID,
				      pirq_irq[acpi_pci_pirq(slot, pin)]);
			count++;
		}

	/* The 8259 reaches the BSP's LINT0 (virtual wire); NMI every LINT1. */
	e = int_entry(e, MPTABLE_LINTSRC, INT_EXTINT, 0, MPTABLE_BUS_ISA, 0, 0, 0);
	e = int_entry(e, MPTABLE_LINTSRC, INT_NMI, 0, MPTABLE_BUS_ISA, 0,
		      ALL_LAPICS, 1);
	count += 2;

	put_le(mpc + 34, count, 2);
	mpc[7] = checksum(mpc, len);

	memcpy(mpf, "_MP_", 4);
	put_le(mpf + 4, gpa + MPTABLE_FLOAT_LEN, 4);
	mpf[8] = 1;		/* length in 16-byte units */
	mpf[9] = MPS_REV;
	/* feature1 0: a table follows; feature2 0: no IMCR, virtual wire */
	mpf[10] = checksum(mpf, MPTABLE_FLOAT_LEN);
	return (int)(MPTABLE_FLOAT_LEN + len);
}
