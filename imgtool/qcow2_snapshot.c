/* imgtool/qcow2_snapshot.c: qcow2 internal snapshots: the snapshot table, and create, apply and delete with their refcounts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "qcow2.h"

/*
 * Refcounts follow qemu's model: every L1 table, the active one and each
 * snapshot's, adds one reference to each L2 table it points to and to each
 * data cluster reachable through them. QCOW_OFLAG_COPIED marks, in the
 * active tables, exactly the entries whose cluster has refcount 1: those the
 * write path may change in place.
 *
 * Every operation writes its new structures (an L1 table, a snapshot table)
 * to fresh clusters and syncs them before one header write makes them live;
 * references are added before anything that holds them becomes reachable and
 * dropped only after it is unreachable. A crash therefore leaks at worst,
 * except inside one step: while create and delete move the refcounts of
 * active clusters across 1, those clusters' COPIED flags disagree with them
 * until the flags are rewritten. The dirty bit (version 3) covers that step,
 * so that the next read-write open rebuilds refcounts and flags.
 */

#define ERR(code, ...) (img_seterr(err, errlen, __VA_ARGS__), (code))
#define L1E_RESERVED	0x7f000000000001ffull

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~7ull;
}

static uint64_t clusters_of(struct qcow2 *s, uint64_t bytes)
{
	return (bytes + s->cluster_size - 1) >> s->cluster_bits;
}

/* Cluster index past the end of the image: the file, or allocations not yet written. */
static uint64_t image_end(struct img *img)
{
	struct qcow2 *s = QS(img);
	struct stat st;
	uint64_t f = 0;

	if (fstat(img->fd, &st) == 0)
		f = clusters_of(s, (uint64_t)st.st_size);
	return f > s->alloc_end ? f : s->alloc_end;
}

static void free_entries(struct qcow2_snapshot *l, uint32_t n)
{
	if (!l)
		return;
	for (uint32_t i = 0; i < n; i++) {
		free(l[i].id);
		free(l[i].name);
		free(l[i].extra_unknown);
	}
	free(l);
}

void qcow2_snapshots_free(struct qcow2 *s)
{
	free_entries(s->snaps, s->nb_snapshots);
	s->snaps = NULL;
}

/* ---- the table on disk ---- */

struct range {
	uint64_t start, len;
	const char *what;
	uint32_t idx;
};

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static char *dup_bytes(const uint8_t *p, size_t n)
{
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, p, n);
		d[n] = '\0';
	}
	return d;
}

/* One entry at off (8-aligned); its length, padding excluded, in *len. */
static int parse_entry(struct img *img, uint32_t i, uint64_t off, uint64_t fsize,
		       struct qcow2_snapshot *sn, uint64_t *len, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint8_t h[SN_HDR_LEN], *var;
	uint32_t extra;
	int ret;

	if (off + SN_HDR_LEN > fsize)
		return ERR(-EINVAL, "snapshot table entry %u at 0x%llx runs past the end of the file",
			   i, (unsigned long long)off);
	ret = img_file_pread(img->fd, h, SN_HDR_LEN, off);
	if (ret)
		return ERR(ret, "could not read the snapshot table: %s", strerror(-ret));
	extra = get_be32(h + 36);
	if (extra > QCOW2_MAX_SNAPSHOT_EXTRA)
		return ERR(-EINVAL, "snapshot table entry %u has %u bytes of extra data (at most %u)",
			   i, extra, QCOW2_MAX_SNAPSHOT_EXTRA);
	sn->id_len = get_be16(h + 12);
	sn->name_len = get_be16(h + 14);
	*len = SN_HDR_LEN + (uint64_t)extra + sn->id_len + sn->name_len;
	if (off + *len > fsize)
		return ERR(-EINVAL, "snapshot table entry %u (%llu bytes at 0x%llx) runs past the end of the file",
			   i, (unsigned long long)*len, (unsigned long long)off);
	if (off + *len - s->snapshots_off > QCOW2_MAX_SNAPSHOT_TABLE)
		return ERR(-EINVAL, "snapshot table is larger than %u MiB", QCOW2_MAX_SNAPSHOT_TABLE >> 20);
	sn->l1_off = get_be64(h);
	sn->l1_size = get_be32(h + 8);
	sn->date_sec = get_be32(h + 16);
	sn->date_nsec = get_be32(h + 20);
	sn->vm_clock_nsec = get_be64(h + 24);
	sn->vm_state_size = get_be32(h + 32);
	sn->disk_size = img->size;
	sn->icount = UINT64_MAX;

	var = malloc(*len - SN_HDR_LEN + 1);
	if (!var)
		return ERR(-ENOMEM, "out of memory for the snapshot table");
	ret = img_file_pread(img->fd, var, *len - SN_HDR_LEN, off + SN_HDR_LEN);
	if (ret) {
		free(var);
		return ERR(ret, "could not read the snapshot table: %s", strerror(-ret));
	}
	if (extra >= 8)
		sn->vm_state_size = get_be64(var);
	if (extra >= 16)
		sn->disk_size = get_be64(var + 8);
	if (extra >= 24)
		sn->icount = get_be64(var + 16);
	if (extra > SN_EXTRA_LEN) {
		sn->extra_unknown_len = extra - SN_EXTRA_LEN;
		sn->extra_unknown = malloc(sn->extra_unknown_len);
		if (sn->extra_unknown)
			memcpy(sn->extra_unknown, var + SN_EXTRA_LEN, sn->extra_unknown_len);
	}
	sn->id = dup_bytes(var + extra, sn->id_len);
	sn->name = dup_bytes(var + extra + sn->id_len, sn->name_len);
	free(var);
	if (!sn->id || !sn->name || (sn->extra_unknown_len && !sn->extra_unknown))
		return ERR(-ENOMEM, "out of memory for the snapshot table");

	if (sn->l1_size > QCOW2_MAX_L1_BYTES / 8)
		return ERR(-EINVAL, "snapshot '%s': L1 table of %u entries is too large", sn->id, sn->l1_size);
	if (!sn->l1_size)
		return 0;
	if (sn->l1_off >= QCOW2_OFFSET_LIMIT || (sn->l1_off & (s->cluster_size - 1)) || !sn->l1_off)
		return ERR(-EINVAL, "snapshot '%s': L1 table offset 0x%llx is invalid",
			   sn->id, (unsigned long long)sn->l1_off);
	if (sn->l1_off > fsize || (uint64_t)sn->l1_size * 8 > fsize - sn->l1_off)
		return ERR(-EINVAL, "snapshot '%s': L1 table (0x%llx+%llu) extends past the end of the file",
			   sn->id, (unsigned long long)sn->l1_off, (unsigned long long)sn->l1_size * 8);
	return 0;
}

/* No snapshot L1 table may overlap the fixed metadata, the snapshot table or another. */
static int check_overlaps(struct qcow2 *s, struct qcow2_snapshot *l, char *err, size_t errlen)
{
	struct range fixed[] = {
		{ 0, s->cluster_size, "the header", 0 },
		{ s->l1_off, (uint64_t)s->l1_size * 8, "the active L1 table", 0 },
		{ s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits, "the refcount table", 0 },
		{ s->snapshots_off, s->snapshots_len, "the snapshot table", 0 },
	};
	struct range *r = calloc(s->nb_snapshots, sizeof(*r));
	uint32_t n = 0;
	int ret = 0;

	if (!r)
		return ERR(-ENOMEM, "out of memory");
	for (size_t i = 0; i < 3; i++)
		if (overlaps(fixed[3].start, fixed[3].len, fixed[i].start, fixed[i].len)) {
			ret = ERR(-EINVAL, "the snapshot table overlaps %s", fixed[i].what);
			goto out;
		}
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		if (!l[i].l1_size)
			continue;
		r[n] = (struct range){ l[i].l1_off, (uint64_t)l[i].l1_size * 8, NULL, i };
		for (size_t j = 0; j < 4; j++)
			if (overlaps(r[n].start, r[n].len, fixed[j].start, fixed[j].len)) {
				ret = ERR(-EINVAL, "snapshot '%s': L1 table at 0x%llx overlaps %s",
					  l[i].id, (unsigned long long)r[n].start, fixed[j].what);
				goto out;
			}
		n++;
	}
	qsort(r, n, sizeof(*r), cmp_range);
	for (uint32_t i = 1; i < n; i++)
		if (overlaps(r[i - 1].start, r[i - 1].len, r[i].start, r[i].len)) {
			ret = ERR(-EINVAL, "snapshots '%s' and '%s' have overlapping L1 tables",
				  l[r[i - 1].idx].id, l[r[i].idx].id);
			goto out;
		}
out:
	free(r);
	return ret;
}

/* Parse and check the whole snapshot table (called at open, after the header). */
int qcow2_snapshots_load(struct img *img, uint64_t fsize, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	struct qcow2_snapshot *l;
	uint64_t off = s->snapshots_off, len = 0;
	int ret = 0;

	s->snapshots_len = 0;
	if (!s->nb_snapshots)
		return 0;
	l = calloc(s->nb_snapshots, sizeof(*l));
	if (!l)
		return ERR(-ENOMEM, "out of memory for %u snapshots", s->nb_snapshots);
	for (uint32_t i = 0; i < s->nb_snapshots && !ret; i++) {
		off = align8(off + len);
		ret = parse_entry(img, i, off, fsize, &l[i], &len, err, errlen);
	}
	if (!ret) {
		s->snapshots_len = off + len - s->snapshots_off;
		ret = check_overlaps(s, l, err, errlen);
	}
	if (ret) {
		free_entries(l, s->nb_snapshots);
		return ret;
	}
	s->snaps = l;
	return 0;
}

static uint64_t entry_len(const struct qcow2_snapshot *sn)
{
	return SN_HDR_LEN + SN_EXTRA_LEN + sn->extra_unknown_len + sn->id_len + sn->name_len;
}

static uint64_t table_len(const struct qcow2_snapshot *l, uint32_t n)
{
	uint64_t off = 0;

	for (uint32_t i = 0; i < n; i++)
		off = align8(off) + entry_len(&l[i]);
	return off;
}

static void put_entry(uint8_t *p, const struct qcow2_snapshot *sn)
{
	uint8_t *v = p + SN_HDR_LEN;

	put_be64(p, sn->l1_off);
	put_be32(p + 8, sn->l1_size);
	p[12] = (uint8_t)(sn->id_len >> 8);
	p[13] = (uint8_t)sn->id_len;
	p[14] = (uint8_t)(sn->name_len >> 8);
	p[15] = (uint8_t)sn->name_len;
	put_be32(p + 16, sn->date_sec);
	put_be32(p + 20, sn->date_nsec);
	put_be64(p + 24, sn->vm_clock_nsec);
	/* A state too large for 32 bits reads as disk-only to older readers. */
	put_be32(p + 32, sn->vm_state_size <= UINT32_MAX ? (uint32_t)sn->vm_state_size : 0);
	put_be32(p + 36, SN_EXTRA_LEN + sn->extra_unknown_len);
	put_be64(v, sn->vm_state_size);
	put_be64(v + 8, sn->disk_size);
	put_be64(v + 16, sn->icount);
	v += SN_EXTRA_LEN;
	if (sn->extra_unknown_len)
		memcpy(v, sn->extra_unknown, sn->extra_unknown_len);
	v += sn->extra_unknown_len;
	memcpy(v, sn->id, sn->id_len);
	memcpy(v + sn->id_len, sn->name, sn->name_len);
}

/* Drop one reference from each cluster of [off, off + len). */
static int unref_range(struct img *img, uint64_t off, uint64_t len)
{
	struct qcow2 *s = QS(img);
	int ret = 0;

	for (uint64_t c = 0; len && c < clusters_of(s, len) && !ret; c++)
		ret = qcow2_refcount_add(img, (off >> s->cluster_bits) + c, -1);
	return ret;
}

/* Fresh clusters holding data, refcounted and synced; nothing points at them yet. */
static int64_t write_new(struct img *img, const void *data, uint64_t len)
{
	struct qcow2 *s = QS(img);
	int64_t off = qcow2_alloc_clusters(img, clusters_of(s, len));
	int ret;

	if (off < 0)
		return off;
	ret = img_file_pwrite(img->fd, data, len, (uint64_t)off);
	if (!ret)
		ret = qcow2_flush_metadata(img);	/* the refcounts, then a sync */
	if (ret) {
		unref_range(img, (uint64_t)off, len);
		return ret;
	}
	return off;
}

/* Write list as a new table; the header still names the old one. */
static int write_table(struct img *img, const struct qcow2_snapshot *l, uint32_t n,
		       uint64_t *off, uint64_t *len)
{
	struct qcow2 *s = QS(img);
	uint64_t pos = 0;
	uint8_t *buf;
	int64_t o;

	*off = 0;
	*len = table_len(l, n);
	if (!n)
		return 0;
	if (*len > QCOW2_MAX_SNAPSHOT_TABLE)
		return -EFBIG;
	buf = calloc(clusters_of(s, *len), s->cluster_size);
	if (!buf)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++) {
		pos = align8(pos);
		put_entry(buf + pos, &l[i]);
		pos += entry_len(&l[i]);
	}
	o = write_new(img, buf, clusters_of(s, *len) << s->cluster_bits);
	free(buf);
	if (o < 0)
		return (int)o;
	*off = (uint64_t)o;
	return 0;
}

/*
 * A commit point: one header write. Once the write is done the change is
 * live even if the sync after it fails, so that failure comes back apart
 * in *sync_err for the caller to report after completing the operation.
 */
static int write_header(struct img *img, unsigned off, const void *buf, size_t len, int *sync_err)
{
	int ret = qcow2_write_header_field(img, off, buf, len);

	*sync_err = ret ? 0 : qcow2_sync(img);
	return ret;
}

/* The commit point of create and delete: nb_snapshots and the table offset. */
static int switch_table(struct img *img, uint32_t n, uint64_t off, int *sync_err)
{
	uint8_t b[12];

	put_be32(b, n);
	put_be64(b + 4, off);
	return write_header(img, HDR_NB_SNAPSHOTS, b, sizeof(b), sync_err);
}

static int set_dirty(struct img *img, bool dirty)
{
	struct qcow2 *s = QS(img);
	uint64_t v = dirty ? s->incompat | INCOMPAT_DIRTY : s->incompat & ~INCOMPAT_DIRTY;
	uint8_t b[8];
	int ret;

	if (s->version < 3 || v == s->incompat)
		return 0;
	put_be64(b, v);
	ret = qcow2_write_header_field(img, HDR_INCOMPAT, b, sizeof(b));
	if (!ret)
		ret = qcow2_sync(img);
	if (!ret)
		s->incompat = v;
	return ret;
}

/* ---- walking what an L1 table references ---- */

/* A snapshot's L1 table, host order, with every entry checked like the active one's. */
static int read_l1(struct img *img, const struct qcow2_snapshot *sn, uint64_t **out,
		   char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t end = image_end(img), *l1;
	int ret;

	*out = NULL;
	l1 = malloc(sn->l1_size ? (size_t)sn->l1_size * 8 : 8);
	if (!l1)
		return ERR(-ENOMEM, "out of memory for the L1 table of snapshot '%s'", sn->id);
	ret = img_file_pread(img->fd, l1, (size_t)sn->l1_size * 8, sn->l1_off);
	if (ret) {
		free(l1);
		return ERR(ret, "could not read the L1 table of snapshot '%s': %s", sn->id, strerror(-ret));
	}
	for (uint32_t i = 0; i < sn->l1_size; i++) {
		uint64_t e = be64toh(l1[i]), o = e & L1E_OFFSET_MASK;

		l1[i] = e;
		if (!o)
			continue;
		if ((e & L1E_RESERVED) || (o & (s->cluster_size - 1)) || o < s->cluster_size ||
		    (o >> s->cluster_bits) >= end ||
		    overlaps(o, s->cluster_size, s->l1_off, (uint64_t)s->l1_size * 8) ||
		    overlaps(o, s->cluster_size, s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits)) {
			free(l1);
			return ERR(-EINVAL, "snapshot '%s': L1 entry %u (0x%llx) does not point at an L2 table",
				   sn->id, i, (unsigned long long)e);
		}
	}
	*out = l1;
	return 0;
}

/*
 * Call fn with the host offset of every reference l1 holds, in a fixed
 * order (a compressed cluster's span one cluster at a time); stop at the
 * first nonzero return.
 */
enum ref_kind { REF_DATA, REF_COMPRESSED, REF_L2_TABLE };
typedef int (*ref_fn)(struct img *img, uint64_t off, enum ref_kind kind, void *arg);

static int for_each_ref(struct img *img, const uint64_t *l1, uint32_t n, ref_fn fn, void *arg)
{
	struct qcow2 *s = QS(img);
	uint64_t *l2 = malloc(s->cluster_size), *tbl;
	int ret = 0;

	if (!l2)
		return -ENOMEM;
	for (uint32_t i = 0; i < n && !ret; i++) {
		uint64_t l2_off = l1[i] & L1E_OFFSET_MASK;

		if (!l2_off)
			continue;
		/* A copy: fn may evict the table from the cache. */
		ret = qcow2_l2_get(img, l2_off, &tbl);
		if (ret)
			break;
		memcpy(l2, tbl, s->cluster_size);
		for (uint64_t j = 0; j < s->l2_entries && !ret; j++) {
			uint64_t e = be64toh(l2[j]);

			if (e & L2E_COMPRESSED) {
				uint64_t coff, len = qcow2_compressed_span(s, e, &coff);
				uint64_t first = coff >> s->cluster_bits;
				uint64_t last = (coff + len - 1) >> s->cluster_bits;

				for (uint64_t c = first; c <= last && !ret; c++)
					ret = fn(img, c << s->cluster_bits, REF_COMPRESSED, arg);
			} else if (e & L2E_OFFSET_MASK) {
				ret = fn(img, e & L2E_OFFSET_MASK, REF_DATA, arg);
			}
		}
		if (!ret)
			ret = fn(img, l2_off, REF_L2_TABLE, arg);
	}
	free(l2);
	return ret;
}

/*
 * Before any refcount moves: every reference is inside the image, clear of
 * the fixed metadata and allocated, with room for one more.
 */
struct precheck {
	uint64_t end;
	bool adding;
	uint64_t bad, rc;
	bool metadata, unaligned;
};

static bool is_fixed_metadata(struct qcow2 *s, uint64_t c)
{
	uint64_t off = c << s->cluster_bits;

	return overlaps(off, s->cluster_size, s->l1_off, (uint64_t)s->l1_size * 8) ||
	       overlaps(off, s->cluster_size, s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits) ||
	       overlaps(off, s->cluster_size, s->snapshots_off, s->snapshots_len);
}

static int precheck_one(struct img *img, uint64_t off, enum ref_kind kind, void *arg)
{
	struct qcow2 *s = QS(img);
	struct precheck *p = arg;
	uint64_t c = off >> s->cluster_bits;
	int ret;

	if (kind == REF_DATA && (off & (s->cluster_size - 1))) {
		p->bad = off;
		p->unaligned = true;
		return 1;
	}
	if (c == 0 || c >= p->end || is_fixed_metadata(s, c)) {
		p->bad = c;
		p->rc = UINT64_MAX;
		p->metadata = c && c < p->end;
		return 1;
	}
	ret = qcow2_refcount_get(img, c, &p->rc);
	if (ret)
		return ret;
	if (p->rc == 0 || (p->adding && p->rc >= s->refcount_max)) {
		p->bad = c;
		return 1;
	}
	return 0;
}

static int precheck(struct img *img, const uint64_t *l1, uint32_t n, bool adding,
		    const char *what, char *err, size_t errlen)
{
	struct precheck p = { image_end(img), adding, 0, 0, false, false };
	int ret = for_each_ref(img, l1, n, precheck_one, &p);

	if (ret < 0)
		return ERR(ret, "could not read %s: %s", what, strerror(-ret));
	if (ret == 0)
		return 0;
	if (p.unaligned)
		return ERR(-EINVAL, "%s references a data cluster at 0x%llx, which is not cluster-aligned",
			   what, (unsigned long long)p.bad);
	if (p.rc == UINT64_MAX && p.metadata)
		return ERR(-EINVAL, "%s references cluster %llu, which holds the image's own tables",
			   what, (unsigned long long)p.bad);
	if (p.rc == UINT64_MAX)
		return ERR(-EINVAL, "%s references cluster %llu, outside the image",
			   what, (unsigned long long)p.bad);
	if (p.rc == 0)
		return ERR(-EINVAL, "%s references cluster %llu, whose refcount is 0 (run 'check -r all')",
			   what, (unsigned long long)p.bad);
	return ERR(-ERANGE, "%s references cluster %llu, whose refcount is already the most %u-bit refcounts hold",
		   what, (unsigned long long)p.bad, QS(img)->refcount_bits);
}

struct refwalk {
	int64_t delta;
	uint64_t done, limit;
};

static int ref_one(struct img *img, uint64_t off, enum ref_kind kind, void *arg)
{
	struct refwalk *w = arg;
	uint64_t c = off >> QS(img)->cluster_bits;
	uint64_t rc;
	int ret;

	if (w->done == w->limit)
		return 1;
	ret = qcow2_refcount_add(img, c, w->delta);
	if (ret)
		return ret;
	w->done++;
	/* A table that nobody holds any more must not be served from the cache. */
	if (kind == REF_L2_TABLE && w->delta < 0 && qcow2_refcount_get(img, c, &rc) == 0 && rc == 0)
		qcow2_l2_forget(img, off);
	return 0;
}

/* Add delta to every reference l1 holds; on failure, the changes made are undone. */
static int update_refs(struct img *img, const uint64_t *l1, uint32_t n, int64_t delta)
{
	struct refwalk w = { delta, 0, UINT64_MAX }, undo;
	int ret = for_each_ref(img, l1, n, ref_one, &w);

	if (ret < 0 && w.done) {
		undo = (struct refwalk){ -delta, 0, w.done };
		for_each_ref(img, l1, n, ref_one, &undo);
	}
	return ret < 0 ? ret : 0;
}

/*
 * Make COPIED exact on l1 (host order, changed in place) and on the L2
 * tables it points to: set where the refcount is 1, clear elsewhere. The
 * L2 tables change through the cache; the caller flushes.
 */
static int sync_copied(struct img *img, uint64_t *l1, uint32_t n, bool *l1_changed)
{
	struct qcow2 *s = QS(img);
	uint64_t rc, *tbl;
	int ret;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t l2_off = l1[i] & L1E_OFFSET_MASK, want;

		if (!l2_off)
			continue;
		ret = qcow2_refcount_get(img, l2_off >> s->cluster_bits, &rc);
		if (ret)
			return ret;
		want = rc == 1 ? l1[i] | L1E_COPIED : l1[i] & ~L1E_COPIED;
		if (want != l1[i]) {
			l1[i] = want;
			*l1_changed = true;
		}
		/* Refcount lookups touch only the refcount cache: tbl stays valid. */
		ret = qcow2_l2_get(img, l2_off, &tbl);
		if (ret)
			return ret;
		for (uint64_t j = 0; j < s->l2_entries; j++) {
			uint64_t e = be64toh(tbl[j]), h = e & L2E_OFFSET_MASK;

			if ((e & L2E_COMPRESSED) || !h)
				continue;
			ret = qcow2_refcount_get(img, h >> s->cluster_bits, &rc);
			if (ret)
				return ret;
			want = rc == 1 ? e | L2E_COPIED : e & ~L2E_COPIED;
			if (want != e) {
				tbl[j] = htobe64(want);
				qcow2_l2_mark_dirty(img, l2_off);
			}
		}
	}
	return 0;
}

/* The active tables' COPIED flags after their refcounts changed, on disk. */
static int sync_active_copied(struct img *img)
{
	struct qcow2 *s = QS(img);
	bool changed = false;
	int ret = sync_copied(img, s->l1, s->l1_size, &changed);

	if (changed)
		s->l1_dirty = true;
	return ret ? ret : qcow2_flush_metadata(img);
}

/* ---- the operations ---- */

static int find_by_id(struct qcow2 *s, const char *id)
{
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].id, id))
			return (int)i;
	return -1;
}

static int find_by_name(struct qcow2 *s, const char *name)
{
	for (uint32_t i = 0; i < s->nb_snapshots; i++)
		if (!strcmp(s->snaps[i].name, name))
			return (int)i;
	return -1;
}

int qcow2_snapshot_list(struct img *img, struct img_snapshot **list, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	struct img_snapshot *l;

	*list = NULL;
	if (!s->nb_snapshots)
		return 0;
	l = calloc(s->nb_snapshots, sizeof(*l));
	if (!l)
		return ERR(-ENOMEM, "out of memory");
	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		const struct qcow2_snapshot *sn = &s->snaps[i];

		l[i] = (struct img_snapshot){
			.id = strdup(sn->id), .name = strdup(sn->name),
			.vm_state_size = sn->vm_state_size, .date_sec = sn->date_sec,
			.date_nsec = sn->date_nsec, .vm_clock_nsec = sn->vm_clock_nsec,
			.icount = sn->icount, .disk_size = sn->disk_size,
		};
		if (!l[i].id || !l[i].name) {
			img_snapshot_list_free(l, (int)i + 1);
			return ERR(-ENOMEM, "out of memory");
		}
	}
	*list = l;
	return (int)s->nb_snapshots;
}

/* Work every operation starts with: nothing queued, nothing cached that it could invalidate. */
static int begin(struct img *img, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	int ret = qcow2_clear_autoclear(img);

	s->cbyte_off = 0;	/* never pack new compressed data into a shared cluster */
	s->dc_entry = 0;
	if (!ret)
		ret = qcow2_flush_metadata(img);
	if (ret)
		return ERR(ret, "could not flush the image: %s", strerror(-ret));
	return 0;
}

static uint64_t next_id(struct qcow2 *s)
{
	unsigned long max = 0;

	for (uint32_t i = 0; i < s->nb_snapshots; i++) {
		unsigned long id = strtoul(s->snaps[i].id, NULL, 10);

		if (id > max)
			max = id;
	}
	return (uint64_t)max + 1;
}

/* Undo step 2 of create: drop the references again and put the flags back. */
static void create_undo_refs(struct img *img)
{
	struct qcow2 *s = QS(img);

	if (update_refs(img, s->l1, s->l1_size, -1) == 0 && qcow2_flush_metadata(img) == 0 &&
	    sync_active_copied(img) == 0)
		set_dirty(img, false);
	/* else the dirty bit stays: the next read-write open repairs the image */
}

int qcow2_snapshot_create(struct img *img, const char *name, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	struct qcow2_snapshot sn, *list;
	uint64_t l1_bytes = (uint64_t)s->l1_size * 8, l1_len = 0, tbl_off, tbl_len;
	uint64_t old_off = s->snapshots_off, old_len = s->snapshots_len;
	uint64_t *l1be = NULL;
	size_t nlen = strlen(name);
	struct timespec now;
	char id[24];
	int ret, sync_err;

	if (nlen > UINT16_MAX)
		return ERR(-EINVAL, "a snapshot name has at most 65535 bytes");
	if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS)
		return ERR(-EFBIG, "the image already has %u snapshots, the most qcow2 allows",
			   s->nb_snapshots);
	snprintf(id, sizeof(id), "%llu", (unsigned long long)next_id(s));
	clock_gettime(CLOCK_REALTIME, &now);
	sn = (struct qcow2_snapshot){
		.l1_size = s->l1_size, .id = strdup(id), .name = strdup(name),
		.id_len = (uint16_t)strlen(id), .name_len = (uint16_t)nlen,
		.date_sec = (uint32_t)now.tv_sec, .date_nsec = (uint32_t)now.tv_nsec,
		.disk_size = img->size, .icount = 0,	/* as qemu-img records it */
	};
	list = malloc(((size_t)s->nb_snapshots + 1) * sizeof(*list));
	if (!sn.id || !sn.name || !list) {
		ret = ERR(-ENOMEM, "out of memory");
		goto fail;
	}
	if (s->nb_snapshots)
		memcpy(list, s->snaps, s->nb_snapshots * sizeof(*list));
	list[s->nb_snapshots] = sn;
	if (table_len(list, s->nb_snapshots + 1) > QCOW2_MAX_SNAPSHOT_TABLE) {
		ret = ERR(-EFBIG, "the snapshot table would grow past %u MiB",
			  QCOW2_MAX_SNAPSHOT_TABLE >> 20);
		goto fail;
	}
	ret = begin(img, err, errlen);
	if (!ret)
		ret = precheck(img, s->l1, s->l1_size, true, "the active L1 table", err, errlen);
	if (ret)
		goto fail;

	/* 1. The snapshot's own L1 table: a copy of the active one. */
	if (l1_bytes) {
		int64_t o;

		l1_len = clusters_of(s, l1_bytes) << s->cluster_bits;
		l1be = calloc(1, l1_len);
		if (!l1be) {
			ret = ERR(-ENOMEM, "out of memory");
			goto fail;
		}
		for (uint32_t i = 0; i < s->l1_size; i++)
			l1be[i] = htobe64(s->l1[i] & ~L1E_COPIED);
		o = write_new(img, l1be, l1_len);
		if (o < 0) {
			ret = ERR((int)o, "could not write the snapshot's L1 table: %s", strerror((int)-o));
			goto fail;
		}
		list[s->nb_snapshots].l1_off = (uint64_t)o;
	}

	/* 2. One more reference to all the active table reaches; its flags to match. */
	ret = set_dirty(img, true);
	if (ret) {
		img_seterr(err, errlen, "could not mark the image dirty: %s", strerror(-ret));
		goto fail_l1;
	}
	ret = update_refs(img, s->l1, s->l1_size, 1);
	if (ret) {
		set_dirty(img, false);
		img_seterr(err, errlen, "could not add the snapshot's references: %s", strerror(-ret));
		goto fail_l1;
	}
	ret = qcow2_flush_metadata(img);
	if (!ret)
		ret = sync_active_copied(img);
	if (!ret)
		ret = set_dirty(img, false);
	if (ret) {
		img_seterr(err, errlen, "could not add the snapshot's references: %s", strerror(-ret));
		goto fail_refs;
	}

	/* 3. The new table, then the header switch that makes the snapshot exist. */
	ret = write_table(img, list, s->nb_snapshots + 1, &tbl_off, &tbl_len);
	if (!ret) {
		ret = switch_table(img, s->nb_snapshots + 1, tbl_off, &sync_err);
		if (ret)
			unref_range(img, tbl_off, tbl_len);
	}
	if (ret) {
		img_seterr(err, errlen, "could not write the snapshot table: %s", strerror(-ret));
		goto fail_refs;
	}
	free(s->snaps);
	s->snaps = list;
	s->nb_snapshots++;
	s->snapshots_off = tbl_off;
	s->snapshots_len = tbl_len;
	free(l1be);

	/* 4. The old table is garbage now; failing to free it only leaks. */
	if (old_len)
		unref_range(img, old_off, old_len);
	ret = qcow2_flush_metadata(img);
	if (sync_err || ret)
		return ERR(sync_err ? sync_err : ret, "snapshot created, but the image could not be synced: %s",
			   strerror(-(sync_err ? sync_err : ret)));
	return 0;

fail_refs:
	create_undo_refs(img);
fail_l1:
	if (l1_len)
		unref_range(img, list[s->nb_snapshots].l1_off, l1_len);
	qcow2_flush_metadata(img);
fail:
	free(l1be);
	free(list);
	free(sn.id);
	free(sn.name);
	return ret;
}

int qcow2_snapshot_apply(struct img *img, const char *id_or_name, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	struct qcow2_snapshot *sn;
	uint64_t *sl1 = NULL, *nl1 = NULL, *nbe = NULL, need, len = 0, nl1_off = 0;
	uint64_t *old_l1, old_off, old_clusters, rc;
	uint32_t old_size;
	uint8_t hdr[24];
	bool changed = false;
	int idx = find_by_id(s, id_or_name), ret, sync_err;

	if (idx < 0)
		idx = find_by_name(s, id_or_name);
	if (idx < 0)
		return ERR(-ENOENT, "no snapshot with the ID or name '%s'", id_or_name);
	sn = &s->snaps[idx];
	if (sn->disk_size > (1ull << 61))
		return ERR(-EINVAL, "snapshot '%s' records an implausible disk size of %llu bytes",
			   sn->id, (unsigned long long)sn->disk_size);
	need = (sn->disk_size + (s->cluster_size << s->l2_bits) - 1) >> (s->cluster_bits + s->l2_bits);
	if (need * 8 > QCOW2_MAX_L1_BYTES)
		return ERR(-EFBIG, "snapshot '%s' needs an L1 table of %llu entries, too many",
			   sn->id, (unsigned long long)need);
	ret = begin(img, err, errlen);
	if (!ret)
		ret = read_l1(img, sn, &sl1, err, errlen);
	if (ret)
		return ret;
	/*
	 * The new active table covers the snapshot's disk and no more: entries
	 * past it hold saved VM state, which is no part of the disk.
	 */
	nl1 = calloc(need ? need : 1, 8);
	if (!nl1) {
		ret = ERR(-ENOMEM, "out of memory");
		goto fail;
	}
	memcpy(nl1, sl1, (need < sn->l1_size ? need : sn->l1_size) * 8);
	ret = precheck(img, nl1, (uint32_t)need, true, "the snapshot's L1 table", err, errlen);
	if (ret)
		goto fail;

	/*
	 * 1. References for the new active table. Everything it reaches now has
	 * refcount 2 or more, so its flags go, in the snapshot's own tables too.
	 */
	ret = update_refs(img, nl1, (uint32_t)need, 1);
	if (ret) {
		img_seterr(err, errlen, "could not add the snapshot's references: %s", strerror(-ret));
		goto fail;
	}
	ret = qcow2_flush_metadata(img);
	if (!ret)
		ret = sync_copied(img, nl1, (uint32_t)need, &changed);
	if (!ret)
		ret = qcow2_flush_metadata(img);
	if (ret) {
		img_seterr(err, errlen, "could not add the snapshot's references: %s", strerror(-ret));
		goto fail_refs;
	}

	/* 2. The new active L1 table in fresh clusters, then the header switch. */
	if (need) {
		int64_t o;

		len = clusters_of(s, need * 8) << s->cluster_bits;
		nbe = calloc(1, len);
		if (!nbe) {
			ret = ERR(-ENOMEM, "out of memory");
			goto fail_refs;
		}
		for (uint64_t i = 0; i < need; i++)
			nbe[i] = htobe64(nl1[i]);
		o = write_new(img, nbe, len);
		if (o < 0) {
			ret = ERR((int)o, "could not write the new L1 table: %s", strerror((int)-o));
			goto fail_refs;
		}
		nl1_off = (uint64_t)o;
	}
	put_be64(hdr, sn->disk_size);
	put_be32(hdr + 8, 0);				/* crypt_method */
	put_be32(hdr + 12, (uint32_t)need);
	put_be64(hdr + 16, nl1_off);
	ret = write_header(img, HDR_SIZE, hdr, sizeof(hdr), &sync_err);
	if (ret) {
		img_seterr(err, errlen, "could not write the header: %s", strerror(-ret));
		goto fail_l1;
	}
	old_l1 = s->l1;
	old_size = s->l1_size;
	old_off = s->l1_off;
	s->l1 = nl1;
	s->l1_size = (uint32_t)need;
	s->l1_off = nl1_off;
	s->l1_dirty = false;
	img->size = sn->disk_size;

	/* 3. The old active table is unreachable: release what it held. */
	old_clusters = clusters_of(s, (uint64_t)old_size * 8);
	if (!old_size && old_off &&
	    qcow2_refcount_get(img, old_off >> s->cluster_bits, &rc) == 0 && rc == 1)
		old_clusters = 1;	/* an empty table may own the cluster it was created in */
	ret = update_refs(img, old_l1, old_size, -1);
	if (!ret && old_clusters)
		ret = unref_range(img, old_off, old_clusters << s->cluster_bits);
	if (!ret)
		ret = qcow2_flush_metadata(img);
	if (!ret)
		ret = sync_active_copied(img);
	free(old_l1);
	free(sl1);
	free(nbe);
	if (ret || sync_err)
		return ERR(ret ? ret : sync_err, "snapshot applied, but the old state could not be "
			   "released (%s); 'check -r all' recovers the space",
			   strerror(-(ret ? ret : sync_err)));
	return 0;

fail_l1:
	if (nl1_off)
		unref_range(img, nl1_off, len);
fail_refs:
	/* The flags cleared in the snapshot's tables stay right: they are shared. */
	update_refs(img, nl1, (uint32_t)need, -1);
	qcow2_flush_metadata(img);
fail:
	free(sl1);
	free(nl1);
	free(nbe);
	return ret;
}

int qcow2_snapshot_delete(struct img *img, const char *name, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	struct qcow2_snapshot *list = NULL, gone;
	uint64_t *sl1 = NULL, tbl_off, tbl_len, old_off = s->snapshots_off, old_len = s->snapshots_len;
	int idx = find_by_name(s, name), ret, sync_err;
	uint32_t n = s->nb_snapshots - 1;

	if (idx < 0)
		return ERR(-ENOENT, "no snapshot named '%s'", name);
	gone = s->snaps[idx];
	ret = begin(img, err, errlen);
	if (!ret)
		ret = read_l1(img, &gone, &sl1, err, errlen);
	if (!ret)
		ret = precheck(img, sl1, gone.l1_size, false, "the snapshot's L1 table", err, errlen);
	if (ret)
		goto out;
	list = malloc((n ? n : 1) * sizeof(*list));
	if (!list) {
		ret = ERR(-ENOMEM, "out of memory");
		goto out;
	}
	memcpy(list, s->snaps, (size_t)idx * sizeof(*list));
	memcpy(list + idx, s->snaps + idx + 1, (size_t)(n - (uint32_t)idx) * sizeof(*list));

	/* 1. The table without it, then the header switch. */
	ret = write_table(img, list, n, &tbl_off, &tbl_len);
	if (ret) {
		img_seterr(err, errlen, "could not write the snapshot table: %s", strerror(-ret));
		goto out;
	}
	ret = set_dirty(img, true);
	if (!ret)
		ret = switch_table(img, n, tbl_off, &sync_err);
	if (ret) {
		if (tbl_off)
			unref_range(img, tbl_off, tbl_len);
		if (qcow2_flush_metadata(img) == 0)
			set_dirty(img, false);
		img_seterr(err, errlen, "could not write the header: %s", strerror(-ret));
		goto out;
	}
	free(s->snaps);
	s->snaps = list;
	list = NULL;
	s->nb_snapshots = n;
	s->snapshots_off = tbl_off;
	s->snapshots_len = tbl_len;

	/* 2. Nothing points at the snapshot any more: drop what it held, then fix the flags. */
	if (old_len)
		ret = unref_range(img, old_off, old_len);
	if (!ret)
		ret = update_refs(img, sl1, gone.l1_size, -1);
	if (!ret && gone.l1_size)
		ret = unref_range(img, gone.l1_off, (uint64_t)gone.l1_size * 8);
	if (!ret)
		ret = qcow2_flush_metadata(img);
	if (!ret)
		ret = sync_active_copied(img);
	if (!ret)
		ret = set_dirty(img, false);
	if (!ret)
		ret = sync_err;
	if (ret)
		img_seterr(err, errlen, "snapshot deleted, but its clusters could not all be released (%s); "
		    "'check -r all' repairs the image", strerror(-ret));
	free(gone.id);
	free(gone.name);
	free(gone.extra_unknown);
out:
	free(list);
	free(sl1);
	return ret;
}
