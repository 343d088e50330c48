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

/* qcow2 compression_type: how compressed clusters are encoded. */
enum img_compression {
	IMG_COMPRESSION_ZLIB = 0,	/* raw deflate, 4 KiB window */
	IMG_COMPRESSION_ZSTD = 1,	/* one zstd frame per cluster */
};

/* img_create() options; zero means "default". */
struct img_create_opts {
	enum img_format format;		/* default qcow2 */
	uint64_t size;			/* virtual size in bytes */
	uint32_t cluster_size;		/* qcow2, default 65536 */
	const char *backing_file;	/* qcow2, optional */
	enum img_format backing_format;
	bool force;			/* overwrite an existing file */
	enum img_compression compression;	/* qcow2: of compressed clusters, default zlib */
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
/*
 * The same over a list of buffers, filled or written in order from off; at
 * most IMG_IOV_MAX of them (-EINVAL beyond). One system call where the
 * format allows it (raw).
 */
#define IMG_IOV_MAX	1024
struct iovec;
int img_preadv(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
int img_pwritev(struct img *img, const struct iovec *iov, int iovcnt, uint64_t off);
int img_discard(struct img *img, uint64_t off, uint64_t len);
int img_flush(struct img *img);

const char *img_format_name(enum img_format fmt);
int img_parse_format(const char *name, enum img_format *fmt);	/* 0 or -EINVAL */


/* ---- Additions used by imgtool (the API above is unchanged). ---- */

#include <stdio.h>

/* What img_get_info() reports. */
struct img_info {
	enum img_format format;
	uint64_t virtual_size;
	uint64_t file_size;		/* host file length */
	uint64_t disk_size;		/* host bytes actually allocated */
	uint32_t cluster_size;		/* qcow2 only */
	int qcow2_version;		/* 2 or 3 */
	int refcount_bits;
	bool dirty;			/* incompatible bit 0 */
	bool corrupt;			/* incompatible bit 1 */
	bool lazy_refcounts;		/* compatible bit 0 */
	uint32_t nb_snapshots;
	char backing_file[1024];	/* "" if none */
	char backing_format[32];	/* "" if not recorded */
	enum img_compression compression;	/* qcow2 compression_type */
};
void img_get_info(struct img *img, struct img_info *info);
uint32_t img_get_cluster_size(const struct img *img);	/* 0 for raw */

/* One run of equal allocation state, from img_block_status(). */
#define IMG_EXT_DATA		(1u << 0)	/* allocated in this image */
#define IMG_EXT_ZERO		(1u << 1)	/* reads as zeros */
#define IMG_EXT_COMPRESSED	(1u << 2)
#define IMG_EXT_BACKING		(1u << 3)	/* data comes from the backing chain */
struct img_extent {
	uint64_t len;		/* bytes from the queried offset */
	unsigned flags;
	uint64_t host_off;	/* where in depth's file, when offset_valid; else 0 */
	int depth;		/* 0 this image, 1 its backing file, ... */
	bool offset_valid;	/* host_off holds: raw (holes too), uncompressed qcow2 data */
	bool unallocated;	/* no layer has it (reads as zeros): qemu's "present": false */
};
/* Describe the run starting at off (at most len bytes). 0 or -errno. */
int img_block_status(struct img *img, uint64_t off, uint64_t len,
		     struct img_extent *ext);

/*
 * Store one cluster given as compressed data in the image's compression
 * type (img_info.compression): raw deflate (no zlib header) from
 * img_deflate_cluster(), or a zstd frame from img_zstd_cluster(). off is
 * cluster-aligned; the last, partial cluster of an image is padded with
 * zeros before compression. qcow2 only.
 */
int img_write_compressed(struct img *img, uint64_t off, const void *cdata, size_t clen);

/* Reusable deflate state for a thread: raw deflate, 4 KiB window (what qemu inflates). */
struct img_deflate;
struct img_deflate *img_deflate_new(void);
void img_deflate_free(struct img_deflate *d);
/* Returns the compressed length, or 0 if it would not be smaller than len. */
size_t img_deflate_cluster(struct img_deflate *d, const void *in, size_t len,
			   void *out, size_t outlen);

/* The same for zstd images: one frame per cluster, at qemu's level. */
struct img_zstd;
struct img_zstd *img_zstd_new(void);
void img_zstd_free(struct img_zstd *z);
size_t img_zstd_cluster(struct img_zstd *z, const void *in, size_t len, void *out, size_t outlen);

/* Grow, or shrink when shrink is set and the tail holds no data. */
int img_resize(struct img *img, uint64_t size, bool shrink, char *err, size_t errlen);

/* Consistency check; fix is a mask of IMG_CHECK_FIX_*. */
#define IMG_CHECK_FIX_LEAKS	(1u << 0)
#define IMG_CHECK_FIX_ERRORS	(1u << 1)
struct img_check_result {
	uint64_t corruptions;		/* found, before any repair */
	uint64_t leaks;
	uint64_t corruptions_fixed;
	uint64_t leaks_fixed;
	uint64_t check_errors;		/* could not be checked (I/O) */
	uint64_t total_clusters;	/* virtual clusters */
	uint64_t allocated_clusters;
	uint64_t fragmented_clusters;
	uint64_t compressed_clusters;
	uint64_t image_end_offset;
};
/* Lines describing each problem go to log (may be NULL). 0 or -errno. */
int img_check(struct img *img, unsigned fix, struct img_check_result *res, FILE *log);

/*
 * Internal snapshots (qcow2). A raw image lists none and refuses the others
 * with -ENOTSUP. Each call returns 0 (list: the number of snapshots) or a
 * negative errno with a one-line reason in err; a failed call leaves the
 * image as it was.
 */
struct img_snapshot {
	char *id;			/* "1", "2", ... */
	char *name;
	uint64_t vm_state_size;		/* bytes of saved VM state; 0 for disk-only */
	uint32_t date_sec, date_nsec;	/* creation time, Unix epoch */
	uint64_t vm_clock_nsec;		/* guest clock when taken */
	uint64_t icount;		/* UINT64_MAX if not recorded */
	uint64_t disk_size;		/* virtual size when taken */
};
int img_snapshot_list(struct img *img, struct img_snapshot **list, char *err, size_t errlen);
void img_snapshot_list_free(struct img_snapshot *list, int n);
/* A new snapshot of the current state, with the next free numeric ID. */
int img_snapshot_create(struct img *img, const char *name, char *err, size_t errlen);
/* Revert the disk to a snapshot, found by ID first, then by name. */
int img_snapshot_apply(struct img *img, const char *id_or_name, char *err, size_t errlen);
/* Delete the first snapshot with this name. */
int img_snapshot_delete(struct img *img, const char *name, char *err, size_t errlen);

/*
 * qcow2 persistent dirty bitmaps: the bytes they would take, with their
 * tables and directory, in a qcow2 image of cluster size cs (what qemu-img
 * measure counts). 0 for an image without any. 0 or -errno.
 */
int img_bitmaps_size(struct img *img, uint32_t cs, uint64_t *size);

/* Human size parser shared by the tools: 10G, 512K, 1.5M, plain bytes. */
int img_parse_size(const char *s, uint64_t *out);

/* ---- Backing chains and amendments: rebase, commit, amend. ---- */

const char *img_get_filename(const struct img *img);	/* the path it was opened by */
/* The backing image img reads through (opened read-only), or NULL. */
struct img *img_get_backing(struct img *img);
/*
 * Does img itself define the bytes at off (data, compressed or zero
 * clusters) rather than its backing chain? 1 or 0, with *pnum the length
 * of the run from off (at most len) that has the same answer; or -errno.
 * A raw image defines every byte.
 */
int img_is_allocated(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum);
/* Where a backing name recorded in the image at img_path points: a
 * relative name is relative to the image's directory. 0 or -errno. */
int img_backing_path(const char *img_path, const char *name, char *out, size_t outlen);

/* Progress of a long operation: done out of total bytes. */
typedef void (*img_progress_fn)(void *opaque, uint64_t done, uint64_t total);

/*
 * Record a new backing file in the header, nothing else (an unsafe
 * rebase): name NULL or "" drops it, fmt NULL or "" records no format.
 * qcow2 only.
 */
int img_set_backing(struct img *img, const char *name, const char *fmt,
		    char *err, size_t errlen);
/*
 * Safe rebase: every range img does not allocate itself where its backing
 * chain and the new backing file read differently is copied into img
 * first, so that what img reads stays the same. backing "" makes img
 * standalone; bfmt IMG_FMT_AUTO probes. img must be open with its chain.
 */
int img_rebase(struct img *img, const char *backing, enum img_format bfmt,
	       img_progress_fn progress, void *opaque, char *err, size_t errlen);
/*
 * Write what the layers above base_depth (1: img's backing file) hold into
 * that image, opened read-write on its own, grown to img's size if smaller;
 * then, with empty, unmap every cluster of img so that it reads through.
 */
int img_commit(struct img *img, int base_depth, bool empty,
	       img_progress_fn progress, void *opaque, char *err, size_t errlen);
/* Unmap every cluster of img: it then reads as its backing file. qcow2 only. */
int img_make_empty(struct img *img, char *err, size_t errlen);

/* What amend may change in a qcow2 image; 0 (or -1 for flags) keeps it. */
struct img_amend_opts {
	int compat;			/* 2 (0.10) or 3 (1.1) */
	int lazy_refcounts;		/* -1 keep, 0 off, 1 on */
	int refcount_bits;		/* a power of two, 1..64 */
	uint64_t size;
	bool set_backing;		/* record backing_file/backing_fmt (no data moves) */
	const char *backing_file;	/* NULL keeps the name */
	const char *backing_fmt;
};
int img_amend(struct img *img, const struct img_amend_opts *o, char *err, size_t errlen);

#endif
