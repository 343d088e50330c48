/* imgtool/qcow2_check.c: qcow2 consistency check and repair (refcounts, COPIED flags) and resize. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qcow2.h"

struct refs {
	uint32_t *cnt;		/* expected refcount per host cluster */
	uint64_t n;
	uint64_t beyond;	/* references past the end of the file */
};

static void ref_range(struct qcow2 *s, struct refs *r, uint64_t off, uint64_t len,
		      struct img_check_result *res, FILE *log)
{
	uint64_t first = off >> s->cluster_bits, last = (off + len - 1) >> s->cluster_bits;

	for (uint64_t c = first; c <= last; c++) {
		if (c >= r->n) {
			if (log)
				fprintf(log, "ERROR offset=%llx: cluster is beyond the end of the image\n",
					(unsigned long long)(c << s->cluster_bits));
			res->corruptions++;
			r->beyond++;
			continue;
		}
		if (r->cnt[c] < UINT32_MAX)
			r->cnt[c]++;
	}
}

static int walk_l2(struct img *img, struct refs *r, uint32_t l1i, uint64_t l2_off, uint64_t size,
		   unsigned fix, struct img_check_result *res, FILE *log, uint64_t *prev_host)
{
	struct qcow2 *s = QS(img);
	uint64_t *tbl;
	int ret = qcow2_l2_get(img, l2_off, &tbl);

	if (ret)
		return ret;
	for (uint64_t i = 0; i < s->l2_entries; i++) {
		uint64_t e = be64toh(tbl[i]), vc = ((uint64_t)l1i << s->l2_bits) + i;

		if (!(e & ~L2E_ZERO))
			continue;	/* unallocated, or zero without a cluster */
		if ((vc << s->cluster_bits) >= size) {
			if (log)
				fprintf(log, "ERROR L2 entry %llu of table 0x%llx is past the disk size\n",
					(unsigned long long)i, (unsigned long long)l2_off);
			res->corruptions++;
			continue;
		}
		if (e & L2E_COMPRESSED) {
			uint64_t coff, len = qcow2_compressed_span(s, e, &coff);

			if (e & L2E_COPIED) {
				if (log)
					fprintf(log, "ERROR compressed cluster %llu has the COPIED flag\n",
						(unsigned long long)vc);
				res->corruptions++;
				if (fix & IMG_CHECK_FIX_ERRORS) {
					tbl[i] = htobe64(e & ~L2E_COPIED);
					qcow2_l2_mark_dirty(img, l2_off);
					res->corruptions_fixed++;
				}
			}
			res->allocated_clusters++;
			res->compressed_clusters++;
			res->fragmented_clusters++;	/* as qemu counts them: re-read sectors */
			ref_range(s, r, coff & ~511ull, len + (coff & 511), res, log);
			continue;
		}
		if (e & L2E_OFFSET_MASK) {
			uint64_t h = e & L2E_OFFSET_MASK;

			if (h & (s->cluster_size - 1)) {
				if (log)
					fprintf(log, "ERROR offset=%llx: data cluster is not properly aligned; L2 entry corrupted\n",
						(unsigned long long)h);
				res->corruptions++;
				continue;
			}
			if (!(e & L2E_ZERO)) {
				res->allocated_clusters++;
				if (*prev_host && h != *prev_host + s->cluster_size)
					res->fragmented_clusters++;
				*prev_host = h;
			}
			ref_range(s, r, h, s->cluster_size, res, log);
		}
	}
	return 0;
}

/*
 * Fix COPIED flags once refcounts are known good: set exactly when refcount
 * is 1. Like qemu, a leak repair that left nothing else wrong fixes them
 * too: dropping a leaked reference can bring a refcount down to 1.
 */
static int check_copied(struct img *img, unsigned fix, struct img_check_result *res, FILE *log)
{
	struct qcow2 *s = QS(img);
	bool repair = (fix & IMG_CHECK_FIX_ERRORS) ||
		      ((fix & IMG_CHECK_FIX_LEAKS) && !res->check_errors &&
		       res->corruptions == res->corruptions_fixed && res->leaks == res->leaks_fixed);
	uint64_t rc;
	int ret;

	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t l2_off = s->l1[i] & L1E_OFFSET_MASK, *tbl;
		bool want;

		if (!l2_off || (l2_off & (s->cluster_size - 1)))
			continue;
		ret = qcow2_refcount_get(img, l2_off >> s->cluster_bits, &rc);
		if (ret)
			return ret;
		want = rc == 1;
		if (want != !!(s->l1[i] & L1E_COPIED)) {
			if (log)
				fprintf(log, "%s OFLAG_COPIED L2 cluster: l1_index=%u l1_entry=%llx refcount=%llu\n",
					repair ? "Repairing" : "ERROR", i, (unsigned long long)s->l1[i],
					(unsigned long long)rc);
			res->corruptions++;
			if (repair) {
				s->l1[i] = want ? s->l1[i] | L1E_COPIED : s->l1[i] & ~L1E_COPIED;
				s->l1_dirty = true;
				res->corruptions_fixed++;
			}
		}
		ret = qcow2_l2_get(img, l2_off, &tbl);
		if (ret)
			return ret;
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64toh(tbl[j]), h = e & L2E_OFFSET_MASK;

			if ((e & L2E_COMPRESSED) || !h || (h & (s->cluster_size - 1)))
				continue;
			ret = qcow2_refcount_get(img, h >> s->cluster_bits, &rc);
			if (ret)
				return ret;
			want = rc == 1;
			if (want == !!(e & L2E_COPIED))
				continue;
			if (log)
				fprintf(log, "%s OFLAG_COPIED data cluster: l2_entry=%llx refcount=%llu\n",
					repair ? "Repairing" : "ERROR", (unsigned long long)e, (unsigned long long)rc);
			res->corruptions++;
			if (repair) {
				tbl[j] = htobe64(want ? e | L2E_COPIED : e & ~L2E_COPIED);
				qcow2_l2_mark_dirty(img, l2_off);
				res->corruptions_fixed++;
			}
		}
	}
	return 0;
}

/* Count what one internal snapshot references: its L1 table, L2 tables, data. */
static int ref_snapshot_l1(struct img *img, struct refs *r, const struct qcow2_snapshot *sn,
			   struct img_check_result *res, FILE *log)
{
	struct qcow2 *s = QS(img);
	struct img_check_result scratch = { 0 };
	uint64_t *l1, prev = 0;
	int ret;

	/* Offset and size were checked at open. */
	if (!sn->l1_size)
		return 0;
	l1 = malloc((size_t)sn->l1_size * 8);
	if (!l1)
		return -ENOMEM;
	ret = img_file_pread(img->fd, l1, (size_t)sn->l1_size * 8, sn->l1_off);
	ref_range(s, r, sn->l1_off, (uint64_t)sn->l1_size * 8, res, log);
	for (uint32_t i = 0; i < sn->l1_size && !ret; i++) {
		uint64_t l2_off = be64toh(l1[i]) & L1E_OFFSET_MASK;

		if (!l2_off)
			continue;
		if (l2_off & (s->cluster_size - 1)) {
			if (log)
				fprintf(log, "ERROR snapshot %s: L2 table 0x%llx is not cluster aligned\n",
					sn->id, (unsigned long long)l2_off);
			res->corruptions++;
			continue;
		}
		ref_range(s, r, l2_off, s->cluster_size, res, log);
		/*
		 * Statistics describe the active image only; entries past the
		 * disk size are the snapshot's saved VM state.
		 */
		ret = walk_l2(img, r, i, l2_off, UINT64_MAX, 0, &scratch, log, &prev);
	}
	res->corruptions += scratch.corruptions;
	free(l1);
	return ret;
}

static int ref_snapshots(struct img *img, struct refs *r, struct img_check_result *res, FILE *log)
{
	struct qcow2 *s = QS(img);
	int ret = 0;

	for (uint32_t i = 0; i < s->nb_snapshots && !ret; i++)
		ret = ref_snapshot_l1(img, r, &s->snaps[i], res, log);
	if (s->nb_snapshots)
		ref_range(s, r, s->snapshots_off, s->snapshots_len, res, log);
	return ret;
}

static int check_once(struct img *img, unsigned fix, struct img_check_result *res, FILE *log,
		      bool *changed)
{
	struct qcow2 *s = QS(img);
	struct refs r = { 0 };
	struct stat st;
	uint64_t prev_host = 0, rc, last_used = 0;
	int ret = 0;

	*changed = false;
	if (fstat(img->fd, &st) < 0)
		return -errno;
	r.n = ((uint64_t)st.st_size + s->cluster_size - 1) >> s->cluster_bits;
	if (s->alloc_end > r.n)
		r.n = s->alloc_end;	/* allocated, not yet written */
	r.cnt = calloc(r.n ? r.n : 1, sizeof(*r.cnt));
	if (!r.cnt)
		return -ENOMEM;
	res->total_clusters = (img->size + s->cluster_size - 1) >> s->cluster_bits;

	ref_range(s, &r, 0, s->cluster_size, res, log);
	if (s->l1_size)
		ref_range(s, &r, s->l1_off, (uint64_t)s->l1_size * 8, res, log);
	ref_range(s, &r, s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits, res, log);
	ret = ref_snapshots(img, &r, res, log);
	if (ret)
		goto out;
	for (uint64_t b = 0; b < s->rt_entries; b++)
		if (s->rt[b])
			ref_range(s, &r, s->rt[b], s->cluster_size, res, log);
	for (uint32_t i = 0; i < s->l1_size && !ret; i++) {
		uint64_t l2_off = s->l1[i] & L1E_OFFSET_MASK;

		if (!l2_off)
			continue;
		if (l2_off & (s->cluster_size - 1)) {
			if (log)
				fprintf(log, "ERROR l2_offset=%llx: L2 table is not cluster aligned; L1 entry corrupted\n",
					(unsigned long long)l2_off);
			res->corruptions++;
			continue;
		}
		ref_range(s, &r, l2_off, s->cluster_size, res, log);
		ret = walk_l2(img, &r, i, l2_off, img->size, fix, res, log, &prev_host);
	}
	if (ret)
		goto out;

	if (fix && s->alloc_end < r.n)
		s->alloc_end = r.n;	/* new refcount blocks go past everything */
	/* Compare with the stored refcounts, covering every block that exists. */
	for (uint64_t b = 0; b < s->rt_entries && !ret; b++) {
		uint64_t lo = b << s->rb_bits, hi = (b + 1) << s->rb_bits;

		if (!s->rt[b] && lo >= r.n)
			continue;
		for (uint64_t c = lo; c < hi; c++) {
			uint64_t want = c < r.n ? r.cnt[c] : 0;

			if (!s->rt[b] && c >= r.n)
				break;
			ret = qcow2_refcount_get(img, c, &rc);
			if (ret)
				break;
			if (rc)
				last_used = c + 1;
			if (rc == want)
				continue;
			if (rc > want) {
				res->leaks++;
				if (log)
					fprintf(log, "%s cluster %llu refcount=%llu reference=%llu\n",
						fix & IMG_CHECK_FIX_LEAKS ? "Repairing" : "Leaked",
						(unsigned long long)c, (unsigned long long)rc,
						(unsigned long long)want);
				if (fix & IMG_CHECK_FIX_LEAKS) {
					ret = qcow2_refcount_set(img, c, want);
					if (ret)
						break;
					res->leaks_fixed++;
					*changed = true;
				}
			} else {
				res->corruptions++;
				if (log)
					fprintf(log, "%s cluster %llu refcount=%llu reference=%llu\n",
						fix & IMG_CHECK_FIX_ERRORS ? "Repairing" : "ERROR",
						(unsigned long long)c, (unsigned long long)rc,
						(unsigned long long)want);
				if (fix & IMG_CHECK_FIX_ERRORS) {
					ret = qcow2_refcount_set(img, c, want);
					if (ret)
						break;
					res->corruptions_fixed++;
					*changed = true;
				}
			}
		}
	}
	/* Referenced clusters that no refcount block covers at all. */
	for (uint64_t c = 0; c < r.n && !ret; c++) {
		uint64_t b = c >> s->rb_bits;

		if (!r.cnt[c] || b < s->rt_entries)
			continue;
		res->corruptions++;
		if (log)
			fprintf(log, "%s cluster %llu refcount=0 reference=%u\n",
				fix & IMG_CHECK_FIX_ERRORS ? "Repairing" : "ERROR",
				(unsigned long long)c, r.cnt[c]);
		if (fix & IMG_CHECK_FIX_ERRORS) {
			ret = qcow2_refcount_set(img, c, r.cnt[c]);
			if (ret)
				break;
			res->corruptions_fixed++;
			*changed = true;
		}
		if (c + 1 > last_used)
			last_used = c + 1;
	}
	if (!ret && !*changed)
		ret = check_copied(img, fix, res, log);
	res->image_end_offset = last_used << s->cluster_bits;
out:
	free(r.cnt);
	return ret;
}

int qcow2_check(struct img *img, unsigned fix, struct img_check_result *res, FILE *log)
{
	struct img_check_result pass;
	bool changed = false;
	int ret;

	if (!img->ro) {
		ret = qcow2_flush_metadata(img);
		if (ret)
			return ret;
	}
	memset(res, 0, sizeof(*res));
	ret = check_once(img, fix, res, log, &changed);
	/* Repairs can add refcount blocks, which need counting too: settle. */
	for (int i = 0; !ret && changed && i < 4; i++) {
		ret = qcow2_flush_metadata(img);
		if (ret)
			break;
		memset(&pass, 0, sizeof(pass));
		ret = check_once(img, fix, &pass, NULL, &changed);
		res->corruptions_fixed += pass.corruptions_fixed;
		res->leaks_fixed += pass.leaks_fixed;
		res->leaks += pass.leaks_fixed;
		res->corruptions += pass.corruptions_fixed;
		res->image_end_offset = pass.image_end_offset;
	}
	if (!ret && fix && !img->ro)
		ret = qcow2_flush_metadata(img);
	return ret;
}

/* ---- resize ---- */

static int grow_l1(struct img *img, uint64_t need)
{
	struct qcow2 *s = QS(img);
	uint64_t bytes = need * 8, clusters = (bytes + s->cluster_size - 1) >> s->cluster_bits;
	uint64_t *nl1, old_off = s->l1_off, old_clusters;
	uint8_t hdr[12];
	int64_t off;
	int ret;

	if (bytes > QCOW2_MAX_L1_BYTES)
		return -EFBIG;
	old_clusters = ((uint64_t)s->l1_size * 8 + s->cluster_size - 1) >> s->cluster_bits;
	if (!s->l1_size && old_off) {
		uint64_t rc;

		/* An empty table may still own the cluster it was created in. */
		if (qcow2_refcount_get(img, old_off >> s->cluster_bits, &rc) == 0 && rc == 1)
			old_clusters = 1;
	}
	ret = qcow2_flush_metadata(img);
	if (ret)
		return ret;
	nl1 = calloc(clusters << s->cluster_bits, 1);
	if (!nl1)
		return -ENOMEM;
	off = qcow2_alloc_clusters(img, clusters);
	if (off < 0) {
		free(nl1);
		return (int)off;
	}
	for (uint32_t i = 0; i < s->l1_size; i++)
		nl1[i] = htobe64(s->l1[i]);
	ret = qcow2_flush_metadata(img);		/* refcounts of the new table first */
	if (!ret)
		ret = img_file_pwrite(img->fd, nl1, clusters << s->cluster_bits, (uint64_t)off);
	if (!ret)
		ret = qcow2_sync(img);
	if (ret) {
		free(nl1);
		return ret;
	}
	put_be32(hdr, (uint32_t)need);
	put_be64(hdr + 4, (uint64_t)off);
	ret = img_file_pwrite(img->fd, hdr, 12, HDR_L1_SIZE);
	if (!ret)
		ret = qcow2_sync(img);
	if (ret) {
		free(nl1);
		return ret;
	}
	for (uint64_t i = 0; i < need; i++)
		nl1[i] = be64toh(nl1[i]);
	free(s->l1);
	s->l1 = nl1;
	s->l1_size = (uint32_t)need;
	s->l1_off = (uint64_t)off;
	/* Nothing points at the old table any more. */
	if (old_off && old_clusters) {
		for (uint64_t i = 0; i < old_clusters; i++) {
			ret = qcow2_refcount_add(img, (old_off >> s->cluster_bits) + i, -1);
			if (ret)
				return ret;
		}
	}
	return qcow2_flush_metadata(img);
}

int qcow2_resize(struct img *img, uint64_t size, bool shrink, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t need = (size + (s->cluster_size << s->l2_bits) - 1) >> (s->cluster_bits + s->l2_bits);
	uint64_t old = img->size;
	uint8_t b[8];
	int ret;

	if (size > (1ull << 61))
		return img_seterr(err, errlen, "size too large"), -EFBIG;
	/* Version 2 snapshot entries need not record their disk size, as qemu says. */
	if (s->nb_snapshots && s->version < 3)
		return img_seterr(err, errlen, "can't resize a version 2 image that has snapshots"), -ENOTSUP;
	if (size < old) {
		uint64_t first = (size + s->cluster_size - 1) >> s->cluster_bits;
		uint64_t last = (old + s->cluster_size - 1) >> s->cluster_bits;

		if (!shrink)
			return img_seterr(err, errlen, "use the --shrink option to shrink an image"), -EINVAL;
		for (uint64_t vc = first; vc < last; vc++) {
			uint64_t e;

			ret = qcow2_l2_entry(img, vc, &e);
			if (ret)
				return img_seterr(err, errlen, "could not read an L2 table: %s",
						  strerror(-ret)), ret;
			if (e & (L2E_COMPRESSED | L2E_OFFSET_MASK))
				return img_seterr(err, errlen,
						  "cannot shrink: data is allocated at offset %llu",
						  (unsigned long long)(vc << s->cluster_bits)), -EBUSY;
		}
	}
	ret = qcow2_clear_autoclear(img);
	if (!ret && need > s->l1_size)
		ret = grow_l1(img, need);
	if (ret)
		return img_seterr(err, errlen, "could not grow the L1 table: %s", strerror(-ret)), ret;
	ret = qcow2_flush_metadata(img);
	put_be64(b, size);
	if (!ret)
		ret = img_file_pwrite(img->fd, b, 8, HDR_SIZE);
	if (!ret)
		ret = qcow2_sync(img);
	if (ret)
		return img_seterr(err, errlen, "could not write the header: %s", strerror(-ret)), ret;
	img->size = size;
	/* Bytes past the old end of a partly used last cluster must read as zeros. */
	if (size > old && (old & (s->cluster_size - 1))) {
		uint64_t end = (old | (s->cluster_size - 1)) + 1;
		uint64_t n = (end < size ? end : size) - old;
		uint64_t e;

		ret = qcow2_l2_entry(img, old >> s->cluster_bits, &e);
		if (!ret && (e & (L2E_COMPRESSED | L2E_OFFSET_MASK))) {
			uint8_t *z = calloc(1, n);

			ret = z ? img->drv->pwrite(img, z, n, old) : -ENOMEM;
			free(z);
		}
		if (ret)
			return img_seterr(err, errlen, "could not clear the old tail: %s",
					  strerror(-ret)), ret;
	}
	return qcow2_flush_metadata(img);
}
