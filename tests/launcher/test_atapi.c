/* tests/launcher/test_atapi.c: the ATAPI CD-ROM: PACKET protocol, MMC commands, sense data, PIO limits and DMA. */
#include <stdio.h>

#include "test_ide_util.h"

#define CD_SECTORS	300u
#define PRDT		0x1000u
#define BUF		0x10000u

static struct ide_channel ch;
static struct memdisk cd;
static uint8_t data[256 * 1024];
static unsigned int data_len, drq_blocks;

static void setup(bool medium)
{
	struct ide_backend be;
	char err[128];

	ide_channel_destroy(&ch);
	free(cd.data);
	memdisk_init(&cd, CD_SECTORS * 2048ull, 2048);
	be = memdisk_backend(&cd, true);
	ide_channel_init(&ch, 1, &test_irq, &test_mem);
	if (ide_drive_attach(&ch, 0, IDE_MEDIA_CDROM, medium ? &be : NULL, err, sizeof(err)))
		tap_diag("attach: %s", err);
	memset(ram, 0, RAM_SIZE);
	irq_level = irq_edges = 0;
}

/*
 * Issue a packet command with PIO byte count limit `limit` and collect the
 * data-in phase the way a driver does: per DRQ block, the byte count from
 * the cylinder registers. Returns the final status.
 */
static uint8_t packet(const uint8_t *cdb, uint16_t limit, bool dma)
{
	uint8_t st;

	data_len = drq_blocks = 0;
	outb(&ch, ATA_REG_SELECT, 0xa0);
	outb(&ch, ATA_REG_ERROR, dma ? 1 : 0);
	outb(&ch, ATA_REG_LCYL, limit);
	outb(&ch, ATA_REG_HCYL, limit >> 8);
	irq_edges = 0;
	outb(&ch, ATA_REG_STATUS, 0xa0);
	if ((altstatus(&ch) & (ATA_DRQ | ATA_BSY)) != ATA_DRQ ||
	    (inb(&ch, ATA_REG_NSECTOR) & 3) != 0x01 || irq_edges)
		tap_diag("PACKET: not waiting for the command packet");
	for (unsigned int i = 0; i < 12; i += 2)
		outw(&ch, cdb[i] | cdb[i + 1] << 8);
	for (;;) {
		unsigned int n;

		st = inb(&ch, ATA_REG_STATUS);
		if (!(st & ATA_DRQ) || dma)
			break;
		n = inb(&ch, ATA_REG_LCYL) | inb(&ch, ATA_REG_HCYL) << 8;
		if ((inb(&ch, ATA_REG_NSECTOR) & 3) != 0x02 || !n ||
		    data_len + n > sizeof(data)) {
			tap_diag("bad data phase: n=%u", n);
			break;
		}
		pio_in(&ch, data + data_len, n);
		data_len += n;
		drq_blocks++;
	}
	return st;
}

/* Fixed-size CDBs */
static const uint8_t *cdb6(uint8_t op, uint8_t b1, uint8_t b2, uint8_t b3,
			   uint8_t b4)
{
	static uint8_t c[12];

	memset(c, 0, sizeof(c));
	c[0] = op;
	c[1] = b1;
	c[2] = b2;
	c[3] = b3;
	c[4] = b4;
	return c;
}

static const uint8_t *cdb10(uint8_t op, uint8_t b1, uint8_t b2, uint32_t lba,
			    uint8_t b6, uint16_t len)
{
	static uint8_t c[12];

	memset(c, 0, sizeof(c));
	c[0] = op;
	c[1] = b1;
	c[2] = op == 0x28 || op == 0x2b ? lba >> 24 : b2;
	if (op == 0x28 || op == 0x2b) {
		c[3] = lba >> 16;
		c[4] = lba >> 8;
		c[5] = lba;
	}
	c[6] = b6;
	c[7] = len >> 8;
	c[8] = len;
	return c;
}

static const uint8_t *read12(uint32_t lba, uint32_t count)
{
	static uint8_t c[12];

	memset(c, 0, sizeof(c));
	c[0] = 0xa8;
	for (int i = 0; i < 4; i++) {
		c[2 + i] = lba >> (24 - 8 * i);
		c[6 + i] = count >> (24 - 8 * i);
	}
	return c;
}

static bool good(uint8_t st)
{
	return (st & (ATA_ERR | ATA_DRQ | ATA_BSY)) == 0 && (st & ATA_DRDY) &&
	       (inb(&ch, ATA_REG_NSECTOR) & 3) == (0x02 | 0x01);
}

/* CHECK CONDITION with this sense, as the error register and REQUEST SENSE show it. */
static bool check(uint8_t st, uint8_t key, uint8_t asc)
{
	uint8_t err = inb(&ch, ATA_REG_ERROR);
	bool ok = (st & ATA_ERR) && !(st & ATA_DRQ) && (err >> 4) == key;

	ok &= packet(cdb6(0x03, 0, 0, 0, 18), 0xfffe, false) != 0xff;
	ok &= data_len == 18 && data[0] == 0x70 && (data[2] & 0x0f) == key && data[12] == asc;
	if (!ok)
		tap_diag("sense: st %02x err %02x key %x asc %02x (len %u)", st, err,
			 data[2] & 0x0f, data[12], data_len);
	return ok;
}

static bool cd_holds(const uint8_t *p, uint32_t lba, uint32_t sectors)
{
	for (uint32_t i = 0; i < sectors * 2048; i++)
		if (p[i] != memdisk_pattern(lba * 2048ull + i, 2048))
			return false;
	return true;
}

static void test_identity(void)
{
	uint16_t id[256];

	setup(true);
	tap_ok(inb(&ch, ATA_REG_LCYL) == 0x14 && inb(&ch, ATA_REG_HCYL) == 0xeb &&
	       inb(&ch, ATA_REG_NSECTOR) == 1 && inb(&ch, ATA_REG_SECTOR) == 1,
	       "packet signature after reset");
	tap_ok(altstatus(&ch) == 0, "status 0 (DRDY clear) after reset");
	outb(&ch, ATA_REG_LCYL, 0);
	outb(&ch, ATA_REG_STATUS, 0xec);
	tap_ok((altstatus(&ch) & ATA_ERR) && inb(&ch, ATA_REG_ERROR) == ATA_ABRT &&
	       inb(&ch, ATA_REG_LCYL) == 0x14 && inb(&ch, ATA_REG_HCYL) == 0xeb && irq_edges == 1,
	       "IDENTIFY DEVICE: ABRT with the packet signature");
	outb(&ch, ATA_REG_STATUS, 0xa1);
	tap_ok(altstatus(&ch) & ATA_DRQ, "IDENTIFY PACKET DEVICE");
	pio_in(&ch, (uint8_t *)id, 512);
	tap_ok(id[0] == 0x85c0, "word 0: ATAPI CD-ROM, removable, 12-byte packets");
	tap_ok((id[27] >> 8) == 'K' && (id[49] & 0x0300) == 0x0300, "model string, LBA and DMA");
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "ready after IDENTIFY PACKET");

	/* ATA disk commands on a CD */
	static const uint8_t disk_cmds[] = { 0x20, 0x24, 0x30, 0xc4, 0xc8, 0x25, 0xca,
					     0x40, 0xc6, 0x91, 0xe7, 0x00, 0xff };
	for (unsigned int i = 0; i < sizeof(disk_cmds); i++) {
		outb(&ch, ATA_REG_NSECTOR, 0);
		outb(&ch, ATA_REG_LCYL, 0);
		outb(&ch, ATA_REG_HCYL, 0);
		outb(&ch, ATA_REG_STATUS, disk_cmds[i]);
		tap_ok((altstatus(&ch) & (ATA_ERR | ATA_DRQ)) == ATA_ERR &&
		       inb(&ch, ATA_REG_ERROR) == ATA_ABRT && inb(&ch, ATA_REG_LCYL) == 0x14 &&
		       inw(&ch) == 0 && cd.reads == 0,
		       "ATA command %02x on the CD: ABRT + signature, no data", disk_cmds[i]);
	}
	bm_write(&ch, 4, 4, PRDT);
	bm_write(&ch, 2, 1, BM_ST_INT);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	tap_ok(!(bm_read(&ch, 2, 1) & BM_ST_INT) && cd.reads == 0, "an aborted READ DMA leaves the bus master idle");
	bm_write(&ch, 0, 1, 0);
	outb(&ch, ATA_REG_ERROR, 0x03);
	outb(&ch, ATA_REG_NSECTOR, 0x22);
	outb(&ch, ATA_REG_STATUS, 0xef);
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC), "SET FEATURES transfer mode");
	outb(&ch, ATA_REG_STATUS, 0xe5);
	tap_ok(inb(&ch, ATA_REG_NSECTOR) == 0xff && !(altstatus(&ch) & ATA_ERR), "CHECK POWER MODE");
	outb(&ch, ATA_REG_STATUS, 0x08);
	tap_ok(altstatus(&ch) == 0 && inb(&ch, ATA_REG_LCYL) == 0x14 && inb(&ch, ATA_REG_ERROR) == 1,
	       "DEVICE RESET: signature");
}

static void test_basic_commands(void)
{
	uint8_t st;

	setup(true);
	st = packet(cdb6(0x00, 0, 0, 0, 0), 0, false);
	tap_ok(good(st) && irq_edges == 1 && data_len == 0, "TEST UNIT READY");
	st = packet(cdb6(0x12, 0, 0, 0, 96), 0xfffe, false);
	tap_ok(good(st) && data_len == 36 && data[0] == 0x05 && data[1] == 0x80 &&
	       !memcmp(data + 8, "KVMLNCH ", 8), "INQUIRY: CD/DVD device, removable");
	st = packet(cdb6(0x12, 0, 0, 0, 5), 0xfffe, false);
	tap_ok(good(st) && data_len == 5, "INQUIRY truncated to the allocation length");
	st = packet(cdb6(0x12, 1, 0x80, 0, 96), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "INQUIRY with EVPD: ILLEGAL REQUEST / INVALID FIELD");
	st = packet(cdb6(0x03, 0, 0, 0, 18), 0xfffe, false);
	tap_ok(good(st) && data_len == 18 && data[2] == 0 && data[12] == 0,
	       "sense is cleared after being read");
	st = packet(cdb6(0x25, 0, 0, 0, 0), 0xfffe, false);
	tap_ok(good(st) && data_len == 8 && data[2] == ((CD_SECTORS - 1) >> 8) &&
	       data[3] == ((CD_SECTORS - 1) & 0xff) && data[6] == 0x08 && data[7] == 0,
	       "READ CAPACITY: last LBA %u, 2048-byte blocks", CD_SECTORS - 1);
	st = packet(cdb6(0xbb, 0, 0xff, 0xff, 0), 0, false);
	tap_ok(good(st), "SET CD SPEED");
	st = packet((const uint8_t[12]){ 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data_len == 8 && data[1] == 0, "MECHANISM STATUS: tray closed");
	st = packet(cdb6(0xd7, 0, 0, 0, 0), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x20) , "unknown opcode: INVALID COMMAND OPERATION CODE");
	st = packet(cdb6(0x1a, 0, 0x2a, 0, 64), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x20), "MODE SENSE(6) is not an ATAPI command");
	st = packet(cdb10(0x2b, 0, 0, 10, 0, 0), 0, false);
	tap_ok(good(st), "SEEK(10)");
	st = packet(cdb10(0x2b, 0, 0, CD_SECTORS, 0, 0), 0, false);
	tap_ok(check(st, 0x05, 0x21), "SEEK(10) past the end: LBA OUT OF RANGE");
}

static void test_read(void)
{
	uint8_t st;

	setup(true);
	st = packet(cdb10(0x28, 0, 0, 7, 0, 3), 2048, false);
	tap_ok(good(st) && data_len == 3 * 2048 && drq_blocks == 3 && cd_holds(data, 7, 3),
	       "READ(10) 3 sectors, byte limit 2048: 3 DRQ blocks");
	tap_ok(irq_edges == 4, "an interrupt per block and at the end (%d)", irq_edges);
	st = packet(cdb10(0x28, 0, 0, 0, 0, 40), 0xffff, false);
	tap_ok(good(st) && data_len == 40 * 2048 && cd_holds(data, 0, 40) && drq_blocks == 3,
	       "READ(10) 40 sectors: limit 0xffff acts as 0xfffe, buffer refilled (%u blocks)", drq_blocks);
	st = packet(cdb10(0x28, 0, 0, 100, 0, 2), 5001, false);
	tap_ok(good(st) && data_len == 4096 && cd_holds(data, 100, 2) && drq_blocks == 1,
	       "odd limit 5001: even blocks");
	st = packet(cdb10(0x28, 0, 0, 100, 0, 1), 1001, false);
	tap_ok(good(st) && data_len == 2048 && drq_blocks == 3 && cd_holds(data, 100, 1),
	       "odd limit 1001: 1000-byte blocks");
	st = packet(cdb10(0x28, 0, 0, 5, 0, 1), 0, false);
	tap_ok(good(st) && data_len == 2048 && drq_blocks == 1, "limit 0 treated as the maximum");
	st = packet(read12(CD_SECTORS - 2, 2), 0xfffe, false);
	tap_ok(good(st) && cd_holds(data, CD_SECTORS - 2, 2), "READ(12) of the last two sectors");
	st = packet(cdb10(0x28, 0, 0, 9, 0, 0), 0xfffe, false);
	tap_ok(good(st) && data_len == 0, "READ(10) of 0 sectors: no data");
	st = packet(cdb10(0x28, 0, 0, CD_SECTORS, 0, 1), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x21) && data_len == 18, "READ(10) at the capacity: LBA OUT OF RANGE");
	st = packet(cdb10(0x28, 0, 0, CD_SECTORS - 1, 0, 2), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x21), "READ(10) running past the end");
	st = packet(read12(CD_SECTORS - 1, 0xffffffffu), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x21), "READ(12) with a wrapping count");
	st = packet(read12(0xffffffffu, 2), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x21), "READ(12) at LBA 2^32-1");
	cd.fail_read = true;
	st = packet(cdb10(0x28, 0, 0, 3, 0, 1), 0xfffe, false);
	cd.fail_read = false;
	tap_ok(check(st, 0x03, 0x11), "backend error: MEDIUM ERROR / UNRECOVERED READ");
}

static void test_toc(void)
{
	uint8_t st;

	setup(true);
	st = packet(cdb10(0x43, 0, 0, 0, 0, 100), 0xfffe, false);
	tap_ok(good(st) && data_len == 20 && data[1] == 18 && data[2] == 1 && data[3] == 1,
	       "READ TOC format 0: header, first/last track 1");
	tap_ok(data[5] == 0x14 && data[6] == 1 && !data[8] && !data[11] &&
	       data[14] == 0xaa && data[18] == (CD_SECTORS >> 8) && data[19] == (CD_SECTORS & 0xff),
	       "track 1 at LBA 0, lead-out at %u", CD_SECTORS);
	st = packet(cdb10(0x43, 2, 0, 0, 0, 100), 0xfffe, false);
	tap_ok(good(st) && data[9] == 0 && data[10] == 2 && data[11] == 0 &&
	       data[17] == 0 && data[18] == (CD_SECTORS + 150) / 75 % 60 &&
	       data[19] == (CD_SECTORS + 150) % 75, "READ TOC format 0 in MSF");
	st = packet(cdb10(0x43, 0, 0, 0, 0xaa, 100), 0xfffe, false);
	tap_ok(good(st) && data_len == 12 && data[6] == 0xaa, "READ TOC from track 0xaa: lead-out only");
	st = packet(cdb10(0x43, 0, 0, 0, 2, 100), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "READ TOC from track 2: INVALID FIELD");
	st = packet(cdb10(0x43, 0, 1, 0, 0, 100), 0xfffe, false);
	tap_ok(good(st) && data_len == 12 && data[1] == 10 && data[6] == 1, "READ TOC format 1: session info");
	st = packet(cdb10(0x43, 2, 2, 0, 0, 100), 0xfffe, false);
	tap_ok(good(st) && data_len == 48 && data[1] == 46 && data[7] == 0xa0 &&
	       data[12] == 1 && data[18] == 0xa1 && data[29] == 0xa2 && data[40] == 1 &&
	       data[46] == 2, "READ TOC format 2: A0, A1, A2 and track 1");
	st = packet(cdb10(0x43, 0, 0, 0, 0, 0), 0xfffe, false);
	tap_ok(good(st) && data_len == 0, "allocation length 0: no data");
	st = packet((const uint8_t[12]){ 0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0x40 }, 0xfffe, false);
	tap_ok(good(st) && data_len == 12 && data[1] == 10, "format in byte 9 (older drives)");
	st = packet(cdb10(0x43, 0, 3, 0, 0, 100), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "READ TOC format 3: INVALID FIELD");
	st = packet(cdb10(0x51, 0, 0, 0, 0, 34), 0xfffe, false);
	tap_ok(good(st) && data_len == 34 && data[1] == 32 && data[2] == 0x0e && data[4] == 1,
	       "READ DISC INFORMATION: complete, one session");
	st = packet(cdb10(0x51, 1, 0, 0, 0, 34), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "READ DISC INFORMATION type 1: INVALID FIELD");
}

static void test_mode_config_events(void)
{
	uint8_t st;

	setup(true);
	st = packet(cdb10(0x5a, 0, 0x2a, 0, 0, 200), 0xfffe, false);
	tap_ok(good(st) && data_len == 28 && data[1] == 26 && data[8] == 0x2a && data[9] == 18 &&
	       (data[14] & 0x29) == 0x29, "MODE SENSE(10) page 2A: capabilities, tray, eject, lock");
	st = packet(cdb10(0x5a, 0, 0x01, 0, 0, 200), 0xfffe, false);
	tap_ok(good(st) && data_len == 16 && data[8] == 0x01, "MODE SENSE(10) page 01");
	st = packet(cdb10(0x5a, 0, 0x3f, 0, 0, 200), 0xfffe, false);
	tap_ok(good(st) && data_len == 36 && data[8] == 0x01 && data[16] == 0x2a, "MODE SENSE(10) all pages");
	st = packet(cdb10(0x5a, 0, 0x7f, 0, 0, 200), 0xfffe, false);
	tap_ok(good(st) && data_len == 36 && data[11] == 0, "MODE SENSE(10) changeable values are zero");
	st = packet(cdb10(0x5a, 0, 0xea, 0, 0, 200), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x39), "MODE SENSE(10) saved values: SAVING PARAMETERS NOT SUPPORTED");
	st = packet(cdb10(0x5a, 0, 0x05, 0, 0, 200), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "MODE SENSE(10) unknown page: INVALID FIELD");

	st = packet(cdb10(0x46, 0, 0, 0, 0, 200), 0xfffe, false);
	tap_ok(good(st) && data[7] == 0x08 && data[9] == 0x00 && data[8] == 0 &&
	       data_len == 8 + 12 + 12 + 8 + 8 + 12, "GET CONFIGURATION: CD-ROM profile, all features");
	tap_ok(data[3] == data_len - 4, "data length field");
	st = packet((const uint8_t[12]){ 0x46, 2, 0, 3, 0, 0, 0, 0, 200 }, 0xfffe, false);
	tap_ok(good(st) && data_len == 16 && data[9] == 0x03 && data[12] == 0x29,
	       "GET CONFIGURATION RT=2 feature 3: removable medium only");
	st = packet((const uint8_t[12]){ 0x46, 3, 0, 0, 0, 0, 0, 0, 200 }, 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "GET CONFIGURATION RT=3: INVALID FIELD");

	st = packet(cdb10(0x4a, 0, 0, 0, 0, 8), 0xfffe, false);
	tap_ok(check(st, 0x05, 0x24), "GET EVENT STATUS asynchronous: INVALID FIELD");
	st = packet((const uint8_t[12]){ 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data_len == 8 && data[2] == 4 && data[3] == 0x10 && data[4] == 0 &&
	       data[5] == 0x02, "GET EVENT STATUS media: no event, medium present");
	st = packet((const uint8_t[12]){ 0x4a, 1, 0, 0, 0x02, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data_len == 4 && data[2] == 0x80, "other classes: no event available");

	/* tray: eject, refuse when locked, load */
	st = packet(cdb6(0x1e, 0, 0, 0, 1), 0, false);
	tap_ok(good(st), "PREVENT MEDIUM REMOVAL");
	st = packet(cdb6(0x1b, 0, 0, 0, 2), 0, false);
	tap_ok(check(st, 0x05, 0x53), "eject while locked: MEDIUM REMOVAL PREVENTED");
	st = packet(cdb6(0x1e, 0, 0, 0, 0), 0, false);
	st = packet(cdb6(0x1b, 0, 0, 0, 2), 0, false);
	tap_ok(good(st), "START STOP UNIT: eject");
	st = packet(cdb6(0x00, 0, 0, 0, 0), 0, false);
	tap_ok(check(st, 0x02, 0x3a), "tray open: NOT READY / MEDIUM NOT PRESENT");
	st = packet((const uint8_t[12]){ 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data[4] == 3 && data[5] == 0x01, "event: media removal, tray open");
	st = packet((const uint8_t[12]){ 0xbd, 0, 0, 0, 0, 0, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data[1] == 0x10, "MECHANISM STATUS: door open");
	st = packet(cdb6(0x1b, 0, 0, 0, 3), 0, false);
	tap_ok(good(st), "START STOP UNIT: load");
	st = packet((const uint8_t[12]){ 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data[4] == 2 && data[5] == 0x02, "event: new media");
	st = packet(cdb6(0x00, 0, 0, 0, 0), 0, false);
	tap_ok(check(st, 0x06, 0x28), "first access after loading: UNIT ATTENTION / MEDIUM CHANGED");
	st = packet(cdb6(0x00, 0, 0, 0, 0), 0, false);
	tap_ok(good(st), "then ready");
	st = packet(cdb6(0x1b, 0, 0, 0, 1), 0, false);
	tap_ok(good(st), "START STOP UNIT: start");
}

static void test_no_medium(void)
{
	uint8_t st;
	char err[128];
	struct ide_backend be;

	setup(false);
	st = packet(cdb6(0x00, 0, 0, 0, 0), 0, false);
	tap_ok(check(st, 0x02, 0x3a), "no disc: TEST UNIT READY -> NOT READY / 3A");
	st = packet(cdb6(0x25, 0, 0, 0, 0), 0xfffe, false);
	tap_ok(check(st, 0x02, 0x3a) && data_len == 18, "no disc: READ CAPACITY fails");
	st = packet(cdb10(0x28, 0, 0, 0, 0, 1), 0xfffe, false);
	tap_ok(check(st, 0x02, 0x3a), "no disc: READ(10) fails");
	st = packet(cdb10(0x43, 0, 0, 0, 0, 100), 0xfffe, false);
	tap_ok(check(st, 0x02, 0x3a), "no disc: READ TOC fails");
	st = packet(cdb10(0x51, 0, 0, 0, 0, 34), 0xfffe, false);
	tap_ok(check(st, 0x02, 0x3a), "no disc: READ DISC INFORMATION fails");
	st = packet(cdb6(0x12, 0, 0, 0, 36), 0xfffe, false);
	tap_ok(good(st) && data_len == 36, "no disc: INQUIRY works");
	st = packet(cdb10(0x46, 0, 0, 0, 0, 200), 0xfffe, false);
	tap_ok(good(st) && data[6] == 0 && data[7] == 0 && data_len == 60 && data[49] == 0x10 &&
	       data[50] == 0x02, "no disc: no current profile, random readable not current");
	st = packet((const uint8_t[12]){ 0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8 }, 0xfffe, false);
	tap_ok(good(st) && data[5] == 0, "no disc: media status empty");
	tap_ok(cd.reads == 0, "nothing read");

	be = memdisk_backend(&cd, true);
	be.size = 2047;
	ide_channel_destroy(&ch);
	ide_channel_init(&ch, 1, &test_irq, &test_mem);
	tap_ok(ide_drive_attach(&ch, 0, IDE_MEDIA_CDROM, &be, err, sizeof(err)) == -1,
	       "an image smaller than one CD sector is refused: %s", err);
}

static void test_dma(void)
{
	uint8_t st;

	setup(true);
	prd_put(PRDT, BUF, 2048, false);
	prd_put(PRDT + 8, BUF + 0x4000, 0x8000, true);
	bm_write(&ch, 4, 4, PRDT);
	bm_write(&ch, 0, 1, BM_CMD_READ);
	st = packet(cdb10(0x28, 0, 0, 20, 0, 17), 0, true);
	tap_ok((st & ATA_DRQ) && data_len == 0 && irq_edges == 0, "DMA READ(10): waits for the bus master");
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	tap_ok(cd_holds(ram + BUF, 20, 1) && cd_holds(ram + BUF + 0x4000, 21, 16),
	       "DMA READ(10) of 17 sectors over two regions");
	tap_ok(good(inb(&ch, ATA_REG_STATUS)) && bm_read(&ch, 2, 1) == (BM_ST_INT | BM_ST_DMA0),
	       "completion: ready, bus master INT, table used up");
	bm_write(&ch, 0, 1, 0);
	bm_write(&ch, 2, 1, BM_ST_INT);

	prd_put(PRDT, BUF, 512, true);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	st = packet(cdb6(0x12, 0, 0, 0, 36), 0, true);
	tap_ok(good(st) && !memcmp(ram + BUF + 8, "KVMLNCH ", 8) &&
	       (bm_read(&ch, 2, 1) & (BM_ST_ACTIVE | BM_ST_INT)) == (BM_ST_ACTIVE | BM_ST_INT),
	       "INQUIRY through DMA (table longer than the data)");
	bm_write(&ch, 0, 1, 0);
	bm_write(&ch, 2, 1, BM_ST_INT);

	prd_put(PRDT, BUF, 1024, true);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	st = packet(cdb10(0x28, 0, 0, 0, 0, 1), 0, true);
	tap_ok(check(st, 0x0b, 0x00) && (bm_read(&ch, 2, 1) & BM_ST_ERROR),
	       "DMA with a too-short PRD table: ABORTED COMMAND, bus master error");
	bm_write(&ch, 0, 1, 0);
	bm_write(&ch, 2, 1, BM_ST_INT | BM_ST_ERROR);

	prd_put(PRDT, RAM_SIZE - 1024, 2048, true);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	st = packet(cdb10(0x28, 0, 0, 0, 0, 1), 0, true);
	tap_ok(check(st, 0x0b, 0x00), "DMA into memory past the end of RAM: ABORTED COMMAND");
	bm_write(&ch, 0, 1, 0);
	bm_write(&ch, 2, 1, BM_ST_INT | BM_ST_ERROR);

	prd_put(PRDT, BUF, 0, true);
	cd.fail_read = true;
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	st = packet(cdb10(0x28, 0, 0, 0, 0, 4), 0, true);
	cd.fail_read = false;
	tap_ok(check(st, 0x03, 0x11), "DMA with a backend error: MEDIUM ERROR");
	bm_write(&ch, 0, 1, 0);

	/* SRST while a DMA packet command waits */
	st = packet(cdb10(0x28, 0, 0, 0, 0, 4), 0, true);
	devctl(&ch, ATA_SRST);
	devctl(&ch, 0);
	memset(ram + BUF, 0, 2048);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	tap_ok(ram[BUF] == 0 && inb(&ch, ATA_REG_LCYL) == 0x14, "SRST drops a waiting DMA command");
}

int main(void)
{
	ram = calloc(1, RAM_SIZE);
	tap_plan(103);
	test_identity();
	test_basic_commands();
	test_read();
	test_toc();
	test_mode_config_events();
	test_no_medium();
	test_dma();
	ide_channel_destroy(&ch);
	free(cd.data);
	free(ram);
	return tap_done();
}
