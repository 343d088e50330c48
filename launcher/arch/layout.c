/* launcher/arch/layout.c: guest RAM ranges of the PC machine. */
#include "arch/layout.h"

unsigned int layout_ram(const struct vm_config *cfg, struct cfg_slot *out)
{
	unsigned int i;

	if (cfg->explicit_slots) {
		for (i = 0; i < cfg->nr_slots; i++)
			out[i] = cfg->slots[i];
		return cfg->nr_slots;
	}
	if (cfg->ram_size <= PCI_HOLE_START) {
		out[0] = (struct cfg_slot){ 0, cfg->ram_size };
		return 1;
	}
	out[0] = (struct cfg_slot){ 0, PCI_HOLE_START };
	out[1] = (struct cfg_slot){ HIGH_RAM_START,
				    cfg->ram_size - PCI_HOLE_START };
	return 2;
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
