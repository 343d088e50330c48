/* tests/launcher/test_i8042.c: i8042 and its PS/2 devices: self tests, command byte, keyboard in sets 1 and 2, the mouse, IRQs, reset line. */
#include "tap.h"
#include "hw/i8042.h"

static int resets, level[16], rises[16];

static void fake_reset(void *ctx) { (void)ctx; resets++; }
static void fake_irq(void *ctx, unsigned int irq, int lvl)
{
	(void)ctx;
	if (lvl && !level[irq])
		rises[irq]++;
	level[irq] = lvl;
}

/* Reads up to n bytes while the status says there are some; the count. */
static int drain(struct i8042 *k, uint8_t *buf, int n)
{
	int i = 0;

	while (i < n && (i8042_read(k, 4) & 1))
		buf[i++] = i8042_read(k, 0);
	return i;
}

static int expect(struct i8042 *k, const uint8_t *want, int n)
{
	uint8_t got[64];
	int len = drain(k, got, 64);

	if (len != n)
		return 0;
	for (int i = 0; i < n; i++)
		if (got[i] != want[i])
			return 0;
	return 1;
}
#define EXPECT(k, text, ...) do { \
	static const uint8_t w_[] = { __VA_ARGS__ }; \
	tap_ok(expect(k, w_, sizeof(w_)), text); \
} while (0)

static void ctr(struct i8042 *k, uint8_t v)
{
	i8042_write(k, 4, 0x60);
	i8042_write(k, 0, v);
}

static void aux(struct i8042 *k, uint8_t v)
{
	i8042_write(k, 4, 0xd4);
	i8042_write(k, 0, v);
}

int main(void)
{
	struct irq_line kbd = { fake_irq, NULL, 1 }, auxl = { fake_irq, NULL, 12 };
	struct i8042 k;
	uint8_t b[64];
	int r;

	tap_plan(43);
	i8042_init(&k, kbd, auxl, fake_reset, NULL);

	/* the controller */
	TAP_EQ(i8042_read(&k, 4) & 0x01, 0, "output buffer empty at start");
	i8042_write(&k, 4, 0xaa);
	TAP_EQ(i8042_read(&k, 4) & 0x01, 1, "self-test result pending");
	TAP_EQ(i8042_read(&k, 0), 0x55, "controller self-test passes");
	i8042_write(&k, 4, 0x20);
	TAP_EQ(i8042_read(&k, 0) & 0x01, 0x01, "command byte has keyboard interrupts on");
	ctr(&k, 0x00);
	i8042_write(&k, 4, 0x20);
	TAP_EQ(i8042_read(&k, 0), 0x00, "command byte written and read back");
	i8042_write(&k, 4, 0xa9);
	TAP_EQ(i8042_read(&k, 0), 0x00, "aux interface test passes: a mouse is there");
	ctr(&k, 0x47);		/* kbd IRQ, sys, translate; aux enabled, no aux IRQ */

	/* keyboard replies, on IRQ1 */
	i8042_write(&k, 0, 0xff);
	tap_ok(level[1], "IRQ1 with a keyboard reply");
	TAP_EQ(i8042_read(&k, 0), 0xfa, "reset: ACK");
	TAP_EQ(i8042_read(&k, 0), 0xaa, "reset: BAT passed");
	tap_ok(!level[1], "IRQ1 drops when nothing is left");
	r = rises[1];
	i8042_write(&k, 0, 0xf2);
	EXPECT(&k, "identify, translated: ACK, 0xab, 0x41", 0xfa, 0xab, 0x41);
	TAP_EQ(rises[1] - r, 3, "one IRQ1 edge per byte (3)");
	i8042_write(&k, 0, 0xed);
	i8042_write(&k, 0, 0x07);
	EXPECT(&k, "LEDs and their argument acknowledged", 0xfa, 0xfa);
	TAP_EQ(k.kbd.leds, 7, "LEDs set");
	i8042_write(&k, 0, 0xf0);
	i8042_write(&k, 0, 0x00);
	EXPECT(&k, "scancode set query, translated: set 2 reads 0x41", 0xfa, 0xfa, 0x41);
	i8042_write(&k, 0, 0x42);
	EXPECT(&k, "unknown keyboard command: RESEND", 0xfe);

	/* keys: translated to set 1 */
	i8042_key(&k, 0x1e, true);
	i8042_key(&k, 0x1e, false);
	EXPECT(&k, "A, translated: 1e 9e", 0x1e, 0x9e);
	i8042_key(&k, 0xe048, true);
	i8042_key(&k, 0xe048, false);
	EXPECT(&k, "Up, translated: e0 48 e0 c8", 0xe0, 0x48, 0xe0, 0xc8);
	/* untranslated set 2 */
	ctr(&k, 0x07);
	i8042_key(&k, 0x1e, true);
	i8042_key(&k, 0x1e, false);
	EXPECT(&k, "A in set 2: 1c f0 1c", 0x1c, 0xf0, 0x1c);
	i8042_key(&k, 0xe048, false);
	EXPECT(&k, "Up released in set 2: e0 f0 75", 0xe0, 0xf0, 0x75);
	i8042_key(&k, 0x41, true);
	EXPECT(&k, "F7 in set 2: 83", 0x83);
	i8042_key(&k, PS2_KEY_PAUSE, true);
	EXPECT(&k, "Pause in set 2", 0xe1, 0x14, 0x77, 0xe1, 0xf0, 0x14, 0xf0, 0x77);
	i8042_write(&k, 0, 0xf0);
	i8042_write(&k, 0, 0x01);
	drain(&k, b, 64);
	i8042_key(&k, 0x1c, true);
	EXPECT(&k, "set 1 selected, untranslated: Enter 1c", 0x1c);
	i8042_write(&k, 0, 0xf6);
	drain(&k, b, 64);
	i8042_key(&k, 0x123, true);
	i8042_key(&k, 0x00, true);
	tap_ok(!(i8042_read(&k, 4) & 1), "codes that are no key are dropped");

	/* keys wait while the keyboard interface is disabled; scanning off drops them */
	ctr(&k, 0x47 | 0x10);
	i8042_key(&k, 0x1e, true);
	tap_ok(!(i8042_read(&k, 4) & 1), "keyboard interface disabled: the key waits");
	i8042_write(&k, 4, 0xae);
	EXPECT(&k, "0xae enables it: the key comes", 0x1e);
	i8042_write(&k, 0, 0xf5);
	drain(&k, b, 64);
	i8042_key(&k, 0x1e, true);
	tap_ok(!(i8042_read(&k, 4) & 1), "scanning disabled (0xf5): keys dropped");
	i8042_write(&k, 0, 0xf4);
	drain(&k, b, 64);
	for (r = 0; r < 40; r++)
		i8042_key(&k, 0xe048, true);
	TAP_EQ(drain(&k, b, 64), 64, "a full queue takes whole sequences only (32 of 40 keys)");

	/* the mouse */
	ctr(&k, 0x47 | 0x02);	/* aux IRQ on */
	aux(&k, 0xff);
	tap_ok(level[12] && (i8042_read(&k, 4) & 0x20), "mouse reply: aux output buffer, IRQ12");
	EXPECT(&k, "mouse reset: ACK, BAT passed, ID 0", 0xfa, 0xaa, 0x00);
	aux(&k, 0xf2);
	EXPECT(&k, "mouse ID 0 (PS/2)", 0xfa, 0x00);
	i8042_mouse(&k, 5, 5, 0, 0);
	tap_ok(!(i8042_read(&k, 4) & 1), "no packets before reporting is enabled");
	aux(&k, 0xf4);
	drain(&k, b, 64);
	i8042_mouse(&k, 10, -3, 0, PS2_BUTTON_LEFT);
	EXPECT(&k, "a packet: left button, dx 10, dy -3 (the motion before 0xf4 dropped)", 0x29, 10, 0xfd);
	i8042_mouse(&k, -300, 0, 0, 0);
	EXPECT(&k, "dx -300 goes as -256 then -44", 0x18, 0x00, 0x00, 0x18, 0xd4, 0x00);
	/* the IntelliMouse knock */
	aux(&k, 0xf3); aux(&k, 200);
	aux(&k, 0xf3); aux(&k, 100);
	aux(&k, 0xf3); aux(&k, 80);
	aux(&k, 0xf2);
	r = drain(&k, b, 64);
	tap_ok(r == 8 && b[6] == 0xfa && b[7] == 3, "sample rates 200, 100, 80: the mouse answers ID 3");
	i8042_mouse(&k, 0, 0, -1, 0);
	EXPECT(&k, "wheel: a 4-byte packet", 0x08, 0x00, 0x00, 0xff);
	aux(&k, 0xe9);
	EXPECT(&k, "status request: reporting, resolution 2, rate 80", 0xfa, 0x20, 0x02, 80);
	aux(&k, 0xf0);
	drain(&k, b, 64);
	i8042_mouse(&k, 1, 1, 0, 0);
	tap_ok(!(i8042_read(&k, 4) & 1), "remote mode: no packet until read data");
	aux(&k, 0xeb);
	EXPECT(&k, "read data (0xeb): ACK and the packet", 0xfa, 0x08, 0x01, 0x01, 0x00);
	/* the aux loopback Linux probes with */
	i8042_write(&k, 4, 0xd3);
	i8042_write(&k, 0, 0x5a);
	tap_ok((i8042_read(&k, 4) & 0x21) == 0x21 && level[12] && i8042_read(&k, 0) == 0x5a,
	       "0xd3 loops a byte back as if from the mouse, on IRQ12");

	/* reset: pulse command 0xfe, and output-port write with bit 0 low */
	i8042_write(&k, 4, 0xfe);
	TAP_EQ(resets, 1, "0xfe pulses the reset line");
	i8042_write(&k, 4, 0xd1);
	i8042_write(&k, 0, 0x02);
	TAP_EQ(resets, 2, "output port bit 0 low resets");
	i8042_write(&k, 4, 0xff);
	TAP_EQ(resets, 2, "0xff pulses nothing");
	return tap_done();
}
