/* launcher/hw/ps2.h: the PS/2 keyboard and mouse behind the i8042: their command sets and byte queues. */
#ifndef HW_PS2_H
#define HW_PS2_H

#include <stdbool.h>
#include <stdint.h>

#define PS2_QUEUE	64

struct ps2_queue {
	uint8_t b[PS2_QUEUE];
	unsigned int head, count;
};

/* Bytes the device has for the controller, oldest first. */
bool ps2_queue_pop(struct ps2_queue *q, uint8_t *b);

struct ps2_kbd {
	struct ps2_queue q;
	uint8_t cmd;		/* command awaiting its argument byte */
	uint8_t set;		/* scancode set: 1, 2 or 3 */
	uint8_t leds;
	bool scanning;		/* 0xf4 / 0xf5 */
	bool translate;		/* the controller's translation to set 1 (its CTR bit 6) */
};

/* Key codes: set 1 make codes, 0x01-0x7f, or 0xe0xx for the extended keys
 * (PS2_KEY_PAUSE for Pause, which has no break code). */
#define PS2_KEY_PAUSE	0xe11d

void ps2_kbd_reset(struct ps2_kbd *k);
/* A byte the guest sends the keyboard (port 0x60). */
void ps2_kbd_write(struct ps2_kbd *k, uint8_t val);
/* A key pressed or released: queued in the keyboard's set (2 by default),
 * or set 1 when the controller translates. Dropped while scanning is off
 * or when the whole sequence does not fit. */
void ps2_kbd_key(struct ps2_kbd *k, uint16_t code, bool down);

#define PS2_BUTTON_LEFT		0x01
#define PS2_BUTTON_RIGHT	0x02
#define PS2_BUTTON_MIDDLE	0x04

struct ps2_mouse {
	struct ps2_queue q;
	uint8_t cmd;		/* command awaiting its argument byte */
	uint8_t rate, resolution;
	bool remote, reporting, scale21;
	uint8_t id;		/* 0 PS/2, 3 IntelliMouse (wheel) */
	uint8_t knock[3];	/* the last sample rates: 200, 100, 80 = wheel */
	int dx, dy, dz;		/* movement not yet reported */
	uint8_t buttons;
};

void ps2_mouse_reset(struct ps2_mouse *m);
/* A byte the guest sends the mouse (controller command 0xd4). */
void ps2_mouse_write(struct ps2_mouse *m, uint8_t val);
/* Relative motion (dy > 0: up, dz > 0: wheel towards the user) and the
 * buttons held. Queued as packets while reporting in stream mode; what
 * does not fit now goes out as the controller drains the queue. */
void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, uint8_t buttons);
/* Packets for movement left over; the controller calls it after a pop. */
void ps2_mouse_flush(struct ps2_mouse *m);

#endif
