/* imgtool/qcow2_cache.c: qcow2 metadata caches, refcounts, cluster allocation and write ordering. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2.h"

/*
 * Crash consistency rests on three orderings, all enforced here:
 *  1. a refcount increment reaches the disk before any table that makes the
 *     cluster reachable (dirty refcount blocks are written and synced before
 *     any dirty L2 table is written);
 *  2. an L2 table reaches the disk before the L1 entry that points to it
 *     (L1 is only written at flush, after every dirty L2 table);
 *  3. a refcount decrement happens only after the tables that no longer
 *     reference the cluster are on disk (frees are queued until a flush).
 * So a crash can leave leaks but never a reachable cluster with a refcount
 * too low.
 */

static int cache_init(struct qcow2_cache *c, unsigned n, uint64_t cs)
{
	c->n = n;
	c->e = calloc(n, sizeof(*c->e));
	if (!c->e)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		c->e[i].tbl = malloc(cs);
		if (!c->e[i].tbl)
			return -ENOMEM;
	}
	return 0;
}

static void cache_free(struct qcow2_cache *c)
{
	if (!c->e)
		return;
	for (unsigned i = 0; i < c->n; i++)
		free(c->e[i].tbl);
	free(c->e);
	c->e = NULL;
}

int qcow2_caches_init(struct img *img)
{
	struct qcow2 *s = QS(img);
	unsigned n = (unsigned)(L2_CACHE_BYTES / s->cluster_size);

	if (n < L2_CACHE_MIN)
		n = L2_CACHE_MIN;
	n = (n + CACHE_WAYS - 1) / CACHE_WAYS * CACHE_WAYS;
	if (cache_init(&s->l2c, n, s->cluster_size) || cache_init(&s->rbc, RB_CACHE_ENTRIES, s->cluster_size))
		return -ENOMEM;
	return 0;
}

void qcow2_caches_free(struct qcow2 *s)
{
	cache_free(&s->l2c);
	cache_free(&s->rbc);
}

static struct qcow2_cached *cache_set(struct qcow2_cache *c, uint64_t off)
{
	unsigned sets = c->n / CACHE_WAYS;
	uint64_t h = (off >> 9) * 0x9e3779b97f4a7c15ull;

	return &c->e[(unsigned)((h >> 32) % sets) * CACHE_WAYS];
}

static struct qcow2_cached *cache_find(struct qcow2_cache *c, uint64_t off)
{
	struct qcow2_cached *set = cache_set(c, off);

	for (unsigned i = 0; i < CACHE_WAYS; i++) {
		if (set[i].off == off) {
			set[i].lru = ++c->tick;
			return &set[i];
		}
	}
	return NULL;
}

static struct qcow2_cached *cache_victim(struct qcow2_cache *c, uint64_t off)
{
	struct qcow2_cached *set = cache_set(c, off), *v = &set[0];

	for (unsigned i = 0; i < CACHE_WAYS; i++) {
		if (!set[i].off)
			return &set[i];
		if (set[i].lru < v->lru)
			v = &set[i];
	}
	return v;
}

int qcow2_sync(struct img *img)
{
	return fdatasync(img->fd) < 0 ? -errno : 0;
}

static int rb_writeback(struct img *img, bool sync)
{
	struct qcow2 *s = QS(img);
	bool any = false;
	int ret;

	for (unsigned i = 0; i < s->rbc.n; i++) {
		struct qcow2_cached *e = &s->rbc.e[i];

		if (!e->off || !e->dirty)
			continue;
		ret = img_file_pwrite(img->fd, e->tbl, s->cluster_size, e->off);
		if (ret)
			return ret;
		e->dirty = false;
		any = true;
	}
	return any && sync ? qcow2_sync(img) : 0;
}

static int l2_writeback_one(struct img *img, struct qcow2_cached *e)
{
	struct qcow2 *s = QS(img);
	int ret;

	ret = rb_writeback(img, true);		/* ordering rule 1 */
	if (ret)
		return ret;
	ret = img_file_pwrite(img->fd, e->tbl, s->cluster_size, e->off);
	if (ret)
		return ret;
	e->dirty = false;
	return 0;
}

int qcow2_l2_get(struct img *img, uint64_t l2_off, uint64_t **tbl)
{
	struct qcow2 *s = QS(img);
	struct qcow2_cached *e = cache_find(&s->l2c, l2_off);
	int ret;

	if (!e) {
		e = cache_victim(&s->l2c, l2_off);
		if (e->off && e->dirty) {
			ret = l2_writeback_one(img, e);
			if (ret)
				return ret;
		}
		e->off = 0;
		ret = img_file_pread(img->fd, e->tbl, s->cluster_size, l2_off);
		if (ret)
			return ret;
		e->off = l2_off;
		e->dirty = false;
		e->lru = ++s->l2c.tick;
	}
	*tbl = e->tbl;
	return 0;
}

/* A freshly allocated L2 table: fill from src (or zeros) without reading the disk. */
static int l2_new(struct img *img, uint64_t l2_off, const uint64_t *src, uint64_t **tbl)
{
	struct qcow2 *s = QS(img);
	struct qcow2_cached *e = cache_find(&s->l2c, l2_off);
	int ret;

	if (!e) {
		e = cache_victim(&s->l2c, l2_off);
		if (e->off && e->dirty) {
			ret = l2_writeback_one(img, e);
			if (ret)
				return ret;
		}
	}
	if (src)
		memcpy(e->tbl, src, s->cluster_size);
	else
		memset(e->tbl, 0, s->cluster_size);
	e->off = l2_off;
	e->dirty = true;
	e->lru = ++s->l2c.tick;
	*tbl = e->tbl;
	return 0;
}

void qcow2_l2_mark_dirty(struct img *img, uint64_t l2_off)
{
	struct qcow2_cached *e = cache_find(&QS(img)->l2c, l2_off);

	if (e)
		e->dirty = true;
}

void qcow2_l2_forget(struct img *img, uint64_t l2_off)
{
	struct qcow2 *s = QS(img);

	for (unsigned i = 0; i < s->l2c.n; i++)
		if (s->l2c.e[i].off == l2_off)
			s->l2c.e[i].off = 0;
}

/*
 * May the cluster at host offset off be changed in place? Its COPIED flag
 * said so; the refcount is asked too, so that a wrong flag (another tool's,
 * or a version 2 image cut in a snapshot operation) costs a copy, never a
 * snapshot's data.
 */
bool qcow2_exclusive(struct img *img, uint64_t off)
{
	uint64_t rc;

	return qcow2_refcount_get(img, off >> QS(img)->cluster_bits, &rc) == 0 && rc == 1;
}

/* Make L1 entry idx point at a writable (refcount 1) L2 table; return it. */
int qcow2_l2_writable(struct img *img, uint64_t idx, uint64_t **tbl, uint64_t *l2_off)
{
	struct qcow2 *s = QS(img);
	uint64_t e = s->l1[idx], old = e & L1E_OFFSET_MASK;
	uint64_t *src = NULL, *copy = NULL;
	int64_t n;
	int ret;

	if (old && (e & L1E_COPIED) && qcow2_exclusive(img, old)) {
		*l2_off = old;
		return qcow2_l2_get(img, old, tbl);
	}
	if (old) {
		ret = qcow2_l2_get(img, old, &src);
		if (ret)
			return ret;
		copy = malloc(s->cluster_size);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, src, s->cluster_size);
	}
	n = qcow2_alloc_clusters(img, 1);
	if (n < 0) {
		free(copy);
		return (int)n;
	}
	ret = l2_new(img, (uint64_t)n, copy, tbl);
	free(copy);
	if (ret)
		return ret;
	s->l1[idx] = (uint64_t)n | L1E_COPIED;
	s->l1_dirty = true;
	if (old)
		ret = qcow2_free_later(img, old);	/* old shared table: drop our reference */
	*l2_off = (uint64_t)n;
	return ret;
}

/* ---- refcount blocks ---- */

static int rb_get(struct img *img, uint64_t rb_off, uint8_t **tbl)
{
	struct qcow2 *s = QS(img);
	struct qcow2_cached *e = cache_find(&s->rbc, rb_off);
	int ret;

	if (!e) {
		e = cache_victim(&s->rbc, rb_off);
		if (e->off && e->dirty) {
			ret = img_file_pwrite(img->fd, e->tbl, s->cluster_size, e->off);
			if (ret)
				return ret;
		}
		e->off = 0;
		ret = img_file_pread(img->fd, e->tbl, s->cluster_size, rb_off);
		if (ret)
			return ret;
		e->off = rb_off;
		e->dirty = false;
		e->lru = ++s->rbc.tick;
	}
	*tbl = (uint8_t *)e->tbl;
	return 0;
}

static void rb_mark_dirty(struct img *img, uint64_t rb_off)
{
	struct qcow2_cached *e = cache_find(&QS(img)->rbc, rb_off);

	if (e)
		e->dirty = true;
}

static uint64_t rc_load(const uint8_t *b, unsigned order, uint64_t i)
{
	switch (order) {
	case 0: case 1: case 2: {
		unsigned bits = 1u << order, per = 8 / bits;

		return (b[i / per] >> (bits * (i % per))) & ((1u << bits) - 1);
	}
	case 3:
		return b[i];
	case 4:
		return ((uint64_t)b[2 * i] << 8) | b[2 * i + 1];
	case 5:
		return get_be32(b + 4 * i);
	default:
		return get_be64(b + 8 * i);
	}
}

void qcow2_rc_store(uint8_t *b, unsigned order, uint64_t i, uint64_t v)
{
	switch (order) {
	case 0: case 1: case 2: {
		unsigned bits = 1u << order, per = 8 / bits, sh = bits * (unsigned)(i % per);
		unsigned mask = ((1u << bits) - 1) << sh;

		b[i / per] = (uint8_t)((b[i / per] & ~mask) | ((v << sh) & mask));
		break;
	}
	case 3:
		b[i] = (uint8_t)v;
		break;
	case 4:
		b[2 * i] = (uint8_t)(v >> 8);
		b[2 * i + 1] = (uint8_t)v;
		break;
	case 5:
		put_be32(b + 4 * i, (uint32_t)v);
		break;
	default:
		put_be64(b + 8 * i, v);
	}
}

int qcow2_refcount_get(struct img *img, uint64_t cluster, uint64_t *rc)
{
	struct qcow2 *s = QS(img);
	uint64_t b = cluster >> s->rb_bits;
	uint8_t *tbl;
	int ret;

	*rc = 0;
	if (b >= s->rt_entries || !s->rt[b])
		return 0;
	ret = rb_get(img, s->rt[b], &tbl);
	if (ret)
		return ret;
	*rc = rc_load(tbl, s->refcount_order, cluster & ((1ull << s->rb_bits) - 1));
	return 0;
}

static uint64_t file_clusters(struct img *img)
{
	struct qcow2 *s = QS(img);
	struct stat st;

	if (fstat(img->fd, &st) < 0)
		return 0;
	return ((uint64_t)st.st_size + s->cluster_size - 1) >> s->cluster_bits;
}

/* First cluster at or after start whose refcount is 0, with count free after it. */
static int64_t find_free_from(struct img *img, uint64_t start, uint64_t count)
{
	uint64_t run = 0, c = start, rc;
	int ret;

	while (run < count) {
		if ((c << QS(img)->cluster_bits) >= QCOW2_OFFSET_LIMIT)
			return -ENOSPC;
		ret = qcow2_refcount_get(img, c, &rc);
		if (ret)
			return ret;
		run = rc ? 0 : run + 1;
		c++;
	}
	return (int64_t)(c - count);
}

static uint64_t end_cluster(struct img *img)
{
	uint64_t f = file_clusters(img);

	return f > QS(img)->alloc_end ? f : QS(img)->alloc_end;
}

static int grow_reftable(struct img *img, uint64_t need);

/* Give refcount block b a cluster of its own, past the end of the image. */
static int ensure_refblock(struct img *img, uint64_t b, uint64_t avoid)
{
	struct qcow2 *s = QS(img);
	uint64_t cs = s->cluster_size, be;
	uint8_t *tbl;
	uint8_t ent[8];
	int64_t e;
	int ret;

	for (;;) {
		if (b >= s->rt_entries) {
			ret = grow_reftable(img, b + 1);
			if (ret)
				return ret;
		}
		if (s->rt[b])
			return 0;
		e = find_free_from(img, end_cluster(img), 1);
		if (e >= 0 && (uint64_t)e == avoid)
			e = find_free_from(img, avoid + 1, 1);	/* the cluster being counted */
		if (e < 0)
			return (int)e;
		be = (uint64_t)e >> s->rb_bits;
		if (be == b || (be < s->rt_entries && s->rt[be]))
			break;
		ret = ensure_refblock(img, be, avoid);
		if (ret)
			return ret;
	}
	/* Write the new block (zeros, plus itself if it covers itself). */
	tbl = calloc(1, cs);
	if (!tbl)
		return -ENOMEM;
	if (be == b)
		qcow2_rc_store(tbl, s->refcount_order, (uint64_t)e & ((1ull << s->rb_bits) - 1), 1);
	ret = img_file_pwrite(img->fd, tbl, cs, (uint64_t)e << s->cluster_bits);
	free(tbl);
	if (ret)
		return ret;
	s->alloc_end = (uint64_t)e + 1 > s->alloc_end ? (uint64_t)e + 1 : s->alloc_end;
	if (be != b) {
		ret = qcow2_refcount_add(img, (uint64_t)e, 1);
		if (ret)
			return ret;
		ret = rb_writeback(img, false);
		if (ret)
			return ret;
	}
	ret = qcow2_sync(img);
	if (ret)
		return ret;
	put_be64(ent, (uint64_t)e << s->cluster_bits);
	ret = img_file_pwrite(img->fd, ent, 8, s->rt_off + b * 8);
	if (ret)
		return ret;
	s->rt[b] = (uint64_t)e << s->cluster_bits;
	return qcow2_sync(img);
}

/*
 * Move the refcount table to a larger one past the end of the image. New
 * refcount blocks for the area it lands in are laid out just before it.
 */
static int grow_reftable(struct img *img, uint64_t need)
{
	struct qcow2 *s = QS(img);
	uint64_t cs = s->cluster_size, entries = s->rt_entries * 2, k = 0, nrt, start = 0, end;
	uint64_t old_off = s->rt_off, old_clusters = s->rt_clusters;
	uint64_t *nrt_tbl;
	uint8_t *blocks = NULL, hdr[12];
	uint64_t nb = 0, *bidx = NULL;
	int ret;

	if (entries < need)
		entries = need;
	for (int iter = 0; iter < 64; iter++) {
		uint64_t cnt = 0, lastb;

		nrt = (entries * 8 + cs - 1) / cs;
		if (nrt * cs > QCOW2_MAX_REFTABLE_BYTES)	/* what open accepts */
			return -EFBIG;
		{
			int64_t f = find_free_from(img, end_cluster(img), k + nrt);

			if (f < 0)
				return (int)f;
			start = (uint64_t)f;
		}
		end = start + k + nrt;
		lastb = (end - 1) >> s->rb_bits;
		if (lastb >= entries) {
			entries = lastb + 1;
			continue;
		}
		for (uint64_t b = start >> s->rb_bits; b <= lastb; b++)
			if (b >= s->rt_entries || !s->rt[b])
				cnt++;
		if (cnt == k)
			break;
		k = cnt;
	}
	entries = nrt * cs / 8;
	nrt_tbl = calloc(entries, 8);
	blocks = calloc(k ? k : 1, cs);
	bidx = calloc(k ? k : 1, sizeof(*bidx));
	if (!nrt_tbl || !blocks || !bidx) {
		ret = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < s->rt_entries; i++)
		nrt_tbl[i] = s->rt[i];
	for (uint64_t b = start >> s->rb_bits; b <= (end - 1) >> s->rb_bits; b++)
		if (b >= s->rt_entries || !s->rt[b]) {
			bidx[nb] = b;
			nrt_tbl[b] = (start + nb) << s->cluster_bits;
			nb++;
		}
	/* Refcounts for the new area: in the new blocks, or via existing ones. */
	for (uint64_t c = start; c < end; c++) {
		uint64_t b = c >> s->rb_bits;
		uint64_t j;

		for (j = 0; j < nb && bidx[j] != b; j++)
			;
		if (j < nb) {
			qcow2_rc_store(blocks + j * cs, s->refcount_order, c & ((1ull << s->rb_bits) - 1), 1);
		} else {
			ret = qcow2_refcount_add(img, c, 1);
			if (ret)
				goto out;
		}
	}
	for (uint64_t j = 0; j < nb; j++) {
		ret = img_file_pwrite(img->fd, blocks + j * cs, cs, (start + j) << s->cluster_bits);
		if (ret)
			goto out;
	}
	ret = rb_writeback(img, false);
	if (ret)
		goto out;
	for (uint64_t i = 0; i < entries; i++)
		nrt_tbl[i] = htobe64(nrt_tbl[i]);
	ret = img_file_pwrite(img->fd, nrt_tbl, nrt * cs, (start + k) << s->cluster_bits);
	for (uint64_t i = 0; i < entries; i++)
		nrt_tbl[i] = be64toh(nrt_tbl[i]);
	if (ret || (ret = qcow2_sync(img)))
		goto out;
	put_be64(hdr, (start + k) << s->cluster_bits);
	put_be32(hdr + 8, (uint32_t)nrt);
	ret = img_file_pwrite(img->fd, hdr, 12, HDR_RT_OFF);
	if (ret || (ret = qcow2_sync(img)))
		goto out;
	free(s->rt);
	s->rt = nrt_tbl;
	nrt_tbl = NULL;
	s->rt_entries = entries;
	s->rt_off = (start + k) << s->cluster_bits;
	s->rt_clusters = (uint32_t)nrt;
	if (end > s->alloc_end)
		s->alloc_end = end;
	/* The header no longer points at the old table: release it now. */
	for (uint64_t i = 0; i < old_clusters; i++) {
		ret = qcow2_refcount_add(img, (old_off >> s->cluster_bits) + i, -1);
		if (ret)
			goto out;
	}
out:
	free(nrt_tbl);
	free(blocks);
	free(bidx);
	return ret;
}

int qcow2_refcount_add(struct img *img, uint64_t cluster, int64_t delta)
{
	struct qcow2 *s = QS(img);
	uint64_t b = cluster >> s->rb_bits, i = cluster & ((1ull << s->rb_bits) - 1), v;
	uint8_t *tbl;
	int ret;

	if (b >= s->rt_entries || !s->rt[b]) {
		if (delta < 0)
			return -EIO;	/* freeing a cluster that has no refcount */
		ret = ensure_refblock(img, b, cluster);
		if (ret)
			return ret;
	}
	ret = rb_get(img, s->rt[b], &tbl);
	if (ret)
		return ret;
	v = rc_load(tbl, s->refcount_order, i);
	if ((delta < 0 && v < (uint64_t)-delta) || (delta > 0 && s->refcount_max - v < (uint64_t)delta))
		return -EIO;
	v += (uint64_t)delta;
	qcow2_rc_store(tbl, s->refcount_order, i, v);
	rb_mark_dirty(img, s->rt[b]);
	if (delta > 0 && cluster + 1 > s->alloc_end)
		s->alloc_end = cluster + 1;
	if (v == 0 && cluster < s->free_hint)
		s->free_hint = cluster;
	return 0;
}

/* Set a refcount outright (repair); creates the refcount block if needed. */
int qcow2_refcount_set(struct img *img, uint64_t cluster, uint64_t val)
{
	uint64_t cur;
	int ret = qcow2_refcount_get(img, cluster, &cur);

	if (ret)
		return ret;
	if (val > QS(img)->refcount_max)
		val = QS(img)->refcount_max;
	if (cur == val)
		return 0;
	return qcow2_refcount_add(img, cluster, (int64_t)val - (int64_t)cur);
}

int64_t qcow2_alloc_clusters(struct img *img, uint64_t n)
{
	struct qcow2 *s = QS(img);
	int64_t start;
	int ret;

	for (;;) {
		uint64_t b0, b1;
		bool missing = false;

		start = find_free_from(img, s->free_hint, n);
		if (start < 0)
			return start;
		b0 = (uint64_t)start >> s->rb_bits;
		b1 = ((uint64_t)start + n - 1) >> s->rb_bits;
		for (uint64_t b = b0; b <= b1; b++) {
			if (b >= s->rt_entries || !s->rt[b]) {
				ret = ensure_refblock(img, b, UINT64_MAX);
				if (ret)
					return ret;
				missing = true;
			}
		}
		if (!missing)
			break;		/* a new block may have landed in the run: rescan */
	}
	for (uint64_t i = 0; i < n; i++) {
		ret = qcow2_refcount_add(img, (uint64_t)start + i, 1);
		if (ret)
			return ret;
	}
	if (n == 1 || (uint64_t)start == s->free_hint)
		s->free_hint = (uint64_t)start + n;
	return (int64_t)((uint64_t)start << s->cluster_bits);
}

/* Byte-granular space for compressed clusters, packed back to back. */
int64_t qcow2_alloc_bytes(struct img *img, uint64_t len)
{
	struct qcow2 *s = QS(img);
	uint64_t cs = s->cluster_size, off = s->cbyte_off, rc;
	int64_t n;
	int ret;

	if (off & (cs - 1)) {
		uint64_t cur = off >> s->cluster_bits, remain = cs - (off & (cs - 1));
		uint64_t extra = len > remain ? (len - remain + cs - 1) / cs : 0;
		bool ok = true;

		/* Refcount blocks first: a new one must not land in the span. */
		for (uint64_t i = 1; i <= extra; i++) {
			uint64_t b = (cur + i) >> s->rb_bits;

			if (b >= s->rt_entries || !s->rt[b]) {
				ret = ensure_refblock(img, b, UINT64_MAX);
				if (ret)
					return ret;
			}
		}
		for (uint64_t i = 1; i <= extra && ok; i++) {
			ret = qcow2_refcount_get(img, cur + i, &rc);
			if (ret)
				return ret;
			ok = rc == 0;
		}
		if (ok) {
			for (uint64_t i = 0; i <= extra; i++) {
				ret = qcow2_refcount_add(img, cur + i, 1);
				if (ret)
					return ret;
			}
			s->cbyte_off = off + len;
			return (int64_t)off;
		}
	}
	n = qcow2_alloc_clusters(img, (len + cs - 1) / cs);
	if (n < 0)
		return n;
	s->cbyte_off = (uint64_t)n + len;
	return n;
}

/* Queue the clusters of an L2 entry (or a bare table offset) for release. */
int qcow2_free_later(struct img *img, uint64_t entry)
{
	struct qcow2 *s = QS(img);
	uint64_t first, last;

	if (entry & L2E_COMPRESSED) {
		uint64_t coff, len = qcow2_compressed_span(s, entry, &coff);

		first = coff >> s->cluster_bits;
		last = (coff + len - 1) >> s->cluster_bits;
	} else {
		first = last = (entry & L2E_OFFSET_MASK) >> s->cluster_bits;
		if (!first)
			return 0;
	}
	for (uint64_t c = first; c <= last; c++) {
		if (s->npending == s->cap_pending) {
			size_t cap = s->cap_pending ? s->cap_pending * 2 : 64;
			uint64_t *p = realloc(s->pending_free, cap * sizeof(*p));

			if (!p)
				return -ENOMEM;
			s->pending_free = p;
			s->cap_pending = cap;
		}
		s->pending_free[s->npending++] = c;
	}
	return 0;
}

int qcow2_write_header_field(struct img *img, unsigned off, const void *buf, size_t len)
{
	return img_file_pwrite(img->fd, buf, len, off);
}

/* Autoclear bits name extensions we do not maintain: drop them on first write. */
int qcow2_clear_autoclear(struct img *img)
{
	struct qcow2 *s = QS(img);
	uint8_t z[8] = { 0 };
	int ret;

	if (s->autoclear_cleared || s->version < 3)
		return 0;
	s->autoclear_cleared = true;
	if (!s->autoclear)
		return 0;
	ret = qcow2_write_header_field(img, HDR_AUTOCLEAR, z, 8);
	if (!ret)
		ret = qcow2_sync(img);
	s->autoclear = 0;
	return ret;
}

/*
 * A cluster nothing references any more gives its space back to the host
 * file system (the image's allocated size shrinks, as after a guest's
 * TRIM). Unreferenced, its bytes no longer matter: best effort.
 */
static int punch_if_free(struct img *img, uint64_t cluster)
{
	struct qcow2 *s = QS(img);
	uint64_t rc;
	int ret = qcow2_refcount_get(img, cluster, &rc);

	if (ret || rc)
		return ret;
	if (fallocate(img->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)(cluster << s->cluster_bits), (off_t)s->cluster_size) < 0 &&
	    errno != EOPNOTSUPP && errno != ENOSYS)
		return -errno;
	return 0;
}

int qcow2_flush_metadata(struct img *img)
{
	struct qcow2 *s = QS(img);
	bool l2_dirty = false;
	int ret;

	ret = rb_writeback(img, false);
	if (ret)
		return ret;
	for (unsigned i = 0; i < s->l2c.n; i++)
		l2_dirty |= s->l2c.e[i].off && s->l2c.e[i].dirty;
	if (l2_dirty || s->l1_dirty) {
		ret = qcow2_sync(img);			/* rule 1 */
		if (ret)
			return ret;
	}
	for (unsigned i = 0; i < s->l2c.n; i++) {
		struct qcow2_cached *e = &s->l2c.e[i];

		if (!e->off || !e->dirty)
			continue;
		ret = img_file_pwrite(img->fd, e->tbl, s->cluster_size, e->off);
		if (ret)
			return ret;
		e->dirty = false;
	}
	if (s->l1_dirty) {
		uint64_t *be = malloc((size_t)s->l1_size * 8);

		if (!be)
			return -ENOMEM;
		ret = qcow2_sync(img);			/* rule 2 */
		for (uint32_t i = 0; i < s->l1_size && !ret; i++)
			be[i] = htobe64(s->l1[i]);
		if (!ret)
			ret = img_file_pwrite(img->fd, be, (size_t)s->l1_size * 8, s->l1_off);
		free(be);
		if (ret)
			return ret;
		s->l1_dirty = false;
	}
	ret = qcow2_sync(img);
	if (ret)
		return ret;
	if (s->npending) {			/* rule 3: tables are on disk now */
		for (size_t i = 0; i < s->npending; i++) {
			if (s->pending_free[i] == s->cbyte_off >> s->cluster_bits)
				s->cbyte_off = 0;	/* never pack into a freed cluster */
			ret = qcow2_refcount_add(img, s->pending_free[i], -1);
			if (!ret)
				ret = punch_if_free(img, s->pending_free[i]);
			if (ret)
				return ret;
		}
		s->npending = 0;
		ret = rb_writeback(img, true);
	}
	return ret;
}
