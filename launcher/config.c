/* launcher/config.c: VM file parsing (libconfig) and validation, before any VM exists. */
#include <arpa/inet.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arch/layout.h"
#include "arch/linux.h"
#include "config.h"
#include "net.h"
#include "firmware.h"

struct ctx {
	const char *file;
	const char *dir;		/* VM file's directory, for relative paths */
	int errors;
};

static void __attribute__((format(printf, 4, 5)))
bad(struct ctx *c, int line, const char *setting, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%d: %s: ", c->file, line > 0 ? line : 1, setting);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	c->errors++;
}

static int line_of(const config_setting_t *s)
{
	return s ? config_setting_source_line(s) : 1;
}

/* Edit distance for "did you mean"; names are short. */
static unsigned int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	unsigned int d[32][32];

	if (la > 30 || lb > 30)
		return 99;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			unsigned int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			unsigned int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;

			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

/* Refuse settings of group g not in known[] (NULL-terminated). */
static void check_known(struct ctx *c, const config_setting_t *g,
			const char *prefix, const char *const *known)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *s = config_setting_get_elem(g, i);
		const char *name = config_setting_name(s), *best = NULL;
		unsigned int bestd = 3, k;
		char full[128];

		if (!name)
			continue;
		for (k = 0; known[k]; k++) {
			unsigned int d;

			if (!strcmp(known[k], name))
				break;
			d = distance(known[k], name);
			if (d < bestd) {
				bestd = d;
				best = known[k];
			}
		}
		if (known[k])
			continue;
		snprintf(full, sizeof(full), "%s%s", prefix, name);
		if (best)
			bad(c, line_of(s), full, "unknown setting; did you mean '%s%s'?", prefix, best);
		else
			bad(c, line_of(s), full, "unknown setting");
	}
}

int config_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!s || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -1;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (shift && (!strcmp(end, "iB") || !strcmp(end, "B")))
		end += strlen(end);
	else if (!shift && !strcmp(end, "B"))
		end++;
	if (*end || (shift && v > (~0ULL >> shift)))
		return -1;
	*out = (uint64_t)v << shift;
	return 0;
}

/* A size given as "256M" or as a plain integer of bytes. */
static int get_size(struct ctx *c, const config_setting_t *s, const char *name,
		    uint64_t *out)
{
	int t = config_setting_type(s);

	if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
		long long v = config_setting_get_int64(s);

		if (v < 0) {
			bad(c, line_of(s), name, "size is negative");
			return -1;
		}
		*out = v;
	} else if (t == CONFIG_TYPE_STRING) {
		if (config_parse_size(config_setting_get_string(s), out)) {
			bad(c, line_of(s), name,
			    "'%s' is not a size (a number with an optional K, M, G or T suffix)",
			    config_setting_get_string(s));
			return -1;
		}
	} else {
		bad(c, line_of(s), name, "expected a size such as \"256M\"");
		return -1;
	}
	if (*out == 0) {
		bad(c, line_of(s), name, "size is 0");
		return -1;
	}
	return 0;
}

static const char *get_string(struct ctx *c, const config_setting_t *s,
			      const char *name)
{
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		bad(c, line_of(s), name, "expected a string in double quotes");
		return NULL;
	}
	return config_setting_get_string(s);
}

/* Resolve a path from the VM file against the file's directory. */
static char *resolve(struct ctx *c, const char *p)
{
	char *r;

	if (p[0] == '/' || !strcmp(c->dir, "."))
		return strdup(p);
	if (asprintf(&r, "%s/%s", c->dir, p) < 0)
		return NULL;
	return r;
}

/* A path setting that must name an existing regular, readable file. */
static char *get_file(struct ctx *c, const config_setting_t *s,
		      const char *name, bool want_write)
{
	const char *v = get_string(c, s, name);
	struct stat st;
	char *p;

	if (!v)
		return NULL;
	if (!*v) {
		bad(c, line_of(s), name, "empty path");
		return NULL;
	}
	p = resolve(c, v);
	if (!p)
		return NULL;
	if (stat(p, &st) < 0) {
		bad(c, line_of(s), name, "%s: %s", p, strerror(errno));
	} else if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
		bad(c, line_of(s), name, "%s is not a regular file", p);
	} else if (access(p, want_write ? R_OK | W_OK : R_OK) < 0) {
		bad(c, line_of(s), name, "%s: %s", p, strerror(errno));
	} else {
		return p;
	}
	free(p);
	return NULL;
}

static uint64_t host_ram(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);

	return pages > 0 && psz > 0 ? (uint64_t)pages * psz : ~0ULL;
}

static void parse_memory(struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	config_setting_t *m = config_lookup(cf, "memory");
	static const char *const slot_keys[] = { "base", "size", NULL };
	uint64_t total = 0;
	int i, n;

	if (!m) {
		bad(c, 1, "memory", "missing; give the RAM size, e.g. memory = \"256M\";");
		return;
	}
	if (config_setting_type(m) != CONFIG_TYPE_LIST) {
		if (get_size(c, m, "memory", &cfg->ram_size))
			return;
		if (cfg->ram_size & 0xfff)
			bad(c, line_of(m), "memory", "not a multiple of 4K");
		else if (cfg->ram_size > host_ram())
			bad(c, line_of(m), "memory",
			    "%llu MiB is more than the host's %llu MiB of RAM",
			    (unsigned long long)(cfg->ram_size / MiB),
			    (unsigned long long)(host_ram() / MiB));
		return;
	}

	cfg->explicit_slots = true;
	n = config_setting_length(m);
	if (n == 0 || n > CFG_MAX_SLOTS) {
		bad(c, line_of(m), "memory", "give 1 to %d slots", CFG_MAX_SLOTS);
		return;
	}
	for (i = 0; i < n; i++) {
		config_setting_t *s = config_setting_get_elem(m, i), *b, *z;
		struct cfg_slot *slot = &cfg->slots[i];
		char name[64];
		int j;

		snprintf(name, sizeof(name), "memory[%d]", i);
		if (!config_setting_is_group(s)) {
			bad(c, line_of(s), name, "expected { base = ...; size = \"...\"; }");
			continue;
		}
		snprintf(name, sizeof(name), "memory[%d].", i);
		check_known(c, s, name, slot_keys);
		b = config_setting_get_member(s, "base");
		z = config_setting_get_member(s, "size");
		snprintf(name, sizeof(name), "memory[%d].base", i);
		if (!b) {
			bad(c, line_of(s), name, "missing");
			continue;
		}
		if (config_setting_type(b) != CONFIG_TYPE_INT &&
		    config_setting_type(b) != CONFIG_TYPE_INT64) {
			bad(c, line_of(b), name, "expected an address such as 0x100000");
			continue;
		}
		if (config_setting_get_int64(b) < 0 || (config_setting_get_int64(b) & 0xfff)) {
			bad(c, line_of(b), name, "must be a non-negative multiple of 4K");
			continue;
		}
		slot->base = config_setting_get_int64(b);
		snprintf(name, sizeof(name), "memory[%d].size", i);
		if (!z) {
			bad(c, line_of(s), name, "missing");
			continue;
		}
		if (get_size(c, z, name, &slot->size))
			continue;
		if (slot->size & 0xfff) {
			bad(c, line_of(z), name, "not a multiple of 4K");
			continue;
		}
		if (slot->base + slot->size < slot->base || slot->base + slot->size > (1ULL << 46)) {
			bad(c, line_of(z), name, "slot ends beyond the guest's 64 TiB address space");
			continue;
		}
		snprintf(name, sizeof(name), "memory[%d]", i);
		for (j = 0; j < i; j++) {
			const struct cfg_slot *o = &cfg->slots[j];

			if (slot->base < o->base + o->size && o->base < slot->base + slot->size)
				bad(c, line_of(s), name,
				    "[0x%llx, 0x%llx) overlaps memory[%d] [0x%llx, 0x%llx)",
				    (unsigned long long)slot->base,
				    (unsigned long long)(slot->base + slot->size), j,
				    (unsigned long long)o->base,
				    (unsigned long long)(o->base + o->size));
		}
		total += slot->size;
	}
	cfg->nr_slots = n;
	cfg->ram_size = total;
	if (total > host_ram())
		bad(c, line_of(m), "memory", "%llu MiB in all is more than the host's %llu MiB of RAM",
		    (unsigned long long)(total / MiB), (unsigned long long)(host_ram() / MiB));
}

/* BIOS boot settings (firmware.h): the image's size, boot.order, boot.menu. */
static void check_firmware(struct ctx *c, int line, const char *path)
{
	struct stat st;
	char err[256];

	if (path && stat(path, &st) == 0 &&
	    firmware_check_size((uint64_t)st.st_size, err, sizeof(err)))
		bad(c, line, "boot.firmware", "%s: %s", path, err);
}

static void default_firmware(struct ctx *c, int line, struct vm_config *cfg)
{
	if (access(FIRMWARE_DEFAULT, R_OK) < 0) {
		bad(c, line, "boot", "no kernel given and the default firmware %s is missing "
		    "(install seabios, or give boot.kernel or boot.firmware)", FIRMWARE_DEFAULT);
		return;
	}
	cfg->firmware = strdup(FIRMWARE_DEFAULT);
	check_firmware(c, line, cfg->firmware);
}

static void parse_boot_bios(struct ctx *c, config_setting_t *b, struct vm_config *cfg)
{
	config_setting_t *s = config_setting_get_member(b, "order");
	int i, n;

	/* Loading a kernel through the firmware (QEMU's linuxboot ROM) is not done. */
	if (cfg->firmware && config_setting_get_member(b, "kernel") &&
	    config_setting_get_member(b, "firmware"))
		bad(c, line_of(config_setting_get_member(b, "firmware")), "boot.firmware",
		    "give boot.kernel (direct Linux boot) or boot.firmware (BIOS boot), not both");
	if (s) {
		if (!cfg->firmware)
			bad(c, line_of(s), "boot.order", "only for BIOS boot (not with boot.kernel)");
		n = config_setting_length(s);
		if (!config_setting_is_aggregate(s) || n < 1 || n > 2) {
			bad(c, line_of(s), "boot.order", "expected a list of \"disk\" and \"cdrom\", "
			    "for example [ \"cdrom\", \"disk\" ]");
			n = 0;
		}
		for (i = 0; i < n; i++) {
			const char *v = config_setting_get_string_elem(s, i);
			enum boot_dev d = v ? firmware_boot_dev(v) : BOOT_DEV_NONE;

			if (d == BOOT_DEV_NONE) {
				bad(c, line_of(s), "boot.order", "entry %d: expected \"disk\" or \"cdrom\"", i);
			} else if (cfg->nr_boot_order && cfg->boot_order[0] == d) {
				bad(c, line_of(s), "boot.order", "\"%s\" given twice", v);
			} else {
				cfg->boot_order[cfg->nr_boot_order++] = (uint8_t)d;
			}
		}
	}
	s = config_setting_get_member(b, "menu");
	if (s) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			bad(c, line_of(s), "boot.menu", "expected true or false");
		else if (!cfg->firmware)
			bad(c, line_of(s), "boot.menu", "only for BIOS boot (not with boot.kernel)");
		else
			cfg->boot_menu = config_setting_get_bool(s);
	}
}

static void parse_boot(
struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	static const char *const keys[] = { "kernel", "initrd", "cmdline", "firmware",
					    "order", "menu", "unpack", NULL };
	config_setting_t *b = config_lookup(cf, "boot"), *s;
	struct linux_image li;
	char err[512];
	bool kernel_ok = false;

	if (!b) {
		bad(c, 1, "boot", "missing; give boot = { kernel = \"...\"; } or boot.firmware");
		return;
	}
	if (!config_setting_is_group(b)) {
		bad(c, line_of(b), "boot", "expected a group { kernel = ...; }");
		return;
	}
	check_known(c, b, "boot.", keys);
	if ((s = config_setting_get_member(b, "firmware"))) {
		cfg->firmware = get_file(c, s, "boot.firmware", false);
		check_firmware(c, line_of(s), cfg->firmware);
	}
	if ((s = config_setting_get_member(b, "kernel"))) {
		cfg->kernel = get_file(c, s, "boot.kernel", false);
		if (cfg->kernel) {
			if (linux_probe(cfg->kernel, &li, err, sizeof(err)))
				bad(c, line_of(s), "boot.kernel", "%s", err);
			else
				kernel_ok = true;
		}
	} else if (!config_setting_get_member(b, "firmware")) {
		default_firmware(c, line_of(b), cfg);
	}
	if ((s = config_setting_get_member(b, "cmdline"))) {
		const char *v = get_string(c, s, "boot.cmdline");

		if (v && !cfg->kernel && !config_setting_get_member(b, "kernel"))
			bad(c, line_of(s), "boot.cmdline", "given without boot.kernel");
		else if (v && kernel_ok && li.cmdline_size && strlen(v) > li.cmdline_size)
			bad(c, line_of(s), "boot.cmdline", "%zu bytes, the kernel takes at most %u",
			    strlen(v), li.cmdline_size);
		else if (v && strlen(v) >= BOOT_CMDLINE_MAX)
			bad(c, line_of(s), "boot.cmdline", "longer than %llu bytes", BOOT_CMDLINE_MAX - 1);
		if (v)
			cfg->cmdline = strdup(v);
	}
	if ((s = config_setting_get_member(b, "initrd"))) {
		struct stat st;

		cfg->initrd = get_file(c, s, "boot.initrd", false);
		if (cfg->initrd && !config_setting_get_member(b, "kernel"))
			bad(c, line_of(s), "boot.initrd", "given without boot.kernel");
		if (cfg->initrd && stat(cfg->initrd, &st) == 0)
			cfg->initrd_size = st.st_size;
	}
	cfg->unpack = true;
	if ((s = config_setting_get_member(b, "unpack"))) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			bad(c, line_of(s), "boot.unpack", "expected true or false");
		else if (!config_setting_get_member(b, "kernel"))
			bad(c, line_of(s), "boot.unpack", "given without boot.kernel");
		else
			cfg->unpack = config_setting_get_bool(s);
	}
	parse_boot_bios(c, b, cfg);

	/* With RAM known, check that kernel and initrd fit. */
	if (kernel_ok && cfg->ram_size && !c->errors) {
		struct cfg_slot ram[LAYOUT_MAX_RAM];
		unsigned int n = layout_ram(cfg, ram);
		uint64_t addr;
		config_setting_t *at = config_setting_get_member(b, "initrd");

		if (layout_ram_from(ram, n, 0) < BOOT_CMDLINE_ADDR + BOOT_CMDLINE_MAX)
			bad(c, line_of(config_lookup(cf, "memory")), "memory",
			    "Linux direct boot needs RAM from address 0 (boot parameters live there)");
		else if (linux_place_initrd(&li, ram, n, cfg->initrd ? cfg->initrd_size : 0,
					    &addr, err, sizeof(err)))
			bad(c, line_of(at ? at : config_setting_get_member(b, "kernel")),
			    at ? "boot.initrd" : "boot.kernel", "%s", err);
	}
}

static void parse_serial(struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	static const char *const keys[] = { "output", NULL };
	config_setting_t *g = config_lookup(cf, "serial"), *s;
	const char *v;

	cfg->serial = SERIAL_STDIO;
	if (!g)
		return;
	cfg->serial_given = true;
	if (!config_setting_is_group(g)) {
		bad(c, line_of(g), "serial", "expected a group { output = \"stdio\"; }");
		return;
	}
	check_known(c, g, "serial.", keys);
	s = config_setting_get_member(g, "output");
	if (!s || !(v = get_string(c, s, "serial.output")))
		return;
	if (!strcmp(v, "stdio")) {
		cfg->serial = SERIAL_STDIO;
	} else if (!strcmp(v, "none")) {
		cfg->serial = SERIAL_NONE;
	} else if (!*v) {
		bad(c, line_of(s), "serial.output", "empty; use \"stdio\", \"none\" or a file path");
	} else {
		cfg->serial = SERIAL_FILE;
		cfg->serial_path = resolve(c, v);
	}
}

static void parse_disks(struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	static const char *const keys[] = { "file", "format", "readonly", "media", "snapshot", NULL };
	config_setting_t *l = config_lookup(cf, "disks");
	int i, n;

	if (!l)
		return;
	if (!config_setting_is_list(l) && !config_setting_is_array(l)) {
		bad(c, line_of(l), "disks", "expected a list ( { file = \"...\"; }, ... )");
		return;
	}
	n = config_setting_length(l);
	if (n > CFG_MAX_DISKS) {
		bad(c, line_of(l), "disks", "%d disks; IDE takes at most %d", n, CFG_MAX_DISKS);
		return;
	}
	for (i = 0; i < n; i++) {
		config_setting_t *d = config_setting_get_elem(l, i), *s;
		struct cfg_disk *disk = &cfg->disks[i];
		char name[64], prefix[32], err[256];
		struct img *img;

		snprintf(prefix, sizeof(prefix), "disks[%d].", i);
		snprintf(name, sizeof(name), "disks[%d]", i);
		disk->line = line_of(d);
		if (!config_setting_is_group(d)) {
			bad(c, line_of(d), name, "expected { file = \"...\"; }");
			continue;
		}
		check_known(c, d, prefix, keys);
		if ((s = config_setting_get_member(d, "readonly"))) {
			snprintf(name, sizeof(name), "disks[%d].readonly", i);
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				bad(c, line_of(s), name, "expected true or false");
			else
				disk->readonly = config_setting_get_bool(s);
		}
		if ((s = config_setting_get_member(d, "snapshot"))) {
			snprintf(name, sizeof(name), "disks[%d].snapshot", i);
			if (config_setting_type(s) != CONFIG_TYPE_BOOL)
				bad(c, line_of(s), name, "expected true or false");
			else
				disk->snapshot = config_setting_get_bool(s);
		}
		if ((s = config_setting_get_member(d, "format"))) {
			const char *v;

			snprintf(name, sizeof(name), "disks[%d].format", i);
			v = get_string(c, s, name);
			if (v && (img_parse_format(v, &disk->format) || disk->format == IMG_FMT_AUTO))
				bad(c, line_of(s), name, "'%s' is not an image format (raw or qcow2)", v);
		}
		if ((s = config_setting_get_member(d, "media"))) {
			const char *v;

			snprintf(name, sizeof(name), "disks[%d].media", i);
			v = get_string(c, s, name);
			if (v && !strcmp(v, "cdrom"))
				disk->cdrom = true;
			else if (v && strcmp(v, "disk"))
				bad(c, line_of(s), name, "'%s' is not a media type (disk or cdrom)", v);
		}
		if (disk->snapshot && disk->cdrom) {
			snprintf(name, sizeof(name), "disks[%d].snapshot", i);
			bad(c, line_of(config_setting_get_member(d, "snapshot")), name,
			    "a CD-ROM is never written; snapshot is for disks");
		}
		snprintf(name, sizeof(name), "disks[%d].file", i);
		s = config_setting_get_member(d, "file");
		if (!s) {
			bad(c, line_of(d), name, "missing");
			continue;
		}
		disk->file = get_file(c, s, name, !disk->readonly && !disk->cdrom && !disk->snapshot);
		if (!disk->file)
			continue;
		img = img_open(disk->file, disk->format, IMG_OPEN_RDONLY, err, sizeof(err));
		if (!img) {
			bad(c, line_of(s), name, "%s", err);
			continue;
		}
		img_close(img);
	}
	cfg->nr_disks = n;
}

/*
 * vcpus, irqchip and pit. What the hypervisor offers is checked when the
 * VM is built (vm.c); the lines are kept for its messages.
 */
static void parse_cpus(struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	config_setting_t *s;
	const char *v;

	cfg->vcpus = 1;
	if ((s = config_lookup(cf, "vcpus"))) {
		cfg->vcpus_line = line_of(s);
		if (config_setting_type(s) != CONFIG_TYPE_INT)
			bad(c, line_of(s), "vcpus", "expected an integer");
		else if (config_setting_get_int(s) < 1)
			bad(c, line_of(s), "vcpus", "must be at least 1");
		else if (config_setting_get_int(s) > CFG_MAX_VCPUS)
			bad(c, line_of(s), "vcpus", "%d vCPUs asked, at most %d",
			    config_setting_get_int(s), CFG_MAX_VCPUS);
		else
			cfg->vcpus = config_setting_get_int(s);
	}
	cfg->irqchip = CFG_IRQCHIP_KERNEL;
	if ((s = config_lookup(cf, "irqchip")) && (v = get_string(c, s, "irqchip"))) {
		cfg->irqchip_line = line_of(s);
		cfg->irqchip_given = true;
		if (!strcmp(v, "kernel"))
			cfg->irqchip = CFG_IRQCHIP_KERNEL;
		else if (!strcmp(v, "split"))
			cfg->irqchip = CFG_IRQCHIP_SPLIT;
		else if (!strcmp(v, "user"))
			cfg->irqchip = CFG_IRQCHIP_USER;
		else
			bad(c, line_of(s), "irqchip",
			    "'%s' is not an irqchip (\"kernel\", \"split\" or \"user\")", v);
	}
	if (cfg->irqchip == CFG_IRQCHIP_USER && cfg->vcpus > 1)
		bad(c, cfg->irqchip_line, "irqchip",
		    "\"user\" (the 8259 PIC in kvm-launch, no local APICs) runs 1 vCPU only, %u asked at line %d",
		    cfg->vcpus, cfg->vcpus_line);
	cfg->pit = cfg->irqchip == CFG_IRQCHIP_KERNEL ? CFG_PIT_KERNEL : CFG_PIT_USER;
	if ((s = config_lookup(cf, "pit")) && (v = get_string(c, s, "pit"))) {
		cfg->pit_line = line_of(s);
		if (!strcmp(v, "user"))
			cfg->pit = CFG_PIT_USER;
		else if (strcmp(v, "kernel"))
			bad(c, line_of(s), "pit", "'%s' is neither \"kernel\" nor \"user\"", v);
		else if (cfg->irqchip != CFG_IRQCHIP_KERNEL)
			bad(c, line_of(s), "pit",
			    "\"kernel\" needs the in-kernel PIC: irqchip = \"kernel\"");
		else
			cfg->pit = CFG_PIT_KERNEL;
	}
}

/* ---- display ---- */

/* display.vram: MiB as an integer, or a size string of whole MiB ("32M"). */
static void parse_vram(struct ctx *c, const config_setting_t *s, struct vm_config *cfg)
{
	uint64_t bytes, mb;

	if (config_setting_type(s) == CONFIG_TYPE_INT || config_setting_type(s) == CONFIG_TYPE_INT64) {
		long long v = config_setting_get_int64(s);

		if (v < 1 || v > CFG_VRAM_MAX_MB) {
			bad(c, line_of(s), "display.vram", "%lld MiB; from 1 to %d", v, CFG_VRAM_MAX_MB);
			return;
		}
		mb = (uint64_t)v;
	} else if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		if (config_parse_size(config_setting_get_string(s), &bytes) || bytes % MiB) {
			bad(c, line_of(s), "display.vram", "'%s' is not a number of MiB (16, or \"16M\")",
			    config_setting_get_string(s));
			return;
		}
		mb = bytes / MiB;
		if (mb < 1 || mb > CFG_VRAM_MAX_MB) {
			bad(c, line_of(s), "display.vram", "%llu MiB; from 1 to %d",
			    (unsigned long long)mb, CFG_VRAM_MAX_MB);
			return;
		}
	} else {
		bad(c, line_of(s), "display.vram", "expected a number of MiB, such as 16");
		return;
	}
	if (mb & (mb - 1)) {
		bad(c, line_of(s), "display.vram", "%llu MiB is not a power of two (1, 2, 4, ... 256)",
		    (unsigned long long)mb);
		return;
	}
	cfg->vram_mb = (unsigned int)mb;
}

/*
 * display.listen: "HOST:PORT", "[IPV6]:PORT" or ":PORT" (all addresses).
 * Only the syntax here; the name is resolved and bound when the machine
 * starts (ui-vnc.c), and a failure then names this setting too.
 */
int config_parse_listen(const char *s, char **host, uint16_t *port)
{
	const char *colon, *h = s, *p;
	size_t hlen;
	unsigned long v;
	char *end;

	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || close == s + 1)
			return -1;
		h = s + 1;
		hlen = (size_t)(close - h);
		p = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon || strchr(s, ':') != colon)
			return -1;
		hlen = (size_t)(colon - s);
		p = colon + 1;
	}
	if (*p < '0' || *p > '9')
		return -1;
	errno = 0;
	v = strtoul(p, &end, 10);
	if (errno || *end || v < 1 || v > 65535)
		return -1;
	*host = hlen ? strndup(h, hlen) : NULL;
	*port = (uint16_t)v;
	return 0;
}

/*
 * display = { type = "vnc"; listen = "127.0.0.1:5900"; vram = 16; }. No
 * group: no VGA at all (the default, a serial-only machine). A group
 * without type means "headless": the VGA, seen only through screendumps.
 */
static void parse_display(struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	static const char *const keys[] = { "type", "vram", "listen", NULL };
	static const struct { const char *name; enum cfg_display type; } types[] = {
		{ "none", CFG_DISPLAY_NONE }, { "headless", CFG_DISPLAY_HEADLESS },
		{ "vnc", CFG_DISPLAY_VNC }, { "terminal", CFG_DISPLAY_TERMINAL },
	};
	config_setting_t *g = config_lookup(cf, "display"), *s, *vram, *listen;
	const char *v;

	cfg->display = CFG_DISPLAY_NONE;
	cfg->vram_mb = CFG_VRAM_DEFAULT_MB;
	if (!g)
		return;
	cfg->display_line = line_of(g);
	if (!config_setting_is_group(g)) {
		bad(c, line_of(g), "display", "expected a group { type = \"vnc\"; }");
		return;
	}
	check_known(c, g, "display.", keys);
	cfg->display = CFG_DISPLAY_HEADLESS;
	s = config_setting_get_member(g, "type");
	if (s && (v = get_string(c, s, "display.type"))) {
		unsigned int i;

		for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (!strcmp(v, types[i].name))
				break;
		if (i < sizeof(types) / sizeof(types[0])) {
			cfg->display = types[i].type;
			cfg->display_line = line_of(s);
		} else {
			bad(c, line_of(s), "display.type", "'%s' is not a display (\"vnc\", \"terminal\", "
			    "\"headless\" or \"none\")", v);
		}
	}
	vram = config_setting_get_member(g, "vram");
	if (vram && cfg->display == CFG_DISPLAY_NONE)
		bad(c, line_of(vram), "display.vram", "only with a display (type \"vnc\", "
		    "\"terminal\" or \"headless\")");
	else if (vram)
		parse_vram(c, vram, cfg);
	listen = config_setting_get_member(g, "listen");
	if (listen && cfg->display != CFG_DISPLAY_VNC) {
		bad(c, line_of(listen), "display.listen", "only with type = \"vnc\"");
	} else if (cfg->display == CFG_DISPLAY_VNC) {
		v = CFG_VNC_LISTEN_DEFAULT;
		cfg->listen_line = cfg->display_line;
		if (listen) {
			cfg->listen_line = line_of(listen);
			v = get_string(c, listen, "display.listen");
		}
		if (v && config_parse_listen(v, &cfg->listen_host, &cfg->listen_port))
			bad(c, cfg->listen_line, "display.listen", "'%s' is not HOST:PORT "
			    "(\"127.0.0.1:5900\", \"[::1]:5900\", \":5900\"; port 1 to 65535)", v);
	}
	/* the terminal shows the screen where the serial console would write */
	if (cfg->display == CFG_DISPLAY_TERMINAL && cfg->serial == SERIAL_STDIO) {
		if (cfg->serial_given)
			bad(c, cfg->display_line, "display.type", "\"terminal\" takes the terminal: "
			    "give serial.output a file or \"none\"");
		else
			cfg->serial = SERIAL_NONE;
	}
	/* SeaBIOS sets the card up by running its VGA BIOS */
	if (cfg->display != CFG_DISPLAY_NONE && cfg->firmware && access(FIRMWARE_VGA_ROM, R_OK) < 0)
		bad(c, line_of(s ? s : g), "display.type", "the VGA BIOS %s is missing "
		    "(install seabios): %s", FIRMWARE_VGA_ROM, strerror(errno));
}

/* ---- nics ---- */

int config_parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned int v = 0;

		for (int k = 0; k < 2; k++, s++) {
			char ch = *s;

			if (ch >= '0' && ch <= '9')
				v = v << 4 | (unsigned int)(ch - '0');
			else if ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'f')
				v = v << 4 | (unsigned int)((ch | 0x20) - 'a' + 10);
			else
				return -1;
		}
		mac[i] = (uint8_t)v;
		if (i < 5 && *s++ != ':')
			return -1;
	}
	return *s ? -1 : 0;
}

/*
 * The default address of NIC index of VM name: 02 (locally administered,
 * unicast), then the low five bytes, least significant first, of the
 * 64-bit FNV-1a hash of the name's bytes, a zero byte and the index as
 * one byte. Stable across runs, different for each NIC and VM name.
 */
void config_default_mac(const char *name, unsigned int index, uint8_t mac[6])
{
	uint64_t h = 0xcbf29ce484222325ull;
	size_t len = strlen(name);

	for (size_t i = 0; i <= len + 1; i++) {
		uint8_t b = i < len ? (uint8_t)name[i] : i == len ? 0 : (uint8_t)index;

		h = (h ^ b) * 0x100000001b3ull;
	}
	mac[0] = 0x02;
	for (int i = 0; i < 5; i++)
		mac[1 + i] = (uint8_t)(h >> (8 * i));
}

/* An interface name the kernel takes (IFNAMSIZ, no '/', ':' or blanks). */
static bool good_ifname(const char *v)
{
	size_t n = strlen(v);

	if (!n || n >= IFNAMSIZ || !strcmp(v, ".") || !strcmp(v, ".."))
		return false;
	for (; *v; v++)
		if (*v == '/' || *v == ':' || *v <= ' ' || *v == 0x7f)
			return false;
	return true;
}

/* A string setting only backend "tap" takes: ifname, bridge. */
static char *get_tap_name(struct ctx *c, config_setting_t *d, const char *key, int i,
			  const struct cfg_nic *nic)
{
	config_setting_t *s = config_setting_get_member(d, key);
	char name[64];
	const char *v;

	if (!s)
		return NULL;
	snprintf(name, sizeof(name), "nics[%d].%s", i, key);
	if (!(v = get_string(c, s, name)))
		return NULL;
	if (nic->backend != NIC_BACKEND_TAP) {
		bad(c, line_of(s), name, "only with backend = \"tap\"");
		return NULL;
	}
	if (!good_ifname(v)) {
		bad(c, line_of(s), name, "'%s' is not an interface name (1 to %d characters, "
		    "no '/', ':' or blanks)", v, IFNAMSIZ - 1);
		return NULL;
	}
	return strdup(v);
}

/* Two rules that would bind the same host socket. */
static bool same_host_socket(const struct net_hostfwd *a, const struct net_hostfwd *b)
{
	return a->udp == b->udp && a->host_port == b->host_port &&
	       (!a->host_addr.s_addr || !b->host_addr.s_addr ||
		a->host_addr.s_addr == b->host_addr.s_addr);
}

static void parse_hostfwd(struct ctx *c, config_setting_t *l, int i, struct vm_config *cfg)
{
	struct cfg_nic *nic = &cfg->nics[i];
	char name[64], err[160];
	int n, k;

	snprintf(name, sizeof(name), "nics[%d].hostfwd", i);
	if (nic->backend != NIC_BACKEND_USER) {
		bad(c, line_of(l), name, "only with backend = \"user\"");
		return;
	}
	if (config_setting_type(l) == CONFIG_TYPE_STRING) {
		bad(c, line_of(l), name, "expected a list: [ \"tcp:127.0.0.1:2222-:22\", ... ]");
		return;
	}
	if (!config_setting_is_aggregate(l)) {
		bad(c, line_of(l), name, "expected a list of strings such as [ \"tcp::2222-:22\" ]");
		return;
	}
	n = config_setting_length(l);
	if (n > CFG_MAX_HOSTFWD) {
		bad(c, line_of(l), name, "%d rules; at most %d", n, CFG_MAX_HOSTFWD);
		return;
	}
	for (k = 0; k < n; k++) {
		config_setting_t *r = config_setting_get_elem(l, k);
		struct net_hostfwd fwd, other;
		const char *v;

		snprintf(name, sizeof(name), "nics[%d].hostfwd[%d]", i, k);
		if (!(v = get_string(c, r, name)))
			continue;
		if (net_hostfwd_parse(v, &fwd, err, sizeof(err))) {
			bad(c, line_of(r), name, "'%s': %s; the form is "
			    "[tcp|udp]:[hostaddr]:hostport-[guestaddr]:guestport", v, err);
			continue;
		}
		/* every earlier rule, of this NIC and the ones before it */
		for (int j = 0; j <= i; j++)
			for (unsigned int m = 0; m < cfg->nics[j].nr_hostfwd; m++)
				if (!net_hostfwd_parse(cfg->nics[j].hostfwd[m], &other, err, sizeof(err)) &&
				    same_host_socket(&fwd, &other))
					bad(c, line_of(r), name, "'%s' binds the host port of nics[%d].hostfwd[%u]",
					    v, j, m);
		nic->hostfwd[nic->nr_hostfwd++] = strdup(v);
	}
}

static void parse_nics(struct ctx *c, config_t *cf, struct vm_config *cfg)
{
	static const char *const keys[] = { "model", "backend", "mac", "hostfwd", "ifname",
					    "bridge", NULL };
	config_setting_t *l = config_lookup(cf, "nics");
	int i, n;

	if (!l)
		return;
	if (!config_setting_is_list(l)) {
		bad(c, line_of(l), "nics", "expected a list ( { model = \"virtio\"; }, ... )");
		return;
	}
	n = config_setting_length(l);
	if (n > CFG_MAX_NICS) {
		bad(c, line_of(l), "nics", "%d NICs; at most %d", n, CFG_MAX_NICS);
		return;
	}
	for (i = 0; i < n; i++) {
		config_setting_t *d = config_setting_get_elem(l, i), *s;
		struct cfg_nic *nic = &cfg->nics[i];
		char name[64], prefix[32];
		const char *v;

		cfg->nr_nics = i + 1;
		snprintf(prefix, sizeof(prefix), "nics[%d].", i);
		snprintf(name, sizeof(name), "nics[%d]", i);
		nic->line = line_of(d);
		if (!config_setting_is_group(d)) {
			bad(c, line_of(d), name, "expected { model = \"virtio\"; backend = \"user\"; }");
			continue;
		}
		check_known(c, d, prefix, keys);
		snprintf(name, sizeof(name), "nics[%d].model", i);
		if ((s = config_setting_get_member(d, "model")) && (v = get_string(c, s, name))) {
			if (!strcmp(v, "virtio"))
				nic->model = NIC_MODEL_VIRTIO;
			else if (!strcmp(v, "e1000"))
				nic->model = NIC_MODEL_E1000;
			else
				bad(c, line_of(s), name, "'%s' is not a NIC model (\"virtio\" or \"e1000\")", v);
		}
		snprintf(name, sizeof(name), "nics[%d].backend", i);
		if ((s = config_setting_get_member(d, "backend")) && (v = get_string(c, s, name))) {
			if (!strcmp(v, "user"))
				nic->backend = NIC_BACKEND_USER;
			else if (!strcmp(v, "tap"))
				nic->backend = NIC_BACKEND_TAP;
			else
				bad(c, line_of(s), name, "'%s' is not a backend (\"user\" or \"tap\")", v);
		}
		snprintf(name, sizeof(name), "nics[%d].mac", i);
		config_default_mac(cfg->name, (unsigned int)i, nic->mac);
		if ((s = config_setting_get_member(d, "mac")) && (v = get_string(c, s, name))) {
			static const uint8_t zero[6];

			if (config_parse_mac(v, nic->mac))
				bad(c, line_of(s), name, "'%s' is not a MAC address (six hex bytes, "
				    "02:00:00:12:34:56)", v);
			else if (nic->mac[0] & 1)
				bad(c, line_of(s), name, "'%s' is a multicast address "
				    "(the first byte is odd)", v);
			else if (!memcmp(nic->mac, zero, 6))
				bad(c, line_of(s), name, "all zeros");
		}
		for (int j = 0; j < i; j++)
			if (!memcmp(cfg->nics[j].mac, nic->mac, 6))
				bad(c, line_of(s ? s : d), name, "%02x:%02x:%02x:%02x:%02x:%02x is "
				    "nics[%d]'s too%s", nic->mac[0], nic->mac[1], nic->mac[2],
				    nic->mac[3], nic->mac[4], nic->mac[5], j,
				    s ? "" : " (derived from the name: give mac)");
		nic->ifname = get_tap_name(c, d, "ifname", i, nic);
		nic->bridge = get_tap_name(c, d, "bridge", i, nic);
		if ((s = config_setting_get_member(d, "hostfwd")))
			parse_hostfwd(c, s, i, cfg);
	}
}
int config_load(const char *path, struct vm_config *cfg)
{
	static const char *const keys[] = { "name", "memory", "vcpus", "boot", "serial",
					     "disks", "hypervisor", "on_reset", "irqchip", "pit",
					     "rng", "nics", "display", NULL };
	struct ctx c = { .file = path };
	config_setting_t *s;
	char *dir, *slash;
	config_t cf;
	const char *v;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = strdup(path);
	dir = strdup(path);
	slash = strrchr(dir, '/');
	if (!slash)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = 0;
	else
		*slash = 0;
	c.dir = dir;

	config_init(&cf);
	if (!config_read_file(&cf, path)) {
		if (config_error_type(&cf) == CONFIG_ERR_FILE_IO)
			fprintf(stderr, "%s: cannot read: %s\n", path, strerror(errno));
		else
			fprintf(stderr, "%s:%d: syntax: %s\n", path,
				config_error_line(&cf), config_error_text(&cf));
		config_destroy(&cf);
		free(dir);
		return -1;
	}
	check_known(&c, config_root_setting(&cf), "", keys);

	if ((s = config_lookup(&cf, "name")) && (v = get_string(&c, s, "name")))
		cfg->name = strdup(v);
	if (!cfg->name) {
		const char *base = strrchr(path, '/');

		cfg->name = strdup(base ? base + 1 : path);
	}
	parse_memory(&c, &cf, cfg);
	parse_cpus(&c, &cf, cfg);
	parse_boot(&c, &cf, cfg);
	parse_serial(&c, &cf, cfg);
	parse_disks(&c, &cf, cfg);
	parse_nics(&c, &cf, cfg);
	parse_display(&c, &cf, cfg);
	cfg->hypervisor = strdup("/dev/kvm");
	if ((s = config_lookup(&cf, "hypervisor")) && (v = get_string(&c, s, "hypervisor"))) {
		free(cfg->hypervisor);
		cfg->hypervisor = resolve(&c, v);
	}
	if ((s = config_lookup(&cf, "on_reset")) && (v = get_string(&c, s, "on_reset"))) {
		if (!strcmp(v, "exit"))
			cfg->on_reset = ON_RESET_EXIT;
		else if (!strcmp(v, "restart"))
			cfg->on_reset = ON_RESET_RESTART;
		else
			bad(&c, line_of(s), "on_reset", "'%s' is neither \"exit\" nor \"restart\"", v);
	}
	if ((s = config_lookup(&cf, "rng"))) {
		if (config_setting_type(s) != CONFIG_TYPE_BOOL)
			bad(&c, line_of(s), "rng", "expected true or false");
		else
			cfg->rng = config_setting_get_bool(s);
	}

	config_destroy(&cf);
	free(dir);
	if (c.errors) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

void config_free(struct vm_config *cfg)
{
	unsigned int i;

	free(cfg->path);
	free(cfg->name);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->cmdline);
	free(cfg->firmware);
	free(cfg->serial_path);
	free(cfg->listen_host);
	free(cfg->hypervisor);
	for (i = 0; i < CFG_MAX_DISKS; i++)
		free(cfg->disks[i].file);
	for (i = 0; i < CFG_MAX_NICS; i++) {
		free(cfg->nics[i].ifname);
		free(cfg->nics[i].bridge);
		for (unsigned int k = 0; k < cfg->nics[i].nr_hostfwd; k++)
			free(cfg->nics[i].hostfwd[k]);
	}
	memset(cfg, 0, sizeof(*cfg));
}

unsigned int config_nics_of_model(const struct vm_config *cfg, enum cfg_nic_model model)
{
	unsigned int n = 0;

	for (unsigned int i = 0; i < cfg->nr_nics; i++)
		n += cfg->nics[i].model == model;
	return n;
}

int config_nth_nic(const struct vm_config *cfg, enum cfg_nic_model model, unsigned int k)
{
	for (unsigned int i = 0; i < cfg->nr_nics; i++)
		if (cfg->nics[i].model == model && k-- == 0)
			return (int)i;
	return -1;
}
