/* launcher/ui-text.c: a VGA text screen drawn on an ANSI terminal: changed runs of cells only, 16 colours, code page 437 as UTF-8. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"

/* Code page 437: 0x00-0x1f and 0x7f-0xff (the rest is ASCII). */
static const uint16_t cp437_low[32] = {
	0x0020, 0x263a, 0x263b, 0x2665, 0x2666, 0x2663, 0x2660, 0x2022,
	0x25d8, 0x25cb, 0x25d9, 0x2642, 0x2640, 0x266a, 0x266b, 0x263c,
	0x25ba, 0x25c4, 0x2195, 0x203c, 0x00b6, 0x00a7, 0x25ac, 0x21a8,
	0x2191, 0x2193, 0x2192, 0x2190, 0x221f, 0x2194, 0x25b2, 0x25bc,
};
static const uint16_t cp437_high[129] = {
	0x2302,
	0x00c7, 0x00fc, 0x00e9, 0x00e2, 0x00e4, 0x00e0, 0x00e5, 0x00e7,
	0x00ea, 0x00eb, 0x00e8, 0x00ef, 0x00ee, 0x00ec, 0x00c4, 0x00c5,
	0x00c9, 0x00e6, 0x00c6, 0x00f4, 0x00f6, 0x00f2, 0x00fb, 0x00f9,
	0x00ff, 0x00d6, 0x00dc, 0x00a2, 0x00a3, 0x00a5, 0x20a7, 0x0192,
	0x00e1, 0x00ed, 0x00f3, 0x00fa, 0x00f1, 0x00d1, 0x00aa, 0x00ba,
	0x00bf, 0x2310, 0x00ac, 0x00bd, 0x00bc, 0x00a1, 0x00ab, 0x00bb,
	0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
	0x2555, 0x2563, 0x2551, 0x2557, 0x255d, 0x255c, 0x255b, 0x2510,
	0x2514, 0x2534, 0x252c, 0x251c, 0x2500, 0x253c, 0x255e, 0x255f,
	0x255a, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256c, 0x2567,
	0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256b,
	0x256a, 0x2518, 0x250c, 0x2588, 0x2584, 0x258c, 0x2590, 0x2580,
	0x03b1, 0x00df, 0x0393, 0x03c0, 0x03a3, 0x03c3, 0x00b5, 0x03c4,
	0x03a6, 0x0398, 0x03a9, 0x03b4, 0x221e, 0x03c6, 0x03b5, 0x2229,
	0x2261, 0x00b1, 0x2265, 0x2264, 0x2320, 0x2321, 0x00f7, 0x2248,
	0x00b0, 0x2219, 0x00b7, 0x221a, 0x207f, 0x00b2, 0x25a0, 0x0020,
};

uint32_t ui_cp437(uint8_t c)
{
	if (c < 0x20)
		return cp437_low[c];
	if (c < 0x7f)
		return c;
	return cp437_high[c - 0x7f];
}

void ui_buf_free(struct ui_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int put(struct ui_buf *b, const char *s, size_t n)
{
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	return 0;
}

static int putf(struct ui_buf *b, const char *fmt, unsigned int x, unsigned int y)
{
	char s[32];
	int n = snprintf(s, sizeof(s), fmt, x, y);

	return put(b, s, (size_t)n);
}

static int put_utf8(struct ui_buf *b, uint32_t cp)
{
	char s[3];

	if (cp < 0x80) {
		s[0] = (char)cp;
		return put(b, s, 1);
	}
	if (cp < 0x800) {
		s[0] = (char)(0xc0 | cp >> 6);
		s[1] = (char)(0x80 | (cp & 0x3f));
		return put(b, s, 2);
	}
	s[0] = (char)(0xe0 | cp >> 12);
	s[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	s[2] = (char)(0x80 | (cp & 0x3f));
	return put(b, s, 3);
}

/* VGA colour bits are blue, green, red; ANSI's red, green, blue. */
static unsigned int ansi_color(unsigned int vga)
{
	return (vga & 1) << 2 | (vga & 2) | (vga & 4) >> 2;
}

static int put_attr(struct ui_buf *b, uint8_t attr)
{
	unsigned int fg = attr & 0x0f, bg = (attr >> 4) & 7;

	return putf(b, "\033[0;%u;%um", (fg & 8 ? 90 : 30) + ansi_color(fg), 40 + ansi_color(bg));
}

int ui_text_draw(const struct ui_text *old, const struct ui_text *new, struct ui_buf *out)
{
	bool full = !old->valid || old->cols != new->cols || old->rows != new->rows;
	int attr = -1;	/* the terminal's current colours: unknown */
	int err = 0;

	if (full)
		err |= put(out, "\033[0m\033[H\033[2J", 11);
	for (unsigned int row = 0; row < new->rows; row++) {
		const uint16_t *n = new->cells + (size_t)row * new->cols;
		const uint16_t *o = full ? NULL : old->cells + (size_t)row * old->cols;
		unsigned int first = 0, last = new->cols;

		if (o) {
			while (first < new->cols && n[first] == o[first])
				first++;
			if (first == new->cols)
				continue;
			while (last > first && n[last - 1] == o[last - 1])
				last--;
		}
		err |= putf(out, "\033[%u;%uH", row + 1, first + 1);
		for (unsigned int col = first; col < last; col++) {
			uint8_t ch = n[col] & 0xff, a = n[col] >> 8;

			if (a != attr) {
				err |= put_attr(out, a);
				attr = a;
			}
			err |= put_utf8(out, ch ? ui_cp437(ch) : ' ');
		}
	}
	if (new->cursor >= 0 && (unsigned int)new->cursor < new->cols * new->rows)
		err |= putf(out, "\033[%u;%uH\033[?25h", (unsigned int)new->cursor / new->cols + 1,
			    (unsigned int)new->cursor % new->cols + 1);
	else
		err |= put(out, "\033[?25l", 6);
	return err ? -1 : 0;
}
