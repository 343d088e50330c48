/* imgtool/raw.c: the raw format driver: the file is the disk.
 * Reads memcpy from a shared mapping of the file: pread's copy_to_user is slow in a nested guest. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "img_int.h"

/*
 * Holes, devices and files that could not be mapped or faulted in the
 * mapping are read with pread.
 */
struct raw {
	const char *map;	/* [0, map_len) of the file, made on the first read */
	size_t map_len;
	bool device;		/* not a regular file: never mapped */
	bool map_off;		/* mmap failed or the mapping faulted; until a resize */
};

int raw_open(struct img *img)
{
	struct raw *r = calloc(1, sizeof(*r));
	struct stat st;

	if (!r)
		return -ENOMEM;
	r->device = fstat(img->fd, &st) < 0 || !S_ISREG(st.st_mode);
	img->priv = r;
	return 0;
}

static void raw_unmap(struct raw *r)
{
	if (r->map)
		munmap((void *)r->map, r->map_len);
	r->map = NULL;
	r->map_len = 0;
}

static bool raw_map(struct img *img, struct raw *r)
{
	void *p;

	if (r->map)
		return true;
	if (r->device || r->map_off || !img->size || img->size > SIZE_MAX)
		return false;
	p = mmap(NULL, (size_t)img->size, PROT_READ, MAP_SHARED, img->fd, 0);
	if (p == MAP_FAILED) {
		r->map_off = true;
		return false;
	}
	r->map = p;
	r->map_len = (size_t)img->size;
	return true;
}

/* A read fault on a hole allocates a page (tmpfs) where pread does not. */
static bool raw_all_data(struct img *img, size_t len, uint64_t off)
{
	off_t hole = lseek(img->fd, (off_t)off, SEEK_HOLE);

	return hole >= 0 && (uint64_t)hole >= off + len;
}

static int raw_pread(struct img *img, void *buf, size_t len, uint64_t off)
{
	struct raw *r = img->priv;
	int ret;

	if (!raw_map(img, r) || off + len > r->map_len || !raw_all_data(img, len, off))
		return img_file_pread(img->fd, buf, len, off);
	ret = img_map_copy(buf, r->map + off, len);
	if (ret == -ENOTSUP) {
		r->map_off = true;
		raw_unmap(r);
		return img_file_pread(img->fd, buf, len, off);
	}
	if (ret < 0) {
		/* Shrunk under us or an I/O error: pread from now on, no more SIGBUS. */
		r->map_off = true;
		raw_unmap(r);
	}
	return ret;
}

static int raw_pwrite(struct img *img, const void *buf, size_t len, uint64_t off)
{
	return img_file_pwrite(img->fd, buf, len, off);
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
	ext->host_off = off;
	if (hole >= 0 && (uint64_t)hole < off + len)
		ext->len = (uint64_t)hole - off;
	return 0;
}

static int raw_resize(struct img *img, uint64_t size, bool shrink, char *err, size_t errlen)
{
	struct raw *r = img->priv;

	if (size < img->size && !shrink)
		return img_seterr(err, errlen,
				  "use the --shrink option to shrink an image"), -EINVAL;
	/* The mapping has the old size: made again on the next read. */
	raw_unmap(r);
	r->map_off = false;
	if (ftruncate(img->fd, (off_t)size) < 0) {
		int e = errno;

		img_seterr(err, errlen, "could not resize: %s", strerror(e));
		return -e;
	}
	img->size = size;
	return 0;
}

static void raw_close(struct img *img)
{
	struct raw *r = img->priv;

	if (!img->ro)
		fdatasync(img->fd);
	raw_unmap(r);
	free(r);
	img->priv = NULL;
}

const struct img_driver img_raw_driver = {
	.pread = raw_pread,
	.pwrite = raw_pwrite,
	.discard = raw_discard,
	.flush = raw_flush,
	.close = raw_close,
	.block_status = raw_block_status,
	.resize = raw_resize,
};
