/* tests/launcher/test_pit.c: i8254: modes 0/2/3/4, latch, read-back, IRQ0 edges, port 0x61. */
#include "tap.h"
#include "hw/i8254.h"

static uint64_t now;
static int irqs, level;

static uint64_t fake_now(void *ctx) { (void)ctx; return now; }
static void fake_irq(void *ctx, unsigned int irq, int lvl)
{
	(void)ctx;
	(void)irq;
	if (lvl && !level)
		irqs++;
	level = lvl;
}

static const struct hw_clock clk = { fake_now, NULL };

/* ns for n PIT ticks, rounded up. */
static uint64_t ticks(uint64_t n) { return (n * 1000000000ULL + PIT_FREQ - 1) / PIT_FREQ; }

static uint16_t read16(struct pit *p, unsigned int ch)
{
	uint8_t lo = pit_read(p, ch);

	return lo | pit_read(p, ch) << 8;
}

int main(void)
{
	struct irq_line line = { fake_irq, NULL, 0 };
	struct pit p;
	uint64_t next;
	uint16_t v;

	tap_plan(23);
	now = 1000000;
	pit_init(&p, &clk, line);

	/* Mode 2 rate generator, count 1000 on channel 0. */
	pit_write(&p, 3, 0x34);
	pit_write(&p, 0, 1000 & 0xff);
	pit_write(&p, 0, 1000 >> 8);
	next = pit_update(&p, now);
	TAP_EQ(next, now + ticks(1000), "mode 2: first IRQ one period after load");
	now += ticks(250);
	pit_write(&p, 3, 0x00);		/* latch channel 0 */
	now += ticks(100);		/* latched value must not move */
	v = read16(&p, 0);
	tap_ok(v == 750 || v == 751, "latched count 750 (got %u)", v);
	v = read16(&p, 0);
	tap_ok(v == 650 || v == 651, "live count 650 after latch consumed (got %u)", v);
	now = next;
	pit_update(&p, now);
	TAP_EQ(irqs, 1, "IRQ0 edge at the period");
	next = pit_update(&p, now);
	TAP_EQ(next, 1000000 + ticks(2000), "next period is two periods after the load");
	now += 10 * ticks(1000);
	pit_update(&p, now);
	TAP_EQ(irqs, 2, "missed periods give one edge, not a burst");
	tap_ok(pit_update(&p, now) > now, "and the next deadline is in the future");

	/* Mode 0: one shot, OUT high at terminal count. */
	irqs = 0;
	pit_write(&p, 3, 0x30);
	tap_ok(!pit_out(&p, 0, now), "mode 0: OUT low after control word");
	pit_write(&p, 0, 100);
	pit_write(&p, 0, 0);
	next = pit_update(&p, now);
	TAP_EQ(next, now + ticks(100), "mode 0: IRQ at terminal count");
	tap_ok(!pit_out(&p, 0, now + ticks(99)), "mode 0: OUT low before terminal count");
	now = next;
	pit_update(&p, now);
	TAP_EQ(irqs, 1, "mode 0: one IRQ");
	TAP_EQ(pit_update(&p, now + ticks(100000)), 0, "mode 0: no further IRQ");
	tap_ok(pit_out(&p, 0, now), "mode 0: OUT stays high");

	/* Mode 4 (Linux one-shot clockevent): IRQ one tick after terminal count. */
	irqs = 0;
	pit_write(&p, 3, 0x38);
	pit_write(&p, 0, 50);
	pit_write(&p, 0, 0);
	next = pit_update(&p, now);
	TAP_EQ(next, now + ticks(51), "mode 4: rising edge after the strobe");

	/* Mode 3 square wave on channel 2 via port 0x61, as PC speaker code uses. */
	pit_port61_write(&p, 0x01);	/* gate 2 on */
	pit_write(&p, 3, 0xb6);
	pit_write(&p, 2, 100);
	pit_write(&p, 2, 0);
	tap_ok(pit_port61_read(&p) & 0x20, "mode 3: OUT2 high in first half");
	now += ticks(60);
	tap_ok(!(pit_port61_read(&p) & 0x20), "mode 3: OUT2 low in second half");
	v = read16(&p, 2);
	tap_ok(v % 2 == 0 && v <= 100, "mode 3: count decrements by two (got %u)", v);

	/* Linux's TSC calibration: channel 2 mode 0 polled through port 0x61. */
	pit_port61_write(&p, 0x01);
	pit_write(&p, 3, 0xb0);
	pit_write(&p, 2, 11932 & 0xff);
	pit_write(&p, 2, 11932 >> 8);
	tap_ok(!(pit_port61_read(&p) & 0x20), "calibration: OUT2 low while counting");
	now += ticks(11932);
	tap_ok(pit_port61_read(&p) & 0x20, "calibration: OUT2 high after 10 ms");
	TAP_EQ(pit_port61_read(&p) & 0x01, 1, "port 0x61 reads gate 2 back");

	/* Read-back: status of channel 2 (mode 0, lohi, OUT high). */
	pit_write(&p, 3, 0xe8);		/* read-back status only, channel 2 */
	v = pit_read(&p, 2);
	TAP_EQ(v, 0x80 | 0x30 | 0x00, "read-back status: OUT, rw lohi, mode 0");
	pit_write(&p, 3, 0xd8);		/* read-back count only, channel 2 */
	now += ticks(5);
	v = read16(&p, 2);
	tap_ok(v <= 1, "read-back latched the count at terminal count, not later (got %u)", v);

	/* BCD: count 100 in BCD is 0x0100. */
	pit_write(&p, 3, 0xb1);		/* ch2 lohi mode 0 BCD */
	pit_write(&p, 2, 0x00);
	pit_write(&p, 2, 0x01);
	v = read16(&p, 2);
	TAP_EQ(v, 0x0100, "BCD count reads back in BCD");
	return tap_done();
}
