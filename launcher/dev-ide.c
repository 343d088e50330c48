/* launcher/dev-ide.c: the PIIX3 IDE function at 01.1 with the VM file's disks on images (legacy ports, BAR4 bus master). */
#include <stdio.h>
#include <stdlib.h>

#include "dev-pci.h"
#include "hw/ide_image.h"
#include "vmm.h"

#define IDE_MAX_DRIVES		4	/* primary master, slave, secondary master, slave */
#define IDE_DEFAULT_BMIBA	0xc000

/* One entry of the VM file's disks list, as the IDE needs it. */
struct ide_disk_spec {
	const char *file;		/* NULL: a CD-ROM drive without a disc */
	enum img_format format;
	bool readonly;
	bool cdrom;
	bool snapshot;			/* writes to a temporary overlay */
};

struct pc_ide {
	struct piix_ide ide;
	struct ide_image image[IDE_MAX_DRIVES];
	struct pc_pci *pci;
	struct vm *vm;
	bool ports, on_bus;
};

/* Open the image of drive index (0..3) and attach it; -1 with err on failure. */
static int ide_attach(struct piix_ide *ide, struct ide_image *im, unsigned int index,
		      const struct ide_disk_spec *spec, char *err, size_t errlen)
{
	struct ide_backend be = { 0 };

	if (index >= IDE_MAX_DRIVES) {
		snprintf(err, errlen, "IDE has %d drive positions", IDE_MAX_DRIVES);
		return -1;
	}
	if (spec->file) {
		if (spec->snapshot && !spec->readonly && !spec->cdrom ?
		    ide_image_open_snapshot(im, spec->file, spec->format, &be, err, errlen) :
		    ide_image_open(im, spec->file, spec->format,
				   spec->readonly || spec->cdrom, &be, err, errlen))
			return -1;
	} else if (!spec->cdrom) {
		snprintf(err, errlen, "a disk needs a file");
		return -1;
	}
	if (ide_drive_attach(&ide->ch[index / 2], index % 2,
			     spec->cdrom ? IDE_MEDIA_CDROM : IDE_MEDIA_DISK,
			     spec->file ? &be : NULL, err, errlen)) {
		ide_image_close(im);
		return -1;
	}
	return 0;
}

static const struct {
	uint16_t cmd, ctl;
} legacy[2] = { { 0x1f0, 0x3f6 }, { 0x170, 0x376 } };

static void pc_ide_destroy(void *state)
{
	struct pc_ide *pi = state;

	if (pi->ports)
		for (unsigned int i = 0; i < 2; i++) {
			vm_unregister_pio(pi->vm, legacy[i].cmd, &pi->ide.port[i]);
			vm_unregister_pio(pi->vm, legacy[i].ctl, &pi->ide.port[i]);
		}
	if (pi->on_bus)
		pc_pci_remove(pi->pci, PIIX3_IDE_DEVFN);
	piix_ide_destroy(&pi->ide);
	for (unsigned int i = 0; i < IDE_MAX_DRIVES; i++)
		ide_image_close(&pi->image[i]);
	free(pi);
}

static int pc_ide_create(struct vm *vm, void **state)
{
	const struct vm_config *cfg = vm_config(vm);
	struct irq_line irq[2] = { vm_irq_line(vm, 14), vm_irq_line(vm, 15) };
	struct pc_ide *pi;
	char err[512];

	pi = calloc(1, sizeof(*pi));
	if (!pi)
		return -1;
	pi->vm = vm;
	pi->pci = vm_device(vm, "pci");
	if (!pi->pci) {
		fprintf(stderr, "kvm-launch: ide: no PCI bus\n");
		free(pi);
		return -1;
	}
	/* BAR4 where SeaBIOS would put it, so that direct boot finds it set */
	piix_ide_init(&pi->ide, irq, vm_guest_mem(vm), IDE_DEFAULT_BMIBA);
	for (unsigned int i = 0; i < cfg->nr_disks; i++) {
		const struct cfg_disk *d = &cfg->disks[i];
		struct ide_disk_spec spec = {
			.file = d->file, .format = d->format,
			.readonly = d->readonly, .cdrom = d->cdrom,
			.snapshot = d->snapshot,
		};

		if (ide_attach(&pi->ide, &pi->image[i], i, &spec, err, sizeof(err))) {
			fprintf(stderr, "kvm-launch: %s:%d: disks[%u]: %s\n",
				cfg->path, d->line, i, err);
			pc_ide_destroy(pi);
			return -1;
		}
	}
	piix_ide_reset(&pi->ide);
	for (unsigned int i = 0; i < 2; i++) {
		if (vm_register_pio(vm, legacy[i].cmd, 8, &piix_ide_cmd_ops, &pi->ide.port[i]) ||
		    vm_register_pio(vm, legacy[i].ctl, 1, &piix_ide_ctl_ops, &pi->ide.port[i])) {
			pi->ports = true;
			pc_ide_destroy(pi);
			return -1;
		}
	}
	pi->ports = true;
	if (pc_pci_add(pi->pci, PIIX3_IDE_DEVFN, &pi->ide.pci)) {
		pc_ide_destroy(pi);
		return -1;
	}
	pi->on_bus = true;
	*state = pi;
	return 0;
}

static const struct device_type ide_type = {
	.name = "ide", .stage = DEVICE_STAGE_DEVICE,
	.create = pc_ide_create, .destroy = pc_ide_destroy,
};
DEVICE_TYPE(ide_type);
