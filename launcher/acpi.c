/* launcher/acpi.c: the ACPI device: PM1a/PM timer ports, the ACPI tables for SeaBIOS (fw_cfg) or direct boot (RAM), and the MP table for direct boot. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/layout.h"
#include "firmware.h"
#include "hw/acpi_pm.h"
#include "hw/acpi_tables.h"
#include "hw/fw_cfg.h"
#include "hw/mptable.h"
#include "vmm.h"

/*
 * Direct boot: the RSDP where Linux scans for it (0xe0000-0xfffff, which
 * the e820 map leaves out of RAM) and the tables right behind it.
 */
#define ACPI_DIRECT_RSDP	0xe0000ULL
#define ACPI_DIRECT_TABLES	(ACPI_DIRECT_RSDP + ACPI_TABLES_ALIGN)
#define ACPI_DIRECT_END		0xf0000ULL
#define PCI_MEM_END		0xfebfffffULL	/* below the I/O APIC and BIOS ROM */
/* Direct boot: the MP table in the BIOS area, where Linux scans for it too. */
#define MPTABLE_DIRECT		0xf0000ULL

/* PIIX3 PIRQA..D: the ISA IRQs SeaBIOS routes them to, which the launcher sets too. */
static const uint8_t pirq_irq[4] = { 10, 10, 11, 11 };

struct acpi_dev {
	struct vm *vm;
	struct acpi_pm *pm;
};

static void acpi_poweroff(void *ctx)
{
	struct acpi_dev *d = ctx;

	/* S5 is an orderly end: the guest shut itself down. */
	vm_request_exit(d->vm, 0);
}

/* The 32-bit PCI window: from the end of RAM below 4 GiB. */
static uint32_t pci_mem_start(struct vm *vm)
{
	const struct e820_entry *e;
	unsigned int n = vm_e820(vm, &e);
	uint64_t end = BIOS_AREA_END;

	for (unsigned int i = 0; i < n; i++)
		if (e[i].type == E820_RAM && e[i].addr < HIGH_RAM_START &&
		    e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	if (end > PCI_MEM_END)
		end = PCI_MEM_END;
	return (uint32_t)end;
}

/*
 * The MP table, for a guest that ignores ACPI (acpi=off); SeaBIOS builds
 * its own, so only direct boot needs it.
 */
static int mptable_install(struct vm *vm, unsigned int nr_cpus)
{
	size_t len = BIOS_AREA_END - MPTABLE_DIRECT;
	uint8_t *mem = vm_gpa_to_hva(vm, MPTABLE_DIRECT, len);

	if (!mem) {
		fprintf(stderr, "kvm-launch: acpi: no RAM at 0xf0000, no MP table for the guest\n");
		return 0;
	}
	if (mptable_build(mem, len, MPTABLE_DIRECT, nr_cpus, pirq_irq) < 0) {
		perror("kvm-launch: acpi: MP table");
		return -1;
	}
	return 0;
}

static int acpi_install(struct vm *vm, struct acpi_tables *t,
			unsigned int nr_cpus)
{
	struct fw_cfg *cfg = firmware_fw_cfg(vm);
	uint8_t *script, *mem;
	size_t len;
	int ret;

	if (cfg) {
		/* SeaBIOS allocates and links them with the table-loader script. */
		if (acpi_tables_loader_script(t, &script, &len))
			return -1;
		ret = fw_cfg_add_file(cfg, ACPI_FILE_RSDP, t->rsdp, ACPI_RSDP_LEN) < 0 ||
		      fw_cfg_add_file(cfg, ACPI_FILE_TABLES, t->blob, t->blob_len) < 0 ||
		      fw_cfg_add_file(cfg, ACPI_FILE_LOADER, script, len) < 0 ? -1 : 0;
		free(script);
		return ret;
	}
	if (ACPI_DIRECT_TABLES + t->blob_len > ACPI_DIRECT_END) {
		fprintf(stderr, "kvm-launch: acpi: tables of %zu bytes do not fit below 0xf0000\n",
			t->blob_len);
		return -1;
	}
	mem = vm_gpa_to_hva(vm, ACPI_DIRECT_RSDP, ACPI_DIRECT_END - ACPI_DIRECT_RSDP);
	if (mem) {
		acpi_tables_place(t, ACPI_DIRECT_TABLES);
		memcpy(mem, t->rsdp, ACPI_RSDP_LEN);
		memcpy(mem + (ACPI_DIRECT_TABLES - ACPI_DIRECT_RSDP), t->blob, t->blob_len);
	} else {
		/* No RAM there (explicit memory slots): the guest goes without ACPI. */
		fprintf(stderr, "kvm-launch: acpi: no RAM at 0xe0000, no ACPI tables for the guest\n");
	}
	return nr_cpus ? mptable_install(vm, nr_cpus) : 0;
}

static void acpi_destroy(void *state)
{
	struct acpi_dev *d = state;

	acpi_pm_destroy(d->pm);
	free(d);
}

static int acpi_create(struct vm *vm, void **state)
{
	/* The local APICs and the IOAPIC come with the in-kernel irqchip. */
	unsigned int nr_cpus = vm->irqchip_mode != CFG_IRQCHIP_USER ?
			       vm_config(vm)->vcpus : 0;
	struct acpi_config ac = {
		.pm_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ,
		.rtc_century = 0x32,
		.pci_mem_start = pci_mem_start(vm), .pci_mem_end = PCI_MEM_END,
		.nr_cpus = nr_cpus,
	};
	struct acpi_tables t;
	struct acpi_dev *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	memcpy(ac.pirq_irq, pirq_irq, sizeof(ac.pirq_irq));
	d->vm = vm;
	d->pm = acpi_pm_create(vm_clock(vm), acpi_poweroff, d);
	if (!d->pm) {
		free(d);
		return -1;
	}
	if (vm_register_pio(vm, ACPI_PM_BASE, ACPI_PM_PORT_COUNT, &acpi_pm_io_ops, d->pm)) {
		acpi_destroy(d);
		return -1;
	}
	if (acpi_tables_build(&ac, &t)) {
		perror("kvm-launch: acpi: tables");
		acpi_destroy(d);
		return -1;
	}
	if (acpi_install(vm, &t, nr_cpus)) {
		acpi_tables_free(&t);
		acpi_destroy(d);
		return -1;
	}
	acpi_tables_free(&t);
	*state = d;
	return 0;
}

static const struct device_type acpi_type = {
	.name = "acpi", .stage = DEVICE_STAGE_DEVICE,
	.create = acpi_create, .destroy = acpi_destroy,
};
DEVICE_TYPE(acpi_type);
