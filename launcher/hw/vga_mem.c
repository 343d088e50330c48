/* launcher/hw/vga_mem.c: the 0xa0000-0xbffff window onto the four planes: memory map select, chain-4, odd/even, latches, write modes 0-3, read modes 0-1. */
#include "vga.h"

#define SR_MAP_MASK		2
#define SR_MEMORY_MODE		4
#define SR04_CHAIN4		0x08
#define GR_SET_RESET		0
#define GR_ENABLE_SET_RESET	1
#define GR_COLOR_COMPARE	2
#define GR_DATA_ROTATE		3
#define GR_READ_MAP		4
#define GR_MODE			5
#define GR_MISC			6
#define GR_COLOR_DONT_CARE	7
#define GR_BIT_MASK		8
#define GR05_READ_MODE1		0x08
#define GR05_ODD_EVEN		0x10

/*
 * A VBE mode deeper than 4 bpp reaches video memory through chain-4 with
 * every plane enabled, whatever the guest left in the sequencer (QEMU
 * keeps a shadow of those two registers for it).
 */
static bool vbe_packed(const struct vga *v)
{
	return vbe_enabled(v) && v->vbe[VBE_BPP] != 4;
}

static bool chain4(const struct vga *v)
{
	return (v->sr[SR_MEMORY_MODE] & SR04_CHAIN4) || vbe_packed(v);
}

static uint8_t map_mask(const struct vga *v)
{
	return vbe_packed(v) ? 0x0f : v->sr[SR_MAP_MASK];
}

/*
 * Window offset (0 to 0x1ffff from 0xa0000) to the card's address, by the
 * memory map select of GR6; false where the selected map does not decode.
 * The 64 KiB map at 0xa0000 is where the VBE bank applies.
 */
static bool window_decode(const struct vga *v, uint32_t addr, uint32_t *card)
{
	addr &= VGA_WINDOW_LEN - 1;
	switch ((v->gr[GR_MISC] >> 2) & 3) {
	case 0:				/* 0xa0000, 128 KiB */
		*card = addr;
		return true;
	case 1:				/* 0xa0000, 64 KiB */
		*card = addr + v->bank_offset;
		return addr < 0x10000;
	case 2:				/* 0xb0000, 32 KiB */
		*card = addr - 0x10000;
		return addr >= 0x10000 && addr < 0x18000;
	default:			/* 0xb8000, 32 KiB */
		*card = addr - 0x18000;
		return addr >= 0x18000;
	}
}

/* Odd/even: even addresses go to planes 0 and 2, odd ones to 1 and 3. */
static uint32_t odd_even_offset(const struct vga *v, uint32_t card, unsigned int *plane)
{
	*plane = (v->gr[GR_READ_MAP] & 2) | (card & 1);
	return ((card & ~1u) << 1) | *plane;
}

static uint8_t latch_plane(const struct vga *v, unsigned int p)
{
	return v->latch >> (8 * p);
}

/* Read mode 1: a 1 for each pixel whose cared-for planes match the compare colour. */
static uint8_t color_compare(const struct vga *v)
{
	uint8_t differ = 0;

	for (unsigned int p = 0; p < 4; p++) {
		uint8_t want = v->gr[GR_COLOR_COMPARE] & (1u << p) ? 0xff : 0;

		if (v->gr[GR_COLOR_DONT_CARE] & (1u << p))
			differ |= latch_plane(v, p) ^ want;
	}
	return ~differ;
}

uint8_t vga_mem_read(struct vga *v, uint32_t addr)
{
	uint32_t card, off;
	unsigned int plane;

	if (!window_decode(v, addr, &card))
		return 0xff;
	if (chain4(v))
		return card < v->vram_size ? v->vram[card] : 0xff;
	if (v->gr[GR_MODE] & GR05_ODD_EVEN) {
		off = odd_even_offset(v, card, &plane);
		return off < v->vram_size ? v->vram[off] : 0xff;
	}
	if ((uint64_t)card * 4 >= v->vram_size)
		return 0xff;
	/* planar: every read loads the four latches */
	off = card * 4;
	v->latch = v->vram[off] | (uint32_t)v->vram[off + 1] << 8 |
		   (uint32_t)v->vram[off + 2] << 16 | (uint32_t)v->vram[off + 3] << 24;
	if (v->gr[GR_MODE] & GR05_READ_MODE1)
		return color_compare(v);
	return latch_plane(v, v->gr[GR_READ_MAP] & 3);
}

static uint8_t rotate_right(uint8_t val, unsigned int n)
{
	n &= 7;
	return n ? (uint8_t)(val >> n | val << (8 - n)) : val;
}

/* What a planar write puts into plane p, before the map mask decides. */
static uint8_t planar_byte(const struct vga *v, unsigned int p, uint8_t val)
{
	uint8_t latch = latch_plane(v, p), bit = 1u << p;
	uint8_t rotated = rotate_right(val, v->gr[GR_DATA_ROTATE]);
	uint8_t set_reset = v->gr[GR_SET_RESET] & bit ? 0xff : 0;
	uint8_t data, mask = v->gr[GR_BIT_MASK];

	switch (v->gr[GR_MODE] & 3) {
	case 0:				/* CPU data, rotated, or set/reset per plane */
		data = v->gr[GR_ENABLE_SET_RESET] & bit ? set_reset : rotated;
		break;
	case 1:				/* the latches, as they are */
		return latch;
	case 2:				/* the CPU data's low nibble as a colour */
		data = val & bit ? 0xff : 0;
		break;
	default:			/* set/reset colour, CPU data ANDs the bit mask */
		data = set_reset;
		mask &= rotated;
		break;
	}
	switch ((v->gr[GR_DATA_ROTATE] >> 3) & 3) {
	case 1: data &= latch; break;
	case 2: data |= latch; break;
	case 3: data ^= latch; break;
	default: break;
	}
	return (data & mask) | (latch & ~mask);
}

void vga_mem_write(struct vga *v, uint32_t addr, uint8_t val)
{
	uint8_t mask = map_mask(v);
	uint32_t card, off;
	unsigned int plane;

	if (!window_decode(v, addr, &card))
		return;
	v->generation++;
	if (chain4(v)) {
		/* address bits 0-1 pick the plane */
		if ((mask & (1u << (card & 3))) && card < v->vram_size)
			v->vram[card] = val;
		return;
	}
	if (v->gr[GR_MODE] & GR05_ODD_EVEN) {
		off = odd_even_offset(v, card, &plane);
		if ((mask & (1u << plane)) && off < v->vram_size)
			v->vram[off] = val;
		return;
	}
	if ((uint64_t)card * 4 >= v->vram_size)
		return;
	off = card * 4;
	for (unsigned int p = 0; p < 4; p++)
		if (mask & (1u << p))
			v->vram[off + p] = planar_byte(v, p, val);
}
