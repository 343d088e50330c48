/* launcher/screendump.h: a picture of the display written as a PNG file. */
#ifndef LAUNCHER_SCREENDUMP_H
#define LAUNCHER_SCREENDUMP_H

#include <stdint.h>

/*
 * Write width x height XRGB8888 pixels (0x00RRGGBB in host order, rows
 * stride bytes apart) to path as an 8-bit RGB PNG. The file appears
 * whole or not at all (written beside it, then renamed). Returns 0, or -1
 * with a message "kvm-launch: screendump: path: reason" on stderr.
 */
int screendump_png(const char *path, const uint32_t *pixels, unsigned int width,
		   unsigned int height, unsigned int stride);

#endif
