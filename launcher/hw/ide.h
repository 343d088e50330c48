/* launcher/hw/ide.h: IDE channels with ATA disks and ATAPI CD-ROMs (task file, PIO, bus-master DMA). */
#ifndef HW_IDE_H
#define HW_IDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw.h"

struct iovec;

#define IDE_SECTOR_SIZE		512
#define ATAPI_SECTOR_SIZE	2048
/* Per-drive transfer buffer: a multiple of both sector sizes. */
#define IDE_BUF_SIZE		(64 * 1024)
#define IDE_MAX_MULTIPLE	16

/*
 * The storage behind a drive. dev-ide.c fills it from an image (struct img);
 * tests use memory. All calls return 0 or a negative errno.
 */
struct ide_backend {
	int (*pread)(void *ctx, void *buf, size_t len, uint64_t off);
	int (*pwrite)(void *ctx, const void *buf, size_t len, uint64_t off);
	/* optional: one call for a scattered DMA transfer (else pread/pwrite each) */
	int (*preadv)(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*pwritev)(void *ctx, const struct iovec *iov, int iovcnt, uint64_t off);
	int (*flush)(void *ctx);
	/* optional: the range may read back as zeros (TRIM); absent: no TRIM */
	int (*discard)(void *ctx, uint64_t off, uint64_t len);
	void *ctx;
	uint64_t size;		/* bytes */
	bool readonly;
};

enum ide_media {
	IDE_MEDIA_NONE = 0,
	IDE_MEDIA_DISK,
	IDE_MEDIA_CDROM,
};

struct ide_channel;
struct ide_drive;

/* What happens when the current PIO data block has been moved. */
typedef void (*ide_pio_done_fn)(struct ide_channel *ch, struct ide_drive *d);

struct ide_drive {
	enum ide_media media;
	struct ide_backend be;
	bool medium;			/* CD: a disc is loaded (be.size may be 0) */
	uint64_t nsectors;		/* in the media's sector size */
	char serial[21];

	/* Task file as this device latched it (the HOB copies for LBA48). */
	uint8_t feature, nsector, sector, lcyl, hcyl;
	uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
	uint8_t select;			/* device/head register */
	uint8_t status, error;

	/* Geometry: default and as set by INITIALIZE DEVICE PARAMETERS. */
	uint16_t cyls, heads, sects;
	uint16_t cur_cyls, cur_heads, cur_sects;
	uint8_t mult_sectors;		/* 0: READ/WRITE MULTIPLE disabled */
	uint8_t mwdma_mode, udma_mode;	/* selected mode + 1, 0: none */
	bool write_cache;
	bool standby;

	/* Data phase: [pos, end) of buf is the DRQ block being moved. */
	uint8_t *buf;
	uint32_t pos, end;
	uint32_t len;			/* valid bytes in buf (DMA, ATAPI) */
	ide_pio_done_fn pio_done;
	bool pio_out;			/* host writes the data port */
	/* Sector stream of the current command. */
	uint64_t lba;			/* next sector */
	uint32_t left;			/* sectors still to move */
	uint32_t block;			/* sectors per PIO DRQ block */
	bool lba48, write;
	bool dsm;			/* the DMA data is DATA SET MANAGEMENT ranges */
	/* DMA command waiting for the bus master to run. */
	bool dma_pending;

	/* ATAPI */
	uint8_t packet[12];
	uint8_t sense_key, asc, ascq;
	uint16_t byte_limit;		/* PIO bytes per DRQ block */
	bool packet_dma;		/* data phase through the bus master */
	bool tray_open, locked;
	bool unit_attention;		/* report MEDIUM CHANGED once */
	uint8_t media_event;		/* pending GESN media event code */
};

/* PIIX bus-master IDE registers of one channel. */
struct ide_bm {
	uint8_t cmd, status;
	uint32_t prdt;
};

struct ide_channel {
	struct ide_drive drive[2];
	unsigned int index;		/* 0 primary, 1 secondary */
	unsigned int cur;		/* selected drive */
	uint8_t devctl;
	bool intrq;			/* a device requests an interrupt */
	bool line;			/* level currently driven on irq */
	struct irq_line irq;
	struct guest_mem mem;
	struct ide_bm bm;
	bool bus_master;		/* PCI bus mastering enabled */
};

/* Task file register offsets (command block) */
#define ATA_REG_DATA		0
#define ATA_REG_ERROR		1	/* read; write: feature */
#define ATA_REG_NSECTOR		2
#define ATA_REG_SECTOR		3	/* LBA 7:0 */
#define ATA_REG_LCYL		4	/* LBA 15:8 */
#define ATA_REG_HCYL		5	/* LBA 23:16 */
#define ATA_REG_SELECT		6
#define ATA_REG_STATUS		7	/* read; write: command */

/* Status */
#define ATA_BSY		0x80
#define ATA_DRDY	0x40
#define ATA_DF		0x20
#define ATA_DSC		0x10
#define ATA_DRQ		0x08
#define ATA_ERR		0x01
/* Error */
#define ATA_ICRC	0x80
#define ATA_UNC		0x40
#define ATA_IDNF	0x10
#define ATA_ABRT	0x04
/* Device control */
#define ATA_NIEN	0x02
#define ATA_SRST	0x04
#define ATA_HOB		0x80
/* Bus master */
#define BM_CMD_START	0x01
#define BM_CMD_READ	0x08	/* bus master writes memory (device reads) */
#define BM_ST_ACTIVE	0x01
#define BM_ST_ERROR	0x02
#define BM_ST_INT	0x04
#define BM_ST_DMA0	0x20
#define BM_ST_DMA1	0x40

void ide_channel_init(struct ide_channel *ch, unsigned int index,
		      const struct irq_line *irq, const struct guest_mem *mem);
/*
 * Attach a drive. A disk needs a backend of at least one sector; a CD-ROM
 * may have none (empty tray). The backend's size is rounded down to whole
 * sectors. Returns 0, or -1 with a reason in err.
 */
int ide_drive_attach(struct ide_channel *ch, unsigned int unit,
		     enum ide_media media, const struct ide_backend *be,
		     char *err, size_t errlen);
void ide_channel_destroy(struct ide_channel *ch);
/* Hardware reset (power on, VM reset). */
void ide_channel_reset(struct ide_channel *ch);

/* Command block (8 ports), control block (alt status / device control, 1
 * port) and bus-master registers (8 bytes); dev is the ide_channel. */
extern const struct io_ops ide_cmd_ops;
extern const struct io_ops ide_ctl_ops;
extern const struct io_ops ide_bm_ops;

#endif
