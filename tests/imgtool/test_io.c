/* tests/imgtool/test_io.c: library I/O against an in-memory reference: raw and qcow2, every cluster size, threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "img.h"
#include "tap.h"

static char dir[] = "/tmp/imgtool-io.XXXXXX";
static char err[512];

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(uint8_t *p, size_t n)
{
	uint64_t v = rnd();

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 0)
			v = rnd();
		p[i] = (uint8_t)(v >> (8 * (i % 8)));
	}
}

static int same(struct img *img, const uint8_t *ref, uint64_t size)
{
	uint8_t *buf = malloc(size);
	int ok = buf && img_pread(img, buf, size, 0) == 0 && !memcmp(buf, ref, size);

	free(buf);
	return ok;
}

/* Random writes, discards and compressed writes; then reopen and compare. */
static void random_io(enum img_format fmt, uint32_t cs, uint64_t size, int ops)
{
	struct img_create_opts o = { .format = fmt, .size = size, .cluster_size = cs };
	struct img_check_result res;
	struct img_deflate *d = img_deflate_new();
	uint8_t *ref = calloc(1, size), *buf = malloc(cs > (1u << 20) ? cs : (1u << 20)), *cbuf = malloc(cs ? cs : 1);
	char path[256], cmd[600];
	struct img *img;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/r-%s-%u.img", dir, img_format_name(fmt), cs);
	if (!tap_ok(img_create(path, &o, err, sizeof(err)) == 0, "create %s cluster %u: %s",
		    img_format_name(fmt), cs, err))
		return;
	img = img_open(path, fmt, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "open %s", err))
		return;
	for (int i = 0; i < ops && ok; i++) {
		uint64_t kind = rnd() % 10, off = rnd() % size, len = 1 + rnd() % (256 << 10);

		if (len > size - off)
			len = size - off;
		if (kind < 6) {
			fill(buf, len);
			ok = img_pwrite(img, buf, len, off) == 0;
			memcpy(ref + off, buf, len);
		} else if (kind < 7) {
			ok = img_discard(img, off, len) == 0;
			memset(ref + off, 0, len);
		} else if (kind < 8 && cs) {
			/* A compressed cluster: compressible content. */
			uint64_t c = (off / cs) * cs, n = size - c < cs ? size - c : cs;
			size_t cl;

			memset(buf, 0, cs);
			for (uint64_t j = 0; j < n; j += 64)
				buf[j] = (uint8_t)rnd();
			cl = img_deflate_cluster(d, buf, cs, cbuf, cs);
			ok = cl && img_write_compressed(img, c, cbuf, cl) == 0;
			memcpy(ref + c, buf, n);
		} else if (kind < 9) {
			ok = img_flush(img) == 0;
		} else {
			ok = img_pread(img, buf, len, off) == 0 && !memcmp(buf, ref + off, len);
		}
		if (!ok)
			tap_diag("op %d kind %llu off %llu len %llu failed", i, (unsigned long long)kind,
				 (unsigned long long)off, (unsigned long long)len);
	}
	tap_ok(ok, "%s cluster %u: %d random operations match the reference", img_format_name(fmt), cs, ops);
	tap_ok(same(img, ref, size), "%s cluster %u: whole image matches before close", img_format_name(fmt), cs);
	img_close(img);
	img = img_open(path, IMG_FMT_AUTO, 0, err, sizeof(err));
	tap_ok(img && same(img, ref, size), "%s cluster %u: whole image matches after reopen", img_format_name(fmt), cs);
	if (fmt == IMG_FMT_QCOW2 && img) {
		int r = img_check(img, 0, &res, stdout);

		tap_ok(r == 0 && !res.corruptions && !res.leaks,
		       "cluster %u: check finds %llu corruptions, %llu leaks", cs,
		       (unsigned long long)res.corruptions, (unsigned long long)res.leaks);
		img_close(img);
		img = NULL;
		if (system("command -v qemu-img >/dev/null") == 0) {
			snprintf(cmd, sizeof(cmd), "qemu-img check -q %s", path);
			tap_ok(system(cmd) == 0, "cluster %u: qemu-img check passes", cs);
		} else {
			tap_skip("no qemu-img", "cluster %u: qemu-img check", cs);
		}
	}
	img_close(img);
	unlink(path);
	free(ref);
	free(buf);
	free(cbuf);
	img_deflate_free(d);
}

struct thr {
	struct img *img;
	int id;
	int ok;
};

static void *writer(void *arg)
{
	struct thr *t = arg;
	uint8_t buf[8192], chk[8192];

	t->ok = 1;
	/* Each thread owns every 4th 8 KiB block: no overlap, heavy interleaving. */
	for (int i = 0; i < 400 && t->ok; i++) {
		uint64_t blk = (uint64_t)(i * 4 + t->id), off = blk * 8192;

		memset(buf, t->id + 1, sizeof(buf));
		memcpy(buf, &blk, sizeof(blk));
		t->ok = img_pwrite(t->img, buf, sizeof(buf), off) == 0 &&
			img_pread(t->img, chk, sizeof(chk), off) == 0 && !memcmp(buf, chk, sizeof(buf));
		if (i % 50 == 0)
			img_flush(t->img);
	}
	return NULL;
}

static void threads(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 16 << 20, .cluster_size = 4096 };
	struct img_check_result res;
	pthread_t tid[4];
	struct thr t[4];
	char path[256];
	struct img *img;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/threads.qcow2", dir);
	img_create(path, &o, err, sizeof(err));
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "open for threads: %s", err))
		return;
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .img = img, .id = i };
		pthread_create(&tid[i], NULL, writer, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		ok &= t[i].ok;
	}
	tap_ok(ok, "4 threads writing and reading one image concurrently");
	tap_ok(img_check(img, 0, &res, stdout) == 0 && !res.corruptions && !res.leaks,
	       "image written by 4 threads checks clean");
	img_close(img);
}

/* More L2 tables than the cache holds: evictions write dirty tables in order. */
static void eviction(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 200ull << 30 };
	struct img_check_result res;
	enum { N = 400 };
	static uint64_t offs[N];
	uint8_t buf[4096], chk[4096];
	char path[256];
	struct img *img;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/evict.qcow2", dir);
	img_create(path, &o, err, sizeof(err));
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "open a 200 GiB image: %s", err))
		return;
	for (int i = 0; i < N && ok; i++) {
		offs[i] = (rnd() % (o.size / 4096)) * 4096;
		for (int j = 0; j < i; j++)
			if (offs[j] / 65536 == offs[i] / 65536)
				offs[i] = 0;	/* keep one block per cluster */
		memset(buf, i & 0xff, sizeof(buf));
		memcpy(buf, &offs[i], 8);
		ok = img_pwrite(img, buf, sizeof(buf), offs[i]) == 0;
		if (i % 97 == 0)
			ok &= img_flush(img) == 0;
	}
	img_close(img);
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	for (int i = N - 1; i >= 0 && img && ok; i--) {
		int last = i;

		for (int j = i + 1; j < N; j++)
			if (offs[j] == offs[i])
				last = j;
		memset(buf, last & 0xff, sizeof(buf));
		memcpy(buf, &offs[i], 8);
		ok = img_pread(img, chk, sizeof(chk), offs[i]) == 0 && !memcmp(buf, chk, sizeof(buf));
	}
	tap_ok(img && ok, "%d scattered writes over 200 GiB read back after reopen", N);
	tap_ok(img && img_check(img, 0, &res, stdout) == 0 && !res.corruptions && !res.leaks,
	       "scattered image checks clean");
	img_close(img);
	unlink(path);
}

static void api_edges(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 1 << 20 };
	char path[256];
	struct img *img;
	uint8_t b[16];
	uint64_t v;

	snprintf(path, sizeof(path), "%s/edge.qcow2", dir);
	tap_ok(img_create(path, &o, err, sizeof(err)) == 0, "create 1 MiB qcow2");
	tap_ok(img_create(path, &o, err, sizeof(err)) < 0 && strstr(err, "exists"),
	       "create refuses an existing file: %s", err);
	o.force = true;
	tap_ok(img_create(path, &o, err, sizeof(err)) == 0, "create --force overwrites");
	img = img_open(path, IMG_FMT_AUTO, IMG_OPEN_RDONLY, err, sizeof(err));
	tap_ok(img && img_get_format(img) == IMG_FMT_QCOW2, "qcow2 detected by magic");
	tap_ok(img_pwrite(img, b, 16, 0) == -EROFS, "write to a read-only image gives -EROFS");
	tap_ok(img_pread(img, b, 16, (1 << 20) - 8) == -EINVAL, "read past the end gives -EINVAL");
	img_close(img);
	img = img_open(path, IMG_FMT_RAW, IMG_OPEN_RDONLY, err, sizeof(err));
	tap_ok(img && img_get_format(img) == IMG_FMT_RAW && img_get_size(img) == 4 * 65536,
	       "a qcow2 file opened as raw is the file itself (never probed)");
	img_close(img);
	tap_ok(img_parse_size("64K", &v) == 0 && v == 65536 && img_parse_size("1.5G", &v) == 0 &&
	       v == 3ull << 29 && img_parse_size("12x", &v) < 0 && img_parse_size("-1", &v) < 0,
	       "size parser: 64K, 1.5G, rejects 12x and -1");
	o.cluster_size = 3000;
	tap_ok(img_create(path, &o, err, sizeof(err)) < 0, "cluster size 3000 refused: %s", err);
	o.cluster_size = 0;
	o.backing_file = "does-not-exist";
	tap_ok(img_create(path, &o, err, sizeof(err)) < 0, "missing backing file refused: %s", err);
}

/*
 * img_preadv/img_pwritev: scattered buffers in order, for raw (one
 * system call) and qcow2 (the generic loop), checked against img_pread.
 */
static void vectored(enum img_format fmt)
{
	struct img_create_opts o = { .format = fmt, .size = 1 << 20 };
	uint8_t ref[3 * 4096], got[3 * 4096], a[4096], b[512], c[7680];
	struct iovec w[3] = { { ref, 4096 }, { ref + 4096, 512 }, { ref + 4608, 7680 } };
	struct iovec r[3] = { { a, sizeof(a) }, { b, sizeof(b) }, { c, sizeof(c) } };
	struct iovec many[IMG_IOV_MAX + 1];
	const char *name = img_format_name(fmt);
	char path[256];
	struct img *img;

	snprintf(path, sizeof(path), "%s/vec.%s", dir, name);
	fill(ref, sizeof(ref));
	if (img_create(path, &o, err, sizeof(err)) ||
	    !(img = img_open(path, fmt, 0, err, sizeof(err)))) {
		tap_ok(0, "%s: %s", name, err);
		for (int i = 0; i < 3; i++)
			tap_skip("no image", "%s", name);
		return;
	}
	tap_ok(img_pwritev(img, w, 3, 5 * 512) == 0 &&
	       img_pread(img, got, sizeof(ref), 5 * 512) == 0 &&
	       !memcmp(got, ref, sizeof(ref)), "%s: pwritev lands in order", name);
	tap_ok(img_preadv(img, r, 3, 5 * 512) == 0 && !memcmp(a, ref, 4096) &&
	       !memcmp(b, ref + 4096, 512) && !memcmp(c, ref + 4608, 7680),
	       "%s: preadv fills every buffer in order", name);
	for (unsigned int i = 0; i <= IMG_IOV_MAX; i++)
		many[i] = (struct iovec){ b, 1 };
	tap_ok(img_preadv(img, r, 3, (1 << 20) - 4096) == -EINVAL &&
	       img_pwritev(img, many, IMG_IOV_MAX + 1, 0) == -EINVAL &&
	       img_preadv(img, many, -1, 0) == -EINVAL &&
	       img_preadv(img, many, IMG_IOV_MAX, 0) == 0 &&
	       img_preadv(img, r, 0, 1 << 20) == 0,
	       "%s: past the end, too many or a negative count: -EINVAL; %d buffers, none: fine",
	       name, IMG_IOV_MAX);
	if (fmt == IMG_FMT_RAW) {
		/* the file shrunk under the image: what is gone reads as zeros */
		static const uint8_t zero[7680];

		tap_ok(truncate(path, 5 * 512 + 4096 + 100) == 0 &&
		       img_preadv(img, r, 3, 5 * 512) == 0 && !memcmp(a, ref, 4096) &&
		       !memcmp(b, ref + 4096, 100) && !memcmp(b + 100, zero, 412) &&
		       !memcmp(c, zero, sizeof(c)),
		       "raw: preadv across the end of a shrunk file: zeros from there");
	}
	img_close(img);
	img = img_open(path, fmt, IMG_OPEN_RDONLY, err, sizeof(err));
	tap_ok(img && img_pwritev(img, w, 2, 0) == -EROFS,
	       "%s: pwritev to a read-only image gives -EROFS", name);
	if (img)
		img_close(img);
}

int main(void)
{
	static const uint32_t sizes[] = { 512, 4096, 65536, 2u << 20 };

	tap_plan(5 + 4 * 7 + 3 + 3 + 10 + 2 * 4 + 1);
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	random_io(IMG_FMT_RAW, 0, 8 << 20, 300);
	for (unsigned i = 0; i < 4; i++)
		random_io(IMG_FMT_QCOW2, sizes[i], sizes[i] == 512 ? 6 << 20 : 12 << 20, 300);
	threads();
	eviction();
	api_edges();
	vectored(IMG_FMT_RAW);
	vectored(IMG_FMT_QCOW2);
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		if (system(cmd))
			tap_diag("could not remove %s", dir);
	}
	return tap_done();
}
