/* tests/launcher/pngstat.c: "WIDTH HEIGHT COLOURS" of a PNG (distinct colours, counted up to 4096), for display.t. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	png_image img;
	uint32_t *px, seen[4096];
	unsigned int n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: pngstat FILE.png\n");
		return 2;
	}
	memset(&img, 0, sizeof(img));
	img.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&img, argv[1])) {
		fprintf(stderr, "pngstat: %s: %s\n", argv[1], img.message);
		return 1;
	}
	img.format = PNG_FORMAT_RGBA;
	px = malloc(PNG_IMAGE_SIZE(img));
	if (!px || !png_image_finish_read(&img, NULL, px, 0, NULL)) {
		fprintf(stderr, "pngstat: %s: %s\n", argv[1], px ? img.message : "out of memory");
		return 1;
	}
	for (size_t i = 0; i < (size_t)img.width * img.height && n < 4096; i++) {
		unsigned int j;

		for (j = 0; j < n && seen[j] != px[i]; j++)
			;
		if (j == n)
			seen[n++] = px[i];
	}
	printf("%u %u %u\n", img.width, img.height, n);
	free(px);
	return 0;
}
