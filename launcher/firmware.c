/* launcher/firmware.c: BIOS boot: firmware checks, CMOS fields, fw_cfg contents and PAM shadowing by memory slots. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "arch/layout.h"
#include "dev-pci.h"
#include "firmware.h"
#include "hw/fw_cfg.h"
#include "hw/piix.h"
#include "vmm.h"

#define LEGACY_WINDOW_START	0xc0000ULL
#define LEGACY_WINDOW_END	0x100000ULL
/* What SeaBIOS waits on an unbootable machine before it resets it. */
#define BOOT_FAIL_WAIT_MS	5000
#define BOOT_MENU_WAIT_MS	5000
/* KVM_SET_TSS_ADDR's 3 pages (vm.c) plus the identity map page: keep them out of RAM. */
#define TSS_RESERVED_START	0xfeffc000ULL
#define TSS_RESERVED_SIZE	0x4000ULL

int firmware_check_size(uint64_t size, char *err, size_t errlen)
{
	if (size < 64 * KiB || size > 16 * MiB || (size & (64 * KiB - 1))) {
		snprintf(err, errlen, "%llu bytes; a BIOS image is a multiple of 64 KiB "
			 "between 64 KiB and 16 MiB (SeaBIOS: bios.bin, 128 KiB)",
			 (unsigned long long)size);
		return -1;
	}
	return 0;
}

enum boot_dev firmware_boot_dev(const char *name)
{
	if (!strcmp(name, "disk"))
		return BOOT_DEV_DISK;
	if (!strcmp(name, "cdrom"))
		return BOOT_DEV_CDROM;
	return BOOT_DEV_NONE;
}

/*
 * The boot order QEMU's PC has always kept in CMOS: first device in the
 * low nibble of 0x3d, second in its high nibble, third in the high nibble
 * of 0x38, whose bit 0 also skips the floppy boot-sector signature check.
 */
unsigned int firmware_cmos_fields(const struct vm_config *cfg,
				  struct cmos_field *out, unsigned int max)
{
	uint8_t order[2] = { BOOT_DEV_DISK, BOOT_DEV_CDROM };
	unsigned int n = 0;

	if (!cfg->firmware || max < 3)
		return 0;
	if (cfg->nr_boot_order) {
		order[0] = cfg->boot_order[0];
		order[1] = cfg->nr_boot_order > 1 ? cfg->boot_order[1] : 0;
	}
	out[n++] = (struct cmos_field){ 0x3d, (uint8_t)(order[0] | order[1] << 4) };
	out[n++] = (struct cmos_field){ 0x38, 0x01 };
	out[n++] = (struct cmos_field){ 0x5f, (uint8_t)(cfg->vcpus ? cfg->vcpus - 1 : 0) };
	return n;
}

/*
 * SeaBIOS matches each IDE drive it finds against the lines of "bootorder"
 * with the pattern /pci@i0cf8/<any>@<dev>,<fn>/drive@<channel>/disk@<unit>;
 * a matching drive gets the line number as its priority, every other one
 * the CMOS order's (after all listed ones). VM file disk i sits on channel
 * i / 2, unit i % 2 (dev-ide.c).
 */
int firmware_bootorder(const struct vm_config *cfg, char *buf, size_t size)
{
	static const uint8_t default_order[] = { BOOT_DEV_DISK, BOOT_DEV_CDROM };
	const uint8_t *order = cfg->nr_boot_order ? cfg->boot_order : default_order;
	unsigned int nr = cfg->nr_boot_order ? cfg->nr_boot_order : 2;
	size_t len = 0;

	if (!cfg->firmware)
		return 0;
	for (unsigned int k = 0; k < nr; k++)
		for (unsigned int i = 0; i < cfg->nr_disks; i++) {
			uint8_t dev = cfg->disks[i].cdrom ? BOOT_DEV_CDROM : BOOT_DEV_DISK;
			int n;

			if (dev != order[k])
				continue;
			n = snprintf(buf + len, size - len, "%s/pci@i0cf8/ide@%x,%x/drive@%x/disk@%x",
				     len ? "\n" : "", PIIX3_IDE_DEVFN >> 3, PIIX3_IDE_DEVFN & 7,
				     i / 2, i % 2);
			if (n < 0 || (size_t)n >= size - len)
				return -1;
			len += (size_t)n;
		}
	return len ? (int)len + 1 : 0;
}

/* ---- the fw_cfg device and the legacy window ---- */

struct firmware {
	struct vm *vm;
	struct fw_cfg *cfg;

	/* Shadowing: one KVM slot per PAM region over the RAM behind it. */
	bool shadow;
	uint8_t *window_hva;		/* host RAM at LEGACY_WINDOW_START */
	uint32_t region_slot;		/* first of I440FX_PAM_REGIONS slots */
	int8_t region_ro[I440FX_PAM_REGIONS];	/* mapped state, -1 unmapped */
	FILE *debugcon;			/* SeaBIOS debug log, or NULL */
};

static int set_slot(struct vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
		    void *hva, uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uintptr_t)hva,
	};

	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		fprintf(stderr, "kvm-launch: fw_cfg: memory slot %u at 0x%llx: %s\n",
			slot, (unsigned long long)gpa, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Map PAM region i as the RAM behind it, read-only unless the region's
 * attribute lets writes reach DRAM. Reads always see that RAM: it starts
 * as a copy of the ROM (vm.c), which is what "reads go to the ROM" gives
 * until a guest writes the shadow and turns it off again.
 */
static int map_region(struct firmware *fw, unsigned int i, bool ro)
{
	struct pam_region r;
	uint32_t slot = fw->region_slot + i;

	if (fw->region_ro[i] == ro)
		return 0;
	r.base = i == 0 ? 0xf0000 : (uint32_t)(LEGACY_WINDOW_START + (i - 1) * 0x4000);
	r.size = i == 0 ? 0x10000 : 0x4000;
	/* A slot's flags cannot change in place: delete, then add. */
	if (fw->region_ro[i] >= 0 && set_slot(fw->vm, slot, r.base, 0, NULL, 0))
		return -1;
	fw->region_ro[i] = -1;
	if (set_slot(fw->vm, slot, r.base, r.size,
		     fw->window_hva + (r.base - LEGACY_WINDOW_START),
		     ro ? KVM_MEM_READONLY : 0))
		return -1;
	fw->region_ro[i] = ro;
	return 0;
}

void firmware_pam_changed(void *ctx, struct i440fx *host)
{
	struct firmware *fw = ctx;

	if (!fw || !fw->shadow)
		return;
	for (unsigned int i = 0; i < I440FX_PAM_REGIONS; i++) {
		struct pam_region r;

		i440fx_pam_region(host, i, &r);
		if (map_region(fw, i, !(r.attr & PAM_WO))) {
			/* The old mapping is gone: the guest cannot go on. */
			vm_request_exit(fw->vm, 1);
			return;
		}
	}
}

/*
 * Take 0xc0000-0xfffff out of the RAM slot that covers it, so that each
 * PAM region can become read-only or writable on its own. The slots come
 * from the top of what the hypervisor offers (vm.c numbers from 0).
 * Without read-only slots the window simply stays writable RAM.
 */
static int shadow_setup(struct firmware *fw)
{
	struct vm *vm = fw->vm;
	int nslots = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
	unsigned int i, need = I440FX_PAM_REGIONS + 1, high_slot;
	struct cfg_slot *s = NULL;
	uint8_t *hva = NULL;

	if (ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
		return 0;
	if (nslots <= 0)
		nslots = 32;
	for (i = 0; i < vm->nr_ram; i++)
		if (vm->ram[i].base <= LEGACY_WINDOW_START &&
		    vm->ram[i].base + vm->ram[i].size >= LEGACY_WINDOW_END) {
			s = &vm->ram[i];
			hva = vm->ram_hva[i];
			break;
		}
	/* Slot vm->nr_ram holds the ROM: keep clear of it and below. */
	if (!s || (unsigned int)nslots < vm->nr_ram + 1 + need)
		return 0;
	high_slot = (unsigned int)nslots - need;
	fw->region_slot = high_slot + 1;

	if (set_slot(vm, i, s->base, 0, NULL, 0))
		return -1;
	if (s->base < LEGACY_WINDOW_START &&
	    set_slot(vm, i, s->base, LEGACY_WINDOW_START - s->base, hva, 0))
		return -1;
	if (s->base + s->size > LEGACY_WINDOW_END &&
	    set_slot(vm, high_slot, LEGACY_WINDOW_END,
		     s->base + s->size - LEGACY_WINDOW_END,
		     hva + (LEGACY_WINDOW_END - s->base), 0))
		return -1;
	fw->window_hva = hva + (LEGACY_WINDOW_START - s->base);
	memset(fw->region_ro, -1, sizeof(fw->region_ro));
	/* At reset every PAM attribute is 0: nothing writes DRAM there. */
	for (i = 0; i < I440FX_PAM_REGIONS; i++)
		if (map_region(fw, i, true))
			return -1;
	fw->shadow = true;
	return 0;
}

static void put_le(uint8_t *p, uint64_t v, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* "etc/e820": 20-byte {addr, size, type} entries, RAM and reservations. */
static int add_e820(struct firmware *fw)
{
	const struct e820_entry *e;
	unsigned int n = vm_e820(fw->vm, &e), k = 0;
	uint8_t *buf = calloc(n + 1, 20);
	int ret;

	if (!buf)
		return -1;
	for (unsigned int i = 0; i < n; i++) {
		/* SeaBIOS manages the EBDA and the BIOS area itself. */
		if (e[i].type != E820_RAM)
			continue;
		put_le(buf + k * 20, e[i].addr, 8);
		put_le(buf + k * 20 + 8, e[i].size, 8);
		put_le(buf + k * 20 + 16, E820_RAM, 4);
		k++;
	}
	put_le(buf + k * 20, TSS_RESERVED_START, 8);
	put_le(buf + k * 20 + 8, TSS_RESERVED_SIZE, 8);
	put_le(buf + k * 20 + 16, E820_RESERVED, 4);
	k++;
	ret = fw_cfg_add_file(fw->cfg, "etc/e820", buf, k * 20) < 0 ? -1 : 0;
	free(buf);
	return ret;
}

static int add_file_int(struct fw_cfg *cfg, const char *name, uint64_t v,
			unsigned int size)
{
	uint8_t b[8];

	put_le(b, v, size);
	return fw_cfg_add_file(cfg, name, b, size) < 0 ? -1 : 0;
}

static int fill_fw_cfg(struct firmware *fw)
{
	const struct vm_config *cfg = vm_config(fw->vm);
	struct fw_cfg *c = fw->cfg;
	uint16_t cpus = (uint16_t)(cfg->vcpus ? cfg->vcpus : 1);
	char order[256];
	int order_len = firmware_bootorder(cfg, order, sizeof(order));

	if (fw_cfg_add_u64(c, FW_CFG_RAM_SIZE, cfg->ram_size) ||
	    fw_cfg_add_u16(c, FW_CFG_NB_CPUS, cpus) ||
	    fw_cfg_add_u16(c, FW_CFG_MAX_CPUS, cpus) ||
	    fw_cfg_add_u16(c, FW_CFG_NOGRAPHIC, cfg->display == CFG_DISPLAY_NONE) ||
	    fw_cfg_add_u16(c, FW_CFG_BOOT_MENU, cfg->boot_menu) ||
	    add_e820(fw) ||
	    add_file_int(c, "etc/boot-fail-wait", BOOT_FAIL_WAIT_MS, 4))
		return -1;
	if (cfg->boot_menu && add_file_int(c, "etc/boot-menu-wait", BOOT_MENU_WAIT_MS, 2))
		return -1;
	/*
	 * The CMOS order (firmware_cmos_fields) stays: SeaBIOS ranks the drives
	 * this file leaves out by it, and firmware without bootorder reads only it.
	 */
	if (order_len < 0 ||
	    (order_len > 0 && fw_cfg_add_file(c, "bootorder", order, (size_t)order_len) < 0))
		return -1;
	/*
	 * SeaBIOS's serial console makes the BIOS screen, its boot menu and
	 * what boot loaders print through int 10h appear on COM1, and reads
	 * the keyboard from it; with a VGA (dev-vga.c) it does both.
	 */
	if (cfg->serial != SERIAL_NONE &&
	    add_file_int(c, "etc/sercon-port", FIRMWARE_SERCON_PORT, 2))
		return -1;
	return 0;
}

/*
 * SeaBIOS prints its debug log to port 0x402 (QEMU's debugcon). With
 * KVM_LAUNCH_DEBUGCON=FILE in the environment it goes to FILE; without,
 * the port is left unclaimed.
 */
static void debugcon_write(void *dev, uint64_t offset, unsigned int size,
			   uint64_t val)
{
	(void)offset;
	(void)size;
	fputc((int)(val & 0xff), dev);
	if ((val & 0xff) == '\n')
		fflush(dev);
}

static uint64_t debugcon_read(void *dev, uint64_t offset, unsigned int size)
{
	(void)dev;
	(void)offset;
	(void)size;
	return 0xe9;	/* what QEMU answers: "a debug console is here" */
}

static const struct io_ops debugcon_ops = { debugcon_read, debugcon_write };

static int debugcon_setup(struct firmware *fw)
{
	const char *path = getenv("KVM_LAUNCH_DEBUGCON");

	if (!path || !*path)
		return 0;
	fw->debugcon = fopen(path, "w");
	if (!fw->debugcon) {
		fprintf(stderr, "kvm-launch: KVM_LAUNCH_DEBUGCON=%s: %s\n", path, strerror(errno));
		return -1;
	}
	return vm_register_pio(fw->vm, 0x402, 1, &debugcon_ops, fw->debugcon);
}

static void firmware_destroy(void *state)
{
	struct firmware *fw = state;

	if (fw->debugcon)
		fclose(fw->debugcon);
	fw_cfg_destroy(fw->cfg);
	free(fw);
}

static int firmware_create(struct vm *vm, void **state)
{
	struct firmware *fw;
	struct pc_pci *pc;

	if (!vm_config(vm)->firmware)
		return 0;
	fw = calloc(1, sizeof(*fw));
	if (!fw)
		return -1;
	fw->vm = vm;
	fw->cfg = fw_cfg_create(vm_guest_mem(vm));
	if (!fw->cfg || fill_fw_cfg(fw)) {
		fprintf(stderr, "kvm-launch: fw_cfg: out of memory\n");
		goto fail;
	}
	if (vm_register_pio(vm, FW_CFG_PORT_BASE, FW_CFG_PORT_COUNT,
			    &fw_cfg_io_ops, fw->cfg))
		goto fail;
	if (debugcon_setup(fw))
		goto fail;
	if (shadow_setup(fw))
		goto fail;
	/* The i440FX (dev-pci.c, created before us) reports PAM writes here. */
	pc = vm_device(vm, "pci");
	if (pc) {
		pc->host.pam_changed = firmware_pam_changed;
		pc->host.pam_ctx = fw;
	}
	*state = fw;
	return 0;
fail:
	firmware_destroy(fw);
	return -1;
}

struct fw_cfg *firmware_fw_cfg(struct vm *vm)
{
	struct firmware *fw = vm_device(vm, "fw_cfg");

	return fw ? fw->cfg : NULL;
}

static const struct device_type firmware_type = {
	.name = "fw_cfg", .stage = DEVICE_STAGE_BUS,
	.create = firmware_create, .destroy = firmware_destroy,
};
DEVICE_TYPE(firmware_type);
