/* imgtool/raw.c: the raw format driver: the file is the disk. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <unistd.h>

#include "img_int.h"

static int raw_pread(struct img *img, void *buf, size_t len, uint64_t off)
{
	return img_file_pread(img->fd, buf, len, off);
}

static int raw_pwrite(struct img *img, const void *buf, size_t len, uint64_t off)
{
	return img_file_pwrite(img->fd, buf, len, off);
}

static int raw_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return img_file_preadv(img->fd, iov, iovcnt, off);
}

static int raw_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return img_file_pwritev(img->fd, iov, iovcnt, off);
}

static int raw_discard(struct img *img, uint64_t off, uint64_t len)
{
	/* Punching a hole keeps the size and reads back zeros; best effort. */
	if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)off, (off_t)len) < 0 && errno != EOPNOTSUPP)
		return -errno;
	return 0;
}

static int raw_flush(struct img *img)
{
	return fdatasync(img->fd) < 0 ? -errno : 0;
}

static int raw_block_status(struct img *img, uint64_t off, uint64_t len,
			    struct img_extent *ext)
{
	off_t data = lseek(img->fd, (off_t)off, SEEK_DATA);
	off_t hole;

	ext->len = len;
	ext->host_off = off;	/* a raw file maps one to one, holes too */
	ext->offset_valid = true;
	if (data < 0 || (uint64_t)data >= off + len) {
		/* ENXIO: no data after off, the rest is a hole. */
		ext->flags = IMG_EXT_ZERO;
		if (data >= 0)
			ext->len = (uint64_t)data - off;
		return 0;
	}
	if ((uint64_t)data > off) {
		ext->flags = IMG_EXT_ZERO;
		ext->len = (uint64_t)data - off;
		return 0;
	}
	hole = lseek(img->fd, (off_t)off, SEEK_HOLE);
	ext->flags = IMG_EXT_DATA;
	if (hole >= 0 && (uint64_t)hole < off + len)
		ext->len = (uint64_t)hole - off;
	return 0;
}

static int raw_resize(struct img *img, uint64_t size, bool shrink, char *err, size_t errlen)
{
	if (size < img->size && !shrink)
		return img_seterr(err, errlen,
				  "use the --shrink option to shrink an image"), -EINVAL;
	if (ftruncate(img->fd, (off_t)size) < 0) {
		int e = errno;

		img_seterr(err, errlen, "could not resize: %s", strerror(e));
		return -e;
	}
	img->size = size;
	return 0;
}

const struct img_driver img_raw_driver = {
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.preadv = raw_preadv,
	.pwritev = raw_pwritev,
	.discard = raw_discard,
	.flush = raw_flush,
	.block_status = raw_block_status,
	.resize = raw_resize,
};
