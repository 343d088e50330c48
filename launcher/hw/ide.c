/* launcher/hw/ide.c: one IDE channel: task file registers, device control, PIO data port, interrupts, drive setup. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ide_int.h"

uint32_t ide_sector_size(const struct ide_drive *d)
{
	return d->media == IDE_MEDIA_CDROM ? ATAPI_SECTOR_SIZE : IDE_SECTOR_SIZE;
}

/* INTRQ reaches the line only while nIEN is clear. */
void ide_update_irq(struct ide_channel *ch)
{
	bool level = ch->intrq && !(ch->devctl & ATA_NIEN);

	if (level != ch->line) {
		ch->line = level;
		irq_line_set(&ch->irq, level);
	}
}

void ide_raise_irq(struct ide_channel *ch)
{
	ch->intrq = true;
	ch->bm.status |= BM_ST_INT;
	ide_update_irq(ch);
}

static void ide_lower_irq(struct ide_channel *ch)
{
	ch->intrq = false;
	ide_update_irq(ch);
}

/* The register contents a device leaves after reset or diagnostics. */
void ide_set_signature(struct ide_drive *d)
{
	d->nsector = d->sector = 1;
	d->hob_nsector = d->hob_sector = 0;
	if (d->media == IDE_MEDIA_CDROM) {
		d->lcyl = 0x14;
		d->hcyl = 0xeb;
	} else {
		d->lcyl = d->hcyl = 0;
	}
	d->hob_lcyl = d->hob_hcyl = 0;
	d->select &= 0x10;
}

static void ide_drive_reset(struct ide_drive *d)
{
	if (d->media == IDE_MEDIA_NONE)
		return;
	d->pos = d->end = d->len = 0;
	d->pio_done = NULL;
	d->left = 0;
	d->dma_pending = false;
	d->mult_sectors = 0;
	d->standby = false;
	ide_set_signature(d);
	d->select = 0;
	d->feature = d->hob_feature = 0;
	d->error = 0x01;	/* diagnostics passed */
	/* ATAPI devices leave DRDY clear until they get a command */
	d->status = d->media == IDE_MEDIA_DISK ? ATA_DRDY | ATA_DSC : 0;
	if (d->media == IDE_MEDIA_CDROM)
		atapi_reset(d);
}

void ide_channel_reset(struct ide_channel *ch)
{
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_drive *d = &ch->drive[i];

		ide_drive_reset(d);
		d->cur_cyls = d->cyls;
		d->cur_heads = d->heads;
		d->cur_sects = d->sects;
		d->mwdma_mode = 3;	/* multiword DMA mode 2 */
		d->udma_mode = 0;
		d->write_cache = true;
		d->locked = d->tray_open = d->unit_attention = false;
		d->media_event = 0;
	}
	ch->cur = 0;
	ch->devctl = 0;
	ch->bm.cmd = 0;
	ch->bm.status &= BM_ST_DMA0 | BM_ST_DMA1;
	ch->bm.prdt = 0;
	ide_lower_irq(ch);
}

void ide_channel_init(struct ide_channel *ch, unsigned int index,
		      const struct irq_line *irq, const struct guest_mem *mem)
{
	memset(ch, 0, sizeof(*ch));
	ch->index = index;
	if (irq)
		ch->irq = *irq;
	if (mem)
		ch->mem = *mem;
	ch->bus_master = true;
}

void ide_channel_destroy(struct ide_channel *ch)
{
	for (unsigned int i = 0; i < 2; i++) {
		free(ch->drive[i].buf);
		ch->drive[i].buf = NULL;
		ch->drive[i].media = IDE_MEDIA_NONE;
	}
}

/* Default CHS: 16 heads, 63 sectors, at most 16383 cylinders (ATA-style). */
static void ide_default_geometry(struct ide_drive *d)
{
	uint64_t cyls = d->nsectors / (16 * 63);

	d->heads = 16;
	d->sects = 63;
	if (cyls > 16383)
		cyls = 16383;
	if (cyls == 0) {
		/* tiny disks: fewer heads so that at least one cylinder fits */
		d->heads = 1;
		d->sects = d->nsectors < 63 ? (uint16_t)d->nsectors : 63;
		cyls = d->nsectors / d->sects;
		if (cyls > 16383)
			cyls = 16383;
	}
	d->cyls = (uint16_t)cyls;
}

int ide_drive_attach(struct ide_channel *ch, unsigned int unit,
		     enum ide_media media, const struct ide_backend *be,
		     char *err, size_t errlen)
{
	struct ide_drive *d;
	uint32_t ssize;

	if (unit > 1 || media == IDE_MEDIA_NONE) {
		snprintf(err, errlen, "no such IDE unit or media");
		return -1;
	}
	d = &ch->drive[unit];
	if (d->media != IDE_MEDIA_NONE) {
		snprintf(err, errlen, "IDE %s %s is already in use",
			 ch->index ? "secondary" : "primary",
			 unit ? "slave" : "master");
		return -1;
	}
	ssize = media == IDE_MEDIA_CDROM ? ATAPI_SECTOR_SIZE : IDE_SECTOR_SIZE;
	if (media == IDE_MEDIA_DISK && (!be || be->size < ssize)) {
		snprintf(err, errlen, "a disk needs at least one 512-byte sector");
		return -1;
	}
	if (media == IDE_MEDIA_CDROM && be && be->size < ssize) {
		snprintf(err, errlen,
			 "a CD-ROM image needs at least one 2048-byte sector");
		return -1;
	}
	if (be && (!be->pread || (!be->readonly && !be->pwrite))) {
		snprintf(err, errlen, "incomplete IDE backend");
		return -1;
	}
	memset(d, 0, sizeof(*d));
	d->buf = calloc(1, IDE_BUF_SIZE);
	if (!d->buf) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	d->media = media;
	if (be) {
		d->be = *be;
		d->nsectors = be->size / ssize;
		d->medium = true;
	}
	if (media == IDE_MEDIA_CDROM)
		d->be.readonly = true;
	else
		ide_default_geometry(d);
	snprintf(d->serial, sizeof(d->serial), "KL%c%u-%08llX",
		 media == IDE_MEDIA_CDROM ? 'C' : 'D', ch->index * 2 + unit,
		 (unsigned long long)(d->nsectors & 0xffffffffu));
	ch->bm.status |= unit ? BM_ST_DMA1 : BM_ST_DMA0;
	ide_channel_reset(ch);
	return 0;
}

int ide_fill(struct ide_drive *d)
{
	uint32_t ssize = ide_sector_size(d);
	uint32_t n = d->left < IDE_BUF_SIZE / ssize ? d->left : IDE_BUF_SIZE / ssize;
	int r;

	r = d->be.pread(d->be.ctx, d->buf, (size_t)n * ssize, d->lba * ssize);
	if (r < 0)
		return r;
	d->lba += n;
	d->left -= n;
	d->pos = 0;
	d->len = n * ssize;
	return 0;
}

void ide_pio_start(struct ide_channel *ch, struct ide_drive *d, uint32_t pos,
		   uint32_t end, bool out, ide_pio_done_fn done, bool irq)
{
	d->pos = pos;
	d->end = end;
	d->pio_out = out;
	d->pio_done = done;
	d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
	if (irq)
		ide_raise_irq(ch);
}

static bool ide_channel_empty(const struct ide_channel *ch)
{
	return ch->drive[0].media == IDE_MEDIA_NONE &&
	       ch->drive[1].media == IDE_MEDIA_NONE;
}

static void ide_pio_block_end(struct ide_channel *ch, struct ide_drive *d)
{
	ide_pio_done_fn done = d->pio_done;

	d->status &= ~ATA_DRQ;
	d->pio_done = NULL;
	if (done)
		done(ch, d);
}

static uint32_t ide_data_read(struct ide_channel *ch, unsigned int size)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	uint32_t v = 0;

	/* nothing to transfer: never hand out stale buffer contents */
	if (d->media == IDE_MEDIA_NONE || !(d->status & ATA_DRQ) || d->pio_out)
		return 0;
	for (unsigned int i = 0; i < size && d->pos < d->end; i++)
		v |= (uint32_t)d->buf[d->pos++] << (8 * i);
	if (d->pos >= d->end)
		ide_pio_block_end(ch, d);
	return v;
}

static void ide_data_write(struct ide_channel *ch, unsigned int size,
			   uint32_t v)
{
	struct ide_drive *d = &ch->drive[ch->cur];

	if (d->media == IDE_MEDIA_NONE || !(d->status & ATA_DRQ) || !d->pio_out)
		return;
	for (unsigned int i = 0; i < size && d->pos < d->end; i++)
		d->buf[d->pos++] = v >> (8 * i);
	if (d->pos >= d->end)
		ide_pio_block_end(ch, d);
}

static uint8_t ide_reg_read(struct ide_channel *ch, unsigned int reg)
{
	struct ide_drive *d = &ch->drive[ch->cur];
	bool hob = ch->devctl & ATA_HOB;

	/* no device answers: the bus floats high */
	if (ide_channel_empty(ch))
		return 0xff;
	/* the master answers for an absent slave with zeros */
	if (d->media == IDE_MEDIA_NONE)
		return 0;
	switch (reg) {
	case ATA_REG_ERROR:
		return d->error;
	case ATA_REG_NSECTOR:
		return hob ? d->hob_nsector : d->nsector;
	case ATA_REG_SECTOR:
		return hob ? d->hob_sector : d->sector;
	case ATA_REG_LCYL:
		return hob ? d->hob_lcyl : d->lcyl;
	case ATA_REG_HCYL:
		return hob ? d->hob_hcyl : d->hcyl;
	case ATA_REG_SELECT:
		return d->select;
	case ATA_REG_STATUS:
		ide_lower_irq(ch);
		return d->status;
	}
	return 0xff;
}

static void ide_command(struct ide_channel *ch, uint8_t cmd)
{
	struct ide_drive *d = &ch->drive[ch->cur];

	/* EXECUTE DEVICE DIAGNOSTIC addresses both devices */
	if (cmd == 0x90) {
		if (ide_channel_empty(ch) || (ch->devctl & ATA_SRST))
			return;
		for (unsigned int i = 0; i < 2; i++)
			ide_drive_reset(&ch->drive[i]);
		ch->cur = 0;
		ide_raise_irq(ch);
		return;
	}
	if (d->media == IDE_MEDIA_NONE || (ch->devctl & ATA_SRST))
		return;
	ide_lower_irq(ch);
	/* a new command ends whatever transfer the old one left behind */
	d->pio_done = NULL;
	d->pos = d->end = d->len = 0;
	d->left = 0;
	d->dma_pending = false;
	d->error = 0;
	if (d->media == IDE_MEDIA_CDROM)
		atapi_exec(ch, d, cmd);
	else
		ata_exec(ch, d, cmd);
}

static void ide_reg_write(struct ide_channel *ch, unsigned int reg,
			  uint8_t val)
{
	if (reg == ATA_REG_STATUS) {
		ide_command(ch, val);
		return;
	}
	/* writing any command block register clears HOB */
	ch->devctl &= ~ATA_HOB;
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_drive *d = &ch->drive[i];

		switch (reg) {
		case ATA_REG_ERROR:
			d->hob_feature = d->feature;
			d->feature = val;
			break;
		case ATA_REG_NSECTOR:
			d->hob_nsector = d->nsector;
			d->nsector = val;
			break;
		case ATA_REG_SECTOR:
			d->hob_sector = d->sector;
			d->sector = val;
			break;
		case ATA_REG_LCYL:
			d->hob_lcyl = d->lcyl;
			d->lcyl = val;
			break;
		case ATA_REG_HCYL:
			d->hob_hcyl = d->hcyl;
			d->hcyl = val;
			break;
		case ATA_REG_SELECT:
			d->select = val;
			break;
		}
	}
	if (reg == ATA_REG_SELECT)
		ch->cur = (val >> 4) & 1;
}

static void ide_devctl_write(struct ide_channel *ch, uint8_t val)
{
	uint8_t old = ch->devctl;

	ch->devctl = val & (ATA_HOB | ATA_SRST | ATA_NIEN);
	if ((val & ATA_SRST) && !(old & ATA_SRST)) {
		/* held in reset: busy, transfers dropped, no interrupt */
		ide_dma_cancel(ch);
		for (unsigned int i = 0; i < 2; i++) {
			struct ide_drive *d = &ch->drive[i];

			if (d->media != IDE_MEDIA_NONE) {
				ide_drive_reset(d);
				d->status = ATA_BSY | ATA_DSC;
			}
		}
		ch->intrq = false;
	} else if (!(val & ATA_SRST) && (old & ATA_SRST)) {
		for (unsigned int i = 0; i < 2; i++)
			ide_drive_reset(&ch->drive[i]);
		ch->cur = 0;
	}
	ide_update_irq(ch);
}

static uint64_t ide_cmd_read(void *dev, uint64_t off, unsigned int size)
{
	struct ide_channel *ch = dev;
	uint64_t v = 0;

	if (off == ATA_REG_DATA)
		return size <= 4 ? ide_data_read(ch, size) : 0;
	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)(off + i < 8 ? ide_reg_read(ch, off + i) : 0xff)
		     << (8 * i);
	return v;
}

static void ide_cmd_write(void *dev, uint64_t off, unsigned int size,
			  uint64_t val)
{
	struct ide_channel *ch = dev;

	if (off == ATA_REG_DATA) {
		if (size <= 4)
			ide_data_write(ch, size, val);
		return;
	}
	for (unsigned int i = 0; i < size && off + i < 8; i++)
		ide_reg_write(ch, off + i, val >> (8 * i));
}

/* Alternate status: status without acknowledging the interrupt. */
static uint64_t ide_ctl_read(void *dev, uint64_t off, unsigned int size)
{
	struct ide_channel *ch = dev;
	struct ide_drive *d = &ch->drive[ch->cur];
	uint8_t v;

	if (ide_channel_empty(ch))
		v = 0xff;
	else if (d->media == IDE_MEDIA_NONE)
		v = 0;
	else
		v = d->status;
	(void)off;
	return size == 1 ? v : v | (((1ull << (8 * (size - 1))) - 1) << 8);
}

static void ide_ctl_write(void *dev, uint64_t off, unsigned int size,
			  uint64_t val)
{
	(void)off;
	(void)size;
	ide_devctl_write(dev, val);
}

const struct io_ops ide_cmd_ops = {
	.read = ide_cmd_read,
	.write = ide_cmd_write,
};

const struct io_ops ide_ctl_ops = {
	.read = ide_ctl_read,
	.write = ide_ctl_write,
};

/* An ATA string: two characters per word, the first in the high byte. */
void ide_put_string(uint16_t *id, unsigned int word, unsigned int len,
		    const char *s)
{
	size_t n = strlen(s);

	for (unsigned int i = 0; i < len; i += 2) {
		char a = i < n ? s[i] : ' ', b = i + 1 < n ? s[i + 1] : ' ';

		id[word + i / 2] = (uint16_t)((uint8_t)a << 8 | (uint8_t)b);
	}
}
