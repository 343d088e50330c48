/* launcher/hw/vga.h: QEMU's standard VGA (PCI 1234:1111): VGA registers and planes, Bochs VBE, its MMIO BAR, and a renderer to XRGB. */
#ifndef HW_VGA_H
#define HW_VGA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw.h"
#include "pci.h"

#define VGA_PCI_VENDOR		0x1234
#define VGA_PCI_DEVICE		0x1111
#define VGA_PCI_REVISION	2	/* the QEMU extended registers at 0x600 exist */

#define VGA_VRAM_MIN_MB		1
#define VGA_VRAM_MAX_MB		256
#define VGA_VRAM_DEFAULT_MB	16

/* Where things are, as a guest finds them. */
#define VGA_PORT_BASE		0x3b0	/* 0x3b0-0x3df */
#define VGA_PORT_LEN		0x30
#define VBE_PORT_BASE		0x1ce	/* index; data at 0x1cf and 0x1d0 */
#define VBE_PORT_LEN		3
#define VGA_WINDOW_BASE		0xa0000	/* 0xa0000-0xbffff */
#define VGA_WINDOW_LEN		0x20000
#define VGA_MMIO_SIZE		0x1000	/* BAR2 */
#define VGA_MMIO_PORTS		0x400	/* ports 0x3c0-0x3df, 1:1 */
#define VGA_MMIO_VBE		0x500	/* dispi register i at 0x500 + 2 * i */
#define VGA_MMIO_QEXT		0x600	/* QEMU extended registers (size, endianness) */

/* Register file sizes. */
#define VGA_SR_COUNT		5	/* sequencer */
#define VGA_GR_COUNT		9	/* graphics controller */
#define VGA_CR_COUNT		0x19	/* CRT controller */
#define VGA_AR_COUNT		0x15	/* attribute controller */

/* Bochs VBE "dispi" register indexes (port 0x1ce). */
enum vbe_reg {
	VBE_ID = 0,
	VBE_XRES,
	VBE_YRES,
	VBE_BPP,
	VBE_ENABLE,
	VBE_BANK,
	VBE_VIRT_WIDTH,
	VBE_VIRT_HEIGHT,
	VBE_X_OFFSET,
	VBE_Y_OFFSET,
	VBE_NR_REGS,			/* stored registers end here */
	VBE_VIDEO_MEMORY_64K = VBE_NR_REGS,	/* read-only: vram in 64 KiB units */
};

#define VBE_ID0			0xb0c0
#define VBE_ID5			0xb0c5
#define VBE_MAX_XRES		16000
#define VBE_MAX_YRES		12000
#define VBE_MAX_BPP		32

/* VBE_ENABLE bits. */
#define VBE_ENABLED		0x01
#define VBE_GETCAPS		0x02	/* XRES, YRES, BPP read back as the maxima */
#define VBE_8BIT_DAC		0x20
#define VBE_LFB_ENABLED		0x40
#define VBE_NOCLEARMEM		0x80

struct vga {
	/*
	 * Video memory, owned by the caller. The four VGA planes are
	 * interleaved (byte 4 * i + p is byte i of plane p), which makes
	 * chain-4 addresses and the VBE framebuffer plain byte offsets.
	 */
	uint8_t *vram;
	uint32_t vram_size;		/* a power of two, 1 to 256 MiB */

	/* VGA registers */
	uint8_t misc;			/* miscellaneous output (write 0x3c2, read 0x3cc) */
	uint8_t fcr;			/* feature control */
	uint8_t st01;			/* input status 1 (its retrace bits toggle on read) */
	uint8_t sr_index, sr[VGA_SR_COUNT];
	uint8_t gr_index, gr[VGA_GR_COUNT];
	uint8_t cr_index, cr[VGA_CR_COUNT];
	uint8_t ar_index, ar[VGA_AR_COUNT];	/* ar_index keeps the palette source bit 5 */
	bool ar_data_next;		/* the flip-flop: the next 0x3c0 write is data */
	uint8_t pel_mask;
	uint8_t dac_read_index, dac_write_index;
	uint8_t dac_sub;		/* 0..2: which component the next data access is */
	uint8_t dac_state;		/* 0x3c7 reads: 0 after a write index, 3 after a read index */
	uint8_t dac_cache[3];		/* components of the entry being written */
	uint8_t palette[256 * 3];	/* 6-bit components (8-bit with VBE_8BIT_DAC) */
	bool dac_8bit;
	uint32_t latch;			/* the four planes' bytes of the last planar read */

	/* Bochs VBE */
	uint16_t vbe_index;
	uint16_t vbe[VBE_NR_REGS];
	uint32_t vbe_line_offset;	/* bytes per line of the virtual screen */
	uint32_t vbe_start;		/* byte offset of the visible top-left pixel */
	uint32_t bank_offset;		/* of the 64 KiB window at 0xa0000 */

	/*
	 * Bumped by every write that can change the picture (registers, the
	 * window, the LFB through vga_lfb_ops). Writes that bypass the model
	 * (the LFB mapped as guest RAM) call vga_touch().
	 */
	uint64_t generation;

	struct pci_func pci;		/* BAR0 the LFB, BAR2 the MMIO registers */
};

/*
 * vram of vram_size bytes (a power of two, VGA_VRAM_MIN_MB to
 * VGA_VRAM_MAX_MB MiB) becomes the card's memory; -1 for a bad size.
 * The PCI function is set up but not on a bus.
 */
int vga_init(struct vga *v, uint8_t *vram, uint32_t vram_size);
/* Registers to their power-on values (video memory is kept). */
void vga_reset(struct vga *v);
/* The picture may have changed behind the model's back. */
static inline void vga_touch(struct vga *v)
{
	v->generation++;
}

/* Ports 0x3b0-0x3df, a byte at a time. */
uint8_t vga_port_read(struct vga *v, uint16_t port);
void vga_port_write(struct vga *v, uint16_t port, uint8_t val);

/* VBE: the index port and the data ports, and registers by index. */
uint16_t vbe_port_read(struct vga *v, uint16_t port);
void vbe_port_write(struct vga *v, uint16_t port, uint16_t val);
uint16_t vbe_reg_read(struct vga *v, unsigned int index);
void vbe_reg_write(struct vga *v, unsigned int index, uint16_t val);
bool vbe_enabled(const struct vga *v);

/* The 0xa0000-0xbffff window: addr is the offset from 0xa0000. */
uint8_t vga_mem_read(struct vga *v, uint32_t addr);
void vga_mem_write(struct vga *v, uint32_t addr, uint8_t val);

/*
 * Accessors to register with the VMM: ports at VGA_PORT_BASE and
 * VBE_PORT_BASE, the window at VGA_WINDOW_BASE. BAR0 (vga_lfb_ops) and
 * BAR2 (vga_mmio_ops) are declared on v->pci by vga_init.
 */
extern const struct io_ops vga_port_ops;
extern const struct io_ops vbe_port_ops;
extern const struct io_ops vga_window_ops;
extern const struct io_ops vga_mmio_ops;
extern const struct io_ops vga_lfb_ops;

/* ---- the renderer (vga_render.c) ---- */

/* An XRGB8888 picture (0x00RRGGBB in host order), owned by its user. */
struct vga_screen {
	uint32_t *pixels;
	unsigned int width, height;
	unsigned int stride;		/* bytes from one row to the next */
	size_t capacity;		/* pixels allocated */
	uint64_t generation;		/* of the state last rendered */
	bool valid;			/* something was rendered */
};

/* What the card shows now. */
enum vga_mode {
	VGA_MODE_OFF,			/* nothing sensible to show */
	VGA_MODE_TEXT,
	VGA_MODE_PLANAR,		/* 16 colours, 4 planes */
	VGA_MODE_256,			/* 256 colours, one byte a pixel (mode 13h) */
	VGA_MODE_VBE,			/* the linear framebuffer */
};
enum vga_mode vga_current_mode(const struct vga *v);

/*
 * Bring scr up to date with the card: 1 when it was redrawn (the state
 * changed since the last call), 0 when nothing changed, -1 when out of
 * memory. The picture is at most 16000 x 12000 (VBE); while the screen is
 * blanked (VGA_MODE_OFF) it is black, of the size it had (640 x 480 at
 * first).
 */
int vga_render(struct vga *v, struct vga_screen *scr);
void vga_screen_free(struct vga_screen *scr);
/*
 * vga_render for a framebuffer the guest writes without exits: with pages
 * (nr_pages bits, a bit a 4 KiB page of video memory written since the
 * picture in scr) and no register change since (the same generation), only
 * the rows those pages hold are redrawn. Sets [*y0, *y1), the rows
 * redrawn (all after a register change, another mode or in 4 bpp);
 * returns 1 when some were, 0 when nothing changed, -1 out of memory.
 */
int vga_render_dirty(struct vga *v, struct vga_screen *scr, const unsigned long *pages,
		     size_t nr_pages, unsigned int *y0, unsigned int *y1);

/*
 * In a text mode, the characters on screen: rows lines of cols bytes,
 * each line ending in '\n', NUL-terminated, bytes outside 0x20-0x7e shown
 * as '.' (0 and 0xff as ' '); truncated to len. Returns the number of
 * characters the whole screen needs (without the NUL), or -1 when not in
 * a text mode.
 */
int vga_text_read(const struct vga *v, char *buf, size_t len,
		  unsigned int *cols, unsigned int *rows);
/*
 * In a text mode, the screen as cells (character | attribute << 8), row
 * by row, and the cursor's cell (-1: hidden or off the screen). Returns
 * cols * rows, or -1 when not in a text mode or that exceeds max.
 */
int vga_text_cells(const struct vga *v, uint16_t *cells, size_t max,
		   unsigned int *cols, unsigned int *rows, int *cursor);

#endif
