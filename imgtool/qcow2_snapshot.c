/* imgtool/qcow2_snapshot.c: qcow2 internal snapshots: the snapshot table, parsed and checked at open. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "qcow2.h"

#define ERR(code, ...) (img_seterr(err, errlen, __VA_ARGS__), (code))

static uint64_t align8(uint64_t v)
{
	return (v + 7) & ~7ull;
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
