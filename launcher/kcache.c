/* launcher/kcache.c: the per-user cache of unpacked kernels (one file per kernel). */
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "kcache.h"

/*
 * An entry: one page of text header, then the unpacked kernel, written
 * sparsely (the kernel's zero-filled data costs no disk).
 */
#define HDR_LEN		4096
#define MAGIC		"kvm-launch unpacked kernel 1\n"
#define PREFIX		"vmlinux-"
#define ZERO_CHUNK	65536

int kcache_dir(char *buf, size_t n)
{
	const char *v = getenv("KVM_LAUNCH_CACHE");
	int len;

	if (v)
		len = *v ? snprintf(buf, n, "%s", v) : -1;
	else if ((v = getenv("XDG_CACHE_HOME")) && *v == '/')
		len = snprintf(buf, n, "%s/kvm-launch", v);
	else if ((v = getenv("HOME")) && *v == '/')
		len = snprintf(buf, n, "%s/.cache/kvm-launch", v);
	else
		len = -1;
	return len > 0 && (size_t)len < n ? 0 : -1;
}

void kcache_key(const uint8_t *image, size_t len, char *key, size_t n)
{
	uLong crc = crc32(0L, Z_NULL, 0), adler = adler32(0L, Z_NULL, 0);
	size_t off = 0;

	/* zlib takes uInt lengths. */
	while (off < len) {
		uInt chunk = len - off > (1u << 30) ? 1u << 30 : (uInt)(len - off);

		crc = crc32(crc, image + off, chunk);
		adler = adler32(adler, image + off, chunk);
		off += chunk;
	}
	snprintf(key, n, PREFIX "%zx-%08lx-%08lx", len, crc, adler);
}

int kcache_get(const char *dir, const char *key, struct kcache_entry *e)
{
	char path[4096], hdr[64];
	unsigned long long len;
	struct stat st;
	void *map;
	int fd;

	memset(e, 0, sizeof(*e));
	e->fd = -1;
	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path))
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size <= HDR_LEN ||
	    pread(fd, hdr, sizeof(hdr) - 1, 0) != (ssize_t)sizeof(hdr) - 1) {
		close(fd);
		return -1;
	}
	hdr[sizeof(hdr) - 1] = 0;
	if (strncmp(hdr, MAGIC, strlen(MAGIC)) ||
	    sscanf(hdr + strlen(MAGIC), "len=%llu\n", &len) != 1 ||
	    len != (unsigned long long)st.st_size - HDR_LEN) {
		close(fd);
		return -1;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		close(fd);
		return -1;
	}
	/* Used now: last to be evicted. */
	futimens(fd, NULL);
	e->fd = fd;
	e->data_off = HDR_LEN;
	e->map = map;
	e->map_len = st.st_size;
	e->data = (const uint8_t *)map + HDR_LEN;
	e->len = len;
	return 0;
}

void kcache_release(struct kcache_entry *e)
{
	if (e->map)
		munmap(e->map, e->map_len);
	if (e->fd >= 0)
		close(e->fd);
	memset(e, 0, sizeof(*e));
	e->fd = -1;
}

/* mkdir -p, the last components private to the user. */
static int make_dir(const char *dir)
{
	char tmp[4096];
	char *p;

	if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp))
		return -1;
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(tmp, 0700) && errno != EEXIST ? -1 : 0;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

static int write_all(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t *p = buf;

	while (n) {
		ssize_t w = pwrite(fd, p, n, off);

		if (w <= 0)
			return -1;
		p += w;
		off += w;
		n -= w;
	}
	return 0;
}

struct aged {
	char name[256];
	struct timespec t;
};

static int newest_first(const void *a, const void *b)
{
	const struct timespec *x = &((const struct aged *)a)->t;
	const struct timespec *y = &((const struct aged *)b)->t;

	if (x->tv_sec != y->tv_sec)
		return x->tv_sec > y->tv_sec ? -1 : 1;
	return x->tv_nsec > y->tv_nsec ? -1 : x->tv_nsec < y->tv_nsec;
}

/* Keep the KCACHE_KEEP most recently used entries. */
static void evict(const char *dir)
{
	struct aged *all = NULL, *grown;
	size_t n = 0, cap = 0, i;
	struct dirent *d;
	DIR *dp = opendir(dir);

	if (!dp)
		return;
	while ((d = readdir(dp))) {
		struct stat st;

		if (strncmp(d->d_name, PREFIX, strlen(PREFIX)) ||
		    strlen(d->d_name) >= sizeof(all->name) ||
		    fstatat(dirfd(dp), d->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			grown = realloc(all, cap * sizeof(*all));
			if (!grown)
				break;
			all = grown;
		}
		strcpy(all[n].name, d->d_name);
		all[n++].t = st.st_mtim;
	}
	if (n)
		qsort(all, n, sizeof(*all), newest_first);
	for (i = KCACHE_KEEP; i < n; i++)
		unlinkat(dirfd(dp), all[i].name, 0);
	free(all);
	closedir(dp);
}

int kcache_put(const char *dir, const char *key, const uint8_t *data,
	       size_t len, char *err, size_t errlen)
{
	char tmp[4096], path[4096], hdr[HDR_LEN];
	size_t off;
	int fd;

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.tmp-XXXXXX", dir) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "cache path too long");
		return -1;
	}
	if (make_dir(dir) || (fd = mkstemp(tmp)) < 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	memset(hdr, 0, sizeof(hdr));
	snprintf(hdr, sizeof(hdr), MAGIC "len=%zu\n", len);
	if (write_all(fd, hdr, sizeof(hdr), 0))
		goto fail;
	for (off = 0; off < len; off += ZERO_CHUNK) {
		size_t n = len - off < ZERO_CHUNK ? len - off : ZERO_CHUNK;

		if (!all_zero(data + off, n) && write_all(fd, data + off, n, HDR_LEN + off))
			goto fail;
	}
	/* Complete on disk before it gets its name. */
	if (ftruncate(fd, HDR_LEN + len) || fdatasync(fd) || fchmod(fd, 0600) ||
	    rename(tmp, path))
		goto fail;
	close(fd);
	evict(dir);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", dir, strerror(errno));
	close(fd);
	unlink(tmp);
	return -1;
}

void kcache_fill_background(const char *dir, const char *kernel)
{
	struct sched_param idle = { 0 };
	sigset_t none;
	pid_t pid;
	int fd;

	/* Unpacking for a cache it cannot write would only burn CPU. */
	if (make_dir(dir) || access(dir, W_OK))
		return;
	pid = fork();
	if (pid < 0)
		return;
	if (pid > 0) {
		/* The intermediate child exits at once: nothing to reap later. */
		waitpid(pid, NULL, 0);
		return;
	}
	if (fork() != 0)
		_exit(0);
	/* Keep no fd of the VM or its console (a pipe's reader waits for EOF). */
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
	}
	close_range(3, ~0U, 0);
	setsid();
	/* the VM's blocked quit signals are no business of the cache filler */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sched_setscheduler(0, SCHED_IDLE, &idle);
	execl("/proc/self/exe", "kvm-launch", "--cache-kernel", kernel, (char *)NULL);
	_exit(127);
}

void kcache_remove(const char *dir, const char *key)
{
	char path[4096];

	if (snprintf(path, sizeof(path), "%s/%s", dir, key) < (int)sizeof(path))
		unlink(path);
}
