/* imgtool/qcow2.h: qcow2 on-disk layout constants and the driver's in-memory state. */
#ifndef QCOW2_H
#define QCOW2_H

#include <endian.h>
#include <string.h>
#include <zlib.h>

#include "img_int.h"

#define QCOW2_MAGIC		0x514649fbu
#define QCOW2_MIN_CLUSTER_BITS	9
#define QCOW2_MAX_CLUSTER_BITS	21
#define QCOW2_V2_HDR_LEN	72
#define QCOW2_V3_HDR_LEN	104
#define QCOW2_MAX_BACKING_NAME	1023
#define QCOW2_MAX_L1_BYTES	(32u << 20)	/* qemu's limit */
#define QCOW2_MAX_REFTABLE_BYTES (8u << 20)
#define QCOW2_MAX_DEPTH		16		/* backing chain */
#define QCOW2_OFFSET_LIMIT	(1ull << 56)	/* host offsets are 56-bit */
#define QCOW2_MAX_SNAPSHOTS	65536		/* qemu's limits */
#define QCOW2_MAX_SNAPSHOT_TABLE (64u << 20)
#define QCOW2_MAX_SNAPSHOT_EXTRA 1024
#define SN_HDR_LEN		40		/* fixed part of a snapshot table entry */
#define SN_EXTRA_LEN		24		/* the extra data we write: vm state, disk size, icount */

/* Header fields (big-endian, offsets from the start of the file). */
#define HDR_VERSION		4
#define HDR_BACKING_OFF		8
#define HDR_BACKING_SIZE	16
#define HDR_CLUSTER_BITS	20
#define HDR_SIZE		24
#define HDR_CRYPT		32
#define HDR_L1_SIZE		36
#define HDR_L1_OFF		40
#define HDR_RT_OFF		48
#define HDR_RT_CLUSTERS		56
#define HDR_NB_SNAPSHOTS	60
#define HDR_SNAPSHOTS_OFF	64
#define HDR_INCOMPAT		72
#define HDR_COMPAT		80
#define HDR_AUTOCLEAR		88
#define HDR_REFCOUNT_ORDER	96
#define HDR_HEADER_LEN		100
#define HDR_COMPRESSION_TYPE	104

#define INCOMPAT_DIRTY		(1ull << 0)
#define INCOMPAT_CORRUPT	(1ull << 1)
#define INCOMPAT_DATA_FILE	(1ull << 2)
#define INCOMPAT_COMPRESSION	(1ull << 3)
#define INCOMPAT_EXTL2		(1ull << 4)
#define COMPAT_LAZY_REFCOUNTS	(1ull << 0)

#define EXT_END			0x00000000u
#define EXT_BACKING_FORMAT	0xe2792acau
#define EXT_FEATURE_TABLE	0x6803f857u
#define EXT_BITMAPS		0x23852875u
#define AUTOCLEAR_BITMAPS	(1ull << 0)
#define QCOW2_MAX_BITMAPS	65535
#define QCOW2_MAX_BITMAP_DIR	(64u << 20)

#define L1E_OFFSET_MASK		0x00fffffffffffe00ull
#define L1E_COPIED		(1ull << 63)
#define L2E_OFFSET_MASK		0x00fffffffffffe00ull
#define L2E_COMPRESSED		(1ull << 62)
#define L2E_COPIED		(1ull << 63)
#define L2E_ZERO		(1ull << 0)

#define L2_CACHE_BYTES		(4u << 20)	/* 32 GiB of a 64 KiB-cluster image */
#define L2_CACHE_MIN		16
#define RB_CACHE_ENTRIES	16
/*
 * Caches are set-associative: a table can only live in the CACHE_WAYS slots
 * of its set, so a lookup costs a few compares even with thousands of tables.
 */
#define CACHE_WAYS		8

struct qcow2_cached {
	uint64_t off;		/* host offset of the table; 0 = empty slot */
	uint64_t *tbl;		/* one cluster, as on disk (big-endian) */
	uint64_t lru;
	bool dirty;
};

struct qcow2_cache {
	struct qcow2_cached *e;
	unsigned n;
	uint64_t tick;
};

/* One entry of the snapshot table, as parsed at open. */
struct qcow2_snapshot {
	uint64_t l1_off;
	uint32_t l1_size;
	char *id, *name;		/* NUL-terminated copies of the stored bytes */
	uint16_t id_len, name_len;
	uint32_t date_sec, date_nsec;
	uint64_t vm_clock_nsec;
	uint64_t vm_state_size;
	uint64_t disk_size;		/* the current size if the entry has none */
	uint64_t icount;		/* UINT64_MAX if the entry has none */
	uint8_t *extra_unknown;		/* extra data past what we know, kept as is */
	uint32_t extra_unknown_len;
};

struct qcow2 {
	int version;
	unsigned cluster_bits;
	uint64_t cluster_size;
	unsigned l2_bits;		/* log2(entries per L2 table) */
	uint64_t l2_entries;
	unsigned refcount_order;
	unsigned refcount_bits;
	uint64_t refcount_max;
	unsigned rb_bits;		/* log2(entries per refcount block) */
	uint64_t header_len;
	uint64_t incompat, compat, autoclear;
	bool autoclear_cleared;		/* written 0 on first write */
	unsigned csize_shift;		/* compressed descriptor split */
	uint64_t csize_mask;
	uint64_t coff_mask;

	uint64_t *l1;			/* host order */
	uint32_t l1_size;
	uint64_t l1_off;
	bool l1_dirty;

	uint64_t *rt;			/* refcount table, host order */
	uint64_t rt_entries;
	uint64_t rt_off;
	uint32_t rt_clusters;

	uint32_t nb_snapshots;
	uint64_t snapshots_off;
	uint64_t snapshots_len;		/* bytes of the table on disk */
	struct qcow2_snapshot *snaps;	/* nb_snapshots of them */

	uint32_t nb_bitmaps;		/* bitmaps extension, valid with AUTOCLEAR_BITMAPS */
	uint64_t bitmap_dir_off, bitmap_dir_size;

	struct qcow2_cache l2c;
	struct qcow2_cache rbc;

	uint64_t free_hint;		/* first cluster index worth scanning */
	uint64_t cbyte_off;		/* next free byte for compressed data, 0 none */
	uint64_t alloc_end;		/* cluster index past every allocation so far */

	uint64_t *pending_free;		/* host offsets to unref after next flush */
	size_t npending, cap_pending;

	struct img *backing;
	char backing_name[QCOW2_MAX_BACKING_NAME + 1];
	char backing_fmt[32];

	enum img_compression compression;	/* header byte 104: the enum is the on-disk value */
	z_stream inflate;
	bool inflate_ready;
	struct img_zstd *zstd;		/* compression_type zstd */
	uint8_t *cbuf;			/* compressed read buffer, 2 clusters */
	uint8_t *bounce;		/* one cluster for read-modify-write */
	uint8_t *dcbuf;			/* last decompressed cluster ... */
	uint64_t dc_entry;		/* ... and its L2 entry; 0 = none */
};

static inline struct qcow2 *QS(struct img *img)
{
	return img->priv;
}

static inline uint64_t get_be64(const void *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return be64toh(v);
}

static inline uint32_t get_be32(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return be32toh(v);
}

static inline uint16_t get_be16(const void *p)
{
	uint16_t v;

	memcpy(&v, p, 2);
	return be16toh(v);
}

static inline void put_be64(void *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

static inline void put_be32(void *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

/* qcow2_cache.c: L2 tables and refcount blocks, refcounts, allocation. */
int qcow2_caches_init(struct img *img);
void qcow2_caches_free(struct qcow2 *s);
int qcow2_l2_get(struct img *img, uint64_t l2_off, uint64_t **tbl);
int qcow2_l2_writable(struct img *img, uint64_t idx, uint64_t **tbl, uint64_t *l2_off);
int qcow2_refcount_set(struct img *img, uint64_t cluster, uint64_t val);
void qcow2_l2_mark_dirty(struct img *img, uint64_t l2_off);
void qcow2_l2_forget(struct img *img, uint64_t l2_off);
int qcow2_refcount_get(struct img *img, uint64_t cluster, uint64_t *rc);
bool qcow2_exclusive(struct img *img, uint64_t off);
int qcow2_refcount_add(struct img *img, uint64_t cluster, int64_t delta);
int64_t qcow2_alloc_clusters(struct img *img, uint64_t n);
int64_t qcow2_alloc_bytes(struct img *img, uint64_t len);
int qcow2_free_later(struct img *img, uint64_t l2_entry);
int qcow2_flush_metadata(struct img *img);
int qcow2_sync(struct img *img);
int qcow2_write_header_field(struct img *img, unsigned off, const void *buf, size_t len);
int qcow2_clear_autoclear(struct img *img);

/* qcow2_io.c */
int qcow2_l2_entry(struct img *img, uint64_t vcluster, uint64_t *entry);
uint64_t qcow2_compressed_span(struct qcow2 *s, uint64_t entry, uint64_t *coff);
extern const struct img_driver img_qcow2_driver;
void qcow2_close(struct img *img);

/* qcow2_open.c: what the persistent dirty bitmaps would take in an image of cluster size cs. */
int qcow2_bitmaps_size(struct img *img, uint64_t cs, uint64_t *size);

/* qcow2_check.c */
int qcow2_check(struct img *img, unsigned fix, struct img_check_result *res, FILE *log);
int qcow2_resize(struct img *img, uint64_t size, bool shrink, char *err, size_t errlen);

/* qcow2_cache.c: store refcount i of a block of the given order */
void qcow2_rc_store(uint8_t *b, unsigned order, uint64_t i, uint64_t v);

/* qcow2_amend.c */
int qcow2_set_backing(struct img *img, const char *name, const char *fmt, char *err, size_t errlen);
int qcow2_is_allocated(struct img *img, uint64_t off, uint64_t len, uint64_t *pnum);
int qcow2_make_empty(struct img *img, char *err, size_t errlen);
int qcow2_amend(struct img *img, const struct img_amend_opts *o, char *err, size_t errlen);
/* qcow2_snapshot.c */
int qcow2_snapshots_load(struct img *img, uint64_t fsize, char *err, size_t errlen);
void qcow2_snapshots_free(struct qcow2 *s);
int qcow2_snapshot_list(struct img *img, struct img_snapshot **list, char *err, size_t errlen);
int qcow2_snapshot_create(struct img *img, const char *name, char *err, size_t errlen);
int qcow2_snapshot_apply(struct img *img, const char *id_or_name, char *err, size_t errlen);
int qcow2_snapshot_delete(struct img *img, const char *name, char *err, size_t errlen);

#endif
