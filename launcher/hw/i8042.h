/* launcher/hw/i8042.h: the i8042 keyboard controller, its PS/2 keyboard and mouse, and the reset line. */
#ifndef HW_I8042_H
#define HW_I8042_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/hw.h"
#include "hw/ps2.h"

#define I8042_CTL_QUEUE	4

struct i8042 {
	struct ps2_kbd kbd;
	struct ps2_mouse mouse;
	/* the controller's own replies, oldest first; aux: as if from the mouse (0xd3) */
	uint8_t ctl[I8042_CTL_QUEUE];
	bool ctl_aux[I8042_CTL_QUEUE];
	unsigned int nr_ctl;
	uint8_t out;		/* the output buffer (port 0x60) */
	bool out_full, out_aux;
	uint8_t ctr;		/* controller command byte */
	uint8_t pending_cmd;	/* controller command awaiting its data byte */
	uint8_t outport;
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

/* Input from a display frontend: a key (ps2_kbd_key's codes) or mouse motion. */
void i8042_key(struct i8042 *k, uint16_t code, bool down);
void i8042_mouse(struct i8042 *k, int dx, int dy, int dz, uint8_t buttons);

#endif
