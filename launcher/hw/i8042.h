/* launcher/hw/i8042.h: the i8042 keyboard controller: reset line, a keyboard that answers. */
#ifndef HW_I8042_H
#define HW_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"

#define I8042_QUEUE	16

struct i8042 {
	uint8_t queue[I8042_QUEUE];	/* bytes for port 0x60, oldest first */
	uint8_t queue_aux[I8042_QUEUE];	/* 1 if that byte came from the aux port */
	unsigned int head, count;
	uint8_t ctr;		/* controller command byte */
	uint8_t pending_cmd;	/* controller command awaiting its data byte */
	uint8_t kbd_cmd;	/* keyboard command awaiting its argument */
	uint8_t outport;
	bool kbd_enabled;
	struct irq_line irq_kbd, irq_aux;
	bool irq_kbd_level, irq_aux_level;
	/* Called when the guest pulses the CPU reset line. */
	void (*reset)(void *ctx);
	void *reset_ctx;
};

void i8042_init(struct i8042 *k, struct irq_line kbd, struct irq_line aux,
		void (*reset)(void *ctx), void *ctx);
/* port 0 = 0x60 (data), 4 = 0x64 (status / command). */
uint8_t i8042_read(struct i8042 *k, unsigned int port);
void i8042_write(struct i8042 *k, unsigned int port, uint8_t val);

#endif
