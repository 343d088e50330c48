/* launcher/arch/layout.h: where the PC machine puts things in guest memory. */
#ifndef ARCH_LAYOUT_H
#define ARCH_LAYOUT_H

#include <stdint.h>

#include "config.h"

#define KiB			(1ULL << 10)
#define MiB			(1ULL << 20)
#define GiB			(1ULL << 30)

/* "memory = SIZE" puts RAM below this and the rest above 4 GiB (PCI hole). */
#define PCI_HOLE_START		0xc0000000ULL
#define HIGH_RAM_START		(4 * GiB)

/* Legacy areas kept out of the e820 RAM ranges. */
#define EBDA_START		0x9fc00ULL
#define BIOS_AREA_END		0x100000ULL
/* The VGA's window, not RAM when the machine has a display. */
#define LEGACY_VGA_START	0xa0000ULL
#define LEGACY_VGA_END		0xc0000ULL

/* Direct Linux boot: fixed low-memory spots (all below the EBDA). */
#define BOOT_GDT_ADDR		0x500ULL
#define BOOT_PARAMS_ADDR	0x7000ULL
#define BOOT_PML4_ADDR		0x9000ULL	/* + PDPT + 4 PDs: 0x9000-0xefff */
#define BOOT_CMDLINE_ADDR	0x20000ULL
#define BOOT_CMDLINE_MAX	0x10000ULL
#define KERNEL_LOAD_ADDR	0x100000ULL

/*
 * The guest's RAM ranges from the VM file: the PC split of "memory" or the
 * explicit slots, less the VGA window when there is a display. Fills out
 * (LAYOUT_MAX_RAM entries), returns the count.
 */
#define LAYOUT_MAX_RAM		(CFG_MAX_SLOTS + 1)
unsigned int layout_ram(const struct vm_config *cfg, struct cfg_slot *out);
/* Length of RAM that is contiguous from gpa (0 if gpa is not RAM). */
uint64_t layout_ram_from(const struct cfg_slot *ram, unsigned int n,
			 uint64_t gpa);

#endif
