/* launcher/kcache.h: the per-user cache of unpacked kernels, keyed by the bzImage's contents. */
#ifndef LAUNCHER_KCACHE_H
#define LAUNCHER_KCACHE_H

#include <stddef.h>
#include <stdint.h>

#define KCACHE_KEEP	4	/* entries kept; the least recently used go first */

struct kcache_entry {
	void *map;		/* the mapped file */
	size_t map_len;
	const uint8_t *data;	/* the unpacked kernel in it */
	size_t len;
	int fd;			/* the file, open (-1 when there is none) */
	uint64_t data_off;	/* where data starts in it */
};

/*
 * The cache directory: $KVM_LAUNCH_CACHE (empty: no cache), else
 * $XDG_CACHE_HOME/kvm-launch, else $HOME/.cache/kvm-launch. Returns 0 and
 * the path in buf, or -1 when there is none.
 */
int kcache_dir(char *buf, size_t n);

/* The name of the entry for a bzImage: its size and two checksums of all of it. */
void kcache_key(const uint8_t *image, size_t len, char *key, size_t n);

/* Map the entry key of dir; 0 on a hit, -1 on a miss or a damaged entry. */
int kcache_get(const char *dir, const char *key, struct kcache_entry *e);
void kcache_release(struct kcache_entry *e);
/* Drop entry key of dir (one found damaged). */
void kcache_remove(const char *dir, const char *key);

/*
 * Store data as entry key (created with mode 0700 if missing), atomically,
 * then drop all but the KCACHE_KEEP most recently used entries. A cache
 * that cannot be written is skipped: -1, with the reason in err.
 */
int kcache_put(const char *dir, const char *key, const uint8_t *data,
	       size_t len, char *err, size_t errlen);

/*
 * Unpack and cache kernel (a bzImage) in a detached process at idle CPU
 * priority, when dir can be written: this kvm-launch run as
 * "kvm-launch --cache-kernel kernel", with nothing of this process (VM,
 * console) kept. The boot that found the cache empty goes on as a bzImage;
 * later boots find the kernel unpacked.
 */
void kcache_fill_background(const char *dir, const char *kernel);

#endif
