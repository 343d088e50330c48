/* launcher/hw/acpi_tables.c: builds RSDP, RSDT, XSDT, FADT, FACS, the DSDT and the MADT; placing and table-loader script. */
#include "acpi_tables.h"
#include "acpi_aml.h"
#include "acpi_pm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ACPI_HDR_LEN	36
#define FACS_LEN	64
#define FADT_LEN	244	/* revision 3 (ACPI 2.0) layout */

/* FADT fields used here (byte offsets). */
#define FADT_FIRMWARE_CTRL	36
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM_TMR_BLK		76
#define FADT_PM1_EVT_LEN	88
#define FADT_PM1_CNT_LEN	89
#define FADT_PM_TMR_LEN		91
#define FADT_P_LVL2_LAT		96
#define FADT_P_LVL3_LAT		98
#define FADT_CENTURY		108
#define FADT_IAPC_BOOT_ARCH	109
#define FADT_FLAGS		112
#define FADT_X_FIRMWARE_CTRL	132
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define FADT_X_PM_TMR_BLK	208

#define FADT_F_WBINVD		(1u << 0)
#define FADT_F_PROC_C1		(1u << 2)
#define FADT_F_PWR_BUTTON	(1u << 4)	/* set: no fixed power button */
#define FADT_F_SLP_BUTTON	(1u << 5)	/* set: no fixed sleep button */
#define FADT_F_TMR_VAL_EXT	(1u << 8)	/* 32-bit PM timer */
#define BOOT_ARCH_LEGACY_DEVICES	(1u << 0)
#define BOOT_ARCH_8042			(1u << 1)

/* MADT layout (ACPI 2.0, 5.2.10.4). */
#define MADT_LAPIC_ADDR		36
#define MADT_FLAGS		40
#define MADT_HDR_LEN		44
#define MADT_F_PCAT_COMPAT	(1u << 0)	/* the 8259 pair is there too */
#define MADT_TYPE_LAPIC		0
#define MADT_TYPE_IOAPIC	1
#define MADT_TYPE_ISO		2
#define MADT_TYPE_LAPIC_NMI	4
#define MADT_LAPIC_LEN		8
#define MADT_IOAPIC_LEN		12
#define MADT_ISO_LEN		10
#define MADT_LAPIC_NMI_LEN	6
#define MADT_LAPIC_ENABLED	(1u << 0)
#define MADT_POLARITY_HIGH	0x1	/* MPS INTI flags, as in the MP table */
#define MADT_TRIGGER_LEVEL	(0x3 << 2)
#define MADT_NR_ISO		2	/* IRQ0 -> GSI 2, the SCI */

#define PCI_SLOTS		32

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int n)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static void acpi_header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put_le(p + 4, len, 4);
	p[8] = rev;
	memcpy(p + 10, "KVMLNC", 6);
	memcpy(p + 16, "KVMLAUNC", 8);
	put_le(p + 24, 1, 4);
	memcpy(p + 28, "KVML", 4);
	put_le(p + 32, 1, 4);
}

/* Generic Address Structure for a System I/O register block. */
static void acpi_gas_io(uint8_t *p, uint8_t bits, uint16_t port)
{
	p[0] = 1;	/* System I/O */
	p[1] = bits;
	p[2] = 0;
	p[3] = 0;	/* access size: undefined (legacy) */
	put_le(p + 4, port, 8);
}

static void add_pointer(struct acpi_tables *t, int in_rsdp, uint32_t off,
			uint8_t size)
{
	struct acpi_pointer *p = &t->ptr[t->nptr++];

	p->in_rsdp = (uint8_t)in_rsdp;
	p->offset = off;
	p->size = size;
}

static void add_checksum(struct acpi_tables *t, int in_rsdp, uint32_t field,
			 uint32_t start, uint32_t len)
{
	struct acpi_checksum *c = &t->sum[t->nsum++];

	c->in_rsdp = (uint8_t)in_rsdp;
	c->field = field;
	c->start = start;
	c->len = len;
}

static uint32_t madt_len(unsigned int nr_cpus)
{
	return MADT_HDR_LEN + nr_cpus * MADT_LAPIC_LEN + MADT_IOAPIC_LEN +
	       MADT_NR_ISO * MADT_ISO_LEN + MADT_LAPIC_NMI_LEN;
}

/* Interrupt Source Override: ISA IRQ src arrives on gsi. */
static uint8_t *madt_iso(uint8_t *e, uint8_t src, uint32_t gsi, uint16_t flags)
{
	e[0] = MADT_TYPE_ISO;
	e[1] = MADT_ISO_LEN;
	e[2] = 0;		/* bus: ISA */
	e[3] = src;
	put_le(e + 4, gsi, 4);
	put_le(e + 8, flags, 2);
	return e + MADT_ISO_LEN;
}

/*
 * Every vCPU's local APIC (UID and APIC ID: its index), the IOAPIC, IRQ0
 * on pin 2 where the PIT is wired, the SCI level and active high (without
 * an override Linux takes an ISA SCI as active low), and NMI on LINT1 of
 * every CPU. Revision 1, ACPI 2.0 as the FADT: each entry used here has
 * kept this layout since then.
 */
static void build_madt(const struct acpi_config *cfg, uint8_t *m)
{
	uint8_t *e = m + MADT_HDR_LEN;

	acpi_header(m, "APIC", madt_len(cfg->nr_cpus), 1);
	put_le(m + MADT_LAPIC_ADDR, ACPI_LAPIC_ADDR, 4);
	put_le(m + MADT_FLAGS, MADT_F_PCAT_COMPAT, 4);
	for (unsigned int i = 0; i < cfg->nr_cpus; i++, e += MADT_LAPIC_LEN) {
		e[0] = MADT_TYPE_LAPIC;
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i;	/* ACPI processor UID */
		e[3] = (uint8_t)i;	/* APIC ID */
		put_le(e + 4, MADT_LAPIC_ENABLED, 4);
	}
	e[0] = MADT_TYPE_IOAPIC;
	e[1] = MADT_IOAPIC_LEN;
	e[2] = ACPI_IOAPIC_ID;
	put_le(e + 4, ACPI_IOAPIC_ADDR, 4);
	put_le(e + 8, 0, 4);	/* GSI base */
	e += MADT_IOAPIC_LEN;
	e = madt_iso(e, 0, 2, 0);
	e = madt_iso(e, cfg->sci_irq, cfg->sci_irq,
		     MADT_POLARITY_HIGH | MADT_TRIGGER_LEVEL);
	e[0] = MADT_TYPE_LAPIC_NMI;
	e[1] = MADT_LAPIC_NMI_LEN;
	e[2] = 0xff;		/* all processors */
	put_le(e + 3, 0, 2);	/* polarity and trigger: conforming */
	e[5] = 1;		/* LINT1 */
}

/* Resources of an ISA device: ports then one IRQ. */
static void isa_device(struct aml *scope, const char *name, const char *hid,
		       uint16_t port, uint8_t plen, uint16_t port2, int irq)
{
	struct aml dev = { 0 }, res = { 0 };

	aml_name(&dev, "_HID");
	aml_eisaid(&dev, hid);
	if (plen)
		aml_res_io(&res, port, plen);
	if (port2)
		aml_res_io(&res, port2, 1);
	if (irq >= 0)
		aml_res_irq(&res, (unsigned int)irq);
	aml_name(&dev, "_CRS");
	aml_resource_template(&dev, &res);
	aml_device(scope, name, &dev);
	aml_free(&dev);
	aml_free(&res);
}

static bool has_pirq(const struct acpi_config *cfg)
{
	return cfg->pirq_irq[0] || cfg->pirq_irq[1] || cfg->pirq_irq[2] ||
	       cfg->pirq_irq[3];
}

/*
 * A PCI interrupt link (PNP0C0F) whose PIRQ router the launcher has set
 * once: it reports its one IRQ as possible and current, and takes any
 * _SRS or _DIS without effect.
 */
static void pci_link(struct aml *scope, unsigned int n, uint8_t irq)
{
	struct aml dev = { 0 }, body = { 0 }, res = { 0 }, none = { 0 };
	char name[] = "LNKA";

	name[3] = (char)('A' + n);
	aml_name(&dev, "_HID");
	aml_eisaid(&dev, "PNP0C0F");
	aml_name(&dev, "_UID");
	aml_integer(&dev, n + 1);

	aml_return(&body);
	aml_integer(&body, 0x0b);	/* present, enabled, functioning */
	aml_method(&dev, "_STA", 0, &body);
	aml_free(&body);

	aml_res_irq_pci(&res, irq);
	aml_return(&body);
	aml_resource_template(&body, &res);
	aml_method(&dev, "_PRS", 0, &body);
	aml_method(&dev, "_CRS", 0, &body);
	aml_method(&dev, "_SRS", 1, &none);
	aml_method(&dev, "_DIS", 0, &none);
	if (body.oom || res.oom)
		dev.oom = true;
	aml_device(scope, name, &dev);
	aml_free(&dev);
	aml_free(&body);
	aml_free(&res);
}

/* Name (_PRT, Package { Package { 0xSSSSFFFF, pin, \_SB.LNKx, 0 }, ... }) */
static void pci_prt(struct aml *pci)
{
	struct aml all = { 0 }, one = { 0 };
	char link[] = "\\_SB.LNKA";
	unsigned int n = 0;

	for (unsigned int slot = 1; slot < PCI_SLOTS; slot++)
		for (unsigned int pin = 0; pin < 4; pin++, n++) {
			link[8] = (char)('A' + acpi_pci_pirq(slot, pin));
			aml_integer(&one, (uint64_t)slot << 16 | 0xffff);
			aml_integer(&one, pin);
			aml_name_string(&one, link);
			aml_integer(&one, 0);
			aml_package(&all, 4, &one);
			aml_free(&one);
		}
	aml_name(pci, "_PRT");
	aml_package(pci, n, &all);
	if (all.oom)
		pci->oom = true;
	aml_free(&all);
}

/*
 * The DSDT: \_S5 for power-off, the PCI root bridge with its windows, and
 * under the PIIX3 ISA bridge the legacy devices Linux otherwise only
 * guesses at (keyboard controller, RTC, COM1). With PIRQ routing: the
 * links and the _PRT, the links first so that the _PRT's references
 * resolve as the table loads, and \_PIC, which Linux calls on choosing
 * the IOAPIC and which has nothing to switch.
 */
static int build_dsdt_aml(const struct acpi_config *cfg, struct aml *out)
{
	struct aml s5 = { 0 }, pci = { 0 }, crs = { 0 }, isa = { 0 },
		   isabody = { 0 }, sb = { 0 };
	int ret = 0;

	aml_integer(&s5, ACPI_SLP_TYP_S5);
	aml_integer(&s5, ACPI_SLP_TYP_S5);
	aml_integer(&s5, 0);
	aml_integer(&s5, 0);
	aml_name(out, "\\_S5");
	aml_package(out, 4, &s5);

	aml_name(&pci, "_HID");
	aml_eisaid(&pci, "PNP0A03");
	aml_name(&pci, "_ADR");
	aml_integer(&pci, 0);
	aml_name(&pci, "_UID");
	aml_integer(&pci, 0);
	aml_res_word_bus(&crs, 0x00, 0xff);
	aml_res_io(&crs, 0xcf8, 8);
	aml_res_word_io(&crs, 0x0000, 0x0cf7);
	aml_res_word_io(&crs, 0x0d00, 0xffff);
	aml_res_dword_mem(&crs, 0x000a0000, 0x000bffff);
	if (cfg->pci_mem_start && cfg->pci_mem_end > cfg->pci_mem_start)
		aml_res_dword_mem(&crs, cfg->pci_mem_start, cfg->pci_mem_end);
	aml_name(&pci, "_CRS");
	aml_resource_template(&pci, &crs);
	if (has_pirq(cfg))
		pci_prt(&pci);

	aml_name(&isabody, "_ADR");
	aml_integer(&isabody, 0x00010000);	/* device 1, function 0 */
	isa_device(&isabody, "KBD", "PNP0303", 0x60, 1, 0x64, 1);
	isa_device(&isabody, "MOU", "PNP0F13", 0, 0, 0, 12);
	isa_device(&isabody, "RTC", "PNP0B00", 0x70, 2, 0, 8);
	isa_device(&isabody, "COM1", "PNP0501", 0x3f8, 8, 0, 4);
	aml_device(&isa, "ISA", &isabody);
	aml_bytes(&pci, isa.b, isa.len);
	if (isa.oom)
		pci.oom = true;

	if (has_pirq(cfg))
		for (unsigned int i = 0; i < 4; i++)
			pci_link(&sb, i, cfg->pirq_irq[i]);
	aml_device(&sb, "PCI0", &pci);
	aml_scope(out, "\\_SB", &sb);
	if (has_pirq(cfg)) {
		struct aml none = { 0 };

		aml_method(out, "\\_PIC", 1, &none);
	}

	if (out->oom || s5.oom || pci.oom || sb.oom)
		ret = -1;
	aml_free(&s5);
	aml_free(&pci);
	aml_free(&crs);
	aml_free(&isa);
	aml_free(&isabody);
	aml_free(&sb);
	return ret;
}

static void build_fadt(const struct acpi_config *cfg, struct acpi_tables *t)
{
	uint8_t *f = t->blob + t->fadt_off;
	uint16_t pm = cfg->pm_base;

	acpi_header(f, "FACP", FADT_LEN, 3);
	put_le(f + FADT_FIRMWARE_CTRL, t->facs_off, 4);
	put_le(f + FADT_DSDT, t->dsdt_off, 4);
	put_le(f + FADT_SCI_INT, cfg->sci_irq, 2);
	/* SMI_CMD stays 0: no SMM, the machine is always in ACPI mode. */
	put_le(f + FADT_PM1A_EVT_BLK, pm, 4);
	put_le(f + FADT_PM1A_CNT_BLK, pm + 4u, 4);
	put_le(f + FADT_PM_TMR_BLK, pm + 8u, 4);
	f[FADT_PM1_EVT_LEN] = 4;
	f[FADT_PM1_CNT_LEN] = 2;
	f[FADT_PM_TMR_LEN] = 4;
	/* No C2/C3: latencies above the limits ACPI defines. */
	put_le(f + FADT_P_LVL2_LAT, 101, 2);
	put_le(f + FADT_P_LVL3_LAT, 1001, 2);
	f[FADT_CENTURY] = cfg->rtc_century;
	put_le(f + FADT_IAPC_BOOT_ARCH,
	       BOOT_ARCH_LEGACY_DEVICES | BOOT_ARCH_8042, 2);
	put_le(f + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PROC_C1 |
	       FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON | FADT_F_TMR_VAL_EXT, 4);
	put_le(f + FADT_X_FIRMWARE_CTRL, t->facs_off, 8);
	put_le(f + FADT_X_DSDT, t->dsdt_off, 8);
	acpi_gas_io(f + FADT_X_PM1A_EVT_BLK, 32, pm);
	acpi_gas_io(f + FADT_X_PM1A_CNT_BLK, 16, pm + 4u);
	acpi_gas_io(f + FADT_X_PM_TMR_BLK, 32, pm + 8u);

	add_pointer(t, 0, t->fadt_off + FADT_FIRMWARE_CTRL, 4);
	add_pointer(t, 0, t->fadt_off + FADT_DSDT, 4);
	add_pointer(t, 0, t->fadt_off + FADT_X_FIRMWARE_CTRL, 8);
	add_pointer(t, 0, t->fadt_off + FADT_X_DSDT, 8);
}

static uint32_t align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int acpi_tables_build(const struct acpi_config *cfg, struct acpi_tables *t)
{
	struct aml dsdt = { 0 };
	unsigned int nr_sdt = cfg->nr_cpus ? 2 : 1;	/* FADT, MADT */
	uint32_t dsdt_len, rsdt_len = ACPI_HDR_LEN + 4 * nr_sdt,
		 xsdt_len = ACPI_HDR_LEN + 8 * nr_sdt, next;
	uint32_t sdt[2];
	uint8_t *p;

	memset(t, 0, sizeof(*t));
	if (cfg->nr_cpus > ACPI_MAX_CPUS ||
	    (has_pirq(cfg) && !(cfg->pirq_irq[0] && cfg->pirq_irq[1] &&
				cfg->pirq_irq[2] && cfg->pirq_irq[3]))) {
		errno = EINVAL;
		return -1;
	}
	if (build_dsdt_aml(cfg, &dsdt)) {
		aml_free(&dsdt);
		errno = ENOMEM;
		return -1;
	}
	dsdt_len = ACPI_HDR_LEN + (uint32_t)dsdt.len;

	t->facs_off = 0;
	t->dsdt_off = FACS_LEN;
	t->fadt_off = align_up(t->dsdt_off + dsdt_len, 8);
	next = align_up(t->fadt_off + FADT_LEN, 8);
	if (cfg->nr_cpus) {
		t->madt_off = next;
		next = align_up(t->madt_off + madt_len(cfg->nr_cpus), 8);
	}
	t->rsdt_off = next;
	t->xsdt_off = align_up(t->rsdt_off + rsdt_len, 8);
	t->blob_len = t->xsdt_off + xsdt_len;
	t->blob = calloc(1, t->blob_len);
	if (!t->blob) {
		aml_free(&dsdt);
		errno = ENOMEM;
		return -1;
	}

	p = t->blob + t->facs_off;
	memcpy(p, "FACS", 4);
	put_le(p + 4, FACS_LEN, 4);
	p[32] = 1;	/* version */

	p = t->blob + t->dsdt_off;
	acpi_header(p, "DSDT", dsdt_len, 2);
	memcpy(p + ACPI_HDR_LEN, dsdt.b, dsdt.len);
	aml_free(&dsdt);
	add_checksum(t, 0, t->dsdt_off + 9, t->dsdt_off, dsdt_len);

	build_fadt(cfg, t);
	add_checksum(t, 0, t->fadt_off + 9, t->fadt_off, FADT_LEN);
	sdt[0] = t->fadt_off;

	if (cfg->nr_cpus) {
		build_madt(cfg, t->blob + t->madt_off);
		add_checksum(t, 0, t->madt_off + 9, t->madt_off,
			     madt_len(cfg->nr_cpus));
		sdt[1] = t->madt_off;
	}

	p = t->blob + t->rsdt_off;
	acpi_header(p, "RSDT", rsdt_len, 1);
	for (unsigned int i = 0; i < nr_sdt; i++) {
		put_le(p + ACPI_HDR_LEN + 4 * i, sdt[i], 4);
		add_pointer(t, 0, t->rsdt_off + ACPI_HDR_LEN + 4 * i, 4);
	}
	add_checksum(t, 0, t->rsdt_off + 9, t->rsdt_off, rsdt_len);

	p = t->blob + t->xsdt_off;
	acpi_header(p, "XSDT", xsdt_len, 1);
	for (unsigned int i = 0; i < nr_sdt; i++) {
		put_le(p + ACPI_HDR_LEN + 8 * i, sdt[i], 8);
		add_pointer(t, 0, t->xsdt_off + ACPI_HDR_LEN + 8 * i, 8);
	}
	add_checksum(t, 0, t->xsdt_off + 9, t->xsdt_off, xsdt_len);

	p = t->rsdp;
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, "KVMLNC", 6);
	p[15] = 2;	/* revision: ACPI 2.0+, XSDT present */
	put_le(p + 16, t->rsdt_off, 4);
	put_le(p + 20, ACPI_RSDP_LEN, 4);
	put_le(p + 24, t->xsdt_off, 8);
	add_pointer(t, 1, 16, 4);
	add_pointer(t, 1, 24, 8);
	add_checksum(t, 1, 8, 0, 20);
	add_checksum(t, 1, 32, 0, ACPI_RSDP_LEN);

	for (unsigned int i = 0; i < t->nsum; i++) {
		const struct acpi_checksum *c = &t->sum[i];
		uint8_t *base = c->in_rsdp ? t->rsdp : t->blob;

		base[c->field] = 0;
		base[c->field] = acpi_checksum(base + c->start, c->len);
	}
	return 0;
}

void acpi_tables_free(struct acpi_tables *t)
{
	free(t->blob);
	memset(t, 0, sizeof(*t));
}

void acpi_tables_place(struct acpi_tables *t, uint64_t blob_gpa)
{
	for (unsigned int i = 0; i < t->nptr; i++) {
		const struct acpi_pointer *p = &t->ptr[i];
		uint8_t *f = (p->in_rsdp ? t->rsdp : t->blob) + p->offset;

		put_le(f, get_le(f, p->size) + blob_gpa, p->size);
	}
	for (unsigned int i = 0; i < t->nsum; i++) {
		const struct acpi_checksum *c = &t->sum[i];
		uint8_t *base = c->in_rsdp ? t->rsdp : t->blob;

		base[c->field] = 0;
		base[c->field] = acpi_checksum(base + c->start, c->len);
	}
}

static void loader_name(uint8_t *p, const char *name)
{
	strncpy((char *)p, name, ACPI_LOADER_FILESZ - 1);
}

int acpi_tables_loader_script(const struct acpi_tables *t, uint8_t **script,
			      size_t *len)
{
	size_t n = 2 + t->nptr + t->nsum;
	uint8_t *s = calloc(n, ACPI_LOADER_ENTRY_LEN), *e;

	if (!s) {
		errno = ENOMEM;
		return -1;
	}
	e = s;
	/* The RSDP must sit where the OS scans for it: the F segment. */
	put_le(e, ACPI_LOADER_ALLOCATE, 4);
	loader_name(e + 4, ACPI_FILE_RSDP);
	put_le(e + 4 + ACPI_LOADER_FILESZ, 16, 4);
	e[4 + ACPI_LOADER_FILESZ + 4] = ACPI_LOADER_ZONE_FSEG;
	e += ACPI_LOADER_ENTRY_LEN;

	put_le(e, ACPI_LOADER_ALLOCATE, 4);
	loader_name(e + 4, ACPI_FILE_TABLES);
	put_le(e + 4 + ACPI_LOADER_FILESZ, ACPI_TABLES_ALIGN, 4);
	e[4 + ACPI_LOADER_FILESZ + 4] = ACPI_LOADER_ZONE_HIGH;
	e += ACPI_LOADER_ENTRY_LEN;

	for (unsigned int i = 0; i < t->nptr; i++, e += ACPI_LOADER_ENTRY_LEN) {
		const struct acpi_pointer *p = &t->ptr[i];

		put_le(e, ACPI_LOADER_ADD_POINTER, 4);
		loader_name(e + 4, p->in_rsdp ? ACPI_FILE_RSDP : ACPI_FILE_TABLES);
		loader_name(e + 4 + ACPI_LOADER_FILESZ, ACPI_FILE_TABLES);
		put_le(e + 4 + 2 * ACPI_LOADER_FILESZ, p->offset, 4);
		e[4 + 2 * ACPI_LOADER_FILESZ + 4] = p->size;
	}
	for (unsigned int i = 0; i < t->nsum; i++, e += ACPI_LOADER_ENTRY_LEN) {
		const struct acpi_checksum *c = &t->sum[i];

		put_le(e, ACPI_LOADER_ADD_CHECKSUM, 4);
		loader_name(e + 4, c->in_rsdp ? ACPI_FILE_RSDP : ACPI_FILE_TABLES);
		put_le(e + 4 + ACPI_LOADER_FILESZ, c->field, 4);
		put_le(e + 8 + ACPI_LOADER_FILESZ, c->start, 4);
		put_le(e + 12 + ACPI_LOADER_FILESZ, c->len, 4);
	}
	*script = s;
	*len = n * ACPI_LOADER_ENTRY_LEN;
	return 0;
}
