/* tests/launcher/test_mptable.c: the MP table (floating pointer, config table, entries) read the way Linux's mpparse does. */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "tap.h"
#include "hw/acpi_tables.h"
#include "hw/mptable.h"

#define GPA		0xf0000u

static const uint8_t pirq[4] = { 10, 10, 11, 11 };

/* What a walk of the config table's entries found. */
struct walk {
	int ok;			/* every entry known, in type order, ending at length */
	unsigned int entries;
	unsigned int n[5];	/* per type */
	unsigned int cpu_ok;	/* processors enabled, version 0x14, APIC ID = index */
	unsigned int bsp;	/* processors flagged BSP */
	int bsp_is_0;
	int buses_ok, ioapic_ok;
	unsigned int isa, isa_ok, isa_to_pin2, pci, pci_ok;
	int isa_irq2, lint_ok;
};

static void walk_table(const uint8_t *mpc, struct walk *w)
{
	size_t len = le(mpc + 4, 2), off = MPTABLE_HDR_LEN;
	int last = 0;

	memset(w, 0, sizeof(*w));
	w->ok = 1;
	while (off < len) {
		const uint8_t *e = mpc + off;
		unsigned int type = e[0];

		if (type > MPTABLE_LINTSRC || (int)type < last) {
			w->ok = 0;
			return;
		}
		last = (int)type;
		w->n[type]++;
		w->entries++;
		switch (type) {
		case MPTABLE_CPU:
			if ((e[3] & 1) && e[2] == 0x14 && e[1] == w->n[0] - 1)
				w->cpu_ok++;
			if (e[3] & 2) {
				w->bsp++;
				w->bsp_is_0 = e[1] == 0;
			}
			off += MPTABLE_CPU_LEN;
			break;
		case MPTABLE_BUS:
			if (w->n[1] == 1)
				w->buses_ok = e[1] == MPTABLE_BUS_PCI && !memcmp(e + 2, "PCI   ", 6);
			else
				w->buses_ok &= e[1] == MPTABLE_BUS_ISA && !memcmp(e + 2, "ISA   ", 6);
			off += MPTABLE_ENTRY_LEN;
			break;
		case MPTABLE_IOAPIC:
			w->ioapic_ok = e[1] == ACPI_IOAPIC_ID && (e[3] & 1) &&
				       le(e + 4, 4) == ACPI_IOAPIC_ADDR;
			off += MPTABLE_ENTRY_LEN;
			break;
		case MPTABLE_INTSRC:
			if (e[4] == MPTABLE_BUS_ISA) {
				w->isa++;
				if (e[5] == 2)
					w->isa_irq2 = 1;
				if (e[7] == 2)
					w->isa_to_pin2++;
				if (e[1] == 0 && le(e + 2, 2) == 0 && e[6] == ACPI_IOAPIC_ID &&
				    e[7] == (e[5] ? e[5] : 2))
					w->isa_ok++;
			} else if (e[4] == MPTABLE_BUS_PCI) {
				unsigned int slot = e[5] >> 2, pin = e[5] & 3;

				w->pci++;
				if (e[1] == 0 && le(e + 2, 2) == 0x0d && e[6] == ACPI_IOAPIC_ID &&
				    slot >= 1 && e[7] == pirq[(slot - 1 + pin) % 4])
					w->pci_ok++;
			}
			off += MPTABLE_ENTRY_LEN;
			break;
		case MPTABLE_LINTSRC:
			if (w->n[4] == 1)
				w->lint_ok = e[1] == 3 && e[7] == 0;
			else
				w->lint_ok &= e[1] == 1 && e[6] == 0xff && e[7] == 1;
			off += MPTABLE_ENTRY_LEN;
			break;
		}
	}
	if (off != len)
		w->ok = 0;
}

static void test_four_cpus(void)
{
	static uint8_t buf[65536];
	const uint8_t *mpf = buf, *mpc = buf + MPTABLE_FLOAT_LEN;
	struct walk w;
	int n;

	memset(buf, 0xa5, sizeof(buf));
	n = mptable_build(buf, sizeof(buf), GPA, 4, pirq);
	tap_ok(n > MPTABLE_FLOAT_LEN + MPTABLE_HDR_LEN, "4 CPUs: built, %d bytes", n);
	tap_ok(!memcmp(mpf, "_MP_", 4) && le(mpf + 4, 4) == GPA + 16 &&
	       mpf[8] == 1 && mpf[9] == 4 && sums_zero(mpf, 16),
	       "floating pointer: signature, table right behind, length 1, rev 1.4, checksum");
	tap_ok(mpf[11] == 0 && mpf[12] == 0,
	       "floating pointer: a table follows (no default config), no IMCR");
	tap_ok(!memcmp(mpc, "PCMP", 4) && mpc[6] == 4 &&
	       le(mpc + 4, 2) == (uint64_t)n - MPTABLE_FLOAT_LEN &&
	       sums_zero(mpc, le(mpc + 4, 2)),
	       "config table: signature, rev 1.4, length, checksum");
	tap_ok(le(mpc + 36, 4) == ACPI_LAPIC_ADDR && le(mpc + 40, 2) == 0,
	       "config table: local APIC at 0xfee00000, no extended table");

	walk_table(mpc, &w);
	tap_ok(w.ok && w.entries == le(mpc + 34, 2),
	       "entries in type order, ending at the length, as many as counted (%u)",
	       w.entries);
	tap_ok(w.n[0] == 4 && w.cpu_ok == 4 && w.bsp == 1 && w.bsp_is_0,
	       "4 processors, APIC IDs 0-3, enabled, version 0x14, CPU 0 the BSP");
	tap_ok(w.n[1] == 2 && w.buses_ok, "buses: PCI 0, ISA 1");
	tap_ok(w.n[2] == 1 && w.ioapic_ok, "one IOAPIC: ID 0, enabled, 0xfec00000");
	tap_ok(w.isa == 13 && w.isa_ok == 13 && !w.isa_irq2 && w.isa_to_pin2 == 1,
	       "ISA: IRQ0 on pin 2, the rest on their own pin, no IRQ2, 10 and 11 left to PCI");
	tap_ok(w.pci == 31 * 4 && w.pci_ok == 31 * 4,
	       "PCI: slots 1-31 INTA-D on PIRQ (slot - 1 + pin) %% 4, level, active high");
	tap_ok(w.n[4] == 2 && w.lint_ok, "ExtINT on the BSP's LINT0, NMI on every LINT1");
	tap_ok(buf[n] == 0xa5, "nothing written past the returned length");
}

static void test_sizes(void)
{
	static uint8_t buf[65536];
	struct walk w;
	int n, n1, n255;

	n = mptable_build(buf, sizeof(buf), GPA, 2, NULL);
	walk_table(buf + MPTABLE_FLOAT_LEN, &w);
	tap_ok(n > 0 && w.ok && w.pci == 0 && w.isa == 15 && w.isa_ok == 15 &&
	       sums_zero(buf, 16) && sums_zero(buf + 16, (size_t)n - 16),
	       "without PIRQ routing: no PCI entries, ISA IRQs 0-15 but 2");

	n1 = mptable_build(buf, sizeof(buf), GPA, 1, pirq);
	walk_table(buf + MPTABLE_FLOAT_LEN, &w);
	tap_ok(n1 > 0 && w.ok && w.n[0] == 1 && w.cpu_ok == 1 && w.bsp_is_0 &&
	       sums_zero(buf + 16, (size_t)n1 - 16), "1 CPU: one processor, the BSP");

	n255 = mptable_build(buf, sizeof(buf), GPA, MPTABLE_MAX_CPUS, pirq);
	walk_table(buf + MPTABLE_FLOAT_LEN, &w);
	tap_ok(n255 == n1 + 254 * MPTABLE_CPU_LEN && w.ok && w.cpu_ok == 255 &&
	       w.bsp == 1 && sums_zero(buf + 16, (size_t)n255 - 16) &&
	       GPA + (unsigned int)n255 <= 0x100000,
	       "255 CPUs: APIC IDs 0-254, and the table still fits below 1 MiB");
}

static void test_bad_input(void)
{
	static uint8_t buf[65536];
	int n = mptable_build(buf, sizeof(buf), GPA, 4, pirq);

	errno = 0;
	tap_ok(mptable_build(buf, (size_t)n - 1, GPA, 4, pirq) == -1 && errno == ENOSPC,
	       "a buffer one byte short: -1, ENOSPC");
	tap_ok(mptable_build(buf, 8, GPA, 4, pirq) == -1,
	       "a buffer smaller than the floating pointer: -1");
	errno = 0;
	tap_ok(mptable_build(buf, sizeof(buf), GPA, 0, pirq) == -1 && errno == EINVAL,
	       "0 CPUs refused");
	errno = 0;
	tap_ok(mptable_build(buf, sizeof(buf), GPA, MPTABLE_MAX_CPUS + 1, pirq) == -1 &&
	       errno == EINVAL, "256 CPUs refused (APIC ID 255 is the broadcast)");
	tap_ok(mptable_build(buf, sizeof(buf), GPA + 8, 4, pirq) == -1,
	       "a floating pointer off a 16-byte boundary refused");
}

int main(void)
{
	tap_plan(21);
	test_four_cpus();
	test_sizes();
	test_bad_input();
	return tap_done();
}
