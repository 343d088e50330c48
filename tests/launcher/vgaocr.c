/* tests/launcher/vgaocr.c: reads the characters of a VGA text screen back from a picture of it (a vncsnapshot JPEG), by matching each cell against the VGA BIOS's 8x16 font. */
/*
 *   vgaocr SCREEN.jpg VGABIOS.rom
 * prints the screen as text, a line a row, characters outside printable
 * ASCII as '.', blanks as ' '. The picture must be a whole number of 9- or
 * 8-pixel wide, 16-line cells (720 x 400 for mode 3). The font is found in
 * the ROM by the glyph of 'A'. Exit status 1 on an unreadable input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static const uint8_t glyph_A[16] = {
	0x00, 0x00, 0x10, 0x38, 0x6c, 0xc6, 0xc6, 0xfe, 0xc6, 0xc6, 0xc6, 0xc6, 0x00, 0x00, 0x00, 0x00,
};

static uint8_t *load_font(const char *path)
{
	static uint8_t rom[256 * 1024];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return NULL;
	n = fread(rom, 1, sizeof(rom), f);
	fclose(f);
	for (size_t off = 0x41 * 16; off + 16 <= n; off++)
		if (!memcmp(rom + off, glyph_A, 16) && off - 0x41 * 16 + 4096 <= n)
			return rom + off - 0x41 * 16;
	return NULL;
}

static uint8_t *load_jpeg(const char *path, unsigned int *w, unsigned int *h)
{
	struct jpeg_decompress_struct cinfo;
	struct jpeg_error_mgr jerr;
	FILE *f = fopen(path, "rb");
	uint8_t *img;

	if (!f)
		return NULL;
	cinfo.err = jpeg_std_error(&jerr);
	jpeg_create_decompress(&cinfo);
	jpeg_stdio_src(&cinfo, f);
	jpeg_read_header(&cinfo, TRUE);
	cinfo.out_color_space = JCS_GRAYSCALE;
	jpeg_start_decompress(&cinfo);
	*w = cinfo.output_width;
	*h = cinfo.output_height;
	img = malloc((size_t)*w * *h);
	while (img && cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW row = img + (size_t)cinfo.output_scanline * *w;

		jpeg_read_scanlines(&cinfo, &row, 1);
	}
	jpeg_finish_decompress(&cinfo);
	jpeg_destroy_decompress(&cinfo);
	fclose(f);
	return img;
}

int main(int argc, char **argv)
{
	unsigned int w, h, cw;
	uint8_t *img, *font;

	if (argc != 3) {
		fprintf(stderr, "usage: vgaocr SCREEN.jpg VGABIOS.rom\n");
		return 2;
	}
	font = load_font(argv[2]);
	img = load_jpeg(argv[1], &w, &h);
	if (!font || !img) {
		fprintf(stderr, "vgaocr: cannot read %s\n", font ? argv[1] : argv[2]);
		return 1;
	}
	cw = w % 9 == 0 && w / 9 <= 132 ? 9 : 8;
	if (w % cw || h % 16) {
		fprintf(stderr, "vgaocr: %ux%u is not a text screen of 9x16 or 8x16 cells\n", w, h);
		return 1;
	}
	for (unsigned int row = 0; row < h / 16; row++) {
		for (unsigned int col = 0; col < w / cw; col++) {
			uint8_t bits[16];
			unsigned int lo = 255, hi = 0, best = 0, bestd = 999;

			/* the cell's two colours: threshold half way between its extremes */
			for (unsigned int y = 0; y < 16; y++)
				for (unsigned int x = 0; x < 8; x++) {
					unsigned int l = img[(size_t)(row * 16 + y) * w + col * cw + x];

					lo = l < lo ? l : lo;
					hi = l > hi ? l : hi;
				}
			for (unsigned int y = 0; y < 16; y++) {
				bits[y] = 0;
				for (unsigned int x = 0; x < 8; x++)
					if (hi - lo > 48 &&
					    img[(size_t)(row * 16 + y) * w + col * cw + x] > (lo + hi) / 2)
						bits[y] |= 0x80 >> x;
			}
			/* the glyph nearest in dots, foreground lighter or darker */
			for (unsigned int ch = 0; ch < 256; ch++) {
				unsigned int d = 0, inv = 0;

				for (unsigned int y = 0; y < 16; y++) {
					d += __builtin_popcount(bits[y] ^ font[ch * 16 + y]);
					inv += __builtin_popcount((uint8_t)~bits[y] ^ font[ch * 16 + y]);
				}
				if (inv < d)
					d = inv;
				if (d < bestd) {
					bestd = d;
					best = ch;
				}
			}
			putchar(best == 0 || best == 0xff || best == 0xdb ? ' ' :
				best >= 0x20 && best < 0x7f ? (int)best : '.');
		}
		putchar('\n');
	}
	free(img);
	return 0;
}
