/* launcher/hw/ide_image.c: IDE backend over the image library, with the raw-probe write guard. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
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

static int image_discard(void *ctx, uint64_t off, uint64_t len)
{
	struct ide_image *im = ctx;

	return img_discard(im->img, off, len);
}


/* One backend over an open image. */
static void fill_backend(struct ide_image *im, bool readonly, struct ide_backend *be)
{
	*be = (struct ide_backend){
		.pread = image_pread, .pwrite = image_pwrite,
		.preadv = image_preadv, .pwritev = image_pwritev,
		.flush = image_flush, .discard = image_discard, .ctx = im,
		.size = img_get_size(im->img),
		.readonly = readonly || img_is_readonly(im->img),
	};
}

int ide_image_open_snapshot(struct ide_image *im, const char *file,
			    enum img_format fmt, struct ide_backend *be,
			    char *err, size_t errlen)
{
	struct img_create_opts opts = { .format = IMG_FMT_QCOW2, .force = true };
	const char *dir = getenv("TMPDIR");
	char path[4096], why[256];
	struct img *img;
	char *base;
	int fd;

	img = img_open(file, fmt, IMG_OPEN_RDONLY, why, sizeof(why));
	if (!img) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	opts.size = img_get_size(img);
	opts.backing_format = img_get_format(img);
	img_close(img);
	base = realpath(file, NULL);
	if (!base) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	opts.backing_file = base;
	if (!dir || !*dir)
		dir = "/var/tmp";
	snprintf(path, sizeof(path), "%s/kvm-launch-snapshot.XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0) {
		snprintf(err, errlen, "snapshot overlay in %s: %s", dir, strerror(errno));
		free(base);
		return -1;
	}
	close(fd);
	if (img_create(path, &opts, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "snapshot overlay %s: %s", path, why);
	} else {
		im->img = img_open(path, IMG_FMT_QCOW2, 0, why, sizeof(why));
		if (!im->img)
			snprintf(err, errlen, "snapshot overlay %s: %s", path, why);
	}
	/* open or not, the name goes now: the overlay lives as long as its fd */
	unlink(path);
	free(base);
	if (!im->img)
		return -1;
	im->guard_probe = false;	/* file itself is never written */
	fill_backend(im, false, be);
	return 0;
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
	fill_backend(im, readonly, be);
	return 0;
}

void ide_image_close(struct ide_image *im)
{
	if (im->img)
		img_close(im->img);
	im->img = NULL;
}
