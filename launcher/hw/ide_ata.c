/* launcher/hw/ide_ata.c: the ATA command set of IDE disks (IDENTIFY, PIO and DMA reads and writes, cache, power). */
#include <errno.h>
#include <string.h>

#include "ide_int.h"

/* ATA commands */
#define WIN_NOP			0x00
#define WIN_DSM			0x06	/* DATA SET MANAGEMENT */
#define WIN_RECAL		0x10	/* 0x10-0x1f */
#define WIN_READ		0x20
#define WIN_READ_ONCE		0x21
#define WIN_READ_EXT		0x24
#define WIN_READDMA_EXT		0x25
#define WIN_READ_MULT_EXT	0x29
#define WIN_WRITE		0x30
#define WIN_WRITE_ONCE		0x31
#define WIN_WRITE_EXT		0x34
#define WIN_WRITEDMA_EXT	0x35
#define WIN_WRITE_MULT_EXT	0x39
#define WIN_VERIFY		0x40
#define WIN_VERIFY_ONCE		0x41
#define WIN_VERIFY_EXT		0x42
#define WIN_SEEK		0x70
#define WIN_INIT_PARAMS		0x91
#define WIN_READ_MULT		0xc4
#define WIN_WRITE_MULT		0xc5
#define WIN_SET_MULT		0xc6
#define WIN_READDMA		0xc8
#define WIN_READDMA_ONCE	0xc9
#define WIN_WRITEDMA		0xca
#define WIN_WRITEDMA_ONCE	0xcb
#define WIN_STANDBY_NOW		0xe0
#define WIN_IDLE_NOW		0xe1
#define WIN_STANDBY		0xe2
#define WIN_IDLE		0xe3
#define WIN_CHECK_POWER		0xe5
#define WIN_SLEEP		0xe6
#define WIN_FLUSH		0xe7
#define WIN_IDENTIFY		0xec
#define WIN_FLUSH_EXT		0xea
#define WIN_SET_FEATURES	0xef

void ata_cmd_ok(struct ide_channel *ch, struct ide_drive *d)
{
	d->status = ATA_DRDY | ATA_DSC;
	ide_raise_irq(ch);
}

void ata_cmd_error(struct ide_channel *ch, struct ide_drive *d, uint8_t err)
{
	d->error = err;
	d->status = ATA_DRDY | ATA_DSC | ATA_ERR;
	d->pio_done = NULL;
	d->left = 0;
	d->dma_pending = false;
	ide_raise_irq(ch);
}

static void ata_identify(struct ide_drive *d, uint16_t *id)
{
	uint64_t chs = (uint64_t)d->cur_cyls * d->cur_heads * d->cur_sects;
	uint64_t lba28 = d->nsectors > 0x0fffffff ? 0x0fffffff : d->nsectors;

	memset(id, 0, 512);
	id[0] = 0x0040;			/* fixed, non-removable ATA device */
	id[1] = d->cyls;
	id[3] = d->heads;
	id[6] = d->sects;
	ide_put_string(id, 10, 20, d->serial);
	ide_put_string(id, 23, 8, "1.0");
	ide_put_string(id, 27, 40, "KVM-LAUNCH HARDDISK");
	id[47] = 0x8000 | IDE_MAX_MULTIPLE;
	id[49] = 0x0b00;		/* IORDY, LBA, DMA */
	id[50] = 0x4000;
	id[51] = 0x0200;		/* obsolete PIO timing */
	id[53] = 0x0007;		/* words 54-58, 64-70 and 88 valid */
	id[54] = d->cur_cyls;
	id[55] = d->cur_heads;
	id[56] = d->cur_sects;
	if (chs > d->nsectors)
		chs = d->nsectors;
	id[57] = (uint16_t)chs;
	id[58] = (uint16_t)(chs >> 16);
	if (d->mult_sectors)
		id[59] = 0x0100 | d->mult_sectors;
	id[60] = (uint16_t)lba28;
	id[61] = (uint16_t)(lba28 >> 16);
	id[63] = 0x0007 | (d->mwdma_mode ? 1u << (7 + d->mwdma_mode) : 0);
	id[64] = 0x0003;		/* PIO modes 3 and 4 */
	id[65] = id[66] = id[67] = id[68] = 120;
	id[80] = 0x00f0;		/* ATA/ATAPI-4 to -7 */
	id[81] = 0x0016;
	id[82] = 0x0028;		/* write cache, power management */
	id[83] = 0x7400;		/* FLUSH CACHE EXT, FLUSH CACHE, LBA48 */
	id[84] = 0x4000;
	id[85] = 0x0008 | (d->write_cache ? 0x0020 : 0);
	id[86] = 0x3400;
	id[87] = 0x4000;
	id[88] = 0x003f | (d->udma_mode ? 1u << (7 + d->udma_mode) : 0);
	id[93] = 0x6001;		/* 80-wire cable, master passed */
	for (unsigned int i = 0; i < 4; i++)
		id[100 + i] = (uint16_t)(d->nsectors >> (16 * i));
	if (d->be.discard && !d->be.readonly) {
		/* TRIM, reading zeros after, in DSM commands of up to 8 blocks */
		id[69] = 0x4020;
		id[105] = ATA_DSM_MAX_BLOCKS;
		id[169] = 0x0001;
	}
}

/* The sector the task file addresses; false for an impossible CHS. */
static bool ata_get_lba(const struct ide_drive *d, bool lba48, uint64_t *lba)
{
	unsigned int cyl, head;

	if (lba48) {
		*lba = (uint64_t)d->sector | (uint64_t)d->lcyl << 8 |
		       (uint64_t)d->hcyl << 16 | (uint64_t)d->hob_sector << 24 |
		       (uint64_t)d->hob_lcyl << 32 | (uint64_t)d->hob_hcyl << 40;
		return true;
	}
	if (d->select & 0x40) {
		*lba = (uint64_t)(d->select & 0x0f) << 24 |
		       (uint64_t)d->hcyl << 16 | (uint64_t)d->lcyl << 8 |
		       d->sector;
		return true;
	}
	cyl = d->lcyl | d->hcyl << 8;
	head = d->select & 0x0f;
	if (!d->sector || d->sector > d->cur_sects || head >= d->cur_heads)
		return false;
	*lba = ((uint64_t)cyl * d->cur_heads + head) * d->cur_sects +
	       d->sector - 1;
	return true;
}

/* Leave the address of the last sector handled in the task file. */
static void ata_set_lba(struct ide_drive *d, bool lba48, uint64_t lba)
{
	if (lba48) {
		d->sector = lba;
		d->lcyl = lba >> 8;
		d->hcyl = lba >> 16;
		d->hob_sector = lba >> 24;
		d->hob_lcyl = lba >> 32;
		d->hob_hcyl = lba >> 40;
	} else if (d->select & 0x40) {
		d->sector = lba;
		d->lcyl = lba >> 8;
		d->hcyl = lba >> 16;
		d->select = (d->select & 0xf0) | ((lba >> 24) & 0x0f);
	} else {
		uint32_t per_cyl = d->cur_heads * d->cur_sects;
		uint32_t cyl = lba / per_cyl, rest = lba % per_cyl;

		d->lcyl = cyl;
		d->hcyl = cyl >> 8;
		d->select = (d->select & 0xf0) | ((rest / d->cur_sects) & 0x0f);
		d->sector = rest % d->cur_sects + 1;
	}
}

static uint32_t ata_get_count(const struct ide_drive *d, bool lba48)
{
	uint32_t n = lba48 ? (uint32_t)d->hob_nsector << 8 | d->nsector
			   : d->nsector;

	if (!n)
		n = lba48 ? 65536 : 256;
	return n;
}

/*
 * Decode address and count of a read or write; on failure the command has
 * already ended with IDNF (or ABRT for a CHS address without a geometry).
 */
static bool ata_setup_rw(struct ide_channel *ch, struct ide_drive *d,
			 bool lba48, bool write)
{
	uint64_t lba;
	uint32_t count = ata_get_count(d, lba48);

	if (write && d->be.readonly) {
		ata_cmd_error(ch, d, ATA_ABRT);
		return false;
	}
	if (!ata_get_lba(d, lba48, &lba) || lba >= d->nsectors ||
	    count > d->nsectors - lba) {
		ata_cmd_error(ch, d, ATA_IDNF);
		return false;
	}
	d->lba = lba;
	d->left = count;
	d->lba48 = lba48;
	d->write = write;
	d->standby = false;
	return true;
}

static void ata_pio_read_block(struct ide_channel *ch, struct ide_drive *d);

static void ata_pio_read_done(struct ide_channel *ch, struct ide_drive *d)
{
	if (d->left)
		ata_pio_read_block(ch, d);
	else
		d->status = ATA_DRDY | ATA_DSC;	/* no interrupt after the last block */
}

static void ata_pio_read_block(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t n = d->left < d->block ? d->left : d->block;

	if (d->be.pread(d->be.ctx, d->buf, (size_t)n * IDE_SECTOR_SIZE,
			d->lba * IDE_SECTOR_SIZE) < 0) {
		ata_set_lba(d, d->lba48, d->lba);
		ata_cmd_error(ch, d, ATA_UNC);
		return;
	}
	ata_set_lba(d, d->lba48, d->lba + n - 1);
	d->lba += n;
	d->left -= n;
	ide_pio_start(ch, d, 0, n * IDE_SECTOR_SIZE, false, ata_pio_read_done,
		      true);
}

static void ata_pio_write_done(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t n = d->end / IDE_SECTOR_SIZE;

	if (d->be.pwrite(d->be.ctx, d->buf, (size_t)n * IDE_SECTOR_SIZE,
			 d->lba * IDE_SECTOR_SIZE) < 0) {
		ata_set_lba(d, d->lba48, d->lba);
		ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	ata_set_lba(d, d->lba48, d->lba + n - 1);
	d->lba += n;
	d->left -= n;
	if (!d->left) {
		ata_cmd_ok(ch, d);
		return;
	}
	n = d->left < d->block ? d->left : d->block;
	ide_pio_start(ch, d, 0, n * IDE_SECTOR_SIZE, true, ata_pio_write_done,
		      true);
}

static void ata_pio_rw(struct ide_channel *ch, struct ide_drive *d,
		       bool lba48, bool write, uint32_t block)
{
	uint32_t n;

	if (!ata_setup_rw(ch, d, lba48, write))
		return;
	d->block = block;
	if (!write) {
		ata_pio_read_block(ch, d);
		return;
	}
	/* the first block is requested without an interrupt */
	n = d->left < block ? d->left : block;
	ide_pio_start(ch, d, 0, n * IDE_SECTOR_SIZE, true, ata_pio_write_done,
		      false);
}

static void ata_multiple(struct ide_channel *ch, struct ide_drive *d,
			 bool lba48, bool write)
{
	if (!d->mult_sectors) {
		ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	ata_pio_rw(ch, d, lba48, write, d->mult_sectors);
}

static void ata_dma(struct ide_channel *ch, struct ide_drive *d, bool lba48,
		    bool write)
{
	if (!ata_setup_rw(ch, d, lba48, write))
		return;
	d->pos = d->len = 0;
	/* DRQ: ready for the bus master to move the data */
	d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
	d->dma_pending = true;
	ide_dma_request(ch, d);
}

void ata_dma_done(struct ide_channel *ch, struct ide_drive *d,
		  enum ide_dma_result r)
{
	if (d->dsm) {
		d->dsm = false;
		if (r == IDE_DMA_OK)
			ata_cmd_ok(ch, d);
		else
			ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	if (r == IDE_DMA_OK) {
		ata_set_lba(d, d->lba48, d->lba - 1);
		ata_cmd_ok(ch, d);
		return;
	}
	ata_set_lba(d, d->lba48, d->lba);
	ata_cmd_error(ch, d, r == IDE_DMA_EIO && !d->write ? ATA_UNC : ATA_ABRT);
}


/*
 * DATA SET MANAGEMENT with the TRIM bit: the ranges come as DMA data,
 * count 512-byte blocks of 64 entries (ide_dma.c hands them to
 * ata_dsm_ranges). A drive without discard in its backend refuses it.
 */
static void ata_dsm(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t blocks = ata_get_count(d, true);

	if (!(d->feature & 1) || !d->be.discard || d->be.readonly ||
	    blocks > ATA_DSM_MAX_BLOCKS) {
		ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	d->dsm = true;
	d->lba = 0;
	d->left = blocks;
	d->lba48 = true;
	d->write = true;
	d->pos = d->len = 0;
	d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
	d->dma_pending = true;
	ide_dma_request(ch, d);
}

int ata_dsm_ranges(struct ide_drive *d, const uint8_t *buf, uint32_t blocks)
{
	for (uint32_t i = 0; i < blocks * IDE_SECTOR_SIZE; i += 8) {
		uint64_t e = 0, lba, n;
		int ret;

		for (unsigned int b = 0; b < 8; b++)
			e |= (uint64_t)buf[i + b] << (8 * b);
		lba = e & 0xffffffffffffULL;
		n = e >> 48;
		if (!n)
			continue;	/* an unused entry */
		if (lba >= d->nsectors || n > d->nsectors - lba)
			return -EINVAL;
		ret = d->be.discard(d->be.ctx, lba * IDE_SECTOR_SIZE, n * IDE_SECTOR_SIZE);
		if (ret < 0)
			return ret;
	}
	return 0;
}
/* READ VERIFY: read the sectors, hand nothing to the host. */
static void ata_verify(struct ide_channel *ch, struct ide_drive *d,
		       bool lba48)
{
	if (!ata_setup_rw(ch, d, lba48, false))
		return;
	while (d->left) {
		uint64_t at = d->lba;

		if (ide_fill(d) < 0) {
			ata_set_lba(d, lba48, at);
			ata_cmd_error(ch, d, ATA_UNC);
			return;
		}
	}
	d->len = 0;
	ata_set_lba(d, lba48, d->lba - 1);
	ata_cmd_ok(ch, d);
}

static void ata_flush(struct ide_channel *ch, struct ide_drive *d)
{
	if (!d->be.readonly && d->be.flush && d->be.flush(d->be.ctx) < 0) {
		ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	ata_cmd_ok(ch, d);
}

static void ata_set_multiple(struct ide_channel *ch, struct ide_drive *d)
{
	uint8_t n = d->nsector;

	/* 0 disables; otherwise a power of two up to the maximum */
	if (n > IDE_MAX_MULTIPLE || (n & (n - 1))) {
		ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	d->mult_sectors = n;
	ata_cmd_ok(ch, d);
}

static void ata_init_params(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t heads = (d->select & 0x0f) + 1, sects = d->nsector;
	uint64_t cyls;

	if (!sects || sects > 63) {
		ata_cmd_error(ch, d, ATA_ABRT);
		return;
	}
	cyls = d->nsectors / (heads * sects);
	d->cur_heads = heads;
	d->cur_sects = sects;
	d->cur_cyls = cyls > 65535 ? 65535 : cyls;
	ata_cmd_ok(ch, d);
}

/* SET FEATURES, shared with ATAPI devices. */
static bool ata_set_features(struct ide_drive *d)
{
	uint8_t mode = d->nsector;

	switch (d->feature) {
	case 0x02:			/* enable write cache */
	case 0x82:			/* disable write cache */
		if (d->media != IDE_MEDIA_DISK)
			return false;
		d->write_cache = d->feature == 0x02;
		return true;
	case 0x03:			/* set transfer mode */
		if (mode <= 0x01 || (mode >= 0x08 && mode <= 0x0c))
			return true;	/* PIO modes: timing only */
		if (mode >= 0x20 && mode <= 0x22) {
			d->mwdma_mode = (mode & 7) + 1;
			d->udma_mode = 0;
			return true;
		}
		if (mode >= 0x40 && mode <= 0x45) {
			d->udma_mode = (mode & 7) + 1;
			d->mwdma_mode = 0;
			return true;
		}
		return false;
	case 0x55:			/* read look-ahead off/on */
	case 0xaa:
	case 0x66:			/* keep / revert to power-on defaults */
	case 0xcc:
		return true;
	}
	return false;
}

void ata_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd)
{
	d->dsm = false;
	switch (cmd) {
	case WIN_DSM:
		ata_dsm(ch, d);
		return;
	case WIN_IDENTIFY:
		ata_identify(d, (uint16_t *)d->buf);
		ide_pio_start(ch, d, 0, 512, false, ata_pio_read_done, true);
		return;
	case WIN_READ:
	case WIN_READ_ONCE:
		ata_pio_rw(ch, d, false, false, 1);
		return;
	case WIN_READ_EXT:
		ata_pio_rw(ch, d, true, false, 1);
		return;
	case WIN_WRITE:
	case WIN_WRITE_ONCE:
		ata_pio_rw(ch, d, false, true, 1);
		return;
	case WIN_WRITE_EXT:
		ata_pio_rw(ch, d, true, true, 1);
		return;
	case WIN_READ_MULT:
		ata_multiple(ch, d, false, false);
		return;
	case WIN_READ_MULT_EXT:
		ata_multiple(ch, d, true, false);
		return;
	case WIN_WRITE_MULT:
		ata_multiple(ch, d, false, true);
		return;
	case WIN_WRITE_MULT_EXT:
		ata_multiple(ch, d, true, true);
		return;
	case WIN_SET_MULT:
		ata_set_multiple(ch, d);
		return;
	case WIN_READDMA:
	case WIN_READDMA_ONCE:
		ata_dma(ch, d, false, false);
		return;
	case WIN_READDMA_EXT:
		ata_dma(ch, d, true, false);
		return;
	case WIN_WRITEDMA:
	case WIN_WRITEDMA_ONCE:
		ata_dma(ch, d, false, true);
		return;
	case WIN_WRITEDMA_EXT:
		ata_dma(ch, d, true, true);
		return;
	case WIN_VERIFY:
	case WIN_VERIFY_ONCE:
		ata_verify(ch, d, false);
		return;
	case WIN_VERIFY_EXT:
		ata_verify(ch, d, true);
		return;
	case WIN_FLUSH:
	case WIN_FLUSH_EXT:
		ata_flush(ch, d);
		return;
	case WIN_SET_FEATURES:
		if (ata_set_features(d))
			ata_cmd_ok(ch, d);
		else
			ata_cmd_error(ch, d, ATA_ABRT);
		return;
	case WIN_INIT_PARAMS:
		ata_init_params(ch, d);
		return;
	case WIN_SEEK: {
		uint64_t lba;

		if (!ata_get_lba(d, false, &lba) || lba >= d->nsectors)
			ata_cmd_error(ch, d, ATA_IDNF);
		else
			ata_cmd_ok(ch, d);
		return;
	}
	case WIN_STANDBY_NOW:
	case WIN_STANDBY:
	case WIN_SLEEP:
		d->standby = true;
		ata_cmd_ok(ch, d);
		return;
	case WIN_IDLE_NOW:
	case WIN_IDLE:
		d->standby = false;
		ata_cmd_ok(ch, d);
		return;
	case WIN_CHECK_POWER:
		d->nsector = d->standby ? 0x00 : 0xff;
		ata_cmd_ok(ch, d);
		return;
	}
	if ((cmd & 0xf0) == WIN_RECAL) {
		ata_cmd_ok(ch, d);
		return;
	}
	/* NOP, PACKET, IDENTIFY PACKET, DEVICE RESET and the rest */
	ata_cmd_error(ch, d, ATA_ABRT);
}

/*
 * The ATA commands a packet device also takes (ATAPI calls this for what
 * is not a packet command). false: the command is not for packet devices.
 */
bool ata_exec_packet_device(struct ide_channel *ch, struct ide_drive *d,
			    uint8_t cmd)
{
	switch (cmd) {
	case WIN_SET_FEATURES:
		if (ata_set_features(d))
			ata_cmd_ok(ch, d);
		else
			ata_cmd_error(ch, d, ATA_ABRT);
		return true;
	case WIN_CHECK_POWER:
		d->nsector = d->standby ? 0x00 : 0xff;
		ata_cmd_ok(ch, d);
		return true;
	case WIN_STANDBY_NOW:
	case WIN_SLEEP:
		d->standby = true;
		ata_cmd_ok(ch, d);
		return true;
	case WIN_IDLE_NOW:
		d->standby = false;
		ata_cmd_ok(ch, d);
		return true;
	}
	return false;
}
