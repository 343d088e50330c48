/* tests/launcher/test_acpi.c: ACPI tables (checksums, pointers, loader script, DSDT and its _PRT, MADT) and the PM1 block. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "tap.h"
#include "hw/acpi_pm.h"
#include "hw/acpi_tables.h"

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
	tap_ok(!t.madt_off && le(t.blob + t.rsdt_off + 4, 4) == 36 + 4 &&
	       le(t.blob + t.xsdt_off + 4, 4) == 36 + 8,
	       "no CPUs: no MADT, RSDT and XSDT list the FADT alone");
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

/* A walk of the MADT's entries after its 44-byte header. */
struct madt_walk {
	int ok;			/* every entry's length known, ending at the table's */
	unsigned int lapic, lapic_ok, ioapic, ioapic_ok, iso, nmi, nmi_ok, other;
	int iso_irq0, iso_sci;
};

static void walk_madt(const uint8_t *m, struct madt_walk *w)
{
	size_t len = le(m + 4, 4), off = 44;

	memset(w, 0, sizeof(*w));
	w->ok = 1;
	while (off + 2 <= len) {
		const uint8_t *e = m + off;

		if (!e[1] || off + e[1] > len) {
			w->ok = 0;
			return;
		}
		switch (e[0]) {
		case 0:
			if (e[1] == 8 && e[2] == w->lapic && e[3] == w->lapic &&
			    le(e + 4, 4) == 1)
				w->lapic_ok++;
			w->lapic++;
			break;
		case 1:
			w->ioapic++;
			w->ioapic_ok = e[1] == 12 && e[2] == ACPI_IOAPIC_ID &&
				       le(e + 4, 4) == ACPI_IOAPIC_ADDR && le(e + 8, 4) == 0;
			break;
		case 2:
			w->iso++;
			if (e[1] == 10 && e[2] == 0 && e[3] == 0 && le(e + 4, 4) == 2 &&
			    le(e + 8, 2) == 0)
				w->iso_irq0 = 1;
			if (e[1] == 10 && e[2] == 0 && e[3] == ACPI_SCI_IRQ &&
			    le(e + 4, 4) == ACPI_SCI_IRQ && le(e + 8, 2) == 0x000d)
				w->iso_sci = 1;
			break;
		case 4:
			w->nmi++;
			w->nmi_ok = e[1] == 6 && e[2] == 0xff && le(e + 3, 2) == 0 && e[5] == 1;
			break;
		default:
			w->other++;
		}
		off += e[1];
	}
	if (off != len)
		w->ok = 0;
}

#define MADT_POINTS	9

static void test_madt(unsigned int nr_cpus)
{
	struct acpi_config cfg = {
		.pm_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ,
		.pci_mem_start = 0x08000000, .pci_mem_end = 0xfebfffff,
		.nr_cpus = nr_cpus, .pirq_irq = { 10, 10, 11, 11 },
	};
	struct acpi_tables t, placed;
	struct madt_walk w;
	const uint8_t *m, *rsdt, *xsdt;
	uint8_t *script, *blob, rsdp[ACPI_RSDP_LEN];
	size_t slen;
	const uint64_t base = 0xe0040;

	if (!tap_ok(acpi_tables_build(&cfg, &t) == 0 && t.madt_off, "nr_cpus %u: tables with a MADT",
		    nr_cpus)) {
		for (int i = 1; i < MADT_POINTS; i++)
			tap_skip("no tables", "nr_cpus %u", nr_cpus);
		return;
	}
	m = t.blob + t.madt_off;
	tap_ok(table_ok(m, "APIC") && le(m + 4, 4) == 44 + 8 * nr_cpus + 12 + 2 * 10 + 6 &&
	       m[8] == 1 && le(m + 36, 4) == ACPI_LAPIC_ADDR && le(m + 40, 4) == 1,
	       "nr_cpus %u: MADT length, checksum, revision 1, LAPIC at 0xfee00000, PCAT_COMPAT",
	       nr_cpus);
	walk_madt(m, &w);
	tap_ok(w.ok && w.lapic == nr_cpus && w.lapic_ok == nr_cpus && !w.other,
	       "nr_cpus %u: one enabled local APIC each, UID = APIC ID = index", nr_cpus);
	tap_ok(w.ioapic == 1 && w.ioapic_ok, "nr_cpus %u: IOAPIC ID 0 at 0xfec00000, GSI base 0",
	       nr_cpus);
	tap_ok(w.iso == 2 && w.iso_irq0 && w.iso_sci,
	       "nr_cpus %u: overrides IRQ0 -> GSI 2 (conforming), SCI level active high", nr_cpus);
	tap_ok(w.nmi == 1 && w.nmi_ok, "nr_cpus %u: NMI on LINT1 of all processors", nr_cpus);

	acpi_tables_build(&cfg, &placed);
	acpi_tables_place(&placed, base);
	rsdt = placed.blob + placed.rsdt_off;
	xsdt = placed.blob + placed.xsdt_off;
	tap_ok(le(rsdt + 4, 4) == 36 + 8 && le(xsdt + 4, 4) == 36 + 16 &&
	       le(rsdt + 36, 4) == base + placed.fadt_off &&
	       le(rsdt + 40, 4) == base + placed.madt_off &&
	       le(xsdt + 36, 8) == base + placed.fadt_off &&
	       le(xsdt + 44, 8) == base + placed.madt_off,
	       "nr_cpus %u: placed RSDT and XSDT list the FADT and the MADT", nr_cpus);
	tap_ok(table_ok(rsdt, "RSDT") && table_ok(xsdt, "XSDT") &&
	       table_ok(placed.blob + placed.madt_off, "APIC") &&
	       table_ok(placed.blob + placed.dsdt_off, "DSDT") &&
	       sums_zero(placed.rsdp, 20) && sums_zero(placed.rsdp, 36),
	       "nr_cpus %u: placed tables have valid checksums", nr_cpus);

	blob = malloc(t.blob_len);
	memcpy(blob, t.blob, t.blob_len);
	memcpy(rsdp, t.rsdp, sizeof(rsdp));
	tap_ok(acpi_tables_loader_script(&t, &script, &slen) == 0 &&
	       slen == (2 + t.nptr + t.nsum) * ACPI_LOADER_ENTRY_LEN &&
	       run_loader(script, slen, rsdp, blob, 0xf5a10, base) == 0 &&
	       !memcmp(blob, placed.blob, t.blob_len) &&
	       !memcmp(rsdp, placed.rsdp, sizeof(rsdp)),
	       "nr_cpus %u: loader script run like SeaBIOS gives the placed tables", nr_cpus);
	free(script);
	free(blob);
	acpi_tables_free(&t);
	acpi_tables_free(&placed);
}

/* AML PkgLength at p: its value, and its own size in *nb. */
static size_t pkglen(const uint8_t *p, unsigned int *nb)
{
	size_t v;

	*nb = (p[0] >> 6) + 1;
	v = *nb == 1 ? p[0] & 0x3f : p[0] & 0x0f;
	for (unsigned int i = 1; i < *nb; i++)
		v |= (size_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

/* AML integer at p (Zero, One, Byte, Word, DWord prefixes); advances *p. */
static uint64_t aml_int(const uint8_t **p)
{
	const uint8_t *q = *p;

	switch (q[0]) {
	case 0x00: *p += 1; return 0;
	case 0x01: *p += 1; return 1;
	case 0x0a: *p += 2; return q[1];
	case 0x0b: *p += 3; return le(q + 1, 2);
	case 0x0c: *p += 5; return le(q + 1, 4);
	}
	*p += 1;
	return ~0ull;
}

#define PRT_POINTS	6

static void test_prt(void)
{
	struct acpi_config cfg = {
		.pm_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ,
		.pirq_irq = { 10, 10, 11, 11 },
	};
	/* Interrupt (ResourceConsumer, Level, ActiveHigh, Shared) {10} and {11} */
	static const uint8_t irq10[] = { 0x89, 0x06, 0x00, 0x09, 0x01, 10, 0, 0, 0 };
	static const uint8_t irq11[] = { 0x89, 0x06, 0x00, 0x09, 0x01, 11, 0, 0, 0 };
	static const uint8_t pic[] = { 0x14, 0x07, '\\', '_', 'P', 'I', 'C', 0x01 };
	struct acpi_tables t;
	const uint8_t *d, *p, *end;
	size_t dlen, len;
	unsigned int nb, n, good = 0;
	char link[] = "LNKA";

	if (!tap_ok(acpi_tables_build(&cfg, &t) == 0, "DSDT with PIRQ routing builds")) {
		for (int i = 1; i < PRT_POINTS; i++)
			tap_skip("no tables", "_PRT");
		return;
	}
	d = t.blob + t.dsdt_off;
	dlen = le(d + 4, 4);
	n = 0;
	for (unsigned int i = 0; i < 4; i++) {
		link[3] = (char)('A' + i);
		n += memmem(d, dlen, link, 4) != NULL;
	}
	tap_ok(n == 4 && memmem(d, dlen, "\x0c\x41\xd0\x0c\x0f", 5) &&
	       memmem(d, dlen, irq10, sizeof(irq10)) && memmem(d, dlen, irq11, sizeof(irq11)),
	       "DSDT: LNKA-D (PNP0C0F) with level, active high, shared IRQs 10 and 11");
	tap_ok(dlen >= sizeof(pic) && !memcmp(d + dlen - sizeof(pic), pic, sizeof(pic)),
	       "DSDT ends with Method (\\_PIC, 1) {}");
	tap_ok(table_ok(t.blob + t.dsdt_off, "DSDT") && !t.madt_off,
	       "DSDT checksum; no MADT without CPUs");

	/* Name (_PRT, Package (124) { Package (4) { addr, pin, \_SB.LNKx, 0 } ... }) */
	p = memmem(d, dlen, "\x08_PRT\x12", 6);
	if (!tap_ok(p != NULL, "DSDT: Name (_PRT, Package)")) {
		tap_skip("no _PRT", "_PRT entries");
		acpi_tables_free(&t);
		return;
	}
	p += 6;
	len = pkglen(p, &nb);
	end = p + len;
	p += nb;
	n = *p++;
	for (unsigned int i = 0; i < n && p < end; i++) {
		unsigned int slot = 1 + i / 4, pin = i % 4;
		const uint8_t *e;
		size_t elen;
		uint64_t addr, epin, src;

		if (*p++ != 0x12)
			break;
		elen = pkglen(p, &nb);
		e = p + nb;
		p += elen;
		if (*e++ != 4)
			continue;
		addr = aml_int(&e);
		epin = aml_int(&e);
		link[3] = (char)('A' + (slot - 1 + pin) % 4);
		if (memcmp(e, "\\\x2e_SB_", 6) || memcmp(e + 6, link, 4))
			continue;
		e += 10;
		src = aml_int(&e);
		if (addr == ((uint64_t)slot << 16 | 0xffff) && epin == pin && src == 0 && e == p)
			good++;
	}
	tap_ok(n == 124 && good == 124 && p == end,
	       "_PRT: slots 1-31, INTA-D, on \\_SB.LNK[(slot - 1 + pin) %% 4], source index 0");
	acpi_tables_free(&t);
}

static void test_bad_config(void)
{
	struct acpi_config cfg = { .pm_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ };
	struct acpi_tables t;

	cfg.nr_cpus = ACPI_MAX_CPUS + 1;
	errno = 0;
	tap_ok(acpi_tables_build(&cfg, &t) == -1 && errno == EINVAL,
	       "256 CPUs refused (APIC ID 255 is the broadcast)");
	cfg.nr_cpus = 1;
	cfg.pirq_irq[0] = 10;
	errno = 0;
	tap_ok(acpi_tables_build(&cfg, &t) == -1 && errno == EINVAL,
	       "PIRQ routing with some links unrouted refused");
}

static int write_file(const char *path, const uint8_t *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(p, 1, len, f) == len;

	if (f && fclose(f))
		ok = 0;
	return ok;
}

static int run_iasl(const char *dir, const char *args, const char *want)
{
	char cmd[512], line[512];
	FILE *f;
	int seen = !want, errors = 0;

	snprintf(cmd, sizeof(cmd), "cd %s && iasl %s 2>&1", dir, args);
	f = popen(cmd, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if ((strstr(line, "Error") && !strstr(line, " 0 Errors")) ||
		    strstr(line, "ACPI Warning") || strstr(line, "Firmware Warning"))
			errors++;
		if (want && strstr(line, want))
			seen = 1;
	}
	return pclose(f) == 0 && !errors && seen;
}

static void remove_dir(const char *dir)
{
	char path[512];
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

/*
 * ACPICA's disassembler, when installed, reads DSDT and MADT without a
 * complaint, and its compiler takes the DSDT's disassembly back.
 */
static void test_iasl(void)
{
	struct acpi_config cfg = {
		.pm_base = ACPI_PM_BASE, .sci_irq = ACPI_SCI_IRQ,
		.pci_mem_start = 0x08000000, .pci_mem_end = 0xfebfffff,
		.nr_cpus = 4, .pirq_irq = { 10, 10, 11, 11 },
	};
	struct acpi_tables t;
	char dir[] = "/tmp/test_acpi.XXXXXX", path[512];
	const uint8_t *d, *m;
	int ok;

	if (system("iasl -v >/dev/null 2>&1") != 0) {
		tap_skip("iasl (acpica-tools) not installed", "iasl reads the DSDT");
		tap_skip("iasl (acpica-tools) not installed", "iasl reads the MADT");
		return;
	}
	if (acpi_tables_build(&cfg, &t)) {
		tap_ok(0, "iasl reads the DSDT");
		tap_ok(0, "iasl reads the MADT");
		return;
	}
	if (!mkdtemp(dir)) {
		tap_skip("no temporary directory", "iasl reads the DSDT");
		tap_skip("no temporary directory", "iasl reads the MADT");
		acpi_tables_free(&t);
		return;
	}
	acpi_tables_place(&t, 0xe0040);
	d = t.blob + t.dsdt_off;
	m = t.blob + t.madt_off;
	snprintf(path, sizeof(path), "%s/dsdt.dat", dir);
	ok = write_file(path, d, le(d + 4, 4));
	snprintf(path, sizeof(path), "%s/apic.dat", dir);
	ok = write_file(path, m, le(m + 4, 4)) && ok;
	tap_ok(ok && run_iasl(dir, "-d dsdt.dat", "Parsing completed") &&
	       run_iasl(dir, "-p again dsdt.dsl", "Compilation successful"),
	       "iasl disassembles the DSDT and compiles it back without errors");
	tap_ok(ok && run_iasl(dir, "-d apic.dat", "Acpi Data Table [APIC] decoded"),
	       "iasl decodes the MADT without errors");
	remove_dir(dir);
	acpi_tables_free(&t);
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
	tap_plan(29 + 3 * MADT_POINTS + PRT_POINTS + 4);
	test_tables();
	test_madt(1);
	test_madt(4);
	test_madt(64);
	test_prt();
	test_bad_config();
	test_iasl();
	test_pm();
	return tap_done();
}
