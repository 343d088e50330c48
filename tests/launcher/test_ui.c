/* tests/launcher/test_ui.c: the display frontends' pure parts: keysyms to PC keys with the Shift fix-up, terminal bytes to keys, and the ANSI text renderer. */
#include <string.h>

/* key lists below name only the keysym where no modifier is held */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include "tap.h"
#include "hw/ps2.h"
#include "hw/vga.h"
#include "ui.h"

/* What a frontend emitted: codes, bit 15 set for a release. */
struct rec {
	uint16_t ev[64];
	unsigned int n;
};

static void record(void *ctx, uint16_t code, bool down)
{
	struct rec *r = ctx;

	if (r->n < 64)
		r->ev[r->n++] = down ? code : (uint16_t)(code | 0x8000);
}

static int same(const struct rec *r, const uint16_t *want, unsigned int n)
{
	return r->n == n && !memcmp(r->ev, want, n * sizeof(uint16_t));
}
#define REL(c) ((uint16_t)((c) | 0x8000))
#define SAME(r, ...) ({ static const uint16_t w_[] = { __VA_ARGS__ }; \
	same(r, w_, sizeof(w_) / sizeof(w_[0])); })

static void press(struct ui_keys *k, struct rec *r, uint32_t keysym)
{
	ui_keysym(k, keysym, true, record, r);
	ui_keysym(k, keysym, false, record, r);
}

static void test_keysyms(void)
{
	struct ui_keys k = { 0 };
	struct rec r = { .n = 0 };
	enum ui_shift sh;
	uint16_t code;
	bool all = true;

	/* every printable ASCII character has a key */
	for (uint32_t c = 0x20; c < 0x7f; c++)
		all &= ui_keysym_key(c, &code, &sh) && code >= 0x02 && code <= 0x39;
	tap_ok(all, "every printable ASCII keysym has a main-block key");
	tap_ok(ui_keysym_key('a', &code, &sh) && code == 0x1e && sh == UI_SHIFT_ANY &&
	       ui_keysym_key('A', &code, &sh) && code == 0x1e && sh == UI_SHIFT_ANY,
	       "a and A: key 0x1e, either case (Caps Lock is the guest's)");
	tap_ok(ui_keysym_key('1', &code, &sh) && code == 0x02 && sh == UI_SHIFT_NO &&
	       ui_keysym_key('!', &code, &sh) && code == 0x02 && sh == UI_SHIFT_YES,
	       "1 and !: key 0x02, unshifted and shifted");
	tap_ok(ui_keysym_key('|', &code, &sh) && code == 0x2b && sh == UI_SHIFT_YES &&
	       ui_keysym_key('~', &code, &sh) && code == 0x29 && sh == UI_SHIFT_YES &&
	       ui_keysym_key('"', &code, &sh) && code == 0x28 && sh == UI_SHIFT_YES,
	       "| ~ \": US layout keys with Shift");
	tap_ok(ui_keysym_key(UI_XK_Return, &code, &sh) && code == 0x1c &&
	       ui_keysym_key(UI_XK_Up, &code, &sh) && code == 0xe048 &&
	       ui_keysym_key(UI_XK_Delete, &code, &sh) && code == 0xe053 &&
	       ui_keysym_key(0xffc9, &code, &sh) && code == 0x58 &&
	       ui_keysym_key(0xff13, &code, &sh) && code == PS2_KEY_PAUSE &&
	       ui_keysym_key(0xffea, &code, &sh) && code == 0xe038,
	       "Return, Up, Delete, F12, Pause, Alt_R: their set 1 codes");
	tap_ok(!ui_keysym_key(0x20ac, &code, &sh) && !ui_keysym_key(0xe9, &code, &sh),
	       "a keysym no US key gives (EuroSign, eacute) has none");

	press(&k, &r, 'x');
	tap_ok(SAME(&r, 0x2d, REL(0x2d)), "x: press and release");
	r.n = 0;
	press(&k, &r, '$');
	tap_ok(SAME(&r, 0x2a, 0x05, REL(0x2a), REL(0x05)),
	       "$ without Shift held (vncdo style): Shift wraps the press");
	r.n = 0;
	ui_keysym(&k, UI_XK_Shift_L, true, record, &r);
	press(&k, &r, '$');
	ui_keysym(&k, UI_XK_Shift_L, false, record, &r);
	tap_ok(SAME(&r, 0x2a, 0x05, REL(0x05), REL(0x2a)),
	       "$ with Shift_L held (a viewer's way): as sent, no extra Shift");
	r.n = 0;
	ui_keysym(&k, UI_XK_Shift_R, true, record, &r);
	press(&k, &r, '/');
	ui_keysym(&k, UI_XK_Shift_R, false, record, &r);
	tap_ok(SAME(&r, 0x36, REL(0x36), 0x35, 0x36, REL(0x35), REL(0x36)),
	       "/ sent with Shift_R held (a German layout): Shift lifted around the press");
	r.n = 0;
	ui_keysym(&k, UI_XK_Shift_L, true, record, &r);
	press(&k, &r, 'Q');
	ui_keysym(&k, UI_XK_Shift_L, false, record, &r);
	tap_ok(SAME(&r, 0x2a, 0x10, REL(0x10), REL(0x2a)) && !k.shift_l,
	       "Shift_L, Q: letters pass as they are; the Shift state follows its release");
	r.n = 0;
	ui_keysym(&k, 0x12345, true, record, &r);
	tap_ok(r.n == 0, "an unknown keysym sends nothing");
}

static int decode_is(const char *bytes, const struct ui_term_key *want, size_t n)
{
	struct ui_term_key got[16];
	size_t k = ui_term_decode((const uint8_t *)bytes, strlen(bytes), got, 16);

	if (k != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (got[i].keysym != want[i].keysym || got[i].ctrl != want[i].ctrl ||
		    got[i].alt != want[i].alt)
			return 0;
	return 1;
}
#define DECODES(bytes, ...) ({ static const struct ui_term_key w_[] = { __VA_ARGS__ }; \
	decode_is(bytes, w_, sizeof(w_) / sizeof(w_[0])); })

static void test_terminal_keys(void)
{
	struct ui_keys k = { 0 };
	struct rec r = { .n = 0 };
	struct ui_term_key key = { .keysym = 'c', .ctrl = true };

	tap_ok(DECODES("ls -l\r", { 'l' }, { 's' }, { ' ' }, { '-' }, { 'l' }, { UI_XK_Return }),
	       "terminal: printable bytes and CR");
	tap_ok(DECODES("\003\x7f\t", { 'c', true, false }, { UI_XK_BackSpace }, { UI_XK_Tab }),
	       "terminal: Ctrl-C, DEL as Backspace, Tab");
	tap_ok(DECODES("\033[A\033[B\033OC\033[D\033[H\033[4~", { UI_XK_Up }, { UI_XK_Down },
		       { UI_XK_Right }, { UI_XK_Left }, { UI_XK_Home }, { UI_XK_End }),
	       "terminal: CSI and SS3 arrows, Home, VT220 End");
	tap_ok(DECODES("\033[3~\033[5~\033[6~\033OP\033[15~\033[24~\033[[A", { UI_XK_Delete },
		       { UI_XK_Page_Up }, { UI_XK_Page_Down }, { UI_XK_F1 }, { UI_XK_F1 + 4 },
		       { UI_XK_F1 + 11 }, { UI_XK_F1 }),
	       "terminal: Delete, Page Up/Down, F1 (SS3), F5, F12, the console's F1");
	tap_ok(DECODES("\033x\033", { 'x', false, true }, { UI_XK_Escape }),
	       "terminal: ESC x is Alt-x; a lone ESC at the end is Escape");
	tap_ok(DECODES("\033[1;5C", { UI_XK_Right }), "terminal: modified arrow (Ctrl-Right) as the arrow");
	tap_ok(DECODES("\xc3\xa9z", { 'z' }), "terminal: UTF-8 bytes without a US key dropped");
	ui_term_key(&k, &key, record, &r);
	tap_ok(SAME(&r, 0x1d, 0x2e, REL(0x2e), REL(0x1d)), "terminal: Ctrl-C as Ctrl down, c, c up, Ctrl up");
}

/* ---- the text renderer ---- */

static uint16_t cells_a[80 * 25], cells_b[80 * 25];

static int contains(const struct ui_buf *b, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i + n <= b->len; i++)
		if (!memcmp(b->p + i, s, n))
			return 1;
	return 0;
}

static void put_text(uint16_t *cells, unsigned int row, unsigned int col, const char *s, uint8_t attr)
{
	for (; *s; s++, col++)
		cells[row * 80 + col] = (uint8_t)*s | attr << 8;
}

static void test_text(void)
{
	struct ui_text old = { 80, 25, cells_a, -1, false }, new = { 80, 25, cells_b, -1, true };
	struct ui_buf out = { 0 };

	for (unsigned int i = 0; i < 80 * 25; i++)
		cells_a[i] = cells_b[i] = ' ' | 0x07 << 8;
	put_text(cells_b, 0, 0, "SeaBIOS (version 1.16.2)", 0x07);
	put_text(cells_b, 24, 0, "boot: ", 0x1f);
	new.cursor = 24 * 80 + 6;
	tap_ok(ui_text_draw(&old, &new, &out) == 0 && !memcmp(out.p, "\033[0m\033[H\033[2J", 11),
	       "text: a first draw clears the terminal");
	tap_ok(contains(&out, "\033[1;1H\033[0;37;40mSeaBIOS (version 1.16.2)"),
	       "text: row 1 in light grey on black (attribute 07)");
	tap_ok(contains(&out, "\033[25;1H\033[0;97;44mboot: "),
	       "text: row 25 in bright white on blue (attribute 1f: VGA blue is ANSI 4)");
	tap_ok(out.len > 5 && !memcmp(out.p + out.len - 13, "\033[25;7H\033[?25h", 13),
	       "text: ends with the cursor at row 25, column 7, shown");

	/* the terminal now shows new: change two cells in the middle of a row */
	memcpy(cells_a, cells_b, sizeof(cells_a));
	old.valid = true;
	out.len = 0;
	put_text(cells_b, 10, 40, "ok", 0x0c);
	new.cursor = -1;
	tap_ok(ui_text_draw(&old, &new, &out) == 0 && !contains(&out, "\033[2J") &&
	       contains(&out, "\033[11;41H\033[0;91;40mok") && !contains(&out, "SeaBIOS") &&
	       !memcmp(out.p + out.len - 6, "\033[?25l", 6),
	       "text: a redraw sends only the changed run (bright red 'ok' at 11,41), cursor hidden");
	memcpy(cells_a, cells_b, sizeof(cells_a));
	out.len = 0;
	ui_text_draw(&old, &new, &out);
	tap_ok(out.len == 6, "text: an unchanged screen sends only the cursor state (%zu bytes)", out.len);

	/* code page 437 */
	cells_b[0] = 0xc9 | 0x07 << 8;		/* double top-left corner */
	cells_b[1] = 0x01 | 0x07 << 8;		/* smiley */
	cells_b[2] = 0x00 | 0x07 << 8;		/* NUL: a blank */
	out.len = 0;
	ui_text_draw(&old, &new, &out);
	tap_ok(contains(&out, "\xe2\x95\x94\xe2\x98\xba "), "text: CP437 0xc9, 0x01 as UTF-8 box and smiley; NUL blank");
	tap_ok(ui_cp437(0xdb) == 0x2588 && ui_cp437(0xb0) == 0x2591 && ui_cp437('A') == 'A' &&
	       ui_cp437(0xe1) == 0x00df && ui_cp437(0x7f) == 0x2302,
	       "text: cp437 full block, light shade, A, sharp s, house");
	/* another size: cleared and drawn whole */
	new.cols = 40;
	out.len = 0;
	ui_text_draw(&old, &new, &out);
	tap_ok(contains(&out, "\033[2J") && contains(&out, "\033[25;1H"), "text: a new size redraws everything");
	ui_buf_free(&out);
}

/* vga_text_cells on a card set up as mode 3 by hand */
static void test_vga_cells(void)
{
	static uint8_t vram[1 << 20];
	struct vga v;
	uint16_t cells[80 * 25];
	unsigned int cols = 0, rows = 0;
	int cursor = 0, n;

	vga_init(&v, vram, sizeof(vram));
	v.ar_index = 0x20;
	v.cr[0x01] = 79;		/* 80 columns */
	v.cr[0x09] = 15;		/* 16 scan lines a row */
	v.cr[0x12] = 0x8f;		/* 400 lines: 0x18f */
	v.cr[0x07] = 0x02 | 0x10;
	v.cr[0x13] = 40;		/* 80 cells a line */
	v.cr[0x0e] = 0;
	v.cr[0x0f] = 81;		/* row 1, column 1 */
	v.cr[0x0a] = 0x0e;
	vram[(80 + 2) * 4] = 'K';
	vram[(80 + 2) * 4 + 1] = 0x4e;
	n = vga_text_cells(&v, cells, 80 * 25, &cols, &rows, &cursor);
	tap_ok(n == 2000 && cols == 80 && rows == 25 && cursor == 81 && cells[82] == ('K' | 0x4e << 8),
	       "vga_text_cells: 80 x 25, the cursor's cell, character and attribute (%d %ux%u %d)",
	       n, cols, rows, cursor);
	tap_ok(vga_text_cells(&v, cells, 100, &cols, &rows, &cursor) == -1, "vga_text_cells: too small a buffer: -1");
	v.cr[0x0a] = 0x20;
	vga_text_cells(&v, cells, 80 * 25, &cols, &rows, &cursor);
	tap_ok(cursor == -1, "vga_text_cells: cursor disabled (CR0A bit 5): -1");
	v.gr[6] = 1;
	tap_ok(vga_text_cells(&v, cells, 80 * 25, &cols, &rows, &cursor) == -1, "vga_text_cells: graphics mode: -1");
}


/* vga_render_dirty: a 64 x 64 VBE screen at 32 bpp, 256 bytes a line (16 lines a page) */
static void test_render_dirty(void)
{
	static uint8_t vram[1 << 20];
	struct vga_screen scr = { 0 };
	unsigned long pages[(sizeof(vram) / 4096 + 63) / 64] = { 0 };
	unsigned int y0 = 99, y1 = 99;
	struct vga v;
	int r;

	vga_init(&v, vram, sizeof(vram));
	v.ar_index = 0x20;
	vbe_reg_write(&v, VBE_XRES, 64);
	vbe_reg_write(&v, VBE_YRES, 64);
	vbe_reg_write(&v, VBE_BPP, 32);
	vbe_reg_write(&v, VBE_ENABLE, VBE_ENABLED | VBE_LFB_ENABLED);
	r = vga_render_dirty(&v, &scr, pages, sizeof(vram) / 4096, &y0, &y1);
	tap_ok(r == 1 && y0 == 0 && y1 == 64 && scr.width == 64, "render_dirty: a first picture is drawn whole");
	r = vga_render_dirty(&v, &scr, pages, sizeof(vram) / 4096, &y0, &y1);
	tap_ok(r == 0, "render_dirty: no page written, no register: nothing drawn");
	/* the guest writes pixel (5, 40) through the framebuffer, page 2 (rows 32-47) */
	memcpy(vram + 40 * 256 + 5 * 4, "\x33\x22\x11\x00", 4);
	pages[0] = 1ul << 2;
	r = vga_render_dirty(&v, &scr, pages, sizeof(vram) / 4096, &y0, &y1);
	tap_ok(r == 1 && y0 == 32 && y1 == 48 && scr.pixels[40 * 64 + 5] == 0x112233,
	       "render_dirty: page 2 written: rows 32-47 redrawn, the pixel as XRGB (%d, %u-%u)", r, y0, y1);
	memcpy(vram + 63 * 256, "\x01\x00\x00\x00", 4);
	pages[0] = 1ul << 3 | 1ul << 40;	/* the last page shown, and one past the screen */
	r = vga_render_dirty(&v, &scr, pages, sizeof(vram) / 4096, &y0, &y1);
	tap_ok(r == 1 && y0 == 48 && y1 == 64 && scr.pixels[63 * 64] == 1,
	       "render_dirty: pages past the screen ignored, rows clamped to it (%u-%u)", y0, y1);
	pages[0] = 0;
	vbe_reg_write(&v, VBE_Y_OFFSET, 0);	/* a register write: all of it */
	r = vga_render_dirty(&v, &scr, pages, sizeof(vram) / 4096, &y0, &y1);
	tap_ok(r == 1 && y0 == 0 && y1 == 64, "render_dirty: after a register write the whole screen");
	vga_screen_free(&scr);
}
int main(void)
{
	tap_plan(38);
	test_keysyms();
	test_terminal_keys();
	test_text();
	test_vga_cells();
	test_render_dirty();
	return tap_done();
}
