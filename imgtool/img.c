/* imgtool/img.c: the public image API: open/create, locking and bounds, then dispatch to a format. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "img_int.h"
#include "qcow2.h"

int img_seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

int img_file_pread(int fd, void *buf, size_t len, uint64_t off)
{
	char *p = buf;

	while (len) {
		ssize_t n = pread(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0) {		/* past EOF: the file reads as zeros there */
			memset(p, 0, len);
			return 0;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int img_file_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The vectored forms: iov is copied so that a short transfer can resume
 * where it stopped, as the scalar forms do.
 */
static int file_iov(int fd, const struct iovec *iov, int iovcnt, uint64_t off,
		    bool write)
{
	struct iovec v[IMG_IOV_MAX];
	int i = 0;

	if (iovcnt < 0 || iovcnt > IMG_IOV_MAX)
		return -EINVAL;
	memcpy(v, iov, (size_t)iovcnt * sizeof(*v));
	while (i < iovcnt) {
		ssize_t n = write ? pwritev(fd, v + i, iovcnt - i, (off_t)off)
				  : preadv(fd, v + i, iovcnt - i, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0 && !write) {	/* past EOF: zeros, as img_file_pread */
			for (; i < iovcnt; i++)
				memset(v[i].iov_base, 0, v[i].iov_len);
			return 0;
		}
		off += (uint64_t)n;
		for (; i < iovcnt && (size_t)n >= v[i].iov_len; i++)
			n -= (ssize_t)v[i].iov_len;
		if (i < iovcnt) {
			v[i].iov_base = (char *)v[i].iov_base + n;
			v[i].iov_len -= (size_t)n;
		}
	}
	return 0;
}

int img_file_preadv(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return file_iov(fd, iov, iovcnt, off, false);
}

int img_file_pwritev(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return file_iov(fd, iov, iovcnt, off, true);
}

enum img_format img_probe_fd(int fd)
{
	unsigned char magic[4];

	if (pread(fd, magic, 4, 0) == 4 && !memcmp(magic, "QFI\xfb", 4))
		return IMG_FMT_QCOW2;
	return IMG_FMT_RAW;
}

struct img *img_open_depth(const char *path, enum img_format fmt, unsigned flags,
			   int depth, char *err, size_t errlen)
{
	struct img *img;
	struct stat st;
	bool ro = flags & IMG_OPEN_RDONLY;
	int fd;

	if (err && errlen)
		err[0] = '\0';
	fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		img_seterr(err, errlen, "could not open '%s': %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !(S_ISREG(st.st_mode) || S_ISBLK(st.st_mode))) {
		img_seterr(err, errlen, "'%s' is not a regular file or block device", path);
		close(fd);
		return NULL;
	}
	img = calloc(1, sizeof(*img));
	if (!img || !(img->path = strdup(path))) {
		free(img);
		close(fd);
		img_seterr(err, errlen, "out of memory");
		return NULL;
	}
	img->fd = fd;
	img->ro = ro;
	img->fmt = fmt == IMG_FMT_AUTO ? img_probe_fd(fd) : fmt;
	pthread_mutex_init(&img->lock, NULL);
	if (img->fmt == IMG_FMT_QCOW2) {
		img->drv = &img_qcow2_driver;
		if (qcow2_open(img, flags, depth, err, errlen) < 0) {
			pthread_mutex_destroy(&img->lock);
			free(img->path);
			free(img);
			close(fd);
			return NULL;
		}
	} else {
		off_t end = lseek(fd, 0, SEEK_END);

		img->drv = &img_raw_driver;
		img->size = end < 0 ? 0 : (uint64_t)end;
	}
	return img;
}

struct img *img_open(const char *path, enum img_format fmt, unsigned flags,
		     char *err, size_t errlen)
{
	return img_open_depth(path, fmt, flags, 0, err, errlen);
}

int img_create(const char *path, const struct img_create_opts *opts,
	       char *err, size_t errlen)
{
	enum img_format fmt = opts->format == IMG_FMT_AUTO ? IMG_FMT_QCOW2 : opts->format;
	struct img_create_opts o = *opts;
	int fd;

	if (err && errlen)
		err[0] = '\0';
	/*
	 * Whole 512-byte sectors, rounded up as qemu-img does: qemu reads a
	 * qcow2 size in sectors, so a ragged tail would vanish in its hands
	 * (and a converted odd-sized raw file would lose its last bytes).
	 */
	if (o.size > UINT64_MAX - 511)
		return img_seterr(err, errlen, "size too large"), -EINVAL;
	o.size = (o.size + 511) & ~511ull;
	if (fmt == IMG_FMT_QCOW2)
		return qcow2_create(path, &o, err, errlen);
	if (o.backing_file)
		return img_seterr(err, errlen, "raw images have no backing file"), -EINVAL;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (o.force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		int e = errno;

		img_seterr(err, errlen, "could not create '%s': %s", path, strerror(e));
		return -e;
	}
	if (ftruncate(fd, (off_t)o.size) < 0) {
		int e = errno;

		img_seterr(err, errlen, "could not size '%s': %s", path, strerror(e));
		close(fd);
		return -e;
	}
	close(fd);
	return 0;
}

void img_close(struct img *img)
{
	if (!img)
		return;
	if (img->drv->close)
		img->drv->close(img);
	else if (!img->ro)
		fdatasync(img->fd);
	close(img->fd);
	pthread_mutex_destroy(&img->lock);
	free(img->path);
	free(img);
}

enum img_format img_get_format(const struct img *img)
{
	return img->fmt;
}

uint64_t img_get_size(const struct img *img)
{
	return img->size;
}

bool img_is_readonly(const struct img *img)
{
	return img->ro;
}

static int check_range(const struct img *img, uint64_t off, uint64_t len)
{
	if (off > img->size || len > img->size - off)
		return -EINVAL;
	return 0;
}

int img_pread(struct img *img, void *buf, size_t len, uint64_t off)
{
	int ret = check_range(img, off, len);

	if (ret || !len)
		return ret;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->pread(img, buf, len, off);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_pwrite(struct img *img, const void *buf, size_t len, uint64_t off)
{
	int ret = check_range(img, off, len);

	if (ret || !len)
		return ret;
	if (img->ro)
		return -EROFS;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->pwrite(img, buf, len, off);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

static int img_iov(struct img *img, const struct iovec *iov, int iovcnt,
		   uint64_t off, bool write)
{
	uint64_t len = 0;
	int i, ret;

	if (iovcnt < 0 || iovcnt > IMG_IOV_MAX)
		return -EINVAL;
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > img->size - len)
			return -EINVAL;
		len += iov[i].iov_len;
	}
	ret = check_range(img, off, len);
	if (ret || !len)
		return ret;
	if (write && img->ro)
		return -EROFS;
	pthread_mutex_lock(&img->lock);
	if (write ? img->drv->pwritev != NULL : img->drv->preadv != NULL) {
		ret = write ? img->drv->pwritev(img, iov, iovcnt, off)
			    : img->drv->preadv(img, iov, iovcnt, off);
	} else {
		for (i = 0, ret = 0; i < iovcnt && !ret; i++) {
			ret = write ? img->drv->pwrite(img, iov[i].iov_base,
						       iov[i].iov_len, off)
				    : img->drv->pread(img, iov[i].iov_base,
						      iov[i].iov_len, off);
			off += iov[i].iov_len;
		}
	}
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return img_iov(img, iov, iovcnt, off, false);
}

int img_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return img_iov(img, iov, iovcnt, off, true);
}

int img_discard(struct img *img, uint64_t off, uint64_t len)
{
	int ret = check_range(img, off, len);

	if (ret || !len)
		return ret;
	if (img->ro)
		return -EROFS;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->discard(img, off, len);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_flush(struct img *img)
{
	int ret;

	if (img->ro)
		return 0;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->flush(img);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_block_status(struct img *img, uint64_t off, uint64_t len, struct img_extent *ext)
{
	int ret = check_range(img, off, len);

	memset(ext, 0, sizeof(*ext));
	if (ret || !len)
		return ret ? ret : -EINVAL;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->block_status(img, off, len, ext);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_write_compressed(struct img *img, uint64_t off, const void *cdata, size_t clen)
{
	int ret;

	if (!img->drv->write_compressed)
		return -ENOTSUP;
	if (img->ro)
		return -EROFS;
	if (off >= img->size)
		return -EINVAL;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->write_compressed(img, off, cdata, clen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_resize(struct img *img, uint64_t size, bool shrink, char *err, size_t errlen)
{
	int ret;

	if (img->ro)
		return img_seterr(err, errlen, "image is read-only"), -EROFS;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->resize(img, size, shrink, err, errlen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_check(struct img *img, unsigned fix, struct img_check_result *res, FILE *log)
{
	int ret;

	memset(res, 0, sizeof(*res));
	if (!img->drv->check)
		return -ENOTSUP;
	if (fix && img->ro)
		return -EROFS;
	pthread_mutex_lock(&img->lock);
	ret = img->drv->check(img, fix, res, log);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

void img_get_info(struct img *img, struct img_info *info)
{
	struct stat st;

	memset(info, 0, sizeof(*info));
	info->format = img->fmt;
	info->virtual_size = img->size;
	if (fstat(img->fd, &st) == 0) {
		info->file_size = (uint64_t)st.st_size;
		info->disk_size = (uint64_t)st.st_blocks * 512;
	}
	if (img->drv->info) {
		pthread_mutex_lock(&img->lock);
		img->drv->info(img, info);
		pthread_mutex_unlock(&img->lock);
	}
}

uint32_t img_get_cluster_size(const struct img *img)
{
	struct img_info info;

	if (img->fmt != IMG_FMT_QCOW2)
		return 0;
	img_get_info((struct img *)img, &info);
	return info.cluster_size;
}

int img_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "BKMGTPE";
	char *end;
	double v;
	const char *u;
	uint64_t mult = 1;

	if (!*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (*end) {
		u = strchr(units, *end >= 'a' ? *end - 32 : *end);
		if (!u || end[1])
			return -EINVAL;
		mult = 1ull << (10 * (u - units));
	}
	if (v * (double)mult >= 18446744073709551615.0)
		return -ERANGE;
	if (mult == 1 && v != (double)(uint64_t)v)
		return -EINVAL;
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

int img_bitmaps_size(struct img *img, uint32_t cs, uint64_t *size)
{
	int ret;

	*size = 0;
	if (img->fmt != IMG_FMT_QCOW2)
		return 0;
	pthread_mutex_lock(&img->lock);
	ret = qcow2_bitmaps_size(img, cs, size);
	pthread_mutex_unlock(&img->lock);
	return ret;
}
