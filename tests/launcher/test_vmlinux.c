/* tests/launcher/test_vmlinux.c: unpacking a bzImage payload, the kernel cache, and placing and relocating an unpacked kernel. */
#include <archive.h>
#include <archive_entry.h>
#include <elf.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "tap.h"
#include "kernel.h"
#include "arch/e820.h"
#include "arch/layout.h"
#include "arch/linux.h"
#include "arch/unpack.h"
#include "arch/vmlinux.h"
#include "kcache.h"

#define LINK_BASE	0x1000000ULL
#define KVA(off)	(0xffffffff81000000ULL + (off))
#define KVA32(off)	((uint32_t)(KVA(off) & 0xffffffffu))
#define TEXT_SZ		0x3000
#define DATA_PA		0x1200000ULL
#define DATA_FILE	0x1000
#define DATA_MEM	0x3000
#define SPAN		(DATA_PA + DATA_MEM - LINK_BASE)

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/*
 * A made-up kernel: text at 16 MiB (fields at 0x100/0x104/0x108 to relocate),
 * data at 18 MiB with bss after it, then the relocation table. Returns its length.
 */
static size_t make_kernel(uint8_t *buf, uint32_t reloc32_at)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph[2] = { { 0 } };
	size_t text_off = 0x1000, data_off = text_off + TEXT_SZ, end = data_off + DATA_FILE;
	uint32_t table[] = { 0, KVA32(0x108), 0, KVA32(0x104), 0, reloc32_at };

	memset(buf, 0, end + sizeof(table));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_type = ET_EXEC;
	eh.e_machine = EM_X86_64;
	eh.e_entry = LINK_BASE + 0x10;
	eh.e_phoff = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = 2;
	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = text_off, .p_vaddr = KVA(0),
			      .p_paddr = LINK_BASE, .p_filesz = TEXT_SZ, .p_memsz = TEXT_SZ };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_offset = data_off,
			      .p_vaddr = KVA(DATA_PA - LINK_BASE), .p_paddr = DATA_PA,
			      .p_filesz = DATA_FILE, .p_memsz = DATA_MEM };
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), ph, sizeof(ph));
	memset(buf + text_off, 0x90, TEXT_SZ);
	put32(buf + text_off + 0x100, 0x81000200);		/* 32-bit field */
	put32(buf + text_off + 0x104, 0x01000300);		/* inverse 32-bit */
	put64(buf + text_off + 0x108, KVA(0x400));		/* 64-bit field */
	memset(buf + data_off, 0x5a, DATA_FILE);
	memcpy(buf + end, table, sizeof(table));
	return end + sizeof(table);
}

static void test_parse_and_load(void)
{
	static uint8_t k[0x8000], dst[SPAN];
	size_t len = make_kernel(k, KVA32(0x100));
	const uint64_t delta = 0x2600000;
	struct vmlinux vl;
	char err[256];

	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == 0 &&
	       vl.link_base == LINK_BASE && vl.span == SPAN &&
	       vl.entry == LINK_BASE + 0x10 && vmlinux_relocatable(&vl) && vl.nr_relocs == 6,
	       "parse: base, span, entry and a 6-word relocation table");
	memset(dst, 0, sizeof(dst));
	tap_ok(vmlinux_load(&vl, dst, delta, err, sizeof(err)) == 0 &&
	       get32(dst + 0x100) == 0x81000200 + (uint32_t)delta &&
	       get32(dst + 0x104) == 0x01000300 - (uint32_t)delta &&
	       get64(dst + 0x108) == KVA(0x400) + delta,
	       "load: 32-bit, inverse 32-bit and 64-bit fields moved by the offset");
	tap_ok(dst[0] == 0x90 && dst[TEXT_SZ - 1] == 0x90 &&
	       dst[DATA_PA - LINK_BASE] == 0x5a &&
	       dst[DATA_PA - LINK_BASE + DATA_FILE] == 0 && dst[SPAN - 1] == 0 &&
	       dst[TEXT_SZ] == 0,
	       "load: segments at their offsets, bss and gaps left zero");
	memset(dst, 0, sizeof(dst));
	tap_ok(vmlinux_load(&vl, dst, 0, err, sizeof(err)) == 0 &&
	       get32(dst + 0x100) == 0x81000200, "offset 0 leaves fields alone");

	len = make_kernel(k, KVA32(SPAN - 2));
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == 0 &&
	       vmlinux_load(&vl, dst, delta, err, sizeof(err)) == -1 &&
	       strstr(err, "outside"), "a relocation past the image is refused: %s", err);
	len = make_kernel(k, 0x1234);
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == 0 &&
	       vmlinux_load(&vl, dst, delta, err, sizeof(err)) == -1,
	       "a relocation below the image is refused");
}

static void test_malformed(void)
{
	static uint8_t k[0x8000];
	size_t len = make_kernel(k, KVA32(0x100));
	struct vmlinux vl;
	Elf64_Phdr ph;
	char err[256];

	tap_ok(vmlinux_parse((const uint8_t *)"hello world, no ELF here at all......"
			     "................................", 64, &vl, err, sizeof(err)) == -1 &&
	       strstr(err, "ELF"), "not ELF: %s", err);
	k[EI_CLASS] = ELFCLASS32;
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == -1 && strstr(err, "x86-64"),
	       "32-bit ELF refused: %s", err);
	len = make_kernel(k, KVA32(0x100));
	memcpy(&ph, k + sizeof(Elf64_Ehdr), sizeof(ph));
	ph.p_filesz = 0x100000;
	ph.p_memsz = 0x100000;
	memcpy(k + sizeof(Elf64_Ehdr), &ph, sizeof(ph));
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == -1 && strstr(err, "segment"),
	       "segment past the file refused: %s", err);
	len = make_kernel(k, KVA32(0x100));
	tap_ok(vmlinux_parse(k, 0x1400, &vl, err, sizeof(err)) == -1,
	       "truncated image refused: %s", err);
	/* Relocation words without their three terminators. */
	put32(k + len - 24, 0x11);
	put32(k + len - 16, 0x11);
	put32(k + len - 8, 0x11);
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == -1 && strstr(err, "relocation"),
	       "relocation table without terminators refused: %s", err);
	len = make_kernel(k, KVA32(0x100));
	tap_ok(vmlinux_parse(k, len - 2, &vl, err, sizeof(err)) == -1,
	       "table of a length not a multiple of 4 refused");
	len = make_kernel(k, KVA32(0x100));
	{
		Elf64_Ehdr eh;

		memcpy(&eh, k, sizeof(eh));
		eh.e_entry = 0x100;
		memcpy(k, &eh, sizeof(eh));
	}
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == -1 && strstr(err, "entry"),
	       "entry outside the image refused: %s", err);
	len = make_kernel(k, KVA32(0x100));
	/* No table at all: loads, but only at offset 0. */
	tap_ok(vmlinux_parse(k, len - 24, &vl, err, sizeof(err)) == 0 && !vmlinux_relocatable(&vl),
	       "image without a table is not relocatable");
}

static void test_place(void)
{
	struct vmlinux vl = { .link_base = LINK_BASE, .span = 58 * MiB };
	struct cfg_slot ram[2] = { { 0, 640 * KiB }, { MiB, 127 * MiB } };
	uint64_t p, seen[64], avoid = 126 * MiB, avoid_end = 128 * MiB, v;
	unsigned int i, distinct = 0, bad = 0;

	tap_ok(vmlinux_place(&vl, ram, 2, 2 * MiB, avoid, avoid_end, false, 0, &p) == 0 &&
	       p == LINK_BASE, "without KASLR the kernel sits at its link address");
	for (i = 0; i < 64; i++) {
		unsigned int j;

		if (vmlinux_place(&vl, ram, 2, 2 * MiB, avoid, avoid_end, true,
				  (uint64_t)i * 0x9e3779b97f4a7c15ULL, &p) ||
		    p % (2 * MiB) || p < LINK_BASE || p + vl.span > avoid)
			bad++;
		for (j = 0; j < distinct && seen[j] != p; j++)
			;
		if (j == distinct)
			seen[distinct++] = p;
	}
	tap_ok(!bad && distinct > 8, "KASLR: aligned, in RAM, clear of the initrd, %u places", distinct);
	tap_ok(vmlinux_place(&vl, ram, 2, 2 * MiB, 30 * MiB, 32 * MiB, false, 0, &p) == 0 &&
	       p == 32 * MiB, "a region to avoid pushes the kernel up");
	ram[1].size = 63 * MiB;
	tap_ok(vmlinux_place(&vl, ram, 2, 2 * MiB, 0, 0, true, 5, &p) == -1,
	       "no place in 64 MiB of RAM for a 58 MiB kernel above 16 MiB");
	for (i = 0, bad = 0; i < 64; i++) {
		v = vmlinux_virt_offset(&vl, 2 * MiB, (uint64_t)i * 0x9e3779b97f4a7c15ULL);
		if (v % (2 * MiB) || LINK_BASE + v + vl.span > GiB)
			bad++;
	}
	tap_ok(!bad && vmlinux_virt_offset(&vl, 2 * MiB, 0) == 0,
	       "virtual offsets aligned and inside the 1 GiB kernel mapping");
	tap_ok(vmlinux_nokaslr("console=ttyS0 nokaslr quiet") &&
	       !vmlinux_nokaslr("console=ttyS0 nokaslrx") &&
	       !vmlinux_nokaslr("quiet -- nokaslr") && !vmlinux_nokaslr(NULL) &&
	       vmlinux_nokaslr("nokaslr"), "nokaslr found as a kernel word only");
}

/* A bzImage around payload: header of protocol 2.15, one setup sector. */
static size_t make_bzimage(uint8_t *buf, const uint8_t *payload, size_t plen)
{
	const size_t off = 0x40;

	memset(buf, 0, 1024 + off);
	buf[0x1f1] = 1;
	buf[0x206] = 0x0f;
	buf[0x207] = 0x02;
	put32(buf + 0x248, off);
	put32(buf + 0x24c, plen);
	memcpy(buf + 1024 + off, payload, plen);
	return 1024 + off + plen;
}

static size_t gzip(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	z_stream z = { 0 };
	size_t len;

	deflateInit2(&z, 6, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY);
	z.next_in = (uint8_t *)in;
	z.avail_in = n;
	z.next_out = out;
	z.avail_out = cap;
	deflate(&z, Z_FINISH);
	len = z.total_out;
	deflateEnd(&z);
	return len;
}

/* xz as the kernel's build makes it: the stream, then the size appended. */
static size_t xz(const uint8_t *in, size_t n, uint8_t *out, size_t cap)
{
	struct archive *a = archive_write_new();
	struct archive_entry *e = archive_entry_new();
	size_t used = 0;

	archive_write_add_filter_xz(a);
	archive_write_set_format_raw(a);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open_memory(a, out, cap - 4, &used);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_write_header(a, e);
	archive_write_data(a, in, n);
	archive_write_close(a);
	archive_write_free(a);
	archive_entry_free(e);
	put32(out + used, n);
	return used + 4;
}

static void test_unpack(void)
{
	static uint8_t data[300000], packed[400000], bz[500000];
	uint8_t *out;
	size_t i, n, len, out_len;
	char err[256];

	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + (i >> 9));
	n = gzip(data, sizeof(data), packed, sizeof(packed));
	len = make_bzimage(bz, packed, n);
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == 0 &&
	       out_len == sizeof(data) && !memcmp(out, data, out_len), "gzip payload unpacked");
	unpack_free(out, out_len);
	n = xz(data, sizeof(data), packed, sizeof(packed));
	len = make_bzimage(bz, packed, n);
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == 0 &&
	       out_len == sizeof(data) && !memcmp(out, data, out_len),
	       "xz payload with its appended size unpacked");
	unpack_free(out, out_len);
	put32(bz + len - 4, sizeof(data) - 1);
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == -1 && !out &&
	       strstr(err, "more"), "payload longer than its size refused: %s", err);
	put32(bz + len - 4, sizeof(data) + 1);
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == -1 && !out,
	       "payload shorter than its size refused: %s", err);
	put32(bz + len - 4, sizeof(data));
	bz[1024 + 0x40 + n / 2] ^= 0xff;
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == -1 && !out,
	       "corrupt payload refused: %s", err);
	put32(bz + 0x24c, len);
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == -1 &&
	       strstr(err, "outside"), "payload past the file refused: %s", err);
	bz[0x206] = 0x06;
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == -1 &&
	       strstr(err, "2.08"), "protocol 2.06 refused: %s", err);
	memcpy(packed, "plain old data, not compressed", 30);
	put32(packed + 30, 30);
	len = make_bzimage(bz, packed, 34);
	tap_ok(unpack_bzimage(bz, len, &out, &out_len, err, sizeof(err)) == -1,
	       "uncompressed payload refused: %s", err);
}

/* The cache's own file as the source: pread, holes skipped. */
static void test_load_from_cache(void)
{
	static uint8_t k[0x48000], a[SPAN], b[SPAN];
	char dir[] = "/tmp/test_kload.XXXXXX", err[256], cmd[300];
	struct kcache_entry e;
	struct vmlinux vl;
	size_t len = make_kernel(k, KVA32(0x100));
	Elf64_Phdr ph;

	/* Move the data segment 256 KiB on: a hole of zeros before it. */
	memcpy(&ph, k + sizeof(Elf64_Ehdr) + sizeof(ph), sizeof(ph));
	memmove(k + ph.p_offset + 0x40000, k + ph.p_offset, len - ph.p_offset);
	memset(k + ph.p_offset, 0, 0x40000);
	ph.p_offset += 0x40000;
	memcpy(k + sizeof(Elf64_Ehdr) + sizeof(ph), &ph, sizeof(ph));
	len += 0x40000;
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	tap_ok(vmlinux_parse(k, len, &vl, err, sizeof(err)) == 0 &&
	       vmlinux_load(&vl, a, 0x200000, err, sizeof(err)) == 0 &&
	       kcache_put(dir, "vmlinux-t", k, len, err, sizeof(err)) == 0 &&
	       kcache_get(dir, "vmlinux-t", &e) == 0 && e.fd >= 0 &&
	       vmlinux_parse(e.data, e.len, &vl, err, sizeof(err)) == 0 &&
	       (vl.fd = e.fd, vl.fd_base = e.data_off,
		vmlinux_load(&vl, b, 0x200000, err, sizeof(err)) == 0) &&
	       !memcmp(a, b, sizeof(a)), "loading from the cache file matches loading from memory");
	kcache_release(&e);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
}

static int count_entries(const char *dir)
{
	char cmd[512];
	FILE *f;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^vmlinux-'", dir);
	f = popen(cmd, "r");
	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = -1;
		pclose(f);
	}
	return n;
}

static void test_cache(void)
{
	static uint8_t data[200000];
	char dir[] = "/tmp/test_kcache.XXXXXX", sub[256], key[64], key2[64], path[512];
	struct kcache_entry e;
	char buf[300], err[256];
	struct timespec t[2];
	unsigned int i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = i > 100000 ? 0 : (uint8_t)i;
	if (!mkdtemp(dir)) {
		tap_ok(0, "mkdtemp");
		return;
	}
	snprintf(sub, sizeof(sub), "%s/a/b", dir);
	kcache_key(data, sizeof(data), key, sizeof(key));
	data[5] ^= 1;
	kcache_key(data, sizeof(data), key2, sizeof(key2));
	data[5] ^= 1;
	tap_ok(strcmp(key, key2) != 0 && !strncmp(key, "vmlinux-", 8),
	       "a one-bit change makes another key (%s)", key);
	tap_ok(kcache_get(sub, key, &e) == -1, "miss on an empty cache");
	tap_ok(kcache_put(sub, key, data, sizeof(data), err, sizeof(err)) == 0 &&
	       kcache_get(sub, key, &e) == 0 && e.len == sizeof(data) &&
	       !memcmp(e.data, data, e.len), "stored (directories made) and read back");
	kcache_release(&e);
	snprintf(path, sizeof(path), "%s/%s", sub, key);
	tap_ok(truncate(path, 150000) == 0 && kcache_get(sub, key, &e) == -1,
	       "a truncated entry is a miss");
	for (i = 0; i < KCACHE_KEEP + 2; i++) {
		data[0] = i;
		kcache_key(data, sizeof(data), key, sizeof(key));
		kcache_put(sub, key, data, sizeof(data), err, sizeof(err));
		/* Distinct ages, oldest first; the last put keeps "now". */
		if (i < KCACHE_KEEP + 1) {
			snprintf(path, sizeof(path), "%s/%s", sub, key);
			t[0].tv_sec = t[1].tv_sec = 1000000000 + i;
			t[0].tv_nsec = t[1].tv_nsec = 0;
			utimensat(AT_FDCWD, path, t, 0);
		}
	}
	tap_ok(count_entries(sub) == KCACHE_KEEP && kcache_get(sub, key, &e) == 0,
	       "at most %d entries kept, the newest among them", KCACHE_KEEP);
	kcache_release(&e);
	data[0] = 0;
	kcache_key(data, sizeof(data), key, sizeof(key));
	tap_ok(kcache_get(sub, key, &e) == -1, "the least recently used went first");

	setenv("KVM_LAUNCH_CACHE", "", 1);
	tap_ok(kcache_dir(buf, sizeof(buf)) == -1, "KVM_LAUNCH_CACHE= turns the cache off");
	unsetenv("KVM_LAUNCH_CACHE");
	setenv("XDG_CACHE_HOME", "/x/cache", 1);
	tap_ok(kcache_dir(buf, sizeof(buf)) == 0 && !strcmp(buf, "/x/cache/kvm-launch"),
	       "XDG_CACHE_HOME honoured");
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	tap_ok(kcache_dir(buf, sizeof(buf)) == 0 && !strcmp(buf, "/home/u/.cache/kvm-launch"),
	       "default under $HOME/.cache");
	snprintf(buf, sizeof(buf), "rm -rf %s", dir);
	if (system(buf))
		tap_diag("could not remove %s", dir);
}

#define BZIMAGE test_kernel()
#define GUEST_RAM (128 * MiB)

static void *guest_map(void *ctx, uint64_t gpa, uint64_t len)
{
	return gpa <= GUEST_RAM && len <= GUEST_RAM - gpa ? (uint8_t *)ctx + gpa : NULL;
}

/* linux_load with the real kernel: from the cache, with and without KASLR, and a damaged entry. */
static void test_linux_load(void)
{
	char dir[] = "/tmp/test_kboot.XXXXXX", err[512], key[64], path[600], cmd[300];
	char kernel[256];
	struct cfg_slot ram[LAYOUT_MAX_RAM];
	struct e820_entry e820[E820_MAX];
	struct vm_config cfg;
	struct linux_load_mem mem;
	unsigned int nr, ne;
	uint64_t entry = 0;
	bool entry64 = false;
	uint8_t *guest;
	int ok;

	if (access(BZIMAGE, R_OK) || !mkdtemp(dir)) {
		for (int i = 0; i < 4; i++)
			tap_skip("no Debian kernel", "linux_load with the real kernel");
		return;
	}
	guest = calloc(1, GUEST_RAM);
	mem = (struct linux_load_mem){ guest_map, guest };
	memset(&cfg, 0, sizeof(cfg));
	cfg.ram_size = GUEST_RAM;
	snprintf(kernel, sizeof(kernel), "%s", BZIMAGE);
	cfg.kernel = kernel;
	cfg.unpack = true;
	cfg.cmdline = "console=ttyS0";
	nr = layout_ram(&cfg, ram);
	ne = e820_build(ram, nr, e820, E820_MAX);
	setenv("KVM_LAUNCH_CACHE", dir, 1);

	ok = linux_cache_kernel(BZIMAGE, err, sizeof(err)) == 0 &&
	     linux_load(&cfg, &mem, ram, nr, e820, ne, &entry, &entry64, err, sizeof(err)) == 0;
	tap_ok(ok && entry64 && entry >= 16 * MiB && entry < GUEST_RAM && entry % (2 * MiB) == 0 &&
	       (guest[0x7000 + 0x211] & 0x02),
	       "cached kernel: 64-bit entry at a 2 MiB-aligned place, KASLR flag passed (0x%llx)",
	       (unsigned long long)entry);
	memset(guest, 0, GUEST_RAM);
	cfg.cmdline = "console=ttyS0 nokaslr";
	ok = linux_load(&cfg, &mem, ram, nr, e820, ne, &entry, &entry64, err, sizeof(err)) == 0;
	tap_ok(ok && entry == 16 * MiB && !(guest[0x7000 + 0x211] & 0x02),
	       "nokaslr: entered at the link address, no KASLR flag");

	/* Damage the entry: its data zeroed, the header kept. */
	{
		int fd = open(BZIMAGE, O_RDONLY);
		struct stat st;
		uint8_t *img;

		fstat(fd, &st);
		img = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		kcache_key(img, st.st_size, key, sizeof(key));
		munmap(img, st.st_size);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	{
		struct stat st;

		ok = stat(path, &st) == 0 && truncate(path, 4096) == 0 && truncate(path, st.st_size) == 0;
	}
	memset(guest, 0, GUEST_RAM);
	ok = ok && linux_load(&cfg, &mem, ram, nr, e820, ne, &entry, &entry64, err, sizeof(err)) == 0;
	tap_ok(ok && entry == 0x100200, "damaged entry: the bzImage boots instead (entry 0x%llx)",
	       (unsigned long long)entry);
	tap_ok(access(path, F_OK) != 0, "and the damaged entry is gone");
	unsetenv("KVM_LAUNCH_CACHE");
	free(guest);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
}

int main(void)
{
	tap_plan(42);
	test_parse_and_load();
	test_malformed();
	test_place();
	test_unpack();
	test_cache();
	test_load_from_cache();
	test_linux_load();
	return tap_done();
}
