/* imgtool/qcow2_io.c: qcow2 guest I/O: cluster lookup, reads, copy-on-write writes, compression, discard. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

int qcow2_l2_entry(struct img *img, uint64_t vc, uint64_t *entry)
{
	struct qcow2 *s = QS(img);
	uint64_t idx = vc >> s->l2_bits, l2_off;
	uint64_t *tbl;
	int ret;

	*entry = 0;
	if (idx >= s->l1_size)
		return 0;
	l2_off = s->l1[idx] & L1E_OFFSET_MASK;
	if (!l2_off)
		return 0;
	ret = qcow2_l2_get(img, l2_off, &tbl);
	if (ret)
		return ret;
	*entry = be64toh(tbl[vc & (s->l2_entries - 1)]);
	return 0;
}

uint64_t qcow2_compressed_span(struct qcow2 *s, uint64_t entry, uint64_t *coff)
{
	uint64_t nsec = ((entry >> s->csize_shift) & s->csize_mask) + 1;

	*coff = entry & s->coff_mask;
	return nsec * 512 - (*coff & 511);
}

/* An uncompressed data offset must be aligned and clear of the fixed metadata. */
static int data_offset_ok(struct qcow2 *s, uint64_t host)
{
	uint64_t rt_end = s->rt_off + ((uint64_t)s->rt_clusters << s->cluster_bits);
	uint64_t l1_end = s->l1_off + (uint64_t)s->l1_size * 8;

	if (host & (s->cluster_size - 1) || host < s->cluster_size)
		return 0;
	if (host < rt_end && host + s->cluster_size > s->rt_off)
		return 0;
	if (s->l1_size && host < l1_end && host + s->cluster_size > s->l1_off)
		return 0;
	return 1;
}

static int read_compressed(struct img *img, uint64_t entry, uint8_t *out)
{
	struct qcow2 *s = QS(img);
	uint64_t coff, len = qcow2_compressed_span(s, entry, &coff);
	uint8_t scratch[64];
	int ret, zr;

	if (coff < s->cluster_size)
		return -EIO;		/* compressed data inside the header */
	ret = img_file_pread(img->fd, s->cbuf, len, coff);
	if (ret)
		return ret;
	if (s->compression == IMG_COMPRESSION_ZSTD)
		return img_zstd_decompress(s->zstd, out, s->cluster_size, s->cbuf, len);
	if (inflateReset(&s->inflate) != Z_OK)
		return -EIO;
	s->inflate.next_in = s->cbuf;
	s->inflate.avail_in = (uInt)len;
	s->inflate.next_out = out;
	s->inflate.avail_out = (uInt)s->cluster_size;
	zr = inflate(&s->inflate, Z_FINISH);
	if (s->inflate.avail_out)
		return -EIO;		/* truncated: less than a cluster came out */
	if (zr == Z_STREAM_END)
		return 0;
	if (zr != Z_BUF_ERROR)
		return -EIO;
	/* Output full but no end marker: fine only if nothing more would come. */
	s->inflate.next_out = scratch;
	s->inflate.avail_out = sizeof(scratch);
	zr = inflate(&s->inflate, Z_SYNC_FLUSH);
	if (s->inflate.avail_out != sizeof(scratch))
		return -EIO;		/* oversized: decompresses past the cluster */
	return 0;
}

/* Read part of cluster vc (in: offset in it, n bytes) into buf. */
static int read_cluster(struct img *img, uint64_t vc, uint64_t in, size_t n, uint8_t *buf)
{
	struct qcow2 *s = QS(img);
	uint64_t entry, host, voff = (vc << s->cluster_bits) + in;
	int ret = qcow2_l2_entry(img, vc, &entry);

	if (ret)
		return ret;
	if (entry & L2E_COMPRESSED) {
		/* Guests read a compressed cluster a sector at a time: keep it. */
		if (s->dc_entry != entry) {
			s->dc_entry = 0;
			ret = read_compressed(img, entry, s->dcbuf);
			if (ret)
				return ret;
			s->dc_entry = entry;
		}
		memcpy(buf, s->dcbuf + in, n);
		return 0;
	}
	if (entry & L2E_ZERO) {
		memset(buf, 0, n);
		return 0;
	}
	host = entry & L2E_OFFSET_MASK;
	if (host) {
		if (!data_offset_ok(s, host))
			return -EIO;
		return img_file_pread(img->fd, buf, n, host + in);
	}
	if (s->backing && voff < img_get_size(s->backing)) {
		uint64_t bsize = img_get_size(s->backing);
		size_t m = voff + n > bsize ? (size_t)(bsize - voff) : n;

		ret = img_pread(s->backing, buf, m, voff);
		if (ret)
			return ret;
		memset(buf + m, 0, n - m);
		return 0;
	}
	memset(buf, 0, n);
	return 0;
}

static int qcow2_pread(struct img *img, void *buf, size_t len, uint64_t off)
{
	struct qcow2 *s = QS(img);
	uint8_t *p = buf;

	while (len) {
		uint64_t vc = off >> s->cluster_bits, in = off & (s->cluster_size - 1);
		size_t n = s->cluster_size - in < len ? (size_t)(s->cluster_size - in) : len;
		int ret = read_cluster(img, vc, in, n, p);

		if (ret)
			return ret;
		p += n;
		off += n;
		len -= n;
	}
	return 0;
}

/* Point cluster vc at a new entry, releasing what it pointed at before. */
static int set_entry(struct img *img, uint64_t vc, uint64_t entry)
{
	struct qcow2 *s = QS(img);
	uint64_t *tbl, l2_off, old;
	int ret = qcow2_l2_writable(img, vc >> s->l2_bits, &tbl, &l2_off);

	if (ret)
		return ret;
	old = be64toh(tbl[vc & (s->l2_entries - 1)]);
	tbl[vc & (s->l2_entries - 1)] = htobe64(entry);
	qcow2_l2_mark_dirty(img, l2_off);
	if ((old & L2E_COMPRESSED) || (old & L2E_OFFSET_MASK))
		return qcow2_free_later(img, old);
	return 0;
}

static int write_cluster(struct img *img, uint64_t vc, uint64_t in, size_t n, const uint8_t *buf)
{
	struct qcow2 *s = QS(img);
	uint64_t entry, host;
	const uint8_t *data = buf;
	int64_t nc;
	int ret = qcow2_l2_entry(img, vc, &entry);

	if (ret)
		return ret;
	host = entry & L2E_OFFSET_MASK;
	/* In place only where the flags and the refcount agree the cluster is ours alone. */
	if (!(entry & (L2E_COMPRESSED | L2E_ZERO)) && host && (entry & L2E_COPIED) &&
	    (s->l1[vc >> s->l2_bits] & L1E_COPIED) && qcow2_exclusive(img, host)) {
		if (!data_offset_ok(s, host))
			return -EIO;
		return img_file_pwrite(img->fd, buf, n, host + in);
	}
	if (n < s->cluster_size) {
		/* Copy on write: the rest of the cluster keeps its old contents. */
		ret = read_cluster(img, vc, 0, s->cluster_size, s->bounce);
		if (ret)
			return ret;
		memcpy(s->bounce + in, buf, n);
		data = s->bounce;
	}
	{
		/* The L2 table first, so tables come before the data they map. */
		uint64_t *tbl, l2_off;

		ret = qcow2_l2_writable(img, vc >> s->l2_bits, &tbl, &l2_off);
		if (ret)
			return ret;
	}
	nc = qcow2_alloc_clusters(img, 1);
	if (nc < 0)
		return (int)nc;
	ret = img_file_pwrite(img->fd, data, s->cluster_size, (uint64_t)nc);
	if (ret)
		return ret;
	return set_entry(img, vc, (uint64_t)nc | L2E_COPIED);
}

static int qcow2_pwrite(struct img *img, const void *buf, size_t len, uint64_t off)
{
	struct qcow2 *s = QS(img);
	const uint8_t *p = buf;
	int ret = qcow2_clear_autoclear(img);

	s->dc_entry = 0;	/* its host bytes may be freed and reused */

	while (!ret && len) {
		uint64_t vc = off >> s->cluster_bits, in = off & (s->cluster_size - 1);
		size_t n = s->cluster_size - in < len ? (size_t)(s->cluster_size - in) : len;

		ret = write_cluster(img, vc, in, n, p);
		p += n;
		off += n;
		len -= n;
	}
	return ret;
}

static int qcow2_write_compressed(struct img *img, uint64_t off, const void *cdata, size_t clen)
{
	struct qcow2 *s = QS(img);
	uint64_t nsec;
	int64_t h;
	int ret;

	if (off & (s->cluster_size - 1) || !clen || clen > s->cluster_size)
		return -EINVAL;
	s->dc_entry = 0;
	ret = qcow2_clear_autoclear(img);
	if (ret)
		return ret;
	h = qcow2_alloc_bytes(img, clen);
	if (h < 0)
		return (int)h;
	if ((uint64_t)h > s->coff_mask)
		return -EFBIG;
	ret = img_file_pwrite(img->fd, cdata, clen, (uint64_t)h);
	if (ret)
		return ret;
	nsec = (((uint64_t)h + clen - 1) >> 9) - ((uint64_t)h >> 9);
	return set_entry(img, off >> s->cluster_bits,
			 L2E_COMPRESSED | (nsec << s->csize_shift) | (uint64_t)h);
}

static int qcow2_discard(struct img *img, uint64_t off, uint64_t len)
{
	struct qcow2 *s = QS(img);
	uint8_t *zeros = calloc(1, s->cluster_size);
	int ret = zeros ? qcow2_clear_autoclear(img) : -ENOMEM;

	s->dc_entry = 0;

	while (!ret && len) {
		uint64_t vc = off >> s->cluster_bits, in = off & (s->cluster_size - 1);
		uint64_t n = s->cluster_size - in < len ? s->cluster_size - in : len;
		/* The last cluster counts as whole when the range runs to the end. */
		bool whole = n == s->cluster_size || (in == 0 && off + n == img->size);

		if (!whole) {
			/* Partial cluster: keep the rest, zero the range. */
			ret = write_cluster(img, vc, in, (size_t)n, zeros);
		} else if (s->backing && s->version < 3) {
			ret = write_cluster(img, vc, 0, s->cluster_size, zeros);
		} else {
			uint64_t entry;

			ret = qcow2_l2_entry(img, vc, &entry);
			if (!ret && (entry || s->backing))
				ret = set_entry(img, vc, s->backing ? L2E_ZERO : 0);
		}
		off += n;
		len -= n;
	}
	free(zeros);
	return ret;
}

static int qcow2_flush(struct img *img)
{
	QS(img)->dc_entry = 0;	/* queued frees are applied below */
	return qcow2_flush_metadata(img);
}

static unsigned classify(struct qcow2 *s, uint64_t entry, uint64_t *host)
{
	*host = 0;
	if (entry & L2E_COMPRESSED)
		return IMG_EXT_DATA | IMG_EXT_COMPRESSED;
	if (entry & L2E_ZERO)
		return IMG_EXT_ZERO;
	if (entry & L2E_OFFSET_MASK) {
		*host = entry & L2E_OFFSET_MASK;
		return IMG_EXT_DATA;
	}
	return s->backing ? IMG_EXT_BACKING : IMG_EXT_ZERO;
}

/* Unallocated in this image with nothing beneath: reads as zeros, and is not "present" for map. */
static bool unallocated(struct qcow2 *s, uint64_t entry)
{
	return !s->backing && !(entry & (L2E_COMPRESSED | L2E_ZERO | L2E_OFFSET_MASK));
}

static int qcow2_block_status(struct img *img, uint64_t off, uint64_t len, struct img_extent *ext)
{
	struct qcow2 *s = QS(img);
	uint64_t vc = off >> s->cluster_bits, entry, host, h2, pos;
	unsigned flags;
	bool unalloc;
	int ret = qcow2_l2_entry(img, vc, &entry);

	if (ret)
		return ret;
	flags = classify(s, entry, &host);
	unalloc = unallocated(s, entry);
	ext->flags = flags;
	ext->host_off = host ? host + (off & (s->cluster_size - 1)) : 0;
	ext->offset_valid = host != 0;	/* cluster 0 is the header: never data */
	ext->unallocated = unalloc;
	pos = (vc + 1) << s->cluster_bits;
	while (pos < off + len) {
		ret = qcow2_l2_entry(img, pos >> s->cluster_bits, &entry);
		if (ret)
			return ret;
		if (classify(s, entry, &h2) != flags || unallocated(s, entry) != unalloc)
			break;
		if (host && h2 != host + (pos - (vc << s->cluster_bits)))
			break;
		pos += s->cluster_size;
	}
	ext->len = (pos < off + len ? pos : off + len) - off;
	if (flags & IMG_EXT_BACKING) {
		/* Describe what the backing chain holds here. */
		uint64_t bsize = img_get_size(s->backing);
		struct img_extent be;

		if (off >= bsize) {
			ext->flags = IMG_EXT_ZERO;
			ext->unallocated = true;	/* past the backing file's end */
		} else if (img_block_status(s->backing, off, ext->len < bsize - off ?
					    ext->len : bsize - off, &be) == 0) {
			ext->len = be.len;
			ext->flags = be.flags | IMG_EXT_BACKING;
			ext->host_off = be.host_off;
			ext->offset_valid = be.offset_valid;
			ext->unallocated = be.unallocated;
			ext->depth = be.depth + 1;
		}
	}
	return 0;
}

static void qcow2_info(struct img *img, struct img_info *info)
{
	struct qcow2 *s = QS(img);

	info->cluster_size = (uint32_t)s->cluster_size;
	info->qcow2_version = s->version;
	info->refcount_bits = (int)s->refcount_bits;
	info->dirty = s->incompat & INCOMPAT_DIRTY;
	info->corrupt = s->incompat & INCOMPAT_CORRUPT;
	info->lazy_refcounts = s->compat & COMPAT_LAZY_REFCOUNTS;
	info->nb_snapshots = s->nb_snapshots;
	snprintf(info->backing_file, sizeof(info->backing_file), "%s", s->backing_name);
	snprintf(info->backing_format, sizeof(info->backing_format), "%s", s->backing_fmt);
	info->compression = s->compression;
}

const struct img_driver img_qcow2_driver = {
	.pread = qcow2_pread,
	.pwrite = qcow2_pwrite,
	.discard = qcow2_discard,
	.flush = qcow2_flush,
	.close = qcow2_close,
	.block_status = qcow2_block_status,
	.write_compressed = qcow2_write_compressed,
	.resize = qcow2_resize,
	.check = qcow2_check,
	.info = qcow2_info,
	.snapshot_list = qcow2_snapshot_list,
	.snapshot_create = qcow2_snapshot_create,
	.snapshot_apply = qcow2_snapshot_apply,
	.snapshot_delete = qcow2_snapshot_delete,
};
