/* imgtool/qcow2_open.c: qcow2 header parsing and validation, header extensions, backing files. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "qcow2.h"

#define ERR(...) (img_seterr(err, errlen, __VA_ARGS__), -EINVAL)

static const char *known_incompat[] = {
	"dirty bit", "corrupt bit", "external data file", "compression type",
	"extended L2 entries",
};

/* Name an unknown incompatible bit from the image's own feature table, if any. */
static void feature_name(const uint8_t *tbl, uint32_t tbl_len, unsigned bit,
			 char *name, size_t namelen)
{
	for (uint32_t i = 0; i + 48 <= tbl_len; i += 48) {
		if (tbl[i] == 0 && tbl[i + 1] == bit) {
			snprintf(name, namelen, "%.46s", (const char *)tbl + i + 2);
			return;
		}
	}
	snprintf(name, namelen, "bit %u", bit);
}

struct range {
	uint64_t start, len;
	const char *what;
};

static bool overlaps(const struct range *a, const struct range *b)
{
	return a->len && b->len && a->start < b->start + b->len && b->start < a->start + a->len;
}

/* Is a table or data cluster at off inside the fixed metadata? */
static const char *hits_fixed_metadata(struct qcow2 *s, uint64_t off, uint64_t len)
{
	struct range r = { off, len, NULL };
	struct range fixed[] = {
		{ 0, s->cluster_size, "the header" },
		{ s->l1_off, (uint64_t)s->l1_size * 8, "the L1 table" },
		{ s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits, "the refcount table" },
	};

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (overlaps(&r, &fixed[i]))
			return fixed[i].what;
	return NULL;
}

static int parse_extensions(struct img *img, const uint8_t *hdr, uint64_t ext_end,
			    uint64_t *feat_off, uint32_t *feat_len, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t off = (s->header_len + 7) & ~7ull;

	while (off + 8 <= ext_end) {
		uint32_t type = get_be32(hdr + off);
		uint32_t len = get_be32(hdr + off + 4);

		if (type == EXT_END)
			return 0;
		if ((uint64_t)len > ext_end - off - 8)
			return ERR("header extension 0x%08x of %u bytes runs past its area", type, len);
		if (type == EXT_BACKING_FORMAT) {
			if (len >= sizeof(s->backing_fmt))
				return ERR("backing format name too long (%u bytes)", len);
			memcpy(s->backing_fmt, hdr + off + 8, len);
			s->backing_fmt[len] = '\0';
		} else if (type == EXT_FEATURE_TABLE) {
			*feat_off = off + 8;
			*feat_len = len;
		} else if (type == EXT_BITMAPS && len >= 24) {
			s->nb_bitmaps = get_be32(hdr + off + 8);
			s->bitmap_dir_size = get_be64(hdr + off + 16);
			s->bitmap_dir_off = get_be64(hdr + off + 24);
		}
		off += 8 + (((uint64_t)len + 7) & ~7ull);
	}
	return 0;
}

static int check_table(struct qcow2 *s, uint64_t fsize, uint64_t off, uint64_t len,
		       const char *what, char *err, size_t errlen)
{
	if (off >= QCOW2_OFFSET_LIMIT)
		return ERR("%s offset 0x%llx is above 2^56", what, (unsigned long long)off);
	if (off & (s->cluster_size - 1))
		return ERR("%s offset 0x%llx is not cluster-aligned", what, (unsigned long long)off);
	if (len && off == 0)
		return ERR("%s is at offset 0, inside the header", what);
	if (off > fsize || len > fsize - off)
		return ERR("%s (0x%llx+%llu) extends past the end of the file",
			   what, (unsigned long long)off, (unsigned long long)len);
	return 0;
}

static int load_tables(struct img *img, uint64_t fsize, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	int ret;

	if (s->l1_size) {
		s->l1 = malloc((size_t)s->l1_size * 8);
		if (!s->l1)
			return ERR("out of memory for the L1 table");
		ret = img_file_pread(img->fd, s->l1, (size_t)s->l1_size * 8, s->l1_off);
		if (ret)
			return ERR("could not read the L1 table: %s", strerror(-ret));
	}
	for (uint32_t i = 0; i < s->l1_size; i++) {
		uint64_t e = be64toh(s->l1[i]), o = e & L1E_OFFSET_MASK;
		const char *hit;

		s->l1[i] = e;
		if (!o)
			continue;
		if (e & 0x7f000000000001ffull)
			return ERR("L1 entry %u has reserved bits set (0x%llx)", i, (unsigned long long)e);
		if (o & (s->cluster_size - 1))
			return ERR("L1 entry %u: L2 table offset 0x%llx is not cluster-aligned",
				   i, (unsigned long long)o);
		if (o + s->cluster_size > fsize)
			return ERR("L1 entry %u: L2 table at 0x%llx is past the end of the file",
				   i, (unsigned long long)o);
		hit = hits_fixed_metadata(s, o, s->cluster_size);
		if (hit)
			return ERR("L1 entry %u: L2 table at 0x%llx overlaps %s",
				   i, (unsigned long long)o, hit);
	}

	s->rt = malloc(s->rt_entries * 8);
	if (!s->rt)
		return ERR("out of memory for the refcount table");
	ret = img_file_pread(img->fd, s->rt, s->rt_entries * 8, s->rt_off);
	if (ret)
		return ERR("could not read the refcount table: %s", strerror(-ret));
	for (uint64_t i = 0; i < s->rt_entries; i++) {
		uint64_t o = be64toh(s->rt[i]);
		const char *hit;

		s->rt[i] = o;
		if (!o)
			continue;
		if (o >= QCOW2_OFFSET_LIMIT || (o & (s->cluster_size - 1)))
			return ERR("refcount table entry %llu: bad refcount block offset 0x%llx",
				   (unsigned long long)i, (unsigned long long)o);
		if (o + s->cluster_size > fsize)
			return ERR("refcount block %llu at 0x%llx is past the end of the file",
				   (unsigned long long)i, (unsigned long long)o);
		hit = hits_fixed_metadata(s, o, s->cluster_size);
		if (hit)
			return ERR("refcount block %llu at 0x%llx overlaps %s",
				   (unsigned long long)i, (unsigned long long)o, hit);
	}
	return 0;
}

static int open_backing(struct img *img, unsigned flags, int depth, char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	enum img_format bfmt = IMG_FMT_AUTO;
	char path[4096 + QCOW2_MAX_BACKING_NAME + 2];
	char sub[512];

	if (depth + 1 >= QCOW2_MAX_DEPTH)
		return ERR("backing chain deeper than %d images", QCOW2_MAX_DEPTH);
	if (s->backing_fmt[0] && img_parse_format(s->backing_fmt, &bfmt) < 0)
		return ERR("unsupported backing file format '%s'", s->backing_fmt);
	if (s->backing_name[0] == '/') {
		snprintf(path, sizeof(path), "%s", s->backing_name);
	} else {
		char *dup = strdup(img->path);

		if (!dup)
			return ERR("out of memory");
		snprintf(path, sizeof(path), "%s/%s", dirname(dup), s->backing_name);
		free(dup);
	}
	s->backing = img_open_depth(path, bfmt, (flags | IMG_OPEN_RDONLY), depth + 1,
				    sub, sizeof(sub));
	if (!s->backing)
		return ERR("could not open backing file: %s", sub);
	return 0;
}

/*
 * The compression_type byte exists when the header reaches past it; a type
 * other than zlib needs the incompatible bit, and the bit needs one (qemu
 * refuses both mismatches too).
 */
static int parse_compression_type(struct qcow2 *s, const uint8_t *hdr, char *err, size_t errlen)
{
	unsigned type = s->header_len > HDR_COMPRESSION_TYPE ? hdr[HDR_COMPRESSION_TYPE] : 0;

	if (type != IMG_COMPRESSION_ZLIB && type != IMG_COMPRESSION_ZSTD)
		return ERR("unknown compression type %u (zlib and zstd are supported)", type);
	if (type != IMG_COMPRESSION_ZLIB && !(s->incompat & INCOMPAT_COMPRESSION))
		return ERR("compression type zstd set without its incompatible bit");
	if (type == IMG_COMPRESSION_ZLIB && (s->incompat & INCOMPAT_COMPRESSION))
		return ERR("compression type incompatible bit set, but the type is zlib%s",
			   s->header_len > HDR_COMPRESSION_TYPE ? "" : " (header too short for the field)");
	s->compression = type;
	return 0;
}

static int parse_header(struct img *img, const uint8_t *hdr, uint64_t fsize, unsigned flags,
			char *err, size_t errlen)
{
	struct qcow2 *s = QS(img);
	uint64_t backing_off, l1_need, ext_end, feat_off = 0, max_l1;
	uint32_t backing_len, feat_len = 0, crypt;
	struct range r[4];
	int ret;

	s->version = (int)get_be32(hdr + HDR_VERSION);
	if (s->version != 2 && s->version != 3)
		return ERR("unsupported qcow2 version %d", s->version);
	s->cluster_bits = get_be32(hdr + HDR_CLUSTER_BITS);
	if (s->cluster_bits < QCOW2_MIN_CLUSTER_BITS || s->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return ERR("cluster_bits %u out of range (9..21)", s->cluster_bits);
	s->cluster_size = 1ull << s->cluster_bits;
	if (fsize < s->cluster_size && fsize < 512)
		return ERR("file too short for a qcow2 header");
	crypt = get_be32(hdr + HDR_CRYPT);
	if (crypt)
		return ERR("encrypted images are not supported (crypt_method %u)", crypt);

	if (s->version == 2) {
		s->header_len = QCOW2_V2_HDR_LEN;
		s->refcount_order = 4;
	} else {
		s->incompat = get_be64(hdr + HDR_INCOMPAT);
		s->compat = get_be64(hdr + HDR_COMPAT);
		s->autoclear = get_be64(hdr + HDR_AUTOCLEAR);
		s->refcount_order = get_be32(hdr + HDR_REFCOUNT_ORDER);
		s->header_len = get_be32(hdr + HDR_HEADER_LEN);
		if (s->header_len < QCOW2_V3_HDR_LEN || s->header_len > s->cluster_size ||
		    (s->header_len & 3))
			return ERR("header_length %llu invalid", (unsigned long long)s->header_len);
		if (s->refcount_order > 6)
			return ERR("refcount_order %u out of range (0..6)", s->refcount_order);
	}
	s->refcount_bits = 1u << s->refcount_order;
	s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX : (1ull << s->refcount_bits) - 1;
	s->l2_bits = s->cluster_bits - 3;
	s->l2_entries = 1ull << s->l2_bits;
	s->rb_bits = s->cluster_bits + 3 - s->refcount_order;
	s->csize_shift = 62 - (s->cluster_bits - 8);
	s->csize_mask = (1ull << (s->cluster_bits - 8)) - 1;
	s->coff_mask = (1ull << s->csize_shift) - 1;

	img->size = get_be64(hdr + HDR_SIZE);
	if (img->size > (1ull << 62))
		return ERR("virtual size %llu is implausible", (unsigned long long)img->size);
	s->l1_size = get_be32(hdr + HDR_L1_SIZE);
	s->l1_off = get_be64(hdr + HDR_L1_OFF);
	s->rt_off = get_be64(hdr + HDR_RT_OFF);
	s->rt_clusters = get_be32(hdr + HDR_RT_CLUSTERS);
	s->nb_snapshots = get_be32(hdr + HDR_NB_SNAPSHOTS);
	s->snapshots_off = get_be64(hdr + HDR_SNAPSHOTS_OFF);
	backing_off = get_be64(hdr + HDR_BACKING_OFF);
	backing_len = get_be32(hdr + HDR_BACKING_SIZE);

	max_l1 = QCOW2_MAX_L1_BYTES / 8;
	if (s->l1_size > max_l1)
		return ERR("L1 table of %u entries is too large", s->l1_size);
	l1_need = (img->size + (s->cluster_size << s->l2_bits) - 1) >>
		  (s->cluster_bits + s->l2_bits);
	if (l1_need > s->l1_size)
		return ERR("L1 table of %u entries is too small for the %llu-byte disk",
			   s->l1_size, (unsigned long long)img->size);
	ret = check_table(s, fsize, s->l1_off, (uint64_t)s->l1_size * 8, "L1 table", err, errlen);
	if (ret)
		return ret;
	if (s->rt_clusters == 0)
		return ERR("refcount table has 0 clusters");
	if ((uint64_t)s->rt_clusters << s->cluster_bits > QCOW2_MAX_REFTABLE_BYTES)
		return ERR("refcount table of %u clusters is too large", s->rt_clusters);
	s->rt_entries = ((uint64_t)s->rt_clusters << s->cluster_bits) / 8;
	ret = check_table(s, fsize, s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits,
			  "refcount table", err, errlen);
	if (ret)
		return ret;
	if (s->nb_snapshots > 65536)
		return ERR("%u snapshots is too many", s->nb_snapshots);
	if (s->nb_snapshots) {
		ret = check_table(s, fsize, s->snapshots_off, 40ull * s->nb_snapshots,
				  "snapshot table", err, errlen);
		if (ret)
			return ret;
	}
	r[0] = (struct range){ 0, s->cluster_size, "the header" };
	r[1] = (struct range){ s->l1_off, (uint64_t)s->l1_size * 8, "the L1 table" };
	r[2] = (struct range){ s->rt_off, (uint64_t)s->rt_clusters << s->cluster_bits,
			       "the refcount table" };
	r[3] = (struct range){ s->snapshots_off, s->nb_snapshots ? 40ull * s->nb_snapshots : 0,
			       "the snapshot table" };
	for (int i = 0; i < 4; i++)
		for (int j = i + 1; j < 4; j++)
			if (overlaps(&r[i], &r[j]))
				return ERR("%s overlaps %s", r[i].what, r[j].what);

	ext_end = s->cluster_size;
	if (backing_off) {
		if (backing_len > QCOW2_MAX_BACKING_NAME)
			return ERR("backing file name of %u bytes is too long", backing_len);
		if (backing_off < s->header_len || backing_off > s->cluster_size ||
		    backing_len > s->cluster_size - backing_off)
			return ERR("backing file name at 0x%llx is outside the header cluster",
				   (unsigned long long)backing_off);
		if (backing_off + backing_len > fsize)
			return ERR("backing file name extends past the end of the file");
		memcpy(s->backing_name, hdr + backing_off, backing_len);
		s->backing_name[backing_len] = '\0';
		if (strlen(s->backing_name) != backing_len || !backing_len)
			return ERR("backing file name is empty or holds a NUL byte");
		ext_end = backing_off;
	}
	if (s->version == 3) {
		ret = parse_extensions(img, hdr, ext_end, &feat_off, &feat_len, err, errlen);
		if (ret)
			return ret;
	}
	if (s->incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION)) {
		uint64_t bad = s->incompat & ~(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_COMPRESSION);
		unsigned bit = (unsigned)__builtin_ctzll(bad);
		char name[64];

		if (bit < sizeof(known_incompat) / sizeof(known_incompat[0]))
			snprintf(name, sizeof(name), "%s", known_incompat[bit]);
		else
			feature_name(feat_off ? hdr + feat_off : NULL, feat_off ? feat_len : 0,
				     bit, name, sizeof(name));
		return ERR("unsupported incompatible feature: %s", name);
	}
	ret = parse_compression_type(s, hdr, err, errlen);
	if (ret)
		return ret;
	if ((s->incompat & INCOMPAT_CORRUPT) && !(flags & IMG_OPEN_RDONLY))
		return ERR("image is marked corrupt; it can only be opened read-only");
	return 0;
}

static void qcow2_free_state(struct img *img)
{
	struct qcow2 *s = QS(img);

	if (!s)
		return;
	if (s->backing)
		img_close(s->backing);
	qcow2_caches_free(s);
	qcow2_snapshots_free(s);
	if (s->inflate_ready)
		inflateEnd(&s->inflate);
	img_zstd_free(s->zstd);
	free(s->l1);
	free(s->rt);
	free(s->pending_free);
	free(s->cbuf);
	free(s->bounce);
	free(s->dcbuf);
	free(s);
	img->priv = NULL;
}

/*
 * What qemu-img measure counts for the persistent dirty bitmaps in an image
 * of cluster size cs: each bitmap whole (a bit per granule of the disk) and
 * its table, both in whole clusters, then the directory. qemu loads them only
 * while the autoclear bit says the extension is current.
 */
int qcow2_bitmaps_size(struct img *img, uint64_t cs, uint64_t *size)
{
	struct qcow2 *s = QS(img);
	uint64_t total = 0, dir = 0, off = 0;
	uint8_t *d;
	int ret;

	*size = 0;
	if (!(s->autoclear & AUTOCLEAR_BITMAPS) || !s->nb_bitmaps)
		return 0;
	if (s->nb_bitmaps > QCOW2_MAX_BITMAPS || s->bitmap_dir_size > QCOW2_MAX_BITMAP_DIR)
		return -EINVAL;
	d = malloc(s->bitmap_dir_size ? s->bitmap_dir_size : 1);
	if (!d)
		return -ENOMEM;
	ret = img_file_pread(img->fd, d, s->bitmap_dir_size, s->bitmap_dir_off);
	for (uint32_t i = 0; !ret && i < s->nb_bitmaps; i++) {
		uint64_t esize, bits, clusters;
		unsigned gbits, nlen;

		if (off + 24 > s->bitmap_dir_size) {
			ret = -EINVAL;
			break;
		}
		gbits = d[off + 17];
		nlen = get_be16(d + off + 18);
		esize = (24 + (uint64_t)get_be32(d + off + 20) + nlen + 7) & ~7ull;
		if (gbits < 9 || gbits > 31 || esize > s->bitmap_dir_size - off) {
			ret = -EINVAL;
			break;
		}
		bits = (img->size + (1ull << gbits) - 1) >> gbits;
		clusters = ((bits + 7) / 8 + cs - 1) / cs;
		total += clusters * cs + (clusters * 8 + cs - 1) / cs * cs;
		dir += (24 + nlen + 7) & ~7ull;		/* qemu counts no extra data here */
		off += esize;
	}
	free(d);
	if (!ret)
		*size = total + (dir + cs - 1) / cs * cs;
	return ret;
}

void qcow2_close(struct img *img)
{
	if (!img->ro)
		qcow2_flush_metadata(img);
	qcow2_free_state(img);
}

int qcow2_open(struct img *img, unsigned flags, int depth, char *err, size_t errlen)
{
	struct qcow2 *s;
	uint8_t *hdr = NULL;
	struct stat st;
	uint64_t fsize;
	int ret;

	if (fstat(img->fd, &st) < 0)
		return ERR("stat: %s", strerror(errno));
	fsize = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		off_t end = lseek(img->fd, 0, SEEK_END);

		fsize = end < 0 ? 0 : (uint64_t)end;
	}
	if (fsize < QCOW2_V2_HDR_LEN)
		return ERR("file too short for a qcow2 header");
	s = calloc(1, sizeof(*s));
	if (!s)
		return ERR("out of memory");
	img->priv = s;
	hdr = calloc(1, 1u << QCOW2_MAX_CLUSTER_BITS);
	if (!hdr) {
		ret = ERR("out of memory");
		goto fail;
	}
	ret = img_file_pread(img->fd, hdr, fsize < (1u << QCOW2_MAX_CLUSTER_BITS) ?
			     fsize : (1u << QCOW2_MAX_CLUSTER_BITS), 0);
	if (ret) {
		ret = ERR("could not read the header: %s", strerror(-ret));
		goto fail;
	}
	if (get_be32(hdr) != QCOW2_MAGIC) {
		ret = ERR("not a qcow2 image (bad magic)");
		goto fail;
	}
	ret = parse_header(img, hdr, fsize, flags, err, errlen);
	if (ret)
		goto fail;
	ret = load_tables(img, fsize, err, errlen);
	if (ret)
		goto fail;
	ret = qcow2_snapshots_load(img, fsize, err, errlen);
	if (ret)
		goto fail;
	s->cbuf = malloc(2 * s->cluster_size + 512);
	s->bounce = malloc(s->cluster_size);
	s->dcbuf = malloc(s->cluster_size);
	if (!s->cbuf || !s->bounce || !s->dcbuf || inflateInit2(&s->inflate, -15) != Z_OK) {
		ret = ERR("out of memory");
		goto fail;
	}
	s->inflate_ready = true;
	if (s->compression == IMG_COMPRESSION_ZSTD && !(s->zstd = img_zstd_new())) {
		ret = ERR("out of memory");
		goto fail;
	}
	ret = qcow2_caches_init(img);
	if (ret) {
		ret = ERR("out of memory for the caches");
		goto fail;
	}
	s->free_hint = 0;
	if (s->backing_name[0] && !(flags & IMG_OPEN_NO_BACKING)) {
		ret = open_backing(img, flags, depth, err, errlen);
		if (ret)
			goto fail;
	}
	if ((s->incompat & INCOMPAT_DIRTY) && !img->ro) {
		/* Refcounts may be stale after a crash with lazy refcounts: rebuild. */
		struct img_check_result res;

		ret = qcow2_check(img, IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS, &res, NULL);
		if (ret || res.corruptions > res.corruptions_fixed) {
			ret = ERR("image is dirty and could not be repaired");
			goto fail;
		}
		s->incompat &= ~INCOMPAT_DIRTY;
		{
			uint8_t b[8];

			put_be64(b, s->incompat);
			if (qcow2_write_header_field(img, HDR_INCOMPAT, b, 8) || qcow2_sync(img)) {
				ret = ERR("could not clear the dirty bit");
				goto fail;
			}
		}
	}
	free(hdr);
	return 0;
fail:
	free(hdr);
	qcow2_free_state(img);
	return ret < 0 ? ret : -EINVAL;
}

/* ---- create ---- */

static const struct {
	uint8_t type, bit;
	const char *name;
} feature_table[] = {
	{ 0, 0, "dirty bit" }, { 0, 1, "corrupt bit" }, { 0, 2, "external data file" },
	{ 0, 3, "compression type" }, { 0, 4, "extended L2 entries" },
	{ 1, 0, "lazy refcounts" }, { 2, 0, "bitmaps" }, { 2, 1, "raw external data" },
};

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

int qcow2_create(const char *path, const struct img_create_opts *opts, char *err, size_t errlen)
{
	uint64_t cs = opts->cluster_size ? opts->cluster_size : 65536;
	uint64_t size = opts->size, l1_size, l1_c, rt_c = 1, rb_c = 1, meta, off;
	unsigned bits = (unsigned)__builtin_ctzll(cs);
	const char *bfmt = NULL;
	uint8_t *buf = NULL;
	uint64_t ext = QCOW2_V3_HDR_LEN + 8;
	size_t blen = 0;
	int fd, ret;

	if ((cs & (cs - 1)) || bits < QCOW2_MIN_CLUSTER_BITS || bits > QCOW2_MAX_CLUSTER_BITS)
		return ERR("cluster size must be a power of two between 512 and 2M");
	if (opts->compression != IMG_COMPRESSION_ZLIB && opts->compression != IMG_COMPRESSION_ZSTD)
		return ERR("unknown compression type %d", (int)opts->compression);
	if (opts->backing_file) {
		struct img *b;
		char sub[512];
		char full[4096 + QCOW2_MAX_BACKING_NAME + 2];

		blen = strlen(opts->backing_file);
		if (!blen || blen > QCOW2_MAX_BACKING_NAME)
			return ERR("backing file name must be 1..%d bytes", QCOW2_MAX_BACKING_NAME);
		if (opts->backing_file[0] == '/') {
			snprintf(full, sizeof(full), "%s", opts->backing_file);
		} else {
			char *dup = strdup(path);

			if (!dup)
				return ERR("out of memory");
			snprintf(full, sizeof(full), "%s/%s", dirname(dup), opts->backing_file);
			free(dup);
		}
		b = img_open(full, opts->backing_format, IMG_OPEN_RDONLY, sub, sizeof(sub));
		if (!b)
			return ERR("could not open backing file: %s", sub);
		bfmt = img_format_name(img_get_format(b));
		if (!size)
			size = img_get_size(b);
		img_close(b);
	}
	if (size > (1ull << 61))
		return ERR("size too large");
	l1_size = div_up(size, cs * (cs / 8));
	if (l1_size * 8 > QCOW2_MAX_L1_BYTES)
		return ERR("size too large for cluster size %llu", (unsigned long long)cs);
	l1_c = l1_size ? div_up(l1_size * 8, cs) : 1;
	/* Refcount blocks must cover all metadata, including themselves. */
	for (;;) {
		uint64_t m = 1 + rt_c + rb_c + l1_c;
		uint64_t nrb = div_up(m, cs * 8 / 16), nrt = div_up(nrb * 8, cs);

		if (nrb == rb_c && nrt == rt_c)
			break;
		rb_c = nrb;
		rt_c = nrt;
	}
	meta = 1 + rt_c + rb_c + l1_c;
	buf = calloc(1, cs * (rt_c > rb_c ? rt_c : rb_c) + cs);
	if (!buf)
		return ERR("out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (opts->force ? O_TRUNC : O_EXCL), 0644);
	if (fd < 0) {
		ret = -errno;
		img_seterr(err, errlen, "could not create '%s': %s", path, strerror(errno));
		free(buf);
		return ret;
	}
	/* Header cluster: v3 header, extensions, backing name. */
	put_be32(buf, QCOW2_MAGIC);
	put_be32(buf + HDR_VERSION, 3);
	put_be32(buf + HDR_CLUSTER_BITS, bits);
	put_be64(buf + HDR_SIZE, size);
	put_be32(buf + HDR_L1_SIZE, (uint32_t)l1_size);
	put_be64(buf + HDR_L1_OFF, (1 + rt_c + rb_c) * cs);
	put_be64(buf + HDR_RT_OFF, cs);
	put_be32(buf + HDR_RT_CLUSTERS, (uint32_t)rt_c);
	put_be32(buf + HDR_REFCOUNT_ORDER, 4);
	put_be32(buf + HDR_HEADER_LEN, QCOW2_V3_HDR_LEN + 8);
	if (opts->compression == IMG_COMPRESSION_ZSTD) {
		put_be64(buf + HDR_INCOMPAT, INCOMPAT_COMPRESSION);
		buf[HDR_COMPRESSION_TYPE] = IMG_COMPRESSION_ZSTD;
	}
	if (bfmt) {
		put_be32(buf + ext, EXT_BACKING_FORMAT);
		put_be32(buf + ext + 4, (uint32_t)strlen(bfmt));
		memcpy(buf + ext + 8, bfmt, strlen(bfmt));
		ext += 8 + ((strlen(bfmt) + 7) & ~7ull);
	}
	if (ext + 8 + sizeof(feature_table) / sizeof(feature_table[0]) * 48 + 8 + blen <= cs) {
		size_t n = sizeof(feature_table) / sizeof(feature_table[0]);

		put_be32(buf + ext, EXT_FEATURE_TABLE);
		put_be32(buf + ext + 4, (uint32_t)(n * 48));
		for (size_t i = 0; i < n; i++) {
			buf[ext + 8 + i * 48] = feature_table[i].type;
			buf[ext + 8 + i * 48 + 1] = feature_table[i].bit;
			memcpy(buf + ext + 8 + i * 48 + 2, feature_table[i].name,
			       strlen(feature_table[i].name));
		}
		ext += 8 + n * 48;
	}
	ext += 8;	/* end marker */
	if (blen) {
		if (ext + blen > cs) {
			ret = ERR("backing file name does not fit in a %llu-byte cluster",
				  (unsigned long long)cs);
			goto out;
		}
		put_be64(buf + HDR_BACKING_OFF, ext);
		put_be32(buf + HDR_BACKING_SIZE, (uint32_t)blen);
		memcpy(buf + ext, opts->backing_file, blen);
	}
	ret = img_file_pwrite(fd, buf, cs, 0);
	if (ret)
		goto io;
	/* Refcount table: entries for each refcount block. */
	memset(buf, 0, cs * rt_c);
	for (uint64_t i = 0; i < rb_c; i++)
		put_be64(buf + i * 8, (1 + rt_c + i) * cs);
	ret = img_file_pwrite(fd, buf, cs * rt_c, cs);
	if (ret)
		goto io;
	/* Refcount blocks: one reference for each metadata cluster. */
	memset(buf, 0, cs * rb_c);
	for (uint64_t c = 0; c < meta; c++) {
		buf[c * 2] = 0;
		buf[c * 2 + 1] = 1;
	}
	off = (1 + rt_c) * cs;
	for (uint64_t i = 0; i < rb_c; i++) {
		ret = img_file_pwrite(fd, buf + i * cs, cs, off + i * cs);
		if (ret)
			goto io;
	}
	/* The L1 table stays zero: extend the file over it. */
	if (ftruncate(fd, (off_t)(meta * cs)) < 0 || fsync(fd) < 0) {
		ret = -errno;
		goto io;
	}
	close(fd);
	free(buf);
	return 0;
io:
	img_seterr(err, errlen, "could not write '%s': %s", path, strerror(-ret));
out:
	close(fd);
	unlink(path);
	free(buf);
	return ret < 0 ? ret : -EIO;
}
