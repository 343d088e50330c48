/* launcher/hw/e1000_int.h: what the 82540EM's register and receive code (e1000.c) and its transmit code (e1000_tx.c) share (not for the VMM). */
#ifndef HW_E1000_INT_H
#define HW_E1000_INT_H

#include <endian.h>
#include <string.h>

#include "e1000.h"

static inline uint32_t e1000_r(const struct e1000 *e, uint32_t off)
{
	return e->reg[off / 4];
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

/* A guest error, on stderr: a few per window, the rest counted. */
void e1000_warn(struct e1000 *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
uint64_t e1000_now(const struct e1000 *e);
bool e1000_bus_master(const struct e1000 *e);
/* Add n to a statistics counter (saturating, as the hardware's). */
void e1000_stat_add(struct e1000 *e, uint32_t off, uint32_t n);
/* Set interrupt causes in ICR and follow with INTA. */
void e1000_set_cause(struct e1000 *e, uint32_t cause);
/* Descriptors with RS were written back: TXDW now, or after TIDV/TADV when all had IDE. */
void e1000_tx_interrupt(struct e1000 *e, bool delay);

/* e1000_tx.c: transmit what the ring holds from TDH to TDT; forget a half-gathered packet. */
void e1000_tx_run(struct e1000 *e);
void e1000_tx_reset(struct e1000 *e);

#endif
