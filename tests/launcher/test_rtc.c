/* tests/launcher/test_rtc.c: MC146818: time in BCD and binary, update cycle (UIP, UF), alarm, periodic, CMOS fields. */
#include "tap.h"
#include "hw/mc146818.h"

#define NS 1000000000ULL

static uint64_t now;
static int level;

static uint64_t fake_now(void *ctx) { (void)ctx; return now; }
static void fake_irq(void *ctx, unsigned int irq, int lvl) { (void)ctx; (void)irq; level = lvl; }
static const struct hw_clock clk = { fake_now, NULL };

static uint8_t rd(struct rtc *r, uint8_t idx)
{
	rtc_write(r, 0, idx);
	return rtc_read(r, 1);
}

static void wr(struct rtc *r, uint8_t idx, uint8_t v)
{
	rtc_write(r, 0, idx);
	rtc_write(r, 1, v);
}

int main(void)
{
	struct irq_line line = { fake_irq, NULL, 8 };
	struct rtc r;
	uint64_t next;
	uint8_t c;

	tap_plan(24);
	now = 5 * NS;
	/* 2024-02-29 23:59:58 UTC */
	rtc_init(&r, &clk, line, 1709251198);

	TAP_EQ(rd(&r, 0x00), 0x58, "seconds in BCD");
	TAP_EQ(rd(&r, 0x02), 0x59, "minutes in BCD");
	TAP_EQ(rd(&r, 0x04), 0x23, "hours in BCD, 24h");
	TAP_EQ(rd(&r, 0x07), 0x29, "leap day");
	TAP_EQ(rd(&r, 0x08), 0x02, "month");
	TAP_EQ(rd(&r, 0x09), 0x24, "year");
	TAP_EQ(rd(&r, 0x32), 0x20, "century");
	TAP_EQ(rd(&r, 0x0d), 0x80, "register D: valid RAM and time");

	/* Time moves across midnight into March. */
	now += 2 * NS;
	TAP_EQ(rd(&r, 0x07), 0x01, "two seconds later: day 1");
	TAP_EQ(rd(&r, 0x08), 0x03, "of March");

	/* UIP: set in the last 244 us before an update. */
	now = 5 * NS + 2 * NS + NS - 100000;
	tap_ok(rd(&r, 0x0a) & 0x80, "UIP set just before the update");
	now += 200000;
	tap_ok(!(rd(&r, 0x0a) & 0x80), "UIP clear just after");

	/* Binary mode, 12 hour mode. */
	wr(&r, 0x0b, 0x04);
	TAP_EQ(rd(&r, 0x04), 12, "binary 12h: midnight is 12");
	TAP_EQ(rd(&r, 0x00), 1, "binary seconds");

	/* Setting the time with SET. */
	wr(&r, 0x0b, 0x86);		/* SET, binary, 24h */
	wr(&r, 0x00, 30);
	wr(&r, 0x02, 15);
	wr(&r, 0x04, 10);
	wr(&r, 0x0b, 0x06);
	now += 3 * NS;
	TAP_EQ(rd(&r, 0x00), 33, "time set by the guest keeps running");
	TAP_EQ(rd(&r, 0x04), 10, "hour as set");

	/* Update-ended interrupt. */
	rd(&r, 0x0c);
	wr(&r, 0x0b, 0x16);		/* UIE */
	next = rtc_update(&r, now);
	tap_ok(next > now && next <= now + NS, "UIE: a deadline within a second");
	now = next;
	rtc_update(&r, now);
	tap_ok(level, "IRQ8 raised at the update");
	c = rd(&r, 0x0c);
	TAP_EQ(c & 0x90, 0x90, "register C: IRQF and UF");
	tap_ok(!level, "reading C lowers IRQ8");

	/* Alarm: matches hh:mm:ss with don't-care hours. */
	wr(&r, 0x0b, 0x26);		/* AIE only */
	wr(&r, 0x01, rd(&r, 0x00) + 2);
	wr(&r, 0x03, rd(&r, 0x02));
	wr(&r, 0x05, 0xc0);
	rd(&r, 0x0c);
	now += NS;
	rtc_update(&r, now);
	tap_ok(!level, "alarm not yet");
	now += NS;
	rtc_update(&r, now);
	tap_ok(level && (rd(&r, 0x0c) & 0x20), "alarm fires at the matching second");

	/* Periodic interrupt at 1024 Hz (rate 6). */
	wr(&r, 0x0b, 0x46);		/* PIE */
	next = rtc_update(&r, now);
	TAP_EQ(next - now, NS / 1024, "PIE: 1024 Hz period");

	/* CMOS memory-size fields. */
	rtc_set_memory(&r, 256ULL << 20, 1ULL << 30);
	TAP_EQ(rd(&r, 0x34) | rd(&r, 0x35) << 8, (256 - 16) * 16, "0x34/0x35: RAM above 16M in 64K units");
	return tap_done();
}
