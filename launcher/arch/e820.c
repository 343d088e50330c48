/* launcher/arch/e820.c: the BIOS memory map the guest is told about. */
#include "arch/e820.h"
#include "arch/layout.h"

static unsigned int add(struct e820_entry *out, unsigned int n,
			unsigned int max, uint64_t addr, uint64_t end,
			uint32_t type)
{
	if (end <= addr || n >= max)
		return n;
	out[n++] = (struct e820_entry){ addr, end - addr, type };
	return n;
}

unsigned int e820_build(const struct cfg_slot *ram, unsigned int nr_ram,
			struct e820_entry *out, unsigned int max)
{
	unsigned int i, j, n = 0;

	/* RAM, minus the EBDA and BIOS area that PC software expects. */
	for (i = 0; i < nr_ram; i++) {
		uint64_t a = ram[i].base, e = ram[i].base + ram[i].size;

		if (a < EBDA_START)
			n = add(out, n, max, a, e < EBDA_START ? e : EBDA_START, E820_RAM);
		if (e > BIOS_AREA_END)
			n = add(out, n, max, a > BIOS_AREA_END ? a : BIOS_AREA_END, e, E820_RAM);
	}
	n = add(out, n, max, EBDA_START, 0xa0000, E820_RESERVED);
	n = add(out, n, max, 0xf0000, BIOS_AREA_END, E820_RESERVED);

	/* Sorted by address, which Linux does not need but people reading it do. */
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && out[j - 1].addr > out[j].addr; j--) {
			struct e820_entry t = out[j];

			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}
