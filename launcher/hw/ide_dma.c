/* launcher/hw/ide_dma.c: PIIX bus-master IDE: registers, PRD table walk and the DMA data phase. */
#include <string.h>
#include <sys/uio.h>

#include "ide_int.h"

/*
 * A PRD table lives in one 64 KiB window, so 8192 entries is the most a
 * real controller walks; anything longer is a guest bug (or attack).
 */
#define PRD_MAX_ENTRIES	8192

struct prd_walk {
	uint32_t next;		/* guest address of the next entry */
	unsigned int entries;
	uint32_t addr;		/* current region */
	uint32_t len;		/* bytes left in it */
	bool eot;		/* the current entry was the last */
};

static bool prd_next(struct ide_channel *ch, struct prd_walk *w)
{
	const uint8_t *e;
	uint32_t count;

	if (w->eot || w->entries >= PRD_MAX_ENTRIES)
		return false;
	e = guest_mem_map(&ch->mem, w->next, 8);
	if (!e)
		return false;
	w->addr = (e[0] | e[1] << 8 | e[2] << 16 | (uint32_t)e[3] << 24) & ~1u;
	count = (e[4] | e[5] << 8) & 0xfffe;
	w->len = count ? count : 0x10000;	/* 0 means 64 KiB */
	w->eot = e[7] & 0x80;
	w->next += 8;
	w->entries++;
	return true;
}

/* The next piece of guest memory, at most max bytes; NULL: no usable PRD. */
static uint8_t *prd_piece(struct ide_channel *ch, struct prd_walk *w,
			  uint32_t max, uint32_t *n)
{
	uint8_t *p;

	if (!w->len && !prd_next(ch, w))
		return NULL;
	*n = w->len < max ? w->len : max;
	p = guest_mem_map(&ch->mem, w->addr, *n);
	if (!p)
		return NULL;
	w->addr += *n;
	w->len -= *n;
	return p;
}

/* Largest list one backend call takes (IMG_IOV_MAX). */
#define DMA_IOV_MAX	1024

/* The whole list through the backend: one vectored call, or one per piece. */
static int dma_backend(struct ide_drive *d, const struct iovec *iov, int cnt,
		       uint64_t off)
{
	int i, e = 0;

	if (d->write ? d->be.pwritev != NULL : d->be.preadv != NULL)
		return d->write ? d->be.pwritev(d->be.ctx, iov, cnt, off)
				: d->be.preadv(d->be.ctx, iov, cnt, off);
	for (i = 0; i < cnt && !e; i++) {
		e = d->write ? d->be.pwrite(d->be.ctx, iov[i].iov_base,
					    iov[i].iov_len, off)
			     : d->be.pread(d->be.ctx, iov[i].iov_base,
					   iov[i].iov_len, off);
		off += iov[i].iov_len;
	}
	return e;
}

/*
 * Move the whole sectors that fit the PRD regions straight between the
 * image and guest memory, skipping the bounce buffer. Regions that continue
 * the same host memory (a guest's physically contiguous pages split at
 * 64 KiB boundaries) join one piece, and the pieces of a scattered transfer
 * (a page cache's 4 KiB pages) go to the backend as one list, so a request
 * costs one backend call, not one per entry. The walk stops at a region
 * that ends inside a sector (the caller moves that one through the buffer),
 * and before a region outside guest memory (reported by the next call).
 * Returns the sectors moved (0: the region holds less than one), or -1 with
 * *r set.
 */
static int dma_direct(struct ide_channel *ch, struct ide_drive *d,
		      struct prd_walk *w, enum ide_dma_result *r)
{
	uint32_t ssize = ide_sector_size(d), n, sectors = 0;
	struct iovec iov[DMA_IOV_MAX];
	uint64_t bytes;
	uint8_t *p;
	int cnt = 0;

	if (!w->len && !prd_next(ch, w)) {
		*r = IDE_DMA_BADPRD;
		return -1;
	}
	for (;;) {
		n = w->len / ssize < d->left - sectors ? w->len / ssize
						       : d->left - sectors;
		if (!n)
			break;
		bytes = (uint64_t)n * ssize;
		p = guest_mem_map(&ch->mem, w->addr, bytes);
		if (!p && !cnt) {
			*r = IDE_DMA_BADPRD;
			return -1;
		}
		if (!p)
			break;
		if (cnt && p == (uint8_t *)iov[cnt - 1].iov_base +
				iov[cnt - 1].iov_len)
			iov[cnt - 1].iov_len += bytes;
		else if (cnt < DMA_IOV_MAX)
			iov[cnt++] = (struct iovec){ .iov_base = p,
						     .iov_len = bytes };
		else
			break;		/* the next call takes this region */
		w->addr += bytes;
		w->len -= bytes;
		sectors += n;
		/* joining only where a region ended exactly on a sector */
		if (w->len || sectors == d->left || !prd_next(ch, w))
			break;
	}
	if (!sectors)
		return 0;
	if (dma_backend(d, iov, cnt, d->lba * ssize) < 0) {
		*r = IDE_DMA_EIO;
		return -1;
	}
	d->lba += sectors;
	d->left -= sectors;
	return sectors;
}

/* Device to memory: what is left in buf, then the rest of the stream. */
static enum ide_dma_result dma_to_memory(struct ide_channel *ch,
					 struct ide_drive *d,
					 struct prd_walk *w)
{
	enum ide_dma_result r;

	for (;;) {
		uint32_t n;
		uint8_t *p;
		int moved;

		if (d->pos == d->len) {
			if (!d->left)
				return IDE_DMA_OK;
			moved = dma_direct(ch, d, w, &r);
			if (moved < 0)
				return r;
			if (moved)
				continue;
			if (ide_fill(d) < 0)
				return IDE_DMA_EIO;
		}
		p = prd_piece(ch, w, d->len - d->pos, &n);
		if (!p)
			return IDE_DMA_BADPRD;
		memcpy(p, d->buf + d->pos, n);
		d->pos += n;
	}
}

/* bytes of guest memory along the PRD walk into buf; false: no usable PRD. */
static bool gather(struct ide_channel *ch, struct prd_walk *w, uint8_t *buf, uint32_t bytes)
{
	for (uint32_t got = 0, n; got < bytes; got += n) {
		uint8_t *p = prd_piece(ch, w, bytes - got, &n);

		if (!p)
			return false;
		memcpy(buf + got, p, n);
	}
	return true;
}

/* Memory to device: gather a buffer-full, write it, repeat. */
static enum ide_dma_result dma_from_memory(struct ide_channel *ch,
					   struct ide_drive *d,
					   struct prd_walk *w)
{
	uint32_t ssize = ide_sector_size(d);
	enum ide_dma_result r;

	while (d->left) {
		uint32_t sectors = d->left < IDE_BUF_SIZE / ssize ?
				   d->left : IDE_BUF_SIZE / ssize;
		uint32_t bytes = sectors * ssize;
		int moved = dma_direct(ch, d, w, &r);

		if (moved < 0)
			return r;
		if (moved)
			continue;
		if (!gather(ch, w, d->buf, bytes))
			return IDE_DMA_BADPRD;
		if (d->be.pwrite(d->be.ctx, d->buf, bytes, d->lba * ssize) < 0)
			return IDE_DMA_EIO;
		d->lba += sectors;
		d->left -= sectors;
	}
	return IDE_DMA_OK;
}

/* DATA SET MANAGEMENT: the range blocks into the buffer, then discarded. */
static enum ide_dma_result dma_dsm(struct ide_channel *ch, struct ide_drive *d,
				   struct prd_walk *w)
{
	if (!gather(ch, w, d->buf, d->left * IDE_SECTOR_SIZE))
		return IDE_DMA_BADPRD;
	if (ata_dsm_ranges(d, d->buf, d->left) < 0)
		return IDE_DMA_EIO;
	d->left = 0;
	return IDE_DMA_OK;
}

static void ide_dma_run(struct ide_channel *ch, struct ide_drive *d)
{
	struct prd_walk w = { .next = ch->bm.prdt };
	enum ide_dma_result r;

	d->dma_pending = false;
	if (!ch->bus_master)
		r = IDE_DMA_BADPRD;
	else if (d->dsm)
		r = dma_dsm(ch, d, &w);
	else if (d->write)
		r = dma_from_memory(ch, d, &w);
	else
		r = dma_to_memory(ch, d, &w);
	/*
	 * ACTIVE stays set when the table had room left (normal for a
	 * generous PRD); it drops when the table ended or on error.
	 */
	if (r != IDE_DMA_OK)
		ch->bm.status = (ch->bm.status & ~BM_ST_ACTIVE) | BM_ST_ERROR;
	else if (!w.len && (w.eot || w.entries >= PRD_MAX_ENTRIES))
		ch->bm.status &= ~BM_ST_ACTIVE;
	if (d->media == IDE_MEDIA_CDROM)
		atapi_dma_done(ch, d, r);
	else
		ata_dma_done(ch, d, r);
}

void ide_dma_request(struct ide_channel *ch, struct ide_drive *d)
{
	if ((ch->bm.cmd & BM_CMD_START) && (ch->bm.status & BM_ST_ACTIVE))
		ide_dma_run(ch, d);
}

void ide_dma_cancel(struct ide_channel *ch)
{
	ch->bm.status &= ~BM_ST_ACTIVE;
	ch->drive[0].dma_pending = ch->drive[1].dma_pending = false;
}

static void ide_bm_start(struct ide_channel *ch)
{
	ch->bm.status |= BM_ST_ACTIVE;
	for (unsigned int i = 0; i < 2; i++) {
		struct ide_drive *d = &ch->drive[i];

		if (d->dma_pending) {
			ide_dma_run(ch, d);
			return;
		}
	}
}

static uint8_t ide_bm_read_byte(struct ide_channel *ch, unsigned int off)
{
	switch (off) {
	case 0:
		return ch->bm.cmd;
	case 2:
		return ch->bm.status;
	case 4: case 5: case 6: case 7:
		return ch->bm.prdt >> (8 * (off - 4));
	}
	return 0;
}

static void ide_bm_write_byte(struct ide_channel *ch, unsigned int off,
			      uint8_t val)
{
	uint8_t old = ch->bm.cmd;

	switch (off) {
	case 0:
		ch->bm.cmd = val & (BM_CMD_START | BM_CMD_READ);
		if ((val & BM_CMD_START) && !(old & BM_CMD_START))
			ide_bm_start(ch);
		else if (!(val & BM_CMD_START) && (old & BM_CMD_START))
			ch->bm.status &= ~BM_ST_ACTIVE;	/* abort */
		break;
	case 2:
		ch->bm.status = (ch->bm.status & ~(BM_ST_DMA0 | BM_ST_DMA1)) |
				(val & (BM_ST_DMA0 | BM_ST_DMA1));
		ch->bm.status &= ~(val & (BM_ST_ERROR | BM_ST_INT));
		break;
	case 4: case 5: case 6: case 7: {
		unsigned int sh = 8 * (off - 4);

		ch->bm.prdt = (ch->bm.prdt & ~(0xffu << sh)) |
			      (uint32_t)val << sh;
		ch->bm.prdt &= ~3u;	/* dword aligned */
		break;
	}
	}
}

static uint64_t ide_bm_read(void *dev, uint64_t off, unsigned int size)
{
	uint64_t v = 0;

	for (unsigned int i = 0; i < size; i++)
		v |= (uint64_t)(off + i < 8 ? ide_bm_read_byte(dev, off + i)
					    : 0xff) << (8 * i);
	return v;
}

static void ide_bm_write(void *dev, uint64_t off, unsigned int size,
			 uint64_t val)
{
	/* the PRD pointer is written as a dword: apply it before any start */
	for (unsigned int i = size; i-- > 0;)
		if (off + i < 8)
			ide_bm_write_byte(dev, off + i, val >> (8 * i));
}

const struct io_ops ide_bm_ops = {
	.read = ide_bm_read,
	.write = ide_bm_write,
};
