/* launcher/screendump.c: XRGB pictures to PNG files with libpng. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "screendump.h"

/* libpng's own limit on either side (PNG_USER_WIDTH_MAX) */
#define SCREENDUMP_MAX_SIDE	1000000u

struct png_failure {
	char message[160];
};

/* libpng reports here, then the write unwinds through png_jmpbuf. */
static void png_failed(png_structp png, png_const_charp msg)
{
	struct png_failure *f = png_get_error_ptr(png);

	snprintf(f->message, sizeof(f->message), "%s", msg);
	png_longjmp(png, 1);
}

static void png_warned(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/* One row of XRGB as the RGB bytes a PNG stores. */
static void xrgb_row_to_rgb(const uint32_t *src, unsigned int width, uint8_t *dst)
{
	for (unsigned int x = 0; x < width; x++) {
		*dst++ = src[x] >> 16;
		*dst++ = src[x] >> 8;
		*dst++ = src[x];
	}
}

/*
 * The libpng part, apart so that nothing it touches between setjmp and
 * longjmp lives in this frame's registers: every local is set before the
 * setjmp or is volatile.
 */
static int write_png(FILE *fp, struct png_failure *fail, const uint32_t *pixels,
		     unsigned int width, unsigned int height, unsigned int stride)
{
	png_structp png;
	png_infop info = NULL;
	uint8_t *volatile row = NULL;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, fail, png_failed, png_warned);
	if (!png) {
		snprintf(fail->message, sizeof(fail->message), "out of memory");
		return -1;
	}
	info = png_create_info_struct(png);
	if (!info || setjmp(png_jmpbuf(png))) {
		if (!info)
			snprintf(fail->message, sizeof(fail->message), "out of memory");
		if (row)
			png_free(png, row);
		png_destroy_write_struct(&png, info ? &info : NULL);
		return -1;
	}
	row = png_malloc(png, (png_alloc_size_t)width * 3);
	png_init_io(png, fp);
	png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
		     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	/* screens compress well with little effort; level 6 costs 3x the time */
	png_set_compression_level(png, 3);
	png_write_info(png, info);
	for (unsigned int y = 0; y < height; y++) {
		xrgb_row_to_rgb((const uint32_t *)((const uint8_t *)pixels + (size_t)y * stride),
				width, row);
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_free(png, row);
	row = NULL;
	png_destroy_write_struct(&png, &info);
	return 0;
}

int screendump_png(const char *path, const uint32_t *pixels, unsigned int width,
		   unsigned int height, unsigned int stride)
{
	struct png_failure fail = { .message = "" };
	size_t len = strlen(path);
	char *tmp = malloc(len + 8);
	FILE *fp = NULL;
	int ret = -1;

	if (!tmp) {
		snprintf(fail.message, sizeof(fail.message), "out of memory");
		goto out;
	}
	if (!width || !height || width > SCREENDUMP_MAX_SIDE || height > SCREENDUMP_MAX_SIDE ||
	    stride / sizeof(uint32_t) < width) {
		snprintf(fail.message, sizeof(fail.message), "no picture of %u x %u, stride %u",
			 width, height, stride);
		goto out;
	}
	snprintf(tmp, len + 8, "%s.tmp", path);
	fp = fopen(tmp, "wb");
	if (!fp) {
		snprintf(fail.message, sizeof(fail.message), "%s", strerror(errno));
		goto out;
	}
	if (write_png(fp, &fail, pixels, width, height, stride))
		goto out_unlink;
	if (fflush(fp) || ferror(fp)) {
		snprintf(fail.message, sizeof(fail.message), "%s", strerror(errno));
		goto out_unlink;
	}
	if (fclose(fp)) {
		fp = NULL;
		snprintf(fail.message, sizeof(fail.message), "%s", strerror(errno));
		goto out_unlink;
	}
	fp = NULL;
	if (rename(tmp, path)) {
		snprintf(fail.message, sizeof(fail.message), "%s", strerror(errno));
		goto out_unlink;
	}
	ret = 0;
	goto out;
out_unlink:
	if (fp)
		fclose(fp);
	fp = NULL;
	unlink(tmp);
out:
	if (ret)
		fprintf(stderr, "kvm-launch: screendump: %s: %s\n", path, fail.message);
	free(tmp);
	return ret;
}
