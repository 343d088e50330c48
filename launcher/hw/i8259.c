/* launcher/hw/i8259.c: i8259A PIC pair model: priorities, EOI modes, masking, cascade. */
#include <string.h>

#include "hw/i8259.h"

static void chip_reset(struct i8259 *c)
{
	uint8_t elcr = c->elcr, mask = c->elcr_mask;

	memset(c, 0, sizeof(*c));
	c->elcr = elcr;
	c->elcr_mask = mask;
}

void pic_reset(struct pic *p)
{
	memset(p, 0, sizeof(*p));
	/* IRQ0, 1, 2, 8 and 13 are edge-only on a PIIX. */
	p->chip[0].elcr_mask = 0xf8;
	p->chip[1].elcr_mask = 0xde;
}

/* Priority (0 highest) of the best set bit in mask, 8 if none. */
static int priority_of(const struct i8259 *c, uint8_t mask)
{
	int prio = 0;

	if (!mask)
		return 8;
	while (!(mask & (1 << ((prio + c->priority_add) & 7))))
		prio++;
	return prio;
}

/* The IR this chip would signal now, or -1. */
static int chip_irq(const struct i8259 *c, bool master)
{
	uint8_t in_service = c->isr;
	int prio, cur;

	prio = priority_of(c, c->irr & ~c->imr);
	if (prio == 8)
		return -1;
	/* Special mask mode: masked IRs do not block lower ones. */
	if (c->special_mask)
		in_service &= ~c->imr;
	/* Fully nested mode on the master: the slave may interrupt itself. */
	if (master && c->sfnm)
		in_service &= ~(1 << 2);
	cur = priority_of(c, in_service);
	return prio < cur ? (prio + c->priority_add) & 7 : -1;
}

static void chip_input(struct i8259 *c, unsigned int ir, int level)
{
	uint8_t m = 1 << ir;

	if (c->elcr & m) {
		if (level)
			c->irr |= m;
		else
			c->irr &= ~m;
	} else if (level && !(c->line & m)) {
		c->irr |= m;
	}
	if (level)
		c->line |= m;
	else
		c->line &= ~m;
}

/* The slave's INT output drives the master's IR2. */
static void cascade(struct pic *p)
{
	chip_input(&p->chip[0], 2, chip_irq(&p->chip[1], false) >= 0);
}

void pic_set_irq(struct pic *p, unsigned int irq, int level)
{
	if (irq >= 16)
		return;
	chip_input(&p->chip[irq >> 3], irq & 7, level);
	cascade(p);
}

bool pic_pending(const struct pic *p)
{
	return chip_irq(&p->chip[0], true) >= 0;
}

static void chip_ack(struct i8259 *c, int ir)
{
	uint8_t m = 1 << ir;

	if (c->auto_eoi) {
		if (c->rotate_on_auto_eoi)
			c->priority_add = (ir + 1) & 7;
	} else {
		c->isr |= m;
	}
	/* A level input stays requested while its line is high. */
	if (!(c->elcr & m))
		c->irr &= ~m;
}

int pic_ack(struct pic *p)
{
	int ir = chip_irq(&p->chip[0], true), ir2, vec;

	if (ir < 0)
		return p->chip[0].vector_base + 7;	/* spurious */
	chip_ack(&p->chip[0], ir);
	if (ir == 2) {
		ir2 = chip_irq(&p->chip[1], false);
		if (ir2 >= 0)
			chip_ack(&p->chip[1], ir2);
		else
			ir2 = 7;
		vec = p->chip[1].vector_base + ir2;
	} else {
		vec = p->chip[0].vector_base + ir;
	}
	cascade(p);
	return vec;
}

/* OCW3 poll: the read acts as an INTA on this chip. */
static uint8_t chip_poll(struct pic *p, unsigned int n)
{
	struct i8259 *c = &p->chip[n];
	int ir = chip_irq(c, n == 0);

	c->poll = false;
	if (ir < 0)
		return 0;
	chip_ack(c, ir);
	if (n == 1)
		cascade(p);
	return 0x80 | ir;
}

uint8_t pic_read(struct pic *p, unsigned int chip, unsigned int a0)
{
	struct i8259 *c = &p->chip[chip & 1];

	if (c->poll)
		return chip_poll(p, chip & 1);
	if (a0 & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}

static void ocw2(struct i8259 *c, uint8_t val)
{
	int ir, prio;

	switch (val >> 5) {
	case 0:			/* clear rotate in automatic EOI */
	case 4:			/* set rotate in automatic EOI */
		c->rotate_on_auto_eoi = val >> 7;
		break;
	case 1:			/* non-specific EOI */
	case 5:			/* rotate on non-specific EOI */
		prio = priority_of(c, c->isr);
		if (prio == 8)
			break;
		ir = (prio + c->priority_add) & 7;
		c->isr &= ~(1 << ir);
		if (val >> 5 == 5)
			c->priority_add = (ir + 1) & 7;
		break;
	case 3:			/* specific EOI */
		c->isr &= ~(1 << (val & 7));
		break;
	case 6:			/* set priority: IR val is lowest */
		c->priority_add = (val + 1) & 7;
		break;
	case 7:			/* rotate on specific EOI */
		c->isr &= ~(1 << (val & 7));
		c->priority_add = (val + 1) & 7;
		break;
	default:		/* 2: no operation */
		break;
	}
}

void pic_write(struct pic *p, unsigned int chip, unsigned int a0, uint8_t val)
{
	struct i8259 *c = &p->chip[chip & 1];

	if (!(a0 & 1)) {
		if (val & 0x10) {		/* ICW1 */
			chip_reset(c);
			c->init_state = 1;
			c->init4 = val & 1;
			c->single = val & 2;
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				c->poll = true;
			if (val & 0x02)
				c->read_isr = val & 1;
			if (val & 0x40)
				c->special_mask = (val >> 5) & 1;
		} else {
			ocw2(c, val);
		}
	} else {
		switch (c->init_state) {
		case 0:				/* OCW1 */
			c->imr = val;
			break;
		case 1:				/* ICW2 */
			c->vector_base = val & 0xf8;
			c->init_state = c->single ? (c->init4 ? 3 : 0) : 2;
			break;
		case 2:				/* ICW3: wiring is fixed */
			c->init_state = c->init4 ? 3 : 0;
			break;
		case 3:				/* ICW4 */
			c->sfnm = (val >> 4) & 1;
			c->auto_eoi = (val >> 1) & 1;
			c->init_state = 0;
			break;
		}
	}
	cascade(p);
}

uint8_t pic_elcr_read(const struct pic *p, unsigned int chip)
{
	return p->chip[chip & 1].elcr;
}

void pic_elcr_write(struct pic *p, unsigned int chip, uint8_t val)
{
	struct i8259 *c = &p->chip[chip & 1];

	c->elcr = val & c->elcr_mask;
	/* Switching an input to level makes a high line a request again. */
	c->irr = (c->irr & ~c->elcr) | (c->line & c->elcr);
	cascade(p);
}
