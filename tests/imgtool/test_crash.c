/* tests/imgtool/test_crash.c: kill a qcow2 writer at random points; cut commit, rebase, amend and snapshot create, delete and apply before each write; only leaks may remain and flushed data survives. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "img.h"
#include "tap.h"

#define BLK		65536u		/* = cluster size: every op allocates or frees */
#define NBLK		256u
/* One block per L2 table (64 KiB clusters map 512 MiB each): four times the
 * 64 tables the cache holds, so dirty tables get evicted mid-batch too. */
#define STRIDE		((512ull << 20) + BLK)
#define OPS_PER_BATCH	6
#define ROUNDS		12

enum { OP_WRITE, OP_COMPRESSED, OP_DISCARD, OP_PARTIAL };

struct op {
	unsigned kind;
	uint32_t blk;
};

static uint64_t rng_state;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* The ops of batch b are a pure function of (seed, b): the parent replays them. */
static void batch_ops(uint64_t seed, uint64_t b, struct op *ops)
{
	rng_state = seed * 0x9e3779b97f4a7c15ull + b * 0xbf58476d1ce4e5b9ull + 1;
	for (int i = 0; i < OPS_PER_BATCH; i++) {
		uint64_t r = rnd();

		ops[i].blk = (uint32_t)(r % NBLK);
		ops[i].kind = (r >> 32) % 10 < 5 ? OP_WRITE : (r >> 32) % 10 < 7 ? OP_COMPRESSED :
			      (r >> 32) % 10 < 8 ? OP_DISCARD : OP_PARTIAL;
	}
}

static void stamp(uint8_t *p, uint64_t b, uint32_t blk, unsigned kind)
{
	for (unsigned i = 0; i < BLK; i++)
		p[i] = (uint8_t)(b * 31 + blk * 7 + i);
	memcpy(p, &b, 8);
	memcpy(p + 8, &blk, 4);
	if (kind == OP_PARTIAL)		/* only the first half is written */
		memset(p + BLK / 2, 0xee, BLK / 2);
}

/*
 * Crash injection: this pwrite() takes the place of libc's for the library
 * linked into this test, and ends the writer just before its Nth write, so a
 * crash lands exactly between two writes instead of wherever a timer falls.
 * With torn_write set the Nth write is cut instead: the first half of it, in
 * whole sectors, reaches the file. write_count, when set, counts the writes
 * and keeps the length of the first WRITE_LOG of them after it.
 */
#define WRITE_LOG	1000
static long crash_before = -1, nwrites;
static bool torn_write;
static volatile long *write_count;

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (crash_before >= 0 && ++nwrites >= crash_before) {
		if (torn_write && n / 2 >= 512)
			syscall(SYS_pwrite64, fd, buf, n / 2 / 512 * 512, off);
		_exit(9);
	}
	if (write_count && ++*write_count <= WRITE_LOG)
		write_count[*write_count] = (long)n;
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

static void writer(const char *path, uint64_t seed, volatile uint64_t *flushed)
{
	struct img_deflate *d = img_deflate_new();
	uint8_t buf[BLK], cbuf[BLK];
	char err[256];
	struct img *img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	struct op ops[OPS_PER_BATCH];

	if (!img || !d)
		_exit(2);
	for (uint64_t b = *flushed + 1;; b++) {
		batch_ops(seed, b, ops);
		for (int i = 0; i < OPS_PER_BATCH; i++) {
			uint64_t off = (uint64_t)ops[i].blk * STRIDE;
			size_t cl;
			int ret = 0;

			stamp(buf, b, ops[i].blk, OP_WRITE);
			switch (ops[i].kind) {
			case OP_WRITE:
				ret = img_pwrite(img, buf, BLK, off);
				break;
			case OP_COMPRESSED:
				cl = img_deflate_cluster(d, buf, BLK, cbuf, BLK);
				ret = cl ? img_write_compressed(img, off, cbuf, cl) : img_pwrite(img, buf, BLK, off);
				break;
			case OP_DISCARD:
				ret = img_discard(img, off, BLK);
				break;
			case OP_PARTIAL:
				ret = img_pwrite(img, buf, BLK / 2, off);
				break;
			}
			if (ret)
				_exit(3);
		}
		if (img_flush(img))
			_exit(4);
		*flushed = b;
	}
}

/* Block contents after batch b, given the contents before it (in place). */
static void apply(uint8_t *img, uint64_t seed, uint64_t b)
{
	struct op ops[OPS_PER_BATCH];
	uint8_t buf[BLK];

	batch_ops(seed, b, ops);
	for (int i = 0; i < OPS_PER_BATCH; i++) {
		uint8_t *blk = img + (uint64_t)ops[i].blk * BLK;

		stamp(buf, b, ops[i].blk, OP_WRITE);
		if (ops[i].kind == OP_DISCARD)
			memset(blk, 0, BLK);
		else if (ops[i].kind == OP_PARTIAL)
			memcpy(blk, buf, BLK / 2);
		else
			memcpy(blk, buf, BLK);
	}
}


/* ---- commit, rebase and amend cut short before each of their writes ---- */

#define CC		4096u		/* cluster size: small tables, every cluster a write */
#define TOP_NCL		64u
#define BASE_NCL	56u		/* smaller than the top: commit grows it first */
#define CHAIN_POINTS	10		/* TAP points of chain_tests() */

enum chain_op { OP_COMMIT, OP_REBASE, OP_REBASE_STANDALONE, OP_REFCOUNT_BITS, OP_DOWNGRADE };

static const char *const op_name[] = {
	"commit", "rebase", "rebase -b \"\"", "amend refcount_bits=8", "amend compat=0.10",
};

static void fill(uint8_t *p, unsigned seed)
{
	for (unsigned i = 0; i < CC; i++)
		p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 8));
}

static int make_image(const char *path, uint64_t ncl, const char *backing)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = ncl * CC, .cluster_size = CC,
				     .backing_file = backing, .backing_format = IMG_FMT_QCOW2 };
	char err[256];

	return img_create(path, &o, err, sizeof(err));
}

/* base <- top, and new (the rebase target): data, compressed, zero and half-written clusters. */
static int make_chain(const char *dir)
{
	struct img_deflate *d = img_deflate_new();
	uint8_t buf[CC], cbuf[CC];
	char path[1024], err[256];
	const char *names[] = { "base.qcow2", "new.qcow2", "top.qcow2" };
	int ret = 0;

	for (int f = 0; f < 3 && !ret; f++) {
		struct img *img;

		snprintf(path, sizeof(path), "%s/%s", dir, names[f]);
		ret = make_image(path, f == 0 ? BASE_NCL : TOP_NCL, f == 2 ? "base.qcow2" : NULL);
		img = ret ? NULL : img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
		if (!img || !d)
			return -1;
		for (uint32_t c = 0; c < (f == 0 ? BASE_NCL : TOP_NCL) && !ret; c++) {
			uint64_t off = (uint64_t)c * CC;
			size_t cl;

			if (f == 0 && c % 3 == 0) {
				fill(buf, 1000 + c);
				ret = img_pwrite(img, buf, CC, off);
			} else if (f == 0 && c % 7 == 1) {
				fill(buf, 1500 + c);
				cl = img_deflate_cluster(d, buf, CC, cbuf, CC);
				ret = cl ? img_write_compressed(img, off, cbuf, cl) : -1;
			} else if (f == 1 && c % 2 == 0) {
				fill(buf, c % 3 == 0 ? 1000 + c : 2000 + c);	/* some equal to base */
				ret = img_pwrite(img, buf, CC, off);
			} else if (f == 2 && c % 4 == 1) {
				fill(buf, 3000 + c);
				ret = img_pwrite(img, buf, CC, off);
			} else if (f == 2 && c % 6 == 2) {
				ret = img_discard(img, off, CC);		/* a zero cluster over base */
			} else if (f == 2 && c % 9 == 4) {
				fill(buf, 4000 + c);
				cl = img_deflate_cluster(d, buf, CC, cbuf, CC);
				ret = cl ? img_write_compressed(img, off, cbuf, cl) : -1;
			} else if (f == 2 && c % 11 == 3) {
				fill(buf, 5000 + c);
				ret = img_pwrite(img, buf, CC / 2, off);
			}
		}
		if (img_flush(img))
			ret = -1;
		img_close(img);
	}
	img_deflate_free(d);
	return ret;
}

/* Say why into why; returns -1. */
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Whole contents of an image read through its chain (NULL if it does not open). */
static uint8_t *read_all(const char *path, unsigned flags, uint64_t *size, char *err, size_t errlen)
{
	struct img *img = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY | flags, err, errlen);
	uint8_t *buf;

	if (!img)
		return NULL;
	*size = img_get_size(img);
	buf = malloc(*size);
	if (buf && img_pread(img, buf, *size, 0)) {
		snprintf(err, errlen, "read error");
		free(buf);
		buf = NULL;
	}
	img_close(img);
	return buf;
}

static int copy_file(const char *from, const char *to)
{
	uint8_t buf[65536];
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
	size_t n;
	int ret = in && out ? 0 : -1;

	while (!ret && (n = fread(buf, 1, sizeof(buf), in)) > 0)
		ret = fwrite(buf, 1, n, out) == n ? 0 : -1;
	if (in)
		fclose(in);
	if (out && fclose(out))
		ret = -1;
	return ret;
}

static volatile long *write_count;	/* where the uncut run reports its writes */

static void run_op(const char *dir, enum chain_op op)
{
	struct img_amend_opts ao = { .lazy_refcounts = -1 };
	char path[1024], err[256];
	struct img *top;

	snprintf(path, sizeof(path), "%s/top.qcow2", dir);
	top = img_open(path, IMG_FMT_QCOW2, op >= OP_REFCOUNT_BITS ? IMG_OPEN_NO_BACKING : 0,
		       err, sizeof(err));
	if (!top)
		_exit(2);
	if (op == OP_REFCOUNT_BITS)
		ao.refcount_bits = 8;
	if (op == OP_DOWNGRADE)
		ao.compat = 2;
	if ((op == OP_COMMIT && img_commit(top, 1, true, NULL, NULL, err, sizeof(err))) ||
	    (op == OP_REBASE && img_rebase(top, "new.qcow2", IMG_FMT_QCOW2, NULL, NULL, err, sizeof(err))) ||
	    (op == OP_REBASE_STANDALONE && img_rebase(top, "", IMG_FMT_AUTO, NULL, NULL, err, sizeof(err))) ||
	    (op >= OP_REFCOUNT_BITS && img_amend(top, &ao, err, sizeof(err))))
		_exit(3);
	img_close(top);
	if (write_count)
		*write_count = nwrites;
	_exit(0);
}

/* What the images hold after a cut: check at most leaks, the top reads as before, base old or new per cluster. */
static int verify(const char *dir, enum chain_op op, const uint8_t *top0, const uint8_t *base0,
		  char *why, size_t whylen)
{
	const char *files[] = { "top.qcow2", "base.qcow2" };
	struct img_check_result res;
	char path[1024], err[256];
	uint64_t size, bsize;
	uint8_t *got;

	for (int f = 0; f < 2; f++) {
		struct img *img;

		snprintf(path, sizeof(path), "%s/%s", dir, files[f]);
		img = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY | IMG_OPEN_NO_BACKING, err, sizeof(err));
		if (!img)
			return fail(why, whylen, "%s does not open: %s", files[f], err);
		if (img_check(img, 0, &res, NULL) || res.corruptions || res.check_errors) {
			img_close(img);
			return fail(why, whylen, "%s: %llu corruptions", files[f],
					(unsigned long long)res.corruptions);
		}
		img_close(img);
	}
	snprintf(path, sizeof(path), "%s/top.qcow2", dir);
	got = read_all(path, 0, &size, err, sizeof(err));
	if (!got)
		return fail(why, whylen, "top does not open with its chain: %s", err);
	if (size != TOP_NCL * CC || memcmp(got, top0, size)) {
		free(got);
		return fail(why, whylen, "top no longer reads as before");
	}
	free(got);
	if (op != OP_COMMIT)
		return 0;
	snprintf(path, sizeof(path), "%s/base.qcow2", dir);
	got = read_all(path, IMG_OPEN_NO_BACKING, &bsize, err, sizeof(err));
	if (!got)
		return fail(why, whylen, "base does not read: %s", err);
	for (uint64_t c = 0; c < bsize / CC; c++) {
		static const uint8_t zero[CC];
		const uint8_t *old = c < BASE_NCL ? base0 + c * CC : zero;

		if (memcmp(got + c * CC, old, CC) && memcmp(got + c * CC, top0 + c * CC, CC)) {
			free(got);
			return fail(why, whylen, "base cluster %llu is neither old nor new",
					(unsigned long long)c);
		}
	}
	free(got);
	return 0;
}

/* After the uncut run: the operation did what it says. */
static int final_state(const char *dir, enum chain_op op, const uint8_t *top0, char *why, size_t whylen)
{
	struct img_info in;
	char path[1024], err[256];
	uint64_t size, run;
	uint8_t *got;
	struct img *top;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/top.qcow2", dir);
	top = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY | IMG_OPEN_NO_BACKING, err, sizeof(err));
	if (!top)
		return fail(why, whylen, "top does not open: %s", err);
	img_get_info(top, &in);
	if (op == OP_COMMIT && (img_is_allocated(top, 0, TOP_NCL * CC, &run) != 0 || run != TOP_NCL * CC))
		ret = fail(why, whylen, "the top still allocates clusters");
	if (op == OP_REBASE && (strcmp(in.backing_file, "new.qcow2") || strcmp(in.backing_format, "qcow2")))
		ret = fail(why, whylen, "backing file '%s' (%s)", in.backing_file, in.backing_format);
	if (op == OP_REBASE_STANDALONE && in.backing_file[0])
		ret = fail(why, whylen, "backing file '%s' left", in.backing_file);
	if (op == OP_REFCOUNT_BITS && in.refcount_bits != 8)
		ret = fail(why, whylen, "refcount_bits %d", in.refcount_bits);
	if (op == OP_DOWNGRADE && in.qcow2_version != 2)
		ret = fail(why, whylen, "version %d", in.qcow2_version);
	img_close(top);
	if (ret || op != OP_COMMIT)
		return ret;
	snprintf(path, sizeof(path), "%s/base.qcow2", dir);
	got = read_all(path, 0, &size, err, sizeof(err));
	if (!got || size != TOP_NCL * CC || memcmp(got, top0, size))
		ret = fail(why, whylen, "the base does not read as the top did");
	free(got);
	return ret;
}

static void chain_tests(const char *dir)
{
	static char tmpl[512], work[512];
	volatile long *count = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	uint8_t *top0, *base0;
	uint64_t size;
	char err[256], path[1024], from[1100], to[1100];

	snprintf(tmpl, sizeof(tmpl), "%s/tmpl", dir);
	snprintf(work, sizeof(work), "%s/work", dir);
	if (mkdir(tmpl, 0700) || mkdir(work, 0700) || make_chain(tmpl)) {
		for (int i = 0; i < CHAIN_POINTS; i++)
			tap_ok(0, "chain fixture could not be made");
		return;
	}
	snprintf(path, sizeof(path), "%s/top.qcow2", tmpl);
	top0 = read_all(path, 0, &size, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/base.qcow2", tmpl);
	base0 = read_all(path, 0, &size, err, sizeof(err));
	for (enum chain_op op = OP_COMMIT; op <= OP_DOWNGRADE; op++) {
		long writes = 0, cuts = 0, bad = 0;
		char why[1024] = "";
		int status;
		pid_t pid;

		/* Cut 0 is the uncut run: it counts the writes, then is checked like the rest. */
		for (long cut = 0; cut == 0 || cut <= writes; cut++) {
			for (int f = 0; f < 3; f++) {
				const char *n[] = { "base.qcow2", "new.qcow2", "top.qcow2" };

				snprintf(from, sizeof(from), "%s/%s", tmpl, n[f]);
				snprintf(to, sizeof(to), "%s/%s", work, n[f]);
				copy_file(from, to);
			}
			*count = 0;
			pid = fork();
			if (pid == 0) {
				crash_before = cut ? cut : LONG_MAX;
				nwrites = 0;
				write_count = count;
				run_op(work, op);
			}
			waitpid(pid, &status, 0);
			if (cut == 0) {
				writes = *count;
				tap_ok(final_state(work, op, top0, why, sizeof(why)) == 0, "%s uncut: done %s",
				       op_name[op], why);
				why[0] = '\0';
				if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
					snprintf(why, sizeof(why), "the uncut run failed (status 0x%x)", status);
					bad++;
				}
			} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 9) {
				snprintf(why, sizeof(why), "cut %ld: status 0x%x", cut, status);
				bad++;
			}
			cuts++;
			if (verify(work, op, top0, base0, why, sizeof(why)) < 0) {
				bad++;
				tap_diag("%s cut before write %ld: %s", op_name[op], cut, why);
			}
		}
		tap_ok(writes > 0 && bad == 0, "%s cut before each of its %ld writes: images open, check finds at most leaks, the top reads as before%s (%ld bad)",
		       op_name[op], writes, op == OP_COMMIT ? ", base clusters old or new" : "", bad);
		(void)cuts;
	}
	free(top0);
	free(base0);
	for (int f = 0; f < 3; f++) {
		const char *n[] = { "base.qcow2", "new.qcow2", "top.qcow2" };

		snprintf(from, sizeof(from), "%s/%s", tmpl, n[f]);
		snprintf(to, sizeof(to), "%s/%s", work, n[f]);
		unlink(from);
		unlink(to);
	}
	rmdir(tmpl);
	rmdir(work);
}

/* ---- snapshot create, delete and apply, cut at every write ---- */

/*
 * Small clusters: create and delete update 16 L2 tables and 4 refcount
 * blocks, each one write that can be torn between its two sectors.
 */
#define SN_CS		1024u
#define SN_SIZE		(2u << 20)

enum { SN_CREATE, SN_DELETE, SN_APPLY };
static const char *const sn_op_name[] = { "create", "delete", "apply" };

/* The image each cut starts from: snapshot "old" holds d_old; d0 is written over part of it. */
static int snap_base(const char *path, uint8_t *d_old, uint8_t *d0)
{
	struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = SN_SIZE, .cluster_size = SN_CS };
	struct img_deflate *d = img_deflate_new();
	uint8_t cbuf[SN_CS];
	char err[256];
	struct img *img;
	int ret;

	if (img_create(path, &o, err, sizeof(err)) || !(img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err))))
		return -1;
	rng_state = 0x1234567;
	for (uint32_t i = 0; i < SN_SIZE; i++)
		d_old[i] = (i / 4096) % 5 == 4 ? 0 : (uint8_t)rnd();
	ret = img_pwrite(img, d_old, SN_SIZE, 0);
	for (uint32_t c = 16; c < SN_SIZE / SN_CS && !ret; c += 97) {
		uint8_t *p = d_old + (uint64_t)c * SN_CS;
		size_t cl;

		memset(p, (int)c, SN_CS);
		cl = img_deflate_cluster(d, p, SN_CS, cbuf, SN_CS);
		ret = cl ? img_write_compressed(img, (uint64_t)c * SN_CS, cbuf, cl) :
			   img_pwrite(img, p, SN_CS, (uint64_t)c * SN_CS);
	}
	if (!ret)
		ret = img_snapshot_create(img, "old", err, sizeof(err));
	memcpy(d0, d_old, SN_SIZE);
	for (uint32_t i = 0; i < SN_SIZE / 2; i += 3)
		d0[i] = (uint8_t)rnd();
	memset(d0 + 600000, 0, 50000);
	if (!ret)
		ret = img_pwrite(img, d0, SN_SIZE / 2, 0);
	if (!ret)
		ret = img_discard(img, 600000, 50000);
	img_close(img);
	img_deflate_free(d);
	return ret;
}

/* Run the operation on path, ended before write cut (-1: never); count writes into count if set. */
static int snap_run(const char *path, int op, long cut, bool torn, volatile long *count)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		char err[256];
		struct img *img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
		int ret;

		if (!img)
			_exit(2);
		write_count = count;
		torn_write = torn;
		nwrites = 0;
		crash_before = cut;
		ret = op == SN_CREATE ? img_snapshot_create(img, "new", err, sizeof(err)) :
		      op == SN_DELETE ? img_snapshot_delete(img, "old", err, sizeof(err)) :
					img_snapshot_apply(img, "old", err, sizeof(err));
		if (ret)
			_exit(3);
		img_close(img);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

struct snap_outcome {
	int dirty, leaked, new_state;
};

/* What a cut left behind: NULL if acceptable, else why not. */
static const char *snap_verify(const char *path, int op, const uint8_t *d_old, const uint8_t *d0,
			       uint8_t *buf, struct snap_outcome *out, char *why, size_t whylen)
{
	struct img_check_result res;
	struct img_snapshot *l;
	struct img_info info;
	char err[256];
	struct img *img = img_open(path, IMG_FMT_QCOW2, IMG_OPEN_RDONLY, err, sizeof(err));
	bool old_state, new_state;
	int n;

	/*
	 * Read-only, as found: the snapshots and the disk's data are as before or
	 * as after (apply changes the data, the others the snapshots).
	 */
	if (!img)
		return snprintf(why, whylen, "does not open: %s", err), why;
	if (img_pread(img, buf, SN_SIZE, 0)) {
		img_close(img);
		return "the disk does not read";
	}
	n = img_snapshot_list(img, &l, err, sizeof(err));
	old_state = n == 1 && !strcmp(l[0].name, "old") && !memcmp(buf, d0, SN_SIZE);
	if (op == SN_CREATE)
		new_state = n == 2 && !strcmp(l[0].name, "old") && !strcmp(l[1].name, "new") &&
			    !memcmp(buf, d0, SN_SIZE);
	else if (op == SN_DELETE)
		new_state = n == 0 && !memcmp(buf, d0, SN_SIZE);
	else
		new_state = n == 1 && !strcmp(l[0].name, "old") && !memcmp(buf, d_old, SN_SIZE);
	img_snapshot_list_free(l, n);
	img_get_info(img, &info);
	if (!old_state && !new_state) {
		img_close(img);
		return snprintf(why, whylen, "%d snapshots and the data: neither the state before nor after", n), why;
	}
	out->new_state += new_state;
	out->dirty += info.dirty;
	if (img_check(img, 0, &res, NULL) || (!info.dirty && res.corruptions)) {
		img_close(img);
		return snprintf(why, whylen, "check finds %llu corruptions, the dirty bit clear",
				(unsigned long long)res.corruptions), why;
	}
	out->leaked += res.leaks > 0;
	img_close(img);

	/* Read-write: open repairs a dirty image, check -r leaks drops leaks; then all is exact. */
	img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
	if (!img)
		return snprintf(why, whylen, "does not open read-write: %s", err), why;
	if (img_check(img, IMG_CHECK_FIX_LEAKS, &res, NULL) || res.corruptions != res.corruptions_fixed ||
	    img_check(img, 0, &res, NULL) || res.corruptions || res.leaks) {
		img_close(img);
		return "not clean after check -r leaks";
	}
	/* Each snapshot that is there holds its data. */
	n = img_snapshot_list(img, &l, err, sizeof(err));
	for (int i = 0; i < n; i++) {
		const uint8_t *want = !strcmp(l[i].name, "old") ? d_old : d0;

		if (img_snapshot_apply(img, l[i].id, err, sizeof(err)) ||
		    img_pread(img, buf, SN_SIZE, 0) || memcmp(buf, want, SN_SIZE)) {
			snprintf(why, whylen, "snapshot '%s' does not hold its data %s", l[i].name, err);
			img_snapshot_list_free(l, n);
			img_close(img);
			return why;
		}
	}
	img_snapshot_list_free(l, n);
	if (img_check(img, 0, &res, NULL) || res.corruptions || res.leaks) {
		img_close(img);
		return "not clean after applying the snapshots";
	}
	img_close(img);
	return NULL;
}

/* Every cut point of one operation, clean cuts then torn writes: three test points. */
static void snap_cuts(const char *dir, int op, volatile long *count)
{
	uint8_t *d_old = malloc(SN_SIZE), *d0 = malloc(SN_SIZE), *buf = malloc(SN_SIZE);
	char base[256], path[256], why[300];
	struct snap_outcome o = { 0 };
	const char *bad;
	long writes;
	int st;

	snprintf(base, sizeof(base), "%s/snap-base.qcow2", dir);
	snprintf(path, sizeof(path), "%s/snap.qcow2", dir);
	*count = 0;
	st = snap_base(base, d_old, d0) == 0 && copy_file(base, path) == 0 ?
	     snap_run(path, op, -1, false, count) : -1;
	writes = *count;
	bad = st == 0 ? snap_verify(path, op, d_old, d0, buf, &o, why, sizeof(why)) : "it failed";
	tap_ok(st == 0 && writes > 0 && !bad && o.new_state == 1 && !o.leaked && !o.dirty,
	       "snapshot %s uncut: %ld writes, the new state, clean%s%s", sn_op_name[op], writes,
	       bad ? ": " : "", bad ? bad : "");
	for (int torn = 0; torn < 2; torn++) {
		int nbad = 0, tried = 0;

		o = (struct snap_outcome){ 0 };
		for (long cut = 1; cut <= writes; cut++) {
			if (torn && cut <= WRITE_LOG && count[cut] < 1024)
				continue;	/* too short to tear: the same as a cut */
			tried++;
			copy_file(base, path);
			st = snap_run(path, op, cut, torn, NULL);
			bad = st != 9 ? "the cut did not happen" :
			      snap_verify(path, op, d_old, d0, buf, &o, why, sizeof(why));
			if (bad && nbad++ < 5)
				tap_diag("%s, %s before write %ld: %s", sn_op_name[op],
					 torn ? "torn" : "cut", cut, bad);
		}
		tap_ok(!nbad, "snapshot %s, %d of %ld writes %s: each time it opens with the old or new "
		       "state, at most leaks (%d new, %d dirty and repaired at open, %d leaking)",
		       sn_op_name[op], tried, writes, torn ? "torn in half" : "cut before", o.new_state,
		       o.dirty, o.leaked);
	}
	unlink(base);
	unlink(path);
	free(d_old);
	free(d0);
	free(buf);
}

int main(void)
{
	static char dir[] = "/tmp/imgtool-crash.XXXXXX";
	volatile uint64_t *flushed;
	uint8_t *model, *partial, *got;
	int total_bad = 0;

	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	flushed = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	model = malloc(NBLK * BLK);
	partial = malloc(NBLK * BLK);
	got = malloc(NBLK * BLK);
	tap_plan(ROUNDS * 4 + CHAIN_POINTS + 3 * 3);
	srand((unsigned)time(NULL));
	for (int round = 0; round < ROUNDS; round++) {
		struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = (uint64_t)NBLK * STRIDE,
					     .cluster_size = BLK };
		struct img_check_result res, res2;
		uint64_t seed = (uint64_t)rand() + 1, f;
		char path[1024], err[256];
		struct img *img;
		int bad = 0, status;
		pid_t pid;

		snprintf(path, sizeof(path), "%s/c%d.qcow2", dir, round);
		img_create(path, &o, err, sizeof(err));
		*flushed = 0;
		/*
		 * Two crashes per image: one injected before a random write, then a
		 * kill at a random time of a writer that starts from the crashed image.
		 */
		for (int k = 0; k < 2; k++) {
			long before = 1 + rand() % 300;

			pid = fork();
			if (pid == 0) {
				crash_before = k == 0 ? before : -1;
				writer(path, seed, flushed);
			}
			if (k == 1) {
				usleep((useconds_t)(20000 + rand() % 250000));
				kill(pid, SIGKILL);
			}
			waitpid(pid, &status, 0);
			if (k == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 9))
				tap_diag("injected crash: writer ended with status 0x%x", status);
			if (k == 1 && !WIFSIGNALED(status))
				tap_diag("writer exited early with status %d", WEXITSTATUS(status));
		}
		f = *flushed;
		img = img_open(path, IMG_FMT_QCOW2, 0, err, sizeof(err));
		if (!img) {
			tap_ok(0, "round %d: image reopens after the kill: %s", round, err);
			tap_ok(0, "round %d: skipped", round);
			tap_ok(0, "round %d: skipped", round);
			tap_ok(0, "round %d: skipped", round);
			continue;
		}
		tap_ok(img_check(img, IMG_CHECK_FIX_LEAKS | IMG_CHECK_FIX_ERRORS, &res, NULL) == 0 &&
		       res.corruptions == 0,
		       "round %d (%llu batches flushed): crash left %llu corruptions, %llu leaks",
		       round, (unsigned long long)f, (unsigned long long)res.corruptions,
		       (unsigned long long)res.leaks);
		tap_ok(img_check(img, 0, &res2, stdout) == 0 && !res2.corruptions && !res2.leaks,
		       "round %d: check -r all leaves a clean image", round);
		/* Model: every flushed batch applied; the next one possibly in part. */
		memset(model, 0, NBLK * BLK);
		for (uint64_t b = 1; b <= f; b++)
			apply(model, seed, b);
		memcpy(partial, model, NBLK * BLK);
		apply(partial, seed, f + 1);
		for (uint32_t i = 0; i < NBLK && !bad; i++)
			if (img_pread(img, got + (uint64_t)i * BLK, BLK, (uint64_t)i * STRIDE))
				bad = -1;
		for (uint32_t i = 0; i < NBLK && bad >= 0; i++) {
			const uint8_t *g = got + (uint64_t)i * BLK;

			if (memcmp(g, model + (uint64_t)i * BLK, BLK) &&
			    memcmp(g, partial + (uint64_t)i * BLK, BLK)) {
				/* Within the unflushed batch, an earlier op may be what stuck. */
				struct op ops[OPS_PER_BATCH];
				uint8_t buf[BLK];
				int match = 0;

				batch_ops(seed, f + 1, ops);
				for (int j = 0; j < OPS_PER_BATCH; j++) {
					if (ops[j].blk != i)
						continue;
					stamp(buf, f + 1, i, OP_WRITE);
					if (ops[j].kind == OP_DISCARD)
						memset(buf, 0, BLK);
					else if (ops[j].kind == OP_PARTIAL)
						memcpy(buf + BLK / 2, model + (uint64_t)i * BLK + BLK / 2, BLK / 2);
					match |= !memcmp(g, buf, BLK);
				}
				if (!match)
					bad++;
			}
		}
		tap_ok(bad == 0, "round %d: every flushed write is intact (%d bad blocks)", round, bad);
		/* The repaired image keeps working. */
		{
			uint8_t buf[BLK];

			memset(buf, 0x42, BLK);
			tap_ok(img_pwrite(img, buf, BLK, 0) == 0 && img_flush(img) == 0 &&
			       img_check(img, 0, &res2, stdout) == 0 && !res2.corruptions && !res2.leaks,
			       "round %d: repaired image takes writes and stays clean", round);
		}
		total_bad += bad;
		img_close(img);
		unlink(path);
	}
	chain_tests(dir);
	{
		volatile long *count = mmap(NULL, (WRITE_LOG + 1) * sizeof(long), PROT_READ | PROT_WRITE,
					    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		snap_cuts(dir, SN_CREATE, count);
		snap_cuts(dir, SN_DELETE, count);
		snap_cuts(dir, SN_APPLY, count);
	}
	rmdir(dir);
	free(model);
	free(partial);
	free(got);
	return tap_done();
}
