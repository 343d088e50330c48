/* include/img.h: the disk image library (raw and qcow2) shared by imgtool and kvm-launch. */
#ifndef IMG_H
#define IMG_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

enum img_format {
	IMG_FMT_AUTO = 0,	/* detect qcow2 by magic; anything else is raw */
	IMG_FMT_RAW,
	IMG_FMT_QCOW2,
};

/* img_open() flags */
#define IMG_OPEN_RDONLY		(1u << 0)
#define IMG_OPEN_NO_BACKING	(1u << 1)	/* do not open the backing chain */

/* img_create() options; zero means "default". */
struct img_create_opts {
	enum img_format format;		/* default qcow2 */
	uint64_t size;			/* virtual size in bytes */
	uint32_t cluster_size;		/* qcow2, default 65536 */
	const char *backing_file;	/* qcow2, optional */
	enum img_format backing_format;
	bool force;			/* overwrite an existing file */
};

struct img;

/*
 * Open an image. On failure returns NULL and writes a one-line reason
 * (no trailing newline) into err, which must hold errlen bytes.
 */
struct img *img_open(const char *path, enum img_format fmt, unsigned flags,
		     char *err, size_t errlen);
int img_create(const char *path, const struct img_create_opts *opts,
	       char *err, size_t errlen);
void img_close(struct img *img);

enum img_format img_get_format(const struct img *img);
uint64_t img_get_size(const struct img *img);	/* virtual size, bytes */
bool img_is_readonly(const struct img *img);

/*
 * Byte-granular I/O at any offset and length within the virtual size.
 * Return 0 on success or a negative errno (-EINVAL past the end, -EIO on a
 * corrupt image, -EROFS on a read-only image). Thread-safe.
 */
int img_pread(struct img *img, void *buf, size_t len, uint64_t off);
int img_pwrite(struct img *img, const void *buf, size_t len, uint64_t off);
int img_discard(struct img *img, uint64_t off, uint64_t len);
int img_flush(struct img *img);

const char *img_format_name(enum img_format fmt);
int img_parse_format(const char *name, enum img_format *fmt);	/* 0 or -EINVAL */

#endif
