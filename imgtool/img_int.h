/* imgtool/img_int.h: the library's internal image object and per-format driver table. */
#ifndef IMG_INT_H
#define IMG_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "img.h"

struct img;

/*
 * One table per format. The generic layer (img.c) checks bounds and
 * read-only state and holds img->lock around every call, so drivers never
 * see concurrent callers.
 */
struct img_driver {
	int (*pread)(struct img *img, void *buf, size_t len, uint64_t off);
	int (*pwrite)(struct img *img, const void *buf, size_t len, uint64_t off);
	/* optional: without them the generic layer loops over pread/pwrite */
	int (*preadv)(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*pwritev)(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*discard)(struct img *img, uint64_t off, uint64_t len);
	int (*flush)(struct img *img);
	void (*close)(struct img *img);
	int (*block_status)(struct img *img, uint64_t off, uint64_t len,
			    struct img_extent *ext);
	int (*write_compressed)(struct img *img, uint64_t off,
				const void *cdata, size_t clen);
	int (*resize)(struct img *img, uint64_t size, bool shrink,
		      char *err, size_t errlen);
	int (*check)(struct img *img, unsigned fix, struct img_check_result *res,
		     FILE *log);
	void (*info)(struct img *img, struct img_info *info);
	/* optional: internal snapshots */
	int (*snapshot_list)(struct img *img, struct img_snapshot **list, char *err, size_t errlen);
	int (*snapshot_create)(struct img *img, const char *name, char *err, size_t errlen);
	int (*snapshot_apply)(struct img *img, const char *id_or_name, char *err, size_t errlen);
	int (*snapshot_delete)(struct img *img, const char *name, char *err, size_t errlen);
};

struct img {
	const struct img_driver *drv;
	enum img_format fmt;
	int fd;
	bool ro;
	uint64_t size;		/* virtual size */
	char *path;
	pthread_mutex_t lock;
	void *priv;		/* format state */
};

extern const struct img_driver img_raw_driver;
extern const struct img_driver img_qcow2_driver;

/* Format a reason into err (safe with err == NULL). Returns -1. */
int img_seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Full-length pread/pwrite on a file; short reads past EOF are zero-filled. */
int img_file_pread(int fd, void *buf, size_t len, uint64_t off);
int img_file_pwrite(int fd, const void *buf, size_t len, uint64_t off);
int img_file_preadv(int fd, const struct iovec *iov, int iovcnt, uint64_t off);
int img_file_pwritev(int fd, const struct iovec *iov, int iovcnt, uint64_t off);

/* Format-specific open and create, called by img.c. */
int qcow2_open(struct img *img, unsigned flags, int depth, char *err, size_t errlen);
int qcow2_create(const char *path, const struct img_create_opts *opts,
		 char *err, size_t errlen);
struct img *img_open_depth(const char *path, enum img_format fmt, unsigned flags,
			   int depth, char *err, size_t errlen);
enum img_format img_probe_fd(int fd);

/* zstd.c: one cluster out of its zstd frame(s); 0, -EIO if malformed, -ENOMEM. */
int img_zstd_decompress(struct img_zstd *z, void *out, size_t cs, const void *in, size_t len);

#endif
