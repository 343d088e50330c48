/* launcher/hw/i8042.c: i8042 controller model: output buffer, command byte, self tests, reset line. */
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

static void set_irq(struct irq_line *line, bool *level, bool want)
{
	if (want != *level) {
		*level = want;
		irq_line_set(line, want);
	}
}

static void update_irq(struct i8042 *k)
{
	set_irq(&k->irq_kbd, &k->irq_kbd_level, k->out_full && !k->out_aux && (k->ctr & CTR_KBDINT));
	set_irq(&k->irq_aux, &k->irq_aux_level, k->out_full && k->out_aux && (k->ctr & CTR_AUXINT));
}

/*
 * An empty output buffer takes the next byte: the controller's own replies
 * first, then the keyboard's, then the mouse's, each device only while its
 * interface is enabled in the command byte.
 */
static void refill(struct i8042 *k)
{
	uint8_t b;

	if (k->out_full)
		return;
	if (k->nr_ctl) {
		k->out = k->ctl[0];
		k->out_aux = k->ctl_aux[0];
		k->nr_ctl--;
		memmove(k->ctl, k->ctl + 1, k->nr_ctl);
		memmove(k->ctl_aux, k->ctl_aux + 1, k->nr_ctl * sizeof(k->ctl_aux[0]));
		k->out_full = true;
	} else if (!(k->ctr & CTR_KBDDIS) && ps2_queue_pop(&k->kbd.q, &b)) {
		k->out = b;
		k->out_aux = false;
		k->out_full = true;
	} else if (!(k->ctr & CTR_AUXDIS) && ps2_queue_pop(&k->mouse.q, &b)) {
		k->out = b;
		k->out_aux = true;
		k->out_full = true;
		ps2_mouse_flush(&k->mouse);
	}
	update_irq(k);
}

static void ctl_reply(struct i8042 *k, uint8_t b, bool aux)
{
	if (k->nr_ctl == I8042_CTL_QUEUE)
		return;
	k->ctl[k->nr_ctl] = b;
	k->ctl_aux[k->nr_ctl] = aux;
	k->nr_ctl++;
	refill(k);
}

static void set_ctr(struct i8042 *k, uint8_t ctr)
{
	k->ctr = ctr;
	k->kbd.translate = ctr & CTR_XLATE;
	refill(k);
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
	ps2_kbd_reset(&k->kbd);
	ps2_mouse_reset(&k->mouse);
	k->outport = 0x03;	/* A20 on, not in reset */
	set_ctr(k, CTR_KBDINT | CTR_SYS | CTR_XLATE | CTR_AUXDIS);
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
		if (k->pending_cmd)
			v |= STAT_CMD;
		if (k->out_full)
			v |= STAT_OBF | (k->out_aux ? STAT_AUXOBF : 0);
		return v;
	}
	/* An empty buffer reads as the last byte again. Reading lowers the
	 * line; the next byte raises it anew, an edge for each byte. */
	v = k->out;
	k->out_full = false;
	update_irq(k);
	refill(k);
	return v;
}

static void ctl_command(struct i8042 *k, uint8_t cmd)
{
	switch (cmd) {
	case 0x20:		/* read command byte */
		ctl_reply(k, k->ctr, false);
		break;
	case 0x60:		/* write command byte */
	case 0xd1:		/* write output port */
	case 0xd2:		/* write keyboard output buffer */
	case 0xd3:		/* write aux output buffer */
	case 0xd4:		/* write to aux device */
		k->pending_cmd = cmd;
		break;
	case 0xa7:
		set_ctr(k, k->ctr | CTR_AUXDIS);
		break;
	case 0xa8:
		set_ctr(k, k->ctr & ~CTR_AUXDIS);
		break;
	case 0xa9:		/* aux interface test: passed, a mouse is there */
	case 0xab:		/* keyboard interface test */
		ctl_reply(k, 0x00, false);
		break;
	case 0xaa:		/* controller self-test */
		ctl_reply(k, 0x55, false);
		break;
	case 0xad:
		set_ctr(k, k->ctr | CTR_KBDDIS);
		break;
	case 0xae:
		set_ctr(k, k->ctr & ~CTR_KBDDIS);
		break;
	case 0xc0:		/* read input port: nothing strapped */
		ctl_reply(k, 0x00, false);
		break;
	case 0xd0:		/* read output port */
		ctl_reply(k, k->outport, false);
		break;
	default:
		/* 0xf0-0xff pulse output lines; bit 0 low = CPU reset. */
		if (cmd >= 0xf0 && !(cmd & 1))
			pulse_reset(k);
		break;
	}
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
		set_ctr(k, val);
		break;
	case 0xd1:
		k->outport = val;
		if (!(val & 1))
			pulse_reset(k);
		break;
	case 0xd2:
		ctl_reply(k, val, false);
		break;
	case 0xd3:
		ctl_reply(k, val, true);
		break;
	case 0xd4:
		if (k->ctr & CTR_AUXDIS)
			set_ctr(k, k->ctr & ~CTR_AUXDIS);
		ps2_mouse_write(&k->mouse, val);
		refill(k);
		break;
	default:
		/* a byte for a device enables its interface (as QEMU's 8042) */
		if (k->ctr & CTR_KBDDIS)
			set_ctr(k, k->ctr & ~CTR_KBDDIS);
		ps2_kbd_write(&k->kbd, val);
		refill(k);
		break;
	}
}

void i8042_key(struct i8042 *k, uint16_t code, bool down)
{
	ps2_kbd_key(&k->kbd, code, down);
	refill(k);
}

void i8042_mouse(struct i8042 *k, int dx, int dy, int dz, uint8_t buttons)
{
	ps2_mouse_event(&k->mouse, dx, dy, dz, buttons);
	refill(k);
}
