/* launcher/arch/linux.h: the Linux x86 boot protocol (bzImage, boot_params). */
#ifndef ARCH_LINUX_H
#define ARCH_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/* What the setup header of a bzImage says, checked. */
struct linux_image {
	uint16_t version;		/* boot protocol, e.g. 0x020f */
	unsigned int setup_sects;
	uint32_t init_size;		/* memory the kernel needs from its load address */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	uint32_t kernel_alignment;
	bool entry64;			/* XLF_KERNEL_64: 64-bit entry at +0x200 */
	uint64_t file_size;
};

/*
 * Check that path is a bzImage we can boot (protocol 2.06+, loads high).
 * On failure returns -1 with a reason in err.
 */
int linux_probe(const char *path, struct linux_image *li, char *err,
		size_t errlen);

/*
 * Where the initrd goes: the highest page-aligned address below the
 * kernel's limit in the RAM run from 1 MiB, above the kernel's memory.
 * Returns 0 and *addr, or -1 with a reason in err.
 */
int linux_place_initrd(const struct linux_image *li,
		       const struct cfg_slot *ram, unsigned int nr_ram,
		       uint64_t initrd_size, uint64_t *addr, char *err,
		       size_t errlen);

struct e820_entry;

/* Guest memory access for the loader. */
struct linux_load_mem {
	void *(*map)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/*
 * Load kernel, initrd, command line and boot_params into guest memory.
 * Fills *entry (rip) and whether it is a 64-bit entry. -1 with err.
 */
int linux_load(const struct vm_config *cfg, const struct linux_load_mem *mem,
	       const struct cfg_slot *ram, unsigned int nr_ram,
	       const struct e820_entry *e820, unsigned int nr_e820,
	       uint64_t *entry, bool *entry64, char *err, size_t errlen);

/*
 * Unpack the bzImage at path into the kernel cache (kvm-launch
 * --cache-kernel): 0 when it is there, -1 with err.
 */
int linux_cache_kernel(const char *path, char *err, size_t errlen);

#endif
