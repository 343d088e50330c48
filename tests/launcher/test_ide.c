/* tests/launcher/test_ide.c: the IDE channel and ATA disk state machine, PIO paths and every error path. */
#include <stdio.h>

#include "test_ide_util.h"

#define DISK_SECTORS	2048u		/* 1 MiB */

static struct ide_channel ch;
static struct memdisk disk;

static void setup(bool readonly)
{
	struct ide_backend be;
	char err[128];

	ide_channel_destroy(&ch);
	free(disk.data);
	memdisk_init(&disk, DISK_SECTORS * 512ull, 512);
	be = memdisk_backend(&disk, readonly);
	ide_channel_init(&ch, 0, &test_irq, &test_mem);
	if (ide_drive_attach(&ch, 0, IDE_MEDIA_DISK, &be, err, sizeof(err)))
		tap_diag("attach: %s", err);
	irq_level = irq_edges = 0;
}

static void lba28(uint32_t lba, uint8_t count)
{
	outb(&ch, ATA_REG_SELECT, 0xe0 | ((lba >> 24) & 0x0f));
	outb(&ch, ATA_REG_NSECTOR, count);
	outb(&ch, ATA_REG_SECTOR, lba);
	outb(&ch, ATA_REG_LCYL, lba >> 8);
	outb(&ch, ATA_REG_HCYL, lba >> 16);
}

static void lba48(uint64_t lba, uint16_t count)
{
	outb(&ch, ATA_REG_SELECT, 0x40);
	outb(&ch, ATA_REG_NSECTOR, count >> 8);
	outb(&ch, ATA_REG_SECTOR, lba >> 24);
	outb(&ch, ATA_REG_LCYL, lba >> 32);
	outb(&ch, ATA_REG_HCYL, lba >> 40);
	outb(&ch, ATA_REG_NSECTOR, count);
	outb(&ch, ATA_REG_SECTOR, lba);
	outb(&ch, ATA_REG_LCYL, lba >> 8);
	outb(&ch, ATA_REG_HCYL, lba >> 16);
}

static bool sector_ok(const uint8_t *buf, uint64_t lba)
{
	for (unsigned int i = 0; i < 512; i++)
		if (buf[i] != memdisk_pattern(lba * 512 + i, 512))
			return false;
	return true;
}

static bool is_error(uint8_t err)
{
	return (altstatus(&ch) & (ATA_ERR | ATA_DRQ | ATA_BSY)) == ATA_ERR &&
	       inb(&ch, ATA_REG_ERROR) == err;
}

static void identify(uint16_t *id)
{
	outb(&ch, ATA_REG_STATUS, 0xec);
	pio_in(&ch, (uint8_t *)id, 512);
}

static void test_signature_and_selection(void)
{
	struct ide_channel empty;

	setup(false);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 1 && inb(&ch, ATA_REG_SECTOR) == 1 &&
	       inb(&ch, ATA_REG_LCYL) == 0 && inb(&ch, ATA_REG_HCYL) == 0,
	       "disk signature after reset");
	tap_ok(inb(&ch, ATA_REG_STATUS) == (ATA_DRDY | ATA_DSC) &&
	       inb(&ch, ATA_REG_ERROR) == 0x01, "status DRDY|DSC, error 01 (diagnostics passed)");
	outb(&ch, ATA_REG_SELECT, 0xb0);
	tap_ok(inb(&ch, ATA_REG_STATUS) == 0 && altstatus(&ch) == 0 &&
	       inb(&ch, ATA_REG_NSECTOR) == 0, "absent slave reads zeros");
	outb(&ch, ATA_REG_STATUS, 0xec);
	tap_ok(!irq_edges && altstatus(&ch) == 0, "a command to the absent slave is ignored");
	outb(&ch, ATA_REG_SELECT, 0xa0);
	ide_channel_init(&empty, 1, &test_irq, &test_mem);
	tap_ok(inb(&empty, ATA_REG_STATUS) == 0xff && altstatus(&empty) == 0xff &&
	       inb(&empty, ATA_REG_LCYL) == 0xff, "empty channel floats (0xff)");
	outb(&empty, ATA_REG_STATUS, 0x90);
	tap_ok(!irq_edges, "diagnostics on an empty channel: no interrupt");
	tap_ok(inw(&ch) == 0, "data port without DRQ reads 0, not a stale buffer");
}

static void test_attach_errors(void)
{
	struct ide_backend be = memdisk_backend(&disk, false);
	char err[128] = "";

	setup(false);
	tap_ok(ide_drive_attach(&ch, 0, IDE_MEDIA_DISK, &be, err, sizeof(err)) == -1 &&
	       strstr(err, "in use"), "attaching a used unit fails: %s", err);
	be.size = 511;
	tap_ok(ide_drive_attach(&ch, 1, IDE_MEDIA_DISK, &be, err, sizeof(err)) == -1,
	       "a disk smaller than a sector is refused: %s", err);
	tap_ok(ide_drive_attach(&ch, 1, IDE_MEDIA_DISK, NULL, err, sizeof(err)) == -1,
	       "a disk without a backend is refused");
	tap_ok(ide_drive_attach(&ch, 2, IDE_MEDIA_DISK, &be, err, sizeof(err)) == -1,
	       "unit 2 does not exist");
}

static void test_identify(void)
{
	uint16_t id[256];
	char model[41];

	setup(false);
	outb(&ch, ATA_REG_STATUS, 0xec);
	tap_ok(irq_level && (altstatus(&ch) & ATA_DRQ), "IDENTIFY: DRQ and interrupt");
	inb(&ch, ATA_REG_STATUS);
	tap_ok(!irq_level, "status read acknowledges the interrupt");
	pio_in(&ch, (uint8_t *)id, 512);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "DRQ drops after 256 words");
	tap_ok(id[0] == 0x0040, "word 0: fixed ATA device");
	tap_ok(id[1] == 2 && id[3] == 16 && id[6] == 63,
	       "default geometry C/H/S %u/%u/%u", id[1], id[3], id[6]);
	tap_ok((id[60] | (uint32_t)id[61] << 16) == DISK_SECTORS,
	       "LBA28 capacity");
	tap_ok(id[100] == DISK_SECTORS && !id[101] && !id[102] && !id[103],
	       "LBA48 capacity");
	tap_ok((id[83] & 0x7400) == 0x7400 && (id[86] & 0x0400),
	       "LBA48 and FLUSH CACHE (EXT) supported and enabled");
	tap_ok(id[49] & 0x0300, "LBA and DMA capability");
	tap_ok(id[47] == (0x8000 | IDE_MAX_MULTIPLE) && !(id[59] & 0x100),
	       "READ/WRITE MULTIPLE up to 16, none set");
	tap_ok((id[63] & 0x07) == 0x07 && (id[88] & 0x3f) == 0x3f,
	       "multiword DMA 0-2 and UDMA 0-5 supported");
	for (int i = 0; i < 20; i++) {
		model[2 * i] = id[27 + i] >> 8;
		model[2 * i + 1] = id[27 + i];
	}
	model[40] = 0;
	tap_ok(!strncmp(model, "KVM-LAUNCH HARDDISK ", 20), "model string '%.20s'", model);
	tap_ok(((id[10] >> 8) == 'K') && (id[10] & 0xff) == 'L', "serial string");
	tap_ok(inw(&ch) == 0, "reading past the block gives 0");
}

static void test_pio_read(void)
{
	uint8_t buf[512];
	bool ok = true;

	setup(false);
	lba28(5, 1);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(irq_edges == 1 && (altstatus(&ch) & ATA_DRQ), "READ SECTORS: DRQ + interrupt");
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 5), "sector 5 data");
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && irq_edges == 1,
	       "no interrupt after the last block");
	tap_ok(inb(&ch, ATA_REG_SECTOR) == 5, "task file holds the last LBA");

	/* count 0 means 256 sectors */
	irq_edges = 0;
	lba28(1000, 0);
	outb(&ch, ATA_REG_STATUS, 0x20);
	for (unsigned int s = 0; s < 256; s++) {
		inb(&ch, ATA_REG_STATUS);
		pio_in(&ch, buf, 512);
		ok &= sector_ok(buf, 1000 + s);
	}
	tap_ok(ok && irq_edges == 256, "count 0 reads 256 sectors, one interrupt each (%d)", irq_edges);
	tap_ok(inb(&ch, ATA_REG_SECTOR) == (1255 & 0xff) &&
	       inb(&ch, ATA_REG_LCYL) == (1255 >> 8), "LBA registers at 1255");

	/* 32-bit data port accesses */
	lba28(7, 1);
	outb(&ch, ATA_REG_STATUS, 0x21);
	for (unsigned int i = 0; i < 512; i += 4) {
		uint32_t v = ide_cmd_ops.read(&ch, 0, 4);

		memcpy(buf + i, &v, 4);
	}
	tap_ok(sector_ok(buf, 7) && !(altstatus(&ch) & ATA_DRQ), "32-bit PIO reads");
	/* a write to the data port during a read is ignored */
	lba28(8, 1);
	outb(&ch, ATA_REG_STATUS, 0x20);
	outw(&ch, 0x1234);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 8), "data-out writes during a read phase are ignored");
}

static void test_pio_write(void)
{
	uint8_t buf[512];
	bool ok = true;

	setup(false);
	lba28(10, 2);
	outb(&ch, ATA_REG_STATUS, 0x30);
	tap_ok(!irq_edges && (altstatus(&ch) & ATA_DRQ), "WRITE SECTORS: DRQ, no interrupt for the first block");
	tap_ok(inw(&ch) == 0 && (altstatus(&ch) & ATA_DRQ), "reads during a write phase give 0 and move nothing");
	for (unsigned int s = 0; s < 2; s++) {
		for (unsigned int i = 0; i < 256; i++)
			outw(&ch, 0xa500 + s);
		ok &= irq_edges == (int)s + 1;
		inb(&ch, ATA_REG_STATUS);
	}
	tap_ok(ok, "an interrupt after each block");
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "status after the write");
	tap_ok(disk.data[10 * 512] == 0x00 && disk.data[10 * 512 + 1] == 0xa5 &&
	       disk.data[11 * 512] == 0x01 && disk.data[12 * 512] == memdisk_pattern(12 * 512, 512),
	       "sectors 10 and 11 written, 12 untouched");

	/* WRITE SECTORS EXT */
	lba48(2000, 1);
	outb(&ch, ATA_REG_STATUS, 0x34);
	for (unsigned int i = 0; i < 256; i++)
		outw(&ch, 0x5a5a);
	tap_ok(disk.data[2000 * 512] == 0x5a && altstatus(&ch) == (ATA_DRDY | ATA_DSC),
	       "WRITE SECTORS EXT");
	(void)buf;
}

static void test_lba48(void)
{
	uint8_t buf[512];
	unsigned int reads;

	setup(false);
	lba48(0x7fe, 2);
	devctl(&ch, ATA_HOB);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 0 && inb(&ch, ATA_REG_SECTOR) == 0,
	       "HOB reads the previous (high) bytes");
	devctl(&ch, 0);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 2 && inb(&ch, ATA_REG_LCYL) == 0x07 && inb(&ch, ATA_REG_SECTOR) == 0xfe,
	       "HOB clear reads the low bytes");
	devctl(&ch, ATA_HOB);
	outb(&ch, ATA_REG_STATUS, 0x24);
	tap_ok(ide_ctl_ops.read(&ch, 0, 1) & ATA_DRQ, "READ SECTORS EXT");
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 0x7fe), "first sector");
	inb(&ch, ATA_REG_STATUS);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 0x7ff) && !(altstatus(&ch) & ATA_DRQ), "second sector");
	/* an LBA with bits above 28 set lies past this disk */
	reads = disk.reads;
	lba48(1ull << 40, 1);
	outb(&ch, ATA_REG_STATUS, 0x24);
	tap_ok(is_error(ATA_IDNF), "LBA48 address 2^40: IDNF");
	lba48(0xffffffffffffull, 0);
	outb(&ch, ATA_REG_STATUS, 0x24);
	tap_ok(is_error(ATA_IDNF) && disk.reads == reads, "largest LBA48, count 65536: IDNF without a read");
}

static void test_range_errors(void)
{
	setup(false);
	lba28(DISK_SECTORS, 1);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(is_error(ATA_IDNF) && irq_edges == 1, "LBA just past the end: IDNF + interrupt");
	lba28(DISK_SECTORS - 1, 2);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(is_error(ATA_IDNF), "a count running past the end: IDNF");
	lba28(DISK_SECTORS - 10, 0);
	outb(&ch, ATA_REG_STATUS, 0x30);
	tap_ok(is_error(ATA_IDNF) && !(altstatus(&ch) & ATA_DRQ), "write with count 0 (256) past the end");
	lba28(0x0fffffff, 0);
	outb(&ch, ATA_REG_STATUS, 0xc8);
	tap_ok(is_error(ATA_IDNF), "READ DMA at the top of LBA28: IDNF");
	lba48(DISK_SECTORS - 1, 2);
	outb(&ch, ATA_REG_STATUS, 0x42);
	tap_ok(is_error(ATA_IDNF), "READ VERIFY EXT past the end");
	tap_ok(disk.reads == 0 && disk.writes == 0, "no backend access for any of them");
	tap_ok(inw(&ch) == 0, "data port reads 0 after an error");
}

static void test_chs(void)
{
	uint8_t buf[512];
	uint16_t id[256];

	setup(false);
	/* C/H/S 1/2/3 with 16 heads, 63 sectors: LBA (1*16+2)*63+2 */
	outb(&ch, ATA_REG_SELECT, 0xa2);
	outb(&ch, ATA_REG_NSECTOR, 1);
	outb(&ch, ATA_REG_SECTOR, 3);
	outb(&ch, ATA_REG_LCYL, 1);
	outb(&ch, ATA_REG_HCYL, 0);
	outb(&ch, ATA_REG_STATUS, 0x20);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 18 * 63 + 2), "CHS read");
	tap_ok(inb(&ch, ATA_REG_SECTOR) == 3 && inb(&ch, ATA_REG_LCYL) == 1 &&
	       (inb(&ch, ATA_REG_SELECT) & 0x0f) == 2, "CHS registers after the read");
	outb(&ch, ATA_REG_SECTOR, 0);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(is_error(ATA_IDNF), "CHS sector 0: IDNF");
	outb(&ch, ATA_REG_SELECT, 0xa0);
	outb(&ch, ATA_REG_SECTOR, 64);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(is_error(ATA_IDNF), "CHS sector 64: IDNF");

	/* INITIALIZE DEVICE PARAMETERS: 4 heads, 32 sectors */
	outb(&ch, ATA_REG_SELECT, 0xa3);
	outb(&ch, ATA_REG_NSECTOR, 32);
	outb(&ch, ATA_REG_STATUS, 0x91);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "INITIALIZE DEVICE PARAMETERS");
	identify(id);
	tap_ok(id[54] == DISK_SECTORS / 128 && id[55] == 4 && id[56] == 32 &&
	       id[57] == DISK_SECTORS, "current geometry in words 54-58");
	outb(&ch, ATA_REG_SELECT, 0xa3);	/* head 3 */
	outb(&ch, ATA_REG_NSECTOR, 1);
	outb(&ch, ATA_REG_SECTOR, 1);
	outb(&ch, ATA_REG_LCYL, 2);
	outb(&ch, ATA_REG_STATUS, 0x20);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, (2 * 4 + 3) * 32), "read under the new translation");
	outb(&ch, ATA_REG_SELECT, 0xa4);	/* head 4 of 4 */
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(is_error(ATA_IDNF), "head beyond the translation: IDNF");
	outb(&ch, ATA_REG_NSECTOR, 0);
	outb(&ch, ATA_REG_STATUS, 0x91);
	tap_ok(is_error(ATA_ABRT), "0 sectors per track: ABRT");
	outb(&ch, ATA_REG_SELECT, 0xa0);
	outb(&ch, ATA_REG_LCYL, 0);
	outb(&ch, ATA_REG_SECTOR, 1);
	outb(&ch, ATA_REG_STATUS, 0x70);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "SEEK");
	outb(&ch, ATA_REG_STATUS, 0x10);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "RECALIBRATE");
}

static void test_multiple(void)
{
	uint8_t buf[512];
	uint16_t id[256];
	bool ok = true;
	int blocks = 0;

	setup(false);
	lba28(0, 4);
	outb(&ch, ATA_REG_STATUS, 0xc4);
	tap_ok(is_error(ATA_ABRT), "READ MULTIPLE before SET MULTIPLE: ABRT");
	outb(&ch, ATA_REG_NSECTOR, 3);
	outb(&ch, ATA_REG_STATUS, 0xc6);
	tap_ok(is_error(ATA_ABRT), "SET MULTIPLE 3: ABRT");
	outb(&ch, ATA_REG_NSECTOR, 32);
	outb(&ch, ATA_REG_STATUS, 0xc6);
	tap_ok(is_error(ATA_ABRT), "SET MULTIPLE 32: ABRT");
	outb(&ch, ATA_REG_NSECTOR, 4);
	outb(&ch, ATA_REG_STATUS, 0xc6);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "SET MULTIPLE 4");
	identify(id);
	tap_ok(id[59] == 0x0104, "word 59 shows 4");
	irq_edges = 0;
	lba28(100, 10);
	outb(&ch, ATA_REG_STATUS, 0xc4);
	for (unsigned int s = 0; s < 10; s++) {
		if (s % 4 == 0) {
			inb(&ch, ATA_REG_STATUS);
			blocks++;
		}
		pio_in(&ch, buf, 512);
		ok &= sector_ok(buf, 100 + s);
	}
	tap_ok(ok && irq_edges == 3 && blocks == 3 && !(altstatus(&ch) & ATA_DRQ),
	       "READ MULTIPLE 10 sectors in blocks 4+4+2 (%d interrupts)", irq_edges);
	irq_edges = 0;
	lba48(200, 6);
	outb(&ch, ATA_REG_STATUS, 0x39);
	for (unsigned int s = 0; s < 6; s++)
	{
		for (unsigned int i = 0; i < 256; i++)
			outw(&ch, 0x4242);
		if (irq_level)
			inb(&ch, ATA_REG_STATUS);
	}
	tap_ok(irq_edges == 2 && disk.data[205 * 512] == 0x42 &&
	       disk.data[206 * 512] != 0x42, "WRITE MULTIPLE EXT 6 sectors, 2 interrupts");
	lba28(300, 2);
	outb(&ch, ATA_REG_STATUS, 0xc5);
	for (unsigned int i = 0; i < 512; i++)
		outw(&ch, 0x1111);
	tap_ok(disk.data[301 * 512] == 0x11, "WRITE MULTIPLE");
	lba48(400, 1);
	outb(&ch, ATA_REG_STATUS, 0x29);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 400), "READ MULTIPLE EXT");
	outb(&ch, ATA_REG_NSECTOR, 0);
	outb(&ch, ATA_REG_STATUS, 0xc6);
	outb(&ch, ATA_REG_STATUS, 0xc5);
	tap_ok(is_error(ATA_ABRT), "SET MULTIPLE 0 disables it again");
}

static void test_readonly_and_failures(void)
{
	uint8_t buf[512];

	setup(true);
	lba28(1, 1);
	outb(&ch, ATA_REG_STATUS, 0x30);
	tap_ok(is_error(ATA_ABRT) && irq_edges == 1, "read-only: WRITE SECTORS aborts");
	outb(&ch, ATA_REG_STATUS, 0xca);
	tap_ok(is_error(ATA_ABRT), "read-only: WRITE DMA aborts");
	outb(&ch, ATA_REG_NSECTOR, 1);
	outb(&ch, ATA_REG_STATUS, 0xc6);
	lba28(1, 1);
	outb(&ch, ATA_REG_STATUS, 0xc5);
	tap_ok(is_error(ATA_ABRT), "read-only: WRITE MULTIPLE aborts");
	lba48(1, 1);
	outb(&ch, ATA_REG_STATUS, 0x34);
	tap_ok(is_error(ATA_ABRT), "read-only: WRITE SECTORS EXT aborts");
	outb(&ch, ATA_REG_STATUS, 0xe7);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && !disk.flushes,
	       "read-only: FLUSH CACHE succeeds without touching the image");
	tap_ok(disk.writes == 0, "read-only disk never written");
	lba28(1, 1);
	outb(&ch, ATA_REG_STATUS, 0x20);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 1), "read-only disk still reads");

	setup(false);
	disk.fail_read = true;
	lba28(3, 2);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(is_error(ATA_UNC) && inb(&ch, ATA_REG_SECTOR) == 3, "backend read error: UNC at the failing LBA");
	tap_ok(inw(&ch) == 0, "no data after a failed read");
	outb(&ch, ATA_REG_STATUS, 0x40);
	tap_ok(is_error(ATA_UNC), "READ VERIFY with a read error: UNC");
	disk.fail_read = false;
	lba28(3, 2);
	outb(&ch, ATA_REG_STATUS, 0x40);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && inb(&ch, ATA_REG_SECTOR) == 4,
	       "READ VERIFY");
	disk.fail_write = true;
	lba28(3, 1);
	outb(&ch, ATA_REG_STATUS, 0x30);
	for (unsigned int i = 0; i < 256; i++)
		outw(&ch, 0);
	tap_ok(is_error(ATA_ABRT), "backend write error: ABRT");
	disk.fail_flush = true;
	outb(&ch, ATA_REG_STATUS, 0xea);
	tap_ok(is_error(ATA_ABRT), "FLUSH CACHE EXT failing: ABRT");
	disk.fail_flush = false;
	outb(&ch, ATA_REG_STATUS, 0xe7);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && disk.flushes == 2, "FLUSH CACHE");
}

static void test_features_power_unknown(void)
{
	uint16_t id[256];
	static const uint8_t unknown[] = { 0x00, 0xa0, 0xa1, 0x08, 0xff, 0xf8, 0x27 };

	setup(false);
	outb(&ch, ATA_REG_ERROR, 0x03);
	outb(&ch, ATA_REG_NSECTOR, 0x22);
	outb(&ch, ATA_REG_STATUS, 0xef);
	identify(id);
	tap_ok((id[63] & 0x0700) == 0x0400 && !(id[88] & 0xff00), "SET FEATURES: MWDMA2 selected");
	outb(&ch, ATA_REG_ERROR, 0x03);
	outb(&ch, ATA_REG_NSECTOR, 0x45);
	outb(&ch, ATA_REG_STATUS, 0xef);
	identify(id);
	tap_ok((id[88] & 0xff00) == 0x2000 && !(id[63] & 0x0700), "SET FEATURES: UDMA5 selected");
	outb(&ch, ATA_REG_ERROR, 0x03);
	outb(&ch, ATA_REG_NSECTOR, 0x46);
	outb(&ch, ATA_REG_STATUS, 0xef);
	tap_ok(is_error(ATA_ABRT), "SET FEATURES: UDMA6 refused");
	outb(&ch, ATA_REG_ERROR, 0x03);
	outb(&ch, ATA_REG_NSECTOR, 0x0c);
	outb(&ch, ATA_REG_STATUS, 0xef);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "SET FEATURES: PIO4");
	outb(&ch, ATA_REG_ERROR, 0x82);
	outb(&ch, ATA_REG_STATUS, 0xef);
	identify(id);
	tap_ok(!(id[85] & 0x20), "SET FEATURES: write cache off");
	outb(&ch, ATA_REG_ERROR, 0x77);
	outb(&ch, ATA_REG_STATUS, 0xef);
	tap_ok(is_error(ATA_ABRT), "SET FEATURES: unknown feature aborts");

	outb(&ch, ATA_REG_STATUS, 0xe5);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 0xff, "CHECK POWER MODE: active");
	outb(&ch, ATA_REG_STATUS, 0xe0);
	outb(&ch, ATA_REG_STATUS, 0xe5);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 0x00, "after STANDBY IMMEDIATE: standby");
	outb(&ch, ATA_REG_STATUS, 0xe3);
	outb(&ch, ATA_REG_STATUS, 0xe5);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 0xff, "after IDLE: active");
	outb(&ch, ATA_REG_STATUS, 0xe2);
	lba28(0, 1);
	outb(&ch, ATA_REG_STATUS, 0x40);
	outb(&ch, ATA_REG_STATUS, 0xe5);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 0xff, "a media access wakes from standby");
	outb(&ch, ATA_REG_STATUS, 0xe1);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "IDLE IMMEDIATE");

	for (unsigned int i = 0; i < sizeof(unknown); i++) {
		irq_edges = 0;
		outb(&ch, ATA_REG_STATUS, unknown[i]);
		tap_ok(is_error(ATA_ABRT) && irq_edges == 1, "command %02x: ABRT", unknown[i]);
	}
	outb(&ch, ATA_REG_LCYL, 0x55);
	outb(&ch, ATA_REG_STATUS, 0x90);
	tap_ok(inb(&ch, ATA_REG_ERROR) == 0x01 && inb(&ch, ATA_REG_LCYL) == 0 &&
	       inb(&ch, ATA_REG_NSECTOR) == 1 && irq_level,
	       "EXECUTE DEVICE DIAGNOSTIC: signature, code 01, interrupt");
}

static void test_devctl(void)
{
	uint8_t buf[512];

	setup(false);
	devctl(&ch, ATA_NIEN);
	lba28(0, 1);
	outb(&ch, ATA_REG_STATUS, 0x20);
	tap_ok(!irq_level && (altstatus(&ch) & ATA_DRQ), "nIEN masks the interrupt");
	devctl(&ch, 0);
	tap_ok(irq_level, "clearing nIEN delivers the pending one");
	tap_ok(altstatus(&ch) & ATA_DRQ && irq_level, "alt status does not acknowledge");
	inb(&ch, ATA_REG_STATUS);
	tap_ok(!irq_level, "status does");
	/* software reset in the middle of a transfer */
	devctl(&ch, ATA_SRST);
	tap_ok(altstatus(&ch) & ATA_BSY, "BSY while SRST is set");
	outb(&ch, ATA_REG_STATUS, 0xec);
	tap_ok(altstatus(&ch) & ATA_BSY, "commands ignored during reset");
	devctl(&ch, 0);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && inb(&ch, ATA_REG_NSECTOR) == 1 &&
	       inb(&ch, ATA_REG_ERROR) == 1, "after SRST: ready with the signature");
	tap_ok(inw(&ch) == 0 && !irq_level, "transfer dropped, no interrupt");
	/* a new command ends an unfinished one */
	lba28(9, 2);
	outb(&ch, ATA_REG_STATUS, 0x20);
	inw(&ch);
	lba28(20, 1);
	outb(&ch, ATA_REG_STATUS, 0x20);
	pio_in(&ch, buf, 512);
	tap_ok(sector_ok(buf, 20) && !(altstatus(&ch) & ATA_DRQ), "a new command replaces an unfinished transfer");
	/* hardware reset */
	outb(&ch, ATA_REG_NSECTOR, 8);
	outb(&ch, ATA_REG_STATUS, 0xc6);
	ide_channel_reset(&ch);
	lba28(0, 1);
	outb(&ch, ATA_REG_STATUS, 0xc4);
	tap_ok(is_error(ATA_ABRT), "hardware reset clears the multiple setting");
}

int main(void)
{
	ram = calloc(1, RAM_SIZE);
	tap_plan(117);
	test_signature_and_selection();
	test_attach_errors();
	test_identify();
	test_pio_read();
	test_pio_write();
	test_lba48();
	test_range_errors();
	test_chs();
	test_multiple();
	test_readonly_and_failures();
	test_features_power_unknown();
	test_devctl();
	ide_channel_destroy(&ch);
	free(disk.data);
	free(ram);
	return tap_done();
}
