/* launcher/hw/i8254.h: the i8254 interval timer (3 channels) and port 0x61 bits. */
#ifndef HW_I8254_H
#define HW_I8254_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"

#define PIT_FREQ	1193182ULL	/* Hz */

struct pit_channel {
	uint32_t count;		/* reload value, 1..65536 */
	uint64_t load_ns;	/* when counting started from count */
	bool loaded;		/* a count was written; counting */
	uint8_t mode, rw_mode, bcd;
	uint8_t read_state, write_state, write_lsb;
	uint16_t latched;
	uint8_t latch_state;	/* 0 none, else rw mode of the latched count */
	bool status_latched;
	uint8_t status;
	bool null_count;
	bool gate;
};

struct pit {
	struct pit_channel ch[3];
	struct irq_line irq0;
	const struct hw_clock *clock;
	uint64_t next_irq_ns;	/* next rising edge of OUT0, 0 = none */
	bool speaker_data;	/* port 0x61 bit 1 */
};

void pit_init(struct pit *p, const struct hw_clock *clock, struct irq_line irq0);
/* port 0..3 = 0x40..0x43 */
uint8_t pit_read(struct pit *p, unsigned int port);
void pit_write(struct pit *p, unsigned int port, uint8_t val);
/* Port 0x61: gate 2, speaker, refresh toggle, OUT2. */
uint8_t pit_port61_read(struct pit *p);
void pit_port61_write(struct pit *p, uint8_t val);
bool pit_out(struct pit *p, unsigned int ch, uint64_t now);
void pit_set_gate(struct pit *p, unsigned int ch, bool level);
/* Raise IRQ0 for edges due by now; returns the next deadline (0 = none). */
uint64_t pit_update(struct pit *p, uint64_t now);

#endif
