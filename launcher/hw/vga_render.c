/* launcher/hw/vga_render.c: the picture a standard VGA shows, as XRGB8888: text, 16 and 256 colours, VBE 4-32 bpp; and the text screen as characters. */
#include <stdlib.h>
#include <string.h>

#include "vga.h"

#define SR_CLOCK_MODE		1
#define SR_CHAR_MAP		3
#define SR01_8DOTS		0x01
#define SR01_HALF_CLOCK		0x08
#define GR_MODE			5
#define GR_MISC			6
#define GR05_256COLOR		0x40
#define GR06_GRAPHICS		0x01
#define CR_H_DISP_END		0x01
#define CR_OVERFLOW		0x07
#define CR_MAX_SCAN		0x09
#define CR_CURSOR_START		0x0a
#define CR_CURSOR_END		0x0b
#define CR_START_HI		0x0c
#define CR_START_LO		0x0d
#define CR_CURSOR_HI		0x0e
#define CR_CURSOR_LO		0x0f
#define CR_V_DISP_END		0x12
#define CR_OFFSET		0x13
#define AR_MODE			0x10
#define AR_PLANE_ENABLE		0x12
#define AR_COLOR_SELECT		0x14
#define AR10_LINE_GRAPHICS	0x04
#define AR10_BLINK		0x08
#define AR10_P54S		0x80
#define AR_INDEX_PAS		0x20	/* palette address source: clear blanks the screen */

/* The VGA's own modes see 256 KiB: four planes of 64 KiB. */
#define VGA_PLANES_SIZE		0x40000
#define FONT_MAP_SIZE		0x2000	/* 256 characters of 32 lines, in plane 2 */
#define BLANK_WIDTH		640
#define BLANK_HEIGHT		480

struct geometry {
	enum vga_mode mode;
	unsigned int width, height;	/* pixels */
	uint32_t start, line;		/* vram bytes (text: character cells) */
	uint32_t wrap;			/* addresses wrap at this (a power of two) */
	/* text */
	unsigned int cols, rows, cwidth, cheight, xscale;
	unsigned int bpp;		/* VBE */
};

static unsigned int vertical_display_end(const struct vga *v)
{
	return v->cr[CR_V_DISP_END] | (v->cr[CR_OVERFLOW] & 0x02) << 7 |
	       (v->cr[CR_OVERFLOW] & 0x40) << 3;
}

static void text_geometry(const struct vga *v, struct geometry *g)
{
	g->mode = VGA_MODE_TEXT;
	g->cheight = (v->cr[CR_MAX_SCAN] & 0x1f) + 1;
	g->cwidth = v->sr[SR_CLOCK_MODE] & SR01_8DOTS ? 8 : 9;
	g->xscale = v->sr[SR_CLOCK_MODE] & SR01_HALF_CLOCK ? 2 : 1;
	g->cols = v->cr[CR_H_DISP_END] + 1;
	g->rows = (vertical_display_end(v) + 1) / g->cheight;
	g->width = g->cols * g->cwidth * g->xscale;
	g->height = g->rows * g->cheight;
	g->start = v->cr[CR_START_HI] << 8 | v->cr[CR_START_LO];
	g->line = v->cr[CR_OFFSET] * 2;
	g->wrap = 0x10000;
	if (!g->rows)
		g->mode = VGA_MODE_OFF;
}

static void graphics_geometry(const struct vga *v, struct geometry *g)
{
	unsigned int scan = ((v->cr[CR_MAX_SCAN] & 0x1f) + 1) << (v->cr[CR_MAX_SCAN] >> 7);

	g->mode = v->gr[GR_MODE] & GR05_256COLOR ? VGA_MODE_256 : VGA_MODE_PLANAR;
	/* a character clock is 8 dots; 256 colours take two dots a pixel */
	g->width = (v->cr[CR_H_DISP_END] + 1) * (g->mode == VGA_MODE_256 ? 4 : 8);
	g->height = (vertical_display_end(v) + 1) / scan;
	g->start = (v->cr[CR_START_HI] << 8 | v->cr[CR_START_LO]) * 4;
	g->line = v->cr[CR_OFFSET] * 8;
	g->wrap = VGA_PLANES_SIZE;
	if (!g->height)
		g->mode = VGA_MODE_OFF;
}

static void vbe_geometry(const struct vga *v, struct geometry *g)
{
	g->mode = VGA_MODE_VBE;
	g->width = v->vbe[VBE_XRES];
	g->height = v->vbe[VBE_YRES];
	g->bpp = v->vbe[VBE_BPP];
	g->start = v->vbe_start;
	g->line = v->vbe_line_offset;
	g->wrap = v->vram_size;
	/*
	 * The register checks keep the screen inside video memory; should
	 * that ever fail, show nothing rather than read past it.
	 */
	if (!g->width || !g->height ||
	    g->start + (uint64_t)(g->height - 1) * g->line +
	    (uint64_t)g->width * ((g->bpp + 7) / 8) > v->vram_size)
		g->mode = VGA_MODE_OFF;
}

static void current_geometry(const struct vga *v, struct geometry *g)
{
	memset(g, 0, sizeof(*g));
	if (!(v->ar_index & AR_INDEX_PAS))
		g->mode = VGA_MODE_OFF;
	else if (vbe_enabled(v))
		vbe_geometry(v, g);
	else if (v->gr[GR_MISC] & GR06_GRAPHICS)
		graphics_geometry(v, g);
	else
		text_geometry(v, g);
}

enum vga_mode vga_current_mode(const struct vga *v)
{
	struct geometry g;

	current_geometry(v, &g);
	return g.mode;
}

/* ---- colours ---- */

static uint32_t xrgb(unsigned int r, unsigned int g, unsigned int b)
{
	return (uint32_t)r << 16 | g << 8 | b;
}

static uint8_t c6_to_8(uint8_t c)
{
	c &= 0x3f;
	return c << 2 | c >> 4;
}

static uint32_t dac_color(const struct vga *v, uint8_t index)
{
	const uint8_t *c = &v->palette[(index & v->pel_mask) * 3];

	if (v->dac_8bit)
		return xrgb(c[0], c[1], c[2]);
	return xrgb(c6_to_8(c[0]), c6_to_8(c[1]), c6_to_8(c[2]));
}

/* A 4-bit pixel or text colour through the attribute palette to the DAC. */
static uint32_t attr_color(const struct vga *v, unsigned int c)
{
	uint8_t p = v->ar[c & 0x0f], sel = v->ar[AR_COLOR_SELECT];
	uint8_t index;

	if (v->ar[AR_MODE] & AR10_P54S)
		index = (sel & 0x0f) << 4 | (p & 0x0f);
	else
		index = (sel & 0x0c) << 4 | (p & 0x3f);
	return dac_color(v, index);
}

/* ---- drawing ---- */

static uint32_t *row_of(struct vga_screen *scr, unsigned int y)
{
	return (uint32_t *)((uint8_t *)scr->pixels + (size_t)y * scr->stride);
}

static uint8_t font_byte(const struct vga *v, uint32_t font, uint8_t ch, unsigned int y)
{
	uint32_t addr = (font + ch * 32u + y) & 0xffff;

	return v->vram[addr * 4 + 2];
}

/* Character map select: where in plane 2 a font starts (map A for attribute bit 3 set). */
static uint32_t font_offset(const struct vga *v, bool map_a)
{
	uint8_t s = v->sr[SR_CHAR_MAP];
	unsigned int sel = map_a ? ((s >> 2) & 3) | ((s >> 3) & 4) : (s & 3) | ((s >> 2) & 4);

	return ((sel & 3) * 2 + (sel >> 2)) * FONT_MAP_SIZE;
}

static void draw_text(const struct vga *v, const struct geometry *g, struct vga_screen *scr)
{
	uint32_t cursor = v->cr[CR_CURSOR_HI] << 8 | v->cr[CR_CURSOR_LO];
	unsigned int cur_first = v->cr[CR_CURSOR_START] & 0x1f;
	unsigned int cur_last = v->cr[CR_CURSOR_END] & 0x1f;
	bool cursor_on = !(v->cr[CR_CURSOR_START] & 0x20);
	uint32_t fonts[2] = { font_offset(v, false), font_offset(v, true) };

	for (unsigned int row = 0; row < g->rows; row++) {
		for (unsigned int col = 0; col < g->cols; col++) {
			uint32_t addr = (g->start + row * g->line + col) & (g->wrap - 1);
			uint8_t ch = v->vram[addr * 4], attr = v->vram[addr * 4 + 1];
			unsigned int bg_index = attr >> 4;
			uint32_t fg, bg, font = fonts[(attr >> 3) & 1];
			bool dup9 = ch >= 0xc0 && ch <= 0xdf && (v->ar[AR_MODE] & AR10_LINE_GRAPHICS);

			if (v->ar[AR_MODE] & AR10_BLINK)
				bg_index &= 7;	/* bit 7 blinks (not shown) */
			fg = attr_color(v, attr & 0x0f);
			bg = attr_color(v, bg_index);
			for (unsigned int y = 0; y < g->cheight; y++) {
				uint32_t *px = row_of(scr, row * g->cheight + y) +
					       col * g->cwidth * g->xscale;
				unsigned int bits = font_byte(v, font, ch, y);

				bits = bits << 1 | (dup9 ? bits & 1 : 0);
				if (addr == cursor && cursor_on && y >= cur_first && y <= cur_last)
					bits = 0x1ff;
				/* bit 8 is the leftmost dot, bit 0 the ninth column */
				for (unsigned int x = 0; x < g->cwidth; x++) {
					uint32_t c = bits & (0x100 >> x) ? fg : bg;

					for (unsigned int s = 0; s < g->xscale; s++)
						*px++ = c;
				}
			}
		}
	}
}

/* Four planes, a bit each per pixel, eight pixels a byte. */
static void draw_planar(const struct vga *v, const struct geometry *g, struct vga_screen *scr)
{
	uint8_t enable = v->ar[AR_PLANE_ENABLE] & 0x0f;
	uint32_t palette[16];

	if (vbe_enabled(v))
		enable = 0x0f;
	for (unsigned int c = 0; c < 16; c++)
		palette[c] = attr_color(v, c);
	for (unsigned int y = 0; y < g->height; y++) {
		uint32_t *px = row_of(scr, y), base = g->start + y * g->line;

		for (unsigned int x = 0; x < g->width; x++) {
			uint32_t off = (base + (x >> 3) * 4) & (g->wrap - 1);
			unsigned int bit = 7 - (x & 7), c = 0;

			for (unsigned int p = 0; p < 4; p++)
				c |= ((v->vram[off + p] >> bit) & 1) << p;
			px[x] = palette[c & enable];
		}
	}
}

/* One byte a pixel through the DAC: mode 13h, mode X, VBE 8 bpp. */
static void draw_indexed(const struct vga *v, const struct geometry *g, struct vga_screen *scr,
			 unsigned int y0, unsigned int y1)
{
	uint32_t palette[256];

	for (unsigned int c = 0; c < 256; c++)
		palette[c] = dac_color(v, c);
	for (unsigned int y = y0; y < y1; y++) {
		uint32_t *px = row_of(scr, y), base = g->start + y * g->line;

		for (unsigned int x = 0; x < g->width; x++)
			px[x] = palette[v->vram[(base + x) & (g->wrap - 1)]];
	}
}

static uint8_t c5_to_8(unsigned int c)
{
	return c << 3 | c >> 2;
}

/* Direct colour, little endian, from inside vram (vbe_geometry checked the bounds). */
static void draw_direct(const struct vga *v, const struct geometry *g, struct vga_screen *scr,
			unsigned int y0, unsigned int y1)
{
	for (unsigned int y = y0; y < y1; y++) {
		const uint8_t *s = v->vram + g->start + (size_t)y * g->line;
		uint32_t *px = row_of(scr, y);
		unsigned int w;

		/* 32 bpp is XRGB already, bytes B, G, R, X (x86 is little endian) */
		if (g->bpp == 32) {
			for (unsigned int x = 0; x < g->width; x++) {
				uint32_t p;

				memcpy(&p, s + 4 * x, 4);
				px[x] = p & 0xffffff;
			}
			continue;
		}
		for (unsigned int x = 0; x < g->width; x++) {
			switch (g->bpp) {
			case 15:
				w = s[0] | s[1] << 8;
				px[x] = xrgb(c5_to_8((w >> 10) & 0x1f), c5_to_8((w >> 5) & 0x1f),
					     c5_to_8(w & 0x1f));
				s += 2;
				break;
			case 16:
				w = s[0] | s[1] << 8;
				px[x] = xrgb(c5_to_8(w >> 11), c6_to_8((w >> 5) & 0x3f),
					     c5_to_8(w & 0x1f));
				s += 2;
				break;
			case 24:
				px[x] = xrgb(s[2], s[1], s[0]);
				s += 3;
				break;
			default:
				px[x] = xrgb(s[2], s[1], s[0]);
				s += 4;
				break;
			}
		}
	}
}

static int screen_resize(struct vga_screen *scr, unsigned int width, unsigned int height)
{
	size_t need = (size_t)width * height;

	if (need > scr->capacity) {
		uint32_t *p = realloc(scr->pixels, need * sizeof(uint32_t));

		if (!p)
			return -1;
		scr->pixels = p;
		scr->capacity = need;
	}
	scr->width = width;
	scr->height = height;
	scr->stride = width * sizeof(uint32_t);
	return 0;
}

int vga_render_dirty(struct vga *v, struct vga_screen *scr, const unsigned long *pages,
		     size_t nr_pages, unsigned int *y0, unsigned int *y1)
{
	const unsigned int bits = sizeof(unsigned long) * 8;
	unsigned int lo = UINT32_MAX, hi = 0;
	struct geometry g;
	uint64_t first, last;

	current_geometry(v, &g);
	/* a register changed, another mode, a first picture: all of it */
	if (!scr->valid || scr->generation != v->generation || g.mode != VGA_MODE_VBE ||
	    g.bpp == 4 || g.width != scr->width || g.height != scr->height) {
		int r = vga_render(v, scr);

		*y0 = 0;
		*y1 = r > 0 ? scr->height : 0;
		return r;
	}
	/* the pages the screen shows; each dirty one marks the rows it holds */
	first = g.start / 4096;
	last = (g.start + (uint64_t)(g.height - 1) * g.line + (uint64_t)g.width * ((g.bpp + 7) / 8) - 1) / 4096;
	for (uint64_t p = first; p <= last && p < nr_pages; p++) {
		uint64_t from, to;

		if (!(pages[p / bits] >> (p % bits) & 1))
			continue;
		from = p * 4096 > g.start ? (p * 4096 - g.start) / g.line : 0;
		to = ((p + 1) * 4096 - 1 - g.start) / g.line;
		if (from < lo)
			lo = (unsigned int)from;
		if (to > hi)
			hi = to >= g.height ? g.height - 1 : (unsigned int)to;
	}
	if (lo > hi)
		return 0;
	if (g.bpp == 8)
		draw_indexed(v, &g, scr, lo, hi + 1);
	else
		draw_direct(v, &g, scr, lo, hi + 1);
	*y0 = lo;
	*y1 = hi + 1;
	return 1;
}

int vga_render(struct vga *v, struct vga_screen *scr)
{
	struct geometry g;

	if (scr->valid && scr->generation == v->generation)
		return 0;
	current_geometry(v, &g);
	if (g.mode == VGA_MODE_OFF) {
		/* blank: black, at the size the screen had */
		g.width = scr->valid && scr->width ? scr->width : BLANK_WIDTH;
		g.height = scr->valid && scr->height ? scr->height : BLANK_HEIGHT;
	}
	if (screen_resize(scr, g.width, g.height))
		return -1;
	switch (g.mode) {
	case VGA_MODE_TEXT:
		draw_text(v, &g, scr);
		break;
	case VGA_MODE_PLANAR:
		draw_planar(v, &g, scr);
		break;
	case VGA_MODE_256:
		draw_indexed(v, &g, scr, 0, g.height);
		break;
	case VGA_MODE_VBE:
		if (g.bpp == 4)
			draw_planar(v, &g, scr);
		else if (g.bpp == 8)
			draw_indexed(v, &g, scr, 0, g.height);
		else
			draw_direct(v, &g, scr, 0, g.height);
		break;
	default:
		memset(scr->pixels, 0, (size_t)g.width * g.height * sizeof(uint32_t));
		break;
	}
	scr->generation = v->generation;
	scr->valid = true;
	return 1;
}

void vga_screen_free(struct vga_screen *scr)
{
	free(scr->pixels);
	memset(scr, 0, sizeof(*scr));
}

/* ---- the text screen as characters ---- */

int vga_text_read(const struct vga *v, char *buf, size_t len,
		  unsigned int *cols, unsigned int *rows)
{
	struct geometry g;
	size_t n = 0;

	/* what is in the text buffer, even while the palette is being loaded */
	if (vbe_enabled(v) || (v->gr[GR_MISC] & GR06_GRAPHICS))
		return -1;
	text_geometry(v, &g);
	if (g.mode != VGA_MODE_TEXT)
		return -1;
	if (cols)
		*cols = g.cols;
	if (rows)
		*rows = g.rows;
	for (unsigned int row = 0; row < g.rows; row++) {
		for (unsigned int col = 0; col <= g.cols; col++) {
			uint32_t addr = (g.start + row * g.line + col) & (g.wrap - 1);
			uint8_t ch = v->vram[addr * 4];
			char c;

			if (col == g.cols)
				c = '\n';
			else if (ch == 0 || ch == 0xff)
				c = ' ';
			else if (ch < 0x20 || ch > 0x7e)
				c = '.';
			else
				c = ch;
			if (n + 1 < len)
				buf[n] = c;
			n++;
		}
	}
	if (len)
		buf[n < len ? n : len - 1] = '\0';
	return (int)n;
}

int vga_text_cells(const struct vga *v, uint16_t *cells, size_t max,
		   unsigned int *cols, unsigned int *rows, int *cursor)
{
	uint32_t cur = v->cr[CR_CURSOR_HI] << 8 | v->cr[CR_CURSOR_LO];
	struct geometry g;
	size_t n;

	if (vbe_enabled(v) || (v->gr[GR_MISC] & GR06_GRAPHICS))
		return -1;
	text_geometry(v, &g);
	if (g.mode != VGA_MODE_TEXT)
		return -1;
	*cols = g.cols;
	*rows = g.rows;
	*cursor = -1;
	n = (size_t)g.cols * g.rows;
	if (n > max)
		return -1;
	for (unsigned int row = 0; row < g.rows; row++)
		for (unsigned int col = 0; col < g.cols; col++) {
			uint32_t addr = (g.start + row * g.line + col) & (g.wrap - 1);

			cells[row * g.cols + col] = v->vram[addr * 4] | v->vram[addr * 4 + 1] << 8;
			if (addr == cur && !(v->cr[CR_CURSOR_START] & 0x20))
				*cursor = (int)(row * g.cols + col);
		}
	return (int)n;
}
