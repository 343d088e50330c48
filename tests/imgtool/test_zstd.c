/* tests/imgtool/test_zstd.c: the zstd cluster codec: frames as qemu writes and reads them, malformed input, and zstd images through the library. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "img.h"
#include "img_int.h"
#include "tap.h"

static char dir[] = "/tmp/imgtool-zstd.XXXXXX";
static char err[512];

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Compressible: words from a small vocabulary, runs of zeros, a few random bytes. */
static void fill_text(uint8_t *p, size_t n)
{
	static const char *words[] = { "cluster ", "qcow2 ", "refcount ", "zstd ", "frame ", "\n", "\0\0\0\0" };

	for (size_t i = 0; i < n;) {
		const char *w = words[rnd() % 7];
		size_t l = w[0] ? strlen(w) : 4;

		for (size_t j = 0; j < l && i < n; j++)
			p[i++] = (uint8_t)w[j];
		if (rnd() % 50 == 0 && i < n)
			p[i++] = (uint8_t)rnd();
	}
}

static void fill_random(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)rnd();
}

/* Encode and decode one cluster of each size; the frame is an ordinary one. */
static void round_trips(void)
{
	static const size_t sizes[] = { 512, 4096, 65536, 2u << 20 };
	struct img_zstd *z = img_zstd_new();

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t cs = sizes[k], n;
		uint8_t *in = malloc(cs), *out = malloc(cs), *back = malloc(cs);
		unsigned long long fcs;
		int ok;

		fill_text(in, cs);
		n = img_zstd_cluster(z, in, cs, out, cs);
		tap_ok(n > 0 && n < cs / 2, "%zu-byte text cluster compresses (%zu bytes)", cs, n);
		fcs = ZSTD_getFrameContentSize(out, n);
		tap_ok(fcs == cs, "the frame records its content size, as qemu's do (%llu)", fcs);
		ok = ZSTD_decompress(back, cs, out, n) == cs && !memcmp(back, in, cs);
		tap_ok(ok, "%zu-byte cluster: plain libzstd decodes it", cs);
		memset(back, 0xee, cs);
		ok = img_zstd_decompress(z, back, cs, out, n) == 0 && !memcmp(back, in, cs);
		tap_ok(ok, "%zu-byte cluster: the cluster decoder decodes it", cs);
		free(in);
		free(out);
		free(back);
	}
	img_zstd_free(z);
}

/*
 * A kept context must start each cluster afresh: after an input that did
 * not fit, the next frame stands alone.
 */
static void kept_context(void)
{
	enum { CS = 65536 };
	struct img_zstd *z = img_zstd_new();
	uint8_t *in = malloc(CS), *out = malloc(CS), *back = malloc(CS);
	size_t n;

	fill_random(in, CS);
	n = img_zstd_cluster(z, in, CS, out, CS);
	tap_ok(n == 0, "random data does not shrink: 0, the cluster is stored as is");
	n = img_zstd_cluster(z, in, CS, out, 100);
	tap_ok(n == 0, "an output limit below the frame size gives 0");
	fill_text(in, CS);
	n = img_zstd_cluster(z, in, CS, out, CS);
	tap_ok(n > 0 && ZSTD_decompress(back, CS, out, n) == CS && !memcmp(in, back, CS),
	       "the next cluster after those is a frame of its own (%zu bytes)", n);
	memset(in, 0, CS);
	n = img_zstd_cluster(z, in, CS, out, CS);
	tap_ok(n > 0 && n < 64 && ZSTD_decompress(back, CS, out, n) == CS && !memcmp(in, back, CS),
	       "a zero cluster is a few bytes (%zu)", n);
	img_zstd_free(z);
	free(in);
	free(out);
	free(back);
}

/* Frames the way qemu makes them: a fresh context, one streaming call. */
static size_t qemu_style(const void *in, size_t len, void *out, size_t outlen)
{
	ZSTD_CCtx *c = ZSTD_createCCtx();
	ZSTD_outBuffer o = { out, outlen, 0 };
	ZSTD_inBuffer i = { in, len, 0 };
	size_t r = ZSTD_compressStream2(c, &o, &i, ZSTD_e_end);

	ZSTD_freeCCtx(c);
	return ZSTD_isError(r) || r ? 0 : o.pos;
}

static void decoder(void)
{
	enum { CS = 65536 };
	struct img_zstd *z = img_zstd_new();
	uint8_t *in = malloc(2 * CS), *buf = malloc(2 * CS + 8), *back = malloc(2 * CS);
	size_t n, m;

	fill_text(in, 2 * CS);
	n = qemu_style(in, CS, buf, CS - 1);
	tap_ok(n && img_zstd_decompress(z, back, CS, buf, n) == 0 && !memcmp(back, in, CS),
	       "a frame made as qemu makes them decodes");
	/* The sector's tail after the frame: old data, anything. */
	fill_random(buf + n, 511);
	tap_ok(img_zstd_decompress(z, back, CS, buf, n + 511) == 0 && !memcmp(back, in, CS),
	       "bytes after the frame are ignored");
	tap_ok(img_zstd_decompress(z, back, CS, buf, n - 1) == -EIO, "a frame cut short: -EIO");
	tap_ok(img_zstd_decompress(z, back, CS, buf, 0) == -EIO, "no input: -EIO");
	tap_ok(img_zstd_decompress(z, back, CS / 2, buf, n + 511) == -EIO,
	       "a frame holding more than the cluster: -EIO");
	tap_ok(img_zstd_decompress(z, back, 2 * CS, buf, n) == -EIO,
	       "a frame holding less than the cluster: -EIO");
	memset(buf + n, 0, 64);
	tap_ok(img_zstd_decompress(z, back, 2 * CS, buf, n + 64) == -EIO,
	       "a frame holding less than the cluster, zeros after it: -EIO");
	buf[0] ^= 1;
	tap_ok(img_zstd_decompress(z, back, CS, buf, n) == -EIO, "bad magic: -EIO");
	buf[0] ^= 1;
	/* Two frames, each half the cluster. */
	n = qemu_style(in, CS / 2, buf, CS);
	m = qemu_style(in + CS / 2, CS / 2, buf + n, CS);
	tap_ok(n && m && img_zstd_decompress(z, back, CS, buf, n + m) == 0 && !memcmp(back, in, CS),
	       "two frames filling the cluster decode, as qemu's reader allows");
	/* A skippable frame first. */
	memmove(buf + 16, buf, n + m);
	memcpy(buf, "\x50\x2a\x4d\x18\x08\x00\x00\x00" "skipthis", 16);
	tap_ok(img_zstd_decompress(z, back, CS, buf, n + m + 16) == 0 && !memcmp(back, in, CS),
	       "a skippable frame before the data is skipped");
	/* Random bytes never read or write out of bounds (ASan watches). */
	for (int i = 0; i < 2000; i++) {
		size_t len = rnd() % 300;

		fill_random(buf, len);
		if (i % 2) {	/* a valid header on random blocks */
			n = qemu_style(in, CS, buf, CS);
			len = n;
			for (int j = 0; j < 4; j++)
				buf[6 + rnd() % (n - 6)] = (uint8_t)rnd();
		}
		m = (size_t)img_zstd_decompress(z, back, CS, buf, len);
		(void)m;
	}
	tap_ok(1, "2000 random and damaged inputs decode or fail without a crash");
	img_zstd_free(z);
	free(in);
	free(buf);
	free(back);
}

/* A zstd image through the library: compressed writes, reopen, check. */
static void image(uint32_t cs)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 8 << 20, .cluster_size = cs,
				     .compression = IMG_COMPRESSION_ZSTD };
	struct img_check_result res;
	struct img_zstd *z = img_zstd_new();
	struct img_info info;
	uint8_t *ref = calloc(1, o.size), *buf = malloc(cs), *cbuf = malloc(cs);
	char path[256], cmd[600];
	struct img *img;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/z-%u.qcow2", dir, cs);
	if (!tap_ok(img_create(path, &o, err, sizeof(err)) == 0, "create a zstd image, cluster %u: %s", cs, err))
		return;
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "open it: %s", err))
		return;
	img_get_info(img, &info);
	tap_ok(info.compression == IMG_COMPRESSION_ZSTD, "info reports zstd");
	for (uint64_t off = 0; off < o.size && ok; off += cs) {
		size_t n;

		if (rnd() % 3 == 0)
			continue;	/* a hole */
		fill_text(ref + off, cs);
		n = img_zstd_cluster(z, ref + off, cs, cbuf, cs);
		ok = n ? img_write_compressed(img, off, cbuf, n) == 0
		       : img_pwrite(img, ref + off, cs, off) == 0;
		if (ok && rnd() % 8 == 0) {	/* overwrite part of it: copy on write */
			fill_random(ref + off + cs / 4, cs / 8);
			ok = img_pwrite(img, ref + off + cs / 4, cs / 8, off + cs / 4) == 0;
		}
	}
	tap_ok(ok, "cluster %u: compressed writes and overwrites", cs);
	img_close(img);
	img = img_open(path, IMG_FMT_AUTO, IMG_OPEN_RDONLY, err, sizeof(err));
	ok = img != NULL;
	for (uint64_t off = 0; off < o.size && ok; off += cs)
		ok = img_pread(img, buf, cs, off) == 0 && !memcmp(buf, ref + off, cs);
	tap_ok(ok, "cluster %u: every cluster reads back after reopening", cs);
	ok = img && img_check(img, 0, &res, stdout) == 0 && !res.corruptions && !res.leaks;
	tap_ok(ok && res.compressed_clusters > 0, "cluster %u: check is clean, %llu compressed clusters",
	       cs, ok ? (unsigned long long)res.compressed_clusters : 0ull);
	img_close(img);
	if (system("command -v qemu-img >/dev/null") == 0) {
		snprintf(cmd, sizeof(cmd), "qemu-img check -q %s", path);
		tap_ok(system(cmd) == 0, "cluster %u: qemu-img check passes", cs);
	} else {
		tap_skip("no qemu-img", "cluster %u: qemu-img check", cs);
	}
	img_zstd_free(z);
	free(ref);
	free(buf);
	free(cbuf);
}

int main(void)
{
	char cmd[300];

	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	tap_plan(16 + 4 + 11 + 3 * 7);
	round_trips();
	kept_context();
	decoder();
	image(512);
	image(4096);
	image(65536);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done();
}
