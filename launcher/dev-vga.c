/* launcher/dev-vga.c: QEMU's standard VGA at PCI 00:02.0 (any display.type but "none"): its ports, the 0xa0000 window, the framebuffer BAR as guest RAM, and its VGA BIOS for SeaBIOS. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev-pci.h"
#include "dev-vga.h"
#include "device.h"
#include "firmware.h"
#include "hw/fw_cfg.h"
#include "screendump.h"
#include "vm.h"

#define VGA_DEVFN	PCI_DEVFN(2, 0)		/* QEMU's slot for it */
/* SeaBIOS runs fw_cfg file "pciVVVV,DDDD.rom" as that PCI device's option ROM */
#define VGA_ROM_FILE	"pci1234,1111.rom"
#define VGA_ROM_MAX	(256 * 1024)

struct pc_vga {
	struct vm *vm;
	struct pc_pci *pci;
	pthread_mutex_t *lock;
	int lfb_slot;			/* BAR0's memory slot; -1: BAR0 is MMIO */
	unsigned long *dirty;		/* the slot's dirty log, a bit a page */
	unsigned long *pending;		/* pages written the frontend has not seen */
	size_t dirty_len;		/* bytes */
	bool on_bus;
	struct vga vga;
};

static struct pc_vga *pc_vga_of(struct vga *v)
{
	return (struct pc_vga *)((char *)v - offsetof(struct pc_vga, vga));
}

/*
 * BAR0 moved: the slot follows it. A guest placing it over RAM or another
 * slot loses the framebuffer (message printed), as with any BAR.
 */
static void lfb_moved(struct pci_func *f, unsigned int n, uint64_t old, uint64_t new_base)
{
	struct pc_vga *d = pc_vga_of(f->opaque);

	(void)old;
	if (n != 0 || d->lfb_slot < 0)
		return;
	vm_map_ram(d->vm, d->lfb_slot, new_base, new_base ? d->vga.vram_size : 0, d->vga.vram);
}

/* Give SeaBIOS Debian's SeaVGABIOS for this card (BIOS boot only). */
static int add_vga_rom(struct vm *vm)
{
	struct fw_cfg *fc = firmware_fw_cfg(vm);
	int fd, ret = -1;
	struct stat st;
	void *rom;

	if (!fc)
		return 0;
	fd = open(FIRMWARE_VGA_ROM, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "kvm-launch: vga: %s: %s\n", FIRMWARE_VGA_ROM, strerror(errno));
		goto out;
	}
	if (st.st_size < 512 || st.st_size > VGA_ROM_MAX) {
		fprintf(stderr, "kvm-launch: vga: %s: not an option ROM (%lld bytes)\n",
			FIRMWARE_VGA_ROM, (long long)st.st_size);
		goto out;
	}
	rom = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (rom == MAP_FAILED) {
		fprintf(stderr, "kvm-launch: vga: %s: %s\n", FIRMWARE_VGA_ROM, strerror(errno));
		goto out;
	}
	ret = fw_cfg_add_file(fc, VGA_ROM_FILE, rom, st.st_size) < 0 ? -1 : 0;
	if (ret)
		fprintf(stderr, "kvm-launch: vga: fw_cfg: %s\n", strerror(errno));
	munmap(rom, st.st_size);
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

static void vga_destroy(void *state)
{
	struct pc_vga *d = state;

	/* unmaps both BARs (the slot through lfb_moved) */
	if (d->on_bus)
		pc_pci_remove(d->pci, VGA_DEVFN);
	if (d->vga.vram)
		munmap(d->vga.vram, d->vga.vram_size);
	free(d->dirty);
	free(d->pending);
	free(d);
}

static int vga_create(struct vm *vm, void **state)
{
	const struct vm_config *cfg = vm_config(vm);
	uint32_t vram_size = cfg->vram_mb << 20;
	struct pc_vga *d;
	void *vram;

	if (cfg->display == CFG_DISPLAY_NONE)
		return 0;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -1;
	d->vm = vm;
	d->lock = vm_creating_lock(vm);
	d->lfb_slot = -1;
	d->pci = vm_device(vm, "pci");
	if (!d->pci) {
		fprintf(stderr, "kvm-launch: vga: no PCI bus\n");
		free(d);
		return -1;
	}
	vram = mmap(NULL, vram_size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vram == MAP_FAILED) {
		fprintf(stderr, "kvm-launch: vga: %u MiB of video memory: %s\n",
			cfg->vram_mb, strerror(errno));
		free(d);
		return -1;
	}
	/* the kernel cache's helper process (kcache.c) needs none of it */
	madvise(vram, vram_size, MADV_DONTFORK);
	if (vga_init(&d->vga, vram, vram_size)) {
		fprintf(stderr, "kvm-launch: vga: %u MiB of video memory is not 1 to 256, a power of two\n",
			cfg->vram_mb);
		munmap(vram, vram_size);
		free(d);
		return -1;
	}
	/* the framebuffer as guest RAM when a slot is free, else through exits */
	d->lfb_slot = vm_ram_slot(vm);
	if (d->lfb_slot >= 0) {
		d->vga.pci.bar[0].ops = NULL;	/* dev-pci.c maps no MMIO for it */
		d->vga.pci.bar_moved = lfb_moved;
		/* an unchanged framebuffer then costs a KVM_GET_DIRTY_LOG, no compare */
		d->dirty_len = ((size_t)vram_size / 4096 + 63) / 64 * 8;
		d->dirty = calloc(1, d->dirty_len);
		d->pending = calloc(1, d->dirty_len);
		if (!d->dirty || !d->pending)
			goto fail;
		vm_ram_log_dirty(vm, d->lfb_slot);
	}
	if (vm_register_pio(vm, VGA_PORT_BASE, VGA_PORT_LEN, &vga_port_ops, &d->vga) ||
	    vm_register_pio(vm, VBE_PORT_BASE, VBE_PORT_LEN, &vbe_port_ops, &d->vga) ||
	    vm_register_mmio(vm, VGA_WINDOW_BASE, VGA_WINDOW_LEN, &vga_window_ops, &d->vga) ||
	    add_vga_rom(vm))
		goto fail;
	/* index registers: their writes show only at the next exit (a read, a data write) */
	vm_coalesce_pio(vm, 0x3c4, 1);
	vm_coalesce_pio(vm, 0x3ce, 1);
	vm_coalesce_pio(vm, 0x3d4, 1);
	vm_coalesce_pio(vm, VBE_PORT_BASE, 1);
	if (pc_pci_add(d->pci, VGA_DEVFN, &d->vga.pci))
		goto fail;
	d->on_bus = true;
	*state = d;
	return 0;
fail:
	vm_unregister_pio(vm, VGA_PORT_BASE, &d->vga);
	vm_unregister_pio(vm, VBE_PORT_BASE, &d->vga);
	vm_unregister_mmio(vm, VGA_WINDOW_BASE, &d->vga);
	vga_destroy(d);
	return -1;
}

/*
 * Read the framebuffer slot's dirty log into d->pending (the pages the
 * display frontend has not seen yet): 1 when a page was written since the
 * last read, 0 when none, -1 when the log cannot say.
 */
static int read_dirty(struct pc_vga *d)
{
	int r = vm_ram_dirty(d->vm, d->lfb_slot, d->dirty, d->dirty_len);

	if (r > 0)
		for (size_t w = 0; w < d->dirty_len / sizeof(unsigned long); w++)
			d->pending[w] |= d->dirty[w];
	return r;
}

int pc_vga_render(struct pc_vga *d, struct vga_screen *scr)
{
	int ret;

	pthread_mutex_lock(d->lock);
	/*
	 * The guest writes a RAM-mapped framebuffer without exits: the dirty
	 * log says whether it did since the last look; a write makes a new
	 * generation, so every picture of the card is redrawn.
	 */
	if (d->lfb_slot >= 0 && vbe_enabled(&d->vga) && read_dirty(d) != 0)
		vga_touch(&d->vga);
	ret = vga_render(&d->vga, scr);
	pthread_mutex_unlock(d->lock);
	return ret;
}

int pc_vga_update(struct pc_vga *d, struct vga_screen *scr, unsigned int *y0, unsigned int *y1)
{
	int ret;

	pthread_mutex_lock(d->lock);
	if (d->lfb_slot >= 0 && vbe_enabled(&d->vga)) {
		if (read_dirty(d) < 0)
			vga_touch(&d->vga);
		ret = vga_render_dirty(&d->vga, scr, d->pending, d->dirty_len * 8, y0, y1);
		memset(d->pending, 0, d->dirty_len);
	} else {
		ret = vga_render(&d->vga, scr);
		*y0 = 0;
		*y1 = ret > 0 ? scr->height : 0;
	}
	pthread_mutex_unlock(d->lock);
	return ret;
}

int pc_vga_text(struct pc_vga *d, uint16_t *cells, size_t max, unsigned int *cols,
		unsigned int *rows, int *cursor)
{
	int ret;

	pthread_mutex_lock(d->lock);
	ret = vga_text_cells(&d->vga, cells, max, cols, rows, cursor);
	pthread_mutex_unlock(d->lock);
	return ret;
}

uint64_t pc_vga_generation(struct pc_vga *d)
{
	uint64_t g;

	pthread_mutex_lock(d->lock);
	g = d->vga.generation;
	pthread_mutex_unlock(d->lock);
	return g;
}

/* The text screen's characters to path, whole or not at all. */
static int text_dump(struct pc_vga *d, const char *path)
{
	char *buf = NULL, *tmp = NULL;
	int n, ret = -1, err = ENOMEM;
	FILE *fp = NULL;

	pthread_mutex_lock(d->lock);
	n = vga_text_read(&d->vga, NULL, 0, NULL, NULL);
	if (n >= 0 && (buf = malloc((size_t)n + 1)))
		vga_text_read(&d->vga, buf, (size_t)n + 1, NULL, NULL);
	pthread_mutex_unlock(d->lock);
	if (n < 0) {
		fprintf(stderr, "kvm-launch: screendump: %s: the screen is not in a text mode\n", path);
		return -1;
	}
	if (buf && asprintf(&tmp, "%s.tmp", path) >= 0) {
		fp = fopen(tmp, "w");
		err = errno;
	} else {
		tmp = NULL;
	}
	if (fp) {
		if (fwrite(buf, 1, (size_t)n, fp) == (size_t)n && fflush(fp) == 0)
			ret = 0;
		err = errno;
		if (fclose(fp) && !ret) {
			ret = -1;
			err = errno;
		}
		if (!ret && rename(tmp, path)) {
			ret = -1;
			err = errno;
		}
		if (ret)
			unlink(tmp);
	}
	if (ret)
		fprintf(stderr, "kvm-launch: screendump: %s: %s\n", path, strerror(err));
	free(tmp);
	free(buf);
	return ret;
}

int pc_vga_screendump(struct pc_vga *d, const char *path)
{
	struct vga_screen scr = { 0 };
	size_t len = strlen(path);
	int ret;

	/* NAME.txt: the characters of a text screen, for tests and scripts */
	if (len > 4 && !strcmp(path + len - 4, ".txt"))
		return text_dump(d, path);

	if (pc_vga_render(d, &scr) < 0) {
		fprintf(stderr, "kvm-launch: vga: screendump: out of memory\n");
		return -1;
	}
	ret = screendump_png(path, scr.pixels, scr.width, scr.height, scr.stride);
	vga_screen_free(&scr);
	return ret;
}

int vm_screendump(struct vm *vm, bool asked)
{
	struct pc_vga *d = vm_device(vm, "vga");
	const char *path = getenv("KVM_LAUNCH_SCREENDUMP");
	char def[300];

	if (!asked && (!path || !*path))
		return 0;
	if (!d) {
		if (asked)
			fprintf(stderr, "kvm-launch: screendump: the machine has no display\n");
		return -1;
	}
	if (!path || !*path) {
		snprintf(def, sizeof(def), "%s-screen.png", vm_config(vm)->name);
		path = def;
	}
	if (pc_vga_screendump(d, path))
		return -1;
	fprintf(stderr, "\r\nkvm-launch: screendump: %s\r\n", path);
	return 0;
}

static const struct device_type vga_type = {
	.name = "vga", .stage = DEVICE_STAGE_DEVICE,
	.create = vga_create, .destroy = vga_destroy,
};
DEVICE_TYPE(vga_type);
