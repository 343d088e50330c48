/* launcher/hw/mc146818.c: MC146818 RTC model: clock, update cycle, alarm, periodic, CMOS. */
#include <string.h>
#include <time.h>

#include "hw/mc146818.h"

#define NS		1000000000ULL
#define REG_SEC		0x00
#define REG_SEC_ALARM	0x01
#define REG_MIN		0x02
#define REG_MIN_ALARM	0x03
#define REG_HOUR	0x04
#define REG_HOUR_ALARM	0x05
#define REG_WDAY	0x06
#define REG_MDAY	0x07
#define REG_MONTH	0x08
#define REG_YEAR	0x09
#define REG_A		0x0a
#define REG_B		0x0b
#define REG_C		0x0c
#define REG_D		0x0d
#define REG_CENTURY	0x32

#define A_UIP		0x80
#define B_SET		0x80
#define B_PIE		0x40
#define B_AIE		0x20
#define B_UIE		0x10
#define B_DM		0x04	/* binary, not BCD */
#define B_24H		0x02
#define C_IRQF		0x80
#define C_PF		0x40
#define C_AF		0x20
#define C_UF		0x10

/* The update-in-progress window before each second's update. */
#define UIP_NS		244000ULL

static uint8_t to_reg(const struct rtc *r, unsigned int v)
{
	return (r->cmos[REG_B] & B_DM) ? v : (v / 10) << 4 | (v % 10);
}

static unsigned int from_reg(const struct rtc *r, uint8_t v)
{
	return (r->cmos[REG_B] & B_DM) ? v : (v >> 4) * 10 + (v & 15);
}

static int64_t now_sec(const struct rtc *r, uint64_t now)
{
	return r->base_sec + (int64_t)((now - r->base_ns) / NS);
}

/* The divider chain runs only with DV = 010 (32.768 kHz time base). */
static bool running(const struct rtc *r)
{
	return (r->cmos[REG_A] & 0x70) == 0x20 && !(r->cmos[REG_B] & B_SET);
}

static void hour_to_reg(const struct rtc *r, unsigned int h, uint8_t *out)
{
	if (r->cmos[REG_B] & B_24H) {
		*out = to_reg(r, h);
	} else {
		unsigned int h12 = h % 12 ? h % 12 : 12;

		*out = to_reg(r, h12) | (h >= 12 ? 0x80 : 0);
	}
}

static unsigned int hour_from_reg(const struct rtc *r, uint8_t v)
{
	unsigned int h;

	if (r->cmos[REG_B] & B_24H)
		return from_reg(r, v);
	h = from_reg(r, v & 0x7f) % 12;
	return (v & 0x80) ? h + 12 : h;
}

/* Copy the running clock into the time registers. */
static void latch_time(struct rtc *r, uint64_t now)
{
	time_t t = now_sec(r, now);
	struct tm tm;

	gmtime_r(&t, &tm);
	r->cmos[REG_SEC] = to_reg(r, tm.tm_sec);
	r->cmos[REG_MIN] = to_reg(r, tm.tm_min);
	hour_to_reg(r, tm.tm_hour, &r->cmos[REG_HOUR]);
	r->cmos[REG_WDAY] = to_reg(r, tm.tm_wday + 1);
	r->cmos[REG_MDAY] = to_reg(r, tm.tm_mday);
	r->cmos[REG_MONTH] = to_reg(r, tm.tm_mon + 1);
	r->cmos[REG_YEAR] = to_reg(r, tm.tm_year % 100);
	r->cmos[REG_CENTURY] = to_reg(r, (tm.tm_year + 1900) / 100);
}

/* The guest set the clock: the registers become the new base. */
static void take_time(struct rtc *r, uint64_t now)
{
	struct tm tm = { 0 };
	unsigned int century = from_reg(r, r->cmos[REG_CENTURY]);

	tm.tm_sec = from_reg(r, r->cmos[REG_SEC]);
	tm.tm_min = from_reg(r, r->cmos[REG_MIN]);
	tm.tm_hour = hour_from_reg(r, r->cmos[REG_HOUR]);
	tm.tm_mday = from_reg(r, r->cmos[REG_MDAY]);
	tm.tm_mon = from_reg(r, r->cmos[REG_MONTH]) - 1;
	if (century < 19 || century > 99)
		century = 20;
	tm.tm_year = century * 100 + from_reg(r, r->cmos[REG_YEAR]) - 1900;
	r->base_sec = timegm(&tm);
	r->base_ns = now;
	r->last_update_ns = now;
}

static void set_irq(struct rtc *r)
{
	uint8_t c = r->cmos[REG_C] & (C_PF | C_AF | C_UF);
	uint8_t en = r->cmos[REG_B] & (B_PIE | B_AIE | B_UIE);
	bool level = (c & en) != 0;

	if (level)
		r->cmos[REG_C] |= C_IRQF;
	if (level != r->irq_level) {
		r->irq_level = level;
		irq_line_set(&r->irq, level);
	}
}

/* Periodic interrupt period from RS3..0 (0 = off). */
static uint64_t period_ns(const struct rtc *r)
{
	unsigned int rs = r->cmos[REG_A] & 15;

	if (!rs || (r->cmos[REG_A] & 0x70) != 0x20)
		return 0;
	if (rs <= 2)
		rs += 7;	/* 1, 2 alias 8, 9 on a 32.768 kHz base */
	return (NS << (rs - 1)) / 32768;
}

static bool alarm_match(const struct rtc *r)
{
	static const uint8_t pairs[3][2] = {
		{ REG_SEC_ALARM, REG_SEC }, { REG_MIN_ALARM, REG_MIN },
		{ REG_HOUR_ALARM, REG_HOUR },
	};
	unsigned int i;

	for (i = 0; i < 3; i++) {
		uint8_t a = r->cmos[pairs[i][0]];

		/* 0xc0-0xff is "don't care". */
		if ((a & 0xc0) != 0xc0 && a != r->cmos[pairs[i][1]])
			return false;
	}
	return true;
}

uint64_t rtc_update(struct rtc *r, uint64_t now)
{
	uint64_t p = period_ns(r), next = 0, boundary;

	if (p && (r->cmos[REG_B] & B_PIE)) {
		if (!r->next_periodic_ns || r->next_periodic_ns > now + p)
			r->next_periodic_ns = now + p;
		if (now >= r->next_periodic_ns) {
			r->cmos[REG_C] |= C_PF;
			r->next_periodic_ns += p * ((now - r->next_periodic_ns) / p + 1);
		}
		next = r->next_periodic_ns;
	} else {
		r->next_periodic_ns = 0;
		/* PF is set even with PIE off; OSes poll it. */
		if (p)
			r->cmos[REG_C] |= C_PF;
	}

	if (running(r)) {
		/* Second boundaries since the last one processed. */
		uint64_t frac = (now - r->base_ns) % NS;

		boundary = now - frac;
		if (boundary > r->last_update_ns) {
			r->last_update_ns = boundary;
			latch_time(r, now);
			r->cmos[REG_C] |= C_UF;
			if (alarm_match(r))
				r->cmos[REG_C] |= C_AF;
		}
		if (r->cmos[REG_B] & (B_UIE | B_AIE)) {
			uint64_t nb = boundary + NS;

			if (!next || nb < next)
				next = nb;
		}
	}
	set_irq(r);
	return next;
}

void rtc_init(struct rtc *r, const struct hw_clock *clock, struct irq_line irq,
	      int64_t wall_sec)
{
	uint64_t now = hw_clock_now(clock);

	memset(r, 0, sizeof(*r));
	r->clock = clock;
	r->irq = irq;
	r->base_sec = wall_sec;
	r->base_ns = now;
	r->last_update_ns = now - (now - r->base_ns) % NS;
	r->cmos[REG_A] = 0x26;		/* 32.768 kHz, 1024 Hz periodic rate */
	r->cmos[REG_B] = B_24H;
	r->cmos[REG_D] = 0x80;		/* valid RAM and time */
	latch_time(r, now);
}

uint8_t rtc_read(struct rtc *r, unsigned int port)
{
	uint64_t now = hw_clock_now(r->clock);
	unsigned int i = r->index;
	uint8_t v;

	if (!(port & 1))
		return 0xff;		/* the index register is write-only */
	switch (i) {
	case REG_SEC: case REG_MIN: case REG_HOUR: case REG_WDAY:
	case REG_MDAY: case REG_MONTH: case REG_YEAR: case REG_CENTURY:
		if (running(r))
			latch_time(r, now);
		return r->cmos[i];
	case REG_A:
		v = r->cmos[REG_A] & ~A_UIP;
		if (running(r) && (now - r->base_ns) % NS >= NS - UIP_NS)
			v |= A_UIP;
		return v;
	case REG_C:
		rtc_update(r, now);
		v = r->cmos[REG_C];
		r->cmos[REG_C] = 0;	/* reading clears the flags and IRQ */
		set_irq(r);
		return v;
	default:
		return r->cmos[i];
	}
}

void rtc_write(struct rtc *r, unsigned int port, uint8_t val)
{
	uint64_t now = hw_clock_now(r->clock);
	unsigned int i;

	if (!(port & 1)) {
		r->index = val & 0x7f;	/* bit 7 masks NMI: no NMIs here */
		return;
	}
	i = r->index;
	switch (i) {
	case REG_A:
		/* Leaving divider reset restarts the second 500 ms later. */
		if ((r->cmos[REG_A] & 0x70) != 0x20 && (val & 0x70) == 0x20) {
			take_time(r, now);
			r->base_ns = now - NS / 2;
			r->last_update_ns = r->base_ns;
		}
		r->cmos[REG_A] = (val & 0x7f);
		r->next_periodic_ns = 0;
		break;
	case REG_B:
		if (!(val & B_SET) && (r->cmos[REG_B] & B_SET)) {
			r->cmos[REG_B] = val;
			take_time(r, now);
		} else {
			if ((val & B_SET) && !(r->cmos[REG_B] & B_SET) && running(r))
				latch_time(r, now);
			/* Setting SET stops updates and clears UIE. */
			r->cmos[REG_B] = (val & B_SET) ? (val & ~B_UIE) : val;
		}
		break;
	case REG_C:
	case REG_D:
		break;			/* read-only */
	default:
		r->cmos[i] = val;
		break;
	}
	rtc_update(r, now);
}

void rtc_cmos_set(struct rtc *r, unsigned int index, uint8_t val)
{
	if (index < CMOS_SIZE && index > REG_D)
		r->cmos[index] = val;
}

uint8_t rtc_cmos_get(const struct rtc *r, unsigned int index)
{
	return index < CMOS_SIZE ? r->cmos[index] : 0xff;
}

void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g)
{
	uint64_t ext_kb = below_4g > (1 << 20) ? (below_4g - (1 << 20)) >> 10 : 0;
	uint64_t over16 = below_4g > (16 << 20) ? (below_4g - (16 << 20)) >> 16 : 0;
	uint64_t high = above_4g >> 16;

	if (ext_kb > 0xffff)
		ext_kb = 0xffff;
	if (over16 > 0xffff)
		over16 = 0xffff;
	r->cmos[0x15] = 640 & 0xff;		/* base memory, KiB */
	r->cmos[0x16] = 640 >> 8;
	r->cmos[0x17] = r->cmos[0x30] = ext_kb & 0xff;	/* 1M..65M, KiB */
	r->cmos[0x18] = r->cmos[0x31] = ext_kb >> 8;
	r->cmos[0x34] = over16 & 0xff;		/* 16M..4G, 64 KiB units */
	r->cmos[0x35] = over16 >> 8;
	r->cmos[0x5b] = high & 0xff;		/* above 4G, 64 KiB units */
	r->cmos[0x5c] = (high >> 8) & 0xff;
	r->cmos[0x5d] = (high >> 16) & 0xff;
}
