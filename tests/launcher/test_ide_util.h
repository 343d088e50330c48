/* tests/launcher/test_ide_util.h: a memory-backed disk, fake guest RAM and port helpers for the IDE tests. */
#ifndef TEST_IDE_UTIL_H
#define TEST_IDE_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "hw/ide.h"
#include "tap.h"

/* A disk in memory that counts calls and can be told to fail. */
struct memdisk {
	uint8_t *data;
	uint64_t size;
	unsigned int reads, writes, flushes;
	unsigned int readvs, writevs;	/* vectored calls */
	unsigned int discards;		/* TRIMmed ranges */
	bool fail_read, fail_write, fail_flush;
};

static inline int memdisk_pread(void *ctx, void *buf, size_t len, uint64_t off)
{
	struct memdisk *m = ctx;

	m->reads++;
	if (m->fail_read)
		return -EIO;
	if (off > m->size || len > m->size - off) {
		tap_diag("memdisk: read past the end (%zu at %llu)", len,
			 (unsigned long long)off);
		return -EINVAL;
	}
	memcpy(buf, m->data + off, len);
	return 0;
}

static inline int memdisk_pwrite(void *ctx, const void *buf, size_t len, uint64_t off)
{
	struct memdisk *m = ctx;

	m->writes++;
	if (m->fail_write)
		return -EIO;
	if (off > m->size || len > m->size - off)
		return -EINVAL;
	memcpy(m->data + off, buf, len);
	return 0;
}

/* The vectored calls, counted apart: one call however scattered the list. */
static inline int memdisk_iov(struct memdisk *m, const struct iovec *iov,
			      int cnt, uint64_t off, bool write)
{
	if (write ? m->fail_write : m->fail_read)
		return -EIO;
	for (int i = 0; i < cnt; i++) {
		if (off > m->size || iov[i].iov_len > m->size - off)
			return -EINVAL;
		if (write)
			memcpy(m->data + off, iov[i].iov_base, iov[i].iov_len);
		else
			memcpy(iov[i].iov_base, m->data + off, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	return 0;
}

static inline int memdisk_preadv(void *ctx, const struct iovec *iov, int cnt,
				 uint64_t off)
{
	struct memdisk *m = ctx;

	m->readvs++;
	return memdisk_iov(m, iov, cnt, off, false);
}

static inline int memdisk_pwritev(void *ctx, const struct iovec *iov, int cnt,
				  uint64_t off)
{
	struct memdisk *m = ctx;

	m->writevs++;
	return memdisk_iov(m, iov, cnt, off, true);
}

static inline int memdisk_discard(void *ctx, uint64_t off, uint64_t len)
{
	struct memdisk *m = ctx;

	if (off > m->size || len > m->size - off)
		return -EINVAL;
	m->discards++;
	memset(m->data + off, 0, len);
	return 0;
}

static inline int memdisk_flush(void *ctx)
{
	struct memdisk *m = ctx;

	m->flushes++;
	return m->fail_flush ? -EIO : 0;
}

/* Byte i of the disk holds a pattern that identifies its sector. */
static inline uint8_t memdisk_pattern(uint64_t off, unsigned int ssize)
{
	return (uint8_t)(off / ssize * 7 + off % ssize * 3 + 1);
}

static inline void memdisk_init(struct memdisk *m, uint64_t size, unsigned int ssize)
{
	memset(m, 0, sizeof(*m));
	m->data = malloc(size);
	m->size = size;
	for (uint64_t i = 0; i < size; i++)
		m->data[i] = memdisk_pattern(i, ssize);
}

static inline struct ide_backend memdisk_backend(struct memdisk *m, bool readonly)
{
	return (struct ide_backend){
		.pread = memdisk_pread, .pwrite = memdisk_pwrite,
		.flush = memdisk_flush, .discard = memdisk_discard,
		.ctx = m, .size = m->size,
		.readonly = readonly,
	};
}

/* Guest RAM: [0, RAM_SIZE), nothing above. */
#define RAM_SIZE	(4u << 20)
static uint8_t *ram;

static inline void *ram_map(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return ram + gpa;
}

/* The interrupt line: level and number of rising edges. */
static int irq_level, irq_edges;

static inline void irq_set(void *ctx, unsigned int irq, int level)
{
	(void)ctx;
	(void)irq;
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static const struct irq_line test_irq = { irq_set, NULL, 14 };
static const struct guest_mem test_mem = { ram_map, NULL };

static inline uint8_t inb(struct ide_channel *ch, unsigned int reg)
{
	return ide_cmd_ops.read(ch, reg, 1);
}

static inline void outb(struct ide_channel *ch, unsigned int reg, uint8_t v)
{
	ide_cmd_ops.write(ch, reg, 1, v);
}

static inline uint16_t inw(struct ide_channel *ch)
{
	return ide_cmd_ops.read(ch, ATA_REG_DATA, 2);
}

static inline void outw(struct ide_channel *ch, uint16_t v)
{
	ide_cmd_ops.write(ch, ATA_REG_DATA, 2, v);
}

static inline uint8_t altstatus(struct ide_channel *ch)
{
	return ide_ctl_ops.read(ch, 0, 1);
}

static inline void devctl(struct ide_channel *ch, uint8_t v)
{
	ide_ctl_ops.write(ch, 0, 1, v);
}

static inline void bm_write(struct ide_channel *ch, unsigned int off,
		     unsigned int size, uint32_t v)
{
	ide_bm_ops.write(ch, off, size, v);
}

static inline uint32_t bm_read(struct ide_channel *ch, unsigned int off,
			unsigned int size)
{
	return ide_bm_ops.read(ch, off, size);
}

/* Read n bytes from the data port into buf, 16 bits at a time. */
static inline void pio_in(struct ide_channel *ch, uint8_t *buf, unsigned int n)
{
	for (unsigned int i = 0; i < n; i += 2) {
		uint16_t w = inw(ch);

		buf[i] = w;
		if (i + 1 < n)
			buf[i + 1] = w >> 8;
	}
}

/* A PRD entry at gpa. */
static inline void prd_put(uint32_t gpa, uint32_t addr, uint32_t count, bool eot)
{
	uint8_t *e = ram + gpa;

	e[0] = addr;
	e[1] = addr >> 8;
	e[2] = addr >> 16;
	e[3] = addr >> 24;
	e[4] = count;
	e[5] = count >> 8;
	e[6] = 0;
	e[7] = eot ? 0x80 : 0;
}

#endif
