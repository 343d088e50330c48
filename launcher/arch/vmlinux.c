/* launcher/arch/vmlinux.c: placing, copying and relocating an unpacked x86-64 kernel. */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arch/layout.h"
#include "arch/vmlinux.h"

/* The kernel's text mapping starts here; its image must fit in 1 GiB of it. */
#define START_KERNEL_MAP	0xffffffff80000000ULL
#define KERNEL_IMAGE_SIZE	(1ULL << 30)
#define IDENTITY_MAP_END	(4ULL << 30)
#define MAX_LOAD		16

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void fail(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "unpacked kernel: %s", what);
}

/* The ELF's own extent: headers, segment contents, section headers. */
static uint64_t elf_end(const Elf64_Ehdr *eh, const uint8_t *data)
{
	uint64_t end = eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	unsigned int i;

	if (eh->e_shoff && eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize > end)
		end = eh->e_shoff + (uint64_t)eh->e_shnum * eh->e_shentsize;
	for (i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, data + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	return end;
}

/*
 * The relocation table ends the data: three lists read from the end, each
 * closed by a zero word. Returns its offset (4-byte words), or len when
 * there is none, or (size_t)-1 if the lists run into the ELF.
 */
static size_t find_relocs(const uint8_t *data, size_t len, uint64_t elf_len,
			  size_t *words)
{
	size_t pos = len, zeros = 0;

	if (len <= elf_len)
		return len;
	if ((len - elf_len) % 4)
		return (size_t)-1;
	while (zeros < 3) {
		if (pos < elf_len + 4)
			return (size_t)-1;
		pos -= 4;
		if (!rd32(data + pos))
			zeros++;
	}
	*words = (len - pos) / 4;
	return pos;
}

int vmlinux_parse(const uint8_t *data, size_t len, struct vmlinux *vl,
		  char *err, size_t errlen)
{
	uint64_t lo = UINT64_MAX, hi = 0, end;
	Elf64_Ehdr eh;
	unsigned int i;

	memset(vl, 0, sizeof(*vl));
	if (len < sizeof(eh) || memcmp(data, ELFMAG, SELFMAG)) {
		fail(err, errlen, "not an ELF image");
		return -1;
	}
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC) {
		fail(err, errlen, "not an x86-64 executable");
		return -1;
	}
	if (eh.e_phentsize != sizeof(Elf64_Phdr) || !eh.e_phnum ||
	    eh.e_phoff > len || (len - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum) {
		fail(err, errlen, "program headers outside the image");
		return -1;
	}
	if (eh.e_shoff && (eh.e_shoff > len ||
	    (uint64_t)eh.e_shnum * eh.e_shentsize > len - eh.e_shoff)) {
		fail(err, errlen, "section headers outside the image");
		return -1;
	}
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD)
			continue;
		if (ph.p_offset > len || ph.p_filesz > len - ph.p_offset ||
		    ph.p_filesz > ph.p_memsz) {
			fail(err, errlen, "a segment lies outside the image");
			return -1;
		}
		if (ph.p_paddr >= IDENTITY_MAP_END || ph.p_memsz > IDENTITY_MAP_END - ph.p_paddr) {
			fail(err, errlen, "a segment lies above 4 GiB");
			return -1;
		}
		if (++vl->nr_load > MAX_LOAD) {
			fail(err, errlen, "too many segments");
			return -1;
		}
		if (ph.p_paddr < lo)
			lo = ph.p_paddr;
		if (ph.p_paddr + ph.p_memsz > hi)
			hi = ph.p_paddr + ph.p_memsz;
	}
	if (!vl->nr_load || hi <= lo) {
		fail(err, errlen, "no loadable segment");
		return -1;
	}
	if (eh.e_entry < lo || eh.e_entry >= hi) {
		fail(err, errlen, "entry point outside the image");
		return -1;
	}
	if (hi - lo > KERNEL_IMAGE_SIZE) {
		fail(err, errlen, "image larger than 1 GiB");
		return -1;
	}
	end = elf_end(&eh, data);
	vl->relocs = find_relocs(data, len, end, &vl->nr_relocs);
	if (vl->relocs == (size_t)-1) {
		fail(err, errlen, "malformed relocation table");
		return -1;
	}
	vl->data = data;
	vl->len = len;
	vl->fd = -1;
	vl->link_base = lo;
	vl->span = hi - lo;
	vl->entry = eh.e_entry;
	return 0;
}

int vmlinux_place(const struct vmlinux *vl, const struct cfg_slot *ram,
		  unsigned int nr_ram, uint64_t align, uint64_t avoid,
		  uint64_t avoid_end, bool random, uint64_t seed,
		  uint64_t *phys)
{
	uint64_t count = 0, pick = 0, p;
	unsigned int pass, i;

	if (!align || (align & (align - 1)))
		return -1;
	/* Pass 0 counts the candidates, pass 1 takes the chosen one. */
	for (pass = 0; pass < 2; pass++) {
		uint64_t n = 0;

		for (i = 0; i < nr_ram; i++) {
			uint64_t top = ram[i].base + ram[i].size;

			if (top > IDENTITY_MAP_END)
				top = IDENTITY_MAP_END;
			p = ram[i].base > vl->link_base ? ram[i].base : vl->link_base;
			p = (p + align - 1) & ~(align - 1);
			for (; p < top && vl->span <= top - p; p += align) {
				if (p < avoid_end && avoid < p + vl->span)
					continue;
				if (pass && n == pick) {
					*phys = p;
					return 0;
				}
				n++;
			}
		}
		if (!n)
			return -1;
		count = n;
		pick = random ? seed % count : 0;
	}
	return -1;
}

uint64_t vmlinux_virt_offset(const struct vmlinux *vl, uint64_t align,
			     uint64_t seed)
{
	uint64_t slots;

	if (!align || vl->link_base + vl->span > KERNEL_IMAGE_SIZE)
		return 0;
	slots = (KERNEL_IMAGE_SIZE - vl->link_base - vl->span) / align + 1;
	return (seed % slots) * align;
}

/* Apply one list of the relocation table, walking down from word *pos. */
static int relocate_list(const struct vmlinux *vl, uint8_t *dst, uint64_t delta,
			 size_t *pos, int kind)
{
	unsigned int width = kind == 64 ? 8 : 4;

	for (;;) {
		uint32_t w = rd32(vl->data + *pos);
		uint64_t off;

		*pos -= 4;
		if (!w)
			return 0;
		/* A link-time kernel address, sign-extended, to an image offset. */
		off = (uint64_t)(int64_t)(int32_t)w - START_KERNEL_MAP - vl->link_base;
		if (off > vl->span || vl->span - off < width)
			return -1;
		if (kind == 64) {
			uint64_t v;

			memcpy(&v, dst + off, 8);
			v += delta;
			memcpy(dst + off, &v, 8);
		} else {
			uint32_t v;

			memcpy(&v, dst + off, 4);
			v = kind == 32 ? v + (uint32_t)delta : v - (uint32_t)delta;
			memcpy(dst + off, &v, 4);
		}
	}
}

/*
 * One segment's file bytes to dst. From a file, only its data extents are
 * read: the kernel's zero-filled data is a hole in a cache entry, and
 * skipping it leaves those guest pages untouched.
 */
static int copy_segment(const struct vmlinux *vl, uint8_t *dst, uint64_t off,
			uint64_t len)
{
	off_t pos, end;

	if (vl->fd < 0) {
		memcpy(dst, vl->data + off, len);
		return 0;
	}
	pos = vl->fd_base + off;
	end = pos + len;
	while (pos < end) {
		off_t data = lseek(vl->fd, pos, SEEK_DATA), hole;

		if (data < 0 || data >= end)
			return data < 0 && errno != ENXIO ? -1 : 0;
		hole = lseek(vl->fd, data, SEEK_HOLE);
		if (hole < 0 || hole > end)
			hole = end;
		for (pos = data; pos < hole;) {
			ssize_t n = pread(vl->fd, dst + (pos - (off_t)(vl->fd_base + off)),
					  hole - pos, pos);

			if (n <= 0)
				return -1;
			pos += n;
		}
	}
	return 0;
}

int vmlinux_load(const struct vmlinux *vl, uint8_t *dst, uint64_t delta,
		 char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	unsigned int i;
	size_t pos;

	memcpy(&eh, vl->data, sizeof(eh));
	for (i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, vl->data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD &&
		    copy_segment(vl, dst + (ph.p_paddr - vl->link_base), ph.p_offset,
				 ph.p_filesz)) {
			fail(err, errlen, "cannot read a segment");
			return -1;
		}
	}
	if (!delta || !vmlinux_relocatable(vl))
		return 0;
	/* 32-bit, then inverse 32-bit, then 64-bit: each list ends in 0. */
	pos = vl->len - 4;
	if (relocate_list(vl, dst, delta, &pos, 32) ||
	    relocate_list(vl, dst, delta, &pos, -32) ||
	    relocate_list(vl, dst, delta, &pos, 64)) {
		fail(err, errlen, "a relocation points outside the image");
		return -1;
	}
	return 0;
}

bool vmlinux_nokaslr(const char *cmdline)
{
	const char *p = cmdline;

	while (p && *p) {
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		/* Words after "--" belong to init, not to the kernel. */
		if (n == 2 && !strncmp(p, "--", 2))
			return false;
		if (n == 7 && !strncmp(p, "nokaslr", 7))
			return true;
		p += n;
	}
	return false;
}
