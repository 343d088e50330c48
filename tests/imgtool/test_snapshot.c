/* tests/imgtool/test_snapshot.c: internal snapshots against an in-memory model: create, apply, delete, writes between them, refcounts after each. */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img.h"
#include "tap.h"

#define MAX_SNAPS	8

static char dir[] = "/tmp/imgtool-snap.XXXXXX";
static char err[512];
static bool have_qemu;

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 24);
}

static bool same(struct img *img, const uint8_t *ref, uint64_t size)
{
	uint8_t *buf = malloc(size);
	bool ok = buf && img_get_size(img) == size && img_pread(img, buf, size, 0) == 0 &&
		  !memcmp(buf, ref, size);

	free(buf);
	return ok;
}

/* Refcounts exact: no corruption, no leak; qemu-img agrees when present. */
static bool clean(struct img *img, const char *path, const char *when)
{
	struct img_check_result r;
	char cmd[400];
	int ret = img_check(img, 0, &r, stdout);

	if (ret || r.corruptions || r.leaks) {
		tap_diag("%s: check returned %d, %llu corruptions, %llu leaks", when, ret,
			 (unsigned long long)r.corruptions, (unsigned long long)r.leaks);
		return false;
	}
	if (!have_qemu || !path)
		return true;
	snprintf(cmd, sizeof(cmd), "qemu-img check -q -U %s", path);
	if (system(cmd)) {
		tap_diag("%s: qemu-img check fails", when);
		return false;
	}
	return true;
}

static int count(struct img *img)
{
	struct img_snapshot *l;
	int n = img_snapshot_list(img, &l, err, sizeof(err));

	img_snapshot_list_free(l, n);
	return n;
}

/* The basic cycle on one cluster size, step by step. */
static void basic(uint32_t cs)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 4u << 20, .cluster_size = cs };
	uint64_t size = o.size;
	uint8_t *a = malloc(size), *b = malloc(size), *buf = malloc(size);
	struct img_deflate *d = img_deflate_new();
	struct img_snapshot *l = NULL;
	char path[256];
	struct img *img;
	int n;

	snprintf(path, sizeof(path), "%s/basic-%u.qcow2", dir, cs);
	img_create(path, &o, err, sizeof(err));
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "cluster %u: open: %s", cs, err))
		return;
	/* State A: data, a compressed cluster, a hole. */
	memset(a, 0, size);
	fill(a, size / 2);
	memset(a + size / 2, 0x5a, cs);
	img_pwrite(img, a, size / 2, 0);
	{
		uint8_t *cbuf = malloc(cs);
		size_t cl = img_deflate_cluster(d, a + size / 2, cs, cbuf, cs);

		img_write_compressed(img, size / 2, cbuf, cl);
		free(cbuf);
	}
	tap_ok(count(img) == 0, "cluster %u: a new image has no snapshots", cs);
	tap_ok(img_snapshot_create(img, "A", err, sizeof(err)) == 0, "cluster %u: create A: %s", cs, err);
	n = img_snapshot_list(img, &l, err, sizeof(err));
	tap_ok(n == 1 && !strcmp(l[0].id, "1") && !strcmp(l[0].name, "A") && l[0].disk_size == size &&
	       l[0].vm_state_size == 0 && l[0].icount == 0 && l[0].date_sec,
	       "cluster %u: list shows ID 1, name A, the disk size", cs);
	img_snapshot_list_free(l, n);
	tap_ok(clean(img, path, "after create"), "cluster %u: refcounts exact after create", cs);

	/* State B: partial, whole and compressed-cluster overwrites, a discard. */
	memcpy(b, a, size);
	fill(b + 1000, 3 * cs);
	fill(b + size / 2 + 100, 10);
	memset(b + size / 4, 0, 2 * cs);
	img_pwrite(img, b + 1000, 3 * cs, 1000);
	img_pwrite(img, b + size / 2 + 100, 10, size / 2 + 100);
	img_discard(img, size / 4, 2 * cs);
	tap_ok(same(img, b, size), "cluster %u: writes after the snapshot read back", cs);
	tap_ok(clean(img, path, "after writes"), "cluster %u: refcounts exact after copy-on-write", cs);

	/* Back to A, by name; then B is gone but A can be written again. */
	tap_ok(img_snapshot_apply(img, "A", err, sizeof(err)) == 0 && same(img, a, size),
	       "cluster %u: apply A restores its data: %s", cs, err);
	tap_ok(clean(img, path, "after apply"), "cluster %u: refcounts exact after apply", cs);
	img_pwrite(img, b, cs, 0);
	img_pread(img, buf, cs, 0);
	tap_ok(!memcmp(buf, b, cs) && clean(img, path, "after apply+write"),
	       "cluster %u: a write after apply leaves the snapshot alone", cs);
	tap_ok(img_snapshot_apply(img, "1", err, sizeof(err)) == 0 && same(img, a, size),
	       "cluster %u: apply by ID 1 restores A again: %s", cs, err);

	/* Delete; the data stays, refcounts drop, COPIED comes back. */
	img_close(img);
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	tap_ok(img && count(img) == 1 && same(img, a, size), "cluster %u: reopens with A and its data", cs);
	tap_ok(img_snapshot_delete(img, "1", err, sizeof(err)) == -ENOENT && err[0],
	       "cluster %u: delete takes a name, not an ID: %s", cs, err);
	tap_ok(img_snapshot_delete(img, "A", err, sizeof(err)) == 0 && count(img) == 0 &&
	       same(img, a, size), "cluster %u: delete A: %s", cs, err);
	tap_ok(clean(img, path, "after delete"), "cluster %u: refcounts and flags exact after delete", cs);
	img_close(img);
	unlink(path);
	free(a);
	free(b);
	free(buf);
	img_deflate_free(d);
}

/* Random writes, discards, compressed writes and snapshot operations against a model. */
static void random_model(uint32_t cs, uint64_t size, int ops)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = size, .cluster_size = cs };
	struct img_deflate *d = img_deflate_new();
	uint8_t *cur = calloc(1, size), *buf = malloc(size), *cbuf = malloc(cs);
	uint8_t *snap[MAX_SNAPS] = { 0 };
	char names[MAX_SNAPS][16];
	int nsnap = 0, serial = 0, bad = 0, nops[4] = { 0 };
	char path[256];
	struct img *img;

	snprintf(path, sizeof(path), "%s/model-%u.qcow2", dir, cs);
	img_create(path, &o, err, sizeof(err));
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "cluster %u: open: %s", cs, err))
		return;
	for (int i = 0; i < ops && !bad; i++) {
		uint64_t k = rnd() % 16, off = rnd() % size, len = 1 + rnd() % (8 * cs);
		int ret = 0;

		if (len > size - off)
			len = size - off;
		if (k < 6) {
			fill(buf, len);
			ret = img_pwrite(img, buf, len, off);
			memcpy(cur + off, buf, len);
		} else if (k < 7) {
			ret = img_discard(img, off, len);
			memset(cur + off, 0, len);
		} else if (k < 8) {
			uint64_t c = off / cs * cs, m = size - c < cs ? size - c : cs;
			size_t cl;

			memset(buf, 0, cs);
			for (uint64_t j = 0; j < m; j += 32)
				buf[j] = (uint8_t)rnd();
			cl = img_deflate_cluster(d, buf, cs, cbuf, cs);
			ret = cl ? img_write_compressed(img, c, cbuf, cl) : img_pwrite(img, buf, m, c);
			memcpy(cur + c, buf, m);
		} else if (k < 11 && nsnap < MAX_SNAPS) {
			snprintf(names[nsnap], sizeof(names[nsnap]), "s%d", serial++);
			ret = img_snapshot_create(img, names[nsnap], err, sizeof(err));
			snap[nsnap] = malloc(size);
			memcpy(snap[nsnap++], cur, size);
			nops[0]++;
		} else if (k < 13 && nsnap) {
			int j = (int)(rnd() % (uint64_t)nsnap);

			ret = img_snapshot_apply(img, names[j], err, sizeof(err));
			memcpy(cur, snap[j], size);
			nops[1]++;
		} else if (k < 15 && nsnap) {
			int j = (int)(rnd() % (uint64_t)nsnap);

			ret = img_snapshot_delete(img, names[j], err, sizeof(err));
			free(snap[j]);
			snap[j] = snap[nsnap - 1];
			memcpy(names[j], names[nsnap - 1], sizeof(names[j]));
			nsnap--;
			nops[2]++;
		} else {
			ret = img_flush(img);
			nops[3]++;
		}
		if (ret) {
			tap_diag("op %d (kind %llu) failed: %d %s", i, (unsigned long long)k, ret, err);
			bad++;
		} else if (k >= 8 && !same(img, cur, size)) {
			tap_diag("op %d (kind %llu): data differs from the model", i, (unsigned long long)k);
			bad++;
		} else if (k >= 8 && !clean(img, NULL, "random op")) {
			tap_diag("op %d (kind %llu): refcounts not exact", i, (unsigned long long)k);
			bad++;
		}
	}
	tap_ok(!bad, "cluster %u: %d random operations (%d creates, %d applies, %d deletes) match the model",
	       cs, ops, nops[0], nops[1], nops[2]);
	tap_ok(count(img) == nsnap && same(img, cur, size) && clean(img, path, "end"),
	       "cluster %u: %d snapshots left, data and refcounts exact, qemu-img agrees", cs, nsnap);
	/* Every remaining snapshot holds its data: apply each in turn. */
	bad = 0;
	for (int j = 0; j < nsnap; j++)
		if (img_snapshot_apply(img, names[j], err, sizeof(err)) || !same(img, snap[j], size))
			bad++;
	tap_ok(!bad && clean(img, path, "apply all"), "cluster %u: each remaining snapshot applies to its data", cs);
	while (nsnap)
		free(snap[--nsnap]);
	img_close(img);
	unlink(path);
	free(cur);
	free(buf);
	free(cbuf);
	img_deflate_free(d);
}

/* What must fail, fails with a reason and changes nothing. */
static void refusals(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 1 << 20 };
	struct img_create_opts r = { .format = IMG_FMT_RAW, .size = 1 << 20 };
	struct img_snapshot *l;
	char path[256], rpath[256], *longname;
	struct img *img;
	int n;

	snprintf(path, sizeof(path), "%s/refuse.qcow2", dir);
	snprintf(rpath, sizeof(rpath), "%s/refuse.raw", dir);
	img_create(path, &o, err, sizeof(err));
	img_create(rpath, &r, err, sizeof(err));

	img = img_open(rpath, IMG_FMT_RAW, 0, err, sizeof(err));
	tap_ok(img && img_snapshot_create(img, "x", err, sizeof(err)) == -ENOTSUP && strstr(err, "raw"),
	       "raw: create refused: %s", err);
	tap_ok(img && img_snapshot_apply(img, "x", err, sizeof(err)) == -ENOTSUP &&
	       img_snapshot_delete(img, "x", err, sizeof(err)) == -ENOTSUP, "raw: apply and delete refused");
	tap_ok(img && img_snapshot_list(img, &l, err, sizeof(err)) == 0 && !l, "raw: lists no snapshots");
	img_close(img);

	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	img_snapshot_create(img, "keep", err, sizeof(err));
	img_close(img);
	img = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY, err, sizeof(err));
	tap_ok(img && img_snapshot_create(img, "x", err, sizeof(err)) == -EROFS,
	       "read-only image: create refused: %s", err);
	img_close(img);
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	tap_ok(img_snapshot_apply(img, "nosuch", err, sizeof(err)) == -ENOENT && strstr(err, "nosuch"),
	       "apply of a missing snapshot: %s", err);
	tap_ok(img_snapshot_delete(img, "nosuch", err, sizeof(err)) == -ENOENT && strstr(err, "nosuch"),
	       "delete of a missing snapshot: %s", err);
	longname = malloc(70000);
	memset(longname, 'n', 69999);
	longname[69999] = '\0';
	tap_ok(img_snapshot_create(img, longname, err, sizeof(err)) == -EINVAL,
	       "a 69999-byte name is refused: %s", err);
	longname[65535] = '\0';
	tap_ok(img_snapshot_create(img, longname, err, sizeof(err)) == 0,
	       "a 65535-byte name is taken: %s", err);
	free(longname);
	/* Duplicate names are allowed, as in qemu-img; delete takes the first. */
	tap_ok(img_snapshot_create(img, "keep", err, sizeof(err)) == 0, "a duplicate name is taken");
	n = img_snapshot_list(img, &l, err, sizeof(err));
	tap_ok(n == 3 && !strcmp(l[0].id, "1") && !strcmp(l[1].id, "2") && !strcmp(l[2].id, "3"),
	       "IDs count up: 1, 2, 3");
	img_snapshot_list_free(l, n);
	img_snapshot_delete(img, "keep", err, sizeof(err));
	n = img_snapshot_list(img, &l, err, sizeof(err));
	tap_ok(n == 2 && !strcmp(l[0].id, "2") && !strcmp(l[1].id, "3") && !strcmp(l[1].name, "keep"),
	       "delete by a duplicate name takes the first");
	img_snapshot_list_free(l, n);
	img_snapshot_create(img, "next", err, sizeof(err));
	n = img_snapshot_list(img, &l, err, sizeof(err));
	tap_ok(n == 3 && !strcmp(l[2].id, "4"), "a new ID is one past the highest (%s)", n == 3 ? l[2].id : "?");
	img_snapshot_list_free(l, n);
	tap_ok(clean(img, path, "refusals"), "refcounts exact after the refusals");
	img_close(img);
	unlink(path);
	unlink(rpath);
}

/* A snapshot of a different disk size: apply restores the size too; resize works in between. */
static void sizes(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 2 << 20, .cluster_size = 4096 };
	uint8_t *a = malloc(2 << 20), *buf = malloc(8 << 20);
	char path[256];
	struct img *img;

	snprintf(path, sizeof(path), "%s/sizes.qcow2", dir);
	img_create(path, &o, err, sizeof(err));
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	fill(a, 2 << 20);
	img_pwrite(img, a, 2 << 20, 0);
	img_snapshot_create(img, "small", err, sizeof(err));
	tap_ok(img_resize(img, 8 << 20, false, err, sizeof(err)) == 0, "grow an image with a snapshot: %s", err);
	fill(buf, 8 << 20);
	img_pwrite(img, buf, 8 << 20, 0);
	img_snapshot_create(img, "big", err, sizeof(err));
	tap_ok(clean(img, path, "resize"), "refcounts exact after grow and write");
	tap_ok(img_snapshot_apply(img, "small", err, sizeof(err)) == 0 && img_get_size(img) == (2 << 20) &&
	       same(img, a, 2 << 20), "apply restores the 2 MiB size and data: %s", err);
	tap_ok(clean(img, path, "apply small"), "refcounts exact after apply to a smaller disk");
	tap_ok(img_snapshot_apply(img, "big", err, sizeof(err)) == 0 && img_get_size(img) == (8 << 20) &&
	       same(img, buf, 8 << 20), "apply restores the 8 MiB size and data: %s", err);
	img_close(img);
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	tap_ok(img && img_get_size(img) == (8 << 20) && same(img, buf, 8 << 20) &&
	       clean(img, path, "reopen"), "the size survives a reopen");
	img_close(img);
	unlink(path);
	free(a);
	free(buf);
}

/* COPIED flags wrongly set on shared clusters (another tool's doing) must not let a write into a snapshot. */
static void wrong_flags(void)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = 1 << 20 };
	uint8_t a[4096], b[4096], buf[4096], be[8];
	uint64_t l1_off, l1e, l2e;
	char path[256];
	struct img *img;
	int fd, ok = 0;

	snprintf(path, sizeof(path), "%s/flags.qcow2", dir);
	img_create(path, &o, err, sizeof(err));
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	fill(a, sizeof(a));
	fill(b, sizeof(b));
	img_pwrite(img, a, sizeof(a), 0);
	img_snapshot_create(img, "s", err, sizeof(err));
	img_close(img);
	/* Set COPIED on the first L1 entry and on the first entry of its L2 table. */
	fd = open(path, O_RDWR);
	if (pread(fd, be, 8, 40) == 8) {
		l1_off = be64toh(*(uint64_t *)be);
		if (pread(fd, be, 8, (off_t)l1_off) == 8) {
			l1e = be64toh(*(uint64_t *)be) | (1ull << 63);
			*(uint64_t *)be = htobe64(l1e);
			ok = pwrite(fd, be, 8, (off_t)l1_off) == 8 &&
			     pread(fd, be, 8, (off_t)(l1e & 0x00fffffffffffe00ull)) == 8;
			l2e = be64toh(*(uint64_t *)be) | (1ull << 63);
			*(uint64_t *)be = htobe64(l2e);
			ok = ok && pwrite(fd, be, 8, (off_t)(l1e & 0x00fffffffffffe00ull)) == 8;
		}
	}
	close(fd);
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	tap_ok(ok && img && img_pwrite(img, b, sizeof(b), 0) == 0 && img_pread(img, buf, sizeof(buf), 0) == 0 &&
	       !memcmp(buf, b, sizeof(b)), "a write under wrongly set COPIED flags lands");
	tap_ok(img && img_snapshot_apply(img, "s", err, sizeof(err)) == 0 &&
	       img_pread(img, buf, sizeof(buf), 0) == 0 && !memcmp(buf, a, sizeof(a)),
	       "and the snapshot still holds its data: the refcount overrules the flags");
	img_close(img);
	unlink(path);
}

int main(void)
{
	static const uint32_t cs[] = { 512, 4096, 65536 };

	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	have_qemu = system("command -v qemu-img >/dev/null") == 0;
	tap_plan(3 * 15 + 3 * 4 + 13 + 6 + 2);
	for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
		basic(cs[i]);
	random_model(512, 256 << 10, 400);
	random_model(4096, 1 << 20, 400);
	random_model(65536, 4 << 20, 200);
	refusals();
	sizes();
	wrong_flags();
	if (!have_qemu)
		tap_diag("qemu-img not installed: its checks were skipped");
	rmdir(dir);
	return tap_done();
}
