/* tests/imgtool/test_crash.c: kill a qcow2 writer at random points; only leaks may remain and flushed data survives. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
 */
static long crash_before = -1, nwrites;

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (crash_before >= 0 && ++nwrites >= crash_before)
		_exit(9);
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
	tap_plan(ROUNDS * 4);
	srand((unsigned)time(NULL));
	for (int round = 0; round < ROUNDS; round++) {
		struct img_create_opts o = { .format = IMG_FMT_QCOW2, .size = (uint64_t)NBLK * STRIDE,
					     .cluster_size = BLK };
		struct img_check_result res, res2;
		uint64_t seed = (uint64_t)rand() + 1, f;
		char path[256], err[256];
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
	rmdir(dir);
	free(model);
	free(partial);
	free(got);
	return tap_done();
}
