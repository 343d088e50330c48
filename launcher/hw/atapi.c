/* launcher/hw/atapi.c: ATAPI CD-ROM: PACKET protocol, IDENTIFY PACKET DEVICE and the MMC commands a BIOS and Linux use. */
#include <string.h>

#include "ide_int.h"

/* SCSI sense keys and additional sense codes */
#define SENSE_NONE		0x00
#define SENSE_NOT_READY		0x02
#define SENSE_MEDIUM_ERROR	0x03
#define SENSE_ILLEGAL_REQUEST	0x05
#define SENSE_UNIT_ATTENTION	0x06
#define SENSE_ABORTED_COMMAND	0x0b

#define ASC_UNRECOVERED_READ	0x11
#define ASC_INVALID_OPCODE	0x20
#define ASC_LBA_OUT_OF_RANGE	0x21
#define ASC_INVALID_FIELD	0x24
#define ASC_MEDIUM_CHANGED	0x28
#define ASC_SAVING_NOT_SUPP	0x39
#define ASC_NO_MEDIUM		0x3a
#define ASC_REMOVAL_PREVENTED	0x53

/* MMC opcodes */
#define GPCMD_TEST_UNIT_READY	0x00
#define GPCMD_REQUEST_SENSE	0x03
#define GPCMD_INQUIRY		0x12
#define GPCMD_START_STOP_UNIT	0x1b
#define GPCMD_PREVENT_ALLOW	0x1e
#define GPCMD_READ_CAPACITY	0x25
#define GPCMD_READ_10		0x28
#define GPCMD_SEEK_10		0x2b
#define GPCMD_READ_TOC		0x43
#define GPCMD_GET_CONFIGURATION	0x46
#define GPCMD_GET_EVENT_STATUS	0x4a
#define GPCMD_READ_DISC_INFO	0x51
#define GPCMD_MODE_SENSE_10	0x5a
#define GPCMD_READ_12		0xa8
#define GPCMD_SET_CD_SPEED	0xbb
#define GPCMD_MECHANISM_STATUS	0xbd

/* ATA commands a packet device executes */
#define WIN_DEVICE_RESET	0x08
#define WIN_PACKET		0xa0
#define WIN_PIDENTIFY		0xa1

/* Profiles: discs larger than a CD are reported as DVD-ROM. */
#define MMC_PROFILE_CD_ROM	0x0008
#define MMC_PROFILE_DVD_ROM	0x0010
#define CD_MAX_SECTORS		(80 * 60 * 75)

/* GET EVENT STATUS NOTIFICATION media event codes */
#define MEC_NO_CHANGE		0
#define MEC_NEW_MEDIA		2
#define MEC_MEDIA_REMOVAL	3

static void put_be16(uint8_t *p, uint32_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void atapi_set_reason(struct ide_drive *d, uint8_t reason)
{
	d->nsector = (d->nsector & ~7) | reason;
}

void atapi_reset(struct ide_drive *d)
{
	d->sense_key = d->asc = d->ascq = 0;
	d->byte_limit = 0;
	d->packet_dma = false;
}

static void atapi_ok(struct ide_channel *ch, struct ide_drive *d)
{
	d->error = 0;
	d->status = ATA_DRDY | ATA_DSC;
	atapi_set_reason(d, ATAPI_IR_IO | ATAPI_IR_COD);
	ide_raise_irq(ch);
}

/* CHECK CONDITION: the sense key goes to the error register too. */
static void atapi_check(struct ide_channel *ch, struct ide_drive *d,
			uint8_t key, uint8_t asc, uint8_t ascq)
{
	d->sense_key = key;
	d->asc = asc;
	d->ascq = ascq;
	d->error = key << 4;
	if (key == SENSE_ILLEGAL_REQUEST)
		d->error |= ATA_ABRT;
	d->status = ATA_DRDY | ATA_DSC | ATA_ERR;
	d->pio_done = NULL;
	d->left = 0;
	d->pos = d->len = 0;
	d->dma_pending = false;
	atapi_set_reason(d, ATAPI_IR_IO | ATAPI_IR_COD);
	ide_raise_irq(ch);
}

static void atapi_invalid_field(struct ide_channel *ch, struct ide_drive *d)
{
	atapi_check(ch, d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* Medium-access commands: no disc, or a pending media change, fail them. */
static bool atapi_ready(struct ide_channel *ch, struct ide_drive *d)
{
	if (!d->medium || d->tray_open) {
		atapi_check(ch, d, SENSE_NOT_READY, ASC_NO_MEDIUM, 0);
		return false;
	}
	if (d->unit_attention) {
		d->unit_attention = false;
		atapi_check(ch, d, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
		return false;
	}
	return true;
}

static void atapi_pio_next(struct ide_channel *ch, struct ide_drive *d)
{
	uint32_t n, limit = d->byte_limit;

	if (d->pos >= d->len) {
		if (!d->left) {
			atapi_ok(ch, d);
			return;
		}
		if (ide_fill(d) < 0) {
			atapi_check(ch, d, SENSE_MEDIUM_ERROR,
				    ASC_UNRECOVERED_READ, 0);
			return;
		}
	}
	/* an odd or zero byte count limit: the largest even count below */
	if (!limit || limit == 0xffff)
		limit = 0xfffe;
	limit &= ~1u;
	if (!limit)
		limit = 2;
	n = d->len - d->pos;
	if (n > limit)
		n = limit;
	d->lcyl = n;
	d->hcyl = n >> 8;
	atapi_set_reason(d, ATAPI_IR_IO);
	ide_pio_start(ch, d, d->pos, d->pos + n, false, atapi_pio_next, true);
}

/* Send buf[0, min(len, alloc)) and then the sector stream set up in d. */
static void atapi_transfer(struct ide_channel *ch, struct ide_drive *d,
			   uint32_t len, uint32_t alloc)
{
	d->pos = 0;
	d->len = len < alloc ? len : alloc;
	if (!d->len && !d->left) {
		atapi_ok(ch, d);
		return;
	}
	if (d->packet_dma) {
		d->write = false;
		d->status = ATA_DRDY | ATA_DSC | ATA_DRQ;
		d->dma_pending = true;
		ide_dma_request(ch, d);
		return;
	}
	atapi_pio_next(ch, d);
}

static void atapi_reply(struct ide_channel *ch, struct ide_drive *d,
			uint32_t len, uint32_t alloc)
{
	d->left = 0;
	atapi_transfer(ch, d, len, alloc);
}

void atapi_dma_done(struct ide_channel *ch, struct ide_drive *d,
		    enum ide_dma_result r)
{
	if (r == IDE_DMA_OK)
		atapi_ok(ch, d);
	else if (r == IDE_DMA_EIO)
		atapi_check(ch, d, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
	else
		atapi_check(ch, d, SENSE_ABORTED_COMMAND, 0, 0);
}

static void atapi_lba_to_msf(uint8_t *p, uint32_t lba)
{
	lba += 150;		/* the 2-second pregap */
	p[0] = lba / (60 * 75);
	p[1] = (lba / 75) % 60;
	p[2] = lba % 75;
}

/* An address field of READ TOC: LBA, or 0/M/S/F. */
static void atapi_put_addr(uint8_t *p, uint32_t lba, bool msf)
{
	if (msf) {
		p[0] = 0;
		atapi_lba_to_msf(p + 1, lba);
	} else {
		put_be32(p, lba);
	}
}

static void atapi_read_toc(struct ide_channel *ch, struct ide_drive *d,
			   const uint8_t *cdb)
{
	bool msf = cdb[1] & 0x02;
	unsigned int format = cdb[2] & 0x0f, track = cdb[6];
	uint32_t alloc = get_be16(cdb + 7), len;
	uint8_t *b = d->buf;

	if (!format)
		format = cdb[9] >> 6;	/* the older place of the format */
	memset(b, 0, 64);
	switch (format) {
	case 0:				/* TOC: track 1 and the lead-out */
		if (track > 1 && track != 0xaa) {
			atapi_invalid_field(ch, d);
			return;
		}
		len = 4;
		if (track <= 1) {
			b[len + 1] = 0x14;	/* ADR 1, data track */
			b[len + 2] = 1;
			atapi_put_addr(b + len + 4, 0, msf);
			len += 8;
		}
		b[len + 1] = 0x14;
		b[len + 2] = 0xaa;
		atapi_put_addr(b + len + 4, d->nsectors, msf);
		len += 8;
		b[2] = b[3] = 1;	/* first and last track */
		break;
	case 1:				/* session information */
		b[2] = b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		atapi_put_addr(b + 8, 0, msf);
		len = 12;
		break;
	case 2: {			/* raw TOC: A0, A1, A2 and track 1 */
		static const uint8_t points[] = { 0xa0, 0xa1, 0xa2, 0x01 };

		b[2] = b[3] = 1;
		len = 4;
		for (unsigned int i = 0; i < 4; i++, len += 11) {
			uint8_t *e = b + len;

			e[0] = 1;		/* session */
			e[1] = 0x14;
			e[3] = points[i];
			if (points[i] == 0xa0 || points[i] == 0xa1)
				e[8] = 1;	/* first / last track; disc type 0 */
			else if (points[i] == 0xa2)
				atapi_lba_to_msf(e + 8, d->nsectors);
			else
				atapi_lba_to_msf(e + 8, 0);
		}
		break;
	}
	default:
		atapi_invalid_field(ch, d);
		return;
	}
	put_be16(b, len - 2);
	atapi_reply(ch, d, len, alloc);
}

static void atapi_mode_sense(struct ide_channel *ch, struct ide_drive *d,
			     const uint8_t *cdb)
{
	unsigned int page = cdb[2] & 0x3f, pc = cdb[2] >> 6;
	uint32_t alloc = get_be16(cdb + 7), len = 8;
	uint8_t *b = d->buf;

	if (pc == 3) {
		atapi_check(ch, d, SENSE_ILLEGAL_REQUEST, ASC_SAVING_NOT_SUPP, 0);
		return;
	}
	if (page != 0x01 && page != 0x2a && page != 0x3f) {
		atapi_invalid_field(ch, d);
		return;
	}
	memset(b, 0, 64);
	b[2] = d->medium && !d->tray_open ? 0x01 : 0x70;	/* medium type */
	/* changeable values (pc 1) are all zero: nothing can be set */
	if (page == 0x01 || page == 0x3f) {
		uint8_t *p = b + len;

		p[0] = 0x01;		/* read error recovery */
		p[1] = 6;
		if (pc != 1)
			p[3] = 5;	/* read retry count */
		len += 8;
	}
	if (page == 0x2a || page == 0x3f) {
		uint8_t *p = b + len;

		p[0] = 0x2a;		/* capabilities and mechanical status */
		p[1] = 18;
		if (pc != 1) {
			p[2] = 0x3b;	/* reads CD-R, CD-RW, DVD-ROM... */
			p[4] = 0x71;	/* multi-session, mode 2 forms */
			p[5] = 0x7f;
			/* tray loader, eject, lock and its state */
			p[6] = 0x29 | (d->locked ? 0x02 : 0);
			put_be16(p + 8, 706 * 4);	/* max speed, kB/s */
			put_be16(p + 10, 2);		/* volume levels */
			put_be16(p + 12, 512);		/* buffer, KiB */
			put_be16(p + 14, 706 * 4);	/* current speed */
		}
		len += 20;
	}
	put_be16(b, len - 2);
	atapi_reply(ch, d, len, alloc);
}

/* One feature descriptor header of GET CONFIGURATION. */
static uint8_t *gc_feature(uint8_t *p, uint16_t code, uint8_t version,
			   bool current, uint8_t add_len)
{
	put_be16(p, code);
	p[2] = version << 2 | 0x02 | (current ? 0x01 : 0);	/* persistent */
	p[3] = add_len;
	return p + 4;
}

static void atapi_get_configuration(struct ide_channel *ch,
				    struct ide_drive *d, const uint8_t *cdb)
{
	unsigned int rt = cdb[1] & 3, start = get_be16(cdb + 2);
	uint32_t alloc = get_be16(cdb + 7);
	bool medium = d->medium && !d->tray_open;
	bool dvd = d->nsectors > CD_MAX_SECTORS;
	uint16_t profile = !medium ? 0 : dvd ? MMC_PROFILE_DVD_ROM
					     : MMC_PROFILE_CD_ROM;
	uint8_t *b = d->buf, *p = b + 8, *q;

	if (rt == 3) {
		atapi_invalid_field(ch, d);
		return;
	}
	memset(b, 0, 128);
	/* feature n is listed for rt 0 from start on, rt 1 if current, rt 2 if n == start */
#define WANT(n, cur) (rt == 2 ? (n) == start : (n) >= start && (rt == 0 || (cur)))
	if (WANT(0x0000, true)) {		/* profile list */
		q = gc_feature(p, 0x0000, 0, true, 8);
		put_be16(q, MMC_PROFILE_DVD_ROM);
		q[2] = profile == MMC_PROFILE_DVD_ROM;
		put_be16(q + 4, MMC_PROFILE_CD_ROM);
		q[6] = profile == MMC_PROFILE_CD_ROM;
		p = q + 8;
	}
	if (WANT(0x0001, true)) {		/* core: ATAPI */
		q = gc_feature(p, 0x0001, 2, true, 8);
		put_be32(q, 2);
		q[4] = 0x01;			/* device busy events */
		p = q + 8;
	}
	if (WANT(0x0002, true)) {		/* morphing */
		q = gc_feature(p, 0x0002, 1, true, 4);
		p = q + 4;
	}
	if (WANT(0x0003, true)) {		/* removable medium: tray */
		q = gc_feature(p, 0x0003, 0, true, 4);
		q[0] = 0x29;
		p = q + 4;
	}
	if (WANT(0x0010, medium)) {		/* random readable */
		q = gc_feature(p, 0x0010, 0, medium, 8);
		put_be32(q, ATAPI_SECTOR_SIZE);
		put_be16(q + 4, dvd ? 16 : 1);
		p = q + 8;
	}
#undef WANT
	put_be32(b, (uint32_t)(p - b) - 4);
	put_be16(b + 6, profile);
	atapi_reply(ch, d, (uint32_t)(p - b), alloc);
}

static void atapi_event_status(struct ide_channel *ch, struct ide_drive *d,
			       const uint8_t *cdb)
{
	uint32_t alloc = get_be16(cdb + 7), len;
	uint8_t *b = d->buf;

	/* only polled operation; asynchronous notification is optional */
	if (!(cdb[1] & 0x01)) {
		atapi_invalid_field(ch, d);
		return;
	}
	memset(b, 0, 8);
	b[3] = 0x10;			/* supported: media class */
	if (cdb[4] & 0x10) {
		b[2] = 0x04;		/* media class */
		b[4] = d->media_event;
		b[5] = (d->medium && !d->tray_open ? 0x02 : 0) |
		       (d->tray_open ? 0x01 : 0);
		d->media_event = MEC_NO_CHANGE;
		len = 8;
	} else {
		b[2] = 0x80;		/* no event available */
		len = 4;
	}
	put_be16(b, len - 2);
	atapi_reply(ch, d, len, alloc);
}

static void atapi_start_stop(struct ide_channel *ch, struct ide_drive *d,
			     const uint8_t *cdb)
{
	bool loej = cdb[4] & 0x02, start = cdb[4] & 0x01;

	if (loej && !start) {
		if (d->locked) {
			atapi_check(ch, d, SENSE_ILLEGAL_REQUEST,
				    ASC_REMOVAL_PREVENTED, 0x02);
			return;
		}
		if (!d->tray_open && d->medium)
			d->media_event = MEC_MEDIA_REMOVAL;
		d->tray_open = true;
	} else if (loej && start && d->tray_open) {
		d->tray_open = false;
		if (d->medium) {
			d->media_event = MEC_NEW_MEDIA;
			d->unit_attention = true;
		}
	}
	atapi_ok(ch, d);
}

static void atapi_read(struct ide_channel *ch, struct ide_drive *d,
		       uint32_t lba, uint32_t count)
{
	if (!atapi_ready(ch, d))
		return;
	if (lba >= d->nsectors || count > d->nsectors - lba) {
		atapi_check(ch, d, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
		return;
	}
	d->lba = lba;
	d->left = count;
	d->standby = false;
	atapi_transfer(ch, d, 0, 0);
}

static void atapi_inquiry(struct ide_channel *ch, struct ide_drive *d,
			  const uint8_t *cdb)
{
	uint8_t *b = d->buf;

	if (cdb[1] & 0x01) {		/* no vital product data pages */
		atapi_invalid_field(ch, d);
		return;
	}
	memset(b, 0, 36);
	b[0] = 0x05;			/* CD/DVD device */
	b[1] = 0x80;			/* removable */
	b[2] = 0x00;
	b[3] = 0x21;			/* ATAPI, response format 1 */
	b[4] = 31;
	memcpy(b + 8, "KVMLNCH ", 8);
	memcpy(b + 16, "DVD-ROM         ", 16);
	memcpy(b + 32, "1.0 ", 4);
	atapi_reply(ch, d, 36, get_be16(cdb + 3));
}

static void atapi_request_sense(struct ide_channel *ch, struct ide_drive *d,
				const uint8_t *cdb)
{
	uint8_t *b = d->buf;

	memset(b, 0, 18);
	b[0] = 0x70;			/* current error, fixed format */
	b[2] = d->sense_key;
	b[7] = 10;
	b[12] = d->asc;
	b[13] = d->ascq;
	d->sense_key = d->asc = d->ascq = 0;
	atapi_reply(ch, d, 18, cdb[4]);
}

static void atapi_packet(struct ide_channel *ch, struct ide_drive *d)
{
	const uint8_t *cdb = d->packet;
	uint8_t *b = d->buf;

	memcpy(d->packet, d->buf, sizeof(d->packet));
	if (cdb[0] != GPCMD_REQUEST_SENSE)
		d->sense_key = d->asc = d->ascq = 0;
	switch (cdb[0]) {
	case GPCMD_TEST_UNIT_READY:
		if (atapi_ready(ch, d))
			atapi_ok(ch, d);
		return;
	case GPCMD_REQUEST_SENSE:
		atapi_request_sense(ch, d, cdb);
		return;
	case GPCMD_INQUIRY:
		atapi_inquiry(ch, d, cdb);
		return;
	case GPCMD_START_STOP_UNIT:
		atapi_start_stop(ch, d, cdb);
		return;
	case GPCMD_PREVENT_ALLOW:
		d->locked = cdb[4] & 0x01;
		atapi_ok(ch, d);
		return;
	case GPCMD_READ_CAPACITY:
		if (!atapi_ready(ch, d))
			return;
		put_be32(b, d->nsectors - 1);
		put_be32(b + 4, ATAPI_SECTOR_SIZE);
		atapi_reply(ch, d, 8, 8);
		return;
	case GPCMD_READ_10:
		atapi_read(ch, d, get_be32(cdb + 2), get_be16(cdb + 7));
		return;
	case GPCMD_READ_12:
		atapi_read(ch, d, get_be32(cdb + 2), get_be32(cdb + 6));
		return;
	case GPCMD_SEEK_10:
		if (!atapi_ready(ch, d))
			return;
		if (get_be32(cdb + 2) >= d->nsectors)
			atapi_check(ch, d, SENSE_ILLEGAL_REQUEST,
				    ASC_LBA_OUT_OF_RANGE, 0);
		else
			atapi_ok(ch, d);
		return;
	case GPCMD_READ_TOC:
		if (atapi_ready(ch, d))
			atapi_read_toc(ch, d, cdb);
		return;
	case GPCMD_MODE_SENSE_10:
		atapi_mode_sense(ch, d, cdb);
		return;
	case GPCMD_GET_CONFIGURATION:
		atapi_get_configuration(ch, d, cdb);
		return;
	case GPCMD_GET_EVENT_STATUS:
		atapi_event_status(ch, d, cdb);
		return;
	case GPCMD_READ_DISC_INFO:
		if ((cdb[1] & 0x07) != 0) {
			atapi_invalid_field(ch, d);
			return;
		}
		if (!atapi_ready(ch, d))
			return;
		memset(b, 0, 34);
		put_be16(b, 32);
		b[2] = 0x0e;		/* complete disc, last session closed */
		b[3] = 1;		/* first track */
		b[4] = 1;		/* sessions */
		b[5] = 1;		/* first and last track of the last session */
		b[6] = 1;
		b[7] = 0x20;		/* unrestricted use */
		atapi_reply(ch, d, 34, get_be16(cdb + 7));
		return;
	case GPCMD_MECHANISM_STATUS:
		memset(b, 0, 8);
		b[1] = d->tray_open ? 0x10 : 0;
		atapi_reply(ch, d, 8, get_be16(cdb + 8));
		return;
	case GPCMD_SET_CD_SPEED:
		atapi_ok(ch, d);
		return;
	}
	atapi_check(ch, d, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
}

static void atapi_identify(struct ide_drive *d, uint16_t *id)
{
	memset(id, 0, 512);
	/* ATAPI, CD-ROM class, removable, DRQ within 50 us, 12-byte packets */
	id[0] = 0x85c0;
	ide_put_string(id, 10, 20, d->serial);
	ide_put_string(id, 23, 8, "1.0");
	ide_put_string(id, 27, 40, "KVM-LAUNCH DVD-ROM");
	id[49] = 0x0b00;		/* IORDY, LBA, DMA */
	id[53] = 0x0006;		/* words 64-70 and 88 valid */
	id[63] = 0x0007 | (d->mwdma_mode ? 1u << (7 + d->mwdma_mode) : 0);
	id[64] = 0x0003;
	id[65] = id[66] = id[67] = id[68] = 120;
	id[71] = id[72] = 30;
	id[80] = 0x00f0;
	id[82] = 0x0210;		/* PACKET and DEVICE RESET */
	id[83] = 0x4000;
	id[84] = 0x4000;
	id[85] = 0x0210;
	id[87] = 0x4000;
	id[88] = 0x003f | (d->udma_mode ? 1u << (7 + d->udma_mode) : 0);
	id[93] = 0x6001;
}

static void atapi_identify_done(struct ide_channel *ch, struct ide_drive *d)
{
	(void)ch;
	d->status = ATA_DRDY | ATA_DSC;
}

void atapi_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd)
{
	switch (cmd) {
	case WIN_PACKET:
		/* bit 0: DMA data phase; the byte count limit bounds PIO blocks */
		d->packet_dma = d->feature & 0x01;
		d->byte_limit = d->lcyl | d->hcyl << 8;
		atapi_set_reason(d, ATAPI_IR_COD);
		ide_pio_start(ch, d, 0, sizeof(d->packet), true, atapi_packet,
			      false);
		return;
	case WIN_PIDENTIFY:
		atapi_identify(d, (uint16_t *)d->buf);
		ide_pio_start(ch, d, 0, 512, false, atapi_identify_done, true);
		return;
	case WIN_DEVICE_RESET:
		atapi_reset(d);
		ide_set_signature(d);
		d->error = 0x01;
		d->status = 0;
		return;
	}
	if (ata_exec_packet_device(ch, d, cmd))
		return;
	/* ATA disk commands: abort, and show the packet signature */
	ide_set_signature(d);
	ata_cmd_error(ch, d, ATA_ABRT);
}
