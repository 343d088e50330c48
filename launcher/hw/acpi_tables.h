/* launcher/hw/acpi_tables.h: the ACPI tables kvm-launch gives its guests (RSDP, RSDT, XSDT, FADT, FACS, DSDT, MADT). */
#ifndef HW_ACPI_TABLES_H
#define HW_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#define ACPI_RSDP_LEN		36
#define ACPI_TABLES_ALIGN	64	/* the FACS, first in the blob, needs it */
#define ACPI_MAX_POINTERS	12
#define ACPI_MAX_CHECKSUMS	8

/* fw_cfg file names QEMU uses; SeaBIOS's table loader knows them only by the script. */
#define ACPI_FILE_RSDP		"etc/acpi/rsdp"
#define ACPI_FILE_TABLES	"etc/acpi/tables"
#define ACPI_FILE_LOADER	"etc/table-loader"

struct acpi_config {
	uint16_t pm_base;	/* PM1a_EVT; PM1a_CNT at +4, PM_TMR at +8 */
	uint8_t sci_irq;
	uint8_t rtc_century;	/* CMOS index of the century byte, 0 if none */
	/* The 32-bit PCI memory window the host bridge decodes, inclusive. */
	uint32_t pci_mem_start;
	uint32_t pci_mem_end;
	/*
	 * vCPUs, with local APIC IDs 0..nr_cpus-1, besides the IOAPIC (ID 0,
	 * 24 pins from GSI 0) and the 8259 pair: the MADT. 0: no APICs (the
	 * userspace 8259 alone), no MADT.
	 */
	unsigned int nr_cpus;
	/*
	 * The ISA IRQ of PIIX3 PIRQA..D, routed once and for all: the DSDT
	 * gets the link devices \_SB.LNKA..D and a _PRT for slots 1-31 of
	 * bus 0 (slot s, pin p on link (s + p) % 4). All zero: no _PRT.
	 */
	uint8_t pirq_irq[4];
};

/*
 * A pointer field at `offset` (in the RSDP or in the tables blob) holding
 * an offset into the tables blob, to which the blob's guest address is
 * added when the tables are placed (the table loader's ADD_POINTER).
 */
struct acpi_pointer {
	uint8_t in_rsdp;
	uint8_t size;		/* 4 or 8 */
	uint32_t offset;
};

/* checksum byte at `field` makes [start, start + len) sum to zero. */
struct acpi_checksum {
	uint8_t in_rsdp;
	uint32_t field;
	uint32_t start;
	uint32_t len;
};

struct acpi_tables {
	uint8_t *blob;		/* FACS, DSDT, FADT, MADT (if any), RSDT, XSDT */
	size_t blob_len;
	uint8_t rsdp[ACPI_RSDP_LEN];
	uint32_t facs_off, dsdt_off, fadt_off, rsdt_off, xsdt_off;
	uint32_t madt_off;	/* 0: no MADT */

	struct acpi_pointer ptr[ACPI_MAX_POINTERS];
	unsigned int nptr;
	/* In the order they must be applied (RSDP's 20-byte sum before its 36). */
	struct acpi_checksum sum[ACPI_MAX_CHECKSUMS];
	unsigned int nsum;
};

/*
 * Build the tables with every pointer relative to the blob's start and
 * every checksum valid for that unplaced state. Returns 0 or -1 (errno).
 */
int acpi_tables_build(const struct acpi_config *cfg, struct acpi_tables *t);
void acpi_tables_free(struct acpi_tables *t);

/* Make pointers absolute for a blob at blob_gpa and redo the checksums. */
void acpi_tables_place(struct acpi_tables *t, uint64_t blob_gpa);

/*
 * The "etc/table-loader" script for SeaBIOS (ALLOCATE the RSDP in the
 * F segment and the blob in high memory, ADD_POINTER, ADD_CHECKSUM),
 * describing an unplaced t. *script is malloc'ed.
 */
int acpi_tables_loader_script(const struct acpi_tables *t, uint8_t **script,
			      size_t *len);

/* Loader script command layout (128-byte entries, little endian). */
#define ACPI_LOADER_ENTRY_LEN		128
#define ACPI_LOADER_FILESZ		56
#define ACPI_LOADER_ALLOCATE		1
#define ACPI_LOADER_ADD_POINTER		2
#define ACPI_LOADER_ADD_CHECKSUM	3
#define ACPI_LOADER_ZONE_HIGH		1
#define ACPI_LOADER_ZONE_FSEG		2

/* The fixed parts of the PC interrupt controllers the MADT describes. */
#define ACPI_LAPIC_ADDR		0xfee00000u
#define ACPI_IOAPIC_ADDR	0xfec00000u
#define ACPI_IOAPIC_ID		0	/* KVM's IOAPIC resets to 0; QEMU says 0 too */
#define ACPI_MAX_CPUS		255	/* xAPIC IDs 0-254; 255 is broadcast */

/*
 * The board's INTx wiring: pin (0 = INTA) of a device in slot of bus 0
 * reaches PIIX3 PIRQ (slot - 1 + pin) % 4, as on QEMU's i440FX board and
 * in SeaBIOS's own tables. The _PRT and the MP table both say so; the
 * PCI model must deliver INTx the same way.
 */
static inline unsigned int acpi_pci_pirq(unsigned int slot, unsigned int pin)
{
	return (slot + 3 + pin) % 4;
}

uint8_t acpi_checksum(const uint8_t *p, size_t len);

#endif
