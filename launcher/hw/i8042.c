/* launcher/hw/i8042.c: i8042 controller model: command byte, self tests, keyboard replies, reset. */
#include <string.h>

#include "hw/i8042.h"

#define STAT_OBF	0x01
#define STAT_SYS	0x04
#define STAT_CMD	0x08	/* last write was to 0x64 */
#define STAT_UNLOCKED	0x10
#define STAT_AUXOBF	0x20

#define CTR_KBDINT	0x01
#define CTR_AUXINT	0x02
#define CTR_SYS		0x04
#define CTR_KBDDIS	0x10
#define CTR_AUXDIS	0x20
#define CTR_XLATE	0x40

#define KBD_ACK		0xfa

static void update_irq(struct i8042 *k)
{
	bool kbd = false, aux = false;

	if (k->count) {
		if (k->queue_aux[k->head])
			aux = k->ctr & CTR_AUXINT;
		else
			kbd = k->ctr & CTR_KBDINT;
	}
	if (kbd != k->irq_kbd_level) {
		k->irq_kbd_level = kbd;
		irq_line_set(&k->irq_kbd, kbd);
	}
	if (aux != k->irq_aux_level) {
		k->irq_aux_level = aux;
		irq_line_set(&k->irq_aux, aux);
	}
}

static void push(struct i8042 *k, uint8_t b, bool aux)
{
	unsigned int i;

	if (k->count == I8042_QUEUE)
		return;
	i = (k->head + k->count) % I8042_QUEUE;
	k->queue[i] = b;
	k->queue_aux[i] = aux;
	k->count++;
	update_irq(k);
}

void i8042_init(struct i8042 *k, struct irq_line kbd, struct irq_line aux,
		void (*reset)(void *ctx), void *ctx)
{
	memset(k, 0, sizeof(*k));
	k->irq_kbd = kbd;
	k->irq_aux = aux;
	k->reset = reset;
	k->reset_ctx = ctx;
	k->ctr = CTR_KBDINT | CTR_SYS | CTR_XLATE | CTR_AUXDIS;
	k->outport = 0x03;	/* A20 on, not in reset */
	k->kbd_enabled = true;
}

static void pulse_reset(struct i8042 *k)
{
	if (k->reset)
		k->reset(k->reset_ctx);
}

uint8_t i8042_read(struct i8042 *k, unsigned int port)
{
	uint8_t v;

	if (port == 4) {
		v = STAT_UNLOCKED | (k->ctr & CTR_SYS ? STAT_SYS : 0);
		if (k->pending_cmd || k->kbd_cmd)
			v |= STAT_CMD;
		if (k->count)
			v |= STAT_OBF | (k->queue_aux[k->head] ? STAT_AUXOBF : 0);
		return v;
	}
	if (!k->count)
		return 0;	/* the last byte stays; 0 is as good */
	v = k->queue[k->head];
	k->head = (k->head + 1) % I8042_QUEUE;
	k->count--;
	update_irq(k);
	return v;
}

/* A byte for the keyboard itself (written to 0x60 with no pending command). */
static void kbd_write(struct i8042 *k, uint8_t val)
{
	if (k->kbd_cmd) {
		/* The argument of LED (0xed) or typematic (0xf3). */
		k->kbd_cmd = 0;
		push(k, KBD_ACK, false);
		return;
	}
	switch (val) {
	case 0xed:		/* set LEDs */
	case 0xf3:		/* typematic rate */
		k->kbd_cmd = val;
		push(k, KBD_ACK, false);
		break;
	case 0xee:		/* echo */
		push(k, 0xee, false);
		break;
	case 0xf2:		/* identify: MF2 keyboard */
		push(k, KBD_ACK, false);
		push(k, 0xab, false);
		push(k, 0x83, false);
		break;
	case 0xf4:
		k->kbd_enabled = true;
		push(k, KBD_ACK, false);
		break;
	case 0xf5:
		k->kbd_enabled = false;
		push(k, KBD_ACK, false);
		break;
	case 0xff:		/* reset and self-test passed */
		push(k, KBD_ACK, false);
		push(k, 0xaa, false);
		break;
	default:		/* 0xf0 scan set, 0xf6 defaults, ... */
		push(k, KBD_ACK, false);
		break;
	}
}

static void ctl_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20:		/* read command byte */
		push(k, k->ctr, false);
		break;
	case 0x60:		/* write command byte */
	case 0xd1:		/* write output port */
	case 0xd2:		/* write keyboard output buffer */
	case 0xd3:		/* write aux output buffer */
	case 0xd4:		/* write to aux device */
		k->pending_cmd = cmd;
		break;
	case 0xa7:
		k->ctr |= CTR_AUXDIS;
		break;
	case 0xa8:
		k->ctr &= ~CTR_AUXDIS;
		break;
	case 0xa9:		/* aux interface test: clock line stuck low = no port */
		push(k, 0x01, false);
		break;
	case 0xaa:		/* controller self-test */
		push(k, 0x55, false);
		break;
	case 0xab:		/* keyboard interface test */
		push(k, 0x00, false);
		break;
	case 0xad:
		k->ctr |= CTR_KBDDIS;
		break;
	case 0xae:
		k->ctr &= ~CTR_KBDDIS;
		break;
	case 0xd0:		/* read output port */
		push(k, k->outport, false);
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 low = CPU reset. */
		if (cmd >= 0xf0 && !(cmd & 1))
			pulse_reset(k);
		break;
	}
	update_irq(k);
}

void i8042_write(struct i8042 *k, unsigned int port, uint8_t val)
{
	uint8_t cmd;

	if (port == 4) {
		k->pending_cmd = 0;
		ctl_command(k, val);
		return;
	}
	cmd = k->pending_cmd;
	k->pending_cmd = 0;
	switch (cmd) {
	case 0x60:
		k->ctr = val;
		update_irq(k);
		break;
	case 0xd1:
		k->outport = val;
		if (!(val & 1))
			pulse_reset(k);
		break;
	case 0xd2:
		push(k, val, false);
		break;
	case 0xd3:
		push(k, val, true);
		break;
	case 0xd4:
		/* No mouse: the controller answers for it at once (NAK). */
		push(k, 0xfe, true);
		break;
	default:
		kbd_write(k, val);
		break;
	}
}
