/* imgtool/chain.c: backing chains: rebase, commit and emptying an image; amend; the generic entry points. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

#define ERR(code, ...) (img_seterr(err, errlen, __VA_ARGS__), (code))
#define CHAIN_CHUNK	(1u << 20)	/* bytes read and compared or copied at a time */
#define WRITEBACK_KICK	(32u << 20)	/* committed bytes between write-back starts */

const char *img_get_filename(const struct img *img)
{
	return img->path;
}

struct img *img_get_backing(struct img *img)
{
	return img->fmt == IMG_FMT_QCOW2 ? QS(img)->backing : NULL;
}

int img_backing_path(const char *img_path, const char *name, char *out, size_t outlen)
{
	char *dup;
	int n;

	if (name[0] == '/')
		return snprintf(out, outlen, "%s", name) >= (int)outlen ? -ENAMETOOLONG : 0;
	dup = strdup(img_path);
	if (!dup)
		return -ENOMEM;
	n = snprintf(out, outlen, "%s/%s", dirname(dup), name);
	free(dup);
	return n >= (int)outlen ? -ENAMETOOLONG : 0;
}

int img_is_allocated(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum)
{
	int ret;

	if (off > img->size || len > img->size - off || !len)
		return -EINVAL;
	if (img->fmt != IMG_FMT_QCOW2) {
		*pnum = len;
		return 1;
	}
	pthread_mutex_lock(&img->lock);
	ret = qcow2_is_allocated(img, off, len, pnum);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

static int not_qcow2(struct img *img, char *err, size_t errlen)
{
	return ERR(-ENOTSUP, "'%s' is a %s image: only qcow2 images have a backing file",
		   img->path, img_format_name(img->fmt));
}

int img_set_backing(struct img *img, const char *name, const char *fmt, char *err, size_t errlen)
{
	int ret;

	if (img->fmt != IMG_FMT_QCOW2)
		return not_qcow2(img, err, errlen);
	if (img->ro)
		return ERR(-EROFS, "'%s' is open read-only", img->path);
	pthread_mutex_lock(&img->lock);
	ret = qcow2_set_backing(img, name, fmt, err, errlen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_make_empty(struct img *img, char *err, size_t errlen)
{
	int ret;

	if (img->fmt != IMG_FMT_QCOW2)
		return ERR(-ENOTSUP, "'%s' is a %s image: it cannot be emptied", img->path,
			   img_format_name(img->fmt));
	if (img->ro)
		return ERR(-EROFS, "'%s' is open read-only", img->path);
	pthread_mutex_lock(&img->lock);
	ret = qcow2_make_empty(img, err, errlen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

int img_amend(struct img *img, const struct img_amend_opts *o, char *err, size_t errlen)
{
	int ret;

	if (img->fmt != IMG_FMT_QCOW2)
		return ERR(-ENOTSUP, "Format driver '%s' does not support option amendment",
			   img_format_name(img->fmt));
	if (img->ro)
		return ERR(-EROFS, "'%s' is open read-only", img->path);
	pthread_mutex_lock(&img->lock);
	ret = qcow2_amend(img, o, err, errlen);
	pthread_mutex_unlock(&img->lock);
	return ret;
}

/* Bytes from off to the next chunk boundary or the end: each look-up stays short. */
static uint64_t chunk_at(uint64_t off, uint64_t size)
{
	uint64_t n = CHAIN_CHUNK - off % CHAIN_CHUNK;

	return n < size - off ? n : size - off;
}

/* Read len bytes at off of img, zeros past its end (a shorter backing file). */
static int read_padded(struct img *img, void *buf, size_t len, uint64_t off)
{
	uint64_t size = img ? img->size : 0;
	size_t n = off >= size ? 0 : size - off < len ? (size_t)(size - off) : len;

	memset((char *)buf + n, 0, len - n);
	return n ? img_pread(img, buf, n, off) : 0;
}

/* Does [off, off+len) read as zeros without reading any data? */
static bool known_zero(struct img *img, uint64_t off, uint64_t len)
{
	struct img_extent e;

	if (!img || off >= img->size)
		return true;
	if (len > img->size - off)
		len = img->size - off;
	return img_block_status(img, off, len, &e) == 0 && !(e.flags & IMG_EXT_DATA) &&
	       (e.flags & IMG_EXT_ZERO) && e.len >= len;
}

/* Is the buffer all zero bytes? */
static bool is_zero(const uint8_t *p, size_t len)
{
	return !len || (!p[0] && !memcmp(p, p + 1, len - 1));
}

int img_rebase(struct img *img, const char *backing, enum img_format bfmt,
	       img_progress_fn progress, void *opaque, char *err, size_t errlen)
{
	char path[4096 + QCOW2_MAX_BACKING_NAME + 2], sub[512];
	struct img *nb = NULL, *ob;
	uint8_t *a = NULL, *b = NULL;
	uint64_t cs, size = img->size;
	const char *fmt = NULL;
	int ret = 0;

	if (img->fmt != IMG_FMT_QCOW2)
		return not_qcow2(img, err, errlen);
	if (img->ro)
		return ERR(-EROFS, "'%s' is open read-only", img->path);
	ob = QS(img)->backing;
	if (!ob && QS(img)->backing_name[0])
		return ERR(-EINVAL, "the backing file of '%s' is not open", img->path);
	cs = QS(img)->cluster_size;
	if (backing[0]) {
		if (img_backing_path(img->path, backing, path, sizeof(path)) < 0)
			return ERR(-ENAMETOOLONG, "backing file name '%s' is too long", backing);
		nb = img_open(path, bfmt, IMG_OPEN_RDONLY, sub, sizeof(sub));
		if (!nb)
			return ERR(-ENOENT, "Could not open new backing file '%s': %s", backing, sub);
		fmt = img_format_name(img_get_format(nb));
	}
	a = malloc(CHAIN_CHUNK);
	b = malloc(CHAIN_CHUNK);
	if (!a || !b) {
		ret = ERR(-ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t off = 0; off < size;) {
		uint64_t run, n = chunk_at(off, size);
		int alloc = img_is_allocated(img, off, n, &run);

		if (alloc < 0) {
			ret = ERR(alloc, "error while reading '%s' at offset %llu: %s", img->path,
				  (unsigned long long)off, strerror(-alloc));
			goto out;
		}
		n = run;
		if (alloc || (known_zero(ob, off, n) && known_zero(nb, off, n))) {
			off += n;
			if (progress)
				progress(opaque, off, size);
			continue;
		}
		/* img reads its old chain here: keep, cluster by cluster, what the new one changes. */
		ret = img_pread(img, a, n, off);
		if (!ret)
			ret = read_padded(nb, b, n, off);
		if (ret) {
			ret = ERR(ret, "error while reading offset %llu of the backing files of '%s': %s",
				  (unsigned long long)off, img->path, strerror(-ret));
			goto out;
		}
		for (uint64_t i = 0; i < n && !ret;) {
			uint64_t j = i, z = i;
			bool zero;

			while (j < n && !memcmp(a + j, b + j, n - j < cs ? n - j : cs))
				j += cs;
			if (j >= n)
				break;
			i = j;
			zero = is_zero(a + i, n - i < cs ? n - i : cs);
			for (z = i; z < n; z += cs) {
				size_t m = n - z < cs ? n - z : cs;

				if (!memcmp(a + z, b + z, m) || is_zero(a + z, m) != zero)
					break;
			}
			/* Zeros over a backing file: a zero cluster; none yet: written zeros. */
			if (zero && ob)
				ret = img_discard(img, off + i, z - i);
			else
				ret = img_pwrite(img, a + i, z - i, off + i);
			i = z;
		}
		if (ret) {
			ret = ERR(ret, "error while writing '%s' at offset %llu: %s", img->path,
				  (unsigned long long)off, strerror(-ret));
			goto out;
		}
		off += n;
		if (progress)
			progress(opaque, off, size);
	}
	ret = img_flush(img);
	if (ret) {
		ret = ERR(ret, "error while flushing '%s': %s", img->path, strerror(-ret));
		goto out;
	}
	ret = img_set_backing(img, backing, fmt, err, errlen);
out:
	free(a);
	free(b);
	img_close(nb);
	return ret;
}

/*
 * Is [off, ...) defined by a layer above base (depth k)? Also true where a
 * layer above base ends before off: the image reads zeros there, whatever
 * base holds. *run is the length of the answer's run.
 */
static int above_base(struct img **layer, int k, uint64_t off, uint64_t len, uint64_t *run)
{
	*run = len;
	for (int i = 0; i < k; i++) {
		uint64_t p;
		int a;

		if (off >= layer[i]->size)
			return 1;
		if (layer[i]->size - off < *run)
			*run = layer[i]->size - off;
		a = img_is_allocated(layer[i], off, *run, &p);
		if (a < 0)
			return a;
		*run = p;
		if (a)
			return 1;
	}
	return 0;
}

int img_commit(struct img *img, int base_depth, bool empty,
	       img_progress_fn progress, void *opaque, char *err, size_t errlen)
{
	struct img *layer[QCOW2_MAX_DEPTH + 2], *base = NULL;
	uint64_t size = img->size;
	uint8_t *buf = NULL;
	char sub[512];
	uint64_t since_kick = 0;
	int ret = 0;

	if (base_depth < 1 || base_depth > QCOW2_MAX_DEPTH + 1)
		return ERR(-EINVAL, "no image at depth %d in the backing chain of '%s'", base_depth,
			   img->path);
	layer[0] = img;
	for (int i = 1; i <= base_depth; i++) {
		layer[i] = img_get_backing(layer[i - 1]);
		if (!layer[i] && i == 1)
			return ERR(-ENOENT, "Image does not have a backing file");
		if (!layer[i])
			return ERR(-ENOENT, "the backing chain of '%s' is shorter than %d",
				   img->path, base_depth);
	}
	if (empty && img->ro)
		return ERR(-EROFS, "'%s' is open read-only", img->path);
	/* A handle of its own: the chain's is read-only and its caches would go stale. */
	base = img_open(layer[base_depth]->path, layer[base_depth]->fmt, 0, sub, sizeof(sub));
	if (!base)
		return ERR(-EACCES, "could not open the base image read-write: %s", sub);
	buf = malloc(CHAIN_CHUNK);
	if (!buf) {
		ret = ERR(-ENOMEM, "out of memory");
		goto out;
	}
	if (base->size < size) {
		ret = img_resize(base, size, false, sub, sizeof(sub));
		if (ret) {
			ret = ERR(ret, "could not grow '%s' to %llu bytes: %s", base->path,
				  (unsigned long long)size, sub);
			goto out;
		}
	}
	for (uint64_t off = 0; off < size;) {
		uint64_t run, n = chunk_at(off, size);
		int a = above_base(layer, base_depth, off, n, &run);

		if (a < 0) {
			ret = ERR(a, "error while reading the allocation of '%s' at offset %llu: %s",
				  img->path, (unsigned long long)off, strerror(-a));
			goto out;
		}
		n = run;
		if (a) {
			ret = img_pread(img, buf, n, off);
			if (ret) {
				ret = ERR(ret, "error while reading '%s' at offset %llu: %s", img->path,
					  (unsigned long long)off, strerror(-ret));
				goto out;
			}
			/* qcow2 discards read back as zeros (a zero cluster over a backing file). */
			if (base->fmt == IMG_FMT_QCOW2 && is_zero(buf, n))
				ret = img_discard(base, off, n);
			else
				ret = img_pwrite(base, buf, n, off);
			if (ret) {
				ret = ERR(ret, "error while writing '%s' at offset %llu: %s", base->path,
					  (unsigned long long)off, strerror(-ret));
				goto out;
			}
			/* Start the write-back as we go: the final flush then waits for little. */
			since_kick += n;
			if (since_kick >= WRITEBACK_KICK) {
				sync_file_range(base->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
				since_kick = 0;
			}
		}
		off += n;
		if (progress)
			progress(opaque, off, size);
	}
	/* The base holds everything before the top lets go of anything. */
	ret = img_flush(base);
	if (ret) {
		ret = ERR(ret, "error while flushing '%s': %s", base->path, strerror(-ret));
		goto out;
	}
	img_close(base);
	base = NULL;
	if (empty)
		ret = img_make_empty(img, err, errlen);
out:
	free(buf);
	img_close(base);
	return ret;
}
