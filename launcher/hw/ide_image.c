/* launcher/hw/ide_image.c: IDE backend over the image library, with the raw-probe write guard. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "ide_image.h"

static int image_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct ide_image *im = ctx;

	return img_pread(im->img, buf, len, off);
}

static int image_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct ide_image *im = ctx;

	/* the IDE writes whole sectors: a magic can only arrive at offset 0 */
	if (im->guard_probe && off == 0 && len >= 4 && !memcmp(buf, "QFI\xfb", 4))
		return -EPERM;
	return img_pwrite(im->img, buf, len, off);
}

static int image_preadv(void *ctx, const struct iovec *iov, int iovcnt,
			uint64_t off)
{
	struct ide_image *im = ctx;

	return img_preadv(im->img, iov, iovcnt, off);
}

/* The first bytes of a write at offset 0, wherever the list splits them. */
static bool iov_starts_with_magic(const struct iovec *iov, int iovcnt)
{
	static const char magic[4] = "QFI\xfb";
	size_t got = 0;
	int i;

	for (i = 0; i < iovcnt && got < sizeof(magic); i++) {
		size_t n = iov[i].iov_len < sizeof(magic) - got ?
			   iov[i].iov_len : sizeof(magic) - got;

		if (memcmp(iov[i].iov_base, magic + got, n))
			return false;
		got += n;
	}
	return got == sizeof(magic);
}

static int image_pwritev(void *ctx, const struct iovec *iov, int iovcnt,
			 uint64_t off)
{
	struct ide_image *im = ctx;

	if (im->guard_probe && off == 0 && iov_starts_with_magic(iov, iovcnt))
		return -EPERM;
	return img_pwritev(im->img, iov, iovcnt, off);
}

static int image_flush(void *ctx)
{
	struct ide_image *im = ctx;

	return img_flush(im->img);
}

int ide_image_open(struct ide_image *im, const char *file,
		   enum img_format fmt, bool readonly, struct ide_backend *be,
		   char *err, size_t errlen)
{
	char why[256];

	im->img = img_open(file, fmt, readonly ? IMG_OPEN_RDONLY : 0, why,
			   sizeof(why));
	if (!im->img) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	im->guard_probe = fmt == IMG_FMT_AUTO &&
			  img_get_format(im->img) == IMG_FMT_RAW;
	*be = (struct ide_backend){
		.pread = image_pread, .pwrite = image_pwrite,
		.preadv = image_preadv, .pwritev = image_pwritev,
		.flush = image_flush, .ctx = im,
		.size = img_get_size(im->img),
		.readonly = readonly || img_is_readonly(im->img),
	};
	return 0;
}

void ide_image_close(struct ide_image *im)
{
	if (im->img)
		img_close(im->img);
	im->img = NULL;
}
