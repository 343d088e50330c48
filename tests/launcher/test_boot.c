/* tests/launcher/test_boot.c: arch code without a VM: RAM layout, e820 map, bzImage checks, initrd placement. */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "kernel.h"
#include "arch/e820.h"
#include "arch/layout.h"
#include "arch/linux.h"

#define KERNEL test_kernel()

int main(void)
{
	struct vm_config cfg;
	struct cfg_slot ram[LAYOUT_MAX_RAM];
	struct e820_entry e[E820_MAX];
	struct linux_image li;
	uint64_t addr;
	unsigned int n, ne;
	char err[256];

	tap_plan(21);

	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = 256 * MiB;
	n = layout_ram(&cfg, ram);
	tap_ok(n == 1 && ram[0].base == 0 && ram[0].size == 256 * MiB, "256M: one range from 0");
	ne = e820_build(ram, n, e, E820_MAX);
	tap_ok(ne == 4, "e820: 4 entries (got %u)", ne);
	tap_ok(e[0].addr == 0 && e[0].size == EBDA_START && e[0].type == E820_RAM, "e820: conventional memory up to the EBDA");
	tap_ok(e[1].addr == EBDA_START && e[1].type == E820_RESERVED, "e820: EBDA reserved");
	tap_ok(e[2].addr == 0xf0000 && e[2].type == E820_RESERVED, "e820: BIOS area reserved");
	tap_ok(e[3].addr == MiB && e[3].addr + e[3].size == 256 * MiB && e[3].type == E820_RAM, "e820: RAM from 1M to the end");

	cfg.ram_size = 4 * GiB;
	n = layout_ram(&cfg, ram);
	tap_ok(n == 2 && ram[0].size == PCI_HOLE_START && ram[1].base == 4 * GiB &&
	       ram[1].size == 4 * GiB - PCI_HOLE_START, "4G: 3G low, the rest above 4G");
	tap_ok(layout_ram_from(ram, n, MiB) == PCI_HOLE_START - MiB, "contiguous RAM from 1M stops at the hole");

	cfg.explicit_slots = true;
	cfg.nr_slots = 2;
	cfg.slots[0] = (struct cfg_slot){ 0, 640 * KiB };
	cfg.slots[1] = (struct cfg_slot){ MiB, 255 * MiB };
	n = layout_ram(&cfg, ram);
	tap_ok(n == 2 && layout_ram_from(ram, n, 0) == 640 * KiB, "explicit slots kept as given");

	/* a display: the VGA decodes 0xa0000-0xbffff, RAM leaves it */
	cfg.display = CFG_DISPLAY_HEADLESS;
	n = layout_ram(&cfg, ram);
	tap_ok(n == 2 && ram[0].size == 640 * KiB && ram[1].base == MiB,
	       "display: slots clear of the window stay as given");
	cfg.explicit_slots = false;
	cfg.ram_size = 4 * GiB;
	n = layout_ram(&cfg, ram);
	tap_ok(n == 3 && ram[0].base == 0 && ram[0].size == LEGACY_VGA_START &&
	       ram[1].base == 4 * GiB && ram[2].base == LEGACY_VGA_END &&
	       ram[2].size == PCI_HOLE_START - LEGACY_VGA_END,
	       "display: low RAM split around 0xa0000-0xbffff, a range of its own above");
	ne = e820_build(ram, n, e, E820_MAX);
	tap_ok(ne == 5 && e[0].size == EBDA_START && e[3].addr == MiB &&
	       e[3].addr + e[3].size == PCI_HOLE_START, "display: the e820 map is the same as without");
	cfg.explicit_slots = true;
	cfg.nr_slots = 3;
	cfg.slots[0] = (struct cfg_slot){ 0, 0xb0000 };
	cfg.slots[1] = (struct cfg_slot){ 0xb0000, 0x8000 };
	cfg.slots[2] = (struct cfg_slot){ 0xb8000, 0x48000 };
	n = layout_ram(&cfg, ram);
	tap_ok(n == 2 && ram[0].size == LEGACY_VGA_START && ram[1].base == LEGACY_VGA_END &&
	       ram[1].size == 0x40000, "display: slots overlapping the window are trimmed or dropped");
	cfg.display = CFG_DISPLAY_NONE;
	cfg.explicit_slots = false;

	tap_ok(linux_probe("/etc/hostname", &li, err, sizeof(err)) == -1 && strstr(err, "bzImage"),
	       "a text file is not a bzImage: %s", err);
	tap_ok(linux_probe("/nonexistent", &li, err, sizeof(err)) == -1, "missing kernel refused");
	if (linux_probe(KERNEL, &li, err, sizeof(err)) == 0) {
		tap_ok(li.version >= 0x020f, "Debian kernel: boot protocol 2.%02x", li.version & 0xff);
		tap_ok(li.entry64, "Debian kernel: 64-bit entry");
		tap_ok(li.init_size > 16 * MiB, "init_size %u MiB", li.init_size >> 20);
		cfg.explicit_slots = false;
		cfg.ram_size = 256 * MiB;
		n = layout_ram(&cfg, ram);
		tap_ok(linux_place_initrd(&li, ram, n, 8 * MiB, &addr, err, sizeof(err)) == 0 &&
		       addr + 8 * MiB <= 256 * MiB && addr > 64 * MiB && !(addr & 0xfff),
		       "8M initrd at the top of RAM (0x%llx)", (unsigned long long)addr);
		tap_ok(linux_place_initrd(&li, ram, n, 250 * MiB, &addr, err, sizeof(err)) == -1 &&
		       strstr(err, "does not fit"), "250M initrd does not fit in 256M: %s", err);
		cfg.ram_size = 16 * MiB;
		n = layout_ram(&cfg, ram);
		tap_ok(linux_place_initrd(&li, ram, n, 0, &addr, err, sizeof(err)) == -1 &&
		       strstr(err, "needs"), "kernel alone does not fit 16M: %s", err);
	} else {
		for (n = 0; n < 6; n++)
			tap_skip("no Debian kernel", "Debian kernel checks");
	}
	return tap_done();
}
