/* tests/launcher/test_ide_dma.c: PIIX bus-master DMA: registers, PRD walks and hostile PRD tables. */
#include <stdio.h>

#include "test_ide_util.h"

#define DISK_SECTORS	4096u		/* 2 MiB */
#define PRDT		0x1000u		/* PRD table in guest RAM */
#define BUF		0x10000u	/* data buffers */

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
	memset(ram, 0, RAM_SIZE);
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

/* LBA48 task file, high (HOB) bytes first; LBA bits 32-47 left 0. */
static void lba48(uint32_t lba, uint16_t count)
{
	outb(&ch, ATA_REG_SELECT, 0x40);
	for (unsigned int i = 0; i < 2; i++) {
		outb(&ch, ATA_REG_NSECTOR, i ? count & 0xff : count >> 8);
		outb(&ch, ATA_REG_SECTOR, i ? lba & 0xff : lba >> 24);
		outb(&ch, ATA_REG_LCYL, i ? (lba >> 8) & 0xff : 0);
		outb(&ch, ATA_REG_HCYL, i ? (lba >> 16) & 0xff : 0);
	}
}

static bool mem_holds(uint32_t gpa, uint64_t lba, unsigned int sectors)
{
	for (unsigned int i = 0; i < sectors * 512; i++)
		if (ram[gpa + i] != memdisk_pattern(lba * 512 + i, 512))
			return false;
	return true;
}

/* libata's order: table, direction, command, start. */
static void dma_cmd(uint8_t cmd, bool to_memory, uint32_t prdt)
{
	bm_write(&ch, 4, 4, prdt);
	bm_write(&ch, 0, 1, to_memory ? BM_CMD_READ : 0);
	outb(&ch, ATA_REG_STATUS, cmd);
	bm_write(&ch, 0, 1, BM_CMD_START | (to_memory ? BM_CMD_READ : 0));
}

static uint8_t bm_status(void)
{
	return bm_read(&ch, 2, 1);
}

static bool dma_failed(void)
{
	uint8_t st = bm_status();

	return (st & (BM_ST_ERROR | BM_ST_INT | BM_ST_ACTIVE)) == (BM_ST_ERROR | BM_ST_INT) &&
	       (altstatus(&ch) & (ATA_ERR | ATA_DRQ | ATA_BSY)) == ATA_ERR &&
	       inb(&ch, ATA_REG_ERROR) == ATA_ABRT && irq_level;
}

static void bm_clear(void)
{
	bm_write(&ch, 0, 1, 0);
	bm_write(&ch, 2, 1, BM_ST_ERROR | BM_ST_INT | BM_ST_DMA0);
	inb(&ch, ATA_REG_STATUS);
	irq_edges = 0;
}

static void test_registers(void)
{
	setup(false);
	tap_ok(bm_status() == BM_ST_DMA0, "status: drive 0 DMA capable, idle");
	bm_write(&ch, 4, 4, 0x12345677);
	tap_ok(bm_read(&ch, 4, 4) == 0x12345674, "PRD pointer is dword aligned");
	bm_write(&ch, 6, 2, 0xabcd);
	tap_ok(bm_read(&ch, 4, 4) == 0xabcd5674, "PRD pointer word writes");
	bm_write(&ch, 0, 1, 0xff);
	tap_ok(bm_read(&ch, 0, 1) == (BM_CMD_START | BM_CMD_READ) &&
	       (bm_status() & BM_ST_ACTIVE), "command: start and direction bits; start sets ACTIVE");
	bm_write(&ch, 0, 1, 0);
	tap_ok(!(bm_status() & BM_ST_ACTIVE), "stop clears ACTIVE");
	bm_write(&ch, 2, 1, BM_ST_DMA1);
	tap_ok(bm_status() == BM_ST_DMA1, "DMA capable bits are read/write");
	ch.bm.status |= BM_ST_INT | BM_ST_ERROR;
	bm_write(&ch, 2, 1, BM_ST_INT | BM_ST_DMA0);
	tap_ok(bm_status() == (BM_ST_ERROR | BM_ST_DMA0), "INT is write-one-to-clear");
	bm_write(&ch, 2, 1, BM_ST_ERROR | BM_ST_DMA0);
	tap_ok(bm_status() == BM_ST_DMA0, "ERROR is write-one-to-clear");
	tap_ok(bm_read(&ch, 1, 1) == 0 && bm_read(&ch, 3, 1) == 0, "reserved bytes read 0");
}

static void test_read_write(void)
{
	setup(false);
	/* two regions: 3 sectors and 5 sectors */
	prd_put(PRDT, BUF, 3 * 512, false);
	prd_put(PRDT + 8, BUF + 0x8000, 5 * 512, true);
	lba28(40, 8);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(BUF, 40, 3) && mem_holds(BUF + 0x8000, 43, 5), "READ DMA scatters into two regions");
	tap_ok(bm_status() == (BM_ST_INT | BM_ST_DMA0), "bus master: INT, not ACTIVE (table used up exactly)");
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && irq_edges == 1, "drive: ready, one interrupt");
	tap_ok(inb(&ch, ATA_REG_SECTOR) == 47, "task file: last LBA 47");
	bm_clear();

	/* the engine started first, the command second */
	prd_put(PRDT, BUF, 512, true);
	bm_write(&ch, 4, 4, PRDT);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	tap_ok(bm_status() & BM_ST_ACTIVE && !irq_edges, "engine waits for a command");
	lba28(77, 1);
	outb(&ch, ATA_REG_STATUS, 0xc8);
	tap_ok(mem_holds(BUF, 77, 1) && irq_edges == 1, "READ DMA issued after the start");
	bm_clear();

	/* write: memory to disk */
	memset(ram + BUF, 0xc3, 4 * 512);
	prd_put(PRDT, BUF, 4 * 512, true);
	lba28(300, 4);
	dma_cmd(0xca, false, PRDT);
	tap_ok(disk.data[300 * 512] == 0xc3 && disk.data[304 * 512 - 1] == 0xc3 &&
	       disk.data[304 * 512] == memdisk_pattern(304 * 512, 512), "WRITE DMA");
	tap_ok(bm_status() == (BM_ST_INT | BM_ST_DMA0) && altstatus(&ch) == (ATA_DRDY | ATA_DSC),
	       "WRITE DMA completes");
	bm_clear();

	/* EXT forms and a transfer larger than the drive buffer */
	prd_put(PRDT, BUF, 0, true);		/* 0 = 64 KiB */
	prd_put(PRDT, BUF, 0, false);
	prd_put(PRDT + 8, BUF + 0x10000, 0, true);
	/* LBA48: count 256 is hob 1, low 0 (the high bytes go first) */
	lba48(0, 256);
	dma_cmd(0x25, true, PRDT);
	tap_ok(mem_holds(BUF, 0, 256) && bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "READ DMA EXT of 256 sectors through two 64 KiB entries (count 0)");
	bm_clear();
	memset(ram + BUF, 0x3c, 0x20000);
	lba48(0, 256);
	outb(&ch, ATA_REG_STATUS, 0x35);
	bm_write(&ch, 0, 1, BM_CMD_START);
	tap_ok(disk.data[0] == 0x3c && disk.data[256 * 512 - 1] == 0x3c &&
	       bm_status() == (BM_ST_INT | BM_ST_DMA0), "WRITE DMA EXT of 256 sectors");
	bm_clear();
}

static void test_generous_prd(void)
{
	setup(false);
	prd_put(PRDT, BUF, 8 * 512, true);
	lba28(1, 2);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(BUF, 1, 2) && ram[BUF + 1024] == 0, "table longer than the transfer: only the data moves");
	tap_ok(bm_status() == (BM_ST_INT | BM_ST_ACTIVE | BM_ST_DMA0) &&
	       altstatus(&ch) == (ATA_DRDY | ATA_DSC), "ACTIVE stays set, no error");
	bm_clear();
	/* regions cut mid-sector: direct and buffered moves mixed */
	prd_put(PRDT, BUF, 700, false);
	prd_put(PRDT + 8, BUF + 700, 300, false);
	prd_put(PRDT + 16, BUF + 1000, 536, true);
	lba28(60, 3);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(BUF, 60, 3) && bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "READ DMA over regions of 700, 300 and 536 bytes");
	bm_clear();
	for (unsigned int i = 0; i < 1536; i++)
		ram[BUF + i] = i * 13;
	lba28(70, 3);
	dma_cmd(0xca, false, PRDT);
	{
		bool same = true;

		for (unsigned int i = 0; i < 1536; i++)
			same &= disk.data[70 * 512 + i] == (uint8_t)(i * 13);
		tap_ok(same && bm_status() == (BM_ST_INT | BM_ST_DMA0) &&
		       disk.data[73 * 512] == memdisk_pattern(73 * 512, 512),
		       "WRITE DMA over the same regions");
	}
	bm_clear();
	/* odd byte counts and addresses: bit 0 is ignored */
	prd_put(PRDT, BUF + 1, 513, false);
	prd_put(PRDT + 8, BUF + 512, 512, true);
	lba28(9, 2);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(BUF, 9, 2) && bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "bit 0 of address and count ignored");
	bm_clear();
}

static void test_hostile_prd(void)
{
	unsigned int writes;

	setup(false);
	/* too short: ends before the data does */
	prd_put(PRDT, BUF, 512, true);
	lba28(0, 2);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(dma_failed(), "PRD table shorter than the transfer: error + interrupt");
	bm_clear();

	/* "empty": the table pointer at zeroed RAM, entries of 64 KiB at 0 */
	memset(ram + PRDT, 0, 64);
	lba28(0, 1);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(0, 0, 1) && bm_status() == (BM_ST_INT | BM_ST_ACTIVE | BM_ST_DMA0),
	       "all-zero table: one 64 KiB region at 0, no EOT, benign");
	bm_clear();

	/* unterminated and huge: 2-byte entries over the whole 64 KiB window */
	for (unsigned int i = 0; i < 8192; i++)
		prd_put(0x100000 + i * 8, BUF, 2, false);
	lba28(0, 0);				/* 128 KiB would need 65536 entries */
	dma_cmd(0xc8, true, 0x100000);
	tap_ok(dma_failed(), "8192 entries without EOT, transfer not done: error");
	bm_clear();

	/* a table running off the end of RAM */
	for (unsigned int i = 0; i < 4; i++)
		prd_put(RAM_SIZE - 32 + i * 8, BUF, 2, false);
	lba28(0, 1);
	dma_cmd(0xc8, true, RAM_SIZE - 32);
	tap_ok(dma_failed(), "table running off the end of RAM: error");
	bm_clear();

	/* the table pointer itself outside RAM */
	lba28(0, 1);
	dma_cmd(0xc8, true, 0xfffffff8u);
	tap_ok(dma_failed(), "table pointer outside RAM: error");
	bm_clear();

	/* a buffer outside RAM, and one straddling its end */
	prd_put(PRDT, 0xfee00000u, 512, true);
	lba28(0, 1);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(dma_failed(), "buffer outside RAM: error");
	bm_clear();
	prd_put(PRDT, RAM_SIZE - 256, 512, true);
	lba28(0, 1);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(dma_failed(), "buffer straddling the end of RAM: error");
	bm_clear();
	writes = disk.writes;
	prd_put(PRDT, RAM_SIZE - 256, 512, true);
	lba28(0, 1);
	dma_cmd(0xca, false, PRDT);
	tap_ok(dma_failed() && disk.writes == writes, "WRITE DMA from outside RAM: error, nothing written");
	bm_clear();

	/* bus mastering disabled in PCI */
	ch.bus_master = false;
	prd_put(PRDT, BUF, 512, true);
	lba28(0, 1);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(dma_failed(), "bus master disabled: error");
	ch.bus_master = true;
	bm_clear();

	/* backend failures */
	disk.fail_read = true;
	lba28(0, 1);
	dma_cmd(0xc8, true, PRDT);
	tap_ok((bm_status() & BM_ST_ERROR) && inb(&ch, ATA_REG_ERROR) == ATA_UNC,
	       "READ DMA with a backend error: UNC");
	disk.fail_read = false;
	bm_clear();
	disk.fail_write = true;
	lba28(0, 1);
	dma_cmd(0xca, false, PRDT);
	tap_ok((bm_status() & BM_ST_ERROR) && inb(&ch, ATA_REG_ERROR) == ATA_ABRT,
	       "WRITE DMA with a backend error: ABRT");
	disk.fail_write = false;
	bm_clear();

	/* a DMA command abandoned by SRST never runs later */
	lba28(5, 1);
	bm_write(&ch, 4, 4, PRDT);
	outb(&ch, ATA_REG_STATUS, 0xc8);
	devctl(&ch, ATA_SRST);
	devctl(&ch, 0);
	memset(ram + BUF, 0, 512);
	bm_write(&ch, 0, 1, BM_CMD_START | BM_CMD_READ);
	tap_ok(ram[BUF] == 0 && !irq_edges && (bm_status() & BM_ST_ACTIVE),
	       "DMA dropped by a reset does not run on start");
	bm_clear();

	/* read-only disk: DMA write refused before any transfer */
	setup(true);
	prd_put(PRDT, BUF, 512, true);
	lba28(0, 1);
	dma_cmd(0xca, false, PRDT);
	tap_ok(inb(&ch, ATA_REG_ERROR) == ATA_ABRT && !disk.writes &&
	       (bm_status() & BM_ST_ACTIVE), "read-only WRITE DMA: ABRT, nothing transferred");
	bm_clear();
}

/* Regions that continue each other in memory cost one backend call. */
static void test_coalesce(void)
{
	unsigned int reads, writes;

	setup(false);
	/* 64 KiB + 64 KiB + 4 KiB, back to back: one pread */
	prd_put(PRDT, BUF, 0, false);
	prd_put(PRDT + 8, BUF + 0x10000, 0, false);
	prd_put(PRDT + 16, BUF + 0x20000, 0x1000, true);
	lba48(100, 264);
	reads = disk.reads;
	dma_cmd(0x25, true, PRDT);
	tap_ok(mem_holds(BUF, 100, 264) && disk.reads == reads + 1 &&
	       bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "contiguous regions: one backend read");
	bm_clear();

	/* a gap, then a region running backwards: three reads, data in place */
	memset(ram + BUF, 0, 0x30000);
	prd_put(PRDT, BUF + 0x2000, 0x1000, false);
	prd_put(PRDT + 8, BUF + 0x3000, 0x1000, false);
	prd_put(PRDT + 16, BUF + 0x5000, 0x1000, false);
	prd_put(PRDT + 24, BUF, 0x1000, true);
	lba28(500, 32);
	reads = disk.reads;
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(BUF + 0x2000, 500, 16) && mem_holds(BUF + 0x5000, 516, 8) &&
	       mem_holds(BUF, 524, 8) && disk.reads == reads + 3 &&
	       bm_status() == (BM_ST_INT | BM_ST_DMA0), "gaps split the run: three reads");
	bm_clear();

	/* the transfer ends inside a run: later entries stay untouched */
	prd_put(PRDT, BUF, 0x1000, false);
	prd_put(PRDT + 8, BUF + 0x1000, 0x1000, true);
	lba28(600, 10);
	reads = disk.reads;
	dma_cmd(0xc8, true, PRDT);
	tap_ok(mem_holds(BUF, 600, 10) && disk.reads == reads + 1 &&
	       bm_status() == (BM_ST_INT | BM_ST_ACTIVE | BM_ST_DMA0),
	       "run cut by the sector count: one read, table not used up");
	bm_clear();

	/* writes gather the same way */
	for (unsigned int i = 0; i < 0x2000; i++)
		ram[BUF + i] = i * 5;
	prd_put(PRDT, BUF, 0x1000, false);
	prd_put(PRDT + 8, BUF + 0x1000, 0x1000, true);
	lba28(700, 16);
	writes = disk.writes;
	dma_cmd(0xca, false, PRDT);
	{
		bool same = true;

		for (unsigned int i = 0; i < 0x2000; i++)
			same &= disk.data[700 * 512 + i] == (uint8_t)(i * 5);
		tap_ok(same && disk.writes == writes + 1 &&
		       bm_status() == (BM_ST_INT | BM_ST_DMA0), "contiguous regions: one backend write");
	}
	bm_clear();

	/* a contiguous run whose second half lies outside RAM: error, first half moved */
	prd_put(PRDT, RAM_SIZE - 0x1000, 0x1000, false);
	prd_put(PRDT + 8, RAM_SIZE, 0x1000, true);
	lba28(0, 16);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(dma_failed(), "run reaching past the end of RAM: error");
	bm_clear();
}

/* The regions, in table order, hold the disk's byte stream from lba on. */
static bool regions_hold(const uint32_t (*reg)[2], unsigned int n, uint64_t lba)
{
	uint64_t off = lba * 512;

	for (unsigned int i = 0; i < n; i++)
		for (uint32_t j = 0; j < reg[i][1]; j++, off++)
			if (ram[reg[i][0] + j] != memdisk_pattern(off, 512))
				return false;
	return true;
}

static void prd_table(const uint32_t (*reg)[2], unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		prd_put(PRDT + 8 * i, reg[i][0], reg[i][1], i == n - 1);
}

/* A backend with preadv/pwritev: a scattered transfer is one call. */
static void test_vectored(void)
{
	static const uint32_t scattered[][2] = {
		{ BUF + 0x2000, 0x1000 }, { BUF + 0x3000, 0x1000 },
		{ BUF + 0x5000, 0x1000 }, { BUF, 0x1000 },
	};
	static const uint32_t split[][2] = {	/* sector 8 split 0x300 + 0x100 */
		{ BUF, 0x1000 }, { BUF + 0x3000, 0x300 },
		{ BUF + 0x5000, 0x100 }, { BUF + 0x7000, 0x1000 },
	};
	static uint32_t many[1100][2];
	unsigned int reads, readvs;

	setup(false);
	ch.drive[0].be.preadv = memdisk_preadv;
	ch.drive[0].be.pwritev = memdisk_pwritev;

	prd_table(scattered, 4);
	lba28(500, 32);
	reads = disk.reads;
	readvs = disk.readvs;
	dma_cmd(0xc8, true, PRDT);
	tap_ok(regions_hold(scattered, 4, 500) && disk.readvs == readvs + 1 &&
	       disk.reads == reads && bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "scattered regions: one vectored read, data in place");
	bm_clear();

	/* 1100 separate sectors: two calls, the list holds 1024 */
	for (unsigned int i = 0; i < 1100; i++) {
		many[i][0] = BUF + 1024 * i;
		many[i][1] = 512;
	}
	memset(ram + BUF, 0, 1100 * 1024);
	prd_table((const uint32_t (*)[2])many, 1100);
	lba48(1000, 1100);
	readvs = disk.readvs;
	dma_cmd(0x25, true, PRDT);
	tap_ok(regions_hold((const uint32_t (*)[2])many, 1100, 1000) &&
	       disk.readvs == readvs + 2 && bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "1100 scattered sectors: two vectored reads, data in place");
	bm_clear();

	/* a region ending inside a sector: that sector through the buffer */
	memset(ram + BUF, 0, 0x8000);
	prd_table(split, 4);
	lba28(900, 18);
	dma_cmd(0xc8, true, PRDT);
	tap_ok(regions_hold(split, 4, 900) && bm_status() == (BM_ST_INT | BM_ST_DMA0),
	       "a sector split across regions lands whole");
	bm_clear();

	/* writes: one vectored call, the disk holds the regions in order */
	for (unsigned int i = 0; i < 0x6000; i++)
		ram[BUF + i] = i * 11;
	prd_table(scattered, 4);
	lba28(1200, 32);
	{
		unsigned int writevs = disk.writevs, writes = disk.writes;
		bool same = true;

		dma_cmd(0xca, false, PRDT);
		for (unsigned int i = 0; i < 4; i++)
			for (uint32_t j = 0; j < 0x1000; j++)
				same &= disk.data[1200 * 512 + i * 0x1000 + j] ==
					ram[scattered[i][0] + j];
		tap_ok(same && disk.writevs == writevs + 1 && disk.writes == writes &&
		       bm_status() == (BM_ST_INT | BM_ST_DMA0),
		       "scattered write: one vectored call, regions in order");
	}
	bm_clear();

	/* the backend fails: an ATA error */
	disk.fail_read = true;
	prd_table(scattered, 4);
	lba28(0, 32);
	dma_cmd(0xc8, true, PRDT);
	tap_ok((bm_status() & (BM_ST_ERROR | BM_ST_ACTIVE)) == BM_ST_ERROR &&
	       inb(&ch, ATA_REG_ERROR) == ATA_UNC && inb(&ch, ATA_REG_SECTOR) == 0 &&
	       irq_level, "vectored read failing: UNC at the first LBA, bus master error");
	disk.fail_read = false;
	bm_clear();
}


/* One TRIM entry at ram[gpa]: 48-bit LBA, 16-bit count. */
static void trim_entry(uint32_t gpa, uint64_t lba, uint16_t count)
{
	uint64_t e = lba | (uint64_t)count << 48;

	for (unsigned int b = 0; b < 8; b++)
		ram[gpa + b] = (uint8_t)(e >> (8 * b));
}

/* DATA SET MANAGEMENT with the TRIM bit and blocks range blocks at BUF. */
static void dsm(uint8_t feature, uint16_t blocks)
{
	outb(&ch, ATA_REG_ERROR, 0);
	outb(&ch, ATA_REG_ERROR, feature);
	lba48(0, blocks);
	prd_put(PRDT, BUF, blocks * 512u, true);
	dma_cmd(0x06, false, PRDT);
}

static bool disk_zero(uint64_t lba, unsigned int sectors)
{
	for (uint64_t i = lba * 512; i < (lba + sectors) * 512; i++)
		if (disk.data[i])
			return false;
	return true;
}

static bool disk_intact(uint64_t lba, unsigned int sectors)
{
	for (uint64_t i = lba * 512; i < (lba + sectors) * 512; i++)
		if (disk.data[i] != memdisk_pattern(i, 512))
			return false;
	return true;
}

static void test_trim(void)
{
	uint16_t id[256];

	setup(false);
	outb(&ch, ATA_REG_SELECT, 0xa0);
	outb(&ch, ATA_REG_STATUS, 0xec);
	pio_in(&ch, (uint8_t *)id, 512);
	tap_ok((id[169] & 1) && id[105] == 8 && (id[69] & 0x4020) == 0x4020,
	       "IDENTIFY: TRIM (word 169), 8 blocks a command (105), zeros after TRIM (69)");
	inb(&ch, ATA_REG_STATUS);
	irq_edges = 0;

	memset(ram + BUF, 0, 1024);
	trim_entry(BUF, 100, 8);
	trim_entry(BUF + 8, 0, 0);		/* unused */
	trim_entry(BUF + 512, 1000, 16);	/* in the second block */
	dsm(1, 2);
	tap_ok(disk_zero(100, 8) && disk_zero(1000, 16) && disk.discards == 2 &&
	       disk_intact(99, 1) && disk_intact(108, 1) && disk_intact(1016, 1),
	       "DSM TRIM over two blocks: both ranges discarded, their neighbours intact");
	tap_ok(altstatus(&ch) == (ATA_DRDY | ATA_DSC) && irq_edges == 1 &&
	       bm_status() == (BM_ST_INT | BM_ST_DMA0), "DSM ends with one interrupt, the bus master done");
	bm_clear();

	trim_entry(BUF, DISK_SECTORS - 4, 8);
	dsm(1, 1);
	tap_ok(dma_failed() && disk.discards == 2 && disk_intact(DISK_SECTORS - 4, 4),
	       "a range past the end: ABRT, nothing discarded");
	bm_clear();
	trim_entry(BUF, 200, 8);
	dsm(0, 1);
	tap_ok((altstatus(&ch) & ATA_ERR) && inb(&ch, ATA_REG_ERROR) == ATA_ABRT &&
	       disk_intact(200, 8), "DSM without the TRIM bit: ABRT");
	bm_clear();
	dsm(1, 9);
	tap_ok((altstatus(&ch) & ATA_ERR) && disk_intact(200, 8), "more than 8 blocks: ABRT");
	bm_clear();

	setup(true);
	outb(&ch, ATA_REG_SELECT, 0xa0);
	outb(&ch, ATA_REG_STATUS, 0xec);
	pio_in(&ch, (uint8_t *)id, 512);
	inb(&ch, ATA_REG_STATUS);
	trim_entry(BUF, 200, 8);
	dsm(1, 1);
	tap_ok(!(id[169] & 1) && (altstatus(&ch) & ATA_ERR) && disk_intact(200, 8),
	       "read-only: no TRIM in IDENTIFY, DSM aborts");
	bm_clear();
}
int main(void)
{
	ram = calloc(1, RAM_SIZE);
	tap_plan(54);
	test_registers();
	test_read_write();
	test_generous_prd();
	test_hostile_prd();
	test_coalesce();
	test_vectored();
	test_trim();
	ide_channel_destroy(&ch);
	free(disk.data);
	free(ram);
	return tap_done();
}
