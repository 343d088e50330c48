/* launcher/arch/layout.c: guest RAM ranges of the PC machine. */
#include "arch/layout.h"

/*
 * With a display the VGA decodes 0xa0000-0xbffff itself: the range that
 * covers the window loses it (split in two when the window is inside).
 * Ranges do not overlap, so at most one is split: n + 1 ranges at most.
 */
static unsigned int punch_vga_window(struct cfg_slot *out, unsigned int n)
{
	unsigned int i, count = n;

	for (i = 0; i < n; i++) {
		uint64_t base = out[i].base, end = base + out[i].size;

		if (end <= LEGACY_VGA_START || base >= LEGACY_VGA_END)
			continue;
		if (base < LEGACY_VGA_START) {
			out[i].size = LEGACY_VGA_START - base;
			if (end > LEGACY_VGA_END)
				out[count++] = (struct cfg_slot){ LEGACY_VGA_END, end - LEGACY_VGA_END };
		} else if (end > LEGACY_VGA_END) {
			out[i] = (struct cfg_slot){ LEGACY_VGA_END, end - LEGACY_VGA_END };
		} else {
			out[i].size = 0;	/* all inside the window */
		}
	}
	/* drop emptied ranges, keep the order */
	for (i = n = 0; i < count; i++)
		if (out[i].size)
			out[n++] = out[i];
	return n;
}

unsigned int layout_ram(const struct vm_config *cfg, struct cfg_slot *out)
{
	unsigned int i, n;

	if (cfg->explicit_slots) {
		for (i = 0; i < cfg->nr_slots; i++)
			out[i] = cfg->slots[i];
		n = cfg->nr_slots;
	} else if (cfg->ram_size <= PCI_HOLE_START) {
		out[0] = (struct cfg_slot){ 0, cfg->ram_size };
		n = 1;
	} else {
		out[0] = (struct cfg_slot){ 0, PCI_HOLE_START };
		out[1] = (struct cfg_slot){ HIGH_RAM_START,
					    cfg->ram_size - PCI_HOLE_START };
		n = 2;
	}
	return cfg->display != CFG_DISPLAY_NONE ? punch_vga_window(out, n) : n;
}

uint64_t layout_ram_from(const struct cfg_slot *ram, unsigned int n,
			 uint64_t gpa)
{
	uint64_t end = gpa;
	unsigned int i;
	int grew = 1;

	/* Slots may be adjacent: keep extending while one continues the run. */
	while (grew) {
		grew = 0;
		for (i = 0; i < n; i++) {
			if (ram[i].base <= end && end < ram[i].base + ram[i].size) {
				end = ram[i].base + ram[i].size;
				grew = 1;
			}
		}
	}
	return end - gpa;
}
