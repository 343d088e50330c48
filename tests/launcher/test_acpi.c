/* tests/launcher/test_acpi.c: ACPI tables (checksums, pointers, loader script, DSDT) and the PM1 block. */
#include <string.h>

#include "tap.h"
#include "hw/acpi_pm.h"
#include "hw/acpi_tables.h"

static uint64_t le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static int sums_zero(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s == 0;
}

static int table_ok(const uint8_t *p, const char *sig)
{
	return !memcmp(p, sig, 4) && sums_zero(p, le(p + 4, 4));
}

/*
 * Run a table-loader script the way SeaBIOS's romfile_loader does, over
 * copies of the two files, with the given allocation addresses.
 */
static int run_loader(const uint8_t *script, size_t len, uint8_t *rsdp,
		      uint8_t *blob, uint64_t rsdp_gpa, uint64_t blob_gpa)
{
	for (size_t off = 0; off < len; off += ACPI_LOADER_ENTRY_LEN) {
		const uint8_t *e = script + off;
		const char *f1 = (const char *)e + 4;
		uint32_t cmd = (uint32_t)le(e, 4);
		uint8_t *file = !strcmp(f1, ACPI_FILE_RSDP) ? rsdp :
				!strcmp(f1, ACPI_FILE_TABLES) ? blob : NULL;

		if (!file)
			return -1;
		if (cmd == ACPI_LOADER_ALLOCATE)
			continue;
		if (cmd == ACPI_LOADER_ADD_POINTER) {
			const char *src = f1 + ACPI_LOADER_FILESZ;
			uint32_t at = (uint32_t)le(e + 4 + 2 * ACPI_LOADER_FILESZ, 4);
			uint8_t size = e[8 + 2 * ACPI_LOADER_FILESZ];
			uint64_t base = !strcmp(src, ACPI_FILE_RSDP) ? rsdp_gpa : blob_gpa;
			uint64_t v = le(file + at, size) + base;

			for (unsigned int i = 0; i < size; i++)
				file[at + i] = (uint8_t)(v >> (8 * i));
		} else if (cmd == ACPI_LOADER_ADD_CHECKSUM) {
			uint32_t field = (uint32_t)le(e + 4 + ACPI_LOADER_FILESZ, 4);
			uint32_t start = (uint32_t)le(e + 8 + ACPI_LOADER_FILESZ, 4);
			uint32_t n = (uint32_t)le(e + 12 + ACPI_LOADER_FILESZ, 4);
			uint8_t s = 0;

			for (uint32_t i = 0; i < n; i++)
				s += file[start + i];
			file[field] -= s;
		} else {
			return -1;
		}
	}
	return 0;
}

static uint64_t fake_ns;
static uint64_t fake_now(void *ctx)
{
	(void)ctx;
	return fake_ns;
}

static int poweroffs;
static void on_poweroff(void *ctx)
{
	(void)ctx;
	poweroffs++;
}

static void test_tables(void)
{
	struct acpi_config cfg = {
		.pm_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ,
		.rtc_century = 0x32,
		.pci_mem_start = 0x08000000, .pci_mem_end = 0xfebfffff,
	};
	struct acpi_tables t, placed;
	uint8_t *script, *blob, rsdp[ACPI_RSDP_LEN];
	size_t slen;
	const uint8_t *fadt, *dsdt, *r;
	const uint64_t base = 0xe0040;
	static const uint8_t s5[] = {
		0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
		0x0a, ACPI_SLP_TYP_S5, 0x0a, ACPI_SLP_TYP_S5, 0x00, 0x00,
	};

	tap_ok(acpi_tables_build(&cfg, &t) == 0, "tables build");
	tap_ok(t.facs_off % ACPI_TABLES_ALIGN == 0, "FACS 64-byte aligned in the blob");
	tap_ok(table_ok(t.blob + t.dsdt_off, "DSDT") &&
	       table_ok(t.blob + t.fadt_off, "FACP") &&
	       table_ok(t.blob + t.rsdt_off, "RSDT") &&
	       table_ok(t.blob + t.xsdt_off, "XSDT"),
	       "unplaced tables have valid checksums");
	tap_ok(sums_zero(t.rsdp, 20) && sums_zero(t.rsdp, ACPI_RSDP_LEN) &&
	       !memcmp(t.rsdp, "RSD PTR ", 8) && t.rsdp[15] == 2,
	       "RSDP signature, revision 2, both checksums");

	/* Place the way direct boot does, and compare with SeaBIOS's loader. */
	acpi_tables_build(&cfg, &placed);
	acpi_tables_place(&placed, base);
	fadt = placed.blob + placed.fadt_off;
	dsdt = placed.blob + placed.dsdt_off;
	r = placed.rsdp;
	tap_ok(le(r + 16, 4) == base + placed.rsdt_off &&
	       le(r + 24, 8) == base + placed.xsdt_off,
	       "placed RSDP points at RSDT and XSDT");
	tap_ok(le(placed.blob + placed.rsdt_off + 36, 4) == base + placed.fadt_off &&
	       le(placed.blob + placed.xsdt_off + 36, 8) == base + placed.fadt_off,
	       "RSDT and XSDT point at the FADT");
	tap_ok(le(fadt + 36, 4) == base && le(fadt + 40, 4) == base + placed.dsdt_off &&
	       le(fadt + 132, 8) == base && le(fadt + 140, 8) == base + placed.dsdt_off,
	       "FADT points at FACS and DSDT (32 and 64 bit)");
	tap_ok(table_ok(fadt, "FACP") && table_ok(dsdt, "DSDT") &&
	       table_ok(placed.blob + placed.rsdt_off, "RSDT") &&
	       table_ok(placed.blob + placed.xsdt_off, "XSDT") &&
	       sums_zero(r, 20) && sums_zero(r, 36),
	       "placed tables have valid checksums");
	tap_ok(le(fadt + 46, 2) == ACPI_SCI_IRQ && le(fadt + 56, 4) == 0x600 &&
	       le(fadt + 64, 4) == 0x604 && le(fadt + 76, 4) == 0x608 &&
	       fadt[88] == 4 && fadt[89] == 2 && fadt[91] == 4 &&
	       le(fadt + 48, 4) == 0,
	       "FADT: SCI 9, PM1a_EVT/CNT and PM_TMR blocks, no SMI port");
	tap_ok(fadt[148] == 1 && fadt[149] == 32 && le(fadt + 152, 8) == 0x600 &&
	       fadt[172] == 1 && fadt[173] == 16 && le(fadt + 176, 8) == 0x604,
	       "FADT: X_PM1a GAS match the 32-bit blocks");
	tap_ok((le(fadt + 109, 2) & 3) == 3 && fadt[108] == 0x32,
	       "FADT: legacy devices and 8042 advertised, RTC century index");
	tap_ok(memmem(dsdt, le(dsdt + 4, 4), s5, sizeof(s5)) != NULL,
	       "DSDT holds Name(\\_S5, Package(4){5, 5, 0, 0})");
	/* The \_SB scope's PkgLength must end exactly at the table's end. */
	{
		const uint8_t *aml = dsdt + 36 + sizeof(s5);
		size_t left = le(dsdt + 4, 4) - 36 - sizeof(s5), pl;
		unsigned int nb = (aml[1] >> 6) + 1;

		pl = nb == 1 ? aml[1] & 0x3f : aml[1] & 0x0f;
		for (unsigned int i = 1; i < nb; i++)
			pl |= (size_t)aml[1 + i] << (4 + 8 * (i - 1));
		tap_ok(aml[0] == 0x10 && 1 + pl == left &&
		       !memcmp(aml + 1 + nb, "\\_SB_", 5),
		       "DSDT: \\_SB scope spans the rest of the table");
	}
	tap_ok(memmem(dsdt, le(dsdt + 4, 4), "PCI0", 4) &&
	       memmem(dsdt, le(dsdt + 4, 4), "\x0c\x41\xd0\x0a\x03", 5) &&
	       memmem(dsdt, le(dsdt + 4, 4), "\x0c\x41\xd0\x05\x01", 5),
	       "DSDT: PCI0 (PNP0A03) and COM1 (PNP0501) present");

	tap_ok(acpi_tables_loader_script(&t, &script, &slen) == 0 &&
	       slen == (2 + t.nptr + t.nsum) * ACPI_LOADER_ENTRY_LEN,
	       "loader script: two allocations, pointers, checksums");
	tap_ok(le(script, 4) == ACPI_LOADER_ALLOCATE &&
	       !strcmp((char *)script + 4, ACPI_FILE_RSDP) &&
	       script[4 + 56 + 4] == ACPI_LOADER_ZONE_FSEG &&
	       le(script + 128 + 60, 4) == ACPI_TABLES_ALIGN,
	       "RSDP goes to the F segment, tables 64-byte aligned");
	blob = malloc(t.blob_len);
	memcpy(blob, t.blob, t.blob_len);
	memcpy(rsdp, t.rsdp, sizeof(rsdp));
	tap_ok(run_loader(script, slen, rsdp, blob, 0xf5a10, base) == 0 &&
	       !memcmp(blob, placed.blob, t.blob_len) &&
	       !memcmp(rsdp, placed.rsdp, sizeof(rsdp)),
	       "loader script run like SeaBIOS gives the placed tables");

	free(blob);
	free(script);
	acpi_tables_free(&t);
	acpi_tables_free(&placed);
}

static void test_pm(void)
{
	struct hw_clock clk = { .now_ns = fake_now };
	struct acpi_pm *pm;
	uint32_t t0, t1;

	fake_ns = 5000000000ull;
	pm = acpi_pm_create(&clk, on_poweroff, NULL);
	if (!tap_ok(pm != NULL, "PM block created"))
		return;

	tap_ok(acpi_pm_io_ops.read(pm, ACPI_PM1_CNT_OFF, 2) & ACPI_PM1_SCI_EN,
	       "SCI_EN reads set (always in ACPI mode)");
	t0 = (uint32_t)acpi_pm_io_ops.read(pm, ACPI_PM_TMR_OFF, 4);
	fake_ns += 1000000000ull;
	t1 = (uint32_t)acpi_pm_io_ops.read(pm, ACPI_PM_TMR_OFF, 4);
	tap_ok(t1 - t0 == ACPI_PM_TMR_HZ, "PM timer runs at 3.579545 MHz");
	fake_ns += 3600ull * 1000000000ull;
	t1 = (uint32_t)acpi_pm_io_ops.read(pm, ACPI_PM_TMR_OFF, 4);
	tap_ok(t1 == (uint32_t)(3601ull * ACPI_PM_TMR_HZ), "PM timer wraps at 32 bits, no drift");

	acpi_pm_io_ops.write(pm, ACPI_PM1_CNT_OFF, 2,
			     1u << ACPI_PM1_SLP_TYP_SHIFT | ACPI_PM1_SLP_EN);
	tap_ok(poweroffs == 0 && !acpi_pm_powered_off(pm),
	       "SLP_EN with a sleep type other than S5 does not power off");
	acpi_pm_io_ops.write(pm, ACPI_PM1_CNT_OFF, 2,
			     ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT);
	tap_ok(poweroffs == 0, "SLP_TYP=S5 without SLP_EN does not power off");
	tap_ok((acpi_pm_io_ops.read(pm, ACPI_PM1_CNT_OFF, 2) &
		ACPI_PM1_SLP_TYP_MASK) == ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT,
	       "SLP_TYP reads back");
	/* Byte write of the high half, as some guests do. */
	acpi_pm_io_ops.write(pm, ACPI_PM1_CNT_OFF + 1, 1,
			     (ACPI_SLP_TYP_S5 << ACPI_PM1_SLP_TYP_SHIFT |
			      ACPI_PM1_SLP_EN) >> 8);
	tap_ok(poweroffs == 1 && acpi_pm_powered_off(pm),
	       "SLP_TYP=S5 with SLP_EN (byte write) powers off once");
	tap_ok(!(acpi_pm_io_ops.read(pm, ACPI_PM1_CNT_OFF, 2) & ACPI_PM1_SLP_EN),
	       "SLP_EN reads as zero");
	acpi_pm_io_ops.write(pm, 2, 2, 0x0021);
	tap_ok(acpi_pm_io_ops.read(pm, 0, 4) == 0x00210000u,
	       "PM1_EN holds what is written; PM1_STS reads clear");
	tap_ok(acpi_pm_io_ops.read(pm, 6, 2) == 0xffff &&
	       acpi_pm_io_ops.read(pm, 12, 1) == 0xff,
	       "unused ports read all ones");
	acpi_pm_destroy(pm);
}

int main(void)
{
	tap_plan(28);
	test_tables();
	test_pm();
	return tap_done();
}
