/* launcher/firmware.h: BIOS boot: firmware image checks, boot order, CMOS fields, fw_cfg. */
#ifndef LAUNCHER_FIRMWARE_H
#define LAUNCHER_FIRMWARE_H

#include <stddef.h>
#include <stdint.h>

struct vm_config;

/* boot.firmware when the VM file gives no kernel. */
#define FIRMWARE_DEFAULT	"/usr/share/seabios/bios.bin"
/* SeaBIOS's serial console (sercon) port: COM1. */
#define FIRMWARE_SERCON_PORT	0x3f8
/* The VGA BIOS SeaBIOS runs for display.type = "std" (fw_cfg "pci1234,1111.rom"). */
#define FIRMWARE_VGA_ROM	"/usr/share/seabios/vgabios-stdvga.bin"

/*
 * A firmware image is mapped just below 4 GiB with the reset vector in
 * its last 16 bytes and its last 128 KiB also at 0xe0000: its size must
 * be a multiple of 64 KiB, at least 64 KiB, at most 16 MiB. Returns 0, or
 * -1 with the reason in err.
 */
int firmware_check_size(uint64_t size, char *err, size_t errlen);

/* boot.order entries, in CMOS boot-device codes (what SeaBIOS reads). */
enum boot_dev {
	BOOT_DEV_NONE = 0,
	BOOT_DEV_DISK = 2,
	BOOT_DEV_CDROM = 3,
};
/* "disk" / "cdrom" -> code; BOOT_DEV_NONE for anything else. */
enum boot_dev firmware_boot_dev(const char *name);

/* A CMOS byte SeaBIOS reads, set by the RTC device at creation. */
struct cmos_field {
	uint8_t index;
	uint8_t value;
};
/*
 * The CMOS fields of BIOS boot besides the memory sizes: boot order
 * (0x3d, 0x38) and CPU count (0x5f). Returns how many were written
 * to out (at most max); 0 for a direct Linux boot.
 */
unsigned int firmware_cmos_fields(const struct vm_config *cfg,
				  struct cmos_field *out, unsigned int max);

/*
 * The "bootorder" fw_cfg file SeaBIOS reads (QEMU's format): one
 * OpenFirmware device path per line, first boot device first, for every
 * drive of the VM file in boot.order (default: disks, then CD-ROMs), e.g.
 * /pci@i0cf8/ide@1,1/drive@0/disk@1 for the primary slave. Writes the text
 * and its terminating NUL to buf; returns the length with the NUL, 0 when
 * no drive is listed (or for a direct Linux boot), -1 when buf is too small.
 */
int firmware_bootorder(const struct vm_config *cfg, char *buf, size_t size);

struct vm;
struct i440fx;
struct fw_cfg;

/* The fw_cfg device of a BIOS-booted VM (for the ACPI tables), or NULL. */
struct fw_cfg *firmware_fw_cfg(struct vm *vm);

/*
 * The i440FX PAM callback (struct i440fx.pam_changed, ctx = the "fw_cfg"
 * device state): remaps the 0xc0000-0xfffff regions to match the registers.
 */
void firmware_pam_changed(void *ctx, struct i440fx *host);

#endif
