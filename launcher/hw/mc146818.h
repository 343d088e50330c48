/* launcher/hw/mc146818.h: MC146818 RTC and CMOS memory (ports 0x70/0x71, IRQ8). */
#ifndef HW_MC146818_H
#define HW_MC146818_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"

#define CMOS_SIZE	128

struct rtc {
	uint8_t cmos[CMOS_SIZE];	/* time registers are computed, not stored */
	uint8_t index;
	const struct hw_clock *clock;
	struct irq_line irq;
	/* Guest time = base_sec + (now - base_ns) while running. */
	int64_t base_sec;
	uint64_t base_ns;
	uint64_t last_update_ns;	/* last second boundary processed */
	uint64_t next_periodic_ns;
	bool irq_level;
};

/* wall_sec: the host's UTC seconds at clock time now. */
void rtc_init(struct rtc *r, const struct hw_clock *clock, struct irq_line irq,
	      int64_t wall_sec);
/* port 0 = 0x70 (index, bit 7 NMI mask), 1 = 0x71 (data). */
uint8_t rtc_read(struct rtc *r, unsigned int port);
void rtc_write(struct rtc *r, unsigned int port, uint8_t val);
/* Process interrupts due by now; returns the next deadline (0 = none). */
uint64_t rtc_update(struct rtc *r, uint64_t now);
/* CMOS memory the firmware reads (memory size, disks, ...). */
void rtc_cmos_set(struct rtc *r, unsigned int index, uint8_t val);
uint8_t rtc_cmos_get(const struct rtc *r, unsigned int index);
/* Fill the PC memory-size fields: RAM below 4 GiB and above. */
void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g);

#endif
