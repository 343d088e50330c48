/* launcher/hw/i8254.c: i8254 PIT model: modes 0-5, latch and read-back, IRQ0 edges. */
#include <string.h>

#include "hw/i8254.h"

#define NS	1000000000ULL

static uint64_t ticks_since(const struct pit_channel *c, uint64_t now)
{
	uint64_t d = now > c->load_ns ? now - c->load_ns : 0;

	return (uint64_t)((unsigned __int128)d * PIT_FREQ / NS);
}

static uint64_t tick_time(const struct pit_channel *c, uint64_t ticks)
{
	return c->load_ns + (uint64_t)(((unsigned __int128)ticks * NS + PIT_FREQ - 1) / PIT_FREQ);
}

static uint16_t to_bcd(uint32_t v)
{
	v %= 10000;
	return (v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
	return (v >> 12) * 1000 + ((v >> 8) & 15) * 100 + ((v >> 4) & 15) * 10 + (v & 15);
}

/* The counting element as a read would see it. */
static uint16_t counter_value(const struct pit_channel *c, uint64_t now)
{
	uint64_t d;
	uint32_t v;

	if (!c->loaded)
		return c->bcd ? to_bcd(c->count) : c->count & 0xffff;
	d = ticks_since(c, now);
	switch (c->mode) {
	case 2:
		v = c->count - d % c->count;
		break;
	case 3:
		/* Decrements by two, reloading each half period. */
		v = c->count - (2 * d) % c->count;
		break;
	default:	/* 0, 1, 4, 5: wrap after terminal count */
		v = (uint32_t)((c->count - d) & 0xffff);
		if (c->bcd)
			v = (c->count + 10000 - d % 10000) % 10000;
		break;
	}
	if (c->bcd)
		return to_bcd(v);
	return v & 0xffff;
}

bool pit_out(struct pit *p, unsigned int ch, uint64_t now)
{
	const struct pit_channel *c = &p->ch[ch];
	uint64_t d;

	if (!c->loaded)
		return c->mode != 0;
	d = ticks_since(c, now);
	switch (c->mode) {
	case 0:
	case 1:
		return d >= c->count;
	case 2:
		return d % c->count != c->count - 1;
	case 3:
		return d % c->count < (c->count + 1) / 2;
	default:	/* 4, 5: one low tick at terminal count */
		return d != c->count;
	}
}

/* Tick count (after `after`) of the next rising edge of OUT, or 0 for none. */
static uint64_t next_rise(const struct pit_channel *c, uint64_t after)
{
	switch (c->mode) {
	case 0:
	case 1:
		return after < c->count ? c->count : 0;
	case 2:
	case 3:
		return (after / c->count + 1) * c->count;
	default:
		return after < c->count + 1 ? c->count + 1 : 0;
	}
}

static void reschedule(struct pit *p, uint64_t now)
{
	const struct pit_channel *c = &p->ch[0];
	uint64_t t;

	p->next_irq_ns = 0;
	if (!c->loaded || !c->gate)
		return;
	t = next_rise(c, ticks_since(c, now));
	if (t)
		p->next_irq_ns = tick_time(c, t);
}

uint64_t pit_update(struct pit *p, uint64_t now)
{
	if (p->next_irq_ns && now >= p->next_irq_ns) {
		/* One edge even if several were missed: Linux counts time, not ticks. */
		irq_line_set(&p->irq0, 1);
		irq_line_set(&p->irq0, 0);
		reschedule(p, now);
	}
	return p->next_irq_ns;
}

void pit_init(struct pit *p, const struct hw_clock *clock, struct irq_line irq0)
{
	unsigned int i;

	memset(p, 0, sizeof(*p));
	p->clock = clock;
	p->irq0 = irq0;
	for (i = 0; i < 3; i++) {
		p->ch[i].count = 65536;
		p->ch[i].gate = i != 2;
		p->ch[i].mode = 3;
		p->ch[i].rw_mode = 3;
		p->ch[i].read_state = p->ch[i].write_state = 3;
	}
}

static void load_count(struct pit *p, unsigned int ch, uint32_t val)
{
	struct pit_channel *c = &p->ch[ch];
	uint64_t now = hw_clock_now(p->clock);

	if (c->bcd)
		val = from_bcd(val);
	if (val == 0)
		val = c->bcd ? 10000 : 65536;
	/* Mode 2 and 3 with count 1 would be degenerate; hardware forbids it. */
	if (val == 1 && (c->mode == 2 || c->mode == 3))
		val = 2;
	c->count = val;
	c->load_ns = now;
	c->loaded = true;
	c->null_count = false;
	if (ch == 0)
		reschedule(p, now);
}

static void latch_count(struct pit_channel *c, uint64_t now)
{
	if (c->latch_state)
		return;
	c->latched = counter_value(c, now);
	c->latch_state = c->rw_mode;
}

static void latch_status(struct pit *p, unsigned int ch, uint64_t now)
{
	struct pit_channel *c = &p->ch[ch];

	if (c->status_latched)
		return;
	c->status = pit_out(p, ch, now) << 7 | c->null_count << 6 |
		    c->rw_mode << 4 | c->mode << 1 | c->bcd;
	c->status_latched = true;
}

void pit_write(struct pit *p, unsigned int port, uint8_t val)
{
	uint64_t now = hw_clock_now(p->clock);
	struct pit_channel *c;
	unsigned int ch, i;

	if (port < 3) {
		c = &p->ch[port];
		switch (c->write_state) {
		case 1:
			load_count(p, port, val);
			break;
		case 2:
			load_count(p, port, (uint32_t)val << 8);
			break;
		case 3:
			c->write_lsb = val;
			c->write_state = 4;
			break;
		case 4:
			c->write_state = 3;
			load_count(p, port, c->write_lsb | (uint32_t)val << 8);
			break;
		}
		return;
	}
	ch = val >> 6;
	if (ch == 3) {			/* read-back */
		for (i = 0; i < 3; i++) {
			if (!(val & (2 << i)))
				continue;
			if (!(val & 0x20))
				latch_count(&p->ch[i], now);
			if (!(val & 0x10))
				latch_status(p, i, now);
		}
		return;
	}
	c = &p->ch[ch];
	if (!((val >> 4) & 3)) {	/* counter latch */
		latch_count(c, now);
		return;
	}
	c->rw_mode = (val >> 4) & 3;
	c->read_state = c->write_state = c->rw_mode;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;		/* 6, 7 are aliases of 2, 3 */
	c->bcd = val & 1;
	c->loaded = false;		/* new mode: wait for a count */
	c->null_count = true;
	c->latch_state = 0;
	c->status_latched = false;
	if (ch == 0)
		reschedule(p, now);
}

uint8_t pit_read(struct pit *p, unsigned int port)
{
	struct pit_channel *c;
	uint16_t v;
	uint8_t r;

	if (port >= 3)
		return 0xff;		/* the control word is write-only */
	c = &p->ch[port];
	if (c->status_latched) {
		c->status_latched = false;
		return c->status;
	}
	if (c->latch_state) {
		switch (c->latch_state) {
		case 1:
			c->latch_state = 0;
			return c->latched & 0xff;
		case 2:
			c->latch_state = 0;
			return c->latched >> 8;
		default:		/* 3: LSB now, MSB next */
			c->latch_state = 2;
			return c->latched & 0xff;
		}
	}
	v = counter_value(c, hw_clock_now(p->clock));
	switch (c->read_state) {
	case 1:
		return v & 0xff;
	case 2:
		return v >> 8;
	case 3:
		c->read_state = 4;
		return v & 0xff;
	default:
		c->read_state = 3;
		r = v >> 8;
		return r;
	}
}

void pit_set_gate(struct pit *p, unsigned int ch, bool level)
{
	struct pit_channel *c = &p->ch[ch];
	uint64_t now = hw_clock_now(p->clock);

	/* A rising gate (re)starts modes 1, 2, 3 and 5. */
	if (level && !c->gate && c->loaded &&
	    (c->mode == 1 || c->mode == 2 || c->mode == 3 || c->mode == 5))
		c->load_ns = now;
	c->gate = level;
	if (ch == 0)
		reschedule(p, now);
}

uint8_t pit_port61_read(struct pit *p)
{
	uint64_t now = hw_clock_now(p->clock);
	/* Bit 4 toggles with each DRAM refresh, every 15.085 us. */
	bool refresh = (now / 15085) & 1;

	return p->ch[2].gate | p->speaker_data << 1 | refresh << 4 |
	       pit_out(p, 2, now) << 5;
}

void pit_port61_write(struct pit *p, uint8_t val)
{
	p->speaker_data = (val >> 1) & 1;
	pit_set_gate(p, 2, val & 1);
}
