/* launcher/arch/linux.c: bzImage checks and loading per the x86 boot protocol. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arch/layout.h"
#include "arch/linux.h"
#include "arch/unpack.h"
#include "arch/vmlinux.h"
#include "kcache.h"
#include "vm.h"

/* Offsets in the setup header / boot_params (Documentation/x86/boot.rst). */
#define HDR_SETUP_SECTS		0x1f1
#define HDR_BOOT_FLAG		0x1fe
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_HEAP_END_PTR	0x224
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_INIT_SIZE		0x260
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_E820_TABLE		0x2d0
#define BP_E820_MAX		128
#define BP_SIZE			4096

#define LOADED_HIGH		0x01
#define KASLR_FLAG		0x02
#define CAN_USE_HEAP		0x80
#define XLF_KERNEL_64		0x01

static uint16_t get16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

int linux_probe(const char *path, struct linux_image *li, char *err,
		size_t errlen)
{
	uint8_t hdr[1024];
	struct stat st;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		close(fd);
		return -1;
	}
	n = pread(fd, hdr, sizeof(hdr), 0);
	close(fd);
	if (n < (ssize_t)sizeof(hdr) || get16(hdr + HDR_BOOT_FLAG) != 0xaa55 ||
	    memcmp(hdr + HDR_MAGIC, "HdrS", 4)) {
		snprintf(err, errlen, "%s is not a Linux bzImage (no setup header)", path);
		return -1;
	}
	li->version = get16(hdr + HDR_VERSION);
	if (li->version < 0x0206) {
		snprintf(err, errlen, "%s: boot protocol %u.%02u is older than 2.06",
			 path, li->version >> 8, li->version & 0xff);
		return -1;
	}
	if (!(hdr[HDR_LOADFLAGS] & LOADED_HIGH)) {
		snprintf(err, errlen, "%s is a zImage, not a bzImage", path);
		return -1;
	}
	li->setup_sects = hdr[HDR_SETUP_SECTS] ? hdr[HDR_SETUP_SECTS] : 4;
	li->file_size = st.st_size;
	if ((uint64_t)(li->setup_sects + 1) * 512 >= li->file_size) {
		snprintf(err, errlen, "%s: truncated bzImage", path);
		return -1;
	}
	li->initrd_addr_max = get32(hdr + HDR_INITRD_ADDR_MAX);
	li->cmdline_size = get32(hdr + HDR_CMDLINE_SIZE);
	li->kernel_alignment = get32(hdr + HDR_KERNEL_ALIGNMENT);
	li->entry64 = li->version >= 0x020c &&
		      (get16(hdr + HDR_XLOADFLAGS) & XLF_KERNEL_64);
	li->init_size = li->version >= 0x020a ? get32(hdr + HDR_INIT_SIZE) : 0;
	/* Older kernels do not say; a decompressor needs about 4x the payload. */
	if (!li->init_size)
		li->init_size = 4 * (li->file_size - (li->setup_sects + 1) * 512);
	return 0;
}

/* End of the memory the kernel may use while booting. */
static uint64_t kernel_end(const struct linux_image *li)
{
	uint64_t align = li->kernel_alignment ? li->kernel_alignment : 0;
	uint64_t start = KERNEL_LOAD_ADDR;

	/* A relocatable kernel moves itself up to its alignment first. */
	if (align && (align & (align - 1)) == 0)
		start = (start + align - 1) & ~(align - 1);
	return start + li->init_size;
}

int linux_place_initrd(const struct linux_image *li,
		       const struct cfg_slot *ram, unsigned int nr_ram,
		       uint64_t initrd_size, uint64_t *addr, char *err,
		       size_t errlen)
{
	uint64_t run = layout_ram_from(ram, nr_ram, KERNEL_LOAD_ADDR);
	uint64_t top = KERNEL_LOAD_ADDR + run;
	uint64_t kend = kernel_end(li);
	uint64_t max = (uint64_t)li->initrd_addr_max + 1;

	if (kend > top) {
		snprintf(err, errlen,
			 "the kernel needs %llu MiB of RAM from 1 MiB, the VM has %llu MiB there",
			 (unsigned long long)((kend - KERNEL_LOAD_ADDR + MiB - 1) / MiB),
			 (unsigned long long)(run / MiB));
		return -1;
	}
	if (max > top)
		max = top;
	if (initrd_size > max || ((max - initrd_size) & ~0xfffULL) < kend) {
		snprintf(err, errlen,
			 "initrd of %llu KiB does not fit between the kernel (ends at %llu MiB) and %llu MiB",
			 (unsigned long long)(initrd_size / KiB),
			 (unsigned long long)(kend / MiB),
			 (unsigned long long)(max / MiB));
		return -1;
	}
	*addr = (max - initrd_size) & ~0xfffULL;
	return 0;
}

/* Read the whole of path's [off, off + len) into guest memory at gpa. */
static int load_file(const char *path, uint64_t off, uint64_t len,
		     const struct linux_load_mem *mem, uint64_t gpa,
		     char *err, size_t errlen)
{
	uint8_t *dst = mem->map(mem->ctx, gpa, len);
	uint64_t done = 0;
	int fd;

	if (!dst) {
		snprintf(err, errlen, "%s does not fit in guest RAM at 0x%llx",
			 path, (unsigned long long)gpa);
		return -1;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	while (done < len) {
		ssize_t n = pread(fd, dst + done, len - done, off + done);

		if (n <= 0) {
			snprintf(err, errlen, "cannot read %s: %s", path,
				 n ? strerror(errno) : "file shrank");
			close(fd);
			return -1;
		}
		done += n;
	}
	close(fd);
	return 0;
}

/*
 * The whole of a file, mapped read-only: a large malloc would leave glibc's
 * heap thresholds raised, and the launcher's resident memory with them.
 */
static uint8_t *map_whole(const char *path, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	void *p;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) || !st.st_size) {
		snprintf(err, errlen, "cannot read %s: %s", path,
			 fd < 0 || !st.st_size ? strerror(fd < 0 ? errno : EINVAL) : strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map %s: %s", path, strerror(errno));
		return NULL;
	}
	*len = st.st_size;
	return p;
}

static long long ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000LL + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static uint64_t random64(void)
{
	uint64_t v = 0;

	/* Without entropy, the clock still moves the kernel between boots. */
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v)) {
		struct timespec t;

		clock_gettime(CLOCK_MONOTONIC, &t);
		v = (uint64_t)t.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uint64_t)t.tv_sec;
	}
	return v;
}

/*
 * The kernel unpacked by the launcher rather than by the guest, from the
 * cache. Placed and relocated as the kernel's own decompressor would (KASLR
 * unless "nokaslr"), entered at its 64-bit entry. Returns 0; 1 when the
 * kernel is not cached (yet); -1 with err. Either leaves the bzImage path.
 */
static int load_unpacked(const struct vm_config *cfg, const struct linux_image *li,
			 const struct linux_load_mem *mem, const struct cfg_slot *ram,
			 unsigned int nr_ram, uint64_t initrd, uint64_t initrd_end,
			 uint8_t *bp, uint64_t *entry, char *err, size_t errlen)
{
	struct kcache_entry ce = { .fd = -1 };
	uint8_t *image, *dst;
	const uint8_t *data;
	char dir[4096], key[64];
	bool cache, kaslr;
	uint64_t align = li->kernel_alignment, phys, delta = 0;
	struct vmlinux vl;
	size_t len, data_len;
	struct timespec t0;
	long long t_key, t_get;
	int ret = -1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	image = map_whole(cfg->kernel, &len, err, errlen);
	if (!image)
		return -1;
	kcache_key(image, len, key, sizeof(key));
	t_key = ms_since(&t0);
	cache = kcache_dir(dir, sizeof(dir)) == 0;
	if (!cache || kcache_get(dir, key, &ce)) {
		/*
		 * Unpacking here would take as long as the guest's own
		 * decompressor: this boot goes as a bzImage while an idle
		 * process fills the cache for the next ones.
		 */
		if (cache)
			kcache_fill_background(dir, cfg->kernel);
		ret = 1;
		goto out;
	}
	data = ce.data;
	data_len = ce.len;
	t_get = ms_since(&t0);
	if (vmlinux_parse(data, data_len, &vl, err, errlen))
		goto out;
	vl.fd = ce.fd;
	vl.fd_base = ce.data_off;
	/* startup_64 needs 2 MiB alignment whatever the header says. */
	if (align < 2 * MiB || (align & (align - 1)))
		align = 2 * MiB;
	kaslr = vmlinux_relocatable(&vl) && !vmlinux_nokaslr(cfg->cmdline);
	if (vmlinux_place(&vl, ram, nr_ram, align, initrd, initrd_end, kaslr,
			  random64(), &phys)) {
		snprintf(err, errlen, "no room for the %llu MiB kernel in RAM",
			 (unsigned long long)(vl.span / MiB));
		goto out;
	}
	if (kaslr)
		delta = vmlinux_virt_offset(&vl, align, random64());
	dst = mem->map(mem->ctx, phys, vl.span);
	if (!dst || vmlinux_load(&vl, dst, delta, err, errlen)) {
		if (!dst)
			snprintf(err, errlen, "kernel does not fit in guest RAM");
		goto out;
	}
	if (kaslr)
		bp[HDR_LOADFLAGS] |= KASLR_FLAG;
	*entry = vl.entry - vl.link_base + phys;
	ret = 0;
	/* With the exit statistics, where a boot's first second goes. */
	if (getenv("KVM_LAUNCH_STATS"))
		fprintf(stderr, "stats: kernel %s: key %lld ms, from the cache %lld ms, placed and relocated %lld ms\n",
			key, t_key, t_get - t_key, ms_since(&t0) - t_get);
out:
	/* An entry that cannot be used goes, to be made again. */
	if (ret < 0 && ce.map)
		kcache_remove(dir, key);
	kcache_release(&ce);
	munmap(image, len);
	return ret;
}

int linux_load(const struct vm_config *cfg, const struct linux_load_mem *mem,
	       const struct cfg_slot *ram, unsigned int nr_ram,
	       const struct e820_entry *e820, unsigned int nr_e820,
	       uint64_t *entry, bool *entry64, char *err, size_t errlen)
{
	struct linux_image li;
	uint64_t setup_len, initrd_addr = 0;
	size_t hdr_len, cmdlen;
	uint8_t *bp, *cmdline;
	char why[512];
	unsigned int i;
	int fd;

	if (linux_probe(cfg->kernel, &li, err, errlen))
		return -1;

	bp = mem->map(mem->ctx, BOOT_PARAMS_ADDR, BP_SIZE);
	cmdline = mem->map(mem->ctx, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX);
	if (!bp || !cmdline) {
		snprintf(err, errlen, "no RAM for boot parameters below 1 MiB");
		return -1;
	}
	memset(bp, 0, BP_SIZE);
	/* The setup header runs from 0x1f1 to 0x202 + the byte at 0x201. */
	fd = open(cfg->kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || pread(fd, bp + HDR_SETUP_SECTS, 0x80, HDR_SETUP_SECTS) != 0x80) {
		snprintf(err, errlen, "cannot read %s", cfg->kernel);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	hdr_len = 0x202 + bp[0x201] - HDR_SETUP_SECTS;
	if (hdr_len < 0x80)
		memset(bp + HDR_SETUP_SECTS + hdr_len, 0, 0x80 - hdr_len);

	bp[HDR_TYPE_OF_LOADER] = 0xff;		/* undefined loader */
	bp[HDR_LOADFLAGS] |= CAN_USE_HEAP;
	put16(bp + HDR_HEAP_END_PTR, 0xfe00);

	cmdlen = cfg->cmdline ? strlen(cfg->cmdline) : 0;
	if (cmdlen >= BOOT_CMDLINE_MAX || (li.cmdline_size && cmdlen > li.cmdline_size)) {
		snprintf(err, errlen, "command line too long");
		return -1;
	}
	memset(cmdline, 0, cmdlen + 1);
	memcpy(cmdline, cfg->cmdline ? cfg->cmdline : "", cmdlen);
	put32(bp + HDR_CMD_LINE_PTR, BOOT_CMDLINE_ADDR);
	put32(bp + BP_EXT_CMD_LINE_PTR, 0);

	if (cfg->initrd) {
		if (linux_place_initrd(&li, ram, nr_ram, cfg->initrd_size,
				       &initrd_addr, err, errlen) ||
		    load_file(cfg->initrd, 0, cfg->initrd_size, mem, initrd_addr,
			      err, errlen))
			return -1;
		put32(bp + HDR_RAMDISK_IMAGE, (uint32_t)initrd_addr);
		put32(bp + HDR_RAMDISK_SIZE, (uint32_t)cfg->initrd_size);
		put32(bp + BP_EXT_RAMDISK_IMAGE, (uint32_t)(initrd_addr >> 32));
		put32(bp + BP_EXT_RAMDISK_SIZE, (uint32_t)(cfg->initrd_size >> 32));
	}

	if (nr_e820 > BP_E820_MAX)
		nr_e820 = BP_E820_MAX;
	bp[BP_E820_ENTRIES] = nr_e820;
	for (i = 0; i < nr_e820; i++) {
		uint8_t *e = bp + BP_E820_TABLE + 20 * i;

		put64(e, e820[i].addr);
		put64(e + 8, e820[i].size);
		put32(e + 16, e820[i].type);
	}

	/*
	 * Unpacked once per kernel into the cache, the kernel starts at its
	 * 64-bit entry instead of decompressing itself in the guest at every
	 * boot (the slowest part of a boot). Anything else boots as a bzImage.
	 */
	if (cfg->unpack && li.entry64) {
		int r = load_unpacked(cfg, &li, mem, ram, nr_ram, initrd_addr,
				      initrd_addr + (cfg->initrd ? cfg->initrd_size : 0),
				      bp, entry, why, sizeof(why));

		if (r == 0) {
			*entry64 = true;
			return 0;
		}
		if (r < 0)
			fprintf(stderr, "kvm-launch: note: %s: %s; the kernel unpacks itself\n",
			cfg->kernel, why);
	}
	setup_len = (uint64_t)(li.setup_sects + 1) * 512;
	if (load_file(cfg->kernel, setup_len, li.file_size - setup_len, mem,
		      KERNEL_LOAD_ADDR, err, errlen))
		return -1;
	*entry64 = li.entry64;
	*entry = li.entry64 ? KERNEL_LOAD_ADDR + 0x200 :
			      get32(bp + HDR_CODE32_START);
	return 0;
}

int linux_cache_kernel(const char *path, char *err, size_t errlen)
{
	struct kcache_entry ce;
	struct linux_image li;
	char dir[4096], key[64];
	uint8_t *image, *out;
	size_t len, out_len;
	struct vmlinux vl;
	int ret = -1;

	if (linux_probe(path, &li, err, errlen))
		return -1;
	if (kcache_dir(dir, sizeof(dir))) {
		snprintf(err, errlen, "no cache directory (KVM_LAUNCH_CACHE, XDG_CACHE_HOME, HOME)");
		return -1;
	}
	image = map_whole(path, &len, err, errlen);
	if (!image)
		return -1;
	kcache_key(image, len, key, sizeof(key));
	if (kcache_get(dir, key, &ce) == 0) {
		kcache_release(&ce);
		ret = 0;
	} else if (unpack_bzimage(image, len, &out, &out_len, err, errlen) == 0) {
		/* Only what a boot can use goes in. */
		if (vmlinux_parse(out, out_len, &vl, err, errlen) == 0 &&
		    kcache_put(dir, key, out, out_len, err, errlen) == 0)
			ret = 0;
		unpack_free(out, out_len);
	}
	munmap(image, len);
	return ret;
}
