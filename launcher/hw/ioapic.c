/* launcher/hw/ioapic.c: 82093AA I/O APIC: registers, redirection table, Remote IRR, MSI delivery. */
#include "ioapic.h"

#include <stdlib.h>

/* Bits a guest write cannot change. */
#define RTE_READ_ONLY	(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR)

struct ioapic {
	uint64_t rte[IOAPIC_NUM_PINS];
	uint32_t line;		/* input levels, bit per pin */
	uint8_t id;
	uint8_t regsel;

	void (*send_msi)(void *ctx, unsigned int pin, uint64_t addr, uint32_t data);
	void (*entry_changed)(void *ctx, unsigned int pin);
	void *ctx;
};

struct ioapic *ioapic_create(void (*send_msi)(void *ctx, unsigned int pin,
					      uint64_t addr, uint32_t data),
			     void (*entry_changed)(void *ctx, unsigned int pin),
			     void *ctx)
{
	struct ioapic *s;

	if (!send_msi)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->send_msi = send_msi;
	s->entry_changed = entry_changed;
	s->ctx = ctx;
	ioapic_reset(s);
	return s;
}

void ioapic_destroy(struct ioapic *s)
{
	free(s);
}

void ioapic_reset(struct ioapic *s)
{
	for (unsigned int pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		s->rte[pin] = IOAPIC_RTE_MASKED;
	s->id = 0;
	s->regsel = 0;
}

void ioapic_pin_msi(const struct ioapic *s, unsigned int pin, uint64_t *addr,
		    uint32_t *data)
{
	uint64_t e;

	if (pin >= IOAPIC_NUM_PINS) {
		*addr = 0;
		*data = 0;
		return;
	}
	e = s->rte[pin];
	*addr = IOAPIC_MSI_ADDR_BASE |
		(e >> IOAPIC_RTE_DEST_SHIFT) << IOAPIC_MSI_ADDR_DEST_SHIFT;
	if (e & IOAPIC_RTE_LOGICAL)
		*addr |= IOAPIC_MSI_ADDR_LOGICAL;
	*data = (uint32_t)(e & (IOAPIC_RTE_VECTOR | IOAPIC_RTE_DELMODE)) |
		IOAPIC_MSI_DATA_ASSERT;
	if (e & IOAPIC_RTE_LEVEL)
		*data |= IOAPIC_MSI_DATA_LEVEL;
}

/*
 * The pin's request reaches the local APICs if it is unmasked and, for a
 * level pin, the previous one was EOIed. Nothing tells us whether an APIC
 * accepted it, so, like QEMU, Remote IRR is set on every level delivery.
 */
static void ioapic_service(struct ioapic *s, unsigned int pin)
{
	uint64_t e = s->rte[pin], addr;
	uint32_t data;

	if (e & IOAPIC_RTE_MASKED)
		return;
	if (e & IOAPIC_RTE_LEVEL) {
		if (e & IOAPIC_RTE_REMOTE_IRR)
			return;
		s->rte[pin] = e | IOAPIC_RTE_REMOTE_IRR;
	}
	ioapic_pin_msi(s, pin, &addr, &data);
	s->send_msi(s->ctx, pin, addr, data);
}

void ioapic_set_irq(struct ioapic *s, unsigned int pin, int level)
{
	uint32_t bit;
	bool was;

	if (pin >= IOAPIC_NUM_PINS)
		return;
	bit = 1u << pin;
	was = s->line & bit;
	if (!level) {
		s->line &= ~bit;
		return;
	}
	s->line |= bit;
	if ((s->rte[pin] & IOAPIC_RTE_LEVEL) || !was)
		ioapic_service(s, pin);
}

void ioapic_eoi(struct ioapic *s, unsigned int vector)
{
	for (unsigned int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t e = s->rte[pin];

		if ((e & IOAPIC_RTE_VECTOR) != vector ||
		    !(e & IOAPIC_RTE_LEVEL) || !(e & IOAPIC_RTE_REMOTE_IRR))
			continue;
		s->rte[pin] = e & ~IOAPIC_RTE_REMOTE_IRR;
		if (s->line & (1u << pin))
			ioapic_service(s, pin);
	}
}

uint64_t ioapic_entry(const struct ioapic *s, unsigned int pin)
{
	return pin < IOAPIC_NUM_PINS ? s->rte[pin] : 0;
}

bool ioapic_vector_is_level(const struct ioapic *s, unsigned int vector)
{
	for (unsigned int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t e = s->rte[pin];

		if ((e & IOAPIC_RTE_LEVEL) && (e & IOAPIC_RTE_VECTOR) == vector)
			return true;
	}
	return false;
}

void ioapic_level_vectors(const struct ioapic *s, uint64_t map[4])
{
	map[0] = map[1] = map[2] = map[3] = 0;
	for (unsigned int pin = 0; pin < IOAPIC_NUM_PINS; pin++) {
		uint64_t e = s->rte[pin];
		unsigned int v = e & IOAPIC_RTE_VECTOR;

		if (e & IOAPIC_RTE_LEVEL)
			map[v / 64] |= 1ull << (v % 64);
	}
}

static uint32_t ioapic_read_indirect(const struct ioapic *s)
{
	unsigned int pin;

	switch (s->regsel) {
	case IOAPIC_REG_ID:
	case IOAPIC_REG_ARB:
		return (uint32_t)s->id << 24;
	case IOAPIC_REG_VERSION:
		return (IOAPIC_NUM_PINS - 1) << 16 | IOAPIC_VERSION;
	}
	if (s->regsel < IOAPIC_REG_REDTBL)
		return 0xffffffff;	/* unimplemented, as in KVM */
	pin = (s->regsel - IOAPIC_REG_REDTBL) / 2;
	if (pin >= IOAPIC_NUM_PINS)
		return 0xffffffff;
	return s->regsel & 1 ? s->rte[pin] >> 32 : (uint32_t)s->rte[pin];
}

static void ioapic_write_entry(struct ioapic *s, unsigned int pin, bool high,
			       uint32_t val)
{
	uint64_t old = s->rte[pin], e;

	if (high)
		e = (old & 0xffffffffull) | (uint64_t)val << 32;
	else
		e = (old & ~0xffffffffull) | val;
	e = (e & ~RTE_READ_ONLY) | (old & RTE_READ_ONLY);
	/*
	 * Linux EOIs a 0x11 IOAPIC, which has no EOI register, by switching
	 * the entry to edge and back: edge entries drop Remote IRR.
	 */
	if (!(e & IOAPIC_RTE_LEVEL))
		e &= ~IOAPIC_RTE_REMOTE_IRR;
	s->rte[pin] = e;
	if (e != old && s->entry_changed)
		s->entry_changed(s->ctx, pin);
	/* Unmasking, or switching to level, delivers a held level request. */
	if ((e & IOAPIC_RTE_LEVEL) && (s->line & (1u << pin)))
		ioapic_service(s, pin);
}

static void ioapic_write_indirect(struct ioapic *s, uint32_t val)
{
	unsigned int pin;

	switch (s->regsel) {
	case IOAPIC_REG_ID:
		s->id = (val >> 24) & 0xf;
		return;
	case IOAPIC_REG_VERSION:
	case IOAPIC_REG_ARB:
		return;		/* read-only */
	}
	if (s->regsel < IOAPIC_REG_REDTBL)
		return;
	pin = (s->regsel - IOAPIC_REG_REDTBL) / 2;
	if (pin < IOAPIC_NUM_PINS)
		ioapic_write_entry(s, pin, s->regsel & 1, val);
}

/*
 * IOREGSEL is an 8-bit register the datasheet loads with a byte write;
 * IOWIN must be accessed as a dword. Anything else reads 0 (not the all
 * ones of hw.h) because KVM's and QEMU's IOAPICs read 0 there.
 */
static uint64_t ioapic_mmio_read(void *dev, uint64_t offset, unsigned int size)
{
	struct ioapic *s = dev;

	if (offset == IOAPIC_IOREGSEL && (size == 1 || size == 2 || size == 4))
		return s->regsel;
	if (offset == IOAPIC_IOWIN && size == 4)
		return ioapic_read_indirect(s);
	return 0;
}

static void ioapic_mmio_write(void *dev, uint64_t offset, unsigned int size,
			      uint64_t val)
{
	struct ioapic *s = dev;

	if (offset == IOAPIC_IOREGSEL && (size == 1 || size == 2 || size == 4))
		s->regsel = (uint8_t)val;
	else if (offset == IOAPIC_IOWIN && size == 4)
		ioapic_write_indirect(s, (uint32_t)val);
	/* IOAPIC_EOI: a version 0x11 IOAPIC has none. */
}

const struct io_ops ioapic_mmio_ops = {
	.read = ioapic_mmio_read,
	.write = ioapic_mmio_write,
};
