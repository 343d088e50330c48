/* tests/imgtool/test_filemap.c: raw reads through the file mapping: contents, holes, a file shrunk under us (SIGBUS), resize. */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "img.h"
#include "img_int.h"
#include "tap.h"

static char dir[] = "/tmp/imgtool-filemap.XXXXXX";
static char shm_dir[] = "/dev/shm/imgtool-filemap.XXXXXX";
static char err[512];

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint8_t rnd8(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

/* Bytes of address space mapping path in this process (0: not mapped). */
static uint64_t mapped_bytes(const char *path)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[1024];
	uint64_t total = 0;

	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long a, b;
		char *name = strchr(line, '/');

		line[strcspn(line, "\n")] = '\0';
		if (name && !strcmp(name, path) && sscanf(line, "%llx-%llx", &a, &b) == 2)
			total += b - a;
	}
	if (f)
		fclose(f);
	return total;
}

static int write_file(const char *path, const uint8_t *data, size_t len)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

static int read_is(struct img *img, const uint8_t *ref, size_t len, uint64_t off)
{
	uint8_t *buf = malloc(len ? len : 1);
	int ok = buf && img_pread(img, buf, len, off) == 0 && !memcmp(buf, ref + off, len);

	free(buf);
	return ok;
}

static void contents(void)
{
	static const struct { uint64_t off; size_t len; } rd[] = {
		{ 0, 1 }, { 0, 4096 }, { 1, 511 }, { 4095, 2 }, { 12345, 67890 },
		{ 65536, 1 << 19 }, { 3, (1 << 20) + 4096 }, { (1 << 20) + 4096 + 122, 1 },
	};
	size_t size = (1 << 20) + 4096 + 123;	/* not a multiple of the page */
	uint8_t *ref = malloc(size), w[777];
	char path[256];
	struct img *img;
	int ok = 1;

	snprintf(path, sizeof(path), "%s/contents.raw", dir);
	for (size_t i = 0; i < size; i++)
		ref[i] = rnd8();
	write_file(path, ref, size);
	img = img_open(path, IMG_FMT_RAW, 0, err, sizeof(err));
	if (!tap_ok(img != NULL, "open raw: %s", err)) {
		free(ref);
		return;
	}
	tap_ok(mapped_bytes(path) == 0, "no mapping before the first read");
	for (size_t i = 0; i < sizeof(rd) / sizeof(rd[0]); i++)
		if (!read_is(img, ref, rd[i].len, rd[i].off)) {
			tap_diag("read of %zu at %llu differs", rd[i].len, (unsigned long long)rd[i].off);
			ok = 0;
		}
	tap_ok(ok, "reads at 8 offsets and lengths (unaligned, the last byte) return the file's bytes");
	tap_ok(mapped_bytes(path) == ((size + 4095) & ~(size_t)4095),
	       "the first read mapped the whole file (%llu bytes mapped)",
	       (unsigned long long)mapped_bytes(path));
	for (size_t i = 0; i < sizeof(w); i++)
		w[i] = rnd8();
	memcpy(ref + 4000, w, sizeof(w));
	tap_ok(img_pwrite(img, w, sizeof(w), 4000) == 0 && read_is(img, ref, 8192, 0) &&
	       read_is(img, ref, sizeof(w), 4000), "a pwrite is seen by the following read");
	ref[size - 1] = w[0];
	tap_ok(img_pwrite(img, w, 1, size - 1) == 0 &&
	       read_is(img, ref, 10, size - 10), "a write of the last byte is seen");
	img_close(img);
	tap_ok(mapped_bytes(path) == 0, "close unmaps");
	unlink(path);
	free(ref);
}

/* On tmpfs a read fault on a hole allocates a page: holes must go to pread. */
static void sparse(const char *where, bool tmpfs)
{
	uint64_t size = 1ull << 30, data_off = 512ull << 20;
	uint8_t data[4096], *buf = malloc(4 << 20), *zero = calloc(1, 4 << 20);
	struct stat before, after;
	char path[256];
	struct img *img;
	int fd, ok;

	snprintf(path, sizeof(path), "%s/sparse.raw", where);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = rnd8();
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	ok = fd >= 0 && ftruncate(fd, (off_t)size) == 0 &&
	     pwrite(fd, data, sizeof(data), (off_t)data_off) == (ssize_t)sizeof(data);
	if (fd >= 0)
		close(fd);
	img = ok ? img_open(path, IMG_FMT_RAW, IMG_OPEN_RDONLY, err, sizeof(err)) : NULL;
	if (!tap_ok(img != NULL, "1 GiB sparse raw with 4 KiB of data on %s%s: %s", where,
		    tmpfs ? " (tmpfs)" : "", err)) {
		free(buf);
		free(zero);
		return;
	}
	stat(path, &before);
	tap_ok(img_pread(img, buf, sizeof(data), data_off) == 0 && !memcmp(buf, data, sizeof(data)),
	       "the data part reads back");
	ok = 1;
	for (uint64_t off = 0; off < size && ok; off += 64ull << 20)
		ok = img_pread(img, buf, 4 << 20, off + (off == data_off ? 8192 : 0)) == 0 &&
		     !memcmp(buf, zero, 4 << 20);
	tap_ok(ok, "holes read as zeros (16 reads of 4 MiB)");
	tap_ok(img_pread(img, buf, 3 << 20, data_off - (1 << 20)) == 0 &&
	       !memcmp(buf, zero, 1 << 20) && !memcmp(buf + (1 << 20), data, sizeof(data)) &&
	       !memcmp(buf + (1 << 20) + sizeof(data), zero, (2 << 20) - sizeof(data)),
	       "a read spanning holes and data returns both");
	stat(path, &after);
	tap_ok(after.st_blocks == before.st_blocks,
	       "reading holes allocates nothing (st_blocks %lld, then %lld)",
	       (long long)before.st_blocks, (long long)after.st_blocks);
	img_close(img);
	unlink(path);
	free(buf);
	free(zero);
}

static volatile sig_atomic_t foreign_sigbus;

static void count_sigbus(int sig)
{
	(void)sig;
	foreign_sigbus++;
}

/* A file shrunk by someone else under our mapping: SIGBUS on access. */
static void shrunk(void)
{
	size_t size = 4 << 20, page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *ref = malloc(size), *buf = malloc(size);
	char path[256];
	struct img *img;
	void *map;
	int fd;

	snprintf(path, sizeof(path), "%s/shrunk.raw", dir);
	for (size_t i = 0; i < size; i++)
		ref[i] = rnd8();
	write_file(path, ref, size);
	img = img_open(path, IMG_FMT_RAW, 0, err, sizeof(err));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (!tap_ok(img && fd >= 0, "open raw and a second fd: %s", err))
		goto out;
	tap_ok(read_is(img, ref, 8192, size - 8192) && mapped_bytes(path) == size,
	       "read the end of a 4 MiB file through its mapping");
	tap_ok(ftruncate(fd, 1 << 20) == 0, "another fd truncates the file to 1 MiB");
	{
		int r = img_pread(img, buf, 8192, 2 << 20);

		/* Usually the hole check sees the new end first and pread gives zeros. */
		tap_ok(r == -EIO || (r == 0 && buf[0] == 0 && buf[8191] == 0),
		       "a read of the vanished range does not crash (%d)", r);
	}
	tap_ok(read_is(img, ref, 8192, 4096), "a read of a still-existing range works");

	/* The copy itself, against a mapping that outlives the file's end. */
	map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (!tap_ok(map != MAP_FAILED, "map 4 MiB of the 1 MiB file"))
		goto out;
	tap_ok(img_map_copy(buf, (char *)map + (2 << 20), 8192) == -EIO,
	       "copying from past the end gives -EIO, not SIGBUS");
	tap_ok(img_map_copy(buf, (char *)map + (1 << 20) - page, 2 * page) == -EIO,
	       "a copy that starts in the file and runs past its end gives -EIO");
	tap_ok(img_map_copy(buf, (char *)map + 4096, 8192) == 0 && !memcmp(buf, ref + 4096, 8192),
	       "then a copy inside the file works (SIGBUS was not left blocked)");
	munmap(map, size);
	tap_ok(raise(SIGBUS) == 0 && foreign_sigbus == 1,
	       "a SIGBUS that is not ours goes to the handler installed before");
out:
	if (fd >= 0)
		close(fd);
	img_close(img);
	unlink(path);
	free(ref);
	free(buf);
}

/* Another thread shrinks and refills the file while we read: 0 or -EIO, never a crash. */
struct shrinker {
	int fd;
	const uint8_t *ref;
	size_t size;
	volatile int stop;
};

static void *shrink_loop(void *arg)
{
	struct shrinker *s = arg;

	while (!s->stop) {
		if (ftruncate(s->fd, 0) < 0 || pwrite(s->fd, s->ref, s->size, 0) != (ssize_t)s->size)
			break;
	}
	return NULL;
}

static void race(void)
{
	size_t size = 1 << 20;
	uint8_t *ref = malloc(size), *buf = malloc(size);
	struct shrinker s = { .ref = ref, .size = size };
	int ok = 1, eio = 0, reads = 0;
	char path[256];
	pthread_t t;

	snprintf(path, sizeof(path), "%s/race.raw", dir);
	for (size_t i = 0; i < size; i++)
		ref[i] = rnd8();
	for (int round = 0; round < 20 && ok; round++) {
		struct img *img;

		write_file(path, ref, size);
		img = img_open(path, IMG_FMT_RAW, IMG_OPEN_RDONLY, err, sizeof(err));
		s.fd = open(path, O_RDWR | O_CLOEXEC);
		s.stop = 0;
		if (!img || s.fd < 0 || pthread_create(&t, NULL, shrink_loop, &s)) {
			ok = 0;
			break;
		}
		for (int i = 0; i < 50 && ok; i++, reads++) {
			int r = img_pread(img, buf, size, 0);

			ok = r == 0 || r == -EIO;
			eio += r == -EIO;
		}
		s.stop = 1;
		pthread_join(t, NULL);
		close(s.fd);
		img_close(img);
	}
	tap_ok(ok, "%d reads while another thread truncates and refills: %d gave -EIO, none crashed",
	       reads, eio);
	unlink(path);
	free(ref);
	free(buf);
}

static void resize(void)
{
	size_t size = 256 << 10;
	uint8_t *ref = calloc(1, 1 << 20);
	char path[256];
	struct img *img;

	snprintf(path, sizeof(path), "%s/resize.raw", dir);
	for (size_t i = 0; i < size; i++)
		ref[i] = rnd8();
	write_file(path, ref, size);
	img = img_open(path, IMG_FMT_RAW, 0, err, sizeof(err));
	if (!tap_ok(img && read_is(img, ref, size, 0), "open and read 256 KiB: %s", err))
		goto out;
	tap_ok(img_resize(img, 1 << 20, false, err, sizeof(err)) == 0 && img_get_size(img) == 1 << 20 &&
	       read_is(img, ref, 1 << 20, 0), "grown to 1 MiB: old data, then zeros");
	memset(ref + (1 << 20) - 4096, 0x5a, 4096);
	tap_ok(img_pwrite(img, ref + (1 << 20) - 4096, 4096, (1 << 20) - 4096) == 0 &&
	       read_is(img, ref, 4096, (1 << 20) - 4096) && mapped_bytes(path) == 1 << 20,
	       "data written at the new end reads back through a 1 MiB mapping");
	tap_ok(img_resize(img, 64 << 10, true, err, sizeof(err)) == 0 && mapped_bytes(path) == 0 &&
	       read_is(img, ref, 64 << 10, 0) && mapped_bytes(path) == 64 << 10,
	       "shrunk to 64 KiB: unmapped, then read through a 64 KiB mapping");
	tap_ok(img_pread(img, ref, 1, 64 << 10) == -EINVAL, "a read past the new end gives -EINVAL");
out:
	img_close(img);
	unlink(path);
	free(ref);
}

/*
 * Run as a child (argv[1] = file): a fault outside any copy must still kill
 * the process (default action re-raised, or the sanitizer's handler), not loop.
 */
static int die_of_foreign_sigbus(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	char *map, c;

	alarm(10);
	if (fd < 0 || (map = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
		return 2;
	if (img_map_copy(&c, map, 1) < 0 || ftruncate(fd, 0) < 0)
		return 3;
	c = *(volatile char *)map;
	return 4 + c;
}

static void foreign_fault(const char *self)
{
	uint8_t page[8192] = { 1 };
	char path[256];
	int status = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/foreign.raw", dir);
	write_file(path, page, sizeof(page));
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 2);
		execl(self, self, path, (char *)NULL);
		_exit(5);
	}
	waitpid(pid, &status, 0);
	tap_ok(pid > 0 && ((WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) ||
			  (WIFEXITED(status) && WEXITSTATUS(status) == 1)),
	       "a SIGBUS outside any copy still kills the process (status 0x%x)", status);
	unlink(path);
}

static void rm_rf(const char *d)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", d);
	if (system(cmd))
		tap_diag("could not remove %s", d);
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = count_sigbus };
	struct statfs fs;
	bool shm;

	if (argc == 2)
		return die_of_foreign_sigbus(argv[1]);
	tap_plan(7 + 5 + 10 + 1 + 5 + 1);
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	/* Before the library's first copy installs its handler, which chains to this one. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	shm = statfs("/dev/shm", &fs) == 0 && fs.f_type == TMPFS_MAGIC && mkdtemp(shm_dir);
	contents();
	if (shm)
		sparse(shm_dir, true);
	else if (statfs(dir, &fs) == 0)
		sparse(dir, fs.f_type == TMPFS_MAGIC);
	shrunk();
	race();
	resize();
	foreign_fault(argv[0]);
	rm_rf(dir);
	if (shm)
		rm_rf(shm_dir);
	return tap_done();
}
