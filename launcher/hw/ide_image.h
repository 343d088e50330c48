/* launcher/hw/ide_image.h: an IDE drive's storage on a disk image (struct img from libimg). */
#ifndef HW_IDE_IMAGE_H
#define HW_IDE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "img.h"
#include "ide.h"

struct ide_image {
	struct img *img;
	/*
	 * A raw image whose format was probed must never become something the
	 * next probe reads as another format: writes of a qcow2 magic to its
	 * first bytes fail (the guest sees an ATA error).
	 */
	bool guard_probe;
};

/*
 * Open file (fmt IMG_FMT_AUTO probes) read-only or read-write and fill
 * *be for ide_drive_attach(). Returns 0, or -1 with the reason in err.
 */
int ide_image_open(struct ide_image *im, const char *file,
		   enum img_format fmt, bool readonly, struct ide_backend *be,
		   char *err, size_t errlen);
/*
 * The same, with the writes going to a temporary qcow2 overlay on file
 * (snapshot = true): made in $TMPDIR, default /var/tmp, and unlinked at
 * once, so that it goes with the process however that ends. file is only
 * read.
 */
int ide_image_open_snapshot(struct ide_image *im, const char *file,
			    enum img_format fmt, struct ide_backend *be,
			    char *err, size_t errlen);
void ide_image_close(struct ide_image *im);

#endif
