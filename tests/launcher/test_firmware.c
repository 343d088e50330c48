/* tests/launcher/test_firmware.c: BIOS boot helpers: firmware image sizes, boot.order codes, CMOS fields, the bootorder file. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "config.h"
#include "firmware.h"

/*
 * SeaBIOS's rule for a bootorder line: its pattern for an IDE drive,
 * "/pci@i0cf8/ANY@1,1/drive@C/disk@U", where ANY is a glob star matching
 * any run of characters without '/', must match the line up to its end or
 * a '/'.
 */
static bool glob_matches(const char *glob, const char *s, const char *end)
{
	while (*glob) {
		if (*glob == '*') {
			while (s < end && *s != '/' && *s != glob[1])
				s++;
			glob++;
			continue;
		}
		if (s == end || *glob != *s)
			return false;
		glob++;
		s++;
	}
	return s == end || *s == '/';
}

/* The 1-based line the drive on channel ch, unit u matches, or 0: its priority. */
static int seabios_prio(const char *order, unsigned int ch, unsigned int u)
{
	char glob[64];
	int line = 1;

	snprintf(glob, sizeof(glob), "/pci@i0cf8/*@1,1/drive@%x/disk@%x", ch, u);
	for (const char *p = order; *p; line++) {
		const char *end = strchr(p, '\n');

		if (!end)
			end = p + strlen(p);
		if (glob_matches(glob, p, end))
			return line;
		p = *end ? end + 1 : end;
	}
	return 0;
}

static int cmos(const struct vm_config *cfg, unsigned int idx, int *val)
{
	struct cmos_field f[8];
	unsigned int n = firmware_cmos_fields(cfg, f, 8);

	for (unsigned int i = 0; i < n; i++)
		if (f[i].index == idx) {
			*val = f[i].value;
			return 1;
		}
	return 0;
}

int main(void)
{
	char err[256];
	struct vm_config cfg;
	struct cmos_field f[8];
	int v = -1;

	tap_plan(19);

	tap_ok(firmware_check_size(128 << 10, err, sizeof(err)) == 0 &&
	       firmware_check_size(256 << 10, err, sizeof(err)) == 0,
	       "128 KiB and 256 KiB SeaBIOS images accepted");
	tap_ok(firmware_check_size(100000, err, sizeof(err)) < 0 &&
	       strstr(err, "100000 bytes") != NULL,
	       "a size that is not a multiple of 64 KiB refused, with the size");
	tap_ok(firmware_check_size(0, err, sizeof(err)) < 0 &&
	       firmware_check_size(32 << 20, err, sizeof(err)) < 0,
	       "empty and 32 MiB images refused");

	tap_ok(firmware_boot_dev("disk") == BOOT_DEV_DISK &&
	       firmware_boot_dev("cdrom") == BOOT_DEV_CDROM &&
	       firmware_boot_dev("floppy") == BOOT_DEV_NONE &&
	       firmware_boot_dev("") == BOOT_DEV_NONE,
	       "boot.order names map to CMOS codes; others refused");

	memset(&cfg, 0, sizeof(cfg));
	cfg.vcpus = 1;
	tap_ok(firmware_cmos_fields(&cfg, f, 8) == 0,
	       "direct Linux boot: no BIOS CMOS fields");

	cfg.firmware = "/usr/share/seabios/bios.bin";
	tap_ok(cmos(&cfg, 0x3d, &v) && v == (BOOT_DEV_DISK | BOOT_DEV_CDROM << 4),
	       "default boot order: disk, then cdrom (0x3d = 0x32)");
	cfg.nr_boot_order = 2;
	cfg.boot_order[0] = BOOT_DEV_CDROM;
	cfg.boot_order[1] = BOOT_DEV_DISK;
	tap_ok(cmos(&cfg, 0x3d, &v) && v == 0x23, "cdrom, disk: 0x3d = 0x23");
	cfg.nr_boot_order = 1;
	tap_ok(cmos(&cfg, 0x3d, &v) && v == 0x03, "cdrom only: 0x3d = 0x03");
	tap_ok(cmos(&cfg, 0x38, &v) && (v & 0xf0) == 0 && (v & 1),
	       "0x38: no third device, floppy signature check off");
	tap_ok(cmos(&cfg, 0x5f, &v) && v == 0, "0x5f: one CPU is stored as 0");
	cfg.vcpus = 4;
	tap_ok(cmos(&cfg, 0x5f, &v) && v == 3, "0x5f: CPU count minus one");
	tap_ok(firmware_cmos_fields(&cfg, f, 2) == 0,
	       "too small an output array: nothing written");

	/* The "bootorder" fw_cfg file. */
	char order[256];
	int len;

	memset(&cfg, 0, sizeof(cfg));
	cfg.firmware = "/usr/share/seabios/bios.bin";
	cfg.nr_disks = 3;
	cfg.disks[1].cdrom = true;	/* primary slave */
	len = firmware_bootorder(&cfg, order, sizeof(order));
	tap_ok(len == (int)strlen(order) + 1 &&
	       !strcmp(order, "/pci@i0cf8/ide@1,1/drive@0/disk@0\n"
			      "/pci@i0cf8/ide@1,1/drive@1/disk@0\n"
			      "/pci@i0cf8/ide@1,1/drive@0/disk@1"),
	       "default order: the disks by position, then the CD-ROM; QEMU's IDE paths, NUL-terminated");
	tap_ok(seabios_prio(order, 0, 0) == 1 && seabios_prio(order, 1, 0) == 2 &&
	       seabios_prio(order, 0, 1) == 3 && seabios_prio(order, 1, 1) == 0,
	       "SeaBIOS's IDE patterns match each drive's line, none for the empty position");
	cfg.nr_boot_order = 2;
	cfg.boot_order[0] = BOOT_DEV_CDROM;
	cfg.boot_order[1] = BOOT_DEV_DISK;
	len = firmware_bootorder(&cfg, order, sizeof(order));
	tap_ok(len > 0 && seabios_prio(order, 0, 1) == 1 && seabios_prio(order, 0, 0) == 2 &&
	       seabios_prio(order, 1, 0) == 3,
	       "cdrom, disk: the CD-ROM (primary slave) first");
	cfg.nr_boot_order = 1;
	cfg.boot_order[0] = BOOT_DEV_DISK;
	len = firmware_bootorder(&cfg, order, sizeof(order));
	tap_ok(len > 0 && seabios_prio(order, 0, 1) == 0 &&
	       seabios_prio(order, 0, 0) == 1 && seabios_prio(order, 1, 0) == 2,
	       "disk only: the CD-ROM is left to the CMOS order (after the listed drives)");
	tap_ok(firmware_bootorder(&cfg, order, 20) == -1,
	       "too small a buffer: refused");
	cfg.nr_boot_order = 0;
	cfg.nr_disks = 0;
	tap_ok(firmware_bootorder(&cfg, order, sizeof(order)) == 0,
	       "no drives: no bootorder file");
	cfg.nr_disks = 1;
	cfg.firmware = NULL;
	tap_ok(firmware_bootorder(&cfg, order, sizeof(order)) == 0,
	       "direct Linux boot: no bootorder file");
	return tap_done();
}
