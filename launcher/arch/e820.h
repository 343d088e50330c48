/* launcher/arch/e820.h: building the e820 map from the RAM ranges. */
#ifndef ARCH_E820_H
#define ARCH_E820_H

#include "config.h"
#include "vm.h"

#define E820_MAX	32

unsigned int e820_build(const struct cfg_slot *ram, unsigned int nr_ram,
			struct e820_entry *out, unsigned int max);

#endif
