/* imgtool/qcow2_amend.c: qcow2 header rewrites (backing file, version), refcount width changes, emptying an image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2.h"

#define ERR(code, ...) (img_seterr(err, errlen, __VA_ARGS__), (code))
#define EXT_BITMAPS		0x23852875u

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~7ull;
}

/*
 * Lay the header cluster out anew: the fixed header of the given version,
 * the backing format extension, every other extension as it was (the
 * feature table only in version 3, bitmaps never in version 2), the end
 * marker and the backing file name. One write: a crash leaves the old
 * header or the new one.
 */
static int rewrite_header(struct img *img, int version, const char *bname, const char *bfmt,
			  char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t cs = s->cluster_size, ext_end = cs, old_used, off, hlen;
	char name[QCOW2_MAX_BACKING_NAME + 1], fmt[sizeof(s->backing_fmt)];
	size_t blen, flen;
	uint8_t *old, *hdr;
	int ret;

	/* The arguments may be the state this rewrites (s->backing_name). */
	if ((bname && strlen(bname) >= sizeof(name)) || (bfmt && strlen(bfmt) >= sizeof(fmt)))
		return ERR(-EINVAL, "backing file name or format too long for '%s'", img->path);
	snprintf(name, sizeof(name), "%s", bname ? bname : "");
	snprintf(fmt, sizeof(fmt), "%s", bfmt ? bfmt : "");
	blen = strlen(name);
	flen = blen ? strlen(fmt) : 0;
	bname = name;
	bfmt = fmt;
	old = calloc(1, cs);
	hdr = calloc(1, cs);
	if (!old || !hdr) {
		ret = ERR(-ENOMEM, "out of memory");
		goto out;
	}
	ret = img_file_pread(img->fd, old, cs, 0);
	if (ret) {
		ret = ERR(ret, "could not read the header of '%s': %s", img->path, strerror(-ret));
		goto out;
	}
	if (get_be64(old + HDR_BACKING_OFF))
		ext_end = get_be64(old + HDR_BACKING_OFF);
	old_used = s->header_len;

	/* The fixed part. */
	if (version == 3 && s->version == 3) {
		hlen = s->header_len;
		memcpy(hdr, old, hlen);
	} else if (version == 3) {
		hlen = QCOW2_V3_HDR_LEN + 8;	/* with the compression type byte, as qemu writes */
		memcpy(hdr, old, QCOW2_V2_HDR_LEN);
		put_be32(hdr + HDR_REFCOUNT_ORDER, 4);
		put_be32(hdr + HDR_HEADER_LEN, (uint32_t)hlen);
	} else {
		hlen = QCOW2_V2_HDR_LEN;
		memcpy(hdr, old, hlen);
	}
	put_be32(hdr + HDR_VERSION, (uint32_t)version);
	off = align8(hlen);
	if (flen) {
		put_be32(hdr + off, EXT_BACKING_FORMAT);
		put_be32(hdr + off + 4, (uint32_t)flen);
		memcpy(hdr + off + 8, bfmt, flen);
		off += 8 + align8(flen);
	}
	/* The extensions kept; qemu reads them in version 2 images too. */
	for (uint64_t p = align8(s->header_len); p + 8 <= ext_end;) {
		uint32_t type = get_be32(old + p), len = get_be32(old + p + 4);
		uint64_t span = 8 + align8(len);

		if (type == EXT_END || span > ext_end - p)
			break;
		old_used = p + span + 8;
		if (type != EXT_BACKING_FORMAT &&
		    !(version == 2 && (type == EXT_FEATURE_TABLE || type == EXT_BITMAPS))) {
			if (off + span + 8 + blen > cs) {
				ret = ERR(-EFBIG, "the header extensions and backing file name of '%s' do not fit in a %llu-byte cluster",
					  img->path, (unsigned long long)cs);
				goto out;
			}
			memcpy(hdr + off, old + p, span);
			off += span;
		}
		p += span;
	}
	off += 8;			/* end marker, already zero */
	if (get_be64(old + HDR_BACKING_OFF)) {
		uint64_t e = get_be64(old + HDR_BACKING_OFF) + get_be32(old + HDR_BACKING_SIZE);

		if (e <= cs && e > old_used)
			old_used = e;
	}
	put_be64(hdr + HDR_BACKING_OFF, 0);
	put_be32(hdr + HDR_BACKING_SIZE, 0);
	if (blen) {
		if (blen > QCOW2_MAX_BACKING_NAME || off + blen > cs) {
			ret = ERR(-EFBIG, "backing file name '%s' does not fit in the header of '%s'",
				  bname, img->path);
			goto out;
		}
		put_be64(hdr + HDR_BACKING_OFF, off);
		put_be32(hdr + HDR_BACKING_SIZE, (uint32_t)blen);
		memcpy(hdr + off, bname, blen);
		off += blen;
	}
	/* Zero what the old layout used past the new one: no stale names. */
	ret = img_file_pwrite(img->fd, hdr, off > old_used ? off : old_used, 0);
	if (!ret)
		ret = qcow2_sync(img);
	if (ret) {
		ret = ERR(ret, "could not write the header of '%s': %s", img->path, strerror(-ret));
		goto out;
	}
	if (version != s->version) {
		s->version = version;
		s->header_len = hlen;
		s->incompat = s->compat = s->autoclear = 0;	/* a downgrade checked them */
	}
	snprintf(s->backing_name, sizeof(s->backing_name), "%s", blen ? bname : "");
	snprintf(s->backing_fmt, sizeof(s->backing_fmt), "%s", flen ? bfmt : "");
out:
	free(old);
	free(hdr);
	return ret;
}

int qcow2_set_backing(struct img *img, const char *name, const char *fmt, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	enum img_format bf = IMG_FMT_AUTO;
	char path[4096 + QCOW2_MAX_BACKING_NAME + 2];
	int ret;

	if (fmt && *fmt && strlen(fmt) >= sizeof(s->backing_fmt))
		return ERR(-EINVAL, "backing format name '%s' is too long", fmt);
	ret = qcow2_flush_metadata(img);
	if (ret)
		return ERR(ret, "could not flush '%s': %s", img->path, strerror(-ret));
	ret = rewrite_header(img, s->version, name, fmt, err, errlen);
	if (ret)
		return ret;
	/* The handle reads through the new backing file from now on, if it opens. */
	if (s->backing)
		img_close(s->backing);
	s->backing = NULL;
	if (name && *name && img_backing_path(img->path, name, path, sizeof(path)) == 0) {
		if (fmt && *fmt)
			img_parse_format(fmt, &bf);
		s->backing = img_open(path, bf, IMG_OPEN_RDONLY, NULL, 0);
	}
	return 0;
}

int qcow2_is_allocated(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum)
{
	struct qcow2 *s = QS(img);
	uint64_t vc = off >> s->cluster_bits, end = off + len, pos, entry;
	int first = -1, ret;

	for (pos = off; pos < end; vc++) {
		int a;

		ret = qcow2_l2_entry(img, vc, &entry);
		if (ret)
			return ret;
		a = (entry & (L2E_COMPRESSED | L2E_ZERO | L2E_OFFSET_MASK)) != 0;
		if (first < 0)
			first = a;
		else if (a != first)
			break;
		pos = (vc + 1) << s->cluster_bits;
	}
	*pnum = (pos < end ? pos : end) - off;
	return first;
}

/* ---- emptying ---- */

static uint64_t file_end_cluster(struct img *img)
{
	struct qcow2 *s = QS(img);
	struct stat st;
	uint64_t f = 0;

	if (fstat(img->fd, &st) == 0)
		f = ((uint64_t)st.st_size + s->cluster_size - 1) >> s->cluster_bits;
	return f > s->alloc_end ? f : s->alloc_end;
}

/*
 * Unmap every cluster: the zeroed L1 table reaches the disk before any
 * refcount drops, so a crash leaks clusters at worst; a torn L1 write
 * leaves some tables mapped, which read as the backing file reads anyway
 * once a commit has filled it.
 */
int qcow2_make_empty(struct img *img, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t *old_l1 = NULL, last = 0, rc, end;
	uint8_t *zero = NULL;
	int ret;

	if (s->nb_snapshots)
		return ERR(-ENOTSUP, "'%s' has internal snapshots", img->path);
	ret = qcow2_flush_metadata(img);
	if (ret)
		goto io;
	if (!s->l1_size)
		return 0;
	old_l1 = malloc((size_t)s->l1_size * 8);
	zero = calloc(s->l1_size, 8);
	if (!old_l1 || !zero) {
		ret = -ENOMEM;
		goto io;
	}
	memcpy(old_l1, s->l1, (size_t)s->l1_size * 8);
	ret = img_file_pwrite(img->fd, zero, (size_t)s->l1_size * 8, s->l1_off);
	if (!ret)
		ret = qcow2_sync(img);
	if (ret)
		goto io;
	memset(s->l1, 0, (size_t)s->l1_size * 8);
	s->dc_entry = 0;
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2_off = old_l1[i] & L1E_OFFSET_MASK, *tbl;

		if (!l2_off)
			continue;
		ret = qcow2_l2_get(img, l2_off, &tbl);
		if (ret)
			goto io;
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64toh(tbl[j]);

			if ((e & L2E_COMPRESSED) || (e & L2E_OFFSET_MASK)) {
				ret = qcow2_free_later(img, e);
				if (ret)
					goto io;
			}
		}
		qcow2_l2_forget(img, l2_off);
		ret = qcow2_free_later(img, l2_off);
		if (ret)
			goto io;
	}
	ret = qcow2_flush_metadata(img);	/* applies the queued frees */
	if (ret)
		goto io;
	/* Give the freed tail back to the file system. */
	end = file_end_cluster(img);
	for (uint64_t c = end; c-- > 0;) {
		ret = qcow2_refcount_get(img, c, &rc);
		if (ret)
			goto io;
		if (rc) {
			last = c + 1;
			break;
		}
	}
	if (last && last < end && ftruncate(img->fd, (off_t)(last << s->cluster_bits)) == 0) {
		s->alloc_end = last;
		s->cbyte_off = 0;
	}
	s->free_hint = 0;
	free(old_l1);
	free(zero);
	return 0;
io:
	free(old_l1);
	free(zero);
	return ERR(ret, "could not empty '%s': %s", img->path, strerror(-ret));
}

/* ---- refcount width ---- */

/* Bitmap of the clusters the current refcount table and blocks occupy. */
static uint8_t *old_refcount_clusters(struct qcow2 *s, uint64_t nclusters)
{
	uint8_t *map = calloc(1, (nclusters + 7) / 8);

	if (!map)
		return NULL;
	for (uint64_t i = 0; i < s->rt_clusters; i++) {
		uint64_t c = (s->rt_off >> s->cluster_bits) + i;

		if (c < nclusters)
			map[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	for (uint64_t b = 0; b < s->rt_entries; b++) {
		uint64_t c = s->rt[b] >> s->cluster_bits;

		if (s->rt[b] && c < nclusters)
			map[c / 8] |= (uint8_t)(1u << (c % 8));
	}
	return map;
}

/* Would every refcount fit in the new width? Checked before anything changes. */
static int refcounts_fit(struct img *img, unsigned order, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t max = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1, fc, rc;
	int ret = qcow2_flush_metadata(img);

	if (ret)
		return ERR(ret, "could not flush '%s': %s", img->path, strerror(-ret));
	fc = file_end_cluster(img);
	for (uint64_t c = 0; c < fc; c++) {
		ret = qcow2_refcount_get(img, c, &rc);
		if (ret)
			return ERR(ret, "could not read the refcounts of '%s': %s", img->path,
				   strerror(-ret));
		if (rc > max)
			return ERR(-EINVAL, "Cannot decrease refcount entry width to %u bits: Cluster at offset %#llx has a refcount of %llu",
				   1u << order, (unsigned long long)(c << s->cluster_bits),
				   (unsigned long long)rc);
	}
	return 0;
}

/*
 * New refcount table and blocks of the new width go past the end of the
 * file; the header switches to them in one write; the old structures are
 * then free space (their refcount in the new blocks is 0).
 */
static int change_refcount_order(struct img *img, unsigned order, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t cs = s->cluster_size, fc, start, nb = 1, nrt = 1, per, end, newmax;
	uint64_t *rt = NULL;
	uint8_t *blk = NULL, *old = NULL, hdr[52];
	unsigned rb_bits = s->cluster_bits + 3 - order;
	int ret;

	if (order == s->refcount_order)
		return 0;
	ret = qcow2_flush_metadata(img);
	if (ret)
		return ERR(ret, "could not flush '%s': %s", img->path, strerror(-ret));
	fc = file_end_cluster(img);
	old = old_refcount_clusters(s, fc);
	if (!old)
		return ERR(-ENOMEM, "out of memory");
	newmax = order == 6 ? UINT64_MAX : (1ull << (1u << order)) - 1;
	/* Table, then blocks, at the end; the blocks must cover themselves. */
	start = fc;
	per = 1ull << rb_bits;
	for (;;) {
		uint64_t e = start + nrt + nb, need_b = (e + per - 1) / per;
		uint64_t need_t = (need_b * 8 + cs - 1) / cs;

		if (need_b == nb && need_t == nrt)
			break;
		nb = need_b;
		nrt = need_t;
	}
	end = start + nrt + nb;
	if (nrt * cs > QCOW2_MAX_REFTABLE_BYTES) {
		ret = ERR(-EFBIG, "the refcount table of '%s' would be too large", img->path);
		goto out;
	}
	rt = calloc(nrt * cs / 8, 8);
	blk = malloc(cs);
	if (!rt || !blk) {
		ret = ERR(-ENOMEM, "out of memory");
		goto out;
	}
	for (uint64_t b = 0; b < nb; b++) {
		memset(blk, 0, cs);
		for (uint64_t i = 0; i < per; i++) {
			uint64_t c = b * per + i, rc = 0;

			if (c >= end)
				break;
			if (c >= start) {
				rc = 1;
			} else if (!(old[c / 8] & (1u << (c % 8)))) {
				ret = qcow2_refcount_get(img, c, &rc);
				if (ret)
					goto io;
			}
			qcow2_rc_store(blk, order, i, rc);
		}
		ret = img_file_pwrite(img->fd, blk, cs, (start + nrt + b) * cs);
		if (ret)
			goto io;
		rt[b] = htobe64((start + nrt + b) * cs);
	}
	ret = img_file_pwrite(img->fd, rt, nrt * cs, start * cs);
	if (!ret)
		ret = qcow2_sync(img);
	/* Header bytes 48..99: table offset and size, refcount order, in one write. */
	if (!ret)
		ret = img_file_pread(img->fd, hdr, sizeof(hdr), HDR_RT_OFF);
	if (ret)
		goto io;
	put_be64(hdr, start * cs);
	put_be32(hdr + HDR_RT_CLUSTERS - HDR_RT_OFF, (uint32_t)nrt);
	put_be32(hdr + HDR_REFCOUNT_ORDER - HDR_RT_OFF, order);
	ret = img_file_pwrite(img->fd, hdr, sizeof(hdr), HDR_RT_OFF);
	if (!ret)
		ret = qcow2_sync(img);
	if (ret)
		goto io;
	for (uint64_t i = 0; i < nrt * cs / 8; i++)
		rt[i] = be64toh(rt[i]);
	free(s->rt);
	s->rt = rt;
	rt = NULL;
	s->rt_entries = nrt * cs / 8;
	s->rt_off = start * cs;
	s->rt_clusters = (uint32_t)nrt;
	s->refcount_order = order;
	s->refcount_bits = 1u << order;
	s->refcount_max = newmax;
	s->rb_bits = rb_bits;
	for (unsigned i = 0; i < s->rbc.n; i++)	/* clean after the flush above */
		s->rbc.e[i].off = 0;
	s->alloc_end = end;
	s->free_hint = 0;
	s->cbyte_off = 0;
	goto out;
io:
	ret = ERR(ret, "could not write the refcount structures of '%s': %s", img->path, strerror(-ret));
out:
	free(old);
	free(rt);
	free(blk);
	return ret;
}

/* ---- compat ---- */

/* Version 2 has no zero flag: such clusters become unmapped, or zeros on disk over a backing file. */
static int expand_zero_clusters(struct img *img)
{
	struct qcow2 *s = QS(img);
	uint8_t *zeros = calloc(1, s->cluster_size);
	int ret = zeros ? 0 : -ENOMEM;

	for (uint32_t i = 0; i < s->l1_size && !ret; i++) {
		if (!(s->l1[i] & L1E_OFFSET_MASK))
			continue;
		for (uint64_t j = 0; j < s->l2_entries && !ret; j++) {
			uint64_t vc = ((uint64_t)i << s->l2_bits) + j, off = vc << s->cluster_bits, e, n;

			if (off >= img->size)
				break;
			ret = qcow2_l2_entry(img, vc, &e);
			if (ret || !(e & L2E_ZERO) || (e & L2E_COMPRESSED))
				continue;
			n = img->size - off < s->cluster_size ? img->size - off : s->cluster_size;
			if (s->backing_name[0])
				ret = img->drv->pwrite(img, zeros, (size_t)n, off);
			else
				ret = img->drv->discard(img, off, n);
		}
	}
	free(zeros);
	return ret ? ret : qcow2_flush_metadata(img);
}

static int write_compat_bits(struct img *img, uint64_t compat)
{
	uint8_t b[8];
	int ret;

	put_be64(b, compat);
	ret = qcow2_write_header_field(img, HDR_COMPAT, b, 8);
	if (!ret)
		ret = qcow2_sync(img);
	if (!ret)
		QS(img)->compat = compat;
	return ret;
}

/*
 * Validate everything first, then: size (a refused shrink changes nothing),
 * and in qemu's order upgrade, refcount width, lazy refcounts, downgrade,
 * backing file. Each step is crash-safe on its own; a failure (of I/O, all
 * else is checked up front) stops with the steps before it done.
 */
int qcow2_amend(struct img *img, const struct img_amend_opts *o, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	int version = o->compat ? o->compat : s->version;
	unsigned order = s->refcount_order;
	int ret;

	if (o->compat && o->compat != 2 && o->compat != 3)
		return ERR(-EINVAL, "Unknown compatibility level");
	if (o->refcount_bits) {
		if (o->refcount_bits > 64 || (o->refcount_bits & (o->refcount_bits - 1)))
			return ERR(-EINVAL, "Refcount width must be a power of two and may not exceed 64 bits");
		order = (unsigned)__builtin_ctz((unsigned)o->refcount_bits);
	}
	if (version < 3 && o->lazy_refcounts == 1)
		return ERR(-EINVAL, "Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
	if (version < 3 && o->refcount_bits && o->refcount_bits != 16)
		return ERR(-EINVAL, "Refcount widths other than 16 bits require compatibility level 1.1 or above (use compat=1.1 or greater)");
	if (version < 3 && order != 4)
		return ERR(-EINVAL, "compat=0.10 requires refcount_bits=16");
	if (version < s->version && (s->incompat & ~INCOMPAT_DIRTY))
		return ERR(-ENOTSUP, "Cannot downgrade an image with incompatible features 0x%llx set",
			   (unsigned long long)(s->incompat & ~INCOMPAT_DIRTY));
	if (s->nb_snapshots)
		return ERR(-ENOTSUP, "'%s' has internal snapshots", img->path);
	if (o->backing_fmt && *o->backing_fmt && !(o->backing_file ? *o->backing_file : *s->backing_name))
		return ERR(-EINVAL, "backing_fmt needs a backing file");

	if (order < s->refcount_order) {
		ret = refcounts_fit(img, order, err, errlen);
		if (ret)
			return ret;
	}
	/* A shrink refused for data in the way changes nothing: first. */
	if (o->size && o->size != img->size) {
		ret = qcow2_resize(img, o->size, true, err, errlen);
		if (ret)
			return ret;
	}
	if (version > s->version) {
		ret = qcow2_flush_metadata(img);
		if (ret)
			return ERR(ret, "could not flush '%s': %s", img->path, strerror(-ret));
		ret = rewrite_header(img, version, s->backing_name, s->backing_fmt, err, errlen);
		if (ret)
			return ret;
	}
	ret = change_refcount_order(img, order, err, errlen);
	if (ret)
		return ret;
	if (o->lazy_refcounts >= 0 && version == 3 &&
	    !!(s->compat & COMPAT_LAZY_REFCOUNTS) != (o->lazy_refcounts == 1)) {
		ret = write_compat_bits(img, o->lazy_refcounts ? s->compat | COMPAT_LAZY_REFCOUNTS
							       : s->compat & ~COMPAT_LAZY_REFCOUNTS);
		if (ret)
			return ERR(ret, "could not write the header of '%s': %s", img->path, strerror(-ret));
	}
	if (version < s->version) {
		ret = expand_zero_clusters(img);
		if (ret)
			return ERR(ret, "could not expand the zero clusters of '%s': %s", img->path,
				   strerror(-ret));
		ret = rewrite_header(img, version, s->backing_name, s->backing_fmt, err, errlen);
		if (ret)
			return ret;
	}
	if (o->set_backing) {
		char name[sizeof(s->backing_name)];

		snprintf(name, sizeof(name), "%s", o->backing_file ? o->backing_file : s->backing_name);
		ret = qcow2_set_backing(img, name, o->backing_fmt ? o->backing_fmt :
					o->backing_file ? NULL : s->backing_fmt, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}
