/* tests/imgtool/test_malformed.c: a corpus of malformed qcow2 images, each refused with a reason, never a crash. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "img.h"
#include "tap.h"

#define CS	65536u
static char dir[] = "/tmp/imgtool-bad.XXXXXX";
static uint8_t *base;		/* a valid image: header, reftable, refblock, L1, L2, data */
static size_t base_len;

static void p32(uint8_t *b, size_t off, uint32_t v) { v = htobe32(v); memcpy(b + off, &v, 4); }
static void p64(uint8_t *b, size_t off, uint64_t v) { v = htobe64(v); memcpy(b + off, &v, 8); }

static void write_file(const char *path, const uint8_t *b, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, b, n) != (ssize_t)n)
		tap_diag("could not write %s", path);
	close(fd);
}

/* Open a mutated copy; it must fail with a reason. */
static void refused(const char *name, void (*mutate)(uint8_t *b, size_t *len), unsigned flags)
{
	uint8_t *b = malloc(base_len + 4 * CS);
	size_t len = base_len;
	char path[256], err[512] = "";
	struct img *img;

	memcpy(b, base, base_len);
	memset(b + base_len, 0, 4 * CS);
	mutate(b, &len);
	snprintf(path, sizeof(path), "%s/bad.qcow2", dir);
	write_file(path, b, len);
	img = img_open(path, IMG_FMT_QCOW2, flags, err, sizeof(err));
	tap_ok(!img && err[0], "%s: refused (%s)", name, err);
	img_close(img);
	free(b);
}

/* Opens (the damage is in a table read later) but reads fail with -EIO. */
static void read_fails(const char *name, void (*mutate)(uint8_t *b, size_t *len), uint64_t off)
{
	uint8_t *b = malloc(base_len + 4 * CS), buf[4096];
	size_t len = base_len;
	char path[256], err[512] = "";
	struct img *img;
	int ret = 0;

	memcpy(b, base, base_len);
	memset(b + base_len, 0, 4 * CS);
	mutate(b, &len);
	snprintf(path, sizeof(path), "%s/bad.qcow2", dir);
	write_file(path, b, len);
	img = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY, err, sizeof(err));
	if (img)
		ret = img_pread(img, buf, sizeof(buf), off);
	tap_ok(!img ? err[0] != 0 : ret == -EIO, "%s: %s", name,
	       img ? (ret == -EIO ? "read gives -EIO" : "read did not fail") : err);
	img_close(img);
	free(b);
}

#define M(name, body) static void name(uint8_t *b, size_t *len) { (void)b; (void)len; body; }
M(bad_magic, p32(b, 0, 0x514649fa))
M(version1, p32(b, 4, 1))
M(version4, p32(b, 4, 4))
M(cbits8, p32(b, 20, 8))
M(cbits22, p32(b, 20, 22))
M(cbits_huge, p32(b, 20, 0xffffffffu))
M(crypt_method, p32(b, 32, 1))
M(hdrlen_short, p32(b, 100, 72))
M(hdrlen_big, p32(b, 100, CS + 8))
M(rorder7, p32(b, 96, 7))
M(size_huge, p64(b, 24, 1ull << 63))
M(size_vs_l1, p64(b, 24, 1ull << 40))
M(l1_size_huge, p32(b, 36, 0x10000000))
M(l1_unaligned, p64(b, 40, 3 * CS + 512))
M(l1_past_eof, p64(b, 40, 100 * CS))
M(l1_2_56, p64(b, 40, 1ull << 56))
M(l1_zero, p64(b, 40, 0))
M(l1_on_rt, p64(b, 40, CS))
M(rt_unaligned, p64(b, 48, CS + 8))
M(rt_past_eof, p64(b, 48, 1000 * CS))
M(rt_2_56, p64(b, 48, 1ull << 57))
M(rt_zero_off, p64(b, 48, 0))
M(rt_zero_clusters, p32(b, 56, 0))
M(rt_huge, p32(b, 56, 0x100000))
M(rt_overlaps_l1, p64(b, 48, 3 * CS); p32(b, 56, 1))
M(snap_many, p32(b, 60, 0x7fffffff))
M(snap_past_eof, p32(b, 60, 2); p64(b, 64, 1000 * CS))
M(incompat_unknown, p64(b, 72, 1ull << 5))
M(incompat_top, p64(b, 72, 1ull << 63))
M(incompat_datafile, p64(b, 72, 1ull << 2))
M(incompat_extl2, p64(b, 72, 1ull << 4))
M(ctype_unknown, p64(b, 72, 1ull << 3); b[104] = 2)
M(ctype_bit_zlib, p64(b, 72, 1ull << 3))
M(ctype_bit_short_hdr, p64(b, 72, 1ull << 3); b[104] = 1; p32(b, 100, 104))
M(ctype_no_bit, b[104] = 1)
M(corrupt_rw, p64(b, 72, 1ull << 1))
M(backing_long, p64(b, 8, 1024); p32(b, 16, 2000); memset(b + 1024, 'a', 2000))
M(backing_past, p64(b, 8, CS - 10); p32(b, 16, 100))
M(backing_in_hdr, p64(b, 8, 16); p32(b, 16, 8))
M(backing_nul, p64(b, 8, 2048); p32(b, 16, 8); memcpy(b + 2048, "ab\0cdefg", 8))
M(backing_missing, p64(b, 8, 2048); p32(b, 16, 7); memcpy(b + 2048, "nothere", 7))
M(backing_self, p64(b, 8, 2048); p32(b, 16, 8); memcpy(b + 2048, "bad.qcow2", 9); p32(b, 16, 9))
M(ext_overflow, p32(b, 112, 0x12345678); p32(b, 116, 0xfffffff0))
M(ext_bfmt_long, p32(b, 112, 0xe2792aca); p32(b, 116, 200))
M(l1e_past_eof, p64(b, 3 * CS, (500ull * CS) | (1ull << 63)))
M(l1e_unaligned, p64(b, 3 * CS, (4ull * CS + 4096) | (1ull << 63)))
M(l1e_on_rt, p64(b, 3 * CS, CS | (1ull << 63)))
M(l1e_on_l1, p64(b, 3 * CS, (3ull * CS) | (1ull << 63)))
M(l1e_reserved, p64(b, 3 * CS, (4ull * CS) | (1ull << 63) | 2))
M(rte_past_eof, p64(b, CS, 700ull * CS))
M(rte_on_l1, p64(b, CS, 3ull * CS))
M(rte_unaligned, p64(b, CS, 2ull * CS + 24))
M(rte_2_56, p64(b, CS, 1ull << 56))
M(truncated_hdr, *len = 40)
M(truncated_l1, *len = 3 * CS + 4)
/* Damage found only when reading: L2 entries. */
M(l2e_on_rt, p64(b, 4 * CS, CS | (1ull << 63)))
M(l2e_unaligned, p64(b, 4 * CS, (5ull * CS + 512) | (1ull << 63)))
M(l2e_on_hdr_compressed, p64(b, 4 * CS, (1ull << 62) | 100))

/* A compressed cluster at 5*CS: whole, truncated by the file end, or oversized. */
static void put_compressed(uint8_t *b, size_t *len, size_t plain, size_t keep)
{
	uint8_t *in = calloc(1, plain), out[8192];
	z_stream z = { 0 };
	size_t n;
	uint64_t nsec;

	for (size_t i = 0; i < plain; i += 7)
		in[i] = (uint8_t)i;
	deflateInit2(&z, 6, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY);
	z.next_in = in;
	z.avail_in = (uInt)plain;
	z.next_out = out;
	z.avail_out = sizeof(out);
	deflate(&z, Z_FINISH);
	n = sizeof(out) - z.avail_out;
	deflateEnd(&z);
	memcpy(b + 5 * CS, out, n);
	nsec = (n + 511) / 512 - 1;
	/* 64 KiB clusters: x = 62 - (16 - 8) = 54. */
	p64(b, 4 * CS, (1ull << 62) | (nsec << 54) | (5ull * CS));
	*len = 5 * CS + (keep < n ? keep : n);
	free(in);
}
M(compressed_truncated, put_compressed(b, len, CS, 200))
M(compressed_oversized, put_compressed(b, len, 3 * CS, 1 << 20))
M(compressed_short, put_compressed(b, len, CS / 2, 1 << 20))

/*
 * Snapshot tables. The table goes at 6*CS and a snapshot's L1 table at
 * 7*CS; the file is extended to 8*CS to hold them.
 */
static size_t put_snap(uint8_t *b, size_t off, uint64_t l1_off, uint32_t l1_size,
		       const char *name, uint32_t extra)
{
	size_t nl = strlen(name);

	p64(b, off, l1_off);
	p32(b, off + 8, l1_size);
	b[off + 13] = 1;			/* ID "1" */
	b[off + 14] = (uint8_t)(nl >> 8);
	b[off + 15] = (uint8_t)nl;
	p32(b, off + 36, extra);
	if (extra >= 16)
		p64(b, off + 48, 1 << 20);	/* disk_size */
	b[off + 40 + extra] = '1';
	memcpy(b + off + 41 + extra, name, nl);
	return (41 + extra + nl + 7) & ~7ul;
}

static void snaps_at(uint8_t *b, size_t *len, uint32_t n, uint64_t off)
{
	p32(b, 60, n);
	p64(b, 64, off);
	*len = 8 * CS;
}

M(snap_good, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 7 * CS, 1, "s", 24))
M(snap_unaligned, snaps_at(b, len, 1, 6 * CS + 8); put_snap(b, 6 * CS + 8, 7 * CS, 1, "s", 24))
M(snap_in_header, snaps_at(b, len, 1, 0))
M(snap_on_l1, snaps_at(b, len, 1, 3 * CS))
M(snap_on_rt, snaps_at(b, len, 1, CS))
M(snap_65537, snaps_at(b, len, 65537, 6 * CS))
M(snap_entry_truncated, snaps_at(b, len, 2, 6 * CS);
  size_t l = put_snap(b, 6 * CS, 0, 0, "a name", 200);
  *len = 6 * CS + l + 20)
M(snap_name_past_eof, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 7 * CS, 1, "s", 24);
  b[6 * CS + 14] = 0xff; b[6 * CS + 15] = 0xff; *len = 6 * CS + 4096)
M(snap_extra_huge, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 7 * CS, 1, "s", 24);
  p32(b, 6 * CS + 36, 5000))
M(snap_l1_huge, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 7 * CS, 0x10000000, "s", 24))
M(snap_l1_unaligned, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 7 * CS + 8, 1, "s", 24))
M(snap_l1_past_eof, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 100 * CS, 1, "s", 24))
M(snap_l1_zero, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 0, 1, "s", 24))
M(snap_l1_2_56, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 1ull << 56, 1, "s", 24))
M(snap_l1_on_rt, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, CS, 1, "s", 24))
M(snap_l1_on_l1, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 3 * CS, 1, "s", 24))
M(snap_l1_on_table, snaps_at(b, len, 1, 6 * CS); put_snap(b, 6 * CS, 6 * CS, 1, "s", 24))
M(snap_l1_shared, snaps_at(b, len, 2, 6 * CS);
  size_t l = put_snap(b, 6 * CS, 7 * CS, 1, "s", 24);
  put_snap(b, 6 * CS + l, 7 * CS, 1, "t", 24))
/* Damage found only when a snapshot is applied or deleted: its L1 and L2 entries. */
M(snl1e_past_eof, snap_good(b, len); p64(b, 7 * CS, 500ull * CS))
M(snl1e_unaligned, snap_good(b, len); p64(b, 7 * CS, 4ull * CS + 4096))
M(snl1e_reserved, snap_good(b, len); p64(b, 7 * CS, (4ull * CS) | 2))
M(snl1e_on_rt, snap_good(b, len); p64(b, 7 * CS, CS))
/* An L2 table at 8*CS, refcounted (16-bit entries in the block at 2*CS), pointing past the file. */
M(snl2e_past_eof, snap_good(b, len); *len = 9 * CS; p64(b, 7 * CS, 8ull * CS); b[2 * CS + 17] = 1;
  p64(b, 8 * CS, 900ull * CS))
M(snl2e_on_l1, snap_good(b, len); *len = 9 * CS; p64(b, 7 * CS, 8ull * CS); b[2 * CS + 17] = 1;
  p64(b, 8 * CS, 3ull * CS))
M(snl2e_unaligned, snap_good(b, len); *len = 9 * CS; p64(b, 7 * CS, 8ull * CS); b[2 * CS + 17] = 1;
  p64(b, 8 * CS, 5ull * CS + 512))
M(snl2_unrefcounted, snap_good(b, len); *len = 9 * CS; p64(b, 7 * CS, 8ull * CS);
  p64(b, 8 * CS, 5ull * CS))

/* Opens, but applying and deleting the snapshot are refused with a reason, and the file is unchanged. */
static void verb_refused(const char *name, void (*mutate)(uint8_t *b, size_t *len))
{
	uint8_t *b = malloc(base_len + 4 * CS), *after = malloc(base_len + 4 * CS);
	size_t len = base_len;
	char path[256], err[512] = "", err_a[512] = "", err_d[512] = "";
	struct img *img;
	int ra = 0, rd = 0, fd;
	bool same = false;

	memcpy(b, base, base_len);
	memset(b + base_len, 0, 4 * CS);
	mutate(b, &len);
	snprintf(path, sizeof(path), "%s/bad.qcow2", dir);
	write_file(path, b, len);
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (img) {
		ra = img_snapshot_apply(img, "1", err_a, sizeof(err_a));
		rd = img_snapshot_delete(img, "s", err_d, sizeof(err_d));
		img_close(img);
		fd = open(path, O_RDONLY);
		same = read(fd, after, base_len + 4 * CS) == (ssize_t)len && !memcmp(after, b, len);
		close(fd);
	}
	tap_ok(img && ra < 0 && rd < 0 && err_a[0] && err_d[0] && same,
	       "%s: apply refused (%s), delete refused (%s), file %s", name,
	       img ? err_a : err, err_d, same ? "unchanged" : "changed");
	free(b);
	free(after);
}

/*
 * The same cluster in a zstd image (incompatible bit 3, type byte 1): nframes
 * frames of plain/nframes bytes each, garbage bytes after them, cut at keep.
 * With content_size 0 the frames do not record their size.
 */
static void put_zstd(uint8_t *b, size_t *len, size_t plain, int nframes, size_t garbage,
		     size_t keep, int content_size)
{
	uint8_t *in = calloc(1, plain), out[16384];
	ZSTD_CCtx *c = ZSTD_createCCtx();
	size_t n = 0;
	uint64_t nsec;

	for (size_t i = 0; i < plain; i += 7)
		in[i] = (uint8_t)i;
	ZSTD_CCtx_setParameter(c, ZSTD_c_contentSizeFlag, content_size);
	for (int f = 0; f < nframes; f++)
		n += ZSTD_compress2(c, out + n, sizeof(out) - n, in + f * (plain / nframes), plain / nframes);
	ZSTD_freeCCtx(c);
	for (size_t i = 0; i < garbage; i++)
		out[n++] = (uint8_t)(0xa5 ^ i);
	p64(b, 72, 1ull << 3);
	b[104] = 1;
	memcpy(b + 5 * CS, out, n);
	nsec = (n + 511) / 512 - 1;
	p64(b, 4 * CS, (1ull << 62) | (nsec << 54) | (5ull * CS));
	*len = 5 * CS + (keep < n ? keep : n);
	free(in);
}
M(zstd_truncated, put_zstd(b, len, CS, 1, 0, 100, 1))
M(zstd_oversized, put_zstd(b, len, 3 * CS, 1, 0, 1 << 20, 1))
M(zstd_short, put_zstd(b, len, CS / 2, 1, 0, 1 << 20, 1))
M(zstd_short_no_size, put_zstd(b, len, CS / 2, 1, 0, 1 << 20, 0))
M(zstd_short_then_garbage, put_zstd(b, len, CS / 2, 1, 300, 1 << 20, 1))
M(zstd_oversized_no_size, put_zstd(b, len, CS + 512, 1, 0, 1 << 20, 0))
M(zstd_frames_short, put_zstd(b, len, CS / 2, 2, 0, 1 << 20, 1))
M(zstd_bad_magic, put_zstd(b, len, CS, 1, 0, 1 << 20, 1); b[5 * CS] ^= 0xff)
/* The header claims more content than the blocks hold (byte 5: low byte of the content size). */
M(zstd_size_lies, put_zstd(b, len, CS, 1, 0, 1 << 20, 1); b[5 * CS + 4] = 0x20)
M(zstd_zlib_image, put_zstd(b, len, CS, 1, 0, 1 << 20, 1); p64(b, 72, 0); b[104] = 0)

/* Controls: the same clusters, intact, read back whole. */
M(zlib_good, put_compressed(b, len, CS, 1 << 20))
M(zstd_good, put_zstd(b, len, CS, 1, 0, 1 << 20, 1))
M(zstd_good_then_garbage, put_zstd(b, len, CS, 1, 700, 1 << 20, 1))
M(zstd_good_two_frames, put_zstd(b, len, CS, 2, 0, 1 << 20, 1))
M(zstd_good_no_size, put_zstd(b, len, CS, 1, 0, 1 << 20, 0))

static void reads_back(const char *name, void (*mutate)(uint8_t *b, size_t *len))
{
	uint8_t *b = calloc(1, 8 * CS), *buf = malloc(CS);
	size_t len = base_len;
	char path[256], err[512] = "";
	struct img *img;
	int ok = 0, ret = 0;

	memcpy(b, base, base_len);
	mutate(b, &len);
	snprintf(path, sizeof(path), "%s/good.qcow2", dir);
	write_file(path, b, len);
	img = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY, err, sizeof(err));
	if (img && (ret = img_pread(img, buf, CS, 0)) == 0) {
		ok = 1;
		for (size_t i = 0; i < CS && ok; i++)
			ok = buf[i] == (i % 7 ? 0 : (uint8_t)i);
	}
	tap_ok(ok, "control: %s reads back (%s)", name, img ? (ret ? strerror(-ret) : "read") : err);
	img_close(img);
	free(buf);
	free(b);
}

static int make_base(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 1 << 20 };
	char path[256], err[512];
	struct img *img;
	uint8_t data[512];
	int fd;

	snprintf(path, sizeof(path), "%s/base.qcow2", dir);
	if (img_create(path, &o, err, sizeof(err)) < 0)
		return -1;
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!img)
		return -1;
	memset(data, 0x5a, sizeof(data));
	img_pwrite(img, data, sizeof(data), 0);		/* L2 at 4*CS, data at 5*CS */
	img_close(img);
	base = calloc(1, 8 * CS);
	fd = open(path, O_RDONLY);
	base_len = (size_t)read(fd, base, 8 * CS);
	close(fd);
	return base_len == 6 * CS ? 0 : -1;
}

int main(void)
{
	struct { const char *name; void (*fn)(uint8_t *, size_t *); } open_bad[] = {
#define E(f) { #f, f }
		E(bad_magic), E(version1), E(version4), E(cbits8), E(cbits22), E(cbits_huge),
		E(crypt_method), E(hdrlen_short), E(hdrlen_big), E(rorder7), E(size_huge), E(size_vs_l1),
		E(l1_size_huge), E(l1_unaligned), E(l1_past_eof), E(l1_2_56), E(l1_zero), E(l1_on_rt),
		E(rt_unaligned), E(rt_past_eof), E(rt_2_56), E(rt_zero_off), E(rt_zero_clusters),
		E(rt_huge), E(rt_overlaps_l1), E(snap_many), E(snap_past_eof), E(incompat_unknown),
		E(incompat_top), E(incompat_datafile), E(incompat_extl2), E(ctype_unknown), E(ctype_bit_zlib),
		E(ctype_bit_short_hdr), E(ctype_no_bit),
		E(backing_long), E(backing_past), E(backing_in_hdr), E(backing_nul), E(backing_missing),
		E(backing_self), E(ext_overflow), E(ext_bfmt_long), E(l1e_past_eof), E(l1e_unaligned),
		E(l1e_on_rt), E(l1e_on_l1), E(l1e_reserved), E(rte_past_eof), E(rte_on_l1),
		E(rte_unaligned), E(rte_2_56), E(truncated_hdr), E(truncated_l1),
		E(snap_unaligned), E(snap_in_header), E(snap_on_l1), E(snap_on_rt), E(snap_65537),
		E(snap_entry_truncated), E(snap_name_past_eof), E(snap_extra_huge), E(snap_l1_huge),
		E(snap_l1_unaligned), E(snap_l1_past_eof), E(snap_l1_zero), E(snap_l1_2_56), E(snap_l1_on_rt),
		E(snap_l1_on_l1), E(snap_l1_on_table), E(snap_l1_shared),
	};
	struct { const char *name; void (*fn)(uint8_t *, size_t *); } read_bad[] = {
		E(l2e_on_rt), E(l2e_unaligned), E(l2e_on_hdr_compressed), E(compressed_truncated),
		E(compressed_oversized), E(compressed_short),
		E(zstd_truncated), E(zstd_oversized), E(zstd_short), E(zstd_short_no_size),
		E(zstd_short_then_garbage), E(zstd_oversized_no_size), E(zstd_frames_short),
		E(zstd_bad_magic), E(zstd_size_lies), E(zstd_zlib_image),
	};
	struct { const char *name; void (*fn)(uint8_t *, size_t *); } verb_bad[] = {
		E(snl1e_past_eof), E(snl1e_unaligned), E(snl1e_reserved), E(snl1e_on_rt), E(snl2e_past_eof),
		E(snl2_unrefcounted), E(snl2e_on_l1), E(snl2e_unaligned),
	};
	size_t no = sizeof(open_bad) / sizeof(open_bad[0]), nr = sizeof(read_bad) / sizeof(read_bad[0]);
	size_t nv = sizeof(verb_bad) / sizeof(verb_bad[0]);
	char cmd[300];
	int i0;

	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	tap_plan((int)(no + nr + nv + 8));
	i0 = make_base();
	tap_ok(i0 == 0, "base image has the expected layout (%zu bytes)", base_len);
	for (size_t i = 0; i < no; i++)
		refused(open_bad[i].name, open_bad[i].fn, 0);
	refused("corrupt bit, read-write", corrupt_rw, 0);
	for (size_t i = 0; i < nr; i++)
		read_fails(read_bad[i].name, read_bad[i].fn, 0);
	for (size_t i = 0; i < nv; i++)
		verb_refused(verb_bad[i].name, verb_bad[i].fn);
	{
		/* The well-formed table those start from opens and lists its snapshot. */
		uint8_t *b = malloc(base_len + 4 * CS);
		size_t len = base_len;
		char path[256], err[512] = "";
		struct img_snapshot *l = NULL;
		struct img *img;
		int n = -1;

		memcpy(b, base, base_len);
		memset(b + base_len, 0, 4 * CS);
		snap_good(b, &len);
		snprintf(path, sizeof(path), "%s/good.qcow2", dir);
		write_file(path, b, len);
		img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
		if (img)
			n = img_snapshot_list(img, &l, err, sizeof(err));
		tap_ok(n == 1 && !strcmp(l[0].id, "1") && !strcmp(l[0].name, "s"),
		       "control: a well-formed snapshot table opens and lists (%s)", err);
		img_snapshot_list_free(l, n);
		img_close(img);
		free(b);
	}
	reads_back("zlib cluster", zlib_good);
	reads_back("zstd cluster", zstd_good);
	reads_back("zstd cluster, garbage after the frame", zstd_good_then_garbage);
	reads_back("zstd cluster in two frames", zstd_good_two_frames);
	reads_back("zstd cluster, frame without its content size", zstd_good_no_size);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	free(base);
	return tap_done();
}
