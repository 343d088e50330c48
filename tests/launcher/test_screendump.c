/* tests/launcher/test_screendump.c: XRGB pictures written as PNG and read back with libpng; failures leave no file. */
#include <png.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "screendump.h"
#include "tap.h"

static char dir[64], path[128];

/* Read path back as RGB; the picture's size in *w, *h. NULL on failure. */
static uint8_t *read_png(const char *file, unsigned int *w, unsigned int *h, png_uint_32 *format)
{
	png_image img;
	uint8_t *buf;

	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, file))
		return NULL;
	*format = img.format;
	img.format = PNG_FORMAT_RGB;
	buf = malloc(PNG_IMAGE_SIZE(img));
	if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
		free(buf);
		png_image_free(&img);
		return NULL;
	}
	*w = img.width;
	*h = img.height;
	return buf;
}

static bool exists(const char *file)
{
	struct stat st;

	return stat(file, &st) == 0;
}

/* Every pixel of an XRGB picture matches its RGB copy. */
static bool same(const uint32_t *xrgb, unsigned int stride, const uint8_t *rgb,
		 unsigned int w, unsigned int h)
{
	for (unsigned int y = 0; y < h; y++)
		for (unsigned int x = 0; x < w; x++) {
			uint32_t p = xrgb[y * (stride / 4) + x];
			const uint8_t *q = &rgb[(y * w + x) * 3];

			if (q[0] != ((p >> 16) & 0xff) || q[1] != ((p >> 8) & 0xff) || q[2] != (p & 0xff))
				return false;
		}
	return true;
}

int main(void)
{
	uint32_t small[5 * 10], *big;
	unsigned int w, h;
	png_uint_32 format;
	char tmp[160];
	uint8_t *rgb;

	tap_plan(9);
	snprintf(dir, sizeof(dir), "%s/screendump.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	snprintf(path, sizeof(path), "%s/screen.png", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	/* 7 x 5 in rows of 10 pixels: the padding must not show; X bits ignored */
	for (unsigned int i = 0; i < 50; i++)
		small[i] = (i % 10) >= 7 ? 0xdeadbeef : 0xff000000u | (i * 0x051b37u);
	tap_ok(screendump_png(path, small, 7, 5, 40) == 0, "a 7 x 5 picture with a 40-byte stride is written");
	rgb = read_png(path, &w, &h, &format);
	tap_ok(rgb && w == 7 && h == 5 && (format & PNG_FORMAT_FLAG_COLOR) &&
	       !(format & PNG_FORMAT_FLAG_ALPHA), "libpng reads it back: 7 x 5 RGB, no alpha");
	tap_ok(rgb && same(small, 40, rgb, 7, 5), "every pixel comes back, the padding and X byte do not");
	tap_ok(!exists(tmp), "no temporary file is left behind");
	free(rgb);

	/* a screen-sized picture replaces the file */
	big = malloc(720 * 400 * 4);
	for (unsigned int y = 0; y < 400; y++)
		for (unsigned int x = 0; x < 720; x++)
			big[y * 720 + x] = (x & 0xff) << 16 | (y & 0xff) << 8 | ((x ^ y) & 0xff);
	tap_ok(screendump_png(path, big, 720, 400, 720 * 4) == 0, "720 x 400 over the old file");
	rgb = read_png(path, &w, &h, &format);
	tap_ok(rgb && w == 720 && h == 400 && same(big, 720 * 4, rgb, 720, 400),
	       "the larger picture reads back exactly");
	free(rgb);
	free(big);

	/* failures */
	snprintf(tmp, sizeof(tmp), "%s/no/such/dir.png", dir);
	tap_ok(screendump_png(tmp, small, 7, 5, 40) == -1 && !exists(tmp),
	       "a missing directory: -1, no file");
	snprintf(tmp, sizeof(tmp), "%s/empty.png", dir);
	tap_ok(screendump_png(tmp, small, 0, 5, 40) == -1 && screendump_png(tmp, small, 7, 5, 8) == -1 &&
	       !exists(tmp), "an empty picture or a stride shorter than a row: -1, no file");
	tap_ok(unlink(path) == 0 && rmdir(dir) == 0, "the directory held only the screendump");
	return tap_done();
}
