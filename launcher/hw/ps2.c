/* launcher/hw/ps2.c: PS/2 keyboard (scancode sets 1 and 2) and mouse (PS/2 and IntelliMouse) models. */
#include <string.h>

#include "hw/ps2.h"

#define ACK	0xfa
#define RESEND	0xfe
#define BAT_OK	0xaa

static bool queue_room(const struct ps2_queue *q, unsigned int n)
{
	return q->count + n <= PS2_QUEUE;
}

static void queue_push(struct ps2_queue *q, uint8_t b)
{
	if (q->count == PS2_QUEUE)
		return;
	q->b[(q->head + q->count) % PS2_QUEUE] = b;
	q->count++;
}

bool ps2_queue_pop(struct ps2_queue *q, uint8_t *b)
{
	if (!q->count)
		return false;
	*b = q->b[q->head];
	q->head = (q->head + 1) % PS2_QUEUE;
	q->count--;
	return true;
}

static void queue_clear(struct ps2_queue *q)
{
	q->head = q->count = 0;
}

/*
 * Set 2 make codes of the set 1 codes 0x00-0x7f. An extended key (0xe0 in
 * both sets) has the set 2 code of its set 1 suffix; the three Windows keys
 * exist only extended.
 */
static const uint8_t set1_to_set2[128] = {
	0x00, 0x76, 0x16, 0x1e, 0x26, 0x25, 0x2e, 0x36,	/* 00: -, Esc, 1-6 */
	0x3d, 0x3e, 0x46, 0x45, 0x4e, 0x55, 0x66, 0x0d,	/* 08: 7-0, -, =, BS, Tab */
	0x15, 0x1d, 0x24, 0x2d, 0x2c, 0x35, 0x3c, 0x43,	/* 10: Q-I */
	0x44, 0x4d, 0x54, 0x5b, 0x5a, 0x14, 0x1c, 0x1b,	/* 18: O, P, [, ], Enter, Ctrl, A, S */
	0x23, 0x2b, 0x34, 0x33, 0x3b, 0x42, 0x4b, 0x4c,	/* 20: D-L, ; */
	0x52, 0x0e, 0x12, 0x5d, 0x1a, 0x22, 0x21, 0x2a,	/* 28: ', `, LShift, \, Z-V */
	0x32, 0x31, 0x3a, 0x41, 0x49, 0x4a, 0x59, 0x7c,	/* 30: B-M, ',', ., /, RShift, KP* */
	0x11, 0x29, 0x58, 0x05, 0x06, 0x04, 0x0c, 0x03,	/* 38: Alt, Space, Caps, F1-F5 */
	0x0b, 0x83, 0x0a, 0x01, 0x09, 0x77, 0x7e, 0x6c,	/* 40: F6-F10, Num, Scroll, KP7 */
	0x75, 0x7d, 0x7b, 0x6b, 0x73, 0x74, 0x79, 0x69,	/* 48: KP8, KP9, KP-, KP4-6, KP+, KP1 */
	0x72, 0x7a, 0x70, 0x71, 0x84, 0x00, 0x61, 0x78,	/* 50: KP2, KP3, KP0, KP., SysRq, -, 102nd, F11 */
	0x07, 0x00, 0x00, 0x1f, 0x27, 0x2f, 0x37, 0x3f,	/* 58: F12, -, -, LWin, RWin, Menu, Power, Sleep */
	0x00, 0x00, 0x00, 0x5e, 0x00, 0x00, 0x00, 0x00,	/* 60: Wake at 0x63 */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x13, 0x00, 0x00, 0x51, 0x00, 0x00, 0x00, 0x00,	/* 70: Katakana, RO */
	0x00, 0x64, 0x00, 0x67, 0x00, 0x6a, 0x00, 0x00,	/* 78: Henkan, Muhenkan, Yen */
};

void ps2_kbd_reset(struct ps2_kbd *k)
{
	bool translate = k->translate;

	memset(k, 0, sizeof(*k));
	k->translate = translate;
	k->set = 2;
	k->scanning = true;
}

/* The set number as the guest reads it: translated like a scancode. */
static uint8_t set_reply(const struct ps2_kbd *k)
{
	static const uint8_t xlated[4] = { 0, 0x43, 0x41, 0x3f };

	return k->translate ? xlated[k->set] : k->set;
}

void ps2_kbd_write(struct ps2_kbd *k, uint8_t val)
{
	uint8_t cmd = k->cmd;

	if (cmd) {
		k->cmd = 0;
		switch (cmd) {
		case 0xed:		/* LEDs */
			k->leds = val & 7;
			queue_push(&k->q, ACK);
			return;
		case 0xf3:		/* typematic rate and delay: nothing repeats here */
			queue_push(&k->q, ACK);
			return;
		case 0xf0:		/* scancode set: 0 asks, 1-3 select */
			if (val > 3) {
				queue_push(&k->q, RESEND);
				return;
			}
			queue_push(&k->q, ACK);
			if (!val)
				queue_push(&k->q, set_reply(k));
			else
				k->set = val;
			return;
		}
		/* a command where an argument was due: take it as a command */
	}
	switch (val) {
	case 0xed:
	case 0xf3:
	case 0xf0:
		k->cmd = val;
		queue_push(&k->q, ACK);
		break;
	case 0xee:		/* echo */
		queue_push(&k->q, 0xee);
		break;
	case 0xf2:		/* identify: an MF2 keyboard */
		queue_push(&k->q, ACK);
		queue_push(&k->q, 0xab);
		queue_push(&k->q, k->translate ? 0x41 : 0x83);
		break;
	case 0xf4:		/* enable scanning */
		queue_clear(&k->q);
		k->scanning = true;
		queue_push(&k->q, ACK);
		break;
	case 0xf5:		/* disable scanning, defaults */
		k->scanning = false;
		k->set = 2;
		queue_push(&k->q, ACK);
		break;
	case 0xf6:		/* defaults */
		k->set = 2;
		queue_push(&k->q, ACK);
		break;
	case 0xf7: case 0xf8: case 0xf9: case 0xfa:
	case 0xfb: case 0xfc: case 0xfd:	/* set 3 key types */
		queue_push(&k->q, ACK);
		break;
	case 0xff:		/* reset, then self-test passed */
		ps2_kbd_reset(k);
		queue_push(&k->q, ACK);
		queue_push(&k->q, BAT_OK);
		break;
	default:		/* 0xfe resend and unknown commands */
		queue_push(&k->q, RESEND);
		break;
	}
}

void ps2_kbd_key(struct ps2_kbd *k, uint16_t code, bool down)
{
	bool ext = (code >> 8) == 0xe0;
	uint8_t s1 = code & 0x7f, s2;
	uint8_t seq[8];
	unsigned int n = 0, i;

	if (!k->scanning)
		return;
	if (code == PS2_KEY_PAUSE) {
		/* make only; its own sequence in each set */
		static const uint8_t p1[] = { 0xe1, 0x1d, 0x45, 0xe1, 0x9d, 0xc5 };
		static const uint8_t p2[] = { 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77 };
		const uint8_t *p = k->translate || k->set == 1 ? p1 : p2;
		unsigned int len = k->translate || k->set == 1 ? sizeof(p1) : sizeof(p2);

		if (!down || !queue_room(&k->q, len))
			return;
		for (i = 0; i < len; i++)
			queue_push(&k->q, p[i]);
		return;
	}
	if ((code >> 8 && !ext) || !s1 || code & 0x80)
		return;
	if (k->translate || k->set == 1) {
		if (ext)
			seq[n++] = 0xe0;
		seq[n++] = s1 | (down ? 0 : 0x80);
	} else {
		s2 = set1_to_set2[s1];
		if (!s2)
			return;
		if (ext)
			seq[n++] = 0xe0;
		if (!down)
			seq[n++] = 0xf0;
		seq[n++] = s2;
	}
	if (!queue_room(&k->q, n))
		return;
	for (i = 0; i < n; i++)
		queue_push(&k->q, seq[i]);
}

/* ---- the mouse ---- */

void ps2_mouse_reset(struct ps2_mouse *m)
{
	memset(m, 0, sizeof(*m));
	m->rate = 100;
	m->resolution = 2;	/* 4 counts/mm */
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* One packet of (at most) the movement held; false when it does not fit. */
static bool send_packet(struct ps2_mouse *m)
{
	unsigned int len = m->id == 3 ? 4 : 3;
	int dx = clamp(m->dx, -256, 255), dy = clamp(m->dy, -256, 255);
	int dz = clamp(m->dz, -8, 7);
	uint8_t b0 = 0x08 | (m->buttons & 7);

	if (!queue_room(&m->q, len))
		return false;
	if (dx < 0)
		b0 |= 0x10;
	if (dy < 0)
		b0 |= 0x20;
	queue_push(&m->q, b0);
	queue_push(&m->q, dx & 0xff);
	queue_push(&m->q, dy & 0xff);
	if (len == 4)
		queue_push(&m->q, dz & 0xff);
	m->dx -= dx;
	m->dy -= dy;
	m->dz = len == 4 ? m->dz - dz : 0;
	return true;
}

void ps2_mouse_flush(struct ps2_mouse *m)
{
	if (!m->reporting || m->remote)
		return;
	while ((m->dx || m->dy || m->dz) && send_packet(m))
		;
}

void ps2_mouse_event(struct ps2_mouse *m, int dx, int dy, int dz, uint8_t buttons)
{
	bool changed = (buttons & 7) != m->buttons;

	/* a mouse that does not report drops its motion (remote mode keeps it) */
	if (!m->reporting && !m->remote) {
		m->buttons = buttons & 7;
		return;
	}
	/* held movement is bounded: a far move need not take forever to report */
	m->dx = clamp(m->dx + dx, -4096, 4096);
	m->dy = clamp(m->dy + dy, -4096, 4096);
	m->dz = clamp(m->dz + dz, -64, 64);
	m->buttons = buttons & 7;
	if (m->remote)
		return;
	if (changed)
		send_packet(m);
	ps2_mouse_flush(m);
}

static void mouse_status(struct ps2_mouse *m)
{
	/* bit 2 left, 1 middle, 0 right */
	uint8_t btn = (m->buttons & PS2_BUTTON_LEFT ? 4 : 0) |
		      (m->buttons & PS2_BUTTON_MIDDLE ? 2 : 0) |
		      (m->buttons & PS2_BUTTON_RIGHT ? 1 : 0);

	queue_push(&m->q, (m->remote ? 0x40 : 0) | (m->reporting ? 0x20 : 0) |
		   (m->scale21 ? 0x10 : 0) | btn);
	queue_push(&m->q, m->resolution);
	queue_push(&m->q, m->rate);
}

void ps2_mouse_write(struct ps2_mouse *m, uint8_t val)
{
	uint8_t cmd = m->cmd;

	if (cmd) {
		m->cmd = 0;
		if (cmd == 0xf3) {	/* sample rate; 200, 100, 80 switches the wheel on */
			m->rate = val;
			m->knock[0] = m->knock[1];
			m->knock[1] = m->knock[2];
			m->knock[2] = val;
			if (m->knock[0] == 200 && m->knock[1] == 100 && m->knock[2] == 80)
				m->id = 3;
		} else {		/* 0xe8 resolution */
			m->resolution = val & 3;
		}
		queue_push(&m->q, ACK);
		return;
	}
	switch (val) {
	case 0xf3:
	case 0xe8:
		m->cmd = val;
		queue_push(&m->q, ACK);
		break;
	case 0xe6:
		m->scale21 = false;
		queue_push(&m->q, ACK);
		break;
	case 0xe7:
		m->scale21 = true;
		queue_push(&m->q, ACK);
		break;
	case 0xe9:		/* status request */
		queue_push(&m->q, ACK);
		mouse_status(m);
		break;
	case 0xea:		/* stream mode */
		m->remote = false;
		queue_push(&m->q, ACK);
		break;
	case 0xf0:		/* remote mode */
		m->remote = true;
		queue_push(&m->q, ACK);
		break;
	case 0xeb:		/* read data: one packet, even when nothing moved */
		queue_push(&m->q, ACK);
		if (!send_packet(m))
			queue_push(&m->q, RESEND);
		break;
	case 0xec:		/* reset wrap mode; wrap mode itself is not modelled */
	case 0xee:
		queue_push(&m->q, ACK);
		break;
	case 0xf2:		/* device ID */
		queue_push(&m->q, ACK);
		queue_push(&m->q, m->id);
		break;
	case 0xf4:
		m->reporting = true;
		queue_push(&m->q, ACK);
		break;
	case 0xf5:
		m->reporting = false;
		queue_push(&m->q, ACK);
		break;
	case 0xf6:		/* defaults, keeping the queue */
		m->rate = 100;
		m->resolution = 2;
		m->scale21 = m->remote = m->reporting = false;
		m->dx = m->dy = m->dz = 0;
		queue_push(&m->q, ACK);
		break;
	case 0xff:		/* reset: ACK, self-test passed, ID */
		ps2_mouse_reset(m);
		queue_push(&m->q, ACK);
		queue_push(&m->q, BAT_OK);
		queue_push(&m->q, 0x00);
		break;
	default:
		queue_push(&m->q, RESEND);
		break;
	}
}
