/* tests/launcher/test_vga.c: standard VGA: PCI identity, register file, planes and write/read modes, chain-4, odd/even, rendering of each mode, VBE and its clamping, the MMIO BAR, dirty tracking. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "hw/vga.h"

#define MiB		(1u << 20)

static struct vga v;
static uint8_t *vram;
static struct vga_screen scr;

static void outb(uint16_t port, uint8_t val) { vga_port_write(&v, port, val); }
static uint8_t inb(uint16_t port) { return vga_port_read(&v, port); }
static void seq(unsigned int i, uint8_t val) { outb(0x3c4, i); outb(0x3c5, val); }
static void gc(unsigned int i, uint8_t val) { outb(0x3ce, i); outb(0x3cf, val); }
static void crtc(unsigned int i, uint8_t val) { outb(0x3d4, i); outb(0x3d5, val); }
static uint8_t crtc_get(unsigned int i) { outb(0x3d4, i); return inb(0x3d5); }

static void attr(unsigned int i, uint8_t val)
{
	inb(0x3ba);			/* the flip-flop to "index" (mono or colour) */
	inb(0x3da);
	outb(0x3c0, i);
	outb(0x3c0, val);
}

/* Palette source back to the screen, as a BIOS does after a mode set. */
static void attr_enable(void)
{
	inb(0x3ba);
	inb(0x3da);
	outb(0x3c0, 0x20);
}

static void dac(uint8_t i, uint8_t r, uint8_t g, uint8_t b)
{
	outb(0x3c8, i);
	outb(0x3c9, r);
	outb(0x3c9, g);
	outb(0x3c9, b);
}

static void vbe(unsigned int i, uint16_t val)
{
	vbe_port_write(&v, 0x1ce, i);
	vbe_port_write(&v, 0x1cf, val);
}

static uint16_t vbe_get(unsigned int i)
{
	vbe_port_write(&v, 0x1ce, i);
	return vbe_port_read(&v, 0x1cf);
}

static void fresh(uint32_t size)
{
	free(vram);
	vram = calloc(1, size);
	if (vga_init(&v, vram, size))
		abort();
}

static uint32_t pixel(unsigned int x, unsigned int y)
{
	return ((uint32_t *)((uint8_t *)scr.pixels + (size_t)y * scr.stride))[x];
}

/* ---- identity ---- */

static void test_init_and_pci(void)
{
	struct vga w;
	struct pci_bus bus;
	uint8_t small[16];
	unsigned int devfn = PCI_DEVFN(2, 0);

	tap_ok(vga_init(&w, small, 0) == -1 && vga_init(&w, small, 3 * MiB) == -1 &&
	       vga_init(&w, small, 512 * MiB) == -1 && vga_init(&w, small, MiB + MiB / 2) == -1 &&
	       vga_init(&w, NULL, 16 * MiB) == -1,
	       "vram: 0, 3 MiB, 512 MiB, 1.5 MiB and no memory are refused");
	fresh(16 * MiB);
	pci_bus_init(&bus);
	pci_bus_add(&bus, devfn, &v.pci);
	tap_ok(pci_config_read(&bus, 0, devfn, 0, 4) == 0x11111234, "PCI ID 1234:1111");
	tap_ok(pci_config_read(&bus, 0, devfn, 8, 4) == 0x03000002,
	       "class 0300 (VGA compatible), revision 2 (QEMU extended registers)");
	tap_ok(pci_config_read(&bus, 0, devfn, 0x2c, 4) == 0x11001af4, "subsystem 1af4:1100");
	pci_config_write(&bus, 0, devfn, 0x10, 4, 0xffffffff);
	tap_ok(pci_config_read(&bus, 0, devfn, 0x10, 4) == 0xff000008,
	       "BAR0: 16 MiB of prefetchable memory");
	pci_config_write(&bus, 0, devfn, 0x14, 4, 0xffffffff);
	pci_config_write(&bus, 0, devfn, 0x18, 4, 0xffffffff);
	tap_ok(pci_config_read(&bus, 0, devfn, 0x14, 4) == 0 &&
	       pci_config_read(&bus, 0, devfn, 0x18, 4) == 0xfffff000,
	       "BAR1 reserved, BAR2: 4 KiB of MMIO");
	pci_bus_remove(&bus, devfn);
	fresh(256 * MiB);
	tap_ok(v.pci.bar[0].size == 256 * MiB && vbe_get(VBE_VIDEO_MEMORY_64K) == 4096,
	       "256 MiB of vram: BAR0 and VIDEO_MEMORY_64K follow");
	fresh(16 * MiB);
}

/* ---- the register file ---- */

static void test_registers(void)
{
	fresh(16 * MiB);
	seq(1, 0xff);
	tap_ok(inb(0x3c4) == 1 && inb(0x3c5) == 0x3d, "sequencer: index reads back, data keeps its bits");
	gc(5, 0xff);
	tap_ok(inb(0x3ce) == 5 && inb(0x3cf) == 0x7b, "graphics controller: mode register's bits");
	gc(8, 0x5a);
	tap_ok(inb(0x3cf) == 0x5a, "graphics controller: bit mask");

	/* mono until MISC bit 0 says colour */
	tap_ok(inb(0x3cc) == 0 && inb(0x3d4) == 0xff && inb(0x3da) == 0xff,
	       "at reset the CRTC answers at 0x3b4, not 0x3d4");
	outb(0x3b4, 0x13);
	outb(0x3b5, 0x28);
	tap_ok(inb(0x3b5) == 0x28, "mono CRTC at 0x3b4/0x3b5");
	outb(0x3c2, 0x67);
	tap_ok(inb(0x3cc) == 0x67 && inb(0x3b5) == 0xff && crtc_get(0x13) == 0x28,
	       "MISC 0x67: the CRTC moves to 0x3d4, 0x3b5 floats");
	crtc(0x00, 0x5f);
	crtc(0x07, 0x00);
	crtc(0x11, 0x80);		/* protect CR0-CR7 */
	crtc(0x00, 0x11);
	crtc(0x07, 0xff);
	tap_ok(crtc_get(0x00) == 0x5f && crtc_get(0x07) == 0x10,
	       "CR11 bit 7 protects CR0-CR7 but the line compare bit of CR7");
	crtc(0x11, 0x00);
	crtc(0x00, 0x11);
	tap_ok(crtc_get(0x00) == 0x11, "unprotected, CR0 takes writes");
	tap_ok(crtc_get(0x30) == 0xff, "CRTC registers past 0x18 read 0xff");

	/* attribute controller: one port, a flip-flop */
	inb(0x3da);
	outb(0x3c0, 0x05);
	outb(0x3c0, 0xff);
	tap_ok(inb(0x3c0) == 0x05 && inb(0x3c1) == 0x3f,
	       "attribute palette 5 written through the flip-flop, 6 bits kept");
	outb(0x3c0, 0x06);		/* an index again */
	outb(0x3c0, 0x2a);
	tap_ok(v.ar[6] == 0x2a && v.ar[5] == 0x3f, "the flip-flop alternates index and data");
	outb(0x3c0, 0x07);		/* index */
	inb(0x3da);			/* reset: the next write is an index */
	outb(0x3c0, 0x08);
	outb(0x3c0, 0x11);
	tap_ok(v.ar[8] == 0x11 && v.ar[7] == 0, "reading input status 1 resets the flip-flop");
	attr(0x10, 0xff);
	tap_ok(v.ar[0x10] == 0xef, "attribute mode control drops reserved bit 4");
	outb(0x3c0, 0x34);
	tap_ok(inb(0x3c0) == 0x34, "the index keeps the palette address source bit");

	/* input status 1 toggles: wait loops for retrace end */
	{
		uint8_t a = inb(0x3da), b = inb(0x3da);

		tap_ok((a ^ b) == 0x09, "input status 1: retrace and display enable toggle");
	}
}

static void test_dac(void)
{
	uint8_t c[6];

	fresh(16 * MiB);
	outb(0x3c8, 10);
	tap_ok(inb(0x3c7) == 0 && inb(0x3c8) == 10, "DAC: write index, state 'write'");
	outb(0x3c9, 0x3f);
	outb(0x3c9, 0xff);
	outb(0x3c9, 0x01);
	outb(0x3c9, 0x02);		/* entry 11 begins */
	tap_ok(inb(0x3c8) == 11 && !memcmp(&v.palette[30], "\x3f\x3f\x01", 3),
	       "three writes make an entry (6 bits each), the index moves on");
	outb(0x3c9, 0x03);
	outb(0x3c9, 0x04);
	outb(0x3c7, 10);
	tap_ok(inb(0x3c7) == 3, "DAC: read index, state 'read'");
	for (int i = 0; i < 6; i++)
		c[i] = inb(0x3c9);
	tap_ok(!memcmp(c, "\x3f\x3f\x01\x02\x03\x04", 6), "reads walk entries 10 and 11");
	outb(0x3c8, 255);
	outb(0x3c9, 1);
	outb(0x3c9, 2);
	outb(0x3c9, 3);
	tap_ok(inb(0x3c8) == 0 && v.palette[765] == 1, "the write index wraps after 255");
	outb(0x3c8, 20);
	outb(0x3c9, 9);
	outb(0x3c8, 21);		/* a new index drops a partial entry */
	outb(0x3c9, 7);
	outb(0x3c9, 8);
	outb(0x3c9, 9);
	tap_ok(v.palette[60] == 0 && !memcmp(&v.palette[63], "\x07\x08\x09", 3),
	       "a write index restarts the component sequence");
	outb(0x3c6, 0x0f);
	tap_ok(inb(0x3c6) == 0x0f, "PEL mask reads back");
}

/* ---- video memory ---- */

/* Planar 16-colour access: no chain-4, no odd/even, 64 KiB at 0xa0000. */
static void planar_setup(void)
{
	fresh(16 * MiB);
	outb(0x3c2, 0x63);
	seq(2, 0x0f);
	seq(4, 0x06);
	gc(5, 0x00);
	gc(6, 0x05);
	gc(8, 0xff);
}

static bool planes(uint32_t off, uint8_t p0, uint8_t p1, uint8_t p2, uint8_t p3)
{
	const uint8_t *b = &vram[off * 4];

	return b[0] == p0 && b[1] == p1 && b[2] == p2 && b[3] == p3;
}

static void test_planar(void)
{
	planar_setup();
	vga_mem_write(&v, 0, 0x5a);
	tap_ok(planes(0, 0x5a, 0x5a, 0x5a, 0x5a), "write mode 0: the byte goes to every enabled plane");
	seq(2, 0x02);
	vga_mem_write(&v, 1, 0x77);
	tap_ok(planes(1, 0, 0x77, 0, 0), "map mask: only plane 1");
	seq(2, 0x0f);

	gc(1, 0x0f);			/* set/reset on every plane */
	gc(0, 0x05);
	vga_mem_write(&v, 2, 0x00);
	tap_ok(planes(2, 0xff, 0x00, 0xff, 0x00), "write mode 0 with set/reset: colour 5");
	gc(1, 0x01);			/* only plane 0 from set/reset */
	vga_mem_write(&v, 3, 0x3c);
	tap_ok(planes(3, 0xff, 0x3c, 0x3c, 0x3c), "enable set/reset per plane");
	gc(1, 0x00);

	gc(3, 0x04);			/* rotate right by 4 */
	vga_mem_write(&v, 4, 0x12);
	tap_ok(planes(4, 0x21, 0x21, 0x21, 0x21), "data rotate");
	gc(3, 0x00);

	/* the bit mask keeps latched bits */
	vga_mem_read(&v, 2);		/* latches: ff 00 ff 00 */
	gc(8, 0x0f);
	vga_mem_write(&v, 5, 0x00);
	tap_ok(planes(5, 0xf0, 0x00, 0xf0, 0x00), "bit mask: masked bits come from the latches");
	gc(8, 0xff);

	/* logical operations against the latches */
	vga_mem_read(&v, 2);
	gc(3, 0x18);			/* XOR */
	vga_mem_write(&v, 6, 0x0f);
	tap_ok(planes(6, 0xf0, 0x0f, 0xf0, 0x0f), "logical op XOR with the latches");
	gc(3, 0x08);			/* AND */
	vga_mem_write(&v, 7, 0x0f);
	tap_ok(planes(7, 0x0f, 0x00, 0x0f, 0x00), "logical op AND");
	gc(3, 0x10);			/* OR */
	vga_mem_write(&v, 8, 0x0f);
	tap_ok(planes(8, 0xff, 0x0f, 0xff, 0x0f), "logical op OR");
	gc(3, 0x00);

	/* write mode 1: latches copied, a screen-to-screen move */
	vga_mem_read(&v, 2);
	gc(5, 0x01);
	vga_mem_write(&v, 9, 0x12);
	tap_ok(planes(9, 0xff, 0x00, 0xff, 0x00), "write mode 1 copies the latches");

	/* write mode 2: the low nibble is a colour */
	gc(5, 0x02);
	vga_mem_read(&v, 3);		/* latches: ff 3c 3c 3c */
	gc(8, 0xf0);
	vga_mem_write(&v, 10, 0x0c);
	tap_ok(planes(10, 0x0f, 0x0c, 0xfc, 0xfc), "write mode 2: colour 0xc through the bit mask");
	gc(8, 0xff);

	/* write mode 3: set/reset colour, CPU data ANDed into the bit mask */
	gc(5, 0x03);
	gc(0, 0x03);
	vga_mem_read(&v, 0x100);	/* latches zero */
	vga_mem_write(&v, 11, 0xf0);
	tap_ok(planes(11, 0xf0, 0xf0, 0x00, 0x00), "write mode 3");
	gc(3, 0x04);
	vga_mem_write(&v, 12, 0xf0);
	tap_ok(planes(12, 0x0f, 0x0f, 0x00, 0x00), "write mode 3 rotates the CPU data first");
	gc(3, 0x00);
	gc(5, 0x00);

	/* read mode 0: one plane */
	gc(4, 2);
	tap_ok(vga_mem_read(&v, 3) == 0x3c && (gc(4, 0), vga_mem_read(&v, 3)) == 0xff,
	       "read mode 0 returns the plane read map select names");

	/* read mode 1: colour compare */
	gc(5, 0x08);
	gc(2, 0x05);			/* colour 5 */
	gc(7, 0x0f);
	tap_ok(vga_mem_read(&v, 2) == 0xff, "read mode 1: every pixel is colour 5");
	tap_ok(vga_mem_read(&v, 5) == 0xf0, "read mode 1: four pixels of colour 5");
	gc(7, 0x01);			/* care about plane 0 only */
	tap_ok(vga_mem_read(&v, 3) == 0xff && vga_mem_read(&v, 0x100) == 0x00,
	       "colour don't care drops planes from the compare");
	gc(5, 0x00);
}

static void test_chain4_and_odd_even(void)
{
	planar_setup();
	seq(4, 0x0e);			/* chain-4 */
	gc(5, 0x40);
	for (unsigned int i = 0; i < 8; i++)
		vga_mem_write(&v, i, 0x10 + i);
	tap_ok(!memcmp(vram, "\x10\x11\x12\x13\x14\x15\x16\x17", 8),
	       "chain-4: consecutive addresses are consecutive pixels");
	seq(2, 0x0e);
	vga_mem_write(&v, 8, 0xee);
	vga_mem_write(&v, 9, 0xdd);
	tap_ok(vram[8] == 0 && vram[9] == 0xdd, "chain-4: address bits 0-1 select the plane of the map mask");
	tap_ok(vga_mem_read(&v, 5) == 0x15, "chain-4 reads");
	seq(2, 0x0f);

	/* memory map select */
	gc(6, 0x01);			/* 128 KiB at 0xa0000 */
	vga_mem_write(&v, 0x10005, 0x99);
	tap_ok(vram[0x10005] == 0x99, "map 0: the whole 128 KiB");
	gc(6, 0x09);			/* 0xb0000, 32 KiB */
	vga_mem_write(&v, 0x10001, 0x42);
	tap_ok(vram[1] == 0x42 && vga_mem_read(&v, 0) == 0xff && vga_mem_read(&v, 0x18000) == 0xff,
	       "map 2: 0xb0000-0xb7fff only");
	gc(6, 0x05);
	tap_ok(vga_mem_read(&v, 0x10000) == 0xff, "map 1: 0xb0000 does not decode");

	/* odd/even, as in text modes at 0xb8000 */
	fresh(16 * MiB);
	seq(2, 0x03);
	seq(4, 0x02);
	gc(5, 0x10);
	gc(6, 0x0e);
	vga_mem_write(&v, 0x18000, 'A');
	vga_mem_write(&v, 0x18001, 0x1f);
	vga_mem_write(&v, 0x18002, 'B');
	tap_ok(vram[0] == 'A' && vram[1] == 0x1f && vram[4] == 'B',
	       "odd/even: characters to plane 0, attributes to plane 1, a cell per dword");
	tap_ok(vga_mem_read(&v, 0x18001) == 0x1f && vga_mem_read(&v, 0x18002) == 'B',
	       "odd/even reads");
	tap_ok(vga_mem_read(&v, 0x17fff) == 0xff, "map 3 leaves 0xb0000-0xb7fff alone");
	seq(2, 0x01);
	vga_mem_write(&v, 0x18003, 0x70);
	tap_ok(vram[5] == 0, "odd/even: map mask per plane");
}

/* ---- rendering ---- */

/* A glyph a test can recognise: row y of character c. */
static uint8_t glyph(uint8_t c, unsigned int y)
{
	return (uint8_t)(c * 7 + y * 29) | 0x81;
}

/* Load a font into plane 2 as a BIOS does, then set mode 3 by hand. */
static void text_mode_setup(bool nine_dots)
{
	fresh(16 * MiB);
	outb(0x3c2, 0x67);
	seq(2, 0x04);
	seq(4, 0x06);
	gc(4, 0x02);
	gc(5, 0x00);
	gc(6, 0x04);
	gc(8, 0xff);
	for (unsigned int c = 0; c < 256; c++)
		for (unsigned int y = 0; y < 16; y++)
			vga_mem_write(&v, c * 32 + y, glyph(c, y));
	seq(1, nine_dots ? 0x00 : 0x01);
	seq(2, 0x03);
	seq(3, 0x00);
	seq(4, 0x02);
	gc(4, 0x00);
	gc(5, 0x10);
	gc(6, 0x0e);
	crtc(0x01, 79);
	crtc(0x07, 0x1f);
	crtc(0x09, 0x4f);		/* 16 lines a character */
	crtc(0x0a, 0x0e);		/* cursor lines 14-15 */
	crtc(0x0b, 0x0f);
	crtc(0x0c, 0);
	crtc(0x0d, 0);
	crtc(0x0e, 0);
	crtc(0x0f, 81);			/* row 1, column 1 */
	crtc(0x12, 0x8f);		/* 400 lines */
	crtc(0x13, 40);
	for (unsigned int i = 0; i < 16; i++)
		attr(i, i);
	attr(0x10, 0x0c);		/* line graphics, blink */
	attr(0x12, 0x0f);
	attr(0x14, 0x00);
	dac(0x00, 0, 0, 0);
	dac(0x01, 0, 0, 0x2a);
	dac(0x07, 0x2a, 0x2a, 0x2a);
	dac(0x0f, 0x3f, 0x3f, 0x3f);
	attr_enable();
}

static void put_text(unsigned int row, unsigned int col, const char *s, uint8_t attribute)
{
	for (uint32_t a = 0x18000 + (row * 80 + col) * 2; *s; s++, a += 2) {
		vga_mem_write(&v, a, (uint8_t)*s);
		vga_mem_write(&v, a + 1, attribute);
	}
}

/* Does cell (col, row) show glyph c in fg on bg, lines [y0, y1)? */
static bool cell_shows(unsigned int col, unsigned int row, unsigned int cw, uint8_t c,
		       uint32_t fg, uint32_t bg, unsigned int y0, unsigned int y1)
{
	for (unsigned int y = y0; y < y1; y++)
		for (unsigned int x = 0; x < 8; x++) {
			uint32_t want = glyph(c, y) & (0x80 >> x) ? fg : bg;

			if (pixel(col * cw + x, row * 16 + y) != want)
				return false;
		}
	return true;
}

static void test_text(void)
{
	const uint32_t blue = 0x0000aa, grey = 0xaaaaaa, white = 0xffffff;
	char buf[81 * 25 + 1];
	unsigned int cols, rows;
	int n;

	text_mode_setup(true);
	put_text(0, 0, "HI", 0x17);
	put_text(1, 0, "SeaBIOS (version 1.16.2)", 0x07);
	put_text(2, 0, "\xc4\xb3", 0x1f);
	tap_ok(vga_current_mode(&v) == VGA_MODE_TEXT, "mode 3 is a text mode");
	tap_ok(vga_render(&v, &scr) == 1 && scr.width == 720 && scr.height == 400 &&
	       scr.stride == 720 * 4, "80 x 25 cells of 9 x 16 dots: 720 x 400");
	tap_ok(cell_shows(0, 0, 9, 'H', grey, blue, 0, 16) && cell_shows(1, 0, 9, 'I', grey, blue, 0, 16),
	       "'HI': the plane 2 font, grey on blue through the attribute palette and DAC");
	tap_ok(pixel(8, 0) == blue && pixel(17, 5) == blue,
	       "the ninth column is background for letters");
	tap_ok(pixel(9 * 0 + 8, 2 * 16 + 3) == ((glyph(0xc4, 3) & 1) ? white : blue) &&
	       pixel(9 * 1 + 8, 2 * 16 + 3) == blue,
	       "line graphics (0xc0-0xdf) repeat the eighth column, others do not");
	tap_ok(cell_shows(2, 0, 9, 0, 0, 0, 0, 16), "empty cells are black (attribute 0)");
	tap_ok(cell_shows(1, 1, 9, 'e', grey, 0, 0, 14) && pixel(9 + 4, 16 + 14) == grey &&
	       pixel(9 + 8, 16 + 15) == grey, "the cursor fills lines 14-15 of its cell in the foreground");
	crtc(0x0a, 0x2e);
	vga_render(&v, &scr);
	tap_ok(cell_shows(1, 1, 9, 'e', grey, 0, 0, 16), "cursor start bit 5 hides the cursor");

	n = vga_text_read(&v, buf, sizeof(buf), &cols, &rows);
	tap_ok(n == 81 * 25 && cols == 80 && rows == 25 && !strncmp(buf, "HI  ", 4) &&
	       !strncmp(buf + 81, "SeaBIOS (version 1.16.2)   ", 27) && buf[80] == '\n' &&
	       buf[81 * 25] == '\0', "the text screen read back as characters");
	tap_ok(!strncmp(buf + 162, "..", 2), "bytes outside ASCII read back as '.'");
	n = vga_text_read(&v, buf, 10, NULL, NULL);
	tap_ok(n == 81 * 25 && !strcmp(buf, "HI       "), "a short buffer gets a truncated, terminated screen");

	/* blink enable: background bit 3 is blink, not intensity */
	put_text(3, 0, "X", 0x97);
	dac(0x09, 0x3f, 0, 0);
	vga_render(&v, &scr);
	tap_ok(cell_shows(0, 3, 9, 'X', grey, blue, 0, 16), "blink enabled: background colour 1 for attribute 0x97");
	attr(0x10, 0x04);
	attr_enable();
	vga_render(&v, &scr);
	tap_ok(cell_shows(0, 3, 9, 'X', grey, 0xff0000, 0, 16), "blink disabled: background colour 9");

	/* start address scrolls */
	crtc(0x0d, 80);
	vga_render(&v, &scr);
	tap_ok(cell_shows(0, 0, 9, 'S', grey, 0, 0, 14), "start address: row 1 at the top");
	tap_ok(vga_text_read(&v, buf, sizeof(buf), NULL, NULL) > 0 && !strncmp(buf, "SeaBIOS", 7),
	       "text read back follows the start address");

	/* 8-dot characters, second font via attribute bit 3 */
	text_mode_setup(false);
	put_text(0, 0, "AB", 0x07);
	vga_render(&v, &scr);
	tap_ok(scr.width == 640 && cell_shows(0, 0, 8, 'A', grey, 0, 0, 16) &&
	       cell_shows(1, 0, 8, 'B', grey, 0, 0, 16), "8-dot cells: 640 x 400");
	seq(2, 0x04);
	seq(4, 0x06);
	gc(5, 0x00);
	gc(6, 0x04);
	for (unsigned int y = 0; y < 16; y++)
		vga_mem_write(&v, 0x4000 + 'A' * 32 + y, glyph('Z', y));
	seq(2, 0x03);
	seq(4, 0x02);
	gc(5, 0x10);
	gc(6, 0x0e);
	seq(3, 0x04);			/* map A = font 1 (16 KiB), map B = font 0 */
	put_text(0, 1, "A", 0x0f);
	vga_render(&v, &scr);
	tap_ok(cell_shows(1, 0, 8, 'Z', white, 0, 0, 16) && cell_shows(0, 0, 8, 'A', grey, 0, 0, 16),
	       "character map select: attribute bit 3 picks the second font");

	/* 40 columns: the dot clock halves, each dot shown twice */
	seq(1, 0x09);
	crtc(0x01, 39);
	vga_render(&v, &scr);
	tap_ok(scr.width == 640 && pixel(0, 0) == pixel(1, 0) &&
	       pixel(0, 0) == ((glyph('A', 0) & 0x80) ? grey : 0), "40 columns: 16-dot cells");

	/* blanked while the palette is reloaded */
	inb(0x3da);
	outb(0x3c0, 0x00);
	tap_ok(vga_current_mode(&v) == VGA_MODE_OFF && vga_render(&v, &scr) == 1 &&
	       scr.width == 640 && pixel(0, 0) == 0 && pixel(639, 399) == 0,
	       "palette address source clear: a black screen of the same size");
	tap_ok(vga_text_read(&v, buf, sizeof(buf), NULL, NULL) > 0, "the text can still be read while blanked");
}

static void test_planar_render(void)
{
	planar_setup();
	crtc(0x11, 0);
	outb(0x3c2, 0xe3);
	crtc(0x01, 79);
	crtc(0x07, 0x02);		/* vertical display end bit 8 */
	crtc(0x09, 0x40);
	crtc(0x12, 0xdf);		/* 480 lines */
	crtc(0x13, 40);
	for (unsigned int i = 0; i < 16; i++)
		attr(i, i);
	attr(0x10, 0x01);
	attr(0x12, 0x0f);
	dac(0x0c, 0x3f, 0x10, 0x00);
	dac(0x03, 0x00, 0x3f, 0x3f);
	attr_enable();
	gc(5, 0x02);			/* write mode 2: colours */
	gc(8, 0x80);
	vga_mem_read(&v, 0);
	vga_mem_write(&v, 0, 0x0c);	/* pixel (0, 0) */
	gc(8, 0x01);
	vga_mem_read(&v, 80 + 79);
	vga_mem_write(&v, 80 + 79, 0x03);	/* pixel (639, 1) */
	tap_ok(vga_current_mode(&v) == VGA_MODE_PLANAR && vga_render(&v, &scr) == 1 &&
	       scr.width == 640 && scr.height == 480, "mode 12h: 640 x 480, 16 colours");
	tap_ok(pixel(0, 0) == 0xff4100 && pixel(1, 0) == 0 && pixel(639, 1) == 0x00ffff &&
	       pixel(638, 1) == 0, "planar pixels through the attribute palette and the DAC");
	attr(0x12, 0x03);		/* colour plane enable: planes 0-1 */
	attr(0x0c, 0x03);
	attr_enable();
	vga_render(&v, &scr);
	tap_ok(pixel(0, 0) == 0, "colour plane enable masks planes 2 and 3");
	attr(0x12, 0x0f);
	attr(0x14, 0x01);		/* colour select with P5:4 from it */
	attr(0x10, 0x81);
	dac(0x13, 0x3f, 0x3f, 0x00);
	attr_enable();
	vga_render(&v, &scr);
	tap_ok(pixel(639, 1) == 0xffff00, "palette bits 5-4 from the colour select register");
	crtc(0x09, 0xc0);		/* double scan: 240 rows */
	vga_render(&v, &scr);
	tap_ok(scr.height == 240, "double scan halves the picture");
}

static void test_mode13h(void)
{
	planar_setup();
	outb(0x3c2, 0x63);
	seq(4, 0x0e);
	gc(5, 0x40);
	gc(6, 0x05);
	crtc(0x01, 0x4f);
	crtc(0x07, 0x1f);
	crtc(0x09, 0x41);
	crtc(0x12, 0x8f);
	crtc(0x13, 40);
	crtc(0x14, 0x40);
	dac(0x00, 0, 0, 0);
	dac(0x21, 0x3f, 0x00, 0x00);
	dac(0x42, 0x00, 0x3f, 0x00);
	dac(0xff, 0x01, 0x02, 0x03);
	attr_enable();
	vga_mem_write(&v, 0, 0x21);
	vga_mem_write(&v, 1, 0x42);
	vga_mem_write(&v, 320 + 5, 0xff);
	vga_mem_write(&v, 320 * 200 - 1, 0x21);
	tap_ok(vga_current_mode(&v) == VGA_MODE_256 && vga_render(&v, &scr) == 1 &&
	       scr.width == 320 && scr.height == 200, "mode 13h: 320 x 200, 256 colours");
	tap_ok(pixel(0, 0) == 0xff0000 && pixel(1, 0) == 0x00ff00 && pixel(2, 0) == 0 &&
	       pixel(5, 1) == 0x04080c && pixel(319, 199) == 0xff0000,
	       "chain-4 bytes are pixels through the DAC (6-bit components widened)");
	dac(0x01, 0x3f, 0x3f, 0x3f);
	outb(0x3c6, 0x01);		/* PEL mask */
	vga_render(&v, &scr);
	tap_ok(pixel(1, 0) == 0 && pixel(0, 0) == 0xffffff, "the PEL mask applies to DAC indexes");
	outb(0x3c6, 0xff);
	crtc(0x0c, 0);
	crtc(0x0d, 80);			/* start at byte 320: one line down */
	vga_render(&v, &scr);
	tap_ok(pixel(5, 0) == 0x04080c, "start address in mode 13h counts dwords");
}

/* ---- dirty tracking ---- */

static void test_dirty(void)
{
	text_mode_setup(true);
	tap_ok(vga_render(&v, &scr) == 1, "the first render draws");
	tap_ok(vga_render(&v, &scr) == 0, "nothing changed: nothing drawn");
	inb(0x3da);
	vga_mem_read(&v, 0x18000);
	tap_ok(vga_render(&v, &scr) == 0, "reads change nothing");
	put_text(0, 0, "x", 0x07);
	tap_ok(vga_render(&v, &scr) == 1, "a text write: redrawn");
	dac(3, 1, 2, 3);
	tap_ok(vga_render(&v, &scr) == 1, "a palette write: redrawn");
	vga_touch(&v);
	tap_ok(vga_render(&v, &scr) == 1 && vga_render(&v, &scr) == 0,
	       "vga_touch (video memory written behind the model) forces one redraw");
}

/* ---- VBE ---- */

static void vbe_mode(uint16_t xres, uint16_t yres, uint16_t bpp, uint16_t flags)
{
	vbe(VBE_ENABLE, 0);
	vbe(VBE_XRES, xres);
	vbe(VBE_YRES, yres);
	vbe(VBE_BPP, bpp);
	vbe(VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED | flags);
}

static void lfb_write(uint32_t off, unsigned int size, uint64_t val)
{
	vga_lfb_ops.write(&v, off, size, val);
}

static void test_vbe_registers(void)
{
	fresh(16 * MiB);
	attr_enable();
	tap_ok(vbe_get(VBE_ID) == 0xb0c5 && vbe_port_read(&v, 0x1ce) == VBE_ID,
	       "dispi ID 0xB0C5, the index reads back");
	vbe(VBE_ID, 0xb0c0);
	tap_ok(vbe_get(VBE_ID) == 0xb0c0, "ID 0xB0C0 accepted");
	vbe(VBE_ID, 0x1234);
	vbe(VBE_ID, 0xb0c6);
	tap_ok(vbe_get(VBE_ID) == 0xb0c0, "IDs outside B0C0-B0C5 refused");
	tap_ok(vbe_get(VBE_VIDEO_MEMORY_64K) == 256 && vbe_get(0x0b) == 0 && vbe_get(0xffff) == 0,
	       "VIDEO_MEMORY_64K: 16 MiB; unknown indexes read 0");
	vbe(VBE_ENABLE, VBE_GETCAPS);
	tap_ok(vbe_get(VBE_XRES) == 16000 && vbe_get(VBE_YRES) == 12000 && vbe_get(VBE_BPP) == 32,
	       "GETCAPS: the maxima");
	vbe(VBE_ENABLE, 0);
	vbe(VBE_XRES, 1024);
	vbe(VBE_YRES, 768);
	vbe(VBE_BPP, 15);
	tap_ok(vbe_get(VBE_XRES) == 1024 && vbe_get(VBE_YRES) == 768 && vbe_get(VBE_BPP) == 15,
	       "while disabled, registers hold what was written");
	vram[0] = 0xaa;
	vbe(VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
	tap_ok(vbe_get(VBE_VIRT_WIDTH) == 1024 && vbe_get(VBE_VIRT_HEIGHT) == 16 * MiB / 2048 &&
	       v.vbe_line_offset == 2048 && vram[0] == 0, "enabling: virtual size from the mode, memory cleared");
	tap_ok(vga_current_mode(&v) == VGA_MODE_VBE && (v.gr[6] & 0x0d) == 0x05,
	       "VBE mode on; the VGA side in graphics with the 64 KiB window");
	vbe_mode(640, 480, 8, VBE_NOCLEARMEM);
	vram[0] = 0xaa;
	vbe_mode(640, 480, 8, VBE_NOCLEARMEM);
	tap_ok(vram[0] == 0xaa, "NOCLEARMEM keeps the framebuffer");

	/* banked window */
	vbe(VBE_BANK, 3);
	vga_mem_write(&v, 0x10, 0x77);
	tap_ok(vram[3 * 0x10000 + 0x10] == 0x77 && vga_mem_read(&v, 0x10) == 0x77,
	       "bank 3: 0xa0010 is byte 0x30010 of the framebuffer");
	tap_ok(vga_mem_read(&v, 0x10010) == 0xff, "the banked window is 64 KiB");
	seq(4, 0x00);
	seq(2, 0x00);
	vga_mem_write(&v, 0x11, 0x66);
	tap_ok(vram[3 * 0x10000 + 0x11] == 0x66, "VBE 8 bpp writes land whatever the sequencer says");

	/* 8-bit DAC */
	vbe(VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED | VBE_8BIT_DAC | VBE_NOCLEARMEM);
	dac(0x10, 0x80, 0xff, 0x01);
	tap_ok(!memcmp(&v.palette[0x30], "\x80\xff\x01", 3), "VBE_8BIT_DAC: 8-bit components");
	vbe(VBE_ENABLE, 0);
	tap_ok(vga_current_mode(&v) != VGA_MODE_VBE && v.bank_offset == 0,
	       "disabling leaves VBE and the bank");
}

static void test_vbe_render(void)
{
	fresh(16 * MiB);
	attr_enable();

	vbe_mode(640, 480, 32, 0);
	lfb_write((1 * 640 + 2) * 4, 4, 0x00123456);
	lfb_write(479 * 640 * 4 + 639 * 4, 4, 0xff654321);
	tap_ok(vga_render(&v, &scr) == 1 && scr.width == 640 && scr.height == 480 &&
	       pixel(2, 1) == 0x123456 && pixel(639, 479) == 0x654321 && pixel(0, 0) == 0,
	       "32 bpp: 640 x 480 XRGB from the LFB");

	vbe_mode(800, 600, 24, 0);
	lfb_write((3 * 800 + 4) * 3, 2, 0x3456);
	lfb_write((3 * 800 + 4) * 3 + 2, 1, 0x12);
	vga_render(&v, &scr);
	tap_ok(scr.width == 800 && scr.height == 600 && pixel(4, 3) == 0x123456 && pixel(5, 3) == 0,
	       "24 bpp: BGR bytes");

	vbe_mode(1024, 768, 16, 0);
	lfb_write((5 * 1024 + 6) * 2, 2, 0xf800);
	lfb_write((5 * 1024 + 7) * 2, 2, 0x07e0);
	lfb_write((5 * 1024 + 8) * 2, 2, 0x001f);
	lfb_write((5 * 1024 + 9) * 2, 2, 0x8410);
	vga_render(&v, &scr);
	tap_ok(pixel(6, 5) == 0xff0000 && pixel(7, 5) == 0x00ff00 && pixel(8, 5) == 0x0000ff &&
	       pixel(9, 5) == 0x848284, "16 bpp: 5-6-5");

	vbe_mode(320, 200, 15, 0);
	lfb_write(0, 2, 0x7c00);
	lfb_write(2, 2, 0x03e0);
	lfb_write(4, 2, 0x801f);	/* the top bit is ignored */
	vga_render(&v, &scr);
	tap_ok(scr.width == 320 && pixel(0, 0) == 0xff0000 && pixel(1, 0) == 0x00ff00 &&
	       pixel(2, 0) == 0x0000ff, "15 bpp: 5-5-5");

	vbe_mode(640, 400, 8, 0);
	dac(0x40, 0x3f, 0x20, 0x00);
	lfb_write(640 + 1, 1, 0x40);
	vga_render(&v, &scr);
	tap_ok(pixel(1, 1) == 0xff8200 && pixel(0, 1) == 0, "8 bpp through the DAC");
	vbe(VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED | VBE_8BIT_DAC | VBE_NOCLEARMEM);
	dac(0x40, 0x12, 0x34, 0x56);
	vga_render(&v, &scr);
	tap_ok(pixel(1, 1) == 0x123456, "8 bpp with the 8-bit DAC");

	/* panning over a virtual screen */
	vbe_mode(640, 480, 32, 0);
	vbe(VBE_VIRT_WIDTH, 1280);
	vbe(VBE_X_OFFSET, 640);
	vbe(VBE_Y_OFFSET, 480);
	lfb_write((480 * 1280 + 640) * 4, 4, 0xabcdef);
	tap_ok(vga_render(&v, &scr) == 1 && vbe_get(VBE_VIRT_WIDTH) == 1280 &&
	       v.vbe_line_offset == 5120 && pixel(0, 0) == 0xabcdef,
	       "virtual width and X/Y offsets pan the screen");

	/* 4 bpp: planar through the VGA palette */
	vbe_mode(800, 600, 4, 0);
	for (unsigned int i = 0; i < 16; i++)
		attr(i, i);
	dac(0x02, 0, 0x3f, 0);
	attr_enable();
	vram[4 * 1 + 1] = 0x80;		/* pixel 8: plane 1 */
	vga_touch(&v);
	vga_render(&v, &scr);
	tap_ok(scr.width == 800 && pixel(8, 0) == 0x00ff00 && pixel(7, 0) == 0,
	       "4 bpp: four planes");
}

static void test_vbe_clamping(void)
{
	fresh(16 * MiB);
	attr_enable();
	vbe_mode(0, 0, 7, 0);
	tap_ok(vbe_get(VBE_XRES) == 8 && vbe_get(VBE_YRES) == 1 && vbe_get(VBE_BPP) == 8,
	       "zero sizes and a bad depth become 8 x 1 x 8");
	vbe(VBE_XRES, 1001);
	tap_ok(vbe_get(VBE_XRES) == 1000 && vbe_get(VBE_VIRT_WIDTH) == 1000,
	       "widths round down to 8 pixels; the virtual width follows");
	vbe(VBE_XRES, 0xffff);
	vbe(VBE_YRES, 0xffff);
	tap_ok(vbe_get(VBE_XRES) == 16000 && vbe_get(VBE_YRES) == 1048,
	       "65535 x 65535: 16000 wide, as many lines as 16 MiB holds");
	vbe(VBE_BPP, 32);
	tap_ok(vbe_get(VBE_YRES) == 262 && vbe_get(VBE_VIRT_HEIGHT) == 262 &&
	       (uint64_t)vbe_get(VBE_YRES) * v.vbe_line_offset <= 16 * MiB,
	       "a deeper mode shrinks the height to fit video memory");
	tap_ok(vga_render(&v, &scr) == 1 && scr.width == 16000 && scr.height == 262,
	       "the largest mode renders within video memory");
	vbe(VBE_Y_OFFSET, 200);
	tap_ok(vbe_get(VBE_Y_OFFSET) == 0 && v.vbe_start == 0, "a Y offset past video memory is dropped");
	vbe(VBE_X_OFFSET, 3000);
	tap_ok(vbe_get(VBE_X_OFFSET) == 0, "an X offset past video memory is dropped");
	vbe(VBE_VIRT_WIDTH, 0xffff);
	tap_ok(vbe_get(VBE_VIRT_WIDTH) == 16000, "the virtual width is at most 16000");

	vbe_mode(640, 480, 32, 0);
	vbe(VBE_VIRT_WIDTH, 100);
	tap_ok(vbe_get(VBE_VIRT_WIDTH) == 640, "a virtual width below XRES becomes XRES");
	vbe(VBE_Y_OFFSET, 0xffff);
	tap_ok(vbe_get(VBE_Y_OFFSET) == 0, "a Y offset of 65535 is clamped, then dropped");
	tap_ok((uint64_t)v.vbe_start + 480ull * v.vbe_line_offset <= 16 * MiB,
	       "whatever the offsets, the screen stays inside video memory");
	vbe(VBE_Y_OFFSET, 6300);	/* (6300 + 480) lines of 2560 bytes > 16 MiB */
	tap_ok(vbe_get(VBE_Y_OFFSET) == 0, "a Y offset that would end past video memory is dropped");
	vbe(VBE_Y_OFFSET, 100);
	tap_ok(vbe_get(VBE_Y_OFFSET) == 100 && v.vbe_start == 100 * 2560, "a fitting Y offset is kept");

	vbe(VBE_BANK, 0xffff);
	tap_ok(vbe_get(VBE_BANK) == 255 && v.bank_offset == 255 * 0x10000,
	       "banks wrap to the video memory");
	vga_mem_write(&v, 0xffff, 0x5e);
	tap_ok(vram[16 * MiB - 1] == 0x5e && vga_mem_read(&v, 0xffff) == 0x5e,
	       "the last byte of video memory through the last bank");

	/* the same bank with VBE off and planar access: 4 bytes a card address */
	vbe(VBE_ENABLE, 0);
	vbe(VBE_BANK, 255);
	seq(4, 0x06);
	seq(2, 0x0f);
	gc(5, 0x00);
	gc(6, 0x05);
	vga_mem_write(&v, 0x8000, 0x11);
	tap_ok(vga_mem_read(&v, 0x8000) == 0xff, "planar access past video memory: refused, reads 0xff");

	/* a small card */
	fresh(1 * MiB);
	attr_enable();
	vbe_mode(1024, 768, 32, 0);
	tap_ok(vbe_get(VBE_YRES) == 256 && vbe_get(VBE_VIDEO_MEMORY_64K) == 16,
	       "1 MiB of vram: 1024 x 768 x 32 shrinks to 256 lines");
	vbe(VBE_BANK, 100);
	tap_ok(vbe_get(VBE_BANK) == 4 && v.bank_offset == 4 * 0x10000, "bank 100 of 16 wraps to 4");
	tap_ok(vga_render(&v, &scr) == 1 && scr.height == 256, "renders within 1 MiB");
	vbe_mode(16000, 12000, 32, 0);
	tap_ok(vbe_get(VBE_YRES) == 16 && vga_render(&v, &scr) == 1,
	       "16000 x 12000 x 32 on 1 MiB: 16 lines");

	/* LFB accessor bounds */
	tap_ok(vga_lfb_ops.read(&v, MiB - 2, 4) == ~0ull && vga_lfb_ops.read(&v, MiB, 1) == ~0ull,
	       "LFB accesses past the end read all ones");
	vga_lfb_ops.write(&v, MiB - 1, 2, 0xffff);
	vga_lfb_ops.write(&v, MiB - 1, 1, 0x12);
	tap_ok(vram[MiB - 1] == 0x12, "LFB writes past the end are dropped, the last byte writes");
}

/* ---- BAR2 ---- */

static void test_mmio(void)
{
	fresh(16 * MiB);
	vga_mmio_ops.write(&v, 0x404, 2, 0x0f02);	/* 0x3c4 = 2, 0x3c5 = 0x0f */
	tap_ok(v.sr[2] == 0x0f, "0x400: ports 0x3c0-0x3df, a word writes index then data");
	tap_ok(vga_mmio_ops.read(&v, 0x404, 2) == 0x0f02, "and reads the same way");
	vga_mmio_ops.write(&v, 0x400, 1, 0x12);
	vga_mmio_ops.write(&v, 0x400, 1, 0x20);
	tap_ok(v.ar[0x12] == 0x20, "attribute index then data through 0x400");
	vga_mmio_ops.write(&v, 0x400, 1, 0x20);
	tap_ok(vga_current_mode(&v) != VGA_MODE_OFF, "the palette source bit through MMIO");
	vga_mmio_ops.write(&v, 0x500 + 2 * VBE_XRES, 2, 800);
	vga_mmio_ops.write(&v, 0x500 + 2 * VBE_YRES, 2, 600);
	vga_mmio_ops.write(&v, 0x500 + 2 * VBE_BPP, 2, 32);
	vga_mmio_ops.write(&v, 0x500 + 2 * VBE_ENABLE, 2, VBE_ENABLED | VBE_LFB_ENABLED);
	tap_ok(vga_current_mode(&v) == VGA_MODE_VBE && vbe_get(VBE_XRES) == 800 &&
	       vga_mmio_ops.read(&v, 0x500 + 2 * VBE_YRES, 2) == 600,
	       "0x500: dispi registers flat, 16 bits");
	tap_ok(vga_mmio_ops.read(&v, 0x500 + 2 * VBE_VIDEO_MEMORY_64K, 2) == 256 &&
	       vga_mmio_ops.read(&v, 0x500, 2) == 0xb0c5, "ID and video memory at 0x500 and 0x514");
	tap_ok(vga_mmio_ops.read(&v, 0x600, 4) == 8 && vga_mmio_ops.read(&v, 0x604, 4) == 0x1e1e1e1e,
	       "0x600: extended region of 8 bytes, little endian");
	vga_mmio_ops.write(&v, 0x604, 4, 0xbebebebe);
	tap_ok(vga_mmio_ops.read(&v, 0x604, 4) == 0x1e1e1e1e, "big endian is not offered");
	tap_ok(vga_mmio_ops.read(&v, 0x10, 4) == 0 && vga_mmio_ops.read(&v, 0x800, 4) == ~0ull,
	       "no EDID (zeros); unused space reads all ones");

	/* the port and window accessors split wide accesses */
	vga_port_ops.write(&v, 0x3ce - VGA_PORT_BASE, 2, 0x5a08);
	tap_ok(v.gr[8] == 0x5a, "an outw to 0x3ce sets index and data");
	vbe_port_ops.write(&v, 0, 2, VBE_XRES);
	tap_ok(vbe_port_ops.read(&v, 1, 2) == 800 && vbe_port_ops.read(&v, 2, 2) == 800,
	       "VBE data at 0x1cf and 0x1d0");
	vga_window_ops.write(&v, 0x20, 4, 0x44332211);
	tap_ok(!memcmp(vram + 0x20, "\x11\x22\x33\x44", 4) && vga_window_ops.read(&v, 0x20, 4) == 0x44332211,
	       "a dword in the window is four byte cycles");
}

int main(void)
{
	tap_plan(147);
	test_init_and_pci();
	test_registers();
	test_dac();
	test_planar();
	test_chain4_and_odd_even();
	test_text();
	test_planar_render();
	test_mode13h();
	test_dirty();
	test_vbe_registers();
	test_vbe_render();
	test_vbe_clamping();
	test_mmio();
	vga_screen_free(&scr);
	free(vram);
	return tap_done();
}
