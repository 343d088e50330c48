/* launcher/arch/vmlinux.h: loading an unpacked x86-64 kernel (vmlinux ELF + relocations). */
#ifndef ARCH_VMLINUX_H
#define ARCH_VMLINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * What a bzImage's payload unpacks to: the kernel's ELF image, followed (for
 * a kernel that can move itself, CONFIG_RANDOMIZE_BASE) by its relocation
 * table, read backwards from the end: 32-bit entries, 0, inverse 32-bit
 * entries, 0, 64-bit entries, 0. Each entry is a link-time kernel address
 * (sign-extended from 32 bits) of a field to adjust by the virtual offset.
 */
struct vmlinux {
	const uint8_t *data;
	size_t len;
	uint64_t link_base;	/* lowest segment's physical address (LOAD_PHYSICAL_ADDR) */
	uint64_t span;		/* bytes from link_base to the end of the last segment */
	uint64_t entry;		/* physical entry (startup_64) at link time */
	unsigned int nr_load;	/* PT_LOAD segments */
	size_t relocs;		/* offset of the relocation table, len if none */
	size_t nr_relocs;	/* its 32-bit words, terminators included */
	/*
	 * When the data is a mapped file: its fd and the data's offset in it.
	 * Segments are then read from the file, its holes skipped, rather than
	 * copied through the mapping (-1: copy from data).
	 */
	int fd;
	uint64_t fd_base;
};

/* Check data as an x86-64 kernel image; -1 with the reason in err. */
int vmlinux_parse(const uint8_t *data, size_t len, struct vmlinux *vl,
		  char *err, size_t errlen);

/* Whether it carries a relocation table (can run at any virtual offset). */
static inline bool vmlinux_relocatable(const struct vmlinux *vl)
{
	return vl->relocs < vl->len;
}

/*
 * Where the kernel goes: a physical address aligned to align (a power of
 * two), from the link base up, with the whole span inside one RAM range and
 * below 4 GiB (the boot page tables' identity map), clear of [avoid,
 * avoid_end). random: any such address, chosen by the 64-bit seed
 * (KASLR); otherwise the lowest. -1 if none fits.
 */
int vmlinux_place(const struct vmlinux *vl, const struct cfg_slot *ram,
		  unsigned int nr_ram, uint64_t align, uint64_t avoid,
		  uint64_t avoid_end, bool random, uint64_t seed,
		  uint64_t *phys);

/*
 * The kernel's virtual offset from its link address under KASLR: a
 * multiple of align that keeps the image inside the kernel's 1 GiB text
 * mapping, chosen by seed.
 */
uint64_t vmlinux_virt_offset(const struct vmlinux *vl, uint64_t align,
			     uint64_t seed);

/*
 * Copy the segments to dst (host view of the span at its physical home,
 * zeroed: fresh guest RAM, so that what the file does not hold stays 0),
 * and move every relocated field by delta (the virtual offset). -1 with err on a relocation outside the
 * image (dst is then unusable).
 */
int vmlinux_load(const struct vmlinux *vl, uint8_t *dst, uint64_t delta,
		 char *err, size_t errlen);

/* Whether the kernel command line turns KASLR off ("nokaslr"). */
bool vmlinux_nokaslr(const char *cmdline);

#endif
