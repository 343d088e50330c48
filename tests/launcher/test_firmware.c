/* tests/launcher/test_firmware.c: BIOS boot helpers: firmware image sizes, boot.order codes, CMOS fields. */
#include <string.h>

#include "tap.h"
#include "config.h"
#include "firmware.h"

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

	tap_plan(12);

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
	return tap_done();
}
