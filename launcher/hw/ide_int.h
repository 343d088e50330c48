/* launcher/hw/ide_int.h: helpers shared by the IDE channel, ATA, ATAPI and DMA code (not for the VMM). */
#ifndef HW_IDE_INT_H
#define HW_IDE_INT_H

#include "ide.h"

/* ATAPI interrupt reason, in the sector count register */
#define ATAPI_IR_COD	0x01
#define ATAPI_IR_IO	0x02

/* DMA outcome handed to the command sets */
enum ide_dma_result {
	IDE_DMA_OK = 0,
	IDE_DMA_EIO,		/* the backend failed */
	IDE_DMA_BADPRD,		/* PRD table unusable: too short, too long, outside RAM */
};

void ide_update_irq(struct ide_channel *ch);
void ide_raise_irq(struct ide_channel *ch);
void ide_set_signature(struct ide_drive *d);
uint32_t ide_sector_size(const struct ide_drive *d);
/* Space-padded ATA string of len characters at IDENTIFY word `word`. */
void ide_put_string(uint16_t *id, unsigned int word, unsigned int len,
		    const char *s);

/* Start a PIO data block of buf[pos, end). */
void ide_pio_start(struct ide_channel *ch, struct ide_drive *d, uint32_t pos,
		   uint32_t end, bool out, ide_pio_done_fn done, bool irq);
/* Read the next buffer-full of the sector stream: 0 or a negative errno. */
int ide_fill(struct ide_drive *d);

/* DATA SET MANAGEMENT: 512-byte blocks of ranges one command takes */
#define ATA_DSM_MAX_BLOCKS	8

/* ATA command set (ide_ata.c) */
void ata_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd);
void ata_cmd_ok(struct ide_channel *ch, struct ide_drive *d);
void ata_cmd_error(struct ide_channel *ch, struct ide_drive *d, uint8_t err);
void ata_dma_done(struct ide_channel *ch, struct ide_drive *d,
		  enum ide_dma_result r);
/* The ATA commands a packet device also takes; false: not one of them. */
bool ata_exec_packet_device(struct ide_channel *ch, struct ide_drive *d,
			    uint8_t cmd);
/* Discard the TRIM ranges of blocks DSM blocks in buf: 0 or a negative errno. */
int ata_dsm_ranges(struct ide_drive *d, const uint8_t *buf, uint32_t blocks);

/* ATAPI (atapi.c) */
void atapi_exec(struct ide_channel *ch, struct ide_drive *d, uint8_t cmd);
void atapi_dma_done(struct ide_channel *ch, struct ide_drive *d,
		    enum ide_dma_result r);
void atapi_reset(struct ide_drive *d);

/* Bus master (ide_dma.c): a DMA command is ready; runs if the engine is. */
void ide_dma_request(struct ide_channel *ch, struct ide_drive *d);
void ide_dma_cancel(struct ide_channel *ch);

#endif
